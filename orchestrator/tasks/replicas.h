/*
 * replicas.h - which endpoints hold each token range of a keyspace, computed
 * from the ring and the keyspace's replication the way Cassandra 4.x does
 * (SimpleStrategy.calculateNaturalReplicas and
 * NetworkTopologyStrategy.calculateNaturalReplicas).  Pure: no I/O, no
 * globals; the repair scheduler (segsched.h) rests on it.
 *
 * The repair task's scheduled step uses it (repair_par.h; docs/repair.md,
 * "Replica sets and the segment scheduler").
 */
#ifndef RM_REPLICAS_H
#define RM_REPLICAS_H

#include <stddef.h>
#include <stdint.h>

/* One token of the ring and the endpoint that owns it (Murmur3 tokens). */
struct replicas_token {
	int64_t token;
	const char *endpoint;	/* an address as nodetool prints it */
	const char *dc;
	const char *rack;
};

enum replicas_strategy {
	REPLICAS_SIMPLE,	/* SimpleStrategy: rf */
	REPLICAS_NTS,		/* NetworkTopologyStrategy: dcs */
};

struct replicas_dc_rf {
	const char *dc;		/* a dc the ring lacks is fine: no replicas there */
	int rf;			/* >= 0 */
};

struct replicas_repl {
	enum replicas_strategy strategy;
	int rf;				/* SimpleStrategy, >= 0 */
	const struct replicas_dc_rf *dcs;	/* NTS, distinct dc names */
	size_t ndcs;
};

struct replicas_endpoint {
	char *endpoint, *dc, *rack;
};

/* (start, end]: start == end only for the whole ring of a one-token ring. */
struct replicas_range {
	int64_t start, end;
	size_t *replicas;	/* indices into replicas_map.endpoints, in
				 * Cassandra's order (the primary first) */
	size_t nreplicas;
};

struct replicas_map {
	struct replicas_endpoint *endpoints;	/* sorted by endpoint */
	size_t nendpoints;
	/*
	 * One range per token, in token order by end: ranges[0] is the
	 * wrap-around range (last token, first token].
	 */
	struct replicas_range *ranges;
	size_t nranges;
};

/*
 * The replica set of every range.  The ring may come in any order; an
 * endpoint may own many tokens (vnodes) but must name the same dc and rack
 * each time.  Refused with err (and NULL): an empty ring, a duplicate token,
 * an endpoint in two places, empty names, a negative RF, a dc named twice.
 * An RF of 0 (or a dc the ring lacks) gives no replicas there; an RF larger
 * than a dc's endpoints gives all of them.  Caller frees with replicas_free.
 */
struct replicas_map *replicas_compute(const struct replicas_token *ring,
    size_t n, const struct replicas_repl *repl, char *err, size_t errlen);
void replicas_free(struct replicas_map *m);

/* The index of the range that holds token t: the first range whose end is
 * >= t, wrapping to ranges[0]. */
size_t replicas_range_of(const struct replicas_map *m, int64_t t);

/* The index of endpoint name in m->endpoints, or -1. */
long replicas_endpoint_index(const struct replicas_map *m, const char *name);

#endif
