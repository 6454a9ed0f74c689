/*
 * exec.c - see exec.h.  One handler per command id; each builds its request
 * from the parsed call, checks everything it can before sending, and prints
 * either a table, a few "key: value" lines, or (with --json) the answer's
 * raw JSON.
 */
#include "exec.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "client.h"
#include "ids.h"
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

/* ---- ids an operator can type (see ids.h) ---- */

enum id_kind { ID_TASK, ID_BACKUP, ID_SCHEDULE };

static const char *const id_noun[] = { "task", "backup", "schedule" };
static const char *const id_list_cmd[] = { "tasks", "backups", "schedules" };
static const char *const id_route[] = { "/tasks", "/backups", "/schedules" };

/* Append field of every item of GET path to *v (*n of them). */
static int collect_field(struct ctx *x, const char *path, const char *field,
    char ***v, size_t *n)
{
	struct client_resp r;
	size_t i;
	json_t *it;

	if (get_list(x, path, &r) < 0)
		return -1;
	json_array_foreach(items_of(r.json), i, it) {
		const char *id = jstr(it, field);
		if (id == NULL)
			continue;
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[(*n)++] = xstrdup(id);
	}
	client_resp_release(&r);
	return 0;
}

/* The newest task of cluster (lists are newest first); fresh or NULL. */
static char *last_task(struct ctx *x, const char *cluster)
{
	struct client_resp r;
	char *p = cluster_path(cluster, "/tasks?limit=1"), *id = NULL;
	int rc = call_api(x, "GET", p, NULL, &r);
	free(p);
	if (rc < 0)
		return NULL;
	const char *s = jstr(json_array_get(items_of(r.json), 0), "id");
	if (s)
		id = xstrdup(s);
	else
		fail("cluster '%s' has no tasks yet, so there is no 'last' — "
		    "start one with 'run TYPE'", cluster);
	client_resp_release(&r);
	return id;
}

/*
 * The whole id word stands for: itself when it is a whole task or schedule
 * id (nothing is asked), "last" for the newest task of the cluster, else
 * the one id of the cluster's list it equals, starts or contains (tasks
 * without a cluster: every cluster's).  Fresh, or NULL with the reason
 * printed.  cluster NULL: --cluster or the current one.
 */
static char *resolve_id(struct ctx *x, enum id_kind kind, const char *word,
    const char *cluster)
{
	char **v = NULL, *out = NULL;
	size_t n = 0, pick = 0, match[6], nmatch = 0;
	char where[160];

	if ((kind == ID_TASK && ids_is_full(word, 't')) ||
	    (kind == ID_SCHEDULE && ids_is_full(word, 's')))
		return xstrdup(word);
	if (cluster == NULL)
		cluster = cmd_flag(x->call, "--cluster");
	if (cluster == NULL && client_current(x->sh->client))
		cluster = client_current(x->sh->client)->cluster;
	if (kind == ID_TASK && strcmp(word, "last") == 0) {
		if ((cluster = pick_cluster(x, cluster)) == NULL)
			return NULL;
		return last_task(x, cluster);
	}
	if (cluster == NULL && kind == ID_TASK) {
		/* No cluster to look in: a task id is unique everywhere. */
		char **cl = NULL;
		size_t ncl = 0;
		if (collect_field(x, "/api/v1/clusters", "name", &cl, &ncl) < 0)
			return NULL;
		int rc = 0;
		for (size_t i = 0; i < ncl && rc == 0; i++) {
			char *p = cluster_path(cl[i], "/tasks");
			rc = collect_field(x, p, "id", &v, &n);
			free(p);
		}
		for (size_t i = 0; i < ncl; i++)
			free(cl[i]);
		free(cl);
		if (rc < 0)
			goto out;
		snprintf(where, sizeof(where), "on any cluster");
	} else {
		if ((cluster = pick_cluster(x, cluster)) == NULL)
			return NULL;
		char *p = cluster_path(cluster, id_route[kind]);
		int rc = collect_field(x, p, "id", &v, &n);
		free(p);
		if (rc < 0)
			goto out;
		snprintf(where, sizeof(where), "of cluster '%s'", cluster);
	}
	switch (ids_find(word, (const char *const *)v, n, &pick, match,
	    ARRAY_SIZE(match), &nmatch)) {
	case IDS_ONE:
		out = xstrdup(v[pick]);
		break;
	case IDS_AMBIGUOUS: {
		size_t shown = nmatch < ARRAY_SIZE(match) ? nmatch :
		    ARRAY_SIZE(match);
		char *l = ids_list((const char *const *)v, match, shown, nmatch);
		fail("'%s' matches %zu %ss %s: %s — type more of the id", word,
		    nmatch, id_noun[kind], where, l);
		free(l);
		break;
	}
	case IDS_NONE:
	default:
		/*
		 * The backup index may not hold backups made before it
		 * existed (docs/api.md): a backup id found nowhere goes as
		 * typed, and the orchestrator answers for it.
		 */
		if (kind == ID_BACKUP) {
			out = xstrdup(word);
			break;
		}
		fail("no %s %s matches '%s' — list them with '%s'%s", id_noun[kind],
		    where, word, id_list_cmd[kind], kind != ID_TASK ? "" :
		    cluster ? ", look in another with --cluster CLUSTER, or "
		    "say 'last' for the newest" : ", or say 'last' for the newest");
		break;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return out;
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
	char *id = resolve_id(x, ID_TASK, cmd_arg(x->call, "ID"), NULL);
	if (id == NULL)
		return EXEC_FAILED;
	char *p = task_path(id, NULL);
	free(id);
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
	const char *rf = cmd_flag(x->call, "--reconnect-for");
	int64_t ms;
	/* The parser checked it is a duration above 0. */
	if (rf && duration_parse_ms(rf, &ms) == 0)
		o.reconnect_ms = (long)ms;
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
	char *id = resolve_id(x, ID_TASK, cmd_arg(x->call, "ID"), NULL);
	if (id == NULL)
		return EXEC_FAILED;
	int rc = watch(x, id);
	free(id);
	return rc;
}

/*
 * What an action did, from the task before (NULL when it could not be
 * read) and the task the orchestrator answered with: a running task is
 * only asked to pause or stop (it does at its next checkpoint), a queued
 * or paused one is changed at once, and an action that changed nothing
 * says so.  Fresh string.
 */
char *exec_action_text(const char *action, const json_t *before,
    const json_t *t)
{
	const char *id = jstr(t, "id") ? jstr(t, "id") : "?";
	const char *st = jstr(t, "state") ? jstr(t, "state") : "?";
	const char *was = jstr(before, "state");
	bool pause_req = json_is_true(json_object_get(t, "pause_requested"));
	bool cancel_req = json_is_true(json_object_get(t, "cancel_requested"));
	bool was_pause_req = json_is_true(json_object_get(before,
	    "pause_requested"));

	if (strcmp(action, "pause") == 0) {
		if (strcmp(st, "paused") == 0)
			return xasprintf("%s task %s — resume it with 'tasks "
			    "resume %s' or cancel it with 'tasks cancel %s'",
			    was && strcmp(was, "paused") == 0 ? "already paused:" :
			    "paused", id, id, id);
		if (strcmp(st, "running") == 0 && pause_req)
			return xasprintf("asked task %s to pause; it is still "
			    "running and pauses at its next checkpoint (follow it "
			    "with 'watch %s')", id, id);
	} else if (strcmp(action, "cancel") == 0) {
		if (strcmp(st, "cancelled") == 0)
			return xasprintf("cancelled task %s", id);
		if (strcmp(st, "running") == 0 && cancel_req)
			return xasprintf("asked task %s to stop; it is still "
			    "running and ends at its next checkpoint (follow it "
			    "with 'watch %s')", id, id);
	} else if (strcmp(action, "resume") == 0) {
		if (was && strcmp(was, "paused") != 0 && !was_pause_req)
			return xasprintf("task %s is %s, not paused: nothing to "
			    "resume", id, st);
		if (strcmp(st, "queued") == 0)
			return xasprintf("resumed task %s: queued again, it goes on "
			    "from its first unfinished step", id);
		if (strcmp(st, "running") == 0 && !pause_req)
			return xasprintf("withdrew the pause asked of task %s; it "
			    "keeps running", id);
	}
	return xasprintf("task %s is %s", id, st);
}

static int do_task_action(struct ctx *x, const char *action)
{
	struct client_resp r, b;
	char *id = resolve_id(x, ID_TASK, cmd_arg(x->call, "ID"), NULL);
	if (id == NULL)
		return EXEC_FAILED;
	/*
	 * The state before, to tell an action that changed something from
	 * one that did not (the answer is the same); not needed for --json.
	 */
	bool have_before = false;
	char *p = task_path(id, NULL);
	if (!x->json)
		have_before = client_call(x->sh->client, "GET", p, NULL, &b) == 0;
	free(p);
	p = task_path(id, action);
	int rc = call_api(x, "POST", p, NULL, &r);
	free(p);
	free(id);
	if (rc < 0) {
		if (have_before)
			client_resp_release(&b);
		return EXEC_FAILED;
	}
	if (x->json) {
		print_raw(&r);
	} else {
		char *text = exec_action_text(action, have_before ? b.json : NULL,
		    r.json);
		printf("%s\n", text);
		free(text);
	}
	if (have_before)
		client_resp_release(&b);
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
		} else if (f->value == CMD_V_BACKUP) {
			/* A short backup id, looked up where the backup lives. */
			char *id = resolve_id(x, ID_BACKUP, v,
			    cmd_flag(x->call, "--from"));
			if (id == NULL) {
				json_decref(params);
				return EXEC_FAILED;
			}
			json_object_set_new(params, f->param, json_string(id));
			free(id);
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
	struct client_resp r;
	if (cluster == NULL)
		return EXEC_FAILED;
	char *id = resolve_id(x, ID_BACKUP, cmd_arg(x->call, "ID"), cluster);
	if (id == NULL)
		return EXEC_FAILED;
	char *e = client_escape(id), *rest = xasprintf("/backups/%s", e);
	char *p = cluster_path(cluster, rest);
	free(e);
	free(rest);
	int rc = call_api(x, "DELETE", p, NULL, &r);
	free(p);
	if (rc < 0) {
		free(id);
		return EXEC_FAILED;
	}
	/* 202: the backup goes when the purge task has run, not now. */
	const char *tid = jstr(r.json, "id");
	if (x->json)
		print_raw(&r);
	else if (tid)
		printf("queued purge task %s for backup %s of '%s'; files other "
		    "backups use stay — follow it with 'watch %s'\n", tid, id,
		    cluster, tid);
	else
		printf("the orchestrator took the purge of backup %s of '%s' "
		    "(%ld); see 'tasks' for its task\n", id, cluster, r.status);
	client_resp_release(&r);
	free(id);
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
	struct client_resp r;
	char *id = resolve_id(x, ID_SCHEDULE, cmd_arg(x->call, "ID"), NULL);
	if (id == NULL)
		return EXEC_FAILED;
	char *e = client_escape(id), *p = xasprintf("/api/v1/schedules/%s", e);
	free(e);
	int rc = call_api(x, "DELETE", p, NULL, &r);
	free(p);
	if (rc < 0) {
		free(id);
		return EXEC_FAILED;
	}
	if (x->json)
		printf("{}\n");
	else
		printf("deleted schedule %s; the tasks it made stay\n", id);
	client_resp_release(&r);
	free(id);
	return EXEC_OK;
}

/* ---- events and metrics ---- */

struct ev_ref {
	const json_t *ev;
	int64_t at;			/* ms; INT64_MAX when unreadable */
	int64_t id;
	size_t pos;
};

/* Time order; the id breaks ties, then the order they came in. */
static int ev_cmp(const void *a, const void *b)
{
	const struct ev_ref *x = a, *y = b;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Milliseconds of an RFC 3339 time with optional fraction, or -1. */
static int64_t ev_ms(const char *ts)
{
	int64_t s;
	if (ts == NULL || time_parse_rfc3339(ts, &s) < 0)
		return -1;
	int64_t ms = s * 1000;
	const char *dot = strchr(ts, '.');
	if (dot) {
		int64_t f = 0, scale = 100;
		for (const char *p = dot + 1; *p >= '0' && *p <= '9'; p++) {
			f += (*p - '0') * scale;
			scale /= 10;
		}
		ms += f;
	}
	return ms;
}

static const char *or_q(const char *s)
{
	return s && *s ? s : "?";
}

/* One event as a sentence, without the time. */
static char *ev_sentence(const json_t *ev)
{
	const char *kind = or_q(jstr(ev, "kind"));
	const char *target = jstr(ev, "target"), *result = jstr(ev, "result");
	const json_t *d = json_object_get(ev, "detail");
	char rbuf[24];

	if (result == NULL && json_is_integer(json_object_get(ev, "result"))) {
		snprintf(rbuf, sizeof(rbuf), "%lld", (long long)json_integer_value(
		    json_object_get(ev, "result")));
		result = rbuf;
	}
	if (strcmp(kind, "task") == 0)
		return xasprintf("%s %s %s → %s", or_q(jstr(d, "type")),
		    or_q(target), jstr(d, "from") ? jstr(d, "from") : "new",
		    or_q(result));
	if (strcmp(kind, "node") == 0)
		return xasprintf("node %s of %s %s", or_q(target),
		    or_q(jstr(ev, "cluster")), or_q(result));
	if (strcmp(kind, "request") == 0)
		return xasprintf("%s %s %s%s%s → %s", or_q(jstr(ev, "actor")),
		    or_q(jstr(ev, "method")), or_q(jstr(ev, "route")),
		    target ? " " : "", target ? target : "", or_q(result));
	if (strcmp(kind, "cluster") == 0) {
		char *s = xasprintf("cluster %s %s by %s", or_q(target ? target :
		    jstr(ev, "cluster")), or_q(result), or_q(jstr(ev, "actor")));
		const char *key;
		json_t *ch;
		bool first = true;
		json_object_foreach((json_t *)json_object_get(d, "changed"), key,
		    ch) {
			char *a = json_dumps(json_object_get(ch, "from"),
			    JSON_ENCODE_ANY | JSON_COMPACT);
			char *b = json_dumps(json_object_get(ch, "to"),
			    JSON_ENCODE_ANY | JSON_COMPACT);
			char *t = xasprintf("%s%s %s %s → %s", s, first ? ":" : ",",
			    key, a ? a : "?", b ? b : "?");
			free(a);
			free(b);
			free(s);
			s = t;
			first = false;
		}
		return s;
	}
	/* A kind this ringsh does not know: what there is, plainly. */
	return xasprintf("%s %s %s", kind, or_q(target), or_q(result));
}

char *exec_events_text(const json_t *items)
{
	size_t n = json_array_size(items), i;
	struct ev_ref *v = xcalloc(n ? n : 1, sizeof(*v));
	char *out = xstrdup(""), today[16] = "";
	const json_t *e;

	time_rfc3339(time_wall_ms() / 1000, today, sizeof(today));
	json_array_foreach(items, i, e) {
		int64_t ms = ev_ms(jstr(e, "at"));
		v[i].ev = e;
		v[i].at = ms < 0 ? INT64_MAX : ms;
		v[i].id = json_is_integer(json_object_get(e, "id")) ?
		    json_integer_value(json_object_get(e, "id")) : 0;
		v[i].pos = i;
	}
	qsort(v, n, sizeof(*v), ev_cmp);
	for (i = 0; i < n; i++) {
		const char *at = jstr(v[i].ev, "at");
		char when[40];
		/* Today's events by their time; older ones with their date. */
		if (at == NULL || strlen(at) < 19 || v[i].at == INT64_MAX)
			snprintf(when, sizeof(when), "%s", at ? at : "?");
		else if (strncmp(at, today, 10) == 0)
			snprintf(when, sizeof(when), "%.8s", at + 11);
		else
			snprintf(when, sizeof(when), "%.10s %.8s", at, at + 11);
		char *sent = ev_sentence(v[i].ev);
		char *t = xasprintf("%s%s %s\n", out, when, sent);
		free(sent);
		free(out);
		out = t;
	}
	free(v);
	return out;
}

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
	if (json_array_size(items_of(r.json)) == 0) {
		printf("no events%s\n", since ? " since then" : "");
	} else {
		char *text = exec_events_text(items_of(r.json));
		fputs(text, stdout);
		free(text);
	}
	client_resp_release(&r);
	return EXEC_OK;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One parameter as "  name  type  default  range  description". */
static void print_param(const json_t *p)
{
	const json_t *d = json_object_get(p, "default");
	const json_t *mn = json_object_get(p, "min"), *mx = json_object_get(p,
	    "max");
	char *dv = d && !json_is_null(d) ? json_dumps(d, JSON_ENCODE_ANY) :
	    xstrdup("-");
	char range[64] = "";

	if (json_is_number(mn) && json_is_number(mx))
		snprintf(range, sizeof(range), "%s%g..%g",
		    json_is_true(json_object_get(p, "min_exclusive")) ? ">" : "",
		    json_number_value(mn), json_number_value(mx));
	printf("  %-22s %-14s %-10s %-12s %s\n", jstr(p, "name") ?
	    jstr(p, "name") : "?", jstr(p, "type") ? jstr(p, "type") : "?", dv,
	    range, jstr(p, "description") ? jstr(p, "description") : "");
	free(dv);
}

/* "task types: ..." as the orchestrator registers them, for help run. */
static void help_types(struct ctx *x)
{
	const char *const *v = exec_names(CMD_V_TASK_TYPE, NULL, x->sh);
	char **sorted;
	size_t n = 0;

	for (; v && v[n]; n++)
		;
	if (n == 0) {
		printf("task types: (ask a connected orchestrator: 'types')\n");
		return;
	}
	sorted = xcalloc(n, sizeof(*sorted));
	for (size_t i = 0; i < n; i++)
		sorted[i] = (char *)(uintptr_t)v[i];
	qsort(sorted, n, sizeof(*sorted), cmp_strp);
	printf("task types:");
	for (size_t i = 0; i < n; i++)
		printf(" %s", sorted[i]);
	printf("\n");
	free(sorted);
}

/* types [TYPE]: the orchestrator's task types, or one with its params. */
static int do_types(struct ctx *x)
{
	const char *type = cmd_arg(x->call, "TYPE");
	struct client_resp r;
	char *path;
	int rc;

	if (type != NULL && !name_valid(type))
		return usage_fail(x->call, "'%s' is not a task type name", type);
	path = type ? xasprintf("/api/v1/task-types/%s", type) :
	    xstrdup("/api/v1/task-types");
	rc = call_api(x, "GET", path, NULL, &r);
	free(path);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json) {
		print_raw(&r);
	} else if (type == NULL) {
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(r.json, "items"), i, t)
			printf("%-14s %s\n", jstr(t, "name") ? jstr(t, "name") :
			    "?", jstr(t, "description") ? jstr(t, "description") :
			    "");
		printf("\n'types TYPE' shows a type's parameters; 'run TYPE "
		    "key=value...' starts one.\n");
	} else {
		size_t i;
		json_t *p;
		printf("%s: %s\nsteps: %s\n\nparameters:\n", type,
		    jstr(r.json, "description") ? jstr(r.json, "description") :
		    "", jstr(r.json, "steps") ? jstr(r.json, "steps") : "");
		printf("  %-22s %-14s %-10s %-12s %s\n", "NAME", "TYPE",
		    "DEFAULT", "RANGE", "MEANING");
		json_array_foreach(json_object_get(r.json, "params"), i, p)
			print_param(p);
	}
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

/* ---- status ---- */

/* GET path's items (one page is enough for a summary); NULL on failure. */
static json_t *status_get(struct ctx *x, const char *cluster, const char *rest)
{
	struct client_resp r;
	char *p = cluster_path(cluster, rest);
	int rc = call_api(x, "GET", p, NULL, &r);
	free(p);
	if (rc < 0)
		return NULL;
	json_t *items = items_of(r.json);
	json_t *out = json_is_array(items) ? json_incref(items) : json_array();
	client_resp_release(&r);
	return out;
}

static bool is_state(const json_t *o, const char *state)
{
	const char *s = jstr(o, "state");
	return s && strcmp(s, state) == 0;
}

/* Append sep-separated part to *s. */
static void join_sep(char **s, const char *sep, const char *part)
{
	char *t = xasprintf("%s%s%s", *s, **s ? sep : "", part);
	free(*s);
	*s = t;
}

static void join(char **s, const char *part)
{
	join_sep(s, "; ", part);
}

/* One more thing that needs a person, a line of its own. */
static void attention(char **s, const char *part)
{
	join_sep(s, "\n    ", part);
}

/* The newest item (lists are newest first) passing keep, or NULL. */
static const json_t *newest(const json_t *items, const char *type,
    const char *state)
{
	size_t i;
	const json_t *it;
	json_array_foreach(items, i, it) {
		if (type && (jstr(it, "type") == NULL ||
		    strcmp(jstr(it, "type"), type) != 0))
			continue;
		if (state && !is_state(it, state))
			continue;
		return it;
	}
	return NULL;
}

/*
 * One cluster's screen.  The routes are read one after another; a route
 * that fails ends the screen with its error (a status that leaves out a
 * part would hide exactly what it is for).
 */
static int status_one(struct ctx *x, const char *cluster)
{
	json_t *nodes = NULL, *tasks = NULL, *backups = NULL, *scheds = NULL;
	char *attn = xstrdup(""), *line = xstrdup(""), buf[256], ago[32];
	int rc = EXEC_FAILED;
	size_t i, k;
	json_t *it;

	if ((nodes = status_get(x, cluster, "/nodes")) == NULL ||
	    (tasks = status_get(x, cluster, "/tasks?limit=200")) == NULL ||
	    (backups = status_get(x, cluster, "/backups")) == NULL ||
	    (scheds = status_get(x, cluster, "/schedules")) == NULL)
		goto out;
	if (x->json) {
		json_t *o = json_pack("{s:s,s:O,s:O,s:O,s:O}", "cluster", cluster,
		    "nodes", nodes, "tasks", tasks, "backups", backups,
		    "schedules", scheds);
		char *d = json_dumps(o, JSON_COMPACT);
		printf("%s\n", d);
		free(d);
		json_decref(o);
		rc = EXEC_OK;
		goto out;
	}

	/* Nodes by state, in the order states first appear. */
	const char *states[16];
	size_t counts[16], nst = 0;
	json_array_foreach(nodes, i, it) {
		const char *st = jstr(it, "state") ? jstr(it, "state") : "unknown";
		for (k = 0; k < nst && strcmp(states[k], st) != 0; k++)
			;
		if (k == nst && nst < ARRAY_SIZE(states)) {
			states[nst] = st;
			counts[nst++] = 0;
		}
		if (k < nst)
			counts[k]++;
		if (strcmp(st, "up") != 0) {
			char hb[48] = "no heartbeat yet";
			if (jstr(it, "last_heartbeat")) {
				fmt_ago(jstr(it, "last_heartbeat"), ago, sizeof(ago));
				snprintf(hb, sizeof(hb), "last heartbeat %s", ago);
			}
			char *t = xasprintf("node %s is %s (%s) — check its agent "
			    "and Cassandra; see 'nodes'", or_q(jstr(it, "address")),
			    st, hb);
			attention(&attn, t);
			free(t);
		}
	}
	for (k = 0; k < nst; k++) {
		snprintf(buf, sizeof(buf), "%zu %s", counts[k], states[k]);
		join(&line, buf);
	}
	printf("cluster %s\n", cluster);
	printf("  %-10s %zu%s%s\n", "nodes", json_array_size(nodes),
	    *line ? ": " : " (agents add them when they check in)", line);

	/* Tasks: what runs, what waits. */
	free(line);
	line = xstrdup("");
	size_t queued = 0, paused = 0;
	json_array_foreach(tasks, i, it) {
		if (is_state(it, "running")) {
			json_t *pr = json_object_get(it, "progress");
			fmt_ago(jstr(it, "started_at"), ago, sizeof(ago));
			snprintf(buf, sizeof(buf), "running %s %s %lld/%lld, "
			    "started %s", or_q(jstr(it, "type")),
			    or_q(jstr(it, "id")),
			    (long long)json_integer_value(json_object_get(pr, "done")),
			    (long long)json_integer_value(json_object_get(pr, "total")),
			    ago);
			join(&line, buf);
		}
		paused += is_state(it, "paused");
	}
	/* Queued ones by name, oldest (next to run) first, a few at most. */
	char *q = xstrdup("");
	for (i = json_array_size(tasks); i-- > 0;) {
		it = json_array_get(tasks, i);
		if (!is_state(it, "queued"))
			continue;
		if (queued++ < 3) {
			snprintf(buf, sizeof(buf), "%s %s", or_q(jstr(it, "type")),
			    or_q(jstr(it, "id")));
			join_sep(&q, ", ", buf);
		}
	}
	if (queued) {
		char more[32] = "";
		if (queued > 3)
			snprintf(more, sizeof(more), " and %zu more", queued - 3);
		char *t = xasprintf("queued %s%s", q, more);
		join(&line, t);
		free(t);
	}
	free(q);
	if (paused) {
		snprintf(buf, sizeof(buf), "%zu paused (resume with 'tasks "
		    "resume ID')", paused);
		join(&line, buf);
	}
	printf("  %-10s %s\n", "tasks", *line ? line : "none running or queued");

	/* Failed tasks not followed by a success of their type. */
	json_array_foreach(tasks, i, it) {
		if (!is_state(it, "failed") || jstr(it, "type") == NULL)
			continue;
		const json_t *ok = newest(tasks, jstr(it, "type"), "succeeded");
		const json_t *first_fail = newest(tasks, jstr(it, "type"),
		    "failed");
		if (first_fail != it)
			continue;	/* only the newest failure of a type */
		if (ok && jstr(ok, "created_at") && jstr(it, "created_at") &&
		    strcmp(jstr(ok, "created_at"), jstr(it, "created_at")) > 0)
			continue;
		ago[0] = '\0';
		if (jstr(it, "finished_at"))
			fmt_ago(jstr(it, "finished_at"), ago, sizeof(ago));
		char *t = xasprintf("%s %s failed%s%s: %s — see 'tasks show %s'",
		    jstr(it, "type"), or_q(jstr(it, "id")), *ago ? " " : "", ago,
		    task_error(it) ? task_error(it) : "no error given",
		    or_q(jstr(it, "id")));
		attention(&attn, t);
		free(t);
	}

	/* Backups: the newest usable one, the newest verify, damage. */
	const json_t *good = NULL, *ver = NULL;
	json_array_foreach(backups, i, it) {
		if (good == NULL && (is_state(it, "complete") ||
		    is_state(it, "partial")))
			good = it;
		const char *v = jstr(it, "last_verified_at");
		if (v && (ver == NULL || strcmp(v, jstr(ver,
		    "last_verified_at")) > 0))
			ver = it;
		if (is_state(it, "damaged")) {
			json_t *df = json_object_get(it, "damaged_files");
			char *t = xasprintf("backup %s is damaged (%lld file%s lost "
			    "or corrupt) — take a new backup; 'restore --backup "
			    "%s --force' restores only what is sound",
			    or_q(jstr(it, "id")), (long long)json_integer_value(df),
			    json_integer_value(df) == 1 ? "" : "s",
			    or_q(jstr(it, "id")));
			attention(&attn, t);
			free(t);
		}
	}
	if (good) {
		fmt_ago(jstr(good, "finished_at"), ago, sizeof(ago));
		printf("  %-10s last %s %s, finished %s\n", "backup",
		    or_q(jstr(good, "state")), or_q(jstr(good, "id")), ago);
	} else {
		printf("  %-10s no complete backup — start one with 'backup'\n",
		    "backup");
		attention(&attn, "no complete backup to restore from — start one "
		    "with 'backup'");
	}
	if (ver) {
		fmt_ago(jstr(ver, "last_verified_at"), ago, sizeof(ago));
		printf("  %-10s %s: %s of %s\n", "verify", ago,
		    or_q(jstr(ver, "last_verify")), or_q(jstr(ver, "id")));
	} else {
		printf("  %-10s never — check a backup with 'verify'\n", "verify");
	}
	const json_t *rep = newest(tasks, "repair", "succeeded");
	if (rep) {
		fmt_ago(jstr(rep, "finished_at"), ago, sizeof(ago));
		printf("  %-10s last succeeded %s (%s)\n", "repair", ago,
		    or_q(jstr(rep, "id")));
	} else {
		printf("  %-10s none succeeded among the last %zu tasks — start "
		    "one with 'repair'\n", "repair", json_array_size(tasks));
	}

	/* Schedules: when each runs next; one whose last task failed. */
	if (json_array_size(scheds) == 0)
		printf("  %-10s none — add one with 'schedules create'\n",
		    "schedules");
	json_array_foreach(scheds, i, it) {
		const char *nx = jstr(it, "next_run_at");
		char when[96];
		fmt_ago(nx, ago, sizeof(ago));
		if (jstr(it, "every"))
			snprintf(when, sizeof(when), "every %s", jstr(it, "every"));
		else
			snprintf(when, sizeof(when), "cron %s", or_q(jstr(it,
			    "cron")));
		printf("  %-10s %s %s, next %s (%s)\n", i ? "" : "schedules",
		    or_q(jstr(it, "type")), when, nx ? ago : "-",
		    or_q(jstr(it, "id")));
		const char *lt = jstr(it, "last_task_id");
		size_t j;
		json_t *t;
		json_array_foreach(tasks, j, t) {
			if (lt && jstr(t, "id") && strcmp(jstr(t, "id"), lt) == 0 &&
			    is_state(t, "failed")) {
				char *m = xasprintf("schedule %s (%s %s): its last "
				    "task %s failed — see 'tasks show %s'",
				    or_q(jstr(it, "id")), or_q(jstr(it, "type")),
				    when, lt, lt);
				attention(&attn, m);
				free(m);
			}
		}
	}

	printf("  needs a person:%s%s\n", *attn ? "\n    " : " nothing", attn);
	rc = EXEC_OK;
out:
	json_decref(nodes);
	json_decref(tasks);
	json_decref(backups);
	json_decref(scheds);
	free(attn);
	free(line);
	return rc;
}

static int do_status(struct ctx *x)
{
	const char *cluster = cmd_arg(x->call, "CLUSTER");
	struct client_conn *cn = client_current(x->sh->client);
	char **cl = NULL;
	size_t ncl = 0;
	int rc = EXEC_OK;

	if (cluster == NULL && cn)
		cluster = cn->cluster;
	if (cluster)
		return status_one(x, cluster);
	if (collect_field(x, "/api/v1/clusters", "name", &cl, &ncl) < 0)
		return EXEC_FAILED;
	if (ncl == 0)
		printf("no clusters — add one with 'clusters create'\n");
	for (size_t i = 0; i < ncl; i++) {
		if (i)
			printf("\n");
		if (rc == EXEC_OK)
			rc = status_one(x, cl[i]);
		free(cl[i]);
	}
	free(cl);
	return rc;
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
		if (strncmp(topic, "run ", 4) == 0 || strncmp(topic, "types ",
		    6) == 0)
			help_types(x);
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
	case CMD_TYPES:
		return do_types(x);
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
	case CMD_STATUS:
		return do_status(x);
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

const char *const *exec_names(enum cmd_value kind, const char *context,
    void *arg)
{
	struct shell *sh = arg;
	struct client *c = sh->client;
	struct client_conn *cn = client_current(c);
	static const char *const none[] = { NULL };

	switch (kind) {
	case CMD_V_TASK_TYPE:
		return client_names(c, "/api/v1/task-types", "name");
	case CMD_V_TASK_PARAM: {
		/* The type's own entry lists its parameters. */
		char *p;
		const char *const *v;
		if (context == NULL || !name_valid(context))
			return none;
		p = xasprintf("/api/v1/task-types/%s", context);
		v = client_names(c, p, "name");
		free(p);
		return v;
	}
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
