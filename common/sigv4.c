/*
 * sigv4.c - see sigv4.h.  Every function allocates fresh strings; nothing
 * here keeps state, so any thread may sign at any time.
 */
#include "sigv4.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "strbuf.h"
#include "util.h"

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~';
}

char *sigv4_encode(const char *s, bool keep_slash)
{
	static const char hexd[] = "0123456789ABCDEF";
	char *out = xmalloc(3 * strlen(s) + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (unreserved(*p) || (keep_slash && *p == '/')) {
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

/*
 * RFC 3986 section 5.2.4 for the services that want it: empty and "."
 * segments vanish, ".." removes the one before; a trailing slash stays.
 */
static char *normalize(const char *path)
{
	size_t n = strlen(path);
	char *out = xmalloc(n + 2);
	size_t olen = 0;
	const char *p = path;

	while (*p) {
		while (*p == '/')
			p++;
		const char *seg = p;
		while (*p && *p != '/')
			p++;
		size_t slen = (size_t)(p - seg);
		if (slen == 0 || (slen == 1 && seg[0] == '.'))
			continue;
		if (slen == 2 && seg[0] == '.' && seg[1] == '.') {
			while (olen > 0 && out[olen - 1] != '/')
				olen--;
			if (olen > 0)
				olen--;
			continue;
		}
		out[olen++] = '/';
		memcpy(out + olen, seg, slen);
		olen += slen;
	}
	if (olen == 0 || (n > 0 && path[n - 1] == '/'))
		out[olen++] = '/';
	out[olen] = '\0';
	return out;
}

struct kv {
	char *k, *v;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->k, y->k);
	return c ? c : strcmp(x->v, y->v);
}

char *sigv4_canonical_query(const struct sigv4_param *params, size_t n)
{
	struct kv *kv = xcalloc(n ? n : 1, sizeof(*kv));
	struct strbuf b = { 0 };

	for (size_t i = 0; i < n; i++) {
		kv[i].k = sigv4_encode(params[i].key, false);
		kv[i].v = sigv4_encode(params[i].value ? params[i].value : "",
		    false);
	}
	qsort(kv, n, sizeof(*kv), kv_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strbuf_add(&b, "&");
		strbuf_add(&b, kv[i].k);
		strbuf_add(&b, "=");
		strbuf_add(&b, kv[i].v);
		free(kv[i].k);
		free(kv[i].v);
	}
	free(kv);
	return strbuf_detach(&b);
}

struct hdr {
	char *name;		/* lowercased */
	char *value;		/* trimmed, spaces collapsed */
	size_t order;		/* keeps repeated headers in sending order */
};

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Trimall: outer white space removed, inner runs become one space. */
static char *trimall(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;
	bool space = false;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
			space = true;
			continue;
		}
		if (space && o > out)
			*o++ = ' ';
		space = false;
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

char *sigv4_canonical_request(const struct sigv4_req *r, char **signed_headers)
{
	struct strbuf b = { 0 }, sh = { 0 };
	struct hdr *h = xcalloc(r->nheaders ? r->nheaders : 1, sizeof(*h));
	char *path, *enc, *q;

	strbuf_add(&b, r->method);
	strbuf_add(&b, "\n");
	path = r->normalize_path ? normalize(r->path) : xstrdup(r->path);
	enc = sigv4_encode(path[0] ? path : "/", true);
	strbuf_add(&b, enc);
	strbuf_add(&b, "\n");
	free(enc);
	free(path);
	q = sigv4_canonical_query(r->params, r->nparams);
	strbuf_add(&b, q);
	strbuf_add(&b, "\n");
	free(q);

	for (size_t i = 0; i < r->nheaders; i++) {
		h[i].name = xstrdup(r->headers[i].name);
		for (char *p = h[i].name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		h[i].value = trimall(r->headers[i].value);
		h[i].order = i;
	}
	qsort(h, r->nheaders, sizeof(*h), hdr_cmp);
	for (size_t i = 0; i < r->nheaders; i++) {
		bool repeat = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;
		if (repeat) {
			strbuf_add(&b, ",");
		} else {
			if (i > 0)
				strbuf_add(&b, "\n");
			strbuf_add(&b, h[i].name);
			strbuf_add(&b, ":");
			if (sh.len > 0)
				strbuf_add(&sh, ";");
			strbuf_add(&sh, h[i].name);
		}
		strbuf_add(&b, h[i].value);
	}
	for (size_t i = 0; i < r->nheaders; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
	strbuf_add(&b, "\n\n");
	char *signed_list = strbuf_detach(&sh);
	strbuf_add(&b, signed_list);
	strbuf_add(&b, "\n");
	strbuf_add(&b, r->payload_hash ? r->payload_hash : SIGV4_EMPTY_SHA256);
	if (signed_headers)
		*signed_headers = signed_list;
	else
		free(signed_list);
	return strbuf_detach(&b);
}

char *sigv4_string_to_sign(const struct sigv4_key *k, const char *amz_date,
    const char *canonical_request)
{
	char hex[2 * SHA256_LEN + 1];

	sha256_hex(canonical_request, strlen(canonical_request), hex);
	return xasprintf("AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s",
	    amz_date, amz_date, k->region, k->service, hex);
}

static void signing_key(const struct sigv4_key *k, const char *amz_date,
    unsigned char out[SHA256_LEN])
{
	char *secret = xasprintf("AWS4%s", k->secret_key);
	unsigned char a[SHA256_LEN], b[SHA256_LEN];

	hmac_sha256(secret, strlen(secret), amz_date, 8, a);
	hmac_sha256(a, SHA256_LEN, k->region, strlen(k->region), b);
	hmac_sha256(b, SHA256_LEN, k->service, strlen(k->service), a);
	hmac_sha256(a, SHA256_LEN, "aws4_request", 12, out);
	memset(secret, 0, strlen(secret));
	free(secret);
}

char *sigv4_authorization(const struct sigv4_key *k, const char *amz_date,
    const struct sigv4_req *r)
{
	char *signed_headers = NULL;
	char *creq = sigv4_canonical_request(r, &signed_headers);
	char *sts = sigv4_string_to_sign(k, amz_date, creq);
	unsigned char key[SHA256_LEN], sig[SHA256_LEN];
	char sighex[2 * SHA256_LEN + 1];

	signing_key(k, amz_date, key);
	hmac_sha256(key, SHA256_LEN, sts, strlen(sts), sig);
	hex_encode(sig, SHA256_LEN, sighex);
	char *auth = xasprintf("AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/"
	    "aws4_request, SignedHeaders=%s, Signature=%s", k->access_key,
	    amz_date, k->region, k->service, signed_headers, sighex);
	memset(key, 0, sizeof(key));
	free(signed_headers);
	free(creq);
	free(sts);
	return auth;
}

void sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}
