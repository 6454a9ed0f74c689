/*
 * test_htab - common/htab.c: add, find, remove across growth; keys of
 * several strings; equal hashes kept apart by the caller's comparison.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/htab.h"
#include "../../common/util.h"
#include "t.h"

struct thing {
	struct htab_node hn;
	char name[32];
	int value;
};

static struct thing *find(const struct htab *t, const char *name)
{
	uint64_t h = htab_hash(name);

	for (struct htab_node *n = htab_first(t, h); n; n = htab_next(n, h)) {
		struct thing *x = HTAB_ENTRY(n, struct thing, hn);
		if (strcmp(x->name, name) == 0)
			return x;
	}
	return NULL;
}

static void count(struct htab_node *n, void *arg)
{
	(void)n;
	(*(size_t *)arg)++;
}

static void test_grow_find_remove(void)
{
	enum { N = 5000 };
	struct thing *v = xcalloc(N, sizeof(*v));
	struct htab t;
	size_t seen = 0;

	htab_init(&t, 0);
	T_EQ_INT(t.nb, 64);
	T_CHECK(find(&t, "x") == NULL, "empty table finds nothing");
	for (int i = 0; i < N; i++) {
		snprintf(v[i].name, sizeof(v[i].name), "cluster-%d", i);
		v[i].value = i;
		htab_add(&t, &v[i].hn, htab_hash(v[i].name));
	}
	T_EQ_INT(t.n, N);
	T_CHECK(t.nb >= N && (t.nb & (t.nb - 1)) == 0, "grew to %zu", t.nb);
	int bad = 0;
	for (int i = 0; i < N; i++) {
		struct thing *x = find(&t, v[i].name);
		bad += x == NULL || x->value != i;
	}
	T_EQ_INT(bad, 0);
	htab_each(&t, count, &seen);
	T_EQ_INT(seen, N);
	for (int i = 0; i < N; i += 2)
		htab_remove(&t, &v[i].hn);
	T_EQ_INT(t.n, N / 2);
	bad = 0;
	for (int i = 0; i < N; i++)
		bad += (find(&t, v[i].name) != NULL) != (i % 2 == 1);
	T_EQ_INT(bad, 0);
	htab_remove(&t, &v[0].hn);		/* not in: nothing happens */
	T_EQ_INT(t.n, N / 2);
	htab_release(&t);
	T_CHECK(t.b == NULL && t.n == 0, "released");
	free(v);
}

static void test_hashes(void)
{
	/* FNV-1a 64 of "" and "a" (published values). */
	T_CHECK(htab_hash("") == 0xcbf29ce484222325ULL, "empty");
	T_CHECK(htab_hash("a") == 0xaf63dc4c8601ec8cULL, "a");
	/* Pairs are not concatenations. */
	T_CHECK(htab_hash_more(htab_hash("ab"), "c") !=
	    htab_hash_more(htab_hash("a"), "bc"), "pair separator");
	T_CHECK(htab_hash_more(htab_hash("ab"), "c") ==
	    htab_hash_more(htab_hash("ab"), "c"), "stable");
}

/* Entries with the same hash are all reached; the caller tells them
 * apart. */
static void test_collisions(void)
{
	struct thing a = { .name = "a" }, b = { .name = "b" };
	struct htab t;
	int n = 0;

	htab_init(&t, 1);
	htab_add(&t, &a.hn, 42);
	htab_add(&t, &b.hn, 42);
	for (struct htab_node *x = htab_first(&t, 42); x; x = htab_next(x, 42))
		n++;
	T_EQ_INT(n, 2);
	T_CHECK(htab_first(&t, 43) == NULL, "other hash");
	htab_release(&t);
}

int main(void)
{
	test_hashes();
	test_grow_find_remove();
	test_collisions();
	return t_done("test_htab");
}
