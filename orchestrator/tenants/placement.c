/*
 * placement.c - shuffle-shard placement (see placement.h).
 *
 * Why not random: a random first-fit packing of triples with pairwise
 * overlap <= 1 stops well short of what a pool can hold (9 services hold 12
 * such shards; random first fit usually stops at 8 to 10).  The best
 * packings are designs (Steiner systems: the Fano plane on 7 services, the
 * affine plane on 9 or 16, the projective plane on 13), and tenants arrive
 * one at a time, so a shard chosen for the first tenant must already be
 * part of a packing that holds them all.
 *
 * So for m = 1 on at most 64 live services we search for a maximum packing
 * of the whole live pool first (the "plan") and hand out its blocks in
 * order.  The search treats pairs of services as the resource: it takes the
 * first pair still free and either covers it with a block (every pair of
 * the block free) or leaves it out, bounding each branch by
 * floor(sum over services of floor(free pairs / (k-1)) / k), which is the
 * Johnson bound of what is left and so stops at once when a design exists
 * (it first asks for the bound itself, then one less, ...).  Before it a
 * local search runs (Stinson's hill climb for triples, generalised): for
 * k = 3 it reaches the bound on every pool up to 64 services in
 * milliseconds, where the search alone stops short from 16 services on,
 * and for k = 4, 5 it gets far closer than the search.  Where both fall
 * short of the bound, seeded random first-fit packings compete too.
 * Shards that are not from the plan (loaded, repaired, grown, shrunk, of
 * another shape, or placed before the pool changed) are fixed pairs for
 * the next search.  The plan is only for the pool's default shape: a
 * shard of another size or bound is not a block of a packing of k-sets.
 *
 * Shapes mix: each shard has its size n and bound m, and two shards may
 * share min(their m) services.  Anything but the default shape with
 * m = 1 on a small pool (m >= 2, a larger pool, another shape, a plan
 * used up), and every grow and repair, takes the least-loaded services
 * that keep every bound: a depth-first search over the live services in
 * load order, with the overlap with every placed shard counted through
 * per-service lists of the shards that hold them.  That keeps 10,000
 * shards on 1,000 services fast.
 */
#include "placement.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"

/* Steps the exact search may take per goal and per plan: a design is found
 * in far fewer, and proving that none is better can take forever. */
#define GOAL_BUDGET 100000
#define PLAN_BUDGET 2000000
/* Seeded random packings tried when the search falls short of the bound,
 * and the misses after which one stops. */
#define PLAN_RESTARTS 32
#define RANDOM_MISSES 200
/* Local-search runs, the steps each may take, and the steps without a
 * new block after which one gives up. */
#define HILL_RESTARTS 4
#define HILL_STEPS 200000
#define HILL_STALL 40000
/* Steps of the least-loaded search before it gives up. */
#define GREEDY_BUDGET 2000000
#define EXACT_MAX 64

struct svc_list {
	size_t *v, len, cap;
};

struct placement {
	size_t n;
	unsigned k, m;
	bool *alive;
	struct svc_list *holds;		/* per service: the shards holding it */
	struct placement_shard *shards;
	size_t count, cap;

	/* The plan: a packing of the live pool, valid while every shard
	 * placed since it was made came from it and nothing else changed. */
	bool plan_valid;
	struct placement_shard *plan;
	size_t plan_len, plan_next;
};

static void list_push(struct svc_list *l, size_t v)
{
	if (l->len == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->len++] = v;
}

static void list_drop(struct svc_list *l, size_t v)
{
	for (size_t i = 0; i < l->len; i++)
		if (l->v[i] == v) {
			l->v[i] = l->v[--l->len];
			return;
		}
}

size_t placement_bound(size_t n, unsigned k, unsigned m)
{
	/* Innermost first: floor((n-m)/(k-m)), then outwards. */
	size_t v;

	if (k < 1 || m >= k || k > n)
		return 0;
	v = (n - m) / (k - m);
	for (unsigned i = m; i-- > 0;) {
		if (v > SIZE_MAX / (n - i))
			return SIZE_MAX;
		v = v * (n - i) / (k - i);
	}
	/* Triples pairwise sharing at most one: when n = 5 (mod 6) the
	 * pairs left over cannot all be one short (Schonheim), so one
	 * fewer; then it is the packing number exactly. */
	if (k == 3 && m == 1 && n % 6 == 5)
		v--;
	return (size_t)v;
}

unsigned placement_overlap(const struct placement_shard *a,
    const struct placement_shard *b)
{
	/* Clamped: a shard made by hand with a wild n is not read past its
	 * array. */
	unsigned na = a->n < PLACEMENT_K_MAX ? a->n : PLACEMENT_K_MAX;
	unsigned nb = b->n < PLACEMENT_K_MAX ? b->n : PLACEMENT_K_MAX;
	unsigned i = 0, j = 0, n = 0;

	/* Both ascending: a merge. */
	while (i < na && j < nb) {
		if (a->svc[i] == b->svc[j]) {
			n++;
			i++;
			j++;
		} else if (a->svc[i] < b->svc[j])
			i++;
		else
			j++;
	}
	return n;
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

struct placement *placement_new(size_t n, unsigned k, unsigned m, char *err,
    size_t errlen)
{
	struct placement *p;

	if (k < 1 || k > PLACEMENT_K_MAX) {
		err_set(err, errlen, "shard size k = %u is out of range: "
		    "give 1 to %d", k, PLACEMENT_K_MAX);
		return NULL;
	}
	if (n > PLACEMENT_N_MAX) {
		err_set(err, errlen, "%zu services are more than a pool "
		    "takes (%d)", n, PLACEMENT_N_MAX);
		return NULL;
	}
	if (k > n) {
		err_set(err, errlen, "shard size k = %u is larger than the "
		    "pool (%zu services): give k <= %zu or add services", k,
		    n, n);
		return NULL;
	}
	if (m >= k) {
		err_set(err, errlen, "overlap m = %u isolates nothing with "
		    "shards of k = %u services: give m < k", m, k);
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->n = n;
	p->k = k;
	p->m = m;
	p->alive = xcalloc(n ? n : 1, sizeof(*p->alive));
	p->holds = xcalloc(n ? n : 1, sizeof(*p->holds));
	for (size_t i = 0; i < n; i++)
		p->alive[i] = true;
	return p;
}

void placement_free(struct placement *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->holds[i].v);
	free(p->holds);
	free(p->alive);
	free(p->shards);
	free(p->plan);
	free(p);
}

size_t placement_count(const struct placement *p)
{
	return p->count;
}

const struct placement_shard *placement_get(const struct placement *p,
    size_t i)
{
	return i < p->count ? &p->shards[i] : NULL;
}

size_t placement_services(const struct placement *p)
{
	return p->n;
}

size_t placement_alive(const struct placement *p)
{
	size_t a = 0;

	for (size_t i = 0; i < p->n; i++)
		a += p->alive[i];
	return a;
}

size_t placement_load_of(const struct placement *p, unsigned svc)
{
	return svc < p->n ? p->holds[svc].len : 0;
}

static void plan_drop(struct placement *p)
{
	p->plan_valid = false;
	free(p->plan);
	p->plan = NULL;
	p->plan_len = p->plan_next = 0;
}

int placement_add_services(struct placement *p, size_t count, char *err,
    size_t errlen)
{
	size_t n = p->n + count;

	if (count > PLACEMENT_N_MAX || n > PLACEMENT_N_MAX) {
		err_set(err, errlen, "%zu more services would make %zu, more "
		    "than a pool takes (%d)", count, n, PLACEMENT_N_MAX);
		return -1;
	}
	p->alive = xrealloc(p->alive, n * sizeof(*p->alive));
	p->holds = xrealloc(p->holds, n * sizeof(*p->holds));
	for (size_t i = p->n; i < n; i++) {
		p->alive[i] = true;
		memset(&p->holds[i], 0, sizeof(p->holds[i]));
	}
	p->n = n;
	if (count)
		plan_drop(p);
	return 0;
}

int placement_set_alive(struct placement *p, unsigned svc, bool alive,
    char *err, size_t errlen)
{
	if (svc >= p->n) {
		err_set(err, errlen, "service %u is not in the pool (0 to "
		    "%zu)", svc, p->n ? p->n - 1 : 0);
		return -1;
	}
	if (p->alive[svc] != alive) {
		p->alive[svc] = alive;
		plan_drop(p);
	}
	return 0;
}

/* Sort and check one shard; 0 or -1 with err. */
static int shard_check(const struct placement *p, struct placement_shard *s,
    char *err, size_t errlen)
{
	if (s->n < 1 || s->n > PLACEMENT_K_MAX) {
		err_set(err, errlen, "a shard of %u services: a shard holds 1 "
		    "to %d", s->n, PLACEMENT_K_MAX);
		return -1;
	}
	if (s->m >= PLACEMENT_K_MAX) {
		err_set(err, errlen, "overlap m = %u of a shard is out of "
		    "range: give less than %d", s->m, PLACEMENT_K_MAX);
		return -1;
	}
	qsort(s->svc, s->n, sizeof(s->svc[0]), cmp_unsigned);
	for (unsigned i = 0; i < s->n; i++) {
		if (s->svc[i] >= p->n) {
			err_set(err, errlen, "service %u is not in the pool "
			    "(0 to %zu)", s->svc[i], p->n - 1);
			return -1;
		}
		if (i > 0 && s->svc[i] == s->svc[i - 1]) {
			err_set(err, errlen, "service %u is in the shard "
			    "twice: a shard holds %u distinct services",
			    s->svc[i], s->n);
			return -1;
		}
	}
	for (unsigned i = s->n; i < PLACEMENT_K_MAX; i++)
		s->svc[i] = 0;
	return 0;
}

static void shard_add(struct placement *p, const struct placement_shard *s)
{
	if (p->count == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->shards = xrealloc(p->shards, p->cap * sizeof(*p->shards));
	}
	p->shards[p->count] = *s;
	for (unsigned i = 0; i < s->n; i++)
		list_push(&p->holds[s->svc[i]], p->count);
	p->count++;
}

/*
 * Overlap counting through the per-service lists: ov[j] is how many of the
 * chosen services shard j holds.  Adding a service to a shard of bound m
 * fails (and undoes itself) when some shard j other than skip would then
 * share more than min(m, shard j's m).
 */
static bool ov_add(const struct placement *p, unsigned *ov, unsigned svc,
    size_t skip, unsigned m)
{
	const struct svc_list *l = &p->holds[svc];
	size_t i;

	for (i = 0; i < l->len; i++) {
		size_t j = l->v[i];

		if (j == skip)
			continue;
		if (++ov[j] > (m < p->shards[j].m ? m : p->shards[j].m))
			break;
	}
	if (i == l->len)
		return true;
	for (size_t j = 0; j <= i; j++)
		if (l->v[j] != skip)
			ov[l->v[j]]--;
	return false;
}

static void ov_del(const struct placement *p, unsigned *ov, unsigned svc,
    size_t skip)
{
	const struct svc_list *l = &p->holds[svc];

	for (size_t i = 0; i < l->len; i++)
		if (l->v[i] != skip)
			ov[l->v[i]]--;
}

/* Count the members of s but drop into ov, bound or not: what a shard
 * already holds is within its bounds (checked when it came in). */
static void ov_count(const struct placement *p, unsigned *ov,
    const struct placement_shard *s, unsigned drop, size_t skip)
{
	for (unsigned j = 0; j < s->n; j++) {
		const struct svc_list *l = &p->holds[s->svc[j]];

		if (s->svc[j] == drop)
			continue;
		for (size_t i = 0; i < l->len; i++)
			if (l->v[i] != skip)
				ov[l->v[i]]++;
	}
}

/* Why loaded shard i (t) does not fit: the first shard it shares more
 * than min(their m) with; shards from base on came with it. */
static void load_conflict(const struct placement *p,
    const struct placement_shard *t, size_t i, size_t base, char *err,
    size_t errlen)
{
	for (size_t j = 0; j < p->count; j++) {
		unsigned b = t->m < p->shards[j].m ? t->m : p->shards[j].m;
		unsigned shared = placement_overlap(t, &p->shards[j]);

		if (shared <= b)
			continue;
		err_set(err, errlen, "shard %zu shares %u services with %s "
		    "%zu, more than the %u their bounds allow", i, shared,
		    j < base ? "placed shard" : "shard", j < base ? j :
		    j - base, b);
		return;
	}
	err_set(err, errlen, "shard %zu shares more services with an "
	    "earlier shard than their bounds allow", i);
}

int placement_load(struct placement *p, const struct placement_shard *s,
    size_t count, char *err, size_t errlen)
{
	size_t base = p->count;
	unsigned *ov;

	for (size_t i = 0; i < count; i++) {
		struct placement_shard t = s[i];

		if (shard_check(p, &t, err, errlen) < 0)
			goto fail;
		ov = xcalloc(p->count + 1, sizeof(*ov));
		for (unsigned j = 0; j < t.n; j++)
			if (!ov_add(p, ov, t.svc[j], SIZE_MAX, t.m)) {
				free(ov);
				load_conflict(p, &t, i, base, err, errlen);
				goto fail;
			}
		free(ov);
		shard_add(p, &t);
	}
	if (count)
		plan_drop(p);
	return 0;
fail:
	/* Take back what this call added: nothing changes on bad input. */
	while (p->count > base) {
		p->count--;
		for (unsigned j = 0; j < p->shards[p->count].n; j++)
			list_drop(&p->holds[p->shards[p->count].svc[j]],
			    p->count);
	}
	return -1;
}

int placement_remove(struct placement *p, size_t i, char *err, size_t errlen)
{
	if (i >= p->count) {
		err_set(err, errlen, "shard %zu does not exist (%zu placed)",
		    i, p->count);
		return -1;
	}
	memmove(&p->shards[i], &p->shards[i + 1],
	    (p->count - i - 1) * sizeof(*p->shards));
	p->count--;
	/* Shard numbers moved: rebuild the lists (deletes are rare). */
	for (size_t s = 0; s < p->n; s++)
		p->holds[s].len = 0;
	for (size_t s = 0; s < p->count; s++)
		for (unsigned j = 0; j < p->shards[s].n; j++)
			list_push(&p->holds[p->shards[s].svc[j]], s);
	plan_drop(p);
	return 0;
}

/* ---- the exact search (m = 1, at most 64 live services) ---- */

struct search {
	unsigned a, k;		/* live services, shard size */
	uint64_t all;		/* bits of the live services */
	uint64_t used[EXACT_MAX];	/* pairs taken, by a block or left out */
	unsigned cur[EXACT_MAX * EXACT_MAX][PLACEMENT_K_MAX];
	size_t ncur, nbest, goal, floor;
	unsigned (*best)[PLACEMENT_K_MAX];
	long steps, budget;
	bool stop;
};

static uint64_t free_of(const struct search *s, unsigned v)
{
	return s->all & ~s->used[v] & ~(UINT64_C(1) << v);
}

static size_t remaining_bound(const struct search *s)
{
	size_t sum = 0;

	for (unsigned v = 0; v < s->a; v++)
		sum += (size_t)__builtin_popcountll(free_of(s, v)) /
		    (s->k - 1);
	return sum / s->k;
}

static void block_mark(struct search *s, const unsigned *b, bool on)
{
	for (unsigned i = 0; i < s->k; i++)
		for (unsigned j = 0; j < s->k; j++) {
			uint64_t bit = UINT64_C(1) << b[j];

			if (i == j)
				continue;
			if (on)
				s->used[b[i]] |= bit;
			else
				s->used[b[i]] &= ~bit;
		}
}

static void search_run(struct search *s);

/* Complete blk[0..have) to k services from cand, in ascending order. */
static void search_extend(struct search *s, unsigned *blk, unsigned have,
    uint64_t cand)
{
	if (s->stop)
		return;
	if (have == s->k) {
		memcpy(s->cur[s->ncur], blk, sizeof(s->cur[0]));
		block_mark(s, blk, true);
		s->ncur++;
		search_run(s);
		s->ncur--;
		block_mark(s, blk, false);
		return;
	}
	while (cand && !s->stop) {
		unsigned r = (unsigned)__builtin_ctzll(cand);

		cand &= cand - 1;
		/* Not enough candidates left to fill the block. */
		if ((unsigned)__builtin_popcountll(cand) + 1 < s->k - have)
			return;
		blk[have] = r;
		search_extend(s, blk, have + 1, cand & free_of(s, r));
	}
}

static void search_run(struct search *s)
{
	unsigned p, q, blk[PLACEMENT_K_MAX] = { 0 };
	uint64_t viable = 0, fp = 0;

	if (s->stop)
		return;
	if (++s->steps > s->budget) {
		s->stop = true;
		return;
	}
	if (s->ncur + remaining_bound(s) <= (s->floor > s->nbest ? s->floor :
	    s->nbest))
		return;
	/* A service with fewer than k-1 free pairs takes no more blocks. */
	for (unsigned v = 0; v < s->a; v++)
		if ((unsigned)__builtin_popcountll(free_of(s, v)) >= s->k - 1)
			viable |= UINT64_C(1) << v;
	for (p = 0; p < s->a; p++)
		if ((viable >> p & 1) && (fp = free_of(s, p) & viable) != 0)
			break;
	if (p == s->a) {
		if (s->ncur > s->nbest) {
			s->nbest = s->ncur;
			memcpy(s->best, s->cur, s->ncur * sizeof(s->cur[0]));
			if (s->nbest >= s->goal)
				s->stop = true;
		}
		return;
	}
	q = (unsigned)__builtin_ctzll(fp);
	/* Cover the pair {p, q} with a block ... */
	blk[0] = p;
	blk[1] = q;
	/* The other members r share a free pair with p, and q is the lowest
	 * such, so they are above q. */
	search_extend(s, blk, 2, fp & free_of(s, q) & ~(UINT64_C(1) << q));
	/* ... or leave it out. */
	s->used[p] |= UINT64_C(1) << q;
	s->used[q] |= UINT64_C(1) << p;
	search_run(s);
	s->used[p] &= ~(UINT64_C(1) << q);
	s->used[q] &= ~(UINT64_C(1) << p);
}

/*
 * First a short unbounded run (its first leaf is the lexicographic greedy
 * packing), then goals from the bound down: a run that must reach goal
 * prunes every branch that cannot, so where a design exists the first goal
 * finds it at once, without exploring the packings that leave pairs out.
 */
static void plan_search(struct search *s)
{
	size_t top = remaining_bound(s);
	long total = 0;

	s->goal = top;
	s->floor = 0;
	s->budget = GOAL_BUDGET / 4;
	if (top == 0)
		return;
	search_run(s);
	total += s->steps;
	for (size_t goal = top; goal > s->nbest && total < PLAN_BUDGET;
	    goal--) {
		s->goal = goal;
		s->floor = goal - 1;
		s->steps = 0;
		s->stop = false;
		s->budget = GOAL_BUDGET;
		search_run(s);
		total += s->steps;
	}
}

/* A uniformly chosen set bit of m (m != 0). */
static unsigned pick_bit(uint64_t m, uint64_t *seed)
{
	unsigned n = (unsigned)(rand_xorshift(seed) % (uint64_t)
	    __builtin_popcountll(m));

	while (n--)
		m &= m - 1;
	return (unsigned)__builtin_ctzll(m);
}

/*
 * A seeded random first-fit packing on top of s->used, into s->cur /
 * s->ncur (s->used is restored): a random free pair, completed by random
 * services free with every member so far; stop after many misses.
 */
static void random_fill(struct search *s, uint64_t seed)
{
	uint64_t saved[EXACT_MAX];
	unsigned misses = 0;

	memcpy(saved, s->used, sizeof(saved));
	s->ncur = 0;
	while (misses < RANDOM_MISSES) {
		uint64_t viable = 0, cand;
		unsigned b[PLACEMENT_K_MAX], nb = 1;

		for (unsigned v = 0; v < s->a; v++)
			if ((unsigned)__builtin_popcountll(free_of(s, v)) >=
			    s->k - 1)
				viable |= UINT64_C(1) << v;
		if (!viable)
			break;
		b[0] = pick_bit(viable, &seed);
		cand = free_of(s, b[0]) & viable;
		while (nb < s->k && cand) {
			b[nb] = pick_bit(cand, &seed);
			cand &= free_of(s, b[nb]) & ~(UINT64_C(1) << b[nb]);
			nb++;
		}
		if (nb < s->k) {
			misses++;
			continue;
		}
		memcpy(s->cur[s->ncur++], b, sizeof(s->cur[0]));
		block_mark(s, b, true);
		misses = 0;
	}
	memcpy(s->used, saved, sizeof(saved));
}

/*
 * Local search, after Stinson's hill climbing for triples: take a service
 * x with k-1 uncovered pairs and k-1 of those partners (each chosen among
 * the ones free with all chosen so far when there are any); the new block
 * conflicts with the blocks covering its other pairs.  With no conflict
 * it is added; with one, that block is swapped for it; with more it is
 * not taken.  The count never falls.  For triples this finds Steiner
 * triple systems on every admissible pool quickly, where the search above
 * may not (21, 25 services).  Pairs of placed shards are never touched.
 * Into s->cur / s->ncur; s->used is restored.
 */
static void hill_climb(struct search *s, uint64_t seed, size_t goal)
{
	/* The block covering each pair: -1 none, -2 a placed shard's. */
	static const short NONE = -1, FIXED = -2;
	short (*pb)[EXACT_MAX] = xcalloc(EXACT_MAX, sizeof(*pb));
	unsigned (*blk)[PLACEMENT_K_MAX] = xcalloc(EXACT_MAX * EXACT_MAX,
	    sizeof(*blk));
	bool *gone = xcalloc(EXACT_MAX * EXACT_MAX, sizeof(*gone));
	uint64_t saved[EXACT_MAX];
	size_t nblk = 0, live = 0;
	unsigned k = s->k;

	memcpy(saved, s->used, sizeof(saved));
	for (unsigned x = 0; x < s->a; x++)
		for (unsigned y = 0; y < s->a; y++)
			pb[x][y] = (s->used[x] >> y & 1) ? FIXED : NONE;
	for (long step = 0, since = 0; step < HILL_STEPS && live < goal &&
	    since < HILL_STALL; step++, since++) {
		uint64_t cand = 0, lx, both;
		unsigned b[PLACEMENT_K_MAX];
		short conflict = NONE;
		bool ok = true;

		for (unsigned v = 0; v < s->a; v++)
			if ((unsigned)__builtin_popcountll(free_of(s, v)) >=
			    k - 1)
				cand |= UINT64_C(1) << v;
		if (!cand)
			break;
		b[0] = pick_bit(cand, &seed);
		lx = free_of(s, b[0]);
		both = lx;
		for (unsigned i = 1; i < k; i++) {
			b[i] = pick_bit(both ? both : lx, &seed);
			lx &= ~(UINT64_C(1) << b[i]);
			both = (both ? both : lx) & free_of(s, b[i]) & lx;
		}
		for (unsigned i = 1; i < k && ok; i++)
			for (unsigned j = i + 1; j < k && ok; j++) {
				short c = pb[b[i]][b[j]];

				if (c == NONE || c == conflict)
					continue;
				ok = c != FIXED && conflict == NONE;
				conflict = c;
			}
		if (!ok)
			continue;
		if (conflict != NONE) {
			unsigned *o = blk[conflict];

			for (unsigned i = 0; i < k; i++)
				for (unsigned j = 0; j < k; j++)
					if (i != j) {
						pb[o[i]][o[j]] = NONE;
						s->used[o[i]] &=
						    ~(UINT64_C(1) << o[j]);
					}
			gone[conflict] = true;
			live--;
		}
		memcpy(blk[nblk], b, sizeof(blk[0]));
		for (unsigned i = 0; i < k; i++)
			for (unsigned j = 0; j < k; j++)
				if (i != j) {
					pb[b[i]][b[j]] = (short)nblk;
					s->used[b[i]] |= UINT64_C(1) << b[j];
				}
		nblk++;
		if (conflict == NONE)
			since = 0;
		live++;
		/* Reuse the array: compact when it fills with dead blocks. */
		if (nblk == EXACT_MAX * EXACT_MAX) {
			size_t w = 0;

			for (size_t r = 0; r < nblk; r++) {
				if (gone[r])
					continue;
				memcpy(blk[w], blk[r], sizeof(blk[0]));
				for (unsigned i = 0; i < k; i++)
					for (unsigned j = 0; j < k; j++)
						if (i != j)
							pb[blk[w][i]][blk[w][j]]
							    = (short)w;
				w++;
			}
			nblk = w;
			memset(gone, 0, EXACT_MAX * EXACT_MAX * sizeof(*gone));
		}
	}
	s->ncur = 0;
	for (size_t r = 0; r < nblk; r++)
		if (!gone[r]) {
			memset(s->cur[s->ncur], 0, sizeof(s->cur[0]));
			memcpy(s->cur[s->ncur], blk[r], k * sizeof(unsigned));
			s->ncur++;
		}
	memcpy(s->used, saved, sizeof(saved));
	free(pb);
	free(blk);
	free(gone);
}

/* The packing just made (s->cur) becomes the best when it is larger. */
static void plan_keep(struct search *s)
{
	if (s->ncur > s->nbest) {
		s->nbest = s->ncur;
		memcpy(s->best, s->cur, s->ncur * sizeof(s->cur[0]));
	}
}

/*
 * A maximum packing (as far as the budget reaches) of the live pool given
 * the placed shards, into p->plan: blocks of the default shape (k, m = 1).
 * Block members are sorted.
 *
 * Placed shards of any size and bound are handled here, not left to the
 * least-loaded search: a block shares at most min(1, m) with a shard, so
 * a shard with m >= 1 (whatever its size) fixes its pairs, which no block
 * may cover, and a shard with m = 0 takes its services out of the pool the
 * packing is made of.
 */
static void plan_make(struct placement *p)
{
	struct search *s = xcalloc(1, sizeof(*s));
	unsigned map[EXACT_MAX];
	unsigned *idx = xcalloc(p->n, sizeof(*idx));
	bool *shut = xcalloc(p->n, sizeof(*shut));
	size_t top;

	plan_drop(p);
	s->k = p->k;
	for (size_t i = 0; i < p->count; i++)
		if (p->shards[i].m == 0)
			for (unsigned j = 0; j < p->shards[i].n; j++)
				shut[p->shards[i].svc[j]] = true;
	for (size_t v = 0; v < p->n; v++)
		if (p->alive[v] && !shut[v]) {
			idx[v] = s->a;
			map[s->a++] = (unsigned)v;
		}
	s->all = s->a == 64 ? ~UINT64_C(0) : (UINT64_C(1) << s->a) - 1;
	for (size_t i = 0; i < p->count; i++) {
		unsigned in[PLACEMENT_K_MAX], nl = 0;

		for (unsigned j = 0; j < p->shards[i].n; j++)
			if (p->alive[p->shards[i].svc[j]] &&
			    !shut[p->shards[i].svc[j]])
				in[nl++] = idx[p->shards[i].svc[j]];
		for (unsigned x = 0; x < nl; x++)
			for (unsigned y = 0; y < nl; y++)
				if (x != y)
					s->used[in[x]] |= UINT64_C(1) << in[y];
	}
	s->best = xcalloc(EXACT_MAX * EXACT_MAX, sizeof(*s->best));
	top = remaining_bound(s);
	if (p->count == 0 && placement_bound(s->a, p->k, p->m) < top)
		top = placement_bound(s->a, p->k, p->m);
	/* Triples: the hill climb first, it reaches the bound on most pools
	 * in milliseconds. */
	for (unsigned r = 0; p->k >= 3 && r < HILL_RESTARTS && s->nbest < top;
	    r++) {
		hill_climb(s, 0x9e3779b97f4a7c15ULL * (r + 1), top);
		plan_keep(s);
	}
	if (s->nbest < top) {
		s->ncur = 0;
		plan_search(s);
	}
	/*
	 * Where the search stops short of the bound, the lexicographic
	 * packing it grew from can be poor (on 40 services, k = 4, random
	 * first fit does better), so seeded random packings compete and the
	 * largest wins: still the same plan for the same pool every time.
	 */
	for (unsigned r = 0; r < PLAN_RESTARTS && s->nbest < top; r++) {
		random_fill(s, 0x9e3779b97f4a7c15ULL * (r + 1));
		plan_keep(s);
	}
	p->plan = xcalloc(s->nbest ? s->nbest : 1, sizeof(*p->plan));
	for (size_t i = 0; i < s->nbest; i++) {
		for (unsigned j = 0; j < p->k; j++)
			p->plan[i].svc[j] = map[s->best[i][j]];
		qsort(p->plan[i].svc, p->k, sizeof(unsigned), cmp_unsigned);
		p->plan[i].n = p->k;
		p->plan[i].m = p->m;
	}
	p->plan_len = s->nbest;
	p->plan_next = 0;
	p->plan_valid = true;
	free(s->best);
	free(s);
	free(shut);
	free(idx);
}

/* ---- the least-loaded search ---- */

struct greedy {
	const struct placement *p;
	unsigned k, m;		/* the shape asked */
	unsigned *order, norder, *ov;
	unsigned chosen[PLACEMENT_K_MAX];
	long steps;
};

static bool greedy_run(struct greedy *g, unsigned have, unsigned from)
{
	if (have == g->k)
		return true;
	for (unsigned i = from; i + (g->k - have) <= g->norder; i++) {
		unsigned v = g->order[i];

		if (++g->steps > GREEDY_BUDGET)
			return false;
		if (!ov_add(g->p, g->ov, v, SIZE_MAX, g->m))
			continue;
		g->chosen[have] = v;
		if (greedy_run(g, have + 1, i + 1))
			return true;
		ov_del(g->p, g->ov, v, SIZE_MAX);
		if (g->steps > GREEDY_BUDGET)
			return false;
	}
	return false;
}

static int cmp_load(const void *a, const void *b, void *ctx)
{
	const struct placement *p = ctx;
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	size_t lx = p->holds[x].len, ly = p->holds[y].len;

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Live services, least loaded first (then by index). */
static unsigned *by_load(const struct placement *p, unsigned *n)
{
	unsigned *o = xcalloc(p->n ? p->n : 1, sizeof(*o));

	*n = 0;
	for (size_t v = 0; v < p->n; v++)
		if (p->alive[v])
			o[(*n)++] = (unsigned)v;
	qsort_r(o, *n, sizeof(*o), cmp_load, (void *)(uintptr_t)p);
	return o;
}

static bool greedy_place(const struct placement *p, unsigned k, unsigned m,
    struct placement_shard *out, bool *gave_up)
{
	struct greedy g = { .p = p, .k = k, .m = m };
	bool ok;

	g.order = by_load(p, &g.norder);
	g.ov = xcalloc(p->count + 1, sizeof(*g.ov));
	ok = greedy_run(&g, 0, 0);
	*gave_up = !ok && g.steps > GREEDY_BUDGET;
	if (ok) {
		memset(out, 0, sizeof(*out));
		memcpy(out->svc, g.chosen, k * sizeof(unsigned));
		qsort(out->svc, k, sizeof(unsigned), cmp_unsigned);
		out->n = k;
		out->m = m;
	}
	free(g.ov);
	free(g.order);
	return ok;
}

/* true when s (all members alive) keeps every overlap within its bound. */
static bool fits(const struct placement *p, const struct placement_shard *s)
{
	unsigned *ov = xcalloc(p->count + 1, sizeof(*ov));
	bool ok = true;

	for (unsigned j = 0; j < s->n && ok; j++)
		ok = p->alive[s->svc[j]] && ov_add(p, ov, s->svc[j], SIZE_MAX,
		    s->m);
	free(ov);
	return ok;
}

static bool in_shard(const struct placement_shard *s, unsigned v)
{
	for (unsigned j = 0; j < s->n; j++)
		if (s->svc[j] == v)
			return true;
	return false;
}

/*
 * The least-loaded live service outside shard si that keeps its overlap
 * with every other shard within their bounds, given ov counting the
 * members shard si keeps; UINT32_MAX when none does.
 */
static unsigned pick_for(const struct placement *p, size_t si, unsigned *ov)
{
	const struct placement_shard *s = &p->shards[si];
	unsigned norder, *order = by_load(p, &norder), to = UINT32_MAX;

	for (unsigned c = 0; c < norder && to == UINT32_MAX; c++)
		if (!in_shard(s, order[c]) && ov_add(p, ov, order[c], si,
		    s->m)) {
			to = order[c];
			ov_del(p, ov, order[c], si);
		}
	free(order);
	return to;
}

/* Every placed shard has the pool's default shape. */
static bool uniform(const struct placement *p)
{
	for (size_t i = 0; i < p->count; i++)
		if (p->shards[i].n != p->k || p->shards[i].m != p->m)
			return false;
	return true;
}

int placement_place(struct placement *p, struct placement_shard *out,
    char *err, size_t errlen)
{
	return placement_place_shape(p, p->k, p->m, out, err, errlen);
}

int placement_place_shape(struct placement *p, unsigned k, unsigned m,
    struct placement_shard *out, char *err, size_t errlen)
{
	size_t a = placement_alive(p), bound;
	bool deflt = k == p->k && m == p->m, gave_up = false;

	if (k < 1 || k > PLACEMENT_K_MAX) {
		err_set(err, errlen, "shard size k = %u is out of range: "
		    "give 1 to %d", k, PLACEMENT_K_MAX);
		return -1;
	}
	if (m >= k) {
		err_set(err, errlen, "overlap m = %u isolates nothing with "
		    "shards of k = %u services: give m < k", m, k);
		return -1;
	}
	if (k > a) {
		err_set(err, errlen, "%zu live services cannot hold a shard "
		    "of k = %u: bring services back or add some", a, k);
		return -1;
	}
	if (deflt && m == 1 && a <= EXACT_MAX) {
		if (!p->plan_valid)
			plan_make(p);
		while (p->plan_next < p->plan_len) {
			struct placement_shard s = p->plan[p->plan_next++];

			if (fits(p, &s)) {
				shard_add(p, &s);
				*out = s;
				return 0;
			}
		}
	}
	if (greedy_place(p, k, m, out, &gave_up)) {
		shard_add(p, out);
		/*
		 * Not from the plan: the next placement searches anew, unless
		 * the plan is used up; then searching again after every shard
		 * costs a full search each and finds a shard or two at best.
		 */
		if (!p->plan_valid || p->plan_next < p->plan_len)
			plan_drop(p);
		return 0;
	}
	bound = placement_bound(a, k, m);
	if (!deflt || !uniform(p))
		/* The bound is for a pool of this shape alone: with others
		 * beside it, it is a guide, not the limit. */
		err_set(err, errlen, "%zu services, k = %u, overlap ≤ %u: no "
		    "shard fits beside the %zu placed%s (a pool of this shape "
		    "alone holds at most %zu tenants): add services", a, k, m,
		    p->count, gave_up ? " within the search budget" : "",
		    bound);
	else if (p->count >= bound)
		err_set(err, errlen, "%zu services, k = %u, overlap ≤ %u holds "
		    "at most %zu tenants; %zu placed", a, k, m, bound,
		    p->count);
	else if (gave_up)
		err_set(err, errlen, "no shard found within the search budget "
		    "(%zu services, k = %u, overlap ≤ %u: at most %zu tenants; "
		    "%zu placed): add services", a, k, m, bound, p->count);
	else
		err_set(err, errlen, "no shard of %u live services keeps "
		    "overlap ≤ %u with the %zu placed (%zu services hold at "
		    "most %zu, but not with these shards): add services", k,
		    m, p->count, a, bound);
	return -1;
}

int placement_grow(struct placement *p, size_t i, unsigned *svc, char *err,
    size_t errlen)
{
	struct placement_shard *s;
	unsigned *ov, to, j;
	bool lower = false;
	size_t a;

	if (i >= p->count) {
		err_set(err, errlen, "shard %zu does not exist (%zu placed)",
		    i, p->count);
		return -1;
	}
	s = &p->shards[i];
	if (s->n >= PLACEMENT_K_MAX) {
		err_set(err, errlen, "shard %zu holds %u services, the most a "
		    "shard takes: it cannot grow", i, s->n);
		return -1;
	}
	ov = xcalloc(p->count + 1, sizeof(*ov));
	ov_count(p, ov, s, UINT32_MAX, i);
	to = pick_for(p, i, ov);
	free(ov);
	if (to == UINT32_MAX) {
		for (size_t o = 0; o < p->count; o++)
			lower |= o != i && p->shards[o].m < s->m;
		a = placement_alive(p);
		if (a == p->n)
			err_set(err, errlen, "no live service outside shard "
			    "%zu keeps overlap ≤ %u with every other shard%s: "
			    "%zu services, %zu shards; add services", i, s->m,
			    lower ? " (less with those of a lower bound)" :
			    "", p->n, p->count);
		else
			err_set(err, errlen, "no live service outside shard "
			    "%zu keeps overlap ≤ %u with every other shard%s: "
			    "%zu services (%zu live), %zu shards; add services "
			    "or bring them back", i, s->m, lower ? " (less "
			    "with those of a lower bound)" : "", p->n, a,
			    p->count);
		return -1;
	}
	/* Insert in order: svc[] stays ascending. */
	for (j = s->n; j > 0 && s->svc[j - 1] > to; j--)
		s->svc[j] = s->svc[j - 1];
	s->svc[j] = to;
	s->n++;
	list_push(&p->holds[to], i);
	/* The shard is no block of the plan any more. */
	plan_drop(p);
	if (svc != NULL)
		*svc = to;
	return 0;
}

int placement_shrink(struct placement *p, size_t i, unsigned svc, char *err,
    size_t errlen)
{
	struct placement_shard *s;
	unsigned j;

	if (i >= p->count) {
		err_set(err, errlen, "shard %zu does not exist (%zu placed)",
		    i, p->count);
		return -1;
	}
	s = &p->shards[i];
	for (j = 0; j < s->n && s->svc[j] != svc; j++)
		;
	if (j == s->n) {
		err_set(err, errlen, "service %u is not in shard %zu: nothing "
		    "to remove", svc, i);
		return -1;
	}
	if (s->n == 1) {
		err_set(err, errlen, "service %u is the only one of shard %zu: "
		    "a shard keeps at least one; remove the shard instead",
		    svc, i);
		return -1;
	}
	memmove(&s->svc[j], &s->svc[j + 1], (s->n - j - 1) * sizeof(s->svc[0]));
	s->n--;
	s->svc[s->n] = 0;
	list_drop(&p->holds[svc], i);
	/* A smaller shard frees pairs a new plan may use. */
	plan_drop(p);
	return 0;
}

int placement_repair(struct placement *p, unsigned svc,
    struct placement_swap **swaps, size_t *nswaps, char *err, size_t errlen)
{
	struct svc_list hit = { 0 };
	size_t failed = 0, first_failed = 0;
	unsigned *ov;

	*swaps = NULL;
	*nswaps = 0;
	if (svc >= p->n) {
		err_set(err, errlen, "service %u is not in the pool (0 to "
		    "%zu)", svc, p->n ? p->n - 1 : 0);
		return -1;
	}
	if (p->alive[svc]) {
		p->alive[svc] = false;
		plan_drop(p);
	}
	for (size_t i = 0; i < p->holds[svc].len; i++)
		list_push(&hit, p->holds[svc].v[i]);
	/* In shard order, so the result does not depend on list order. */
	for (size_t i = 1; i < hit.len; i++)
		for (size_t j = i; j > 0 && hit.v[j - 1] > hit.v[j]; j--) {
			size_t t = hit.v[j];

			hit.v[j] = hit.v[j - 1];
			hit.v[j - 1] = t;
		}
	ov = xcalloc(p->count + 1, sizeof(*ov));
	for (size_t h = 0; h < hit.len; h++) {
		size_t si = hit.v[h];
		struct placement_shard *s = &p->shards[si];
		unsigned to;

		memset(ov, 0, (p->count + 1) * sizeof(*ov));
		ov_count(p, ov, s, svc, si);
		to = pick_for(p, si, ov);
		if (to == UINT32_MAX) {
			if (failed++ == 0)
				first_failed = si;
			continue;
		}
		list_drop(&p->holds[svc], si);
		list_push(&p->holds[to], si);
		for (unsigned j = 0; j < s->n; j++)
			if (s->svc[j] == svc)
				s->svc[j] = to;
		qsort(s->svc, s->n, sizeof(unsigned), cmp_unsigned);
		*swaps = xrealloc(*swaps, (*nswaps + 1) * sizeof(**swaps));
		(*swaps)[*nswaps].shard = si;
		(*swaps)[*nswaps].from = svc;
		(*swaps)[*nswaps].to = to;
		(*nswaps)++;
	}
	free(ov);
	free(hit.v);
	if (*nswaps)
		plan_drop(p);
	if (failed) {
		err_set(err, errlen, "%zu of %zu shards holding service %u "
		    "(the first: shard %zu) keep it: no live service outside "
		    "them keeps overlap ≤ %u with every other shard; add "
		    "services and repair again", failed, hit.len, svc,
		    first_failed, p->shards[first_failed].m);
		return -1;
	}
	return 0;
}
