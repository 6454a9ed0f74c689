/*
 * http.h - the HTTP client, the only module that includes <curl/curl.h>.
 *
 * Used by the agent (check-in, heartbeats), by ringsh (the REST API) and by
 * the S3 client.  A request is described by struct http_req; the answer
 * lands in struct http_resp, which the caller releases with
 * http_resp_release().  Bodies are either in memory or streamed from/to a
 * file descriptor so memory stays bounded whatever the size.
 *
 * Thread safety: http_global_init() once at start-up before threads; after
 * that, each http_client belongs to one thread at a time.
 */
#ifndef RM_HTTP_H
#define RM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct http_client;

struct http_header {
	const char *name;
	const char *value;
};

/* A response header; both strings owned by the response. */
struct http_resp_header {
	char *name;
	char *value;
};

struct http_req {
	const char *method;		/* "GET", "PUT", ... */
	const char *url;
	const struct http_header *headers;
	size_t nheaders;
	const char *bearer;		/* adds Authorization: Bearer ... when set */
	/* Request body: either memory ... */
	const void *body;
	size_t body_len;
	/* ... or body_len bytes of a file from body_off (body_fd >= 0). */
	int body_fd;
	off_t body_off;
	/* Response body to a file descriptor instead of memory when >= 0. */
	int out_fd;
	size_t max_body;		/* memory body cap; 0 = 16 MiB */
	long timeout_ms;		/* whole request; 0 = 30 s, < 0 = none */
	long connect_timeout_ms;	/* 0 = 5 s */
	const char *ca_file;		/* trust this CA for https; NULL = system */

	/*
	 * Streaming extensions, used by the S3 client; all off after
	 * http_req_init().
	 */
	/* With out_fd: write the answer with pwrite() from out_off rather
	 * than at the descriptor's position, so ranges of one file can be
	 * fetched in parallel. */
	bool out_pwrite;
	off_t out_off;
	/* With out_fd: an answer whose status is not 2xx lands in resp->body
	 * (memory, capped by max_body) instead of the file, so an error
	 * document never pollutes the download. */
	bool out_2xx_only;
	/* Called with every chunk of request body sent (HTTP_SENT) and of
	 * answer body delivered to out_fd (HTTP_RECEIVED), in order.  It may
	 * sleep to pace the transfer (rate limits) and may hash the bytes.
	 * Returning -1 aborts the transfer (resp->aborted is set).  The
	 * answer's status and headers are complete in resp by the first
	 * HTTP_RECEIVED call. */
	int (*observe)(void *arg, int dir, const void *data, size_t len);
	void *observe_arg;
	/* Abort when slower than 1 KiB/s for this many seconds; 0 = off.
	 * Long transfers set timeout_ms < 0 and rely on this instead. */
	long low_speed_s;
};

#define HTTP_SENT	1
#define HTTP_RECEIVED	2

struct http_resp {
	long status;			/* 0 when no answer came */
	char *body;			/* NUL-terminated; NULL when streamed */
	size_t body_len;
	struct http_resp_header *headers; /* names lowercased */
	size_t nheaders;
	char err[256];			/* transport error, "" when status > 0 */
	bool conn_refused;		/* nobody listening at the URL */
	bool tls_failed;		/* TLS handshake or verification failed */
	bool timed_out;			/* includes the low-speed limit */
	bool aborted;			/* observe() returned -1 */
	bool reset;			/* connection reset, closed, or broken mid-way */
	bool local_error;		/* reading the body file or writing out_fd failed */
	/* No byte of the request left (no connection, TLS refused, name not
	 * resolved): sending it elsewhere cannot make it happen twice. */
	bool not_sent;
};

int http_global_init(void);
void http_global_cleanup(void);

/* A client keeps connections alive between requests.  NULL-safe free. */
struct http_client *http_client_new(void);
void http_client_free(struct http_client *c);

/*
 * Perform req.  Returns 0 when an HTTP answer arrived (any status), -1 on
 * transport failure with resp->err saying what went wrong with which URL.
 * A helper initialises req with http_req_init() so unused fields are off.
 */
void http_req_init(struct http_req *req, const char *method, const char *url);
int http_do(struct http_client *c, const struct http_req *req,
    struct http_resp *resp);
void http_resp_release(struct http_resp *resp);
/* Header value by case-insensitive name, or NULL. */
const char *http_resp_header(const struct http_resp *resp, const char *name);

/* Percent-encode s as RFC 3986 unreserved-safe; slash kept when keep_slash. */
char *http_url_encode(const char *s, bool keep_slash);

#endif
