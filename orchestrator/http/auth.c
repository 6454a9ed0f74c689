/*
 * auth.c - see auth.h.
 *
 * The store keeps SHA-256 hashes of tokens; verifying one costs a read
 * transaction, too much for every request of a busy API.  A small cache
 * maps the hash of a presented token to its identity for one second, and
 * unknown tokens are cached as unknown for the same second, so a revoked
 * token stops working within about a second and a flood of bad tokens
 * costs one lookup each per second at most.
 */
#include "auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../common/log.h"
#include "../../common/sha256.h"
#include "../../common/util.h"
#include "../service/service_json.h"
#include "../store/store.h"

#define CACHE_SLOTS 256
#define CACHE_TTL_MS 1000
#define TOKEN_PREFIX "rm_"

struct cache_slot {
	unsigned char hash[SHA256_LEN];
	int64_t expires;	/* mono ms; 0 empty */
	bool known;
	struct auth_id id;
};

struct auth {
	struct store *st;
	unsigned char join_hash[SHA256_LEN];
	pthread_mutex_t mtx;
	struct cache_slot cache[CACHE_SLOTS];
};

static const struct {
	const char *name;
	enum auth_role role;
} roles[] = {
	{ "admin", ROLE_ADMIN },
	{ "operator", ROLE_OPERATOR },
	{ "viewer", ROLE_VIEWER },
	{ "agent", ROLE_AGENT },
};

int auth_role_parse(const char *s, enum auth_role *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(roles); i++)
		if (strcmp(s, roles[i].name) == 0) {
			*out = roles[i].role;
			return 0;
		}
	return -1;
}

const char *auth_role_name(enum auth_role r)
{
	for (size_t i = 0; i < ARRAY_SIZE(roles); i++)
		if (roles[i].role == r)
			return roles[i].name;
	return "none";
}

static char *new_secret(void)
{
	unsigned char raw[32];
	char hex[2 * sizeof(raw) + 1];

	random_bytes(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), hex);
	return xasprintf(TOKEN_PREFIX "%s", hex);
}

/* Read the join token, creating the file when missing. */
static char *join_token(const char *path, bool *created, char *err,
    size_t errlen)
{
	char *s = file_read_all(path, 4096, NULL);

	*created = false;
	if (s == NULL && errno == ENOENT) {
		char *tok = new_secret(), *line = xasprintf("%s\n", tok);
		int rc = file_write_atomic(path, line, strlen(line), 0600);
		free(line);
		if (rc != 0) {
			snprintf(err, errlen, "cannot create join token file "
			    "'%s': %s: check that its directory exists and is "
			    "writable", path, strerror(errno));
			free(tok);
			return NULL;
		}
		*created = true;
		return tok;
	}
	if (s == NULL) {
		snprintf(err, errlen, "cannot read join token file '%s': %s",
		    path, strerror(errno));
		return NULL;
	}
	str_trim(s);
	if (strlen(s) < 16) {
		snprintf(err, errlen, "join token file '%s' holds a token of "
		    "fewer than 16 characters: put a long random token in it or "
		    "delete it to have one made", path);
		free(s);
		return NULL;
	}
	return s;
}

struct auth *auth_open(struct store *st, const char *join_file,
    bool *created_join, char *err, size_t errlen)
{
	struct auth *a;
	char *tok = join_token(join_file, created_join, err, errlen);

	if (tok == NULL)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	a->st = st;
	sha256(tok, strlen(tok), a->join_hash);
	memset(tok, 0, strlen(tok));
	free(tok);
	pthread_mutex_init(&a->mtx, NULL);
	return a;
}

void auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->mtx);
	free(a);
}

/* Compare without leaking where the first difference is. */
static bool hash_equal(const unsigned char *a, const unsigned char *b)
{
	unsigned char d = 0;
	for (size_t i = 0; i < SHA256_LEN; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int auth_verify(struct auth *a, const char *authorization, struct auth_id *id)
{
	const char *tok;
	unsigned char h[SHA256_LEN];
	struct cache_slot *slot;
	char name[STORE_NAME_MAX], role[STORE_NAME_MAX];
	int64_t now;
	int rc;

	if (strncasecmp(authorization, "Bearer ", 7) != 0)
		return -1;
	tok = authorization + 7;
	while (*tok == ' ')
		tok++;
	if (*tok == '\0' || strlen(tok) > 256)
		return -1;
	sha256(tok, strlen(tok), h);
	if (hash_equal(h, a->join_hash)) {
		str_copy(id->name, "agent", sizeof(id->name));
		id->role = ROLE_AGENT;
		return 0;
	}
	now = time_mono_ms();
	slot = &a->cache[(h[0] | (unsigned)h[1] << 8) % CACHE_SLOTS];
	pthread_mutex_lock(&a->mtx);
	if (slot->expires > now && memcmp(slot->hash, h, SHA256_LEN) == 0) {
		bool known = slot->known;
		if (known)
			*id = slot->id;
		pthread_mutex_unlock(&a->mtx);
		return known ? 0 : -1;
	}
	pthread_mutex_unlock(&a->mtx);

	rc = store_token_lookup(a->st, tok, name, sizeof(name), role,
	    sizeof(role));
	if (rc == RM_ERR)
		return -1;	/* not cached: the next request asks again */
	struct cache_slot fresh;
	memset(&fresh, 0, sizeof(fresh));
	memcpy(fresh.hash, h, SHA256_LEN);
	fresh.expires = now + CACHE_TTL_MS;
	fresh.known = rc == 0 && auth_role_parse(role, &fresh.id.role) == 0;
	if (fresh.known)
		str_copy(fresh.id.name, name, sizeof(fresh.id.name));
	pthread_mutex_lock(&a->mtx);
	*slot = fresh;
	pthread_mutex_unlock(&a->mtx);
	if (fresh.known)
		*id = fresh.id;
	return fresh.known ? 0 : -1;
}

int auth_token_create(struct store *st, const char *name, enum auth_role role,
    char **token_out, char *err, size_t errlen)
{
	char *tok;
	int rc;

	if (!name_valid(name)) {
		snprintf(err, errlen, "'%.64s' is not a valid token name: use 1 "
		    "to 64 of A-Z a-z 0-9 _ -", name);
		return -1;
	}
	if (role == ROLE_AGENT) {
		snprintf(err, errlen, "agents use the join token: role agent "
		    "cannot be given to a named token");
		return -1;
	}
	tok = new_secret();
	rc = store_token_create(st, name, auth_role_name(role), tok, err,
	    errlen);
	if (rc == RM_EEXIST) {
		snprintf(err, errlen, "a token named '%s' exists already (names "
		    "of revoked tokens are not reused): choose another name",
		    name);
	}
	if (rc != 0) {
		free(tok);
		return -1;
	}
	*token_out = tok;
	return 0;
}

int auth_token_revoke(struct store *st, const char *name, char *err,
    size_t errlen)
{
	int rc = store_token_revoke(st, name, err, errlen);
	if (rc == RM_ENOENT)
		snprintf(err, errlen, "no active token named '%.64s': see "
		    "'ringmaster token list'", name);
	return rc == 0 ? 0 : -1;
}

json_t *auth_token_list(struct store *st, char *err, size_t errlen)
{
	struct store_token_row *v = NULL;
	size_t n = 0;
	json_t *l;

	if (store_token_list(st, &v, &n) != 0) {
		snprintf(err, errlen, "cannot read tokens from the store: see "
		    "the log above");
		return NULL;
	}
	l = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(l, svc_json_token(&v[i]));
	free(v);
	return l;
}
