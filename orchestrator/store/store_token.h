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

/* ---- node credentials --------------------------------------------------- */

/*
 * Each node may hold one credential of its own (issued at check-in,
 * http/auth.h); the store keeps its SHA-256 hex and what an admin did to
 * it.  The row goes with the node's row (evicted, replaced, cluster
 * deleted).  A node with no row has never been given one (it predates
 * node credentials, or its agent does not take one).
 */
#define STORE_NODE_CRED_PREFIX	"rmn_"

enum store_cred_state {
	STORE_CRED_NONE = 0,	/* no row: never issued */
	STORE_CRED_ACTIVE,	/* the hash works */
	STORE_CRED_REVOKED,	/* no hash; every request refused */
	STORE_CRED_READMIT,	/* no hash; the next join check-in gets one */
};

const char *store_cred_state_name(enum store_cred_state s);

struct store_node_cred {
	enum store_cred_state state;
	char hash[65];		/* hex, "" unless active */
	int64_t changed_at;	/* ms */
};

/* 0 with *out (STORE_CRED_NONE when no row), RM_ERR. */
int store_node_cred_get(struct store *st, const char *cluster,
    const char *address, struct store_node_cred *out);
/*
 * Make hash_hex (SHA-256 hex of the secret) the node's active credential,
 * replacing any: 0, RM_ENOENT (no such node), RM_ERR.
 */
int store_node_cred_set(struct store *st, const char *cluster,
    const char *address, const char *hash_hex, char *err, size_t errlen);
/*
 * Drop the node's credential: state revoked, or readmit (the next join
 * check-in from the address is given a new one).  0, RM_ENOENT (no such
 * node), RM_ERR.
 */
int store_node_cred_revoke(struct store *st, const char *cluster,
    const char *address, bool readmit, char *err, size_t errlen);
/*
 * The node an active credential belongs to, by the hex of its hash: 0
 * with cluster and address copied out, RM_ENOENT, RM_ERR.
 */
int store_node_cred_lookup(struct store *st, const char *hash_hex,
    char *cluster, size_t clen, char *address, size_t alen);

/* ---- join tokens -------------------------------------------------------- */

/* A join token's hash, the current one with expires_at 0. */
struct store_join_token {
	char hash[65];
	int64_t created_at;	/* ms */
	int64_t expires_at;	/* ms; 0: current, no end */
};

/* Every join token, current first: 0 with *out (free()) and *n, RM_ERR. */
int store_join_list(struct store *st, struct store_join_token **out,
    size_t *n);
/*
 * In one transaction: every current join token expires at
 * old_expires_at (ms; at most now for "at once"), and hash_hex becomes
 * the current one.  0, RM_ERR.
 */
int store_join_rotate(struct store *st, const char *hash_hex,
    int64_t old_expires_at, char *err, size_t errlen);
/* Undo a rotation whose file could not be written: hash_hex is deleted
 * and the tokens that expire at old_expires_at are current again. */
int store_join_unrotate(struct store *st, const char *hash_hex,
    int64_t old_expires_at, char *err, size_t errlen);

#endif
