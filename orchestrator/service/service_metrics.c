/*
 * service_metrics.c - GET /metrics: the gauges read at scrape time from
 * the store, the engine and the heartbeat tables (metrics.h renders).
 */
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
#include "../nodes/nodeops.h"
#include "../nodes/ssh.h"
#include "../store/store.h"
#include "../tasks/backup.h"
#include "../tasks/repair.h"
#include "../tasks/repair_hist.h"
#include "hb.h"
#include "service.h"
#include "service_int.h"

/* ---------- metrics ---------- */

static void m_tasks(void *arg, struct metrics_out *o)
{
	struct service *s = arg;
	struct store_task_count *v = NULL;
	size_t n = 0;

	if (store_task_counts(s->st, &v, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *l[] = {
			"type", v[i].type,
			"state", store_task_state_str(v[i].state),
			NULL,
		};
		metrics_sample(o, "ringmaster_tasks", l, (double)v[i].count);
	}
	free(v);
}

struct qd {
	char **names;
	size_t *depth;
	size_t n, cap;
};

static void qd_collect(const char *cluster, size_t depth, const char *running,
    void *arg)
{
	struct qd *q = arg;
	(void)running;
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 64;
		q->names = xrealloc(q->names, q->cap * sizeof(*q->names));
		q->depth = xrealloc(q->depth, q->cap * sizeof(*q->depth));
	}
	q->names[q->n] = xstrdup(cluster);
	q->depth[q->n++] = depth;
}

static void m_queues(void *arg, struct metrics_out *o)
{
	struct service *s = arg;
	struct qd q = { NULL, NULL, 0, 0 };
	/* Collect under the queue lock, write after it. */
	task_queue_foreach(s->eng, qd_collect, &q);
	for (size_t i = 0; i < q.n; i++) {
		const char *l[] = { "cluster", q.names[i], NULL };
		metrics_sample(o, "ringmaster_queue_depth", l, (double)q.depth[i]);
		free(q.names[i]);
	}
	free(q.names);
	free(q.depth);
}

static void node_state(const char *cluster, const char *state, int n,
    void *arg)
{
	const char *l[] = { "cluster", cluster, "state", state, NULL };
	metrics_sample(arg, "ringmaster_nodes", l, n);
}

static void m_last_success(void *arg, struct metrics_out *o)
{
	struct service *s = arg;
	struct store_task_success *v = NULL;
	size_t n = 0;

	if (store_task_last_success(s->st, &v, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *l[] = {
			"cluster", v[i].cluster, "type", v[i].type, NULL,
		};
		metrics_sample(o, "ringmaster_last_success_timestamp_seconds",
		    l, (double)v[i].finished_at / 1000.0);
	}
	free(v);
}

static void m_backup_bytes(void *arg, struct metrics_out *o)
{
	struct service *s = arg;
	struct store_backup_bytes *v = NULL;
	size_t n = 0;

	if (store_backup_bytes(s->st, &v, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *l[] = { "cluster", v[i].cluster, NULL };
		metrics_sample(o, "ringmaster_backup_bytes_uploaded", l,
		    (double)v[i].uploaded);
		metrics_sample(o, "ringmaster_backup_bytes", l,
		    (double)v[i].bytes);
	}
	free(v);
}

/* Tasks of a cluster read, at most, to find its latest repairs. */
#define REPAIR_METRICS_SCAN 1000

/* Keyspaces a cluster's scan has sampled already: the newest task wins. */
struct seen {
	char **v;
	size_t n;
};

static bool seen_has(const struct seen *sn, const char *ks)
{
	for (size_t i = 0; i < sn->n; i++)
		if (strcmp(sn->v[i], ks) == 0)
			return true;
	return false;
}

static void seen_put(struct seen *sn, const char *ks)
{
	sn->v = xrealloc(sn->v, (sn->n + 1) * sizeof(*sn->v));
	sn->v[sn->n++] = xstrdup(ks);
}

typedef void (*repair_visit_fn)(struct service *s, const char *cluster,
    const struct store_task_row *r, struct seen *sn, void *arg);

/*
 * visit(cluster, row, seen, arg) for every finished repair task of each
 * cluster, newest first, within REPAIR_METRICS_SCAN tasks of the cluster;
 * seen starts empty for each cluster.
 */
static void repair_tasks_scan(struct service *s, repair_visit_fn visit,
    void *arg)
{
	char **names = NULL;
	size_t nn = 0;

	if (store_cluster_names(s->st, &names, &nn) != 0)
		return;
	for (size_t c = 0; c < nn; c++) {
		char cursor[STORE_CURSOR_MAX] = "";
		struct seen sn = { NULL, 0 };
		size_t scanned = 0;
		bool more = true;

		while (more && scanned < REPAIR_METRICS_SCAN) {
			struct store_task_page pg;

			if (store_task_list(s->st, names[c], NULL, cursor[0] ? cursor :
			    NULL, 200, &pg) != 0) {
				store_task_page_release(&pg);
				break;
			}
			more = pg.next[0] != '\0';
			str_copy(cursor, pg.next, sizeof(cursor));
			for (size_t i = 0; i < pg.n; i++) {
				scanned++;
				if (strcmp(pg.items[i].type, "repair") == 0 &&
				    pg.items[i].finished_at != 0)
					visit(s, names[c], &pg.items[i], &sn, arg);
			}
			store_task_page_release(&pg);
		}
		for (size_t k = 0; k < sn.n; k++)
			free(sn.v[k]);
		free(sn.v);
	}
	for (size_t c = 0; c < nn; c++)
		free(names[c]);
	free(names);
}

typedef void (*repair_hist_fn)(const char *cluster, const char *ks,
    const struct repair_hist *h, struct metrics_out *o);

struct latest {
	repair_hist_fn fn;
	struct metrics_out *o;
};

/* The latest finished scheduled repair of each named keyspace: fn. */
static void latest_visit(struct service *s, const char *cluster,
    const struct store_task_row *r, struct seen *sn, void *arg)
{
	struct latest *l = arg;
	const char *ks = json_string_value(json_object_get(r->params,
	    "keyspace"));
	struct store_task_detail d;
	struct repair_hist h;

	if (ks == NULL || json_integer_value(json_object_get(r->params,
	    "parallelism")) == 1 || seen_has(sn, ks))
		return;
	if (store_task_get(s->st, r->id, &d) != 0) {
		store_task_detail_release(&d);
		return;
	}
	seen_put(sn, ks);
	repair_hist_of(&d, &h);
	l->fn(cluster, ks, &h, l->o);
	repair_hist_release(&h);
	store_task_detail_release(&d);
}

static void repairs_latest(struct service *s, struct metrics_out *o,
    repair_hist_fn fn)
{
	struct latest l = { fn, o };

	repair_tasks_scan(s, latest_visit, &l);
}

static void repair_seg_samples(const char *cluster, const char *ks,
    const struct repair_hist *h, struct metrics_out *o)
{
	const struct { const char *state; size_t n; } v[] = {
		{ "done", h->done }, { "failed", h->failed },
		{ "postponed", h->postponed }, { "pending", h->pending },
		{ "split", h->split },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *l[] = { "cluster", cluster, "keyspace", ks, "state",
		    v[i].state, NULL };
		metrics_sample(o, "ringmaster_repair_segments", l, (double)v[i].n);
	}
}

static void repair_unrepaired_sample(const char *cluster, const char *ks,
    const struct repair_hist *h, struct metrics_out *o)
{
	const char *l[] = { "cluster", cluster, "keyspace", ks, NULL };

	metrics_sample(o, "ringmaster_repair_ranges_unrepaired", l,
	    (double)h->nunrepaired);
}

static void m_repair_segments(void *arg, struct metrics_out *o)
{
	repairs_latest(arg, o, repair_seg_samples);
}

static void m_repair_unrepaired(void *arg, struct metrics_out *o)
{
	repairs_latest(arg, o, repair_unrepaired_sample);
}

struct tn_metric {
	struct metrics_out *o;
	enum metrics_tenant what;
};

static void tenant_sample(const char *cluster, const char *tenant,
    const struct svc_tenant_stat *st, void *arg)
{
	static const char *const names[METRICS_TENANT_COUNT] = {
		"ringmaster_tenant_services", "ringmaster_tenant_services_up",
		"ringmaster_tenant_limit_ops", "ringmaster_tenant_demand_ops",
	};
	struct tn_metric *m = arg;
	const char *l[] = { "cluster", cluster, "tenant", tenant, NULL };
	double v = m->what == METRICS_TENANT_SERVICES ? (double)st->services :
	    m->what == METRICS_TENANT_SERVICES_UP ? (double)st->services_up :
	    m->what == METRICS_TENANT_LIMIT ? (double)st->limit_ops :
	    (double)st->demand_ops;

	if (m->what == METRICS_TENANT_DEMAND && st->demand_ops < 0)
		return;
	metrics_sample(m->o, names[m->what], l, v);
}

static void m_tenants(void *arg, struct metrics_out *o,
    enum metrics_tenant what)
{
	struct tn_metric m = { o, what };

	service_tenant_metrics(arg, tenant_sample, &m);
}

/*
 * The keyspaces each finished repair repaired completely, by task id.  A
 * finished task never changes, so its detail (steps and segments, the
 * costly read) is read at the first scrape that sees it, not at every one;
 * an entry the latest scan did not reach (the task fell out of the scan
 * window or was deleted) is dropped after it.  Scrapes of this gauge take
 * turns on the lock.
 */
struct mc_repair {
	struct htab_node hn;
	char id[STORE_ID_MAX];
	char **ks;
	size_t nks;
	uint64_t scan;			/* the last scan that reached it */
};

struct svc_mc {
	pthread_mutex_t mu;
	struct htab repairs;
	uint64_t scan;
};

struct svc_mc *svc_mc_new(void)
{
	struct svc_mc *mc = xcalloc(1, sizeof(*mc));

	pthread_mutex_init(&mc->mu, NULL);
	htab_init(&mc->repairs, 0);
	return mc;
}

static void mc_repair_free(struct mc_repair *e)
{
	for (size_t k = 0; k < e->nks; k++)
		free(e->ks[k]);
	free(e->ks);
	free(e);
}

struct mc_sweep {
	struct htab *t;
	uint64_t scan;
	struct mc_repair **old;
	size_t nold;
};

static void mc_collect_old(struct htab_node *hn, void *arg)
{
	struct mc_sweep *w = arg;
	struct mc_repair *e = HTAB_ENTRY(hn, struct mc_repair, hn);

	if (e->scan != w->scan) {
		w->old = xrealloc(w->old, (w->nold + 1) * sizeof(*w->old));
		w->old[w->nold++] = e;
	}
}

/* Drop the entries that scan did not reach (all of them: scan 0). */
static void mc_sweep(struct svc_mc *mc, uint64_t scan)
{
	struct mc_sweep w = { &mc->repairs, scan, NULL, 0 };

	htab_each(&mc->repairs, mc_collect_old, &w);
	for (size_t i = 0; i < w.nold; i++) {
		htab_remove(&mc->repairs, &w.old[i]->hn);
		mc_repair_free(w.old[i]);
	}
	free(w.old);
}

void svc_mc_free(struct svc_mc *mc)
{
	if (mc == NULL)
		return;
	mc_sweep(mc, 0);
	htab_release(&mc->repairs);
	pthread_mutex_destroy(&mc->mu);
	free(mc);
}

/* The finished repair id's entry, its detail read if it is new; NULL when
 * it cannot be read (this scrape leaves it out, the next tries again). */
static struct mc_repair *mc_repair(struct service *s, const char *id)
{
	struct svc_mc *mc = s->mc;
	uint64_t h = htab_hash(id);
	struct store_task_detail d;
	struct mc_repair *e;

	for (struct htab_node *n = htab_first(&mc->repairs, h); n != NULL;
	    n = htab_next(n, h)) {
		e = HTAB_ENTRY(n, struct mc_repair, hn);
		if (strcmp(e->id, id) == 0) {
			e->scan = mc->scan;
			return e;
		}
	}
	if (store_task_get(s->st, id, &d) != 0) {
		store_task_detail_release(&d);
		return NULL;
	}
	e = xcalloc(1, sizeof(*e));
	str_copy(e->id, id, sizeof(e->id));
	e->nks = repair_hist_complete_keyspaces(&d, &e->ks);
	e->scan = mc->scan;
	store_task_detail_release(&d);
	htab_add(&mc->repairs, &e->hn, h);
	return e;
}

/*
 * The end of the latest repair that repaired each keyspace completely
 * (repair_hist_complete_keyspaces): a keyspace takes the newest task that
 * names it.  The scan limit (REPAIR_METRICS_SCAN tasks a cluster) bounds
 * how far back it looks, and the cache above what a scrape reads.
 */
static void last_success_visit(struct service *s, const char *cluster,
    const struct store_task_row *r, struct seen *sn, void *arg)
{
	struct metrics_out *o = arg;
	const struct mc_repair *e = mc_repair(s, r->id);

	for (size_t k = 0; e != NULL && k < e->nks; k++) {
		const char *l[] = { "cluster", cluster, "keyspace", e->ks[k],
		    NULL };

		if (!seen_has(sn, e->ks[k])) {
			seen_put(sn, e->ks[k]);
			metrics_sample(o, "ringmaster_repair_last_success_"
			    "timestamp_seconds", l, (double)r->finished_at /
			    1000.0);
		}
	}
}

static void m_repair_last_success(void *arg, struct metrics_out *o)
{
	struct service *s = arg;

	pthread_mutex_lock(&s->mc->mu);
	s->mc->scan++;
	repair_tasks_scan(s, last_success_visit, o);
	mc_sweep(s->mc, s->mc->scan);
	pthread_mutex_unlock(&s->mc->mu);
}

static void m_nodes(void *arg, struct metrics_out *o)
{
	struct service *s = arg;
	hb_state_counts(s->hb, node_state, o);
}

static double m_busy(void *arg)
{
	return task_busy_workers(((struct service *)arg)->eng);
}

static double m_workers(void *arg)
{
	return ((struct service *)arg)->workers;
}

char *service_metrics(struct service *s, size_t *len)
{
	struct metrics_source src = {
		.arg = s,
		.tasks_by_state = m_tasks,
		.queue_depth = m_queues,
		.nodes_by_state = m_nodes,
		.last_success = m_last_success,
		.backup_bytes = m_backup_bytes,
		.repair_segments = m_repair_segments,
		.repair_unrepaired = m_repair_unrepaired,
		.tenants = m_tenants,
		.repair_last_success = m_repair_last_success,
		.busy_workers = m_busy,
		.workers = m_workers,
	};
	return metrics_render(s->metrics, &src, len);
}
