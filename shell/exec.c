/*
 * exec.c - see exec.h.  One handler per command id; each builds its request
 * from the parsed call, checks everything it can before sending, and prints
 * either a table, a few "key: value" lines, or (with --json) the answer's
 * raw JSON.
 */
#include "exec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "client.h"
#include "table.h"
#include "watch.h"

struct ctx {
	struct shell *sh;
	struct cmd_call *call;
	bool json;
};

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	fputs("ringsh: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXEC_FAILED;
}

static int usage_fail(const struct cmd_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_fail(const struct cmd_call *call, const char *fmt, ...)
{
	va_list ap;
	fputs("ringsh: ", stderr);
	if (call->path[0])
		fprintf(stderr, "%s: ", call->path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (call->cmd) {
		char *u = cmd_usage(call->cmd, call->path);
		fprintf(stderr, "usage: %s\n", u);
		free(u);
	}
	return EXEC_USAGE;
}

/* Send; on failure print the explanation.  Returns 0 or -1. */
static int call_api(struct ctx *x, const char *method, const char *path,
    const json_t *body, struct client_resp *r)
{
	if (client_call(x->sh->client, method, path, body, r) < 0) {
		fail("%s", client_error(x->sh->client));
		return -1;
	}
	return 0;
}

#define MAX_PAGES 100

/*
 * GET a list, following "next" cursors, so r->json holds every item in one
 * {"items": [...], "next": null}; r->body is re-rendered to match for --json.
 */
static int get_list(struct ctx *x, const char *path, struct client_resp *r)
{
	if (call_api(x, "GET", path, NULL, r) < 0)
		return -1;
	json_t *items = json_object_get(r->json, "items");
	const char *next = jstr(r->json, "next");
	if (!json_is_array(items) || next == NULL || *next == '\0')
		return 0;
	for (int page = 1; next && *next && page < MAX_PAGES; page++) {
		struct client_resp more;
		char *e = client_escape(next);
		char *p = xasprintf("%s%scursor=%s", path,
		    strchr(path, '?') ? "&" : "?", e);
		free(e);
		int rc = call_api(x, "GET", p, NULL, &more);
		free(p);
		if (rc < 0) {
			client_resp_release(r);
			return -1;
		}
		json_array_extend(items, json_object_get(more.json, "items"));
		json_object_set(r->json, "next", json_object_get(more.json,
		    "next"));
		client_resp_release(&more);
		next = jstr(r->json, "next");
	}
	free(r->body);
	r->body = json_dumps(r->json, JSON_COMPACT);
	r->body_len = strlen(r->body);
	return 0;
}

static void print_raw(const struct client_resp *r)
{
	if (r->body && r->body_len) {
		fwrite(r->body, 1, r->body_len, stdout);
		if (r->body[r->body_len - 1] != '\n')
			fputc('\n', stdout);
	} else {
		printf("{}\n");
	}
}

static size_t out_width(struct ctx *x)
{
	return table_width(stdout) ? table_width(stdout) :
	    (x->sh->tty_out ? 80 : 0);
}

/* "3m ago" for an RFC 3339 string; "-" when absent. */
static void fmt_ago(const char *ts, char *buf, size_t size)
{
	int64_t t;
	if (ts == NULL || time_parse_rfc3339(ts, &t) < 0) {
		snprintf(buf, size, "%s", ts ? ts : "-");
		return;
	}
	table_ago(t, time_wall_ms() / 1000, buf, size);
}

/* "2026-01-02T03:04:05Z (3m ago)" for show. */
static void fmt_when(const char *ts, char *buf, size_t size)
{
	char ago[32];
	if (ts == NULL) {
		snprintf(buf, size, "-");
		return;
	}
	fmt_ago(ts, ago, sizeof(ago));
	snprintf(buf, size, "%s (%s)", ts, ago);
}

static void fmt_size(const json_t *v, char *buf, size_t size)
{
	if (!json_is_integer(v)) {
		snprintf(buf, size, "-");
		return;
	}
	table_size((uint64_t)json_integer_value(v), buf, size);
}

static void fmt_int(const json_t *v, char *buf, size_t size)
{
	if (json_is_integer(v))
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		snprintf(buf, size, "%s", json_string_value(v));
	else
		snprintf(buf, size, "-");
}

static json_t *items_of(json_t *j)
{
	if (json_is_array(j))
		return j;
	return json_object_get(j, "items");
}

static void print_table(struct ctx *x, struct table *t, const char *empty)
{
	if (table_rows(t) == 0)
		printf("%s\n", empty);
	else
		table_print(t, stdout, out_width(x));
}

/* The cluster a command acts on; NULL with the reason printed. */
static const char *pick_cluster(struct ctx *x, const char *explicit)
{
	const char *c = cmd_flag(x->call, "--cluster");
	if (c == NULL)
		c = explicit;
	if (c == NULL) {
		struct client_conn *cn = client_current(x->sh->client);
		if (cn)
			c = cn->cluster;
	}
	if (c == NULL)
		fail("%s: no cluster selected — name one with --cluster CLUSTER "
		    "or 'use CLUSTER' (see 'clusters')", x->call->path);
	return c;
}

static char *cluster_path(const char *cluster, const char *rest)
{
	char *e = client_escape(cluster);
	char *p = xasprintf("/api/v1/clusters/%s%s", e, rest);
	free(e);
	return p;
}

/* ---- connections ---- */

static int do_health(struct ctx *x)
{
	struct client_resp r;
	if (call_api(x, "GET", "/health", NULL, &r) < 0)
		return EXEC_FAILED;
	if (x->json) {
		print_raw(&r);
	} else {
		char up[32];
		table_duration(json_integer_value(json_object_get(r.json,
		    "uptime_s")), up, sizeof(up));
		printf("%s  ringmaster %s  up %s  at %s\n",
		    jstr(r.json, "status") ? jstr(r.json, "status") : "?",
		    jstr(r.json, "version") ? jstr(r.json, "version") : "?", up,
		    client_current(x->sh->client)->url);
	}
	client_resp_release(&r);
	return EXEC_OK;
}

static int do_connect(struct ctx *x)
{
	struct client *c = x->sh->client;
	const char *url = cmd_arg(x->call, "URL");
	const char *name = cmd_arg(x->call, "NAME");
	const char *tf = cmd_flag(x->call, "--token-file");
	char err[512], *token = NULL, *gen = NULL;

	if (tf && (token = client_read_token(tf, err, sizeof(err))) == NULL)
		return fail("%s — give a readable file with the token on "
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
		return usage_fail(x->call, "%s", err);
	}
	struct client_resp r;
	if (client_call(c, "GET", "/health", NULL, &r) < 0) {
		fail("%s", client_error(c));
		fail("connection '%s' is kept; fix it with 'connect %s as %s "
		    "...' or switch with 'use NAME'", name, url, name);
		free(gen);
		return EXEC_FAILED;
	}
	if (x->json)
		print_raw(&r);
	else
		printf("connected to %s as '%s' (ringmaster %s)\n",
		    client_current(c)->url, name,
		    jstr(r.json, "version") ? jstr(r.json, "version") : "?");
	client_resp_release(&r);
	free(gen);
	return EXEC_OK;
}

static int do_connections(struct ctx *x)
{
	struct client *c = x->sh->client;
	struct client_conn *cur = client_current(c);

	if (x->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < client_count(c); i++) {
			const struct client_conn *cn = client_conn_at(c, i);
			json_array_append_new(a, json_pack("{s:s,s:s,s:s?,s:s?,s:b}",
			    "name", cn->name, "url", cn->url, "cluster",
			    cn->cluster, "token_source", cn->token_source,
			    "current", cn == cur));
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
		const char *cells[5] = { cn == cur ? "*" : " ", cn->name, cn->url,
		    cn->cluster, cn->token ? (cn->token_source ?
		    cn->token_source : "given") : "none" };
		table_add(t, cells);
	}
	print_table(x, t, "");
	table_free(t);
	return EXEC_OK;
}

/* Check cluster exists on the current connection, then make it current. */
static int use_cluster(struct ctx *x, const char *cluster)
{
	struct client_resp r;
	if (!name_valid(cluster))
		return usage_fail(x->call, "'%s' is neither a connection nor a "
		    "cluster name", cluster);
	char *p = cluster_path(cluster, "");
	int rc = call_api(x, "GET", p, NULL, &r);
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

static int do_use(struct ctx *x)
{
	struct client *c = x->sh->client;
	const char *target = cmd_arg(x->call, "TARGET");
	const char *slash = strchr(target, '/');

	if (slash) {
		char *conn = xstrndup(target, (size_t)(slash - target));
		int rc = client_use(c, conn);
		if (rc < 0) {
			fail("no connection named '%s' — see 'connections'", conn);
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
		return fail("no connection named '%s' — add one with 'connect "
		    "URL as %s'", target, target);
	return use_cluster(x, target);
}

/* ---- clusters ---- */

static int do_clusters_list(struct ctx *x)
{
	struct client_resp r;
	if (get_list(x, "/api/v1/clusters", &r) < 0)
		return EXEC_FAILED;
	if (x->json) {
		print_raw(&r);
		client_resp_release(&r);
		return EXEC_OK;
	}
	struct table *t = table_new(6, (const char *const[]){ "NAME", "STORAGE",
	    "NODES UP", "DOWN", "QUEUE", "CREATED" });
	size_t i;
	json_t *it;
	json_array_foreach(items_of(r.json), i, it) {
		char up[24], down[24], q[24], created[32];
		fmt_int(json_object_get(it, "nodes_up"), up, sizeof(up));
		fmt_int(json_object_get(it, "nodes_down"), down, sizeof(down));
		fmt_int(json_object_get(it, "queue_depth"), q, sizeof(q));
		fmt_ago(jstr(it, "created_at"), created, sizeof(created));
		const char *cells[6] = { jstr(it, "name"),
		    jstr(json_object_get(it, "storage"), "url"), up, down, q,
		    created };
		table_add(t, cells);
	}
	print_table(x, t, "no clusters — add one with 'clusters create'");
	table_free(t);
	client_resp_release(&r);
	return EXEC_OK;
}

static void kv_line(const char *key, const char *value)
{
	printf("%-14s %s\n", key, value && *value ? value : "-");
}

static int do_clusters_show(struct ctx *x)
{
	const char *cluster = pick_cluster(x, cmd_arg(x->call, "CLUSTER"));
	struct client_resp r;
	char buf[128];
	if (cluster == NULL)
		return EXEC_FAILED;
	char *p = cluster_path(cluster, "");
	int rc = call_api(x, "GET", p, NULL, &r);
	free(p);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json) {
		print_raw(&r);
		client_resp_release(&r);
		return EXEC_OK;
	}
	json_t *j = r.json, *st = json_object_get(j, "storage"),
	    *ssh = json_object_get(j, "ssh");
	kv_line("name", jstr(j, "name"));
	kv_line("storage", jstr(st, "url"));
	if (jstr(st, "endpoint"))
		kv_line("  endpoint", jstr(st, "endpoint"));
	if (jstr(st, "region"))
		kv_line("  region", jstr(st, "region"));
	if (ssh) {
		json_t *port = json_object_get(ssh, "port");
		snprintf(buf, sizeof(buf), "%s@port %lld, key %s",
		    jstr(ssh, "user") ? jstr(ssh, "user") : "?",
		    json_is_integer(port) ? (long long)json_integer_value(port) :
		    22LL, jstr(ssh, "key_file") ? jstr(ssh, "key_file") : "-");
		kv_line("ssh", buf);
	}
	char up[24], down[24], q[24];
	fmt_int(json_object_get(j, "nodes_up"), up, sizeof(up));
	fmt_int(json_object_get(j, "nodes_down"), down, sizeof(down));
	fmt_int(json_object_get(j, "queue_depth"), q, sizeof(q));
	snprintf(buf, sizeof(buf), "%s up, %s down", up, down);
	kv_line("nodes", buf);
	kv_line("queue depth", q);
	json_t *run = json_object_get(j, "running_task");
	if (json_is_object(run)) {
		snprintf(buf, sizeof(buf), "%s (%s, %s)", jstr(run, "id"),
		    jstr(run, "type") ? jstr(run, "type") : "?",
		    jstr(run, "state") ? jstr(run, "state") : "?");
		kv_line("running task", buf);
	} else {
		kv_line("running task", json_string_value(run));
	}
	if (jstr(j, "created_at")) {
		fmt_when(jstr(j, "created_at"), buf, sizeof(buf));
		kv_line("created", buf);
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
			usage_fail(c, "--ssh-port wants 1..65535, not %s", port);
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
	return body;
}

static int do_clusters_create(struct ctx *x)
{
	struct cmd_call *c = x->call;
	struct client_resp r;
	json_t *body = cluster_settings(c);
	if (body == NULL)
		return EXEC_USAGE;
	json_object_set_new(body, "name", json_string(cmd_arg(c, "CLUSTER")));
	int rc = call_api(x, "POST", "/api/v1/clusters", body, &r);
	json_decref(body);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json)
		print_raw(&r);
	else
		printf("created cluster '%s' — select it with 'use %s'\n",
		    cmd_arg(c, "CLUSTER"), cmd_arg(c, "CLUSTER"));
	client_resp_release(&r);
	return EXEC_OK;
}

static int do_clusters_update(struct ctx *x)
{
	struct cmd_call *c = x->call;
	struct client_resp r;
	const char *cluster;
	json_t *body;

	if (cmd_flag(c, "--endpoint") && cmd_flag(c, "--no-endpoint"))
		return usage_fail(c, "give --endpoint or --no-endpoint, not both");
	if (cmd_flag(c, "--region") && cmd_flag(c, "--no-region"))
		return usage_fail(c, "give --region or --no-region, not both");
	if ((body = cluster_settings(c)) == NULL)
		return EXEC_USAGE;
	if (json_object_size(body) == 0) {
		json_decref(body);
		return usage_fail(c, "nothing to change: give at least one of "
		    "--storage, --endpoint, --region, --ssh-user, --ssh-port, "
		    "--ssh-key (or --no-endpoint, --no-region)");
	}
	if ((cluster = pick_cluster(x, cmd_arg(c, "CLUSTER"))) == NULL) {
		json_decref(body);
		return EXEC_FAILED;
	}
	char *p = cluster_path(cluster, "");
	int rc = call_api(x, "PATCH", p, body, &r);
	free(p);
	json_decref(body);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json) {
		print_raw(&r);
	} else {
		json_t *st = json_object_get(r.json, "storage");
		json_t *ssh = json_object_get(r.json, "ssh");
		json_t *port = json_object_get(ssh, "port");
		printf("updated cluster '%s': storage %s%s%s%s%s, ssh %s port "
		    "%lld key %s\n", cluster, jstr(st, "url") ? jstr(st, "url") :
		    "?", jstr(st, "endpoint") ? " endpoint " : "",
		    jstr(st, "endpoint") ? jstr(st, "endpoint") : "",
		    jstr(st, "region") ? " region " : "",
		    jstr(st, "region") ? jstr(st, "region") : "",
		    jstr(ssh, "user") ? jstr(ssh, "user") : "?",
		    json_is_integer(port) ? (long long)json_integer_value(port) :
		    22LL, jstr(ssh, "key_file") ? jstr(ssh, "key_file") : "?");
	}
	client_resp_release(&r);
	return EXEC_OK;
}

static int do_clusters_delete(struct ctx *x)
{
	const char *name = cmd_arg(x->call, "CLUSTER");
	struct client_resp r;
	char *p = cluster_path(name, "");
	int rc = call_api(x, "DELETE", p, NULL, &r);
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
enum { LIST_FAILED = -1, LIST_TABLE = 0, LIST_DONE = 1 };

static int cluster_list(struct ctx *x, const char *cluster,
    const char *suffix, struct client_resp *r)
{
	if (cluster == NULL)
		return LIST_FAILED;
	char *p = cluster_path(cluster, suffix);
	int rc = get_list(x, p, r);
	free(p);
	if (rc < 0)
		return LIST_FAILED;
	if (x->json) {
		print_raw(r);
		client_resp_release(r);
		return LIST_DONE;
	}
	return LIST_TABLE;
}

static int do_nodes(struct ctx *x)
{
	struct client_resp r;
	int lr = cluster_list(x, pick_cluster(x, cmd_arg(x->call, "CLUSTER")),
	    "/nodes", &r);
	if (lr != LIST_TABLE)
		return lr == LIST_DONE ? EXEC_OK : EXEC_FAILED;
	struct table *t = table_new(9, (const char *const[]){ "ADDRESS", "DC",
	    "RACK", "STATE", "VERSION", "LOAD", "SEED", "HEARTBEAT",
	    "HOST ID" });
	size_t i;
	json_t *it;
	json_array_foreach(items_of(r.json), i, it) {
		char load[32], hb[32];
		fmt_size(json_object_get(it, "load_bytes"), load, sizeof(load));
		fmt_ago(jstr(it, "last_heartbeat"), hb, sizeof(hb));
		const char *cells[9] = { jstr(it, "address"), jstr(it, "dc"),
		    jstr(it, "rack"), jstr(it, "state"), jstr(it, "version"),
		    load, json_is_true(json_object_get(it, "is_seed")) ? "yes" :
		    "no", hb, jstr(it, "host_id") };
		table_add(t, cells);
	}
	print_table(x, t, "no nodes yet — agents appear here when they check in");
	table_free(t);
	client_resp_release(&r);
	return EXEC_OK;
}

static int do_seeds(struct ctx *x)
{
	const char *cluster = pick_cluster(x, cmd_arg(x->call, "CLUSTER"));
	struct client_resp r;
	if (cluster == NULL)
		return EXEC_FAILED;
	char *p = cluster_path(cluster, "/seeds");
	int rc = call_api(x, "GET", p, NULL, &r);
	free(p);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json) {
		print_raw(&r);
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

/* ---- tasks ---- */

static void fmt_progress(const json_t *task, char *buf, size_t size)
{
	json_t *p = json_object_get(task, "progress");
	if (!json_is_object(p)) {
		snprintf(buf, size, "-");
		return;
	}
	snprintf(buf, size, "%lld/%lld",
	    (long long)json_integer_value(json_object_get(p, "done")),
	    (long long)json_integer_value(json_object_get(p, "total")));
}

static const char *task_error(const json_t *task)
{
	json_t *e = json_object_get(task, "error");
	if (json_is_string(e))
		return json_string_value(e);
	if (json_is_object(e))
		return jstr(e, "message");
	return NULL;
}

static int do_tasks_list(struct ctx *x)
{
	const char *state = cmd_flag(x->call, "--state");
	struct client_resp r;
	char *q = state ? xasprintf("/tasks?state=%s", state) : xstrdup("/tasks");
	int lr = cluster_list(x, pick_cluster(x, NULL), q, &r);
	free(q);
	if (lr != LIST_TABLE)
		return lr == LIST_DONE ? EXEC_OK : EXEC_FAILED;
	struct table *t = table_new(7, (const char *const[]){ "ID", "TYPE",
	    "STATE", "PROGRESS", "CREATED", "FINISHED", "ERROR" });
	size_t i;
	json_t *it;
	json_array_foreach(items_of(r.json), i, it) {
		char prog[48], cr[32], fin[32];
		fmt_progress(it, prog, sizeof(prog));
		fmt_ago(jstr(it, "created_at"), cr, sizeof(cr));
		fmt_ago(jstr(it, "finished_at"), fin, sizeof(fin));
		const char *cells[7] = { jstr(it, "id"), jstr(it, "type"),
		    jstr(it, "state"), prog, cr, jstr(it, "finished_at") ? fin :
		    NULL, task_error(it) };
		table_add(t, cells);
	}
	print_table(x, t, state ? "no tasks in that state" : "no tasks yet");
	table_free(t);
	client_resp_release(&r);
	return EXEC_OK;
}

static void print_task(struct ctx *x, const json_t *j)
{
	char buf[160];
	kv_line("id", jstr(j, "id"));
	kv_line("cluster", jstr(j, "cluster"));
	kv_line("type", jstr(j, "type"));
	kv_line("state", jstr(j, "state"));
	json_t *params = json_object_get(j, "params");
	char *ps = params ? json_dumps(params, JSON_COMPACT) : NULL;
	kv_line("params", ps);
	free(ps);
	fmt_progress(j, buf, sizeof(buf));
	kv_line("progress", buf);
	fmt_when(jstr(j, "created_at"), buf, sizeof(buf));
	kv_line("created", buf);
	fmt_when(jstr(j, "started_at"), buf, sizeof(buf));
	kv_line("started", buf);
	fmt_when(jstr(j, "finished_at"), buf, sizeof(buf));
	kv_line("finished", buf);
	if (task_error(j))
		kv_line("error", task_error(j));
	json_t *steps = json_object_get(j, "steps");
	if (json_array_size(steps) == 0)
		return;
	printf("\n");
	struct table *t = table_new(7, (const char *const[]){ "STEP", "NODE",
	    "STATE", "ATTEMPTS", "STARTED", "FINISHED", "MESSAGE" });
	size_t i;
	json_t *s;
	json_array_foreach(steps, i, s) {
		char att[24], st[32], fin[32];
		fmt_int(json_object_get(s, "attempts"), att, sizeof(att));
		fmt_ago(jstr(s, "started_at"), st, sizeof(st));
		fmt_ago(jstr(s, "finished_at"), fin, sizeof(fin));
		const char *cells[7] = { jstr(s, "name"), jstr(s, "node"),
		    jstr(s, "state"), att, jstr(s, "started_at") ? st : NULL,
		    jstr(s, "finished_at") ? fin : NULL, jstr(s, "message") };
		table_add(t, cells);
	}
	print_table(x, t, "");
	table_free(t);
}

static char *task_path(const char *id, const char *action)
{
	char *e = client_escape(id);
	char *p = xasprintf("/api/v1/tasks/%s%s%s", e, action ? "/" : "",
	    action ? action : "");
	free(e);
	return p;
}

static int do_tasks_show(struct ctx *x)
{
	struct client_resp r;
	char *p = task_path(cmd_arg(x->call, "ID"), NULL);
	int rc = call_api(x, "GET", p, NULL, &r);
	free(p);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json)
		print_raw(&r);
	else
		print_task(x, r.json);
	client_resp_release(&r);
	return EXEC_OK;
}

static int watch(struct ctx *x, const char *id)
{
	struct watch_opts o = {
		.tty = x->sh->tty_out, .json = x->json,
		.width = out_width(x), .interrupted = x->sh->interrupted,
	};
	switch (watch_task(x->sh->client, id, &o)) {
	case WATCH_SUCCEEDED:
		return EXEC_OK;
	case WATCH_INTERRUPTED:
		return EXEC_INTERRUPTED;
	case WATCH_FAILED:
	case WATCH_ERROR:
	default:
		return EXEC_FAILED;
	}
}

static int do_tasks_watch(struct ctx *x)
{
	return watch(x, cmd_arg(x->call, "ID"));
}

static int do_task_action(struct ctx *x, const char *action)
{
	struct client_resp r;
	const char *id = cmd_arg(x->call, "ID");
	char *p = task_path(id, action);
	int rc = call_api(x, "POST", p, NULL, &r);
	free(p);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json)
		print_raw(&r);
	else
		printf("task %s: %s\n", id, jstr(r.json, "state") ?
		    jstr(r.json, "state") : action);
	client_resp_release(&r);
	return EXEC_OK;
}

/* POST a task of type with params (owned by the caller), maybe watch it. */
static int post_task(struct ctx *x, const char *type, json_t *params)
{
	const char *cluster = pick_cluster(x, NULL);
	struct client_resp r;
	if (cluster == NULL)
		return EXEC_FAILED;
	json_t *body = json_pack("{s:s,s:O}", "type", type, "params", params);
	char *p = cluster_path(cluster, "/tasks");
	int rc = call_api(x, "POST", p, body, &r);
	free(p);
	json_decref(body);
	if (rc < 0)
		return EXEC_FAILED;
	const char *id = jstr(r.json, "id");
	bool w = cmd_flag(x->call, "--watch") != NULL;
	if (x->json && !w)
		print_raw(&r);
	else if (!x->json && w)
		printf("started task %s (%s on %s)\n", id ? id : "?", type,
		    cluster);
	else if (!x->json)
		printf("started task %s (%s on %s) — follow it with 'watch %s'\n",
		    id ? id : "?", type, cluster, id ? id : "ID");
	int status = EXEC_OK;
	if (w && id) {
		char *tid = xstrdup(id);
		client_resp_release(&r);
		status = watch(x, tid);
		free(tid);
		return status;
	}
	client_resp_release(&r);
	return status;
}

static json_t *split_list(const char *v)
{
	json_t *a = json_array();
	char *copy = xstrdup(v), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (*str_trim(t))
			json_array_append_new(a, json_string(t));
	free(copy);
	return a;
}

/* Flag values were checked as numbers by the parser. */
static json_t *json_real_or_int(const char *v)
{
	if (strpbrk(v, ".eE") == NULL)
		return json_integer(strtoll(v, NULL, 10));
	return json_real(strtod(v, NULL));
}

static int do_run(struct ctx *x, const char *type)
{
	char err[256];
	json_t *params = json_object();
	const struct cmd *c = x->call->cmd;

	/* Shortcut flags become params; key=value words may add more. */
	for (size_t i = 0; c->flags && c->flags[i].name; i++) {
		const struct cmd_flag *f = &c->flags[i];
		const char *v = cmd_flag(x->call, f->name);
		if (f->param == NULL || v == NULL)
			continue;
		size_t plen = strlen(f->param);
		if (plen > 2 && strcmp(f->param + plen - 2, "[]") == 0) {
			/* "name[]": a comma-separated list becomes an array. */
			char *key = xstrndup(f->param, plen - 2);
			json_object_set_new(params, key, split_list(v));
			free(key);
		} else if (strcmp(f->param, "incremental") == 0) {
			/* The orchestrator's switch is "full" (default true). */
			json_object_set_new(params, "full", json_false());
		} else if (f->value == CMD_V_NUMBER) {
			json_object_set_new(params, f->param, json_real_or_int(v));
		} else {
			json_object_set_new(params, f->param, f->value ==
			    CMD_V_NONE ? json_true() : json_string(v));
		}
	}
	if (cmd_kv_parse(x->call->kv, x->call->nkv, params, err,
	    sizeof(err)) < 0) {
		json_decref(params);
		return usage_fail(x->call, "%s", err);
	}
	int rc = post_task(x, type, params);
	json_decref(params);
	return rc;
}

/* ---- backups and schedules ---- */

static int do_backups_list(struct ctx *x)
{
	struct client_resp r;
	int lr = cluster_list(x, pick_cluster(x, NULL), "/backups", &r);
	if (lr != LIST_TABLE)
		return lr == LIST_DONE ? EXEC_OK : EXEC_FAILED;
	struct table *t = table_new(8, (const char *const[]){ "ID", "STATE",
	    "STARTED", "FINISHED", "NODES", "FILES", "SIZE", "UPLOADED" });
	size_t i;
	json_t *it;
	json_array_foreach(items_of(r.json), i, it) {
		char st[32], fin[32], nodes[24], files[24], size[24], up[24];
		fmt_ago(jstr(it, "started_at"), st, sizeof(st));
		fmt_ago(jstr(it, "finished_at"), fin, sizeof(fin));
		json_t *nv = json_object_get(it, "nodes");
		if (json_is_array(nv))
			snprintf(nodes, sizeof(nodes), "%zu", json_array_size(nv));
		else
			fmt_int(nv, nodes, sizeof(nodes));
		fmt_int(json_object_get(it, "files"), files, sizeof(files));
		fmt_size(json_object_get(it, "bytes"), size, sizeof(size));
		fmt_size(json_object_get(it, "bytes_uploaded"), up, sizeof(up));
		const char *cells[8] = { jstr(it, "id"), jstr(it, "state"), st,
		    jstr(it, "finished_at") ? fin : NULL, nodes, files, size, up };
		table_add(t, cells);
	}
	print_table(x, t, "no backups yet — start one with 'backup'");
	table_free(t);
	client_resp_release(&r);
	return EXEC_OK;
}

static int do_backups_delete(struct ctx *x)
{
	const char *cluster = pick_cluster(x, NULL);
	const char *id = cmd_arg(x->call, "ID");
	struct client_resp r;
	if (cluster == NULL)
		return EXEC_FAILED;
	char *e = client_escape(id), *rest = xasprintf("/backups/%s", e);
	char *p = cluster_path(cluster, rest);
	free(e);
	free(rest);
	int rc = call_api(x, "DELETE", p, NULL, &r);
	free(p);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json)
		print_raw(&r);
	else
		printf("deleted backup %s of '%s'\n", id, cluster);
	client_resp_release(&r);
	return EXEC_OK;
}

static int do_schedules_list(struct ctx *x)
{
	struct client_resp r;
	int lr = cluster_list(x, pick_cluster(x, NULL), "/schedules", &r);
	if (lr != LIST_TABLE)
		return lr == LIST_DONE ? EXEC_OK : EXEC_FAILED;
	struct table *t = table_new(6, (const char *const[]){ "ID", "TYPE",
	    "WHEN", "NEXT RUN", "LAST RUN", "PARAMS" });
	size_t i;
	json_t *it;
	json_array_foreach(items_of(r.json), i, it) {
		char when[96], next[32], last[32];
		if (jstr(it, "every"))
			snprintf(when, sizeof(when), "every %s", jstr(it, "every"));
		else if (jstr(it, "cron"))
			snprintf(when, sizeof(when), "cron %s", jstr(it, "cron"));
		else
			snprintf(when, sizeof(when), "-");
		const char *nx = jstr(it, "next_run_at") ? jstr(it,
		    "next_run_at") : jstr(it, "next_run");
		const char *ls = jstr(it, "last_run_at") ? jstr(it,
		    "last_run_at") : jstr(it, "last_run");
		fmt_ago(nx, next, sizeof(next));
		fmt_ago(ls, last, sizeof(last));
		json_t *params = json_object_get(it, "params");
		char *ps = params ? json_dumps(params, JSON_COMPACT) : NULL;
		const char *cells[6] = { jstr(it, "id"), jstr(it, "type"), when,
		    nx ? next : NULL, ls ? last : NULL, ps };
		table_add(t, cells);
		free(ps);
	}
	print_table(x, t, "no schedules — add one with 'schedules create'");
	table_free(t);
	client_resp_release(&r);
	return EXEC_OK;
}

static int do_schedules_create(struct ctx *x)
{
	const char *every = cmd_flag(x->call, "--every");
	const char *cron = cmd_flag(x->call, "--cron");
	char err[256];
	struct client_resp r;

	if ((every == NULL) == (cron == NULL))
		return usage_fail(x->call, "give exactly one of --every and "
		    "--cron");
	if (cron) {
		/* Five fields; the orchestrator checks each one. */
		int fields = 0;
		bool in = false;
		for (const char *p = cron; *p; p++) {
			bool blank = *p == ' ' || *p == '\t';
			if (!blank && !in)
				fields++;
			in = !blank;
		}
		if (fields != 5)
			return usage_fail(x->call, "--cron wants 5 fields "
			    "(minute hour day month weekday), got %d in '%s'",
			    fields, cron);
	}
	json_t *params = json_object();
	if (cmd_kv_parse(x->call->kv, x->call->nkv, params, err,
	    sizeof(err)) < 0) {
		json_decref(params);
		return usage_fail(x->call, "%s", err);
	}
	const char *cluster = pick_cluster(x, NULL);
	if (cluster == NULL) {
		json_decref(params);
		return EXEC_FAILED;
	}
	json_t *body = json_pack("{s:s,s:o}", "type", cmd_arg(x->call, "TYPE"),
	    "params", params);
	json_object_set_new(body, every ? "every" : "cron",
	    json_string(every ? every : cron));
	char *p = cluster_path(cluster, "/schedules");
	int rc = call_api(x, "POST", p, body, &r);
	free(p);
	json_decref(body);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json)
		print_raw(&r);
	else
		printf("created schedule %s: %s %s %s on '%s'\n",
		    jstr(r.json, "id") ? jstr(r.json, "id") : "?",
		    cmd_arg(x->call, "TYPE"), every ? "every" : "cron",
		    every ? every : cron, cluster);
	client_resp_release(&r);
	return EXEC_OK;
}

static int do_schedules_delete(struct ctx *x)
{
	const char *id = cmd_arg(x->call, "ID");
	struct client_resp r;
	char *e = client_escape(id), *p = xasprintf("/api/v1/schedules/%s", e);
	free(e);
	int rc = call_api(x, "DELETE", p, NULL, &r);
	free(p);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json)
		printf("{}\n");
	else
		printf("deleted schedule %s\n", id);
	client_resp_release(&r);
	return EXEC_OK;
}

/* ---- events and metrics ---- */

static int do_events(struct ctx *x)
{
	const char *since = cmd_flag(x->call, "--since");
	const char *cluster = cmd_flag(x->call, "--cluster");
	struct client_resp r;
	char ts[40];
	int64_t t;

	char *q = xstrdup("/api/v1/events");
	if (since) {
		/* A duration means "that long ago". */
		if (time_parse_rfc3339(since, &t) < 0) {
			int64_t ms;
			duration_parse_ms(since, &ms);
			time_rfc3339(time_wall_ms() / 1000 - ms / 1000, ts,
			    sizeof(ts));
			since = ts;
		}
		char *e = client_escape(since), *n = xasprintf("%s?since=%s", q, e);
		free(e);
		free(q);
		q = n;
	}
	if (cluster) {
		char *e = client_escape(cluster);
		char *n = xasprintf("%s%scluster=%s", q, since ? "&" : "?", e);
		free(e);
		free(q);
		q = n;
	}
	int rc = get_list(x, q, &r);
	free(q);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json) {
		print_raw(&r);
		client_resp_release(&r);
		return EXEC_OK;
	}
	struct table *t2 = table_new(7, (const char *const[]){ "TIME", "ACTOR",
	    "KIND", "ACTION", "TARGET", "CLUSTER", "RESULT" });
	size_t i;
	json_t *it;
	json_array_foreach(items_of(r.json), i, it) {
		char *action = NULL;
		if (jstr(it, "method") && jstr(it, "route"))
			action = xasprintf("%s %s", jstr(it, "method"),
			    jstr(it, "route"));
		else if (json_object_get(it, "detail") &&
		    !json_is_null(json_object_get(it, "detail")))
			action = json_dumps(json_object_get(it, "detail"),
			    JSON_COMPACT);
		const char *cells[7] = { jstr(it, "at"), jstr(it, "actor"),
		    jstr(it, "kind"), action, jstr(it, "target"),
		    jstr(it, "cluster"), jstr(it, "result") };
		table_add(t2, cells);
		free(action);
	}
	print_table(x, t2, "no events");
	table_free(t2);
	client_resp_release(&r);
	return EXEC_OK;
}

static int do_metrics(struct ctx *x)
{
	struct client_resp r;
	if (call_api(x, "GET", "/metrics", NULL, &r) < 0)
		return EXEC_FAILED;
	if (r.body)
		fwrite(r.body, 1, r.body_len, stdout);
	client_resp_release(&r);
	return EXEC_OK;
}

static int dispatch(struct ctx *x)
{
	const struct cmd *c = x->call->cmd;
	char err[256];

	switch (c->id) {
	case CMD_HELP: {
		char topic[128] = "";
		if (cmd_arg(x->call, "COMMAND"))
			snprintf(topic, sizeof(topic), "%s %s",
			    cmd_arg(x->call, "COMMAND"),
			    cmd_arg(x->call, "SUBCOMMAND") ?
			    cmd_arg(x->call, "SUBCOMMAND") : "");
		if (cmd_help(stdout, topic, err, sizeof(err)) < 0)
			return usage_fail(x->call, "%s", err);
		return EXEC_OK;
	}
	case CMD_QUIT:
		x->sh->quit = true;
		return EXEC_OK;
	case CMD_CONNECT:
		return do_connect(x);
	case CMD_CONNECTIONS:
		return do_connections(x);
	case CMD_USE:
		return do_use(x);
	case CMD_HEALTH:
		return do_health(x);
	case CMD_METRICS:
		return do_metrics(x);
	case CMD_CLUSTERS_LIST:
		return do_clusters_list(x);
	case CMD_CLUSTERS_SHOW:
		return do_clusters_show(x);
	case CMD_CLUSTERS_CREATE:
		return do_clusters_create(x);
	case CMD_CLUSTERS_UPDATE:
		return do_clusters_update(x);
	case CMD_CLUSTERS_DELETE:
		return do_clusters_delete(x);
	case CMD_NODES:
		return do_nodes(x);
	case CMD_SEEDS:
		return do_seeds(x);
	case CMD_TASKS_LIST:
		return do_tasks_list(x);
	case CMD_TASKS_SHOW:
		return do_tasks_show(x);
	case CMD_TASKS_WATCH:
		return do_tasks_watch(x);
	case CMD_TASKS_CANCEL:
		return do_task_action(x, "cancel");
	case CMD_TASKS_PAUSE:
		return do_task_action(x, "pause");
	case CMD_TASKS_RESUME:
		return do_task_action(x, "resume");
	case CMD_RUN:
		return do_run(x, cmd_arg(x->call, "TYPE"));
	case CMD_TASK_SHORTCUT:
		return do_run(x, c->task_type);
	case CMD_BACKUPS_LIST:
		return do_backups_list(x);
	case CMD_BACKUPS_DELETE:
		return do_backups_delete(x);
	case CMD_SCHEDULES_LIST:
		return do_schedules_list(x);
	case CMD_SCHEDULES_CREATE:
		return do_schedules_create(x);
	case CMD_SCHEDULES_DELETE:
		return do_schedules_delete(x);
	case CMD_EVENTS:
		return do_events(x);
	case CMD_NONE:
	default:
		return usage_fail(x->call, "not a command");
	}
}

static int exec_one(struct shell *sh, const char *line)
{
	struct cmd_call call;
	char err[512];
	int rc;

	if (cmd_parse(line, &call, err, sizeof(err)) < 0) {
		rc = usage_fail(&call, "%s", err);
		cmd_call_release(&call);
		return rc;
	}
	if (call.empty) {
		cmd_call_release(&call);
		return EXEC_OK;
	}
	struct ctx x = { sh, &call, call.json || sh->json };
	rc = dispatch(&x);
	fflush(stdout);
	cmd_call_release(&call);
	return rc;
}

int exec_line(struct shell *sh, const char *line)
{
	char err[256];
	char **stmts = cmd_statements(line, err, sizeof(err));
	int rc = EXEC_OK;

	if (stmts == NULL) {
		fprintf(stderr, "ringsh: %s\n", err);
		return EXEC_USAGE;
	}
	for (char **s = stmts; *s && !sh->quit; s++) {
		rc = exec_one(sh, *s);
		if (rc != EXEC_OK)
			break;
	}
	cmd_strv_free(stmts);
	return rc;
}

char *exec_prompt(struct shell *sh)
{
	struct client_conn *cn = client_current(sh->client);
	if (cn == NULL)
		return xstrdup("ringsh> ");
	if (cn->cluster)
		return xasprintf("ringsh %s/%s> ", cn->name, cn->cluster);
	return xasprintf("ringsh %s> ", cn->name);
}

const char *const *exec_names(enum cmd_value kind, void *arg)
{
	struct shell *sh = arg;
	struct client *c = sh->client;
	struct client_conn *cn = client_current(c);
	static const char *const none[] = { NULL };

	switch (kind) {
	case CMD_V_CONN:
		return client_conn_names(c);
	case CMD_V_CLUSTER:
		return client_names(c, "/api/v1/clusters", "name");
	case CMD_V_TASK:
	case CMD_V_BACKUP:
	case CMD_V_SCHEDULE: {
		if (cn == NULL || cn->cluster == NULL)
			return none;
		const char *rest = kind == CMD_V_TASK ? "/tasks" :
		    kind == CMD_V_BACKUP ? "/backups" : "/schedules";
		char *p = cluster_path(cn->cluster, rest);
		const char *const *v = client_names(c, p, "id");
		free(p);
		return v;
	}
	default:
		return none;
	}
}
