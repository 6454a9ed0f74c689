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
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_SCHED_GET);
	json_t *out;

	bind_text(s, 1, id);
	out = store_run_one(c, s, sched_json);
	unlock(c);
	return out;
}

json_t *store_schedule_list(struct store *st, const char *cluster,
    const char *cursor, int limit)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, cluster ? SQL_SCHED_LIST_CLUSTER :
	    SQL_SCHED_LIST_ALL);
	json_t *out;

	limit = clamp_limit(limit);
	bind_text(s, 1, cursor ? cursor : "");
	sqlite3_bind_int(s, 2, limit);
	if (cluster != NULL)
		bind_text(s, 3, cluster);
	out = store_run_page(c, s, limit, 0, sched_json);
	unlock(c);
	return out;
}

int store_schedules_due(struct store *st, int64_t now,
    struct store_schedule **out, size_t *n)
{
	struct conn *c = store_rlock(st);
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
		rc = store_db_err(c, NULL, 0, "due schedules");
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
		rc = store_db_err(c, err, errlen, "schedule next run");
	else if (sqlite3_changes(c->db) == 0)
		rc = RM_ENOENT;
	unlock(c);
	return rc;
}

