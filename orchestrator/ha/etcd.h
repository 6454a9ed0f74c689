/*
 * etcd.h - a small client for etcd v3's JSON gateway (etcd 3.4: POST
 * /v3/lease/..., /v3/kv/...), over common/http.h.
 *
 * Only what leader election needs: leases (grant, keep alive, revoke), one
 * key at a time (range, put, delete), a create-if-absent transaction and a
 * compare-create_revision transaction.  Keys and values travel base64
 * encoded; int64 fields arrive as JSON strings.  Every answer is parsed
 * defensively: a missing field, a wrong type, a number out of range or an
 * error body {"error":...,"code":N} gives an error naming what was wrong.
 *
 * Endpoints: a list; a request that cannot reach one (refused, timed out,
 * reset) goes to the next within the same timeout, and the one that
 * answered (or the one after the last that failed) is tried first next
 * time.  An HTTP answer, even an error, ends the request: the cluster said
 * no, another member would say the same.
 *
 * Thread safety: a handle belongs to one thread at a time (it owns an
 * http_client).  http_global_init() must have run.
 */
#ifndef RM_ETCD_H
#define RM_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct etcd;

/* One key's record as etcd reports it; key and value owned by the struct,
 * NUL-terminated (value_len says how many bytes the value really has). */
struct etcd_kv {
	char *key;
	char *value;
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease;		/* 0: none */
};

/* Most endpoints in a list. */
#define ETCD_MAX_ENDPOINTS 16

/*
 * New client for endpoints, "http://h:p" separated by commas and/or spaces
 * (https:// too; a trailing slash is dropped).  timeout_ms bounds each
 * call, whatever the number of endpoints it tries (0: 2000).  NULL with
 * the reason in err.
 */
struct etcd *etcd_new(const char *endpoints, long timeout_ms, char *err,
    size_t errlen);
void etcd_free(struct etcd *e);
/* Change the per-request timeout (ms, >= 1) for the calls that follow. */
void etcd_set_timeout(struct etcd *e, long timeout_ms);
/* The endpoint tried first next time (the last that answered). */
const char *etcd_endpoint(const struct etcd *e);

/* Grant a lease of ttl_s seconds; *id and *granted_ttl_s from etcd. */
int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *id,
    int64_t *granted_ttl_s, char *err, size_t errlen);
/* Renew lease id once.  *ttl_s is the TTL etcd restarted it with; 0 when
 * the lease no longer exists (expired or revoked): not an error. */
int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl_s,
    char *err, size_t errlen);
/* Revoke lease id, deleting the keys attached to it.  A lease that is
 * already gone counts as revoked. */
int etcd_lease_revoke(struct etcd *e, int64_t id, char *err, size_t errlen);

/* Read key.  *found false (and kv zeroed) when it does not exist; else
 * kv is filled and the caller releases it with etcd_kv_release(). */
int etcd_get(struct etcd *e, const char *key, struct etcd_kv *kv,
    bool *found, char *err, size_t errlen);
/* Put key = value (len bytes), attached to lease when lease != 0. */
int etcd_put(struct etcd *e, const char *key, const void *value, size_t len,
    int64_t lease, char *err, size_t errlen);
/* Delete key; *deleted (may be NULL) how many keys went. */
int etcd_delete(struct etcd *e, const char *key, int64_t *deleted,
    char *err, size_t errlen);

/*
 * One transaction: create key = value under lease only if key does not
 * exist (create_revision == 0).  *created says whether it did; then
 * *revision is the transaction's revision, which is the key's
 * create_revision.  When it did not, holder (may be NULL) receives the
 * key's current record (released with etcd_kv_release(); its key is NULL
 * when the key vanished between the compare and the read).
 */
int etcd_create(struct etcd *e, const char *key, const char *value,
    int64_t lease, bool *created, int64_t *revision, struct etcd_kv *holder,
    char *err, size_t errlen);
/* A transaction that succeeds only when key exists with this
 * create_revision; *holds says whether it did. */
int etcd_check_create_revision(struct etcd *e, const char *key,
    int64_t create_revision, bool *holds, char *err, size_t errlen);

void etcd_kv_release(struct etcd_kv *kv);

/*
 * The parsers behind the calls, public for the unit tests.  Each takes the
 * HTTP status and body of one answer.  A non-2xx status or an error body
 * gives -1 with etcd's message and code in err.
 */
int etcd_parse_grant(long status, const char *body, size_t len, int64_t *id,
    int64_t *ttl_s, char *err, size_t errlen);
int etcd_parse_keepalive(long status, const char *body, size_t len,
    int64_t id, int64_t *ttl_s, char *err, size_t errlen);
/* Range answer: at most one kv expected (a range of one key). */
int etcd_parse_range(long status, const char *body, size_t len,
    struct etcd_kv *kv, bool *found, char *err, size_t errlen);
/* Transaction answer: *succeeded, *revision (the header's); when failure
 * held one response_range, its first kv goes to holder (may be NULL). */
int etcd_parse_txn(long status, const char *body, size_t len,
    bool *succeeded, int64_t *revision, struct etcd_kv *holder,
    char *err, size_t errlen);
/* An answer whose only content that matters is the header (put, revoke,
 * delete); *deleted (may be NULL) from "deleted". */
int etcd_parse_plain(long status, const char *body, size_t len,
    int64_t *deleted, char *err, size_t errlen);
/* Split an endpoint list; *n endpoints into out (each malloc'ed). */
int etcd_parse_endpoints(const char *list, char **out, size_t max, size_t *n,
    char *err, size_t errlen);

/* Base64 (RFC 4648, padded).  decode: NULL with err on bad input; the
 * result is NUL-terminated, *len its length. */
char *etcd_b64_encode(const void *data, size_t len);
char *etcd_b64_decode(const char *s, size_t *len, char *err, size_t errlen);

#endif
