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
	json_t *params;			/* owned by the struct when read: an
					   object, {} when the stored text is
					   not one */
	int64_t every_ms;		/* 0 when cron is set */
	char *cron;			/* NULL when every_ms is set */
	int64_t start_at, next_run_at, last_run_at;
	char last_task_id[STORE_ID_MAX];	/* "" none */
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
/* 0, RM_ENOENT, RM_ERR; release *out (store_schedule_release()) in every
 * case. */
int store_schedule_get(struct store *st, const char *id,
    struct store_schedule *out);
/* The owned fields of one schedule read (params, cron); NULL is fine. */
void store_schedule_release(struct store_schedule *s);

struct store_schedule_page {
	struct store_schedule *items;
	size_t n;
	char next[STORE_CURSOR_MAX];	/* "" on the last page */
};
void store_schedule_page_release(struct store_schedule_page *p);
/* By id; cluster NULL = all.  0 or RM_ERR; release *out in every case. */
int store_schedule_list(struct store *st, const char *cluster,
    const char *cursor, int limit, struct store_schedule_page *out);
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
