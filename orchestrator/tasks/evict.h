/*
 * evict.h - the "removenode" task type: `nodetool removenode <host id>`
 * of a dead node, run through the agent of a live node of the cluster as a
 * node job (`ringagent removenode --host-id H`, agent/removenode.h).  The
 * eviction sweep (service/service_evict.c) submits it before it forgets a
 * node when the cluster says evict_removenode; an operator may submit it
 * too.  docs/lifecycle.md, "Eviction".
 *
 * Params: host_id (required: the dead node's, as the store has it), and
 * the node-client params (agent, known_hosts, timeout_s; timeout_s
 * defaults to 21600: removenode streams the dead node's ranges).
 *
 * One step, "removenode": refused (not retried) while the store says the
 * node is up or agent_down (a live peer sees it up: it is never removed);
 * the live node it runs on is the first node up by address, kept for the
 * attempt.  The agent checks Cassandra's own ring before and after.
 */
#ifndef RM_EVICT_H
#define RM_EVICT_H

#include <stddef.h>

struct task_type;

/* "removenode" (tasks/registry.c registers it). */
extern const struct task_type evict_removenode_type;

#endif
