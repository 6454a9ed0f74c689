/*
 * metrics.c - see metrics.h.
 *
 * HTTP requests are counted in a fixed table [route][status class slot]
 * of atomics; the statuses the API can answer are few and known, and an
 * odd one falls in an "other" slot rendered with its class (e.g. "5xx").
 * The task duration histogram has fixed buckets and one slot per task type
 * name seen, under a mutex (tasks finish at most thousands a second);
 * the same slot counts the type's failures.
 *
 * Numbers that live in the store (last successful backup, repair and
 * verify per cluster, backup bytes) are read at scrape time through
 * struct metrics_source: the store is their one source of truth and a
 * restart loses nothing.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"

#define MAX_ROUTES 48
#define MAX_TYPES 32

static const int statuses[] = {
	200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 413, 500, 503,
};
#define NSTATUS (ARRAY_SIZE(statuses) + 1)	/* + other */

static const double buckets[] = {
	0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400, 86400,
};
#define NBUCKETS ARRAY_SIZE(buckets)

struct hist {
	char type[64];
	uint64_t counts[NBUCKETS];	/* non-cumulative */
	uint64_t count;
	double sum;
	uint64_t failures;
	uint64_t partials;
};

/* The check-in roles (lifecycle/role.h), as the answer names them. */
static const char *const checkin_roles[] = {
	"bootstrap", "rejoin", "replace", "wait",
};

struct metrics {
	const char *const *route_names;
	size_t nroute;
	_Atomic uint64_t http_counts[MAX_ROUTES + 1][NSTATUS];
	_Atomic int http_other_status[MAX_ROUTES + 1];
	_Atomic uint64_t heartbeats;
	_Atomic uint64_t checkins[4];	/* by checkin_roles[] */
	_Atomic uint64_t evictions;
	_Atomic uint64_t auth_failures, auth_throttled;
	_Atomic bool mirror_on;
	_Atomic int64_t mirror_gen_ms;		/* 0: none yet */
	_Atomic uint64_t mirror_bytes, mirror_failures;
	_Atomic bool ha_on, ha_active;
	_Atomic uint64_t ha_takeovers;
	_Atomic int64_t ha_last_takeover_ms;	/* how long it took */
	pthread_mutex_t hist_mtx;
	struct hist hists[MAX_TYPES];
	size_t nhist;
};

void metrics_state_mirror_enable(struct metrics *m)
{
	atomic_store(&m->mirror_on, true);
}

void metrics_state_mirror_written(struct metrics *m, int64_t gen_ms,
    uint64_t bytes)
{
	atomic_store(&m->mirror_gen_ms, gen_ms);
	atomic_store(&m->mirror_bytes, bytes);
}

void metrics_state_mirror_failed(struct metrics *m)
{
	atomic_fetch_add(&m->mirror_failures, 1);
}

void metrics_ha_role(struct metrics *m, bool active)
{
	atomic_store(&m->ha_on, true);
	atomic_store(&m->ha_active, active);
}

void metrics_ha_takeover(struct metrics *m, int64_t took_ms)
{
	atomic_fetch_add(&m->ha_takeovers, 1);
	atomic_store(&m->ha_last_takeover_ms, took_ms);
}

struct metrics_out {
	FILE *fp;
	struct metrics *m;
};

struct metrics *metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->hist_mtx, NULL);
	return m;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->hist_mtx);
	free(m);
}

void metrics_set_routes(struct metrics *m, const char *const *routes,
    size_t nroutes)
{
	m->route_names = routes;
	m->nroute = nroutes < MAX_ROUTES ? nroutes : MAX_ROUTES;
}

static size_t status_slot(int status)
{
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
		if (statuses[i] == status)
			return i;
	return NSTATUS - 1;
}

void metrics_http(struct metrics *m, int route, int status)
{
	size_t r = route >= 0 && (size_t)route < m->nroute ? (size_t)route : MAX_ROUTES;
	size_t s = status_slot(status);
	if (s == NSTATUS - 1)
		atomic_store_explicit(&m->http_other_status[r], status,
		    memory_order_relaxed);
	atomic_fetch_add_explicit(&m->http_counts[r][s], 1, memory_order_relaxed);
}

void metrics_auth_failure(struct metrics *m)
{
	atomic_fetch_add_explicit(&m->auth_failures, 1, memory_order_relaxed);
}

void metrics_auth_throttled(struct metrics *m)
{
	atomic_fetch_add_explicit(&m->auth_throttled, 1, memory_order_relaxed);
}

void metrics_heartbeat(struct metrics *m)
{
	atomic_fetch_add_explicit(&m->heartbeats, 1, memory_order_relaxed);
}

void metrics_checkin(struct metrics *m, const char *role)
{
	for (size_t i = 0; role != NULL && i < ARRAY_SIZE(checkin_roles); i++)
		if (strcmp(checkin_roles[i], role) == 0)
			atomic_fetch_add_explicit(&m->checkins[i], 1,
			    memory_order_relaxed);
}

void metrics_eviction(struct metrics *m)
{
	if (m != NULL)
		atomic_fetch_add_explicit(&m->evictions, 1, memory_order_relaxed);
}

/* The slot of a task type, made on first use; NULL when the table is full.
 * Called with m->hist_mtx held. */
static struct hist *hist_slot(struct metrics *m, const char *type)
{
	for (size_t i = 0; i < m->nhist; i++)
		if (strcmp(m->hists[i].type, type) == 0)
			return &m->hists[i];
	if (m->nhist == MAX_TYPES)
		return NULL;
	str_copy(m->hists[m->nhist].type, type, sizeof(m->hists[m->nhist].type));
	return &m->hists[m->nhist++];
}

void metrics_task_failed(struct metrics *m, const char *type)
{
	pthread_mutex_lock(&m->hist_mtx);
	struct hist *h = hist_slot(m, type);
	if (h != NULL)
		h->failures++;
	pthread_mutex_unlock(&m->hist_mtx);
}

void metrics_task_partial(struct metrics *m, const char *type)
{
	pthread_mutex_lock(&m->hist_mtx);
	struct hist *h = hist_slot(m, type);
	if (h != NULL)
		h->partials++;
	pthread_mutex_unlock(&m->hist_mtx);
}

void metrics_task_finished(struct metrics *m, const char *type, double secs)
{
	pthread_mutex_lock(&m->hist_mtx);
	struct hist *h = hist_slot(m, type);
	if (h != NULL) {
		size_t b = 0;
		while (b < NBUCKETS && secs > buckets[b])
			b++;
		if (b < NBUCKETS)
			h->counts[b]++;
		h->count++;
		h->sum += secs;
	}
	pthread_mutex_unlock(&m->hist_mtx);
}

/* Label values are ours (route patterns, names matching name_valid) but
 * escape anyway: a bad exposition fails the whole scrape. */
static void put_label_value(FILE *fp, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(fp, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", fp);
		else
			fputc(*v, fp);
	}
}

static void put_value(FILE *fp, double v)
{
	if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
		fprintf(fp, "%lld\n", (long long)v);
	else
		fprintf(fp, "%.17g\n", v);
}

void metrics_sample(struct metrics_out *o, const char *name,
    const char *const *labels, double value)
{
	fputs(name, o->fp);
	if (labels && labels[0]) {
		fputc('{', o->fp);
		for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
			fprintf(o->fp, "%s%s=\"", i ? "," : "", labels[i]);
			put_label_value(o->fp, labels[i + 1]);
			fputc('"', o->fp);
		}
		fputc('}', o->fp);
	}
	fputc(' ', o->fp);
	put_value(o->fp, value);
}

static void head(FILE *fp, const char *name, const char *type,
    const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_http(struct metrics_out *o)
{
	struct metrics *m = o->m;
	head(o->fp, "ringmaster_http_requests_total", "counter",
	    "HTTP requests answered, by route pattern and status.");
	for (size_t r = 0; r <= MAX_ROUTES; r++) {
		const char *route;
		if (r < m->nroute)
			route = m->route_names[r];
		else if (r == MAX_ROUTES)
			route = "unmatched";
		else
			continue;
		for (size_t s = 0; s < NSTATUS; s++) {
			uint64_t n = atomic_load_explicit(&m->http_counts[r][s],
			    memory_order_relaxed);
			char code[16];
			if (n == 0)
				continue;
			if (s < NSTATUS - 1)
				snprintf(code, sizeof(code), "%d", statuses[s]);
			else
				snprintf(code, sizeof(code), "%dxx",
				    atomic_load(&m->http_other_status[r]) / 100);
			const char *labels[] = { "route", route, "status", code,
				NULL };
			metrics_sample(o, "ringmaster_http_requests_total",
			    labels, (double)n);
		}
	}
}

static void render_hist(struct metrics_out *o)
{
	struct metrics *m = o->m;
	head(o->fp, "ringmaster_task_duration_seconds", "histogram",
	    "Time from a task's start to its end, by type.");
	pthread_mutex_lock(&m->hist_mtx);
	for (size_t i = 0; i < m->nhist; i++) {
		uint64_t cum = 0;
		char le[32];
		for (size_t b = 0; b < NBUCKETS; b++) {
			cum += m->hists[i].counts[b];
			snprintf(le, sizeof(le), "%g", buckets[b]);
			const char *l[] = { "type", m->hists[i].type, "le", le, NULL };
			metrics_sample(o, "ringmaster_task_duration_seconds_bucket",
			    l, (double)cum);
		}
		const char *inf[] = { "type", m->hists[i].type, "le", "+Inf", NULL };
		metrics_sample(o, "ringmaster_task_duration_seconds_bucket", inf,
		    (double)m->hists[i].count);
		const char *t[] = { "type", m->hists[i].type, NULL };
		metrics_sample(o, "ringmaster_task_duration_seconds_sum", t,
		    m->hists[i].sum);
		metrics_sample(o, "ringmaster_task_duration_seconds_count", t,
		    (double)m->hists[i].count);
	}
	head(o->fp, "ringmaster_task_failures_total", "counter",
	    "Tasks that ended in state failed since ringmaster started, by type.");
	for (size_t i = 0; i < m->nhist; i++) {
		const char *t[] = { "type", m->hists[i].type, NULL };
		metrics_sample(o, "ringmaster_task_failures_total", t,
		    (double)m->hists[i].failures);
	}
	head(o->fp, "ringmaster_task_partial_total", "counter",
	    "Tasks that ended in state partial (every step done, part of the "
	    "work not: a repair with ranges left unrepaired) since ringmaster "
	    "started, by type.");
	for (size_t i = 0; i < m->nhist; i++) {
		const char *t[] = { "type", m->hists[i].type, NULL };
		metrics_sample(o, "ringmaster_task_partial_total", t,
		    (double)m->hists[i].partials);
	}
	pthread_mutex_unlock(&m->hist_mtx);
}

char *metrics_render(struct metrics *m, const struct metrics_source *src,
    size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	struct metrics_out o;

	o.m = m;
	o.fp = open_memstream(&buf, &n);
	if (o.fp == NULL)
		abort();

	head(o.fp, "ringmaster_build_info", "gauge",
	    "Always 1; the version is a label.");
	const char *bl[] = { "version", RM_VERSION, NULL };
	metrics_sample(&o, "ringmaster_build_info", bl, 1);

	render_http(&o);

	head(o.fp, "ringmaster_heartbeats_received_total", "counter",
	    "Agent heartbeats accepted.");
	head(o.fp, "ringmaster_checkins_total", "counter",
	    "Agent check-ins answered, by the role given; role wait counts "
	    "nodes kept waiting for the bootstrap slot or a live node.");
	for (size_t i = 0; i < ARRAY_SIZE(checkin_roles); i++) {
		const char *cl[] = { "role", checkin_roles[i], NULL };
		metrics_sample(&o, "ringmaster_checkins_total", cl,
		    (double)atomic_load(&m->checkins[i]));
	}
	metrics_sample(&o, "ringmaster_heartbeats_received_total", NULL,
	    (double)atomic_load(&m->heartbeats));
	head(o.fp, "ringmaster_evictions_total", "counter",
	    "Nodes that left the orchestrator's view, down longer than their "
	    "cluster's node_ttl.");
	metrics_sample(&o, "ringmaster_evictions_total", NULL,
	    (double)atomic_load(&m->evictions));
	head(o.fp, "ringmaster_auth_failures_total", "counter",
	    "Requests with an unknown or revoked token.");
	metrics_sample(&o, "ringmaster_auth_failures_total", NULL,
	    (double)atomic_load(&m->auth_failures));
	head(o.fp, "ringmaster_auth_throttled_total", "counter",
	    "Requests answered 429: their address sent too many wrong tokens "
	    "(auth_fail_max).");
	metrics_sample(&o, "ringmaster_auth_throttled_total", NULL,
	    (double)atomic_load(&m->auth_throttled));

	if (atomic_load(&m->mirror_on)) {
		int64_t g = atomic_load(&m->mirror_gen_ms);
		head(o.fp, "ringmaster_state_mirror_age_seconds", "gauge",
		    "Age of the newest complete generation of the state mirror; "
		    "-1 before the first.");
		metrics_sample(&o, "ringmaster_state_mirror_age_seconds", NULL,
		    g > 0 ? (double)(time_wall_ms() - g) / 1000.0 : -1.0);
		head(o.fp, "ringmaster_state_mirror_failures_total", "counter",
		    "Attempts to write a generation of the state mirror that failed.");
		metrics_sample(&o, "ringmaster_state_mirror_failures_total",
		    NULL, (double)atomic_load(&m->mirror_failures));
		head(o.fp, "ringmaster_state_mirror_last_bytes", "gauge",
		    "Size of the newest generation of the state mirror as uploaded.");
		metrics_sample(&o, "ringmaster_state_mirror_last_bytes", NULL,
		    (double)atomic_load(&m->mirror_bytes));
	}
	if (atomic_load(&m->ha_on)) {
		head(o.fp, "ringmaster_ha_active", "gauge",
		    "1 while this orchestrator holds the lease and serves; 0 "
		    "while it is a standby.");
		metrics_sample(&o, "ringmaster_ha_active", NULL,
		    atomic_load(&m->ha_active) ? 1 : 0);
		head(o.fp, "ringmaster_ha_takeovers_total", "counter",
		    "Times this orchestrator won the lease and took over.");
		metrics_sample(&o, "ringmaster_ha_takeovers_total", NULL,
		    (double)atomic_load(&m->ha_takeovers));
		head(o.fp, "ringmaster_ha_last_takeover_seconds", "gauge",
		    "How long the last takeover took, from the won lease to "
		    "serving (the state restored, tasks resumed).");
		metrics_sample(&o, "ringmaster_ha_last_takeover_seconds", NULL,
		    (double)atomic_load(&m->ha_last_takeover_ms) / 1000.0);
	}
	if (src && src->tasks_by_state) {
		head(o.fp, "ringmaster_tasks", "gauge",
		    "Tasks in the store, by type and state.");
		src->tasks_by_state(src->arg, &o);
	}
	render_hist(&o);
	if (src && src->queue_depth) {
		head(o.fp, "ringmaster_queue_depth", "gauge",
		    "Tasks waiting in each cluster's queue (not counting the running one).");
		src->queue_depth(src->arg, &o);
	}
	if (src && src->workers) {
		head(o.fp, "ringmaster_workers", "gauge",
		    "Threads in the task worker pool.");
		metrics_sample(&o, "ringmaster_workers", NULL,
		    src->workers(src->arg));
	}
	if (src && src->busy_workers) {
		head(o.fp, "ringmaster_workers_busy", "gauge",
		    "Worker threads running a task now.");
		metrics_sample(&o, "ringmaster_workers_busy", NULL,
		    src->busy_workers(src->arg));
	}
	if (src && src->nodes_by_state) {
		head(o.fp, "ringmaster_nodes", "gauge",
		    "Known nodes, by cluster and state (up, down, joining, leaving, moving, unknown).");
		src->nodes_by_state(src->arg, &o);
	}
	if (src && src->last_success) {
		head(o.fp, "ringmaster_last_success_timestamp_seconds", "gauge",
		    "End time (Unix seconds) of the latest succeeded task of each type, by cluster; "
		    "time() minus this is the age of the last good backup, repair or verify.");
		src->last_success(src->arg, &o);
	}
	if (src && src->backup_bytes) {
		head(o.fp, "ringmaster_backup_bytes_uploaded", "gauge",
		    "Bytes uploaded to the object store by the backups still listed, by cluster.");
		head(o.fp, "ringmaster_backup_bytes", "gauge",
		    "Bytes of SSTables referenced by the backups still listed, by cluster (deduplicated files count once per backup).");
		src->backup_bytes(src->arg, &o);
	}
	if (src && src->repair_segments) {
		head(o.fp, "ringmaster_repair_segments", "gauge",
		    "Segments of the latest finished parallel repair of each keyspace, by cluster, keyspace and state (done, failed, postponed, pending, split).");
		src->repair_segments(src->arg, &o);
	}
	if (src && src->repair_unrepaired) {
		head(o.fp, "ringmaster_repair_ranges_unrepaired", "gauge",
		    "Token ranges (merged) the latest finished parallel repair of each keyspace left unrepaired, by cluster and keyspace.");
		src->repair_unrepaired(src->arg, &o);
	}
	if (src && src->tenants) {
		static const char *const tn[METRICS_TENANT_COUNT][3] = {
			{ "ringmaster_tenant_services", "gauge",
			  "Services (nodes) in each tenant's shard." },
			{ "ringmaster_tenant_services_up", "gauge",
			  "Services of each tenant's shard that are up." },
			{ "ringmaster_tenant_limit_ops", "gauge",
			  "Each tenant's per-service rate limit now, ops/s." },
			{ "ringmaster_tenant_demand_ops", "gauge",
			  "Each tenant's demand as last reported, ops/s (only "
			  "tenants whose demand is known)." },
		};
		for (int i = 0; i < METRICS_TENANT_COUNT; i++) {
			head(o.fp, tn[i][0], tn[i][1], tn[i][2]);
			src->tenants(src->arg, &o, (enum metrics_tenant)i);
		}
	}
	if (src && src->repair_last_success) {
		head(o.fp, "ringmaster_repair_last_success_timestamp_seconds",
		    "gauge", "End (Unix seconds) of the latest repair task that repaired the keyspace completely, by cluster and keyspace.");
		src->repair_last_success(src->arg, &o);
	}
	fclose(o.fp);
	*len = n;
	return buf;
}
