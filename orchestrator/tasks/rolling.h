/*
 * rolling.h - rolling operations: the task types "rolling-restart",
 * "config-change" and "upgrade" (docs/lifecycle.md, "Rolling
 * operations"), node by node behind the health gate (gate.h).
 *
 * Plan, per node in order (rack by rack, seeds last, or params.nodes):
 *
 *   gate      <node>   every node UN, none joining/leaving/moving (gate.h);
 *                      pause and cancel act here, before a node is touched
 *   restart   <node>   drain, stop, start, back      (rolling-restart)
 *   config    <node>   config-apply, drain, stop, start, back (config-change)
 *   upgrade   <node>   drain, stop, upgrade_command, start with nodetool
 *                      version checked, back                   (upgrade)
 *   upgradesstables <node>   (upgrade with upgradesstables: true)
 *
 * "back" is the gate that the node is UN in its own view and another's,
 * with gossip and native transport on, and every other node UN.  The
 * middle step is held (nodeops_agent_held(), gate_opts.hold): a pause or a
 * cancel asked while a node is down waits until it is back, so the task
 * stops between nodes.  Each phase on the node is idempotent
 * (agent/rolling.h), and the step first asks the node whether its
 * Cassandra started after the step began (uptime): after a kill -9 of the
 * orchestrator it goes on at the start phase instead of restarting the
 * node twice.  Finished steps are never run again (the engine resumes at
 * the first unfinished step).
 *
 * per_rack: true plans per rack instead: "rack-safety" (every keyspace
 * NetworkTopologyStrategy with RF <= racks in each of its DCs, read from
 * a node with `ringagent keyspaces`: else the task fails before touching
 * anything, naming the keyspace), then per rack "gate rack DC/RACK" and
 * "<work> rack DC/RACK" (the rack's nodes side by side, then all back).
 *
 * The pure parts below are unit-tested (tests/unit/test_rolling.c).
 */
#ifndef RM_ROLLING_H
#define RM_ROLLING_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct store_nodes;
struct task_type;

/* rolling-restart, config-change, upgrade (tasks/registry.c registers
 * them). */
extern const struct task_type rolling_restart_type, rolling_config_type,
    rolling_upgrade_type;

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
