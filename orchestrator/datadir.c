/*
 * datadir.c - what lives in data_dir before anything is served: the lock
 * that keeps one orchestrator per directory, state.db opened as the store,
 * the state mirror, and the restore of the newest generation onto a host
 * that holds no state (or on `state restore`, or on a takeover).  Shared by
 * the daemon (daemon.c) and the subcommands (main.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "../common/log.h"
#include "../common/util.h"
#include "cfg.h"
#include "datadir.h"
#include "mirror/mirror.h"
#include "store/store.h"

/* mkdir -p with mode for the last component. */
int datadir_mkdirs(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (rc == 0 && mkdir(p, mode) != 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

struct store *datadir_open_store(const struct cfg *c, bool cli)
{
	char err[512];
	char *path = xasprintf("%s/state.db", c->data_dir);
	struct store *st;

	/* A command run on a fresh host before the first start would make an
	 * empty state.db, and the start would then skip the restore and
	 * mirror the empty state over the real one. */
	if (cli && c->state_mirror != NULL && access(path, F_OK) != 0) {
		fprintf(stderr, "ringmaster: %s holds no state.db and "
		    "state_mirror is set: start ringmaster (or run 'ringmaster "
		    "state restore') first, so the state is restored from the "
		    "mirror before it is changed\n", c->data_dir);
		free(path);
		return NULL;
	}

	if (datadir_mkdirs(c->data_dir, 0700) != 0) {
		fprintf(stderr, "ringmaster: cannot create data_dir '%s': %s\n",
		    c->data_dir, strerror(errno));
		free(path);
		return NULL;
	}
	st = store_open(path, err, sizeof(err));
	if (st == NULL)
		fprintf(stderr, "ringmaster: cannot open store '%s': %s\n", path,
		    err);
	free(path);
	return st;
}

/*
 * One orchestrator per data_dir: an exclusive flock on data_dir/ringmaster.lock,
 * held for the process's life (the kernel drops it however the process
 * ends).  `state restore` takes the same lock, so it never replaces the
 * database under a running daemon.  Returns the fd, -1 on an error, -2
 * when another process holds it (its pid in *holder when known).
 */
int datadir_lock(const struct cfg *c, long *holder)
{
	char *path = xasprintf("%s/ringmaster.lock", c->data_dir);
	char buf[32];
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	*holder = 0;
	if (fd < 0) {
		fprintf(stderr, "ringmaster: cannot open '%s': %s\n", path,
		    strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			*holder = strtol(buf, NULL, 10);
		}
		close(fd);
		free(path);
		return -2;
	}
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != len)
		log_warn("cannot write the pid into '%s'", path);
	free(path);
	return fd;
}

struct mirror *datadir_open_mirror(const struct cfg *c, char *err,
    size_t errlen)
{
	struct s3_opts so;

	if (c->state_mirror == NULL) {
		snprintf(err, errlen, "state_mirror is not set in %s: set it to "
		    "the mirror's s3://bucket/prefix or file:///dir", c->path);
		return NULL;
	}
	s3_opts_init(&so);
	so.endpoint = c->state_mirror_endpoint;
	so.region = c->state_mirror_region;
	struct mirror_opts mo = {
		.url = c->state_mirror, .s3 = &so,
		.key_file = c->state_mirror_key_file, .tmp_dir = c->data_dir,
		.keep = c->state_mirror_keep, .delay_ms = c->state_mirror_delay_ms,
		.interval_ms = c->state_mirror_interval_ms,
	};
	return mirror_open(&mo, err, errlen);
}

/*
 * Move state.db and its -wal and -shm aside as <db><tag> (with the same
 * suffixes, so SQLite still finds the WAL if the copy is opened).  A -wal
 * left beside a database it does not belong to would be replayed into it,
 * so a failed move is an error, never a warning.  0, or -1 with err.
 */
int datadir_move_aside(const char *db, const char *tag, char *moved,
    size_t movedlen, char *err, size_t errlen)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };

	snprintf(moved, movedlen, "%s%s", db, tag);
	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		char *from = xasprintf("%s%s", db, sfx[i]);
		char *to = xasprintf("%s%s", moved, sfx[i]);
		int rc = rename(from, to);
		if (rc != 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot move '%s' aside to '%s': "
			    "%s", from, to, strerror(errno));
			free(from);
			free(to);
			return -1;
		}
		free(from);
		free(to);
	}
	return 0;
}

/* ".before-restore-<UTC time>": each restore keeps what it replaced. */
void datadir_restore_tag(char *out, size_t len)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, len, ".before-restore-%s", ts);
}

/*
 * At start: data_dir holds no state.db and a mirror is set, so this is a
 * fresh host (or a lost disk).  The newest usable generation becomes
 * state.db before the store opens.  An empty mirror starts an empty store;
 * a mirror that cannot be read stops the start, because an empty store
 * would soon be mirrored over the generations that could not be read.
 */
int datadir_recover(const struct cfg *c, struct mirror *m)
{
	char err[1024], moved[PATH_MAX + 64];
	char *db = xasprintf("%s/state.db", c->data_dir);
	struct mirror_manifest man;
	int skipped = 0, rc = 0;
	int64_t t0 = time_mono_ms();

	if (access(db, F_OK) == 0)
		goto out;
	/* A WAL without its database is debris; never let SQLite apply it
	 * to the restored file. */
	char tag[64];
	datadir_restore_tag(tag, sizeof(tag));
	if (datadir_move_aside(db, tag, moved, sizeof(moved), err,
	    sizeof(err)) != 0) {
		log_error("%s", err);
		rc = -1;
		goto out;
	}
	log_info("state mirror: %s holds no state.db: restoring the newest "
	    "generation from %s", c->data_dir, mirror_url(m));
	rc = mirror_recover(m, db, store_schema_latest(), &man, &skipped, err,
	    sizeof(err));
	if (rc == S3_NOT_FOUND) {
		log_info("state mirror: %s holds no generation yet: starting "
		    "with an empty state", mirror_url(m));
		rc = 0;
		goto out;
	}
	if (rc != 0) {
		log_error("state mirror: cannot restore: %s; fix the mirror's "
		    "access (or its key) and start again, or unset "
		    "state_mirror to start with an empty state", err);
		goto out;
	}
	char when[40];
	time_rfc3339(man.created_ms / 1000, when, sizeof(when));
	log_info("state mirror: restored generation %016" PRId64 " (written "
	    "%s, %.1f s ago, %" PRIu64 " bytes%s) into %s in %lld ms%s",
	    man.generation, when,
	    (double)(time_wall_ms() - man.created_ms) / 1000.0, man.bytes,
	    man.encrypted ? ", sealed" : "", db,
	    (long long)(time_mono_ms() - t0),
	    skipped ? "; newer generations were unusable (see above)" : "");
out:
	free(db);
	return rc;
}
