/*
 * etcd.c - etcd v3 over its JSON gateway (etcd.h).
 *
 * The gateway maps each gRPC call to POST /v3/<service>/<call> with the
 * request message as JSON.  Two habits of that mapping shape the parsers:
 * int64 fields are JSON strings ("revision":"12"), and fields holding their
 * zero value are left out (a failed transaction has no "succeeded"; a
 * keepalive of a lease that is gone has no "TTL"), so absence of such a
 * field means zero, while absence of a field that cannot be zero (a grant's
 * ID, a kv's key) is an error.  The streaming keepalive wraps its one
 * answer in {"result":...}; it may be followed by more stream output, so
 * only the first JSON value of that body is read.
 */
#include "etcd.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/http.h"
#include "../../common/util.h"

struct etcd {
	char *endpoints[ETCD_MAX_ENDPOINTS];
	size_t nendpoints;
	size_t current;		/* tried first */
	long timeout_ms;
	struct http_client *http;
};

/* Longest answer we accept: one key's record and a header. */
#define ETCD_MAX_BODY (1024 * 1024)

/* --- base64 --- */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64chars[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64chars, c) : NULL;
	return p ? (int)(p - b64chars) : -1;
}

char *etcd_b64_decode(const char *s, size_t *len, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (n % 4 != 0) {
		err_set(err, errlen, "base64 of %zu characters is not a "
		    "multiple of 4", n);
		return NULL;
	}
	unsigned char *out = xmalloc(n / 4 * 3 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			v[k] = pad ? -1 : b64_value(s[i + k]);
			if (v[k] < 0) {
				err_set(err, errlen, "base64 has a bad "
				    "character at offset %zu", i + k);
				free(out);
				return NULL;
			}
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[o++] = (unsigned char)(w >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(w >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)w;
	}
	out[o] = '\0';
	*len = o;
	return (char *)out;
}

/* --- parsing --- */

/* Errors go to logs and events as one line: whatever an answer put in
 * one (a proxy's page, a string with control characters) is shown with
 * every control byte as '?'. */
static void err_one_line(char *err)
{
	for (; *err; err++)
		if ((unsigned char)*err < 0x20 || *err == 0x7f)
			*err = '?';
}

/*
 * An int64 field: a JSON string of digits (the gateway's way) or a JSON
 * integer.  Absent: *out = 0 unless required.
 */
static int get_i64(json_t *obj, const char *name, bool required,
    int64_t *out, const char *what, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, name);

	*out = 0;
	if (!v) {
		if (required) {
			err_set(err, errlen, "etcd %s answer has no '%s'",
			    what, name);
			return -1;
		}
		return 0;
	}
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s) {
		err_set(err, errlen, "etcd %s answer: '%s' is neither a "
		    "string nor an integer", what, name);
		return -1;
	}
	const char *p = s[0] == '-' ? s + 1 : s;
	if (*p == '\0' || strspn(p, "0123456789") != strlen(p) ||
	    strlen(p) > 19) {
		err_set(err, errlen, "etcd %s answer: '%s' is not an "
		    "integer: '%.40s'", what, name, s);
		err_one_line(err);
		return -1;
	}
	errno = 0;
	long long ll = strtoll(s, NULL, 10);
	if (errno == ERANGE) {
		err_set(err, errlen, "etcd %s answer: '%s' is out of range: "
		    "'%.40s'", what, name, s);
		return -1;
	}
	*out = ll;
	return 0;
}

/* Turn an error body or a non-2xx status into err.  Returns -1 when the
 * answer is an error, 0 when it is not. */
static int answer_error(long status, json_t *root, const char *what,
    char *err, size_t errlen)
{
	json_t *e = root ? json_object_get(root, "error") : NULL;

	if (!e && status >= 200 && status < 300)
		return 0;
	const char *msg = NULL;
	long long code = -1;
	if (json_is_string(e)) {
		msg = json_string_value(e);
		json_t *c = json_object_get(root, "code");
		if (json_is_integer(c))
			code = json_integer_value(c);
	} else if (json_is_object(e)) {
		/* The streaming calls' shape:
		 * {"error":{"grpc_code":N,"http_code":N,"message":"..."}} */
		msg = json_string_value(json_object_get(e, "message"));
		json_t *c = json_object_get(e, "grpc_code");
		if (json_is_integer(c))
			code = json_integer_value(c);
	}
	if (!msg && root)
		msg = json_string_value(json_object_get(root, "message"));
	/* The message goes to logs and events: one line, printable. */
	char clean[201];
	if (msg) {
		size_t i;
		for (i = 0; msg[i] && i < sizeof(clean) - 1; i++)
			clean[i] = (unsigned char)msg[i] < 0x20 ||
			    msg[i] == 0x7f ? '?' : msg[i];
		clean[i] = '\0';
		msg = clean;
	}
	if (msg && code >= 0)
		err_set(err, errlen, "etcd refused the %s: %s (code %lld, "
		    "HTTP %ld)", what, msg, code, status);
	else if (msg)
		err_set(err, errlen, "etcd refused the %s: %s (HTTP %ld)",
		    what, msg, status);
	else
		err_set(err, errlen, "etcd answered the %s with HTTP %ld and "
		    "no error message", what, status);
	return -1;
}

/* Parse body as one JSON object (the first value only when first_only). */
static json_t *load(long status, const char *body, size_t len,
    bool first_only, const char *what, char *err, size_t errlen)
{
	json_error_t je;

	if (!body || len == 0) {
		if (status < 200 || status >= 300)
			answer_error(status, NULL, what, err, errlen);
		else
			err_set(err, errlen, "etcd answered the %s with an "
			    "empty body", what);
		return NULL;
	}
	json_t *root = json_loadb(body, len,
	    first_only ? JSON_DISABLE_EOF_CHECK : 0, &je);
	if (!root) {
		if (status < 200 || status >= 300) {
			/* Bodies are not NUL-terminated for the parsers;
			 * show at most the first line's 120 bytes. */
			size_t n = len < 120 ? len : 120;
			const char *nl = memchr(body, '\n', n);
			if (nl)
				n = (size_t)(nl - body);
			err_set(err, errlen, "etcd answered the %s with HTTP "
			    "%ld: %.*s", what, status, (int)n, body);
		} else
			err_set(err, errlen, "etcd's answer to the %s is not "
			    "JSON: %s at offset %d", what, je.text,
			    je.position);
		err_one_line(err);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		err_set(err, errlen, "etcd's answer to the %s is not a JSON "
		    "object", what);
		return NULL;
	}
	if (answer_error(status, root, what, err, errlen) < 0) {
		json_decref(root);
		return NULL;
	}
	return root;
}

static int header_revision(json_t *root, int64_t *rev, const char *what,
    char *err, size_t errlen)
{
	json_t *h = json_object_get(root, "header");

	if (!json_is_object(h)) {
		err_set(err, errlen, "etcd %s answer has no header object",
		    what);
		return -1;
	}
	return get_i64(h, "revision", true, rev, what, err, errlen);
}

void etcd_kv_release(struct etcd_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static int parse_kv(json_t *o, struct etcd_kv *kv, const char *what,
    char *err, size_t errlen)
{
	char e2[160];
	size_t n;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(o)) {
		err_set(err, errlen, "etcd %s answer: a kv is not an object",
		    what);
		return -1;
	}
	const char *k = json_string_value(json_object_get(o, "key"));
	if (!k) {
		err_set(err, errlen, "etcd %s answer: a kv has no string "
		    "'key'", what);
		return -1;
	}
	kv->key = etcd_b64_decode(k, &n, e2, sizeof(e2));
	if (!kv->key) {
		err_set(err, errlen, "etcd %s answer: a kv's key: %s", what,
		    e2);
		return -1;
	}
	if (strlen(kv->key) != n) {
		err_set(err, errlen, "etcd %s answer: a kv's key holds a NUL "
		    "byte", what);
		goto fail;
	}
	json_t *v = json_object_get(o, "value");
	if (v && !json_is_string(v)) {
		err_set(err, errlen, "etcd %s answer: a kv's 'value' is not "
		    "a string", what);
		goto fail;
	}
	kv->value = etcd_b64_decode(v ? json_string_value(v) : "",
	    &kv->value_len, e2, sizeof(e2));
	if (!kv->value) {
		err_set(err, errlen, "etcd %s answer: a kv's value: %s", what,
		    e2);
		goto fail;
	}
	if (get_i64(o, "create_revision", true, &kv->create_revision, what,
	    err, errlen) < 0 ||
	    get_i64(o, "mod_revision", true, &kv->mod_revision, what, err,
	    errlen) < 0 ||
	    get_i64(o, "version", false, &kv->version, what, err,
	    errlen) < 0 ||
	    get_i64(o, "lease", false, &kv->lease, what, err, errlen) < 0)
		goto fail;
	if (kv->create_revision <= 0 || kv->mod_revision <= 0) {
		err_set(err, errlen, "etcd %s answer: a kv's revisions are not "
		    "positive", what);
		goto fail;
	}
	return 0;
fail:
	etcd_kv_release(kv);
	return -1;
}

/* The kvs array of a range answer (o): at most one, none when absent. */
static int parse_kvs(json_t *o, struct etcd_kv *kv, bool *found,
    const char *what, char *err, size_t errlen)
{
	json_t *kvs = json_object_get(o, "kvs");
	struct etcd_kv tmp;

	*found = false;
	if (kv)
		memset(kv, 0, sizeof(*kv));
	if (!kvs || (json_is_array(kvs) && json_array_size(kvs) == 0))
		return 0;
	if (!json_is_array(kvs)) {
		err_set(err, errlen, "etcd %s answer: 'kvs' is not an array",
		    what);
		return -1;
	}
	if (json_array_size(kvs) != 1) {
		err_set(err, errlen, "etcd %s answer: %zu kvs for one key",
		    what, json_array_size(kvs));
		return -1;
	}
	if (parse_kv(json_array_get(kvs, 0), &tmp, what, err, errlen) < 0)
		return -1;
	*found = true;
	if (kv)
		*kv = tmp;
	else
		etcd_kv_release(&tmp);
	return 0;
}

int etcd_parse_grant(long status, const char *body, size_t len, int64_t *id,
    int64_t *ttl_s, char *err, size_t errlen)
{
	json_t *root = load(status, body, len, false, "lease grant", err,
	    errlen);
	int rc = -1;

	if (!root)
		return -1;
	if (get_i64(root, "ID", true, id, "lease grant", err, errlen) < 0 ||
	    get_i64(root, "TTL", true, ttl_s, "lease grant", err,
	    errlen) < 0)
		goto out;
	if (*id <= 0 || *ttl_s <= 0) {
		err_set(err, errlen, "etcd lease grant answer: ID %" PRId64
		    " or TTL %" PRId64 " is not positive", *id, *ttl_s);
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int etcd_parse_keepalive(long status, const char *body, size_t len,
    int64_t id, int64_t *ttl_s, char *err, size_t errlen)
{
	json_t *root = load(status, body, len, true, "lease keepalive", err,
	    errlen);
	int64_t got;
	int rc = -1;

	if (!root)
		return -1;
	json_t *r = json_object_get(root, "result");
	if (!json_is_object(r)) {
		err_set(err, errlen, "etcd lease keepalive answer has no "
		    "'result' object");
		goto out;
	}
	if (get_i64(r, "ID", true, &got, "lease keepalive", err, errlen) < 0 ||
	    get_i64(r, "TTL", false, ttl_s, "lease keepalive", err,
	    errlen) < 0)
		goto out;
	if (got != id) {
		err_set(err, errlen, "etcd lease keepalive answer is for lease "
		    "%" PRId64 ", not %" PRId64, got, id);
		goto out;
	}
	if (*ttl_s < 0) {
		err_set(err, errlen, "etcd lease keepalive answer: negative "
		    "TTL %" PRId64, *ttl_s);
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int etcd_parse_range(long status, const char *body, size_t len,
    struct etcd_kv *kv, bool *found, char *err, size_t errlen)
{
	json_t *root = load(status, body, len, false, "range", err, errlen);
	int64_t rev;
	int rc = -1;

	*found = false;
	memset(kv, 0, sizeof(*kv));
	if (!root)
		return -1;
	if (header_revision(root, &rev, "range", err, errlen) < 0)
		goto out;
	rc = parse_kvs(root, kv, found, "range", err, errlen);
out:
	json_decref(root);
	return rc;
}

int etcd_parse_txn(long status, const char *body, size_t len,
    bool *succeeded, int64_t *revision, struct etcd_kv *holder,
    char *err, size_t errlen)
{
	json_t *root = load(status, body, len, false, "transaction", err,
	    errlen);
	int rc = -1;
	bool found;

	*succeeded = false;
	*revision = 0;
	if (holder)
		memset(holder, 0, sizeof(*holder));
	if (!root)
		return -1;
	if (header_revision(root, revision, "transaction", err, errlen) < 0)
		goto out;
	json_t *s = json_object_get(root, "succeeded");
	if (s && !json_is_boolean(s)) {
		err_set(err, errlen, "etcd transaction answer: 'succeeded' is "
		    "not a boolean");
		goto out;
	}
	*succeeded = json_is_true(s);
	json_t *rs = json_object_get(root, "responses");
	if (rs && !json_is_array(rs)) {
		err_set(err, errlen, "etcd transaction answer: 'responses' is "
		    "not an array");
		goto out;
	}
	if (!*succeeded && holder && json_array_size(rs) > 0) {
		json_t *r0 = json_array_get(rs, 0);
		json_t *rr = json_is_object(r0) ?
		    json_object_get(r0, "response_range") : NULL;
		if (!json_is_object(rr)) {
			err_set(err, errlen, "etcd transaction answer: the "
			    "first response is not a response_range");
			goto out;
		}
		if (parse_kvs(rr, holder, &found, "transaction", err,
		    errlen) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int etcd_parse_plain(long status, const char *body, size_t len,
    int64_t *deleted, char *err, size_t errlen)
{
	json_t *root = load(status, body, len, false, "request", err, errlen);
	int64_t rev, d;
	int rc = -1;

	if (!root)
		return -1;
	if (header_revision(root, &rev, "request", err, errlen) < 0 ||
	    get_i64(root, "deleted", false, &d, "delete", err, errlen) < 0)
		goto out;
	if (deleted)
		*deleted = d;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int etcd_parse_endpoints(const char *list, char **out, size_t max, size_t *n,
    char *err, size_t errlen)
{
	const char *p = list ? list : "";

	*n = 0;
	while (*p) {
		size_t skip = strspn(p, ", \t");
		p += skip;
		size_t l = strcspn(p, ", \t");
		if (l == 0)
			break;
		char *ep = xstrndup(p, l);
		p += l;
		while (l > 0 && ep[l - 1] == '/')
			ep[--l] = '\0';
		const char *host = str_starts_with(ep, "http://") ? ep + 7 :
		    str_starts_with(ep, "https://") ? ep + 8 : NULL;
		bool ctl = false;
		for (const char *c = ep; *c; c++)
			ctl |= (unsigned char)*c < 0x20 || *c == 0x7f;
		if (!host || *host == '\0' || strchr(host, '/') || ctl ||
		    strpbrk(ep, "?#@\"\\")) {
			err_set(err, errlen, "etcd endpoint '%.100s' is not "
			    "http://host:port or https://host:port", ep);
			err_one_line(err);
			free(ep);
			goto fail;
		}
		if (*n == max) {
			err_set(err, errlen, "more than %zu etcd endpoints",
			    max);
			free(ep);
			goto fail;
		}
		out[(*n)++] = ep;
	}
	if (*n == 0) {
		err_set(err, errlen, "no etcd endpoint given: set "
		    "etcd_endpoints to http://host:port[,...]");
		return -1;
	}
	return 0;
fail:
	while (*n > 0)
		free(out[--*n]);
	return -1;
}

/* --- the client --- */

struct etcd *etcd_new(const char *endpoints, long timeout_ms, char *err,
    size_t errlen)
{
	struct etcd *e = xcalloc(1, sizeof(*e));

	if (etcd_parse_endpoints(endpoints, e->endpoints, ETCD_MAX_ENDPOINTS,
	    &e->nendpoints, err, errlen) < 0) {
		free(e);
		return NULL;
	}
	e->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
	e->http = http_client_new();
	if (!e->http) {
		err_set(err, errlen, "cannot create an HTTP client for etcd");
		etcd_free(e);
		return NULL;
	}
	return e;
}

void etcd_free(struct etcd *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nendpoints; i++)
		free(e->endpoints[i]);
	http_client_free(e->http);
	free(e);
}

void etcd_set_timeout(struct etcd *e, long timeout_ms)
{
	e->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
}

const char *etcd_endpoint(const struct etcd *e)
{
	return e->endpoints[e->current];
}

/*
 * POST body to path on the first endpoint that answers, starting at the
 * current one, all within one timeout: a caller that bounds a request (the
 * active, by its lease) is not held up n times over.  An endpoint that
 * cannot be reached hands "current" to the next, so an endpoint that
 * swallows requests (a stopped member, a blackhole) costs one request's
 * time, not every request's.  0 with resp filled (any status), -1 when
 * none answered.
 */
static int post(struct etcd *e, const char *path, const char *body,
    struct http_resp *resp, char *err, size_t errlen)
{
	static const struct http_header hdr[] = {
		{ "Content-Type", "application/json" },
	};
	char last[300] = "";
	int64_t end = time_mono_ms() + e->timeout_ms;
	size_t tried = 0, first = e->current;

	for (size_t k = 0; k < e->nendpoints; k++) {
		int64_t left = end - time_mono_ms();
		if (left <= 0)
			break;
		size_t i = (first + k) % e->nendpoints;
		char *url = xasprintf("%s%s", e->endpoints[i], path);
		struct http_req req;
		http_req_init(&req, "POST", url);
		req.headers = hdr;
		req.nheaders = 1;
		req.body = body;
		req.body_len = strlen(body);
		req.max_body = ETCD_MAX_BODY;
		req.timeout_ms = (long)left;
		req.connect_timeout_ms = (long)left;
		memset(resp, 0, sizeof(*resp));
		int rc = http_do(e->http, &req, resp);
		free(url);
		tried++;
		if (rc == 0) {
			e->current = i;
			return 0;
		}
		str_copy(last, resp->err, sizeof(last));
		http_resp_release(resp);
		e->current = (i + 1) % e->nendpoints;
	}
	if (e->nendpoints == 1)
		err_set(err, errlen, "cannot reach etcd: %s", last);
	else
		err_set(err, errlen, "cannot reach etcd (%zu of %zu endpoints "
		    "tried within %ld ms); the last: %s", tried, e->nendpoints,
		    e->timeout_ms, last);
	return -1;
}

int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *id,
    int64_t *granted_ttl_s, char *err, size_t errlen)
{
	struct http_resp resp;
	char body[64];

	snprintf(body, sizeof(body), "{\"TTL\":\"%" PRId64 "\"}", ttl_s);
	if (post(e, "/v3/lease/grant", body, &resp, err, errlen) < 0)
		return -1;
	int rc = etcd_parse_grant(resp.status, resp.body, resp.body_len, id,
	    granted_ttl_s, err, errlen);
	http_resp_release(&resp);
	return rc;
}

int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl_s,
    char *err, size_t errlen)
{
	struct http_resp resp;
	char body[64];

	snprintf(body, sizeof(body), "{\"ID\":\"%" PRId64 "\"}", id);
	if (post(e, "/v3/lease/keepalive", body, &resp, err, errlen) < 0)
		return -1;
	int rc = etcd_parse_keepalive(resp.status, resp.body, resp.body_len,
	    id, ttl_s, err, errlen);
	http_resp_release(&resp);
	return rc;
}

int etcd_lease_revoke(struct etcd *e, int64_t id, char *err, size_t errlen)
{
	struct http_resp resp;
	char body[64];

	snprintf(body, sizeof(body), "{\"ID\":\"%" PRId64 "\"}", id);
	if (post(e, "/v3/lease/revoke", body, &resp, err, errlen) < 0)
		return -1;
	char e2[300];
	int rc = etcd_parse_plain(resp.status, resp.body, resp.body_len, NULL,
	    e2, sizeof(e2));
	http_resp_release(&resp);
	/* Gone already is what revoking wanted. */
	if (rc < 0 && strstr(e2, "lease not found"))
		return 0;
	if (rc < 0)
		err_set(err, errlen, "%s", e2);
	return rc;
}

/* json_dumps of o, consuming o. */
static char *dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s) {
		fprintf(stderr, "etcd: out of memory\n");
		abort();
	}
	return s;
}

static json_t *b64_string(const void *data, size_t len)
{
	char *b = etcd_b64_encode(data, len);
	json_t *s = json_string(b);
	free(b);
	return s;
}

static json_t *i64_string(int64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_string(buf);
}

int etcd_get(struct etcd *e, const char *key, struct etcd_kv *kv,
    bool *found, char *err, size_t errlen)
{
	struct http_resp resp;
	json_t *o = json_object();

	*found = false;
	memset(kv, 0, sizeof(*kv));
	json_object_set_new(o, "key", b64_string(key, strlen(key)));
	char *body = dump(o);
	int rc = post(e, "/v3/kv/range", body, &resp, err, errlen);
	free(body);
	if (rc < 0)
		return -1;
	rc = etcd_parse_range(resp.status, resp.body, resp.body_len, kv,
	    found, err, errlen);
	http_resp_release(&resp);
	if (rc == 0 && *found && strcmp(kv->key, key) != 0) {
		err_set(err, errlen, "etcd range of '%s' answered another key",
		    key);
		etcd_kv_release(kv);
		*found = false;
		return -1;
	}
	return rc;
}

int etcd_put(struct etcd *e, const char *key, const void *value, size_t len,
    int64_t lease, char *err, size_t errlen)
{
	struct http_resp resp;
	json_t *o = json_object();

	json_object_set_new(o, "key", b64_string(key, strlen(key)));
	json_object_set_new(o, "value", b64_string(value, len));
	if (lease)
		json_object_set_new(o, "lease", i64_string(lease));
	char *body = dump(o);
	int rc = post(e, "/v3/kv/put", body, &resp, err, errlen);
	free(body);
	if (rc < 0)
		return -1;
	rc = etcd_parse_plain(resp.status, resp.body, resp.body_len, NULL, err,
	    errlen);
	http_resp_release(&resp);
	return rc;
}

int etcd_delete(struct etcd *e, const char *key, int64_t *deleted,
    char *err, size_t errlen)
{
	struct http_resp resp;
	json_t *o = json_object();

	json_object_set_new(o, "key", b64_string(key, strlen(key)));
	char *body = dump(o);
	int rc = post(e, "/v3/kv/deleterange", body, &resp, err, errlen);
	free(body);
	if (rc < 0)
		return -1;
	rc = etcd_parse_plain(resp.status, resp.body, resp.body_len, deleted,
	    err, errlen);
	http_resp_release(&resp);
	return rc;
}

static json_t *compare_create(const char *key, int64_t rev)
{
	json_t *c = json_object();
	json_object_set_new(c, "target", json_string("CREATE"));
	json_object_set_new(c, "result", json_string("EQUAL"));
	json_object_set_new(c, "key", b64_string(key, strlen(key)));
	json_object_set_new(c, "create_revision", i64_string(rev));
	json_t *a = json_array();
	json_array_append_new(a, c);
	return a;
}

static int txn(struct etcd *e, json_t *o, bool *succeeded, int64_t *rev,
    struct etcd_kv *holder, char *err, size_t errlen)
{
	struct http_resp resp;
	char *body = dump(o);
	int rc = post(e, "/v3/kv/txn", body, &resp, err, errlen);

	free(body);
	if (rc < 0)
		return -1;
	rc = etcd_parse_txn(resp.status, resp.body, resp.body_len, succeeded,
	    rev, holder, err, errlen);
	http_resp_release(&resp);
	return rc;
}

int etcd_create(struct etcd *e, const char *key, const char *value,
    int64_t lease, bool *created, int64_t *revision, struct etcd_kv *holder,
    char *err, size_t errlen)
{
	json_t *o = json_object();
	json_t *put = json_object();
	json_t *range = json_object();

	json_object_set_new(o, "compare", compare_create(key, 0));
	json_object_set_new(put, "key", b64_string(key, strlen(key)));
	json_object_set_new(put, "value", b64_string(value, strlen(value)));
	if (lease)
		json_object_set_new(put, "lease", i64_string(lease));
	json_object_set_new(o, "success", json_pack("[{s:o}]", "request_put",
	    put));
	json_object_set_new(range, "key", b64_string(key, strlen(key)));
	json_object_set_new(o, "failure", json_pack("[{s:o}]",
	    "request_range", range));
	return txn(e, o, created, revision, holder, err, errlen);
}

int etcd_check_create_revision(struct etcd *e, const char *key,
    int64_t create_revision, bool *holds, char *err, size_t errlen)
{
	json_t *o = json_object();
	int64_t rev;

	*holds = false;
	if (create_revision <= 0) {
		json_decref(o);
		err_set(err, errlen, "fencing revision %" PRId64 " is not "
		    "positive", create_revision);
		return -1;
	}
	json_object_set_new(o, "compare", compare_create(key,
	    create_revision));
	return txn(e, o, holds, &rev, NULL, err, errlen);
}
