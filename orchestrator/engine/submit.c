/*
 * submit.c - submission (validate, admit, plan, persist, queue) and control
 * (cancel, pause, resume) of tasks, and the per-cluster queue calls the
 * service makes.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/htab.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "../store/store.h"
#include "queue.h"
#include "task.h"
#include "task_int.h"
#include "params.h"

/* ---- the service layer --------------------------------------------------- */

static int prepare(struct task_engine *e, const char *cluster, const char *type, json_t *params,
    const struct task_type **tyout, struct task_plan *plan, char *err,
    size_t errlen)
{
	const struct task_type *ty = task_type_find(e, type);
	struct store_nodes nodes;
	int rc;

	if (ty == NULL) {
		snprintf(err, errlen, "unknown task type '%s'",
		    type ? type : "");
		return RM_EINVAL;
	}
	if (!json_is_object(params)) {
		snprintf(err, errlen, "params must be an object");
		return RM_EINVAL;
	}
	if (params_check(ty->params, ty->name, params, err, errlen) < 0 ||
	    (ty->validate != NULL && ty->validate(params, err, errlen) < 0))
		return RM_EINVAL;
	rc = store_cluster_nodes(e->st, cluster, &nodes);
	if (rc == RM_ENOENT) {
		store_nodes_release(&nodes);
		snprintf(err, errlen, "cluster '%s' not found", cluster);
		return RM_ENOENT;
	}
	if (rc < 0) {
		store_nodes_release(&nodes);
		snprintf(err, errlen, "cannot read the nodes of '%s'", cluster);
		return RM_ERR;
	}
	/* The recorded state may forbid it (a damaged backup); after the
	 * cluster check, so an unknown cluster stays a 404. */
	if (ty->admit != NULL && ty->admit(e->st, cluster, params, err,
	    errlen) < 0) {
		store_nodes_release(&nodes);
		return RM_ECONFLICT;
	}
	rc = ty->plan(params, &nodes, plan, err, errlen);
	store_nodes_release(&nodes);
	if (rc < 0)
		return RM_EINVAL;
	if (plan->n == 0) {
		snprintf(err, errlen, "task type '%s' planned no steps", type);
		return RM_EINVAL;
	}
	*tyout = ty;
	return 0;
}

/* The task just inserted, as store_task_load() would read it back; takes
 * the plan's strings. */
static struct store_task *handoff_make(const struct store_task_new *tn,
    const char *id, int64_t seq, struct task_plan *plan)
{
	struct store_task *t = xcalloc(1, sizeof(*t));

	str_copy(t->id, id, sizeof(t->id));
	str_copy(t->cluster, tn->cluster, sizeof(t->cluster));
	str_copy(t->type, tn->type, sizeof(t->type));
	t->state = STORE_TASK_QUEUED;
	t->params = json_deep_copy(tn->params);
	if (t->params == NULL)
		t->params = json_object();
	t->seq = seq;
	t->created_at = tn->created_at;
	if (tn->schedule_id != NULL)
		str_copy(t->schedule_id, tn->schedule_id,
		    sizeof(t->schedule_id));
	t->steps = xcalloc(plan->n, sizeof(*t->steps));
	for (size_t i = 0; i < plan->n; i++) {
		t->steps[i].idx = (int)i;
		t->steps[i].name = plan->names[i];
		t->steps[i].node = plan->nodes[i];
		t->steps[i].state = STORE_STEP_PENDING;
		plan->names[i] = plan->nodes[i] = NULL;
	}
	t->nsteps = plan->n;
	return t;
}

static int submit(struct task_engine *e, const char *cluster, const char *type, json_t *params,
    const char *schedule_id, int64_t next_run_at, char *id_out, char *err,
    size_t errlen)
{
	struct task_plan plan = { 0 };
	struct store_step_plan *steps = NULL;
	const struct task_type *ty;
	struct store_task_new tn;
	struct store_task *t;
	json_t *own = NULL;
	int64_t seq = 0;
	int rc;

	if (params == NULL)
		params = own = json_object();
	if ((rc = prepare(e, cluster, type, params, &ty, &plan, err, errlen)) < 0)
		goto out;
	steps = xcalloc(plan.n, sizeof(*steps));
	for (size_t i = 0; i < plan.n; i++) {
		steps[i].name = plan.names[i];
		steps[i].node = plan.nodes[i];
	}
	tn = (struct store_task_new){
		.cluster = cluster, .type = ty->name, .params = params,
		.steps = steps, .nsteps = plan.n, .schedule_id = schedule_id,
		.schedule_next_run_at = next_run_at,
		.created_at = time_wall_ms(),
	};
	rc = store_task_insert(e->st, &tn, id_out, &seq, err, errlen);
	if (rc == RM_ENOENT)
		rc = RM_ENOENT;
	else if (rc == RM_EBUSY)
		rc = RM_EBUSY;
	else if (rc < 0)
		rc = RM_ERR;
	if (rc < 0)
		goto out;
	t = handoff_make(&tn, id_out, seq, &plan);
	if (!eng_ho_put(e, t))
		store_task_free(t);
	if (queue_push(e->q, cluster, id_out, QUEUE_READY) < 0) {
		queue_cluster_add(e->q, cluster);
		queue_push(e->q, cluster, id_out, QUEUE_READY);
	}
	if (e->obs != NULL) {
		struct task_event ev = {
			.id = id_out, .cluster = cluster, .type = ty->name,
			.from = STORE_TASK_QUEUED, .to = STORE_TASK_QUEUED,
			.created_at = tn.created_at,
		};
		e->obs(&ev, e->obs_arg);
	}
out:
	free(steps);
	eng_plan_release(&plan);
	json_decref(own);
	return rc;
}

int task_submit(struct task_engine *e, const char *cluster, const char *type, json_t *params,
    char *id_out, char *err, size_t errlen)
{
	return submit(e, cluster, type, params, NULL, 0, id_out, err, errlen);
}

int task_submit_scheduled(struct task_engine *e, const struct store_schedule *s,
    int64_t next_run_at, char *id_out, char *err, size_t errlen)
{
	json_t *params = json_deep_copy(s->params);
	int rc;

	rc = submit(e, s->cluster, s->type, params, s->id, next_run_at, id_out,
	    err, errlen);
	json_decref(params);
	return rc;
}

int task_validate(struct task_engine *e, const char *type, json_t *params, char *err,
    size_t errlen)
{
	const struct task_type *ty = task_type_find(e, type);

	if (ty == NULL) {
		snprintf(err, errlen, "unknown task type '%s'",
		    type ? type : "");
		return RM_EINVAL;
	}
	if (!json_is_object(params)) {
		snprintf(err, errlen, "params must be an object");
		return RM_EINVAL;
	}
	if (params_check(ty->params, ty->name, params, err, errlen) < 0 ||
	    (ty->validate != NULL && ty->validate(params, err, errlen) < 0))
		return RM_EINVAL;
	return 0;
}

/* Load for a control call: 0 with *t, or RM_ENOENT/RM_ECONFLICT. */
static int ctl_load(struct task_engine *e, const char *id, struct store_task **t, const char *verb,
    char *err, size_t errlen)
{
	*t = store_task_load(e->st, id);
	if (*t == NULL) {
		snprintf(err, errlen, "task '%s' not found", id);
		return RM_ENOENT;
	}
	if (store_task_state_terminal((*t)->state)) {
		snprintf(err, errlen, "cannot %s task '%s': it is %s", verb,
		    id, store_task_state_str((*t)->state));
		store_task_free(*t);
		*t = NULL;
		return RM_ECONFLICT;
	}
	return 0;
}

/* A control call's compare-and-set from the states in from to state to. */
static int ctl_cas(struct task_engine *e, struct store_task *t, unsigned from,
    enum store_task_state to, enum store_task_state *actual, char *err,
    size_t errlen)
{
	struct store_transition tr = { .from = from, .to = (int)to };
	int rc = eng_cas(e, t, &tr, actual);

	if (rc == RM_ENOENT)
		snprintf(err, errlen, "task '%s' not found", t->id);
	else if (rc == RM_ERR)
		snprintf(err, errlen, "cannot record the state of task '%s'; "
		    "see the orchestrator's log", t->id);
	return rc;
}

/* The task finished under a control call: say so, as ctl_load() would. */
static int ctl_finished(const struct store_task *t, const char *verb,
    char *err, size_t errlen)
{
	snprintf(err, errlen, "cannot %s task '%s': it is %s", verb, t->id,
	    store_task_state_str(t->state));
	return RM_ECONFLICT;
}

static int ctl_request(struct task_engine *e, const struct store_task *t,
    enum store_request req, char *err, size_t errlen)
{
	int rc = store_task_request(e->st, t->id, req, err, errlen);

	if (rc == RM_ERR)
		snprintf(err, errlen, "cannot record the request for task "
		    "'%s'; see the orchestrator's log", t->id);
	return rc;
}

static int ctl_gave_up(const char *verb, const char *id, char *err,
    size_t errlen)
{
	snprintf(err, errlen, "cannot %s task '%s': its state changed %d "
	    "times under the request; ask again", verb, id, CTL_TRIES);
	return RM_ECONFLICT;
}

/*
 * The three control calls hold no lock while they write: each is a loop
 * of compare-and-set writes that ends when one wins or the state found
 * decides (see "State changes" in task.c), then the queue is made to
 * agree with whatever the store holds now.
 */
int task_cancel(struct task_engine *e, const char *id, char *err, size_t errlen)
{
	const unsigned idle = STORE_TASK_BIT(STORE_TASK_QUEUED) |
	    STORE_TASK_BIT(STORE_TASK_PAUSED);
	struct store_task *t;
	enum store_task_state actual;
	int rc, i;

	eng_ho_drop(e, id);			/* before any flag: see "Hand-off" */
	if ((rc = ctl_load(e, id, &t, "cancel", err, errlen)) < 0)
		return rc;
	for (i = 0; i < CTL_TRIES; i++) {
		/* Queued or paused: no runner moves it; the write decides. */
		rc = ctl_cas(e, t, idle, STORE_TASK_CANCELLED, &actual, err,
		    errlen);
		if (rc != RM_ECONFLICT)
			break;
		if (store_task_state_terminal(actual)) {
			rc = ctl_finished(t, "cancel", err, errlen);
			break;
		}
		/* Running: ask its runner, which stops at a checkpoint.
		 * Store flag first, then the ctx (see the design). */
		rc = ctl_request(e, t, STORE_REQ_CANCEL, err, errlen);
		if (rc == RM_ECONFLICT)
			continue;		/* it finished: see which way */
		if (rc < 0 || eng_ctx_flag(e, id, true, true) ||
		    queue_where(e->q, t->cluster, id) != QUEUE_NOWHERE)
			break;		/* a runner or the queue has it */
		/* Running in the store, yet no worker has it and no queue
		 * holds it (the engine is stopped): nobody would see the
		 * flag, so the write decides here too. */
		rc = ctl_cas(e, t, STORE_TASK_BIT(STORE_TASK_RUNNING),
		    STORE_TASK_CANCELLED, &actual, err, errlen);
		if (rc != RM_ECONFLICT)
			break;
	}
	if (i == CTL_TRIES)
		rc = ctl_gave_up("cancel", id, err, errlen);
	eng_queue_sync(e, t->cluster, id, false);
	store_task_free(t);
	return rc;
}

int task_pause(struct task_engine *e, const char *id, char *err, size_t errlen)
{
	struct store_task *t;
	enum store_task_state actual;
	int rc, i;

	eng_ho_drop(e, id);			/* before any flag: see "Hand-off" */
	if ((rc = ctl_load(e, id, &t, "pause", err, errlen)) < 0)
		return rc;
	for (i = 0; i < CTL_TRIES; i++) {
		rc = ctl_cas(e, t, STORE_TASK_BIT(STORE_TASK_QUEUED),
		    STORE_TASK_PAUSED, &actual, err, errlen);
		if (rc != RM_ECONFLICT)
			break;
		if (actual == STORE_TASK_PAUSED) {
			rc = 0;
			break;
		}
		if (store_task_state_terminal(actual)) {
			rc = ctl_finished(t, "pause", err, errlen);
			break;
		}
		/* Running: its runner pauses at a checkpoint, if the
		 * request still stands then. */
		rc = ctl_request(e, t, STORE_REQ_PAUSE, err, errlen);
		if (rc == RM_ECONFLICT)
			continue;
		if (rc == 0)
			eng_ctx_flag(e, id, false, true);
		break;
	}
	if (i == CTL_TRIES)
		rc = ctl_gave_up("pause", id, err, errlen);
	eng_queue_sync(e, t->cluster, id, false);
	store_task_free(t);
	return rc;
}

int task_resume(struct task_engine *e, const char *id, char *err, size_t errlen)
{
	struct store_task *t;
	enum store_task_state actual;
	int rc, i;

	eng_ho_drop(e, id);			/* before any flag: see "Hand-off" */
	if ((rc = ctl_load(e, id, &t, "resume", err, errlen)) < 0)
		return rc;
	for (i = 0; i < CTL_TRIES; i++) {
		rc = ctl_cas(e, t, STORE_TASK_BIT(STORE_TASK_PAUSED),
		    STORE_TASK_QUEUED, &actual, err, errlen);
		if (rc != RM_ECONFLICT)
			break;
		if (store_task_state_terminal(actual)) {
			rc = ctl_finished(t, "resume", err, errlen);
			break;
		}
		/* Queued or running: withdraw a pause request, if any.
		 * Refused when it was paused meanwhile: resume that. */
		rc = ctl_request(e, t, STORE_REQ_UNPAUSE, err, errlen);
		if (rc == RM_ECONFLICT)
			continue;
		if (rc == 0)
			eng_ctx_flag(e, id, false, false);
		break;
	}
	if (i == CTL_TRIES)
		rc = ctl_gave_up("resume", id, err, errlen);
	eng_queue_sync(e, t->cluster, id, false);
	store_task_free(t);
	return rc;
}

int task_cluster_add(struct task_engine *e, const char *cluster)
{
	return queue_cluster_add(e->q, cluster) < 0 ? RM_ERR : 0;
}

int task_cluster_delete(struct task_engine *e, const char *cluster, char *err,
    size_t errlen)
{
	int rc;

	if (queue_running(e->q, cluster, NULL, 0)) {
		snprintf(err, errlen, "cluster '%s' has a running task",
		    cluster);
		return RM_EBUSY;
	}
	rc = store_cluster_delete(e->st, cluster, err, errlen);
	if (rc == RM_EBUSY)
		return RM_EBUSY;
	if (rc == RM_ENOENT)
		return RM_ENOENT;
	if (rc < 0)
		return RM_ERR;
	queue_cluster_remove(e->q, cluster);
	eng_ho_drop_cluster(e, cluster);
	return 0;
}

void task_queue_info(struct task_engine *e, const char *cluster, size_t *depth, char *running_id,
    size_t idlen)
{
	if (depth != NULL)
		*depth = queue_depth(e->q, cluster);
	if (running_id != NULL && idlen > 0 &&
	    !queue_running(e->q, cluster, running_id, idlen))
		running_id[0] = '\0';
}

int task_busy_workers(struct task_engine *e)
{
	return e->q ? queue_busy(e->q) : 0;
}

size_t task_waiting(struct task_engine *e)
{
	return e->q ? queue_waiting(e->q) : 0;
}

void task_queue_foreach(struct task_engine *e, void (*fn)(const char *cluster, size_t depth,
    const char *running, void *arg), void *arg)
{
	if (e->q != NULL)
		queue_foreach(e->q, fn, arg);
}
