/*
 * sm_expr.c - lexer, parser and evaluator of the task datamodel's
 * expression language (see sm_expr.h and docs/expressions.md).
 *
 * Shape: a hand-written lexer over the NUL-terminated source, a recursive
 * descent parser that builds a small tree, and a tree-walking evaluator.
 * Recursion is bounded everywhere: the parser counts nesting (parentheses,
 * unary operators, brackets, calls) against SM_EXPR_MAX_DEPTH, and chains
 * of one precedence level (a + b + c, a.b.c[0]) are flat n-ary nodes, so
 * the tree is at most a small constant times that depth high.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, strndup (CMake defines it for the project) */
#endif
#include "sm_expr.h"
#include "sm_text.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Tree                                                                */

enum node_kind {
	N_LIT,    /* lit */
	N_ROOT,   /* name: a top-level name of the datamodel */
	N_PATH,   /* kids[0] base, steps */
	N_NOT,    /* kids[0] */
	N_NEG,    /* kids[0] */
	N_AND,    /* kids[0..n) */
	N_OR,     /* kids[0..n) */
	N_CHAIN,  /* kids[0] ops[0] kids[1] ops[1] kids[2] ... (one level) */
	N_CALL    /* fn, kids = args; In(): name = state id */
};

enum op {
	OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
	OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD
};

enum fn {
	FN_IN, FN_EXISTS, FN_LEN, FN_STR, FN_NUM, FN_CONTAINS, FN_LOWER,
	FN_UPPER
};

static const struct {
	const char *name;
	enum fn fn;
	int nargs;
} fn_table[] = {
	{ "In", FN_IN, 1 },
	{ "exists", FN_EXISTS, 1 },
	{ "len", FN_LEN, 1 },
	{ "str", FN_STR, 1 },
	{ "num", FN_NUM, 1 },
	{ "contains", FN_CONTAINS, 2 },
	{ "lower", FN_LOWER, 1 },
	{ "upper", FN_UPPER, 1 },
};

struct step {
	char *name;          /* .name, or NULL with index */
	struct node *index;  /* [expr] */
	int col;
};

struct node {
	enum node_kind kind;
	int col;
	json_t *lit;
	char *name;
	enum fn fn;
	struct node **kids;
	size_t nkids;
	enum op *ops;        /* N_CHAIN: nkids - 1 operators */
	int *opcols;
	struct step *steps;  /* N_PATH */
	size_t nsteps;
};

struct sm_expr {
	struct node *root;
};

static void
node_free(struct node *n)
{
	size_t i;

	if (n == NULL)
		return;
	json_decref(n->lit);
	free(n->name);
	for (i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->ops);
	free(n->opcols);
	for (i = 0; i < n->nsteps; i++) {
		free(n->steps[i].name);
		node_free(n->steps[i].index);
	}
	free(n->steps);
	free(n);
}

/* ------------------------------------------------------------------ */
/* Lexer                                                               */

enum tok {
	T_EOF, T_NUM, T_STR, T_IDENT, T_LP, T_RP, T_LB, T_RB, T_DOT, T_COMMA,
	T_OR, T_AND, T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_PLUS, T_MINUS,
	T_STAR, T_SLASH, T_PCT, T_NOT
};

struct lexer {
	const char *src;
	size_t len;
	size_t pos;
	struct sm_error *err;
	/* current token */
	enum tok tok;
	size_t start;        /* byte offset of the token */
	size_t tlen;         /* source length of the token */
	char *str;           /* T_STR: decoded bytes (owned), NUL-terminated */
	size_t slen;
	int depth;
};

static int
lex_col(const struct lexer *lx, size_t off)
{
	(void)lx;
	return off > INT_MAX - 1 ? INT_MAX : (int)off + 1;
}

static int
lex_fail(struct lexer *lx, size_t off, const char *what)
{
	return sm_error_set(lx->err, SM_EEXPR, "column %d: %s", lex_col(lx, off),
	    what);
}

static int
is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_ident_char(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static const char *
tok_name(enum tok t)
{
	switch (t) {
	case T_EOF: return "the end of the expression";
	case T_NUM: return "a number";
	case T_STR: return "a string";
	case T_IDENT: return "a name";
	case T_LP: return "'('";
	case T_RP: return "')'";
	case T_LB: return "'['";
	case T_RB: return "']'";
	case T_DOT: return "'.'";
	case T_COMMA: return "','";
	case T_OR: return "'||'";
	case T_AND: return "'&&'";
	case T_EQ: return "'=='";
	case T_NE: return "'!='";
	case T_LT: return "'<'";
	case T_LE: return "'<='";
	case T_GT: return "'>'";
	case T_GE: return "'>='";
	case T_PLUS: return "'+'";
	case T_MINUS: return "'-'";
	case T_STAR: return "'*'";
	case T_SLASH: return "'/'";
	case T_PCT: return "'%'";
	case T_NOT: return "'!'";
	}
	return "a token";
}

static size_t
utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int
lex_hex4(struct lexer *lx, size_t at, uint32_t *cp)
{
	int i, h;

	*cp = 0;
	for (i = 0; i < 4; i++) {
		if (at + (size_t)i >= lx->len ||
		    (h = sm_hexval((unsigned char)lx->src[at + (size_t)i])) < 0)
			return lex_fail(lx, at - 2,
			    "'\\u' needs four hex digits, as in '\\u00e9'");
		*cp = (*cp << 4) | (uint32_t)h;
	}
	return 0;
}

/* Decode a quoted string starting at lx->pos (the quote). */
static int
lex_string(struct lexer *lx)
{
	const unsigned char *s = (const unsigned char *)lx->src;
	char quote = lx->src[lx->pos];
	size_t p = lx->pos + 1, o = 0, n;
	uint32_t cp, lo;
	char *buf;
	int rc;

	/* Decoded output is never longer than the source. */
	buf = malloc(lx->len - lx->pos + 1);
	if (buf == NULL)
		return sm_error_set(lx->err, SM_ENOMEM, "column %d: out of memory",
		    lex_col(lx, lx->pos));
	for (;;) {
		if (p >= lx->len) {
			rc = lex_fail(lx, lx->pos, "string is not terminated: "
			    "add the closing quote");
			goto fail;
		}
		if (s[p] == (unsigned char)quote) {
			p++;
			break;
		}
		if (s[p] == '\\') {
			if (p + 1 >= lx->len) {
				rc = lex_fail(lx, lx->pos, "string is not "
				    "terminated: add the closing quote");
				goto fail;
			}
			switch (s[p + 1]) {
			case '\\': buf[o++] = '\\'; p += 2; continue;
			case '\'': buf[o++] = '\''; p += 2; continue;
			case '"': buf[o++] = '"'; p += 2; continue;
			case 'n': buf[o++] = '\n'; p += 2; continue;
			case 't': buf[o++] = '\t'; p += 2; continue;
			case 'r': buf[o++] = '\r'; p += 2; continue;
			case '/': buf[o++] = '/'; p += 2; continue;
			case 'u':
				break;
			default:
				rc = lex_fail(lx, p, "unknown escape in string: "
				    "use \\\\ \\' \\\" \\n \\t \\r \\/ or \\uXXXX");
				goto fail;
			}
			if ((rc = lex_hex4(lx, p + 2, &cp)) != 0)
				goto fail;
			n = 6;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				rc = lex_fail(lx, p, "'\\u' escape is a lone low "
				    "surrogate");
				goto fail;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p + 7 >= lx->len || s[p + 6] != '\\' ||
				    s[p + 7] != 'u') {
					rc = lex_fail(lx, p, "'\\u' high surrogate "
					    "must be followed by a low surrogate "
					    "'\\uDC00'..'\\uDFFF'");
					goto fail;
				}
				if ((rc = lex_hex4(lx, p + 8, &lo)) != 0)
					goto fail;
				if (lo < 0xdc00 || lo > 0xdfff) {
					rc = lex_fail(lx, p + 6, "'\\u' high "
					    "surrogate must be followed by a low "
					    "surrogate '\\uDC00'..'\\uDFFF'");
					goto fail;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				n = 12;
			}
			if (cp == 0) {
				rc = lex_fail(lx, p, "'\\u0000' is not allowed in "
				    "a string");
				goto fail;
			}
			o += utf8_put(buf + o, cp);
			p += n;
			continue;
		}
		if (s[p] < 0x20 && s[p] != '\t') {
			rc = lex_fail(lx, p, "control character in string: "
			    "write it as an escape such as \\n");
			goto fail;
		}
		n = sm_utf8_seq(s + p, lx->len - p);
		if (n == 0) {
			rc = lex_fail(lx, p, "string is not valid UTF-8");
			goto fail;
		}
		memcpy(buf + o, s + p, n);
		o += n;
		p += n;
	}
	buf[o] = '\0';
	lx->str = buf;
	lx->slen = o;
	lx->tlen = p - lx->pos;
	lx->pos = p;
	return 0;
fail:
	free(buf);
	return rc;
}

static int
lex_number(struct lexer *lx)
{
	const char *s = lx->src;
	size_t p = lx->pos;
	char what[64];

	if (s[p] == '0' && is_digit((unsigned char)s[p + 1]))
		return lex_fail(lx, p, "number has a leading zero: write it "
		    "without one");
	while (is_digit((unsigned char)s[p]))
		p++;
	if (s[p] == '.') {
		p++;
		if (!is_digit((unsigned char)s[p]))
			return lex_fail(lx, p, "digit expected after the "
			    "decimal point");
		while (is_digit((unsigned char)s[p]))
			p++;
	}
	if (s[p] == 'e' || s[p] == 'E') {
		p++;
		if (s[p] == '+' || s[p] == '-')
			p++;
		if (!is_digit((unsigned char)s[p]))
			return lex_fail(lx, p, "digit expected in the exponent");
		while (is_digit((unsigned char)s[p]))
			p++;
	}
	if (is_ident_char((unsigned char)s[p]) || s[p] == '.') {
		snprintf(what, sizeof(what), "unexpected '%c' after a number",
		    s[p]);
		return lex_fail(lx, p, what);
	}
	lx->tlen = p - lx->pos;
	lx->pos = p;
	return 0;
}

/* Read the next token into lx. */
static int
lex_next(struct lexer *lx)
{
	const char *s = lx->src;
	char what[80];
	unsigned char c;

	free(lx->str);
	lx->str = NULL;
	while (lx->pos < lx->len && (s[lx->pos] == ' ' || s[lx->pos] == '\t' ||
	    s[lx->pos] == '\n' || s[lx->pos] == '\r'))
		lx->pos++;
	lx->start = lx->pos;
	lx->tlen = 1;
	if (lx->pos >= lx->len) {
		lx->tok = T_EOF;
		lx->tlen = 0;
		return 0;
	}
	c = (unsigned char)s[lx->pos];
	if (is_ident_start(c)) {
		while (lx->pos < lx->len && is_ident_char((unsigned char)s[lx->pos]))
			lx->pos++;
		lx->tok = T_IDENT;
		lx->tlen = lx->pos - lx->start;
		return 0;
	}
	if (is_digit(c)) {
		lx->tok = T_NUM;
		return lex_number(lx);
	}
	if (c == '\'' || c == '"') {
		lx->tok = T_STR;
		return lex_string(lx);
	}
	lx->pos++;
	switch (c) {
	case '(': lx->tok = T_LP; return 0;
	case ')': lx->tok = T_RP; return 0;
	case '[': lx->tok = T_LB; return 0;
	case ']': lx->tok = T_RB; return 0;
	case '.': lx->tok = T_DOT; return 0;
	case ',': lx->tok = T_COMMA; return 0;
	case '+': lx->tok = T_PLUS; return 0;
	case '-': lx->tok = T_MINUS; return 0;
	case '*': lx->tok = T_STAR; return 0;
	case '/': lx->tok = T_SLASH; return 0;
	case '%': lx->tok = T_PCT; return 0;
	case '|':
	case '&':
		if (s[lx->pos] != (char)c) {
			snprintf(what, sizeof(what), "unknown operator '%c': "
			    "use '%c%c'", c, c, c);
			return lex_fail(lx, lx->start, what);
		}
		lx->pos++;
		lx->tok = c == '|' ? T_OR : T_AND;
		lx->tlen = 2;
		return 0;
	case '=':
		if (s[lx->pos] != '=')
			return lex_fail(lx, lx->start, "unknown operator '=': use "
			    "'==' to compare (<assign> changes the datamodel)");
		lx->pos++;
		lx->tok = T_EQ;
		lx->tlen = 2;
		return 0;
	case '!':
	case '<':
	case '>':
		if (s[lx->pos] == '=') {
			lx->pos++;
			lx->tlen = 2;
			lx->tok = c == '!' ? T_NE : c == '<' ? T_LE : T_GE;
		} else {
			lx->tok = c == '!' ? T_NOT : c == '<' ? T_LT : T_GT;
		}
		return 0;
	default:
		break;
	}
	if (c >= 0x20 && c < 0x7f)
		snprintf(what, sizeof(what), "unexpected character '%c'", c);
	else
		snprintf(what, sizeof(what), "unexpected byte 0x%02x outside a "
		    "string", c);
	return lex_fail(lx, lx->start, what);
}

static int
lex_init(struct lexer *lx, const char *src, struct sm_error *err)
{
	memset(lx, 0, sizeof(*lx));
	lx->src = src;
	lx->err = err;
	lx->len = strnlen(src, SM_EXPR_MAX_SRC + 1);
	if (lx->len > SM_EXPR_MAX_SRC)
		return sm_error_set(err, SM_EEXPR, "column %d: expression is "
		    "longer than %d bytes: shorten it", SM_EXPR_MAX_SRC + 1,
		    SM_EXPR_MAX_SRC);
	return lex_next(lx);
}

static void
lex_done(struct lexer *lx)
{
	free(lx->str);
	lx->str = NULL;
}

static int
lex_unexpected(struct lexer *lx, const char *expected)
{
	char what[160];
	const char *found = tok_name(lx->tok);
	char buf[48];

	if (lx->tok == T_IDENT || lx->tok == T_NUM) {
		snprintf(buf, sizeof(buf), "'%.*s'", lx->tlen > 32 ? 32 :
		    (int)lx->tlen, lx->src + lx->start);
		found = buf;
	}
	snprintf(what, sizeof(what), "expected %s but found %s", expected, found);
	return lex_fail(lx, lx->start, what);
}

static int
tok_is(const struct lexer *lx, const char *word)
{
	return lx->tok == T_IDENT && strlen(word) == lx->tlen &&
	    memcmp(lx->src + lx->start, word, lx->tlen) == 0;
}

/* ------------------------------------------------------------------ */
/* Parser                                                              */

static struct node *
node_new(struct lexer *lx, enum node_kind kind, int col)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n == NULL) {
		sm_error_set(lx->err, SM_ENOMEM, "column %d: out of memory", col);
		return NULL;
	}
	n->kind = kind;
	n->col = col;
	return n;
}

static int
nomem(struct lexer *lx)
{
	return sm_error_set(lx->err, SM_ENOMEM, "column %d: out of memory",
	    lex_col(lx, lx->start));
}

static int
kid_push(struct lexer *lx, struct node *n, struct node *kid)
{
	struct node **k;

	k = realloc(n->kids, (n->nkids + 1) * sizeof(*k));
	if (k == NULL) {
		node_free(kid);
		return nomem(lx);
	}
	n->kids = k;
	n->kids[n->nkids++] = kid;
	return 0;
}

static int
depth_enter(struct lexer *lx)
{
	char what[96];

	if (++lx->depth > SM_EXPR_MAX_DEPTH) {
		snprintf(what, sizeof(what), "expression is nested more than %d "
		    "levels deep: simplify it", SM_EXPR_MAX_DEPTH);
		return lex_fail(lx, lx->start, what);
	}
	return 0;
}

static int parse_or(struct lexer *lx, struct node **out);

/* A number token (with an optional preceding unary minus folded in). */
static int
parse_number(struct lexer *lx, int negative, int col, struct node **out)
{
	char buf[SM_EXPR_MAX_SRC + 2];
	const char *t = lx->src + lx->start;
	size_t i, len = lx->tlen;
	int is_int = 1, rc;
	struct node *n;
	char *end;
	char what[128];

	for (i = 0; i < len; i++)
		if (!is_digit((unsigned char)t[i]))
			is_int = 0;
	buf[0] = '-';
	memcpy(buf + 1, t, len);
	buf[len + 1] = '\0';
	if ((n = node_new(lx, N_LIT, col)) == NULL)
		return SM_ENOMEM;
	errno = 0;
	if (is_int) {
		long long v = strtoll(negative ? buf : buf + 1, &end, 10);

		if (errno == ERANGE) {
			node_free(n);
			snprintf(what, sizeof(what), "integer is out of range "
			    "(%lld..%lld): write it as a decimal such as 1e20",
			    LLONG_MIN, LLONG_MAX);
			return lex_fail(lx, lx->start, what);
		}
		n->lit = json_integer((json_int_t)v);
	} else {
		double d = strtod(negative ? buf : buf + 1, &end);

		if (!isfinite(d)) {
			node_free(n);
			return lex_fail(lx, lx->start, "number is out of range");
		}
		n->lit = json_real(d);
	}
	if (n->lit == NULL) {
		node_free(n);
		return nomem(lx);
	}
	if ((rc = lex_next(lx)) != 0) {
		node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

/* Wrap-up helper: advance and, on failure, free `n`. */
static int
advance_or_free(struct lexer *lx, struct node *n)
{
	int rc = lex_next(lx);

	if (rc != 0)
		node_free(n);
	return rc;
}

static int
lookup_fn(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(fn_table) / sizeof(fn_table[0]); i++)
		if (strlen(fn_table[i].name) == len &&
		    memcmp(fn_table[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static int
is_root_path(const struct node *n)
{
	return n->kind == N_ROOT ||
	    (n->kind == N_PATH && n->kids[0]->kind == N_ROOT);
}

static int
parse_call(struct lexer *lx, struct node **out)
{
	int col = lex_col(lx, lx->start), fi, rc;
	size_t fstart = lx->start, flen = lx->tlen;
	struct node *n, *arg;
	char what[160];

	fi = lookup_fn(lx->src + lx->start, lx->tlen);
	if (fi < 0) {
		snprintf(what, sizeof(what), "unknown function '%.*s': the "
		    "functions are In, exists, len, str, num, contains, lower, "
		    "upper", flen > 32 ? 32 : (int)flen, lx->src + fstart);
		return lex_fail(lx, fstart, what);
	}
	if ((n = node_new(lx, N_CALL, col)) == NULL)
		return SM_ENOMEM;
	n->fn = fn_table[fi].fn;
	if ((rc = advance_or_free(lx, n)) != 0)     /* name */
		return rc;
	if ((rc = depth_enter(lx)) != 0)
		goto fail;
	if ((rc = advance_or_free(lx, n)) != 0)     /* ( */
		return rc;
	if (lx->tok != T_RP) {
		for (;;) {
			if ((rc = parse_or(lx, &arg)) != 0)
				goto fail;
			if ((rc = kid_push(lx, n, arg)) != 0)
				goto fail;
			if (lx->tok != T_COMMA)
				break;
			if ((rc = advance_or_free(lx, n)) != 0)
				return rc;
		}
	}
	if (lx->tok != T_RP) {
		rc = lex_unexpected(lx, "',' or ')' in the function call");
		goto fail;
	}
	lx->depth--;
	if ((int)n->nkids != fn_table[fi].nargs) {
		snprintf(what, sizeof(what), "%s() takes %d argument%s, not %zu",
		    fn_table[fi].name, fn_table[fi].nargs,
		    fn_table[fi].nargs == 1 ? "" : "s", n->nkids);
		rc = lex_fail(lx, fstart, what);
		goto fail;
	}
	if (n->fn == FN_IN) {
		const struct node *a = n->kids[0];

		if (a->kind != N_LIT || !json_is_string(a->lit)) {
			rc = sm_error_set(lx->err, SM_EEXPR, "column %d: In() "
			    "takes a state id as a string literal, as in "
			    "In('running')", a->col);
			goto fail;
		}
		if ((n->name = strdup(json_string_value(a->lit))) == NULL) {
			rc = nomem(lx);
			goto fail;
		}
	}
	if (n->fn == FN_EXISTS && !is_root_path(n->kids[0])) {
		rc = sm_error_set(lx->err, SM_EEXPR, "column %d: exists() "
		    "takes a path, as in exists(task.site)", n->kids[0]->col);
		goto fail;
	}
	if ((rc = advance_or_free(lx, n)) != 0)     /* ) */
		return rc;
	*out = n;
	return 0;
fail:
	node_free(n);
	return rc;
}

static int
parse_primary(struct lexer *lx, struct node **out)
{
	int col = lex_col(lx, lx->start), rc;
	struct node *n;
	const char *p;

	*out = NULL;
	switch (lx->tok) {
	case T_NUM:
		return parse_number(lx, 0, col, out);
	case T_STR:
		if ((n = node_new(lx, N_LIT, col)) == NULL)
			return SM_ENOMEM;
		if ((n->lit = json_stringn(lx->str, lx->slen)) == NULL) {
			node_free(n);
			return nomem(lx);
		}
		if ((rc = advance_or_free(lx, n)) != 0)
			return rc;
		*out = n;
		return 0;
	case T_LP:
		if ((rc = depth_enter(lx)) != 0)
			return rc;
		if ((rc = lex_next(lx)) != 0)
			return rc;
		if ((rc = parse_or(lx, &n)) != 0)
			return rc;
		if (lx->tok != T_RP) {
			node_free(n);
			return lex_unexpected(lx, "')'");
		}
		lx->depth--;
		if ((rc = advance_or_free(lx, n)) != 0)
			return rc;
		*out = n;
		return 0;
	case T_IDENT:
		break;
	default:
		return lex_unexpected(lx, "a value, a name, '(' or '!'");
	}
	if (tok_is(lx, "true") || tok_is(lx, "false") || tok_is(lx, "null")) {
		if ((n = node_new(lx, N_LIT, col)) == NULL)
			return SM_ENOMEM;
		n->lit = tok_is(lx, "null") ? json_null() :
		    json_boolean(tok_is(lx, "true"));
		if ((rc = advance_or_free(lx, n)) != 0)
			return rc;
		*out = n;
		return 0;
	}
	/* A name followed by '(' is a call. */
	p = lx->src + lx->pos;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p == '(')
		return parse_call(lx, out);
	if ((n = node_new(lx, N_ROOT, col)) == NULL)
		return SM_ENOMEM;
	if ((n->name = strndup(lx->src + lx->start, lx->tlen)) == NULL) {
		node_free(n);
		return nomem(lx);
	}
	if ((rc = advance_or_free(lx, n)) != 0)
		return rc;
	*out = n;
	return 0;
}

/* primary { '.' name | '[' expr ']' } */
static int
parse_postfix(struct lexer *lx, struct node **out)
{
	struct node *base, *path = NULL;
	struct step *st, *steps;
	int rc;

	if ((rc = parse_primary(lx, &base)) != 0)
		return rc;
	if (lx->tok != T_DOT && lx->tok != T_LB) {
		*out = base;
		return 0;
	}
	if ((path = node_new(lx, N_PATH, base->col)) == NULL) {
		node_free(base);
		return SM_ENOMEM;
	}
	if ((rc = kid_push(lx, path, base)) != 0)
		goto fail;
	while (lx->tok == T_DOT || lx->tok == T_LB) {
		steps = realloc(path->steps, (path->nsteps + 1) * sizeof(*steps));
		if (steps == NULL) {
			rc = nomem(lx);
			goto fail;
		}
		path->steps = steps;
		st = &path->steps[path->nsteps++];
		memset(st, 0, sizeof(*st));
		st->col = lex_col(lx, lx->start);
		if (lx->tok == T_DOT) {
			if ((rc = lex_next(lx)) != 0)
				goto fail;
			if (lx->tok != T_IDENT) {
				rc = lex_unexpected(lx, "a member name after '.'");
				goto fail;
			}
			st->name = strndup(lx->src + lx->start, lx->tlen);
			if (st->name == NULL) {
				rc = nomem(lx);
				goto fail;
			}
			if ((rc = lex_next(lx)) != 0)
				goto fail;
		} else {
			if ((rc = depth_enter(lx)) != 0)
				goto fail;
			if ((rc = lex_next(lx)) != 0)
				goto fail;
			if ((rc = parse_or(lx, &st->index)) != 0)
				goto fail;
			if (lx->tok != T_RB) {
				rc = lex_unexpected(lx, "']'");
				goto fail;
			}
			lx->depth--;
			if ((rc = lex_next(lx)) != 0)
				goto fail;
		}
	}
	*out = path;
	return 0;
fail:
	node_free(path);
	return rc;
}

static int
parse_unary(struct lexer *lx, struct node **out)
{
	int col = lex_col(lx, lx->start), rc;
	enum tok t = lx->tok;
	struct node *n, *kid;

	*out = NULL;
	if (t != T_NOT && t != T_MINUS)
		return parse_postfix(lx, out);
	if ((rc = depth_enter(lx)) != 0)
		return rc;
	if ((rc = lex_next(lx)) != 0)
		return rc;
	if (t == T_MINUS && lx->tok == T_NUM) {
		/* Fold -literal so that the most negative integer is
		 * writable; a following postfix cannot apply to a number. */
		if ((rc = parse_number(lx, 1, col, out)) != 0)
			return rc;
		lx->depth--;
		return 0;
	}
	if ((rc = parse_unary(lx, &kid)) != 0)
		return rc;
	lx->depth--;
	if ((n = node_new(lx, t == T_NOT ? N_NOT : N_NEG, col)) == NULL) {
		node_free(kid);
		return SM_ENOMEM;
	}
	if ((rc = kid_push(lx, n, kid)) != 0) {
		node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

/* One precedence level of binary operators, as a flat chain. */
struct level {
	enum tok toks[4];
	enum op ops[4];
	size_t n;
};

static const struct level levels[] = {
	{ { T_EQ, T_NE }, { OP_EQ, OP_NE }, 2 },
	{ { T_LT, T_LE, T_GT, T_GE }, { OP_LT, OP_LE, OP_GT, OP_GE }, 4 },
	{ { T_PLUS, T_MINUS }, { OP_ADD, OP_SUB }, 2 },
	{ { T_STAR, T_SLASH, T_PCT }, { OP_MUL, OP_DIV, OP_MOD }, 3 },
};
#define NLEVELS (sizeof(levels) / sizeof(levels[0]))

static int
level_op(size_t lv, enum tok t, enum op *op)
{
	size_t i;

	for (i = 0; i < levels[lv].n; i++)
		if (levels[lv].toks[i] == t) {
			*op = levels[lv].ops[i];
			return 1;
		}
	return 0;
}

static int
parse_level(struct lexer *lx, size_t lv, struct node **out)
{
	struct node *first, *n = NULL, *kid;
	enum op op, *ops;
	int *cols, rc;

	*out = NULL;
	if (lv == NLEVELS)
		return parse_unary(lx, out);
	if ((rc = parse_level(lx, lv + 1, &first)) != 0)
		return rc;
	if (!level_op(lv, lx->tok, &op)) {
		*out = first;
		return 0;
	}
	if ((n = node_new(lx, N_CHAIN, first->col)) == NULL) {
		node_free(first);
		return SM_ENOMEM;
	}
	if ((rc = kid_push(lx, n, first)) != 0)
		goto fail;
	while (level_op(lv, lx->tok, &op)) {
		ops = realloc(n->ops, n->nkids * sizeof(*ops));
		if (ops == NULL) {
			rc = nomem(lx);
			goto fail;
		}
		n->ops = ops;
		cols = realloc(n->opcols, n->nkids * sizeof(*cols));
		if (cols == NULL) {
			rc = nomem(lx);
			goto fail;
		}
		n->opcols = cols;
		n->ops[n->nkids - 1] = op;
		n->opcols[n->nkids - 1] = lex_col(lx, lx->start);
		if ((rc = lex_next(lx)) != 0)
			goto fail;
		if ((rc = parse_level(lx, lv + 1, &kid)) != 0)
			goto fail;
		if ((rc = kid_push(lx, n, kid)) != 0)
			goto fail;
	}
	*out = n;
	return 0;
fail:
	node_free(n);
	return rc;
}

/* n-ary && or || */
static int
parse_logic(struct lexer *lx, enum tok t, struct node **out)
{
	struct node *first, *n, *kid;
	int rc;

	*out = NULL;
	rc = t == T_OR ? parse_logic(lx, T_AND, &first) :
	    parse_level(lx, 0, &first);
	if (rc != 0)
		return rc;
	if (lx->tok != t) {
		*out = first;
		return 0;
	}
	if ((n = node_new(lx, t == T_OR ? N_OR : N_AND, first->col)) == NULL) {
		node_free(first);
		return SM_ENOMEM;
	}
	if ((rc = kid_push(lx, n, first)) != 0)
		goto fail;
	while (lx->tok == t) {
		if ((rc = lex_next(lx)) != 0)
			goto fail;
		rc = t == T_OR ? parse_logic(lx, T_AND, &kid) :
		    parse_level(lx, 0, &kid);
		if (rc != 0)
			goto fail;
		if ((rc = kid_push(lx, n, kid)) != 0)
			goto fail;
	}
	*out = n;
	return 0;
fail:
	node_free(n);
	return rc;
}

static int
parse_or(struct lexer *lx, struct node **out)
{
	return parse_logic(lx, T_OR, out);
}

int
sm_expr_parse(const char *src, struct sm_expr **out, struct sm_error *err)
{
	struct lexer lx;
	struct sm_expr *e = NULL;
	struct node *root = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (src == NULL || out == NULL)
		return sm_error_set(err, SM_EINVAL, "column 1: no expression "
		    "given");
	if ((rc = lex_init(&lx, src, err)) != 0)
		goto done;
	if (lx.tok == T_EOF) {
		rc = sm_error_set(err, SM_EEXPR, "column %d: expression is "
		    "empty", lex_col(&lx, lx.start));
		goto done;
	}
	if ((rc = parse_or(&lx, &root)) != 0)
		goto done;
	if (lx.tok != T_EOF) {
		rc = lex_unexpected(&lx, "an operator or the end of the "
		    "expression");
		goto done;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		rc = sm_error_set(err, SM_ENOMEM, "column 1: out of memory");
		goto done;
	}
	e->root = root;
	root = NULL;
	*out = e;
done:
	node_free(root);
	lex_done(&lx);
	return rc;
}

void
sm_expr_free(struct sm_expr *e)
{
	if (e == NULL)
		return;
	node_free(e->root);
	free(e);
}

/* ------------------------------------------------------------------ */
/* Values                                                              */

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER:
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "value";
}

static int
truthy(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_FALSE:
	case JSON_NULL:
		return 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	case JSON_STRING:
		return json_string_length(v) != 0;
	default:
		return 1;
	}
}

/* Exact comparison of an integer with a finite double. */
static int
cmp_int_real(json_int_t i, double d)
{
	double t;
	json_int_t ti;

	if (d >= 9223372036854775808.0)
		return -1;
	if (d < -9223372036854775808.0)
		return 1;
	t = trunc(d);
	ti = (json_int_t)t;
	if (i < ti)
		return -1;
	if (i > ti)
		return 1;
	if (d > t)
		return -1;
	if (d < t)
		return 1;
	return 0;
}

static int
num_cmp(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);

		return x < y ? -1 : x > y;
	}
	if (json_is_integer(a))
		return cmp_int_real(json_integer_value(a), json_real_value(b));
	if (json_is_integer(b))
		return -cmp_int_real(json_integer_value(b), json_real_value(a));
	return json_real_value(a) < json_real_value(b) ? -1 :
	    json_real_value(a) > json_real_value(b);
}

static int
str_cmp(const json_t *a, const json_t *b)
{
	size_t la = json_string_length(a), lb = json_string_length(b);
	int c = memcmp(json_string_value(a), json_string_value(b),
	    la < lb ? la : lb);

	if (c != 0)
		return c < 0 ? -1 : 1;
	return la < lb ? -1 : la > lb;
}

#define EQUAL_MAX_DEPTH 2048

/* 1 equal, 0 not, -1 nested too deeply. */
static int
value_equal(const json_t *a, const json_t *b, int depth)
{
	const char *key;
	json_t *va, *vb;
	size_t i;
	int r;

	if (depth > EQUAL_MAX_DEPTH)
		return -1;
	if (json_is_number(a) && json_is_number(b))
		return num_cmp(a, b) == 0;
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return str_cmp(a, b) == 0;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++) {
			r = value_equal(json_array_get(a, i),
			    json_array_get(b, i), depth + 1);
			if (r != 1)
				return r;
		}
		return 1;
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, key, va) {
			vb = json_object_get(b, key);
			if (vb == NULL)
				return 0;
			r = value_equal(va, vb, depth + 1);
			if (r != 1)
				return r;
		}
		return 1;
	default:
		return 1; /* null, true, false */
	}
}

/* ------------------------------------------------------------------ */
/* Evaluator                                                           */

static int eval_fail(struct sm_error *err, int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
eval_fail(struct sm_error *err, int col, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return sm_error_set(err, SM_EEXPR, "column %d: %s", col, what);
}

static int
eval_nomem(struct sm_error *err, int col)
{
	return sm_error_set(err, SM_ENOMEM, "column %d: out of memory", col);
}

static int eval(const struct node *n, const struct sm_expr_env *env,
    json_t **out, struct sm_error *err);

/*
 * Resolve a path: *out is a new reference, or NULL when the path does not
 * exist (a missing member, an index past the end, a step into a value that
 * is not a container).
 */
static int
eval_path(const struct node *n, const struct sm_expr_env *env, json_t **out,
    struct sm_error *err)
{
	json_t *cur = NULL, *next, *idx = NULL;
	const struct step *st;
	size_t i;
	int rc;

	*out = NULL;
	if (n->kind == N_ROOT) {
		cur = env != NULL && json_is_object(env->root) ?
		    json_object_get(env->root, n->name) : NULL;
		if (cur == NULL && env != NULL && env->name != NULL)
			cur = env->name(env->arg, n->name);
		*out = json_incref(cur);
		return 0;
	}
	if (n->kids[0]->kind == N_ROOT) {
		if ((rc = eval_path(n->kids[0], env, &cur, err)) != 0)
			return rc;
	} else if ((rc = eval(n->kids[0], env, &cur, err)) != 0) {
		return rc;
	}
	for (i = 0; i < n->nsteps && cur != NULL; i++) {
		st = &n->steps[i];
		next = NULL;
		if (st->name != NULL) {
			if (json_is_object(cur))
				next = json_object_get(cur, st->name);
		} else {
			if ((rc = eval(st->index, env, &idx, err)) != 0) {
				json_decref(cur);
				return rc;
			}
			if (json_is_integer(idx)) {
				json_int_t k = json_integer_value(idx);

				if (json_is_array(cur) && k >= 0 &&
				    (uint64_t)k < json_array_size(cur))
					next = json_array_get(cur, (size_t)k);
			} else if (json_is_string(idx)) {
				if (json_is_object(cur))
					next = json_object_getn(cur,
					    json_string_value(idx),
					    json_string_length(idx));
			} else {
				rc = eval_fail(err, st->col, "index must be an "
				    "integer or a string, not %s",
				    type_name(idx));
				json_decref(idx);
				json_decref(cur);
				return rc;
			}
			json_decref(idx);
			idx = NULL;
		}
		json_incref(next);
		json_decref(cur);
		cur = next;
	}
	*out = cur;
	return 0;
}

static int
arith(const struct node *n, size_t k, json_t *a, json_t *b, json_t **out,
    struct sm_error *err)
{
	static const char *const opname[] = { "==", "!=", "<", "<=", ">",
	    ">=", "+", "-", "*", "/", "%" };
	enum op op = n->ops[k];
	int col = n->opcols[k];
	const char *on = opname[op];
	double x, y, r;
	char *buf;

	*out = NULL;
	if (op == OP_ADD && json_is_string(a) && json_is_string(b)) {
		size_t la = json_string_length(a), lb = json_string_length(b);

		if ((buf = malloc(la + lb + 1)) == NULL)
			return eval_nomem(err, col);
		memcpy(buf, json_string_value(a), la);
		memcpy(buf + la, json_string_value(b), lb);
		*out = json_stringn_nocheck(buf, la + lb);
		free(buf);
		return *out != NULL ? 0 : eval_nomem(err, col);
	}
	if (!json_is_number(a) || !json_is_number(b))
		return op == OP_ADD ? eval_fail(err, col, "'+' adds two "
		    "numbers or joins two strings, not %s and %s",
		    type_name(a), type_name(b)) : eval_fail(err, col,
		    "'%s' needs two numbers, not %s and %s", on, type_name(a),
		    type_name(b));
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t p = json_integer_value(a), q = json_integer_value(b),
		    v = 0;
		int ovf = 0;

		switch (op) {
		case OP_ADD: ovf = __builtin_add_overflow(p, q, &v); break;
		case OP_SUB: ovf = __builtin_sub_overflow(p, q, &v); break;
		case OP_MUL: ovf = __builtin_mul_overflow(p, q, &v); break;
		case OP_DIV:
		case OP_MOD:
			if (q == 0)
				return eval_fail(err, col, "division by zero in "
				    "'%s'", on);
			if (q == -1) {
				/* p / -1 overflows for the most negative p */
				if (op == OP_MOD) {
					v = 0;
					break;
				}
				ovf = __builtin_sub_overflow((json_int_t)0, p, &v);
				break;
			}
			if (op == OP_MOD) {
				v = p % q;
				break;
			}
			if (p % q == 0) {
				v = p / q;
				break;
			}
			*out = json_real((double)p / (double)q);
			return *out != NULL ? 0 : eval_nomem(err, col);
		default:
			return sm_error_set(err, SM_EBUG, "column %d: bad operator",
			    col);
		}
		if (ovf)
			return eval_fail(err, col, "integer overflow in '%s': "
			    "the result is beyond 64 bits", on);
		*out = json_integer(v);
		return *out != NULL ? 0 : eval_nomem(err, col);
	}
	if (op == OP_MOD)
		return eval_fail(err, col, "'%%' needs two integers, not a "
		    "decimal");
	x = json_number_value(a);
	y = json_number_value(b);
	switch (op) {
	case OP_ADD: r = x + y; break;
	case OP_SUB: r = x - y; break;
	case OP_MUL: r = x * y; break;
	case OP_DIV:
		if (y == 0.0)
			return eval_fail(err, col, "division by zero in '%s'",
			    on);
		r = x / y;
		break;
	default:
		return sm_error_set(err, SM_EBUG, "column %d: bad operator", col);
	}
	if (!isfinite(r))
		return eval_fail(err, col, "result of '%s' is out of range", on);
	*out = json_real(r);
	return *out != NULL ? 0 : eval_nomem(err, col);
}

static int
compare(const struct node *n, size_t k, json_t *a, json_t *b, json_t **out,
    struct sm_error *err)
{
	static const char *const opname[] = { "==", "!=", "<", "<=", ">", ">=" };
	enum op op = n->ops[k];
	int col = n->opcols[k], c, r;

	if (op == OP_EQ || op == OP_NE) {
		r = value_equal(a, b, 0);
		if (r < 0)
			return eval_fail(err, col, "values are nested too deeply "
			    "to compare with '%s'", opname[op]);
		*out = json_boolean(op == OP_EQ ? r : !r);
		return 0;
	}
	if (json_is_number(a) && json_is_number(b))
		c = num_cmp(a, b);
	else if (json_is_string(a) && json_is_string(b))
		c = str_cmp(a, b);
	else if (json_typeof(a) == json_typeof(b) ||
	    (json_is_boolean(a) && json_is_boolean(b)))
		return eval_fail(err, col, "cannot order two %ss: '<' '<=' '>' "
		    "'>=' need two numbers or two strings", type_name(a));
	else
		return eval_fail(err, col, "cannot order %s and %s: '<' '<=' "
		    "'>' '>=' need two numbers or two strings", type_name(a),
		    type_name(b));
	switch (op) {
	case OP_LT: r = c < 0; break;
	case OP_LE: r = c <= 0; break;
	case OP_GT: r = c > 0; break;
	default: r = c >= 0; break;
	}
	*out = json_boolean(r);
	return 0;
}

static int
eval_chain(const struct node *n, const struct sm_expr_env *env, json_t **out,
    struct sm_error *err)
{
	json_t *acc = NULL, *rhs = NULL, *res = NULL;
	size_t k;
	int rc;

	if ((rc = eval(n->kids[0], env, &acc, err)) != 0)
		return rc;
	for (k = 0; k + 1 < n->nkids; k++) {
		if ((rc = eval(n->kids[k + 1], env, &rhs, err)) != 0)
			goto fail;
		if (n->ops[k] <= OP_GE)
			rc = compare(n, k, acc, rhs, &res, err);
		else
			rc = arith(n, k, acc, rhs, &res, err);
		if (rc != 0)
			goto fail;
		json_decref(acc);
		json_decref(rhs);
		rhs = NULL;
		acc = res;
	}
	*out = acc;
	return 0;
fail:
	json_decref(acc);
	json_decref(rhs);
	return rc;
}

static int
fn_num(const struct node *n, json_t *v, json_t **out, struct sm_error *err)
{
	const char *s;
	size_t len, p = 0, i;
	struct sm_error perr;
	struct sm_expr *e = NULL;
	int rc;

	if (json_is_number(v)) {
		*out = json_incref(v);
		return 0;
	}
	if (json_is_boolean(v)) {
		*out = json_integer(json_is_true(v));
		return *out != NULL ? 0 : eval_nomem(err, n->col);
	}
	if (!json_is_string(v))
		return eval_fail(err, n->col, "num() converts a string or a "
		    "boolean, not %s", type_name(v));
	/* A string holding one JSON number, optionally signed and with
	 * surrounding blanks: reuse the lexer through the parser. */
	s = json_string_value(v);
	len = json_string_length(v);
	while (p < len && (s[p] == ' ' || s[p] == '\t'))
		p++;
	if (p < len && s[p] == '-')
		p++;
	for (i = p; i < len; i++)
		if (!(is_digit((unsigned char)s[i]) || s[i] == '.' ||
		    s[i] == 'e' || s[i] == 'E' || s[i] == '+' || s[i] == '-' ||
		    s[i] == ' ' || s[i] == '\t'))
			break;
	if (p == len || i != len || !is_digit((unsigned char)s[p]) ||
	    len > SM_EXPR_MAX_SRC || strlen(s) != len)
		goto bad;
	rc = sm_expr_parse(s, &e, &perr);
	if (rc == SM_ENOMEM)
		return eval_nomem(err, n->col);
	if (rc != 0 || e->root->kind != N_LIT || !json_is_number(e->root->lit))
		goto bad;
	*out = json_incref(e->root->lit);
	sm_expr_free(e);
	return 0;
bad:
	sm_expr_free(e);
	{
		char shown[40];

		snprintf(shown, sizeof(shown), "%.32s%s", s,
		    len > 32 ? "..." : "");
		return eval_fail(err, n->col, "num() cannot read '%s' as a "
		    "number", shown);
	}
}

static int
fn_contains(const struct node *n, json_t *h, json_t *needle, json_t **out,
    struct sm_error *err)
{
	size_t i;
	int r = 0, e;

	if (json_is_string(h)) {
		if (!json_is_string(needle))
			return eval_fail(err, n->kids[1]->col, "contains() in a "
			    "string looks for a string, not %s",
			    type_name(needle));
		r = json_string_length(needle) == 0 ||
		    memmem(json_string_value(h), json_string_length(h),
		    json_string_value(needle), json_string_length(needle)) != NULL;
	} else if (json_is_array(h)) {
		for (i = 0; i < json_array_size(h) && !r; i++) {
			e = value_equal(json_array_get(h, i), needle, 0);
			if (e < 0)
				return eval_fail(err, n->col, "values are nested "
				    "too deeply for contains()");
			r = e;
		}
	} else if (json_is_object(h)) {
		if (!json_is_string(needle))
			return eval_fail(err, n->kids[1]->col, "contains() in an "
			    "object looks for a key string, not %s",
			    type_name(needle));
		r = json_object_getn(h, json_string_value(needle),
		    json_string_length(needle)) != NULL;
	} else {
		return eval_fail(err, n->kids[0]->col, "contains() searches a "
		    "string, an array or an object, not %s", type_name(h));
	}
	*out = json_boolean(r);
	return 0;
}

static int
eval_call(const struct node *n, const struct sm_expr_env *env, json_t **out,
    struct sm_error *err)
{
	json_t *a = NULL, *b = NULL;
	char *buf = NULL, num[64];
	size_t i, len;
	int rc = 0;

	switch (n->fn) {
	case FN_IN:
		if (env == NULL || env->in_state == NULL)
			return eval_fail(err, n->col, "In('%s') cannot be "
			    "answered here: no active states are known",
			    n->name);
		rc = env->in_state(env->arg, n->name);
		if (rc < 0)
			return sm_error_set(err, rc, "column %d: In('%s') "
			    "failed: %s", n->col, n->name, sm_strerror(rc));
		*out = json_boolean(rc > 0);
		return 0;
	case FN_EXISTS:
		if ((rc = eval_path(n->kids[0], env, &a, err)) != 0)
			return rc;
		*out = json_boolean(a != NULL);
		json_decref(a);
		return 0;
	default:
		break;
	}
	if ((rc = eval(n->kids[0], env, &a, err)) != 0)
		return rc;
	switch (n->fn) {
	case FN_LEN:
		if (json_is_string(a))
			len = json_string_length(a);
		else if (json_is_array(a))
			len = json_array_size(a);
		else if (json_is_object(a))
			len = json_object_size(a);
		else {
			rc = eval_fail(err, n->col, "len() measures a string, an "
			    "array or an object, not %s", type_name(a));
			break;
		}
		*out = json_integer((json_int_t)len);
		break;
	case FN_STR:
		if (json_is_string(a)) {
			*out = json_incref(a);
			break;
		}
		if (json_is_real(a)) {
			sm_real_text(json_real_value(a), num, sizeof(num));
			*out = json_string(num);
			break;
		}
		buf = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY |
		    JSON_REAL_PRECISION(17));
		if (buf == NULL) {
			rc = eval_fail(err, n->col, "str() cannot write this %s "
			    "as text", type_name(a));
			break;
		}
		*out = json_string(buf);
		break;
	case FN_NUM:
		rc = fn_num(n, a, out, err);
		break;
	case FN_CONTAINS:
		if ((rc = eval(n->kids[1], env, &b, err)) != 0)
			break;
		rc = fn_contains(n, a, b, out, err);
		break;
	case FN_LOWER:
	case FN_UPPER:
		if (!json_is_string(a)) {
			rc = eval_fail(err, n->col, "%s() changes the case of a "
			    "string, not %s", n->fn == FN_LOWER ? "lower" :
			    "upper", type_name(a));
			break;
		}
		len = json_string_length(a);
		if ((buf = malloc(len + 1)) == NULL) {
			rc = eval_nomem(err, n->col);
			break;
		}
		memcpy(buf, json_string_value(a), len);
		for (i = 0; i < len; i++) {
			if (n->fn == FN_LOWER && buf[i] >= 'A' && buf[i] <= 'Z')
				buf[i] = (char)(buf[i] - 'A' + 'a');
			else if (n->fn == FN_UPPER && buf[i] >= 'a' &&
			    buf[i] <= 'z')
				buf[i] = (char)(buf[i] - 'a' + 'A');
		}
		*out = json_stringn_nocheck(buf, len);
		break;
	default:
		rc = sm_error_set(err, SM_EBUG, "column %d: bad function", n->col);
		break;
	}
	free(buf);
	json_decref(a);
	json_decref(b);
	if (rc == 0 && *out == NULL)
		rc = eval_nomem(err, n->col);
	return rc;
}

static int
eval(const struct node *n, const struct sm_expr_env *env, json_t **out,
    struct sm_error *err)
{
	json_t *v = NULL;
	size_t i;
	int rc;

	*out = NULL;
	switch (n->kind) {
	case N_LIT:
		*out = json_incref(n->lit);
		return 0;
	case N_ROOT:
	case N_PATH:
		if ((rc = eval_path(n, env, &v, err)) != 0)
			return rc;
		*out = v != NULL ? v : json_null();
		return 0;
	case N_NOT:
		if ((rc = eval(n->kids[0], env, &v, err)) != 0)
			return rc;
		*out = json_boolean(!truthy(v));
		json_decref(v);
		return 0;
	case N_NEG:
		if ((rc = eval(n->kids[0], env, &v, err)) != 0)
			return rc;
		if (json_is_integer(v)) {
			json_int_t r;

			if (__builtin_sub_overflow((json_int_t)0,
			    json_integer_value(v), &r)) {
				json_decref(v);
				return eval_fail(err, n->col, "integer overflow "
				    "in '-'");
			}
			*out = json_integer(r);
		} else if (json_is_real(v)) {
			*out = json_real(-json_real_value(v));
		} else {
			rc = eval_fail(err, n->col, "cannot negate %s: '-' needs "
			    "a number", type_name(v));
			json_decref(v);
			return rc;
		}
		json_decref(v);
		return *out != NULL ? 0 : eval_nomem(err, n->col);
	case N_AND:
	case N_OR:
		for (i = 0; i < n->nkids; i++) {
			if ((rc = eval(n->kids[i], env, &v, err)) != 0)
				return rc;
			rc = truthy(v);
			json_decref(v);
			if (n->kind == N_AND ? !rc : rc) {
				*out = json_boolean(n->kind == N_OR);
				return 0;
			}
		}
		*out = json_boolean(n->kind == N_AND);
		return 0;
	case N_CHAIN:
		return eval_chain(n, env, out, err);
	case N_CALL:
		return eval_call(n, env, out, err);
	}
	return sm_error_set(err, SM_EBUG, "column %d: bad expression node",
	    n->col);
}

int
sm_expr_eval(const struct sm_expr *e, const struct sm_expr_env *env,
    json_t **out, struct sm_error *err)
{
	if (out != NULL)
		*out = NULL;
	if (e == NULL || out == NULL)
		return sm_error_set(err, SM_EINVAL, "column 1: no expression "
		    "to evaluate");
	return eval(e->root, env, out, err);
}

int
sm_expr_eval_bool(const struct sm_expr *e, const struct sm_expr_env *env,
    int *out, struct sm_error *err)
{
	json_t *v;
	int rc;

	if (out == NULL)
		return sm_error_set(err, SM_EINVAL, "column 1: no result given");
	*out = 0;
	if ((rc = sm_expr_eval(e, env, &v, err)) != 0)
		return rc;
	*out = truthy(v);
	json_decref(v);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Static queries                                                      */

static int
null_profile(const struct node *n)
{
	size_t i;

	switch (n->kind) {
	case N_LIT:
		return json_is_boolean(n->lit);
	case N_CALL:
		return n->fn == FN_IN;
	case N_NOT:
	case N_AND:
	case N_OR:
		for (i = 0; i < n->nkids; i++)
			if (!null_profile(n->kids[i]))
				return 0;
		return 1;
	default:
		return 0;
	}
}

int
sm_expr_is_null_profile(const struct sm_expr *e)
{
	return e != NULL && null_profile(e->root);
}

static int
foreach_state(const struct node *n, int (*fn)(void *, const char *),
    void *arg)
{
	size_t i;
	int rc;

	if (n == NULL)
		return 0;
	if (n->kind == N_CALL && n->fn == FN_IN)
		return fn(arg, n->name);
	/* Source order: for a path the base comes before its steps. */
	for (i = 0; i < n->nkids; i++)
		if ((rc = foreach_state(n->kids[i], fn, arg)) != 0)
			return rc;
	for (i = 0; i < n->nsteps; i++)
		if ((rc = foreach_state(n->steps[i].index, fn, arg)) != 0)
			return rc;
	return 0;
}

int
sm_expr_foreach_state(const struct sm_expr *e,
    int (*fn)(void *arg, const char *state_id), void *arg)
{
	if (e == NULL || fn == NULL)
		return 0;
	return foreach_state(e->root, fn, arg);
}

/* ------------------------------------------------------------------ */
/* Locations                                                           */

struct loc_step {
	char *key;           /* member name, or NULL for an index */
	size_t keylen;
	size_t index;
	int col;
};

struct location {
	struct loc_step *steps;  /* steps[0] is the top-level name */
	size_t n;
};

static void
loc_free(struct location *loc)
{
	size_t i;

	for (i = 0; i < loc->n; i++)
		free(loc->steps[i].key);
	free(loc->steps);
	loc->steps = NULL;
	loc->n = 0;
}

/* Append an empty step at the current token; NULL when out of memory. */
static struct loc_step *
loc_push(struct lexer *lx, struct location *loc)
{
	struct loc_step *s = realloc(loc->steps, (loc->n + 1) * sizeof(*s)), *st;

	if (s == NULL)
		return NULL;
	loc->steps = s;
	st = &s[loc->n++];
	memset(st, 0, sizeof(*st));
	st->col = lex_col(lx, lx->start);
	return st;
}

int
sm_system_var(const char *name)
{
	static const char *const sys[] = { "_event", "_sessionid", "_name", "_ioprocessors", NULL };
	size_t i;

	for (i = 0; name != NULL && sys[i] != NULL; i++)
		if (strcmp(name, sys[i]) == 0)
			return 1;
	return 0;
}

/* Parse a location; `write`: it is assigned to, so a system variable
 * (SM_EPERM) and `task` itself are refused. */
static int
loc_parse(const char *src, int write, struct location *loc, struct sm_error *err)
{
	struct lexer lx;
	struct loc_step *st;
	int rc;

	memset(loc, 0, sizeof(*loc));
	if (src == NULL)
		return sm_error_set(err, SM_EINVAL, "column 1: no location given");
	if ((rc = lex_init(&lx, src, err)) != 0)
		goto fail;
	if (lx.tok != T_IDENT || tok_is(&lx, "true") || tok_is(&lx, "false") ||
	    tok_is(&lx, "null")) {
		rc = lex_unexpected(&lx, "a name to assign to, as in task.result");
		goto fail;
	}
	if (write && lx.tlen < 32 && lx.src[lx.start] == '_') {
		char top[32];

		memcpy(top, lx.src + lx.start, lx.tlen);
		top[lx.tlen] = '\0';
		if (sm_system_var(top)) {
			rc = sm_error_set(err, SM_EPERM,
			    "column %d: '%s' is a system "
			    "variable, read-only: assign to another name",
			    lex_col(&lx, lx.start), top);
			goto fail;
		}
	}
	if ((st = loc_push(&lx, loc)) == NULL) {
		rc = nomem(&lx);
		goto fail;
	}
	if ((st->key = strndup(lx.src + lx.start, lx.tlen)) == NULL) {
		rc = nomem(&lx);
		goto fail;
	}
	st->keylen = lx.tlen;
	if ((rc = lex_next(&lx)) != 0)
		goto fail;
	while (lx.tok == T_DOT || lx.tok == T_LB) {
		if ((st = loc_push(&lx, loc)) == NULL) {
			rc = nomem(&lx);
			goto fail;
		}
		if (lx.tok == T_DOT) {
			if ((rc = lex_next(&lx)) != 0)
				goto fail;
			if (lx.tok != T_IDENT) {
				rc = lex_unexpected(&lx, "a member name after '.'");
				goto fail;
			}
			st->key = strndup(lx.src + lx.start, lx.tlen);
			st->keylen = lx.tlen;
		} else {
			if ((rc = lex_next(&lx)) != 0)
				goto fail;
			if (lx.tok == T_STR) {
				st->keylen = lx.slen;
				st->key = malloc(lx.slen + 1);
				if (st->key != NULL)
					memcpy(st->key, lx.str, lx.slen + 1);
			} else if (lx.tok == T_NUM) {
				const char *t = lx.src + lx.start;
				size_t i;
				unsigned long long v = 0;

				for (i = 0; i < lx.tlen; i++) {
					if (!is_digit((unsigned char)t[i]) ||
					    v > (SIZE_MAX - 9) / 10) {
						rc = lex_fail(&lx, lx.start, "array "
						    "index must be a non-negative "
						    "integer");
						goto fail;
					}
					v = v * 10 + (unsigned long long)(t[i] - '0');
				}
				st->index = (size_t)v;
				if ((rc = lex_next(&lx)) != 0)
					goto fail;
				if (lx.tok != T_RB) {
					rc = lex_unexpected(&lx, "']'");
					goto fail;
				}
				if ((rc = lex_next(&lx)) != 0)
					goto fail;
				continue;
			} else {
				rc = lex_unexpected(&lx, "a string or an integer "
				    "literal in '[...]' (a location takes no "
				    "expressions)");
				goto fail;
			}
			if (st->key != NULL) {
				if ((rc = lex_next(&lx)) != 0)
					goto fail;
				if (lx.tok != T_RB) {
					rc = lex_unexpected(&lx, "']'");
					goto fail;
				}
			}
		}
		if (st->key == NULL) {
			rc = nomem(&lx);
			goto fail;
		}
		if ((rc = lex_next(&lx)) != 0)
			goto fail;
	}
	if (lx.tok != T_EOF) {
		rc = lex_unexpected(&lx, "'.', '[' or the end of the location");
		goto fail;
	}
	if (write && loc->n == 1 && strcmp(loc->steps[0].key, "task") == 0) {
		rc = lex_fail(&lx, 0, "'task' itself cannot be replaced: assign "
		    "to a member such as task.result");
		goto fail;
	}
	lex_done(&lx);
	return 0;
fail:
	lex_done(&lx);
	loc_free(loc);
	return rc;
}

int
sm_location_check(const char *location, struct sm_error *err)
{
	struct location loc;
	int rc;

	if ((rc = loc_parse(location, 1, &loc, err)) != 0)
		return rc;
	loc_free(&loc);
	return 0;
}

int
sm_location_check_read(const char *location, struct sm_error *err)
{
	struct location loc;
	int rc;

	if ((rc = loc_parse(location, 0, &loc, err)) != 0)
		return rc;
	loc_free(&loc);
	return 0;
}

static void
loc_describe(const struct loc_step *st, char *buf, size_t size)
{
	if (st->key != NULL)
		snprintf(buf, size, "'%.*s'", st->keylen > 40 ? 40 :
		    (int)st->keylen, st->key);
	else
		snprintf(buf, size, "[%zu]", st->index);
}

int
sm_location_read(
    const struct sm_expr_env *env, const char *location, json_t **out, struct sm_error *err)
{
	struct location loc;
	json_t *cur;
	size_t i;
	char what[96];
	int rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL)
		return sm_error_set(err, SM_EINVAL, "column 1: nowhere to put the value");
	if ((rc = loc_parse(location, 0, &loc, err)) != 0)
		return rc;
	cur = env != NULL ? env->root : NULL;
	for (i = 0; i < loc.n && (cur != NULL || i == 0); i++) {
		const struct loc_step *st = &loc.steps[i];

		cur = st->key != NULL ? json_object_getn(cur, st->key, st->keylen) :
		                        json_array_get(cur, st->index);
		/* the first step is a name: no NUL inside (the parser's tokens) */
		if (cur == NULL && i == 0 && env != NULL && env->name != NULL)
			cur = env->name(env->arg, st->key);
		if (cur == NULL) {
			loc_describe(st, what, sizeof(what));
			rc = sm_error_set(err, SM_EEXPR,
			    "column %d: %s %s does not "
			    "exist: the location names nothing",
			    st->col,
			    i == 0              ? "name" :
			        st->key != NULL ? "member" :
			                          "index",
			    what);
		}
	}
	if (rc == 0)
		*out = json_incref(cur);
	loc_free(&loc);
	return rc;
}

int
sm_location_assign(json_t *root, const char *location, json_t *value,
    struct sm_error *err)
{
	struct location loc;
	json_t *cur, *next, *chain = NULL, *v = NULL, *obj;
	size_t i, j;
	char what[96];
	int rc;

	if (value == NULL)
		return sm_error_set(err, SM_EINVAL, "column 1: no value to assign");
	if (!json_is_object(root))
		return sm_error_set(err, SM_EINVAL, "column 1: the datamodel is "
		    "not an object");
	if ((rc = loc_parse(location, 1, &loc, err)) != 0)
		return rc;
	/* Containers are copied: the datamodel never shares a node with the
	 * caller or with itself (task.copy = task would make a cycle). */
	if (json_is_array(value) || json_is_object(value)) {
		if ((v = json_deep_copy(value)) == NULL) {
			rc = sm_error_set(err, SM_ENOMEM, "column 1: out of "
			    "memory");
			goto done;
		}
	} else {
		v = json_incref(value);
	}
	/* Walk what exists without changing anything. */
	cur = root;
	for (i = 0; i + 1 < loc.n; i++) {
		const struct loc_step *st = &loc.steps[i];

		next = NULL;
		if (st->key != NULL) {
			if (!json_is_object(cur)) {
				loc_describe(st, what, sizeof(what));
				rc = sm_error_set(err, SM_EEXPR, "column %d: cannot "
				    "set member %s: the value there is %s, not an "
				    "object", st->col, what, type_name(cur));
				goto done;
			}
			next = json_object_getn(cur, st->key, st->keylen);
		} else {
			if (!json_is_array(cur)) {
				rc = sm_error_set(err, SM_EEXPR, "column %d: cannot "
				    "index [%zu]: the value there is %s, not an "
				    "array", st->col, st->index, type_name(cur));
				goto done;
			}
			if (st->index > json_array_size(cur)) {
				rc = sm_error_set(err, SM_EEXPR, "column %d: index "
				    "[%zu] is past the end of the array (size "
				    "%zu)", st->col, st->index,
				    json_array_size(cur));
				goto done;
			}
			next = json_array_get(cur, st->index);
		}
		if (next == NULL)
			break;
		cur = next;
	}
	/* Steps i+1.. are created: they must all be member names. */
	for (j = loc.n; j-- > i + 1;) {
		const struct loc_step *st = &loc.steps[j];

		if (st->key == NULL) {
			rc = sm_error_set(err, SM_EEXPR, "column %d: cannot index "
			    "[%zu] of a member that does not exist: create the "
			    "array first", st->col, st->index);
			goto done;
		}
	}
	chain = v;
	v = NULL;
	for (j = loc.n; j-- > i + 1;) {
		const struct loc_step *st = &loc.steps[j];

		if ((obj = json_object()) == NULL ||
		    json_object_setn_new(obj, st->key, st->keylen, chain) != 0) {
			json_decref(obj);
			chain = NULL;
			rc = sm_error_set(err, SM_ENOMEM, "column 1: out of "
			    "memory");
			goto done;
		}
		chain = obj;
	}
	/* Attach the new value (or chain) at step i: the one mutation. */
	{
		const struct loc_step *st = &loc.steps[i];

		if (st->key != NULL) {
			if (!json_is_object(cur)) {
				loc_describe(st, what, sizeof(what));
				rc = sm_error_set(err, SM_EEXPR, "column %d: cannot "
				    "set member %s: the value there is %s, not an "
				    "object", st->col, what, type_name(cur));
				goto done;
			}
			rc = json_object_setn_new(cur, st->key, st->keylen, chain);
		} else {
			if (!json_is_array(cur)) {
				rc = sm_error_set(err, SM_EEXPR, "column %d: cannot "
				    "index [%zu]: the value there is %s, not an "
				    "array", st->col, st->index, type_name(cur));
				goto done;
			}
			if (st->index > json_array_size(cur)) {
				rc = sm_error_set(err, SM_EEXPR, "column %d: index "
				    "[%zu] is past the end of the array (size "
				    "%zu)", st->col, st->index,
				    json_array_size(cur));
				goto done;
			}
			rc = st->index == json_array_size(cur) ?
			    json_array_append_new(cur, chain) :
			    json_array_set_new(cur, st->index, chain);
		}
		chain = NULL; /* the _new setters consume it even on failure */
		if (rc != 0)
			rc = sm_error_set(err, SM_ENOMEM, "column 1: out of memory");
	}
done:
	json_decref(chain);
	json_decref(v);
	loc_free(&loc);
	return rc;
}
