/*
 * placement.h - shuffle-shard placement of tenants on a pool of services.
 *
 * A tenant's shard is n distinct live services of the pool with its own
 * overlap bound m; two shards a and b share at most min(a.m, b.m)
 * services, so a tenant that takes down its own services leaves every
 * other tenant at least n - m of its own.  A pool has a default shape (k,
 * m), the one placement_place() gives; shards of other sizes and bounds
 * live beside them, and a shard grows and shrinks by one service at a time
 * (the autoscaler).  Services are the indices 0..n-1; the caller maps them
 * to its ids (node addresses) and keeps that mapping stable: a service
 * index is never reused.
 *
 * A struct placement holds the pool (alive flags) and the placed shards.
 * It does no I/O and has no clock: the same calls give the same shards.
 * Placed shards never move, except the one service repair swaps out and
 * what grow and shrink add and remove.
 */
#ifndef RM_PLACEMENT_H
#define RM_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>

/* The largest shard size we take (a shard is a fixed array). */
#define PLACEMENT_K_MAX 16
/* Services a pool may hold. */
#define PLACEMENT_N_MAX 100000

struct placement_shard {
	unsigned svc[PLACEMENT_K_MAX];	/* n service indices, ascending */
	unsigned n;			/* 1..PLACEMENT_K_MAX */
	unsigned m;			/* shares at most min(m, other's m) */
};

struct placement;

/*
 * A pool of n services, all alive, no shards, whose default shape is k
 * services sharing at most m with each other.  NULL with err set when k < 1,
 * k > PLACEMENT_K_MAX, k > n, m >= k (every shard would be allowed: no
 * isolation) or n > PLACEMENT_N_MAX.
 */
struct placement *placement_new(size_t n, unsigned k, unsigned m, char *err,
    size_t errlen);
void placement_free(struct placement *p);

/* Grow the pool by count services (indices n..n+count-1), alive.  Placed
 * shards stay where they are. */
int placement_add_services(struct placement *p, size_t count, char *err,
    size_t errlen);
/* Mark a service alive or dead; a dead service takes no new shard.  Shards
 * that hold it keep it until placement_repair(). */
int placement_set_alive(struct placement *p, unsigned svc, bool alive,
    char *err, size_t errlen);

/*
 * Record shards placed earlier (from the store), in order, of any shape.
 * Each must hold n (1 to PLACEMENT_K_MAX) distinct services of the pool,
 * have m < PLACEMENT_K_MAX, and share at most min(its m, the other's m)
 * with every shard already held; on any error nothing is added.  Returns 0
 * or -1.
 */
int placement_load(struct placement *p, const struct placement_shard *s,
    size_t count, char *err, size_t errlen);

/*
 * Place one more shard of the default shape (k, m): copied to *out,
 * recorded as shard number placement_count() - 1.  -1 with err when no
 * shard fits ("9 services, k = 3, overlap ≤ 1 holds at most 12 tenants; 12
 * placed" when every shard has the default shape) and nothing changes.
 *
 * With m = 1 and at most 64 live services the shards come from a maximum
 * packing of the live pool: by a local search (a hill climb), then, short
 * of the bound, by an exact search (branch and bound, pairs in order,
 * within a step budget), then seeded random packings; the largest wins.
 * Placed one by one they reach the packing number wherever these do (for
 * k = 3 on every pool up to 64 services; for k = 4 the Steiner systems on
 * 13 and 16).  When the placed shards are not all from that packing
 * (services were added or died, shards were loaded, repaired, grown or
 * shrunk, or have another shape) it is made again with them fixed: their
 * pairs are covered, and a shard with m = 0 keeps its services out of it.
 * Otherwise (m != 1, more than 64 live services) and once the packing is
 * used up, the least-loaded services that keep every bound are taken (a
 * depth-first search in load order).
 */
int placement_place(struct placement *p, struct placement_shard *out,
    char *err, size_t errlen);

/*
 * Place one more shard of k services sharing at most m with the others
 * (min(m, theirs) with each), like placement_place().  For the default
 * shape it is placement_place(); any other shape takes the least-loaded
 * search, never the packing.  -1 with err when k < 1, k > PLACEMENT_K_MAX,
 * k > live services, m >= k or no shard fits; nothing changes then.
 */
int placement_place_shape(struct placement *p, unsigned k, unsigned m,
    struct placement_shard *out, char *err, size_t errlen);

/*
 * Add to shard i the least-loaded live service not in it that keeps its
 * overlap with every other shard within their bound; *svc gets it (svc
 * may be NULL).  -1 with err, nothing changed, when i is not placed, the
 * shard already holds PLACEMENT_K_MAX services, or no service fits.
 */
int placement_grow(struct placement *p, size_t i, unsigned *svc, char *err,
    size_t errlen);

/*
 * Take service svc out of shard i (the caller chooses which).  -1 with
 * err, nothing changed, when i is not placed, svc is not in it, or it is
 * the shard's only service.
 */
int placement_shrink(struct placement *p, size_t i, unsigned svc, char *err,
    size_t errlen);

/* Forget shard i (a deleted tenant); the shards after it move down one. */
int placement_remove(struct placement *p, size_t i, char *err, size_t errlen);

/* What repair did to one shard. */
struct placement_swap {
	size_t shard;		/* shard number */
	unsigned from, to;	/* the service swapped out and in */
};

/*
 * Service svc is dead or replaced: mark it dead and, in each shard that
 * holds it, swap it for the least-loaded live service that keeps every
 * overlap within its bound (min of the two shards' m); the shard keeps
 * its size and m.  Other shards and other services are not touched.
 * *swaps gets a new array of the swaps made (free() it; NULL when none),
 * *nswaps its length.  Returns 0 when every shard was repaired; -1 with
 * err naming the shards no service could repair (they keep svc) and why.
 */
int placement_repair(struct placement *p, unsigned svc,
    struct placement_swap **swaps, size_t *nswaps, char *err, size_t errlen);

size_t placement_count(const struct placement *p);
const struct placement_shard *placement_get(const struct placement *p,
    size_t i);
size_t placement_services(const struct placement *p);
size_t placement_alive(const struct placement *p);
/* How many shards hold service svc. */
size_t placement_load_of(const struct placement *p, unsigned svc);

/*
 * The Johnson bound: at most how many k-subsets of n points share at most
 * m points pairwise (every (m+1)-subset in at most one of them):
 * floor(n/k * floor((n-1)/(k-1) * ... floor((n-m)/(k-m)))).  For m = 1,
 * floor(n/k * floor((n-1)/(k-1))); for k = 3, m = 1 one less when n = 5
 * (mod 6), which makes it the packing number exactly.  0 when k > n;
 * saturates at SIZE_MAX.
 */
size_t placement_bound(size_t n, unsigned k, unsigned m);

/* How many services two shards share (each of its own size n). */
unsigned placement_overlap(const struct placement_shard *a,
    const struct placement_shard *b);

#endif
