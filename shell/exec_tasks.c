/*
 * exec_tasks.c - the handlers of tasks: list, show, watch,
 * cancel/pause/resume, and run (submit a task of any registered type).
 * See exec.c for how a handler works and exec_int.h for what they share.
 */
#include <ctype.h>
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
#include "exec.h"
#include "exec_int.h"

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

const char *exec_task_error(const json_t *task)
{
	json_t *e = json_object_get(task, "error");
	if (json_is_string(e))
		return json_string_value(e);
	if (json_is_object(e))
		return exec_jstr(e, "message");
	return NULL;
}

static char *task_path(const char *id, const char *action);

/*
 * Why a running task waits, when its running step says so ("waiting for
 * maintenance window ...", "waiting for 10.0.0.2 ..."): the list holds no
 * step messages, so the task is read; a cluster runs one task at a time,
 * so this is one request per cluster at most.  Fresh string or NULL.
 */
static char *running_wait(struct exec_ctx *x, const json_t *task)
{
	struct client_resp r;
	char *p, *out = NULL;
	size_t i;
	json_t *s;

	if (exec_jstr(task, "id") == NULL || exec_jstr(task, "state") == NULL ||
	    strcmp(exec_jstr(task, "state"), "running") != 0)
		return NULL;
	p = task_path(exec_jstr(task, "id"), NULL);
	memset(&r, 0, sizeof(r));
	if (client_call(x->sh->client, "GET", p, NULL, &r) == 0)
		json_array_foreach(json_object_get(r.json, "steps"), i, s) {
			const char *st = exec_jstr(s, "state");
			const char *m = exec_jstr(s, "message");
			if (out == NULL && st != NULL && strcmp(st, "running") == 0 &&
			    m != NULL && str_starts_with(m, "waiting for "))
				out = xstrdup(m);
		}
	client_resp_release(&r);
	free(p);
	return out;
}

int exec_tasks_list(struct exec_ctx *x)
{
	const char *state = cmd_flag(x->call, "--state");
	struct client_resp r;
	char *q = state ? xasprintf("/tasks?state=%s", state) : xstrdup("/tasks");
	int lr = exec_cluster_list(x, exec_pick_cluster(x, NULL), q, &r);
	free(q);
	if (lr != LIST_TABLE)
		return lr == LIST_DONE ? EXEC_OK : EXEC_FAILED;
	/* NOTE: why a task failed, or why a running one waits */
	struct table *t = table_new(7, (const char *const[]){ "ID", "TYPE",
	    "STATE", "PROGRESS", "CREATED", "FINISHED", "NOTE" });
	size_t i;
	json_t *it;
	json_array_foreach(exec_items_of(r.json), i, it) {
		char prog[48], cr[32], fin[32];
		char *wait = running_wait(x, it);
		fmt_progress(it, prog, sizeof(prog));
		exec_fmt_ago(exec_jstr(it, "created_at"), cr, sizeof(cr));
		exec_fmt_ago(exec_jstr(it, "finished_at"), fin, sizeof(fin));
		const char *cells[7] = { exec_jstr(it, "id"), exec_jstr(it, "type"),
		    exec_jstr(it, "state"), prog, cr, exec_jstr(it, "finished_at") ? fin :
		    NULL, wait ? wait : exec_task_error(it) };
		table_add(t, cells);
		free(wait);
	}
	exec_print_table(x, t, state ? "no tasks in that state" : "no tasks yet");
	table_free(t);
	client_resp_release(&r);
	return EXEC_OK;
}

static void print_task(struct exec_ctx *x, const json_t *j)
{
	char buf[160];
	exec_kv_line("id", exec_jstr(j, "id"));
	exec_kv_line("cluster", exec_jstr(j, "cluster"));
	exec_kv_line("type", exec_jstr(j, "type"));
	exec_kv_line("state", exec_jstr(j, "state"));
	json_t *params = json_object_get(j, "params");
	char *ps = params ? json_dumps(params, JSON_COMPACT) : NULL;
	exec_kv_line("params", ps);
	free(ps);
	fmt_progress(j, buf, sizeof(buf));
	exec_kv_line("progress", buf);
	exec_fmt_when(exec_jstr(j, "created_at"), buf, sizeof(buf));
	exec_kv_line("created", buf);
	exec_fmt_when(exec_jstr(j, "started_at"), buf, sizeof(buf));
	exec_kv_line("started", buf);
	exec_fmt_when(exec_jstr(j, "finished_at"), buf, sizeof(buf));
	exec_kv_line("finished", buf);
	if (exec_task_error(j))
		exec_kv_line("error", exec_task_error(j));
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
		exec_fmt_int(json_object_get(s, "attempts"), att, sizeof(att));
		exec_fmt_ago(exec_jstr(s, "started_at"), st, sizeof(st));
		exec_fmt_ago(exec_jstr(s, "finished_at"), fin, sizeof(fin));
		const char *cells[7] = { exec_jstr(s, "name"), exec_jstr(s, "node"),
		    exec_jstr(s, "state"), att, exec_jstr(s, "started_at") ? st : NULL,
		    exec_jstr(s, "finished_at") ? fin : NULL, exec_jstr(s, "message") };
		table_add(t, cells);
	}
	exec_print_table(x, t, "");
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

int exec_tasks_show(struct exec_ctx *x)
{
	struct client_resp r;
	char *id = exec_resolve_id(x, ID_TASK, cmd_arg(x->call, "ID"), NULL);
	if (id == NULL)
		return EXEC_FAILED;
	char *p = task_path(id, NULL);
	free(id);
	int rc = exec_call_api(x, "GET", p, NULL, &r);
	free(p);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json)
		exec_print_raw(&r);
	else
		print_task(x, r.json);
	client_resp_release(&r);
	return EXEC_OK;
}

int exec_watch(struct exec_ctx *x, const char *id)
{
	struct watch_opts o = {
		.tty = x->sh->tty_out, .json = x->json,
		.width = exec_out_width(x), .interrupted = x->sh->interrupted,
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

int exec_tasks_watch(struct exec_ctx *x)
{
	char *id = exec_resolve_id(x, ID_TASK, cmd_arg(x->call, "ID"), NULL);
	if (id == NULL)
		return EXEC_FAILED;
	int rc = exec_watch(x, id);
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
	const char *id = exec_jstr(t, "id") ? exec_jstr(t, "id") : "?";
	const char *st = exec_jstr(t, "state") ? exec_jstr(t, "state") : "?";
	const char *was = exec_jstr(before, "state");
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

int exec_task_action(struct exec_ctx *x, const char *action)
{
	struct client_resp r, b;
	char *id = exec_resolve_id(x, ID_TASK, cmd_arg(x->call, "ID"), NULL);
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
	int rc = exec_call_api(x, "POST", p, NULL, &r);
	free(p);
	free(id);
	if (rc < 0) {
		if (have_before)
			client_resp_release(&b);
		return EXEC_FAILED;
	}
	if (x->json) {
		exec_print_raw(&r);
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
static int post_task(struct exec_ctx *x, const char *type, json_t *params)
{
	const char *cluster = exec_pick_cluster(x, NULL);
	struct client_resp r;
	if (cluster == NULL)
		return EXEC_FAILED;
	json_t *body = json_pack("{s:s,s:O}", "type", type, "params", params);
	char *p = exec_cluster_path(cluster, "/tasks");
	int rc = exec_call_api(x, "POST", p, body, &r);
	free(p);
	json_decref(body);
	if (rc < 0)
		return EXEC_FAILED;
	const char *id = exec_jstr(r.json, "id");
	bool w = cmd_flag(x->call, "--watch") != NULL;
	if (x->json && !w)
		exec_print_raw(&r);
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
		status = exec_watch(x, tid);
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

int exec_run(struct exec_ctx *x, const char *type)
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
			char *id = exec_resolve_id(x, ID_BACKUP, v,
			    cmd_flag(x->call, "--from"));
			if (id == NULL) {
				json_decref(params);
				return EXEC_FAILED;
			}
			json_object_set_new(params, f->param, json_string(id));
			free(id);
		} else if (f->value == CMD_V_NUMBER || f->value == CMD_V_DECIMAL) {
			json_object_set_new(params, f->param, json_real_or_int(v));
		} else {
			json_object_set_new(params, f->param, f->value ==
			    CMD_V_NONE ? json_true() : json_string(v));
		}
	}
	/* A shortcut's words are params too: NEW_ADDRESS sets new_address. */
	for (size_t i = 0; c->task_type && c->args && c->args[i].name; i++) {
		const char *v = cmd_arg(x->call, c->args[i].name);
		char *key;
		if (v == NULL)
			continue;
		key = xstrdup(c->args[i].name);
		for (char *k = key; *k; k++)
			*k = (char)tolower((unsigned char)*k);
		if (strlen(key) > 3 && strcmp(key + strlen(key) - 3, "...") ==
		    0) {
			/* NODE... sets nodes, a list. */
			strcpy(key + strlen(key) - 3, "s");
			json_object_set_new(params, key, split_list(v));
		} else if (c->args[i].value == CMD_V_NUMBER) {
			json_object_set_new(params, key, json_real_or_int(v));
		} else {
			json_object_set_new(params, key, json_string(v));
		}
		free(key);
	}
	if (cmd_kv_parse(x->call->kv, x->call->nkv, params, err,
	    sizeof(err)) < 0) {
		json_decref(params);
		return exec_usage_fail(x->call, "%s", err);
	}
	int rc = post_task(x, type, params);
	json_decref(params);
	return rc;
}
