/*
 * api_int.h - what the files of the REST layer share: a request in flight
 * (struct call), the route table's entries, the body schemas, the replies.
 * api.c routes and answers; fields.c checks bodies against field tables;
 * api_clusters.c and api_tasks.c are the handlers, by resource.  Nothing
 * outside http/ includes it.
 */
#ifndef RM_API_INT_H
#define RM_API_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "auth.h"
#include "httpd.h"

#define MAX_SEGS 8

/* Route patterns split once, at api_new(): matching is then compares only. */
struct split_route {
	char buf[128];
	char *segs[MAX_SEGS];
	int nseg;
};

struct api {
	struct service *svc;
	struct auth *auth;
	struct metrics *metrics;
	time_t started;
	struct split_route *split;	/* one per route */
	struct authlimit *auth_fails;	/* wrong tokens by client address */
	struct authlimit *refusals;	/* audited 4xx answers by token name */
};

#define R_READ (ROLE_ADMIN | ROLE_OPERATOR | ROLE_VIEWER)
#define R_OPERATE (ROLE_ADMIN | ROLE_OPERATOR)
#define R_ADMIN ROLE_ADMIN
/* Check-ins and heartbeats: the service decides what each may do
 * (service_agents.c): the join token registers new nodes, a node
 * credential acts for its own node. */
#define R_AGENT (ROLE_ADMIN | ROLE_AGENT | ROLE_NODE)
#define R_PUBLIC 0

#define MAX_PARAMS 2

struct call {
	struct api *api;
	const struct httpd_req *req;
	struct httpd_resp *resp;
	const char *param[MAX_PARAMS];	/* path captures, in order */
	json_t *body;			/* parsed object, or NULL */
	struct auth_id who;
	char cluster[AUTH_NAME_MAX + 1];	/* for audit: cluster concerned */
	char target[160];		/* for audit: what was acted on */
};

typedef void (*handler_fn)(struct call *c);

struct route {
	const char *method;
	const char *pattern;	/* segments; "*" captures one */
	int roles;		/* who may; 0: anyone, no token needed */
	bool audit;		/* mutating: record an event */
	handler_fn fn;
};

enum ftype {
	F_STRING,	/* non-empty string, at most 4096 bytes */
	F_NAME,		/* [A-Za-z0-9_-]{1,64} */
	F_LABEL,	/* [A-Za-z0-9_.-]{1,64}: datacenter, rack */
	F_ADDRESS,	/* host name or IP address */
	F_INT,		/* integer within [min, max] */
	F_NUMBER,	/* integer or real within [min, max] */
	F_BOOL,
	F_ENUM,		/* string in choices */
	F_OBJECT,	/* with sub fields (sub NULL: any object) */
	F_DURATION,	/* "10s", "24h" ... */
	F_TIME,		/* RFC 3339 UTC */
	F_ARRAY,	/* any array */
	F_ANY,		/* any JSON value: free-form reports kept as they are */
};

struct field {
	const char *name;
	enum ftype type;
	bool required;
	double min, max;
	const char *const *choices;
	const struct field *sub;	/* F_OBJECT; NULL-name terminated */
};



/* api.c: answers */
void api_reply_json(struct call *c, int status, json_t *v);
void api_reply_error(struct call *c, int status, const char *code,
    const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void api_reply_svc_error(struct call *c, const struct svc_err *e);
/* 429 with Retry-After: secs. */
void api_reply_retry(struct call *c, int secs, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fields.c: body schemas and request words */
bool api_body_check(struct call *c, const struct field *spec, bool partial);
bool api_body_ok(struct call *c, const struct field *spec);
const char *api_jstr(json_t *o, const char *key);
bool api_path_name_ok(struct call *c, const char *what, const char *s);
bool api_list_args(struct call *c, struct svc_list *l);

/* api_clusters.c: handlers */
void api_h_health(struct call *c);
void api_h_metrics(struct call *c);
void api_h_cluster_create(struct call *c);
void api_h_cluster_update(struct call *c);
void api_h_cluster_list(struct call *c);
void api_h_cluster_get(struct call *c);
void api_h_cluster_delete(struct call *c);
void api_h_nodes(struct call *c);
void api_h_seeds(struct call *c);
void api_h_seeds_pin(struct call *c);
void api_h_checkin(struct call *c);
void api_h_heartbeat(struct call *c);
void api_h_node_revoke(struct call *c);
void api_h_node_readmit(struct call *c);

/* api_tasks.c: handlers */
void api_h_task_cancel(struct call *c);
void api_h_task_pause(struct call *c);
void api_h_task_resume(struct call *c);
void api_h_task_submit(struct call *c);
void api_h_task_list(struct call *c);
void api_h_repair_list(struct call *c);
void api_h_task_get(struct call *c);
void api_h_schedule_create(struct call *c);
void api_h_schedule_list(struct call *c);
void api_h_schedule_delete(struct call *c);
void api_h_task_types(struct call *c);
void api_h_events(struct call *c);
void api_h_backup_list(struct call *c);
void api_h_backup_get(struct call *c);
void api_h_backup_delete(struct call *c);

/* api_tenants.c: handlers */
void api_h_tenant_create(struct call *c);
void api_h_tenant_list(struct call *c);
void api_h_tenant_get(struct call *c);
void api_h_tenant_delete(struct call *c);
void api_h_tenant_update(struct call *c);

#endif
