/*
 * task.h - the task engine: task types, submission, the step runner on the
 * queue's worker pool, cancel/pause/resume, resume after a restart.
 *
 * An engine is a handle (struct task_engine), created in main() and passed
 * down; nothing of it is global, and two engines on two stores can run in
 * one process.  Life cycle, from the daemon's service_start():
 *
 *	st = store_open(path, ...);
 *	e = task_engine_new(st, workers, ...);  registers "noop", creates a
 *	                                queue per stored cluster
 *	task_type_register(e, &backup); (other modules' types, before start)
 *	task_set_observer(e, fn, arg);  optional: metrics
 *	task_resume_all(e, ...);        unfinished tasks back into queues
 *	task_start(e, ...);             timer and worker threads run
 *	sched_new(e, ...);              schedules (sched.h)
 *	... serve ...
 *	on SIGTERM: sched_free(); task_stop(e);  running steps stop at their
 *	                                next checkpoint and stay "running" in the
 *	                                store, to be continued at next start
 *	task_engine_free(e); store_close(st);
 *
 * Threading: every function below except task_engine_new/task_start/
 * task_stop/task_engine_free/task_type_register may be called from any thread at any
 * time after task_engine_new().  The API never runs work: task_submit() persists
 * the task (intent first) and queues its id; a worker runs it.
 *
 * Return conventions: 0 or a negative TASK_E* code with a message in err
 * (lowercase, suitable for the "message" of an API error).
 *
 * Task state events ("task" kind, actor "ringmaster") are written to the
 * events table by the store (batched within 50 ms of the state change, see
 * store.h); the observer must not write them again.  The observer gets
 * from == to == queued when a task is created.
 */
#ifndef RM_TASK_H
#define RM_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../err.h"
#include "../store/store.h"

/* What a step function returns. */
#define TASK_STEP_OK	0	/* done and verified */
#define TASK_STEP_FAIL	(-1)	/* failed; retried with backoff */
#define TASK_STEP_FATAL	(-2)	/* failed; do not retry */
#define TASK_STEP_STOP	1	/* stopped because task_checkpoint() said so */
#define TASK_STEP_WAIT	2	/* not done: call again later (task_wait()) */

struct task_ctx;
struct task_engine;

/* The list of steps a planner builds (opaque; use task_plan_add()). */
struct task_plan;

/*
 * A task type.  The struct must outlive the engine (a static const).
 *
 * params: the table of parameters (params.h): unknown keys, types, ranges
 *   and defaults are checked there, the same way for every type.
 * validate (optional): the rules a table cannot say (one parameter needs
 *   another); called after the table's check; 0, or -1 with a message (the
 *   API answers 400).
 * plan: add the steps in order with task_plan_add(); nodes is the cluster's
 *   nodes as the store reads them (store_cluster_nodes()), only read; a
 *   per-node step is one step per node.
 *   At least one step.  0 or -1 with a message (400).
 * run: do one step (step->attempts counts this attempt) and verify it.
 *   Long work calls task_checkpoint() often and returns TASK_STEP_STOP
 *   when it says true; task_progress() records a message.  It must be safe
 *   to run a step twice (after a crash a running step is re-run).
 *
 * Retries: an attempt that fails is retried after
 * min(backoff_max_ms, backoff_base_ms * 2^(attempt-1)) scaled by a random
 * factor in [0.5, 1.0], up to max_attempts attempts in all.  A step whose
 * attempt runs past step_deadline_ms fails that attempt (the deadline is
 * cooperative: task_checkpoint() returns true once it passed).
 * Zero fields take the defaults: 3 attempts, 1 s base, 60 s max,
 * 1 h deadline.
 *
 * admit (optional): a check against the cluster's recorded state, run at
 *   submission after validate (and for every schedule firing): 0, or -1
 *   with a message and the task is refused as a conflict (RM_ECONFLICT,
 *   409) and nothing is recorded.  It runs on the caller's thread (the
 *   API's): it may read the store, never another system.
 * on_fail (optional): undo what a task that fails for good leaves behind
 *   (snapshots, staged files).  Called once, on the worker, after the last
 *   attempt of a step failed (or a step failed fatally) and before the task
 *   is recorded failed; error is the task's error.  The intent is
 *   persisted first (store_task_failing_set()), so after a crash the hook
 *   runs again at start-up before the task is recorded failed: it must be
 *   safe to run twice.  It returns TASK_STEP_OK, TASK_STEP_FAIL (cleanup
 *   failed: said in the task's error, not retried) or TASK_STEP_STOP
 *   (shutdown: run again at the next start); msg says what it did and is
 *   appended to the task's error.  task_progress() is a no-op in it;
 *   task_checkpoint() is true only on shutdown (a cancel does not cut
 *   cleanup short).  Not called for cancelled tasks.
 *
 * holds (optional): true for a step that a pause or a cancel waits out.
 *   They take effect before the next step for which it is false, never
 *   between two held steps, and task_checkpoint() ignores them inside
 *   one; a shutdown still stops it (it resumes).  For the steps between
 *   taking a node down and having it (or its replacement) back: a pause
 *   there would leave the cluster a node short for as long as it lasts.
 */
struct param_spec;

struct task_type {
	const char *name;
	const char *description;	/* one line, for the API and ringsh */
	const char *steps;		/* how it plans, in words */
	/* Its parameters (params.h), checked and defaulted before
	 * validate(), which then checks only what spans several of them.
	 * NULL: the type takes none. */
	const struct param_spec *params;
	int (*validate)(json_t *params, char *err, size_t errlen);
	int (*plan)(const json_t *params, const struct store_nodes *nodes,
	    struct task_plan *plan, char *err, size_t errlen);
	int (*run)(struct task_ctx *ctx, const struct store_step *step,
	    char *err, size_t errlen);
	int (*admit)(struct store *st, const char *cluster,
	    const json_t *params, char *err, size_t errlen);
	int (*on_fail)(struct task_ctx *ctx, const char *error, char *msg,
	    size_t msglen);
	bool (*holds)(const struct store_step *step);
	int max_attempts;
	int64_t backoff_base_ms;
	int64_t backoff_max_ms;
	int64_t step_deadline_ms;
};

/* A change of a task's state, given to the observer. */
struct task_event {
	const char *id;
	const char *cluster;
	const char *type;
	enum store_task_state from, to;
	int64_t created_at, started_at, finished_at;	/* ms, 0 = none */
	const char *error;				/* or NULL */
};
typedef void (*task_observer_fn)(const struct task_event *ev, void *arg);

/* ---- engine life cycle -------------------------------------------------- */

/*
 * A new engine on an open store (which must outlive it) with nworkers
 * worker threads (not started yet): registers "noop" and creates a queue
 * for every cluster in the store.  NULL with err on failure.
 */
struct task_engine *task_engine_new(struct store *st, int nworkers, char *err,
    size_t errlen);
/*
 * Register a type (before task_start()).  0, or RM_EINVAL when the name
 * is taken or the struct is incomplete (name, plan and run are required).
 */
int task_type_register(struct task_engine *e, const struct task_type *type);
const struct task_type *task_type_find(const struct task_engine *e,
    const char *name);
/* Every registered type, in registration order: fn(type, arg). */
void task_type_foreach(const struct task_engine *e,
    void (*fn)(const struct task_type *type, void *arg), void *arg);
/* Call fn(ev, arg) on every task state change, after its commit, outside
 * every lock, on the thread that made the change, or for a task's success
 * on the thread that led the commit holding it (any thread that writes to
 * the store; see "endings" in docs/engine.md).  Set before task_start();
 * NULL removes. */
void task_set_observer(struct task_engine *e, task_observer_fn fn, void *arg);
/*
 * Put every unfinished task back into its cluster's queue: a task that was
 * running resumes at its first unfinished step (a step left "running" by a
 * crash or a shutdown continues as the same attempt, attaching to its node
 * jobs), queued tasks keep their seq order, paused tasks stay
 * paused (one that had started keeps the head of its cluster).  Call once,
 * after task_engine_new() and before task_start().  0 or RM_ERR.
 */
int task_resume_all(struct task_engine *e, char *err, size_t errlen);
/* Start the worker threads.  0 or RM_ERR. */
int task_start(struct task_engine *e, char *err, size_t errlen);
/*
 * Shutdown (SIGTERM): every task_checkpoint() returns true from now on,
 * running steps stop and are left for resume (the task and the step stay
 * "running" in the store, the step as the same attempt, its count of
 * resumes back to 0: a clean stop); wait for the workers and for the
 * endings still on their way to the store.  Queued tasks stay queued.
 * Idempotent.
 */
void task_stop(struct task_engine *e);
/* task_stop() and free the engine (parked tasks are left as the store has
 * them).  NULL is fine. */
void task_engine_free(struct task_engine *e);
/* The store the engine was created on. */
struct store *task_engine_store(const struct task_engine *e);
/* The node client task types reach nodes with (nodeops.h), set once at
 * wiring before task_start(); the engine never looks inside. */
void task_engine_set_nodes(struct task_engine *e, void *nodes);
/*
 * Asked before each step starts, with active/standby: 0 lets it start; -1
 * (with the reason in err) leaves the step as it is and asks again a
 * second later, so a stale active starts nothing and the active that
 * follows resumes the task.  Set once before task_start(); NULL: none.
 */
typedef int (*task_fence_fn)(void *arg, char *err, size_t errlen);
void task_engine_set_fence(struct task_engine *e, task_fence_fn fn,
    void *arg);

/* ---- the service layer -------------------------------------------------- */

/*
 * Validate params (NULL means {}; validate() may add defaults to the
 * object, which is why it is not const), plan steps from the cluster's
 * nodes, persist the task with its steps, then queue it.  id_out gets the
 * id (STORE_ID_MAX bytes).  0, RM_EINVAL (unknown type, bad params),
 * RM_ENOENT (no such cluster), RM_ERR.
 */
int task_submit(struct task_engine *e, const char *cluster, const char *type, json_t *params,
    char *id_out, char *err, size_t errlen);
/* Only validate (for schedules and dry runs): 0 or RM_EINVAL. */
int task_validate(struct task_engine *e, const char *type, json_t *params, char *err,
    size_t errlen);

/*
 * Cancel: a queued or paused task is cancelled at once; a running one at
 * its next checkpoint (its running step ends "cancelled", the rest too).
 * Holds no lock across its writes (compare-and-set, docs/engine.md).
 * 0, RM_ENOENT, RM_ECONFLICT (already finished, or its state changed 8
 * times under the call), RM_ERR.
 */
int task_cancel(struct task_engine *e, const char *id, char *err,
    size_t errlen);
/*
 * Pause: a queued task is paused at once and skipped (it keeps its place;
 * tasks behind it may run).  A running task pauses at its next checkpoint
 * and keeps the head of its cluster: nothing else of the cluster runs
 * until it is resumed or cancelled.  Pausing a paused task is a no-op.
 * 0, RM_ENOENT, RM_ECONFLICT (finished).
 */
int task_pause(struct task_engine *e, const char *id, char *err,
    size_t errlen);
/*
 * Resume a paused task (it becomes queued and runs in its turn; one that
 * had started continues at its first unfinished step).  Resuming a task
 * that is running with a pause request withdraws the request; resuming a
 * queued or running task is a no-op.  0, RM_ENOENT, RM_ECONFLICT.
 */
int task_resume(struct task_engine *e, const char *id, char *err,
    size_t errlen);

/* Create the queue of a new cluster (after store_cluster_create() or a
 * check-in that created the cluster).  Idempotent.  0 or RM_ERR. */
int task_cluster_add(struct task_engine *e, const char *cluster);
/*
 * Delete a cluster: refused with RM_EBUSY while one of its tasks runs;
 * otherwise the store rows (cascade) and its queue go.  0, RM_ENOENT,
 * RM_EBUSY, RM_ERR.
 */
int task_cluster_delete(struct task_engine *e, const char *cluster,
    char *err, size_t errlen);
/* Queue depth and the running task id ("" when none; idlen bytes). */
void task_queue_info(struct task_engine *e, const char *cluster, size_t *depth, char *running_id,
    size_t idlen);
/* Worker threads busy with a task now. */
int task_busy_workers(struct task_engine *e);
/* Tasks parked in a wait now (holding no worker). */
size_t task_waiting(struct task_engine *e);
/* For /metrics: fn(cluster, depth, running id or NULL, arg) per cluster,
 * under the queue lock: fn must be quick and not call the engine. */
void task_queue_foreach(struct task_engine *e, void (*fn)(const char *cluster, size_t depth,
    const char *running, void *arg), void *arg);

/* ---- for task types ------------------------------------------------------ */

/* Add a step to a plan (strings copied); node NULL acts on the cluster. */
void task_plan_add(struct task_plan *plan, const char *name,
    const char *node);
/*
 * true when the step must stop now: cancel or pause requested, daemon
 * shutting down, or the step's deadline passed.  Cheap (atomic loads):
 * call it between chunks of work.
 */
bool task_checkpoint(struct task_ctx *ctx);
/* Record a progress message on the running step (persisted, throttled to
 * one write per 500 ms except the first).  Safe to call from several
 * threads of the step at once (per-node work), until the step function
 * returns: one of the callers within a period writes, the others return.
 * The last message given is the step's final message when it succeeds,
 * even when the throttle kept it from being written at once. */
void task_progress(struct task_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * What cancelling the running step did ("cancelled: 10.0.0.1: 2 sessions
 * failed in Cassandra"), said by whatever cancels the step's work on a
 * node (the step itself on task_checkpoint(), or a memo's release when the
 * task is cancelled while the step waits).  The cancelled step's message
 * is this, not just "cancelled"; several are joined with "; ".
 */
void task_cancel_note(struct task_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * The task's outcome is partial, because of what fmt says is missing
 * ("3 of 40 segments not repaired: ..."): called by a step that goes on
 * to return TASK_STEP_OK.  When every step is done the task ends
 * "partial" instead of "succeeded", with these words (of every step that
 * said so, joined by "; ") as its error: terminal, not retried.  Said by
 * an attempt that then fails, it is forgotten with the attempt.  Kept in
 * memory until the task ends: a pause or a restart between the step that
 * said it and the task's end forgets it (the types that use it say it in
 * their last step, which a pause or a restart runs again).  A no-op
 * outside a step.
 */
void task_partial(struct task_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Per-node progress of the running step (the fan-out of backup, restore
 * and verify over nodes, fed by the agents' progress lines).  Fields that
 * are negative (numbers) or NULL (strings) keep what the node reported
 * last; state is "running" (the default), "done" or "failed".  The engine
 * keeps one record per node and step, merged, and persists it on the
 * first report, on every change of state and phase, and otherwise at most
 * every 500 ms per node; "done" and "failed" are always written.  A node
 * "done" has its done counts set to its totals where the totals are known.
 * GET /api/v1/tasks/{id} shows them as each step's "nodes".  Safe from
 * several threads of the step at once; a no-op outside a step.
 */
struct task_node_progress {
	const char *phase;
	int64_t files_done, files_total, bytes_done, bytes_total;
	double rate_bps;
	const char *state;
	const char *message;
};
/* All fields "keep": start from this and set what is known. */
#define TASK_NODE_PROGRESS_KEEP { NULL, -1, -1, -1, -1, -1.0, NULL, NULL }
void task_node_progress(struct task_ctx *ctx, const char *node,
    const struct task_node_progress *np);
/*
 * Waiting without a worker.  A step that must wait returns
 * task_wait(ctx, ms) (which is TASK_STEP_WAIT): the task is parked, its
 * worker goes back to the pool, and the step is called again once ms
 * passed, or at once on a cancel or pause (task_checkpoint() is then
 * true), and never later than its deadline.  So a step is re-entrant: it
 * is called until it returns something else, with the same step and
 * attempt, and keeps what it learnt in its memo.  Calling task_wait()
 * several times in one call keeps the earliest.  Only from a step
 * (task_ctx_can_wait()); on_fail hooks block instead.
 */
int task_wait(struct task_ctx *ctx, int64_t ms);
bool task_ctx_can_wait(const struct task_ctx *ctx);
/* The daemon is stopping: a step that stops now continues at the next
 * start as the same attempt, so node jobs are left running. */
bool task_ctx_shutting_down(const struct task_ctx *ctx);
/* The attempt number of the running step (0 in an on_fail hook) and the
 * milliseconds since this attempt started (in this process). */
int task_ctx_attempt(const struct task_ctx *ctx);
/* The index of the running step, -1 outside a step (an on_fail hook). */
int task_ctx_step_idx(const struct task_ctx *ctx);
int64_t task_ctx_attempt_elapsed(const struct task_ctx *ctx);
/* Wall-clock ms the running attempt started, as stored: unlike
 * task_ctx_attempt_elapsed() it survives a restart (a resumed step goes on
 * as the same attempt), for waits bounded across restarts.  0 outside a
 * step or when not recorded. */
int64_t task_ctx_attempt_started_at(const struct task_ctx *ctx);
/*
 * The attempt's memo: what a re-entrant step keeps between its calls
 * (node jobs started, a listing it read).  Freed with release(p) when the
 * attempt ends; abandon(ctx, p), when not NULL, is called first when the
 * attempt ends unsuccessfully for a reason other than shutdown (cancel,
 * pause, failure, deadline): it cancels what the step left running.  Use
 * from the step's thread only.  task_memo() is NULL for an unknown key.
 */
void *task_memo(struct task_ctx *ctx, const char *key);
void task_memo_put(struct task_ctx *ctx, const char *key, void *p,
    void (*release)(void *p), void (*abandon)(struct task_ctx *ctx, void *p));
/* Sleep ms in short slices; false when task_checkpoint() cut it short.
 * Holds the worker: only for on_fail hooks and short pauses. */
bool task_sleep(struct task_ctx *ctx, int64_t ms);
const char *task_ctx_id(const struct task_ctx *ctx);
const char *task_ctx_cluster(const struct task_ctx *ctx);
const json_t *task_ctx_params(const struct task_ctx *ctx);
struct store *task_ctx_store(const struct task_ctx *ctx);
/* The node client given to task_engine_set_nodes(), and the engine. */
void *task_ctx_nodes(const struct task_ctx *ctx);
struct task_engine *task_ctx_engine(const struct task_ctx *ctx);
/* Milliseconds left before the step's deadline (<= 0: passed). */
int64_t task_ctx_deadline_left(const struct task_ctx *ctx);
/*
 * Start the step's deadline again from now.  For a step that waits,
 * before it starts any work, for a time it does not choose (a repair's
 * maintenance window, days away): the deadline bounds the work, not that
 * wait.  Only while nothing of the step runs.
 */
void task_deadline_restart(struct task_ctx *ctx);

/*
 * For sched.c: submit the task of a due schedule (type/params/cluster from
 * s) and, in the same transaction, set its next_run_at.  0 (queued, id in
 * id_out), RM_EBUSY (its previous task is not finished: nothing queued,
 * next_run_at advanced), RM_EINVAL, RM_ENOENT, RM_ERR.
 */
int task_submit_scheduled(struct task_engine *e, const struct store_schedule *s,
    int64_t next_run_at, char *id_out, char *err, size_t errlen);

#endif
