/*
 * seeds.c - the seed choice described in seeds.h.
 *
 * Clusters have tens to a few thousand nodes; the choice is quadratic in
 * the nodes of one DC at worst and runs on a check-in or a state change,
 * not per heartbeat, so plain arrays are enough.
 */
#include <stdlib.h>
#include <string.h>

#include "seeds.h"

static const char *nz(const char *s)
{
	return s != NULL ? s : "";
}

static bool in_list(const char *const *l, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (l[i] != NULL && strcmp(l[i], s) == 0)
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Distinct values of dc (or of rack within dc when dc != NULL), sorted. */
static size_t distinct(const struct seeds_node *nodes, size_t n,
    const char *dc, const char **out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const char *v;
		if (!nodes[i].live_normal || nodes[i].address == NULL)
			continue;
		if (dc != NULL && strcmp(nz(nodes[i].dc), dc) != 0)
			continue;
		v = dc != NULL ? nz(nodes[i].rack) : nz(nodes[i].dc);
		if (!in_list(out, k, v))
			out[k++] = v;
	}
	qsort(out, k, sizeof(*out), cmp_str);
	return k;
}

/*
 * The live normal node of dc/rack not yet chosen: a previous seed when
 * want_prev (the first in prev's order), else the lowest address.
 */
static const char *candidate(const struct seeds_node *nodes, size_t n,
    const char *dc, const char *rack, const char *const *prev, size_t nprev,
    bool want_prev, const char **chosen, size_t nchosen)
{
	const char *best = NULL;

	if (want_prev) {
		for (size_t p = 0; p < nprev; p++)
			for (size_t i = 0; i < n; i++) {
				const struct seeds_node *x = &nodes[i];
				if (x->live_normal && x->address != NULL &&
				    prev[p] != NULL &&
				    strcmp(x->address, prev[p]) == 0 &&
				    strcmp(nz(x->dc), dc) == 0 &&
				    strcmp(nz(x->rack), rack) == 0 &&
				    !in_list(chosen, nchosen, x->address))
					return x->address;
			}
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct seeds_node *x = &nodes[i];
		if (!x->live_normal || x->address == NULL ||
		    strcmp(nz(x->dc), dc) != 0 ||
		    strcmp(nz(x->rack), rack) != 0 ||
		    in_list(chosen, nchosen, x->address))
			continue;
		if (best == NULL || strcmp(x->address, best) < 0)
			best = x->address;
	}
	return best;
}

/* Seeds of one DC appended to out[*k]; per-rack counts in cnt[]. */
static void choose_dc(const struct seeds_node *nodes, size_t n,
    const char *dc, const char *const *prev, size_t nprev, size_t per_dc,
    const char **racks, size_t *cnt, const char **out, size_t *k,
    size_t outcap)
{
	size_t nr = distinct(nodes, n, dc, racks), got = 0, start = *k;

	memset(cnt, 0, nr * sizeof(*cnt));
	/*
	 * Round r gives a (r+1)th seed to racks that have r.  Within a round
	 * previous seeds go first, so a live seed is never displaced by a
	 * newcomer in a rack that sorts earlier.
	 */
	for (size_t r = 0; got < per_dc; r++) {
		size_t before = got;
		for (int phase = 0; phase < 2; phase++)
			for (size_t i = 0; i < nr && got < per_dc; i++) {
				const char *a;
				if (cnt[i] != r || *k >= outcap)
					continue;
				a = candidate(nodes, n, dc, racks[i], prev,
				    nprev, phase == 0, out + start, *k - start);
				if (a == NULL)
					continue;
				out[(*k)++] = a;
				cnt[i]++;
				got++;
			}
		if (got == before)
			break;		/* no rack has another live node */
	}
	/* Address order within the DC: the same set reads the same. */
	qsort(out + start, *k - start, sizeof(*out), cmp_str);
}

size_t seeds_choose(const struct seeds_node *nodes, size_t n,
    const char *const *prev, size_t nprev, const char *const *pinned,
    size_t npinned, int per_dc, const char **out, size_t outcap)
{
	const char **dcs, **racks;
	size_t *cnt, ndc, k = 0;

	if (npinned > 0) {
		for (size_t i = 0; i < npinned && k < outcap; i++)
			if (pinned[i] != NULL && !in_list(out, k, pinned[i]))
				out[k++] = pinned[i];
		return k;
	}
	if (per_dc < 1 || per_dc > SEEDS_PER_DC_MAX)
		per_dc = SEEDS_PER_DC_DEFAULT;
	if (n == 0)
		return 0;
	dcs = calloc(n, sizeof(*dcs));
	racks = calloc(n, sizeof(*racks));
	cnt = calloc(n, sizeof(*cnt));
	if (dcs == NULL || racks == NULL || cnt == NULL) {
		free(dcs);
		free(racks);
		free(cnt);
		return 0;
	}
	ndc = distinct(nodes, n, NULL, dcs);
	for (size_t d = 0; d < ndc; d++)
		choose_dc(nodes, n, dcs[d], prev, nprev, (size_t)per_dc, racks,
		    cnt, out, &k, outcap);
	free(dcs);
	free(racks);
	free(cnt);
	return k;
}
