/*
 * service_tasks.c - task types, tasks, schedules, events and backups as
 * the API asks for them: the engine and the store answer; JSON is built
 * here.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/htab.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "../cfg.h"
#include "../engine/cron.h"
#include "../engine/params.h"
#include "../engine/sched.h"
#include "../engine/task.h"
#include "../http/metrics.h"
#include "../nodes/nodeops.h"
#include "../nodes/ssh.h"
#include "../store/store.h"
#include "../tasks/backup.h"
#include "../tasks/repair.h"
#include "../tasks/repair_hist.h"
#include "../tasks/repair_resume.h"
#include "hb.h"
#include "service.h"
#include "service_int.h"
#include "service_json.h"

/* ---------- tasks ---------- */

static void type_json(const struct task_type *ty, void *arg)
{
	json_t *params = params_spec_json(ty->params);
	json_t *common = params_spec_json(params_common());
	json_t *o;

	/* The ones every type takes, listed with each so a client sees
	 * every name the type accepts. */
	json_array_extend(params, common);
	json_decref(common);
	o = json_pack("{s:s, s:s, s:s, s:o, s:i}", "name", ty->name,
	    "description", ty->description ? ty->description : "",
	    "steps", ty->steps ? ty->steps : "",
	    "params", params,
	    "max_attempts", ty->max_attempts > 0 ? ty->max_attempts : 3);

	json_array_append_new(arg, o);
}

int service_task_types(struct service *s, const char *name, json_t **out,
    struct svc_err *e)
{
	json_t *all = json_array();

	task_type_foreach(s->eng, type_json, all);
	if (name == NULL) {
		*out = json_pack("{s:o, s:n}", "items", all, "next");
		return 0;
	}
	for (size_t i = 0; i < json_array_size(all); i++) {
		json_t *t = json_array_get(all, i);
		if (strcmp(json_string_value(json_object_get(t, "name")),
		    name) == 0) {
			*out = json_incref(t);
			json_decref(all);
			return 0;
		}
	}
	json_decref(all);
	svc_set(e, RM_ENOENT, "task type '%.64s' not found: GET "
	    "/api/v1/task-types lists them", name);
	return -1;
}

bool service_task_type_known(struct service *s, const char *type)
{
	(void)s;
	return task_type_find(s->eng, type) != NULL;
}

int service_task_params_check(struct service *s, const char *type,
    json_t *params, struct svc_err *e)
{
	char err[256] = "";
	(void)s;
	if (task_validate(s->eng, type, params, err, sizeof(err)) != 0) {
		svc_set(e, RM_EINVAL, "%s", err[0] ? err : "invalid params");
		return -1;
	}
	return 0;
}

/*
 * A repair with params.resume: the task it names must be this cluster's
 * repair that ended partial, failed or cancelled in the segment scheduler;
 * the new one takes its keyspace, tables and full (repair_resume.h).  Read
 * here, where the store is, so a refusal creates nothing.
 */
static int repair_resume_prepare(struct service *s, const char *cluster,
    json_t *params, struct svc_err *e)
{
	const char *id = json_string_value(json_object_get(params, "resume"));
	struct store_task_detail d;
	char err[512] = "";
	int rc;

	if (id == NULL || strncmp(id, "t-", 2) != 0)
		return 0;		/* absent, or no task id: validate */
	rc = store_task_get(s->st, id, &d);
	if (rc != 0) {
		store_task_detail_release(&d);
		if (rc == RM_ENOENT)
			svc_set(e, RM_EINVAL, "params.resume: task '%.64s' not "
			    "found: name a repair of cluster '%s' (GET "
			    "/api/v1/clusters/%s/repairs lists them)", id,
			    cluster, cluster);
		else
			svc_set(e, RM_ERR, "cannot read task '%.64s': see the "
			    "ringmaster log", id);
		return -1;
	}
	rc = repair_resume_check(&d, cluster, params, err, sizeof(err));
	store_task_detail_release(&d);
	if (rc != 0) {
		svc_set(e, (enum rm_err)rc, "%s", err);
		return -1;
	}
	return 0;
}

int service_schedule_prepare(struct service *s, const char *type,
    const json_t *params, struct svc_err *e)
{
	(void)s;
	/* A resume repairs what one task left: repeated, it would repair
	 * the same leftovers again and again. */
	if (strcmp(type, "repair") == 0 &&
	    json_object_get(params, "resume") != NULL) {
		svc_set(e, RM_EINVAL, "params.resume: a schedule cannot resume "
		    "a repair (each run would repair the same leftovers "
		    "again); submit the resume as a task");
		return -1;
	}
	return 0;
}

int service_task_prepare(struct service *s, const char *cluster,
    const char *type, json_t *params, struct svc_err *e)
{
	if (strcmp(type, "repair") == 0 && store_cluster_exists(s->st,
	    cluster))
		return repair_resume_prepare(s, cluster, params, e);
	return 0;
}

int service_task_submit(struct service *s, const char *cluster,
    const char *type, json_t *params, json_t **out, struct svc_err *e)
{
	char id[STORE_ID_MAX], err[1024] = "";
	int rc;

	/* What only the heartbeats know: is the node down now. */
	if (strcmp(type, "replace") == 0 && store_cluster_exists(s->st,
	    cluster) && svc_lc_replace_prepare(s, cluster, params, e) != 0)
		return -1;

	/* Every type plans at submit from the nodes' rows in the store
	 * (their state; scale-in their loads too); the heartbeats of the
	 * last second are written first so it sees what GET .../nodes
	 * shows.  Nothing to write is a lock and a test; submits are rare
	 * next to heartbeats. */
	hb_flush(s->hb);
	rc = task_submit(s->eng, cluster, type, params, id, err, sizeof(err));
	if (rc == RM_ENOENT) {
		svc_set(e, RM_ENOENT, "cluster '%s' not found", cluster);
		return -1;
	}
	if (rc != 0)
		return svc_fail(e, rc, err);
	return service_task_get(s, id, out, e);
}

int service_task_list(struct service *s, const char *cluster,
    const char *state, const struct svc_list *l, json_t **out,
    struct svc_err *e)
{
	struct store_task_page pg;
	int rc;

	if (!store_cluster_exists(s->st, cluster)) {
		svc_set(e, RM_ENOENT, "cluster '%s' not found", cluster);
		return -1;
	}
	rc = store_task_list(s->st, cluster, state, l->cursor, l->limit, &pg);
	if (rc == RM_EINVAL)
		svc_set(e, RM_EINVAL, "unknown task state '%s': use queued, "
		    "running, paused, succeeded, failed or cancelled", state);
	else if (rc != 0)
		svc_set(e, RM_ERR, "cannot list tasks: see the "
		    "ringmaster log");
	else
		*out = svc_json_task_page(&pg);
	store_task_page_release(&pg);
	return rc == 0 ? 0 : -1;
}

/* How many tasks one history request reads at most, repairs or not. */
#define REPAIR_SCAN_MAX 5000

int service_repair_list(struct service *s, const char *cluster,
    const struct svc_list *l, json_t **out, struct svc_err *e)
{
	json_t *items = json_array();
	char cursor[STORE_CURSOR_MAX] = "", next[STORE_CURSOR_MAX] = "";
	size_t scanned = 0;
	bool more = true;

	if (!store_cluster_exists(s->st, cluster)) {
		json_decref(items);
		svc_set(e, RM_ENOENT, "cluster '%s' not found", cluster);
		return -1;
	}
	if (l->cursor != NULL)
		str_copy(cursor, l->cursor, sizeof(cursor));
	while (more && json_array_size(items) < (size_t)l->limit &&
	    scanned < REPAIR_SCAN_MAX) {
		struct store_task_page pg;

		if (store_task_list(s->st, cluster, NULL, cursor[0] ? cursor :
		    NULL, 200, &pg) != 0) {
			store_task_page_release(&pg);
			json_decref(items);
			svc_set(e, RM_ERR, "cannot list tasks: see the ringmaster log");
			return -1;
		}
		more = pg.next[0] != '\0';
		for (size_t i = 0; i < pg.n; i++) {
			const struct store_task_row *r = &pg.items[i];
			struct store_task_detail d;
			struct repair_hist h;

			scanned++;
			/* a seq is the cursor of what comes after it */
			snprintf(cursor, sizeof(cursor), "%lld", (long long)r->seq);
			if (strcmp(r->type, "repair") != 0)
				continue;
			if (store_task_get(s->st, r->id, &d) != 0) {
				store_task_detail_release(&d);
				continue;	/* deleted meanwhile */
			}
			repair_hist_of(&d, &h);
			json_array_append_new(items, svc_json_repair(&d.task, &h));
			repair_hist_release(&h);
			store_task_detail_release(&d);
			if (json_array_size(items) >= (size_t)l->limit) {
				more = i + 1 < pg.n || more;
				break;
			}
		}
		store_task_page_release(&pg);
	}
	if (more)
		str_copy(next, cursor, sizeof(next));
	*out = json_pack("{s:o, s:o}", "items", items, "next", next[0] ?
	    json_string(next) : json_null());
	return 0;
}

int service_task_get(struct service *s, const char *id, json_t **out,
    struct svc_err *e)
{
	struct store_task_detail d;
	int rc = store_task_get(s->st, id, &d);

	if (rc == RM_ENOENT)
		svc_set(e, RM_ENOENT, "task '%s' not found", id);
	else if (rc != 0)
		svc_set(e, RM_ERR, "cannot read task '%s': see the "
		    "ringmaster log", id);
	else
		*out = svc_json_task_detail(&d);
	store_task_detail_release(&d);
	return rc == 0 ? 0 : -1;
}

int service_task_action(struct service *s, const char *id, const char *action,
    json_t **out, struct svc_err *e)
{
	char err[256] = "";
	int rc;

	if (strcmp(action, "cancel") == 0)
		rc = task_cancel(s->eng, id, err, sizeof(err));
	else if (strcmp(action, "pause") == 0)
		rc = task_pause(s->eng, id, err, sizeof(err));
	else
		rc = task_resume(s->eng, id, err, sizeof(err));
	if (rc == RM_ENOENT) {
		svc_set(e, RM_ENOENT, "task '%s' not found", id);
		return -1;
	}
	if (rc != 0)
		return svc_fail(e, rc, err);
	return service_task_get(s, id, out, e);
}

/* ---------- schedules ---------- */

int service_cron_check(struct service *s, const char *cron, struct svc_err *e)
{
	char err[256] = "";
	(void)s;
	if (!cron_valid(cron, err, sizeof(err))) {
		svc_set(e, RM_EINVAL, "%s", err);
		return -1;
	}
	return 0;
}

/* The one schedule-creation path is sched_create(); this maps its codes. */
int service_schedule_create(struct service *s, const char *cluster,
    const char *type, json_t *params, int64_t every_ms, const char *cron,
    int64_t start_s, json_t **out, struct svc_err *e)
{
	char err[256] = "", id[STORE_ID_MAX];
	struct store_schedule sc;
	int rc;

	if (service_schedule_prepare(s, type, params, e) != 0)
		return -1;
	rc = sched_create(s->eng, cluster, type, params, cron ? 0 : every_ms,
	    cron, start_s * 1000, id, err, sizeof(err));
	if (rc != 0)
		return svc_fail(e, rc, err);
	rc = store_schedule_get(s->st, id, &sc);
	if (rc == 0)
		*out = svc_json_schedule(&sc);
	else
		svc_set(e, RM_ERR, "schedule %s was created but cannot be "
		    "read back: see the ringmaster log", id);
	store_schedule_release(&sc);
	return rc == 0 ? 0 : -1;
}

int service_schedule_list(struct service *s, const char *cluster,
    json_t **out, struct svc_err *e)
{
	struct store_schedule_page pg;
	int rc;

	if (!store_cluster_exists(s->st, cluster)) {
		svc_set(e, RM_ENOENT, "cluster '%s' not found", cluster);
		return -1;
	}
	rc = store_schedule_list(s->st, cluster, NULL, 1000, &pg);

	if (rc == 0)
		*out = svc_json_schedule_page(&pg);
	else
		svc_set(e, RM_ERR, "cannot list schedules: see the "
		    "ringmaster log");
	store_schedule_page_release(&pg);
	return rc == 0 ? 0 : -1;
}

int service_schedule_delete(struct service *s, const char *id,
    struct svc_err *e)
{
	char err[256] = "";
	int rc = store_schedule_delete(s->st, id, err, sizeof(err));

	if (rc == RM_ENOENT) {
		svc_set(e, RM_ENOENT, "schedule '%s' not found", id);
		return -1;
	}
	if (rc != 0) {
		svc_set(e, RM_ERR, "cannot delete schedule: %s", err);
		return -1;
	}
	return 0;
}

/* ---------- events ---------- */

int service_events_list(struct service *s, int64_t since_s,
    const char *cluster, const struct svc_list *l, json_t **out,
    struct svc_err *e)
{
	struct store_event_page pg;
	int rc = store_event_list(s->st, since_s * 1000, cluster, l->cursor,
	    l->limit, &pg);

	if (rc == 0)
		*out = svc_json_event_page(&pg);
	else
		svc_set(e, RM_ERR, "cannot list events: see the "
		    "ringmaster log");
	store_event_page_release(&pg);
	return rc == 0 ? 0 : -1;
}

void service_audit(struct service *s, const char *who, const char *method,
    const char *route, const char *cluster, const char *target, int status)
{
	char result[16], err[256];
	struct store_event ev = {
		.actor = who && *who ? who : "anonymous",
		.kind = "request",
		.method = method,
		.route = route,
		.target = target,
		.cluster = cluster,
		.result = result,
	};

	snprintf(result, sizeof(result), "%d", status);
	if (store_event_append(s->st, &ev, err, sizeof(err)) != 0)
		log_warnx("cannot record audit event %s %s by %s: %s", method,
		    route, ev.actor, err);
}

int service_backup_list(struct service *s, const char *cluster, json_t **out,
    struct svc_err *e)
{
	char err[256];
	int rc = backup_list(s->st, cluster, out, err, sizeof(err));

	return rc != 0 ? svc_fail(e, rc, err) : 0;
}

int service_backup_get(struct service *s, const char *cluster,
    const char *id, json_t **out, struct svc_err *e)
{
	char err[512];
	int rc = backup_get(s->st, cluster, id, out, err, sizeof(err));

	return rc != 0 ? svc_fail(e, rc, err) : 0;
}

int service_backup_delete(struct service *s, const char *cluster,
    const char *id, json_t **task_out, struct svc_err *e)
{
	char err[256], tid[STORE_ID_MAX];
	int rc = backup_delete(s->eng, cluster, id, tid, err, sizeof(err));

	if (rc != 0)
		return svc_fail(e, rc, err);
	return service_task_get(s, tid, task_out, e);
}
