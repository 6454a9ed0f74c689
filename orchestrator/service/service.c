/*
 * service.c - see service.h.
 *
 * The service is the one place that knows the order of things: a cluster
 * is written to the store before its queue exists; a task is persisted by
 * the engine before it is queued; a deleted cluster's nodes leave the
 * heartbeat table after its rows leave the store.  Reads combine the store
 * (durable state), the engine (queue depth, running task) and the
 * heartbeat table (latest node state, not yet flushed).
 */
#include "service.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/htab.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "../cfg.h"
#include "../engine/cron.h"
#include "hb.h"
#include "../http/metrics.h"
#include "../tasks/backup.h"
#include "../nodes/nodeops.h"
#include "../nodes/ssh.h"
#include "../tasks/repair.h"
#include "../engine/sched.h"
#include "../store/store.h"
#include "../engine/params.h"
#include "../engine/task.h"

/*
 * GET /api/v1/clusters/{name} is the hottest read: the cluster's settings
 * change only when it is created, deleted or a node joins, so the store's
 * object is cached by name and copied out; the live numbers (queue, node
 * states) are added to the copy on every read.
 */
struct ccache_ent {
	struct htab_node hn;	/* in service.cc, by name */
	char *name;
	char *prefix;		/* the object's JSON without live fields and '}' */
	size_t len;
};

struct service {
	pthread_mutex_t cc_mtx;
	struct htab cc;		/* struct ccache_ent */
	uint64_t cc_gen;	/* bumped by every forget: a put that raced one is dropped */
	struct store *st;
	struct hb *hb;
	struct task_engine *eng;
	struct sched *sched;
	struct ssh_pool *pool;		/* the node client */
	struct metrics *metrics;
	char *data_dir;
	int workers;
	_Atomic int64_t hb_interval_ms;
};

static void svc_set(struct svc_err *e, enum rm_err code, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static void svc_set(struct svc_err *e, enum rm_err code, const char *fmt,
    ...)
{
	va_list ap;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/* Translate an engine code once, here. */
/* An error of the engine or the store, as it is (one vocabulary, err.h),
 * with its message. */
static int task_fail(struct svc_err *e, int rc, const char *msg)
{
	svc_set(e, rc < 0 ? (enum rm_err)rc : RM_ERR, "%s", msg && *msg ? msg :
	    "internal error: see the ringmaster log");
	return -1;
}

static struct ccache_ent *cc_find(struct service *s, const char *name)
{
	uint64_t h = htab_hash(name);

	for (struct htab_node *n = htab_first(&s->cc, h); n; n = htab_next(n, h))
		if (strcmp(HTAB_ENTRY(n, struct ccache_ent, hn)->name, name) == 0)
			return HTAB_ENTRY(n, struct ccache_ent, hn);
	return NULL;
}

static void cc_ent_free(struct ccache_ent *e)
{
	free(e->prefix);
	free(e->name);
	free(e);
}

/* Copy the cached prefix into buf (size bytes); its length, or 0. */
static size_t cc_get(struct service *s, const char *name, char *buf,
    size_t size)
{
	struct ccache_ent *e;
	size_t n = 0;

	pthread_mutex_lock(&s->cc_mtx);
	if ((e = cc_find(s, name)) != NULL && e->len < size) {
		memcpy(buf, e->prefix, e->len);
		n = e->len;
	}
	pthread_mutex_unlock(&s->cc_mtx);
	return n;
}

static void cc_forget(struct service *s, const char *name)
{
	struct ccache_ent *e;

	pthread_mutex_lock(&s->cc_mtx);
	s->cc_gen++;
	if ((e = cc_find(s, name)) != NULL) {
		htab_remove(&s->cc, &e->hn);
		cc_ent_free(e);
	}
	pthread_mutex_unlock(&s->cc_mtx);
}

static uint64_t cc_generation(struct service *s)
{
	pthread_mutex_lock(&s->cc_mtx);
	uint64_t g = s->cc_gen;
	pthread_mutex_unlock(&s->cc_mtx);
	return g;
}

/*
 * Keep prefix (taken), read from the store when the generation was gen:
 * if anything was forgotten since, the read may be stale and is dropped.
 */
static void cc_put(struct service *s, const char *name, char *prefix,
    size_t len, uint64_t gen)
{
	struct ccache_ent *e;

	pthread_mutex_lock(&s->cc_mtx);
	if (s->cc_gen != gen || cc_find(s, name) != NULL) {
		pthread_mutex_unlock(&s->cc_mtx);
		free(prefix);
		return;
	}
	e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(name);
	e->prefix = prefix;
	e->len = len;
	htab_add(&s->cc, &e->hn, htab_hash(name));
	pthread_mutex_unlock(&s->cc_mtx);
}

static void cc_free_one(struct htab_node *n, void *arg)
{
	(void)arg;
	cc_ent_free(HTAB_ENTRY(n, struct ccache_ent, hn));
}

static void cc_free(struct service *s)
{
	htab_each(&s->cc, cc_free_one, NULL);
	htab_release(&s->cc);
}

static void on_task_event(const struct task_event *ev, void *arg)
{
	struct service *s = arg;

	if (store_task_state_terminal(ev->to) && ev->started_at > 0 &&
	    ev->finished_at >= ev->started_at)
		metrics_task_finished(s->metrics, ev->type,
		    (double)(ev->finished_at - ev->started_at) / 1000.0);
	if (ev->to == STORE_TASK_FAILED)
		metrics_task_failed(s->metrics, ev->type);
}

struct service *service_start(const struct cfg *c, struct store *st,
    struct metrics *m, char *err, size_t errlen)
{
	struct service *s = xcalloc(1, sizeof(*s));

	s->metrics = m;
	pthread_mutex_init(&s->cc_mtx, NULL);
	htab_init(&s->cc, 1024);
	s->st = st;
	s->data_dir = xstrdup(c->data_dir);
	s->workers = c->workers;
	s->hb_interval_ms = c->heartbeat_interval_ms;
	if ((s->eng = task_engine_new(st, c->workers, err, errlen)) == NULL)
		goto fail;
	task_set_observer(s->eng, on_task_event, s);
	/* Task types of other modules, before the workers start. */
	s->pool = ssh_pool_new(60000, 2);
	if (nodeops_register(s->eng, s->pool, err, errlen) != 0)
		goto fail;
	if (backup_register(s->eng, err, errlen) != 0)
		goto fail;
	if (repair_register(s->eng, err, errlen) != 0)
		goto fail;
	if (task_resume_all(s->eng, err, errlen) != 0)
		goto fail;
	s->hb = hb_new(st, c->heartbeat_timeout_ms, c->heartbeat_flush_ms,
	    err, errlen);
	if (s->hb == NULL || hb_start(s->hb, err, errlen) != 0)
		goto fail;
	if (task_start(s->eng, err, errlen) != 0)
		goto fail;
	if ((s->sched = sched_new(s->eng, 1000, err, errlen)) == NULL)
		goto fail;
	return s;
fail:
	service_stop(s);
	return NULL;
}

void service_stop(struct service *s)
{
	if (s == NULL)
		return;
	sched_free(s->sched);
	/* Running steps stop at their next checkpoint and stay resumable;
	 * jobs on nodes run on and are attached again at the next start. */
	task_engine_free(s->eng);
	ssh_pool_free(s->pool);
	hb_free(s->hb);
	cc_free(s);
	pthread_mutex_destroy(&s->cc_mtx);
	free(s->data_dir);
	free(s);
}

void service_reload(struct service *s, const struct cfg *c)
{
	s->hb_interval_ms = c->heartbeat_interval_ms;
	hb_set_timeout(s->hb, c->heartbeat_timeout_ms);
}

/* ---------- clusters ---------- */


static void add_queue_info(struct service *s, json_t *cl)
{
	const char *name = json_string_value(json_object_get(cl, "name"));
	char running[STORE_ID_MAX] = "";
	size_t depth = 0;
	int up = 0, down = 0;

	if (name == NULL)
		return;
	task_queue_info(s->eng, name, &depth, running, sizeof(running));
	hb_cluster_counts(s->hb, name, &up, &down);
	json_object_set_new(cl, "nodes_up", json_integer(up));
	json_object_set_new(cl, "nodes_down", json_integer(down));
	json_object_set_new(cl, "queue_depth", json_integer((json_int_t)depth));
	json_object_set_new(cl, "running_task",
	    running[0] ? json_string(running) : json_null());
}

int service_cluster_create(struct service *s, const struct svc_cluster *cl,
    json_t **out, struct svc_err *e)
{
	struct store_cluster sc = {
		.name = cl->name,
		.storage_url = cl->storage_url,
		.storage_endpoint = cl->storage_endpoint,
		.storage_region = cl->storage_region,
		.ssh_user = cl->ssh_user,
		.ssh_port = cl->ssh_port,
		.ssh_key_file = cl->ssh_key_file,
	};
	char err[256];
	int rc = store_cluster_create(s->st, &sc, err, sizeof(err));

	if (rc == RM_EEXIST) {
		svc_set(e, RM_ECONFLICT, "cluster '%s' exists already",
		    cl->name);
		return -1;
	}
	if (rc != 0) {
		log_warnx("cannot create cluster %s: %s", cl->name, err);
		svc_set(e, RM_ERR, "cannot create cluster '%s': %s",
		    cl->name, err);
		return -1;
	}
	if (task_cluster_add(s->eng, cl->name) != 0)
		log_warnx("cluster %s: cannot create its queue", cl->name);
	return service_cluster_get(s, cl->name, out, e);
}

int service_cluster_list(struct service *s, const struct svc_list *l,
    json_t **out, struct svc_err *e)
{
	json_t *page = store_cluster_list(s->st, l->cursor, l->limit), *v;
	size_t i;

	if (page == NULL) {
		svc_set(e, RM_ERR, "cannot list clusters: see the "
		    "ringmaster log");
		return -1;
	}
	json_array_foreach(json_object_get(page, "items"), i, v)
		add_queue_info(s, v);
	*out = page;
	return 0;
}

int service_cluster_get(struct service *s, const char *name, json_t **out,
    struct svc_err *e)
{
	json_t *cl = store_cluster_get(s->st, name);

	if (cl == NULL) {
		svc_set(e, RM_ENOENT, "cluster '%s' not found", name);
		return -1;
	}
	add_queue_info(s, cl);
	*out = cl;
	return 0;
}

int service_cluster_get_text(struct service *s, const char *name,
    char **text, size_t *len, struct svc_err *e)
{
	char buf[4096], running[STORE_ID_MAX] = "", tail[160];
	size_t n = cc_get(s, name, buf, sizeof(buf)), depth = 0;
	int up = 0, down = 0, t;

	if (n == 0) {
		uint64_t gen = cc_generation(s);
		json_t *cl = store_cluster_get(s->st, name);
		char *dump;
		if (cl == NULL) {
			svc_set(e, RM_ENOENT, "cluster '%s' not found", name);
			return -1;
		}
		/* The live fields are added below, after the cached part. */
		json_object_del(cl, "nodes_up");
		json_object_del(cl, "nodes_down");
		json_object_del(cl, "queue_depth");
		json_object_del(cl, "running_task");
		dump = json_dumps(cl, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(cl);
		if (dump == NULL || (n = strlen(dump)) < 2 || n >= sizeof(buf)) {
			free(dump);
			svc_set(e, RM_ERR, "cannot encode cluster '%s'", name);
			return -1;
		}
		dump[--n] = '\0';	/* drop the closing brace */
		memcpy(buf, dump, n);
		cc_put(s, name, dump, n, gen);
	}
	task_queue_info(s->eng, name, &depth, running, sizeof(running));
	hb_cluster_counts(s->hb, name, &up, &down);
	t = snprintf(tail, sizeof(tail), ",\"nodes_up\":%d,\"nodes_down\":%d,"
	    "\"queue_depth\":%zu,\"running_task\":%s%s%s}", up, down, depth,
	    running[0] ? "\"" : "", running[0] ? running : "null",
	    running[0] ? "\"" : "");
	*text = xmalloc(n + (size_t)t + 1);
	memcpy(*text, buf, n);
	memcpy(*text + n, tail, (size_t)t + 1);
	*len = n + (size_t)t;
	return 0;
}

/* Add "sect.key": {"from","to"} to changed when the value differs. */
static void diff_setting(json_t *changed, json_t *before, json_t *after,
    const char *sect, const char *key)
{
	json_t *a = json_object_get(json_object_get(before, sect), key);
	json_t *b = json_object_get(json_object_get(after, sect), key);
	char path[64];

	if (a == NULL || b == NULL || json_equal(a, b))
		return;
	snprintf(path, sizeof(path), "%s.%s", sect, key);
	json_object_set_new(changed, path, json_pack("{s:O,s:O}", "from", a,
	    "to", b));
}

int service_cluster_update(struct service *s, const char *name,
    const struct svc_cluster_patch *p, const char *who, json_t **out,
    struct svc_err *e)
{
	static const char *const keys[][2] = {
		{ "storage", "url" }, { "storage", "endpoint" },
		{ "storage", "region" }, { "ssh", "user" }, { "ssh", "port" },
		{ "ssh", "key_file" },
	};
	struct store_cluster_patch sp = {
		.storage_url = p->storage_url,
		.storage_endpoint = p->storage_endpoint,
		.clear_storage_endpoint = p->clear_storage_endpoint,
		.storage_region = p->storage_region,
		.clear_storage_region = p->clear_storage_region,
		.ssh_user = p->ssh_user,
		.ssh_port = p->ssh_port,
		.ssh_key_file = p->ssh_key_file,
	};
	char running[STORE_ID_MAX] = "", err[256] = "", *detail;
	json_t *before, *after, *changed;
	struct store_event ev = { 0 };
	size_t depth = 0;
	int rc;

	if ((before = store_cluster_get(s->st, name)) == NULL) {
		svc_set(e, RM_ENOENT, "cluster '%s' not found", name);
		return -1;
	}
	/* The engine knows a task runs before the store does; the store's
	 * check, in the update's transaction, closes the race after this. */
	task_queue_info(s->eng, name, &depth, running, sizeof(running));
	rc = running[0] ? RM_EBUSY : store_cluster_update(s->st, name, &sp,
	    running, sizeof(running), err, sizeof(err));
	if (rc == RM_EBUSY) {
		svc_set(e, RM_ECONFLICT, "cluster '%s' has a running task %s: "
		    "its settings cannot change under it; wait for it to finish "
		    "or cancel it, then try again", name,
		    running[0] ? running : "(unknown id)");
		json_decref(before);
		return -1;
	}
	if (rc == RM_ENOENT) {
		svc_set(e, RM_ENOENT, "cluster '%s' not found", name);
		json_decref(before);
		return -1;
	}
	if (rc != 0) {
		svc_set(e, RM_ERR, "cannot update cluster '%s': %s", name,
		    err);
		json_decref(before);
		return -1;
	}
	cc_forget(s, name);
	after = store_cluster_get(s->st, name);
	changed = json_object();
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		diff_setting(changed, before, after, keys[i][0], keys[i][1]);
	changed = json_pack("{s:o}", "changed", changed);
	detail = json_dumps(changed, JSON_COMPACT | JSON_SORT_KEYS);
	ev.actor = who && *who ? who : "anonymous";
	ev.kind = "cluster";
	ev.target = name;
	ev.cluster = name;
	ev.result = "updated";
	ev.detail_json = detail;
	if (store_event_append(s->st, &ev, err, sizeof(err)) != 0)
		log_warnx("cluster %s updated, but its event was not recorded: "
		    "%s", name, err);
	log_info("cluster %s settings changed by %s: %s", name, ev.actor,
	    detail ? detail : "?");
	free(detail);
	json_decref(changed);
	json_decref(before);
	json_decref(after);
	return service_cluster_get(s, name, out, e);
}

int service_cluster_delete(struct service *s, const char *name,
    struct svc_err *e)
{
	char err[256] = "";
	int rc = task_cluster_delete(s->eng, name, err, sizeof(err));

	if (rc == RM_ENOENT) {
		svc_set(e, RM_ENOENT, "cluster '%s' not found", name);
		return -1;
	}
	if (rc == RM_EBUSY) {
		svc_set(e, RM_ECONFLICT, "cluster '%s' has a running task: "
		    "cancel it or wait for it to finish, then delete", name);
		return -1;
	}
	cc_forget(s, name);
	if (rc != 0)
		return task_fail(e, rc, err);
	hb_cluster_forget(s->hb, name);
	return 0;
}

/* The cluster's nodes as stored, or NULL with e set. */
static json_t *cluster_nodes(struct service *s, const char *cluster,
    struct svc_err *e)
{
	json_t *nodes;

	if (!store_cluster_exists(s->st, cluster)) {
		svc_set(e, RM_ENOENT, "cluster '%s' not found", cluster);
		return NULL;
	}
	if ((nodes = store_node_list(s->st, cluster)) == NULL)
		svc_set(e, RM_ERR, "cannot list nodes: see the "
		    "ringmaster log");
	return nodes;
}

int service_nodes_list(struct service *s, const char *cluster, json_t **out,
    struct svc_err *e)
{
	json_t *nodes = cluster_nodes(s, cluster, e);

	if (nodes == NULL)
		return -1;
	hb_merge_nodes(s->hb, cluster, nodes);
	*out = json_pack("{s:o,s:n}", "items", nodes, "next");
	return 0;
}

/*
 * Seeds: the nodes flagged is_seed; when none is, up to two live nodes per
 * datacenter, lowest address first so every agent gets the same answer.
 */
static json_t *pick_seeds(struct service *s, const char *cluster,
    json_t *nodes, const char *exclude)
{
	json_t *seeds = json_array(), *v;
	size_t i;

	hb_merge_nodes(s->hb, cluster, nodes);
	json_array_foreach(nodes, i, v)
		if (json_is_true(json_object_get(v, "is_seed")))
			json_array_append(seeds, json_object_get(v, "address"));
	if (json_array_size(seeds) > 0)
		return seeds;
	/* store_node_list() is ordered by address. */
	json_t *per_dc = json_object();
	json_array_foreach(nodes, i, v) {
		const char *dc = json_string_value(json_object_get(v, "dc"));
		const char *state = json_string_value(json_object_get(v, "state"));
		const char *addr = json_string_value(json_object_get(v, "address"));
		json_t *n;
		if (addr == NULL || (exclude && strcmp(addr, exclude) == 0))
			continue;
		if (state == NULL || strcmp(state, "up") != 0)
			continue;
		if (dc == NULL)
			dc = "";
		n = json_object_get(per_dc, dc);
		if (json_integer_value(n) >= 2)
			continue;
		json_object_set_new(per_dc, dc,
		    json_integer(json_integer_value(n) + 1));
		json_array_append_new(seeds, json_string(addr));
	}
	json_decref(per_dc);
	return seeds;
}

int service_seeds(struct service *s, const char *cluster, json_t **out,
    struct svc_err *e)
{
	json_t *nodes = cluster_nodes(s, cluster, e);

	if (nodes == NULL)
		return -1;
	*out = json_pack("{s:o}", "seeds", pick_seeds(s, cluster, nodes, NULL));
	json_decref(nodes);
	return 0;
}

/* ---------- agents ---------- */

/*
 * A check-in into an unknown cluster creates it with defaults (storage
 * under data_dir, ssh user cassandra) so nodes may boot before an
 * operator registers the cluster; the event says so.
 */
static int ensure_cluster(struct service *s, const char *name,
    struct svc_err *e)
{
	char err[256];
	char *url, *key;
	int rc;

	if (store_cluster_exists(s->st, name))
		return 0;
	url = xasprintf("file://%s/backups/%s", s->data_dir, name);
	key = xasprintf("%s/ssh/id_ed25519", s->data_dir);
	struct store_cluster sc = {
		.name = name, .storage_url = url, .ssh_user = "cassandra",
		.ssh_port = 22, .ssh_key_file = key,
	};
	rc = store_cluster_create(s->st, &sc, err, sizeof(err));
	free(url);
	free(key);
	if (rc != 0 && rc != RM_EEXIST) {
		svc_set(e, RM_ERR, "cannot create cluster '%s': %s",
		    name, err);
		return -1;
	}
	if (rc == 0) {
		struct store_event ev = {
			.actor = "ringmaster", .kind = "cluster",
			.target = name, .cluster = name, .result = "created",
			.detail_json = "{\"reason\":\"agent check-in\"}",
		};
		store_event_append(s->st, &ev, NULL, 0);
		log_info("cluster %s created by an agent's check-in with "
		    "default storage and ssh settings", name);
	}
	task_cluster_add(s->eng, name);
	return 0;
}

const char *service_checkin_role(bool known, bool known_host_id,
    const struct svc_checkin *ci, const char **why)
{
	const char *w = NULL;

	/*
	 * The first check-in of a running cluster finds every node unknown:
	 * what the node says of itself must decide, or a live member would be
	 * told to bootstrap and its seeds rewritten.
	 */
	if (ci->host_id != NULL)
		w = "it reports a host id";
	else if (known && known_host_id)
		w = "it is known with a host id";
	else if (ci->cassandra_running > 0)
		w = "its Cassandra is running";
	else if (ci->has_data > 0)
		w = "its data dirs hold SSTables";
	else if (ci->system_keyspace > 0)
		w = "its data dirs hold a system keyspace";
	if (why != NULL)
		*why = w ? w : "a new node: no host id, no data, Cassandra "
		    "not running";
	return w ? "rejoin" : "bootstrap";
}

int service_checkin(struct service *s, const struct svc_checkin *ci,
    json_t **out, struct svc_err *e)
{
	json_t *known = NULL, *nodes, *seeds;
	const char *role, *why;
	struct store_node n;
	char err[256];
	bool created = false;

	if (ensure_cluster(s, ci->cluster, e) != 0)
		return -1;
	if (ci->host_id != NULL)
		known = store_node_find_host(s->st, ci->cluster, ci->host_id);
	if (known == NULL)
		known = store_node_get(s->st, ci->cluster, ci->address);
	role = service_checkin_role(known != NULL, known != NULL &&
	    json_is_string(json_object_get(known, "host_id")), ci, &why);
	if (known != NULL) {
		const char *old = json_string_value(json_object_get(known,
		    "address"));
		/* Same host id, new address: the old row is this node. */
		if (old && strcmp(old, ci->address) != 0 &&
		    store_node_delete(s->st, ci->cluster, old, NULL, 0) == 0) {
			hb_node_forget(s->hb, ci->cluster, old);
			cc_forget(s, ci->cluster);
		}
	}
	json_decref(known);

	memset(&n, 0, sizeof(n));
	n.cluster = ci->cluster;
	n.address = ci->address;
	n.host_id = ci->host_id;
	n.dc = ci->dc;
	n.rack = ci->rack;
	n.version = ci->cassandra_version;
	n.ssh_host_key = ci->ssh_host_key;
	/* A rejoin whose agent says Cassandra is stopped is not up yet: its
	 * heartbeats will say when it is. */
	n.state = strcmp(role, "rejoin") != 0 ? "joining" :
	    ci->cassandra_running == 0 ? "unknown" : "up";
	n.last_heartbeat = time_wall_ms();
	n.load_bytes = -1;
	n.is_seed = -1;
	if (store_node_upsert(s->st, &n, &created, err, sizeof(err)) != 0) {
		svc_set(e, RM_ERR, "cannot record node %s: %s",
		    ci->address, err);
		return -1;
	}
	hb_node_set(s->hb, ci->cluster, ci->address, n.state, n.last_heartbeat,
	    ci->host_id, ci->cassandra_version);
	if (created)
		cc_forget(s, ci->cluster);	/* its node count changed */

	nodes = store_node_list(s->st, ci->cluster);
	seeds = pick_seeds(s, ci->cluster, nodes ? nodes : json_array(),
	    ci->address);
	json_decref(nodes);
	/* The first node of a cluster seeds itself. */
	if (json_array_size(seeds) == 0)
		json_array_append_new(seeds, json_string(ci->address));
	*out = json_pack("{s:s,s:o,s:I,s:s}", "role", role, "seeds", seeds,
	    "heartbeat_interval_s",
	    (json_int_t)((s->hb_interval_ms + 999) / 1000), "cluster",
	    ci->cluster);
	log_info("node %s of cluster %s checked in (%s: %s)", ci->address,
	    ci->cluster, role, why);
	return 0;
}

int service_heartbeat(struct service *s, const struct svc_heartbeat *hb,
    struct svc_err *e)
{
	struct hb_beat b = {
		.cluster = hb->cluster, .address = hb->address,
		.host_id = hb->host_id, .version = hb->cassandra_version,
		.status = hb->status, .load_bytes = hb->load_bytes,
		.at_ms = time_wall_ms(),
	};
	int rc = hb_beat(s->hb, &b);

	if (rc < 0) {
		svc_set(e, RM_ENOENT, "node %s of cluster '%s' has not "
		    "checked in: its agent must check in first", hb->address,
		    hb->cluster);
		return -1;
	}
	if (rc > 0) {
		/* A node learnt its host id (it joined) or was upgraded:
		 * rare, so written through rather than batched. */
		struct store_node n = {
			.cluster = hb->cluster, .address = hb->address,
			.host_id = hb->host_id, .version = hb->cassandra_version,
			.last_heartbeat = -1, .load_bytes = -1, .is_seed = -1,
		};
		char err[256];
		if (store_node_upsert(s->st, &n, NULL, err, sizeof(err)) != 0)
			log_warnx("node %s of cluster %s: cannot record its host "
			    "id or version: %s", hb->address, hb->cluster, err);
	}
	return 0;
}

/* ---------- tasks ---------- */

static void type_json(const struct task_type *ty, void *arg)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:i}", "name", ty->name,
	    "description", ty->description ? ty->description : "",
	    "steps", ty->steps ? ty->steps : "",
	    "params", params_spec_json(ty->params),
	    "max_attempts", ty->max_attempts > 0 ? ty->max_attempts : 3);

	json_array_append_new(arg, o);
}

int service_task_types(struct service *s, const char *name, json_t **out,
    struct svc_err *e)
{
	json_t *all = json_array();

	task_type_foreach(s->eng, type_json, all);
	if (name == NULL) {
		*out = json_pack("{s:o, s:n}", "items", all, "next");
		return 0;
	}
	for (size_t i = 0; i < json_array_size(all); i++) {
		json_t *t = json_array_get(all, i);
		if (strcmp(json_string_value(json_object_get(t, "name")),
		    name) == 0) {
			*out = json_incref(t);
			json_decref(all);
			return 0;
		}
	}
	json_decref(all);
	svc_set(e, RM_ENOENT, "task type '%.64s' not found: GET "
	    "/api/v1/task-types lists them", name);
	return -1;
}

bool service_task_type_known(struct service *s, const char *type)
{
	(void)s;
	return task_type_find(s->eng, type) != NULL;
}

int service_task_params_check(struct service *s, const char *type,
    json_t *params, struct svc_err *e)
{
	char err[256] = "";
	(void)s;
	if (task_validate(s->eng, type, params, err, sizeof(err)) != 0) {
		svc_set(e, RM_EINVAL, "%s", err[0] ? err : "invalid params");
		return -1;
	}
	return 0;
}

int service_task_submit(struct service *s, const char *cluster,
    const char *type, json_t *params, json_t **out, struct svc_err *e)
{
	char id[STORE_ID_MAX], err[1024] = "";
	int rc;

	rc = task_submit(s->eng, cluster, type, params, id, err, sizeof(err));
	if (rc == RM_ENOENT) {
		svc_set(e, RM_ENOENT, "cluster '%s' not found", cluster);
		return -1;
	}
	if (rc != 0)
		return task_fail(e, rc, err);
	return service_task_get(s, id, out, e);
}

int service_task_list(struct service *s, const char *cluster,
    const char *state, const struct svc_list *l, json_t **out,
    struct svc_err *e)
{
	if (!store_cluster_exists(s->st, cluster)) {
		svc_set(e, RM_ENOENT, "cluster '%s' not found", cluster);
		return -1;
	}
	*out = store_task_list(s->st, cluster, state, l->cursor, l->limit);
	if (*out == NULL) {
		svc_set(e, RM_ERR, "cannot list tasks: see the "
		    "ringmaster log");
		return -1;
	}
	return 0;
}

int service_task_get(struct service *s, const char *id, json_t **out,
    struct svc_err *e)
{
	*out = store_task_get(s->st, id);
	if (*out == NULL) {
		svc_set(e, RM_ENOENT, "task '%s' not found", id);
		return -1;
	}
	return 0;
}

int service_task_action(struct service *s, const char *id, const char *action,
    json_t **out, struct svc_err *e)
{
	char err[256] = "";
	int rc;

	if (strcmp(action, "cancel") == 0)
		rc = task_cancel(s->eng, id, err, sizeof(err));
	else if (strcmp(action, "pause") == 0)
		rc = task_pause(s->eng, id, err, sizeof(err));
	else
		rc = task_resume(s->eng, id, err, sizeof(err));
	if (rc == RM_ENOENT) {
		svc_set(e, RM_ENOENT, "task '%s' not found", id);
		return -1;
	}
	if (rc != 0)
		return task_fail(e, rc, err);
	return service_task_get(s, id, out, e);
}

/* ---------- schedules ---------- */

int service_cron_check(struct service *s, const char *cron, struct svc_err *e)
{
	char err[256] = "";
	(void)s;
	if (!cron_valid(cron, err, sizeof(err))) {
		svc_set(e, RM_EINVAL, "%s", err);
		return -1;
	}
	return 0;
}

/* The one schedule-creation path is sched_create(); this maps its codes. */
int service_schedule_create(struct service *s, const char *cluster,
    const char *type, json_t *params, int64_t every_ms, const char *cron,
    int64_t start_s, json_t **out, struct svc_err *e)
{
	char err[256] = "", id[STORE_ID_MAX];
	int rc;

	rc = sched_create(s->eng, cluster, type, params, cron ? 0 : every_ms,
	    cron, start_s * 1000, id, err, sizeof(err));
	if (rc != 0)
		return task_fail(e, rc, err);
	*out = store_schedule_get(s->st, id);
	if (*out == NULL) {
		svc_set(e, RM_ERR, "schedule %s vanished", id);
		return -1;
	}
	return 0;
}

int service_schedule_list(struct service *s, const char *cluster,
    json_t **out, struct svc_err *e)
{
	if (!store_cluster_exists(s->st, cluster)) {
		svc_set(e, RM_ENOENT, "cluster '%s' not found", cluster);
		return -1;
	}
	*out = store_schedule_list(s->st, cluster, NULL, 1000);
	if (*out == NULL) {
		svc_set(e, RM_ERR, "cannot list schedules: see the "
		    "ringmaster log");
		return -1;
	}
	return 0;
}

int service_schedule_delete(struct service *s, const char *id,
    struct svc_err *e)
{
	char err[256] = "";
	int rc = store_schedule_delete(s->st, id, err, sizeof(err));

	if (rc == RM_ENOENT) {
		svc_set(e, RM_ENOENT, "schedule '%s' not found", id);
		return -1;
	}
	if (rc != 0) {
		svc_set(e, RM_ERR, "cannot delete schedule: %s", err);
		return -1;
	}
	return 0;
}

/* ---------- events ---------- */

int service_events_list(struct service *s, int64_t since_s,
    const char *cluster, const struct svc_list *l, json_t **out,
    struct svc_err *e)
{
	*out = store_event_list(s->st, since_s * 1000, cluster, l->cursor,
	    l->limit);
	if (*out == NULL) {
		svc_set(e, RM_ERR, "cannot list events: see the "
		    "ringmaster log");
		return -1;
	}
	return 0;
}

void service_audit(struct service *s, const char *who, const char *method,
    const char *route, const char *cluster, const char *target, int status)
{
	char result[16], err[256];
	struct store_event ev = {
		.actor = who && *who ? who : "anonymous",
		.kind = "request",
		.method = method,
		.route = route,
		.target = target,
		.cluster = cluster,
		.result = result,
	};

	snprintf(result, sizeof(result), "%d", status);
	if (store_event_append(s->st, &ev, err, sizeof(err)) != 0)
		log_warnx("cannot record audit event %s %s by %s: %s", method,
		    route, ev.actor, err);
}

/* ---------- metrics ---------- */

static void m_tasks(void *arg, struct metrics_out *o)
{
	struct service *s = arg;
	json_t *counts = store_task_counts(s->st), *v;
	size_t i;

	json_array_foreach(counts, i, v) {
		const char *l[] = {
			"type", json_string_value(json_object_get(v, "type")),
			"state", json_string_value(json_object_get(v, "state")),
			NULL,
		};
		if (l[1] && l[3])
			metrics_sample(o, "ringmaster_tasks", l,
			    (double)json_integer_value(json_object_get(v,
			    "count")));
	}
	json_decref(counts);
}

struct qd {
	char **names;
	size_t *depth;
	size_t n, cap;
};

static void qd_collect(const char *cluster, size_t depth, const char *running,
    void *arg)
{
	struct qd *q = arg;
	(void)running;
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 64;
		q->names = xrealloc(q->names, q->cap * sizeof(*q->names));
		q->depth = xrealloc(q->depth, q->cap * sizeof(*q->depth));
	}
	q->names[q->n] = xstrdup(cluster);
	q->depth[q->n++] = depth;
}

static void m_queues(void *arg, struct metrics_out *o)
{
	struct service *s = arg;
	struct qd q = { NULL, NULL, 0, 0 };
	/* Collect under the queue lock, write after it. */
	task_queue_foreach(s->eng, qd_collect, &q);
	for (size_t i = 0; i < q.n; i++) {
		const char *l[] = { "cluster", q.names[i], NULL };
		metrics_sample(o, "ringmaster_queue_depth", l, (double)q.depth[i]);
		free(q.names[i]);
	}
	free(q.names);
	free(q.depth);
}

static void node_state(const char *cluster, const char *state, int n,
    void *arg)
{
	const char *l[] = { "cluster", cluster, "state", state, NULL };
	metrics_sample(arg, "ringmaster_nodes", l, n);
}

static void m_last_success(void *arg, struct metrics_out *o)
{
	struct service *s = arg;
	json_t *rows = store_task_last_success(s->st), *v;
	size_t i;

	json_array_foreach(rows, i, v) {
		const char *l[] = {
			"cluster", json_string_value(json_object_get(v, "cluster")),
			"type", json_string_value(json_object_get(v, "type")),
			NULL,
		};
		if (l[1] && l[3])
			metrics_sample(o, "ringmaster_last_success_timestamp_seconds",
			    l, (double)json_integer_value(json_object_get(v,
			    "finished_at")) / 1000.0);
	}
	json_decref(rows);
}

static void m_backup_bytes(void *arg, struct metrics_out *o)
{
	struct service *s = arg;
	json_t *rows = store_backup_bytes(s->st), *v;
	size_t i;

	json_array_foreach(rows, i, v) {
		const char *l[] = {
			"cluster", json_string_value(json_object_get(v, "cluster")),
			NULL,
		};
		if (l[1] == NULL)
			continue;
		metrics_sample(o, "ringmaster_backup_bytes_uploaded", l,
		    (double)json_integer_value(json_object_get(v, "uploaded")));
		metrics_sample(o, "ringmaster_backup_bytes", l,
		    (double)json_integer_value(json_object_get(v, "bytes")));
	}
	json_decref(rows);
}

static void m_nodes(void *arg, struct metrics_out *o)
{
	struct service *s = arg;
	hb_state_counts(s->hb, node_state, o);
}

static double m_busy(void *arg)
{
	return task_busy_workers(((struct service *)arg)->eng);
}

static double m_workers(void *arg)
{
	return ((struct service *)arg)->workers;
}

char *service_metrics(struct service *s, size_t *len)
{
	struct metrics_source src = {
		.arg = s,
		.tasks_by_state = m_tasks,
		.queue_depth = m_queues,
		.nodes_by_state = m_nodes,
		.last_success = m_last_success,
		.backup_bytes = m_backup_bytes,
		.busy_workers = m_busy,
		.workers = m_workers,
	};
	return metrics_render(s->metrics, &src, len);
}


int service_backup_list(struct service *s, const char *cluster, json_t **out,
    struct svc_err *e)
{
	char err[256];
	int rc = backup_list(s->st, cluster, out, err, sizeof(err));

	return rc != 0 ? task_fail(e, rc, err) : 0;
}

int service_backup_get(struct service *s, const char *cluster,
    const char *id, json_t **out, struct svc_err *e)
{
	char err[512];
	int rc = backup_get(s->st, cluster, id, out, err, sizeof(err));

	return rc != 0 ? task_fail(e, rc, err) : 0;
}

int service_backup_delete(struct service *s, const char *cluster,
    const char *id, json_t **task_out, struct svc_err *e)
{
	char err[256];
	int rc = backup_delete(s->eng, cluster, id, task_out, err,
	    sizeof(err));

	return rc != 0 ? task_fail(e, rc, err) : 0;
}
