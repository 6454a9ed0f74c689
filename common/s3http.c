/*
 * s3http.c - see s3http.h.
 */
#include "s3http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md5.h"
#include "s3conn.h"
#include "s3get.h"
#include "s3put.h"
#include "s3xml.h"
#include "strbuf.h"
#include "util.h"

static void *h_open(const struct s3backend_args *a, char *err, size_t errlen)
{
	return s3conn_open(a, err, errlen);
}

static void h_close(void *b)
{
	s3conn_close(b);
}

static int h_head(void *b, const char *key, struct s3_stat *st, char *err,
    size_t errlen)
{
	char *fk = s3conn_full_key(b, key, err, errlen);
	if (fk == NULL)
		return -1;
	int rc = s3get_head(b, key, fk, st, err, errlen);
	free(fk);
	return rc;
}

static bool h_put_uses_md5(const void *b, uint64_t size)
{
	const struct s3conn *c = b;
	return size <= c->o.multipart_threshold;
}

static int delete_batch(struct s3conn *c, const char *const *keys, size_t n,
    size_t *deleted, char *err, size_t errlen);

static int h_put(void *b, const char *key, int fd, off_t off,
    const void *mem, uint64_t len, const struct s3_put_opts *o,
    struct s3_put_info *info, char *err, size_t errlen)
{
	struct s3conn *c = b;
	bool damaged = false;
	int rc;

	char *fk = s3conn_full_key(c, key, err, errlen);
	if (fk == NULL)
		return -1;
	/* Manifests (mem) are small: one PUT whatever the threshold. */
	if (mem == NULL && len > c->o.multipart_threshold)
		rc = s3put_multipart(c, key, fk, fd, off, len, o, info, err,
		    errlen);
	else
		rc = s3put_single(c, key, fk, fd, off, mem, len, o, info,
		    &damaged, err, errlen);
	free(fk);
	if (damaged) {
		/* Not every server checks Content-MD5 (s3rver does not): take
		 * the bad object away so nothing trusts it later (a resumed
		 * backup keeps an object whose size and recorded SHA-256
		 * match). */
		char derr[256];
		size_t l = strlen(err);
		if (delete_batch(c, &key, 1, NULL, derr, sizeof(derr)) != 0)
			err_set(err + l, errlen - l, "; deleting it failed too: "
			    "%s", derr);
		else
			err_set(err + l, errlen - l, "; it was deleted");
	}
	return rc;
}

static int h_get(void *b, const char *key, int fd,
    const struct s3_get_opts *o, struct s3_stat *st, char *err,
    size_t errlen)
{
	char *fk = s3conn_full_key(b, key, err, errlen);
	if (fk == NULL)
		return -1;
	int rc = s3get_file(b, key, fk, fd, o, st, err, errlen);
	free(fk);
	return rc;
}

static int h_get_range(void *b, const char *key, uint64_t off, uint64_t len,
    int fd, off_t fd_off, char *err, size_t errlen)
{
	char *fk = s3conn_full_key(b, key, err, errlen);
	if (fk == NULL)
		return -1;
	int rc = s3get_range(b, key, fk, off, len, fd, fd_off, err, errlen);
	free(fk);
	return rc;
}

static int h_get_mem(void *b, const char *key, size_t max, char **data,
    size_t *len, char *err, size_t errlen)
{
	char *fk = s3conn_full_key(b, key, err, errlen);
	if (fk == NULL)
		return -1;
	int rc = s3get_mem(b, key, fk, max, data, len, err, errlen);
	free(fk);
	return rc;
}

static int h_list_page(void *b, const char *prefix, const char *token,
    int max_keys, struct s3_list *out, char *err, size_t errlen)
{
	struct s3conn *c = b;
	struct http_resp resp;
	struct s3conn_req q;
	char mk[16], lerr[300];
	char *fp = xasprintf("%s%s", c->prefix, prefix ? prefix : "");
	size_t plen = strlen(c->prefix);
	int rc;

	snprintf(mk, sizeof(mk), "%d", max_keys > 0 ? max_keys : 1000);
	s3conn_req_init(&q, "GET", NULL, prefix ? prefix : "");
	s3conn_req_param(&q, "list-type", "2");
	s3conn_req_param(&q, "prefix", fp);
	s3conn_req_param(&q, "max-keys", mk);
	if (token)
		s3conn_req_param(&q, "continuation-token", token);
	q.max_body = 64u << 20;
	rc = s3conn_do(c, &q, &resp, err, errlen);
	if (rc == S3_NOT_FOUND) {
		err_set(err, errlen, "%s: bucket listing not found", c->url);
		rc = -1;
	}
	if (rc != 0)
		goto out;
	rc = s3xml_parse_list(resp.body, resp.body_len, out, lerr,
	    sizeof(lerr));
	http_resp_release(&resp);
	if (rc < 0) {
		err_set(err, errlen, "%s: %s", c->url, lerr);
		goto out;
	}
	/* Keys come back whole: make them relative to the store, and drop
	 * any a confused server returns from outside the prefix. */
	size_t j = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (strncmp(out->objs[i].key, c->prefix, plen) != 0) {
			free(out->objs[i].key);
			continue;
		}
		memmove(out->objs[i].key, out->objs[i].key + plen,
		    strlen(out->objs[i].key) - plen + 1);
		out->objs[j++] = out->objs[i];
	}
	out->n = j;
out:
	free(fp);
	return rc;
}

/* One DeleteObjects call for up to S3_MAX_BATCH keys. */
static int delete_batch(struct s3conn *c, const char *const *keys, size_t n,
    size_t *deleted, char *err, size_t errlen)
{
	struct strbuf body = { 0 };
	unsigned char d[MD5_LEN];
	char b64[32];
	struct http_resp resp;
	struct s3conn_req q;
	size_t failed;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		if (keys[i] == NULL || *keys[i] == '\0') {
			err_set(err, errlen, "%s: empty key in a delete batch",
			    c->url);
			goto out;
		}
	}
	s3xml_delete_body(&body, c->prefix, keys, n);
	/* DeleteObjects refuses a body without Content-MD5. */
	md5(body.p, body.len, d);
	md5_base64(d, MD5_LEN, b64);

	s3conn_req_init(&q, "POST", NULL, keys[0]);
	s3conn_req_param(&q, "delete", "");
	s3conn_req_header(&q, "Content-MD5", b64);
	s3conn_req_header(&q, "Content-Type", "application/xml");
	q.body = body.p;
	q.body_len = body.len;
	rc = s3conn_do(c, &q, &resp, err, errlen);
	if (rc == S3_NOT_FOUND)
		rc = -1;
	if (rc != 0)
		goto out;
	rc = s3xml_parse_delete(resp.body, resp.body_len, c->url, &failed, err,
	    errlen);
	http_resp_release(&resp);
	if (rc < 0)
		goto out;
	if (deleted)
		*deleted += n - failed;
	if (failed) {
		size_t l = strlen(err);
		if (l < errlen && failed > 1)
			snprintf(err + l, errlen - l, " (and %zu more keys)",
			    failed - 1);
		rc = -1;
	}
out:
	strbuf_release(&body);
	return rc;
}

static int h_delete(void *b, const char *const *keys, size_t n,
    size_t *deleted, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i += S3_MAX_BATCH) {
		size_t k = n - i < S3_MAX_BATCH ? n - i : S3_MAX_BATCH;
		if (delete_batch(b, keys + i, k, deleted, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static char *h_sign_debug(void *b, const char *method, const char *key,
    const struct sigv4_param *params, size_t nparams,
    const struct sigv4_header *headers, size_t nheaders,
    const char *payload_hash, time_t now)
{
	return s3conn_sign_debug(b, method, key, params, nparams, headers,
	    nheaders, payload_hash, now);
}

const struct s3backend s3http_backend = {
	.open = h_open,
	.close = h_close,
	.head = h_head,
	.put_uses_md5 = h_put_uses_md5,
	.put = h_put,
	.get = h_get,
	.get_range = h_get_range,
	.get_mem = h_get_mem,
	.list_page = h_list_page,
	.delete = h_delete,
	.sign_debug = h_sign_debug,
};
