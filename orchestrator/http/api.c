/*
 * api.c - see api.h.
 *
 * A request goes through the same gates in the same order:
 *   route (404 unknown path, 405 known path with another method)
 *   -> token (401 none or unknown, 403 role may not)
 *   -> body size (413) -> JSON and schema (400)
 *   -> one service call -> answer, and an audit event when it mutates.
 * Bodies are checked against field tables (fields.c); the handlers are in
 * api_clusters.c and api_tasks.c (api_int.h).
 */
#include "api.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "../../common/redact.h"
#include "../../common/util.h"
#include "../../common/log.h"
#include "auth.h"
#include "authlimit.h"
#include "metrics.h"
#include "../service/service.h"
#include "../engine/task.h"
#include "api_int.h"







/* ---------- answers ---------- */

void api_reply_json(struct call *c, int status, json_t *v)
{
	c->resp->status = status;
	if (v != NULL) {
		c->resp->body = json_dumps(v, JSON_COMPACT);
		c->resp->len = c->resp->body ? strlen(c->resp->body) : 0;
		json_decref(v);
	}
}

__attribute__((format(printf, 4, 5)))
void api_reply_error(struct call *c, int status, const char *code,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* An error may quote what the client sent: never a secret back. */
	redact_buf(msg, sizeof(msg), NULL, 0);
	api_reply_json(c, status, json_pack("{s:{s:s,s:s}}", "error", "code", code,
	    "message", msg));
}

/* "application/json", any case, with parameters (charset) after ';'. */
static bool json_media_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* 429 with Retry-After: seconds, as RFC 9110 allows. */
__attribute__((format(printf, 3, 4)))
void api_reply_retry(struct call *c, int secs, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->resp->value_buf, sizeof(c->resp->value_buf), "%d", secs);
	c->resp->headers[0].name = "Retry-After";
	c->resp->headers[0].value = c->resp->value_buf;
	api_reply_json(c, 429, json_pack("{s:{s:s,s:s}}", "error", "code",
	    "too_many_requests", "message", msg));
}

/* The one place an error of the vocabulary (err.h) becomes a status. */
static int http_status(int err)
{
	switch (err) {
	case RM_EINVAL:
		return 400;
	case RM_ENOENT:
		return 404;
	case RM_ECONFLICT:
	case RM_EBUSY:
	case RM_EEXIST:
		return 409;
	case RM_EUNAVAIL:
		return 503;
	case RM_ESTORAGE:
		return 502;
	case RM_EUNAUTH:
		return 401;
	case RM_EFORBIDDEN:
		return 403;
	default:
		return 500;
	}
}

void api_reply_svc_error(struct call *c, const struct svc_err *e)
{
	api_reply_error(c, http_status(e->code), rm_err_code(e->code), "%s",
	    e->msg[0] ? e->msg : "internal error: see the ringmaster log");
}

/* ---------- routing ---------- */

static const struct route routes[] = {
	{ "GET", "/health", R_PUBLIC, false, api_h_health },
	{ "GET", "/metrics", R_PUBLIC, false, api_h_metrics },
	{ "POST", "/api/v1/clusters", R_ADMIN, true, api_h_cluster_create },
	{ "GET", "/api/v1/clusters", R_READ, false, api_h_cluster_list },
	{ "GET", "/api/v1/clusters/*", R_READ, false, api_h_cluster_get },
	{ "DELETE", "/api/v1/clusters/*", R_ADMIN, true, api_h_cluster_delete },
	{ "PATCH", "/api/v1/clusters/*", R_ADMIN, true, api_h_cluster_update },
	{ "GET", "/api/v1/clusters/*/nodes", R_READ, false, api_h_nodes },
	{ "GET", "/api/v1/clusters/*/seeds", R_READ, false, api_h_seeds },
	{ "PUT", "/api/v1/clusters/*/seeds", R_ADMIN, true, api_h_seeds_pin },
	{ "POST", "/api/v1/agents/checkin", R_AGENT, true, api_h_checkin },
	/* Heartbeats change only a node's last-seen time: not audited. */
	{ "POST", "/api/v1/agents/heartbeat", R_AGENT, false, api_h_heartbeat },
	{ "POST", "/api/v1/clusters/*/tasks", R_OPERATE, true, api_h_task_submit },
	{ "GET", "/api/v1/clusters/*/tasks", R_READ, false, api_h_task_list },
	{ "GET", "/api/v1/tasks/*", R_READ, false, api_h_task_get },
	{ "POST", "/api/v1/tasks/*/cancel", R_OPERATE, true, api_h_task_cancel },
	{ "POST", "/api/v1/tasks/*/pause", R_OPERATE, true, api_h_task_pause },
	{ "POST", "/api/v1/tasks/*/resume", R_OPERATE, true, api_h_task_resume },
	{ "POST", "/api/v1/clusters/*/schedules", R_OPERATE, true, api_h_schedule_create },
	{ "GET", "/api/v1/clusters/*/schedules", R_READ, false, api_h_schedule_list },
	{ "DELETE", "/api/v1/schedules/*", R_OPERATE, true, api_h_schedule_delete },
	{ "GET", "/api/v1/events", R_READ, false, api_h_events },
	{ "GET", "/api/v1/task-types", R_READ, false, api_h_task_types },
	{ "GET", "/api/v1/task-types/*", R_READ, false, api_h_task_types },
	{ "GET", "/api/v1/clusters/*/backups", R_READ, false, api_h_backup_list },
	{ "GET", "/api/v1/clusters/*/backups/*", R_READ, false, api_h_backup_get },
	{ "DELETE", "/api/v1/clusters/*/backups/*", R_OPERATE, true, api_h_backup_delete },
	{ "DELETE", "/api/v1/clusters/*/nodes/*/credential", R_ADMIN, true, api_h_node_revoke },
	{ "POST", "/api/v1/clusters/*/nodes/*/readmit", R_ADMIN, true, api_h_node_readmit },
	{ "GET", "/api/v1/clusters/*/repairs", R_READ, false, api_h_repair_list },
	{ "POST", "/api/v1/clusters/*/tenants", R_OPERATE, true, api_h_tenant_create },
	{ "GET", "/api/v1/clusters/*/tenants", R_READ, false, api_h_tenant_list },
	{ "GET", "/api/v1/clusters/*/tenants/*", R_READ, false, api_h_tenant_get },
	{ "DELETE", "/api/v1/clusters/*/tenants/*", R_OPERATE, true, api_h_tenant_delete },
	{ "PATCH", "/api/v1/clusters/*/tenants/*", R_OPERATE, true, api_h_tenant_update },
};

/* Route patterns with {name}/{id} for metrics labels and events. */
static const char *const route_labels[] = {
	"/health", "/metrics", "/api/v1/clusters", "/api/v1/clusters",
	"/api/v1/clusters/{name}", "/api/v1/clusters/{name}",
	"/api/v1/clusters/{name}",
	"/api/v1/clusters/{name}/nodes", "/api/v1/clusters/{name}/seeds",
	"/api/v1/clusters/{name}/seeds", "/api/v1/agents/checkin", "/api/v1/agents/heartbeat",
	"/api/v1/clusters/{name}/tasks", "/api/v1/clusters/{name}/tasks",
	"/api/v1/tasks/{id}", "/api/v1/tasks/{id}/cancel",
	"/api/v1/tasks/{id}/pause", "/api/v1/tasks/{id}/resume",
	"/api/v1/clusters/{name}/schedules", "/api/v1/clusters/{name}/schedules",
	"/api/v1/schedules/{id}", "/api/v1/events",
	"/api/v1/task-types", "/api/v1/task-types/{name}",
	"/api/v1/clusters/{name}/backups", "/api/v1/clusters/{name}/backups/{id}",
	"/api/v1/clusters/{name}/backups/{id}",
	"/api/v1/clusters/{name}/nodes/{address}/credential",
	"/api/v1/clusters/{name}/nodes/{address}/readmit",
	"/api/v1/clusters/{name}/repairs",
	"/api/v1/clusters/{name}/tenants", "/api/v1/clusters/{name}/tenants",
	"/api/v1/clusters/{name}/tenants/{tenant}",
	"/api/v1/clusters/{name}/tenants/{tenant}",
	"/api/v1/clusters/{name}/tenants/{tenant}",
};

_Static_assert(ARRAY_SIZE(routes) == ARRAY_SIZE(route_labels),
    "every route has a label");

/* Split path into segments in buf; returns the count or -1 (bad path). */
static int split_path(const char *path, char *buf, size_t size,
    char *segs[MAX_SEGS])
{
	int n = 0;
	char *p;

	if (path[0] != '/' || str_copy(buf, path + 1, size) >= size)
		return -1;
	if (buf[0] == '\0')
		return 0;
	p = buf;
	for (;;) {
		char *slash = strchr(p, '/');
		if (n == MAX_SEGS)
			return -1;
		if (slash)
			*slash = '\0';
		if (*p == '\0')
			return -1;	/* empty segment: "//" or trailing "/" */
		segs[n++] = p;
		if (!slash)
			return n;
		p = slash + 1;
	}
}

static bool pattern_match(const struct api *api, size_t ri, char *const *segs,
    int nseg, const char *param[MAX_PARAMS])
{
	const struct split_route *sr = &api->split[ri];
	int k = 0;

	if (sr->nseg != nseg)
		return false;
	for (int i = 0; i < nseg; i++) {
		if (sr->segs[i][0] == '*' && sr->segs[i][1] == '\0') {
			if (k < MAX_PARAMS)
				param[k++] = segs[i];
		} else if (strcmp(sr->segs[i], segs[i]) != 0) {
			return false;
		}
	}
	return true;
}

struct api *api_new(struct service *s, struct auth *a, struct metrics *m)
{
	struct api *api = xcalloc(1, sizeof(*api));
	api->svc = s;
	api->auth = a;
	api->metrics = m;
	api->started = time(NULL);
	api->split = xcalloc(ARRAY_SIZE(routes), sizeof(*api->split));
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
		api->split[i].nseg = split_path(routes[i].pattern,
		    api->split[i].buf, sizeof(api->split[i].buf),
		    api->split[i].segs);
	metrics_set_routes(m, route_labels, ARRAY_SIZE(route_labels));
	return api;
}

void api_set_limits(struct api *api, const struct authlimit_conf *auth_fails,
    const struct authlimit_conf *refusals)
{
	if (api->auth_fails != NULL && api->refusals != NULL) {
		authlimit_reconf(api->auth_fails, auth_fails);
		authlimit_reconf(api->refusals, refusals);
		return;
	}
	authlimit_free(api->auth_fails);
	authlimit_free(api->refusals);
	api->auth_fails = authlimit_new(auth_fails);
	api->refusals = authlimit_new(refusals);
}

void api_free(struct api *api)
{
	if (api != NULL) {
		free(api->split);
		authlimit_free(api->auth_fails);
		authlimit_free(api->refusals);
	}
	free(api);
}

void api_handle(void *arg, const struct httpd_req *req,
    struct httpd_resp *resp)
{
	struct api *api = arg;
	struct call c;
	char buf[512];
	char *segs[MAX_SEGS];
	const struct route *rt = NULL;
	int nseg, ri = -1;
	char allowed[64] = "";
	const char *hdr;

	memset(&c, 0, sizeof(c));
	c.api = api;
	c.req = req;
	c.resp = resp;

	nseg = split_path(req->path, buf, sizeof(buf), segs);
	for (size_t i = 0; nseg >= 0 && i < ARRAY_SIZE(routes); i++) {
		const char *param[MAX_PARAMS] = { NULL, NULL };
		if (!pattern_match(api, i, segs, nseg, param))
			continue;
		if (strcmp(routes[i].method, req->method) == 0 ||
		    (strcmp(req->method, "HEAD") == 0 &&
		    strcmp(routes[i].method, "GET") == 0)) {
			rt = &routes[i];
			ri = (int)i;
			memcpy(c.param, param, sizeof(c.param));
			break;
		}
		if (strstr(allowed, routes[i].method) == NULL) {
			size_t off = strlen(allowed);
			snprintf(allowed + off, sizeof(allowed) - off, "%s%s",
			    off ? ", " : "", routes[i].method);
		}
	}
	if (rt == NULL && allowed[0]) {
		/* The Allow value must outlive this call: keep one per set. */
		static const char *const allow_sets[] = {
			"GET", "POST", "DELETE", "GET, DELETE", "POST, GET",
			"GET, POST", "DELETE, GET", "GET, DELETE, PATCH",
		};
		const char *av = "GET";
		for (size_t i = 0; i < ARRAY_SIZE(allow_sets); i++)
			if (strcmp(allow_sets[i], allowed) == 0)
				av = allow_sets[i];
		resp->headers[0].name = "Allow";
		resp->headers[0].value = av;
		api_reply_error(&c, 405, "method_not_allowed", "method %s is not "
		    "allowed on %.128s: use %s", req->method, req->path, av);
		goto out;
	}
	if (rt == NULL) {
		api_reply_error(&c, 404, "not_found", "no route %.128s %.256s: see "
		    "docs/api.md", req->method, req->path);
		goto out;
	}
	if (rt->roles != R_PUBLIC) {
		char peer[64];
		bool known;
		int wait;

		httpd_peer(req, peer, sizeof(peer));
		/* Before the token is looked at: a blocked address learns
		 * nothing from what it sends. */
		if ((wait = authlimit_blocked(api->auth_fails, peer,
		    time_mono_ms())) > 0) {
			api_reply_retry(&c, wait, "too many requests with a wrong "
			    "token from %s: retry after %d s with a valid token "
			    "(see docs/security.md, Limits)", peer, wait);
			metrics_auth_throttled(api->metrics);
			goto out;
		}
		hdr = httpd_header(req, "Authorization");
		known = hdr != NULL && auth_verify(api->auth, hdr, &c.who) == 0;
		/* No token at all is a client set up wrong, not a guess. */
		if (hdr != NULL && !known) {
			metrics_auth_failure(api->metrics);
			if ((wait = authlimit_fail(api->auth_fails, peer,
			    time_mono_ms())) > 0)
				log_warnx("auth: %s sent too many wrong tokens: its "
				    "requests get 429 for %d s; if it is one of "
				    "ours, give it a valid token (ringmaster token "
				    "list) or raise auth_fail_max", peer, wait);
		}
		if (!known) {
			resp->headers[0].name = "WWW-Authenticate";
			resp->headers[0].value = "Bearer realm=\"ringmaster\"";
			api_reply_error(&c, 401, "unauthorized", hdr == NULL ?
			    "no token: send 'Authorization: Bearer TOKEN'" :
			    "unknown or revoked token");
			goto out;
		}
		if ((rt->roles & (int)c.who.role) == 0) {
			api_reply_error(&c, 403, "forbidden", "token '%s' has role "
			    "%s, which may not %s %s", c.who.name,
			    auth_role_name(c.who.role), rt->method,
			    route_labels[ri]);
			goto audit;
		}
	}
	if (req->body_too_large) {
		api_reply_error(&c, 413, "body_too_large", "request body is larger "
		    "than %d bytes", API_MAX_BODY);
		goto audit;
	}
	if (req->body != NULL && !json_media_type(httpd_header(req,
	    "Content-Type"))) {
		const char *ct = httpd_header(req, "Content-Type");

		api_reply_error(&c, 415, "unsupported_media_type", "a request "
		    "body must be sent as 'Content-Type: application/json', got "
		    "%s%.64s%s", ct ? "'" : "", ct ? ct : "none", ct ? "'" : "");
		goto audit;
	}
	rt->fn(&c);
audit:
	/* A refusal (403, or a request refused as invalid) is recorded the
	 * first few times a minute per token: past that a token that may not
	 * write, or the agents' shared join token, would fill the log. */
	if (rt->audit && resp->status >= 400 && resp->status < 500 &&
	    authlimit_fail(api->refusals, c.who.name, time_mono_ms()) > 0)
		goto out;
	if (rt->audit)
		service_audit(api->svc, c.who.name, rt->method, route_labels[ri],
		    c.cluster[0] ? c.cluster : NULL,
		    c.target[0] ? c.target : (c.param[0] ? c.param[0] : NULL),
		    resp->status);
	/* Done is said only once it would survive a failover. */
	if (rt->audit && resp->status >= 200 && resp->status < 300)
		service_durable(api->svc);
out:
	if (strcmp(req->method, "HEAD") == 0 && resp->body) {
		free(resp->body);
		resp->body = NULL;
		resp->len = 0;
	}
	metrics_http(api->metrics, ri, resp->status);
	json_decref(c.body);
}
