/*
 * service_json.c - the API's JSON of the store's typed rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/jsonstr.h"
#include "../../common/util.h"
#include "service_json.h"
#include "../tasks/repair_hist.h"

json_t *svc_json_time(int64_t ms)
{
	char buf[48], base[32];
	size_t len;

	if (ms <= 0)
		return json_null();
	time_rfc3339(ms / 1000, base, sizeof(base));
	len = strlen(base);
	if (len > 0 && base[len - 1] == 'Z')	/* "...:SSZ" -> "...:SS.mmmZ" */
		base[len - 1] = '\0';
	snprintf(buf, sizeof(buf), "%s.%03dZ", base, (int)(ms % 1000));
	return json_string(buf);
}

/* A fixed-size text field: "" is how the store says NULL. */
static json_t *jfix(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

/* A count the store does not know (< 0) is null. */
static json_t *jcount(int64_t v)
{
	return v >= 0 ? json_integer((json_int_t)v) : json_null();
}

/* A JSON document stored as text: any value, null when missing or not
 * JSON (what an agent sent is kept as it came). */
static json_t *jdoc(const char *text)
{
	json_t *j;

	if (text == NULL)
		return json_null();
	j = json_loads(text, JSON_DECODE_ANY, NULL);
	return j != NULL ? j : json_null();
}

/* A params object, or {} (the store gives an object; be sure). */
static json_t *jparams(json_t *p)
{
	return json_is_object(p) ? json_deep_copy(p) : json_object();
}

static json_t *page(json_t *items, const char *next)
{
	return json_pack("{s:o, s:o}", "items", items, "next",
	    next[0] != '\0' ? json_string(next) : json_null());
}

json_t *svc_json_cluster(const struct store_cluster_row *r)
{
	return json_pack("{s:o, s:{s:o, s:o, s:o}, s:{s:o, s:i, s:o}, s:o,"
	    " s:i, s:i, s:i}",
	    "name", jsonstr(r->name),
	    "storage", "url", jsonstr(r->storage_url),
	    "endpoint", jsonstr(r->storage_endpoint),
	    "region", jsonstr(r->storage_region),
	    "ssh", "user", jsonstr(r->ssh_user), "port", r->ssh_port,
	    "key_file", jsonstr(r->ssh_key_file),
	    "created_at", svc_json_time(r->created_at),
	    "nodes", r->nodes, "nodes_up", r->nodes_up,
	    "nodes_down", r->nodes_down);
}

json_t *svc_json_settings(const struct store_cluster_settings *v)
{
	const struct store_setting_def *d;
	json_t *o = json_object();
	char buf[1100];
	size_t n;

	d = store_settings_defs(&n);
	for (size_t i = 0; i < n; i++) {
		store_setting_format(v, d[i].key, buf, sizeof(buf));
		if (d[i].secret && buf[0] == '\0')
			continue;	/* write-only: "set" or absent */
		json_object_set_new(o, d[i].key, d[i].type ==
		    STORE_SETTING_BOOL ? json_boolean(strcmp(buf, "true") == 0) :
		    json_string(buf));
	}
	return o;
}

json_t *svc_json_node(const struct store_node_row *r)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I,"
	    " s:b, s:o}",
	    "cluster", jsonstr(r->cluster), "address", jsonstr(r->address),
	    "host_id", jsonstr(r->host_id), "dc", jsonstr(r->dc),
	    "rack", jsonstr(r->rack), "state", jsonstr(r->state),
	    "version", jsonstr(r->version), "ssh_host_key", jsonstr(r->ssh_host_key),
	    "last_heartbeat", svc_json_time(r->last_heartbeat),
	    "load_bytes", (json_int_t)r->load_bytes,
	    "is_seed", r->is_seed,
	    "status", jdoc(r->status_json));
}

json_t *svc_json_nodes(const struct store_nodes *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, svc_json_node(&v->items[i]));
	return a;
}

json_t *svc_json_task(const struct store_task_row *r)
{
	return json_pack("{s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o,"
	    " s:{s:i, s:i}, s:o, s:I, s:b, s:b}",
	    "id", jsonstr(r->id), "cluster", jsonstr(r->cluster),
	    "type", jsonstr(r->type),
	    "state", store_task_state_str(r->state),
	    "params", jparams(r->params),
	    "created_at", svc_json_time(r->created_at),
	    "started_at", svc_json_time(r->started_at),
	    "finished_at", svc_json_time(r->finished_at),
	    "error", jsonstr(r->error),
	    "progress", "done", r->steps_done, "total", r->steps_total,
	    "schedule_id", jfix(r->schedule_id),
	    "seq", (json_int_t)r->seq,
	    "cancel_requested", r->cancel_requested,
	    "pause_requested", r->pause_requested);
}

static json_t *step_node_json(const struct store_step_node_row *n)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "node", jsonstr(n->node), "phase", jsonstr(n->phase),
	    "files_done", jcount(n->files_done),
	    "files_total", jcount(n->files_total),
	    "bytes_done", jcount(n->bytes_done),
	    "bytes_total", jcount(n->bytes_total),
	    "rate_bps", n->rate_bps >= 0 ? json_real(n->rate_bps) :
	    json_null(),
	    "state", jsonstr(n->state), "message", jsonstr(n->message),
	    "updated_at", svc_json_time(n->updated_at));
}

json_t *svc_json_task_detail(const struct store_task_detail *d)
{
	json_t *out = svc_json_task(&d->task), *steps = json_array();

	for (size_t i = 0; i < d->nsteps; i++) {
		const struct store_step *sp = &d->steps[i];
		json_array_append_new(steps, json_pack("{s:i, s:o, s:o, s:s,"
		    " s:i, s:o, s:o, s:o, s:o, s:[]}",
		    "idx", sp->idx, "name", jsonstr(sp->name),
		    "node", jsonstr(sp->node),
		    "state", store_step_state_str(sp->state),
		    "attempts", sp->attempts,
		    "started_at", svc_json_time(sp->started_at),
		    "finished_at", svc_json_time(sp->finished_at),
		    "message", jsonstr(sp->message),
		    "next_attempt_at", svc_json_time(sp->next_attempt_at),
		    "nodes"));
	}
	/* A progress row belongs to the step at its idx (steps are
	 * numbered from 0 without gaps); one for a step not there is
	 * dropped. */
	for (size_t i = 0; i < d->nnodes; i++) {
		const struct store_step_node_row *n = &d->nodes[i];
		json_t *step = n->idx >= 0 ? json_array_get(steps,
		    (size_t)n->idx) : NULL;
		if (step != NULL)
			json_array_append_new(json_object_get(step, "nodes"),
			    step_node_json(n));
	}
	json_object_set_new(out, "steps", steps);
	return out;
}

json_t *svc_json_schedule(const struct store_schedule *s)
{
	char every[32];

	/* The largest unit that divides it: 86400000 is "1d", not "24h". */
	duration_format_ms(s->every_ms, every, sizeof(every));
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
	    " s:o, s:b}",
	    "id", jsonstr(s->id), "cluster", jsonstr(s->cluster),
	    "type", jsonstr(s->type), "params", jparams(s->params),
	    "every", s->every_ms > 0 ? json_string(every) : json_null(),
	    "every_ms", s->every_ms > 0 ? json_integer(s->every_ms) :
	    json_null(),
	    "cron", jsonstr(s->cron),
	    "start_at", svc_json_time(s->start_at),
	    "next_run_at", svc_json_time(s->next_run_at),
	    "last_run_at", svc_json_time(s->last_run_at),
	    "last_task_id", jfix(s->last_task_id),
	    "enabled", s->enabled);
}

json_t *svc_json_event(const struct store_event_row *r)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "id", (json_int_t)r->id, "at", svc_json_time(r->at),
	    "actor", jsonstr(r->actor), "kind", jsonstr(r->kind),
	    "method", jsonstr(r->method), "route", jsonstr(r->route),
	    "target", jsonstr(r->target), "cluster", jsonstr(r->cluster),
	    "result", jsonstr(r->result), "detail", jdoc(r->detail_json));
}

json_t *svc_json_token(const struct store_token_row *r)
{
	return json_pack("{s:s, s:s, s:o, s:b}", "name", r->name,
	    "role", r->role, "created_at", svc_json_time(r->created_at),
	    "revoked", r->revoked);
}

json_t *svc_json_cluster_page(const struct store_cluster_page *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(a, svc_json_cluster(&p->items[i]));
	return page(a, p->next);
}

json_t *svc_json_repair(const struct store_task_row *r,
    const struct repair_hist *h)
{
	json_t *un = json_null(), *segs = json_null();

	if (h->unrepaired_known) {
		un = json_array();
		for (size_t i = 0; i < h->nunrepaired; i++) {
			char a[24], b[24];
			snprintf(a, sizeof(a), "%lld",
			    (long long)h->unrepaired[i].start);
			snprintf(b, sizeof(b), "%lld", (long long)h->unrepaired[i].end);
			json_array_append_new(un, json_pack("{s:s, s:s}", "start", a,
			    "end", b));
		}
	}
	if (h->scheduled)
		segs = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
		    "done", (json_int_t)h->done, "failed", (json_int_t)h->failed,
		    "postponed", (json_int_t)h->postponed,
		    "pending", (json_int_t)h->pending,
		    "running", (json_int_t)h->running,
		    "split", (json_int_t)h->split);
	return json_pack("{s:o, s:s, s:s, s:O?, s:O?, s:o, s:o, s:o, s:o, s:o,"
	    " s:o}",
	    "id", jsonstr(r->id),
	    "state", store_task_state_str(r->state),
	    "outcome", h->outcome,
	    "keyspace", json_object_get(r->params, "keyspace"),
	    "parallelism", json_object_get(r->params, "parallelism"),
	    "created_at", svc_json_time(r->created_at),
	    "started_at", svc_json_time(r->started_at),
	    "finished_at", svc_json_time(r->finished_at),
	    "segments", segs,
	    "unrepaired_ranges", un,
	    "summary", jsonstr(h->summary));
}

json_t *svc_json_task_page(const struct store_task_page *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(a, svc_json_task(&p->items[i]));
	return page(a, p->next);
}

json_t *svc_json_schedule_page(const struct store_schedule_page *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(a, svc_json_schedule(&p->items[i]));
	return page(a, p->next);
}

json_t *svc_json_event_page(const struct store_event_page *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(a, svc_json_event(&p->items[i]));
	return page(a, p->next);
}
