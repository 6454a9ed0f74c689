/*
 * service.h - what the API may ask of the orchestrator: clusters, nodes,
 * agent check-ins and heartbeats, tasks, schedules, events.
 *
 * The API validates bodies and authorises callers, then calls one of these.
 * A service call records intent (store, queue) and reads state; it never
 * runs work itself.  Answers are jansson objects in the shapes of
 * docs/api.md, returned as new references through *out.  On failure a call
 * returns -1 and fills struct svc_err with a code the API maps to a status.
 */
#ifndef RM_SERVICE_H
#define RM_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "../err.h"

struct cfg;
struct store;
struct auth;


struct svc_err {
	enum rm_err code;	/* err.h: the one vocabulary */
	char msg[1024];		/* room to name a damaged backup's files */
};

struct service;

/* A lifecycle setting as given (store_settings.h has the registry):
 * value is its text ("30m", "skip_down", "true"); NULL resets it. */
struct svc_setting {
	const char *key;
	const char *value;
};

/* A cluster as POSTed (validated by the API). */
struct svc_cluster {
	const char *name;
	const char *storage_url;
	const char *storage_endpoint;	/* NULL: none */
	const char *storage_region;
	const char *ssh_user;
	int ssh_port;
	const char *ssh_key_file;
	const struct svc_setting *settings;	/* checked by the service */
	size_t nsettings;
};

/* A change of a cluster's settings (validated by the API): NULL keeps. */
struct svc_cluster_patch {
	const char *storage_url;
	const char *storage_endpoint;
	bool clear_storage_endpoint;	/* null in the body: remove it */
	const char *storage_region;
	bool clear_storage_region;
	const char *ssh_user;
	int ssh_port;			/* 0: keep */
	const char *ssh_key_file;
	const struct svc_setting *settings;	/* only these keys change */
	size_t nsettings;
};

/*
 * Who sends a check-in or heartbeat (http/auth.h's roles; the trust model
 * is docs/security.md): an admin may act for any node; the join token
 * registers a node that holds no credential; a node credential acts for
 * its own node (cluster, address) only.
 */
enum svc_caller { SVC_BY_ADMIN, SVC_BY_JOIN, SVC_BY_NODE };

struct svc_agent_id {
	enum svc_caller by;
	const char *cluster, *address;	/* SVC_BY_NODE: the credential's node */
	const char *cred_hash;		/* SVC_BY_NODE: its hash (hex) */
};

struct svc_checkin {
	struct svc_agent_id who;
	bool wants_credential;	/* the agent keeps a node credential */
	const char *cluster;
	const char *host_id;	/* NULL: a node that has not joined yet */
	const char *address;
	const char *dc, *rack;
	const char *cassandra_version;
	const char *ssh_host_key;	/* NULL: none */
	int cassandra_running;		/* 1, 0, or -1: not said (older agents) */
	int has_data;			/* SSTables in the data dirs: 1, 0, -1 */
	int system_keyspace;		/* a system keyspace on disk: 1, 0, -1 */
	int start_failures;		/* its Cassandra's failed starts in a
					   row (0: none said) */
	const char *start_error;	/* the last one's error, or NULL */
};

/*
 * The role a check-in gets, from what the store knows of the node (known:
 * found by host id or address; known_host_id: that row has a host id) and
 * what the node says.  Pure, for the unit tests.  A node that has run -
 * a host id, data, a system keyspace, Cassandra running - is never told to
 * bootstrap: it gets "rejoin", so its agent never rewrites its seeds.
 * Returns "bootstrap" or "rejoin"; *why (may be NULL) says which fact
 * decided.
 */
const char *service_checkin_role(bool known, bool known_host_id,
    const struct svc_checkin *ci, const char **why);

/* A known node's identity as the store has it (NULL: not known). */
struct svc_identity {
	const char *host_id, *ssh_host_key, *dc, *rack;
};

/*
 * Which part of a known node's identity a check-in would change: NULL
 * when none, else "host_id", "ssh_host_key", "dc" or "rack", with a
 * sentence in why.  A value the node does not send changes nothing; host
 * keys compare by type and key, not by their comment.  Pure, for the
 * unit tests.
 */
const char *service_identity_change(const struct svc_identity *known,
    const struct svc_checkin *ci, char *why, size_t whylen);

struct hb_view;

/* One tenant's number in a heartbeat: a limit applied, or ops/s. */
struct svc_tenant_use {
	const char *tenant;
	double value;
};

/* What a heartbeat says of tenants (docs/tenants.md). */
struct svc_tenant_report {
	int64_t gen;			/* the list the agent holds; -1 not sent */
	bool applied_sent;
	const struct svc_tenant_use *applied;	/* limits it enforces */
	size_t napplied;
	const char *error;		/* its limits file or hook failed */
	bool demand_sent;
	double window_s;		/* the demand's sampling window */
	const struct svc_tenant_use *demand;	/* ops/s per tenant */
	size_t ndemand;
};

struct svc_heartbeat {
	struct svc_agent_id who;
	const char *cluster;
	const char *address;
	const char *host_id;	/* NULL: keep */
	const char *status;	/* up, joining, leaving, moving, down */
	int64_t load_bytes;	/* -1: not sent */
	const char *cassandra_version;	/* NULL: keep */
	/* The node's own nodetool status (hb.h), when it sent "peers". */
	const struct hb_view *views;
	size_t nviews;
	bool views_sent;
	const char *report_json;	/* its extras (gossip, disks ...), NULL */
	int64_t seeds_gen;		/* the seeds it has, -1: not sent */
	const struct svc_tenant_report *tenants;	/* or NULL */
};

struct svc_list {
	const char *cursor;	/* NULL: from the start */
	int limit;
};

/*
 * Start the service: open the engine (queues, workers, scheduler) on st,
 * resume interrupted tasks, start heartbeat batching and failure detection.
 * st and c are borrowed and must outlive the service.  mirror (may be
 * NULL) is the state mirror, told at once of every task state change (a
 * schedule fired, a task started or ended) so it writes a generation
 * without waiting for its delay.  fence (may be NULL) is asked before
 * every step starts (task_engine_set_fence()): with active/standby, the
 * lease's check.
 */
struct metrics;
struct mirror;
struct service *service_start(const struct cfg *c, struct store *st,
    struct metrics *m, struct mirror *mirror,
    int (*fence)(void *arg, char *err, size_t errlen), void *fence_arg,
    char *err, size_t errlen);
/* Stop taking work, let running steps reach a checkpoint, stop threads. */
void service_stop(struct service *s);
/* SIGHUP: reload what can be reloaded from a new config. */
void service_reload(struct service *s, const struct cfg *c);

int service_cluster_create(struct service *s, const struct svc_cluster *cl,
    json_t **out, struct svc_err *e);
int service_cluster_list(struct service *s, const struct svc_list *l,
    json_t **out, struct svc_err *e);
int service_cluster_get(struct service *s, const char *name, json_t **out,
    struct svc_err *e);
/* The same as service_cluster_get() as JSON text (malloc'd), from a cache
 * of the cluster's settings: the hot path of GET /clusters/{name}. */
int service_cluster_get_text(struct service *s, const char *name,
    char **text, size_t *len, struct svc_err *e);
/*
 * Change a cluster's storage, SSH and lifecycle settings.  A change of
 * storage or SSH is refused (RM_ECONFLICT, naming the task) while one of
 * its tasks runs: a task reads them as it goes.  Lifecycle settings alone
 * may change at any time (they are read when a decision is taken); a bad
 * one (RM_EINVAL) changes nothing.  Records a "cluster"/"updated" event by who with what changed;
 * *out is the cluster as GET shows it.
 */
int service_cluster_update(struct service *s, const char *name,
    const struct svc_cluster_patch *p, const char *who, json_t **out,
    struct svc_err *e);
int service_cluster_delete(struct service *s, const char *name,
    struct svc_err *e);
int service_nodes_list(struct service *s, const char *cluster, json_t **out,
    struct svc_err *e);
int service_seeds(struct service *s, const char *cluster, json_t **out,
    struct svc_err *e);
/*
 * Pin addrs[n] as the cluster's seeds (n == 0: unpin, the orchestrator
 * chooses again).  Every address must be a node of the cluster; one that
 * is not refuses the whole change (RM_EINVAL).  Records a "seeds" event by
 * who; *out is as service_seeds() answers.  Agents get the new list in
 * their next heartbeat answer.
 */
int service_seeds_pin(struct service *s, const char *cluster,
    const char *const *addrs, size_t n, const char *who, json_t **out,
    struct svc_err *e);

int service_checkin(struct service *s, const struct svc_checkin *ci,
    json_t **out, struct svc_err *e);
/*
 * Absorb a heartbeat.  *answer (when answer is not NULL) is NULL for the
 * constant {"status":"ok"}, or a new object carrying the cluster's seeds
 * and seeds_gen when the agent's seeds_gen is older.
 */
int service_heartbeat(struct service *s, const struct svc_heartbeat *hb,
    json_t **answer, struct svc_err *e);

/*
 * An admin revokes a node's credential: its requests are refused from
 * then on.  With readmit, the next check-in by join token from its
 * address is given a new credential (once); without, the node stays
 * locked out until readmitted.  *out {"cluster","address","credential"}.
 */
int service_node_credential(struct service *s, const char *cluster,
    const char *address, bool readmit, const char *who, json_t **out,
    struct svc_err *e);

/* True when type names a registered task type. */
/*
 * The registered task types, each {"name","description","steps",
 * "params":[{"name","type","default","min","max","description"}],
 * "max_attempts"}: all as {"items":[...],"next":null} (name NULL), or
 * one (RM_ENOENT when there is no such type).
 */
int service_task_types(struct service *s, const char *name, json_t **out,
    struct svc_err *e);
bool service_task_type_known(struct service *s, const char *type);
/* Validate params for type; 0 or -1 with a message. */
int service_task_params_check(struct service *s, const char *type,
    json_t *params, struct svc_err *e);
/*
 * What only the store can tell of a task's params, before they are checked
 * against its type (which fills in the defaults): a repair's resume names
 * an earlier repair of the cluster, which must have ended partial, failed
 * or cancelled in the segment scheduler; its keyspace, table, full and
 * parallelism are copied into params (tasks/repair_resume.h).  An unknown
 * cluster is left to the submit.  0, or -1 with e (RM_EINVAL,
 * RM_ECONFLICT) and params unchanged.
 */
int service_task_prepare(struct service *s, const char *cluster,
    const char *type, json_t *params, struct svc_err *e);
/* The same for a schedule's params: a repair's resume is refused.  0, or
 * -1 with e (RM_EINVAL). */
int service_schedule_prepare(struct service *s, const char *type,
    const json_t *params, struct svc_err *e);
int service_task_submit(struct service *s, const char *cluster,
    const char *type, json_t *params, json_t **out, struct svc_err *e);
int service_task_list(struct service *s, const char *cluster,
    const char *state, const struct svc_list *l, json_t **out,
    struct svc_err *e);
int service_task_get(struct service *s, const char *id, json_t **out,
    struct svc_err *e);
/*
 * The cluster's repair history, newest first: its repair tasks with their
 * outcome (repair_hist.h), up to l->limit of them from l->cursor (a task's
 * seq); {"items": [...], "next": cursor|null}.
 */
int service_repair_list(struct service *s, const char *cluster,
    const struct svc_list *l, json_t **out, struct svc_err *e);
/* action: "cancel", "pause" or "resume". */
int service_task_action(struct service *s, const char *id, const char *action,
    json_t **out, struct svc_err *e);

/* every_ms > 0 or cron != NULL; start_s 0: now. */
int service_schedule_create(struct service *s, const char *cluster,
    const char *type, json_t *params, int64_t every_ms, const char *cron,
    int64_t start_s, json_t **out, struct svc_err *e);
int service_schedule_list(struct service *s, const char *cluster,
    json_t **out, struct svc_err *e);
int service_schedule_delete(struct service *s, const char *id,
    struct svc_err *e);
/* Validate a cron expression without creating anything. */
int service_cron_check(struct service *s, const char *cron, struct svc_err *e);

int service_events_list(struct service *s, int64_t since_s,
    const char *cluster, const struct svc_list *l, json_t **out,
    struct svc_err *e);

/* Record an audit event for a mutating request. */
void service_audit(struct service *s, const char *who, const char *method,
    const char *route, const char *cluster, const char *target, int status);
/*
 * A mutating request succeeded: with active/standby, wait (up to
 * SERVICE_SYNC_MS) until the state mirror holds it, so what a client was told
 * is done survives a failover.  Without it, nothing.  Logged when it
 * cannot: the answer still goes out (the change is here, only not yet
 * safe from the loss of this host).
 */
#define SERVICE_SYNC_MS 5000
void service_durable(struct service *s);

/*
 * Tenants (docs/tenants.md): a tenant as POSTed (types checked by the
 * API; the service checks the rest and applies defaults): 0 (or -1 for
 * overlap) means the default.
 */
struct svc_tenant {
	const char *name;
	const char *const *keyspaces;	/* names, or NULL with prefix */
	size_t nkeyspaces;
	const char *prefix;		/* NULL with keyspaces */
	int k, overlap;			/* 3, 1 */
	int min_services, max_services;	/* k, 16 */
	int64_t limit_default, limit_max;	/* 4000, 100000 ops/s */
	int autoscale;			/* -1: not given (on), 0, 1 */
};
/*
 * Place a new tenant on the cluster's nodes that are up (a shard of k
 * sharing at most overlap with every other tenant's) and record it.
 * RM_EINVAL (bad values: nothing created), RM_ENOENT (no cluster),
 * RM_EEXIST (the name is taken), RM_ECONFLICT (no shard fits: the
 * message has the pool's bound; or k/overlap differ from the cluster's
 * other tenants').  *out is the tenant as GET shows it.
 */
int service_tenant_create(struct service *s, const char *cluster,
    const struct svc_tenant *t, json_t **out, struct svc_err *e);
/* One tenant with its shard, health, limits and demand; RM_ENOENT. */
int service_tenant_get(struct service *s, const char *cluster,
    const char *name, json_t **out, struct svc_err *e);
/* {"items": [...], "next": null}, in placement order; RM_ENOENT. */
int service_tenant_list(struct service *s, const char *cluster,
    json_t **out, struct svc_err *e);
/*
 * An operator's change of a tenant (PATCH): the fields given (> 0, or
 * autoscale >= 0) replace the tenant's; name, keyspaces, prefix, k and
 * overlap cannot change.  The current limit and the services target
 * follow the new bounds.  RM_EINVAL (a rule broken: nothing changes),
 * RM_ENOENT; *out is the tenant as GET shows it.
 */
int service_tenant_update(struct service *s, const char *cluster,
    const char *name, const struct svc_tenant *t, json_t **out,
    struct svc_err *e);
/* Forget the tenant: its shard's services are free for others. */
int service_tenant_delete(struct service *s, const char *cluster,
    const char *name, struct svc_err *e);
/* A tenant's numbers for /metrics. */
struct svc_tenant_stat {
	size_t services, services_up;
	int64_t limit_ops;		/* per service, now */
	int64_t demand_ops;		/* -1: not reported */
};
void service_tenant_metrics(struct service *s, void (*fn)(const char *cluster,
    const char *tenant, const struct svc_tenant_stat *st, void *arg),
    void *arg);

/* /metrics body (malloc'd) and its length. */
char *service_metrics(struct service *s, size_t *len);

/*
 * Backups of a cluster from the backup index (orchestrator/tasks/backup.c; never
 * the object store): the list as {"items": [...]}, one backup with its
 * damaged files, and, for delete, the purge task queued.
 */
int service_backup_list(struct service *s, const char *cluster, json_t **out,
    struct svc_err *e);
int service_backup_get(struct service *s, const char *cluster,
    const char *id, json_t **out, struct svc_err *e);
int service_backup_delete(struct service *s, const char *cluster,
    const char *id, json_t **task_out, struct svc_err *e);

#endif
