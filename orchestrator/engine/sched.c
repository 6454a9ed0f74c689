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
#define MIN_EVERY_MS	60000

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool running, stop;
	int64_t period_ms;
} T = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
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

int sched_create(const char *cluster, const char *type, json_t *params,
    const char *every, const char *cron, int64_t start_at, char *id_out,
    char *err, size_t errlen)
{
	struct store_schedule s;
	int64_t now = time_wall_ms(), every_ms = 0;
	json_t *own = NULL;
	int rc;

	if (task_store() == NULL) {
		snprintf(err, errlen, "task engine not initialised");
		return TASK_ERR;
	}
	if ((every == NULL) == (cron == NULL)) {
		snprintf(err, errlen, "a schedule needs exactly one of 'every' "
		    "and 'cron'");
		return TASK_EINVAL;
	}
	if (every != NULL) {
		if (duration_parse_ms(every, &every_ms) < 0) {
			snprintf(err, errlen, "every '%s' is not a duration "
			    "(like 90m, 24h, 7d)", every);
			return TASK_EINVAL;
		}
		if (every_ms < MIN_EVERY_MS) {
			snprintf(err, errlen, "every '%s' is shorter than one "
			    "minute", every);
			return TASK_EINVAL;
		}
	} else if (!cron_valid(cron, err, errlen)) {
		return TASK_EINVAL;
	}
	if (start_at < 0) {
		snprintf(err, errlen, "start time is not valid");
		return TASK_EINVAL;
	}
	memset(&s, 0, sizeof(s));
	if (params == NULL)
		params = own = json_object();
	if ((rc = task_validate(type, params, err, errlen)) < 0)
		goto out;

	str_copy(s.cluster, cluster, sizeof(s.cluster));
	str_copy(s.type, type, sizeof(s.type));
	s.params = params;
	s.every_ms = every_ms;
	s.cron = cron ? xstrdup(cron) : NULL;
	s.start_at = start_at;
	if (every != NULL && start_at == 0)
		s.start_at = now + every_ms;
	s.next_run_at = sched_next_run(every_ms, cron, s.start_at, now);
	if (s.next_run_at < 0) {
		snprintf(err, errlen, "cron '%s' never matches", cron);
		rc = TASK_EINVAL;
		goto out;
	}
	s.enabled = true;
	rc = store_schedule_create(task_store(), &s, err, errlen);
	if (rc == STORE_ENOENT)
		rc = TASK_ENOENT;
	else if (rc < 0)
		rc = TASK_ERR;
	else
		memcpy(id_out, s.id, STORE_ID_MAX);
out:
	free(s.cron);
	json_decref(own);
	return rc;
}

int sched_tick(int64_t now)
{
	struct store *st = task_store();
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
		rc = task_submit_scheduled(s, next, id, err, sizeof(err));
		if (rc == 0) {
			fired++;
			log_info("schedule %s: queued task %s on '%s'", s->id,
			    id, s->cluster);
		} else if (rc == TASK_EBUSY) {
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
	(void)arg;
	pthread_mutex_lock(&T.mu);
	while (!T.stop) {
		struct timespec ts;
		pthread_mutex_unlock(&T.mu);
		sched_tick(time_wall_ms());
		pthread_mutex_lock(&T.mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += T.period_ms / 1000;
		ts.tv_nsec += (T.period_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (!T.stop)
			pthread_cond_timedwait(&T.cv, &T.mu, &ts);
	}
	pthread_mutex_unlock(&T.mu);
	return NULL;
}

int sched_start(int64_t period_ms, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&T.mu);
	if (T.running) {
		pthread_mutex_unlock(&T.mu);
		snprintf(err, errlen, "scheduler already running");
		return -1;
	}
	T.period_ms = period_ms > 0 ? period_ms : 1000;
	T.stop = false;
	rc = pthread_create(&T.thread, NULL, sched_main, NULL);
	if (rc != 0) {
		pthread_mutex_unlock(&T.mu);
		snprintf(err, errlen, "cannot start the scheduler thread: %s",
		    strerror(rc));
		return -1;
	}
	T.running = true;
	pthread_mutex_unlock(&T.mu);
	return 0;
}

void sched_stop(void)
{
	pthread_mutex_lock(&T.mu);
	if (!T.running) {
		pthread_mutex_unlock(&T.mu);
		return;
	}
	T.stop = true;
	pthread_mutex_unlock(&T.mu);
	pthread_cond_signal(&T.cv);
	pthread_join(T.thread, NULL);
	pthread_mutex_lock(&T.mu);
	T.running = false;
	pthread_mutex_unlock(&T.mu);
}
