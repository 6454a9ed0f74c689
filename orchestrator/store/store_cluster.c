/*
 * store_cluster.c - clusters, cluster updates, nodes and heartbeats
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "store_int.h"

/* ---- clusters ----------------------------------------------------------- */

int store_cluster_create(struct store *st, const struct store_cluster *cl,
    char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_CLUSTER_INSERT);
	int rc = 0;

	bind_text(s, 1, cl->name);
	bind_text(s, 2, cl->storage_url);
	bind_text(s, 3, cl->storage_endpoint);
	bind_text(s, 4, cl->storage_region);
	bind_text(s, 5, cl->ssh_user);
	sqlite3_bind_int(s, 6, cl->ssh_port > 0 ? cl->ssh_port : 22);
	bind_text(s, 7, cl->ssh_key_file);
	sqlite3_bind_int64(s, 8, time_wall_ms());
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = store_db_err(c, err, errlen, "create cluster");
		if (rc == RM_EEXIST && err != NULL)
			snprintf(err, errlen, "cluster '%s' already exists",
			    cl->name);
	}
	unlock(c);
	return rc;
}

int store_cluster_delete(struct store *st, const char *name, char *err,
    size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s;
	int rc;

	if ((rc = begin(c, err, errlen)) < 0)
		goto out;
	s = S(c, SQL_CLUSTER_RUNNING);
	bind_text(s, 1, name);
	rc = sqlite3_step(s);
	rst(s);
	if (rc == SQLITE_ROW) {
		rollback(c);
		if (err != NULL)
			snprintf(err, errlen, "cluster '%s' has a running task",
			    name);
		rc = RM_EBUSY;
		goto out;
	}
	s = S(c, SQL_CLUSTER_DELETE);
	bind_text(s, 1, name);
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = store_db_err(c, err, errlen, "delete cluster");
		rollback(c);
		goto out;
	}
	if (sqlite3_changes(c->db) == 0) {
		rollback(c);
		if (err != NULL)
			snprintf(err, errlen, "cluster '%s' not found", name);
		rc = RM_ENOENT;
		goto out;
	}
	rc = commit(c, err, errlen);
out:
	unlock(c);
	return rc;
}

bool store_cluster_exists(struct store *st, const char *name)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_CLUSTER_EXISTS);
	bool ok;

	bind_text(s, 1, name);
	ok = sqlite3_step(s) == SQLITE_ROW;
	rst(s);
	unlock(c);
	return ok;
}

static void cluster_read(sqlite3_stmt *s, void *row)
{
	struct store_cluster_row *r = row;

	col_copy(s, 0, r->name, sizeof(r->name));
	r->storage_url = col_dup(s, 1);
	r->storage_endpoint = col_dup(s, 2);
	r->storage_region = col_dup(s, 3);
	r->ssh_user = col_dup(s, 4);
	r->ssh_port = sqlite3_column_int(s, 5);
	r->ssh_key_file = col_dup(s, 6);
	r->created_at = sqlite3_column_int64(s, 7);
	r->nodes = sqlite3_column_int(s, 8);
	r->nodes_up = sqlite3_column_int(s, 9);
	r->nodes_down = sqlite3_column_int(s, 10);
}

void store_cluster_row_release(struct store_cluster_row *r)
{
	if (r == NULL)
		return;
	free(r->storage_url);
	free(r->storage_endpoint);
	free(r->storage_region);
	free(r->ssh_user);
	free(r->ssh_key_file);
	memset(r, 0, sizeof(*r));
}

static void cluster_release(void *row)
{
	store_cluster_row_release(row);
}

static const struct store_rowtype cluster_rt = {
	sizeof(struct store_cluster_row), cluster_read, cluster_release, 0,
};

void store_cluster_page_release(struct store_cluster_page *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		store_cluster_row_release(&p->items[i]);
	free(p->items);
	memset(p, 0, sizeof(*p));
}

int store_cluster_get(struct store *st, const char *name,
    struct store_cluster_row *out)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_CLUSTER_GET);
	int rc;

	bind_text(s, 1, name);
	rc = store_run_row(c, s, "get cluster", &cluster_rt, out);
	unlock(c);
	return rc;
}

int store_cluster_list(struct store *st, const char *cursor, int limit,
    struct store_cluster_page *out)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_CLUSTER_LIST);
	void *v = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	limit = clamp_limit(limit);
	bind_text(s, 1, cursor ? cursor : "");
	sqlite3_bind_int(s, 2, limit);
	rc = store_run_rows(c, s, "list clusters", &cluster_rt, limit, &v,
	    &out->n, out->next, sizeof(out->next));
	out->items = v;
	unlock(c);
	return rc;
}

int store_cluster_names(struct store *st, char ***names, size_t *n)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_CLUSTER_NAMES);
	char **v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[len++] = col_dup(s, 0);
	}
	rst(s);
	if (rc != SQLITE_DONE) {
		rc = store_db_err(c, NULL, 0, "cluster names");
		for (size_t i = 0; i < len; i++)
			free(v[i]);
		free(v);
		unlock(c);
		return rc;
	}
	unlock(c);
	*names = v;
	*n = len;
	return 0;
}

/* ---- cluster update ----------------------------------------------------- */

int store_cluster_update(struct store *st, const char *name,
    const struct store_cluster_patch *p, char *running, size_t runlen,
    char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s;
	int rc;

	if (running != NULL && runlen > 0)
		running[0] = '\0';
	if ((rc = begin(c, err, errlen)) < 0)
		goto out;
	/* Checked in the same transaction as the write: a task cannot
	 * start running between the check and the change. */
	s = S(c, SQL_CLUSTER_RUNNING_ID);
	bind_text(s, 1, name);
	if (sqlite3_step(s) == SQLITE_ROW) {
		if (running != NULL && runlen > 0)
			snprintf(running, runlen, "%s", col_str(s, 0));
		rst(s);
		rollback(c);
		if (err != NULL)
			snprintf(err, errlen, "cluster '%s' has a running task",
			    name);
		rc = RM_EBUSY;
		goto out;
	}
	rst(s);
	s = S(c, SQL_CLUSTER_UPDATE);
	bind_text(s, 1, name);
	bind_text(s, 2, p->storage_url);
	sqlite3_bind_int(s, 3, p->clear_storage_endpoint);
	bind_text(s, 4, p->storage_endpoint);
	sqlite3_bind_int(s, 5, p->clear_storage_region);
	bind_text(s, 6, p->storage_region);
	bind_text(s, 7, p->ssh_user);
	if (p->ssh_port > 0)
		sqlite3_bind_int(s, 8, p->ssh_port);
	else
		sqlite3_bind_null(s, 8);
	bind_text(s, 9, p->ssh_key_file);
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = store_db_err(c, err, errlen, "update cluster");
		rollback(c);
		goto out;
	}
	if (sqlite3_changes(c->db) == 0) {
		rollback(c);
		if (err != NULL)
			snprintf(err, errlen, "cluster '%s' not found", name);
		rc = RM_ENOENT;
		goto out;
	}
	rc = commit(c, err, errlen);
out:
	unlock(c);
	return rc;
}

/* ---- nodes -------------------------------------------------------------- */

int store_node_upsert(struct store *st, const struct store_node *n,
    bool *created, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s;
	bool exists;
	int rc;

	if ((rc = begin(c, err, errlen)) < 0)
		goto out;
	s = S(c, SQL_NODE_EXISTS);
	bind_text(s, 1, n->cluster);
	bind_text(s, 2, n->address);
	exists = sqlite3_step(s) == SQLITE_ROW;
	rst(s);

	s = S(c, SQL_NODE_UPSERT);
	bind_text(s, 1, n->cluster);
	bind_text(s, 2, n->address);
	bind_text(s, 3, n->host_id);
	bind_text(s, 4, n->dc);
	bind_text(s, 5, n->rack);
	bind_text(s, 6, n->state);
	bind_text(s, 7, n->version);
	bind_text(s, 8, n->ssh_host_key);
	bind_keep(s, 9, n->last_heartbeat);
	bind_keep(s, 10, n->load_bytes);
	bind_keep(s, 11, n->is_seed);
	bind_text(s, 12, n->status_json);
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = store_db_err(c, err, errlen, "upsert node");
		if (rc == RM_ENOENT && err != NULL)
			snprintf(err, errlen, "cluster '%s' not found",
			    n->cluster);
		rollback(c);
		goto out;
	}
	if ((rc = commit(c, err, errlen)) == 0 && created != NULL)
		*created = !exists;
out:
	unlock(c);
	return rc;
}

struct pin_args {
	const char *cluster;
	const char *const *addrs;
	size_t n;
	char *missing;
	size_t mlen;
};

static int tx_seeds_pin(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct pin_args *a = arg;
	sqlite3_stmt *s = S(c, SQL_SEEDS_UNPIN);

	(void)st;
	bind_text(s, 1, a->cluster);
	if (exec_stmt(s) != SQLITE_DONE)
		return store_db_err(c, err, errlen, "unpin seeds");
	for (size_t i = 0; i < a->n; i++) {
		s = S(c, SQL_SEED_PIN);
		bind_text(s, 1, a->cluster);
		bind_text(s, 2, a->addrs[i]);
		if (exec_stmt(s) != SQLITE_DONE)
			return store_db_err(c, err, errlen, "pin a seed");
		if (sqlite3_changes(c->db) == 0) {
			if (a->missing != NULL && a->mlen > 0)
				snprintf(a->missing, a->mlen, "%s", a->addrs[i]);
			return RM_ENOENT;
		}
	}
	return 0;
}

int store_seeds_pin(struct store *st, const char *cluster,
    const char *const *addrs, size_t n, char *missing, size_t mlen,
    char *err, size_t errlen)
{
	struct pin_args a = { cluster, addrs, n, missing, mlen };

	if (missing != NULL && mlen > 0)
		missing[0] = '\0';
	return store_write_op(st, tx_seeds_pin, &a, err, errlen);
}

int store_node_delete(struct store *st, const char *cluster,
    const char *address, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_NODE_DELETE);
	int rc = 0;

	bind_text(s, 1, cluster);
	bind_text(s, 2, address);
	if (exec_stmt(s) != SQLITE_DONE)
		rc = store_db_err(c, err, errlen, "delete node");
	else if (sqlite3_changes(c->db) == 0)
		rc = RM_ENOENT;
	unlock(c);
	return rc;
}

static void node_read(sqlite3_stmt *s, void *row)
{
	struct store_node_row *r = row;

	col_copy(s, 0, r->cluster, sizeof(r->cluster));
	r->address = col_dup(s, 1);
	r->host_id = col_dup(s, 2);
	r->dc = col_dup(s, 3);
	r->rack = col_dup(s, 4);
	r->state = col_dup(s, 5);
	r->version = col_dup(s, 6);
	r->ssh_host_key = col_dup(s, 7);
	r->last_heartbeat = sqlite3_column_int64(s, 8);
	r->load_bytes = sqlite3_column_int64(s, 9);
	r->is_seed = sqlite3_column_int(s, 10) != 0;
	r->status_json = col_dup(s, 11);
}

void store_node_row_release(struct store_node_row *r)
{
	if (r == NULL)
		return;
	free(r->address);
	free(r->host_id);
	free(r->dc);
	free(r->rack);
	free(r->state);
	free(r->version);
	free(r->ssh_host_key);
	free(r->status_json);
	memset(r, 0, sizeof(*r));
}

static void node_release(void *row)
{
	store_node_row_release(row);
}

static const struct store_rowtype node_rt = {
	sizeof(struct store_node_row), node_read, node_release, 1,
};

void store_nodes_release(struct store_nodes *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++)
		store_node_row_release(&v->items[i]);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

int store_node_get(struct store *st, const char *cluster,
    const char *address, struct store_node_row *out)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_NODE_GET);
	int rc;

	bind_text(s, 1, cluster);
	bind_text(s, 2, address);
	rc = store_run_row(c, s, "get node", &node_rt, out);
	unlock(c);
	return rc;
}

int store_node_find_host(struct store *st, const char *cluster,
    const char *host_id, struct store_node_row *out)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_NODE_FIND_HOST);
	int rc;

	bind_text(s, 1, cluster);
	bind_text(s, 2, host_id);
	rc = store_run_row(c, s, "find node by host id", &node_rt, out);
	unlock(c);
	return rc;
}

int store_node_list(struct store *st, const char *cluster,
    struct store_nodes *out)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_NODE_LIST);
	void *v = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	bind_text(s, 1, cluster);
	rc = store_run_rows(c, s, "list nodes", &node_rt, 0, &v, &out->n,
	    NULL, 0);
	out->items = v;
	unlock(c);
	return rc;
}

int store_cluster_nodes(struct store *st, const char *cluster,
    struct store_nodes *out)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_CLUSTER_NODES);
	struct store_nodes v = { NULL, 0 };
	size_t cap = 0;
	bool found = false;
	int rc;

	memset(out, 0, sizeof(*out));
	bind_text(s, 1, cluster);
	/* The LEFT JOIN gives one row with a NULL address for a cluster
	 * without nodes, and no row for a missing cluster. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		found = true;
		if (sqlite3_column_type(s, 1) == SQLITE_NULL)
			continue;
		if (v.n == cap) {
			cap = cap ? cap * 2 : 16;
			v.items = xrealloc(v.items, cap * sizeof(*v.items));
		}
		memset(&v.items[v.n], 0, sizeof(v.items[v.n]));
		node_read(s, &v.items[v.n++]);
	}
	if (rc != SQLITE_DONE)
		rc = store_db_err(c, NULL, 0, "cluster nodes");
	else
		rc = found ? 0 : RM_ENOENT;
	rst(s);
	unlock(c);
	if (rc == 0)
		*out = v;
	else
		store_nodes_release(&v);
	return rc;
}

int store_heartbeats_apply(struct store *st, const struct store_hb *hbs,
    size_t n, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	int rc, applied = 0;

	if ((rc = begin(c, err, errlen)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s = S(c, SQL_NODE_HEARTBEAT);
		bind_text(s, 1, hbs[i].cluster);
		bind_text(s, 2, hbs[i].address);
		sqlite3_bind_int64(s, 3, hbs[i].at);
		bind_text(s, 4, hbs[i].state);
		bind_text(s, 5, hbs[i].status_json);
		bind_keep(s, 6, hbs[i].load_bytes);
		if (exec_stmt(s) != SQLITE_DONE) {
			rc = store_db_err(c, err, errlen, "heartbeat");
			rollback(c);
			goto out;
		}
		applied += sqlite3_changes(c->db);
	}
	/* Not a change for the state mirror: every agent's next heartbeat
	 * brings it back, and a fleet would otherwise be mirrored every
	 * state_mirror_delay for nothing else (its interval still takes it). */
	st->commit_uncounted = true;
	rc = commit(c, err, errlen);
	st->commit_uncounted = false;
	if (rc == 0)
		rc = applied;
out:
	unlock(c);
	return rc;
}

