/*
 * api_tenants.c - /api/v1/clusters/{name}/tenants[/{tenant}]: create,
 * list, show, change (PATCH), delete (docs/api.md "Tenants").  Types and ranges are
 * checked here; the service checks what depends on them (overlap < k,
 * min <= k <= max) and places the shard.
 */
#include <stdio.h>
#include <string.h>

#include "../../common/util.h"
#include "../service/service.h"
#include "api_int.h"

static const struct field f_tenant[] = {
	{ "name", F_NAME, true, 0, 0, NULL, NULL },
	{ "keyspaces", F_ARRAY, false, 0, 0, NULL, NULL },
	{ "prefix", F_STRING, false, 0, 0, NULL, NULL },
	{ "k", F_INT, false, 1, 16, NULL, NULL },
	{ "overlap", F_INT, false, 0, 15, NULL, NULL },
	{ "min_services", F_INT, false, 1, 16, NULL, NULL },
	{ "max_services", F_INT, false, 1, 16, NULL, NULL },
	{ "limit_default", F_INT, false, 1, 1e9, NULL, NULL },
	{ "limit_max", F_INT, false, 1, 1e9, NULL, NULL },
	{ "autoscale", F_BOOL, false, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

/* What PATCH may change; the shape and the keyspaces stay (docs/api.md). */
static const struct field f_tenant_patch[] = {
	{ "name", F_NAME, false, 0, 0, NULL, NULL },
	{ "keyspaces", F_ANY, false, 0, 0, NULL, NULL },
	{ "prefix", F_ANY, false, 0, 0, NULL, NULL },
	{ "k", F_ANY, false, 0, 0, NULL, NULL },
	{ "overlap", F_ANY, false, 0, 0, NULL, NULL },
	{ "min_services", F_INT, false, 1, 16, NULL, NULL },
	{ "max_services", F_INT, false, 1, 16, NULL, NULL },
	{ "limit_default", F_INT, false, 1, 1e9, NULL, NULL },
	{ "limit_max", F_INT, false, 1, 1e9, NULL, NULL },
	{ "autoscale", F_BOOL, false, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

static int64_t int_or(json_t *body, const char *key, int64_t def)
{
	json_t *v = json_object_get(body, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

void api_h_tenant_create(struct call *c)
{
	struct svc_err e = { 0 };
	struct svc_tenant t = { 0 };
	const char *ks[64];
	json_t *out = NULL, *a, *v;
	size_t i;

	str_copy(c->target, c->param[0], sizeof(c->target));
	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	if (!api_body_ok(c, f_tenant))
		return;
	t.name = api_jstr(c->body, "name");
	snprintf(c->target, sizeof(c->target), "%s/%s", c->param[0], t.name);
	a = json_object_get(c->body, "keyspaces");
	if (a != NULL && json_array_size(a) > ARRAY_SIZE(ks)) {
		api_reply_error(c, 400, "invalid_value", "field 'keyspaces': "
		    "%zu names, at most %zu; use 'prefix'", json_array_size(a),
		    ARRAY_SIZE(ks));
		return;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			api_reply_error(c, 400, "invalid_value", "field "
			    "'keyspaces': item %zu is not a string: a list of "
			    "keyspace names such as [\"orders\", \"users\"]",
			    i + 1);
			return;
		}
		ks[i] = json_string_value(v);
	}
	if (a != NULL && json_array_size(a) == 0) {
		api_reply_error(c, 400, "invalid_value", "field 'keyspaces' is "
		    "empty: list at least one keyspace, or give 'prefix'");
		return;
	}
	t.keyspaces = ks;
	t.nkeyspaces = json_array_size(a);
	t.prefix = api_jstr(c->body, "prefix");
	t.k = (int)int_or(c->body, "k", 0);
	t.overlap = (int)int_or(c->body, "overlap", -1);
	t.min_services = (int)int_or(c->body, "min_services", 0);
	t.max_services = (int)int_or(c->body, "max_services", 0);
	t.limit_default = int_or(c->body, "limit_default", 0);
	t.limit_max = int_or(c->body, "limit_max", 0);
	t.autoscale = json_is_boolean(json_object_get(c->body, "autoscale")) ?
	    json_is_true(json_object_get(c->body, "autoscale")) : -1;
	if (service_tenant_create(c->api->svc, c->param[0], &t, &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 201, out);
}

void api_h_tenant_list(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	if (service_tenant_list(c->api->svc, c->param[0], &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

void api_h_tenant_get(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!api_path_name_ok(c, "cluster", c->param[0]) ||
	    !api_path_name_ok(c, "tenant", c->param[1]))
		return;
	if (service_tenant_get(c->api->svc, c->param[0], c->param[1], &out,
	    &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

void api_h_tenant_delete(struct call *c)
{
	struct svc_err e = { 0 };

	snprintf(c->target, sizeof(c->target), "%s/%s", c->param[0],
	    c->param[1]);
	if (!api_path_name_ok(c, "cluster", c->param[0]) ||
	    !api_path_name_ok(c, "tenant", c->param[1]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	if (service_tenant_delete(c->api->svc, c->param[0], c->param[1],
	    &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 204, NULL);
}

void api_h_tenant_update(struct call *c)
{
	static const char *const fixed[] = {
		"name", "keyspaces", "prefix", "k", "overlap",
	};
	struct svc_err e = { 0 };
	struct svc_tenant t = { 0 };
	json_t *out = NULL, *v;

	snprintf(c->target, sizeof(c->target), "%s/%s", c->param[0],
	    c->param[1]);
	if (!api_path_name_ok(c, "cluster", c->param[0]) ||
	    !api_path_name_ok(c, "tenant", c->param[1]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	if (!api_body_ok(c, f_tenant_patch))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (json_object_get(c->body, fixed[i]) != NULL) {
			api_reply_error(c, 400, "invalid_value", "field '%s' "
			    "cannot be changed: a tenant keeps its name, "
			    "keyspaces and shard shape; delete it and create "
			    "it again", fixed[i]);
			return;
		}
	t.min_services = (int)int_or(c->body, "min_services", 0);
	t.max_services = (int)int_or(c->body, "max_services", 0);
	t.limit_default = int_or(c->body, "limit_default", 0);
	t.limit_max = int_or(c->body, "limit_max", 0);
	v = json_object_get(c->body, "autoscale");
	t.autoscale = json_is_boolean(v) ? json_is_true(v) : -1;
	if (service_tenant_update(c->api->svc, c->param[0], c->param[1], &t,
	    &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}
