/*
 * s3.c - see s3.h.
 *
 * Layout of this file:
 *   1. small helpers: string builder, XML reader, dates, part math, backoff
 *   2. the store: URL parsing, credentials, connection pool, rate limiter
 *   3. one S3 request: build, sign, send, classify, retry  (s3_do)
 *   4. S3 operations: head, put (single, multipart), get, list, delete
 *   5. the file:// backend, same operations on a directory tree
 *   6. the public entry points, which pick 4 or 5
 *
 * Concurrency: the store's settings never change after s3_open(); the
 * connection pool and the token bucket each have a mutex held only around
 * their lists and counters.  A multipart upload or ranged download starts
 * `parallel` threads that take part numbers from a counter under the
 * transfer's own mutex; the first failure stops the others and is the one
 * reported.
 */
#include "s3.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "md5.h"
#include "sha256.h"
#include "util.h"

#define IO_BUF (256u * 1024)
#define DEFAULT_PART (32ull << 20)
#define DEFAULT_THRESHOLD (128ull << 20)
#define MAX_IDLE_CLIENTS 64
#define META_PART_SIZE "x-amz-meta-rm-part-size"
#define META_SHA256 "x-amz-meta-rm-sha256"
#define TMP_MARK ".rmtmp-"

/* ------------------------------------------------------------------ */
/* 1. helpers                                                          */

struct sb {
	char *p;
	size_t len, cap;
};

static void sb_addn(struct sb *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 256;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_add(struct sb *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

static void sb_addf(struct sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_addf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	sb_add(b, s);
	free(s);
}

/* XML text with the five predefined entities escaped. */
static void sb_add_xml(struct sb *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': sb_add(b, "&lt;"); break;
		case '>': sb_add(b, "&gt;"); break;
		case '&': sb_add(b, "&amp;"); break;
		case '"': sb_add(b, "&quot;"); break;
		case '\'': sb_add(b, "&apos;"); break;
		default: sb_addn(b, s, 1); break;
		}
	}
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * The XML reader: a small recursive parser into a tree, enough for S3's
 * answers and defensive against anything else.  It skips the prolog,
 * comments, processing instructions and DOCTYPE (no entity definitions are
 * honoured, so no expansion attacks), ignores attributes and namespaces,
 * decodes the predefined and numeric entities and CDATA, limits depth, and
 * reports the byte offset of the first thing it does not understand.
 */
struct xnode {
	char *name;
	char *text;		/* decoded character data directly inside */
	struct xnode *kids, *last, *next;
};

struct xparser {
	const char *s, *end, *start;
	char *err;
	size_t errlen;
};

#define XML_MAX_DEPTH 32

static void xml_free(struct xnode *n)
{
	while (n) {
		struct xnode *next = n->next;
		xml_free(n->kids);
		free(n->name);
		free(n->text);
		free(n);
		n = next;
	}
}

static int xfail(struct xparser *x, const char *what)
{
	seterr(x->err, x->errlen, "malformed XML at byte %zu: %s",
	    (size_t)(x->s - x->start), what);
	return -1;
}

static bool xstarts(const struct xparser *x, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(x->end - x->s) >= n && memcmp(x->s, lit, n) == 0;
}

/* Skip past the next occurrence of lit. */
static int xskip_past(struct xparser *x, const char *lit)
{
	size_t n = strlen(lit);
	for (const char *p = x->s; p + n <= x->end; p++) {
		if (memcmp(p, lit, n) == 0) {
			x->s = p + n;
			return 0;
		}
	}
	return xfail(x, "unterminated markup");
}

static void xskip_ws(struct xparser *x)
{
	while (x->s < x->end && isspace((unsigned char)*x->s))
		x->s++;
}

/* Comments, PIs and DOCTYPE between elements. */
static int xskip_misc(struct xparser *x)
{
	for (;;) {
		xskip_ws(x);
		if (xstarts(x, "<?")) {
			if (xskip_past(x, "?>") < 0)
				return -1;
		} else if (xstarts(x, "<!--")) {
			if (xskip_past(x, "-->") < 0)
				return -1;
		} else if (xstarts(x, "<!DOCTYPE")) {
			if (xskip_past(x, ">") < 0)
				return -1;
		} else {
			return 0;
		}
	}
}

static void utf8_put(struct sb *b, unsigned long c)
{
	char u[4];
	size_t n;
	if (c < 0x80) {
		u[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | (c >> 6));
		u[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | (c >> 12));
		u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (c >> 18));
		u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	sb_addn(b, u, n);
}

static int xentity(struct xparser *x, struct sb *b)
{
	static const struct {
		const char *name;
		char c;
	} ents[] = {
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ents); i++) {
		if (xstarts(x, ents[i].name)) {
			sb_addn(b, &ents[i].c, 1);
			x->s += strlen(ents[i].name);
			return 0;
		}
	}
	if (xstarts(x, "&#")) {
		const char *p = x->s + 2;
		int base = 10;
		unsigned long c = 0;
		int digits = 0;
		if (p < x->end && (*p == 'x' || *p == 'X')) {
			base = 16;
			p++;
		}
		for (; p < x->end && *p != ';'; p++, digits++) {
			int d;
			if (isdigit((unsigned char)*p))
				d = *p - '0';
			else if (base == 16 && isxdigit((unsigned char)*p))
				d = tolower((unsigned char)*p) - 'a' + 10;
			else
				return xfail(x, "bad character reference");
			c = c * (unsigned long)base + (unsigned long)d;
			if (c > 0x10ffff)
				return xfail(x, "character reference out of range");
		}
		if (p >= x->end || digits == 0 || c == 0)
			return xfail(x, "bad character reference");
		utf8_put(b, c);
		x->s = p + 1;
		return 0;
	}
	return xfail(x, "unknown entity");
}

static int xname(struct xparser *x, char **out)
{
	const char *p = x->s;
	while (p < x->end && !isspace((unsigned char)*p) && *p != '>' &&
	    *p != '/' && *p != '<' && *p != '=')
		p++;
	if (p == x->s)
		return xfail(x, "expected an element name");
	*out = xstrndup(x->s, (size_t)(p - x->s));
	x->s = p;
	return 0;
}

static int xelement(struct xparser *x, struct xnode **out, int depth)
{
	struct xnode *n;
	struct sb text = { 0 };

	if (depth > XML_MAX_DEPTH)
		return xfail(x, "elements nested too deeply");
	if (!xstarts(x, "<"))
		return xfail(x, "expected '<'");
	x->s++;
	n = xcalloc(1, sizeof(*n));
	if (xname(x, &n->name) < 0)
		goto fail;
	/* Attributes: skipped, but quoted values may hold '>' or '/'. */
	for (;;) {
		if (x->s >= x->end) {
			xfail(x, "unterminated start tag");
			goto fail;
		}
		if (*x->s == '"' || *x->s == '\'') {
			const char *q = memchr(x->s + 1, *x->s,
			    (size_t)(x->end - x->s - 1));
			if (q == NULL) {
				xfail(x, "unterminated attribute value");
				goto fail;
			}
			x->s = q + 1;
		} else if (xstarts(x, "/>")) {
			x->s += 2;
			n->text = xstrdup("");
			*out = n;
			return 0;
		} else if (*x->s == '>') {
			x->s++;
			break;
		} else if (*x->s == '<') {
			xfail(x, "'<' inside a start tag");
			goto fail;
		} else {
			x->s++;
		}
	}
	for (;;) {
		if (x->s >= x->end) {
			xfail(x, "document ends inside an element");
			goto fail;
		}
		if (xstarts(x, "</")) {
			x->s += 2;
			size_t nl = strlen(n->name);
			if ((size_t)(x->end - x->s) < nl ||
			    memcmp(x->s, n->name, nl) != 0) {
				xfail(x, "end tag does not match start tag");
				goto fail;
			}
			x->s += nl;
			xskip_ws(x);
			if (!xstarts(x, ">")) {
				xfail(x, "end tag does not match start tag");
				goto fail;
			}
			x->s++;
			break;
		} else if (xstarts(x, "<!--")) {
			if (xskip_past(x, "-->") < 0)
				goto fail;
		} else if (xstarts(x, "<![CDATA[")) {
			const char *p = x->s + 9;
			x->s = p;
			if (xskip_past(x, "]]>") < 0)
				goto fail;
			sb_addn(&text, p, (size_t)(x->s - 3 - p));
		} else if (xstarts(x, "<?")) {
			if (xskip_past(x, "?>") < 0)
				goto fail;
		} else if (*x->s == '<') {
			struct xnode *kid = NULL;
			if (xelement(x, &kid, depth + 1) < 0)
				goto fail;
			if (n->last)
				n->last->next = kid;
			else
				n->kids = kid;
			n->last = kid;
		} else if (*x->s == '&') {
			if (xentity(x, &text) < 0)
				goto fail;
		} else {
			const char *p = x->s;
			while (p < x->end && *p != '<' && *p != '&')
				p++;
			if (memchr(x->s, '\0', (size_t)(p - x->s))) {
				xfail(x, "NUL byte in text");
				goto fail;
			}
			sb_addn(&text, x->s, (size_t)(p - x->s));
			x->s = p;
		}
	}
	n->text = text.p ? text.p : xstrdup("");
	*out = n;
	return 0;
fail:
	free(text.p);
	xml_free(n);
	return -1;
}

static struct xnode *xml_parse(const char *s, size_t len, char *err,
    size_t errlen)
{
	struct xparser x = { s, s + len, s, err, errlen };
	struct xnode *root = NULL;

	if (s == NULL || len == 0) {
		seterr(err, errlen, "empty answer where XML was expected");
		return NULL;
	}
	/* A UTF-8 byte order mark is allowed. */
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		x.s += 3;
	if (xskip_misc(&x) < 0)
		return NULL;
	if (xelement(&x, &root, 0) < 0)
		return NULL;
	if (xskip_misc(&x) < 0) {
		xml_free(root);
		return NULL;
	}
	if (x.s != x.end) {
		xfail(&x, "content after the document element");
		xml_free(root);
		return NULL;
	}
	return root;
}

static const struct xnode *xml_kid(const struct xnode *n, const char *name)
{
	for (const struct xnode *k = n ? n->kids : NULL; k; k = k->next)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static const char *xml_text(const struct xnode *n, const char *name)
{
	const struct xnode *k = xml_kid(n, name);
	return k ? k->text : NULL;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (s == NULL)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* "2009-10-12T17:50:30.000Z" (fraction optional) to epoch seconds. */
static int parse_iso8601(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	int n = 0;
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &n) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* HTTP date "Wed, 12 Oct 2009 17:50:00 GMT". */
static int parse_http_date(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	if (s == NULL || strptime(s, "%a, %d %b %Y %H:%M:%S", &tm) == NULL)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* ETag without quotes (and without a weak W/ marker). */
static void etag_copy(char *dst, size_t size, const char *v)
{
	if (v == NULL) {
		dst[0] = '\0';
		return;
	}
	if (strncmp(v, "W/", 2) == 0)
		v += 2;
	if (*v == '"')
		v++;
	size_t n = str_copy(dst, v, size);
	if (n < size && n > 0 && dst[n - 1] == '"')
		dst[n - 1] = '\0';
}

static bool is_md5_hex(const char *s)
{
	size_t i;
	for (i = 0; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return i == 32;
}

/* 32 hex digits to the 16 bytes they spell.  0, or -1 when s is not that. */
static int md5_from_hex(const char *s, unsigned char out[MD5_LEN])
{
	if (!is_md5_hex(s))
		return -1;
	for (size_t i = 0; i < MD5_LEN; i++) {
		char byte[3] = { s[2 * i], s[2 * i + 1], '\0' };
		out[i] = (unsigned char)strtoul(byte, NULL, 16);
	}
	return 0;
}

/* A multipart ETag "<32 hex>-<parts>": returns the part count or 0. */
static unsigned multipart_count(const char *etag)
{
	char *end;
	if (strlen(etag) < 34 || etag[32] != '-')
		return 0;
	for (int i = 0; i < 32; i++)
		if (!isxdigit((unsigned char)etag[i]))
			return 0;
	unsigned long n = strtoul(etag + 33, &end, 10);
	if (*end || n == 0 || n > S3_MAX_PARTS)
		return 0;
	return (unsigned)n;
}

int s3_parse_error(const char *xml, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen)
{
	char perr[128];
	struct xnode *root = xml_parse(xml, len, perr, sizeof(perr));
	int rc = -1;

	if (root && strcmp(root->name, "Error") == 0) {
		const char *c = xml_text(root, "Code");
		const char *m = xml_text(root, "Message");
		if (code)
			str_copy(code, c ? c : "", codelen);
		if (msg)
			str_copy(msg, m ? m : "", msglen);
		rc = 0;
	}
	xml_free(root);
	return rc;
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

int s3_parse_list(const char *xml, size_t len, struct s3_list *out,
    char *err, size_t errlen)
{
	char perr[160];
	struct xnode *root;
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	root = xml_parse(xml, len, perr, sizeof(perr));
	if (root == NULL) {
		seterr(err, errlen, "cannot read the listing: %s", perr);
		return -1;
	}
	if (strcmp(root->name, "ListBucketResult") != 0) {
		seterr(err, errlen, "cannot read the listing: expected "
		    "<ListBucketResult>, got <%.40s>", root->name);
		goto fail;
	}
	for (const struct xnode *k = root->kids; k; k = k->next) {
		if (strcmp(k->name, "Contents") != 0)
			continue;
		const char *key = xml_text(k, "Key");
		uint64_t size;
		if (key == NULL || *key == '\0') {
			seterr(err, errlen, "cannot read the listing: an "
			    "entry has no <Key>");
			goto fail;
		}
		if (parse_u64(xml_text(k, "Size"), &size) < 0) {
			seterr(err, errlen, "cannot read the listing: bad "
			    "<Size> for key '%s'", key);
			goto fail;
		}
		if (out->n == cap) {
			cap = cap ? cap * 2 : 64;
			out->objs = xrealloc(out->objs, cap * sizeof(*out->objs));
		}
		struct s3_object *o = &out->objs[out->n++];
		memset(o, 0, sizeof(*o));
		o->key = xstrdup(key);
		o->size = size;
		if (parse_iso8601(xml_text(k, "LastModified"), &o->mtime) < 0)
			o->mtime = 0;
		etag_copy(o->etag, sizeof(o->etag), xml_text(k, "ETag"));
	}
	const char *trunc = xml_text(root, "IsTruncated");
	out->truncated = trunc && strcmp(trunc, "true") == 0;
	const char *next = xml_text(root, "NextContinuationToken");
	if (out->truncated) {
		if (next == NULL || *next == '\0') {
			seterr(err, errlen, "cannot read the listing: it is "
			    "truncated but has no <NextContinuationToken>");
			goto fail;
		}
		out->next_token = xstrdup(next);
	}
	xml_free(root);
	return 0;
fail:
	xml_free(root);
	s3_list_release(out);
	return -1;
}

uint64_t s3_part_size(uint64_t size, uint64_t want, unsigned *nparts)
{
	uint64_t p = want ? want : DEFAULT_PART;
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

long s3_backoff_ms(int attempt, long base_ms, long cap_ms, uint32_t rnd)
{
	long d = base_ms > 0 ? base_ms : 1;
	for (int i = 0; i < attempt && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	return d / 2 + (long)(rnd % (uint32_t)(d - d / 2 + 1));
}

void s3_multipart_etag(const unsigned char (*md5s)[16], unsigned n,
    char out[80])
{
	struct md5_ctx c;
	unsigned char d[MD5_LEN];
	char hex[2 * MD5_LEN + 1];

	md5_init(&c);
	for (unsigned i = 0; i < n; i++)
		md5_update(&c, md5s[i], MD5_LEN);
	md5_final(&c, d);
	hex_encode(d, MD5_LEN, hex);
	snprintf(out, 80, "%s-%u", hex, n);
}

/* ------------------------------------------------------------------ */
/* 2. the store                                                        */

struct s3 {
	bool local;
	char *url;		/* as opened, without a trailing slash */
	char *prefix;		/* "" or ends with '/' */
	/* s3:// */
	char *bucket;
	char *scheme;		/* "http" or "https" */
	char *host;		/* Host header: [bucket.]host[:port] */
	bool vhost;
	char *access_key, *secret_key, *token, *region;
	char *ca_file;
	/* file:// */
	char *root;		/* directory, no trailing slash */
	/* settings, defaults applied; string fields unused */
	struct s3_opts o;
	/* idle connections */
	pthread_mutex_t pool_mu;
	struct http_client **idle;
	size_t nidle;
	/* token bucket */
	pthread_mutex_t rate_mu;
	double tokens;
	int64_t rate_last_ms;
};

void s3_opts_init(struct s3_opts *o)
{
	memset(o, 0, sizeof(*o));
}

bool s3_is_local(const struct s3 *s)
{
	return s->local;
}

char *s3_describe(const struct s3 *s, const char *key)
{
	return xasprintf("%s/%s", s->url, key ? key : "");
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

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

static int open_s3(struct s3 *s, const char *rest, const struct s3_opts *o,
    char *err, size_t errlen)
{
	const char *slash = strchr(rest, '/');
	const char *ep, *hostpart;

	s->bucket = slash ? xstrndup(rest, (size_t)(slash - rest)) :
	    xstrdup(rest);
	if (s->bucket[0] == '\0') {
		seterr(err, errlen, "'%s': no bucket; write s3://bucket/prefix",
		    s->url);
		return -1;
	}
	for (const char *p = s->bucket; *p; p++) {
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '.' ||
		    *p == '_')) {
			seterr(err, errlen, "'%s': bad bucket name '%s'",
			    s->url, s->bucket);
			return -1;
		}
	}
	if (slash && slash[1])
		s->prefix = xasprintf("%s%s", slash + 1,
		    str_ends_with(slash + 1, "/") ? "" : "/");
	else
		s->prefix = xstrdup("");

	s->region = xstrdup(o->region ? o->region : env("AWS_REGION") ?
	    env("AWS_REGION") : env("AWS_DEFAULT_REGION") ?
	    env("AWS_DEFAULT_REGION") : "us-east-1");
	if (o->access_key || o->secret_key) {
		if (!o->access_key || !o->secret_key) {
			seterr(err, errlen, "'%s': an access key needs its "
			    "secret key and the other way round", s->url);
			return -1;
		}
		s->access_key = xstrdup(o->access_key);
		s->secret_key = xstrdup(o->secret_key);
		if (o->session_token)
			s->token = xstrdup(o->session_token);
	} else if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
		s->access_key = xstrdup(env("AWS_ACCESS_KEY_ID"));
		s->secret_key = xstrdup(env("AWS_SECRET_ACCESS_KEY"));
		if (o->session_token || env("AWS_SESSION_TOKEN"))
			s->token = xstrdup(o->session_token ?
			    o->session_token : env("AWS_SESSION_TOKEN"));
	} else {
		seterr(err, errlen, "'%s': no credentials; set access_key "
		    "and secret_key or AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY", s->url);
		return -1;
	}

	if (o->endpoint) {
		ep = o->endpoint;
		if (str_starts_with(ep, "http://")) {
			s->scheme = xstrdup("http");
			hostpart = ep + 7;
		} else if (str_starts_with(ep, "https://")) {
			s->scheme = xstrdup("https");
			hostpart = ep + 8;
		} else {
			seterr(err, errlen, "endpoint '%s' must start with "
			    "http:// or https://", ep);
			return -1;
		}
		size_t hl = strcspn(hostpart, "/?#");
		if (hl == 0 || (hostpart[hl] && strcmp(hostpart + hl, "/"))) {
			seterr(err, errlen, "endpoint '%s' must be "
			    "scheme://host[:port] with no path", ep);
			return -1;
		}
		char *h = xstrndup(hostpart, hl);
		s->vhost = o->addressing == S3_ADDR_VHOST;
		if (s->vhost && !dns_bucket(s->bucket)) {
			seterr(err, errlen, "bucket '%s' cannot be addressed "
			    "virtual-hosted style; use path-style", s->bucket);
			free(h);
			return -1;
		}
		s->host = s->vhost ? xasprintf("%s.%s", s->bucket, h) :
		    xstrdup(h);
		free(h);
	} else {
		s->scheme = xstrdup("https");
		s->vhost = o->addressing == S3_ADDR_VHOST ||
		    (o->addressing == S3_ADDR_AUTO && dns_bucket(s->bucket));
		s->host = s->vhost ? xasprintf("%s.s3.%s.amazonaws.com",
		    s->bucket, s->region) : xasprintf("s3.%s.amazonaws.com",
		    s->region);
	}
	return 0;
}

struct s3 *s3_open(const char *url, const struct s3_opts *o, char *err,
    size_t errlen)
{
	struct s3_opts def;
	struct s3 *s;

	if (o == NULL) {
		s3_opts_init(&def);
		o = &def;
	}
	if (url == NULL) {
		seterr(err, errlen, "no storage URL; write s3://bucket/prefix "
		    "or file:///dir");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_mutex_init(&s->rate_mu, NULL);
	s->url = xstrdup(url);
	while (str_ends_with(s->url, "/") && strlen(s->url) > 8)
		s->url[strlen(s->url) - 1] = '\0';
	s->o = *o;
	s->o.endpoint = s->o.region = s->o.access_key = s->o.secret_key = NULL;
	s->o.session_token = s->o.ca_file = NULL;
	if (s->o.part_size == 0)
		s->o.part_size = DEFAULT_PART;
	if (s->o.part_size < S3_MIN_PART)
		s->o.part_size = S3_MIN_PART;
	if (s->o.multipart_threshold == 0)
		s->o.multipart_threshold = DEFAULT_THRESHOLD;
	if (s->o.parallel <= 0)
		s->o.parallel = 8;
	if (s->o.max_attempts <= 0)
		s->o.max_attempts = 6;
	if (s->o.retry_base_ms <= 0)
		s->o.retry_base_ms = 100;
	if (s->o.retry_cap_ms <= 0)
		s->o.retry_cap_ms = 20000;
	if (s->o.connect_timeout_ms <= 0)
		s->o.connect_timeout_ms = 5000;
	if (s->o.request_timeout_ms <= 0)
		s->o.request_timeout_ms = 60000;
	if (s->o.stall_s <= 0)
		s->o.stall_s = 60;
	s->rate_last_ms = time_mono_ms();

	if (str_starts_with(url, "s3://")) {
		if (open_s3(s, url + 5, o, err, errlen) < 0)
			goto fail;
		if (o->ca_file)
			s->ca_file = xstrdup(o->ca_file);
	} else if (str_starts_with(url, "file://")) {
		const char *path = url + 7;
		if (path[0] != '/') {
			seterr(err, errlen, "'%s': a file URL needs an absolute "
			    "path: file:///dir", url);
			goto fail;
		}
		s->local = true;
		s->root = xstrdup(path);
		while (strlen(s->root) > 1 && str_ends_with(s->root, "/"))
			s->root[strlen(s->root) - 1] = '\0';
		s->prefix = xstrdup("");
	} else {
		seterr(err, errlen, "'%s': unknown storage URL; write "
		    "s3://bucket/prefix or file:///dir", url);
		goto fail;
	}
	return s;
fail:
	s3_close(s);
	return NULL;
}

void s3_close(struct s3 *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nidle; i++)
		http_client_free(s->idle[i]);
	free(s->idle);
	pthread_mutex_destroy(&s->pool_mu);
	pthread_mutex_destroy(&s->rate_mu);
	if (s->secret_key)
		memset(s->secret_key, 0, strlen(s->secret_key));
	free(s->url);
	free(s->prefix);
	free(s->bucket);
	free(s->scheme);
	free(s->host);
	free(s->access_key);
	free(s->secret_key);
	free(s->token);
	free(s->region);
	free(s->ca_file);
	free(s->root);
	free(s);
}

/* A connection for one request; kept-alive ones first. */
static struct http_client *client_get(struct s3 *s)
{
	struct http_client *c = NULL;

	pthread_mutex_lock(&s->pool_mu);
	if (s->nidle > 0)
		c = s->idle[--s->nidle];
	pthread_mutex_unlock(&s->pool_mu);
	if (c == NULL)
		c = http_client_new();
	return c;
}

static void client_put(struct s3 *s, struct http_client *c)
{
	pthread_mutex_lock(&s->pool_mu);
	if (s->nidle < MAX_IDLE_CLIENTS) {
		if (s->idle == NULL)
			s->idle = xcalloc(MAX_IDLE_CLIENTS, sizeof(*s->idle));
		s->idle[s->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&s->pool_mu);
	http_client_free(c);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Token bucket with debt: a taker may overdraw and then sleeps until the
 * bucket would be back at zero, so many threads share one rate without a
 * condition variable.  The bucket holds at most a quarter second of burst.
 */
static void rate_take(struct s3 *s, size_t n)
{
	double rate = (double)s->o.rate_limit, wait_ms = 0;

	if (s->o.rate_limit == 0)
		return;
	pthread_mutex_lock(&s->rate_mu);
	int64_t now = time_mono_ms();
	s->tokens += (double)(now - s->rate_last_ms) * rate / 1000.0;
	s->rate_last_ms = now;
	if (s->tokens > rate / 4)
		s->tokens = rate / 4;
	s->tokens -= (double)n;
	if (s->tokens < 0)
		wait_ms = -s->tokens * 1000.0 / rate;
	pthread_mutex_unlock(&s->rate_mu);
	if (wait_ms >= 1)
		sleep_ms((long)wait_ms);
}

/* Full key in the bucket for a caller's key; NULL when the key is unusable. */
static char *full_key(const struct s3 *s, const char *key, char *err,
    size_t errlen)
{
	if (key == NULL || *key == '\0') {
		seterr(err, errlen, "%s: empty object key", s->url);
		return NULL;
	}
	if (strlen(key) > 900) {
		seterr(err, errlen, "%s/%.40s...: object key longer than 900 "
		    "bytes", s->url, key);
		return NULL;
	}
	return xasprintf("%s%s", s->prefix, key);
}

/* ------------------------------------------------------------------ */
/* 3. one S3 request                                                   */

#define RQ_MAX_PARAMS 5
#define RQ_MAX_HEADERS 8

struct rq {
	const char *method;
	const char *key;		/* full key; NULL = the bucket */
	const char *what;		/* caller's key for messages */
	struct sigv4_param params[RQ_MAX_PARAMS];
	size_t nparams;
	struct sigv4_header hdrs[RQ_MAX_HEADERS];
	size_t nhdrs;
	const void *body;		/* memory body ... */
	size_t body_len;
	int body_fd;			/* ... or body_len bytes of a file */
	off_t body_off;
	const char *payload_hash;	/* NULL: hash memory, UNSIGNED for files */
	int out_fd;
	off_t out_off;
	bool transfer;			/* moves a file: stall limit, no deadline */
	bool error_in_200;		/* 200 may carry <Error> (CompleteMultipartUpload) */
	size_t max_body;
	int (*observe)(void *arg, int dir, const void *data, size_t len);
	void *observe_arg;
	void (*restart)(void *arg);	/* before each retry */
	void *restart_arg;
};

static void rq_init(struct rq *q, const char *method, const char *key,
    const char *what)
{
	memset(q, 0, sizeof(*q));
	q->method = method;
	q->key = key;
	q->what = what;
	q->body_fd = -1;
	q->out_fd = -1;
}

static void rq_param(struct rq *q, const char *k, const char *v)
{
	if (q->nparams >= RQ_MAX_PARAMS)
		abort();
	q->params[q->nparams].key = k;
	q->params[q->nparams].value = v;
	q->nparams++;
}

static void rq_header(struct rq *q, const char *name, const char *value)
{
	if (q->nhdrs >= RQ_MAX_HEADERS)
		abort();
	q->hdrs[q->nhdrs].name = name;
	q->hdrs[q->nhdrs].value = value;
	q->nhdrs++;
}

/* A signed request ready to send; every string owned here. */
struct built {
	char *url;
	char *names[RQ_MAX_HEADERS + 5];
	char *values[RQ_MAX_HEADERS + 5];
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
static void build(const struct s3 *s, const struct rq *q, time_t now,
    struct built *b)
{
	char date[17], hash[2 * SHA256_LEN + 1];
	const char *payload = q->payload_hash;
	struct sigv4_header h[RQ_MAX_HEADERS + 4];
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
	char *path = s->vhost ? xasprintf("/%s", q->key ? q->key : "") :
	    q->key ? xasprintf("/%s/%s", s->bucket, q->key) :
	    xasprintf("/%s", s->bucket);
	char *epath = sigv4_encode(path, true);
	char *query = sigv4_canonical_query(q->params, q->nparams);
	b->url = xasprintf("%s://%s%s%s%s", s->scheme, s->host, epath,
	    *query ? "?" : "", query);
	free(epath);
	free(query);

	sigv4_amz_date(now, date);
	h[nh++] = (struct sigv4_header){ "Host", s->host };
	h[nh++] = (struct sigv4_header){ "x-amz-content-sha256", payload };
	h[nh++] = (struct sigv4_header){ "x-amz-date", date };
	if (s->token)
		h[nh++] = (struct sigv4_header){ "x-amz-security-token",
		    s->token };
	for (size_t i = 0; i < q->nhdrs; i++)
		h[nh++] = q->hdrs[i];
	struct sigv4_req sr = {
		.method = q->method, .path = path,
		.params = q->params, .nparams = q->nparams,
		.headers = h, .nheaders = nh, .payload_hash = payload,
	};
	struct sigv4_key k = { s->access_key, s->secret_key, s->region, "s3" };
	char *auth = sigv4_authorization(&k, date, &sr);
	for (size_t i = 0; i < nh; i++)
		built_add(b, h[i].name, h[i].value);
	built_add(b, "Authorization", auth);
	free(auth);
	free(path);
}

char *s3_sign_debug(struct s3 *s, const char *method, const char *key,
    const struct sigv4_param *params, size_t nparams,
    const struct sigv4_header *headers, size_t nheaders,
    const char *payload_hash, time_t now)
{
	struct rq q;
	struct built b;
	struct sb out = { 0 };

	if (s->local)
		return NULL;
	char *fk = key ? xasprintf("%s%s", s->prefix, key) : NULL;
	rq_init(&q, method, fk, key);
	for (size_t i = 0; i < nparams; i++)
		rq_param(&q, params[i].key, params[i].value);
	for (size_t i = 0; i < nheaders; i++)
		rq_header(&q, headers[i].name, headers[i].value);
	q.payload_hash = payload_hash;
	build(s, &q, now, &b);
	sb_addf(&out, "URL %s\n", b.url);
	for (size_t i = 0; i < b.n; i++)
		sb_addf(&out, "%s: %s\n", b.names[i], b.values[i]);
	built_release(&b);
	free(fk);
	return out.p;
}

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

/*
 * Send q, retrying what is worth retrying.  Returns 0 with a 2xx answer in
 * resp (the caller releases it), S3_NOT_FOUND for 404 (NoSuchKey,
 * NoSuchUpload or an empty HEAD answer), or -1 with err set; resp is
 * released in both of those cases.
 */
static int s3_do(struct s3 *s, struct rq *q, struct http_resp *resp,
    char *err, size_t errlen)
{
	char last[400] = "";
	char *desc = s3_describe(s, q->what);
	int rc = -1;

	for (int attempt = 0;; attempt++) {
		struct built b;
		struct http_header hh[RQ_MAX_HEADERS + 5];
		struct http_req hr;
		bool retry = false;
		char code[64] = "", msg[200] = "";

		build(s, q, time(NULL), &b);
		for (size_t i = 0; i < b.n; i++) {
			hh[i].name = b.names[i];
			hh[i].value = b.values[i];
		}
		http_req_init(&hr, q->method, b.url);
		hr.headers = hh;
		hr.nheaders = b.n;
		hr.body = q->body;
		hr.body_len = q->body_len;
		hr.body_fd = q->body_fd;
		hr.body_off = q->body_off;
		if (q->body_fd < 0 && q->body == NULL &&
		    (strcmp(q->method, "PUT") == 0 ||
		    strcmp(q->method, "POST") == 0))
			hr.body = "";	/* an empty body, sent as one */
		hr.out_fd = q->out_fd;
		hr.out_pwrite = q->out_fd >= 0;
		hr.out_off = q->out_off;
		hr.out_2xx_only = true;
		hr.max_body = q->max_body ? q->max_body : 8u << 20;
		hr.observe = q->observe;
		hr.observe_arg = q->observe_arg;
		hr.connect_timeout_ms = s->o.connect_timeout_ms;
		hr.ca_file = s->ca_file;
		if (q->transfer || q->out_fd >= 0 || q->body_fd >= 0) {
			hr.timeout_ms = -1;
			hr.low_speed_s = s->o.stall_s;
		} else {
			hr.timeout_ms = s->o.request_timeout_ms;
		}

		struct http_client *c = client_get(s);
		int hrc = c ? http_do(c, &hr, resp) : -1;
		if (c == NULL)
			snprintf(resp->err, sizeof(resp->err), "cannot "
			    "create an HTTP handle");
		if (c)
			client_put(s, c);
		built_release(&b);

		if (hrc < 0) {
			if (resp->aborted || resp->local_error || resp->tls_failed) {
				seterr(err, errlen, "%s %s: %s", q->method, desc,
				    resp->err);
				goto out;
			}
			snprintf(last, sizeof(last), "%s%s", resp->err,
			    resp->conn_refused ? " (is the endpoint right and "
			    "the server up?)" : "");
			retry = true;
		} else if (resp->status >= 200 && resp->status < 300) {
			if (q->error_in_200 && resp->body &&
			    s3_parse_error(resp->body, resp->body_len, code,
			    sizeof(code), msg, sizeof(msg)) == 0) {
				snprintf(last, sizeof(last), "HTTP 200 with "
				    "error %s: %s", code, msg);
				retry = retryable_status(500, code);
				if (!retry) {
					seterr(err, errlen, "%s %s: %s%s",
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
				s3_parse_error(resp->body, resp->body_len, code,
				    sizeof(code), msg, sizeof(msg));
			if (resp->status == 404 && strcmp(code,
			    "NoSuchBucket") != 0) {
				seterr(err, errlen, "%s: no such key", desc);
				rc = S3_NOT_FOUND;
				goto out;
			}
			snprintf(last, sizeof(last), "HTTP %ld%s%s%s%s",
			    resp->status, *code ? " " : "", code,
			    *msg ? ": " : "", msg);
			if (!retryable_status(resp->status, code)) {
				seterr(err, errlen, "%s %s: %s%s", q->method,
				    desc, last, hint(resp->status, code));
				goto out;
			}
			retry = true;
		}
		http_resp_release(resp);
		if (!retry || attempt + 1 >= s->o.max_attempts) {
			seterr(err, errlen, "%s %s: %s (gave up after %d "
			    "attempts)", q->method, desc, last, attempt + 1);
			goto out;
		}
		uint32_t rnd;
		random_bytes(&rnd, sizeof(rnd));
		sleep_ms(s3_backoff_ms(attempt, s->o.retry_base_ms,
		    s->o.retry_cap_ms, rnd));
		if (q->restart)
			q->restart(q->restart_arg);
	}
out:
	http_resp_release(resp);
out_keep:
	free(desc);
	return rc;
}

/* ------------------------------------------------------------------ */
/* 4. S3 operations                                                    */

static int observe_rate(void *arg, int dir, const void *data, size_t len)
{
	(void)dir;
	(void)data;
	rate_take(arg, len);
	return 0;
}

/* MD5 (and SHA-256 when sha_hex) of len bytes of fd from off. */
static int hash_range(int fd, off_t off, uint64_t len,
    unsigned char md5out[MD5_LEN], char *sha_hex, const char *desc,
    char *err, size_t errlen)
{
	struct md5_ctx m;
	struct sha256_ctx h;
	unsigned char *buf = xmalloc(IO_BUF);
	uint64_t done = 0;

	md5_init(&m);
	if (sha_hex)
		sha256_init(&h);
	while (done < len) {
		size_t want = len - done < IO_BUF ? (size_t)(len - done) : IO_BUF;
		ssize_t n = pread(fd, buf, want, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			seterr(err, errlen, "cannot read the data for %s: %s",
			    desc, n < 0 ? strerror(errno) :
			    "file shorter than expected (did it change?)");
			free(buf);
			return -1;
		}
		md5_update(&m, buf, (size_t)n);
		if (sha_hex)
			sha256_update(&h, buf, (size_t)n);
		done += (uint64_t)n;
	}
	md5_final(&m, md5out);
	if (sha_hex) {
		unsigned char d[SHA256_LEN];
		sha256_final(&h, d);
		hex_encode(d, SHA256_LEN, sha_hex);
	}
	free(buf);
	return 0;
}

static void info_clear(struct s3_put_info *info)
{
	if (info)
		memset(info, 0, sizeof(*info));
}

static int etag_mismatch(const struct s3 *s, const char *etag,
    const char *want, const char *desc, char *err, size_t errlen)
{
	if (s->o.no_etag_check || strcasecmp(etag, want) == 0)
		return 0;
	seterr(err, errlen, "%s: the store answered ETag '%s' but we sent "
	    "'%s'; the object may be damaged: upload it again (or set "
	    "no_etag_check for SSE-KMS/SSE-C buckets)", desc, etag, want);
	return -1;
}

static int s3_put_single(struct s3 *s, const char *key, const char *fk,
    int fd, off_t off, const void *mem, uint64_t len,
    const struct s3_put_opts *o, struct s3_put_info *info, char *err,
    size_t errlen)
{
	unsigned char d[MD5_LEN];
	char b64[32], hex[2 * MD5_LEN + 1], sha[2 * SHA256_LEN + 1];
	char *desc = s3_describe(s, key);
	struct http_resp resp;
	struct rq q;
	int rc;

	if (mem) {
		md5(mem, (size_t)len, d);
	} else if (o && o->content_md5 && (!s->o.sign_payload || o->sha256)) {
		/* The caller hashed the bytes as it read them: no pass here. */
		if (md5_from_hex(o->content_md5, d) < 0) {
			seterr(err, errlen, "%s: content_md5 '%s' is not 32 hex "
			    "digits", desc, o->content_md5);
			free(desc);
			return -1;
		}
		if (s->o.sign_payload)
			str_copy(sha, o->sha256, sizeof(sha));
	} else if (hash_range(fd, off, len, d, s->o.sign_payload ? sha : NULL,
	    desc, err, errlen) < 0) {
		free(desc);
		return -1;
	}
	md5_base64(d, MD5_LEN, b64);
	hex_encode(d, MD5_LEN, hex);

	rq_init(&q, "PUT", fk, key);
	rq_header(&q, "Content-MD5", b64);
	rq_header(&q, "Content-Type", o && o->content_type ?
	    o->content_type : "application/octet-stream");
	if (o && o->sha256)
		rq_header(&q, META_SHA256, o->sha256);
	if (mem) {
		q.body = mem;
		q.body_len = (size_t)len;
	} else {
		q.body_fd = fd;
		q.body_off = off;
		q.body_len = (size_t)len;
		if (s->o.sign_payload)
			q.payload_hash = sha;
	}
	if (s->o.rate_limit) {
		q.observe = observe_rate;
		q.observe_arg = s;
	}
	rc = s3_do(s, &q, &resp, err, errlen);
	if (rc != 0) {
		rc = -1;
		goto out;
	}
	char etag[80];
	etag_copy(etag, sizeof(etag), http_resp_header(&resp, "etag"));
	http_resp_release(&resp);
	if (etag_mismatch(s, etag, hex, desc, err, errlen) < 0) {
		/* Not every server checks Content-MD5 (s3rver does not): take
		 * the bad object away so nothing trusts it later (a resumed
		 * backup keeps an object whose size and recorded SHA-256 match). */
		char derr[256];
		const char *k = key;
		if (s3_delete(s, &k, 1, NULL, derr, sizeof(derr)) != 0)
			seterr(err + strlen(err), errlen - strlen(err), "; "
			    "deleting it failed too: %s", derr);
		else
			seterr(err + strlen(err), errlen - strlen(err), "; "
			    "it was deleted");
		rc = -1;
		goto out;
	}
	if (info) {
		info->size = len;
		str_copy(info->etag, etag, sizeof(info->etag));
		str_copy(info->md5, hex, sizeof(info->md5));
	}
out:
	free(desc);
	return rc;
}

struct mp_part {
	unsigned char md5[MD5_LEN];
	char etag[80];
};

/* One multipart upload shared by its worker threads. */
struct mp {
	struct s3 *s;
	const char *key, *fk, *desc;
	char *upload_id;
	int fd;
	off_t off;
	uint64_t len, psize;
	unsigned nparts;
	struct mp_part *parts;
	pthread_mutex_t mu;
	unsigned next;		/* next part index to take */
	bool failed;
	char err[512];
};

static int mp_upload_part(struct mp *m, unsigned i, char *err, size_t errlen)
{
	struct s3 *s = m->s;
	uint64_t poff = (uint64_t)i * m->psize;
	uint64_t plen = m->len - poff < m->psize ? m->len - poff : m->psize;
	char b64[32], hex[2 * MD5_LEN + 1], pn[16], sha[2 * SHA256_LEN + 1];
	char what[64];
	struct http_resp resp;
	struct rq q;

	snprintf(what, sizeof(what), "part %u of %u of", i + 1, m->nparts);
	if (hash_range(m->fd, m->off + (off_t)poff, plen, m->parts[i].md5,
	    s->o.sign_payload ? sha : NULL, m->desc, err, errlen) < 0)
		return -1;
	md5_base64(m->parts[i].md5, MD5_LEN, b64);
	hex_encode(m->parts[i].md5, MD5_LEN, hex);
	snprintf(pn, sizeof(pn), "%u", i + 1);

	rq_init(&q, "PUT", m->fk, m->key);
	rq_param(&q, "partNumber", pn);
	rq_param(&q, "uploadId", m->upload_id);
	rq_header(&q, "Content-MD5", b64);
	q.body_fd = m->fd;
	q.body_off = m->off + (off_t)poff;
	q.body_len = (size_t)plen;
	if (s->o.sign_payload)
		q.payload_hash = sha;
	if (s->o.rate_limit) {
		q.observe = observe_rate;
		q.observe_arg = s;
	}
	if (s3_do(s, &q, &resp, err, errlen) != 0) {
		size_t n = strlen(err);
		if (n < errlen)
			snprintf(err + n, errlen - n, " (%s)", what);
		return -1;
	}
	etag_copy(m->parts[i].etag, sizeof(m->parts[i].etag),
	    http_resp_header(&resp, "etag"));
	http_resp_release(&resp);
	if (m->parts[i].etag[0] == '\0') {
		seterr(err, errlen, "%s: no ETag for %s", m->desc, what);
		return -1;
	}
	return etag_mismatch(s, m->parts[i].etag, hex, m->desc, err, errlen);
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

/*
 * Run fn on `parallel` threads (at most n of them) over arg; the calling
 * thread is one of the workers, so a transfer never waits on thread start.
 */
static void run_workers(void *(*fn)(void *), void *arg, int parallel,
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

static void mp_abort(struct mp *m)
{
	struct rq q;
	struct http_resp resp;
	char err[256];

	rq_init(&q, "DELETE", m->fk, m->key);
	rq_param(&q, "uploadId", m->upload_id);
	if (s3_do(m->s, &q, &resp, err, sizeof(err)) == 0)
		http_resp_release(&resp);
}

static int s3_put_multipart(struct s3 *s, const char *key, const char *fk,
    int fd, off_t off, uint64_t len, const struct s3_put_opts *o,
    struct s3_put_info *info, char *err, size_t errlen)
{
	struct mp m = { .s = s, .key = key, .fk = fk, .fd = fd, .off = off,
	    .len = len };
	char *desc = s3_describe(s, key);
	char psz[32], etag[80], want[80];
	struct http_resp resp;
	struct xnode *root = NULL;
	struct sb body = { 0 };
	struct rq q;
	int rc = -1;

	m.desc = desc;
	m.psize = s3_part_size(len, s->o.part_size, &m.nparts);
	pthread_mutex_init(&m.mu, NULL);
	snprintf(psz, sizeof(psz), "%" PRIu64, m.psize);

	rq_init(&q, "POST", fk, key);
	rq_param(&q, "uploads", "");
	rq_header(&q, "Content-Type", o && o->content_type ?
	    o->content_type : "application/octet-stream");
	rq_header(&q, META_PART_SIZE, psz);
	if (o && o->sha256)
		rq_header(&q, META_SHA256, o->sha256);
	if (s3_do(s, &q, &resp, err, errlen) != 0)
		goto out;
	char perr[160];
	root = xml_parse(resp.body, resp.body_len, perr, sizeof(perr));
	http_resp_release(&resp);
	const char *id = root ? xml_text(root, "UploadId") : NULL;
	if (id == NULL || *id == '\0') {
		seterr(err, errlen, "%s: cannot start a multipart upload: %s",
		    desc, root ? "no <UploadId> in the answer" : perr);
		goto out;
	}
	m.upload_id = xstrdup(id);
	xml_free(root);
	root = NULL;

	m.parts = xcalloc(m.nparts, sizeof(*m.parts));
	run_workers(mp_worker, &m, s->o.parallel, m.nparts);
	if (m.failed) {
		seterr(err, errlen, "%s", m.err);
		mp_abort(&m);
		goto out;
	}

	sb_add(&body, "<CompleteMultipartUpload>");
	for (unsigned i = 0; i < m.nparts; i++)
		sb_addf(&body, "<Part><PartNumber>%u</PartNumber><ETag>\"%s\""
		    "</ETag></Part>", i + 1, m.parts[i].etag);
	sb_add(&body, "</CompleteMultipartUpload>");
	rq_init(&q, "POST", fk, key);
	rq_param(&q, "uploadId", m.upload_id);
	rq_header(&q, "Content-Type", "application/xml");
	q.body = body.p;
	q.body_len = body.len;
	q.error_in_200 = true;
	if (s3_do(s, &q, &resp, err, errlen) != 0) {
		mp_abort(&m);
		goto out;
	}
	root = xml_parse(resp.body, resp.body_len, perr, sizeof(perr));
	http_resp_release(&resp);
	etag_copy(etag, sizeof(etag), root ? xml_text(root, "ETag") : NULL);
	{
		unsigned char (*md5s)[MD5_LEN] = xcalloc(m.nparts, MD5_LEN);
		for (unsigned i = 0; i < m.nparts; i++)
			memcpy(md5s[i], m.parts[i].md5, MD5_LEN);
		s3_multipart_etag((const unsigned char (*)[MD5_LEN])md5s,
		    m.nparts, want);
		free(md5s);
	}
	/* Servers that answer a plain MD5 of the whole object (s3rver) have
	 * no composite to compare; every part was already checked. */
	if (multipart_count(etag) &&
	    etag_mismatch(s, etag, want, desc, err, errlen) < 0)
		goto out;
	if (info) {
		info->size = len;
		str_copy(info->etag, etag, sizeof(info->etag));
		info->parts = m.nparts;
		info->part_size = m.psize;
	}
	rc = 0;
out:
	xml_free(root);
	free(body.p);
	free(m.parts);
	free(m.upload_id);
	pthread_mutex_destroy(&m.mu);
	free(desc);
	return rc;
}

static void stat_from_headers(const struct http_resp *r, struct s3_stat *st)
{
	uint64_t v;
	memset(st, 0, sizeof(*st));
	if (parse_u64(http_resp_header(r, "content-length"), &v) == 0)
		st->size = v;
	etag_copy(st->etag, sizeof(st->etag), http_resp_header(r, "etag"));
	if (parse_http_date(http_resp_header(r, "last-modified"),
	    &st->mtime) < 0)
		st->mtime = 0;
	if (parse_u64(http_resp_header(r, META_PART_SIZE), &v) == 0)
		st->part_size = v;
	const char *sha = http_resp_header(r, META_SHA256);
	if (sha && strlen(sha) == 64)
		str_copy(st->sha256, sha, sizeof(st->sha256));
}

static int s3_head_s3(struct s3 *s, const char *key, const char *fk,
    struct s3_stat *st, char *err, size_t errlen)
{
	struct http_resp resp;
	struct rq q;
	int rc;

	rq_init(&q, "HEAD", fk, key);
	rc = s3_do(s, &q, &resp, err, errlen);
	if (rc != 0)
		return rc;
	stat_from_headers(&resp, st);
	http_resp_release(&resp);
	return 0;
}

/*
 * Download state: hashes computed while the bytes stream, reset when a
 * retry starts over.  For a ranged download each part has its own.
 */
struct dl {
	struct s3 *s;
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
	bool parts_ok;		/* the stream matched the expected layout */
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

static int dl_observe(void *arg, int dir, const void *data, size_t len)
{
	struct dl *d = arg;
	const unsigned char *p = data;

	(void)dir;
	if (!d->started) {
		d->started = true;
		stat_from_headers(d->resp, &d->st);
		if (d->st.sha256[0])
			d->want_sha = true;
		sha256_init(&d->sha);
		unsigned n = multipart_count(d->st.etag);
		free(d->pmd5);
		d->pmd5 = NULL;
		d->psize = 0;
		if (n && d->st.part_size) {
			uint64_t sz = d->st.size;
			unsigned want = sz ? (unsigned)((sz + d->st.part_size -
			    1) / d->st.part_size) : 1;
			if (want == n) {
				d->psize = d->st.part_size;
				d->nparts = n;
				d->pmd5 = xcalloc(n, MD5_LEN);
			}
		}
	}
	if (d->s->o.rate_limit)
		rate_take(d->s, len);
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

/* Verify a finished single-stream download; 0 or -1 with err. */
static int dl_verify(struct dl *d, const struct s3_get_opts *o,
    const char *desc, char *err, size_t errlen)
{
	unsigned char m[MD5_LEN];
	char hex[2 * MD5_LEN + 1], shahex[2 * SHA256_LEN + 1] = "";

	md5_final(&d->md5, m);
	hex_encode(m, MD5_LEN, hex);
	if (d->want_sha) {
		unsigned char h[SHA256_LEN];
		sha256_final(&d->sha, h);
		hex_encode(h, SHA256_LEN, shahex);
	}
	if (d->got != d->st.size) {
		seterr(err, errlen, "%s: got %" PRIu64 " bytes, the store "
		    "announced %" PRIu64, desc, d->got, d->st.size);
		return -1;
	}
	if (o && o->size != S3_SIZE_ANY && d->got != o->size) {
		seterr(err, errlen, "%s: size is %" PRIu64 " bytes, expected %"
		    PRIu64 "; the object is damaged or not the one recorded",
		    desc, d->got, o->size);
		return -1;
	}
	if (!d->s->o.no_etag_check && is_md5_hex(d->st.etag) &&
	    strcasecmp(d->st.etag, hex) != 0) {
		seterr(err, errlen, "%s: downloaded bytes have MD5 %s but the "
		    "object's ETag is %s; the object or the transfer is "
		    "damaged", desc, hex, d->st.etag);
		return -1;
	}
	if (!d->s->o.no_etag_check && d->psize) {
		char want[80];
		if (d->pfill > 0 && d->pidx < d->nparts) {
			md5_final(&d->part, d->pmd5[d->pidx]);
			d->pidx++;
		}
		if (d->pidx != d->nparts) {
			seterr(err, errlen, "%s: %u parts downloaded, the ETag "
			    "says %u", desc, d->pidx, d->nparts);
			return -1;
		}
		s3_multipart_etag((const unsigned char (*)[MD5_LEN])d->pmd5,
		    d->nparts, want);
		if (strcasecmp(want, d->st.etag) != 0) {
			seterr(err, errlen, "%s: downloaded parts give ETag %s "
			    "but the object's is %s; the object or the "
			    "transfer is damaged", desc, want, d->st.etag);
			return -1;
		}
	}
	if (o && o->md5 && strcasecmp(o->md5, hex) != 0) {
		seterr(err, errlen, "%s: MD5 is %s, expected %s; the object is "
		    "damaged", desc, hex, o->md5);
		return -1;
	}
	const char *want_sha = o && o->sha256 ? o->sha256 :
	    d->st.sha256[0] ? d->st.sha256 : NULL;
	if (want_sha && strcasecmp(want_sha, shahex) != 0) {
		seterr(err, errlen, "%s: SHA-256 is %s, expected %s; the "
		    "object is damaged", desc, shahex, want_sha);
		return -1;
	}
	return 0;
}

static int s3_get_stream(struct s3 *s, const char *key, const char *fk,
    int fd, const struct s3_get_opts *o, struct s3_stat *st, char *err,
    size_t errlen)
{
	struct dl d = { .s = s, .fd = fd };
	struct http_resp resp;
	struct rq q;
	char *desc = s3_describe(s, key);
	int rc;

	d.resp = &resp;
	d.want_sha = o && o->sha256;
	dl_reset(&d);
	rq_init(&q, "GET", fk, key);
	q.out_fd = fd;
	q.observe = dl_observe;
	q.observe_arg = &d;
	q.restart = dl_reset;
	q.restart_arg = &d;
	rc = s3_do(s, &q, &resp, err, errlen);
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
	free(d.pmd5);
	free(desc);
	return rc;
}

/*
 * A ranged, parallel download.  When the object is a multipart upload whose
 * part size we recorded, the ranges are its parts and each part's MD5 is
 * checked against the composite ETag as it arrives; otherwise the ranges
 * are part_size long and the file is hashed once it is complete.
 */
struct rg {
	struct s3 *s;
	const char *key, *fk, *desc;
	int fd;
	const struct s3_stat *st;
	bool aligned;
	uint64_t psize;
	unsigned nparts;
	unsigned char (*pmd5)[MD5_LEN];
	pthread_mutex_t mu;
	unsigned next;
	bool failed;
	char err[512];
};

struct rg_one {
	struct s3 *s;
	struct md5_ctx md5;
	uint64_t got;
};

static int rg_observe(void *arg, int dir, const void *data, size_t len)
{
	struct rg_one *r = arg;
	(void)dir;
	if (r->s->o.rate_limit)
		rate_take(r->s, len);
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
	struct rg_one r = { .s = g->s };
	struct http_resp resp;
	struct rq q;

	rg_reset(&r);
	snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, off,
	    off + len - 1);
	snprintf(ifmatch, sizeof(ifmatch), "\"%s\"", g->st->etag);
	rq_init(&q, "GET", g->fk, g->key);
	rq_header(&q, "Range", range);
	rq_header(&q, "If-Match", ifmatch);
	q.out_fd = g->fd;
	q.out_off = (off_t)off;
	q.observe = rg_observe;
	q.observe_arg = &r;
	q.restart = rg_reset;
	q.restart_arg = &r;
	if (s3_do(g->s, &q, &resp, err, errlen) != 0)
		return -1;
	http_resp_release(&resp);
	if (r.got != len) {
		seterr(err, errlen, "%s: range %u: got %" PRIu64 " bytes, "
		    "expected %" PRIu64, g->desc, i + 1, r.got, len);
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
static int verify_file(const struct s3 *s, int fd, const struct s3_stat *st,
    bool etag_md5, const struct s3_get_opts *o, const char *desc, char *err,
    size_t errlen)
{
	unsigned char m[MD5_LEN];
	char hex[2 * MD5_LEN + 1], sha[2 * SHA256_LEN + 1];
	const char *want_md5 = o && o->md5 ? o->md5 : NULL;
	const char *want_sha = o && o->sha256 ? o->sha256 : NULL;
	const char *want_etag = NULL;

	if (etag_md5 && !s->o.no_etag_check && is_md5_hex(st->etag))
		want_etag = st->etag;
	if (etag_md5 && want_sha == NULL && st->sha256[0])
		want_sha = st->sha256;
	if (!want_md5 && !want_sha && !want_etag)
		return 0;
	if (hash_range(fd, 0, st->size, m, want_sha ? sha : NULL, desc, err,
	    errlen) < 0)
		return -1;
	hex_encode(m, MD5_LEN, hex);
	if (want_etag && strcasecmp(want_etag, hex) != 0) {
		seterr(err, errlen, "%s: downloaded bytes have MD5 %s but the "
		    "object's ETag is %s; the object or the transfer is "
		    "damaged", desc, hex, want_etag);
		return -1;
	}
	if (want_md5 && strcasecmp(want_md5, hex) != 0) {
		seterr(err, errlen, "%s: MD5 is %s, expected %s; the object is "
		    "damaged", desc, hex, want_md5);
		return -1;
	}
	if (want_sha && strcasecmp(want_sha, sha) != 0) {
		seterr(err, errlen, "%s: SHA-256 is %s, expected %s; the "
		    "object is damaged", desc, sha, want_sha);
		return -1;
	}
	return 0;
}

static int s3_get_ranged(struct s3 *s, const char *key, const char *fk,
    int fd, const struct s3_stat *st, bool aligned,
    const struct s3_get_opts *o, char *err, size_t errlen)
{
	struct rg g = { .s = s, .key = key, .fk = fk, .fd = fd, .st = st,
	    .aligned = aligned };
	char *desc = s3_describe(s, key);
	char want[80];
	int rc = -1;

	g.desc = desc;
	if (aligned) {
		g.psize = st->part_size;
		g.nparts = multipart_count(st->etag);
	} else {
		g.psize = s->o.part_size;
		g.nparts = (unsigned)((st->size + g.psize - 1) / g.psize);
	}
	g.pmd5 = xcalloc(g.nparts, MD5_LEN);
	pthread_mutex_init(&g.mu, NULL);
	if (ftruncate(fd, (off_t)st->size) < 0) {
		seterr(err, errlen, "%s: cannot size the download file: %s",
		    desc, strerror(errno));
		goto out;
	}
	run_workers(rg_worker, &g, s->o.parallel, g.nparts);
	if (g.failed) {
		seterr(err, errlen, "%s", g.err);
		goto out;
	}
	if (aligned) {
		s3_multipart_etag((const unsigned char (*)[MD5_LEN])g.pmd5,
		    g.nparts, want);
		if (!s->o.no_etag_check && strcasecmp(want, st->etag) != 0) {
			seterr(err, errlen, "%s: downloaded parts give ETag %s "
			    "but the object's is %s; the object or the "
			    "transfer is damaged", desc, want, st->etag);
			goto out;
		}
	}
	rc = verify_file(s, fd, st, !aligned, o, desc, err, errlen);
out:
	pthread_mutex_destroy(&g.mu);
	free(g.pmd5);
	free(desc);
	return rc;
}

static int s3_get_file_s3(struct s3 *s, const char *key, const char *fk,
    int fd, const struct s3_get_opts *o, struct s3_stat *st, char *err,
    size_t errlen)
{
	/* Only big objects pay for a HEAD first: it tells whether the parts
	 * can be fetched in parallel and still be verified one by one. */
	if (o && o->size != S3_SIZE_ANY &&
	    o->size >= s->o.multipart_threshold && s->o.parallel > 1) {
		struct s3_stat hs;
		int rc = s3_head_s3(s, key, fk, &hs, err, errlen);
		if (rc != 0)
			return rc;
		unsigned n = multipart_count(hs.etag);
		if (hs.size != o->size) {
			char *desc = s3_describe(s, key);
			seterr(err, errlen, "%s: size is %" PRIu64 " bytes, "
			    "expected %" PRIu64 "; the object is damaged or "
			    "not the one recorded", desc, hs.size, o->size);
			free(desc);
			return -1;
		}
		bool aligned = n > 1 && hs.part_size &&
		    (hs.size + hs.part_size - 1) / hs.part_size == n;
		if (aligned || n == 0) {
			rc = s3_get_ranged(s, key, fk, fd, &hs, aligned, o, err,
			    errlen);
			if (rc == 0 && st)
				*st = hs;
			return rc;
		}
	}
	return s3_get_stream(s, key, fk, fd, o, st, err, errlen);
}

static int s3_get_range_s3(struct s3 *s, const char *key, const char *fk,
    uint64_t off, uint64_t len, int fd, off_t fd_off, char *err,
    size_t errlen)
{
	struct rg_one r = { .s = s };
	struct http_resp resp;
	char range[64];
	struct rq q;
	int rc;

	if (len == 0)
		return 0;
	rg_reset(&r);
	snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, off,
	    off + len - 1);
	rq_init(&q, "GET", fk, key);
	rq_header(&q, "Range", range);
	q.out_fd = fd;
	q.out_off = fd_off;
	q.observe = rg_observe;
	q.observe_arg = &r;
	q.restart = rg_reset;
	q.restart_arg = &r;
	rc = s3_do(s, &q, &resp, err, errlen);
	if (rc != 0)
		return rc;
	long status = resp.status;
	http_resp_release(&resp);
	if (status != 206 || r.got != len) {
		char *desc = s3_describe(s, key);
		seterr(err, errlen, "%s: asked for %" PRIu64 " bytes at %"
		    PRIu64 ", got %" PRIu64 " (HTTP %ld); is the object "
		    "shorter?", desc, len, off, r.got, status);
		free(desc);
		return -1;
	}
	return 0;
}

static int s3_get_mem_s3(struct s3 *s, const char *key, const char *fk,
    size_t max, char **data, size_t *len, char *err, size_t errlen)
{
	struct http_resp resp;
	struct rq q;
	int rc;

	rq_init(&q, "GET", fk, key);
	q.max_body = max + 1;
	q.transfer = true;
	rc = s3_do(s, &q, &resp, err, errlen);
	if (rc != 0)
		return rc;
	char etag[80], hex[2 * MD5_LEN + 1];
	etag_copy(etag, sizeof(etag), http_resp_header(&resp, "etag"));
	md5_hex(resp.body ? resp.body : "", resp.body_len, hex);
	if (!s->o.no_etag_check && is_md5_hex(etag) &&
	    strcasecmp(etag, hex) != 0) {
		char *desc = s3_describe(s, key);
		seterr(err, errlen, "%s: downloaded bytes have MD5 %s but the "
		    "object's ETag is %s; the object or the transfer is "
		    "damaged", desc, hex, etag);
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

static int s3_list_page_s3(struct s3 *s, const char *prefix,
    const char *token, int max_keys, struct s3_list *out, char *err,
    size_t errlen)
{
	struct http_resp resp;
	struct rq q;
	char mk[16], lerr[300];
	char *fp = xasprintf("%s%s", s->prefix, prefix ? prefix : "");
	size_t plen = strlen(s->prefix);
	int rc;

	snprintf(mk, sizeof(mk), "%d", max_keys > 0 ? max_keys : 1000);
	rq_init(&q, "GET", NULL, prefix ? prefix : "");
	rq_param(&q, "list-type", "2");
	rq_param(&q, "prefix", fp);
	rq_param(&q, "max-keys", mk);
	if (token)
		rq_param(&q, "continuation-token", token);
	q.max_body = 64u << 20;
	rc = s3_do(s, &q, &resp, err, errlen);
	if (rc == S3_NOT_FOUND) {
		seterr(err, errlen, "%s: bucket listing not found", s->url);
		rc = -1;
	}
	if (rc != 0)
		goto out;
	rc = s3_parse_list(resp.body, resp.body_len, out, lerr, sizeof(lerr));
	http_resp_release(&resp);
	if (rc < 0) {
		seterr(err, errlen, "%s: %s", s->url, lerr);
		goto out;
	}
	/* Keys come back whole: make them relative to the store. */
	size_t j = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (strncmp(out->objs[i].key, s->prefix, plen) != 0) {
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
static int s3_delete_batch(struct s3 *s, const char *const *keys, size_t n,
    size_t *deleted, char *err, size_t errlen)
{
	struct sb body = { 0 };
	unsigned char d[MD5_LEN];
	char b64[32], perr[160];
	struct http_resp resp;
	struct xnode *root = NULL;
	struct rq q;
	int rc = -1;

	sb_add(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<Delete><Quiet>true</Quiet>");
	for (size_t i = 0; i < n; i++) {
		if (keys[i] == NULL || *keys[i] == '\0') {
			seterr(err, errlen, "%s: empty key in a delete batch",
			    s->url);
			goto out;
		}
		sb_add(&body, "<Object><Key>");
		sb_add_xml(&body, s->prefix);
		sb_add_xml(&body, keys[i]);
		sb_add(&body, "</Key></Object>");
	}
	sb_add(&body, "</Delete>");
	md5(body.p, body.len, d);
	md5_base64(d, MD5_LEN, b64);

	rq_init(&q, "POST", NULL, keys[0]);
	rq_param(&q, "delete", "");
	rq_header(&q, "Content-MD5", b64);
	rq_header(&q, "Content-Type", "application/xml");
	q.body = body.p;
	q.body_len = body.len;
	rc = s3_do(s, &q, &resp, err, errlen);
	if (rc == S3_NOT_FOUND)
		rc = -1;
	if (rc != 0)
		goto out;
	root = xml_parse(resp.body, resp.body_len, perr, sizeof(perr));
	http_resp_release(&resp);
	if (root == NULL || strcmp(root->name, "DeleteResult") != 0) {
		seterr(err, errlen, "%s: cannot read the DeleteObjects answer: "
		    "%s", s->url, root ? "not a <DeleteResult>" : perr);
		rc = -1;
		goto out;
	}
	size_t failed = 0;
	for (const struct xnode *k = root->kids; k; k = k->next) {
		if (strcmp(k->name, "Error") != 0)
			continue;
		if (failed++ == 0) {
			const char *key = xml_text(k, "Key");
			const char *code = xml_text(k, "Code");
			const char *msg = xml_text(k, "Message");
			seterr(err, errlen, "%s/%s: cannot delete: %s: %s",
			    s->url, key ? key : "?", code ? code : "?",
			    msg ? msg : "");
		}
	}
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
	xml_free(root);
	free(body.p);
	return rc;
}

/* ------------------------------------------------------------------ */
/* 5. the file:// backend                                              */

/* root/key, refusing keys that could leave the root or hit temp files. */
static char *fpath(const struct s3 *s, const char *key, char *err,
    size_t errlen)
{
	const char *p = key;

	if (key == NULL || *key == '\0' || *key == '/') {
		seterr(err, errlen, "%s: bad key '%s': empty or absolute",
		    s->url, key ? key : "");
		return NULL;
	}
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.') ||
		    strncmp(p, TMP_MARK, strlen(TMP_MARK)) == 0) {
			seterr(err, errlen, "%s: bad key '%s': empty, '.', "
			    "'..' or reserved path segment", s->url, key);
			return NULL;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return xasprintf("%s/%s", s->root, key);
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
				seterr(err, errlen, "cannot create directory "
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

static void fsync_dir_of(const char *path)
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

/* A temporary file beside path; *tmp gets its name. */
static int tmp_beside(const char *path, char **tmp, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
	*tmp = xasprintf("%.*s" TMP_MARK "%s.XXXXXX", (int)dl, path,
	    slash ? slash + 1 : path);
	int fd = mkstemp(*tmp);
	if (fd < 0) {
		seterr(err, errlen, "cannot create a temporary file beside "
		    "'%s': %s", path, strerror(errno));
		free(*tmp);
		*tmp = NULL;
	}
	return fd;
}

struct hashes {
	struct md5_ctx md5;
	struct sha256_ctx sha;
	bool sha_on;
};

/* Copy len bytes from in@in_off to out@out_off, hashing, rate-limited. */
static int copy_fd(struct s3 *s, int in, off_t in_off, int out, off_t out_off,
    uint64_t len, struct hashes *h, const char *desc, char *err,
    size_t errlen)
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
			seterr(err, errlen, "%s: cannot read: %s", desc,
			    n < 0 ? strerror(errno) : "shorter than expected");
			rc = -1;
			break;
		}
		rate_take(s, (size_t)n);
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
				seterr(err, errlen, "%s: cannot write: %s", desc,
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

static int f_put(struct s3 *s, const char *key, int fd, off_t off,
    const void *mem, uint64_t len, struct s3_put_info *info, char *err,
    size_t errlen)
{
	char *path = fpath(s, key, err, errlen), *tmp = NULL;
	char *desc = s3_describe(s, key);
	struct hashes h;
	int out = -1, rc = -1;

	if (path == NULL)
		goto done;
	if (mkparents(path, err, errlen) < 0)
		goto done;
	out = tmp_beside(path, &tmp, err, errlen);
	if (out < 0)
		goto done;
	md5_init(&h.md5);
	h.sha_on = false;
	if (mem) {
		rate_take(s, (size_t)len);
		md5_update(&h.md5, mem, (size_t)len);
		for (uint64_t w = 0; w < len;) {
			ssize_t k = write(out, (const char *)mem + w,
			    (size_t)(len - w));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				seterr(err, errlen, "%s: cannot write: %s",
				    desc, strerror(errno));
				goto done;
			}
			w += (uint64_t)k;
		}
	} else if (copy_fd(s, fd, off, out, 0, len, &h, desc, err,
	    errlen) < 0) {
		goto done;
	}
	if (fsync(out) < 0 || close(out) < 0) {
		out = -1;
		seterr(err, errlen, "%s: cannot flush to disk: %s", desc,
		    strerror(errno));
		goto done;
	}
	out = -1;
	if (rename(tmp, path) < 0) {
		seterr(err, errlen, "%s: cannot rename into place: %s", desc,
		    strerror(errno));
		goto done;
	}
	fsync_dir_of(path);
	if (info) {
		unsigned char d[MD5_LEN];
		md5_final(&h.md5, d);
		info->size = len;
		hex_encode(d, MD5_LEN, info->md5);
		str_copy(info->etag, info->md5, sizeof(info->etag));
	}
	rc = 0;
done:
	if (out >= 0)
		close(out);
	if (rc < 0 && tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	free(desc);
	return rc;
}

static int f_open_src(struct s3 *s, const char *key, struct stat *sb,
    char *err, size_t errlen)
{
	char *path = fpath(s, key, err, errlen);
	int fd;

	if (path == NULL)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		char *desc = s3_describe(s, key);
		if (e == ENOENT || e == ENOTDIR)
			seterr(err, errlen, "%s: no such key", desc);
		else
			seterr(err, errlen, "%s: cannot open: %s", desc,
			    strerror(e));
		free(desc);
		free(path);
		return e == ENOENT || e == ENOTDIR ? -2 : -1;
	}
	free(path);
	if (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode)) {
		char *desc = s3_describe(s, key);
		seterr(err, errlen, "%s: not a regular file", desc);
		free(desc);
		close(fd);
		return -1;
	}
	return fd;
}

static int f_head(struct s3 *s, const char *key, struct s3_stat *st,
    char *err, size_t errlen)
{
	struct stat sb;
	int fd = f_open_src(s, key, &sb, err, errlen);
	if (fd < 0)
		return fd == -2 ? S3_NOT_FOUND : -1;
	close(fd);
	memset(st, 0, sizeof(*st));
	st->size = (uint64_t)sb.st_size;
	st->mtime = (int64_t)sb.st_mtime;
	return 0;
}

static int f_get(struct s3 *s, const char *key, int out,
    const struct s3_get_opts *o, struct s3_stat *st, char *err,
    size_t errlen)
{
	struct stat sb;
	struct hashes h;
	char *desc = s3_describe(s, key);
	int in = f_open_src(s, key, &sb, err, errlen), rc = -1;
	unsigned char m[MD5_LEN];
	char hex[2 * MD5_LEN + 1], sha[2 * SHA256_LEN + 1];

	if (in < 0) {
		free(desc);
		return in == -2 ? S3_NOT_FOUND : -1;
	}
	if (o && o->size != S3_SIZE_ANY && (uint64_t)sb.st_size != o->size) {
		seterr(err, errlen, "%s: size is %jd bytes, expected %" PRIu64
		    "; the object is damaged or not the one recorded", desc,
		    (intmax_t)sb.st_size, o->size);
		goto out;
	}
	md5_init(&h.md5);
	h.sha_on = o && o->sha256;
	if (h.sha_on)
		sha256_init(&h.sha);
	if (copy_fd(s, in, 0, out, 0, (uint64_t)sb.st_size, &h, desc, err,
	    errlen) < 0)
		goto out;
	md5_final(&h.md5, m);
	hex_encode(m, MD5_LEN, hex);
	if (o && o->md5 && strcasecmp(o->md5, hex) != 0) {
		seterr(err, errlen, "%s: MD5 is %s, expected %s; the object is "
		    "damaged", desc, hex, o->md5);
		goto out;
	}
	if (h.sha_on) {
		unsigned char d[SHA256_LEN];
		sha256_final(&h.sha, d);
		hex_encode(d, SHA256_LEN, sha);
		if (strcasecmp(o->sha256, sha) != 0) {
			seterr(err, errlen, "%s: SHA-256 is %s, expected %s; "
			    "the object is damaged", desc, sha, o->sha256);
			goto out;
		}
	}
	if (st) {
		memset(st, 0, sizeof(*st));
		st->size = (uint64_t)sb.st_size;
		st->mtime = (int64_t)sb.st_mtime;
	}
	rc = 0;
out:
	close(in);
	free(desc);
	return rc;
}

static int f_get_range(struct s3 *s, const char *key, uint64_t off,
    uint64_t len, int fd, off_t fd_off, char *err, size_t errlen)
{
	struct stat sb;
	char *desc;
	int in = f_open_src(s, key, &sb, err, errlen), rc = -1;

	if (in < 0)
		return in == -2 ? S3_NOT_FOUND : -1;
	desc = s3_describe(s, key);
	if (off + len > (uint64_t)sb.st_size)
		seterr(err, errlen, "%s: asked for %" PRIu64 " bytes at %"
		    PRIu64 " but the object has %jd; is it shorter?", desc,
		    len, off, (intmax_t)sb.st_size);
	else
		rc = copy_fd(s, in, (off_t)off, fd, fd_off, len, NULL, desc,
		    err, errlen);
	close(in);
	free(desc);
	return rc;
}

static int f_get_mem(struct s3 *s, const char *key, size_t max, char **data,
    size_t *len, char *err, size_t errlen)
{
	struct stat sb;
	int in = f_open_src(s, key, &sb, err, errlen);
	char *desc;

	if (in < 0)
		return in == -2 ? S3_NOT_FOUND : -1;
	desc = s3_describe(s, key);
	if ((uint64_t)sb.st_size > max) {
		seterr(err, errlen, "%s: %jd bytes, more than the %zu allowed",
		    desc, (intmax_t)sb.st_size, max);
		goto fail;
	}
	char *buf = xmalloc((size_t)sb.st_size + 1);
	size_t got = 0;
	while (got < (size_t)sb.st_size) {
		ssize_t n = pread(in, buf + got, (size_t)sb.st_size - got,
		    (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			seterr(err, errlen, "%s: cannot read: %s", desc,
			    n < 0 ? strerror(errno) : "file shrank");
			free(buf);
			goto fail;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	rate_take(s, got);
	*data = buf;
	*len = got;
	close(in);
	free(desc);
	return 0;
fail:
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
		seterr(err, errlen, "cannot list directory '%s': %s", dir,
		    strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strncmp(e->d_name, TMP_MARK, strlen(TMP_MARK)) == 0)
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

static int f_list_page(struct s3 *s, const char *prefix, const char *token,
    int max_keys, struct s3_list *out, char *err, size_t errlen)
{
	struct fwalk w = { .prefix = prefix ? prefix : "" };
	size_t max = max_keys > 0 ? (size_t)max_keys : 1000, i = 0;

	memset(out, 0, sizeof(*out));
	if (f_walk(&w, s->root, "", err, errlen) < 0)
		goto fail;
	if (w.n > 1)
		qsort(w.keys, w.n, sizeof(*w.keys), strp_cmp);
	if (token)
		while (i < w.n && strcmp(w.keys[i], token) <= 0)
			i++;
	out->objs = xcalloc(max, sizeof(*out->objs));
	for (; i < w.n && out->n < max; i++) {
		char *path = xasprintf("%s/%s", s->root, w.keys[i]);
		struct stat sb;
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
	for (size_t k = 0; k < w.n; k++)
		free(w.keys[k]);
	free(w.keys);
	return 0;
fail:
	for (size_t k = 0; k < w.n; k++)
		free(w.keys[k]);
	free(w.keys);
	return -1;
}

static int f_delete(struct s3 *s, const char *const *keys, size_t n,
    size_t *deleted, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		char *path = fpath(s, keys[i], err, errlen);
		if (path == NULL)
			return -1;
		if (unlink(path) < 0 && errno != ENOENT) {
			char *desc = s3_describe(s, keys[i]);
			seterr(err, errlen, "%s: cannot delete: %s", desc,
			    strerror(errno));
			free(desc);
			free(path);
			return -1;
		}
		/* Empty directories left behind go too, up to the root. */
		for (char *slash = strrchr(path, '/');
		    slash && slash > path + strlen(s->root);
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

/* ------------------------------------------------------------------ */
/* 6. entry points                                                     */

int s3_head(struct s3 *s, const char *key, struct s3_stat *st, char *err,
    size_t errlen)
{
	struct s3_stat tmp;
	if (st == NULL)
		st = &tmp;
	if (s->local)
		return f_head(s, key, st, err, errlen);
	char *fk = full_key(s, key, err, errlen);
	if (fk == NULL)
		return -1;
	int rc = s3_head_s3(s, key, fk, st, err, errlen);
	free(fk);
	return rc;
}

bool s3_put_uses_md5(const struct s3 *s, uint64_t size)
{
	return !s->local && size <= s->o.multipart_threshold;
}

int s3_put_fd(struct s3 *s, const char *key, int fd, off_t off, uint64_t len,
    const struct s3_put_opts *o, struct s3_put_info *info, char *err,
    size_t errlen)
{
	int rc;
	info_clear(info);
	if (s->local)
		return f_put(s, key, fd, off, NULL, len, info, err, errlen);
	char *fk = full_key(s, key, err, errlen);
	if (fk == NULL)
		return -1;
	if (len > s->o.multipart_threshold)
		rc = s3_put_multipart(s, key, fk, fd, off, len, o, info, err,
		    errlen);
	else
		rc = s3_put_single(s, key, fk, fd, off, NULL, len, o, info,
		    err, errlen);
	free(fk);
	return rc;
}

int s3_put_file(struct s3 *s, const char *key, const char *path,
    const struct s3_put_opts *o, struct s3_put_info *info, char *err,
    size_t errlen)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0) {
		seterr(err, errlen, "cannot open '%s' to upload: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		seterr(err, errlen, "cannot upload '%s': not a regular file",
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
	int rc;
	info_clear(info);
	if (data == NULL)
		data = "";
	if (s->local)
		return f_put(s, key, -1, 0, data, len, info, err, errlen);
	char *fk = full_key(s, key, err, errlen);
	if (fk == NULL)
		return -1;
	rc = s3_put_single(s, key, fk, -1, 0, data, len, o, info, err, errlen);
	free(fk);
	return rc;
}

int s3_get_file(struct s3 *s, const char *key, const char *path,
    const struct s3_get_opts *o, struct s3_stat *st, char *err,
    size_t errlen)
{
	char *tmp = NULL, *fk = NULL;
	int fd, rc = -1;

	if (!s->local && (fk = full_key(s, key, err, errlen)) == NULL)
		return -1;
	fd = tmp_beside(path, &tmp, err, errlen);
	if (fd < 0)
		goto out;
	if (s->local)
		rc = f_get(s, key, fd, o, st, err, errlen);
	else
		rc = s3_get_file_s3(s, key, fk, fd, o, st, err, errlen);
	if (rc == 0 && fsync(fd) < 0) {
		seterr(err, errlen, "cannot flush '%s' to disk: %s", tmp,
		    strerror(errno));
		rc = -1;
	}
	if (close(fd) < 0 && rc == 0) {
		seterr(err, errlen, "cannot write '%s': %s", tmp,
		    strerror(errno));
		rc = -1;
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		seterr(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path,
		    strerror(errno));
		rc = -1;
	}
	if (rc == 0)
		fsync_dir_of(path);
	else
		unlink(tmp);
out:
	free(tmp);
	free(fk);
	return rc;
}

int s3_get_range(struct s3 *s, const char *key, uint64_t off, uint64_t len,
    int fd, off_t fd_off, char *err, size_t errlen)
{
	if (s->local)
		return f_get_range(s, key, off, len, fd, fd_off, err, errlen);
	char *fk = full_key(s, key, err, errlen);
	if (fk == NULL)
		return -1;
	int rc = s3_get_range_s3(s, key, fk, off, len, fd, fd_off, err,
	    errlen);
	free(fk);
	return rc;
}

int s3_get_mem(struct s3 *s, const char *key, size_t max, char **data,
    size_t *len, char *err, size_t errlen)
{
	*data = NULL;
	*len = 0;
	if (s->local)
		return f_get_mem(s, key, max, data, len, err, errlen);
	char *fk = full_key(s, key, err, errlen);
	if (fk == NULL)
		return -1;
	int rc = s3_get_mem_s3(s, key, fk, max, data, len, err, errlen);
	free(fk);
	return rc;
}

int s3_list_page(struct s3 *s, const char *prefix, const char *token,
    int max_keys, struct s3_list *out, char *err, size_t errlen)
{
	if (s->local)
		return f_list_page(s, prefix, token, max_keys, out, err, errlen);
	return s3_list_page_s3(s, prefix, token, max_keys, out, err, errlen);
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
	if (s->local)
		return f_delete(s, keys, n, deleted, err, errlen);
	for (size_t i = 0; i < n; i += S3_MAX_BATCH) {
		size_t k = n - i < S3_MAX_BATCH ? n - i : S3_MAX_BATCH;
		if (s3_delete_batch(s, keys + i, k, deleted, err, errlen) < 0)
			return -1;
	}
	return 0;
}
