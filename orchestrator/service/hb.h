/*
 * hb.h - heartbeats and failure detection.
 *
 * Every known node has an entry in memory (loaded from the store at start,
 * added at check-in).  A heartbeat only updates that entry under a mutex and
 * marks it dirty, so thousands of agents heartbeating cost no transaction
 * each; an internal thread writes the dirty entries every flush interval in
 * ONE transaction (store_heartbeats_apply).  Reads merge the entry, so a
 * heartbeat shows at once.  The same thread marks down every node whose
 * last heartbeat is older than the timeout (and writes a "node" event);
 * the next heartbeat brings it back with an event too.
 *
 * A silent node is judged by what its live peers' heartbeats say of it
 * (lifecycle/judge.h): "down" only when a live peer sees it DN and none
 * sees it up; "agent_down" when a live peer sees it up (its agent died,
 * Cassandra did not); "unreachable" when no live peer has a view.  The
 * verdict is taken again on every pass, so it follows gossip (a peer sees a
 * dead node DN some seconds after it died).
 *
 * A node's "last seen" is never older than the daemon's start: after a
 * restart nodes get one full timeout to heartbeat before they are marked
 * down.
 *
 * Threading: every function is thread-safe.  Strings are copied.
 */
#ifndef RM_HB_H
#define RM_HB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct store;
struct hb;

/* st is borrowed.  Loads every node of every cluster.  NULL with err. */
struct hb *hb_new(struct store *st, int64_t timeout_ms, int64_t flush_ms,
    char *err, size_t errlen);
/* Start the flush/detector thread.  0 or -1. */
int hb_start(struct hb *h, char *err, size_t errlen);
/* Stop the thread after a last flush.  Idempotent. */
void hb_stop(struct hb *h);
void hb_free(struct hb *h);
void hb_set_timeout(struct hb *h, int64_t timeout_ms);

/*
 * A node checked in (or changed): its state, last heartbeat (ms, 0 none),
 * host id and version (NULL: keep).
 */
void hb_node_set(struct hb *h, const char *cluster, const char *address,
    const char *state, int64_t last_hb_ms, const char *host_id,
    const char *version);
/* Why the node has its state (state_reason), until its next state. */
void hb_node_reason(struct hb *h, const char *cluster, const char *address,
    const char *reason);
/* Where a node is (dc, rack) and whether an operator pinned it as a
 * seed: what the seed choice needs.  NULL keeps a value; pinned < 0 keeps. */
void hb_node_place(struct hb *h, const char *cluster, const char *address,
    const char *dc, const char *rack, int pinned);

/*
 * The cluster's seeds now (lifecycle/seeds.h, from the in-memory nodes):
 * *out a new array of new strings (the caller frees each, then it),
 * grouped by DC.  prev[nprev] are the last seeds, kept while they live.
 */
size_t hb_seeds(struct hb *h, const char *cluster, const char *const *prev,
    size_t nprev, int per_dc, char ***out);

/* A number that changes whenever a node of the cluster changes state,
 * joins or leaves: a cached seed list is stale when it changed. */
uint64_t hb_cluster_epoch(struct hb *h, const char *cluster);

/* Nodes that ever joined (host id, or seen up) and nodes up now, of a
 * cluster, not counting except (NULL: count all). */
void hb_cluster_members(struct hb *h, const char *cluster, const char *except,
    size_t *members, size_t *live_normal);

/*
 * The slot holder of a cluster, mirrored from the store ("" or NULL: free)
 * so that a heartbeat can say cheaply whether it came from the holder.
 */
void hb_slot_set(struct hb *h, const char *cluster, const char *holder);

struct slot_obs;
/*
 * What the heartbeats say of holder: its own status is up (UN), a live
 * peer sees it UN, how many other nodes are live, and whether no live view
 * lists dead (NULL: not a replacement).
 */
void hb_slot_obs(struct hb *h, const char *cluster, const char *holder,
    const char *dead, struct slot_obs *o);

/*
 * Every node of every cluster in state "down", with the wall-clock ms it
 * became so (never before the daemon started: a node loaded down counts
 * from the start); fn runs unlocked on copies.
 */
void hb_down_nodes(struct hb *h, void (*fn)(const char *cluster,
    const char *address, int64_t down_since_ms, void *arg), void *arg);
/*
 * fn(arg) is called by the heartbeat thread about once a second, holding
 * no lock (the service's periodic checks: automatic replacement).  May
 * be set at any time; NULL removes.  A call in progress may still run
 * after it returns: hb_stop() waits for it.
 */
void hb_set_sweep(struct hb *h, void (*fn)(void *arg), void *arg);

/* Forget one node (its row was deleted). */
void hb_node_forget(struct hb *h, const char *cluster, const char *address);
/* Forget every node of a cluster (deleted). */
void hb_cluster_forget(struct hb *h, const char *cluster);

/*
 * One row of a node's own `nodetool status`: what it sees of a peer.  The
 * detector asks these views before calling a silent node down (judge.h).
 */
struct hb_view {
	char address[48];	/* an IP; longer names are not kept */
	char status;		/* 'U', 'D', '?' */
	char state;		/* 'N', 'J', 'L', 'M', '?' */
};

struct hb_beat {
	const char *cluster;
	const char *address;
	const char *host_id;	/* NULL: not sent */
	const char *version;	/* NULL: not sent */
	const char *status;	/* up, joining, leaving, moving, down */
	int64_t load_bytes;	/* -1: not sent */
	int64_t at_ms;
	const struct hb_view *views;	/* with views_sent: may be 0 of them */
	size_t nviews;
	bool views_sent;
	const char *report_json;	/* the node's extras as JSON text, NULL:
					 * not sent; stored as its status */
	bool new_host_id_ok;		/* a replacement of the node is under
					 * way: its host id may change */
};
/*
 * Absorb one heartbeat: -1 when the node is not known, HB_HOST_ID_CHANGE
 * (nothing taken) when it says another host id than the one known and
 * new_host_id_ok is not set, else flags:
 * HB_NEW_IDENTITY when it carried a host_id or version other than the one
 * known (the caller writes those through to the store), HB_SLOT_HOLDER
 * when it came from the cluster's slot holder (the caller checks whether
 * it has joined).
 */
#define HB_NEW_IDENTITY	1
#define HB_SLOT_HOLDER	2
#define HB_HOST_ID_CHANGE	(-2)
int hb_beat(struct hb *h, const struct hb_beat *b);

/* Latest in-memory view of a node; false when not known. */
bool hb_node_view(struct hb *h, const char *cluster, const char *address,
    char *state, size_t statelen, int64_t *last_hb_ms, int64_t *load_bytes);
/* Merge the in-memory view into an array of the API's node objects
 * (svc_json_nodes()): state, last_heartbeat, load_bytes, state_reason for
 * a silent node, and a status report not yet flushed. */
void hb_merge_nodes(struct hb *h, const char *cluster, json_t *nodes);
/* Nodes in state up / down of a cluster. */
void hb_cluster_counts(struct hb *h, const char *cluster, int *up, int *down);
/* For /metrics: count of nodes by cluster and state; fn runs unlocked. */
void hb_state_counts(struct hb *h,
    void (*fn)(const char *cluster, const char *state, int count, void *arg),
    void *arg);
/* Write what is dirty now (shutdown, and before a task is planned from
 * the store). Flushes run one at a time. */
int hb_flush(struct hb *h);

#endif
