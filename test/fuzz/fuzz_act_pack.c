/*
 * fuzz_act_pack.c - act_pack on hostile spider output.
 *
 * Input: the first byte splits the rest into the main output and the
 * best-seller output (at byte % (size) of the rest); both are packed with
 * a line limit of 4 KiB.  Invariants: act_pack succeeds; every line of the
 * main output is counted once as an item or as dropped; the cleaned JL has
 * one line per item, each a JSON object; the CSV has a header and one row
 * per item (counted by CRLF outside quotes), or is empty without items;
 * ranked <= items; a first drop reason exists iff a line was dropped.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "act_pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static const char *
path(const char *name)
{
	static char b[4][128];
	static int k;
	char *p = b[k++ % 4];

	snprintf(p, 128, "%s/%s", dir, name);
	return p;
}

static void
put(const char *name, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path(name), "wb");

	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct act_pack_opts o;
	struct act_pack_stats st;
	struct sm_error err;
	size_t split, n, lines = 0, i, rows = 0;
	uint64_t items = 0;
	int quoted = 0, c, prev = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/fuzz_act_pack.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	if (size < 1 || size > 256 * 1024)
		return 0;
	n = size - 1;
	split = n > 0 ? data[0] % (n + 1) : 0;
	put("in.jl", data + 1, split);
	put("bsr.jl", data + 1 + split, n - split);
	for (i = 0; i < split; i++)
		lines += data[1 + i] == '\n';
	if (split > 0 && data[split] != '\n')
		lines++;

	o.jl_in = path("in.jl");
	o.bsr_in = data[0] & 1 ? path("bsr.jl") : NULL;
	o.jl_out = path("out.jl");
	o.csv_out = path("out.csv");
	o.line_max = 4096;
	if (act_pack(&o, &st, &err) != 0)
		abort();
	if (st.items + st.dropped != lines || st.ranked > st.items)
		abort();
	if ((st.dropped > 0) != (st.first_drop[0] != '\0'))
		abort();

	if ((f = fopen(o.jl_out, "rb")) == NULL)
		abort();
	while ((len = getline(&line, &cap, f)) > 0) {
		json_t *v = json_loadb(line, (size_t)len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);

		if (!json_is_object(v) || line[len - 1] != '\n')
			abort();
		json_decref(v);
		items++;
	}
	fclose(f);
	free(line);
	if (items != st.items)
		abort();

	if ((f = fopen(o.csv_out, "rb")) == NULL)
		abort();
	while ((c = fgetc(f)) != EOF) {
		if (c == '"')
			quoted = !quoted;
		else if (c == '\n' && prev == '\r' && !quoted)
			rows++;
		prev = c;
	}
	fclose(f);
	if (quoted || rows != (st.items > 0 ? st.items + 1 : 0))
		abort();
	return 0;
}
