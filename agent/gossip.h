/*
 * gossip.h - an address gossip must forget, and the check that it has.
 *
 * Cassandra 4.1 keeps a row for a node replaced by a host with another
 * address in some peers' system.peers_v2; a peer that restarts after the
 * replacement is itself removed brings the old address back, DN and
 * owning tokens (docs/lifecycle.md, "Cassandra 4.1 and replaced
 * addresses").  `nodetool assassinate` gossips the address as LEFT, and
 * every peer then drops its row.
 *
 *   ringagent assassinate --address A
 *     1. `nodetool status`: A up (U) in this node's view -> refused: a live
 *        node is never assassinated; A is this node -> refused;
 *     2. `nodetool gossipinfo`: A LEFT and not in the ring -> done,
 *        nothing sent (absent is not enough: the peers_v2 rows are in no
 *        nodetool output);
 *     3. `nodetool assassinate A` (4.1 may take RING_DELAY, 30 s by
 *        default: the job's timeout bounds it, not nodetool_timeout);
 *     4. `nodetool gossipinfo` again: A must be LEFT or absent.
 *   ringagent gossip-check --address A [--round N]
 *     only step 2's reading, for the other live nodes.
 *
 * Result data of both: {"address", "state": "absent" | "left" | "listed",
 * "status": gossip's STATUS word or null, "ring": the status letters from
 * nodetool status ("DN") or null, "assassinated": bool}.  Exit 0 done (for
 * gossip-check: read, whatever the state), 1 refused or failed, 2 usage,
 * 3 nodetool cannot reach Cassandra, 4 unparseable output.
 */
#ifndef RM_AGENT_GOSSIP_H
#define RM_AGENT_GOSSIP_H

struct opctx;
struct nodetool_gossipinfo;

enum gossip_state {
	GOSSIP_ABSENT,		/* not in this node's gossip */
	GOSSIP_LEFT,		/* listed with status LEFT: being forgotten */
	GOSSIP_LISTED,		/* listed with any other status, or none */
};

/* What gossip holds of address. */
enum gossip_state gossip_state_of(const struct nodetool_gossipinfo *g,
    const char *address);
const char *gossip_state_name(enum gossip_state s);

int gossip_op_assassinate(struct opctx *x, int argc, char **argv);
int gossip_op_check(struct opctx *x, int argc, char **argv);

#endif
