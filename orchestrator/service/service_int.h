/*
 * service_int.h - what the service's files share: the service itself,
 * its error helpers and the cluster cache.  service.c (life cycle,
 * clusters, nodes, seeds), service_agents.c (check-ins, heartbeats),
 * service_tasks.c (task types, tasks, schedules, events, backups),
 * service_metrics.c (GET /metrics).  Nothing outside service/ includes it.
 */
#ifndef RM_SERVICE_INT_H
#define RM_SERVICE_INT_H

#include <pthread.h>
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
	char *data_dir;
	int workers;
	_Atomic int64_t hb_interval_ms;
};

/* Set e's code and message. */
void svc_set(struct svc_err *e, enum rm_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int svc_fail(struct svc_err *e, int rc, const char *msg);
void svc_cc_forget(struct service *s, const char *name);
json_t *svc_pick_seeds(struct service *s, const char *cluster,
    json_t *nodes, const char *exclude);

#endif
