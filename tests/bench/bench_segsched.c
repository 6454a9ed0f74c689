/*
 * bench_segsched - the repair segment scheduler in a simulation: no
 * Cassandra, no repair, no clock.  A ring of nodes with vnodes (seeded
 * random tokens), RF by SimpleStrategy (replicas.c), its ranges cut into
 * segments (halving the widest until there are enough), each segment given a
 * seeded random duration; then the scheduler (segsched.c) runs them with
 * parallelism 1 and with the default (0: as many as the replica sets allow),
 * time advancing to the next segment's end.
 *
 *	bench_segsched [-n nodes] [-v vnodes] [-r rf] [-s segments] [-S seed]
 *	    [-L starve_limit]
 *
 * Prints, for each parallelism: the wall time in simulated seconds, the
 * segments running at once (most, mean over time), and the most segments
 * any one node took part in at once, which must never exceed 1 (the bench
 * exits 1 if it does).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../orchestrator/tasks/replicas.h"
#include "../../orchestrator/tasks/segsched.h"

static uint64_t rng;
static unsigned starve_limit;

static uint64_t rnd(void)
{
	return rand_xorshift(&rng);
}

struct piece {
	struct segsched_range r;
	size_t range;		/* index into the replica map */
};

struct result {
	double wall;		/* simulated seconds */
	size_t most, node_most;
	double mean;
};

static int run(const struct replicas_map *m, const struct piece *p,
    size_t np, const double *dur, unsigned par, struct result *out)
{
	struct segsched_cfg cfg = { par, 0, starve_limit };
	struct segsched *s = segsched_new(m->nendpoints, NULL, &cfg);
	double *end = xcalloc(np, sizeof(*end)), now = 0, busy_area = 0;
	size_t *ids = xcalloc(np, sizeof(*ids)), running = 0;
	unsigned *per_node = xcalloc(m->nendpoints, sizeof(*per_node));
	char err[256];

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < np; i++) {
		const struct replicas_range *r = &m->ranges[p[i].range];
		size_t id;
		if (segsched_add(s, &p[i].r, 1, r->replicas, r->nreplicas, &id,
		    err, sizeof(err)) < 0) {
			fprintf(stderr, "bench_segsched: %s\n", err);
			exit(2);
		}
	}
	while (!segsched_finished(s)) {
		size_t k = segsched_next(s, ids, np), best = SIZE_MAX;
		double next;

		for (size_t j = 0; j < k; j++) {
			const struct segsched_seg *g = segsched_get(s, ids[j]);
			end[ids[j]] = now + dur[ids[j]];
			running++;
			for (size_t e = 0; e < g->nendpoints; e++)
				if (++per_node[g->endpoints[e]] > out->node_most)
					out->node_most = per_node[g->endpoints[e]];
		}
		if (running > out->most)
			out->most = running;
		for (size_t i = 0; i < np; i++)
			if (segsched_get(s, i)->state == SEGSCHED_RUNNING &&
			    (best == SIZE_MAX || end[i] < end[best]))
				best = i;
		if (best == SIZE_MAX)
			break;		/* cannot happen: nothing is down */
		next = end[best];
		busy_area += (double)running * (next - now);
		now = next;
		{
			const struct segsched_seg *g = segsched_get(s, best);
			for (size_t e = 0; e < g->nendpoints; e++)
				per_node[g->endpoints[e]]--;
		}
		segsched_done(s, best, err, sizeof(err));
		running--;
	}
	out->wall = now;
	out->mean = now > 0 ? busy_area / now : 0;
	free(end);
	free(ids);
	free(per_node);
	segsched_free(s);
	return 0;
}

int main(int argc, char **argv)
{
	long nodes = 6, vnodes = 16, rf = 3, nseg = 256;
	unsigned long long seed = 42;
	struct replicas_token *ring;
	struct replicas_repl repl = { REPLICAS_SIMPLE, 3, NULL, 0 };
	struct replicas_map *m;
	struct piece *p;
	double *dur, total = 0, floor_s = 0;
	size_t np, n = 0, bound, upper;
	char **names, err[256];
	struct result one, dflt;
	int ch;

	while ((ch = getopt(argc, argv, "n:v:r:s:S:L:")) != -1) {
		switch (ch) {
		case 'n': nodes = atol(optarg); break;
		case 'v': vnodes = atol(optarg); break;
		case 'r': rf = atol(optarg); break;
		case 's': nseg = atol(optarg); break;
		case 'S': seed = strtoull(optarg, NULL, 10); break;
		case 'L': starve_limit = (unsigned)atol(optarg); break;
		default:
			fprintf(stderr, "usage: bench_segsched [-n nodes] "
			    "[-v vnodes] [-r rf] [-s segments] [-S seed] [-L starve_limit]\n");
			return 2;
		}
	}
	if (nodes < 1 || nodes > 1000 || vnodes < 1 || vnodes > 256 ||
	    rf < 1 || nseg < nodes * vnodes || nseg > 1000000) {
		fprintf(stderr, "bench_segsched: need 1..1000 nodes, 1..256 "
		    "vnodes, rf >= 1 and at least nodes*vnodes segments\n");
		return 2;
	}
	rng = seed ? seed : 1;
	repl.rf = (int)rf;
	names = xcalloc((size_t)nodes, sizeof(*names));
	ring = xcalloc((size_t)(nodes * vnodes), sizeof(*ring));
	for (long i = 0; i < nodes; i++) {
		names[i] = xasprintf("10.0.0.%ld", i + 1);
		for (long v = 0; v < vnodes; v++)
			ring[n++] = (struct replicas_token){ (int64_t)rnd(),
			    names[i], "dc1", "rack1" };
	}
	m = replicas_compute(ring, n, &repl, err, sizeof(err));
	if (m == NULL) {
		fprintf(stderr, "bench_segsched: %s\n", err);
		return 2;
	}
	/* segments: the ranges, the widest halved until there are nseg */
	p = xcalloc((size_t)nseg, sizeof(*p));
	np = m->nranges;
	for (size_t i = 0; i < np; i++)
		p[i] = (struct piece){ { m->ranges[i].start, m->ranges[i].end }, i };
	while (np < (size_t)nseg) {
		size_t w = 0;
		struct segsched_range h[2];
		for (size_t i = 1; i < np; i++)
			if (segsched_range_width(p[i].r) > segsched_range_width(p[w].r))
				w = i;
		if (segsched_range_split(p[w].r, h) < 0)
			break;
		p[np] = (struct piece){ h[1], p[w].range };
		p[w].r = h[0];
		np++;
	}
	/* durations: 30 s to 10 min, uniform, seeded */
	dur = xcalloc(np, sizeof(*dur));
	for (size_t i = 0; i < np; i++) {
		dur[i] = 30.0 + (double)(rnd() % 571);
		total += dur[i];
	}
	{
		const size_t **sets = xcalloc(m->nranges, sizeof(*sets));
		size_t *sizes = xcalloc(m->nranges, sizeof(*sizes));
		for (size_t i = 0; i < m->nranges; i++) {
			sets[i] = m->ranges[i].replicas;
			sizes[i] = m->ranges[i].nreplicas;
		}
		bound = segsched_max_parallel_sets(sets, sizes, m->nranges,
		    m->nendpoints, &upper);
		free(sets);
		free(sizes);
	}
	/* no schedule beats the busiest node's own work: a node repairs one
	 * segment at a time */
	{
		double *work = xcalloc(m->nendpoints, sizeof(*work));
		for (size_t i = 0; i < np; i++) {
			const struct replicas_range *r = &m->ranges[p[i].range];
			for (size_t e = 0; e < r->nreplicas; e++)
				work[r->replicas[e]] += dur[i];
		}
		for (size_t e = 0; e < m->nendpoints; e++)
			if (work[e] > floor_s)
				floor_s = work[e];
		free(work);
	}
	run(m, p, np, dur, 1, &one);
	run(m, p, np, dur, 0, &dflt);

	printf("bench_segsched -n %ld -v %ld -r %ld -s %ld -S %llu: a simulation "
	    "of the scheduler, not a repair\n", nodes, vnodes, rf, nseg, seed);
	printf("  %ld nodes x %ld vnodes, RF %ld, %zu segments, durations "
	    "30-600 s (sum %.0f s); parallelism bound greedy %zu, upper %zu\n",
	    nodes, vnodes, rf, np, total, bound, upper);
	printf("  parallelism 1:       wall %8.0f s  running at once: most %zu, "
	    "mean %.2f  per-node most %zu\n", one.wall, one.most, one.mean,
	    one.node_most);
	printf("  parallelism default: wall %8.0f s  running at once: most %zu, "
	    "mean %.2f  per-node most %zu\n", dflt.wall, dflt.most, dflt.mean,
	    dflt.node_most);
	printf("  speed-up %.2fx; no schedule can end before %.0f s (the busiest "
	    "node's own segments one after the other): default is %.2fx that\n",
	    dflt.wall > 0 ? one.wall / dflt.wall : 0, floor_s,
	    floor_s > 0 ? dflt.wall / floor_s : 0);

	for (long i = 0; i < nodes; i++)
		free(names[i]);
	free(names);
	free(ring);
	free(p);
	free(dur);
	replicas_free(m);
	return one.node_most > 1 || dflt.node_most > 1 ? 1 : 0;
}
