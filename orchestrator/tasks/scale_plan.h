/*
 * scale_plan.h - the pure rules of scale-in and decommission: which nodes
 * leave, and whether the nodes that stay can hold the data (disk) and the
 * replicas (RF).  No I/O: tasks/scale.c gathers the facts from the store
 * and the agents.
 */
#ifndef RM_SCALE_PLAN_H
#define RM_SCALE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Free space the nodes that stay must keep beyond the data they take. */
#define SCALE_PLAN_HEADROOM_PCT	20

/* A node as the rules see it (strings borrowed). */
struct scale_node {
	const char *address, *dc, *rack;
	int64_t load_bytes;	/* Cassandra's Load; -1: not known */
	int64_t free_bytes;	/* free bytes of its data directories; -1 */
	bool up;		/* the orchestrator has it up */
	bool seed;
};

/* A keyspace's replication in one DC; dc NULL: SimpleStrategy, rf
 * replicas over the whole cluster. */
struct scale_ks {
	char *name, *dc;
	int rf;
};

/*
 * Choose count nodes to leave among nodes[0..n) in dc and rack (NULL:
 * any), into out[0..count) as indexes.  Only up nodes are chosen.  The
 * order: non-seeds before seeds (a seed that leaves must be replaced in
 * every cassandra.yaml); then the rack with the most candidates left (so
 * racks stay even); then the least load (least to stream); then the
 * highest address (the newest, by the usual allocation).  0, or -1 with
 * err (fewer candidates than count, with the numbers).
 */
int scale_plan_choose(const struct scale_node *nodes, size_t n, int count,
    const char *dc, const char *rack, size_t *out, char *err, size_t errlen);

/*
 * Can the nodes that stay in each DC take the leaving nodes' data?  Per
 * DC: the sum of the leaving nodes' load, plus SCALE_PLAN_HEADROOM_PCT
 * percent, must fit the sum of the free space of the nodes that stay (a
 * node whose free space is not known counts 0).  A leaving node whose
 * load is not known is refused (nothing to check against).  0, or -1 with
 * err naming the DC and the numbers.
 */
int scale_plan_disk(const struct scale_node *nodes, size_t n,
    const bool *leaving, char *err, size_t errlen);

/*
 * Can every keyspace keep its replicas?  Per DC, the nodes that stay must
 * be at least the keyspace's RF there; SimpleStrategy's RF counts every
 * node that stays.  0, or -1 with err naming the keyspace, RF and count.
 */
int scale_plan_rf(const struct scale_node *nodes, size_t n,
    const bool *leaving, const struct scale_ks *ks, size_t nks, char *err,
    size_t errlen);

/*
 * The replication of keyspaces from the agent's `keyspaces` result (agent/rolling.h)
 * ({"keyspaces": [{"name", "replication_class", "options": {k: "v"}}]}),
 * parsed defensively: LocalStrategy and EverywhereStrategy (nothing to
 * lose) are left out; SimpleStrategy gives one entry (dc NULL);
 * NetworkTopologyStrategy one per DC option.  RF values must be whole
 * numbers 0-999 (4.x transient "3/1" counts the full replicas, 3).
 * 0 with *out (free with scale_plan_ks_free), or -1 with err.
 */
int scale_plan_keyspaces(const json_t *data, struct scale_ks **out,
    size_t *n, char *err, size_t errlen);
void scale_plan_ks_free(struct scale_ks *ks, size_t n);

/* "1.50 GiB": bytes for messages. */
void scale_plan_size(int64_t bytes, char *buf, size_t len);

#endif
