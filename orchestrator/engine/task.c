/*
 * task.c - the step runner.
 *
 * Design.  A task is an ordered list of steps persisted in the store.  The
 * service layer calls task_submit(): validate, plan the steps, insert task
 * and steps in one transaction (intent first), then push the id on the
 * cluster's queue.  A worker of the queue calls run_task(), which loads the
 * task and runs its first unfinished step, then the next, writing every
 * step's state before it starts (running, attempts + 1) and after it ends.
 * A step that ends is written in the same transaction as the next step's
 * start, or as the task's final state, so a one-step task costs two
 * transactions after its insert.
 *
 * Stopping.  Every running task has a struct task_ctx registered in a
 * small list while it runs; cancel and pause set atomic flags in it (and
 * persist a request flag in the store, so a request survives a crash and
 * reaches a task that is just being picked up).  task_checkpoint() reads the
 * flags, the shutdown flag and the step deadline.  The order that makes
 * this race-free: a control call writes the store flag THEN looks for the
 * ctx; the runner registers its ctx THEN loads the task.
 *
 * Cancel/pause/resume of a task that sits in a queue act on the queue
 * (remove, hold) and the store under one control mutex, which the runner
 * also takes when it parks a paused task, so a pause and a resume cannot
 * cross.  A paused task that had started goes back to the HEAD of its
 * cluster as QUEUE_BLOCK: nothing else of the cluster runs until it is
 * resumed or cancelled.  A paused queued task is QUEUE_HELD: skipped, in
 * place.
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
 * the attempt; the next one counts one more.
 *
 * Retries: a failed attempt waits (parked, see above) for an exponential
 * backoff with jitter, persisting next_attempt_at, then runs again, up to
 * the type's max_attempts.
 *
 * Lock order (never take an earlier one while holding a later one):
 *   e->ctl (control calls)  ->  e->mu (registry of ctxs)  ->  e->tmu (timer
 *   heap)  ->  the queue's lock  ->  ctx->pmu (one step's progress).
 * e->ho_mu (hand-off) is taken alone.  The store has its own locks and is
 * called with none of these held except e->ctl.
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
#include "queue.h"
#include "../store/store.h"
#include "task.h"

#define MAX_TYPES		64
#define DEF_ATTEMPTS		3
#define DEF_BACKOFF_BASE	1000
#define DEF_BACKOFF_MAX		60000
#define DEF_DEADLINE		(3600 * 1000)
#define SLEEP_SLICE_MS		20
#define PROGRESS_EVERY_MS	500
#define HANDOFF_MAX		8192	/* tasks waiting; beyond, the store */

struct task_plan {
	char **names;
	char **nodes;
	size_t n, cap;
};

/* Where a task is between calls of the runner (see "Waiting"). */
enum ctx_phase {
	PH_NEXT,			/* pick the next step and start it */
	PH_STEP,			/* in a step: call it (again) */
	PH_BACKOFF,			/* after a failed attempt */
};

/* A step's memo entry (task_memo_put()). */
struct memo {
	struct memo *next;
	char *key;
	void *p;
	void (*release)(void *p);
	void (*abandon)(struct task_ctx *ctx, void *p);
};

struct task_ctx {
	struct task_ctx *next;		/* registry, under e->mu */
	struct task_engine *e;
	const struct task_type *ty;
	enum ctx_phase phase;
	size_t cur;			/* the step being run */
	int attempts;			/* of the current attempt */
	int64_t attempt_started;	/* mono ms */
	int64_t wake_at;		/* mono ms the step asked for */
	uint64_t wake_gen;		/* under e->mu; bumps void old timers */
	bool parked;			/* under e->mu */
	struct memo *memo;		/* the attempt's, owned by the step's
					   thread */
	char id[STORE_ID_MAX];
	char cluster[STORE_NAME_MAX];
	struct store_task *t;
	const struct store_step *step;
	atomic_bool cancel, pause;
	int64_t deadline;		/* mono ms */
	/* mono ms of the last progress write: a step may report from
	 * several threads at once (per-node work), so it is claimed with a
	 * compare-and-swap and only the winner writes. */
	_Atomic int64_t last_progress;
	/* The step's last message (written with its end, so the final
	 * message is never one the throttle held back) and its per-node
	 * records; both reset when a step starts. */
	pthread_mutex_t pmu;
	char *last_msg;
	struct nprog *np;
	size_t nnp;
	bool in_fail_hook;		/* running the type's on_fail */
};

/* One node's progress in the running step (task_node_progress()). */
struct nprog {
	char *node, *phase, *state, *message;
	int64_t files_done, files_total, bytes_done, bytes_total;
	double rate_bps;
	int64_t last_write;		/* mono ms, 0 = never written */
};

/* A wake-up in the timer heap. */
struct timer {
	int64_t at;			/* mono ms */
	uint64_t gen;
	char id[STORE_ID_MAX];
	char cluster[STORE_NAME_MAX];
};

/* One engine: created by task_engine_new(), passed down, never global. */
struct task_engine {
	struct store *st;
	struct queue *q;
	void *nodes;			/* the node client (task_engine_set_nodes) */
	pthread_mutex_t tmu;		/* the timer heap */
	pthread_cond_t tcv;
	struct timer *heap;
	size_t nheap, capheap;
	pthread_t timer;
	bool timer_running, timer_stop;
	int nworkers;
	const struct task_type *types[MAX_TYPES];
	size_t ntypes;
	task_observer_fn obs;
	void *obs_arg;
	pthread_mutex_t mu;		/* the registry of running ctxs */
	struct task_ctx *running;
	pthread_mutex_t ctl;		/* serialises cancel/pause/resume */
	atomic_bool stopping;
	bool started;
	pthread_mutex_t ho_mu;		/* the hand-off table */
	struct htab ho;			/* struct handoff by task id */
};

/* A submitted task as the runner would load it (see "Hand-off"). */
struct handoff {
	struct htab_node hn;
	struct store_task *t;
};

static const struct task_type noop_type;

/* ---- types --------------------------------------------------------------- */

int task_type_register(struct task_engine *e, const struct task_type *type)
{
	if (type == NULL || type->name == NULL || type->plan == NULL ||
	    type->run == NULL || e->ntypes == MAX_TYPES)
		return TASK_EINVAL;
	if (task_type_find(e, type->name) != NULL)
		return TASK_EINVAL;
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

void task_set_observer(struct task_engine *e, task_observer_fn fn, void *arg)
{
	e->obs = fn;
	e->obs_arg = arg;
}

static int type_attempts(const struct task_type *ty)
{
	return ty->max_attempts > 0 ? ty->max_attempts : DEF_ATTEMPTS;
}

static int64_t type_deadline(const struct task_type *ty)
{
	return ty->step_deadline_ms > 0 ? ty->step_deadline_ms : DEF_DEADLINE;
}

/* Exponential backoff for the attempt that just failed, with jitter. */
static int64_t backoff_ms(const struct task_type *ty, int attempt)
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

static void plan_release(struct task_plan *p)
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

/* A state change to report once the control lock is released. */
struct deferred {
	bool set;
	enum store_task_state from, to;
	int64_t now;
	char *error;
};

static void deferred_flush(struct task_engine *e, const struct store_task *t,
    struct deferred *d)
{
	if (d->set)
		observe(e, t, d->from, d->to, d->now, d->error);
	free(d->error);
	memset(d, 0, sizeof(*d));
}

/*
 * Write step updates and maybe a task state; keep t in step with the store
 * and tell the observer (now, or through d when a lock is held).  Returns
 * the store's code.
 */
static int persist_d(struct task_engine *e, struct store_task *t, int state, const char *error,
    const struct store_step_update *su, size_t nsu, struct deferred *d)
{
	char err[256] = "";
	int64_t now = time_wall_ms();
	int rc;

	rc = store_task_update(e->st, t->id, state, now, error, su, nsu, err,
	    sizeof(err));
	if (rc == STORE_ERR)
		log_warnx("task %s: cannot record state: %s", t->id, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < nsu; i++) {
		struct store_step *sp = &t->steps[su[i].idx];
		sp->state = su[i].state;
		sp->attempts = su[i].attempts;
		if (su[i].started_at >= 0)
			sp->started_at = su[i].started_at;
		if (su[i].finished_at >= 0)
			sp->finished_at = su[i].finished_at;
	}
	if (state >= 0 && (enum store_task_state)state != t->state) {
		enum store_task_state from = t->state;
		t->state = (enum store_task_state)state;
		if (t->started_at == 0 && t->state == STORE_TASK_RUNNING)
			t->started_at = now;
		if (d == NULL) {
			observe(e, t, from, t->state, now, error);
		} else {
			d->set = true;
			d->from = from;
			d->to = t->state;
			d->now = now;
			d->error = error ? xstrdup(error) : NULL;
		}
	}
	return 0;
}

static int persist(struct task_engine *e, struct store_task *t, int state, const char *error,
    const struct store_step_update *su, size_t nsu)
{
	return persist_d(e, t, state, error, su, nsu, NULL);
}

static struct store_step_update su_make(const struct store_step *sp,
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
static bool ho_put(struct task_engine *e, struct store_task *t)
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
static struct store_task *ho_take(struct task_engine *e, const char *id)
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

static void ho_drop(struct task_engine *e, const char *id)
{
	store_task_free(ho_take(e, id));
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

static void ho_drop_cluster(struct task_engine *e, const char *cluster)
{
	struct ho_drop_arg a = { e, cluster };

	pthread_mutex_lock(&e->ho_mu);
	htab_each(&e->ho, ho_drop_one, &a);
	pthread_mutex_unlock(&e->ho_mu);
}

/* ---- registry of running tasks ------------------------------------------ */

static void ctx_register(struct task_ctx *ctx)
{
	struct task_engine *e = ctx->e;
	pthread_mutex_lock(&e->mu);
	ctx->next = e->running;
	e->running = ctx;
	pthread_mutex_unlock(&e->mu);
}

static void ctx_unregister(struct task_ctx *ctx)
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
static struct task_ctx *ctx_unpark(struct task_engine *e, const char *id)
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
static bool ctx_flag(struct task_engine *e, const char *id, bool cancel,
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

/* ---- the timer ----------------------------------------------------------- */

static void heap_swap(struct task_engine *e, size_t a, size_t b)
{
	struct timer t = e->heap[a];

	e->heap[a] = e->heap[b];
	e->heap[b] = t;
}

/* Add a wake-up for ctx at mono ms `at`; under e->mu (for wake_gen). */
static void timer_add(struct task_ctx *ctx, int64_t at)
{
	struct task_engine *e = ctx->e;
	size_t i;

	pthread_mutex_lock(&e->tmu);
	if (e->nheap == e->capheap) {
		e->capheap = e->capheap ? e->capheap * 2 : 64;
		e->heap = xrealloc(e->heap, e->capheap * sizeof(*e->heap));
	}
	i = e->nheap++;
	e->heap[i].at = at;
	e->heap[i].gen = ctx->wake_gen;
	str_copy(e->heap[i].id, ctx->id, sizeof(e->heap[i].id));
	str_copy(e->heap[i].cluster, ctx->cluster, sizeof(e->heap[i].cluster));
	while (i > 0 && e->heap[(i - 1) / 2].at > e->heap[i].at) {
		heap_swap(e, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	if (i == 0)
		pthread_cond_signal(&e->tcv);
	pthread_mutex_unlock(&e->tmu);
}

/* Remove the earliest entry into *out; under e->tmu. */
static void heap_pop(struct task_engine *e, struct timer *out)
{
	size_t i = 0;

	*out = e->heap[0];
	e->heap[0] = e->heap[--e->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < e->nheap && e->heap[l].at < e->heap[m].at)
			m = l;
		if (r < e->nheap && e->heap[r].at < e->heap[m].at)
			m = r;
		if (m == i)
			break;
		heap_swap(e, i, m);
		i = m;
	}
}

/* Wake the task of a due entry unless the entry is stale. */
static void timer_fire(struct task_engine *e, const struct timer *t)
{
	struct task_ctx *ctx;
	bool wake = false;

	pthread_mutex_lock(&e->mu);
	for (ctx = e->running; ctx != NULL; ctx = ctx->next) {
		if (strcmp(ctx->id, t->id) == 0 && ctx->parked &&
		    ctx->wake_gen == t->gen) {
			wake = true;
			break;
		}
	}
	pthread_mutex_unlock(&e->mu);
	if (wake)
		queue_wake(e->q, t->cluster, t->id);
}

static void *timer_main(void *arg)
{
	struct task_engine *e = arg;

	pthread_mutex_lock(&e->tmu);
	while (!e->timer_stop) {
		int64_t now = time_mono_ms();

		if (e->nheap > 0 && e->heap[0].at <= now) {
			struct timer t;
			heap_pop(e, &t);
			pthread_mutex_unlock(&e->tmu);
			timer_fire(e, &t);
			pthread_mutex_lock(&e->tmu);
			continue;
		}
		if (e->nheap == 0) {
			pthread_cond_wait(&e->tcv, &e->tmu);
		} else {
			struct timespec ts;
			int64_t ms = e->heap[0].at - now;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += (time_t)(ms / 1000);
			ts.tv_nsec += (long)(ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&e->tcv, &e->tmu, &ts);
		}
	}
	pthread_mutex_unlock(&e->tmu);
	return NULL;
}

/* Park ctx until mono ms `at` (or an event); the caller then returns
 * QUEUE_WAIT. */
static void park(struct task_ctx *ctx, int64_t at)
{
	struct task_engine *e = ctx->e;
	pthread_mutex_lock(&e->mu);
	ctx->parked = true;
	ctx->wake_gen++;
	timer_add(ctx, at);
	pthread_mutex_unlock(&e->mu);
}

/* ---- the runner ---------------------------------------------------------- */

enum stop_reason { STOP_NONE, STOP_CANCEL, STOP_PAUSE, STOP_SHUTDOWN };

static enum stop_reason stop_reason(struct task_ctx *ctx)
{
	struct task_engine *e = ctx->e;
	if (atomic_load(&ctx->cancel))
		return STOP_CANCEL;
	if (atomic_load(&ctx->pause))
		return STOP_PAUSE;
	if (atomic_load(&e->stopping))
		return STOP_SHUTDOWN;
	return STOP_NONE;
}

/* Release the attempt's memo; abandon first when the attempt ends
 * without success for another reason than a shutdown (its node jobs are
 * cancelled then; after a shutdown they run on, to be attached again). */
static void memo_end(struct task_ctx *ctx, bool abandon)
{
	struct memo *m, *next;

	for (m = ctx->memo; m != NULL; m = next) {
		next = m->next;
		if (abandon && m->abandon != NULL)
			m->abandon(ctx, m->p);
		if (m->release != NULL)
			m->release(m->p);
		free(m->key);
		free(m);
	}
	ctx->memo = NULL;
}

/*
 * The task must stop before (or instead of) running step sp (NULL: between
 * steps or in a backoff).  Returns true when the runner must return; false
 * when a pause was withdrawn in the meantime and the runner goes on.
 */
static bool stop_task(struct task_ctx *ctx, enum stop_reason why,
    const struct store_step *sp, int attempts)
{
	struct task_engine *e = ctx->e;
	struct store_task *t = ctx->t;
	struct store_step_update su;
	size_t nsu = 0;

	switch (why) {
	case STOP_CANCEL:
		memo_end(ctx, true);
		if (sp != NULL) {
			su = su_make(sp, STORE_STEP_CANCELLED, attempts);
			su.finished_at = time_wall_ms();
			su.message = "cancelled";
			nsu = 1;
		}
		persist(e, t, STORE_TASK_CANCELLED, NULL, &su, nsu);
		return true;
	case STOP_PAUSE: {
		struct deferred d = { 0 };
		pthread_mutex_lock(&e->ctl);
		if (!atomic_load(&ctx->pause)) {	/* resumed meanwhile */
			pthread_mutex_unlock(&e->ctl);
			return false;
		}
		memo_end(ctx, true);
		if (sp != NULL) {
			su = su_make(sp, STORE_STEP_PENDING, attempts);
			su.message = "paused";
			nsu = 1;
		}
		if (persist_d(e, t, STORE_TASK_PAUSED, NULL, &su, nsu, &d) == 0)
			queue_push(e->q, t->cluster, t->id, t->started_at > 0 ?
			    QUEUE_BLOCK : QUEUE_HELD);
		pthread_mutex_unlock(&e->ctl);
		deferred_flush(e, t, &d);
		return true;
	}
	case STOP_SHUTDOWN:
		/* The step stays "running" with its attempt: at the next
		 * start it continues as the same attempt (its node jobs are
		 * attached again, not started twice). */
		memo_end(ctx, false);
		if (sp != NULL) {
			su = su_make(sp, STORE_STEP_RUNNING, attempts);
			su.message = "interrupted by shutdown; resumes at start-up";
			persist(e, t, -1, NULL, &su, 1);
		}
		return true;
	case STOP_NONE:
		break;
	}
	return false;
}

/* Forget the previous step's message and node records. */
static void step_reset(struct task_ctx *ctx)
{
	pthread_mutex_lock(&ctx->pmu);
	free(ctx->last_msg);
	ctx->last_msg = NULL;
	for (size_t i = 0; i < ctx->nnp; i++) {
		free(ctx->np[i].node);
		free(ctx->np[i].phase);
		free(ctx->np[i].state);
		free(ctx->np[i].message);
	}
	free(ctx->np);
	ctx->np = NULL;
	ctx->nnp = 0;
	pthread_mutex_unlock(&ctx->pmu);
}

/*
 * The task fails for good at step idx with error: run the type's on_fail
 * (intent persisted first, so a crash runs it again at start-up), then
 * record the step (step_msg, NULL: the error) and the task failed.
 * Returns false when shutdown cut the hook short (nothing recorded: it
 * runs again at the next start).
 */
static bool fail_task(struct task_ctx *ctx, const struct task_type *ty,
    int idx, const char *error, const char *step_msg)
{
	struct task_engine *e = ctx->e;
	struct store_task *t = ctx->t;
	struct store_step_update su;
	char serr[256] = "", hmsg[1024] = "";
	char *full = NULL;
	int rc;

	if (ty->on_fail != NULL) {
		if (store_task_failing_set(e->st, t->id, idx, error, serr,
		    sizeof(serr)) < 0)
			log_warnx("task %s: cannot record its failure before "
			    "cleanup: %s", t->id, serr);
		ctx->step = NULL;
		ctx->in_fail_hook = true;
		ctx->deadline = time_mono_ms() + type_deadline(ty);
		rc = ty->on_fail(ctx, error, hmsg, sizeof(hmsg));
		ctx->in_fail_hook = false;
		memo_end(ctx, rc != TASK_STEP_STOP);
		if (rc == TASK_STEP_STOP && atomic_load(&e->stopping)) {
			log_info("task %s: cleanup after failure interrupted by "
			    "shutdown; it runs again at start-up", t->id);
			return false;
		}
		if (hmsg[0] != '\0')
			full = xasprintf("%s; %s: %s", error, rc == TASK_STEP_OK ?
			    "on failure" : "cleanup after failure failed", hmsg);
	}
	su = su_make(&t->steps[idx], STORE_STEP_FAILED, t->steps[idx].attempts);
	su.finished_at = time_wall_ms();
	su.message = step_msg != NULL ? step_msg : error;
	persist(e, t, STORE_TASK_FAILED, full != NULL ? full : error, &su, 1);
	if (ty->on_fail != NULL && store_task_failing_clear(e->st, t->id, serr,
	    sizeof(serr)) < 0)
		log_warnx("task %s: %s", t->id, serr);
	free(full);
	return true;
}

/* The first step at or after i that is not done, or t->nsteps. */
static size_t next_open(const struct store_task *t, size_t i)
{
	while (i < t->nsteps && (t->steps[i].state == STORE_STEP_SUCCEEDED ||
	    t->steps[i].state == STORE_STEP_SKIPPED))
		i++;
	return i;
}

/* How long a step may overrun its deadline in WAITs (cancelling its node
 * jobs) before the runner ends the attempt itself. */
#define DEADLINE_GRACE_MS	30000
#define DEFAULT_WAIT_MS		1000

/*
 * Run the task until it ends, must stop, or waits.  Returns true when it
 * waits: the ctx is parked and the caller returns QUEUE_WAIT.
 */
static bool run_steps(struct task_ctx *ctx)
{
	struct task_engine *e = ctx->e;
	const struct task_type *ty = ctx->ty;
	struct store_task *t = ctx->t;
	struct store_step_update su[2];
	char err[512];

	for (;;) {
		struct store_step *sp;
		enum stop_reason why;
		int rc;

		if (ctx->phase == PH_BACKOFF) {
			if ((why = stop_reason(ctx)) != STOP_NONE &&
			    stop_task(ctx, why, NULL, 0))
				return false;
			if (why == STOP_NONE && time_mono_ms() < ctx->wake_at) {
				park(ctx, ctx->wake_at);
				return true;
			}
			ctx->phase = PH_NEXT;
		}
		if (ctx->phase == PH_NEXT) {
			ctx->cur = next_open(t, ctx->cur);
			if (ctx->cur == t->nsteps) {
				persist(e, t, STORE_TASK_SUCCEEDED, NULL, NULL, 0);
				return false;
			}
			sp = &t->steps[ctx->cur];
			/* A step "running" here had its start written: with
			 * the previous step's end, or before a crash or a
			 * shutdown.  It continues as that attempt. */
			bool written = sp->state == STORE_STEP_RUNNING &&
			    sp->attempts > 0;
			if ((why = stop_reason(ctx)) != STOP_NONE) {
				if (stop_task(ctx, why, written ? sp : NULL,
				    written ? sp->attempts : 0))
					return false;
				continue;
			}
			ctx->attempts = written ? sp->attempts : sp->attempts + 1;
			if (!written || t->state != STORE_TASK_RUNNING) {
				su[0] = su_make(sp, STORE_STEP_RUNNING,
				    ctx->attempts);
				su[0].started_at = time_wall_ms();
				su[0].message = "";
				if (persist(e, t, t->state == STORE_TASK_RUNNING ?
				    -1 : STORE_TASK_RUNNING, NULL, su, 1) < 0)
					return false;
			}
			step_reset(ctx);
			memo_end(ctx, false);
			ctx->attempt_started = time_mono_ms();
			ctx->deadline = ctx->attempt_started + type_deadline(ty);
			atomic_store(&ctx->last_progress, 0);
			ctx->phase = PH_STEP;
		}

		/* PH_STEP: call the step (again). */
		sp = &t->steps[ctx->cur];
		ctx->step = sp;
		ctx->wake_at = INT64_MAX;
		err[0] = '\0';
		rc = ty->run(ctx, sp, err, sizeof(err));
		ctx->step = NULL;

		if (rc == TASK_STEP_WAIT) {
			int64_t now = time_mono_ms(), at = ctx->wake_at;
			if (at == INT64_MAX)
				at = now + DEFAULT_WAIT_MS;
			if (now < ctx->deadline + DEADLINE_GRACE_MS) {
				if (at > ctx->deadline && now < ctx->deadline)
					at = ctx->deadline;
				park(ctx, at);
				return true;
			}
			rc = TASK_STEP_FAIL;	/* overran: ended below */
		}
		if (rc == TASK_STEP_OK) {
			size_t j = next_open(t, ctx->cur + 1), n = 1;
			su[0] = su_make(sp, STORE_STEP_SUCCEEDED, ctx->attempts);
			su[0].finished_at = time_wall_ms();
			su[0].next_attempt_at = 0;
			/* The step's true last word, not the last one the
			 * throttle let through. */
			su[0].message = ctx->last_msg;
			memo_end(ctx, false);
			ctx->phase = PH_NEXT;
			if (j == t->nsteps) {
				persist(e, t, STORE_TASK_SUCCEEDED, NULL, su, 1);
				return false;
			}
			/* End this step and start the next in one write. */
			if (stop_reason(ctx) == STOP_NONE) {
				su[1] = su_make(&t->steps[j], STORE_STEP_RUNNING,
				    t->steps[j].attempts + 1);
				su[1].started_at = su[0].finished_at;
				su[1].message = "";
				n = 2;
			}
			if (persist(e, t, -1, NULL, su, n) < 0)
				return false;
			ctx->cur = j;
			continue;
		}

		why = stop_reason(ctx);
		if (why != STOP_NONE) {
			if (stop_task(ctx, why, sp, ctx->attempts))
				return false;
			ctx->phase = PH_NEXT;	/* pause withdrawn: again */
			continue;
		}
		memo_end(ctx, true);
		if (time_mono_ms() >= ctx->deadline)
			snprintf(err, sizeof(err), "deadline of %" PRId64
			    " ms exceeded", type_deadline(ty));
		else if (err[0] == '\0')
			snprintf(err, sizeof(err), "%s", rc == TASK_STEP_STOP ?
			    "step stopped without a reason" : "step failed");
		if (rc == TASK_STEP_FATAL || ctx->attempts >= type_attempts(ty)) {
			char *msg = xasprintf("step '%s'%s%s failed after %d "
			    "attempt%s: %s", sp->name, sp->node ? " on " : "",
			    sp->node ? sp->node : "", ctx->attempts,
			    ctx->attempts == 1 ? "" : "s", err);
			sp->attempts = ctx->attempts;
			fail_task(ctx, ty, sp->idx, msg, err);
			free(msg);
			return false;
		}
		int64_t delay = backoff_ms(ty, ctx->attempts);
		su[0] = su_make(sp, STORE_STEP_PENDING, ctx->attempts);
		su[0].next_attempt_at = time_wall_ms() + delay;
		su[0].message = err;
		if (persist(e, t, -1, NULL, su, 1) < 0)
			return false;
		log_info("task %s: step '%s' attempt %d failed (%s); retry in "
		    "%" PRId64 " ms", t->id, sp->name, ctx->attempts, err, delay);
		ctx->phase = PH_BACKOFF;
		ctx->wake_at = time_mono_ms() + delay;
		park(ctx, ctx->wake_at);
		return true;
	}
}

static void ctx_free(struct task_ctx *ctx)
{
	if (ctx == NULL)
		return;
	memo_end(ctx, false);
	step_reset(ctx);
	pthread_mutex_destroy(&ctx->pmu);
	store_task_free(ctx->t);
	free(ctx);
}

static enum queue_result run_task(const char *cluster, const char *id,
    void *arg)
{
	struct task_engine *e = arg;
	struct task_ctx *ctx;
	const struct task_type *ty;
	struct store_task *t;

	if ((ctx = ctx_unpark(e, id)) != NULL) {
		if (atomic_load(&e->stopping))
			return QUEUE_WAIT;	/* left for the next start */
		return run_steps(ctx) ? QUEUE_WAIT : (ctx_unregister(ctx),
		    ctx_free(ctx), QUEUE_DONE);
	}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->e = e;
	str_copy(ctx->id, id, sizeof(ctx->id));
	str_copy(ctx->cluster, cluster, sizeof(ctx->cluster));
	atomic_init(&ctx->cancel, false);
	atomic_init(&ctx->pause, false);
	atomic_init(&ctx->last_progress, 0);
	pthread_mutex_init(&ctx->pmu, NULL);
	ctx_register(ctx);		/* before the load: see the design */

	if ((t = ho_take(e, id)) == NULL)
		t = store_task_load(e->st, id);
	if (t == NULL || store_task_state_terminal(t->state)) {
		store_task_free(t);
		goto out;
	}
	ctx->t = t;
	/* A failure whose cleanup a crash interrupted: finish it first. */
	ty = task_type_find(e, t->type);
	if (ty != NULL && ty->on_fail != NULL && t->started_at != 0 &&
	    t->state == STORE_TASK_RUNNING && !atomic_load(&e->stopping)) {
		char *ferr = NULL;
		int fidx = 0;
		if (store_task_failing_get(e->st, id, &fidx, &ferr) == 0) {
			if (fidx < 0 || (size_t)fidx >= t->nsteps)
				fidx = 0;
			fail_task(ctx, ty, fidx, ferr, NULL);
			free(ferr);
			goto out;
		}
	}
	if (t->cancel_requested)
		atomic_store(&ctx->cancel, true);
	if (t->pause_requested || t->state == STORE_TASK_PAUSED)
		atomic_store(&ctx->pause, true);
	if (atomic_load(&ctx->cancel)) {
		stop_task(ctx, STOP_CANCEL, NULL, 0);
		goto out;
	}
	if (atomic_load(&e->stopping))
		goto out;
	if (ty == NULL) {
		char *msg = xasprintf("unknown task type '%s'", t->type);
		persist(e, t, STORE_TASK_FAILED, msg, NULL, 0);
		free(msg);
		goto out;
	}
	ctx->ty = ty;
	ctx->phase = PH_NEXT;
	if (run_steps(ctx))
		return QUEUE_WAIT;
out:
	ctx_unregister(ctx);
	ctx_free(ctx);
	return QUEUE_DONE;
}
/* ---- for task types ------------------------------------------------------ */

bool task_checkpoint(struct task_ctx *ctx)
{
	struct task_engine *e = ctx->e;
	if (ctx->in_fail_hook)		/* cleanup runs to its end but for
					 * shutdown and its deadline */
		return atomic_load(&e->stopping) ||
		    time_mono_ms() >= ctx->deadline;
	return stop_reason(ctx) != STOP_NONE || time_mono_ms() >= ctx->deadline;
}

void task_progress(struct task_ctx *ctx, const char *fmt, ...)
{
	struct task_engine *e = ctx->e;
	struct store_step_update su;
	const struct store_step *step = ctx->step;
	int64_t now = time_mono_ms(), last;
	va_list ap;
	char *msg;

	/* ctx->step only changes between steps, when no step thread runs. */
	if (step == NULL)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&ctx->pmu);
	free(ctx->last_msg);
	ctx->last_msg = xstrdup(msg[0] ? msg : " ");
	pthread_mutex_unlock(&ctx->pmu);
	last = atomic_load(&ctx->last_progress);
	if ((last != 0 && now - last < PROGRESS_EVERY_MS) ||
	    !atomic_compare_exchange_strong(&ctx->last_progress, &last, now)) {
		free(msg);		/* throttled, or another thread wrote */
		return;
	}
	su = su_make(step, STORE_STEP_RUNNING, step->attempts);
	su.message = msg[0] ? msg : " ";
	store_task_update(e->st, ctx->id, -1, 0, NULL, &su, 1, NULL, 0);
	free(msg);
}

static void set_str(char **dst, const char *v)
{
	if (v == NULL || (*dst != NULL && strcmp(*dst, v) == 0))
		return;
	free(*dst);
	*dst = xstrdup(v);
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void task_node_progress(struct task_ctx *ctx, const char *node,
    const struct task_node_progress *np)
{
	const struct store_step *step = ctx->step;
	struct store_node_progress p;
	struct nprog *e = NULL;
	int64_t now = time_mono_ms();
	char *old_state = NULL, *old_phase = NULL, err[256];
	bool write;

	if (step == NULL || node == NULL || np == NULL)
		return;
	pthread_mutex_lock(&ctx->pmu);
	for (size_t i = 0; i < ctx->nnp && e == NULL; i++)
		if (strcmp(ctx->np[i].node, node) == 0)
			e = &ctx->np[i];
	if (e == NULL) {
		ctx->np = xrealloc(ctx->np, (ctx->nnp + 1) * sizeof(*ctx->np));
		e = &ctx->np[ctx->nnp++];
		memset(e, 0, sizeof(*e));
		e->node = xstrdup(node);
		e->state = xstrdup("running");
		e->files_done = e->files_total = e->bytes_done =
		    e->bytes_total = -1;
		e->rate_bps = -1;
	}
	old_state = xstrdup(e->state);
	old_phase = dup_or_null(e->phase);
	set_str(&e->phase, np->phase);
	set_str(&e->state, np->state);
	set_str(&e->message, np->message);
	if (np->files_done >= 0)
		e->files_done = np->files_done;
	if (np->files_total >= 0)
		e->files_total = np->files_total;
	if (np->bytes_done >= 0)
		e->bytes_done = np->bytes_done;
	if (np->bytes_total >= 0)
		e->bytes_total = np->bytes_total;
	if (np->rate_bps >= 0)
		e->rate_bps = np->rate_bps;
	/* A node that is done did all of it: no "12/40" left standing when
	 * the last line the agent printed was throttled. */
	if (strcmp(e->state, "done") == 0) {
		if (e->files_total >= 0)
			e->files_done = e->files_total;
		if (e->bytes_total >= 0)
			e->bytes_done = e->bytes_total;
	}
	write = e->last_write == 0 || strcmp(old_state, e->state) != 0 ||
	    strcmp(e->state, "running") != 0 ||
	    (e->phase != NULL && (old_phase == NULL ||
	    strcmp(old_phase, e->phase) != 0)) ||
	    now - e->last_write >= PROGRESS_EVERY_MS;
	if (write) {
		e->last_write = now;
		p = (struct store_node_progress){
			.node = e->node, .phase = dup_or_null(e->phase),
			.files_done = e->files_done,
			.files_total = e->files_total,
			.bytes_done = e->bytes_done,
			.bytes_total = e->bytes_total, .rate_bps = e->rate_bps,
			.state = dup_or_null(e->state),
			.message = dup_or_null(e->message),
			.updated_at = time_wall_ms(),
		};
		p.node = xstrdup(e->node);
	}
	pthread_mutex_unlock(&ctx->pmu);
	free(old_state);
	free(old_phase);
	if (!write)
		return;
	/* Outside the lock: other nodes of the step keep reporting while
	 * this one waits for its commit. */
	if (store_step_node_put(ctx->e->st, ctx->id, step->idx, &p, err,
	    sizeof(err)) == STORE_ERR)
		log_warnx("task %s: progress of %s: %s", ctx->id, node, err);
	free((void *)(uintptr_t)p.node);
	free((void *)(uintptr_t)p.phase);
	free((void *)(uintptr_t)p.state);
	free((void *)(uintptr_t)p.message);
}

bool task_sleep(struct task_ctx *ctx, int64_t ms)
{
	int64_t end = time_mono_ms() + ms;

	for (;;) {
		int64_t left = end - time_mono_ms();
		struct timespec ts;

		if (task_checkpoint(ctx))
			return false;
		if (left <= 0)
			return true;
		if (left > SLEEP_SLICE_MS)
			left = SLEEP_SLICE_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000L;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

int task_wait(struct task_ctx *ctx, int64_t ms)
{
	int64_t at = time_mono_ms() + (ms < 0 ? 0 : ms);

	if (at < ctx->wake_at)
		ctx->wake_at = at;
	return TASK_STEP_WAIT;
}

bool task_ctx_can_wait(const struct task_ctx *ctx)
{
	return ctx->step != NULL && !ctx->in_fail_hook;
}

bool task_ctx_shutting_down(const struct task_ctx *ctx)
{
	struct task_engine *e = ctx->e;
	(void)ctx;
	return atomic_load(&e->stopping);
}

int task_ctx_attempt(const struct task_ctx *ctx)
{
	return ctx->in_fail_hook ? 0 : ctx->attempts;
}

int task_ctx_step_idx(const struct task_ctx *ctx)
{
	return ctx->step != NULL ? ctx->step->idx : -1;
}

int64_t task_ctx_attempt_elapsed(const struct task_ctx *ctx)
{
	return time_mono_ms() - ctx->attempt_started;
}

void *task_memo(struct task_ctx *ctx, const char *key)
{
	for (struct memo *m = ctx->memo; m != NULL; m = m->next)
		if (strcmp(m->key, key) == 0)
			return m->p;
	return NULL;
}

void task_memo_put(struct task_ctx *ctx, const char *key, void *p,
    void (*release)(void *p), void (*abandon)(struct task_ctx *ctx, void *p))
{
	struct memo *m = xcalloc(1, sizeof(*m));

	m->key = xstrdup(key);
	m->p = p;
	m->release = release;
	m->abandon = abandon;
	m->next = ctx->memo;
	ctx->memo = m;
}

const char *task_ctx_id(const struct task_ctx *ctx)
{
	return ctx->id;
}

const char *task_ctx_cluster(const struct task_ctx *ctx)
{
	return ctx->cluster;
}

const json_t *task_ctx_params(const struct task_ctx *ctx)
{
	return ctx->t->params;
}

struct store *task_ctx_store(const struct task_ctx *ctx)
{
	struct task_engine *e = ctx->e;
	(void)ctx;
	return e->st;
}

int64_t task_ctx_deadline_left(const struct task_ctx *ctx)
{
	return ctx->deadline - time_mono_ms();
}

struct store *task_engine_store(const struct task_engine *e)
{
	return e->st;
}

void task_engine_set_nodes(struct task_engine *e, void *nodes)
{
	e->nodes = nodes;
}

void *task_ctx_nodes(const struct task_ctx *ctx)
{
	return ctx->e->nodes;
}

struct task_engine *task_ctx_engine(const struct task_ctx *ctx)
{
	return ctx->e;
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
	task_type_register(e, &noop_type);
	return e;
}

int task_resume_all(struct task_engine *e, char *err, size_t errlen)
{
	struct store_task_ref *v = NULL;
	size_t n = 0, running = 0, paused = 0;

	if (store_tasks_unfinished(e->st, &v, &n) < 0) {
		snprintf(err, errlen, "cannot read unfinished tasks");
		return TASK_ERR;
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
		return TASK_ERR;
	}
	atomic_store(&e->stopping, false);
	e->timer_stop = false;
	if (pthread_create(&e->timer, NULL, timer_main, e) != 0) {
		snprintf(err, errlen, "cannot start the timer thread");
		return TASK_ERR;
	}
	e->timer_running = true;
	if (queue_start(e->q, e->nworkers, run_task, e, err, errlen) < 0)
		return TASK_ERR;
	e->started = true;
	return 0;
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
		ctx_free(ctx);
	}
	pthread_mutex_unlock(&e->mu);
	free(e->heap);
	ho_drop_cluster(e, NULL);
	htab_release(&e->ho);
	pthread_mutex_destroy(&e->mu);
	pthread_mutex_destroy(&e->ctl);
	pthread_mutex_destroy(&e->ho_mu);
	pthread_mutex_destroy(&e->tmu);
	pthread_cond_destroy(&e->tcv);
	free(e);
}

/* ---- the service layer --------------------------------------------------- */

static int prepare(struct task_engine *e, const char *cluster, const char *type, json_t *params,
    const struct task_type **tyout, struct task_plan *plan, char *err,
    size_t errlen)
{
	const struct task_type *ty = task_type_find(e, type);
	json_t *nodes;
	int rc;

	if (ty == NULL) {
		snprintf(err, errlen, "unknown task type '%s'",
		    type ? type : "");
		return TASK_EINVAL;
	}
	if (!json_is_object(params)) {
		snprintf(err, errlen, "params must be an object");
		return TASK_EINVAL;
	}
	if (ty->validate != NULL && ty->validate(params, err, errlen) < 0)
		return TASK_EINVAL;
	rc = store_cluster_nodes(e->st, cluster, &nodes);
	if (rc == STORE_ENOENT) {
		snprintf(err, errlen, "cluster '%s' not found", cluster);
		return TASK_ENOENT;
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot read the nodes of '%s'", cluster);
		return TASK_ERR;
	}
	/* The recorded state may forbid it (a damaged backup); after the
	 * cluster check, so an unknown cluster stays a 404. */
	if (ty->admit != NULL && ty->admit(e->st, cluster, params, err,
	    errlen) < 0) {
		json_decref(nodes);
		return TASK_ECONFLICT;
	}
	rc = ty->plan(params, nodes, plan, err, errlen);
	json_decref(nodes);
	if (rc < 0)
		return TASK_EINVAL;
	if (plan->n == 0) {
		snprintf(err, errlen, "task type '%s' planned no steps", type);
		return TASK_EINVAL;
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
	if (rc == STORE_ENOENT)
		rc = TASK_ENOENT;
	else if (rc == STORE_EBUSY)
		rc = TASK_EBUSY;
	else if (rc < 0)
		rc = TASK_ERR;
	if (rc < 0)
		goto out;
	t = handoff_make(&tn, id_out, seq, &plan);
	if (!ho_put(e, t))
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
	plan_release(&plan);
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
		return TASK_EINVAL;
	}
	if (!json_is_object(params)) {
		snprintf(err, errlen, "params must be an object");
		return TASK_EINVAL;
	}
	if (ty->validate != NULL && ty->validate(params, err, errlen) < 0)
		return TASK_EINVAL;
	return 0;
}

/* Load for a control call: 0 with *t, or TASK_ENOENT/TASK_ECONFLICT. */
static int ctl_load(struct task_engine *e, const char *id, struct store_task **t, const char *verb,
    char *err, size_t errlen)
{
	*t = store_task_load(e->st, id);
	if (*t == NULL) {
		snprintf(err, errlen, "task '%s' not found", id);
		return TASK_ENOENT;
	}
	if (store_task_state_terminal((*t)->state)) {
		snprintf(err, errlen, "cannot %s task '%s': it is %s", verb,
		    id, store_task_state_str((*t)->state));
		store_task_free(*t);
		*t = NULL;
		return TASK_ECONFLICT;
	}
	return 0;
}

static int ctl_rc(int rc, const char *id, char *err, size_t errlen)
{
	if (rc == STORE_ENOENT) {
		snprintf(err, errlen, "task '%s' not found", id);
		return TASK_ENOENT;
	}
	if (rc == STORE_EBUSY)
		return TASK_ECONFLICT;	/* finished meanwhile; err is set */
	return rc < 0 ? TASK_ERR : 0;
}

int task_cancel(struct task_engine *e, const char *id, char *err, size_t errlen)
{
	struct store_task *t;
	struct deferred d = { 0 };
	char running[STORE_ID_MAX];
	int rc;

	pthread_mutex_lock(&e->ctl);
	ho_drop(e, id);			/* before any flag: see "Hand-off" */
	if ((rc = ctl_load(e, id, &t, "cancel", err, errlen)) < 0)
		goto out;
	if (queue_remove(e->q, t->cluster, id)) {
		rc = ctl_rc(persist_d(e, t, STORE_TASK_CANCELLED, NULL, NULL, 0,
		    &d), id, err, errlen);
		goto out;
	}
	/* Running (or being picked up): ask; the runner stops at a
	 * checkpoint.  Store flag first, then the ctx (see the design). */
	rc = ctl_rc(store_task_request(e->st, id, STORE_REQ_CANCEL, err,
	    errlen), id, err, errlen);
	if (rc < 0)
		goto out;
	if (!ctx_flag(e, id, true, true) && !(queue_running(e->q, t->cluster,
	    running, sizeof(running)) && strcmp(running, id) == 0)) {
		/* In no queue and not running: nobody would see the flag. */
		rc = ctl_rc(persist_d(e, t, STORE_TASK_CANCELLED, NULL, NULL, 0,
		    &d), id, err, errlen);
	}
out:
	pthread_mutex_unlock(&e->ctl);
	if (t != NULL)
		deferred_flush(e, t, &d);
	store_task_free(t);
	return rc;
}

int task_pause(struct task_engine *e, const char *id, char *err, size_t errlen)
{
	struct store_task *t;
	struct deferred d = { 0 };
	int rc;

	pthread_mutex_lock(&e->ctl);
	ho_drop(e, id);			/* before any flag: see "Hand-off" */
	if ((rc = ctl_load(e, id, &t, "pause", err, errlen)) < 0)
		goto out;
	if (t->state == STORE_TASK_PAUSED)
		goto out;
	if (queue_set_hold(e->q, t->cluster, id, QUEUE_HELD)) {
		rc = ctl_rc(persist_d(e, t, STORE_TASK_PAUSED, NULL, NULL, 0, &d),
		    id, err, errlen);
		goto out;
	}
	rc = ctl_rc(store_task_request(e->st, id, STORE_REQ_PAUSE, err,
	    errlen), id, err, errlen);
	if (rc == 0)
		ctx_flag(e, id, false, true);
out:
	pthread_mutex_unlock(&e->ctl);
	if (t != NULL)
		deferred_flush(e, t, &d);
	store_task_free(t);
	return rc;
}

int task_resume(struct task_engine *e, const char *id, char *err, size_t errlen)
{
	struct store_task *t;
	struct deferred d = { 0 };
	int rc;

	pthread_mutex_lock(&e->ctl);
	ho_drop(e, id);			/* before any flag: see "Hand-off" */
	if ((rc = ctl_load(e, id, &t, "resume", err, errlen)) < 0)
		goto out;
	if (t->state != STORE_TASK_PAUSED) {
		if (t->pause_requested) {
			rc = ctl_rc(store_task_request(e->st, id,
			    STORE_REQ_UNPAUSE, err, errlen), id, err, errlen);
			ctx_flag(e, id, false, false);
		}
		goto out;
	}
	rc = ctl_rc(persist_d(e, t, STORE_TASK_QUEUED, NULL, NULL, 0, &d), id,
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
		deferred_flush(e, t, &d);
	store_task_free(t);
	return rc;
}

int task_cluster_add(struct task_engine *e, const char *cluster)
{
	return queue_cluster_add(e->q, cluster) < 0 ? TASK_ERR : 0;
}

int task_cluster_delete(struct task_engine *e, const char *cluster, char *err,
    size_t errlen)
{
	int rc;

	if (queue_running(e->q, cluster, NULL, 0)) {
		snprintf(err, errlen, "cluster '%s' has a running task",
		    cluster);
		return TASK_EBUSY;
	}
	rc = store_cluster_delete(e->st, cluster, err, errlen);
	if (rc == STORE_EBUSY)
		return TASK_EBUSY;
	if (rc == STORE_ENOENT)
		return TASK_ENOENT;
	if (rc < 0)
		return TASK_ERR;
	queue_cluster_remove(e->q, cluster);
	ho_drop_cluster(e, cluster);
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

/* ---- noop: the diagnostic type ------------------------------------------ */

/*
 * params: duration_s (number >= 0, default 0): total sleep, split evenly
 * over the steps; steps (1..1000, default 1); per_node (bool, default
 * false): each step once per node; fail_attempts (0..100, default 0):
 * every step fails that many attempts before it succeeds, to exercise
 * retries.
 */
static int noop_validate(json_t *params, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(params, key, v) {
		if (strcmp(key, "duration_s") == 0) {
			if (!json_is_number(v) || json_number_value(v) < 0 ||
			    json_number_value(v) > 86400) {
				snprintf(err, errlen, "params.duration_s must "
				    "be a number from 0 to 86400");
				return -1;
			}
		} else if (strcmp(key, "steps") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 1000) {
				snprintf(err, errlen, "params.steps must be an "
				    "integer from 1 to 1000");
				return -1;
			}
		} else if (strcmp(key, "fail_attempts") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 100) {
				snprintf(err, errlen, "params.fail_attempts must "
				    "be an integer from 0 to 100");
				return -1;
			}
		} else if (strcmp(key, "per_node") == 0) {
			if (!json_is_boolean(v)) {
				snprintf(err, errlen, "params.per_node must be "
				    "a boolean");
				return -1;
			}
		} else {
			snprintf(err, errlen, "unknown parameter '%s' for noop",
			    key);
			return -1;
		}
	}
	if (json_object_get(params, "duration_s") == NULL)
		json_object_set_new(params, "duration_s", json_integer(0));
	if (json_object_get(params, "steps") == NULL)
		json_object_set_new(params, "steps", json_integer(1));
	return 0;
}

static int noop_plan(const json_t *params, const json_t *nodes,
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
		if (per_node && json_array_size(nodes) > 0) {
			size_t k;
			json_t *n;
			json_array_foreach(nodes, k, n)
				task_plan_add(plan, name, json_string_value(
				    json_object_get(n, "address")));
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

static const struct task_type noop_type = {
	.name = "noop",
	.validate = noop_validate,
	.plan = noop_plan,
	.run = noop_run,
	.max_attempts = 5,
	.backoff_base_ms = 100,
	.backoff_max_ms = 2000,
};
