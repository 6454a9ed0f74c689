/*
 * test_gate.c - the health gate's pure core: health reports parsed
 * defensively into views, and the rules judged over them (gate.h).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "t.h"
#include "../../orchestrator/engine/task.h"
#include "../../orchestrator/tasks/gate.h"

/* A health report: me with gossip/native, its view "a:UN,b:DN,...". */
static json_t *report(bool gossip, bool native, const char *ring,
    int pending)
{
	json_t *nodes = json_array();
	char *copy = strdup(ring), *save = NULL;
	json_t *d;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",",
	    &save)) {
		char *c = strchr(t, ':');
		const char *st, *sa;
		*c = '\0';
		st = c[1] == 'U' ? "up" : c[1] == 'D' ? "down" : "unknown";
		sa = c[2] == 'N' ? "normal" : c[2] == 'J' ? "joining" :
		    c[2] == 'L' ? "leaving" : c[2] == 'M' ? "moving" : "unknown";
		json_array_append_new(nodes, json_pack("{s:s, s:s, s:s}",
		    "address", t, "status", st, "state", sa));
	}
	free(copy);
	d = json_pack("{s:b, s:b, s:b, s:s, s:{s:[{s:s, s:o}]}}", "process_up",
	    1, "gossip", gossip, "native_transport", native,
	    "cassandra_version", "4.1.1", "peers", "datacenters", "name",
	    "dc1", "nodes", nodes);
	if (pending >= 0)
		json_object_set_new(d, "pending_compactions",
		    json_integer(pending));
	return d;
}

static const char *const three[] = { "10.0.0.1", "10.0.0.2", "10.0.0.3" };
#define ALL_UN "10.0.0.1:UN,10.0.0.2:UN,10.0.0.3:UN"

struct vspec {
	const char *ring;	/* NULL: not reached */
	bool gossip, native;
	int pending;
};

struct gcase {
	const char *name;
	struct vspec v[3];
	const char *back;
	int64_t max_pending;
	bool want;
	const char *why;	/* substring of why when !want */
};

static const struct gcase cases[] = {
	{ "all UN", { { ALL_UN, 1, 1, 0 }, { ALL_UN, 1, 1, 0 },
	  { ALL_UN, 1, 1, 0 } }, NULL, -1, true, NULL },
	{ "one DN in one view", { { "10.0.0.1:UN,10.0.0.2:UN,10.0.0.3:DN", 1,
	  1, 0 }, { ALL_UN, 1, 1, 0 }, { ALL_UN, 1, 1, 0 } }, NULL, -1, false,
	  "10.0.0.3 is DN in 10.0.0.1's nodetool status" },
	{ "a node not reached", { { ALL_UN, 1, 1, 0 }, { ALL_UN, 1, 1, 0 },
	  { NULL, 0, 0, 0 } }, NULL, -1, false,
	  "10.0.0.3's Cassandra does not answer nodetool" },
	{ "a joining node", { { ALL_UN ",10.0.0.4:UJ", 1, 1, 0 },
	  { ALL_UN, 1, 1, 0 }, { ALL_UN, 1, 1, 0 } }, NULL, -1, false,
	  "10.0.0.4 is UJ (joining) in 10.0.0.1's" },
	{ "a leaving expected node", { { "10.0.0.1:UN,10.0.0.2:UL,"
	  "10.0.0.3:UN", 1, 1, 0 }, { ALL_UN, 1, 1, 0 }, { ALL_UN, 1, 1, 0 } },
	  NULL, -1, false, "10.0.0.2 is UL (leaving)" },
	{ "a moving node", { { ALL_UN, 1, 1, 0 }, { "10.0.0.1:UN,10.0.0.2:UN,"
	  "10.0.0.3:UM", 1, 1, 0 }, { ALL_UN, 1, 1, 0 } }, NULL, -1, false,
	  "UM (moving)" },
	{ "unknown DN node in a view", { { ALL_UN ",10.0.0.9:DN", 1, 1, 0 },
	  { ALL_UN, 1, 1, 0 }, { ALL_UN, 1, 1, 0 } }, NULL, -1, false,
	  "10.0.0.9 is DN in 10.0.0.1's" },
	{ "expected node missing", { { "10.0.0.1:UN,10.0.0.2:UN", 1, 1, 0 },
	  { ALL_UN, 1, 1, 0 }, { ALL_UN, 1, 1, 0 } }, NULL, -1, false,
	  "10.0.0.3 is missing from 10.0.0.1's nodetool status" },
	{ "compactions under the limit", { { ALL_UN, 1, 1, 5 },
	  { ALL_UN, 1, 1, 10 }, { ALL_UN, 1, 1, 0 } }, NULL, 10, true, NULL },
	{ "compactions over the limit", { { ALL_UN, 1, 1, 5 },
	  { ALL_UN, 1, 1, 11 }, { ALL_UN, 1, 1, 0 } }, NULL, 10, false,
	  "10.0.0.2 has 11 pending compactions (max_pending_compactions 10)" },
	{ "compactions unread with a limit", { { ALL_UN, 1, 1, -1 },
	  { ALL_UN, 1, 1, 0 }, { ALL_UN, 1, 1, 0 } }, NULL, 10, false,
	  "10.0.0.1's pending compactions cannot be read" },
	{ "compactions unread, no limit", { { ALL_UN, 1, 1, -1 },
	  { ALL_UN, 1, 1, 500 }, { ALL_UN, 1, 1, 0 } }, NULL, -1, true, NULL },
	{ "back: all good", { { ALL_UN, 1, 1, 0 }, { ALL_UN, 1, 1, 0 },
	  { ALL_UN, 1, 1, 0 } }, "10.0.0.3", -1, true, NULL },
	{ "back: native transport off", { { ALL_UN, 1, 1, 0 },
	  { ALL_UN, 1, 1, 0 }, { ALL_UN, 1, 0, 0 } }, "10.0.0.3", -1, false,
	  "10.0.0.3 has native transport off" },
	{ "back: gossip off", { { ALL_UN, 1, 1, 0 }, { ALL_UN, 1, 1, 0 },
	  { ALL_UN, 0, 1, 0 } }, "10.0.0.3", -1, false,
	  "10.0.0.3 has gossip off" },
	{ "back: down in its own view", { { ALL_UN, 1, 1, 0 },
	  { ALL_UN, 1, 1, 0 }, { "10.0.0.1:UN,10.0.0.2:UN,10.0.0.3:DN", 1, 1,
	  0 } }, "10.0.0.3", -1, false,
	  "10.0.0.3 is DN in its own nodetool status" },
	{ "back: nobody else sees it", { { "10.0.0.1:UN,10.0.0.2:UN,"
	  "10.0.0.3:DN", 1, 1, 0 }, { "10.0.0.1:UN,10.0.0.2:UN,10.0.0.3:DN", 1,
	  1, 0 }, { ALL_UN, 1, 1, 0 } }, "10.0.0.3", -1, false,
	  "no other node sees 10.0.0.3 UN" },
	{ "back: one other sees it, another not yet", { { ALL_UN, 1, 1, 0 },
	  { "10.0.0.1:UN,10.0.0.2:UN,10.0.0.3:DN", 1, 1, 0 },
	  { ALL_UN, 1, 1, 0 } }, "10.0.0.3", -1, false,
	  "10.0.0.3 is DN in 10.0.0.2's" },
	{ "back: not reached", { { ALL_UN, 1, 1, 0 }, { ALL_UN, 1, 1, 0 },
	  { NULL, 0, 0, 0 } }, "10.0.0.3", -1, false,
	  "10.0.0.3's Cassandra does not answer nodetool" },
};

static void test_eval(void)
{
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct gcase *g = &cases[c];
		struct gate_view v[3];
		struct gate_want w = { three, 3, g->back, g->max_pending };
		char why[512];
		bool got;

		for (int i = 0; i < 3; i++) {
			json_t *d = g->v[i].ring ? report(g->v[i].gossip,
			    g->v[i].native, g->v[i].ring, g->v[i].pending) : NULL;
			gate_view_parse(&v[i], three[i], d, g->v[i].ring ?
			    TASK_STEP_OK : TASK_STEP_FAIL, 0, "ssh: timed out");
			json_decref(d);
		}
		got = gate_eval(v, 3, &w, why, sizeof(why));
		T_CHECK(got == g->want, "%s: got %d (%s)", g->name, got, why);
		if (!g->want)
			T_CHECK(strstr(why, g->why) != NULL, "%s: why '%s' lacks "
			    "'%s'", g->name, why, g->why);
		for (int i = 0; i < 3; i++)
			gate_view_release(&v[i]);
	}
}

/* Reports from the network: anything missing or mistyped is never
 * trusted as healthy. */
static void test_parse_defensive(void)
{
	static const char *const bad[] = {
		"[]",
		"{}",
		"{\"process_up\": \"yes\"}",
		"{\"process_up\": false, \"errors\": [\"Failed to connect\"]}",
	};
	struct gate_view v;
	struct gate_want w = { three, 1, NULL, -1 };
	char why[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *d = json_loads(bad[i], 0, NULL);
		gate_view_parse(&v, "10.0.0.1", d, TASK_STEP_OK, 0, NULL);
		T_CHECK(!v.reached, "'%s' reached", bad[i]);
		T_CHECK(!gate_eval(&v, 1, &w, why, sizeof(why)), "'%s' met",
		    bad[i]);
		gate_view_release(&v);
		json_decref(d);
	}
	/* Reached, but the peers are garbage: the node is missing from its
	 * own view, so the gate is not met. */
	{
		json_t *d = json_loads("{\"process_up\": true, \"gossip\": true, "
		    "\"native_transport\": true, \"peers\": {\"datacenters\": "
		    "[{\"nodes\": [{\"address\": 7}, \"x\", {\"status\": "
		    "\"up\"}]}, 3]}, \"pending_compactions\": \"9\"}", 0, NULL);
		gate_view_parse(&v, "10.0.0.1", d, TASK_STEP_OK, 0, NULL);
		T_CHECK(v.reached, "reached");
		T_EQ_INT(v.n_peers, 0);
		T_EQ_INT(v.pending, -1);
		T_CHECK(!gate_eval(&v, 1, &w, why, sizeof(why)), "met");
		T_CHECK(strstr(why, "missing") != NULL, "why '%s'", why);
		gate_view_release(&v);
		json_decref(d);
	}
	/* The agent ran but exited 3 (Cassandra down). */
	{
		json_t *d = report(true, true, ALL_UN, 0);
		gate_view_parse(&v, "10.0.0.1", d, TASK_STEP_OK, 3, NULL);
		T_CHECK(!v.reached, "exit 3 reached");
		gate_view_release(&v);
		json_decref(d);
	}
	/* A cluster of one: its own view is enough for "back". */
	{
		json_t *d = report(true, true, "10.0.0.1:UN", 0);
		struct gate_want w1 = { three, 1, "10.0.0.1", -1 };
		gate_view_parse(&v, "10.0.0.1", d, TASK_STEP_OK, 0, NULL);
		T_CHECK(gate_eval(&v, 1, &w1, why, sizeof(why)), "one node: %s",
		    why);
		T_EQ_STR(v.version, "4.1.1");
		gate_view_release(&v);
		json_decref(d);
	}
}

static void test_params(void)
{
	struct gate_opts o = GATE_OPTS_INIT;
	json_t *p = json_pack("{s:i, s:i}", "gate_timeout_s", 30,
	    "max_pending_compactions", 0);

	gate_params_opts(p, &o);
	T_EQ_INT(o.timeout_ms, 30000);
	T_EQ_INT(o.max_pending, 0);
	json_decref(p);
	p = json_object();
	o.max_pending = 7;
	gate_params_opts(p, &o);
	T_EQ_INT(o.max_pending, -1);
	json_decref(p);
}

int main(void)
{
	test_eval();
	test_parse_defensive();
	test_params();
	return t_done("test_gate");
}
