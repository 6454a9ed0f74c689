/*
 * test_repair.c - token ranges and segments (agent/repair.c) with Murmur3
 * arithmetic and wrap-around, the real 4.1.0 ring, and the repair task's
 * params (orchestrator/tasks/repair.c), table-driven.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../agent/nodetool.h"
#include "../../agent/repair.h"
#include "../../common/util.h"
#include "../../orchestrator/tasks/repair.h"
#include "t.h"

#define MIN_TOK INT64_MIN
#define MAX_TOK INT64_MAX

/* Segments tile ranges: same tokens, in order, each inside one range. */
static void check_tiling(const struct repair_range *r, size_t n,
    const struct repair_segment *s, size_t ns, const char *what)
{
	size_t ri = 0;
	int64_t at = n ? r[0].start : 0;
	bool ok = true;

	for (size_t i = 0; i < ns && ok; i++) {
		for (size_t j = 0; j < s[i].n && ok; j++) {
			struct repair_range p = s[i].ranges[j];
			if (ri >= n || p.start != at || p.start == p.end)
				ok = false;
			/* a piece never crosses the end of its range */
			else if (repair_range_width((struct repair_range){ r[ri].start,
			    p.end }) > repair_range_width(r[ri]))
				ok = false;
			else if (p.end == r[ri].end) {
				ri++;
				at = ri < n ? r[ri].start : 0;
			} else {
				at = p.end;
			}
		}
	}
	T_CHECK(ok && ri == n, "%s: segments do not tile the ranges", what);
}

static void test_tokens(void)
{
	static const struct {
		const char *in;
		int ok;
		int64_t want;
	} cases[] = {
		{ "0", 0, 0 },
		{ "-9223372036854775808", 0, MIN_TOK },
		{ "9223372036854775807", 0, MAX_TOK },
		{ "9223372036854775808", -1, 0 },	/* too big */
		{ "85070591730234615865843651857942052864", -1, 0 },	/* RandomPartitioner */
		{ "", -1, 0 },
		{ "12a", -1, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t v = 0;
		int rc = repair_token_parse(cases[i].in, &v);
		T_EQ_INT(rc, cases[i].ok);
		if (rc == 0)
			T_EQ_INT(v, cases[i].want);
	}
	static const struct {
		int64_t s, e;
		uint64_t w;
	} widths[] = {
		{ 0, 10, 10 },
		{ -10, 10, 20 },
		{ 10, -10, UINT64_MAX - 19 },		/* wraps */
		{ MAX_TOK, MIN_TOK, 1 },			/* wraps by one */
		{ MIN_TOK, MAX_TOK, UINT64_MAX },
		{ 5, 5, UINT64_MAX },				/* whole ring */
	};
	for (size_t i = 0; i < ARRAY_SIZE(widths); i++)
		T_EQ_INT(repair_range_width((struct repair_range){ widths[i].s,
		    widths[i].e }) == widths[i].w, 1);
}

static void test_primary(void)
{
	static const struct {
		int64_t ring[6];
		size_t nring;
		int64_t own[3];
		size_t nown;
		int rc;
		struct repair_range want[3];
		size_t nwant;
	} cases[] = {
		/* the lowest token's range wraps from the highest */
		{ { 300, -100, 100 }, 3, { -100 }, 1, 0, { { 300, -100 } }, 1 },
		{ { -100, 100, 300 }, 3, { 300, 100 }, 2, 0,
		  { { -100, 100 }, { 100, 300 } }, 2 },
		/* one token: the whole ring */
		{ { 42 }, 1, { 42 }, 1, 0, { { 42, 42 } }, 1 },
		/* duplicates in the ring listing are ignored */
		{ { 1, 1, 5, 9 }, 4, { 1 }, 1, 0, { { 9, 1 } }, 1 },
		{ { MIN_TOK, 0, MAX_TOK }, 3, { MIN_TOK }, 1, 0,
		  { { MAX_TOK, MIN_TOK } }, 1 },
		{ { 1, 2 }, 2, { 3 }, 1, -1, { { 0, 0 } }, 0 },	/* not in the ring */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct repair_range *r = NULL;
		size_t n = 0;
		char err[128];
		int rc = repair_primary_ranges(cases[i].ring, cases[i].nring,
		    cases[i].own, cases[i].nown, &r, &n, err, sizeof(err));
		T_EQ_INT(rc, cases[i].rc);
		T_EQ_INT(n, cases[i].nwant);
		for (size_t j = 0; j < n && j < cases[i].nwant; j++) {
			T_EQ_INT(r[j].start, cases[i].want[j].start);
			T_EQ_INT(r[j].end, cases[i].want[j].end);
		}
		free(r);
	}
}

static void test_split(void)
{
	static const struct {
		struct repair_range r[4];
		size_t n, nseg, want_segs;
		size_t first_seg_ranges;
	} cases[] = {
		{ { { 0, 100 } }, 1, 1, 1, 1 },
		{ { { 0, 100 } }, 1, 4, 4, 1 },
		{ { { 0, 3 } }, 1, 10, 3, 1 },		/* 3 tokens, 3 pieces */
		{ { { 100, -100 } }, 1, 4, 4, 1 },	/* wraps */
		{ { { MAX_TOK - 1, MIN_TOK + 1 } }, 1, 3, 3, 1 },
		{ { { 7, 7 } }, 1, 1024, 1024, 1 },	/* whole ring */
		{ { { 0, 10 }, { 10, 20 }, { 30, 40 }, { 50, 60 } }, 4, 2, 2, 2 },
		{ { { 0, 10 }, { 10, 20 }, { 30, 40 } }, 3, 2, 2, 1 },
		{ { { 0, 10 }, { 10, 1000 }, { 2000, -5 } }, 3, 7, 7, 1 },
		{ { { 0, 10 }, { 10, 20 }, { 30, 40 }, { 50, 60 } }, 4, 4, 4, 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct repair_segment *s = NULL;
		size_t ns = repair_split(cases[i].r, cases[i].n, cases[i].nseg, &s);
		char what[32];
		snprintf(what, sizeof(what), "split case %zu", i);
		T_EQ_INT(ns, cases[i].want_segs);
		if (ns > 0)
			T_EQ_INT(s[0].n, cases[i].first_seg_ranges);
		check_tiling(cases[i].r, cases[i].n, s, ns, what);
		repair_segments_free(s, ns);
	}
	/* the widest range gets the extra pieces */
	{
		struct repair_range r[2] = { { 0, 10 }, { 10, 1000010 } };
		struct repair_segment *s = NULL;
		size_t ns = repair_split(r, 2, 5, &s);
		T_EQ_INT(ns, 5);
		T_EQ_INT(s[0].ranges[0].start, 0);
		T_EQ_INT(s[0].ranges[0].end, 10);
		T_EQ_INT(s[1].ranges[0].end, 250010);
		T_EQ_INT(s[4].ranges[0].end, 1000010);
		repair_segments_free(s, ns);
	}
	repair_segments_free(NULL, 0);
}

/* The real 4.1.0 capture: 127.0.0.1's ranges tile what describering says. */
static void test_real_ring(void)
{
	char *ring_txt = NULL, *dr = NULL, err[256];
	size_t len = 0, dlen = 0;
	struct nodetool_ring *ring = NULL;
	struct repair_range *r = NULL;
	size_t n = 0;
	const char *dir = getenv("SHARED_DIR") ? getenv("SHARED_DIR") :
	    "/work/shared";
	char *p = xasprintf("%s/cassandra/4.1.0-real/ring.txt", dir);
	char *q = xasprintf("%s/cassandra/4.1.0-real/describering.txt", dir);

	ring_txt = file_read_all(p, 1 << 20, &len);
	dr = file_read_all(q, 1 << 20, &dlen);
	if (ring_txt == NULL || dr == NULL) {
		printf("test_repair: %s not found, real ring skipped\n", p);
		goto out;
	}
	/* the capture ends with our "[exit N]" line */
	char *ex = strstr(ring_txt, "[exit");
	if (ex)
		*ex = '\0';
	T_EQ_INT(nodetool_parse_ring(ring_txt, strlen(ring_txt), &ring, err,
	    sizeof(err)), 0);
	if (ring == NULL)
		goto out;
	T_EQ_INT(repair_ring_primary(ring, "127.0.0.1", &r, &n, err,
	    sizeof(err)), 0);
	T_EQ_INT(n, 16);
	for (size_t i = 0; i < n; i++) {
		char *needle = xasprintf("start_token:%" PRId64 ", end_token:%"
		    PRId64 ",", r[i].start, r[i].end);
		T_CHECK(strstr(dr, needle) != NULL, "%s not in describering", needle);
		free(needle);
	}
	/* 127.0.0.1 with a port, as 4.1's -pp prints it, is the same node */
	free(r);
	r = NULL;
	T_EQ_INT(repair_ring_primary(ring, "127.0.0.9", &r, &n, err,
	    sizeof(err)), -1);
	T_CHECK(strstr(err, "127.0.0.9") != NULL, "%s", err);
	{
		struct repair_range *r2 = NULL;
		struct repair_segment *s = NULL;
		size_t n2 = 0, ns;
		T_EQ_INT(repair_ring_primary(ring, "127.0.0.2", &r2, &n2, err,
		    sizeof(err)), 0);
		T_EQ_INT(n2, 16);
		ns = repair_split(r2, n2, 4, &s);
		T_EQ_INT(ns, 4);
		check_tiling(r2, n2, s, ns, "real ring 4");
		repair_segments_free(s, ns);
		ns = repair_split(r2, n2, 100, &s);
		T_EQ_INT(ns, 100);
		check_tiling(r2, n2, s, ns, "real ring 100");
		repair_segments_free(s, ns);
		free(r2);
	}
out:
	nodetool_ring_free(ring);
	free(r);
	free(ring_txt);
	free(dr);
	free(p);
	free(q);
}

static void test_params(void)
{
	static const struct {
		const char *json;
		int rc;
		const char *err_has;
	} cases[] = {
		{ "{}", 0, NULL },
		{ "{\"keyspace\":\"shop\",\"table\":\"orders\",\"full\":false}", 0, NULL },
		{ "{\"keyspace\":\"shop\",\"table\":[\"orders\",\"customers\"]}", 0, NULL },
		{ "{\"segments_per_node\":1024,\"intensity\":0.25,\"parallelism\":1}", 0, NULL },
		{ "{\"segments_per_node\":0}", -1, "segments_per_node" },
		{ "{\"segments_per_node\":1025}", -1, "segments_per_node" },
		{ "{\"segments_per_node\":2.5}", -1, "segments_per_node" },
		{ "{\"intensity\":0}", -1, "intensity" },
		{ "{\"intensity\":1.01}", -1, "intensity" },
		{ "{\"intensity\":\"1\"}", -1, "intensity" },
		/* every keyspace: the scheduler plans each with its replicas */
		{ "{\"parallelism\":2}", 0, NULL },
		{ "{\"parallelism\":0}", 0, NULL },
		{ "{\"segment_timeout\":\"1m\",\"max_pending_compactions\":5}", 0,
		  NULL },
		{ "{\"parallelism\":1,\"segment_timeout\":\"1m\"}", -1,
		  "needs the segment scheduler" },
		{ "{\"parallelism\":0,\"keyspace\":\"shop\"}", 0, NULL },
		{ "{\"parallelism\":4,\"keyspace\":\"shop\"}", 0, NULL },
		{ "{\"parallelism\":1024,\"keyspace\":\"shop\"}", 0, NULL },
		{ "{\"parallelism\":1025,\"keyspace\":\"shop\"}", -1, "parallelism" },
		{ "{\"parallelism\":-1,\"keyspace\":\"shop\"}", -1, "parallelism" },
		{ "{\"parallelism\":\"2\",\"keyspace\":\"shop\"}", -1, "parallelism" },
		{ "{\"parallelism\":1.5,\"keyspace\":\"shop\"}", -1, "parallelism" },
		{ "{\"full\":1}", -1, "full" },
		{ "{\"table\":\"orders\"}", -1, "needs params.keyspace" },
		{ "{\"keyspace\":\"a b\"}", -1, "keyspace" },
		{ "{\"keyspace\":\"shop\",\"table\":[]}", -1, "table" },
		{ "{\"keyspace\":\"shop\",\"table\":[\"x;y\"]}", -1, "table" },
		{ "{\"agent\":\"ringagent $(id)\"}", -1, "agent" },
		{ "{\"timeout_s\":0}", -1, "timeout_s" },
		{ "{\"bogus\":1}", -1, "unknown parameter 'bogus'" },
		{ "{\"down_deadline\":\"90s\"}", 0, NULL },
		{ "{\"down_deadline\":\"0\"}", 0, NULL },
		{ "{\"down_deadline\":\"11h\"}", 0, NULL },
		{ "{\"down_deadline\":\"12h\"}", -1, "up to 11h" },
		{ "{\"down_deadline\":\"soon\"}", -1, "not a duration" },
		{ "{\"down_deadline\":6}", -1, "down_deadline" },
		/* retry_backoff: the scheduler's, 0..1h */
#define PK "\"parallelism\":0,\"keyspace\":\"shop\","
		{ "{" PK "\"retry_backoff\":\"0\"}", 0, NULL },
		{ "{" PK "\"retry_backoff\":\"250ms\"}", 0, NULL },
		{ "{" PK "\"retry_backoff\":\"1h\"}", 0, NULL },
		{ "{" PK "\"retry_backoff\":\"61m\"}", -1, "up to 1h" },
		{ "{" PK "\"retry_backoff\":\"-1s\"}", -1, "retry_backoff" },
		{ "{" PK "\"retry_backoff\":5}", -1, "retry_backoff" },
		{ "{\"parallelism\":1,\"keyspace\":\"shop\",\"retry_backoff\":"
		  "\"5s\"}", -1, "needs the segment scheduler" },
		/* resume: a task id, for the scheduler */
		{ "{" PK "\"resume\":\"t-0123456789abcdef\"}", 0, NULL },
		{ "{" PK "\"resume\":\"s-0123\"}", -1, "not a task id" },
		{ "{\"parallelism\":1,\"keyspace\":\"shop\",\"resume\":"
		  "\"t-01\"}", -1, "parallelism 1 cannot" },
#undef PK
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *p = json_loads(cases[i].json, 0, NULL);
		char err[512] = "";
		int rc = repair_validate_params(p, err, sizeof(err));
		T_CHECK(rc == cases[i].rc, "%s: rc %d (%s)", cases[i].json, rc, err);
		if (cases[i].err_has != NULL)
			T_CHECK(strstr(err, cases[i].err_has) != NULL, "%s: %s",
			    cases[i].json, err);
		if (rc == 0 && strcmp(cases[i].json, "{}") == 0) {
			T_CHECK(json_is_true(json_object_get(p, "full")), "full default");
			T_EQ_INT(json_integer_value(json_object_get(p,
			    "segments_per_node")), 1);
			T_EQ_INT(json_integer_value(json_object_get(p, "parallelism")), 0);
			T_EQ_STR(json_string_value(json_object_get(p,
			    "down_deadline")), "6h");
		}
		if (rc == 0) {
			/* what the scheduler is given */
			int64_t ms = -1;
			const char *rb = json_string_value(json_object_get(p,
			    "retry_backoff"));
			T_EQ_INT(repair_retry_backoff_ms(p, &ms), 0);
			T_EQ_INT(ms, rb == NULL ? 5000 : strcmp(rb, "0") == 0 ?
			    0 : strcmp(rb, "250ms") == 0 ? 250 : 3600000);
		}
		json_decref(p);
	}
	static const struct {
		const char *name;
		int rc, seg, nseg;
	} steps[] = {
		{ "repair", 0, 0, 0 },
		{ "repair segment 2/4", 0, 2, 4 },
		{ "repair segment 1024/1024", 0, 1024, 1024 },
		{ "repair segment 5/4", -1, 0, 0 },
		{ "repair segment 0/4", -1, 0, 0 },
		{ "repair segment 1/4x", -1, 0, 0 },
		{ "snapshot", -1, 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		int s = -1, n = -1;
		T_EQ_INT(repair_step_segment(steps[i].name, &s, &n), steps[i].rc);
		T_EQ_INT(s, steps[i].seg);
		T_EQ_INT(n, steps[i].nseg);
	}
}

/* The step's closing message from agent data, old agents' and odd data too. */
static void test_summary(void)
{
	static const struct {
		const char *data;
		int seg, nseg;
		const char *want;
	} rows[] = {
		{ "{\"commands\":1,\"sessions\":3,\"sessions_exact\":true,"
		    "\"repaired\":[\"shop\"],\"not_needed\":[]}", 0, 0,
		    "repaired shop: 3 sessions" },
		{ "{\"commands\":1,\"sessions\":1,\"repaired\":[\"shop\"]}", 0, 0,
		    "repaired shop: 1 session" },
		{ "{\"commands\":2,\"sessions\":2,\"sessions_exact\":false,"
		    "\"repaired\":[\"ks1\",\"ks2\"],\"not_needed\":[\"single\"]}",
		    0, 0, "repaired ks1 ks2: at least 2 sessions (nodetool missed "
		    "some progress notifications); nothing to do for single (RF 1)" },
		/* an older agent that lost the session lines: never "0 sessions" */
		{ "{\"commands\":1,\"sessions\":0,\"repaired\":[]}", 0, 0,
		    "repaired (keyspace not printed by nodetool): 1 command, "
		    "sessions not printed by nodetool" },
		{ "{\"commands\":3,\"sessions\":0,\"repaired\":[\"a\"]}", 0, 0,
		    "repaired a: 3 commands, sessions not printed by nodetool" },
		{ "{\"commands\":0,\"sessions\":0,\"repaired\":[],"
		    "\"not_needed\":[\"single\"]}", 0, 0, "nothing to do: "
		    "replication factor 1, no repair is needed for single" },
		{ "{}", 0, 0, "nothing to do: no keyspace to repair" },
		{ "{\"commands\":\"x\",\"sessions\":null,\"repaired\":[1,\"ks\"],"
		    "\"ranges\":{}}", 0, 0,
		    "repaired ks: 1 command, sessions not printed by nodetool" },
		{ "{\"commands\":1,\"sessions\":2,\"repaired\":[\"ks\"],"
		    "\"ranges\":[{\"start\":\"1\",\"end\":\"5\"},{\"start\":7}]}",
		    2, 4, "segment 2/4 ranges (1,5] (?,?]: repaired ks: 2 sessions" },
		{ "{\"commands\":0,\"ranges\":[]}", 3, 4,
		    "segment 3/4 ranges (none): nothing to do: no keyspace to repair" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		json_t *d = json_loads(rows[i].data, 0, NULL);
		char *m;

		T_CHECK(d != NULL, "row %zu: bad fixture", i);
		m = repair_summary(d, rows[i].seg, rows[i].nseg);
		T_EQ_STR(m, rows[i].want);
		T_CHECK(strstr(m, " 0 session") == NULL, "row %zu: '%s'", i, m);
		free(m);
		json_decref(d);
	}
}

/* `nodetool repair_admin list`: 4.1.1's "no sessions" (captured on the real
 * build) and its table (columns padded, joined with " | "). */
static void test_repair_admin(void)
{
	struct repair_admin_session *s;
	char err[256];
	size_t n;

	T_EQ_INT(repair_admin_parse("no sessions\n", &s, &n, err, sizeof(err)), 0);
	T_EQ_INT(n, 0);
	T_CHECK(s == NULL, "no rows");
	T_EQ_INT(repair_admin_parse("", &s, &n, err, sizeof(err)), 0);
	T_EQ_INT(n, 0);

	const char *table =
	    "id                                   | state     | last activity | coordinator     | participants        | participants_wp\n"
	    "57bebf60-f112-11f1-8bd1-4fb29e73fc3f | REPAIRING | 3 (s)         | /127.0.0.1:7000 | 127.0.0.1,127.0.0.2 | /127.0.0.1:7000,/127.0.0.2:7000\n"
	    "5a23b170-f112-11f1-8bd1-4fb29e73fc3f | FINALIZED | 120 (s)       | /127.0.0.2:7000 | 127.0.0.1,127.0.0.2 | /127.0.0.1:7000,/127.0.0.2:7000\n";
	T_EQ_INT(repair_admin_parse(table, &s, &n, err, sizeof(err)), 0);
	T_EQ_INT(n, 2);
	if (n == 2) {
		T_EQ_STR(s[0].id, "57bebf60-f112-11f1-8bd1-4fb29e73fc3f");
		T_EQ_STR(s[0].state, "REPAIRING");
		T_EQ_STR(s[0].coordinator, "/127.0.0.1:7000");
		T_EQ_STR(s[1].state, "FINALIZED");
		T_EQ_STR(s[1].coordinator, "/127.0.0.2:7000");
	}
	free(s);

	static const char *const bad[] = {
		"error: something\n",
		"nodetool: Found unexpected parameters: [repair_admin]\n",
		"not-a-uuid | REPAIRING | 1 (s) | /x | a | b\n",
		"57bebf60-f112-11f1-8bd1-4fb29e73fc3f | repairing | 1 (s) | /x | a | b\n",
		"57bebf60-f112-11f1-8bd1-4fb29e73fc3f | REPAIRING\n",
		"57bebf60-f112-11f1-8bd1-4fb29e73fc3f |  | 1 (s) | /x | a | b\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		s = (struct repair_admin_session *)1;
		T_EQ_INT(repair_admin_parse(bad[i], &s, &n, err, sizeof(err)), -1);
		T_CHECK(strstr(err, "line 1") != NULL, "says where: %s", err);
		T_CHECK(s == NULL, "nothing returned for %s", bad[i]);
	}
}

/*
 * A capture of tests/unit/samples/ without its last line, "[exit N]",
 * which is ours (tests/unit/samples/README.md).
 */
static char *admin_sample(const char *name)
{
	char *path = xasprintf("tests/unit/samples/%s", name);
	size_t len, end;
	char *buf = file_read_all(path, 1u << 20, &len);

	T_CHECK(buf != NULL, "cannot read %s (run from the repository root)", path);
	free(path);
	if (buf == NULL)
		return NULL;
	end = len;
	while (end > 0 && buf[end - 1] == '\n')
		end--;
	while (end > 0 && buf[end - 1] != '\n')
		end--;
	if (str_starts_with(buf + end, "[exit "))
		buf[end] = '\0';
	return buf;
}

/* `repair_admin list` and `list --all` of real 4.1.1 nodes around a cancel
 * (tests/real/test_13_repair_cancel.py): the header padded to the width of
 * every column, the last one too; participants_wp without the '/'. */
static void test_repair_admin_real(void)
{
	static const struct {
		const char *file, *state;
	} cases[] = {
		{ "repair_admin-list-4.1.1-preparing.txt", "PREPARING" },
		{ "repair_admin-list-all-4.1.1-failed.txt", "FAILED" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct repair_admin_session *s = NULL;
		char err[256] = "", *buf = admin_sample(cases[i].file);
		size_t n = 0;

		if (buf == NULL)
			continue;
		T_EQ_INT(repair_admin_parse(buf, &s, &n, err, sizeof(err)), 0);
		T_CHECK(err[0] == '\0', "%s: %s", cases[i].file, err);
		T_EQ_INT(n, 1);
		if (n == 1) {
			T_EQ_STR(s[0].id, "659644c0-f223-11f1-8f0e-cdd7fc8cd65d");
			T_EQ_STR(s[0].state, cases[i].state);
			T_EQ_STR(s[0].coordinator, "/127.0.100.1:7000");
		}
		free(s);
		free(buf);
	}
}

/* nodetool's words for a down replica, and the step messages of the
 * segments postponed for it. */
static void test_postpone(void)
{
	static const struct {
		const char *msg;
		const char *addr;		/* NULL: none found */
	} cases[] = {
		{ "node 10.0.0.1: repair failed (exit 1): Repair command #1 failed "
		  "with error Endpoint not alive: /127.0.0.2:7000", "127.0.0.2" },
		{ "Repair job has failed with the error message: Repair command #1 "
		  "failed with error Endpoint not alive: /127.0.0.2:7000. Check the "
		  "logs", "127.0.0.2" },
		{ "Endpoint not alive: node2.example/10.1.2.3:7000", "10.1.2.3" },
		{ "Endpoint not alive: /10.1.2.3", "10.1.2.3" },	/* 3.x */
		{ "Endpoint not alive: /[2001:db8::5]:7000", "2001:db8::5" },
		{ "Endpoint not alive: /0:0:0:0:0:0:0:1", "0:0:0:0:0:0:0:1" },
		{ "Endpoint not alive: 127.0.0.2", NULL },	/* no slash */
		{ "Endpoint not alive: /$(rm):7000", NULL },
		{ "Endpoint not alive: /[2001:db8::5:7000", NULL },
		{ "Endpoint not alive: /", NULL },
		{ "Cassandra is not running", NULL },
		{ "", NULL },
		{ NULL, NULL },
	};
	char a[80];
	int64_t ms;
	json_t *p;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = repair_endpoint_down(cases[i].msg, a, sizeof(a));
		if (cases[i].addr == NULL)
			T_CHECK(rc == -1, "row %zu: found '%s'", i, a);
		else
			T_CHECK(rc == 0 && strcmp(a, cases[i].addr) == 0,
			    "row %zu: want %s, got rc %d '%s'", i, cases[i].addr,
			    rc, a);
	}
	T_EQ_INT(repair_endpoint_down("Endpoint not alive: /127.0.0.2:7000", a,
	    5), -1);			/* does not fit */

	T_EQ_INT(repair_postponed_wait_for("postponed: waiting for 10.0.0.2 "
	    "(down): it runs when the node is back", a, sizeof(a)), 0);
	T_EQ_STR(a, "10.0.0.2");
	T_EQ_INT(repair_postponed_wait_for("repaired ks1: 2 sessions", a,
	    sizeof(a)), -1);
	T_EQ_INT(repair_postponed_wait_for("postponed: waiting for ", a,
	    sizeof(a)), -1);
	T_EQ_INT(repair_postponed_wait_for(NULL, a, sizeof(a)), -1);

	p = json_pack("{s:s}", "down_deadline", "30m");
	T_EQ_INT(repair_down_deadline_ms(p, &ms), 0);
	T_EQ_INT(ms, 30LL * 60 * 1000);
	json_object_set_new(p, "down_deadline", json_string("0"));
	T_EQ_INT(repair_down_deadline_ms(p, &ms), 0);
	T_EQ_INT(ms, 0);
	json_object_del(p, "down_deadline");
	T_EQ_INT(repair_down_deadline_ms(p, &ms), 0);
	T_EQ_INT(ms, 6LL * 3600 * 1000);
	json_decref(p);
}

/* --range ST:ET: what is taken exactly, and what is refused. */
static void test_range_parse(void)
{
	static const struct {
		const char *in;
		int ok;
		int64_t s, e;
	} cases[] = {
		{ "0:10", 0, 0, 10 },
		{ "-10:10", 0, -10, 10 },
		{ "10:-10", 0, 10, -10 },		/* wraps: taken whole */
		{ "-9223372036854775808:9223372036854775807", 0, MIN_TOK, MAX_TOK },
		{ "9223372036854775807:-9223372036854775808", 0, MAX_TOK, MIN_TOK },
		{ "007:8", 0, 7, 8 },			/* leading zeros are still the token */
		{ "-0:1", 0, 0, 1 },
		{ "5:5", -1, 0, 0 },			/* (t, t]: nodetool refuses */
		{ "0:-0", -1, 0, 0 },			/* the same token spelled twice */
		{ "9223372036854775808:0", -1, 0, 0 },	/* overflow */
		{ "0:-9223372036854775809", -1, 0, 0 },	/* underflow */
		{ "0:99999999999999999999999", -1, 0, 0 },
		{ "0:85070591730234615865843651857942052864", -1, 0, 0 },
		{ "", -1, 0, 0 },
		{ ":", -1, 0, 0 },
		{ "1:", -1, 0, 0 },
		{ ":1", -1, 0, 0 },
		{ "1", -1, 0, 0 },			/* no colon */
		{ "1:2:3", -1, 0, 0 },
		{ " 1:2", -1, 0, 0 },			/* strtoll would skip it */
		{ "1 :2", -1, 0, 0 },
		{ "1: 2", -1, 0, 0 },
		{ "1:2 ", -1, 0, 0 },
		{ "1:2\n", -1, 0, 0 },
		{ "+1:2", -1, 0, 0 },
		{ "1:+2", -1, 0, 0 },
		{ "-:2", -1, 0, 0 },
		{ "--1:2", -1, 0, 0 },
		{ "0x10:20", -1, 0, 0 },
		{ "1e3:2000", -1, 0, 0 },
		{ "1,2", -1, 0, 0 },			/* nodetool's own list syntax */
		{ "1:2,3:4", -1, 0, 0 },
		{ "(1,2]", -1, 0, 0 },
		{ "1;rm -rf /:2", -1, 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct repair_range r = { 42, 42 };
		char err[256] = "";
		int rc = repair_range_parse(cases[i].in, &r, err, sizeof(err));

		T_CHECK(rc == cases[i].ok, "'%s': got %d, want %d (%s)",
		    cases[i].in, rc, cases[i].ok, err);
		if (rc == 0 && cases[i].ok == 0) {
			T_CHECK(r.start == cases[i].s && r.end == cases[i].e,
			    "'%s': got (%" PRId64 ",%" PRId64 "]", cases[i].in,
			    r.start, r.end);
		} else if (rc != 0) {
			T_CHECK(strstr(err, "--range") != NULL,
			    "'%s': error does not name --range: '%s'", cases[i].in, err);
		}
	}
	/* a NULL text is refused, not a crash */
	{
		struct repair_range r;
		char err[256] = "";
		T_EQ_INT(repair_range_parse(NULL, &r, err, sizeof(err)), -1);
	}
}

int main(void)
{
	test_tokens();
	test_range_parse();
	test_primary();
	test_split();
	test_real_ring();
	test_params();
	test_summary();
	test_repair_admin();
	test_repair_admin_real();
	test_postpone();
	return t_done("test_repair");
}
