/*
 * test_store.c - state.db: migrations on a fresh file and on re-open,
 * CRUD with foreign keys and cascades, cursor pagination, heartbeat
 * batches, task/step updates and events (their hand-written detail
 * JSON), schedules, tokens, existence and nodes in one read; group commit
 * under concurrency; recovery of a WAL left by a process that died.
 * Reads return typed rows; the API's JSON of them (service_json.c) is
 * checked here too, on rows read back from the store.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/util.h"
#include "../../orchestrator/service/service_json.h"
#include "../../orchestrator/store/store.h"
#include "t.h"

static char dir[] = "/tmp/test_store.XXXXXX";
static char path[256];

static struct store *open_store(void)
{
	char err[256] = "";
	struct store *st = store_open(path, err, sizeof(err));

	T_CHECK(st != NULL, "store_open: %s", err);
	if (st == NULL)
		exit(1);
	return st;
}

static void add_cluster(struct store *st, const char *name)
{
	struct store_cluster c = {
		.name = name, .storage_url = "file:///tmp/x",
		.ssh_user = "ubuntu", .ssh_key_file = "/k",
	};
	char err[256] = "";

	T_EQ_INT(store_cluster_create(st, &c, err, sizeof(err)), 0);
}

static const char *jget(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The number of tasks of cluster (in state, when not NULL), or -1 when
 * the list fails. */
static int count_tasks(struct store *st, const char *cluster,
    const char *state)
{
	struct store_task_page pg;
	int n = -1;

	if (store_task_list(st, cluster, state, NULL, 1000, &pg) == 0)
		n = (int)pg.n;
	store_task_page_release(&pg);
	return n;
}

static void test_migrations(void)
{
	struct store *st = open_store();
	char err[256];
	/* No number here: migrations of parallel work are merged in any
	 * order.  Every one applied, and a re-open applies none again. */
	int v = store_schema_version(st);

	T_CHECK(v > 0, "schema version %d", v);
	store_close(st);
	st = open_store();		/* idempotent re-open */
	T_EQ_INT(store_schema_version(st), v);
	store_close(st);
	store_close(NULL);
	T_CHECK(store_open(":memory:", err, sizeof(err)) == NULL,
	    "memory store accepted");
	T_CHECK(store_open("/nonexistent/dir/x.db", err, sizeof(err)) == NULL,
	    "opened in a missing directory");
}

/*
 * A process that dies without closing leaves its commits in the WAL only;
 * the next open recovers them from the frames, checking each frame's
 * header (the writer's VFS joins header and page into one write, so a
 * header lost or misplaced there loses the commits here).  Runs first,
 * before this process has threads, because it forks.
 */
static void test_recovery_after_exit(void)
{
	char p[300], err[256] = "", id[STORE_ID_MAX];
	struct store_cluster cl = { "crash", "file:///tmp/b", NULL, NULL,
	    "cassandra", 22, "/k" };
	struct store *st;
	pid_t pid;
	int status = -1;

	snprintf(p, sizeof(p), "%s/crash.db", dir);
	if ((pid = fork()) == 0) {
		struct store_step_plan step = { "s", NULL };
		struct store_task_new tn = { .cluster = "crash",
		    .type = "noop", .steps = &step, .nsteps = 1 };
		struct store_step_update end = { 0, STORE_STEP_SUCCEEDED, 1,
		    1, 2, STORE_KEEP, NULL };

		if ((st = store_open(p, err, sizeof(err))) == NULL ||
		    store_cluster_create(st, &cl, err, sizeof(err)) != 0)
			_exit(2);
		for (int i = 0; i < 300; i++) {
			if (store_task_insert(st, &tn, id, NULL, err,
			    sizeof(err)) != 0)
				_exit(3);
			if (i % 2 == 0 && store_task_update(st, id,
			    STORE_TASK_SUCCEEDED, 0, NULL, &end, 1, err,
			    sizeof(err)) != 0)
				_exit(4);
		}
		_exit(0);		/* no store_close(): as if killed */
	}
	T_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "writer process failed: status %d", status);
	st = store_open(p, err, sizeof(err));
	T_CHECK(st != NULL, "reopen: %s", err);
	if (st == NULL)
		return;
	T_EQ_INT(count_tasks(st, "crash", NULL), 300);
	T_EQ_INT(count_tasks(st, "crash", "succeeded"), 150);
	store_close(st);
}

static void test_clusters_nodes(struct store *st)
{
	char err[256];
	struct store_cluster_row cr;
	struct store_cluster_page page;
	struct store_node_row nr;
	struct store_nodes nodes;
	json_t *j;
	bool created = false;
	struct store_cluster dup = {
		.name = "prod", .storage_url = "s3://b/p", .ssh_user = "u",
		.ssh_key_file = "/k",
	};

	add_cluster(st, "prod");
	T_EQ_INT(store_cluster_create(st, &dup, err, sizeof(err)),
	    RM_EEXIST);
	T_CHECK(strstr(err, "already exists") != NULL, "err '%s'", err);
	T_CHECK(store_cluster_exists(st, "prod"), "prod missing");
	T_CHECK(!store_cluster_exists(st, "nope"), "nope exists");
	T_EQ_INT(store_cluster_get(st, "prod", &cr), 0);
	T_EQ_STR(cr.name, "prod");
	T_EQ_STR(cr.storage_url, "file:///tmp/x");
	T_CHECK(cr.storage_endpoint == NULL && cr.storage_region == NULL,
	    "endpoint or region set");
	T_EQ_STR(cr.ssh_user, "ubuntu");
	T_EQ_INT(cr.ssh_port, 22);
	T_EQ_STR(cr.ssh_key_file, "/k");
	T_CHECK(cr.created_at > 1700000000000, "created_at %lld",
	    (long long)cr.created_at);
	T_EQ_INT(cr.nodes, 0);
	/* The API's shape of it. */
	j = svc_json_cluster(&cr);
	T_EQ_STR(jget(j, "name"), "prod");
	T_EQ_STR(jget(json_object_get(j, "storage"), "url"), "file:///tmp/x");
	T_CHECK(json_is_null(json_object_get(json_object_get(j, "storage"),
	    "endpoint")), "endpoint not null");
	T_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "ssh"),
	    "port")), 22);
	T_EQ_STR(jget(json_object_get(j, "ssh"), "key_file"), "/k");
	T_CHECK(json_is_string(json_object_get(j, "created_at")), "created_at");
	T_EQ_INT(json_integer_value(json_object_get(j, "nodes")), 0);
	json_decref(j);
	store_cluster_row_release(&cr);
	T_EQ_INT(store_cluster_get(st, "nope", &cr), RM_ENOENT);
	store_cluster_row_release(&cr);

	/* Pagination by name. */
	const char *names[] = { "a1", "a2", "a3", "a4" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		add_cluster(st, names[i]);
	int seen = 0, pages = 0;
	char cursor[128] = "";
	do {
		T_EQ_INT(store_cluster_list(st, cursor[0] ? cursor : NULL, 2,
		    &page), 0);
		seen += (int)page.n;
		if (pages == 0 && page.n == 2) {
			T_EQ_STR(page.items[0].name, "a1");
			T_EQ_STR(page.next, "a2");
			j = svc_json_cluster_page(&page);
			T_EQ_STR(jget(j, "next"), "a2");
			T_EQ_INT(json_array_size(json_object_get(j, "items")),
			    2);
			json_decref(j);
		}
		if (pages == 2) {
			T_EQ_STR(page.next, "");	/* the last page */
			j = svc_json_cluster_page(&page);
			T_CHECK(json_is_null(json_object_get(j, "next")),
			    "next not null on the last page");
			json_decref(j);
		}
		str_copy(cursor, page.next, sizeof(cursor));
		store_cluster_page_release(&page);
		pages++;
	} while (cursor[0] && pages < 10);
	T_EQ_INT(seen, 5);
	T_EQ_INT(pages, 3);

	char **v;
	size_t n;
	T_EQ_INT(store_cluster_names(st, &v, &n), 0);
	T_EQ_INT(n, 5);
	T_EQ_STR(v[0], "a1");
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);

	/* Nodes: upsert keeps unspecified fields. */
	struct store_node nd = {
		.cluster = "prod", .address = "10.0.0.1", .host_id = "h1",
		.dc = "dc1", .rack = "r1", .state = "up", .version = "4.1.3",
		.last_heartbeat = -1, .load_bytes = 100, .is_seed = 1,
	};
	T_EQ_INT(store_node_upsert(st, &nd, &created, err, sizeof(err)), 0);
	T_CHECK(created, "first upsert did not create");
	nd = (struct store_node){ .cluster = "prod", .address = "10.0.0.1",
	    .state = "down", .last_heartbeat = -1, .load_bytes = -1,
	    .is_seed = -1 };
	T_EQ_INT(store_node_upsert(st, &nd, &created, err, sizeof(err)), 0);
	T_CHECK(!created, "second upsert created");
	T_EQ_INT(store_node_get(st, "prod", "10.0.0.1", &nr), 0);
	T_EQ_STR(nr.cluster, "prod");
	T_EQ_STR(nr.state, "down");
	T_EQ_STR(nr.dc, "dc1");
	T_EQ_STR(nr.rack, "r1");
	T_EQ_STR(nr.host_id, "h1");
	T_EQ_STR(nr.version, "4.1.3");
	T_CHECK(nr.ssh_host_key == NULL, "host key set");
	T_CHECK(nr.status_json == NULL, "status set");
	T_EQ_INT(nr.load_bytes, 100);
	T_EQ_INT(nr.last_heartbeat, 0);
	T_CHECK(nr.is_seed, "is_seed lost");
	store_node_row_release(&nr);
	T_EQ_INT(store_node_get(st, "prod", "10.9.9.9", &nr), RM_ENOENT);
	store_node_row_release(&nr);
	T_EQ_INT(store_node_find_host(st, "prod", "h1", &nr), 0);
	T_EQ_STR(nr.address, "10.0.0.1");
	store_node_row_release(&nr);
	T_EQ_INT(store_node_find_host(st, "prod", "h-none", &nr), RM_ENOENT);
	store_node_row_release(&nr);
	nd = (struct store_node){ .cluster = "prod", .address = "10.0.0.2",
	    .last_heartbeat = -1, .load_bytes = -1, .is_seed = -1 };
	T_EQ_INT(store_node_upsert(st, &nd, NULL, err, sizeof(err)), 0);
	nd.cluster = "ghost";
	T_EQ_INT(store_node_upsert(st, &nd, NULL, err, sizeof(err)),
	    RM_ENOENT);

	/* Heartbeats in one batch; unknown nodes skipped. */
	struct store_hb hbs[] = {
		{ "prod", "10.0.0.1", "up", "{\"load\":1}", 1700000000000, 5 },
		{ "prod", "10.0.0.2", "up", NULL, 1700000001000, -1 },
		{ "prod", "10.9.9.9", "up", NULL, 1700000001000, -1 },
	};
	T_EQ_INT(store_heartbeats_apply(st, hbs, 3, err, sizeof(err)), 2);
	T_EQ_INT(store_node_get(st, "prod", "10.0.0.1", &nr), 0);
	T_EQ_INT(nr.last_heartbeat, 1700000000000);
	T_EQ_STR(nr.status_json, "{\"load\":1}");
	T_EQ_INT(nr.load_bytes, 5);
	/* The API's shape: times in RFC 3339 with ms, status parsed. */
	j = svc_json_node(&nr);
	T_EQ_STR(jget(j, "last_heartbeat"), "2023-11-14T22:13:20.000Z");
	T_EQ_INT(json_integer_value(json_object_get(json_object_get(j,
	    "status"), "load")), 1);
	T_EQ_STR(jget(j, "address"), "10.0.0.1");
	T_CHECK(json_is_null(json_object_get(j, "ssh_host_key")),
	    "ssh_host_key not null");
	T_CHECK(json_is_true(json_object_get(j, "is_seed")), "is_seed");
	T_EQ_INT(json_integer_value(json_object_get(j, "load_bytes")), 5);
	json_decref(j);
	/* A status that is not JSON shows as null, not as an error. */
	free(nr.status_json);
	nr.status_json = xstrdup("{not json");
	j = svc_json_node(&nr);
	T_CHECK(json_is_null(json_object_get(j, "status")), "bad status");
	json_decref(j);
	store_node_row_release(&nr);
	T_EQ_INT(store_node_list(st, "prod", &nodes), 0);
	T_EQ_INT(nodes.n, 2);
	T_EQ_STR(nodes.items[0].address, "10.0.0.1");
	T_EQ_STR(nodes.items[1].address, "10.0.0.2");
	T_CHECK(nodes.items[1].host_id == NULL, "host id of 10.0.0.2");
	j = svc_json_nodes(&nodes);
	T_EQ_INT(json_array_size(j), 2);
	T_CHECK(json_is_null(json_object_get(json_array_get(j, 1), "host_id")),
	    "host_id not null");
	json_decref(j);
	store_nodes_release(&nodes);
	T_EQ_INT(store_node_list(st, "nope", &nodes), 0);
	T_EQ_INT(nodes.n, 0);
	store_nodes_release(&nodes);
	T_EQ_INT(store_cluster_get(st, "prod", &cr), 0);
	T_EQ_INT(cr.nodes, 2);
	T_EQ_INT(cr.nodes_up, 2);
	T_EQ_INT(cr.nodes_down, 0);
	store_cluster_row_release(&cr);
	T_EQ_INT(store_node_delete(st, "prod", "10.0.0.2", err, sizeof(err)), 0);
	T_EQ_INT(store_node_delete(st, "prod", "10.0.0.2", err, sizeof(err)),
	    RM_ENOENT);
}

static int insert_task(struct store *st, const char *cluster, size_t nsteps,
    char *id)
{
	struct store_step_plan steps[3] = {
		{ "snapshot", "10.0.0.1" }, { "upload", "10.0.0.1" },
		{ "manifest", NULL },
	};
	json_t *params = json_pack("{s:i}", "x", 1);
	struct store_task_new tn = {
		.cluster = cluster, .type = "noop", .params = params,
		.steps = steps, .nsteps = nsteps,
	};
	char err[256] = "";
	int rc = store_task_insert(st, &tn, id, NULL, err, sizeof(err));

	json_decref(params);
	return rc;
}

/* A task of cluster "m" ended in state to (from running), or the
 * store's code. */
static int end_task(struct store *st, const char *id,
    enum store_task_state to, const char *error)
{
	char err[256] = "";

	if (store_task_update(st, id, STORE_TASK_RUNNING, 0, NULL, NULL, 0,
	    err, sizeof(err)) != 0)
		return -100;
	return store_task_update(st, id, (int)to, 0, error, NULL, 0, err,
	    sizeof(err));
}

/*
 * The migration that lets tasks end "partial" rebuilds the tasks table
 * (a CHECK changes no other way).  A database one version older, with
 * tasks in every state, their steps, per-node records, a failure-hook
 * intent and a schedule's task, comes through it whole: the same rows in
 * the same order, steps still joined, foreign keys still cascading, and a
 * task may then end partial.  The older version is the newest that
 * refuses "partial" (migrations of parallel work merge in any order).
 */
static void test_migration_partial(void)
{
	char p[300], err[256] = "", id[6][STORE_ID_MAX];
	struct store_schedule sc = { 0 };
	struct store_node_progress np = {
		.node = "segment 1", .phase = "ranges (1,2] replicas a,b on a",
		.files_done = -1, .files_total = -1, .bytes_done = -1,
		.bytes_total = -1, .rate_bps = -1, .state = "failed",
		.message = "boom", .updated_at = 1700000000000,
	};
	struct store_step_plan step = { "s", NULL };
	struct store_task_new tn = { .cluster = "m", .type = "noop",
	    .steps = &step, .nsteps = 1 };
	struct store_task_detail d;
	struct store *st = NULL;
	int prev = 0;

	/* the newest version where a task cannot end partial */
	for (int v = store_schema_latest(); v >= 1 && prev == 0; v--) {
		snprintf(p, sizeof(p), "%s/mig%d.db", dir, v);
		st = store_open_upto(p, v, err, sizeof(err));
		T_CHECK(st != NULL, "open at %d: %s", v, err);
		if (st == NULL)
			return;
		add_cluster(st, "m");
		T_EQ_INT(insert_task(st, "m", 1, id[0]), 0);
		if (end_task(st, id[0], STORE_TASK_PARTIAL, "x") != 0)
			prev = v;
		store_close(st);
	}
	T_CHECK(prev > 0 && prev < store_schema_latest(), "no version "
	    "before partial: %d", prev);
	snprintf(p, sizeof(p), "%s/mig.db", dir);
	st = store_open_upto(p, prev, err, sizeof(err));
	T_CHECK(st != NULL, "open at %d: %s", prev, err);
	if (st == NULL)
		return;
	T_EQ_INT(store_schema_version(st), prev);
	add_cluster(st, "m");
	add_cluster(st, "other");
	str_copy(sc.cluster, "m", sizeof(sc.cluster));
	str_copy(sc.type, "noop", sizeof(sc.type));
	sc.every_ms = 3600000;
	sc.next_run_at = 5000;
	T_EQ_INT(store_schedule_create(st, &sc, err, sizeof(err)), 0);
	for (int i = 0; i < 6; i++)
		T_EQ_INT(insert_task(st, i == 5 ? "other" : "m", 3, id[i]), 0);
	T_EQ_INT(end_task(st, id[1], STORE_TASK_SUCCEEDED, NULL), 0);
	T_EQ_INT(end_task(st, id[2], STORE_TASK_FAILED, "step 'x' failed"), 0);
	T_EQ_INT(store_task_update(st, id[3], STORE_TASK_RUNNING, 0, NULL,
	    NULL, 0, err, sizeof(err)), 0);
	T_EQ_INT(store_step_node_put(st, id[3], 1, &np, err, sizeof(err)), 0);
	T_EQ_INT(store_task_failing_set(st, id[3], 1, "step 'upload' failed",
	    err, sizeof(err)), 0);
	tn.schedule_id = sc.id;
	tn.schedule_next_run_at = 9000;
	char sid[STORE_ID_MAX];
	T_EQ_INT(store_task_insert(st, &tn, sid, NULL, err, sizeof(err)), 0);
	T_CHECK(end_task(st, id[4], STORE_TASK_PARTIAL, "x") != 0,
	    "partial accepted before the migration");
	store_close(st);

	st = store_open(p, err, sizeof(err));
	T_CHECK(st != NULL, "migrate: %s", err);
	if (st == NULL)
		return;
	T_EQ_INT(store_schema_version(st), store_schema_latest());
	T_EQ_INT(count_tasks(st, "m", NULL), 6);
	T_EQ_INT(count_tasks(st, "m", "succeeded"), 1);
	T_EQ_INT(count_tasks(st, "m", "failed"), 1);
	T_EQ_INT(count_tasks(st, "m", "running"), 2);	/* id[3], id[4] */
	T_EQ_INT(count_tasks(st, "m", "queued"), 2);
	T_EQ_INT(count_tasks(st, "other", NULL), 1);
	/* the same rows, steps and records, in the same order */
	{
		struct store_task_page pg;
		T_EQ_INT(store_task_list(st, "m", NULL, NULL, 10, &pg), 0);
		T_EQ_INT(pg.n, 6);
		if (pg.n == 6) {
			T_EQ_STR(pg.items[0].id, sid);	/* newest first */
			T_EQ_STR(pg.items[5].id, id[0]);
			T_EQ_STR(pg.items[0].schedule_id, sc.id);
			T_CHECK(pg.items[0].seq > pg.items[1].seq,
			    "seq order lost");
		}
		store_task_page_release(&pg);
	}
	T_EQ_INT(store_task_get(st, id[2], &d), 0);
	T_EQ_INT(d.nsteps, 3);
	T_EQ_STR(d.task.error, "step 'x' failed");
	store_task_detail_release(&d);
	T_EQ_INT(store_task_get(st, id[3], &d), 0);
	T_EQ_INT(d.nsteps, 3);
	T_EQ_INT(d.nnodes, 1);
	if (d.nnodes == 1)
		T_EQ_STR(d.nodes[0].message, "boom");
	store_task_detail_release(&d);
	{
		int idx = -1;
		char *e = NULL;
		T_EQ_INT(store_task_failing_get(st, id[3], &idx, &e), 0);
		T_EQ_INT(idx, 1);
		free(e);
	}
	/* what the migration is for, and the guards it kept */
	T_EQ_INT(end_task(st, id[4], STORE_TASK_PARTIAL,
	    "2 of 8 segments not repaired"), 0);
	T_EQ_INT(count_tasks(st, "m", "partial"), 1);
	T_EQ_INT(store_task_get(st, id[4], &d), 0);
	T_EQ_INT(d.task.state, STORE_TASK_PARTIAL);
	T_EQ_STR(d.task.error, "2 of 8 segments not repaired");
	T_CHECK(d.task.finished_at > 0, "partial has no end time");
	store_task_detail_release(&d);
	T_EQ_INT(store_task_update(st, id[4], STORE_TASK_RUNNING, 0, NULL,
	    NULL, 0, err, sizeof(err)), RM_EBUSY);	/* terminal */
	/* new tasks keep growing the order */
	char nid[STORE_ID_MAX];
	int64_t seq = 0;
	struct store_task_new tn2 = tn;
	tn2.schedule_id = NULL;
	T_EQ_INT(store_task_insert(st, &tn2, nid, &seq, err, sizeof(err)), 0);
	/* a step row of a missing task is still refused (foreign key on) */
	T_EQ_INT(store_step_node_put(st, "t-nope", 0, &np, err, sizeof(err)),
	    RM_ENOENT);
	/* deleting the schedule unlinks its task; the cluster takes its
	 * tasks, steps, records and intents with it */
	T_EQ_INT(store_schedule_delete(st, sc.id, err, sizeof(err)), 0);
	T_EQ_INT(store_task_get(st, sid, &d), 0);
	T_EQ_STR(d.task.schedule_id, "");
	store_task_detail_release(&d);
	T_EQ_INT(store_cluster_delete(st, "m", err, sizeof(err)), RM_EBUSY);
	T_EQ_INT(store_task_update(st, id[3], STORE_TASK_FAILED, 0, "x", NULL,
	    0, err, sizeof(err)), 0);
	T_EQ_INT(store_cluster_delete(st, "m", err, sizeof(err)), 0);
	T_EQ_INT(count_tasks(st, "m", NULL), 0);
	T_EQ_INT(store_task_get(st, id[3], &d), RM_ENOENT);
	store_task_detail_release(&d);
	T_EQ_INT(count_tasks(st, "other", NULL), 1);
	store_close(st);
}

static void test_tasks(struct store *st)
{
	char id[8][STORE_ID_MAX], err[256], cursor[64] = "";
	struct store_task *t;
	struct store_task_page pg;
	struct store_task_detail d;
	struct store_event_page ep;
	json_t *j;
	int rc;

	T_EQ_INT(insert_task(st, "ghost", 3, id[0]), RM_ENOENT);
	for (int i = 0; i < 5; i++)
		T_EQ_INT(insert_task(st, "prod", 3, id[i]), 0);
	T_CHECK(strncmp(id[0], "t-", 2) == 0 && strlen(id[0]) == 18,
	    "id '%s'", id[0]);

	t = store_task_load(st, id[0]);
	T_CHECK(t != NULL, "load");
	T_EQ_INT(t->state, STORE_TASK_QUEUED);
	T_EQ_INT(t->nsteps, 3);
	T_EQ_STR(t->steps[1].name, "upload");
	T_EQ_STR(t->steps[1].node, "10.0.0.1");
	T_CHECK(t->steps[2].node == NULL, "manifest has a node");
	T_EQ_INT(json_integer_value(json_object_get(t->params, "x")), 1);
	store_task_free(t);

	/* Newest first, 2 per page. */
	int seen = 0, pages = 0;
	char first[STORE_ID_MAX] = "";
	do {
		T_EQ_INT(store_task_list(st, "prod", NULL, cursor[0] ? cursor :
		    NULL, 2, &pg), 0);
		if (pages == 0 && pg.n > 0) {
			const struct store_task_row *r = &pg.items[0];
			str_copy(first, r->id, sizeof(first));
			T_EQ_STR(r->cluster, "prod");
			T_EQ_STR(r->type, "noop");
			T_EQ_INT(r->state, STORE_TASK_QUEUED);
			T_EQ_INT(json_integer_value(json_object_get(r->params,
			    "x")), 1);
			T_EQ_INT(r->steps_done, 0);
			T_EQ_INT(r->steps_total, 3);
			T_EQ_INT(r->started_at, 0);
			T_CHECK(r->error == NULL, "error set");
			T_EQ_STR(r->schedule_id, "");
			/* The page's next is the seq of its last task. */
			char want[32];
			snprintf(want, sizeof(want), "%lld",
			    (long long)pg.items[pg.n - 1].seq);
			T_EQ_STR(pg.next, want);
			j = svc_json_task_page(&pg);
			json_t *it = json_array_get(json_object_get(j, "items"),
			    0);
			T_EQ_STR(jget(it, "id"), first);
			T_EQ_STR(jget(it, "state"), "queued");
			T_CHECK(json_is_null(json_object_get(it,
			    "started_at")) && json_is_null(json_object_get(it,
			    "schedule_id")) && json_is_null(json_object_get(it,
			    "error")),
			    "unset fields not null");
			T_EQ_INT(json_integer_value(json_object_get(
			    json_object_get(it, "progress"), "total")), 3);
			T_CHECK(json_object_get(it, "steps") == NULL,
			    "a listed task has steps");
			T_EQ_STR(jget(j, "next"), want);
			json_decref(j);
		}
		seen += (int)pg.n;
		str_copy(cursor, pg.next, sizeof(cursor));
		store_task_page_release(&pg);
		pages++;
	} while (cursor[0] && pages < 10);
	T_EQ_INT(seen, 5);
	T_EQ_INT(pages, 3);
	T_EQ_STR(first, id[4]);

	/* Start task 0: running + step 0 running in one write. */
	struct store_step_update su = {
		.idx = 0, .state = STORE_STEP_RUNNING, .attempts = 1,
		.started_at = 1700000000000, .finished_at = STORE_KEEP,
		.next_attempt_at = STORE_KEEP, .message = "working",
	};
	T_EQ_INT(store_task_update(st, id[0], STORE_TASK_RUNNING,
	    1700000000000, NULL, &su, 1, err, sizeof(err)), 0);
	T_EQ_INT(count_tasks(st, "prod", "running"), 1);
	T_EQ_INT(store_task_list(st, "prod", "bogus", NULL, 0, &pg),
	    RM_EINVAL);
	T_EQ_INT(pg.n, 0);
	store_task_page_release(&pg);

	/* A running task blocks the cluster's deletion. */
	T_EQ_INT(store_cluster_delete(st, "prod", err, sizeof(err)),
	    RM_EBUSY);

	/* Requests and unfinished order: started first, then by seq. */
	T_EQ_INT(store_task_request(st, id[2], STORE_REQ_PAUSE, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_task_request(st, "t-nope", STORE_REQ_PAUSE, err,
	    sizeof(err)), RM_ENOENT);
	t = store_task_load(st, id[2]);
	T_CHECK(t->pause_requested && !t->cancel_requested, "flags");
	store_task_free(t);
	T_EQ_INT(store_task_update(st, id[2], STORE_TASK_PAUSED, 1, NULL, NULL,
	    0, err, sizeof(err)), 0);
	t = store_task_load(st, id[2]);
	T_CHECK(!t->pause_requested, "pause request kept after pausing");
	store_task_free(t);
	struct store_task_ref *refs;
	size_t n;
	T_EQ_INT(store_tasks_unfinished(st, &refs, &n), 0);
	T_EQ_INT(n, 5);
	T_EQ_STR(refs[0].id, id[0]);
	T_CHECK(refs[0].started, "started flag");
	T_EQ_STR(refs[1].id, id[1]);
	T_EQ_INT(refs[2].state, STORE_TASK_PAUSED);
	T_EQ_STR(refs[4].id, id[4]);
	free(refs);

	/* Step done + next started, then succeeded; finished never changes. */
	struct store_step_update two[2] = {
		{ 0, STORE_STEP_SUCCEEDED, 1, STORE_KEEP, 1700000001000,
		    STORE_KEEP, "" },
		{ 1, STORE_STEP_RUNNING, 1, 1700000001000, STORE_KEEP,
		    STORE_KEEP, NULL },
	};
	T_EQ_INT(store_task_update(st, id[0], -1, 0, NULL, two, 2, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_task_get(st, id[0], &d), 0);
	T_EQ_STR(d.task.id, id[0]);
	T_EQ_INT(d.task.state, STORE_TASK_RUNNING);
	T_EQ_INT(d.task.steps_done, 1);
	T_EQ_INT(d.task.steps_total, 3);
	T_EQ_INT(d.task.started_at, 1700000000000);
	T_EQ_INT(d.nsteps, 3);
	T_EQ_INT(d.nnodes, 0);
	T_EQ_INT(d.steps[0].state, STORE_STEP_SUCCEEDED);
	T_CHECK(d.steps[0].message == NULL, "message kept");
	T_EQ_INT(d.steps[0].finished_at, 1700000001000);
	T_EQ_INT(d.steps[1].state, STORE_STEP_RUNNING);
	T_EQ_STR(d.steps[1].node, "10.0.0.1");
	T_CHECK(d.steps[2].node == NULL, "manifest has a node");
	j = svc_json_task_detail(&d);
	T_EQ_INT(json_integer_value(json_object_get(json_object_get(j,
	    "progress"), "done")), 1);
	T_EQ_INT(json_integer_value(json_object_get(json_object_get(j,
	    "progress"), "total")), 3);
	json_t *s0 = json_array_get(json_object_get(j, "steps"), 0);
	T_EQ_STR(jget(s0, "state"), "succeeded");
	T_CHECK(json_is_null(json_object_get(s0, "message")), "message kept");
	T_EQ_STR(jget(s0, "finished_at"), "2023-11-14T22:13:21.000Z");
	T_CHECK(json_is_array(json_object_get(s0, "nodes")), "steps' nodes");
	T_EQ_STR(jget(j, "started_at"), "2023-11-14T22:13:20.000Z");
	T_EQ_STR(jget(j, "state"), "running");
	T_CHECK(json_is_integer(json_object_get(j, "seq")), "seq");
	json_decref(j);
	store_task_detail_release(&d);
	T_EQ_INT(store_task_get(st, "t-nope", &d), RM_ENOENT);
	store_task_detail_release(&d);
	T_EQ_INT(store_task_update(st, id[0], STORE_TASK_CANCELLED, 1700000002000,
	    NULL, NULL, 0, err, sizeof(err)), 0);
	t = store_task_load(st, id[0]);
	T_EQ_INT(t->steps[1].state, STORE_STEP_CANCELLED);
	T_EQ_INT(t->steps[2].state, STORE_STEP_CANCELLED);
	T_EQ_INT(t->steps[0].state, STORE_STEP_SUCCEEDED);
	T_EQ_INT(t->finished_at, 1700000002000);
	store_task_free(t);
	rc = store_task_update(st, id[0], STORE_TASK_RUNNING, 1, NULL, NULL, 0,
	    err, sizeof(err));
	T_EQ_INT(rc, RM_EBUSY);
	T_EQ_INT(store_task_update(st, "t-nope", STORE_TASK_RUNNING, 1, NULL,
	    NULL, 0, err, sizeof(err)), RM_ENOENT);

	/* Task events were written in the same transactions. */
	T_EQ_INT(store_event_list(st, 0, "prod", NULL, 1000, &ep), 0);
	int task_events = 0;
	for (size_t k = 0; k < ep.n; k++)
		if (strcmp(ep.items[k].kind, "task") == 0 &&
		    strcmp(ep.items[k].target, id[0]) == 0)
			task_events++;
	T_EQ_INT(task_events, 3);	/* queued, running, cancelled */
	store_event_page_release(&ep);

	/* Counts by (type, state): 1 cancelled, 1 paused, 3 queued noops. */
	int paused = -1;
	struct store_task_count *cv;
	size_t cn;
	int queued = -1, cancelled = -1;
	T_EQ_INT(store_task_counts(st, &cv, &cn), 0);
	T_CHECK(cn >= 3, "counts %zu", cn);
	for (size_t k = 0; k < cn; k++) {
		T_EQ_STR(cv[k].type, "noop");
		if (cv[k].state == STORE_TASK_QUEUED)
			queued = (int)cv[k].count;
		if (cv[k].state == STORE_TASK_CANCELLED)
			cancelled = (int)cv[k].count;
		if (cv[k].state == STORE_TASK_PAUSED)
			paused = (int)cv[k].count;
	}
	free(cv);
	T_EQ_INT(queued, 3);
	T_EQ_INT(cancelled, 1);
	T_EQ_INT(paused, 1);

	/* The latest success of each (cluster, type): none yet in prod. */
	struct store_task_success *sv;
	T_EQ_INT(store_task_last_success(st, &sv, &cn), 0);
	for (size_t k = 0; k < cn; k++)
		T_CHECK(strcmp(sv[k].cluster, "prod") != 0, "prod succeeded");
	free(sv);
}

static void test_events_tokens(struct store *st)
{
	char err[256], name[STORE_NAME_MAX], role[STORE_NAME_MAX];
	struct store_event evs[3] = {
		{ .at = 1000, .actor = "alice", .kind = "request",
		    .method = "POST", .route = "/api/v1/clusters",
		    .target = "x", .cluster = "x", .result = "201" },
		{ .at = 2000, .actor = "alice", .kind = "request",
		    .cluster = "y", .result = "403",
		    .detail_json = "{\"why\":\"role\"}" },
		{ .at = 3000, .actor = "bob", .kind = "request",
		    .cluster = "x", .result = "204" },
	};
	struct store_event_page ep;
	struct store_token_row *tv;
	size_t tn;
	json_t *j;

	T_EQ_INT(store_events_append(st, evs, 3, err, sizeof(err)), 0);
	T_EQ_INT(store_event_list(st, 0, "x", NULL, 0, &ep), 0);
	T_EQ_INT(ep.n, 2);
	if (ep.n == 2) {
		const struct store_event_row *e = &ep.items[0];
		T_EQ_INT(e->at, 1000);
		T_EQ_STR(e->actor, "alice");
		T_EQ_STR(e->method, "POST");
		T_EQ_STR(e->route, "/api/v1/clusters");
		T_EQ_STR(e->target, "x");
		T_EQ_STR(e->result, "201");
		T_CHECK(e->detail_json == NULL, "detail set");
		T_CHECK(ep.items[1].id > e->id, "ids not increasing");
		T_CHECK(ep.items[1].method == NULL, "method set");
	}
	T_EQ_STR(ep.next, "");
	store_event_page_release(&ep);
	/* A page of one, then the rest from its cursor. */
	T_EQ_INT(store_event_list(st, 0, "x", NULL, 1, &ep), 0);
	T_EQ_INT(ep.n, 1);
	char cur[STORE_CURSOR_MAX];
	str_copy(cur, ep.next, sizeof(cur));
	T_CHECK(cur[0] != '\0', "no cursor after a full page");
	store_event_page_release(&ep);
	T_EQ_INT(store_event_list(st, 0, "x", cur, 1, &ep), 0);
	T_EQ_INT(ep.n, 1);
	if (ep.n == 1)
		T_EQ_STR(ep.items[0].actor, "bob");
	store_event_page_release(&ep);
	T_EQ_INT(store_event_list(st, 1500, "x", NULL, 0, &ep), 0);
	T_EQ_INT(ep.n, 1);
	if (ep.n == 1)
		T_EQ_STR(ep.items[0].actor, "bob");
	store_event_page_release(&ep);
	T_EQ_INT(store_event_list(st, 0, "y", NULL, 0, &ep), 0);
	T_EQ_INT(ep.n, 1);
	if (ep.n == 1) {
		T_EQ_STR(ep.items[0].detail_json, "{\"why\":\"role\"}");
		j = svc_json_event_page(&ep);
		json_t *e = json_array_get(json_object_get(j, "items"), 0);
		T_EQ_STR(jget(json_object_get(e, "detail"), "why"), "role");
		T_EQ_STR(jget(e, "at"), "1970-01-01T00:00:02.000Z");
		T_CHECK(json_is_null(json_object_get(e, "method")),
		    "method not null");
		T_CHECK(json_is_integer(json_object_get(e, "id")), "id");
		T_CHECK(json_is_null(json_object_get(j, "next")), "next");
		json_decref(j);
	}
	store_event_page_release(&ep);

	/* Text that is not UTF-8 still gives an object, its bytes as '?'. */
	struct store_event_row raw = { .id = 7, .at = 1000,
	    .actor = (char *)(uintptr_t)"caf\xe9 \xff!", .result = NULL };
	j = svc_json_event(&raw);
	T_CHECK(j != NULL, "no JSON for a row that is not UTF-8");
	T_EQ_STR(jget(j, "actor"), "caf? ?!");
	T_CHECK(json_is_null(json_object_get(j, "result")), "result");
	json_decref(j);

	T_EQ_INT(store_token_create(st, "admin", "admin", "s3cret", err,
	    sizeof(err)), 0);
	T_EQ_INT(store_token_create(st, "admin", "viewer", "other", err,
	    sizeof(err)), RM_EEXIST);
	T_EQ_INT(store_token_lookup(st, "s3cret", name, sizeof(name), role,
	    sizeof(role)), 0);
	T_EQ_STR(name, "admin");
	T_EQ_STR(role, "admin");
	T_EQ_INT(store_token_lookup(st, "wrong", name, sizeof(name), role,
	    sizeof(role)), RM_ENOENT);
	T_EQ_INT(store_token_list(st, &tv, &tn), 0);
	T_EQ_INT(tn, 1);
	if (tn == 1) {
		T_EQ_STR(tv[0].name, "admin");
		T_EQ_STR(tv[0].role, "admin");
		T_CHECK(tv[0].created_at > 1700000000000, "created_at");
		T_CHECK(!tv[0].revoked, "revoked");
		j = svc_json_token(&tv[0]);
		T_CHECK(json_object_get(j, "hash") == NULL, "hash exposed");
		T_CHECK(json_is_false(json_object_get(j, "revoked")),
		    "revoked");
		T_CHECK(json_is_string(json_object_get(j, "created_at")),
		    "created_at");
		json_decref(j);
	}
	free(tv);
	T_EQ_INT(store_token_revoke(st, "admin", err, sizeof(err)), 0);
	T_EQ_INT(store_token_list(st, &tv, &tn), 0);
	T_CHECK(tn == 1 && tv[0].revoked, "not revoked in the list");
	free(tv);
	T_EQ_INT(store_token_revoke(st, "admin", err, sizeof(err)),
	    RM_ENOENT);
	T_EQ_INT(store_token_lookup(st, "s3cret", name, sizeof(name), role,
	    sizeof(role)), RM_ENOENT);
}

static void test_schedules_cascade(struct store *st)
{
	struct store_schedule sc = { 0 }, *due;
	struct store_step_plan step = { "noop-1", NULL };
	struct store_task_new tn = {
		.cluster = "a1", .type = "noop", .steps = &step, .nsteps = 1,
	};
	char err[256], id1[STORE_ID_MAX], id2[STORE_ID_MAX];
	struct store_schedule got;
	struct store_schedule_page sp;
	size_t n;
	json_t *j;

	str_copy(sc.cluster, "a1", sizeof(sc.cluster));
	str_copy(sc.type, "noop", sizeof(sc.type));
	sc.every_ms = 3600000;
	sc.start_at = 1000;
	sc.next_run_at = 5000;
	T_EQ_INT(store_schedule_create(st, &sc, err, sizeof(err)), 0);
	T_CHECK(strncmp(sc.id, "s-", 2) == 0, "id '%s'", sc.id);
	T_EQ_INT(store_schedule_get(st, sc.id, &got), 0);
	T_EQ_STR(got.id, sc.id);
	T_EQ_STR(got.cluster, "a1");
	T_EQ_STR(got.type, "noop");
	T_EQ_INT(got.every_ms, 3600000);
	T_CHECK(got.cron == NULL, "cron set");
	T_EQ_INT(got.start_at, 1000);
	T_EQ_INT(got.next_run_at, 5000);
	T_EQ_INT(got.last_run_at, 0);
	T_EQ_STR(got.last_task_id, "");
	T_CHECK(got.enabled, "not enabled");
	T_CHECK(json_is_object(got.params) && json_object_size(got.params) ==
	    0, "params not {}");
	j = svc_json_schedule(&got);
	T_EQ_STR(jget(j, "every"), "1h");
	T_EQ_INT(json_integer_value(json_object_get(j, "every_ms")), 3600000);
	T_CHECK(json_is_null(json_object_get(j, "cron")), "cron not null");
	T_CHECK(json_is_null(json_object_get(j, "last_task_id")) &&
	    json_is_null(json_object_get(j, "last_run_at")),
	    "last run not null");
	T_EQ_STR(jget(j, "start_at"), "1970-01-01T00:00:01.000Z");
	T_CHECK(json_is_object(json_object_get(j, "params")), "params");
	json_decref(j);
	/* "every" in the largest unit that divides it. */
	static const struct { int64_t ms; const char *want; } ev[] = {
		{ 86400000, "1d" }, { 2 * 86400000 + 3600000, "49h" },
		{ 90000, "90s" }, { 1500, "1500ms" }, { 0, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ev); i++) {
		got.every_ms = ev[i].ms;
		j = svc_json_schedule(&got);
		if (ev[i].want != NULL)
			T_EQ_STR(jget(j, "every"), ev[i].want);
		else
			T_CHECK(json_is_null(json_object_get(j, "every")) &&
			    json_is_null(json_object_get(j, "every_ms")),
			    "row %zu: every not null", i);
		json_decref(j);
	}
	store_schedule_release(&got);

	T_EQ_INT(store_schedules_due(st, 4999, &due, &n), 0);
	T_EQ_INT(n, 0);
	store_schedules_free(due, n);
	T_EQ_INT(store_schedules_due(st, 5000, &due, &n), 0);
	T_EQ_INT(n, 1);
	store_schedules_free(due, n);

	/* Fire: task inserted, schedule moved, in one transaction. */
	tn.schedule_id = sc.id;
	tn.schedule_next_run_at = 9000;
	T_EQ_INT(store_task_insert(st, &tn, id1, NULL, err, sizeof(err)), 0);
	T_EQ_INT(store_schedule_get(st, sc.id, &got), 0);
	T_EQ_STR(got.last_task_id, id1);
	T_EQ_INT(got.next_run_at, 9000);
	T_CHECK(got.last_run_at > 0, "last_run_at not set");
	store_schedule_release(&got);
	/* Never stacks: the first is still queued. */
	tn.schedule_next_run_at = 13000;
	T_EQ_INT(store_task_insert(st, &tn, id2, NULL, err, sizeof(err)),
	    RM_EBUSY);
	T_EQ_INT(store_schedules_due(st, 12000, &due, &n), 0);
	T_EQ_INT(n, 0);			/* next_run_at moved to 13000 */
	store_schedules_free(due, n);
	T_EQ_INT(count_tasks(st, "a1", NULL), 1);
	/* Once it finished, the next firing inserts. */
	T_EQ_INT(store_task_update(st, id1, STORE_TASK_SUCCEEDED, 1, NULL, NULL,
	    0, err, sizeof(err)), 0);
	T_EQ_INT(store_task_insert(st, &tn, id2, NULL, err, sizeof(err)), 0);
	tn.schedule_id = "s-nope";
	T_EQ_INT(store_task_insert(st, &tn, id2, NULL, err, sizeof(err)),
	    RM_ENOENT);

	T_EQ_INT(store_schedule_list(st, "a1", NULL, 0, &sp), 0);
	T_EQ_INT(sp.n, 1);
	if (sp.n == 1)
		T_EQ_STR(sp.items[0].id, sc.id);
	T_EQ_STR(sp.next, "");
	store_schedule_page_release(&sp);
	T_EQ_INT(store_schedule_list(st, "a2", NULL, 0, &sp), 0);
	T_EQ_INT(sp.n, 0);
	store_schedule_page_release(&sp);

	/* Cascade: deleting a1 drops its schedule, tasks and steps. */
	T_EQ_INT(store_cluster_delete(st, "a1", err, sizeof(err)), 0);
	T_EQ_INT(store_cluster_delete(st, "a1", err, sizeof(err)),
	    RM_ENOENT);
	T_CHECK(store_task_load(st, id2) == NULL, "task survived cascade");
	T_EQ_INT(store_schedule_get(st, sc.id, &got), RM_ENOENT);
	store_schedule_release(&got);
	T_EQ_INT(store_schedule_delete(st, sc.id, err, sizeof(err)),
	    RM_ENOENT);

	/* Deleting a schedule keeps its tasks (schedule_id set to NULL). */
	struct store_schedule s2 = { 0 };
	str_copy(s2.cluster, "a2", sizeof(s2.cluster));
	str_copy(s2.type, "noop", sizeof(s2.type));
	s2.cron = xstrdup("0 3 * * *");
	s2.next_run_at = 1;
	T_EQ_INT(store_schedule_create(st, &s2, err, sizeof(err)), 0);
	free(s2.cron);
	tn.cluster = "a2";
	tn.schedule_id = s2.id;
	T_EQ_INT(store_task_insert(st, &tn, id1, NULL, err, sizeof(err)), 0);
	T_EQ_INT(store_schedule_delete(st, s2.id, err, sizeof(err)), 0);
	struct store_task *t = store_task_load(st, id1);
	T_CHECK(t != NULL && t->schedule_id[0] == '\0', "schedule_id kept");
	store_task_free(t);
	struct store_schedule bad = { 0 };
	str_copy(bad.cluster, "ghost", sizeof(bad.cluster));
	str_copy(bad.type, "noop", sizeof(bad.type));
	bad.every_ms = 60000;
	T_EQ_INT(store_schedule_create(st, &bad, err, sizeof(err)),
	    RM_ENOENT);
}

/* Group commit: concurrent writers share transactions; one that fails
 * (a missing cluster) is rolled back alone. */
struct gc_arg {
	struct store *st;
	const char *cluster;
	int ok, enoent, other;
};

static void *gc_writer(void *p)
{
	struct gc_arg *a = p;
	struct store_step_plan step = { "s", NULL };
	struct store_task_new tn = {
		.cluster = a->cluster, .type = "noop", .steps = &step,
		.nsteps = 1,
	};
	char id[STORE_ID_MAX], err[256];

	for (int i = 0; i < 200; i++) {
		int rc = store_task_insert(a->st, &tn, id, NULL, err,
		    sizeof(err));
		if (rc == 0) {
			struct store_step_update su = { 0, STORE_STEP_RUNNING,
			    1, 1, STORE_KEEP, STORE_KEEP, NULL };
			rc = store_task_update(a->st, id, STORE_TASK_RUNNING, 0,
			    NULL, &su, 1, err, sizeof(err));
		}
		if (rc == 0)
			a->ok++;
		else if (rc == RM_ENOENT)
			a->enoent++;
		else
			a->other++;
	}
	return NULL;
}

static void test_group_commit(struct store *st)
{
	struct gc_arg args[6];
	pthread_t th[6];
	int ok = 0, enoent = 0, other = 0;

	add_cluster(st, "gc");
	for (int i = 0; i < 6; i++) {
		args[i] = (struct gc_arg){ st, i == 5 ? "ghost" : "gc", 0, 0, 0 };
		pthread_create(&th[i], NULL, gc_writer, &args[i]);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		ok += args[i].ok;
		enoent += args[i].enoent;
		other += args[i].other;
	}
	T_EQ_INT(ok, 1000);
	T_EQ_INT(enoent, 200);
	T_EQ_INT(other, 0);
	T_EQ_INT(count_tasks(st, "gc", "running"), 1000);
}

/*
 * Many threads drive their own tasks through start and end while others
 * make updates the store refuses: every write that returned 0 is visible
 * to a read made right after it (whichever connection serves the read),
 * and a refused update reports its own task, leaving the batch it shared
 * with the others intact.
 */
#define VIS_THREADS	8
#define VIS_TASKS	60

struct vis_arg {
	struct store *st;
	int me;
	char ids[VIS_TASKS][STORE_ID_MAX];
	int bad_state, bad_refusal, bad_err, bad_rc;
};

static void *vis_worker(void *p)
{
	struct vis_arg *a = p;
	char err[256], want[STORE_ID_MAX + 16];

	for (int i = 0; i < VIS_TASKS; i++) {
		const char *id = a->ids[i];
		struct store_step_update start = { 0, STORE_STEP_RUNNING, 1,
		    1, STORE_KEEP, STORE_KEEP, NULL };
		struct store_step_update end = { 0, STORE_STEP_SUCCEEDED, 1,
		    STORE_KEEP, 2, STORE_KEEP, "" };
		struct store_step_update back = { 0, STORE_STEP_FAILED, 9,
		    STORE_KEEP, STORE_KEEP, STORE_KEEP, "late" };
		struct store_task *t;

		if (store_task_update(a->st, id, STORE_TASK_RUNNING, 0, NULL,
		    &start, 1, err, sizeof(err)) != 0) {
			a->bad_rc++;
			continue;
		}
		t = store_task_load(a->st, id);
		if (t == NULL || t->state != STORE_TASK_RUNNING ||
		    t->steps[0].state != STORE_STEP_RUNNING)
			a->bad_state++;
		store_task_free(t);
		if (store_task_update(a->st, id, STORE_TASK_SUCCEEDED, 0, NULL,
		    &end, 1, err, sizeof(err)) != 0) {
			a->bad_rc++;
			continue;
		}
		t = store_task_load(a->st, id);
		if (t == NULL || t->state != STORE_TASK_SUCCEEDED ||
		    t->finished_at <= 0 ||
		    t->steps[0].state != STORE_STEP_SUCCEEDED)
			a->bad_state++;
		store_task_free(t);
		/* A finished task never changes state: refused, the step
		 * update written before the refusal is rolled back with it,
		 * and the message names this task, not another of the batch. */
		err[0] = '\0';
		if (store_task_update(a->st, id, STORE_TASK_RUNNING, 0, NULL,
		    &back, 1, err, sizeof(err)) != RM_EBUSY)
			a->bad_refusal++;
		snprintf(want, sizeof(want), "task '%s'", id);
		if (strstr(err, want) == NULL)
			a->bad_err++;
		t = store_task_load(a->st, id);
		if (t == NULL || t->state != STORE_TASK_SUCCEEDED ||
		    t->steps[0].state != STORE_STEP_SUCCEEDED ||
		    t->steps[0].attempts != 1)
			a->bad_state++;
		store_task_free(t);
	}
	return NULL;
}

static void test_update_visibility(struct store *st)
{
	static struct vis_arg args[VIS_THREADS];
	pthread_t th[VIS_THREADS];
	int bad_state = 0, bad_refusal = 0, bad_err = 0, bad_rc = 0;

	add_cluster(st, "vis");
	for (int i = 0; i < VIS_THREADS; i++) {
		args[i] = (struct vis_arg){ .st = st, .me = i };
		for (int k = 0; k < VIS_TASKS; k++)
			T_EQ_INT(insert_task(st, "vis", 1, args[i].ids[k]), 0);
	}
	for (int i = 0; i < VIS_THREADS; i++)
		pthread_create(&th[i], NULL, vis_worker, &args[i]);
	for (int i = 0; i < VIS_THREADS; i++) {
		pthread_join(th[i], NULL);
		bad_state += args[i].bad_state;
		bad_refusal += args[i].bad_refusal;
		bad_err += args[i].bad_err;
		bad_rc += args[i].bad_rc;
	}
	T_EQ_INT(bad_rc, 0);
	T_EQ_INT(bad_state, 0);
	T_EQ_INT(bad_refusal, 0);
	T_EQ_INT(bad_err, 0);
	T_EQ_INT(count_tasks(st, "vis", "succeeded"), VIS_THREADS * VIS_TASKS);
}

/*
 * Writers in a batch with one that fails: the failing operation (a task
 * of a missing cluster, inserted with steps) leaves no row behind - its
 * savepoint is rolled back, not the batch - and its caller alone gets
 * the error.
 */
struct mix_arg {
	struct store *st;
	bool ghost;
	int ok, enoent, wrong_err;
};

static void *mix_writer(void *p)
{
	struct mix_arg *a = p;
	char id[STORE_ID_MAX];

	for (int i = 0; i < 150; i++) {
		struct store_step_plan steps[2] = { { "a", NULL }, { "b", NULL } };
		struct store_task_new tn = {
			.cluster = a->ghost ? "ghost2" : "mix", .type = "noop",
			.steps = steps, .nsteps = 2,
		};
		char err[256] = "";
		int rc = store_task_insert(a->st, &tn, id, NULL, err,
		    sizeof(err));

		if (rc == 0 && !a->ghost)
			a->ok++;
		else if (rc == RM_ENOENT && a->ghost &&
		    strstr(err, "'ghost2'") != NULL)
			a->enoent++;
		else
			a->wrong_err++;
	}
	return NULL;
}

static void test_group_commit_failure(struct store *st)
{
	struct mix_arg args[5];
	pthread_t th[5];
	int ok = 0, enoent = 0, wrong = 0;

	add_cluster(st, "mix");
	for (int i = 0; i < 5; i++) {
		args[i] = (struct mix_arg){ .st = st, .ghost = i % 2 == 1 };
		pthread_create(&th[i], NULL, mix_writer, &args[i]);
	}
	for (int i = 0; i < 5; i++) {
		pthread_join(th[i], NULL);
		ok += args[i].ok;
		enoent += args[i].enoent;
		wrong += args[i].wrong_err;
	}
	T_EQ_INT(ok, 3 * 150);
	T_EQ_INT(enoent, 2 * 150);
	T_EQ_INT(wrong, 0);
	T_EQ_INT(count_tasks(st, "mix", NULL), 3 * 150);
	T_EQ_INT(count_tasks(st, "ghost2", NULL), 0);
}

/* Existence and nodes in one read, as task submission uses them. */
static void test_cluster_nodes(struct store *st)
{
	const char *addrs[] = { "10.1.0.2", "10.1.0.1" };
	char err[256];
	struct store_nodes nodes;

	add_cluster(st, "cn");
	T_EQ_INT(store_cluster_nodes(st, "cn", &nodes), 0);
	T_CHECK(nodes.n == 0 && nodes.items == NULL, "a cluster without nodes");
	store_nodes_release(&nodes);
	for (size_t i = 0; i < 2; i++) {
		struct store_node n = {
			.cluster = "cn", .address = addrs[i], .state = "up",
			.last_heartbeat = -1, .load_bytes = -1, .is_seed = -1,
		};
		T_EQ_INT(store_node_upsert(st, &n, NULL, err, sizeof(err)), 0);
	}
	T_EQ_INT(store_cluster_nodes(st, "cn", &nodes), 0);
	T_EQ_INT(nodes.n, 2);
	if (nodes.n == 2) {
		T_EQ_STR(nodes.items[0].address, "10.1.0.1");
		T_EQ_STR(nodes.items[1].cluster, "cn");
		T_EQ_STR(nodes.items[1].state, "up");
	}
	store_nodes_release(&nodes);
	T_EQ_INT(store_cluster_nodes(st, "nope", &nodes), RM_ENOENT);
	T_CHECK(nodes.n == 0 && nodes.items == NULL,
	    "nodes set for a missing cluster");
}

/* The settings registry: table-driven parse, canonical text, defaults,
 * and rows that change nothing when one value is bad. */
static void test_cluster_settings(struct store *st)
{
	static const struct {
		const char *key, *text, *canon;	/* canon NULL: refused */
		const char *says;
	} cases[] = {
		{ "replace_after", "30m", "30m", NULL },
		{ "replace_after", "90s", "90s", NULL },
		{ "replace_after", "120s", "2m", NULL },
		{ "replace_after", "0", "off", NULL },
		{ "replace_after", "off", "off", NULL },
		{ "replace_after", "500ms", NULL, "at least 1s" },
		{ "replace_after", "soon", NULL, "not a duration" },
		{ "replace_after", "", NULL, "not a duration" },
		{ "replace_after", "-5m", NULL, "not a duration" },
		{ "node_ttl", "7d", "7d", NULL },
		{ "provider", "command", "command", NULL },
		{ "provider", "sim", "sim", NULL },
		{ "provider", "aws", NULL, "none|command|sim" },
		{ "provider", "", NULL, "none|command|sim" },
		{ "provider", "non", NULL, "none|command|sim" },
		{ "provider_command", "/usr/local/bin/new-host", "/usr/local/bin/new-host", NULL },
		{ "provider_command", "", "", NULL },
		{ "provider_command", "relative/x", NULL, "absolute path" },
		{ "provider_command", "/a\nb", NULL, "absolute path" },
		{ "evict_removenode", "true", "true", NULL },
		{ "evict_removenode", "yes", NULL, "true or false" },
		{ "backup_down_policy", "skip_down", "skip_down", NULL },
		{ "backup_down_policy", "skip", NULL, "require_all|skip_down" },
		{ "bogus", "1", NULL, "unknown cluster setting 'bogus'" },
	};
	struct store_cluster_settings cs, got;
	struct store_setting_kv kv[2];
	char canon[1100], err[512];
	size_t n;

	store_settings_defaults(&cs);
	T_EQ_INT(cs.replace_after_ms, 0);
	T_EQ_STR(cs.provider, "none");
	T_EQ_STR(cs.backup_down_policy, "require_all");
	T_CHECK(!cs.evict_removenode, "evict_removenode on by default");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = store_setting_parse(&cs, cases[i].key, cases[i].text,
		    canon, sizeof(canon), err, sizeof(err));
		if (cases[i].canon != NULL) {
			T_CHECK(rc == 0, "%s=%s refused: %s", cases[i].key,
			    cases[i].text, err);
			if (rc == 0)
				T_EQ_STR(canon, cases[i].canon);
		} else {
			T_CHECK(rc != 0, "%s=%s accepted", cases[i].key,
			    cases[i].text);
			T_CHECK(strstr(err, cases[i].says) != NULL,
			    "%s=%s: '%s' does not say '%s'", cases[i].key,
			    cases[i].text, err, cases[i].says);
		}
	}
	/* Every default parses, and the registry's keys are unique. */
	const struct store_setting_def *d = store_settings_defs(&n);
	T_CHECK(n >= 6, "%zu settings", n);
	for (size_t i = 0; i < n; i++) {
		T_EQ_INT(store_setting_parse(&cs, d[i].key, d[i].def, canon,
		    sizeof(canon), err, sizeof(err)), 0);
		T_EQ_STR(canon, d[i].def);
		T_CHECK(store_setting_find(d[i].key) == &d[i], "find %s",
		    d[i].key);
		for (size_t j = i + 1; j < n; j++)
			T_CHECK(strcmp(d[i].key, d[j].key) != 0, "twice: %s",
			    d[i].key);
	}

	add_cluster(st, "cs");
	T_EQ_INT(store_cluster_settings_get(st, "cs", &got), 0);
	T_EQ_STR(got.provider, "none");
	T_EQ_INT(store_cluster_settings_get(st, "nope", &got), RM_ENOENT);
	kv[0] = (struct store_setting_kv){ "replace_after", "120s" };
	kv[1] = (struct store_setting_kv){ "provider", "sim" };
	T_EQ_INT(store_cluster_settings_set(st, "cs", kv, 2, err, sizeof(err)), 0);
	T_EQ_INT(store_cluster_settings_get(st, "cs", &got), 0);
	T_EQ_INT(got.replace_after_ms, 120000);
	T_EQ_STR(got.provider, "sim");
	/* One bad value: nothing of the change is written. */
	kv[0] = (struct store_setting_kv){ "replace_after", "1h" };
	kv[1] = (struct store_setting_kv){ "provider", "aws" };
	T_EQ_INT(store_cluster_settings_set(st, "cs", kv, 2, err, sizeof(err)),
	    RM_EINVAL);
	T_EQ_INT(store_cluster_settings_get(st, "cs", &got), 0);
	T_EQ_INT(got.replace_after_ms, 120000);
	/* NULL resets to the default. */
	kv[0] = (struct store_setting_kv){ "provider", NULL };
	T_EQ_INT(store_cluster_settings_set(st, "cs", kv, 1, err, sizeof(err)), 0);
	T_EQ_INT(store_cluster_settings_get(st, "cs", &got), 0);
	T_EQ_STR(got.provider, "none");
	T_EQ_INT(got.replace_after_ms, 120000);
	T_EQ_INT(store_cluster_settings_set(st, "nope", kv, 1, err, sizeof(err)),
	    RM_ENOENT);
}

/* A replacement's slot: taken by its task, the provider's state and
 * answer, the claim by the new host, the join mark, freed by the task. */
static void test_replace_slot(struct store *st)
{
	struct store_slot want, got;
	char err[256];

	add_cluster(st, "rs");
	memset(&want, 0, sizeof(want));
	str_copy(want.kind, "replace", sizeof(want.kind));
	str_copy(want.dead_address, "10.2.0.3", sizeof(want.dead_address));
	str_copy(want.dc, "dc1", sizeof(want.dc));
	str_copy(want.rack, "r1", sizeof(want.rack));
	str_copy(want.task_id, "t-rs1", sizeof(want.task_id));
	want.since_ms = 1000;
	want.deadline_ms = 5000;
	T_EQ_INT(store_slot_take(st, "rs", &want, err, sizeof(err)), 0);
	T_EQ_INT(store_slot_take(st, "rs", &want, err, sizeof(err)), RM_EBUSY);
	T_EQ_INT(store_slot_get(st, "rs", &got), 0);
	T_EQ_STR(got.task_id, "t-rs1");
	T_EQ_STR(got.holder, "");
	T_EQ_INT(got.provider_state, STORE_PROVIDER_NOT_ASKED);
	T_EQ_INT(got.joined_at, 0);
	/* Only the task that holds it records its provider. */
	T_EQ_INT(store_slot_provider(st, "rs", "t-other", STORE_PROVIDER_ASKING,
	    "", err, sizeof(err)), RM_ENOENT);
	T_EQ_INT(store_slot_provider(st, "rs", "t-rs1", STORE_PROVIDER_ASKING,
	    "", err, sizeof(err)), 0);
	T_EQ_INT(store_slot_provider(st, "rs", "t-rs1",
	    STORE_PROVIDER_ANSWERED, "10.2.0.9", err, sizeof(err)), 0);
	T_EQ_INT(store_slot_get(st, "rs", &got), 0);
	T_EQ_INT(got.provider_state, STORE_PROVIDER_ANSWERED);
	T_EQ_STR(got.new_address, "10.2.0.9");
	/* The host claims it once; another address then cannot. */
	T_EQ_INT(store_slot_claim(st, "rs", "10.2.0.3", "10.2.0.9", err,
	    sizeof(err)), 0);
	T_EQ_INT(store_slot_claim(st, "rs", "10.2.0.3", "10.2.0.8", err,
	    sizeof(err)), RM_EBUSY);
	/* Joined: marked once, for the holder since the slot's start only. */
	T_EQ_INT(store_slot_joined(st, "rs", "10.2.0.8", 1000, 3000, err,
	    sizeof(err)), RM_ENOENT);
	T_EQ_INT(store_slot_joined(st, "rs", "10.2.0.9", 999, 3000, err,
	    sizeof(err)), RM_ENOENT);
	T_EQ_INT(store_slot_joined(st, "rs", "10.2.0.9", 1000, 3000, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_slot_joined(st, "rs", "10.2.0.9", 1000, 4000, err,
	    sizeof(err)), RM_ENOENT);
	T_EQ_INT(store_slot_get(st, "rs", &got), 0);
	T_EQ_INT(got.joined_at, 3000);
	T_EQ_STR(got.holder, "10.2.0.9");
	/* Freed by its task only. */
	T_EQ_INT(store_slot_release_task(st, "rs", "t-other", err,
	    sizeof(err)), RM_ENOENT);
	T_EQ_INT(store_slot_release_task(st, "rs", "t-rs1", err, sizeof(err)),
	    0);
	T_EQ_INT(store_slot_get(st, "rs", &got), RM_ENOENT);
	T_EQ_INT(store_slot_release_task(st, "rs", "t-rs1", err, sizeof(err)),
	    RM_ENOENT);
}

/* Task events carry their detail as JSON written by hand: it must parse
 * back to the same strings whatever the error text holds. */
static void test_event_detail(struct store *st)
{
	static const char nasty[] = "say \"no\" \\ then\nnew line\ttab \x01 "
	    "caf\xc3\xa9";
	struct store_step_plan sp[1] = { { "one", NULL } };
	struct store_task_new tn = {
		.cluster = "cn", .type = "noop", .steps = sp, .nsteps = 1,
	};
	char id[STORE_ID_MAX], err[256];
	struct store_event_page ep;
	json_t *j, *items;
	size_t i, found = 0;

	T_EQ_INT(store_task_insert(st, &tn, id, NULL, err, sizeof(err)), 0);
	T_EQ_INT(store_task_update(st, id, STORE_TASK_FAILED, 0, nasty, NULL,
	    0, err, sizeof(err)), 0);
	T_EQ_INT(store_event_list(st, 0, "cn", NULL, 1000, &ep), 0);
	j = svc_json_event_page(&ep);
	store_event_page_release(&ep);
	items = json_object_get(j, "items");
	for (i = 0; i < json_array_size(items); i++) {
		json_t *e = json_array_get(items, i), *d;
		if (strcmp(jget(e, "target") ? jget(e, "target") : "", id) != 0)
			continue;
		d = json_object_get(e, "detail");
		T_EQ_STR(jget(d, "type"), "noop");
		if (strcmp(jget(e, "result"), "queued") == 0) {
			T_CHECK(json_object_get(d, "from") == NULL &&
			    json_object_get(d, "error") == NULL,
			    "queued event with from or error");
		} else {
			T_EQ_STR(jget(e, "result"), "failed");
			T_EQ_STR(jget(d, "from"), "queued");
			T_EQ_STR(jget(d, "error"), nasty);
		}
		found++;
	}
	T_EQ_INT(found, 2);
	json_decref(j);
}

/* ---- the backup index, damaged objects, step nodes, failing tasks ---- */

static struct store_backup mkbk(const char *id, enum store_backup_state s)
{
	struct store_backup b;

	memset(&b, 0, sizeof(b));
	str_copy(b.cluster, "bk", sizeof(b.cluster));
	str_copy(b.id, id, sizeof(b.id));
	str_copy(b.task_id, "t-0000000000000001", sizeof(b.task_id));
	b.state = s;
	b.started_at = 1700000000000;
	b.nodes = 3;
	b.files = 10;
	b.bytes = 1000;
	b.files_uploaded = 4;
	b.bytes_uploaded = 400;
	return b;
}

static void test_backup_index(struct store *st)
{
	char err[256] = "";
	struct store_backup b, *v = NULL, *one = NULL;
	size_t n = 0;
	char k1[] = "bk/data/h1/ks/t-1/nb-1-big-Data.db", r1[] = "missing";
	char k2[] = "bk/data/h1/ks/t-1/nb-2-big-Data.db",
	    r2[] = "size 3, the manifest says 9", r3[] = "missing again";
	struct store_backup_file bad[2] = { { k1, r1 }, { k2, r2 } };
	enum store_backup_state ps;

	add_cluster(st, "bk");
	T_EQ_STR(store_backup_state_str(STORE_BK_DAMAGED), "damaged");
	T_EQ_INT(store_backup_state_parse("partial", &ps), 0);
	T_EQ_INT(ps, STORE_BK_PARTIAL);
	T_EQ_INT(store_backup_state_parse("nope", &ps), -1);
	T_EQ_INT(store_backup_index_filled(st, "bk"), 0);

	b = mkbk("20261101T000000Z-01", STORE_BK_RUNNING);
	T_EQ_INT(store_backup_put(st, &b, err, sizeof(err)), 0);
	b = mkbk("20261102T000000Z-02", STORE_BK_COMPLETE);
	T_EQ_INT(store_backup_put(st, &b, err, sizeof(err)), 0);
	b = mkbk("x", STORE_BK_COMPLETE);
	str_copy(b.cluster, "ghost", sizeof(b.cluster));
	T_EQ_INT(store_backup_put(st, &b, err, sizeof(err)), RM_ENOENT);

	/* Newest first; the running one completes in place. */
	T_EQ_INT(store_backup_list(st, "bk", &v, &n), 0);
	T_EQ_INT(n, 2);
	T_EQ_STR(v[0].id, "20261102T000000Z-02");
	T_EQ_INT(v[1].state, STORE_BK_RUNNING);
	T_EQ_INT(v[0].bytes_uploaded, 400);
	T_EQ_STR(v[0].last_verify, "");
	store_backups_free(v, n);
	T_EQ_INT(store_backup_set_state(st, "bk", "20261101T000000Z-01",
	    STORE_BK_COMPLETE, 1700000001000, err, sizeof(err)), 0);
	T_EQ_INT(store_backup_set_state(st, "bk", "nope", STORE_BK_FAILED, 0,
	    err, sizeof(err)), RM_ENOENT);

	/* A verify that finds damage: the files are named, the state says
	 * so, and a later put of "complete" does not hide it. */
	T_EQ_INT(store_backup_verified(st, "bk", "20261102T000000Z-02",
	    "t-0000000000000009", 1700000002000, bad, 2, err, sizeof(err)), 0);
	T_EQ_INT(store_backup_get(st, "bk", "20261102T000000Z-02", &one), 0);
	T_EQ_INT(one->state, STORE_BK_DAMAGED);
	T_EQ_INT(one->ndamaged, 2);
	T_EQ_STR(one->damaged[1].reason, "size 3, the manifest says 9");
	T_EQ_STR(one->last_verify, "damaged");
	T_EQ_STR(one->last_verify_task, "t-0000000000000009");
	T_EQ_INT(one->last_verified_at, 1700000002000);
	store_backups_free(one, 1);
	b = mkbk("20261102T000000Z-02", STORE_BK_COMPLETE);
	T_EQ_INT(store_backup_put(st, &b, err, sizeof(err)), 0);
	T_EQ_INT(store_backup_get(st, "bk", "20261102T000000Z-02", &one), 0);
	T_EQ_INT(one->state, STORE_BK_DAMAGED);
	store_backups_free(one, 1);
	T_EQ_INT(store_backup_get(st, "bk", "nope", &one), RM_ENOENT);

	/* A skip_down backup keeps the nodes it left out; a whole one has
	 * none (NULL, not ""). */
	T_EQ_INT(store_backup_get(st, "bk", "20261101T000000Z-01", &one), 0);
	T_CHECK(one->missing_nodes == NULL, "no missing nodes");
	store_backups_free(one, 1);
	b = mkbk("20261103T000000Z-03", STORE_BK_PARTIAL);
	b.partial = true;
	b.missing_nodes = (char *)(uintptr_t)
	    "[{\"address\":\"10.0.0.3\",\"state\":\"down\"}]";
	T_EQ_INT(store_backup_put(st, &b, err, sizeof(err)), 0);
	T_EQ_INT(store_backup_get(st, "bk", "20261103T000000Z-03", &one), 0);
	T_EQ_INT(one->state, STORE_BK_PARTIAL);
	T_EQ_STR(one->missing_nodes,
	    "[{\"address\":\"10.0.0.3\",\"state\":\"down\"}]");
	store_backups_free(one, 1);
	T_EQ_INT(store_backup_delete(st, "bk", "20261103T000000Z-03", err,
	    sizeof(err)), 0);

	/* Damaged objects mark other backups; clearing them gives the state
	 * back once nothing is left. */
	struct store_damaged d = { k1, r1, 1700000002000, "" };
	str_copy(d.task_id, "t-0000000000000009", sizeof(d.task_id));
	T_EQ_INT(store_damaged_put(st, "bk", &d, err, sizeof(err)), 0);
	d.reason = r3;
	T_EQ_INT(store_damaged_put(st, "bk", &d, err, sizeof(err)), 0);
	struct store_damaged *dv;
	size_t dn;
	T_EQ_INT(store_damaged_list(st, "bk", &dv, &dn), 0);
	T_EQ_INT(dn, 1);
	T_EQ_STR(dv[0].reason, "missing again");
	T_EQ_STR(dv[0].task_id, "t-0000000000000009");
	store_damaged_free(dv, dn);
	T_EQ_INT(store_backup_mark_damaged(st, "bk", "20261101T000000Z-01",
	    bad, 1, err, sizeof(err)), 0);
	T_EQ_INT(store_backup_get(st, "bk", "20261101T000000Z-01", &one), 0);
	T_EQ_INT(one->state, STORE_BK_DAMAGED);
	T_EQ_INT(one->ndamaged, 1);
	store_backups_free(one, 1);
	T_EQ_INT(store_damaged_clear(st, "bk", bad[0].key, err, sizeof(err)), 0);
	T_EQ_INT(store_damaged_list(st, "bk", &dv, &dn), 0);
	T_EQ_INT(dn, 0);
	store_damaged_free(dv, dn);
	T_EQ_INT(store_backup_get(st, "bk", "20261101T000000Z-01", &one), 0);
	T_EQ_INT(one->state, STORE_BK_COMPLETE);
	T_EQ_INT(one->ndamaged, 0);
	store_backups_free(one, 1);
	/* -02 still has its second bad file. */
	T_EQ_INT(store_backup_get(st, "bk", "20261102T000000Z-02", &one), 0);
	T_EQ_INT(one->state, STORE_BK_DAMAGED);
	T_EQ_INT(one->ndamaged, 1);
	store_backups_free(one, 1);
	/* A clean verify restores it; a partial one stays partial. */
	T_EQ_INT(store_backup_verified(st, "bk", "20261102T000000Z-02",
	    "t-000000000000000a", 1700000003000, NULL, 0, err, sizeof(err)), 0);
	T_EQ_INT(store_backup_get(st, "bk", "20261102T000000Z-02", &one), 0);
	T_EQ_INT(one->state, STORE_BK_COMPLETE);
	T_EQ_STR(one->last_verify, "ok");
	store_backups_free(one, 1);
	b = mkbk("20261103T000000Z-03", STORE_BK_PARTIAL);
	b.partial = true;
	T_EQ_INT(store_backup_put(st, &b, err, sizeof(err)), 0);
	T_EQ_INT(store_backup_verified(st, "bk", b.id, "t-1", 1, bad, 1, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_backup_verified(st, "bk", b.id, "t-2", 2, NULL, 0, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_backup_get(st, "bk", b.id, &one), 0);
	T_EQ_INT(one->state, STORE_BK_PARTIAL);
	store_backups_free(one, 1);

	/* Reindex: what storage holds is kept, the rest goes, but never a
	 * running one; the verify fields survive. */
	struct store_backup from[2];
	from[0] = mkbk("20261102T000000Z-02", STORE_BK_COMPLETE);
	from[1] = mkbk("20261104T000000Z-04", STORE_BK_INCOMPLETE);
	b = mkbk("20261105T000000Z-05", STORE_BK_RUNNING);
	T_EQ_INT(store_backup_put(st, &b, err, sizeof(err)), 0);
	T_EQ_INT(store_backup_reindex(st, "bk", from, 2, 1700000009000, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_backup_index_filled(st, "bk"), 1700000009000);
	T_EQ_INT(store_backup_list(st, "bk", &v, &n), 0);
	T_EQ_INT(n, 3);
	T_EQ_STR(v[0].id, "20261105T000000Z-05");
	T_EQ_STR(v[1].id, "20261104T000000Z-04");
	T_EQ_STR(v[2].id, "20261102T000000Z-02");
	T_EQ_STR(v[2].last_verify, "ok");
	store_backups_free(v, n);
	T_EQ_INT(store_backup_delete(st, "bk", "20261104T000000Z-04", err,
	    sizeof(err)), 0);
	T_EQ_INT(store_backup_delete(st, "bk", "20261104T000000Z-04", err,
	    sizeof(err)), RM_ENOENT);
}

static void test_step_nodes_failing(struct store *st)
{
	char id[STORE_ID_MAX], err[256] = "";
	struct store_node_progress p = {
		.node = "10.0.0.1", .phase = "upload", .files_done = 12,
		.files_total = 40, .bytes_done = 1234, .bytes_total = 5678,
		.rate_bps = 1000.0, .state = "running", .message = "12/40",
		.updated_at = 1700000000000,
	};
	struct store_task_detail d;
	json_t *j, *nodes;
	char *e = NULL;
	int idx = -1;

	T_EQ_INT(insert_task(st, "bk", 3, id), 0);
	T_EQ_INT(store_step_node_put(st, id, 1, &p, err, sizeof(err)), 0);
	p.files_done = 40;
	p.state = "done";
	p.message = "40 files";
	T_EQ_INT(store_step_node_put(st, id, 1, &p, err, sizeof(err)), 0);
	p.node = "10.0.0.2";
	p.files_done = p.files_total = p.bytes_done = p.bytes_total = -1;
	p.rate_bps = -1;
	T_EQ_INT(store_step_node_put(st, id, 1, &p, err, sizeof(err)), 0);
	T_EQ_INT(store_step_node_put(st, id, 9, &p, err, sizeof(err)),
	    RM_ENOENT);
	T_EQ_INT(store_task_get(st, id, &d), 0);
	T_EQ_INT(d.nnodes, 2);
	if (d.nnodes == 2) {
		const struct store_step_node_row *r = &d.nodes[0];
		T_EQ_INT(r->idx, 1);
		T_EQ_STR(r->node, "10.0.0.1");
		T_EQ_INT(r->files_done, 40);
		T_EQ_INT(r->files_total, 40);
		T_EQ_INT(r->bytes_done, 1234);
		T_EQ_INT(r->bytes_total, 5678);
		T_CHECK(r->rate_bps == 1000.0, "rate %f", r->rate_bps);
		T_EQ_INT(r->updated_at, 1700000000000);
		r = &d.nodes[1];
		T_EQ_STR(r->node, "10.0.0.2");
		T_CHECK(r->files_done == -1 && r->bytes_total == -1 &&
		    r->rate_bps < 0, "unknown counts not -1");
	}
	j = svc_json_task_detail(&d);
	store_task_detail_release(&d);
	T_EQ_INT(json_array_size(json_object_get(json_array_get(
	    json_object_get(j, "steps"), 0), "nodes")), 0);
	nodes = json_object_get(json_array_get(json_object_get(j, "steps"), 1),
	    "nodes");
	T_EQ_INT(json_array_size(nodes), 2);
	json_t *n0 = json_array_get(nodes, 0);
	T_EQ_STR(jget(n0, "node"), "10.0.0.1");
	T_EQ_STR(jget(n0, "phase"), "upload");
	T_EQ_STR(jget(n0, "state"), "done");
	T_EQ_STR(jget(n0, "message"), "40 files");
	T_EQ_INT(json_integer_value(json_object_get(n0, "files_done")), 40);
	T_EQ_INT(json_integer_value(json_object_get(n0, "bytes_total")), 5678);
	T_CHECK(json_real_value(json_object_get(n0, "rate_bps")) == 1000.0,
	    "rate");
	T_EQ_STR(jget(n0, "updated_at"), "2023-11-14T22:13:20.000Z");
	T_CHECK(json_is_null(json_object_get(json_array_get(nodes, 1),
	    "files_done")), "unknown count is not null");
	json_decref(j);

	T_EQ_INT(store_task_failing_get(st, id, &idx, &e), RM_ENOENT);
	T_EQ_INT(store_task_failing_set(st, id, 2, "step 'x' failed", err,
	    sizeof(err)), 0);
	T_EQ_INT(store_task_failing_get(st, id, &idx, &e), 0);
	T_EQ_INT(idx, 2);
	T_EQ_STR(e, "step 'x' failed");
	free(e);
	T_EQ_INT(store_task_failing_clear(st, id, err, sizeof(err)), 0);
	T_EQ_INT(store_task_failing_get(st, id, &idx, &e), RM_ENOENT);
	T_EQ_INT(store_task_failing_set(st, "t-nope", 0, "x", err,
	    sizeof(err)), RM_ENOENT);

	/* Deleting the cluster takes it all. */
	T_EQ_INT(store_cluster_delete(st, "bk", err, sizeof(err)), 0);
	struct store_backup *v;
	size_t n;
	T_EQ_INT(store_backup_list(st, "bk", &v, &n), 0);
	T_EQ_INT(n, 0);
	store_backups_free(v, n);
	T_EQ_INT(store_backup_index_filled(st, "bk"), 0);
}

int main(void)
{
	struct store *st;
	char snap[300], err[256];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/state.db", dir);
	test_recovery_after_exit();
	test_migrations();
	test_migration_partial();
	st = open_store();
	test_clusters_nodes(st);
	test_tasks(st);
	test_events_tokens(st);
	test_schedules_cascade(st);
	test_group_commit(st);
	test_update_visibility(st);
	test_group_commit_failure(st);
	test_cluster_nodes(st);
	test_cluster_settings(st);
	test_event_detail(st);
	test_backup_index(st);
	test_step_nodes_failing(st);
	test_replace_slot(st);
	snprintf(snap, sizeof(snap), "%s/snap.db", dir);
	T_EQ_INT(store_snapshot(st, snap, err, sizeof(err)), 0);
	T_CHECK(access(snap, F_OK) == 0, "no snapshot file");
	store_close(st);
	/* The snapshot is a store. */
	str_copy(path, snap, sizeof(path));
	st = open_store();
	T_CHECK(store_cluster_exists(st, "prod"), "snapshot lacks prod");
	store_close(st);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return t_done("test_store");
}
