/*
 * bench_placement - shuffle-shard placement quality and speed, no I/O.
 *
 *	bench_placement [-a] [-s seeds] [-T tenants] [-N services]
 *
 * Part 1, quality (overlap <= 1): for each pool size n and shard size k =
 * 3, 4, 5, how many tenants placement.c places one at a time before it
 * refuses, against the Johnson bound and against a greedy-random baseline
 * (random k-subsets of the pool, first fit, stopping after 20,000
 * consecutive misses, as a stateful random sharder does), mean over
 * -s seeds (default 5).  Without -a, a selection of n from 7 to 64.
 *
 * Part 2, speed: -T tenants (10,000) placed one at a time on -N services
 * (1,000) with k = 3, m = 2; prints the wall and CPU time and the spread
 * of the services' loads.  The bench exits 1 if any two shards break the overlap
 * bound.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/util.h"
#include "../../orchestrator/tenants/placement.h"

static uint64_t rng;

static uint64_t rnd(void)
{
	return rand_xorshift(&rng);
}

/* First-fit random packing with pairwise overlap <= 1 (pairs as bits). */
static size_t greedy_random(unsigned n, unsigned k)
{
	uint64_t used[64] = { 0 };
	size_t placed = 0;
	long misses = 0;

	while (misses < 20000) {
		unsigned b[8], nb = 0;
		bool ok = true;

		while (nb < k) {
			unsigned v = (unsigned)(rnd() % n), i;

			for (i = 0; i < nb && b[i] != v; i++)
				;
			if (i == nb)
				b[nb++] = v;
		}
		for (unsigned i = 0; i < k && ok; i++)
			for (unsigned j = i + 1; j < k && ok; j++)
				ok = !(used[b[i]] >> b[j] & 1);
		if (!ok) {
			misses++;
			continue;
		}
		for (unsigned i = 0; i < k; i++)
			for (unsigned j = 0; j < k; j++)
				if (i != j)
					used[b[i]] |= UINT64_C(1) << b[j];
		placed++;
		misses = 0;
	}
	return placed;
}

/* CPU time of this process: what the placement itself costs, whatever
 * else the machine runs. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static bool pairs_ok(const struct placement *p, unsigned m)
{
	size_t c = placement_count(p);

	for (size_t i = 0; i < c; i++)
		for (size_t j = i + 1; j < c; j++)
			if (placement_overlap(placement_get(p, i),
			    placement_get(p, j)) > m)
				return false;
	return true;
}

int main(int argc, char **argv)
{
	static const unsigned some[] = { 7, 8, 9, 10, 12, 13, 15, 16, 20, 21,
	    25, 28, 31, 32, 40, 48, 49, 57, 64 };
	long seeds = 5, tenants = 10000, services = 1000;
	bool every = false;
	int ch, rc = 0;
	char err[256];

	while ((ch = getopt(argc, argv, "as:T:N:")) != -1) {
		switch (ch) {
		case 'a':
			every = true;
			break;
		case 's':
			seeds = atol(optarg);
			break;
		case 'T':
			tenants = atol(optarg);
			break;
		case 'N':
			services = atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: bench_placement [-a] [-s seeds] "
			    "[-T tenants] [-N services]\n");
			return 2;
		}
	}
	if (seeds < 1 || tenants < 1 || services < 3) {
		fprintf(stderr, "bench_placement: -s, -T must be >= 1 and "
		    "-N >= 3\n");
		return 2;
	}

	printf("overlap <= 1: tenants placed one at a time\n");
	printf("%4s %2s %7s %7s %6s %9s %9s\n", "n", "k", "bound", "placed",
	    "ms", "random", "random%");
	for (size_t r = 0; r < (every ? 58 : ARRAY_SIZE(some)); r++) {
		unsigned n = every ? (unsigned)r + 7 : some[r];

		for (unsigned k = 3; k <= 5; k++) {
			struct placement *p = placement_new(n, k, 1, err,
			    sizeof(err));
			struct placement_shard s;
			size_t bound = placement_bound(n, k, 1), sum = 0;
			int64_t t0 = time_mono_ms();

			if (p == NULL) {
				fprintf(stderr, "bench_placement: %s\n", err);
				return 1;
			}
			while (placement_place(p, &s, err, sizeof(err)) == 0)
				;
			t0 = time_mono_ms() - t0;
			if (!pairs_ok(p, 1)) {
				printf("n = %u, k = %u: overlap bound broken\n",
				    n, k);
				rc = 1;
			}
			rng = 0x9e3779b97f4a7c15ULL ^ (n * 131u + k);
			for (long i = 0; i < seeds; i++)
				sum += greedy_random(n, k);
			printf("%4u %2u %7zu %7zu %6lld %9.1f %8.0f%%\n", n, k,
			    bound, placement_count(p), (long long)t0,
			    (double)sum / (double)seeds,
			    100.0 * (double)sum / (double)seeds /
			    (double)placement_count(p));
			placement_free(p);
		}
	}

	{
		struct placement *p = placement_new((size_t)services, 3, 2,
		    err, sizeof(err));
		struct placement_shard s;
		size_t lo = SIZE_MAX, hi = 0;
		int64_t t0, t1;
		double c0, c1;

		if (p == NULL) {
			fprintf(stderr, "bench_placement: %s\n", err);
			return 1;
		}
		t0 = time_mono_ms();
		c0 = cpu_ms();
		for (long i = 0; i < tenants; i++)
			if (placement_place(p, &s, err, sizeof(err)) < 0) {
				fprintf(stderr, "bench_placement: tenant %ld: "
				    "%s\n", i, err);
				return 1;
			}
		t1 = time_mono_ms();
		c1 = cpu_ms();
		for (unsigned v = 0; v < (unsigned)services; v++) {
			size_t l = placement_load_of(p, v);

			lo = l < lo ? l : lo;
			hi = l > hi ? l : hi;
		}
		printf("%ld tenants on %ld services, k = 3, m = 2: %lld ms "
		    "(%.1f us each; CPU %.0f ms), loads %zu to %zu\n", tenants,
		    services, (long long)(t1 - t0),
		    1000.0 * (double)(t1 - t0) / (double)tenants, c1 - c0, lo,
		    hi);
		if (!pairs_ok(p, 2)) {
			printf("overlap bound broken\n");
			rc = 1;
		}
		placement_free(p);
	}
	printf("reproduce: build/release/tests/bench/bench_placement%s "
	    "-s %ld -T %ld -N %ld\n", every ? " -a" : "", seeds, tenants,
	    services);
	return rc;
}
