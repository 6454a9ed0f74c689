/*
 * s3conn.c - see s3conn.h.
 */
#include "s3conn.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3xml.h"
#include "sha256.h"
#include "strbuf.h"
#include "util.h"

#define DEFAULT_THRESHOLD (128ull << 20)
/* Idle clients kept for reuse: more than `parallel` transfers of a few
 * stores at once rarely need, few enough that idle sockets stay cheap. */
#define MAX_IDLE_CLIENTS 64

struct s3conn_pool {
	pthread_mutex_t mu;	/* guards idle and nidle */
	struct http_client **idle;
	size_t nidle;
};

/* ------------------------------------------------------------------ */
/* opening: bucket, prefix, endpoint, addressing                       */

/* Virtual-hosted names must be DNS labels: lowercase, digits, '-'. */
static bool dns_bucket(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
		return false;
	for (const char *p = b; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
		    *p == '-'))
			return false;
	return true;
}

/* "bucket[/prefix]" into c->bucket and c->prefix. */
static int parse_bucket(struct s3conn *c, const char *rest, char *err,
    size_t errlen)
{
	const char *slash = strchr(rest, '/');

	c->bucket = slash ? xstrndup(rest, (size_t)(slash - rest)) :
	    xstrdup(rest);
	if (c->bucket[0] == '\0') {
		err_set(err, errlen, "'%s': no bucket; write s3://bucket/prefix",
		    c->url);
		return -1;
	}
	for (const char *p = c->bucket; *p; p++) {
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '.' ||
		    *p == '_')) {
			err_set(err, errlen, "'%s': bad bucket name '%s'",
			    c->url, c->bucket);
			return -1;
		}
	}
	if (slash && slash[1])
		c->prefix = xasprintf("%s%s", slash + 1,
		    str_ends_with(slash + 1, "/") ? "" : "/");
	else
		c->prefix = xstrdup("");
	return 0;
}

/* Scheme, Host header and addressing style from the options. */
static int parse_endpoint(struct s3conn *c, const struct s3_opts *o,
    char *err, size_t errlen)
{
	const char *ep = o->endpoint, *hostpart;

	if (ep == NULL) {
		c->scheme = xstrdup("https");
		c->vhost = o->addressing == S3_ADDR_VHOST ||
		    (o->addressing == S3_ADDR_AUTO && dns_bucket(c->bucket));
		c->host = c->vhost ? xasprintf("%s.s3.%s.amazonaws.com",
		    c->bucket, c->creds.region) :
		    xasprintf("s3.%s.amazonaws.com", c->creds.region);
		return 0;
	}
	if (str_starts_with(ep, "http://")) {
		c->scheme = xstrdup("http");
		hostpart = ep + 7;
	} else if (str_starts_with(ep, "https://")) {
		c->scheme = xstrdup("https");
		hostpart = ep + 8;
	} else {
		err_set(err, errlen, "endpoint '%s' must start with http:// or "
		    "https://", ep);
		return -1;
	}
	size_t hl = strcspn(hostpart, "/?#");
	if (hl == 0 || (hostpart[hl] && strcmp(hostpart + hl, "/"))) {
		err_set(err, errlen, "endpoint '%s' must be scheme://host[:port] "
		    "with no path", ep);
		return -1;
	}
	/* Another server: path-style unless asked, since its DNS rarely
	 * resolves bucket names. */
	c->vhost = o->addressing == S3_ADDR_VHOST;
	if (c->vhost && !dns_bucket(c->bucket)) {
		err_set(err, errlen, "bucket '%s' cannot be addressed "
		    "virtual-hosted style; use path-style", c->bucket);
		return -1;
	}
	char *h = xstrndup(hostpart, hl);
	c->host = c->vhost ? xasprintf("%s.%s", c->bucket, h) : xstrdup(h);
	free(h);
	return 0;
}

/* The documented defaults (s3.h) for the fields left zero. */
static void apply_defaults(struct s3_opts *o)
{
	o->endpoint = o->region = o->access_key = o->secret_key = NULL;
	o->session_token = o->ca_file = NULL;
	if (o->part_size == 0)
		o->part_size = S3CONN_DEFAULT_PART;
	if (o->part_size < S3_MIN_PART)
		o->part_size = S3_MIN_PART;
	if (o->multipart_threshold == 0)
		o->multipart_threshold = DEFAULT_THRESHOLD;
	if (o->parallel <= 0)
		o->parallel = 8;
	if (o->max_attempts <= 0)
		o->max_attempts = 6;
	if (o->retry_base_ms <= 0)
		o->retry_base_ms = 100;
	if (o->retry_cap_ms <= 0)
		o->retry_cap_ms = 20000;
	if (o->connect_timeout_ms <= 0)
		o->connect_timeout_ms = 5000;
	if (o->request_timeout_ms <= 0)
		o->request_timeout_ms = 60000;
	if (o->stall_s <= 0)
		o->stall_s = 60;
}

struct s3conn *s3conn_open(const struct s3backend_args *a, char *err,
    size_t errlen)
{
	struct s3conn *c = xcalloc(1, sizeof(*c));
	char cerr[256];

	c->url = xstrdup(a->url);
	c->rate = a->rate;
	c->o = *a->o;
	apply_defaults(&c->o);
	c->pool = xcalloc(1, sizeof(*c->pool));
	pthread_mutex_init(&c->pool->mu, NULL);
	if (parse_bucket(c, a->rest, err, errlen) < 0)
		goto fail;
	if (creds_resolve(&c->creds, a->o, NULL, cerr, sizeof(cerr)) < 0) {
		err_set(err, errlen, "'%s': %s", c->url, cerr);
		goto fail;
	}
	if (parse_endpoint(c, a->o, err, errlen) < 0)
		goto fail;
	if (a->o->ca_file)
		c->ca_file = xstrdup(a->o->ca_file);
	return c;
fail:
	s3conn_close(c);
	return NULL;
}

void s3conn_close(struct s3conn *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->pool->nidle; i++)
		http_client_free(c->pool->idle[i]);
	free(c->pool->idle);
	pthread_mutex_destroy(&c->pool->mu);
	free(c->pool);
	creds_release(&c->creds);
	free(c->url);
	free(c->prefix);
	free(c->bucket);
	free(c->scheme);
	free(c->host);
	free(c->ca_file);
	free(c);
}

char *s3conn_full_key(const struct s3conn *c, const char *key, char *err,
    size_t errlen)
{
	if (key == NULL || *key == '\0') {
		err_set(err, errlen, "%s: empty object key", c->url);
		return NULL;
	}
	/* S3 allows 1,024 bytes with the prefix; refuse early and clearly. */
	if (strlen(key) > 900) {
		err_set(err, errlen, "%s/%.40s...: object key longer than 900 "
		    "bytes", c->url, key);
		return NULL;
	}
	return xasprintf("%s%s", c->prefix, key);
}

/* ------------------------------------------------------------------ */
/* the pool                                                            */

/* A connection for one request; kept-alive ones first. */
static struct http_client *client_get(struct s3conn *c)
{
	struct http_client *h = NULL;

	pthread_mutex_lock(&c->pool->mu);
	if (c->pool->nidle > 0)
		h = c->pool->idle[--c->pool->nidle];
	pthread_mutex_unlock(&c->pool->mu);
	if (h == NULL)
		h = http_client_new();
	return h;
}

static void client_put(struct s3conn *c, struct http_client *h)
{
	pthread_mutex_lock(&c->pool->mu);
	if (c->pool->nidle < MAX_IDLE_CLIENTS) {
		if (c->pool->idle == NULL)
			c->pool->idle = xcalloc(MAX_IDLE_CLIENTS,
			    sizeof(*c->pool->idle));
		c->pool->idle[c->pool->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool->mu);
	http_client_free(h);
}

/* ------------------------------------------------------------------ */
/* building and signing                                                */

void s3conn_req_init(struct s3conn_req *q, const char *method,
    const char *key, const char *what)
{
	memset(q, 0, sizeof(*q));
	q->method = method;
	q->key = key;
	q->what = what;
	q->body_fd = -1;
	q->out_fd = -1;
}

void s3conn_req_param(struct s3conn_req *q, const char *k, const char *v)
{
	if (q->nparams >= S3CONN_MAX_PARAMS)
		abort();
	q->params[q->nparams].key = k;
	q->params[q->nparams].value = v;
	q->nparams++;
}

void s3conn_req_header(struct s3conn_req *q, const char *name,
    const char *value)
{
	if (q->nhdrs >= S3CONN_MAX_HEADERS)
		abort();
	q->hdrs[q->nhdrs].name = name;
	q->hdrs[q->nhdrs].value = value;
	q->nhdrs++;
}

/* A signed request ready to send; every string owned here. */
struct built {
	char *url;
	char *names[S3CONN_MAX_HEADERS + 5];
	char *values[S3CONN_MAX_HEADERS + 5];
	size_t n;
};

static void built_release(struct built *b)
{
	free(b->url);
	for (size_t i = 0; i < b->n; i++) {
		free(b->names[i]);
		free(b->values[i]);
	}
	memset(b, 0, sizeof(*b));
}

static void built_add(struct built *b, const char *name, const char *value)
{
	b->names[b->n] = xstrdup(name);
	b->values[b->n] = xstrdup(value);
	b->n++;
}

/*
 * Build q's URL and signed headers at time now.  The path and query are
 * encoded by sigv4_encode() for both the URL and the signature, so the two
 * cannot disagree.
 */
static void build(const struct s3conn *c, const struct s3conn_req *q,
    time_t now, struct built *b)
{
	char date[17], hash[2 * SHA256_LEN + 1];
	const char *payload = q->payload_hash;
	struct sigv4_header h[S3CONN_MAX_HEADERS + 4];
	size_t nh = 0;

	memset(b, 0, sizeof(*b));
	if (payload == NULL) {
		if (q->body_fd >= 0) {
			payload = SIGV4_UNSIGNED_PAYLOAD;
		} else {
			sha256_hex(q->body ? q->body : "", q->body ?
			    q->body_len : 0, hash);
			payload = hash;
		}
	}
	char *path = c->vhost ? xasprintf("/%s", q->key ? q->key : "") :
	    q->key ? xasprintf("/%s/%s", c->bucket, q->key) :
	    xasprintf("/%s", c->bucket);
	char *epath = sigv4_encode(path, true);
	char *query = sigv4_canonical_query(q->params, q->nparams);
	b->url = xasprintf("%s://%s%s%s%s", c->scheme, c->host, epath,
	    *query ? "?" : "", query);
	free(epath);
	free(query);

	sigv4_amz_date(now, date);
	h[nh++] = (struct sigv4_header){ "Host", c->host };
	h[nh++] = (struct sigv4_header){ "x-amz-content-sha256", payload };
	h[nh++] = (struct sigv4_header){ "x-amz-date", date };
	if (c->creds.token)
		h[nh++] = (struct sigv4_header){ "x-amz-security-token",
		    c->creds.token };
	for (size_t i = 0; i < q->nhdrs; i++)
		h[nh++] = q->hdrs[i];
	struct sigv4_req sr = {
		.method = q->method, .path = path,
		.params = q->params, .nparams = q->nparams,
		.headers = h, .nheaders = nh, .payload_hash = payload,
	};
	struct sigv4_key k = { c->creds.access_key, c->creds.secret_key,
	    c->creds.region, "s3" };
	char *auth = sigv4_authorization(&k, date, &sr);
	for (size_t i = 0; i < nh; i++)
		built_add(b, h[i].name, h[i].value);
	built_add(b, "Authorization", auth);
	free(auth);
	free(path);
}

char *s3conn_sign_debug(struct s3conn *c, const char *method,
    const char *key, const struct sigv4_param *params, size_t nparams,
    const struct sigv4_header *headers, size_t nheaders,
    const char *payload_hash, time_t now)
{
	struct s3conn_req q;
	struct built b;
	struct strbuf out = { 0 };

	char *fk = key ? xasprintf("%s%s", c->prefix, key) : NULL;
	s3conn_req_init(&q, method, fk, key);
	for (size_t i = 0; i < nparams; i++)
		s3conn_req_param(&q, params[i].key, params[i].value);
	for (size_t i = 0; i < nheaders; i++)
		s3conn_req_header(&q, headers[i].name, headers[i].value);
	q.payload_hash = payload_hash;
	build(c, &q, now, &b);
	strbuf_addf(&out, "URL %s\n", b.url);
	for (size_t i = 0; i < b.n; i++)
		strbuf_addf(&out, "%s: %s\n", b.names[i], b.values[i]);
	built_release(&b);
	free(fk);
	return out.p;
}

/* ------------------------------------------------------------------ */
/* sending                                                             */

/* What to tell the user to do about an S3 error code or status. */
static const char *hint(long status, const char *code)
{
	if (strcmp(code, "NoSuchBucket") == 0)
		return "; create the bucket or fix the storage URL";
	if (strcmp(code, "SignatureDoesNotMatch") == 0)
		return "; check the secret key and the region";
	if (strcmp(code, "InvalidAccessKeyId") == 0)
		return "; check the access key";
	if (strcmp(code, "RequestTimeTooSkewed") == 0)
		return "; fix this host's clock";
	if (strcmp(code, "BadDigest") == 0 ||
	    strcmp(code, "InvalidDigest") == 0)
		return "; the bytes were damaged in transit, try again";
	if (status == 403)
		return "; check the credentials, the bucket policy and the clock";
	if (status == 301 || status == 307)
		return "; the bucket is in another region: set the region";
	return "";
}

static bool retryable_status(long status, const char *code)
{
	return status >= 500 || status == 429 ||
	    strcmp(code, "RequestTimeout") == 0 ||
	    strcmp(code, "SlowDown") == 0 ||
	    strcmp(code, "InternalError") == 0;
}

long s3conn_backoff_ms(int attempt, long base_ms, long cap_ms, uint32_t rnd)
{
	long d = base_ms > 0 ? base_ms : 1;
	for (int i = 0; i < attempt && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	return d / 2 + (long)(rnd % (uint32_t)(d - d / 2 + 1));
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The http.h request for q as built in b. */
static void to_http(const struct s3conn *c, const struct s3conn_req *q,
    const struct built *b, struct http_header *hh, struct http_req *hr)
{
	for (size_t i = 0; i < b->n; i++) {
		hh[i].name = b->names[i];
		hh[i].value = b->values[i];
	}
	http_req_init(hr, q->method, b->url);
	hr->headers = hh;
	hr->nheaders = b->n;
	hr->body = q->body;
	hr->body_len = q->body_len;
	hr->body_fd = q->body_fd;
	hr->body_off = q->body_off;
	if (q->body_fd < 0 && q->body == NULL &&
	    (strcmp(q->method, "PUT") == 0 || strcmp(q->method, "POST") == 0))
		hr->body = "";	/* an empty body, sent as one */
	hr->out_fd = q->out_fd;
	hr->out_pwrite = q->out_fd >= 0;
	hr->out_off = q->out_off;
	hr->out_2xx_only = true;
	hr->max_body = q->max_body ? q->max_body : 8u << 20;
	hr->observe = q->observe;
	hr->observe_arg = q->observe_arg;
	hr->connect_timeout_ms = c->o.connect_timeout_ms;
	hr->ca_file = c->ca_file;
	/* A big file cannot have a deadline; a stall limit catches a dead
	 * transfer instead. */
	if (q->transfer || q->out_fd >= 0 || q->body_fd >= 0) {
		hr->timeout_ms = -1;
		hr->low_speed_s = c->o.stall_s;
	} else {
		hr->timeout_ms = c->o.request_timeout_ms;
	}
}

int s3conn_do(struct s3conn *c, struct s3conn_req *q, struct http_resp *resp,
    char *err, size_t errlen)
{
	char last[400] = "";
	char *desc = s3backend_describe(c->url, q->what);
	int rc = -1;

	for (int attempt = 0;; attempt++) {
		struct built b;
		struct http_header hh[S3CONN_MAX_HEADERS + 5];
		struct http_req hr;
		bool retry = false;
		char code[64] = "", msg[200] = "";

		build(c, q, time(NULL), &b);
		to_http(c, q, &b, hh, &hr);
		struct http_client *h = client_get(c);
		int hrc = h ? http_do(h, &hr, resp) : -1;
		if (h == NULL)
			snprintf(resp->err, sizeof(resp->err), "cannot "
			    "create an HTTP handle");
		if (h)
			client_put(c, h);
		built_release(&b);

		if (hrc < 0) {
			/* Retrying cannot help what happened on this side. */
			if (resp->aborted || resp->local_error ||
			    resp->tls_failed) {
				err_set(err, errlen, "%s %s: %s", q->method, desc,
				    resp->err);
				goto out;
			}
			snprintf(last, sizeof(last), "%s%s", resp->err,
			    resp->conn_refused ? " (is the endpoint right and "
			    "the server up?)" : "");
			retry = true;
		} else if (resp->status >= 200 && resp->status < 300) {
			if (q->error_in_200 && resp->body &&
			    s3xml_parse_error(resp->body, resp->body_len, code,
			    sizeof(code), msg, sizeof(msg)) == 0) {
				snprintf(last, sizeof(last), "HTTP 200 with "
				    "error %s: %s", code, msg);
				retry = retryable_status(500, code);
				if (!retry) {
					err_set(err, errlen, "%s %s: %s%s",
					    q->method, desc, last,
					    hint(500, code));
					goto out;
				}
			} else {
				rc = 0;
				goto out_keep;
			}
		} else {
			if (resp->body)
				s3xml_parse_error(resp->body, resp->body_len,
				    code, sizeof(code), msg, sizeof(msg));
			if (resp->status == 404 && strcmp(code,
			    "NoSuchBucket") != 0) {
				err_set(err, errlen, "%s: no such key", desc);
				rc = S3_NOT_FOUND;
				goto out;
			}
			snprintf(last, sizeof(last), "HTTP %ld%s%s%s%s",
			    resp->status, *code ? " " : "", code,
			    *msg ? ": " : "", msg);
			if (!retryable_status(resp->status, code)) {
				err_set(err, errlen, "%s %s: %s%s", q->method,
				    desc, last, hint(resp->status, code));
				goto out;
			}
			retry = true;
		}
		http_resp_release(resp);
		if (!retry || attempt + 1 >= c->o.max_attempts) {
			err_set(err, errlen, "%s %s: %s (gave up after %d "
			    "attempts)", q->method, desc, last, attempt + 1);
			goto out;
		}
		uint32_t rnd;
		random_bytes(&rnd, sizeof(rnd));
		sleep_ms(s3conn_backoff_ms(attempt, c->o.retry_base_ms,
		    c->o.retry_cap_ms, rnd));
		if (q->restart)
			q->restart(q->restart_arg);
	}
out:
	http_resp_release(resp);
out_keep:
	free(desc);
	return rc;
}

int s3conn_observe_rate(void *arg, int dir, const void *data, size_t len)
{
	(void)dir;
	(void)data;
	ratelimit_take(arg, len);
	return 0;
}

void s3conn_parallel(void *(*fn)(void *), void *arg, int parallel,
    unsigned n)
{
	unsigned want = (unsigned)parallel < n ? (unsigned)parallel : n;
	pthread_t *t = xcalloc(want ? want : 1, sizeof(*t));
	unsigned started = 0;

	for (unsigned i = 1; i < want; i++)
		if (pthread_create(&t[started], NULL, fn, arg) == 0)
			started++;
	fn(arg);
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
}
