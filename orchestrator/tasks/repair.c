/*
 * repair.c - see repair.h.  The orchestrator only decides what to repair
 * where and in which order; the node cuts its own primary ranges into
 * segments at run time (agent/repair.h), from the ring it sees then, so
 * nothing here needs the nodes' tokens at plan time and a segment is
 * always cut along ranges Cassandra will accept for -st/-et.  The step
 * name carries the segment ("repair segment 2/4"), which is all a step
 * needs to be run again after a restart.
 */
#include "repair.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../nodes/nodeops.h"
#include "../engine/params.h"
#include "../engine/task.h"

#define MAX_SEGMENTS		1024
#define MAX_TABLES		64
/* task_progress() keeps one write per 500 ms: wait that long before the
 * summary so it is not dropped after the agent's last progress line. */
#define SUMMARY_GAP_MS		510

static const struct param_spec repair_params[] = {
	{ "keyspace", PT_NAME, 0, 0, NULL, NULL, 0,
	  "keyspace to repair (default: every user keyspace)" },
	{ "table", PT_NAME_OR_NAMES, 0, MAX_TABLES, NULL, NULL, 0,
	  "table name, or array of names, of keyspace" },
	{ "full", PT_BOOL, 0, 0, "true", NULL, 0,
	  "full repair (true) or incremental (false)" },
	{ "segments_per_node", PT_INT, 1, MAX_SEGMENTS, "1", NULL, 0,
	  "cut each node's primary ranges into this many segments, one step "
	  "each" },
	{ "parallelism", PT_INT, 1, 1, "1", NULL, 0,
	  "segments at once (only 1: a task runs one step at a time)" },
	{ "intensity", PT_NUMBER, 0, 1, "1.0", NULL, PF_MIN_EXCL,
	  "fraction of the time spent repairing; the rest is rest between "
	  "segments" },
	PARAMS_NODE(21600, 604800),
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

/* What the table cannot say (params_check() ran before). */
static int repair_validate(json_t *params, char *err, size_t errlen)
{
	if (json_object_get(params, "table") != NULL &&
	    json_object_get(params, "keyspace") == NULL) {
		snprintf(err, errlen, "params.table needs params.keyspace");
		return -1;
	}
	return 0;
}

int repair_validate_params(json_t *params, char *err, size_t errlen)
{
	if (params_check(repair_params, "repair", params, err, errlen) != 0)
		return -1;
	return repair_validate(params, err, errlen);
}

int repair_step_segment(const char *name, int *seg, int *nseg)
{
	int n = 0;

	*seg = *nseg = 0;
	if (name == NULL)
		return -1;
	if (strcmp(name, "repair") == 0)
		return 0;
	if (sscanf(name, "repair segment %d/%d%n", seg, nseg, &n) != 2 ||
	    name[n] != '\0' || *nseg < 1 || *nseg > MAX_SEGMENTS ||
	    *seg < 1 || *seg > *nseg) {
		*seg = *nseg = 0;
		return -1;
	}
	return 0;
}

static int repair_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	int nseg = (int)json_integer_value(json_object_get(params,
	    "segments_per_node"));
	if (nodes->n == 0) {
		snprintf(err, errlen, "the cluster has no nodes yet: agents add "
		    "them when they check in");
		return -1;
	}
	if (nseg < 1)
		nseg = 1;
	for (int s = 1; s <= nseg; s++) {
		char name[64];

		if (nseg == 1)
			snprintf(name, sizeof(name), "repair");
		else
			snprintf(name, sizeof(name), "repair segment %d/%d", s, nseg);
		for (size_t i = 0; i < nodes->n; i++)
			task_plan_add(plan, name, nodes->items[i].address);
	}
	return 0;
}

/* The agent's arguments: names were checked by validate. */
static char *op_args(const json_t *params, int seg, int nseg)
{
	const char *ks = json_string_value(json_object_get(params, "keyspace"));
	const json_t *tb = json_object_get(params, "table");
	bool full = !json_is_false(json_object_get(params, "full"));
	char *s = xasprintf("repair %s", full ? "--full" : "--incremental"), *t;
	size_t i;
	json_t *v;

	if (ks != NULL) {
		t = xasprintf("%s --keyspace %s", s, ks);
		free(s);
		s = t;
	}
	if (json_is_string(tb)) {
		t = xasprintf("%s --table %s", s, json_string_value(tb));
		free(s);
		s = t;
	}
	json_array_foreach(tb, i, v) {
		t = xasprintf("%s --table %s", s, json_string_value(v));
		free(s);
		s = t;
	}
	if (nseg > 0) {
		t = xasprintf("%s --segment %d/%d", s, seg, nseg);
		free(s);
		s = t;
	}
	return s;
}

/* "ks1 ks2" of a JSON array of strings (caller frees). */
static char *words(const json_t *arr)
{
	char *s = xstrdup(""), *t;
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			continue;
		t = xasprintf("%s%s%s", s, *s ? " " : "", json_string_value(v));
		free(s);
		s = t;
	}
	return s;
}

/*
 * The step's closing message, from the agent's result data.  The data
 * comes from another program (maybe an older agent), so every field is
 * optional.  "nothing to do" only when the agent saw no repair at all: a
 * repair that ran is never reported as 0 sessions, because missed JMX
 * notifications can hide session lines (docs/repair.md).
 */
char *repair_summary(const json_t *d, int seg, int nseg)
{
	const json_t *ranges = json_object_get(d, "ranges");
	const json_t *ex = json_object_get(d, "sessions_exact");
	char *rep = words(json_object_get(d, "repaired"));
	char *nn = words(json_object_get(d, "not_needed"));
	char *head, *out, *rs = xstrdup(""), *t, *what, *count;
	json_int_t commands = json_integer_value(json_object_get(d, "commands"));
	json_int_t sessions = json_integer_value(json_object_get(d, "sessions"));
	size_t i;
	json_t *r;

	json_array_foreach(ranges, i, r) {
		const char *a = json_string_value(json_object_get(r, "start"));
		const char *b = json_string_value(json_object_get(r, "end"));
		t = xasprintf("%s%s(%s,%s]", rs, i ? " " : "", a ? a : "?",
		    b ? b : "?");
		free(rs);
		rs = t;
	}
	if (nseg > 0)
		head = xasprintf("segment %d/%d ranges %s: ", seg, nseg,
		    json_array_size(ranges) ? rs : "(none)");
	else
		head = xstrdup("");
	if (commands <= 0 && sessions <= 0 && *rep == '\0') {
		out = xasprintf("%snothing to do%s%s%s", head, *nn ?
		    ": replication factor 1, no repair is needed for " : "",
		    nn, *nn ? "" : ": no keyspace to repair");
		goto done;
	}
	what = *rep ? xstrdup(rep) : xstrdup("(keyspace not printed by "
	    "nodetool)");
	if (sessions <= 0)
		count = xasprintf("%lld command%s, sessions not printed by "
		    "nodetool", (long long)(commands > 0 ? commands : 1),
		    commands > 1 ? "s" : "");
	else if (json_is_false(ex))
		count = xasprintf("at least %lld session%s (nodetool missed "
		    "some progress notifications)", (long long)sessions,
		    sessions > 1 ? "s" : "");
	else
		count = xasprintf("%lld session%s", (long long)sessions,
		    sessions > 1 ? "s" : "");
	out = xasprintf("%srepaired %s: %s%s%s%s", head, what, count,
	    *nn ? "; nothing to do for " : "", nn, *nn ? " (RF 1)" : "");
	free(what);
	free(count);
done:
	free(head);
	free(rs);
	free(rep);
	free(nn);
	return out;
}

static bool last_step(struct task_ctx *ctx, const struct store_step *step)
{
	int seg, nseg;

	/* segment-major: the last segment's steps end the task */
	(void)ctx;
	if (repair_step_segment(step->name, &seg, &nseg) != 0)
		return true;
	return seg == nseg;
}

/* What a segment's step keeps between its calls (it is re-entrant: it
 * waits for the node job, then rests, without holding a worker). */
struct segmemo {
	int64_t t0;			/* mono ms of the first call */
	bool repaired;
	int64_t rest_until;		/* mono ms */
	char *msg;
};

static void segmemo_release(void *p)
{
	struct segmemo *m = p;

	free(m->msg);
	free(m);
}

static int repair_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	const json_t *params = task_ctx_params(ctx);
	double intensity = json_is_number(json_object_get(params, "intensity")) ?
	    json_number_value(json_object_get(params, "intensity")) : 1.0;
	struct segmemo *m = task_memo(ctx, "repair");
	int seg, nseg, rc, ex;
	int64_t took, pause, now;
	json_t *d = NULL;
	char *args;

	if (repair_step_segment(step->name, &seg, &nseg) != 0) {
		snprintf(err, errlen, "step '%s' is not a repair step", step->name);
		return TASK_STEP_FATAL;
	}
	if (m == NULL) {
		m = xcalloc(1, sizeof(*m));
		m->t0 = time_mono_ms();
		task_memo_put(ctx, "repair", m, segmemo_release, NULL);
	}
	if (!m->repaired) {
		args = op_args(params, seg, nseg);
		rc = nodeops_agent(ctx, step->node, args, NULL, 0, &d, &ex, err,
		    errlen);
		free(args);
		if (rc != TASK_STEP_OK) {
			json_decref(d);
			return rc;	/* WAIT included: the job runs on */
		}
		m->repaired = true;
		now = time_mono_ms();
		took = now - m->t0;
		m->msg = repair_summary(d, seg, nseg);
		json_decref(d);
		/* intensity: rest in proportion to the work, within the
		 * deadline */
		pause = intensity < 1.0 && !last_step(ctx, step) ?
		    (int64_t)((double)took * (1.0 - intensity) / intensity) : 0;
		if (pause > task_ctx_deadline_left(ctx) - 1000)
			pause = task_ctx_deadline_left(ctx) - 1000;
		if (pause < SUMMARY_GAP_MS)
			pause = SUMMARY_GAP_MS;
		if (pause > SUMMARY_GAP_MS)
			task_progress(ctx, "%s; resting %lld ms (intensity %g)",
			    m->msg, (long long)pause, intensity);
		m->rest_until = now + pause;
	}
	/* cancelled or paused while resting: the segment is still done */
	now = time_mono_ms();
	if (now < m->rest_until && !task_checkpoint(ctx))
		return task_wait(ctx, m->rest_until - now);
	task_progress(ctx, "%s", m->msg);
	return TASK_STEP_OK;
}

static const struct task_type repair_type = {
	.name = "repair",
	.description = "anti-entropy repair: each node's primary ranges, cut "
	    "into segments along the ring; resumable",
	.steps = "one step per node per segment",
	.params = repair_params,
	.validate = repair_validate,
	.plan = repair_plan,
	.run = repair_run,
	.max_attempts = 3,
	.backoff_base_ms = 1000,
	.backoff_max_ms = 30000,
	.step_deadline_ms = 12LL * 3600 * 1000,
};

int repair_register(struct task_engine *e, char *err, size_t errlen)
{
	if (task_type_find(e, repair_type.name) == NULL &&
	    task_type_register(e, &repair_type) != 0) {
		snprintf(err, errlen, "cannot register task type '%s'",
		    repair_type.name);
		return -1;
	}
	return 0;
}
