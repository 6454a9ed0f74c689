/*
 * scale.h - the node's side of scale-in and scale-out:
 *
 *   ringagent decommission
 *     1. `nodetool netstats`: Mode DECOMMISSIONED -> done, nothing run (a
 *        retry after a decommission that finished); LEAVING -> a
 *        decommission began earlier (a job the orchestrator lost): wait
 *        until Cassandra says DECOMMISSIONED; NORMAL -> go on; any other
 *        mode (JOINING, MOVING, DRAINED, ...) -> refused;
 *     2. `nodetool status`: this node must be UN in its own view;
 *     3. `nodetool decommission` (blocks while the node is UL and streams
 *        its ranges away; no nodetool_timeout: the job's timeout bounds
 *        it), with a progress line every 10 s;
 *     4. `nodetool netstats` again: never done until Cassandra itself says
 *        Mode DECOMMISSIONED.  That the node left every peer's view is the
 *        orchestrator's check.
 *     Result data: {"mode", "already": bool, "seconds"}.
 *
 *   ringagent cleanup [--keyspace K]...
 *     `nodetool cleanup K` per keyspace given, or `nodetool cleanup` once
 *     (every keyspace); nodetool's "jobs (2) is bigger than ..." warnings
 *     are not failures, its exit status decides.
 *     Result data: {"keyspaces": [...] (empty: all), "seconds"}.
 *
 * Exit 0 done, 1 refused or failed, 2 usage, 3 nodetool cannot reach
 * Cassandra, 4 unparseable output, 6 cancelled (a decommission Cassandra
 * began goes on: killing nodetool does not stop it).
 */
#ifndef RM_AGENT_SCALE_H
#define RM_AGENT_SCALE_H

#include <stdbool.h>
#include <stddef.h>

struct opctx;

int scale_op_decommission(struct opctx *x, int argc, char **argv);
int scale_op_cleanup(struct opctx *x, int argc, char **argv);

/*
 * The mode `nodetool netstats` prints on its "Mode: X" line (NORMAL,
 * LEAVING, DECOMMISSIONED, JOINING, ...), copied into mode.  Pure.  0, or
 * -1 with err when no such line is found or the word is not upper-case
 * letters (the output is not netstats').
 */
int scale_parse_netstats_mode(const char *buf, size_t len, char *mode,
    size_t modelen, char *err, size_t errlen);

/* A keyspace name Cassandra accepts: 1-48 of [A-Za-z0-9_]. */
bool scale_keyspace_valid(const char *s);

#endif
