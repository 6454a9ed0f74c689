/*
 * test_queue.c - the per-cluster FIFOs and the worker pool: fairness,
 * serial per cluster, parallel across clusters, hold/block/park, removal.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/util.h"
#include "../../orchestrator/engine/queue.h"
#include "t.h"

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Wait up to ms for *v to reach want. */
static bool wait_int(atomic_int *v, int want, int ms)
{
	int64_t end = time_mono_ms() + ms;

	while (atomic_load(v) < want && time_mono_ms() < end)
		sleep_ms(1);
	return atomic_load(v) >= want;
}

/* ---- a log of what ran, in order ---------------------------------------- */

#define LOG_MAX 4096
static char run_log[LOG_MAX][32];
static atomic_int nrun;

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

/* The entry is written before nrun counts it, so readers that saw nrun
 * also see the entry (the mutex orders writers). */
static enum queue_result log_cb(const char *cluster, const char *id, void *arg)
{
	int i;

	(void)cluster;
	(void)arg;
	pthread_mutex_lock(&log_mu);
	i = atomic_load(&nrun);
	if (i < LOG_MAX)
		snprintf(run_log[i], sizeof(run_log[i]), "%s", id);
	atomic_store(&nrun, i + 1);
	pthread_mutex_unlock(&log_mu);
	return QUEUE_DONE;
}

static int log_index(const char *id)
{
	for (int i = 0; i < atomic_load(&nrun) && i < LOG_MAX; i++)
		if (strcmp(run_log[i], id) == 0)
			return i;
	return -1;
}

static void test_fairness(void)
{
	struct queue *q = queue_new();
	char id[32], err[128];

	atomic_store(&nrun, 0);
	queue_cluster_add(q, "a");
	queue_cluster_add(q, "b");
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "a-%d", i);
		T_EQ_INT(queue_push(q, "a", id, QUEUE_READY), 0);
	}
	T_EQ_INT(queue_push(q, "b", "b-0", QUEUE_READY), 0);
	T_EQ_INT(queue_depth(q, "a"), 1000);
	T_EQ_INT(queue_total(q), 1001);
	T_EQ_INT(queue_start(q, 1, log_cb, NULL, err, sizeof(err)), 0);
	T_CHECK(wait_int(&nrun, 1001, 5000), "ran %d of 1001", atomic_load(&nrun));
	/* One worker: a-0, then b gets its turn before a-1. */
	T_EQ_STR(run_log[0], "a-0");
	T_EQ_STR(run_log[1], "b-0");
	T_EQ_STR(run_log[2], "a-1");
	/* FIFO within a cluster. */
	bool ordered = true;
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "a-%d", i);
		if (log_index(id) != (i == 0 ? 0 : i + 1))
			ordered = false;
	}
	T_CHECK(ordered, "cluster a ran out of order");
	T_EQ_INT(queue_depth(q, "a"), 0);
	queue_free(q);
}

/* ---- serial per cluster, parallel across clusters ----------------------- */

#define NCL 20
#define PER 50
static atomic_int inflight[NCL], max_inflight_cluster, global_inflight,
    max_global, done_count;
static int last_seen[NCL];
static atomic_int order_errors;

static enum queue_result serial_cb(const char *cluster, const char *id,
    void *arg)
{
	int ci = atoi(cluster + 1), seq = atoi(strchr(id, '-') + 1);
	int n, g;

	(void)arg;
	n = atomic_fetch_add(&inflight[ci], 1) + 1;
	if (n > atomic_load(&max_inflight_cluster))
		atomic_store(&max_inflight_cluster, n);
	g = atomic_fetch_add(&global_inflight, 1) + 1;
	if (g > atomic_load(&max_global))
		atomic_store(&max_global, g);
	/* Exclusive per cluster: last_seen needs no lock if serial. */
	if (seq != last_seen[ci] + 1)
		atomic_fetch_add(&order_errors, 1);
	last_seen[ci] = seq;
	sleep_ms(seq % 3 == 0 ? 1 : 0);
	atomic_fetch_sub(&global_inflight, 1);
	atomic_fetch_sub(&inflight[ci], 1);
	atomic_fetch_add(&done_count, 1);
	return QUEUE_DONE;
}

static void test_serial_parallel(void)
{
	struct queue *q = queue_new();
	char name[16], id[32], err[128];

	for (int c = 0; c < NCL; c++) {
		last_seen[c] = -1;
		snprintf(name, sizeof(name), "c%d", c);
		queue_cluster_add(q, name);
	}
	T_EQ_INT(queue_start(q, 4, serial_cb, NULL, err, sizeof(err)), 0);
	for (int i = 0; i < PER; i++) {
		for (int c = 0; c < NCL; c++) {
			snprintf(name, sizeof(name), "c%d", c);
			snprintf(id, sizeof(id), "c%d-%d", c, i);
			queue_push(q, name, id, QUEUE_READY);
		}
	}
	T_CHECK(wait_int(&done_count, NCL * PER, 10000), "done %d",
	    atomic_load(&done_count));
	T_EQ_INT(atomic_load(&max_inflight_cluster), 1);
	T_EQ_INT(atomic_load(&order_errors), 0);
	T_CHECK(atomic_load(&max_global) > 1, "clusters never ran in "
	    "parallel (max %d)", atomic_load(&max_global));
	T_CHECK(atomic_load(&max_global) <= 4, "more callbacks than workers");
	queue_free(q);
}

/* ---- hold, block, park, remove ------------------------------------------ */

static atomic_int gate;		/* callbacks of "slow" wait for it */
static atomic_int park_first;	/* the first run of "p" parks */

static enum queue_result ctl_cb(const char *cluster, const char *id,
    void *arg)
{
	(void)arg;
	if (strcmp(id, "slow") == 0)
		while (!atomic_load(&gate))
			sleep_ms(1);
	if (strcmp(id, "p") == 0 && atomic_exchange(&park_first, 0)) {
		log_cb(cluster, "p-parked", NULL);
		return QUEUE_PARK;
	}
	return log_cb(cluster, id, NULL);
}

static void test_hold_block_park(void)
{
	struct queue *q = queue_new();
	char err[128], running[32];

	atomic_store(&nrun, 0);
	atomic_store(&gate, 0);
	queue_cluster_add(q, "x");
	T_EQ_INT(queue_push(q, "nope", "t", QUEUE_READY), -1);
	T_EQ_INT(queue_start(q, 2, ctl_cb, NULL, err, sizeof(err)), 0);

	/* A held id is skipped, keeps its place, runs once released. */
	queue_push(q, "x", "h1", QUEUE_HELD);
	queue_push(q, "x", "r1", QUEUE_READY);
	T_CHECK(wait_int(&nrun, 1, 2000), "nothing ran");
	sleep_ms(30);
	T_EQ_INT(atomic_load(&nrun), 1);
	T_EQ_STR(run_log[0], "r1");
	T_EQ_INT(queue_depth(q, "x"), 1);
	T_CHECK(queue_set_hold(q, "x", "h1", QUEUE_READY), "set_hold h1");
	T_CHECK(wait_int(&nrun, 2, 2000), "h1 did not run");
	T_EQ_STR(run_log[1], "h1");

	/* A BLOCK id stops the whole cluster until it is removed. */
	queue_push(q, "x", "r2", QUEUE_READY);
	T_CHECK(wait_int(&nrun, 3, 2000), "r2 did not run");
	queue_push(q, "x", "r3", QUEUE_HELD);	/* held behind */
	queue_push(q, "x", "b1", QUEUE_BLOCK);
	queue_set_hold(q, "x", "r3", QUEUE_READY);
	sleep_ms(30);
	T_EQ_INT(atomic_load(&nrun), 3);
	T_EQ_INT(queue_depth(q, "x"), 2);
	T_CHECK(queue_remove(q, "x", "b1"), "remove b1");
	T_CHECK(!queue_remove(q, "x", "b1"), "removed b1 twice");
	T_CHECK(wait_int(&nrun, 4, 2000), "r3 did not run after unblock");
	T_EQ_STR(run_log[3], "r3");

	/* A parked task keeps the head; releasing it runs it again first. */
	atomic_store(&park_first, 1);
	queue_push(q, "x", "p", QUEUE_READY);
	T_CHECK(wait_int(&nrun, 5, 2000), "p did not run");
	queue_push(q, "x", "after-p", QUEUE_READY);
	sleep_ms(30);
	T_EQ_INT(atomic_load(&nrun), 5);
	T_EQ_STR(run_log[4], "p-parked");
	T_CHECK(queue_set_hold(q, "x", "p", QUEUE_READY), "release p");
	T_CHECK(wait_int(&nrun, 7, 2000), "p and after-p did not run");
	T_EQ_STR(run_log[5], "p");
	T_EQ_STR(run_log[6], "after-p");

	/* Remove a running task: refused; running is reported. */
	queue_push(q, "x", "slow", QUEUE_READY);
	queue_push(q, "x", "q1", QUEUE_READY);
	sleep_ms(30);
	T_CHECK(queue_running(q, "x", running, sizeof(running)), "not running");
	T_EQ_STR(running, "slow");
	T_EQ_INT(queue_busy(q), 1);
	T_CHECK(!queue_remove(q, "x", "slow"), "removed a running task");
	T_CHECK(queue_remove(q, "x", "q1"), "could not remove queued q1");
	atomic_store(&gate, 1);
	T_CHECK(wait_int(&nrun, 8, 2000), "slow did not finish");
	sleep_ms(10);
	T_CHECK(!queue_running(q, "x", NULL, 0), "still running");
	T_EQ_INT(queue_depth(q, "x"), 0);

	/* Remove a cluster while its task runs: freed when it returns. */
	atomic_store(&gate, 0);
	queue_cluster_add(q, "y");
	queue_push(q, "y", "slow", QUEUE_READY);
	queue_push(q, "y", "y1", QUEUE_READY);
	queue_push(q, "y", "y2", QUEUE_READY);
	sleep_ms(30);
	T_EQ_INT(queue_cluster_remove(q, "y"), 2);
	T_CHECK(!queue_cluster_exists(q, "y"), "y still exists");
	T_EQ_INT(queue_cluster_remove(q, "y"), -1);
	atomic_store(&gate, 1);
	sleep_ms(30);
	T_EQ_INT(queue_busy(q), 0);
	queue_free(q);
}

/* queue_stop waits for running callbacks and leaves the rest queued. */
static void test_stop(void)
{
	struct queue *q = queue_new();
	char err[128];

	atomic_store(&nrun, 0);
	atomic_store(&gate, 0);
	queue_cluster_add(q, "z");
	queue_push(q, "z", "slow", QUEUE_READY);
	queue_push(q, "z", "z1", QUEUE_READY);
	T_EQ_INT(queue_start(q, 1, ctl_cb, NULL, err, sizeof(err)), 0);
	T_CHECK(queue_start(q, 1, ctl_cb, NULL, err, sizeof(err)) < 0,
	    "started twice");
	sleep_ms(20);
	atomic_store(&gate, 1);
	queue_stop(q);
	T_CHECK(atomic_load(&nrun) >= 1, "slow did not finish before stop");
	T_EQ_INT(queue_busy(q), 0);
	queue_stop(q);
	queue_free(q);
	queue_free(NULL);
}

int main(void)
{
	test_fairness();
	test_serial_parallel();
	test_hold_block_park();
	test_stop();
	return t_done("test_queue");
}
