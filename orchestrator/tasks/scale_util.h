/*
 * scale_util.h - what the node-by-node lifecycle types (scale-in,
 * decommission, scale-out, remediate, replace and its forget step) share:
 * the cluster's nodes as the pure rules see them, the checks that read the
 * peers' views the heartbeats stored, params and events.
 */
#ifndef RM_SCALE_UTIL_H
#define RM_SCALE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../store/store.h"
#include "scale_plan.h"

struct task_ctx;

/*
 * The cluster's nodes (rows, read once) as struct scale_node: load from
 * the row, free space the sum of the stored status's "disks" free_bytes
 * (-1 when none was reported), up when the row says "up".  v[i] borrows
 * rows->items[i]'s strings.  0, or -1 with err; release rows and free v
 * in every case.
 */
int scale_util_nodes(struct store *st, const char *cluster,
    struct store_nodes *rows, struct scale_node **v, char *err,
    size_t errlen);

/* rows as struct scale_node (strings borrowed from rows); free it. */
struct scale_node *scale_util_view(const struct store_nodes *rows);

/* An event of the cluster (detail taken; may be NULL). */
void scale_util_event(struct store *st, const char *cluster, const char *kind,
    const char *target, const char *result, json_t *detail);

/*
 * Which live peers still list address in the nodetool status their last
 * heartbeat carried, given only heartbeats newer than since_ms.  Fills
 * who (comma-separated, "" when none) and returns: 1 gone from every
 * live peer's view, 0 still listed (or a peer's view older than since_ms:
 * not known yet), -1 (err) when the store cannot be read or no live peer
 * is left to ask.
 */
int scale_util_gone(struct store *st, const char *cluster,
    const char *address, int64_t since_ms, char *who, size_t wholen,
    char *err, size_t errlen);

/* The string params[key], or NULL. */
const char *scale_util_pstr(const json_t *params, const char *key);
/* The validate of scale-in and scale-out: params.rack needs params.dc
 * (rack names are per datacenter).  0, or -1 with err. */
int scale_util_validate_place(json_t *params, char *err, size_t errlen);

#endif
