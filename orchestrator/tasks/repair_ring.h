/*
 * repair_ring.h - the ring as the scheduled repair step sees it, from
 * `ringagent repair-ring`'s data: the replica map of a keyspace, the
 * keyspaces a repair without one covers, and the cut of a range into
 * equal pieces (repair_ring.c).  Pure functions, exposed for tests.
 */
#ifndef RM_REPAIR_RING_H
#define RM_REPAIR_RING_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "replicas.h"

/*
 * The replica map of keyspace ks from `ringagent repair-ring`'s data
 * ({"datacenters": [{"name", "entries": [{"address", "rack", "state",
 * "token"}]}], "keyspaces": [{"name", "replication_class", "options"}]}).
 * Endpoints are addresses without their ":port"; Joining entries own
 * nothing.  SimpleStrategy and NetworkTopologyStrategy only.  NULL with
 * err (cause first, then what to do).  Exposed for tests.
 */
struct replicas_map *repair_ring_map(const json_t *data, const char *ks,
    char *err, size_t errlen);

/*
 * The keyspaces `nodetool repair` without a keyspace repairs, from
 * repair-ring's data: every keyspace but LocalStrategy ones and
 * system_distributed (Cassandra 4.x's nodetool Repair: its
 * non-local-strategy keyspaces, system_distributed only when named).
 * Other strategies are kept: repair_ring_map() refuses what it cannot
 * place.  *out (n names, caller frees each and the array); -1 with err.
 */
int repair_ring_keyspaces(const json_t *data, char ***out, size_t *n,
    char *err, size_t errlen);

/*
 * Piece i of k of range r: r cut into k runs of equal width (the first
 * ones one token wider), which together are exactly r.  k >= 1, i < k;
 * the caller keeps k no larger than r's width.  Exposed for tests.
 */
void repair_ring_piece(int64_t start, int64_t end, uint64_t k, uint64_t i,
    int64_t *pstart, int64_t *pend);

#endif
