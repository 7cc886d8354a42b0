/*
 * sm_statedir.h - the state directory: its layout on disk, its creation
 * with the right modes, its instance id, and the lock that lets one
 * process write it.  Layout, modes and locking: docs/statedir.md.
 *
 *   <dir>/                0700
 *     lock                0600  flock(LOCK_EX) of the writer; holds its pid
 *     instance-id         0600  28 chars of [a-z0-9] and a newline, made once
 *     store/              0700  the LMDB environment (store/store.h)
 *     objects/            0700  local backend objects (transport/local.c)
 *     queue.notify        0600  local backend: touched after every queue write
 *     work/               0700  per-task work directories (work/<name>)
 *     branches/           0700  spiders_repo's worktrees: branches/<branch
 *                               name encoded>/<commit>, <commit>.ready
 *                               (actions/act_branch.h)
 *     control             0600  the writer's control socket (unix, stream),
 *                               while a daemon runs (docs/daemon.md)
 *     smd.log             0600  the daemon's own log
 *
 * The names are the SM_STATEDIR_* macros below; store.c and the local
 * transport build their paths from them (and from the paths an open
 * struct sm_statedir gives), so the layout is written down once, here.
 *
 * One writer per state directory: sm_statedir_open(SM_STATEDIR_WRITE)
 * takes flock(LOCK_EX | LOCK_NB) on <dir>/lock and keeps it until
 * sm_statedir_close() or the process ends (a crash releases it: the kernel
 * drops flock locks with the last descriptor).  A second writer, in this
 * process or another, gets SM_EBUSY and a message that names the holder's
 * pid.  Readers (smctl inspect) open with SM_STATEDIR_READ: no lock, nothing
 * created, and they work while a writer runs (the store's readers never
 * block its writer).  The lock descriptor is close-on-exec, so children
 * (spiders) never hold it.
 *
 * A struct sm_statedir belongs to one thread; all strings it returns are
 * owned by it and live until sm_statedir_close().
 */
#ifndef SM_STATEDIR_H
#define SM_STATEDIR_H

#include <sys/types.h>

#include "sm_err.h"

#define SM_STATEDIR_LOCK "lock"
#define SM_STATEDIR_INSTANCE_ID "instance-id"
#define SM_STATEDIR_STORE "store"
#define SM_STATEDIR_OBJECTS "objects"
#define SM_STATEDIR_NOTIFY "queue.notify"
#define SM_STATEDIR_WORK "work"
#define SM_STATEDIR_CONTROL "control"
#define SM_STATEDIR_BRANCHES "branches"
#define SM_STATEDIR_LOG "smd.log" /* the daemon's own log (daemon/smd.c) */
/* work/<SM_STATEDIR_TRASH><name>: a work directory being removed (no work
 * directory name starts with '.') */
#define SM_STATEDIR_TRASH ".trash-"

/* The instance id: SM_STATEDIR_ID_LEN characters of [a-z0-9] (SPEC section 4). */
#define SM_STATEDIR_ID_LEN 28
/* A work directory name: 1 to SM_STATEDIR_NAME_MAX bytes of [A-Za-z0-9._-],
 * not starting with '.'. */
#define SM_STATEDIR_NAME_MAX 200

struct sm_statedir;

enum sm_statedir_mode {
	SM_STATEDIR_READ = 0,   /* no lock, nothing created */
	SM_STATEDIR_WRITE = 1   /* create what is missing, take the lock */
};

/*
 * Open the state directory `dir`.
 *
 * SM_STATEDIR_WRITE: creates `dir` if missing (its parents are not),
 * store/, objects/, work/ and branches/ (0700), takes the lock (writing our pid into
 * <dir>/lock), then makes <dir>/instance-id if missing (0600, written to a
 * temporary file, synced and renamed, so a crash never leaves half an id).
 * An existing directory, file or id is kept as it is; a directory with
 * looser modes than 0700 is accepted (the operator chose them) but new
 * entries are created 0700/0600 whatever the umask.
 *
 * SM_STATEDIR_READ: nothing is created and no lock is taken; a missing
 * `dir` is SM_ENOTFOUND.  The instance id is read if present ("" if not).
 *
 * Codes: SM_EINVAL (NULL or empty dir, not a directory), SM_ENOTFOUND,
 * SM_EBUSY (another writer holds the lock; err names its pid and what to
 * do), SM_EPERM, SM_ECORRUPT (an instance-id file that is not 28 chars of
 * [a-z0-9]), SM_ENOMEM, SM_EIO.  On failure *out is NULL, nothing is held,
 * and `err` says what, where and what to do.
 */
int sm_statedir_open(struct sm_statedir **out, const char *dir, enum sm_statedir_mode mode,
    struct sm_error *err);
/* Release the lock (if held) and free.  NULL is allowed. */
void sm_statedir_close(struct sm_statedir *sd);

/* The directory as given to sm_statedir_open(). */
const char *sm_statedir_path(const struct sm_statedir *sd);
/* "<dir>/store", "<dir>/objects", "<dir>/queue.notify", "<dir>/work". */
const char *sm_statedir_store_path(const struct sm_statedir *sd);
const char *sm_statedir_objects_path(const struct sm_statedir *sd);
const char *sm_statedir_notify_path(const struct sm_statedir *sd);
const char *sm_statedir_work_path(const struct sm_statedir *sd);
/* "<dir>/branches": where the branches' worktrees are. */
const char *sm_statedir_branches_path(const struct sm_statedir *sd);
/* "<dir>/control": the control socket's path. */
const char *sm_statedir_control_path(const struct sm_statedir *sd);
/* The instance id (28 chars), or "" for a reader of a directory without one. */
const char *sm_statedir_instance_id(const struct sm_statedir *sd);
/* 1 if this handle holds the writer's lock. */
int sm_statedir_is_writer(const struct sm_statedir *sd);

/*
 * The work directory "<dir>/work/<name>" in *out (malloc'd, the caller
 * frees), created 0700 when `create` is set and this handle is the writer.
 * SM_EINVAL for a name that breaks the rule of SM_STATEDIR_NAME_MAX (so a
 * name can never leave work/), SM_EPERM for create on a reader, SM_ENOMEM,
 * SM_EIO.  An existing directory is fine; a symlink or file there is
 * SM_EINVAL.
 */
int sm_statedir_work_dir(struct sm_statedir *sd, const char *name, int create, char **out,
    struct sm_error *err);

/*
 * The directory of branch `branch` (any non-empty string): "<dir>/branches/
 * <name>" in *out (malloc'd, the caller frees), created 0700 when `create`
 * is set and this handle is the writer.  <name> is one path component made
 * from the branch name (sm_statedir_branch_name), so no branch name can
 * leave branches/.  SM_EINVAL (an empty branch name; a symlink or file
 * there), SM_EPERM for create on a reader, SM_ENOMEM, SM_EIO.
 */
int sm_statedir_branch_dir(
    struct sm_statedir *sd, const char *branch, int create, char **out, struct sm_error *err);
/*
 * The directory name of a branch: its bytes, A-Z a-z 0-9 _ - and '.' (not
 * first) kept, every other byte as %XX (upper-case hex): "feature/x" is
 * "feature%2Fx".  A name longer than SM_STATEDIR_NAME_MAX is cut to 180
 * bytes (never inside a %XX) and "~" and 16 hex digits of a 64-bit FNV-1a
 * hash of the whole branch name are appended.  So the name is 1 to
 * SM_STATEDIR_NAME_MAX bytes of [A-Za-z0-9._%~-], never "." or "..", and
 * holds no '/'.  `out` has room for SM_STATEDIR_NAME_MAX + 1 bytes.
 */
#define SM_STATEDIR_BRANCH_CUT 180
void sm_statedir_branch_name(const char *branch, char out[SM_STATEDIR_NAME_MAX + 1]);

/*
 * Remove the work directory "<dir>/work/<name>" and everything in it (the
 * writer only: SM_EPERM for a reader).  It is first renamed to
 * work/.trash-<name> (a trash of that name left before is removed first),
 * so a crash at any moment leaves either the whole directory or a trash
 * that no reader of work directories takes for one (sm_statedir_work_dir's
 * names never start with '.') and that sm_statedir_work_trash_clean()
 * removes.  The removal never follows a symbolic link (a link inside is
 * removed, never what it points to, also for a link in place of the
 * directory itself), never enters another file system, and makes
 * unreadable directories 0700 to empty them.  0 also when there is no such
 * directory; SM_EINVAL for a bad name; otherwise the first failure
 * (SM_EPERM, SM_EIO, SM_ETOOBIG for more than 128 nested levels, ...) with
 * err naming the trash and the entry, and the trash left for a next try.
 */
int sm_statedir_work_remove(struct sm_statedir *sd, const char *name, struct sm_error *err);

/* Remove every work/.trash-* (what a crash in sm_statedir_work_remove
 * left); *removed counts them.  The writer only.  0 or the first failure
 * (the others are still tried). */
int sm_statedir_work_trash_clean(struct sm_statedir *sd, unsigned *removed, struct sm_error *err);

/* The entries of work/ whose names are work directory names (trash and
 * other names skipped), as a NULL-terminated array in *names (free with
 * sm_statedir_names_free).  0, SM_ENOMEM, or the code of a failed opendir
 * (err says which). */
int sm_statedir_work_list(struct sm_statedir *sd, char ***names, struct sm_error *err);
void sm_statedir_names_free(char **names);

/*
 * The control socket, for the writer: a unix stream socket bound at
 * <dir>/control, mode 0600 (made so under umask 0177, never wider), listening,
 * non-blocking and close-on-exec, in *fd.  A socket file left there by a
 * writer that died is replaced (the lock says it is ours); anything else
 * there is refused (SM_EINVAL).  sm_statedir_close() removes the file.
 * Codes: SM_EPERM (a reader), SM_ETOOBIG (the path is longer than a unix
 * socket address holds; err says to shorten it), SM_EINVAL, or the
 * socket/bind/listen error translated.  err says what and where.
 */
int sm_statedir_control_listen(struct sm_statedir *sd, int *fd, struct sm_error *err);
/*
 * Connect to the control socket of `sd` (a reader is enough): a blocking,
 * close-on-exec stream socket in *fd.  SM_ENOTFOUND when no process
 * listens there (no socket file, or one left by a writer that died),
 * SM_ETOOBIG as above, or the connect error translated.
 */
int sm_statedir_control_connect(const struct sm_statedir *sd, int *fd, struct sm_error *err);

/*
 * The pid written in <dir>/lock by the last writer, whether it still holds
 * the lock or not: 0 and *pid on success, SM_ENOTFOUND when there is no
 * lock file or no pid in it.  Only informative (readers use it to say who
 * writes); the lock itself is the truth.
 */
int sm_statedir_lock_pid(const char *dir, pid_t *pid);

#endif
