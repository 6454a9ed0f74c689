/*
 * exec.c - see exec.h.  One handler per command id; each builds its request
 * from the parsed call, checks everything it can before sending, and prints
 * either a table, a few "key: value" lines, or (with --json) the answer's
 * raw JSON.
 *
 * This file holds what the handlers share (requests, lists, formats, ids)
 * and the dispatch from command id to handler; the handlers are in one
 * file per command group: exec_clusters.c, exec_tasks.c, exec_backups.c
 * (with schedules), exec_events.c (with types and metrics), exec_status.c.
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
#include "exec_int.h"

const char *exec_jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int exec_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("ringsh: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXEC_FAILED;
}

int exec_usage_fail(const struct cmd_call *call, const char *fmt, ...)
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
int exec_call_api(struct exec_ctx *x, const char *method, const char *path,
    const json_t *body, struct client_resp *r)
{
	if (client_call(x->sh->client, method, path, body, r) < 0) {
		exec_fail("%s", client_error(x->sh->client));
		return -1;
	}
	return 0;
}

#define MAX_PAGES 100

/*
 * GET a list, following "next" cursors, so r->json holds every item in one
 * {"items": [...], "next": null}; r->body is re-rendered to match for --json.
 */
int exec_get_list(struct exec_ctx *x, const char *path, struct client_resp *r)
{
	if (exec_call_api(x, "GET", path, NULL, r) < 0)
		return -1;
	json_t *items = json_object_get(r->json, "items");
	const char *next = exec_jstr(r->json, "next");
	if (!json_is_array(items) || next == NULL || *next == '\0')
		return 0;
	for (int page = 1; next && *next && page < MAX_PAGES; page++) {
		struct client_resp more;
		char *e = client_escape(next);
		char *p = xasprintf("%s%scursor=%s", path,
		    strchr(path, '?') ? "&" : "?", e);
		free(e);
		int rc = exec_call_api(x, "GET", p, NULL, &more);
		free(p);
		if (rc < 0) {
			client_resp_release(r);
			return -1;
		}
		json_array_extend(items, json_object_get(more.json, "items"));
		json_object_set(r->json, "next", json_object_get(more.json,
		    "next"));
		client_resp_release(&more);
		next = exec_jstr(r->json, "next");
	}
	free(r->body);
	r->body = json_dumps(r->json, JSON_COMPACT);
	r->body_len = strlen(r->body);
	return 0;
}

void exec_print_raw(const struct client_resp *r)
{
	if (r->body && r->body_len) {
		fwrite(r->body, 1, r->body_len, stdout);
		if (r->body[r->body_len - 1] != '\n')
			fputc('\n', stdout);
	} else {
		printf("{}\n");
	}
}

size_t exec_out_width(struct exec_ctx *x)
{
	return table_width(stdout) ? table_width(stdout) :
	    (x->sh->tty_out ? 80 : 0);
}

/* "3m ago" for an RFC 3339 string; "-" when absent. */
void exec_fmt_ago(const char *ts, char *buf, size_t size)
{
	int64_t t;
	if (ts == NULL || time_parse_rfc3339(ts, &t) < 0) {
		snprintf(buf, size, "%s", ts ? ts : "-");
		return;
	}
	table_ago(t, time_wall_ms() / 1000, buf, size);
}

/* "2026-01-02T03:04:05Z (3m ago)" for show. */
void exec_fmt_when(const char *ts, char *buf, size_t size)
{
	char ago[32];
	if (ts == NULL) {
		snprintf(buf, size, "-");
		return;
	}
	exec_fmt_ago(ts, ago, sizeof(ago));
	snprintf(buf, size, "%s (%s)", ts, ago);
}

void exec_fmt_size(const json_t *v, char *buf, size_t size)
{
	if (!json_is_integer(v)) {
		snprintf(buf, size, "-");
		return;
	}
	table_size((uint64_t)json_integer_value(v), buf, size);
}

void exec_fmt_int(const json_t *v, char *buf, size_t size)
{
	if (json_is_integer(v))
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		snprintf(buf, size, "%s", json_string_value(v));
	else
		snprintf(buf, size, "-");
}

json_t *exec_items_of(json_t *j)
{
	if (json_is_array(j))
		return j;
	return json_object_get(j, "items");
}

void exec_print_table(struct exec_ctx *x, struct table *t, const char *empty)
{
	if (table_rows(t) == 0)
		printf("%s\n", empty);
	else
		table_print(t, stdout, exec_out_width(x));
}

/* The cluster a command acts on; NULL with the reason printed. */
const char *exec_pick_cluster(struct exec_ctx *x, const char *explicit)
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
		exec_fail("%s: no cluster selected — name one with --cluster CLUSTER "
		    "or 'use CLUSTER' (see 'clusters')", x->call->path);
	return c;
}

char *exec_cluster_path(const char *cluster, const char *rest)
{
	char *e = client_escape(cluster);
	char *p = xasprintf("/api/v1/clusters/%s%s", e, rest);
	free(e);
	return p;
}

/* ---- ids an operator can type (see ids.h) ---- */

static const char *const id_noun[] = { "task", "backup", "schedule" };
static const char *const id_list_cmd[] = { "tasks", "backups", "schedules" };
static const char *const id_route[] = { "/tasks", "/backups", "/schedules" };

/* Append field of every item of GET path to *v (*n of them). */
int exec_collect_field(struct exec_ctx *x, const char *path, const char *field,
    char ***v, size_t *n)
{
	struct client_resp r;
	size_t i;
	json_t *it;

	if (exec_get_list(x, path, &r) < 0)
		return -1;
	json_array_foreach(exec_items_of(r.json), i, it) {
		const char *id = exec_jstr(it, field);
		if (id == NULL)
			continue;
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[(*n)++] = xstrdup(id);
	}
	client_resp_release(&r);
	return 0;
}

/* The newest task of cluster (lists are newest first); fresh or NULL. */
static char *last_task(struct exec_ctx *x, const char *cluster)
{
	struct client_resp r;
	char *p = exec_cluster_path(cluster, "/tasks?limit=1"), *id = NULL;
	int rc = exec_call_api(x, "GET", p, NULL, &r);
	free(p);
	if (rc < 0)
		return NULL;
	const char *s = exec_jstr(json_array_get(exec_items_of(r.json), 0), "id");
	if (s)
		id = xstrdup(s);
	else
		exec_fail("cluster '%s' has no tasks yet, so there is no 'last' — "
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
char *exec_resolve_id(struct exec_ctx *x, enum exec_id_kind kind, const char *word,
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
		if ((cluster = exec_pick_cluster(x, cluster)) == NULL)
			return NULL;
		return last_task(x, cluster);
	}
	if (cluster == NULL && kind == ID_TASK) {
		/* No cluster to look in: a task id is unique everywhere. */
		char **cl = NULL;
		size_t ncl = 0;
		if (exec_collect_field(x, "/api/v1/clusters", "name", &cl, &ncl) < 0)
			return NULL;
		int rc = 0;
		for (size_t i = 0; i < ncl && rc == 0; i++) {
			char *p = exec_cluster_path(cl[i], "/tasks");
			rc = exec_collect_field(x, p, "id", &v, &n);
			free(p);
		}
		for (size_t i = 0; i < ncl; i++)
			free(cl[i]);
		free(cl);
		if (rc < 0)
			goto out;
		snprintf(where, sizeof(where), "on any cluster");
	} else {
		if ((cluster = exec_pick_cluster(x, cluster)) == NULL)
			return NULL;
		char *p = exec_cluster_path(cluster, id_route[kind]);
		int rc = exec_collect_field(x, p, "id", &v, &n);
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
		exec_fail("'%s' matches %zu %ss %s: %s — type more of the id", word,
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
		exec_fail("no %s %s matches '%s' — list them with '%s'%s", id_noun[kind],
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

static int dispatch(struct exec_ctx *x)
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
			return exec_usage_fail(x->call, "%s", err);
		if (strncmp(topic, "run ", 4) == 0 || strncmp(topic, "types ",
		    6) == 0)
			exec_help_types(x);
		return EXEC_OK;
	}
	case CMD_QUIT:
		x->sh->quit = true;
		return EXEC_OK;
	case CMD_CONNECT:
		return exec_connect(x);
	case CMD_CONNECTIONS:
		return exec_connections(x);
	case CMD_USE:
		return exec_use(x);
	case CMD_HEALTH:
		return exec_health(x);
	case CMD_METRICS:
		return exec_metrics(x);
	case CMD_TYPES:
		return exec_types(x);
	case CMD_CLUSTERS_LIST:
		return exec_clusters_list(x);
	case CMD_CLUSTERS_SHOW:
		return exec_clusters_show(x);
	case CMD_CLUSTERS_CREATE:
		return exec_clusters_create(x);
	case CMD_CLUSTERS_UPDATE:
		return exec_clusters_update(x);
	case CMD_CLUSTERS_DELETE:
		return exec_clusters_delete(x);
	case CMD_NODES:
		return exec_nodes(x);
	case CMD_NODE_REVOKE:
		return exec_node_credential(x, "DELETE", "/credential");
	case CMD_NODE_READMIT:
		return exec_node_credential(x, "POST", "/readmit");
	case CMD_SEEDS:
		return exec_seeds(x);
	case CMD_TASKS_LIST:
		return exec_tasks_list(x);
	case CMD_TASKS_SHOW:
		return exec_tasks_show(x);
	case CMD_TASKS_WATCH:
		return exec_tasks_watch(x);
	case CMD_TASKS_CANCEL:
		return exec_task_action(x, "cancel");
	case CMD_TASKS_PAUSE:
		return exec_task_action(x, "pause");
	case CMD_TASKS_RESUME:
		return exec_task_action(x, "resume");
	case CMD_RUN:
		return exec_run(x, cmd_arg(x->call, "TYPE"));
	case CMD_TASK_SHORTCUT:
		return exec_run(x, c->task_type);
	case CMD_BACKUPS_LIST:
		return exec_backups_list(x);
	case CMD_BACKUPS_DELETE:
		return exec_backups_delete(x);
	case CMD_SCHEDULES_LIST:
		return exec_schedules_list(x);
	case CMD_SCHEDULES_CREATE:
		return exec_schedules_create(x);
	case CMD_SCHEDULES_DELETE:
		return exec_schedules_delete(x);
	case CMD_EVENTS:
		return exec_events(x);
	case CMD_STATUS:
		return exec_status(x);
	case CMD_TENANTS_LIST:
		return exec_tenants_list(x);
	case CMD_TENANT_CREATE:
		return exec_tenant_create(x);
	case CMD_TENANT_SHOW:
		return exec_tenant_show(x);
	case CMD_TENANT_SET:
		return exec_tenant_set(x);
	case CMD_TENANT_DELETE:
		return exec_tenant_delete(x);
	case CMD_NONE:
	default:
		return exec_usage_fail(x->call, "not a command");
	}
}

static int exec_one(struct shell *sh, const char *line)
{
	struct cmd_call call;
	char err[512];
	int rc;

	if (cmd_parse(line, &call, err, sizeof(err)) < 0) {
		rc = exec_usage_fail(&call, "%s", err);
		cmd_call_release(&call);
		return rc;
	}
	if (call.empty) {
		cmd_call_release(&call);
		return EXEC_OK;
	}
	struct exec_ctx x = { sh, &call, call.json || sh->json };
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
		char *p = exec_cluster_path(cn->cluster, rest);
		const char *const *v = client_names(c, p, "id");
		free(p);
		return v;
	}
	default:
		return none;
	}
}
