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
#include "hb.h"
#include "service.h"
#include "service_int.h"

/* ---------- metrics ---------- */

static void m_tasks(void *arg, struct metrics_out *o)
{
	struct service *s = arg;
	json_t *counts = store_task_counts(s->st), *v;
	size_t i;

	json_array_foreach(counts, i, v) {
		const char *l[] = {
			"type", json_string_value(json_object_get(v, "type")),
			"state", json_string_value(json_object_get(v, "state")),
			NULL,
		};
		if (l[1] && l[3])
			metrics_sample(o, "ringmaster_tasks", l,
			    (double)json_integer_value(json_object_get(v,
			    "count")));
	}
	json_decref(counts);
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
	json_t *rows = store_task_last_success(s->st), *v;
	size_t i;

	json_array_foreach(rows, i, v) {
		const char *l[] = {
			"cluster", json_string_value(json_object_get(v, "cluster")),
			"type", json_string_value(json_object_get(v, "type")),
			NULL,
		};
		if (l[1] && l[3])
			metrics_sample(o, "ringmaster_last_success_timestamp_seconds",
			    l, (double)json_integer_value(json_object_get(v,
			    "finished_at")) / 1000.0);
	}
	json_decref(rows);
}

static void m_backup_bytes(void *arg, struct metrics_out *o)
{
	struct service *s = arg;
	json_t *rows = store_backup_bytes(s->st), *v;
	size_t i;

	json_array_foreach(rows, i, v) {
		const char *l[] = {
			"cluster", json_string_value(json_object_get(v, "cluster")),
			NULL,
		};
		if (l[1] == NULL)
			continue;
		metrics_sample(o, "ringmaster_backup_bytes_uploaded", l,
		    (double)json_integer_value(json_object_get(v, "uploaded")));
		metrics_sample(o, "ringmaster_backup_bytes", l,
		    (double)json_integer_value(json_object_get(v, "bytes")));
	}
	json_decref(rows);
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
		.busy_workers = m_busy,
		.workers = m_workers,
	};
	return metrics_render(s->metrics, &src, len);
}
