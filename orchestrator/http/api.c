/*
 * api.c - see api.h.
 *
 * A request goes through the same gates in the same order:
 *   route (404 unknown path, 405 known path with another method)
 *   -> token (401 none or unknown, 403 role may not)
 *   -> body size (413) -> JSON and schema (400)
 *   -> one service call -> answer, and an audit event when it mutates.
 * Bodies are checked against small field tables: every field is typed,
 * required fields must be there and unknown fields are refused, so a typo
 * in a request is an error rather than a silent default.
 */
#include "api.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../../common/util.h"
#include "auth.h"
#include "metrics.h"
#include "../service/service.h"
#include "../engine/task.h"

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
};

#define R_READ (ROLE_ADMIN | ROLE_OPERATOR | ROLE_VIEWER)
#define R_OPERATE (ROLE_ADMIN | ROLE_OPERATOR)
#define R_ADMIN ROLE_ADMIN
#define R_AGENT (ROLE_ADMIN | ROLE_AGENT)
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

/* ---------- answers ---------- */

static void reply_json(struct call *c, int status, json_t *v)
{
	c->resp->status = status;
	if (v != NULL) {
		c->resp->body = json_dumps(v, JSON_COMPACT);
		c->resp->len = c->resp->body ? strlen(c->resp->body) : 0;
		json_decref(v);
	}
}

__attribute__((format(printf, 4, 5)))
static void reply_error(struct call *c, int status, const char *code,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_json(c, status, json_pack("{s:{s:s,s:s}}", "error", "code", code,
	    "message", msg));
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
	default:
		return 500;
	}
}

static void reply_svc_error(struct call *c, const struct svc_err *e)
{
	reply_error(c, http_status(e->code), rm_err_code(e->code), "%s",
	    e->msg[0] ? e->msg : "internal error: see the ringmaster log");
}

/* ---------- body schemas ---------- */

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

struct bad {
	bool partial;		/* in: a PATCH body, where no field is required */
	const char *code;
	char msg[384];
};

static bool label_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		    ('0' <= *s && *s <= '9') || *s == '_' || *s == '-' ||
		    *s == '.'))
			return false;
	return true;
}

static const char *type_word(enum ftype t)
{
	switch (t) {
	case F_INT: return "an integer";
	case F_NUMBER: return "a number";
	case F_BOOL: return "true or false";
	case F_OBJECT: return "an object";
	case F_ARRAY: return "an array";
	case F_ANY: return "a value";
	default: return "a string";
	}
}

__attribute__((format(printf, 3, 4)))
static int bad_set(struct bad *b, const char *code, const char *fmt, ...)
{
	va_list ap;
	b->code = code;
	va_start(ap, fmt);
	vsnprintf(b->msg, sizeof(b->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int check_fields(json_t *o, const struct field *spec,
    const char *prefix, struct bad *b);

static int check_value(json_t *v, const struct field *f, const char *path,
    struct bad *b)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	int64_t ms;

	switch (f->type) {
	case F_STRING:
	case F_NAME:
	case F_LABEL:
	case F_ADDRESS:
	case F_ENUM:
	case F_DURATION:
	case F_TIME:
		if (s == NULL)
			return bad_set(b, "wrong_type", "field '%s' must be a "
			    "string", path);
		if (json_string_length(v) != strlen(s))
			return bad_set(b, "invalid_value", "field '%s' holds a "
			    "NUL character", path);
		break;
	case F_INT:
		if (!json_is_integer(v))
			return bad_set(b, "wrong_type", "field '%s' must be an "
			    "integer", path);
		if ((double)json_integer_value(v) < f->min ||
		    (double)json_integer_value(v) > f->max)
			return bad_set(b, "invalid_value", "field '%s' must be "
			    "from %.0f to %.0f, got %lld", path, f->min, f->max,
			    (long long)json_integer_value(v));
		return 0;
	case F_NUMBER:
		if (!json_is_number(v))
			return bad_set(b, "wrong_type", "field '%s' must be a "
			    "number", path);
		if (json_number_value(v) < f->min ||
		    json_number_value(v) > f->max)
			return bad_set(b, "invalid_value", "field '%s' must be "
			    "from %g to %g, got %g", path, f->min, f->max,
			    json_number_value(v));
		return 0;
	case F_BOOL:
		if (!json_is_boolean(v))
			return bad_set(b, "wrong_type", "field '%s' must be true "
			    "or false", path);
		return 0;
	case F_OBJECT:
		if (!json_is_object(v))
			return bad_set(b, "wrong_type", "field '%s' must be an "
			    "object", path);
		return f->sub ? check_fields(v, f->sub, path, b) : 0;
	case F_ARRAY:
		if (!json_is_array(v))
			return bad_set(b, "wrong_type", "field '%s' must be an "
			    "array", path);
		return 0;
	case F_ANY:
		return 0;
	}
	switch (f->type) {
	case F_STRING:
		if (*s == '\0' || strlen(s) > 4096)
			return bad_set(b, "invalid_value", "field '%s' must be "
			    "1 to 4096 characters", path);
		return 0;
	case F_NAME:
		if (!name_valid(s))
			return bad_set(b, "invalid_name", "field '%s': '%.64s' is "
			    "not a valid name: use 1 to 64 of A-Z a-z 0-9 _ -",
			    path, s);
		return 0;
	case F_LABEL:
		if (!label_valid(s))
			return bad_set(b, "invalid_name", "field '%s': '%.64s' is "
			    "not valid: use 1 to 64 of A-Z a-z 0-9 _ - .", path, s);
		return 0;
	case F_ADDRESS:
		if (!address_valid(s))
			return bad_set(b, "invalid_value", "field '%s': '%.64s' is "
			    "not a host name or IP address", path, s);
		return 0;
	case F_ENUM: {
		char list[256] = "";
		size_t off = 0;
		for (size_t i = 0; f->choices[i]; i++) {
			if (strcmp(s, f->choices[i]) == 0)
				return 0;
			off += (size_t)snprintf(list + off,
			    off < sizeof(list) ? sizeof(list) - off : 0, "%s%s",
			    i ? ", " : "", f->choices[i]);
			if (off >= sizeof(list))
				off = sizeof(list) - 1;
		}
		return bad_set(b, "invalid_value", "field '%s': unknown value "
		    "'%.64s': expected one of %s", path, s, list);
	}
	case F_DURATION:
		if (duration_parse_ms(s, &ms) != 0 || ms < (int64_t)f->min ||
		    ms > (int64_t)f->max)
			return bad_set(b, "invalid_value", "field '%s': '%.64s' is "
			    "not a duration such as 90m, 24h or 7d of at least "
			    "%.0fms", path, s, f->min);
		return 0;
	case F_TIME:
		if (time_parse_rfc3339(s, &ms) != 0)
			return bad_set(b, "invalid_value", "field '%s': '%.64s' is "
			    "not an RFC 3339 UTC time such as "
			    "2026-01-31T03:00:00Z", path, s);
		return 0;
	default:
		return 0;
	}
}

static int check_fields(json_t *o, const struct field *spec,
    const char *prefix, struct bad *b)
{
	const char *key;
	json_t *v;
	char path[160];

	json_object_foreach(o, key, v) {
		const struct field *f = spec;
		while (f->name && strcmp(f->name, key) != 0)
			f++;
		snprintf(path, sizeof(path), "%s%s%.64s", prefix ? prefix : "",
		    prefix ? "." : "", key);
		if (f->name == NULL)
			return bad_set(b, "unknown_field", "unknown field '%s'",
			    path);
		if (json_is_null(v) && !f->required)
			continue;	/* null = not given, for optional fields */
		if (check_value(v, f, path, b) != 0)
			return -1;
	}
	for (const struct field *f = spec; f->name && !b->partial; f++) {
		v = json_object_get(o, f->name);
		if (f->required && (v == NULL || json_is_null(v))) {
			snprintf(path, sizeof(path), "%s%s%s", prefix ? prefix : "",
			    prefix ? "." : "", f->name);
			return bad_set(b, "missing_field", "missing field '%s' "
			    "(%s)", path, type_word(f->type));
		}
	}
	return 0;
}

/*
 * Parse the body as a JSON object and check it; answers 400 on failure.
 * partial (PATCH): the same types and ranges, but no field is required.
 */
static bool body_check(struct call *c, const struct field *spec, bool partial)
{
	json_error_t je;
	struct bad b = { .partial = partial };

	if (c->req->body == NULL) {
		reply_error(c, 400, "invalid_json", "a JSON object body is "
		    "required");
		return false;
	}
	c->body = json_loadb(c->req->body, c->req->body_len,
	    JSON_REJECT_DUPLICATES, &je);
	if (c->body == NULL) {
		reply_error(c, 400, "invalid_json", "body is not valid JSON: %s "
		    "at line %d column %d", je.text, je.line, je.column);
		return false;
	}
	if (!json_is_object(c->body)) {
		reply_error(c, 400, "invalid_json", "body must be a JSON object");
		return false;
	}
	if (check_fields(c->body, spec, NULL, &b) != 0) {
		reply_error(c, 400, b.code, "%s", b.msg);
		return false;
	}
	return true;
}

static bool body_ok(struct call *c, const struct field *spec)
{
	return body_check(c, spec, false);
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool path_name_ok(struct call *c, const char *what, const char *s)
{
	if (name_valid(s))
		return true;
	reply_error(c, 400, "invalid_name", "%s '%.64s' is not a valid name: "
	    "use 1 to 64 of A-Z a-z 0-9 _ -", what, s);
	return false;
}

static bool list_args(struct call *c, struct svc_list *l)
{
	const char *lim = httpd_query(c->req, "limit");
	l->cursor = httpd_query(c->req, "cursor");
	l->limit = 100;
	if (lim != NULL) {
		char *end;
		long n = strtol(lim, &end, 10);
		if (*lim == '\0' || *end || n < 1 || n > 1000) {
			reply_error(c, 400, "invalid_value", "query 'limit' must "
			    "be an integer from 1 to 1000, got '%.32s'", lim);
			return false;
		}
		l->limit = (int)n;
	}
	if (l->cursor != NULL && *l->cursor == '\0')
		l->cursor = NULL;
	return true;
}

/* ---------- handlers ---------- */

static void h_health(struct call *c)
{
	reply_json(c, 200, json_pack("{s:s,s:s,s:I}", "status", "ok",
	    "version", RM_VERSION, "uptime_s",
	    (json_int_t)(time(NULL) - c->api->started)));
}

static void h_metrics(struct call *c)
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

static const struct field f_cluster[] = {
	{ "name", F_NAME, true, 0, 0, NULL, NULL },
	{ "storage", F_OBJECT, true, 0, 0, NULL, f_storage },
	{ "ssh", F_OBJECT, true, 0, 0, NULL, f_ssh },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

/*
 * A cluster's settings are checked by the field tables above and this, for
 * both create (POST) and change (PATCH): one set of rules.
 */
static bool storage_url_ok(struct call *c, const char *url)
{
	if ((str_starts_with(url, "s3://") && url[5]) ||
	    (str_starts_with(url, "file:///") && url[8]))
		return true;
	reply_error(c, 400, "invalid_value", "field 'storage.url' must be "
	    "s3://bucket/prefix or file:///dir, got '%.128s'", url);
	return false;
}

static void h_cluster_create(struct call *c)
{
	struct svc_cluster cl;
	struct svc_err e = { 0 };
	json_t *out = NULL, *st, *ssh;

	if (!body_ok(c, f_cluster))
		return;
	st = json_object_get(c->body, "storage");
	ssh = json_object_get(c->body, "ssh");
	memset(&cl, 0, sizeof(cl));
	cl.name = jstr(c->body, "name");
	str_copy(c->cluster, cl.name, sizeof(c->cluster));
	str_copy(c->target, cl.name, sizeof(c->target));
	cl.storage_url = jstr(st, "url");
	cl.storage_endpoint = jstr(st, "endpoint");
	cl.storage_region = jstr(st, "region");
	if (!storage_url_ok(c, cl.storage_url))
		return;
	cl.ssh_user = jstr(ssh, "user");
	cl.ssh_key_file = jstr(ssh, "key_file");
	cl.ssh_port = json_is_integer(json_object_get(ssh, "port")) ?
	    (int)json_integer_value(json_object_get(ssh, "port")) : 22;
	if (service_cluster_create(c->api->svc, &cl, &out, &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 201, out);
}

/* The body of PATCH /clusters/{name}: the settings of create but the name. */
static const struct field f_cluster_patch[] = {
	{ "storage", F_OBJECT, false, 0, 0, NULL, f_storage },
	{ "ssh", F_OBJECT, false, 0, 0, NULL, f_ssh },
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
			reply_error(c, 400, "invalid_value", "field '%s.%s' cannot "
			    "be removed: give a new value", sect, f->name);
			return false;
		}
	}
	return true;
}

static void h_cluster_update(struct call *c)
{
	struct svc_cluster_patch p;
	struct svc_err e = { 0 };
	json_t *out = NULL, *st, *ssh;

	str_copy(c->target, c->param[0], sizeof(c->target));
	if (!path_name_ok(c, "cluster", c->param[0]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	if (!body_check(c, f_cluster_patch, true))
		return;
	st = json_object_get(c->body, "storage");
	ssh = json_object_get(c->body, "ssh");
	if (json_object_size(st) + json_object_size(ssh) == 0) {
		reply_error(c, 400, "invalid_value", "nothing to change: give "
		    "storage {url, endpoint, region} and/or ssh {user, port, "
		    "key_file}");
		return;
	}
	if (!not_cleared(c, st, "storage", f_storage) ||
	    !not_cleared(c, ssh, "ssh", f_ssh))
		return;
	memset(&p, 0, sizeof(p));
	p.storage_url = jstr(st, "url");
	if (p.storage_url != NULL && !storage_url_ok(c, p.storage_url))
		return;
	p.storage_endpoint = jstr(st, "endpoint");
	p.clear_storage_endpoint = json_is_null(json_object_get(st, "endpoint"));
	p.storage_region = jstr(st, "region");
	p.clear_storage_region = json_is_null(json_object_get(st, "region"));
	p.ssh_user = jstr(ssh, "user");
	p.ssh_key_file = jstr(ssh, "key_file");
	p.ssh_port = json_is_integer(json_object_get(ssh, "port")) ?
	    (int)json_integer_value(json_object_get(ssh, "port")) : 0;
	if (service_cluster_update(c->api->svc, c->param[0], &p, c->who.name,
	    &out, &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 200, out);
}

static void h_cluster_list(struct call *c)
{
	struct svc_list l;
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!list_args(c, &l))
		return;
	if (service_cluster_list(c->api->svc, &l, &out, &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 200, out);
}

static void h_cluster_get(struct call *c)
{
	struct svc_err e = { 0 };
	char *text;
	size_t len;

	if (!path_name_ok(c, "cluster", c->param[0]))
		return;
	if (service_cluster_get_text(c->api->svc, c->param[0], &text, &len,
	    &e) != 0) {
		reply_svc_error(c, &e);
		return;
	}
	c->resp->status = 200;
	c->resp->body = text;
	c->resp->len = len;
}

static void h_cluster_delete(struct call *c)
{
	struct svc_err e = { 0 };

	str_copy(c->target, c->param[0], sizeof(c->target));
	if (!path_name_ok(c, "cluster", c->param[0]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	if (service_cluster_delete(c->api->svc, c->param[0], &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 204, NULL);
}

static void h_nodes(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!path_name_ok(c, "cluster", c->param[0]))
		return;
	if (service_nodes_list(c->api->svc, c->param[0], &out, &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 200, out);
}

static void h_seeds(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!path_name_ok(c, "cluster", c->param[0]))
		return;
	if (service_seeds(c->api->svc, c->param[0], &out, &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 200, out);
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
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

/* An optional boolean: 1, 0, or -1 when absent or null. */
static int jtristate(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_boolean(v) ? json_is_true(v) : -1;
}

static void h_checkin(struct call *c)
{
	struct svc_checkin ci;
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!body_ok(c, f_checkin))
		return;
	ci.cluster = jstr(c->body, "cluster");
	ci.host_id = jstr(c->body, "host_id");
	ci.address = jstr(c->body, "address");
	ci.dc = jstr(c->body, "dc");
	ci.rack = jstr(c->body, "rack");
	ci.cassandra_version = jstr(c->body, "cassandra_version");
	ci.ssh_host_key = jstr(c->body, "ssh_host_key");
	ci.cassandra_running = jtristate(c->body, "cassandra_running");
	ci.has_data = jtristate(c->body, "has_data");
	ci.system_keyspace = jtristate(c->body, "system_keyspace");
	str_copy(c->cluster, ci.cluster, sizeof(c->cluster));
	snprintf(c->target, sizeof(c->target), "%s", ci.address);
	if (service_checkin(c->api->svc, &ci, &out, &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 200, out);
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
	/* Free-form reports kept for later policies (peer views, disks,
	 * demand): any JSON value. */
	{ "peers", F_ANY, false, 0, 0, NULL, NULL },
	{ "disks", F_ANY, false, 0, 0, NULL, NULL },
	{ "demand", F_ANY, false, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

static void h_heartbeat(struct call *c)
{
	struct svc_heartbeat hb;
	struct svc_err e = { 0 };
	json_t *lb;

	if (!body_ok(c, f_heartbeat))
		return;
	hb.cluster = jstr(c->body, "cluster");
	hb.address = jstr(c->body, "address");
	hb.host_id = jstr(c->body, "host_id");
	hb.status = jstr(c->body, "status");
	lb = json_object_get(c->body, "load_bytes");
	hb.load_bytes = json_is_integer(lb) ? (int64_t)json_integer_value(lb) : -1;
	hb.cassandra_version = jstr(c->body, "cassandra_version");
	if (service_heartbeat(c->api->svc, &hb, &e) != 0) {
		reply_svc_error(c, &e);
		return;
	}
	metrics_heartbeat(c->api->metrics);
	/* Thousands a second: one constant answer, built once by httpd. */
	c->resp->status = 200;
	c->resp->fixed_body = "{\"status\":\"ok\"}";
}

static const struct field f_task[] = {
	{ "type", F_NAME, true, 0, 0, NULL, NULL },
	{ "params", F_OBJECT, false, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

/* Check type and params of a task or schedule body; answers on failure. */
static bool task_type_ok(struct call *c, const char *type, json_t *params)
{
	struct svc_err e = { 0 };

	if (!service_task_type_known(c->api->svc, type)) {
		reply_error(c, 400, "invalid_value", "field 'type': unknown "
		    "task type '%.64s'", type);
		return false;
	}
	if (service_task_params_check(c->api->svc, type, params, &e) != 0) {
		reply_error(c, 400, "invalid_value", "%s", e.msg);
		return false;
	}
	return true;
}

static void h_task_submit(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL, *params;
	const char *type;

	str_copy(c->target, c->param[0], sizeof(c->target));
	if (!path_name_ok(c, "cluster", c->param[0]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	if (!body_ok(c, f_task))
		return;
	type = jstr(c->body, "type");
	params = json_object_get(c->body, "params");
	if (params == NULL || json_is_null(params)) {
		params = json_object();
		json_object_set_new(c->body, "params", params);
	}
	if (!task_type_ok(c, type, params))
		return;
	if (service_task_submit(c->api->svc, c->param[0], type, params, &out,
	    &e) != 0) {
		reply_svc_error(c, &e);
		return;
	}
	snprintf(c->target, sizeof(c->target), "%s",
	    jstr(out, "id") ? jstr(out, "id") : "");
	reply_json(c, 202, out);
}

static const char *const task_states[] = {
	"queued", "running", "paused", "succeeded", "failed", "cancelled", NULL,
};

static void h_task_list(struct call *c)
{
	struct svc_list l;
	struct svc_err e = { 0 };
	json_t *out = NULL;
	const char *state = httpd_query(c->req, "state");

	if (!path_name_ok(c, "cluster", c->param[0]) || !list_args(c, &l))
		return;
	if (state != NULL) {
		size_t i = 0;
		while (task_states[i] && strcmp(task_states[i], state) != 0)
			i++;
		if (task_states[i] == NULL) {
			reply_error(c, 400, "invalid_value", "query 'state': "
			    "unknown value '%.32s': expected one of queued, "
			    "running, paused, succeeded, failed, cancelled",
			    state);
			return;
		}
	}
	if (service_task_list(c->api->svc, c->param[0], state, &l, &out,
	    &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 200, out);
}

static bool task_id_ok(struct call *c)
{
	const char *id = c->param[0];
	size_t n = strlen(id);
	if (n == 0 || n > 64 || !name_valid(id)) {
		reply_error(c, 404, "not_found", "task '%.64s' not found", id);
		return false;
	}
	return true;
}

static void h_task_get(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!task_id_ok(c))
		return;
	if (service_task_get(c->api->svc, c->param[0], &out, &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 200, out);
}

static void task_action(struct call *c, const char *action)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	str_copy(c->target, c->param[0], sizeof(c->target));
	if (!task_id_ok(c))
		return;
	if (c->req->body != NULL || c->req->body_too_large) {
		/* Actions take no body; an empty object is tolerated. */
		json_t *b = json_loadb(c->req->body ? c->req->body : "",
		    c->req->body_len, 0, NULL);
		bool empty = json_is_object(b) && json_object_size(b) == 0;
		json_decref(b);
		if (!empty) {
			reply_error(c, 400, "invalid_json", "task %s takes no "
			    "body (or {})", action);
			return;
		}
	}
	if (service_task_action(c->api->svc, c->param[0], action, &out,
	    &e) != 0) {
		reply_svc_error(c, &e);
		return;
	}
	if (jstr(out, "cluster"))
		str_copy(c->cluster, jstr(out, "cluster"), sizeof(c->cluster));
	reply_json(c, 200, out);
}

static void h_task_cancel(struct call *c) { task_action(c, "cancel"); }
static void h_task_pause(struct call *c) { task_action(c, "pause"); }
static void h_task_resume(struct call *c) { task_action(c, "resume"); }

static const struct field f_schedule[] = {
	{ "type", F_NAME, true, 0, 0, NULL, NULL },
	{ "params", F_OBJECT, false, 0, 0, NULL, NULL },
	{ "every", F_DURATION, false, 1000, 3650.0 * 86400000, NULL, NULL },
	{ "cron", F_STRING, false, 0, 0, NULL, NULL },
	{ "start", F_TIME, false, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

static void h_schedule_create(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL, *params;
	const char *type, *every, *cron, *start;
	int64_t every_ms = 0, start_s = 0;

	str_copy(c->target, c->param[0], sizeof(c->target));
	if (!path_name_ok(c, "cluster", c->param[0]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	if (!body_ok(c, f_schedule))
		return;
	type = jstr(c->body, "type");
	every = jstr(c->body, "every");
	cron = jstr(c->body, "cron");
	start = jstr(c->body, "start");
	if ((every == NULL) == (cron == NULL)) {
		reply_error(c, 400, every ? "invalid_value" : "missing_field",
		    "a schedule needs exactly one of 'every' (such as 24h) and "
		    "'cron' (such as \"0 3 * * *\")");
		return;
	}
	if (every != NULL)
		duration_parse_ms(every, &every_ms);
	if (cron != NULL && service_cron_check(c->api->svc, cron, &e) != 0) {
		reply_error(c, 400, "invalid_value", "field 'cron': %s", e.msg);
		return;
	}
	if (start != NULL)
		time_parse_rfc3339(start, &start_s);
	params = json_object_get(c->body, "params");
	if (params == NULL || json_is_null(params)) {
		params = json_object();
		json_object_set_new(c->body, "params", params);
	}
	if (!task_type_ok(c, type, params))
		return;
	if (service_schedule_create(c->api->svc, c->param[0], type, params,
	    every_ms, cron, start_s, &out, &e) != 0) {
		reply_svc_error(c, &e);
		return;
	}
	snprintf(c->target, sizeof(c->target), "%s",
	    jstr(out, "id") ? jstr(out, "id") : "");
	reply_json(c, 201, out);
}

static void h_schedule_list(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!path_name_ok(c, "cluster", c->param[0]))
		return;
	if (service_schedule_list(c->api->svc, c->param[0], &out, &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 200, out);
}

static void h_schedule_delete(struct call *c)
{
	struct svc_err e = { 0 };

	str_copy(c->target, c->param[0], sizeof(c->target));
	if (!name_valid(c->param[0])) {
		reply_error(c, 404, "not_found", "schedule '%.64s' not found",
		    c->param[0]);
		return;
	}
	if (service_schedule_delete(c->api->svc, c->param[0], &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 204, NULL);
}

/* The task types and their parameters, from the engine's registry. */
static void h_task_types(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (service_task_types(c->api->svc, c->param[0], &out, &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 200, out);
}

static void h_events(struct call *c)
{
	struct svc_list l;
	struct svc_err e = { 0 };
	json_t *out = NULL;
	const char *since = httpd_query(c->req, "since");
	const char *cluster = httpd_query(c->req, "cluster");
	int64_t since_s = 0;

	if (!list_args(c, &l))
		return;
	if (since != NULL && time_parse_rfc3339(since, &since_s) != 0) {
		reply_error(c, 400, "invalid_value", "query 'since': '%.64s' is "
		    "not an RFC 3339 UTC time such as 2026-01-31T03:00:00Z",
		    since);
		return;
	}
	if (cluster != NULL && !path_name_ok(c, "cluster", cluster))
		return;
	if (service_events_list(c->api->svc, since_s, cluster, &l, &out,
	    &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 200, out);
}

/* ---------- backups ---------- */

static void h_backup_list(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!path_name_ok(c, "cluster", c->param[0]))
		return;
	if (service_backup_list(c->api->svc, c->param[0], &out, &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 200, out);
}

static void h_backup_get(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!path_name_ok(c, "cluster", c->param[0]))
		return;
	if (service_backup_get(c->api->svc, c->param[0], c->param[1], &out,
	    &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 200, out);
}

static void h_backup_delete(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	snprintf(c->target, sizeof(c->target), "%.64s/%.64s", c->param[0],
	    c->param[1]);
	if (!path_name_ok(c, "cluster", c->param[0]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	if (service_backup_delete(c->api->svc, c->param[0], c->param[1], &out,
	    &e) != 0)
		reply_svc_error(c, &e);
	else
		reply_json(c, 202, out);
}

/* ---------- routing ---------- */

static const struct route routes[] = {
	{ "GET", "/health", R_PUBLIC, false, h_health },
	{ "GET", "/metrics", R_PUBLIC, false, h_metrics },
	{ "POST", "/api/v1/clusters", R_ADMIN, true, h_cluster_create },
	{ "GET", "/api/v1/clusters", R_READ, false, h_cluster_list },
	{ "GET", "/api/v1/clusters/*", R_READ, false, h_cluster_get },
	{ "DELETE", "/api/v1/clusters/*", R_ADMIN, true, h_cluster_delete },
	{ "PATCH", "/api/v1/clusters/*", R_ADMIN, true, h_cluster_update },
	{ "GET", "/api/v1/clusters/*/nodes", R_READ, false, h_nodes },
	{ "GET", "/api/v1/clusters/*/seeds", R_READ | ROLE_AGENT, false, h_seeds },
	{ "POST", "/api/v1/agents/checkin", R_AGENT, true, h_checkin },
	/* Heartbeats change only a node's last-seen time: not audited. */
	{ "POST", "/api/v1/agents/heartbeat", R_AGENT, false, h_heartbeat },
	{ "POST", "/api/v1/clusters/*/tasks", R_OPERATE, true, h_task_submit },
	{ "GET", "/api/v1/clusters/*/tasks", R_READ, false, h_task_list },
	{ "GET", "/api/v1/tasks/*", R_READ, false, h_task_get },
	{ "POST", "/api/v1/tasks/*/cancel", R_OPERATE, true, h_task_cancel },
	{ "POST", "/api/v1/tasks/*/pause", R_OPERATE, true, h_task_pause },
	{ "POST", "/api/v1/tasks/*/resume", R_OPERATE, true, h_task_resume },
	{ "POST", "/api/v1/clusters/*/schedules", R_OPERATE, true, h_schedule_create },
	{ "GET", "/api/v1/clusters/*/schedules", R_READ, false, h_schedule_list },
	{ "DELETE", "/api/v1/schedules/*", R_OPERATE, true, h_schedule_delete },
	{ "GET", "/api/v1/events", R_READ, false, h_events },
	{ "GET", "/api/v1/task-types", R_READ, false, h_task_types },
	{ "GET", "/api/v1/task-types/*", R_READ, false, h_task_types },
	{ "GET", "/api/v1/clusters/*/backups", R_READ, false, h_backup_list },
	{ "GET", "/api/v1/clusters/*/backups/*", R_READ, false, h_backup_get },
	{ "DELETE", "/api/v1/clusters/*/backups/*", R_OPERATE, true, h_backup_delete },
};

/* Route patterns with {name}/{id} for metrics labels and events. */
static const char *const route_labels[] = {
	"/health", "/metrics", "/api/v1/clusters", "/api/v1/clusters",
	"/api/v1/clusters/{name}", "/api/v1/clusters/{name}",
	"/api/v1/clusters/{name}",
	"/api/v1/clusters/{name}/nodes", "/api/v1/clusters/{name}/seeds",
	"/api/v1/agents/checkin", "/api/v1/agents/heartbeat",
	"/api/v1/clusters/{name}/tasks", "/api/v1/clusters/{name}/tasks",
	"/api/v1/tasks/{id}", "/api/v1/tasks/{id}/cancel",
	"/api/v1/tasks/{id}/pause", "/api/v1/tasks/{id}/resume",
	"/api/v1/clusters/{name}/schedules", "/api/v1/clusters/{name}/schedules",
	"/api/v1/schedules/{id}", "/api/v1/events",
	"/api/v1/task-types", "/api/v1/task-types/{name}",
	"/api/v1/clusters/{name}/backups", "/api/v1/clusters/{name}/backups/{id}",
	"/api/v1/clusters/{name}/backups/{id}",
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

void api_free(struct api *api)
{
	if (api != NULL)
		free(api->split);
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
		reply_error(&c, 405, "method_not_allowed", "method %s is not "
		    "allowed on %.128s: use %s", req->method, req->path, av);
		goto out;
	}
	if (rt == NULL) {
		reply_error(&c, 404, "not_found", "no route %.128s %.256s: see "
		    "docs/api.md", req->method, req->path);
		goto out;
	}
	if (rt->roles != R_PUBLIC) {
		hdr = httpd_header(req, "Authorization");
		if (hdr == NULL || auth_verify(api->auth, hdr, &c.who) != 0) {
			resp->headers[0].name = "WWW-Authenticate";
			resp->headers[0].value = "Bearer realm=\"ringmaster\"";
			reply_error(&c, 401, "unauthorized", hdr == NULL ?
			    "no token: send 'Authorization: Bearer TOKEN'" :
			    "unknown or revoked token");
			goto out;
		}
		if ((rt->roles & (int)c.who.role) == 0) {
			reply_error(&c, 403, "forbidden", "token '%s' has role "
			    "%s, which may not %s %s", c.who.name,
			    auth_role_name(c.who.role), rt->method,
			    route_labels[ri]);
			goto audit;
		}
	}
	if (req->body_too_large) {
		reply_error(&c, 413, "body_too_large", "request body is larger "
		    "than %d bytes", API_MAX_BODY);
		goto audit;
	}
	rt->fn(&c);
audit:
	if (rt->audit)
		service_audit(api->svc, c.who.name, rt->method, route_labels[ri],
		    c.cluster[0] ? c.cluster : NULL,
		    c.target[0] ? c.target : (c.param[0] ? c.param[0] : NULL),
		    resp->status);
out:
	if (strcmp(req->method, "HEAD") == 0 && resp->body) {
		free(resp->body);
		resp->body = NULL;
		resp->len = 0;
	}
	metrics_http(api->metrics, ri, resp->status);
	json_decref(c.body);
}
