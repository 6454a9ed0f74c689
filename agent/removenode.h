/*
 * removenode.h - `ringagent removenode --host-id H`: remove a dead node
 * from the ring through this (live) node, the eviction's first step when
 * the cluster says evict_removenode (docs/lifecycle.md, "Eviction").
 *
 * What the op does, each step checked against Cassandra itself:
 *   1. `nodetool status`: H absent -> done, nothing removed (a retry after
 *      a removal that succeeded, or a node that never joined);
 *      H up (U) in this node's view -> refused: a live node is never
 *      removed (Cassandra would refuse too, after a while);
 *   2. `nodetool removenode H` (blocks until the ranges are streamed; no
 *      nodetool_timeout: the job's timeout bounds it);
 *   3. `nodetool status` again: H must be gone.
 * Result data: {"host_id", "address" (or null), "removed": bool,
 * "already_gone": bool}.  Exit 0 done, 1 refused or failed, 2 usage,
 * 3 nodetool cannot reach Cassandra, 4 unparseable output.
 */
#ifndef RM_AGENT_REMOVENODE_H
#define RM_AGENT_REMOVENODE_H

#include <stdbool.h>

struct opctx;
struct nodetool_status;

int removenode_op(struct opctx *x, int argc, char **argv);

/* A host id as Cassandra prints it: 36 characters of lowercase hex in
 * 8-4-4-4-12 groups. */
bool removenode_host_id_valid(const char *s);
/* H's row in a parsed `nodetool status`: its status letter ('U', 'D',
 * '?') and address (borrowed; may be NULL), or 0 when H is not listed. */
char removenode_find(const struct nodetool_status *s, const char *host_id,
    const char **address);

#endif
