/*
 * store.h - ringmaster's state in SQLite (state.db): clusters, nodes, tasks
 * and their steps, schedules, the audit log of events, API tokens and the
 * backup index.  Callers include this header only; it includes one header
 * per entity (store_cluster.h, store_task.h, ...), each implemented by the
 * .c file of the same name.
 *
 * The store's files are the only ones that include <sqlite3.h> (through
 * their private store_int.h); no SQLite type or error code leaves them.
 * The schema is created and upgraded by numbered
 * migrations when the store is opened (table schema_version).
 *
 * Threading: every function may be called from any thread.  Internally one
 * write connection is guarded by a mutex (SQLite has one writer anyway);
 * concurrent writes are grouped into one transaction (group commit), each
 * in its own savepoint, so one caller's failure never undoes another's;
 * a write call returns only after the commit that holds its write.
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
 *   actions   int: 0, or one of the negative RM_E* codes; -1 (RM_ERR)
 *             is "the database failed" and the detail is in err (may be
 *             NULL).  A missing row is RM_ENOENT, a duplicate name
 *             RM_EEXIST, a refused change RM_EBUSY.
 *   reads     typed structs, never the API's JSON (the service layer,
 *             service/service_json.c, builds that).  A read of one row
 *             fills the caller's struct: 0, RM_ENOENT (no such row) or
 *             RM_ERR (database error, also logged); the struct's owned
 *             strings are released with its *_release() function, which
 *             accepts a zeroed or failed struct.  A string column that is
 *             NULL in the database is NULL in a char * field and "" in a
 *             fixed char array; a time that is none is 0.
 *   lists     a page struct {items, n, next}: next is the cursor of the
 *             next page, "" on the last one.  Pass it back as cursor for
 *             the next page; cursor NULL starts at the beginning.
 *             limit <= 0 means 100; limits are capped at 1000.  Released
 *             with the page's *_release() function.  Lists that are not
 *             paged (a cluster's nodes, tokens, the counts of /metrics)
 *             return an array and its length.
 *   JSON      a params object (tasks, schedules) is the caller's data and
 *             stays a json_t; other JSON documents kept as text (a node's
 *             status, an event's detail) are returned as text.
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

#include "../err.h"

#define STORE_NAME_MAX	65	/* names are [A-Za-z0-9_-]{1,64} + NUL */
#define STORE_ID_MAX	24	/* "t-" or "s-" + 16 hex + NUL, with room */
#define STORE_CURSOR_MAX 128	/* a page's next cursor, with its NUL */

struct store;

/*
 * Open (creating when missing) the database at path and apply pending
 * migrations.  ":memory:" is not supported (read connections could not see
 * it); tests use a file in a temporary directory.  Returns NULL with err.
 */
struct store *store_open(const char *path, char *err, size_t errlen);
/*
 * The same, applying migrations up to version only (1..store_schema_latest()):
 * a database as an older ringmaster left it, for tests of a migration.  A
 * database already past version is opened as it is.
 */
struct store *store_open_upto(const char *path, int version, char *err,
    size_t errlen);
/* Close every connection.  No other call may be running.  NULL is fine. */
void store_close(struct store *st);
/* The schema version after migrations (the number of migrations applied). */
int store_schema_version(struct store *st);
/*
 * Write a consistent copy of the whole database to path (VACUUM INTO), for
 * the S3 mirror.  path must not exist.
 */
int store_snapshot(struct store *st, const char *path, char *err, size_t errlen);
/*
 * A number that grows with every commit of the writer (the WAL hook counts
 * them) but heartbeat batches (store_heartbeats_apply()): the state
 * mirror's "something changed" signal, one atomic load.
 */
uint64_t store_change_count(struct store *st);
/* The schema version this binary migrates to. */
int store_schema_latest(void);
/*
 * Check that path is a whole SQLite database of ours without opening it as
 * the store: `PRAGMA integrity_check` answers ok and schema_version can be
 * read into *schema.  Nothing is written.  0, or -1 with err ("not a SQLite
 * database", the first integrity problem, ...).
 */
int store_check_file(const char *path, int *schema, char *err, size_t errlen);

/* The entities, one header each (and one .c file each). */
#include "store_cluster.h"
#include "store_task.h"
#include "store_schedule.h"
#include "store_event.h"
#include "store_token.h"
#include "store_backup.h"
#include "store_slot.h"
#include "store_settings.h"
#include "store_tombstone.h"
#include "store_tenant.h"

#endif
