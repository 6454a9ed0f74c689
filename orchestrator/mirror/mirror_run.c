/*
 * mirror_run.c - the state mirror's writer thread (mirror.h).
 *
 * "Something changed" is the store's commit counter (store_change_count(),
 * one atomic load bumped by the writer's WAL hook): the thread looks at it
 * every POLL_MS and writes a generation `delay` after the first change it
 * has not mirrored, so a burst of changes makes one generation.  With no
 * change it still writes every `interval`, so the age metric says the
 * mirror is alive.  mirror_now() skips the delay: the service calls it
 * when a task changes state (a schedule fired, a task started or ended),
 * the changes a restore must not lose.
 *
 * A failure is retried after a backoff that starts at the delay and
 * doubles up to the interval.  The first failure of a run of failures is
 * an event (kind "state_mirror", result "failed", severity warn), the
 * first success after one is another ("recovered", severity info); every
 * failure is logged and counted in ringmaster_state_mirror_failures_total.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../http/metrics.h"
#include "../store/store.h"
#include "mirror_int.h"

#define POLL_MS 200
#define NUDGE_GAP_MS 1000	/* nudged generations at most this often */

void mirror_run_init(struct mirror *m)
{
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
}

void mirror_run_release(struct mirror *m)
{
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
}

static void event(struct mirror *m, const char *result, const char *severity,
    const char *error)
{
	json_t *d = json_pack("{s:s, s:s}", "severity", severity, "url",
	    m->url);
	char *text;

	if (d == NULL)
		return;
	if (error != NULL)
		json_object_set_new(d, "error", json_string(error));
	text = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	struct store_event ev = {
		.actor = "ringmaster", .kind = "state_mirror", .target = m->url,
		.result = result, .detail_json = text,
	};
	store_event_append(m->st, &ev, NULL, 0);
	free(text);
}

/* One generation; the bookkeeping of success and failure. */
static int write_one(struct mirror *m, bool *failing)
{
	struct mirror_write_info info = { 0 };
	char err[1024];

	if (mirror_write(m, m->st, &info, err, sizeof(err)) != 0) {
		if (m->mt != NULL)
			metrics_state_mirror_failed(m->mt);
		log_warnx("state mirror: %s; the orchestrator goes on and the "
		    "mirror tries again (see ringmaster_state_mirror_age_seconds)",
		    err);
		if (!*failing)
			event(m, "failed", "warn", err);
		*failing = true;
		return -1;
	}
	if (m->mt != NULL)
		metrics_state_mirror_written(m->mt, info.generation, info.bytes);
	log_debug("state mirror: generation %016" PRId64 " written (%" PRIu64
	    " bytes, %lld ms, %zu old ones deleted)", info.generation,
	    info.bytes, (long long)info.took_ms, info.deleted);
	if (*failing) {
		log_info("state mirror: writing again: generation %016" PRId64
		    " is in %s", info.generation, m->url);
		event(m, "recovered", "info", NULL);
	}
	*failing = false;
	return 0;
}

static void wait_ms(struct mirror *m, int64_t ms)
{
	struct timespec ts;

	time_after_ms(CLOCK_MONOTONIC, ms, &ts);
	pthread_cond_timedwait(&m->cv, &m->mu, &ts);
}

static void *run(void *arg)
{
	struct mirror *m = arg;
	/* The first generation goes up soon after start: a fresh mirror, or
	 * one restored from, gets a generation of this run at once. */
	uint64_t seen = store_change_count(m->st) - 1;
	int64_t dirty_since = 0, last_ok = 0, retry_at = 0, backoff = 0;
	int64_t last_try = 0;
	bool failing = false;

	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		int64_t now = time_mono_ms();
		uint64_t cnt = store_change_count(m->st);

		if (cnt != seen && dirty_since == 0)
			dirty_since = now;
		/* A writer waiting in mirror_sync() does not wait for the
		 * gap: it is blocked until a generation holds its change. */
		bool want = (m->nudge && (m->syncing > 0 ||
		    now - last_try >= NUDGE_GAP_MS)) ||
		    (dirty_since != 0 && now - dirty_since >= m->delay_ms) ||
		    (last_ok != 0 && now - last_ok >= m->interval_ms) ||
		    (last_ok == 0 && dirty_since == 0);
		if (!want || now < retry_at) {
			wait_ms(m, POLL_MS);
			continue;
		}
		m->nudge = false;
		last_try = now;
		pthread_mutex_unlock(&m->mu);
		/* Changes committed after this read are in the next one. */
		uint64_t before = store_change_count(m->st);
		int rc = write_one(m, &failing);
		now = time_mono_ms();
		pthread_mutex_lock(&m->mu);
		if (rc == 0) {
			m->covered = before;
			m->covered_set = true;
			if (m->syncing > 0)
				pthread_cond_broadcast(&m->cv);
			seen = before;
			dirty_since = 0;
			last_ok = now;
			backoff = 0;
			retry_at = 0;
		} else {
			backoff = backoff == 0 ? m->delay_ms : backoff * 2;
			if (backoff > m->interval_ms)
				backoff = m->interval_ms;
			retry_at = now + backoff;
			/* Not due again before the backoff says. */
			if (last_ok == 0)
				last_ok = now;
		}
	}
	if (m->final && store_change_count(m->st) != seen) {
		pthread_mutex_unlock(&m->mu);
		log_info("state mirror: writing a last generation before "
		    "stopping");
		write_one(m, &failing);
		pthread_mutex_lock(&m->mu);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

/* Snapshots and downloads a crash left in tmp_dir: each has its own
 * generation's name, so nothing else would ever remove them. */
static void remove_leftovers(const struct mirror *m)
{
	DIR *d = opendir(m->tmp_dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, ".mirror-", 8) != 0)
			continue;
		char *p = xasprintf("%s/%s", m->tmp_dir, de->d_name);
		if (unlink(p) == 0)
			log_info("state mirror: removed %s, left by an earlier "
			    "run", p);
		free(p);
	}
	closedir(d);
}

int mirror_start(struct mirror *m, struct store *st, struct metrics *mt,
    char *err, size_t errlen)
{
	int e;

	remove_leftovers(m);

	m->st = st;
	m->mt = mt;
	if (mt != NULL)
		metrics_state_mirror_enable(mt);
	if ((e = pthread_create(&m->thread, NULL, run, m)) != 0) {
		err_set(err, errlen, "state mirror: cannot start a thread: %s",
		    strerror(e));
		return -1;
	}
	m->started = true;
	return 0;
}

void mirror_now(struct mirror *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	m->nudge = true;
	pthread_mutex_unlock(&m->mu);
	pthread_cond_broadcast(&m->cv);
}

int mirror_sync(struct mirror *m, int64_t timeout_ms, char *err,
    size_t errlen)
{
	int64_t deadline = time_mono_ms() + timeout_ms;
	uint64_t want;
	int rc = 0;

	if (m == NULL || !m->started)
		return 0;
	want = store_change_count(m->st);
	pthread_mutex_lock(&m->mu);
	m->syncing++;
	m->nudge = true;
	/* The writer and other waiters share the condition: wake them all. */
	pthread_cond_broadcast(&m->cv);
	while (!(m->covered_set && m->covered >= want)) {
		int64_t left = deadline - time_mono_ms();
		if (m->stop || left <= 0) {
			err_set(err, errlen, "no generation of %s holds the "
			    "change after %lld ms%s", m->url,
			    (long long)timeout_ms, m->stop ? " (the mirror "
			    "stopped)" : "");
			rc = -1;
			break;
		}
		wait_ms(m, left);
	}
	m->syncing--;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

void mirror_stop(struct mirror *m, bool final)
{
	if (m == NULL || !m->started)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = true;
	m->final = final;
	pthread_mutex_unlock(&m->mu);
	pthread_cond_broadcast(&m->cv);
	pthread_join(m->thread, NULL);
	m->started = false;
}
