/*
 * api_tasks.c - the handlers of tasks, schedules, task types, events and
 * backups (docs/api.md).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../engine/task.h"
#include "../service/service.h"
#include "api.h"
#include "api_int.h"
#include "auth.h"
#include "metrics.h"

static const struct field f_task[] = {
	{ "type", F_NAME, true, 0, 0, NULL, NULL },
	{ "params", F_OBJECT, false, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

/* Check type and params of a task or schedule body; answers on failure. */
static bool api_task_type_ok(struct call *c, const char *type, json_t *params)
{
	struct svc_err e = { 0 };

	if (!service_task_type_known(c->api->svc, type)) {
		api_reply_error(c, 400, "invalid_value", "field 'type': unknown "
		    "task type '%.64s'", type);
		return false;
	}
	if (service_task_params_check(c->api->svc, type, params, &e) != 0) {
		api_reply_error(c, 400, "invalid_value", "%s", e.msg);
		return false;
	}
	return true;
}

void api_h_task_submit(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL, *params;
	const char *type;

	str_copy(c->target, c->param[0], sizeof(c->target));
	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	if (!api_body_ok(c, f_task))
		return;
	type = api_jstr(c->body, "type");
	params = json_object_get(c->body, "params");
	if (params == NULL || json_is_null(params)) {
		params = json_object();
		json_object_set_new(c->body, "params", params);
	}
	if (service_task_type_known(c->api->svc, type) &&
	    service_task_prepare(c->api->svc, c->param[0], type, params,
	    &e) != 0) {
		api_reply_svc_error(c, &e);
		return;
	}
	if (!api_task_type_ok(c, type, params))
		return;
	if (service_task_submit(c->api->svc, c->param[0], type, params, &out,
	    &e) != 0) {
		api_reply_svc_error(c, &e);
		return;
	}
	snprintf(c->target, sizeof(c->target), "%s",
	    api_jstr(out, "id") ? api_jstr(out, "id") : "");
	api_reply_json(c, 202, out);
}

static const char *const task_states[] = {
	"queued", "running", "paused", "succeeded", "failed", "cancelled",
	"partial", NULL,
};

void api_h_task_list(struct call *c)
{
	struct svc_list l;
	struct svc_err e = { 0 };
	json_t *out = NULL;
	const char *state = httpd_query(c->req, "state");

	if (!api_path_name_ok(c, "cluster", c->param[0]) || !api_list_args(c, &l))
		return;
	if (state != NULL) {
		size_t i = 0;
		while (task_states[i] && strcmp(task_states[i], state) != 0)
			i++;
		if (task_states[i] == NULL) {
			api_reply_error(c, 400, "invalid_value", "query 'state': "
			    "unknown value '%.32s': expected one of queued, "
			    "running, paused, succeeded, failed, cancelled, "
			    "partial",
			    state);
			return;
		}
	}
	if (service_task_list(c->api->svc, c->param[0], state, &l, &out,
	    &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

void api_h_repair_list(struct call *c)
{
	struct svc_list l;
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!api_path_name_ok(c, "cluster", c->param[0]) || !api_list_args(c, &l))
		return;
	if (l.cursor != NULL) {
		char *end;
		long long v = strtoll(l.cursor, &end, 10);
		if (*end != '\0' || v < 1) {
			api_reply_error(c, 400, "invalid_value", "query 'cursor' "
			    "'%.32s' is not one this listing gave: use its 'next'",
			    l.cursor);
			return;
		}
	}
	if (service_repair_list(c->api->svc, c->param[0], &l, &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

static bool api_task_id_ok(struct call *c)
{
	const char *id = c->param[0];
	size_t n = strlen(id);
	if (n == 0 || n > 64 || !name_valid(id)) {
		api_reply_error(c, 404, "not_found", "task '%.64s' not found", id);
		return false;
	}
	return true;
}

void api_h_task_get(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!api_task_id_ok(c))
		return;
	if (service_task_get(c->api->svc, c->param[0], &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

static void task_action(struct call *c, const char *action)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	str_copy(c->target, c->param[0], sizeof(c->target));
	if (!api_task_id_ok(c))
		return;
	if (c->req->body != NULL || c->req->body_too_large) {
		/* Actions take no body; an empty object is tolerated. */
		json_t *b = json_loadb(c->req->body ? c->req->body : "",
		    c->req->body_len, 0, NULL);
		bool empty = json_is_object(b) && json_object_size(b) == 0;
		json_decref(b);
		if (!empty) {
			api_reply_error(c, 400, "invalid_json", "task %s takes no "
			    "body (or {})", action);
			return;
		}
	}
	if (service_task_action(c->api->svc, c->param[0], action, &out,
	    &e) != 0) {
		api_reply_svc_error(c, &e);
		return;
	}
	if (api_jstr(out, "cluster"))
		str_copy(c->cluster, api_jstr(out, "cluster"), sizeof(c->cluster));
	api_reply_json(c, 200, out);
}

void api_h_task_cancel(struct call *c)
{
	task_action(c, "cancel");
}


void api_h_task_pause(struct call *c)
{
	task_action(c, "pause");
}


void api_h_task_resume(struct call *c)
{
	task_action(c, "resume");
}


static const struct field f_schedule[] = {
	{ "type", F_NAME, true, 0, 0, NULL, NULL },
	{ "params", F_OBJECT, false, 0, 0, NULL, NULL },
	{ "every", F_DURATION, false, 1000, 3650.0 * 86400000, NULL, NULL },
	{ "cron", F_STRING, false, 0, 0, NULL, NULL },
	{ "start", F_TIME, false, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

void api_h_schedule_create(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL, *params;
	const char *type, *every, *cron, *start;
	int64_t every_ms = 0, start_s = 0;

	str_copy(c->target, c->param[0], sizeof(c->target));
	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	if (!api_body_ok(c, f_schedule))
		return;
	type = api_jstr(c->body, "type");
	every = api_jstr(c->body, "every");
	cron = api_jstr(c->body, "cron");
	start = api_jstr(c->body, "start");
	if ((every == NULL) == (cron == NULL)) {
		api_reply_error(c, 400, every ? "invalid_value" : "missing_field",
		    "a schedule needs exactly one of 'every' (such as 24h) and "
		    "'cron' (such as \"0 3 * * *\")");
		return;
	}
	if (every != NULL)
		duration_parse_ms(every, &every_ms);
	if (cron != NULL && service_cron_check(c->api->svc, cron, &e) != 0) {
		api_reply_error(c, 400, "invalid_value", "field 'cron': %s", e.msg);
		return;
	}
	if (start != NULL)
		time_parse_rfc3339(start, &start_s);
	params = json_object_get(c->body, "params");
	if (params == NULL || json_is_null(params)) {
		params = json_object();
		json_object_set_new(c->body, "params", params);
	}
	if (service_schedule_prepare(c->api->svc, type, params, &e) != 0) {
		api_reply_svc_error(c, &e);
		return;
	}
	if (!api_task_type_ok(c, type, params))
		return;
	if (service_schedule_create(c->api->svc, c->param[0], type, params,
	    every_ms, cron, start_s, &out, &e) != 0) {
		api_reply_svc_error(c, &e);
		return;
	}
	snprintf(c->target, sizeof(c->target), "%s",
	    api_jstr(out, "id") ? api_jstr(out, "id") : "");
	api_reply_json(c, 201, out);
}

void api_h_schedule_list(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	if (service_schedule_list(c->api->svc, c->param[0], &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

void api_h_schedule_delete(struct call *c)
{
	struct svc_err e = { 0 };

	str_copy(c->target, c->param[0], sizeof(c->target));
	if (!name_valid(c->param[0])) {
		api_reply_error(c, 404, "not_found", "schedule '%.64s' not found",
		    c->param[0]);
		return;
	}
	if (service_schedule_delete(c->api->svc, c->param[0], &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 204, NULL);
}

/* The task types and their parameters, from the engine's registry. */
void api_h_task_types(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (service_task_types(c->api->svc, c->param[0], &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

void api_h_events(struct call *c)
{
	struct svc_list l;
	struct svc_err e = { 0 };
	json_t *out = NULL;
	const char *since = httpd_query(c->req, "since");
	const char *cluster = httpd_query(c->req, "cluster");
	int64_t since_s = 0;

	if (!api_list_args(c, &l))
		return;
	if (since != NULL && time_parse_rfc3339(since, &since_s) != 0) {
		api_reply_error(c, 400, "invalid_value", "query 'since': '%.64s' is "
		    "not an RFC 3339 UTC time such as 2026-01-31T03:00:00Z",
		    since);
		return;
	}
	if (cluster != NULL && !api_path_name_ok(c, "cluster", cluster))
		return;
	if (service_events_list(c->api->svc, since_s, cluster, &l, &out,
	    &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

/* ---------- backups ---------- */

void api_h_backup_list(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	if (service_backup_list(c->api->svc, c->param[0], &out, &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

void api_h_backup_get(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	if (service_backup_get(c->api->svc, c->param[0], c->param[1], &out,
	    &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 200, out);
}

void api_h_backup_delete(struct call *c)
{
	struct svc_err e = { 0 };
	json_t *out = NULL;

	snprintf(c->target, sizeof(c->target), "%.64s/%.64s", c->param[0],
	    c->param[1]);
	if (!api_path_name_ok(c, "cluster", c->param[0]))
		return;
	str_copy(c->cluster, c->param[0], sizeof(c->cluster));
	if (service_backup_delete(c->api->svc, c->param[0], c->param[1], &out,
	    &e) != 0)
		api_reply_svc_error(c, &e);
	else
		api_reply_json(c, 202, out);
}
