/*
 * test_smd_flow.c - smd end to end, as the UI server sees it: the three
 * flows of the old system's flow test (a search term, a product url, a
 * search term with with_best_seller_ranking) sent to the incoming queue,
 * smd run with the test spider until idle, then the progress sequence, the
 * output message, the keys in the bucket, the zips' contents and the CSV
 * against the JL; then the same three again as cache hits.
 *
 * SM_TEST_BACKEND=local (default) or aws (under test/support/with_moto.sh).
 */
#include "smd_test_util.h"

struct flow {
	int64_t id;
	const char *body;
	const char *term;       /* the <term> part of the name */
	int items;
	int bsr;
};

/* The CSV's rows must be the JL's items: header = sorted union of keys. */
static int
csv_matches(const char *csv, const char *jl, int *rows)
{
	json_t *keys = json_object(), *items = json_array();
	const char *p = jl;
	int ok = 1;

	*rows = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		json_t *j = json_loadb(p, nl ? (size_t)(nl - p) : strlen(p), 0, NULL);
		const char *k;
		json_t *v;

		if (!json_is_object(j))
			ok = 0;
		json_object_foreach(j, k, v)
			json_object_set(keys, k, json_true());
		json_array_append_new(items, j);
		if (!nl)
			break;
		p = nl + 1;
	}
	/* header: keys in byte order, comma separated (none need quoting here) */
	{
		const char *k;
		json_t *v;
		char want[4096] = "";
		size_t n = json_object_size(keys), i = 0;
		const char **names = calloc(n + 1, sizeof(*names));

		json_object_foreach(keys, k, v)
			names[i++] = k;
		for (size_t a = 0; a < n; a++)
			for (size_t b = a + 1; b < n; b++)
				if (strcmp(names[a], names[b]) > 0) {
					const char *t = names[a];
					names[a] = names[b];
					names[b] = t;
				}
		for (i = 0; i < n; i++) {
			strcat(want, i ? "," : "");
			strcat(want, names[i]);
		}
		strcat(want, "\r\n");
		if (strncmp(csv, want, strlen(want)) != 0) {
			diag("csv header: want '%s'", want);
			ok = 0;
		}
		free(names);
	}
	for (const char *c = strstr(csv, "\r\n"); c && c[2]; c = strstr(c + 2, "\r\n"))
		(*rows)++;
	if ((size_t)*rows != json_array_size(items))
		ok = 0;
	json_decref(keys);
	json_decref(items);
	return ok;
}

static void
check_flow(struct st_env *e, const struct flow *f, json_t *progress, json_t *outputs,
    int cached, const char *cached_name)
{
	json_t *m, *out = NULL;
	size_t i, n = 0;
	char label[64];
	const char *keys[3] = { "s3_key_data", "s3_key_logs", "csv_data_key" };
	char *zips[3] = { 0 }, *files[3] = { 0 };
	size_t zl[3], fl[3];
	char name[512];

	snprintf(label, sizeof(label), "task %lld%s", (long long)f->id, cached ? " (cache)" : "");
	/* progress: 0 first, counts, "finished" last */
	json_t *seq = json_array();

	json_array_foreach(progress, i, m)
		if (json_integer_value(json_object_get(m, "_msg_id")) == f->id) {
			json_array_append(seq, json_object_get(m, "progress"));
			ok(json_is_string(json_object_get(m, "utc_datetime")) &&
			    strlen(json_string_value(json_object_get(m, "utc_datetime"))) == 26,
			    "%s: progress has utc_datetime", label);
			is_str(json_string_value(json_object_get(m, "server_name")), ST_SERVER,
			    "%s: progress names the server", label);
		}
	ok(json_array_size(seq) >= 2, "%s: at least two progress messages (%zu)", label,
	    json_array_size(seq));
	ok(json_integer_value(json_array_get(seq, 0)) == 0 && json_is_integer(json_array_get(seq, 0)),
	    "%s: progress starts with 0", label);
	is_str(json_string_value(json_array_get(seq, json_array_size(seq) - 1)), "finished",
	    "%s: progress ends with \"finished\"", label);
	for (i = 1; i + 1 < json_array_size(seq); i++)
		ok(json_is_integer(json_array_get(seq, i)) &&
		    json_integer_value(json_array_get(seq, i)) <= f->items,
		    "%s: intermediate progress is an item count", label);
	json_decref(seq);

	json_array_foreach(outputs, i, m)
		if (json_integer_value(json_object_get(m, "_msg_id")) == f->id) {
			n++;
			out = m;
		}
	is_int((int)n, 1, "%s: one output message", label);
	if (!out)
		return;
	is_str(json_string_value(json_object_get(out, "type")), "ranking_spiders", "%s: type",
	    label);
	is_str(json_string_value(json_object_get(out, "bucket_name")), ST_BUCKET,
	    "%s: bucket_name", label);
	ok(strlen(json_string_value(json_object_get(out, "utc_datetime")) ?
	    json_string_value(json_object_get(out, "utc_datetime")) : "") == 26,
	    "%s: utc_datetime", label);
	{
		const char *il = json_string_value(json_object_get(out, "s3_key_instance_starter_logs"));

		ok(il && strstr(il, "____remote_instance_starter2.log") && il[4] == '/',
		    "%s: s3_key_instance_starter_logs names the daemon log", label);
	}
	for (int k = 0; k < 3; k++) {
		const char *key = json_string_value(json_object_get(out, keys[k]));
		char want[512];

		ok(key != NULL, "%s: %s present", label, keys[k]);
		if (!key)
			return;
		snprintf(want, sizeof(want), "--%lld____%s____walmart.", (long long)f->id, f->term);
		if (cached)
			ok(cached_name && strncmp(key, cached_name, strlen(cached_name)) == 0,
			    "%s: %s is the cached result's key", label, keys[k]);
		else
			ok(strstr(key, want) != NULL && strstr(key, "____" ST_SERVER "--"),
			    "%s: %s is named after the task (%s)", label, keys[k], key);
		zips[k] = st_get(e, key, &zl[k]);
		ok(zips[k] != NULL, "%s: %s exists in the bucket", label, keys[k]);
		if (!zips[k])
			goto out;
		files[k] = st_unzip(zips[k], zl[k], name, sizeof(name), &fl[k]);
		ok(files[k] != NULL, "%s: %s is a zip of one file", label, keys[k]);
		if (!files[k])
			goto out;
		{
			const char *b = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;

			ok(strlen(name) + 4 == strlen(b) && strncmp(name, b, strlen(name)) == 0,
			    "%s: the zip holds '%s' (%s)", label, name, b);
		}
	}
	{
		int lines = 0, rows = 0;

		for (const char *p = files[0]; *p; p++)
			lines += *p == '\n';
		is_int(lines, f->items, "%s: the JL holds every item", label);
		ok(csv_matches(files[2], files[0], &rows), "%s: the CSV matches the JL", label);
		is_int(rows, f->items, "%s: one CSV row per item", label);
		ok(strstr(files[1], "Spider opened") != NULL, "%s: the log is the spider's", label);
		if (f->bsr) {
			json_t *first = json_loadb(files[0], strcspn(files[0], "\n"), 0, NULL);

			/* item 0 (url .../p/0) is the best-seller crawl's last: ranking = items */
			is_int((int)json_integer_value(json_object_get(first, "best_seller_ranking")),
			    f->items, "%s: best_seller_ranking merged from the second crawl", label);
			json_decref(first);
		}
	}
out:
	for (int k = 0; k < 3; k++) {
		free(zips[k]);
		free(files[k]);
	}
}

int
main(void)
{
	struct st_env e;
	static const struct flow flows[] = {
		{ 4444, "{\"task_id\": 4444, \"server_name\": \"" ST_SERVER "\", \"site\": "
		    "\"walmart\", \"searchterms_str\": \"water/bottle\", \"cmd_args\": "
		    "{\"quantity\": 20, \"fake_items\": 4, \"fake_delay_ms\": 600}}", "waterbottle", 4, 0 },
		{ 4445, "{\"task_id\": 4445, \"server_name\": \"" ST_SERVER "\", \"site\": "
		    "\"walmart\", \"url\": \"http://www.walmart.com/ip/31262048\", \"cmd_args\": "
		    "{\"fake_items\": 1}}", "single-product-url-request", 1, 0 },
		{ 4446, "{\"task_id\": 4446, \"server_name\": \"" ST_SERVER "\", \"site\": "
		    "\"walmart\", \"searchterms_str\": \"batteries\", \"with_best_seller_ranking\": "
		    "\"True\", \"cmd_args\": {\"fake_items\": 3}}", "batteries", 3, 1 },
	};
	json_t *progress, *outputs;
	char names[3][512];
	int rc;

	plan_no_plan();
	if (getenv("SM_MOTO_SKIP"))
		skip_all("moto_server is not installed");
	if (st_open(&e, "flow") != 0)
		{
		ok(0, "set up the UI side");
		return done_testing();
	}
	for (size_t i = 0; i < 3; i++)
		is_int(st_send(&e, ST_QUEUE, flows[i].body), 0, "task %lld sent",
		    (long long)flows[i].id);
	st_smd_start(&e, 1, NULL);
	rc = st_smd_wait(&e, 90);
	is_int(rc, 0, "smd --exit-when-idle ran the three tasks and exited 0");
	if (rc != 0)
		st_show_log(&e);
	progress = st_drain(&e, ST_PROGRESS);
	outputs = st_drain(&e, ST_OUTPUT);
	for (size_t i = 0; i < 3; i++) {
		json_t *m;
		size_t j;

		check_flow(&e, &flows[i], progress, outputs, 0, NULL);
		names[i][0] = 0;
		json_array_foreach(outputs, j, m)
			if (json_integer_value(json_object_get(m, "_msg_id")) == flows[i].id) {
				const char *k = json_string_value(json_object_get(m, "s3_key_data"));

				snprintf(names[i], sizeof(names[i]), "%.*s", (int)(strlen(k) - 7), k);
			}
	}
	is_int(st_queue_count(&e, ST_QUEUE), 0, "every task message was deleted");
	json_decref(progress);
	json_decref(outputs);

	/* the same tasks again (other ids, other server): served from the cache */
	{
		static const char *const again[] = {
			"{\"task_id\": 5444, \"server_name\": \"" ST_SERVER "\", \"site\": "
			"\"walmart\", \"searchterms_str\": \"water/bottle\", \"cmd_args\": "
			"{\"quantity\": 20, \"fake_items\": 4, \"fake_delay_ms\": 600}}",
		};
		struct flow f = flows[0];

		f.id = 5444;
		is_int(st_send(&e, ST_QUEUE, again[0]), 0, "an identical task sent");
		st_smd_start(&e, 1, NULL);
		is_int(st_smd_wait(&e, 60), 0, "smd ran it and exited 0");
		progress = st_drain(&e, ST_PROGRESS);
		outputs = st_drain(&e, ST_OUTPUT);
		check_flow(&e, &f, progress, outputs, 1, names[0]);
		{
			char want[600];

			snprintf(want, sizeof(want), "Got cached result for task 5444 (" ST_SERVER "): %s",
			    names[0]);
			ok(st_log_has(&e, want), "the cache hit is logged as the old system did");
		}
		json_decref(progress);
		json_decref(outputs);
	}
	st_close(&e);
	return done_testing();
}
