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
#include "../service/service_json.h"
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
	struct store_nodes stored;
	json_t *nodes;
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
	rc = store_cluster_nodes(e->st, cluster, &stored);
	/* Task types plan over the nodes' JSON (task_type.plan). */
	nodes = rc == 0 ? svc_json_nodes(&stored) : NULL;
	store_nodes_release(&stored);
	if (rc == RM_ENOENT) {
		snprintf(err, errlen, "cluster '%s' not found", cluster);
		return RM_ENOENT;
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot read the nodes of '%s'", cluster);
		return RM_ERR;
	}
	/* The recorded state may forbid it (a damaged backup); after the
	 * cluster check, so an unknown cluster stays a 404. */
	if (ty->admit != NULL && ty->admit(e->st, cluster, params, err,
	    errlen) < 0) {
		json_decref(nodes);
		return RM_ECONFLICT;
	}
	rc = ty->plan(params, nodes, plan, err, errlen);
	json_decref(nodes);
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

static int ctl_rc(int rc, const char *id, char *err, size_t errlen)
{
	if (rc == RM_ENOENT) {
		snprintf(err, errlen, "task '%s' not found", id);
		return RM_ENOENT;
	}
	if (rc == RM_EBUSY)
		return RM_ECONFLICT;	/* finished meanwhile; err is set */
	return rc < 0 ? RM_ERR : 0;
}

int task_cancel(struct task_engine *e, const char *id, char *err, size_t errlen)
{
	struct store_task *t;
	struct deferred d = { 0 };
	char running[STORE_ID_MAX];
	int rc;

	pthread_mutex_lock(&e->ctl);
	eng_ho_drop(e, id);			/* before any flag: see "Hand-off" */
	if ((rc = ctl_load(e, id, &t, "cancel", err, errlen)) < 0)
		goto out;
	if (queue_remove(e->q, t->cluster, id)) {
		rc = ctl_rc(eng_persist_d(e, t, STORE_TASK_CANCELLED, NULL, NULL, 0,
		    &d), id, err, errlen);
		goto out;
	}
	/* Running (or being picked up): ask; the runner stops at a
	 * checkpoint.  Store flag first, then the ctx (see the design). */
	rc = ctl_rc(store_task_request(e->st, id, STORE_REQ_CANCEL, err,
	    errlen), id, err, errlen);
	if (rc < 0)
		goto out;
	if (!eng_ctx_flag(e, id, true, true) && !(queue_running(e->q, t->cluster,
	    running, sizeof(running)) && strcmp(running, id) == 0)) {
		/* In no queue and not running: nobody would see the flag. */
		rc = ctl_rc(eng_persist_d(e, t, STORE_TASK_CANCELLED, NULL, NULL, 0,
		    &d), id, err, errlen);
	}
out:
	pthread_mutex_unlock(&e->ctl);
	if (t != NULL)
		eng_deferred_flush(e, t, &d);
	store_task_free(t);
	return rc;
}

int task_pause(struct task_engine *e, const char *id, char *err, size_t errlen)
{
	struct store_task *t;
	struct deferred d = { 0 };
	int rc;

	pthread_mutex_lock(&e->ctl);
	eng_ho_drop(e, id);			/* before any flag: see "Hand-off" */
	if ((rc = ctl_load(e, id, &t, "pause", err, errlen)) < 0)
		goto out;
	if (t->state == STORE_TASK_PAUSED)
		goto out;
	if (queue_set_hold(e->q, t->cluster, id, QUEUE_HELD)) {
		rc = ctl_rc(eng_persist_d(e, t, STORE_TASK_PAUSED, NULL, NULL, 0, &d),
		    id, err, errlen);
		goto out;
	}
	rc = ctl_rc(store_task_request(e->st, id, STORE_REQ_PAUSE, err,
	    errlen), id, err, errlen);
	if (rc == 0)
		eng_ctx_flag(e, id, false, true);
out:
	pthread_mutex_unlock(&e->ctl);
	if (t != NULL)
		eng_deferred_flush(e, t, &d);
	store_task_free(t);
	return rc;
}

int task_resume(struct task_engine *e, const char *id, char *err, size_t errlen)
{
	struct store_task *t;
	struct deferred d = { 0 };
	int rc;

	pthread_mutex_lock(&e->ctl);
	eng_ho_drop(e, id);			/* before any flag: see "Hand-off" */
	if ((rc = ctl_load(e, id, &t, "resume", err, errlen)) < 0)
		goto out;
	if (t->state != STORE_TASK_PAUSED) {
		if (t->pause_requested) {
			rc = ctl_rc(store_task_request(e->st, id,
			    STORE_REQ_UNPAUSE, err, errlen), id, err, errlen);
			eng_ctx_flag(e, id, false, false);
		}
		goto out;
	}
	rc = ctl_rc(eng_persist_d(e, t, STORE_TASK_QUEUED, NULL, NULL, 0, &d), id,
	    err, errlen);
	if (rc < 0)
		goto out;
	if (!queue_set_hold(e->q, t->cluster, id, QUEUE_READY)) {
		queue_cluster_add(e->q, t->cluster);
		queue_push(e->q, t->cluster, id, QUEUE_READY);
	}
out:
	pthread_mutex_unlock(&e->ctl);
	if (t != NULL)
		eng_deferred_flush(e, t, &d);
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
