/*
 * gate.c - see gate.h.  A gate is rounds: each round asks every node for
 * a fresh health report (one node job each, started together and followed
 * while the task is parked), then judges them all at once, so one
 * verdict never mixes what a node said a minute ago with what another
 * says now.  A round's op carries a nonce (the wall clock of the round in
 * ms): nodeops_agent() treats the same arguments in one attempt as one
 * job, and a gate must never read an older round's answer as new.
 */
#include "gate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/opexit.h"
#include "../../common/util.h"
#include "../engine/params.h"
#include "../engine/task.h"
#include "../nodes/nodeops.h"
#include "../store/store.h"

void gate_view_release(struct gate_view *v)
{
	if (v == NULL)
		return;
	free(v->peers);
	v->peers = NULL;
	v->n_peers = 0;
}

static char status_letter(const char *s)
{
	if (s == NULL)
		return '?';
	if (strcmp(s, "up") == 0)
		return 'U';
	if (strcmp(s, "down") == 0)
		return 'D';
	return '?';
}

static char state_letter(const char *s)
{
	if (s == NULL)
		return '?';
	if (strcmp(s, "normal") == 0)
		return 'N';
	if (strcmp(s, "joining") == 0)
		return 'J';
	if (strcmp(s, "leaving") == 0)
		return 'L';
	if (strcmp(s, "moving") == 0)
		return 'M';
	return '?';
}

/* The peers of a report: {"datacenters": [{"nodes": [{...}]}]}. */
static void parse_peers(struct gate_view *v, const json_t *peers)
{
	const json_t *dcs = json_object_get(peers, "datacenters"), *dc, *n;
	size_t i, k, cap = 0;

	if (!json_is_array(dcs))
		return;
	json_array_foreach(dcs, i, dc) {
		const json_t *nodes = json_object_get(dc, "nodes");
		if (!json_is_array(nodes))
			continue;
		json_array_foreach(nodes, k, n) {
			const char *a = json_string_value(json_object_get(n,
			    "address"));
			struct gate_peer *p;

			/* A row without an address cannot be named: skip
			 * it rather than guess whose it is. */
			if (a == NULL || *a == '\0' || strlen(a) >= sizeof(p->address))
				continue;
			if (v->n_peers == cap) {
				cap = cap ? cap * 2 : 8;
				v->peers = xrealloc(v->peers, cap * sizeof(*v->peers));
			}
			p = &v->peers[v->n_peers++];
			str_copy(p->address, a, sizeof(p->address));
			p->status = status_letter(json_string_value(
			    json_object_get(n, "status")));
			p->state = state_letter(json_string_value(
			    json_object_get(n, "state")));
		}
	}
}

void gate_view_parse(struct gate_view *v, const char *node,
    const json_t *data, int rc, int agent_exit, const char *opmsg)
{
	const json_t *pc;
	const char *ver;

	memset(v, 0, sizeof(*v));
	str_copy(v->node, node ? node : "?", sizeof(v->node));
	v->pending = -1;
	if (rc != TASK_STEP_OK) {
		snprintf(v->error, sizeof(v->error), "its agent did not answer: %s",
		    opmsg && *opmsg ? opmsg : "no message");
		return;
	}
	if (!json_is_object(data)) {
		snprintf(v->error, sizeof(v->error), "its agent's health report "
		    "has no data object");
		return;
	}
	if (agent_exit != OPEXIT_OK || !json_is_true(json_object_get(data,
	    "process_up"))) {
		const char *e = json_string_value(json_array_get(
		    json_object_get(data, "errors"), 0));
		snprintf(v->error, sizeof(v->error), "nodetool does not reach "
		    "it%s%s", e ? ": " : "", e ? e : "");
		return;
	}
	v->reached = true;
	v->gossip = json_is_true(json_object_get(data, "gossip"));
	v->native = json_is_true(json_object_get(data, "native_transport"));
	pc = json_object_get(data, "pending_compactions");
	if (json_is_integer(pc) && json_integer_value(pc) >= 0)
		v->pending = json_integer_value(pc);
	ver = json_string_value(json_object_get(data, "cassandra_version"));
	if (ver != NULL)
		str_copy(v->version, ver, sizeof(v->version));
	parse_peers(v, json_object_get(data, "peers"));
}

static const struct gate_view *view_of(const struct gate_view *views,
    size_t n, const char *node)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(views[i].node, node) == 0)
			return &views[i];
	return NULL;
}

static const struct gate_peer *peer_in(const struct gate_view *v,
    const char *addr)
{
	for (size_t i = 0; i < v->n_peers; i++)
		if (strcmp(v->peers[i].address, addr) == 0)
			return &v->peers[i];
	return NULL;
}

static const char *state_word(char st)
{
	switch (st) {
	case 'J':
		return "joining";
	case 'L':
		return "leaving";
	case 'M':
		return "moving";
	case 'N':
		return "normal";
	default:
		return "in an unknown state";
	}
}

/* The rules for the node that must be back. */
static bool eval_back(const struct gate_view *views, size_t n,
    const char *back, char *why, size_t whylen)
{
	const struct gate_view *own = view_of(views, n, back);
	const struct gate_peer *p;
	bool others = false;

	if (own == NULL || !own->reached) {
		snprintf(why, whylen, "%s's Cassandra does not answer nodetool "
		    "(%s)", back, own ? own->error : "not asked");
		return false;
	}
	if ((p = peer_in(own, back)) == NULL) {
		snprintf(why, whylen, "%s is missing from its own nodetool "
		    "status", back);
		return false;
	}
	if (p->status != 'U' || p->state != 'N') {
		snprintf(why, whylen, "%s is %c%c in its own nodetool status",
		    back, p->status, p->state);
		return false;
	}
	if (!own->gossip || !own->native) {
		snprintf(why, whylen, "%s has %s off (nodetool info)", back,
		    !own->gossip && !own->native ? "gossip and native transport" :
		    !own->gossip ? "gossip" : "native transport");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(views[i].node, back) == 0 || !views[i].reached)
			continue;
		others = true;
		p = peer_in(&views[i], back);
		if (p != NULL && p->status == 'U' && p->state == 'N')
			return true;
	}
	if (!others && n <= 1)
		return true;
	snprintf(why, whylen, "no other node sees %s UN yet (its own view "
	    "does)", back);
	return false;
}

bool gate_eval(const struct gate_view *views, size_t n,
    const struct gate_want *w, char *why, size_t whylen)
{
	if (whylen > 0)
		why[0] = '\0';
	if (w->back != NULL && !eval_back(views, n, w->back, why, whylen))
		return false;
	for (size_t e = 0; e < w->n_expected; e++) {
		const struct gate_view *v = view_of(views, n, w->expected[e]);
		if (v == NULL || !v->reached) {
			snprintf(why, whylen, "%s's Cassandra does not answer "
			    "nodetool (%s)", w->expected[e], v ? v->error :
			    "not asked");
			return false;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct gate_view *v = &views[i];
		if (!v->reached)
			continue;
		for (size_t e = 0; e < w->n_expected; e++) {
			const struct gate_peer *p = peer_in(v, w->expected[e]);
			if (p == NULL) {
				snprintf(why, whylen, "%s is missing from %s's "
				    "nodetool status", w->expected[e], v->node);
				return false;
			}
			if (p->status != 'U') {
				snprintf(why, whylen, "%s is %c%c in %s's nodetool "
				    "status", p->address, p->status, p->state,
				    v->node);
				return false;
			}
		}
		for (size_t k = 0; k < v->n_peers; k++) {
			const struct gate_peer *p = &v->peers[k];
			if (p->state != 'N') {
				snprintf(why, whylen, "%s is %c%c (%s) in %s's "
				    "nodetool status", p->address, p->status,
				    p->state, state_word(p->state), v->node);
				return false;
			}
			if (p->status != 'U') {
				snprintf(why, whylen, "%s is %c%c in %s's nodetool "
				    "status", p->address, p->status, p->state,
				    v->node);
				return false;
			}
		}
		if (w->max_pending >= 0 && v->pending < 0) {
			snprintf(why, whylen, "%s's pending compactions cannot be "
			    "read (max_pending_compactions is set)", v->node);
			return false;
		}
		if (w->max_pending >= 0 && v->pending > w->max_pending) {
			snprintf(why, whylen, "%s has %" PRId64 " pending "
			    "compactions (max_pending_compactions %" PRId64 ")",
			    v->node, v->pending, w->max_pending);
			return false;
		}
	}
	return true;
}

/* ---- the step helper ---------------------------------------------------- */

void gate_params_opts(const json_t *params, struct gate_opts *o)
{
	const json_t *t = json_object_get(params, "gate_timeout_s");
	const json_t *m = json_object_get(params, "max_pending_compactions");

	if (json_is_integer(t) && json_integer_value(t) > 0)
		o->timeout_ms = (int64_t)json_integer_value(t) * 1000;
	o->max_pending = json_is_integer(m) ? (int64_t)json_integer_value(m) :
	    -1;
}

/* What a gate keeps between the calls of its step. */
struct gmemo {
	int64_t t0;		/* mono ms of the first call */
	int64_t nonce;		/* the round's; 0: start a round */
	int64_t next_at;	/* mono ms of the next round */
	int rounds;
	bool no_view;		/* an agent refused `health --view` */
	char last[512];		/* why the last round was not met */
};

static void gmemo_release(void *p)
{
	free(p);
}

/*
 * A node that must be back is asked for the whole health report (its
 * gossip and native transport come from `nodetool info`); every other
 * node only for its view of the ring, `health --view`: one nodetool run
 * instead of two or three, on every node, every round.  An agent from
 * before --view refuses it as a usage error: then this gate asks every
 * node the whole report from its next round on (a gate's memo lives as
 * long as its step: with agents that old, each gate takes one round more).
 */
static bool must_be_back(const struct gate_opts *o, const char *addr)
{
	if (o->back != NULL && strcmp(o->back, addr) == 0)
		return true;
	for (size_t i = 0; o->backs != NULL && o->backs[i] != NULL; i++)
		if (strcmp(o->backs[i], addr) == 0)
			return true;
	return false;
}

static bool excluded(const struct gate_opts *o, const char *addr)
{
	for (size_t i = 0; o->exclude != NULL && o->exclude[i] != NULL; i++)
		if (strcmp(o->exclude[i], addr) == 0)
			return true;
	return false;
}

int gate_step(struct task_ctx *ctx, const struct gate_opts *o, char *err,
    size_t errlen)
{
	static const int ok_exits[] = { OPEXIT_FAILED, OPEXIT_UNREACHABLE,
	    OPEXIT_UNPARSEABLE };
	struct gmemo *m = task_memo(ctx, "gate");
	struct store_nodes nodes = { NULL, 0 };
	struct gate_view *views = NULL;
	const char **expected = NULL;
	size_t nv = 0;
	struct gate_want w;
	bool waiting = false, met;
	char *args = NULL, *view_args = NULL, why[512];
	int64_t now = time_mono_ms();
	int rc = TASK_STEP_OK;

	if (m == NULL) {
		int64_t ago = o->started_at > 0 ? time_wall_ms() -
		    o->started_at : 0;
		m = xcalloc(1, sizeof(*m));
		m->t0 = now - (ago > 0 ? ago : 0);
		task_memo_put(ctx, "gate", m, gmemo_release, NULL);
	}
	if (o->hold ? task_ctx_shutting_down(ctx) ||
	    task_ctx_deadline_left(ctx) <= 0 : task_checkpoint(ctx)) {
		snprintf(err, errlen, "gate %s stopped", o->what ? o->what : "");
		return TASK_STEP_STOP;
	}
	if (m->nonce == 0) {
		if (now < m->next_at)
			return task_wait(ctx, m->next_at - now);
		m->nonce = time_wall_ms();
		m->rounds++;
	}
	if (store_cluster_nodes(task_ctx_store(ctx), task_ctx_cluster(ctx),
	    &nodes) != 0) {
		store_nodes_release(&nodes);
		snprintf(err, errlen, "gate: cannot read the nodes of '%s' from "
		    "the store: see the ringmaster log", task_ctx_cluster(ctx));
		return TASK_STEP_FAIL;
	}
	args = xasprintf("health --nonce %" PRId64 "%s", m->nonce,
	    o->max_pending >= 0 ? " --compactions" : "");
	view_args = m->no_view ? NULL : xasprintf("%s --view", args);
	views = xcalloc(nodes.n + 1, sizeof(*views));
	expected = xcalloc(nodes.n + 1, sizeof(*expected));
	w.n_expected = 0;
	for (size_t i = 0; i < nodes.n; i++) {
		const char *a = nodes.items[i].address;
		json_t *d = NULL;
		char e[512] = "";
		int ex = -1, r;
		bool view;

		if (a == NULL || excluded(o, a))
			continue;
		expected[w.n_expected++] = a;
		view = view_args != NULL && !must_be_back(o, a);
		r = (o->hold ? nodeops_agent_held : nodeops_agent)(ctx, a,
		    view ? view_args : args, ok_exits, ARRAY_SIZE(ok_exits), &d,
		    &ex, e, sizeof(e));
		if (view && ex == OPEXIT_USAGE)
			m->no_view = true;
		if (r == TASK_STEP_WAIT) {
			waiting = true;
			continue;
		}
		if (r == TASK_STEP_STOP) {
			json_decref(d);
			snprintf(err, errlen, "gate %s stopped", o->what ?
			    o->what : "");
			rc = TASK_STEP_STOP;
			goto out;
		}
		gate_view_parse(&views[nv++], a, d, r, ex, e);
		json_decref(d);
	}
	if (waiting) {
		rc = TASK_STEP_WAIT;
		goto out;
	}
	w.expected = expected;
	w.back = o->back;
	w.max_pending = o->max_pending;
	met = gate_eval(views, nv, &w, why, sizeof(why));
	for (size_t i = 0; met && o->backs != NULL && o->backs[i] != NULL; i++) {
		w.back = o->backs[i];
		met = gate_eval(views, nv, &w, why, sizeof(why));
	}
	m->nonce = 0;
	if (met) {
		task_progress(ctx, "gate %s: met after %d round%s, %lld s: %zu "
		    "node%s UN%s", o->what ? o->what : "", m->rounds,
		    m->rounds == 1 ? "" : "s", (long long)((now - m->t0) / 1000),
		    w.n_expected, w.n_expected == 1 ? "" : "s", o->back ||
		    o->backs ? ", back with gossip and native transport on" : "");
		goto out;
	}
	str_copy(m->last, why, sizeof(m->last));
	if (now - m->t0 >= o->timeout_ms) {
		snprintf(err, errlen, "gate %s: %s after %lld s; the task "
		    "stopped before touching the next node", o->what ? o->what :
		    "", why, (long long)((now - m->t0) / 1000));
		rc = TASK_STEP_FATAL;
		goto out;
	}
	task_progress(ctx, "gate %s: waiting (%lld s of %lld): %s", o->what ?
	    o->what : "", (long long)((now - m->t0) / 1000),
	    (long long)(o->timeout_ms / 1000), why);
	m->next_at = now + o->poll_ms;
	rc = task_wait(ctx, o->poll_ms);
out:
	for (size_t i = 0; i < nv; i++)
		gate_view_release(&views[i]);
	free(views);
	free(expected);
	free(args);
	free(view_args);
	store_nodes_release(&nodes);
	return rc;
}
