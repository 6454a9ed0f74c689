/*
 * scale_tenant.c - the "scale-tenant" task type: one decision of the
 * tenant autoscaler (or an operator's), carried out and confirmed.
 *
 * The task writes the decision into the tenant's row (its per-service
 * limit, the services its shard should hold) and then waits for the
 * world to show it: the tenant sweep grows or shrinks the shard to its
 * target and the heartbeats bring each service's applied limits back,
 * which the sweep stores as a confirmation of exactly (limit, shard).
 * Only when the row's confirmation equals what was decided does the
 * task succeed: a decision the nodes never enforced is not done.  It
 * writes nothing but that row; the rest happens outside it, so it runs
 * in the cluster's queue like every other change (serial, audited) and
 * holds no worker while it waits.
 */
#include "scale_tenant.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../engine/params.h"
#include "../engine/task.h"
#include "../store/store.h"

#define POLL_MS 1000

static const struct param_spec scale_tenant_params[] = {
	{ "tenant", PT_NAME, 0, 0, NULL, NULL, PF_REQUIRED,
	  "the tenant to scale" },
	{ "limit", PT_INT, 1, 1e9, NULL, NULL, PF_REQUIRED,
	  "its per-service limit (ops/s), within its limit_max" },
	{ "services", PT_INT, 0, 16, "0", NULL, 0,
	  "how many services its shard should hold, within its "
	  "min_services and max_services; 0: as many as now" },
	{ "action", PT_WORD, 0, 0, "\"set\"", NULL, 0,
	  "raise, lower, add, remove (the autoscaler's word) or set" },
	{ "why", PT_TEXT, 0, 1024, NULL, NULL, 0,
	  "the decision's reason, kept as the first step's message" },
	{ "confirm_timeout_s", PT_INT, 1, 86400, "120", NULL, 0,
	  "how long the shard's services have to confirm the new limit "
	  "and the shard its new size" },
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static int scale_tenant_validate(json_t *params, char *err, size_t errlen)
{
	static const char *const actions[] = {
		"set", "raise", "lower", "add", "remove",
	};
	const char *a = json_string_value(json_object_get(params, "action"));

	for (size_t i = 0; a != NULL && i < ARRAY_SIZE(actions); i++)
		if (strcmp(a, actions[i]) == 0)
			return 0;
	snprintf(err, errlen, "action '%.32s' is not one of set, raise, "
	    "lower, add, remove", a ? a : "");
	return -1;
}

static int scale_tenant_plan(const json_t *params,
    const struct store_nodes *nodes, struct task_plan *plan, char *err,
    size_t errlen)
{
	(void)params;
	(void)nodes;
	(void)err;
	(void)errlen;
	task_plan_add(plan, "decide", NULL);
	task_plan_add(plan, "confirm", NULL);
	return 0;
}

/* The tenant must exist, and the numbers fit it, before anything is
 * queued: a decision for a deleted tenant is refused at once. */
static int scale_tenant_admit(struct store *st, const char *cluster,
    const json_t *params, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(params,
	    "tenant"));
	json_int_t limit = json_integer_value(json_object_get(params,
	    "limit"));
	json_int_t svcs = json_integer_value(json_object_get(params,
	    "services"));
	struct store_tenant t;

	if (store_tenant_get(st, cluster, name, &t) != 0) {
		snprintf(err, errlen, "cluster '%s' has no tenant '%s'",
		    cluster, name);
		return -1;
	}
	if (limit > t.limit_max) {
		snprintf(err, errlen, "a limit of %lld ops/s for tenant '%s' "
		    "is above its limit_max %" PRId64 "; raise limit_max "
		    "first (PATCH the tenant)", (long long)limit, name,
		    t.limit_max);
		return -1;
	}
	if (svcs != 0 && (svcs < t.min_services || svcs > t.max_services)) {
		snprintf(err, errlen, "%lld services for tenant '%s': it has "
		    "%u to %u (min_services, max_services)", (long long)svcs,
		    name, t.min_services, t.max_services);
		return -1;
	}
	return 0;
}

/* Has the row reached what was decided?  0 yes, 1 not yet, -1 never
 * (err says why). */
static int reached(const struct store_tenant *t, char *err, size_t errlen)
{
	char sig[STORE_TENANT_SIG_MAX];

	if (t->scale_error[0] != '\0' && t->services_target != 0 &&
	    t->nshard != t->services_target) {
		snprintf(err, errlen, "tenant '%s' cannot hold %u services: "
		    "%s", t->name, t->services_target, t->scale_error);
		return -1;
	}
	if (t->services_target != 0 && t->nshard != t->services_target)
		return 1;
	store_tenant_sig(t->limit_current, t->shard, t->nshard, sig,
	    sizeof(sig));
	return strcmp(sig, t->confirmed) == 0 ? 0 : 1;
}

static int scale_tenant_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	const json_t *p = task_ctx_params(ctx);
	const char *cluster = task_ctx_cluster(ctx);
	const char *name = json_string_value(json_object_get(p, "tenant"));
	const char *why = json_string_value(json_object_get(p, "why"));
	int64_t limit = json_integer_value(json_object_get(p, "limit"));
	unsigned svcs = (unsigned)json_integer_value(json_object_get(p,
	    "services"));
	int64_t timeout_ms = json_integer_value(json_object_get(p,
	    "confirm_timeout_s")) * 1000;
	struct store *st = task_ctx_store(ctx);
	struct store_tenant t;
	char serr[1024];
	int rc;

	if (task_checkpoint(ctx))
		return TASK_STEP_STOP;
	rc = store_tenant_get(st, cluster, name, &t);
	if (rc == RM_ENOENT) {
		snprintf(err, errlen, "tenant '%s' of cluster '%s' was deleted "
		    "before its scale was %s", name, cluster, step->idx == 0 ?
		    "recorded" : "confirmed");
		return TASK_STEP_FATAL;
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot read tenant '%s': see the "
		    "ringmaster log", name);
		return TASK_STEP_FAIL;
	}
	if (step->idx == 0) {
		/* Idempotent: a re-run after a crash writes the same. */
		rc = store_tenant_scale(st, cluster, name, limit, svcs, serr,
		    sizeof(serr));
		if (rc != 0) {
			snprintf(err, errlen, "cannot record the scale of "
			    "tenant '%s': %s", name, serr);
			return rc == RM_EINVAL ? TASK_STEP_FATAL :
			    TASK_STEP_FAIL;
		}
		task_progress(ctx, "%s", why != NULL ? why : "limit and "
		    "services recorded");
		return TASK_STEP_OK;
	}
	rc = reached(&t, serr, sizeof(serr));
	if (rc < 0) {
		snprintf(err, errlen, "%s", serr);
		return TASK_STEP_FATAL;
	}
	if (rc == 0) {
		task_progress(ctx, "every service of tenant '%s' that is up "
		    "enforces %" PRId64 " ops/s; its shard holds %zu services",
		    name, t.limit_current, t.nshard);
		return TASK_STEP_OK;
	}
	if (task_ctx_attempt_elapsed(ctx) >= timeout_ms) {
		snprintf(err, errlen, "tenant '%s': the services of its shard "
		    "did not confirm %" PRId64 " ops/s on %s%u services within "
		    "%" PRId64 " s (confirmed: '%s'); GET the tenant to see "
		    "each service's applied limit and limits error", name,
		    t.limit_current, t.services_target ? "" : "its ",
		    t.services_target ? t.services_target : (unsigned)t.nshard,
		    timeout_ms / 1000, t.confirmed);
		return TASK_STEP_FAIL;
	}
	task_progress(ctx, "waiting for the services of tenant '%s' to "
	    "enforce %" PRId64 " ops/s (shard: %zu of %u services)", name,
	    t.limit_current, t.nshard, t.services_target ? t.services_target :
	    (unsigned)t.nshard);
	return task_wait(ctx, POLL_MS);
}

const struct task_type scale_tenant_type = {
	.name = "scale-tenant",
	.description = "carry out one tenant autoscaling decision: record "
	    "its per-service limit and shard size, then wait until the "
	    "shard has that size and every service that is up enforces "
	    "that limit",
	.steps = "decide (record the limit and the services), confirm "
	    "(the shard's services report the limit applied)",
	.params = scale_tenant_params,
	.validate = scale_tenant_validate,
	.plan = scale_tenant_plan,
	.run = scale_tenant_run,
	.admit = scale_tenant_admit,
	.max_attempts = 1,
};
