/*
 * segsched.c - repair segments scheduled by replica set.
 *
 * A repair of a range streams between all of its replicas, so the unit of
 * contention is the endpoint: two segments may run together only when their
 * replica sets are disjoint (Reaper and ScyllaDB Manager both hold this
 * rule; Reaper's users ask that a node never run two).  Each round
 * (segsched_next) rebuilds the set of endpoints in use from the running
 * segments, so no state can drift: a segment that ends, fails, is postponed
 * or split simply stops holding its endpoints.
 *
 * Order is oldest first (the round a segment became pending), then fewest
 * attempts, then id, which makes a run reproducible.  Greedy in that order
 * alone could starve an old segment whose endpoints younger segments keep
 * taking one at a time, so once a waiting segment has been passed over
 * starve_limit times, the oldest such segment reserves its free endpoints
 * for the rest of the round: they fall idle until the rest are free, and in
 * exchange it runs.  Reserving at once, on the first wait, would cost too
 * much: on a ring with RF 3 the segment next to a running one would hold
 * the endpoints the opposite segment needs, halving the parallelism.
 *
 * A down or busy endpoint postpones its segments (not an attempt, not a
 * failure); they keep their age, so they go first once it is back.
 */
#include "segsched.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"

#define DEFAULT_ATTEMPTS 3
#define DEFAULT_STARVE 8
#define DEFAULT_BACKOFF_MS 5000
#define DEFAULT_BACKOFF_MAX_MS 300000

struct segsched {
	size_t nep;
	char **names;
	bool *down, *busy;
	struct segsched_cfg cfg;
	struct segsched_seg *segs;
	size_t n, cap;
	uint64_t round;
	int64_t now;			/* the caller's clock, ms */
};

static int64_t u2i(uint64_t u)
{
	/* two's complement without relying on implementation-defined casts */
	return u <= (uint64_t)INT64_MAX ? (int64_t)u :
	    -(int64_t)(UINT64_MAX - u) - 1;
}

uint64_t segsched_range_width(struct segsched_range r)
{
	uint64_t w = (uint64_t)r.end - (uint64_t)r.start;

	return w == 0 ? UINT64_MAX : w;
}

int segsched_range_split(struct segsched_range r, struct segsched_range out[2])
{
	uint64_t w = (uint64_t)r.end - (uint64_t)r.start;
	/* the whole ring holds 2^64 tokens: its half is 2^63 */
	uint64_t half = w == 0 ? (uint64_t)1 << 63 : w / 2;
	int64_t mid;

	if (w == 1)
		return -1;
	mid = u2i((uint64_t)r.start + half);
	out[0] = (struct segsched_range){ r.start, mid };
	out[1] = (struct segsched_range){ mid, r.end };
	return 0;
}

struct segsched *segsched_new(size_t nendpoints, const char *const *names,
    const struct segsched_cfg *cfg)
{
	struct segsched *s = xcalloc(1, sizeof(*s));

	s->nep = nendpoints;
	s->down = xcalloc(nendpoints ? nendpoints : 1, sizeof(*s->down));
	s->busy = xcalloc(nendpoints ? nendpoints : 1, sizeof(*s->busy));
	if (names != NULL) {
		s->names = xcalloc(nendpoints ? nendpoints : 1, sizeof(char *));
		for (size_t i = 0; i < nendpoints; i++)
			s->names[i] = xstrdup(names[i] ? names[i] : "?");
	}
	if (cfg != NULL)
		s->cfg = *cfg;
	if (s->cfg.max_attempts == 0)
		s->cfg.max_attempts = DEFAULT_ATTEMPTS;
	if (s->cfg.starve_limit == 0)
		s->cfg.starve_limit = DEFAULT_STARVE;
	if (s->cfg.retry_backoff_ms == 0)
		s->cfg.retry_backoff_ms = DEFAULT_BACKOFF_MS;
	if (s->cfg.retry_backoff_max_ms <= 0)
		s->cfg.retry_backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
	return s;
}

void segsched_free(struct segsched *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->segs[i].ranges);
		free(s->segs[i].endpoints);
	}
	free(s->segs);
	if (s->names != NULL)
		for (size_t i = 0; i < s->nep; i++)
			free(s->names[i]);
	free(s->names);
	free(s->down);
	free(s->busy);
	free(s);
}

static struct segsched_seg *push(struct segsched *s,
    const struct segsched_range *ranges, size_t nranges,
    const size_t *endpoints, size_t nendpoints)
{
	struct segsched_seg *g;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->segs = xrealloc(s->segs, s->cap * sizeof(*s->segs));
	}
	g = &s->segs[s->n];
	memset(g, 0, sizeof(*g));
	g->id = s->n++;
	g->ranges = xcalloc(nranges, sizeof(*g->ranges));
	memcpy(g->ranges, ranges, nranges * sizeof(*ranges));
	g->nranges = nranges;
	g->endpoints = xcalloc(nendpoints, sizeof(*g->endpoints));
	memcpy(g->endpoints, endpoints, nendpoints * sizeof(*endpoints));
	g->nendpoints = nendpoints;
	g->state = SEGSCHED_PENDING;
	g->since = s->round;
	g->parent = SIZE_MAX;
	return g;
}

int segsched_add(struct segsched *s, const struct segsched_range *ranges,
    size_t nranges, const size_t *endpoints, size_t nendpoints, size_t *id,
    char *err, size_t errlen)
{
	if (ranges == NULL || nranges == 0) {
		snprintf(err, errlen, "a segment needs at least one range");
		return -1;
	}
	if (endpoints == NULL || nendpoints == 0) {
		snprintf(err, errlen, "range (%" PRId64 ",%" PRId64 "] has no "
		    "replicas: nothing can repair it (replication factor 0?); "
		    "leave it out", ranges[0].start, ranges[0].end);
		return -1;
	}
	for (size_t i = 0; i < nendpoints; i++) {
		if (endpoints[i] >= s->nep) {
			snprintf(err, errlen, "endpoint %zu is not one of the "
			    "scheduler's %zu endpoints", endpoints[i], s->nep);
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (endpoints[j] == endpoints[i]) {
				snprintf(err, errlen, "endpoint %zu is named "
				    "twice in one replica set: name it once",
				    endpoints[i]);
				return -1;
			}
		}
	}
	*id = push(s, ranges, nranges, endpoints, nendpoints)->id;
	return 0;
}

size_t segsched_count(const struct segsched *s)
{
	return s->n;
}

const struct segsched_seg *segsched_get(const struct segsched *s, size_t id)
{
	return id < s->n ? &s->segs[id] : NULL;
}

void segsched_set_down(struct segsched *s, size_t endpoint, bool down)
{
	if (endpoint < s->nep)
		s->down[endpoint] = down;
}

void segsched_set_now(struct segsched *s, int64_t now_ms)
{
	s->now = now_ms;
}

int64_t segsched_backoff_ms(const struct segsched *s, unsigned n)
{
	int64_t d = s->cfg.retry_backoff_ms;

	if (d < 0 || n == 0)
		return 0;
	/* doubling n - 1 times, stopping at the cap (no overflow) */
	for (unsigned i = 1; i < n && d < s->cfg.retry_backoff_max_ms; i++)
		d *= 2;
	return d < s->cfg.retry_backoff_max_ms ? d : s->cfg.retry_backoff_max_ms;
}

int64_t segsched_next_retry(const struct segsched *s)
{
	int64_t at = INT64_MAX;

	for (size_t i = 0; i < s->n; i++) {
		const struct segsched_seg *g = &s->segs[i];
		if ((g->state == SEGSCHED_PENDING ||
		    g->state == SEGSCHED_POSTPONED) && g->not_before > s->now &&
		    g->not_before < at)
			at = g->not_before;
	}
	return at;
}

void segsched_set_busy(struct segsched *s, size_t endpoint, bool busy)
{
	if (endpoint < s->nep)
		s->busy[endpoint] = busy;
}

static void ep_name(const struct segsched *s, size_t ep, char *buf, size_t len)
{
	if (s->names != NULL)
		snprintf(buf, len, "%s", s->names[ep]);
	else
		snprintf(buf, len, "endpoint %zu", ep);
}

/* Why g cannot run now (an endpoint down or busy), or false. */
static bool blocked(const struct segsched *s, const struct segsched_seg *g,
    char *why, size_t len)
{
	for (size_t i = 0; i < g->nendpoints; i++) {
		size_t ep = g->endpoints[i];
		char name[96];
		if (!s->down[ep] && !s->busy[ep])
			continue;
		ep_name(s, ep, name, sizeof(name));
		snprintf(why, len, "waiting for %s (%s)", name, s->down[ep] ?
		    "down" : "busy: pending compactions over the limit");
		return true;
	}
	return false;
}

static int cmp_fair(const void *a, const void *b, void *arg)
{
	const struct segsched_seg *x = (const struct segsched_seg *)arg +
	    *(const size_t *)a;
	const struct segsched_seg *y = (const struct segsched_seg *)arg +
	    *(const size_t *)b;

	if (x->since != y->since)
		return x->since < y->since ? -1 : 1;
	if (x->attempts != y->attempts)
		return x->attempts < y->attempts ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

size_t segsched_next(struct segsched *s, size_t *started, size_t max)
{
	bool *used, reserved = false;
	size_t *cand, *waited, ncand = 0, nwaited = 0, running = 0, k = 0;

	if (started == NULL || max == 0)
		return 0;
	used = xcalloc(s->nep ? s->nep : 1, sizeof(*used));
	cand = xcalloc(s->n ? s->n : 1, sizeof(*cand));
	waited = xcalloc(s->n ? s->n : 1, sizeof(*waited));
	s->round++;
	for (size_t i = 0; i < s->n; i++) {
		struct segsched_seg *g = &s->segs[i];
		char why[sizeof(g->why)];

		if (g->state == SEGSCHED_RUNNING) {
			running++;
			for (size_t j = 0; j < g->nendpoints; j++)
				used[g->endpoints[j]] = true;
			continue;
		}
		if (g->state != SEGSCHED_PENDING &&
		    g->state != SEGSCHED_POSTPONED)
			continue;
		if (blocked(s, g, why, sizeof(why))) {
			g->state = SEGSCHED_POSTPONED;
			memcpy(g->why, why, sizeof(why));
			continue;
		}
		g->state = SEGSCHED_PENDING;
		if (g->not_before > s->now)
			continue;	/* in its backoff: not a candidate */
		cand[ncand++] = i;
	}
	qsort_r(cand, ncand, sizeof(*cand), cmp_fair, s->segs);
	for (size_t c = 0; c < ncand; c++) {
		struct segsched_seg *g = &s->segs[cand[c]];
		bool free_ = true;

		if (s->cfg.parallelism && running >= s->cfg.parallelism)
			break;
		for (size_t j = 0; j < g->nendpoints && free_; j++)
			free_ = !used[g->endpoints[j]];
		if (!free_) {
			if (!reserved && g->passed >= s->cfg.starve_limit) {
				/* see the top of the file */
				for (size_t j = 0; j < g->nendpoints; j++)
					used[g->endpoints[j]] = true;
				reserved = true;
			}
			waited[nwaited++] = cand[c];
			continue;
		}
		for (size_t j = 0; j < g->nendpoints; j++)
			used[g->endpoints[j]] = true;
		g->state = SEGSCHED_RUNNING;
		g->attempts++;
		g->passed = 0;
		running++;
		started[k++] = g->id;
		/* everything that waited so far was passed over by this one */
		for (size_t w = 0; w < nwaited; w++)
			s->segs[waited[w]].passed++;
		nwaited = 0;
		if (k == max)
			break;
	}
	free(used);
	free(cand);
	free(waited);
	return k;
}

static struct segsched_seg *running_seg(struct segsched *s, size_t id,
    char *err, size_t errlen)
{
	if (id >= s->n) {
		snprintf(err, errlen, "no segment %zu (there are %zu)", id, s->n);
		return NULL;
	}
	if (s->segs[id].state != SEGSCHED_RUNNING) {
		snprintf(err, errlen, "segment %zu is not running: only a "
		    "running segment can end", id);
		return NULL;
	}
	return &s->segs[id];
}

int segsched_done(struct segsched *s, size_t id, char *err, size_t errlen)
{
	struct segsched_seg *g = running_seg(s, id, err, errlen);

	if (g == NULL)
		return -1;
	g->state = SEGSCHED_DONE;
	g->why[0] = '\0';
	return 0;
}

int segsched_fail(struct segsched *s, size_t id, const char *why, char *err,
    size_t errlen)
{
	struct segsched_seg *g = running_seg(s, id, err, errlen);

	if (g == NULL)
		return -1;
	snprintf(g->why, sizeof(g->why), "%s", why ? why : "failed");
	if (g->attempts >= s->cfg.max_attempts) {
		g->state = SEGSCHED_FAILED;
	} else {
		/* a retry queues behind what already waits, after its
		 * backoff: a node that just failed a repair (overloaded,
		 * restarting) is not asked again at once */
		g->state = SEGSCHED_PENDING;
		g->since = s->round;
		g->not_before = s->now + segsched_backoff_ms(s, g->attempts);
	}
	return 0;
}

int segsched_postpone(struct segsched *s, size_t id, const char *why,
    char *err, size_t errlen)
{
	struct segsched_seg *g = running_seg(s, id, err, errlen);

	if (g == NULL)
		return -1;
	g->attempts--;
	g->state = SEGSCHED_POSTPONED;
	snprintf(g->why, sizeof(g->why), "%s", why ? why : "postponed");
	return 0;
}

int segsched_split(struct segsched *s, size_t id, size_t out[2], char *err,
    size_t errlen)
{
	struct segsched_seg *g;
	struct segsched_range *a, *b;
	size_t na, nb;

	if (id >= s->n) {
		snprintf(err, errlen, "no segment %zu (there are %zu)", id, s->n);
		return -1;
	}
	g = &s->segs[id];
	if (g->state == SEGSCHED_DONE || g->state == SEGSCHED_SPLIT) {
		snprintf(err, errlen, "segment %zu is %s: only a segment still "
		    "to repair can be split", id,
		    g->state == SEGSCHED_DONE ? "done" : "already split");
		return -1;
	}
	if (g->nranges == 1) {
		struct segsched_range h[2];
		if (segsched_range_split(g->ranges[0], h) < 0) {
			snprintf(err, errlen, "segment %zu is the single token "
			    "(%" PRId64 ",%" PRId64 "]: it cannot be split", id,
			    g->ranges[0].start, g->ranges[0].end);
			return -1;
		}
		a = xcalloc(1, sizeof(*a));
		b = xcalloc(1, sizeof(*b));
		a[0] = h[0];
		b[0] = h[1];
		na = nb = 1;
	} else {
		/* two runs of whole ranges of about equal width; double is
		 * enough to balance, the ranges themselves stay exact */
		double total = 0, left = 0, best = -1;
		size_t cut = 1;
		for (size_t i = 0; i < g->nranges; i++)
			total += (double)segsched_range_width(g->ranges[i]);
		for (size_t i = 0; i + 1 < g->nranges; i++) {
			double d;
			left += (double)segsched_range_width(g->ranges[i]);
			d = left * 2 > total ? left * 2 - total : total - left * 2;
			if (best < 0 || d < best) {
				best = d;
				cut = i + 1;
			}
		}
		na = cut;
		nb = g->nranges - cut;
		a = xcalloc(na, sizeof(*a));
		b = xcalloc(nb, sizeof(*b));
		memcpy(a, g->ranges, na * sizeof(*a));
		memcpy(b, g->ranges + na, nb * sizeof(*b));
	}
	/* push may move s->segs: take what is needed from g first */
	{
		size_t nep = g->nendpoints, *eps = g->endpoints;
		uint64_t since = g->since;
		struct segsched_seg *x;

		g->state = SEGSCHED_SPLIT;
		x = push(s, a, na, eps, nep);
		x->since = since;
		x->parent = id;
		out[0] = x->id;
		x = push(s, b, nb, s->segs[id].endpoints, nep);
		x->since = since;
		x->parent = id;
		out[1] = x->id;
	}
	free(a);
	free(b);
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct segsched_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

void segsched_report(const struct segsched *s, struct segsched_report *r)
{
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < s->n; i++) {
		const struct segsched_seg *g = &s->segs[i];
		switch (g->state) {
		case SEGSCHED_PENDING: r->pending++; break;
		case SEGSCHED_RUNNING: r->running++; break;
		case SEGSCHED_DONE: r->done++; break;
		case SEGSCHED_FAILED: r->failed++; break;
		case SEGSCHED_POSTPONED: r->postponed++; break;
		case SEGSCHED_SPLIT: r->split++; break;
		}
		if (g->state != SEGSCHED_DONE && g->state != SEGSCHED_SPLIT)
			n += g->nranges;
	}
	if (n == 0)
		return;
	r->unrepaired = xcalloc(n, sizeof(*r->unrepaired));
	for (size_t i = 0; i < s->n; i++) {
		const struct segsched_seg *g = &s->segs[i];
		if (g->state == SEGSCHED_DONE || g->state == SEGSCHED_SPLIT)
			continue;
		memcpy(r->unrepaired + r->nunrepaired, g->ranges,
		    g->nranges * sizeof(*g->ranges));
		r->nunrepaired += g->nranges;
	}
	segsched_ranges_merge(r->unrepaired, &r->nunrepaired);
}

void segsched_ranges_merge(struct segsched_range *v, size_t *n)
{
	size_t k = 0;

	if (*n == 0)
		return;
	qsort(v, *n, sizeof(*v), cmp_range);
	for (size_t i = 1; i < *n; i++) {
		/* a whole-ring range (start == end) takes nothing after it */
		if (v[k].end == v[i].start && v[k].start != v[k].end)
			v[k].end = v[i].end;
		else
			v[++k] = v[i];
	}
	*n = k + 1;
}

void segsched_report_release(struct segsched_report *r)
{
	if (r == NULL)
		return;
	free(r->unrepaired);
	r->unrepaired = NULL;
	r->nunrepaired = 0;
}

bool segsched_finished(const struct segsched *s)
{
	for (size_t i = 0; i < s->n; i++) {
		enum segsched_state st = s->segs[i].state;
		if (st == SEGSCHED_PENDING || st == SEGSCHED_RUNNING ||
		    st == SEGSCHED_POSTPONED)
			return false;
	}
	return true;
}

static int cmp_size(const void *a, const void *b, void *arg)
{
	const size_t *sizes = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (sizes[x] != sizes[y])
		return sizes[x] < sizes[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

size_t segsched_max_parallel_sets(const size_t *const *sets,
    const size_t *sizes, size_t n, size_t nendpoints, size_t *upper)
{
	bool *used = xcalloc(nendpoints ? nendpoints : 1, sizeof(*used));
	bool *any = xcalloc(nendpoints ? nendpoints : 1, sizeof(*any));
	size_t *order = xcalloc(n ? n : 1, sizeof(*order));
	size_t got = 0, distinct = 0, smallest = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		if (sizes[i] > 0 && sizes[i] < smallest)
			smallest = sizes[i];
		for (size_t j = 0; j < sizes[i]; j++) {
			if (sets[i][j] < nendpoints && !any[sets[i][j]]) {
				any[sets[i][j]] = true;
				distinct++;
			}
		}
	}
	qsort_r(order, n, sizeof(*order), cmp_size, (void *)(uintptr_t)sizes);
	for (size_t o = 0; o < n; o++) {
		size_t i = order[o];
		bool ok = sizes[i] > 0;
		for (size_t j = 0; j < sizes[i] && ok; j++)
			ok = sets[i][j] < nendpoints && !used[sets[i][j]];
		if (!ok)
			continue;
		for (size_t j = 0; j < sizes[i]; j++)
			used[sets[i][j]] = true;
		got++;
	}
	if (upper != NULL)
		*upper = smallest == SIZE_MAX ? 0 : distinct / smallest;
	free(used);
	free(any);
	free(order);
	return got;
}

size_t segsched_max_parallel(const struct segsched *s, size_t *upper)
{
	const size_t **sets = xcalloc(s->n ? s->n : 1, sizeof(*sets));
	size_t *sizes = xcalloc(s->n ? s->n : 1, sizeof(*sizes));
	size_t n = 0, got;

	for (size_t i = 0; i < s->n; i++) {
		const struct segsched_seg *g = &s->segs[i];
		if (g->state == SEGSCHED_DONE || g->state == SEGSCHED_SPLIT)
			continue;
		sets[n] = g->endpoints;
		sizes[n++] = g->nendpoints;
	}
	got = segsched_max_parallel_sets(sets, sizes, n, s->nep, upper);
	free(sets);
	free(sizes);
	return got;
}
