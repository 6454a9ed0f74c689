/*
 * exec_backups.c - the handlers of backups and schedules: list, delete,
 * create.
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

/* ---- backups and schedules ---- */

int exec_backups_list(struct exec_ctx *x)
{
	struct client_resp r;
	int lr = exec_cluster_list(x, exec_pick_cluster(x, NULL), "/backups", &r);
	if (lr != LIST_TABLE)
		return lr == LIST_DONE ? EXEC_OK : EXEC_FAILED;
	/* MISSING: the nodes a partial (skip_down) backup lacks, so that it
	 * is never read as whole at a glance. */
	struct table *t = table_new(9, (const char *const[]){ "ID", "STATE",
	    "STARTED", "FINISHED", "NODES", "FILES", "SIZE", "UPLOADED",
	    "MISSING" });
	size_t i;
	json_t *it;
	json_array_foreach(exec_items_of(r.json), i, it) {
		char st[32], fin[32], nodes[24], files[24], size[24], up[24];
		exec_fmt_ago(exec_jstr(it, "started_at"), st, sizeof(st));
		exec_fmt_ago(exec_jstr(it, "finished_at"), fin, sizeof(fin));
		json_t *nv = json_object_get(it, "nodes");
		if (json_is_array(nv))
			snprintf(nodes, sizeof(nodes), "%zu", json_array_size(nv));
		else
			exec_fmt_int(nv, nodes, sizeof(nodes));
		exec_fmt_int(json_object_get(it, "files"), files, sizeof(files));
		exec_fmt_size(json_object_get(it, "bytes"), size, sizeof(size));
		exec_fmt_size(json_object_get(it, "bytes_uploaded"), up, sizeof(up));
		char *miss = xstrdup(""), *tmp;
		size_t k;
		json_t *m;
		json_array_foreach(json_object_get(it, "missing_nodes"), k, m) {
			const char *a = exec_jstr(m, "address");
			tmp = xasprintf("%s%s%s", miss, k ? "," : "", a ? a : "?");
			free(miss);
			miss = tmp;
		}
		const char *cells[9] = { exec_jstr(it, "id"), exec_jstr(it, "state"), st,
		    exec_jstr(it, "finished_at") ? fin : NULL, nodes, files, size, up,
		    *miss ? miss : NULL };
		table_add(t, cells);
		free(miss);
	}
	exec_print_table(x, t, "no backups yet — start one with 'backup'");
	table_free(t);
	client_resp_release(&r);
	return EXEC_OK;
}

int exec_backups_delete(struct exec_ctx *x)
{
	const char *cluster = exec_pick_cluster(x, NULL);
	struct client_resp r;
	if (cluster == NULL)
		return EXEC_FAILED;
	char *id = exec_resolve_id(x, ID_BACKUP, cmd_arg(x->call, "ID"), cluster);
	if (id == NULL)
		return EXEC_FAILED;
	char *e = client_escape(id), *rest = xasprintf("/backups/%s", e);
	char *p = exec_cluster_path(cluster, rest);
	free(e);
	free(rest);
	int rc = exec_call_api(x, "DELETE", p, NULL, &r);
	free(p);
	if (rc < 0) {
		free(id);
		return EXEC_FAILED;
	}
	/* 202: the backup goes when the purge task has run, not now. */
	const char *tid = exec_jstr(r.json, "id");
	if (x->json)
		exec_print_raw(&r);
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

int exec_schedules_list(struct exec_ctx *x)
{
	struct client_resp r;
	int lr = exec_cluster_list(x, exec_pick_cluster(x, NULL), "/schedules", &r);
	if (lr != LIST_TABLE)
		return lr == LIST_DONE ? EXEC_OK : EXEC_FAILED;
	struct table *t = table_new(6, (const char *const[]){ "ID", "TYPE",
	    "WHEN", "NEXT RUN", "LAST RUN", "PARAMS" });
	size_t i;
	json_t *it;
	json_array_foreach(exec_items_of(r.json), i, it) {
		char when[96], next[32], last[32];
		if (exec_jstr(it, "every"))
			snprintf(when, sizeof(when), "every %s", exec_jstr(it, "every"));
		else if (exec_jstr(it, "cron"))
			snprintf(when, sizeof(when), "cron %s", exec_jstr(it, "cron"));
		else
			snprintf(when, sizeof(when), "-");
		const char *nx = exec_jstr(it, "next_run_at") ? exec_jstr(it,
		    "next_run_at") : exec_jstr(it, "next_run");
		const char *ls = exec_jstr(it, "last_run_at") ? exec_jstr(it,
		    "last_run_at") : exec_jstr(it, "last_run");
		exec_fmt_ago(nx, next, sizeof(next));
		exec_fmt_ago(ls, last, sizeof(last));
		json_t *params = json_object_get(it, "params");
		char *ps = params ? json_dumps(params, JSON_COMPACT) : NULL;
		const char *cells[6] = { exec_jstr(it, "id"), exec_jstr(it, "type"), when,
		    nx ? next : NULL, ls ? last : NULL, ps };
		table_add(t, cells);
		free(ps);
	}
	exec_print_table(x, t, "no schedules — add one with 'schedules create'");
	table_free(t);
	client_resp_release(&r);
	return EXEC_OK;
}

int exec_schedules_create(struct exec_ctx *x)
{
	const char *every = cmd_flag(x->call, "--every");
	const char *cron = cmd_flag(x->call, "--cron");
	char err[256];
	struct client_resp r;

	if ((every == NULL) == (cron == NULL))
		return exec_usage_fail(x->call, "give exactly one of --every and "
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
			return exec_usage_fail(x->call, "--cron wants 5 fields "
			    "(minute hour day month weekday), got %d in '%s'",
			    fields, cron);
	}
	json_t *params = json_object();
	if (cmd_kv_parse(x->call->kv, x->call->nkv, params, err,
	    sizeof(err)) < 0) {
		json_decref(params);
		return exec_usage_fail(x->call, "%s", err);
	}
	const char *cluster = exec_pick_cluster(x, NULL);
	if (cluster == NULL) {
		json_decref(params);
		return EXEC_FAILED;
	}
	json_t *body = json_pack("{s:s,s:o}", "type", cmd_arg(x->call, "TYPE"),
	    "params", params);
	json_object_set_new(body, every ? "every" : "cron",
	    json_string(every ? every : cron));
	char *p = exec_cluster_path(cluster, "/schedules");
	int rc = exec_call_api(x, "POST", p, body, &r);
	free(p);
	json_decref(body);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json)
		exec_print_raw(&r);
	else
		printf("created schedule %s: %s %s %s on '%s'\n",
		    exec_jstr(r.json, "id") ? exec_jstr(r.json, "id") : "?",
		    cmd_arg(x->call, "TYPE"), every ? "every" : "cron",
		    every ? every : cron, cluster);
	client_resp_release(&r);
	return EXEC_OK;
}

int exec_schedules_delete(struct exec_ctx *x)
{
	struct client_resp r;
	char *id = exec_resolve_id(x, ID_SCHEDULE, cmd_arg(x->call, "ID"), NULL);
	if (id == NULL)
		return EXEC_FAILED;
	char *e = client_escape(id), *p = xasprintf("/api/v1/schedules/%s", e);
	free(e);
	int rc = exec_call_api(x, "DELETE", p, NULL, &r);
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
