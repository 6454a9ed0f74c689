/*
 * replicas.c - replica sets of token ranges, as Cassandra 4.x places them.
 *
 * The range (previous token, t] is replicated by walking the ring clockwise
 * from t (t's owner first):
 *
 * - SimpleStrategy takes the first rf distinct endpoints met.
 * - NetworkTopologyStrategy fills every dc at once in that one walk.  In a
 *   dc, an endpoint in a rack not yet used there is always taken; an
 *   endpoint in a used rack is taken only while the dc may still repeat a
 *   rack, which it may do rf - (racks in the dc) times, so that the first
 *   repeats met fill the gap when there are fewer racks than rf and every
 *   rack gets a replica before any rack gets a second otherwise.  A dc's
 *   target is min(rf, its endpoints).  (Cassandra 3.x kept the skipped
 *   endpoints aside and appended them once every rack was seen; 4.x takes
 *   them as met.  The set is the same, the order can differ: we follow 4.x.)
 *
 * The walk stops once every dc is full, and never goes more than once round
 * the ring, so a range costs at most one pass over the tokens.
 */
#include "replicas.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"

struct tok {
	int64_t token;
	size_t ep;		/* index into the sorted endpoints */
};

/* Working tables for one computation. */
struct topo {
	size_t ndc, nrack;
	size_t *ep_dc, *ep_rack;	/* per endpoint: dc id, rack id (global) */
	size_t *dc_nodes, *dc_racks;	/* per dc: endpoints, racks */
	char **dc_name;
};

static int cmp_tok(const void *a, const void *b)
{
	const struct tok *x = a, *y = b;

	/* ties (an error) by endpoint, so the message names them in order */
	if (x->token != y->token)
		return x->token < y->token ? -1 : 1;
	return x->ep < y->ep ? -1 : x->ep > y->ep;
}

static int cmp_ep(const void *a, const void *b)
{
	return strcmp(((const struct replicas_endpoint *)a)->endpoint,
	    ((const struct replicas_endpoint *)b)->endpoint);
}

static long find_ep(const struct replicas_endpoint *e, size_t n,
    const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(e[mid].endpoint, name);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

long replicas_endpoint_index(const struct replicas_map *m, const char *name)
{
	if (m == NULL || name == NULL)
		return -1;
	return find_ep(m->endpoints, m->nendpoints, name);
}

void replicas_free(struct replicas_map *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nendpoints; i++) {
		free(m->endpoints[i].endpoint);
		free(m->endpoints[i].dc);
		free(m->endpoints[i].rack);
	}
	free(m->endpoints);
	for (size_t i = 0; i < m->nranges; i++)
		free(m->ranges[i].replicas);
	free(m->ranges);
	free(m);
}

static void topo_release(struct topo *t)
{
	free(t->ep_dc);
	free(t->ep_rack);
	free(t->dc_nodes);
	free(t->dc_racks);
	free(t->dc_name);
}

/* Number the dcs and the (dc, rack) pairs of the sorted endpoints. */
static void topo_build(struct topo *t, const struct replicas_endpoint *e,
    size_t n)
{
	char **rack_dc = xcalloc(n, sizeof(*rack_dc));
	char **rack_name = xcalloc(n, sizeof(*rack_name));

	t->ep_dc = xcalloc(n, sizeof(*t->ep_dc));
	t->ep_rack = xcalloc(n, sizeof(*t->ep_rack));
	t->dc_nodes = xcalloc(n, sizeof(*t->dc_nodes));
	t->dc_racks = xcalloc(n, sizeof(*t->dc_racks));
	t->dc_name = xcalloc(n, sizeof(*t->dc_name));
	/* quadratic in endpoints, which are few (hundreds), not tokens */
	for (size_t i = 0; i < n; i++) {
		size_t d, r;
		for (d = 0; d < t->ndc && strcmp(t->dc_name[d], e[i].dc); d++)
			;
		if (d == t->ndc)
			t->dc_name[t->ndc++] = e[i].dc;
		for (r = 0; r < t->nrack && (strcmp(rack_dc[r], e[i].dc) ||
		    strcmp(rack_name[r], e[i].rack)); r++)
			;
		if (r == t->nrack) {
			rack_dc[r] = e[i].dc;
			rack_name[r] = e[i].rack;
			t->nrack++;
			t->dc_racks[d]++;
		}
		t->ep_dc[i] = d;
		t->ep_rack[i] = r;
		t->dc_nodes[d]++;
	}
	free(rack_dc);
	free(rack_name);
}

/* The per-dc replication factors of repl over t's dcs; -1 with err. */
static int dc_rfs(const struct replicas_repl *repl, const struct topo *t,
    int *rf, char *err, size_t errlen)
{
	for (size_t d = 0; d < t->ndc; d++)
		rf[d] = 0;
	if (repl->strategy == REPLICAS_SIMPLE) {
		if (repl->rf < 0) {
			snprintf(err, errlen, "replication_factor %d is negative: "
			    "give 0 or more", repl->rf);
			return -1;
		}
		return 0;
	}
	if (repl->strategy != REPLICAS_NTS) {
		snprintf(err, errlen, "unknown replication strategy %d: use "
		    "SimpleStrategy or NetworkTopologyStrategy",
		    (int)repl->strategy);
		return -1;
	}
	if (repl->ndcs > 0 && repl->dcs == NULL) {
		snprintf(err, errlen, "%zu datacenters announced but none given",
		    repl->ndcs);
		return -1;
	}
	for (size_t i = 0; i < repl->ndcs; i++) {
		const struct replicas_dc_rf *x = &repl->dcs[i];
		if (x->dc == NULL || *x->dc == '\0') {
			snprintf(err, errlen, "datacenter %zu of the replication "
			    "has no name: name every datacenter", i + 1);
			return -1;
		}
		if (x->rf < 0) {
			snprintf(err, errlen, "replication factor %d for "
			    "datacenter '%s' is negative: give 0 or more",
			    x->rf, x->dc);
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(repl->dcs[j].dc, x->dc) == 0) {
				snprintf(err, errlen, "datacenter '%s' is named "
				    "twice in the replication: name it once",
				    x->dc);
				return -1;
			}
		}
		for (size_t d = 0; d < t->ndc; d++)
			if (strcmp(t->dc_name[d], x->dc) == 0)
				rf[d] = x->rf;
	}
	return 0;
}

/* Walk state of one range, reused across ranges. */
struct walk {
	bool *ep_seen, *rack_seen;
	int *left, *repeats;	/* per dc */
};

static void walk_simple(const struct tok *tk, size_t n, size_t from, int rf,
    size_t nep, bool *seen, struct replicas_range *out)
{
	size_t want = (size_t)rf < nep ? (size_t)rf : nep;

	out->replicas = xcalloc(want ? want : 1, sizeof(size_t));
	for (size_t k = 0; k < n && out->nreplicas < want; k++) {
		size_t ep = tk[(from + k) % n].ep;
		if (!seen[ep]) {
			seen[ep] = true;
			out->replicas[out->nreplicas++] = ep;
		}
	}
	for (size_t i = 0; i < out->nreplicas; i++)
		seen[out->replicas[i]] = false;
}

static void walk_nts(const struct tok *tk, size_t n, size_t from,
    const struct topo *t, const int *rf, struct walk *w,
    struct replicas_range *out)
{
	size_t want = 0, fill = 0;

	for (size_t d = 0; d < t->ndc; d++) {
		size_t nodes = t->dc_nodes[d];
		w->left[d] = rf[d] <= 0 ? 0 :
		    (size_t)rf[d] < nodes ? rf[d] : (int)nodes;
		/* may go negative: then no rack is ever repeated */
		w->repeats[d] = rf[d] - (int)t->dc_racks[d];
		want += (size_t)w->left[d];
		if (w->left[d] > 0)
			fill++;
	}
	out->replicas = xcalloc(want ? want : 1, sizeof(size_t));
	for (size_t k = 0; k < n && fill > 0; k++) {
		size_t ep = tk[(from + k) % n].ep;
		size_t d = t->ep_dc[ep], r = t->ep_rack[ep];

		if (w->left[d] == 0 || w->ep_seen[ep])
			continue;
		if (w->rack_seen[r]) {
			if (w->repeats[d] <= 0)
				continue;
			w->repeats[d]--;
		}
		w->rack_seen[r] = true;
		w->ep_seen[ep] = true;
		out->replicas[out->nreplicas++] = ep;
		if (--w->left[d] == 0)
			fill--;
	}
	for (size_t i = 0; i < out->nreplicas; i++) {
		w->ep_seen[out->replicas[i]] = false;
		w->rack_seen[t->ep_rack[out->replicas[i]]] = false;
	}
}

/* Sorted distinct endpoints of the ring, checked; NULL with err. */
static struct replicas_endpoint *ring_endpoints(
    const struct replicas_token *ring, size_t n, size_t *nout, char *err,
    size_t errlen)
{
	struct replicas_endpoint *e = xcalloc(n, sizeof(*e));
	size_t ne = 0;

	for (size_t i = 0; i < n; i++) {
		const struct replicas_token *r = &ring[i];
		if (r->endpoint == NULL || *r->endpoint == '\0' ||
		    r->dc == NULL || *r->dc == '\0' || r->rack == NULL ||
		    *r->rack == '\0') {
			snprintf(err, errlen, "token %" PRId64 " has no endpoint, "
			    "dc or rack: give all three for every token",
			    r->token);
			goto fail;
		}
		/* e is tiny next to the tokens; a linear search is enough */
		size_t j;
		for (j = 0; j < ne && strcmp(e[j].endpoint, r->endpoint); j++)
			;
		if (j < ne) {
			if (strcmp(e[j].dc, r->dc) || strcmp(e[j].rack, r->rack)) {
				snprintf(err, errlen, "endpoint %s is in dc '%s' "
				    "rack '%s' and in dc '%s' rack '%s': an "
				    "endpoint has one place", r->endpoint, e[j].dc,
				    e[j].rack, r->dc, r->rack);
				goto fail;
			}
			continue;
		}
		e[ne].endpoint = xstrdup(r->endpoint);
		e[ne].dc = xstrdup(r->dc);
		e[ne].rack = xstrdup(r->rack);
		ne++;
	}
	qsort(e, ne, sizeof(*e), cmp_ep);
	*nout = ne;
	return e;
fail:
	for (size_t j = 0; j < ne; j++) {
		free(e[j].endpoint);
		free(e[j].dc);
		free(e[j].rack);
	}
	free(e);
	return NULL;
}

struct replicas_map *replicas_compute(const struct replicas_token *ring,
    size_t n, const struct replicas_repl *repl, char *err, size_t errlen)
{
	struct replicas_map *m = NULL;
	struct topo t = { 0 };
	struct walk w = { 0 };
	struct tok *tk = NULL;
	int *rf = NULL;

	if (ring == NULL || n == 0) {
		snprintf(err, errlen, "the ring has no tokens: give the tokens "
		    "of every node (nodetool ring)");
		return NULL;
	}
	if (repl == NULL) {
		snprintf(err, errlen, "no replication given: give the keyspace's "
		    "strategy and factors");
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->endpoints = ring_endpoints(ring, n, &m->nendpoints, err, errlen);
	if (m->endpoints == NULL)
		goto fail;
	tk = xcalloc(n, sizeof(*tk));
	for (size_t i = 0; i < n; i++) {
		tk[i].token = ring[i].token;
		tk[i].ep = (size_t)find_ep(m->endpoints, m->nendpoints,
		    ring[i].endpoint);
	}
	qsort(tk, n, sizeof(*tk), cmp_tok);
	for (size_t i = 1; i < n; i++) {
		if (tk[i].token == tk[i - 1].token) {
			snprintf(err, errlen, "token %" PRId64 " is owned twice "
			    "(%s and %s): a token has one owner", tk[i].token,
			    m->endpoints[tk[i - 1].ep].endpoint,
			    m->endpoints[tk[i].ep].endpoint);
			goto fail;
		}
	}
	topo_build(&t, m->endpoints, m->nendpoints);
	rf = xcalloc(t.ndc, sizeof(*rf));
	if (dc_rfs(repl, &t, rf, err, errlen) < 0)
		goto fail;

	w.ep_seen = xcalloc(m->nendpoints, sizeof(*w.ep_seen));
	w.rack_seen = xcalloc(t.nrack, sizeof(*w.rack_seen));
	w.left = xcalloc(t.ndc, sizeof(*w.left));
	w.repeats = xcalloc(t.ndc, sizeof(*w.repeats));
	m->ranges = xcalloc(n, sizeof(*m->ranges));
	m->nranges = n;
	for (size_t i = 0; i < n; i++) {
		struct replicas_range *r = &m->ranges[i];
		r->start = tk[(i + n - 1) % n].token;
		r->end = tk[i].token;
		if (repl->strategy == REPLICAS_SIMPLE)
			walk_simple(tk, n, i, repl->rf, m->nendpoints,
			    w.ep_seen, r);
		else
			walk_nts(tk, n, i, &t, rf, &w, r);
	}
	goto out;
fail:
	replicas_free(m);
	m = NULL;
out:
	free(w.ep_seen);
	free(w.rack_seen);
	free(w.left);
	free(w.repeats);
	free(rf);
	free(tk);
	topo_release(&t);
	return m;
}

size_t replicas_range_of(const struct replicas_map *m, int64_t t)
{
	size_t lo = 0, hi = m->nranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->ranges[mid].end < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == m->nranges ? 0 : lo;
}
