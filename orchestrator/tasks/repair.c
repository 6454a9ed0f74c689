/*
 * repair.c - see repair.h.  The orchestrator only decides what to repair
 * where and in which order; the node cuts its own primary ranges into
 * segments at run time (agent/repair.h), from the ring it sees then, so
 * nothing here needs the nodes' tokens at plan time and a segment is
 * always cut along ranges Cassandra will accept for -st/-et.  The step
 * name carries the segment ("repair segment 2/4"), which is all a step
 * needs to be run again after a restart.
 */
#include "repair.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../nodes/nodeops.h"
#include "../store/store.h"
#include "../engine/params.h"
#include "../engine/task.h"
#include "repair_auto.h"
#include "repair_par.h"
#include "repair_win.h"

#define MAX_SEGMENTS		1024
#define MAX_TABLES		64
/* task_progress() keeps one write per 500 ms: wait that long before the
 * summary so it is not dropped after the agent's last progress line. */
#define SUMMARY_GAP_MS		510
/* The last step, planned when down_deadline is not 0: the segments
 * postponed while a node was down, run when it is back. */
#define POSTPONED_STEP		"postponed segments"
/* A postponed segment's step succeeds with this message (the store keeps
 * it, so the last step finds them after a restart too). */
#define POSTPONED_PREFIX	"postponed: waiting for "
/* How often the last step looks whether a node is back (store reads). */
#define POSTPONED_POLL_MS	5000
/* Below the step deadline (12 h): the last step waits, then repairs. */
#define DOWN_DEADLINE_MAX_MS	(11LL * 3600 * 1000)

static const struct param_spec repair_params[] = {
	{ "keyspace", PT_NAME, 0, 0, NULL, NULL, 0,
	  "keyspace to repair (default: every keyspace nodetool repair "
	  "repairs without one: all but LocalStrategy ones and "
	  "system_distributed)" },
	{ "table", PT_NAME_OR_NAMES, 0, MAX_TABLES, NULL, NULL, 0,
	  "table name, or array of names, of keyspace" },
	{ "full", PT_BOOL, 0, 0, "true", NULL, 0,
	  "full repair (true) or incremental (false)" },
	{ "segments_per_node", PT_INT, 1, MAX_SEGMENTS, "1", NULL, 0,
	  "about this many segments per node: the scheduler cuts the ring's "
	  "ranges into this many times the nodes' count; node by node, each "
	  "node's primary ranges into this many steps" },
	{ "parallelism", PT_INT, 0, 1024, "0", NULL, 0,
	  "segments at once: 0 (as many as disjoint replica sets allow) or "
	  "N > 1, the segment scheduler: no node in two running segments; 1, "
	  "one step per node and segment, one at a time (also what 0 gives "
	  "on Cassandra 3.x)" },
	{ "intensity", PT_NUMBER, 0, 1, "1.0", NULL, PF_MIN_EXCL,
	  "fraction of the time spent repairing; the rest is rest between "
	  "segments" },
	{ "down_deadline", PT_NAME, 0, 0, "\"6h\"", NULL, 0,
	  "a segment whose node or replica is down is postponed and run when "
	  "it is back; after this long (from the last step's start) the task "
	  "ends partial, naming them; \"0\": a down replica fails the "
	  "segment" },
	{ "max_pending_compactions", PT_INT, 0, 1000000, NULL, NULL, 0,
	  "parallelism other than 1: a segment waits while one of its "
	  "replicas has more pending compactions than this (nodetool "
	  "compactionstats); absent: not checked" },
	{ "segment_timeout", PT_NAME, 0, 0, NULL, NULL, 0,
	  "parallelism other than 1: a segment running longer than this "
	  "duration (\"30m\") is cancelled and split in two; absent: no "
	  "timeout" },
	{ "datacenter", PT_NAME_OR_NAMES, 0, 16, NULL, NULL, 0,
	  "parallelism other than 1: repair only among the replicas in this "
	  "dc, or these dcs (nodetool repair -dc); ranges with fewer than two "
	  "replicas there are skipped" },
	{ "local_dc", PT_BOOL, 0, 0, NULL, NULL, 0,
	  "parallelism 1 and segments_per_node 1: each node repairs with the "
	  "replicas in its own dc only (nodetool repair -pr --in-local-dc)" },
	{ "windows", PT_ARRAY, 0, 32, NULL, NULL, 0,
	  "maintenance windows, segments start only inside one: [{\"days\": "
	  "\"mon-fri\" | [\"mon\", \"wed\"] | \"*\", \"start\": \"22:00\", "
	  "\"end\": \"06:00\", \"tz\": \"Europe/Berlin\"}] (end <= start "
	  "crosses midnight; tz defaults to UTC); absent: any time" },
	{ "retry_backoff", PT_NAME, 0, 0, NULL, NULL, 0,
	  "parallelism other than 1: a failed segment is not tried again "
	  "before this duration (\"5s\" by default, \"0\" to 1h), doubling "
	  "after each failure up to 5 min" },
	{ "resume", PT_NAME, 0, 0, NULL, NULL, 0,
	  "the id of an earlier repair of the cluster that ended partial, "
	  "failed or cancelled in the segment scheduler: repair only the "
	  "ranges it did not (its keyspace, tables and full apply)" },
	{ "force", PT_BOOL, 0, 0, "false", NULL, 0,
	  "repair even where Cassandra runs its own auto-repair of the same "
	  "type (CEP-37); without it such a repair is refused" },
	PARAMS_NODE(21600, 604800),
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

/*
 * A duration param into *out: absent, def; "0", 0 when zero_ok; else a
 * duration from min to max ms.  0, or -1 for anything else.
 */
static int duration_param(const json_t *params, const char *key, int64_t def,
    bool zero_ok, int64_t min, int64_t max, int64_t *out)
{
	const char *s = json_string_value(json_object_get(params, key));

	*out = def;
	if (s == NULL)
		return 0;
	if (zero_ok && strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (duration_parse_ms(s, out) != 0 || *out < min || *out > max)
		return -1;
	return 0;
}

int repair_segment_timeout_ms(const json_t *params, int64_t *out)
{
	return duration_param(params, "segment_timeout", 0, false, 1000,
	    DOWN_DEADLINE_MAX_MS, out);
}

int repair_retry_backoff_ms(const json_t *params, int64_t *out)
{
	return duration_param(params, "retry_backoff", REPAIR_RETRY_BACKOFF_MS,
	    true, 0, 3600LL * 1000, out);
}

/* The rules of retry_backoff and resume (beside the table's). */
static int retry_resume_validate(const json_t *params, char *err,
    size_t errlen)
{
	const char *resume = json_string_value(json_object_get(params,
	    "resume"));
	bool sched = json_integer_value(json_object_get(params,
	    "parallelism")) != 1;
	int64_t ms;

	if (repair_retry_backoff_ms(params, &ms) != 0) {
		snprintf(err, errlen, "params.retry_backoff '%s' is not a "
		    "duration up to 1h (\"5s\", \"90s\"; \"0\": retry at "
		    "once)", json_string_value(json_object_get(params,
		    "retry_backoff")));
		return -1;
	}
	if (!sched && json_object_get(params, "retry_backoff") != NULL) {
		snprintf(err, errlen, "params.retry_backoff needs the segment "
		    "scheduler: give params.parallelism 0 (as many as the "
		    "replica sets allow) or more than 1, with params.keyspace");
		return -1;
	}
	if (resume != NULL && strncmp(resume, "t-", 2) != 0) {
		snprintf(err, errlen, "params.resume '%s' is not a task id "
		    "(\"t-…\": the id of the repair to resume)", resume);
		return -1;
	}
	if (resume != NULL && !sched) {
		snprintf(err, errlen, "params.resume resumes the segment "
		    "scheduler: params.parallelism 1 cannot (leave it out to "
		    "take the resumed task's)");
		return -1;
	}
	return 0;
}

int repair_down_deadline_ms(const json_t *params, int64_t *out)
{
	return duration_param(params, "down_deadline", 6LL * 3600 * 1000, true,
	    0, DOWN_DEADLINE_MAX_MS, out);
}

/* What the table cannot say (params_check() ran before). */
static int repair_validate(json_t *params, char *err, size_t errlen)
{
	int64_t ms;

	if (json_object_get(params, "table") != NULL &&
	    json_object_get(params, "keyspace") == NULL) {
		snprintf(err, errlen, "params.table needs params.keyspace");
		return -1;
	}
	if (json_integer_value(json_object_get(params, "parallelism")) == 1 &&
	    (json_object_get(params, "max_pending_compactions") != NULL ||
	    json_object_get(params, "segment_timeout") != NULL)) {
		snprintf(err, errlen, "params.%s needs the segment scheduler: "
		    "give params.parallelism 0 (as many as the replica sets "
		    "allow, the default) or more than 1",
		    json_object_get(params, "segment_timeout") != NULL ?
		    "segment_timeout" : "max_pending_compactions");
		return -1;
	}
	if (repair_segment_timeout_ms(params, &ms) != 0) {
		snprintf(err, errlen, "params.segment_timeout '%s' is not a "
		    "duration from 1s to 11h (\"90s\", \"30m\", \"2h\")",
		    json_string_value(json_object_get(params, "segment_timeout")));
		return -1;
	}
	if (repair_down_deadline_ms(params, &ms) != 0) {
		snprintf(err, errlen, "params.down_deadline '%s' is not a duration "
		    "up to 11h (\"90s\", \"30m\", \"6h\"; \"0\": do not postpone)",
		    json_string_value(json_object_get(params, "down_deadline")));
		return -1;
	}
	if (json_object_get(params, "datacenter") != NULL &&
	    json_integer_value(json_object_get(params, "parallelism")) == 1) {
		/* 4.1: "Primary range repair should be performed on all
		 * nodes in the cluster." for -pr with -dc */
		snprintf(err, errlen, "params.datacenter needs the segment "
		    "scheduler: Cassandra refuses -dc with the primary-range "
		    "repair the per-node steps run; give params.parallelism 0 "
		    "or more than 1 with params.keyspace, or params.local_dc "
		    "true to repair every dc within itself");
		return -1;
	}
	if (json_is_true(json_object_get(params, "local_dc")) &&
	    json_integer_value(json_object_get(params, "parallelism")) != 1) {
		snprintf(err, errlen, "params.local_dc needs parallelism 1: the "
		    "scheduler coordinates a segment on any of its replicas, so "
		    "\"local\" would change from one segment to the next; name "
		    "the dcs with params.datacenter");
		return -1;
	}
	if (json_is_true(json_object_get(params, "local_dc")) &&
	    json_integer_value(json_object_get(params, "segments_per_node")) > 1) {
		/* -pr --in-local-dc takes each node's primary ranges within
		 * its dc; segments are cut from the ring-wide ones, which
		 * would leave the ranges whose primary is in another dc */
		snprintf(err, errlen, "params.local_dc needs segments_per_node "
		    "1: segments are cut from each node's ring-wide primary "
		    "ranges, and within one dc those leave out the ranges whose "
		    "primary replica is in another dc");
		return -1;
	}
	if (repair_win_validate(params, err, errlen) != 0)
		return -1;
	return retry_resume_validate(params, err, errlen);
}

int repair_endpoint_down(const char *msg, char *addr, size_t len)
{
	static const char mark[] = "Endpoint not alive: ";
	const char *p = msg ? strstr(msg, mark) : NULL, *e;
	size_t n;

	if (len > 0)
		addr[0] = '\0';
	if (p == NULL)
		return -1;
	p += sizeof(mark) - 1;
	/* InetAddressAndPort prints "[host]/addr:port" (4.x) or "/addr"
	 * (3.x); an IPv6 address with a port is bracketed. */
	e = p + strcspn(p, " ;,\n");
	if ((p = memchr(p, '/', (size_t)(e - p))) == NULL)
		return -1;
	p++;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(e - p));
		if (rb == NULL)
			return -1;
		p++;
		n = (size_t)(rb - p);
	} else {
		const char *c1 = memchr(p, ':', (size_t)(e - p));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(e - c1 - 1)) :
		    NULL;
		/* one colon: IPv4 and its port; several: IPv6 without one */
		n = c1 != NULL && c2 == NULL ? (size_t)(c1 - p) : (size_t)(e - p);
	}
	if (n == 0 || n >= len || n >= 64)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!(isxdigit((unsigned char)p[i]) || p[i] == '.' || p[i] == ':'))
			return -1;
	memcpy(addr, p, n);
	addr[n] = '\0';
	return 0;
}

int repair_validate_params(json_t *params, char *err, size_t errlen)
{
	if (params_check(repair_params, "repair", params, err, errlen) != 0)
		return -1;
	return repair_validate(params, err, errlen);
}

int repair_step_segment(const char *name, int *seg, int *nseg)
{
	int n = 0;

	*seg = *nseg = 0;
	if (name == NULL)
		return -1;
	if (strcmp(name, "repair") == 0)
		return 0;
	if (sscanf(name, "repair segment %d/%d%n", seg, nseg, &n) != 2 ||
	    name[n] != '\0' || *nseg < 1 || *nseg > MAX_SEGMENTS ||
	    *seg < 1 || *seg > *nseg) {
		*seg = *nseg = 0;
		return -1;
	}
	return 0;
}

/* A node of the cluster on Cassandra 3.x, or NULL. */
static const char *v3_node(const struct store_nodes *nodes, const char **ver)
{
	for (size_t i = 0; i < nodes->n; i++) {
		const char *v = nodes->items[i].version;

		if (v != NULL && strncmp(v, "3.", 2) == 0) {
			*ver = v;
			return nodes->items[i].address;
		}
	}
	return NULL;
}

/*
 * The scheduled step (0) or the per-node steps (1); -1 with err.  The
 * scheduler needs every keyspace's replication, which nodetool
 * describecluster lists from 4.0 on only: on a cluster with a 3.x node
 * parallelism 0 ("as many as the cluster allows") is one at a time, the
 * per-node steps, and each of those steps says why; N > 1 asked for more
 * than 3.x can give and runs the scheduler, whose repair-ring fails with
 * what to do.  Decided from the versions the agents reported.
 */
static int repair_plan_mode(const json_t *params,
    const struct store_nodes *nodes, char *err, size_t errlen)
{
	json_int_t par = json_integer_value(json_object_get(params,
	    "parallelism"));
	const char *ver = NULL, *n3;

	if (par == 1)
		return 1;
	if (par > 1 || (n3 = v3_node(nodes, &ver)) == NULL)
		return 0;
	if (json_object_get(params, "max_pending_compactions") != NULL ||
	    json_object_get(params, "segment_timeout") != NULL) {
		snprintf(err, errlen, "params.%s needs the segment scheduler, "
		    "which cannot run on Cassandra 3.x (node %s runs %s: its "
		    "nodetool describecluster lists no replication); leave it "
		    "out, or upgrade the cluster first",
		    json_object_get(params, "segment_timeout") != NULL ?
		    "segment_timeout" : "max_pending_compactions", n3, ver);
		return -1;
	}
	return 1;
}

static int repair_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	int nseg = (int)json_integer_value(json_object_get(params,
	    "segments_per_node"));
	int64_t deadline;

	if (nodes->n == 0) {
		snprintf(err, errlen, "the cluster has no nodes yet: agents add "
		    "them when they check in");
		return -1;
	}
	if (nseg < 1)
		nseg = 1;
	switch (repair_plan_mode(params, nodes, err, errlen)) {
	case -1:
		return -1;
	case 0:
		task_plan_add(plan, REPAIR_PAR_STEP, NULL);
		return 0;
	default:
		break;
	}
	for (int s = 1; s <= nseg; s++) {
		char name[64];

		if (nseg == 1)
			snprintf(name, sizeof(name), "repair");
		else
			snprintf(name, sizeof(name), "repair segment %d/%d", s, nseg);
		for (size_t i = 0; i < nodes->n; i++)
			task_plan_add(plan, name, nodes->items[i].address);
	}
	if (repair_down_deadline_ms(params, &deadline) == 0 && deadline > 0)
		task_plan_add(plan, POSTPONED_STEP, NULL);
	return 0;
}

/* The agent's arguments: names were checked by validate. */
static char *op_args(const json_t *params, int seg, int nseg)
{
	const char *ks = json_string_value(json_object_get(params, "keyspace"));
	const json_t *tb = json_object_get(params, "table");
	bool full = !json_is_false(json_object_get(params, "full"));
	char *s = xasprintf("repair %s", full ? "--full" : "--incremental"), *t;
	size_t i;
	json_t *v;

	if (ks != NULL) {
		t = xasprintf("%s --keyspace %s", s, ks);
		free(s);
		s = t;
	}
	if (json_is_string(tb)) {
		t = xasprintf("%s --table %s", s, json_string_value(tb));
		free(s);
		s = t;
	}
	json_array_foreach(tb, i, v) {
		t = xasprintf("%s --table %s", s, json_string_value(v));
		free(s);
		s = t;
	}
	if (json_is_true(json_object_get(params, "local_dc"))) {
		t = xasprintf("%s --in-local-dc", s);
		free(s);
		s = t;
	}
	if (nseg > 0) {
		t = xasprintf("%s --segment %d/%d", s, seg, nseg);
		free(s);
		s = t;
	}
	return s;
}

/* "ks1 ks2" of a JSON array of strings (caller frees). */
static char *words(const json_t *arr)
{
	char *s = xstrdup(""), *t;
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			continue;
		t = xasprintf("%s%s%s", s, *s ? " " : "", json_string_value(v));
		free(s);
		s = t;
	}
	return s;
}

/*
 * The step's closing message, from the agent's result data.  The data
 * comes from another program (maybe an older agent), so every field is
 * optional.  "nothing to do" only when the agent saw no repair at all: a
 * repair that ran is never reported as 0 sessions, because missed JMX
 * notifications can hide session lines (docs/repair.md).
 */
char *repair_summary(const json_t *d, int seg, int nseg)
{
	const json_t *ranges = json_object_get(d, "ranges");
	const json_t *ex = json_object_get(d, "sessions_exact");
	char *rep = words(json_object_get(d, "repaired"));
	char *nn = words(json_object_get(d, "not_needed"));
	char *head, *out, *rs = xstrdup(""), *t, *what, *count;
	json_int_t commands = json_integer_value(json_object_get(d, "commands"));
	json_int_t sessions = json_integer_value(json_object_get(d, "sessions"));
	size_t i;
	json_t *r;

	json_array_foreach(ranges, i, r) {
		const char *a = json_string_value(json_object_get(r, "start"));
		const char *b = json_string_value(json_object_get(r, "end"));
		t = xasprintf("%s%s(%s,%s]", rs, i ? " " : "", a ? a : "?",
		    b ? b : "?");
		free(rs);
		rs = t;
	}
	if (nseg > 0)
		head = xasprintf("segment %d/%d ranges %s: ", seg, nseg,
		    json_array_size(ranges) ? rs : "(none)");
	else
		head = xstrdup("");
	if (commands <= 0 && sessions <= 0 && *rep == '\0') {
		out = xasprintf("%snothing to do%s%s%s", head, *nn ?
		    ": replication factor 1, no repair is needed for " : "",
		    nn, *nn ? "" : ": no keyspace to repair");
		goto done;
	}
	what = *rep ? xstrdup(rep) : xstrdup("(keyspace not printed by "
	    "nodetool)");
	if (sessions <= 0)
		count = xasprintf("%lld command%s, sessions not printed by "
		    "nodetool", (long long)(commands > 0 ? commands : 1),
		    commands > 1 ? "s" : "");
	else if (json_is_false(ex))
		count = xasprintf("at least %lld session%s (nodetool missed "
		    "some progress notifications)", (long long)sessions,
		    sessions > 1 ? "s" : "");
	else
		count = xasprintf("%lld session%s", (long long)sessions,
		    sessions > 1 ? "s" : "");
	out = xasprintf("%srepaired %s: %s%s%s%s", head, what, count,
	    *nn ? "; nothing to do for " : "", nn, *nn ? " (RF 1)" : "");
	free(what);
	free(count);
done:
	free(head);
	free(rs);
	free(rep);
	free(nn);
	return out;
}

static bool last_step(struct task_ctx *ctx, const struct store_step *step)
{
	int seg, nseg;

	/* segment-major: the last segment's steps end the task */
	(void)ctx;
	if (repair_step_segment(step->name, &seg, &nseg) != 0)
		return true;
	return seg == nseg;
}

/* What a segment's step keeps between its calls (it is re-entrant: it
 * waits for the node job, then rests, without holding a worker). */
struct segmemo {
	int64_t t0;			/* mono ms of the segment's start */
	bool started;			/* its job was started (window open) */
	bool repaired;
	int64_t rest_until;		/* mono ms */
	char *msg;
};

static void segmemo_release(void *p)
{
	struct segmemo *m = p;

	free(m->msg);
	free(m);
}

/* The node's state in the store ("" unknown), into out. */
static void node_state(struct task_ctx *ctx, const char *addr, char *out,
    size_t len)
{
	struct store_node_row r;

	out[0] = '\0';
	memset(&r, 0, sizeof(r));
	if (store_node_get(task_ctx_store(ctx), task_ctx_cluster(ctx), addr,
	    &r) == 0 && r.state != NULL)
		str_copy(out, r.state, len);
	store_node_row_release(&r);
}

static bool node_is_up(struct task_ctx *ctx, const char *addr)
{
	char st[32];

	node_state(ctx, addr, st, sizeof(st));
	return strcmp(st, "up") == 0;
}

/* Parked until a maintenance window opens; a cancel or pause wakes the
 * step at once, and it stops: nothing of the segment ran. */
static int window_wait(struct task_ctx *ctx, int64_t wait_ms, char *err,
    size_t errlen)
{
	if (task_checkpoint(ctx)) {
		snprintf(err, errlen, "stopped while waiting for a maintenance "
		    "window");
		return TASK_STEP_STOP;
	}
	return task_wait(ctx, wait_ms);
}

/* ---- the postponed segments (the last step) ----
 *
 * A segment whose node is not up, or whose repair Cassandra refused
 * because a replica is not alive, is not failed: its step succeeds with
 * a message naming the node it waits for (POSTPONED_PREFIX), and the
 * task goes on.  The last step reads those messages from the store, so
 * it finds them after a restart too, and runs each segment once the
 * nodes it waits for are up again, one at a time, parked (no worker
 * held) in between.  Whatever has not come back down_deadline after the
 * step began is named in its message: the task ends partial.
 */
struct ppseg {
	char *name, *node, *wait_for;
	bool done, started;
};

struct ppmemo {
	struct ppseg *v;
	size_t n;
	int64_t deadline;		/* wall ms */
	int running;			/* index, or -1 */
};

static void ppmemo_release(void *p)
{
	struct ppmemo *m = p;

	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].node);
		free(m->v[i].wait_for);
	}
	free(m->v);
	free(m);
}

int repair_postponed_wait_for(const char *msg, char *addr, size_t len)
{
	size_t n;

	if (len > 0)
		addr[0] = '\0';
	if (msg == NULL || strncmp(msg, POSTPONED_PREFIX,
	    sizeof(POSTPONED_PREFIX) - 1) != 0)
		return -1;
	msg += sizeof(POSTPONED_PREFIX) - 1;
	n = strcspn(msg, " ");
	if (n == 0 || n >= len)
		return -1;
	memcpy(addr, msg, n);
	addr[n] = '\0';
	return 0;
}

static struct ppmemo *pp_load(struct task_ctx *ctx,
    const struct store_step *step, int64_t down_ms, char *err, size_t errlen)
{
	struct store_task *t = store_task_load(task_ctx_store(ctx),
	    task_ctx_id(ctx));
	struct ppmemo *m;
	char who[80];

	if (t == NULL) {
		snprintf(err, errlen, "cannot read task %s from the store: see "
		    "the ringmaster log", task_ctx_id(ctx));
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->v = xcalloc(t->nsteps + 1, sizeof(*m->v));
	m->running = -1;
	m->deadline = (step->started_at > 0 ? step->started_at :
	    time_wall_ms()) + down_ms;
	for (size_t i = 0; i < t->nsteps; i++) {
		const struct store_step *s = &t->steps[i];
		if (s->idx == step->idx || s->node == NULL ||
		    repair_postponed_wait_for(s->message, who, sizeof(who)) != 0)
			continue;
		m->v[m->n].name = xstrdup(s->name);
		m->v[m->n].node = xstrdup(s->node);
		m->v[m->n].wait_for = xstrdup(who);
		m->n++;
	}
	store_task_free(t);
	task_memo_put(ctx, "postponed", m, ppmemo_release, NULL);
	return m;
}

/* "repair segment 1/4 on 10.0.0.1 (waiting for 10.0.0.2), ..." of the
 * segments not done (caller frees). */
static char *pp_names(const struct ppmemo *m)
{
	char *s = xstrdup(""), *t;

	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].done)
			continue;
		t = xasprintf("%s%s%s on %s (waiting for %s)", s, *s ? ", " : "",
		    m->v[i].name, m->v[i].node, m->v[i].wait_for);
		free(s);
		s = t;
	}
	return s;
}

static int run_postponed(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	const json_t *params = task_ctx_params(ctx);
	struct ppmemo *m = task_memo(ctx, "postponed");
	int64_t down_ms, now;
	size_t left = 0;
	char *names;

	if (repair_down_deadline_ms(params, &down_ms) != 0) {
		snprintf(err, errlen, "params.down_deadline is not a duration");
		return TASK_STEP_FATAL;
	}
	if (m == NULL && (m = pp_load(ctx, step, down_ms, err, errlen)) == NULL)
		return TASK_STEP_FAIL;
	if (m->n == 0) {
		task_progress(ctx, "no segment was postponed: every node was up");
		return TASK_STEP_OK;
	}
	for (size_t i = 0; i < m->n; i++) {
		struct ppseg *g = &m->v[i];
		int seg, nseg, rc;
		json_t *d = NULL;
		char *args, *sum;

		if (g->done)
			continue;
		if (m->running >= 0 && m->running != (int)i) {
			left++;
			continue;
		}
		if (!g->started && (!node_is_up(ctx, g->node) ||
		    !node_is_up(ctx, g->wait_for))) {
			left++;
			continue;
		}
		if (task_checkpoint(ctx)) {
			snprintf(err, errlen, "stopped");
			return TASK_STEP_STOP;
		}
		if (repair_step_segment(g->name, &seg, &nseg) != 0) {
			g->done = true;		/* not ours: nothing to run */
			continue;
		}
		if (!g->started) {
			int64_t wait_ms;

			rc = repair_win_check(ctx, &wait_ms, err, errlen);
			if (rc < 0)
				return TASK_STEP_FATAL;
			if (rc == 0)
				return window_wait(ctx, wait_ms, err, errlen);
		}
		g->started = true;
		m->running = (int)i;
		args = op_args(params, seg, nseg);
		rc = nodeops_agent(ctx, g->node, args, NULL, 0, &d, NULL, err,
		    errlen);
		free(args);
		if (rc == TASK_STEP_WAIT) {
			json_decref(d);
			return rc;
		}
		m->running = -1;
		if (rc != TASK_STEP_OK) {
			/* Up in the store but not yet in Cassandra's gossip: a
			 * new attempt asks again (a job is run once per attempt). */
			json_decref(d);
			return rc;
		}
		g->done = true;
		sum = repair_summary(d, seg, nseg);
		json_decref(d);
		task_progress(ctx, "%s on %s (postponed, %s back): %s", g->name,
		    g->node, g->wait_for, sum);
		free(sum);
	}
	now = time_wall_ms();
	if (left == 0) {
		task_progress(ctx, "all %zu postponed segments repaired once their "
		    "nodes were back", m->n);
		return TASK_STEP_OK;
	}
	names = pp_names(m);
	if (now >= m->deadline) {
		/* Not a failure: what could run ran; the rest is named. */
		task_progress(ctx, "partial: %zu of %zu postponed segments not "
		    "repaired, their nodes were not back within down_deadline "
		    "(%s): %s; run a repair again once they are up", left, m->n,
		    json_string_value(json_object_get(params, "down_deadline")),
		    names);
		task_partial(ctx, "%zu of %zu postponed segments not repaired, "
		    "their nodes were not back within down_deadline (%s): %s; "
		    "run a repair again once they are up", left, m->n,
		    json_string_value(json_object_get(params, "down_deadline")),
		    names);
		free(names);
		return TASK_STEP_OK;
	}
	task_progress(ctx, "%zu postponed segments wait for their nodes "
	    "(%lld s left of down_deadline): %s", left,
	    (long long)((m->deadline - now) / 1000), names);
	free(names);
	return task_wait(ctx, m->deadline - now < POSTPONED_POLL_MS ?
	    m->deadline - now : POSTPONED_POLL_MS);
}

static int repair_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	const json_t *params = task_ctx_params(ctx);
	double intensity = json_is_number(json_object_get(params, "intensity")) ?
	    json_number_value(json_object_get(params, "intensity")) : 1.0;
	struct segmemo *m = task_memo(ctx, "repair");
	int seg, nseg, rc, ex;
	int64_t took, pause, now;
	json_t *d = NULL;
	char *args;

	int64_t down_ms = 0;
	char who[80], st[32];

	if (strcmp(step->name, POSTPONED_STEP) == 0)
		return run_postponed(ctx, step, err, errlen);
	/* Before anything is repaired: not where Cassandra repairs by
	 * itself (CEP-37), unless forced (repair_auto.h). */
	if (step->idx == 0 && (rc = repair_auto_gate(ctx, err, errlen)) !=
	    TASK_STEP_OK)
		return rc;
	if (strcmp(step->name, REPAIR_PAR_STEP) == 0)
		return repair_par_run(ctx, step, err, errlen);
	if (repair_step_segment(step->name, &seg, &nseg) != 0) {
		snprintf(err, errlen, "step '%s' is not a repair step", step->name);
		return TASK_STEP_FATAL;
	}
	repair_down_deadline_ms(params, &down_ms);
	if (m == NULL) {
		m = xcalloc(1, sizeof(*m));
		m->t0 = time_mono_ms();
		task_memo_put(ctx, "repair", m, segmemo_release, NULL);
		if (json_integer_value(json_object_get(params, "parallelism")) ==
		    0)
			task_progress(ctx, "parallelism 0 on Cassandra 3.x: per-node "
			    "steps, one segment at a time (3.x's nodetool "
			    "describecluster lists no replication, which the "
			    "segment scheduler needs)");
		/* Its own node down: nothing to ask it, postpone. */
		node_state(ctx, step->node, st, sizeof(st));
		if (down_ms > 0 && strcmp(st, "up") != 0) {
			task_progress(ctx, POSTPONED_PREFIX "%s (%s): it runs "
			    "when the node is back", step->node, st[0] ? st :
			    "unknown");
			return TASK_STEP_OK;
		}
	}
	if (!m->repaired && !m->started) {
		int64_t wait_ms;

		/* maintenance windows: a segment starts only inside one */
		rc = repair_win_check(ctx, &wait_ms, err, errlen);
		if (rc < 0)
			return TASK_STEP_FATAL;
		if (rc == 0)
			return window_wait(ctx, wait_ms, err, errlen);
		m->started = true;
		m->t0 = time_mono_ms();
	}
	if (!m->repaired) {
		args = op_args(params, seg, nseg);
		rc = nodeops_agent(ctx, step->node, args, NULL, 0, &d, &ex, err,
		    errlen);
		free(args);
		if (rc != TASK_STEP_OK && rc != TASK_STEP_WAIT && rc !=
		    TASK_STEP_STOP && down_ms > 0 &&
		    repair_endpoint_down(err, who, sizeof(who)) == 0) {
			/* Cassandra refused: a replica is not alive.  The
			 * segment waits for it instead of failing the task. */
			json_decref(d);
			task_progress(ctx, POSTPONED_PREFIX "%s (a replica Cassandra "
			    "sees down: %.200s): it runs when the node is back",
			    who, err);
			err[0] = '\0';
			return TASK_STEP_OK;
		}
		if (rc != TASK_STEP_OK) {
			json_decref(d);
			return rc;	/* WAIT included: the job runs on */
		}
		m->repaired = true;
		now = time_mono_ms();
		took = now - m->t0;
		m->msg = repair_summary(d, seg, nseg);
		if (json_integer_value(json_object_get(params, "parallelism")) ==
		    0) {
			char *t = xasprintf("%s (parallelism 0 on Cassandra 3.x: "
			    "per-node steps)", m->msg);
			free(m->msg);
			m->msg = t;
		}
		json_decref(d);
		if (repair_auto_warning(ctx) != NULL) {
			/* appended: "partial: " and "postponed: " lead */
			char *w = xasprintf("%s; %s", m->msg,
			    repair_auto_warning(ctx));
			free(m->msg);
			m->msg = w;
		}
		/* intensity: rest in proportion to the work, within the
		 * deadline */
		pause = intensity < 1.0 && !last_step(ctx, step) ?
		    (int64_t)((double)took * (1.0 - intensity) / intensity) : 0;
		if (pause > task_ctx_deadline_left(ctx) - 1000)
			pause = task_ctx_deadline_left(ctx) - 1000;
		if (pause < SUMMARY_GAP_MS)
			pause = SUMMARY_GAP_MS;
		if (pause > SUMMARY_GAP_MS)
			task_progress(ctx, "%s; resting %lld ms (intensity %g)",
			    m->msg, (long long)pause, intensity);
		m->rest_until = now + pause;
	}
	/* cancelled or paused while resting: the segment is still done */
	now = time_mono_ms();
	if (now < m->rest_until && !task_checkpoint(ctx))
		return task_wait(ctx, m->rest_until - now);
	task_progress(ctx, "%s", m->msg);
	return TASK_STEP_OK;
}

const struct task_type repair_type = {
	.name = "repair",
	.description = "anti-entropy repair of one or every keyspace: "
	    "segments along the ring, as many at once as disjoint replica "
	    "sets allow, or node by node; resumable",
	.steps = "one cluster step, the segment scheduler (parallelism 0 or "
	    "N > 1); or one step per node per segment (parallelism 1, and 0 "
	    "on Cassandra 3.x)",
	.params = repair_params,
	.validate = repair_validate,
	.plan = repair_plan,
	.run = repair_run,
	.max_attempts = 3,
	.backoff_base_ms = 1000,
	.backoff_max_ms = 30000,
	.step_deadline_ms = 12LL * 3600 * 1000,
};

