/*
 * autoscale.c - the tenant autoscaler's policy (see autoscale.h).
 *
 * Why it does not flap: every change aims at target_use (0.75) of the new
 * capacity, which is inside the band where nothing happens (above low_use,
 * 0.5, and below 1), so a steady demand, noisy by less than that band,
 * meets no threshold after a change.  Scaling down also needs the demand
 * low for down_after, and a longer cooldown than scaling up: being short of
 * capacity hurts the tenant at once, too much of it only costs.
 */
#include "autoscale.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../common/util.h"

/* Limits move in whole thousands of ops/s: easier to read and to
 * compare in a limits file. */
#define LIMIT_STEP 1000.0

void autoscale_policy_default(struct autoscale_policy *pol)
{
	pol->min_services = 3;
	pol->max_services = 16;
	pol->default_limit = 4000;
	pol->max_limit = 100000;
	pol->headroom = 0.1;
	pol->raise_factor = 2;
	pol->target_use = 0.75;
	pol->low_use = 0.5;
	pol->up_cooldown_ms = 30 * 1000;
	pol->down_cooldown_ms = 120 * 1000;
	pol->down_after_ms = 300 * 1000;
}

int autoscale_policy_check(const struct autoscale_policy *pol, char *err,
    size_t errlen)
{
	if (pol->min_services < 1 || pol->max_services < pol->min_services) {
		err_set(err, errlen, "services from %u to %u: give at least 1 "
		    "and a maximum no lower than the minimum",
		    pol->min_services, pol->max_services);
		return -1;
	}
	if (!(pol->default_limit > 0) || !(pol->max_limit >=
	    pol->default_limit) || !isfinite(pol->max_limit)) {
		err_set(err, errlen, "per-service limits from %g to %g: give "
		    "a default above 0 and a maximum no lower than it",
		    pol->default_limit, pol->max_limit);
		return -1;
	}
	if (!(pol->headroom >= 0 && pol->headroom <= 10)) {
		err_set(err, errlen, "headroom %g is out of range: give 0 to "
		    "10 (a share of demand)", pol->headroom);
		return -1;
	}
	if (!(pol->raise_factor > 1 && pol->raise_factor <= 100)) {
		err_set(err, errlen, "raise factor %g is out of range: give "
		    "more than 1, at most 100", pol->raise_factor);
		return -1;
	}
	/* The dead band between the two is what keeps it from flapping. */
	if (!(pol->low_use > 0 && pol->low_use < pol->target_use &&
	    pol->target_use < 1)) {
		err_set(err, errlen, "low use %g and target use %g: give 0 < "
		    "low < target < 1", pol->low_use, pol->target_use);
		return -1;
	}
	if (pol->up_cooldown_ms < 0 || pol->down_cooldown_ms < 0 ||
	    pol->down_after_ms < 0) {
		err_set(err, errlen, "a cooldown is negative: give 0 or more");
		return -1;
	}
	return 0;
}

void autoscale_state_init(const struct autoscale_policy *pol,
    struct autoscale_state *st, int64_t now_ms)
{
	st->services = pol->min_services;
	st->limit = pol->default_limit;
	st->last_change_ms = now_ms;
	st->low_since_ms = -1;
}

const char *autoscale_action_name(enum autoscale_action a)
{
	switch (a) {
	case AUTOSCALE_NONE:
		return "none";
	case AUTOSCALE_RAISE:
		return "raise";
	case AUTOSCALE_LOWER:
		return "lower";
	case AUTOSCALE_ADD:
		return "add";
	case AUTOSCALE_REMOVE:
		return "remove";
	}
	return "?";
}

void autoscale_fmt_ops(double ops, char *buf, size_t size)
{
	char digits[32], out[48];
	size_t n, o = 0;

	snprintf(digits, sizeof(digits), "%.0f", ops < 0 ? 0 : ops);
	n = strlen(digits);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	str_copy(buf, out, size);
}

static double round_up(double v)
{
	return ceil(v / LIMIT_STEP) * LIMIT_STEP;
}

int autoscale_decide(const struct autoscale_policy *pol,
    const struct autoscale_state *in, double demand, int64_t now_ms,
    struct autoscale_state *out, struct autoscale_decision *d, char *err,
    size_t errlen)
{
	struct autoscale_state st = *in;
	char dem[24], need_s[24], cap_s[24], new_s[24], a[24], b[24];
	double need, cap, lim;
	int pct;

	if (autoscale_policy_check(pol, err, errlen) < 0)
		return -1;
	if (!isfinite(demand) || demand < 0) {
		err_set(err, errlen, "demand %g is not a rate: give ops/s, 0 "
		    "or more", demand);
		return -1;
	}
	if (now_ms < in->last_change_ms) {
		err_set(err, errlen, "time %lld ms is before the last change "
		    "(%lld ms): samples go in time order",
		    (long long)now_ms, (long long)in->last_change_ms);
		return -1;
	}
	if (in->services < 1 || !(in->limit > 0)) {
		err_set(err, errlen, "state of %u services at %g ops/s is not "
		    "one the policy makes: start from autoscale_state_init()",
		    in->services, in->limit);
		return -1;
	}

	memset(d, 0, sizeof(*d));
	d->action = AUTOSCALE_NONE;
	need = demand * (1 + pol->headroom);
	cap = autoscale_capacity(&st);
	pct = (int)lround(pol->headroom * 100);
	autoscale_fmt_ops(demand, dem, sizeof(dem));
	autoscale_fmt_ops(need, need_s, sizeof(need_s));
	autoscale_fmt_ops(cap, cap_s, sizeof(cap_s));

	if (need > cap) {
		int64_t wait = st.last_change_ms + pol->up_cooldown_ms - now_ms;

		st.low_since_ms = -1;
		if (wait > 0) {
			snprintf(d->why, sizeof(d->why), "demand %s (%s with "
			    "%d%% headroom) exceeds capacity %s; %llds of "
			    "cooldown left", dem, need_s, pct, cap_s,
			    (long long)((wait + 999) / 1000));
		} else if (st.limit < pol->max_limit) {
			lim = round_up(need / pol->target_use / st.services);
			lim = fmin(lim, round_up(st.limit * pol->raise_factor));
			lim = fmin(fmax(lim, st.limit + LIMIT_STEP),
			    pol->max_limit);
			autoscale_fmt_ops(st.limit, a, sizeof(a));
			autoscale_fmt_ops(lim, b, sizeof(b));
			d->action = AUTOSCALE_RAISE;
			st.limit = lim;
			autoscale_fmt_ops(autoscale_capacity(&st), new_s,
			    sizeof(new_s));
			snprintf(d->why, sizeof(d->why), "demand %s (%s with "
			    "%d%% headroom) exceeds capacity %s: per-service "
			    "limit %s -> %s, capacity %s", dem, need_s, pct,
			    cap_s, a, b, new_s);
		} else if (st.services < pol->max_services) {
			autoscale_fmt_ops(pol->max_limit, a, sizeof(a));
			d->action = AUTOSCALE_ADD;
			st.services++;
			autoscale_fmt_ops(autoscale_capacity(&st), b,
			    sizeof(b));
			snprintf(d->why, sizeof(d->why), "demand %s (%s with "
			    "%d%% headroom) exceeds what %u services serve at "
			    "their maximum (%s): adding a service, %u x %s = "
			    "%s", dem, need_s, pct, st.services - 1, cap_s,
			    st.services, a, b);
		} else {
			snprintf(d->why, sizeof(d->why), "demand %s (%s with "
			    "%d%% headroom) exceeds the most this tenant may "
			    "have (%u services, %s): raise max_services or "
			    "max_limit", dem, need_s, pct, st.services, cap_s);
		}
	} else if (need < pol->low_use * cap &&
	    (st.services > pol->min_services || st.limit > pol->default_limit)) {
		int64_t low, wait;

		if (st.low_since_ms < 0)
			st.low_since_ms = now_ms;
		low = now_ms - st.low_since_ms;
		wait = st.last_change_ms + pol->down_cooldown_ms - now_ms;
		if (low < pol->down_after_ms) {
			snprintf(d->why, sizeof(d->why), "demand %s (%s with "
			    "headroom) is under %d%% of capacity %s for %llds "
			    "of the %llds before scaling down", dem, need_s,
			    (int)lround(pol->low_use * 100), cap_s,
			    (long long)(low / 1000),
			    (long long)(pol->down_after_ms / 1000));
		} else if (wait > 0) {
			snprintf(d->why, sizeof(d->why), "demand %s is low; "
			    "%llds of cooldown left", dem,
			    (long long)((wait + 999) / 1000));
		} else if (st.services > pol->min_services &&
		    need <= pol->target_use * (st.services - 1) * st.limit) {
			d->action = AUTOSCALE_REMOVE;
			st.services--;
			autoscale_fmt_ops(autoscale_capacity(&st), b,
			    sizeof(b));
			snprintf(d->why, sizeof(d->why), "demand %s (%s with "
			    "headroom) is under %d%% of capacity %s: removing "
			    "a service, %u left, capacity %s", dem, need_s,
			    (int)lround(pol->low_use * 100), cap_s,
			    st.services, b);
		} else {
			lim = round_up(need / pol->target_use / st.services);
			lim = fmax(lim, round_up(st.limit / pol->raise_factor));
			lim = fmax(lim, pol->default_limit);
			if (lim < st.limit) {
				autoscale_fmt_ops(st.limit, a, sizeof(a));
				autoscale_fmt_ops(lim, b, sizeof(b));
				d->action = AUTOSCALE_LOWER;
				st.limit = lim;
				autoscale_fmt_ops(autoscale_capacity(&st),
				    new_s, sizeof(new_s));
				snprintf(d->why, sizeof(d->why), "demand %s (%s "
				    "with headroom) is under %d%% of capacity "
				    "%s: per-service limit %s -> %s, capacity "
				    "%s", dem, need_s,
				    (int)lround(pol->low_use * 100), cap_s, a,
				    b, new_s);
			} else {
				snprintf(d->why, sizeof(d->why), "demand %s is "
				    "low, but neither a lower limit nor one "
				    "service fewer keeps %d%% headroom", dem,
				    pct);
			}
		}
		if (d->action != AUTOSCALE_NONE)
			st.low_since_ms = -1;
	} else {
		st.low_since_ms = -1;
		snprintf(d->why, sizeof(d->why), "demand %s (%s with %d%% "
		    "headroom) fits capacity %s", dem, need_s, pct, cap_s);
	}
	if (d->action != AUTOSCALE_NONE)
		st.last_change_ms = now_ms;
	d->services = st.services;
	d->limit = st.limit;
	d->capacity = autoscale_capacity(&st);
	*out = st;
	return 0;
}
