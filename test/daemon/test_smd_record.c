/*
 * test_smd_record.c - smd__record_text: a task record over the size the
 * readers take has records of run.history cut from its middle until it
 * fits (the first and the last stay, "history_dropped" says how many); a
 * record that fits, one without a history and one too big for any cut
 * are given as they are.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sm_err.h"
#include "smd_private.h"
#include "tap.h"

/* A record whose run.history holds `n` records of about 200 bytes. */
static json_t *
record_of(size_t n)
{
	json_t *hist = json_array();
	char pad[160];

	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = 0;
	for (size_t i = 1; i <= n; i++)
		json_array_append_new(hist,
		    json_pack("{s:I, s:s, s:{s:s}}", "seq", (json_int_t)i, "kind", "event", "event",
		        "name", pad));
	return json_pack("{s:s, s:i, s:{s:o}, s:i}", "format", SMD_RECORD_FORMAT, "version", 1,
	    "run", "history", hist, "history_dropped", 0);
}

static json_int_t
seq(json_t *rec, size_t i)
{
	json_t *h = json_object_get(json_object_get(rec, "run"), "history");

	return json_integer_value(json_object_get(json_array_get(h, i), "seq"));
}

int
main(void)
{
	json_t *rec, *back, *hist;
	char *text = NULL;
	size_t len = 0, n;

	plan_no_plan();

	rec = record_of(10000);
	is_int(smd__record_text(rec, 200000, &text, &len), 0, "a record of 10,000 history records");
	ok(len <= 200000 && len == strlen(text), "cut to fit 200,000 bytes (%zu)", len);
	back = json_loads(text, 0, NULL);
	ok(back && json_equal(back, rec), "the text is the record as cut");
	hist = json_object_get(json_object_get(back, "run"), "history");
	n = json_array_size(hist);
	ok(n >= 220 && n < 1000, "%zu history records kept", n);
	is_int(json_integer_value(json_object_get(back, "history_dropped")), 10000 - (int)n,
	    "history_dropped: how many went");
	ok(seq(back, 0) == 1 && seq(back, 19) == 20, "the first 20 stay");
	ok(seq(back, 20) == 10000 - (json_int_t)n + 21, "the cut is right after them");
	ok(seq(back, n - 1) == 10000 && seq(back, n - 200) == 9801, "the last 200 stay");
	json_decref(back);
	json_decref(rec);
	free(text);

	rec = record_of(100);
	is_int(smd__record_text(rec, 1 << 20, &text, &len), 0, "a record that fits");
	back = json_loads(text, 0, NULL);
	ok(json_equal(back, rec) &&
	        json_array_size(json_object_get(json_object_get(back, "run"), "history")) == 100,
	    "given whole");
	is_int(json_integer_value(json_object_get(back, "history_dropped")), 0, "nothing dropped");
	json_decref(back);
	free(text);
	is_int(smd__record_text(rec, 1000, &text, &len), 0,
	    "too big, with too short a history to cut");
	ok(len > 1000 && strlen(text) == len, "given as it is (%zu bytes)", len);
	json_decref(rec);
	free(text);

	rec = json_pack("{s:s, s:s}", "format", SMD_RECORD_FORMAT, "run", "not an object");
	is_int(smd__record_text(rec, 10, &text, &len), 0, "a run that is not an object");
	ok(text && strstr(text, "not an object"), "given as it is");
	json_decref(rec);
	free(text);
	return done_testing();
}
