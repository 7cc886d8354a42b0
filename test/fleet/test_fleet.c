/*
 * test_fleet.c - the fleet library's parsers: act_name_parse reads back
 * every name act_name_build makes (and refuses what it does not make),
 * fl_unzip_one on good and hostile archives (not a zip, two members, a
 * member over the limit, a truncated archive), fl_record_parse (format,
 * version, not JSON), fl_heartbeat_alive.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "act_names.h"
#include "act_task.h"
#include "fleet.h"
#include "tap.h"

/* A zip of the members name[i] = data[i] in memory (malloc'd). */
static char *
make_zip(int n, const char *const *names, const char *const *data, size_t *len)
{
	zip_error_t ze;
	zip_source_t *src, *m;
	zip_t *z;
	zip_stat_t st;
	char *out;

	zip_error_init(&ze);
	src = zip_source_buffer_create(NULL, 0, 0, &ze);
	zip_source_keep(src);
	z = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
	for (int i = 0; i < n; i++) {
		m = zip_source_buffer(z, data[i], strlen(data[i]), 0);
		zip_file_add(z, names[i], m, 0);
	}
	zip_close(z);
	zip_source_open(src);
	zip_source_stat(src, &st);
	out = malloc(st.size + 1);
	*len = (size_t)zip_source_read(src, out, st.size);
	zip_source_close(src);
	zip_source_free(src);
	return out;
}

static void
names(void)
{
	struct act_task t;
	struct act_name_parts p;
	char name[ACT_NAME_SIZE], key[ACT_KEY_SIZE], longterm[400];
	char server[] = "ui--server", server2[] = "uiserver", site[] = "walmart";
	char term[] = "water bottle--7____x";
	const char *inst = "abcdefghij0123456789abcdefgh";

	memset(&t, 0, sizeof(t));
	t.task_id = 4444;
	t.server_name = server;
	t.site = site;
	t.mode = ACT_MODE_SEARCH;
	t.term = term;
	is_int(act_name_build(&t, inst, 1700000000, name, NULL), 0, "build a name");
	for (int k = 0; k < ACT_KEY_KINDS; k++) {
		act_key_build(name, (enum act_key_kind)k, key, sizeof(key));
		is_int(act_name_parse(key, &p), 0, "parse %s", key);
		is_int(p.kind, ACT_NAME_TASK, "a task key");
		is_int((int)p.key_kind, k, "its kind");
		is_str(p.name, name, "the name without the suffix");
	}
	is_str(p.server, "ui--server", "server with '--' in it");
	ok(p.task_id == 4444, "task id");
	is_str(p.term, "water bottle--7____x", "term with '--7____' in it");
	is_str(p.site, "walmart", "site");
	is_str(p.instance, inst, "instance");
	ok(p.year == 2023 && p.month == 11 && p.day == 14, "date of the folder");
	is_str(p.suffix, ".state.json.zip", "record suffix");

	/* a cut name keeps its parts */
	memset(longterm, 'x', sizeof(longterm) - 1);
	longterm[sizeof(longterm) - 1] = 0;
	t.term = longterm;
	t.server_name = server2;
	is_int(act_name_build(&t, inst, 1700000000, name, NULL), 0, "build a cut name");
	act_key_build(name, ACT_KEY_LOG, key, sizeof(key));
	is_int(act_name_parse(key, &p), 0, "parse the cut name");
	is_str(p.site, "walmart", "its site");
	ok(strchr(p.term, '~') != NULL, "its term ends with the hash");

	is_int(act_daemon_log_key(inst, 1700000000, key, NULL), 0, "daemon log key");
	is_int(act_name_parse(key, &p), 0, "parse the daemon log key");
	is_int(p.kind, ACT_NAME_DAEMON_LOG, "a daemon log");
	is_str(p.instance, inst, "its instance");

	/* hostile and foreign keys */
	static const char *const bad[] = {
		"",
		"scrapy_daemon_stop_flag",
		"smd/instances/abc.json",
		"cache/0123.json",
		"2023/11/14/",
		"2023/11/14/"
		"14-11-2023____abcdefghij0123456789abcdefgh____uiserver--1____t____walmart",
		"2023/11/14/"
		"15-11-2023____abcdefghij0123456789abcdefgh____uiserver--1____t____w.jl.zip",
		"2023/13/14/"
		"14-13-2023____abcdefghij0123456789abcdefgh____uiserver--1____t____w.jl.zip",
		"2023/11/14/"
		"14-11-2023____ABCDEFGHIJ0123456789abcdefgh____uiserver--1____t____w.jl.zip",
		"2023/11/14/"
		"14-11-2023____abcdefghij0123456789abcdefgh____uiserver-1____t____w.jl.zip",
		"2023/11/14/14-11-2023____abcdefghij0123456789abcdefgh____--1____t____w.jl.zip",
		"2023/11/14/"
		"14-11-2023____abcdefghij0123456789abcdefgh____uiserver--1____t____.jl.zip",
		"2023/11/14/14-11-2023____abcdefghij0123456789abcdefgh____uiserver--1____t.jl.zip",
		"2023/11/14/"
		"14-11-2023____abcdefghij0123456789abcdefgh____uiserver--x____t____w.jl.zip",
		"2023/11/14/14-11-2023____abcdefghij0123456789abcdefgh",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(act_name_parse(bad[i], &p), SM_EINVAL, "refused: '%s'", bad[i]);
}

static void
unzip(void)
{
	static const char *const one_n[] = { "a.state.json" }, *const one_d[] = { "hello" };
	static const char *const two_n[] = { "a", "b" }, *const two_d[] = { "1", "2" };
	struct sm_error err;
	char *z, *out = NULL, *big;
	size_t len, olen;

	z = make_zip(1, one_n, one_d, &len);
	is_int(fl_unzip_one(z, len, 100, &out, &olen, &err), 0, "unzip one member");
	ok(out && olen == 5 && strcmp(out, "hello") == 0, "its bytes");
	free(out);
	is_int(fl_unzip_one(z, len, 4, &out, &olen, &err), SM_ETOOBIG, "over the limit");
	ok(strstr(err.msg, "over 4 bytes") != NULL, "says so: %s", err.msg);
	is_int(fl_unzip_one(z, len / 2, 100, &out, &olen, &err), SM_ECORRUPT, "truncated");
	z[len - 30] ^= 0x55;
	ok(fl_unzip_one(z, len, 100, &out, &olen, &err) != 0, "damaged");
	free(z);
	z = make_zip(2, two_n, two_d, &len);
	is_int(fl_unzip_one(z, len, 100, &out, &olen, &err), SM_ECORRUPT, "two members");
	ok(strstr(err.msg, "2 members") != NULL, "says so: %s", err.msg);
	free(z);
	z = make_zip(0, NULL, NULL, &len);
	is_int(fl_unzip_one(z, len, 100, &out, &olen, &err), SM_ECORRUPT, "no member");
	free(z);
	is_int(fl_unzip_one("PK\3\4garbage", 11, 100, &out, &olen, &err), SM_ECORRUPT, "not a zip");
	/* into a file: the member, and the limit */
	z = make_zip(1, one_n, one_d, &len);
	{
		FILE *f = tmpfile();
		char back[16] = "";

		is_int(
		    fl_unzip_one_fd(z, len, 100, fileno(f), &olen, &err), 0, "unzip into a file");
		rewind(f);
		ok(olen == 5 && fread(back, 1, sizeof(back), f) == 5 &&
		        memcmp(back, "hello", 5) == 0,
		    "its bytes in the file");
		is_int(fl_unzip_one_fd(z, len, 4, fileno(f), &olen, &err), SM_ETOOBIG,
		    "into a file: over the limit");
		is_int(fl_unzip_one_fd(z, len / 2, 100, fileno(f), &olen, &err), SM_ECORRUPT,
		    "into a file: truncated");
		fclose(f);
	}
	free(z);
	/* a member that claims little and inflates to much: the limit holds */
	big = malloc(1 << 20);
	memset(big, 'a', 1 << 20);
	big[(1 << 20) - 1] = 0;
	{
		const char *const bn[] = { "bomb" }, *const bd[] = { big };

		z = make_zip(1, bn, bd, &len);
	}
	ok(len < 10000, "a compressible member (%zu bytes zipped)", len);
	is_int(
	    fl_unzip_one(z, len, 65536, &out, &olen, &err), SM_ETOOBIG, "inflating past the limit");
	free(z);
	free(big);
}

static void
records(void)
{
	struct sm_error err;
	json_t *r = NULL;
	const char *good = "{\"format\": \"smd-task-record\", \"version\": 1, \"reason\": \"x\", "
	                   "\"future\": 1}";

	is_int(fl_record_parse(good, strlen(good), &r, &err), 0, "a version 1 record");
	is_str(json_string_value(json_object_get(r, "reason")), "x", "its reason");
	json_decref(r);
	is_int(fl_record_parse("{\"format\": \"smd-task-record\", \"version\": 2}", 43, &r, &err),
	    SM_EVERSION, "a newer version is refused");
	ok(strstr(err.msg, "upgrade smctl") != NULL, "says what to do: %s", err.msg);
	is_int(fl_record_parse("{\"format\": \"other\", \"version\": 1}", 33, &r, &err),
	    SM_EVERSION, "another format is refused");
	is_int(fl_record_parse("{\"format\": \"smd-task-record\"}", 29, &r, &err), SM_ECORRUPT,
	    "no version");
	is_int(fl_record_parse("[1]", 3, &r, &err), SM_ECORRUPT, "not an object");
	is_int(fl_record_parse("{\"format\"", 9, &r, &err), SM_ECORRUPT, "not JSON");
	ok(r == NULL, "nothing returned on failure");
}

static void
alive(void)
{
	json_t *hb = json_pack(
	    "{s:I, s:I}", "last_seen_ms", (json_int_t)100000, "interval_ms", (json_int_t)1000);

	ok(fl_heartbeat_alive(hb, 103000), "alive within three intervals");
	ok(!fl_heartbeat_alive(hb, 103001), "stale after");
	json_object_del(hb, "interval_ms");
	ok(!fl_heartbeat_alive(hb, 100000), "no interval: not alive");
	json_decref(hb);

	/* hostile values: no overflow (UBSan), and no heartbeat alive for ever */
	hb = json_pack(
	    "{s:I, s:I}", "last_seen_ms", (json_int_t)100000, "interval_ms", (json_int_t)INT64_MAX);
	ok(!fl_heartbeat_alive(hb, 100000), "interval_ms INT64_MAX: not alive");
	json_object_set_new(hb, "interval_ms", json_integer(FL_HEARTBEAT_INTERVAL_MAX + 1));
	ok(!fl_heartbeat_alive(hb, 100000), "interval_ms over a day: not alive");
	json_object_set_new(hb, "interval_ms", json_integer(-1000));
	ok(!fl_heartbeat_alive(hb, 100000), "a negative interval_ms: not alive");
	json_object_set_new(hb, "interval_ms", json_integer(1000));
	json_object_set_new(hb, "last_seen_ms", json_integer(INT64_MAX));
	ok(!fl_heartbeat_alive(hb, 100000), "last_seen_ms INT64_MAX: not alive");
	json_object_set_new(hb, "last_seen_ms", json_integer(253402300799999));
	ok(!fl_heartbeat_alive(hb, 1700000000000), "last_seen_ms in year 9999: not alive");
	json_object_set_new(hb, "last_seen_ms", json_integer(1700000000000 + 3600000));
	ok(fl_heartbeat_alive(hb, 1700000000000), "a clock an hour ahead: alive");
	json_object_set_new(hb, "last_seen_ms", json_integer(INT64_MIN));
	ok(!fl_heartbeat_alive(hb, 1700000000000), "last_seen_ms INT64_MIN: not alive");
	json_object_set_new(hb, "last_seen_ms", json_string("now"));
	ok(!fl_heartbeat_alive(hb, 1700000000000), "last_seen_ms a string: not alive");
	json_object_set_new(hb, "last_seen_ms", json_integer(100000));
	ok(!fl_heartbeat_alive(hb, INT64_MIN), "a negative now: not alive");
	ok(!fl_heartbeat_alive(hb, INT64_MAX), "now INT64_MAX: stale");
	json_decref(hb);
}

int
main(void)
{
	plan_no_plan();
	names();
	unzip();
	records();
	alive();
	return done_testing();
}
