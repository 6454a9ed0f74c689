/*
 * s3file.c - see s3file.h.
 */
#include "s3file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "md5.h"
#include "sha256.h"
#include "util.h"

#define IO_BUF (256u * 1024)
/* f_open_src()'s answer for a missing object. */
#define F_MISSING (-2)

struct s3file {
	const char *url;	/* s3.c's, for messages */
	char *root;		/* directory, no trailing slash */
	struct ratelimit *rate;
};

static void *f_open(const struct s3backend_args *a, char *err, size_t errlen)
{
	struct s3file *f;

	if (a->rest[0] != '/') {
		err_set(err, errlen, "'%s': a file URL needs an absolute "
		    "path: file:///dir", a->given);
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->url = a->url;
	f->rate = a->rate;
	f->root = xstrdup(a->rest);
	while (strlen(f->root) > 1 && str_ends_with(f->root, "/"))
		f->root[strlen(f->root) - 1] = '\0';
	return f;
}

static void f_close(void *b)
{
	struct s3file *f = b;
	if (f == NULL)
		return;
	free(f->root);
	free(f);
}

/* root/key, refusing keys that could leave the root or hit temp files. */
static char *fpath(const struct s3file *f, const char *key, char *err,
    size_t errlen)
{
	const char *p = key;

	if (key == NULL || *key == '\0' || *key == '/') {
		err_set(err, errlen, "%s: bad key '%s': empty or absolute",
		    f->url, key ? key : "");
		return NULL;
	}
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.') ||
		    strncmp(p, S3BACKEND_TMP_MARK,
		    strlen(S3BACKEND_TMP_MARK)) == 0) {
			err_set(err, errlen, "%s: bad key '%s': empty, '.', "
			    "'..' or reserved path segment", f->url, key);
			return NULL;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return xasprintf("%s/%s", f->root, key);
}

/* mkdir -p of path's parent directory. */
static int mkparents(const char *path, char *err, size_t errlen)
{
	char *d = xstrdup(path);
	char *slash = strrchr(d, '/');
	int rc = 0;

	if (slash == NULL || slash == d) {
		free(d);
		return 0;
	}
	*slash = '\0';
	for (char *p = d + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(d, 0755) < 0 && errno != EEXIST) {
				err_set(err, errlen, "cannot create directory "
				    "'%s': %s", d, strerror(errno));
				rc = -1;
				break;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(d);
	return rc;
}

struct hashes {
	struct md5_ctx md5;
	struct sha256_ctx sha;
	bool sha_on;
};

/* Copy len bytes from in@in_off to out@out_off, hashing, rate-limited. */
static int copy_fd(struct s3file *f, int in, off_t in_off, int out,
    off_t out_off, uint64_t len, struct hashes *h, const char *desc,
    char *err, size_t errlen)
{
	unsigned char *buf = xmalloc(IO_BUF);
	uint64_t done = 0;
	int rc = 0;

	while (done < len) {
		size_t want = len - done < IO_BUF ? (size_t)(len - done) : IO_BUF;
		ssize_t n = pread(in, buf, want, in_off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set(err, errlen, "%s: cannot read: %s", desc,
			    n < 0 ? strerror(errno) : "shorter than expected");
			rc = -1;
			break;
		}
		ratelimit_take(f->rate, (size_t)n);
		if (h) {
			md5_update(&h->md5, buf, (size_t)n);
			if (h->sha_on)
				sha256_update(&h->sha, buf, (size_t)n);
		}
		for (ssize_t w = 0; w < n;) {
			ssize_t k = pwrite(out, buf + w, (size_t)(n - w),
			    out_off + (off_t)done + w);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				err_set(err, errlen, "%s: cannot write: %s", desc,
				    strerror(errno));
				rc = -1;
				goto out;
			}
			w += k;
		}
		done += (uint64_t)n;
	}
out:
	free(buf);
	return rc;
}

static int write_mem(struct s3file *f, int out, const void *mem,
    uint64_t len, struct hashes *h, const char *desc, char *err,
    size_t errlen)
{
	ratelimit_take(f->rate, (size_t)len);
	md5_update(&h->md5, mem, (size_t)len);
	for (uint64_t w = 0; w < len;) {
		ssize_t k = write(out, (const char *)mem + w, (size_t)(len - w));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			err_set(err, errlen, "%s: cannot write: %s", desc,
			    strerror(errno));
			return -1;
		}
		w += (uint64_t)k;
	}
	return 0;
}

static int f_put(void *b, const char *key, int fd, off_t off,
    const void *mem, uint64_t len, const struct s3_put_opts *o,
    struct s3_put_info *info, char *err, size_t errlen)
{
	struct s3file *f = b;
	char *path = fpath(f, key, err, errlen), *tmp = NULL;
	char *desc = s3backend_describe(f->url, key);
	struct hashes h = { MD5_CTX_ZERO, SHA256_CTX_ZERO, false };
	int out = -1, rc = -1;

	(void)o;	/* nothing to record: no metadata beside a file */
	if (path == NULL)
		goto done;
	if (mkparents(path, err, errlen) < 0)
		goto done;
	out = s3_tmp_beside(path, &tmp, err, errlen);
	if (out < 0)
		goto done;
	md5_init(&h.md5);
	h.sha_on = false;
	if (mem) {
		if (write_mem(f, out, mem, len, &h, desc, err, errlen) < 0)
			goto done;
	} else if (copy_fd(f, fd, off, out, 0, len, &h, desc, err,
	    errlen) < 0) {
		goto done;
	}
	if (fsync(out) < 0 || close(out) < 0) {
		out = -1;
		err_set(err, errlen, "%s: cannot flush to disk: %s", desc,
		    strerror(errno));
		goto done;
	}
	out = -1;
	if (rename(tmp, path) < 0) {
		err_set(err, errlen, "%s: cannot rename into place: %s", desc,
		    strerror(errno));
		goto done;
	}
	s3_fsync_dir_of(path);
	if (info) {
		unsigned char d[MD5_LEN];
		md5_final(&h.md5, d);
		info->size = len;
		hex_encode(d, MD5_LEN, info->md5);
		str_copy(info->etag, info->md5, sizeof(info->etag));
	}
	rc = 0;
done:
	md5_release(&h.md5);
	if (out >= 0)
		close(out);
	if (rc < 0 && tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	free(desc);
	return rc;
}

/* The object's file open for reading: a descriptor, F_MISSING, or -1;
 * err set for both failures. */
static int f_open_src(struct s3file *f, const char *key, struct stat *sb,
    char *err, size_t errlen)
{
	char *path = fpath(f, key, err, errlen);
	int fd;

	if (path == NULL)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0) {
		int e = errno;
		bool missing = e == ENOENT || e == ENOTDIR;
		char *desc = s3backend_describe(f->url, key);
		if (missing)
			err_set(err, errlen, "%s: no such key", desc);
		else
			err_set(err, errlen, "%s: cannot open: %s", desc,
			    strerror(e));
		free(desc);
		return missing ? F_MISSING : -1;
	}
	if (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode)) {
		char *desc = s3backend_describe(f->url, key);
		err_set(err, errlen, "%s: not a regular file", desc);
		free(desc);
		close(fd);
		return -1;
	}
	return fd;
}

static int f_head(void *b, const char *key, struct s3_stat *st, char *err,
    size_t errlen)
{
	struct stat sb;
	int fd = f_open_src(b, key, &sb, err, errlen);
	if (fd < 0)
		return fd == F_MISSING ? S3_NOT_FOUND : -1;
	close(fd);
	memset(st, 0, sizeof(*st));
	st->size = (uint64_t)sb.st_size;
	st->mtime = (int64_t)sb.st_mtime;
	return 0;
}

/* The caller's expected MD5 and SHA-256 against what the copy gave. */
static int check_sums(struct hashes *h, const struct s3_get_opts *o,
    const char *desc, char *err, size_t errlen)
{
	unsigned char m[MD5_LEN];
	char hex[2 * MD5_LEN + 1], sha[2 * SHA256_LEN + 1];

	md5_final(&h->md5, m);
	hex_encode(m, MD5_LEN, hex);
	if (o && o->md5 && strcasecmp(o->md5, hex) != 0) {
		err_set(err, errlen, "%s: MD5 is %s, expected %s; the object is "
		    "damaged", desc, hex, o->md5);
		return -1;
	}
	if (h->sha_on) {
		unsigned char d[SHA256_LEN];
		sha256_final(&h->sha, d);
		hex_encode(d, SHA256_LEN, sha);
		if (strcasecmp(o->sha256, sha) != 0) {
			err_set(err, errlen, "%s: SHA-256 is %s, expected %s; "
			    "the object is damaged", desc, sha, o->sha256);
			return -1;
		}
	}
	return 0;
}

static int f_get(void *b, const char *key, int out,
    const struct s3_get_opts *o, struct s3_stat *st, char *err,
    size_t errlen)
{
	struct s3file *f = b;
	struct stat sb;
	struct hashes h = { MD5_CTX_ZERO, SHA256_CTX_ZERO, false };
	char *desc = s3backend_describe(f->url, key);
	int in = f_open_src(f, key, &sb, err, errlen), rc = -1;

	if (in < 0) {
		free(desc);
		return in == F_MISSING ? S3_NOT_FOUND : -1;
	}
	if (o && o->size != S3_SIZE_ANY && (uint64_t)sb.st_size != o->size) {
		err_set(err, errlen, "%s: size is %jd bytes, expected %" PRIu64
		    "; the object is damaged or not the one recorded", desc,
		    (intmax_t)sb.st_size, o->size);
		goto out;
	}
	md5_init(&h.md5);
	h.sha_on = o && o->sha256;
	if (h.sha_on)
		sha256_init(&h.sha);
	if (copy_fd(f, in, 0, out, 0, (uint64_t)sb.st_size, &h, desc, err,
	    errlen) < 0)
		goto out;
	if (check_sums(&h, o, desc, err, errlen) < 0)
		goto out;
	if (st) {
		memset(st, 0, sizeof(*st));
		st->size = (uint64_t)sb.st_size;
		st->mtime = (int64_t)sb.st_mtime;
	}
	rc = 0;
out:
	md5_release(&h.md5);
	sha256_release(&h.sha);
	close(in);
	free(desc);
	return rc;
}

static int f_get_range(void *b, const char *key, uint64_t off, uint64_t len,
    int fd, off_t fd_off, char *err, size_t errlen)
{
	struct s3file *f = b;
	struct stat sb;
	char *desc;
	int in = f_open_src(f, key, &sb, err, errlen), rc = -1;

	if (in < 0)
		return in == F_MISSING ? S3_NOT_FOUND : -1;
	desc = s3backend_describe(f->url, key);
	if (off + len > (uint64_t)sb.st_size)
		err_set(err, errlen, "%s: asked for %" PRIu64 " bytes at %"
		    PRIu64 " but the object has %jd; is it shorter?", desc,
		    len, off, (intmax_t)sb.st_size);
	else
		rc = copy_fd(f, in, (off_t)off, fd, fd_off, len, NULL, desc,
		    err, errlen);
	close(in);
	free(desc);
	return rc;
}

static int f_get_mem(void *b, const char *key, size_t max, char **data,
    size_t *len, char *err, size_t errlen)
{
	struct s3file *f = b;
	struct stat sb;
	int in = f_open_src(f, key, &sb, err, errlen);
	char *desc, *buf = NULL;
	size_t got = 0;

	if (in < 0)
		return in == F_MISSING ? S3_NOT_FOUND : -1;
	desc = s3backend_describe(f->url, key);
	if ((uint64_t)sb.st_size > max) {
		err_set(err, errlen, "%s: %jd bytes, more than the %zu allowed",
		    desc, (intmax_t)sb.st_size, max);
		goto fail;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		ssize_t n = pread(in, buf + got, (size_t)sb.st_size - got,
		    (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set(err, errlen, "%s: cannot read: %s", desc,
			    n < 0 ? strerror(errno) : "file shrank");
			goto fail;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	ratelimit_take(f->rate, got);
	*data = buf;
	*len = got;
	close(in);
	free(desc);
	return 0;
fail:
	free(buf);
	close(in);
	free(desc);
	return -1;
}

struct fwalk {
	char **keys;
	size_t n, cap;
	const char *prefix;
};

static int f_walk(struct fwalk *w, const char *dir, const char *rel,
    char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		err_set(err, errlen, "cannot list directory '%s': %s", dir,
		    strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strncmp(e->d_name, S3BACKEND_TMP_MARK,
		    strlen(S3BACKEND_TMP_MARK)) == 0)
			continue;
		char *path = xasprintf("%s/%s", dir, e->d_name);
		char *key = *rel ? xasprintf("%s/%s", rel, e->d_name) :
		    xstrdup(e->d_name);
		struct stat sb;
		int rc = 0;
		if (lstat(path, &sb) == 0) {
			if (S_ISDIR(sb.st_mode)) {
				/* Only descend where the prefix can match. */
				size_t kl = strlen(key), pl = strlen(w->prefix);
				if (strncmp(key, w->prefix, kl < pl ? kl : pl) == 0)
					rc = f_walk(w, path, key, err, errlen);
			} else if (S_ISREG(sb.st_mode) &&
			    str_starts_with(key, w->prefix)) {
				if (w->n == w->cap) {
					w->cap = w->cap ? 2 * w->cap : 256;
					w->keys = xrealloc(w->keys, w->cap *
					    sizeof(*w->keys));
				}
				w->keys[w->n++] = key;
				key = NULL;
			}
		}
		free(path);
		free(key);
		if (rc < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int f_list_page(void *b, const char *prefix, const char *token,
    int max_keys, struct s3_list *out, char *err, size_t errlen)
{
	struct s3file *f = b;
	struct fwalk w = { .prefix = prefix ? prefix : "" };
	size_t max = max_keys > 0 ? (size_t)max_keys : 1000, i = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (f_walk(&w, f->root, "", err, errlen) < 0)
		goto out;
	if (w.n > 1)
		qsort(w.keys, w.n, sizeof(*w.keys), strp_cmp);
	if (token)
		while (i < w.n && strcmp(w.keys[i], token) <= 0)
			i++;
	out->objs = xcalloc(max, sizeof(*out->objs));
	for (; i < w.n && out->n < max; i++) {
		char *path = xasprintf("%s/%s", f->root, w.keys[i]);
		struct stat sb;
		/* A file deleted since the walk is simply not listed. */
		if (stat(path, &sb) == 0) {
			struct s3_object *o = &out->objs[out->n++];
			o->key = w.keys[i];
			w.keys[i] = NULL;
			o->size = (uint64_t)sb.st_size;
			o->mtime = (int64_t)sb.st_mtime;
		}
		free(path);
	}
	if (i < w.n && out->n > 0) {
		out->truncated = true;
		out->next_token = xstrdup(out->objs[out->n - 1].key);
	}
	rc = 0;
out:
	for (size_t k = 0; k < w.n; k++)
		free(w.keys[k]);
	free(w.keys);
	return rc;
}

static int f_delete(void *b, const char *const *keys, size_t n,
    size_t *deleted, char *err, size_t errlen)
{
	struct s3file *f = b;

	for (size_t i = 0; i < n; i++) {
		char *path = fpath(f, keys[i], err, errlen);
		if (path == NULL)
			return -1;
		if (unlink(path) < 0 && errno != ENOENT) {
			char *desc = s3backend_describe(f->url, keys[i]);
			err_set(err, errlen, "%s: cannot delete: %s", desc,
			    strerror(errno));
			free(desc);
			free(path);
			return -1;
		}
		/* Empty directories left behind go too, up to the root. */
		for (char *slash = strrchr(path, '/');
		    slash && slash > path + strlen(f->root);
		    slash = strrchr(path, '/')) {
			*slash = '\0';
			if (rmdir(path) < 0)
				break;
		}
		free(path);
		if (deleted)
			(*deleted)++;
	}
	return 0;
}

static bool f_put_uses_md5(const void *b, uint64_t size)
{
	/* Nothing to send a Content-MD5 to. */
	(void)b;
	(void)size;
	return false;
}

const struct s3backend s3file_backend = {
	.open = f_open,
	.close = f_close,
	.head = f_head,
	.put_uses_md5 = f_put_uses_md5,
	.put = f_put,
	.get = f_get,
	.get_range = f_get_range,
	.get_mem = f_get_mem,
	.list_page = f_list_page,
	.delete = f_delete,
	.sign_debug = NULL,
};
