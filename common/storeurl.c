/*
 * storeurl.c - see storeurl.h.
 */
#include "storeurl.h"

#include <stdbool.h>
#include <string.h>

#include "strbuf.h"
#include "util.h"

#define HINT "; write s3://bucket/prefix or file:///dir"

static bool bucket_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';
}

/* Characters no storage URL of ours needs and a shell, a log line or a
 * path could misread. */
static const char *bad_char(const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch <= ' ' || ch == 0x7f || ch == '"' || ch == '\'' ||
		    ch == '\\' || ch == '`')
			return s;
	}
	return NULL;
}

/* Append the path's segments to b, each after a '/', leaving out empty
 * and "." ones; -1 (why set) on a ".." one. */
static int add_segments(struct strbuf *b, const char *path, size_t *nseg,
    const char **why)
{
	const char *p = path;

	*nseg = 0;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			*why = "'..' is not allowed in the path";
			return -1;
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			strbuf_add(b, "/");
			strbuf_addn(b, p, n);
			(*nseg)++;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;
}

int storeurl_normalize(const char *url, char out[STOREURL_MAX], char *err,
    size_t errlen)
{
	struct strbuf b = { 0 };
	const char *why = NULL, *bad;
	size_t nseg = 0;
	int rc = -1;

	out[0] = '\0';
	if (url == NULL || *url == '\0') {
		err_set(err, errlen, "no storage URL" HINT);
		return -1;
	}
	if ((bad = bad_char(url)) != NULL) {
		err_set(err, errlen, "storage URL '%.128s': character %d at "
		    "offset %zu is not allowed (blanks, control characters, "
		    "quotes, backslash)" HINT, url, (unsigned char)*bad,
		    (size_t)(bad - url));
		return -1;
	}
	if (str_starts_with(url, "s3://")) {
		const char *bk = url + 5, *slash = strchr(bk, '/');
		size_t n = slash ? (size_t)(slash - bk) : strlen(bk);

		if (n == 0)
			why = "the bucket is empty";
		else if (n > 63)
			why = "the bucket name is longer than 63 characters";
		for (size_t i = 0; why == NULL && i < n; i++)
			if (!bucket_char(bk[i]))
				why = "the bucket name may hold only a-z A-Z 0-9 . - _";
		if (why == NULL && (memmem(bk, n, "..", 2) != NULL ||
		    bk[0] == '.' || bk[n - 1] == '.'))
			why = "the bucket name may not start or end with '.' or "
			    "hold '..'";
		if (why == NULL) {
			strbuf_add(&b, "s3://");
			strbuf_addn(&b, bk, n);
			if (slash && add_segments(&b, slash + 1, &nseg, &why) < 0)
				goto out;
		}
	} else if (str_starts_with(url, "file://")) {
		const char *path = url + 7;

		if (*path != '/') {
			why = "a file:// URL takes an absolute path (three slashes: "
			    "file:///dir); a relative path or a host is not "
			    "allowed";
		} else {
			strbuf_add(&b, "file://");
			if (add_segments(&b, path + 1, &nseg, &why) < 0)
				goto out;
			if (nseg == 0)
				why = "the root directory is not a storage directory";
		}
	} else {
		const char *colon = strstr(url, "://");

		why = colon ? "the scheme is neither s3:// nor file://" :
		    "it has no scheme";
	}
	if (why == NULL && b.len >= STOREURL_MAX)
		why = "it is too long";
	if (why == NULL) {
		memcpy(out, b.p, b.len + 1);
		rc = 0;
	}
out:
	if (rc < 0)
		err_set(err, errlen, "storage URL '%.128s': %s" HINT, url, why);
	strbuf_release(&b);
	return rc;
}
