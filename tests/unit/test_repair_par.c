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
#include "../../orchestrator/err.h"
#include "../../orchestrator/store/store.h"
#include "../../orchestrator/tasks/repair_par.h"
#include "../../orchestrator/tasks/repair_ring.h"
#include "../../orchestrator/tasks/repair_resume.h"
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

			repair_ring_piece(cases[i].start, cases[i].end, cases[i].k, p,
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
	m = repair_ring_map(d, "shop", err, sizeof(err));
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
	m = repair_ring_map(d, "shop", err, sizeof(err));
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
		m = repair_ring_map(d, bad[i].ks, err, sizeof(err));
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
	m = repair_ring_map(d, "shop", err, sizeof(err));
	T_CHECK(m == NULL && strstr(err, "Murmur3") != NULL, "random: %s", err);
	replicas_free(m);
	json_decref(d);
}

/* ---- resume: what is left of a piece, which tasks may be resumed ---- */

static void test_subtract(void)
{
	static const struct {
		struct segsched_range piece;
		struct segsched_range done[4];
		size_t ndone;
		struct segsched_range want[4];
		size_t nwant;
	} rows[] = {
		{ { 0, 100 }, { { 0 } }, 0, { { 0, 100 } }, 1 },
		{ { 0, 100 }, { { 0, 100 } }, 1, { { 0 } }, 0 },
		{ { 0, 100 }, { { 10, 20 } }, 1, { { 0, 10 }, { 20, 100 } }, 2 },
		{ { 0, 100 }, { { -50, 10 } }, 1, { { 10, 100 } }, 1 },
		{ { 0, 100 }, { { 90, 200 } }, 1, { { 0, 90 } }, 1 },
		{ { 0, 100 }, { { -10, 0 } }, 1, { { 0, 100 } }, 1 },
		{ { 0, 100 }, { { 100, 300 } }, 1, { { 0, 100 } }, 1 },
		{ { 0, 100 }, { { 50, 60 }, { 20, 30 }, { 10, 20 } }, 3,
		  { { 0, 10 }, { 30, 50 }, { 60, 100 } }, 3 },
		{ { 0, 100 }, { { 50, 70 }, { 10, 60 } }, 2,
		  { { 0, 10 }, { 70, 100 } }, 2 },
		{ { 0, 100 }, { { 5, 5 } }, 1, { { 0 } }, 0 },	/* whole ring */
		/* a done range that wraps round the whole ring but (20,50] */
		{ { 0, 100 }, { { 50, 20 } }, 1, { { 20, 50 } }, 1 },
		/* a piece across the int64 edge, a done range across it too */
		{ { INT64_MAX - 10, INT64_MIN + 9 },
		  { { INT64_MAX - 5, INT64_MIN + 4 } }, 1,
		  { { INT64_MAX - 10, INT64_MAX - 5 }, { INT64_MIN + 4,
		  INT64_MIN + 9 } }, 2 },
		{ { INT64_MAX - 10, INT64_MIN + 9 }, { { INT64_MIN, 0 } }, 1,
		  { { INT64_MAX - 10, INT64_MIN } }, 1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct segsched_range *got;
		size_t n = repair_resume_subtract(rows[i].piece, rows[i].done,
		    rows[i].ndone, &got);
		bool same = n == rows[i].nwant;

		for (size_t j = 0; same && j < n; j++)
			same = got[j].start == rows[i].want[j].start &&
			    got[j].end == rows[i].want[j].end;
		T_CHECK(same, "row %zu: %zu pieces, first (%lld,%lld]", i, n,
		    n ? (long long)got[0].start : 0LL,
		    n ? (long long)got[0].end : 0LL);
		free(got);
	}
	/* random done sets over a small piece, against token by token */
	uint64_t rng = 12345;
	for (int iter = 0; iter < 2000; iter++) {
		struct segsched_range piece = { 0, 64 }, done[6], *got;
		size_t nd = rand_xorshift(&rng) % 6, n;
		bool want[65] = { false }, have[65] = { false };

		for (size_t j = 0; j < nd; j++) {
			int64_t a = (int64_t)(rand_xorshift(&rng) % 100) - 20;
			int64_t b = a + 1 + (int64_t)(rand_xorshift(&rng) % 30);
			done[j] = (struct segsched_range){ a, b };
		}
		for (int64_t t = 1; t <= 64; t++) {
			want[t] = true;
			for (size_t j = 0; j < nd; j++)
				if (t > done[j].start && t <= done[j].end)
					want[t] = false;
		}
		n = repair_resume_subtract(piece, done, nd, &got);
		for (size_t j = 0; j < n; j++) {
			T_CHECK(got[j].start < got[j].end && (j == 0 ||
			    got[j].start > got[j - 1].end), "iteration %d: "
			    "pieces out of order or touching", iter);
			for (int64_t t = got[j].start + 1; t <= got[j].end &&
			    t <= 64 && t >= 1; t++)
				have[t] = true;
		}
		T_CHECK(memcmp(want, have, sizeof(want)) == 0,
		    "iteration %d: the pieces left differ", iter);
		free(got);
	}
}

/* A finished repair task of cluster "c" with a "repair segments" step. */
static void old_task(struct store_task_detail *d, struct store_step *step,
    const char *type, enum store_task_state state, int attempts,
    const char *params)
{
	memset(d, 0, sizeof(*d));
	memset(step, 0, sizeof(*step));
	str_copy(d->task.id, "t-0001", sizeof(d->task.id));
	str_copy(d->task.cluster, "c", sizeof(d->task.cluster));
	str_copy(d->task.type, type, sizeof(d->task.type));
	d->task.state = state;
	d->task.params = json_loads(params, 0, NULL);
	step->name = xstrdup(REPAIR_PAR_STEP);
	step->attempts = attempts;
	d->steps = step;
	d->nsteps = 1;
}

static void test_resume_check(void)
{
	static const char *const ks1 =
	    "{\"keyspace\":\"ks1\",\"full\":true,\"parallelism\":0,"
	    "\"table\":[\"a\"]}";
	static const struct {
		const char *cluster, *type;
		enum store_task_state state;
		int attempts;
		const char *given;
		int rc;
		const char *err_has;	/* or, on success, params after */
	} rows[] = {
		{ "c", "repair", STORE_TASK_PARTIAL, 1, "{}", 0,
		  "{\"keyspace\":\"ks1\",\"full\":true,\"parallelism\":0,"
		  "\"table\":[\"a\"]}" },
		{ "c", "repair", STORE_TASK_FAILED, 1, "{\"parallelism\":4,"
		  "\"intensity\":0.5,\"table\":\"a\"}", 0,
		  "{\"keyspace\":\"ks1\",\"full\":true,\"parallelism\":4,"
		  "\"table\":[\"a\"],\"intensity\":0.5}" },
		{ "c", "repair", STORE_TASK_CANCELLED, 2, "{\"keyspace\":"
		  "\"ks1\",\"full\":true}", 0, NULL },
		{ "d", "repair", STORE_TASK_PARTIAL, 1, "{}", RM_EINVAL,
		  "is a task of cluster 'c', not 'd'" },
		{ "c", "backup", STORE_TASK_FAILED, 1, "{}", RM_EINVAL,
		  "is a backup, not a repair" },
		{ "c", "repair", STORE_TASK_RUNNING, 1, "{}", RM_ECONFLICT,
		  "is still running" },
		{ "c", "repair", STORE_TASK_QUEUED, 0, "{}", RM_ECONFLICT,
		  "is still queued" },
		{ "c", "repair", STORE_TASK_PAUSED, 1, "{}", RM_ECONFLICT,
		  "is still paused" },
		{ "c", "repair", STORE_TASK_SUCCEEDED, 1, "{}", RM_ECONFLICT,
		  "nothing is left to resume" },
		{ "c", "repair", STORE_TASK_CANCELLED, 0, "{}", RM_EINVAL,
		  "never ran the segment scheduler" },
		{ "c", "repair", STORE_TASK_PARTIAL, 1, "{\"keyspace\":\"ks2\"}",
		  RM_EINVAL, "params.keyspace differs" },
		{ "c", "repair", STORE_TASK_PARTIAL, 1, "{\"table\":[\"b\"]}",
		  RM_EINVAL, "params.table differs" },
		{ "c", "repair", STORE_TASK_PARTIAL, 1, "{\"full\":false}",
		  RM_EINVAL, "params.full differs" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct store_task_detail d;
		struct store_step step;
		json_t *p = json_loads(rows[i].given, 0, NULL), *before;
		char err[512] = "";
		int rc;

		old_task(&d, &step, rows[i].type, rows[i].state,
		    rows[i].attempts, ks1);
		before = json_deep_copy(p);
		rc = repair_resume_check(&d, rows[i].cluster, p, err,
		    sizeof(err));
		T_CHECK(rc == rows[i].rc, "row %zu: rc %d (%s)", i, rc, err);
		if (rc != 0) {
			T_CHECK(strstr(err, rows[i].err_has) != NULL,
			    "row %zu: %s", i, err);
			T_CHECK(json_equal(p, before), "row %zu: params changed",
			    i);
		} else if (rows[i].err_has != NULL) {
			json_t *want = json_loads(rows[i].err_has, 0, NULL);
			char *s = json_dumps(p, JSON_SORT_KEYS);
			T_CHECK(json_equal(p, want), "row %zu: params %s", i, s);
			free(s);
			json_decref(want);
		}
		json_decref(before);
		json_decref(p);
		free(step.name);
		json_decref(d.task.params);
	}
}

/* The done records of a step, whatever their order, merged. */
static void test_done_of(void)
{
	static const struct {
		int idx;
		const char *node, *phase, *state;
	} recs[] = {
		{ 0, "segment 3", "ranges (20,30] replicas a,b on a", "done" },
		{ 0, "segment 1", "ranges (0,10] (10,20] replicas a,b on a",
		  "done" },
		{ 0, "segment 2", "ranges (40,50] replicas a,b on b", "failed" },
		{ 0, "segment 4", "ranges (60,70] replicas a,b on b", "done" },
		{ 1, "segment 5", "ranges (80,90] replicas a,b on b", "done" },
		{ 0, "10.0.0.1", "ranges (90,95] replicas a,b on b", "done" },
		{ 0, "segment 6", "(95,99] replicas a,b on b", "done" },
	};
	struct store_step_node_row rows[ARRAY_SIZE(recs)];
	struct store_task_detail d;
	struct store_step step;
	struct segsched_range *out = NULL;
	size_t n = 0;

	memset(rows, 0, sizeof(rows));
	for (size_t i = 0; i < ARRAY_SIZE(recs); i++) {
		rows[i].idx = recs[i].idx;
		rows[i].node = xstrdup(recs[i].node);
		rows[i].phase = xstrdup(recs[i].phase);
		rows[i].state = xstrdup(recs[i].state);
	}
	old_task(&d, &step, "repair", STORE_TASK_PARTIAL, 1, "{}");
	d.nodes = rows;
	d.nnodes = ARRAY_SIZE(rows);
	repair_resume_done_of(&d, &out, &n);
	T_EQ_INT(n, 2);
	if (n == 2) {
		T_CHECK(out[0].start == 0 && out[0].end == 30, "(%lld,%lld]",
		    (long long)out[0].start, (long long)out[0].end);
		T_CHECK(out[1].start == 60 && out[1].end == 70, "(%lld,%lld]",
		    (long long)out[1].start, (long long)out[1].end);
	}
	free(out);
	for (size_t i = 0; i < ARRAY_SIZE(recs); i++) {
		free(rows[i].node);
		free(rows[i].phase);
		free(rows[i].state);
	}
	free(step.name);
	json_decref(d.task.params);
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
		rc = repair_ring_keyspaces(d, &v, &n, err, sizeof(err));
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
	test_subtract();
	test_resume_check();
	test_done_of();
	test_keyspaces();
	return t_done("test_repair_par");
}
