/*
 * test_autoscale - the tenant autoscaler, driven by traces on a virtual
 * clock: single decisions with their numbers, the Figure 5.1 shape, no
 * flapping on noisy flat demand, cooldowns, bad input; and the trace
 * parser of autoscale-sim.
 */
#include <math.h>
#include <stdlib.h>

#include "t.h"
#include "../../orchestrator/tenants/autoscale.h"
#include "../../orchestrator/tenants/autoscale_sim.h"

#define S 1000	/* ms */

static void test_fmt(void)
{
	static const struct {
		double v;
		const char *want;
	} rows[] = {
		{ 0, "0" }, { 999, "999" }, { 1000, "1,000" },
		{ 12000, "12,000" }, { 1234567, "1,234,567" },
		{ 99.6, "100" }, { -5, "0" },
	};
	char buf[24];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		autoscale_fmt_ops(rows[i].v, buf, sizeof(buf));
		T_EQ_STR(buf, rows[i].want);
	}
}

/* One decision at a time, each with the state it starts from. */
static void test_steps(void)
{
	static const struct {
		unsigned services;
		double limit;
		int64_t last, low_since, now;
		double demand;
		enum autoscale_action want;
		unsigned services_after;
		double limit_after;
		const char *why;	/* a part of the explanation */
	} rows[] = {
		/* 12,000 serves 10,000 + 10%. */
		{ 3, 4000, 0, -1, 60 * S, 10000, AUTOSCALE_NONE, 3, 4000,
		    "fits capacity 12,000" },
		/* Short: at most x2 a step. */
		{ 3, 4000, 0, -1, 60 * S, 50000, AUTOSCALE_RAISE, 3, 8000,
		    "per-service limit 4,000 -> 8,000, capacity 24,000" },
		/* Short: aim at 75% of the new capacity. */
		{ 3, 40000, 0, -1, 60 * S, 120000, AUTOSCALE_RAISE, 3, 59000,
		    "exceeds capacity 120,000" },
		/* Never above the maximum. */
		{ 3, 90000, 0, -1, 60 * S, 290000, AUTOSCALE_RAISE, 3,
		    100000, "90,000 -> 100,000" },
		/* At the maximum: a service more. */
		{ 3, 100000, 0, -1, 60 * S, 280000, AUTOSCALE_ADD, 4, 100000,
		    "adding a service, 4 x 100,000 = 400,000" },
		/* Short, but the last change was 10 s ago. */
		{ 3, 4000, 50 * S, -1, 60 * S, 50000, AUTOSCALE_NONE, 3, 4000,
		    "20s of cooldown left" },
		/* At the most this tenant may have. */
		{ 16, 100000, 0, -1, 60 * S, 2e6, AUTOSCALE_NONE, 16, 100000,
		    "raise max_services or max_limit" },
		/* Low, but not for 5 minutes yet. */
		{ 4, 100000, 0, 500 * S, 600 * S, 40000, AUTOSCALE_NONE, 4,
		    100000, "for 100s of the 300s" },
		/* Low for 5 minutes: a service fewer first. */
		{ 4, 100000, 0, 300 * S, 600 * S, 40000, AUTOSCALE_REMOVE, 3,
		    100000, "removing a service, 3 left, capacity 300,000" },
		/* At the minimum: the limit, halved at most. */
		{ 3, 100000, 0, 300 * S, 600 * S, 40000, AUTOSCALE_LOWER, 3,
		    50000, "100,000 -> 50,000" },
		/* ... to 75% of capacity, never under the default. */
		{ 3, 8000, 0, 300 * S, 600 * S, 1000, AUTOSCALE_LOWER, 3,
		    4000, "8,000 -> 4,000" },
		/* Low for long enough, but the last change was 60 s ago. */
		{ 3, 100000, 540 * S, 0, 600 * S, 40000, AUTOSCALE_NONE, 3,
		    100000, "60s of cooldown left" },
		/* Already the minimum: nothing to lower. */
		{ 3, 4000, 0, 0, 600 * S, 0, AUTOSCALE_NONE, 3, 4000,
		    "fits capacity 12,000" },
	};
	struct autoscale_policy pol;
	char err[256];

	autoscale_policy_default(&pol);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct autoscale_state in = { rows[i].services, rows[i].limit,
		    rows[i].last, rows[i].low_since }, out;
		struct autoscale_decision d;
		int rc = autoscale_decide(&pol, &in, rows[i].demand,
		    rows[i].now, &out, &d, err, sizeof(err));

		T_CHECK(rc == 0, "row %zu: %s", i, err);
		T_CHECK(d.action == rows[i].want, "row %zu: %s, want %s (%s)",
		    i, autoscale_action_name(d.action),
		    autoscale_action_name(rows[i].want), d.why);
		T_EQ_INT(out.services, rows[i].services_after);
		T_EQ_INT(d.services, rows[i].services_after);
		T_CHECK(out.limit == rows[i].limit_after, "row %zu: limit "
		    "%g, want %g", i, out.limit, rows[i].limit_after);
		T_CHECK(d.capacity == out.services * out.limit, "row %zu", i);
		T_CHECK(strstr(d.why, rows[i].why) != NULL, "row %zu: '%s' "
		    "lacks '%s'", i, d.why, rows[i].why);
		T_EQ_INT(out.last_change_ms, d.action == AUTOSCALE_NONE ?
		    rows[i].last : rows[i].now);
	}
}

static void test_bad_input(void)
{
	struct autoscale_policy pol, bad;
	struct autoscale_state in, out = { 99, 99, 99, 99 };
	struct autoscale_decision d;
	char err[256];

	autoscale_policy_default(&pol);
	autoscale_state_init(&pol, &in, 1000 * S);
	T_EQ_INT(autoscale_decide(&pol, &in, -1, 1001 * S, &out, &d, err,
	    sizeof(err)), -1);
	T_CHECK(strstr(err, "demand -1 is not a rate") != NULL, "%s", err);
	T_EQ_INT(autoscale_decide(&pol, &in, NAN, 1001 * S, &out, &d, err,
	    sizeof(err)), -1);
	T_EQ_INT(autoscale_decide(&pol, &in, INFINITY, 1001 * S, &out, &d,
	    err, sizeof(err)), -1);
	T_EQ_INT(autoscale_decide(&pol, &in, 5, 999 * S, &out, &d, err,
	    sizeof(err)), -1);
	T_CHECK(strstr(err, "before the last change") != NULL, "%s", err);
	bad = pol;
	bad.low_use = 0.8;
	T_EQ_INT(autoscale_decide(&bad, &in, 5, 1001 * S, &out, &d, err,
	    sizeof(err)), -1);
	T_CHECK(strstr(err, "give 0 < low < target < 1") != NULL, "%s", err);
	bad = pol;
	bad.max_services = 2;
	T_EQ_INT(autoscale_policy_check(&bad, err, sizeof(err)), -1);
	bad = pol;
	bad.max_limit = 1000;
	T_EQ_INT(autoscale_policy_check(&bad, err, sizeof(err)), -1);
	bad = pol;
	bad.raise_factor = 1;
	T_EQ_INT(autoscale_policy_check(&bad, err, sizeof(err)), -1);
	bad = pol;
	bad.up_cooldown_ms = -1;
	T_EQ_INT(autoscale_policy_check(&bad, err, sizeof(err)), -1);
	in.services = 0;
	T_EQ_INT(autoscale_decide(&pol, &in, 5, 1001 * S, &out, &d, err,
	    sizeof(err)), -1);
	/* Nothing was written on any of them. */
	T_EQ_INT(out.services, 99);
	T_EQ_INT(out.last_change_ms, 99);
	T_EQ_INT(autoscale_policy_check(&pol, err, sizeof(err)), 0);
}

static uint64_t rng = 88172645463325252ULL;

static double noise(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;	/* [0, 1) */
}

/* Flat demand with +-20% noise every 10 s for 6 hours, at several levels:
 * once settled (the first hour), the controller does nothing at all. */
static void test_no_flapping(void)
{
	static const double levels[] = { 2000, 9000, 50000, 180000, 290000,
	    350000, 700000 };
	struct autoscale_policy pol;
	char err[256];

	autoscale_policy_default(&pol);
	for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
		struct autoscale_state st;
		int late = 0, changes = 0, reversals = 0;
		enum autoscale_action last = AUTOSCALE_NONE;

		autoscale_state_init(&pol, &st, 0);
		for (int64_t t = 10 * S; t <= 6 * 3600 * S; t += 10 * S) {
			struct autoscale_decision d;
			double dem = levels[l] * (0.8 + 0.4 * noise());

			if (autoscale_decide(&pol, &st, dem, t, &st, &d, err,
			    sizeof(err)) < 0) {
				T_CHECK(0, "%s", err);
				break;
			}
			if (d.action == AUTOSCALE_NONE)
				continue;
			changes++;
			late += t > 3600 * S;
			/* Up then down (or down then up) is a flap. */
			reversals += (last == AUTOSCALE_RAISE ||
			    last == AUTOSCALE_ADD) !=
			    (d.action == AUTOSCALE_RAISE ||
			    d.action == AUTOSCALE_ADD) &&
			    last != AUTOSCALE_NONE;
			last = d.action;
		}
		T_CHECK(late == 0, "level %g: %d changes after the first hour",
		    levels[l], late);
		T_CHECK(reversals == 0, "level %g: %d reversals", levels[l],
		    reversals);
		/* And it does serve the level. */
		T_CHECK(autoscale_capacity(&st) >= levels[l] * 1.2 ||
		    st.services == pol.max_services, "level %g: capacity %g",
		    levels[l], autoscale_capacity(&st));
		T_CHECK(levels[l] > 10000 || changes <= 1, "level %g: %d "
		    "changes", levels[l], changes);
	}
}

/* The shipped Figure 5.1 trace's shape, held in the test so it fails
 * when the policy changes the shape, not when the file is edited. */
static const char fig51[] =
    "# Figure 5.1\n0s 3000\n10m 8000\n20m 12000\n40m 60000\n"
    "60m 150000\n80m 260000\n90m 330000\n100m 345000\n120m 340000\n"
    "130m 200000\n140m 100000\n150m 50000\n170m 30000\n190m 8000\n"
    "210m 3000\n240m 3000\n";

static void test_figure(void)
{
	struct autoscale_policy pol;
	struct autoscale_sim_sample *s;
	struct autoscale_sim_row *r;
	size_t n, nr, add = 0, most = 0;
	char err[256];

	autoscale_policy_default(&pol);
	T_CHECK(autoscale_sim_parse(fig51, "fig51", &s, &n, err,
	    sizeof(err)) == 0, "%s", err);
	T_EQ_INT(n, 16);
	T_CHECK(autoscale_sim_run(&pol, s, n, 10 * S, &r, &nr, err,
	    sizeof(err)) == 0, "%s", err);
	T_CHECK(nr > 5, "%zu rows", nr);
	if (nr <= 5)
		goto out;
	T_CHECK(r[0].d.capacity == 12000, "start %g", r[0].d.capacity);
	for (size_t i = 1; i < nr; i++) {
		if (r[i].d.action == AUTOSCALE_ADD && add == 0)
			add = i;
		if (r[i].d.services > most)
			most = r[i].d.services;
		/* Up until the peak, down after it: never both ways. */
		if (r[i].t_ms <= 100 * 60 * S)
			T_CHECK(r[i].d.capacity > r[i - 1].d.capacity,
			    "row %zu goes down before the peak", i);
		else
			T_CHECK(r[i].d.capacity < r[i - 1].d.capacity,
			    "row %zu goes up after the peak", i);
	}
	T_CHECK(add > 1, "no service added");
	T_EQ_INT(most, 4);
	if (add > 1) {
		T_CHECK(r[add - 1].d.capacity == 300000 &&
		    r[add - 1].d.services == 3, "before the 4th service: %u x "
		    "%g", r[add - 1].d.services, r[add - 1].d.limit);
		for (size_t i = 1; i < add; i++)
			T_CHECK(r[i].d.action == AUTOSCALE_RAISE &&
			    r[i].d.limit <= 2 * r[i - 1].d.limit, "row %zu", i);
	}
	T_EQ_INT(r[nr - 1].d.services, 3);
	T_CHECK(r[nr - 1].d.limit == 4000, "ends at %g", r[nr - 1].d.limit);
	free(r);
out:
	free(s);
}

static void test_parse(void)
{
	static const struct {
		const char *text;
		const char *err;	/* NULL: parses */
		size_t n;
		int64_t last_ms;
		double last_demand;
	} rows[] = {
		{ "0s 3000\n10m 12000\n", NULL, 2, 600 * S, 12000 },
		{ "# c\n\n  0 1.5 # a comment\n\t90\t2e3\r\n", NULL, 2, 90 * S,
		    2000 },
		{ "5s 1", NULL, 1, 5 * S, 1 },
		{ "", "t: no samples", 0, 0, 0 },
		{ "# only\n\n", "t: no samples", 0, 0, 0 },
		{ "0s 3000\n10m\n", "t:2: expected a time and a demand", 0, 0,
		    0 },
		{ "0s 3000 7\n", "t:1: expected a time and a demand", 0, 0, 0 },
		{ "0s -3\n", "t:1: demand '-3' is not a rate", 0, 0, 0 },
		{ "0s abc\n", "t:1: demand 'abc' is not a rate", 0, 0, 0 },
		{ "0s 12x\n", "t:1: demand '12x' is not a rate", 0, 0, 0 },
		{ "0s nan\n", "t:1: demand 'nan' is not a rate", 0, 0, 0 },
		{ "0s 1e999\n", "t:1: demand '1e999' is not a rate", 0, 0, 0 },
		{ "1h30m 5\n", "t:1: time '1h30m' is not a duration", 0, 0, 0 },
		{ "-5 5\n", "t:1: time '-5' is not a duration", 0, 0, 0 },
		{ "10s 1\n10s 2\n", "t:2: time '10s' is not after the "
		    "previous sample's 10s", 0, 0, 0 },
		{ "10m 1\n5m 2\n", "t:2: time '5m' is not after", 0, 0, 0 },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct autoscale_sim_sample *s = (void *)1;
		size_t n = 99;
		int rc;

		err[0] = '\0';
		rc = autoscale_sim_parse(rows[i].text, "t", &s, &n, err,
		    sizeof(err));
		if (rows[i].err == NULL) {
			T_CHECK(rc == 0, "row %zu: %s", i, err);
			T_EQ_INT(n, rows[i].n);
			if (rc == 0) {
				T_EQ_INT(s[n - 1].t_ms, rows[i].last_ms);
				T_CHECK(s[n - 1].demand == rows[i].last_demand,
				    "row %zu: %g", i, s[n - 1].demand);
			}
		} else {
			T_CHECK(rc == -1, "row %zu parsed", i);
			T_CHECK(strstr(err, rows[i].err) != NULL, "row %zu: "
			    "'%s' lacks '%s'", i, err, rows[i].err);
			T_CHECK(s == NULL && n == 0, "row %zu", i);
		}
		free(s);
	}
}

static void test_interpolate(void)
{
	const struct autoscale_sim_sample s[] = { { 10 * S, 100 },
	    { 20 * S, 200 }, { 40 * S, 0 } };

	T_CHECK(autoscale_sim_demand(s, 3, 0) == 100, "before the first");
	T_CHECK(autoscale_sim_demand(s, 3, 15 * S) == 150, "between");
	T_CHECK(autoscale_sim_demand(s, 3, 20 * S) == 200, "on a sample");
	T_CHECK(autoscale_sim_demand(s, 3, 30 * S) == 100, "falling");
	T_CHECK(autoscale_sim_demand(s, 3, 99 * S) == 0, "after the last");
	T_CHECK(autoscale_sim_demand(s, 1, 99 * S) == 100, "one sample");
}

int main(void)
{
	test_fmt();
	test_steps();
	test_bad_input();
	test_no_flapping();
	test_figure();
	test_parse();
	test_interpolate();
	return t_done("test_autoscale");
}
