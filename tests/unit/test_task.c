/*
 * test_task.c - the task engine on a real store: noop, validation, serial
 * per cluster, retries with backoff, cancel/pause/resume of queued and
 * running tasks, resume after a simulated crash, shutdown and restart,
 * cluster deletion, the observer.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../common/util.h"
#include "../../orchestrator/service/service_json.h"
#include "../../orchestrator/store/store.h"
#include "../../orchestrator/engine/params.h"
#include "../../orchestrator/engine/task.h"
#include "t.h"

static char dir[] = "/tmp/test_task.XXXXXX";
static int ndb;
static struct task_engine *eng;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* A fresh store with clusters c1 and c2 (c1 has two nodes). */
static struct store *fresh_store(void)
{
	char path[256], err[256];
	struct store *st;

	snprintf(path, sizeof(path), "%s/s%d.db", dir, ndb++);
	st = store_open(path, err, sizeof(err));
	if (st == NULL) {
		fprintf(stderr, "store_open: %s\n", err);
		exit(1);
	}
	const char *names[] = { "c1", "c2" };
	for (size_t i = 0; i < 2; i++) {
		struct store_cluster c = {
			.name = names[i], .storage_url = "file:///tmp/x",
			.ssh_user = "u", .ssh_key_file = "/k",
		};
		store_cluster_create(st, &c, err, sizeof(err));
	}
	const char *addrs[] = { "10.0.0.1", "10.0.0.2" };
	for (size_t i = 0; i < 2; i++) {
		struct store_node n = {
			.cluster = "c1", .address = addrs[i], .state = "up",
			.last_heartbeat = -1, .load_bytes = -1, .is_seed = -1,
		};
		store_node_upsert(st, &n, NULL, err, sizeof(err));
	}
	return st;
}

static void engine_up(struct store *st, int workers, bool start)
{
	char err[256] = "";

	eng = task_engine_new(st, workers, err, sizeof(err));
	T_CHECK(eng != NULL, "task_engine_new: %s", err);
	if (eng == NULL)
		exit(1);
	T_EQ_INT(task_resume_all(eng, err, sizeof(err)), 0);
	if (start)
		T_EQ_INT(task_start(eng, err, sizeof(err)), 0);
}

static int submit(const char *cluster, const char *params_json, char *id)
{
	char err[256] = "";
	json_t *p = params_json ? json_loads(params_json, 0, NULL) : NULL;
	int rc = task_submit(eng, cluster, "noop", p, id, err, sizeof(err));

	json_decref(p);
	return rc;
}

/* The task as the API shows it (steps with their nodes), or NULL. */
static json_t *task_json(struct store *st, const char *id)
{
	struct store_task_detail d;
	json_t *j = NULL;

	if (store_task_get(st, id, &d) == 0)
		j = svc_json_task_detail(&d);
	store_task_detail_release(&d);
	return j;
}

static enum store_task_state state_of(struct store *st, const char *id)
{
	struct store_task *t = store_task_load(st, id);
	enum store_task_state s = t ? t->state : STORE_TASK_FAILED;

	store_task_free(t);
	return s;
}

static bool wait_state(struct store *st, const char *id,
    enum store_task_state want, int ms)
{
	int64_t end = time_mono_ms() + ms;

	while (time_mono_ms() < end) {
		if (state_of(st, id) == want)
			return true;
		sleep_ms(5);
	}
	return state_of(st, id) == want;
}

/* ---- observer ------------------------------------------------------------ */

/* Runs on worker threads: count only; the main thread checks. */
static atomic_int obs_count[STORE_TASK_NSTATES], obs_bad;

static void observer(const struct task_event *ev, void *arg)
{
	(void)arg;
	if (ev->id == NULL || ev->cluster == NULL || ev->type == NULL ||
	    (ev->to == STORE_TASK_SUCCEEDED && (ev->finished_at == 0 ||
	    ev->started_at == 0)))
		atomic_fetch_add(&obs_bad, 1);
	atomic_fetch_add(&obs_count[ev->to], 1);
}

/* ---- waiting holds no worker --------------------------------------------- */

/* A re-entrant step: waits twice, keeping a count in its memo; the memo's
 * abandon hook counts cancels of what it "left running". */
static atomic_int wait_calls, wait_abandons, wait_releases;

static void wmemo_release(void *p)
{
	free(p);
	atomic_fetch_add(&wait_releases, 1);
}

static void wmemo_abandon(struct task_ctx *ctx, void *p)
{
	(void)ctx;
	(void)p;
	atomic_fetch_add(&wait_abandons, 1);
}

static int waiter_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	int *n = task_memo(ctx, "w");
	json_int_t rounds = json_integer_value(json_object_get(
	    task_ctx_params(ctx), "rounds"));

	(void)step;
	(void)err;
	(void)errlen;
	atomic_fetch_add(&wait_calls, 1);
	if (task_checkpoint(ctx))
		return TASK_STEP_STOP;
	if (!task_ctx_can_wait(ctx))
		return TASK_STEP_FATAL;
	if (n == NULL) {
		n = xcalloc(1, sizeof(*n));
		task_memo_put(ctx, "w", n, wmemo_release, wmemo_abandon);
	}
	if ((*n)++ < rounds)
		return task_wait(ctx, 100);
	return TASK_STEP_OK;
}

static int waiter_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	(void)params;
	(void)nodes;
	(void)err;
	(void)errlen;
	task_plan_add(plan, "wait", NULL);
	return 0;
}

static const struct param_spec waiter_params[] = {
	{ "rounds", PT_INT, 0, 10000000, NULL, NULL, 0, "waits before done" },
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static const struct task_type waiter_type = {
	.name = "waiter", .plan = waiter_plan, .run = waiter_run,
	.params = waiter_params,
};

static void test_waiting(void)
{
	struct store *st = fresh_store();
	char ids[12][STORE_ID_MAX], err[256], name[16], w[STORE_ID_MAX];
	int64_t first_end = INT64_MAX, last_start = 0;
	json_t *p;

	/* 12 clusters, one 1.5 s noop each, on 4 workers. */
	for (int i = 0; i < 12; i++) {
		struct store_cluster c = {
			.name = name, .storage_url = "file:///tmp/x",
			.ssh_user = "u", .ssh_key_file = "/k",
		};
		snprintf(name, sizeof(name), "w%d", i);
		T_EQ_INT(store_cluster_create(st, &c, err, sizeof(err)), 0);
	}
	engine_up(st, 4, false);
	T_EQ_INT(task_type_register(eng, &waiter_type), 0);
	T_EQ_INT(task_start(eng, err, sizeof(err)), 0);
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		T_EQ_INT(submit(name, "{\"duration_s\": 1.5}", ids[i]), 0);
	}
	for (int i = 0; i < 12; i++)
		T_CHECK(wait_state(st, ids[i], STORE_TASK_SUCCEEDED, 20000),
		    "task %d", i);
	/* All twelve waited at the same time: every one started before
	 * any ended, which four workers holding their tasks cannot do. */
	for (int i = 0; i < 12; i++) {
		struct store_task *t = store_task_load(st, ids[i]);
		T_CHECK(t != NULL, "load %d", i);
		if (t == NULL)
			continue;
		if (t->started_at > last_start)
			last_start = t->started_at;
		if (t->finished_at < first_end)
			first_end = t->finished_at;
		T_EQ_INT(t->steps[0].attempts, 1);
		store_task_free(t);
	}
	T_CHECK(last_start < first_end, "last start %lld, first end %lld",
	    (long long)last_start, (long long)first_end);
	T_EQ_INT(task_waiting(eng), 0);

	/* While waiting, a task holds no worker and its cluster runs
	 * nothing else; a cancel reaches it at once, abandoning its memo. */
	p = json_pack("{s:i}", "rounds", 1000000);
	T_EQ_INT(task_submit(eng, "w0", "waiter", p, w, err, sizeof(err)), 0);
	json_decref(p);
	T_EQ_INT(submit("w0", "{}", ids[0]), 0);
	T_CHECK(wait_state(st, w, STORE_TASK_RUNNING, 5000), "waiter runs");
	int64_t end = time_mono_ms() + 5000;
	while (task_waiting(eng) != 1 && time_mono_ms() < end)
		sleep_ms(5);
	T_EQ_INT(task_waiting(eng), 1);
	T_EQ_INT(task_busy_workers(eng), 0);
	T_EQ_INT(state_of(st, ids[0]), STORE_TASK_QUEUED);	/* serial */
	T_CHECK(atomic_load(&wait_calls) >= 1, "called");
	T_EQ_INT(task_cancel(eng, w, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, w, STORE_TASK_CANCELLED, 5000), "cancelled");
	T_EQ_INT(atomic_load(&wait_abandons), 1);
	T_EQ_INT(atomic_load(&wait_releases), 1);
	T_CHECK(wait_state(st, ids[0], STORE_TASK_SUCCEEDED, 5000), "next");

	/* A short re-entrant step: called rounds + 1 times, one attempt,
	 * memo released once and never abandoned. */
	atomic_store(&wait_calls, 0);
	p = json_pack("{s:i}", "rounds", 3);
	T_EQ_INT(task_submit(eng, "w1", "waiter", p, w, err, sizeof(err)), 0);
	json_decref(p);
	T_CHECK(wait_state(st, w, STORE_TASK_SUCCEEDED, 5000), "rounds");
	T_EQ_INT(atomic_load(&wait_calls), 4);
	T_EQ_INT(atomic_load(&wait_abandons), 1);
	T_EQ_INT(atomic_load(&wait_releases), 2);

	/* Pause while waiting: the attempt ends (abandoned); resume starts
	 * attempt 2. */
	p = json_pack("{s:i}", "rounds", 1000000);
	T_EQ_INT(task_submit(eng, "w2", "waiter", p, w, err, sizeof(err)), 0);
	json_decref(p);
	T_CHECK(wait_state(st, w, STORE_TASK_RUNNING, 5000), "runs");
	sleep_ms(150);
	T_EQ_INT(task_pause(eng, w, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, w, STORE_TASK_PAUSED, 5000), "paused");
	T_EQ_INT(atomic_load(&wait_abandons), 2);
	T_EQ_INT(task_resume(eng, w, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, w, STORE_TASK_RUNNING, 5000), "resumed");
	sleep_ms(150);
	T_EQ_INT(task_cancel(eng, w, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, w, STORE_TASK_CANCELLED, 5000), "cancel 2");
	struct store_task *t = store_task_load(st, w);
	T_CHECK(t != NULL && t->steps[0].attempts == 2, "attempt 2");
	store_task_free(t);
	task_engine_free(eng);
	store_close(st);
}

/* Two engines on two stores in one process: nothing is shared. */
static void test_two_engines(void)
{
	struct store *sa = fresh_store(), *sb = fresh_store();
	struct task_engine *a, *b;
	char err[256], ia[STORE_ID_MAX], ib[STORE_ID_MAX];
	json_t *p = json_pack("{s:i}", "rounds", 2);

	a = task_engine_new(sa, 1, err, sizeof(err));
	b = task_engine_new(sb, 1, err, sizeof(err));
	T_CHECK(a != NULL && b != NULL && a != b, "two engines");
	if (a == NULL || b == NULL)
		exit(1);
	T_EQ_INT(task_type_register(a, &waiter_type), 0);
	T_CHECK(task_type_find(a, "waiter") != NULL, "a has waiter");
	T_CHECK(task_type_find(b, "waiter") == NULL, "b has no waiter");
	T_EQ_INT(task_start(a, err, sizeof(err)), 0);
	T_EQ_INT(task_start(b, err, sizeof(err)), 0);
	T_EQ_INT(task_submit(a, "c1", "waiter", p, ia, err, sizeof(err)), 0);
	T_EQ_INT(task_submit(b, "c1", "waiter", p, ib, err, sizeof(err)),
	    RM_EINVAL);
	T_EQ_INT(task_submit(b, "c1", "noop", NULL, ib, err, sizeof(err)), 0);
	T_CHECK(wait_state(sa, ia, STORE_TASK_SUCCEEDED, 5000), "a's task");
	T_CHECK(wait_state(sb, ib, STORE_TASK_SUCCEEDED, 5000), "b's task");
	/* each store holds only its own engine's task (ids come from the
	 * clock, so both may even be the same id) */
	struct store_task *ta = store_task_load(sa, ia), *tb = store_task_load(sb, ib);
	T_CHECK(ta != NULL && strcmp(ta->type, "waiter") == 0, "a's task in a");
	T_CHECK(tb != NULL && strcmp(tb->type, "noop") == 0, "b's task in b");
	store_task_free(ta);
	store_task_free(tb);
	tb = store_task_load(sb, ia);
	T_CHECK(tb == NULL || strcmp(tb->type, "noop") == 0, "no waiter in b");
	store_task_free(tb);
	T_CHECK(task_engine_store(a) == sa && task_engine_store(b) == sb,
	    "stores");
	json_decref(p);
	task_engine_free(a);
	task_engine_free(b);
	store_close(sa);
	store_close(sb);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_noop_and_validation(void)
{
	struct store *st = fresh_store();
	char id[STORE_ID_MAX], err[256];
	struct store_task *t;
	json_t *p;

	for (int i = 0; i < STORE_TASK_NSTATES; i++)
		atomic_store(&obs_count[i], 0);
	engine_up(st, 2, false);
	task_set_observer(eng, observer, NULL);
	T_EQ_INT(task_start(eng, err, sizeof(err)), 0);

	static const struct {
		const char *params;
		int rc;
	} cases[] = {
		{ NULL, 0 },
		{ "{}", 0 },
		{ "{\"duration_s\": 0.01, \"steps\": 3}", 0 },
		{ "{\"steps\": 0}", RM_EINVAL },
		{ "{\"steps\": 1001}", RM_EINVAL },
		{ "{\"steps\": \"3\"}", RM_EINVAL },
		{ "{\"duration_s\": -1}", RM_EINVAL },
		{ "{\"duration_s\": \"1\"}", RM_EINVAL },
		{ "{\"bogus\": 1}", RM_EINVAL },
		{ "{\"per_node\": 1}", RM_EINVAL },
		{ "[]", RM_EINVAL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		T_CHECK(submit("c1", cases[i].params, id) == cases[i].rc,
		    "params %s", cases[i].params ? cases[i].params : "NULL");
	T_EQ_INT(submit("ghost", "{}", id), RM_ENOENT);
	T_EQ_INT(task_submit(eng, "c1", "bogus", NULL, id, err, sizeof(err)),
	    RM_EINVAL);
	T_CHECK(strstr(err, "unknown task type") != NULL, "err '%s'", err);

	/* Three steps, fan-out per node: 3 x 2 steps. */
	T_EQ_INT(submit("c1", "{\"steps\": 3, \"per_node\": true}", id), 0);
	T_CHECK(wait_state(st, id, STORE_TASK_SUCCEEDED, 5000), "not done");
	t = store_task_load(st, id);
	T_EQ_INT(t->nsteps, 6);
	T_EQ_STR(t->steps[1].node, "10.0.0.2");
	T_EQ_STR(t->steps[2].name, "noop-2");
	bool all = true;
	for (size_t i = 0; i < t->nsteps; i++)
		if (t->steps[i].state != STORE_STEP_SUCCEEDED ||
		    t->steps[i].attempts != 1 || t->steps[i].started_at == 0 ||
		    t->steps[i].finished_at < t->steps[i].started_at)
			all = false;
	T_CHECK(all, "a step did not succeed once");
	T_CHECK(t->started_at > 0 && t->finished_at >= t->started_at,
	    "task times");
	/* The defaults were filled in by the validator and stored. */
	T_EQ_INT(json_integer_value(json_object_get(t->params, "steps")), 3);
	store_task_free(t);
	p = task_json(st, id);
	T_EQ_INT(json_integer_value(json_object_get(json_object_get(p,
	    "progress"), "done")), 6);
	json_decref(p);
	T_EQ_INT(task_validate(eng, "noop", NULL, err, sizeof(err)), RM_EINVAL);

	task_engine_free(eng);
	/* 4 tasks submitted, all ran: observer saw 4 queued, 4 running,
	 * 4 succeeded (wait: the ones from the table also ran). */
	T_EQ_INT(atomic_load(&obs_count[STORE_TASK_SUCCEEDED]), 4);
	T_EQ_INT(atomic_load(&obs_count[STORE_TASK_RUNNING]), 4);
	T_EQ_INT(atomic_load(&obs_count[STORE_TASK_QUEUED]), 4);
	T_EQ_INT(atomic_load(&obs_bad), 0);
	store_close(st);
}

static void test_serial_and_parallel(void)
{
	struct store *st = fresh_store();
	char a[5][STORE_ID_MAX], b[STORE_ID_MAX];
	struct store_task *ta[5], *tb;

	engine_up(st, 2, true);
	for (int i = 0; i < 5; i++)
		T_EQ_INT(submit("c1", "{\"duration_s\": 0.05}", a[i]), 0);
	T_EQ_INT(submit("c2", "{\"duration_s\": 0.05}", b), 0);
	T_CHECK(wait_state(st, a[4], STORE_TASK_SUCCEEDED, 5000), "a4");
	T_CHECK(wait_state(st, b, STORE_TASK_SUCCEEDED, 5000), "b");
	for (int i = 0; i < 5; i++)
		ta[i] = store_task_load(st, a[i]);
	tb = store_task_load(st, b);
	bool serial = true;
	for (int i = 1; i < 5; i++)
		if (ta[i]->started_at < ta[i - 1]->finished_at)
			serial = false;
	T_CHECK(serial, "tasks of c1 overlapped");
	/* b ran beside c1's first task, not after all five. */
	T_CHECK(tb->started_at < ta[1]->finished_at,
	    "c2 waited behind c1 (b started %lld, a1 finished %lld)",
	    (long long)tb->started_at, (long long)ta[1]->finished_at);
	for (int i = 0; i < 5; i++)
		store_task_free(ta[i]);
	store_task_free(tb);
	task_engine_free(eng);
	store_close(st);
}

/* A type that fails a set number of attempts, fast backoff. */
static atomic_int flaky_calls;

static int flaky_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	(void)params;
	(void)nodes;
	(void)err;
	(void)errlen;
	task_plan_add(plan, "flaky", NULL);
	return 0;
}

static int flaky_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	json_int_t fail = json_integer_value(json_object_get(
	    task_ctx_params(ctx), "fail"));
	bool fatal = json_is_true(json_object_get(task_ctx_params(ctx),
	    "fatal"));

	atomic_fetch_add(&flaky_calls, 1);
	if (step->attempts <= fail) {
		snprintf(err, errlen, "boom %d", step->attempts);
		return fatal ? TASK_STEP_FATAL : TASK_STEP_FAIL;
	}
	return TASK_STEP_OK;
}

static const struct param_spec flaky_params[] = {
	{ "fail", PT_INT, 0, 100, NULL, NULL, 0, "attempts that fail" },
	{ "fatal", PT_BOOL, 0, 0, NULL, NULL, 0, "fail without retries" },
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static const struct task_type flaky_type = {
	.name = "flaky", .plan = flaky_plan, .run = flaky_run,
	.params = flaky_params,
	.max_attempts = 3, .backoff_base_ms = 40, .backoff_max_ms = 1000,
};

/* A step that only ends when its deadline makes checkpoints true. */
static atomic_int slow_early;

static int slow_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	(void)step;
	(void)err;
	(void)errlen;
	while (!task_checkpoint(ctx))
		sleep_ms(5);
	if (task_ctx_deadline_left(ctx) > 0)
		atomic_fetch_add(&slow_early, 1);
	return TASK_STEP_STOP;
}

static const struct task_type slow_type = {
	.name = "slow", .plan = flaky_plan, .run = slow_run,
	.max_attempts = 2, .backoff_base_ms = 10, .step_deadline_ms = 50,
};

/*
 * A step that reports progress from several threads at once, as the
 * backup's per-node upload threads do.  Within one throttle period
 * exactly one call may write, and it must be a first call of its thread.
 */
#define CHATTY_THREADS	8
#define CHATTY_CALLS	300
static atomic_int chatty_bad;
static char chatty_seen[128];

struct chatty_arg {
	struct task_ctx *ctx;
	int n;
};

static void *chatty_main(void *arg)
{
	struct chatty_arg *a = arg;

	for (int i = 0; i < CHATTY_CALLS; i++)
		task_progress(a->ctx, "node-%d call %d", a->n, i);
	return NULL;
}

static int chatty_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	pthread_t th[CHATTY_THREADS];
	struct chatty_arg args[CHATTY_THREADS];
	struct store_task *t;
	const char *m;

	(void)err;
	(void)errlen;
	for (int i = 0; i < CHATTY_THREADS; i++) {
		args[i] = (struct chatty_arg){ .ctx = ctx, .n = i };
		pthread_create(&th[i], NULL, chatty_main, &args[i]);
	}
	for (int i = 0; i < CHATTY_THREADS; i++)
		pthread_join(th[i], NULL);
	t = store_task_load(task_ctx_store(ctx), task_ctx_id(ctx));
	m = t ? t->steps[step->idx].message : NULL;
	snprintf(chatty_seen, sizeof(chatty_seen), "%s", m ? m : "(null)");
	if (m == NULL || strncmp(m, "node-", 5) != 0 ||
	    strcmp(m + strlen(m) - 7, " call 0") != 0)
		atomic_fetch_add(&chatty_bad, 1);
	store_task_free(t);
	/* The next period writes again, from any thread. */
	if (!task_sleep(ctx, 520))
		return TASK_STEP_STOP;
	task_progress(ctx, "all %d nodes done", CHATTY_THREADS);
	/* Throttled now, but the step's last word all the same. */
	task_progress(ctx, "all %d nodes done, final", CHATTY_THREADS);
	return TASK_STEP_OK;
}

static const struct task_type chatty_type = {
	.name = "chatty", .plan = flaky_plan, .run = chatty_run,
};

/*
 * Held steps (task_type.holds): "down" takes a node down, "back" brings it
 * back; a pause or cancel asked in "down" waits until "back" ended and
 * stops the task before "next".  Each step sleeps 300 ms through
 * task_sleep(), which a checkpoint would cut short.
 */
static atomic_int held_cut;

static int held_plan(const json_t *params, const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	(void)params; (void)nodes; (void)err; (void)errlen;
	task_plan_add(plan, "down", NULL);
	task_plan_add(plan, "back", NULL);
	task_plan_add(plan, "next", NULL);
	return 0;
}

static int held_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	(void)err; (void)errlen;
	if (!task_sleep(ctx, 300)) {
		if (strcmp(step->name, "next") != 0)
			atomic_fetch_add(&held_cut, 1);
		return TASK_STEP_STOP;
	}
	return TASK_STEP_OK;
}

static bool held_holds(const struct store_step *step)
{
	return strcmp(step->name, "next") != 0;
}

static const struct task_type held_type = {
	.name = "held", .plan = held_plan, .run = held_run,
	.holds = held_holds,
};

/*
 * task_partial(): steps "first" and "last"; param "say" is a bit per step
 * that says part of the work is missing; "fail_once" makes a step that
 * said it fail its first attempt (the next one says nothing).
 */
static int part_plan(const json_t *params, const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	(void)params; (void)nodes; (void)err; (void)errlen;
	task_plan_add(plan, "first", NULL);
	task_plan_add(plan, "last", NULL);
	return 0;
}

static int part_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	json_int_t say = json_integer_value(json_object_get(
	    task_ctx_params(ctx), "say"));
	bool fail_once = json_is_true(json_object_get(task_ctx_params(ctx),
	    "fail_once"));
	int bit = strcmp(step->name, "first") == 0 ? 1 : 2;

	if ((say & bit) == 0)
		return TASK_STEP_OK;
	if (fail_once && step->attempts > 1)
		return TASK_STEP_OK;
	task_partial(ctx, "%s left %d ranges", step->name, bit);
	if (fail_once) {
		snprintf(err, errlen, "boom");
		return TASK_STEP_FAIL;
	}
	return TASK_STEP_OK;
}

static const struct param_spec part_params[] = {
	{ "say", PT_INT, 0, 3, NULL, NULL, 0, "steps that say partial" },
	{ "fail_once", PT_BOOL, 0, 0, NULL, NULL, 0, "then fail once" },
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static const struct task_type part_type = {
	.name = "part", .plan = part_plan, .run = part_run,
	.params = part_params,
	.max_attempts = 3, .backoff_base_ms = 20, .backoff_max_ms = 100,
};

static int submit_type(const char *type, const char *params, char *id)
{
	char err[256];
	json_t *p = json_loads(params, 0, NULL);
	int rc = task_submit(eng, "c1", type, p, id, err, sizeof(err));

	json_decref(p);
	return rc;
}

static void test_retries(void)
{
	struct store *st = fresh_store();
	char id[STORE_ID_MAX], err[256];
	struct store_task *t;
	int64_t t0;

	engine_up(st, 1, false);
	T_EQ_INT(task_type_register(eng, &flaky_type), 0);
	T_EQ_INT(task_type_register(eng, &flaky_type), RM_EINVAL);
	T_EQ_INT(task_type_register(eng, &slow_type), 0);
	T_EQ_INT(task_start(eng, err, sizeof(err)), 0);

	/* Two failures then success: 3 attempts, >= 20 + 40 ms of backoff. */
	t0 = time_mono_ms();
	T_EQ_INT(submit_type("flaky", "{\"fail\": 2}", id), 0);
	T_CHECK(wait_state(st, id, STORE_TASK_SUCCEEDED, 5000), "flaky");
	T_CHECK(time_mono_ms() - t0 >= 60, "backoff too short: %lld ms",
	    (long long)(time_mono_ms() - t0));
	t = store_task_load(st, id);
	T_EQ_INT(t->steps[0].attempts, 3);
	T_EQ_INT(t->steps[0].state, STORE_STEP_SUCCEEDED);
	store_task_free(t);

	/* Always failing: stops at max_attempts, the task says why. */
	atomic_store(&flaky_calls, 0);
	T_EQ_INT(submit_type("flaky", "{\"fail\": 99}", id), 0);
	T_CHECK(wait_state(st, id, STORE_TASK_FAILED, 5000), "not failed");
	T_EQ_INT(atomic_load(&flaky_calls), 3);
	t = store_task_load(st, id);
	T_EQ_INT(t->steps[0].attempts, 3);
	T_EQ_INT(t->steps[0].state, STORE_STEP_FAILED);
	T_CHECK(t->error && strstr(t->error, "after 3 attempts: boom 3"),
	    "error '%s'", t->error ? t->error : "(null)");
	store_task_free(t);

	/* Fatal: no retry. */
	atomic_store(&flaky_calls, 0);
	T_EQ_INT(submit_type("flaky", "{\"fail\": 9, \"fatal\": true}", id), 0);
	T_CHECK(wait_state(st, id, STORE_TASK_FAILED, 5000), "fatal");
	T_EQ_INT(atomic_load(&flaky_calls), 1);

	/* Deadline: each attempt is cut at 50 ms, two attempts. */
	T_EQ_INT(submit_type("slow", "{}", id), 0);
	T_CHECK(wait_state(st, id, STORE_TASK_FAILED, 5000), "slow");
	t = store_task_load(st, id);
	T_EQ_INT(t->steps[0].attempts, 2);
	T_CHECK(t->error && strstr(t->error, "deadline"), "error '%s'",
	    t->error ? t->error : "(null)");
	T_EQ_INT(atomic_load(&slow_early), 0);
	store_task_free(t);

	/* noop's own failure injection goes through the same path. */
	T_EQ_INT(submit("c1", "{\"fail_attempts\": 1}", id), 0);
	T_CHECK(wait_state(st, id, STORE_TASK_SUCCEEDED, 5000), "noop retry");
	t = store_task_load(st, id);
	T_EQ_INT(t->steps[0].attempts, 2);
	store_task_free(t);
	task_engine_free(eng);
	store_close(st);
}

static void test_progress_threads(void)
{
	struct store *st = fresh_store();
	char id[STORE_ID_MAX], err[256];
	struct store_task *t;

	engine_up(st, 2, false);
	T_EQ_INT(task_type_register(eng, &chatty_type), 0);
	T_EQ_INT(task_start(eng, err, sizeof(err)), 0);
	T_EQ_INT(submit_type("chatty", "{}", id), 0);
	T_CHECK(wait_state(st, id, STORE_TASK_SUCCEEDED, 5000), "chatty");
	T_CHECK(atomic_load(&chatty_bad) == 0, "first period wrote '%s'",
	    chatty_seen);
	t = store_task_load(st, id);
	T_CHECK(t != NULL && t->steps[0].message != NULL, "message");
	if (t != NULL && t->steps[0].message != NULL)
		T_EQ_STR(t->steps[0].message, "all 8 nodes done, final");
	store_task_free(t);
	task_engine_free(eng);
	store_close(st);
}

static enum store_step_state step_state(struct store *st, const char *id,
    size_t i)
{
	struct store_task *t = store_task_load(st, id);
	enum store_step_state v = t != NULL && i < t->nsteps ?
	    t->steps[i].state : STORE_STEP_PENDING;

	store_task_free(t);
	return v;
}

static bool wait_step(struct store *st, const char *id, size_t i,
    enum store_step_state want, int ms)
{
	int64_t end = time_mono_ms() + ms;

	while (time_mono_ms() < end) {
		if (step_state(st, id, i) == want)
			return true;
		sleep_ms(5);
	}
	return step_state(st, id, i) == want;
}

static void test_held_steps(void)
{
	struct store *st = fresh_store();
	char a[STORE_ID_MAX], b[STORE_ID_MAX], err[256];

	engine_up(st, 2, false);
	T_EQ_INT(task_type_register(eng, &held_type), 0);
	T_EQ_INT(task_start(eng, err, sizeof(err)), 0);

	/* Paused in "down": "down" and "back" end, "next" never starts. */
	T_EQ_INT(submit_type("held", "{}", a), 0);
	T_CHECK(wait_state(st, a, STORE_TASK_RUNNING, 2000), "held a running");
	sleep_ms(100);
	T_EQ_INT(task_pause(eng, a, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, a, STORE_TASK_PAUSED, 3000), "held a paused");
	T_EQ_INT(step_state(st, a, 0), STORE_STEP_SUCCEEDED);
	T_EQ_INT(step_state(st, a, 1), STORE_STEP_SUCCEEDED);
	T_CHECK(step_state(st, a, 2) != STORE_STEP_SUCCEEDED,
	    "'next' ran through a pause");
	T_EQ_INT(task_resume(eng, a, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, a, STORE_TASK_SUCCEEDED, 3000), "held a resumed");

	/* Cancelled in "back": it ends, then the task is cancelled. */
	T_EQ_INT(submit_type("held", "{}", b), 0);
	T_CHECK(wait_step(st, b, 1, STORE_STEP_RUNNING, 3000), "held b back");
	T_EQ_INT(task_cancel(eng, b, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, b, STORE_TASK_CANCELLED, 3000), "held b cancelled");
	T_EQ_INT(step_state(st, b, 1), STORE_STEP_SUCCEEDED);
	T_CHECK(step_state(st, b, 2) != STORE_STEP_SUCCEEDED,
	    "'next' ran through a cancel");
	T_EQ_INT(atomic_load(&held_cut), 0);
	task_engine_free(eng);
	store_close(st);
}

/* A step says part of the work is missing: the task ends partial. */
static void test_partial(void)
{
	static const struct {
		const char *params;
		enum store_task_state want;
		const char *error;
	} cases[] = {
		{ "{}", STORE_TASK_SUCCEEDED, NULL },
		{ "{\"say\": 2}", STORE_TASK_PARTIAL, "last left 2 ranges" },
		/* said by an earlier step, carried to the end */
		{ "{\"say\": 1}", STORE_TASK_PARTIAL, "first left 1 ranges" },
		{ "{\"say\": 3}", STORE_TASK_PARTIAL,
		  "first left 1 ranges; last left 2 ranges" },
		/* said by an attempt that failed: forgotten with it */
		{ "{\"say\": 2, \"fail_once\": true}", STORE_TASK_SUCCEEDED,
		  NULL },
	};
	struct store *st = fresh_store();
	char id[ARRAY_SIZE(cases)][STORE_ID_MAX], err[256];

	engine_up(st, 2, false);
	T_EQ_INT(task_type_register(eng, &part_type), 0);
	T_EQ_INT(task_start(eng, err, sizeof(err)), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		T_EQ_INT(submit_type("part", cases[i].params, id[i]), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct store_task *t;

		T_CHECK(wait_state(st, id[i], cases[i].want, 5000),
		    "%s: state %s", cases[i].params,
		    store_task_state_str(state_of(st, id[i])));
		t = store_task_load(st, id[i]);
		if (t == NULL)
			continue;
		if (cases[i].error == NULL)
			T_CHECK(t->error == NULL, "%s: error '%s'",
			    cases[i].params, t->error);
		else
			T_EQ_STR(t->error, cases[i].error);
		T_CHECK(t->finished_at > 0, "%s: no end", cases[i].params);
		T_EQ_INT(t->steps[1].state, STORE_STEP_SUCCEEDED);
		store_task_free(t);
	}
	/* terminal: no control call moves it */
	T_EQ_INT(task_cancel(eng, id[1], err, sizeof(err)), RM_ECONFLICT);
	T_EQ_INT(task_resume(eng, id[1], err, sizeof(err)), RM_ECONFLICT);
	task_engine_free(eng);
	store_close(st);
}

static void test_cancel_pause(void)
{
	struct store *st = fresh_store();
	char run[STORE_ID_MAX], q1[STORE_ID_MAX], q2[STORE_ID_MAX],
	    q3[STORE_ID_MAX], err[256];
	struct store_task *t, *t2;

	engine_up(st, 2, true);
	/* 10 s in 100 steps: long enough to act on while it runs. */
	T_EQ_INT(submit("c1", "{\"duration_s\": 10, \"steps\": 100}", run), 0);
	T_EQ_INT(submit("c1", "{}", q1), 0);
	T_EQ_INT(submit("c1", "{}", q2), 0);
	T_EQ_INT(submit("c1", "{}", q3), 0);
	T_CHECK(wait_state(st, run, STORE_TASK_RUNNING, 2000), "not running");

	/* Cancel a queued task: at once, its steps cancelled. */
	T_EQ_INT(task_cancel(eng, q1, err, sizeof(err)), 0);
	T_EQ_INT(state_of(st, q1), STORE_TASK_CANCELLED);
	t = store_task_load(st, q1);
	T_EQ_INT(t->steps[0].state, STORE_STEP_CANCELLED);
	store_task_free(t);
	T_EQ_INT(task_cancel(eng, q1, err, sizeof(err)), RM_ECONFLICT);
	T_EQ_INT(task_cancel(eng, "t-nope", err, sizeof(err)), RM_ENOENT);

	/* Pause a queued task: skipped, keeps its place. */
	T_EQ_INT(task_pause(eng, q2, err, sizeof(err)), 0);
	T_EQ_INT(state_of(st, q2), STORE_TASK_PAUSED);
	T_EQ_INT(task_pause(eng, q2, err, sizeof(err)), 0);	/* no-op */

	/* Pause the running one: it stops at a checkpoint and keeps the
	 * head of c1, so q3 does not run. */
	sleep_ms(250);
	T_EQ_INT(task_pause(eng, run, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, run, STORE_TASK_PAUSED, 2000), "not paused");
	sleep_ms(100);
	T_EQ_INT(state_of(st, q3), STORE_TASK_QUEUED);
	size_t depth;
	char running_id[STORE_ID_MAX];
	task_queue_info(eng, "c1", &depth, running_id, sizeof(running_id));
	T_EQ_INT(depth, 3);		/* run (blocked), q2 (held), q3 */
	T_EQ_STR(running_id, "");
	t = store_task_load(st, run);
	int done = 0;
	for (size_t i = 0; i < t->nsteps; i++)
		done += t->steps[i].state == STORE_STEP_SUCCEEDED;
	T_CHECK(done >= 1 && done < 100, "done %d", done);
	T_CHECK(t->steps[done].state == STORE_STEP_PENDING, "step %d is %s",
	    done, store_step_state_str(t->steps[done].state));
	store_task_free(t);

	/* Resume it: it continues where it stopped; then cancel it while
	 * running: the running step and the rest end cancelled. */
	T_EQ_INT(task_resume(eng, run, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, run, STORE_TASK_RUNNING, 2000), "not resumed");
	sleep_ms(150);
	t = store_task_load(st, run);
	T_CHECK(t->steps[0].attempts == 1, "step 0 re-run after resume");
	store_task_free(t);
	T_EQ_INT(task_cancel(eng, run, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, run, STORE_TASK_CANCELLED, 2000), "not cancelled");
	t = store_task_load(st, run);
	T_EQ_INT(t->steps[99].state, STORE_STEP_CANCELLED);
	T_CHECK(t->finished_at > 0, "no finished_at");
	store_task_free(t);

	/* q3 overtakes the paused q2; q2 runs once resumed. */
	T_CHECK(wait_state(st, q3, STORE_TASK_SUCCEEDED, 2000), "q3");
	T_EQ_INT(state_of(st, q2), STORE_TASK_PAUSED);
	T_EQ_INT(task_resume(eng, q2, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, q2, STORE_TASK_SUCCEEDED, 2000), "q2");
	T_EQ_INT(task_resume(eng, q2, err, sizeof(err)), RM_ECONFLICT);

	/* Cancel a paused task that had started (blocked at the head). */
	T_EQ_INT(submit("c1", "{\"duration_s\": 10, \"steps\": 100}", run), 0);
	T_EQ_INT(submit("c1", "{}", q1), 0);
	T_CHECK(wait_state(st, run, STORE_TASK_RUNNING, 2000), "run 2");
	T_EQ_INT(task_pause(eng, run, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, run, STORE_TASK_PAUSED, 2000), "pause 2");
	T_EQ_INT(task_cancel(eng, run, err, sizeof(err)), 0);
	T_EQ_INT(state_of(st, run), STORE_TASK_CANCELLED);
	T_CHECK(wait_state(st, q1, STORE_TASK_SUCCEEDED, 2000),
	    "cluster stayed blocked after cancelling the paused head");

	/* Pause then resume before the checkpoint acts: keeps running. */
	T_EQ_INT(submit("c1", "{\"duration_s\": 0.5, \"steps\": 5}", run), 0);
	T_CHECK(wait_state(st, run, STORE_TASK_RUNNING, 2000), "run 3");
	T_EQ_INT(task_pause(eng, run, err, sizeof(err)), 0);
	T_EQ_INT(task_resume(eng, run, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, run, STORE_TASK_SUCCEEDED, 3000) ||
	    state_of(st, run) == STORE_TASK_PAUSED, "run 3 lost");
	if (state_of(st, run) == STORE_TASK_PAUSED) {	/* pause won */
		T_EQ_INT(task_resume(eng, run, err, sizeof(err)), 0);
		T_CHECK(wait_state(st, run, STORE_TASK_SUCCEEDED, 3000),
		    "run 3 after resume");
	}
	t2 = store_task_load(st, run);
	T_CHECK(t2 && !t2->pause_requested && !t2->cancel_requested, "flags");
	store_task_free(t2);
	task_engine_free(eng);
	store_close(st);
}

/*
 * Crash: the store says task X was running (step 0 done, step 1 running)
 * and Y, Z queued, all on c1.  Resume runs X from step 1, then Y, Z.
 */
static void test_resume_after_crash(void)
{
	struct store *st = fresh_store();
	struct store_step_plan steps[3] = {
		{ "noop-1", NULL }, { "noop-2", NULL }, { "noop-3", NULL },
	};
	json_t *params = json_pack("{s:i, s:i}", "steps", 3, "duration_s", 0);
	struct store_task_new tn = {
		.cluster = "c1", .type = "noop", .params = params,
		.steps = steps, .nsteps = 3,
	};
	char y[STORE_ID_MAX], x[STORE_ID_MAX], z[STORE_ID_MAX],
	    p[STORE_ID_MAX], err[256];
	struct store_task *tx, *ty, *tz;

	/* Y is inserted first (lower seq) but X had started: X goes first. */
	T_EQ_INT(store_task_insert(st, &tn, y, NULL, err, sizeof(err)), 0);
	T_EQ_INT(store_task_insert(st, &tn, x, NULL, err, sizeof(err)), 0);
	T_EQ_INT(store_task_insert(st, &tn, z, NULL, err, sizeof(err)), 0);
	T_EQ_INT(store_task_insert(st, &tn, p, NULL, err, sizeof(err)), 0);
	struct store_step_update su[2] = {
		{ 0, STORE_STEP_SUCCEEDED, 1, 1000, 2000, STORE_KEEP, NULL },
		{ 1, STORE_STEP_RUNNING, 1, 2000, STORE_KEEP, STORE_KEEP, NULL },
	};
	T_EQ_INT(store_task_update(st, x, STORE_TASK_RUNNING, 1000, NULL, su,
	    2, err, sizeof(err)), 0);
	T_EQ_INT(store_task_update(st, p, STORE_TASK_PAUSED, 1000, NULL, NULL,
	    0, err, sizeof(err)), 0);
	json_decref(params);

	engine_up(st, 2, false);
	size_t depth;
	task_queue_info(eng, "c1", &depth, NULL, 0);
	T_EQ_INT(depth, 4);
	char e2[256];
	T_EQ_INT(task_start(eng, e2, sizeof(e2)), 0);
	T_CHECK(wait_state(st, z, STORE_TASK_SUCCEEDED, 5000), "z");
	tx = store_task_load(st, x);
	ty = store_task_load(st, y);
	tz = store_task_load(st, z);
	T_EQ_INT(tx->state, STORE_TASK_SUCCEEDED);
	T_EQ_INT(tx->steps[0].attempts, 1);		/* not re-run */
	T_EQ_INT(tx->steps[0].finished_at, 2000);
	/* found running: continues as the same attempt (a node job of it
	 * would be attached again, not started twice) */
	T_EQ_INT(tx->steps[1].attempts, 1);
	T_EQ_INT(tx->steps[2].attempts, 1);
	T_EQ_INT(tx->started_at, 1000);
	T_CHECK(ty->started_at >= tx->finished_at, "y started before x ended");
	T_CHECK(tz->started_at >= ty->finished_at, "z started before y ended");
	store_task_free(tx);
	store_task_free(ty);
	store_task_free(tz);
	T_EQ_INT(state_of(st, p), STORE_TASK_PAUSED);	/* stays paused */
	T_EQ_INT(task_resume(eng, p, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, p, STORE_TASK_SUCCEEDED, 5000), "p");
	task_engine_free(eng);
	store_close(st);
}

/* SIGTERM path: stop leaves the task running in the store; a new engine
 * resumes it at its first unfinished step. */
static void test_shutdown_resume(void)
{
	struct store *st = fresh_store();
	char id[STORE_ID_MAX], q[STORE_ID_MAX], err[256];
	struct store_task *t;
	int done = 0;

	engine_up(st, 1, true);
	T_EQ_INT(submit("c1", "{\"duration_s\": 1, \"steps\": 10}", id), 0);
	T_EQ_INT(submit("c1", "{}", q), 0);
	T_CHECK(wait_state(st, id, STORE_TASK_RUNNING, 2000), "running");
	sleep_ms(250);
	task_stop(eng);
	t = store_task_load(st, id);
	T_EQ_INT(t->state, STORE_TASK_RUNNING);
	for (size_t i = 0; i < t->nsteps; i++)
		done += t->steps[i].state == STORE_STEP_SUCCEEDED;
	T_CHECK(done >= 1 && done < 10, "done %d", done);
	/* The step was waiting (parked, no worker): it stays running as
	 * attempt 1, to continue as that attempt at the next start. */
	T_EQ_INT(t->steps[done].state, STORE_STEP_RUNNING);
	T_EQ_INT(t->steps[done].attempts, 1);
	int stopped_at = done;
	store_task_free(t);
	T_EQ_INT(state_of(st, q), STORE_TASK_QUEUED);
	task_engine_free(eng);

	/* Cluster deletion is refused while the store says running. */
	engine_up(st, 1, false);
	T_EQ_INT(task_cluster_delete(eng, "c1", err, sizeof(err)), RM_EBUSY);
	T_EQ_INT(task_start(eng, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, q, STORE_TASK_SUCCEEDED, 5000), "q after restart");
	t = store_task_load(st, id);
	T_EQ_INT(t->state, STORE_TASK_SUCCEEDED);
	T_EQ_INT(t->steps[0].attempts, 1);
	T_EQ_INT(t->steps[stopped_at].attempts, 1);	/* same attempt */
	T_CHECK(t->finished_at <= time_wall_ms(), "finished");
	store_task_free(t);
	T_CHECK(state_of(st, q) == STORE_TASK_SUCCEEDED, "q");

	/* Now it can go, with its queue. */
	T_EQ_INT(task_cluster_delete(eng, "c1", err, sizeof(err)), 0);
	T_EQ_INT(task_cluster_delete(eng, "c1", err, sizeof(err)), RM_ENOENT);
	T_EQ_INT(submit("c1", "{}", id), RM_ENOENT);
	T_EQ_INT(task_cluster_add(eng, "c3"), 0);
	T_EQ_INT(task_busy_workers(eng), 0);
	task_engine_free(eng);
	store_close(st);
}


/* ---- compare-and-set transitions ---------------------------------------- */

#define B(s)	STORE_TASK_BIT(STORE_TASK_##s)

/* The store's CAS, as data: a task put in state `in` (with or without a
 * pause request), one transition, what it returns and leaves. */
static void test_transition_table(void)
{
	static const struct {
		enum store_task_state in;
		bool pause_req;
		unsigned from;
		int to;
		bool need_pause;
		int rc;
		enum store_task_state after;
	} rows[] = {
		{ STORE_TASK_QUEUED, false, B(QUEUED), STORE_TASK_RUNNING,
		  false, 0, STORE_TASK_RUNNING },
		{ STORE_TASK_QUEUED, false, B(PAUSED), STORE_TASK_QUEUED,
		  false, RM_ECONFLICT, STORE_TASK_QUEUED },
		{ STORE_TASK_QUEUED, false, B(QUEUED) | B(PAUSED),
		  STORE_TASK_CANCELLED, false, 0, STORE_TASK_CANCELLED },
		{ STORE_TASK_RUNNING, false, B(QUEUED) | B(PAUSED),
		  STORE_TASK_CANCELLED, false, RM_ECONFLICT, STORE_TASK_RUNNING },
		{ STORE_TASK_RUNNING, false, B(RUNNING), STORE_TASK_PAUSED,
		  true, RM_ECONFLICT, STORE_TASK_RUNNING },
		{ STORE_TASK_RUNNING, true, B(RUNNING), STORE_TASK_PAUSED,
		  true, 0, STORE_TASK_PAUSED },
		{ STORE_TASK_RUNNING, true, B(RUNNING), STORE_TASK_SUCCEEDED,
		  false, 0, STORE_TASK_SUCCEEDED },
		{ STORE_TASK_PAUSED, false, B(PAUSED), STORE_TASK_QUEUED,
		  false, 0, STORE_TASK_QUEUED },
		{ STORE_TASK_RUNNING, false, B(RUNNING), -1, false, 0,
		  STORE_TASK_RUNNING },
		{ STORE_TASK_QUEUED, false, B(RUNNING), -1, false,
		  RM_ECONFLICT, STORE_TASK_QUEUED },
		/* finished: no mask moves it, not even one that names it */
		{ STORE_TASK_CANCELLED, false, ~0u, STORE_TASK_QUEUED, false,
		  RM_ECONFLICT, STORE_TASK_CANCELLED },
		{ STORE_TASK_SUCCEEDED, false, ~0u, STORE_TASK_FAILED, false,
		  RM_ECONFLICT, STORE_TASK_SUCCEEDED },
	};
	struct store *st = fresh_store();
	struct store_step_plan step = { "s", NULL };
	struct store_task_new tn = {
		.cluster = "c1", .type = "noop", .steps = &step, .nsteps = 1,
	};
	char id[STORE_ID_MAX], err[256];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		enum store_task_state actual = STORE_TASK_NSTATES;
		struct store_step_update su = {
			0, STORE_STEP_RUNNING, 7, STORE_KEEP, STORE_KEEP,
			STORE_KEEP, "written",
		};
		struct store_transition tr = {
			.from = rows[i].from, .to = rows[i].to,
			.need_pause = rows[i].need_pause, .su = &su, .nsu = 1,
		};
		struct store_task *t;
		int rc;

		T_EQ_INT(store_task_insert(st, &tn, id, NULL, err, sizeof(err)),
		    0);
		if (rows[i].in != STORE_TASK_QUEUED)
			T_EQ_INT(store_task_update(st, id, (int)rows[i].in, 0,
			    NULL, NULL, 0, err, sizeof(err)), 0);
		if (rows[i].pause_req)
			T_EQ_INT(store_task_request(st, id, STORE_REQ_PAUSE,
			    err, sizeof(err)), 0);
		rc = store_task_transition(st, id, &tr, &actual, err,
		    sizeof(err));
		T_CHECK(rc == rows[i].rc, "row %zu: rc %d, want %d (%s)", i,
		    rc, rows[i].rc, err);
		t = store_task_load(st, id);
		T_CHECK(t != NULL && t->state == rows[i].after, "row %zu: "
		    "state %s", i, t ? store_task_state_str(t->state) : "-");
		/* A lost write writes nothing: not the step either. */
		if (t != NULL)
			T_CHECK((t->steps[0].attempts == 7) == (rc == 0),
			    "row %zu: step attempts %d", i,
			    t->steps[0].attempts);
		if (rc == RM_ECONFLICT)
			T_CHECK(actual == rows[i].in, "row %zu: actual %s", i,
			    store_task_state_str(actual));
		store_task_free(t);
	}
	/* Requests: refused on a finished task, UNPAUSE on a paused one. */
	T_EQ_INT(store_task_request(st, id, STORE_REQ_CANCEL, err,
	    sizeof(err)), RM_ECONFLICT);
	T_EQ_INT(store_task_insert(st, &tn, id, NULL, err, sizeof(err)), 0);
	T_EQ_INT(store_task_update(st, id, STORE_TASK_PAUSED, 0, NULL, NULL, 0,
	    err, sizeof(err)), 0);
	T_EQ_INT(store_task_request(st, id, STORE_REQ_UNPAUSE, err,
	    sizeof(err)), RM_ECONFLICT);
	T_EQ_INT(store_task_request(st, id, STORE_REQ_CANCEL, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_task_request(st, "t-nope", STORE_REQ_CANCEL, err,
	    sizeof(err)), RM_ENOENT);
	store_close(st);
}

/* Two writers race the same CAS from many threads: exactly one wins. */
struct cas_race {
	struct store *st;
	const char (*ids)[STORE_ID_MAX];
	size_t n;
	pthread_barrier_t *bar;
	atomic_int *wins;
};

static void *cas_racer(void *arg)
{
	struct cas_race *a = arg;
	struct store_transition tr = {
		.from = STORE_TASK_BIT(STORE_TASK_QUEUED),
		.to = STORE_TASK_RUNNING,
	};
	char err[256];

	pthread_barrier_wait(a->bar);
	for (size_t i = 0; i < a->n; i++)
		if (store_task_transition(a->st, a->ids[i], &tr, NULL, err,
		    sizeof(err)) == 0)
			atomic_fetch_add(&a->wins[i], 1);
	return NULL;
}

static void test_transition_race(void)
{
	enum { N = 200, THREADS = 4 };
	static char ids[N][STORE_ID_MAX];
	static atomic_int wins[N];
	struct store *st = fresh_store();
	struct store_step_plan step = { "s", NULL };
	struct store_task_new tn = {
		.cluster = "c1", .type = "noop", .steps = &step, .nsteps = 1,
	};
	pthread_barrier_t bar;
	pthread_t th[THREADS];
	struct cas_race a;
	char err[256];
	int bad = 0;

	for (size_t i = 0; i < N; i++) {
		atomic_init(&wins[i], 0);
		T_EQ_INT(store_task_insert(st, &tn, ids[i], NULL, err,
		    sizeof(err)), 0);
	}
	pthread_barrier_init(&bar, NULL, THREADS);
	a = (struct cas_race){ st, (const char (*)[STORE_ID_MAX])ids, N, &bar,
	    wins };
	for (int i = 0; i < THREADS; i++)
		T_EQ_INT(pthread_create(&th[i], NULL, cas_racer, &a), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (size_t i = 0; i < N; i++)
		bad += atomic_load(&wins[i]) != 1;
	T_EQ_INT(bad, 0);
	pthread_barrier_destroy(&bar);
	store_close(st);
}

/* ---- control calls racing each other and the runner ---------------------- */

enum race_op { OP_CANCEL, OP_PAUSE, OP_RESUME };

struct racer {
	enum race_op op;
	char (*ids)[STORE_ID_MAX];
	size_t n;
	bool reverse;
	int *rc;
	pthread_barrier_t *bar;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	char err[256];

	pthread_barrier_wait(r->bar);
	for (size_t k = 0; k < r->n; k++) {
		size_t i = r->reverse ? r->n - 1 - k : k;
		r->rc[i] = r->op == OP_CANCEL ? task_cancel(eng, r->ids[i],
		    err, sizeof(err)) : r->op == OP_PAUSE ? task_pause(eng,
		    r->ids[i], err, sizeof(err)) : task_resume(eng, r->ids[i],
		    err, sizeof(err));
	}
	return NULL;
}

/* Run two racers at once (one barrier), then join them. */
static void race(struct racer *a, struct racer *b)
{
	pthread_barrier_t bar;
	pthread_t ta, tb;

	pthread_barrier_init(&bar, NULL, 2);
	a->bar = b->bar = &bar;
	T_EQ_INT(pthread_create(&ta, NULL, racer_main, a), 0);
	T_EQ_INT(pthread_create(&tb, NULL, racer_main, b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&bar);
}

#define RACE_CLUSTERS 6

static const char *race_cluster(size_t i)
{
	static const char *const names[RACE_CLUSTERS] = {
		"r0", "r1", "r2", "r3", "r4", "r5",
	};
	return names[i % RACE_CLUSTERS];
}

static struct store *race_store(void)
{
	struct store *st = fresh_store();
	char err[256];

	for (size_t i = 0; i < RACE_CLUSTERS; i++) {
		struct store_cluster c = {
			.name = race_cluster(i), .storage_url = "file:///tmp/x",
			.ssh_user = "u", .ssh_key_file = "/k",
		};
		T_EQ_INT(store_cluster_create(st, &c, err, sizeof(err)), 0);
	}
	return st;
}

/*
 * The store and the queue agree, once nothing runs: each race cluster's
 * queue holds exactly its unfinished tasks and runs none.
 */
static void check_agree(struct store *st, const char *what)
{
	struct store_task_ref *v = NULL;
	size_t n = 0, want[RACE_CLUSTERS] = { 0 };

	T_EQ_INT(store_tasks_unfinished(st, &v, &n), 0);
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c < RACE_CLUSTERS; c++)
			if (strcmp(v[i].cluster, race_cluster(c)) == 0)
				want[c]++;
	free(v);
	for (size_t c = 0; c < RACE_CLUSTERS; c++) {
		char running[STORE_ID_MAX];
		size_t depth = 0;

		task_queue_info(eng, race_cluster(c), &depth, running,
		    sizeof(running));
		T_CHECK(depth == want[c] && running[0] == '\0', "%s: %s "
		    "queue depth %zu, store has %zu unfinished, running '%s'",
		    what, race_cluster(c), depth, want[c], running);
	}
}

/* Wait until every task is in one of the states of mask and no worker
 * has any of them. */
static bool settle(struct store *st, char (*ids)[STORE_ID_MAX], size_t n,
    unsigned mask, int ms)
{
	int64_t end = time_mono_ms() + ms;

	while (time_mono_ms() < end) {
		size_t ok = 0;
		for (size_t i = 0; i < n; i++)
			ok += (mask & STORE_TASK_BIT(state_of(st, ids[i]))) != 0;
		if (ok == n && task_busy_workers(eng) == 0 &&
		    task_waiting(eng) == 0)
			return true;
		sleep_ms(10);
	}
	return false;
}

static int race_submit(size_t i, const char *params, char *id)
{
	char err[256] = "";
	json_t *p = json_loads(params, 0, NULL);
	int rc = task_submit(eng, race_cluster(i), "noop", p, id, err,
	    sizeof(err));

	json_decref(p);
	return rc;
}

static void test_races(void)
{
	enum { N = 48 };
	static char ids[N][STORE_ID_MAX];
	int rc1[N], rc2[N], bad;
	struct store *st = race_store();
	struct store_task *t;

	/* Cancel vs completion: one-step tasks finishing while they are
	 * cancelled.  Each ends cancelled or succeeded; a refused cancel
	 * means it had succeeded. */
	engine_up(st, 4, true);
	for (size_t i = 0; i < N; i++)
		T_EQ_INT(race_submit(i, "{}", ids[i]), 0);
	{
		struct racer a = { OP_CANCEL, ids, N, true, rc1, NULL };
		struct racer b = { OP_CANCEL, ids, N, false, rc2, NULL };
		race(&a, &b);
	}
	T_CHECK(settle(st, ids, N, B(CANCELLED) | B(SUCCEEDED), 5000),
	    "cancel vs completion did not settle");
	bad = 0;
	for (size_t i = 0; i < N; i++) {
		t = store_task_load(st, ids[i]);
		if (t == NULL) {
			bad++;
			continue;
		}
		if (t->state == STORE_TASK_SUCCEEDED)
			bad += t->steps[0].state != STORE_STEP_SUCCEEDED;
		else
			bad += t->steps[0].state == STORE_STEP_SUCCEEDED ||
			    t->steps[0].state == STORE_STEP_RUNNING;
		/* Refused by both: it must have finished on its own. */
		if (rc1[i] != 0 && rc2[i] != 0)
			bad += t->state != STORE_TASK_SUCCEEDED;
		bad += (rc1[i] != 0 && rc1[i] != RM_ECONFLICT) ||
		    (rc2[i] != 0 && rc2[i] != RM_ECONFLICT);
		store_task_free(t);
	}
	T_EQ_INT(bad, 0);
	check_agree(st, "cancel vs completion");

	/* Pause vs steps finishing: three-step tasks paused as they run.
	 * Each ends paused, succeeded, or still queued behind a paused one
	 * of its cluster; the queue holds exactly the unfinished. */
	for (size_t i = 0; i < N; i++)
		T_EQ_INT(race_submit(i, "{\"steps\": 3}", ids[i]), 0);
	{
		struct racer a = { OP_PAUSE, ids, N, false, rc1, NULL };
		struct racer b = { OP_PAUSE, ids, N, true, rc2, NULL };
		race(&a, &b);
	}
	T_CHECK(settle(st, ids, N, B(PAUSED) | B(SUCCEEDED) | B(QUEUED), 5000),
	    "pause vs steps did not settle");
	sleep_ms(100);
	check_agree(st, "pause vs steps");
	/* Resumed, every one finishes: none was lost by the queue. */
	for (size_t i = 0; i < N; i++) {
		char err[256];
		int rc = task_resume(eng, ids[i], err, sizeof(err));
		T_CHECK(rc == 0 || (rc == RM_ECONFLICT && state_of(st, ids[i]) ==
		    STORE_TASK_SUCCEEDED), "resume %zu: %d %s", i, rc, err);
	}
	T_CHECK(settle(st, ids, N, B(SUCCEEDED), 10000),
	    "paused tasks did not finish after resume");
	check_agree(st, "after resume");
	task_engine_free(eng);

	/* Resume vs cancel, on paused tasks no worker has (the engine is
	 * not started): each ends cancelled, or queued and then succeeds. */
	engine_up(st, 4, false);
	for (size_t i = 0; i < N; i++) {
		char err[256];
		T_EQ_INT(race_submit(i, "{}", ids[i]), 0);
		T_EQ_INT(task_pause(eng, ids[i], err, sizeof(err)), 0);
	}
	{
		struct racer a = { OP_RESUME, ids, N, false, rc1, NULL };
		struct racer b = { OP_CANCEL, ids, N, true, rc2, NULL };
		race(&a, &b);
	}
	bad = 0;
	for (size_t i = 0; i < N; i++) {
		enum store_task_state s = state_of(st, ids[i]);
		bad += rc2[i] != 0;		/* nothing runs: cancel wins */
		bad += s != STORE_TASK_CANCELLED;
		bad += rc1[i] != 0 && rc1[i] != RM_ECONFLICT;
	}
	T_EQ_INT(bad, 0);
	check_agree(st, "resume vs cancel");

	/* Two cancels at once of queued tasks: exactly one wins each. */
	for (size_t i = 0; i < N; i++)
		T_EQ_INT(race_submit(i, "{}", ids[i]), 0);
	{
		struct racer a = { OP_CANCEL, ids, N, false, rc1, NULL };
		struct racer b = { OP_CANCEL, ids, N, true, rc2, NULL };
		race(&a, &b);
	}
	bad = 0;
	for (size_t i = 0; i < N; i++) {
		bad += (rc1[i] == 0) + (rc2[i] == 0) != 1;
		bad += (rc1[i] | rc2[i]) != RM_ECONFLICT;
		bad += state_of(st, ids[i]) != STORE_TASK_CANCELLED;
	}
	T_EQ_INT(bad, 0);
	check_agree(st, "two cancels");

	/* Pause vs resume of queued tasks, then everything runs: each
	 * ends succeeded or paused, and the queue agrees. */
	for (size_t i = 0; i < N; i++)
		T_EQ_INT(race_submit(i, "{}", ids[i]), 0);
	{
		struct racer a = { OP_PAUSE, ids, N, false, rc1, NULL };
		struct racer b = { OP_RESUME, ids, N, true, rc2, NULL };
		race(&a, &b);
	}
	check_agree(st, "pause vs resume");
	{
		char err[256];
		T_EQ_INT(task_start(eng, err, sizeof(err)), 0);
	}
	T_CHECK(settle(st, ids, N, B(PAUSED) | B(SUCCEEDED), 5000),
	    "pause vs resume did not settle");
	check_agree(st, "pause vs resume, run");
	task_engine_free(eng);
	store_close(st);
}


/* The resume count of a step's attempt: counted while running, back to 0
 * on a new attempt or a clean stop's write. */
static void test_resume_counts(void)
{
	struct store *st = fresh_store();
	struct store_step_plan step = { "s", NULL };
	struct store_task_new tn = {
		.cluster = "c1", .type = "noop", .steps = &step, .nsteps = 1,
	};
	struct store_step_update su = {
		0, STORE_STEP_RUNNING, 1, 1000, STORE_KEEP, STORE_KEEP, NULL,
	};
	struct store_transition tr = {
		.from = STORE_TASK_BIT(STORE_TASK_QUEUED),
		.to = STORE_TASK_RUNNING, .su = &su, .nsu = 1,
	};
	char id[STORE_ID_MAX], err[256];
	int n = -1;

	T_EQ_INT(store_task_insert(st, &tn, id, NULL, err, sizeof(err)), 0);
	/* pending: nothing to count */
	T_EQ_INT(store_step_resumed(st, id, 0, &n, err, sizeof(err)),
	    RM_ENOENT);
	T_EQ_INT(store_task_transition(st, id, &tr, NULL, err, sizeof(err)),
	    0);
	for (int i = 1; i <= 3; i++) {
		T_EQ_INT(store_step_resumed(st, id, 0, &n, err, sizeof(err)),
		    0);
		T_EQ_INT(n, i);
	}
	/* the same attempt written again keeps the count */
	tr.from = STORE_TASK_BIT(STORE_TASK_RUNNING);
	tr.to = -1;
	T_EQ_INT(store_task_transition(st, id, &tr, NULL, err, sizeof(err)),
	    0);
	T_EQ_INT(store_step_resumed(st, id, 0, &n, err, sizeof(err)), 0);
	T_EQ_INT(n, 4);
	/* a clean stop's write clears it */
	tr.clear_resumes = true;
	T_EQ_INT(store_task_transition(st, id, &tr, NULL, err, sizeof(err)),
	    0);
	T_EQ_INT(store_step_resumed(st, id, 0, &n, err, sizeof(err)), 0);
	T_EQ_INT(n, 1);
	/* a new attempt starts from 0 */
	tr.clear_resumes = false;
	su.attempts = 2;
	T_EQ_INT(store_task_transition(st, id, &tr, NULL, err, sizeof(err)),
	    0);
	T_EQ_INT(store_step_resumed(st, id, 0, &n, err, sizeof(err)), 0);
	T_EQ_INT(n, 1);
	T_EQ_INT(store_step_resumed(st, id, 5, &n, err, sizeof(err)),
	    RM_ENOENT);
	store_close(st);
}

/* A transaction far larger than one write of the WAL (the writer's VFS
 * gathers a commit's frames, in pieces of 64 KB): written, read back. */
static void test_big_commit(void)
{
	struct store *st = fresh_store();
	struct store_step_plan step = { "s", NULL };
	json_t *params = json_object();
	struct store_task_new tn = {
		.cluster = "c1", .type = "noop", .params = params,
		.steps = &step, .nsteps = 1,
	};
	char id[STORE_ID_MAX], err[256], key[16], *big;
	struct store_task *t;
	size_t len = 700 * 1024;

	big = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		big[i] = (char)('a' + (i * 7) % 26);
	big[len] = '\0';
	for (int i = 0; i < 2; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		json_object_set_new(params, key, json_string(big));
	}
	T_EQ_INT(store_task_insert(st, &tn, id, NULL, err, sizeof(err)), 0);
	store_close(st);
	/* Reopened: read from the file, not from a cache. */
	{
		char path[256];
		snprintf(path, sizeof(path), "%s/s%d.db", dir, ndb - 1);
		st = store_open(path, err, sizeof(err));
	}
	T_CHECK(st != NULL, "reopen: %s", err);
	if (st == NULL)
		goto out;
	t = store_task_load(st, id);
	T_CHECK(t != NULL, "big task not found");
	for (int i = 0; t != NULL && i < 2; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		const char *v = json_string_value(json_object_get(t->params,
		    key));
		T_CHECK(v != NULL && strcmp(v, big) == 0, "%s differs", key);
	}
	store_task_free(t);
	store_close(st);
out:
	json_decref(params);
	free(big);
}

/* ---- failure hooks, admission, per-node progress ------------------------ */

static atomic_int hook_calls;
static char hook_error[512];

static int doomed_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	(void)ctx;
	(void)step;
	snprintf(err, errlen, "snapshot on 10.0.0.1 failed");
	return TASK_STEP_FATAL;
}

static int doomed_on_fail(struct task_ctx *ctx, const char *error, char *msg,
    size_t msglen)
{
	atomic_fetch_add(&hook_calls, 1);
	snprintf(hook_error, sizeof(hook_error), "%s", error);
	/* The task is still running while its cleanup runs. */
	if (!task_checkpoint(ctx))
		snprintf(msg, msglen, "cleared snapshot rm-x on 2 nodes");
	return TASK_STEP_OK;
}

static int doomed_admit(struct store *st, const char *cluster,
    const json_t *params, char *err, size_t errlen)
{
	(void)st;
	if (json_is_true(json_object_get(params, "refuse"))) {
		snprintf(err, errlen, "backup x of '%s' is damaged", cluster);
		return -1;
	}
	return 0;
}

static const struct param_spec doomed_params[] = {
	{ "refuse", PT_BOOL, 0, 0, NULL, NULL, 0, "admit refuses it" },
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static const struct task_type doomed_type = {
	.name = "doomed", .plan = flaky_plan, .run = doomed_run,
	.params = doomed_params,
	.admit = doomed_admit, .on_fail = doomed_on_fail,
};

/* Two nodes report from their own threads; then one is done, one failed. */
struct fan_arg {
	struct task_ctx *ctx;
	const char *node;
};

static void *fan_main(void *arg)
{
	struct fan_arg *a = arg;

	for (int i = 1; i <= 40; i++) {
		struct task_node_progress np = TASK_NODE_PROGRESS_KEEP;
		np.phase = i < 20 ? "hash" : "upload";
		np.files_done = i;
		np.files_total = 40;
		np.bytes_done = i * 100;
		np.bytes_total = 4000;
		np.rate_bps = 1000.0;
		np.message = "working";
		task_node_progress(a->ctx, a->node, &np);
		sleep_ms(2);
	}
	/* The last count a node reports is often throttled away. */
	struct task_node_progress late = TASK_NODE_PROGRESS_KEEP;
	late.files_done = 39;
	late.bytes_done = 3900;
	task_node_progress(a->ctx, a->node, &late);
	struct task_node_progress end = TASK_NODE_PROGRESS_KEEP;
	bool ok = strcmp(a->node, "10.0.0.1") == 0;
	end.state = ok ? "done" : "failed";
	end.message = ok ? "40 files, 4000 bytes" : "exit 1: disk full";
	task_node_progress(a->ctx, a->node, &end);
	return NULL;
}

static int fan_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	pthread_t th[2];
	struct fan_arg a[2] = { { ctx, "10.0.0.1" }, { ctx, "10.0.0.2" } };

	(void)step;
	(void)err;
	(void)errlen;
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, fan_main, &a[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	return TASK_STEP_OK;
}

static const struct task_type fan_type = {
	.name = "fan", .plan = flaky_plan, .run = fan_run,
};

static void test_fail_hook_admit_nodes(void)
{
	struct store *st = fresh_store();
	char id[STORE_ID_MAX], err[256] = "";
	struct store_task *t;
	json_t *j, *nodes, *n0, *n1, *p;
	char *ferr = NULL;
	int fidx;

	engine_up(st, 1, false);
	T_EQ_INT(task_type_register(eng, &doomed_type), 0);
	T_EQ_INT(task_type_register(eng, &fan_type), 0);
	T_EQ_INT(task_start(eng, err, sizeof(err)), 0);

	/* Refused at admission: a conflict, with the type's words, and no
	 * task recorded. */
	p = json_pack("{s:b}", "refuse", 1);
	T_EQ_INT(task_submit(eng, "c1", "doomed", p, id, err, sizeof(err)),
	    RM_ECONFLICT);
	json_decref(p);
	T_EQ_STR(err, "backup x of 'c1' is damaged");
	struct store_task_page pg;
	T_EQ_INT(store_task_list(st, "c1", NULL, NULL, 10, &pg), 0);
	T_EQ_INT(pg.n, 0);
	store_task_page_release(&pg);
	p = json_pack("{s:b}", "refuse", 1);
	T_EQ_INT(task_submit(eng, "nope", "doomed", p, id, err, sizeof(err)),
	    RM_ENOENT);
	json_decref(p);

	/* Fails for good: the hook runs once, its words end the error. */
	T_EQ_INT(submit_type("doomed", "{}", id), 0);
	T_CHECK(wait_state(st, id, STORE_TASK_FAILED, 5000), "doomed");
	T_EQ_INT(atomic_load(&hook_calls), 1);
	T_CHECK(strstr(hook_error, "snapshot on 10.0.0.1 failed") != NULL,
	    "hook got '%s'", hook_error);
	t = store_task_load(st, id);
	T_CHECK(t->error != NULL && strstr(t->error, "after 1 attempt: "
	    "snapshot on 10.0.0.1 failed; on failure: cleared snapshot rm-x "
	    "on 2 nodes") != NULL, "error '%s'", t->error ? t->error : "");
	T_EQ_INT(t->steps[0].state, STORE_STEP_FAILED);
	T_EQ_STR(t->steps[0].message, "snapshot on 10.0.0.1 failed");
	store_task_free(t);
	T_EQ_INT(store_task_failing_get(st, id, &fidx, &ferr), RM_ENOENT);

	/* Per-node progress: merged per node, the final state written. */
	T_EQ_INT(submit_type("fan", "{}", id), 0);
	T_CHECK(wait_state(st, id, STORE_TASK_SUCCEEDED, 5000), "fan");
	j = task_json(st, id);
	nodes = json_object_get(json_array_get(json_object_get(j, "steps"), 0),
	    "nodes");
	T_EQ_INT(json_array_size(nodes), 2);
	n0 = json_array_get(nodes, 0);
	n1 = json_array_get(nodes, 1);
	T_EQ_STR(json_string_value(json_object_get(n0, "node")), "10.0.0.1");
	T_EQ_STR(json_string_value(json_object_get(n0, "state")), "done");
	T_EQ_STR(json_string_value(json_object_get(n0, "phase")), "upload");
	T_EQ_STR(json_string_value(json_object_get(n0, "message")),
	    "40 files, 4000 bytes");
	T_EQ_INT(json_integer_value(json_object_get(n0, "files_done")), 40);
	T_EQ_INT(json_integer_value(json_object_get(n0, "bytes_done")), 4000);
	T_EQ_STR(json_string_value(json_object_get(n1, "state")), "failed");
	/* A failed node keeps where it got to. */
	T_EQ_INT(json_integer_value(json_object_get(n1, "files_done")), 39);
	T_EQ_STR(json_string_value(json_object_get(n1, "message")),
	    "exit 1: disk full");
	T_CHECK(json_is_string(json_object_get(n1, "updated_at")), "updated_at");
	json_decref(j);
	task_engine_free(eng);

	/* A crash after the failure was recorded and before the hook ended:
	 * the hook runs at start-up and the task ends failed. */
	struct store_step_plan steps[1] = { { "flaky", NULL } };
	struct store_task_new tn = { .cluster = "c2", .type = "doomed",
	    .steps = steps, .nsteps = 1 };
	struct store_step_update su = { 0, STORE_STEP_RUNNING, 1, 1000,
	    STORE_KEEP, STORE_KEEP, NULL };
	T_EQ_INT(store_task_insert(st, &tn, id, NULL, err, sizeof(err)), 0);
	T_EQ_INT(store_task_update(st, id, STORE_TASK_RUNNING, 1000, NULL, &su,
	    1, err, sizeof(err)), 0);
	T_EQ_INT(store_task_failing_set(st, id, 0, "step 'flaky' failed after "
	    "1 attempt: lost", err, sizeof(err)), 0);
	atomic_store(&hook_calls, 0);
	engine_up(st, 1, false);
	T_EQ_INT(task_type_register(eng, &doomed_type), 0);
	T_EQ_INT(task_start(eng, err, sizeof(err)), 0);
	T_CHECK(wait_state(st, id, STORE_TASK_FAILED, 5000), "resumed hook");
	T_EQ_INT(atomic_load(&hook_calls), 1);
	t = store_task_load(st, id);
	T_CHECK(t->error != NULL && strstr(t->error, "lost; on failure: "
	    "cleared") != NULL, "error '%s'", t->error ? t->error : "");
	T_EQ_INT(t->steps[0].state, STORE_STEP_FAILED);
	store_task_free(t);
	T_EQ_INT(store_task_failing_get(st, id, &fidx, &ferr), RM_ENOENT);
	task_engine_free(eng);
	store_close(st);
}

int main(void)
{
	char cmd[300];

	if (mkdtemp(dir) == NULL)
		return 1;
	test_noop_and_validation();
	test_serial_and_parallel();
	test_retries();
	test_progress_threads();
	test_cancel_pause();
	test_held_steps();
	test_partial();
	test_resume_after_crash();
	test_shutdown_resume();
	test_fail_hook_admit_nodes();
	test_waiting();
	test_two_engines();
	test_transition_table();
	test_transition_race();
	test_races();
	test_resume_counts();
	test_big_commit();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return t_done("test_task");
}
