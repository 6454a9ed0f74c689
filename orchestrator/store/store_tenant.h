/*
 * store_tenant.h - tenants and their cluster's pool of services in the
 * store (store_tenant.c); included by store.h, whose conventions apply.
 *
 * A tenant is a set of keyspaces of one cluster (a list of names, or a
 * prefix) served by a shard of services: the cluster's nodes, each known
 * by a service number.  Numbers are given in order, per cluster, to
 * addresses not seen before and never reused (placement.h relies on it):
 * a node that leaves keeps its number, so shards that still hold it say
 * which node that was.  A tenant's row keeps what the autoscaler needs
 * (limits now, default and maximum, minimum and maximum services) and a
 * place for its demand, empty until reported.
 */
#ifndef RM_STORE_TENANT_H
#define RM_STORE_TENANT_H

#include "store.h"

/* Services a shard may hold (placement.h's PLACEMENT_K_MAX). */
#define STORE_TENANT_SHARD_MAX	16
/* Keyspaces a tenant may list by name. */
#define STORE_TENANT_KS_MAX	64
/* A confirmation signature: a limit and up to 16 service numbers. */
#define STORE_TENANT_SIG_MAX	160

struct store_tenant {
	char cluster[STORE_NAME_MAX];
	char name[STORE_NAME_MAX];
	/* Exactly one of: keyspaces by name (nkeyspaces > 0), or every
	 * keyspace whose name starts with prefix (prefix != ""). */
	char keyspaces[STORE_TENANT_KS_MAX][STORE_NAME_MAX];
	size_t nkeyspaces;
	char prefix[STORE_NAME_MAX];
	unsigned k;			/* shard size when placed */
	unsigned overlap;		/* m: at most this many services
					   shared with any other shard */
	int64_t limit_default;		/* per-service ops/s */
	int64_t limit_max;
	int64_t limit_current;
	unsigned min_services, max_services;
	unsigned shard[STORE_TENANT_SHARD_MAX];	/* service numbers */
	size_t nshard;
	int64_t demand_ops;		/* -1: not reported yet */
	int64_t demand_at;		/* ms, 0 with no demand */
	/* The autoscaler's (docs/tenants.md, "The controller"). */
	bool autoscale;			/* the controller may change it */
	unsigned services_target;	/* the shard should hold this many
					   services; 0: as many as it holds */
	int64_t scaled_at;		/* ms of the last scale, 0: never */
	/* What the shard's services confirmed they enforce, as
	 * store_tenant_sig() writes it ("6000@1,4,7"); "" none yet. */
	char confirmed[STORE_TENANT_SIG_MAX];
	/* Why the shard cannot hold services_target services (the sweep
	 * tried to grow it); "" when it can or does. */
	char scale_error[512];
	int64_t seq;			/* placement order in the cluster */
	int64_t created_at, updated_at;	/* ms */
};

/* A cluster's tenants in placement order (not paged). */
struct store_tenants {
	struct store_tenant *items;
	size_t n;
};
void store_tenants_release(struct store_tenants *v);

/*
 * Insert t with its shard (seq, created_at and updated_at are set here;
 * 0 times mean now).  0, RM_ENOENT (no such cluster), RM_EEXIST (the
 * cluster has a tenant of that name), RM_EINVAL (no keyspaces and no
 * prefix, or both; an empty shard), RM_ERR.
 */
int store_tenant_create(struct store *st, const struct store_tenant *t,
    char *err, size_t errlen);
/* 0, RM_ENOENT, RM_ERR. */
int store_tenant_get(struct store *st, const char *cluster, const char *name,
    struct store_tenant *out);
/* 0, RM_ENOENT (no such cluster), RM_ERR. */
int store_tenant_list(struct store *st, const char *cluster,
    struct store_tenants *out);
/* 0, RM_ENOENT, RM_ERR. */
int store_tenant_delete(struct store *st, const char *cluster,
    const char *name, char *err, size_t errlen);
/* A new shard (repair swapped a service).  0, RM_ENOENT, RM_EINVAL
 * (n == 0 or n > STORE_TENANT_SHARD_MAX), RM_ERR. */
int store_tenant_set_shard(struct store *st, const char *cluster,
    const char *name, const unsigned *shard, size_t n, char *err,
    size_t errlen);
/*
 * A scale decided (the scale-tenant task): the per-service limit and the
 * services the shard should hold (0: leave), scaled_at = now.  0,
 * RM_ENOENT, RM_EINVAL (limit outside 1..limit_max, services outside
 * min_services..max_services), RM_ERR.
 */
int store_tenant_scale(struct store *st, const char *cluster,
    const char *name, int64_t limit, unsigned services, char *err,
    size_t errlen);
/*
 * The signature of what a tenant's services enforce: its limit and its
 * shard's service numbers, "6000@1,4,7".  The sweep stores it as
 * confirmed once every service of the shard that is up applied that
 * limit; a scale is done when confirmed equals the signature of the row.
 */
void store_tenant_sig(int64_t limit, const unsigned *shard, size_t n,
    char *buf, size_t len);
/* Why the shard cannot be grown to its target ("" clears).  0,
 * RM_ENOENT, RM_ERR. */
int store_tenant_set_scale_error(struct store *st, const char *cluster,
    const char *name, const char *why, char *err, size_t errlen);
/* 0, RM_ENOENT, RM_ERR. */
int store_tenant_set_confirmed(struct store *st, const char *cluster,
    const char *name, const char *sig, char *err, size_t errlen);
/*
 * An operator's change (PATCH): limit_default, limit_max, min_services,
 * max_services and autoscale from t; limit_current is clamped into the
 * new limits and services_target into the new bounds.  0, RM_ENOENT,
 * RM_EINVAL (1 <= limit_default <= limit_max, 1 <= min_services <=
 * max_services <= STORE_TENANT_SHARD_MAX), RM_ERR.
 */
int store_tenant_update(struct store *st, const struct store_tenant *t,
    char *err, size_t errlen);
/* Demand as reported (ops/s >= 0) at a time (ms).  0, RM_ENOENT, RM_ERR. */
int store_tenant_set_demand(struct store *st, const char *cluster,
    const char *name, int64_t ops, int64_t at, char *err, size_t errlen);

/* One service of a cluster's pool. */
struct store_tenant_svc {
	unsigned svc;
	char address[256];
};
/*
 * Give numbers to those of addrs[n] the cluster's pool does not hold yet,
 * in the order given, after the highest number ever given.  *added (may
 * be NULL) gets how many were new.  0, RM_ENOENT (no such cluster),
 * RM_ERR.
 */
int store_tenant_services_add(struct store *st, const char *cluster,
    const char *const *addrs, size_t n, size_t *added, char *err,
    size_t errlen);
/* The pool by service number: *out (free()) and *n.  0 or RM_ERR. */
int store_tenant_services(struct store *st, const char *cluster,
    struct store_tenant_svc **out, size_t *n);
/* Whether the cluster has a tenant (an error reads as yes: the caller
 * then reads the list and meets the error there). */
bool store_tenant_any(struct store *st, const char *cluster);
/* Whether any tenant of the cluster holds service svc. */
bool store_tenant_svc_held(struct store *st, const char *cluster,
    unsigned svc);

#endif
