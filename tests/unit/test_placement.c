/*
 * test_placement - shuffle-shard placement: the packing numbers reached one
 * tenant at a time, the overlap bound between every pair of shards, the
 * bound function, stability when services are added, repair, bad input;
 * shards of mixed sizes and bounds in one pool, grow and shrink.
 */
#include <stdlib.h>

#include "t.h"
#include "../../orchestrator/tenants/placement.h"

/*
 * Everything that must hold after any call: every shard has 1 to
 * PLACEMENT_K_MAX distinct services of the pool in ascending order; every
 * pair of shards shares at most the smaller of their two m; each
 * service's load is the number of shards holding it.  Counted by hand,
 * not through placement_overlap().  Returns the number of faults.
 */
static int faults(const struct placement *p)
{
	size_t n = placement_count(p), nsvc = placement_services(p);
	size_t *load = calloc(nsvc ? nsvc : 1, sizeof(*load));
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		const struct placement_shard *a = placement_get(p, i);

		if (a->n < 1 || a->n > PLACEMENT_K_MAX) {
			bad++;
			continue;
		}
		for (unsigned x = 0; x < a->n; x++) {
			bad += x > 0 && a->svc[x - 1] >= a->svc[x];
			if (a->svc[x] < nsvc)
				load[a->svc[x]]++;
			else
				bad++;
		}
		for (size_t j = i + 1; j < n; j++) {
			const struct placement_shard *b = placement_get(p, j);
			unsigned shared = 0, m = a->m < b->m ? a->m : b->m;

			for (unsigned x = 0; x < a->n; x++)
				for (unsigned y = 0; y < b->n; y++)
					shared += a->svc[x] == b->svc[y];
			if (shared > m) {
				fprintf(stderr, "shards %zu and %zu share %u, "
				    "more than %u\n", i, j, shared, m);
				bad++;
			}
		}
	}
	for (size_t v = 0; v < nsvc; v++)
		bad += placement_load_of(p, (unsigned)v) != load[v];
	free(load);
	return bad;
}

/* Shards equal, service by service, with their n and m. */
static bool same_shard(const struct placement_shard *a,
    const struct placement_shard *b)
{
	if (a->n != b->n || a->m != b->m)
		return false;
	for (unsigned j = 0; j < a->n; j++)
		if (a->svc[j] != b->svc[j])
			return false;
	return true;
}

/* A copy of every shard and every load, to show a refused call changed
 * nothing. */
struct snap {
	size_t count, nsvc;
	struct placement_shard *sh;
	size_t *load;
};

static void snap_take(const struct placement *p, struct snap *s)
{
	s->count = placement_count(p);
	s->nsvc = placement_services(p);
	s->sh = calloc(s->count + 1, sizeof(*s->sh));
	s->load = calloc(s->nsvc + 1, sizeof(*s->load));
	for (size_t i = 0; i < s->count; i++)
		s->sh[i] = *placement_get(p, i);
	for (size_t v = 0; v < s->nsvc; v++)
		s->load[v] = placement_load_of(p, (unsigned)v);
}

/* 0 when p is as s was taken; frees s. */
static int snap_diff(const struct placement *p, struct snap *s)
{
	int diff = placement_count(p) != s->count ||
	    placement_services(p) != s->nsvc;

	for (size_t i = 0; !diff && i < s->count; i++)
		diff += !same_shard(placement_get(p, i), &s->sh[i]);
	for (size_t v = 0; !diff && v < s->nsvc; v++)
		diff += placement_load_of(p, (unsigned)v) != s->load[v];
	free(s->sh);
	free(s->load);
	return diff;
}

/* A shard by hand. */
static struct placement_shard shard_of(unsigned n, unsigned m,
    const unsigned *svc)
{
	struct placement_shard s = { .n = n, .m = m };

	for (unsigned j = 0; j < n && j < PLACEMENT_K_MAX; j++)
		s.svc[j] = svc[j];
	return s;
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
		T_EQ_INT(faults(p), 0);
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
			diff += !same_shard(placement_get(a, j),
			    placement_get(b, j));
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
	T_EQ_INT(faults(p), 0);
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
	T_EQ_INT(faults(p), 0);
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
		T_CHECK(same_shard(&before[i], placement_get(p, i)),
		    "shard %zu moved", i);
	T_EQ_INT(faults(p), 0);
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
	T_EQ_INT(faults(p), 0);
	for (size_t i = 0; i < 8; i++) {
		const struct placement_shard *s = placement_get(p, i);
		bool had = false, swapped = false;

		for (unsigned j = 0; j < 3; j++)
			had |= before[i].svc[j] == dead;
		for (size_t w = 0; w < nsw; w++)
			swapped |= sw[w].shard == i;
		/* Shards without it are untouched; shards with it keep their
		 * other two services. */
		T_EQ_INT(placement_overlap(&before[i], s), had ? 2 : 3);
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
	T_EQ_INT(faults(p), 0);
	free(sw);
	/* A spare service takes the dead one's place in all three. */
	T_EQ_INT(placement_add_services(p, 1, err, sizeof(err)), 0);
	T_CHECK(placement_repair(p, 3, &sw, &nsw, err, sizeof(err)) == 0, "%s",
	    err);
	T_EQ_INT(nsw, 3);
	for (size_t w = 0; w < nsw; w++)
		T_EQ_INT(sw[w].to, 7);
	T_EQ_INT(faults(p), 0);
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
	struct placement_shard s[3] = {
		{ .svc = { 0, 1, 2 }, .n = 3, .m = 1 },
		{ .svc = { 0, 1, 3 }, .n = 3, .m = 1 },
		{ .svc = { 4, 4, 5 }, .n = 3, .m = 1 },
	}, ok = { .svc = { 6, 7, 8 }, .n = 3, .m = 1 },
	    big = { .svc = { 1, 2, 99 }, .n = 3, .m = 1 };
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
	T_CHECK(strstr(err, "shard 1 shares 2 services with shard 0, more "
	    "than the 1 their bounds allow") != NULL, "%s", err);
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
	T_EQ_INT(faults(p), 0);
	T_EQ_INT(placement_remove(p, 0, err, sizeof(err)), 0);
	T_EQ_INT(placement_count(p), 11);
	T_EQ_INT(fill(p, err, sizeof(err)), 12);
	T_EQ_INT(faults(p), 0);
	placement_free(p);
}

/* Would shard i keep every bound with service v added?  By hand. */
static bool fits_by_hand(const struct placement *p, size_t i, unsigned v)
{
	const struct placement_shard *a = placement_get(p, i);

	for (unsigned j = 0; j < a->n; j++)
		if (a->svc[j] == v)
			return false;
	for (size_t o = 0; o < placement_count(p); o++) {
		const struct placement_shard *b = placement_get(p, o);
		unsigned shared = 0, m = a->m < b->m ? a->m : b->m;

		if (o == i)
			continue;
		for (unsigned y = 0; y < b->n; y++) {
			shared += b->svc[y] == v;
			for (unsigned x = 0; x < a->n; x++)
				shared += a->svc[x] == b->svc[y];
		}
		if (shared > m)
			return false;
	}
	return true;
}

/* Grow takes the least-loaded service that fits, shrink gives it back;
 * both keep every bound. */
static void test_grow_shrink(void)
{
	struct placement *p = placement_new(15, 3, 1, NULL, 0);
	struct placement_shard s, before;
	char err[256];
	unsigned got;

	for (int i = 0; i < 6; i++)
		T_EQ_INT(placement_place(p, &s, err, sizeof(err)), 0);
	before = *placement_get(p, 2);
	for (unsigned want = 4; want <= 6; want++) {
		size_t had;

		T_CHECK(placement_grow(p, 2, &got, err, sizeof(err)) == 0,
		    "%s", err);
		had = placement_load_of(p, got) - 1;
		T_EQ_INT(placement_get(p, 2)->n, want);
		T_EQ_INT(placement_get(p, 2)->m, 1);
		T_EQ_INT(faults(p), 0);
		/* No live service of a lower load would have fitted. */
		placement_shrink(p, 2, got, NULL, 0);
		for (unsigned v = 0; v < 15; v++)
			T_CHECK(placement_load_of(p, v) >= had ||
			    !fits_by_hand(p, 2, v), "grew by %u (load %zu), "
			    "not %u (load %zu)", got, had, v,
			    placement_load_of(p, v));
		T_CHECK(placement_grow(p, 2, &got, err, sizeof(err)) == 0,
		    "%s", err);
	}
	/* More placements after a grown shard keep every bound. */
	while (placement_place(p, &s, err, sizeof(err)) == 0)
		T_EQ_INT(faults(p), 0);
	T_CHECK(placement_count(p) > 20, "%zu placed beside a shard of 6",
	    placement_count(p));
	/* Shrink back to the original three, in any order. */
	for (unsigned j = 0; placement_get(p, 2)->n > 3;) {
		unsigned v = placement_get(p, 2)->svc[j];
		bool orig = false;

		for (unsigned x = 0; x < 3; x++)
			orig |= before.svc[x] == v;
		if (orig) {
			j++;
			continue;
		}
		T_CHECK(placement_shrink(p, 2, v, err, sizeof(err)) == 0, "%s",
		    err);
		T_EQ_INT(faults(p), 0);
	}
	T_CHECK(same_shard(placement_get(p, 2), &before), "shard 2 is not "
	    "back as placed");
	placement_free(p);
}

/* Refusals say why and change nothing. */
static void test_grow_shrink_refused(void)
{
	static const unsigned wide[15] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	    11, 12, 13, 14 };
	static const struct {
		const char *what;
		int pool;	/* 0: 9 services, 12 shards; 1: a shard of 16;
				   2: a shard of 1 */
		bool grow;
		size_t shard;
		unsigned svc;	/* shrink: which; ~0u: the shard's first */
		const char *want;
	} rows[] = {
		{ "full pool", 0, true, 4, 0, "no live service outside shard 4 "
		    "keeps overlap ≤ 1 with every other shard: 9 services, 12 "
		    "shards; add services" },
		{ "no such shard", 0, true, 12, 0, "shard 12 does not exist "
		    "(12 placed)" },
		{ "at the most", 1, true, 0, 0, "shard 0 holds 16 services, "
		    "the most a shard takes" },
		{ "not in it", 0, false, 0, 99, "service 99 is not in shard 0" },
		{ "no such shard", 0, false, 30, 0, "shard 30 does not exist" },
		{ "the last one", 2, false, 0, ~0u, "is the only one of shard "
		    "0: a shard keeps at least one" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct placement *p;
		struct placement_shard s;
		struct snap sn;
		unsigned got = 12345, svc = rows[i].svc;
		int rc;

		if (rows[i].pool == 0) {
			p = placement_new(9, 3, 1, NULL, 0);
			while (placement_place(p, &s, NULL, 0) == 0)
				;
		} else if (rows[i].pool == 1) {
			p = placement_new(20, 3, 1, NULL, 0);
			s = shard_of(15, 14, wide);
			T_EQ_INT(placement_load(p, &s, 1, err, sizeof(err)), 0);
			T_EQ_INT(placement_grow(p, 0, &got, err, sizeof(err)),
			    0);
			T_EQ_INT(got, 15);
		} else {
			p = placement_new(9, 3, 1, NULL, 0);
			s = shard_of(1, 0, wide);
			T_EQ_INT(placement_load(p, &s, 1, err, sizeof(err)), 0);
		}
		if (svc == ~0u)
			svc = placement_get(p, rows[i].shard)->svc[0];
		snap_take(p, &sn);
		err[0] = '\0';
		got = 12345;
		rc = rows[i].grow ? placement_grow(p, rows[i].shard, &got, err,
		    sizeof(err)) : placement_shrink(p, rows[i].shard, svc, err,
		    sizeof(err));
		T_CHECK(rc == -1, "%s: accepted", rows[i].what);
		T_CHECK(strstr(err, rows[i].want) != NULL, "%s: got '%s'",
		    rows[i].what, err);
		T_EQ_INT(got, 12345);
		T_CHECK(snap_diff(p, &sn) == 0, "%s: changed", rows[i].what);
		T_EQ_INT(faults(p), 0);
		placement_free(p);
	}
}

/* Several shapes in one pool: each pair within the smaller m. */
static void test_mixed_shapes(void)
{
	static const struct {
		size_t n;
		unsigned k, m;			/* the pool's default */
		struct { unsigned k, m; } first[4];	/* placed first */
		size_t nfirst;
		size_t atleast;			/* all placed, at least */
	} rows[] = {
		/* 9 services: k = 3 tenants and a k = 4 one; after the k = 4
		 * one the plan packs 8 triples, the most there are (each of
		 * its services has 5 pairs left: 2 triples). */
		{ 9, 3, 1, { { 3, 1 }, { 3, 1 }, { 4, 1 } }, 3, 9 },
		{ 9, 3, 1, { { 4, 1 } }, 1, 9 },
		/* An m = 0 tenant shares nothing, and the plan packs the
		 * services it leaves: 9, which hold 12 triples (the first
		 * among them); 7 less 2 leave 5, which hold 2. */
		{ 12, 3, 1, { { 3, 1 }, { 3, 0 } }, 2, 13 },
		{ 7, 3, 1, { { 2, 0 } }, 1, 3 },
		/* m = 2 next to m = 1: at most one shared. */
		{ 10, 3, 1, { { 3, 1 }, { 4, 2 }, { 4, 2 } }, 3, 9 },
		{ 10, 4, 2, { { 3, 1 }, { 4, 2 }, { 5, 1 } }, 3, 8 },
		/* Larger pools take the least-loaded search (up to 200). */
		{ 80, 4, 1, { { 3, 1 }, { 6, 2 }, { 2, 0 } }, 3, 201 },
	};
	char err[256];

	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct placement *p = placement_new(rows[r].n, rows[r].k,
		    rows[r].m, err, sizeof(err));
		struct placement_shard s;
		size_t i;

		for (i = 0; i < rows[r].nfirst; i++) {
			T_CHECK(placement_place_shape(p, rows[r].first[i].k,
			    rows[r].first[i].m, &s, err, sizeof(err)) == 0,
			    "row %zu, shape %zu: %s", r, i, err);
			T_EQ_INT(s.n, rows[r].first[i].k);
			T_EQ_INT(s.m, rows[r].first[i].m);
			T_EQ_INT(faults(p), 0);
		}
		while (placement_place(p, &s, err, sizeof(err)) == 0) {
			T_EQ_INT(s.n, rows[r].k);
			T_EQ_INT(faults(p), 0);
			if (placement_count(p) > 200)
				break;
		}
		T_CHECK(placement_count(p) >= rows[r].atleast, "row %zu: %zu "
		    "placed, want %zu or more", r, placement_count(p),
		    rows[r].atleast);
		/* The shapes placed first are still what they were. */
		for (i = 0; i < rows[r].nfirst; i++)
			T_EQ_INT(placement_get(p, i)->n, rows[r].first[i].k);
		placement_free(p);
	}
}

/* The messages: the uniform one as it always was, another shape says so;
 * bad shapes are refused before anything is searched. */
static void test_shape_messages(void)
{
	static const struct {
		unsigned k, m;
		const char *want;
	} rows[] = {
		{ 4, 1, "9 services, k = 4, overlap ≤ 1: no shard fits beside "
		    "the 12 placed (a pool of this shape alone holds at most 4 "
		    "tenants): add services" },
		{ 3, 0, "9 services, k = 3, overlap ≤ 0: no shard fits beside "
		    "the 12 placed (a pool of this shape alone holds at most 3 "
		    "tenants)" },
		{ 3, 3, "overlap m = 3 isolates nothing with shards of k = 3" },
		{ 0, 0, "shard size k = 0 is out of range" },
		{ 17, 1, "shard size k = 17 is out of range" },
		{ 10, 1, "9 live services cannot hold a shard of k = 10" },
	};
	struct placement *p = placement_new(9, 3, 1, NULL, 0);
	struct placement_shard s;
	char err[256];

	while (placement_place(p, &s, err, sizeof(err)) == 0)
		;
	T_EQ_STR(err, "9 services, k = 3, overlap ≤ 1 holds at most 12 "
	    "tenants; 12 placed");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct snap sn;

		snap_take(p, &sn);
		err[0] = '\0';
		T_EQ_INT(placement_place_shape(p, rows[i].k, rows[i].m, &s,
		    err, sizeof(err)), -1);
		T_CHECK(strstr(err, rows[i].want) != NULL, "k %u m %u: '%s'",
		    rows[i].k, rows[i].m, err);
		T_EQ_INT(snap_diff(p, &sn), 0);
	}
	/* With another shape among them, the default shape's refusal says
	 * the bound is for one shape. */
	T_EQ_INT(placement_remove(p, 0, err, sizeof(err)), 0);
	T_EQ_INT(placement_remove(p, 0, err, sizeof(err)), 0);
	T_CHECK(placement_place_shape(p, 2, 1, &s, err, sizeof(err)) == 0,
	    "%s", err);
	while (placement_place(p, &s, err, sizeof(err)) == 0)
		;
	T_CHECK(strstr(err, "k = 3, overlap ≤ 1: no shard fits beside the") !=
	    NULL, "%s", err);
	T_EQ_INT(faults(p), 0);
	placement_free(p);
}

/* Loaded shards of mixed shapes: each pair against the smaller m; a
 * refused load adds nothing. */
static void test_load_mixed(void)
{
	static const unsigned a[] = { 0, 1, 2 }, b[] = { 2, 3, 4, 5 },
	    c[] = { 0, 1, 3 }, d[] = { 0, 1, 4 }, e[] = { 0, 1, 2, 3 },
	    f[] = { 6 }, g[] = { 6, 7 }, big[17] = { 0 };
	static const struct {
		struct { unsigned n, m; const unsigned *svc; } sh[3];
		size_t count;
		const char *want;	/* NULL: loads */
	} rows[] = {
		{ { { 3, 1, a }, { 4, 1, b } }, 2, NULL },
		{ { { 4, 2, e }, { 3, 2, d } }, 2, NULL },
		{ { { 3, 2, a }, { 3, 1, c } }, 2, "shard 1 shares 2 services "
		    "with shard 0, more than the 1 their bounds allow" },
		{ { { 3, 1, a }, { 3, 2, c } }, 2, "shard 1 shares 2 services "
		    "with shard 0, more than the 1" },
		{ { { 3, 0, a }, { 4, 1, b } }, 2, "shard 1 shares 1 services "
		    "with shard 0, more than the 0" },
		{ { { 1, 0, f }, { 2, 1, g } }, 2, "shard 1 shares 1 services "
		    "with shard 0, more than the 0" },
		{ { { 1, 1, f }, { 2, 1, g }, { 4, 2, e } }, 3, NULL },
		{ { { 3, 1, a }, { 0, 1, a } }, 2, "a shard of 0 services" },
		{ { { 17, 1, big } }, 1, "a shard of 17 services: a shard "
		    "holds 1 to 16" },
		{ { { 3, 16, a } }, 1, "overlap m = 16 of a shard is out of "
		    "range" },
	};
	char err[256];

	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct placement *p = placement_new(9, 3, 1, NULL, 0);
		struct placement_shard sh[3];
		struct snap sn;
		int rc;

		for (size_t i = 0; i < rows[r].count; i++) {
			memset(&sh[i], 0, sizeof(sh[i]));
			sh[i].n = rows[r].sh[i].n;
			sh[i].m = rows[r].sh[i].m;
			for (unsigned j = 0; j < sh[i].n && j < PLACEMENT_K_MAX;
			    j++)
				sh[i].svc[j] = rows[r].sh[i].svc[j];
		}
		snap_take(p, &sn);
		err[0] = '\0';
		rc = placement_load(p, sh, rows[r].count, err, sizeof(err));
		if (rows[r].want == NULL) {
			T_CHECK(rc == 0, "row %zu: %s", r, err);
			T_EQ_INT(placement_count(p), rows[r].count);
			free(sn.sh);
			free(sn.load);
		} else {
			T_CHECK(rc == -1, "row %zu accepted", r);
			T_CHECK(strstr(err, rows[r].want) != NULL, "row %zu: "
			    "'%s'", r, err);
			T_EQ_INT(snap_diff(p, &sn), 0);
		}
		T_EQ_INT(faults(p), 0);
		placement_free(p);
	}

	/* Against shards already held: the message names the placed one. */
	{
		struct placement *p = placement_new(9, 3, 1, NULL, 0);
		struct placement_shard one = shard_of(3, 1, a),
		    two = shard_of(3, 2, c);

		T_EQ_INT(placement_load(p, &one, 1, err, sizeof(err)), 0);
		T_EQ_INT(placement_load(p, &two, 1, err, sizeof(err)), -1);
		T_CHECK(strstr(err, "shard 0 shares 2 services with placed "
		    "shard 0") != NULL, "%s", err);
		T_EQ_INT(placement_count(p), 1);
		placement_free(p);
	}
}

/* Repair swaps within each shard's size and bound. */
static void test_repair_mixed(void)
{
	static const unsigned a[] = { 0, 1 }, b[] = { 0, 2, 3 },
	    c[] = { 0, 4, 5, 6 }, d[] = { 0, 7, 8, 9, 10 }, e[] = { 1, 2, 4 },
	    f[] = { 11, 12 };
	struct placement_shard sh[6] = {
		shard_of(2, 1, a), shard_of(3, 1, b), shard_of(4, 2, c),
		shard_of(5, 1, d), shard_of(3, 1, e), shard_of(2, 0, f),
	};
	struct placement *p = placement_new(16, 3, 1, NULL, 0);
	struct placement_swap *sw = NULL;
	size_t nsw = 0;
	char err[256];

	T_CHECK(placement_load(p, sh, 6, err, sizeof(err)) == 0, "%s", err);
	T_EQ_INT(faults(p), 0);
	T_CHECK(placement_repair(p, 0, &sw, &nsw, err, sizeof(err)) == 0,
	    "%s", err);
	T_EQ_INT(nsw, 4);
	T_EQ_INT(placement_load_of(p, 0), 0);
	T_EQ_INT(faults(p), 0);
	for (size_t i = 0; i < 6; i++) {
		const struct placement_shard *s = placement_get(p, i);

		T_EQ_INT(s->n, sh[i].n);
		T_EQ_INT(s->m, sh[i].m);
		T_EQ_INT(placement_overlap(s, &sh[i]), i < 4 ? sh[i].n - 1 :
		    sh[i].n);
	}
	/* The m = 0 shard's services are no one's replacement. */
	for (size_t w = 0; w < nsw; w++)
		T_CHECK(sw[w].to != 11 && sw[w].to != 12, "shard %zu took %u",
		    sw[w].shard, sw[w].to);
	free(sw);
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
	test_grow_shrink();
	test_grow_shrink_refused();
	test_mixed_shapes();
	test_shape_messages();
	test_load_mixed();
	test_repair_mixed();
	return t_done("test_placement");
}
