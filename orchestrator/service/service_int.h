/*
 * service_int.h - what the service's files share: the service itself,
 * its error helpers and the cluster cache.  service.c (life cycle,
 * clusters, nodes), service_agents.c (check-ins, heartbeats),
 * service_lifecycle.c (roles, seeds, the bootstrap slot),
 * service_tasks.c (task types, tasks, schedules, events, backups),
 * service_tenants.c (tenants: placement, health, repair),
 * service_metrics.c (GET /metrics).  Nothing outside service/ includes it.
 */
#ifndef RM_SERVICE_INT_H
#define RM_SERVICE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../common/htab.h"
#include "service.h"

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
	struct mirror *mirror;		/* the state mirror, or NULL */
	bool sync_writes;		/* service_durable() waits (ha) */
	struct svc_lc *lc;		/* seeds and the bootstrap slot */
	struct svc_evict *evict;	/* the eviction sweep */
	struct svc_tn *tn;		/* tenants: their lock, repairs tried */
	struct svc_tl *tl;		/* tenants: what nodes report, and learn */
	struct svc_as *as;		/* tenants: the autoscaler's memory */
	struct svc_mc *mc;		/* metrics: finished repairs read */
	char *data_dir;
	int workers;
	_Atomic int64_t hb_interval_ms;
};

/* Set e's code and message. */
void svc_set(struct svc_err *e, enum rm_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int svc_fail(struct svc_err *e, int rc, const char *msg);
void svc_cc_forget(struct service *s, const char *name);

/* service_metrics.c: what a scrape keeps of finished repairs. */
struct svc_mc *svc_mc_new(void);
void svc_mc_free(struct svc_mc *mc);

/* service_lifecycle.c: roles, seeds, the bootstrap slot. */
struct cfg;
struct role_out;
struct svc_lc *svc_lc_new(const struct cfg *c);
void svc_lc_reload(struct svc_lc *lc, const struct cfg *c);
void svc_lc_free(struct svc_lc *lc);
void svc_lc_load(struct service *s);
/* The role for a check-in; takes the slot when the role needs it.  1
 * when the node is given up on (its Cassandra would not start): it is
 * told to wait, ro->why says why, and its state is to be "failed". */
int svc_lc_role(struct service *s, const struct svc_checkin *ci,
    bool known_host_id, struct role_out *ro);
int64_t svc_lc_seeds(struct service *s, const char *cluster, char ***out,
    size_t *n);
json_t *svc_lc_seeds_json(struct service *s, const char *cluster,
    const char *skip, int64_t *gen);
/* A heartbeat of the cluster's slot holder: free the slot if it joined. */
void svc_lc_beat(struct service *s, const char *cluster, const char *address);
/*
 * The heartbeat thread's periodic pass (arg: the service): nodes down for
 * their cluster's replace_after get a replace task; nodes whose row was
 * deleted leave the heartbeat tables.
 */
void svc_lc_sweep(void *arg);
/*
 * Before a replace task is submitted (API or sweep): the node must be down
 * in the heartbeats' verdict (a live peer sees it DN, none UN), and
 * params.timeout_s defaults to bootstrap_timeout.  0, or -1 with e.
 */
int svc_lc_replace_prepare(struct service *s, const char *cluster,
    json_t *params, struct svc_err *e);
/* The heartbeat answer when the agent's seeds are stale, else NULL. */
json_t *svc_lc_beat_answer(struct service *s, const char *cluster,
    int64_t agent_gen);

/* service_evict.c: nodes down longer than node_ttl leave the view. */
struct svc_evict;
/* Start the sweep thread (every interval_ms).  NULL with err. */
struct svc_evict *svc_evict_start(struct service *s, int64_t interval_ms,
    char *err, size_t errlen);
/* One pass, on the caller's thread (the sweep thread's work). */
void svc_evict_sweep(struct svc_evict *ev);
/* Stop and free; NULL is fine. */
void svc_evict_stop(struct svc_evict *ev);

/* service_tenants.c: tenants' shards, repaired when a node dies. */
struct svc_tn;
struct svc_tn *svc_tn_new(void);
void svc_tn_free(struct svc_tn *tn);
/* From svc_lc_sweep(): repair the shards of nodes down for their
 * cluster's tenant_repair_after, or gone; number new nodes. */
void svc_tenant_sweep(struct service *s);

/* service_tenant_link.c: tenants in heartbeats, both ways. */
struct svc_tl;
struct store_tenants;
struct store_tenant_svc;
struct svc_tl *svc_tl_new(void);
void svc_tl_free(struct svc_tl *tl);
/* The sweep's copy of a cluster's tenants (and their shards' addresses),
 * which heartbeat answers are made of. */
void svc_tl_refresh(struct svc_tl *tl, const char *cluster,
    const struct store_tenants *tv, const struct store_tenant_svc *svcs,
    size_t nsvc, int64_t demand_interval_ms);
/* Add the node's tenants to *answer (made when NULL) when they differ
 * from the generation agent_gen it holds (-1: it does not take them). */
void svc_tl_answer(struct svc_tl *tl, const char *cluster,
    const char *address, int64_t agent_gen, json_t **answer);
/* Keep what a heartbeat reported. */
void svc_tl_beat(struct svc_tl *tl, const char *cluster, const char *address,
    const struct svc_tenant_report *r, int64_t now_ms);
/* The limit the node applied for tenant (true), and its limits error
 * ("" none). */
bool svc_tl_applied(struct svc_tl *tl, const char *cluster,
    const char *address, const char *tenant, int64_t *limit, char *error,
    size_t errlen);
/* The tenant's demand: the sum of the nodes' samples younger than
 * max_age_ms; returns how many nodes reported it (0: unknown). */
int svc_tl_demand(struct svc_tl *tl, const char *cluster, const char *tenant,
    int64_t now_ms, int64_t max_age_ms, double *ops, int64_t *newest_ms);
/* service_autoscale.c: the autoscaler's controller, and confirmations. */
struct svc_as;
struct store_cluster_settings;
struct svc_as *svc_as_new(void);
void svc_as_free(struct svc_as *as);
/* Every autoscale_interval: a decision per tenant that scales, each one
 * a scale-tenant task; nup: the cluster's nodes that are up (no tenant is
 * scaled to more services); nmember: its nodes that have not left (demand
 * from fewer is partial: no decrease on it). */
void svc_as_tick(struct service *s, const char *cluster,
    const struct store_tenants *tv, const struct store_cluster_settings *set,
    size_t nup, size_t nmember, int64_t now);
/* Store as confirmed each tenant's (limit, shard) that every service of
 * its shard that is up reports applied. */
void svc_as_confirm(struct service *s, const char *cluster,
    const struct store_tenants *tv, const struct store_tenant_svc *svcs,
    size_t nsvc);
/* Forget a node's reports. */
void svc_tl_forget(struct svc_tl *tl, const char *cluster,
    const char *address);

#endif
