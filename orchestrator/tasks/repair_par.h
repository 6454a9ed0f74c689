/*
 * repair_par.h - the repair task's scheduled mode (docs/repair.md, "The
 * scheduler"): with params.parallelism other than 1 the task is one
 * cluster step, REPAIR_PAR_STEP, that reads the ring and the keyspaces'
 * replication from one node (`ringagent repair-ring`), computes every
 * range's replicas (replicas.h), cuts the ranges into segments and runs
 * them through the segment scheduler (segsched.h): several at once, no
 * node in two running segments, each segment a node job on one of its
 * replicas (`ringagent repair --range S:E...`).  The step parks between
 * polls (task_wait), holding no worker.
 */
#ifndef RM_REPAIR_PAR_H
#define RM_REPAIR_PAR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "replicas.h"

struct task_ctx;
struct store_step;

#define REPAIR_PAR_STEP "repair segments"

/* The step (repair.c's run calls it for REPAIR_PAR_STEP). */
int repair_par_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen);

/*
 * The replica map of keyspace ks from `ringagent repair-ring`'s data
 * ({"datacenters": [{"name", "entries": [{"address", "rack", "state",
 * "token"}]}], "keyspaces": [{"name", "replication_class", "options"}]}).
 * Endpoints are addresses without their ":port"; Joining entries own
 * nothing.  SimpleStrategy and NetworkTopologyStrategy only.  NULL with
 * err (cause first, then what to do).  Exposed for tests.
 */
struct replicas_map *repair_par_map(const json_t *data, const char *ks,
    char *err, size_t errlen);

/*
 * The keyspaces `nodetool repair` without a keyspace repairs, from
 * repair-ring's data: every keyspace but LocalStrategy ones and
 * system_distributed (Cassandra 4.x's nodetool Repair: its
 * non-local-strategy keyspaces, system_distributed only when named).
 * Other strategies are kept: repair_par_map() refuses what it cannot
 * place.  *out (n names, caller frees each and the array); -1 with err.
 */
int repair_par_keyspaces(const json_t *data, char ***out, size_t *n,
    char *err, size_t errlen);

/*
 * Piece i of k of range r: r cut into k runs of equal width (the first
 * ones one token wider), which together are exactly r.  k >= 1, i < k;
 * the caller keeps k no larger than r's width.  Exposed for tests.
 */
void repair_par_piece(int64_t start, int64_t end, uint64_t k, uint64_t i,
    int64_t *pstart, int64_t *pend);

#endif
