/*
 * test_tenant_reload.c - what service_tenants.c relies on: a placement
 * rebuilt from the stored shards before every tenant (never kept between
 * calls) still reaches the packing number one tenant at a time, and
 * repair after such a rebuild touches only the shards holding the dead
 * service and keeps the overlap bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../orchestrator/tenants/placement.h"
#include "t.h"

#define MAXS 64

/* Place tenants one by one, each on a fresh placement loaded with the
 * shards placed so far; how many fit. */
static size_t fill(size_t n, unsigned k, struct placement_shard *sh)
{
	char err[256];
	size_t count = 0;

	for (;;) {
		struct placement *p = placement_new(n, k, 1, err, sizeof(err));
		if (p == NULL || placement_load(p, sh, count, err,
		    sizeof(err)) != 0) {
			T_CHECK(0, "n %zu k %u: %s", n, k, err);
			placement_free(p);
			return count;
		}
		if (count == MAXS || placement_place(p, &sh[count], err,
		    sizeof(err)) != 0) {
			placement_free(p);
			return count;
		}
		count++;
		placement_free(p);
	}
}

static void test_reload_reaches_the_bound(void)
{
	static const struct { size_t n; unsigned k; } rows[] = {
		{ 7, 3 }, { 9, 3 }, { 10, 3 }, { 12, 3 }, { 15, 3 }, { 13, 4 },
	};
	struct placement_shard sh[MAXS + 1];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t got = fill(rows[i].n, rows[i].k, sh);
		T_CHECK(got == placement_bound(rows[i].n, rows[i].k, 1),
		    "n %zu k %u: %zu placed, bound %zu", rows[i].n, rows[i].k,
		    got, placement_bound(rows[i].n, rows[i].k, 1));
	}
}

static void test_repair_after_reload(void)
{
	struct placement_shard sh[MAXS + 1], before[MAXS + 1];
	struct placement_swap *sw = NULL;
	size_t nsw = 0, count = 0;
	char err[512];
	struct placement *p;

	/* 9 services, 3 tenants: room to repair. */
	for (size_t i = 0; i < 3; i++) {
		p = placement_new(9, 3, 1, err, sizeof(err));
		T_EQ_INT(placement_load(p, sh, count, err, sizeof(err)), 0);
		T_EQ_INT(placement_place(p, &sh[count], err, sizeof(err)), 0);
		count++;
		placement_free(p);
	}
	memcpy(before, sh, sizeof(sh));
	p = placement_new(9, 3, 1, err, sizeof(err));
	T_EQ_INT(placement_load(p, sh, count, err, sizeof(err)), 0);
	unsigned dead = sh[0].svc[0];
	err[0] = '\0';
	T_CHECK(placement_repair(p, dead, &sw, &nsw, err, sizeof(err)) == 0,
	    "repair of %u: %s", dead, err);
	T_CHECK(nsw >= 1, "%zu swaps", nsw);
	for (size_t i = 0; i < count; i++) {
		const struct placement_shard *now = placement_get(p, i);
		bool held = false;
		for (unsigned j = 0; j < 3; j++)
			held |= before[i].svc[j] == dead;
		unsigned same = placement_overlap(now, &before[i]);
		T_CHECK(held ? same == 2 : same == 3, "shard %zu: %u same, "
		    "held %d", i, same, held);
		for (unsigned j = 0; j < 3; j++)
			T_CHECK(now->svc[j] != dead, "shard %zu keeps %u", i,
			    dead);
		for (size_t o = 0; o < i; o++)
			T_CHECK(placement_overlap(now, placement_get(p, o))
			    <= 1, "shards %zu and %zu", o, i);
	}
	free(sw);
	placement_free(p);

	/* A full pool (12 on 9): no repair keeps the bound; nothing moves. */
	count = fill(9, 3, sh);
	T_EQ_INT(count, 12);
	p = placement_new(9, 3, 1, err, sizeof(err));
	T_EQ_INT(placement_load(p, sh, count, err, sizeof(err)), 0);
	sw = NULL;
	nsw = 0;
	T_EQ_INT(placement_repair(p, 4, &sw, &nsw, err, sizeof(err)), -1);
	T_EQ_INT(nsw, 0);
	T_CHECK(strstr(err, "4 of 4 shards holding service 4") != NULL, "%s",
	    err);
	free(sw);
	placement_free(p);
}

int main(void)
{
	test_reload_reaches_the_bound();
	test_repair_after_reload();
	return t_done("test_tenant_reload");
}
