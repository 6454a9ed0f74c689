/*
 * auth.c - see auth.h.
 *
 * The store keeps SHA-256 hashes of tokens; verifying one costs a read
 * transaction, too much for every request of a busy API.  A small cache
 * maps the hash of a presented token to its identity for one second, and
 * unknown tokens are cached as unknown for the same second, so a revoked
 * token stops working within about a second and a flood of bad tokens
 * costs one lookup each per second at most.  Node credentials go through
 * the same cache.  The join tokens (the current one and any in their
 * grace) are few: their hashes are kept in memory, read again from the
 * store every second, and each one's end is checked at every request.
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

#define CACHE_SLOTS 1024
#define CACHE_TTL_MS 1000
#define TOKEN_PREFIX "rm_"
#define JOIN_MAX 8	/* the current join token and those in their grace */

struct cache_slot {
	unsigned char hash[SHA256_LEN];
	int64_t expires;	/* mono ms; 0 empty */
	bool known;
	struct auth_id id;
};

struct join_hash {
	unsigned char hash[SHA256_LEN];
	int64_t expires_at;	/* wall ms; 0: current */
};

struct auth {
	struct store *st;
	pthread_mutex_t mtx;
	struct join_hash join[JOIN_MAX];	/* with mtx */
	size_t njoin;
	int64_t join_read_at;			/* mono ms */
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
	{ "node", ROLE_NODE },
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

/* n bytes from 2n hex digits; false when one is not a hex digit. */
static bool unhex(const char *in, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++) {
		int c = in[i], v = c >= '0' && c <= '9' ? c - '0' :
		    c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return false;
		if (i % 2 == 0)
			out[i / 2] = (unsigned char)(v << 4);
		else
			out[i / 2] |= (unsigned char)v;
	}
	return true;
}

/* Read the join tokens' hashes from the store into a; false on error. */
static bool join_load(struct auth *a)
{
	struct store_join_token *v = NULL;
	struct join_hash got[JOIN_MAX];
	size_t n = 0, k = 0;

	if (store_join_list(a->st, &v, &n) != 0)
		return false;
	for (size_t i = 0; i < n && k < JOIN_MAX; i++)
		if (strlen(v[i].hash) == 2 * SHA256_LEN &&
		    unhex(v[i].hash, got[k].hash, SHA256_LEN)) {
			got[k].expires_at = v[i].expires_at;
			k++;
		}
	free(v);
	pthread_mutex_lock(&a->mtx);
	memcpy(a->join, got, k * sizeof(got[0]));
	a->njoin = k;
	a->join_read_at = time_mono_ms();
	pthread_mutex_unlock(&a->mtx);
	return true;
}

int auth_join_sync(struct store *st, const char *join_file, char *err,
    size_t errlen)
{
	struct store_join_token *v = NULL;
	char hex[2 * SHA256_LEN + 1];
	bool created, current = false;
	size_t n = 0;
	char *tok = join_token(join_file, &created, err, errlen);

	if (tok == NULL)
		return -1;
	sha256_hex(tok, strlen(tok), hex);
	memset(tok, 0, strlen(tok));
	free(tok);
	if (store_join_list(st, &v, &n) != 0) {
		snprintf(err, errlen, "cannot read the join tokens from the "
		    "store: see the log above");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].expires_at == 0 && strcmp(v[i].hash, hex) == 0)
			current = true;
	free(v);
	if (current)
		return 0;
	/* A file replaced by hand replaces the token at once: whoever
	 * did it wants the old one gone. */
	if (store_join_rotate(st, hex, time_wall_ms(), err, errlen) != 0)
		return -1;
	if (n > 0)
		log_info("the join token in '%s' is new: it replaces the "
		    "previous one, which stops working now", join_file);
	return 0;
}

struct auth *auth_open(struct store *st, const char *join_file,
    bool *created_join, char *err, size_t errlen)
{
	struct auth *a;
	char *tok = join_token(join_file, created_join, err, errlen);

	if (tok == NULL)
		return NULL;
	memset(tok, 0, strlen(tok));
	free(tok);
	if (auth_join_sync(st, join_file, err, errlen) != 0)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	a->st = st;
	pthread_mutex_init(&a->mtx, NULL);
	if (!join_load(a)) {
		snprintf(err, errlen, "cannot read the join tokens from the "
		    "store: see the log above");
		auth_free(a);
		return NULL;
	}
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

/* Is h a join token that works now?  Reads the store once a second. */
static bool join_match(struct auth *a, const unsigned char *h)
{
	int64_t now = time_wall_ms();
	bool stale, ok = false;

	pthread_mutex_lock(&a->mtx);
	stale = time_mono_ms() - a->join_read_at >= CACHE_TTL_MS;
	pthread_mutex_unlock(&a->mtx);
	/* A failed read keeps what was read last: the grace ends are
	 * checked below all the same. */
	if (stale && !join_load(a)) {
		pthread_mutex_lock(&a->mtx);
		a->join_read_at = time_mono_ms();
		pthread_mutex_unlock(&a->mtx);
	}
	pthread_mutex_lock(&a->mtx);
	for (size_t i = 0; i < a->njoin; i++)
		if (hash_equal(h, a->join[i].hash) &&
		    (a->join[i].expires_at == 0 || a->join[i].expires_at > now))
			ok = true;
	pthread_mutex_unlock(&a->mtx);
	return ok;
}

/* Look a presented token up in the store: 0, RM_ENOENT or RM_ERR. */
static int lookup(struct auth *a, const char *tok, const unsigned char *h,
    struct auth_id *id)
{
	char name[STORE_NAME_MAX], role[STORE_NAME_MAX], hex[2 * SHA256_LEN + 1];
	int rc;

	memset(id, 0, sizeof(*id));
	if (strncmp(tok, STORE_NODE_CRED_PREFIX,
	    strlen(STORE_NODE_CRED_PREFIX)) == 0) {
		hex_encode(h, SHA256_LEN, hex);
		rc = store_node_cred_lookup(a->st, hex, id->node_cluster,
		    sizeof(id->node_cluster), id->node_address,
		    sizeof(id->node_address));
		if (rc != 0)
			return rc;
		id->role = ROLE_NODE;
		str_copy(id->cred_hash, hex, sizeof(id->cred_hash));
		snprintf(id->name, sizeof(id->name), "node:%.59s",
		    id->node_address);
		return 0;
	}
	rc = store_token_lookup(a->st, tok, name, sizeof(name), role,
	    sizeof(role));
	if (rc != 0)
		return rc;
	/* Roles agent and node are never named tokens' (auth_token_create). */
	if (auth_role_parse(role, &id->role) != 0 || id->role == ROLE_AGENT ||
	    id->role == ROLE_NODE)
		return RM_ENOENT;
	str_copy(id->name, name, sizeof(id->name));
	return 0;
}

int auth_verify(struct auth *a, const char *authorization, struct auth_id *id)
{
	const char *tok;
	unsigned char h[SHA256_LEN];
	struct cache_slot *slot, fresh;
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
	if (join_match(a, h)) {
		memset(id, 0, sizeof(*id));
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

	memset(&fresh, 0, sizeof(fresh));
	rc = lookup(a, tok, h, &fresh.id);
	if (rc == RM_ERR)
		return -1;	/* not cached: the next request asks again */
	memcpy(fresh.hash, h, SHA256_LEN);
	fresh.expires = now + CACHE_TTL_MS;
	fresh.known = rc == 0;
	pthread_mutex_lock(&a->mtx);
	*slot = fresh;
	pthread_mutex_unlock(&a->mtx);
	if (fresh.known)
		*id = fresh.id;
	return fresh.known ? 0 : -1;
}

int auth_join_rotate(struct store *st, const char *join_file,
    int64_t grace_ms, char **token_out, int64_t *until, char *err,
    size_t errlen)
{
	char hex[2 * SHA256_LEN + 1], when[40], detail[160];
	char *tok, *line;
	int64_t now = time_wall_ms(), end = now + (grace_ms > 0 ? grace_ms : 0);
	int rc;

	/* The token in the file is the one whose grace starts now: make
	 * sure the store knows it (an orchestrator that never ran since
	 * node credentials came has not recorded it). */
	if (auth_join_sync(st, join_file, err, errlen) != 0)
		return -1;
	tok = new_secret();
	sha256_hex(tok, strlen(tok), hex);
	if (store_join_rotate(st, hex, end, err, errlen) != 0) {
		free(tok);
		return -1;
	}
	line = xasprintf("%s\n", tok);
	rc = file_write_atomic(join_file, line, strlen(line), 0600);
	free(line);
	if (rc != 0) {
		snprintf(err, errlen, "cannot write join token file '%s': %s: "
		    "nothing changed; check that its directory is writable and "
		    "try again", join_file, strerror(errno));
		char e2[256];
		if (store_join_unrotate(st, hex, end, e2, sizeof(e2)) != 0)
			log_warnx("cannot restore the previous join token in the "
			    "store: %s; run 'ringmaster token rotate-join' "
			    "again", e2);
		free(tok);
		return -1;
	}
	time_rfc3339(end / 1000, when, sizeof(when));
	struct store_event ev = {
		.actor = "ringmaster", .kind = "token", .target = "join",
		.result = "created",
		.detail_json = "{\"reason\":\"token rotate-join\"}",
	};
	store_event_append(st, &ev, NULL, 0);
	snprintf(detail, sizeof(detail), "{\"expires_at\":\"%s\","
	    "\"grace_ms\":%lld}", when, (long long)(end - now));
	ev.target = "join (previous)";
	ev.result = grace_ms > 0 ? "grace" : "expired";
	ev.detail_json = detail;
	store_event_append(st, &ev, NULL, 0);
	*token_out = tok;
	*until = end;
	return 0;
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
	if (role == ROLE_AGENT || role == ROLE_NODE) {
		snprintf(err, errlen, "agents use the join token and their "
		    "node credentials: role %s cannot be given to a named "
		    "token", auth_role_name(role));
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
