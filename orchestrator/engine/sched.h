/*
 * sched.h - schedules: run a task type on an interval ("every": 90m, 24h,
 * 7d) or on a cron expression (cron.h), from a start time.
 *
 * A schedule stores its next run (next_run_at).  A tick fires every
 * schedule whose next run has come: the task goes through the same path as
 * the API (validated, planned, persisted, then queued).  Rules:
 *   - After downtime a schedule that missed one or many slots runs ONCE,
 *     and next_run_at jumps to the first slot in the future.
 *   - A schedule never stacks: while its previous task is queued, running
 *     or paused the slot is skipped (next_run_at still advances).
 *   - every: slots are start_at + k * every.  Without a start time the
 *     slots are multiples of the interval since the epoch (UTC), so "24h"
 *     runs at midnight UTC.  A start time in the past means the first slot
 *     after now.
 *   - cron: the first matching minute after max(now, start_at - 1 s).
 *
 * Threading: sched_create/sched_tick may be called from any thread (the
 * store serialises).  sched_new() owns one thread that ticks every second;
 * nothing else in the engine waits behind it.
 */
#ifndef RM_SCHED_H
#define RM_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../store/store.h"

struct task_engine;
struct sched;

/*
 * The one way a schedule is created (the API's too): the type and params
 * checked (task_validate()), the timing checked - exactly one of every_ms
 * (at least 1 s; the API parses "90m", "24h") and cron - then the next run
 * computed and the row stored.  start_at is ms (0 = none).  id_out gets "s-<hex>" (STORE_ID_MAX bytes).
 * 0, RM_EINVAL (400), RM_ENOENT (no such cluster), RM_ERR.
 */
int sched_create(struct task_engine *e, const char *cluster,
    const char *type, json_t *params, int64_t every_ms, const char *cron,
    int64_t start_at, char *id_out, char *err, size_t errlen);
/*
 * The first slot strictly after now (ms) of a schedule, never before
 * start_at; every_ms > 0 or cron non-NULL.  -1 when there is none.
 */
int64_t sched_next_run(int64_t every_ms, const char *cron, int64_t start_at,
    int64_t now);
/*
 * Fire every due schedule at time now (ms).  Returns the number of tasks
 * queued (>= 0), or -1 when the store failed.
 */
int sched_tick(struct task_engine *e, int64_t now);
/* A thread that calls sched_tick(e, time_wall_ms()) every period_ms
 * (0 = 1000); NULL with err when it cannot start. */
struct sched *sched_new(struct task_engine *e, int64_t period_ms, char *err,
    size_t errlen);
/* Stop and join that thread, free it.  NULL is fine. */
void sched_free(struct sched *t);

#endif
