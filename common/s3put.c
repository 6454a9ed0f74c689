/*
 * s3put.c - see s3put.h.
 *
 * A multipart upload starts `parallel` threads (s3conn_parallel()) that
 * take part numbers from a counter under the upload's own mutex; the first
 * failure stops the others, is the one reported, and aborts the upload so
 * the bucket does not keep the parts.
 */
#include "s3put.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "digest.h"
#include "md5.h"
#include "s3xml.h"
#include "sha256.h"
#include "strbuf.h"
#include "util.h"

uint64_t s3put_part_size(uint64_t size, uint64_t want, unsigned *nparts)
{
	uint64_t p = want ? want : S3CONN_DEFAULT_PART;
	if (p < S3_MIN_PART)
		p = S3_MIN_PART;
	/* Grow in whole MiB until 10,000 parts cover the size. */
	if (size > p * S3_MAX_PARTS) {
		p = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
		p = (p + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
	}
	if (nparts)
		*nparts = size == 0 ? 1 : (unsigned)((size + p - 1) / p);
	return p;
}

static int etag_mismatch(const struct s3conn *c, const char *etag,
    const char *want, const char *desc, char *err, size_t errlen)
{
	if (c->o.no_etag_check || strcasecmp(etag, want) == 0)
		return 0;
	err_set(err, errlen, "%s: the store answered ETag '%s' but we sent "
	    "'%s'; the object may be damaged: upload it again (or set "
	    "no_etag_check for SSE-KMS/SSE-C buckets)", desc, etag, want);
	return -1;
}

/* Content-MD5 (binary into d) and, with sign_payload, the SHA-256 of the
 * body: from the caller when it hashed the bytes as it read them, else
 * by a read pass of our own. */
static int single_digests(struct s3conn *c, int fd, off_t off,
    const void *mem, uint64_t len, const struct s3_put_opts *o,
    unsigned char d[MD5_LEN], char sha[2 * SHA256_LEN + 1], const char *desc,
    char *err, size_t errlen)
{
	if (mem) {
		md5(mem, (size_t)len, d);
		return 0;
	}
	if (o && o->content_md5 && (!c->o.sign_payload || o->sha256)) {
		if (digest_md5_from_hex(o->content_md5, d) < 0) {
			err_set(err, errlen, "%s: content_md5 '%s' is not 32 hex "
			    "digits", desc, o->content_md5);
			return -1;
		}
		if (c->o.sign_payload)
			str_copy(sha, o->sha256, 2 * SHA256_LEN + 1);
		return 0;
	}
	return digest_fd_range(fd, off, len, d, c->o.sign_payload ? sha : NULL,
	    desc, err, errlen);
}

int s3put_single(struct s3conn *c, const char *key, const char *fk, int fd,
    off_t off, const void *mem, uint64_t len, const struct s3_put_opts *o,
    struct s3_put_info *info, bool *damaged, char *err, size_t errlen)
{
	unsigned char d[MD5_LEN];
	char b64[32], hex[2 * MD5_LEN + 1], sha[2 * SHA256_LEN + 1];
	char etag[DIGEST_ETAG_MAX];
	char *desc = s3backend_describe(c->url, key);
	struct http_resp resp;
	struct s3conn_req q;
	int rc = -1;

	*damaged = false;
	if (single_digests(c, fd, off, mem, len, o, d, sha, desc, err,
	    errlen) < 0)
		goto out;
	md5_base64(d, MD5_LEN, b64);
	hex_encode(d, MD5_LEN, hex);

	s3conn_req_init(&q, "PUT", fk, key);
	s3conn_req_header(&q, "Content-MD5", b64);
	s3conn_req_header(&q, "Content-Type", o && o->content_type ?
	    o->content_type : "application/octet-stream");
	if (o && o->sha256)
		s3conn_req_header(&q, S3CONN_META_SHA256, o->sha256);
	if (mem) {
		q.body = mem;
		q.body_len = (size_t)len;
	} else {
		q.body_fd = fd;
		q.body_off = off;
		q.body_len = (size_t)len;
		if (c->o.sign_payload)
			q.payload_hash = sha;
	}
	if (c->rate) {
		q.observe = s3conn_observe_rate;
		q.observe_arg = c->rate;
	}
	if (s3conn_do(c, &q, &resp, err, errlen) != 0)
		goto out;
	digest_etag_copy(etag, sizeof(etag), http_resp_header(&resp, "etag"));
	http_resp_release(&resp);
	if (etag_mismatch(c, etag, hex, desc, err, errlen) < 0) {
		*damaged = true;
		goto out;
	}
	if (info) {
		info->size = len;
		str_copy(info->etag, etag, sizeof(info->etag));
		str_copy(info->md5, hex, sizeof(info->md5));
	}
	rc = 0;
out:
	free(desc);
	return rc;
}

struct mp_part {
	unsigned char md5[MD5_LEN];
	char etag[DIGEST_ETAG_MAX];
};

/* One multipart upload shared by its worker threads. */
struct mp {
	struct s3conn *c;
	const char *key, *fk, *desc;
	char *upload_id;
	int fd;
	off_t off;
	uint64_t len, psize;
	unsigned nparts;
	struct mp_part *parts;
	pthread_mutex_t mu;	/* guards next, failed, err */
	unsigned next;		/* next part index to take */
	bool failed;
	char err[512];
};

static int mp_upload_part(struct mp *m, unsigned i, char *err, size_t errlen)
{
	struct s3conn *c = m->c;
	uint64_t poff = (uint64_t)i * m->psize;
	uint64_t plen = m->len - poff < m->psize ? m->len - poff : m->psize;
	char b64[32], hex[2 * MD5_LEN + 1], pn[16], sha[2 * SHA256_LEN + 1];
	char what[64];
	struct http_resp resp;
	struct s3conn_req q;

	snprintf(what, sizeof(what), "part %u of %u of", i + 1, m->nparts);
	if (digest_fd_range(m->fd, m->off + (off_t)poff, plen,
	    m->parts[i].md5, c->o.sign_payload ? sha : NULL, m->desc, err,
	    errlen) < 0)
		return -1;
	md5_base64(m->parts[i].md5, MD5_LEN, b64);
	hex_encode(m->parts[i].md5, MD5_LEN, hex);
	snprintf(pn, sizeof(pn), "%u", i + 1);

	s3conn_req_init(&q, "PUT", m->fk, m->key);
	s3conn_req_param(&q, "partNumber", pn);
	s3conn_req_param(&q, "uploadId", m->upload_id);
	s3conn_req_header(&q, "Content-MD5", b64);
	q.body_fd = m->fd;
	q.body_off = m->off + (off_t)poff;
	q.body_len = (size_t)plen;
	if (c->o.sign_payload)
		q.payload_hash = sha;
	if (c->rate) {
		q.observe = s3conn_observe_rate;
		q.observe_arg = c->rate;
	}
	if (s3conn_do(c, &q, &resp, err, errlen) != 0) {
		size_t n = strlen(err);
		if (n < errlen)
			snprintf(err + n, errlen - n, " (%s)", what);
		return -1;
	}
	digest_etag_copy(m->parts[i].etag, sizeof(m->parts[i].etag),
	    http_resp_header(&resp, "etag"));
	http_resp_release(&resp);
	if (m->parts[i].etag[0] == '\0') {
		err_set(err, errlen, "%s: no ETag for %s", m->desc, what);
		return -1;
	}
	return etag_mismatch(c, m->parts[i].etag, hex, m->desc, err, errlen);
}

static void *mp_worker(void *arg)
{
	struct mp *m = arg;
	char err[512];

	for (;;) {
		pthread_mutex_lock(&m->mu);
		if (m->failed || m->next >= m->nparts) {
			pthread_mutex_unlock(&m->mu);
			return NULL;
		}
		unsigned i = m->next++;
		pthread_mutex_unlock(&m->mu);
		if (mp_upload_part(m, i, err, sizeof(err)) < 0) {
			pthread_mutex_lock(&m->mu);
			if (!m->failed) {
				m->failed = true;
				str_copy(m->err, err, sizeof(m->err));
			}
			pthread_mutex_unlock(&m->mu);
			return NULL;
		}
	}
}

/* Best effort: a failed abort leaves parts a lifecycle rule can clear. */
static void mp_abort(struct mp *m)
{
	struct s3conn_req q;
	struct http_resp resp;
	char err[256];

	s3conn_req_init(&q, "DELETE", m->fk, m->key);
	s3conn_req_param(&q, "uploadId", m->upload_id);
	if (s3conn_do(m->c, &q, &resp, err, sizeof(err)) == 0)
		http_resp_release(&resp);
}

/* CreateMultipartUpload: m->upload_id, or -1 with err. */
static int mp_start(struct mp *m, const struct s3_put_opts *o, char *err,
    size_t errlen)
{
	char psz[32], perr[160];
	struct http_resp resp;
	struct s3conn_req q;

	snprintf(psz, sizeof(psz), "%" PRIu64, m->psize);
	s3conn_req_init(&q, "POST", m->fk, m->key);
	s3conn_req_param(&q, "uploads", "");
	s3conn_req_header(&q, "Content-Type", o && o->content_type ?
	    o->content_type : "application/octet-stream");
	s3conn_req_header(&q, S3CONN_META_PART_SIZE, psz);
	if (o && o->sha256)
		s3conn_req_header(&q, S3CONN_META_SHA256, o->sha256);
	if (s3conn_do(m->c, &q, &resp, err, errlen) != 0)
		return -1;
	m->upload_id = s3xml_upload_id(resp.body, resp.body_len, perr,
	    sizeof(perr));
	http_resp_release(&resp);
	if (m->upload_id == NULL) {
		err_set(err, errlen, "%s: cannot start a multipart upload: %s",
		    m->desc, perr);
		return -1;
	}
	return 0;
}

/* CompleteMultipartUpload: the ETag the store answered into etag. */
static int mp_complete(struct mp *m, char etag[DIGEST_ETAG_MAX], char *err,
    size_t errlen)
{
	const char **etags = xcalloc(m->nparts, sizeof(*etags));
	struct strbuf body = { 0 };
	struct http_resp resp;
	struct s3conn_req q;
	int rc;

	for (unsigned i = 0; i < m->nparts; i++)
		etags[i] = m->parts[i].etag;
	s3xml_complete_body(&body, etags, m->nparts);
	free(etags);
	s3conn_req_init(&q, "POST", m->fk, m->key);
	s3conn_req_param(&q, "uploadId", m->upload_id);
	s3conn_req_header(&q, "Content-Type", "application/xml");
	q.body = body.p;
	q.body_len = body.len;
	q.error_in_200 = true;
	rc = s3conn_do(m->c, &q, &resp, err, errlen);
	strbuf_release(&body);
	if (rc != 0)
		return -1;
	s3xml_complete_etag(resp.body, resp.body_len, etag);
	http_resp_release(&resp);
	return 0;
}

int s3put_multipart(struct s3conn *c, const char *key, const char *fk,
    int fd, off_t off, uint64_t len, const struct s3_put_opts *o,
    struct s3_put_info *info, char *err, size_t errlen)
{
	struct mp m = { .c = c, .key = key, .fk = fk, .fd = fd, .off = off,
	    .len = len };
	char *desc = s3backend_describe(c->url, key);
	char etag[DIGEST_ETAG_MAX], want[DIGEST_ETAG_MAX];
	int rc = -1;

	m.desc = desc;
	m.psize = s3put_part_size(len, c->o.part_size, &m.nparts);
	pthread_mutex_init(&m.mu, NULL);
	if (mp_start(&m, o, err, errlen) < 0)
		goto out;

	m.parts = xcalloc(m.nparts, sizeof(*m.parts));
	s3conn_parallel(mp_worker, &m, c->o.parallel, m.nparts);
	if (m.failed) {
		err_set(err, errlen, "%s", m.err);
		mp_abort(&m);
		goto out;
	}
	if (mp_complete(&m, etag, err, errlen) < 0) {
		mp_abort(&m);
		goto out;
	}
	unsigned char (*md5s)[MD5_LEN] = xcalloc(m.nparts, MD5_LEN);
	for (unsigned i = 0; i < m.nparts; i++)
		memcpy(md5s[i], m.parts[i].md5, MD5_LEN);
	digest_multipart_etag((const unsigned char (*)[MD5_LEN])md5s,
	    m.nparts, want);
	free(md5s);
	/* Servers that answer a plain MD5 of the whole object (s3rver) have
	 * no composite to compare; every part was already checked. */
	if (digest_etag_parts(etag) &&
	    etag_mismatch(c, etag, want, desc, err, errlen) < 0)
		goto out;
	if (info) {
		info->size = len;
		str_copy(info->etag, etag, sizeof(info->etag));
		info->parts = m.nparts;
		info->part_size = m.psize;
	}
	rc = 0;
out:
	free(m.parts);
	free(m.upload_id);
	pthread_mutex_destroy(&m.mu);
	free(desc);
	return rc;
}
