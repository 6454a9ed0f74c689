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

static json_t *token_json(sqlite3_stmt *s)
{
	return json_pack("{s:o, s:o, s:o, s:b}",
	    "name", col_jstr(s, 0), "role", col_jstr(s, 1),
	    "created_at", col_jtime(s, 2),
	    "revoked", sqlite3_column_int(s, 3) != 0);
}

json_t *store_token_list(struct store *st)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_TOKEN_LIST);
	json_t *out = json_array();
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(out, token_json(s));
	rst(s);
	if (rc != SQLITE_DONE) {
		store_db_err(c, NULL, 0, "list tokens");
		json_decref(out);
		out = NULL;
	}
	unlock(c);
	return out;
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

