/*
 * test_replicas.c - replica sets (orchestrator/tasks/replicas.c): rings
 * worked out by hand for both strategies (RF 1..3, racks fewer and more
 * than RF, two dcs, vnodes, wrap-around), generated rings checked against a
 * second implementation written the other way round (Cassandra 3.x's
 * "skipped endpoints appended once every rack is seen", which must give the
 * same sets), the input errors, and the real 4.1.0 capture: the replicas
 * `nodetool describering shop` and `getendpoints shop orders 42` printed.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../agent/nodetool.h"
#include "../../common/util.h"
#include "../../orchestrator/tasks/replicas.h"
#include "t.h"

/* ---- hand-worked rings ---- */

struct node {
	const char *ep, *dc, *rack;
	int64_t tokens[16];
	size_t ntokens;
};

static struct replicas_token *ring_of(const struct node *nodes, size_t nn,
    size_t *n)
{
	struct replicas_token *r = xcalloc(16 * nn + 1, sizeof(*r));

	*n = 0;
	for (size_t i = 0; i < nn; i++)
		for (size_t j = 0; j < nodes[i].ntokens; j++)
			r[(*n)++] = (struct replicas_token){ nodes[i].tokens[j],
			    nodes[i].ep, nodes[i].dc, nodes[i].rack };
	return r;
}

/* "A,B,C": the replicas of the range ending at token end, in order. */
static char *replicas_str(const struct replicas_map *m, int64_t end)
{
	size_t i = replicas_range_of(m, end);
	char *s = xstrdup("");

	if (m->ranges[i].end != end)
		return xasprintf("(no range ends at %" PRId64 ")", end);
	for (size_t k = 0; k < m->ranges[i].nreplicas; k++) {
		char *t = xasprintf("%s%s%s", s, k ? "," : "",
		    m->endpoints[m->ranges[i].replicas[k]].endpoint);
		free(s);
		s = t;
	}
	return s;
}

struct want {
	int64_t end;
	const char *replicas;
};

struct case_ {
	const char *name;
	const struct node *nodes;
	size_t nn;
	struct replicas_repl repl;
	struct want want[16];
};

#define N(x) (x), (sizeof(x) / sizeof((x)[0]))
#define SIMPLE(r) { REPLICAS_SIMPLE, (r), NULL, 0 }
#define NTS(d) { REPLICAS_NTS, 0, (d), sizeof(d) / sizeof((d)[0]) }

/* four single-token nodes, one dc, one rack */
static const struct node four[] = {
	{ "A", "dc1", "r1", { -100 }, 1 }, { "B", "dc1", "r1", { 0 }, 1 },
	{ "C", "dc1", "r1", { 100 }, 1 }, { "D", "dc1", "r1", { 200 }, 1 },
};
/* three racks, two nodes each, racks in runs of two */
static const struct node racks3[] = {
	{ "A", "dc1", "r1", { 10 }, 1 }, { "B", "dc1", "r1", { 20 }, 1 },
	{ "C", "dc1", "r2", { 30 }, 1 }, { "D", "dc1", "r2", { 40 }, 1 },
	{ "E", "dc1", "r3", { 50 }, 1 }, { "F", "dc1", "r3", { 60 }, 1 },
};
/* two racks for RF 3: one rack is used twice */
static const struct node racks2[] = {
	{ "A", "dc1", "r1", { 10 }, 1 }, { "B", "dc1", "r1", { 20 }, 1 },
	{ "C", "dc1", "r1", { 30 }, 1 }, { "D", "dc1", "r2", { 40 }, 1 },
};
/* four racks for RF 2 */
static const struct node racks4[] = {
	{ "A", "dc1", "r1", { 10 }, 1 }, { "B", "dc1", "r1", { 20 }, 1 },
	{ "C", "dc1", "r2", { 30 }, 1 }, { "D", "dc1", "r3", { 40 }, 1 },
	{ "E", "dc1", "r4", { 50 }, 1 },
};
/* two dcs, interleaved on the ring */
static const struct node twodc[] = {
	{ "A", "dc1", "r1", { 10 }, 1 }, { "B", "dc2", "ra", { 20 }, 1 },
	{ "C", "dc1", "r1", { 30 }, 1 }, { "D", "dc2", "rb", { 40 }, 1 },
	{ "E", "dc1", "r2", { 50 }, 1 }, { "F", "dc2", "ra", { 60 }, 1 },
};
/* four vnodes each */
static const struct node vn4[] = {
	{ "A", "dc1", "r1", { 0, 10, 30, 90 }, 4 },
	{ "B", "dc1", "r1", { 20, 50, 70, 100 }, 4 },
	{ "C", "dc1", "r1", { 40, 60, 80, 110 }, 4 },
};
/* the extremes of the token space */
static const struct node edges[] = {
	{ "A", "dc1", "r1", { INT64_MIN }, 1 },
	{ "B", "dc1", "r1", { INT64_MAX }, 1 },
};
static const struct node lone[] = { { "A", "dc1", "r1", { 7 }, 1 } };

static const struct replicas_dc_rf rf_3[] = { { "dc1", 3 } };
static const struct replicas_dc_rf rf_2[] = { { "dc1", 2 } };
static const struct replicas_dc_rf rf_2_1[] = { { "dc1", 2 }, { "dc2", 1 } };
static const struct replicas_dc_rf rf_2_0[] = { { "dc1", 2 }, { "dc2", 0 } };
static const struct replicas_dc_rf rf_unknown[] = {
	{ "dc9", 3 }, { "dc1", 2 }, { "dc2", 1 },
};
static const struct replicas_dc_rf rf_1_5[] = { { "dc1", 1 }, { "dc2", 5 } };

static const struct case_ cases[] = {
	{ "simple rf1", N(four), SIMPLE(1), {
		{ -100, "A" }, { 0, "B" }, { 100, "C" }, { 200, "D" } } },
	{ "simple rf2", N(four), SIMPLE(2), {
		{ -100, "A,B" }, { 0, "B,C" }, { 100, "C,D" }, { 200, "D,A" } } },
	{ "simple rf3", N(four), SIMPLE(3), {
		{ -100, "A,B,C" }, { 200, "D,A,B" } } },
	{ "simple rf above nodes", N(four), SIMPLE(9), {
		{ 100, "C,D,A,B" } } },
	{ "simple rf0", N(four), SIMPLE(0), { { 100, "" } } },
	/* NTS ignores racks for SimpleStrategy: racks3 rf3 is A,B,C */
	{ "simple ignores racks", N(racks3), SIMPLE(3), { { 10, "A,B,C" } } },
	{ "nts one rack per replica", N(racks3), NTS(rf_3), {
		{ 10, "A,C,E" }, { 20, "B,C,E" }, { 30, "C,E,A" },
		{ 40, "D,E,A" }, { 50, "E,A,C" }, { 60, "F,A,C" } } },
	/* rf 3 - 2 racks = one repeat, taken where first met */
	{ "nts racks fewer than rf", N(racks2), NTS(rf_3), {
		{ 10, "A,B,D" }, { 20, "B,C,D" }, { 30, "C,D,A" },
		{ 40, "D,A,B" } } },
	{ "nts racks more than rf", N(racks4), NTS(rf_2), {
		{ 10, "A,C" }, { 20, "B,C" }, { 30, "C,D" }, { 40, "D,E" },
		{ 50, "E,A" } } },
	{ "nts two dcs 2+1", N(twodc), NTS(rf_2_1), {
		{ 10, "A,B,E" }, { 20, "B,C,E" }, { 30, "C,D,E" },
		{ 40, "D,E,A" }, { 50, "E,F,A" }, { 60, "F,A,E" } } },
	{ "nts dc with rf 0", N(twodc), NTS(rf_2_0), {
		{ 10, "A,E" }, { 20, "C,E" }, { 60, "A,E" } } },
	{ "nts unknown dc", N(twodc), NTS(rf_unknown), {
		{ 10, "A,B,E" }, { 60, "F,A,E" } } },
	/* dc2 has 3 nodes in 2 racks: rf 5 gives all three */
	{ "nts rf above dc nodes", N(twodc), NTS(rf_1_5), {
		{ 10, "A,B,D,F" }, { 40, "D,E,F,B" } } },
	{ "vnodes 4 rf2", N(vn4), SIMPLE(2), {
		{ 0, "A,B" }, { 10, "A,B" }, { 20, "B,A" }, { 30, "A,C" },
		{ 40, "C,B" }, { 50, "B,C" }, { 60, "C,B" }, { 70, "B,C" },
		{ 80, "C,A" }, { 90, "A,B" }, { 100, "B,C" }, { 110, "C,A" } } },
	{ "vnodes 4 rf3", N(vn4), SIMPLE(3), {
		{ 0, "A,B,C" }, { 30, "A,C,B" }, { 110, "C,A,B" } } },
	{ "extreme tokens", N(edges), SIMPLE(1), {
		{ INT64_MIN, "A" }, { INT64_MAX, "B" } } },
	{ "one token", N(lone), SIMPLE(3), { { 7, "A" } } },
};

static void test_cases(void)
{
	char err[256];

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct case_ *k = &cases[c];
		size_t n;
		struct replicas_token *ring = ring_of(k->nodes, k->nn, &n);
		struct replicas_map *m = replicas_compute(ring, n, &k->repl,
		    err, sizeof(err));

		T_CHECK(m != NULL, "%s: %s", k->name, err);
		if (m == NULL) {
			free(ring);
			continue;
		}
		T_EQ_INT(m->nranges, n);
		for (size_t i = 0; i < 16 && k->want[i].replicas; i++) {
			char *got = replicas_str(m, k->want[i].end);
			T_CHECK(strcmp(got, k->want[i].replicas) == 0,
			    "%s: range ending %" PRId64 ": got %s, want %s",
			    k->name, k->want[i].end, got, k->want[i].replicas);
			free(got);
		}
		replicas_free(m);
		free(ring);
	}
}

/* The wrap-around range and where tokens fall. */
static void test_ranges(void)
{
	size_t n;
	char err[256];
	struct replicas_token *ring = ring_of(four, 4, &n);
	struct replicas_repl r = SIMPLE(1);
	struct replicas_map *m = replicas_compute(ring, n, &r, err, sizeof(err));
	static const struct {
		int64_t t;
		size_t range;
	} at[] = {
		{ INT64_MIN, 0 }, { -100, 0 }, { -99, 1 }, { 0, 1 }, { 1, 2 },
		{ 200, 3 }, { 201, 0 }, { INT64_MAX, 0 },
	};

	T_CHECK(m != NULL, "%s", err);
	if (m == NULL) {
		free(ring);
		return;
	}
	T_EQ_INT(m->ranges[0].start, 200);
	T_EQ_INT(m->ranges[0].end, -100);
	T_EQ_INT(m->ranges[3].start, 100);
	T_EQ_INT(m->ranges[3].end, 200);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		T_CHECK(replicas_range_of(m, at[i].t) == at[i].range,
		    "token %" PRId64 ": range %zu, want %zu", at[i].t,
		    replicas_range_of(m, at[i].t), at[i].range);
	T_EQ_INT(replicas_endpoint_index(m, "C"), 2);
	T_EQ_INT(replicas_endpoint_index(m, "Z"), -1);
	replicas_free(m);
	free(ring);

	/* one token: the whole ring is one range (t, t] */
	ring = ring_of(lone, 1, &n);
	m = replicas_compute(ring, n, &r, err, sizeof(err));
	T_CHECK(m != NULL && m->nranges == 1 && m->ranges[0].start == 7 &&
	    m->ranges[0].end == 7, "one token ring");
	if (m != NULL)
		T_EQ_INT(replicas_range_of(m, -5), 0);
	replicas_free(m);
	free(ring);
}

static void test_errors(void)
{
	char err[256];
	struct replicas_repl s1 = SIMPLE(1), neg = SIMPLE(-1);
	static const struct replicas_dc_rf twice[] = { { "dc1", 1 }, { "dc1", 2 } };
	static const struct replicas_dc_rf negdc[] = { { "dc1", -2 } };
	static const struct replicas_dc_rf noname[] = { { "", 1 } };
	struct replicas_repl rtwice = NTS(twice), rneg = NTS(negdc),
	    rnoname = NTS(noname);
	struct replicas_token dup[] = {
		{ 5, "A", "dc1", "r1" }, { 6, "B", "dc1", "r1" },
		{ 5, "C", "dc1", "r1" },
	};
	struct replicas_token moved[] = {
		{ 5, "A", "dc1", "r1" }, { 6, "A", "dc1", "r2" },
	};
	struct replicas_token unnamed[] = { { 5, "", "dc1", "r1" } };
	struct replicas_token ok[] = { { 5, "A", "dc1", "r1" } };
	const struct {
		const struct replicas_token *ring;
		size_t n;
		const struct replicas_repl *repl;
		const char *want;
	} rows[] = {
		{ ok, 0, &s1, "the ring has no tokens" },
		{ dup, 3, &s1, "token 5 is owned twice (A and C)" },
		{ moved, 2, &s1, "endpoint A is in dc 'dc1' rack 'r1' and in "
		    "dc 'dc1' rack 'r2'" },
		{ unnamed, 1, &s1, "token 5 has no endpoint" },
		{ ok, 1, &neg, "replication_factor -1 is negative" },
		{ ok, 1, &rtwice, "datacenter 'dc1' is named twice" },
		{ ok, 1, &rneg, "replication factor -2 for datacenter 'dc1'" },
		{ ok, 1, &rnoname, "datacenter 1 of the replication has no name" },
		{ ok, 1, NULL, "no replication given" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct replicas_map *m;
		err[0] = '\0';
		m = replicas_compute(rows[i].ring, rows[i].n, rows[i].repl, err,
		    sizeof(err));
		T_CHECK(m == NULL && str_starts_with(err, rows[i].want),
		    "row %zu: got '%s', want '%s...'", i, err, rows[i].want);
		replicas_free(m);
	}
}

/* ---- generated rings against a second implementation ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	return rand_xorshift(&rng_state);
}

/*
 * Replicas of the range ending at sorted token index i, the 3.x way: per
 * dc, take new racks, set repeats aside, and once every rack of the dc has
 * been seen append the set-aside ones in ring order, then take whatever
 * comes.  Writes a bitmap of endpoints into got.
 */
static void reference(const int64_t *tok, const size_t *owner, size_t n,
    const char *const *dc, const char *const *rack, size_t nep,
    const struct replicas_dc_rf *rf, size_t nrf, bool *got)
{
	memset(got, 0, nep * sizeof(*got));
	(void)tok;
	for (size_t d = 0; d < nrf; d++) {
		size_t nodes = 0, nracks = 0, want, have = 0, nskip = 0;
		const char *seen_racks[64];
		size_t nseen = 0, skipped[64];
		bool all_racks = false, taken[64] = { false };

		for (size_t e = 0; e < nep; e++) {
			bool dup = false;
			if (strcmp(dc[e], rf[d].dc))
				continue;
			nodes++;
			for (size_t f = 0; f < e; f++)
				if (!strcmp(dc[f], dc[e]) &&
				    !strcmp(rack[f], rack[e]))
					dup = true;
			if (!dup)
				nracks++;
		}
		want = (size_t)rf[d].rf < nodes ? (size_t)rf[d].rf : nodes;
		for (size_t k = 0; k < n && have < want; k++) {
			size_t e = owner[k];
			bool rack_seen = false;
			if (strcmp(dc[e], rf[d].dc) || taken[e])
				continue;
			if (all_racks) {
				taken[e] = true;
				have++;
				continue;
			}
			for (size_t s = 0; s < nseen; s++)
				if (!strcmp(seen_racks[s], rack[e]))
					rack_seen = true;
			if (rack_seen) {
				bool already = false;
				for (size_t s = 0; s < nskip; s++)
					if (skipped[s] == e)
						already = true;
				if (!already)
					skipped[nskip++] = e;
				continue;
			}
			seen_racks[nseen++] = rack[e];
			taken[e] = true;
			have++;
			if (nseen == nracks) {
				all_racks = true;
				for (size_t s = 0; s < nskip && have < want; s++) {
					taken[skipped[s]] = true;
					have++;
				}
			}
		}
		for (size_t e = 0; e < nep; e++)
			if (taken[e])
				got[e] = true;
	}
}

static void test_generated(void)
{
	static const char *const dcs[] = { "dc1", "dc2", "dc3" };
	static const char *const racks[] = { "ra", "rb", "rc", "rd", "re" };
	char err[256];
	size_t rings = 0, mismatches = 0;

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int iter = 0; iter < 400; iter++) {
		size_t nep = 1 + rnd() % 12;
		size_t vnodes = iter % 3 == 0 ? 16 : 1 + rnd() % 4;
		size_t ndc = 1 + rnd() % 3;
		char *names[12];
		const char *edc[12], *erack[12];
		struct replicas_token *ring = xcalloc(nep * vnodes, sizeof(*ring));
		struct replicas_dc_rf rf[3];
		struct replicas_repl repl = { REPLICAS_NTS, 0, rf, ndc };
		size_t n = 0;
		struct replicas_map *m;

		for (size_t e = 0; e < nep; e++) {
			names[e] = xasprintf("10.0.0.%zu", e + 1);
			edc[e] = dcs[rnd() % ndc];
			erack[e] = racks[rnd() % (1 + iter % 5)];
			for (size_t v = 0; v < vnodes; v++)
				ring[n++] = (struct replicas_token){
				    (int64_t)rnd(), names[e], edc[e], erack[e] };
		}
		for (size_t d = 0; d < ndc; d++)
			rf[d] = (struct replicas_dc_rf){ dcs[d], (int)(rnd() % 5) };
		m = replicas_compute(ring, n, &repl, err, sizeof(err));
		/* 64-bit random tokens do not collide in practice */
		T_CHECK(m != NULL, "iteration %d: %s", iter, err);
		if (m == NULL)
			goto next;
		rings++;
		{
			int64_t *tok = xcalloc(n, sizeof(*tok));
			size_t *owner = xcalloc(n, sizeof(*owner));
			const char *mdc[12], *mrack[12];
			bool got[12], mine[12];

			for (size_t e = 0; e < m->nendpoints; e++) {
				mdc[e] = m->endpoints[e].dc;
				mrack[e] = m->endpoints[e].rack;
			}
			for (size_t i = 0; i < m->nranges; i++) {
				/* ring order from range i: ends i, i+1, ... */
				for (size_t k = 0; k < n; k++) {
					const struct replicas_range *r =
					    &m->ranges[(i + k) % n];
					tok[k] = r->end;
					for (size_t j = 0; j < n; j++)
						if (ring[j].token == r->end)
							owner[k] = (size_t)
							    replicas_endpoint_index(
							    m, ring[j].endpoint);
				}
				reference(tok, owner, n, mdc, mrack,
				    m->nendpoints, rf, ndc, got);
				memset(mine, 0, sizeof(mine));
				for (size_t k = 0; k < m->ranges[i].nreplicas; k++) {
					size_t e = m->ranges[i].replicas[k];
					if (mine[e])
						mismatches++;	/* a repeat */
					mine[e] = true;
				}
				if (memcmp(got, mine, m->nendpoints * sizeof(bool)))
					mismatches++;
				/* the primary is the owner of the range's end */
				if (m->ranges[i].nreplicas > 0 &&
				    rf[0].rf > 0 && !strcmp(mdc[owner[0]], "dc1") &&
				    m->ranges[i].replicas[0] != owner[0])
					mismatches++;
			}
			free(tok);
			free(owner);
		}
next:
		replicas_free(m);
		for (size_t e = 0; e < nep; e++)
			free(names[e]);
		free(ring);
	}
	T_EQ_INT(rings, 400);
	T_EQ_INT(mismatches, 0);
}

/* ---- the real 4.1.0 capture ---- */

static char *shared_file(const char *name, size_t *len)
{
	const char *env = getenv("RM_SHARED");
	char *dir, *path, *buf;

	if (env == NULL || *env == '\0')
		dir = xstrdup("../shared/cassandra");
	else {
		char *probe = xasprintf("%s/cassandra/README.md", env);
		dir = access(probe, R_OK) == 0 ?
		    xasprintf("%s/cassandra", env) : xstrdup(env);
		free(probe);
	}
	path = xasprintf("%s/4.1.0-real/%s", dir, name);
	buf = file_read_all(path, 4u << 20, len);
	T_CHECK(buf != NULL, "cannot read sample %s (set RM_SHARED)", path);
	free(path);
	free(dir);
	if (buf != NULL) {
		/* the closing "[exit N]" line is the capture's, not nodetool's */
		char *x = strstr(buf, "[exit ");
		if (x != NULL && (x == buf || x[-1] == '\n')) {
			*x = '\0';
			*len = (size_t)(x - buf);
		}
	}
	return buf;
}

/*
 * Cassandra's Murmur3Partitioner token of a key: the first 64 bits of
 * MurmurHash3 x64 128 with seed 0, Long.MIN_VALUE mapped to MAX_VALUE.
 * Cassandra's tail reads bytes as signed Java bytes (sign-extended); that
 * is kept so keys with bytes >= 0x80 hash as Cassandra hashes them.
 */
static uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t fmix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

static int64_t murmur3_token(const unsigned char *key, size_t len)
{
	const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
	uint64_t h1 = 0, h2 = 0, k1 = 0, k2 = 0;
	size_t nblocks = len / 16, i;

	for (i = 0; i < nblocks; i++) {
		uint64_t a = 0, b = 0;
		for (int j = 7; j >= 0; j--) {
			a = (a << 8) | key[16 * i + (size_t)j];
			b = (b << 8) | key[16 * i + 8 + (size_t)j];
		}
		a *= c1; a = rotl(a, 31); a *= c2; h1 ^= a;
		h1 = rotl(h1, 27); h1 += h2; h1 = h1 * 5 + 0x52dce729;
		b *= c2; b = rotl(b, 33); b *= c1; h2 ^= b;
		h2 = rotl(h2, 31); h2 += h1; h2 = h2 * 5 + 0x38495ab5;
	}
	const unsigned char *tail = key + 16 * nblocks;
	for (size_t j = len % 16; j > 0; j--) {
		uint64_t v = (uint64_t)(int64_t)(signed char)tail[j - 1];
		if (j > 8)
			k2 ^= v << (8 * (j - 9));
		else
			k1 ^= v << (8 * (j - 1));
	}
	if (len % 16 > 8) {
		k2 *= c2; k2 = rotl(k2, 33); k2 *= c1; h2 ^= k2;
	}
	if (len % 16 > 0) {
		k1 *= c1; k1 = rotl(k1, 31); k1 *= c2; h1 ^= k1;
	}
	h1 ^= len;
	h2 ^= len;
	h1 += h2;
	h2 += h1;
	h1 = fmix(h1);
	h2 = fmix(h2);
	h1 += h2;
	return (int64_t)h1 == INT64_MIN ? INT64_MAX : (int64_t)h1;
}

/*
 * describering lines: "TokenRange(start_token:S, end_token:E,
 * endpoints:[a, b], ...".  Each one's replicas, in order, must be ours.
 */
static void test_real_capture(void)
{
	size_t rlen, dlen, glen, n = 0, checked = 0;
	char *ringtxt = shared_file("ring.txt", &rlen);
	char *desc = shared_file("describering.txt", &dlen);
	char *gete = shared_file("getendpoints.txt", &glen);
	struct nodetool_ring *ring = NULL;
	struct replicas_token *toks = NULL;
	struct replicas_map *m = NULL;
	static const struct replicas_dc_rf shop[] = { { "datacenter1", 2 } };
	struct replicas_repl repl = NTS(shop);
	char err[256];

	if (ringtxt == NULL || desc == NULL || gete == NULL)
		goto out;
	T_CHECK(nodetool_parse_ring(ringtxt, rlen, &ring, err, sizeof(err)) == 0,
	    "ring.txt: %s", err);
	if (ring == NULL)
		goto out;
	for (size_t d = 0; d < ring->n_dcs; d++)
		n += ring->dcs[d].n_entries;
	toks = xcalloc(n ? n : 1, sizeof(*toks));
	n = 0;
	for (size_t d = 0; d < ring->n_dcs; d++) {
		for (size_t i = 0; i < ring->dcs[d].n_entries; i++) {
			struct nodetool_ring_entry *e = &ring->dcs[d].entries[i];
			toks[n].token = strtoll(e->token, NULL, 10);
			toks[n].endpoint = e->address;
			toks[n].dc = ring->dcs[d].name;
			toks[n].rack = e->rack;
			n++;
		}
	}
	T_EQ_INT(n, 32);
	m = replicas_compute(toks, n, &repl, err, sizeof(err));
	T_CHECK(m != NULL, "real ring: %s", err);
	if (m == NULL)
		goto out;

	for (const char *p = strstr(desc, "TokenRange(start_token:"); p != NULL;
	    p = strstr(p + 1, "TokenRange(start_token:")) {
		long long s, e;
		const char *eps = strstr(p, "endpoints:["), *close;
		char *want, *got;
		size_t i;

		T_CHECK(sscanf(p, "TokenRange(start_token:%lld, end_token:%lld",
		    &s, &e) == 2 && eps != NULL, "bad describering line");
		if (eps == NULL)
			break;
		eps += strlen("endpoints:[");
		close = strchr(eps, ']');
		if (close == NULL)
			break;
		want = xasprintf("%.*s", (int)(close - eps), eps);
		i = replicas_range_of(m, e);
		T_CHECK(m->ranges[i].start == s && m->ranges[i].end == e,
		    "range (%lld,%lld] is not one of ours", s, e);
		got = xstrdup("");
		for (size_t k = 0; k < m->ranges[i].nreplicas; k++) {
			char *t = xasprintf("%s%s%s", got, k ? ", " : "",
			    m->endpoints[m->ranges[i].replicas[k]].endpoint);
			free(got);
			got = t;
		}
		T_CHECK(strcmp(got, want) == 0, "range (%lld,%lld]: got [%s], "
		    "describering printed [%s]", s, e, got, want);
		free(got);
		free(want);
		checked++;
	}
	T_EQ_INT(checked, 32);

	/* getendpoints shop orders 42: orders has an int key (4 bytes, big
	 * endian); it printed 127.0.0.2 then 127.0.0.1 */
	{
		static const unsigned char key[] = { 0, 0, 0, 42 };
		int64_t t = murmur3_token(key, sizeof(key));
		size_t i = replicas_range_of(m, t);
		char *got = xasprintf("%s\n%s\n",
		    m->endpoints[m->ranges[i].replicas[0]].endpoint,
		    m->endpoints[m->ranges[i].replicas[1]].endpoint);
		T_EQ_INT(m->ranges[i].nreplicas, 2);
		T_EQ_STR(got, gete);
		free(got);
	}
out:
	replicas_free(m);
	free(toks);
	nodetool_ring_free(ring);
	free(ringtxt);
	free(desc);
	free(gete);
}

int main(void)
{
	test_cases();
	test_ranges();
	test_errors();
	test_generated();
	test_real_capture();
	return t_done("test_replicas");
}
