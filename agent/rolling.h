/*
 * rolling.h - the node's side of rolling operations (restart, config
 * change, upgrade; docs/agent.md).  The orchestrator runs them one node at
 * a time between health gates (orchestrator/tasks/gate.h); each op here
 * does one phase and checks it with nodetool before it says done, and each
 * is safe to run twice (a step re-run after a crash): drain of a node
 * already down, stop of a stopped node, start of a running node succeed
 * and say so.
 *
 *   health [--nonce N] [--compactions]
 *       `status --json`'s report, plus "pending_compactions" (nodetool
 *       compactionstats) with --compactions; --nonce is ignored (it makes
 *       each gate round a new job).  Exit as status: 3 when nodetool does
 *       not reach Cassandra, with the report.
 *   drain
 *       nodetool drain, then nodetool info must show gossip and native
 *       transport off.  A node whose Cassandra is down: nothing to drain.
 *   stop
 *       cassandra_stop, then nodetool must no longer reach Cassandra
 *       (asked every second up to start_timeout).
 *   start [--expect-version V]
 *       cassandra_start (not run when nodetool already reaches it), then
 *       nodetool info must answer with gossip and native transport on, up
 *       to start_timeout; with --expect-version, nodetool version must
 *       show V.
 *   upgrade --version V
 *       the config's upgrade_command with "{version}" replaced by V (and
 *       RM_VERSION=V in its environment), run while Cassandra is stopped;
 *       V is digits, letters, '.', '-' only.  When the command left
 *       Cassandra running, nodetool version must show V.
 *   upgradesstables
 *       nodetool upgradesstables (every keyspace), no deadline of its own.
 *   keyspaces
 *       the keyspaces and their replication (nodetool describecluster),
 *       for the orchestrator's rack-safety rule.
 *   config-apply [--yaml KEY=VALUE]... [--jvm OPTION]...
 *       cassconf_apply() (cassconf.h): every key and option validated
 *       first, nothing written unless all are valid; a backup of each
 *       file it changes (<file>.rm-bak-<unix time>).  Takes effect at the
 *       next start.
 */
#ifndef RM_ROLLING_H
#define RM_ROLLING_H

#include <stdbool.h>

struct opctx;

int rolling_op_health(struct opctx *x, int argc, char **argv);
int rolling_op_drain(struct opctx *x, int argc, char **argv);
int rolling_op_stop(struct opctx *x, int argc, char **argv);
int rolling_op_start(struct opctx *x, int argc, char **argv);
int rolling_op_upgrade(struct opctx *x, int argc, char **argv);
int rolling_op_upgradesstables(struct opctx *x, int argc, char **argv);
int rolling_op_keyspaces(struct opctx *x, int argc, char **argv);
int rolling_op_config_apply(struct opctx *x, int argc, char **argv);

#endif
