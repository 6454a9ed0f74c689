/*
 * timer.c - wake-ups of parked tasks: a min-heap of (mono ms, generation,
 * task) on its own thread; a due entry whose generation still matches the
 * task's (no event woke it meanwhile) makes the task runnable again
 * (queue_wake()).  See "Waiting" in task.c.
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

void *eng_timer_main(void *arg)
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
			time_after_ms(CLOCK_MONOTONIC, e->heap[0].at - now,
			    &ts);
			pthread_cond_timedwait(&e->tcv, &e->tmu, &ts);
		}
	}
	pthread_mutex_unlock(&e->tmu);
	return NULL;
}

/* Park ctx until mono ms `at` (or an event); the caller then returns
 * QUEUE_WAIT. */
void eng_park(struct task_ctx *ctx, int64_t at)
{
	struct task_engine *e = ctx->e;
	pthread_mutex_lock(&e->mu);
	ctx->parked = true;
	ctx->wake_gen++;
	timer_add(ctx, at);
	pthread_mutex_unlock(&e->mu);
}
