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

