/*
 * autoscale.h - the tenant autoscaler's policy as a pure function.
 *
 * A tenant is served by some services, each letting it through at a
 * per-service limit (ops/s); capacity = services x limit.  Given the state,
 * one demand sample and the time, autoscale_decide() says what to do next:
 * raise or lower the per-service limit, add or remove a service, or
 * nothing, with a sentence that explains why.  No clock, no I/O: the
 * orchestrator's controller and `ringmaster autoscale-sim` call the same
 * function, and a test replays a trace and gets the same decisions.
 *
 * The policy (the serverless paper's Figure 5.1): start at min_services x
 * default_limit (3 x 4,000); when demand plus headroom exceeds capacity,
 * raise the limit (at most raise_factor times a step) up to max_limit
 * (100,000), and only when the services at their maximum cannot serve it,
 * add a service.  When demand plus headroom stays below low_use of
 * capacity for down_after, remove a service if the others can serve it,
 * else lower the limit (at most raise_factor times a step), down to the
 * minimum.  Every change aims at target_use of capacity, between low_use
 * and 1, so the next sample of a steady demand triggers nothing; cooldowns
 * space the changes out.
 */
#ifndef RM_AUTOSCALE_H
#define RM_AUTOSCALE_H

#include <stddef.h>
#include <stdint.h>

struct autoscale_policy {
	unsigned min_services, max_services;	/* 3, 16 */
	double default_limit, max_limit;	/* per service: 4,000, 100,000 */
	double headroom;	/* 0.1: demand x 1.1 is what must be served */
	double raise_factor;	/* 2: a limit moves at most x2 (or /2) a step */
	double target_use;	/* 0.75: a change aims at this share of capacity */
	double low_use;		/* 0.5: below this share, scale down */
	int64_t up_cooldown_ms;		/* 30 s after any change */
	int64_t down_cooldown_ms;	/* 2 min after any change */
	int64_t down_after_ms;		/* demand low for 5 min before a step down */
};

/* The defaults above. */
void autoscale_policy_default(struct autoscale_policy *pol);
/* 0, or -1 with err naming the first field out of range and why. */
int autoscale_policy_check(const struct autoscale_policy *pol, char *err,
    size_t errlen);

struct autoscale_state {
	unsigned services;
	double limit;		/* per service, ops/s */
	int64_t last_change_ms;	/* when the last change was decided */
	int64_t low_since_ms;	/* since when demand is low; -1: it is not */
};

/* min_services at default_limit, as if changed at now_ms. */
void autoscale_state_init(const struct autoscale_policy *pol,
    struct autoscale_state *st, int64_t now_ms);

static inline double autoscale_capacity(const struct autoscale_state *st)
{
	return (double)st->services * st->limit;
}

enum autoscale_action {
	AUTOSCALE_NONE,
	AUTOSCALE_RAISE,	/* per-service limit up */
	AUTOSCALE_LOWER,	/* per-service limit down */
	AUTOSCALE_ADD,		/* one more service */
	AUTOSCALE_REMOVE,	/* one service fewer */
};

/* "none", "raise", "lower", "add", "remove". */
const char *autoscale_action_name(enum autoscale_action a);

struct autoscale_decision {
	enum autoscale_action action;
	unsigned services;	/* after the decision */
	double limit, capacity;	/* after the decision */
	char why[512];		/* for people: the numbers behind it */
};

/*
 * The decision for demand (ops/s) at now_ms, from state *in: *out gets the
 * state after it (in and out may be the same), *d the decision.  -1 with
 * err, and nothing written, when demand is negative or not a number, now_ms
 * is before the last change, or the policy or the state is out of range.
 */
int autoscale_decide(const struct autoscale_policy *pol,
    const struct autoscale_state *in, double demand, int64_t now_ms,
    struct autoscale_state *out, struct autoscale_decision *d, char *err,
    size_t errlen);

/* ops/s with thousands separators, rounded: "12,000". */
void autoscale_fmt_ops(double ops, char *buf, size_t size);

#endif
