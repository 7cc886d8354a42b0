/*
 * test_load.c - the SCXML loader: data-driven invalid/valid cases, the
 * W3C null-datamodel files, hostile inputs, the built model, graph output.
 *
 *   invalid/<case>/machine.scxml  must be refused; every line of
 *   invalid/<case>/expected must be a substring of one diagnostic
 *   formatted as "file:line: message" (the file part is matched from its
 *   base name on).
 *   valid/<case>/machine.scxml    must load without errors.
 *   warn/<case>/machine.scxml     must load, with the warnings its expected
 *   file lists (see test_warn_cases).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sm_err.h"
#include "sm_machine.h"
#include "sm_model.h"
#include "tap.h"

static const char *src_dir, *shared_dir;

static int
known_action(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, "spider") == 0 || strcmp(name, "upload") == 0 ||
	    strcmp(name, "report") == 0;
}

static const struct sm_load_opts opts = { 0, 0, known_action, NULL, 0 };

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	if (b)
		b[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return b;
}

static int
n_errors(const struct sm_diags *d)
{
	size_t i;
	int n = 0;

	for (i = 0; i < d->n; i++)
		n += !d->v[i].warning;
	return n;
}

/* Does a diagnostic, formatted and cut to start at the file's base name,
 * contain `want`? */
static int
has_diag(const struct sm_diags *d, const char *want)
{
	char buf[4096];
	size_t i;

	for (i = 0; i < d->n; i++) {
		const char *s;

		struct sm_diag nocol = d->v[i];

		/* match with and without the column: "f:3: msg" ~ "f:3:7: msg" */
		for (int pass = 0; pass < 2; pass++) {
			nocol.col = pass ? 0 : d->v[i].col;
			sm_diag_format(&nocol, buf, sizeof buf);
			s = strrchr(d->v[i].file, '/');
			s = s ? buf + (s + 1 - d->v[i].file) : buf;
			if (strstr(s, want) != NULL)
				return 1;
		}
	}
	return 0;
}

static void
dump_diags(const struct sm_diags *d)
{
	char buf[4096];
	size_t i;

	for (i = 0; i < d->n; i++)
		diag("  %s", sm_diag_format(&d->v[i], buf, sizeof buf));
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted case folder names of dir. */
static char **
list_dir(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		v = realloc(v, (*n + 1) * sizeof *v);
		v[(*n)++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(v, *n, sizeof *v, cmp_str);
	return v;
}

/* Is every line of the file at `path` among the diagnostics (has_diag)?
 * Says which are missing, and dumps the diagnostics then. */
static void
has_every_line(const char *path, const struct sm_diags *d, const char *what)
{
	char *exp = slurp(path, NULL), *line, *save = NULL;
	int all = 1;

	for (line = exp ? strtok_r(exp, "\n", &save) : NULL; line;
	    line = strtok_r(NULL, "\n", &save)) {
		if (!has_diag(d, line)) {
			all = 0;
			diag("missing: %s", line);
		}
	}
	if (!ok(exp != NULL && all, "%s reports every expected message", what))
		dump_diags(d);
	free(exp);
}

static void
test_invalid_cases(void)
{
	char dir[4096], path[4200];
	size_t n, i;
	char **cases;

	snprintf(dir, sizeof dir, "%s/test/load/invalid", src_dir);
	cases = list_dir(dir, &n);
	ok(n >= 30, "found %zu invalid cases", n);
	for (i = 0; i < n; i++) {
		struct sm_diags d = { 0 };
		struct sm_machine *m = NULL;
		char what[300];
		int rc;

		snprintf(path, sizeof path, "%s/%s/machine.scxml", dir, cases[i]);
		rc = sm_machine_load_file(path, &opts, &m, &d);
		ok(rc < 0 && m == NULL && n_errors(&d) > 0, "invalid/%s is refused "
		    "(rc %s, %zu diagnostics)", cases[i], sm_errname(rc), d.n);
		snprintf(path, sizeof path, "%s/%s/expected", dir, cases[i]);
		snprintf(what, sizeof what, "invalid/%s (an expected file)", cases[i]);
		has_every_line(path, &d, what);
		sm_diags_free(&d);
		sm_machine_free(m);
		free(cases[i]);
	}
	free(cases);
}

static void
test_valid_cases(void)
{
	char dir[4096], path[4200];
	size_t n, i;
	char **cases;

	snprintf(dir, sizeof dir, "%s/test/load/valid", src_dir);
	cases = list_dir(dir, &n);
	ok(n >= 4, "found %zu valid cases", n);
	for (i = 0; i < n; i++) {
		struct sm_diags d = { 0 };
		struct sm_machine *m = NULL;
		int rc;

		snprintf(path, sizeof path, "%s/%s/machine.scxml", dir, cases[i]);
		rc = sm_machine_load_file(path, &opts, &m, &d);
		if (!ok(rc == 0 && m != NULL && d.n == 0, "valid/%s loads cleanly (%s)",
		    cases[i], sm_errname(rc)))
			dump_diags(&d);
		sm_diags_free(&d);
		sm_machine_free(m);
		free(cases[i]);
	}
	free(cases);
}

/*
 * warn/<case>/machine.scxml loads, with each line of warn/<case>/expected
 * among its diagnostics (they say "warning:"); with a file
 * warn/<case>/require_final, the same machine is refused when loaded with
 * require_final (as smd loads), with each of its lines among the errors.
 */
static void
test_warn_cases(void)
{
	char dir[4096], path[4200], mpath[4200], what[300];
	size_t n, i;
	char **cases;

	snprintf(dir, sizeof dir, "%s/test/load/warn", src_dir);
	cases = list_dir(dir, &n);
	ok(n >= 3, "found %zu warning cases", n);
	for (i = 0; i < n; i++) {
		static const char *const files[] = { "expected", "require_final" };

		snprintf(mpath, sizeof mpath, "%s/%s/machine.scxml", dir, cases[i]);
		for (int k = 0; k < 2; k++) {
			struct sm_load_opts o = opts;
			struct sm_diags d = { 0 };
			struct sm_machine *m = NULL;
			int rc;

			snprintf(path, sizeof path, "%s/%s/%s", dir, cases[i], files[k]);
			if (k > 0 && access(path, R_OK) != 0)
				continue; /* no require_final file: nothing to refuse */
			o.require_final = k;
			rc = sm_machine_load_file(mpath, &o, &m, &d);
			if (k == 0)
				ok(rc == 0 && m != NULL && n_errors(&d) == 0 && d.n > 0,
				    "warn/%s loads with warnings (%s)", cases[i], sm_errname(rc));
			else
				ok(rc < 0 && m == NULL && n_errors(&d) > 0,
				    "warn/%s is refused with require_final (%s)", cases[i],
				    sm_errname(rc));
			snprintf(what, sizeof what, "warn/%s (%s)", cases[i], files[k]);
			has_every_line(path, &d, what);
			sm_diags_free(&d);
			sm_machine_free(m);
		}
		free(cases[i]);
	}
	free(cases);
}

static void
test_w3c(void)
{
	char dir[4096], path[4400];
	size_t n, i, nfiles = 0;
	char **files;
	int good = 0;

	snprintf(dir, sizeof dir, "%s/testdata/w3c-scxml/null", shared_dir);
	files = list_dir(dir, &n);
	for (i = 0; i < n; i++) {
		struct sm_diags d = { 0 };
		struct sm_machine *m = NULL;
		int rc;

		if (strstr(files[i], ".scxml") == NULL) {
			free(files[i]);
			continue;
		}
		nfiles++;
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		rc = sm_machine_load_file(path, NULL, &m, &d);
		if (rc == 0 && m != NULL && n_errors(&d) == 0)
			good++;
		else {
			ok(0, "w3c %s loads (%s)", files[i], sm_errname(rc));
			dump_diags(&d);
		}
		sm_diags_free(&d);
		sm_machine_free(m);
		free(files[i]);
	}
	free(files);
	is_int(nfiles, 41, "41 W3C null-datamodel files present");
	is_int(good, (int)nfiles, "every W3C file loads and validates");
}

/* Load `buf` from memory with stderr redirected; returns rc and whether
 * anything was written to stderr. */
static int
load_quiet(const char *buf, size_t len, const struct sm_load_opts *o,
    struct sm_diags *d, int *noisy)
{
	struct sm_machine *m = NULL;
	char tmpl[] = "/tmp/test_load_stderr.XXXXXX";
	int fd = mkstemp(tmpl), saved, rc;
	struct stat st;

	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	rc = sm_machine_load_memory(buf, len, "hostile.scxml", "/nonexistent",
	    o, &m, d);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fstat(fd, &st);
	*noisy = st.st_size != 0;
	close(fd);
	unlink(tmpl);
	sm_machine_free(m);
	if (rc == 0 && m == NULL)
		return SM_EBUG;
	return rc;
}

static void
hostile(const char *what, const char *buf, size_t len, const char *want)
{
	struct sm_diags d = { 0 };
	int noisy, rc;

	rc = load_quiet(buf, len, NULL, &d, &noisy);
	ok(rc < 0, "%s: refused (%s)", what, sm_errname(rc));
	ok(!noisy, "%s: nothing printed on stderr", what);
	if (!ok(has_diag(&d, want), "%s: says '%s'", what, want))
		dump_diags(&d);
	sm_diags_free(&d);
}

static void
test_hostile(void)
{
	static const char laughs[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE scxml [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	    "]>\n"
	    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" version=\"1.0\">"
	    "<final id=\"&lol9;\"/></scxml>\n";
	static const char xxe[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE scxml [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n"
	    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" version=\"1.0\">"
	    "<state id=\"a\"><onentry><log label=\"&xxe;\"/></onentry></state>"
	    "<final id=\"f\"/></scxml>\n";
	static const char xxe_pe[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE scxml [ <!ENTITY % pe SYSTEM \"file:///etc/passwd\"> %pe; ]>\n"
	    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" version=\"1.0\">"
	    "<final id=\"f\"/></scxml>\n";
	static const char ext_dtd[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE scxml SYSTEM \"http://127.0.0.1:1/evil.dtd\">\n"
	    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" version=\"1.0\">"
	    "<final id=\"f\"/></scxml>\n";
	static const char undeclared[] =
	    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" version=\"1.0\">"
	    "<final id=\"&nope;\"/></scxml>\n";
	static const char truncated[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" version=\"1.0\">\n"
	    "<state id=\"a\"><transition event=\"x\" targ";
	static const char latin1[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" version=\"1.0\">\n"
	    "<final id=\"caf\xe9\"/></scxml>\n";
	static const char wrongns[] =
	    "<scxml xmlns=\"http://www.w3.org/2005/07/scxmlx\" version=\"1.0\">"
	    "<final id=\"f\"/></scxml>";
	static const char nons[] = "<scxml version=\"1.0\"><final id=\"f\"/></scxml>";
	static const char notscxml[] = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
	static const char nul[] = "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">\0</scxml>";
	size_t big = 5u << 20, i, depth = 100000;
	char *buf, *p;

	hostile("billion laughs", laughs, sizeof laughs - 1, "hostile.scxml:2: document type declarations");
	hostile("external entity (XXE)", xxe, sizeof xxe - 1, "hostile.scxml:2: document type declarations");
	hostile("parameter entity XXE", xxe_pe, sizeof xxe_pe - 1, "hostile.scxml:2: document type declarations");
	hostile("external DTD", ext_dtd, sizeof ext_dtd - 1, "hostile.scxml:2: document type declarations");
	{
		struct sm_diags d = { 0 };
		int noisy;
		size_t k;
		int leaked = 0;

		load_quiet(xxe, sizeof xxe - 1, NULL, &d, &noisy);
		for (k = 0; k < d.n; k++)
			if (strstr(d.v[k].msg, "root:") != NULL)
				leaked = 1;
		ok(!leaked, "XXE: /etc/passwd never shows up in a message");
		sm_diags_free(&d);
	}
	hostile("undeclared entity", undeclared, sizeof undeclared - 1, "hostile.scxml:1: malformed xml: entity 'nope' not defined");
	hostile("truncated file", truncated, sizeof truncated - 1, "hostile.scxml:3: malformed xml");
	hostile("non-UTF-8 bytes", latin1, sizeof latin1 - 1, "hostile.scxml:3: malformed xml");
	hostile("empty file", "", 0, "hostile.scxml: empty document");
	hostile("whitespace only", "  \n", 3, "hostile.scxml:2: malformed xml");
	hostile("wrong namespace", wrongns, sizeof wrongns - 1, "is in namespace \"http://www.w3.org/2005/07/scxmlx\"");
	hostile("no namespace", nons, sizeof nons - 1, "<scxml> is in namespace \"\"");
	hostile("not scxml", notscxml, sizeof notscxml - 1, "root element is <svg>, not <scxml>");
	hostile("NUL byte", nul, sizeof nul - 1, "malformed xml");
	{
		/* &#10; in an attribute is well-formed: the message stays one line
		 * and cannot forge a second diagnostic */
		static const char forge[] =
		    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">\n"
		    "<state id=\"a\"><onentry><send "
		    "event=\"x&#10;hostile.scxml:1:&#9;ok&#13;\"/></onentry>"
		    "<transition event=\"go\" target=\"f\"/></state>\n"
		    "<final id=\"f\"/></scxml>\n";
		struct sm_diags d = { 0 };
		int noisy, rc, oneline = 1;
		size_t k;

		rc = load_quiet(forge, sizeof forge - 1, NULL, &d, &noisy);
		for (k = 0; k < d.n; k++)
			if (strpbrk(d.v[k].msg, "\n\r\t") != NULL)
				oneline = 0;
		ok(rc == SM_EINVALID && oneline, "newline in an attribute: every "
		    "message is one line");
		if (!ok(has_diag(&d, "hostile.scxml:2: <send "
		    "event=\"x\\nhostile.scxml:1:\\tok\\r\">: not an event name"),
		    "control characters are shown escaped"))
			dump_diags(&d);
		sm_diags_free(&d);
	}

	{
		static const char schema_bad[] =
		    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" version=\"2.0\">\n"
		    "<state id=\"a\" bogus=\"1\"><foreach/><transition target=\"f\" type=\"x\"/></state>\n"
		    "<final id=\"f\"><state/></final></scxml>";

		hostile("schema errors", schema_bad, sizeof schema_bad - 1, "hostile.scxml:2: schema:");
	}

	/* 100k nesting: stopped at max_depth with our message */
	buf = malloc(depth * 16 + 200);
	p = buf + sprintf(buf, "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">\n");
	for (i = 0; i < depth; i++)
		p += sprintf(p, "<state>");
	hostile("100k nesting", buf, (size_t)(p - buf), "hostile.scxml:2: elements nested deeper than 64 levels");
	free(buf);

	/* 5 MiB: refused before parsing (in memory and as a file) */
	buf = malloc(big + 1);
	memset(buf, ' ', big);
	memcpy(buf, "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">", 48);
	hostile("5 MiB document", buf, big, "over the limit of 1048576");
	{
		char tmpl[] = "/tmp/test_load_big.XXXXXX";
		int fd = mkstemp(tmpl);
		struct sm_diags d = { 0 };
		struct sm_machine *m = NULL;
		int rc;

		ok(fd >= 0 && write(fd, buf, big) == (ssize_t)big, "wrote a 5 MiB file");
		close(fd);
		rc = sm_machine_load_file(tmpl, NULL, &m, &d);
		is_int(rc, SM_ETOOBIG, "5 MiB file: SM_ETOOBIG");
		ok(has_diag(&d, "over the limit of 1048576"), "5 MiB file: says why");
		sm_diags_free(&d);
		unlink(tmpl);
	}
	free(buf);

	/* a missing file */
	{
		struct sm_diags d = { 0 };
		struct sm_machine *m = NULL;
		int rc = sm_machine_load_file("/nonexistent/x.scxml", NULL, &m, &d);

		is_int(rc, SM_ENOTFOUND, "missing file: SM_ENOTFOUND");
		ok(has_diag(&d, "x.scxml: cannot open: No such file"), "missing file: says so");
		sm_diags_free(&d);
	}
	/* a smaller max_depth applies */
	{
		static const char doc[] =
		    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">"
		    "<state id=\"a\"><state id=\"b\"><transition target=\"f\"/></state></state>"
		    "<final id=\"f\"/></scxml>";
		struct sm_load_opts o = { 0, 3, NULL, NULL, 0 };
		struct sm_diags d = { 0 };
		int noisy, rc = load_quiet(doc, sizeof doc - 1, &o, &d, &noisy);

		ok(rc == SM_EPARSE && has_diag(&d, "hostile.scxml:1: elements nested deeper than 3"),
		    "max_depth 3 refuses depth 4");
		sm_diags_free(&d);
		o.max_depth = 4;
		rc = load_quiet(doc, sizeof doc - 1, &o, &d, &noisy);
		is_int(rc, 0, "max_depth 4 accepts depth 4");
		sm_diags_free(&d);
	}
}

static struct sm_machine *
load_case(const char *kind, const char *name)
{
	char path[4096];
	struct sm_diags d = { 0 };
	struct sm_machine *m = NULL;

	snprintf(path, sizeof path, "%s/test/load/%s/%s/machine.scxml", src_dir,
	    kind, name);
	if (sm_machine_load_file(path, &opts, &m, &d) != 0)
		dump_diags(&d);
	sm_diags_free(&d);
	return m;
}

static const struct sm_state *
st(const struct sm_machine *m, const char *id)
{
	int i = sm_machine_state_index(m, id);

	return i < 0 ? NULL : &m->states[i];
}

static void
test_model(void)
{
	struct sm_machine *m;
	const struct sm_state *s;
	char hex[65];
	unsigned char md[32];
	unsigned int mdlen = 32;

	m = load_case("valid", "task_full");
	ok(m != NULL, "task_full loads");
	if (m == NULL)
		return;
	is_int(m->datamodel, SM_DM_TASK, "datamodel task");
	is_str(m->name, "task", "name from <scxml name>");
	is_int(m->states[0].kind, SM_ST_ROOT, "state 0 is the root");
	is_int(m->states[0].parent, -1, "root has no parent");
	is_int(sm_machine_state_index(m, "start"), 1, "start is index 1 (document order)");
	is_int(sm_machine_state_index(m, "crawl"), 2, "crawl is index 2");
	is_int(sm_machine_state_index(m, "nope"), -1, "unknown id: -1");
	is_int(m->states[0].ninitial_targets, 1, "root has one initial target");
	is_int(m->states[0].initial_targets[0], 1, "root initial is start");
	s = st(m, "start");
	is_int(s->ntransitions, 3, "start has 3 transitions");
	is_str(s->transitions[0]->events[0], "product", "event descriptor kept");
	ok(s->transitions[1]->events == NULL && s->transitions[1]->cond != NULL,
	    "eventless transition with compiled cond");
	is_str(s->transitions[1]->cond_src, "attempt > limits.max", "cond source kept");
	is_int(s->nonentry, 1, "one onentry block");
	{
		const struct sm_exec *x = s->onentry[0];

		is_int(x->kind, SM_X_ASSIGN, "first action is assign");
		is_str(x->u.assign.location, "attempt", "assign location");
		x = x->next;
		ok(x && x->kind == SM_X_IF && x->u.if_.cond != NULL, "then an if");
		ok(x && x->u.if_.body && x->u.if_.body->kind == SM_X_LOG, "if body: log");
		x = x ? x->u.if_.next_branch : NULL;
		ok(x && x->kind == SM_X_IF && x->u.if_.cond != NULL &&
		    x->u.if_.body->kind == SM_X_RAISE, "elseif branch with raise");
		x = x ? x->u.if_.next_branch : NULL;
		ok(x && x->u.if_.cond == NULL && x->u.if_.body &&
		    x->u.if_.body->kind == SM_X_SEND &&
		    x->u.if_.body->u.send.delay_ms == 500 &&
		    strcmp(x->u.if_.body->u.send.id, "t1") == 0 &&
		    x->u.if_.body->next && x->u.if_.body->next->kind == SM_X_CANCEL,
		    "else branch: send delay 500ms id t1, cancel");
	}
	s = st(m, "crawl");
	is_int(s->ninvokes, 1, "crawl has one invoke");
	if (s->ninvokes == 1) {
		const struct sm_invoke *iv = &s->invokes[0];

		is_int(iv->kind, SM_INV_ACTION, "action invoke");
		is_str(iv->src, "spider", "action name");
		is_str(iv->id, "spider", "invoke id");
		is_int(iv->retry.max_attempts, 3, "sm:attempts");
		ok(iv->retry.backoff_rate == 1.5, "sm:backoff");
		is_int(iv->retry.initial_delay_ms, 2000, "sm:delay");
		is_int(iv->retry.max_delay_ms, 30000, "sm:max-delay");
		is_int(iv->retry.jitter, 0, "sm:jitter none");
		ok(iv->retry.errors && strcmp(iv->retry.errors[0], "error.timeout") == 0 &&
		    strcmp(iv->retry.errors[1], "error.io") == 0 && !iv->retry.errors[2],
		    "sm:retry-on list");
		is_int(iv->nparams, 2, "two params");
		ok(iv->nparams == 2 && iv->params[0].expr && iv->params[1].location &&
		    strcmp(iv->params[1].location, "task.searchterms_str") == 0,
		    "param expr and location");
		ok(iv->finalize && iv->finalize->kind == SM_X_ASSIGN, "finalize block");
	}
	ok(s->transitions[1]->nevents == 2 &&
	    strcmp(s->transitions[1]->events[0], "error.*") == 0 &&
	    strcmp(s->transitions[1]->events[1], "error") == 0, "event list split");
	ok(json_is_integer(json_object_get(json_object_get(m->data, "limits"), "max")),
	    "<data> JSON content parsed");
	is_int(m->ndata_decls, 3, "three data declarations");
	ok(m->data_decls[0].expr != NULL && strcmp(m->data_decls[0].name, "attempt") == 0,
	    "data expr kept for the interpreter");
	ok(json_is_null(json_object_get(m->data, "empty")), "empty <data> is null");
	s = st(m, "ok");
	ok(s && s->ndone_params == 1, "donedata param");
	s = st(m, "failed");
	ok(s && json_is_object(s->donedata), "donedata content as JSON");
	/* the hash is the SHA-256 of the document bytes */
	EVP_Digest(m->doc, m->doc_len, md, &mdlen, EVP_sha256(), NULL);
	ok(memcmp(md, m->sha256, 32) == 0, "sha256 of the document bytes");
	sm_machine_hash_hex(m, hex);
	is_int(strlen(hex), 64, "hash hex has 64 digits");
	{
		size_t len;
		char path[4096], *doc;

		snprintf(path, sizeof path, "%s/test/load/valid/task_full/machine.scxml", src_dir);
		doc = slurp(path, &len);
		ok(doc && len == m->doc_len && memcmp(doc, m->doc, len) == 0,
		    "machine->doc keeps the bytes");
		free(doc);
	}
	sm_machine_free(m);

	m = load_case("valid", "history_deep");
	ok(m != NULL, "history_deep loads");
	if (m) {
		s = st(m, "h");
		ok(s && s->kind == SM_ST_HISTORY_DEEP && s->ntransitions == 1 &&
		    s->transitions[0]->targets[0] == sm_machine_state_index(m, "w2"),
		    "deep history with default transition");
		s = st(m, "work");
		ok(s && s->kind == SM_ST_COMPOUND && s->ninitial_targets == 1 &&
		    s->initial_targets[0] == sm_machine_state_index(m, "w1"),
		    "default initial is the first child state (not the history)");
		is_int(st(m, "w11")->depth, 3, "depth of w11");
		sm_machine_free(m);
	}
	m = load_case("valid", "invoke_child");
	ok(m != NULL, "invoke_child loads");
	if (m) {
		const struct sm_state *a = &m->states[1];

		ok(strncmp(a->id, "__s", 3) == 0, "anonymous state gets a generated id (%s)", a->id);
		ok(a->ninvokes == 1 && a->invokes[0].child != NULL &&
		    a->invokes[0].kind == SM_INV_SCXML &&
		    sm_machine_state_index(a->invokes[0].child, "f") == 1,
		    "src= child loaded as its own machine");
		ok(a->invokes[0].src && strstr(a->invokes[0].src, "invoke_child/child.scxml"),
		    "src resolved beside the parent file");
		s = st(m, "second");
		ok(s && s->ninvokes == 1 && s->invokes[0].child &&
		    s->invokes[0].autoforward &&
		    sm_machine_state_index(s->invokes[0].child, "y") > 0 &&
		    s->invokes[0].child->doc_len > 0,
		    "inline <content> child machine, autoforward");
		if (s && s->ninvokes == 1 && s->invokes[0].child) {
			const struct sm_machine *c = s->invokes[0].child;
			unsigned char cmd[32];
			unsigned int clen = 32;

			EVP_Digest(c->doc, c->doc_len, cmd, &clen, EVP_sha256(), NULL);
			ok(memcmp(cmd, c->sha256, 32) == 0 && memcmp(c->sha256, m->sha256, 32) != 0 &&
			    strncmp(c->doc, "<scxml", 6) == 0,
			    "inline child: its own document bytes and hash");
		}
		sm_machine_free(m);
	}

	/* W3C: initial with several ids, <initial> element */
	{
		char path[4096];
		struct sm_diags d = { 0 };

		snprintf(path, sizeof path, "%s/testdata/w3c-scxml/null/test576.scxml", shared_dir);
		m = NULL;
		sm_machine_load_file(path, NULL, &m, &d);
		ok(m && m->states[0].ninitial_targets == 2 &&
		    m->states[0].initial_targets[0] == sm_machine_state_index(m, "s11p112") &&
		    m->states[0].initial_targets[1] == sm_machine_state_index(m, "s11p122"),
		    "test576: scxml initial with two ids");
		sm_machine_free(m);
		sm_diags_free(&d);
		snprintf(path, sizeof path, "%s/testdata/w3c-scxml/null/test412.scxml", shared_dir);
		m = NULL;
		sm_machine_load_file(path, NULL, &m, &d);
		s = m ? st(m, "s01") : NULL;
		ok(s && s->initial > 0 && m->states[s->initial].kind == SM_ST_INITIAL &&
		    m->states[s->initial].ntransitions == 1 &&
		    m->states[s->initial].transitions[0]->body != NULL,
		    "test412: <initial> pseudo-state with content");
		sm_machine_free(m);
		sm_diags_free(&d);
	}
}

static void
test_graph(void)
{
	struct sm_machine *m = load_case("valid", "history_deep");
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	ok(m != NULL, "graph: machine loads");
	if (m == NULL)
		return;
	f = open_memstream(&out, &len);
	is_int(sm_machine_graph_dot(m, f), 0, "graph: writes");
	fclose(f);
	ok(strncmp(out, "digraph ", 8) == 0, "graph: a digraph");
	ok(strstr(out, "subgraph \"cluster_work\"") != NULL, "graph: compound as cluster");
	ok(strstr(out, "\"w11\" [shape=box") != NULL, "graph: atomic node");
	ok(strstr(out, "\"end\" [shape=doublecircle") != NULL, "graph: final node");
	ok(strstr(out, "\"h\" [shape=circle, label=\"H*\"") != NULL, "graph: deep history node");
	ok(strstr(out, "\"w11\" -> \"w12\" [label=\"n\"]") != NULL, "graph: labelled edge");
	ok(strstr(out, "\"work#anchor\" -> \"paused\" [label=\"pause\", ltail=\"cluster_work\"]") != NULL,
	    "graph: edge from a cluster");
	ok(strstr(out, "\"__root#initial\" -> \"work#anchor\" [label=\"initial\", lhead=\"cluster_work\"]") != NULL,
	    "graph: initial marked");
	ok(strstr(out, "\"work#initial\" -> \"w1#anchor\"") != NULL, "graph: nested initial marked");
	free(out);
	sm_machine_free(m);

	{
		static const char doc[] =
		    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" datamodel=\"task\">"
		    "<state id='a\"b'><transition event='go' cond='task.x == \"q\"' target='f'/></state>"
		    "<final id='f'/></scxml>";
		struct sm_diags d = { 0 };

		m = NULL;
		sm_machine_load_memory(doc, sizeof doc - 1, NULL, NULL, NULL, &m, &d);
		ok(m == NULL, "id with a quote is refused (NMTOKEN)");
		sm_machine_free(m);
		sm_diags_free(&d);
	}
	{
		static const char doc[] =
		    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" datamodel=\"task\">"
		    "<state id='a'><transition event='go' cond='task.x == \"q\\\\\"' target='f'/></state>"
		    "<final id='f'/></scxml>";
		struct sm_diags d = { 0 };

		m = NULL;
		sm_machine_load_memory(doc, sizeof doc - 1, NULL, NULL, NULL, &m, &d);
		ok(m != NULL, "cond with quotes loads");
		if (m) {
			f = open_memstream(&out, &len);
			sm_machine_graph_dot(m, f);
			fclose(f);
			if (!ok(strstr(out, "[label=\"go [task.x == \\\"q\\\\\\\\\\\"]\"]") != NULL,
			    "graph: quotes and backslashes escaped in labels"))
				diag("%s", out);
			free(out);
		} else
			dump_diags(&d);
		sm_machine_free(m);
		sm_diags_free(&d);
	}
}

/* The DOT output of real machines is accepted by Graphviz itself (when
 * `dot` is installed): every valid case, machines/task.scxml and the W3C
 * files, rendered without a warning. */
static void
test_graph_renders(void)
{
	char path[4400], dotf[] = "/tmp/test_load_dot.XXXXXX", cmd[4600];
	const char *dirs[2];
	size_t n, i, d, count = 0;
	int fd, bad = 0;

	if (system("dot -V >/dev/null 2>&1") != 0) {
		skip("graphviz 'dot' is not installed");
		return;
	}
	if ((fd = mkstemp(dotf)) < 0) {
		ok(0, "temp file");
		return;
	}
	close(fd);
	snprintf(path, sizeof path, "%s/test/load/valid", src_dir);
	dirs[0] = strdup(path);
	snprintf(path, sizeof path, "%s/testdata/w3c-scxml/null", shared_dir);
	dirs[1] = strdup(path);
	for (d = 0; d < 3; d++) {
		char **names = d < 2 ? list_dir(dirs[d], &n) : NULL;

		if (d == 2)
			n = 1;
		for (i = 0; i < n; i++) {
			struct sm_diags dg = { 0 };
			struct sm_machine *m = NULL;
			FILE *f;

			if (d == 0)
				snprintf(path, sizeof path, "%s/%s/machine.scxml", dirs[d], names[i]);
			else if (d == 1)
				snprintf(path, sizeof path, "%s/%s", dirs[d], names[i]);
			else
				snprintf(path, sizeof path, "%s/machines/task.scxml", src_dir);
			if (names)
				free(names[i]);
			if (strstr(path, ".scxml") == NULL ||
			    sm_machine_load_file(path, &opts, &m, &dg) != 0) {
				sm_diags_free(&dg);
				continue;
			}
			f = fopen(dotf, "w");
			sm_machine_graph_dot(m, f);
			fclose(f);
			snprintf(cmd, sizeof cmd, "dot -Tsvg -o /dev/null %s 2>&1 | grep -q .", dotf);
			if (system(cmd) == 0) { /* dot said something */
				bad++;
				diag("dot complains about the graph of %s", path);
			}
			count++;
			sm_machine_free(m);
			sm_diags_free(&dg);
		}
		free(names);
	}
	ok(count >= 40 && bad == 0, "graphviz renders the graphs of %zu machines "
	    "without a word (%d complaints)", count, bad);
	unlink(dotf);
	free((void *)dirs[0]);
	free((void *)dirs[1]);
}

/* Diagnostics come sorted by line, schema messages about attributes are
 * replaced by the loader's own, at most one schema message per line. */
static void
test_diag_order(void)
{
	char path[4096];
	struct sm_diags d = { 0 };
	struct sm_machine *m = NULL;
	size_t i;
	int sorted = 1, attr_dup = 0;

	snprintf(path, sizeof path, "%s/test/load/invalid/schema_and_loader/machine.scxml",
	    src_dir);
	sm_machine_load_file(path, NULL, &m, &d);
	for (i = 1; i < d.n; i++)
		if (strcmp(d.v[i].file, d.v[i - 1].file) == 0 && d.v[i].line < d.v[i - 1].line)
			sorted = 0;
	for (i = 0; i < d.n; i++)
		if (strstr(d.v[i].msg, "failed to validate attributes"))
			attr_dup = 1;
	ok(d.n > 5 && sorted, "diagnostics sorted by line");
	ok(!attr_dup, "schema attribute messages replaced by the loader's");
	sm_diags_free(&d);
}

/* A machine that invokes itself ten times per level would load 10^8
 * documents without the per-load document limit. */
static void
test_invoke_fanout(void)
{
	char dir[] = "/tmp/test_load_fanout.XXXXXX", path[256];
	struct sm_diags d = { 0 };
	struct sm_machine *m = NULL;
	struct timespec t0, t1;
	FILE *f;
	int rc, i;

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(path, sizeof path, "%s/m.scxml", dir);
	f = fopen(path, "w");
	fputs("<scxml xmlns=\"http://www.w3.org/2005/07/scxml\"><state id=\"a\">\n", f);
	for (i = 0; i < 10; i++)
		fputs("<invoke src=\"m.scxml\"/>\n", f);
	fputs("<transition event=\"done.invoke\" target=\"f\"/></state><final id=\"f\"/></scxml>\n", f);
	fclose(f);
	/* the process's CPU time, not the wall clock: a loaded machine (CI,
	 * other builds) slows the wall clock, not the work done; 10^8 loads
	 * would take hours of CPU */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	rc = sm_machine_load_file(path, NULL, &m, &d);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	ok(rc < 0 && m == NULL, "self-invoking fan-out refused");
	ok(t1.tv_sec - t0.tv_sec < 30, "and stopped early (%ld s of CPU)",
	    (long)(t1.tv_sec - t0.tv_sec));
	ok(has_diag(&d, "m.scxml:2: <invoke src=\"m.scxml\">: child documents nested deeper than 8"),
	    "depth limit reported");
	sm_diags_free(&d);
	unlink(path);
	rmdir(dir);
}

/* All documents of one load together: at most 4 x max_bytes, although
 * each child file is under max_bytes. */
static void
test_total_bytes(void)
{
	char dir[] = "/tmp/test_load_total.XXXXXX", path[256];
	struct sm_load_opts o = { 4096, 0, NULL, NULL, 0 };
	struct sm_diags d = { 0 };
	struct sm_machine *m = NULL;
	FILE *f;
	int rc, i, j;

	ok(mkdtemp(dir) != NULL, "temp dir");
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof path, "%s/c%d.scxml", dir, i);
		f = fopen(path, "w");
		fputs("<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">\n", f);
		for (j = 0; j < 140; j++) /* about 3500 bytes */
			fprintf(f, "<!-- padding padding -->\n");
		fputs("<final id=\"f\"/></scxml>\n", f);
		fclose(f);
	}
	snprintf(path, sizeof path, "%s/m.scxml", dir);
	f = fopen(path, "w");
	fputs("<scxml xmlns=\"http://www.w3.org/2005/07/scxml\"><state id=\"a\">\n", f);
	for (i = 0; i < 5; i++)
		fprintf(f, "<invoke src=\"c%d.scxml\"/>\n", i);
	fputs("<transition event=\"done.invoke\" target=\"f\"/></state><final id=\"f\"/></scxml>\n", f);
	fclose(f);
	rc = sm_machine_load_file(path, &o, &m, &d);
	ok(rc == SM_ETOOBIG && m == NULL, "five 3.5 KiB children with max_bytes 4096: "
	    "refused (%s)", sm_errname(rc));
	if (!ok(has_diag(&d, "m.scxml:6: <invoke src=\"c4.scxml\">: the machine and its "
	    "child documents exceed 4 times the size limit together"),
	    "the fifth child is the one over the total"))
		dump_diags(&d);
	sm_diags_free(&d);
	o.max_bytes = 0;
	rc = sm_machine_load_file(path, &o, &m, &d);
	ok(rc == 0 && m != NULL, "with the default limit: loads");
	sm_machine_free(m);
	sm_diags_free(&d);
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof path, "%s/c%d.scxml", dir, i);
		unlink(path);
	}
	snprintf(path, sizeof path, "%s/m.scxml", dir);
	unlink(path);
	rmdir(dir);
}

/* History defaults in a circle: loads (the interpreter raises
 * error.execution), with a warning. */
static void
test_pseudo_cycle(void)
{
	static const char doc[] =
	    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" initial=\"s\">\n"
	    "<state id=\"s\" initial=\"a\">\n"
	    "<history id=\"h1\"><transition target=\"h2\"/></history>\n"
	    "<history id=\"h2\"><transition target=\"h1\"/></history>\n"
	    "<state id=\"a\"><transition event=\"x\" target=\"h1\"/>"
	    "<transition event=\"y\" target=\"f\"/></state>\n"
	    "</state><final id=\"f\"/></scxml>\n";
	struct sm_diags d = { 0 };
	struct sm_machine *m = NULL;
	int rc;

	rc = sm_machine_load_memory(doc, sizeof doc - 1, "loop.scxml", NULL, NULL, &m, &d);
	ok(rc == 0 && m != NULL, "history defaults in a circle: loads");
	ok(d.n == 1 && d.v[0].warning && has_diag(&d, "loop.scxml:4: warning: the "
	    "default transition of 'h2' targets 'h1', whose default leads back here"),
	    "with a warning");
	sm_machine_free(m);
	sm_diags_free(&d);
}

/* A file with hundreds of errors: at most SM_DIAGS_MAX, then one line
 * that says so, last. */
static void
test_diag_cap(void)
{
	size_t cap = 1u << 18, len, i;
	char *buf = malloc(cap);
	struct sm_diags d = { 0 };
	struct sm_machine *m = NULL;
	int rc;

	len = (size_t)snprintf(buf, cap, "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">\n<state id=\"a\">\n");
	for (i = 0; i < 300; i++)
		len += (size_t)snprintf(buf + len, cap - len,
		    "<transition event=\"e\" target=\"missing%zu\"/>\n", i);
	len += (size_t)snprintf(buf + len, cap - len, "</state><final id=\"f\"/></scxml>\n");
	rc = sm_machine_load_memory(buf, len, "many.scxml", NULL, NULL, &m, &d);
	ok(rc == SM_EINVALID && m == NULL, "300 errors: refused");
	is_int(d.n, SM_DIAGS_MAX + 1, "diagnostics capped");
	ok(d.n > 0 && strstr(d.v[d.n - 1].msg, "too many errors") != NULL,
	    "last diagnostic says there were too many");
	ok(d.n > 1 && strstr(d.v[0].msg, "missing0") != NULL && d.v[0].line == 3,
	    "first diagnostic is the first error");
	sm_diags_free(&d);
	free(buf);
}

/* A machine near the 1 MiB limit with 15000 states chained against
 * document order loads quickly (the checks are linear, the id lookup
 * logarithmic). */
static void
test_big_machine(void)
{
	size_t cap = 1u << 20, len, n = 15000, i;
	char *buf = malloc(cap);
	struct sm_diags d = { 0 };
	struct sm_machine *m = NULL;
	struct timespec t0, t1;
	double secs;
	int rc;

	len = (size_t)snprintf(buf, cap, "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" initial=\"s0\">\n");
	for (i = n; i-- > 0;)
		len += (size_t)snprintf(buf + len, cap - len,
		    "<state id=\"s%zu\"><transition event=\"e\" target=\"%s%zu\"/></state>\n",
		    i, i + 1 < n ? "s" : "f", i + 1 < n ? i + 1 : 0);
	len += (size_t)snprintf(buf + len, cap - len, "<final id=\"f0\"/></scxml>\n");
	ok(len < cap, "big machine is %zu bytes", len);
	/* CPU time (see test_invoke_fanout): a guard against work that grows
	 * with the square of the states, not a benchmark (bench/bench_engine) */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	rc = sm_machine_load_memory(buf, len, "big.scxml", NULL, NULL, &m, &d);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ok(rc == 0 && m && m->nstates == n + 2, "big machine loads (%zu states)",
	    m ? m->nstates : 0);
	diag("loaded %zu bytes, %zu states in %.3f s of CPU", len, n + 2, secs);
	ok(secs < 30.0, "big machine loads in under 30 s of CPU (%.3f s)", secs);
	sm_machine_free(m);
	sm_diags_free(&d);
	free(buf);
}

/* A schema message is left out where the loader says the same about the
 * line (and libxml2's raw wording never reaches the user there). */
static void
test_schema_dedup(void)
{
	static const struct { const char *kase; int line; } quiet[] = {
		{ "invoke_problems", 7 },   /* "expecting an element , got nothing" */
		{ "invoke_problems", 11 },  /* "did not expect text in element content" */
		{ "schema_messages", 6 },
	};
	size_t i, k;

	for (i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
		char path[4096];
		struct sm_diags d = { 0 };
		struct sm_machine *m = NULL;
		int schema = 0, mine = 0;

		snprintf(path, sizeof path, "%s/test/load/invalid/%s/machine.scxml",
		    src_dir, quiet[i].kase);
		sm_machine_load_file(path, &opts, &m, &d);
		for (k = 0; k < d.n; k++) {
			if (d.v[k].line != quiet[i].line || d.v[k].warning)
				continue;
			if (strncmp(d.v[k].msg, "schema:", 7) == 0)
				schema++;
			else
				mine++;
		}
		if (!ok(mine == 1 && schema == 0, "%s line %d: the loader's message "
		    "only (%d of ours, %d schema)", quiet[i].kase, quiet[i].line,
		    mine, schema))
			dump_diags(&d);
		sm_diags_free(&d);
		sm_machine_free(m);
	}
}

/* A machine whose state invokes an inline child machine, whose state
 * invokes one, ... `levels` deep; returns the length written to buf. */
static size_t
inline_chain(char *buf, size_t cap, int levels)
{
	size_t len = 0;
	int i;

	for (i = 0; i <= levels; i++)
		len += (size_t)snprintf(buf + len, cap - len,
		    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">\n"
		    "<state id=\"s%d\"><transition event=\"done.invoke\" target=\"f\"/>%s",
		    i, i < levels ? "<invoke><content>" : "");
	for (i = levels; i >= 0; i--)
		len += (size_t)snprintf(buf + len, cap - len, "%s</state><final id=\"f\"/></scxml>\n",
		    i < levels ? "</content></invoke>" : "");
	return len;
}

/* Inline child machines count against the same limits as src= files:
 * nesting depth and documents per load. */
static void
test_content_limits(void)
{
	size_t cap = 1u << 16, len = 0;
	char *buf = malloc(cap);
	struct sm_diags d = { 0 };
	struct sm_machine *m = NULL;
	int i, rc, levels = SM_LOAD_MAX_INVOKE_DEPTH + 1;

	/* a chain of inline children, one level deeper than allowed */
	len = inline_chain(buf, cap, levels);
	rc = sm_machine_load_memory(buf, len, "deep.scxml", NULL, NULL, &m, &d);
	ok(rc == SM_EINVALID && m == NULL, "inline children %d deep: refused (%s)",
	    levels, sm_errname(rc));
	if (!ok(has_diag(&d, "<invoke>: child machines nested deeper than 8"),
	    "says the nesting is too deep"))
		dump_diags(&d);
	sm_diags_free(&d);
	sm_machine_free(m);

	/* one level less loads */
	levels = SM_LOAD_MAX_INVOKE_DEPTH;
	len = inline_chain(buf, cap, levels);
	m = NULL;
	rc = sm_machine_load_memory(buf, len, "deep.scxml", NULL, NULL, &m, &d);
	if (!ok(rc == 0 && m != NULL, "inline children %d deep: loads", levels))
		dump_diags(&d);
	sm_diags_free(&d);
	sm_machine_free(m);

	/* more inline children side by side than documents per load */
	len = (size_t)snprintf(buf, cap, "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">\n"
	    "<state id=\"a\"><transition event=\"done.invoke\" target=\"f\"/>\n");
	for (i = 0; i < SM_LOAD_MAX_DOCUMENTS; i++)
		len += (size_t)snprintf(buf + len, cap - len,
		    "<invoke><content><scxml xmlns=\"http://www.w3.org/2005/07/scxml\">"
		    "<final id=\"c\"/></scxml></content></invoke>\n");
	len += (size_t)snprintf(buf + len, cap - len, "</state><final id=\"f\"/></scxml>\n");
	m = NULL;
	rc = sm_machine_load_memory(buf, len, "wide.scxml", NULL, NULL, &m, &d);
	ok(rc == SM_EINVALID && m == NULL, "%d inline children: refused", SM_LOAD_MAX_DOCUMENTS);
	if (!ok(has_diag(&d, "wide.scxml:66: <invoke>: more than 64 documents in one machine"),
	    "says there are too many documents, with the line"))
		dump_diags(&d);
	sm_diags_free(&d);
	sm_machine_free(m);
	free(buf);
}

/* A FIFO or a directory where a machine file should be: refused at once
 * (opening a FIFO for reading would wait for a writer forever). */
static void
test_not_regular(void)
{
	char dir[] = "/tmp/test_load_fifo.XXXXXX", fifo[256], parent[256];
	struct sm_diags d = { 0 };
	struct sm_machine *m = NULL;
	FILE *f;
	int rc;

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(fifo, sizeof fifo, "%s/fifo.scxml", dir);
	ok(mkfifo(fifo, 0600) == 0, "made a FIFO");
	alarm(20); /* a hang fails the test instead of stalling it */
	rc = sm_machine_load_file(fifo, NULL, &m, &d);
	ok(rc < 0 && m == NULL && has_diag(&d, "fifo.scxml: not a regular file"),
	    "a FIFO as the machine file: refused without waiting (%s)", sm_errname(rc));
	sm_diags_free(&d);
	snprintf(parent, sizeof parent, "%s/m.scxml", dir);
	f = fopen(parent, "w");
	fputs("<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">\n"
	    "<state id=\"a\"><invoke src=\"fifo.scxml\"/>"
	    "<transition event=\"done.invoke\" target=\"f\"/></state>\n"
	    "<final id=\"f\"/></scxml>\n", f);
	fclose(f);
	rc = sm_machine_load_file(parent, NULL, &m, &d);
	ok(rc < 0 && m == NULL && has_diag(&d, "m.scxml:2: <invoke src=\"fifo.scxml\">:"),
	    "a FIFO as a child file: refused without waiting");
	sm_diags_free(&d);
	rc = sm_machine_load_file(dir, NULL, &m, &d);
	ok(rc < 0 && m == NULL && has_diag(&d, "not a regular file"),
	    "a directory: refused (%s)", sm_errname(rc));
	sm_diags_free(&d);
	alarm(0);
	unlink(parent);
	unlink(fifo);
	rmdir(dir);
}

/* Several targets are checked pairwise, so a list is bounded: 64 regions
 * of a parallel can be entered by one transition, 65 are refused (also
 * when the 65th is the one that conflicts). */
static void
test_many_targets(void)
{
	size_t cap = 1u << 16, len;
	char *buf = malloc(cap);
	int n, i, rc;

	for (n = 64; n <= 65; n++) {
		struct sm_diags d = { 0 };
		struct sm_machine *m = NULL;

		len = (size_t)snprintf(buf, cap, "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">\n"
		    "<state id=\"a\"><transition event=\"go\" target=\"");
		for (i = 0; i < n; i++)
			len += (size_t)snprintf(buf + len, cap - len, "%sr%d", i ? " " : "",
			    i == 64 ? 0 : i); /* the 65th names r0 again */
		len += (size_t)snprintf(buf + len, cap - len, "\"/></state>\n<parallel id=\"p\">");
		for (i = 0; i < 64; i++)
			len += (size_t)snprintf(buf + len, cap - len,
			    "<state id=\"r%d\"><transition event=\"x\" target=\"f\"/></state>", i);
		len += (size_t)snprintf(buf + len, cap - len, "</parallel>\n<final id=\"f\"/></scxml>\n");
		rc = sm_machine_load_memory(buf, len, "targets.scxml", NULL, NULL, &m, &d);
		if (n == 64) {
			if (!ok(rc == 0 && m != NULL && m->states[1].transitions[0]->ntargets == 64,
			    "64 targets in 64 regions: loads"))
				dump_diags(&d);
		} else {
			ok(rc == SM_EINVALID && m == NULL, "65 targets: refused");
			if (!ok(has_diag(&d, "targets.scxml:2: 65 transition targets: at most 64"),
			    "says how many are allowed"))
				dump_diags(&d);
		}
		sm_diags_free(&d);
		sm_machine_free(m);
	}
	free(buf);
}

/* Does the loader have an error about `line` of the file `path`? */
static int
has_error_at(const struct sm_diags *d, const char *path, int line)
{
	size_t j;

	for (j = 0; j < d->n; j++)
		if (!d->v[j].warning && d->v[j].line == line &&
		    strcmp(d->v[j].file, path) == 0)
			return 1;
	return 0;
}

/* The schema in docs/ is what the loader checks: for every case folder
 * and W3C file, xmllint with docs/scxml-profile.rng accepts the file
 * exactly when the loader has no "schema:" message, and every line
 * xmllint complains about has an error of the loader (its own message
 * may stand in for the schema's).  Files the loader refuses before
 * validation (malformed, DOCTYPE, not SCXML, too deep) are left out.
 * Skipped without xmllint. */
static void
test_schema_xmllint(void)
{
	char dir[4096], path[4400], cmd[9000], line[8192];
	static const char *const kinds[] = { "invalid", "valid" };
	size_t n, i, k, checked = 0;
	int agree = 1;

	if (system("xmllint --version >/dev/null 2>&1") != 0) {
		skip("xmllint is not installed");
		return;
	}
	for (k = 0; k < 3; k++) {
		char **names;

		if (k < 2)
			snprintf(dir, sizeof dir, "%s/test/load/%s", src_dir, kinds[k]);
		else
			snprintf(dir, sizeof dir, "%s/testdata/w3c-scxml/null", shared_dir);
		names = list_dir(dir, &n);
		for (i = 0; i < n; i++) {
			struct sm_diags d = { 0 };
			struct sm_machine *m = NULL;
			size_t j, plen;
			int schema = 0, early = 0, lint = 1;
			FILE *p;

			if (k < 2)
				snprintf(path, sizeof path, "%s/%s/machine.scxml", dir, names[i]);
			else
				snprintf(path, sizeof path, "%s/%s", dir, names[i]);
			free(names[i]);
			if (strstr(path, ".scxml") == NULL)
				continue;
			sm_machine_load_file(path, &opts, &m, &d);
			sm_machine_free(m);
			for (j = 0; j < d.n; j++) {
				schema |= strncmp(d.v[j].msg, "schema:", 7) == 0;
				early |= strstr(d.v[j].msg, "malformed xml") != NULL ||
				    strstr(d.v[j].msg, "document type declarations") != NULL ||
				    strstr(d.v[j].msg, "root element is") != NULL ||
				    strstr(d.v[j].msg, "is in namespace") != NULL ||
				    strstr(d.v[j].msg, "nested deeper than") != NULL;
			}
			if (early) {
				sm_diags_free(&d);
				continue;
			}
			snprintf(cmd, sizeof cmd, "xmllint --noout --nonet --relaxng "
			    "'%s/docs/scxml-profile.rng' '%s' 2>&1", src_dir, path);
			p = popen(cmd, "r");
			plen = strlen(path);
			while (p && fgets(line, sizeof line, p) != NULL) {
				int ln;

				if (strncmp(line, path, plen) != 0 || line[plen] != ':' ||
				    strstr(line, "validity error") == NULL)
					continue;
				lint = 0;
				ln = atoi(line + plen + 1);
				if (!has_error_at(&d, path, ln)) {
					agree = 0;
					diag("%s:%d: xmllint complains, the loader says nothing "
					    "about the line", path, ln);
				}
			}
			if (p == NULL || pclose(p) == -1)
				agree = 0;
			checked++;
			if (lint && schema) {
				agree = 0;
				diag("%s: xmllint accepts, the loader has schema errors", path);
			}
			if (!lint && !schema && d.n == 0)
				agree = 0;
			sm_diags_free(&d);
		}
		free(names);
	}
	ok(checked >= 80 && agree, "xmllint and the loader agree on the schema "
	    "for %zu files", checked);
}

static void
test_schema_in_sync(void)
{
	char path[4096];
	char *text;

	snprintf(path, sizeof path, "%s/docs/scxml-profile.rng", src_dir);
	text = slurp(path, NULL);
	ok(text != NULL, "docs/scxml-profile.rng exists");
	ok(text && strcmp(text, sm_machine_schema_text()) == 0,
	    "embedded schema equals docs/scxml-profile.rng (regenerate "
	    "engine/sm_load_schema.c)");
	free(text);
}

static void
test_memory_api(void)
{
	static const char doc[] =
	    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">\n"
	    "<state id=\"a\"><invoke src=\"child.scxml\"/>"
	    "<transition event=\"done.invoke\" target=\"f\"/></state>\n"
	    "<final id=\"f\"/></scxml>";
	struct sm_diags d = { 0 };
	struct sm_machine *m = NULL;
	int rc;

	rc = sm_machine_load_memory(doc, sizeof doc - 1, "mem.scxml", NULL, NULL, &m, &d);
	ok(rc < 0 && has_diag(&d, "mem.scxml:2: <invoke src=\"child.scxml\">: this "
	    "document was loaded from memory without a base directory"),
	    "memory without base_dir: src refused");
	sm_diags_free(&d);
	rc = sm_machine_load_memory(doc, sizeof doc - 1, "mem.scxml", NULL, NULL, &m, NULL);
	ok(rc < 0 && m == NULL, "NULL diags allowed, still refused");
	{
		char dir[4096];

		snprintf(dir, sizeof dir, "%s/test/load/valid/invoke_child", src_dir);
		rc = sm_machine_load_memory(doc, sizeof doc - 1, "mem.scxml", dir, NULL, &m, &d);
		ok(rc == 0 && m && m->states[1].invokes[0].child, "memory with base_dir loads src=");
		ok(m && strcmp(m->path, "mem.scxml") == 0, "path is the given name");
		sm_machine_free(m);
		sm_diags_free(&d);
	}
	is_int(sm_machine_load_memory(NULL, 5, NULL, NULL, NULL, &m, &d), SM_EINVAL,
	    "NULL buffer with a length: SM_EINVAL");
}

int
main(void)
{
	src_dir = getenv("SM_SOURCE_DIR");
	shared_dir = getenv("SM_SHARED_DIR");
	plan_no_plan();
	if (src_dir == NULL || shared_dir == NULL) {
		ok(0, "SM_SOURCE_DIR and SM_SHARED_DIR are set (run through ctest)");
		return done_testing();
	}
	test_schema_in_sync();
	test_schema_xmllint();
	test_invalid_cases();
	test_valid_cases();
	test_warn_cases();
	test_w3c();
	test_hostile();
	test_model();
	test_graph();
	test_graph_renders();
	test_memory_api();
	test_diag_order();
	test_big_machine();
	test_diag_cap();
	test_invoke_fanout();
	test_pseudo_cycle();
	test_schema_dedup();
	test_content_limits();
	test_not_regular();
	test_many_targets();
	test_total_bytes();
	return done_testing();
}
