/*
 * watch.c - see watch.h.
 *
 * The rate is done steps over the time since the task started (from its
 * started_at), so a watch begun late still shows a sensible ETA; only a
 * running task has an ETA.  Steps that report per-node progress (a
 * "nodes" array: phase, files, bytes, rate) get one line per node, their
 * ETA from the node's own rate; older servers send no "nodes" and the
 * step's message is shown as before.  Polling
 * sleeps in poll(2), which SIGINT interrupts, so Ctrl-C is answered at
 * once; the request in flight (a few ms on loopback) is let finish.
 */
#include "watch.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "client.h"
#include "table.h"

bool watch_terminal(const char *state)
{
	return state && (strcmp(state, "succeeded") == 0 ||
	    strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0 ||
	    strcmp(state, "partial") == 0);
}

void watch_bar(int64_t done, int64_t total, size_t width, char *buf,
    size_t size)
{
	if (size < width + 3)
		width = size > 3 ? size - 3 : 0;
	size_t fill = 0;
	if (total > 0 && done > 0)
		fill = done >= total ? width :
		    (size_t)((double)done / (double)total * (double)width);
	buf[0] = '[';
	for (size_t i = 0; i < width; i++)
		buf[1 + i] = i < fill ? '#' : '-';
	buf[1 + width] = ']';
	buf[2 + width] = '\0';
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Seconds since the task started (or 0 when it has not). */
static int64_t elapsed_s(const json_t *task, int64_t now_ms)
{
	int64_t started, finished;
	const char *s = jstr(task, "started_at"), *f = jstr(task, "finished_at");
	if (s == NULL || time_parse_rfc3339(s, &started) < 0)
		return 0;
	if (f && time_parse_rfc3339(f, &finished) == 0)
		return finished - started;
	return now_ms / 1000 - started;
}

struct progress {
	int64_t done, total;
	char pct[16], rate[32], eta[32], elapsed[32];
};

/* An ETA means something only while the task moves. */
static bool task_running(const json_t *task)
{
	const char *st = jstr(task, "state");
	return st != NULL && strcmp(st, "running") == 0;
}

static void progress_of(const json_t *task, int64_t now_ms, struct progress *p)
{
	json_t *pr = json_object_get(task, "progress");
	p->done = json_integer_value(json_object_get(pr, "done"));
	p->total = json_integer_value(json_object_get(pr, "total"));
	int64_t el = elapsed_s(task, now_ms);
	duration_human(el, DURATION_SPACED, p->elapsed, sizeof(p->elapsed));
	if (p->total > 0)
		snprintf(p->pct, sizeof(p->pct), "%3d%%",
		    (int)(p->done * 100 / p->total));
	else
		snprintf(p->pct, sizeof(p->pct), "  -%%");
	if (el > 0 && p->done > 0) {
		double rate = (double)p->done / (double)el;
		snprintf(p->rate, sizeof(p->rate), "%.2f/s", rate);
		if (!task_running(task)) {
			snprintf(p->eta, sizeof(p->eta), "-");
		} else if (p->total > p->done) {
			duration_human((int64_t)((double)(p->total - p->done) /
			    rate + 0.5), DURATION_SPACED, p->eta, sizeof(p->eta));
		} else {
			snprintf(p->eta, sizeof(p->eta), "0s");
		}
	} else {
		snprintf(p->rate, sizeof(p->rate), "-/s");
		snprintf(p->eta, sizeof(p->eta), "-");
	}
}

static bool step_settled(const char *state)
{
	return state && strcmp(state, "pending") != 0 &&
	    strcmp(state, "queued") != 0;
}

static bool step_ended(const char *state)
{
	return state && (strcmp(state, "succeeded") == 0 ||
	    strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0 ||
	    strcmp(state, "skipped") == 0);
}

/*
 * The current step of each node: its running step, else the last one that
 * got anywhere, else its first.  Indexes into steps, in order of nodes.
 */
static size_t current_steps(const json_t *steps, size_t *pick, const char **node,
    size_t max)
{
	size_t n = 0, i;
	json_t *s;
	json_array_foreach(steps, i, s) {
		const char *nd = jstr(s, "node");
		if (nd == NULL)
			nd = "-";
		size_t k;
		for (k = 0; k < n; k++)
			if (strcmp(node[k], nd) == 0)
				break;
		if (k == n) {
			if (n == max)
				continue;
			node[n] = nd;
			pick[n++] = i;
			continue;
		}
		const char *have = jstr(json_array_get(steps, pick[k]), "state");
		const char *st = jstr(s, "state");
		if (have && strcmp(have, "running") == 0)
			continue;
		if ((st && strcmp(st, "running") == 0) || step_settled(st))
			pick[k] = i;
	}
	return n;
}

#define MAX_NODES 64

/* ---- per-node progress ---- */

/* A count: an integer or integral number >= 0, else -1. */
static int64_t count_of(const json_t *v)
{
	double d;

	if (json_is_integer(v))
		return json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
	if (!json_is_real(v))
		return -1;
	d = json_real_value(v);
	if (!(d >= 0 && d < 9.0e18) || d != (double)(int64_t)d)
		return -1;
	return (int64_t)d;
}

static double rate_of(const json_t *v)
{
	double d = json_is_number(v) ? json_number_value(v) : -1;
	return d >= 0 && d < 1e18 ? d : -1;
}

int watch_step_nodes(const json_t *step, struct watch_node *out, size_t max)
{
	const json_t *a = json_object_get(step, "nodes"), *e;
	size_t i;
	int n = 0;

	if (!json_is_array(a))
		return -1;
	json_array_foreach(a, i, e) {
		struct watch_node *w;
		if ((size_t)n == max)
			break;
		if (!json_is_object(e) || jstr(e, "node") == NULL)
			continue;
		w = &out[n++];
		w->node = jstr(e, "node");
		w->phase = jstr(e, "phase");
		w->state = jstr(e, "state");
		w->message = jstr(e, "message");
		w->files_done = count_of(json_object_get(e, "files_done"));
		w->files_total = count_of(json_object_get(e, "files_total"));
		w->bytes_done = count_of(json_object_get(e, "bytes_done"));
		w->bytes_total = count_of(json_object_get(e, "bytes_total"));
		w->rate_bps = rate_of(json_object_get(e, "rate_bps"));
	}
	return n;
}

/* Append ", "-separated text to *s (freed and replaced). */
static void add_part(char **s, const char *sep, const char *part)
{
	char *t = xasprintf("%s%s%s", *s, **s ? sep : "", part);
	free(*s);
	*s = t;
}

char *watch_node_text(const struct watch_node *n, bool eta)
{
	char *s = xstrdup(""), part[96], a[32], b[32];

	if (n->phase != NULL && *n->phase)
		add_part(&s, "  ", n->phase);
	if (n->files_done >= 0 || n->files_total >= 0) {
		snprintf(a, sizeof(a), "%lld", (long long)n->files_done);
		snprintf(b, sizeof(b), "%lld", (long long)n->files_total);
		snprintf(part, sizeof(part), "files %s/%s",
		    n->files_done >= 0 ? a : "?", n->files_total >= 0 ? b : "?");
		add_part(&s, "  ", part);
	}
	if (n->bytes_done >= 0 || n->bytes_total >= 0) {
		if (n->bytes_done >= 0)
			table_size((uint64_t)n->bytes_done, a, sizeof(a));
		if (n->bytes_total >= 0)
			table_size((uint64_t)n->bytes_total, b, sizeof(b));
		snprintf(part, sizeof(part), "%s/%s", n->bytes_done >= 0 ? a :
		    "?", n->bytes_total >= 0 ? b : "?");
		add_part(&s, "  ", part);
	}
	if (n->rate_bps >= 0) {
		table_size((uint64_t)(n->rate_bps + 0.5), a, sizeof(a));
		snprintf(part, sizeof(part), "%s/s", a);
		add_part(&s, "  ", part);
	}
	/* Remaining bytes over the rate; a zero or unknown total has none. */
	if (eta && n->state != NULL && strcmp(n->state, "running") == 0 &&
	    n->rate_bps > 0 && n->bytes_done >= 0 &&
	    n->bytes_total > n->bytes_done) {
		duration_human((int64_t)((double)(n->bytes_total -
		    n->bytes_done) / n->rate_bps + 0.5), DURATION_SPACED, a,
		    sizeof(a));
		snprintf(part, sizeof(part), "ETA %s", a);
		add_part(&s, "  ", part);
	}
	if (n->message != NULL && *n->message)
		add_part(&s, "  ", n->message);
	return s;
}

char *watch_summary(const json_t *task, int64_t now_ms)
{
	const json_t *steps = json_object_get(task, "steps"), *st;
	struct watch_node nodes[MAX_NODES];
	const char *names[MAX_NODES];
	size_t i, nnames = 0;
	int64_t files = 0, bytes = 0;
	bool moved = false;
	char el[32], size[32], *fails = xstrdup(""), *s, *t;

	duration_human(elapsed_s(task, now_ms), DURATION_SPACED, el,
	    sizeof(el));
	json_array_foreach(steps, i, st) {
		int n = watch_step_nodes(st, nodes, MAX_NODES);
		const char *sst = jstr(st, "state");
		for (int k = 0; k < n; k++) {
			size_t j;
			moved = true;
			files += nodes[k].files_done > 0 ? nodes[k].files_done : 0;
			bytes += nodes[k].bytes_done > 0 ? nodes[k].bytes_done : 0;
			for (j = 0; j < nnames; j++)
				if (strcmp(names[j], nodes[k].node) == 0)
					break;
			if (j == nnames && nnames < MAX_NODES)
				names[nnames++] = nodes[k].node;
			if (nodes[k].state && strcmp(nodes[k].state, "failed") == 0) {
				t = xasprintf("%s on %s%s%s", jstr(st, "name") ?
				    jstr(st, "name") : "step", nodes[k].node,
				    nodes[k].message ? ": " : "",
				    nodes[k].message ? nodes[k].message : "");
				add_part(&fails, ", ", t);
				free(t);
			}
		}
		/* A failed step whose nodes did not say why speaks for itself. */
		if (sst && strcmp(sst, "failed") == 0 && n <= 0) {
			t = xasprintf("%s%s%s%s%s", jstr(st, "name") ?
			    jstr(st, "name") : "step", jstr(st, "node") ? " on " : "",
			    jstr(st, "node") ? jstr(st, "node") : "",
			    jstr(st, "message") ? ": " : "",
			    jstr(st, "message") ? jstr(st, "message") : "");
			add_part(&fails, ", ", t);
			free(t);
		}
	}
	s = xasprintf("task %s %s after %s", jstr(task, "id") ? jstr(task, "id") :
	    "?", jstr(task, "state") ? jstr(task, "state") : "?", el);
	if (moved && (files > 0 || bytes > 0)) {
		table_size((uint64_t)bytes, size, sizeof(size));
		t = xasprintf("%s; moved %lld file%s, %s on %zu node%s", s,
		    (long long)files, files == 1 ? "" : "s", size, nnames,
		    nnames == 1 ? "" : "s");
		free(s);
		s = t;
	}
	if (*fails) {
		t = xasprintf("%s; failed: %s", s, fails);
		free(s);
		s = t;
	}
	/* A partial task's error is what it left undone. */
	if (jstr(task, "state") && strcmp(jstr(task, "state"), "partial") == 0 &&
	    jstr(task, "error")) {
		t = xasprintf("%s; %s", s, jstr(task, "error"));
		free(s);
		s = t;
	}
	free(fails);
	return s;
}

/* ---- the repair scheduler's segments ----
 *
 * A scheduled repair has one step with a record per segment ("segment
 * N"), hundreds of them on a large ring: one line each would scroll the
 * running ones off the screen.  Such a step gets its message (the counts)
 * as a summary line, then the segments that need eyes (running,
 * postponed, failed, pending again), and the last few done.
 */
#define SEG_DONE_SHOWN	3
#define SEG_ACTIVE_MAX	24

static bool segment_step(const json_t *step)
{
	const char *n = jstr(json_array_get(json_object_get(step, "nodes"), 0),
	    "node");
	return n != NULL && str_starts_with(n, "segment ");
}

static long seg_number(const json_t *e)
{
	const char *n = jstr(e, "node");
	return n != NULL && str_starts_with(n, "segment ") ?
	    strtol(n + 8, NULL, 10) : 0;
}

/* "ks1 (a,b] on 10.0.0.1 [10.0.0.1,10.0.0.2,10.0.0.3]" of the phase
 * "ranges (a,b] replicas R keyspace K on N"; the phase itself when it is
 * not one (caller frees). */
char *watch_segment_where(const char *phase)
{
	const char *r, *k, *o, *p;
	size_t nr, nreps;

	if (phase == NULL)
		return xstrdup("");
	r = strstr(phase, " replicas ");
	o = NULL;
	for (p = phase; (p = strstr(p, " on ")) != NULL; p++)
		o = p;
	if (!str_starts_with(phase, "ranges ") || r == NULL || o == NULL ||
	    o < r)
		return xstrdup(phase);
	k = strstr(r, " keyspace ");
	if (k != NULL && k > o)
		k = NULL;
	nr = (size_t)(r - phase - 7);
	nreps = (size_t)((k ? k : o) - (r + 10));
	if (k != NULL)
		return xasprintf("%.*s %.*s on %s [%.*s]", (int)(o - k - 10),
		    k + 10, (int)nr, phase + 7, o + 4, (int)nreps, r + 10);
	return xasprintf("%.*s on %s [%.*s]", (int)nr, phase + 7, o + 4,
	    (int)nreps, r + 10);
}

static int cmp_seg_number(const void *a, const void *b)
{
	long x = seg_number(*(const json_t *const *)a);
	long y = seg_number(*(const json_t *const *)b);

	return x < y ? -1 : x > y;
}

/* Latest updated_at first (RFC 3339 in one format sorts as text). */
static int cmp_seg_recent(const void *a, const void *b)
{
	const char *x = jstr(*(const json_t *const *)a, "updated_at");
	const char *y = jstr(*(const json_t *const *)b, "updated_at");

	return -strcmp(x ? x : "", y ? y : "");
}

static void segment_row(struct table *t, const json_t *e, int64_t now_ms)
{
	const char *st = jstr(e, "state"), *msg = jstr(e, "message");
	const char *up = jstr(e, "updated_at");
	char *where = watch_segment_where(jstr(e, "phase")), *text, since[48];
	int64_t at;

	since[0] = '\0';
	/* a running or waiting record is written when it starts waiting */
	if (st != NULL && (strcmp(st, "running") == 0 ||
	    strcmp(st, "postponed") == 0) && up != NULL &&
	    time_parse_rfc3339(up, &at) == 0 && now_ms / 1000 >= at) {
		char d[32];
		duration_human(now_ms / 1000 - at, DURATION_SPACED, d, sizeof(d));
		snprintf(since, sizeof(since), "  for %s", d);
	}
	text = xasprintf("%s%s%s%s", where, since, msg && *msg ? "  " : "",
	    msg ? msg : "");
	const char *cells[5] = { jstr(e, "node"), "", st ? st : "?", "", text };
	table_add(t, cells);
	free(text);
	free(where);
}

static void segment_rows(struct table *t, const json_t *s, const char *att,
    int64_t now_ms)
{
	const json_t *a = json_object_get(s, "nodes"), *e;
	size_t n = json_array_size(a), nact = 0, ndone = 0, i;
	const json_t **act = xcalloc(n + 1, sizeof(*act));
	const json_t **done = xcalloc(n + 1, sizeof(*done));
	char *sum;

	json_array_foreach(a, i, e) {
		const char *st = jstr(e, "state");
		if (st == NULL || strcmp(st, "split") == 0)
			continue;
		if (strcmp(st, "done") == 0)
			done[ndone++] = e;
		else
			act[nact++] = e;
	}
	qsort(act, nact, sizeof(*act), cmp_seg_number);
	qsort(done, ndone, sizeof(*done), cmp_seg_recent);
	sum = jstr(s, "message") && *jstr(s, "message") ?
	    xstrdup(jstr(s, "message")) : xasprintf("%zu segments recorded",
	    n);
	{
		const char *cells[5] = { "segments", jstr(s, "name"),
		    jstr(s, "state"), att, sum };
		table_add(t, cells);
	}
	for (i = 0; i < nact && i < SEG_ACTIVE_MAX; i++)
		segment_row(t, act[i], now_ms);
	if (nact > SEG_ACTIVE_MAX) {
		char *more = xasprintf("... and %zu more not done",
		    nact - SEG_ACTIVE_MAX);
		const char *cells[5] = { "", "", "", "", more };
		table_add(t, cells);
		free(more);
	}
	for (i = 0; i < ndone && i < SEG_DONE_SHOWN; i++)
		segment_row(t, done[i], now_ms);
	free(sum);
	free(act);
	free(done);
}

char *watch_render(const json_t *task, int64_t now_ms, size_t width,
    size_t *nlines)
{
	struct progress p;
	char bar[64], *head, *line2, *out;
	const char *state = jstr(task, "state");
	size_t barw;

	if (width == 0)
		width = 80;
	progress_of(task, now_ms, &p);
	head = xasprintf("task %s  %s on %s  %s  elapsed %s",
	    jstr(task, "id") ? jstr(task, "id") : "?",
	    jstr(task, "type") ? jstr(task, "type") : "?",
	    jstr(task, "cluster") ? jstr(task, "cluster") : "?",
	    state ? state : "?", p.elapsed);
	barw = width > 70 ? 30 : width > 50 ? width - 40 : 10;
	watch_bar(p.done, p.total, barw, bar, sizeof(bar));
	line2 = xasprintf("%s %lld/%lld %s  %s  ETA %s", bar,
	    (long long)p.done, (long long)p.total, p.pct, p.rate, p.eta);

	struct table *t = table_new(5, (const char *const[]){ "NODE", "STEP",
	    "STATE", "ATTEMPTS", "MESSAGE" });
	json_t *steps = json_object_get(task, "steps");
	size_t pick[MAX_NODES];
	const char *node[MAX_NODES];
	size_t n = current_steps(steps, pick, node, MAX_NODES);
	bool eta = task_running(task);
	for (size_t k = 0; k < n; k++) {
		json_t *s = json_array_get(steps, pick[k]);
		struct watch_node wn[MAX_NODES];
		int nn = watch_step_nodes(s, wn, MAX_NODES);
		char att[16];
		snprintf(att, sizeof(att), "%lld",
		    (long long)json_integer_value(json_object_get(s, "attempts")));
		if (segment_step(s)) {
			segment_rows(t, s, att, now_ms);
			continue;
		}
		/* A step that reports per node: one line per node. */
		for (int j = 0; j < nn; j++) {
			char *text = watch_node_text(&wn[j], eta);
			const char *cells[5] = { wn[j].node, jstr(s, "name"),
			    wn[j].state ? wn[j].state : jstr(s, "state"), att,
			    text };
			table_add(t, cells);
			free(text);
		}
		/*
		 * Once such a step has ended, its own message is its true final
		 * word (the server writes it last), under the nodes' lines.
		 */
		if (nn > 0 && step_ended(jstr(s, "state")) && jstr(s, "message") &&
		    *jstr(s, "message")) {
			const char *cells[5] = { node[k], jstr(s, "name"),
			    jstr(s, "state"), att, jstr(s, "message") };
			table_add(t, cells);
		}
		if (nn > 0)
			continue;
		const char *cells[5] = { node[k], jstr(s, "name"),
		    jstr(s, "state"), att, jstr(s, "message") };
		table_add(t, cells);
	}
	char *steps_text = table_rows(t) ? table_print(t, NULL, width > 4 ? width - 3 : 1) :
	    xstrdup("");
	table_free(t);

	const char *err = jstr(task, "error");
	if (err == NULL) {
		json_t *e = json_object_get(task, "error");
		if (json_is_object(e))
			err = jstr(e, "message");
	}
	/* Assemble, truncating each line to the width. */
	size_t lines = 0, cap = 256, len = 0;
	out = xmalloc(cap);
	out[0] = '\0';
	char *all = xasprintf("%s\n%s\n%s%s%s%s", head, line2, steps_text,
	    err ? "error: " : "", err ? err : "", err ? "\n" : "");
	char *save = NULL;
	for (char *l = strtok_r(all, "\n", &save); l; l = strtok_r(NULL, "\n",
	    &save)) {
		bool indent = lines >= 2 && !str_starts_with(l, "error: ");
		char *ind = xasprintf("%s%s", indent ? "  " : "", l);
		char *cut = table_truncate(ind, width > 1 ? width - 1 : 1);
		size_t cl = strlen(cut);
		if (len + cl + 2 > cap) {
			cap = (len + cl + 2) * 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + len, cut, cl);
		len += cl;
		out[len++] = '\n';
		out[len] = '\0';
		lines++;
		free(cut);
		free(ind);
	}
	free(all);
	free(steps_text);
	free(head);
	free(line2);
	*nlines = lines;
	return out;
}

char *watch_line(const json_t *task, int64_t now_ms)
{
	struct progress p;
	json_t *steps = json_object_get(task, "steps");
	size_t pick[MAX_NODES];
	const char *node[MAX_NODES];
	size_t n = current_steps(steps, pick, node, MAX_NODES);

	progress_of(task, now_ms, &p);
	char *s = xasprintf("%s %s %lld/%lld %s ETA %s",
	    jstr(task, "id") ? jstr(task, "id") : "?",
	    jstr(task, "state") ? jstr(task, "state") : "?",
	    (long long)p.done, (long long)p.total, p.pct, p.eta);
	for (size_t k = 0; k < n; k++) {
		json_t *st = json_array_get(steps, pick[k]);
		struct watch_node wn[MAX_NODES];
		int nn = watch_step_nodes(st, wn, MAX_NODES);
		char *t = xasprintf("%s%s %s: %s %s", s, k ? "," : ";", node[k],
		    jstr(st, "name") ? jstr(st, "name") : "?",
		    jstr(st, "state") ? jstr(st, "state") : "?");
		free(s);
		s = t;
		if (segment_step(st)) {
			/* the counts, not hundreds of segments */
			t = xasprintf("%s [%s]", s, jstr(st, "message") ?
			    jstr(st, "message") : "");
			free(s);
			s = t;
			continue;
		}
		/*
		 * Off a terminal a line is printed when it changes: phase and
		 * files only, not bytes and rate, which change at every poll.
		 */
		for (int j = 0; j < nn; j++) {
			char f[64] = "";
			if (wn[j].files_done >= 0 && wn[j].files_total >= 0)
				snprintf(f, sizeof(f), " %lld/%lld files",
				    (long long)wn[j].files_done,
				    (long long)wn[j].files_total);
			t = xasprintf("%s%s%s %s%s%s", s, j ? " " : " [",
			    wn[j].node, wn[j].phase ? wn[j].phase :
			    (wn[j].state ? wn[j].state : "?"), f,
			    j + 1 == nn ? "]" : ";");
			free(s);
			s = t;
		}
	}
	return s;
}

/* Sleep ms unless interrupted; SIGINT breaks poll(2) with EINTR. */
static void nap(long ms, volatile sig_atomic_t *interrupted)
{
	int64_t until = time_mono_ms() + ms;
	while (!(interrupted && *interrupted)) {
		int64_t left = until - time_mono_ms();
		if (left <= 0)
			break;
		if (poll(NULL, 0, (int)left) < 0 && errno != EINTR)
			break;
	}
}

enum watch_end watch_task(struct client *c, const char *id,
    const struct watch_opts *o)
{
	char *path, *esc = client_escape(id);
	char *last = NULL;
	size_t drawn = 0;
	int64_t lost_at = 0;		/* mono ms the orchestrator went away */
	long backoff = 0;
	enum watch_end end = WATCH_ERROR;
	long interval = o->interval_ms ? o->interval_ms : 500;
	long reconnect = o->reconnect_ms ? o->reconnect_ms : 120000;

	path = xasprintf("/api/v1/tasks/%s", esc);
	free(esc);
	for (;;) {
		struct client_resp r;
		if (o->interrupted && *o->interrupted) {
			end = WATCH_INTERRUPTED;
			break;
		}
		if (client_call(c, "GET", path, NULL, &r) < 0) {
			long st = client_last_status(c);
			int64_t now = time_mono_ms();
			/*
			 * Ride out a restart of the orchestrator (no answer, or
			 * 502/503/504 from a proxy or a daemon starting), not a
			 * 404: the task goes on meanwhile.  The wait grows up to
			 * 10 s, under a deadline.
			 */
			bool transient = st == 0 || st == 502 || st == 503 ||
			    st == 504;
			if (transient && (lost_at == 0 ||
			    now - lost_at < reconnect)) {
				char d[32];
				if (lost_at == 0) {
					lost_at = now;
					backoff = interval;
					duration_human(reconnect / 1000,
					    DURATION_SPACED, d, sizeof(d));
					if (o->tty && drawn)
						fputc('\n', stdout);
					fflush(stdout);
					fprintf(stderr, "ringsh: lost the orchestrator "
					    "(%s); task %s goes on there — retrying for "
					    "up to %s\n", client_error(c), id, d);
					drawn = 0;
				} else {
					backoff = backoff * 2 > 10000 ? 10000 :
					    backoff * 2;
				}
				nap(backoff, o->interrupted);
				continue;
			}
			if (o->tty && drawn)
				fputc('\n', stdout);
			if (transient) {
				char d[32];
				duration_human((now - lost_at) / 1000,
				    DURATION_SPACED, d, sizeof(d));
				fprintf(stderr, "ringsh: gave up on task %s after %s "
				    "without the orchestrator: %s — the task goes on "
				    "there; watch it again with 'watch %s'\n", id, d,
				    client_error(c), id);
			} else {
				fprintf(stderr, "ringsh: %s\n", client_error(c));
			}
			break;
		}
		if (lost_at != 0) {
			char d[32];
			duration_human((time_mono_ms() - lost_at) / 1000,
			    DURATION_SPACED, d, sizeof(d));
			fprintf(stderr, "ringsh: reconnected after %s; watching "
			    "task %s again\n", d, id);
			lost_at = 0;
		}
		const char *state = jstr(r.json, "state");
		bool done = watch_terminal(state);
		int64_t now = time_wall_ms();
		if (o->json) {
			if (done) {
				char *s = json_dumps(r.json, JSON_COMPACT);
				printf("%s\n", s);
				free(s);
			}
		} else if (o->tty) {
			size_t n;
			char *screen = watch_render(r.json, now, o->width, &n);
			/* Back to the top of the last frame, clear, redraw. */
			if (drawn)
				printf("\r\033[%zuA\033[J", drawn);
			fputs(screen, stdout);
			drawn = n;
			free(screen);
		} else {
			char *line = watch_line(r.json, now);
			if (last == NULL || strcmp(last, line) != 0) {
				printf("%s\n", line);
				free(last);
				last = line;
			} else {
				free(line);
			}
		}
		fflush(stdout);
		if (done) {
			end = strcmp(state, "succeeded") == 0 ? WATCH_SUCCEEDED :
			    WATCH_FAILED;
			if (!o->json) {
				char *sum = watch_summary(r.json, now);
				printf("%s\n", sum);
				free(sum);
			}
			client_resp_release(&r);
			break;
		}
		client_resp_release(&r);
		nap(interval, o->interrupted);
	}
	if (end == WATCH_INTERRUPTED && !o->json)
		printf("\nleft the watch; task %s goes on (see 'tasks show %s')\n",
		    id, id);
	fflush(stdout);
	free(last);
	free(path);
	return end;
}
