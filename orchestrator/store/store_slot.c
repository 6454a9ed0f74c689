/*
 * store_slot.c - see store_slot.h.
 */
#include <stdio.h>
#include <string.h>

#include "../../common/util.h"
#include "store_int.h"

int store_slot_get(struct store *st, const char *cluster,
    struct store_slot *out)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_SLOT_GET);
	int rc;

	memset(out, 0, sizeof(*out));
	bind_text(s, 1, cluster);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		str_copy(out->kind, col_str(s, 0), sizeof(out->kind));
		str_copy(out->holder, col_str(s, 1), sizeof(out->holder));
		str_copy(out->dead_address, col_str(s, 2),
		    sizeof(out->dead_address));
		str_copy(out->dc, col_str(s, 3), sizeof(out->dc));
		str_copy(out->rack, col_str(s, 4), sizeof(out->rack));
		out->since_ms = sqlite3_column_int64(s, 5);
		out->deadline_ms = sqlite3_column_int64(s, 6);
		str_copy(out->task_id, col_str(s, 7), sizeof(out->task_id));
		out->provider_state = sqlite3_column_int(s, 8);
		str_copy(out->new_address, col_str(s, 9),
		    sizeof(out->new_address));
		out->joined_at = sqlite3_column_int64(s, 10);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = RM_ENOENT;
	} else {
		rc = store_db_err(c, NULL, 0, "read the bootstrap slot");
	}
	rst(s);
	unlock(c);
	return rc;
}

int store_slot_take(struct store *st, const char *cluster,
    const struct store_slot *want, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_SLOT_TAKE);
	int rc = 0;

	bind_text(s, 1, cluster);
	bind_text(s, 2, want->kind);
	bind_text(s, 3, want->holder);
	bind_text(s, 4, want->dead_address);
	bind_text(s, 5, want->dc);
	bind_text(s, 6, want->rack);
	sqlite3_bind_int64(s, 7, want->since_ms);
	sqlite3_bind_int64(s, 8, want->deadline_ms);
	bind_text(s, 9, want->task_id);
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = store_db_err(c, err, errlen, "take the bootstrap slot");
		/* The foreign key: the cluster is gone. */
		if (sqlite3_extended_errcode(c->db) ==
		    SQLITE_CONSTRAINT_FOREIGNKEY)
			rc = RM_ENOENT;
	} else if (sqlite3_changes(c->db) == 0) {
		rc = RM_EBUSY;
	}
	unlock(c);
	return rc;
}

int store_slot_claim(struct store *st, const char *cluster,
    const char *dead_address, const char *holder, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_SLOT_CLAIM);
	int rc = 0;

	bind_text(s, 1, cluster);
	bind_text(s, 2, holder);
	bind_text(s, 3, dead_address);
	if (exec_stmt(s) != SQLITE_DONE)
		rc = store_db_err(c, err, errlen, "claim the replace slot");
	else if (sqlite3_changes(c->db) == 0)
		rc = RM_EBUSY;
	unlock(c);
	return rc;
}

int store_slot_release(struct store *st, const char *cluster,
    const char *holder, int64_t since_ms, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_SLOT_RELEASE);
	int rc = 0;

	bind_text(s, 1, cluster);
	bind_text(s, 2, holder);
	sqlite3_bind_int64(s, 3, since_ms);
	if (exec_stmt(s) != SQLITE_DONE)
		rc = store_db_err(c, err, errlen, "free the bootstrap slot");
	else if (sqlite3_changes(c->db) == 0)
		rc = RM_ENOENT;
	unlock(c);
	return rc;
}

/* Run an UPDATE or DELETE of the slot: RM_ENOENT when it matched no row. */
static int slot_write(struct conn *c, sqlite3_stmt *s, const char *what,
    char *err, size_t errlen)
{
	int rc = 0;

	if (exec_stmt(s) != SQLITE_DONE)
		rc = store_db_err(c, err, errlen, what);
	else if (sqlite3_changes(c->db) == 0)
		rc = RM_ENOENT;
	return rc;
}

int store_slot_provider(struct store *st, const char *cluster,
    const char *task_id, int state, const char *new_address, char *err,
    size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_SLOT_PROVIDER);
	int rc;

	bind_text(s, 1, cluster);
	bind_text(s, 2, task_id);
	sqlite3_bind_int(s, 3, state);
	bind_text(s, 4, new_address != NULL ? new_address : "");
	rc = slot_write(c, s, "record the replacement's provider", err,
	    errlen);
	unlock(c);
	return rc;
}

int store_slot_joined(struct store *st, const char *cluster,
    const char *holder, int64_t since_ms, int64_t at_ms, char *err,
    size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_SLOT_JOINED);
	int rc;

	bind_text(s, 1, cluster);
	bind_text(s, 2, holder);
	sqlite3_bind_int64(s, 3, since_ms);
	sqlite3_bind_int64(s, 4, at_ms);
	rc = slot_write(c, s, "mark the replacement joined", err, errlen);
	unlock(c);
	return rc;
}

int store_slot_release_task(struct store *st, const char *cluster,
    const char *task_id, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_SLOT_RELEASE_TASK);
	int rc;

	bind_text(s, 1, cluster);
	bind_text(s, 2, task_id);
	rc = slot_write(c, s, "free the replacement's slot", err, errlen);
	unlock(c);
	return rc;
}
