/*
 * httpd.h - the HTTP server: a thin wrapper over libmicrohttpd, the only
 * module that includes <microhttpd.h>.
 *
 * A pool of threads accepts connections; each complete request (method,
 * path, headers, query and the whole body, up to max_body bytes) is handed
 * to one handler function, which fills in a response.  Bodies over
 * max_body are read and thrown away and the handler is called with
 * body_too_large set, so it can answer 413 without the client seeing a
 * reset connection.
 */
#ifndef RM_HTTPD_H
#define RM_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

struct httpd;

struct httpd_req {
	const char *method;
	const char *path;	/* URL path, no query string */
	const char *body;	/* NUL-terminated; NULL when there was none */
	size_t body_len;
	bool body_too_large;
	void *conn;		/* httpd's own; for httpd_header/httpd_query */
};

#define HTTPD_MAX_HEADERS 2

struct httpd_resp {
	int status;
	char *body;		/* malloc'd; httpd takes and frees it */
	/* Or a constant body (a string literal, never freed): with no other
	 * header or content type, httpd answers it from a response built
	 * once, so a hot answer ("ok") costs no allocation. */
	const char *fixed_body;
	size_t len;
	const char *content_type;	/* static string; default application/json */
	struct {
		const char *name, *value;	/* static strings */
	} headers[HTTPD_MAX_HEADERS];
	/* Room for one short header value made per request (Retry-After):
	 * a headers[].value may point here. */
	char value_buf[24];
	/* Or a longer one (a Location): malloc'd, httpd frees it. */
	char *value_alloc;
};

/* Called on an httpd thread for each request; must fill resp->status. */
typedef void (*httpd_handler_fn)(void *arg, const struct httpd_req *req,
    struct httpd_resp *resp);

struct httpd_opts {
	const char *host;	/* numeric address or name to bind */
	int port;		/* 0: any free port, see httpd_port() */
	int threads;
	size_t max_body;
	const char *tls_cert;	/* PEM file paths; both or neither */
	const char *tls_key;
};

/* Start serving.  Returns NULL with a message in err. */
struct httpd *httpd_start(const struct httpd_opts *o, httpd_handler_fn fn,
    void *arg, char *err, size_t errlen);
/* The port bound (useful with port 0). */
int httpd_port(const struct httpd *h);
/* Stop accepting and close every connection; waits for handlers to return. */
void httpd_stop(struct httpd *h);

/* The client's address as numeric text ("127.0.0.2", "::1"; an IPv4
 * address mapped into IPv6 as plain IPv4), or "unknown". */
void httpd_peer(const struct httpd_req *req, char *buf, size_t len);

/* Request header or URL-decoded query parameter; NULL when absent. */
const char *httpd_header(const struct httpd_req *req, const char *name);
const char *httpd_query(const struct httpd_req *req, const char *name);
/* Call fn for each query parameter (value may be NULL for "?flag"). */
void httpd_query_each(const struct httpd_req *req,
    void (*fn)(void *arg, const char *key, const char *value), void *arg);

#endif
