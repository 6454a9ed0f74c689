/*
 * hb_ring.c - what forming a ring asks of the heartbeat tables (hb.h):
 * the seeds, a cluster's epoch and members, the bootstrap slot and what the
 * live peers see of its holder; and the judgement of a silent node from
 * its peers' views, which the detector in hb.c calls.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../lifecycle/judge.h"
#include "../lifecycle/seeds.h"
#include "../lifecycle/slot.h"
#include "hb.h"
#include "hb_int.h"

size_t hb_seeds(struct hb *h, const char *cluster, const char *const *prev,
    size_t nprev, int per_dc, char ***out)
{
	struct hb_cluster *c;
	struct seeds_node *nodes = NULL;
	const char **pinned = NULL, **chosen = NULL;
	size_t n = 0, np = 0, k = 0;

	*out = NULL;
	pthread_mutex_lock(&h->mtx);
	c = hb_do_cluster(h, cluster, false);
	if (c != NULL && c->nodes > 0) {
		nodes = xcalloc((size_t)c->nodes, sizeof(*nodes));
		pinned = xcalloc((size_t)c->nodes, sizeof(*pinned));
		for (struct hb_node *m = c->members; m; m = m->next_member) {
			if (n == (size_t)c->nodes)
				break;
			nodes[n].address = m->address;
			nodes[n].dc = m->dc;
			nodes[n].rack = m->rack;
			/* The agent says "up" for its own UN row only. */
			nodes[n].live_normal = strcmp(m->state, "up") == 0;
			if (m->pinned)
				pinned[np++] = m->address;
			n++;
		}
		chosen = xcalloc(n + nprev + 1, sizeof(*chosen));
		k = seeds_choose(nodes, n, prev, nprev, pinned, np, per_dc,
		    chosen, n + nprev + 1);
		*out = xcalloc(k + 1, sizeof(**out));
		for (size_t i = 0; i < k; i++)
			(*out)[i] = xstrdup(chosen[i]);
	}
	pthread_mutex_unlock(&h->mtx);
	free(nodes);
	free(pinned);
	free(chosen);
	return k;
}

uint64_t hb_cluster_epoch(struct hb *h, const char *cluster)
{
	struct hb_cluster *c;
	uint64_t e;

	pthread_mutex_lock(&h->mtx);
	c = hb_do_cluster(h, cluster, false);
	e = c ? c->epoch : 0;
	pthread_mutex_unlock(&h->mtx);
	return e;
}

void hb_cluster_members(struct hb *h, const char *cluster, const char *except,
    size_t *members, size_t *live_normal)
{
	struct hb_cluster *c;

	*members = *live_normal = 0;
	pthread_mutex_lock(&h->mtx);
	c = hb_do_cluster(h, cluster, false);
	for (struct hb_node *m = c ? c->members : NULL; m; m = m->next_member) {
		bool up = strcmp(m->state, "up") == 0;
		if (except != NULL && strcmp(m->address, except) == 0)
			continue;
		if (up)
			(*live_normal)++;
		if (up || m->host_id != NULL)
			(*members)++;
	}
	pthread_mutex_unlock(&h->mtx);
}

void hb_slot_set(struct hb *h, const char *cluster, const char *holder)
{
	struct hb_cluster *c;

	pthread_mutex_lock(&h->mtx);
	c = hb_do_cluster(h, cluster, true);
	free(c->slot_holder);
	c->slot_holder = holder != NULL && *holder != '\0' ?
	    xstrdup(holder) : NULL;
	pthread_mutex_unlock(&h->mtx);
}

/* A view of address in m's nodetool status, or NULL. */
static const struct hb_view *view_of(const struct hb_node *m,
    const char *address)
{
	for (size_t k = 0; k < m->nviews; k++)
		if (strcmp(m->views[k].address, address) == 0)
			return &m->views[k];
	return NULL;
}

/* The token count a node reported of itself, -1 when not known. */
static long long report_tokens(const char *report)
{
	json_t *r = report != NULL ? json_loads(report, 0, NULL) : NULL;
	json_t *t = json_object_get(r, "tokens");
	long long n = json_is_integer(t) && json_integer_value(t) > 0 ?
	    (long long)json_integer_value(t) : -1;

	json_decref(r);
	return n;
}

void hb_slot_obs(struct hb *h, const char *cluster, const char *holder,
    const char *dead, struct slot_obs *o)
{
	struct hb_cluster *c;
	int64_t now = time_wall_ms();
	long long holder_tokens = -1, dead_tokens = -1;

	memset(o, 0, sizeof(*o));
	o->dead_gone = true;
	pthread_mutex_lock(&h->mtx);
	c = hb_do_cluster(h, cluster, false);
	for (struct hb_node *m = c ? c->members : NULL; m; m = m->next_member) {
		const struct hb_view *v;
		bool live = strcmp(m->state, "up") == 0 &&
		    now - m->last_hb <= h->timeout_ms;
		if (strcmp(m->address, holder) == 0) {
			o->self_un = live;
			if (dead != NULL)
				holder_tokens = report_tokens(m->report);
			continue;
		}
		if (dead != NULL && strcmp(m->address, dead) == 0) {
			dead_tokens = report_tokens(m->report);
			continue;
		}
		if (!live)
			continue;
		o->live_peers++;
		v = view_of(m, holder);
		if (v != NULL && v->status == 'U' && v->state == 'N')
			o->peer_un = true;
		if (dead != NULL && view_of(m, dead) != NULL)
			o->dead_gone = false;
	}
	pthread_mutex_unlock(&h->mtx);
	o->tokens_differ = holder_tokens > 0 && dead_tokens > 0 &&
	    holder_tokens != dead_tokens;
}

/*
 * The verdict on silent node n from its live peers' views.  Expects the
 * lock.  Views are gathered into a small array: clusters are at most a few
 * thousand nodes and only silent nodes are judged.
 */
enum judge_verdict hb_do_judge(struct hb *h, struct hb_node *n,
    int64_t now, char *reason, size_t reasonlen)
{
	struct judge_view *v = NULL;
	size_t nv = 0, cap = 0;
	enum judge_verdict verdict;

	for (struct hb_node *m = n->cl->members; m; m = m->next_member) {
		if (m == n)
			continue;
		for (size_t k = 0; k < m->nviews; k++) {
			if (strcmp(m->views[k].address, n->address) != 0)
				continue;
			if (nv == cap) {
				cap = cap ? cap * 2 : 8;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[nv].observer = m->address;
			v[nv].observer_live = !hb_silent_state(m->state) &&
			    now - m->last_hb <= h->timeout_ms;
			v[nv].at_ms = m->views_at;
			v[nv].status = m->views[k].status;
			nv++;
			break;
		}
	}
	struct judge_in in = {
		.now_ms = now, .last_hb_ms = hb_seen_ms(h, n),
		.timeout_ms = h->timeout_ms, .views = v, .nviews = nv,
	};
	/* Stale by the caller's test: judge as silent even at the edge. */
	if (now - in.last_hb_ms <= in.timeout_ms)
		in.now_ms = in.last_hb_ms + in.timeout_ms + 1;
	verdict = judge_node(&in, reason, reasonlen);
	free(v);
	return verdict;
}
