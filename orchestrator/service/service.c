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
#include "../engine/params.h"
#include "../engine/sched.h"
#include "../engine/task.h"
#include "../http/metrics.h"
#include "../mirror/mirror.h"
#include "../nodes/ssh.h"
#include "../store/store.h"
#include "../tasks/registry.h"
#include "hb.h"
#include "service_int.h"
#include "service_json.h"

/*
 * GET /api/v1/clusters/{name} is the hottest read: the cluster's settings
 * change only when it is created, deleted or a node joins, so the store's
 * object is cached by name and copied out; the live numbers (queue, node
 * states) are added to the copy on every read.
 */



void svc_set(struct svc_err *e, enum rm_err code, const char *fmt, ...)
{
	va_list ap;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/* An error of the engine or the store, as it is (one vocabulary, err.h),
 * with its message. */
int svc_fail(struct svc_err *e, int rc, const char *msg)
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

void svc_cc_forget(struct service *s, const char *name)
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
	if (ev->to == STORE_TASK_PARTIAL)
		metrics_task_partial(s->metrics, ev->type);
	/* A fired schedule, a started or finished task: a restore must not
	 * lose these, so the mirror writes without its delay. */
	mirror_now(s->mirror);
}

struct service *service_start(const struct cfg *c, struct store *st,
    struct metrics *m, struct mirror *mirror,
    int (*fence)(void *arg, char *err, size_t errlen), void *fence_arg,
    char *err, size_t errlen)
{
	struct service *s = xcalloc(1, sizeof(*s));

	s->metrics = m;
	s->mirror = mirror;
	s->sync_writes = c->ha && mirror != NULL;
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
	task_engine_set_nodes(s->eng, s->pool);
	task_engine_set_fence(s->eng, fence, fence_arg);
	if (tasks_register(s->eng, err, errlen) != 0)
		goto fail;
	if (task_resume_all(s->eng, err, errlen) != 0)
		goto fail;
	s->hb = hb_new(st, c->heartbeat_timeout_ms, c->heartbeat_flush_ms,
	    err, errlen);
	if (s->hb == NULL || hb_start(s->hb, err, errlen) != 0)
		goto fail;
	s->tn = svc_tn_new();
	s->tl = svc_tl_new();
	s->as = svc_as_new();
	s->mc = svc_mc_new();
	s->lc = svc_lc_new(c);
	svc_lc_load(s);
	hb_set_sweep(s->hb, svc_lc_sweep, s);
	if (task_start(s->eng, err, errlen) != 0)
		goto fail;
	if ((s->sched = sched_new(s->eng, 1000, err, errlen)) == NULL)
		goto fail;
	if ((s->evict = svc_evict_start(s, 1000, err, errlen)) == NULL)
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
	svc_evict_stop(s->evict);
	sched_free(s->sched);
	/* Its thread's sweep submits tasks: stopped before the engine. */
	hb_stop(s->hb);
	/* Running steps stop at their next checkpoint and stay resumable;
	 * jobs on nodes run on and are attached again at the next start. */
	task_engine_free(s->eng);
	ssh_pool_free(s->pool);
	hb_free(s->hb);
	svc_lc_free(s->lc);
	svc_tn_free(s->tn);
	svc_tl_free(s->tl);
	svc_as_free(s->as);
	svc_mc_free(s->mc);
	cc_free(s);
	pthread_mutex_destroy(&s->cc_mtx);
	free(s->data_dir);
	free(s);
}

void service_durable(struct service *s)
{
	char err[512];

	if (!s->sync_writes)
		return;
	if (mirror_sync(s->mirror, SERVICE_SYNC_MS, err, sizeof(err)) != 0)
		log_warnx("a change was acknowledged before the state mirror "
		    "held it: %s; a failover now would lose it (see "
		    "ringmaster_state_mirror_failures_total)", err);
}

void service_reload(struct service *s, const struct cfg *c)
{
	s->hb_interval_ms = c->heartbeat_interval_ms;
	hb_set_timeout(s->hb, c->heartbeat_timeout_ms);
	svc_lc_reload(s->lc, c);
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

/* Check every setting before anything is written; -1 with e set. */
static int settings_check(const struct svc_setting *v, size_t n,
    struct svc_err *e)
{
	struct store_cluster_settings scratch;
	char err[512];

	store_settings_defaults(&scratch);
	for (size_t i = 0; i < n; i++)
		if (store_setting_parse(&scratch, v[i].key, v[i].value != NULL ?
		    v[i].value : store_setting_find(v[i].key) != NULL ?
		    store_setting_find(v[i].key)->def : "", NULL, 0, err,
		    sizeof(err)) != 0) {
			svc_set(e, RM_EINVAL, "%s", err);
			return -1;
		}
	return 0;
}

static int settings_write(struct service *s, const char *cluster,
    const struct svc_setting *v, size_t n, struct svc_err *e)
{
	struct store_setting_kv *kv;
	char err[512] = "";
	int rc;

	if (n == 0)
		return 0;
	kv = xcalloc(n, sizeof(*kv));
	for (size_t i = 0; i < n; i++) {
		kv[i].key = v[i].key;
		kv[i].value = v[i].value;
	}
	rc = store_cluster_settings_set(s->st, cluster, kv, n, err,
	    sizeof(err));
	free(kv);
	if (rc == 0)
		return 0;
	if (rc == RM_ENOENT)
		svc_set(e, RM_ENOENT, "cluster '%s' not found", cluster);
	else
		svc_set(e, rc == RM_EINVAL ? RM_EINVAL : RM_ERR, "cannot "
		    "change the settings of cluster '%s': %s", cluster, err);
	return -1;
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
	int rc;

	if (settings_check(cl->settings, cl->nsettings, e) != 0)
		return -1;
	rc = store_cluster_create(s->st, &sc, err, sizeof(err));
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
	/* Checked above: only the store can fail here, and then the
	 * cluster exists with its defaults, which the error says. */
	if (settings_write(s, cl->name, cl->settings, cl->nsettings, e) != 0) {
		log_warnx("cluster %s created, but not its settings: %s",
		    cl->name, e->msg);
		return -1;
	}
	return service_cluster_get(s, cl->name, out, e);
}

int service_cluster_list(struct service *s, const struct svc_list *l,
    json_t **out, struct svc_err *e)
{
	struct store_cluster_page pg;
	json_t *page, *v;
	size_t i;

	if (store_cluster_list(s->st, l->cursor, l->limit, &pg) != 0) {
		store_cluster_page_release(&pg);
		svc_set(e, RM_ERR, "cannot list clusters: see the "
		    "ringmaster log");
		return -1;
	}
	page = svc_json_cluster_page(&pg);
	store_cluster_page_release(&pg);
	json_array_foreach(json_object_get(page, "items"), i, v)
		add_queue_info(s, v);
	*out = page;
	return 0;
}

/* The cluster's JSON as stored (without the live fields), or NULL with e
 * set. */
static json_t *cluster_read(struct service *s, const char *name,
    struct svc_err *e)
{
	struct store_cluster_row r;
	json_t *cl = NULL;
	int rc = store_cluster_get(s->st, name, &r);

	if (rc == 0) {
		struct store_cluster_settings cs;
		cl = svc_json_cluster(&r);
		/* Gone between the two reads: the cluster, without them. */
		if (store_cluster_settings_get(s->st, name, &cs) == 0)
			json_object_set_new(cl, "settings",
			    svc_json_settings(&cs));
	} else if (rc == RM_ENOENT)
		svc_set(e, RM_ENOENT, "cluster '%s' not found", name);
	else
		svc_set(e, RM_ERR, "cannot read cluster '%s': see the "
		    "ringmaster log", name);
	store_cluster_row_release(&r);
	return cl;
}

int service_cluster_get(struct service *s, const char *name, json_t **out,
    struct svc_err *e)
{
	json_t *cl = cluster_read(s, name, e);

	if (cl == NULL)
		return -1;
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
		json_t *cl = cluster_read(s, name, e);
		char *dump;
		if (cl == NULL)
			return -1;
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
	size_t depth = 0, nsd;
	const struct store_setting_def *sd = store_settings_defs(&nsd);
	bool conn = p->storage_url || p->storage_endpoint ||
	    p->clear_storage_endpoint || p->storage_region ||
	    p->clear_storage_region || p->ssh_user || p->ssh_port > 0 ||
	    p->ssh_key_file;
	int rc = 0;

	if (settings_check(p->settings, p->nsettings, e) != 0)
		return -1;
	if ((before = cluster_read(s, name, e)) == NULL)
		return -1;
	/* The engine knows a task runs before the store does; the store's
	 * check, in the update's transaction, closes the race after this.
	 * Lifecycle settings alone do not wait for a task. */
	if (conn) {
		task_queue_info(s->eng, name, &depth, running, sizeof(running));
		rc = running[0] ? RM_EBUSY : store_cluster_update(s->st, name,
		    &sp, running, sizeof(running), err, sizeof(err));
	}
	if (rc == 0 && settings_write(s, name, p->settings, p->nsettings,
	    e) != 0) {
		json_decref(before);
		svc_cc_forget(s, name);
		return -1;
	}
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
	svc_cc_forget(s, name);
	/* A read that fails now shows no change rather than a wrong one. */
	if ((after = cluster_read(s, name, e)) == NULL)
		after = json_incref(before);
	changed = json_object();
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		diff_setting(changed, before, after, keys[i][0], keys[i][1]);
	for (size_t i = 0; i < nsd; i++)
		diff_setting(changed, before, after, "settings", sd[i].key);
	/* A secret shows only whether it is set: say it was given. */
	for (size_t i = 0; i < p->nsettings; i++) {
		const struct store_setting_def *d = store_setting_find(
		    p->settings[i].key);
		char path[64];
		if (d == NULL || !d->secret)
			continue;
		snprintf(path, sizeof(path), "settings.%s", d->key);
		json_object_set_new(changed, path, json_string(
		    p->settings[i].value != NULL && p->settings[i].value[0] ?
		    "set" : "cleared"));
	}
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
	svc_cc_forget(s, name);
	if (rc != 0)
		return svc_fail(e, rc, err);
	hb_cluster_forget(s->hb, name);
	return 0;
}

/* The cluster's nodes as stored (JSON), or NULL with e set. */
static json_t *cluster_nodes(struct service *s, const char *cluster,
    struct svc_err *e)
{
	struct store_nodes v;
	json_t *nodes = NULL;
	int rc = store_cluster_nodes(s->st, cluster, &v);

	if (rc == 0)
		nodes = svc_json_nodes(&v);
	else if (rc == RM_ENOENT)
		svc_set(e, RM_ENOENT, "cluster '%s' not found", cluster);
	else
		svc_set(e, RM_ERR, "cannot list nodes: see the "
		    "ringmaster log");
	store_nodes_release(&v);
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

int service_seeds(struct service *s, const char *cluster, json_t **out,
    struct svc_err *e)
{
	/* The seeds come from the heartbeats in memory: the store is asked
	 * only whether the cluster exists. */
	if (!store_cluster_exists(s->st, cluster)) {
		svc_set(e, RM_ENOENT, "cluster '%s' not found", cluster);
		return -1;
	}
	*out = json_pack("{s:o}", "seeds", svc_lc_seeds_json(s, cluster, NULL,
	    NULL));
	return 0;
}

int service_seeds_pin(struct service *s, const char *cluster,
    const char *const *addrs, size_t n, const char *who, json_t **out,
    struct svc_err *e)
{
	char missing[256] = "", err[256] = "", *detail;
	struct store_event ev = { 0 };
	struct store_nodes v;
	json_t *list;
	int rc;

	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(addrs[i], addrs[j]) == 0) {
				svc_set(e, RM_EINVAL, "seed %s is given twice",
				    addrs[i]);
				return -1;
			}
	rc = store_seeds_pin(s->st, cluster, addrs, n, missing,
	    sizeof(missing), err, sizeof(err));
	if (rc == RM_ENOENT && !store_cluster_exists(s->st, cluster)) {
		svc_set(e, RM_ENOENT, "cluster '%s' not found", cluster);
		return -1;
	}
	if (rc == RM_ENOENT) {
		svc_set(e, RM_EINVAL, "%s is not a node of cluster '%s': a "
		    "pinned seed must be a node the orchestrator knows (its "
		    "agent checked in); nothing was changed", missing, cluster);
		return -1;
	}
	if (rc != 0)
		return svc_fail(e, RM_ERR, err);
	/* The choice follows the store: every node's flag, then the seeds
	 * are taken again at the next read (the epoch moved). */
	if (store_cluster_nodes(s->st, cluster, &v) == 0)
		for (size_t i = 0; i < v.n; i++)
			hb_node_place(s->hb, cluster, v.items[i].address, NULL,
			    NULL, v.items[i].is_seed ? 1 : 0);
	store_nodes_release(&v);
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_string(addrs[i]));
	list = json_pack("{s:o}", "pinned", list);
	detail = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	ev.actor = who && *who ? who : "anonymous";
	ev.kind = "seeds";
	ev.target = cluster;
	ev.cluster = cluster;
	ev.result = n > 0 ? "pinned" : "unpinned";
	ev.detail_json = detail;
	if (store_event_append(s->st, &ev, err, sizeof(err)) != 0)
		log_warnx("seeds of cluster %s %s, but the event was not "
		    "recorded: %s", cluster, ev.result, err);
	log_info("seeds of cluster %s %s by %s: %s", cluster, ev.result,
	    ev.actor, detail ? detail : "?");
	free(detail);
	return service_seeds(s, cluster, out, e);
}
