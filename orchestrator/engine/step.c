/*
 * step.c - what task types call from their steps: checkpoints, progress
 * (per step and per node), waits, the attempt's memo, the context.
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

/* ---- for task types ------------------------------------------------------ */

bool task_checkpoint(struct task_ctx *ctx)
{
	struct task_engine *e = ctx->e;
	if (ctx->in_fail_hook)		/* cleanup runs to its end but for
					 * shutdown and its deadline */
		return atomic_load(&e->stopping) ||
		    time_mono_ms() >= ctx->deadline;
	return eng_stop_reason(ctx) != STOP_NONE || time_mono_ms() >= ctx->deadline;
}

void task_partial(struct task_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (ctx->step == NULL)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&ctx->pmu);
	free(ctx->partial_step);
	ctx->partial_step = msg;
	pthread_mutex_unlock(&ctx->pmu);
}

void task_cancel_note(struct task_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&ctx->pmu);
	if (ctx->cancel_note != NULL) {
		char *both = xasprintf("%s; %s", ctx->cancel_note, msg);
		free(ctx->cancel_note);
		free(msg);
		msg = both;
	}
	ctx->cancel_note = msg;
	pthread_mutex_unlock(&ctx->pmu);
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
	su = eng_su_make(step, STORE_STEP_RUNNING, step->attempts);
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
	    sizeof(err)) == RM_ERR)
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

int64_t task_ctx_attempt_started_at(const struct task_ctx *ctx)
{
	return ctx->step != NULL ? ctx->step->started_at : 0;
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

void task_deadline_restart(struct task_ctx *ctx)
{
	ctx->deadline = time_mono_ms() + eng_type_deadline(ctx->ty);
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
