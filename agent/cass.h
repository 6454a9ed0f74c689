/*
 * cass.h - the local Cassandra node as the agent sees it: nodetool runs
 * with a deadline and parsed output, the data directories, the start and
 * stop commands, and the report that heartbeats and `ringagent status`
 * carry.
 *
 * Functions that run nodetool return an enum cass_rc so callers can map a
 * failure to an exit code without reading messages: the node refused
 * (CASS_FAILED), could not be reached at all (CASS_UNREACHABLE: nodetool
 * missing, not executable, timed out, or "Failed to connect"), or printed
 * something the parser does not understand (CASS_UNPARSEABLE, with the
 * parser's "nodetool status: line 5: ..." message).  err always names the
 * command.
 *
 * base, where taken, lends cancel/watch settings (may be NULL); the
 * timeout is the config's nodetool_timeout.  Strings and structs returned
 * through out parameters belong to the caller.
 */
#ifndef RM_CASS_H
#define RM_CASS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "nodetool.h"
#include "proc.h"

struct agentcfg;

enum cass_rc {
	CASS_OK = 0,
	CASS_FAILED = 1,		/* nodetool ran and reported an error */
	CASS_UNREACHABLE = 3,		/* could not run nodetool or reach Cassandra */
	CASS_UNPARSEABLE = 4,		/* output not understood */
	CASS_CANCELLED = 6,
};

/* "ok", "failed", "nodetool_unreachable", "nodetool_unparseable", "cancelled". */
const char *cass_rc_code(enum cass_rc rc);

/*
 * Run `nodetool args...`; on CASS_OK *out is its stdout (caller frees).
 * args is NULL-terminated.
 */
enum cass_rc cass_nodetool(const struct agentcfg *c, const char *const *args,
    const struct proc_opts *base, char **out, char *err, size_t errlen);

enum cass_rc cass_info(const struct agentcfg *c, const struct proc_opts *base,
    struct nodetool_info **out, char *err, size_t errlen);
enum cass_rc cass_status(const struct agentcfg *c, const struct proc_opts *base,
    struct nodetool_status **out, char *err, size_t errlen);
enum cass_rc cass_version(const struct agentcfg *c, const struct proc_opts *base,
    struct nodetool_version **out, char *err, size_t errlen);
enum cass_rc cass_gossipinfo(const struct agentcfg *c,
    const struct proc_opts *base, struct nodetool_gossipinfo **out,
    char *err, size_t errlen);

/*
 * `nodetool tablestats names...` parsed: names[0..n) are keyspaces or
 * "ks.table"; none means every table.  The one place the agent asks
 * Cassandra which tables it has and how many SSTables each holds.
 */
enum cass_rc cass_tablestats(const struct agentcfg *c,
    const struct proc_opts *base, const char *const *names, size_t n,
    struct nodetool_tablestats **out, char *err, size_t errlen);

/* True when any data dir holds an SSTable: data/<keyspace>/<table>/ *-Data.db. */
bool cass_has_data(const struct agentcfg *c);

/* [{"path","free_bytes","total_bytes"}] per data dir, "error" when statvfs fails. */
json_t *cass_disks_json(const struct agentcfg *c);

/*
 * What a caller that reports again and again (the heartbeat) remembers
 * between reports: the release Cassandra printed for the gossip
 * generation it ran under.  A release changes only with a restart, and a
 * restart takes a new generation, so while `nodetool info` shows the same
 * generation the release is not asked again: one JVM fewer per
 * heartbeat.  Zeroed to start; cass_seen_release() frees it.
 */
struct cass_seen {
	int64_t generation;
	char *release;
};

void cass_seen_release(struct cass_seen *s);

/*
 * What the node looks like now: process_up, status (up, joining, leaving,
 * moving, down), host_id, cassandra_version, gossip, native_transport,
 * load_bytes, tokens, uptime_s, disks, has_data, peers (the parsed
 * `nodetool status`), and "errors" (messages of what could not be read).
 * Never NULL.  *rc is the worst nodetool result (CASS_OK when all ran).
 * seen, when not NULL, spares `nodetool version` (struct cass_seen).
 */
json_t *cass_report(const struct agentcfg *c, const struct proc_opts *base,
    struct cass_seen *seen, enum cass_rc *rc);

/*
 * The node's view alone, from `nodetool status` only (one JVM, where
 * cass_report runs two or three): process_up, status, tokens, peers and
 * errors.  What a gate needs of every node but the one it waits for.
 */
json_t *cass_view(const struct agentcfg *c, const struct proc_opts *base,
    enum cass_rc *rc);

/*
 * Run cassandra_start (or cassandra_stop) and wait for it with the
 * config's start_timeout.  0, or -1 with "cassandra_start 'cmd' exited
 * with status 1: <stderr>" in err.
 */
int cass_start(const struct agentcfg *c, char *err, size_t errlen);
int cass_stop(const struct agentcfg *c, char *err, size_t errlen);

#endif
