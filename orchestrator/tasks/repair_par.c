/*
 * repair_par.c - see repair_par.h.  The design in one paragraph: the
 * scheduler (segsched.c) is pure state; this step is its driver.  Every
 * call of the step polls the running segments' node jobs, feeds what
 * ended back (done, failed, or postponed when Cassandra says a replica is
 * not alive), refreshes which endpoints are down from the nodes' states in
 * the store, asks the scheduler what may start and starts those jobs, then
 * parks for a poll interval.  Nothing here waits for a node.  A segment
 * runs on one of its replicas (seg_node), so the node that coordinates the
 * repair is always one the scheduler reserved.  A job's id is a hash of its arguments
 * within the step's attempt, so each start of a segment carries its own
 * try number (--try): a second start is a new job, not the old result.
 */
#include "repair_par.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/strbuf.h"
#include "../../common/opexit.h"
#include "../../common/util.h"
#include "../engine/task.h"
#include "../nodes/nodeops.h"
#include "../store/store.h"
#include "repair.h"
#include "repair_auto.h"
#include "repair_dc.h"
#include "repair_ring.h"
#include "repair_resume.h"
#include "repair_win.h"
#include "segsched.h"

/* How often the step looks at its jobs and the nodes' states. */
#define POLL_MS			2000
/* How long an endpoint that Cassandra called not alive is taken as down
 * while the orchestrator still sees it up (gossip lags behind). */
#define CASS_DOWN_MS		5000
/* How often a replica's pending compactions are read again
 * (max_pending_compactions): one `ringagent health` job each. */
#define COMPACTIONS_EVERY_MS	5000
/* A segment split this many times is not split again after a timeout:
 * it fails the attempt instead (a node that is slow for everything). */
#define MAX_SPLIT_DEPTH		4
/* Scheduling rounds in one call of the step when jobs end at once. */
#define START_ROUNDS		64
#define MAX_PIECES		1024
#define MAX_SEGS		(64 * 1024)

struct rpmemo {
	struct replicas_map *map;
	struct segsched *s;
	char **node_of;			/* endpoint -> the orchestrator's node
					 * address, or NULL when unknown */
	int64_t *cass_down_until;	/* per endpoint, mono ms */
	/* per segment id, grown with segsched_count() */
	unsigned *tries;
	int64_t *t0;			/* mono ms of its last start */
	int64_t *took;			/* ms of its successful run */
	int *shown;			/* the state its record shows, -1 none */
	size_t cap;
	int64_t rest_until;		/* intensity: mono ms */
	int64_t deadline;		/* wall ms: down_deadline */
	int64_t started;		/* mono ms of the first call */
	/* per endpoint, max_pending_compactions: the check's nonce while
	 * one runs (0: none), when the next is due, what it said */
	int64_t *pc_nonce, *pc_next;
	bool *pc_known, *pc_busy;
	unsigned postponements, timeouts, splits;
	unsigned max_running;		/* the most seen at once */
	char ring_node[80];
	/* the keyspaces repaired (one, or every one nodetool repair
	 * without a keyspace repairs) and each planned segment's one;
	 * a split's halves take their first ancestor's (seg_ks) */
	char **ks;
	size_t nks, nplanned;
	size_t *ks_of;
	char *rf1;			/* "ks1 ks2": RF 1, nothing to repair */
};

static void rpmemo_release(void *p)
{
	struct rpmemo *m = p;

	if (m == NULL)
		return;
	/* node_of is NULL when the setup stopped before it (a refused dc, a
	 * resume that could not be read) */
	for (size_t i = 0; m->map != NULL && m->node_of != NULL &&
	    i < m->map->nendpoints; i++)
		free(m->node_of[i]);
	free(m->node_of);
	free(m->cass_down_until);
	free(m->pc_nonce);
	free(m->pc_next);
	free(m->pc_known);
	free(m->pc_busy);
	free(m->tries);
	free(m->t0);
	free(m->took);
	free(m->shown);
	for (size_t i = 0; i < m->nks; i++)
		free(m->ks[i]);
	free(m->ks);
	free(m->ks_of);
	free(m->rf1);
	segsched_free(m->s);
	replicas_free(m->map);
	free(m);
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The keyspace of a segment: a split's halves are newer ids than the
 * plan; they repair what their first ancestor was planned for. */
static const char *seg_ks(const struct rpmemo *m, const struct segsched_seg *g)
{
	for (int depth = 0; g != NULL && g->id >= m->nplanned && depth < 64;
	    depth++)
		g = g->parent == SIZE_MAX ? NULL : segsched_get(m->s, g->parent);
	return g != NULL && g->id < m->nplanned ? m->ks[m->ks_of[g->id]] :
	    m->ks[0];
}

static void grow(struct rpmemo *m)
{
	size_t n = segsched_count(m->s);

	if (n <= m->cap)
		return;
	n = n * 2 + 16;
	m->tries = xrealloc(m->tries, n * sizeof(*m->tries));
	m->t0 = xrealloc(m->t0, n * sizeof(*m->t0));
	m->took = xrealloc(m->took, n * sizeof(*m->took));
	m->shown = xrealloc(m->shown, n * sizeof(*m->shown));
	for (size_t i = m->cap; i < n; i++)
		m->shown[i] = -1;
	memset(m->tries + m->cap, 0, (n - m->cap) * sizeof(*m->tries));
	memset(m->t0 + m->cap, 0, (n - m->cap) * sizeof(*m->t0));
	memset(m->took + m->cap, 0, (n - m->cap) * sizeof(*m->took));
	m->cap = n;
}

/*
 * The node a segment's current try runs on: its replicas the orchestrator
 * knows, in Cassandra's order (the primary first), taken in turn from one
 * try to the next, so a retry is coordinated by another replica (a node
 * whose own repairs fail does not fail the segment for good).  Every
 * replica of the segment is reserved for it while it runs, so any of them
 * may coordinate.  The same try gives the same node, after a restart too.
 */
static const char *seg_node(const struct rpmemo *m,
    const struct segsched_seg *g)
{
	size_t known = 0, pick;
	unsigned t = g->id < m->cap && m->tries[g->id] > 0 ?
	    m->tries[g->id] : 1;

	for (size_t i = 0; i < g->nendpoints; i++)
		if (m->node_of[g->endpoints[i]] != NULL)
			known++;
	if (known == 0)
		return NULL;
	pick = (size_t)(t - 1) % known;
	for (size_t i = 0; i < g->nendpoints; i++)
		if (m->node_of[g->endpoints[i]] != NULL && pick-- == 0)
			return m->node_of[g->endpoints[i]];
	return NULL;
}

/* The agent's arguments of a segment's current try (caller frees). */
static char *seg_args(const json_t *params, const char *ks,
    const struct segsched_seg *g, unsigned try_no)
{
	const json_t *tb = json_object_get(params, "table");
	bool full = !json_is_false(json_object_get(params, "full"));
	struct strbuf b;
	size_t i;
	json_t *v;

	memset(&b, 0, sizeof(b));
	strbuf_addf(&b, "repair %s --keyspace %s", full ? "--full" :
	    "--incremental", ks);
	if (json_is_string(tb))
		strbuf_addf(&b, " --table %s", json_string_value(tb));
	json_array_foreach(tb, i, v)
		strbuf_addf(&b, " --table %s", json_string_value(v));
	{
		const char *dcs[REPAIR_DC_MAX];
		size_t ndcs = repair_dc_names(params, dcs, REPAIR_DC_MAX);
		for (i = 0; i < ndcs; i++)
			strbuf_addf(&b, " --dc %s", dcs[i]);
	}
	for (i = 0; i < g->nranges; i++)
		strbuf_addf(&b, " --range %lld:%lld", (long long)g->ranges[i].start,
		    (long long)g->ranges[i].end);
	strbuf_addf(&b, " --try %u", try_no);
	return strbuf_detach(&b);
}

static char *seg_ranges(const struct segsched_seg *g)
{
	struct strbuf b;

	memset(&b, 0, sizeof(b));
	for (size_t i = 0; i < g->nranges; i++)
		strbuf_addf(&b, "%s(%lld,%lld]", i ? " " : "",
		    (long long)g->ranges[i].start, (long long)g->ranges[i].end);
	return strbuf_detach(&b);
}

static char *seg_replicas(const struct rpmemo *m,
    const struct segsched_seg *g)
{
	struct strbuf b;

	memset(&b, 0, sizeof(b));
	for (size_t i = 0; i < g->nendpoints; i++)
		strbuf_addf(&b, "%s%s", i ? "," : "",
		    m->map->endpoints[g->endpoints[i]].endpoint);
	return strbuf_detach(&b);
}

/*
 * Per-segment progress: one record per segment in the step's "nodes"
 * (named "segment N", so `ringsh watch` draws a line per segment): its
 * ranges, replicas and the node that runs it as the phase, its state, and
 * what happened with how long it took as the message.
 */
static const char *const state_names[] = {
	[SEGSCHED_PENDING] = "pending", [SEGSCHED_RUNNING] = "running",
	[SEGSCHED_DONE] = "done", [SEGSCHED_FAILED] = "failed",
	[SEGSCHED_POSTPONED] = "postponed", [SEGSCHED_SPLIT] = "split",
};

static void seg_show(struct task_ctx *ctx, struct rpmemo *m,
    const struct segsched_seg *g, const char *msg)
{
	struct task_node_progress np = TASK_NODE_PROGRESS_KEEP;
	const char *node = seg_node(m, g);
	char *rs, *reps, *phase, *text, name[40];

	snprintf(name, sizeof(name), "segment %zu", g->id + 1);
	rs = seg_ranges(g);
	reps = seg_replicas(m, g);
	phase = xasprintf("ranges %s replicas %s keyspace %s on %s", rs, reps,
	    seg_ks(m, g), node ? node : "(no known replica)");
	if (g->state != SEGSCHED_RUNNING && g->state != SEGSCHED_POSTPONED &&
	    g->state != SEGSCHED_PENDING && g->id < m->cap && m->t0[g->id] > 0)
		text = xasprintf("%s after %lld ms", msg, (long long)(
		    time_mono_ms() - m->t0[g->id]));
	else
		text = xstrdup(msg);
	np.phase = phase;
	np.state = state_names[g->state];
	np.message = text;
	task_node_progress(ctx, name, &np);
	if (g->id < m->cap) {
		if (g->state == SEGSCHED_POSTPONED &&
		    m->shown[g->id] != (int)SEGSCHED_POSTPONED)
			m->postponements++;
		m->shown[g->id] = (int)g->state;
	}
	free(phase);
	free(text);
	free(rs);
	free(reps);
}

/* Records for what changed without a message of its own: postponed by
 * the scheduler, back to pending, split.  final: every segment gets one,
 * so the records name every range not repaired (repair_hist.c). */
static void seg_show_changes(struct task_ctx *ctx, struct rpmemo *m,
    bool final)
{
	size_t n = segsched_count(m->s);

	grow(m);
	for (size_t id = 0; id < n; id++) {
		const struct segsched_seg *g = segsched_get(m->s, id);

		if (m->shown[id] == (int)g->state)
			continue;
		if (m->shown[id] < 0 && g->state == SEGSCHED_PENDING && !final)
			continue;	/* not started yet: no record */
		seg_show(ctx, m, g, g->why[0] ? g->why : state_names[g->state]);
	}
}

/* The keyspaces to repair: the one asked for, or every one `nodetool
 * repair` without a keyspace would repair (repair_ring_keyspaces). */
static int rp_keyspaces(struct rpmemo *m, const json_t *params,
    const json_t *d, char *err, size_t errlen)
{
	const char *ks = jstr(params, "keyspace");

	if (ks != NULL) {
		m->ks = xcalloc(1, sizeof(*m->ks));
		m->ks[0] = xstrdup(ks);
		m->nks = 1;
		return 0;
	}
	return repair_ring_keyspaces(d, &m->ks, &m->nks, err, errlen);
}

/*
 * What narrows a keyspace's plan: params.datacenter (only the replicas in
 * those dcs take part, repair_dc.h) and params.resume (the ranges the
 * resumed repairs did are left out, repair_resume.h).  reps and reps2 are
 * scratch arrays of nendpoints + 1.
 */
struct rp_plan {
	const char *const *dcs;
	size_t ndcs;
	const struct segsched_range *done;
	size_t ndone;
	size_t *reps, *reps2;
};

static bool same_set(const size_t *a, size_t na, const size_t *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		bool found = false;
		for (size_t j = 0; j < nb && !found; j++)
			found = a[i] == b[j];
		if (!found)
			return false;
	}
	return true;
}

static int seg_add(struct rpmemo *m, size_t ki, const struct segsched_range *r,
    size_t nr, const size_t *reps, size_t nreps, size_t *nseg, size_t *added,
    char *err, size_t errlen)
{
	char e2[256];
	size_t id;

	if (*nseg >= MAX_SEGS || segsched_add(m->s, r, nr, reps, nreps, &id, e2,
	    sizeof(e2)) != 0) {
		snprintf(err, errlen, "cannot plan segment of (%lld,%lld] of "
		    "keyspace %s: %s", (long long)r[0].start, (long long)r[0].end,
		    m->ks[ki], *nseg >= MAX_SEGS ? "too many segments; lower "
		    "segments_per_node or name one keyspace" : e2);
		return -1;
	}
	m->ks_of = xrealloc(m->ks_of, (id + 1) * sizeof(*m->ks_of));
	m->ks_of[id] = ki;
	(*nseg)++;
	(*added)++;
	return 0;
}

/* What of piece is still to repair (a resume leaves out what was done):
 * the pieces in *out (*out == piece when it is whole; else caller frees). */
static size_t rp_left(const struct rp_plan *pl, struct segsched_range *piece,
    struct segsched_range **out)
{
	*out = piece;
	if (pl->done == NULL)
		return 1;
	return repair_resume_subtract(*piece, pl->done, pl->ndone, out);
}

/*
 * More ranges than segments wanted (vnodes: 16 a node and
 * segments_per_node 1): whole ranges with the same replica set are put
 * together, up to per ranges a segment, so that a keyspace is about
 * `target` segments and not one node job per vnode range.  Only equal
 * replica sets share a segment, so a segment still reserves exactly the
 * nodes its ranges need; its ranges are repaired one after the other.
 */
static int rp_group_segments(struct rpmemo *m, const struct replicas_map *map,
    const struct rp_plan *pl, size_t ki, size_t per, size_t *nseg,
    size_t *added, char *err, size_t errlen)
{
	size_t cap = per + 1, n;
	struct segsched_range *buf = xcalloc(cap, sizeof(*buf));
	bool *used = xcalloc(map->nranges + 1, sizeof(*used));
	int rc = 0;

	for (size_t i = 0; i < map->nranges && rc == 0; i++) {
		const struct replicas_range *r = &map->ranges[i];
		size_t nreps, taken = 0;

		if (used[i] || r->start == r->end)
			continue;
		nreps = repair_dc_replicas(map, r, pl->dcs, pl->ndcs, pl->reps);
		/* RF 1 (or one replica in the dcs repaired): nothing to
		 * compare with */
		if (nreps < 2)
			continue;
		n = 0;
		for (size_t j = i; j < map->nranges && taken < per; j++) {
			const struct replicas_range *q = &map->ranges[j];
			struct segsched_range whole = { q->start, q->end }, *left;
			size_t nq, nl;

			if (used[j] || q->start == q->end)
				continue;
			nq = repair_dc_replicas(map, q, pl->dcs, pl->ndcs, pl->reps2);
			if (!same_set(pl->reps, nreps, pl->reps2, nq))
				continue;
			used[j] = true;
			taken++;
			nl = rp_left(pl, &whole, &left);
			if (n + nl > cap) {
				cap = (n + nl) * 2;
				buf = xrealloc(buf, cap * sizeof(*buf));
			}
			for (size_t x = 0; x < nl; x++)
				buf[n++] = left[x];
			if (left != &whole)
				free(left);
		}
		if (n > 0)
			rc = seg_add(m, ki, buf, n, pl->reps, nreps, nseg, added,
			    err, errlen);
	}
	free(buf);
	free(used);
	return rc;
}

/* Keyspace ki's segments: each range with two replicas or more cut into
 * k pieces, or, with more ranges than target segments, whole ranges
 * grouped by replica set; RF 1 ranges are left out (nothing to compare).
 * The number of segments added goes to *added. */
static int rp_add_segments(struct rpmemo *m, const struct replicas_map *map,
    const struct rp_plan *pl, size_t ki, size_t k, size_t target,
    size_t *nseg, size_t *added, char *err, size_t errlen)
{
	*added = 0;
	if (k == 1 && target > 0 && map->nranges > target)
		return rp_group_segments(m, map, pl, ki, (map->nranges + target -
		    1) / target, nseg, added, err, errlen);
	for (size_t i = 0; i < map->nranges; i++) {
		const struct replicas_range *r = &map->ranges[i];
		struct segsched_range sr = { r->start, r->end };
		uint64_t kk = k, w = segsched_range_width(sr);
		size_t nreps;

		if (r->start == r->end)
			continue;
		nreps = repair_dc_replicas(map, r, pl->dcs, pl->ndcs, pl->reps);
		if (nreps < 2)
			continue;
		if (kk > w)
			kk = w;
		for (uint64_t p = 0; p < kk; p++) {
			struct segsched_range pr, *left;
			size_t nl;
			int rc = 0;

			repair_ring_piece(r->start, r->end, kk, p, &pr.start, &pr.end);
			nl = rp_left(pl, &pr, &left);
			for (size_t x = 0; x < nl && rc == 0; x++)
				rc = seg_add(m, ki, &left[x], 1, pl->reps, nreps, nseg,
				    added, err, errlen);
			if (left != &pr)
				free(left);
			if (rc != 0)
				return -1;
		}
	}
	return 0;
}

/*
 * Build the map, the segments and the scheduler from repair-ring's data.
 * Every keyspace has its own replica sets on the one ring, so its segments
 * carry its own replicas; the endpoints (the ring's, sorted) are the same
 * for all of them, which lets one scheduler hold them all.  1: nothing to
 * repair (no keyspace, or every one RF 1), said in err.
 */
static int rp_setup(struct task_ctx *ctx, struct rpmemo *m, const json_t *d,
    char *err, size_t errlen)
{
	const json_t *params = task_ctx_params(ctx);
	const char *resume = jstr(params, "resume");
	struct segsched_range *done = NULL;
	size_t ndone = 0;
	json_int_t par = json_integer_value(json_object_get(params,
	    "parallelism"));
	json_int_t spn = json_integer_value(json_object_get(params,
	    "segments_per_node"));
	struct replicas_map **maps = NULL;
	const char **names;
	struct segsched_cfg cfg;
	struct store_nodes nodes;
	struct strbuf rf1;
	const char *dcs[REPAIR_DC_MAX];
	struct rp_plan pl;
	size_t nseg = 0, target, k, ki;
	int rc = -1;

	memset(&pl, 0, sizeof(pl));
	if (rp_keyspaces(m, params, d, err, errlen) != 0)
		return -1;
	if (m->nks == 0) {
		snprintf(err, errlen, "nothing to do: no keyspace to repair (only "
		    "LocalStrategy ones and system_distributed, which nodetool "
		    "repair leaves out unless named)");
		return 1;
	}
	/* A resume's done ranges are one keyspace's (the service copies the
	 * resumed task's keyspace, and refuses a resume of a task without
	 * one). */
	if (resume != NULL && m->nks != 1) {
		snprintf(err, errlen, "params.resume needs params.keyspace: the "
		    "ranges a repair of several keyspaces did differ by keyspace");
		return -1;
	}
	if (resume != NULL && repair_resume_done_ranges(task_ctx_store(ctx),
	    resume, &done, &ndone, err, errlen) != 0)
		return -1;
	maps = xcalloc(m->nks, sizeof(*maps));
	for (ki = 0; ki < m->nks; ki++)
		if ((maps[ki] = repair_ring_map(d, m->ks[ki], err, errlen)) == NULL)
			goto out;
	for (ki = 1; ki < m->nks; ki++)
		if (maps[ki]->nendpoints != maps[0]->nendpoints) {
			snprintf(err, errlen, "keyspaces %s and %s see rings of %zu and "
			    "%zu endpoints: cannot plan them together; report this",
			    m->ks[0], m->ks[ki], maps[0]->nendpoints,
			    maps[ki]->nendpoints);
			goto out;
		}
	/* params.datacenter: only the replicas in those dcs take part */
	pl.ndcs = repair_dc_names(params, dcs, REPAIR_DC_MAX);
	pl.dcs = dcs;
	if (repair_dc_check(maps[0], dcs, pl.ndcs, err, errlen) != 0)
		goto out;
	pl.done = done;
	pl.ndone = ndone;
	m->map = maps[0];
	maps[0] = NULL;
	memset(&nodes, 0, sizeof(nodes));
	if (store_node_list(task_ctx_store(ctx), task_ctx_cluster(ctx),
	    &nodes) != 0) {
		store_nodes_release(&nodes);
		snprintf(err, errlen, "cannot read the cluster's nodes from the "
		    "store: see the ringmaster log");
		goto out;
	}
	m->node_of = xcalloc(m->map->nendpoints + 1, sizeof(*m->node_of));
	m->cass_down_until = xcalloc(m->map->nendpoints + 1,
	    sizeof(*m->cass_down_until));
	m->pc_nonce = xcalloc(m->map->nendpoints + 1, sizeof(*m->pc_nonce));
	m->pc_next = xcalloc(m->map->nendpoints + 1, sizeof(*m->pc_next));
	m->pc_known = xcalloc(m->map->nendpoints + 1, sizeof(*m->pc_known));
	m->pc_busy = xcalloc(m->map->nendpoints + 1, sizeof(*m->pc_busy));
	names = xcalloc(m->map->nendpoints + 1, sizeof(*names));
	for (size_t i = 0; i < m->map->nendpoints; i++) {
		names[i] = m->map->endpoints[i].endpoint;
		for (size_t j = 0; j < nodes.n; j++)
			if (strcmp(nodes.items[j].address, names[i]) == 0)
				m->node_of[i] = xstrdup(names[i]);
	}
	store_nodes_release(&nodes);
	memset(&cfg, 0, sizeof(cfg));
	cfg.parallelism = par > 0 ? (unsigned)par : 0;
	if (repair_retry_backoff_ms(params, &cfg.retry_backoff_ms) != 0 ||
	    cfg.retry_backoff_ms == 0)
		cfg.retry_backoff_ms = -1;	/* "0": retry at once */
	m->s = segsched_new(m->map->nendpoints, names, &cfg);
	free(names);
	/* segments_per_node * endpoints segments per keyspace, as near as
	 * whole pieces of the ring's ranges allow (a piece never crosses
	 * one) */
	target = (size_t)(spn > 0 ? spn : 1) * m->map->nendpoints;
	k = (target + m->map->nranges - 1) / m->map->nranges;
	if (k < 1)
		k = 1;
	if (k > MAX_PIECES)
		k = MAX_PIECES;
	pl.reps = xcalloc(m->map->nendpoints + 1, sizeof(*pl.reps));
	pl.reps2 = xcalloc(m->map->nendpoints + 1, sizeof(*pl.reps2));
	memset(&rf1, 0, sizeof(rf1));
	for (ki = 0; ki < m->nks; ki++) {
		size_t added;

		if (rp_add_segments(m, ki == 0 ? m->map : maps[ki], &pl, ki, k,
		    target, &nseg, &added, err, errlen) != 0) {
			strbuf_release(&rf1);
			goto out;
		}
		if (added == 0)
			strbuf_addf(&rf1, "%s%s", rf1.len ? " " : "", m->ks[ki]);
	}
	m->nplanned = nseg;
	m->rf1 = strbuf_detach(&rf1);
	grow(m);
	rc = 0;
	if (nseg == 0) {
		snprintf(err, errlen, "nothing to do: %s%s", done != NULL ?
		    "the resumed repairs left nothing of " : "replication factor "
		    "1 (or fewer than two replicas in params.datacenter), no "
		    "repair is needed for ", m->rf1);
		rc = 1;
	}
out:
	for (ki = 0; maps != NULL && ki < m->nks; ki++)
		replicas_free(maps[ki]);
	free(maps);
	free(pl.reps);
	free(pl.reps2);
	free(done);
	return rc;
}

/* A node of the cluster that is up, for repair-ring; "" when none. */
static void pick_up_node(struct task_ctx *ctx, char *out, size_t len)
{
	struct store_nodes nodes;

	out[0] = '\0';
	memset(&nodes, 0, sizeof(nodes));
	if (store_node_list(task_ctx_store(ctx), task_ctx_cluster(ctx),
	    &nodes) == 0)
		for (size_t i = 0; i < nodes.n && out[0] == '\0'; i++)
			if (nodes.items[i].state != NULL &&
			    strcmp(nodes.items[i].state, "up") == 0)
				str_copy(out, nodes.items[i].address, len);
	store_nodes_release(&nodes);
}

static bool node_up(struct task_ctx *ctx, const char *addr)
{
	struct store_node_row r;
	bool up;

	memset(&r, 0, sizeof(r));
	up = store_node_get(task_ctx_store(ctx), task_ctx_cluster(ctx), addr,
	    &r) == 0 && r.state != NULL && strcmp(r.state, "up") == 0;
	store_node_row_release(&r);
	return up;
}

/* A failed segment's record: why, and when it is tried again (its
 * backoff, segsched_fail) unless it failed for good. */
static void seg_show_retry(struct task_ctx *ctx, struct rpmemo *m,
    const struct segsched_seg *g, const char *err, int64_t now)
{
	char *msg;

	if (g->state != SEGSCHED_PENDING || g->not_before <= now) {
		seg_show(ctx, m, g, err);
		return;
	}
	msg = xasprintf("%s; retry in %lld s", err,
	    (long long)((g->not_before - now + 999) / 1000));
	seg_show(ctx, m, g, msg);
	free(msg);
}

/* What ended of a segment's job: fed back to the scheduler.  Returns
 * TASK_STEP_STOP when the step must stop, else TASK_STEP_OK. */
static int seg_poll(struct task_ctx *ctx, struct rpmemo *m, size_t id,
    bool postpone_ok, double intensity)
{
	const struct segsched_seg *g = segsched_get(m->s, id);
	const char *node = seg_node(m, g);
	char err[1024], e2[200], who[80], *args, *msg;
	json_t *d = NULL;
	int rc;
	int64_t now;

	args = seg_args(task_ctx_params(ctx), seg_ks(m, g), g, m->tries[id]);
	err[0] = '\0';
	rc = nodeops_agent(ctx, node, args, NULL, 0, &d, NULL, err,
	    sizeof(err));
	free(args);
	if (rc == TASK_STEP_WAIT || rc == TASK_STEP_STOP) {
		json_decref(d);
		return rc == TASK_STEP_STOP ? TASK_STEP_STOP : TASK_STEP_OK;
	}
	now = time_mono_ms();
	if (rc == TASK_STEP_OK) {
		m->took[id] = now - m->t0[id];
		msg = repair_summary(d, 0, 0);
		json_decref(d);
		segsched_done(m->s, id, e2, sizeof(e2));
		seg_show(ctx, m, segsched_get(m->s, id), msg);
		free(msg);
		/* intensity: rest in proportion to the work */
		if (intensity < 1.0) {
			int64_t pause = (int64_t)((double)m->took[id] *
			    (1.0 - intensity) / intensity);
			if (now + pause > m->rest_until)
				m->rest_until = now + pause;
		}
		return TASK_STEP_OK;
	}
	json_decref(d);
	if (postpone_ok && repair_endpoint_down(err, who, sizeof(who)) == 0) {
		long ep = replicas_endpoint_index(m->map, who);
		char why[200];

		snprintf(why, sizeof(why), "waiting for %s (Cassandra: Endpoint "
		    "not alive)", who);
		if (ep >= 0)
			m->cass_down_until[ep] = now + CASS_DOWN_MS;
		segsched_postpone(m->s, id, why, e2, sizeof(e2));
		seg_show(ctx, m, segsched_get(m->s, id), why);
		return TASK_STEP_OK;
	}
	segsched_set_now(m->s, now);
	segsched_fail(m->s, id, err, e2, sizeof(e2));
	g = segsched_get(m->s, id);
	seg_show_retry(ctx, m, g, err, now);
	return TASK_STEP_OK;
}

static char *ranges_text(const struct segsched_range *r, size_t n)
{
	struct strbuf b;

	memset(&b, 0, sizeof(b));
	for (size_t i = 0; i < n && i < 64; i++)
		strbuf_addf(&b, "%s(%lld,%lld]", i ? " " : "",
		    (long long)r[i].start, (long long)r[i].end);
	if (n > 64)
		strbuf_addf(&b, " and %zu more", n - 64);
	return strbuf_detach(&b);
}

/*
 * max_pending_compactions: keep each up replica's pending compactions
 * fresh (a `ringagent health --compactions` job per check, its nonce
 * making each check a new job) and the scheduler's busy flags with them.
 * True when every up replica has been read at least once: until then no
 * segment starts, so none starts on a replica that is already behind.
 */
static bool compactions_check(struct task_ctx *ctx, struct rpmemo *m,
    int64_t max_pending, const bool *up)
{
	static const int ok_exits[] = { OPEXIT_FAILED, OPEXIT_UNREACHABLE,
	    OPEXIT_UNPARSEABLE };
	bool ready = true;

	for (size_t ep = 0; ep < m->map->nendpoints; ep++) {
		int64_t now = time_mono_ms();
		json_t *d = NULL, *pc;
		char args[96], e[512];
		int rc;

		if (!up[ep]) {
			m->pc_nonce[ep] = 0;
			continue;
		}
		if (m->pc_nonce[ep] == 0) {
			if (now < m->pc_next[ep])
				continue;
			m->pc_nonce[ep] = time_wall_ms() * 1000 + (int64_t)ep;
		}
		snprintf(args, sizeof(args), "health --nonce %lld --compactions",
		    (long long)m->pc_nonce[ep]);
		rc = nodeops_agent(ctx, m->node_of[ep], args, ok_exits,
		    sizeof(ok_exits) / sizeof(ok_exits[0]), &d, NULL, e,
		    sizeof(e));
		if (rc == TASK_STEP_WAIT || rc == TASK_STEP_STOP) {
			json_decref(d);
			if (!m->pc_known[ep])
				ready = false;
			continue;
		}
		pc = json_object_get(d, "pending_compactions");
		if (rc == TASK_STEP_OK && json_is_integer(pc)) {
			bool busy = json_integer_value(pc) > max_pending;
			if (busy != m->pc_busy[ep])
				task_progress(ctx, "%s: %lld pending compactions, %s "
				    "max_pending_compactions %lld", m->node_of[ep],
				    (long long)json_integer_value(pc), busy ?
				    "over" : "back within", (long long)max_pending);
			m->pc_busy[ep] = busy;
		}
		/* unreadable: the flag stays as it was (down is judged apart) */
		m->pc_known[ep] = true;
		m->pc_nonce[ep] = 0;
		m->pc_next[ep] = now + COMPACTIONS_EVERY_MS;
		json_decref(d);
	}
	for (size_t ep = 0; ep < m->map->nendpoints; ep++)
		segsched_set_busy(m->s, ep, m->pc_busy[ep]);
	return ready;
}

static unsigned split_depth(const struct segsched *s, size_t id)
{
	unsigned d = 0;
	const struct segsched_seg *g = segsched_get(s, id);

	while (g != NULL && g->parent != SIZE_MAX && d < 64) {
		d++;
		g = segsched_get(s, g->parent);
	}
	return d;
}

/* segment_timeout: a running segment past it is cancelled (its job) and
 * split in two, or fails the attempt once split MAX_SPLIT_DEPTH times. */
static void timeouts_check(struct task_ctx *ctx, struct rpmemo *m,
    int64_t timeout_ms)
{
	size_t n = segsched_count(m->s);

	for (size_t id = 0; id < n; id++) {
		const struct segsched_seg *g = segsched_get(m->s, id);
		int64_t ran = time_mono_ms() - m->t0[id];
		char why[200], e2[200], *args, *rs;
		size_t halves[2];

		if (g->state != SEGSCHED_RUNNING || ran <= timeout_ms)
			continue;
		args = seg_args(task_ctx_params(ctx), seg_ks(m, g), g, m->tries[id]);
		nodeops_cancel(ctx, seg_node(m, g), args);
		free(args);
		m->timeouts++;
		rs = seg_ranges(g);
		snprintf(why, sizeof(why), "cancelled after %lld s, past "
		    "segment_timeout", (long long)(ran / 1000));
		if (split_depth(m->s, id) < MAX_SPLIT_DEPTH &&
		    segsched_split(m->s, id, halves, e2, sizeof(e2)) == 0) {
			char msg[300];

			m->splits++;
			grow(m);
			snprintf(msg, sizeof(msg), "%s: split in two (segments %zu "
			    "and %zu)", why, halves[0] + 1, halves[1] + 1);
			seg_show(ctx, m, segsched_get(m->s, id), msg);
			task_progress(ctx, "segment %zu %s %s", id + 1, rs, msg);
		} else {
			segsched_fail(m->s, id, why, e2, sizeof(e2));
			task_progress(ctx, "segment %zu %s %s: not split again", id + 1,
			    rs, why);
		}
		free(rs);
	}
}

/* The task ends partial, naming what is missing and how to resume it. */
static void repair_par_partial(struct task_ctx *ctx,
    const struct segsched_report *rep, const char *ranges)
{
	task_partial(ctx, "%zu of %zu segments not repaired (%zu failed after "
	    "their attempts, %zu postponed past down_deadline): %s; repair "
	    "them once the nodes are up with the repair param "
	    "{\"resume\": \"%s\"}", rep->failed + rep->postponed +
	    rep->pending, rep->done + rep->failed + rep->postponed +
	    rep->pending, rep->failed, rep->postponed + rep->pending, ranges,
	    task_ctx_id(ctx));
}

/* What was planned: the keyspaces, the segments and how many can run at
 * once (the first progress line of the step). */
static void rp_plan_progress(struct task_ctx *ctx, const struct rpmemo *m)
{
	const json_t *params = task_ctx_params(ctx);
	size_t upper, lower = segsched_max_parallel(m->s, &upper);
	struct strbuf ks;

	memset(&ks, 0, sizeof(ks));
	for (size_t i = 0; i < m->nks; i++)
		strbuf_addf(&ks, "%s%s", i ? " " : "", m->ks[i]);
	task_progress(ctx, "%s%zu segments over %zu ranges of %zu nodes, "
	    "keyspace%s %s%s%s%s; at most %zu can run at once (upper bound "
	    "%zu), parallelism %s", jstr(params, "resume") ? "what the resumed "
	    "repair left: " : "", segsched_count(m->s), m->map->nranges,
	    m->map->nendpoints, m->nks > 1 ? "s" : "", ks.p,
	    m->rf1[0] ? " (" : "", m->rf1, m->rf1[0] ? " RF 1: nothing to do)" :
	    "", lower, upper, json_integer_value(json_object_get(params,
	    "parallelism")) > 0 ? "as asked" : "as many as that");
	strbuf_release(&ks);
}

int repair_par_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	const json_t *params = task_ctx_params(ctx);
	double intensity = json_is_number(json_object_get(params, "intensity")) ?
	    json_number_value(json_object_get(params, "intensity")) : 1.0;
	struct rpmemo *m = task_memo(ctx, "repair-par");
	struct segsched_report rep;
	int64_t down_ms = 0, now, timeout_ms = 0, max_pending = -1;
	size_t n, *ids, running = 0;
	bool postpone_ok, past_deadline, ready, *up;
	int rc, win;
	int64_t win_wait = 0;
	char *win_why = NULL;

	repair_down_deadline_ms(params, &down_ms);
	repair_segment_timeout_ms(params, &timeout_ms);
	if (json_is_integer(json_object_get(params, "max_pending_compactions")))
		max_pending = json_integer_value(json_object_get(params,
		    "max_pending_compactions"));
	postpone_ok = down_ms > 0;
	if (m == NULL) {
		m = xcalloc(1, sizeof(*m));
		m->started = time_mono_ms();
		m->deadline = (step->started_at > 0 ? step->started_at :
		    time_wall_ms()) + down_ms;
		task_memo_put(ctx, "repair-par", m, rpmemo_release, NULL);
	}
	if (m->s == NULL) {
		json_t *d = NULL;

		if (m->ring_node[0] == '\0')
			pick_up_node(ctx, m->ring_node, sizeof(m->ring_node));
		if (m->ring_node[0] == '\0') {
			snprintf(err, errlen, "no node of the cluster is up to read the "
			    "ring from; start Cassandra or the agents and run the "
			    "repair again");
			return TASK_STEP_FAIL;
		}
		rc = nodeops_agent(ctx, m->ring_node, "repair-ring", NULL, 0, &d,
		    NULL, err, errlen);
		if (rc != TASK_STEP_OK) {
			json_decref(d);
			return rc;
		}
		rc = rp_setup(ctx, m, d, err, errlen);
		json_decref(d);
		if (rc == 1) {
			task_progress(ctx, "%s", err);
			err[0] = '\0';
			return TASK_STEP_OK;
		}
		if (rc != 0) {
			segsched_free(m->s);
			m->s = NULL;
			return TASK_STEP_FATAL;
		}
		rp_plan_progress(ctx, m);
	}
	/* 1. what ended (the scheduler's clock: backoffs) */
	segsched_set_now(m->s, time_mono_ms());
	n = segsched_count(m->s);
	for (size_t id = 0; id < n; id++) {
		if (segsched_get(m->s, id)->state != SEGSCHED_RUNNING)
			continue;
		if (seg_poll(ctx, m, id, postpone_ok, intensity) ==
		    TASK_STEP_STOP) {
			snprintf(err, errlen, "stopped");
			return TASK_STEP_STOP;
		}
	}
	if (timeout_ms > 0)
		timeouts_check(ctx, m, timeout_ms);
	/* 2. who is down: the orchestrator's view, and what Cassandra said;
	 * who is busy: pending compactions */
	now = time_mono_ms();
	past_deadline = postpone_ok && time_wall_ms() >= m->deadline;
	up = xcalloc(m->map->nendpoints + 1, sizeof(*up));
	for (size_t ep = 0; ep < m->map->nendpoints; ep++) {
		bool down = m->node_of[ep] == NULL ||
		    !node_up(ctx, m->node_of[ep]) || m->cass_down_until[ep] > now;
		up[ep] = !down;
		/* down_deadline "0": a down replica fails the segment as
		 * Cassandra refuses it; nothing is postponed */
		segsched_set_down(m->s, ep, postpone_ok && down);
	}
	ready = max_pending < 0 || compactions_check(ctx, m, max_pending, up);
	free(up);
	/* maintenance windows: no segment starts while all are closed; the
	 * running ones finish */
	if ((win = repair_win_state(ctx, &win_wait, &win_why, err, errlen)) < 0)
		return TASK_STEP_FATAL;
	if (win == 0)
		ready = false;
	n = segsched_count(m->s);
	/* 3. what starts (intensity spaces them).  A job that ends at once
	 * (after a restart, the attempt's finished jobs answer with their
	 * result) frees its replicas for another round in this call. */
	for (int round = 0; round < START_ROUNDS && ready &&
	    time_mono_ms() >= m->rest_until && !task_checkpoint(ctx); round++) {
		size_t k, ended = 0;

		n = segsched_count(m->s);
		ids = xcalloc(n + 1, sizeof(*ids));
		segsched_set_now(m->s, time_mono_ms());
		k = segsched_next(m->s, ids, n);
		grow(m);
		now = time_mono_ms();
		for (size_t i = 0; i < k; i++) {
			const struct segsched_seg *g = segsched_get(m->s, ids[i]);
			m->tries[ids[i]]++;
			m->t0[ids[i]] = now;
			seg_show(ctx, m, g, "started");
			if (seg_poll(ctx, m, ids[i], postpone_ok, intensity) ==
			    TASK_STEP_STOP) {
				free(ids);
				free(win_why);
				snprintf(err, errlen, "stopped");
				return TASK_STEP_STOP;
			}
			if (segsched_get(m->s, ids[i])->state != SEGSCHED_RUNNING)
				ended++;
		}
		free(ids);
		if (k == 0 || ended == 0)
			break;
	}
	seg_show_changes(ctx, m, false);
	n = segsched_count(m->s);
	for (size_t id = 0; id < n; id++)
		if (segsched_get(m->s, id)->state == SEGSCHED_RUNNING)
			running++;
	if (running > m->max_running)
		m->max_running = (unsigned)running;
	segsched_report(m->s, &rep);
	/* past down_deadline: what can still run runs, what waits for a
	 * node is given up */
	if (segsched_finished(m->s) || (past_deadline && rep.running == 0 &&
	    rep.pending == 0)) {
		seg_show_changes(ctx, m, true);
		char *un = ranges_text(rep.unrepaired, rep.nunrepaired);
		int64_t wall = time_mono_ms() - m->started;

		if (rep.nunrepaired == 0)
			task_progress(ctx, "all %zu segments repaired in %lld ms, up "
			    "to %u at once; %u postponements, %u timeouts, %u "
			    "splits%s%s%s%s%s", rep.done, (long long)wall,
			    m->max_running, m->postponements, m->timeouts,
			    m->splits, m->rf1[0] ? "; nothing to do for " : "",
			    m->rf1, m->rf1[0] ? " (RF 1)" : "",
			    repair_auto_warning(ctx) ? "; " : "",
			    repair_auto_warning(ctx) ? repair_auto_warning(ctx) : "");
		else
			task_progress(ctx, "partial: %zu of %zu segments not repaired "
			    "(%zu failed after their attempts, %zu postponed past "
			    "down_deadline); unrepaired ranges: %s; run a repair "
			    "again once the nodes are up%s%s", rep.failed +
			    rep.postponed + rep.pending, rep.done + rep.failed +
			    rep.postponed + rep.pending, rep.failed, rep.postponed +
			    rep.pending, un, repair_auto_warning(ctx) ? "; " : "",
			    repair_auto_warning(ctx) ? repair_auto_warning(ctx) : "");
		if (rep.nunrepaired > 0)
			repair_par_partial(ctx, &rep, un);
		free(un);
		free(win_why);
		segsched_report_release(&rep);
		return TASK_STEP_OK;
	}
	task_progress(ctx, "%s%ssegments: %zu done, %zu running, %zu pending, "
	    "%zu postponed, %zu failed", win_why ? win_why : "", win_why ? "; " :
	    "", rep.done, rep.running, rep.pending, rep.postponed, rep.failed);
	segsched_report_release(&rep);
	free(win_why);
	now = time_mono_ms();
	if (win == 0 && rep.running == 0) {
		/* parked until the window opens: the wait is not work; a
		 * cancel or pause wakes it and it stops, nothing runs */
		if (task_checkpoint(ctx)) {
			snprintf(err, errlen, "stopped while waiting for a "
			    "maintenance window");
			return TASK_STEP_STOP;
		}
		task_deadline_restart(ctx);
		return task_wait(ctx, win_wait);
	}
	{
		/* the sooner of the rest's end and a backoff's, within a poll */
		int64_t wait = POLL_MS, retry = segsched_next_retry(m->s);
		if (m->rest_until > now && m->rest_until - now < wait)
			wait = m->rest_until - now;
		if (retry != INT64_MAX && retry > now && retry - now < wait)
			wait = retry - now;
		return task_wait(ctx, wait);
	}
}
