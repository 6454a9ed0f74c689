/*
 * queue.h - one FIFO of task ids per cluster and a pool of worker threads.
 *
 * At most one task of a cluster runs at a time, in arrival order; clusters
 * run in parallel.  Workers take the next *ready* cluster round-robin, so a
 * cluster with 1,000 queued tasks never delays a cluster with one.  The
 * queue holds only task ids; it knows nothing of the store (task.c does
 * the persistence and calls these functions).  See queue.c for the design.
 *
 * Threading: every function is thread-safe.  The work callback runs
 * without any queue lock held and may call any queue function (push,
 * remove, set_hold ...), but must not call queue_stop()/queue_free().
 * No function blocks except queue_stop() (which waits for running
 * callbacks) and queue_free().
 *
 * Ownership: the queue copies every string it is given.
 */
#ifndef RM_QUEUE_H
#define RM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct queue;

/* What the work callback says about the task it was given. */
enum queue_result {
	QUEUE_DONE,	/* forget the task; the cluster may run its next one */
	QUEUE_PARK,	/* keep the task at the HEAD of its cluster, blocked
			   (QUEUE_BLOCK): nothing else of the cluster runs
			   until queue_set_hold(QUEUE_READY) or removal */
	QUEUE_WAIT,	/* the task is still running but waits: it stays the
			   cluster's running task (nothing else of the cluster
			   runs), the worker goes back to the pool, and the
			   callback is called again for it after queue_wake() */
};

/* The hold state of a queued task. */
enum queue_hold {
	QUEUE_READY,	/* runs in its turn */
	QUEUE_HELD,	/* skipped (a paused queued task), keeps its place */
	QUEUE_BLOCK,	/* blocks its cluster (a paused task that had started) */
};

/* Called on a worker thread for each task, with no lock held. */
typedef enum queue_result (*queue_work_fn)(const char *cluster,
    const char *task_id, void *arg);

/* A new, stopped queue with no clusters. */
struct queue *queue_new(void);
/*
 * Start nworkers (>= 1) threads calling fn(cluster, task_id, arg).
 * 0, or -1 with err (already started, thread creation failed).
 */
int queue_start(struct queue *q, int nworkers, queue_work_fn fn, void *arg,
    char *err, size_t errlen);
/*
 * Stop taking work and wait until every running callback has returned;
 * the tasks still queued stay queued.  Idempotent; NULL is fine.
 */
void queue_stop(struct queue *q);
/* queue_stop() then free everything.  NULL is fine. */
void queue_free(struct queue *q);

/* Create the cluster's FIFO; idempotent (0 when it exists). */
int queue_cluster_add(struct queue *q, const char *cluster);
/*
 * Drop the cluster's FIFO and its queued ids.  A running task finishes
 * first (its callback still runs to the end; the cluster is then freed).
 * Returns the number of queued ids dropped, or -1 when unknown.
 */
int queue_cluster_remove(struct queue *q, const char *cluster);
bool queue_cluster_exists(struct queue *q, const char *cluster);

/*
 * Append task_id to the cluster's FIFO with a hold state (QUEUE_BLOCK is
 * put at the head).  0, or -1 when the cluster has no queue.
 */
int queue_push(struct queue *q, const char *cluster, const char *task_id,
    enum queue_hold hold);
/*
 * Remove a queued (not running) task: true when it was queued and now is
 * not, false when unknown or already running.  Used to cancel.
 */
bool queue_remove(struct queue *q, const char *cluster, const char *task_id);
/*
 * Change a queued task's hold state (pause/resume).  true when the task is
 * queued (not running) and was changed.  QUEUE_BLOCK moves it to the head.
 */
bool queue_set_hold(struct queue *q, const char *cluster,
    const char *task_id, enum queue_hold hold);

/*
 * Run a waiting task (one whose callback returned QUEUE_WAIT) again, in
 * the cluster's turn.  A wake for a task whose callback is running now is
 * kept and takes effect as soon as it returns QUEUE_WAIT.  false when
 * task_id is not the cluster's running or waiting task.
 */
bool queue_wake(struct queue *q, const char *cluster, const char *task_id);
/* Where a task is (queue_where()). */
enum queue_where {
	QUEUE_NOWHERE,		/* not in the cluster's FIFO, no worker has it */
	QUEUE_IN_FIFO,		/* queued (in any hold state) */
	QUEUE_AT_WORKER,	/* the cluster's running or waiting task */
};
/* In the FIFO wins when both (a callback that pushed its own task). */
enum queue_where queue_where(struct queue *q, const char *cluster,
    const char *task_id);

/* Tasks waiting (QUEUE_WAIT) now, over all clusters. */
size_t queue_waiting(struct queue *q);

/* Queued ids of the cluster, held and blocked included (0 when unknown). */
size_t queue_depth(struct queue *q, const char *cluster);
/* true and the id copied (idlen bytes) when a task of the cluster runs. */
bool queue_running(struct queue *q, const char *cluster, char *id,
    size_t idlen);
/* Callbacks running now. */
int queue_busy(struct queue *q);
/* Total queued ids over all clusters. */
size_t queue_total(struct queue *q);

/*
 * Call fn for every cluster under the lock: fn must be quick and must not
 * call into the queue (it is for /metrics).  running is NULL when idle.
 */
void queue_foreach(struct queue *q,
    void (*fn)(const char *cluster, size_t depth, const char *running,
    void *arg), void *arg);

#endif
