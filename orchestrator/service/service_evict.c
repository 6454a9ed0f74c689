/*
 * service_evict.c - the eviction sweep: a node down longer than its
 * cluster's node_ttl leaves the orchestrator's view (docs/lifecycle.md,
 * "Eviction").
 *
 * A thread looks every interval at the clusters whose node_ttl is set.
 * A node is a candidate when the heartbeat table (hb.h) says it is "down"
 * - a live peer sees it DN and none sees it up: a node a live peer sees
 * UN is agent_down and never evicted, one nobody has a view of is
 * unreachable and waits - and it has been down longer than node_ttl:
 * since its last heartbeat when its agent is silent too, else since the
 * first pass of this sweep that saw it down (an agent that still reports
 * Cassandra down keeps its heartbeats fresh).  The one
 * exception: a node whose removenode task this sweep submitted becomes
 * unreachable when it succeeds (no peer lists it any more), and is
 * evicted then.
 *
 * Evicting is: the node's row deleted (its SSH host-key pin with it), the
 * heartbeat table and the cluster cache told, an "evict" event written.
 * When the cluster says evict_removenode, a "removenode" task
 * (tasks/evict.h) runs first, and the row goes only once that task
 * succeeded; a failed one is named in an event and submitted again after
 * node_ttl (at least a minute).  The tasks in flight are remembered here,
 * in memory: after a restart the sweep submits a new one, which finds
 * the host already gone from the ring and succeeds at once.
 *
 * The list of nodes seen down (and their removenode tasks) is in memory:
 * after a restart a node whose agent still heartbeats is dated anew.
 * The sweep thread alone touches its list; the state it decides on is
 * read again just before the row is deleted.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../engine/task.h"
#include "../http/metrics.h"
#include "../store/store.h"
#include "hb.h"
#include "service_int.h"

#define RETRY_MIN_MS	60000

/* A node seen down by the sweep, until it is not any more. */
struct pending {
	char cluster[STORE_NAME_MAX];
	char address[128];
	int64_t first_seen;		/* wall ms: the first pass that saw it down */
	char task_id[STORE_ID_MAX];	/* removenode; "" none yet or retry */
	int64_t retry_at;		/* wall ms */
	bool seen;			/* still a candidate in this pass */
};

struct svc_evict {
	struct service *s;
	int64_t interval_ms;
	pthread_t thread;
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	bool stopping, running;
	struct pending *v;
	size_t n, cap;
};

static struct pending *pending_find(struct svc_evict *ev, const char *cluster,
    const char *address)
{
	for (size_t i = 0; i < ev->n; i++)
		if (strcmp(ev->v[i].cluster, cluster) == 0 &&
		    strcmp(ev->v[i].address, address) == 0)
			return &ev->v[i];
	return NULL;
}

static struct pending *pending_add(struct svc_evict *ev, const char *cluster,
    const char *address)
{
	struct pending *p;

	if (ev->n == ev->cap) {
		ev->cap = ev->cap ? ev->cap * 2 : 8;
		ev->v = xrealloc(ev->v, ev->cap * sizeof(*ev->v));
	}
	p = &ev->v[ev->n++];
	memset(p, 0, sizeof(*p));
	p->first_seen = time_wall_ms();
	str_copy(p->cluster, cluster, sizeof(p->cluster));
	str_copy(p->address, address, sizeof(p->address));
	return p;
}

/* Entries no longer candidates (the node came back, was evicted, or its
 * cluster's ttl was turned off) go. */
static void pending_prune(struct svc_evict *ev)
{
	size_t k = 0;

	for (size_t i = 0; i < ev->n; i++)
		if (ev->v[i].seen) {
			ev->v[i].seen = false;
			ev->v[k++] = ev->v[i];
		}
	ev->n = k;
}

static void event(struct service *s, const char *cluster, const char *address,
    const char *result, json_t *detail)
{
	struct store_event e;
	char err[256], *text = json_dumps(detail, JSON_COMPACT);

	memset(&e, 0, sizeof(e));
	e.actor = "ringmaster";
	e.kind = "evict";
	e.target = address;
	e.cluster = cluster;
	e.result = result;
	e.detail_json = text;
	if (store_event_append(s->st, &e, err, sizeof(err)) != 0)
		log_warnx("cannot write the evict event of node %s of cluster %s: "
		    "%s", address, cluster, err);
	free(text);
	json_decref(detail);
}

/* Forget the node, if it is still down; the event says why. */
static void evict(struct service *s, const char *cluster,
    const struct store_node_row *r, int64_t ttl_ms, int64_t since,
    int64_t last_hb, int64_t now, const char *task_id)
{
	char state[32] = "", err[256], down[32], ttl[32], lh[40];
	int rc;

	/* The verdict may have changed since the pass began.  Once
	 * removenode succeeded no peer lists the node any more, so the
	 * judge calls it unreachable: that is what was asked for.  A node a
	 * live peer sees up (agent_down, up) is never evicted. */
	if (!hb_node_view(s->hb, cluster, r->address, state, sizeof(state), NULL,
	    NULL) || (strcmp(state, "down") != 0 && (task_id == NULL ||
	    strcmp(state, "unreachable") != 0)))
		return;
	/* Removed from the ring: were the host to come back with its data it
	 * would claim tokens others now own, so its host id gets a tombstone
	 * first and its agent's next check-in is refused
	 * (store_tombstone.h).  Without removenode the node is still a
	 * member of the ring and may check in again. */
	if (task_id != NULL && r->host_id != NULL &&
	    store_tombstone_put(s->st, cluster, r->host_id, r->address,
	    "removed from the ring by removenode: down longer than node_ttl",
	    task_id, err, sizeof(err)) != 0) {
		log_warnx("cannot record the tombstone of node %s of cluster "
		    "%s: %s; it is evicted at the next sweep", r->address,
		    cluster, err);
		return;
	}
	rc = store_node_delete(s->st, cluster, r->address, err, sizeof(err));
	if (rc != 0 && rc != RM_ENOENT) {
		log_warnx("cannot evict node %s of cluster %s: %s; tried again at "
		    "the next sweep", r->address, cluster, err);
		return;
	}
	hb_node_forget(s->hb, cluster, r->address);
	svc_cc_forget(s, cluster);
	if (rc == RM_ENOENT)
		return;			/* someone else removed it */
	duration_human((now - since) / 1000, DURATION_TIGHT, down, sizeof(down));
	duration_human(ttl_ms / 1000, DURATION_TIGHT, ttl, sizeof(ttl));
	time_rfc3339(last_hb / 1000, lh, sizeof(lh));
	metrics_eviction(s->metrics);
	log_warnx("node %s of cluster %s evicted: down for %s, longer than "
	    "node_ttl %s%s%s", r->address, cluster, down, ttl, task_id ?
	    "; removed from the ring by task " : "", task_id ? task_id : "");
	event(s, cluster, r->address, "evicted", json_pack("{s:s, s:s?, s:s?,"
	    " s:I, s:I, s:s?}", "reason", "down longer than node_ttl", "host_id",
	    r->host_id, "last_heartbeat", last_hb > 0 ? lh : NULL, "down_ms",
	    (json_int_t)(now - since), "node_ttl_ms", (json_int_t)ttl_ms,
	    "removenode_task", task_id));
}

/* evict_removenode: the removenode task first, the row when it succeeded. */
static void via_removenode(struct svc_evict *ev, struct pending *p,
    const char *cluster, const struct store_node_row *r, int64_t ttl_ms,
    int64_t since, int64_t last_hb, int64_t now)
{
	struct service *s = ev->s;
	struct store_task *t;
	char err[512];

	if (p->task_id[0] == '\0') {
		json_t *params;
		if (now < p->retry_at)
			return;
		params = json_pack("{s:s}", "host_id", r->host_id);
		if (task_submit(s->eng, cluster, "removenode", params, p->task_id,
		    err, sizeof(err)) != 0) {
			p->task_id[0] = '\0';
			p->retry_at = now + (ttl_ms > RETRY_MIN_MS ? ttl_ms :
			    RETRY_MIN_MS);
			log_warnx("cannot submit removenode for node %s of cluster "
			    "%s: %s; tried again later", r->address, cluster, err);
		} else {
			log_info("node %s of cluster %s: down longer than node_ttl; "
			    "removenode task %s before it is evicted", r->address,
			    cluster, p->task_id);
		}
		json_decref(params);
		return;
	}
	if ((t = store_task_load(s->st, p->task_id)) == NULL) {
		p->task_id[0] = '\0';	/* gone: submit anew */
		return;
	}
	if (t->state == STORE_TASK_SUCCEEDED) {
		evict(s, cluster, r, ttl_ms, since, last_hb, now, p->task_id);
		p->seen = false;
	} else if (t->state == STORE_TASK_FAILED ||
	    t->state == STORE_TASK_CANCELLED) {
		/* The row stays: the ring may still hold the node. */
		event(s, cluster, r->address, "removenode_failed", json_pack(
		    "{s:s, s:s, s:s?, s:s}", "reason", "nodetool removenode did "
		    "not succeed: the node stays in the view", "removenode_task",
		    p->task_id, "error", t->error, "state",
		    store_task_state_str(t->state)));
		p->task_id[0] = '\0';
		p->retry_at = now + (ttl_ms > RETRY_MIN_MS ? ttl_ms :
		    RETRY_MIN_MS);
	}
	store_task_free(t);
}

static bool pending_in(const struct svc_evict *ev, const char *cluster)
{
	for (size_t i = 0; i < ev->n; i++)
		if (strcmp(ev->v[i].cluster, cluster) == 0)
			return true;
	return false;
}

static void sweep_cluster(struct svc_evict *ev, const char *cluster,
    int64_t now)
{
	struct service *s = ev->s;
	struct store_cluster_settings cs;
	struct store_nodes v = { NULL, 0 };
	int up, down;

	/* Only a node judged down, or one this sweep follows (its removenode
	 * runs), is a candidate: most passes over most clusters find none
	 * in memory and read nothing from the store. */
	hb_cluster_counts(s->hb, cluster, &up, &down);
	if (down == 0 && !pending_in(ev, cluster))
		return;
	if (store_cluster_settings_get(s->st, cluster, &cs) != 0 ||
	    cs.node_ttl_ms <= 0)
		return;
	if (store_node_list(s->st, cluster, &v) != 0) {
		store_nodes_release(&v);
		return;
	}
	for (size_t i = 0; i < v.n; i++) {
		const struct store_node_row *r = &v.items[i];
		char state[32] = "";
		int64_t last_hb = 0;

		struct pending *p = pending_find(ev, cluster, r->address);
		int64_t since;

		if (!hb_node_view(s->hb, cluster, r->address, state,
		    sizeof(state), &last_hb, NULL))
			continue;
		/* unreachable: only a node whose removenode this sweep ran
		 * (peers no longer list it); else only a node seen DN. */
		if (strcmp(state, "down") != 0 && !(strcmp(state,
		    "unreachable") == 0 && p != NULL && p->task_id[0] != '\0'))
			continue;
		if (p == NULL)
			p = pending_add(ev, cluster, r->address);
		p->seen = true;
		/* Down since: its last heartbeat when its agent went silent
		 * too (kept across restarts); when the agent still reports
		 * Cassandra down its heartbeats are fresh, and the first pass
		 * that saw it down dates it (after a restart, anew). */
		since = p->first_seen;
		if (last_hb > 0 && last_hb < since)
			since = last_hb;
		if (now - since <= cs.node_ttl_ms)
			continue;
		/* No host id: it never joined the ring, nothing to remove. */
		if (cs.evict_removenode && r->host_id != NULL) {
			via_removenode(ev, p, cluster, r, cs.node_ttl_ms, since,
			    last_hb, now);
		} else {
			evict(s, cluster, r, cs.node_ttl_ms, since, last_hb, now,
			    NULL);
			p->seen = false;
		}
	}
	store_nodes_release(&v);
}

void svc_evict_sweep(struct svc_evict *ev)
{
	char **names = NULL;
	size_t n = 0;
	int64_t now = time_wall_ms();

	if (store_cluster_names(ev->s->st, &names, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		sweep_cluster(ev, names[i], now);
		free(names[i]);
	}
	free(names);
	pending_prune(ev);
}

static void *evict_main(void *arg)
{
	struct svc_evict *ev = arg;

	pthread_mutex_lock(&ev->mtx);
	while (!ev->stopping) {
		struct timespec ts;
		time_after_ms(CLOCK_REALTIME, ev->interval_ms, &ts);
		pthread_cond_timedwait(&ev->cond, &ev->mtx, &ts);
		if (ev->stopping)
			break;
		pthread_mutex_unlock(&ev->mtx);
		svc_evict_sweep(ev);
		pthread_mutex_lock(&ev->mtx);
	}
	pthread_mutex_unlock(&ev->mtx);
	return NULL;
}

struct svc_evict *svc_evict_start(struct service *s, int64_t interval_ms,
    char *err, size_t errlen)
{
	struct svc_evict *ev = xcalloc(1, sizeof(*ev));
	int rc;

	ev->s = s;
	ev->interval_ms = interval_ms > 0 ? interval_ms : 1000;
	pthread_mutex_init(&ev->mtx, NULL);
	pthread_cond_init(&ev->cond, NULL);
	if ((rc = pthread_create(&ev->thread, NULL, evict_main, ev)) != 0) {
		snprintf(err, errlen, "cannot start the eviction sweep: %s",
		    strerror(rc));
		svc_evict_stop(ev);
		return NULL;
	}
	ev->running = true;
	return ev;
}

void svc_evict_stop(struct svc_evict *ev)
{
	if (ev == NULL)
		return;
	pthread_mutex_lock(&ev->mtx);
	ev->stopping = true;
	pthread_cond_signal(&ev->cond);
	pthread_mutex_unlock(&ev->mtx);
	if (ev->running)
		pthread_join(ev->thread, NULL);
	pthread_mutex_destroy(&ev->mtx);
	pthread_cond_destroy(&ev->cond);
	free(ev->v);
	free(ev);
}
