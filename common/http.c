/*
 * http.c - see http.h.  libcurl's types and error codes stay in this file;
 * callers see an HTTP status or a sentence in resp->err.
 */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "util.h"

struct http_client {
	CURL *curl;
};

struct sink {
	const struct http_req *req;
	struct http_resp *resp;
	CURL *h;
	size_t cap;
	bool too_big;
	bool write_failed;
	bool aborted;
	int to_fd;		/* -1 until the first chunk decides */
	off_t written;		/* bytes written to out_fd */
};

struct source {
	const struct http_req *req;
	size_t sent;
	bool aborted;
	bool read_failed;
};

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

struct http_client *http_client_new(void)
{
	struct http_client *c = xcalloc(1, sizeof(*c));
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

void http_req_init(struct http_req *req, const char *method, const char *url)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->url = url;
	req->body_fd = -1;
	req->out_fd = -1;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	struct http_resp *r = s->resp;
	const struct http_req *req = s->req;

	if (s->to_fd < 0) {
		long status = 0;
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
		s->to_fd = req->out_fd >= 0 && (!req->out_2xx_only ||
		    (status >= 200 && status < 300));
	}
	if (s->to_fd) {
		size_t left = n;
		while (left > 0) {
			ssize_t w = req->out_pwrite ?
			    pwrite(req->out_fd, ptr + (n - left), left,
			    req->out_off + s->written) :
			    write(req->out_fd, ptr + (n - left), left);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				s->write_failed = true;
				return 0;
			}
			left -= (size_t)w;
			s->written += w;
		}
		r->body_len += n;
		if (req->observe && req->observe(req->observe_arg,
		    HTTP_RECEIVED, ptr, n) < 0) {
			s->aborted = true;
			return 0;
		}
		return n;
	}
	size_t max = s->req->max_body ? s->req->max_body : 16u << 20;
	if (r->body_len + n > max) {
		s->too_big = true;
		return 0;
	}
	if (r->body_len + n + 1 > s->cap) {
		while (r->body_len + n + 1 > s->cap)
			s->cap = s->cap ? s->cap * 2 : 4096;
		r->body = xrealloc(r->body, s->cap);
	}
	memcpy(r->body + r->body_len, ptr, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *arg)
{
	struct sink *s = arg;
	struct http_resp *r = s->resp;
	size_t n = size * nitems;
	char *colon = memchr(buf, ':', n);

	/* A new status line (redirect or 100-continue) starts a new set. */
	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		for (size_t i = 0; i < r->nheaders; i++) {
			free(r->headers[i].name);
			free(r->headers[i].value);
		}
		r->nheaders = 0;
		return n;
	}
	if (colon == NULL)
		return n;
	char *name = xstrndup(buf, (size_t)(colon - buf));
	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	char *value = xstrndup(colon + 1, n - (size_t)(colon - buf) - 1);
	str_trim(value);
	r->headers = xrealloc(r->headers, (r->nheaders + 1) * sizeof(*r->headers));
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = value;
	r->nheaders++;
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct source *src = arg;
	const struct http_req *req = src->req;
	size_t want = size * nitems, left = req->body_len - src->sent;
	if (want > left)
		want = left;
	if (want == 0)
		return 0;
	if (req->body_fd >= 0) {
		ssize_t n = pread(req->body_fd, buf, want,
		    req->body_off + (off_t)src->sent);
		if (n <= 0) {
			/* an error, or the file shrank under us */
			src->read_failed = true;
			return CURL_READFUNC_ABORT;
		}
		want = (size_t)n;
	} else {
		memcpy(buf, (const char *)req->body + src->sent, want);
	}
	src->sent += want;
	if (req->observe && req->observe(req->observe_arg, HTTP_SENT, buf,
	    want) < 0) {
		src->aborted = true;
		return CURL_READFUNC_ABORT;
	}
	return want;
}

static int on_seek(void *arg, curl_off_t offset, int origin)
{
	struct source *src = arg;
	if (origin != SEEK_SET || offset < 0 ||
	    (size_t)offset > src->req->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	src->sent = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

int http_do(struct http_client *c, const struct http_req *req,
    struct http_resp *resp)
{
	CURL *h = c->curl;
	struct curl_slist *hl = NULL;
	struct sink sink = { .req = req, .resp = resp, .h = c->curl,
	    .to_fd = -1 };
	struct source src = { .req = req };
	char *auth = NULL;
	int rc = -1;

	memset(resp, 0, sizeof(*resp));
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms < 0 ? 0L :
	    req->timeout_ms ? req->timeout_ms : 30000L);
	if (req->low_speed_s > 0) {
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, req->low_speed_s);
	}
	/* Bigger buffers for streamed bodies: fewer callbacks and syscalls. */
	if (req->out_fd >= 0)
		curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	if (req->body_fd >= 0)
		curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    req->connect_timeout_ms ? req->connect_timeout_ms : 5000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
	if (req->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);

	bool has_body = req->body != NULL || req->body_fd >= 0;
	if (strcmp(req->method, "GET") == 0 && !has_body) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
		if (has_body || strcmp(req->method, "PUT") == 0 ||
		    strcmp(req->method, "POST") == 0) {
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(h, CURLOPT_READDATA, &src);
			curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
			curl_easy_setopt(h, CURLOPT_SEEKDATA, &src);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
			    (curl_off_t)req->body_len);
			/* Small bodies need no round trip to ask permission. */
			hl = curl_slist_append(hl, "Expect:");
		}
	}
	for (size_t i = 0; i < req->nheaders; i++) {
		char *line = xasprintf("%s: %s", req->headers[i].name,
		    req->headers[i].value);
		hl = curl_slist_append(hl, line);
		free(line);
	}
	if (req->bearer) {
		auth = xasprintf("Authorization: Bearer %s", req->bearer);
		hl = curl_slist_append(hl, auth);
	}
	if (hl)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);

	CURLcode cc = curl_easy_perform(h);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		rc = 0;
	} else if (sink.too_big) {
		snprintf(resp->err, sizeof(resp->err),
		    "%s %s: answer larger than %zu bytes", req->method,
		    req->url, req->max_body ? req->max_body : 16u << 20);
	} else if (sink.aborted || src.aborted) {
		resp->aborted = true;
		snprintf(resp->err, sizeof(resp->err), "%s %s: transfer "
		    "stopped by the caller", req->method, req->url);
	} else if (src.read_failed) {
		resp->local_error = true;
		snprintf(resp->err, sizeof(resp->err), "%s %s: cannot read "
		    "the body to send: %s", req->method, req->url,
		    errno ? strerror(errno) : "file shorter than expected");
	} else if (sink.write_failed) {
		resp->local_error = true;
		snprintf(resp->err, sizeof(resp->err),
		    "%s %s: cannot write the answer to disk: %s", req->method,
		    req->url, strerror(errno));
	} else {
		resp->conn_refused = cc == CURLE_COULDNT_CONNECT;
		resp->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
		resp->reset = cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
		    cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE;
		resp->tls_failed = cc == CURLE_SSL_CONNECT_ERROR ||
		    cc == CURLE_PEER_FAILED_VERIFICATION ||
		    cc == CURLE_SSL_CACERT_BADFILE;
		long sent = 0;
		if (curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent) !=
		    CURLE_OK)
			sent = 1;	/* unknown: assume it may have left */
		resp->not_sent = sent == 0;
		snprintf(resp->err, sizeof(resp->err), "%s %s: %s",
		    req->method, req->url, curl_easy_strerror(cc));
	}
	curl_slist_free_all(hl);
	free(auth);
	return rc;
}

void http_resp_release(struct http_resp *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	for (size_t i = 0; i < resp->nheaders; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	free(resp->headers);
	memset(resp, 0, sizeof(*resp));
}

const char *http_resp_header(const struct http_resp *resp, const char *name)
{
	for (size_t i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

char *http_url_encode(const char *s, bool keep_slash)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(3 * n + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' ||
		    *p == '~' || (keep_slash && *p == '/')) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hexd[*p >> 4];
			*o++ = hexd[*p & 15];
		}
	}
	*o = '\0';
	return out;
}
