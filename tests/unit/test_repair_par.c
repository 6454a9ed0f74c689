/*
 * test_repair_par.c - the repair task's scheduled mode, its pure parts
 * (orchestrator/tasks/repair_par.h): ranges cut into pieces that tile them,
 * and the replica map read from `ringagent repair-ring`'s data.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../../orchestrator/tasks/repair_par.h"
#include "../../orchestrator/tasks/segsched.h"
#include "t.h"

static void test_pieces(void)
{
	static const struct {
		int64_t start, end;
		uint64_t k;
	} cases[] = {
		{ 0, 100, 1 },
		{ 0, 100, 3 },			/* 34, 33, 33 */
		{ -10, 10, 20 },		/* one token each */
		{ INT64_MAX - 5, INT64_MIN + 5, 4 },	/* wraps */
		{ INT64_MIN, INT64_MAX, 7 },
		{ 100, -100, 1024 },		/* almost the whole ring */
		{ 5, 5, 2 },			/* the whole ring */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct segsched_range r = { cases[i].start, cases[i].end };
		uint64_t w = segsched_range_width(r), sum = 0, lo = UINT64_MAX, hi = 0;
		int64_t prev_end = cases[i].start;

		for (uint64_t p = 0; p < cases[i].k; p++) {
			int64_t a, b;
			struct segsched_range q;
			uint64_t pw;

			repair_par_piece(cases[i].start, cases[i].end, cases[i].k, p,
			    &a, &b);
			T_CHECK(a == prev_end, "case %zu piece %llu starts at %lld, "
			    "not where the last ended (%lld)", i,
			    (unsigned long long)p, (long long)a, (long long)prev_end);
			T_CHECK(a != b, "case %zu piece %llu is empty", i,
			    (unsigned long long)p);
			q.start = a;
			q.end = b;
			pw = segsched_range_width(q);
			sum += pw;
			lo = pw < lo ? pw : lo;
			hi = pw > hi ? pw : hi;
			prev_end = b;
		}
		T_CHECK(prev_end == cases[i].end, "case %zu: the last piece ends at "
		    "%lld, not %lld", i, (long long)prev_end,
		    (long long)cases[i].end);
		/* the whole ring is 2^64 tokens, one more than the width says */
		T_CHECK(sum == w || (w == UINT64_MAX && sum == 0), "case %zu: pieces "
		    "hold %llu tokens, the range %llu", i,
		    (unsigned long long)sum, (unsigned long long)w);
		T_CHECK(hi - lo <= 1 || (w == UINT64_MAX && hi - lo <= 2),
		    "case %zu: pieces of %llu to %llu tokens", i,
		    (unsigned long long)lo, (unsigned long long)hi);
	}
}

/* A ring of n single-token nodes 10.0.0.1.. at tokens -300, -200, ... in
 * one dc, racks as given, with ks's replication. */
static json_t *ring_data(const char *cls, const char *opts, const char *port,
    const char *joining)
{
	char buf[4096];
	int n;

	n = snprintf(buf, sizeof(buf), "{\"datacenters\":[{\"name\":\"dc1\","
	    "\"entries\":["
	    "{\"address\":\"10.0.0.1%s\",\"rack\":\"r1\",\"state\":\"Normal\","
	    "\"token\":\"-300\"},"
	    "{\"address\":\"10.0.0.2%s\",\"rack\":\"r1\",\"state\":\"Normal\","
	    "\"token\":\"-200\"},"
	    "{\"address\":\"10.0.0.3%s\",\"rack\":\"r1\",\"state\":\"%s\","
	    "\"token\":\"-100\"},"
	    "{\"address\":\"10.0.0.4%s\",\"rack\":\"r1\",\"state\":\"Normal\","
	    "\"token\":\"0\"}]},"
	    "{\"name\":\"dc2\",\"entries\":["
	    "{\"address\":\"10.0.1.1%s\",\"rack\":\"r1\",\"state\":\"Normal\","
	    "\"token\":\"50\"}]}],"
	    "\"keyspaces\":[{\"name\":\"other\",\"replication_class\":"
	    "\"LocalStrategy\",\"options\":{}},"
	    "{\"name\":\"shop\",\"replication_class\":\"%s\",\"options\":%s}]}",
	    port, port, port, joining, port, port, cls, opts);
	T_CHECK(n > 0 && (size_t)n < sizeof(buf), "ring_data overflow");
	return json_loads(buf, 0, NULL);
}

static void test_map(void)
{
	char err[512];
	struct replicas_map *m;
	json_t *d;

	/* SimpleStrategy RF 2, 4.x addresses with ports: the range ending at
	 * -200 is 10.0.0.2's then the next endpoint clockwise's */
	d = ring_data("org.apache.cassandra.locator.SimpleStrategy",
	    "{\"replication_factor\":\"2\"}", ":7000", "Normal");
	m = repair_par_map(d, "shop", err, sizeof(err));
	T_CHECK(m != NULL, "simple: %s", err);
	if (m != NULL) {
		T_EQ_INT((long long)m->nendpoints, 5);
		T_EQ_INT((long long)m->nranges, 5);
		T_EQ_STR(m->endpoints[0].endpoint, "10.0.0.1");
		for (size_t i = 0; i < m->nranges; i++) {
			T_EQ_INT((long long)m->ranges[i].nreplicas, 2);
			if (m->ranges[i].end == -200) {
				T_EQ_STR(m->endpoints[m->ranges[i].replicas[0]].endpoint,
				    "10.0.0.2");
				T_EQ_STR(m->endpoints[m->ranges[i].replicas[1]].endpoint,
				    "10.0.0.3");
			}
		}
	}
	replicas_free(m);
	json_decref(d);

	/* NTS dc1: 2, dc2: 1 (a leading space as describecluster splits
	 * "a=1, b=2"); a Joining node owns nothing */
	d = ring_data("NetworkTopologyStrategy",
	    "{\"dc1\":\"2\",\" dc2\":\"1\"}", "", "Joining");
	m = repair_par_map(d, "shop", err, sizeof(err));
	T_CHECK(m != NULL, "nts: %s", err);
	if (m != NULL) {
		T_EQ_INT((long long)m->nranges, 4);
		T_CHECK(replicas_endpoint_index(m, "10.0.0.3") < 0,
		    "a Joining node is no replica");
		for (size_t i = 0; i < m->nranges; i++)
			T_EQ_INT((long long)m->ranges[i].nreplicas, 3);
	}
	replicas_free(m);
	json_decref(d);

	static const struct {
		const char *cls, *opts, *ks, *err_has;
	} bad[] = {
		{ "SimpleStrategy", "{\"replication_factor\":\"2\"}", "nope",
		  "keyspace 'nope' is not in" },
		{ "EverywhereStrategy", "{}", "shop", "parallelism 1" },
		{ "SimpleStrategy", "{\"replication_factor\":\"-1\"}", "shop",
		  "negative" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		d = ring_data(bad[i].cls, bad[i].opts, "", "Normal");
		err[0] = '\0';
		m = repair_par_map(d, bad[i].ks, err, sizeof(err));
		T_CHECK(m == NULL, "bad %zu: accepted", i);
		T_CHECK(strstr(err, bad[i].err_has) != NULL, "bad %zu: %s", i, err);
		replicas_free(m);
		json_decref(d);
	}
	/* a RandomPartitioner token */
	d = json_loads("{\"datacenters\":[{\"name\":\"dc1\",\"entries\":["
	    "{\"address\":\"10.0.0.1\",\"rack\":\"r1\",\"state\":\"Normal\","
	    "\"token\":\"170141183460469231731687303715884105727\"}]}],"
	    "\"keyspaces\":[{\"name\":\"shop\",\"replication_class\":"
	    "\"SimpleStrategy\",\"options\":{\"replication_factor\":\"1\"}}]}",
	    0, NULL);
	m = repair_par_map(d, "shop", err, sizeof(err));
	T_CHECK(m == NULL && strstr(err, "Murmur3") != NULL, "random: %s", err);
	replicas_free(m);
	json_decref(d);
}

/* The keyspaces of a repair without one: what Cassandra 4.x's nodetool
 * repair repairs (non-LocalStrategy keyspaces but system_distributed). */
static void test_keyspaces(void)
{
	static const struct {
		const char *ks;		/* the "keyspaces" array */
		int rc;
		const char *want;	/* names joined by spaces, or err part */
	} cases[] = {
		{ "[{\"name\":\"system\",\"replication_class\":\"LocalStrategy\"},"
		  "{\"name\":\"system_schema\",\"replication_class\":"
		  "\"org.apache.cassandra.locator.LocalStrategy\"},"
		  "{\"name\":\"system_auth\",\"replication_class\":"
		  "\"SimpleStrategy\"},"
		  "{\"name\":\"system_distributed\",\"replication_class\":"
		  "\"SimpleStrategy\"},"
		  "{\"name\":\"system_traces\",\"replication_class\":"
		  "\"SimpleStrategy\"},"
		  "{\"name\":\"shop\",\"replication_class\":"
		  "\"NetworkTopologyStrategy\"},"
		  "{\"name\":\"dse_x\",\"replication_class\":"
		  "\"EverywhereStrategy\"}]", 0,
		  "system_auth system_traces shop dse_x" },
		{ "[{\"name\":\"system\",\"replication_class\":\"LocalStrategy\"}]",
		  0, "" },
		{ "[]", 0, "" },
		{ "[{\"name\":\"shop\"}]", -1, "no name or replication class" },
		{ NULL, -1, "has no keyspaces" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[2048], err[256] = "", got[512] = "", **v;
		size_t n;
		json_t *d;
		int rc;

		snprintf(buf, sizeof(buf), "{\"datacenters\":[]%s%s}",
		    cases[i].ks ? ",\"keyspaces\":" : "",
		    cases[i].ks ? cases[i].ks : "");
		d = json_loads(buf, 0, NULL);
		T_CHECK(d != NULL, "case %zu: bad json", i);
		rc = repair_par_keyspaces(d, &v, &n, err, sizeof(err));
		T_EQ_INT(rc, cases[i].rc);
		for (size_t j = 0; rc == 0 && j < n; j++) {
			size_t l = strlen(got);
			snprintf(got + l, sizeof(got) - l, "%s%s", j ? " " : "", v[j]);
			free(v[j]);
		}
		if (rc == 0) {
			free(v);
			T_EQ_STR(got, cases[i].want);
		} else {
			T_CHECK(v == NULL && n == 0, "case %zu: output on error", i);
			T_CHECK(strstr(err, cases[i].want) != NULL, "case %zu: %s", i,
			    err);
		}
		json_decref(d);
	}
}

int main(void)
{
	test_pieces();
	test_map();
	test_keyspaces();
	return t_done("test_repair_par");
}
