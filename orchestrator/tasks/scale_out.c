/*
 * scale_out.c - see scale_out.h.
 *
 * Plan: gate, then add-1 .. add-N, then per node that was there: gate X,
 * cleanup X.  One add step is one new node: ask the provider (idempotency
 * key "<task>-<k>": asked again after a restart, it answers the same host),
 * then wait, parked, until that host checked in, took the cluster's
 * bootstrap slot (lifecycle/slot.h: one join at a time), joined, and is up
 * with a host id while the slot no longer holds it.  Only then the next
 * add begins, so joins never overlap.  Cleanup drops the ranges the old
 * nodes no longer own, node by node behind the gate (it rewrites SSTables:
 * one node at a time keeps the cluster's I/O even).
 */
#include "scale_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../engine/params.h"
#include "../engine/task.h"
#include "../nodes/nodeops.h"
#include "../nodes/provider.h"
#include "../store/store.h"
#include "gate.h"
#include "scale_util.h"

#define WAIT_PROVIDER_MS	300
#define WAIT_JOIN_MS		1000
#define DEFAULT_JOIN_S		14400

static const struct param_spec scale_out_params[] = {
	{ "count", PT_INT, 1, 100, NULL, NULL, PF_REQUIRED,
	  "how many nodes to add" },
	{ "dc", PT_NAME, 0, 0, NULL, NULL, 0,
	  "the datacenter of the new nodes (default: the first node's)" },
	{ "rack", PT_NAME, 0, 0, NULL, NULL, 0,
	  "their rack (default: the dc's rack with the fewest nodes, for "
	  "each new node)" },
	{ "cleanup", PT_BOOL, 0, 0, "true", NULL, 0,
	  "run nodetool cleanup on the nodes that were there, one by one" },
	{ "join_timeout_s", PT_INT, 1, 82800, "14400", NULL, 0,
	  "seconds one new node may take from the provider's answer to UN" },
	{ "provider_timeout_s", PT_INT, 1, 3600, "600", NULL, 0,
	  "seconds provider_command may run for one host" },
	GATE_PARAMS,
	PARAMS_NODE(86400, 604800),
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static int scale_out_plan(const json_t *params,
    const struct store_nodes *nodes, struct task_plan *plan, char *err,
    size_t errlen)
{
	int count = (int)params_int(params, "count", 0);
	char name[32];

	if (nodes->n == 0) {
		snprintf(err, errlen, "the cluster has no nodes yet: scale-out "
		    "adds to a running cluster");
		return -1;
	}
	task_plan_add(plan, "gate", NULL);
	for (int k = 1; k <= count; k++) {
		snprintf(name, sizeof(name), "add-%d", k);
		task_plan_add(plan, name, NULL);
	}
	if (json_is_true(json_object_get(params, "cleanup")))
		for (size_t i = 0; i < nodes->n; i++) {
			task_plan_add(plan, "gate", nodes->items[i].address);
			task_plan_add(plan, "cleanup", nodes->items[i].address);
		}
	return 0;
}

/* A provider that can be asked, and the dc named (when one is). */
static int scale_out_admit(struct store *st, const char *cluster,
    const json_t *params, char *err, size_t errlen)
{
	struct store_cluster_settings cs;
	struct store_nodes rows = { NULL, 0 };
	const char *dc = scale_util_pstr(params, "dc");
	enum provider_kind kind;
	bool found = dc == NULL;
	int rc = 0;

	if (store_cluster_settings_get(st, cluster, &cs) != 0) {
		snprintf(err, errlen, "cannot read the settings of cluster '%s'",
		    cluster);
		return -1;
	}
	if (provider_kind_parse(cs.provider, &kind) != 0 ||
	    kind == PROVIDER_NONE) {
		snprintf(err, errlen, "cluster '%s' has provider '%s': scale-out "
		    "asks the provider for hosts; set provider to command (with "
		    "provider_command) first, or boot empty nodes yourself (each "
		    "joins through the bootstrap slot)", cluster, cs.provider);
		return -1;
	}
	if (store_cluster_nodes(st, cluster, &rows) != 0) {
		snprintf(err, errlen, "cannot read the nodes of '%s'", cluster);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < rows.n && !found; i++)
		found = rows.items[i].dc != NULL &&
		    strcmp(rows.items[i].dc, dc) == 0;
	if (rc == 0 && !found) {
		snprintf(err, errlen, "no node of cluster '%s' is in dc %s: a new "
		    "datacenter needs its keyspaces' replication first", cluster,
		    dc);
		rc = -1;
	}
	store_nodes_release(&rows);
	return rc;
}

/* What one add step keeps between its calls. */
struct addmemo {
	struct provider_run *run;
	char address[STORE_SLOT_STR];
	char dc[STORE_NAME_MAX], rack[STORE_NAME_MAX];
	int64_t asked_at;
};

static void addmemo_release(void *p)
{
	struct addmemo *m = p;

	provider_free(m->run);
	free(m);
}

/* Where the new node goes: params, else the first node's dc and its rack
 * with the fewest nodes.  0 or -1 with err. */
static int placement(struct task_ctx *ctx, struct addmemo *m,
    char *version, size_t vlen, char *err, size_t errlen)
{
	const json_t *p = task_ctx_params(ctx);
	struct store_nodes rows = { NULL, 0 };
	const char *dc = scale_util_pstr(p, "dc");
	const char *rack = scale_util_pstr(p, "rack");
	size_t best = SIZE_MAX;

	if (store_node_list(task_ctx_store(ctx), task_ctx_cluster(ctx),
	    &rows) != 0 || rows.n == 0) {
		store_nodes_release(&rows);
		snprintf(err, errlen, "cannot read the nodes of the cluster");
		return -1;
	}
	if (dc == NULL)
		dc = rows.items[0].dc ? rows.items[0].dc : "";
	str_copy(m->dc, dc, sizeof(m->dc));
	version[0] = '\0';
	for (size_t i = 0; rack == NULL && i < rows.n; i++) {
		size_t n = 0;
		if (rows.items[i].dc == NULL || strcmp(rows.items[i].dc, dc) ||
		    rows.items[i].rack == NULL)
			continue;
		for (size_t k = 0; k < rows.n; k++)
			n += rows.items[k].dc && rows.items[k].rack &&
			    !strcmp(rows.items[k].dc, dc) &&
			    !strcmp(rows.items[k].rack, rows.items[i].rack);
		if (n < best) {
			best = n;
			str_copy(m->rack, rows.items[i].rack, sizeof(m->rack));
		}
	}
	if (rack != NULL)
		str_copy(m->rack, rack, sizeof(m->rack));
	for (size_t i = 0; i < rows.n && version[0] == '\0'; i++)
		if (rows.items[i].version != NULL)
			str_copy(version, rows.items[i].version, vlen);
	store_nodes_release(&rows);
	return 0;
}

/* 1 joined, 0 not yet, with what is awaited in why. */
static int joined(struct task_ctx *ctx, const char *addr, char *why,
    size_t whylen)
{
	struct store *st = task_ctx_store(ctx);
	struct store_node_row r;
	struct store_slot sl;
	int rc = store_node_get(st, task_ctx_cluster(ctx), addr, &r);
	bool holds;

	if (rc != 0) {
		store_node_row_release(&r);
		snprintf(why, whylen, "%s has not checked in yet", addr);
		return 0;
	}
	holds = store_slot_get(st, task_ctx_cluster(ctx), &sl) == 0 &&
	    strcmp(sl.holder, addr) == 0;
	rc = !holds && r.host_id != NULL && r.state != NULL &&
	    strcmp(r.state, "up") == 0;
	snprintf(why, whylen, "%s is %s%s%s", addr, r.state ? r.state :
	    "unknown", holds ? ", joining through the cluster's bootstrap "
	    "slot" : "", r.host_id ? "" : ", no host id yet");
	store_node_row_release(&r);
	return rc;
}

static int step_add(struct task_ctx *ctx, int k, char *err, size_t errlen)
{
	struct store *st = task_ctx_store(ctx);
	const char *cluster = task_ctx_cluster(ctx);
	const json_t *p = task_ctx_params(ctx);
	struct addmemo *m = task_memo(ctx, "add");
	struct store_cluster_settings cs;
	char why[512], key[64];
	int rc;

	if (task_checkpoint(ctx))
		return TASK_STEP_STOP;
	if (m == NULL) {
		struct provider_req req;
		char version[64];
		m = xcalloc(1, sizeof(*m));
		task_memo_put(ctx, "add", m, addmemo_release, NULL);
		if (placement(ctx, m, version, sizeof(version), err, errlen) != 0)
			return TASK_STEP_FAIL;
		if (store_cluster_settings_get(st, cluster, &cs) != 0) {
			snprintf(err, errlen, "cannot read the settings of '%s'",
			    cluster);
			return TASK_STEP_FAIL;
		}
		snprintf(key, sizeof(key), "%s-%d", task_ctx_id(ctx), k);
		memset(&req, 0, sizeof(req));
		req.command = cs.provider_command;
		req.cluster = cluster;
		req.dc = m->dc;
		req.rack = m->rack;
		req.dead_address = "";
		req.dead_host_id = "";
		req.cassandra_version = version;
		/* The same key after a restart: the same host (provider.h). */
		req.idempotency_key = key;
		req.timeout_ms = 1000 * params_int(p, "provider_timeout_s", 600);
		if ((m->run = provider_start(&req, err, errlen)) == NULL)
			return TASK_STEP_FATAL;
		m->asked_at = time_wall_ms();
		task_progress(ctx, "node %d: asked provider %s for a host in dc "
		    "%s rack %s", k, cs.provider, m->dc, m->rack);
		return task_wait(ctx, WAIT_PROVIDER_MS);
	}
	if (m->address[0] == '\0') {
		rc = provider_poll(m->run, m->address, sizeof(m->address), err,
		    errlen);
		if (rc == 0)
			return task_wait(ctx, WAIT_PROVIDER_MS);
		if (rc < 0)
			return TASK_STEP_FATAL;
		task_progress(ctx, "node %d: the provider gave %s; waiting for it "
		    "to check in and join", k, m->address);
	}
	if (joined(ctx, m->address, why, sizeof(why))) {
		struct task_node_progress np = TASK_NODE_PROGRESS_KEEP;
		np.state = "done";
		np.phase = "joined";
		task_node_progress(ctx, m->address, &np);
		scale_util_event(st, cluster, "scale-out", m->address, "joined",
		    json_pack("{s:s,s:s,s:s,s:I}", "task", task_ctx_id(ctx), "dc",
		    m->dc, "rack", m->rack, "seconds", (json_int_t)
		    ((time_wall_ms() - m->asked_at) / 1000)));
		task_progress(ctx, "node %d: %s joined (UN, host id known, the "
		    "bootstrap slot freed)", k, m->address);
		return TASK_STEP_OK;
	}
	if (time_wall_ms() - m->asked_at >= 1000 * params_int(p, "join_timeout_s",
	    DEFAULT_JOIN_S)) {
		snprintf(err, errlen, "new node %s did not join within "
		    "join_timeout_s (%lld s): %s; the task stops before adding "
		    "another: look at its agent log and Cassandra log", m->address,
		    (long long)params_int(p, "join_timeout_s", DEFAULT_JOIN_S), why);
		return TASK_STEP_FATAL;
	}
	{
		struct task_node_progress np = TASK_NODE_PROGRESS_KEEP;
		np.phase = "joining";
		task_node_progress(ctx, m->address, &np);
	}
	task_progress(ctx, "node %d: %s", k, why);
	return task_wait(ctx, WAIT_JOIN_MS);
}

static int step_gate(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	struct gate_opts go = GATE_OPTS_INIT;
	char what[300];

	if (task_checkpoint(ctx))
		return TASK_STEP_STOP;
	gate_params_opts(task_ctx_params(ctx), &go);
	snprintf(what, sizeof(what), "%s%s", node ? "before the cleanup of " :
	    "before adding nodes", node ? node : "");
	go.what = what;
	go.started_at = task_ctx_attempt_started_at(ctx);
	return gate_step(ctx, &go, err, errlen);
}

static int step_cleanup(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	struct task_node_progress np = TASK_NODE_PROGRESS_KEEP;
	int rc;

	np.phase = "cleanup";
	task_node_progress(ctx, node, &np);
	rc = nodeops_agent(ctx, node, "cleanup", NULL, 0, NULL, NULL, err,
	    errlen);
	if (rc == TASK_STEP_OK) {
		np.state = "done";
		task_node_progress(ctx, node, &np);
		task_progress(ctx, "%s: nodetool cleanup done", node);
	}
	return rc;
}

static int scale_out_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	int k;

	if (strcmp(step->name, "gate") == 0)
		return step_gate(ctx, step->node, err, errlen);
	if (sscanf(step->name, "add-%d", &k) == 1 && k > 0)
		return step_add(ctx, k, err, errlen);
	if (strcmp(step->name, "cleanup") == 0 && step->node != NULL)
		return step_cleanup(ctx, step->node, err, errlen);
	snprintf(err, errlen, "scale-out has no step '%s'", step->name);
	return TASK_STEP_FATAL;
}

static int scale_out_on_fail(struct task_ctx *ctx, const char *error,
    char *msg, size_t msglen)
{
	scale_util_event(task_ctx_store(ctx), task_ctx_cluster(ctx),
	    "scale-out", task_ctx_cluster(ctx), "failed", json_pack(
	    "{s:s,s:s}", "reason", error ? error : "", "task",
	    task_ctx_id(ctx)));
	snprintf(msg, msglen, "no further node was added or cleaned");
	return TASK_STEP_OK;
}

const struct task_type scale_out_type = {
	.name = "scale-out",
	.description = "add count nodes through the cluster's provider, one "
	    "bootstrap slot at a time, then nodetool cleanup on the old nodes, "
	    "one by one behind the health gate",
	.steps = "gate, add-1..add-N, then per old node: gate, cleanup",
	.params = scale_out_params,
	.validate = scale_util_validate_place,
	.plan = scale_out_plan,
	.run = scale_out_run,
	.admit = scale_out_admit,
	.on_fail = scale_out_on_fail,
	.max_attempts = 2,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 30000,
	.step_deadline_ms = 24LL * 3600 * 1000,
};

