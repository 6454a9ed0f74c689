/*
 * store_backup.c - the backup index and damaged objects
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "store_int.h"

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
	return store_name_of(backup_states, ARRAY_SIZE(backup_states), (int)s);
}

int store_backup_state_parse(const char *s, enum store_backup_state *out)
{
	int i = store_name_find(backup_states, ARRAY_SIZE(backup_states), s);

	if (i < 0)
		return -1;
	*out = (enum store_backup_state)i;
	return 0;
}

#define BK_GOOD_STATE \
	"CASE WHEN partial THEN 'partial' ELSE 'complete' END"

static int bk_put(struct conn *c, const struct store_backup *b, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = store_prep(c, "INSERT INTO backups (cluster, id, task_id,"
	    " state, partial, started_at, finished_at, nodes, files, bytes,"
	    " files_uploaded, bytes_uploaded, missing_nodes) VALUES"
	    " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)"
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
	    " bytes_uploaded = excluded.bytes_uploaded,"
	    " missing_nodes = excluded.missing_nodes");

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
	bind_text(s, 13, b->missing_nodes);
	return store_run_fin(c, s, err, errlen, "backup put");
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
	return store_write_op(st, tx_backup_put, (void *)(uintptr_t)b, err, errlen);
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
	sqlite3_stmt *s = store_prep(c, "UPDATE backups SET state = ?3,"
	    " finished_at = COALESCE(?4, finished_at)"
	    " WHERE cluster = ?1 AND id = ?2");
	int rc;

	(void)st;
	bind_text(s, 1, a->cluster);
	bind_text(s, 2, a->id);
	bind_text(s, 3, store_backup_state_str(a->state));
	bind_time(s, 4, a->at);
	rc = store_run_fin(c, s, err, errlen, "backup state");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = RM_ENOENT;
	return rc;
}

int store_backup_set_state(struct store *st, const char *cluster,
    const char *id, enum store_backup_state state, int64_t finished_at,
    char *err, size_t errlen)
{
	struct bk_args a = { .cluster = cluster, .id = id, .state = state,
	    .at = finished_at };

	return store_write_op(st, tx_backup_set_state, &a, err, errlen);
}

static int bk_add_damage(struct conn *c, const char *cluster, const char *id,
    const struct store_backup_file *f, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s = store_prep(c, "INSERT INTO backup_damage (cluster,"
		    " backup_id, key, reason) VALUES (?1,?2,?3,?4)"
		    " ON CONFLICT DO NOTHING");
		int rc;
		bind_text(s, 1, cluster);
		bind_text(s, 2, id);
		bind_text(s, 3, f[i].key);
		bind_text(s, 4, f[i].reason ? f[i].reason : "damaged");
		if ((rc = store_run_fin(c, s, err, errlen, "backup damage")) != 0)
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
	s = store_prep(c, "DELETE FROM backup_damage WHERE cluster = ?1 AND"
	    " backup_id = ?2");
	bind_text(s, 1, a->cluster);
	bind_text(s, 2, a->id);
	if ((rc = store_run_fin(c, s, err, errlen, "backup damage")) != 0)
		return rc;
	s = store_prep(c, "UPDATE backups SET last_verified_at = ?3,"
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
	if ((rc = store_run_fin(c, s, err, errlen, "backup verified")) != 0)
		return rc;
	if (sqlite3_changes(c->db) == 0)
		return RM_ENOENT;
	return bk_add_damage(c, a->cluster, a->id, a->files, a->n, err, errlen);
}

int store_backup_verified(struct store *st, const char *cluster,
    const char *id, const char *task_id, int64_t at,
    const struct store_backup_file *bad, size_t n, char *err, size_t errlen)
{
	struct bk_args a = { .cluster = cluster, .id = id, .task_id = task_id,
	    .at = at, .files = bad, .n = n };

	return store_write_op(st, tx_backup_verified, &a, err, errlen);
}

static int tx_backup_mark_damaged(struct store *st, struct conn *c,
    void *arg, char *err, size_t errlen)
{
	struct bk_args *a = arg;
	sqlite3_stmt *s;
	int rc;

	(void)st;
	s = store_prep(c, "UPDATE backups SET state = 'damaged' WHERE cluster = ?1"
	    " AND id = ?2 AND state IN ('complete','partial','damaged')");
	bind_text(s, 1, a->cluster);
	bind_text(s, 2, a->id);
	if ((rc = store_run_fin(c, s, err, errlen, "backup damaged")) != 0)
		return rc;
	if (sqlite3_changes(c->db) == 0)
		return RM_ENOENT;
	return bk_add_damage(c, a->cluster, a->id, a->files, a->n, err, errlen);
}

int store_backup_mark_damaged(struct store *st, const char *cluster,
    const char *id, const struct store_backup_file *files, size_t n,
    char *err, size_t errlen)
{
	struct bk_args a = { .cluster = cluster, .id = id, .files = files,
	    .n = n };

	return store_write_op(st, tx_backup_mark_damaged, &a, err, errlen);
}

#define BK_COLS \
	"cluster, id, task_id, state, partial, started_at, finished_at," \
	" nodes, files, bytes, files_uploaded, bytes_uploaded," \
	" last_verified_at, last_verify, last_verify_task, missing_nodes"

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
	b->missing_nodes = col_dup(s, 15);
}

/* Read backups (one id, or all of the cluster when id is NULL) with their
 * damaged files, in one read transaction. */
static int bk_read(struct store *st, const char *cluster, const char *id,
    struct store_backup **out, size_t *nout)
{
	struct conn *c = store_rlock(st);
	struct store_backup *v = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *s;
	int rc;

	*out = NULL;
	*nout = 0;
	if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = store_db_err(c, NULL, 0, "backups");
		unlock(c);
		return rc;
	}
	s = store_prep(c, id != NULL ? "SELECT " BK_COLS " FROM backups WHERE"
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
	s = store_prep(c, "SELECT backup_id, key, reason FROM backup_damage"
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
	rc = store_db_err(c, NULL, 0, "backups");
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
		rc = RM_ENOENT;
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
		free(v[i].missing_nodes);
	}
	free(v);
}

static int tx_backup_delete(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct bk_args *a = arg;
	sqlite3_stmt *s = store_prep(c, "DELETE FROM backups WHERE cluster = ?1"
	    " AND id = ?2");
	int rc;

	(void)st;
	bind_text(s, 1, a->cluster);
	bind_text(s, 2, a->id);
	rc = store_run_fin(c, s, err, errlen, "backup delete");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = RM_ENOENT;
	return rc;
}

int store_backup_delete(struct store *st, const char *cluster,
    const char *id, char *err, size_t errlen)
{
	struct bk_args a = { .cluster = cluster, .id = id };

	return store_write_op(st, tx_backup_delete, &a, err, errlen);
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
		return store_db_err(c, err, errlen, "reindex");
	for (size_t i = 0; i < a->n; i++) {
		struct store_backup b = a->v[i];
		str_copy(b.cluster, a->cluster, sizeof(b.cluster));
		if ((rc = bk_put(c, &b, err, errlen)) != 0)
			return rc;
		s = store_prep(c, "INSERT OR IGNORE INTO bk_keep (id) VALUES (?1)");
		bind_text(s, 1, b.id);
		if ((rc = store_run_fin(c, s, err, errlen, "reindex")) != 0)
			return rc;
	}
	s = store_prep(c, "DELETE FROM backups WHERE cluster = ?1 AND state <>"
	    " 'running' AND id NOT IN (SELECT id FROM bk_keep)");
	bind_text(s, 1, a->cluster);
	if ((rc = store_run_fin(c, s, err, errlen, "reindex")) != 0)
		return rc;
	s = store_prep(c, "INSERT INTO backup_index (cluster, filled_at) VALUES"
	    " (?1, ?2) ON CONFLICT (cluster) DO UPDATE SET"
	    " filled_at = excluded.filled_at");
	bind_text(s, 1, a->cluster);
	sqlite3_bind_int64(s, 2, a->at);
	return store_run_fin(c, s, err, errlen, "reindex");
}

int store_backup_reindex(struct store *st, const char *cluster,
    const struct store_backup *v, size_t n, int64_t at, char *err,
    size_t errlen)
{
	struct bk_args a = { .cluster = cluster, .v = v, .n = n, .at = at };

	return store_write_op(st, tx_backup_reindex, &a, err, errlen);
}

int64_t store_backup_index_filled(struct store *st, const char *cluster)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = store_prep(c, "SELECT filled_at FROM backup_index"
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
	sqlite3_stmt *s = store_prep(c, "INSERT INTO damaged_objects (cluster, key,"
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
	return store_run_fin(c, s, err, errlen, "damaged object");
}

int store_damaged_put(struct store *st, const char *cluster,
    const struct store_damaged *d, char *err, size_t errlen)
{
	struct bk_args a = { .cluster = cluster, .d = d };

	return store_write_op(st, tx_damaged_put, &a, err, errlen);
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
		sqlite3_stmt *s = store_prep(c, q[i]);
		bind_text(s, 1, a->cluster);
		bind_text(s, 2, a->key);
		if ((rc = store_run_fin(c, s, err, errlen, "damaged clear")) != 0)
			return rc;
	}
	return 0;
}

int store_damaged_clear(struct store *st, const char *cluster,
    const char *key, char *err, size_t errlen)
{
	struct bk_args a = { .cluster = cluster, .key = key };

	return store_write_op(st, tx_damaged_clear, &a, err, errlen);
}

int store_damaged_list(struct store *st, const char *cluster,
    struct store_damaged **out, size_t *nout)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = store_prep(c, "SELECT key, reason, found_at, task_id FROM"
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
		rc = store_db_err(c, NULL, 0, "damaged objects");
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


static void bytes_read(sqlite3_stmt *s, void *row)
{
	struct store_backup_bytes *r = row;

	col_copy(s, 0, r->cluster, sizeof(r->cluster));
	r->uploaded = sqlite3_column_int64(s, 1);
	r->bytes = sqlite3_column_int64(s, 2);
}

static const struct store_rowtype bytes_rt = {
	sizeof(struct store_backup_bytes), bytes_read, NULL, 0,
};

int store_backup_bytes(struct store *st, struct store_backup_bytes **out,
    size_t *n)
{
	struct conn *c = store_rlock(st);
	void *v = NULL;
	int rc;

	rc = store_run_rows(c, S(c, SQL_BACKUP_BYTES), "backup bytes",
	    &bytes_rt, 0, &v, n, NULL, 0);
	unlock(c);
	if (rc == 0)
		*out = v;
	return rc;
}
