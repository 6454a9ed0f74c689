/*
 * test_store_tenant.c - tenants in state.db (store_tenant.h), on a real
 * SQLite file: create with keyspaces or a prefix, refusals (no cluster,
 * a taken name, keyspaces and prefix together), placement order, shard,
 * limit and demand updates, delete, cascade with the cluster, and the
 * pool's service numbers (given in order, never reused, kept when asked
 * again and after a reopen).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/util.h"
#include "../../orchestrator/store/store.h"
#include "t.h"

static char dir[] = "/tmp/test_store_tenant.XXXXXX";
static char path[256];

static struct store *open_store(void)
{
	char err[256] = "";
	struct store *st = store_open(path, err, sizeof(err));

	T_CHECK(st != NULL, "store_open: %s", err);
	if (st == NULL)
		exit(1);
	return st;
}

static void add_cluster(struct store *st, const char *name)
{
	struct store_cluster c = {
		.name = name, .storage_url = "file:///tmp/x",
		.ssh_user = "ubuntu", .ssh_key_file = "/k",
	};
	char err[256] = "";

	T_EQ_INT(store_cluster_create(st, &c, err, sizeof(err)), 0);
}

static struct store_tenant tenant(const char *cluster, const char *name,
    unsigned a, unsigned b, unsigned c)
{
	struct store_tenant t = { .k = 3, .overlap = 1, .limit_default = 4000,
	    .limit_max = 100000, .limit_current = 4000, .min_services = 3,
	    .max_services = 16, .nshard = 3, .shard = { a, b, c } };

	str_copy(t.cluster, cluster, sizeof(t.cluster));
	str_copy(t.name, name, sizeof(t.name));
	return t;
}

static void test_tenants(struct store *st)
{
	struct store_tenant a = tenant("prod", "alpha", 0, 1, 2);
	struct store_tenant b = tenant("prod", "beta", 0, 3, 4);
	struct store_tenant got;
	struct store_tenants v;
	char err[256] = "";
	const unsigned nsh[3] = { 5, 3, 4 };

	str_copy(a.keyspaces[0], "ks_a", STORE_NAME_MAX);
	str_copy(a.keyspaces[1], "ks_b", STORE_NAME_MAX);
	a.nkeyspaces = 2;
	str_copy(b.prefix, "beta_", sizeof(b.prefix));
	T_EQ_INT(store_tenant_create(st, &a, err, sizeof(err)), 0);
	T_EQ_INT(store_tenant_create(st, &b, err, sizeof(err)), 0);

	/* refusals change nothing */
	T_EQ_INT(store_tenant_create(st, &a, err, sizeof(err)), RM_EEXIST);
	T_CHECK(strstr(err, "already has a tenant 'alpha'") != NULL, "%s", err);
	struct store_tenant x = tenant("nope", "x", 0, 1, 2);
	str_copy(x.prefix, "x", sizeof(x.prefix));
	T_EQ_INT(store_tenant_create(st, &x, err, sizeof(err)), RM_ENOENT);
	T_CHECK(strstr(err, "cluster 'nope' not found") != NULL, "%s", err);
	struct store_tenant both = a;
	str_copy(both.name, "both", sizeof(both.name));
	str_copy(both.prefix, "p", sizeof(both.prefix));
	T_EQ_INT(store_tenant_create(st, &both, err, sizeof(err)), RM_EINVAL);
	struct store_tenant none = tenant("prod", "none", 0, 1, 2);
	T_EQ_INT(store_tenant_create(st, &none, err, sizeof(err)), RM_EINVAL);
	none.prefix[0] = 'n';
	none.nshard = 0;
	T_EQ_INT(store_tenant_create(st, &none, err, sizeof(err)), RM_EINVAL);

	T_EQ_INT(store_tenant_get(st, "prod", "alpha", &got), 0);
	T_EQ_INT(got.nkeyspaces, 2);
	T_EQ_STR(got.keyspaces[1], "ks_b");
	T_EQ_STR(got.prefix, "");
	T_EQ_INT(got.nshard, 3);
	T_EQ_INT(got.shard[2], 2);
	T_EQ_INT(got.limit_current, 4000);
	T_EQ_INT(got.demand_ops, -1);
	T_CHECK(got.created_at > 0 && got.updated_at == got.created_at, "%lld",
	    (long long)got.created_at);
	T_EQ_INT(store_tenant_get(st, "prod", "gamma", &got), RM_ENOENT);

	/* placement order survives a delete in the middle */
	struct store_tenant c = tenant("prod", "gamma", 1, 3, 5);
	str_copy(c.prefix, "g", sizeof(c.prefix));
	T_EQ_INT(store_tenant_create(st, &c, err, sizeof(err)), 0);
	T_EQ_INT(store_tenant_list(st, "prod", &v), 0);
	T_EQ_INT(v.n, 3);
	T_EQ_STR(v.items[0].name, "alpha");
	T_EQ_STR(v.items[2].name, "gamma");
	T_EQ_STR(v.items[1].prefix, "beta_");
	T_CHECK(v.items[0].seq < v.items[1].seq && v.items[1].seq <
	    v.items[2].seq, "seq %lld %lld %lld", (long long)v.items[0].seq,
	    (long long)v.items[1].seq, (long long)v.items[2].seq);
	store_tenants_release(&v);
	T_EQ_INT(store_tenant_list(st, "nope", &v), RM_ENOENT);
	store_tenants_release(&v);
	T_EQ_INT(store_tenant_list(st, "empty", &v), 0);
	T_EQ_INT(v.n, 0);
	store_tenants_release(&v);

	T_CHECK(store_tenant_any(st, "prod"), "prod has tenants");
	T_CHECK(!store_tenant_any(st, "empty"), "empty has none");
	T_CHECK(!store_tenant_any(st, "nope"), "no cluster, no tenant");
	T_CHECK(store_tenant_svc_held(st, "prod", 4), "service 4 held");
	T_CHECK(!store_tenant_svc_held(st, "prod", 6), "service 6 not held");
	T_EQ_INT(store_tenant_set_shard(st, "prod", "beta", nsh, 3, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_tenant_set_shard(st, "prod", "zeta", nsh, 3, err,
	    sizeof(err)), RM_ENOENT);
	T_EQ_INT(store_tenant_set_shard(st, "prod", "beta", nsh, 0, err,
	    sizeof(err)), RM_EINVAL);
	T_EQ_INT(store_tenant_get(st, "prod", "beta", &got), 0);
	T_EQ_INT(got.shard[0], 5);
	T_EQ_INT(got.nshard, 3);
	T_CHECK(store_tenant_svc_held(st, "prod", 0),
	    "alpha still holds 0");

	T_EQ_INT(store_tenant_scale(st, "prod", "beta", 8000, 0, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_tenant_scale(st, "prod", "beta", 100001, 0, err,
	    sizeof(err)), RM_EINVAL);
	T_CHECK(strstr(err, "maximum 100000") != NULL, "%s", err);
	T_EQ_INT(store_tenant_set_demand(st, "prod", "beta", 2500, 1000, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_tenant_get(st, "prod", "beta", &got), 0);
	T_EQ_INT(got.limit_current, 8000);
	T_EQ_INT(got.demand_ops, 2500);
	T_EQ_INT(got.demand_at, 1000);

	T_EQ_INT(store_tenant_delete(st, "prod", "beta", err, sizeof(err)), 0);
	T_EQ_INT(store_tenant_delete(st, "prod", "beta", err, sizeof(err)),
	    RM_ENOENT);
	T_EQ_INT(store_tenant_get(st, "prod", "beta", &got), RM_ENOENT);
	/* a freed name can be taken again, at the end of the order */
	T_EQ_INT(store_tenant_create(st, &b, err, sizeof(err)), 0);
	T_EQ_INT(store_tenant_list(st, "prod", &v), 0);
	T_EQ_INT(v.n, 3);
	T_EQ_STR(v.items[2].name, "beta");
	store_tenants_release(&v);
}

/* The autoscaler's columns: a scale records limit and target and clears
 * a scale error; refusals change nothing; the signature; an operator's
 * update clamps the current limit and the target into the new bounds. */
static void test_scale(struct store *st)
{
	struct store_tenant t = tenant("prod", "scaled", 0, 1, 2), got;
	char err[256] = "", sig[STORE_TENANT_SIG_MAX];
	const unsigned sh[4] = { 0, 1, 2, 9 };

	str_copy(t.prefix, "sc_", sizeof(t.prefix));
	t.autoscale = true;
	T_EQ_INT(store_tenant_create(st, &t, err, sizeof(err)), 0);
	T_EQ_INT(store_tenant_get(st, "prod", "scaled", &got), 0);
	T_CHECK(got.autoscale && got.services_target == 0 &&
	    got.scaled_at == 0 && got.confirmed[0] == '\0' &&
	    got.scale_error[0] == '\0', "fresh row %d %u", got.autoscale,
	    got.services_target);

	store_tenant_sig(4000, sh, 4, sig, sizeof(sig));
	T_EQ_STR(sig, "4000@0,1,2,9");
	store_tenant_sig(7, sh, 0, sig, sizeof(sig));
	T_EQ_STR(sig, "7@");
	store_tenant_sig(4000, sh, 4, sig, 8);	/* cut, still terminated */
	T_EQ_STR(sig, "4000@0,");

	T_EQ_INT(store_tenant_set_scale_error(st, "prod", "scaled", "full",
	    err, sizeof(err)), 0);
	T_EQ_INT(store_tenant_scale(st, "prod", "scaled", 9000, 4, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_tenant_get(st, "prod", "scaled", &got), 0);
	T_CHECK(got.limit_current == 9000 && got.services_target == 4 &&
	    got.scaled_at > 0 && got.scale_error[0] == '\0', "scaled %lld %u",
	    (long long)got.limit_current, got.services_target);
	/* services 0 keeps the target */
	T_EQ_INT(store_tenant_scale(st, "prod", "scaled", 8000, 0, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_tenant_get(st, "prod", "scaled", &got), 0);
	T_CHECK(got.limit_current == 8000 && got.services_target == 4,
	    "kept %u", got.services_target);
	/* refused: over the maximum, outside min..max services, no tenant */
	T_EQ_INT(store_tenant_scale(st, "prod", "scaled", 100001, 0, err,
	    sizeof(err)), RM_EINVAL);
	T_CHECK(strstr(err, "maximum 100000") != NULL, "%s", err);
	T_EQ_INT(store_tenant_scale(st, "prod", "scaled", 5000, 2, err,
	    sizeof(err)), RM_EINVAL);
	T_CHECK(strstr(err, "3 to 16") != NULL, "%s", err);
	T_EQ_INT(store_tenant_scale(st, "prod", "nope", 5000, 0, err,
	    sizeof(err)), RM_ENOENT);
	T_EQ_INT(store_tenant_get(st, "prod", "scaled", &got), 0);
	T_CHECK(got.limit_current == 8000 && got.services_target == 4,
	    "refusals changed the row: %lld %u",
	    (long long)got.limit_current, got.services_target);

	T_EQ_INT(store_tenant_set_confirmed(st, "prod", "scaled",
	    "8000@0,1,2", err, sizeof(err)), 0);
	T_EQ_INT(store_tenant_get(st, "prod", "scaled", &got), 0);
	T_EQ_STR(got.confirmed, "8000@0,1,2");

	/* an operator lowers limit_max and max_services: both follow */
	got.limit_max = 6000;
	got.limit_default = 2000;
	got.max_services = 3;
	got.autoscale = false;
	T_EQ_INT(store_tenant_update(st, &got, err, sizeof(err)), 0);
	T_EQ_INT(store_tenant_get(st, "prod", "scaled", &got), 0);
	T_CHECK(got.limit_current == 6000 && got.services_target == 3 &&
	    got.limit_default == 2000 && !got.autoscale, "clamped %lld %u",
	    (long long)got.limit_current, got.services_target);
	got.min_services = 4;
	T_EQ_INT(store_tenant_update(st, &got, err, sizeof(err)), RM_EINVAL);
	T_CHECK(strstr(err, "min_services <= max_services") != NULL, "%s",
	    err);
	got.min_services = 3;
	got.limit_default = 7000;
	T_EQ_INT(store_tenant_update(st, &got, err, sizeof(err)), RM_EINVAL);
	str_copy(got.name, "nope", sizeof(got.name));
	got.limit_default = 1000;
	T_EQ_INT(store_tenant_update(st, &got, err, sizeof(err)), RM_ENOENT);
	T_EQ_INT(store_tenant_delete(st, "prod", "scaled", err, sizeof(err)),
	    0);
}

static void test_services(struct store *st)
{
	const char *first[] = { "10.0.0.1", "10.0.0.2", "10.0.0.3" };
	const char *again[] = { "10.0.0.3", "10.0.0.9", "10.0.0.1" };
	struct store_tenant_svc *v = NULL;
	size_t n = 0, added = 99;
	char err[256] = "";

	T_EQ_INT(store_tenant_services_add(st, "prod", first, 3, &added, err,
	    sizeof(err)), 0);
	T_EQ_INT(added, 3);
	T_EQ_INT(store_tenant_services_add(st, "prod", again, 3, &added, err,
	    sizeof(err)), 0);
	T_EQ_INT(added, 1);
	T_EQ_INT(store_tenant_services_add(st, "nope", first, 1, &added, err,
	    sizeof(err)), RM_ENOENT);
	T_EQ_INT(store_tenant_services(st, "prod", &v, &n), 0);
	T_EQ_INT(n, 4);
	if (n == 4) {
		T_EQ_INT(v[0].svc, 0);
		T_EQ_STR(v[0].address, "10.0.0.1");
		T_EQ_INT(v[3].svc, 3);
		T_EQ_STR(v[3].address, "10.0.0.9");
	}
	free(v);
	/* other clusters number their own pools from 0 */
	T_EQ_INT(store_tenant_services_add(st, "empty", again, 1, &added, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_tenant_services(st, "empty", &v, &n), 0);
	T_CHECK(n == 1 && v[0].svc == 0, "n %zu", n);
	free(v);
}

int main(void)
{
	struct store *st;
	struct store_tenant_svc *v = NULL;
	struct store_tenants tv;
	size_t n = 0;
	char err[256] = "";
	const char *later[] = { "10.0.0.7" };

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/state.db", dir);
	st = open_store();
	add_cluster(st, "prod");
	add_cluster(st, "empty");
	test_tenants(st);
	test_scale(st);
	test_services(st);
	store_close(st);

	/* after a reopen: the same tenants, numbers go on after the last */
	st = open_store();
	T_EQ_INT(store_tenant_list(st, "prod", &tv), 0);
	T_EQ_INT(tv.n, 3);
	store_tenants_release(&tv);
	T_EQ_INT(store_tenant_services_add(st, "prod", later, 1, NULL, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_tenant_services(st, "prod", &v, &n), 0);
	T_CHECK(n == 5 && v[4].svc == 4, "n %zu", n);
	free(v);

	/* deleting the cluster takes its tenants and its pool */
	T_EQ_INT(store_cluster_delete(st, "prod", err, sizeof(err)), 0);
	T_EQ_INT(store_tenant_list(st, "prod", &tv), RM_ENOENT);
	store_tenants_release(&tv);
	T_EQ_INT(store_tenant_services(st, "prod", &v, &n), 0);
	T_EQ_INT(n, 0);
	free(v);
	store_close(st);

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return t_done("test_store_tenant");
}
