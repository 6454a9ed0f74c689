/*
 * htab.c - see htab.h.  Chained buckets, a power of two of them, indexed
 * by the low bits of a 64-bit FNV-1a hash; entries keep their hash, so
 * growing never rehashes a key and a lookup compares keys only on a full
 * hash match.
 */
#include "htab.h"

#include <stdlib.h>

#include "util.h"

#define FNV_OFFSET	14695981039346656037ULL
#define FNV_PRIME	1099511628211ULL

uint64_t htab_hash(const char *s)
{
	uint64_t h = FNV_OFFSET;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * FNV_PRIME;
	return h;
}

uint64_t htab_hash_more(uint64_t h, const char *s)
{
	h = (h ^ 0xff) * FNV_PRIME;	/* no string byte is 0xff in UTF-8 */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * FNV_PRIME;
	return h;
}

void htab_init(struct htab *t, size_t min_buckets)
{
	size_t nb = 64;

	while (nb < min_buckets)
		nb *= 2;
	t->b = xcalloc(nb, sizeof(*t->b));
	t->nb = nb;
	t->n = 0;
}

void htab_release(struct htab *t)
{
	free(t->b);
	t->b = NULL;
	t->nb = t->n = 0;
}

static void grow(struct htab *t)
{
	size_t nb = t->nb * 2;
	struct htab_node **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < t->nb; i++) {
		struct htab_node *n = t->b[i], *next;
		for (; n != NULL; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

void htab_add(struct htab *t, struct htab_node *n, uint64_t hash)
{
	if (t->n >= t->nb)
		grow(t);
	n->hash = hash;
	n->next = t->b[hash & (t->nb - 1)];
	t->b[hash & (t->nb - 1)] = n;
	t->n++;
}

void htab_remove(struct htab *t, struct htab_node *n)
{
	struct htab_node **pp = &t->b[n->hash & (t->nb - 1)];

	while (*pp != NULL && *pp != n)
		pp = &(*pp)->next;
	if (*pp == NULL)
		return;
	*pp = n->next;
	n->next = NULL;
	t->n--;
}

struct htab_node *htab_first(const struct htab *t, uint64_t hash)
{
	struct htab_node *n = t->nb ? t->b[hash & (t->nb - 1)] : NULL;

	while (n != NULL && n->hash != hash)
		n = n->next;
	return n;
}

struct htab_node *htab_next(const struct htab_node *n, uint64_t hash)
{
	for (n = n->next; n != NULL && n->hash != hash; n = n->next)
		;
	return (struct htab_node *)(uintptr_t)n;
}

void htab_each(const struct htab *t, void (*fn)(struct htab_node *n,
    void *arg), void *arg)
{
	for (size_t i = 0; i < t->nb; i++) {
		struct htab_node *n = t->b[i], *next;
		for (; n != NULL; n = next) {
			next = n->next;
			fn(n, arg);
		}
	}
}
