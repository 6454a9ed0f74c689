/*
 * noop.c - the diagnostic task type: queues, persistence, retries,
 * cancel/pause/resume and resume after a restart are tested with it, and
 * its waits (duration_s) park the task like any step that waits.
 */
#include "noop.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "../engine/params.h"
#include "../engine/task.h"

/* ---- noop: the diagnostic type ------------------------------------------ */

/*
 * params: duration_s (number >= 0, default 0): total sleep, split evenly
 * over the steps; steps (1..1000, default 1); per_node (bool, default
 * false): each step once per node; fail_attempts (0..100, default 0):
 * every step fails that many attempts before it succeeds, to exercise
 * retries.
 */
static const struct param_spec noop_params[] = {
	{ "duration_s", PT_NUMBER, 0, 86400, "0", NULL, 0,
	  "total time, split evenly over the steps; each step waits its share "
	  "parked, holding no worker" },
	{ "steps", PT_INT, 1, 1000, "1", NULL, 0, "number of steps" },
	{ "per_node", PT_BOOL, 0, 0, NULL, NULL, 0,
	  "each step once per node of the cluster" },
	{ "fail_attempts", PT_INT, 0, 100, NULL, NULL, 0,
	  "every step fails that many attempts before it succeeds" },
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static int noop_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	json_int_t steps = json_integer_value(json_object_get(params, "steps"));
	bool per_node = json_is_true(json_object_get(params, "per_node"));
	char name[32];

	(void)err;
	(void)errlen;
	if (steps < 1)
		steps = 1;
	for (json_int_t i = 1; i <= steps; i++) {
		snprintf(name, sizeof(name), "noop-%lld", (long long)i);
		if (per_node && nodes->n > 0) {
			for (size_t k = 0; k < nodes->n; k++)
				task_plan_add(plan, name,
				    nodes->items[k].address);
		} else {
			task_plan_add(plan, name, NULL);
		}
	}
	return 0;
}

static int noop_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	const json_t *p = task_ctx_params(ctx);
	double dur = json_number_value(json_object_get(p, "duration_s"));
	json_int_t steps = json_integer_value(json_object_get(p, "steps"));
	json_int_t fail = json_integer_value(json_object_get(p,
	    "fail_attempts"));
	int64_t ms, left;

	if (steps < 1)
		steps = 1;
	ms = (int64_t)(dur * 1000.0 / (double)steps);
	if (task_checkpoint(ctx))
		return TASK_STEP_STOP;
	/* The wait parks the task: it holds no worker. */
	if ((left = ms - task_ctx_attempt_elapsed(ctx)) > 0)
		return task_wait(ctx, left);
	if (step->attempts <= fail) {
		snprintf(err, errlen, "injected failure %d of %lld",
		    step->attempts, (long long)fail);
		return TASK_STEP_FAIL;
	}
	return TASK_STEP_OK;
}

static const struct task_type noop = {
	.name = "noop",
	.description = "a diagnostic task for testing queues, retries, "
	    "cancel/pause/resume and resume after a restart",
	.steps = "noop-1 .. noop-N (per node with per_node)",
	.params = noop_params,
	.plan = noop_plan,
	.run = noop_run,
	.max_attempts = 5,
	.backoff_base_ms = 100,
	.backoff_max_ms = 2000,
};

const struct task_type *noop_type(void)
{
	return &noop;
}
