/*
 * scale.h - the task types that take nodes out of a cluster, one by one:
 *
 *   decommission  params.nodes: the addresses, in that order
 *   scale-in      params.count (and dc, rack): the nodes are chosen at
 *                 submission (scale_plan_choose(): non-seeds first, the
 *                 fullest rack, the least load, the highest address) and
 *                 written into the plan, so a restart never chooses again
 *
 * Refused at submission (409, nothing recorded) when a node is unknown or
 * not up, or the nodes that stay lack the disk for the leaving nodes'
 * load (scale_plan_disk()); the first step, check, asks a live node for
 * every keyspace's replication and fails the task before any node is
 * touched when a DC would keep fewer nodes than some keyspace's RF.
 *
 * Steps, per node X in order: gate X (the cluster healthy: every node UN
 * in every view, none joining, leaving or moving), decommission X
 * (`ringagent decommission` as a node job: Cassandra says
 * DECOMMISSIONED), gone X (no live peer's nodetool status lists X, from
 * heartbeats newer than the decommission), forget X (X's record and SSH
 * pin go; a `decommission` event with result `done` keeps its history).
 * A step that succeeded is never run again, so after a kill -9 the task
 * resumes at the node and step it was on; pause, resume and cancel take
 * effect at the next step boundary (between nodes at the gate); a node
 * that is leaving is never cut short (nodeops_agent_held()): the task
 * pauses or stops once Cassandra says it left.
 */
#ifndef RM_TASKS_SCALE_H
#define RM_TASKS_SCALE_H

#include <stddef.h>

struct task_type;

/* decommission and scale-in (tasks/registry.c registers them). */
extern const struct task_type scale_decommission_type, scale_in_type;

#endif
