/*
 * store_tenant.c - tenants, their shards, and each cluster's pool of
 * service numbers (store_tenant.h).
 *
 * A shard and a keyspace list are short lists kept as JSON text in their
 * tenant's row: they are always read and written whole, with the row.
 * Statements are prepared when used: tenants change at the pace of an
 * operator or a repair, not per request.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "store_int.h"

#define TENANT_COLS \
	"cluster, name, seq, keyspaces, prefix, k, overlap, limit_default," \
	" limit_max, limit_current, min_services, max_services, shard," \
	" demand_ops, demand_at, created_at, updated_at, autoscale," \
	" services_target, scaled_at, confirmed, scale_error"

static char *shard_text(const unsigned *shard, size_t n)
{
	json_t *a = json_array();
	char *text;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(shard[i]));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

static char *keyspaces_text(const struct store_tenant *t)
{
	json_t *a;
	char *text;

	if (t->nkeyspaces == 0)
		return NULL;
	a = json_array();
	for (size_t i = 0; i < t->nkeyspaces; i++)
		json_array_append_new(a, json_string(t->keyspaces[i]));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

static void tenant_read(sqlite3_stmt *s, struct store_tenant *t)
{
	json_t *a, *v;
	size_t i;

	memset(t, 0, sizeof(*t));
	col_copy(s, 0, t->cluster, sizeof(t->cluster));
	col_copy(s, 1, t->name, sizeof(t->name));
	t->seq = sqlite3_column_int64(s, 2);
	a = col_str(s, 3) ? json_loads(col_str(s, 3), 0, NULL) : NULL;
	json_array_foreach(a, i, v) {
		if (t->nkeyspaces == STORE_TENANT_KS_MAX || !json_is_string(v))
			break;
		str_copy(t->keyspaces[t->nkeyspaces++], json_string_value(v),
		    STORE_NAME_MAX);
	}
	json_decref(a);
	col_copy(s, 4, t->prefix, sizeof(t->prefix));
	t->k = (unsigned)sqlite3_column_int(s, 5);
	t->overlap = (unsigned)sqlite3_column_int(s, 6);
	t->limit_default = sqlite3_column_int64(s, 7);
	t->limit_max = sqlite3_column_int64(s, 8);
	t->limit_current = sqlite3_column_int64(s, 9);
	t->min_services = (unsigned)sqlite3_column_int(s, 10);
	t->max_services = (unsigned)sqlite3_column_int(s, 11);
	a = col_str(s, 12) ? json_loads(col_str(s, 12), 0, NULL) : NULL;
	json_array_foreach(a, i, v) {
		if (t->nshard == STORE_TENANT_SHARD_MAX || !json_is_integer(v))
			break;
		t->shard[t->nshard++] = (unsigned)json_integer_value(v);
	}
	json_decref(a);
	t->demand_ops = sqlite3_column_type(s, 13) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(s, 13);
	t->demand_at = sqlite3_column_int64(s, 14);
	t->created_at = sqlite3_column_int64(s, 15);
	t->updated_at = sqlite3_column_int64(s, 16);
	t->autoscale = sqlite3_column_int(s, 17) != 0;
	t->services_target = (unsigned)sqlite3_column_int(s, 18);
	t->scaled_at = sqlite3_column_int64(s, 19);
	col_copy(s, 20, t->confirmed, sizeof(t->confirmed));
	col_copy(s, 21, t->scale_error, sizeof(t->scale_error));
}

static int tx_create(struct store *st, struct conn *c, void *arg, char *err,
    size_t errlen)
{
	const struct store_tenant *t = arg;
	char *ks = keyspaces_text(t), *shard = shard_text(t->shard, t->nshard);
	int64_t now = time_wall_ms();
	sqlite3_stmt *s;
	int rc;

	(void)st;
	s = store_prep(c, "INSERT INTO tenants (" TENANT_COLS ") SELECT"
	    " ?1, ?2, COALESCE((SELECT max(seq) FROM tenants WHERE"
	    " cluster = ?1), 0) + 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
	    " ?12, NULL, NULL, ?13, ?13, ?14, 0, 0, '', ''");
	bind_text(s, 1, t->cluster);
	bind_text(s, 2, t->name);
	bind_text(s, 3, ks);
	bind_text(s, 4, t->prefix[0] ? t->prefix : NULL);
	sqlite3_bind_int(s, 5, (int)t->k);
	sqlite3_bind_int(s, 6, (int)t->overlap);
	sqlite3_bind_int64(s, 7, t->limit_default);
	sqlite3_bind_int64(s, 8, t->limit_max);
	sqlite3_bind_int64(s, 9, t->limit_current);
	sqlite3_bind_int(s, 10, (int)t->min_services);
	sqlite3_bind_int(s, 11, (int)t->max_services);
	bind_text(s, 12, shard);
	sqlite3_bind_int64(s, 13, t->created_at > 0 ? t->created_at : now);
	sqlite3_bind_int(s, 14, t->autoscale ? 1 : 0);
	rc = store_run_fin(c, s, err, errlen, "create tenant");
	if (rc == RM_ENOENT && err != NULL)
		snprintf(err, errlen, "cluster '%s' not found", t->cluster);
	else if (rc == RM_EEXIST && err != NULL)
		snprintf(err, errlen, "cluster '%s' already has a tenant "
		    "'%s'", t->cluster, t->name);
	free(ks);
	free(shard);
	return rc;
}

int store_tenant_create(struct store *st, const struct store_tenant *t,
    char *err, size_t errlen)
{
	if ((t->nkeyspaces == 0) == (t->prefix[0] == '\0') ||
	    t->nshard == 0 || t->nshard > STORE_TENANT_SHARD_MAX) {
		if (err != NULL)
			snprintf(err, errlen, "tenant '%s' needs keyspaces or "
			    "a prefix (not both) and a shard of 1 to %d "
			    "services", t->name, STORE_TENANT_SHARD_MAX);
		return RM_EINVAL;
	}
	return store_write_op(st, tx_create, (void *)(uintptr_t)t, err,
	    errlen);
}

int store_tenant_get(struct store *st, const char *cluster, const char *name,
    struct store_tenant *out)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = store_prep(c, "SELECT " TENANT_COLS " FROM tenants"
	    " WHERE cluster = ?1 AND name = ?2");
	int rc;

	memset(out, 0, sizeof(*out));
	bind_text(s, 1, cluster);
	bind_text(s, 2, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		tenant_read(s, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = RM_ENOENT;
	} else {
		rc = store_db_err(c, NULL, 0, "get tenant");
	}
	sqlite3_finalize(s);
	unlock(c);
	return rc;
}

void store_tenants_release(struct store_tenants *v)
{
	if (v == NULL)
		return;
	free(v->items);
	memset(v, 0, sizeof(*v));
}

int store_tenant_list(struct store *st, const char *cluster,
    struct store_tenants *out)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s;
	size_t cap = 0;
	bool found = false;
	int rc;

	memset(out, 0, sizeof(*out));
	/* The LEFT JOIN gives one row of NULLs for a cluster without
	 * tenants, and no row for a missing cluster. */
	s = store_prep(c, "SELECT t.cluster, t.name, t.seq, t.keyspaces,"
	    " t.prefix, t.k, t.overlap, t.limit_default, t.limit_max,"
	    " t.limit_current, t.min_services, t.max_services, t.shard,"
	    " t.demand_ops, t.demand_at, t.created_at, t.updated_at,"
	    " t.autoscale, t.services_target, t.scaled_at, t.confirmed,"
	    " t.scale_error"
	    " FROM clusters c LEFT JOIN tenants t ON t.cluster = c.name"
	    " WHERE c.name = ?1 ORDER BY t.seq");
	bind_text(s, 1, cluster);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		found = true;
		if (sqlite3_column_type(s, 1) == SQLITE_NULL)
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 16;
			out->items = xrealloc(out->items, cap *
			    sizeof(*out->items));
		}
		tenant_read(s, &out->items[out->n++]);
	}
	if (rc != SQLITE_DONE)
		rc = store_db_err(c, NULL, 0, "list tenants");
	else
		rc = found ? 0 : RM_ENOENT;
	sqlite3_finalize(s);
	unlock(c);
	return rc;
}

struct set_args {
	const char *cluster, *name;
	const char *sql, *what;
	const char *text;
	int64_t a, b;
};

/* One statement on a tenant's row: ?1 cluster, ?2 name, ?3 text, ?4 a,
 * ?5 b, ?6 now; a statement uses those it needs (binding a number it
 * does not use is refused by SQLite and changes nothing). */
static int tx_set(struct store *st, struct conn *c, void *arg, char *err,
    size_t errlen)
{
	struct set_args *a = arg;
	sqlite3_stmt *s = store_prep(c, a->sql);
	int rc;

	(void)st;
	bind_text(s, 1, a->cluster);
	bind_text(s, 2, a->name);
	bind_text(s, 3, a->text);
	sqlite3_bind_int64(s, 4, a->a);
	sqlite3_bind_int64(s, 5, a->b);
	sqlite3_bind_int64(s, 6, time_wall_ms());
	rc = store_run_fin(c, s, err, errlen, a->what);
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = RM_ENOENT;
	return rc;
}

int store_tenant_delete(struct store *st, const char *cluster,
    const char *name, char *err, size_t errlen)
{
	struct set_args a = { cluster, name, "DELETE FROM tenants WHERE"
	    " cluster = ?1 AND name = ?2", "delete tenant", NULL, 0, 0 };

	return store_write_op(st, tx_set, &a, err, errlen);
}

int store_tenant_set_shard(struct store *st, const char *cluster,
    const char *name, const unsigned *shard, size_t n, char *err,
    size_t errlen)
{
	struct set_args a = { cluster, name, "UPDATE tenants SET shard = ?3,"
	    " updated_at = ?6 WHERE cluster = ?1 AND name = ?2",
	    "tenant shard", NULL, 0, 0 };
	int rc;

	if (n == 0 || n > STORE_TENANT_SHARD_MAX) {
		if (err != NULL)
			snprintf(err, errlen, "a shard of %zu services for "
			    "tenant '%s': it holds 1 to %d", n, name,
			    STORE_TENANT_SHARD_MAX);
		return RM_EINVAL;
	}
	a.text = shard_text(shard, n);
	rc = store_write_op(st, tx_set, &a, err, errlen);
	free((char *)(uintptr_t)a.text);
	return rc;
}

int store_tenant_scale(struct store *st, const char *cluster,
    const char *name, int64_t limit, unsigned services, char *err,
    size_t errlen)
{
	struct set_args a = { cluster, name, "UPDATE tenants SET"
	    " limit_current = ?4, services_target = ?5, scaled_at = ?6,"
	    " scale_error = '', updated_at = ?6 WHERE cluster = ?1 AND name = ?2",
	    "tenant scale", NULL, limit, services };
	struct store_tenant t;
	int rc = store_tenant_get(st, cluster, name, &t);

	if (rc != 0)
		return rc;
	if (limit < 1 || limit > t.limit_max) {
		if (err != NULL)
			snprintf(err, errlen, "a limit of %" PRId64 " ops/s "
			    "for tenant '%s': it must be 1 to its maximum "
			    "%" PRId64, limit, name, t.limit_max);
		return RM_EINVAL;
	}
	if (services != 0 && (services < t.min_services ||
	    services > t.max_services)) {
		if (err != NULL)
			snprintf(err, errlen, "%u services for tenant '%s': it "
			    "has %u to %u", services, name, t.min_services,
			    t.max_services);
		return RM_EINVAL;
	}
	if (services == 0)
		a.b = t.services_target;
	return store_write_op(st, tx_set, &a, err, errlen);
}

void store_tenant_sig(int64_t limit, const unsigned *shard, size_t n,
    char *buf, size_t len)
{
	size_t used;

	snprintf(buf, len, "%" PRId64 "@", limit);
	for (size_t i = 0; i < n; i++) {
		used = strlen(buf);
		if (used + 1 >= len)
			break;
		snprintf(buf + used, len - used, "%s%u", i ? "," : "",
		    shard[i]);
	}
}

int store_tenant_set_confirmed(struct store *st, const char *cluster,
    const char *name, const char *sig, char *err, size_t errlen)
{
	struct set_args a = { cluster, name, "UPDATE tenants SET"
	    " confirmed = ?3 WHERE cluster = ?1 AND name = ?2",
	    "tenant confirmed", sig, 0, 0 };

	return store_write_op(st, tx_set, &a, err, errlen);
}

int store_tenant_set_scale_error(struct store *st, const char *cluster,
    const char *name, const char *why, char *err, size_t errlen)
{
	struct set_args a = { cluster, name, "UPDATE tenants SET"
	    " scale_error = ?3 WHERE cluster = ?1 AND name = ?2",
	    "tenant scale error", why, 0, 0 };

	return store_write_op(st, tx_set, &a, err, errlen);
}

static int tx_update(struct store *st, struct conn *c, void *arg, char *err,
    size_t errlen)
{
	const struct store_tenant *t = arg;
	sqlite3_stmt *s;
	int rc;

	(void)st;
	/* The current limit and the target follow the new bounds in the
	 * same statement, so no reader sees them outside. */
	s = store_prep(c, "UPDATE tenants SET limit_default = ?3,"
	    " limit_max = ?4, min_services = ?5, max_services = ?6,"
	    " autoscale = ?7,"
	    " limit_current = max(min(limit_current, ?4), 1),"
	    " services_target = CASE WHEN services_target = 0 THEN 0 ELSE"
	    "  max(min(services_target, ?6), ?5) END,"
	    " updated_at = ?8 WHERE cluster = ?1 AND name = ?2");
	bind_text(s, 1, t->cluster);
	bind_text(s, 2, t->name);
	sqlite3_bind_int64(s, 3, t->limit_default);
	sqlite3_bind_int64(s, 4, t->limit_max);
	sqlite3_bind_int(s, 5, (int)t->min_services);
	sqlite3_bind_int(s, 6, (int)t->max_services);
	sqlite3_bind_int(s, 7, t->autoscale ? 1 : 0);
	sqlite3_bind_int64(s, 8, time_wall_ms());
	rc = store_run_fin(c, s, err, errlen, "update tenant");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = RM_ENOENT;
	return rc;
}

int store_tenant_update(struct store *st, const struct store_tenant *t,
    char *err, size_t errlen)
{
	if (t->limit_default < 1 || t->limit_default > t->limit_max ||
	    t->min_services < 1 || t->min_services > t->max_services ||
	    t->max_services > STORE_TENANT_SHARD_MAX) {
		if (err != NULL)
			snprintf(err, errlen, "tenant '%s': limits need 1 <= "
			    "limit_default <= limit_max and services 1 <= "
			    "min_services <= max_services <= %d", t->name,
			    STORE_TENANT_SHARD_MAX);
		return RM_EINVAL;
	}
	return store_write_op(st, tx_update, (void *)(uintptr_t)t, err,
	    errlen);
}

int store_tenant_set_demand(struct store *st, const char *cluster,
    const char *name, int64_t ops, int64_t at, char *err, size_t errlen)
{
	struct set_args a = { cluster, name, "UPDATE tenants SET"
	    " demand_ops = ?4, demand_at = ?5 WHERE cluster = ?1 AND"
	    " name = ?2", "tenant demand", NULL,
	    ops < 0 ? 0 : ops, at };

	return store_write_op(st, tx_set, &a, err, errlen);
}

/* ---- the pool's service numbers ----------------------------------------- */

struct svc_args {
	const char *cluster;
	const char *const *addrs;
	size_t n, added;
};

static int tx_services_add(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct svc_args *a = arg;
	int64_t now = time_wall_ms();

	(void)st;
	a->added = 0;
	for (size_t i = 0; i < a->n; i++) {
		sqlite3_stmt *s = store_prep(c, "INSERT INTO tenant_services"
		    " (cluster, svc, address, added_at) SELECT ?1,"
		    " COALESCE((SELECT max(svc) + 1 FROM tenant_services"
		    " WHERE cluster = ?1), 0), ?2, ?3 WHERE NOT EXISTS"
		    " (SELECT 1 FROM tenant_services WHERE cluster = ?1 AND"
		    " address = ?2)");
		int rc;

		bind_text(s, 1, a->cluster);
		bind_text(s, 2, a->addrs[i]);
		sqlite3_bind_int64(s, 3, now);
		rc = store_run_fin(c, s, err, errlen, "add services");
		if (rc != 0) {
			if (rc == RM_ENOENT && err != NULL)
				snprintf(err, errlen, "cluster '%s' not found",
				    a->cluster);
			return rc;
		}
		a->added += (size_t)sqlite3_changes(c->db);
	}
	return 0;
}

int store_tenant_services_add(struct store *st, const char *cluster,
    const char *const *addrs, size_t n, size_t *added, char *err,
    size_t errlen)
{
	struct svc_args a = { cluster, addrs, n, 0 };
	int rc = store_write_op(st, tx_services_add, &a, err, errlen);

	if (added != NULL)
		*added = rc == 0 ? a.added : 0;
	return rc;
}

int store_tenant_services(struct store *st, const char *cluster,
    struct store_tenant_svc **out, size_t *n)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = store_prep(c, "SELECT svc, address FROM"
	    " tenant_services WHERE cluster = ?1 ORDER BY svc");
	struct store_tenant_svc *v = NULL;
	size_t cap = 0;
	int rc;

	*n = 0;
	bind_text(s, 1, cluster);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[*n].svc = (unsigned)sqlite3_column_int(s, 0);
		col_copy(s, 1, v[*n].address, sizeof(v[*n].address));
		(*n)++;
	}
	if (rc != SQLITE_DONE) {
		rc = store_db_err(c, NULL, 0, "tenant services");
		free(v);
		v = NULL;
		*n = 0;
	} else {
		rc = 0;
	}
	sqlite3_finalize(s);
	unlock(c);
	*out = v;
	return rc;
}

bool store_tenant_any(struct store *st, const char *cluster)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = store_prep(c, "SELECT 1 FROM tenants"
	    " WHERE cluster = ?1 LIMIT 1");
	int rc;

	bind_text(s, 1, cluster);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	unlock(c);
	return rc != SQLITE_DONE;
}

bool store_tenant_svc_held(struct store *st, const char *cluster,
    unsigned svc)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = store_prep(c, "SELECT 1 FROM tenants t,"
	    " json_each(t.shard) j WHERE t.cluster = ?1 AND j.value = ?2"
	    " LIMIT 1");
	bool held;

	bind_text(s, 1, cluster);
	sqlite3_bind_int64(s, 2, svc);
	held = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	unlock(c);
	return held;
}
