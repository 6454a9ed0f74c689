/*
 * hb.c - see hb.h.
 *
 * Two hash tables under one mutex: clusters (with their up/down counts, so
 * GET /clusters/{name} never scans nodes) and nodes keyed by (cluster,
 * address).  Dirty nodes are chained on a list the thread drains each
 * flush; node events (down/up) wait in a small array for the same flush.
 * The mutex is held only to touch the tables: the store is written after
 * unlocking, from copies.
 */
#include "hb.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/htab.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "../lifecycle/judge.h"
#include "../store/store.h"
#include "hb_int.h"
#include "service_json.h"


static uint64_t node_hash(const char *cluster, const char *address)
{
	return htab_hash_more(htab_hash(cluster), address);
}

struct hb_cluster *hb_do_cluster(struct hb *h, const char *name,
    bool create)
{
	uint64_t hash = htab_hash(name);
	struct hb_cluster *c;

	for (struct htab_node *n = htab_first(&h->clusters, hash); n;
	    n = htab_next(n, hash))
		if (strcmp(CLUSTER_OF(n)->name, name) == 0)
			return CLUSTER_OF(n);
	if (!create)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->name = xstrdup(name);
	htab_add(&h->clusters, &c->hn, hash);
	return c;
}


static struct hb_node *do_node(struct hb *h, const char *cluster,
    const char *address)
{
	uint64_t hash = node_hash(cluster, address);

	for (struct htab_node *n = htab_first(&h->nodes, hash); n;
	    n = htab_next(n, hash))
		if (strcmp(NODE_OF(n)->address, address) == 0 &&
		    strcmp(NODE_OF(n)->cl->name, cluster) == 0)
			return NODE_OF(n);
	return NULL;
}

static void count(struct hb_cluster *c, const char *state, int d)
{
	if (strcmp(state, "up") == 0)
		c->up += d;
	else if (strcmp(state, "down") == 0)
		c->down += d;
}


static void do_set_state(struct hb_node *n, const char *state)
{
	if (strcmp(n->state, state) == 0)
		return;
	count(n->cl, n->state, -1);
	str_copy(n->state, state, sizeof(n->state));
	count(n->cl, n->state, +1);
	n->cl->epoch++;
	n->down_since = strcmp(state, "down") == 0 ? time_wall_ms() : 0;
}

static void do_dirty(struct hb *h, struct hb_node *n)
{
	if (!n->dirty) {
		n->dirty = true;
		n->dirty_next = h->dirty;
		h->dirty = n;
	}
}

static void do_event(struct hb *h, struct hb_node *n, const char *result,
    const char *reason, int64_t now)
{
	struct node_event *e;

	if (h->nevents == h->capevents) {
		h->capevents = h->capevents ? h->capevents * 2 : 16;
		h->events = xrealloc(h->events, h->capevents * sizeof(*e));
	}
	e = &h->events[h->nevents++];
	e->cluster = xstrdup(n->cl->name);
	e->address = xstrdup(n->address);
	e->result = xstrdup(result);
	e->reason = reason != NULL ? xstrdup(reason) : NULL;
	e->at = now;
	e->last_hb = n->last_hb;
}

static struct hb_node *do_add(struct hb *h, const char *cluster,
    const char *address)
{
	struct hb_node *n = xcalloc(1, sizeof(*n));

	n->cl = hb_do_cluster(h, cluster, true);
	n->cl->nodes++;
	n->address = xstrdup(address);
	str_copy(n->state, "unknown", sizeof(n->state));
	n->load_bytes = -1;
	htab_add(&h->nodes, &n->hn, node_hash(cluster, address));
	n->next_member = n->cl->members;
	n->cl->members = n;
	n->cl->epoch++;
	return n;
}

static void set_str(char **dst, const char *src)
{
	if (src != NULL && (*dst == NULL || strcmp(*dst, src) != 0)) {
		free(*dst);
		*dst = xstrdup(src);
	}
}

static void node_free(struct hb_node *n)
{
	free(n->views);
	free(n->report);
	free(n->dc);
	free(n->rack);
	free(n->address);
	free(n->host_id);
	free(n->version);
	free(n);
}

void hb_node_set(struct hb *h, const char *cluster, const char *address,
    const char *state, int64_t last_hb_ms, const char *host_id,
    const char *version)
{
	struct hb_node *n;

	pthread_mutex_lock(&h->mtx);
	n = do_node(h, cluster, address);
	if (n == NULL)
		n = do_add(h, cluster, address);
	if (state) {
		do_set_state(n, state);
		n->reason[0] = '\0';	/* a new state, a new reason */
	}
	if (last_hb_ms > n->last_hb)
		n->last_hb = last_hb_ms;
	set_str(&n->host_id, host_id);
	set_str(&n->version, version);
	pthread_mutex_unlock(&h->mtx);
}

void hb_node_reason(struct hb *h, const char *cluster, const char *address,
    const char *reason)
{
	struct hb_node *n;

	pthread_mutex_lock(&h->mtx);
	if ((n = do_node(h, cluster, address)) != NULL)
		str_copy(n->reason, reason != NULL ? reason : "",
		    sizeof(n->reason));
	pthread_mutex_unlock(&h->mtx);
}

void hb_node_place(struct hb *h, const char *cluster, const char *address,
    const char *dc, const char *rack, int pinned)
{
	struct hb_node *n;

	pthread_mutex_lock(&h->mtx);
	n = do_node(h, cluster, address);
	if (n == NULL)
		n = do_add(h, cluster, address);
	set_str(&n->dc, dc);
	set_str(&n->rack, rack);
	if (pinned >= 0 && n->pinned != (pinned > 0)) {
		n->pinned = pinned > 0;
		n->cl->epoch++;
	}
	pthread_mutex_unlock(&h->mtx);
}

static int load(struct hb *h, char *err, size_t errlen)
{
	char **names = NULL;
	size_t n = 0;

	if (store_cluster_names(h->st, &names, &n) != 0) {
		snprintf(err, errlen, "cannot list clusters in the store");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct store_nodes v;
		/* A cluster with no node still gets counts of zero. */
		pthread_mutex_lock(&h->mtx);
		hb_do_cluster(h, names[i], true);
		pthread_mutex_unlock(&h->mtx);
		if (store_node_list(h->st, names[i], &v) != 0)
			log_warnx("cluster %s: cannot read its nodes; their "
			    "states come with their next heartbeats", names[i]);
		for (size_t k = 0; k < v.n; k++) {
			const struct store_node_row *r = &v.items[k];
			if (r->address == NULL)
				continue;
			hb_node_set(h, names[i], r->address,
			    r->state ? r->state : "unknown", r->last_heartbeat,
			    r->host_id, r->version);
			pthread_mutex_lock(&h->mtx);
			do_node(h, names[i], r->address)->load_bytes =
			    r->load_bytes;
			pthread_mutex_unlock(&h->mtx);
			hb_node_place(h, names[i], r->address, r->dc, r->rack,
			    r->is_seed);
			/* A replacement compares token counts with a dead
			 * node's last report, which only the store has now. */
			if (r->status_json != NULL) {
				pthread_mutex_lock(&h->mtx);
				set_str(&do_node(h, names[i], r->address)->report,
				    r->status_json);
				pthread_mutex_unlock(&h->mtx);
			}
		}
		store_nodes_release(&v);
		free(names[i]);
	}
	free(names);
	return 0;
}

struct hb *hb_new(struct store *st, int64_t timeout_ms, int64_t flush_ms,
    char *err, size_t errlen)
{
	struct hb *h = xcalloc(1, sizeof(*h));

	h->st = st;
	h->timeout_ms = timeout_ms;
	h->flush_ms = flush_ms > 0 ? flush_ms : 1000;
	h->started_ms = time_wall_ms();
	htab_init(&h->nodes, 1024);
	htab_init(&h->clusters, 1024);
	pthread_mutex_init(&h->mtx, NULL);
	pthread_mutex_init(&h->flush_mtx, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (load(h, err, errlen) != 0) {
		hb_free(h);
		return NULL;
	}
	return h;
}

void hb_set_timeout(struct hb *h, int64_t timeout_ms)
{
	pthread_mutex_lock(&h->mtx);
	h->timeout_ms = timeout_ms;
	pthread_mutex_unlock(&h->mtx);
}

int hb_beat(struct hb *h, const struct hb_beat *b)
{
	struct hb_node *n;
	bool was_down;
	int rc = 0;

	pthread_mutex_lock(&h->mtx);
	n = do_node(h, b->cluster, b->address);
	if (n == NULL) {
		pthread_mutex_unlock(&h->mtx);
		return -1;
	}
	/* A node's host id is its identity in the ring: once known it
	 * changes only through a replacement (service_agents.c). */
	if (b->host_id && n->host_id != NULL && !b->new_host_id_ok &&
	    strcmp(n->host_id, b->host_id) != 0) {
		pthread_mutex_unlock(&h->mtx);
		return HB_HOST_ID_CHANGE;
	}
	if ((b->host_id && (n->host_id == NULL ||
	    strcmp(n->host_id, b->host_id) != 0)) ||
	    (b->version && (n->version == NULL ||
	    strcmp(n->version, b->version) != 0))) {
		set_str(&n->host_id, b->host_id);
		set_str(&n->version, b->version);
		rc |= HB_NEW_IDENTITY;
	}
	if (n->cl->slot_holder != NULL &&
	    strcmp(n->cl->slot_holder, n->address) == 0)
		rc |= HB_SLOT_HOLDER;
	was_down = hb_silent_state(n->state);
	if (strcmp(n->state, b->status) != 0) {
		do_set_state(n, b->status);
		n->state_dirty = true;
		if (was_down && strcmp(b->status, "down") != 0)
			do_event(h, n, "up", NULL, b->at_ms);
	}
	n->reason[0] = '\0';
	if (b->views_sent) {
		n->views = xrealloc(n->views, (b->nviews ? b->nviews : 1) *
		    sizeof(*n->views));
		if (b->nviews > 0)
			memcpy(n->views, b->views, b->nviews * sizeof(*n->views));
		n->nviews = b->nviews;
		n->views_at = b->at_ms;
	}
	if (b->report_json != NULL && (n->report == NULL ||
	    strcmp(n->report, b->report_json) != 0)) {
		set_str(&n->report, b->report_json);
		n->report_dirty = true;
	}
	n->last_hb = b->at_ms;
	if (b->load_bytes >= 0 && b->load_bytes != n->load_bytes) {
		n->load_bytes = b->load_bytes;
		n->load_dirty = true;
	}
	do_dirty(h, n);
	pthread_mutex_unlock(&h->mtx);
	return rc;
}

bool hb_node_view(struct hb *h, const char *cluster, const char *address,
    char *state, size_t statelen, int64_t *last_hb_ms, int64_t *load_bytes)
{
	struct hb_node *n;

	pthread_mutex_lock(&h->mtx);
	n = do_node(h, cluster, address);
	if (n != NULL) {
		if (state)
			str_copy(state, n->state, statelen);
		if (last_hb_ms)
			*last_hb_ms = n->last_hb;
		if (load_bytes)
			*load_bytes = n->load_bytes;
	}
	pthread_mutex_unlock(&h->mtx);
	return n != NULL;
}

void hb_merge_nodes(struct hb *h, const char *cluster, json_t *nodes)
{
	size_t i;
	json_t *v;

	pthread_mutex_lock(&h->mtx);
	json_array_foreach(nodes, i, v) {
		const char *addr = json_string_value(json_object_get(v, "address"));
		struct hb_node *n = addr ? do_node(h, cluster, addr) : NULL;
		if (n == NULL)
			continue;
		json_object_set_new(v, "state", json_string(n->state));
		if (n->last_hb > 0)
			json_object_set_new(v, "last_heartbeat",
			    svc_json_time(n->last_hb));
		if (n->load_bytes >= 0)
			json_object_set_new(v, "load_bytes",
			    json_integer(n->load_bytes));
		if (n->reason[0] != '\0')
			json_object_set_new(v, "state_reason",
			    json_string(n->reason));
		/* Not yet flushed: the report shows at once too. */
		if (n->report_dirty && n->report != NULL) {
			json_t *r = json_loads(n->report, 0, NULL);
			if (r != NULL)
				json_object_set_new(v, "status", r);
		}
	}
	pthread_mutex_unlock(&h->mtx);
}

void hb_cluster_counts(struct hb *h, const char *cluster, int *up, int *down)
{
	struct hb_cluster *c;

	pthread_mutex_lock(&h->mtx);
	c = hb_do_cluster(h, cluster, false);
	*up = c ? c->up : 0;
	*down = c ? c->down : 0;
	pthread_mutex_unlock(&h->mtx);
}

void hb_state_counts(struct hb *h,
    void (*fn)(const char *cluster, const char *state, int count, void *arg),
    void *arg)
{
	static const char *const states[] = {
		"up", "down", "joining", "leaving", "moving", "unknown",
		"agent_down", "unreachable",
	};
	struct row {
		const struct hb_cluster *cl;
		char *cluster;
		int counts[ARRAY_SIZE(states)];
	} *rows = NULL;
	size_t nrows = 0;

	/* Copy the counts under the lock; write the samples after it. */
	pthread_mutex_lock(&h->mtx);
	for (size_t i = 0; i < h->clusters.nb; i++)
		for (struct htab_node *x = h->clusters.b[i]; x; x = x->next) {
			struct hb_cluster *c = CLUSTER_OF(x);
			rows = xrealloc(rows, (nrows + 1) * sizeof(*rows));
			rows[nrows].cl = c;
			rows[nrows].cluster = xstrdup(c->name);
			memset(rows[nrows].counts, 0, sizeof(rows[nrows].counts));
			nrows++;
		}
	for (size_t i = 0; i < h->nodes.nb; i++)
		for (struct htab_node *x = h->nodes.b[i]; x; x = x->next)
			for (size_t r = 0; r < nrows; r++) {
				struct hb_node *n = NODE_OF(x);
				if (rows[r].cl != n->cl)
					continue;
				for (size_t k = 0; k < ARRAY_SIZE(states); k++)
					if (strcmp(n->state, states[k]) == 0)
						rows[r].counts[k]++;
				break;
			}
	pthread_mutex_unlock(&h->mtx);
	for (size_t r = 0; r < nrows; r++) {
		for (size_t k = 0; k < ARRAY_SIZE(states); k++)
			fn(rows[r].cluster, states[k], rows[r].counts[k], arg);
		free(rows[r].cluster);
	}
	free(rows);
}

void hb_node_forget(struct hb *h, const char *cluster, const char *address)
{
	struct hb_node *n, **dp;

	pthread_mutex_lock(&h->mtx);
	n = do_node(h, cluster, address);
	if (n != NULL) {
		htab_remove(&h->nodes, &n->hn);
		for (dp = &h->dirty; *dp; dp = &(*dp)->dirty_next)
			if (*dp == n) {
				*dp = n->dirty_next;
				break;
			}
		count(n->cl, n->state, -1);
		n->cl->nodes--;
		n->cl->epoch++;
		for (struct hb_node **mp = &n->cl->members; *mp;
		    mp = &(*mp)->next_member)
			if (*mp == n) {
				*mp = n->next_member;
				break;
			}
		node_free(n);
	}
	pthread_mutex_unlock(&h->mtx);
}

void hb_down_nodes(struct hb *h, void (*fn)(const char *cluster,
    const char *address, int64_t down_since_ms, void *arg), void *arg)
{
	struct down { char *cluster, *address; int64_t since; } *v = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&h->mtx);
	for (size_t i = 0; i < h->nodes.nb; i++)
		for (struct htab_node *x = h->nodes.b[i]; x; x = x->next) {
			struct hb_node *m = NODE_OF(x);
			if (m->down_since == 0)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[n].cluster = xstrdup(m->cl->name);
			v[n].address = xstrdup(m->address);
			v[n].since = m->down_since;
			n++;
		}
	pthread_mutex_unlock(&h->mtx);
	for (size_t i = 0; i < n; i++) {
		fn(v[i].cluster, v[i].address, v[i].since, arg);
		free(v[i].cluster);
		free(v[i].address);
	}
	free(v);
}

void hb_set_sweep(struct hb *h, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&h->mtx);
	h->sweep = fn;
	h->sweep_arg = arg;
	pthread_mutex_unlock(&h->mtx);
}

struct forget_arg {
	struct hb *h;
	struct hb_cluster *c;
};

static void forget_node_of(struct htab_node *x, void *arg)
{
	struct forget_arg *a = arg;

	if (NODE_OF(x)->cl == a->c) {
		htab_remove(&a->h->nodes, x);
		node_free(NODE_OF(x));
	}
}

void hb_cluster_forget(struct hb *h, const char *cluster)
{
	struct hb_cluster *c;

	pthread_mutex_lock(&h->mtx);
	/* Rebuild the dirty list without the cluster's nodes. */
	struct hb_node *d = h->dirty, *keep = NULL;
	while (d) {
		struct hb_node *next = d->dirty_next;
		if (strcmp(d->cl->name, cluster) != 0) {
			d->dirty_next = keep;
			keep = d;
		}
		d = next;
	}
	h->dirty = keep;
	if ((c = hb_do_cluster(h, cluster, false)) != NULL) {
		struct forget_arg a = { h, c };
		htab_each(&h->nodes, forget_node_of, &a);
		htab_remove(&h->clusters, &c->hn);
		free(c->name);
		free(c->slot_holder);
		free(c);
	}
	pthread_mutex_unlock(&h->mtx);
}

/*
 * Judge every node whose heartbeat is too old; a verdict that changes
 * makes an event.  Expects the lock.
 */
static void do_detect(struct hb *h, int64_t now)
{
	for (size_t i = 0; i < h->nodes.nb; i++)
		for (struct htab_node *x = h->nodes.b[i]; x; x = x->next) {
			struct hb_node *n = NODE_OF(x);
			const char *state;
			if (now - hb_seen_ms(h, n) <= h->timeout_ms)
				continue;
			state = judge_verdict_name(hb_do_judge(h, n, now,
			    n->reason, sizeof(n->reason)));
			if (strcmp(n->state, state) == 0)
				continue;
			do_set_state(n, state);
			n->state_dirty = true;
			do_dirty(h, n);
			do_event(h, n, state, n->reason, now);
		}
}

static int do_flush(struct hb *h)
{
	struct store_hb *hbs = NULL;
	struct store_event *evs = NULL;
	struct node_event *pend;
	char **details = NULL;
	size_t n = 0, cap = 0, nev;
	char err[256];
	int rc = 0, applied = 0;

	pthread_mutex_lock(&h->mtx);
	for (struct hb_node *d = h->dirty; d; d = d->dirty_next) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			hbs = xrealloc(hbs, cap * sizeof(*hbs));
		}
		hbs[n].cluster = xstrdup(d->cl->name);
		hbs[n].address = xstrdup(d->address);
		hbs[n].state = d->state_dirty ? xstrdup(d->state) : NULL;
		hbs[n].status_json = d->report_dirty && d->report ?
		    xstrdup(d->report) : NULL;
		hbs[n].at = d->last_hb;
		hbs[n].load_bytes = d->load_dirty ? d->load_bytes : -1;
		d->dirty = d->state_dirty = d->load_dirty = false;
		d->report_dirty = false;
		n++;
	}
	h->dirty = NULL;
	pend = h->events;
	nev = h->nevents;
	h->events = NULL;
	h->nevents = h->capevents = 0;
	pthread_mutex_unlock(&h->mtx);

	if (n > 0 && (applied = store_heartbeats_apply(h->st, hbs, n, err,
	    sizeof(err))) < 0) {
		log_warnx("cannot write %zu heartbeats to the store: %s; the "
		    "next heartbeats will carry them", n, err);
		rc = -1;
	}
	/* A node whose row went while it still beats (decommissioned or
	 * replaced on purpose: tasks/scale.h) leaves the tables too; its
	 * next beat is answered "who are you?" and its check-in decides. */
	for (size_t i = 0; applied >= 0 && (size_t)applied < n && i < n; i++) {
		struct store_node_row r;
		if (store_node_get(h->st, hbs[i].cluster, hbs[i].address,
		    &r) == RM_ENOENT)
			hb_node_forget(h, hbs[i].cluster, hbs[i].address);
		store_node_row_release(&r);
	}
	if (nev > 0) {
		evs = xcalloc(nev, sizeof(*evs));
		details = xcalloc(nev, sizeof(*details));
		for (size_t i = 0; i < nev; i++) {
			char lh[48];
			time_rfc3339(pend[i].last_hb / 1000, lh, sizeof(lh));
			evs[i].at = pend[i].at;
			evs[i].actor = "ringmaster";
			evs[i].kind = "node";
			evs[i].target = pend[i].address;
			evs[i].cluster = pend[i].cluster;
			evs[i].result = pend[i].result;
			evs[i].detail_json = NULL;
			if (pend[i].reason != NULL) {
				json_t *d = json_pack("{s:s}", "reason",
				    pend[i].reason);
				evs[i].detail_json = details[i] =
				    json_dumps(d, JSON_COMPACT);
				json_decref(d);
			}
			if (strcmp(pend[i].result, "up") != 0)
				log_warnx("node %s of cluster %s is %s: %s (last "
				    "heartbeat %s)", pend[i].address,
				    pend[i].cluster, pend[i].result,
				    pend[i].reason ? pend[i].reason : "",
				    pend[i].last_hb > 0 ? lh : "at check-in");
			else
				log_info("node %s of cluster %s is up again",
				    pend[i].address, pend[i].cluster);
		}
		if (store_events_append(h->st, evs, nev, err, sizeof(err)) != 0) {
			log_warnx("cannot write %zu node events: %s", nev, err);
			rc = -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		free((char *)(uintptr_t)hbs[i].cluster);
		free((char *)(uintptr_t)hbs[i].address);
		free((char *)(uintptr_t)hbs[i].state);
		free((char *)(uintptr_t)hbs[i].status_json);
	}
	for (size_t i = 0; i < nev; i++) {
		free(pend[i].cluster);
		free(pend[i].address);
		free(pend[i].result);
		free(pend[i].reason);
		if (details != NULL)
			free(details[i]);
	}
	free(details);
	free(hbs);
	free(evs);
	free(pend);
	return rc;
}

int hb_flush(struct hb *h)
{
	int rc;

	pthread_mutex_lock(&h->flush_mtx);
	rc = do_flush(h);
	pthread_mutex_unlock(&h->flush_mtx);
	return rc;
}

static void *hb_main(void *arg)
{
	struct hb *h = arg;
	int64_t last_flush = time_mono_ms(), last_sweep = last_flush;

	pthread_mutex_lock(&h->mtx);
	while (!h->stopping) {
		int64_t tick = h->flush_ms < 250 ? h->flush_ms : 250;
		struct timespec ts;
		time_after_ms(CLOCK_REALTIME, tick, &ts);
		pthread_cond_timedwait(&h->cond, &h->mtx, &ts);
		if (h->stopping)
			break;
		do_detect(h, time_wall_ms());
		if (time_mono_ms() - last_flush >= h->flush_ms) {
			pthread_mutex_unlock(&h->mtx);
			hb_flush(h);
			last_flush = time_mono_ms();
			pthread_mutex_lock(&h->mtx);
		}
		if (h->sweep != NULL && time_mono_ms() - last_sweep >= 1000) {
			void (*fn)(void *) = h->sweep;
			void *sarg = h->sweep_arg;
			pthread_mutex_unlock(&h->mtx);
			fn(sarg);
			last_sweep = time_mono_ms();
			pthread_mutex_lock(&h->mtx);
		}
	}
	pthread_mutex_unlock(&h->mtx);
	hb_flush(h);
	return NULL;
}

int hb_start(struct hb *h, char *err, size_t errlen)
{
	int rc;

	if ((rc = pthread_create(&h->thread, NULL, hb_main, h)) != 0) {
		snprintf(err, errlen, "cannot start the heartbeat thread: %s",
		    strerror(rc));
		return -1;
	}
	h->running = true;
	return 0;
}

void hb_stop(struct hb *h)
{
	if (h == NULL || !h->running)
		return;
	pthread_mutex_lock(&h->mtx);
	h->stopping = true;
	pthread_mutex_unlock(&h->mtx);
	pthread_cond_signal(&h->cond);
	pthread_join(h->thread, NULL);
	h->running = false;
}

static void free_node(struct htab_node *x, void *arg)
{
	(void)arg;
	node_free(NODE_OF(x));
}

static void free_cluster(struct htab_node *x, void *arg)
{
	(void)arg;
	free(CLUSTER_OF(x)->name);
	free(CLUSTER_OF(x)->slot_holder);
	free(CLUSTER_OF(x));
}

void hb_free(struct hb *h)
{
	if (h == NULL)
		return;
	hb_stop(h);
	htab_each(&h->nodes, free_node, NULL);
	htab_each(&h->clusters, free_cluster, NULL);
	for (size_t i = 0; i < h->nevents; i++) {
		free(h->events[i].cluster);
		free(h->events[i].address);
		free(h->events[i].result);
		free(h->events[i].reason);
	}
	free(h->events);
	htab_release(&h->nodes);
	htab_release(&h->clusters);
	pthread_mutex_destroy(&h->mtx);
	pthread_mutex_destroy(&h->flush_mtx);
	pthread_cond_destroy(&h->cond);
	free(h);
}
