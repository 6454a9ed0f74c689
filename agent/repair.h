/*
 * repair.h - the agent's side of repairs: `ringagent repair`, and the token
 * arithmetic that cuts a node's primary ranges into segments.
 *
 *   ringagent repair [--keyspace K [--table T]...] [--full|--incremental]
 *                    [--segment I/N | --range ST:ET...] [--try N] --json
 *   ringagent repair-ring --json
 *
 * Without --segment it runs `nodetool repair -pr` (the node's primary
 * ranges).  With --segment I/N it reads `nodetool ring`, takes the ranges
 * that end at this node's tokens, cuts them into N segments
 * (repair_split()) and repairs segment I with one `nodetool repair -st S
 * -et E` per sub-range: a sub-range never crosses a ring range, which
 * Cassandra refuses ("intersects a local range ... but is not fully
 * contained in one").  With --range ST:ET (repeatable, up to
 * REPAIR_MAX_RANGES, exclusive with --segment) it repairs exactly the
 * ranges given, (ST, ET] each, one `nodetool repair -st ST -et ET` per
 * range in the order given; a wrapping range (ST > ET) is passed whole, as
 * Cassandra accepts it.  The result data's "ranges" lists the ranges
 * ({"start","end"} token strings); on a failure "ranges_done" says how
 * many of them were repaired first.  Every nodetool line becomes a
 * progress line; the result is parsed with nodetool_parse_repair().  A
 * keyspace with RF 1 is "nothing to do", not a failure; "Endpoint not
 * alive" fails (exit 1) with nodetool's message, which names the
 * endpoint; an unknown keyspace is a usage error (exit 2).  --dc NAME
 * (repeatable, up to REPAIR_MAX_DCS) passes `-dc NAME` to every nodetool
 * repair: only replicas in those dcs take part; --in-local-dc passes
 * `--in-local-dc` (the coordinator's dc).  4.1.1 accepts either with
 * -st/-et, --in-local-dc with -pr, and refuses -dc with -pr ("Primary
 * range repair should be performed on all nodes in the cluster.").
 *
 * Tokens are Murmur3Partitioner's: signed 64-bit, a range (s, e] runs
 * clockwise from s and wraps past the maximum; (t, t] is the whole ring.
 *
 * The operation follows ops.h through its op_progress(), op_result() and
 * op_proc_opts() (JSON lines, OPEXIT_*, cancel on a "cancel" line, a
 * signal or a closed stdout: nodetool is killed).  Killing nodetool does
 * not stop what it started inside Cassandra, so on cancel an incremental
 * repair (4.x) also fails the sessions it started: their ids are those in
 * `nodetool repair_admin list` after the cancel that were not there before
 * the repair, each given to `nodetool repair_admin cancel --session ID`.
 * A full repair's sessions are stopped with the JMX operation no nodetool
 * command of 4.1 calls, StorageServiceMBean.forceTerminateAllRepairSessions(),
 * through the SJK tool nodetool bundles (`nodetool sjk mx ... -mc -op
 * forceTerminateAllRepairSessions`): it ends every repair session this node
 * coordinates, which is only ours because the orchestrator never puts a
 * node in two running repairs (docs/repair.md).
 */
#ifndef RM_AGENT_REPAIR_H
#define RM_AGENT_REPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct opctx;
struct nodetool_ring;

#define REPAIR_MAX_SEGMENTS 1024
#define REPAIR_MAX_RANGES 1024		/* --range options in one op */
#define REPAIR_MAX_DCS 16		/* --dc options in one op */

/* (start, end] on the ring. */
struct repair_range {
	int64_t start, end;
};

/* One segment: sub-ranges in ring order (ranges owned by the segment). */
struct repair_segment {
	struct repair_range *ranges;
	size_t n;
};

int repair_op(struct opctx *x, int argc, char **argv);
/* `ringagent repair-ring`: the ring ("datacenters", as nodetool_ring_json)
 * and the keyspaces with their replication ("keyspaces"), for the
 * orchestrator's replica sets (orchestrator/tasks/replicas.h). */
int repair_op_ring(struct opctx *x, int argc, char **argv);

/* One row of `nodetool repair_admin list` (4.x's incremental sessions). */
struct repair_admin_session {
	char id[40];			/* the parent repair session's UUID */
	char state[24];			/* PREPARING, REPAIRING, FINALIZED, FAILED... */
	char coordinator[80];		/* as printed: "/127.0.0.1:7000" */
};

/*
 * Parse `nodetool repair_admin list` output: "no sessions", or 4.1's table
 * (columns padded and joined with " | ", a header row "id | state | ...").
 * *out (caller frees; NULL when none) gets the rows.  0, or -1 with
 * "line N: ..." in err for anything else.
 */
/*
 * Whether `nodetool sjk mx -mc -op forceTerminateAllRepairSessions` ran the
 * operation: SJK exits 0 either way (seen on 4.1.1), printing the bean name
 * and "null" (the void result) on stdout when it ran, and a Java exception
 * on stderr when it did not.  out and errout may be NULL.
 */
bool repair_sjk_invoked(const char *out, const char *errout);

int repair_admin_parse(const char *text, struct repair_admin_session **out,
    size_t *n, char *err, size_t errlen);

/* Parse a Murmur3 token ("-9223372036854775808" .. "9223372036854775807"):
 * 0, or -1 when s is not one (RandomPartitioner tokens are too large). */
int repair_token_parse(const char *s, int64_t *out);

/*
 * Parse --range's "ST:ET" into (ST, ET]: two Murmur3 tokens, strictly
 * decimal (an optional '-', digits; no spaces, no '+'), ST != ET.  0, or
 * -1 with err naming the text.
 */
int repair_range_parse(const char *s, struct repair_range *out, char *err,
    size_t errlen);

/* Number of tokens in (start, end]; the whole ring ((t, t]) gives
 * UINT64_MAX, one short of 2^64. */
uint64_t repair_range_width(struct repair_range r);

/*
 * The primary ranges of a node: for each token t of own, (the ring token
 * before t, t].  ring holds every token of the ring (any order, duplicates
 * ignored) and must contain own.  *out (caller frees) is in ring order (by
 * end token).  0, or -1 with err.
 */
int repair_primary_ranges(const int64_t *ring, size_t nring,
    const int64_t *own, size_t nown, struct repair_range **out, size_t *nout,
    char *err, size_t errlen);

/*
 * The primary ranges of address (with or without ":port") from `nodetool
 * ring` output: tokens of every DC; Joining nodes own nothing.  0, or -1
 * with err (unknown address, non-Murmur3 tokens).
 */
int repair_ring_primary(const struct nodetool_ring *ring, const char *address,
    struct repair_range **out, size_t *nout, char *err, size_t errlen);

/*
 * Cut ranges (ring order) into nseg segments that tile them exactly and
 * never cross a range: with nseg <= n, consecutive whole ranges (n/nseg or
 * one more each); with nseg > n, each range is cut into equal pieces, the
 * extra pieces going to the widest ranges, one piece per segment.  Fewer
 * segments come back only when the ranges hold fewer tokens than nseg.
 * Returns the number of segments, *out (free with repair_segments_free).
 */
size_t repair_split(const struct repair_range *ranges, size_t n, size_t nseg,
    struct repair_segment **out);
void repair_segments_free(struct repair_segment *s, size_t n);

#endif
