/*
 * test_scale.c - the pure rules of scale-in and decommission
 * (orchestrator/tasks/scale_plan.c): which nodes leave, the disk and RF
 * refusals with their numbers, the keyspaces answer parsed defensively;
 * and the agent's netstats Mode parser (agent/scale.c) on real 4.1 lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../agent/scale.h"
#include "../../common/util.h"
#include "../../orchestrator/tasks/scale_plan.h"
#include "t.h"

#define GIB (1024LL * 1024 * 1024)

/* A 6-node cluster: dc1 racks r1 (3) and r2 (1), dc2 r1 (2). */
static const struct scale_node six[] = {
	{ "10.0.0.1", "dc1", "r1", 10 * GIB, 100 * GIB, true, true },
	{ "10.0.0.2", "dc1", "r1", 12 * GIB, 100 * GIB, true, false },
	{ "10.0.0.3", "dc1", "r1", 8 * GIB, 100 * GIB, true, false },
	{ "10.0.0.4", "dc1", "r2", 1 * GIB, 100 * GIB, true, false },
	{ "10.0.0.5", "dc2", "r1", 5 * GIB, 50 * GIB, true, false },
	{ "10.0.0.6", "dc2", "r1", 5 * GIB, 50 * GIB, false, false },
};

static void test_choose(void)
{
	static const struct {
		int count;
		const char *dc, *rack;
		const char *want[3];	/* NULL: refused */
	} rows[] = {
		/* the fullest rack (dc1 r1) before the lightest node (10.0.0.4),
		 * the seed 10.0.0.1 last; then least load */
		{ 1, "dc1", NULL, { "10.0.0.3" } },
		{ 2, "dc1", NULL, { "10.0.0.3", "10.0.0.2" } },
		/* r1 and r2 even at 1 each after two: the lighter, 10.0.0.4 */
		{ 3, "dc1", NULL, { "10.0.0.3", "10.0.0.2", "10.0.0.4" } },
		{ 1, "dc1", "r2", { "10.0.0.4" } },
		/* 10.0.0.6 is down: never chosen */
		{ 1, "dc2", NULL, { "10.0.0.5" } },
		{ 2, "dc2", NULL, { NULL } },
		{ 5, "dc1", NULL, { NULL } },
		{ 0, NULL, NULL, { NULL } },
		{ 1, "dc9", NULL, { NULL } },
	};
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		size_t out[8];
		int rc = scale_plan_choose(six, ARRAY_SIZE(six), rows[i].count,
		    rows[i].dc, rows[i].rack, out, err, sizeof(err));
		if (rows[i].want[0] == NULL) {
			T_CHECK(rc == -1, "row %zu: chosen, want refused", i);
			T_CHECK(strstr(err, "cannot choose") != NULL, "row %zu: %s",
			    i, err);
			continue;
		}
		T_CHECK(rc == 0, "row %zu: %s", i, err);
		for (int k = 0; rc == 0 && k < rows[i].count; k++)
			T_EQ_STR(six[out[k]].address, rows[i].want[k]);
	}
}

static void test_choose_ties(void)
{
	/* Same rack, same load: the highest address goes first; unknown
	 * load counts as the most. */
	static const struct scale_node v[] = {
		{ "10.0.0.9", "dc1", "r1", 5, 9, true, false },
		{ "10.0.0.10", "dc1", "r1", 5, 9, true, false },
		{ "10.0.0.11", "dc1", "r1", -1, 9, true, false },
	};
	size_t out[2];
	char err[128];

	T_CHECK(scale_plan_choose(v, 3, 2, NULL, NULL, out, err,
	    sizeof(err)) == 0, "%s", err);
	T_EQ_STR(v[out[0]].address, "10.0.0.10");	/* 10 > 9 as numbers */
	T_EQ_STR(v[out[1]].address, "10.0.0.9");
}

static void test_disk(void)
{
	bool leaving[ARRAY_SIZE(six)];
	char err[512];

	/* 10.0.0.3 (8 GiB) into 300 GiB free: fits */
	memset(leaving, 0, sizeof(leaving));
	leaving[2] = true;
	T_CHECK(scale_plan_disk(six, ARRAY_SIZE(six), leaving, err,
	    sizeof(err)) == 0, "%s", err);
	/* dc2: 10.0.0.5's 5 GiB needs 6 GiB, the one that stays has 50 */
	memset(leaving, 0, sizeof(leaving));
	leaving[4] = true;
	T_CHECK(scale_plan_disk(six, ARRAY_SIZE(six), leaving, err,
	    sizeof(err)) == 0, "%s", err);
	/* both of dc2: nothing stays there */
	leaving[5] = true;
	T_CHECK(scale_plan_disk(six, ARRAY_SIZE(six), leaving, err,
	    sizeof(err)) == -1, "dc2 emptied");
	T_CHECK(strstr(err, "not enough disk in dc dc2") && strstr(err,
	    "the 0 node(s) that stay"), "%s", err);
}

static void test_disk_numbers(void)
{
	/* 100 GiB leaving, 20% headroom = 120 GiB, 119 GiB free: refused */
	struct scale_node v[] = {
		{ "a", "dc1", "r1", 100 * GIB, 10 * GIB, true, false },
		{ "b", "dc1", "r1", 1, 60 * GIB, true, false },
		{ "c", "dc1", "r1", 1, 59 * GIB, true, false },
	};
	bool leaving[3] = { true, false, false };
	char err[512];

	T_CHECK(scale_plan_disk(v, 3, leaving, err, sizeof(err)) == -1,
	    "119 GiB free accepted for 120 GiB");
	T_CHECK(strstr(err, "hold 100.00 GiB (107374182400 bytes)") &&
	    strstr(err, "needs 120.00 GiB with 20% headroom") &&
	    strstr(err, "have 119.00 GiB (127775277056 bytes) free"), "%s", err);
	v[2].free_bytes = 60 * GIB;			/* exactly 120: fits */
	T_CHECK(scale_plan_disk(v, 3, leaving, err, sizeof(err)) == 0, "%s",
	    err);
	v[2].free_bytes = -1;				/* not known: counts 0 */
	T_CHECK(scale_plan_disk(v, 3, leaving, err, sizeof(err)) == -1,
	    "unknown free space counted");
	T_CHECK(strstr(err, "count 0") != NULL, "%s", err);
	v[2].free_bytes = 60 * GIB;
	v[0].load_bytes = -1;				/* its load not known */
	T_CHECK(scale_plan_disk(v, 3, leaving, err, sizeof(err)) == -1,
	    "unknown load accepted");
	T_CHECK(strstr(err, "the load of a is not known") != NULL, "%s", err);
}

static void test_rf(void)
{
	struct scale_ks ks[] = {
		{ (char *)(uintptr_t)"shop", (char *)(uintptr_t)"dc1", 3 },
		{ (char *)(uintptr_t)"shop", (char *)(uintptr_t)"dc2", 2 },
		{ (char *)(uintptr_t)"sys", NULL, 5 },
	};
	bool leaving[ARRAY_SIZE(six)];
	char err[512];

	memset(leaving, 0, sizeof(leaving));
	leaving[3] = true;				/* dc1 keeps 3 */
	T_CHECK(scale_plan_rf(six, 6, leaving, ks, 3, err, sizeof(err)) == 0,
	    "%s", err);
	leaving[2] = true;				/* dc1 keeps 2 < 3 */
	T_CHECK(scale_plan_rf(six, 6, leaving, ks, 3, err, sizeof(err)) == -1,
	    "RF 3 with 2 nodes");
	T_CHECK(strstr(err, "keyspace shop has RF 3 in dc dc1, but only 2 of "
	    "its 4 node(s) would stay") != NULL, "%s", err);
	memset(leaving, 0, sizeof(leaving));
	leaving[4] = true;				/* dc2 keeps 1 < 2 */
	T_CHECK(scale_plan_rf(six, 6, leaving, ks, 3, err, sizeof(err)) == -1,
	    "RF 2 with 1 node");
	T_CHECK(strstr(err, "RF 2 in dc dc2, but only 1 of its 2") != NULL,
	    "%s", err);
	memset(leaving, 0, sizeof(leaving));
	leaving[0] = leaving[3] = true;			/* 4 stay < sys's 5 */
	T_CHECK(scale_plan_rf(six, 6, leaving, ks + 2, 1, err,
	    sizeof(err)) == -1, "SimpleStrategy RF 5 with 4 nodes");
	T_CHECK(strstr(err, "SimpleStrategy, over the whole cluster), but "
	    "only 4 of its 6") != NULL, "%s", err);
}

static void test_keyspaces(void)
{
	static const struct {
		const char *json;
		int n;			/* entries, -1: refused */
		const char *err;
	} rows[] = {
		{ "{\"keyspaces\":[{\"name\":\"system\",\"replication_class\":"
		  "\"LocalStrategy\",\"options\":{}},{\"name\":\"sd\","
		  "\"replication_class\":\"SimpleStrategy\",\"options\":"
		  "{\"replication_factor\":\"3\"}},{\"name\":\"shop\","
		  "\"replication_class\":\"org.apache.cassandra.locator."
		  "NetworkTopologyStrategy\",\"options\":{\"dc1\":\"3\","
		  "\"dc2\":\"2/1\"}}]}", 3, NULL },
		{ "{\"keyspaces\":[]}", 0, NULL },
		{ "{}", -1, "no \"keyspaces\" array" },
		{ "{\"keyspaces\":[{\"name\":\"k\"}]}", -1, "lacks" },
		{ "{\"keyspaces\":[{\"name\":\"k\",\"replication_class\":"
		  "\"SimpleStrategy\",\"options\":{\"replication_factor\":"
		  "\"three\"}}]}", -1, "not a replica count" },
		{ "{\"keyspaces\":[{\"name\":\"k\",\"replication_class\":"
		  "\"SimpleStrategy\",\"options\":{\"replication_factor\":"
		  "3}}]}", -1, "not a string" },
		{ "{\"keyspaces\":[{\"name\":\"k\",\"replication_class\":"
		  "\"MyStrategy\",\"options\":{}}]}", -1, "does not know" },
		{ "{\"keyspaces\":[{\"name\":\"k\",\"replication_class\":"
		  "\"XSimpleStrategy\",\"options\":{}}]}", -1, "does not know" },
		{ "{\"keyspaces\":[{\"name\":\"k\",\"replication_class\":"
		  "\"SimpleStrategy\",\"options\":{\"replication_factor\":"
		  "\"12345\"}}]}", -1, "not a replica count" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		json_t *j = json_loads(rows[i].json, 0, NULL);
		struct scale_ks *ks = NULL;
		size_t n = 0;
		char err[256] = "";
		int rc;

		T_CHECK(j != NULL, "row %zu: bad test JSON", i);
		rc = scale_plan_keyspaces(j, &ks, &n, err, sizeof(err));
		if (rows[i].n < 0) {
			T_CHECK(rc == -1, "row %zu accepted", i);
			T_CHECK(strstr(err, rows[i].err) != NULL, "row %zu: %s", i,
			    err);
		} else {
			T_CHECK(rc == 0, "row %zu: %s", i, err);
			T_EQ_INT(n, rows[i].n);
		}
		if (i == 0 && rc == 0 && n == 3) {
			T_EQ_STR(ks[0].name, "sd");
			T_CHECK(ks[0].dc == NULL && ks[0].rf == 3, "sd: simple 3");
			T_EQ_STR(ks[2].dc, "dc2");
			T_EQ_INT(ks[2].rf, 2);		/* "2/1": full replicas */
		}
		scale_plan_ks_free(ks, n);
		json_decref(j);
	}
}

static void test_netstats(void)
{
	static const struct {
		const char *out;
		const char *mode;	/* NULL: refused */
	} rows[] = {
		{ "Mode: NORMAL\nNot sending any streams.\nRead Repair "
		  "Statistics:\nAttempted: 0\n", "NORMAL" },
		{ "Mode: LEAVING\nUnbootstrap 1c1e\n", "LEAVING" },
		{ "Mode: DECOMMISSIONED\r\nNot sending any streams.\r\n",
		  "DECOMMISSIONED" },
		{ "Mode: DECOMMISSIONED   \n", "DECOMMISSIONED" },
		{ "Not sending any streams.\n", NULL },
		{ "Mode: normal\n", NULL },
		{ "Mode: NORMAL extra\n", NULL },
		{ "Mode: \n", NULL },
		{ "", NULL },
		{ "Mode: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
		  NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char mode[32] = "", err[256] = "";
		int rc = scale_parse_netstats_mode(rows[i].out,
		    strlen(rows[i].out), mode, sizeof(mode), err, sizeof(err));
		if (rows[i].mode == NULL) {
			T_CHECK(rc == -1, "row %zu: accepted as '%s'", i, mode);
			T_CHECK(err[0] != '\0', "row %zu: no message", i);
		} else {
			T_CHECK(rc == 0, "row %zu: %s", i, err);
			T_EQ_STR(mode, rows[i].mode);
		}
	}
	T_CHECK(scale_keyspace_valid("shop_2") && !scale_keyspace_valid("a b")
	    && !scale_keyspace_valid("") && !scale_keyspace_valid(NULL) &&
	    !scale_keyspace_valid("k;rm") && !scale_keyspace_valid(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    "keyspace names");
}

int main(void)
{
	test_choose();
	test_choose_ties();
	test_disk();
	test_disk_numbers();
	test_rf();
	test_keyspaces();
	test_netstats();
	return t_done("test_scale");
}
