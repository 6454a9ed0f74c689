/*
 * exec_clusters.c - the handlers of connections and clusters: health,
 * connect, connections, use, clusters list/show/create/update/delete, nodes,
 * seeds.
 * See exec.c for how a handler works and exec_int.h for what they share.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "../common/orchlist.h"
#include "client.h"
#include "ids.h"
#include "table.h"
#include "watch.h"
#include "exec.h"
#include "exec_int.h"

/* ---- connections ---- */

int exec_health(struct exec_ctx *x)
{
	struct client_resp r;
	if (exec_call_api(x, "GET", "/health", NULL, &r) < 0)
		return EXEC_FAILED;
	if (x->json) {
		exec_print_raw(&r);
	} else {
		char up[32];
		duration_human(json_integer_value(json_object_get(r.json,
		    "uptime_s")), DURATION_SPACED, up, sizeof(up));
		printf("%s  ringmaster %s  up %s  at %s\n",
		    exec_jstr(r.json, "status") ? exec_jstr(r.json, "status") : "?",
		    exec_jstr(r.json, "version") ? exec_jstr(r.json, "version") : "?", up,
		    client_current(x->sh->client)->url);
	}
	client_resp_release(&r);
	return EXEC_OK;
}

int exec_connect(struct exec_ctx *x)
{
	struct client *c = x->sh->client;
	const char *url = cmd_arg(x->call, "URL");
	const char *name = cmd_arg(x->call, "NAME");
	const char *tf = cmd_flag(x->call, "--token-file");
	char err[512], *token = NULL, *gen = NULL;

	if (tf && (token = client_read_token(tf, err, sizeof(err))) == NULL)
		return exec_fail("%s — give a readable file with the token on "
		    "one line", err);
	if (name == NULL)
		name = gen = client_next_name(c);
	/* Keep the cluster chosen earlier when reconnecting under a name. */
	char *keep = NULL;
	for (size_t i = 0; i < client_count(c); i++)
		if (strcmp(client_conn_at(c, i)->name, name) == 0 &&
		    client_conn_at(c, i)->cluster)
			keep = xstrdup(client_conn_at(c, i)->cluster);
	int rc = client_add(c, name, url, token, tf, cmd_flag(x->call,
	    "--ca-file"), keep, err, sizeof(err));
	free(token);
	free(keep);
	if (rc < 0) {
		free(gen);
		return exec_usage_fail(x->call, "%s", err);
	}
	struct client_resp r;
	if (client_call(c, "GET", "/health", NULL, &r) < 0) {
		exec_fail("%s", client_error(c));
		exec_fail("connection '%s' is kept; fix it with 'connect %s as %s "
		    "...' or switch with 'use NAME'", name, url, name);
		free(gen);
		return EXEC_FAILED;
	}
	if (x->json)
		exec_print_raw(&r);
	else
		printf("connected to %s as '%s' (ringmaster %s)\n",
		    client_current(c)->url, name,
		    exec_jstr(r.json, "version") ? exec_jstr(r.json, "version") : "?");
	client_resp_release(&r);
	free(gen);
	return EXEC_OK;
}

int exec_connections(struct exec_ctx *x)
{
	struct client *c = x->sh->client;
	struct client_conn *cur = client_current(c);

	if (x->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < client_count(c); i++) {
			const struct client_conn *cn = client_conn_at(c, i);
			json_t *urls = json_array();
			for (size_t k = 0; k < cn->orchs->n; k++)
				json_array_append_new(urls,
				    json_string(cn->orchs->v[k].base));
			json_array_append_new(a, json_pack("{s:s,s:s,s:o,s:s?,s:s?,s:b}",
			    "name", cn->name, "url", cn->url, "urls", urls,
			    "cluster", cn->cluster, "token_source",
			    cn->token_source, "current", cn == cur));
		}
		char *s = json_dumps(a, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
		json_decref(a);
		return EXEC_OK;
	}
	if (client_count(c) == 0) {
		printf("no connections — add one with 'connect URL [as NAME]'\n");
		return EXEC_OK;
	}
	struct table *t = table_new(5, (const char *const[]){ "", "NAME", "URL",
	    "CLUSTER", "TOKEN" });
	for (size_t i = 0; i < client_count(c); i++) {
		const struct client_conn *cn = client_conn_at(c, i);
		/* With several orchestrators: the one answering, then the
		 * others it may move to. */
		char *where = cn->orchs->n > 1 ? xasprintf("%s (of %s)", cn->url,
		    cn->urls) : xstrdup(cn->url);
		const char *cells[5] = { cn == cur ? "*" : " ", cn->name, where,
		    cn->cluster, cn->token ? (cn->token_source ?
		    cn->token_source : "given") : "none" };
		table_add(t, cells);
		free(where);
	}
	exec_print_table(x, t, "");
	table_free(t);
	return EXEC_OK;
}

/* Check cluster exists on the current connection, then make it current. */
static int use_cluster(struct exec_ctx *x, const char *cluster)
{
	struct client_resp r;
	if (!name_valid(cluster))
		return exec_usage_fail(x->call, "'%s' is neither a connection nor a "
		    "cluster name", cluster);
	char *p = exec_cluster_path(cluster, "");
	int rc = exec_call_api(x, "GET", p, NULL, &r);
	free(p);
	if (rc < 0)
		return EXEC_FAILED;
	client_resp_release(&r);
	struct client_conn *cn = client_current(x->sh->client);
	free(cn->cluster);
	cn->cluster = xstrdup(cluster);
	if (!x->json)
		printf("using cluster '%s' on '%s'\n", cluster, cn->name);
	return EXEC_OK;
}

int exec_use(struct exec_ctx *x)
{
	struct client *c = x->sh->client;
	const char *target = cmd_arg(x->call, "TARGET");
	const char *slash = strchr(target, '/');

	if (slash) {
		char *conn = xstrndup(target, (size_t)(slash - target));
		int rc = client_use(c, conn);
		if (rc < 0) {
			exec_fail("no connection named '%s' — see 'connections'", conn);
			free(conn);
			return EXEC_FAILED;
		}
		free(conn);
		return use_cluster(x, slash + 1);
	}
	if (client_use(c, target) == 0) {
		struct client_conn *cn = client_current(c);
		if (!x->json)
			printf("using connection '%s' (%s)%s%s\n", cn->name,
			    cn->url, cn->cluster ? ", cluster " : "",
			    cn->cluster ? cn->cluster : "");
		return EXEC_OK;
	}
	if (client_current(c) == NULL)
		return exec_fail("no connection named '%s' — add one with 'connect "
		    "URL as %s'", target, target);
	return use_cluster(x, target);
}

/* ---- clusters ---- */

int exec_clusters_list(struct exec_ctx *x)
{
	struct client_resp r;
	if (exec_get_list(x, "/api/v1/clusters", &r) < 0)
		return EXEC_FAILED;
	if (x->json) {
		exec_print_raw(&r);
		client_resp_release(&r);
		return EXEC_OK;
	}
	struct table *t = table_new(6, (const char *const[]){ "NAME", "STORAGE",
	    "NODES UP", "DOWN", "QUEUE", "CREATED" });
	size_t i;
	json_t *it;
	json_array_foreach(exec_items_of(r.json), i, it) {
		char up[24], down[24], q[24], created[32];
		exec_fmt_int(json_object_get(it, "nodes_up"), up, sizeof(up));
		exec_fmt_int(json_object_get(it, "nodes_down"), down, sizeof(down));
		exec_fmt_int(json_object_get(it, "queue_depth"), q, sizeof(q));
		exec_fmt_ago(exec_jstr(it, "created_at"), created, sizeof(created));
		const char *cells[6] = { exec_jstr(it, "name"),
		    exec_jstr(json_object_get(it, "storage"), "url"), up, down, q,
		    created };
		table_add(t, cells);
	}
	exec_print_table(x, t, "no clusters — add one with 'clusters create'");
	table_free(t);
	client_resp_release(&r);
	return EXEC_OK;
}

void exec_kv_line(const char *key, const char *value)
{
	printf("%-14s %s\n", key, value && *value ? value : "-");
}

int exec_clusters_show(struct exec_ctx *x)
{
	const char *cluster = exec_pick_cluster(x, cmd_arg(x->call, "CLUSTER"));
	struct client_resp r;
	char buf[128];
	if (cluster == NULL)
		return EXEC_FAILED;
	char *p = exec_cluster_path(cluster, "");
	int rc = exec_call_api(x, "GET", p, NULL, &r);
	free(p);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json) {
		exec_print_raw(&r);
		client_resp_release(&r);
		return EXEC_OK;
	}
	json_t *j = r.json, *st = json_object_get(j, "storage"),
	    *ssh = json_object_get(j, "ssh");
	exec_kv_line("name", exec_jstr(j, "name"));
	exec_kv_line("storage", exec_jstr(st, "url"));
	if (exec_jstr(st, "endpoint"))
		exec_kv_line("  endpoint", exec_jstr(st, "endpoint"));
	if (exec_jstr(st, "region"))
		exec_kv_line("  region", exec_jstr(st, "region"));
	if (ssh) {
		json_t *port = json_object_get(ssh, "port");
		snprintf(buf, sizeof(buf), "%s@port %lld, key %s",
		    exec_jstr(ssh, "user") ? exec_jstr(ssh, "user") : "?",
		    json_is_integer(port) ? (long long)json_integer_value(port) :
		    22LL, exec_jstr(ssh, "key_file") ? exec_jstr(ssh, "key_file") : "-");
		exec_kv_line("ssh", buf);
	}
	char up[24], down[24], q[24];
	exec_fmt_int(json_object_get(j, "nodes_up"), up, sizeof(up));
	exec_fmt_int(json_object_get(j, "nodes_down"), down, sizeof(down));
	exec_fmt_int(json_object_get(j, "queue_depth"), q, sizeof(q));
	snprintf(buf, sizeof(buf), "%s up, %s down", up, down);
	exec_kv_line("nodes", buf);
	exec_kv_line("queue depth", q);
	json_t *run = json_object_get(j, "running_task");
	if (json_is_object(run)) {
		snprintf(buf, sizeof(buf), "%s (%s, %s)", exec_jstr(run, "id"),
		    exec_jstr(run, "type") ? exec_jstr(run, "type") : "?",
		    exec_jstr(run, "state") ? exec_jstr(run, "state") : "?");
		exec_kv_line("running task", buf);
	} else {
		exec_kv_line("running task", json_string_value(run));
	}
	if (exec_jstr(j, "created_at")) {
		exec_fmt_when(exec_jstr(j, "created_at"), buf, sizeof(buf));
		exec_kv_line("created", buf);
	}
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(j, "settings"), key, v) {
		char label[64];
		snprintf(label, sizeof(label), "  %s", key);
		if (json_is_boolean(v))
			exec_kv_line(label, json_is_true(v) ? "true" : "false");
		else
			exec_kv_line(label, json_string_length(v) > 0 ?
			    json_string_value(v) : "-");
	}
	client_resp_release(&r);
	return EXEC_OK;
}

/* Set o[key] to a string flag's value when it was given. */
static void set_flag_str(json_t *o, const struct cmd_call *c,
    const char *flag, const char *key)
{
	if (cmd_flag(c, flag))
		json_object_set_new(o, key, json_string(cmd_flag(c, flag)));
}

/*
 * The "storage" and "ssh" objects of a cluster body from the flags create
 * and update share; only what was given is set ("--no-X" sets null).  NULL
 * after a usage error (printed).
 */
static json_t *cluster_settings(const struct cmd_call *c)
{
	const char *port = cmd_flag(c, "--ssh-port");
	json_t *body = json_object(), *st = json_object(), *ssh = json_object();

	set_flag_str(st, c, "--storage", "url");
	set_flag_str(st, c, "--endpoint", "endpoint");
	set_flag_str(st, c, "--region", "region");
	if (cmd_flag(c, "--no-endpoint"))
		json_object_set_new(st, "endpoint", json_null());
	if (cmd_flag(c, "--no-region"))
		json_object_set_new(st, "region", json_null());
	set_flag_str(ssh, c, "--ssh-user", "user");
	set_flag_str(ssh, c, "--ssh-key", "key_file");
	if (port) {
		long long pn = strtoll(port, NULL, 10);
		if (pn < 1 || pn > 65535) {
			json_decref(body);
			json_decref(st);
			json_decref(ssh);
			exec_usage_fail(c, "--ssh-port wants 1..65535, not %s", port);
			return NULL;
		}
		json_object_set_new(ssh, "port", json_integer(pn));
	}
	if (json_object_size(st) > 0)
		json_object_set(body, "storage", st);
	if (json_object_size(ssh) > 0)
		json_object_set(body, "ssh", ssh);
	json_decref(st);
	json_decref(ssh);
	/* key=value words are lifecycle settings, checked by the
	 * orchestrator; "key=" resets one to its default. */
	if (c->nkv > 0) {
		json_t *set = json_object();
		for (size_t i = 0; i < c->nkv; i++) {
			const char *eq = strchr(c->kv[i], '=');
			char *k = xstrndup(c->kv[i], (size_t)(eq - c->kv[i]));
			json_object_set_new(set, k, eq[1] ? json_string(eq + 1) :
			    json_null());
			free(k);
		}
		json_object_set_new(body, "settings", set);
	}
	return body;
}

int exec_clusters_create(struct exec_ctx *x)
{
	struct cmd_call *c = x->call;
	struct client_resp r;
	json_t *body = cluster_settings(c);
	if (body == NULL)
		return EXEC_USAGE;
	json_object_set_new(body, "name", json_string(cmd_arg(c, "CLUSTER")));
	int rc = exec_call_api(x, "POST", "/api/v1/clusters", body, &r);
	json_decref(body);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json)
		exec_print_raw(&r);
	else
		printf("created cluster '%s' — select it with 'use %s'\n",
		    cmd_arg(c, "CLUSTER"), cmd_arg(c, "CLUSTER"));
	client_resp_release(&r);
	return EXEC_OK;
}

int exec_clusters_update(struct exec_ctx *x)
{
	struct cmd_call *c = x->call;
	struct client_resp r;
	const char *cluster;
	json_t *body;

	if (cmd_flag(c, "--endpoint") && cmd_flag(c, "--no-endpoint"))
		return exec_usage_fail(c, "give --endpoint or --no-endpoint, not both");
	if (cmd_flag(c, "--region") && cmd_flag(c, "--no-region"))
		return exec_usage_fail(c, "give --region or --no-region, not both");
	if ((body = cluster_settings(c)) == NULL)
		return EXEC_USAGE;
	if (json_object_size(body) == 0) {
		json_decref(body);
		return exec_usage_fail(c, "nothing to change: give at least one of "
		    "--storage, --endpoint, --region, --ssh-user, --ssh-port, "
		    "--ssh-key (or --no-endpoint, --no-region), or a setting as "
		    "key=value (replace_after=30m)");
	}
	if ((cluster = exec_pick_cluster(x, cmd_arg(c, "CLUSTER"))) == NULL) {
		json_decref(body);
		return EXEC_FAILED;
	}
	char *p = exec_cluster_path(cluster, "");
	int rc = exec_call_api(x, "PATCH", p, body, &r);
	free(p);
	json_decref(body);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json) {
		exec_print_raw(&r);
	} else {
		json_t *st = json_object_get(r.json, "storage");
		json_t *ssh = json_object_get(r.json, "ssh");
		json_t *port = json_object_get(ssh, "port");
		printf("updated cluster '%s': storage %s%s%s%s%s, ssh %s port "
		    "%lld key %s\n", cluster, exec_jstr(st, "url") ? exec_jstr(st, "url") :
		    "?", exec_jstr(st, "endpoint") ? " endpoint " : "",
		    exec_jstr(st, "endpoint") ? exec_jstr(st, "endpoint") : "",
		    exec_jstr(st, "region") ? " region " : "",
		    exec_jstr(st, "region") ? exec_jstr(st, "region") : "",
		    exec_jstr(ssh, "user") ? exec_jstr(ssh, "user") : "?",
		    json_is_integer(port) ? (long long)json_integer_value(port) :
		    22LL, exec_jstr(ssh, "key_file") ? exec_jstr(ssh, "key_file") : "?");
	}
	client_resp_release(&r);
	return EXEC_OK;
}

int exec_clusters_delete(struct exec_ctx *x)
{
	const char *name = cmd_arg(x->call, "CLUSTER");
	struct client_resp r;
	char *p = exec_cluster_path(name, "");
	int rc = exec_call_api(x, "DELETE", p, NULL, &r);
	free(p);
	if (rc < 0)
		return EXEC_FAILED;
	client_resp_release(&r);
	struct client_conn *cn = client_current(x->sh->client);
	if (cn->cluster && strcmp(cn->cluster, name) == 0) {
		free(cn->cluster);
		cn->cluster = NULL;
	}
	if (x->json)
		printf("{}\n");
	else
		printf("deleted cluster '%s'\n", name);
	return EXEC_OK;
}

/*
 * GET a cluster's list at suffix ("/nodes", "/tasks?state=x").  Returns
 * LIST_TABLE with *r holding the items to lay out, LIST_DONE when --json
 * printed it already, or LIST_FAILED (the error is printed).
 */
int exec_cluster_list(struct exec_ctx *x, const char *cluster,
    const char *suffix, struct client_resp *r)
{
	if (cluster == NULL)
		return LIST_FAILED;
	char *p = exec_cluster_path(cluster, suffix);
	int rc = exec_get_list(x, p, r);
	free(p);
	if (rc < 0)
		return LIST_FAILED;
	if (x->json) {
		exec_print_raw(r);
		client_resp_release(r);
		return LIST_DONE;
	}
	return LIST_TABLE;
}

int exec_nodes(struct exec_ctx *x)
{
	struct client_resp r;
	int lr = exec_cluster_list(x, exec_pick_cluster(x, cmd_arg(x->call, "CLUSTER")),
	    "/nodes", &r);
	if (lr != LIST_TABLE)
		return lr == LIST_DONE ? EXEC_OK : EXEC_FAILED;
	struct table *t = table_new(9, (const char *const[]){ "ADDRESS", "DC",
	    "RACK", "STATE", "VERSION", "LOAD", "SEED", "HEARTBEAT",
	    "HOST ID" });
	size_t i;
	json_t *it;
	json_array_foreach(exec_items_of(r.json), i, it) {
		char load[32], hb[32];
		exec_fmt_size(json_object_get(it, "load_bytes"), load, sizeof(load));
		exec_fmt_ago(exec_jstr(it, "last_heartbeat"), hb, sizeof(hb));
		const char *cells[9] = { exec_jstr(it, "address"), exec_jstr(it, "dc"),
		    exec_jstr(it, "rack"), exec_jstr(it, "state"), exec_jstr(it, "version"),
		    load, json_is_true(json_object_get(it, "is_seed")) ? "yes" :
		    "no", hb, exec_jstr(it, "host_id") };
		table_add(t, cells);
	}
	exec_print_table(x, t, "no nodes yet — agents appear here when they check in");
	table_free(t);
	/* Why a silent node has its state (down, agent_down, unreachable). */
	json_array_foreach(exec_items_of(r.json), i, it)
		if (exec_jstr(it, "state_reason") != NULL)
			printf("%s %s: %s\n", exec_jstr(it, "address"),
			    exec_jstr(it, "state"), exec_jstr(it, "state_reason"));
	client_resp_release(&r);
	return EXEC_OK;
}

int exec_node_credential(struct exec_ctx *x, const char *method,
    const char *suffix)
{
	const char *cluster = exec_pick_cluster(x, NULL);
	const char *addr = cmd_arg(x->call, "ADDRESS");
	struct client_resp r;

	if (cluster == NULL)
		return EXEC_FAILED;
	char *e = client_escape(addr);
	char *rest = xasprintf("/nodes/%s%s", e, suffix);
	char *p = exec_cluster_path(cluster, rest);
	int rc = exec_call_api(x, method, p, NULL, &r);
	free(e);
	free(rest);
	free(p);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json)
		exec_print_raw(&r);
	else if (strcmp(method, "DELETE") == 0)
		printf("%s in %s: credential revoked; its check-ins and heartbeats "
		    "are refused until 'node readmit %s'\n", addr, cluster, addr);
	else
		printf("%s in %s: readmitted; its next check-in with the join "
		    "token gets a new credential\n", addr, cluster);
	client_resp_release(&r);
	return EXEC_OK;
}

int exec_seeds(struct exec_ctx *x)
{
	const char *cluster = exec_pick_cluster(x, cmd_arg(x->call, "CLUSTER"));
	struct client_resp r;
	if (cluster == NULL)
		return EXEC_FAILED;
	const char *pin = cmd_flag(x->call, "--pin");
	bool unpin = cmd_flag(x->call, "--unpin") != NULL;
	json_t *body = NULL;
	if (pin != NULL && unpin)
		return exec_usage_fail(x->call, "give --pin or --unpin, not both");
	if (pin != NULL || unpin) {
		json_t *a = json_array();
		const char *p0 = pin != NULL ? pin : "";
		while (*p0) {
			size_t len = strcspn(p0, ", ");
			if (len > 0) {
				char *one = xstrndup(p0, len);
				json_array_append_new(a, json_string(one));
				free(one);
			}
			p0 += len;
			p0 += strspn(p0, ", ");
		}
		if (pin != NULL && json_array_size(a) == 0) {
			json_decref(a);
			return exec_usage_fail(x->call, "--pin wants addresses: "
			    "--pin 10.0.0.1,10.0.0.2");
		}
		body = json_pack("{s:o}", "seeds", a);
	}
	char *p = exec_cluster_path(cluster, "/seeds");
	int rc = exec_call_api(x, body != NULL ? "PUT" : "GET", p, body, &r);
	free(p);
	json_decref(body);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json) {
		exec_print_raw(&r);
	} else {
		size_t i;
		json_t *s, *seeds = json_object_get(r.json, "seeds");
		if (json_array_size(seeds) == 0)
			printf("no seeds yet\n");
		json_array_foreach(seeds, i, s)
			printf("%s\n", json_string_value(s));
	}
	client_resp_release(&r);
	return EXEC_OK;
}
