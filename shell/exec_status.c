/*
 * exec_status.c - the handlers of status: one screen on the health of a
 * cluster.
 * See exec.c for how a handler works and exec_int.h for what they share.
 */
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

/* ---- status ---- */

/* GET path's items (one page is enough for a summary); NULL on failure. */
static json_t *status_get(struct exec_ctx *x, const char *cluster, const char *rest)
{
	struct client_resp r;
	char *p = exec_cluster_path(cluster, rest);
	int rc = exec_call_api(x, "GET", p, NULL, &r);
	free(p);
	if (rc < 0)
		return NULL;
	json_t *items = exec_items_of(r.json);
	json_t *out = json_is_array(items) ? json_incref(items) : json_array();
	client_resp_release(&r);
	return out;
}

static bool is_state(const json_t *o, const char *state)
{
	const char *s = exec_jstr(o, "state");
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
const json_t *exec_newest(const json_t *items, const char *type,
    const char *state)
{
	size_t i;
	const json_t *it;
	json_array_foreach(items, i, it) {
		if (type && (exec_jstr(it, "type") == NULL ||
		    strcmp(exec_jstr(it, "type"), type) != 0))
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
static int status_one(struct exec_ctx *x, const char *cluster)
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
		const char *st = exec_jstr(it, "state") ? exec_jstr(it, "state") : "unknown";
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
			if (exec_jstr(it, "last_heartbeat")) {
				exec_fmt_ago(exec_jstr(it, "last_heartbeat"), ago, sizeof(ago));
				snprintf(hb, sizeof(hb), "last heartbeat %s", ago);
			}
			char *t = xasprintf("node %s is %s (%s) — check its agent "
			    "and Cassandra; see 'nodes'", exec_or_q(exec_jstr(it, "address")),
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
			exec_fmt_ago(exec_jstr(it, "started_at"), ago, sizeof(ago));
			snprintf(buf, sizeof(buf), "running %s %s %lld/%lld, "
			    "started %s", exec_or_q(exec_jstr(it, "type")),
			    exec_or_q(exec_jstr(it, "id")),
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
			snprintf(buf, sizeof(buf), "%s %s", exec_or_q(exec_jstr(it, "type")),
			    exec_or_q(exec_jstr(it, "id")));
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
		if (!is_state(it, "failed") || exec_jstr(it, "type") == NULL)
			continue;
		const json_t *ok = exec_newest(tasks, exec_jstr(it, "type"), "succeeded");
		const json_t *first_fail = exec_newest(tasks, exec_jstr(it, "type"),
		    "failed");
		if (first_fail != it)
			continue;	/* only the newest failure of a type */
		if (ok && exec_jstr(ok, "created_at") && exec_jstr(it, "created_at") &&
		    strcmp(exec_jstr(ok, "created_at"), exec_jstr(it, "created_at")) > 0)
			continue;
		ago[0] = '\0';
		if (exec_jstr(it, "finished_at"))
			exec_fmt_ago(exec_jstr(it, "finished_at"), ago, sizeof(ago));
		char *t = xasprintf("%s %s failed%s%s: %s — see 'tasks show %s'",
		    exec_jstr(it, "type"), exec_or_q(exec_jstr(it, "id")),
		    *ago ? " " : "", ago,
		    exec_task_error(it) ? exec_task_error(it) : "no error given",
		    exec_or_q(exec_jstr(it, "id")));
		attention(&attn, t);
		free(t);
	}

	/* Partial tasks (a repair that left ranges) not followed by a
	 * success of their type: what is missing is the task's error. */
	json_array_foreach(tasks, i, it) {
		if (!is_state(it, "partial") || exec_jstr(it, "type") == NULL ||
		    exec_newest(tasks, exec_jstr(it, "type"), "partial") != it)
			continue;
		const json_t *ok = exec_newest(tasks, exec_jstr(it, "type"),
		    "succeeded");
		if (ok && exec_jstr(ok, "created_at") && exec_jstr(it, "created_at") &&
		    strcmp(exec_jstr(ok, "created_at"), exec_jstr(it, "created_at")) > 0)
			continue;
		ago[0] = '\0';
		if (exec_jstr(it, "finished_at"))
			exec_fmt_ago(exec_jstr(it, "finished_at"), ago, sizeof(ago));
		char *t = xasprintf("%s %s ended partial%s%s: %s — see 'tasks show "
		    "%s'", exec_jstr(it, "type"), exec_or_q(exec_jstr(it, "id")),
		    *ago ? " " : "", ago,
		    exec_task_error(it) ? exec_task_error(it) : "no reason given",
		    exec_or_q(exec_jstr(it, "id")));
		attention(&attn, t);
		free(t);
	}

	/* Backups: the newest usable one, the newest verify, damage. */
	const json_t *good = NULL, *ver = NULL;
	json_array_foreach(backups, i, it) {
		if (good == NULL && (is_state(it, "complete") ||
		    is_state(it, "partial")))
			good = it;
		const char *v = exec_jstr(it, "last_verified_at");
		if (v && (ver == NULL || strcmp(v, exec_jstr(ver,
		    "last_verified_at")) > 0))
			ver = it;
		if (is_state(it, "damaged")) {
			json_t *df = json_object_get(it, "damaged_files");
			char *t = xasprintf("backup %s is damaged (%lld file%s lost "
			    "or corrupt) — take a new backup; 'restore --backup "
			    "%s --force' restores only what is sound",
			    exec_or_q(exec_jstr(it, "id")), (long long)json_integer_value(df),
			    json_integer_value(df) == 1 ? "" : "s",
			    exec_or_q(exec_jstr(it, "id")));
			attention(&attn, t);
			free(t);
		}
	}
	if (good) {
		exec_fmt_ago(exec_jstr(good, "finished_at"), ago, sizeof(ago));
		printf("  %-10s last %s %s, finished %s\n", "backup",
		    exec_or_q(exec_jstr(good, "state")),
		    exec_or_q(exec_jstr(good, "id")), ago);
	} else {
		printf("  %-10s no complete backup — start one with 'backup'\n",
		    "backup");
		attention(&attn, "no complete backup to restore from — start one "
		    "with 'backup'");
	}
	if (ver) {
		exec_fmt_ago(exec_jstr(ver, "last_verified_at"), ago, sizeof(ago));
		printf("  %-10s %s: %s of %s\n", "verify", ago,
		    exec_or_q(exec_jstr(ver, "last_verify")), exec_or_q(exec_jstr(ver, "id")));
	} else {
		printf("  %-10s never — check a backup with 'verify'\n", "verify");
	}
	const json_t *rep = exec_newest(tasks, "repair", "succeeded");
	if (rep) {
		exec_fmt_ago(exec_jstr(rep, "finished_at"), ago, sizeof(ago));
		printf("  %-10s last succeeded %s (%s)\n", "repair", ago,
		    exec_or_q(exec_jstr(rep, "id")));
	} else {
		printf("  %-10s none succeeded among the last %zu tasks — start "
		    "one with 'repair'\n", "repair", json_array_size(tasks));
	}

	/* Schedules: when each runs next; one whose last task failed. */
	if (json_array_size(scheds) == 0)
		printf("  %-10s none — add one with 'schedules create'\n",
		    "schedules");
	json_array_foreach(scheds, i, it) {
		const char *nx = exec_jstr(it, "next_run_at");
		char when[96];
		exec_fmt_ago(nx, ago, sizeof(ago));
		if (exec_jstr(it, "every"))
			snprintf(when, sizeof(when), "every %s", exec_jstr(it, "every"));
		else
			snprintf(when, sizeof(when), "cron %s", exec_or_q(exec_jstr(it,
			    "cron")));
		printf("  %-10s %s %s, next %s (%s)\n", i ? "" : "schedules",
		    exec_or_q(exec_jstr(it, "type")), when, nx ? ago : "-",
		    exec_or_q(exec_jstr(it, "id")));
		const char *lt = exec_jstr(it, "last_task_id");
		size_t j;
		json_t *t;
		json_array_foreach(tasks, j, t) {
			if (lt && exec_jstr(t, "id") && strcmp(exec_jstr(t, "id"), lt) == 0 &&
			    (is_state(t, "failed") || is_state(t, "partial"))) {
				char *m = xasprintf("schedule %s (%s %s): its last "
				    "task %s %s — see 'tasks show %s'",
				    exec_or_q(exec_jstr(it, "id")),
				    exec_or_q(exec_jstr(it, "type")),
				    when, lt, is_state(t, "failed") ? "failed" :
				    "ended partial", lt);
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

int exec_status(struct exec_ctx *x)
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
	if (exec_collect_field(x, "/api/v1/clusters", "name", &cl, &ncl) < 0)
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
