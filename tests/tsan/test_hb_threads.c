/*
 * test_hb_threads.c - the heartbeat tables (orchestrator/service/hb.c)
 * under the threads that use them at once in the orchestrator: HTTP
 * threads absorbing heartbeats and reading nodes, seeds and counts, the
 * check-in path changing nodes, and hb's own flusher and failure detector
 * with a sweep callback.  Built and run by `make tsan` (tests/tsan/run)
 * so ThreadSanitizer sees every pair of them; the checks after the storm
 * hold without TSan too: the nodes that kept beating are up, the silent
 * ones were marked down, and the flusher wrote the heartbeats to the store.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../common/util.h"
#include "../../orchestrator/lifecycle/slot.h"
#include "../../orchestrator/service/hb.h"
#include "../../orchestrator/store/store.h"
#include "../../orchestrator/store/store_cluster.h"
#include "../unit/t.h"

#define NODES 8
#define SILENT 2		/* the last SILENT nodes never beat */
#define BEATERS 3
#define STORM_MS 1500

static struct hb *hb;
static atomic_bool stop;
static atomic_int sweeps;
static char addrs[NODES][32];

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_sweep(void *arg)
{
	(void)arg;
	atomic_fetch_add(&sweeps, 1);
}

static void *beater(void *arg)
{
	int k = (int)(intptr_t)arg, i = 0;
	struct hb_view views[NODES];
	char hid[40];

	for (int j = 0; j < NODES; j++) {
		snprintf(views[j].address, sizeof(views[j].address), "%s", addrs[j]);
		views[j].status = j < NODES - SILENT ? 'U' : 'D';
		views[j].state = 'N';
	}
	while (!atomic_load(&stop)) {
		int n = (k + i++) % (NODES - SILENT);
		struct hb_beat b = {
			.cluster = "c1", .address = addrs[n], .status = "up",
			.load_bytes = 1000 + i, .at_ms = now_ms(), .views = views,
			.nviews = NODES, .views_sent = true,
		};
		snprintf(hid, sizeof(hid), "host-%d", n);
		b.host_id = hid;
		b.report_json = (i % 7 == 0) ? "{\"disk\":{\"free\":1}}" : NULL;
		hb_beat(hb, &b);
		usleep(200);
	}
	return NULL;
}

static void count_cb(const char *cluster, const char *state, int count,
    void *arg)
{
	(void)cluster;
	(void)state;
	*(int *)arg += count;
}

static void down_cb(const char *cluster, const char *address,
    int64_t since, void *arg)
{
	(void)cluster;
	(void)address;
	(void)since;
	(*(int *)arg)++;
}

static void *reader(void *arg)
{
	int i = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		char state[16], **seeds = NULL;
		int64_t last, load;
		int up, down, total = 0, ndown = 0;
		size_t n, members, live;
		struct slot_obs o;
		json_t *nodes = json_array();

		hb_node_view(hb, "c1", addrs[i % NODES], state, sizeof(state),
		    &last, &load);
		for (int j = 0; j < NODES; j++)
			json_array_append_new(nodes, json_pack("{s:s}", "address",
			    addrs[j]));
		hb_merge_nodes(hb, "c1", nodes);
		json_decref(nodes);
		hb_cluster_counts(hb, "c1", &up, &down);
		hb_state_counts(hb, count_cb, &total);
		hb_down_nodes(hb, down_cb, &ndown);
		n = hb_seeds(hb, "c1", NULL, 0, 2, &seeds);
		for (size_t j = 0; j < n; j++)
			free(seeds[j]);
		free(seeds);
		(void)hb_cluster_epoch(hb, "c1");
		hb_cluster_members(hb, "c1", NULL, &members, &live);
		memset(&o, 0, sizeof(o));
		hb_slot_obs(hb, "c1", addrs[0], addrs[NODES - 1], &o);
		i++;
	}
	return NULL;
}

/* What check-ins and operators do meanwhile. */
static void *writer(void *arg)
{
	int i = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		const char *a = addrs[i % (NODES - SILENT)];

		hb_node_place(hb, "c1", a, "dc1", i % 2 ? "r1" : "r2", -1);
		hb_node_reason(hb, "c1", a, "chaos");
		hb_slot_set(hb, "c1", i % 3 ? "" : addrs[1]);
		hb_set_timeout(hb, 300);
		if (i % 50 == 0)
			hb_flush(hb);
		i++;
		usleep(500);
	}
	return NULL;
}

int main(void)
{
	char dir[] = "/tmp/rm-tsan-hb-XXXXXX", path[128], err[256] = "";
	pthread_t th[BEATERS + 2];
	struct store *st;
	size_t nth = 0;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/hb.db", dir);
	if ((st = store_open(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "store_open: %s\n", err);
		return 1;
	}
	struct store_cluster c = { .name = "c1", .storage_url = "file:///tmp/x",
		.ssh_user = "u", .ssh_key_file = "/k" };
	T_EQ_INT(store_cluster_create(st, &c, err, sizeof(err)), 0);
	for (int j = 0; j < NODES; j++) {
		snprintf(addrs[j], sizeof(addrs[j]), "10.9.0.%d", j + 1);
		struct store_node n = { .cluster = "c1", .address = addrs[j],
			.state = "up", .last_heartbeat = -1, .load_bytes = -1,
			.is_seed = -1, .dc = "dc1", .rack = "r1" };
		T_EQ_INT(store_node_upsert(st, &n, NULL, err, sizeof(err)), 0);
	}
	hb = hb_new(st, 300, 20, err, sizeof(err));
	T_CHECK(hb != NULL, "hb_new: %s", err);
	if (hb == NULL)
		return t_done("test_hb_threads");
	for (int j = 0; j < NODES; j++)
		hb_node_set(hb, "c1", addrs[j], "up", now_ms(), NULL, NULL);
	hb_set_sweep(hb, on_sweep, NULL);
	T_EQ_INT(hb_start(hb, err, sizeof(err)), 0);

	for (int k = 0; k < BEATERS; k++)
		pthread_create(&th[nth++], NULL, beater, (void *)(intptr_t)k);
	pthread_create(&th[nth++], NULL, reader, NULL);
	pthread_create(&th[nth++], NULL, writer, NULL);
	usleep(STORM_MS * 1000);
	atomic_store(&stop, true);
	for (size_t k = 0; k < nth; k++)
		pthread_join(th[k], NULL);

	T_CHECK(atomic_load(&sweeps) > 0, "the sweep never ran");
	for (int j = 0; j < NODES; j++) {
		char state[16] = "";
		int64_t last = 0, load = 0;

		T_CHECK(hb_node_view(hb, "c1", addrs[j], state, sizeof(state),
		    &last, &load), "%s unknown", addrs[j]);
		if (j < NODES - SILENT)
			T_CHECK(strcmp(state, "up") == 0 && load > 1000,
			    "%s beat but is '%s' (load %lld)", addrs[j], state,
			    (long long)load);
		else
			T_CHECK(strcmp(state, "up") != 0,
			    "%s was silent for %d ms but is still up", addrs[j],
			    STORM_MS);
	}
	hb_stop(hb);
	/* hb_stop() flushes last: every beating node's heartbeat is stored. */
	for (int j = 0; j < NODES - SILENT; j++) {
		struct store_node_row r;

		memset(&r, 0, sizeof(r));
		T_EQ_INT(store_node_get(st, "c1", addrs[j], &r), 0);
		T_CHECK(r.last_heartbeat > 0 && r.load_bytes > 1000,
		    "%s: heartbeat not flushed (last %lld, load %lld)", addrs[j],
		    (long long)r.last_heartbeat, (long long)r.load_bytes);
		store_node_row_release(&r);
	}
	hb_free(hb);
	store_close(st);
	for (const char *const *f = (const char *const[]){ "hb.db", "hb.db-wal",
	    "hb.db-shm", NULL }; *f != NULL; f++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *f);
		unlink(path);
	}
	rmdir(dir);
	return t_done("test_hb_threads");
}
