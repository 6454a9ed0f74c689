/*
 * service_tenants.c - tenants: create (place a shard), show with health,
 * list, delete, and the repair of shards that hold a dead node.
 *
 * The placement (tenants/placement.h) is never kept between calls: each
 * create and each repair rebuilds it from the store (the cluster's pool of
 * service numbers, its tenants' shards in placement order, which nodes
 * are up now) under the service's tenant lock, so what the store holds is
 * the whole truth and a restart changes nothing.  Rebuilt with the placed
 * shards fixed, placement still reaches the packing number one tenant at
 * a time (test_tenant_reload checks 9 services -> 12 tenants, and more).
 *
 * Tenants of a cluster may ask for different k and overlap: the
 * placement's default shape is the first tenant's (its packing serves
 * them), the others are placed beside them by shape, each pair of shards
 * sharing at most the smaller of their two overlaps.
 *
 * Repair runs from the heartbeat thread's periodic sweep
 * (svc_tenant_sweep(), once a second).  A node the judge calls "down"
 * (silent, and a live peer sees it DN) is repaired only after the
 * cluster's tenant_repair_after (2 minutes by default): a node that
 * flaps, or restarts for an upgrade, keeps its place in every shard.  A
 * node whose row is gone (removed, evicted, replaced) will not come back
 * and is repaired at once.  A repair that cannot keep the overlap bound
 * leaves the shard holding the dead node and records why; it is tried
 * again only once the pool has changed or the node went down anew.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../store/store.h"
#include "../tenants/placement.h"
#include "hb.h"
#include "service_int.h"
#include "service_json.h"

#define TN_K_DEFAULT		3
#define TN_OVERLAP_DEFAULT	1
#define TN_LIMIT_DEFAULT	4000
#define TN_LIMIT_MAX		100000
/* A shard's services: what the store keeps is what placement computes. */
#define TN_MAX_SERVICES		STORE_TENANT_SHARD_MAX
_Static_assert(STORE_TENANT_SHARD_MAX == PLACEMENT_K_MAX,
    "a shard the store keeps must be one placement can hold");
#define TN_KS_NAME_MAX		48	/* Cassandra's keyspace names */

/* A repair tried: not again until the pool changes or the node starts
 * another spell down. */
struct tn_tried {
	struct tn_tried *next;
	char *cluster;
	unsigned svc;
	size_t pool;
	int64_t since;		/* its spell down began (ms), 0: removed */
};

struct svc_tn {
	pthread_mutex_t mtx;	/* one tenant change at a time */
	struct tn_tried *tried;
};

struct svc_tn *svc_tn_new(void)
{
	struct svc_tn *tn = xcalloc(1, sizeof(*tn));

	pthread_mutex_init(&tn->mtx, NULL);
	return tn;
}

void svc_tn_free(struct svc_tn *tn)
{
	if (tn == NULL)
		return;
	while (tn->tried != NULL) {
		struct tn_tried *t = tn->tried;
		tn->tried = t->next;
		free(t->cluster);
		free(t);
	}
	pthread_mutex_destroy(&tn->mtx);
	free(tn);
}

/* ---- the pool ----------------------------------------------------------- */

/* A cluster's pool and tenants as the store has them, and its placement. */
struct tn_pool {
	struct store_tenant_svc *svcs;	/* by number: svcs[i].svc == i */
	size_t nsvc;
	struct store_tenants tv;
	struct placement *p;		/* NULL until tn_place_load() */
	char (*state)[32];		/* each service's node state now */
};

static void tn_pool_release(struct tn_pool *pl)
{
	free(pl->svcs);
	store_tenants_release(&pl->tv);
	placement_free(pl->p);
	free(pl->state);
	memset(pl, 0, sizeof(*pl));
}

/* The node state of a service: what the heartbeats say, or "removed"
 * when its node is no longer in the cluster. */
static void tn_states(struct service *s, const char *cluster,
    struct tn_pool *pl)
{
	pl->state = xcalloc(pl->nsvc ? pl->nsvc : 1, sizeof(*pl->state));
	for (size_t i = 0; i < pl->nsvc; i++)
		if (!hb_node_view(s->hb, cluster, pl->svcs[i].address,
		    pl->state[i], sizeof(pl->state[i]), NULL, NULL))
			str_copy(pl->state[i], "removed", sizeof(pl->state[i]));
}

/*
 * Give numbers to the cluster's nodes that have none (a new node adds a
 * service; nothing placed moves).  Writes only when one is new, so the
 * sweep's pass over an unchanged pool writes nothing.
 */
static int tn_pool_sync(struct service *s, const char *cluster,
    struct svc_err *e)
{
	struct store_tenant_svc *v = NULL;
	struct store_nodes nv;
	const char **addrs;
	size_t n = 0, nnew = 0;
	char err[256] = "";
	int rc;

	rc = store_cluster_nodes(s->st, cluster, &nv);
	if (rc == 0)
		rc = store_tenant_services(s->st, cluster, &v, &n);
	if (rc != 0) {
		store_nodes_release(&nv);
		svc_set(e, rc, rc == RM_ENOENT ? "cluster '%s' not found" :
		    "cannot read the nodes of cluster '%s': see the "
		    "ringmaster log", cluster);
		return rc;
	}
	addrs = xcalloc(nv.n ? nv.n : 1, sizeof(*addrs));
	for (size_t i = 0; i < nv.n; i++) {
		bool known = false;
		for (size_t j = 0; j < n && !known; j++)
			known = strcmp(v[j].address, nv.items[i].address) == 0;
		if (!known)
			addrs[nnew++] = nv.items[i].address;
	}
	if (nnew > 0 && (rc = store_tenant_services_add(s->st, cluster,
	    addrs, nnew, NULL, err, sizeof(err))) != 0)
		svc_fail(e, rc, err);
	free(addrs);
	free(v);
	store_nodes_release(&nv);
	return rc;
}

/*
 * Read the pool and the tenants; with sync, first give numbers to the
 * cluster's nodes that have none.  0 or an RM_* code with e set.
 */
static int tn_pool_read(struct service *s, const char *cluster, bool sync,
    struct tn_pool *pl, struct svc_err *e)
{
	int rc;

	memset(pl, 0, sizeof(*pl));
	if (sync && (rc = tn_pool_sync(s, cluster, e)) != 0)
		return rc;
	rc = store_tenant_list(s->st, cluster, &pl->tv);
	if (rc == 0)
		rc = store_tenant_services(s->st, cluster, &pl->svcs,
		    &pl->nsvc);
	if (rc != 0) {
		svc_set(e, rc, rc == RM_ENOENT ? "cluster '%s' not found" :
		    "cannot read the tenants of cluster '%s': see the "
		    "ringmaster log", cluster);
		tn_pool_release(pl);
		return rc;
	}
	for (size_t i = 0; i < pl->nsvc; i++)
		if (pl->svcs[i].svc != i) {
			svc_set(e, RM_ERR, "the service numbers of cluster "
			    "'%s' have a gap at %zu: the store was edited by "
			    "hand", cluster, i);
			tn_pool_release(pl);
			return RM_ERR;
		}
	tn_states(s, cluster, pl);
	return 0;
}

/* Build the placement of default shape k, m from the pool: live = node
 * up now; the tenants' shards, each of its own size and overlap, loaded in
 * their order. */
static int tn_place_load(struct tn_pool *pl, unsigned k, unsigned m,
    struct svc_err *e)
{
	struct placement_shard *sh;
	char err[512] = "";

	pl->p = placement_new(pl->nsvc, k, m, err, sizeof(err));
	if (pl->p == NULL) {
		svc_set(e, RM_ECONFLICT, "%s", err);
		return -1;
	}
	for (size_t i = 0; i < pl->nsvc; i++)
		if (strcmp(pl->state[i], "up") != 0)
			placement_set_alive(pl->p, (unsigned)i, false, NULL, 0);
	sh = xcalloc(pl->tv.n ? pl->tv.n : 1, sizeof(*sh));
	for (size_t i = 0; i < pl->tv.n; i++) {
		const struct store_tenant *t = &pl->tv.items[i];
		if (t->nshard < 1 || t->nshard > TN_MAX_SERVICES) {
			svc_set(e, RM_ERR, "tenant '%s' holds %zu services, "
			    "not 1 to %d: the store was edited by hand",
			    t->name, t->nshard, TN_MAX_SERVICES);
			free(sh);
			return -1;
		}
		sh[i].n = (unsigned)t->nshard;
		sh[i].m = t->overlap;
		memcpy(sh[i].svc, t->shard, sh[i].n * sizeof(unsigned));
		/* placement wants them ascending */
		for (unsigned a = 1; a < sh[i].n; a++)
			for (unsigned b = a; b > 0 && sh[i].svc[b - 1] >
			    sh[i].svc[b]; b--) {
				unsigned x = sh[i].svc[b];
				sh[i].svc[b] = sh[i].svc[b - 1];
				sh[i].svc[b - 1] = x;
			}
	}
	if (placement_load(pl->p, sh, pl->tv.n, err, sizeof(err)) != 0) {
		svc_set(e, RM_ERR, "the shards of the store do not load: %s",
		    err);
		free(sh);
		return -1;
	}
	free(sh);
	return 0;
}

/* ---- JSON --------------------------------------------------------------- */

/*
 * ok: every service of the shard is up; degraded: some are up, some not;
 * down: none is up.  Up is the node's state "up" (its agent beats and its
 * Cassandra is UN); any other state, a removed node included, is not.
 */
static const char *tn_health(size_t up, size_t n)
{
	return up == n ? "ok" : up > 0 ? "degraded" : "down";
}

static json_t *tn_json(struct service *s, const struct store_tenant *t,
    const struct tn_pool *pl)
{
	json_t *o, *shard = json_array(), *ks = json_null(), *sv;
	char sig[STORE_TENANT_SIG_MAX], lerr[512];
	int64_t applied;
	size_t up = 0;

	for (size_t i = 0; i < t->nshard; i++) {
		unsigned v = t->shard[i];
		const char *addr = v < pl->nsvc ? pl->svcs[v].address : "";
		const char *state = v < pl->nsvc ? pl->state[v] : "removed";
		if (strcmp(state, "up") == 0)
			up++;
		sv = json_pack("{s:i,s:s,s:s,s:b}", "service", (json_int_t)v,
		    "address", addr, "state", state, "up",
		    strcmp(state, "up") == 0);
		/* What its agent said in heartbeats since the orchestrator
		 * started: null until it said. */
		json_object_set_new(sv, "limit_applied", svc_tl_applied(s->tl,
		    t->cluster, addr, t->name, &applied, lerr, sizeof(lerr)) ?
		    json_integer(applied) : json_null());
		json_object_set_new(sv, "limits_error", lerr[0] ?
		    json_string(lerr) : json_null());
		json_array_append_new(shard, sv);
	}
	store_tenant_sig(t->limit_current, t->shard, t->nshard, sig,
	    sizeof(sig));
	if (t->nkeyspaces > 0) {
		json_decref(ks);
		ks = json_array();
		for (size_t i = 0; i < t->nkeyspaces; i++)
			json_array_append_new(ks, json_string(t->keyspaces[i]));
	}
	o = json_pack("{s:s,s:s,s:o,s:o,s:i,s:i,s:o,s:i,s:i,s:s,"
	    "s:{s:I,s:I,s:I},s:i,s:i,s:o,s:o,s:o}",
	    "name", t->name, "cluster", t->cluster, "keyspaces", ks,
	    "prefix", t->prefix[0] ? json_string(t->prefix) : json_null(),
	    "k", (json_int_t)t->k, "overlap", (json_int_t)t->overlap,
	    "shard", shard, "services", (json_int_t)t->nshard,
	    "services_up", (json_int_t)up, "health",
	    tn_health(up, t->nshard), "limits",
	    "default", (json_int_t)t->limit_default,
	    "current", (json_int_t)t->limit_current,
	    "max", (json_int_t)t->limit_max,
	    "min_services", (json_int_t)t->min_services,
	    "max_services", (json_int_t)t->max_services,
	    "demand", t->demand_ops < 0 ? json_null() :
	    json_pack("{s:I,s:o}", "ops", (json_int_t)t->demand_ops, "at",
	    svc_json_time(t->demand_at)),
	    "created_at", svc_json_time(t->created_at),
	    "updated_at", svc_json_time(t->updated_at));
	json_object_set_new(json_object_get(o, "limits"), "confirmed",
	    json_boolean(strcmp(sig, t->confirmed) == 0));
	json_object_set_new(o, "autoscale", json_boolean(t->autoscale));
	json_object_set_new(o, "services_target", json_integer(
	    t->services_target ? t->services_target : (json_int_t)t->nshard));
	json_object_set_new(o, "scaled_at", t->scaled_at > 0 ?
	    svc_json_time(t->scaled_at) : json_null());
	json_object_set_new(o, "scale_error", t->scale_error[0] ?
	    json_string(t->scale_error) : json_null());
	return o;
}

/* ---- create, read, delete ----------------------------------------------- */

static bool ks_name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len > TN_KS_NAME_MAX)
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

/* Fill t from the request, defaults applied; 0 or -1 with e (400). */
static int tn_from_req(const char *cluster, const struct svc_tenant *r,
    struct store_tenant *t, struct svc_err *e)
{
	memset(t, 0, sizeof(*t));
	str_copy(t->cluster, cluster, sizeof(t->cluster));
	str_copy(t->name, r->name, sizeof(t->name));
	if ((r->nkeyspaces > 0) == (r->prefix != NULL)) {
		svc_set(e, RM_EINVAL, "tenant '%s' needs its keyspaces: "
		    "either 'keyspaces' (a list of names) or 'prefix' (every "
		    "keyspace whose name starts with it), not both", r->name);
		return -1;
	}
	if (r->nkeyspaces > STORE_TENANT_KS_MAX) {
		svc_set(e, RM_EINVAL, "tenant '%s' lists %zu keyspaces: at "
		    "most %d; use a prefix", r->name, r->nkeyspaces,
		    STORE_TENANT_KS_MAX);
		return -1;
	}
	for (size_t i = 0; i < r->nkeyspaces; i++) {
		if (r->keyspaces[i] == NULL || !ks_name_ok(r->keyspaces[i])) {
			svc_set(e, RM_EINVAL, "keyspace %zu of tenant '%s' is "
			    "not a keyspace name: 1 to %d letters, digits or "
			    "'_'", i + 1, r->name, TN_KS_NAME_MAX);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(r->keyspaces[i], r->keyspaces[j]) == 0) {
				svc_set(e, RM_EINVAL, "keyspace '%s' is listed "
				    "twice for tenant '%s'", r->keyspaces[i],
				    r->name);
				return -1;
			}
		str_copy(t->keyspaces[i], r->keyspaces[i], STORE_NAME_MAX);
	}
	t->nkeyspaces = r->nkeyspaces;
	if (r->prefix != NULL) {
		if (!ks_name_ok(r->prefix)) {
			svc_set(e, RM_EINVAL, "the prefix of tenant '%s' is "
			    "not the start of a keyspace name: 1 to %d "
			    "letters, digits or '_'", r->name, TN_KS_NAME_MAX);
			return -1;
		}
		str_copy(t->prefix, r->prefix, sizeof(t->prefix));
	}
	t->k = r->k > 0 ? (unsigned)r->k : TN_K_DEFAULT;
	t->overlap = r->overlap >= 0 ? (unsigned)r->overlap :
	    TN_OVERLAP_DEFAULT;
	t->min_services = r->min_services > 0 ? (unsigned)r->min_services :
	    t->k;
	t->max_services = r->max_services > 0 ? (unsigned)r->max_services :
	    TN_MAX_SERVICES;
	t->limit_default = r->limit_default > 0 ? r->limit_default :
	    TN_LIMIT_DEFAULT;
	t->limit_max = r->limit_max > 0 ? r->limit_max : TN_LIMIT_MAX;
	t->limit_current = t->limit_default;
	t->demand_ops = -1;
	t->autoscale = r->autoscale != 0;
	if (t->k < 1 || t->k > TN_MAX_SERVICES) {
		svc_set(e, RM_EINVAL, "k = %u for tenant '%s': a shard holds "
		    "1 to %d services", t->k, r->name, TN_MAX_SERVICES);
		return -1;
	}
	if (t->overlap >= t->k) {
		svc_set(e, RM_EINVAL, "overlap %u for tenant '%s' with k = %u: "
		    "it must be less than k, or shards could coincide and "
		    "isolate nothing", t->overlap, r->name, t->k);
		return -1;
	}
	if (t->min_services > t->k || t->k > t->max_services ||
	    t->max_services > TN_MAX_SERVICES) {
		svc_set(e, RM_EINVAL, "min_services %u, k = %u, max_services "
		    "%u for tenant '%s': they must be min <= k <= max <= %d "
		    "(the shard starts with k services)", t->min_services,
		    t->k, t->max_services, r->name, TN_MAX_SERVICES);
		return -1;
	}
	if (t->limit_default > t->limit_max) {
		svc_set(e, RM_EINVAL, "limit_default %" PRId64 " is above "
		    "limit_max %" PRId64 " for tenant '%s'", t->limit_default,
		    t->limit_max, r->name);
		return -1;
	}
	return 0;
}

int service_tenant_create(struct service *s, const char *cluster,
    const struct svc_tenant *r, json_t **out, struct svc_err *e)
{
	struct store_tenant t, got;
	struct placement_shard sh;
	struct tn_pool pl;
	char err[512] = "";
	int rc;

	if (tn_from_req(cluster, r, &t, e) != 0)
		return -1;
	pthread_mutex_lock(&s->tn->mtx);
	if (tn_pool_read(s, cluster, true, &pl, e) != 0)
		goto fail_unlocked_pool;
	for (size_t i = 0; i < pl.tv.n; i++)
		if (strcmp(pl.tv.items[i].name, t.name) == 0) {
			svc_set(e, RM_EEXIST, "cluster '%s' already has a "
			    "tenant '%s'", cluster, t.name);
			goto fail;
		}
	if (t.k > pl.nsvc) {
		svc_set(e, RM_ECONFLICT, "cluster '%s' has %zu services (its "
		    "nodes): too few for a shard of k = %u; add nodes or ask "
		    "for a smaller k", cluster, pl.nsvc, t.k);
		goto fail;
	}
	if (tn_place_load(&pl, pl.tv.n > 0 ? pl.tv.items[0].k : t.k,
	    pl.tv.n > 0 ? pl.tv.items[0].overlap : t.overlap, e) != 0)
		goto fail;
	if (placement_place_shape(pl.p, t.k, t.overlap, &sh, err,
	    sizeof(err)) != 0) {
		svc_set(e, RM_ECONFLICT, "cannot place tenant '%s' in cluster "
		    "'%s': %s (%zu of the %zu services are up)", t.name,
		    cluster, err, placement_alive(pl.p), pl.nsvc);
		goto fail;
	}
	memcpy(t.shard, sh.svc, t.k * sizeof(unsigned));
	t.nshard = t.k;
	if ((rc = store_tenant_create(s->st, &t, err, sizeof(err))) != 0) {
		svc_fail(e, rc, err);
		goto fail;
	}
	if (store_tenant_get(s->st, cluster, t.name, &got) != 0) {
		svc_set(e, RM_ERR, "tenant '%s' was created but cannot be read "
		    "back: see the ringmaster log", t.name);
		goto fail;
	}
	*out = tn_json(s, &got, &pl);
	log_info("tenant %s/%s placed on %u of the %zu services", cluster,
	    t.name, t.k, pl.nsvc);
	tn_pool_release(&pl);
	pthread_mutex_unlock(&s->tn->mtx);
	return 0;
fail:
	tn_pool_release(&pl);
fail_unlocked_pool:
	pthread_mutex_unlock(&s->tn->mtx);
	return -1;
}

int service_tenant_get(struct service *s, const char *cluster,
    const char *name, json_t **out, struct svc_err *e)
{
	struct tn_pool pl;

	if (tn_pool_read(s, cluster, false, &pl, e) != 0)
		return -1;
	for (size_t i = 0; i < pl.tv.n; i++)
		if (strcmp(pl.tv.items[i].name, name) == 0) {
			*out = tn_json(s, &pl.tv.items[i], &pl);
			tn_pool_release(&pl);
			return 0;
		}
	tn_pool_release(&pl);
	svc_set(e, RM_ENOENT, "cluster '%s' has no tenant '%s'", cluster,
	    name);
	return -1;
}

int service_tenant_list(struct service *s, const char *cluster,
    json_t **out, struct svc_err *e)
{
	struct tn_pool pl;
	json_t *items;

	if (tn_pool_read(s, cluster, false, &pl, e) != 0)
		return -1;
	items = json_array();
	for (size_t i = 0; i < pl.tv.n; i++)
		json_array_append_new(items, tn_json(s, &pl.tv.items[i], &pl));
	tn_pool_release(&pl);
	*out = json_pack("{s:o,s:n}", "items", items, "next");
	return 0;
}

int service_tenant_delete(struct service *s, const char *cluster,
    const char *name, struct svc_err *e)
{
	char err[256] = "";
	int rc;

	pthread_mutex_lock(&s->tn->mtx);
	rc = store_tenant_delete(s->st, cluster, name, err, sizeof(err));
	pthread_mutex_unlock(&s->tn->mtx);
	if (rc == RM_ENOENT && !store_cluster_exists(s->st, cluster)) {
		svc_set(e, RM_ENOENT, "cluster '%s' not found", cluster);
		return -1;
	}
	if (rc == RM_ENOENT) {
		svc_set(e, RM_ENOENT, "cluster '%s' has no tenant '%s'",
		    cluster, name);
		return -1;
	}
	return rc != 0 ? svc_fail(e, rc, err) : 0;
}

int service_tenant_update(struct service *s, const char *cluster,
    const char *name, const struct svc_tenant *r, json_t **out,
    struct svc_err *e)
{
	struct store_tenant t;
	char err[512] = "";
	int rc;

	pthread_mutex_lock(&s->tn->mtx);
	rc = store_tenant_get(s->st, cluster, name, &t);
	if (rc != 0) {
		pthread_mutex_unlock(&s->tn->mtx);
		if (rc == RM_ENOENT && !store_cluster_exists(s->st, cluster))
			svc_set(e, RM_ENOENT, "cluster '%s' not found", cluster);
		else if (rc == RM_ENOENT)
			svc_set(e, RM_ENOENT, "cluster '%s' has no tenant '%s'",
			    cluster, name);
		else
			svc_set(e, rc, "cannot read tenant '%s': see the "
			    "ringmaster log", name);
		return -1;
	}
	if (r->limit_default > 0)
		t.limit_default = r->limit_default;
	if (r->limit_max > 0)
		t.limit_max = r->limit_max;
	if (r->min_services > 0)
		t.min_services = (unsigned)r->min_services;
	if (r->max_services > 0)
		t.max_services = (unsigned)r->max_services;
	if (r->autoscale >= 0)
		t.autoscale = r->autoscale != 0;
	/* The rules of create, on the result: a change that breaks one is
	 * refused whole. */
	if (t.limit_default > t.limit_max) {
		svc_set(e, RM_EINVAL, "limit_default %" PRId64 " is above "
		    "limit_max %" PRId64 " for tenant '%s'", t.limit_default,
		    t.limit_max, name);
		rc = -1;
	} else if (t.min_services > t.k || t.k > t.max_services) {
		svc_set(e, RM_EINVAL, "min_services %u, k = %u, max_services "
		    "%u for tenant '%s': they must be min_services <= k <= "
		    "max_services <= %d", t.min_services, t.k, t.max_services,
		    name, TN_MAX_SERVICES);
		rc = -1;
	} else if ((rc = store_tenant_update(s->st, &t, err,
	    sizeof(err))) != 0) {
		svc_fail(e, rc, err);
		rc = -1;
	}
	pthread_mutex_unlock(&s->tn->mtx);
	if (rc != 0)
		return -1;
	log_info("tenant %s/%s changed: limits %" PRId64 "..%" PRId64
	    ", services %u..%u, autoscale %s", cluster, name,
	    t.limit_default, t.limit_max, t.min_services, t.max_services,
	    t.autoscale ? "on" : "off");
	return service_tenant_get(s, cluster, name, out, e);
}

void service_tenant_metrics(struct service *s, void (*fn)(const char *cluster,
    const char *tenant, const struct svc_tenant_stat *st, void *arg),
    void *arg)
{
	char **names = NULL;
	size_t n = 0;
	struct svc_err e;

	if (store_cluster_names(s->st, &names, &n) != 0)
		return;
	for (size_t c = 0; c < n; c++) {
		struct tn_pool pl;
		if (tn_pool_read(s, names[c], false, &pl, &e) == 0) {
			for (size_t i = 0; i < pl.tv.n; i++) {
				const struct store_tenant *t = &pl.tv.items[i];
				struct svc_tenant_stat stat = {
					.services = t->nshard,
					.limit_ops = t->limit_current,
					.demand_ops = t->demand_ops,
				};
				for (size_t j = 0; j < t->nshard; j++)
					if (t->shard[j] < pl.nsvc && strcmp(
					    pl.state[t->shard[j]], "up") == 0)
						stat.services_up++;
				fn(names[c], t->name, &stat, arg);
			}
			tn_pool_release(&pl);
		}
		free(names[c]);
	}
	free(names);
}

/* ---- repair ------------------------------------------------------------- */

static void tn_event(struct service *s, const char *cluster,
    const char *tenant, const char *result, json_t *detail)
{
	char *text = json_dumps(detail, JSON_COMPACT), err[256];
	struct store_event ev = {
		.actor = "ringmaster", .kind = "tenant", .target = tenant,
		.cluster = cluster, .result = result, .detail_json = text,
	};

	if (store_event_append(s->st, &ev, err, sizeof(err)) != 0)
		log_warnx("cannot record the tenant event %s of %s/%s: %s",
		    result, cluster, tenant, err);
	free(text);
	json_decref(detail);
}

/* Tried svc of cluster in this spell with this pool size already?  Else
 * remember it. */
static bool tn_tried(struct svc_tn *tn, const char *cluster, unsigned svc,
    size_t pool, int64_t since)
{
	for (struct tn_tried *t = tn->tried; t; t = t->next)
		if (t->svc == svc && strcmp(t->cluster, cluster) == 0) {
			if (t->pool == pool && t->since == since)
				return true;
			t->pool = pool;
			t->since = since;
			return false;
		}
	struct tn_tried *t = xcalloc(1, sizeof(*t));
	t->cluster = xstrdup(cluster);
	t->svc = svc;
	t->pool = pool;
	t->since = since;
	t->next = tn->tried;
	tn->tried = t;
	return false;
}

/* Repair the shards holding service v (its node: why).  Expects the lock
 * and pl with its placement loaded. */
static void tn_repair(struct service *s, const char *cluster,
    struct tn_pool *pl, unsigned v, const char *why)
{
	struct placement_swap *sw = NULL;
	size_t nsw = 0;
	char err[512] = "";
	int rc = placement_repair(pl->p, v, &sw, &nsw, err, sizeof(err));

	for (size_t i = 0; i < nsw; i++) {
		struct store_tenant *t = &pl->tv.items[sw[i].shard];
		char serr[256] = "";
		for (size_t j = 0; j < t->nshard; j++)
			if (t->shard[j] == sw[i].from)
				t->shard[j] = sw[i].to;
		if (store_tenant_set_shard(s->st, cluster, t->name, t->shard,
		    t->nshard, serr, sizeof(serr)) != 0) {
			log_warnx("tenant %s/%s: cannot store its repaired "
			    "shard: %s; the next sweep tries again", cluster,
			    t->name, serr);
			continue;
		}
		log_info("tenant %s/%s: service %u (%s) swapped for %u (%s): "
		    "%s", cluster, t->name, sw[i].from,
		    pl->svcs[sw[i].from].address, sw[i].to,
		    pl->svcs[sw[i].to].address, why);
		tn_event(s, cluster, t->name, "repaired", json_pack(
		    "{s:s,s:s,s:s}", "from", pl->svcs[sw[i].from].address,
		    "to", pl->svcs[sw[i].to].address, "reason", why));
	}
	if (rc != 0) {
		/* The shards that kept it: each tenant that still holds v. */
		for (size_t i = 0; i < pl->tv.n; i++) {
			struct store_tenant *t = &pl->tv.items[i];
			for (size_t j = 0; j < t->nshard; j++)
				if (t->shard[j] == v) {
					log_warnx("tenant %s/%s keeps service "
					    "%u (%s): %s", cluster, t->name, v,
					    pl->svcs[v].address, err);
					tn_event(s, cluster, t->name,
					    "not_repaired", json_pack(
					    "{s:s,s:s,s:s}", "service",
					    pl->svcs[v].address, "reason",
					    why, "why_not", err));
				}
		}
	}
	free(sw);
}

/* The shard's member to take out when it shrinks: a service that is not
 * up, else the one held by the most shards (it frees the busiest), the
 * highest number on a tie. */
static unsigned tn_victim(const struct tn_pool *pl, const struct store_tenant *t)
{
	unsigned best = t->shard[0];
	size_t best_load = 0;
	bool best_down = false;

	for (size_t j = 0; j < t->nshard; j++) {
		unsigned v = t->shard[j];
		bool down = v >= pl->nsvc || strcmp(pl->state[v], "up") != 0;
		size_t load = placement_load_of(pl->p, v);
		if (j == 0 || (down && !best_down) || (down == best_down &&
		    (load > best_load || (load == best_load && v > best)))) {
			best = v;
			best_load = load;
			best_down = down;
		}
	}
	return best;
}

/*
 * Bring tenant i's shard one service nearer its target (the autoscaler's
 * add or remove, recorded by a scale-tenant task that waits for this).
 * Expects the lock and pl with its placement loaded.  A shard that cannot
 * grow keeps its size and the reason goes into the row, where the task
 * reads it.
 */
static void tn_resize(struct service *s, const char *cluster,
    struct tn_pool *pl, size_t i)
{
	struct store_tenant *t = &pl->tv.items[i];
	char err[512] = "", serr[256] = "";
	unsigned v;
	bool grow = t->services_target > t->nshard;

	if (grow) {
		if (placement_grow(pl->p, i, &v, err, sizeof(err)) != 0) {
			if (strcmp(err, t->scale_error) != 0) {
				log_warnx("tenant %s/%s cannot grow to %u "
				    "services: %s", cluster, t->name,
				    t->services_target, err);
				if (store_tenant_set_scale_error(s->st, cluster,
				    t->name, err, serr, sizeof(serr)) == 0)
					str_copy(t->scale_error, err,
					    sizeof(t->scale_error));
			}
			return;
		}
		t->shard[t->nshard++] = v;
		if (t->scale_error[0] != '\0' && store_tenant_set_scale_error(
		    s->st, cluster, t->name, "", serr, sizeof(serr)) == 0)
			t->scale_error[0] = '\0';
	} else {
		v = tn_victim(pl, t);
		if (placement_shrink(pl->p, i, v, err, sizeof(err)) != 0) {
			log_warnx("tenant %s/%s cannot shrink: %s", cluster,
			    t->name, err);
			return;
		}
		for (size_t j = 0; j < t->nshard; j++)
			if (t->shard[j] == v) {
				memmove(&t->shard[j], &t->shard[j + 1],
				    (t->nshard - j - 1) * sizeof(t->shard[0]));
				t->nshard--;
				break;
			}
	}
	if (store_tenant_set_shard(s->st, cluster, t->name, t->shard,
	    t->nshard, serr, sizeof(serr)) != 0) {
		log_warnx("tenant %s/%s: cannot store its shard of %zu "
		    "services: %s; the next sweep tries again", cluster,
		    t->name, t->nshard, serr);
		return;
	}
	log_info("tenant %s/%s: service %u (%s) %s its shard, now %zu of %u "
	    "services", cluster, t->name, v, v < pl->nsvc ?
	    pl->svcs[v].address : "?", grow ? "added to" : "taken out of",
	    t->nshard, t->services_target);
	tn_event(s, cluster, t->name, grow ? "grown" : "shrunk", json_pack(
	    "{s:s,s:i,s:i}", "service", v < pl->nsvc ? pl->svcs[v].address :
	    "", "services", (json_int_t)t->nshard, "target",
	    (json_int_t)t->services_target));
}

struct tn_down {
	const char *cluster;
	struct tn_pool *pl;
	int64_t *since;		/* per service: down since (ms), 0 not */
};

static void tn_down_cb(const char *cluster, const char *address,
    int64_t down_since_ms, void *arg)
{
	struct tn_down *d = arg;

	if (strcmp(cluster, d->cluster) != 0)
		return;
	for (size_t i = 0; i < d->pl->nsvc; i++)
		if (strcmp(d->pl->svcs[i].address, address) == 0)
			d->since[i] = down_since_ms > 0 ? down_since_ms : 1;
}

static void tn_sweep_cluster(struct service *s, const char *cluster,
    int64_t now)
{
	struct store_cluster_settings set;
	struct tn_pool pl;
	struct svc_err e;
	struct tn_down d;
	int64_t *since;
	size_t nup, nmember;

	/* Most clusters have no tenant: one indexed probe a second, and
	 * nothing more (the agents of one whose last tenant went learn the
	 * empty list). */
	if (!store_tenant_any(s->st, cluster)) {
		struct store_tenants none = { NULL, 0 };

		svc_tl_refresh(s->tl, cluster, &none, NULL, 0, 0);
		return;
	}
	if (tn_pool_read(s, cluster, true, &pl, &e) != 0)
		return;
	if (pl.tv.n == 0 || store_cluster_settings_get(s->st, cluster,
	    &set) != 0) {
		tn_pool_release(&pl);
		return;
	}
	since = xcalloc(pl.nsvc ? pl.nsvc : 1, sizeof(*since));
	d = (struct tn_down){ cluster, &pl, since };
	hb_down_nodes(s->hb, tn_down_cb, &d);
	for (size_t v = 0; v < pl.nsvc; v++) {
		char why[512];
		bool removed = strcmp(pl.state[v], "removed") == 0;
		if (!removed && (since[v] == 0 || set.tenant_repair_after_ms <=
		    0 || now - since[v] < set.tenant_repair_after_ms))
			continue;
		if (!store_tenant_svc_held(s->st, cluster, (unsigned)v) ||
		    tn_tried(s->tn, cluster, (unsigned)v, pl.nsvc,
		    removed ? 0 : since[v]))
			continue;
		if (pl.p == NULL && tn_place_load(&pl, pl.tv.items[0].k,
		    pl.tv.items[0].overlap, &e) != 0) {
			log_warnx("cannot repair the tenants of cluster %s: "
			    "%s", cluster, e.msg);
			break;
		}
		if (removed)
			snprintf(why, sizeof(why), "node %s left the cluster",
			    pl.svcs[v].address);
		else
			snprintf(why, sizeof(why), "node %s has been down for "
			    "%" PRId64 "s (tenant_repair_after %" PRId64 "s)",
			    pl.svcs[v].address, (now - since[v]) / 1000,
			    set.tenant_repair_after_ms / 1000);
		tn_repair(s, cluster, &pl, (unsigned)v, why);
	}
	free(since);
	for (size_t i = 0; i < pl.tv.n; i++) {
		const struct store_tenant *t = &pl.tv.items[i];
		if (t->services_target == 0 || t->services_target ==
		    t->nshard)
			continue;
		if (pl.p == NULL && tn_place_load(&pl, pl.tv.items[0].k,
		    pl.tv.items[0].overlap, &e) != 0) {
			log_warnx("cannot resize the tenants of cluster %s: "
			    "%s", cluster, e.msg);
			break;
		}
		tn_resize(s, cluster, &pl, i);
	}
	svc_as_confirm(s, cluster, &pl.tv, pl.svcs, pl.nsvc);
	svc_tl_refresh(s->tl, cluster, &pl.tv, pl.svcs, pl.nsvc,
	    set.tenant_demand_interval_ms);
	nup = nmember = 0;
	for (size_t v = 0; v < pl.nsvc; v++) {
		nup += strcmp(pl.state[v], "up") == 0;
		/* A node gone from the cluster reports no more: forget what
		 * it did report, or its demand would count until restart. */
		if (strcmp(pl.state[v], "removed") == 0)
			svc_tl_forget(s->tl, cluster, pl.svcs[v].address);
		else
			nmember++;
	}
	svc_as_tick(s, cluster, &pl.tv, &set, nup, nmember, now);
	tn_pool_release(&pl);
}

void svc_tenant_sweep(struct service *s)
{
	char **names = NULL;
	size_t n = 0;
	int64_t now = time_wall_ms();

	if (store_cluster_names(s->st, &names, &n) != 0)
		return;
	pthread_mutex_lock(&s->tn->mtx);
	for (size_t i = 0; i < n; i++) {
		tn_sweep_cluster(s, names[i], now);
		free(names[i]);
	}
	pthread_mutex_unlock(&s->tn->mtx);
	free(names);
}
