/*
 * sm_statedir.c - the state directory's layout, creation, instance id and
 * writer lock.  See sm_statedir.h for the contract, docs/statedir.md for
 * the layout.
 *
 * The lock is flock(2), not fcntl(2) record locks: an fcntl lock belongs to
 * the process and is dropped when ANY descriptor of the file is closed
 * (a reader in the same process would release the writer's lock), and a
 * second open in the same process would not be refused.  An flock lock
 * belongs to the open file description, so a second sm_statedir_open()
 * is refused even in the same process, and the kernel releases it when the
 * process dies however it dies.
 */
#include "sm_statedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sm_rand.h"
#include "sm_text.h"

struct sm_statedir {
	char *dir;
	char *store;
	char *objects;
	char *notify;
	char *work;
	char *lock;
	char *idfile;
	char *control;
	char *branches;
	int bound;  /* this handle made the control socket */
	int lockfd; /* -1 for a reader */
	char id[SM_STATEDIR_ID_LEN + 1];
};

static const char sd_alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

static int
sd_errno_code(int e)
{
	if (e == EACCES || e == EPERM || e == EROFS)
		return SM_EPERM;
	return sm_error_from_errno(e);
}

/* Create `path` (0700) if missing; it must then be a directory, not a link. */
static int
sd_mkdir(const char *path, struct sm_error *err)
{
	struct stat sb;

	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		int e = errno;

		return sm_error_set(err, sd_errno_code(e),
		    "state directory: cannot create '%s': %s%s", path, strerror(e),
		    e == EACCES ? ": check the owner and mode of the state directory" : "");
	}
	if (lstat(path, &sb) != 0) {
		int e = errno;

		return sm_error_set(err, sd_errno_code(e),
		    "state directory: cannot examine '%s': %s", path, strerror(e));
	}
	if (!S_ISDIR(sb.st_mode))
		return sm_error_set(
		    err, SM_EINVAL, "state directory: '%s' is not a directory: move it away", path);
	return 0;
}

/* The top directory: created by a writer (not its parents); must be a directory. */
static int
sd_top(const char *dir, enum sm_statedir_mode mode, struct sm_error *err)
{
	struct stat sb;

	if (stat(dir, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode))
			return sm_error_set(err, SM_EINVAL,
			    "state directory '%s' is not a "
			    "directory: give a directory as the state directory",
			    dir);
		return 0;
	}
	if (errno != ENOENT) {
		int e = errno;

		return sm_error_set(err, sd_errno_code(e),
		    "state directory '%s': cannot examine it: %s%s", dir, strerror(e),
		    e == ENOTDIR ? ": a part of the path is not a directory" : "");
	}
	if (mode == SM_STATEDIR_READ)
		return sm_error_set(err, SM_ENOTFOUND,
		    "state directory '%s' does not exist: give the daemon's state directory", dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		int e = errno;

		return sm_error_set(err, sd_errno_code(e),
		    "state directory '%s': cannot create it: %s%s", dir, strerror(e),
		    e == ENOENT ? ": its parent directory must exist" : "");
	}
	return 0;
}

/* Read the pid from an open lock file; 0 if there is none. */
static pid_t
sd_read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;
	long v;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || (*end != '\n' && *end != '\0') || v <= 0 || v > 0x7fffffffL)
		return 0;
	return (pid_t)v;
}

static int
sd_lock(struct sm_statedir *sd, struct sm_error *err)
{
	char buf[32];
	int n;

	sd->lockfd = open(sd->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (sd->lockfd < 0) {
		int e = errno;

		return sm_error_set(err, sd_errno_code(e),
		    "state directory '%s': cannot open the lock file '%s': %s", sd->dir, sd->lock,
		    strerror(e));
	}
	while (flock(sd->lockfd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		pid_t pid;

		if (e == EINTR)
			continue;
		if (e != EWOULDBLOCK)
			return sm_error_set(err, SM_EIO,
			    "state directory '%s': cannot lock '%s': %s", sd->dir, sd->lock,
			    strerror(e));
		pid = sd_read_pid(sd->lockfd);
		if (pid > 0)
			return sm_error_set(err, SM_EBUSY,
			    "state directory '%s' is in use by process %ld (it holds '%s'): stop "
			    "that process (smd, smctl simulate or smctl replay) or give another "
			    "state directory; 'smctl inspect' works meanwhile",
			    sd->dir, (long)pid, sd->lock);
		return sm_error_set(err, SM_EBUSY,
		    "state directory '%s' is in use by another "
		    "process (it holds '%s'): stop it or give another state directory",
		    sd->dir, sd->lock);
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(sd->lockfd, 0) != 0 || pwrite(sd->lockfd, buf, (size_t)n, 0) != n) {
		int e = errno;

		return sm_error_set(err, sm_error_from_errno(e),
		    "state directory '%s': cannot write our pid into '%s': %s", sd->dir, sd->lock,
		    strerror(e));
	}
	return 0;
}

static int
sd_id_valid(const char *s, size_t n)
{
	if (n == SM_STATEDIR_ID_LEN + 1 && s[SM_STATEDIR_ID_LEN] == '\n')
		n--;
	if (n != SM_STATEDIR_ID_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

/* 0 and sd->id filled, SM_ENOTFOUND when there is no id file, or an error. */
static int
sd_id_read(struct sm_statedir *sd, struct sm_error *err)
{
	char buf[SM_STATEDIR_ID_LEN + 8];
	ssize_t n, got = 0;
	int fd = open(sd->idfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			return SM_ENOTFOUND;
		return sm_error_set(err, sd_errno_code(e),
		    "state directory '%s': cannot read "
		    "'%s': %s",
		    sd->dir, sd->idfile, strerror(e));
	}
	while ((size_t)got < sizeof(buf) &&
	    (n = read(fd, buf + got, sizeof(buf) - (size_t)got)) != 0) {
		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			close(fd);
			return sm_error_set(err, SM_EIO,
			    "state directory '%s': cannot read '%s': %s", sd->dir, sd->idfile,
			    strerror(e));
		}
		got += n;
	}
	close(fd);
	if (!sd_id_valid(buf, (size_t)got))
		return sm_error_set(err, SM_ECORRUPT,
		    "state directory '%s': '%s' does not hold "
		    "an instance id (%d characters of a-z and 0-9): restore it, or remove it to "
		    "make a new id (S3 names will then carry the new one)",
		    sd->dir, sd->idfile, SM_STATEDIR_ID_LEN);
	memcpy(sd->id, buf, SM_STATEDIR_ID_LEN);
	sd->id[SM_STATEDIR_ID_LEN] = '\0';
	return 0;
}

/* SM_STATEDIR_ID_LEN uniform draws from sd_alphabet (rejection sampling). */
static int
sd_id_make(char *out)
{
	unsigned char b[64];
	size_t have = 0, used = 0, n = 0;
	const unsigned limit = 256 - 256 % (sizeof(sd_alphabet) - 1);

	while (n < SM_STATEDIR_ID_LEN) {
		if (used == have) {
			if (sm_rand_bytes(b, sizeof(b)) != 0)
				return SM_EIO;
			have = sizeof(b);
			used = 0;
			continue;
		}
		if (b[used] < limit)
			out[n++] = sd_alphabet[b[used] % (sizeof(sd_alphabet) - 1)];
		used++;
	}
	out[n] = '\0';
	return 0;
}

/* Write a new id: temporary file, fsync, rename, fsync the directory. */
static int
sd_id_create(struct sm_statedir *sd, struct sm_error *err)
{
	char *tmp = NULL;
	char line[SM_STATEDIR_ID_LEN + 2];
	int fd = -1, dfd = -1, code = 0;
	const char *what = "";

	if (sd_id_make(sd->id) != 0)
		return sm_error_set(err, SM_EIO,
		    "state directory '%s': no random bytes for the "
		    "instance id: %s",
		    sd->dir, strerror(errno));
	snprintf(line, sizeof(line), "%s\n", sd->id);
	if (asprintf(&tmp, "%s.tmp", sd->idfile) < 0) {
		tmp = NULL;
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	what = "create";
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto fail;
	what = "write";
	if (write(fd, line, SM_STATEDIR_ID_LEN + 1) != SM_STATEDIR_ID_LEN + 1 || fsync(fd) != 0)
		goto fail;
	what = "rename";
	if (rename(tmp, sd->idfile) != 0)
		goto fail;
	what = "sync the directory of";
	if ((dfd = open(sd->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) != 0)
		goto fail;
	goto out;
fail:
	code = sm_error_set(err, sd_errno_code(errno),
	    "state directory '%s': cannot %s the "
	    "instance id file '%s': %s",
	    sd->dir, what, sd->idfile, strerror(errno));
	if (fd >= 0)
		unlink(tmp);
	sd->id[0] = '\0';
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	free(tmp);
	return code;
}

static int
sd_paths(struct sm_statedir *sd, const char *dir)
{
	if ((sd->dir = strdup(dir)) == NULL)
		return SM_ENOMEM;
	if (asprintf(&sd->store, "%s/" SM_STATEDIR_STORE, dir) < 0)
		sd->store = NULL;
	if (asprintf(&sd->objects, "%s/" SM_STATEDIR_OBJECTS, dir) < 0)
		sd->objects = NULL;
	if (asprintf(&sd->notify, "%s/" SM_STATEDIR_NOTIFY, dir) < 0)
		sd->notify = NULL;
	if (asprintf(&sd->work, "%s/" SM_STATEDIR_WORK, dir) < 0)
		sd->work = NULL;
	if (asprintf(&sd->lock, "%s/" SM_STATEDIR_LOCK, dir) < 0)
		sd->lock = NULL;
	if (asprintf(&sd->idfile, "%s/" SM_STATEDIR_INSTANCE_ID, dir) < 0)
		sd->idfile = NULL;
	if (asprintf(&sd->control, "%s/" SM_STATEDIR_CONTROL, dir) < 0)
		sd->control = NULL;
	if (asprintf(&sd->branches, "%s/" SM_STATEDIR_BRANCHES, dir) < 0)
		sd->branches = NULL;
	if (!sd->store || !sd->objects || !sd->notify || !sd->work || !sd->lock || !sd->idfile ||
	    !sd->control || !sd->branches)
		return SM_ENOMEM;
	return 0;
}

int
sm_statedir_open(
    struct sm_statedir **out, const char *dir, enum sm_statedir_mode mode, struct sm_error *err)
{
	struct sm_statedir *sd;
	int code;

	*out = NULL;
	if (dir == NULL || dir[0] == '\0')
		return sm_error_set(err, SM_EINVAL, "no state directory given");
	if ((sd = calloc(1, sizeof(*sd))) == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	sd->lockfd = -1;
	if (sd_paths(sd, dir) != 0) {
		code = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto fail;
	}
	if ((code = sd_top(dir, mode, err)) != 0)
		goto fail;
	if (mode == SM_STATEDIR_WRITE) {
		if ((code = sd_lock(sd, err)) != 0)
			goto fail;
		if ((code = sd_mkdir(sd->store, err)) != 0 ||
		    (code = sd_mkdir(sd->objects, err)) != 0 ||
		    (code = sd_mkdir(sd->work, err)) != 0 ||
		    (code = sd_mkdir(sd->branches, err)) != 0)
			goto fail;
	}
	code = sd_id_read(sd, err);
	if (code == SM_ENOTFOUND)
		code = mode == SM_STATEDIR_WRITE ? sd_id_create(sd, err) : 0;
	if (code != 0)
		goto fail;
	*out = sd;
	return 0;
fail:
	sm_statedir_close(sd);
	return code;
}

void
sm_statedir_close(struct sm_statedir *sd)
{
	if (sd == NULL)
		return;
	if (sd->bound)
		(void)unlink(sd->control); /* before the lock goes: no other writer made it */
	if (sd->lockfd >= 0)
		close(sd->lockfd); /* releases the flock; the pid stays as a hint */
	free(sd->control);
	free(sd->branches);
	free(sd->dir);
	free(sd->store);
	free(sd->objects);
	free(sd->notify);
	free(sd->work);
	free(sd->lock);
	free(sd->idfile);
	free(sd);
}

const char *
sm_statedir_path(const struct sm_statedir *sd)
{
	return sd->dir;
}

const char *
sm_statedir_store_path(const struct sm_statedir *sd)
{
	return sd->store;
}

const char *
sm_statedir_objects_path(const struct sm_statedir *sd)
{
	return sd->objects;
}

const char *
sm_statedir_notify_path(const struct sm_statedir *sd)
{
	return sd->notify;
}

const char *
sm_statedir_work_path(const struct sm_statedir *sd)
{
	return sd->work;
}

const char *
sm_statedir_control_path(const struct sm_statedir *sd)
{
	return sd->control;
}

const char *
sm_statedir_branches_path(const struct sm_statedir *sd)
{
	return sd->branches;
}

/* `path` into a unix socket address, or SM_ETOOBIG (err says what to do). */
static int
sd_sockaddr(const char *path, struct sockaddr_un *sa, struct sm_error *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return sm_error_set(err, SM_ETOOBIG,
		    "control socket path '%s' is longer than a unix socket allows (%zu bytes): "
		    "use a shorter state directory path",
		    path, sizeof(sa->sun_path) - 1);
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

int
sm_statedir_control_listen(struct sm_statedir *sd, int *fd, struct sm_error *err)
{
	struct sockaddr_un sa;
	struct stat sb;
	mode_t old;
	int s, rc, e;

	*fd = -1;
	if (sd->lockfd < 0)
		return sm_error_set(
		    err, SM_EPERM, "only the writer of '%s' makes its control socket", sd->dir);
	if ((rc = sd_sockaddr(sd->control, &sa, err)) != 0)
		return rc;
	/* a socket left by a writer that died: ours now (we hold the lock) */
	if (lstat(sd->control, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode))
			return sm_error_set(err, SM_EINVAL,
			    "'%s' is not a socket: remove it (the control socket is made there)",
			    sd->control);
		if (unlink(sd->control) != 0)
			return sm_error_set(err, sm_error_from_errno(errno),
			    "cannot remove the old control socket '%s': %s", sd->control,
			    strerror(errno));
	}
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return sm_error_set(err, sm_error_from_errno(errno),
		    "cannot make a unix socket: %s", strerror(errno));
	old = umask(0177); /* the socket file is made 0600, never wider for a moment */
	rc = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	umask(old);
	if (rc == 0) {
		sd->bound = 1;
		if (chmod(sd->control, 0600) != 0 || listen(s, 16) != 0) {
			e = errno;
			rc = -1;
		}
	}
	if (rc != 0) {
		close(s);
		return sm_error_set(err, sm_error_from_errno(e),
		    "cannot listen on the control socket '%s': %s", sd->control, strerror(e));
	}
	*fd = s;
	return 0;
}

int
sm_statedir_control_connect(const struct sm_statedir *sd, int *fd, struct sm_error *err)
{
	struct sockaddr_un sa;
	int s, rc;

	*fd = -1;
	if ((rc = sd_sockaddr(sd->control, &sa, err)) != 0)
		return rc;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return sm_error_set(err, sm_error_from_errno(errno),
		    "cannot make a unix socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(s);
		if (e == ENOENT || e == ECONNREFUSED)
			return sm_error_set(
			    err, SM_ENOTFOUND, "no process listens on '%s'", sd->control);
		return sm_error_set(err, sm_error_from_errno(e), "cannot connect to '%s': %s",
		    sd->control, strerror(e));
	}
	*fd = s;
	return 0;
}

const char *
sm_statedir_instance_id(const struct sm_statedir *sd)
{
	return sd->id;
}

int
sm_statedir_is_writer(const struct sm_statedir *sd)
{
	return sd->lockfd >= 0;
}

/* A work directory name (SM_STATEDIR_NAME_MAX's rule); err set when not. */
static int
work_name_ok(const char *name, struct sm_error *err)
{
	size_t n = name ? strlen(name) : 0;
	char esc[80];

	if (n == 0 || n > SM_STATEDIR_NAME_MAX || name[0] == '.' ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
	        n) {
		sm_error_set(err, SM_EINVAL,
		    "work directory name '%s' is refused: 1 to %d of A-Z "
		    "a-z 0-9 . _ -, not starting with '.'",
		    sm_text_escape(esc, 64, name ? name : "", n > 64 ? 64 : n),
		    SM_STATEDIR_NAME_MAX);
		return 0;
	}
	return 1;
}

/* "<parent>/<name>" (a safe name) in *out, made 0700 when `create` (a
 * writer only); `what` names the kind of directory in messages. */
static int
sd_subdir(struct sm_statedir *sd, const char *parent, const char *name, const char *what,
    int create, char **out, struct sm_error *err)
{
	char *path;
	int code;

	if (create && sd->lockfd < 0)
		return sm_error_set(err, SM_EPERM,
		    "state directory '%s': opened for reading: "
		    "cannot create a %s directory",
		    sd->dir, what);
	if (asprintf(&path, "%s/%s", parent, name) < 0)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	if (create && (code = sd_mkdir(path, err)) != 0) {
		free(path);
		return code;
	}
	*out = path;
	return 0;
}

/* ---- removing work directories ------------------------------------------ */

/* A run's files are deleted below this many levels only by hand. */
#define RM_DEPTH_MAX 128

/* What a removal reports: the tree (for messages) and the first failure. */
struct rm {
	const char *top; /* "<dir>/work/.trash-<name>" */
	dev_t dev;       /* the file system of work/: never left */
	struct sm_error *err;
};

static int
rm_fail(struct rm *r, int code, const char *name, const char *what)
{
	char esc[160];

	return sm_error_set(r->err, code, "cannot remove '%s' (at '%s'): %s; remove it by hand",
	    r->top, sm_text_escape(esc, sizeof(esc), name, strlen(name)), what);
}

/*
 * Remove the entry `name` of the directory `dfd`, and for a directory all
 * it holds first.  Never follows a symbolic link (a link is removed, not
 * what it names: fstatat/openat with AT_SYMLINK_NOFOLLOW/O_NOFOLLOW, each
 * directory opened relative to its parent's descriptor), never enters
 * another file system, and gives a directory without permissions 0700 so
 * that it can be emptied.  A missing entry is no error.
 */
static int
rm_at(struct rm *r, int dfd, const char *name, int depth)
{
	struct stat sb, sb2;
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return 0;
		return rm_fail(r, sm_error_from_errno(errno), name, strerror(errno));
	}
	if (!S_ISDIR(sb.st_mode)) {
		if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
			return rm_fail(r, sm_error_from_errno(errno), name, strerror(errno));
		return 0;
	}
	if (sb.st_dev != r->dev)
		return rm_fail(r, SM_EPERM, name, "a mount point: not entered");
	if (depth >= RM_DEPTH_MAX)
		return rm_fail(r, SM_ETOOBIG, name, "directories nested too deep");
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES) {
		/* a directory (fstatat said so) its owner made unreadable */
		(void)fchmodat(dfd, name, 0700, 0);
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return rm_fail(r, sm_error_from_errno(errno), name, strerror(errno));
	}
	/* the directory opened is the one looked at, not one put in its place */
	if (fstat(fd, &sb2) != 0 || sb2.st_dev != sb.st_dev || sb2.st_ino != sb.st_ino) {
		close(fd);
		return rm_fail(r, SM_EIO, name, "replaced while it was removed");
	}
	(void)fchmod(fd, 0700);
	if ((d = fdopendir(fd)) == NULL) {
		int e = errno;

		close(fd);
		return rm_fail(r, sm_error_from_errno(e), name, strerror(e));
	}
	while (rc == 0) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				rc = rm_fail(r, sm_error_from_errno(errno), name, strerror(errno));
			break;
		}
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			rc = rm_at(r, dirfd(d), de->d_name, depth + 1);
	}
	closedir(d);
	if (rc == 0 && unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = rm_fail(r, sm_error_from_errno(errno), name, strerror(errno));
	return rc;
}

/* work/ opened for removals (the writer's), its file system in r->dev. */
static int
work_open(struct sm_statedir *sd, struct rm *r, struct sm_error *err)
{
	struct stat sb;
	int fd;

	if (sd->lockfd < 0)
		return sm_error_set(err, SM_EPERM,
		    "state directory '%s': opened for reading: "
		    "cannot remove a work directory",
		    sd->dir);
	fd = open(sd->work, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return sm_error_set(
		    err, sm_error_from_errno(e), "cannot open '%s': %s", sd->work, strerror(e));
	}
	r->dev = sb.st_dev;
	r->err = err;
	return fd;
}

int
sm_statedir_work_remove(struct sm_statedir *sd, const char *name, struct sm_error *err)
{
	char trash[SM_STATEDIR_NAME_MAX + sizeof(SM_STATEDIR_TRASH)], top[4400];
	struct rm r;
	int wfd, rc;

	if (!work_name_ok(name, err))
		return SM_EINVAL;
	if ((wfd = work_open(sd, &r, err)) < 0)
		return wfd;
	snprintf(trash, sizeof(trash), SM_STATEDIR_TRASH "%s", name);
	snprintf(top, sizeof(top), "%s/%s", sd->work, trash);
	r.top = top;
	/* a trash of the same name left by a crash goes first */
	if ((rc = rm_at(&r, wfd, trash, 0)) == 0 && renameat(wfd, name, wfd, trash) != 0 &&
	    errno != ENOENT)
		rc = sm_error_set(err, sm_error_from_errno(errno),
		    "cannot rename '%s/%s' to '%s': %s", sd->work, name, trash, strerror(errno));
	if (rc == 0)
		rc = rm_at(&r, wfd, trash, 0);
	close(wfd);
	return rc;
}

/* The work directory names in work/ (`trash`: the trash names instead), as
 * a NULL-terminated malloc'd array of malloc'd strings, read whole before
 * anything is removed. */
static int
work_names(struct sm_statedir *sd, int trash, char ***out, struct sm_error *err)
{
	size_t tl = strlen(SM_STATEDIR_TRASH), n = 0;
	struct dirent *de;
	char **v = calloc(1, sizeof(*v)), **nv;
	DIR *d;

	*out = NULL;
	if (!v)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	if ((d = opendir(sd->work)) == NULL) {
		free(v);
		return sm_error_set(err, sm_error_from_errno(errno), "cannot read '%s': %s",
		    sd->work, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		int is_trash = strncmp(de->d_name, SM_STATEDIR_TRASH, tl) == 0;

		if (trash ? !is_trash : !work_name_ok(de->d_name, NULL))
			continue;
		if ((nv = realloc(v, (n + 2) * sizeof(*v))) == NULL)
			break;
		v = nv;
		if ((v[n] = strdup(de->d_name)) == NULL)
			break;
		v[++n] = NULL;
	}
	closedir(d);
	if (de != NULL) {
		sm_statedir_names_free(v);
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	*out = v;
	return 0;
}

void
sm_statedir_names_free(char **names)
{
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

int
sm_statedir_work_list(struct sm_statedir *sd, char ***names, struct sm_error *err)
{
	return work_names(sd, 0, names, err);
}

int
sm_statedir_work_trash_clean(struct sm_statedir *sd, unsigned *removed, struct sm_error *err)
{
	char **v = NULL, top[4400];
	struct rm r;
	int wfd, rc;

	*removed = 0;
	if ((wfd = work_open(sd, &r, err)) < 0)
		return wfd;
	if ((rc = work_names(sd, 1, &v, err)) != 0) {
		close(wfd);
		return rc;
	}
	for (size_t i = 0; v[i]; i++) {
		struct sm_error e1;
		int rc1;

		snprintf(top, sizeof(top), "%s/%s", sd->work, v[i]);
		r.top = top;
		r.err = rc ? &e1 : err; /* the first failure is reported, the rest tried */
		if ((rc1 = rm_at(&r, wfd, v[i], 0)) == 0)
			(*removed)++;
		else if (rc == 0)
			rc = rc1;
	}
	sm_statedir_names_free(v);
	close(wfd);
	return rc;
}

int
sm_statedir_work_dir(
    struct sm_statedir *sd, const char *name, int create, char **out, struct sm_error *err)
{
	*out = NULL;
	if (!work_name_ok(name, err))
		return SM_EINVAL;
	return sd_subdir(sd, sd->work, name, "work", create, out, err);
}

void
sm_statedir_branch_name(const char *branch, char out[SM_STATEDIR_NAME_MAX + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 */
	size_t i, o = 0, cut = 0;
	int over = 0;

	for (i = 0; branch[i]; i++) {
		unsigned char c = (unsigned char)branch[i];

		h = (h ^ c) * 1099511628211ULL;
		if (over)
			continue;
		if (o <= SM_STATEDIR_BRANCH_CUT)
			cut = o; /* the last whole piece that fits the cut */
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-' || (c == '.' && i > 0)) {
			if (o + 1 > SM_STATEDIR_NAME_MAX) {
				over = 1;
				continue;
			}
			out[o++] = (char)c;
		} else {
			if (o + 3 > SM_STATEDIR_NAME_MAX) {
				over = 1;
				continue;
			}
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (o <= SM_STATEDIR_BRANCH_CUT)
		cut = o;
	if (over) {
		o = cut;
		out[o++] = '~';
		for (i = 0; i < 16; i++)
			out[o++] = hex[(h >> (60 - 4 * i)) & 15];
	}
	out[o] = '\0';
}

int
sm_statedir_branch_dir(
    struct sm_statedir *sd, const char *branch, int create, char **out, struct sm_error *err)
{
	char name[SM_STATEDIR_NAME_MAX + 1];

	*out = NULL;
	if (branch == NULL || branch[0] == '\0')
		return sm_error_set(err, SM_EINVAL, "no branch name");
	sm_statedir_branch_name(branch, name);
	return sd_subdir(sd, sd->branches, name, "branch", create, out, err);
}

int
sm_statedir_lock_pid(const char *dir, pid_t *pid)
{
	char *path;
	int fd;

	*pid = 0;
	if (asprintf(&path, "%s/" SM_STATEDIR_LOCK, dir) < 0)
		return SM_ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd < 0)
		return errno == ENOENT ? SM_ENOTFOUND : sm_error_from_errno(errno);
	*pid = sd_read_pid(fd);
	close(fd);
	return *pid > 0 ? 0 : SM_ENOTFOUND;
}
