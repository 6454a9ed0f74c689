/*
 * repair.h - the "repair" task type: anti-entropy repair of a cluster,
 * node by node and segment by segment, through `ringagent repair` over SSH
 * (nodeops_agent()).  See docs/repair.md.
 *
 * Wiring (service_start), after nodeops_register() and before task_start():
 *	repair_register(engine, err, errlen);
 *
 * Params (validate fills in the defaults):
 *   keyspace           one keyspace; absent: every keyspace nodetool
 *                      repairs by default (all but LocalStrategy ones)
 *   table              a table name or an array of them (needs keyspace)
 *   full               full (true, the default) or incremental repair
 *   segments_per_node  1..1024, default 1: 1 runs `nodetool repair -pr`
 *                      per node; N > 1 cuts each node's primary ranges into
 *                      N segments along the ring's own ranges and runs one
 *                      step per segment (`-st/-et` per sub-range)
 *   parallelism        1 (the default and, for now, the only value): the
 *                      engine runs a task's steps one at a time
 *   intensity          0 < x <= 1, default 1: after a segment that took d,
 *                      wait d * (1 - x) / x before the next
 *   agent, known_hosts, timeout_s   as for every nodeops step (nodeops.h);
 *                      timeout_s defaults to 21600 here
 *
 * Plan: segment-major, one step per node per segment ("repair" or "repair
 * segment I/N" on each node), so consecutive steps land on different nodes.
 * Each step is persisted: after a restart finished segments are not run
 * again, an interrupted one is run again from its start.
 */
#ifndef RM_REPAIR_H
#define RM_REPAIR_H

#include <stddef.h>

#include <jansson.h>

/* Register the type.  0 or -1 with err. */
struct task_engine;
int repair_register(struct task_engine *e, char *err, size_t errlen);

/* Exposed for tests: validate and default params as the type does. */
int repair_validate_params(json_t *params, char *err, size_t errlen);
/* The segment of a step name: "repair" is 0/0 (-pr), "repair segment I/N"
 * is I/N.  0, or -1 when name is neither. */
int repair_step_segment(const char *name, int *seg, int *nseg);
/*
 * The closing message of a repair step from the agent's result data
 * (sessions, repaired, not_needed, ...; any may be missing).  seg/nseg as
 * repair_step_segment() gives them.  A new string, the caller frees it.
 */
char *repair_summary(const json_t *d, int seg, int nseg);

#endif
