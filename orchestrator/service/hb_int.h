/*
 * hb_int.h - private to hb.c and hb_ring.c: the heartbeat tables and the
 * helpers both use.  Every do_ function expects h->mtx held.
 *
 * hb.c keeps the tables current (beats, check-ins, forgetting), writes
 * them to the store and runs the failure detector; hb_ring.c answers the
 * questions that forming a ring asks of them (seeds, the bootstrap slot,
 * what peers see) and judges a silent node from its peers' views.
 */
#ifndef RM_HB_INT_H
#define RM_HB_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../common/htab.h"
#include "../lifecycle/judge.h"
#include "hb.h"

#define STATE_MAX 16

struct hb_cluster {
	struct htab_node hn;		/* in hb.clusters, by name */
	char *name;
	int up, down, nodes;
	struct hb_node *members;	/* its nodes, for judging a silent one */
	uint64_t epoch;			/* bumped on any state change */
	char *slot_holder;		/* NULL: the slot is free */
};

struct hb_node {
	struct hb_cluster *cl;
	char *address;
	char *host_id, *version;	/* as last written to the store */
	char state[STATE_MAX];
	int64_t last_hb;
	int64_t load_bytes;	/* -1 unknown */
	bool dirty, state_dirty, load_dirty, report_dirty;
	struct htab_node hn;		/* in hb.nodes, by (cluster, address) */
	struct hb_node *dirty_next;
	struct hb_node *next_member;	/* in cl->members */
	struct hb_view *views;		/* its own nodetool status */
	size_t nviews;
	int64_t views_at;
	char *report;			/* its extras, JSON text */
	char *dc, *rack;
	bool pinned;			/* an operator's seed */
	char reason[200];		/* why a silent node has its state */
	int64_t down_since;		/* ms it became "down", 0 when not */
};

struct node_event {
	char *cluster, *address, *result, *reason;
	int64_t at, last_hb;
};

struct hb {
	struct store *st;
	pthread_mutex_t mtx;
	/* One flush at a time: two that overlap could write an older
	 * batch after a newer one (hb_flush is called by the thread and
	 * by a task submit). Taken before mtx, never inside it. */
	pthread_mutex_t flush_mtx;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stopping;
	int64_t timeout_ms, flush_ms, started_ms;

	struct htab nodes;		/* struct hb_node */
	struct htab clusters;		/* struct hb_cluster */
	struct hb_node *dirty;

	struct node_event *events;
	size_t nevents, capevents;

	/* Called by the thread about once a second, unlocked (hb_set_sweep). */
	void (*sweep)(void *arg);
	void *sweep_arg;
};

#define NODE_OF(n)	HTAB_ENTRY(n, struct hb_node, hn)
#define CLUSTER_OF(n)	HTAB_ENTRY(n, struct hb_cluster, hn)

/* The cluster's entry; created when asked and missing, else NULL. */
struct hb_cluster *hb_do_cluster(struct hb *h, const char *name,
    bool create);

/* States the detector gives a node whose agent went silent. */
static inline bool hb_silent_state(const char *state)
{
	return strcmp(state, "down") == 0 || strcmp(state, "agent_down") == 0 ||
	    strcmp(state, "unreachable") == 0;
}

/* When the node was last heard of: never before the daemon started. */
static inline int64_t hb_seen_ms(const struct hb *h, const struct hb_node *n)
{
	return n->last_hb > h->started_ms ? n->last_hb : h->started_ms;
}

/* The verdict on silent node n from its live peers' views (hb_ring.c);
 * reason says why. */
enum judge_verdict hb_do_judge(struct hb *h, struct hb_node *n, int64_t now,
    char *reason, size_t reasonlen);

#endif
