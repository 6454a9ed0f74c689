/*
 * store_tombstone.h - the host ids of nodes the orchestrator took out on
 * purpose (a decommission, a remediation): when such a node's agent
 * checks in again it is refused instead of listed again as a member
 * (a decommissioned Cassandra refuses to start, a replaced one would
 * bring back tokens another node owns).  Included by store.h, whose
 * conventions apply.  A new host, or the same host wiped, reports no
 * host id and is never refused.
 */
#ifndef RM_STORE_TOMBSTONE_H
#define RM_STORE_TOMBSTONE_H

#include "store.h"

struct store_tombstone {
	char address[256];
	char reason[512];
	char task_id[STORE_ID_MAX];
	int64_t at;			/* ms */
};

/* Record (or renew) the tombstone of host_id: 0, RM_ENOENT (no such
 * cluster), RM_ERR. */
int store_tombstone_put(struct store *st, const char *cluster,
    const char *host_id, const char *address, const char *reason,
    const char *task_id, char *err, size_t errlen);
/* 0 with *out, RM_ENOENT (none), RM_ERR. */
int store_tombstone_get(struct store *st, const char *cluster,
    const char *host_id, struct store_tombstone *out);

#endif
