/*
 * ratelimit.c - see ratelimit.h.
 */
#include "ratelimit.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"

struct ratelimit {
	double rate;		/* bytes per second */
	pthread_mutex_t mu;	/* guards tokens and last_ms */
	double tokens;		/* negative: debt the takers are sleeping off */
	int64_t last_ms;
};

struct ratelimit *ratelimit_new(uint64_t bytes_per_s, int64_t now_ms)
{
	struct ratelimit *r;

	if (bytes_per_s == 0)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->rate = (double)bytes_per_s;
	r->last_ms = now_ms;
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

void ratelimit_free(struct ratelimit *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r);
}

double ratelimit_debit(struct ratelimit *r, size_t n, int64_t now_ms)
{
	double wait_ms = 0;

	pthread_mutex_lock(&r->mu);
	r->tokens += (double)(now_ms - r->last_ms) * r->rate / 1000.0;
	r->last_ms = now_ms;
	if (r->tokens > r->rate / 4)
		r->tokens = r->rate / 4;
	r->tokens -= (double)n;
	if (r->tokens < 0)
		wait_ms = -r->tokens * 1000.0 / r->rate;
	pthread_mutex_unlock(&r->mu);
	return wait_ms;
}

void ratelimit_take(struct ratelimit *r, size_t n)
{
	if (r == NULL)
		return;
	/* Sleep outside the lock: the others account their own bytes
	 * meanwhile and wait for their share of the debt. */
	double wait_ms = ratelimit_debit(r, n, time_mono_ms());
	if (wait_ms >= 1) {
		long ms = (long)wait_ms;
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}
