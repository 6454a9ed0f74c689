/*
 * test_ratelimit.c - the object store's shared rate limit
 * (common/ratelimit.c): the token bucket's arithmetic on a given clock,
 * then pacing on the real one.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../common/ratelimit.h"
#include "../../common/util.h"
#include "t.h"

static void test_ratelimit(void)
{
	T_CHECK(ratelimit_new(0, 0) == NULL, "no limit is no limiter");
	ratelimit_take(NULL, 1u << 30);		/* returns at once */
	ratelimit_free(NULL);

	/* 1000 bytes/s: the bucket starts empty and holds at most 250. */
	struct ratelimit *r = ratelimit_new(1000, 0);
	static const struct {
		size_t n;
		int64_t now;
		double wait;
	} rows[] = {
		{ 100, 0, 100 },	/* overdraw 100: 100 ms of debt */
		{ 0, 100, 0 },		/* paid off */
		{ 50, 150, 0 },		/* 50 earned, 50 spent */
		{ 0, 10000, 0 },	/* idle: capped at 250, not 9,850 */
		{ 250, 10000, 0 },
		{ 1, 10000, 1 },
		{ 2000, 10001, 2000 },	/* a big chunk: its whole time */
		{ 10, 10001, 2010 },	/* queued behind the debt */
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		double w = ratelimit_debit(r, rows[i].n, rows[i].now);
		T_CHECK(w > rows[i].wait - 0.001 && w < rows[i].wait + 0.001,
		    "rows[%zu]: waits %.3f ms, want %.3f", i, w, rows[i].wait);
	}
	ratelimit_free(r);

	/* The real clock: 20 KB at 100 KB/s, starting from an empty bucket,
	 * takes about 200 ms; a bound well below it and a generous ceiling
	 * keep the check meaningful on a loaded machine. */
	r = ratelimit_new(100000, time_mono_ms());
	int64_t t0 = time_mono_ms();
	for (int i = 0; i < 20; i++)
		ratelimit_take(r, 1000);
	int64_t took = time_mono_ms() - t0;
	T_CHECK(took >= 150 && took < 5000, "took %lld ms", (long long)took);
	ratelimit_free(r);
}

int main(void)
{
	test_ratelimit();
	return t_done("test_ratelimit");
}
