/*
 * slot.h - a cluster's one bootstrap slot.
 *
 * Cassandra's own "one range movement at a time" guard is racy: two nodes
 * started at the same moment both pass it and join together (see
 * ../shared/cassandra/4.1-behaviour.md, "bootstrap").  So the orchestrator
 * lets one node at a time join or replace: the node that holds the slot.
 * It is held until the node is UN in its own view and in a live peer's
 * (for a replacement: and the dead address has left the ring), or until
 * its deadline passes, when it is freed and the node is marked failed.
 *
 * Pure: the caller persists the slot (a compare-and-set on the cluster's
 * row, since check-ins race) and gathers the observations.
 */
#ifndef RM_SLOT_H
#define RM_SLOT_H

#include <stdbool.h>
#include <stdint.h>

enum slot_kind {
	SLOT_BOOTSTRAP,
	SLOT_REPLACE,
};

struct slot {
	bool held;
	enum slot_kind kind;
	/* The joining node; "" for a replacement still waiting for a host. */
	const char *holder;
	const char *dead_address;	/* SLOT_REPLACE: the node replaced */
	const char *dc, *rack;		/* SLOT_REPLACE: where the host goes */
	int64_t since_ms;
	int64_t deadline_ms;
};

/* What the heartbeats say of the holder. */
struct slot_obs {
	bool self_un;		/* its own nodetool status shows it UN */
	bool peer_un;		/* a live peer's shows it UN */
	int live_peers;		/* live nodes besides it: with none (a new
				 * cluster's first node) its own view is all
				 * there is */
	bool dead_gone;		/* SLOT_REPLACE: no live view lists the dead
				 * address any more */
	bool tokens_differ;	/* SLOT_REPLACE: the holder reports a token
				 * count other than the dead node's last one
				 * (heartbeats carry counts, not the tokens;
				 * false when either is not known) */
};

enum slot_next {
	SLOT_KEEP,		/* still joining: keep waiting */
	SLOT_JOINED,		/* free it: the node joined */
	SLOT_EXPIRED,		/* free it: deadline passed, node failed */
};

/* What to do with a held slot now. */
enum slot_next slot_check(const struct slot *s, int64_t now_ms,
    const struct slot_obs *o);

/* May a node at address take s now?  (Free, or it holds it already.) */
bool slot_may_take(const struct slot *s, const char *address);

const char *slot_kind_name(enum slot_kind k);

#endif
