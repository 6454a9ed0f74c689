/*
 * store_int.h - what the store's files share and nobody else sees: the
 * connections and the store handle, the table of SQL statements, and the
 * helpers to bind, step and read them.  Only the store's files include it
 * (and with it <sqlite3.h>); callers include store.h.
 *
 * Which file holds what:
 *   store.c           open and close, migrations, connections, statements
 *   store_commit.c    group commit (store_write_op), the store thread:
 *                     task-event batches and WAL checkpoints
 *   store_event.c     the audit log and the task-event buffer
 *   store_cluster.c   clusters, nodes, heartbeats
 *   store_task.c      tasks, steps, per-node progress, failure intents
 *   store_schedule.c  schedules
 *   store_token.c     API tokens
 *   store_backup.c    the backup index and damaged objects
 *   store_slot.c      each cluster's bootstrap slot
 *   store_settings.c  clusters' lifecycle settings and their registry
 *   store_tenant.c    tenants and each cluster's pool of service numbers
 */
#ifndef RM_STORE_INT_H
#define RM_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "store.h"

#define NREADERS	4
#define LIMIT_DEFAULT	100
#define LIMIT_MAX	1000

/* Task events: written by the group commit that finds FLUSH_COUNT of them
 * waiting, else by the store thread within FLUSH_MS (store_event.c). */
#define FLUSH_MS	50
#define FLUSH_COUNT	1024

/* ---- statements --------------------------------------------------------- */

#define TASK_COLS \
	"t.seq, t.id, t.cluster, t.type, t.state, t.params, t.created_at," \
	" t.started_at, t.finished_at, t.error, t.cancel_requested," \
	" t.pause_requested, t.schedule_id," \
	" (SELECT count(*) FROM steps s WHERE s.task_id = t.id AND" \
	"  s.state IN ('succeeded','skipped'))," \
	" (SELECT count(*) FROM steps s WHERE s.task_id = t.id)"
#define STEP_COLS \
	"idx, name, node, state, attempts, started_at, finished_at, message," \
	" next_attempt_at"
#define SCHED_COLS \
	"id, cluster, type, params, every_ms, cron, start_at, next_run_at," \
	" last_run_at, last_task_id, enabled"
#define NODE_COLS \
	"cluster, address, host_id, dc, rack, state, version, ssh_host_key," \
	" last_heartbeat, load_bytes, is_seed, status"
#define CLUSTER_COLS \
	"c.name, c.storage_url, c.storage_endpoint, c.storage_region," \
	" c.ssh_user, c.ssh_port, c.ssh_key_file, c.created_at," \
	" (SELECT count(*) FROM nodes n WHERE n.cluster = c.name)," \
	" (SELECT count(*) FROM nodes n WHERE n.cluster = c.name AND" \
	"  n.state = 'up')," \
	" (SELECT count(*) FROM nodes n WHERE n.cluster = c.name AND" \
	"  n.state = 'down')"
#define EVENT_COLS \
	"id, at, actor, kind, method, route, target, cluster, result, detail"

#define SQL_LIST(X) \
	X(BEGIN, "BEGIN IMMEDIATE") \
	X(COMMIT, "COMMIT") \
	X(ROLLBACK, "ROLLBACK") \
	X(SAVEPOINT, "SAVEPOINT op") \
	X(ROLLBACK_TO, "ROLLBACK TO op") \
	X(RELEASE, "RELEASE op") \
	X(CLUSTER_INSERT, "INSERT INTO clusters (name, storage_url," \
	    " storage_endpoint, storage_region, ssh_user, ssh_port," \
	    " ssh_key_file, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)") \
	X(CLUSTER_RUNNING, "SELECT 1 FROM tasks WHERE cluster = ?1 AND" \
	    " state = 'running' LIMIT 1") \
	X(CLUSTER_DELETE, "DELETE FROM clusters WHERE name = ?1") \
	X(CLUSTER_EXISTS, "SELECT 1 FROM clusters WHERE name = ?1") \
	X(CLUSTER_GET, "SELECT " CLUSTER_COLS " FROM clusters c" \
	    " WHERE c.name = ?1") \
	X(CLUSTER_LIST, "SELECT " CLUSTER_COLS " FROM clusters c" \
	    " WHERE c.name > ?1 ORDER BY c.name LIMIT ?2") \
	X(CLUSTER_NAMES, "SELECT name FROM clusters ORDER BY name") \
	X(CLUSTER_RUNNING_ID, "SELECT id FROM tasks WHERE cluster = ?1 AND" \
	    " state = 'running' ORDER BY seq LIMIT 1") \
	X(CLUSTER_UPDATE, "UPDATE clusters SET" \
	    " storage_url = COALESCE(?2, storage_url)," \
	    " storage_endpoint = CASE WHEN ?3 THEN ?4" \
	    "  ELSE COALESCE(?4, storage_endpoint) END," \
	    " storage_region = CASE WHEN ?5 THEN ?6" \
	    "  ELSE COALESCE(?6, storage_region) END," \
	    " ssh_user = COALESCE(?7, ssh_user)," \
	    " ssh_port = COALESCE(?8, ssh_port)," \
	    " ssh_key_file = COALESCE(?9, ssh_key_file) WHERE name = ?1") \
	X(NODE_EXISTS, "SELECT 1 FROM nodes WHERE cluster = ?1 AND" \
	    " address = ?2") \
	X(NODE_UPSERT, "INSERT INTO nodes (" NODE_COLS ") VALUES" \
	    " (?1,?2,?3,?4,?5,COALESCE(?6,'unknown'),?7,?8,?9," \
	    "  COALESCE(?10,0),COALESCE(?11,0),?12)" \
	    " ON CONFLICT (cluster, address) DO UPDATE SET" \
	    " host_id = COALESCE(?3, host_id), dc = COALESCE(?4, dc)," \
	    " rack = COALESCE(?5, rack), state = COALESCE(?6, state)," \
	    " version = COALESCE(?7, version)," \
	    " ssh_host_key = COALESCE(?8, ssh_host_key)," \
	    " last_heartbeat = COALESCE(?9, last_heartbeat)," \
	    " load_bytes = COALESCE(?10, load_bytes)," \
	    " is_seed = COALESCE(?11, is_seed)," \
	    " status = COALESCE(?12, status)") \
	X(NODE_DELETE, "DELETE FROM nodes WHERE cluster = ?1 AND address = ?2") \
	X(SEEDS_UNPIN, "UPDATE nodes SET is_seed = 0 WHERE cluster = ?1") \
	X(SEED_PIN, "UPDATE nodes SET is_seed = 1 WHERE cluster = ?1" \
	    " AND address = ?2") \
	X(NODE_GET, "SELECT " NODE_COLS " FROM nodes WHERE cluster = ?1" \
	    " AND address = ?2") \
	X(NODE_FIND_HOST, "SELECT " NODE_COLS " FROM nodes WHERE" \
	    " cluster = ?1 AND host_id = ?2 LIMIT 1") \
	X(NODE_LIST, "SELECT " NODE_COLS " FROM nodes WHERE cluster = ?1" \
	    " ORDER BY address") \
	X(CLUSTER_NODES, "SELECT n.cluster, n.address, n.host_id, n.dc," \
	    " n.rack, n.state, n.version, n.ssh_host_key, n.last_heartbeat," \
	    " n.load_bytes, n.is_seed, n.status FROM clusters c" \
	    " LEFT JOIN nodes n ON n.cluster = c.name WHERE c.name = ?1" \
	    " ORDER BY n.address") \
	X(NODE_HEARTBEAT, "UPDATE nodes SET last_heartbeat = ?3," \
	    " state = COALESCE(?4, state), status = COALESCE(?5, status)," \
	    " load_bytes = COALESCE(?6, load_bytes)" \
	    " WHERE cluster = ?1 AND address = ?2") \
	X(SCHED_LAST_STATE, "SELECT t.state FROM schedules s LEFT JOIN" \
	    " tasks t ON t.id = s.last_task_id WHERE s.id = ?1") \
	X(SCHED_FIRED, "UPDATE schedules SET last_task_id = ?2," \
	    " last_run_at = ?3, next_run_at = ?4 WHERE id = ?1") \
	X(SCHED_SET_NEXT, "UPDATE schedules SET next_run_at = ?2" \
	    " WHERE id = ?1") \
	X(TASK_INSERT, "INSERT INTO tasks (id, cluster, type, state, params," \
	    " created_at, schedule_id) VALUES (?1,?2,?3,'queued',?4,?5,?6)") \
	X(STEP_INSERT, "INSERT INTO steps (task_id, idx, name, node, state)" \
	    " VALUES (?1,?2,?3,?4,'pending')") \
	X(TASK_STEPS, "SELECT " STEP_COLS " FROM steps WHERE task_id = ?1" \
	    " ORDER BY idx") \
	X(TASK_LOAD, "SELECT t.seq, t.id, t.cluster, t.type, t.state," \
	    " t.params, t.created_at, t.started_at, t.finished_at, t.error," \
	    " t.cancel_requested, t.pause_requested, t.schedule_id," \
	    " s.idx, s.name, s.node, s.state, s.attempts, s.started_at," \
	    " s.finished_at, s.message, s.next_attempt_at FROM tasks t" \
	    " LEFT JOIN steps s ON s.task_id = t.id WHERE t.id = ?1" \
	    " ORDER BY s.idx") \
	X(TASK_GET, "SELECT " TASK_COLS " FROM tasks t WHERE t.id = ?1") \
	X(TASK_LIST_ALL, "SELECT " TASK_COLS " FROM tasks t" \
	    " WHERE t.seq < ?1 ORDER BY t.seq DESC LIMIT ?2") \
	X(TASK_LIST_STATE, "SELECT " TASK_COLS " FROM tasks t" \
	    " WHERE t.state = ?3 AND t.seq < ?1 ORDER BY t.seq DESC LIMIT ?2") \
	X(TASK_LIST_CLUSTER, "SELECT " TASK_COLS " FROM tasks t" \
	    " WHERE t.cluster = ?4 AND t.seq < ?1 ORDER BY t.seq DESC" \
	    " LIMIT ?2") \
	X(TASK_LIST_CLUSTER_STATE, "SELECT " TASK_COLS " FROM tasks t" \
	    " WHERE t.cluster = ?4 AND t.state = ?3 AND t.seq < ?1" \
	    " ORDER BY t.seq DESC LIMIT ?2") \
	X(TASK_UNFINISHED, "SELECT id, cluster, state, seq," \
	    " started_at IS NOT NULL FROM tasks" \
	    " WHERE state IN ('queued','running','paused')" \
	    " ORDER BY started_at IS NULL, seq") \
	X(TASK_COUNTS, "SELECT type, state, count(*) FROM tasks" \
	    " GROUP BY type, state ORDER BY type, state") \
	X(TASK_LAST_SUCCESS, "SELECT cluster, type, max(finished_at) FROM tasks" \
	    " WHERE state = 'succeeded' AND finished_at IS NOT NULL" \
	    " GROUP BY cluster, type ORDER BY cluster, type") \
	X(BACKUP_BYTES, "SELECT cluster, sum(bytes_uploaded), sum(bytes)" \
	    " FROM backups GROUP BY cluster ORDER BY cluster") \
	X(TASK_HEAD, "SELECT state, cluster, type, started_at, seq," \
	    " pause_requested FROM tasks WHERE id = ?1") \
	X(TASK_SET, "UPDATE tasks SET state = ?2, started_at = ?3," \
	    " finished_at = ?4, error = COALESCE(?5, error)," \
	    " cancel_requested = CASE WHEN ?6 < 0 THEN cancel_requested" \
	    "  ELSE ?6 END," \
	    " pause_requested = CASE WHEN ?7 < 0 THEN pause_requested" \
	    "  ELSE ?7 END WHERE seq = ?1 AND state = ?8") \
	X(TASK_CAS, "UPDATE tasks SET state = ?2," \
	    " started_at = COALESCE(started_at, ?3)," \
	    " finished_at = ?4, error = COALESCE(?5, error)," \
	    " cancel_requested = CASE WHEN ?6 < 0 THEN cancel_requested" \
	    "  ELSE ?6 END," \
	    " pause_requested = CASE WHEN ?7 < 0 THEN pause_requested" \
	    "  ELSE ?7 END WHERE id = ?1 AND state = ?8" \
	    " RETURNING cluster, type") \
	X(TASK_SET_ERROR, "UPDATE tasks SET error = ?2 WHERE id = ?1") \
	X(TASK_FAILING_END, "DELETE FROM task_failing WHERE task_id = ?1") \
	X(TASK_REQUEST, "UPDATE tasks SET" \
	    " cancel_requested = CASE WHEN ?2 < 0 THEN cancel_requested" \
	    "  ELSE ?2 END," \
	    " pause_requested = CASE WHEN ?3 < 0 THEN pause_requested" \
	    "  ELSE ?3 END WHERE id = ?1" \
	    " AND state NOT IN ('succeeded','failed','cancelled'," \
	    "  'partial')" \
	    " AND (?4 = 0 OR state <> 'paused')") \
	X(STEP_SET, "UPDATE steps SET state = ?3, attempts = ?4," \
	    " started_at = COALESCE(?5, started_at)," \
	    " finished_at = COALESCE(?6, finished_at)," \
	    " next_attempt_at = COALESCE(?7, next_attempt_at)," \
	    " message = CASE WHEN ?8 IS NULL THEN message" \
	    "  WHEN ?8 = '' THEN NULL ELSE ?8 END," \
	    " resumes = CASE WHEN ?9 THEN 0" \
	    "  WHEN attempts <> ?4 THEN 0 ELSE resumes END" \
	    " WHERE task_id = ?1 AND idx = ?2") \
	X(STEP_RESUMED, "UPDATE steps SET resumes = resumes + 1" \
	    " WHERE task_id = ?1 AND idx = ?2 AND state = 'running'" \
	    " RETURNING resumes") \
	X(STEPS_CANCEL, "UPDATE steps SET state = 'cancelled'," \
	    " finished_at = CASE WHEN state = 'running' THEN ?2" \
	    "  ELSE finished_at END" \
	    " WHERE task_id = ?1 AND state IN ('pending','running')") \
	X(SCHED_INSERT, "INSERT INTO schedules (" SCHED_COLS ") VALUES" \
	    " (?1,?2,?3,?4,?5,?6,?7,?8,NULL,NULL,?9)") \
	X(SCHED_DELETE, "DELETE FROM schedules WHERE id = ?1") \
	X(SCHED_GET, "SELECT " SCHED_COLS " FROM schedules WHERE id = ?1") \
	X(SCHED_LIST_ALL, "SELECT " SCHED_COLS " FROM schedules" \
	    " WHERE id > ?1 ORDER BY id LIMIT ?2") \
	X(SCHED_LIST_CLUSTER, "SELECT " SCHED_COLS " FROM schedules" \
	    " WHERE cluster = ?3 AND id > ?1 ORDER BY id LIMIT ?2") \
	X(SCHED_DUE, "SELECT " SCHED_COLS " FROM schedules" \
	    " WHERE enabled = 1 AND next_run_at <= ?1 ORDER BY next_run_at") \
	X(EVENT_INSERT, "INSERT INTO events (at, actor, kind, method, route," \
	    " target, cluster, result, detail) VALUES" \
	    " (?1,?2,?3,?4,?5,?6,?7,?8,?9)") \
	X(EVENT_LIST_ALL, "SELECT " EVENT_COLS " FROM events" \
	    " WHERE id > ?1 AND at >= ?2 ORDER BY id LIMIT ?3") \
	X(EVENT_LIST_CLUSTER, "SELECT " EVENT_COLS " FROM events" \
	    " WHERE cluster = ?4 AND id > ?1 AND at >= ?2 ORDER BY id" \
	    " LIMIT ?3") \
	X(TOKEN_INSERT, "INSERT INTO tokens (name, role, hash, created_at)" \
	    " VALUES (?1,?2,?3,?4)") \
	X(TOKEN_REVOKE, "UPDATE tokens SET revoked = 1 WHERE name = ?1" \
	    " AND revoked = 0") \
	X(TOKEN_LIST, "SELECT name, role, created_at, revoked FROM tokens" \
	    " ORDER BY name") \
	X(TOKEN_LOOKUP, "SELECT name, role FROM tokens WHERE hash = ?1" \
	    " AND revoked = 0") \
	X(STEP_NODES, "SELECT idx, node, phase, files_done, files_total," \
	    " bytes_done, bytes_total, rate_bps, state, message, updated_at" \
	    " FROM step_nodes WHERE task_id = ?1 ORDER BY idx, node") \
	X(SLOT_GET, "SELECT kind, holder, dead_address, dc, rack, since," \
	    " deadline, task_id, provider_state, new_address, joined_at" \
	    " FROM slots WHERE cluster = ?1") \
	X(SLOT_TAKE, "INSERT INTO slots (cluster, kind, holder, dead_address," \
	    " dc, rack, since, deadline, task_id) VALUES (?1,?2,?3,?4,?5,?6,?7," \
	    "?8,?9) ON CONFLICT (cluster) DO NOTHING") \
	X(SLOT_CLAIM, "UPDATE slots SET holder = ?2 WHERE cluster = ?1" \
	    " AND holder = '' AND dead_address = ?3") \
	X(SLOT_RELEASE, "DELETE FROM slots WHERE cluster = ?1 AND holder = ?2" \
	    " AND since = ?3") \
	X(SETTINGS_GET, "SELECT key, value FROM cluster_settings" \
	    " WHERE cluster = ?1 ORDER BY key") \
	X(SETTINGS_PUT, "INSERT INTO cluster_settings (cluster, key, value)" \
	    " VALUES (?1,?2,?3) ON CONFLICT (cluster, key) DO UPDATE" \
	    " SET value = ?3") \
	X(SETTINGS_DEL, "DELETE FROM cluster_settings WHERE cluster = ?1" \
	    " AND key = ?2") \
	X(SLOT_PROVIDER, "UPDATE slots SET provider_state = ?3," \
	    " new_address = ?4 WHERE cluster = ?1 AND task_id = ?2") \
	X(SLOT_JOINED, "UPDATE slots SET joined_at = ?4 WHERE cluster = ?1" \
	    " AND holder = ?2 AND since = ?3 AND joined_at = 0") \
	X(SLOT_RELEASE_TASK, "DELETE FROM slots WHERE cluster = ?1" \
	    " AND task_id = ?2") \
	X(TOMBSTONE_PUT, "INSERT INTO tombstones (cluster, host_id, address," \
	    " reason, task_id, at) VALUES (?1,?2,?3,?4,?5,?6)" \
	    " ON CONFLICT (cluster, host_id) DO UPDATE SET address = ?3," \
	    " reason = ?4, task_id = ?5, at = ?6") \
	X(TOMBSTONE_GET, "SELECT address, reason, task_id, at FROM tombstones" \
	    " WHERE cluster = ?1 AND host_id = ?2")


#define X_ENUM(id, text) SQL_##id,
enum sql_id { SQL_LIST(X_ENUM) SQL_COUNT };
#undef X_ENUM
extern const char *const store_sql_text[SQL_COUNT];

struct conn {
	pthread_mutex_t mu;
	sqlite3 *db;
	sqlite3_stmt *stmts[SQL_COUNT];
};

struct tev;
struct wop;

struct store {
	struct conn w;			/* the writer */
	struct conn r[NREADERS];	/* readers */
	atomic_uint next_reader;
	uint64_t last_id;		/* the last id made (store_new_id()) */
	uint64_t id_salt;		/* random low bits of new ids */
	pthread_mutex_t gc_mu;		/* group commit: the queue below */
	struct wop *gc_head, **gc_tail;
	bool gc_busy;			/* a leader is committing */
	pthread_t gc_last_writer;	/* who queued the last operation */
	int64_t gc_last_other;		/* mono us: another thread queued */
	int64_t gc_last_arrival;	/* mono us: the last one queued */
	struct tev *tev;		/* task events to write (wlock) */
	size_t ntev, captev;
	pthread_t flusher;		/* writes them within FLUSH_MS */
	pthread_cond_t fl_cv;		/* with gc_mu */
	bool fl_started, fl_stop;
	sqlite3 *ckpt_db;		/* the flusher's, for checkpoints */
	int64_t last_ckpt;
	atomic_int wal_frames;		/* WAL size after the last commit */
	atomic_uint_fast64_t commits;	/* commits so far (store_change_count()) */
	bool commit_uncounted;		/* wlock: this commit is heartbeats only */
	char *path;
	int version;
	/* Events kept (store_event_keep()), the pruning's pace (wlock). */
	int64_t ev_keep_ms, ev_keep_rows;
	int64_t ev_pruned_at;		/* mono ms of the last prune */
	unsigned ev_since_prune;	/* events added since */
};

/*
 * A write operation, run by store_write_op() inside a transaction (and
 * its own savepoint) on the write connection.  It returns 0, a negative
 * STORE_E* (rolled back), or OP_KEEP_BUSY (kept, reported as RM_EBUSY).
 */
#define OP_KEEP_BUSY	1
typedef int store_op_fn(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen);

/* store.c */
int store_db_err(struct conn *c, char *err, size_t errlen, const char *what);
struct conn *store_rlock(struct store *st);
void store_new_id(struct store *st, char prefix, char out[STORE_ID_MAX]);
/* How to read one row of a statement into a typed struct. */
struct store_rowtype {
	size_t size;			/* of the struct */
	void (*read)(sqlite3_stmt *s, void *row);
	void (*release)(void *row);	/* its owned fields; NULL: none */
	int cursor_col;			/* the column of a page's next */
};
int store_run_rows(struct conn *c, sqlite3_stmt *s, const char *what,
    const struct store_rowtype *rt, int limit, void **v, size_t *n,
    char *next, size_t nextlen);
int store_run_row(struct conn *c, sqlite3_stmt *s, const char *what,
    const struct store_rowtype *rt, void *out);
sqlite3_stmt *store_prep(struct conn *c, const char *sql);
int store_run_fin(struct conn *c, sqlite3_stmt *s, char *err, size_t errlen,
    const char *what);
const char *store_name_of(const char *const *names, size_t n, int v);
int store_name_find(const char *const *names, size_t n, const char *s);

/* store_vfs.c: the write connection's VFS (one write per WAL frame);
 * registered once per process, before the first store opens. */
#define STORE_VFS_NAME	"ringmaster-wal"
int store_vfs_register(void);

/* store_commit.c */
int store_write_op(struct store *st, store_op_fn *fn, void *arg, char *err,
    size_t errlen);
/*
 * store_write_op() without the wait: the operation is queued and done(rc,
 * err) is called once it is committed (or failed), on the thread that
 * led its batch, with no store lock held.  The caller returns at once
 * unless no commit is in progress (then it leads, and done runs before
 * it returns).  arg must live until done.
 */
typedef void store_done_fn(void *arg, int rc, const char *err);
void store_write_op_async(struct store *st, store_op_fn *fn, void *arg,
    store_done_fn *done);
void *store_flusher_main(void *arg);
int store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames);

/* store_event.c; the buffer is guarded by the write connection's lock */
int store_task_event_add(struct store *st, const char *id,
    const char *cluster, const char *type, enum store_task_state from,
    enum store_task_state to, const char *error, int64_t now);
int store_events_flush(struct store *st, struct conn *c);
int store_events_tx_flush(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen);
bool store_events_pending(struct store *st);

/* store_task.c */
enum store_task_state store_task_state_of(const char *s);

/* ---- small helpers, inline ---------------------------------------------- */

static inline int clamp_limit(int limit)
{
	if (limit <= 0)
		return LIMIT_DEFAULT;
	return limit > LIMIT_MAX ? LIMIT_MAX : limit;
}

/* Run a statement that returns no rows; SQLITE_DONE or the error code. */
static inline int exec_stmt(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

static inline sqlite3_stmt *S(struct conn *c, enum sql_id id)
{
	sqlite3_stmt *s = c->stmts[id];

	if (s != NULL)
		return s;
	if (sqlite3_prepare_v3(c->db, store_sql_text[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		fatalx("store: cannot prepare statement %d: %s", (int)id,
		    sqlite3_errmsg(c->db));
	c->stmts[id] = s;
	return s;
}

static inline void rst(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/*
 * Strings are bound without a copy (SQLITE_STATIC): every statement is
 * stepped and then reset with its bindings cleared (rst()) before the
 * function that bound it returns, while the caller's string still lives.
 */
static inline void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Times and counts: <= 0 stored as NULL ("none"). */
static inline void bind_time(sqlite3_stmt *s, int i, int64_t v)
{
	if (v <= 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

/* "Keep" values (negative) bound as NULL for COALESCE. */
static inline void bind_keep(sqlite3_stmt *s, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

static inline const char *col_str(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static inline char *col_dup(sqlite3_stmt *s, int i)
{
	const char *v = col_str(s, i);

	return v != NULL ? xstrdup(v) : NULL;
}

/* A text column into a fixed buffer ("" for NULL). */
static inline void col_copy(sqlite3_stmt *s, int i, char *buf, size_t len)
{
	str_copy(buf, col_str(s, i) ? col_str(s, i) : "", len);
}

static inline struct conn *wlock(struct store *st)
{
	pthread_mutex_lock(&st->w.mu);
	return &st->w;
}

static inline void unlock(struct conn *c)
{
	pthread_mutex_unlock(&c->mu);
}
static inline int begin(struct conn *c, char *err, size_t errlen)
{
	if (exec_stmt(S(c, SQL_BEGIN)) != SQLITE_DONE)
		return store_db_err(c, err, errlen, "begin");
	return 0;
}

static inline int commit(struct conn *c, char *err, size_t errlen)
{
	if (exec_stmt(S(c, SQL_COMMIT)) != SQLITE_DONE) {
		int rc = store_db_err(c, err, errlen, "commit");
		exec_stmt(S(c, SQL_ROLLBACK));
		return rc;
	}
	return 0;
}

static inline void rollback(struct conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		exec_stmt(S(c, SQL_ROLLBACK));
}


#endif
