/*
 * auth.h - bearer tokens and roles (the trust model: docs/security.md).
 *
 * Operator tokens are random ("rm_" + 64 hex digits), shown once when
 * created and stored only as their SHA-256 hash.  The agents' join token is
 * kept in clear in join_token_file (agents need to read it) and, as a
 * hash, in the store with the tokens it replaced, each until its grace
 * ends (`ringmaster token rotate-join`); it carries the role agent, which
 * may only register a new node.  Each node then gets a credential of its
 * own ("rmn_" + 64 hex digits, role node), valid only for that node.
 * auth_verify() answers from an in-memory cache of the token tables that
 * is refreshed from the store every second, so a token or node credential
 * revoked from the command line stops working within about a second even
 * while the daemon runs.
 */
#ifndef RM_AUTH_H
#define RM_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct store;

enum auth_role {
	ROLE_ADMIN = 1 << 0,
	ROLE_OPERATOR = 1 << 1,
	ROLE_VIEWER = 1 << 2,
	ROLE_AGENT = 1 << 3,	/* the join token */
	ROLE_NODE = 1 << 4,	/* a node's own credential */
};

#define AUTH_NAME_MAX 64

struct auth_id {
	char name[AUTH_NAME_MAX + 1];
	enum auth_role role;
	/* ROLE_NODE: the node the credential belongs to and its hash. */
	char node_cluster[AUTH_NAME_MAX + 1];
	char node_address[256];
	char cred_hash[65];
};

struct auth;

int auth_role_parse(const char *s, enum auth_role *out);
const char *auth_role_name(enum auth_role r);

/*
 * Open the token table in st (borrowed, must outlive auth) and the join
 * token in join_file, creating the file with a fresh token (mode 0600) when
 * it does not exist.  *created_join tells whether it was made.
 */
struct auth *auth_open(struct store *st, const char *join_file,
    bool *created_join, char *err, size_t errlen);
void auth_free(struct auth *a);

/* Check "Authorization: Bearer X" value (the whole header); 0 and *id, or -1. */
int auth_verify(struct auth *a, const char *authorization, struct auth_id *id);

/*
 * Is the join token in join_file the current one in the store?  When it is
 * not (first start with node credentials, or the file was replaced by
 * hand) it becomes so, and the tokens it replaces stop working at once.
 * 0, or -1 with err.
 */
int auth_join_sync(struct store *st, const char *join_file, char *err,
    size_t errlen);
/*
 * A new join token: written to join_file (0600) and made current; the
 * previous one keeps working for grace_ms (0: stops at once).  "token"
 * events for both.  *token_out is the new token (caller frees), *until
 * when the old one stops (ms).  0, or -1 with err and nothing changed.
 */
int auth_join_rotate(struct store *st, const char *join_file,
    int64_t grace_ms, char **token_out, int64_t *until, char *err,
    size_t errlen);

/*
 * Create a token; *token_out is the clear token (caller frees), shown once.
 * Fails when the name is taken or invalid.
 */
int auth_token_create(struct store *st, const char *name, enum auth_role role,
    char **token_out, char *err, size_t errlen);
int auth_token_revoke(struct store *st, const char *name, char *err,
    size_t errlen);
/* Array of {"name","role","created_at","revoked"} by name; new
 * reference, or NULL with err. */
json_t *auth_token_list(struct store *st, char *err, size_t errlen);

#endif
