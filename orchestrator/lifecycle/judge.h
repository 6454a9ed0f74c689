/*
 * judge.h - is a silent node dead, or only its agent?
 *
 * A heartbeat that stops says only that the agent stopped talking: the
 * agent may have died while Cassandra runs on, or the network between the
 * node and the orchestrator may be cut.  Replacing such a node would be a
 * disaster (a replacement of a live node fails after a minute on 4.1, and
 * an operator would then have two nodes claiming the same tokens), so the
 * verdict asks the node's peers, through what their own heartbeats say of
 * it (their `nodetool status`):
 *
 *   - heartbeat fresh                       -> what the agent reports
 *   - silent, some live peer sees it up (U) -> agent_down (never replaced)
 *   - silent, a live peer sees it DN, and
 *     no live peer sees it up               -> down (may be replaced)
 *   - silent, no live peer has a view       -> unreachable (not replaced:
 *                                              nothing confirms it dead)
 *
 * A peer is live when its own heartbeat is fresh; the view of a silent
 * peer is stale and ignored.  A view older than the node's last heartbeat
 * is ignored too: it predates the silence.
 */
#ifndef RM_JUDGE_H
#define RM_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum judge_verdict {
	JUDGE_REPORTED,		/* heartbeat fresh: use the agent's status */
	JUDGE_AGENT_DOWN,
	JUDGE_DOWN,
	JUDGE_UNREACHABLE,
};

/* One peer's view of the judged node (from the peer's heartbeat). */
struct judge_view {
	const char *observer;	/* the peer's address, for the reason */
	bool observer_live;	/* the peer's own heartbeat is fresh */
	int64_t at_ms;		/* when the peer reported it */
	char status;		/* 'U' or 'D' ('?' or 0: not seen) */
};

struct judge_in {
	int64_t now_ms;
	int64_t last_hb_ms;	/* the node's last heartbeat, 0: never */
	int64_t timeout_ms;	/* heartbeat_timeout */
	const struct judge_view *views;
	size_t nviews;
};

/*
 * The verdict; reason (when not NULL) gets one sentence naming the
 * evidence, for events and `ringsh nodes`.
 */
enum judge_verdict judge_node(const struct judge_in *in, char *reason,
    size_t reasonlen);

/* "up"-style names used in the store and the API. */
const char *judge_verdict_name(enum judge_verdict v);

#endif
