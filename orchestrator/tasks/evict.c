/*
 * evict.c - see evict.h.
 */
#include "evict.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../engine/params.h"
#include "../engine/task.h"
#include "../nodes/nodeops.h"
#include "../store/store.h"

static const struct param_spec removenode_params[] = {
	{ "host_id", PT_NAME, 0, 0, NULL, NULL, PF_REQUIRED,
	  "host id of the dead node to remove from the ring "
	  "(GET /api/v1/clusters/{name}/nodes)" },
	PARAMS_NODE(21600, 604800),
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};


static int removenode_plan(const json_t *params,
    const struct store_nodes *nodes, struct task_plan *plan, char *err,
    size_t errlen)
{
	(void)params;
	if (nodes->n < 2) {
		snprintf(err, errlen, "removenode needs a live node to run on: the "
		    "cluster has %zu", nodes->n);
		return -1;
	}
	task_plan_add(plan, "removenode", NULL);
	return 0;
}

/* The node to run on, kept for the attempt so every poll asks the same. */
struct rnmemo {
	char live[128];
	char dead[128];
};

static void rnmemo_release(void *p)
{
	free(p);
}

/* Choose the live node and check the dead one is not live.  A TASK_STEP_*
 * code with err. */
static int removenode_pick(struct task_ctx *ctx, const char *hid,
    struct rnmemo *m, char *err, size_t errlen)
{
	struct store *st = task_ctx_store(ctx);
	const char *cl = task_ctx_cluster(ctx);
	struct store_nodes v = { NULL, 0 };
	int rc = TASK_STEP_OK;

	if (store_cluster_nodes(st, cl, &v) != 0) {
		store_nodes_release(&v);
		snprintf(err, errlen, "cannot read the nodes of '%s': see the "
		    "ringmaster log", cl);
		return TASK_STEP_FAIL;
	}
	for (size_t i = 0; i < v.n; i++) {
		const struct store_node_row *r = &v.items[i];
		if (r->host_id == NULL || strcmp(r->host_id, hid) != 0)
			continue;
		str_copy(m->dead, r->address, sizeof(m->dead));
		/* agent_down: a live peer sees it up.  Never remove it. */
		if (r->state != NULL && (strcmp(r->state, "up") == 0 ||
		    strcmp(r->state, "agent_down") == 0)) {
			snprintf(err, errlen, "refused: node %s (host %s) is %s: a "
			    "live node is never removed from the ring (decommission "
			    "it instead)", r->address, hid, r->state);
			rc = TASK_STEP_FATAL;
			goto out;
		}
	}
	for (size_t i = 0; i < v.n && m->live[0] == '\0'; i++) {
		const struct store_node_row *r = &v.items[i];
		if (r->state != NULL && strcmp(r->state, "up") == 0 &&
		    (r->host_id == NULL || strcmp(r->host_id, hid) != 0))
			str_copy(m->live, r->address, sizeof(m->live));
	}
	if (m->live[0] == '\0') {
		snprintf(err, errlen, "no node of '%s' is up to run nodetool "
		    "removenode from: it is tried again", cl);
		rc = TASK_STEP_FAIL;
	}
out:
	store_nodes_release(&v);
	return rc;
}

static int removenode_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	const char *hid = json_string_value(json_object_get(task_ctx_params(ctx),
	    "host_id"));
	struct rnmemo *m = task_memo(ctx, "removenode");
	json_t *d = NULL;
	char *args;
	int rc;

	(void)step;
	if (hid == NULL) {
		snprintf(err, errlen, "params.host_id is missing");
		return TASK_STEP_FATAL;
	}
	if (m == NULL) {
		m = xcalloc(1, sizeof(*m));
		if ((rc = removenode_pick(ctx, hid, m, err, errlen)) !=
		    TASK_STEP_OK) {
			free(m);
			return rc;
		}
		task_memo_put(ctx, "removenode", m, rnmemo_release, NULL);
		task_progress(ctx, "removing host %s (%s) through %s", hid,
		    m->dead[0] ? m->dead : "not in the store", m->live);
	}
	args = xasprintf("removenode --host-id %s", hid);
	rc = nodeops_agent(ctx, m->live, args, NULL, 0, &d, NULL, err, errlen);
	free(args);
	if (rc == TASK_STEP_OK) {
		if (json_is_true(json_object_get(d, "already_gone")))
			task_progress(ctx, "host %s (%s) is not in the ring that %s "
			    "sees: nothing to remove", hid, m->dead[0] ? m->dead :
			    "?", m->live);
		else
			task_progress(ctx, "removed host %s (%s) from the ring "
			    "through %s (nodetool status no longer lists it)", hid,
			    m->dead[0] ? m->dead : "?", m->live);
	}
	json_decref(d);
	return rc;
}

const struct task_type evict_removenode_type = {
	.name = "removenode",
	.description = "remove a dead node from the ring: nodetool removenode "
	    "of its host id on a live node, checked with nodetool status",
	.steps = "removenode",
	.params = removenode_params,
	.plan = removenode_plan,
	.run = removenode_run,
	.max_attempts = 3,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 60000,
	.step_deadline_ms = 12LL * 3600 * 1000,
};

