/*
 * sm_machine.h - load and validate SCXML machine files (our profile).
 *
 * A machine file is a W3C SCXML 1.0 document restricted to the profile in
 * docs/machine-format.md.  Loading parses it with libxml2 (hardened: no
 * DTD, no entities, no network), validates it against the RelaxNG schema
 * docs/scxml-profile.rng (compiled into the library, so no file is needed
 * at run time), builds the model of engine/sm_model.h and runs the static
 * checks (targets exist, ids unique, every state can reach a final state,
 * actions registered, delays well formed, In() names existing states...).
 *
 * Like a compiler, the loader keeps going after an error and reports every
 * problem it finds as one struct sm_diag each; print them with
 * sm_diag_format() / sm_diags_print() as "file:line: message" (or
 * "file:line:col: message" when the column is known).
 *
 * A loaded machine is immutable: share it between instances and threads.
 */
#ifndef SM_MACHINE_H
#define SM_MACHINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sm_machine; /* body in sm_model.h (engine-internal) */

/* The namespaces of a machine file (docs/machine-format.md, "Namespaces"). */
#define SM_NS_SCXML "http://www.w3.org/2005/07/scxml"
#define SM_NS_SMD "urn:smd:scxml:1" /* our extensions: action invokes, sm:* retry */
/* The one event processor <send type> may name (or leave out). */
#define SM_SCXML_PROCESSOR "http://www.w3.org/TR/scxml/#SCXMLEventProcessor"

/* One diagnostic: an error (a refusal) or a warning.  `file` is the document it is about (a child document
 * loaded through <invoke src=> has its own path); line 0 means "the whole
 * file", col 0 means "column unknown".  Strings are owned by the diags. */
struct sm_diag {
	char *file;
	int line;
	int col;
	char *msg;       /* lower case, no location prefix, no newline */
	int warning;     /* 1: a warning (the machine still loads), e.g. a
	                    state that is never entered; 0: an error */
};

struct sm_diags {
	struct sm_diag *v;
	size_t n;
};

/* The loader keeps at most this many diagnostics per load, plus one last
 * entry saying that it stopped; a broken file should not flood a terminal. */
#define SM_DIAGS_MAX 100

/* Free every diagnostic and reset `d` to empty.  NULL is allowed. */
void sm_diags_free(struct sm_diags *d);

/* Format one diagnostic as "file:line[:col]: [warning: ]msg" into buf (always
 * NUL-terminated, truncated to size); returns buf. */
char *sm_diag_format(const struct sm_diag *d, char *buf, size_t size);

/* Print every diagnostic, one per line, to `fp`. */
void sm_diags_print(const struct sm_diags *d, FILE *fp);

#define SM_LOAD_MAX_BYTES_DEFAULT ((size_t)1 << 20) /* 1 MiB */
#define SM_LOAD_MAX_DEPTH_DEFAULT 64
#define SM_LOAD_MAX_INVOKE_DEPTH  8   /* nested child documents (src=/content) */
#define SM_LOAD_MAX_DOCUMENTS     64  /* documents per load, children included */
#define SM_LOAD_MAX_TOTAL_FACTOR  4   /* all documents together: 4 x max_bytes */
#define SM_LOAD_MAX_TARGETS       64  /* ids in one target or initial list
                                         (checked pairwise) */

struct sm_load_opts {
	size_t max_bytes;    /* 0: SM_LOAD_MAX_BYTES_DEFAULT; files (and each
	                        child document) larger are refused unparsed */
	int max_depth;       /* 0: SM_LOAD_MAX_DEPTH_DEFAULT; element nesting */
	/* 1 if an action of that name is registered, 0 if not.  NULL: invoked
	 * action names are not checked. */
	int (*action_known)(void *arg, const char *name);
	void *action_arg;
	/* 1: a machine with no <final>, or with a state that cannot reach one,
	 * is refused (an error with the line).  0 (default): SCXML allows such
	 * machines; they load with a warning.  The daemon sets it: every task
	 * must be able to end. */
	int require_final;
};

/*
 * Load the machine file at `path`.  `opt` may be NULL (defaults).  On
 * success returns 0 and stores a new machine in *out (free it with
 * sm_machine_free).  On failure returns a negative SM_E* code
 * (SM_EPARSE: malformed or hostile XML, SM_EINVALID: schema or static
 * check, SM_ETOOBIG: over max_bytes, SM_ENOTFOUND/SM_EIO/SM_EPERM: cannot
 * read, SM_ENOMEM), sets *out to NULL and appends one diagnostic per
 * problem to `diags` (which may be NULL if the caller only wants the
 * code; it must be zero-initialized or hold earlier diagnostics).
 * A successful load may still append warnings (sm_diag.warning == 1).
 * Child documents named by <invoke src="file:x.scxml"> are read relative
 * to the directory of `path`.
 */
int sm_machine_load_file(const char *path, const struct sm_load_opts *opt,
    struct sm_machine **out, struct sm_diags *diags);

/*
 * Same, from `len` bytes at `buf` (need not be NUL-terminated; copied).
 * `name` is used in messages and as the machine's path (NULL:
 * "<memory>").  `base_dir` is the directory for <invoke src=> (NULL: a
 * document that names a child file is refused).
 */
int sm_machine_load_memory(const char *buf, size_t len, const char *name,
    const char *base_dir, const struct sm_load_opts *opt,
    struct sm_machine **out, struct sm_diags *diags);

/*
 * Load a child machine when its invocation starts (<invoke srcexpr>,
 * <content expr>): exactly one of `src` (a file name with the rules of
 * <invoke src>, relative to the directory of `parent`'s file) or `markup`
 * (the document itself; the files it names are relative to that directory
 * too).  Returns and reports as sm_machine_load_file (default options).
 */
int sm_machine_load_child(const struct sm_machine *parent, const char *src,
    const char *markup, struct sm_machine **out, struct sm_diags *diags);

/* Free a machine and its child machines.  NULL is allowed. */
void sm_machine_free(struct sm_machine *m);

/* Index of the state with that id in m->states, or -1 if none. */
int sm_machine_state_index(const struct sm_machine *m, const char *id);

/* 1 if the machine declares <data id="`id`"> (in any <datamodel>), else 0. */
int sm_machine_declares_data(const struct sm_machine *m, const char *id);

/*
 * Write the machine as a Graphviz DOT digraph to `out`: one node per
 * state (compound and parallel states as clusters), one edge per
 * transition target labelled "event [cond]", the initial states marked
 * by an edge from a point node.  Returns 0 or SM_EIO.
 */
int sm_machine_graph_dot(const struct sm_machine *m, FILE *out);

/* The SHA-256 of the document bytes (the machine version) as 64 lower
 * case hex digits in buf; returns buf. */
const char *sm_machine_hash_hex(const struct sm_machine *m, char buf[65]);

/* The RelaxNG schema compiled into the library (docs/scxml-profile.rng). */
const char *sm_machine_schema_text(void);

#endif
