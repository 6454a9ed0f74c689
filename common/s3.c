/*
 * s3.c - see s3.h: the object-store interface.
 *
 * The store is a backend chosen by the URL's scheme from schemes[] below
 * (s3backend.h is the contract): s3http.c for s3://, s3file.c for
 * file://.  This file does what is the same for both - argument defaults,
 * the temporary file, fsync and rename of a download, walking the pages of
 * a listing, the rate limiter both share - and passes everything else
 * through the backend's function pointers, so no call here asks which
 * backend it has.
 *
 * Where the rest lives:
 *   s3http.c   the S3 backend: listing, deletion, the vtable
 *   s3conn.c   its endpoint, signing, connection pool, retries
 *   s3put.c    its uploads, single and multipart
 *   s3get.c    its verified downloads, streamed or in parallel ranges
 *   s3xml.c    S3's XML documents, over the reader in xml.c
 *   creds.c    credentials and region
 *   digest.c   ETags and checksums of file ranges
 *   ratelimit.c  the shared token bucket
 *   s3file.c   the file:// backend
 */
#include "s3.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "ratelimit.h"
#include "s3backend.h"
#include "s3conn.h"
#include "s3file.h"
#include "s3http.h"
#include "s3put.h"
#include "s3xml.h"
#include "util.h"

struct s3 {
	const struct s3backend *be;
	void *impl;		/* the backend's state */
	bool local;
	char *url;		/* as opened, without a trailing slash */
	struct ratelimit *rate;	/* NULL: no limit */
};

/* Every kind of store, by URL scheme. */
static const struct {
	const char *scheme;
	const struct s3backend *be;
	bool local;
} schemes[] = {
	{ "s3://", &s3http_backend, false },
	{ "file://", &s3file_backend, true },
};

void s3_opts_init(struct s3_opts *o)
{
	memset(o, 0, sizeof(*o));
}

struct s3 *s3_open(const char *url, const struct s3_opts *o, char *err,
    size_t errlen)
{
	struct s3_opts def;
	struct s3 *s;
	size_t i;

	if (o == NULL) {
		s3_opts_init(&def);
		o = &def;
	}
	if (url == NULL) {
		err_set(err, errlen, "no storage URL; write s3://bucket/prefix "
		    "or file:///dir");
		return NULL;
	}
	for (i = 0; i < ARRAY_SIZE(schemes); i++)
		if (str_starts_with(url, schemes[i].scheme))
			break;
	if (i == ARRAY_SIZE(schemes)) {
		err_set(err, errlen, "'%s': unknown storage URL; write "
		    "s3://bucket/prefix or file:///dir", url);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->be = schemes[i].be;
	s->local = schemes[i].local;
	s->url = xstrdup(url);
	while (str_ends_with(s->url, "/") && strlen(s->url) > 8)
		s->url[strlen(s->url) - 1] = '\0';
	s->rate = ratelimit_new(o->rate_limit, time_mono_ms());
	struct s3backend_args a = { .url = s->url, .given = url,
	    .rest = url + strlen(schemes[i].scheme), .o = o, .rate = s->rate };
	s->impl = s->be->open(&a, err, errlen);
	if (s->impl == NULL) {
		s3_close(s);
		return NULL;
	}
	return s;
}

void s3_close(struct s3 *s)
{
	if (s == NULL)
		return;
	if (s->impl)
		s->be->close(s->impl);
	ratelimit_free(s->rate);
	free(s->url);
	free(s);
}

bool s3_is_local(const struct s3 *s)
{
	return s->local;
}

char *s3_describe(const struct s3 *s, const char *key)
{
	return s3backend_describe(s->url, key);
}

int s3_head(struct s3 *s, const char *key, struct s3_stat *st, char *err,
    size_t errlen)
{
	struct s3_stat tmp;
	return s->be->head(s->impl, key, st ? st : &tmp, err, errlen);
}

bool s3_put_uses_md5(const struct s3 *s, uint64_t size)
{
	return s->be->put_uses_md5(s->impl, size);
}

static void info_clear(struct s3_put_info *info)
{
	if (info)
		memset(info, 0, sizeof(*info));
}

int s3_put_fd(struct s3 *s, const char *key, int fd, off_t off, uint64_t len,
    const struct s3_put_opts *o, struct s3_put_info *info, char *err,
    size_t errlen)
{
	info_clear(info);
	return s->be->put(s->impl, key, fd, off, NULL, len, o, info, err,
	    errlen);
}

int s3_put_file(struct s3 *s, const char *key, const char *path,
    const struct s3_put_opts *o, struct s3_put_info *info, char *err,
    size_t errlen)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0) {
		err_set(err, errlen, "cannot open '%s' to upload: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		err_set(err, errlen, "cannot upload '%s': not a regular file",
		    path);
		close(fd);
		return -1;
	}
	/* Reading ahead helps the hash pass and the send that follows. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	rc = s3_put_fd(s, key, fd, 0, (uint64_t)sb.st_size, o, info, err,
	    errlen);
	close(fd);
	return rc;
}

int s3_put_mem(struct s3 *s, const char *key, const void *data, size_t len,
    const struct s3_put_opts *o, struct s3_put_info *info, char *err,
    size_t errlen)
{
	info_clear(info);
	return s->be->put(s->impl, key, -1, 0, data ? data : "", len, o, info,
	    err, errlen);
}

int s3_tmp_beside(const char *path, char **tmp, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
	*tmp = xasprintf("%.*s" S3BACKEND_TMP_MARK "%s.XXXXXX", (int)dl, path,
	    slash ? slash + 1 : path);
	int fd = mkstemp(*tmp);
	if (fd < 0) {
		err_set(err, errlen, "cannot create a temporary file beside "
		    "'%s': %s", path, strerror(errno));
		free(*tmp);
		*tmp = NULL;
	}
	return fd;
}

void s3_fsync_dir_of(const char *path)
{
	char *d = xstrdup(path);
	char *slash = strrchr(d, '/');
	if (slash) {
		*(slash == d ? slash + 1 : slash) = '\0';
		int fd = open(d, O_RDONLY | O_DIRECTORY);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	free(d);
}

int s3_get_file(struct s3 *s, const char *key, const char *path,
    const struct s3_get_opts *o, struct s3_stat *st, char *err,
    size_t errlen)
{
	char *tmp = NULL;
	int fd, rc;

	fd = s3_tmp_beside(path, &tmp, err, errlen);
	if (fd < 0)
		return -1;
	rc = s->be->get(s->impl, key, fd, o, st, err, errlen);
	if (rc == 0 && fsync(fd) < 0) {
		err_set(err, errlen, "cannot flush '%s' to disk: %s", tmp,
		    strerror(errno));
		rc = -1;
	}
	if (close(fd) < 0 && rc == 0) {
		err_set(err, errlen, "cannot write '%s': %s", tmp,
		    strerror(errno));
		rc = -1;
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		err_set(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path,
		    strerror(errno));
		rc = -1;
	}
	if (rc == 0)
		s3_fsync_dir_of(path);
	else
		unlink(tmp);
	free(tmp);
	return rc;
}

int s3_get_range(struct s3 *s, const char *key, uint64_t off, uint64_t len,
    int fd, off_t fd_off, char *err, size_t errlen)
{
	return s->be->get_range(s->impl, key, off, len, fd, fd_off, err,
	    errlen);
}

int s3_get_mem(struct s3 *s, const char *key, size_t max, char **data,
    size_t *len, char *err, size_t errlen)
{
	*data = NULL;
	*len = 0;
	return s->be->get_mem(s->impl, key, max, data, len, err, errlen);
}

int s3_list_page(struct s3 *s, const char *prefix, const char *token,
    int max_keys, struct s3_list *out, char *err, size_t errlen)
{
	return s->be->list_page(s->impl, prefix, token, max_keys, out, err,
	    errlen);
}

void s3_list_release(struct s3_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->objs[i].key);
	free(l->objs);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

int s3_list_all(struct s3 *s, const char *prefix, int page,
    int (*fn)(void *arg, const struct s3_object *o), void *arg, char *err,
    size_t errlen)
{
	char *token = NULL;
	int rc = 0;

	do {
		struct s3_list l;
		if (s3_list_page(s, prefix, token, page, &l, err, errlen) < 0) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i < l.n && rc == 0; i++)
			rc = fn(arg, &l.objs[i]);
		free(token);
		token = l.next_token;
		l.next_token = NULL;
		s3_list_release(&l);
	} while (token && rc == 0);
	free(token);
	return rc;
}

int s3_delete(struct s3 *s, const char *const *keys, size_t n,
    size_t *deleted, char *err, size_t errlen)
{
	if (deleted)
		*deleted = 0;
	return s->be->delete(s->impl, keys, n, deleted, err, errlen);
}

char *s3_sign_debug(struct s3 *s, const char *method, const char *key,
    const struct sigv4_param *params, size_t nparams,
    const struct sigv4_header *headers, size_t nheaders,
    const char *payload_hash, time_t now)
{
	if (s->be->sign_debug == NULL)
		return NULL;
	return s->be->sign_debug(s->impl, method, key, params, nparams,
	    headers, nheaders, payload_hash, now);
}

/* ---- pieces exposed under their s3_ names (s3.h), kept in their
 * modules ---- */

uint64_t s3_part_size(uint64_t size, uint64_t want, unsigned *nparts)
{
	return s3put_part_size(size, want, nparts);
}

long s3_backoff_ms(int attempt, long base_ms, long cap_ms, uint32_t rnd)
{
	return s3conn_backoff_ms(attempt, base_ms, cap_ms, rnd);
}

int s3_parse_list(const char *xml, size_t len, struct s3_list *out,
    char *err, size_t errlen)
{
	return s3xml_parse_list(xml, len, out, err, errlen);
}

int s3_parse_error(const char *xml, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen)
{
	return s3xml_parse_error(xml, len, code, codelen, msg, msglen);
}

void s3_multipart_etag(const unsigned char (*md5s)[16], unsigned n,
    char out[80])
{
	digest_multipart_etag(md5s, n, out);
}
