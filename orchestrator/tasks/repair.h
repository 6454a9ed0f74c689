/*
 * repair.h - the "repair" task type: anti-entropy repair of a cluster,
 * node by node and segment by segment, through `ringagent repair` over SSH
 * (nodeops_agent()).  See docs/repair.md.
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
 *   parallelism        1 (the default): one step per node and segment, one
 *                      at a time; 0 (as many as disjoint replica sets
 *                      allow) or 2..1024: one step REPAIR_PAR_STEP runs the
 *                      segment scheduler (repair_par.h); needs keyspace
 *   max_pending_compactions, segment_timeout   scheduler only: replicas
 *                      over the limit hold their segments back; a segment
 *                      past the timeout is cancelled and split
 *   intensity          0 < x <= 1, default 1: after a segment that took d,
 *                      wait d * (1 - x) / x before the next
 *   down_deadline      a duration, default "6h" (at most 11h): a segment
 *                      whose node is not up, or whose repair Cassandra
 *                      refuses with "Endpoint not alive", is postponed; the
 *                      last step "postponed segments" runs them when the
 *                      nodes are back, or after this long ends the task
 *                      partial (its message names them); "0": fail as a
 *                      down replica always did
 *   windows            maintenance windows (window.h, repair_win.h): a
 *                      segment starts only inside one; absent: any time
 *   datacenter         scheduler only: repair among the replicas in these
 *                      dcs (repair_dc.h, nodetool -dc)
 *   local_dc           parallelism 1, segments_per_node 1: -pr --in-local-dc
 *   retry_backoff      scheduler only: a duration up to 1h, default "5s"
 *                      ("0": none): a failed segment waits this long
 *                      before its next try, doubling, at most 5 min
 *   resume             scheduler only: the id of an earlier repair task of
 *                      the cluster that ended partial, failed or cancelled;
 *                      only the ranges it did not repair are planned (the
 *                      service checks the task and copies its keyspace,
 *                      table, full and parallelism: service_tasks.c)
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
#include <stdint.h>

#include <jansson.h>

struct task_type;

/* "repair" (tasks/registry.c registers it). */
extern const struct task_type repair_type;

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
/* params.down_deadline in ms into *out (0: never postpone; absent: the
 * 6 h default).  0, or -1 when it is not a duration up to 11 h. */
int repair_down_deadline_ms(const json_t *params, int64_t *out);
/* params.segment_timeout in ms into *out (0: absent, no timeout).  0,
 * or -1 when it is not a duration from 1 s to 11 h. */
int repair_segment_timeout_ms(const json_t *params, int64_t *out);
/* params.retry_backoff in ms into *out (absent: REPAIR_RETRY_BACKOFF_MS;
 * "0": 0, no backoff).  0, or -1 when not a duration up to 1 h. */
#define REPAIR_RETRY_BACKOFF_MS 5000
int repair_retry_backoff_ms(const json_t *params, int64_t *out);
/*
 * The address Cassandra names in "Endpoint not alive: /10.0.0.2:7000"
 * (nodetool's words when a replica of the range is down; 3.x prints no
 * port, IPv6 comes bracketed with one) into addr (len bytes).  0, or -1
 * when msg says no such thing or the address is not plain.
 */
int repair_endpoint_down(const char *msg, char *addr, size_t len);
/* The node a postponed step's message waits for ("postponed: waiting for
 * ADDR ...") into addr.  0, or -1 when msg is no such message. */
int repair_postponed_wait_for(const char *msg, char *addr, size_t len);

#endif
