/*
 * segsched.h - the scheduler of repair segments: which segments may run now
 * so that no endpoint takes part in two running repairs.  Pure state, no
 * I/O, no clock, no threads (the caller serialises calls): the caller says
 * what ended, which endpoints are down or busy, what time it is
 * (segsched_set_now: its own clock, in ms), and asks what to start.
 *
 * Endpoints are small integers (indices into replicas_map.endpoints, see
 * replicas.h).  The repair task's scheduled step drives it (repair_par.h;
 * docs/repair.md, "Parallel repair: the scheduled step").
 */
#ifndef RM_SEGSCHED_H
#define RM_SEGSCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* (start, end] on the Murmur3 ring; start == end is the whole ring. */
struct segsched_range {
	int64_t start, end;
};

enum segsched_state {
	SEGSCHED_PENDING,	/* waits for its endpoints to be free */
	SEGSCHED_RUNNING,
	SEGSCHED_DONE,
	SEGSCHED_FAILED,	/* out of attempts */
	SEGSCHED_POSTPONED,	/* an endpoint is down or busy; runs when back */
	SEGSCHED_SPLIT,		/* replaced by two halves (segsched_split) */
};

struct segsched_seg {
	size_t id;			/* its index: ids are 0, 1, 2, ... */
	struct segsched_range *ranges;
	size_t nranges;
	size_t *endpoints;		/* its replica set, distinct */
	size_t nendpoints;
	enum segsched_state state;
	unsigned attempts;		/* starts, less postponements */
	uint64_t since;			/* round it became pending (age) */
	unsigned passed;		/* younger segments started while it
					 * waited, since it last started */
	size_t parent;			/* split from, or SIZE_MAX */
	int64_t not_before;		/* the caller's clock: a failed segment
					 * waits its backoff until then (0:
					 * no wait) */
	char why[200];			/* last postponement or failure */
};

struct segsched_cfg {
	unsigned parallelism;	/* most segments running at once; 0: as
				 * many as disjoint replica sets allow */
	unsigned max_attempts;	/* a segment fails for good after this many
				 * failed attempts; 0: 3 */
	unsigned starve_limit;	/* a waiting segment passed over this many
				 * times reserves its endpoints; 0: 8 */
	/* A failed segment does not start again before the caller's clock
	 * passes now + backoff: retry_backoff_ms after its first failure,
	 * doubling after each next one, at most retry_backoff_max_ms.
	 * 0: 5 s and 5 min; retry_backoff_ms < 0: no wait. */
	int64_t retry_backoff_ms;
	int64_t retry_backoff_max_ms;
};

struct segsched;

/*
 * A scheduler over endpoints 0 .. nendpoints-1.  names (may be NULL; copied)
 * are used only in messages.  cfg NULL: the defaults.
 */
struct segsched *segsched_new(size_t nendpoints, const char *const *names,
    const struct segsched_cfg *cfg);
void segsched_free(struct segsched *s);

/*
 * Add a pending segment of ranges (copied; at least one, none empty) whose
 * replicas are endpoints (copied; at least one, distinct, < nendpoints).
 * Its id in *id.  0, or -1 with err and nothing added.
 */
int segsched_add(struct segsched *s, const struct segsched_range *ranges,
    size_t nranges, const size_t *endpoints, size_t nendpoints, size_t *id,
    char *err, size_t errlen);

size_t segsched_count(const struct segsched *s);
/* NULL for an unknown id.  Valid until the next segsched_add or
 * segsched_split (they may move the segments). */
const struct segsched_seg *segsched_get(const struct segsched *s, size_t id);

/* Flags the caller keeps current: a down endpoint (not alive), a busy one
 * (pending compactions over the limit).  Unknown endpoints are ignored. */
void segsched_set_down(struct segsched *s, size_t endpoint, bool down);
void segsched_set_busy(struct segsched *s, size_t endpoint, bool busy);
/*
 * The caller's clock (ms, any origin, never going back) for the calls
 * that follow: segsched_fail() sets the failed segment's not_before from
 * it, segsched_next() starts no segment before its not_before.  Starts at
 * 0: set it before the first failure.
 */
void segsched_set_now(struct segsched *s, int64_t now_ms);
/* The backoff after a segment's n-th failed attempt (n >= 1) under cfg
 * (defaults applied): what segsched_fail adds to the clock. */
int64_t segsched_backoff_ms(const struct segsched *s, unsigned n);
/* The earliest not_before of a segment still in its backoff, or
 * INT64_MAX when none waits: when to ask again. */
int64_t segsched_next_retry(const struct segsched *s);

/*
 * One scheduling round: postpone the waiting segments that have an endpoint
 * down or busy, take back the postponed ones whose endpoints are all back,
 * and start waiting segments (RUNNING, attempts + 1) oldest first, then
 * fewest attempts, then lowest id, as long as none of their endpoints is in
 * a running segment and fewer than parallelism run.  A segment in its
 * backoff (not_before after the clock) waits, pending.  The oldest segment
 * passed over starve_limit times holds its free endpoints for itself, so
 * younger segments cannot keep it waiting for ever.  Starts at most max
 * (0 or started NULL: none), writes their ids to started and returns how
 * many.  Deterministic.
 */
size_t segsched_next(struct segsched *s, size_t *started, size_t max);

/* A running segment ended: repaired; failed (pending again, not before the
 * clock + its backoff, or FAILED once it has had max_attempts); or postponed (not counted as an attempt: an
 * endpoint was found not alive, say).  0, or -1 with err when id is not
 * running. */
int segsched_done(struct segsched *s, size_t id, char *err, size_t errlen);
int segsched_fail(struct segsched *s, size_t id, const char *why, char *err,
    size_t errlen);
int segsched_postpone(struct segsched *s, size_t id, const char *why,
    char *err, size_t errlen);

/*
 * Cut range r in two halves that together are exactly r: (start, mid] and
 * (mid, end], mid half way (the wrap-around and the whole ring included).
 * -1 when r holds a single token (it cannot be split).
 */
int segsched_range_split(struct segsched_range r, struct segsched_range out[2]);

/* Tokens in (start, end]: the whole ring is 2^64, returned as UINT64_MAX. */
uint64_t segsched_range_width(struct segsched_range r);
/* Sort v by start (then end) and merge adjacent ranges, (a,b] (b,c] into
 * (a,c], in place; *n becomes the count left. */
void segsched_ranges_merge(struct segsched_range *v, size_t *n);

/*
 * Replace a segment that is not done (a running one the caller has
 * cancelled, after a timeout say) by two pending halves with its replicas
 * and its age: several ranges are cut into two runs of about equal width,
 * one range into its two halves.  The halves' ids in out.  0, or -1 with err
 * (a single token, a done or already split segment).
 */
int segsched_split(struct segsched *s, size_t id, size_t out[2], char *err,
    size_t errlen);

struct segsched_report {
	size_t pending, running, done, failed, postponed, split;
	/* ranges of every segment not done (and not split), sorted by start,
	 * adjacent ones merged; caller frees with segsched_report_release */
	struct segsched_range *unrepaired;
	size_t nunrepaired;
};
void segsched_report(const struct segsched *s, struct segsched_report *r);
void segsched_report_release(struct segsched_report *r);

/* True when nothing is pending, running or postponed. */
bool segsched_finished(const struct segsched *s);

/*
 * The most segments of these replica sets that can run at once (no
 * endpoint shared): greedy, smallest sets first, so the answer is always
 * reachable and a lower bound of the optimum; *upper (may be NULL) gets an
 * upper bound, (distinct endpoints) / (smallest set).  When both agree the
 * answer is exact.  Endpoints must be < nendpoints.
 */
size_t segsched_max_parallel_sets(const size_t *const *sets,
    const size_t *sizes, size_t n, size_t nendpoints, size_t *upper);
/* The same over the scheduler's segments that are not done or split. */
size_t segsched_max_parallel(const struct segsched *s, size_t *upper);

#endif
