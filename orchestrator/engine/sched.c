/*
 * sched.c - schedules: compute next runs, fire due schedules through the
 * task engine, and an optional ticking thread.
 *
 * A tick reads the due schedules, computes each one's next slot strictly
 * after now (so any number of missed slots collapse into this one run)
 * and hands both to task_submit_scheduled(), which inserts the task and
 * moves next_run_at in one transaction, refusing (but still moving
 * next_run_at) while the schedule's previous task is unfinished.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "cron.h"
#include "sched.h"
#include "task.h"

#define NEVER		INT64_MAX
#define MIN_EVERY_MS	1000		/* tests and demos use seconds */

/* The ticking thread of one engine's schedules. */
struct sched {
	struct task_engine *e;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool stop;
	int64_t period_ms;
};

int64_t sched_next_run(int64_t every_ms, const char *cron, int64_t start_at,
    int64_t now)
{
	if (cron != NULL) {
		char err[256];
		struct cron *c = cron_parse(cron, err, sizeof(err));
		int64_t after = now / 1000, next;

		if (c == NULL)
			return -1;
		if (start_at > 0 && start_at / 1000 - 1 > after)
			after = start_at / 1000 - 1;
		next = cron_next(c, after);
		cron_free(c);
		return next < 0 ? -1 : next * 1000;
	}
	if (every_ms <= 0)
		return -1;
	if (start_at > now)
		return start_at;
	return start_at + ((now - start_at) / every_ms + 1) * every_ms;
}

int sched_create(struct task_engine *e, const char *cluster,
    const char *type, json_t *params, int64_t every_ms, const char *cron,
    int64_t start_at, char *id_out, char *err, size_t errlen)
{
	struct store_schedule s;
	int64_t now = time_wall_ms();
	json_t *own = NULL;
	int rc;

	if ((every_ms > 0) == (cron != NULL)) {
		snprintf(err, errlen, "a schedule needs exactly one of 'every' "
		    "and 'cron'");
		return RM_EINVAL;
	}
	if (cron == NULL && every_ms < MIN_EVERY_MS) {
		snprintf(err, errlen, "field 'every': %lld ms is shorter than "
		    "one second", (long long)every_ms);
		return RM_EINVAL;
	}
	if (cron != NULL && !cron_valid(cron, err, errlen))
		return RM_EINVAL;
	if (start_at < 0) {
		snprintf(err, errlen, "start time is not valid");
		return RM_EINVAL;
	}
	memset(&s, 0, sizeof(s));
	if (params == NULL)
		params = own = json_object();
	if ((rc = task_validate(e, type, params, err, errlen)) < 0)
		goto out;

	str_copy(s.cluster, cluster, sizeof(s.cluster));
	str_copy(s.type, type, sizeof(s.type));
	s.params = params;
	s.every_ms = every_ms;
	s.cron = cron ? xstrdup(cron) : NULL;
	s.start_at = start_at;
	s.next_run_at = sched_next_run(every_ms, cron, s.start_at, now);
	if (s.next_run_at < 0) {
		snprintf(err, errlen, "field 'cron': '%s' never matches",
		    cron ? cron : "");
		rc = RM_EINVAL;
		goto out;
	}
	s.enabled = true;
	rc = store_schedule_create(task_engine_store(e), &s, err, errlen);
	if (rc == RM_ENOENT) {
		snprintf(err, errlen, "cluster '%s' not found", cluster);
		rc = RM_ENOENT;
	}
	else if (rc < 0)
		rc = RM_ERR;
	else
		memcpy(id_out, s.id, STORE_ID_MAX);
out:
	free(s.cron);
	json_decref(own);
	return rc;
}

int sched_tick(struct task_engine *e, int64_t now)
{
	struct store *st = task_engine_store(e);
	struct store_schedule *due = NULL;
	size_t n = 0;
	int fired = 0;

	if (st == NULL || store_schedules_due(st, now, &due, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct store_schedule *s = &due[i];
		char id[STORE_ID_MAX], err[256] = "";
		int64_t next = sched_next_run(s->every_ms, s->cron, s->start_at,
		    now);
		int rc;

		if (next < 0)
			next = NEVER;
		rc = task_submit_scheduled(e, s, next, id, err, sizeof(err));
		if (rc == 0) {
			fired++;
			log_info("schedule %s: queued task %s on '%s'", s->id,
			    id, s->cluster);
		} else if (rc == RM_EBUSY) {
			log_info("schedule %s: skipped, its previous task is "
			    "not finished", s->id);
		} else {
			log_warnx("schedule %s: cannot queue a task: %s", s->id,
			    err);
			store_schedule_set_next(st, s->id, next, NULL, 0);
		}
	}
	store_schedules_free(due, n);
	return fired;
}

static void *sched_main(void *arg)
{
	struct sched *t = arg;

	pthread_mutex_lock(&t->mu);
	while (!t->stop) {
		struct timespec ts;
		pthread_mutex_unlock(&t->mu);
		sched_tick(t->e, time_wall_ms());
		pthread_mutex_lock(&t->mu);
		time_after_ms(CLOCK_REALTIME, t->period_ms, &ts);
		if (!t->stop)
			pthread_cond_timedwait(&t->cv, &t->mu, &ts);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

struct sched *sched_new(struct task_engine *e, int64_t period_ms, char *err,
    size_t errlen)
{
	struct sched *t = xcalloc(1, sizeof(*t));
	int rc;

	t->e = e;
	t->period_ms = period_ms > 0 ? period_ms : 1000;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	if ((rc = pthread_create(&t->thread, NULL, sched_main, t)) != 0) {
		snprintf(err, errlen, "cannot start the scheduler thread: %s",
		    strerror(rc));
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->cv);
		free(t);
		return NULL;
	}
	return t;
}

void sched_free(struct sched *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_mutex_unlock(&t->mu);
	pthread_cond_signal(&t->cv);
	pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
}
