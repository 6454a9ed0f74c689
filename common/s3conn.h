/*
 * s3conn.h - the S3 backend's connection to its bucket: where requests go
 * (endpoint, addressing), who signs them (creds.c, sigv4.c), the pool of
 * kept-alive HTTP clients, and one request sent with retries.
 *
 * s3conn_do() is the only place an S3 request is sent.  It signs the
 * request anew for every attempt (the date is part of the signature),
 * classifies the answer, retries transport errors, timeouts, resets, 5xx,
 * 429 and the retryable S3 codes (SlowDown, RequestTimeout, InternalError)
 * with exponential backoff and jitter, and turns the rest into one
 * sentence naming the request, the object and what to do next.
 *
 * Thread safety: one struct s3conn serves many threads; its fields are
 * read-only after s3conn_open(), the pool has its own lock.
 */
#ifndef RM_S3CONN_H
#define RM_S3CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "creds.h"
#include "http.h"
#include "ratelimit.h"
#include "s3.h"
#include "s3backend.h"
#include "sigv4.h"

/* Multipart part size when the options leave it 0 (s3.h). */
#define S3CONN_DEFAULT_PART (32ull << 20)

/* Recorded as object metadata by uploads, read back by downloads. */
#define S3CONN_META_PART_SIZE "x-amz-meta-rm-part-size"
#define S3CONN_META_SHA256 "x-amz-meta-rm-sha256"

struct s3conn_pool;

struct s3conn {
	char *url;		/* as opened, for messages */
	char *prefix;		/* "" or ends with '/' */
	char *bucket;
	char *scheme;		/* "http" or "https" */
	char *host;		/* Host header: [bucket.]host[:port] */
	bool vhost;
	struct creds creds;
	char *ca_file;
	struct s3_opts o;	/* defaults applied; string fields NULL */
	struct ratelimit *rate;	/* not owned; NULL = no limit */
	struct s3conn_pool *pool;
};

/* Parse "bucket/prefix" (a->rest), the endpoint and the credentials, and
 * apply the option defaults.  NULL with err naming the URL. */
struct s3conn *s3conn_open(const struct s3backend_args *a, char *err,
    size_t errlen);
/* NULL-safe. */
void s3conn_close(struct s3conn *c);
/* The key in the bucket for a caller's key (prefix added); NULL with err
 * for an empty key or one longer than 900 bytes.  Caller frees. */
char *s3conn_full_key(const struct s3conn *c, const char *key, char *err,
    size_t errlen);

#define S3CONN_MAX_PARAMS 5
#define S3CONN_MAX_HEADERS 8

/* One request.  Strings are borrowed and must outlive s3conn_do(). */
struct s3conn_req {
	const char *method;
	const char *key;		/* full key; NULL = the bucket */
	const char *what;		/* caller's key for messages */
	struct sigv4_param params[S3CONN_MAX_PARAMS];
	size_t nparams;
	struct sigv4_header hdrs[S3CONN_MAX_HEADERS];
	size_t nhdrs;
	const void *body;		/* memory body ... */
	size_t body_len;
	int body_fd;			/* ... or body_len bytes of a file */
	off_t body_off;
	const char *payload_hash;	/* NULL: hash memory, UNSIGNED for files */
	int out_fd;			/* answer to this file (pwrite at out_off) */
	off_t out_off;
	bool transfer;			/* moves data: stall limit, no deadline */
	bool error_in_200;		/* 200 may carry <Error> (CompleteMultipartUpload) */
	size_t max_body;		/* in-memory answer cap; 0 = 8 MiB */
	/* http.h's observe(): every chunk sent or received. */
	int (*observe)(void *arg, int dir, const void *data, size_t len);
	void *observe_arg;
	void (*restart)(void *arg);	/* before each retry */
	void *restart_arg;
};

/* q with no parameters, headers or body. */
void s3conn_req_init(struct s3conn_req *q, const char *method,
    const char *key, const char *what);
/* Add a query parameter / header; more than the maximum is a bug and
 * aborts. */
void s3conn_req_param(struct s3conn_req *q, const char *k, const char *v);
void s3conn_req_header(struct s3conn_req *q, const char *name,
    const char *value);

/*
 * Send q, retrying what is worth retrying.  Returns 0 with a 2xx answer in
 * resp (the caller releases it), S3_NOT_FOUND for 404 (NoSuchKey,
 * NoSuchUpload or an empty HEAD answer), or -1 with err set; resp is
 * released in both of those cases.
 */
int s3conn_do(struct s3conn *c, struct s3conn_req *q, struct http_resp *resp,
    char *err, size_t errlen);

/* s3_sign_debug() for this connection (see s3.h). */
char *s3conn_sign_debug(struct s3conn *c, const char *method,
    const char *key, const struct sigv4_param *params, size_t nparams,
    const struct sigv4_header *headers, size_t nheaders,
    const char *payload_hash, time_t now);

/* s3_backoff_ms() (see s3.h). */
long s3conn_backoff_ms(int attempt, long base_ms, long cap_ms, uint32_t rnd);

/* An observe() that paces the bytes through arg, a struct ratelimit. */
int s3conn_observe_rate(void *arg, int dir, const void *data, size_t len);

/*
 * Run fn(arg) on min(parallel, n) threads; the calling thread is one of
 * them, so a transfer never waits on thread start and still runs when no
 * thread can be created.  fn takes its work items from arg under its own
 * lock.
 */
void s3conn_parallel(void *(*fn)(void *), void *arg, int parallel,
    unsigned n);

#endif
