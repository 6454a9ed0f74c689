/*
 * rolling.h - rolling operations: the task types "rolling-restart",
 * "config-change" and "upgrade" (docs/lifecycle.md, "Rolling
 * operations"), node by node behind the health gate (gate.h).
 *
 * Plan, per node in order (rack by rack, seeds last, or params.nodes):
 *
 *   gate      <node>   every node UN, none joining/leaving/moving (gate.h);
 *                      pause and cancel act here, before a node is touched
 *   restart   <node>   drain, stop, start            (rolling-restart)
 *   config    <node>   config-apply, drain, stop, start   (config-change)
 *   upgrade   <node>   drain, stop, upgrade_command, start with
 *                      nodetool version checked            (upgrade)
 *   back      <node>   the node UN in its own view and another's, gossip
 *                      and native transport on, every other node UN
 *   upgradesstables <node>   (upgrade with upgradesstables: true)
 *
 * The middle step and "back" are held: a pause or a cancel asked while a
 * node is down waits until it is back, so the task stops between nodes.
 * Each phase on the node is idempotent (agent/rolling.h), and the middle
 * step asks the node first whether its Cassandra started after the step
 * began: after a kill -9 of the orchestrator it resumes at the start
 * phase instead of restarting a node twice.  Finished steps are never
 * run again (the engine resumes at the first unfinished step).
 *
 * per_rack: true plans per rack instead: "rack-safety" (every keyspace
 * NetworkTopologyStrategy with RF <= racks in each of its DCs, read from
 * a node with `ringagent keyspaces`: else the task fails before touching
 * anything, naming the keyspace), then per rack "gate rack DC/RACK",
 * "<phase> rack DC/RACK" (the rack's nodes together), and "back" per node.
 *
 * The pure parts below are unit-tested (tests/unit/test_rolling.c).
 */
#ifndef RM_ROLLING_H
#define RM_ROLLING_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct store_nodes;
struct task_engine;

/* Register the three types.  0 or -1 with err. */
int rolling_register(struct task_engine *e, char *err, size_t errlen);

/*
 * The order nodes are rolled in: order[0..*n) are indexes into nodes.
 * With list (a JSON array of addresses, may be NULL) its order, each
 * address a node of the cluster and named once (else -1 with err naming
 * it).  Without: rack by rack (by DC, then rack, as sorted names), each
 * rack's non-seeds by address, then the seeds in the same order.  order
 * holds nodes->n entries.
 */
int rolling_order(const struct store_nodes *nodes, const json_t *list,
    size_t *order, size_t *n, char *err, size_t errlen);

/*
 * true when restarting a whole rack keeps every range available:
 * keyspaces is `ringagent keyspaces`' array ([{"name", "replication_class",
 * "options": {dc: rf, ...}}]); LocalStrategy and EverywhereStrategy
 * keyspaces are skipped; every other must be NetworkTopologyStrategy with,
 * in each DC it names, RF <= the racks the cluster's nodes have in that
 * DC.  false with the first keyspace that is not, and why.
 */
bool rolling_rack_safe(const json_t *keyspaces, const struct store_nodes *nodes,
    char *why, size_t whylen);

/*
 * Whether an upgrade from release from to release to is allowed: to's
 * major is from's or the next one ("3.11.14" -> "4.1.3" yes, "3.11" ->
 * "5.0" no, a downgrade of the major no).  from NULL or unparsable: true
 * (nothing known to refuse).  false with why.
 */
bool rolling_upgrade_ok(const char *from, const char *to, char *why,
    size_t whylen);

#endif
