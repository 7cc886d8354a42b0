#include "tap.h"
#include "sm_expr.h"
int main(void) { plan_no_plan(); ok(1, "placeholder"); done_testing(); }
