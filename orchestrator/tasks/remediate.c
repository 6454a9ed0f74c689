/*
 * remediate.c - see remediate.h.
 *
 * Per node X, in the planned order (non-seeds first, then by address):
 *   gate    the cluster healthy (gate.h), else nothing is touched
 *   stop    `ringagent drain` and `ringagent stop` on X, then wait until the
 *           orchestrator judges X down (a live peer sees it DN): only a dead
 *           node's place can be taken (replace_address_first_boot refuses a
 *           live one)
 *   slot, host, join, finish
 *           replace's own steps (replace.h) for X: the cluster's slot with
 *           this task's id, the provider asked once (its answer recorded
 *           before the new host is told anything), the new host UN in its
 *           own and a peer's view with X's tokens, X's record removed
 *   retire  X's host id gets a tombstone: its agent's next check-in is
 *           refused (store_tombstone.h); a `remediate` event
 * Every step but the gate is held (task.h): pause and cancel take effect
 * between nodes only.
 * The engine keeps which steps finished, the slot row keeps the provider's
 * answer, so a kill -9 resumes on the node it was on and never replaces a
 * finished node again.
 */
#include "remediate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../engine/params.h"
#include "../engine/task.h"
#include "../nodes/nodeops.h"
#include "../store/store.h"
#include "gate.h"
#include "replace.h"
#include "scale_util.h"

#define WAIT_DOWN_MS	1000

static const struct param_spec remediate_params[] = {
	{ "nodes", PT_ADDRS, 0, 0, NULL, NULL, 0,
	  "replace only these nodes, in this order (default: every node, "
	  "non-seeds first)" },
	{ "provider_timeout_s", PT_INT, 1, 3600, "600", NULL, 0,
	  "seconds provider_command may run for one host" },
	{ "down_timeout_s", PT_INT, 1, 3600, "300", NULL, 0,
	  "seconds a stopped node may take to be judged down" },
	GATE_PARAMS,
	/* timeout_s: one node operation, and one replacement once it holds
	 * the slot (replace.h). */
	PARAMS_NODE(14400, 82800),
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static int addr_order(const void *a, const void *b)
{
	const struct store_node_row *x = a, *y = b;
	unsigned p[4], q[4];

	if (x->is_seed != y->is_seed)
		return x->is_seed ? 1 : -1;
	if (sscanf(x->address, "%u.%u.%u.%u", &p[0], &p[1], &p[2], &p[3]) == 4
	    && sscanf(y->address, "%u.%u.%u.%u", &q[0], &q[1], &q[2],
	    &q[3]) == 4)
		for (int i = 0; i < 4; i++)
			if (p[i] != q[i])
				return p[i] < q[i] ? -1 : 1;
	return strcmp(x->address, y->address);
}

static const char *const per_node[] = {
	"gate", "stop", "slot", "host", "join", "forget", "finish", "retire",
};

static int remediate_plan(const json_t *params,
    const struct store_nodes *nodes, struct task_plan *plan, char *err,
    size_t errlen)
{
	json_t *want = json_object_get(params, "nodes"), *a;
	struct store_node_row *v;
	size_t i, n = 0;

	if (nodes->n < 2) {
		snprintf(err, errlen, "remediate needs a live node to stream "
		    "from: the cluster has %zu node(s)", nodes->n);
		return -1;
	}
	v = xcalloc(nodes->n, sizeof(*v));
	memcpy(v, nodes->items, nodes->n * sizeof(*v));
	qsort(v, nodes->n, sizeof(*v), addr_order);
	if (json_is_array(want)) {
		json_array_foreach(want, i, a) {
			size_t k;
			for (k = 0; k < nodes->n; k++)
				if (strcmp(nodes->items[k].address,
				    json_string_value(a)) == 0)
					break;
			if (k == nodes->n) {
				snprintf(err, errlen, "node %s is not a node of this "
				    "cluster", json_string_value(a));
				free(v);
				return -1;
			}
			for (size_t s = 0; s < ARRAY_SIZE(per_node); s++)
				task_plan_add(plan, per_node[s],
				    json_string_value(a));
			n++;
		}
	} else {
		for (i = 0; i < nodes->n; i++, n++)
			for (size_t s = 0; s < ARRAY_SIZE(per_node); s++)
				task_plan_add(plan, per_node[s], v[i].address);
	}
	free(v);
	if (n == 0) {
		snprintf(err, errlen, "params.nodes is empty: nothing to "
		    "remediate");
		return -1;
	}
	return 0;
}

/* Every node up at submission: remediation replaces live nodes one at a
 * time, and a cluster already missing one would lose two replicas. */
static int remediate_admit(struct store *st, const char *cluster,
    const json_t *params, char *err, size_t errlen)
{
	struct store_nodes rows = { NULL, 0 };
	int rc = 0;

	(void)params;
	if (store_cluster_nodes(st, cluster, &rows) != 0) {
		snprintf(err, errlen, "cannot read the nodes of cluster '%s'",
		    cluster);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < rows.n; i++)
		if (rows.items[i].state == NULL ||
		    strcmp(rows.items[i].state, "up") != 0) {
			snprintf(err, errlen, "node %s is %s, not up: remediate "
			    "replaces live nodes one at a time and starts only on "
			    "a whole cluster (a dead node is replaced with "
			    "replace)", rows.items[i].address, rows.items[i].state ?
			    rows.items[i].state : "unknown");
			rc = -1;
		}
	store_nodes_release(&rows);
	return rc;
}

static int step_gate(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	struct gate_opts go = GATE_OPTS_INIT;
	char what[300];

	if (task_checkpoint(ctx))
		return TASK_STEP_STOP;
	gate_params_opts(task_ctx_params(ctx), &go);
	snprintf(what, sizeof(what), "before replacing %s", node);
	go.what = what;
	go.started_at = task_ctx_attempt_started_at(ctx);
	return gate_step(ctx, &go, err, errlen);
}

static const char *node_state(struct task_ctx *ctx, const char *node,
    char *buf, size_t len)
{
	struct store_node_row r;
	int rc = store_node_get(task_ctx_store(ctx), task_ctx_cluster(ctx),
	    node, &r);

	str_copy(buf, rc == RM_ENOENT ? "gone" : rc != 0 ? "unknown" :
	    r.state ? r.state : "unknown", len);
	store_node_row_release(&r);
	return buf;
}

static int step_stop(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	struct task_node_progress np = TASK_NODE_PROGRESS_KEEP;
	char state[32];
	int rc;

	if (strcmp(node_state(ctx, node, state, sizeof(state)), "gone") == 0) {
		snprintf(err, errlen, "node %s is not a node of cluster '%s' any "
		    "more", node, task_ctx_cluster(ctx));
		return TASK_STEP_FATAL;
	}
	if (strcmp(state, "down") != 0 && task_memo(ctx, "stopped") == NULL) {
		np.phase = "stopping";
		task_node_progress(ctx, node, &np);
		rc = nodeops_agent(ctx, node, "drain", NULL, 0, NULL, NULL, err,
		    errlen);
		if (rc != TASK_STEP_OK)
			return rc;
		rc = nodeops_agent(ctx, node, "stop", NULL, 0, NULL, NULL, err,
		    errlen);
		if (rc != TASK_STEP_OK)
			return rc;
		task_memo_put(ctx, "stopped", xstrdup(node), free, NULL);
		task_progress(ctx, "%s drained and stopped; waiting until its "
		    "peers see it down", node);
	}
	if (strcmp(state, "down") == 0) {
		np.phase = "down";
		task_node_progress(ctx, node, &np);
		task_progress(ctx, "%s is down: its place can be taken", node);
		return TASK_STEP_OK;
	}
	if (task_ctx_attempt_elapsed(ctx) >= 1000 * params_int(task_ctx_params(ctx),
	    "down_timeout_s", 300)) {
		snprintf(err, errlen, "%s was stopped but is still %s after "
		    "down_timeout_s (%lld s): no live peer reports it DN; start "
		    "it again (ringagent start) and look at its peers' views",
		    node, state, (long long)params_int(task_ctx_params(ctx),
		    "down_timeout_s", 300));
		return TASK_STEP_FATAL;
	}
	return task_wait(ctx, WAIT_DOWN_MS);
}

static int step_retire(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	struct store_task_detail d;
	const char *hid = NULL;
	char host_id[64] = "";
	int rc;

	/* The row went in finish: the host id was kept in the stop step's
	 * per-node progress (keep_host_id()), which the store keeps. */
	if (store_task_get(task_ctx_store(ctx), task_ctx_id(ctx), &d) == 0) {
		for (size_t i = 0; i < d.nnodes; i++)
			if (d.nodes[i].node != NULL &&
			    strcmp(d.nodes[i].node, node) == 0 &&
			    d.nodes[i].message != NULL &&
			    strncmp(d.nodes[i].message, "host id ", 8) == 0)
				str_copy(host_id, d.nodes[i].message + 8,
				    sizeof(host_id));
		store_task_detail_release(&d);
	}
	hid = host_id[0] ? host_id : NULL;
	if (hid != NULL && (rc = store_tombstone_put(task_ctx_store(ctx),
	    task_ctx_cluster(ctx), hid, node, "replaced by remediate",
	    task_ctx_id(ctx), err, errlen)) != 0 && rc != RM_ENOENT)
		return TASK_STEP_FAIL;
	scale_util_event(task_ctx_store(ctx), task_ctx_cluster(ctx),
	    "remediate", node, "done", json_pack("{s:s,s:s?}", "task",
	    task_ctx_id(ctx), "host_id", hid));
	task_progress(ctx, "%s replaced%s", node, hid ? "; its host id is "
	    "tombstoned" : "");
	return TASK_STEP_OK;
}

/* The node's host id as a per-node message, kept for retire (its row is
 * gone by then). */
static void keep_host_id(struct task_ctx *ctx, const char *node)
{
	struct task_node_progress np = TASK_NODE_PROGRESS_KEEP;
	struct store_node_row r;
	char msg[80];

	if (store_node_get(task_ctx_store(ctx), task_ctx_cluster(ctx), node,
	    &r) == 0 && r.host_id != NULL) {
		snprintf(msg, sizeof(msg), "host id %s", r.host_id);
		np.message = msg;
		task_node_progress(ctx, node, &np);
	}
	store_node_row_release(&r);
}

static int remediate_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	const char *n = step->node;

	if (n == NULL) {
		snprintf(err, errlen, "step %s has no node", step->name);
		return TASK_STEP_FATAL;
	}
	if (strcmp(step->name, "gate") == 0)
		return step_gate(ctx, n, err, errlen);
	if (strcmp(step->name, "stop") == 0) {
		keep_host_id(ctx, n);
		return step_stop(ctx, n, err, errlen);
	}
	if (strcmp(step->name, "retire") == 0)
		return step_retire(ctx, n, err, errlen);
	return replace_step(ctx, step->name, n, err, errlen);
}

/* Free the slot for the node the task stopped on, and say where. */
static int remediate_on_fail(struct task_ctx *ctx, const char *error,
    char *msg, size_t msglen)
{
	struct store_task_detail d;
	char at[256] = "", m[256] = "";

	if (store_task_get(task_ctx_store(ctx), task_ctx_id(ctx), &d) == 0) {
		for (size_t i = 0; i < d.nsteps && at[0] == '\0'; i++)
			if (d.steps[i].state != STORE_STEP_SUCCEEDED &&
			    d.steps[i].node != NULL)
				str_copy(at, d.steps[i].node, sizeof(at));
		store_task_detail_release(&d);
	}
	if (at[0] != '\0')
		replace_fail(ctx, at, error, m, sizeof(m));
	scale_util_event(task_ctx_store(ctx), task_ctx_cluster(ctx),
	    "remediate", at[0] ? at : task_ctx_cluster(ctx), "failed",
	    json_pack("{s:s,s:s}", "reason", error ? error : "", "task",
	    task_ctx_id(ctx)));
	snprintf(msg, msglen, "stopped at %s%s%s; the nodes after it were not "
	    "touched", at[0] ? at : "the cluster", m[0] ? "; " : "", m);
	return TASK_STEP_OK;
}

/* From stop to retire the node is down or being replaced: a pause or a
 * cancel waits until its replacement is in (or the task failed), and
 * takes effect before the next node's gate. */
static bool remediate_holds(const struct store_step *step)
{
	return strcmp(step->name, "gate") != 0;
}

const struct task_type remediate_type = {
	.name = "remediate",
	.description = "replace every node, one by one, by a new host from "
	    "the cluster's provider (replace_address_first_boot), behind the "
	    "health gate",
	.steps = "per node: gate, stop, slot, host, join, forget, finish, "
	    "retire",
	.params = remediate_params,
	.plan = remediate_plan,
	.run = remediate_run,
	.admit = remediate_admit,
	.on_fail = remediate_on_fail,
	.holds = remediate_holds,
	.max_attempts = 3,
	.backoff_base_ms = 1000,
	.backoff_max_ms = 10000,
	.step_deadline_ms = 24LL * 3600 * 1000,
};

