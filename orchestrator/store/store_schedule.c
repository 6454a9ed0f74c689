/*
 * store_schedule.c - schedules
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "store_int.h"

int store_schedule_create(struct store *st, struct store_schedule *sc,
    char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_SCHED_INSERT);
	char *params = sc->params ? json_dumps(sc->params, JSON_COMPACT) :
	    xstrdup("{}");
	int rc = 0;

	store_new_id(st, 's', sc->id);
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
		rc = store_db_err(c, err, errlen, "create schedule");
		if (rc == RM_ENOENT && err != NULL)
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
		rc = store_db_err(c, err, errlen, "delete schedule");
	else if (sqlite3_changes(c->db) == 0)
		rc = RM_ENOENT;
	unlock(c);
	return rc;
}

static void sched_read(sqlite3_stmt *s, void *row)
{
	struct store_schedule *sc = row;

	col_copy(s, 0, sc->id, sizeof(sc->id));
	col_copy(s, 1, sc->cluster, sizeof(sc->cluster));
	col_copy(s, 2, sc->type, sizeof(sc->type));
	sc->params = col_str(s, 3) ? json_loads(col_str(s, 3), 0, NULL) :
	    NULL;
	if (!json_is_object(sc->params)) {
		json_decref(sc->params);
		sc->params = json_object();
	}
	sc->every_ms = sqlite3_column_int64(s, 4);
	sc->cron = col_dup(s, 5);
	sc->start_at = sqlite3_column_int64(s, 6);
	sc->next_run_at = sqlite3_column_int64(s, 7);
	sc->last_run_at = sqlite3_column_int64(s, 8);
	col_copy(s, 9, sc->last_task_id, sizeof(sc->last_task_id));
	sc->enabled = sqlite3_column_int(s, 10) != 0;
}

void store_schedule_release(struct store_schedule *sc)
{
	if (sc == NULL)
		return;
	json_decref(sc->params);
	free(sc->cron);
	memset(sc, 0, sizeof(*sc));
}

static void sched_release(void *row)
{
	store_schedule_release(row);
}

static const struct store_rowtype sched_rt = {
	sizeof(struct store_schedule), sched_read, sched_release, 0,
};

int store_schedule_get(struct store *st, const char *id,
    struct store_schedule *out)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_SCHED_GET);
	int rc;

	bind_text(s, 1, id);
	rc = store_run_row(c, s, "get schedule", &sched_rt, out);
	unlock(c);
	return rc;
}

void store_schedule_page_release(struct store_schedule_page *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		store_schedule_release(&p->items[i]);
	free(p->items);
	memset(p, 0, sizeof(*p));
}

int store_schedule_list(struct store *st, const char *cluster,
    const char *cursor, int limit, struct store_schedule_page *out)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, cluster ? SQL_SCHED_LIST_CLUSTER :
	    SQL_SCHED_LIST_ALL);
	void *v = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	limit = clamp_limit(limit);
	bind_text(s, 1, cursor ? cursor : "");
	sqlite3_bind_int(s, 2, limit);
	if (cluster != NULL)
		bind_text(s, 3, cluster);
	rc = store_run_rows(c, s, "list schedules", &sched_rt, limit, &v,
	    &out->n, out->next, sizeof(out->next));
	out->items = v;
	unlock(c);
	return rc;
}

int store_schedules_due(struct store *st, int64_t now,
    struct store_schedule **out, size_t *n)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_SCHED_DUE);
	void *v = NULL;
	int rc;

	sqlite3_bind_int64(s, 1, now);
	rc = store_run_rows(c, s, "due schedules", &sched_rt, 0, &v, n,
	    NULL, 0);
	unlock(c);
	if (rc == 0)
		*out = v;
	return rc;
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
		rc = store_db_err(c, err, errlen, "schedule next run");
	else if (sqlite3_changes(c->db) == 0)
		rc = RM_ENOENT;
	unlock(c);
	return rc;
}

