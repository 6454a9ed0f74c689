/*
 * test_repair_hist.c - what a repair task came to (orchestrator/tasks/
 * repair_hist.h), the parts the last-success metric rests on: the keyspace
 * of a segment record and the keyspaces a finished task repaired
 * completely, for each kind of repair.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../../orchestrator/store/store.h"
#include "../../orchestrator/tasks/repair_hist.h"
#include "../../orchestrator/tasks/repair_par.h"
#include "t.h"

static void test_phase_keyspace(void)
{
	static const struct {
		const char *phase;
		int rc;
		const char *want;
	} cases[] = {
		{ "ranges (1,2] replicas a,b,c keyspace ks1 on a", 0, "ks1" },
		{ "ranges (1,2] (3,4] replicas a,b keyspace system_traces on "
		  "(no known replica)", 0, "system_traces" },
		{ "ranges (1,2] replicas a,b,c on a", -1, "" },
		{ "ranges (1,2] replicas a,b keyspace  on a", -1, "" },
		{ "keyspace ks1 on a", -1, "" },
		{ NULL, -1, "" },
	};
	char out[64];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		T_EQ_INT(repair_hist_phase_keyspace(cases[i].phase, out, sizeof(out)),
		    cases[i].rc);
		T_EQ_STR(out, cases[i].want);
	}
	T_EQ_INT(repair_hist_phase_keyspace("ranges (1,2] replicas a keyspace "
	    "abcdefgh on a", out, 8), -1);
}

/* A task of steps (name, node, message) and segment records (state,
 * phase) on the scheduled step. */
struct tdef {
	enum store_task_state state;
	const char *params;
	const char *steps[4][3];
	const char *recs[6][2];
	const char *want;	/* names joined by spaces */
};

static char *dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void run(const struct tdef *t, size_t i)
{
	struct store_task_detail d;
	char got[256] = "", **ks = NULL;
	size_t n;

	memset(&d, 0, sizeof(d));
	d.task.state = t->state;
	d.task.params = json_loads(t->params, 0, NULL);
	d.steps = xcalloc(4, sizeof(*d.steps));
	d.nodes = xcalloc(6, sizeof(*d.nodes));
	for (size_t s = 0; s < 4 && t->steps[s][0] != NULL; s++) {
		d.steps[s].idx = (int)s;
		d.steps[s].name = dup(t->steps[s][0]);
		d.steps[s].node = dup(t->steps[s][1]);
		d.steps[s].message = dup(t->steps[s][2]);
		d.nsteps++;
	}
	for (size_t r = 0; r < 6 && t->recs[r][0] != NULL; r++) {
		d.nodes[r].idx = 0;
		d.nodes[r].node = xasprintf("segment %zu", r + 1);
		d.nodes[r].state = dup(t->recs[r][0]);
		d.nodes[r].phase = dup(t->recs[r][1]);
		d.nnodes++;
	}
	n = repair_hist_complete_keyspaces(&d, &ks);
	for (size_t k = 0; k < n; k++) {
		size_t l = strlen(got);
		snprintf(got + l, sizeof(got) - l, "%s%s", k ? " " : "", ks[k]);
		free(ks[k]);
	}
	free(ks);
	T_CHECK(strcmp(got, t->want) == 0, "case %zu: got '%s', want '%s'", i,
	    got, t->want);
	for (size_t r = 0; r < d.nnodes; r++) {
		free(d.nodes[r].node);
		free(d.nodes[r].state);
		free(d.nodes[r].phase);
	}
	for (size_t k = 0; k < d.nsteps; k++) {
		free(d.steps[k].name);
		free(d.steps[k].node);
		free(d.steps[k].message);
	}
	free(d.nodes);
	free(d.steps);
	json_decref(d.task.params);
}

#define SEG(ks)	"ranges (1,2] replicas a,b keyspace " ks " on a"

static void test_complete_keyspaces(void)
{
	static const struct tdef cases[] = {
		/* one keyspace named: it, unless partial or not succeeded */
		{ STORE_TASK_SUCCEEDED, "{\"keyspace\":\"shop\"}",
		  { { REPAIR_PAR_STEP, NULL, "all 4 segments repaired" } },
		  { { "done", SEG("shop") } }, "shop" },
		{ STORE_TASK_PARTIAL, "{\"keyspace\":\"shop\"}",
		  { { REPAIR_PAR_STEP, NULL, "partial: 1 of 4 segments" } },
		  { { "failed", SEG("shop") } }, "" },
		{ STORE_TASK_FAILED, "{\"keyspace\":\"shop\"}",
		  { { "repair", "10.0.0.1", "Endpoint not alive" } }, { { NULL } },
		  "" },
		{ STORE_TASK_CANCELLED, "{}", { { REPAIR_PAR_STEP, NULL, "x" } },
		  { { "done", SEG("ks1") } }, "" },
		/* every keyspace, scheduled: those whose segments are all done
		 * (a split one's halves decide), even when the task is partial */
		{ STORE_TASK_PARTIAL, "{}",
		  { { REPAIR_PAR_STEP, NULL, "partial: 1 of 5 segments" } },
		  { { "done", SEG("ks1") }, { "split", SEG("ks2") },
		    { "done", SEG("ks2") }, { "postponed", SEG("ks3") },
		    { "done", SEG("ks3") }, { "done", SEG("system_traces") } },
		  "ks1 ks2 system_traces" },
		{ STORE_TASK_SUCCEEDED, "{}",
		  { { REPAIR_PAR_STEP, NULL, "nothing to do: replication factor "
		      "1, no repair is needed for ks1" } }, { { NULL } }, "" },
		/* every keyspace, per-node steps: what their messages name */
		{ STORE_TASK_SUCCEEDED, "{\"parallelism\":1}",
		  { { "repair", "10.0.0.1", "repaired ks1 ks2: 4 sessions; "
		      "nothing to do for ks3 (RF 1)" },
		    { "repair", "10.0.0.2", "repaired ks2 system_traces: 2 "
		      "sessions (parallelism 0 on Cassandra 3.x: per-node steps)" },
		    { "repair segment 1/2", "10.0.0.3", "segment 1/2 ranges (1,2]: "
		      "repaired ks1: 1 session" },
		    { "postponed segments", NULL, "no segment was postponed: "
		      "every node was up" } }, { { NULL } },
		  "ks1 ks2 system_traces" },
		{ STORE_TASK_SUCCEEDED, "{}",
		  { { "repair", "10.0.0.1", "repaired (keyspace not printed by "
		      "nodetool): 1 command, sessions not printed by nodetool" },
		    { "repair", "10.0.0.2", "nothing to do: replication factor 1, "
		      "no repair is needed for ks3" } }, { { NULL } }, "" },
		{ STORE_TASK_PARTIAL, "{}",
		  { { "repair", "10.0.0.1", "repaired ks1: 1 session" },
		    { "postponed segments", NULL, "partial: 1 of 1 postponed "
		      "segments not repaired" } }, { { NULL } }, "" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		run(&cases[i], i);
}

int main(void)
{
	test_phase_keyspace();
	test_complete_keyspaces();
	return t_done("test_repair_hist");
}
