/*
 * bench_queue - the per-cluster queues and the worker pool alone: no-op
 * callbacks through many clusters, pushed while the workers run.
 *
 *	bench_queue [-n tasks] [-c clusters] [-w workers]
 *
 * Prints one result line; the target is >= 100,000 tasks/s through 1,000
 * clusters on 2 cores.
 */
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/util.h"
#include "../../orchestrator/engine/queue.h"

static atomic_long done;

static enum queue_result noop_cb(const char *cluster, const char *id,
    void *arg)
{
	(void)cluster;
	(void)id;
	(void)arg;
	atomic_fetch_add_explicit(&done, 1, memory_order_relaxed);
	return QUEUE_DONE;
}

int main(int argc, char **argv)
{
	long ntasks = 2000000, nclusters = 1000, nworkers = 2;
	char name[32], id[32], err[128];
	struct queue *q;
	int64_t t0, t1;
	int ch;

	while ((ch = getopt(argc, argv, "n:c:w:")) != -1) {
		switch (ch) {
		case 'n': ntasks = atol(optarg); break;
		case 'c': nclusters = atol(optarg); break;
		case 'w': nworkers = atol(optarg); break;
		default:
			fprintf(stderr, "usage: bench_queue [-n tasks] "
			    "[-c clusters] [-w workers]\n");
			return 2;
		}
	}
	if (ntasks < 1 || nclusters < 1 || nworkers < 1)
		return 2;
	q = queue_new();
	for (long c = 0; c < nclusters; c++) {
		snprintf(name, sizeof(name), "cluster-%ld", c);
		queue_cluster_add(q, name);
	}
	if (queue_start(q, (int)nworkers, noop_cb, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_queue: %s\n", err);
		return 1;
	}
	t0 = time_mono_ms();
	for (long i = 0; i < ntasks; i++) {
		snprintf(name, sizeof(name), "cluster-%ld", i % nclusters);
		snprintf(id, sizeof(id), "t-%016lx", i);
		queue_push(q, name, id, QUEUE_READY);
	}
	while (atomic_load(&done) < ntasks) {
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
	}
	t1 = time_mono_ms();
	queue_free(q);
	double s = (double)(t1 - t0) / 1000.0;
	if (s <= 0)
		s = 0.001;
	printf("bench_queue: %ld no-op tasks through %ld clusters on %ld "
	    "workers in %.3f s: %.0f tasks/s (target >= 100000) [%s -n %ld "
	    "-c %ld -w %ld]\n", ntasks, nclusters, nworkers, s,
	    (double)ntasks / s, argv[0], ntasks, nclusters, nworkers);
	return 0;
}
