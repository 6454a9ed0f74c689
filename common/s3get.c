/*
 * s3get.c - see s3get.h.
 *
 * A download is checked against everything the store tells us about the
 * object: the announced size, a single-part ETag (the MD5 of the bytes),
 * a multipart ETag part by part when we recorded the part size at upload,
 * and the recorded SHA-256.  Hashes are computed as the bytes stream, and
 * reset when a retry starts over.  Objects above multipart_threshold are
 * fetched as `parallel` ranges, each hashed on its own.
 */
#include "s3get.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "md5.h"
#include "sha256.h"
#include "util.h"

/* HTTP date "Wed, 12 Oct 2009 17:50:00 GMT". */
static int parse_http_date(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	if (s == NULL || strptime(s, "%a, %d %b %Y %H:%M:%S", &tm) == NULL)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static void stat_from_headers(const struct http_resp *r, struct s3_stat *st)
{
	uint64_t v;
	memset(st, 0, sizeof(*st));
	if (str_to_u64(http_resp_header(r, "content-length"), &v) == 0)
		st->size = v;
	digest_etag_copy(st->etag, sizeof(st->etag),
	    http_resp_header(r, "etag"));
	if (parse_http_date(http_resp_header(r, "last-modified"),
	    &st->mtime) < 0)
		st->mtime = 0;
	if (str_to_u64(http_resp_header(r, S3CONN_META_PART_SIZE), &v) == 0)
		st->part_size = v;
	const char *sha = http_resp_header(r, S3CONN_META_SHA256);
	if (sha && strlen(sha) == 64)
		str_copy(st->sha256, sha, sizeof(st->sha256));
}

int s3get_head(struct s3conn *c, const char *key, const char *fk,
    struct s3_stat *st, char *err, size_t errlen)
{
	struct http_resp resp;
	struct s3conn_req q;
	int rc;

	s3conn_req_init(&q, "HEAD", fk, key);
	rc = s3conn_do(c, &q, &resp, err, errlen);
	if (rc != 0)
		return rc;
	stat_from_headers(&resp, st);
	http_resp_release(&resp);
	return 0;
}

static int damaged_etag(const char *desc, const char *hex, const char *etag,
    char *err, size_t errlen)
{
	err_set(err, errlen, "%s: downloaded bytes have MD5 %s but the object's "
	    "ETag is %s; the object or the transfer is damaged", desc, hex,
	    etag);
	return -1;
}

static int damaged_parts(const char *desc, const char *want,
    const char *etag, char *err, size_t errlen)
{
	err_set(err, errlen, "%s: downloaded parts give ETag %s but the object's "
	    "is %s; the object or the transfer is damaged", desc, want, etag);
	return -1;
}

/* The caller's expected MD5 and SHA-256 (want_sha may be the recorded
 * one) against what the bytes gave. */
static int check_sums(const char *desc, const char *want_md5,
    const char *md5hex, const char *want_sha, const char *shahex, char *err,
    size_t errlen)
{
	if (want_md5 && strcasecmp(want_md5, md5hex) != 0) {
		err_set(err, errlen, "%s: MD5 is %s, expected %s; the object is "
		    "damaged", desc, md5hex, want_md5);
		return -1;
	}
	if (want_sha && strcasecmp(want_sha, shahex) != 0) {
		err_set(err, errlen, "%s: SHA-256 is %s, expected %s; the "
		    "object is damaged", desc, shahex, want_sha);
		return -1;
	}
	return 0;
}

static int wrong_size(const char *desc, uint64_t got, uint64_t want,
    char *err, size_t errlen)
{
	err_set(err, errlen, "%s: size is %" PRIu64 " bytes, expected %" PRIu64
	    "; the object is damaged or not the one recorded", desc, got, want);
	return -1;
}

/* ------------------------------------------------------------------ */
/* one stream                                                          */

struct dl {
	struct s3conn *c;
	struct http_resp *resp;
	bool started;
	bool want_sha;		/* also SHA-256 the stream */
	uint64_t got;
	struct md5_ctx md5;	/* whole stream */
	struct sha256_ctx sha;
	/* per-part MD5s against a multipart ETag */
	uint64_t psize;
	unsigned nparts;
	unsigned char (*pmd5)[MD5_LEN];
	struct md5_ctx part;
	uint64_t pfill;
	unsigned pidx;
	struct s3_stat st;
	int fd;
};

static void dl_reset(void *arg)
{
	struct dl *d = arg;
	d->started = false;
	d->got = 0;
	d->pfill = 0;
	d->pidx = 0;
	md5_init(&d->md5);
	md5_init(&d->part);
	if (d->want_sha)
		sha256_init(&d->sha);
	if (d->fd >= 0 && ftruncate(d->fd, 0) < 0) {
		/* the next write will report the problem */
	}
}

/* The answer's headers arrived: what the stream will be checked with. */
static void dl_start(struct dl *d)
{
	d->started = true;
	stat_from_headers(d->resp, &d->st);
	if (d->st.sha256[0])
		d->want_sha = true;
	sha256_init(&d->sha);
	unsigned n = digest_etag_parts(d->st.etag);
	free(d->pmd5);
	d->pmd5 = NULL;
	d->psize = 0;
	if (n && d->st.part_size) {
		uint64_t sz = d->st.size;
		unsigned want = sz ? (unsigned)((sz + d->st.part_size - 1) /
		    d->st.part_size) : 1;
		if (want == n) {
			d->psize = d->st.part_size;
			d->nparts = n;
			d->pmd5 = xcalloc(n, MD5_LEN);
		}
	}
}

static int dl_observe(void *arg, int dir, const void *data, size_t len)
{
	struct dl *d = arg;
	const unsigned char *p = data;

	(void)dir;
	if (!d->started)
		dl_start(d);
	ratelimit_take(d->c->rate, len);
	md5_update(&d->md5, p, len);
	if (d->want_sha)
		sha256_update(&d->sha, p, len);
	d->got += len;
	while (d->psize && len > 0) {
		uint64_t room = d->psize - d->pfill;
		size_t take = len < room ? len : (size_t)room;
		md5_update(&d->part, p, take);
		d->pfill += take;
		p += take;
		len -= take;
		if (d->pfill == d->psize) {
			if (d->pidx < d->nparts)
				md5_final(&d->part, d->pmd5[d->pidx]);
			d->pidx++;
			md5_init(&d->part);
			d->pfill = 0;
		}
	}
	return 0;
}

/* The stream's parts against the multipart ETag. */
static int dl_verify_parts(struct dl *d, const char *desc, char *err,
    size_t errlen)
{
	char want[DIGEST_ETAG_MAX];

	if (d->pfill > 0 && d->pidx < d->nparts) {
		md5_final(&d->part, d->pmd5[d->pidx]);
		d->pidx++;
	}
	if (d->pidx != d->nparts) {
		err_set(err, errlen, "%s: %u parts downloaded, the ETag says %u",
		    desc, d->pidx, d->nparts);
		return -1;
	}
	digest_multipart_etag((const unsigned char (*)[MD5_LEN])d->pmd5,
	    d->nparts, want);
	if (strcasecmp(want, d->st.etag) != 0)
		return damaged_parts(desc, want, d->st.etag, err, errlen);
	return 0;
}

/* Verify a finished single-stream download; 0 or -1 with err. */
static int dl_verify(struct dl *d, const struct s3_get_opts *o,
    const char *desc, char *err, size_t errlen)
{
	unsigned char m[MD5_LEN];
	char hex[2 * MD5_LEN + 1], shahex[2 * SHA256_LEN + 1] = "";
	bool etag_check = !d->c->o.no_etag_check;

	md5_final(&d->md5, m);
	hex_encode(m, MD5_LEN, hex);
	if (d->want_sha) {
		unsigned char h[SHA256_LEN];
		sha256_final(&d->sha, h);
		hex_encode(h, SHA256_LEN, shahex);
	}
	if (d->got != d->st.size) {
		err_set(err, errlen, "%s: got %" PRIu64 " bytes, the store "
		    "announced %" PRIu64, desc, d->got, d->st.size);
		return -1;
	}
	if (o && o->size != S3_SIZE_ANY && d->got != o->size)
		return wrong_size(desc, d->got, o->size, err, errlen);
	if (etag_check && digest_is_md5_hex(d->st.etag) &&
	    strcasecmp(d->st.etag, hex) != 0)
		return damaged_etag(desc, hex, d->st.etag, err, errlen);
	if (etag_check && d->psize && dl_verify_parts(d, desc, err, errlen) < 0)
		return -1;
	return check_sums(desc, o ? o->md5 : NULL, hex, o && o->sha256 ?
	    o->sha256 : d->st.sha256[0] ? d->st.sha256 : NULL, shahex, err,
	    errlen);
}

static int get_stream(struct s3conn *c, const char *key, const char *fk,
    int fd, const struct s3_get_opts *o, struct s3_stat *st, char *err,
    size_t errlen)
{
	struct dl d = { .c = c, .fd = fd };
	struct http_resp resp;
	struct s3conn_req q;
	char *desc = s3backend_describe(c->url, key);
	int rc;

	d.resp = &resp;
	d.want_sha = o && o->sha256;
	dl_reset(&d);
	s3conn_req_init(&q, "GET", fk, key);
	q.out_fd = fd;
	q.observe = dl_observe;
	q.observe_arg = &d;
	q.restart = dl_reset;
	q.restart_arg = &d;
	rc = s3conn_do(c, &q, &resp, err, errlen);
	if (rc != 0)
		goto out;
	if (!d.started) {	/* an empty object: no body callback */
		stat_from_headers(&resp, &d.st);
		if (d.st.sha256[0])
			d.want_sha = true;
		sha256_init(&d.sha);
	}
	http_resp_release(&resp);
	rc = dl_verify(&d, o, desc, err, errlen);
	if (rc == 0 && st)
		*st = d.st;
out:
	md5_release(&d.md5);
	md5_release(&d.part);
	sha256_release(&d.sha);
	free(d.pmd5);
	free(desc);
	return rc;
}

/* ------------------------------------------------------------------ */
/* parallel ranges                                                     */

/*
 * When the object is a multipart upload whose part size we recorded, the
 * ranges are its parts and each part's MD5 is checked against the
 * composite ETag; otherwise the ranges are part_size long and the file is
 * hashed once it is complete.
 */
struct rg {
	struct s3conn *c;
	const char *key, *fk, *desc;
	int fd;
	const struct s3_stat *st;
	uint64_t psize;
	unsigned nparts;
	unsigned char (*pmd5)[MD5_LEN];
	pthread_mutex_t mu;	/* guards next, failed, err */
	unsigned next;
	bool failed;
	char err[512];
};

struct rg_one {
	struct s3conn *c;
	struct md5_ctx md5;
	uint64_t got;
};

static int rg_observe(void *arg, int dir, const void *data, size_t len)
{
	struct rg_one *r = arg;
	(void)dir;
	ratelimit_take(r->c->rate, len);
	md5_update(&r->md5, data, len);
	r->got += len;
	return 0;
}

static void rg_reset(void *arg)
{
	struct rg_one *r = arg;
	md5_init(&r->md5);
	r->got = 0;
}

static int rg_part(struct rg *g, unsigned i, char *err, size_t errlen)
{
	uint64_t off = (uint64_t)i * g->psize;
	uint64_t len = g->st->size - off < g->psize ? g->st->size - off :
	    g->psize;
	char range[64], ifmatch[96];
	struct rg_one r = { .c = g->c };
	struct http_resp resp;
	struct s3conn_req q;

	rg_reset(&r);
	snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, off,
	    off + len - 1);
	/* Every range must come from the object the HEAD described. */
	snprintf(ifmatch, sizeof(ifmatch), "\"%s\"", g->st->etag);
	s3conn_req_init(&q, "GET", g->fk, g->key);
	s3conn_req_header(&q, "Range", range);
	s3conn_req_header(&q, "If-Match", ifmatch);
	q.out_fd = g->fd;
	q.out_off = (off_t)off;
	q.observe = rg_observe;
	q.observe_arg = &r;
	q.restart = rg_reset;
	q.restart_arg = &r;
	if (s3conn_do(g->c, &q, &resp, err, errlen) != 0) {
		md5_release(&r.md5);
		return -1;
	}
	http_resp_release(&resp);
	if (r.got != len) {
		err_set(err, errlen, "%s: range %u: got %" PRIu64 " bytes, "
		    "expected %" PRIu64, g->desc, i + 1, r.got, len);
		md5_release(&r.md5);
		return -1;
	}
	md5_final(&r.md5, g->pmd5[i]);
	return 0;
}

static void *rg_worker(void *arg)
{
	struct rg *g = arg;
	char err[512];

	for (;;) {
		pthread_mutex_lock(&g->mu);
		if (g->failed || g->next >= g->nparts) {
			pthread_mutex_unlock(&g->mu);
			return NULL;
		}
		unsigned i = g->next++;
		pthread_mutex_unlock(&g->mu);
		if (rg_part(g, i, err, sizeof(err)) < 0) {
			pthread_mutex_lock(&g->mu);
			if (!g->failed) {
				g->failed = true;
				str_copy(g->err, err, sizeof(g->err));
			}
			pthread_mutex_unlock(&g->mu);
			return NULL;
		}
	}
}

/*
 * Re-read a downloaded file for the checksums the ranges could not check:
 * the caller's, and (etag_md5) a single-part ETag and the recorded SHA-256.
 */
static int verify_file(const struct s3conn *c, int fd,
    const struct s3_stat *st, bool etag_md5, const struct s3_get_opts *o,
    const char *desc, char *err, size_t errlen)
{
	unsigned char m[MD5_LEN];
	char hex[2 * MD5_LEN + 1], sha[2 * SHA256_LEN + 1];
	const char *want_md5 = o && o->md5 ? o->md5 : NULL;
	const char *want_sha = o && o->sha256 ? o->sha256 : NULL;
	const char *want_etag = NULL;

	if (etag_md5 && !c->o.no_etag_check && digest_is_md5_hex(st->etag))
		want_etag = st->etag;
	if (etag_md5 && want_sha == NULL && st->sha256[0])
		want_sha = st->sha256;
	if (!want_md5 && !want_sha && !want_etag)
		return 0;
	if (digest_fd_range(fd, 0, st->size, m, want_sha ? sha : NULL, desc,
	    err, errlen) < 0)
		return -1;
	hex_encode(m, MD5_LEN, hex);
	if (want_etag && strcasecmp(want_etag, hex) != 0)
		return damaged_etag(desc, hex, want_etag, err, errlen);
	return check_sums(desc, want_md5, hex, want_sha, sha, err, errlen);
}

static int get_ranged(struct s3conn *c, const char *key, const char *fk,
    int fd, const struct s3_stat *st, bool aligned,
    const struct s3_get_opts *o, char *err, size_t errlen)
{
	struct rg g = { .c = c, .key = key, .fk = fk, .fd = fd, .st = st };
	char *desc = s3backend_describe(c->url, key);
	char want[DIGEST_ETAG_MAX];
	int rc = -1;

	g.desc = desc;
	if (aligned) {
		g.psize = st->part_size;
		g.nparts = digest_etag_parts(st->etag);
	} else {
		g.psize = c->o.part_size;
		g.nparts = (unsigned)((st->size + g.psize - 1) / g.psize);
	}
	g.pmd5 = xcalloc(g.nparts, MD5_LEN);
	pthread_mutex_init(&g.mu, NULL);
	if (ftruncate(fd, (off_t)st->size) < 0) {
		err_set(err, errlen, "%s: cannot size the download file: %s",
		    desc, strerror(errno));
		goto out;
	}
	s3conn_parallel(rg_worker, &g, c->o.parallel, g.nparts);
	if (g.failed) {
		err_set(err, errlen, "%s", g.err);
		goto out;
	}
	if (aligned) {
		digest_multipart_etag((const unsigned char (*)[MD5_LEN])g.pmd5,
		    g.nparts, want);
		if (!c->o.no_etag_check && strcasecmp(want, st->etag) != 0) {
			damaged_parts(desc, want, st->etag, err, errlen);
			goto out;
		}
	}
	rc = verify_file(c, fd, st, !aligned, o, desc, err, errlen);
out:
	pthread_mutex_destroy(&g.mu);
	free(g.pmd5);
	free(desc);
	return rc;
}

int s3get_file(struct s3conn *c, const char *key, const char *fk, int fd,
    const struct s3_get_opts *o, struct s3_stat *st, char *err,
    size_t errlen)
{
	/* Only big objects pay for a HEAD first: it tells whether the parts
	 * can be fetched in parallel and still be verified one by one. */
	if (o && o->size != S3_SIZE_ANY &&
	    o->size >= c->o.multipart_threshold && c->o.parallel > 1) {
		struct s3_stat hs;
		int rc = s3get_head(c, key, fk, &hs, err, errlen);
		if (rc != 0)
			return rc;
		unsigned n = digest_etag_parts(hs.etag);
		if (hs.size != o->size) {
			char *desc = s3backend_describe(c->url, key);
			wrong_size(desc, hs.size, o->size, err, errlen);
			free(desc);
			return -1;
		}
		bool aligned = n > 1 && hs.part_size &&
		    (hs.size + hs.part_size - 1) / hs.part_size == n;
		if (aligned || n == 0) {
			rc = get_ranged(c, key, fk, fd, &hs, aligned, o, err,
			    errlen);
			if (rc == 0 && st)
				*st = hs;
			return rc;
		}
	}
	return get_stream(c, key, fk, fd, o, st, err, errlen);
}

/* ------------------------------------------------------------------ */
/* a range, a small object                                             */

int s3get_range(struct s3conn *c, const char *key, const char *fk,
    uint64_t off, uint64_t len, int fd, off_t fd_off, char *err,
    size_t errlen)
{
	struct rg_one r = { .c = c };
	struct http_resp resp;
	char range[64];
	struct s3conn_req q;
	int rc;

	if (len == 0)
		return 0;
	rg_reset(&r);
	snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, off,
	    off + len - 1);
	s3conn_req_init(&q, "GET", fk, key);
	s3conn_req_header(&q, "Range", range);
	q.out_fd = fd;
	q.out_off = fd_off;
	q.observe = rg_observe;
	q.observe_arg = &r;
	q.restart = rg_reset;
	q.restart_arg = &r;
	rc = s3conn_do(c, &q, &resp, err, errlen);
	if (rc != 0)
		return rc;
	long status = resp.status;
	http_resp_release(&resp);
	/* A 200 is the whole object: the server ignored the range. */
	if (status != 206 || r.got != len) {
		char *desc = s3backend_describe(c->url, key);
		err_set(err, errlen, "%s: asked for %" PRIu64 " bytes at %"
		    PRIu64 ", got %" PRIu64 " (HTTP %ld); is the object "
		    "shorter?", desc, len, off, r.got, status);
		free(desc);
		return -1;
	}
	return 0;
}

int s3get_mem(struct s3conn *c, const char *key, const char *fk, size_t max,
    char **data, size_t *len, char *err, size_t errlen)
{
	struct http_resp resp;
	struct s3conn_req q;
	char etag[DIGEST_ETAG_MAX], hex[2 * MD5_LEN + 1];
	int rc;

	s3conn_req_init(&q, "GET", fk, key);
	q.max_body = max + 1;
	q.transfer = true;
	rc = s3conn_do(c, &q, &resp, err, errlen);
	if (rc != 0)
		return rc;
	digest_etag_copy(etag, sizeof(etag), http_resp_header(&resp, "etag"));
	md5_hex(resp.body ? resp.body : "", resp.body_len, hex);
	if (!c->o.no_etag_check && digest_is_md5_hex(etag) &&
	    strcasecmp(etag, hex) != 0) {
		char *desc = s3backend_describe(c->url, key);
		damaged_etag(desc, hex, etag, err, errlen);
		free(desc);
		http_resp_release(&resp);
		return -1;
	}
	*len = resp.body_len;
	*data = resp.body ? resp.body : xstrdup("");
	resp.body = NULL;
	http_resp_release(&resp);
	return 0;
}
