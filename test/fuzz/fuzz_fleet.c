/*
 * fuzz_fleet.c - the fleet view's readers of what other machines left in
 * the bucket (docs/fleet-formats.md), on hostile bytes.
 *
 * Input: the first byte picks what the rest is (byte % 4):
 *   0  a task record's .state.json.zip: fl_unzip_one (a member of 1 MiB at
 *      most), then as 1;
 *   1  a task record's JSON: fl_record_parse, then fl_stats_add_record;
 *   2  a heartbeat's JSON: fl_stats_add_heartbeat and fl_heartbeat_alive;
 *   3  a key: fl_task_name_parse and fl_stats_add_started.
 * Then fl_stats_json and fl_stats_print of what was counted.
 *
 * Invariants: every call returns 0 or one of its documented errors, and an
 * error has a message; an unzipped member is within the limit and
 * NUL-terminated; a parsed record is a JSON object; the figures are a JSON
 * object that serialises, and printing them does not fail.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fl_stats.h"
#include "fleet.h"
#include "sm_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEMBER_MAX (1u << 20)
#define DAY0 1764892800 /* 2025-12-05 00:00:00 UTC */

static FILE *sink;

static void
check_err(int rc, const struct sm_error *err, const int *allowed)
{
	if (rc == 0)
		return;
	for (; *allowed; allowed++)
		if (rc == *allowed)
			goto known;
	abort();
known:
	if (rc != SM_ENOMEM && err->msg[0] == '\0')
		abort();
}

static void
one_record(struct fl_stats *s, const char *json, size_t len)
{
	static const int parse_errs[] = { SM_ECORRUPT, SM_EVERSION, SM_ENOMEM, 0 };
	static const int add_errs[] = { SM_ECORRUPT, SM_EVERSION, SM_ENOMEM, 0 };
	struct sm_error err;
	json_t *rec = NULL;
	int rc;

	sm_error_clear(&err);
	rc = fl_record_parse(json, len, &rec, &err);
	check_err(rc, &err, parse_errs);
	if (rc != 0)
		return;
	if (!json_is_object(rec))
		abort();
	sm_error_clear(&err);
	rc = fl_stats_add_record(s, "2025/12/05/x.state.json.zip", rec, &err);
	check_err(rc, &err, add_errs);
	json_decref(rec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int zip_errs[] = { SM_ECORRUPT, SM_ETOOBIG, SM_ENOMEM, 0 };
	static const int hb_errs[] = { SM_ECORRUPT, SM_EVERSION, SM_ENOMEM, 0 };
	struct fl_stats *s = NULL;
	struct sm_error err;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	char *text = NULL, *dump;
	json_t *j;
	int rc;

	if (size < 1 || size > 1024 * 1024)
		return 0;
	if (!sink && !(sink = fopen("/dev/null", "w")))
		abort();
	if (fl_stats_new(&s, DAY0 + 3600, 2, (int64_t)DAY0 * 1000 + 7200000) != 0)
		abort();
	/* the readers take exact lengths; a copy so no byte past them is read */
	if (!(text = malloc(len + 1)))
		abort();
	memcpy(text, body, len);
	text[len] = '\0';
	sm_error_clear(&err);
	switch (data[0] % 4) {
	case 0: {
		char *member = NULL;
		size_t mlen = 0;

		rc = fl_unzip_one(text, len, MEMBER_MAX, &member, &mlen, &err);
		check_err(rc, &err, zip_errs);
		if (rc == 0) {
			if (!member || mlen > MEMBER_MAX || member[mlen] != '\0')
				abort();
			one_record(s, member, mlen);
		}
		free(member);
		break;
	}
	case 1:
		one_record(s, text, len);
		break;
	case 2: {
		json_t *hb = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);

		if (hb) {
			rc = fl_stats_add_heartbeat(s, "smd/instances/x.json", hb, &err);
			check_err(rc, &err, hb_errs);
			(void)fl_heartbeat_alive(hb, (int64_t)DAY0 * 1000);
			json_decref(hb);
		}
		break;
	}
	default: {
		struct fl_name n;

		(void)fl_task_name_parse(text, &n);
		if (fl_stats_add_started(s, text) == SM_ENOMEM)
			abort();
		break;
	}
	}
	if (!(j = fl_stats_json(s)) || !json_is_object(j) || !(dump = json_dumps(j, 0)))
		abort();
	fl_stats_print(j, sink);
	free(dump);
	json_decref(j);
	fl_stats_free(s);
	free(text);
	return 0;
}
