/*
 * CHANGED: task state events are no longer written in the same
 * transaction as the state change but within 50 ms of it (batched; see
 * "Task events" below).  Reads of events see them at once.
 *
 * store.h - ringmaster's state in SQLite (state.db): clusters, nodes, tasks
 * and their steps, schedules, the audit log of events and API tokens.
 *
 * The only module that includes <sqlite3.h>; no SQLite type or error code
 * leaves store.c.  The schema is created and upgraded by numbered
 * migrations when the store is opened (table schema_version).
 *
 * Threading: every function may be called from any thread.  Internally one
 * write connection is guarded by a mutex (SQLite has one writer anyway);
 * concurrent writes are grouped into one transaction (group commit), each
 * in its own savepoint, so one caller's failure never undoes another's.
 * Reads use the write connection when it is free (warm cache) and else a
 * small pool of read connections (WAL lets them run beside the writer).
 * The store owns one thread that writes buffered task events and runs WAL
 * checkpoints (so no commit waits for an fsync).  No call blocks on
 * anything but the database.
 *
 * Task events: every task state change (insert, store_task_update) makes an
 * event of kind "task" (actor "ringmaster", target the task id, result the
 * new state, detail {"type","from","error"}).  They are buffered and
 * written within 50 ms, in batches; store_event_list() writes the buffer
 * first, so readers never miss one.  A crash may lose the events (never
 * the states) of the last 50 ms.
 *
 * Return conventions:
 *   actions   int: 0, or one of the negative STORE_E* codes; -1 (STORE_ERR)
 *             is "the database failed" and the detail is in err (may be
 *             NULL).  A missing row is STORE_ENOENT, a duplicate name
 *             STORE_EEXIST, a refused change STORE_EBUSY.
 *   reads     json_t * (jansson) in the shape of the REST API (see
 *             ../shared/api.md), a NEW reference the caller json_decref()s;
 *             NULL when the row does not exist (or on a database error,
 *             which is also logged).  Times in JSON are RFC 3339 UTC with
 *             milliseconds ("2026-11-21T23:19:26.123Z") or null.
 *   lists     json_t * object {"items": [...], "next": "<cursor>"|null}.
 *             Pass the "next" string back as cursor for the next page;
 *             cursor NULL starts at the beginning.  limit <= 0 means 100;
 *             limits are capped at 1000.
 *   engine    plain C structs (struct store_task ...) for the task runner,
 *             freed with their *_free() function.
 *
 * Times are int64 milliseconds since the epoch (time_wall_ms()); 0 = none.
 * Strings passed in are copied; the store never keeps a caller's pointer.
 */
#ifndef RM_STORE_H
#define RM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define STORE_OK	0
#define STORE_ERR	(-1)	/* database error, detail in err */
#define STORE_ENOENT	(-2)	/* no such row (or its parent is missing) */
#define STORE_EEXIST	(-3)	/* name already taken */
#define STORE_EBUSY	(-4)	/* refused: a task is running / still pending */

#define STORE_NAME_MAX	65	/* names are [A-Za-z0-9_-]{1,64} + NUL */
#define STORE_ID_MAX	24	/* "t-" or "s-" + 16 hex + NUL, with room */

struct store;

/*
 * Open (creating when missing) the database at path and apply pending
 * migrations.  ":memory:" is not supported (read connections could not see
 * it); tests use a file in a temporary directory.  Returns NULL with err.
 */
struct store *store_open(const char *path, char *err, size_t errlen);
/* Close every connection.  No other call may be running.  NULL is fine. */
void store_close(struct store *st);
/* The schema version after migrations (the number of migrations applied). */
int store_schema_version(struct store *st);
/*
 * Write a consistent copy of the whole database to path (VACUUM INTO), for
 * the S3 mirror.  path must not exist.
 */
int store_snapshot(struct store *st, const char *path, char *err, size_t errlen);

/* ---- clusters ---------------------------------------------------------- */

struct store_cluster {
	const char *name;		/* required, name_valid() */
	const char *storage_url;	/* required: s3://bucket/prefix, file:///dir */
	const char *storage_endpoint;	/* optional, NULL */
	const char *storage_region;	/* optional, NULL */
	const char *ssh_user;		/* required */
	int ssh_port;			/* 0 means 22 */
	const char *ssh_key_file;	/* required */
};

/* 0, STORE_EEXIST, STORE_ERR.  created_at is now. */
int store_cluster_create(struct store *st, const struct store_cluster *c,
    char *err, size_t errlen);
/*
 * Delete a cluster with its nodes, tasks, steps and schedules (cascade).
 * 0, STORE_ENOENT, STORE_EBUSY (a task of the cluster is in state running).
 * Use task_cluster_delete() from the service layer: it also drops the queue.
 */
int store_cluster_delete(struct store *st, const char *name, char *err,
    size_t errlen);
bool store_cluster_exists(struct store *st, const char *name);
/*
 * {"name","storage":{"url","endpoint","region"},"ssh":{"user","port",
 *  "key_file"},"created_at","nodes":n,"nodes_up":n,"nodes_down":n}
 * nodes_up counts nodes whose state is "up", nodes_down "down".
 * queue_depth and running_task are the queue's (task_queue_info()).
 */
json_t *store_cluster_get(struct store *st, const char *name);
/* List by name; cursor is the last name of the previous page. */
json_t *store_cluster_list(struct store *st, const char *cursor, int limit);
/* Every cluster name, for creating queues at start-up.  *names and each
 * string are the caller's (free each, then the array).  0 or STORE_ERR. */
int store_cluster_names(struct store *st, char ***names, size_t *n);

/* ---- cluster update ---------------------------------------------------- */

/* A change of a cluster's settings: NULL (0 for the port) keeps a value. */
struct store_cluster_patch {
	const char *storage_url;
	const char *storage_endpoint;
	bool clear_storage_endpoint;	/* set it to NULL */
	const char *storage_region;
	bool clear_storage_region;
	const char *ssh_user;
	int ssh_port;
	const char *ssh_key_file;
};

/*
 * Apply p to cluster name, in one transaction with the check that none of
 * its tasks is running.  0, STORE_ENOENT, STORE_EBUSY (running, when not
 * NULL, gets the running task's id), STORE_ERR.
 */
int store_cluster_update(struct store *st, const char *name,
    const struct store_cluster_patch *p, char *running, size_t runlen,
    char *err, size_t errlen);

/* ---- nodes ------------------------------------------------------------- */

/*
 * Insert or update the node (cluster, address).  On update a NULL string,
 * a negative load_bytes / last_heartbeat and is_seed < 0 keep the stored
 * value.  state is free text set by the service ("up", "down", "joining",
 * "leaving", "replaced" ...); NULL on insert means "unknown".
 */
struct store_node {
	const char *cluster;
	const char *address;
	const char *host_id;
	const char *dc;
	const char *rack;
	const char *state;
	const char *version;
	const char *ssh_host_key;
	const char *status_json;	/* a JSON document as text, or NULL */
	int64_t last_heartbeat;		/* ms; -1 keep */
	int64_t load_bytes;		/* -1 keep */
	int is_seed;			/* 0, 1, or -1 keep */
};

/* 0, STORE_ENOENT (no such cluster), STORE_ERR.  *created (may be NULL) is
 * set true when the row was inserted rather than updated. */
int store_node_upsert(struct store *st, const struct store_node *n,
    bool *created, char *err, size_t errlen);
/* 0, STORE_ENOENT. */
int store_node_delete(struct store *st, const char *cluster,
    const char *address, char *err, size_t errlen);
/*
 * {"cluster","address","host_id","dc","rack","state","version",
 *  "ssh_host_key","last_heartbeat","load_bytes","is_seed","status":{...}}
 */
json_t *store_node_get(struct store *st, const char *cluster,
    const char *address);
/* The node of a cluster with that host_id, or NULL. */
json_t *store_node_find_host(struct store *st, const char *cluster,
    const char *host_id);
/* A JSON array (not a page) of the cluster's nodes, by address; NULL only
 * on database error.  A missing cluster gives an empty array. */
json_t *store_node_list(struct store *st, const char *cluster);

/*
 * The node array of store_node_list() and whether the cluster exists, in
 * one read (task submission needs both): 0 with *nodes (a new reference),
 * STORE_ENOENT when there is no such cluster (*nodes untouched),
 * STORE_ERR.
 */
int store_cluster_nodes(struct store *st, const char *cluster,
    json_t **nodes);

/* One heartbeat absorbed in memory, written later in a batch. */
struct store_hb {
	const char *cluster;
	const char *address;
	const char *state;		/* NULL keeps */
	const char *status_json;	/* NULL keeps */
	int64_t at;			/* ms, becomes last_heartbeat */
	int64_t load_bytes;		/* -1 keeps */
};
/*
 * Apply n heartbeats in ONE transaction.  Heartbeats of nodes that do not
 * exist are skipped.  Returns the number of nodes updated (>= 0) or
 * STORE_ERR (nothing applied).
 */
int store_heartbeats_apply(struct store *st, const struct store_hb *hbs,
    size_t n, char *err, size_t errlen);

/* ---- tasks and steps (mostly for task.c; the API reads JSON) ------------ */

enum store_task_state {
	STORE_TASK_QUEUED,
	STORE_TASK_RUNNING,
	STORE_TASK_PAUSED,
	STORE_TASK_SUCCEEDED,
	STORE_TASK_FAILED,
	STORE_TASK_CANCELLED,
};
#define STORE_TASK_NSTATES 6

enum store_step_state {
	STORE_STEP_PENDING,
	STORE_STEP_RUNNING,
	STORE_STEP_SUCCEEDED,
	STORE_STEP_FAILED,
	STORE_STEP_SKIPPED,
	STORE_STEP_CANCELLED,
};

/* "queued" ... "cancelled"; parse returns 0 or -1 for an unknown name. */
const char *store_task_state_str(enum store_task_state s);
int store_task_state_parse(const char *s, enum store_task_state *out);
bool store_task_state_terminal(enum store_task_state s);
const char *store_step_state_str(enum store_step_state s);

/* One planned step: a name and the node it acts on (NULL: the cluster). */
struct store_step_plan {
	const char *name;
	const char *node;
};

struct store_task_new {
	const char *cluster;
	const char *type;
	const json_t *params;		/* serialised; NULL means {} */
	const struct store_step_plan *steps;
	size_t nsteps;			/* >= 1 */
	/*
	 * Set when a schedule fires: in the same transaction the schedule's
	 * last_task_id, last_run_at (= now) and next_run_at are updated, and
	 * nothing is inserted (STORE_EBUSY) while the schedule's previous task
	 * is still queued, running or paused (next_run_at still advances).
	 */
	const char *schedule_id;
	int64_t schedule_next_run_at;
	int64_t created_at;		/* ms; 0 = now */
};

/*
 * Insert a task in state queued with its steps (pending) in one
 * transaction; it gets the next seq (FIFO order) and a fresh id "t-<hex>"
 * copied to id_out (STORE_ID_MAX bytes).  *seq_out may be NULL.  Writes a
 * task event (kind "task", result "queued"; see "Task events").
 * 0, STORE_ENOENT (no such cluster/schedule), STORE_EBUSY, STORE_ERR.
 */
int store_task_insert(struct store *st, const struct store_task_new *t,
    char *id_out, int64_t *seq_out, char *err, size_t errlen);

struct store_step {
	int idx;			/* 0-based order */
	char *name;
	char *node;			/* NULL: the cluster */
	enum store_step_state state;
	int attempts;			/* attempts started so far */
	int64_t started_at, finished_at, next_attempt_at;
	char *message;			/* NULL or the last progress/error */
};

struct store_task {
	char id[STORE_ID_MAX];
	char cluster[STORE_NAME_MAX];
	char type[STORE_NAME_MAX];
	enum store_task_state state;
	json_t *params;			/* owned, never NULL */
	int64_t seq;
	int64_t created_at, started_at, finished_at;
	char *error;			/* NULL or why it failed */
	bool cancel_requested, pause_requested;
	char schedule_id[STORE_ID_MAX];	/* "" when not from a schedule */
	struct store_step *steps;
	size_t nsteps;
};

/* The task with its steps, or NULL (missing, or database error). */
struct store_task *store_task_load(struct store *st, const char *id);
void store_task_free(struct store_task *t);

/*
 * The task object of the API, with steps and progress {"done","total"}
 * (done counts succeeded and skipped steps), plus "seq",
 * "cancel_requested", "pause_requested" and "schedule_id".
 */
json_t *store_task_get(struct store *st, const char *id);
/*
 * Newest first (by seq).  cluster NULL = all clusters, state NULL = any.
 * Items are task objects without "steps" (progress is included).
 * An unknown state string gives STORE_ERR-like NULL: validate it first
 * with store_task_state_parse().
 */
json_t *store_task_list(struct store *st, const char *cluster,
    const char *state, const char *cursor, int limit);

/* A task that is not finished, for resume at start-up. */
struct store_task_ref {
	char id[STORE_ID_MAX];
	char cluster[STORE_NAME_MAX];
	enum store_task_state state;
	int64_t seq;
	bool started;			/* started_at is set */
};
/*
 * Every queued, running or paused task, started ones first, then by seq:
 * the order in which to push them back into their queues.  *out is the
 * caller's (free()).  0 or STORE_ERR.
 */
int store_tasks_unfinished(struct store *st, struct store_task_ref **out,
    size_t *n);

/* Counts by (type, state): [{"type","state","count"}...], for /metrics. */
json_t *store_task_counts(struct store *st);
/* For /metrics: [{"cluster","type","finished_at" (ms)}...], the latest
 * succeeded task of each (cluster, type); NULL on a store error. */
json_t *store_task_last_success(struct store *st);
/* For /metrics: [{"cluster","uploaded","bytes"}...], bytes uploaded by and
 * bytes referenced by the backups still listed; NULL on a store error. */
json_t *store_backup_bytes(struct store *st);

/* A change to one step, written by the task runner. */
struct store_step_update {
	int idx;
	enum store_step_state state;
	int attempts;
	int64_t started_at;		/* -1 keeps */
	int64_t finished_at;		/* -1 keeps */
	int64_t next_attempt_at;	/* -1 keeps */
	const char *message;		/* NULL keeps; "" clears */
};

#define STORE_KEEP (-1)

/*
 * One transaction: set the task's state (task_state < 0 keeps it) and
 * apply nsu step updates.  Entering running sets started_at when unset;
 * entering a terminal state sets finished_at (= now) and, for cancelled,
 * turns every pending/running step into cancelled; entering queued or
 * paused clears pause_requested; any terminal state clears both request
 * flags.  error (NULL keeps) is the task's error text.  A task state
 * change makes a task event (see "Task events").  A finished task
 * (succeeded, failed, cancelled) never changes state again: such an
 * update is refused with STORE_EBUSY and nothing is written.
 * 0, STORE_ENOENT (task gone: cluster deleted), STORE_EBUSY, STORE_ERR.
 */
int store_task_update(struct store *st, const char *id, int task_state,
    int64_t now, const char *error, const struct store_step_update *su,
    size_t nsu, char *err, size_t errlen);

enum store_request {
	STORE_REQ_CANCEL,
	STORE_REQ_PAUSE,
	STORE_REQ_NONE,		/* clear both flags */
	STORE_REQ_UNPAUSE,	/* clear the pause request only (resume) */
};
/* Set/clear the cancel/pause request flags.  0, STORE_ENOENT, STORE_ERR. */
int store_task_request(struct store *st, const char *id,
    enum store_request req, char *err, size_t errlen);

/* ---- schedules ---------------------------------------------------------- */

struct store_schedule {
	char id[STORE_ID_MAX];
	char cluster[STORE_NAME_MAX];
	char type[STORE_NAME_MAX];
	json_t *params;			/* owned by the struct when read */
	int64_t every_ms;		/* 0 when cron is set */
	char *cron;			/* NULL when every_ms is set */
	int64_t start_at, next_run_at, last_run_at;
	char last_task_id[STORE_ID_MAX];
	bool enabled;
};

/*
 * Insert s (id is generated and written into s->id; params may be NULL
 * for {}; next_run_at must be computed by the caller: sched_create()).
 * 0, STORE_ENOENT (no such cluster), STORE_ERR.
 */
int store_schedule_create(struct store *st, struct store_schedule *s,
    char *err, size_t errlen);
/* 0, STORE_ENOENT. */
int store_schedule_delete(struct store *st, const char *id, char *err,
    size_t errlen);
/*
 * {"id","cluster","type","params","every":"24h"|null,"every_ms",
 *  "cron":"0 3 * * *"|null,"start_at","next_run_at","last_run_at",
 *  "last_task_id","enabled"}
 */
json_t *store_schedule_get(struct store *st, const char *id);
/* By id; cluster NULL = all. */
json_t *store_schedule_list(struct store *st, const char *cluster,
    const char *cursor, int limit);
/*
 * Enabled schedules with next_run_at <= now.  *out (array of n) is freed
 * with store_schedules_free().  0 or STORE_ERR.
 */
int store_schedules_due(struct store *st, int64_t now,
    struct store_schedule **out, size_t *n);
void store_schedules_free(struct store_schedule *s, size_t n);
/* Only move next_run_at (a schedule whose task cannot be planned). */
int store_schedule_set_next(struct store *st, const char *id,
    int64_t next_run_at, char *err, size_t errlen);

/* ---- events (audit log) ------------------------------------------------ */

struct store_event {
	int64_t at;			/* ms; 0 = now */
	const char *actor;		/* token name, "ringmaster" for the engine */
	const char *kind;		/* "request" or "task" */
	const char *method;		/* "POST" ... or NULL */
	const char *route;		/* "/api/v1/clusters/{name}" or NULL */
	const char *target;		/* "prod", "t-...", ... or NULL */
	const char *cluster;		/* or NULL */
	const char *result;		/* "201", "403", "running", ... */
	const char *detail_json;	/* JSON text or NULL */
};
int store_event_append(struct store *st, const struct store_event *ev,
    char *err, size_t errlen);
/* n events in one transaction (for a buffered audit writer). */
int store_events_append(struct store *st, const struct store_event *evs,
    size_t n, char *err, size_t errlen);
/*
 * Oldest first (by id) from since (ms; 0 = the beginning); cluster NULL =
 * all; cursor is the last id seen.  Items: {"id","at","actor","kind",
 * "method","route","target","cluster","result","detail"}.
 */
json_t *store_event_list(struct store *st, int64_t since,
    const char *cluster, const char *cursor, int limit);

/* ---- tokens ------------------------------------------------------------ */

/*
 * Tokens are stored as the SHA-256 hex of the secret, never in clear.
 * role is "admin", "operator", "viewer" or "agent" (not checked here).
 * 0, STORE_EEXIST (name taken, even when revoked), STORE_ERR.
 */
int store_token_create(struct store *st, const char *name, const char *role,
    const char *secret, char *err, size_t errlen);
/* 0, STORE_ENOENT (no such token or already revoked). */
int store_token_revoke(struct store *st, const char *name, char *err,
    size_t errlen);
/* [{"name","role","created_at","revoked"}...] by name (array, not page). */
json_t *store_token_list(struct store *st);
/*
 * Look up a secret: 0 and the token's name and role copied out (each
 * buffer STORE_NAME_MAX bytes is enough), STORE_ENOENT when unknown or
 * revoked, STORE_ERR.
 */
int store_token_lookup(struct store *st, const char *secret, char *name,
    size_t namelen, char *role, size_t rolelen);

/* ---- backups: the index, damaged objects ------------------------------- */

/*
 * The backup index: what the orchestrator knows of each backup of a
 * cluster, kept by the backup, verify and purge tasks (orchestrator/
 * backup.c) so the API lists backups without reading the object store.
 * The store of record stays the object store (a backup is complete when its
 * cluster manifest exists); the index can be rebuilt from it.
 */
enum store_backup_state {
	STORE_BK_COMPLETE,	/* cluster manifest written, nothing known bad */
	STORE_BK_DAMAGED,	/* complete, but files it needs are lost/corrupt */
	STORE_BK_PARTIAL,	/* complete, of some keyspaces/tables only */
	STORE_BK_RUNNING,	/* its task is making it */
	STORE_BK_INCOMPLETE,	/* no cluster manifest, no task making it */
	STORE_BK_FAILED,	/* its task failed for good */
};
#define STORE_BACKUP_ID_MAX	80

/* "complete" ... "failed"; parse returns 0 or -1. */
const char *store_backup_state_str(enum store_backup_state s);
int store_backup_state_parse(const char *s, enum store_backup_state *out);

/* A file (object key) of a backup and why it cannot be trusted. */
struct store_backup_file {
	char *key;
	char *reason;
};

struct store_backup {
	char cluster[STORE_NAME_MAX];
	char id[STORE_BACKUP_ID_MAX];
	char task_id[STORE_ID_MAX];		/* "" unknown */
	enum store_backup_state state;
	bool partial;				/* keyspaces/tables chosen */
	int64_t started_at, finished_at;	/* ms, 0 = none */
	int64_t nodes, files, bytes, files_uploaded, bytes_uploaded;
	int64_t last_verified_at;		/* ms, 0 = never */
	char last_verify[16];			/* "ok", "damaged", "" never */
	char last_verify_task[STORE_ID_MAX];
	/* Read only (store_backup_get): the files known damaged. */
	struct store_backup_file *damaged;
	size_t ndamaged;
};

/*
 * Insert or update the row (cluster, id): every field but the verify
 * fields and the damaged files, which only store_backup_verified() and
 * store_backup_mark_damaged() change.  A backup recorded as damaged stays
 * damaged when b->state is complete or partial.  0, STORE_ENOENT (no such
 * cluster), STORE_ERR.
 */
int store_backup_put(struct store *st, const struct store_backup *b,
    char *err, size_t errlen);
/* Only the state (and finished_at when > 0).  0, STORE_ENOENT, STORE_ERR. */
int store_backup_set_state(struct store *st, const char *cluster,
    const char *id, enum store_backup_state state, int64_t finished_at,
    char *err, size_t errlen);
/* The backup with its damaged files: 0 and *out (store_backups_free(*out,
 * 1)), STORE_ENOENT, STORE_ERR. */
int store_backup_get(struct store *st, const char *cluster, const char *id,
    struct store_backup **out);
/* Every backup of cluster, newest first (ids sort by time), each with its
 * damaged files.  0 or STORE_ERR. */
int store_backup_list(struct store *st, const char *cluster,
    struct store_backup **out, size_t *n);
void store_backups_free(struct store_backup *v, size_t n);
/* 0, STORE_ENOENT, STORE_ERR.  Its damaged-file rows go with it. */
int store_backup_delete(struct store *st, const char *cluster,
    const char *id, char *err, size_t errlen);
/*
 * A verify of backup id ended at `at` (task task_id) and found the files
 * bad (n may be 0): its damaged files become exactly those, last_verify
 * "ok" or "damaged", and the state damaged, or back to complete/partial
 * when it was damaged and nothing is bad any more.  0, STORE_ENOENT,
 * STORE_ERR.
 */
int store_backup_verified(struct store *st, const char *cluster,
    const char *id, const char *task_id, int64_t at,
    const struct store_backup_file *bad, size_t n, char *err, size_t errlen);
/*
 * Add damaged files to backup id (a file already listed keeps its first
 * reason) and make a complete or partial backup damaged.  0, STORE_ENOENT,
 * STORE_ERR.
 */
int store_backup_mark_damaged(struct store *st, const char *cluster,
    const char *id, const struct store_backup_file *files, size_t n,
    char *err, size_t errlen);
/*
 * Rebuild the index of cluster from what the object store holds (v, n):
 * every row is put as store_backup_put() does, rows of backups no longer
 * stored are deleted (except running ones), and the index is marked
 * filled at `at`.  One transaction.  0, STORE_ENOENT, STORE_ERR.
 */
int store_backup_reindex(struct store *st, const char *cluster,
    const struct store_backup *v, size_t n, int64_t at, char *err,
    size_t errlen);
/* When the index of cluster was last rebuilt from storage (ms), 0 never. */
int64_t store_backup_index_filled(struct store *st, const char *cluster);

/*
 * Damaged objects: keys of the cluster's object store that a verify found
 * missing or corrupt.  They stay until a later verify finds them sound
 * (store_damaged_clear()).  A new backup never references one.
 */
struct store_damaged {
	char *key;
	char *reason;
	int64_t found_at;
	char task_id[STORE_ID_MAX];
};
/* Insert, or update the reason/time/task of, (cluster, key).  0,
 * STORE_ENOENT (no such cluster), STORE_ERR. */
int store_damaged_put(struct store *st, const char *cluster,
    const struct store_damaged *d, char *err, size_t errlen);
/*
 * The object is sound again: forget it, drop it from every backup's
 * damaged files, and give a damaged backup left with none its state back
 * (complete or partial).  0 (also when it was not recorded) or STORE_ERR.
 */
int store_damaged_clear(struct store *st, const char *cluster,
    const char *key, char *err, size_t errlen);
/* By key.  0 or STORE_ERR; free with store_damaged_free(). */
int store_damaged_list(struct store *st, const char *cluster,
    struct store_damaged **out, size_t *n);
void store_damaged_free(struct store_damaged *v, size_t n);

/* ---- per-node progress of steps, and failure hooks (task.c) ------------- */

/* The progress of one node in one step (fields < 0 / NULL: unknown). */
struct store_node_progress {
	const char *node;
	const char *phase;
	int64_t files_done, files_total, bytes_done, bytes_total;
	double rate_bps;
	const char *state;		/* "running", "done", "failed" */
	const char *message;
	int64_t updated_at;		/* ms */
};
/* Insert or replace the row (task, step idx, node).  0, STORE_ENOENT (no
 * such step), STORE_ERR. */
int store_step_node_put(struct store *st, const char *task_id, int idx,
    const struct store_node_progress *p, char *err, size_t errlen);

/*
 * A task whose last attempt failed and whose type's failure hook has not
 * finished yet: the failing step and the task's error, kept until the
 * task is recorded failed, so the hook runs again after a crash.
 * set: 0, STORE_ENOENT, STORE_ERR.  get: 0 (*error the caller's),
 * STORE_ENOENT (none), STORE_ERR.  clear: 0 or STORE_ERR.
 */
int store_task_failing_set(struct store *st, const char *id, int step_idx,
    const char *error, char *err, size_t errlen);
int store_task_failing_get(struct store *st, const char *id, int *step_idx,
    char **error);
int store_task_failing_clear(struct store *st, const char *id, char *err,
    size_t errlen);

#endif
