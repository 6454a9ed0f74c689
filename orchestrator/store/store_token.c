/*
 * store_token.c - API tokens (only their SHA-256 hashes are stored)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/sha256.h"
#include "../../common/util.h"
#include "store_int.h"

/* ---- tokens ------------------------------------------------------------- */

int store_token_create(struct store *st, const char *name, const char *role,
    const char *secret, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_TOKEN_INSERT);
	char hash[2 * SHA256_LEN + 1];
	int rc = 0;

	sha256_hex(secret, strlen(secret), hash);
	bind_text(s, 1, name);
	bind_text(s, 2, role);
	bind_text(s, 3, hash);
	sqlite3_bind_int64(s, 4, time_wall_ms());
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = store_db_err(c, err, errlen, "create token");
		if (rc == RM_EEXIST && err != NULL)
			snprintf(err, errlen, "token '%s' already exists", name);
	}
	unlock(c);
	return rc;
}

int store_token_revoke(struct store *st, const char *name, char *err,
    size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_TOKEN_REVOKE);
	int rc = 0;

	bind_text(s, 1, name);
	if (exec_stmt(s) != SQLITE_DONE)
		rc = store_db_err(c, err, errlen, "revoke token");
	else if (sqlite3_changes(c->db) == 0)
		rc = RM_ENOENT;
	unlock(c);
	return rc;
}

static void token_read(sqlite3_stmt *s, void *row)
{
	struct store_token_row *r = row;

	col_copy(s, 0, r->name, sizeof(r->name));
	col_copy(s, 1, r->role, sizeof(r->role));
	r->created_at = sqlite3_column_int64(s, 2);
	r->revoked = sqlite3_column_int(s, 3) != 0;
}

static const struct store_rowtype token_rt = {
	sizeof(struct store_token_row), token_read, NULL, 0,
};

int store_token_list(struct store *st, struct store_token_row **out,
    size_t *n)
{
	struct conn *c = store_rlock(st);
	void *v = NULL;
	int rc;

	rc = store_run_rows(c, S(c, SQL_TOKEN_LIST), "list tokens", &token_rt,
	    0, &v, n, NULL, 0);
	unlock(c);
	if (rc == 0)
		*out = v;
	return rc;
}

int store_token_lookup(struct store *st, const char *secret, char *name,
    size_t namelen, char *role, size_t rolelen)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_TOKEN_LOOKUP);
	char hash[2 * SHA256_LEN + 1];
	int rc;

	sha256_hex(secret, strlen(secret), hash);
	bind_text(s, 1, hash);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		str_copy(name, col_str(s, 0), namelen);
		str_copy(role, col_str(s, 1), rolelen);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = RM_ENOENT;
	} else {
		rc = store_db_err(c, NULL, 0, "token lookup");
	}
	rst(s);
	unlock(c);
	return rc;
}


/* ---- node credentials --------------------------------------------------- */

static const char *const cred_states[] = {
	"none", "active", "revoked", "readmit",
};

const char *store_cred_state_name(enum store_cred_state s)
{
	return store_name_of(cred_states, ARRAY_SIZE(cred_states), (int)s);
}

int store_node_cred_get(struct store *st, const char *cluster,
    const char *address, struct store_node_cred *out)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = store_prep(c, "SELECT state, hash, changed_at FROM"
	    " node_creds WHERE cluster = ?1 AND address = ?2");
	int rc;

	memset(out, 0, sizeof(*out));
	bind_text(s, 1, cluster);
	bind_text(s, 2, address);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		int v = store_name_find(cred_states, ARRAY_SIZE(cred_states),
		    col_str(s, 0));
		/* An unknown word is read as revoked: refuse, never let in. */
		out->state = v > 0 ? (enum store_cred_state)v :
		    STORE_CRED_REVOKED;
		col_copy(s, 1, out->hash, sizeof(out->hash));
		out->changed_at = sqlite3_column_int64(s, 2);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = store_db_err(c, NULL, 0, "read node credential");
	}
	sqlite3_finalize(s);
	unlock(c);
	return rc;
}

static int cred_write(struct store *st, const char *cluster,
    const char *address, const char *state, const char *hash_hex,
    char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = store_prep(c, "INSERT INTO node_creds (cluster,"
	    " address, hash, state, changed_at) VALUES (?1,?2,?3,?4,?5)"
	    " ON CONFLICT (cluster, address) DO UPDATE SET hash = ?3,"
	    " state = ?4, changed_at = ?5");
	int rc;

	bind_text(s, 1, cluster);
	bind_text(s, 2, address);
	bind_text(s, 3, hash_hex);
	bind_text(s, 4, state);
	sqlite3_bind_int64(s, 5, time_wall_ms());
	rc = store_run_fin(c, s, err, errlen, "write node credential");
	if (rc == RM_ENOENT && err != NULL)
		snprintf(err, errlen, "no node %s in cluster '%s'", address,
		    cluster);
	unlock(c);
	return rc;
}

int store_node_cred_set(struct store *st, const char *cluster,
    const char *address, const char *hash_hex, char *err, size_t errlen)
{
	return cred_write(st, cluster, address, "active", hash_hex, err,
	    errlen);
}

int store_node_cred_revoke(struct store *st, const char *cluster,
    const char *address, bool readmit, char *err, size_t errlen)
{
	return cred_write(st, cluster, address, readmit ? "readmit" :
	    "revoked", NULL, err, errlen);
}

int store_node_cred_lookup(struct store *st, const char *hash_hex,
    char *cluster, size_t clen, char *address, size_t alen)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = store_prep(c, "SELECT cluster, address FROM"
	    " node_creds WHERE hash = ?1 AND state = 'active'");
	int rc;

	bind_text(s, 1, hash_hex);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		str_copy(cluster, col_str(s, 0), clen);
		str_copy(address, col_str(s, 1), alen);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = RM_ENOENT;
	} else {
		rc = store_db_err(c, NULL, 0, "node credential lookup");
	}
	sqlite3_finalize(s);
	unlock(c);
	return rc;
}

/* ---- join tokens -------------------------------------------------------- */

static void join_read(sqlite3_stmt *s, void *row)
{
	struct store_join_token *r = row;

	col_copy(s, 0, r->hash, sizeof(r->hash));
	r->created_at = sqlite3_column_int64(s, 1);
	r->expires_at = sqlite3_column_int64(s, 2);
}

static const struct store_rowtype join_rt = {
	sizeof(struct store_join_token), join_read, NULL, 0,
};

int store_join_list(struct store *st, struct store_join_token **out,
    size_t *n)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = store_prep(c, "SELECT hash, created_at, expires_at"
	    " FROM join_tokens ORDER BY expires_at = 0 DESC, expires_at DESC");
	void *v = NULL;
	int rc;

	rc = store_run_rows(c, s, "list join tokens", &join_rt, 0, &v, n,
	    NULL, 0);
	sqlite3_finalize(s);
	unlock(c);
	if (rc == 0)
		*out = v;
	return rc;
}

/*
 * Run sql on the write connection with t as ?1 and, when sql has a second
 * parameter, hash_hex as ?2.
 */
static int join_exec(struct conn *c, const char *sql, int64_t t,
    const char *hash_hex, char *err, size_t errlen, const char *what)
{
	sqlite3_stmt *s = store_prep(c, sql);

	sqlite3_bind_int64(s, 1, t);
	if (sqlite3_bind_parameter_count(s) >= 2)
		bind_text(s, 2, hash_hex);
	return store_run_fin(c, s, err, errlen, what);
}

int store_join_rotate(struct store *st, const char *hash_hex,
    int64_t old_expires_at, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	int64_t now = time_wall_ms();
	int rc;

	if ((rc = begin(c, err, errlen)) < 0)
		goto out;
	/* 0 means current: an expiry "at once" is kept at 1 ms at least. */
	if ((rc = join_exec(c, "UPDATE join_tokens SET expires_at ="
	    " max(?1, 1) WHERE expires_at = 0", old_expires_at, NULL, err,
	    errlen, "expire the join token")) != 0 ||
	    (rc = join_exec(c, "INSERT INTO join_tokens (created_at, hash,"
	    " expires_at) VALUES (?1, ?2, 0) ON CONFLICT (hash) DO UPDATE"
	    " SET expires_at = 0", now, hash_hex, err, errlen,
	    "record the join token")) != 0) {
		rollback(c);
		goto out;
	}
	rc = commit(c, err, errlen);
out:
	unlock(c);
	return rc;
}

int store_join_unrotate(struct store *st, const char *hash_hex,
    int64_t old_expires_at, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	int rc;

	if ((rc = begin(c, err, errlen)) < 0)
		goto out;
	if ((rc = join_exec(c, "DELETE FROM join_tokens WHERE ?1 >= 0 AND"
	    " hash = ?2", 0, hash_hex, err, errlen,
	    "drop the join token")) != 0 ||
	    (rc = join_exec(c, "UPDATE join_tokens SET expires_at = 0 WHERE"
	    " expires_at = max(?1, 1)", old_expires_at, NULL, err, errlen,
	    "restore the join token")) != 0) {
		rollback(c);
		goto out;
	}
	rc = commit(c, err, errlen);
out:
	unlock(c);
	return rc;
}
