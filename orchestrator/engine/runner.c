/*
 * runner.c - the step runner: a worker's callback for one task, which runs
 * its steps until the task ends, must stop, or waits (parked, QUEUE_WAIT).
 * See "Waiting" and "Attempts" in task.c.
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
#include "../../common/redact.h"
#include "../../common/util.h"
#include "../store/store.h"
#include "queue.h"
#include "task.h"
#include "task_int.h"

/* ---- the runner ---------------------------------------------------------- */


enum stop_reason eng_stop_reason(struct task_ctx *ctx)
{
	struct task_engine *e = ctx->e;
	if (!ctx->held && atomic_load(&ctx->cancel))
		return STOP_CANCEL;
	if (!ctx->held && atomic_load(&ctx->pause))
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
 * The runner's write lost its compare-and-set: the task was paused or
 * cancelled between the runner's load and its write.  End the attempt
 * and let the queue follow the store (a paused task goes back to it).
 */
static void lost(struct task_ctx *ctx)
{
	memo_end(ctx, true);
	eng_queue_sync(ctx->e, ctx->cluster, ctx->id, true);
}

/* true when a runner's write rc went through; false (after lost() when
 * it lost) when the runner must return. */
static bool wrote(struct task_ctx *ctx, int rc)
{
	if (rc == RM_ECONFLICT)
		lost(ctx);
	return rc == 0;
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
	struct store_transition tr = { .su = &su };
	enum store_task_state actual;
	struct store_task *now;
	int rc;

	switch (why) {
	case STOP_CANCEL:
		memo_end(ctx, true);
		if (sp != NULL) {
			su = eng_su_make(sp, STORE_STEP_CANCELLED, attempts);
			su.finished_at = time_wall_ms();
			/* after memo_end(): a memo's release may have
			 * said what the cancel did on a node */
			su.message = ctx->cancel_note != NULL ?
			    ctx->cancel_note : "cancelled";
			tr.nsu = 1;
		}
		tr.from = STORE_TASK_UNFINISHED;
		tr.to = STORE_TASK_CANCELLED;
		eng_cas(e, t, &tr, NULL);	/* lost: it finished anyway */
		return true;
	case STOP_PAUSE:
		if (sp != NULL) {
			su = eng_su_make(sp, STORE_STEP_PENDING, attempts);
			su.message = "paused";
			tr.nsu = 1;
		}
		/* Only while the pause is still asked for: a resume that
		 * withdrew it first wins. */
		tr.from = STORE_TASK_BIT(STORE_TASK_QUEUED) |
		    STORE_TASK_BIT(STORE_TASK_RUNNING);
		tr.to = STORE_TASK_PAUSED;
		tr.need_pause = true;
		rc = eng_cas(e, t, &tr, &actual);
		if (rc == RM_ECONFLICT && (actual == STORE_TASK_QUEUED ||
		    actual == STORE_TASK_RUNNING)) {
			/* Withdrawn.  The flags follow the store's: cleared,
			 * then read, so a pause asked again meanwhile (store
			 * flag first, then ours) is not lost. */
			atomic_store(&ctx->pause, false);
			if ((now = store_task_load(e->st, t->id)) != NULL) {
				if (now->pause_requested)
					atomic_store(&ctx->pause, true);
				if (now->cancel_requested)
					atomic_store(&ctx->cancel, true);
			}
			store_task_free(now);
			return false;
		}
		/* Paused now (by this write or before it), or finished. */
		memo_end(ctx, true);
		if (rc == 0 || rc == RM_ECONFLICT)
			eng_queue_sync(e, ctx->cluster, ctx->id, true);
		return true;
	case STOP_SHUTDOWN:
		/* The step stays "running" with its attempt: at the next
		 * start it continues as the same attempt (its node jobs are
		 * attached again, not started twice).  A clean stop: its
		 * resume count goes back to 0 (see "Attempts"). */
		memo_end(ctx, false);
		if (sp != NULL) {
			su = eng_su_make(sp, STORE_STEP_RUNNING, attempts);
			su.message = "interrupted by shutdown; resumes at start-up";
			tr.nsu = 1;
			tr.from = STORE_TASK_BIT(STORE_TASK_RUNNING);
			tr.to = -1;
			tr.clear_resumes = true;
			eng_cas(e, t, &tr, NULL);
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
	free(ctx->cancel_note);
	ctx->cancel_note = NULL;
	for (size_t i = 0; i < ctx->nnp; i++) {
		free(ctx->np[i].node);
		free(ctx->np[i].phase);
		free(ctx->np[i].state);
		free(ctx->np[i].message);
	}
	free(ctx->np);
	ctx->np = NULL;
	ctx->nnp = 0;
	free(ctx->partial_step);
	ctx->partial_step = NULL;
	pthread_mutex_unlock(&ctx->pmu);
}

/* A step succeeded: what it said is missing becomes the task's. */
static void partial_keep(struct task_ctx *ctx)
{
	char *p;

	pthread_mutex_lock(&ctx->pmu);
	p = ctx->partial_step;
	ctx->partial_step = NULL;
	pthread_mutex_unlock(&ctx->pmu);
	if (p == NULL)
		return;
	if (ctx->partial == NULL) {
		ctx->partial = p;
		return;
	}
	char *both = xasprintf("%s; %s", ctx->partial, p);
	free(ctx->partial);
	free(p);
	ctx->partial = both;
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

	/* The operator reading the log sees why, not only that it failed. */
	log_warnx("task %s (%s of cluster %s) failed: %s", t->id, ty->name,
	    t->cluster, error);
	if (ty->on_fail != NULL) {
		if (store_task_failing_set(e->st, t->id, idx, error, serr,
		    sizeof(serr)) < 0)
			log_warnx("task %s: cannot record its failure before "
			    "cleanup: %s", t->id, serr);
		ctx->step = NULL;
		ctx->in_fail_hook = true;
		ctx->deadline = time_mono_ms() + eng_type_deadline(ty);
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
	su = eng_su_make(&t->steps[idx], STORE_STEP_FAILED, t->steps[idx].attempts);
	su.finished_at = time_wall_ms();
	su.message = step_msg != NULL ? step_msg : error;
	/* The store drops the hook's intent in the same commit. */
	if (eng_persist(e, t, STORE_TASK_FAILED, full != NULL ? full : error,
	    &su, 1) == RM_ECONFLICT)
		eng_queue_sync(e, ctx->cluster, ctx->id, true);
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
void task_engine_set_fence(struct task_engine *e, task_fence_fn fn,
    void *arg)
{
	e->fence = fn;
	e->fence_arg = arg;
}

/*
 * May a step start?  Without a fence, yes.  When the fence refuses (this
 * orchestrator is not, or cannot prove it still is, the active one) the
 * step is not started: a stale active starts nothing, and the active that
 * follows resumes the task from the store.  Logged on the change only, not
 * at every look.
 */
static bool fence_pass(struct task_ctx *ctx, const char *step)
{
	struct task_engine *e = ctx->e;
	char err[512] = "";

	if (e->fence == NULL)
		return true;
	if (e->fence(e->fence_arg, err, sizeof(err)) == 0) {
		if (atomic_exchange(&e->fenced, false))
			log_info("fence: steps start again (this orchestrator "
			    "holds the lease)");
		return true;
	}
	if (!atomic_exchange(&e->fenced, true))
		log_warnx("fence: task %s: step '%s' not started: %s; no step "
		    "starts until this orchestrator proves it is the active "
		    "one (the active one resumes the task)", ctx->t->id,
		    step, err);
	return false;
}

static bool run_steps(struct task_ctx *ctx)
{
	struct task_engine *e = ctx->e;
	const struct task_type *ty = ctx->ty;
	struct store_task *t = ctx->t;
	struct store_step_update su[2];
	/* Room for a node's whole message (an S3 status, code and reason)
	 * from each of several nodes. */
	char err[2048];

	for (;;) {
		struct store_step *sp;
		enum stop_reason why;
		int rc;

		if (ctx->phase == PH_BACKOFF) {
			if ((why = eng_stop_reason(ctx)) != STOP_NONE &&
			    stop_task(ctx, why, NULL, 0))
				return false;
			if (why == STOP_NONE && time_mono_ms() < ctx->wake_at) {
				eng_park(ctx, ctx->wake_at);
				return true;
			}
			ctx->phase = PH_NEXT;
		}
		if (ctx->phase == PH_NEXT) {
			ctx->cur = next_open(t, ctx->cur);
			if (ctx->cur == t->nsteps) {
				wrote(ctx, eng_persist(e, t, ctx->partial ?
				    STORE_TASK_PARTIAL : STORE_TASK_SUCCEEDED,
				    ctx->partial, NULL, 0));
				return false;
			}
			sp = &t->steps[ctx->cur];
			ctx->held = ty->holds != NULL && ty->holds(sp);
			/* A step "running" here had its start written: with
			 * the previous step's end, or before a crash or a
			 * shutdown.  It continues as that attempt. */
			bool written = sp->state == STORE_STEP_RUNNING &&
			    sp->attempts > 0;
			if ((why = eng_stop_reason(ctx)) != STOP_NONE) {
				if (stop_task(ctx, why, written ? sp : NULL,
				    written ? sp->attempts : 0))
					return false;
				continue;
			}
			/* Refused: the step stays as it is (a resumed one
			 * "running" with its attempt); look again in 1 s. */
			if (!fence_pass(ctx, sp->name)) {
				eng_park(ctx, time_mono_ms() + 1000);
				return true;
			}
			ctx->attempts = written ? sp->attempts : sp->attempts + 1;
			if (!written || t->state != STORE_TASK_RUNNING) {
				su[0] = eng_su_make(sp, STORE_STEP_RUNNING,
				    ctx->attempts);
				su[0].started_at = time_wall_ms();
				su[0].message = "";
				if (!wrote(ctx, eng_persist(e, t, t->state ==
				    STORE_TASK_RUNNING ? -1 : STORE_TASK_RUNNING,
				    NULL, su, 1)))
					return false;
			}
			if (written && ctx->check_resume) {
				int n = 0;

				ctx->check_resume = false;
				if (store_step_resumed(e->st, t->id, sp->idx,
				    &n, err, sizeof(err)) < 0)
					log_warnx("task %s: %s", t->id, err);
				else
					log_info("task %s: step '%s' found "
					    "running at start-up, attempt %d "
					    "(%d of %d starts without a clean "
					    "stop)", t->id, sp->name,
					    ctx->attempts, n, RESUMES_MAX);
				if (n >= RESUMES_MAX) {
					/* Not run again: this attempt ends
					 * as failed, so the attempt limit
					 * applies (see "Attempts"). */
					snprintf(err, sizeof(err), "step '%s' "
					    "was running when the orchestrator "
					    "stopped %d times; it may be what "
					    "stops it (see the orchestrator's "
					    "log)", sp->name, n);
					log_warnx("task %s: %s", t->id, err);
					rc = TASK_STEP_FAIL;
					goto failed;
				}
			}
			step_reset(ctx);
			memo_end(ctx, false);
			ctx->attempt_started = time_mono_ms();
			ctx->deadline = ctx->attempt_started + eng_type_deadline(ty);
			atomic_store(&ctx->last_progress, 0);
			ctx->phase = PH_STEP;
		}

		/* PH_STEP: call the step (again). */
		sp = &t->steps[ctx->cur];
		ctx->step = sp;
		ctx->wake_at = INT64_MAX;
		err[0] = '\0';
		rc = ty->run(ctx, sp, err, sizeof(err));
		/* A step's error is shown to every viewer and logged. */
		redact_buf(err, sizeof(err), NULL, 0);
		ctx->step = NULL;

		if (rc == TASK_STEP_WAIT) {
			int64_t now = time_mono_ms(), at = ctx->wake_at;
			if (at == INT64_MAX)
				at = now + DEFAULT_WAIT_MS;
			if (now < ctx->deadline + DEADLINE_GRACE_MS) {
				if (at > ctx->deadline && now < ctx->deadline)
					at = ctx->deadline;
				eng_park(ctx, at);
				return true;
			}
			rc = TASK_STEP_FAIL;	/* overran: ended below */
		}
		if (rc == TASK_STEP_OK) {
			size_t j = next_open(t, ctx->cur + 1), n = 1;
			su[0] = eng_su_make(sp, STORE_STEP_SUCCEEDED, ctx->attempts);
			su[0].finished_at = time_wall_ms();
			su[0].next_attempt_at = 0;
			/* The step's true last word, not the last one the
			 * throttle let through. */
			su[0].message = ctx->last_msg;
			partial_keep(ctx);
			memo_end(ctx, false);
			ctx->phase = PH_NEXT;
			if (j == t->nsteps) {
				eng_finish_async(ctx, &su[0]);
				return false;
			}
			/* End this step and start the next in one write,
			 * unless a stop is asked before it. */
			ctx->held = ty->holds != NULL && ty->holds(&t->steps[j]);
			if (eng_stop_reason(ctx) == STOP_NONE &&
			    fence_pass(ctx, t->steps[j].name)) {
				su[1] = eng_su_make(&t->steps[j], STORE_STEP_RUNNING,
				    t->steps[j].attempts + 1);
				su[1].started_at = su[0].finished_at;
				su[1].message = "";
				n = 2;
			}
			if (!wrote(ctx, eng_persist(e, t, -1, NULL, su, n)))
				return false;
			ctx->cur = j;
			continue;
		}

		why = eng_stop_reason(ctx);
		if (why != STOP_NONE) {
			if (stop_task(ctx, why, sp, ctx->attempts))
				return false;
			ctx->phase = PH_NEXT;	/* pause withdrawn: again */
			continue;
		}
		memo_end(ctx, true);
		if (time_mono_ms() >= ctx->deadline)
			snprintf(err, sizeof(err), "deadline of %" PRId64
			    " ms exceeded", eng_type_deadline(ty));
		else if (err[0] == '\0')
			snprintf(err, sizeof(err), "%s", rc == TASK_STEP_STOP ?
			    "step stopped without a reason" : "step failed");
failed:
		ctx->step = NULL;
		if (rc == TASK_STEP_FATAL || ctx->attempts >=
		    eng_task_attempts(ty, ctx->t->params)) {
			char *msg = xasprintf("step '%s'%s%s failed after %d "
			    "attempt%s: %s", sp->name, sp->node ? " on " : "",
			    sp->node ? sp->node : "", ctx->attempts,
			    ctx->attempts == 1 ? "" : "s", err);
			sp->attempts = ctx->attempts;
			fail_task(ctx, ty, sp->idx, msg, err);
			free(msg);
			return false;
		}
		int64_t delay = eng_backoff_ms(ty, ctx->attempts);
		su[0] = eng_su_make(sp, STORE_STEP_PENDING, ctx->attempts);
		su[0].next_attempt_at = time_wall_ms() + delay;
		su[0].message = err;
		if (!wrote(ctx, eng_persist(e, t, -1, NULL, su, 1)))
			return false;
		log_info("task %s: step '%s' attempt %d failed (%s); retry in "
		    "%" PRId64 " ms", t->id, sp->name, ctx->attempts, err, delay);
		ctx->phase = PH_BACKOFF;
		ctx->wake_at = time_mono_ms() + delay;
		eng_park(ctx, ctx->wake_at);
		return true;
	}
}

void eng_ctx_free(struct task_ctx *ctx)
{
	if (ctx == NULL)
		return;
	memo_end(ctx, false);
	step_reset(ctx);
	free(ctx->partial);
	pthread_mutex_destroy(&ctx->pmu);
	store_task_free(ctx->t);
	free(ctx);
}

enum queue_result eng_run_task(const char *cluster, const char *id,
    void *arg)
{
	struct task_engine *e = arg;
	struct task_ctx *ctx;
	const struct task_type *ty;
	struct store_task *t;

	if ((ctx = eng_ctx_unpark(e, id)) != NULL) {
		if (atomic_load(&e->stopping))
			return QUEUE_WAIT;	/* left for the next start */
		return run_steps(ctx) ? QUEUE_WAIT : (eng_ctx_unregister(ctx),
		    eng_ctx_free(ctx), QUEUE_DONE);
	}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->e = e;
	str_copy(ctx->id, id, sizeof(ctx->id));
	str_copy(ctx->cluster, cluster, sizeof(ctx->cluster));
	atomic_init(&ctx->cancel, false);
	atomic_init(&ctx->pause, false);
	atomic_init(&ctx->last_progress, 0);
	pthread_mutex_init(&ctx->pmu, NULL);
	eng_ctx_register(ctx);		/* before the load: see the design */

	if ((t = eng_ho_take(e, id)) == NULL)
		t = store_task_load(e->st, id);
	if (t == NULL || store_task_state_terminal(t->state)) {
		store_task_free(t);
		goto out;
	}
	ctx->t = t;
	/* Loaded "running": the orchestrator stopped while it ran (a task
	 * just handed off is queued). */
	ctx->check_resume = t->state == STORE_TASK_RUNNING;
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
		eng_persist(e, t, STORE_TASK_FAILED, msg, NULL, 0);
		free(msg);
		goto out;
	}
	ctx->ty = ty;
	ctx->phase = PH_NEXT;
	if (run_steps(ctx))
		return QUEUE_WAIT;
out:
	eng_ctx_unregister(ctx);
	eng_ctx_free(ctx);
	return QUEUE_DONE;
}
