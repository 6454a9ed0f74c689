/*
 * store_tombstone.c - see store_tombstone.h.
 */
#include <stdio.h>
#include <string.h>

#include "../../common/util.h"
#include "store_int.h"

int store_tombstone_put(struct store *st, const char *cluster,
    const char *host_id, const char *address, const char *reason,
    const char *task_id, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_TOMBSTONE_PUT);
	int rc = 0;

	bind_text(s, 1, cluster);
	bind_text(s, 2, host_id);
	bind_text(s, 3, address);
	bind_text(s, 4, reason);
	bind_text(s, 5, task_id);
	sqlite3_bind_int64(s, 6, time_wall_ms());
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = store_db_err(c, err, errlen, "record a tombstone");
		if (sqlite3_extended_errcode(c->db) ==
		    SQLITE_CONSTRAINT_FOREIGNKEY)
			rc = RM_ENOENT;
	}
	unlock(c);
	return rc;
}

int store_tombstone_get(struct store *st, const char *cluster,
    const char *host_id, struct store_tombstone *out)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_TOMBSTONE_GET);
	int rc;

	memset(out, 0, sizeof(*out));
	bind_text(s, 1, cluster);
	bind_text(s, 2, host_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		str_copy(out->address, col_str(s, 0), sizeof(out->address));
		str_copy(out->reason, col_str(s, 1), sizeof(out->reason));
		str_copy(out->task_id, col_str(s, 2), sizeof(out->task_id));
		out->at = sqlite3_column_int64(s, 3);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = RM_ENOENT;
	} else {
		rc = store_db_err(c, NULL, 0, "read a tombstone");
	}
	rst(s);
	unlock(c);
	return rc;
}
