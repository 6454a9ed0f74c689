/*
 * service_lifecycle.c - forming a cluster: the role a check-in gets (with
 * the cluster's one bootstrap slot), the seeds every node is given and
 * their generation, and freeing the slot when its holder has joined.
 *
 * The rules are lifecycle/ (pure); this file gathers their inputs from the
 * heartbeats in memory (hb.c) and the store, and persists what they
 * decide.  Check-ins of many nodes race: the slot is taken with a
 * compare-and-set in the store, and a check-in that loses decides again.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/htab.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "../cfg.h"
#include "../lifecycle/role.h"
#include "../lifecycle/slot.h"
#include "../engine/task.h"
#include "../store/store.h"
#include "../tasks/replace.h"
#include "hb.h"
#include "service_int.h"

/* The seeds last given to a cluster's nodes. */
struct lc_seeds {
	struct htab_node hn;		/* in svc_lc.seeds, by cluster */
	char *cluster;
	uint64_t epoch;			/* hb_cluster_epoch() they were taken at */
	int64_t gen;			/* changes when the list changes */
	char **seeds;
	size_t n;
};

/* A node the sweep submitted a replace for, in this spell of down. */
struct lc_auto {
	struct lc_auto *next;
	char *cluster, *address;
	int64_t since;			/* the down_since it was for */
	uint64_t pass;			/* the last sweep that saw it down */
};

struct svc_lc {
	pthread_mutex_t mtx;		/* guards seeds and autos; never held
					 * across I/O */
	struct htab seeds;		/* struct lc_seeds */
	struct lc_auto *autos;
	uint64_t pass;
	int64_t bootstrap_timeout_ms;
	int64_t retry_after_ms;
	int per_dc;
};

#define SEEDS_OF(n)	HTAB_ENTRY(n, struct lc_seeds, hn)

struct svc_lc *svc_lc_new(const struct cfg *c)
{
	struct svc_lc *lc = xcalloc(1, sizeof(*lc));

	pthread_mutex_init(&lc->mtx, NULL);
	htab_init(&lc->seeds, 64);
	svc_lc_reload(lc, c);
	return lc;
}

void svc_lc_reload(struct svc_lc *lc, const struct cfg *c)
{
	pthread_mutex_lock(&lc->mtx);
	lc->bootstrap_timeout_ms = c->bootstrap_timeout_ms;
	lc->retry_after_ms = c->checkin_retry_after_ms;
	lc->per_dc = c->seeds_per_dc;
	pthread_mutex_unlock(&lc->mtx);
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void free_seeds(struct htab_node *x, void *arg)
{
	struct lc_seeds *e = SEEDS_OF(x);

	(void)arg;
	strv_free(e->seeds, e->n);
	free(e->cluster);
	free(e);
}

void svc_lc_free(struct svc_lc *lc)
{
	if (lc == NULL)
		return;
	htab_each(&lc->seeds, free_seeds, NULL);
	htab_release(&lc->seeds);
	while (lc->autos != NULL) {
		struct lc_auto *a = lc->autos;
		lc->autos = a->next;
		free(a->cluster);
		free(a->address);
		free(a);
	}
	pthread_mutex_destroy(&lc->mtx);
	free(lc);
}

/* Mirror every cluster's slot holder into the heartbeats at start. */
void svc_lc_load(struct service *s)
{
	char **names = NULL;
	size_t n = 0;

	if (store_cluster_names(s->st, &names, &n) != 0) {
		log_warnx("cannot list clusters to load their bootstrap slots; "
		    "a slot holder's join is noticed at the next check-in");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct store_slot sl;
		if (store_slot_get(s->st, names[i], &sl) == 0)
			hb_slot_set(s->hb, names[i], sl.holder);
		free(names[i]);
	}
	free(names);
}

static struct lc_seeds *seeds_entry(struct svc_lc *lc, const char *cluster)
{
	uint64_t h = htab_hash(cluster);
	struct lc_seeds *e;

	for (struct htab_node *x = htab_first(&lc->seeds, h); x;
	    x = htab_next(x, h))
		if (strcmp(SEEDS_OF(x)->cluster, cluster) == 0)
			return SEEDS_OF(x);
	e = xcalloc(1, sizeof(*e));
	e->cluster = xstrdup(cluster);
	e->epoch = UINT64_MAX;
	htab_add(&lc->seeds, &e->hn, h);
	return e;
}

static bool same_list(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

/*
 * The cluster's seeds now and their generation: taken again only when a
 * node changed state since (the epoch).  The generation is the wall clock
 * in ms when the list last changed, so it only grows, across restarts
 * too: an agent holding an older one gets the list again.  *out (a copy)
 * is the caller's to free with its n.
 */
int64_t svc_lc_seeds(struct service *s, const char *cluster, char ***out,
    size_t *n)
{
	struct svc_lc *lc = s->lc;
	uint64_t epoch = hb_cluster_epoch(s->hb, cluster);
	struct lc_seeds *e;
	char **fresh = NULL;
	size_t nf = 0;
	int64_t gen;

	pthread_mutex_lock(&lc->mtx);
	e = seeds_entry(lc, cluster);
	if (e->epoch != epoch) {
		nf = hb_seeds(s->hb, cluster, (const char *const *)e->seeds,
		    e->n, lc->per_dc, &fresh);
		if (!same_list(fresh, nf, e->seeds, e->n)) {
			int64_t now = time_wall_ms();
			if (e->n > 0 || nf > 0)
				log_info("seeds of cluster %s are now %zu "
				    "node%s%s%s", cluster, nf, nf == 1 ? "" : "s",
				    nf ? ", first " : "", nf ? fresh[0] : "");
			strv_free(e->seeds, e->n);
			e->seeds = fresh;
			e->n = nf;
			e->gen = now > e->gen ? now : e->gen + 1;
			fresh = NULL;	/* e owns it now */
			nf = 0;
		}
		e->epoch = epoch;
	}
	*n = e->n;
	*out = xcalloc(e->n + 1, sizeof(**out));
	for (size_t i = 0; i < e->n; i++)
		(*out)[i] = xstrdup(e->seeds[i]);
	gen = e->gen;
	pthread_mutex_unlock(&lc->mtx);
	strv_free(fresh, nf);
	return gen;
}

/* The seeds as a JSON array, without skip (NULL: all). */
json_t *svc_lc_seeds_json(struct service *s, const char *cluster,
    const char *skip, int64_t *gen)
{
	char **v;
	size_t n;
	int64_t g = svc_lc_seeds(s, cluster, &v, &n);
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		if (skip == NULL || strcmp(v[i], skip) != 0)
			json_array_append_new(a, json_string(v[i]));
	strv_free(v, n);
	if (gen != NULL)
		*gen = g;
	return a;
}

static void slot_event(struct service *s, const char *cluster,
    const char *target, const char *result, const char *reason)
{
	json_t *d = json_pack("{s:s}", "reason", reason);
	char *text = json_dumps(d, JSON_COMPACT);
	struct store_event ev = {
		.actor = "ringmaster", .kind = "slot", .target = target,
		.cluster = cluster, .result = result, .detail_json = text,
	};

	if (store_event_append(s->st, &ev, NULL, 0) != 0)
		log_warnx("cannot record the %s event of %s's bootstrap slot",
		    result, cluster);
	free(text);
	json_decref(d);
}

/* The store's slot as the rules see it; the strings stay in sl. */
static void slot_view(const struct store_slot *sl, bool held, struct slot *v)
{
	memset(v, 0, sizeof(*v));
	if (!held)
		return;
	v->held = true;
	v->kind = strcmp(sl->kind, "replace") == 0 ? SLOT_REPLACE :
	    SLOT_BOOTSTRAP;
	v->holder = sl->holder;
	v->dead_address = sl->dead_address;
	v->dc = sl->dc;
	v->rack = sl->rack;
	v->since_ms = sl->since_ms;
	v->deadline_ms = sl->deadline_ms;
}

/*
 * A holder past its deadline loses the slot, and is marked failed: it
 * never became UN in its own and a peer's view in time.
 */
static void expire(struct service *s, const char *cluster,
    const struct store_slot *sl)
{
	char why[1024], err[256];
	struct store_node n = {
		.cluster = cluster, .address = sl->holder, .state = "failed",
		.last_heartbeat = -1, .load_bytes = -1, .is_seed = -1,
	};

	if (store_slot_release(s->st, cluster, sl->holder, sl->since_ms, err,
	    sizeof(err)) != 0)
		return;		/* freed or retaken meanwhile */
	hb_slot_set(s->hb, cluster, NULL);
	snprintf(why, sizeof(why), "%s %s did not become UN within "
	    "bootstrap_timeout: the slot is freed for the next node and %s is "
	    "marked failed; look at its Cassandra log, then wipe it and let it "
	    "check in again, or remove it", sl->kind, sl->holder, sl->holder);
	log_warnx("cluster %s: %s", cluster, why);
	slot_event(s, cluster, sl->holder, "expired", why);
	if (*sl->holder != '\0' && store_node_upsert(s->st, &n, NULL, err,
	    sizeof(err)) == 0)
		hb_node_set(s->hb, cluster, sl->holder, "failed", 0, NULL, NULL);
}

/*
 * A new node whose Cassandra failed to start this many times in a row
 * (its agent says so at check-in) is given up on: it would hold the
 * cluster's bootstrap slot until bootstrap_timeout (hours) and keep every
 * other new node waiting.
 */
#define START_FAILURES_MAX	3

/* Free the slot a node that will not start holds (when it holds it) and
 * say why in ro: it waits until an operator restarts its agent. */
static void give_up(struct service *s, const struct svc_checkin *ci,
    const struct store_slot *sl, bool holds, int64_t retry_ms,
    struct role_out *ro)
{
	char why[1024], err[256];

	memset(ro, 0, sizeof(*ro));
	ro->role = ROLE_WAIT;
	/* Not soon: nothing changes until someone looks at the node. */
	ro->retry_after_s = (int)((retry_ms + 999) / 1000);
	if (ro->retry_after_s < 60)
		ro->retry_after_s = 60;
	snprintf(ro->why, sizeof(ro->why), "its Cassandra failed to start %d "
	    "times in a row: fix it (its Cassandra log says why), then "
	    "restart its agent", ci->start_failures);
	if (!holds)
		return;
	if (store_slot_release(s->st, ci->cluster, sl->holder, sl->since_ms,
	    err, sizeof(err)) != 0)
		return;		/* freed or retaken meanwhile */
	hb_slot_set(s->hb, ci->cluster, NULL);
	snprintf(why, sizeof(why), "%s's Cassandra failed to start %d times "
	    "after its %s answer (last: %.600s): the slot is freed for the "
	    "next node and %s is marked failed", ci->address,
	    ci->start_failures, sl->kind, ci->start_error != NULL ?
	    ci->start_error : "no error given", ci->address);
	log_warnx("cluster %s: %s", ci->cluster, why);
	slot_event(s, ci->cluster, ci->address, "freed", why);
}

int svc_lc_role(struct service *s, const struct svc_checkin *ci,
    bool known_host_id, struct role_out *ro)
{
	struct svc_lc *lc = s->lc;
	int64_t timeout, retry;

	pthread_mutex_lock(&lc->mtx);
	timeout = lc->bootstrap_timeout_ms;
	retry = lc->retry_after_ms;
	pthread_mutex_unlock(&lc->mtx);

	/* Twice at most: a check-in that loses the race decides again. */
	for (int round = 0; round < 2; round++) {
		struct store_slot sl;
		struct slot v;
		struct role_in in = {
			.address = ci->address, .dc = ci->dc, .rack = ci->rack,
			.reports_host_id = ci->host_id != NULL,
			.cassandra_running = ci->cassandra_running,
			.has_data = ci->has_data,
			.system_keyspace = ci->system_keyspace,
			.known_host_id = known_host_id,
			.retry_after_s = (int)((retry + 999) / 1000),
		};
		int64_t now = time_wall_ms();
		bool held = store_slot_get(s->st, ci->cluster, &sl) == 0;
		char err[256];
		int rc;

		slot_view(&sl, held, &v);
		if (held) {
			struct slot_obs o = { 0 };
			if (slot_check(&v, now, &o) == SLOT_EXPIRED) {
				expire(s, ci->cluster, &sl);
				continue;
			}
		}
		/* Only a new node's own join is given up: a member whose
		 * start fails is still a member, and a replacement has its
		 * task, which fails on its deadline and frees the slot. */
		if (ci->start_failures >= START_FAILURES_MAX &&
		    ci->host_id == NULL && !known_host_id &&
		    !(held && v.kind == SLOT_REPLACE &&
		    strcmp(sl.holder, ci->address) == 0)) {
			give_up(s, ci, &sl, held && strcmp(sl.holder,
			    ci->address) == 0, retry, ro);
			return 1;
		}
		hb_cluster_members(s->hb, ci->cluster, ci->address,
		    &in.members, &in.live_normal);
		in.slot = &v;
		role_decide(&in, ro);
		if (ro->replace_address != NULL) {
			str_copy(ro->replace_buf, ro->replace_address,
			    sizeof(ro->replace_buf));
			ro->replace_address = ro->replace_buf;
		}
		/* A holder checking in again, or the host a replacement was
		 * given by its provider: its beats must be watched. */
		if (!ro->take_slot && held && ro->role != ROLE_WAIT &&
		    strcmp(sl.holder, ci->address) == 0)
			hb_slot_set(s->hb, ci->cluster, ci->address);
		if (!ro->take_slot)
			return 0;
		if (ro->slot_kind == SLOT_REPLACE)
			rc = store_slot_claim(s->st, ci->cluster,
			    v.dead_address, ci->address, err, sizeof(err));
		else {
			struct store_slot want;
			memset(&want, 0, sizeof(want));
			str_copy(want.kind, "bootstrap", sizeof(want.kind));
			str_copy(want.holder, ci->address, sizeof(want.holder));
			want.since_ms = now;
			want.deadline_ms = now + timeout;
			rc = store_slot_take(s->st, ci->cluster, &want, err,
			    sizeof(err));
		}
		if (rc == RM_EBUSY)
			continue;	/* another node took it first */
		if (rc != 0) {
			log_warnx("cluster %s: cannot take the bootstrap slot "
			    "for %s: %s; telling it to wait", ci->cluster,
			    ci->address, err);
			break;
		}
		hb_slot_set(s->hb, ci->cluster, ci->address);
		slot_event(s, ci->cluster, ci->address, "taken", ro->why);
		return 0;
	}
	memset(ro, 0, sizeof(*ro));
	ro->role = ROLE_WAIT;
	ro->retry_after_s = (int)((retry + 999) / 1000);
	snprintf(ro->why, sizeof(ro->why), "another node took the cluster's "
	    "bootstrap slot at the same moment: one join at a time");
	return 0;
}

void svc_lc_beat(struct service *s, const char *cluster, const char *address)
{
	struct store_slot sl;
	struct slot v;
	struct slot_obs o;
	char err[256], why[1024];

	if (store_slot_get(s->st, cluster, &sl) != 0) {
		/* Freed elsewhere (expired): stop asking on every beat. */
		hb_slot_set(s->hb, cluster, NULL);
		return;
	}
	if (strcmp(sl.holder, address) != 0) {
		hb_slot_set(s->hb, cluster, sl.holder);
		return;
	}
	slot_view(&sl, true, &v);
	hb_slot_obs(s->hb, cluster, address, v.kind == SLOT_REPLACE ?
	    sl.dead_address : NULL, &o);
	if (slot_check(&v, time_wall_ms(), &o) != SLOT_JOINED)
		return;
	if (sl.task_id[0] != '\0') {
		/* A replace task holds it: the task removes the dead node's
		 * record and frees the slot (tasks/replace.c). */
		if (store_slot_joined(s->st, cluster, address, sl.since_ms,
		    time_wall_ms(), err, sizeof(err)) == 0)
			log_info("cluster %s: %s is UN in its own and a live "
			    "peer's view and %s left the ring: the replacement "
			    "is done", cluster, address, sl.dead_address);
		return;
	}
	if (store_slot_release(s->st, cluster, address, sl.since_ms, err,
	    sizeof(err)) != 0)
		return;
	hb_slot_set(s->hb, cluster, NULL);
	snprintf(why, sizeof(why), "%s is UN in its own view and %s: it "
	    "joined after %lld s", address, o.live_peers ? "a live peer's" :
	    "(the cluster's first node) there is no other", (long long)
	    ((time_wall_ms() - sl.since_ms) / 1000));
	log_info("cluster %s: %s; the bootstrap slot is free", cluster, why);
	slot_event(s, cluster, address, "freed", why);
}

json_t *svc_lc_beat_answer(struct service *s, const char *cluster,
    int64_t agent_gen)
{
	int64_t gen;
	json_t *seeds;

	if (agent_gen < 0)
		return NULL;		/* an agent that does not take seeds */
	seeds = svc_lc_seeds_json(s, cluster, NULL, &gen);
	if (gen == agent_gen || json_array_size(seeds) == 0) {
		json_decref(seeds);
		return NULL;
	}
	return json_pack("{s:s,s:o,s:I}", "status", "ok", "seeds", seeds,
	    "seeds_gen", (json_int_t)gen);
}

/* ---- replacement --------------------------------------------------------- */

int svc_lc_replace_prepare(struct service *s, const char *cluster,
    json_t *params, struct svc_err *e)
{
	const char *node = json_string_value(json_object_get(params, "node"));
	char state[32];
	int64_t timeout;

	if (node != NULL && hb_node_view(s->hb, cluster, node, state,
	    sizeof(state), NULL, NULL) && strcmp(state, "down") != 0) {
		svc_set(e, RM_ECONFLICT, "node %s is %s, not down: a node is "
		    "replaced only when its agent is silent and a live peer sees "
		    "it DN, none UN%s", node, state,
		    strcmp(state, "agent_down") == 0 ? " (a live peer sees it "
		    "UN: its agent is down, Cassandra is not; restart the "
		    "agent)" : "");
		return -1;
	}
	if (json_is_object(params) && json_object_get(params, "timeout_s") ==
	    NULL) {
		pthread_mutex_lock(&s->lc->mtx);
		timeout = s->lc->bootstrap_timeout_ms / 1000;
		pthread_mutex_unlock(&s->lc->mtx);
		/* The task type's range (tasks/replace.c). */
		if (timeout < 1)
			timeout = 1;
		if (timeout > 82800)
			timeout = 82800;
		json_object_set_new(params, "timeout_s", json_integer(timeout));
	}
	return 0;
}

/* Was a replace of this spell of down submitted already?  Marks it seen
 * in this pass either way; mark adds it. */
static bool auto_seen(struct svc_lc *lc, const char *cluster,
    const char *address, int64_t since, bool mark)
{
	bool found = false;

	pthread_mutex_lock(&lc->mtx);
	for (struct lc_auto *a = lc->autos; a; a = a->next)
		if (a->since == since && strcmp(a->address, address) == 0 &&
		    strcmp(a->cluster, cluster) == 0) {
			a->pass = lc->pass;
			found = true;
		}
	if (!found && mark) {
		struct lc_auto *a = xcalloc(1, sizeof(*a));
		a->cluster = xstrdup(cluster);
		a->address = xstrdup(address);
		a->since = since;
		a->pass = lc->pass;
		a->next = lc->autos;
		lc->autos = a;
	}
	pthread_mutex_unlock(&lc->mtx);
	return found;
}

static void sweep_node(const char *cluster, const char *address,
    int64_t since, void *arg)
{
	struct service *s = arg;
	struct store_cluster_settings cs;
	struct store_node_row r;
	struct svc_err e = { 0 };
	char id[STORE_ID_MAX], err[1024], why[512];
	int64_t now = time_wall_ms();
	json_t *params, *d;
	int rc;

	rc = store_node_get(s->st, cluster, address, &r);
	store_node_row_release(&r);
	if (rc == RM_ENOENT) {
		/* Replaced or evicted: its row is gone, so is its entry. */
		hb_node_forget(s->hb, cluster, address);
		svc_cc_forget(s, cluster);
		return;
	}
	if (auto_seen(s->lc, cluster, address, since, false))
		return;
	if (store_cluster_settings_get(s->st, cluster, &cs) != 0 ||
	    cs.replace_after_ms <= 0 || now - since < cs.replace_after_ms)
		return;
	auto_seen(s->lc, cluster, address, since, true);
	if (replace_pending(s->st, cluster, address, id, sizeof(id))) {
		log_info("cluster %s: node %s has been down for %lld s; task %s "
		    "replaces it already", cluster, address, (long long)
		    ((now - since) / 1000), id[0] ? id : "(unknown)");
		return;
	}
	params = json_pack("{s:s}", "node", address);
	snprintf(why, sizeof(why), "node %s has been down for %lld s "
	    "(replace_after %lld s): a live peer sees it DN, none UN",
	    address, (long long)((now - since) / 1000),
	    (long long)(cs.replace_after_ms / 1000));
	if (svc_lc_replace_prepare(s, cluster, params, &e) != 0) {
		log_warnx("cluster %s: %s, but %s", cluster, why, e.msg);
		json_decref(params);
		return;
	}
	rc = task_submit(s->eng, cluster, "replace", params, id, err,
	    sizeof(err));
	json_decref(params);
	if (rc != 0) {
		log_warnx("cluster %s: %s, but the replace task was refused: %s; "
		    "it is not submitted again until the node comes back and "
		    "goes down again", cluster, why, err);
		return;
	}
	log_info("cluster %s: %s: replace task %s submitted", cluster, why, id);
	d = json_pack("{s:s,s:s}", "reason", why, "task", id);
	{
		char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
		struct store_event ev = {
			.actor = "ringmaster", .kind = "replace",
			.target = address, .cluster = cluster,
			.result = "submitted", .detail_json = text,
		};
		if (store_event_append(s->st, &ev, err, sizeof(err)) != 0)
			log_warnx("cluster %s: cannot record the replace event "
			    "of %s: %s", cluster, address, err);
		free(text);
	}
	json_decref(d);
}

void svc_lc_sweep(void *arg)
{
	struct service *s = arg;
	struct svc_lc *lc = s->lc;

	pthread_mutex_lock(&lc->mtx);
	lc->pass++;
	pthread_mutex_unlock(&lc->mtx);
	hb_down_nodes(s->hb, sweep_node, s);
	svc_tenant_sweep(s);
	/* A node no longer down (back up, or gone) starts a new spell. */
	pthread_mutex_lock(&lc->mtx);
	for (struct lc_auto **ap = &lc->autos; *ap;) {
		struct lc_auto *a = *ap;
		if (a->pass == lc->pass) {
			ap = &a->next;
			continue;
		}
		*ap = a->next;
		free(a->cluster);
		free(a->address);
		free(a);
	}
	pthread_mutex_unlock(&lc->mtx);
}
