/*
 * httpd.c - see httpd.h.
 *
 * libmicrohttpd calls us several times per request: once with the headers,
 * then with pieces of the body, then once more with nothing left.  A small
 * per-connection context collects the body; the handler runs on the last
 * call.  Requests without a body get a static marker instead of a
 * context, so a GET allocates nothing here.
 */
#include "httpd.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "../../common/util.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_Result;
#define MHD_RESULT int
#else
#define MHD_RESULT enum MHD_Result
#endif

/* A response to a constant body, built once and queued on every
 * connection that gets it (libmicrohttpd shares a response safely). */
struct fixed_resp {
	const char *body;		/* the caller's string literal */
	int status;
	struct MHD_Response *r;
};
#define MAX_FIXED 8

struct httpd {
	struct MHD_Daemon *mhd;
	httpd_handler_fn fn;
	void *arg;
	size_t max_body;
	int port;
	char *cert_pem, *key_pem;
	pthread_mutex_t fixed_mu;
	struct fixed_resp fixed[MAX_FIXED];
	_Atomic size_t nfixed;		/* entries [0, nfixed) are complete */
};

struct req_ctx {
	char *buf;
	size_t len, cap;
	bool too_large;
};

static const char ctx_none;	/* marker: a request with no body */

void httpd_peer(const struct httpd_req *req, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	socklen_t salen = sa == NULL ? 0 : sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

	if (sa == NULL || getnameinfo(sa, salen, buf, (socklen_t)len, NULL, 0,
	    NI_NUMERICHOST) != 0) {
		str_copy(buf, "unknown", len);
		return;
	}
	/* One client, one key, whether it came over IPv4 or IPv6. */
	if (strncmp(buf, "::ffff:", 7) == 0 && strchr(buf + 7, '.') != NULL)
		memmove(buf, buf + 7, strlen(buf + 7) + 1);
}

const char *httpd_header(const struct httpd_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *httpd_query(const struct httpd_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

struct each_arg {
	void (*fn)(void *, const char *, const char *);
	void *arg;
};

static MHD_RESULT query_iter(void *cls, enum MHD_ValueKind kind,
    const char *key, const char *value)
{
	struct each_arg *ea = cls;
	(void)kind;
	ea->fn(ea->arg, key, value);
	return MHD_YES;
}

void httpd_query_each(const struct httpd_req *req,
    void (*fn)(void *, const char *, const char *), void *arg)
{
	struct each_arg ea = { fn, arg };
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_iter,
	    &ea);
}

/* The shared response for a constant body and status, made on first use;
 * NULL when the table is full (the caller builds one as usual). */
static struct MHD_Response *fixed_get(struct httpd *h, const char *body,
    int status)
{
	size_t n = atomic_load(&h->nfixed);
	struct MHD_Response *r = NULL;

	for (size_t i = 0; i < n; i++)
		if (h->fixed[i].body == body && h->fixed[i].status == status)
			return h->fixed[i].r;
	pthread_mutex_lock(&h->fixed_mu);
	n = atomic_load(&h->nfixed);
	for (size_t i = 0; i < n && r == NULL; i++)
		if (h->fixed[i].body == body && h->fixed[i].status == status)
			r = h->fixed[i].r;
	if (r == NULL && n < MAX_FIXED && (r = MHD_create_response_from_buffer(
	    strlen(body), (void *)(uintptr_t)body,
	    MHD_RESPMEM_PERSISTENT)) != NULL) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "application/json");
		h->fixed[n] = (struct fixed_resp){ body, status, r };
		atomic_store(&h->nfixed, n + 1);
	}
	pthread_mutex_unlock(&h->fixed_mu);
	return r;
}

static MHD_RESULT respond(struct httpd *h, struct MHD_Connection *conn,
    const char *method, const char *url, const struct req_ctx *ctx)
{
	struct httpd_req req = {
		.method = method,
		.path = url,
		.body = ctx && ctx->len ? ctx->buf : NULL,
		.body_len = ctx ? ctx->len : 0,
		.body_too_large = ctx ? ctx->too_large : false,
		.conn = conn,
	};
	struct httpd_resp resp = { .status = 500 };
	struct MHD_Response *r;
	MHD_RESULT ret;

	h->fn(h->arg, &req, &resp);
	if (resp.fixed_body != NULL && resp.body == NULL &&
	    resp.content_type == NULL && resp.headers[0].name == NULL &&
	    resp.value_alloc == NULL &&
	    (r = fixed_get(h, resp.fixed_body, resp.status)) != NULL)
		return MHD_queue_response(conn, (unsigned)resp.status, r);
	if (resp.fixed_body != NULL && resp.body == NULL) {
		resp.body = xstrdup(resp.fixed_body);
		resp.len = strlen(resp.body);
	}
	r = MHD_create_response_from_buffer(resp.len, resp.body,
	    resp.body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		free(resp.body);
		free(resp.value_alloc);
		return MHD_NO;
	}
	if (resp.len > 0 || resp.content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    resp.content_type ? resp.content_type : "application/json");
	for (int i = 0; i < HTTPD_MAX_HEADERS; i++)
		if (resp.headers[i].name)
			MHD_add_response_header(r, resp.headers[i].name,
			    resp.headers[i].value);
	/* MHD copied the header values. */
	free(resp.value_alloc);
	ret = MHD_queue_response(conn, (unsigned)resp.status, r);
	MHD_destroy_response(r);
	return ret;
}

static bool has_body(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING);
	return te != NULL || (cl != NULL && strcmp(cl, "0") != 0);
}

static MHD_RESULT on_request(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	struct req_ctx *ctx = *con_cls;
	(void)version;

	if (ctx == NULL) {
		/*
		 * Answer on a later call, never this first one: libmicrohttpd
		 * handles a response queued with the headers alone far more
		 * slowly (measured: about a quarter of the rate on GET).
		 */
		*con_cls = has_body(conn) ? xcalloc(1, sizeof(*ctx)) :
		    (void *)(uintptr_t)&ctx_none;
		return MHD_YES;
	}
	if ((const void *)ctx == (const void *)&ctx_none)
		return respond(h, conn, method, url, NULL);
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		if (!ctx->too_large && ctx->len + n > h->max_body) {
			ctx->too_large = true;
			free(ctx->buf);
			ctx->buf = NULL;
			ctx->len = ctx->cap = 0;
		}
		if (!ctx->too_large) {
			if (ctx->len + n + 1 > ctx->cap) {
				size_t cap = ctx->cap ? ctx->cap : 1024;
				while (cap < ctx->len + n + 1)
					cap *= 2;
				ctx->buf = xrealloc(ctx->buf, cap);
				ctx->cap = cap;
			}
			memcpy(ctx->buf + ctx->len, upload_data, n);
			ctx->len += n;
			ctx->buf[ctx->len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return respond(h, conn, method, url, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
    void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct req_ctx *ctx = *con_cls;
	(void)cls;
	(void)conn;
	(void)toe;
	if (ctx != NULL && (const void *)ctx != (const void *)&ctx_none) {
		free(ctx->buf);
		free(ctx);
	}
	*con_cls = NULL;
}

static char *read_pem(const char *path, const char *what, char *err,
    size_t errlen)
{
	char *s = file_read_all(path, 1 << 20, NULL);
	if (s == NULL)
		snprintf(err, errlen, "cannot read %s '%s': %s", what, path,
		    strerror(errno));
	return s;
}

struct httpd *httpd_start(const struct httpd_opts *o, httpd_handler_fn fn,
    void *arg, char *err, size_t errlen)
{
	struct httpd *h = xcalloc(1, sizeof(*h));
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	char port[16];
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG | MHD_USE_AUTO;
	int rc;

	pthread_mutex_init(&h->fixed_mu, NULL);

	h->fn = fn;
	h->arg = arg;
	h->max_body = o->max_body;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof(port), "%d", o->port);
	if ((rc = getaddrinfo(o->host, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "cannot resolve listen address '%s': %s",
		    o->host, gai_strerror(rc));
		goto fail;
	}
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	freeaddrinfo(ai);

	if (o->tls_cert != NULL && o->tls_key != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(err, errlen, "this libmicrohttpd has no TLS "
			    "support: unset tls_cert and tls_key or install one "
			    "built with GnuTLS");
			goto fail;
		}
		if ((h->cert_pem = read_pem(o->tls_cert, "tls_cert", err,
		    errlen)) == NULL ||
		    (h->key_pem = read_pem(o->tls_key, "tls_key", err,
		    errlen)) == NULL)
			goto fail;
		flags |= MHD_USE_TLS;
	}

	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_SOCK_ADDR, 0, &ss },
		{ MHD_OPTION_THREAD_POOL_SIZE, o->threads > 1 ? o->threads : 1,
		  NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, 20000, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL },
		{ MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL },
		{ h->cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0,
		  h->cert_pem },
		{ h->key_pem ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0,
		  h->key_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	/* The completion callback is a function pointer: pass it in varargs. */
	h->mhd = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL,
	    on_request, h, MHD_OPTION_ARRAY, opts,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_END);
	if (h->mhd == NULL) {
		snprintf(err, errlen, "cannot listen on %s:%d: %s (is another "
		    "daemon using the port?)", o->host, o->port,
		    errno ? strerror(errno) : "libmicrohttpd refused to start");
		goto fail;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->mhd,
	    MHD_DAEMON_INFO_BIND_PORT);
	h->port = di ? di->port : o->port;
	return h;
fail:
	free(h->cert_pem);
	free(h->key_pem);
	free(h);
	return NULL;
}

int httpd_port(const struct httpd *h)
{
	return h->port;
}

void httpd_stop(struct httpd *h)
{
	if (h == NULL)
		return;
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	for (size_t i = 0; i < atomic_load(&h->nfixed); i++)
		MHD_destroy_response(h->fixed[i].r);
	pthread_mutex_destroy(&h->fixed_mu);
	free(h->cert_pem);
	free(h->key_pem);
	free(h);
}
