/*
 * test_lifecycle - orchestrator/lifecycle/: the seed choice, the dead-node
 * judgement, the bootstrap slot and the check-in role, each table-driven.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../orchestrator/lifecycle/judge.h"
#include "../../orchestrator/lifecycle/role.h"
#include "../../orchestrator/lifecycle/seeds.h"
#include "../../orchestrator/lifecycle/slot.h"
#include "t.h"

/* ---------- seeds ---------- */

#define N(a, dc, rack, live) { a, dc, rack, live }
#define MAXN 16

struct seeds_row {
	const char *name;
	struct seeds_node nodes[MAXN];
	const char *prev[MAXN];
	const char *pinned[MAXN];
	int per_dc;
	const char *want;	/* comma-separated, in order */
};

static const struct seeds_row seeds_rows[] = {
	{ "empty cluster: no seed", { N(NULL, NULL, NULL, false) }, { NULL },
	  { NULL }, 3, "" },
	{ "only live normal nodes",
	  { N("10.0.0.1", "dc1", "r1", false), N("10.0.0.2", "dc1", "r1",
	    true), N("10.0.0.3", "dc1", "r2", false) }, { NULL }, { NULL },
	  3, "10.0.0.2" },
	{ "one per rack first",
	  { N("10.0.0.1", "dc1", "r1", true), N("10.0.0.2", "dc1", "r1",
	    true), N("10.0.0.3", "dc1", "r2", true), N("10.0.0.4", "dc1",
	    "r3", true), N("10.0.0.5", "dc1", "r3", true) }, { NULL },
	  { NULL }, 3, "10.0.0.1,10.0.0.3,10.0.0.4" },
	{ "one rack fills to per_dc",
	  { N("10.0.0.3", "dc1", "r1", true), N("10.0.0.1", "dc1", "r1",
	    true), N("10.0.0.2", "dc1", "r1", true), N("10.0.0.4", "dc1",
	    "r1", true) }, { NULL }, { NULL }, 3,
	  "10.0.0.1,10.0.0.2,10.0.0.3" },
	{ "two racks, three seeds: the second round fills",
	  { N("a", "dc1", "r1", true), N("b", "dc1", "r1", true),
	    N("c", "dc1", "r2", true), N("d", "dc1", "r2", true) }, { NULL },
	  { NULL }, 3, "a,b,c" },
	{ "more racks than seeds: per_dc caps",
	  { N("a", "dc1", "r1", true), N("b", "dc1", "r2", true),
	    N("c", "dc1", "r3", true), N("d", "dc1", "r4", true) }, { NULL },
	  { NULL }, 2, "a,b" },
	{ "stable: live previous seeds stay, even in later racks",
	  { N("a", "dc1", "r1", true), N("b", "dc1", "r2", true),
	    N("c", "dc1", "r3", true), N("d", "dc1", "r4", true) },
	  { "d", "c" }, { NULL }, 2, "c,d" },
	{ "a dead seed is replaced in its rack",
	  { N("a", "dc1", "r1", false), N("b", "dc1", "r1", true),
	    N("c", "dc1", "r2", true) }, { "a", "c" }, { NULL }, 2, "b,c" },
	{ "a seed that left (not in nodes) is replaced",
	  { N("b", "dc1", "r1", true), N("c", "dc1", "r2", true) },
	  { "a", "c" }, { NULL }, 2, "b,c" },
	{ "stable beats address order",
	  { N("a", "dc1", "r1", true), N("z", "dc1", "r1", true) },
	  { "z" }, { NULL }, 1, "z" },
	{ "every DC gets its own, DCs in name order",
	  { N("e1", "east", "r1", true), N("w1", "west", "r1", true),
	    N("e2", "east", "r2", true), N("w2", "west", "r1", true) },
	  { NULL }, { NULL }, 3, "e1,e2,w1,w2" },
	{ "a DC with no live node has no seed",
	  { N("e1", "east", "r1", false), N("w1", "west", "r1", true) },
	  { "e1" }, { NULL }, 3, "w1" },
	{ "pinned seeds win, as given",
	  { N("a", "dc1", "r1", true), N("b", "dc1", "r2", true) },
	  { "a" }, { "x", "b", "x" }, 3, "x,b" },
	{ "per_dc out of range is the default 3",
	  { N("a", "dc1", "r1", true), N("b", "dc1", "r2", true),
	    N("c", "dc1", "r3", true), N("d", "dc1", "r4", true) }, { NULL },
	  { NULL }, 0, "a,b,c" },
	{ "no dc and rack count as empty names",
	  { N("b", NULL, NULL, true), N("a", NULL, NULL, true) }, { NULL },
	  { NULL }, 3, "a,b" },
};

static size_t count(const void *const *p, size_t max)
{
	size_t n = 0;
	while (n < max && p[n] != NULL)
		n++;
	return n;
}

static void test_seeds(void)
{
	for (size_t r = 0; r < sizeof(seeds_rows) / sizeof(seeds_rows[0]);
	    r++) {
		const struct seeds_row *x = &seeds_rows[r];
		const char *out[MAXN];
		char got[256] = "";
		size_t nn = 0, k;

		while (nn < MAXN && x->nodes[nn].address != NULL)
			nn++;
		k = seeds_choose(x->nodes, nn, x->prev,
		    count((const void *const *)x->prev, MAXN), x->pinned,
		    count((const void *const *)x->pinned, MAXN), x->per_dc,
		    out, MAXN);
		for (size_t i = 0; i < k; i++) {
			if (i > 0)
				strcat(got, ",");
			strcat(got, out[i]);
		}
		T_CHECK(strcmp(got, x->want) == 0, "%s: got '%s', want '%s'",
		    x->name, got, x->want);
	}
	/* outcap is honoured */
	{
		struct seeds_node nodes[] = { N("a", "d", "1", true),
		    N("b", "d", "2", true), N("c", "d", "3", true) };
		const char *out[2];
		T_EQ_INT(seeds_choose(nodes, 3, NULL, 0, NULL, 0, 3, out, 2), 2);
	}
}

/* ---------- judge ---------- */

#define V(obs, live, at, st) { obs, live, at, st }

struct judge_row {
	const char *name;
	int64_t now, last, timeout;
	struct judge_view views[4];
	size_t nviews;
	enum judge_verdict want;
	const char *reason_has;
};

static const struct judge_row judge_rows[] = {
	{ "fresh heartbeat: the agent's report stands", 10000, 9000, 3000,
	  { V("b", true, 9500, 'D') }, 1, JUDGE_REPORTED, "ms ago" },
	{ "exactly at the timeout is still fresh", 12000, 9000, 3000,
	  { { 0 } }, 0, JUDGE_REPORTED, NULL },
	{ "silent, no peers: unreachable", 20000, 9000, 3000, { { 0 } }, 0,
	  JUDGE_UNREACHABLE, "cannot tell" },
	{ "silent, a live peer sees DN: down", 20000, 9000, 3000,
	  { V("b", true, 19000, 'D') }, 1, JUDGE_DOWN, "(b) sees it down" },
	{ "silent, peers see UN: agent down", 20000, 9000, 3000,
	  { V("b", true, 19000, 'U'), V("c", true, 19000, 'U') }, 2,
	  JUDGE_AGENT_DOWN, "2 live peers (b, ...) see Cassandra up" },
	{ "one UN outweighs any DN: never replace what a peer sees up",
	  20000, 9000, 3000,
	  { V("b", true, 19000, 'D'), V("c", true, 19000, 'U') }, 2,
	  JUDGE_AGENT_DOWN, "agent is down" },
	{ "a silent peer's view does not count", 20000, 9000, 3000,
	  { V("b", false, 19000, 'D') }, 1, JUDGE_UNREACHABLE, NULL },
	{ "a view from before the silence does not count", 20000, 9000, 3000,
	  { V("b", true, 8000, 'U'), V("c", true, 9000, 'U') }, 2,
	  JUDGE_UNREACHABLE, NULL },
	{ "unknown status does not count", 20000, 9000, 3000,
	  { V("b", true, 19000, '?'), V("c", true, 19000, 0) }, 2,
	  JUDGE_UNREACHABLE, NULL },
	{ "never heard from, peer sees DN", 20000, 0, 3000,
	  { V("b", true, 19000, 'D') }, 1, JUDGE_DOWN, "no heartbeat yet" },
	{ "silence in seconds", 70000, 10000, 3000,
	  { V("b", true, 69000, 'D') }, 1, JUDGE_DOWN,
	  "no heartbeat for 60 s" },
};

static void test_judge(void)
{
	for (size_t r = 0; r < sizeof(judge_rows) / sizeof(judge_rows[0]);
	    r++) {
		const struct judge_row *x = &judge_rows[r];
		struct judge_in in = { x->now, x->last, x->timeout, x->views,
		    x->nviews };
		char reason[256] = "";
		enum judge_verdict v = judge_node(&in, reason, sizeof(reason));

		T_CHECK(v == x->want, "%s: got %s, want %s (%s)", x->name,
		    judge_verdict_name(v), judge_verdict_name(x->want), reason);
		if (x->reason_has != NULL)
			T_CHECK(strstr(reason, x->reason_has) != NULL,
			    "%s: reason '%s' lacks '%s'", x->name, reason,
			    x->reason_has);
	}
	/* NULL reason is allowed */
	{
		struct judge_in in = { 20000, 9000, 3000, NULL, 0 };
		T_CHECK(judge_node(&in, NULL, 0) == JUDGE_UNREACHABLE, "NULL");
	}
	T_EQ_STR(judge_verdict_name(JUDGE_AGENT_DOWN), "agent_down");
}

/* ---------- slot ---------- */

struct slot_row {
	const char *name;
	struct slot s;
	int64_t now;
	struct slot_obs o;
	enum slot_next want;
};

#define SB(h, dl) { true, SLOT_BOOTSTRAP, h, NULL, NULL, NULL, 0, dl }
#define SR(h, dead, dl) { true, SLOT_REPLACE, h, dead, "dc1", "r1", 0, dl }

static const struct slot_row slot_rows[] = {
	{ "free slot: nothing to do", { false, SLOT_BOOTSTRAP, NULL, NULL,
	  NULL, NULL, 0, 0 }, 10, { true, true, 1, true, false }, SLOT_KEEP },
	{ "joining: keep", SB("a", 100), 10, { false, false, 2, false, false },
	  SLOT_KEEP },
	{ "UN in its own view only: keep", SB("a", 100), 10,
	  { true, false, 2, false, false }, SLOT_KEEP },
	{ "UN in a peer's only: keep", SB("a", 100), 10,
	  { false, true, 2, false, false }, SLOT_KEEP },
	{ "UN in both: joined", SB("a", 100), 10, { true, true, 2, false, false },
	  SLOT_JOINED },
	{ "first node, no peers: its own view is enough", SB("a", 100), 10,
	  { true, false, 0, false, false }, SLOT_JOINED },
	{ "deadline passed: expired", SB("a", 100), 100,
	  { true, false, 2, false, false }, SLOT_EXPIRED },
	{ "joined just at the deadline: joined wins", SB("a", 100), 100,
	  { true, true, 1, false, false }, SLOT_JOINED },
	{ "no deadline: keep forever", SB("a", 0), 1000000,
	  { false, false, 1, false, false }, SLOT_KEEP },
	{ "replace: UN but the dead address still listed: keep",
	  SR("n", "d", 100), 10, { true, true, 2, false, false }, SLOT_KEEP },
	{ "replace: UN and the dead address gone: joined",
	  SR("n", "d", 100), 10, { true, true, 2, true, false }, SLOT_JOINED },
	{ "replace: dead gone but the token counts differ: keep",
	  SR("n", "d", 100), 10, { true, true, 2, true, true }, SLOT_KEEP },
	{ "replace: dead gone, token counts agree: joined",
	  SR("n", "d", 100), 10, { true, true, 2, true, false }, SLOT_JOINED },
	{ "replace: the new node UN in its own view only: keep",
	  SR("n", "d", 100), 10, { true, false, 2, true, false }, SLOT_KEEP },
	{ "replace waiting for a host never joins", SR("", "d", 100), 10,
	  { true, true, 2, true, false }, SLOT_KEEP },
	{ "replace waiting for a host expires", SR("", "d", 100), 100,
	  { false, false, 2, false, false }, SLOT_EXPIRED },
};

static void test_slot(void)
{
	struct slot free_s = { 0 }, held = SB("10.0.0.1", 0),
	    waiting = SR("", "10.0.0.9", 0);

	for (size_t r = 0; r < sizeof(slot_rows) / sizeof(slot_rows[0]); r++) {
		const struct slot_row *x = &slot_rows[r];
		enum slot_next n = slot_check(&x->s, x->now, &x->o);
		T_CHECK(n == x->want, "%s: got %d, want %d", x->name, n,
		    x->want);
	}
	T_CHECK(slot_may_take(&free_s, "10.0.0.2"), "free slot");
	T_CHECK(slot_may_take(&held, "10.0.0.1"), "its own holder");
	T_CHECK(!slot_may_take(&held, "10.0.0.2"), "another holder");
	T_CHECK(!slot_may_take(&waiting, ""), "an empty address never holds");
	T_CHECK(!slot_may_take(&held, NULL), "NULL address");
	T_EQ_STR(slot_kind_name(SLOT_REPLACE), "replace");
}

/* ---------- role ---------- */

struct role_row {
	const char *name;
	struct role_in in;
	struct slot slot;
	enum role want;
	const char *want_replace;
	bool want_first, want_take;
	const char *why_has;
};

/* A new, empty node 10.0.0.5 in dc1/r1. */
#define NEW(members, live) { "10.0.0.5", "dc1", "r1", false, 0, 0, 0, \
	false, members, live, NULL, 7 }
#define FREE { false, SLOT_BOOTSTRAP, NULL, NULL, NULL, NULL, 0, 0 }

static const struct role_row role_rows[] = {
	{ "first node of a new cluster: bootstrap alone, seed itself",
	  NEW(0, 0), FREE, ROLE_BOOTSTRAP, NULL, true, true, "first node" },
	{ "new node, live cluster, free slot: bootstrap and take it",
	  NEW(3, 3), FREE, ROLE_BOOTSTRAP, NULL, false, true, "took" },
	{ "new node, slot held by another: wait",
	  NEW(1, 1), SB("10.0.0.2", 0), ROLE_WAIT, NULL, false, false,
	  "10.0.0.2 holds" },
	{ "new node of a new cluster whose first node joins: wait",
	  NEW(0, 0), SB("10.0.0.2", 0), ROLE_WAIT, NULL, false, false,
	  "one join at a time" },
	{ "new node, members but none live: wait (no own ring)",
	  NEW(3, 0), FREE, ROLE_WAIT, NULL, false, false, "of its own" },
	{ "new node holding the slot (restarted mid-join): bootstrap",
	  NEW(1, 1), SB("10.0.0.5", 0), ROLE_BOOTSTRAP, NULL, false, false,
	  "starts again" },
	{ "first node restarted mid-join: still first",
	  NEW(0, 0), SB("10.0.0.5", 0), ROLE_BOOTSTRAP, NULL, true, false,
	  NULL },
	{ "reports a host id: rejoin, whatever the slot",
	  { "10.0.0.5", "dc1", "r1", true, 0, 0, 0, false, 0, 0, NULL, 7 },
	  SB("10.0.0.2", 0), ROLE_REJOIN, NULL, false, false, "host id" },
	{ "known with a host id: rejoin",
	  { "10.0.0.5", "dc1", "r1", false, 0, 0, 0, true, 3, 3, NULL, 7 },
	  FREE, ROLE_REJOIN, NULL, false, false, "known with a host id" },
	{ "Cassandra running: rejoin (never touch a live member)",
	  { "10.0.0.5", "dc1", "r1", false, 1, -1, -1, false, 0, 0, NULL, 7 },
	  FREE, ROLE_REJOIN, NULL, false, false, "running" },
	{ "SSTables: rejoin",
	  { "10.0.0.5", "dc1", "r1", false, 0, 1, 0, false, 0, 0, NULL, 7 },
	  FREE, ROLE_REJOIN, NULL, false, false, "SSTables" },
	{ "system keyspace only: rejoin",
	  { "10.0.0.5", "dc1", "r1", false, 0, 0, 1, false, 0, 0, NULL, 7 },
	  FREE, ROLE_REJOIN, NULL, false, false, "system keyspace" },
	{ "unknown facts (-1) are not data",
	  { "10.0.0.5", "dc1", "r1", false, -1, -1, -1, false, 2, 2, NULL,
	    7 }, FREE, ROLE_BOOTSTRAP, NULL, false, true, NULL },
	{ "holder with a system keyspace: rejoin, Cassandra resumes",
	  { "10.0.0.5", "dc1", "r1", false, 0, 0, 1, false, 2, 2, NULL, 7 },
	  SB("10.0.0.5", 0), ROLE_REJOIN, NULL, false, false, "resumes" },
	{ "replacement's host checks in: replace",
	  NEW(3, 2), SR("10.0.0.5", "10.0.0.9", 0), ROLE_REPLACE, "10.0.0.9",
	  false, false, "replace 10.0.0.9" },
	{ "replacement's host restarted with data: still replace",
	  { "10.0.0.5", "dc1", "r1", false, 0, 0, 1, false, 3, 2, NULL, 7 },
	  SR("10.0.0.5", "10.0.0.9", 0), ROLE_REPLACE, "10.0.0.9", false,
	  false, "goes on" },
	{ "replacement waiting for a host, same dc and rack: claim it",
	  NEW(3, 2), SR("", "10.0.0.9", 0), ROLE_REPLACE, "10.0.0.9", false,
	  true, "waits to be replaced" },
	{ "replacement waiting for a host, other rack: wait",
	  { "10.0.0.5", "dc1", "r2", false, 0, 0, 0, false, 3, 2, NULL, 7 },
	  SR("", "10.0.0.9", 0), ROLE_WAIT, NULL, false, false,
	  "replacement of 10.0.0.9" },
	{ "replacement waiting for a host never goes to a member",
	  { "10.0.0.5", "dc1", "r1", true, 0, 0, 0, false, 3, 2, NULL, 7 },
	  SR("", "10.0.0.9", 0), ROLE_REJOIN, NULL, false, false, NULL },
	{ "replacement with its host chosen: others wait",
	  NEW(3, 2), SR("10.0.0.6", "10.0.0.9", 0), ROLE_WAIT, NULL, false,
	  false, "replacement 10.0.0.6" },
};

static void test_role(void)
{
	for (size_t r = 0; r < sizeof(role_rows) / sizeof(role_rows[0]); r++) {
		const struct role_row *x = &role_rows[r];
		struct role_in in = x->in;
		struct role_out out;

		in.slot = &x->slot;
		role_decide(&in, &out);
		T_CHECK(out.role == x->want, "%s: got %s, want %s (%s)",
		    x->name, role_name(out.role), role_name(x->want), out.why);
		T_CHECK((out.replace_address == NULL && x->want_replace == NULL) ||
		    (out.replace_address != NULL && x->want_replace != NULL &&
		    strcmp(out.replace_address, x->want_replace) == 0),
		    "%s: replace_address %s", x->name,
		    out.replace_address ? out.replace_address : "(none)");
		T_CHECK(out.first == x->want_first, "%s: first %d", x->name,
		    out.first);
		T_CHECK(out.take_slot == x->want_take, "%s: take_slot %d",
		    x->name, out.take_slot);
		if (out.role == ROLE_WAIT)
			T_EQ_INT(out.retry_after_s, 7);
		if (x->why_has != NULL)
			T_CHECK(strstr(out.why, x->why_has) != NULL,
			    "%s: why '%s' lacks '%s'", x->name, out.why,
			    x->why_has);
	}
	/* retry_after_s defaults to 5 */
	{
		struct role_in in = NEW(3, 0);
		struct role_out out;
		in.retry_after_s = 0;
		role_decide(&in, &out);
		T_EQ_INT(out.retry_after_s, 5);
	}
}

int main(void)
{
	test_seeds();
	test_judge();
	test_slot();
	test_role();
	return t_done("test_lifecycle");
}
