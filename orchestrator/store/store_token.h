/*
 * store_token.h - API tokens in the store
 * (store_token.c); included by store.h, whose conventions apply.
 */
#ifndef RM_STORE_TOKEN_H
#define RM_STORE_TOKEN_H

#include "store.h"

/* ---- tokens ------------------------------------------------------------ */

/*
 * Tokens are stored as the SHA-256 hex of the secret, never in clear.
 * role is "admin", "operator", "viewer" or "agent" (not checked here).
 * 0, RM_EEXIST (name taken, even when revoked), RM_ERR.
 */
int store_token_create(struct store *st, const char *name, const char *role,
    const char *secret, char *err, size_t errlen);
/* 0, RM_ENOENT (no such token or already revoked). */
int store_token_revoke(struct store *st, const char *name, char *err,
    size_t errlen);
/* A token as listed (never its hash). */
struct store_token_row {
	char name[STORE_NAME_MAX];
	char role[STORE_NAME_MAX];
	int64_t created_at;		/* ms */
	bool revoked;
};
/* Every token by name: 0 with *out (the caller's, free()) and *n, or
 * RM_ERR. */
int store_token_list(struct store *st, struct store_token_row **out,
    size_t *n);
/*
 * Look up a secret: 0 and the token's name and role copied out (each
 * buffer STORE_NAME_MAX bytes is enough), RM_ENOENT when unknown or
 * revoked, RM_ERR.
 */
int store_token_lookup(struct store *st, const char *secret, char *name,
    size_t namelen, char *role, size_t rolelen);

#endif
