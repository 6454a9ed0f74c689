/*
 * store.c - state.db in SQLite: migrations, cached prepared statements,
 * one write connection and a pool of read connections.
 *
 * SQLite allows one writer at a time, so every write goes through the
 * write connection under its mutex, in one short BEGIN IMMEDIATE
 * transaction.  Reads take any free read connection (WAL lets readers run
 * beside the writer and each statement sees the last commit).  Each
 * connection prepares a statement the first time it needs it and keeps it
 * (SQLITE_PREPARE_PERSISTENT); every statement text is in the SQL table
 * below, so nothing is ever built from strings at run time.
 *
 * synchronous=NORMAL in WAL mode: a commit is durable against a crash of
 * the process (kill -9); a power loss may lose the last transactions but
 * never corrupts the file.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../../common/log.h"
#include "../../common/sha256.h"
#include "../../common/util.h"
#include "store.h"

#define NREADERS	4
#define LIMIT_DEFAULT	100
#define LIMIT_MAX	1000

/* ---- schema ------------------------------------------------------------- */

/* Migration N (1-based) is migrations[N-1].  Never edit one: add one. */
static const char *const migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE clusters ("
	" name TEXT PRIMARY KEY,"
	" storage_url TEXT NOT NULL,"
	" storage_endpoint TEXT,"
	" storage_region TEXT,"
	" ssh_user TEXT NOT NULL,"
	" ssh_port INTEGER NOT NULL DEFAULT 22,"
	" ssh_key_file TEXT NOT NULL,"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE nodes ("
	" cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,"
	" address TEXT NOT NULL,"
	" host_id TEXT,"
	" dc TEXT,"
	" rack TEXT,"
	" state TEXT NOT NULL DEFAULT 'unknown',"
	" version TEXT,"
	" ssh_host_key TEXT,"
	" last_heartbeat INTEGER,"
	" load_bytes INTEGER NOT NULL DEFAULT 0,"
	" is_seed INTEGER NOT NULL DEFAULT 0,"
	" status TEXT,"
	" PRIMARY KEY (cluster, address));"
	"CREATE INDEX nodes_host ON nodes(cluster, host_id);"
	"CREATE TABLE schedules ("
	" id TEXT PRIMARY KEY,"
	" cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,"
	" type TEXT NOT NULL,"
	" params TEXT NOT NULL,"
	" every_ms INTEGER,"
	" cron TEXT,"
	" start_at INTEGER,"
	" next_run_at INTEGER NOT NULL,"
	" last_run_at INTEGER,"
	" last_task_id TEXT,"
	" enabled INTEGER NOT NULL DEFAULT 1,"
	" CHECK ((every_ms IS NULL) <> (cron IS NULL)));"
	"CREATE INDEX schedules_due ON schedules(enabled, next_run_at);"
	"CREATE INDEX schedules_cluster ON schedules(cluster, id);"
	"CREATE TABLE tasks ("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,"
	" type TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('queued','running','paused',"
	"  'succeeded','failed','cancelled')),"
	" params TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" started_at INTEGER,"
	" finished_at INTEGER,"
	" error TEXT,"
	" cancel_requested INTEGER NOT NULL DEFAULT 0,"
	" pause_requested INTEGER NOT NULL DEFAULT 0,"
	" schedule_id TEXT REFERENCES schedules(id) ON DELETE SET NULL);"
	/* Few indexes on purpose: every state change rewrites each index
	 * that holds the state.  Lists by state filter tasks_cluster. */
	"CREATE INDEX tasks_cluster ON tasks(cluster, seq);"
	"CREATE INDEX tasks_schedule ON tasks(schedule_id)"
	" WHERE schedule_id IS NOT NULL;"
	"CREATE TABLE steps ("
	" task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL,"
	" name TEXT NOT NULL,"
	" node TEXT,"
	" state TEXT NOT NULL CHECK (state IN ('pending','running',"
	"  'succeeded','failed','skipped','cancelled')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" started_at INTEGER,"
	" finished_at INTEGER,"
	" message TEXT,"
	" next_attempt_at INTEGER,"
	" PRIMARY KEY (task_id, idx)) WITHOUT ROWID;"
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL,"
	" actor TEXT,"
	" kind TEXT NOT NULL,"
	" method TEXT,"
	" route TEXT,"
	" target TEXT,"
	" cluster TEXT,"
	" result TEXT,"
	" detail TEXT);"
	"CREATE INDEX events_at ON events(at);"
	"CREATE INDEX events_cluster ON events(cluster, id);"
	"CREATE TABLE tokens ("
	" name TEXT PRIMARY KEY,"
	" role TEXT NOT NULL,"
	" hash TEXT NOT NULL UNIQUE,"
	" created_at INTEGER NOT NULL,"
	" revoked INTEGER NOT NULL DEFAULT 0);",
	/* 2: the backup index, damaged objects, per-node step progress and
	 * tasks whose failure hook is pending (see "backups" below) */
	"CREATE TABLE backups ("
	" cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,"
	" id TEXT NOT NULL,"
	" task_id TEXT,"
	" state TEXT NOT NULL CHECK (state IN ('complete','damaged','partial',"
	"  'running','incomplete','failed')),"
	" partial INTEGER NOT NULL DEFAULT 0,"
	" started_at INTEGER,"
	" finished_at INTEGER,"
	" nodes INTEGER NOT NULL DEFAULT 0,"
	" files INTEGER NOT NULL DEFAULT 0,"
	" bytes INTEGER NOT NULL DEFAULT 0,"
	" files_uploaded INTEGER NOT NULL DEFAULT 0,"
	" bytes_uploaded INTEGER NOT NULL DEFAULT 0,"
	" last_verified_at INTEGER,"
	" last_verify TEXT,"
	" last_verify_task TEXT,"
	" PRIMARY KEY (cluster, id)) WITHOUT ROWID;"
	"CREATE TABLE backup_damage ("
	" cluster TEXT NOT NULL,"
	" backup_id TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" reason TEXT NOT NULL,"
	" PRIMARY KEY (cluster, backup_id, key),"
	" FOREIGN KEY (cluster, backup_id) REFERENCES backups(cluster, id)"
	"  ON DELETE CASCADE) WITHOUT ROWID;"
	"CREATE INDEX backup_damage_key ON backup_damage(cluster, key);"
	"CREATE TABLE damaged_objects ("
	" cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,"
	" key TEXT NOT NULL,"
	" reason TEXT NOT NULL,"
	" found_at INTEGER NOT NULL,"
	" task_id TEXT,"
	" PRIMARY KEY (cluster, key)) WITHOUT ROWID;"
	"CREATE TABLE backup_index ("
	" cluster TEXT PRIMARY KEY REFERENCES clusters(name) ON DELETE CASCADE,"
	" filled_at INTEGER NOT NULL);"
	"CREATE TABLE step_nodes ("
	" task_id TEXT NOT NULL,"
	" idx INTEGER NOT NULL,"
	" node TEXT NOT NULL,"
	" phase TEXT,"
	" files_done INTEGER, files_total INTEGER,"
	" bytes_done INTEGER, bytes_total INTEGER,"
	" rate_bps REAL,"
	" state TEXT NOT NULL,"
	" message TEXT,"
	" updated_at INTEGER NOT NULL,"
	" PRIMARY KEY (task_id, idx, node),"
	" FOREIGN KEY (task_id, idx) REFERENCES steps(task_id, idx)"
	"  ON DELETE CASCADE) WITHOUT ROWID;"
	"CREATE TABLE task_failing ("
	" task_id TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,"
	" step_idx INTEGER NOT NULL,"
	" error TEXT NOT NULL);",
};

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
	X(TASK_HEAD, "SELECT state, cluster, type, started_at, seq" \
	    " FROM tasks WHERE id = ?1") \
	X(TASK_SET, "UPDATE tasks SET state = ?2, started_at = ?3," \
	    " finished_at = ?4, error = COALESCE(?5, error)," \
	    " cancel_requested = CASE WHEN ?6 < 0 THEN cancel_requested" \
	    "  ELSE ?6 END," \
	    " pause_requested = CASE WHEN ?7 < 0 THEN pause_requested" \
	    "  ELSE ?7 END WHERE seq = ?1") \
	X(TASK_SET_ERROR, "UPDATE tasks SET error = ?2 WHERE id = ?1") \
	X(TASK_REQUEST, "UPDATE tasks SET" \
	    " cancel_requested = CASE WHEN ?2 < 0 THEN cancel_requested" \
	    "  ELSE ?2 END," \
	    " pause_requested = CASE WHEN ?3 < 0 THEN pause_requested" \
	    "  ELSE ?3 END WHERE id = ?1") \
	X(STEP_SET, "UPDATE steps SET state = ?3, attempts = ?4," \
	    " started_at = COALESCE(?5, started_at)," \
	    " finished_at = COALESCE(?6, finished_at)," \
	    " next_attempt_at = COALESCE(?7, next_attempt_at)," \
	    " message = CASE WHEN ?8 IS NULL THEN message" \
	    "  WHEN ?8 = '' THEN NULL ELSE ?8 END" \
	    " WHERE task_id = ?1 AND idx = ?2") \
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
	    " FROM step_nodes WHERE task_id = ?1 ORDER BY idx, node")

#define X_ENUM(id, text) SQL_##id,
enum sql_id { SQL_LIST(X_ENUM) SQL_COUNT };
#undef X_ENUM
#define X_TEXT(id, text) text,
static const char *const sql_text[SQL_COUNT] = { SQL_LIST(X_TEXT) };
#undef X_TEXT

struct conn {
	pthread_mutex_t mu;
	sqlite3 *db;
	sqlite3_stmt *stmts[SQL_COUNT];
};

struct store {
	struct conn w;			/* the writer */
	struct conn r[NREADERS];	/* readers */
	atomic_uint next_reader;
	uint64_t last_id;		/* the last id made (new_id()) */
	pthread_mutex_t gc_mu;		/* group commit: the queue below */
	pthread_cond_t gc_cv;
	struct wop *gc_head, **gc_tail;
	bool gc_busy;			/* a leader is committing */
	pthread_cond_t gc_more_cv;	/* a gathering leader waits here */
	bool gc_gathering;
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
	char *path;
	int version;
};

static int write_op(struct store *st, int (*fn)(struct store *,
    struct conn *, void *, char *, size_t), void *arg, char *err,
    size_t errlen);
static int tx_flush(struct store *st, struct conn *c, void *arg, char *err,
    size_t errlen);
static bool events_pending(struct store *st);
static void *flusher_main(void *arg);
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames);

static const char *const task_states[] = {
	"queued", "running", "paused", "succeeded", "failed", "cancelled",
};
static const char *const step_states[] = {
	"pending", "running", "succeeded", "failed", "skipped", "cancelled",
};

/* ---- small helpers ------------------------------------------------------ */

const char *store_task_state_str(enum store_task_state s)
{
	if ((size_t)s >= ARRAY_SIZE(task_states))
		return "unknown";
	return task_states[s];
}

int store_task_state_parse(const char *s, enum store_task_state *out)
{
	for (size_t i = 0; s != NULL && i < ARRAY_SIZE(task_states); i++) {
		if (strcmp(s, task_states[i]) == 0) {
			*out = (enum store_task_state)i;
			return 0;
		}
	}
	return -1;
}

bool store_task_state_terminal(enum store_task_state s)
{
	return s == STORE_TASK_SUCCEEDED || s == STORE_TASK_FAILED ||
	    s == STORE_TASK_CANCELLED;
}

const char *store_step_state_str(enum store_step_state s)
{
	if ((size_t)s >= ARRAY_SIZE(step_states))
		return "unknown";
	return step_states[s];
}

static enum store_step_state step_state_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < ARRAY_SIZE(step_states); i++)
		if (strcmp(s, step_states[i]) == 0)
			return (enum store_step_state)i;
	return STORE_STEP_PENDING;
}

static enum store_task_state task_state_of(const char *s)
{
	enum store_task_state st = STORE_TASK_FAILED;

	(void)store_task_state_parse(s, &st);
	return st;
}

/*
 * Ids are "t-" or "s-" and 16 hex digits of a value that grows with time
 * (ms << 16, plus one when two fall in the same ms): unique within the
 * store, and new rows land at the right edge of every index keyed by id
 * (tasks.id, steps), so the pages a busy store writes stay few and hot.
 * Called with the write lock held.
 */
static void new_id(struct store *st, char prefix, char out[STORE_ID_MAX])
{
	uint64_t v = (uint64_t)time_wall_ms() << 16;

	if (v <= st->last_id)
		v = st->last_id + 1;
	st->last_id = v;
	snprintf(out, STORE_ID_MAX, "%c-%016" PRIx64, prefix, v);
}

static int clamp_limit(int limit)
{
	if (limit <= 0)
		return LIMIT_DEFAULT;
	return limit > LIMIT_MAX ? LIMIT_MAX : limit;
}

/* RFC 3339 with milliseconds, or JSON null for 0. */
static json_t *jtime(int64_t ms)
{
	char buf[40], base[32];
	int64_t s = ms / 1000;
	int frac = (int)(ms % 1000);

	if (ms <= 0)
		return json_null();
	time_rfc3339(s, base, sizeof(base));
	base[strlen(base) - 1] = '\0';	/* drop the Z */
	snprintf(buf, sizeof(buf), "%s.%03dZ", base, frac);
	return json_string(buf);
}

static json_t *jstr(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static void fmt_every(int64_t ms, char *buf, size_t len)
{
	static const struct { const char *u; int64_t m; } units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (ms % units[i].m == 0) {
			snprintf(buf, len, "%" PRId64 "%s", ms / units[i].m,
			    units[i].u);
			return;
		}
	}
	snprintf(buf, len, "%" PRId64 "ms", ms);
}

/* ---- connections and statements ---------------------------------------- */

static sqlite3_stmt *S(struct conn *c, enum sql_id id)
{
	sqlite3_stmt *s = c->stmts[id];

	if (s != NULL)
		return s;
	if (sqlite3_prepare_v3(c->db, sql_text[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		fatalx("store: cannot prepare statement %d: %s", (int)id,
		    sqlite3_errmsg(c->db));
	c->stmts[id] = s;
	return s;
}

static void rst(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/*
 * Strings are bound without a copy (SQLITE_STATIC): every statement is
 * stepped and then reset with its bindings cleared (rst()) before the
 * function that bound it returns, while the caller's string still lives.
 */
static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Times and counts: <= 0 stored as NULL ("none"). */
static void bind_time(sqlite3_stmt *s, int i, int64_t v)
{
	if (v <= 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

/* "Keep" values (negative) bound as NULL for COALESCE. */
static void bind_keep(sqlite3_stmt *s, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

static const char *col_str(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const char *v = col_str(s, i);

	return v != NULL ? xstrdup(v) : NULL;
}

static json_t *col_jstr(sqlite3_stmt *s, int i)
{
	return jstr(col_str(s, i));
}

static json_t *col_jint(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return json_null();
	return json_integer((json_int_t)sqlite3_column_int64(s, i));
}

static json_t *col_jtime(sqlite3_stmt *s, int i)
{
	return jtime(sqlite3_column_int64(s, i));
}

static json_t *col_json(sqlite3_stmt *s, int i)
{
	const char *v = col_str(s, i);
	json_t *j;

	if (v == NULL)
		return json_null();
	j = json_loads(v, JSON_DECODE_ANY, NULL);
	return j != NULL ? j : json_null();
}

static int db_err(struct conn *c, char *err, size_t errlen, const char *what)
{
	int code = sqlite3_extended_errcode(c->db);

	if (code == SQLITE_CONSTRAINT_FOREIGNKEY)
		return STORE_ENOENT;
	if (code == SQLITE_CONSTRAINT_PRIMARYKEY ||
	    code == SQLITE_CONSTRAINT_UNIQUE)
		return STORE_EEXIST;
	if (err != NULL)
		snprintf(err, errlen, "store: %s: %s", what,
		    sqlite3_errmsg(c->db));
	log_warnx("store: %s: %s", what, sqlite3_errmsg(c->db));
	return STORE_ERR;
}

/* Run a statement that returns no rows; SQLITE_DONE or the error code. */
static int exec_stmt(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	rst(s);
	return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

static int conn_open(struct conn *c, const char *path, bool writer,
    char *err, size_t errlen)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	char *msg = NULL;
	const char *pragmas;

	pthread_mutex_init(&c->mu, NULL);
	if (writer)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open '%s': %s", path,
		    c->db ? sqlite3_errmsg(c->db) : "out of memory");
		return -1;
	}
	sqlite3_busy_timeout(c->db, 10000);
	pragmas = writer ?
	    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	    " PRAGMA journal_size_limit=67108864;"
	    " PRAGMA cache_size=-32768;"
	    " PRAGMA mmap_size=268435456;"
	    " PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;" :
	    "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;"
	    " PRAGMA mmap_size=268435456;"
	    " PRAGMA temp_store=MEMORY;";
	if (sqlite3_exec(c->db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "cannot set up '%s': %s", path,
		    msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->db == NULL)
		return;
	for (int i = 0; i < SQL_COUNT; i++)
		sqlite3_finalize(c->stmts[i]);
	sqlite3_close(c->db);
	c->db = NULL;
	pthread_mutex_destroy(&c->mu);
}

static struct conn *wlock(struct store *st)
{
	pthread_mutex_lock(&st->w.mu);
	return &st->w;
}

static void unlock(struct conn *c)
{
	pthread_mutex_unlock(&c->mu);
}

/*
 * The writer when it is free (its page cache is the warm one: a reader's
 * cache is dropped after every commit by another connection), else any
 * free reader, else the next reader in turn.
 */
static struct conn *rlock(struct store *st)
{
	if (pthread_mutex_trylock(&st->w.mu) == 0)
		return &st->w;
	unsigned start = atomic_fetch_add(&st->next_reader, 1);

	for (unsigned i = 0; i < NREADERS; i++) {
		struct conn *c = &st->r[(start + i) % NREADERS];
		if (pthread_mutex_trylock(&c->mu) == 0)
			return c;
	}
	struct conn *c = &st->r[start % NREADERS];
	pthread_mutex_lock(&c->mu);
	return c;
}

static int begin(struct conn *c, char *err, size_t errlen)
{
	if (exec_stmt(S(c, SQL_BEGIN)) != SQLITE_DONE)
		return db_err(c, err, errlen, "begin");
	return 0;
}

static int commit(struct conn *c, char *err, size_t errlen)
{
	if (exec_stmt(S(c, SQL_COMMIT)) != SQLITE_DONE) {
		int rc = db_err(c, err, errlen, "commit");
		exec_stmt(S(c, SQL_ROLLBACK));
		return rc;
	}
	return 0;
}

static void rollback(struct conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		exec_stmt(S(c, SQL_ROLLBACK));
}

static int migrate(struct conn *c, int *version, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	char *msg = NULL;
	int v = 0, rc = -1;

	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE;"
	    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);",
	    NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(c->db, "SELECT max(version) FROM schema_version",
	    -1, &s, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (v > (int)ARRAY_SIZE(migrations)) {
		snprintf(err, errlen, "database schema version %d is newer than "
		    "this ringmaster (%zu): upgrade ringmaster", v,
		    ARRAY_SIZE(migrations));
		goto out;
	}
	for (; v < (int)ARRAY_SIZE(migrations); v++) {
		if (sqlite3_exec(c->db, migrations[v], NULL, NULL, &msg) !=
		    SQLITE_OK)
			goto fail;
		if (sqlite3_prepare_v2(c->db,
		    "INSERT INTO schema_version (version) VALUES (?1)", -1, &s,
		    NULL) != SQLITE_OK)
			goto fail;
		sqlite3_bind_int(s, 1, v + 1);
		if (sqlite3_step(s) != SQLITE_DONE)
			goto fail;
		sqlite3_finalize(s);
		s = NULL;
		log_info("store: applied schema migration %d", v + 1);
	}
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	*version = v;
	return 0;
fail:
	snprintf(err, errlen, "schema migration %d: %s", v + 1,
	    msg ? msg : sqlite3_errmsg(c->db));
out:
	sqlite3_free(msg);
	sqlite3_finalize(s);
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* The largest id value in use, so ids keep growing after a restart
 * even if the clock went back. */
static int load_last_id(struct store *st, char *err, size_t errlen)
{
	static const char *const q[] = {
		"SELECT max(id) FROM tasks", "SELECT max(id) FROM schedules",
	};
	for (size_t i = 0; i < ARRAY_SIZE(q); i++) {
		sqlite3_stmt *s;
		if (sqlite3_prepare_v2(st->w.db, q[i], -1, &s, NULL) !=
		    SQLITE_OK) {
			snprintf(err, errlen, "store: %s", sqlite3_errmsg(st->w.db));
			return -1;
		}
		if (sqlite3_step(s) == SQLITE_ROW && col_str(s, 0) != NULL &&
		    strlen(col_str(s, 0)) > 2) {
			uint64_t v = strtoull(col_str(s, 0) + 2, NULL, 16);
			if (v > st->last_id)
				st->last_id = v;
		}
		sqlite3_finalize(s);
	}
	return 0;
}

/*
 * Before SQLite initialises: no allocation statistics (they take a global
 * mutex on every allocation of every connection, and nothing reads them).
 */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct store *st = xcalloc(1, sizeof(*st));
	int i;

	pthread_once(&once, sqlite_setup);

	if (strcmp(path, ":memory:") == 0) {
		snprintf(err, errlen, "store: ':memory:' is not supported");
		free(st);
		return NULL;
	}
	st->path = xstrdup(path);
	pthread_mutex_init(&st->gc_mu, NULL);
	pthread_cond_init(&st->gc_cv, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&st->gc_more_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	st->gc_last_writer = pthread_self();
	pthread_cond_init(&st->fl_cv, NULL);
	st->gc_tail = &st->gc_head;
	if (conn_open(&st->w, path, true, err, errlen) < 0)
		goto fail;
	if (migrate(&st->w, &st->version, err, errlen) < 0)
		goto fail;
	if (load_last_id(st, err, errlen) < 0)
		goto fail;
	sqlite3_wal_hook(st->w.db, wal_hook, st);
	for (i = 0; i < NREADERS; i++)
		if (conn_open(&st->r[i], path, false, err, errlen) < 0)
			goto fail;
	if (sqlite3_open_v2(path, &st->ckpt_db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open '%s' for checkpoints", path);
		goto fail;
	}
	sqlite3_busy_timeout(st->ckpt_db, 1000);
	/* A connection learns that the file is in WAL mode on its first
	 * read; until then a checkpoint through it does nothing at all. */
	if (sqlite3_exec(st->ckpt_db, "SELECT count(*) FROM sqlite_master",
	    NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read '%s' for checkpoints: %s",
		    path, sqlite3_errmsg(st->ckpt_db));
		goto fail;
	}
	if ((i = pthread_create(&st->flusher, NULL, flusher_main, st)) != 0) {
		snprintf(err, errlen, "store: cannot start a thread: %s",
		    strerror(i));
		goto fail;
	}
	st->fl_started = true;
	return st;
fail:
	store_close(st);
	return NULL;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->fl_started) {
		pthread_mutex_lock(&st->gc_mu);
		st->fl_stop = true;
		pthread_mutex_unlock(&st->gc_mu);
		pthread_cond_signal(&st->fl_cv);
		pthread_join(st->flusher, NULL);
		if (events_pending(st))
			write_op(st, tx_flush, NULL, NULL, 0);
	}
	free(st->tev);
	sqlite3_close(st->ckpt_db);
	for (int i = 0; i < NREADERS; i++)
		conn_close(&st->r[i]);
	conn_close(&st->w);
	pthread_cond_destroy(&st->gc_cv);
	pthread_cond_destroy(&st->gc_more_cv);
	pthread_cond_destroy(&st->fl_cv);
	pthread_mutex_destroy(&st->gc_mu);
	free(st->path);
	free(st);
}

int store_schema_version(struct store *st)
{
	return st->version;
}

int store_snapshot(struct store *st, const char *path, char *err,
    size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int rc = STORE_ERR;

	if (sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &s, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(s, 1, path, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) != SQLITE_DONE)
		goto fail;
	rc = 0;
	goto out;
fail:
	snprintf(err, errlen, "store: snapshot to '%s': %s", path,
	    db ? sqlite3_errmsg(db) : "out of memory");
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}

/* ---- events (used inside other transactions too) ------------------------ */

static int do_event_insert(struct conn *c, const struct store_event *ev)
{
	sqlite3_stmt *s = S(c, SQL_EVENT_INSERT);

	sqlite3_bind_int64(s, 1, ev->at > 0 ? ev->at : time_wall_ms());
	bind_text(s, 2, ev->actor);
	bind_text(s, 3, ev->kind ? ev->kind : "request");
	bind_text(s, 4, ev->method);
	bind_text(s, 5, ev->route);
	bind_text(s, 6, ev->target);
	bind_text(s, 7, ev->cluster);
	bind_text(s, 8, ev->result);
	bind_text(s, 9, ev->detail_json);
	return exec_stmt(s) == SQLITE_DONE ? 0 : -1;
}

/*
 * Task state events are kept in memory and written in batches: the row
 * and its three index entries cost as much as the state change itself,
 * and batched they share pages (events(cluster, id) takes them at one
 * place per cluster: a batch of 64 over many clusters wrote one page per
 * event).  They are written by the next group commit that finds
 * FLUSH_COUNT of them waiting, by the flusher thread within FLUSH_MS,
 * before any read of the events and at close.  So a crash can lose the
 * events (never the state) of the last FLUSH_MS.
 * The buffer is guarded by the write connection's lock.
 */
#define FLUSH_MS	50
#define FLUSH_COUNT	1024

struct tev {
	int64_t at;
	char id[STORE_ID_MAX];
	char cluster[STORE_NAME_MAX];
	char type[STORE_NAME_MAX];
	int from, to;
	char *error;
};

static int do_task_event(struct store *st, const char *id,
    const char *cluster, const char *type, enum store_task_state from,
    enum store_task_state to, const char *error, int64_t now)
{
	struct tev *e;

	if (st->ntev == st->captev) {
		st->captev = st->captev ? st->captev * 2 : 64;
		st->tev = xrealloc(st->tev, st->captev * sizeof(*st->tev));
	}
	e = &st->tev[st->ntev++];
	e->at = now;
	str_copy(e->id, id, sizeof(e->id));
	str_copy(e->cluster, cluster, sizeof(e->cluster));
	str_copy(e->type, type, sizeof(e->type));
	e->from = (int)from;
	e->to = (int)to;
	e->error = error ? xstrdup(error) : NULL;
	return 0;
}

/*
 * Append s to the detail text as a JSON string.  Hand-written because it
 * runs for every task event: escapes the quote, the backslash and control
 * characters; UTF-8 passes through as it is.
 */
static void json_quote(char **buf, size_t *len, size_t *cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t need = *len + strlen(s) * 6 + 3;
	char *o;

	if (need > *cap) {
		*cap = need * 2;
		*buf = xrealloc(*buf, *cap);
	}
	o = *buf + *len;
	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p;
		} else if (*p < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[*p >> 4];
			o[5] = hex[*p & 15];
			o += 6;
		} else {
			*o++ = (char)*p;
		}
	}
	*o++ = '"';
	*o = '\0';
	*len = (size_t)(o - *buf);
}

static void json_lit(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = xrealloc(*buf, *cap);
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

/*
 * Write the buffered task events; inside a transaction, lock held.  The
 * detail is {"type","from","error"}, a key without a value left out.
 */
static int do_flush_events(struct store *st, struct conn *c)
{
	char *buf = NULL;
	size_t cap = 0;
	int rc = 0;

	for (size_t i = 0; i < st->ntev; i++) {
		struct tev *e = &st->tev[i];
		size_t len = 0;

		json_lit(&buf, &len, &cap, "{\"type\":");
		json_quote(&buf, &len, &cap, e->type);
		if (e->from >= 0) {
			json_lit(&buf, &len, &cap, ",\"from\":");
			json_quote(&buf, &len, &cap, store_task_state_str(
			    (enum store_task_state)e->from));
		}
		if (e->error != NULL) {
			json_lit(&buf, &len, &cap, ",\"error\":");
			json_quote(&buf, &len, &cap, e->error);
		}
		json_lit(&buf, &len, &cap, "}");
		struct store_event ev = {
			.at = e->at, .actor = "ringmaster", .kind = "task",
			.target = e->id, .cluster = e->cluster,
			.result = store_task_state_str(
			    (enum store_task_state)e->to),
			.detail_json = buf,
		};
		if (rc == 0 && do_event_insert(c, &ev) < 0)
			rc = -1;
		free(e->error);
	}
	free(buf);
	st->ntev = 0;
	return rc;
}

static int tx_flush(struct store *st, struct conn *c, void *arg, char *err,
    size_t errlen)
{
	(void)arg;
	if (do_flush_events(st, c) < 0)
		return db_err(c, err, errlen, "task events");
	return 0;
}

static bool events_pending(struct store *st)
{
	struct conn *c = wlock(st);
	bool pending = st->ntev > 0;

	unlock(c);
	return pending;
}

/*
 * Checkpoints (copying the WAL back into the database, with an fsync)
 * run here, on their own connection: a checkpoint inside a commit would
 * hold the write lock through the fsync and stall every writer.
 *
 * A PASSIVE checkpoint never takes the write lock, but it never resets
 * the WAL either: SQLite starts the WAL over only when a write begins
 * after a checkpoint copied all of it, which under a steady load never
 * happens.  The WAL then grows by hundreds of MB, every page lookup walks
 * its index (hot pages fill the hash chains), and every commit extends
 * the file.  So once the WAL holds WAL_RESTART_FRAMES frames, a PASSIVE
 * checkpoint copies the bulk without the lock and a RESTART one copies
 * the rest and makes the next commit write from the start of the file
 * again; only that short second part holds writers back.  Otherwise a
 * PASSIVE checkpoint every CHECKPOINT_MS keeps an idle WAL copied.
 *
 * The writer's commit hook (wal_hook) records the WAL size; it also runs
 * a checkpoint itself, as SQLite's autocheckpoint would, when the WAL
 * passes WAL_VALVE_FRAMES: a safety valve should this thread fall behind.
 */
#define CHECKPOINT_MS		1000
#define WAL_RESTART_FRAMES	4096		/* 16 MB with 4 KB pages */
#define WAL_VALVE_FRAMES	100000

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *st = arg;

	atomic_store_explicit(&st->wal_frames, frames, memory_order_relaxed);
	if (frames >= WAL_VALVE_FRAMES)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
		    NULL, NULL);
	return SQLITE_OK;
}

static int checkpoint_run(struct store *st, int mode)
{
	int rc = sqlite3_wal_checkpoint_v2(st->ckpt_db, NULL, mode, NULL,
	    NULL);

	if (rc != SQLITE_OK && sqlite3_errcode(st->ckpt_db) != SQLITE_BUSY)
		log_warnx("store: checkpoint: %s", sqlite3_errmsg(st->ckpt_db));
	return rc;
}

static void checkpoint(struct store *st)
{
	int64_t now = time_mono_ms();
	int frames = atomic_load_explicit(&st->wal_frames,
	    memory_order_relaxed);

	if (st->ckpt_db == NULL)
		return;
	if (frames >= WAL_RESTART_FRAMES) {
		st->last_ckpt = now;
		checkpoint_run(st, SQLITE_CHECKPOINT_PASSIVE);
		if (checkpoint_run(st, SQLITE_CHECKPOINT_RESTART) == SQLITE_OK)
			atomic_compare_exchange_strong(&st->wal_frames, &frames,
			    0);
		return;
	}
	if (now - st->last_ckpt < CHECKPOINT_MS)
		return;
	st->last_ckpt = now;
	checkpoint_run(st, SQLITE_CHECKPOINT_PASSIVE);
}

static void *flusher_main(void *arg)
{
	struct store *st = arg;

	pthread_mutex_lock(&st->gc_mu);
	while (!st->fl_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += FLUSH_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&st->fl_cv, &st->gc_mu, &ts);
		if (st->fl_stop)
			break;
		pthread_mutex_unlock(&st->gc_mu);
		if (events_pending(st))
			write_op(st, tx_flush, NULL, NULL, 0);
		checkpoint(st);
		pthread_mutex_lock(&st->gc_mu);
	}
	pthread_mutex_unlock(&st->gc_mu);
	return NULL;
}

int store_event_append(struct store *st, const struct store_event *ev,
    char *err, size_t errlen)
{
	return store_events_append(st, ev, 1, err, errlen);
}

int store_events_append(struct store *st, const struct store_event *evs,
    size_t n, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	int rc;

	if ((rc = begin(c, err, errlen)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (do_event_insert(c, &evs[i]) < 0) {
			rc = db_err(c, err, errlen, "append event");
			rollback(c);
			goto out;
		}
	}
	rc = commit(c, err, errlen);
out:
	unlock(c);
	return rc;
}

static json_t *event_json(sqlite3_stmt *s)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "id", (json_int_t)sqlite3_column_int64(s, 0),
	    "at", col_jtime(s, 1), "actor", col_jstr(s, 2),
	    "kind", col_jstr(s, 3), "method", col_jstr(s, 4),
	    "route", col_jstr(s, 5), "target", col_jstr(s, 6),
	    "cluster", col_jstr(s, 7), "result", col_jstr(s, 8),
	    "detail", col_json(s, 9));
}

/*
 * Run a list query whose ?1 is the cursor and ?2 the limit (already
 * bound by the caller except those); build {"items","next"}.  cursor_col
 * is the column that becomes the next cursor.
 */
static json_t *run_page(struct conn *c, sqlite3_stmt *s, int limit,
    int cursor_col, json_t *(*row)(sqlite3_stmt *))
{
	json_t *items = json_array(), *out;
	char next[128] = "";
	int rc, n = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_array_append_new(items, row(s));
		str_copy(next, col_str(s, cursor_col) ? col_str(s, cursor_col)
		    : "", sizeof(next));
		n++;
	}
	if (rc != SQLITE_DONE) {
		db_err(c, NULL, 0, "list");
		rst(s);
		json_decref(items);
		return NULL;
	}
	rst(s);
	out = json_pack("{s:o, s:o}", "items", items,
	    "next", n == limit && next[0] ? json_string(next) : json_null());
	return out;
}

json_t *store_event_list(struct store *st, int64_t since,
    const char *cluster, const char *cursor, int limit)
{
	struct conn *c;
	sqlite3_stmt *s;

	if (events_pending(st))
		write_op(st, tx_flush, NULL, NULL, 0);
	c = rlock(st);
	s = S(c, cluster ? SQL_EVENT_LIST_CLUSTER : SQL_EVENT_LIST_ALL);
	json_t *out;

	limit = clamp_limit(limit);
	sqlite3_bind_int64(s, 1, cursor ? strtoll(cursor, NULL, 10) : 0);
	sqlite3_bind_int64(s, 2, since);
	sqlite3_bind_int(s, 3, limit);
	if (cluster)
		bind_text(s, 4, cluster);
	out = run_page(c, s, limit, 0, event_json);
	unlock(c);
	return out;
}

/* ---- clusters ----------------------------------------------------------- */

int store_cluster_create(struct store *st, const struct store_cluster *cl,
    char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_CLUSTER_INSERT);
	int rc = 0;

	bind_text(s, 1, cl->name);
	bind_text(s, 2, cl->storage_url);
	bind_text(s, 3, cl->storage_endpoint);
	bind_text(s, 4, cl->storage_region);
	bind_text(s, 5, cl->ssh_user);
	sqlite3_bind_int(s, 6, cl->ssh_port > 0 ? cl->ssh_port : 22);
	bind_text(s, 7, cl->ssh_key_file);
	sqlite3_bind_int64(s, 8, time_wall_ms());
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = db_err(c, err, errlen, "create cluster");
		if (rc == STORE_EEXIST && err != NULL)
			snprintf(err, errlen, "cluster '%s' already exists",
			    cl->name);
	}
	unlock(c);
	return rc;
}

int store_cluster_delete(struct store *st, const char *name, char *err,
    size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s;
	int rc;

	if ((rc = begin(c, err, errlen)) < 0)
		goto out;
	s = S(c, SQL_CLUSTER_RUNNING);
	bind_text(s, 1, name);
	rc = sqlite3_step(s);
	rst(s);
	if (rc == SQLITE_ROW) {
		rollback(c);
		if (err != NULL)
			snprintf(err, errlen, "cluster '%s' has a running task",
			    name);
		rc = STORE_EBUSY;
		goto out;
	}
	s = S(c, SQL_CLUSTER_DELETE);
	bind_text(s, 1, name);
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = db_err(c, err, errlen, "delete cluster");
		rollback(c);
		goto out;
	}
	if (sqlite3_changes(c->db) == 0) {
		rollback(c);
		if (err != NULL)
			snprintf(err, errlen, "cluster '%s' not found", name);
		rc = STORE_ENOENT;
		goto out;
	}
	rc = commit(c, err, errlen);
out:
	unlock(c);
	return rc;
}

bool store_cluster_exists(struct store *st, const char *name)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_CLUSTER_EXISTS);
	bool ok;

	bind_text(s, 1, name);
	ok = sqlite3_step(s) == SQLITE_ROW;
	rst(s);
	unlock(c);
	return ok;
}

static json_t *cluster_json(sqlite3_stmt *s)
{
	return json_pack("{s:o, s:{s:o, s:o, s:o}, s:{s:o, s:i, s:o}, s:o,"
	    " s:i, s:i, s:i}",
	    "name", col_jstr(s, 0),
	    "storage", "url", col_jstr(s, 1), "endpoint", col_jstr(s, 2),
	    "region", col_jstr(s, 3),
	    "ssh", "user", col_jstr(s, 4), "port", sqlite3_column_int(s, 5),
	    "key_file", col_jstr(s, 6),
	    "created_at", col_jtime(s, 7),
	    "nodes", sqlite3_column_int(s, 8),
	    "nodes_up", sqlite3_column_int(s, 9),
	    "nodes_down", sqlite3_column_int(s, 10));
}

/* Run a statement expected to give 0 or 1 row through row(). */
static json_t *run_one(struct conn *c, sqlite3_stmt *s,
    json_t *(*row)(sqlite3_stmt *))
{
	json_t *out = NULL;
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		out = row(s);
	else if (rc != SQLITE_DONE)
		db_err(c, NULL, 0, "get");
	rst(s);
	return out;
}

json_t *store_cluster_get(struct store *st, const char *name)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_CLUSTER_GET);
	json_t *out;

	bind_text(s, 1, name);
	out = run_one(c, s, cluster_json);
	unlock(c);
	return out;
}

json_t *store_cluster_list(struct store *st, const char *cursor, int limit)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_CLUSTER_LIST);
	json_t *out;

	limit = clamp_limit(limit);
	bind_text(s, 1, cursor ? cursor : "");
	sqlite3_bind_int(s, 2, limit);
	out = run_page(c, s, limit, 0, cluster_json);
	unlock(c);
	return out;
}

int store_cluster_names(struct store *st, char ***names, size_t *n)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_CLUSTER_NAMES);
	char **v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[len++] = col_dup(s, 0);
	}
	rst(s);
	if (rc != SQLITE_DONE) {
		rc = db_err(c, NULL, 0, "cluster names");
		for (size_t i = 0; i < len; i++)
			free(v[i]);
		free(v);
		unlock(c);
		return rc;
	}
	unlock(c);
	*names = v;
	*n = len;
	return 0;
}

/* ---- cluster update ----------------------------------------------------- */

int store_cluster_update(struct store *st, const char *name,
    const struct store_cluster_patch *p, char *running, size_t runlen,
    char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s;
	int rc;

	if (running != NULL && runlen > 0)
		running[0] = '\0';
	if ((rc = begin(c, err, errlen)) < 0)
		goto out;
	/* Checked in the same transaction as the write: a task cannot
	 * start running between the check and the change. */
	s = S(c, SQL_CLUSTER_RUNNING_ID);
	bind_text(s, 1, name);
	if (sqlite3_step(s) == SQLITE_ROW) {
		if (running != NULL && runlen > 0)
			snprintf(running, runlen, "%s", col_str(s, 0));
		rst(s);
		rollback(c);
		if (err != NULL)
			snprintf(err, errlen, "cluster '%s' has a running task",
			    name);
		rc = STORE_EBUSY;
		goto out;
	}
	rst(s);
	s = S(c, SQL_CLUSTER_UPDATE);
	bind_text(s, 1, name);
	bind_text(s, 2, p->storage_url);
	sqlite3_bind_int(s, 3, p->clear_storage_endpoint);
	bind_text(s, 4, p->storage_endpoint);
	sqlite3_bind_int(s, 5, p->clear_storage_region);
	bind_text(s, 6, p->storage_region);
	bind_text(s, 7, p->ssh_user);
	if (p->ssh_port > 0)
		sqlite3_bind_int(s, 8, p->ssh_port);
	else
		sqlite3_bind_null(s, 8);
	bind_text(s, 9, p->ssh_key_file);
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = db_err(c, err, errlen, "update cluster");
		rollback(c);
		goto out;
	}
	if (sqlite3_changes(c->db) == 0) {
		rollback(c);
		if (err != NULL)
			snprintf(err, errlen, "cluster '%s' not found", name);
		rc = STORE_ENOENT;
		goto out;
	}
	rc = commit(c, err, errlen);
out:
	unlock(c);
	return rc;
}

/* ---- nodes -------------------------------------------------------------- */

int store_node_upsert(struct store *st, const struct store_node *n,
    bool *created, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s;
	bool exists;
	int rc;

	if ((rc = begin(c, err, errlen)) < 0)
		goto out;
	s = S(c, SQL_NODE_EXISTS);
	bind_text(s, 1, n->cluster);
	bind_text(s, 2, n->address);
	exists = sqlite3_step(s) == SQLITE_ROW;
	rst(s);

	s = S(c, SQL_NODE_UPSERT);
	bind_text(s, 1, n->cluster);
	bind_text(s, 2, n->address);
	bind_text(s, 3, n->host_id);
	bind_text(s, 4, n->dc);
	bind_text(s, 5, n->rack);
	bind_text(s, 6, n->state);
	bind_text(s, 7, n->version);
	bind_text(s, 8, n->ssh_host_key);
	bind_keep(s, 9, n->last_heartbeat);
	bind_keep(s, 10, n->load_bytes);
	bind_keep(s, 11, n->is_seed);
	bind_text(s, 12, n->status_json);
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = db_err(c, err, errlen, "upsert node");
		if (rc == STORE_ENOENT && err != NULL)
			snprintf(err, errlen, "cluster '%s' not found",
			    n->cluster);
		rollback(c);
		goto out;
	}
	if ((rc = commit(c, err, errlen)) == 0 && created != NULL)
		*created = !exists;
out:
	unlock(c);
	return rc;
}

int store_node_delete(struct store *st, const char *cluster,
    const char *address, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_NODE_DELETE);
	int rc = 0;

	bind_text(s, 1, cluster);
	bind_text(s, 2, address);
	if (exec_stmt(s) != SQLITE_DONE)
		rc = db_err(c, err, errlen, "delete node");
	else if (sqlite3_changes(c->db) == 0)
		rc = STORE_ENOENT;
	unlock(c);
	return rc;
}

static json_t *node_json(sqlite3_stmt *s)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I,"
	    " s:b, s:o}",
	    "cluster", col_jstr(s, 0), "address", col_jstr(s, 1),
	    "host_id", col_jstr(s, 2), "dc", col_jstr(s, 3),
	    "rack", col_jstr(s, 4), "state", col_jstr(s, 5),
	    "version", col_jstr(s, 6), "ssh_host_key", col_jstr(s, 7),
	    "last_heartbeat", col_jtime(s, 8),
	    "load_bytes", (json_int_t)sqlite3_column_int64(s, 9),
	    "is_seed", sqlite3_column_int(s, 10) != 0,
	    "status", col_json(s, 11));
}

json_t *store_node_get(struct store *st, const char *cluster,
    const char *address)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_NODE_GET);
	json_t *out;

	bind_text(s, 1, cluster);
	bind_text(s, 2, address);
	out = run_one(c, s, node_json);
	unlock(c);
	return out;
}

json_t *store_node_find_host(struct store *st, const char *cluster,
    const char *host_id)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_NODE_FIND_HOST);
	json_t *out;

	bind_text(s, 1, cluster);
	bind_text(s, 2, host_id);
	out = run_one(c, s, node_json);
	unlock(c);
	return out;
}

json_t *store_node_list(struct store *st, const char *cluster)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_NODE_LIST);
	json_t *out = json_array();
	int rc;

	bind_text(s, 1, cluster);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(out, node_json(s));
	if (rc != SQLITE_DONE) {
		db_err(c, NULL, 0, "list nodes");
		json_decref(out);
		out = NULL;
	}
	rst(s);
	unlock(c);
	return out;
}

int store_cluster_nodes(struct store *st, const char *cluster,
    json_t **nodes)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_CLUSTER_NODES);
	json_t *out = json_array();
	bool found = false;
	int rc;

	bind_text(s, 1, cluster);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		found = true;
		if (sqlite3_column_type(s, 1) != SQLITE_NULL)	/* a node */
			json_array_append_new(out, node_json(s));
	}
	if (rc != SQLITE_DONE)
		rc = db_err(c, NULL, 0, "cluster nodes");
	else
		rc = found ? 0 : STORE_ENOENT;
	rst(s);
	unlock(c);
	if (rc < 0)
		json_decref(out);
	else
		*nodes = out;
	return rc;
}

int store_heartbeats_apply(struct store *st, const struct store_hb *hbs,
    size_t n, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	int rc, applied = 0;

	if ((rc = begin(c, err, errlen)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s = S(c, SQL_NODE_HEARTBEAT);
		bind_text(s, 1, hbs[i].cluster);
		bind_text(s, 2, hbs[i].address);
		sqlite3_bind_int64(s, 3, hbs[i].at);
		bind_text(s, 4, hbs[i].state);
		bind_text(s, 5, hbs[i].status_json);
		bind_keep(s, 6, hbs[i].load_bytes);
		if (exec_stmt(s) != SQLITE_DONE) {
			rc = db_err(c, err, errlen, "heartbeat");
			rollback(c);
			goto out;
		}
		applied += sqlite3_changes(c->db);
	}
	rc = commit(c, err, errlen);
	if (rc == 0)
		rc = applied;
out:
	unlock(c);
	return rc;
}

/* ---- tasks -------------------------------------------------------------- */

/*
 * Group commit.  The runner's and the submitters' writes are small and
 * touch the same hot pages (the newest tasks, steps and events), and with
 * WAL every transaction writes each page it touched again.  So a writer
 * queues its operation; whoever finds no commit in progress becomes the
 * leader, takes every queued operation and runs them in ONE transaction,
 * each inside its own savepoint (an operation that fails is rolled back
 * alone), then wakes the others with their results.  With one writer this
 * is a plain transaction; with many it is one commit for a batch.
 *
 * An operation returns 0, a negative STORE_E* (rolled back), or
 * OP_KEEP_BUSY (kept, reported as STORE_EBUSY).
 */
#define OP_KEEP_BUSY	1
#define GC_BATCH_MAX	256	/* operations joining a batch as it runs */

/*
 * Under load a leader waits a little for company before it begins: every
 * commit costs the same fixed work (locks, the WAL frames of the hot
 * pages) whatever it holds, and on a small machine the other writers
 * cannot queue while the leader has the CPU.  "Under load" means another
 * thread than the last one queued an operation in the last GC_LOAD_US, so
 * a lone writer never waits.  The leader waits until no operation arrived
 * for GC_GAP_US, GC_WAIT_US at most.
 */
#define GC_LOAD_US	2000
#define GC_GAP_US	20
#define GC_WAIT_US	150

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* With gc_mu held. */
static void gc_gather(struct store *st)
{
	int64_t now = mono_us(), end = now + GC_WAIT_US;

	if (now - st->gc_last_other >= GC_LOAD_US)
		return;
	st->gc_gathering = true;
	for (;;) {
		int64_t until = st->gc_last_arrival + GC_GAP_US;
		struct timespec ts;

		if (until > end)
			until = end;
		if (mono_us() >= until)
			break;
		ts.tv_sec = (time_t)(until / 1000000);
		ts.tv_nsec = (long)(until % 1000000) * 1000;
		pthread_cond_timedwait(&st->gc_more_cv, &st->gc_mu, &ts);
	}
	st->gc_gathering = false;
}

struct wop {
	struct wop *next;
	int (*fn)(struct store *st, struct conn *c, void *arg, char *err,
	    size_t errlen);
	void *arg;
	char *err;
	size_t errlen;
	int rc;
	bool done;
};

static int write_op(struct store *st, int (*fn)(struct store *,
    struct conn *, void *, char *, size_t), void *arg, char *err,
    size_t errlen)
{
	struct wop op = { .fn = fn, .arg = arg, .err = err, .errlen = errlen };
	char dummy[8];

	if (op.err == NULL) {
		op.err = dummy;
		op.errlen = sizeof(dummy);
	}
	pthread_mutex_lock(&st->gc_mu);
	*st->gc_tail = &op;
	st->gc_tail = &op.next;
	st->gc_last_arrival = mono_us();
	if (!pthread_equal(st->gc_last_writer, pthread_self())) {
		st->gc_last_writer = pthread_self();
		st->gc_last_other = st->gc_last_arrival;
	}
	if (st->gc_gathering)
		pthread_cond_signal(&st->gc_more_cv);
	while (!op.done) {
		struct wop *batch, *o;
		struct conn *c;
		size_t n;
		int rc;

		if (st->gc_busy) {
			pthread_cond_wait(&st->gc_cv, &st->gc_mu);
			continue;
		}
		st->gc_busy = true;
		gc_gather(st);
		batch = st->gc_head;
		st->gc_head = NULL;
		st->gc_tail = &st->gc_head;
		pthread_mutex_unlock(&st->gc_mu);

		c = wlock(st);
		rc = begin(c, op.err, op.errlen);
		for (o = batch, n = 0; o != NULL; o = o->next, n++) {
			if (rc < 0) {
				o->rc = rc;
			} else if (exec_stmt(S(c, SQL_SAVEPOINT)) !=
			    SQLITE_DONE) {
				o->rc = db_err(c, o->err, o->errlen,
				    "savepoint");
			} else {
				o->rc = o->fn(st, c, o->arg, o->err, o->errlen);
				if (o->rc < 0)
					exec_stmt(S(c, SQL_ROLLBACK_TO));
				exec_stmt(S(c, SQL_RELEASE));
			}
			/*
			 * Operations queued while this batch ran join it:
			 * their writers are waiting anyway, and every
			 * commit rewrites the hot pages once, whatever the
			 * batch size.
			 */
			if (o->next == NULL && n + 1 < GC_BATCH_MAX) {
				pthread_mutex_lock(&st->gc_mu);
				if (st->gc_head != NULL) {
					o->next = st->gc_head;
					st->gc_head = NULL;
					st->gc_tail = &st->gc_head;
				}
				pthread_mutex_unlock(&st->gc_mu);
			}
		}
		if (rc == 0 && st->ntev >= FLUSH_COUNT &&
		    do_flush_events(st, c) < 0)
			rc = db_err(c, op.err, op.errlen, "task events");
		if (rc == 0 && (rc = commit(c, op.err, op.errlen)) < 0) {
			for (o = batch; o != NULL; o = o->next) {
				if (o != &op)
					snprintf(o->err, o->errlen, "%s", op.err);
				o->rc = rc;
			}
		}
		unlock(c);

		pthread_mutex_lock(&st->gc_mu);
		for (o = batch; o != NULL; o = o->next)
			o->done = true;
		st->gc_busy = false;
		pthread_cond_broadcast(&st->gc_cv);
	}
	pthread_mutex_unlock(&st->gc_mu);
	return op.rc == OP_KEEP_BUSY ? STORE_EBUSY : op.rc;
}

struct insert_args {
	const struct store_task_new *t;
	const char *params;
	char *id_out;
	int64_t seq;
};

static int tx_task_insert(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct insert_args *a = arg;
	const struct store_task_new *t = a->t;
	sqlite3_stmt *s;
	char id[STORE_ID_MAX];
	int64_t now = t->created_at > 0 ? t->created_at : time_wall_ms();
	int rc;

	if (t->schedule_id != NULL) {
		enum store_task_state last = STORE_TASK_SUCCEEDED;
		s = S(c, SQL_SCHED_LAST_STATE);
		bind_text(s, 1, t->schedule_id);
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			rst(s);
			snprintf(err, errlen, "schedule '%s' not found",
			    t->schedule_id);
			return STORE_ENOENT;
		}
		if (col_str(s, 0) != NULL)
			last = task_state_of(col_str(s, 0));
		rst(s);
		if (!store_task_state_terminal(last)) {
			s = S(c, SQL_SCHED_SET_NEXT);
			bind_text(s, 1, t->schedule_id);
			sqlite3_bind_int64(s, 2, t->schedule_next_run_at);
			if (exec_stmt(s) != SQLITE_DONE)
				return db_err(c, err, errlen, "schedule");
			snprintf(err, errlen, "the previous task of schedule "
			    "'%s' is not finished", t->schedule_id);
			return OP_KEEP_BUSY;
		}
	}

	new_id(st, 't', id);
	s = S(c, SQL_TASK_INSERT);
	bind_text(s, 1, id);
	bind_text(s, 2, t->cluster);
	bind_text(s, 3, t->type);
	bind_text(s, 4, a->params);
	sqlite3_bind_int64(s, 5, now);
	bind_text(s, 6, t->schedule_id);
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = db_err(c, err, errlen, "insert task");
		if (rc == STORE_ENOENT)
			snprintf(err, errlen, "cluster '%s' not found",
			    t->cluster);
		return rc;
	}
	a->seq = sqlite3_last_insert_rowid(c->db);
	for (size_t i = 0; i < t->nsteps; i++) {
		s = S(c, SQL_STEP_INSERT);
		bind_text(s, 1, id);
		sqlite3_bind_int(s, 2, (int)i);
		bind_text(s, 3, t->steps[i].name);
		bind_text(s, 4, t->steps[i].node);
		if (exec_stmt(s) != SQLITE_DONE)
			return db_err(c, err, errlen, "insert step");
	}
	if (t->schedule_id != NULL) {
		s = S(c, SQL_SCHED_FIRED);
		bind_text(s, 1, t->schedule_id);
		bind_text(s, 2, id);
		sqlite3_bind_int64(s, 3, now);
		sqlite3_bind_int64(s, 4, t->schedule_next_run_at);
		if (exec_stmt(s) != SQLITE_DONE)
			return db_err(c, err, errlen, "schedule fired");
	}
	if (do_task_event(st, id, t->cluster, t->type,
	    (enum store_task_state)-1, STORE_TASK_QUEUED, NULL, now) < 0)
		return db_err(c, err, errlen, "task event");
	memcpy(a->id_out, id, STORE_ID_MAX);
	return 0;
}

int store_task_insert(struct store *st, const struct store_task_new *t,
    char *id_out, int64_t *seq_out, char *err, size_t errlen)
{
	struct insert_args a = { .t = t, .id_out = id_out };
	char *params;
	int rc;

	if (t->nsteps == 0) {
		snprintf(err, errlen, "a task needs at least one step");
		return STORE_ERR;
	}
	params = t->params ? json_dumps(t->params, JSON_COMPACT) :
	    xstrdup("{}");
	a.params = params;
	rc = write_op(st, tx_task_insert, &a, err, errlen);
	if (rc == 0 && seq_out != NULL)
		*seq_out = a.seq;
	free(params);
	return rc;
}

static void step_from_row(struct store_step *sp, sqlite3_stmt *s, int i)
{
	sp->idx = sqlite3_column_int(s, i);
	sp->name = col_dup(s, i + 1);
	sp->node = col_dup(s, i + 2);
	sp->state = step_state_parse(col_str(s, i + 3));
	sp->attempts = sqlite3_column_int(s, i + 4);
	sp->started_at = sqlite3_column_int64(s, i + 5);
	sp->finished_at = sqlite3_column_int64(s, i + 6);
	sp->message = col_dup(s, i + 7);
	sp->next_attempt_at = sqlite3_column_int64(s, i + 8);
}

/* The task row and its steps in one statement: one read transaction. */
struct store_task *store_task_load(struct store *st, const char *id)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_TASK_LOAD);
	struct store_task *t = NULL;
	size_t cap = 0;
	int rc;

	bind_text(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (t == NULL) {
			t = xcalloc(1, sizeof(*t));
			t->seq = sqlite3_column_int64(s, 0);
			str_copy(t->id, col_str(s, 1), sizeof(t->id));
			str_copy(t->cluster, col_str(s, 2), sizeof(t->cluster));
			str_copy(t->type, col_str(s, 3), sizeof(t->type));
			t->state = task_state_of(col_str(s, 4));
			t->params = json_loads(col_str(s, 5), 0, NULL);
			if (t->params == NULL)
				t->params = json_object();
			t->created_at = sqlite3_column_int64(s, 6);
			t->started_at = sqlite3_column_int64(s, 7);
			t->finished_at = sqlite3_column_int64(s, 8);
			t->error = col_dup(s, 9);
			t->cancel_requested = sqlite3_column_int(s, 10) != 0;
			t->pause_requested = sqlite3_column_int(s, 11) != 0;
			if (col_str(s, 12) != NULL)
				str_copy(t->schedule_id, col_str(s, 12),
				    sizeof(t->schedule_id));
		}
		if (sqlite3_column_type(s, 13) == SQLITE_NULL)
			continue;		/* no steps (never inserted) */
		if (t->nsteps == cap) {
			cap = cap ? cap * 2 : 8;
			t->steps = xrealloc(t->steps, cap * sizeof(*t->steps));
		}
		step_from_row(&t->steps[t->nsteps++], s, 13);
	}
	rst(s);
	if (rc != SQLITE_DONE) {
		db_err(c, NULL, 0, "load task");
		store_task_free(t);
		t = NULL;
	}
	unlock(c);
	return t;
}

void store_task_free(struct store_task *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nsteps; i++) {
		free(t->steps[i].name);
		free(t->steps[i].node);
		free(t->steps[i].message);
	}
	free(t->steps);
	free(t->error);
	json_decref(t->params);
	free(t);
}

static json_t *task_json(sqlite3_stmt *s)
{
	json_t *params = col_json(s, 5);

	if (!json_is_object(params)) {
		json_decref(params);
		params = json_object();
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
	    " s:{s:i, s:i}, s:o, s:I, s:b, s:b}",
	    "id", col_jstr(s, 1), "cluster", col_jstr(s, 2),
	    "type", col_jstr(s, 3), "state", col_jstr(s, 4),
	    "params", params,
	    "created_at", col_jtime(s, 6), "started_at", col_jtime(s, 7),
	    "finished_at", col_jtime(s, 8),
	    "error", col_jstr(s, 9),
	    "progress", "done", sqlite3_column_int(s, 13),
	    "total", sqlite3_column_int(s, 14),
	    "schedule_id", col_jstr(s, 12),
	    "seq", (json_int_t)sqlite3_column_int64(s, 0),
	    "cancel_requested", sqlite3_column_int(s, 10) != 0,
	    "pause_requested", sqlite3_column_int(s, 11) != 0);
}

static json_t *step_json(sqlite3_stmt *s)
{
	return json_pack("{s:i, s:o, s:o, s:o, s:i, s:o, s:o, s:o, s:o}",
	    "idx", sqlite3_column_int(s, 0),
	    "name", col_jstr(s, 1), "node", col_jstr(s, 2),
	    "state", col_jstr(s, 3), "attempts", sqlite3_column_int(s, 4),
	    "started_at", col_jtime(s, 5), "finished_at", col_jtime(s, 6),
	    "message", col_jstr(s, 7), "next_attempt_at", col_jtime(s, 8));
}

/* Give every step of steps its "nodes" (per-node progress), [] when none. */
static int step_nodes_attach(struct conn *c, const char *id, json_t *steps)
{
	sqlite3_stmt *s = S(c, SQL_STEP_NODES);
	size_t i;
	json_t *v;
	int rc;

	json_array_foreach(steps, i, v)
		json_object_set_new(v, "nodes", json_array());
	bind_text(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *step = json_array_get(steps,
		    (size_t)sqlite3_column_int(s, 0));
		json_t *n;
		if (step == NULL)
			continue;
		n = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
		    " s:o}",
		    "node", col_jstr(s, 1), "phase", col_jstr(s, 2),
		    "files_done", col_jint(s, 3), "files_total", col_jint(s, 4),
		    "bytes_done", col_jint(s, 5), "bytes_total", col_jint(s, 6),
		    "rate_bps", sqlite3_column_type(s, 7) == SQLITE_NULL ?
		    json_null() : json_real(sqlite3_column_double(s, 7)),
		    "state", col_jstr(s, 8), "message", col_jstr(s, 9),
		    "updated_at", col_jtime(s, 10));
		json_array_append_new(json_object_get(step, "nodes"), n);
	}
	rst(s);
	if (rc != SQLITE_DONE) {
		db_err(c, NULL, 0, "step nodes");
		return -1;
	}
	return 0;
}

json_t *store_task_get(struct store *st, const char *id)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_TASK_GET);
	json_t *out, *steps;
	int rc;

	bind_text(s, 1, id);
	out = run_one(c, s, task_json);
	if (out == NULL)
		goto out;
	steps = json_array();
	s = S(c, SQL_TASK_STEPS);
	bind_text(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(steps, step_json(s));
	rst(s);
	if (rc != SQLITE_DONE) {
		db_err(c, NULL, 0, "task steps");
		json_decref(steps);
		json_decref(out);
		out = NULL;
		goto out;
	}
	json_object_set_new(out, "steps", steps);
	if (step_nodes_attach(c, id, steps) != 0) {
		json_decref(out);
		out = NULL;
	}
out:
	unlock(c);
	return out;
}

json_t *store_task_list(struct store *st, const char *cluster,
    const char *state, const char *cursor, int limit)
{
	struct conn *c;
	sqlite3_stmt *s;
	enum sql_id q;
	enum store_task_state ts;
	json_t *out;

	if (state != NULL && store_task_state_parse(state, &ts) < 0)
		return NULL;
	if (cluster != NULL)
		q = state ? SQL_TASK_LIST_CLUSTER_STATE : SQL_TASK_LIST_CLUSTER;
	else
		q = state ? SQL_TASK_LIST_STATE : SQL_TASK_LIST_ALL;
	limit = clamp_limit(limit);
	c = rlock(st);
	s = S(c, q);
	sqlite3_bind_int64(s, 1, cursor ? strtoll(cursor, NULL, 10) : INT64_MAX);
	sqlite3_bind_int(s, 2, limit);
	if (state != NULL)
		bind_text(s, 3, state);
	if (cluster != NULL)
		bind_text(s, 4, cluster);
	out = run_page(c, s, limit, 0, task_json);
	unlock(c);
	return out;
}

int store_tasks_unfinished(struct store *st, struct store_task_ref **out,
    size_t *n)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_TASK_UNFINISHED);
	struct store_task_ref *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		struct store_task_ref *r = &v[len++];
		memset(r, 0, sizeof(*r));
		str_copy(r->id, col_str(s, 0), sizeof(r->id));
		str_copy(r->cluster, col_str(s, 1), sizeof(r->cluster));
		r->state = task_state_of(col_str(s, 2));
		r->seq = sqlite3_column_int64(s, 3);
		r->started = sqlite3_column_int(s, 4) != 0;
	}
	rst(s);
	if (rc != SQLITE_DONE) {
		rc = db_err(c, NULL, 0, "unfinished tasks");
		free(v);
		unlock(c);
		return rc;
	}
	unlock(c);
	*out = v;
	*n = len;
	return 0;
}

json_t *store_task_counts(struct store *st)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_TASK_COUNTS);
	json_t *out = json_array();
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(out, json_pack("{s:o, s:o, s:I}",
		    "type", col_jstr(s, 0), "state", col_jstr(s, 1),
		    "count", (json_int_t)sqlite3_column_int64(s, 2)));
	rst(s);
	if (rc != SQLITE_DONE) {
		db_err(c, NULL, 0, "task counts");
		json_decref(out);
		out = NULL;
	}
	unlock(c);
	return out;
}

json_t *store_task_last_success(struct store *st)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_TASK_LAST_SUCCESS);
	json_t *out = json_array();
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(out, json_pack("{s:o, s:o, s:I}",
		    "cluster", col_jstr(s, 0), "type", col_jstr(s, 1),
		    "finished_at", (json_int_t)sqlite3_column_int64(s, 2)));
	rst(s);
	if (rc != SQLITE_DONE) {
		db_err(c, NULL, 0, "last successful tasks");
		json_decref(out);
		out = NULL;
	}
	unlock(c);
	return out;
}

json_t *store_backup_bytes(struct store *st)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_BACKUP_BYTES);
	json_t *out = json_array();
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(out, json_pack("{s:o, s:I, s:I}",
		    "cluster", col_jstr(s, 0),
		    "uploaded", (json_int_t)sqlite3_column_int64(s, 1),
		    "bytes", (json_int_t)sqlite3_column_int64(s, 2)));
	rst(s);
	if (rc != SQLITE_DONE) {
		db_err(c, NULL, 0, "backup bytes");
		json_decref(out);
		out = NULL;
	}
	unlock(c);
	return out;
}

struct update_args {
	const char *id;
	int task_state;
	int64_t now;
	const char *error;
	const struct store_step_update *su;
	size_t nsu;
};

static int tx_task_update(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct update_args *a = arg;
	sqlite3_stmt *s;

	for (size_t i = 0; i < a->nsu; i++) {
		const struct store_step_update *u = &a->su[i];
		s = S(c, SQL_STEP_SET);
		bind_text(s, 1, a->id);
		sqlite3_bind_int(s, 2, u->idx);
		bind_text(s, 3, store_step_state_str(u->state));
		sqlite3_bind_int(s, 4, u->attempts);
		bind_keep(s, 5, u->started_at);
		bind_keep(s, 6, u->finished_at);
		bind_keep(s, 7, u->next_attempt_at);
		bind_text(s, 8, u->message);
		if (exec_stmt(s) != SQLITE_DONE)
			return db_err(c, err, errlen, "update step");
	}
	if (a->task_state >= 0) {
		enum store_task_state from, to = (enum store_task_state)a->task_state;
		char cluster[STORE_NAME_MAX], type[STORE_NAME_MAX];
		int64_t started, seq;
		bool terminal;

		s = S(c, SQL_TASK_HEAD);
		bind_text(s, 1, a->id);
		if (sqlite3_step(s) != SQLITE_ROW) {
			rst(s);
			snprintf(err, errlen, "task '%s' not found", a->id);
			return STORE_ENOENT;
		}
		from = task_state_of(col_str(s, 0));
		str_copy(cluster, col_str(s, 1), sizeof(cluster));
		str_copy(type, col_str(s, 2), sizeof(type));
		started = sqlite3_column_int64(s, 3);
		seq = sqlite3_column_int64(s, 4);
		rst(s);
		if (store_task_state_terminal(from) && from != to) {
			snprintf(err, errlen, "task '%s' is already %s", a->id,
			    store_task_state_str(from));
			return STORE_EBUSY;
		}

		/* Terminal clears both requests; queued/paused the pause.
		 * By rowid: the row was just found, no second index walk. */
		terminal = store_task_state_terminal(to);
		s = S(c, SQL_TASK_SET);
		sqlite3_bind_int64(s, 1, seq);
		bind_text(s, 2, store_task_state_str(to));
		bind_time(s, 3, started > 0 ? started :
		    (to == STORE_TASK_RUNNING ? a->now : 0));
		bind_time(s, 4, terminal ? a->now : 0);
		bind_text(s, 5, a->error);
		sqlite3_bind_int(s, 6, terminal ? 0 : -1);
		sqlite3_bind_int(s, 7, terminal || to == STORE_TASK_QUEUED ||
		    to == STORE_TASK_PAUSED ? 0 : -1);
		if (exec_stmt(s) != SQLITE_DONE)
			return db_err(c, err, errlen, "update task");
		if (to == STORE_TASK_CANCELLED) {
			s = S(c, SQL_STEPS_CANCEL);
			bind_text(s, 1, a->id);
			sqlite3_bind_int64(s, 2, a->now);
			if (exec_stmt(s) != SQLITE_DONE)
				return db_err(c, err, errlen, "cancel steps");
		}
		if (from != to && do_task_event(st, a->id, cluster, type, from,
		    to, a->error, a->now) < 0)
			return db_err(c, err, errlen, "task event");
	} else if (a->error != NULL) {
		s = S(c, SQL_TASK_SET_ERROR);
		bind_text(s, 1, a->id);
		bind_text(s, 2, a->error);
		if (exec_stmt(s) != SQLITE_DONE)
			return db_err(c, err, errlen, "task error");
	}
	return 0;
}

int store_task_update(struct store *st, const char *id, int task_state,
    int64_t now, const char *error, const struct store_step_update *su,
    size_t nsu, char *err, size_t errlen)
{
	struct update_args a = {
		.id = id, .task_state = task_state,
		.now = now > 0 ? now : time_wall_ms(), .error = error,
		.su = su, .nsu = nsu,
	};

	return write_op(st, tx_task_update, &a, err, errlen);
}

int store_task_request(struct store *st, const char *id,
    enum store_request req, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_TASK_REQUEST);
	int rc = 0;

	bind_text(s, 1, id);
	/* -1 keeps the other flag (see the CASE in the statement). */
	sqlite3_bind_int(s, 2, req == STORE_REQ_CANCEL ? 1 :
	    req == STORE_REQ_NONE ? 0 : -1);
	sqlite3_bind_int(s, 3, req == STORE_REQ_PAUSE ? 1 :
	    req == STORE_REQ_NONE || req == STORE_REQ_UNPAUSE ? 0 : -1);
	if (exec_stmt(s) != SQLITE_DONE)
		rc = db_err(c, err, errlen, "task request");
	else if (sqlite3_changes(c->db) == 0)
		rc = STORE_ENOENT;
	unlock(c);
	return rc;
}

/* ---- schedules ---------------------------------------------------------- */

int store_schedule_create(struct store *st, struct store_schedule *sc,
    char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_SCHED_INSERT);
	char *params = sc->params ? json_dumps(sc->params, JSON_COMPACT) :
	    xstrdup("{}");
	int rc = 0;

	new_id(st, 's', sc->id);
	bind_text(s, 1, sc->id);
	bind_text(s, 2, sc->cluster);
	bind_text(s, 3, sc->type);
	bind_text(s, 4, params);
	bind_time(s, 5, sc->cron ? 0 : sc->every_ms);
	bind_text(s, 6, sc->cron);
	bind_time(s, 7, sc->start_at);
	sqlite3_bind_int64(s, 8, sc->next_run_at);
	sqlite3_bind_int(s, 9, 1);
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = db_err(c, err, errlen, "create schedule");
		if (rc == STORE_ENOENT && err != NULL)
			snprintf(err, errlen, "cluster '%s' not found",
			    sc->cluster);
	}
	unlock(c);
	free(params);
	return rc;
}

int store_schedule_delete(struct store *st, const char *id, char *err,
    size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_SCHED_DELETE);
	int rc = 0;

	bind_text(s, 1, id);
	if (exec_stmt(s) != SQLITE_DONE)
		rc = db_err(c, err, errlen, "delete schedule");
	else if (sqlite3_changes(c->db) == 0)
		rc = STORE_ENOENT;
	unlock(c);
	return rc;
}

static json_t *sched_json(sqlite3_stmt *s)
{
	char every[32];
	json_t *params = col_json(s, 3);

	if (!json_is_object(params)) {
		json_decref(params);
		params = json_object();
	}
	fmt_every(sqlite3_column_int64(s, 4), every, sizeof(every));
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
	    " s:o, s:b}",
	    "id", col_jstr(s, 0), "cluster", col_jstr(s, 1),
	    "type", col_jstr(s, 2), "params", params,
	    "every", sqlite3_column_type(s, 4) == SQLITE_NULL ? json_null() :
	    json_string(every),
	    "every_ms", sqlite3_column_type(s, 4) == SQLITE_NULL ?
	    json_null() : json_integer(sqlite3_column_int64(s, 4)),
	    "cron", col_jstr(s, 5), "start_at", col_jtime(s, 6),
	    "next_run_at", col_jtime(s, 7), "last_run_at", col_jtime(s, 8),
	    "last_task_id", col_jstr(s, 9),
	    "enabled", sqlite3_column_int(s, 10) != 0);
}

json_t *store_schedule_get(struct store *st, const char *id)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_SCHED_GET);
	json_t *out;

	bind_text(s, 1, id);
	out = run_one(c, s, sched_json);
	unlock(c);
	return out;
}

json_t *store_schedule_list(struct store *st, const char *cluster,
    const char *cursor, int limit)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, cluster ? SQL_SCHED_LIST_CLUSTER :
	    SQL_SCHED_LIST_ALL);
	json_t *out;

	limit = clamp_limit(limit);
	bind_text(s, 1, cursor ? cursor : "");
	sqlite3_bind_int(s, 2, limit);
	if (cluster != NULL)
		bind_text(s, 3, cluster);
	out = run_page(c, s, limit, 0, sched_json);
	unlock(c);
	return out;
}

int store_schedules_due(struct store *st, int64_t now,
    struct store_schedule **out, size_t *n)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_SCHED_DUE);
	struct store_schedule *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	sqlite3_bind_int64(s, 1, now);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		struct store_schedule *sc = &v[len++];
		memset(sc, 0, sizeof(*sc));
		str_copy(sc->id, col_str(s, 0), sizeof(sc->id));
		str_copy(sc->cluster, col_str(s, 1), sizeof(sc->cluster));
		str_copy(sc->type, col_str(s, 2), sizeof(sc->type));
		sc->params = json_loads(col_str(s, 3), 0, NULL);
		if (sc->params == NULL)
			sc->params = json_object();
		sc->every_ms = sqlite3_column_int64(s, 4);
		sc->cron = col_dup(s, 5);
		sc->start_at = sqlite3_column_int64(s, 6);
		sc->next_run_at = sqlite3_column_int64(s, 7);
		sc->last_run_at = sqlite3_column_int64(s, 8);
		if (col_str(s, 9) != NULL)
			str_copy(sc->last_task_id, col_str(s, 9),
			    sizeof(sc->last_task_id));
		sc->enabled = sqlite3_column_int(s, 10) != 0;
	}
	rst(s);
	if (rc != SQLITE_DONE) {
		rc = db_err(c, NULL, 0, "due schedules");
		unlock(c);
		store_schedules_free(v, len);
		return rc;
	}
	unlock(c);
	*out = v;
	*n = len;
	return 0;
}

void store_schedules_free(struct store_schedule *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		json_decref(v[i].params);
		free(v[i].cron);
	}
	free(v);
}

int store_schedule_set_next(struct store *st, const char *id,
    int64_t next_run_at, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_SCHED_SET_NEXT);
	int rc = 0;

	bind_text(s, 1, id);
	sqlite3_bind_int64(s, 2, next_run_at);
	if (exec_stmt(s) != SQLITE_DONE)
		rc = db_err(c, err, errlen, "schedule next run");
	else if (sqlite3_changes(c->db) == 0)
		rc = STORE_ENOENT;
	unlock(c);
	return rc;
}

/* ---- tokens ------------------------------------------------------------- */

int store_token_create(struct store *st, const char *name, const char *role,
    const char *secret, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_TOKEN_INSERT);
	char hash[2 * SHA256_LEN + 1];
	int rc = 0;

	sha256_hex(secret, strlen(secret), hash);
	bind_text(s, 1, name);
	bind_text(s, 2, role);
	bind_text(s, 3, hash);
	sqlite3_bind_int64(s, 4, time_wall_ms());
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = db_err(c, err, errlen, "create token");
		if (rc == STORE_EEXIST && err != NULL)
			snprintf(err, errlen, "token '%s' already exists", name);
	}
	unlock(c);
	return rc;
}

int store_token_revoke(struct store *st, const char *name, char *err,
    size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_TOKEN_REVOKE);
	int rc = 0;

	bind_text(s, 1, name);
	if (exec_stmt(s) != SQLITE_DONE)
		rc = db_err(c, err, errlen, "revoke token");
	else if (sqlite3_changes(c->db) == 0)
		rc = STORE_ENOENT;
	unlock(c);
	return rc;
}

static json_t *token_json(sqlite3_stmt *s)
{
	return json_pack("{s:o, s:o, s:o, s:b}",
	    "name", col_jstr(s, 0), "role", col_jstr(s, 1),
	    "created_at", col_jtime(s, 2),
	    "revoked", sqlite3_column_int(s, 3) != 0);
}

json_t *store_token_list(struct store *st)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_TOKEN_LIST);
	json_t *out = json_array();
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(out, token_json(s));
	rst(s);
	if (rc != SQLITE_DONE) {
		db_err(c, NULL, 0, "list tokens");
		json_decref(out);
		out = NULL;
	}
	unlock(c);
	return out;
}

int store_token_lookup(struct store *st, const char *secret, char *name,
    size_t namelen, char *role, size_t rolelen)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = S(c, SQL_TOKEN_LOOKUP);
	char hash[2 * SHA256_LEN + 1];
	int rc;

	sha256_hex(secret, strlen(secret), hash);
	bind_text(s, 1, hash);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		str_copy(name, col_str(s, 0), namelen);
		str_copy(role, col_str(s, 1), rolelen);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = STORE_ENOENT;
	} else {
		rc = db_err(c, NULL, 0, "token lookup");
	}
	rst(s);
	unlock(c);
	return rc;
}

/* ---- backups: the index, damaged objects --------------------------------
 *
 * Statements of this section are prepared when used (backups change a few
 * times per task, not per request), so the table of hot statements above
 * stays as it is.
 */

static const char *const backup_states[] = {
	"complete", "damaged", "partial", "running", "incomplete", "failed",
};

const char *store_backup_state_str(enum store_backup_state s)
{
	if ((size_t)s >= ARRAY_SIZE(backup_states))
		return "unknown";
	return backup_states[s];
}

int store_backup_state_parse(const char *s, enum store_backup_state *out)
{
	for (size_t i = 0; s != NULL && i < ARRAY_SIZE(backup_states); i++) {
		if (strcmp(s, backup_states[i]) == 0) {
			*out = (enum store_backup_state)i;
			return 0;
		}
	}
	return -1;
}

static sqlite3_stmt *prep(struct conn *c, const char *sql)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK)
		fatalx("store: cannot prepare '%s': %s", sql,
		    sqlite3_errmsg(c->db));
	return s;
}

/* Step and finalize a statement that returns no rows; 0 or db_err(). */
static int run_fin(struct conn *c, sqlite3_stmt *s, char *err, size_t errlen,
    const char *what)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		rc = db_err(c, err, errlen, what);
		sqlite3_finalize(s);
		return rc;
	}
	sqlite3_finalize(s);
	return 0;
}

#define BK_GOOD_STATE \
	"CASE WHEN partial THEN 'partial' ELSE 'complete' END"

static int bk_put(struct conn *c, const struct store_backup *b, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = prep(c, "INSERT INTO backups (cluster, id, task_id,"
	    " state, partial, started_at, finished_at, nodes, files, bytes,"
	    " files_uploaded, bytes_uploaded) VALUES"
	    " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
	    " ON CONFLICT (cluster, id) DO UPDATE SET"
	    " task_id = COALESCE(excluded.task_id, task_id),"
	    /* what a verify found stays until a verify says otherwise */
	    " state = CASE WHEN state = 'damaged' AND excluded.state IN"
	    "  ('complete','partial') THEN 'damaged' ELSE excluded.state END,"
	    " partial = excluded.partial,"
	    " started_at = COALESCE(excluded.started_at, started_at),"
	    " finished_at = COALESCE(excluded.finished_at, finished_at),"
	    " nodes = excluded.nodes, files = excluded.files,"
	    " bytes = excluded.bytes, files_uploaded = excluded.files_uploaded,"
	    " bytes_uploaded = excluded.bytes_uploaded");

	bind_text(s, 1, b->cluster);
	bind_text(s, 2, b->id);
	bind_text(s, 3, b->task_id[0] ? b->task_id : NULL);
	bind_text(s, 4, store_backup_state_str(b->state));
	sqlite3_bind_int(s, 5, b->partial);
	bind_time(s, 6, b->started_at);
	bind_time(s, 7, b->finished_at);
	sqlite3_bind_int64(s, 8, b->nodes);
	sqlite3_bind_int64(s, 9, b->files);
	sqlite3_bind_int64(s, 10, b->bytes);
	sqlite3_bind_int64(s, 11, b->files_uploaded);
	sqlite3_bind_int64(s, 12, b->bytes_uploaded);
	return run_fin(c, s, err, errlen, "backup put");
}

static int tx_backup_put(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	(void)st;
	return bk_put(c, arg, err, errlen);
}

int store_backup_put(struct store *st, const struct store_backup *b,
    char *err, size_t errlen)
{
	return write_op(st, tx_backup_put, (void *)(uintptr_t)b, err, errlen);
}

struct bk_args {
	const char *cluster, *id, *task_id, *key;
	enum store_backup_state state;
	int64_t at;
	const struct store_backup_file *files;
	size_t n;
	const struct store_backup *v;
	const struct store_damaged *d;
};

static int tx_backup_set_state(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct bk_args *a = arg;
	sqlite3_stmt *s = prep(c, "UPDATE backups SET state = ?3,"
	    " finished_at = COALESCE(?4, finished_at)"
	    " WHERE cluster = ?1 AND id = ?2");
	int rc;

	(void)st;
	bind_text(s, 1, a->cluster);
	bind_text(s, 2, a->id);
	bind_text(s, 3, store_backup_state_str(a->state));
	bind_time(s, 4, a->at);
	rc = run_fin(c, s, err, errlen, "backup state");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = STORE_ENOENT;
	return rc;
}

int store_backup_set_state(struct store *st, const char *cluster,
    const char *id, enum store_backup_state state, int64_t finished_at,
    char *err, size_t errlen)
{
	struct bk_args a = { .cluster = cluster, .id = id, .state = state,
	    .at = finished_at };

	return write_op(st, tx_backup_set_state, &a, err, errlen);
}

static int bk_add_damage(struct conn *c, const char *cluster, const char *id,
    const struct store_backup_file *f, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s = prep(c, "INSERT INTO backup_damage (cluster,"
		    " backup_id, key, reason) VALUES (?1,?2,?3,?4)"
		    " ON CONFLICT DO NOTHING");
		int rc;
		bind_text(s, 1, cluster);
		bind_text(s, 2, id);
		bind_text(s, 3, f[i].key);
		bind_text(s, 4, f[i].reason ? f[i].reason : "damaged");
		if ((rc = run_fin(c, s, err, errlen, "backup damage")) != 0)
			return rc;
	}
	return 0;
}

static int tx_backup_verified(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct bk_args *a = arg;
	sqlite3_stmt *s;
	int rc;

	(void)st;
	s = prep(c, "DELETE FROM backup_damage WHERE cluster = ?1 AND"
	    " backup_id = ?2");
	bind_text(s, 1, a->cluster);
	bind_text(s, 2, a->id);
	if ((rc = run_fin(c, s, err, errlen, "backup damage")) != 0)
		return rc;
	s = prep(c, "UPDATE backups SET last_verified_at = ?3,"
	    " last_verify = ?4, last_verify_task = ?5,"
	    " state = CASE WHEN ?6 AND state IN ('complete','partial')"
	    "  THEN 'damaged' WHEN NOT ?6 AND state = 'damaged' THEN "
	    BK_GOOD_STATE " ELSE state END"
	    " WHERE cluster = ?1 AND id = ?2");
	bind_text(s, 1, a->cluster);
	bind_text(s, 2, a->id);
	bind_time(s, 3, a->at);
	bind_text(s, 4, a->n > 0 ? "damaged" : "ok");
	bind_text(s, 5, a->task_id);
	sqlite3_bind_int(s, 6, a->n > 0);
	if ((rc = run_fin(c, s, err, errlen, "backup verified")) != 0)
		return rc;
	if (sqlite3_changes(c->db) == 0)
		return STORE_ENOENT;
	return bk_add_damage(c, a->cluster, a->id, a->files, a->n, err, errlen);
}

int store_backup_verified(struct store *st, const char *cluster,
    const char *id, const char *task_id, int64_t at,
    const struct store_backup_file *bad, size_t n, char *err, size_t errlen)
{
	struct bk_args a = { .cluster = cluster, .id = id, .task_id = task_id,
	    .at = at, .files = bad, .n = n };

	return write_op(st, tx_backup_verified, &a, err, errlen);
}

static int tx_backup_mark_damaged(struct store *st, struct conn *c,
    void *arg, char *err, size_t errlen)
{
	struct bk_args *a = arg;
	sqlite3_stmt *s;
	int rc;

	(void)st;
	s = prep(c, "UPDATE backups SET state = 'damaged' WHERE cluster = ?1"
	    " AND id = ?2 AND state IN ('complete','partial','damaged')");
	bind_text(s, 1, a->cluster);
	bind_text(s, 2, a->id);
	if ((rc = run_fin(c, s, err, errlen, "backup damaged")) != 0)
		return rc;
	if (sqlite3_changes(c->db) == 0)
		return STORE_ENOENT;
	return bk_add_damage(c, a->cluster, a->id, a->files, a->n, err, errlen);
}

int store_backup_mark_damaged(struct store *st, const char *cluster,
    const char *id, const struct store_backup_file *files, size_t n,
    char *err, size_t errlen)
{
	struct bk_args a = { .cluster = cluster, .id = id, .files = files,
	    .n = n };

	return write_op(st, tx_backup_mark_damaged, &a, err, errlen);
}

#define BK_COLS \
	"cluster, id, task_id, state, partial, started_at, finished_at," \
	" nodes, files, bytes, files_uploaded, bytes_uploaded," \
	" last_verified_at, last_verify, last_verify_task"

static void bk_from_row(struct store_backup *b, sqlite3_stmt *s)
{
	memset(b, 0, sizeof(*b));
	str_copy(b->cluster, col_str(s, 0) ? col_str(s, 0) : "",
	    sizeof(b->cluster));
	str_copy(b->id, col_str(s, 1) ? col_str(s, 1) : "", sizeof(b->id));
	str_copy(b->task_id, col_str(s, 2) ? col_str(s, 2) : "",
	    sizeof(b->task_id));
	if (store_backup_state_parse(col_str(s, 3), &b->state) != 0)
		b->state = STORE_BK_INCOMPLETE;
	b->partial = sqlite3_column_int(s, 4) != 0;
	b->started_at = sqlite3_column_int64(s, 5);
	b->finished_at = sqlite3_column_int64(s, 6);
	b->nodes = sqlite3_column_int64(s, 7);
	b->files = sqlite3_column_int64(s, 8);
	b->bytes = sqlite3_column_int64(s, 9);
	b->files_uploaded = sqlite3_column_int64(s, 10);
	b->bytes_uploaded = sqlite3_column_int64(s, 11);
	b->last_verified_at = sqlite3_column_int64(s, 12);
	str_copy(b->last_verify, col_str(s, 13) ? col_str(s, 13) : "",
	    sizeof(b->last_verify));
	str_copy(b->last_verify_task, col_str(s, 14) ? col_str(s, 14) : "",
	    sizeof(b->last_verify_task));
}

/* Read backups (one id, or all of the cluster when id is NULL) with their
 * damaged files, in one read transaction. */
static int bk_read(struct store *st, const char *cluster, const char *id,
    struct store_backup **out, size_t *nout)
{
	struct conn *c = rlock(st);
	struct store_backup *v = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *s;
	int rc;

	*out = NULL;
	*nout = 0;
	if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_err(c, NULL, 0, "backups");
		unlock(c);
		return rc;
	}
	s = prep(c, id != NULL ? "SELECT " BK_COLS " FROM backups WHERE"
	    " cluster = ?1 AND id = ?2" : "SELECT " BK_COLS " FROM backups"
	    " WHERE cluster = ?1 ORDER BY id DESC");
	bind_text(s, 1, cluster);
	if (id != NULL)
		bind_text(s, 2, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		bk_from_row(&v[n++], s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		goto fail;
	s = prep(c, "SELECT backup_id, key, reason FROM backup_damage"
	    " WHERE cluster = ?1 ORDER BY backup_id, key");
	bind_text(s, 1, cluster);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *bid = col_str(s, 0);
		for (size_t i = 0; i < n; i++) {
			struct store_backup *b = &v[i];
			if (strcmp(b->id, bid) != 0)
				continue;
			b->damaged = xrealloc(b->damaged, (b->ndamaged + 1) *
			    sizeof(*b->damaged));
			b->damaged[b->ndamaged].key = col_dup(s, 1);
			b->damaged[b->ndamaged].reason = col_dup(s, 2);
			b->ndamaged++;
			break;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	unlock(c);
	*out = v;
	*nout = n;
	return 0;
fail:
	rc = db_err(c, NULL, 0, "backups");
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	unlock(c);
	store_backups_free(v, n);
	return rc;
}

int store_backup_get(struct store *st, const char *cluster, const char *id,
    struct store_backup **out)
{
	size_t n;
	int rc = bk_read(st, cluster, id, out, &n);

	if (rc == 0 && n == 0)
		rc = STORE_ENOENT;
	return rc;
}

int store_backup_list(struct store *st, const char *cluster,
    struct store_backup **out, size_t *n)
{
	return bk_read(st, cluster, NULL, out, n);
}

void store_backups_free(struct store_backup *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		for (size_t k = 0; k < v[i].ndamaged; k++) {
			free(v[i].damaged[k].key);
			free(v[i].damaged[k].reason);
		}
		free(v[i].damaged);
	}
	free(v);
}

static int tx_backup_delete(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct bk_args *a = arg;
	sqlite3_stmt *s = prep(c, "DELETE FROM backups WHERE cluster = ?1"
	    " AND id = ?2");
	int rc;

	(void)st;
	bind_text(s, 1, a->cluster);
	bind_text(s, 2, a->id);
	rc = run_fin(c, s, err, errlen, "backup delete");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = STORE_ENOENT;
	return rc;
}

int store_backup_delete(struct store *st, const char *cluster,
    const char *id, char *err, size_t errlen)
{
	struct bk_args a = { .cluster = cluster, .id = id };

	return write_op(st, tx_backup_delete, &a, err, errlen);
}

static int tx_backup_reindex(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct bk_args *a = arg;
	sqlite3_stmt *s;
	int rc;

	(void)st;
	/* Forget what storage no longer holds: a temporary list of ids. */
	if (sqlite3_exec(c->db, "CREATE TEMP TABLE IF NOT EXISTS bk_keep"
	    " (id TEXT PRIMARY KEY); DELETE FROM bk_keep;", NULL, NULL,
	    NULL) != SQLITE_OK)
		return db_err(c, err, errlen, "reindex");
	for (size_t i = 0; i < a->n; i++) {
		struct store_backup b = a->v[i];
		str_copy(b.cluster, a->cluster, sizeof(b.cluster));
		if ((rc = bk_put(c, &b, err, errlen)) != 0)
			return rc;
		s = prep(c, "INSERT OR IGNORE INTO bk_keep (id) VALUES (?1)");
		bind_text(s, 1, b.id);
		if ((rc = run_fin(c, s, err, errlen, "reindex")) != 0)
			return rc;
	}
	s = prep(c, "DELETE FROM backups WHERE cluster = ?1 AND state <>"
	    " 'running' AND id NOT IN (SELECT id FROM bk_keep)");
	bind_text(s, 1, a->cluster);
	if ((rc = run_fin(c, s, err, errlen, "reindex")) != 0)
		return rc;
	s = prep(c, "INSERT INTO backup_index (cluster, filled_at) VALUES"
	    " (?1, ?2) ON CONFLICT (cluster) DO UPDATE SET"
	    " filled_at = excluded.filled_at");
	bind_text(s, 1, a->cluster);
	sqlite3_bind_int64(s, 2, a->at);
	return run_fin(c, s, err, errlen, "reindex");
}

int store_backup_reindex(struct store *st, const char *cluster,
    const struct store_backup *v, size_t n, int64_t at, char *err,
    size_t errlen)
{
	struct bk_args a = { .cluster = cluster, .v = v, .n = n, .at = at };

	return write_op(st, tx_backup_reindex, &a, err, errlen);
}

int64_t store_backup_index_filled(struct store *st, const char *cluster)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = prep(c, "SELECT filled_at FROM backup_index"
	    " WHERE cluster = ?1");
	int64_t at = 0;

	bind_text(s, 1, cluster);
	if (sqlite3_step(s) == SQLITE_ROW)
		at = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	unlock(c);
	return at;
}

static int tx_damaged_put(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct bk_args *a = arg;
	sqlite3_stmt *s = prep(c, "INSERT INTO damaged_objects (cluster, key,"
	    " reason, found_at, task_id) VALUES (?1,?2,?3,?4,?5)"
	    " ON CONFLICT (cluster, key) DO UPDATE SET"
	    " reason = excluded.reason, found_at = excluded.found_at,"
	    " task_id = excluded.task_id");

	(void)st;
	bind_text(s, 1, a->cluster);
	bind_text(s, 2, a->d->key);
	bind_text(s, 3, a->d->reason ? a->d->reason : "damaged");
	sqlite3_bind_int64(s, 4, a->d->found_at > 0 ? a->d->found_at :
	    time_wall_ms());
	bind_text(s, 5, a->d->task_id[0] ? a->d->task_id : NULL);
	return run_fin(c, s, err, errlen, "damaged object");
}

int store_damaged_put(struct store *st, const char *cluster,
    const struct store_damaged *d, char *err, size_t errlen)
{
	struct bk_args a = { .cluster = cluster, .d = d };

	return write_op(st, tx_damaged_put, &a, err, errlen);
}

static int tx_damaged_clear(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	static const char *const q[] = {
		"DELETE FROM damaged_objects WHERE cluster = ?1 AND key = ?2",
		"DELETE FROM backup_damage WHERE cluster = ?1 AND key = ?2",
		"UPDATE backups SET state = " BK_GOOD_STATE " WHERE"
		" cluster = ?1 AND state = 'damaged' AND ?2 IS NOT NULL AND"
		" NOT EXISTS (SELECT 1 FROM backup_damage d WHERE"
		" d.cluster = backups.cluster AND d.backup_id = backups.id)",
	};
	struct bk_args *a = arg;
	int rc;

	(void)st;
	for (size_t i = 0; i < ARRAY_SIZE(q); i++) {
		sqlite3_stmt *s = prep(c, q[i]);
		bind_text(s, 1, a->cluster);
		bind_text(s, 2, a->key);
		if ((rc = run_fin(c, s, err, errlen, "damaged clear")) != 0)
			return rc;
	}
	return 0;
}

int store_damaged_clear(struct store *st, const char *cluster,
    const char *key, char *err, size_t errlen)
{
	struct bk_args a = { .cluster = cluster, .key = key };

	return write_op(st, tx_damaged_clear, &a, err, errlen);
}

int store_damaged_list(struct store *st, const char *cluster,
    struct store_damaged **out, size_t *nout)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = prep(c, "SELECT key, reason, found_at, task_id FROM"
	    " damaged_objects WHERE cluster = ?1 ORDER BY key");
	struct store_damaged *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	bind_text(s, 1, cluster);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		memset(&v[n], 0, sizeof(v[n]));
		v[n].key = col_dup(s, 0);
		v[n].reason = col_dup(s, 1);
		v[n].found_at = sqlite3_column_int64(s, 2);
		if (col_str(s, 3) != NULL)
			str_copy(v[n].task_id, col_str(s, 3),
			    sizeof(v[n].task_id));
		n++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		rc = db_err(c, NULL, 0, "damaged objects");
		unlock(c);
		store_damaged_free(v, n);
		*out = NULL;
		*nout = 0;
		return rc;
	}
	unlock(c);
	*out = v;
	*nout = n;
	return 0;
}

void store_damaged_free(struct store_damaged *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].key);
		free(v[i].reason);
	}
	free(v);
}

/* ---- per-node progress of steps, and failure hooks ---------------------- */

struct sn_args {
	const char *task_id;
	int idx;
	const struct store_node_progress *p;
	const char *error;
};

static void bind_opt(sqlite3_stmt *s, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

static int tx_step_node_put(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct sn_args *a = arg;
	const struct store_node_progress *p = a->p;
	sqlite3_stmt *s = prep(c, "INSERT OR REPLACE INTO step_nodes (task_id,"
	    " idx, node, phase, files_done, files_total, bytes_done,"
	    " bytes_total, rate_bps, state, message, updated_at) VALUES"
	    " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");

	(void)st;
	bind_text(s, 1, a->task_id);
	sqlite3_bind_int(s, 2, a->idx);
	bind_text(s, 3, p->node);
	bind_text(s, 4, p->phase);
	bind_opt(s, 5, p->files_done);
	bind_opt(s, 6, p->files_total);
	bind_opt(s, 7, p->bytes_done);
	bind_opt(s, 8, p->bytes_total);
	if (p->rate_bps < 0)
		sqlite3_bind_null(s, 9);
	else
		sqlite3_bind_double(s, 9, p->rate_bps);
	bind_text(s, 10, p->state ? p->state : "running");
	bind_text(s, 11, p->message);
	sqlite3_bind_int64(s, 12, p->updated_at > 0 ? p->updated_at :
	    time_wall_ms());
	return run_fin(c, s, err, errlen, "step node");
}

int store_step_node_put(struct store *st, const char *task_id, int idx,
    const struct store_node_progress *p, char *err, size_t errlen)
{
	struct sn_args a = { .task_id = task_id, .idx = idx, .p = p };

	if (p->node == NULL)
		return STORE_ENOENT;
	return write_op(st, tx_step_node_put, &a, err, errlen);
}

static int tx_failing_set(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct sn_args *a = arg;
	sqlite3_stmt *s = prep(c, "INSERT OR REPLACE INTO task_failing"
	    " (task_id, step_idx, error) VALUES (?1,?2,?3)");

	(void)st;
	bind_text(s, 1, a->task_id);
	sqlite3_bind_int(s, 2, a->idx);
	bind_text(s, 3, a->error);
	return run_fin(c, s, err, errlen, "task failing");
}

int store_task_failing_set(struct store *st, const char *id, int step_idx,
    const char *error, char *err, size_t errlen)
{
	struct sn_args a = { .task_id = id, .idx = step_idx, .error = error };

	return write_op(st, tx_failing_set, &a, err, errlen);
}

int store_task_failing_get(struct store *st, const char *id, int *step_idx,
    char **error)
{
	struct conn *c = rlock(st);
	sqlite3_stmt *s = prep(c, "SELECT step_idx, error FROM task_failing"
	    " WHERE task_id = ?1");
	int rc;

	bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*step_idx = sqlite3_column_int(s, 0);
		*error = col_dup(s, 1);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = STORE_ENOENT;
	} else {
		rc = db_err(c, NULL, 0, "task failing");
	}
	sqlite3_finalize(s);
	unlock(c);
	return rc;
}

static int tx_failing_clear(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct sn_args *a = arg;
	sqlite3_stmt *s = prep(c, "DELETE FROM task_failing WHERE"
	    " task_id = ?1");

	(void)st;
	bind_text(s, 1, a->task_id);
	return run_fin(c, s, err, errlen, "task failing");
}

int store_task_failing_clear(struct store *st, const char *id, char *err,
    size_t errlen)
{
	struct sn_args a = { .task_id = id };

	return write_op(st, tx_failing_clear, &a, err, errlen);
}
