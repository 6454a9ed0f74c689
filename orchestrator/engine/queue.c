/*
 * queue.c - per-cluster FIFOs feeding one pool of worker threads.
 *
 * Design.  Each cluster has a FIFO of task ids (a doubly linked list, so
 * cancel can unlink from the middle) and at most one running task.  A
 * cluster is *ready* when nothing of it runs, nothing blocks its head and
 * it has at least one id in state QUEUE_READY.  Ready clusters sit in a
 * FIFO ring of their own; a worker pops the first ready cluster, takes the
 * first READY id of its FIFO, marks the cluster running and runs the
 * callback WITHOUT the lock.  When the callback returns, the worker puts
 * the cluster back at the TAIL of the ready ring if it still has work.  So
 * clusters take turns: a cluster with 1,000 ids gets one turn per round,
 * exactly like a cluster with one, and a cluster never runs two tasks at
 * once because it is out of the ring while it runs.
 *
 * Waiting.  A callback that returns QUEUE_WAIT leaves its task the cluster's
 * running task but gives the worker back: the task waits (on a node job,
 * a backoff, a timer) holding no thread, and the cluster stays out of the
 * ring, so nothing else of it runs.  queue_wake() puts the cluster back in
 * the ring with that task first; a wake that arrives while the callback
 * still runs is remembered and applied when it returns QUEUE_WAIT, so no
 * wake is ever lost between a step deciding to wait and the worker
 * letting go.
 *
 * Held ids (a paused queued task) are skipped but keep their place; a
 * BLOCK id (a paused task that had started) sits at the head and keeps the
 * whole cluster out of the ring until it is released.
 *
 * One mutex guards everything (clusters by name in a hash table, the ready
 * ring, the counters); it is held only for list operations, never during
 * work.  Workers sleep on one condition variable; a push signals only when
 * a cluster became ready and a worker is idle, after the unlock.  A removed
 * cluster whose task still runs is unlinked from the table at once and
 * freed by the worker when the callback returns.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/htab.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "queue.h"

struct qitem {
	struct qitem *prev, *next;
	enum queue_hold hold;
	char id[];
};

struct qcluster {
	struct htab_node hn;		/* in queue.clusters, by name */
	struct qcluster *rnext;		/* ready ring */
	struct qitem *head, *tail;
	size_t depth;			/* ids in the FIFO */
	size_t nready;			/* ids in state QUEUE_READY */
	size_t nblock;			/* ids in state QUEUE_BLOCK */
	struct qitem *running;		/* owned while the callback runs
					   or the task waits */
	bool waiting;			/* running task parked, no worker */
	bool woken;			/* run the running task again */
	bool in_ring;
	bool removed;			/* unlinked; free when running ends */
	char name[];
};

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct htab clusters;		/* struct qcluster by name */
	struct qcluster *ring_head, *ring_tail;
	size_t total;			/* ids queued over all clusters */
	int busy, idle;
	size_t nwaiting;		/* parked tasks over all clusters */
	bool started, stopping;
	queue_work_fn fn;
	void *arg;
	pthread_t *threads;
	int nthreads;
};

static struct qcluster *do_find(struct queue *q, const char *name)
{
	uint64_t h = htab_hash(name);

	for (struct htab_node *n = htab_first(&q->clusters, h); n != NULL;
	    n = htab_next(n, h)) {
		struct qcluster *c = HTAB_ENTRY(n, struct qcluster, hn);
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

static void do_unlink_cluster(struct queue *q, struct qcluster *c)
{
	htab_remove(&q->clusters, &c->hn);
}

static void do_ring_remove(struct queue *q, struct qcluster *c)
{
	struct qcluster *prev = NULL, *p = q->ring_head;

	if (!c->in_ring)
		return;
	while (p != c) {
		prev = p;
		p = p->rnext;
	}
	if (prev == NULL)
		q->ring_head = c->rnext;
	else
		prev->rnext = c->rnext;
	if (q->ring_tail == c)
		q->ring_tail = prev;
	c->rnext = NULL;
	c->in_ring = false;
}

static struct qcluster *do_ring_pop(struct queue *q)
{
	struct qcluster *c = q->ring_head;

	if (c == NULL)
		return NULL;
	q->ring_head = c->rnext;
	if (q->ring_head == NULL)
		q->ring_tail = NULL;
	c->rnext = NULL;
	c->in_ring = false;
	return c;
}

/* Put c in the ready ring when it can run; true when it was added. */
static bool do_maybe_ready(struct queue *q, struct qcluster *c)
{
	if (c->in_ring || c->removed)
		return false;
	if (c->running != NULL ? !(c->waiting && c->woken) :
	    c->nblock > 0 || c->nready == 0)
		return false;
	c->in_ring = true;
	c->rnext = NULL;
	if (q->ring_tail == NULL)
		q->ring_head = c;
	else
		q->ring_tail->rnext = c;
	q->ring_tail = c;
	return true;
}

static void do_count(struct qcluster *c, enum queue_hold hold, int delta)
{
	if (hold == QUEUE_READY)
		c->nready += (size_t)delta;
	else if (hold == QUEUE_BLOCK)
		c->nblock += (size_t)delta;
}

static void do_item_unlink(struct queue *q, struct qcluster *c,
    struct qitem *it)
{
	if (it->prev != NULL)
		it->prev->next = it->next;
	else
		c->head = it->next;
	if (it->next != NULL)
		it->next->prev = it->prev;
	else
		c->tail = it->prev;
	it->prev = it->next = NULL;
	do_count(c, it->hold, -1);
	c->depth--;
	q->total--;
}

static void do_item_link_head(struct queue *q, struct qcluster *c,
    struct qitem *it)
{
	it->prev = NULL;
	it->next = c->head;
	if (c->head != NULL)
		c->head->prev = it;
	else
		c->tail = it;
	c->head = it;
	do_count(c, it->hold, 1);
	c->depth++;
	q->total++;
}

static void do_item_link_tail(struct queue *q, struct qcluster *c,
    struct qitem *it)
{
	it->next = NULL;
	it->prev = c->tail;
	if (c->tail != NULL)
		c->tail->next = it;
	else
		c->head = it;
	c->tail = it;
	do_count(c, it->hold, 1);
	c->depth++;
	q->total++;
}

static struct qitem *do_item_find(struct qcluster *c, const char *id)
{
	struct qitem *it;

	for (it = c->head; it != NULL; it = it->next)
		if (strcmp(it->id, id) == 0)
			return it;
	return NULL;
}

static void cluster_free(struct qcluster *c)
{
	struct qitem *it, *next;

	if (c == NULL)
		return;
	for (it = c->head; it != NULL; it = next) {
		next = it->next;
		free(it);
	}
	free(c->running);
	free(c);
}

struct queue *queue_new(void)
{
	struct queue *q = xcalloc(1, sizeof(*q));

	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	htab_init(&q->clusters, 64);
	return q;
}

static void *worker_main(void *arg)
{
	struct queue *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct qcluster *c;
		struct qitem *it;

		if (q->stopping)
			break;
		c = do_ring_pop(q);
		if (c == NULL) {
			q->idle++;
			pthread_cond_wait(&q->cv, &q->mu);
			q->idle--;
			continue;
		}
		if (c->running != NULL) {	/* a woken waiting task */
			it = c->running;
			c->waiting = c->woken = false;
			q->nwaiting--;
		} else {
			for (it = c->head; it->hold != QUEUE_READY;
			    it = it->next)
				;	/* nready > 0 guarantees one */
			do_item_unlink(q, c, it);
			c->running = it;
		}
		q->busy++;
		pthread_mutex_unlock(&q->mu);

		enum queue_result r = q->fn(c->name, it->id, q->arg);

		pthread_mutex_lock(&q->mu);
		q->busy--;
		if (c->removed) {
			c->running = NULL;
			free(it);
			cluster_free(c);
			continue;
		}
		if (r == QUEUE_WAIT) {
			c->waiting = true;
			q->nwaiting++;
			if (do_maybe_ready(q, c) && q->idle > 0)
				pthread_cond_signal(&q->cv);
			continue;
		}
		c->running = NULL;
		c->woken = false;
		if (r == QUEUE_PARK) {
			it->hold = QUEUE_BLOCK;
			do_item_link_head(q, c, it);
		} else {
			free(it);
		}
		do_maybe_ready(q, c);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int queue_start(struct queue *q, int nworkers, queue_work_fn fn, void *arg,
    char *err, size_t errlen)
{
	int i, rc;

	if (nworkers < 1 || fn == NULL) {
		snprintf(err, errlen, "queue needs at least one worker and a "
		    "callback");
		return -1;
	}
	pthread_mutex_lock(&q->mu);
	if (q->started) {
		pthread_mutex_unlock(&q->mu);
		snprintf(err, errlen, "queue already started");
		return -1;
	}
	q->started = true;
	q->stopping = false;
	q->fn = fn;
	q->arg = arg;
	q->threads = xcalloc((size_t)nworkers, sizeof(*q->threads));
	pthread_mutex_unlock(&q->mu);

	for (i = 0; i < nworkers; i++) {
		rc = pthread_create(&q->threads[i], NULL, worker_main, q);
		if (rc != 0) {
			snprintf(err, errlen, "cannot start worker thread: %s",
			    strerror(rc));
			q->nthreads = i;
			queue_stop(q);
			return -1;
		}
	}
	q->nthreads = nworkers;
	return 0;
}

void queue_stop(struct queue *q)
{
	int i, n;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	if (!q->started) {
		pthread_mutex_unlock(&q->mu);
		return;
	}
	q->stopping = true;
	n = q->nthreads;
	pthread_mutex_unlock(&q->mu);
	pthread_cond_broadcast(&q->cv);

	for (i = 0; i < n; i++)
		pthread_join(q->threads[i], NULL);

	pthread_mutex_lock(&q->mu);
	free(q->threads);
	q->threads = NULL;
	q->nthreads = 0;
	q->started = false;
	pthread_mutex_unlock(&q->mu);
}

static void free_one(struct htab_node *n, void *arg)
{
	(void)arg;
	cluster_free(HTAB_ENTRY(n, struct qcluster, hn));
}

void queue_free(struct queue *q)
{
	if (q == NULL)
		return;
	queue_stop(q);
	htab_each(&q->clusters, free_one, NULL);
	htab_release(&q->clusters);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

int queue_cluster_add(struct queue *q, const char *cluster)
{
	size_t len = strlen(cluster);
	struct qcluster *c;

	pthread_mutex_lock(&q->mu);
	if (do_find(q, cluster) != NULL)
		goto out;
	c = xcalloc(1, sizeof(*c) + len + 1);
	memcpy(c->name, cluster, len + 1);
	htab_add(&q->clusters, &c->hn, htab_hash(cluster));
out:
	pthread_mutex_unlock(&q->mu);
	return 0;
}

int queue_cluster_remove(struct queue *q, const char *cluster)
{
	struct qcluster *c;
	int dropped;

	pthread_mutex_lock(&q->mu);
	c = do_find(q, cluster);
	if (c == NULL) {
		pthread_mutex_unlock(&q->mu);
		return -1;
	}
	do_unlink_cluster(q, c);
	do_ring_remove(q, c);
	dropped = (int)c->depth;
	q->total -= c->depth;
	if (c->running != NULL && c->waiting) {
		q->nwaiting--;		/* no worker has it: free it here */
	} else if (c->running != NULL) {
		/* The worker frees c; drop the queued ids now. */
		struct qitem *it, *next;
		for (it = c->head; it != NULL; it = next) {
			next = it->next;
			free(it);
		}
		c->head = c->tail = NULL;
		c->depth = c->nready = c->nblock = 0;
		c->removed = true;
		c = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	cluster_free(c);
	return dropped;
}

bool queue_cluster_exists(struct queue *q, const char *cluster)
{
	bool ok;

	pthread_mutex_lock(&q->mu);
	ok = do_find(q, cluster) != NULL;
	pthread_mutex_unlock(&q->mu);
	return ok;
}

int queue_push(struct queue *q, const char *cluster, const char *task_id,
    enum queue_hold hold)
{
	size_t len = strlen(task_id);
	struct qcluster *c;
	struct qitem *it;
	bool wake = false;

	it = xmalloc(sizeof(*it) + len + 1);
	memcpy(it->id, task_id, len + 1);
	it->hold = hold;

	pthread_mutex_lock(&q->mu);
	c = do_find(q, cluster);
	if (c == NULL) {
		pthread_mutex_unlock(&q->mu);
		free(it);
		return -1;
	}
	if (hold == QUEUE_BLOCK)
		do_item_link_head(q, c, it);
	else
		do_item_link_tail(q, c, it);
	if (do_maybe_ready(q, c) && q->idle > 0)
		wake = true;
	pthread_mutex_unlock(&q->mu);
	if (wake)
		pthread_cond_signal(&q->cv);
	return 0;
}

bool queue_remove(struct queue *q, const char *cluster, const char *task_id)
{
	struct qcluster *c;
	struct qitem *it = NULL;
	bool wake = false;

	pthread_mutex_lock(&q->mu);
	c = do_find(q, cluster);
	if (c != NULL)
		it = do_item_find(c, task_id);
	if (it != NULL) {
		do_item_unlink(q, c, it);
		if (c->nready == 0 || c->nblock > 0)
			do_ring_remove(q, c);
		/* Removing a BLOCK id may free the cluster. */
		if (do_maybe_ready(q, c) && q->idle > 0)
			wake = true;
	}
	pthread_mutex_unlock(&q->mu);
	if (wake)
		pthread_cond_signal(&q->cv);
	free(it);
	return it != NULL;
}

bool queue_set_hold(struct queue *q, const char *cluster,
    const char *task_id, enum queue_hold hold)
{
	struct qcluster *c;
	struct qitem *it = NULL;
	bool wake = false;

	pthread_mutex_lock(&q->mu);
	c = do_find(q, cluster);
	if (c != NULL)
		it = do_item_find(c, task_id);
	if (it != NULL) {
		if (hold == QUEUE_BLOCK) {
			do_item_unlink(q, c, it);
			it->hold = hold;
			do_item_link_head(q, c, it);
		} else {
			/* In place: a paused queued task keeps its order. */
			do_count(c, it->hold, -1);
			it->hold = hold;
			do_count(c, it->hold, 1);
		}
		if (c->nready == 0 || c->nblock > 0)
			do_ring_remove(q, c);
		if (do_maybe_ready(q, c) && q->idle > 0)
			wake = true;
	}
	pthread_mutex_unlock(&q->mu);
	if (wake)
		pthread_cond_signal(&q->cv);
	return it != NULL;
}

bool queue_wake(struct queue *q, const char *cluster, const char *task_id)
{
	struct qcluster *c;
	bool found = false, wake = false;

	pthread_mutex_lock(&q->mu);
	c = do_find(q, cluster);
	if (c != NULL && c->running != NULL &&
	    strcmp(c->running->id, task_id) == 0) {
		found = true;
		c->woken = true;
		wake = do_maybe_ready(q, c) && q->idle > 0;
	}
	pthread_mutex_unlock(&q->mu);
	if (wake)
		pthread_cond_signal(&q->cv);
	return found;
}

enum queue_where queue_where(struct queue *q, const char *cluster,
    const char *task_id)
{
	enum queue_where w = QUEUE_NOWHERE;
	struct qcluster *c;

	pthread_mutex_lock(&q->mu);
	c = do_find(q, cluster);
	if (c != NULL && do_item_find(c, task_id) != NULL)
		w = QUEUE_IN_FIFO;
	else if (c != NULL && c->running != NULL &&
	    strcmp(c->running->id, task_id) == 0)
		w = QUEUE_AT_WORKER;
	pthread_mutex_unlock(&q->mu);
	return w;
}

size_t queue_waiting(struct queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->nwaiting;
	pthread_mutex_unlock(&q->mu);
	return n;
}

size_t queue_depth(struct queue *q, const char *cluster)
{
	struct qcluster *c;
	size_t n = 0;

	pthread_mutex_lock(&q->mu);
	c = do_find(q, cluster);
	if (c != NULL)
		n = c->depth;
	pthread_mutex_unlock(&q->mu);
	return n;
}

bool queue_running(struct queue *q, const char *cluster, char *id,
    size_t idlen)
{
	struct qcluster *c;
	bool ok = false;

	pthread_mutex_lock(&q->mu);
	c = do_find(q, cluster);
	if (c != NULL && c->running != NULL) {
		ok = true;
		if (id != NULL && idlen > 0)
			str_copy(id, c->running->id, idlen);
	}
	pthread_mutex_unlock(&q->mu);
	return ok;
}

int queue_busy(struct queue *q)
{
	int n;

	pthread_mutex_lock(&q->mu);
	n = q->busy;
	pthread_mutex_unlock(&q->mu);
	return n;
}

size_t queue_total(struct queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->total;
	pthread_mutex_unlock(&q->mu);
	return n;
}

void queue_foreach(struct queue *q,
    void (*fn)(const char *cluster, size_t depth, const char *running,
    void *arg), void *arg)
{
	pthread_mutex_lock(&q->mu);
	for (size_t i = 0; i < q->clusters.nb; i++) {
		for (struct htab_node *n = q->clusters.b[i]; n != NULL;
		    n = n->next) {
			struct qcluster *c = HTAB_ENTRY(n, struct qcluster, hn);
			fn(c->name, c->depth,
			    c->running ? c->running->id : NULL, arg);
		}
	}
	pthread_mutex_unlock(&q->mu);
}
