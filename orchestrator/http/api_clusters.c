/*
 * api_clusters.c - the handlers of /health, /metrics, clusters, nodes,
 * seeds, agents' check-ins and heartbeats (docs/api.md).
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../../common/storeurl.h"
#include "../../common/util.h"
#include "../engine/task.h"
#include "../service/hb.h"
#include "../service/service.h"
#include "api.h"
#include "api_int.h"
#include "auth.h"
#include "metrics.h"

/* ---------- handlers ---------- */

void api_h_health(struct call *c)
{
	api_reply_json(c, 200, json_pack("{s:s,s:s,s:I}", "status", "ok",
	    "version", RM_VERSION, "uptime_s",
	    (json_int_t)(time(NULL) - c->api->started)));
}

void api_h_metrics(struct call *c)
{
	size_t len;
	char *text = service_metrics(c->api->svc, &len);
	c->resp->status = 200;
	c->resp->body = text;
	c->resp->len = len;
	c->resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static const struct field f_storage[] = {
	{ "url", F_STRING, true, 0, 0, NULL, NULL },
	{ "endpoint", F_STRING, false, 0, 0, NULL, NULL },
	{ "region", F_STRING, false, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

static const struct field f_ssh[] = {
	{ "user", F_NAME, true, 0, 0, NULL, NULL },
	{ "port", F_INT, false, 1, 65535, NULL, NULL },
	{ "key_file", F_STRING, true, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

/* "settings" keys and values are the store's registry's
 * (store_settings.h), checked by the service. */
static const struct field f_cluster[] = {
	{ "name", F_NAME, true, 0, 0, NULL, NULL },
	{ "storage", F_OBJECT, true, 0, 0, NULL, f_storage },
	{ "ssh", F_OBJECT, true, 0, 0, NULL, f_ssh },
	{ "settings", F_OBJECT, false, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

#define SETTINGS_MAX	32

/*
 * The "settings" object as (key, text) pairs: a string as it is, a
 * boolean as "true"/"false", null as a reset.  false with the reply sent
 * for any other type.  The pairs borrow c->body.
 */
static bool settings_of(struct call *c, struct svc_setting *v, size_t *n)
{
	json_t *obj = json_object_get(c->body, "settings"), *val;
	const char *key;

	*n = 0;
	json_object_foreach(obj, key, val) {
		if (*n == SETTINGS_MAX) {
			api_reply_error(c, 400, "invalid_value", "field "
			    "'settings' has more than %d keys", SETTINGS_MAX);
			return false;
		}
		v[*n].key = key;
		if (json_is_string(val))
			v[*n].value = json_string_value(val);
		else if (json_is_boolean(val))
			v[*n].value = json_is_true(val) ? "true" : "false";
		else if (json_is_null(val))
			v[*n].value = NULL;
		else {
			api_reply_error(c, 400, "wrong_type", "field "
			    "'settings.%.64s' must be a string (\"30m\", "
			    "\"skip_down\"), a boolean, or null to reset it",
			    key);
			return false;
		}
		(*n)++;
	}
	return true;
}

/*
 * A cluster's settings are checked by the field tables above and this, for
 * both create (POST) and change (PATCH): one set of rules.
 */
static bool storage_url_ok(struct call *c, const char *url,
    char norm[STOREURL_MAX])
{
	char why[512];

	if (storeurl_normalize(url, norm, why, sizeof(why)) == 0)
		return true;
	api_reply_error(c, 400, "invalid_value", "field 'storage.url': %s", why);
	return false;
}

void api_h_cluster_create(struct call *c)
{
	struct svc_cluster cl;
	struct svc_setting set[SETTINGS_MAX];
	struct svc_err e = { 0 };
	json_t *out = NULL, *st, *ssh;
	char url[STOREURL_MAX];

	if (!api_body_ok(c, f_cluster))
		return;
	memset(&cl, 0, sizeof(cl));
	if (!settings_of(c, set, &cl.nsettings))
		return;
	cl.settings = set;
	st = json_object_get(c->body, "storage");
	ssh = json_object_get(c->body, "ssh");
	cl.name = api_jstr(c->body, "name");
	str_copy(c->cluster, cl.name, sizeof(c->cluster));
	str_copy(c->target, cl.name, sizeof(c->target));
	cl.storage_url = api_jstr(st, "url");
	cl.storage_endpoint = api_jstr(st, "endpoint");
	cl.storage_region = api_jstr(st, "region");
	if (!storage_url_ok(c, cl.storage_url, url))
		return;
	cl.storage_url = url;
	cl.ssh_user = api_jstr(ssh, "user");
	cl.ssh_key_file = api_jstr(ssh, "key_file");
	cl.ssh_port = json_is_integer(json_object_get(ssh, "port")) ?
	    (int)json_integer_value(json_object_get(ssh, "port")) : 22;
	if (service_cluster_create(c->api->svc, &cl, &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 201, out);
}

/* The body of PATCH /clusters/{name}: the settings of create but the name. */
static const struct field f_cluster_patch[] = {
	{ "storage", F_OBJECT, false, 0, 0, NULL, f_storage },
	{ "ssh", F_OBJECT, false, 0, 0, NULL, f_ssh },
	{ "settings", F_OBJECT, false, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

/*
 * A required setting given as null: it cannot be removed.  Optional ones
 * (storage.endpoint, storage.region) are removed by null.
 */
static bool not_cleared(struct call *c, json_t *obj, const char *sect,
    const struct field *spec)
{
	for (const struct field *f = spec; f->name; f++) {
		json_t *v = json_object_get(obj, f->name);
		if (v != NULL && json_is_null(v) && (f->required ||
		    f->type == F_INT)) {
			api_reply_error(c, 400, "invalid_value", "field '%s.%s' cannot "
			    "be removed: give a new value", sect, f->name);
			return false;
		}
	}
	return true;
}

void api_h_cluster_update(struct call *c)
{
	struct svc_cluster_patch p;
	struct svc_setting set[SETTINGS_MAX];
	struct svc_err e = { 0 };
	json_t *out = NULL, *st, *ssh;
	char url[STOREURL_MAX];

	str_copy(c->target, c->param[0], sizeof(c->target));
	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	if (!api_body_check(c, f_cluster_patch, true))
		return;
	st = json_object_get(c->body, "storage");
	ssh = json_object_get(c->body, "ssh");
	if (json_object_size(st) + json_object_size(ssh) +
	    json_object_size(json_object_get(c->body, "settings")) == 0) {
		api_reply_error(c, 400, "invalid_value", "nothing to change: give "
		    "storage {url, endpoint, region}, ssh {user, port, "
		    "key_file} and/or settings {replace_after, provider, ...}");
		return;
	}
	if (!not_cleared(c, st, "storage", f_storage) ||
	    !not_cleared(c, ssh, "ssh", f_ssh))
		return;
	memset(&p, 0, sizeof(p));
	if (!settings_of(c, set, &p.nsettings))
		return;
	p.settings = set;
	p.storage_url = api_jstr(st, "url");
	if (p.storage_url != NULL && !storage_url_ok(c, p.storage_url, url))
		return;
	if (p.storage_url != NULL)
		p.storage_url = url;
	p.storage_endpoint = api_jstr(st, "endpoint");
	p.clear_storage_endpoint = json_is_null(json_object_get(st, "endpoint"));
	p.storage_region = api_jstr(st, "region");
	p.clear_storage_region = json_is_null(json_object_get(st, "region"));
	p.ssh_user = api_jstr(ssh, "user");
	p.ssh_key_file = api_jstr(ssh, "key_file");
	p.ssh_port = json_is_integer(json_object_get(ssh, "port")) ?
	    (int)json_integer_value(json_object_get(ssh, "port")) : 0;
	if (service_cluster_update(c->api->svc, c->param[0], &p, c->who.name,
	    &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

void api_h_cluster_list(struct call *c)
{
	struct svc_list l;
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!api_list_args(c, &l))
		return;
	if (service_cluster_list(c->api->svc, &l, &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

void api_h_cluster_get(struct call *c)
{
	struct svc_err e = { 0 };
	char *text;
	size_t len;

	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	if (service_cluster_get_text(c->api->svc, c->param[0], &text, &len,
	    &e) != 0) {
		api_reply_svc_error(c, &e);
		return;
	}
	c->resp->status = 200;
	c->resp->body = text;
	c->resp->len = len;
}

void api_h_cluster_delete(struct call *c)
{
	struct svc_err e = { 0 };

	str_copy(c->target, c->param[0], sizeof(c->target));
	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	if (service_cluster_delete(c->api->svc, c->param[0], &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 204, NULL);
}

void api_h_nodes(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	if (service_nodes_list(c->api->svc, c->param[0], &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

void api_h_seeds(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	if (service_seeds(c->api->svc, c->param[0], &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

static const struct field f_seeds_pin[] = {
	{ "seeds", F_ARRAY, true, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

#define PIN_MAX	64

void api_h_seeds_pin(struct call *c)
{
	const char *addrs[PIN_MAX];
	struct svc_err e = { 0 };
	json_t *out = NULL, *a, *v;
	size_t i;

	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	str_copy(c->target, c->param[0], sizeof(c->target));
	if (!api_body_ok(c, f_seeds_pin))
		return;
	a = json_object_get(c->body, "seeds");
	if (json_array_size(a) > PIN_MAX) {
		api_reply_error(c, 400, "invalid_value", "field 'seeds' has %zu "
		    "addresses; at most %d may be pinned", json_array_size(a),
		    PIN_MAX);
		return;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || !address_valid(json_string_value(v))) {
			api_reply_error(c, 400, "invalid_value", "field "
			    "'seeds[%zu]' must be a node's address (an IP "
			    "address or host name)", i);
			return;
		}
		addrs[i] = json_string_value(v);
	}
	if (service_seeds_pin(c->api->svc, c->param[0], addrs,
	    json_array_size(a), c->who.name, &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

static const struct field f_checkin[] = {
	{ "cluster", F_NAME, true, 0, 0, NULL, NULL },
	{ "host_id", F_STRING, false, 0, 0, NULL, NULL },
	{ "address", F_ADDRESS, true, 0, 0, NULL, NULL },
	{ "dc", F_LABEL, true, 0, 0, NULL, NULL },
	{ "rack", F_LABEL, true, 0, 0, NULL, NULL },
	{ "cassandra_version", F_STRING, true, 0, 0, NULL, NULL },
	{ "ssh_host_key", F_STRING, false, 0, 0, NULL, NULL },
	{ "cassandra_running", F_BOOL, false, 0, 0, NULL, NULL },
	{ "has_data", F_BOOL, false, 0, 0, NULL, NULL },
	{ "system_keyspace", F_BOOL, false, 0, 0, NULL, NULL },
	{ "start_failures", F_INT, false, 0, 1000000, NULL, NULL },
	{ "start_error", F_STRING, false, 0, 0, NULL, NULL },
	/* The agent keeps a node credential: one is issued when the join
	 * token may register the node (docs/security.md). */
	{ "wants_credential", F_BOOL, false, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

/* Who sends an agent's request, for the service's checks. */
static void agent_id(const struct call *c, struct svc_agent_id *w)
{
	memset(w, 0, sizeof(*w));
	w->by = c->who.role == ROLE_NODE ? SVC_BY_NODE :
	    c->who.role == ROLE_AGENT ? SVC_BY_JOIN : SVC_BY_ADMIN;
	w->cluster = c->who.node_cluster;
	w->address = c->who.node_address;
	w->cred_hash = c->who.cred_hash;
}

/* An optional boolean: 1, 0, or -1 when absent or null. */
static int jtristate(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_boolean(v) ? json_is_true(v) : -1;
}

void api_h_checkin(struct call *c)
{
	struct svc_checkin ci;
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!api_body_ok(c, f_checkin))
		return;
	memset(&ci, 0, sizeof(ci));
	agent_id(c, &ci.who);
	ci.wants_credential = jtristate(c->body, "wants_credential") == 1;
	ci.cluster = api_jstr(c->body, "cluster");
	ci.host_id = api_jstr(c->body, "host_id");
	ci.address = api_jstr(c->body, "address");
	ci.dc = api_jstr(c->body, "dc");
	ci.rack = api_jstr(c->body, "rack");
	ci.cassandra_version = api_jstr(c->body, "cassandra_version");
	ci.ssh_host_key = api_jstr(c->body, "ssh_host_key");
	ci.cassandra_running = jtristate(c->body, "cassandra_running");
	ci.has_data = jtristate(c->body, "has_data");
	ci.system_keyspace = jtristate(c->body, "system_keyspace");
	ci.start_failures = json_is_integer(json_object_get(c->body,
	    "start_failures")) ? (int)json_integer_value(json_object_get(c->body,
	    "start_failures")) : 0;
	ci.start_error = api_jstr(c->body, "start_error");
	str_copy(c->cluster, ci.cluster, sizeof(c->cluster));
	snprintf(c->target, sizeof(c->target), "%s", ci.address);
	if (service_checkin(c->api->svc, &ci, &out, &e) != 0) {
		api_reply_svc_error(c, &e);
		return;
	}
	metrics_checkin(c->api->metrics, api_jstr(out, "role"));
	api_reply_json(c, 200, out);
}

static const char *const node_statuses[] = {
	"up", "joining", "leaving", "moving", "down", NULL,
};

static const struct field f_heartbeat[] = {
	{ "cluster", F_NAME, true, 0, 0, NULL, NULL },
	{ "address", F_ADDRESS, true, 0, 0, NULL, NULL },
	{ "host_id", F_STRING, false, 0, 0, NULL, NULL },
	{ "status", F_ENUM, true, 0, 0, node_statuses, NULL },
	{ "load_bytes", F_INT, false, 0, 9.2e18, NULL, NULL },
	{ "cassandra_version", F_STRING, false, 0, 0, NULL, NULL },
	{ "dc", F_LABEL, false, 0, 0, NULL, NULL },
	{ "rack", F_LABEL, false, 0, 0, NULL, NULL },
	{ "uptime_s", F_INT, false, 0, 9.2e18, NULL, NULL },
	{ "process_up", F_BOOL, false, 0, 0, NULL, NULL },
	{ "gossip", F_BOOL, false, 0, 0, NULL, NULL },
	{ "native_transport", F_BOOL, false, 0, 0, NULL, NULL },
	{ "has_data", F_BOOL, false, 0, 0, NULL, NULL },
	{ "tokens", F_INT, false, 0, 1e6, NULL, NULL },
	{ "agent_version", F_STRING, false, 0, 0, NULL, NULL },
	{ "errors", F_ARRAY, false, 0, 0, NULL, NULL },
	/* The generation of the seeds the agent last wrote (0: none yet). */
	{ "seeds_gen", F_INT, false, 0, 9.2e18, NULL, NULL },
	/* Tenants (docs/tenants.md): the list the agent holds, the limits
	 * it applied, why it could not, and the demand it measured; their
	 * insides are checked by tenant_report(). */
	{ "tenants_gen", F_INT, false, 0, 9.2e18, NULL, NULL },
	{ "limits_applied", F_ANY, false, 0, 0, NULL, NULL },
	{ "limits_error", F_STRING, false, 0, 0, NULL, NULL },
	/* Free-form reports (peer views, disks): any JSON value. */
	{ "peers", F_ANY, false, 0, 0, NULL, NULL },
	{ "disks", F_ANY, false, 0, 0, NULL, NULL },
	{ "demand", F_ANY, false, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

/*
 * The node's nodetool status ("peers": {"datacenters":[{"nodes":[{"address",
 * "status","state"}]}]}) as views; rows without an IP-sized address or
 * with unknown words are kept as unknown ('?'), never guessed.  *n views
 * in a new array (NULL when peers is not an object).
 */
static struct hb_view *peers_views(const json_t *peers, size_t *n)
{
	const json_t *dcs = json_object_get(peers, "datacenters"), *dc, *nd;
	struct hb_view *v = NULL;
	size_t i, k, cap = 0;

	*n = 0;
	if (!json_is_object(peers))
		return NULL;
	json_array_foreach(dcs, i, dc)
		json_array_foreach(json_object_get(dc, "nodes"), k, nd) {
			const char *a = json_string_value(json_object_get(nd, "address"));
			const char *st = json_string_value(json_object_get(nd, "status"));
			const char *sa = json_string_value(json_object_get(nd, "state"));
			if (a == NULL || strlen(a) >= sizeof(v->address) ||
			    *n >= 65536)
				continue;
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				v = xrealloc(v, cap * sizeof(*v));
			}
			str_copy(v[*n].address, a, sizeof(v[*n].address));
			v[*n].status = st == NULL ? '?' : strcmp(st, "up") == 0 ?
			    'U' : strcmp(st, "down") == 0 ? 'D' : '?';
			v[*n].state = sa == NULL ? '?' :
			    strcmp(sa, "normal") == 0 ? 'N' :
			    strcmp(sa, "joining") == 0 ? 'J' :
			    strcmp(sa, "leaving") == 0 ? 'L' :
			    strcmp(sa, "moving") == 0 ? 'M' : '?';
			(*n)++;
		}
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));	/* sent, and empty */
	return v;
}

/* The extras a node reports of itself, as compact JSON text, or NULL. */
static char *heartbeat_report(const json_t *body)
{
	static const char *const keys[] = {
		"process_up", "gossip", "native_transport", "tokens", "disks",
		"has_data", "uptime_s", "agent_version", "errors",
	};
	json_t *r = json_object();
	char *text = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		json_t *v = json_object_get(body, keys[i]);
		if (v != NULL && !json_is_null(v))
			json_object_set(r, keys[i], v);
	}
	/* Sorted keys: the same report reads the same, and is not rewritten. */
	if (json_object_size(r) > 0)
		text = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(r);
	return text;
}

#define HB_TENANTS_MAX 1000	/* the agent takes at most as many */
#define HB_TENANT_NAME_MAX 64	/* the API's names */

/* The heartbeat's tenant numbers: {"name": number >= 0} into u (at most
 * max; others and bad values are dropped, never guessed). */
static size_t tenant_uses(const json_t *o, struct svc_tenant_use *u,
    size_t max)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	json_object_foreach((json_t *)(uintptr_t)o, k, v) {
		if (n == max)
			break;
		if (!json_is_number(v) || json_number_value(v) < 0 ||
		    !isfinite(json_number_value(v)) || strlen(k) >
		    HB_TENANT_NAME_MAX)
			continue;
		u[n].tenant = k;
		u[n++].value = json_number_value(v);
	}
	return n;
}


/* Room for the numbers of o (an object, else none), at least one. */
static size_t tenant_count(const json_t *o)
{
	size_t n = json_object_size(o);

	return n == 0 ? 1 : n < HB_TENANTS_MAX ? n : HB_TENANTS_MAX;
}

/* What the body says of tenants into r (its arrays: applied, demand);
 * false when it says nothing. */
static bool tenant_report(const json_t *body, struct svc_tenant_report *r,
    struct svc_tenant_use *applied, struct svc_tenant_use *demand)
{
	const json_t *gen = json_object_get(body, "tenants_gen");
	const json_t *ap = json_object_get(body, "limits_applied");
	const json_t *d = json_object_get(body, "demand");
	const json_t *w = json_object_get(d, "window_s");

	memset(r, 0, sizeof(*r));
	/* An agent sends tenants_gen once it holds a list; before that, one
	 * whose body is extended (it sends seeds_gen) takes lists too: it
	 * holds none.  A basic body's agent may not know them at all. */
	r->gen = json_is_integer(gen) ? (int64_t)json_integer_value(gen) :
	    json_is_integer(json_object_get(body, "seeds_gen")) ? 0 : -1;
	if (json_is_object(ap)) {
		r->applied_sent = true;
		r->applied = applied;
		r->napplied = tenant_uses(ap, applied, tenant_count(ap));
	}
	r->error = json_string_value(json_object_get(body, "limits_error"));
	if (json_is_object(json_object_get(d, "ops")) && json_is_number(w) &&
	    json_number_value(w) > 0) {
		r->demand_sent = true;
		r->window_s = json_number_value(w);
		r->demand = demand;
		r->ndemand = tenant_uses(json_object_get(d, "ops"), demand,
		    tenant_count(json_object_get(d, "ops")));
	}
	return r->gen >= 0 || r->applied_sent || r->demand_sent ||
	    r->error != NULL;
}

void api_h_heartbeat(struct call *c)
{
	struct svc_tenant_report tr;
	struct svc_tenant_use *applied = NULL, *demand = NULL;
	const json_t *ap, *ops;
	struct svc_heartbeat hb;
	struct svc_err e = { 0 };
	struct hb_view *views = NULL;
	char *report;
	json_t *lb, *sg, *ans = NULL;
	int rc;

	if (!api_body_ok(c, f_heartbeat))
		return;
	memset(&hb, 0, sizeof(hb));
	agent_id(c, &hb.who);
	hb.cluster = api_jstr(c->body, "cluster");
	hb.address = api_jstr(c->body, "address");
	hb.host_id = api_jstr(c->body, "host_id");
	hb.status = api_jstr(c->body, "status");
	lb = json_object_get(c->body, "load_bytes");
	hb.load_bytes = json_is_integer(lb) ? (int64_t)json_integer_value(lb) : -1;
	hb.cassandra_version = api_jstr(c->body, "cassandra_version");
	if (json_object_get(c->body, "peers") != NULL) {
		views = peers_views(json_object_get(c->body, "peers"),
		    &hb.nviews);
		hb.views = views;
		hb.views_sent = views != NULL;
	}
	hb.report_json = report = heartbeat_report(c->body);
	sg = json_object_get(c->body, "seeds_gen");
	hb.seeds_gen = json_is_integer(sg) ? (int64_t)json_integer_value(sg) :
	    -1;
	/* Sized by what was sent, and only when it was: most heartbeats
	 * carry a few tenants, or none. */
	ap = json_object_get(c->body, "limits_applied");
	ops = json_object_get(json_object_get(c->body, "demand"), "ops");
	if (json_is_object(ap))
		applied = xcalloc(tenant_count(ap), sizeof(*applied));
	if (json_is_object(ops))
		demand = xcalloc(tenant_count(ops), sizeof(*demand));
	if (tenant_report(c->body, &tr, applied, demand))
		hb.tenants = &tr;
	rc = service_heartbeat(c->api->svc, &hb, &ans, &e);
	free(applied);
	free(demand);
	free(views);
	free(report);
	if (rc != 0) {
		api_reply_svc_error(c, &e);
		return;
	}
	if (ans != NULL) {
		/* New seeds for this agent: rare, so built per request. */
		metrics_heartbeat(c->api->metrics);
		api_reply_json(c, 200, ans);
		return;
	}
	metrics_heartbeat(c->api->metrics);
	/* Thousands a second: one constant answer, built once by httpd. */
	c->resp->status = 200;
	c->resp->fixed_body = "{\"status\":\"ok\"}";
}

/* DELETE .../nodes/{address}/credential and POST .../nodes/{address}/readmit */
static void node_credential(struct call *c, bool readmit)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	snprintf(c->target, sizeof(c->target), "%s", c->param[1]);
	if (!address_valid(c->param[1])) {
		api_reply_error(c, 400, "invalid_value", "'%.64s' is not a "
		    "node's address (an IP address or host name)", c->param[1]);
		return;
	}
	if (service_node_credential(c->api->svc, c->param[0], c->param[1],
	    readmit, c->who.name, &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

void api_h_node_revoke(struct call *c)
{
	node_credential(c, false);
}

void api_h_node_readmit(struct call *c)
{
	node_credential(c, true);
}
