/*
 * task_int.h - the engine's insides, shared by its files (task.c: types,
 * persistence, hand-off, registry, life cycle; runner.c: the step runner;
 * timer.c: parked tasks' wake-ups; step.c: what task types call;
 * submit.c: submission and control).  Nothing outside engine/ includes it.
 */
#ifndef RM_TASK_INT_H
#define RM_TASK_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../common/htab.h"
#include "../store/store.h"
#include "queue.h"
#include "task.h"

#define MAX_TYPES		64
#define DEF_ATTEMPTS		3
#define DEF_BACKOFF_BASE	1000
#define DEF_BACKOFF_MAX		60000
#define DEF_DEADLINE		(3600 * 1000)
#define SLEEP_SLICE_MS		20
#define PROGRESS_EVERY_MS	500
#define HANDOFF_MAX		8192	/* tasks waiting; beyond, the store */
#define RESUMES_MAX		3	/* starts finding one attempt running */
#define CTL_TRIES		8	/* a control call's lost writes */

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
	/* The step being run, or about to start, is held (task_type.holds):
	 * cancel and pause wait.  Set and read by the runner's thread. */
	bool held;
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
	char *cancel_note;		/* task_cancel_note() */
	struct nprog *np;
	size_t nnp;
	/* task_partial(): what the running attempt said is missing, and
	 * what the task's succeeded steps said (the task ends partial) */
	char *partial_step;
	char *partial;
	bool in_fail_hook;		/* running the type's on_fail */
	bool check_resume;		/* loaded "running": count a resume */
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
	task_fence_fn fence;		/* task_engine_set_fence() */
	void *fence_arg;
	atomic_bool fenced;		/* the last fence check refused */
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
	pthread_mutex_t ctl;		/* eng_queue_sync(): read, then queue */
	atomic_bool stopping;
	bool started;
	pthread_mutex_t amu;		/* endings not yet committed */
	pthread_cond_t acv;
	size_t nasync;
	pthread_mutex_t ho_mu;		/* the hand-off table */
	struct htab ho;			/* struct handoff by task id */
};

/* A submitted task as the runner would load it (see "Hand-off"). */
struct handoff {
	struct htab_node hn;
	struct store_task *t;
};

enum stop_reason { STOP_NONE, STOP_CANCEL, STOP_PAUSE, STOP_SHUTDOWN };

/* task.c */
int eng_type_attempts(const struct task_type *ty);
/* The task's max_attempts parameter when given, else the type's. */
int eng_task_attempts(const struct task_type *ty, const json_t *params);
int64_t eng_type_deadline(const struct task_type *ty);
int64_t eng_backoff_ms(const struct task_type *ty, int attempt);
void eng_plan_release(struct task_plan *p);
int eng_cas(struct task_engine *e, struct store_task *t,
    const struct store_transition *tr, enum store_task_state *actual);
void eng_finish_async(struct task_ctx *ctx,
    const struct store_step_update *su);
void eng_queue_sync(struct task_engine *e, const char *cluster,
    const char *id, bool runner);
int eng_persist(struct task_engine *e, struct store_task *t, int state, const char *error,
    const struct store_step_update *su, size_t nsu);
struct store_step_update eng_su_make(const struct store_step *sp,
    enum store_step_state state, int attempts);
bool eng_ho_put(struct task_engine *e, struct store_task *t);
struct store_task *eng_ho_take(struct task_engine *e, const char *id);
void eng_ho_drop(struct task_engine *e, const char *id);
void eng_ho_drop_cluster(struct task_engine *e, const char *cluster);
void eng_ctx_register(struct task_ctx *ctx);
void eng_ctx_unregister(struct task_ctx *ctx);
struct task_ctx *eng_ctx_unpark(struct task_engine *e, const char *id);
bool eng_ctx_flag(struct task_engine *e, const char *id, bool cancel,
    bool value);

/* timer.c */
void *eng_timer_main(void *arg);
void eng_park(struct task_ctx *ctx, int64_t at);

/* runner.c */
enum stop_reason eng_stop_reason(struct task_ctx *ctx);
void eng_ctx_free(struct task_ctx *ctx);
enum queue_result eng_run_task(const char *cluster, const char *id,
    void *arg);

#endif
