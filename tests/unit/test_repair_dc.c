/*
 * test_repair_dc.c - datacenter-local repair's replica sets
 * (orchestrator/tasks/repair_dc.c): on rings of two and three dcs from
 * replicas.c (NetworkTopologyStrategy with a different RF per dc, and
 * SimpleStrategy whose replicas cross dcs), the replicas of every range
 * restricted to the dcs asked, in Cassandra's order; ranges left with one
 * replica; unknown dcs named with the ring's; params.datacenter read as a
 * name or a list.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../orchestrator/tasks/repair_dc.h"
#include "../../orchestrator/tasks/replicas.h"
#include "t.h"

/* 6 endpoints, one token each, dcs alternating: 10.0.0.1 dc1, .2 dc2, ... */
static const struct replicas_token ring2[] = {
	{ -9000, "10.0.0.1", "dc1", "r1" }, { -6000, "10.0.0.2", "dc2", "r1" },
	{ -3000, "10.0.0.3", "dc1", "r1" }, { 0, "10.0.0.4", "dc2", "r1" },
	{ 3000, "10.0.0.5", "dc1", "r1" }, { 6000, "10.0.0.6", "dc2", "r1" },
};

/* "10.0.0.1,10.0.0.3" of the replicas of range i restricted to dcs. */
static char *restricted(const struct replicas_map *m, size_t i,
    const char *const *dcs, size_t ndcs)
{
	size_t out[16], n = repair_dc_replicas(m, &m->ranges[i], dcs, ndcs, out);
	char *s = xstrdup(""), *t;

	for (size_t k = 0; k < n; k++) {
		t = xasprintf("%s%s%s", s, k ? "," : "", m->endpoints[out[k]].endpoint);
		free(s);
		s = t;
	}
	return s;
}

struct row {
	const char *dcs[3];
	size_t ndcs;
	size_t range;		/* index: (prev, token] */
	const char *want;
};

static void test_nts(void)
{
	static const struct replicas_dc_rf rf[] = { { "dc1", 2 }, { "dc2", 3 } };
	struct replicas_repl repl = { REPLICAS_NTS, 0, rf, 2 };
	char err[256];
	struct replicas_map *m = replicas_compute(ring2, 6, &repl, err,
	    sizeof(err));
	/* range 1 is (-9000,-6000], owned by .2 (dc2): walking clockwise
	 * .2 .3 .4 .5 .6 .1: dc2 takes .2 .4 .6, dc1 .3 .5 */
	static const struct row rows[] = {
		{ { NULL }, 0, 1, "10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6" },
		{ { "dc1" }, 1, 1, "10.0.0.3,10.0.0.5" },
		{ { "dc2" }, 1, 1, "10.0.0.2,10.0.0.4,10.0.0.6" },
		{ { "dc2", "dc1" }, 2, 1,
		  "10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6" },
		/* range 0, the wrap-around (6000,-9000]: owner .1 */
		{ { "dc1" }, 1, 0, "10.0.0.1,10.0.0.3" },
		{ { "dc2" }, 1, 0, "10.0.0.2,10.0.0.4,10.0.0.6" },
		/* a dc of the repair the keyspace does not use here */
		{ { "dc3" }, 1, 0, "" },
	};

	T_CHECK(m != NULL, "%s", err);
	if (m == NULL)
		return;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *got = restricted(m, rows[i].range, rows[i].dcs, rows[i].ndcs);
		T_CHECK(strcmp(got, rows[i].want) == 0, "row %zu: got '%s', want "
		    "'%s'", i, got, rows[i].want);
		free(got);
	}
	/* dc1 at RF 1 and dc2 at RF 2: every range keeps exactly one replica
	 * in dc1, so a dc1 repair has nothing to compare anywhere */
	replicas_free(m);
	{
		static const struct replicas_dc_rf rf1[] = { { "dc1", 1 },
		    { "dc2", 2 } };
		struct replicas_repl r1 = { REPLICAS_NTS, 0, rf1, 2 };
		const char *d1[] = { "dc1" }, *d2[] = { "dc2" };
		size_t out[8];

		m = replicas_compute(ring2, 6, &r1, err, sizeof(err));
		T_CHECK(m != NULL, "%s", err);
		for (size_t i = 0; m != NULL && i < m->nranges; i++) {
			T_EQ_INT(repair_dc_replicas(m, &m->ranges[i], d1, 1, out), 1);
			T_EQ_INT(repair_dc_replicas(m, &m->ranges[i], d2, 1, out), 2);
		}
		replicas_free(m);
	}
}

static void test_simple(void)
{
	/* SimpleStrategy ignores dcs: RF 3 from .1 is .1 .2 .3 across both */
	struct replicas_repl repl = { REPLICAS_SIMPLE, 3, NULL, 0 };
	const char *d1[] = { "dc1" };
	char err[256], *got;
	struct replicas_map *m = replicas_compute(ring2, 6, &repl, err,
	    sizeof(err));

	T_CHECK(m != NULL, "%s", err);
	if (m == NULL)
		return;
	got = restricted(m, 0, d1, 1);
	T_EQ_STR(got, "10.0.0.1,10.0.0.3");
	free(got);
	got = restricted(m, 1, d1, 1);	/* .2 .3 .4: one in dc1 */
	T_EQ_STR(got, "10.0.0.3");
	free(got);
	replicas_free(m);
}

static void test_check_and_names(void)
{
	static const struct replicas_dc_rf rf[] = { { "dc1", 2 }, { "dc2", 2 } };
	struct replicas_repl repl = { REPLICAS_NTS, 0, rf, 2 };
	char err[256];
	struct replicas_map *m = replicas_compute(ring2, 6, &repl, err,
	    sizeof(err));
	const char *ok[] = { "dc2", "dc1" }, *bad[] = { "dc1", "eu-west" };
	const char *out[4];
	json_t *p;

	T_CHECK(m != NULL, "%s", err);
	if (m == NULL)
		return;
	T_EQ_INT(repair_dc_check(m, ok, 2, err, sizeof(err)), 0);
	T_EQ_INT(repair_dc_check(m, ok, 0, err, sizeof(err)), 0);
	T_EQ_INT(repair_dc_check(m, bad, 2, err, sizeof(err)), -1);
	T_EQ_STR(err, "datacenter 'eu-west' is not in the ring (its dcs: dc1, "
	    "dc2): check params.datacenter");
	replicas_free(m);

	p = json_pack("{s:s}", "datacenter", "dc1");
	T_EQ_INT(repair_dc_names(p, out, 4), 1);
	T_EQ_STR(out[0], "dc1");
	json_decref(p);
	p = json_pack("{s:[s,s]}", "datacenter", "dc1", "dc2");
	T_EQ_INT(repair_dc_names(p, out, 4), 2);
	T_EQ_STR(out[1], "dc2");
	T_EQ_INT(repair_dc_names(p, out, 1), 1);
	json_decref(p);
	p = json_object();
	T_EQ_INT(repair_dc_names(p, out, 4), 0);
	json_decref(p);
}

int main(void)
{
	test_nts();
	test_simple();
	test_check_and_names();
	return t_done("test_repair_dc");
}
