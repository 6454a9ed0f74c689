/*
 * htab.h - the one hash table: chains through a node embedded in the
 * caller's struct (no allocation per entry, no copy of keys), keyed by a
 * 64-bit hash the caller computes with htab_hash() (one string) or
 * htab_hash_more() (several: cluster and address).  Lookups walk the
 * candidates of a hash and compare the caller's way:
 *
 *	uint64_t h = htab_hash(name);
 *	for (struct htab_node *n = htab_first(&t, h); n; n = htab_next(n, h)) {
 *		struct thing *x = HTAB_ENTRY(n, struct thing, hnode);
 *		if (strcmp(x->name, name) == 0)
 *			return x;
 *	}
 *
 * The table doubles its buckets when it holds more entries than buckets.
 * Not thread-safe: the owner's lock guards it.
 */
#ifndef RM_HTAB_H
#define RM_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct htab_node {
	struct htab_node *next;
	uint64_t hash;
};

struct htab {
	struct htab_node **b;
	size_t nb, n;			/* buckets (a power of two), entries */
};

#define HTAB_ENTRY(node, type, member) \
	((type *)(void *)((char *)(node) - offsetof(type, member)))

/* FNV-1a of s; htab_hash_more() goes on over another string after a
 * separator, so ("ab", "c") and ("a", "bc") differ. */
uint64_t htab_hash(const char *s);
uint64_t htab_hash_more(uint64_t h, const char *s);

/* An empty table of at least min_buckets buckets (0: 64). */
void htab_init(struct htab *t, size_t min_buckets);
/* Free the buckets (not the entries: they are the caller's). */
void htab_release(struct htab *t);
void htab_add(struct htab *t, struct htab_node *n, uint64_t hash);
/* Unlink n, which must be in t. */
void htab_remove(struct htab *t, struct htab_node *n);
/* The entries whose hash is hash, one after the other; NULL at the end. */
struct htab_node *htab_first(const struct htab *t, uint64_t hash);
struct htab_node *htab_next(const struct htab_node *n, uint64_t hash);
/* Every entry: fn may not add or remove. */
void htab_each(const struct htab *t, void (*fn)(struct htab_node *n,
    void *arg), void *arg);

#endif
