/*
 * task.c - the task engine: types, persistence, the hand-off of submitted
 * tasks, the registry of running ones, and the engine's life cycle.  The
 * design of the whole engine is here; runner.c, timer.c, step.c and
 * submit.c hold the rest (task_int.h).
 *
 * Design.  A task is an ordered list of steps persisted in the store.  The
 * service layer calls task_submit(): validate, plan the steps, insert task
 * and steps in one transaction (intent first), then push the id on the
 * cluster's queue.  A worker of the queue calls eng_run_task(), which loads the
 * task and runs its first unfinished step, then the next, writing every
 * step's state before it starts (running, attempts + 1) and after it ends.
 * A step that ends is written in the same transaction as the next step's
 * start, or as the task's final state, so a one-step task costs two
 * transactions after its insert.
 *
 * Stopping.  Every running task has a struct task_ctx registered in a
 * small list while it runs; cancel and pause set atomic flags in it (and
 * a request flag in the store, so a request survives a crash and reaches
 * a task that is just being picked up).  task_checkpoint() reads the
 * flags, the shutdown flag and the step deadline.  The order that makes
 * this race-free: a control call writes the store flag THEN looks for the
 * ctx; the runner registers its ctx THEN loads the task.
 *
 * State changes are compare-and-set writes.  Every change of a task's
 * state is store_task_transition(): "from one of these states to that
 * one", checked and written in one UPDATE ... WHERE state = ?, so of two
 * callers racing from the same state one wins and the other learns the
 * state that won (RM_ECONFLICT).  No engine lock is held across a store
 * write.  Who may move a task: a control call moves a task that no
 * worker has (queued or paused: cancel, pause, resume); the runner moves
 * its own (start, end, fail, cancel and pause at a checkpoint, the
 * latter only while the pause is still requested, so a resume that
 * withdrew it wins).  A running task's control call only sets a request
 * flag (refused once the task is finished).  The queue follows the store,
 * never leads: after its write, won or lost, the caller calls
 * eng_queue_sync(), which reads the state and makes the task's queue
 * entry agree under e->ctl; a paused task that had started goes back to
 * the HEAD of its cluster as QUEUE_BLOCK (nothing else of the cluster
 * runs until it is resumed or cancelled), a paused queued task is
 * QUEUE_HELD (skipped, in place).  A runner that loses its write (the
 * task was paused or cancelled between its load and its start) ends its
 * attempt and syncs the queue the same way.
 *
 * Shutdown (task_stop) makes every checkpoint true; a stopped step goes
 * back to pending and its task stays "running" in the store; at start-up
 * task_resume_all() queues it first in its cluster and it continues at its
 * first unfinished step (a step found "running" after a crash is re-run).
 *
 * Hand-off.  task_submit() knows everything the runner would read back
 * (the row it just inserted), so it leaves the task, as loaded, in a small
 * table by id; the runner takes it from there instead of reading the
 * store.  Every control call drops the entry first, before it writes a
 * request flag, so a runner that finds no entry loads the store as ever,
 * and one that took the entry registered its ctx before, where the
 * control call finds it.  (A task cancelled between its insert and its
 * hand-off is refused by the store when the runner writes its start.)
 *
 * Waiting.  A worker runs only orchestration code; it never sleeps for a
 * task.  A step that has to wait (a job on a node, noop's duration, a
 * rest between repair segments) asks with task_wait() and returns
 * TASK_STEP_WAIT; a failed attempt's backoff is a wait too.  The runner
 * then parks the task: its ctx stays in the registry with where it is
 * (phase, step, attempt), a timer entry is added, and the callback
 * returns QUEUE_WAIT, so the task stays its cluster's running task (the
 * cluster's order holds) while the worker goes back to the pool.  The
 * timer thread, or a cancel or pause (which wake the task at once), calls
 * queue_wake(); the next worker calls the runner, which finds the parked
 * ctx and calls the step again.  A step is therefore re-entrant: it is
 * called again and again until it returns something else than WAIT, and
 * keeps what it learnt between calls in its memo (task_memo_put()).
 * Timer entries carry a generation; waking a task by event bumps it, so a
 * stale entry does nothing.
 *
 * Attempts.  A step found "running" in the store (the orchestrator died
 * or was stopped while it ran) continues as the same attempt, so a node
 * job whose id is made of the step and the attempt is attached again
 * rather than started twice.  A failed attempt, a pause or a cancel end
 * the attempt; the next one counts one more.  A step that kills the
 * orchestrator would so never use up its attempts: each start that finds
 * it running counts one resume of the attempt in the store, a clean stop
 * (and a new attempt) sets the count back to 0, and the RESUMES_MAX-th
 * resume fails the attempt instead of running it, so the type's attempt
 * limit applies.
 *
 * Retries: a failed attempt waits (parked, see above) for an exponential
 * backoff with jitter, persisting next_attempt_at, then runs again, up to
 * the type's max_attempts.
 *
 * Lock order (never take an earlier one while holding a later one):
 *   e->ctl (eng_queue_sync: a store READ, then queue calls)  ->  e->mu
 *   (registry of ctxs)  ->  e->tmu (timer heap)  ->  the queue's lock  ->
 *   ctx->pmu (one step's progress).
 * e->ho_mu (hand-off) is taken alone.  The store has its own locks; no
 * store write is made with any of these held, and the only store call
 * made under one is eng_queue_sync()'s read under e->ctl.
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
#include "../tasks/noop.h"

/* ---- types --------------------------------------------------------------- */

int task_type_register(struct task_engine *e, const struct task_type *type)
{
	if (type == NULL || type->name == NULL || type->plan == NULL ||
	    type->run == NULL || e->ntypes == MAX_TYPES)
		return RM_EINVAL;
	if (task_type_find(e, type->name) != NULL)
		return RM_EINVAL;
	e->types[e->ntypes++] = type;
	return 0;
}

const struct task_type *task_type_find(const struct task_engine *e, const char *name)
{
	for (size_t i = 0; name != NULL && i < e->ntypes; i++)
		if (strcmp(e->types[i]->name, name) == 0)
			return e->types[i];
	return NULL;
}

void task_type_foreach(const struct task_engine *e,
    void (*fn)(const struct task_type *type, void *arg), void *arg)
{
	for (size_t i = 0; i < e->ntypes; i++)
		fn(e->types[i], arg);
}

void task_set_observer(struct task_engine *e, task_observer_fn fn, void *arg)
{
	e->obs = fn;
	e->obs_arg = arg;
}

int eng_type_attempts(const struct task_type *ty)
{
	return ty->max_attempts > 0 ? ty->max_attempts : DEF_ATTEMPTS;
}

int eng_task_attempts(const struct task_type *ty, const json_t *params)
{
	json_t *v = json_object_get(params, "max_attempts");

	/* Checked at submission (params_check: 1..20). */
	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (int)json_integer_value(v);
	return eng_type_attempts(ty);
}

int64_t eng_type_deadline(const struct task_type *ty)
{
	return ty->step_deadline_ms > 0 ? ty->step_deadline_ms : DEF_DEADLINE;
}

/* Exponential backoff for the attempt that just failed, with jitter. */
int64_t eng_backoff_ms(const struct task_type *ty, int attempt)
{
	int64_t base = ty->backoff_base_ms > 0 ? ty->backoff_base_ms :
	    DEF_BACKOFF_BASE;
	int64_t max = ty->backoff_max_ms > 0 ? ty->backoff_max_ms :
	    DEF_BACKOFF_MAX;
	int64_t d = base;
	uint32_t r;

	for (int i = 1; i < attempt && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	random_bytes(&r, sizeof(r));
	return d / 2 + (int64_t)((double)(d - d / 2) * (r / 4294967296.0));
}

/* ---- plans --------------------------------------------------------------- */

void task_plan_add(struct task_plan *p, const char *name, const char *node)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->names = xrealloc(p->names, p->cap * sizeof(*p->names));
		p->nodes = xrealloc(p->nodes, p->cap * sizeof(*p->nodes));
	}
	p->names[p->n] = xstrdup(name);
	p->nodes[p->n] = node ? xstrdup(node) : NULL;
	p->n++;
}

void eng_plan_release(struct task_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->names[i]);
		free(p->nodes[i]);
	}
	free(p->names);
	free(p->nodes);
	memset(p, 0, sizeof(*p));
}

/* ---- observer and persistence ------------------------------------------- */

static void observe(struct task_engine *e, const struct store_task *t, enum store_task_state from,
    enum store_task_state to, int64_t now, const char *error)
{
	struct task_event ev;

	if (e->obs == NULL)
		return;
	ev = (struct task_event){
		.id = t->id, .cluster = t->cluster, .type = t->type,
		.from = from, .to = to, .created_at = t->created_at,
		.started_at = t->started_at, .finished_at = 0, .error = error,
	};
	if (ev.started_at == 0 && to == STORE_TASK_RUNNING)
		ev.started_at = now;
	if (store_task_state_terminal(to))
		ev.finished_at = now;
	e->obs(&ev, e->obs_arg);
}


/*
 * The compare-and-set write of every state change (store_task_transition):
 * tr->from is the states t may be in; on success t follows the store and
 * the observer hears of a state change; on RM_ECONFLICT t->state becomes
 * the state the store holds (whoever moved it told the observer) and
 * *actual (may be NULL) says which.  Called with no engine lock held.
 */
int eng_cas(struct task_engine *e, struct store_task *t,
    const struct store_transition *tr, enum store_task_state *actual)
{
	struct store_transition w = *tr;
	enum store_task_state got = t->state;
	char err[256] = "";
	int rc;

	w.now = time_wall_ms();
	rc = store_task_transition(e->st, t->id, &w, &got, err, sizeof(err));
	if (actual != NULL)
		*actual = got;
	if (rc == RM_ECONFLICT) {
		t->state = got;
		return rc;
	}
	if (rc == RM_ERR)
		log_warnx("task %s: cannot record state: %s", t->id, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < w.nsu; i++) {
		struct store_step *sp = &t->steps[w.su[i].idx];
		sp->state = w.su[i].state;
		sp->attempts = w.su[i].attempts;
		if (w.su[i].started_at >= 0)
			sp->started_at = w.su[i].started_at;
		if (w.su[i].finished_at >= 0)
			sp->finished_at = w.su[i].finished_at;
	}
	if (w.to >= 0 && (enum store_task_state)w.to != t->state) {
		enum store_task_state from = t->state;
		t->state = (enum store_task_state)w.to;
		if (t->started_at == 0 && t->state == STORE_TASK_RUNNING)
			t->started_at = w.now;
		observe(e, t, from, t->state, w.now, w.error);
	}
	return 0;
}

/* A task's last write, on its way to the store (eng_finish_async). */
struct finish {
	struct task_engine *e;
	struct store_task *t;
	struct store_transition tr;
	struct store_step_update su;
	char *msg;
	char *partial;
};

static void finish_done(void *arg, int rc, enum store_task_state actual,
    const char *err)
{
	struct finish *f = arg;
	struct task_engine *e = f->e;

	if (rc == 0) {
		enum store_task_state from = f->t->state;
		f->t->state = (enum store_task_state)f->tr.to;
		observe(e, f->t, from, f->t->state, f->tr.now, f->partial);
	} else if (rc == RM_ECONFLICT) {
		log_debug("task %s: its end was not recorded: it is %s",
		    f->t->id, store_task_state_str(actual));
	} else {
		log_warnx("task %s: cannot record its end: %s", f->t->id,
		    err);
	}
	store_task_free(f->t);
	free(f->msg);
	free(f->partial);
	free(f);
	pthread_mutex_lock(&e->amu);
	if (--e->nasync == 0)
		pthread_cond_broadcast(&e->acv);
	pthread_mutex_unlock(&e->amu);
}

/*
 * The last step succeeded: write that and the task's success without
 * waiting for the commit, so the worker takes its next task at once and
 * the endings of many tasks share one commit (group commit gets as many
 * operations per batch as there are writes in flight, and a worker that
 * waited for each ending had only one).  Nothing hears of the success
 * before its commit: the observer is called from the commit's done hook.
 * A later write (the next task of the cluster, a cancel) is queued after
 * it, so it commits in the same transaction or a later one.  The task
 * moves out of ctx.
 */
void eng_finish_async(struct task_ctx *ctx, const struct store_step_update *su)
{
	struct task_engine *e = ctx->e;
	struct finish *f = xcalloc(1, sizeof(*f));

	f->e = e;
	f->t = ctx->t;
	ctx->t = NULL;
	f->su = *su;
	f->msg = su->message != NULL ? xstrdup(su->message) : NULL;
	f->su.message = f->msg;
	/* A step said part of the work is missing: the task ends partial
	 * with what is missing as its error. */
	f->partial = ctx->partial;
	ctx->partial = NULL;
	f->tr = (struct store_transition){
		.from = STORE_TASK_BIT(f->t->state), .to = f->partial ?
		    STORE_TASK_PARTIAL : STORE_TASK_SUCCEEDED,
		.error = f->partial,
		.now = time_wall_ms(), .su = &f->su, .nsu = 1,
	};
	pthread_mutex_lock(&e->amu);
	e->nasync++;
	pthread_mutex_unlock(&e->amu);
	store_task_transition_async(e->st, f->t->id, &f->tr, finish_done, f);
}

/* eng_cas() from the state t is in (the runner's writes: it owns t). */
int eng_persist(struct task_engine *e, struct store_task *t, int state,
    const char *error, const struct store_step_update *su, size_t nsu)
{
	struct store_transition tr = {
		.from = STORE_TASK_BIT(t->state), .to = state, .error = error,
		.su = su, .nsu = nsu,
	};

	return eng_cas(e, t, &tr, NULL);
}

/*
 * Make the queue agree with the store about task id: queued (or running
 * but not yet picked up) is a READY entry, paused a HELD one (BLOCK at
 * the head once it had started), finished or gone no entry.  A task that
 * a worker has (the cluster's running or waiting task) is its runner's:
 * left alone unless the runner itself asks (runner = true; its callback
 * still runs, so an entry it pushes cannot run before it returns).
 *
 * Every state change is a compare-and-set in the store, made with no
 * engine lock held; whoever made or lost one calls this afterwards.  The
 * read and the queue change happen together under e->ctl, so the last
 * caller applies the last state: the queue cannot keep the view of an
 * earlier write.
 */
void eng_queue_sync(struct task_engine *e, const char *cluster,
    const char *id, bool runner)
{
	struct store_task *t;
	enum queue_where where;
	int hold = -1;			/* -1: no entry */

	pthread_mutex_lock(&e->ctl);
	where = queue_where(e->q, cluster, id);
	if (where == QUEUE_AT_WORKER && !runner)
		goto out;
	t = store_task_load(e->st, id);
	if (t != NULL && (t->state == STORE_TASK_QUEUED ||
	    t->state == STORE_TASK_RUNNING))
		hold = QUEUE_READY;
	else if (t != NULL && t->state == STORE_TASK_PAUSED)
		hold = t->started_at > 0 ? QUEUE_BLOCK : QUEUE_HELD;
	store_task_free(t);
	if (hold < 0) {
		if (where == QUEUE_IN_FIFO)
			queue_remove(e->q, cluster, id);
	} else if (where == QUEUE_IN_FIFO) {
		queue_set_hold(e->q, cluster, id, (enum queue_hold)hold);
	} else if (queue_push(e->q, cluster, id, (enum queue_hold)hold) < 0) {
		queue_cluster_add(e->q, cluster);
		queue_push(e->q, cluster, id, (enum queue_hold)hold);
	}
out:
	pthread_mutex_unlock(&e->ctl);
}

struct store_step_update eng_su_make(const struct store_step *sp,
    enum store_step_state state, int attempts)
{
	return (struct store_step_update){
		.idx = sp->idx, .state = state, .attempts = attempts,
		.started_at = STORE_KEEP, .finished_at = STORE_KEEP,
		.next_attempt_at = STORE_KEEP, .message = NULL,
	};
}

/* ---- hand-off of submitted tasks to the runner -------------------------- */

/* Keep t for the runner; false (t not taken) when the table is full. */
bool eng_ho_put(struct task_engine *e, struct store_task *t)
{
	struct handoff *h;

	pthread_mutex_lock(&e->ho_mu);
	if (e->ho.n >= HANDOFF_MAX) {
		pthread_mutex_unlock(&e->ho_mu);
		return false;
	}
	h = xcalloc(1, sizeof(*h));
	h->t = t;
	htab_add(&e->ho, &h->hn, htab_hash(t->id));
	pthread_mutex_unlock(&e->ho_mu);
	return true;
}

/* The task left for id, now the caller's, or NULL. */
struct store_task *eng_ho_take(struct task_engine *e, const char *id)
{
	uint64_t hash = htab_hash(id);
	struct store_task *t = NULL;

	pthread_mutex_lock(&e->ho_mu);
	for (struct htab_node *n = htab_first(&e->ho, hash); n != NULL;
	    n = htab_next(n, hash)) {
		struct handoff *h = HTAB_ENTRY(n, struct handoff, hn);
		if (strcmp(h->t->id, id) == 0) {
			htab_remove(&e->ho, n);
			t = h->t;
			free(h);
			break;
		}
	}
	pthread_mutex_unlock(&e->ho_mu);
	return t;
}

void eng_ho_drop(struct task_engine *e, const char *id)
{
	store_task_free(eng_ho_take(e, id));
}

/* Drop the entries of a cluster (NULL: all). */
struct ho_drop_arg {
	struct task_engine *e;
	const char *cluster;
};

static void ho_drop_one(struct htab_node *n, void *arg)
{
	struct ho_drop_arg *a = arg;
	struct handoff *h = HTAB_ENTRY(n, struct handoff, hn);

	if (a->cluster == NULL || strcmp(h->t->cluster, a->cluster) == 0) {
		htab_remove(&a->e->ho, n);
		store_task_free(h->t);
		free(h);
	}
}

void eng_ho_drop_cluster(struct task_engine *e, const char *cluster)
{
	struct ho_drop_arg a = { e, cluster };

	pthread_mutex_lock(&e->ho_mu);
	htab_each(&e->ho, ho_drop_one, &a);
	pthread_mutex_unlock(&e->ho_mu);
}

/* ---- registry of running tasks ------------------------------------------ */

void eng_ctx_register(struct task_ctx *ctx)
{
	struct task_engine *e = ctx->e;
	pthread_mutex_lock(&e->mu);
	ctx->next = e->running;
	e->running = ctx;
	pthread_mutex_unlock(&e->mu);
}

void eng_ctx_unregister(struct task_ctx *ctx)
{
	struct task_engine *e = ctx->e;
	struct task_ctx **pp;

	pthread_mutex_lock(&e->mu);
	for (pp = &e->running; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == ctx) {
			*pp = ctx->next;
			break;
		}
	}
	pthread_mutex_unlock(&e->mu);
}

/* The parked ctx of task id, no longer parked, or NULL. */
struct task_ctx *eng_ctx_unpark(struct task_engine *e, const char *id)
{
	struct task_ctx *ctx;

	pthread_mutex_lock(&e->mu);
	for (ctx = e->running; ctx != NULL; ctx = ctx->next)
		if (ctx->parked && strcmp(ctx->id, id) == 0)
			break;
	if (ctx != NULL) {
		ctx->parked = false;
		ctx->wake_gen++;	/* its timer entry is void now */
	}
	pthread_mutex_unlock(&e->mu);
	return ctx;
}

/* Set (or clear) a flag on a running task; true when it runs here.  A
 * parked task is woken, so it sees the flag now, not at its timer. */
bool eng_ctx_flag(struct task_engine *e, const char *id, bool cancel,
    bool value)
{
	struct task_ctx *ctx;
	char cluster[STORE_NAME_MAX] = "";
	bool found = false;

	pthread_mutex_lock(&e->mu);
	for (ctx = e->running; ctx != NULL; ctx = ctx->next) {
		if (strcmp(ctx->id, id) == 0) {
			atomic_store(cancel ? &ctx->cancel : &ctx->pause, value);
			found = true;
			if (value)
				str_copy(cluster, ctx->cluster, sizeof(cluster));
		}
	}
	pthread_mutex_unlock(&e->mu);
	if (cluster[0] != '\0' && e->q != NULL)
		queue_wake(e->q, cluster, id);
	return found;
}

/* ---- life cycle ---------------------------------------------------------- */

struct task_engine *task_engine_new(struct store *st, int nworkers, char *err,
    size_t errlen)
{
	struct task_engine *e;
	char **names = NULL;
	size_t n = 0;
	pthread_condattr_t ca;

	if (nworkers < 1) {
		snprintf(err, errlen, "workers must be at least 1");
		return NULL;
	}
	if (store_cluster_names(st, &names, &n) < 0) {
		snprintf(err, errlen, "cannot read clusters from the store");
		return NULL;
	}
	e = xcalloc(1, sizeof(*e));
	pthread_mutex_init(&e->mu, NULL);
	pthread_mutex_init(&e->ctl, NULL);
	pthread_mutex_init(&e->ho_mu, NULL);
	pthread_mutex_init(&e->amu, NULL);
	pthread_cond_init(&e->acv, NULL);
	htab_init(&e->ho, 1024);
	pthread_mutex_init(&e->tmu, NULL);
	/* The timer heap is in monotonic ms: so is its wait. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->tcv, &ca);
	pthread_condattr_destroy(&ca);
	e->st = st;
	e->q = queue_new();
	e->nworkers = nworkers;
	atomic_store(&e->stopping, false);
	for (size_t i = 0; i < n; i++) {
		queue_cluster_add(e->q, names[i]);
		free(names[i]);
	}
	free(names);
	task_type_register(e, noop_type());
	return e;
}

int task_resume_all(struct task_engine *e, char *err, size_t errlen)
{
	struct store_task_ref *v = NULL;
	size_t n = 0, running = 0, paused = 0;

	if (store_tasks_unfinished(e->st, &v, &n) < 0) {
		snprintf(err, errlen, "cannot read unfinished tasks");
		return RM_ERR;
	}
	for (size_t i = 0; i < n; i++) {
		enum queue_hold hold = QUEUE_READY;

		if (v[i].state == STORE_TASK_PAUSED) {
			hold = v[i].started ? QUEUE_BLOCK : QUEUE_HELD;
			paused++;
		} else if (v[i].state == STORE_TASK_RUNNING) {
			running++;
		}
		queue_cluster_add(e->q, v[i].cluster);
		queue_push(e->q, v[i].cluster, v[i].id, hold);
	}
	if (n > 0)
		log_info("resumed %zu unfinished tasks (%zu were running, "
		    "%zu paused)", n, running, paused);
	free(v);
	return 0;
}

int task_start(struct task_engine *e, char *err, size_t errlen)
{
	if (e->st == NULL) {
		snprintf(err, errlen, "task engine not initialised");
		return RM_ERR;
	}
	atomic_store(&e->stopping, false);
	e->timer_stop = false;
	if (pthread_create(&e->timer, NULL, eng_timer_main, e) != 0) {
		snprintf(err, errlen, "cannot start the timer thread");
		return RM_ERR;
	}
	e->timer_running = true;
	if (queue_start(e->q, e->nworkers, eng_run_task, e, err, errlen) < 0)
		return RM_ERR;
	e->started = true;
	return 0;
}

/*
 * A clean stop: the steps of parked tasks were running fine here, so their
 * resume counts go back to 0 (see "Attempts").  No worker or timer runs
 * now, so the parked ctxs hold still; the writes are made without e->mu.
 */
static void clear_resumes(struct task_engine *e)
{
	struct task_ctx **v = NULL, *ctx;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&e->mu);
	for (ctx = e->running; ctx != NULL; ctx = ctx->next) {
		if (ctx->t == NULL || ctx->phase != PH_STEP ||
		    ctx->cur >= ctx->t->nsteps)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = ctx;
	}
	pthread_mutex_unlock(&e->mu);
	for (size_t i = 0; i < n; i++) {
		struct store_step *sp = &v[i]->t->steps[v[i]->cur];
		struct store_step_update su = eng_su_make(sp, STORE_STEP_RUNNING,
		    v[i]->attempts);
		struct store_transition tr = {
			.from = STORE_TASK_BIT(STORE_TASK_RUNNING), .to = -1,
			.clear_resumes = true, .su = &su, .nsu = 1,
		};
		eng_cas(e, v[i]->t, &tr, NULL);
	}
	free(v);
}

void task_stop(struct task_engine *e)
{
	if (e->q == NULL)
		return;
	atomic_store(&e->stopping, true);
	/* Parked tasks stay as they are in the store ("running" at their
	 * step and attempt) and continue at the next start. */
	pthread_mutex_lock(&e->tmu);
	e->timer_stop = true;
	pthread_cond_signal(&e->tcv);
	pthread_mutex_unlock(&e->tmu);
	if (e->timer_running)
		pthread_join(e->timer, NULL);
	e->timer_running = false;
	queue_stop(e->q);
	e->started = false;
	/* Endings still on their way hold the engine (their hook). */
	pthread_mutex_lock(&e->amu);
	while (e->nasync > 0)
		pthread_cond_wait(&e->acv, &e->amu);
	pthread_mutex_unlock(&e->amu);
	clear_resumes(e);
}

void task_engine_free(struct task_engine *e)
{
	struct task_ctx *ctx;

	if (e == NULL)
		return;
	task_stop(e);
	queue_free(e->q);
	e->q = NULL;
	pthread_mutex_lock(&e->mu);
	while ((ctx = e->running) != NULL) {	/* parked: nobody runs them */
		e->running = ctx->next;
		eng_ctx_free(ctx);
	}
	pthread_mutex_unlock(&e->mu);
	free(e->heap);
	eng_ho_drop_cluster(e, NULL);
	htab_release(&e->ho);
	pthread_mutex_destroy(&e->mu);
	pthread_mutex_destroy(&e->ctl);
	pthread_mutex_destroy(&e->ho_mu);
	pthread_mutex_destroy(&e->amu);
	pthread_cond_destroy(&e->acv);
	pthread_mutex_destroy(&e->tmu);
	pthread_cond_destroy(&e->tcv);
	free(e);
}
