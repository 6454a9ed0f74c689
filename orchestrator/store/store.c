/*
 * store.c - state.db in SQLite: open and close, migrations, cached
 * prepared statements, one write connection and a pool of read
 * connections.  Each entity has its own file (store_int.h lists them);
 * writes go through store_write_op() (store_commit.c).
 *
 * SQLite allows one writer at a time, so every write goes through the
 * write connection under its mutex, in one short BEGIN IMMEDIATE
 * transaction.  Reads take any free read connection (WAL lets readers run
 * beside the writer and each statement sees the last commit).  Each
 * connection prepares a statement the first time it needs it and keeps it
 * (SQLITE_PREPARE_PERSISTENT); every statement text is in the SQL table
 * of store_int.h, so nothing is ever built from strings at run time.
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

#include "../../common/log.h"
#include "../../common/util.h"
#include "store_int.h"

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
	/* 3: how many starts found a step's attempt running (the
	 * orchestrator stopped under it without a clean stop) */
	"ALTER TABLE steps ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;",
	/* 4: each cluster's one bootstrap slot (store_slot.h) */
	"CREATE TABLE slots ("
	" cluster TEXT PRIMARY KEY REFERENCES clusters(name) ON DELETE CASCADE,"
	" kind TEXT NOT NULL CHECK (kind IN ('bootstrap','replace')),"
	" holder TEXT NOT NULL,"
	" dead_address TEXT NOT NULL DEFAULT '',"
	" dc TEXT NOT NULL DEFAULT '',"
	" rack TEXT NOT NULL DEFAULT '',"
	" since INTEGER NOT NULL,"
	" deadline INTEGER NOT NULL) WITHOUT ROWID;",
	/* 5: clusters' lifecycle settings (store_settings.h); a key not
	 * here has its default */
	"CREATE TABLE cluster_settings ("
	" cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,"
	" key TEXT NOT NULL,"
	" value TEXT NOT NULL,"
	" PRIMARY KEY (cluster, key)) WITHOUT ROWID;",
	/* 6: a replacement's slot remembers its task, what its provider was
	 * asked and answered, and when the new node was seen joined
	 * (tasks/replace.c) */
	"ALTER TABLE slots ADD COLUMN task_id TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE slots ADD COLUMN provider_state INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE slots ADD COLUMN new_address TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE slots ADD COLUMN joined_at INTEGER NOT NULL DEFAULT 0;",
	/* 7: the nodes a backup left out (policy skip_down), JSON text */
	"ALTER TABLE backups ADD COLUMN missing_nodes TEXT;",
	/* the node credentials (their hashes) and what an admin did to
	 * them, deleted with the node; the join tokens, the current one
	 * (expires_at 0) and rotated ones in their grace (store_token.h) */
	"CREATE TABLE node_creds ("
	" cluster TEXT NOT NULL,"
	" address TEXT NOT NULL,"
	" hash TEXT UNIQUE,"
	" state TEXT NOT NULL CHECK (state IN ('active','revoked','readmit')),"
	" changed_at INTEGER NOT NULL,"
	" PRIMARY KEY (cluster, address),"
	" FOREIGN KEY (cluster, address) REFERENCES nodes(cluster, address)"
	"  ON DELETE CASCADE);"
	"CREATE TABLE join_tokens ("
	" hash TEXT PRIMARY KEY,"
	" created_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;",
	/* the host ids of nodes taken out on purpose (decommission,
	 * remediate): their agents' check-ins are refused (store_tombstone.h) */
	"CREATE TABLE tombstones ("
	" cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,"
	" host_id TEXT NOT NULL,"
	" address TEXT NOT NULL,"
	" reason TEXT NOT NULL,"
	" task_id TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" PRIMARY KEY (cluster, host_id)) WITHOUT ROWID;",
	/* tenants and their shards; each cluster's pool of service numbers,
	 * never reused, kept when a node leaves (store_tenant.h) */
	"CREATE TABLE tenant_services ("
	" cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,"
	" svc INTEGER NOT NULL,"
	" address TEXT NOT NULL,"
	" added_at INTEGER NOT NULL,"
	" PRIMARY KEY (cluster, svc),"
	" UNIQUE (cluster, address)) WITHOUT ROWID;"
	"CREATE TABLE tenants ("
	" cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" keyspaces TEXT,"
	" prefix TEXT,"
	" k INTEGER NOT NULL,"
	" overlap INTEGER NOT NULL,"
	" limit_default INTEGER NOT NULL,"
	" limit_max INTEGER NOT NULL,"
	" limit_current INTEGER NOT NULL,"
	" min_services INTEGER NOT NULL,"
	" max_services INTEGER NOT NULL,"
	" shard TEXT NOT NULL,"
	" demand_ops INTEGER,"
	" demand_at INTEGER,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" PRIMARY KEY (cluster, name),"
	" CHECK ((keyspaces IS NULL) <> (prefix IS NULL)));",
	/* tasks may end 'partial' (every step done, part of the work not):
	 * SQLite changes a CHECK only by rebuilding the table, which
	 * migrate() does with foreign keys off (a DROP would otherwise
	 * delete every step through the cascade); the rows keep their seq,
	 * the indexes are made again, and the references to tasks(id) of
	 * steps and task_failing resolve to the new table by name. */
	"CREATE TABLE tasks_new ("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" cluster TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,"
	" type TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('queued','running','paused',"
	"  'succeeded','failed','cancelled','partial')),"
	" params TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" started_at INTEGER,"
	" finished_at INTEGER,"
	" error TEXT,"
	" cancel_requested INTEGER NOT NULL DEFAULT 0,"
	" pause_requested INTEGER NOT NULL DEFAULT 0,"
	" schedule_id TEXT REFERENCES schedules(id) ON DELETE SET NULL);"
	"INSERT INTO tasks_new (seq, id, cluster, type, state, params,"
	" created_at, started_at, finished_at, error, cancel_requested,"
	" pause_requested, schedule_id)"
	" SELECT seq, id, cluster, type, state, params, created_at,"
	" started_at, finished_at, error, cancel_requested, pause_requested,"
	" schedule_id FROM tasks;"
	"DROP TABLE tasks;"
	"ALTER TABLE tasks_new RENAME TO tasks;"
	"CREATE INDEX tasks_cluster ON tasks(cluster, seq);"
	"CREATE INDEX tasks_schedule ON tasks(schedule_id)"
	" WHERE schedule_id IS NOT NULL;",
	/* the tenant autoscaler: how many services a tenant's shard should
	 * hold (0: as placed), whether it scales, when it last did, and
	 * what its services confirmed ("limit@svc,svc": store_tenant.h), or
	 * why its shard cannot take the services it should hold */
	"ALTER TABLE tenants ADD COLUMN services_target INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE tenants ADD COLUMN autoscale INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE tenants ADD COLUMN scaled_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE tenants ADD COLUMN confirmed TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE tenants ADD COLUMN scale_error TEXT NOT NULL DEFAULT '';",
};

/* ---- small helpers ------------------------------------------------------ */

/*
 * Each enum of the store has one table of names (its entity's file); these
 * two read any of them.
 */
const char *store_name_of(const char *const *names, size_t n, int v)
{
	if (v < 0 || (size_t)v >= n)
		return "unknown";
	return names[v];
}

int store_name_find(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/*
 * Ids are "t-" or "s-" and 16 hex digits of a value that grows with time
 * (ms << 16, plus one when two fall in the same ms): unique within the
 * store, and new rows land at the right edge of every index keyed by id
 * (tasks.id, steps), so the pages a busy store writes stay few and hot.
 * The low bits start at a random offset drawn at open (id_salt), so two
 * stores (two engines in one test, or a store and its restored copy)
 * rarely make the same id in the same millisecond.
 * Called with the write lock held.
 */
void store_new_id(struct store *st, char prefix, char out[STORE_ID_MAX])
{
	uint64_t v = (uint64_t)time_wall_ms() << 16 | st->id_salt;

	if (v <= st->last_id)
		v = st->last_id + 1;
	st->last_id = v;
	snprintf(out, STORE_ID_MAX, "%c-%016" PRIx64, prefix, v);
}

/* ---- connections and statements ---------------------------------------- */

#define X_TEXT(id, text) text,
const char *const store_sql_text[SQL_COUNT] = { SQL_LIST(X_TEXT) };
#undef X_TEXT

int store_db_err(struct conn *c, char *err, size_t errlen, const char *what)
{
	int code = sqlite3_extended_errcode(c->db);

	if (code == SQLITE_CONSTRAINT_FOREIGNKEY)
		return RM_ENOENT;
	if (code == SQLITE_CONSTRAINT_PRIMARYKEY ||
	    code == SQLITE_CONSTRAINT_UNIQUE)
		return RM_EEXIST;
	if (err != NULL)
		snprintf(err, errlen, "store: %s: %s", what,
		    sqlite3_errmsg(c->db));
	log_warnx("store: %s: %s", what, sqlite3_errmsg(c->db));
	return RM_ERR;
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
	/* Only the writer writes WAL frames (store_vfs.c). */
	if (sqlite3_open_v2(path, &c->db, flags, writer &&
	    sqlite3_vfs_find(STORE_VFS_NAME) != NULL ? STORE_VFS_NAME : NULL) !=
	    SQLITE_OK) {
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

/*
 * The writer when it is free (its page cache is the warm one: a reader's
 * cache is dropped after every commit by another connection), else any
 * free reader, else the next reader in turn.
 */
struct conn *store_rlock(struct store *st)
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

/*
 * Apply the migrations after the stored version, up to upto, in one
 * transaction.  Foreign keys are off meanwhile (SQLite ignores the pragma
 * inside a transaction): a migration that rebuilds a table drops the old
 * one, which would otherwise cascade to the rows that reference it; the
 * references are checked once before the commit instead.
 */
static int migrate(struct conn *c, int upto, int *version, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	char *msg = NULL;
	int v = 0, start, rc = -1;

	if (sqlite3_exec(c->db, "PRAGMA foreign_keys=OFF;", NULL, NULL,
	    &msg) != SQLITE_OK)
		goto fail;
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
	start = v;
	for (; v < upto; v++) {
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
	if (v > start) {
		if (sqlite3_prepare_v2(c->db, "PRAGMA foreign_key_check", -1,
		    &s, NULL) != SQLITE_OK)
			goto fail;
		if (sqlite3_step(s) == SQLITE_ROW) {
			snprintf(err, errlen, "schema migration %d left a row "
			    "of table '%s' referencing a missing row of '%s': "
			    "nothing was changed; report this with the "
			    "database", v, sqlite3_column_text(s, 0) ?
			    (const char *)sqlite3_column_text(s, 0) : "?",
			    sqlite3_column_text(s, 2) ?
			    (const char *)sqlite3_column_text(s, 2) : "?");
			goto out;
		}
		sqlite3_finalize(s);
		s = NULL;
	}
	if (sqlite3_exec(c->db, "COMMIT; PRAGMA foreign_keys=ON;", NULL, NULL,
	    &msg) != SQLITE_OK)
		goto fail;
	*version = v;
	return 0;
fail:
	snprintf(err, errlen, "schema migration %d: %s", v + 1,
	    msg ? msg : sqlite3_errmsg(c->db));
out:
	sqlite3_free(msg);
	sqlite3_finalize(s);
	sqlite3_exec(c->db, "ROLLBACK; PRAGMA foreign_keys=ON;", NULL, NULL,
	    NULL);
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
	if (store_vfs_register() < 0)
		log_warnx("store: cannot register the WAL-write VFS; the "
		    "writer uses the default one");
}

static struct store *open_upto(const char *path, int upto, char *err,
    size_t errlen);

struct store *store_open(const char *path, char *err, size_t errlen)
{
	return open_upto(path, (int)ARRAY_SIZE(migrations), err, errlen);
}

struct store *store_open_upto(const char *path, int version, char *err,
    size_t errlen)
{
	if (version < 1 || version > (int)ARRAY_SIZE(migrations)) {
		snprintf(err, errlen, "store: schema version %d does not "
		    "exist: 1 to %zu", version, ARRAY_SIZE(migrations));
		return NULL;
	}
	return open_upto(path, version, err, errlen);
}

static struct store *open_upto(const char *path, int upto, char *err,
    size_t errlen)
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
	random_bytes(&st->id_salt, sizeof(st->id_salt));
	st->id_salt &= 0x7fff;
	pthread_mutex_init(&st->gc_mu, NULL);
	st->gc_last_writer = pthread_self();
	pthread_cond_init(&st->fl_cv, NULL);
	st->gc_tail = &st->gc_head;
	if (conn_open(&st->w, path, true, err, errlen) < 0)
		goto fail;
	if (migrate(&st->w, upto, &st->version, err, errlen) < 0)
		goto fail;
	if (load_last_id(st, err, errlen) < 0)
		goto fail;
	sqlite3_wal_hook(st->w.db, store_wal_hook, st);
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
	if ((i = pthread_create(&st->flusher, NULL, store_flusher_main, st)) != 0) {
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
		if (store_events_pending(st))
			store_write_op(st, store_events_tx_flush, NULL, NULL, 0);
	}
	free(st->tev);
	sqlite3_close(st->ckpt_db);
	for (int i = 0; i < NREADERS; i++)
		conn_close(&st->r[i]);
	conn_close(&st->w);
	pthread_cond_destroy(&st->fl_cv);
	pthread_mutex_destroy(&st->gc_mu);
	free(st->path);
	free(st);
}

int store_schema_version(struct store *st)
{
	return st->version;
}

int store_schema_latest(void)
{
	return (int)ARRAY_SIZE(migrations);
}

uint64_t store_change_count(struct store *st)
{
	return atomic_load_explicit(&st->commits, memory_order_acquire);
}

/* "file:PATH?immutable=1" with the characters a URI gives a meaning to
 * escaped, so any path names the file it says. */
static char *uri_of(const char *path)
{
	size_t n = strlen(path);
	char *u = xmalloc(5 + 3 * n + sizeof("?immutable=1")), *p = u;

	p += sprintf(p, "file:");
	for (; *path; path++) {
		unsigned char ch = (unsigned char)*path;
		if (ch == '%' || ch == '?' || ch == '#' || ch < 0x20 || ch >= 0x7f)
			p += sprintf(p, "%%%02X", ch);
		else
			*p++ = (char)ch;
	}
	strcpy(p, "?immutable=1");
	return u;
}

int store_check_file(const char *path, int *schema, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	const char *what = "open";
	int rc = -1;

	/* immutable=1: a copy on its own is never in use by anyone else, and
	 * a read-only check must not create a -wal or -shm beside it. */
	char *uri = uri_of(path);
	if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
	    NULL) != SQLITE_OK)
		goto fail;
	what = "integrity_check";
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) !=
	    SQLITE_OK)
		goto fail;
	if (sqlite3_step(s) != SQLITE_ROW)
		goto fail;
	if (col_str(s, 0) == NULL || strcmp(col_str(s, 0), "ok") != 0) {
		snprintf(err, errlen, "'%s' fails PRAGMA integrity_check: %s",
		    path, col_str(s, 0) ? col_str(s, 0) : "(no answer)");
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;
	what = "schema_version";
	if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version",
	    -1, &s, NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
		goto fail;
	*schema = sqlite3_column_int(s, 0);
	rc = 0;
	goto out;
fail:
	snprintf(err, errlen, "'%s' is not a ringmaster state database (%s: "
	    "%s)", path, what, db ? sqlite3_errmsg(db) : "out of memory");
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	free(uri);
	return rc;
}

int store_snapshot(struct store *st, const char *path, char *err,
    size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int rc = RM_ERR;

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

/*
 * Step s to its end, reading each row into a new element of rt->size bytes
 * (zeroed first) with rt->read.  With limit > 0 and next not NULL, next
 * gets the cursor column of the last row when the page is full (more may
 * follow), else "".  0 with *v (the caller's; NULL when no row) and *n, or
 * RM_ERR with nothing kept (the rows read are released).
 */
int store_run_rows(struct conn *c, sqlite3_stmt *s, const char *what,
    const struct store_rowtype *rt, int limit, void **v, size_t *n,
    char *next, size_t nextlen)
{
	char *items = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (next != NULL && nextlen > 0)
		next[0] = '\0';
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			items = xrealloc(items, cap * rt->size);
		}
		memset(items + len * rt->size, 0, rt->size);
		rt->read(s, items + len * rt->size);
		len++;
		if (next != NULL && nextlen > 0 && limit > 0 &&
		    len == (size_t)limit)
			str_copy(next, col_str(s, rt->cursor_col) ?
			    col_str(s, rt->cursor_col) : "", nextlen);
	}
	rst(s);
	if (rc != SQLITE_DONE) {
		rc = store_db_err(c, NULL, 0, what);
		for (size_t i = 0; i < len && rt->release != NULL; i++)
			rt->release(items + i * rt->size);
		free(items);
		if (next != NULL && nextlen > 0)
			next[0] = '\0';
		return rc;
	}
	*v = items;
	*n = len;
	return 0;
}

/* Run a statement expected to give 0 or 1 row, read into out (zeroed
 * first).  0, RM_ENOENT (no row), RM_ERR. */
int store_run_row(struct conn *c, sqlite3_stmt *s, const char *what,
    const struct store_rowtype *rt, void *out)
{
	int rc = sqlite3_step(s);

	memset(out, 0, rt->size);
	if (rc == SQLITE_ROW) {
		rt->read(s, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = RM_ENOENT;
	} else {
		rc = store_db_err(c, NULL, 0, what);
	}
	rst(s);
	return rc;
}


sqlite3_stmt *store_prep(struct conn *c, const char *sql)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK)
		fatalx("store: cannot prepare '%s': %s", sql,
		    sqlite3_errmsg(c->db));
	return s;
}

/* Step and finalize a statement that returns no rows; 0 or store_db_err(). */
int store_run_fin(struct conn *c, sqlite3_stmt *s, char *err, size_t errlen,
    const char *what)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		rc = store_db_err(c, err, errlen, what);
		sqlite3_finalize(s);
		return rc;
	}
	sqlite3_finalize(s);
	return 0;
}

