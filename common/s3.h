/*
 * s3.h - object storage for backups: S3 (and compatible servers) or a local
 * directory, behind one interface.
 *
 *   s3://bucket/prefix        S3; endpoint, region, addressing, credentials
 *                             from struct s3_opts or the AWS_* environment
 *   file:///dir/prefix        a directory tree; writes are atomic
 *                             (temp file, fsync, rename)
 *
 * Each scheme is a backend (s3http.c, s3file.c) that s3.c calls through
 * struct s3backend (s3backend.h); callers see only this header.
 *
 * Keys given to and returned by every call are relative to the URL's
 * prefix.  Bytes move between files and the store in bounded buffers: no
 * call holds a whole object in memory except the *_mem ones, which exist
 * for manifests and take an explicit cap.
 *
 * Transfers.  Files above multipart_threshold go up as a multipart upload
 * whose parts are sent by `parallel` threads, each with its own kept-alive
 * connection; big downloads fetch part-aligned ranges the same way.  Every
 * request is retried with exponential backoff and jitter on transport
 * errors, timeouts, resets, 5xx, 429 and 503 SlowDown.  An optional rate
 * limit (bytes/s, a token bucket shared by every thread of the store)
 * paces both directions.
 *
 * Integrity.  Every PUT and UploadPart carries Content-MD5, which S3
 * verifies; the ETag that comes back is compared with our own MD5 (single
 * part) or with MD5(part MD5s)-N (multipart).  Uploads record the part size
 * and, when the caller knows it, the SHA-256 as object metadata.  Every
 * download checks the size and recomputes what it can while the bytes
 * stream: the MD5 against a single-part ETag, each part's MD5 against a
 * multipart ETag (using the recorded part size), and the SHA-256 against
 * the caller's expectation or the recorded one.  A mismatch fails the call
 * and leaves no file behind.
 *
 * Thread safety: one struct s3 may be used by many threads at once.
 * Return values: 0 success, S3_NOT_FOUND (1) where documented, -1 failure
 * with a sentence in err naming the object and what to do next.
 */
#ifndef RM_S3_H
#define RM_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "sigv4.h"

#define S3_NOT_FOUND 1
#define S3_SIZE_ANY UINT64_MAX
#define S3_MAX_BATCH 1000	/* keys per DeleteObjects call */
#define S3_MIN_PART (5ull << 20)
#define S3_MAX_PARTS 10000

enum s3_addressing {
	S3_ADDR_AUTO,		/* virtual-hosted on AWS, path-style elsewhere */
	S3_ADDR_PATH,		/* https://endpoint/bucket/key */
	S3_ADDR_VHOST,		/* https://bucket.endpoint/key */
};

struct s3_opts {
	const char *endpoint;	/* "http://127.0.0.1:4568"; NULL = AWS for the region */
	const char *region;	/* NULL: $AWS_REGION, $AWS_DEFAULT_REGION, "us-east-1" */
	const char *access_key;	/* NULL: $AWS_ACCESS_KEY_ID */
	const char *secret_key;	/* NULL: $AWS_SECRET_ACCESS_KEY */
	const char *session_token; /* NULL: $AWS_SESSION_TOKEN if the keys came from the environment */
	enum s3_addressing addressing;
	const char *ca_file;	/* trust this CA for https; NULL = system */
	uint64_t part_size;	/* multipart part size; 0 = 32 MiB (raised to fit 10,000 parts) */
	uint64_t multipart_threshold; /* larger objects go multipart / ranged; 0 = 128 MiB */
	int parallel;		/* concurrent requests per transfer; 0 = 8 */
	uint64_t rate_limit;	/* bytes/s over the whole store, both ways; 0 = none */
	int max_attempts;	/* tries per request; 0 = 6 */
	long retry_base_ms;	/* first backoff; 0 = 100 */
	long retry_cap_ms;	/* longest backoff; 0 = 20000 */
	long connect_timeout_ms; /* 0 = 5 s */
	long request_timeout_ms; /* requests without a file body; 0 = 60 s */
	long stall_s;		/* transfers fail below 1 KiB/s for this long; 0 = 60 */
	bool sign_payload;	/* sign file bodies' SHA-256 (one more read) rather than UNSIGNED-PAYLOAD */
	bool no_etag_check;	/* SSE-KMS/SSE-C buckets, whose ETags are not MD5s */
};

struct s3;

/* Fill o with defaults (all zero: see the field comments). */
void s3_opts_init(struct s3_opts *o);

/*
 * Open the store at url ("s3://bucket/prefix" or "file:///dir").  o may be
 * NULL for defaults.  Nothing is contacted yet; a bad URL or missing
 * credentials fail here.  Returns NULL with err set.
 */
struct s3 *s3_open(const char *url, const struct s3_opts *o, char *err,
    size_t errlen);
/* NULL-safe. */
void s3_close(struct s3 *s);
/* true for file:// stores. */
bool s3_is_local(const struct s3 *s);
/* "s3://bucket/prefix/key" or "file:///dir/key" for messages.  Caller frees. */
char *s3_describe(const struct s3 *s, const char *key);

struct s3_stat {
	uint64_t size;
	int64_t mtime;		/* epoch seconds; 0 unknown */
	char etag[80];		/* unquoted; "" when the store keeps none */
	uint64_t part_size;	/* recorded part size of a multipart upload; 0 none */
	char sha256[65];	/* recorded SHA-256 (hex), "" when none */
};

/* Returns 0, S3_NOT_FOUND, or -1. */
int s3_head(struct s3 *s, const char *key, struct s3_stat *st, char *err,
    size_t errlen);

struct s3_put_opts {
	const char *content_type; /* NULL = application/octet-stream */
	const char *sha256;	/* hex SHA-256 of the content if known: recorded */
	/*
	 * Hex MD5 of the content if known (s3_put_uses_md5() says when it is
	 * worth computing): a single PUT sends it as Content-MD5 without a
	 * read pass of its own.  It must come from the same read as the bytes
	 * the caller means to store: the server refuses a body that does not
	 * match it, and the ETag is still compared with it.  Multipart uploads
	 * hash their parts anyway and ignore it.
	 */
	const char *content_md5;
};

struct s3_put_info {
	uint64_t size;
	char etag[80];		/* as the store returned it, unquoted */
	char md5[33];		/* hex MD5 of the content (single part), else "" */
	unsigned parts;		/* 0 for a single PUT */
	uint64_t part_size;
};

/*
 * True when an upload of size bytes would be one PUT that carries the
 * content's MD5 (an S3 store, size up to multipart_threshold): a caller
 * that reads the file anyway can hash it then and pass content_md5.
 */
bool s3_put_uses_md5(const struct s3 *s, uint64_t size);

/* Upload path (a regular file) to key.  o and info may be NULL. */
int s3_put_file(struct s3 *s, const char *key, const char *path,
    const struct s3_put_opts *o, struct s3_put_info *info, char *err,
    size_t errlen);
/* Upload len bytes of fd from off; fd is only pread(), never moved. */
int s3_put_fd(struct s3 *s, const char *key, int fd, off_t off, uint64_t len,
    const struct s3_put_opts *o, struct s3_put_info *info, char *err,
    size_t errlen);
/* Upload a small buffer (manifests). */
int s3_put_mem(struct s3 *s, const char *key, const void *data, size_t len,
    const struct s3_put_opts *o, struct s3_put_info *info, char *err,
    size_t errlen);

struct s3_get_opts {
	uint64_t size;		/* expected size; S3_SIZE_ANY = don't check */
	const char *sha256;	/* expected hex SHA-256, or NULL */
	const char *md5;	/* expected hex MD5, or NULL */
};

/*
 * Download key to path: written to a temporary file beside it, verified,
 * fsynced and renamed into place.  o and st may be NULL.  Returns 0,
 * S3_NOT_FOUND, or -1 (and path is untouched).
 */
int s3_get_file(struct s3 *s, const char *key, const char *path,
    const struct s3_get_opts *o, struct s3_stat *st, char *err,
    size_t errlen);
/* len bytes of key from off, pwrite() to fd at fd_off.  0, S3_NOT_FOUND, -1. */
int s3_get_range(struct s3 *s, const char *key, uint64_t off, uint64_t len,
    int fd, off_t fd_off, char *err, size_t errlen);
/* A whole small object into *data (NUL-terminated, caller frees) when it is
 * at most max bytes.  0, S3_NOT_FOUND, -1. */
int s3_get_mem(struct s3 *s, const char *key, size_t max, char **data,
    size_t *len, char *err, size_t errlen);

struct s3_object {
	char *key;		/* relative to the store's prefix */
	uint64_t size;
	int64_t mtime;		/* epoch seconds */
	char etag[80];
};

struct s3_list {
	struct s3_object *objs;
	size_t n;
	bool truncated;
	char *next_token;	/* pass to the next s3_list_page; NULL at the end */
};

/*
 * One page (at most max_keys, 0 = 1000) of the keys starting with prefix,
 * in key order, after token (NULL for the first page).  Release with
 * s3_list_release().
 */
int s3_list_page(struct s3 *s, const char *prefix, const char *token,
    int max_keys, struct s3_list *out, char *err, size_t errlen);
void s3_list_release(struct s3_list *l);
/* Every key under prefix; fn returning non-zero stops the walk (and that
 * value is returned).  page 0 = 1000. */
int s3_list_all(struct s3 *s, const char *prefix, int page,
    int (*fn)(void *arg, const struct s3_object *o), void *arg, char *err,
    size_t errlen);

/*
 * Delete n keys, S3_MAX_BATCH per request.  Missing keys are not errors.
 * *deleted (may be NULL) counts keys confirmed deleted even on failure, so
 * a purge can resume.
 */
int s3_delete(struct s3 *s, const char *const *keys, size_t n,
    size_t *deleted, char *err, size_t errlen);

/* ---- pieces exposed for tests and the CLI driver ---- */

/* Part size for size bytes: want (0 = 32 MiB) raised to >= 5 MiB and until
 * at most 10,000 parts are needed; *nparts gets the count. */
uint64_t s3_part_size(uint64_t size, uint64_t want, unsigned *nparts);
/* Backoff before retry number attempt (0-based): a random point in
 * [d/2, d] where d = min(cap, base * 2^attempt); rnd supplies the
 * randomness. */
long s3_backoff_ms(int attempt, long base_ms, long cap_ms, uint32_t rnd);
/* Parse a ListObjectsV2 answer; keys are returned whole (no prefix strip). */
int s3_parse_list(const char *xml, size_t len, struct s3_list *out,
    char *err, size_t errlen);
/* Parse an <Error> document; 0 when it is one. */
int s3_parse_error(const char *xml, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen);
/* ETag of a multipart upload from its parts' binary MD5s. */
void s3_multipart_etag(const unsigned char (*md5s)[16], unsigned n,
    char out[80]);

/*
 * The request s3 would send, signed at time now, as text: "URL <url>" then
 * one "<Name>: <value>" line per header, Authorization last.  For the
 * signature cross-check against botocore.  Caller frees.
 */
char *s3_sign_debug(struct s3 *s, const char *method, const char *key,
    const struct sigv4_param *params, size_t nparams,
    const struct sigv4_header *headers, size_t nheaders,
    const char *payload_hash, time_t now);

#endif
