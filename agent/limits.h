/*
 * limits.h - the per-tenant limits this node enforces: the limits file
 * (limits_file, JSON, written atomically) and the operator's limits_hook
 * that makes the node's proxy or rate limiter take it (docs/tenants.md,
 * "Limits on the node").
 *
 * Each new tenants generation is applied: the file is written when what it
 * says changed, then the hook runs (also once after the agent starts, since
 * nothing tells whether the last run before worked).  limits_applied is
 * what was written AND taken by the hook; while writing or the hook fails,
 * limits_error says why, the previous limits stay applied and the attempt
 * is repeated at the heartbeats, at most every LIMITS_RETRY_MS.
 *
 * Ownership: struct limits owns its JSON and strings; limits_release()
 * frees them (a zeroed struct is valid and empty).
 */
#ifndef RM_LIMITS_H
#define RM_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct tenants;

#define LIMITS_HOOK_TIMEOUT_MS 30000
#define LIMITS_RETRY_MS 10000
#define LIMITS_FORMAT 1

struct limits {
	json_t *applied;	/* {"t1": 4000}; {} until one works; NULL before any tenants answer */
	char *error;		/* limits_error; NULL when the last attempt worked */
	json_t *want;		/* the file's content to apply (no written_at); NULL: done */
	json_t *want_applied;	/* what applied becomes once want is */
	bool hook_done;		/* the hook took the file as it is on disk */
	int64_t next_try_ms;	/* monotonic: the next retry of a failed attempt */
};

/*
 * The limits file's content for ts without "written_at": format, gen,
 * cluster, node and the tenants served here sorted by name (a new
 * reference).
 */
json_t *limits_doc(const struct tenants *ts, const char *cluster,
    const char *node);

/*
 * Write doc (plus "written_at" now) to path atomically - a temp file in
 * the same directory, fsync, rename - unless the file already says the
 * same (written_at and gen aside).  *changed tells which.  0, or -1 with
 * "cannot write limits_file '...': ..." in err.
 */
int limits_write(const char *path, const json_t *doc, bool *changed,
    char *err, size_t errlen);

/*
 * Run hook (a shell command) with the file's path as its last argument and
 * in RINGAGENT_LIMITS_FILE, under timeout_ms.  0 when it exited 0; else -1
 * with "limits_hook 'cmd' exited 3: <first line of its stderr>" in err.
 */
int limits_run_hook(const char *hook, const char *path, int64_t timeout_ms,
    char *err, size_t errlen);

/*
 * A new tenants generation: apply it now (write, hook).  path is the
 * limits file, hook may be NULL.  Failures are kept in l->error and logged.
 */
void limits_set(struct limits *l, const struct tenants *ts,
    const char *cluster, const char *node, const char *path,
    const char *hook, int64_t now_ms);
/* At a heartbeat: retry a failed application once LIMITS_RETRY_MS passed. */
void limits_tick(struct limits *l, const char *path, const char *hook,
    int64_t now_ms);
void limits_release(struct limits *l);

/*
 * The limits file or the hook changed (SIGHUP): the hook has not taken
 * what the next attempt writes, whatever an earlier hook did.  The caller
 * then hands the list again with limits_set().
 */
void limits_forget_hook(struct limits *l);

#endif
