/*
 * service_tenant_link.c - what the orchestrator and the agents tell each
 * other about tenants, through heartbeats (docs/tenants.md, "Limits on
 * the node" and "Demand").
 *
 * Down: each heartbeat answer may carry the cluster's tenants as this
 * node must know them (names, keyspaces, and the per-service limit of
 * those whose shard holds the node) with a generation, a hash of exactly
 * that content; the agent sends back the generation it holds, so the
 * list travels only when it changed for that node.  The list comes from
 * a per-cluster copy the tenant sweep refreshes from the store once a
 * second: a heartbeat reads no table.
 *
 * Up: each node reports the limits it applied (written to its limits
 * file, its hook run) and the demand it measured (ops/s per tenant, from
 * its own read and write counts).  Both are kept here, in memory, per
 * node: the sweep compares what was applied with what was decided (and
 * stores the confirmation), the autoscaler sums the fresh demand.  A
 * restart forgets them; the next heartbeats bring them back.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/htab.h"
#include "../../common/util.h"
#include "../store/store.h"
#include "service_int.h"

/* One tenant as the nodes of its cluster learn it. */
struct tl_tenant {
	char name[STORE_NAME_MAX];
	char prefix[STORE_NAME_MAX];
	char (*keyspaces)[STORE_NAME_MAX];
	size_t nkeyspaces;
	int64_t limit;
	char (*serving)[256];	/* the shard's addresses */
	size_t nserving;
};

struct tl_cluster {
	char name[STORE_NAME_MAX];
	struct tl_tenant *t;
	size_t n;
	int64_t demand_interval_s;
	bool had;		/* had tenants once: an empty list is news */
};

struct tl_use {
	char tenant[STORE_NAME_MAX];
	double value;
};

/* A node's reports, in svc_tl.nodes (by cluster and address): every
 * heartbeat of an agent that holds a list looks its node up. */
struct tl_node {
	struct htab_node hn;
	char cluster[STORE_NAME_MAX];
	char address[256];
	struct tl_use *applied;
	size_t napplied;
	char error[512];
	struct tl_use *demand;
	size_t ndemand;
	int64_t demand_at;	/* ms, 0: none */
	double window_s;
};

struct svc_tl {
	pthread_mutex_t mtx;
	struct tl_cluster *c;
	size_t nc;
	struct htab nodes;	/* struct tl_node */
};

struct svc_tl *svc_tl_new(void)
{
	struct svc_tl *tl = xcalloc(1, sizeof(*tl));

	pthread_mutex_init(&tl->mtx, NULL);
	htab_init(&tl->nodes, 0);
	return tl;
}

static void tenants_free(struct tl_tenant *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].keyspaces);
		free(t[i].serving);
	}
	free(t);
}

static void node_free(struct tl_node *n)
{
	free(n->applied);
	free(n->demand);
	free(n);
}

static void node_free_each(struct htab_node *hn, void *arg)
{
	(void)arg;
	node_free(HTAB_ENTRY(hn, struct tl_node, hn));
}

void svc_tl_free(struct svc_tl *tl)
{
	if (tl == NULL)
		return;
	for (size_t i = 0; i < tl->nc; i++)
		tenants_free(tl->c[i].t, tl->c[i].n);
	htab_each(&tl->nodes, node_free_each, NULL);
	htab_release(&tl->nodes);
	free(tl->c);
	pthread_mutex_destroy(&tl->mtx);
	free(tl);
}

static struct tl_cluster *cluster_find(struct svc_tl *tl, const char *name,
    bool add)
{
	for (size_t i = 0; i < tl->nc; i++)
		if (strcmp(tl->c[i].name, name) == 0)
			return &tl->c[i];
	if (!add)
		return NULL;
	tl->c = xrealloc(tl->c, (tl->nc + 1) * sizeof(*tl->c));
	struct tl_cluster *c = &tl->c[tl->nc++];
	memset(c, 0, sizeof(*c));
	str_copy(c->name, name, sizeof(c->name));
	return c;
}

static struct tl_node *node_find(struct svc_tl *tl, const char *cluster,
    const char *address, bool add)
{
	uint64_t h = htab_hash_more(htab_hash(cluster), address);
	struct tl_node *n;

	for (struct htab_node *hn = htab_first(&tl->nodes, h); hn;
	    hn = htab_next(hn, h)) {
		n = HTAB_ENTRY(hn, struct tl_node, hn);
		if (strcmp(n->address, address) == 0 &&
		    strcmp(n->cluster, cluster) == 0)
			return n;
	}
	if (!add)
		return NULL;
	n = xcalloc(1, sizeof(*n));
	str_copy(n->cluster, cluster, sizeof(n->cluster));
	str_copy(n->address, address, sizeof(n->address));
	htab_add(&tl->nodes, &n->hn, h);
	return n;
}

void svc_tl_refresh(struct svc_tl *tl, const char *cluster,
    const struct store_tenants *tv, const struct store_tenant_svc *svcs,
    size_t nsvc, int64_t demand_interval_ms)
{
	struct tl_tenant *t = tv->n ? xcalloc(tv->n, sizeof(*t)) : NULL;

	for (size_t i = 0; i < tv->n; i++) {
		const struct store_tenant *s = &tv->items[i];
		str_copy(t[i].name, s->name, sizeof(t[i].name));
		str_copy(t[i].prefix, s->prefix, sizeof(t[i].prefix));
		if (s->nkeyspaces > 0) {
			t[i].keyspaces = xcalloc(s->nkeyspaces,
			    sizeof(*t[i].keyspaces));
			for (size_t k = 0; k < s->nkeyspaces; k++)
				str_copy(t[i].keyspaces[k], s->keyspaces[k],
				    STORE_NAME_MAX);
			t[i].nkeyspaces = s->nkeyspaces;
		}
		t[i].limit = s->limit_current;
		t[i].serving = xcalloc(s->nshard ? s->nshard : 1,
		    sizeof(*t[i].serving));
		for (size_t k = 0; k < s->nshard; k++)
			for (size_t v = 0; v < nsvc; v++)
				if (svcs[v].svc == s->shard[k])
					str_copy(t[i].serving[t[i].nserving++],
					    svcs[v].address, 256);
	}
	pthread_mutex_lock(&tl->mtx);
	struct tl_cluster *c = cluster_find(tl, cluster, tv->n > 0);
	if (c != NULL) {
		tenants_free(c->t, c->n);
		c->t = t;
		c->n = tv->n;
		c->had = c->had || tv->n > 0;
		c->demand_interval_s = (demand_interval_ms + 999) / 1000;
		t = NULL;
	}
	pthread_mutex_unlock(&tl->mtx);
	tenants_free(t, t ? tv->n : 0);
}

static bool serves(const struct tl_tenant *t, const char *address)
{
	for (size_t i = 0; i < t->nserving; i++)
		if (strcmp(t->serving[i], address) == 0)
			return true;
	return false;
}

/* The generation of what address must know of c: positive, and the same
 * for the same content whatever orchestrator computes it. */
static int64_t node_gen(const struct tl_cluster *c, const char *address)
{
	char num[32];
	uint64_t h;

	snprintf(num, sizeof(num), "%" PRId64, c->demand_interval_s);
	h = htab_hash(num);
	for (size_t i = 0; i < c->n; i++) {
		const struct tl_tenant *t = &c->t[i];
		h = htab_hash_more(h, t->name);
		h = htab_hash_more(h, t->prefix);
		for (size_t k = 0; k < t->nkeyspaces; k++)
			h = htab_hash_more(h, t->keyspaces[k]);
		snprintf(num, sizeof(num), "%" PRId64,
		    serves(t, address) ? t->limit : 0);
		h = htab_hash_more(h, num);
	}
	h &= INT64_MAX;
	return h == 0 ? 1 : (int64_t)h;
}

void svc_tl_answer(struct svc_tl *tl, const char *cluster,
    const char *address, int64_t agent_gen, json_t **answer)
{
	struct tl_cluster *c;
	json_t *list;
	int64_t gen;

	if (agent_gen < 0)
		return;		/* an agent that does not take tenants */
	pthread_mutex_lock(&tl->mtx);
	c = cluster_find(tl, cluster, false);
	/* An agent that never had a list needs no empty one. */
	if (c == NULL || (c->n == 0 && (agent_gen == 0 || !c->had)) ||
	    (gen = node_gen(c, address)) == agent_gen) {
		pthread_mutex_unlock(&tl->mtx);
		return;
	}
	list = json_array();
	for (size_t i = 0; i < c->n; i++) {
		const struct tl_tenant *t = &c->t[i];
		json_t *o = json_pack("{s:s}", "name", t->name);
		if (t->nkeyspaces > 0) {
			json_t *ks = json_array();
			for (size_t k = 0; k < t->nkeyspaces; k++)
				json_array_append_new(ks,
				    json_string(t->keyspaces[k]));
			json_object_set_new(o, "keyspaces", ks);
		} else {
			json_object_set_new(o, "prefix", json_string(t->prefix));
		}
		if (serves(t, address))
			json_object_set_new(o, "limit", json_integer(t->limit));
		json_array_append_new(list, o);
	}
	if (*answer == NULL)
		*answer = json_pack("{s:s}", "status", "ok");
	json_object_set_new(*answer, "tenants_gen", json_integer(gen));
	json_object_set_new(*answer, "tenants", list);
	json_object_set_new(*answer, "demand_interval_s",
	    json_integer(c->demand_interval_s > 0 ? c->demand_interval_s : 30));
	pthread_mutex_unlock(&tl->mtx);
}

static void uses_set(struct tl_use **dst, size_t *n,
    const struct svc_tenant_use *src, size_t count)
{
	free(*dst);
	*dst = count ? xcalloc(count, sizeof(**dst)) : NULL;
	for (size_t i = 0; i < count; i++) {
		str_copy((*dst)[i].tenant, src[i].tenant, STORE_NAME_MAX);
		(*dst)[i].value = src[i].value;
	}
	*n = count;
}

void svc_tl_beat(struct svc_tl *tl, const char *cluster, const char *address,
    const struct svc_tenant_report *r, int64_t now_ms)
{
	struct tl_node *n;

	if (r == NULL || (!r->applied_sent && !r->demand_sent &&
	    r->error == NULL))
		return;
	pthread_mutex_lock(&tl->mtx);
	n = node_find(tl, cluster, address, true);
	if (r->applied_sent)
		uses_set(&n->applied, &n->napplied, r->applied, r->napplied);
	str_copy(n->error, r->error ? r->error : "", sizeof(n->error));
	if (r->demand_sent) {
		uses_set(&n->demand, &n->ndemand, r->demand, r->ndemand);
		n->demand_at = now_ms;
		n->window_s = r->window_s;
	}
	pthread_mutex_unlock(&tl->mtx);
}

bool svc_tl_applied(struct svc_tl *tl, const char *cluster,
    const char *address, const char *tenant, int64_t *limit, char *error,
    size_t errlen)
{
	struct tl_node *n;
	bool found = false;

	*limit = -1;
	if (error != NULL && errlen > 0)
		error[0] = '\0';
	pthread_mutex_lock(&tl->mtx);
	n = node_find(tl, cluster, address, false);
	if (n != NULL) {
		for (size_t i = 0; i < n->napplied; i++)
			if (strcmp(n->applied[i].tenant, tenant) == 0) {
				*limit = (int64_t)n->applied[i].value;
				found = true;
			}
		if (error != NULL)
			str_copy(error, n->error, errlen);
	}
	pthread_mutex_unlock(&tl->mtx);
	return found;
}

struct tl_sum {
	const char *cluster, *tenant;
	int64_t now_ms, max_age_ms, newest_ms;
	double ops;
	int nodes;
};

static void demand_add(struct htab_node *hn, void *arg)
{
	struct tl_node *n = HTAB_ENTRY(hn, struct tl_node, hn);
	struct tl_sum *a = arg;

	if (strcmp(n->cluster, a->cluster) != 0 || n->demand_at == 0 ||
	    a->now_ms - n->demand_at > a->max_age_ms)
		return;
	for (size_t k = 0; k < n->ndemand; k++)
		if (strcmp(n->demand[k].tenant, a->tenant) == 0 &&
		    isfinite(n->demand[k].value) && n->demand[k].value >= 0) {
			a->ops += n->demand[k].value;
			a->nodes++;
			if (n->demand_at > a->newest_ms)
				a->newest_ms = n->demand_at;
		}
}

int svc_tl_demand(struct svc_tl *tl, const char *cluster, const char *tenant,
    int64_t now_ms, int64_t max_age_ms, double *ops, int64_t *newest_ms)
{
	struct tl_sum a = { cluster, tenant, now_ms, max_age_ms, 0, 0, 0 };

	pthread_mutex_lock(&tl->mtx);
	htab_each(&tl->nodes, demand_add, &a);
	pthread_mutex_unlock(&tl->mtx);
	*ops = a.ops;
	*newest_ms = a.newest_ms;
	return a.nodes;
}

void svc_tl_forget(struct svc_tl *tl, const char *cluster,
    const char *address)
{
	struct tl_node *n;

	pthread_mutex_lock(&tl->mtx);
	if ((n = node_find(tl, cluster, address, false)) != NULL) {
		htab_remove(&tl->nodes, &n->hn);
		node_free(n);
	}
	pthread_mutex_unlock(&tl->mtx);
}
