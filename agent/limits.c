/*
 * limits.c - see limits.h.
 */
#include "limits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"
#include "proc.h"
#include "tenants.h"

/* A limits file larger than this is not ours: rewrite it. */
#define LIMITS_FILE_MAX (16 << 20)

json_t *limits_doc(const struct tenants *ts, const char *cluster,
    const char *node)
{
	json_t *list = json_array();

	for (size_t i = 0; ts != NULL && i < ts->n; i++) {
		const struct tenant *t = &ts->t[i];
		json_t *o;

		if (t->limit <= 0)
			continue;	/* not served here */
		o = json_pack("{s:s}", "name", t->name);
		if (t->prefix != NULL) {
			json_object_set_new(o, "prefix", json_string(t->prefix));
		} else {
			json_t *k = json_array();
			for (size_t j = 0; j < t->n_keyspaces; j++)
				json_array_append_new(k, json_string(t->keyspaces[j]));
			json_object_set_new(o, "keyspaces", k);
		}
		json_object_set_new(o, "limit_ops", json_integer(t->limit));
		json_array_append_new(list, o);
	}
	return json_pack("{s:i, s:I, s:s?, s:s?, s:o}", "format", LIMITS_FORMAT,
	    "gen", (json_int_t)(ts ? ts->gen : 0), "cluster", cluster,
	    "node", node, "tenants", list);
}

/* What decides whether the file changed: all but gen and written_at. */
static json_t *content(const json_t *doc)
{
	json_t *c = json_deep_copy(doc);

	json_object_del(c, "gen");
	json_object_del(c, "written_at");
	return c;
}

static bool file_says(const char *path, const json_t *doc)
{
	char *text = file_read_all(path, LIMITS_FILE_MAX, NULL);
	json_t *j, *a, *b;
	bool same;

	if (text == NULL)
		return false;
	j = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(j)) {
		json_decref(j);
		return false;
	}
	a = content(j);
	b = content(doc);
	same = json_equal(a, b);
	json_decref(a);
	json_decref(b);
	json_decref(j);
	return same;
}

int limits_write(const char *path, const json_t *doc, bool *changed,
    char *err, size_t errlen)
{
	json_t *full;
	char *text, *dump, when[32];
	time_t now = (time_t)(time_wall_ms() / 1000);
	struct tm tm;
	const char *key;
	json_t *v;
	int rc = 0;

	*changed = false;
	if (file_says(path, doc))
		return 0;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* written_at before the list, so a reader sees the header first */
	full = json_object();
	json_object_foreach((json_t *)(uintptr_t)doc, key, v) {
		if (strcmp(key, "tenants") == 0)
			json_object_set_new(full, "written_at", json_string(when));
		json_object_set(full, key, v);
	}
	dump = json_dumps(full, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(full);
	if (dump == NULL)
		abort();	/* only out of memory */
	text = xasprintf("%s\n", dump);
	free(dump);
	/* 0644: the hook may run the proxy's tools as another user */
	if (file_write_atomic(path, text, strlen(text), 0644) != 0) {
		snprintf(err, errlen, "cannot write limits_file '%s': %s", path,
		    strerror(errno));
		rc = -1;
	} else {
		*changed = true;
	}
	free(text);
	return rc;
}

int limits_run_hook(const char *hook, const char *path, int64_t timeout_ms,
    char *err, size_t errlen)
{
	/*
	 * Run like the agent's other commands, through /bin/sh; the path goes
	 * in as $1 so no quoting of it can go wrong.
	 */
	char *script = xasprintf("RINGAGENT_LIMITS_FILE=\"$1\"; export "
	    "RINGAGENT_LIMITS_FILE; %s \"$1\"", hook);
	const char *argv[] = { "/bin/sh", "-c", script, "limits_hook", path,
	    NULL };
	struct proc_opts o;
	struct proc_result r = { 0 };
	char why[512], line[256] = "";
	int rc = -1;

	proc_opts_init(&o, timeout_ms);
	o.max_output = 64 << 10;
	if (proc_run(argv, &o, &r, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "limits_hook '%s': %s", hook, why);
		goto out;
	}
	if (r.status == 0 && !r.timed_out && r.signal == 0) {
		rc = 0;
		goto out;
	}
	if (r.timed_out)
		snprintf(why, sizeof(why), "timed out after %llds",
		    (long long)(timeout_ms / 1000));
	else if (r.signal != 0)
		snprintf(why, sizeof(why), "was killed by signal %d", r.signal);
	else
		snprintf(why, sizeof(why), "exited %d", r.status);
	for (const char *s = r.err; s != NULL && *s != '\0';) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		char *l = xstrndup(s, n);
		str_trim(l);
		str_copy(line, l, sizeof(line));
		free(l);
		if (line[0] != '\0')
			break;
		s = nl ? nl + 1 : NULL;
	}
	snprintf(err, errlen, "limits_hook '%s' %s: %s", hook, why,
	    line[0] ? line : "(nothing on stderr)");
out:
	proc_result_release(&r);
	free(script);
	return rc;
}

static void set_error(struct limits *l, const char *msg)
{
	free(l->error);
	l->error = msg ? xstrdup(msg) : NULL;
}

static void attempt(struct limits *l, const char *path, const char *hook,
    int64_t now_ms)
{
	char err[1024];
	bool changed;

	if (l->want == NULL)
		return;
	if (limits_write(path, l->want, &changed, err, sizeof(err)) != 0) {
		log_error("%s; the limits of tenants generation %lld are not "
		    "applied; retrying in %ds (make its directory writable by "
		    "ringagent, or set limits_file)", err,
		    (long long)json_integer_value(json_object_get(l->want, "gen")),
		    LIMITS_RETRY_MS / 1000);
		goto failed;
	}
	if (changed) {
		l->hook_done = false;
		log_info("limits_file '%s' written for tenants generation %lld",
		    path, (long long)json_integer_value(json_object_get(l->want,
		    "gen")));
	}
	if (hook != NULL && !l->hook_done) {
		if (limits_run_hook(hook, path, LIMITS_HOOK_TIMEOUT_MS, err,
		    sizeof(err)) != 0) {
			log_error("%s; the new limits are written but not "
			    "applied; retrying in %ds (fix the hook; it must "
			    "exit 0 once the node enforces the file)", err,
			    LIMITS_RETRY_MS / 1000);
			goto failed;
		}
		l->hook_done = true;
		log_info("limits_hook '%s' took '%s'", hook, path);
	}
	json_decref(l->applied);
	l->applied = l->want_applied;
	l->want_applied = NULL;
	json_decref(l->want);
	l->want = NULL;
	set_error(l, NULL);
	return;
failed:
	set_error(l, err);
	l->next_try_ms = now_ms + LIMITS_RETRY_MS;
}

void limits_set(struct limits *l, const struct tenants *ts,
    const char *cluster, const char *node, const char *path,
    const char *hook, int64_t now_ms)
{
	json_decref(l->want);
	json_decref(l->want_applied);
	/* From the first list on the field is sent: {} until some limit works. */
	if (l->applied == NULL)
		l->applied = json_object();
	l->want = limits_doc(ts, cluster, node);
	l->want_applied = json_object();
	for (size_t i = 0; ts != NULL && i < ts->n; i++)
		if (ts->t[i].limit > 0)
			json_object_set_new(l->want_applied, ts->t[i].name,
			    json_integer(ts->t[i].limit));
	attempt(l, path, hook, now_ms);
}

void limits_tick(struct limits *l, const char *path, const char *hook,
    int64_t now_ms)
{
	if (l->want != NULL && now_ms >= l->next_try_ms)
		attempt(l, path, hook, now_ms);
}

void limits_forget_hook(struct limits *l)
{
	l->hook_done = false;
}

void limits_release(struct limits *l)
{
	if (l == NULL)
		return;
	json_decref(l->applied);
	json_decref(l->want);
	json_decref(l->want_applied);
	free(l->error);
	memset(l, 0, sizeof(*l));
}
