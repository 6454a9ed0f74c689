/*
 * fuzz_etcd.c - etcd's answers come from the network: the parsers of
 * orchestrator/ha/etcd.h (grant, keepalive, range, txn, plain), the
 * endpoint list from the configuration and the base64 its keys and values
 * travel in.
 *
 * Input: one byte picking the parser, one byte picking the HTTP status,
 * then the body (or the endpoint list, or the base64 text).  One target
 * for all of them, since each costs run time in the test suite; the
 * selector bytes let the seeds (real etcd 3.4.23 answers) reach every one.
 *
 * Checks: a refused answer says why, in one printable line (the message
 * goes to logs and events) and leaves nothing for the caller to free; an
 * accepted one holds what the header promises (positive lease and
 * revisions, a NUL-terminated value of value_len bytes, endpoints that
 * survive being listed again); base64 decodes what it encoded.
 */
#include <inttypes.h>
#include <stdbool.h>

#include "../../orchestrator/ha/etcd.h"
#include "fuzz.h"

/* The lease the keepalive seeds were captured for. */
#define SEED_LEASE INT64_C(4111120484761159429)

enum { P_GRANT, P_KEEPALIVE, P_RANGE, P_TXN, P_PLAIN, P_ENDPOINTS, P_B64,
	P_COUNT };

static const long statuses[] = { 200, 200, 200, 200, 400, 404, 500, 503 };

/* A refusal: a reason, on one printable line. */
static void refused(const char *what, const char *err)
{
	FUZZ_ASSERT(err[0] != '\0', "%s refused silently", what);
	for (const char *p = err; *p; p++)
		FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f,
		    "%s: control byte 0x%02x in '%s'", what,
		    (unsigned char)*p, err);
}

static bool kv_zero(const struct etcd_kv *kv)
{
	return kv->key == NULL && kv->value == NULL && kv->value_len == 0;
}

static void kv_check(const struct etcd_kv *kv, const char *what)
{
	FUZZ_ASSERT(kv->key != NULL && kv->value != NULL, "%s: kv lacks key "
	    "or value", what);
	FUZZ_ASSERT(kv->value[kv->value_len] == '\0', "%s: value not "
	    "terminated", what);
	FUZZ_ASSERT(kv->create_revision > 0 && kv->mod_revision > 0,
	    "%s: revisions %" PRId64 " %" PRId64, what, kv->create_revision,
	    kv->mod_revision);
}

static void endpoints(const char *list)
{
	char *out[ETCD_MAX_ENDPOINTS], *again[ETCD_MAX_ENDPOINTS];
	char err[512] = "", joined[ETCD_MAX_ENDPOINTS * 1024 + 1];
	size_t n = 99, m = 99, off = 0;

	if (etcd_parse_endpoints(list, out, ETCD_MAX_ENDPOINTS, &n, err,
	    sizeof(err)) != 0) {
		refused("endpoints", err);
		FUZZ_ASSERT(n == 0, "refused list kept %zu endpoints", n);
		return;
	}
	FUZZ_ASSERT(n >= 1 && n <= ETCD_MAX_ENDPOINTS, "%zu endpoints", n);
	joined[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(out[i]);
		FUZZ_ASSERT(strncmp(out[i], "http://", 7) == 0 ||
		    strncmp(out[i], "https://", 8) == 0, "'%s'", out[i]);
		FUZZ_ASSERT(l > 0 && out[i][l - 1] != '/' &&
		    strpbrk(out[i], ", \t") == NULL, "'%s'", out[i]);
		/* It goes to curl as a URL and to logs as text. */
		for (const char *c = out[i]; *c; c++)
			FUZZ_ASSERT((unsigned char)*c >= 0x20 && *c != 0x7f,
			    "control byte 0x%02x in endpoint %zu",
			    (unsigned char)*c, i);
		if (off + l + 2 < sizeof(joined))
			off += (size_t)snprintf(joined + off,
			    sizeof(joined) - off, "%s%s", i ? "," : "", out[i]);
	}
	/* The list as a log line shows it must read back the same. */
	if (off < sizeof(joined) - 2) {
		FUZZ_ASSERT(etcd_parse_endpoints(joined, again,
		    ETCD_MAX_ENDPOINTS, &m, err, sizeof(err)) == 0,
		    "'%s' refused: %s", joined, err);
		FUZZ_ASSERT(m == n, "%zu endpoints, then %zu", n, m);
		for (size_t i = 0; i < m; i++) {
			FUZZ_ASSERT(strcmp(out[i], again[i]) == 0, "'%s' then "
			    "'%s'", out[i], again[i]);
			free(again[i]);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(out[i]);
}

static void b64(const char *s)
{
	char err[256] = "", *enc, *back;
	size_t len = 0, blen = 0;
	char *dec = etcd_b64_decode(s, &len, err, sizeof(err));

	if (dec == NULL) {
		refused("base64", err);
		return;
	}
	FUZZ_ASSERT(dec[len] == '\0', "decoded not terminated");
	FUZZ_ASSERT(len <= strlen(s) / 4 * 3 && len + 2 >= strlen(s) / 4 * 3,
	    "%zu bytes from %zu characters", len, strlen(s));
	enc = etcd_b64_encode(dec, len);
	FUZZ_ASSERT(strlen(enc) == strlen(s), "'%s' re-encoded as '%s'", s,
	    enc);
	back = etcd_b64_decode(enc, &blen, err, sizeof(err));
	FUZZ_ASSERT(back != NULL && blen == len && memcmp(back, dec, len) == 0,
	    "'%s' does not decode to what it encodes", enc);
	free(back);
	free(enc);
	free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024] = "";
	int64_t a = 0, b = 0;
	bool found = true, ok = true;
	struct etcd_kv kv;
	const char *body;
	size_t len;
	long status;

	if (size < 2)
		return 0;
	status = statuses[data[1] % (sizeof(statuses) / sizeof(statuses[0]))];
	/* The body exactly as http.c hands it over: not NUL-terminated, so
	 * a copy of just these bytes lets ASan see a read past the end. */
	len = size - 2;
	char *copy = malloc(len ? len : 1);
	if (copy == NULL)
		abort();
	if (len)
		memcpy(copy, data + 2, len);
	body = copy;

	switch (data[0] % P_COUNT) {
	case P_GRANT:
		if (etcd_parse_grant(status, body, len, &a, &b, err,
		    sizeof(err)) == 0)
			FUZZ_ASSERT(a > 0 && b > 0, "lease %" PRId64 " TTL %"
			    PRId64, a, b);
		else
			refused("grant", err);
		break;
	case P_KEEPALIVE:
		if (etcd_parse_keepalive(status, body, len, SEED_LEASE, &b,
		    err, sizeof(err)) == 0)
			FUZZ_ASSERT(b >= 0, "TTL %" PRId64, b);
		else
			refused("keepalive", err);
		break;
	case P_RANGE:
		if (etcd_parse_range(status, body, len, &kv, &found, err,
		    sizeof(err)) == 0) {
			if (found)
				kv_check(&kv, "range");
			else
				FUZZ_ASSERT(kv_zero(&kv), "not found, kv set");
			etcd_kv_release(&kv);
		} else {
			refused("range", err);
			FUZZ_ASSERT(!found && kv_zero(&kv), "refused range "
			    "left a kv");
		}
		break;
	case P_TXN: {
		int rc = etcd_parse_txn(status, body, len, &ok, &a, &kv, err,
		    sizeof(err));
		if (rc == 0) {
			if (ok || kv.key == NULL)
				FUZZ_ASSERT(kv_zero(&kv), "holder set on "
				    "success or without a key");
			else
				kv_check(&kv, "txn holder");
			etcd_kv_release(&kv);
		} else {
			refused("txn", err);
			FUZZ_ASSERT(kv_zero(&kv), "refused txn left a holder");
		}
		/* Without a holder the failure's record is not read, so an
		 * answer accepted with one is accepted without. */
		err[0] = '\0';
		if (etcd_parse_txn(status, body, len, &ok, &a, NULL, err,
		    sizeof(err)) != 0) {
			refused("txn without holder", err);
			FUZZ_ASSERT(rc != 0, "accepted only with a holder: %s",
			    err);
		}
		break;
	}
	case P_PLAIN:
		a = -1;
		if (etcd_parse_plain(status, body, len, &a, err,
		    sizeof(err)) != 0)
			refused("plain", err);
		break;
	case P_ENDPOINTS:
	case P_B64: {
		char *s = fuzz_cstr(data + 2, len);
		if (data[0] % P_COUNT == P_ENDPOINTS)
			endpoints(s);
		else
			b64(s);
		free(s);
		break;
	}
	}
	free(copy);
	return 0;
}
