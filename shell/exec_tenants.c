/*
 * exec_tenants.c - tenants, tenant create/show/delete
 * (POST/GET/DELETE /api/v1/clusters/{name}/tenants[/{tenant}]).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "exec_int.h"
#include "table.h"

/* "2/3 up" and the health word, from a tenant object. */
static void tn_health(const json_t *t, char *buf, size_t size)
{
	char up[24], all[24];

	exec_fmt_int(json_object_get(t, "services_up"), up, sizeof(up));
	exec_fmt_int(json_object_get(t, "services"), all, sizeof(all));
	snprintf(buf, size, "%s (%s/%s up)", exec_jstr(t, "health") ?
	    exec_jstr(t, "health") : "?", up, all);
}

/* "keyspaces a,b" or "prefix p_" */
static void tn_keyspaces(const json_t *t, char *buf, size_t size)
{
	json_t *ks = json_object_get(t, "keyspaces"), *v;
	size_t i, off = 0;

	buf[0] = '\0';
	if (!json_is_array(ks)) {
		snprintf(buf, size, "%s*", exec_jstr(t, "prefix") ?
		    exec_jstr(t, "prefix") : "?");
		return;
	}
	json_array_foreach(ks, i, v) {
		int n = snprintf(buf + off, size - off, "%s%s", i ? "," : "",
		    json_string_value(v) ? json_string_value(v) : "?");
		if (n < 0 || (size_t)n >= size - off)
			break;
		off += (size_t)n;
	}
}

static void tn_shard(const json_t *t, char *buf, size_t size)
{
	json_t *v;
	size_t i, off = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(t, "shard"), i, v) {
		int n = snprintf(buf + off, size - off, "%s%s%s", i ? " " : "",
		    exec_jstr(v, "address") ? exec_jstr(v, "address") : "?",
		    json_is_true(json_object_get(v, "up")) ? "" : "(down)");
		if (n < 0 || (size_t)n >= size - off)
			break;
		off += (size_t)n;
	}
}

int exec_tenants_list(struct exec_ctx *x)
{
	struct client_resp r;
	int lr = exec_cluster_list(x, exec_pick_cluster(x, NULL), "/tenants",
	    &r);

	if (lr != LIST_TABLE)
		return lr == LIST_DONE ? EXEC_OK : EXEC_FAILED;
	struct table *t = table_new(5, (const char *const[]){ "NAME",
	    "KEYSPACES", "HEALTH", "LIMIT", "SHARD" });
	size_t i;
	json_t *it;
	json_array_foreach(exec_items_of(r.json), i, it) {
		char ks[256], health[64], limit[32], shard[512];
		tn_keyspaces(it, ks, sizeof(ks));
		tn_health(it, health, sizeof(health));
		exec_fmt_int(json_object_get(json_object_get(it, "limits"),
		    "current"), limit, sizeof(limit));
		tn_shard(it, shard, sizeof(shard));
		const char *cells[5] = { exec_jstr(it, "name"), ks, health,
		    limit, shard };
		table_add(t, cells);
	}
	exec_print_table(x, t, "no tenants — add one with 'tenant create'");
	table_free(t);
	client_resp_release(&r);
	return EXEC_OK;
}

static char *tn_path(const char *cluster, const char *name)
{
	char *e = client_escape(name), *rest = xasprintf("/tenants/%s", e);
	char *p = exec_cluster_path(cluster, rest);

	free(e);
	free(rest);
	return p;
}

static void tn_print(const json_t *j)
{
	char buf[512], a[24], b[24], c[24];
	const json_t *lim = json_object_get(j, "limits"), *d, *v;
	size_t i;

	exec_kv_line("name", exec_jstr(j, "name"));
	tn_keyspaces(j, buf, sizeof(buf));
	exec_kv_line(json_is_array(json_object_get(j, "keyspaces")) ?
	    "keyspaces" : "prefix", buf);
	exec_fmt_int(json_object_get(j, "k"), a, sizeof(a));
	exec_fmt_int(json_object_get(j, "overlap"), b, sizeof(b));
	snprintf(buf, sizeof(buf), "k = %s, overlap <= %s", a, b);
	exec_kv_line("shard size", buf);
	tn_health(j, buf, sizeof(buf));
	exec_kv_line("health", buf);
	json_array_foreach(json_object_get(j, "shard"), i, v) {
		exec_fmt_int(json_object_get(v, "service"), a, sizeof(a));
		int n = snprintf(buf, sizeof(buf), "%s (service %s): %s",
		    exec_jstr(v, "address") ? exec_jstr(v, "address") : "?", a,
		    exec_jstr(v, "state") ? exec_jstr(v, "state") : "?");
		if (json_is_integer(json_object_get(v, "limit_applied")) &&
		    n > 0 && (size_t)n < sizeof(buf)) {
			exec_fmt_int(json_object_get(v, "limit_applied"), b,
			    sizeof(b));
			n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			    ", enforces %s ops/s", b);
		}
		if (exec_jstr(v, "limits_error") && n > 0 &&
		    (size_t)n < sizeof(buf))
			snprintf(buf + n, sizeof(buf) - (size_t)n,
			    "; limits error: %s", exec_jstr(v, "limits_error"));
		exec_kv_line(i == 0 ? "shard" : "", buf);
	}
	exec_fmt_int(json_object_get(lim, "current"), a, sizeof(a));
	exec_fmt_int(json_object_get(lim, "default"), b, sizeof(b));
	exec_fmt_int(json_object_get(lim, "max"), c, sizeof(c));
	snprintf(buf, sizeof(buf), "%s ops/s per service (default %s, max "
	    "%s)%s", a, b, c, json_is_false(json_object_get(lim, "confirmed")) ?
	    "; not confirmed by every service yet" : "");
	exec_kv_line("limit", buf);
	exec_fmt_int(json_object_get(j, "services_target"), c, sizeof(c));
	exec_fmt_int(json_object_get(j, "min_services"), a, sizeof(a));
	exec_fmt_int(json_object_get(j, "max_services"), b, sizeof(b));
	snprintf(buf, sizeof(buf), "%s (from %s to %s)", c, a, b);
	exec_kv_line("services", buf);
	snprintf(buf, sizeof(buf), "%s", json_is_true(json_object_get(j,
	    "autoscale")) ? "on" : "off");
	if (exec_jstr(j, "scaled_at")) {
		char when[64];
		exec_fmt_when(exec_jstr(j, "scaled_at"), when, sizeof(when));
		snprintf(buf, sizeof(buf), "%s, last scaled %s",
		    json_is_true(json_object_get(j, "autoscale")) ? "on" :
		    "off", when);
	}
	exec_kv_line("autoscale", buf);
	if (exec_jstr(j, "scale_error"))
		exec_kv_line("cannot scale", exec_jstr(j, "scale_error"));
	d = json_object_get(j, "demand");
	if (json_is_object(d)) {
		exec_fmt_int(json_object_get(d, "ops"), a, sizeof(a));
		snprintf(buf, sizeof(buf), "%s ops/s", a);
		exec_kv_line("demand", buf);
	} else {
		exec_kv_line("demand", "not reported yet");
	}
	if (exec_jstr(j, "created_at")) {
		exec_fmt_when(exec_jstr(j, "created_at"), buf, sizeof(buf));
		exec_kv_line("created", buf);
	}
}

/* method on the tenant NAME of cluster (body may be NULL), then print the
 * tenant the answer holds. */
static int tn_call_print(struct exec_ctx *x, const char *cluster,
    const char *method, json_t *body)
{
	struct client_resp r;
	char *p = tn_path(cluster, cmd_arg(x->call, "NAME"));
	int rc = exec_call_api(x, method, p, body, &r);

	free(p);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json)
		exec_print_raw(&r);
	else
		tn_print(r.json);
	client_resp_release(&r);
	return EXEC_OK;
}

int exec_tenant_show(struct exec_ctx *x)
{
	const char *cluster = exec_pick_cluster(x, NULL);

	if (cluster == NULL)
		return EXEC_FAILED;
	return tn_call_print(x, cluster, "GET", NULL);
}

/* A --flag NUMBER into body[key]; -1 (printed) when it is not one. */
static int tn_int_flag(struct exec_ctx *x, const char *flag, const char *key,
    json_t *body)
{
	const char *v = cmd_flag(x->call, flag);
	char *end;
	long n;

	if (v == NULL)
		return 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || n < 0 || n > 1000000000) {
		exec_usage_fail(x->call, "%s wants a whole number, not '%s'",
		    flag, v);
		return -1;
	}
	json_object_set_new(body, key, json_integer(n));
	return 0;
}

int exec_tenant_create(struct exec_ctx *x)
{
	const char *ks = cmd_flag(x->call, "--keyspaces");
	const char *prefix = cmd_flag(x->call, "--prefix");
	const char *cluster;
	struct client_resp r;
	json_t *body;
	char *p, buf[512];
	int rc;

	if ((ks == NULL) == (prefix == NULL))
		return exec_usage_fail(x->call, "give exactly one of "
		    "--keyspaces a,b and --prefix p");
	body = json_pack("{s:s}", "name", cmd_arg(x->call, "NAME"));
	if (ks != NULL) {
		json_t *a = json_array();
		char *copy = xstrdup(ks), *save = NULL;
		for (char *w = strtok_r(copy, ",", &save); w;
		    w = strtok_r(NULL, ",", &save))
			json_array_append_new(a, json_string(w));
		free(copy);
		json_object_set_new(body, "keyspaces", a);
	} else {
		json_object_set_new(body, "prefix", json_string(prefix));
	}
	if (tn_int_flag(x, "--k", "k", body) < 0 ||
	    tn_int_flag(x, "--overlap", "overlap", body) < 0 ||
	    tn_int_flag(x, "--min", "min_services", body) < 0 ||
	    tn_int_flag(x, "--max", "max_services", body) < 0) {
		json_decref(body);
		return EXEC_USAGE;
	}
	if ((cluster = exec_pick_cluster(x, NULL)) == NULL) {
		json_decref(body);
		return EXEC_FAILED;
	}
	p = exec_cluster_path(cluster, "/tenants");
	rc = exec_call_api(x, "POST", p, body, &r);
	free(p);
	json_decref(body);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json) {
		exec_print_raw(&r);
	} else {
		tn_shard(r.json, buf, sizeof(buf));
		printf("created tenant %s on '%s': shard %s\n",
		    cmd_arg(x->call, "NAME"), cluster, buf);
	}
	client_resp_release(&r);
	return EXEC_OK;
}

int exec_tenant_delete(struct exec_ctx *x)
{
	const char *cluster = exec_pick_cluster(x, NULL);
	struct client_resp r;
	char *p;
	int rc;

	if (cluster == NULL)
		return EXEC_FAILED;
	p = tn_path(cluster, cmd_arg(x->call, "NAME"));
	rc = exec_call_api(x, "DELETE", p, NULL, &r);
	free(p);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json)
		printf("{}\n");
	else
		printf("deleted tenant %s of '%s'; its shard is free\n",
		    cmd_arg(x->call, "NAME"), cluster);
	client_resp_release(&r);
	return EXEC_OK;
}

int exec_tenant_set(struct exec_ctx *x)
{
	const char *as = cmd_flag(x->call, "--autoscale");
	const char *cluster;
	json_t *body = json_object();
	int rc;

	if (as != NULL && strcmp(as, "on") != 0 && strcmp(as, "off") != 0) {
		json_decref(body);
		return exec_usage_fail(x->call, "--autoscale wants on or off, "
		    "not '%s'", as);
	}
	if (as != NULL)
		json_object_set_new(body, "autoscale",
		    json_boolean(strcmp(as, "on") == 0));
	if (tn_int_flag(x, "--limit-default", "limit_default", body) < 0 ||
	    tn_int_flag(x, "--limit-max", "limit_max", body) < 0 ||
	    tn_int_flag(x, "--min", "min_services", body) < 0 ||
	    tn_int_flag(x, "--max", "max_services", body) < 0) {
		json_decref(body);
		return EXEC_USAGE;
	}
	if (json_object_size(body) == 0) {
		json_decref(body);
		return exec_usage_fail(x->call, "nothing to change: give "
		    "--autoscale, --limit-default, --limit-max, --min or --max");
	}
	if ((cluster = exec_pick_cluster(x, NULL)) == NULL) {
		json_decref(body);
		return EXEC_FAILED;
	}
	rc = tn_call_print(x, cluster, "PATCH", body);
	json_decref(body);
	return rc;
}
