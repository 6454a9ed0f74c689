/*
 * test_cron.c - cron expressions (parse errors and next runs, as tables)
 * and schedules: next slot, missed slots run once, never stacked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/util.h"
#include "../../orchestrator/engine/cron.h"
#include "../../orchestrator/engine/sched.h"
#include "../../orchestrator/store/store.h"
#include "../../orchestrator/engine/task.h"
#include "t.h"

static struct task_engine *eng;

#define H	3600000LL	/* every hour */

static int64_t T3339(const char *s)
{
	int64_t v = -1;

	if (time_parse_rfc3339(s, &v) < 0)
		fprintf(stderr, "bad time in table: %s\n", s);
	return v;
}

static void test_cron_next(void)
{
	static const struct {
		const char *expr, *after, *want;	/* want NULL: never */
	} cases[] = {
		{ "* * * * *", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z" },
		{ "* * * * *", "2026-01-01T00:00:59Z", "2026-01-01T00:01:00Z" },
		{ "*/15 * * * *", "2026-01-01T00:01:30Z", "2026-01-01T00:15:00Z" },
		{ "*/15 * * * *", "2026-01-01T00:45:00Z", "2026-01-01T01:00:00Z" },
		{ "0 3 * * *", "2026-01-01T03:00:00Z", "2026-01-02T03:00:00Z" },
		{ "0 3 * * *", "2026-01-01T02:59:59Z", "2026-01-01T03:00:00Z" },
		{ "30 2 1 * *", "2026-01-15T00:00:00Z", "2026-02-01T02:30:00Z" },
		{ "0 0 * * mon", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z" },
		{ "0 0 * * MON", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z" },
		/* dom and dow both restricted: either matches (Vixie). */
		{ "0 0 1 * mon", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z" },
		{ "0 0 13 * 5", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z" },
		/* dow restricted, dom '*': both must match (any day + Sunday). */
		{ "5 0 * * 7", "2026-01-01T00:00:00Z", "2026-01-04T00:05:00Z" },
		{ "5 0 * * 0", "2026-01-01T00:00:00Z", "2026-01-04T00:05:00Z" },
		{ "0 9-17/4 * * 1-5", "2026-01-03T00:00:00Z", "2026-01-05T09:00:00Z" },
		{ "0 9-17/4 * * 1-5", "2026-01-05T09:00:00Z", "2026-01-05T13:00:00Z" },
		{ "0 9-17/4 * * 1-5", "2026-01-05T17:00:00Z", "2026-01-06T09:00:00Z" },
		{ "0 0 * jan,jul sun", "2026-02-01T00:00:00Z", "2026-07-05T00:00:00Z" },
		{ "0 0 29 2 *", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z" },
		{ "59 23 31 12 *", "2026-01-01T00:00:00Z", "2026-12-31T23:59:00Z" },
		{ "59 23 31 12 *", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z" },
		{ "10/20 * * * *", "2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z" },
		{ "10/20 * * * *", "2026-01-01T00:30:00Z", "2026-01-01T00:50:00Z" },
		{ "1,2,5-6 0 * * *", "2026-01-01T00:02:00Z", "2026-01-01T00:05:00Z" },
		{ "0 0 31 2 *", "2026-01-01T00:00:00Z", NULL },
		{ "0 0 30 feb *", "2026-01-01T00:00:00Z", NULL },
	};
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cron *c = cron_parse(cases[i].expr, err, sizeof(err));
		int64_t next, want;
		char got[40] = "never";

		T_CHECK(c != NULL, "'%s': %s", cases[i].expr, err);
		if (c == NULL)
			continue;
		next = cron_next(c, T3339(cases[i].after));
		if (next >= 0)
			time_rfc3339(next, got, sizeof(got));
		want = cases[i].want ? T3339(cases[i].want) : -1;
		T_CHECK(next == want, "'%s' after %s: got %s, want %s",
		    cases[i].expr, cases[i].after, got,
		    cases[i].want ? cases[i].want : "never");
		cron_free(c);
	}
	cron_free(NULL);
}

static void test_cron_bad(void)
{
	static const char *const bad[] = {
		"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *",
		"* * 0 * *", "* * 32 * *", "* * * 13 *", "* * * 0 *",
		"* * * * 8", "*/0 * * * *", "5-1 * * * *", "a * * * *",
		"1,,2 * * * *", "1- * * * *", "* * * foo *", "-1 * * * *",
		"*/ * * * *", "* * * * monday", "1,2, * * * *", "@daily",
	};
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		T_CHECK(!cron_valid(bad[i], err, sizeof(err)),
		    "'%s' was accepted", bad[i]);
		T_CHECK(err[0] != '\0', "'%s': no message", bad[i]);
	}
	T_CHECK(!cron_valid(NULL, NULL, 0), "NULL accepted");
	T_CHECK(cron_valid("0 3 * * *", NULL, 0), "a good one refused");
	cron_valid("61 * * * *", err, sizeof(err));
	T_CHECK(strstr(err, "minute") != NULL, "message '%s'", err);
}

static void test_next_run(void)
{
	static const struct {
		int64_t every;
		const char *cron;
		int64_t start, now, want;
	} cases[] = {
		{ 3600000, NULL, 1000, 500, 1000 },
		{ 3600000, NULL, 1000, 1000, 3601000 },
		{ 3600000, NULL, 1000, 3600999, 3601000 },
		/* Five hours missed: the next slot after now, once. */
		{ 3600000, NULL, 1000, 5 * 3600000 + 1001, 6 * 3600000 + 1000 },
		{ 0, NULL, 0, 0, -1 },
		{ 0, "0 * * * *", 0, 1767225600000, 1767229200000 },
		/* A start in the future: the first slot at or after it. */
		{ 0, "0 * * * *", 1767268800000, 1767225600000, 1767268800000 },
		{ 0, "bad", 0, 0, -1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		T_CHECK(sched_next_run(cases[i].every, cases[i].cron,
		    cases[i].start, cases[i].now) == cases[i].want,
		    "row %zu: got %lld, want %lld", i,
		    (long long)sched_next_run(cases[i].every, cases[i].cron,
		    cases[i].start, cases[i].now), (long long)cases[i].want);
}

static int count_tasks(struct store *st, const char *cluster)
{
	struct store_task_page pg;
	int n = -1;

	if (store_task_list(st, cluster, NULL, NULL, 1000, &pg) == 0)
		n = (int)pg.n;
	store_task_page_release(&pg);
	return n;
}

static void test_schedules(void)
{
	char dir[] = "/tmp/test_cron.XXXXXX", path[256], err[256],
	    id[STORE_ID_MAX], cmd[300];
	struct store *st;
	struct store_cluster c = {
		.name = "c1", .storage_url = "file:///x", .ssh_user = "u",
		.ssh_key_file = "/k",
	};
	int64_t now = time_wall_ms();

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/s.db", dir);
	st = store_open(path, err, sizeof(err));
	T_CHECK(st != NULL, "open: %s", err);
	store_cluster_create(st, &c, err, sizeof(err));
	eng = task_engine_new(st, 1, err, sizeof(err));
	T_CHECK(eng != NULL, "task_engine_new: %s", err);
	if (eng == NULL)
		exit(1);

	/* Validation. */
	T_EQ_INT(sched_create(eng, "c1", "noop", NULL, 0, NULL, 0, id, err,
	    sizeof(err)), RM_EINVAL);
	T_EQ_INT(sched_create(eng, "c1", "noop", NULL, H, "0 * * * *", 0, id,
	    err, sizeof(err)), RM_EINVAL);
	T_EQ_INT(sched_create(eng, "c1", "noop", NULL, 999, NULL, 0, id, err,
	    sizeof(err)), RM_EINVAL);
	T_CHECK(strstr(err, "shorter than one second") != NULL, "%s", err);
	T_EQ_INT(sched_create(eng, "c1", "noop", NULL, H, NULL, -5, id, err,
	    sizeof(err)), RM_EINVAL);
	T_EQ_INT(sched_create(eng, "c1", "noop", NULL, 0, "0 0 31 2 *", 0, id,
	    err, sizeof(err)), RM_EINVAL);
	T_CHECK(strstr(err, "never matches") != NULL, "%s", err);
	T_EQ_INT(sched_create(eng, "c1", "bogus", NULL, H, NULL, 0, id, err,
	    sizeof(err)), RM_EINVAL);
	json_t *bad = json_pack("{s:i}", "steps", 0);
	T_EQ_INT(sched_create(eng, "c1", "noop", bad, H, NULL, 0, id, err,
	    sizeof(err)), RM_EINVAL);
	json_decref(bad);
	T_EQ_INT(sched_create(eng, "ghost", "noop", NULL, H, NULL, 0, id, err,
	    sizeof(err)), RM_ENOENT);
	T_EQ_INT(sched_create(eng, "c1", "noop", NULL, 0, "*/5 * * * *", 0, id,
	    err, sizeof(err)), 0);
	store_schedule_delete(st, id, err, sizeof(err));

	/* every 1h without a start: the next whole hour (UTC). */
	T_EQ_INT(sched_create(eng, "c1", "noop", NULL, H, NULL, 0, id, err,
	    sizeof(err)), 0);
	struct store_schedule sc;
	T_EQ_INT(store_schedule_get(st, id, &sc), 0);
	int64_t next = sc.next_run_at;
	T_CHECK(next > now && next <= time_wall_ms() + 3600000 &&
	    next % 3600000 == 0, "first run %lld", (long long)next);
	store_schedule_release(&sc);
	T_EQ_INT(sched_tick(eng, now), 0);		/* not due yet */
	T_EQ_INT(count_tasks(st, "c1"), 0);

	/* Down for 5 hours: one task, and next_run_at in the future. */
	int64_t later = now + 5 * 3600000 + 5000;
	T_EQ_INT(sched_tick(eng, later), 1);
	T_EQ_INT(count_tasks(st, "c1"), 1);
	T_EQ_INT(sched_tick(eng, later), 0);
	T_EQ_INT(count_tasks(st, "c1"), 1);
	T_EQ_INT(store_schedule_get(st, id, &sc), 0);
	next = sc.next_run_at;
	T_CHECK(next > later - 1000 && next <= later + 3600000, "next %lld",
	    (long long)next);
	store_schedule_release(&sc);

	/* Its task is still queued (workers not started): the next slot
	 * is skipped, not stacked, and next_run_at still moves. */
	T_EQ_INT(sched_tick(eng, later + 3600000), 0);
	T_EQ_INT(count_tasks(st, "c1"), 1);
	T_EQ_INT(store_schedule_get(st, id, &sc), 0);
	T_CHECK(sc.next_run_at > next, "next_run_at did not move");
	store_schedule_release(&sc);

	/* Run the queued task; the next slot fires again. */
	T_EQ_INT(task_start(eng, err, sizeof(err)), 0);
	for (int i = 0; i < 200; i++) {
		struct store_task_page pg;
		size_t n = 0;
		if (store_task_list(st, "c1", "succeeded", NULL, 0, &pg) == 0)
			n = pg.n;
		store_task_page_release(&pg);
		if (n == 1)
			break;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	T_EQ_INT(sched_tick(eng, later + 2 * 3600000), 1);
	T_EQ_INT(count_tasks(st, "c1"), 2);

	/* The ticking thread starts and stops. */
	struct sched *t = sched_new(eng, 50, err, sizeof(err));
	T_CHECK(t != NULL, "sched_new: %s", err);
	struct timespec ts = { 0, 120000000 };
	nanosleep(&ts, NULL);
	sched_free(t);
	sched_free(NULL);

	task_engine_free(eng);
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

int main(void)
{
	test_cron_next();
	test_cron_bad();
	test_next_run();
	test_schedules();
	return t_done("test_cron");
}
