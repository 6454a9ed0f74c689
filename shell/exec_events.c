/*
 * exec_events.c - the handlers of events, task types and their parameters,
 * metrics.
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

const char *exec_or_q(const char *s)
{
	return s && *s ? s : "?";
}

/* One event as a sentence, without the time. */
static char *ev_sentence(const json_t *ev)
{
	const char *kind = exec_or_q(exec_jstr(ev, "kind"));
	const char *target = exec_jstr(ev, "target"), *result = exec_jstr(ev, "result");
	const json_t *d = json_object_get(ev, "detail");
	char rbuf[24];

	if (result == NULL && json_is_integer(json_object_get(ev, "result"))) {
		snprintf(rbuf, sizeof(rbuf), "%lld", (long long)json_integer_value(
		    json_object_get(ev, "result")));
		result = rbuf;
	}
	if (strcmp(kind, "task") == 0)
		return xasprintf("%s %s %s → %s", exec_or_q(exec_jstr(d, "type")),
		    exec_or_q(target), exec_jstr(d, "from") ? exec_jstr(d, "from") : "new",
		    exec_or_q(result));
	if (strcmp(kind, "node") == 0)
		return xasprintf("node %s of %s %s%s%s", exec_or_q(target),
		    exec_or_q(exec_jstr(ev, "cluster")), exec_or_q(result),
		    exec_jstr(d, "reason") ? ": " : "",
		    exec_jstr(d, "reason") ? exec_jstr(d, "reason") : "");
	if (strcmp(kind, "slot") == 0)
		return xasprintf("bootstrap slot of %s %s (%s)",
		    exec_or_q(exec_jstr(ev, "cluster")), exec_or_q(result),
		    exec_or_q(target));
	if (strcmp(kind, "seeds") == 0) {
		char *list = json_dumps(json_object_get(d, "pinned"),
		    JSON_ENCODE_ANY | JSON_COMPACT);
		char *s = xasprintf("seeds of %s %s by %s%s%s",
		    exec_or_q(target), exec_or_q(result),
		    exec_or_q(exec_jstr(ev, "actor")), list ? ": " : "",
		    list ? list : "");
		free(list);
		return s;
	}
	if (strcmp(kind, "request") == 0)
		return xasprintf("%s %s %s%s%s → %s", exec_or_q(exec_jstr(ev, "actor")),
		    exec_or_q(exec_jstr(ev, "method")), exec_or_q(exec_jstr(ev, "route")),
		    target ? " " : "", target ? target : "", exec_or_q(result));
	if (strcmp(kind, "cluster") == 0) {
		char *s = xasprintf("cluster %s %s by %s",
		    exec_or_q(target ? target : exec_jstr(ev, "cluster")),
		    exec_or_q(result), exec_or_q(exec_jstr(ev, "actor")));
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
	return xasprintf("%s %s %s", kind, exec_or_q(target), exec_or_q(result));
}

char *exec_events_text(const json_t *items)
{
	size_t n = json_array_size(items), i;
	struct ev_ref *v = xcalloc(n ? n : 1, sizeof(*v));
	char *out = xstrdup(""), today[16] = "";
	const json_t *e;

	time_rfc3339(time_wall_ms() / 1000, today, sizeof(today));
	json_array_foreach(items, i, e) {
		int64_t ms = ev_ms(exec_jstr(e, "at"));
		v[i].ev = e;
		v[i].at = ms < 0 ? INT64_MAX : ms;
		v[i].id = json_is_integer(json_object_get(e, "id")) ?
		    json_integer_value(json_object_get(e, "id")) : 0;
		v[i].pos = i;
	}
	qsort(v, n, sizeof(*v), ev_cmp);
	for (i = 0; i < n; i++) {
		const char *at = exec_jstr(v[i].ev, "at");
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

int exec_events(struct exec_ctx *x)
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
	int rc = exec_get_list(x, q, &r);
	free(q);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json) {
		exec_print_raw(&r);
		client_resp_release(&r);
		return EXEC_OK;
	}
	if (json_array_size(exec_items_of(r.json)) == 0) {
		printf("no events%s\n", since ? " since then" : "");
	} else {
		char *text = exec_events_text(exec_items_of(r.json));
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
	printf("  %-22s %-14s %-10s %-12s %s\n", exec_jstr(p, "name") ?
	    exec_jstr(p, "name") : "?", exec_jstr(p, "type") ? exec_jstr(p, "type") : "?", dv,
	    range, exec_jstr(p, "description") ? exec_jstr(p, "description") : "");
	free(dv);
}

/* "task types: ..." as the orchestrator registers them, for help run. */
void exec_help_types(struct exec_ctx *x)
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
int exec_types(struct exec_ctx *x)
{
	const char *type = cmd_arg(x->call, "TYPE");
	struct client_resp r;
	char *path;
	int rc;

	if (type != NULL && !name_valid(type))
		return exec_usage_fail(x->call, "'%s' is not a task type name", type);
	path = type ? xasprintf("/api/v1/task-types/%s", type) :
	    xstrdup("/api/v1/task-types");
	rc = exec_call_api(x, "GET", path, NULL, &r);
	free(path);
	if (rc < 0)
		return EXEC_FAILED;
	if (x->json) {
		exec_print_raw(&r);
	} else if (type == NULL) {
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(r.json, "items"), i, t)
			printf("%-14s %s\n", exec_jstr(t, "name") ? exec_jstr(t, "name") :
			    "?", exec_jstr(t, "description") ? exec_jstr(t, "description") :
			    "");
		printf("\n'types TYPE' shows a type's parameters; 'run TYPE "
		    "key=value...' starts one.\n");
	} else {
		size_t i;
		json_t *p;
		printf("%s: %s\nsteps: %s\n\nparameters:\n", type,
		    exec_jstr(r.json, "description") ? exec_jstr(r.json, "description") :
		    "", exec_jstr(r.json, "steps") ? exec_jstr(r.json, "steps") : "");
		printf("  %-22s %-14s %-10s %-12s %s\n", "NAME", "TYPE",
		    "DEFAULT", "RANGE", "MEANING");
		json_array_foreach(json_object_get(r.json, "params"), i, p)
			print_param(p);
	}
	client_resp_release(&r);
	return EXEC_OK;
}

int exec_metrics(struct exec_ctx *x)
{
	struct client_resp r;
	if (exec_call_api(x, "GET", "/metrics", NULL, &r) < 0)
		return EXEC_FAILED;
	if (r.body)
		fwrite(r.body, 1, r.body_len, stdout);
	client_resp_release(&r);
	return EXEC_OK;
}
