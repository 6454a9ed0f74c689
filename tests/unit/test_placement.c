/*
 * test_placement - shuffle-shard placement: the packing numbers reached one
 * tenant at a time, the overlap bound between every pair of shards, the
 * bound function, stability when services are added, repair, bad input.
 */
#include <stdlib.h>

#include "t.h"
#include "../../orchestrator/tenants/placement.h"

/* Every pair of shards shares at most m services; every shard has k
 * distinct services in ascending order.  Returns the number of bad pairs. */
static int bad_pairs(const struct placement *p, unsigned k, unsigned m)
{
	size_t n = placement_count(p);
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		const struct placement_shard *a = placement_get(p, i);

		for (unsigned x = 1; x < k; x++)
			bad += a->svc[x - 1] >= a->svc[x];
		for (size_t j = i + 1; j < n; j++)
			bad += placement_overlap(a, placement_get(p, j), k) > m;
	}
	return bad;
}

/* Place until refused; returns how many were placed. */
static size_t fill(struct placement *p, char *err, size_t errlen)
{
	struct placement_shard s;

	while (placement_place(p, &s, err, errlen) == 0)
		;
	return placement_count(p);
}

static void test_bound(void)
{
	static const struct {
		size_t n;
		unsigned k, m;
		size_t want;
	} rows[] = {
		{ 7, 3, 1, 7 }, { 9, 3, 1, 12 }, { 13, 4, 1, 13 },
		{ 15, 3, 1, 35 }, { 16, 4, 1, 20 }, { 8, 3, 1, 8 },
		{ 10, 3, 1, 13 }, { 6, 3, 1, 4 },
		/* n = 5 (mod 6): one less than Johnson's 18, 45 */
		{ 11, 3, 1, 17 }, { 17, 3, 1, 44 }, { 5, 3, 1, 2 },
		/* m = 2: floor(n/k floor((n-1)/(k-1) floor((n-2)/(k-2)))) */
		{ 8, 4, 2, 14 }, { 10, 4, 2, 30 }, { 6, 3, 2, 20 },
		{ 1000, 3, 2, 166167000 },
		{ 5, 5, 0, 1 }, { 10, 1, 0, 10 }, { 3, 4, 1, 0 },
		{ 5, 3, 3, 0 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		T_CHECK(placement_bound(rows[i].n, rows[i].k, rows[i].m) ==
		    rows[i].want, "bound(%zu, %u, %u) = %zu, want %zu",
		    rows[i].n, rows[i].k, rows[i].m,
		    placement_bound(rows[i].n, rows[i].k, rows[i].m),
		    rows[i].want);
}

/* The packing numbers, placing one tenant at a time. */
static void test_reach(void)
{
	static const struct {
		size_t n;
		unsigned k;
		size_t want;
	} rows[] = {
		{ 7, 3, 7 }, { 9, 3, 12 }, { 13, 4, 13 }, { 15, 3, 35 },
		{ 16, 4, 20 }, { 8, 3, 8 }, { 10, 3, 13 }, { 12, 3, 20 },
		{ 12, 4, 9 }, { 3, 3, 1 }, { 4, 2, 6 }, { 11, 3, 17 },
		{ 5, 3, 2 },
		/* Larger pools: Steiner triple systems on 25 and 63, the
		 * bound for k = 4 on 21, the projective plane of order 4. */
		{ 25, 3, 100 }, { 21, 4, 31 }, { 21, 5, 21 }, { 63, 3, 651 },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct placement *p = placement_new(rows[i].n, rows[i].k, 1,
		    err, sizeof(err));
		size_t got;

		T_CHECK(p != NULL, "%s", err);
		if (p == NULL)
			continue;
		got = fill(p, err, sizeof(err));
		T_CHECK(got == rows[i].want, "n = %zu, k = %u: %zu placed, "
		    "want %zu", rows[i].n, rows[i].k, got, rows[i].want);
		T_EQ_INT(bad_pairs(p, rows[i].k, 1), 0);
		placement_free(p);
	}
}

/* The same calls give the same shards (no clock, no global state), and
 * a tenant placed after others gets the same shard either way. */
static void test_deterministic(void)
{
	static const unsigned ks[] = { 3, 4 };

	for (size_t i = 0; i < 2; i++) {
		struct placement *a = placement_new(25, ks[i], 1, NULL, 0);
		struct placement *b = placement_new(25, ks[i], 1, NULL, 0);
		size_t na = fill(a, NULL, 0), nb = fill(b, NULL, 0);
		int diff = 0;

		T_EQ_INT(na, nb);
		T_CHECK(na >= 30, "k = %u: %zu placed", ks[i], na);
		for (size_t j = 0; j < na && j < nb; j++)
			diff += placement_overlap(placement_get(a, j),
			    placement_get(b, j), ks[i]) != ks[i];
		T_EQ_INT(diff, 0);
		placement_free(a);
		placement_free(b);
	}
}

/* The isolation case, on the placement alone: 9 services, 12
 * tenants; all of tenant B's services go down, for each B in turn, and
 * every other tenant keeps at least k - 1 = 2 of its own. */
static void test_isolation(void)
{
	struct placement *p = placement_new(9, 3, 1, NULL, 0);
	size_t n = fill(p, NULL, 0);

	T_EQ_INT(n, 12);
	for (size_t b = 0; b < n; b++) {
		const struct placement_shard *sb = placement_get(p, b);
		size_t worst = 3;

		for (size_t t = 0; t < n; t++) {
			const struct placement_shard *st = placement_get(p, t);
			size_t kept = 0;

			if (t == b)
				continue;
			for (unsigned j = 0; j < 3; j++) {
				bool down = false;

				for (unsigned i = 0; i < 3; i++)
					down |= sb->svc[i] == st->svc[j];
				kept += !down;
			}
			worst = kept < worst ? kept : worst;
		}
		T_CHECK(worst >= 2, "tenant %zu down leaves another with %zu "
		    "services", b, worst);
	}
	placement_free(p);
}

static void test_full_message(void)
{
	struct placement *p = placement_new(9, 3, 1, NULL, 0);
	struct placement_shard s;
	char err[256] = "";

	T_EQ_INT(fill(p, err, sizeof(err)), 12);
	T_EQ_STR(err, "9 services, k = 3, overlap ≤ 1 holds at most 12 "
	    "tenants; 12 placed");
	/* A refused placement changes nothing. */
	T_EQ_INT(placement_place(p, &s, err, sizeof(err)), -1);
	T_EQ_INT(placement_count(p), 12);
	placement_free(p);
}

/* m = 2 and larger pools use the least-loaded search: the bound holds and
 * the load is even. */
static void test_greedy(void)
{
	struct placement *p = placement_new(100, 3, 2, NULL, 0);
	struct placement_shard s;
	char err[256];
	size_t lo = (size_t)-1, hi = 0;

	for (int i = 0; i < 500; i++)
		T_CHECK(placement_place(p, &s, err, sizeof(err)) == 0, "%s",
		    err);
	T_EQ_INT(bad_pairs(p, 3, 2), 0);
	for (unsigned v = 0; v < 100; v++) {
		size_t l = placement_load_of(p, v);

		lo = l < lo ? l : lo;
		hi = l > hi ? l : hi;
	}
	T_CHECK(hi - lo <= 2, "loads from %zu to %zu", lo, hi);
	placement_free(p);

	/* m = 1 beyond the exact search's 64 services. */
	p = placement_new(80, 4, 1, NULL, 0);
	for (int i = 0; i < 60; i++)
		T_CHECK(placement_place(p, &s, err, sizeof(err)) == 0, "%s",
		    err);
	T_EQ_INT(bad_pairs(p, 4, 1), 0);
	placement_free(p);
}

/* Adding services never moves a placed shard, and the bigger pool takes
 * more tenants. */
static void test_stability(void)
{
	struct placement *p = placement_new(9, 3, 1, NULL, 0);
	struct placement_shard before[12], s;
	char err[256];
	size_t n;

	n = fill(p, err, sizeof(err));
	T_EQ_INT(n, 12);
	for (size_t i = 0; i < n; i++)
		before[i] = *placement_get(p, i);
	T_EQ_INT(placement_add_services(p, 6, err, sizeof(err)), 0);
	T_EQ_INT(placement_services(p), 15);
	T_CHECK(placement_place(p, &s, err, sizeof(err)) == 0, "%s", err);
	n = fill(p, err, sizeof(err));
	T_CHECK(n > 12, "only %zu placed on 15 services", n);
	for (size_t i = 0; i < 12; i++)
		T_EQ_INT(placement_overlap(&before[i], placement_get(p, i), 3),
		    3);
	T_EQ_INT(bad_pairs(p, 3, 1), 0);
	/* The new shards use the new services. */
	T_CHECK(placement_get(p, n - 1)->svc[2] >= 9, "last shard on %u",
	    placement_get(p, n - 1)->svc[2]);
	placement_free(p);
}

static void test_repair(void)
{
	struct placement *p = placement_new(15, 3, 1, NULL, 0);
	struct placement_shard before[8];
	struct placement_swap *sw;
	size_t nsw, holders = 0;
	unsigned dead = 0;
	char err[256];

	for (int i = 0; i < 8; i++)
		T_EQ_INT(placement_place(p, &before[i], err, sizeof(err)), 0);
	/* The busiest service dies: 24 places on 15 services, so it holds
	 * two shards at least. */
	for (unsigned v = 1; v < 15; v++)
		if (placement_load_of(p, v) > placement_load_of(p, dead))
			dead = v;
	holders = placement_load_of(p, dead);
	T_CHECK(holders >= 2, "service %u is in %zu shards", dead, holders);
	T_CHECK(placement_repair(p, dead, &sw, &nsw, err, sizeof(err)) == 0,
	    "%s", err);
	T_EQ_INT(nsw, holders);
	T_EQ_INT(placement_load_of(p, dead), 0);
	T_EQ_INT(bad_pairs(p, 3, 1), 0);
	for (size_t i = 0; i < 8; i++) {
		const struct placement_shard *s = placement_get(p, i);
		bool had = false, swapped = false;

		for (unsigned j = 0; j < 3; j++)
			had |= before[i].svc[j] == dead;
		for (size_t w = 0; w < nsw; w++)
			swapped |= sw[w].shard == i;
		/* Shards without it are untouched; shards with it keep their
		 * other two services. */
		T_EQ_INT(placement_overlap(&before[i], s, 3), had ? 2 : 3);
		T_EQ_INT(had, swapped);
		for (unsigned j = 0; j < 3; j++)
			T_CHECK(s->svc[j] != dead, "shard %zu keeps service %u",
			    i, dead);
	}
	for (size_t w = 0; w < nsw; w++)
		T_EQ_INT(sw[w].from, dead);
	free(sw);
	/* The dead service takes no new shard. */
	for (int i = 0; i < 10; i++) {
		struct placement_shard s;

		if (placement_place(p, &s, err, sizeof(err)) < 0)
			break;
		for (unsigned j = 0; j < 3; j++)
			T_CHECK(s.svc[j] != dead, "dead service %u placed",
			    dead);
	}
	placement_free(p);

	/* A full Fano plane cannot repair: every replacement would share
	 * two services with some shard. */
	p = placement_new(7, 3, 1, NULL, 0);
	T_EQ_INT(fill(p, err, sizeof(err)), 7);
	T_EQ_INT(placement_repair(p, 3, &sw, &nsw, err, sizeof(err)), -1);
	T_EQ_INT(nsw, 0);
	T_CHECK(strstr(err, "3 of 3 shards holding service 3") != NULL,
	    "%s", err);
	T_EQ_INT(bad_pairs(p, 3, 1), 0);
	free(sw);
	/* A spare service takes the dead one's place in all three. */
	T_EQ_INT(placement_add_services(p, 1, err, sizeof(err)), 0);
	T_CHECK(placement_repair(p, 3, &sw, &nsw, err, sizeof(err)) == 0, "%s",
	    err);
	T_EQ_INT(nsw, 3);
	for (size_t w = 0; w < nsw; w++)
		T_EQ_INT(sw[w].to, 7);
	T_EQ_INT(bad_pairs(p, 3, 1), 0);
	free(sw);
	placement_free(p);
}

static void test_bad_input(void)
{
	static const struct {
		size_t n;
		unsigned k, m;
		const char *want;
	} rows[] = {
		{ 3, 4, 1, "shard size k = 4 is larger than the pool" },
		{ 9, 0, 0, "shard size k = 0 is out of range" },
		{ 9, 3, 3, "overlap m = 3 isolates nothing" },
		{ 9, 3, 5, "overlap m = 5 isolates nothing" },
		{ 9, 17, 1, "shard size k = 17 is out of range" },
		{ 200000, 3, 1, "200000 services are more than" },
	};
	struct placement *p;
	struct placement_shard s[3] = { { { 0, 1, 2 } }, { { 0, 1, 3 } },
	    { { 4, 4, 5 } } }, ok = { { 6, 7, 8 } }, big = { { 1, 2, 99 } };
	struct placement_swap *sw;
	size_t nsw;
	char err[256];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		err[0] = '\0';
		p = placement_new(rows[i].n, rows[i].k, rows[i].m, err,
		    sizeof(err));
		T_CHECK(p == NULL, "row %zu accepted", i);
		T_CHECK(strstr(err, rows[i].want) != NULL, "got '%s'", err);
		placement_free(p);
	}
	p = placement_new(9, 3, 1, NULL, 0);
	/* Overlap 2 between the first two: refused, nothing loaded. */
	T_EQ_INT(placement_load(p, s, 2, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "shard 1 shares more than 1") != NULL, "%s", err);
	T_EQ_INT(placement_count(p), 0);
	T_EQ_INT(placement_load_of(p, 0), 0);
	T_EQ_INT(placement_load(p, &s[2], 1, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "service 4 is in the shard twice") != NULL, "%s",
	    err);
	T_EQ_INT(placement_load(p, &big, 1, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "service 99 is not in the pool") != NULL, "%s",
	    err);
	T_EQ_INT(placement_load(p, &ok, 1, err, sizeof(err)), 0);
	T_EQ_INT(placement_count(p), 1);
	T_EQ_INT(placement_set_alive(p, 9, false, err, sizeof(err)), -1);
	T_EQ_INT(placement_repair(p, 12, &sw, &nsw, err, sizeof(err)), -1);
	T_EQ_INT(nsw, 0);
	T_EQ_INT(placement_remove(p, 5, err, sizeof(err)), -1);
	T_EQ_INT(placement_count(p), 1);
	/* Too few live services for a shard. */
	for (unsigned v = 0; v < 7; v++)
		placement_set_alive(p, v, false, NULL, 0);
	T_EQ_INT(placement_place(p, &s[0], err, sizeof(err)), -1);
	T_CHECK(strstr(err, "2 live services cannot hold") != NULL, "%s",
	    err);
	T_EQ_INT(placement_count(p), 1);
	/* Loaded shards count for the next placement. */
	for (unsigned v = 0; v < 7; v++)
		placement_set_alive(p, v, true, NULL, 0);
	T_EQ_INT(fill(p, err, sizeof(err)), 12);
	T_EQ_INT(bad_pairs(p, 3, 1), 0);
	T_EQ_INT(placement_remove(p, 0, err, sizeof(err)), 0);
	T_EQ_INT(placement_count(p), 11);
	T_EQ_INT(fill(p, err, sizeof(err)), 12);
	T_EQ_INT(bad_pairs(p, 3, 1), 0);
	placement_free(p);
}

int main(void)
{
	test_bound();
	test_reach();
	test_deterministic();
	test_isolation();
	test_full_message();
	test_greedy();
	test_stability();
	test_repair();
	test_bad_input();
	return t_done("test_placement");
}
