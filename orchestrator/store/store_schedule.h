/*
 * store_schedule.h - schedules in the store
 * (store_schedule.c); included by store.h, whose conventions apply.
 */
#ifndef RM_STORE_SCHEDULE_H
#define RM_STORE_SCHEDULE_H

#include "store.h"

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
 * 0, RM_ENOENT (no such cluster), RM_ERR.
 */
int store_schedule_create(struct store *st, struct store_schedule *s,
    char *err, size_t errlen);
/* 0, RM_ENOENT. */
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
 * with store_schedules_free().  0 or RM_ERR.
 */
int store_schedules_due(struct store *st, int64_t now,
    struct store_schedule **out, size_t *n);
void store_schedules_free(struct store_schedule *s, size_t n);
/* Only move next_run_at (a schedule whose task cannot be planned). */
int store_schedule_set_next(struct store *st, const char *id,
    int64_t next_run_at, char *err, size_t errlen);

#endif
