/*
 * http.c - libcurl multi on struct sm_loop (stub while implemented).
 */
#include "http.h"

#include <stdlib.h>

int
http_create(struct http **out, struct sm_loop *loop, struct sm_error *err)
{
	(void)loop;
	*out = NULL;
	return sm_error_set(err, SM_EUNSUPPORTED, "http not implemented yet");
}

void
http_destroy(struct http *h)
{
	(void)h;
}
