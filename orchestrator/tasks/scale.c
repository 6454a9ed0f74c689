/*
 * scale.c - see scale.h.
 *
 * Every node's work is a run of steps of its own (gate, decommission,
 * gone, forget), so the engine's record of finished steps is the record
 * of finished nodes: a restart continues at the first unfinished step and
 * a node that left is never asked again.  The decommission step is a node
 * job the restarted step attaches to, and the agent's op reads
 * Cassandra's mode first, so even a lost job is never run twice against
 * a node that already left.
 */
#include "scale.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../engine/params.h"
#include "../engine/task.h"
#include "../nodes/nodeops.h"
#include "gate.h"
#include "../store/store.h"
#include "remediate.h"
#include "scale_out.h"
#include "scale_plan.h"
#include "scale_util.h"

#define WAIT_GONE_MS	1000

#define SCALE_TIMEOUTS \
	GATE_PARAMS, \
	{ "gone_timeout_s", PT_INT, 1, 86400, "600", NULL, 0, \
	  "seconds a decommissioned node may stay listed by a live peer" }

static const struct param_spec decommission_params[] = {
	{ "nodes", PT_ADDRS, 0, 0, NULL, NULL, PF_REQUIRED,
	  "the addresses of the nodes to take out, in that order" },
	SCALE_TIMEOUTS,
	PARAMS_NODE(86400, 604800),
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static const struct param_spec scale_in_params[] = {
	{ "count", PT_INT, 1, 1000, NULL, NULL, PF_REQUIRED,
	  "how many nodes to take out" },
	{ "dc", PT_NAME, 0, 0, NULL, NULL, 0,
	  "take them from this datacenter only" },
	{ "rack", PT_NAME, 0, 0, NULL, NULL, 0,
	  "take them from this rack only" },
	SCALE_TIMEOUTS,
	PARAMS_NODE(86400, 604800),
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static int decommission_validate(json_t *params, char *err, size_t errlen)
{
	json_t *nodes = json_object_get(params, "nodes"), *a, *b;
	size_t i, k;

	json_array_foreach(nodes, i, a)
		json_array_foreach(nodes, k, b)
			if (k > i && json_equal(a, b)) {
				snprintf(err, errlen, "params.nodes names %s twice",
				    json_string_value(a));
				return -1;
			}
	return 0;
}

/* The leaving nodes as flags over v (from params.nodes, or chosen for
 * scale-in).  0, or -1 with err. */
static int leaving_set(const json_t *params, const struct scale_node *v,
    size_t n, bool *leaving, char *err, size_t errlen)
{
	json_t *nodes = json_object_get(params, "nodes"), *a;
	size_t i;

	if (json_is_array(nodes)) {
		json_array_foreach(nodes, i, a) {
			const char *addr = json_string_value(a);
			size_t k;
			for (k = 0; k < n; k++)
				if (strcmp(v[k].address, addr) == 0)
					break;
			if (k == n) {
				snprintf(err, errlen, "node %s is not a node of this "
				    "cluster", addr);
				return -1;
			}
			if (!v[k].up) {
				snprintf(err, errlen, "node %s is not up: only a live "
				    "node is decommissioned (a dead one is replaced "
				    "or removed)", addr);
				return -1;
			}
			leaving[k] = true;
		}
		return 0;
	} else {
		int count = (int)params_int(params, "count", 0);
		size_t *idx = xcalloc((size_t)(count > 0 ? count : 1),
		    sizeof(*idx));
		int rc = scale_plan_choose(v, n, count, scale_util_pstr(params,
		    "dc"), scale_util_pstr(params, "rack"), idx, err, errlen);
		for (int k = 0; rc == 0 && k < count; k++)
			leaving[idx[k]] = true;
		free(idx);
		return rc;
	}
}

/* In params order (decommission) or the choice's order (scale-in). */
static int leaving_order(const json_t *params, const struct store_nodes *rows,
    char ***out, size_t *nout, char *err, size_t errlen)
{
	struct scale_node *v = scale_util_view(rows);
	json_t *nodes = json_object_get(params, "nodes"), *a;
	bool *leaving = xcalloc(rows->n ? rows->n : 1, sizeof(*leaving));
	int rc = 0;
	size_t i;

	*out = NULL;
	*nout = 0;
	if (json_is_array(nodes)) {
		if ((rc = leaving_set(params, v, rows->n, leaving, err,
		    errlen)) == 0) {
			*out = xcalloc(json_array_size(nodes), sizeof(**out));
			json_array_foreach(nodes, i, a)
				(*out)[(*nout)++] = xstrdup(json_string_value(a));
		}
	} else {
		int count = (int)params_int(params, "count", 0);
		size_t *idx = xcalloc((size_t)(count > 0 ? count : 1),
		    sizeof(*idx));
		rc = scale_plan_choose(v, rows->n, count, scale_util_pstr(params,
		    "dc"), scale_util_pstr(params, "rack"), idx, err, errlen);
		if (rc == 0) {
			*out = xcalloc((size_t)count, sizeof(**out));
			for (int k = 0; k < count; k++)
				(*out)[(*nout)++] = xstrdup(v[idx[k]].address);
		}
		free(idx);
	}
	free(leaving);
	free(v);
	return rc;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

static int out_plan(const json_t *params, const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	static const char *const per_node[] = {
		"gate", "decommission", "gone", "forget",
	};
	char **order;
	size_t n;

	if (leaving_order(params, nodes, &order, &n, err, errlen) != 0)
		return -1;
	if (n >= nodes->n) {
		snprintf(err, errlen, "refused: %zu node(s) would leave and none "
		    "of the cluster's %zu would stay", n, nodes->n);
		strv_free(order, n);
		return -1;
	}
	task_plan_add(plan, "check", NULL);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < ARRAY_SIZE(per_node); k++)
			task_plan_add(plan, per_node[k], order[i]);
	strv_free(order, n);
	return 0;
}

/* Disk (and who leaves) against the store's figures: 0 or -1 with err. */
static int disk_check(struct store *st, const char *cluster,
    const json_t *params, char *err, size_t errlen)
{
	struct store_nodes rows = { NULL, 0 };
	struct scale_node *v = NULL;
	bool *leaving = NULL;
	int rc = -1;

	if (scale_util_nodes(st, cluster, &rows, &v, err, errlen) != 0)
		goto out;
	leaving = xcalloc(rows.n ? rows.n : 1, sizeof(*leaving));
	if (leaving_set(params, v, rows.n, leaving, err, errlen) != 0)
		goto out;
	rc = scale_plan_disk(v, rows.n, leaving, err, errlen);
out:
	free(leaving);
	free(v);
	store_nodes_release(&rows);
	return rc;
}

static int out_admit(struct store *st, const char *cluster,
    const json_t *params, char *err, size_t errlen)
{
	return disk_check(st, cluster, params, err, errlen);
}

/* ---- the steps ----------------------------------------------------------- */

/* The nodes this task takes out (its decommission steps' nodes). */
static int task_leaving(struct task_ctx *ctx, char ***out, size_t *n,
    char *err, size_t errlen)
{
	struct store_task_detail d;

	*out = NULL;
	*n = 0;
	if (store_task_get(task_ctx_store(ctx), task_ctx_id(ctx), &d) != 0) {
		snprintf(err, errlen, "cannot read task %s; see the ringmaster "
		    "log", task_ctx_id(ctx));
		return -1;
	}
	*out = xcalloc(d.nsteps ? d.nsteps : 1, sizeof(**out));
	for (size_t i = 0; i < d.nsteps; i++)
		if (strcmp(d.steps[i].name, "decommission") == 0 &&
		    d.steps[i].node != NULL)
			(*out)[(*n)++] = xstrdup(d.steps[i].node);
	store_task_detail_release(&d);
	return 0;
}

/* A live node that stays, to ask for the keyspaces. */
static const char *asker(const struct scale_node *v, size_t n,
    const bool *leaving)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].up && !leaving[i])
			return v[i].address;
	return NULL;
}

static int step_check(struct task_ctx *ctx, char *err, size_t errlen)
{
	struct store *st = task_ctx_store(ctx);
	const char *cluster = task_ctx_cluster(ctx);
	struct store_nodes rows = { NULL, 0 };
	struct scale_node *v = NULL;
	struct scale_ks *ks = NULL;
	size_t nks = 0, nl = 0;
	char **left = NULL;
	bool *leaving = NULL;
	json_t *d = NULL;
	const char *who;
	int rc = TASK_STEP_FAIL;

	if (task_leaving(ctx, &left, &nl, err, errlen) != 0 ||
	    scale_util_nodes(st, cluster, &rows, &v, err, errlen) != 0)
		goto out;
	leaving = xcalloc(rows.n ? rows.n : 1, sizeof(*leaving));
	for (size_t i = 0; i < nl; i++) {
		size_t k;
		for (k = 0; k < rows.n; k++)
			if (strcmp(v[k].address, left[i]) == 0)
				leaving[k] = true;
	}
	if (scale_plan_disk(v, rows.n, leaving, err, errlen) != 0) {
		rc = TASK_STEP_FATAL;
		goto out;
	}
	if ((who = asker(v, rows.n, leaving)) == NULL) {
		snprintf(err, errlen, "no node that stays is up to read the "
		    "keyspaces' replication from");
		goto out;
	}
	rc = nodeops_agent(ctx, who, "keyspaces", NULL, 0, &d, NULL, err,
	    errlen);
	if (rc != TASK_STEP_OK)
		goto out;
	if (scale_plan_keyspaces(d, &ks, &nks, err, errlen) != 0 ||
	    scale_plan_rf(v, rows.n, leaving, ks, nks, err, errlen) != 0) {
		rc = TASK_STEP_FATAL;
		goto out;
	}
	task_progress(ctx, "%zu node(s) leave; the %zu that stay keep every "
	    "keyspace's RF (%zu replication entries read from %s) and have "
	    "the disk for the data", nl, rows.n - nl, nks, who);
	rc = TASK_STEP_OK;
out:
	if (rc == TASK_STEP_FATAL)
		scale_util_event(st, cluster, "scale", cluster, "refused",
		    json_pack("{s:s,s:s}", "reason", err, "task",
		    task_ctx_id(ctx)));
	json_decref(d);
	scale_plan_ks_free(ks, nks);
	strv_free(left, nl);
	free(leaving);
	free(v);
	store_nodes_release(&rows);
	return rc;
}

/* Roll's health gate (gate.h): every node's fresh view, now. */
static int step_gate(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	struct gate_opts go = GATE_OPTS_INIT;
	struct store_node_row r;
	char what[300];
	int rc;

	if (task_checkpoint(ctx))
		return TASK_STEP_STOP;
	rc = store_node_get(task_ctx_store(ctx), task_ctx_cluster(ctx), node,
	    &r);
	store_node_row_release(&r);
	if (rc == RM_ENOENT) {
		snprintf(err, errlen, "node %s is not a node of cluster '%s' any "
		    "more; nothing touched", node, task_ctx_cluster(ctx));
		return TASK_STEP_FATAL;
	}
	gate_params_opts(task_ctx_params(ctx), &go);
	snprintf(what, sizeof(what), "before touching %s", node);
	go.what = what;
	go.started_at = task_ctx_attempt_started_at(ctx);
	rc = gate_step(ctx, &go, err, errlen);
	if (rc == TASK_STEP_OK)
		task_progress(ctx, "the cluster is healthy: %s is next", node);
	return rc;
}

static int step_decommission(struct task_ctx *ctx, const char *node,
    char *err, size_t errlen)
{
	struct task_node_progress np = TASK_NODE_PROGRESS_KEEP;
	json_t *d = NULL;
	int rc;

	np.phase = "leaving";
	task_node_progress(ctx, node, &np);
	rc = nodeops_agent_held(ctx, node, "decommission", NULL, 0, &d, NULL, err,
	    errlen);
	if (rc == TASK_STEP_OK) {
		np.state = "done";
		np.phase = "decommissioned";
		task_node_progress(ctx, node, &np);
		task_progress(ctx, "%s: Cassandra says %s%s", node,
		    scale_util_pstr(d, "mode") ? scale_util_pstr(d, "mode") :
		    "?", json_is_true(json_object_get(d, "already")) ?
		    " (it had left before this attempt)" : "");
	}
	json_decref(d);
	return rc;
}

struct gone_memo {
	int64_t since;
};

static void gone_release(void *p)
{
	free(p);
}

static int step_gone(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	struct gone_memo *m = task_memo(ctx, "gone");
	char who[512];
	int rc;

	if (task_checkpoint(ctx))
		return TASK_STEP_STOP;
	if (m == NULL) {
		m = xcalloc(1, sizeof(*m));
		m->since = time_wall_ms();
		task_memo_put(ctx, "gone", m, gone_release, NULL);
	}
	rc = scale_util_gone(task_ctx_store(ctx), task_ctx_cluster(ctx), node,
	    m->since, who, sizeof(who), err, errlen);
	if (rc < 0)
		return TASK_STEP_FAIL;
	if (rc == 1) {
		task_progress(ctx, "%s left the ring: no live peer lists it",
		    node);
		return TASK_STEP_OK;
	}
	if (task_ctx_attempt_elapsed(ctx) >= 1000 * params_int(task_ctx_params(ctx),
	    "gone_timeout_s", 600)) {
		snprintf(err, errlen, "%s says it is decommissioned, but %s still "
		    "list it after gone_timeout_s (%lld s); see their nodetool "
		    "status and gossipinfo", node, who, (long long)params_int(
		    task_ctx_params(ctx), "gone_timeout_s", 600));
		return TASK_STEP_FATAL;
	}
	task_progress(ctx, "%s is decommissioned; waiting until no live peer "
	    "lists it (%s)", node, who);
	return task_wait(ctx, WAIT_GONE_MS);
}

static int step_forget(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	struct store *st = task_ctx_store(ctx);
	const char *cluster = task_ctx_cluster(ctx);
	struct store_node_row r;
	json_t *detail;
	int rc;

	rc = store_node_get(st, cluster, node, &r);
	if (rc == RM_ENOENT) {
		store_node_row_release(&r);
		task_progress(ctx, "%s was forgotten before", node);
		return TASK_STEP_OK;
	}
	if (rc != 0) {
		store_node_row_release(&r);
		snprintf(err, errlen, "cannot read node %s", node);
		return TASK_STEP_FAIL;
	}
	detail = json_pack("{s:s,s:s?,s:s?,s:s?,s:I,s:s}", "task",
	    task_ctx_id(ctx), "host_id", r.host_id, "dc", r.dc, "rack", r.rack,
	    "load_bytes", (json_int_t)r.load_bytes, "reason", "decommissioned: "
	    "Cassandra said DECOMMISSIONED and no live peer lists it; its "
	    "record and SSH host-key pin are removed");
	/* The tombstone first: its agent's next check-in is refused, never
	 * listed again (store_tombstone.h). */
	if (r.host_id != NULL && store_tombstone_put(st, cluster, r.host_id,
	    node, "decommissioned", task_ctx_id(ctx), err, errlen) != 0) {
		store_node_row_release(&r);
		json_decref(detail);
		return TASK_STEP_FAIL;
	}
	store_node_row_release(&r);
	rc = store_node_delete(st, cluster, node, err, errlen);
	if (rc != 0 && rc != RM_ENOENT) {
		json_decref(detail);
		return TASK_STEP_FAIL;
	}
	scale_util_event(st, cluster, "decommission", node, "done", detail);
	task_progress(ctx, "%s decommissioned and forgotten", node);
	return TASK_STEP_OK;
}

static int out_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	const char *n = step->node;

	if (strcmp(step->name, "check") == 0)
		return step_check(ctx, err, errlen);
	if (n == NULL) {
		snprintf(err, errlen, "step %s has no node", step->name);
		return TASK_STEP_FATAL;
	}
	if (strcmp(step->name, "gate") == 0)
		return step_gate(ctx, n, err, errlen);
	if (strcmp(step->name, "decommission") == 0)
		return step_decommission(ctx, n, err, errlen);
	if (strcmp(step->name, "gone") == 0)
		return step_gone(ctx, n, err, errlen);
	if (strcmp(step->name, "forget") == 0)
		return step_forget(ctx, n, err, errlen);
	snprintf(err, errlen, "no step '%s'", step->name);
	return TASK_STEP_FATAL;
}

/* The node the task stopped on, with the error, for the operator. */
static int out_on_fail(struct task_ctx *ctx, const char *error, char *msg,
    size_t msglen)
{
	struct store_task_detail d;
	const char *node = NULL;
	char at[256] = "";

	if (store_task_get(task_ctx_store(ctx), task_ctx_id(ctx), &d) == 0) {
		for (size_t i = 0; i < d.nsteps && node == NULL; i++)
			if (d.steps[i].state != STORE_STEP_SUCCEEDED) {
				node = d.steps[i].node;
				snprintf(at, sizeof(at), "%s", node ? node : "");
			}
		store_task_detail_release(&d);
	}
	scale_util_event(task_ctx_store(ctx), task_ctx_cluster(ctx), "scale",
	    at[0] ? at : task_ctx_cluster(ctx), "failed", json_pack(
	    "{s:s,s:s}", "reason", error ? error : "", "task",
	    task_ctx_id(ctx)));
	snprintf(msg, msglen, "stopped%s%s; the nodes after it were not "
	    "touched", at[0] ? " at " : "", at);
	return TASK_STEP_OK;
}

const struct task_type scale_decommission_type = {
	.name = "decommission",
	.description = "take the given live nodes out of the ring, one by one "
	    "(nodetool decommission), behind the health gate",
	.steps = "check, then per node: gate, decommission, gone, forget",
	.params = decommission_params,
	.validate = decommission_validate,
	.plan = out_plan,
	.run = out_run,
	.admit = out_admit,
	.on_fail = out_on_fail,
	.max_attempts = 2,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 30000,
	.step_deadline_ms = 7LL * 24 * 3600 * 1000,
};

const struct task_type scale_in_type = {
	.name = "scale-in",
	.description = "take count nodes out of the ring (chosen: non-seeds, "
	    "fullest rack, least load, highest address), one by one",
	.steps = "check, then per chosen node: gate, decommission, gone, forget",
	.params = scale_in_params,
	.validate = scale_util_validate_place,
	.plan = out_plan,
	.run = out_run,
	.admit = out_admit,
	.on_fail = out_on_fail,
	.max_attempts = 2,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 30000,
	.step_deadline_ms = 7LL * 24 * 3600 * 1000,
};

