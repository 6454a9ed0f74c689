/*
 * bench_tasks - the full task path with persistence: task_submit(eng, ) (plan,
 * insert task and steps, queue), a worker runs the noop step, writes its
 * start and end, the task succeeds.  Submitters run beside the workers.
 *
 *	bench_tasks [-n tasks] [-c clusters] [-w workers] [-s submitters]
 *	            [-d dir]
 *
 * Prints one result line; the target is >= 10,000 completions/s.  Also
 * prints the CPU time per task, the figure to compare on a busy machine.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../../orchestrator/store/store.h"
#include "../../orchestrator/engine/task.h"

static atomic_long completed, failed;
static struct task_engine *eng;
static long ntasks, nclusters, nsubmitters;

static void observer(const struct task_event *ev, void *arg)
{
	(void)arg;
	if (ev->to == STORE_TASK_SUCCEEDED)
		atomic_fetch_add_explicit(&completed, 1, memory_order_relaxed);
	else if (store_task_state_terminal(ev->to))
		atomic_fetch_add_explicit(&failed, 1, memory_order_relaxed);
}

static void *submitter(void *arg)
{
	long me = (long)(intptr_t)arg;
	char name[32], id[STORE_ID_MAX], err[256];

	for (long i = me; i < ntasks; i += nsubmitters) {
		snprintf(name, sizeof(name), "cluster-%ld", i % nclusters);
		if (task_submit(eng, name, "noop", NULL, id, err, sizeof(err)) < 0) {
			fprintf(stderr, "bench_tasks: submit: %s\n", err);
			atomic_fetch_add(&failed, 1);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long nworkers = 4;
	char tmpl[] = "/tmp/bench_tasks.XXXXXX", path[512], err[256],
	    name[32], *dir = NULL;
	struct store *st;
	pthread_t *th;
	int64_t t0, t1;
	int ch;

	ntasks = 20000;
	nclusters = 1000;
	nsubmitters = 2;	/* the daemon's HTTP threads submit in parallel */
	while ((ch = getopt(argc, argv, "n:c:w:s:d:")) != -1) {
		switch (ch) {
		case 'n': ntasks = atol(optarg); break;
		case 'c': nclusters = atol(optarg); break;
		case 'w': nworkers = atol(optarg); break;
		case 's': nsubmitters = atol(optarg); break;
		case 'd': dir = optarg; break;
		default:
			fprintf(stderr, "usage: bench_tasks [-n tasks] "
			    "[-c clusters] [-w workers] [-s submitters] "
			    "[-d dir]\n");
			return 2;
		}
	}
	if (ntasks < 1 || nclusters < 1 || nworkers < 1 || nsubmitters < 1)
		return 2;
	log_init("bench_tasks", NULL, LOG_LVL_WARN);
	if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/state.db", dir);
	if ((st = store_open(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_tasks: %s\n", err);
		return 1;
	}
	for (long c = 0; c < nclusters; c++) {
		struct store_cluster cl = {
			.name = name, .storage_url = "file:///tmp/bench",
			.ssh_user = "u", .ssh_key_file = "/k",
		};
		snprintf(name, sizeof(name), "cluster-%ld", c);
		if (store_cluster_create(st, &cl, err, sizeof(err)) < 0 &&
		    !store_cluster_exists(st, name)) {
			fprintf(stderr, "bench_tasks: %s\n", err);
			return 1;
		}
	}
	if ((eng = task_engine_new(st, (int)nworkers, err, sizeof(err))) ==
	    NULL ||
	    task_resume_all(eng, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_tasks: %s\n", err);
		return 1;
	}
	task_set_observer(eng, observer, NULL);
	if (task_start(eng, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_tasks: %s\n", err);
		return 1;
	}

	t0 = time_mono_ms();
	th = xcalloc((size_t)nsubmitters, sizeof(*th));
	for (long i = 0; i < nsubmitters; i++)
		pthread_create(&th[i], NULL, submitter, (void *)(intptr_t)i);
	for (long i = 0; i < nsubmitters; i++)
		pthread_join(th[i], NULL);
	while (atomic_load(&completed) + atomic_load(&failed) < ntasks) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	t1 = time_mono_ms();
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	task_engine_free(eng);
	store_close(st);
	free(th);

	double s = (double)(t1 - t0) / 1000.0;
	if (s <= 0)
		s = 0.001;
	printf("bench_tasks: %ld noop tasks (persisted: insert, start, end) "
	    "on %ld clusters, %ld workers, %ld submitters in %.3f s: %.0f "
	    "completions/s (target >= 10000), %.0f us CPU per task, %ld "
	    "failed [%s -n %ld -c %ld -w %ld -s %ld]\n", ntasks, nclusters,
	    nworkers, nsubmitters, s, (double)atomic_load(&completed) / s,
	    cpu * 1e6 / (double)ntasks, atomic_load(&failed), argv[0], ntasks,
	    nclusters, nworkers, nsubmitters);
	if (strcmp(dir, tmpl) == 0) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return atomic_load(&failed) ? 1 : 0;
}
