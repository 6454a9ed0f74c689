/*
 * metrics.h - counters kept in memory and rendered in the Prometheus text
 * exposition format (version 0.0.4) for GET /metrics.
 *
 * Hot-path counters (HTTP requests, heartbeats) are lock-free atomics so
 * counting costs nothing next to the request.  Gauges that live elsewhere
 * (queue depth, busy workers, tasks by state, nodes by state) are read at
 * scrape time through struct metrics_source, so there is one source of
 * truth for each number.
 */
#ifndef RM_METRICS_H
#define RM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The counters of one daemon: created in main(), passed to the service and
 * the API, freed last. */
struct metrics;
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
/* Route patterns counted by HTTP metrics; names are static strings. */
void metrics_set_routes(struct metrics *m, const char *const *routes,
    size_t nroutes);
/* route is an index into the table given to metrics_set_routes, or -1
 * (unmatched). */
void metrics_http(struct metrics *m, int route, int status);
void metrics_heartbeat(struct metrics *m);
/* A check-in answered with role ("bootstrap", "rejoin", "replace",
 * "wait"; another is not counted). */
void metrics_checkin(struct metrics *m, const char *role);
/* A node left the orchestrator's view: down longer than its cluster's
 * node_ttl (service_evict.c). */
void metrics_eviction(struct metrics *m);
/* A request with a wrong token; one answered 429 because its address
 * spent its budget of wrong tokens (http/authlimit.h). */
void metrics_auth_failure(struct metrics *m);
void metrics_auth_throttled(struct metrics *m);
/* A task finished (any final state) after running for secs. */
void metrics_task_finished(struct metrics *m, const char *type, double secs);
/* A task ended in state failed. */
void metrics_task_failed(struct metrics *m, const char *type);
/* A task ended in state partial. */
void metrics_task_partial(struct metrics *m, const char *type);
/*
 * The state mirror (orchestrator/mirror/): enabled makes its metrics
 * appear (the age is -1 until the first generation); a generation written
 * at gen_ms (wall clock) of bytes; a failed attempt.
 */
void metrics_state_mirror_enable(struct metrics *m);
void metrics_state_mirror_written(struct metrics *m, int64_t gen_ms,
    uint64_t bytes);
void metrics_state_mirror_failed(struct metrics *m);

/* Active/standby (orchestrator/ha/): the role makes the metrics appear;
 * a takeover and how long it took. */
void metrics_ha_role(struct metrics *m, bool active);
void metrics_ha_takeover(struct metrics *m, int64_t took_ms);

/*
 * Writers used by the scrape callbacks below: one sample each.  labels is
 * NULL or pairs of name, value ending in NULL.
 */
struct metrics_out;
void metrics_sample(struct metrics_out *o, const char *name,
    const char *const *labels, double value);

/* The per-tenant families, ringmaster_tenant_<what>{cluster,tenant}. */
enum metrics_tenant {
	METRICS_TENANT_SERVICES,	/* services in its shard */
	METRICS_TENANT_SERVICES_UP,	/* of those, up */
	METRICS_TENANT_LIMIT,		/* per-service limit now, ops/s */
	METRICS_TENANT_DEMAND,		/* ops/s; only tenants that have one */
	METRICS_TENANT_COUNT
};

struct metrics_source {
	void *arg;
	/* Each writes samples of ringmaster_<what> with metrics_sample(). */
	void (*tasks_by_state)(void *arg, struct metrics_out *o);	/* ringmaster_tasks{type,state} */
	void (*queue_depth)(void *arg, struct metrics_out *o);		/* ringmaster_queue_depth{cluster} */
	void (*nodes_by_state)(void *arg, struct metrics_out *o);	/* ringmaster_nodes{cluster,state} */
	/* ringmaster_last_success_timestamp_seconds{cluster,type} */
	void (*last_success)(void *arg, struct metrics_out *o);
	/* ringmaster_backup_bytes_uploaded{cluster}, ringmaster_backup_bytes{cluster} */
	void (*backup_bytes)(void *arg, struct metrics_out *o);
	/* ringmaster_repair_segments{cluster,keyspace,state} and
	 * ringmaster_repair_ranges_unrepaired{cluster,keyspace}: the latest
	 * finished scheduled repair of each keyspace */
	void (*repair_segments)(void *arg, struct metrics_out *o);
	void (*repair_unrepaired)(void *arg, struct metrics_out *o);
	/* ringmaster_tenant_*{cluster,tenant}, one family per call */
	void (*tenants)(void *arg, struct metrics_out *o,
	    enum metrics_tenant what);
	/* ringmaster_repair_last_success_timestamp_seconds{cluster,keyspace}:
	 * the end of the latest repair that repaired the keyspace completely */
	void (*repair_last_success)(void *arg, struct metrics_out *o);
	double (*busy_workers)(void *arg);
	double (*workers)(void *arg);
};

/* Render every metric; returns a malloc'd string and its length. */
char *metrics_render(struct metrics *m, const struct metrics_source *src,
    size_t *len);

#endif
