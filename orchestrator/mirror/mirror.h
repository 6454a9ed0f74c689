/*
 * mirror.h - the state mirror: consistent copies of state.db in an object
 * store (S3 or file://), and recovery from them on a fresh host.
 *
 * Layout under the mirror's URL (this module alone writes and reads it):
 *
 *	generations/<G>/state.db.enc	the snapshot, sealed (common/seal.h)
 *	generations/<G>/state.db	... or in clear when no key is set
 *	generations/<G>/manifest.json	{"format":1,"generation":"G",
 *					 "created":"<RFC 3339 UTC>","bytes":N,
 *					 "sha256":"<hex of the object>",
 *					 "schema":S,"encrypted":true|false}
 *	latest				"G\n"
 *
 * G is the snapshot's wall-clock time in milliseconds, 16 digits with
 * leading zeros, and always greater than the previous one, so names sort
 * by age.  A generation is written snapshot first, manifest second and
 * `latest` last: a crash at any point leaves `latest` naming a complete
 * generation.  A generation counts as complete when its manifest parses,
 * its snapshot object exists with the manifest's size, and (when fetched)
 * the bytes hash to the manifest's sha256.  Retention keeps the newest
 * `keep` complete generations and never the one `latest` names; it runs
 * after `latest` is written, and an incomplete generation older than the
 * newest complete one is debris of a crash and goes too.
 *
 * The writer (mirror_start) is a thread: it writes a generation `delay`
 * after the store's commit counter moves (store_change_count()), at once
 * after mirror_now(), and every `interval` even without a change.  A
 * failure is logged, counted in /metrics and recorded as an event, and
 * retried with backoff (delay doubling up to the interval); it never stops
 * the daemon.  mirror_stop() writes a last generation when anything
 * changed since the previous one.
 *
 * Thread safety: mirror_now() and mirror_status() from any thread; the
 * rest from one thread at a time.
 */
#ifndef RM_MIRROR_H
#define RM_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../common/s3.h"

struct store;
struct metrics;

#define MIRROR_GEN_LEN		17	/* 16 digits and a NUL */
#define MIRROR_FORMAT		1
#define MIRROR_MANIFEST_MAX	4096

/* ---- the pure parts (unit tested) ---------------------------------------- */

/* The generation after prev for a snapshot taken at now_ms: now_ms, or
 * prev + 1 when the clock has not moved past prev. */
int64_t mirror_gen_next(int64_t now_ms, int64_t prev);
/* "0001765040000000" */
void mirror_gen_name(int64_t g, char out[MIRROR_GEN_LEN]);
/* Exactly 16 digits; 0 and *g, or -1. */
int mirror_gen_parse(const char *s, int64_t *g);

struct mirror_manifest {
	int format;
	int64_t generation;
	int64_t created_ms;	/* from "created" (second precision) */
	uint64_t bytes;		/* of the snapshot object */
	char sha256[65];	/* lowercase hex of the snapshot object */
	int schema;
	bool encrypted;
};
/* The manifest's JSON text (caller frees). */
char *mirror_manifest_format(const struct mirror_manifest *m);
/* Parse and check every field (types, ranges, hex); unknown fields are
 * ignored so a later format can add some.  0, or -1 with err. */
int mirror_manifest_parse(const char *text, size_t len,
    struct mirror_manifest *m, char *err, size_t errlen);
/*
 * Retention over gens[n] (ascending, distinct) of which complete[i] says
 * which are complete: sets del[i] for each generation to delete so that
 * the newest keep complete ones stay, latest (0: none) stays, and
 * incomplete ones newer than the newest complete one stay (they may be
 * being written).  Returns how many are marked.
 */
size_t mirror_retention(const int64_t *gens, const bool *complete, size_t n,
    size_t keep, int64_t latest, bool *del);
/* Parse the text of `latest` ("G" and an optional newline).  0 or -1. */
int mirror_latest_parse(const char *text, size_t len, int64_t *g);

/* ---- the handle --------------------------------------------------------- */

struct mirror_opts {
	const char *url;		/* s3://bucket/prefix or file:///dir */
	const struct s3_opts *s3;	/* NULL: defaults and AWS_* */
	const char *key_file;		/* NULL: snapshots in clear */
	const char *tmp_dir;		/* for snapshots and downloads (data_dir) */
	int keep;			/* generations kept; 0 = 24 */
	int64_t delay_ms;		/* after a change; 0 = 5 s */
	int64_t interval_ms;		/* at least this often; 0 = 5 min */
};

struct mirror;

/* Check the URL, read the key, open the store (nothing contacted yet).
 * NULL with err. */
struct mirror *mirror_open(const struct mirror_opts *o, char *err,
    size_t errlen);
/* Stops the thread first if it runs (without a final generation).
 * NULL is fine. */
void mirror_close(struct mirror *m);
bool mirror_encrypted(const struct mirror *m);
/* The URL in normal form. */
const char *mirror_url(const struct mirror *m);

struct mirror_write_info {
	int64_t generation;
	uint64_t bytes;
	int64_t took_ms;
	size_t deleted;		/* old generations removed */
};
/* Write one generation of st now (snapshot, seal, upload, manifest,
 * latest, retention).  0, or -1 with err; a failure after `latest` (only
 * retention) is logged and still 0. */
int mirror_write(struct mirror *m, struct store *st,
    struct mirror_write_info *info, char *err, size_t errlen);

/* One generation as listed. */
struct mirror_gen {
	int64_t generation;
	bool complete;
	bool latest;		/* `latest` names it */
	char why[200];		/* why not complete, "" when it is */
	struct mirror_manifest man;	/* valid when the manifest parsed */
};
/* Every generation, newest first.  0 with *v (caller frees) and *n, or
 * -1 with err. */
int mirror_list(struct mirror *m, struct mirror_gen **v, size_t *n,
    int64_t *latest, char *err, size_t errlen);
/* The generation `latest` names: 0, S3_NOT_FOUND (none yet), or -1 with
 * err (unreadable, or not a generation). */
int mirror_latest(struct mirror *m, int64_t *g, char *err, size_t errlen);
/*
 * Fetch generation g into path as a checked database file: download with
 * the manifest's size and sha256 verified, open the seal (the tag checked
 * first), `PRAGMA integrity_check`, schema not newer than max_schema.  path
 * is created only on success.  man (may be NULL) gets the manifest.
 * 0, S3_NOT_FOUND (no such generation), or -1 with err.
 */
int mirror_fetch(struct mirror *m, int64_t g, const char *path,
    int max_schema, struct mirror_manifest *man, char *err, size_t errlen);
/*
 * The newest usable generation into path: the one `latest` names, else
 * every other complete one, newest first.  *used gets the generation,
 * *skipped how many were tried and refused (each logged with its reason).
 * 0, S3_NOT_FOUND (the mirror holds no generation), or -1 with err (none
 * usable: the last reason).
 */
int mirror_recover(struct mirror *m, const char *path, int max_schema,
    struct mirror_manifest *used, int *skipped, char *err, size_t errlen);

/*
 * Asked just before `latest` moves to a new generation (active/standby:
 * the lease's fencing check); -1 with a reason leaves `latest` where it is
 * and the write fails.  Set before mirror_start(); NULL: none.
 */
typedef int (*mirror_gate_fn)(void *arg, char *err, size_t errlen);
void mirror_set_gate(struct mirror *m, mirror_gate_fn fn, void *arg);

/* ---- the writer thread -------------------------------------------------- */

/* Start the thread over st; metrics may be NULL.  0, or -1 with err. */
int mirror_start(struct mirror *m, struct store *st, struct metrics *mt,
    char *err, size_t errlen);
/* Ask for a generation now (a schedule fired, a task started): the
 * recovery point moves up to this change without waiting for the delay. */
void mirror_now(struct mirror *m);
/*
 * Wait until a generation holds every change committed before the call
 * (asking for one at once: callers waiting together share it).  For
 * writes that must not be acknowledged before they would survive the
 * loss of this host.  0 when it does (or no thread runs), -1 with err
 * after timeout_ms or when the writer stops.
 */
int mirror_sync(struct mirror *m, int64_t timeout_ms, char *err,
    size_t errlen);
/*
 * Stop the thread; with final and a change since the last generation,
 * write one more first (one attempt: main's shutdown_grace bounds it).
 * Without a thread, nothing.
 */
void mirror_stop(struct mirror *m, bool final);

#endif
