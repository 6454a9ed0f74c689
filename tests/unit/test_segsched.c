/*
 * test_segsched.c - the repair segment scheduler (orchestrator/tasks/
 * segsched.c): range halves (wrap-around, whole ring, single tokens),
 * parallelism on rings worked out by hand, postponement while an endpoint
 * is down or busy and pick-up when it is back, retries and fairness, the
 * starvation guard, splitting, the report, the parallelism bound, and a
 * seeded random simulation over many rings from replicas.c in which no
 * endpoint may ever be in two running segments.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../orchestrator/tasks/replicas.h"
#include "../../orchestrator/tasks/segsched.h"
#include "t.h"

#define MIN_TOK INT64_MIN
#define MAX_TOK INT64_MAX

/* ---- range halves ---- */

static bool halves_ok(struct segsched_range r, const struct segsched_range *h)
{
	uint64_t w = (uint64_t)r.end - (uint64_t)r.start;
	uint64_t a = (uint64_t)h[0].end - (uint64_t)h[0].start;
	uint64_t b = (uint64_t)h[1].end - (uint64_t)h[1].start;

	/* contiguous, same ends, both non-empty, widths adding up (mod 2^64:
	 * the whole ring is 0 there) and within one of each other */
	return h[0].start == r.start && h[0].end == h[1].start &&
	    h[1].end == r.end && a != 0 && b != 0 && a + b == w &&
	    (a > b ? a - b : b - a) <= 1;
}

static void test_range_split(void)
{
	static const struct {
		struct segsched_range r;
		int rc;
		int64_t mid;
	} rows[] = {
		{ { 0, 10 }, 0, 5 },
		{ { 0, 2 }, 0, 1 },
		{ { 0, 3 }, 0, 1 },
		{ { 0, 1 }, -1, 0 },
		{ { -7, -6 }, -1, 0 },
		{ { MAX_TOK, MIN_TOK }, -1, 0 },	/* wraps, one token */
		{ { MAX_TOK - 1, MIN_TOK + 1 }, 0, MAX_TOK },
		{ { MAX_TOK - 2, MIN_TOK + 1 }, 0, MAX_TOK },
		{ { 100, -100 }, 0, MIN_TOK },	/* 100 + 2^63 - 100 */
		{ { MIN_TOK, MAX_TOK }, 0, -1 },
		{ { 5, 5 }, 0, MIN_TOK + 5 },
		{ { MIN_TOK, MIN_TOK }, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct segsched_range h[2] = { { 0, 0 }, { 0, 0 } };
		int rc = segsched_range_split(rows[i].r, h);
		T_CHECK(rc == rows[i].rc, "row %zu: rc %d", i, rc);
		if (rc != 0 || rows[i].rc != 0)
			continue;
		T_CHECK(h[0].end == rows[i].mid, "row %zu: mid %" PRId64
		    ", want %" PRId64, i, h[0].end, rows[i].mid);
		T_CHECK(halves_ok(rows[i].r, h), "row %zu: halves (%" PRId64
		    ",%" PRId64 "] (%" PRId64 ",%" PRId64 "]", i, h[0].start,
		    h[0].end, h[1].start, h[1].end);
	}
	T_CHECK(segsched_range_width((struct segsched_range){ 3, 3 }) ==
	    UINT64_MAX, "whole ring width");
	T_CHECK(segsched_range_width((struct segsched_range){ MAX_TOK,
	    MIN_TOK }) == 1, "wrap width");

	/* any range of two tokens or more: exact halves */
	uint64_t x = 88172645463325252ULL;
	size_t bad = 0;
	for (int i = 0; i < 100000; i++) {
		struct segsched_range r, h[2];
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		r.start = (int64_t)x;
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		r.end = i % 3 == 0 ? r.start + (int64_t)(x % 5) : (int64_t)x;
		if (segsched_range_split(r, h) < 0) {
			if (segsched_range_width(r) != 1)
				bad++;
		} else if (!halves_ok(r, h)) {
			bad++;
		}
	}
	T_EQ_INT(bad, 0);
}

/* ---- a ring of n single-token nodes, RF 3: segment i is {i, i+1, i+2} */

static struct segsched *ring_sched(size_t n, size_t rf, unsigned par)
{
	static const char *const names[] = { "A", "B", "C", "D", "E", "F", "G",
	    "H", "I", "J", "K", "L" };
	struct segsched_cfg cfg = { par, 0, 0, 0, 0 };
	struct segsched *s = segsched_new(n, names, &cfg);
	char err[256];

	for (size_t i = 0; i < n; i++) {
		struct segsched_range r = { (int64_t)i * 100, (int64_t)i * 100 + 100 };
		size_t eps[8], id;
		for (size_t k = 0; k < rf; k++)
			eps[k] = (i + k) % n;
		T_CHECK(segsched_add(s, &r, 1, eps, rf, &id, err, sizeof(err)) ==
		    0 && id == i, "add %zu: %s", i, err);
	}
	return s;
}

/*
 * How many segments run; *overlap (may be NULL: then it is checked here)
 * gets how many endpoints are in two or more of them.
 */
static size_t check_running(const struct segsched *s, size_t nep,
    size_t *overlap, const char *what)
{
	unsigned count[64] = { 0 };
	size_t running = 0, bad = 0;

	for (size_t i = 0; i < segsched_count(s); i++) {
		const struct segsched_seg *g = segsched_get(s, i);
		if (g->state != SEGSCHED_RUNNING)
			continue;
		running++;
		for (size_t j = 0; j < g->nendpoints; j++)
			count[g->endpoints[j]]++;
	}
	for (size_t e = 0; e < nep; e++)
		if (count[e] > 1)
			bad++;
	if (overlap != NULL)
		*overlap += bad;
	else
		T_CHECK(bad == 0, "%s: %zu endpoints in two running segments",
		    what, bad);
	return running;
}

static void test_parallelism(void)
{
	static const struct {
		size_t nodes, rf;
		unsigned par;
		size_t first;		/* started by the first round */
		const char *ids;	/* which */
		size_t greedy, upper;
	} rows[] = {
		{ 6, 3, 0, 2, "0,3", 2, 2 },
		{ 6, 3, 1, 1, "0", 2, 2 },
		{ 6, 3, 5, 2, "0,3", 2, 2 },
		{ 12, 3, 0, 4, "0,3,6,9", 4, 4 },
		{ 12, 3, 3, 3, "0,3,6", 4, 4 },
		{ 7, 3, 0, 2, "0,3", 2, 2 },
		{ 5, 2, 0, 2, "0,2", 2, 2 },
		{ 4, 4, 0, 1, "0", 1, 1 },
		{ 8, 1, 0, 8, "0,1,2,3,4,5,6,7", 8, 8 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct segsched *s = ring_sched(rows[i].nodes, rows[i].rf,
		    rows[i].par);
		size_t ids[16], n, upper = 0;
		char *got = xstrdup("");

		T_EQ_INT(segsched_max_parallel(s, &upper), rows[i].greedy);
		T_EQ_INT(upper, rows[i].upper);
		n = segsched_next(s, ids, 16);
		T_CHECK(n == rows[i].first, "row %zu: started %zu", i, n);
		for (size_t k = 0; k < n; k++) {
			char *t = xasprintf("%s%s%zu", got, k ? "," : "", ids[k]);
			free(got);
			got = t;
		}
		T_CHECK(strcmp(got, rows[i].ids) == 0, "row %zu: started %s, "
		    "want %s", i, got, rows[i].ids);
		T_EQ_INT(check_running(s, rows[i].nodes, NULL, "table"), n);
		/* a second round with nothing ended starts nothing */
		T_EQ_INT(segsched_next(s, ids, 16), 0);
		free(got);
		segsched_free(s);
	}
	/* max 1: one at a time even when more could run */
	{
		struct segsched *s = ring_sched(12, 3, 0);
		size_t ids[4];
		T_EQ_INT(segsched_next(s, ids, 1), 1);
		T_EQ_INT(segsched_next(s, ids, 0), 0);
		T_EQ_INT(segsched_next(s, NULL, 4), 0);
		T_EQ_INT(segsched_next(s, ids, 4), 3);
		segsched_free(s);
	}
}

/* Down and busy endpoints postpone; back, they are picked up first. */
static void test_postpone(void)
{
	struct segsched *s = ring_sched(6, 3, 0);
	size_t ids[8], n;
	char err[256];
	struct segsched_report rep;

	segsched_set_down(s, 1, true);	/* B: segments 5, 0 {A,B,C}, 1 */
	segsched_set_busy(s, 4, true);	/* E: segments 2, 3, 4 */
	n = segsched_next(s, ids, 8);
	T_EQ_INT(n, 0);
	for (size_t i = 0; i < 6; i++) {
		const struct segsched_seg *g = segsched_get(s, i);
		T_CHECK(g->state == SEGSCHED_POSTPONED, "segment %zu state %d",
		    i, g->state);
		T_EQ_INT(g->attempts, 0);
	}
	T_EQ_STR(segsched_get(s, 0)->why, "waiting for B (down)");
	T_EQ_STR(segsched_get(s, 2)->why,
	    "waiting for E (busy: pending compactions over the limit)");
	segsched_report(s, &rep);
	T_EQ_INT(rep.postponed, 6);
	T_EQ_INT(rep.nunrepaired, 1);	/* (0,600] merged */
	if (rep.nunrepaired == 1) {
		T_EQ_INT(rep.unrepaired[0].start, 0);
		T_EQ_INT(rep.unrepaired[0].end, 600);
	}
	segsched_report_release(&rep);
	T_CHECK(!segsched_finished(s), "postponed is not finished");

	/* E is back: 2 {C,D,E}, 3 {D,E,F} and 4 {E,F,A} lack B; 2 starts,
	 * 3 and 4 wait for it */
	segsched_set_busy(s, 4, false);
	n = segsched_next(s, ids, 8);
	T_CHECK(n == 1 && ids[0] == 2, "started %zu (%zu)", n, n ? ids[0] : 99);
	T_EQ_INT(segsched_get(s, 3)->state, SEGSCHED_PENDING);
	T_EQ_INT(segsched_get(s, 4)->state, SEGSCHED_PENDING);
	T_EQ_INT(segsched_get(s, 1)->state, SEGSCHED_POSTPONED);

	/* a running segment postponed by what Cassandra said: no attempt */
	T_EQ_INT(segsched_postpone(s, 2, "Endpoint not alive: /10.0.0.5:7000",
	    err, sizeof(err)), 0);
	T_EQ_INT(segsched_get(s, 2)->attempts, 0);
	T_EQ_INT(segsched_get(s, 2)->state, SEGSCHED_POSTPONED);
	segsched_set_down(s, 4, true);	/* E */
	n = segsched_next(s, ids, 8);
	T_EQ_INT(n, 0);
	T_EQ_STR(segsched_get(s, 2)->why, "waiting for E (down)");

	/* all back: the postponed ones run, oldest (all since round 0) and
	 * lowest id first: 0 {A,B,C} and 3 {D,E,F} */
	segsched_set_down(s, 1, false);
	segsched_set_down(s, 4, false);
	n = segsched_next(s, ids, 8);
	T_CHECK(n == 2 && ids[0] == 0 && ids[1] == 3, "started %zu", n);
	T_EQ_INT(check_running(s, 6, NULL, "postpone"), 2);
	segsched_free(s);
}

/* Retries queue behind what waits; ties go to fewer attempts. */
static void test_fairness(void)
{
	struct segsched_cfg cfg = { 0, 2, 0, -1, 0 };
	struct segsched *s = segsched_new(2, NULL, &cfg);
	struct segsched_range r = { 0, 10 };
	size_t zero = 0, x, y, z, ids[4];
	char err[256];
	struct segsched_report rep;

	segsched_add(s, &r, 1, &zero, 1, &x, err, sizeof(err));
	segsched_add(s, &r, 1, &zero, 1, &y, err, sizeof(err));
	T_CHECK(segsched_next(s, ids, 4) == 1 && ids[0] == x, "x first");
	T_EQ_INT(segsched_fail(s, x, "boom", err, sizeof(err)), 0);
	T_EQ_INT(segsched_get(s, x)->state, SEGSCHED_PENDING);
	/* z arrives in the same round x went back: same age, fewer attempts */
	segsched_add(s, &r, 1, &zero, 1, &z, err, sizeof(err));
	T_CHECK(segsched_next(s, ids, 4) == 1 && ids[0] == y, "y (older)");
	segsched_done(s, y, err, sizeof(err));
	T_CHECK(segsched_next(s, ids, 4) == 1 && ids[0] == z,
	    "z (fewer attempts than x)");
	segsched_done(s, z, err, sizeof(err));
	T_CHECK(segsched_next(s, ids, 4) == 1 && ids[0] == x, "x again");
	T_EQ_INT(segsched_get(s, x)->attempts, 2);
	/* out of attempts (2): failed for good, with its reason */
	T_EQ_INT(segsched_fail(s, x, "Repair job has failed", err, sizeof(err)), 0);
	T_EQ_INT(segsched_get(s, x)->state, SEGSCHED_FAILED);
	T_EQ_STR(segsched_get(s, x)->why, "Repair job has failed");
	T_EQ_INT(segsched_next(s, ids, 4), 0);
	T_CHECK(segsched_finished(s), "finished");
	segsched_report(s, &rep);
	T_CHECK(rep.done == 2 && rep.failed == 1 && rep.nunrepaired == 1,
	    "report done %zu failed %zu", rep.done, rep.failed);
	segsched_report_release(&rep);

	/* ending what is not running is refused */
	T_EQ_INT(segsched_done(s, x, err, sizeof(err)), -1);
	T_EQ_STR(err, "segment 0 is not running: only a running segment can end");
	T_EQ_INT(segsched_fail(s, 42, "x", err, sizeof(err)), -1);
	T_EQ_STR(err, "no segment 42 (there are 3)");
	segsched_free(s);
}

/*
 * An old segment {0,1} and a stream of young ones that each need 0 or 1 and
 * would keep it waiting for ever: after starve_limit passes it reserves its
 * endpoints and runs.
 */
static void test_starvation(void)
{
	struct segsched_cfg cfg = { 0, 0, 4, 0, 0 };
	struct segsched *s = segsched_new(2, NULL, &cfg);
	struct segsched_range r = { 0, 10 };
	size_t e0 = 0, e1 = 1, both[2] = { 0, 1 }, old, run, id, ids[4];
	char err[256];
	bool old_ran = false;
	int rounds = 0;

	segsched_add(s, &r, 1, &e0, 1, &run, err, sizeof(err));
	segsched_next(s, ids, 4);			/* {0} runs */
	segsched_add(s, &r, 1, both, 2, &old, err, sizeof(err));
	segsched_add(s, &r, 1, &e1, 1, &id, err, sizeof(err));
	for (rounds = 0; rounds < 40 && !old_ran; rounds++) {
		size_t n = segsched_next(s, ids, 4);
		for (size_t k = 0; k < n; k++)
			old_ran |= ids[k] == old;
		check_running(s, 2, NULL, "starvation");
		/* the oldest running young one ends; a new young one needing
		 * the endpoint it frees arrives */
		for (size_t i = 0; i < segsched_count(s); i++) {
			const struct segsched_seg *g = segsched_get(s, i);
			if (g->state == SEGSCHED_RUNNING && i != old) {
				size_t ep = g->endpoints[0];
				segsched_done(s, i, err, sizeof(err));
				segsched_add(s, &r, 1, ep == 0 ? &e0 : &e1, 1,
				    &id, err, sizeof(err));
				break;
			}
		}
	}
	T_CHECK(old_ran, "the old segment never ran in %d rounds", rounds);
	T_CHECK(rounds <= 8, "the old segment waited %d rounds", rounds);
	segsched_free(s);
}

static void test_split(void)
{
	struct segsched *s = segsched_new(3, NULL, NULL);
	struct segsched_range one = { MAX_TOK - 9, MIN_TOK + 10 };
	struct segsched_range many[] = { { 0, 100 }, { 100, 110 }, { 200, 300 },
	    { 300, 310 } };
	struct segsched_range tiny = { 5, 6 };
	size_t eps[] = { 0, 2 }, a, b, c, h[2], ids[4];
	char err[256];
	const struct segsched_seg *x, *y;
	struct segsched_report rep;

	segsched_add(s, &one, 1, eps, 2, &a, err, sizeof(err));
	segsched_add(s, &many[0], 4, eps, 2, &b, err, sizeof(err));
	segsched_add(s, &tiny, 1, eps, 2, &c, err, sizeof(err));
	T_CHECK(segsched_next(s, ids, 4) == 1 && ids[0] == a, "a runs");

	/* a running segment (timed out, cancelled by the caller) */
	T_EQ_INT(segsched_split(s, a, h, err, sizeof(err)), 0);
	x = segsched_get(s, h[0]);
	y = segsched_get(s, h[1]);
	T_EQ_INT(segsched_get(s, a)->state, SEGSCHED_SPLIT);
	T_CHECK(x->nranges == 1 && y->nranges == 1 && x->ranges[0].start ==
	    MAX_TOK - 9 && x->ranges[0].end == MIN_TOK &&
	    y->ranges[0].start == x->ranges[0].end && y->ranges[0].end ==
	    MIN_TOK + 10, "wrap-around halves");
	T_CHECK(x->state == SEGSCHED_PENDING && x->parent == a &&
	    x->nendpoints == 2 && x->endpoints[1] == 2 && x->attempts == 0 &&
	    x->since == segsched_get(s, a)->since, "half inherits");

	/* several ranges: two runs of about equal width (110 / 110) */
	T_EQ_INT(segsched_split(s, b, h, err, sizeof(err)), 0);
	x = segsched_get(s, h[0]);
	y = segsched_get(s, h[1]);
	T_CHECK(x->nranges == 2 && y->nranges == 2 && x->ranges[1].end == 110 &&
	    y->ranges[0].start == 200, "runs %zu + %zu", x->nranges, y->nranges);

	T_EQ_INT(segsched_split(s, c, h, err, sizeof(err)), -1);
	T_EQ_STR(err, "segment 2 is the single token (5,6]: it cannot be split");
	T_EQ_INT(segsched_split(s, a, h, err, sizeof(err)), -1);
	T_EQ_STR(err, "segment 0 is already split: only a segment still to "
	    "repair can be split");

	/* the halves run (they share endpoints: one at a time, oldest = the
	 * split ones' age, then lowest id) and the report tiles */
	segsched_report(s, &rep);
	T_EQ_INT(rep.split, 2);
	T_EQ_INT(rep.pending, 5);
	T_EQ_INT(rep.running, 0);
	segsched_report_release(&rep);
	while (!segsched_finished(s)) {
		size_t n = segsched_next(s, ids, 4);
		T_EQ_INT(n, 1);
		if (n != 1)
			break;
		segsched_done(s, ids[0], err, sizeof(err));
	}
	segsched_report(s, &rep);
	T_CHECK(rep.done == 5 && rep.nunrepaired == 0, "all done");
	segsched_report_release(&rep);
	segsched_free(s);
}

static void test_add_errors(void)
{
	struct segsched *s = segsched_new(3, NULL, NULL);
	struct segsched_range r = { 1, 2 };
	size_t ok[] = { 0, 1 }, dup[] = { 1, 1 }, far[] = { 3 }, id = 77;
	char err[256];
	static const char *const want[] = {
		"a segment needs at least one range",
		"range (1,2] has no replicas",
		"endpoint 1 is named twice in one replica set",
		"endpoint 3 is not one of the scheduler's 3 endpoints",
	};
	int rc[4];

	rc[0] = segsched_add(s, &r, 0, ok, 2, &id, err, sizeof(err));
	T_CHECK(rc[0] == -1 && str_starts_with(err, want[0]), "%s", err);
	rc[1] = segsched_add(s, &r, 1, ok, 0, &id, err, sizeof(err));
	T_CHECK(rc[1] == -1 && str_starts_with(err, want[1]), "%s", err);
	rc[2] = segsched_add(s, &r, 1, dup, 2, &id, err, sizeof(err));
	T_CHECK(rc[2] == -1 && str_starts_with(err, want[2]), "%s", err);
	rc[3] = segsched_add(s, &r, 1, far, 1, &id, err, sizeof(err));
	T_CHECK(rc[3] == -1 && str_starts_with(err, want[3]), "%s", err);
	T_EQ_INT(segsched_count(s), 0);
	T_EQ_INT(id, 77);
	T_CHECK(segsched_get(s, 0) == NULL, "nothing added");
	segsched_free(s);
}

/* ---- backoff between a failed segment's attempts ---- */

static void test_backoff_values(void)
{
	static const struct {
		int64_t base, max;
		unsigned n;
		int64_t want;
	} rows[] = {
		{ 0, 0, 1, 5000 },		/* the defaults: 5 s, doubling */
		{ 0, 0, 2, 10000 },
		{ 0, 0, 3, 20000 },
		{ 0, 0, 6, 160000 },
		{ 0, 0, 7, 300000 },		/* 320 s capped at 5 min */
		{ 0, 0, 1000, 300000 },		/* no overflow */
		{ 1000, 4000, 1, 1000 },
		{ 1000, 4000, 3, 4000 },
		{ 1000, 4000, 4, 4000 },
		{ 3000, 4000, 2, 4000 },	/* 6 s capped */
		{ 1, 0, 64, 300000 },
		{ 7000, 5000, 1, 5000 },	/* a base above the cap */
		{ -1, 0, 1, 0 },		/* none */
		{ -1, 0, 9, 0 },
		{ 5000, 0, 0, 0 },		/* no failure yet */
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct segsched_cfg cfg = { 0, 0, 0, rows[i].base, rows[i].max };
		struct segsched *s = segsched_new(1, NULL, &cfg);

		T_CHECK(segsched_backoff_ms(s, rows[i].n) == rows[i].want,
		    "row %zu: base %lld max %lld after %u failures: %lld, want "
		    "%lld", i, (long long)rows[i].base, (long long)rows[i].max,
		    rows[i].n, (long long)segsched_backoff_ms(s, rows[i].n),
		    (long long)rows[i].want);
		segsched_free(s);
	}
}

/*
 * Segments a {0,1}, b {1,2} and c {3} (max_attempts 4, backoff 5 s
 * doubling), driven by a script: at each clock value an action and what
 * must follow.  A failed segment waits its backoff pending and frees its
 * endpoints meanwhile (b takes endpoint 1); its next failure doubles the
 * wait; a split half starts without one.
 */
enum bo_op { BO_NEXT, BO_FAIL, BO_DONE, BO_SPLIT };

static void test_backoff_script(void)
{
	static const struct {
		int64_t now;
		enum bo_op op;
		char seg;		/* a, b, c, or the split halves d, e */
		const char *want;	/* started ids ("ac") after NEXT */
		int64_t retry;		/* segsched_next_retry after, -1 none */
	} rows[] = {
		{ 1000, BO_NEXT, 0, "ac", -1 },
		{ 1500, BO_FAIL, 'a', NULL, 6500 },	/* first failure: 5 s */
		{ 1500, BO_NEXT, 0, "b", 6500 },	/* b takes 1 meanwhile */
		{ 2000, BO_DONE, 'b', NULL, 6500 },
		{ 2000, BO_NEXT, 0, "", 6500 },		/* a waits, pending */
		{ 6499, BO_NEXT, 0, "", 6500 },
		{ 6500, BO_NEXT, 0, "a", -1 },		/* attempt 2 */
		{ 7000, BO_FAIL, 'a', NULL, 17000 },	/* second: 10 s */
		{ 9000, BO_FAIL, 'c', NULL, 14000 },	/* c's first: 5 s */
		{ 13999, BO_NEXT, 0, "", 14000 },
		{ 14000, BO_NEXT, 0, "c", 17000 },
		{ 17000, BO_SPLIT, 'a', NULL, -1 },	/* halves d, e: no wait */
		{ 17000, BO_NEXT, 0, "d", -1 },		/* e shares 0 and 1 */
		{ 17100, BO_FAIL, 'd', NULL, 22100 },	/* a half's own first */
		{ 17100, BO_NEXT, 0, "e", 22100 },
	};
	struct segsched_cfg cfg = { 0, 4, 0, 0, 0 };
	struct segsched *s = segsched_new(4, NULL, &cfg);
	struct segsched_range r = { 0, 1000 };
	size_t ab[2] = { 0, 1 }, bc[2] = { 1, 2 }, three = 3, ids[8], id;
	size_t seg[5] = { 0 };
	char err[256], got[8];

	segsched_add(s, &r, 1, ab, 2, &seg[0], err, sizeof(err));
	segsched_add(s, &r, 1, bc, 2, &seg[1], err, sizeof(err));
	segsched_add(s, &r, 1, &three, 1, &seg[2], err, sizeof(err));
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		size_t k, h[2];
		int rc = 0;

		segsched_set_now(s, rows[i].now);
		id = rows[i].seg ? seg[rows[i].seg - 'a'] : 0;
		switch (rows[i].op) {
		case BO_NEXT:
			k = segsched_next(s, ids, 8);
			for (size_t j = 0; j < k; j++)
				for (size_t x = 0; x < 5; x++)
					if (seg[x] == ids[j] && (x < 3 ||
					    seg[x] != 0))
						got[j] = (char)('a' + x);
			got[k] = '\0';
			T_CHECK(strcmp(got, rows[i].want) == 0, "row %zu: started "
			    "'%s', want '%s'", i, got, rows[i].want);
			break;
		case BO_FAIL:
			rc = segsched_fail(s, id, "boom", err, sizeof(err));
			break;
		case BO_DONE:
			rc = segsched_done(s, id, err, sizeof(err));
			break;
		case BO_SPLIT:
			segsched_fail(s, id, "timeout", err, sizeof(err));
			rc = segsched_split(s, id, h, err, sizeof(err));
			seg[3] = h[0];
			seg[4] = h[1];
			break;
		}
		T_CHECK(rc == 0, "row %zu: %s", i, err);
		T_CHECK(segsched_next_retry(s) == (rows[i].retry < 0 ?
		    INT64_MAX : rows[i].retry), "row %zu: next retry %lld, want "
		    "%lld", i, (long long)segsched_next_retry(s),
		    (long long)rows[i].retry);
	}
	T_EQ_INT(segsched_get(s, seg[0])->state, SEGSCHED_SPLIT);
	T_EQ_INT(segsched_get(s, seg[3])->state, SEGSCHED_PENDING);
	T_EQ_INT(segsched_get(s, seg[3])->not_before, 22100);
	segsched_free(s);
}

/* ---- randomized simulation over generated rings ---- */

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
	return rand_xorshift(&rng);
}

static void test_simulation(void)
{
	static const char *const dcs[] = { "dc1", "dc2" };
	static const char *const racks[] = { "r1", "r2", "r3" };
	size_t violations = 0, unfinished = 0, lost = 0, over_par = 0,
	    blocked_start = 0, sims = 0, max_seen = 0, overlaps = 0,
	    checks = 0, add_errors = 0, early = 0, retried = 0;

	for (int iter = 0; iter < 300; iter++) {
		size_t nep = 2 + rnd() % 11, vn = 1 + rnd() % 8, n = 0;
		char *names[13];
		struct replicas_token ring[13 * 8];
		struct replicas_dc_rf rf[2] = { { "dc1", 1 + (int)(rnd() % 3) },
		    { "dc2", (int)(rnd() % 3) } };
		struct replicas_repl repl = { iter % 4 ? REPLICAS_NTS :
		    REPLICAS_SIMPLE, 1 + (int)(rnd() % 4), rf, 2 };
		struct replicas_map *m;
		/* backoff: none, or 1..20 time units doubling up to 60 */
		struct segsched_cfg cfg = { (unsigned)(rnd() % 4), 3, 0,
		    rnd() % 3 == 0 ? -1 : 1 + (int64_t)(rnd() % 20), 60 };
		struct segsched *s;
		char err[256];
		int64_t *end_at;	/* simulated end time of running ones */
		int64_t now = 0;
		size_t ids[64], rounds = 0;
		bool down[13] = { false }, busy[13] = { false };
		uint64_t added_w = 0;

		for (size_t e = 0; e < nep; e++) {
			names[e] = xasprintf("10.1.%d.%zu", iter, e);
			const char *dc = dcs[rnd() % 2], *rack = racks[rnd() % 3];
			for (size_t v = 0; v < vn; v++)
				ring[n++] = (struct replicas_token){
				    (int64_t)rnd(), names[e], dc, rack };
		}
		m = replicas_compute(ring, n, &repl, err, sizeof(err));
		T_CHECK(m != NULL, "iteration %d: %s", iter, err);
		if (m == NULL)
			goto next_ring;
		s = segsched_new(m->nendpoints, NULL, &cfg);
		for (size_t i = 0; i < m->nranges; i++) {
			struct segsched_range r = { m->ranges[i].start,
			    m->ranges[i].end };
			size_t id;
			if (m->ranges[i].nreplicas == 0)
				continue;	/* nothing holds it: no repair */
			added_w += (uint64_t)r.end - (uint64_t)r.start;
			if (segsched_add(s, &r, 1, m->ranges[i].replicas,
			    m->ranges[i].nreplicas, &id, err, sizeof(err)) < 0)
				add_errors++;
		}
		end_at = xcalloc(segsched_count(s) * 4 + 8, sizeof(*end_at));
		sims++;
		{
			size_t up = 0, g = segsched_max_parallel(s, &up);
			if (g > up)
				violations++;
		}
		while (!segsched_finished(s) && rounds < 20000) {
			size_t k, running;
			rounds++;
			/* endpoints come and go */
			if (rnd() % 5 == 0) {
				size_t e = rnd() % m->nendpoints;
				down[e] = rnd() % 3 == 0;
				segsched_set_down(s, e, down[e]);
			}
			if (rnd() % 7 == 0) {
				size_t e = rnd() % m->nendpoints;
				busy[e] = rnd() % 3 == 0;
				segsched_set_busy(s, e, busy[e]);
			}
			segsched_set_now(s, now);
			k = segsched_next(s, ids, 64);
			for (size_t j = 0; j < k; j++) {
				const struct segsched_seg *g = segsched_get(s, ids[j]);
				/* never before its backoff is over */
				if (g->not_before > now)
					early++;
				if (g->not_before > 0)
					retried++;
				for (size_t e = 0; e < g->nendpoints; e++)
					if (down[g->endpoints[e]] ||
					    busy[g->endpoints[e]])
						blocked_start++;
				end_at[ids[j]] = now + 1 + (int64_t)(rnd() % 50);
			}
			running = check_running(s, m->nendpoints, &overlaps,
			    "simulation");
			checks++;
			if (cfg.parallelism && running > cfg.parallelism)
				over_par++;
			if (running > max_seen)
				max_seen = running;
			/* the next to end ends: done, failed, postponed, or
			 * (rarely) split after a "timeout" */
			{
				size_t best = SIZE_MAX;
				for (size_t i = 0; i < segsched_count(s); i++)
					if (segsched_get(s, i)->state ==
					    SEGSCHED_RUNNING && (best == SIZE_MAX ||
					    end_at[i] < end_at[best]))
						best = i;
				if (best == SIZE_MAX &&
				    segsched_next_retry(s) != INT64_MAX) {
					/* nothing runs: time passes to the
					 * first backoff's end */
					now = segsched_next_retry(s);
					continue;
				}
				if (best == SIZE_MAX) {
					/* everything waits for down or busy
					 * endpoints: bring them all back */
					for (size_t e = 0; e < m->nendpoints; e++) {
						down[e] = busy[e] = false;
						segsched_set_down(s, e, false);
						segsched_set_busy(s, e, false);
					}
					continue;
				}
				now = end_at[best];
				segsched_set_now(s, now);
				uint64_t dice = rnd() % 20;
				size_t h[2];
				if (dice == 0)
					segsched_fail(s, best, "boom", err, sizeof(err));
				else if (dice == 1)
					segsched_postpone(s, best, "not alive",
					    err, sizeof(err));
				else if (dice == 2 && segsched_count(s) <
				    3 * m->nranges + 8 &&
				    segsched_split(s, best, h, err, sizeof(err)) == 0)
					;	/* a timeout: its halves wait */
				else
					segsched_done(s, best, err, sizeof(err));
				end_at = xrealloc(end_at, (segsched_count(s) + 8) *
				    sizeof(*end_at));
			}
		}
		if (!segsched_finished(s))
			unfinished++;
		/* every token is either repaired or reported unrepaired: the
		 * widths (mod 2^64: the whole ring is 0) of done and failed
		 * segments add up to those added, splits included, and the
		 * report's ranges are exactly the failed ones' */
		{
			struct segsched_report rep;
			uint64_t done_w = 0, failed_w = 0, rep_w = 0;
			for (size_t i = 0; i < segsched_count(s); i++) {
				const struct segsched_seg *g = segsched_get(s, i);
				for (size_t j = 0; j < g->nranges; j++) {
					uint64_t w = (uint64_t)g->ranges[j].end -
					    (uint64_t)g->ranges[j].start;
					if (g->state == SEGSCHED_DONE)
						done_w += w;
					else if (g->state == SEGSCHED_FAILED)
						failed_w += w;
				}
			}
			segsched_report(s, &rep);
			for (size_t j = 0; j < rep.nunrepaired; j++)
				rep_w += (uint64_t)rep.unrepaired[j].end -
				    (uint64_t)rep.unrepaired[j].start;
			if (done_w + failed_w != added_w || rep_w != failed_w ||
			    (rep.failed == 0) != (rep.nunrepaired == 0))
				lost++;
			segsched_report_release(&rep);
		}
		free(end_at);
		segsched_free(s);
next_ring:
		replicas_free(m);
		for (size_t e = 0; e < nep; e++)
			free(names[e]);
	}
	T_EQ_INT(sims, 300);
	T_EQ_INT(add_errors, 0);
	T_EQ_INT(overlaps, 0);
	T_CHECK(checks > 10000, "only %zu rounds checked", checks);
	T_EQ_INT(violations, 0);
	T_EQ_INT(over_par, 0);
	T_EQ_INT(unfinished, 0);
	T_EQ_INT(lost, 0);
	T_EQ_INT(blocked_start, 0);
	T_EQ_INT(early, 0);
	T_CHECK(retried > 100, "only %zu retries after a backoff", retried);
	/* the simulation did run segments side by side */
	T_CHECK(max_seen >= 2, "at most %zu ran at once", max_seen);
}

int main(void)
{
	test_range_split();
	test_parallelism();
	test_postpone();
	test_fairness();
	test_starvation();
	test_split();
	test_add_errors();
	test_backoff_values();
	test_backoff_script();
	test_simulation();
	return t_done("test_segsched");
}
