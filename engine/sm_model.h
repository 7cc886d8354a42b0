/*
 * sm_model.h - the in-memory form of a loaded machine (engine-internal).
 *
 * The loader (sm_load.c) builds this from an SCXML document; the
 * interpreter (sm_interp.c) only reads it.  A loaded machine is immutable
 * and may be shared by every instance that runs it.
 *
 * States live in one array in document order (index 0 is the <scxml> root,
 * a compound state); every reference between states is an index into that
 * array, so the interpreter needs no pointers and a configuration is a
 * bitset of state indices.  Executable content is a tree of sm_exec nodes.
 */
#ifndef SM_MODEL_H
#define SM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct sm_expr; /* engine/sm_expr.h: a parsed expression of the task datamodel */

enum sm_state_kind {
	SM_ST_ROOT = 0,   /* the <scxml> element (compound) */
	SM_ST_ATOMIC,     /* <state> without child states */
	SM_ST_COMPOUND,   /* <state> with child states */
	SM_ST_PARALLEL,
	SM_ST_FINAL,
	SM_ST_HISTORY_SHALLOW,
	SM_ST_HISTORY_DEEP,
	SM_ST_INITIAL     /* pseudo-state for an <initial> element */
};

enum sm_datamodel_kind {
	SM_DM_NULL = 0,
	SM_DM_TASK
};

enum sm_exec_kind {
	SM_X_RAISE,       /* event */
	SM_X_SEND,        /* see struct sm_send */
	SM_X_CANCEL,      /* sendid | sendidexpr */
	SM_X_LOG,         /* label, expr */
	SM_X_ASSIGN,      /* location, expr (task datamodel) */
	SM_X_IF,          /* cond; children; else-branches chained in `next_branch` */
	SM_X_FOREACH      /* array, item, index; body (task datamodel) */
};

struct sm_param {
	char *name;            /* NULL for a <data> declaration's unused slot */
	struct sm_expr *expr;  /* task datamodel; NULL with `location` or literal */
	char *expr_src;
	char *location;        /* datamodel path; NULL if expr */
	int line;
	int state;             /* data_decls: the state whose <datamodel> holds
	                          it (0: the root), for binding="late" */
};

struct sm_send {
	char *event;           /* literal event name, or NULL with eventexpr */
	struct sm_expr *eventexpr;
	char *target;          /* NULL: external queue of this session;
	                          "#_internal", "#_parent", "#_<invokeid>"; may
	                          be invalid (error.execution when it runs) */
	struct sm_expr *targetexpr; /* instead of target: its value at run time */
	char *type;            /* NULL or the SCXML event processor URI; may be
	                          invalid (error.execution when it runs) */
	struct sm_expr *typeexpr;   /* instead of type */
	char *id;              /* sendid (literal) or NULL */
	char *idlocation;      /* where to store a generated id, or NULL */
	int64_t delay_ms;      /* from delay="1.5s" / "500ms"; 0 none */
	struct sm_expr *delayexpr;
	char **namelist;       /* NULL-terminated or NULL */
	struct sm_param *params;
	size_t nparams;
	struct sm_expr *content_expr; /* <content expr=> */
	char *content;         /* literal <content> text */
};

struct sm_exec {
	enum sm_exec_kind kind;
	int line;              /* source line for error messages */
	union {
		struct { char *event; } raise;
		struct sm_send send;
		struct { char *sendid; struct sm_expr *sendidexpr; } cancel;
		struct { char *label; struct sm_expr *expr; char *expr_src; } log;
		struct {
			char *location;
			struct sm_expr *expr;
			char *expr_src;
			json_t *value;  /* instead of expr: the content (JSON, or
			                   markup as a string) */
		} assign;
		struct {
			struct sm_expr *array;
			char *array_src;
			char *item;     /* a location; may be invalid (error.execution) */
			char *index;    /* a location or NULL */
			struct sm_exec *body;
		} foreach;
		struct {
			struct sm_expr *cond;   /* NULL for <else> */
			char *cond_src;
			struct sm_exec *body;   /* first node of the branch */
			struct sm_exec *next_branch; /* <elseif>/<else> */
		} if_;
	} u;
	struct sm_exec *next;  /* next sibling in the block */
};

/* Condition of a transition: in the null datamodel only In('id') (possibly
 * negated/combined by the task expression language when that datamodel is
 * used); the loader compiles both into sm_expr. */
struct sm_transition {
	int source;            /* state index */
	char **events;         /* NULL-terminated descriptors; NULL: eventless */
	size_t nevents;
	struct sm_expr *cond;  /* NULL: always */
	char *cond_src;
	int *targets;          /* state indices; NULL/0: targetless */
	size_t ntargets;
	int internal;          /* type="internal" */
	struct sm_exec *body;  /* executable content */
	int line;
	int doc_order;         /* global document order of this transition */
};

/* Retry policy of an action invoke (attributes in our namespace). */
struct sm_retry {
	int max_attempts;      /* 1: no retry */
	int64_t initial_delay_ms;
	double backoff_rate;   /* >= 1.0 */
	int64_t max_delay_ms;
	int jitter;            /* 0 none, 1 full jitter */
	char **errors;         /* NULL-terminated error names retried; NULL: all */
};

enum sm_invoke_kind {
	SM_INV_SCXML,          /* child SCXML session */
	SM_INV_ACTION          /* registered C action (our namespace) */
};

struct sm_invoke {
	enum sm_invoke_kind kind;
	char *id;              /* literal id, or NULL: generated "<state>.<n>" */
	char *idlocation;
	struct sm_expr *typeexpr; /* child machines only: the type, checked when
	                          the invocation starts */
	struct sm_expr *srcexpr;  /* child machines only: the child document's
	                          name, evaluated when the invocation starts and
	                          loaded then (child is NULL) */
	struct sm_expr *content_expr; /* <content expr>: the child document's
	                          markup, the same way */
	char *src;             /* action name, or child document path (resolved
	                          relative to the parent file) */
	struct sm_machine *child; /* SCXML: loaded child (from src or <content>) */
	struct sm_param *params;
	size_t nparams;
	char **namelist;
	int autoforward;
	struct sm_exec *finalize;
	struct sm_retry retry;
	int line;
};

struct sm_state {
	enum sm_state_kind kind;
	char *id;              /* never NULL: generated "__sN" when absent */
	int parent;            /* -1 for the root */
	int *children;         /* child state indices in document order */
	size_t nchildren;
	int depth;             /* root 0 */
	int initial;           /* index of the <initial> child pseudo-state (its
	                          one transition gives targets and content), or -1 */
	int *initial_targets;  /* root/compound without <initial>: the targets of
	                          the initial="a b" attribute, or else the first
	                          child state in document order (the loader fills
	                          this in); NULL for atomic/parallel/<initial> */
	size_t ninitial_targets;
	/* Children: `children` lists every child element that is a state,
	 * including the <initial> and <history> pseudo-states (check `kind`).
	 * <initial>/<history> pseudo-states hold exactly one transition (the
	 * default), without event or cond. */
	struct sm_transition **transitions; /* in document order */
	size_t ntransitions;
	struct sm_exec **onentry; /* one block per <onentry>, document order */
	size_t nonentry;
	struct sm_exec **onexit;
	size_t nonexit;
	struct sm_invoke *invokes;
	size_t ninvokes;
	json_t *donedata;      /* <donedata><content> literal (JSON text parsed,
	                          else a JSON string), or NULL */
	struct sm_param *done_params;
	size_t ndone_params;
	int line;
	/* added by the loader (additive): */
	struct sm_expr *done_content_expr; /* <donedata><content expr=> or NULL */
};

/* One entry of the id index (the id points into states[state].id). */
struct sm_id_entry {
	const char *id;
	int state;
};

struct sm_machine {
	char *name;            /* <scxml name=> or the file name */
	char *path;            /* source path, or "<memory>" */
	char *base_dir;        /* where the files it names are (<invoke src>,
	                          <data src>, srcexpr), or NULL: loaded from
	                          memory without one */
	unsigned char sha256[32]; /* hash of the document bytes (machine version) */
	char *doc;             /* the document bytes, kept for the store; for an
	                          inline <invoke><content> child: its <scxml>
	                          element as serialized (namespace declarations
	                          it inherits are not repeated: reload a child
	                          through its parent's document) */
	size_t doc_len;
	enum sm_datamodel_kind datamodel;
	json_t *data;          /* initial datamodel (task): <data id expr/src> */
	int binding_late;      /* binding="late": a state's <data> get their values
	                          when it is first entered (null until then) */
	struct sm_state *states; /* [0] is the root */
	size_t nstates;
	struct sm_transition **transitions; /* all, in document order */
	size_t ntransitions;
	struct sm_exec *script;  /* top-level executable content (none in profile) */
	/* added by the loader (additive): */
	struct sm_param *data_decls; /* every <data>, document order: name=id,
	                          expr (evaluate at instance start; NULL when the
	                          value is literal and already in `data`) */
	size_t ndata_decls;
	struct sm_id_entry *by_id; /* nstates entries sorted by id (strcmp);
	                          sm_machine_state_index() searches it */
};

/* The profile's names, one definition for the loader and the interpreter
 * (sm_load.c): */
/* <send type>: NULL (the default), SM_SCXML_PROCESSOR or "scxml". */
int sm_send_type_ok(const char *type);
/* <send target>: NULL (this session), "#_internal", "#_parent", "#_<id>". */
int sm_send_target_ok(const char *target);
/* <invoke type> of a child SCXML machine (not NULL). */
int sm_invoke_type_scxml(const char *type);

#endif
