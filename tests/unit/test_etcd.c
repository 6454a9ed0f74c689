/*
 * test_etcd.c - the etcd v3 JSON gateway client's parsers
 * (orchestrator/ha/etcd.c): lease grant, keepalive, range, transaction and
 * plain answers as etcd 3.4 writes them, its error bodies, and hostile
 * input (wrong types, numbers out of range, bad base64, truncation); the
 * endpoint list and base64.  The client against a real etcd is in
 * tests/e2e/test_ha_etcd.py.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../orchestrator/ha/etcd.h"
#include "t.h"

#define HDR "\"header\":{\"cluster_id\":\"15118495548433857066\"," \
	"\"member_id\":\"13668033151171901709\",\"revision\":\"7\"," \
	"\"raft_term\":\"2\"}"

/* Feed s as a body of exactly strlen(s) bytes, no NUL after it, so a read
 * past the end shows under the sanitizers. */
static char *exact(const char *s)
{
	size_t n = strlen(s);
	char *c = malloc(n ? n : 1);
	memcpy(c, s, n);
	return c;
}

static void test_grant(void)
{
	static const struct {
		long status;
		const char *body;
		int rc;
		int64_t id, ttl;
		const char *err;	/* substring of the error */
	} cases[] = {
		{ 200, "{" HDR ",\"ID\":\"4111120484267387909\",\"TTL\":\"5\"}",
		  0, 4111120484267387909LL, 5, NULL },
		/* Integers as JSON numbers are taken too. */
		{ 200, "{" HDR ",\"ID\":42,\"TTL\":3}", 0, 42, 3, NULL },
		{ 200, "{" HDR ",\"TTL\":\"5\"}", -1, 0, 0, "no 'ID'" },
		{ 200, "{" HDR ",\"ID\":\"1\"}", -1, 0, 0, "no 'TTL'" },
		{ 200, "{\"ID\":\"0\",\"TTL\":\"5\"}", -1, 0, 0,
		  "not positive" },
		{ 200, "{\"ID\":\"-5\",\"TTL\":\"5\"}", -1, 0, 0,
		  "not positive" },
		{ 200, "{\"ID\":\"12x\",\"TTL\":\"5\"}", -1, 0, 0,
		  "not an integer" },
		{ 200, "{\"ID\":\"\",\"TTL\":\"5\"}", -1, 0, 0,
		  "not an integer" },
		{ 200, "{\"ID\":\"99999999999999999999\",\"TTL\":\"5\"}", -1, 0,
		  0, "not an integer" },
		{ 200, "{\"ID\":\"9223372036854775808\",\"TTL\":\"5\"}", -1, 0,
		  0, "out of range" },
		{ 200, "{\"ID\":true,\"TTL\":\"5\"}", -1, 0, 0,
		  "neither a string nor an integer" },
		{ 200, "{\"ID\":\"1\",\"TTL\":[5]}", -1, 0, 0,
		  "neither a string nor an integer" },
		{ 200, "[1,2]", -1, 0, 0, "not a JSON object" },
		{ 200, "{\"ID\":\"1\",\"TTL\":\"5\"", -1, 0, 0, "not JSON" },
		{ 200, "", -1, 0, 0, "empty body" },
		{ 200, "{\"ID\":\"1\",\"TTL\":\"5\"} trailing", -1, 0, 0,
		  "not JSON" },
		/* etcd's error body, whatever the status. */
		{ 400, "{\"error\":\"etcdserver: too many requests\","
		  "\"message\":\"etcdserver: too many requests\",\"code\":8}",
		  -1, 0, 0, "etcd refused the lease grant: etcdserver: too "
		  "many requests (code 8, HTTP 400)" },
		{ 200, "{\"error\":\"boom\",\"code\":2}", -1, 0, 0,
		  "boom (code 2, HTTP 200)" },
		{ 500, "{\"error\":\"no code\"}", -1, 0, 0,
		  "no code (HTTP 500)" },
		{ 503, "{}", -1, 0, 0, "HTTP 503 and no error message" },
		/* Control characters do not reach the log. */
		{ 400, "{\"error\":\"two\\nlines\\u001b[31m\",\"code\":3}",
		  -1, 0, 0, "two?lines?[31m (code 3" },
		{ 404, "Not Found\n", -1, 0, 0, "HTTP 404: Not Found" },
		{ 502, "", -1, 0, 0, "HTTP 502" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[300] = "";
		int64_t id = -1, ttl = -1;
		char *b = exact(cases[i].body);
		int rc = etcd_parse_grant(cases[i].status, b,
		    strlen(cases[i].body), &id, &ttl, err, sizeof(err));
		free(b);
		T_EQ_INT(rc, cases[i].rc);
		if (cases[i].rc == 0) {
			T_EQ_INT(id, cases[i].id);
			T_EQ_INT(ttl, cases[i].ttl);
		} else {
			T_CHECK(strstr(err, cases[i].err) != NULL,
			    "case %zu: err '%s' lacks '%s'", i, err,
			    cases[i].err);
		}
	}
}

static void test_keepalive(void)
{
	static const struct {
		const char *body;
		int rc;
		int64_t ttl;
		const char *err;
	} cases[] = {
		{ "{\"result\":{" HDR ",\"ID\":\"77\",\"TTL\":\"5\"}}", 0, 5,
		  NULL },
		/* A lease that is gone: no TTL at all. */
		{ "{\"result\":{" HDR ",\"ID\":\"77\"}}", 0, 0, NULL },
		{ "{\"result\":{\"ID\":\"77\",\"TTL\":\"0\"}}", 0, 0, NULL },
		/* The stream may go on after the first answer. */
		{ "{\"result\":{\"ID\":\"77\",\"TTL\":\"4\"}}\n{\"result\":{}}",
		  0, 4, NULL },
		{ "{\"result\":{\"ID\":\"78\",\"TTL\":\"5\"}}", -1, 0,
		  "for lease 78, not 77" },
		{ "{\"result\":{\"TTL\":\"5\"}}", -1, 0, "no 'ID'" },
		{ "{\"result\":{\"ID\":\"77\",\"TTL\":\"-1\"}}", -1, 0,
		  "negative TTL" },
		{ "{\"result\":\"x\"}", -1, 0, "no 'result' object" },
		{ "{" HDR ",\"ID\":\"77\",\"TTL\":\"5\"}", -1, 0,
		  "no 'result' object" },
		/* The streaming calls' error shape. */
		{ "{\"error\":{\"grpc_code\":5,\"http_code\":404,\"message\":"
		  "\"etcdserver: requested lease not found\",\"http_status\":"
		  "\"Not Found\"}}", -1, 0,
		  "etcdserver: requested lease not found (code 5" },
		{ "{\"error\":{\"grpc_code\":\"5\"}}", -1, 0,
		  "no error message" },
		{ "{\"resu", -1, 0, "not JSON" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[300] = "";
		int64_t ttl = -1;
		char *b = exact(cases[i].body);
		int rc = etcd_parse_keepalive(200, b, strlen(cases[i].body),
		    77, &ttl, err, sizeof(err));
		free(b);
		T_CHECK(rc == cases[i].rc, "case %zu: rc %d err '%s'", i, rc,
		    err);
		if (cases[i].rc == 0)
			T_EQ_INT(ttl, cases[i].ttl);
		else
			T_CHECK(strstr(err, cases[i].err) != NULL,
			    "case %zu: err '%s' lacks '%s'", i, err,
			    cases[i].err);
	}
}

/* "/rm/active" and "http://a" in base64. */
#define K64 "L3JtL2FjdGl2ZQ=="
#define V64 "aHR0cDovL2E="
#define KV(extra) "{\"key\":\"" K64 "\",\"create_revision\":\"2\"," \
	"\"mod_revision\":\"3\",\"version\":\"1\",\"value\":\"" V64 "\"" extra "}"

static void test_range(void)
{
	static const struct {
		const char *body;
		int rc;
		bool found;
		const char *err;
	} cases[] = {
		{ "{" HDR ",\"kvs\":[" KV(",\"lease\":\"4111120484267387911\"")
		  "],\"count\":\"1\"}", 0, true, NULL },
		{ "{" HDR "}", 0, false, NULL },
		{ "{" HDR ",\"kvs\":[]}", 0, false, NULL },
		{ "{\"kvs\":[]}", -1, false, "no header" },
		{ "{\"header\":{}}", -1, false, "no 'revision'" },
		{ "{\"header\":[]}", -1, false, "no header" },
		{ "{" HDR ",\"kvs\":{}}", -1, false, "'kvs' is not an array" },
		{ "{" HDR ",\"kvs\":[" KV("") "," KV("") "]}", -1, false,
		  "2 kvs for one key" },
		{ "{" HDR ",\"kvs\":[7]}", -1, false, "not an object" },
		{ "{" HDR ",\"kvs\":[{\"create_revision\":\"2\","
		  "\"mod_revision\":\"2\"}]}", -1, false, "no string 'key'" },
		{ "{" HDR ",\"kvs\":[{\"key\":\"!!!!\",\"create_revision\":\"2\","
		  "\"mod_revision\":\"2\"}]}", -1, false, "bad character" },
		{ "{" HDR ",\"kvs\":[{\"key\":\"abc\",\"create_revision\":\"2\","
		  "\"mod_revision\":\"2\"}]}", -1, false, "multiple of 4" },
		/* "a\0b" as a key. */
		{ "{" HDR ",\"kvs\":[{\"key\":\"YQBi\",\"create_revision\":\"2\","
		  "\"mod_revision\":\"2\"}]}", -1, false, "NUL byte" },
		{ "{" HDR ",\"kvs\":[{\"key\":\"" K64 "\",\"value\":5,"
		  "\"create_revision\":\"2\",\"mod_revision\":\"2\"}]}", -1,
		  false, "'value' is not a string" },
		{ "{" HDR ",\"kvs\":[{\"key\":\"" K64 "\","
		  "\"mod_revision\":\"2\"}]}", -1, false,
		  "no 'create_revision'" },
		{ "{" HDR ",\"kvs\":[{\"key\":\"" K64 "\",\"create_revision\":"
		  "\"0\",\"mod_revision\":\"2\"}]}", -1, false,
		  "not positive" },
		{ "{" HDR ",\"kvs\":[{\"key\":\"" K64 "\",\"create_revision\":"
		  "\"2\",\"mod_revision\":\"2\",\"lease\":\"x\"}]}", -1, false,
		  "'lease' is not an integer" },
		{ "{\"error\":\"etcdserver: mvcc: required revision has been "
		  "compacted\",\"code\":11}", -1, false, "compacted (code 11" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[300] = "";
		struct etcd_kv kv;
		bool found = true;
		char *b = exact(cases[i].body);
		int rc = etcd_parse_range(200, b, strlen(cases[i].body), &kv,
		    &found, err, sizeof(err));
		free(b);
		T_CHECK(rc == cases[i].rc, "case %zu: rc %d err '%s'", i, rc,
		    err);
		T_CHECK(found == cases[i].found, "case %zu: found %d", i,
		    found);
		if (cases[i].rc < 0)
			T_CHECK(strstr(err, cases[i].err) != NULL,
			    "case %zu: err '%s' lacks '%s'", i, err,
			    cases[i].err);
		if (found) {
			T_EQ_STR(kv.key, "/rm/active");
			T_EQ_STR(kv.value, "http://a");
			T_EQ_INT(kv.value_len, 8);
			T_EQ_INT(kv.create_revision, 2);
			T_EQ_INT(kv.mod_revision, 3);
			T_EQ_INT(kv.version, 1);
			T_EQ_INT(kv.lease, 4111120484267387911LL);
		} else {
			T_CHECK(kv.key == NULL && kv.value == NULL,
			    "case %zu: kv left filled", i);
		}
		etcd_kv_release(&kv);
	}

	/* An absent value is the empty value. */
	char err[200] = "";
	struct etcd_kv kv;
	bool found = false;
	const char *b = "{" HDR ",\"kvs\":[{\"key\":\"" K64 "\","
	    "\"create_revision\":\"9\",\"mod_revision\":\"9\"}]}";
	T_EQ_INT(etcd_parse_range(200, b, strlen(b), &kv, &found, err,
	    sizeof(err)), 0);
	T_CHECK(found, "%s", err);
	T_EQ_STR(kv.value, "");
	T_EQ_INT(kv.value_len, 0);
	T_EQ_INT(kv.lease, 0);
	etcd_kv_release(&kv);
}

static void test_txn(void)
{
	char err[300];
	bool ok;
	int64_t rev;
	struct etcd_kv h;

	/* Won: the header's revision is the key's create_revision. */
	const char *won = "{\"header\":{\"revision\":\"12\"},\"succeeded\":true,"
	    "\"responses\":[{\"response_put\":{\"header\":{\"revision\":"
	    "\"12\"}}}]}";
	T_EQ_INT(etcd_parse_txn(200, won, strlen(won), &ok, &rev, &h, err,
	    sizeof(err)), 0);
	T_CHECK(ok, "won not seen");
	T_EQ_INT(rev, 12);
	T_CHECK(h.key == NULL, "holder filled on success");

	/* Lost: no "succeeded", the holder comes from the range. */
	const char *lost = "{" HDR ",\"responses\":[{\"response_range\":{"
	    "\"header\":{\"revision\":\"7\"},\"kvs\":[" KV(",\"lease\":\"9\"")
	    "],\"count\":\"1\"}}]}";
	char *b = exact(lost);
	T_EQ_INT(etcd_parse_txn(200, b, strlen(lost), &ok, &rev, &h, err,
	    sizeof(err)), 0);
	free(b);
	T_CHECK(!ok, "lost seen as won");
	T_EQ_INT(rev, 7);
	T_EQ_STR(h.value, "http://a");
	T_EQ_INT(h.create_revision, 2);
	T_EQ_INT(h.lease, 9);
	etcd_kv_release(&h);

	/* Lost and the key went in between: no holder, not an error. */
	const char *gone = "{" HDR ",\"responses\":[{\"response_range\":{"
	    "\"header\":{\"revision\":\"7\"}}}]}";
	T_EQ_INT(etcd_parse_txn(200, gone, strlen(gone), &ok, &rev, &h, err,
	    sizeof(err)), 0);
	T_CHECK(!ok && h.key == NULL, "gone holder");

	/* A compare-only transaction: no responses at all. */
	const char *bare = "{" HDR "}";
	T_EQ_INT(etcd_parse_txn(200, bare, strlen(bare), &ok, &rev, NULL,
	    err, sizeof(err)), 0);
	T_CHECK(!ok, "bare txn seen as succeeded");
	const char *bare_ok = "{" HDR ",\"succeeded\":true}";
	T_EQ_INT(etcd_parse_txn(200, bare_ok, strlen(bare_ok), &ok, &rev,
	    NULL, err, sizeof(err)), 0);
	T_CHECK(ok, "bare txn success missed");

	static const struct {
		const char *body;
		const char *err;
	} bad[] = {
		{ "{\"succeeded\":true}", "no header" },
		{ "{" HDR ",\"succeeded\":\"true\"}", "not a boolean" },
		{ "{" HDR ",\"responses\":{}}", "not an array" },
		{ "{" HDR ",\"responses\":[{\"response_put\":{}}]}",
		  "not a response_range" },
		{ "{" HDR ",\"responses\":[null]}", "not a response_range" },
		{ "{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":"
		  "[{\"key\":1}]}}]}", "no string 'key'" },
		{ "{\"error\":\"etcdserver: too many operations in txn "
		  "request\",\"code\":3}", "too many operations" },
		{ "{\"header\":{\"revision\":\"7\"}", "not JSON" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ok = true;
		b = exact(bad[i].body);
		int rc = etcd_parse_txn(200, b, strlen(bad[i].body), &ok, &rev,
		    &h, err, sizeof(err));
		free(b);
		T_CHECK(rc == -1 && !ok, "bad %zu: rc %d", i, rc);
		T_CHECK(strstr(err, bad[i].err) != NULL,
		    "bad %zu: err '%s' lacks '%s'", i, err, bad[i].err);
		T_CHECK(h.key == NULL, "bad %zu: holder left filled", i);
	}
}

static void test_plain(void)
{
	char err[300] = "";
	int64_t d = -1;
	const char *del = "{" HDR ",\"deleted\":\"1\"}";

	T_EQ_INT(etcd_parse_plain(200, del, strlen(del), &d, err,
	    sizeof(err)), 0);
	T_EQ_INT(d, 1);
	const char *none = "{" HDR "}";
	T_EQ_INT(etcd_parse_plain(200, none, strlen(none), &d, err,
	    sizeof(err)), 0);
	T_EQ_INT(d, 0);
	const char *nf = "{\"error\":\"etcdserver: requested lease not found\","
	    "\"message\":\"etcdserver: requested lease not found\",\"code\":5}";
	T_EQ_INT(etcd_parse_plain(400, nf, strlen(nf), NULL, err, sizeof(err)),
	    -1);
	T_CHECK(strstr(err, "requested lease not found (code 5, HTTP 400)"),
	    "%s", err);
	const char *bad = "{" HDR ",\"deleted\":{}}";
	T_EQ_INT(etcd_parse_plain(200, bad, strlen(bad), &d, err,
	    sizeof(err)), -1);
	T_CHECK(strstr(err, "'deleted'"), "%s", err);
}

static void test_endpoints(void)
{
	char *eps[ETCD_MAX_ENDPOINTS];
	size_t n;
	char err[300];

	T_EQ_INT(etcd_parse_endpoints("http://127.0.0.1:2379/, "
	    "https://e2:2379 ,http://[::1]:2379", eps, ETCD_MAX_ENDPOINTS, &n,
	    err, sizeof(err)), 0);
	T_EQ_INT(n, 3);
	if (n == 3) {
		T_EQ_STR(eps[0], "http://127.0.0.1:2379");
		T_EQ_STR(eps[1], "https://e2:2379");
		T_EQ_STR(eps[2], "http://[::1]:2379");
	}
	for (size_t i = 0; i < n; i++)
		free(eps[i]);

	static const struct {
		const char *list;
		const char *err;
	} bad[] = {
		{ "", "no etcd endpoint given" },
		{ " , ", "no etcd endpoint given" },
		{ "127.0.0.1:2379", "is not http://host:port" },
		{ "http://", "is not http://host:port" },
		{ "http://h:1/v3", "is not http://host:port" },
		{ "http://u:p@h:1", "is not http://host:port" },
		{ "http://h:1,ftp://h:2", "'ftp://h:2'" },
		{ "http://a,http://b,http://c", "more than 2" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		n = 99;
		int rc = etcd_parse_endpoints(bad[i].list, eps, 2, &n, err,
		    sizeof(err));
		T_CHECK(rc == -1 && n == 0, "bad %zu: rc %d n %zu", i, rc, n);
		T_CHECK(strstr(err, bad[i].err) != NULL,
		    "bad %zu: err '%s' lacks '%s'", i, err, bad[i].err);
	}

	/* etcd_new refuses the same list and creates nothing. */
	T_CHECK(etcd_new("localhost:2379", 0, err, sizeof(err)) == NULL,
	    "bad endpoint accepted");
	T_CHECK(strstr(err, "localhost:2379") != NULL, "%s", err);
}

static void test_base64(void)
{
	static const struct {
		const char *plain, *b64;
	} cases[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "/ringmaster/x/active", "L3JpbmdtYXN0ZXIveC9hY3RpdmU=" },
	};
	char err[200];
	size_t len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *e = etcd_b64_encode(cases[i].plain,
		    strlen(cases[i].plain));
		T_EQ_STR(e, cases[i].b64);
		free(e);
		char *d = etcd_b64_decode(cases[i].b64, &len, err,
		    sizeof(err));
		T_EQ_STR(d, cases[i].plain);
		T_EQ_INT(len, strlen(cases[i].plain));
		free(d);
	}
	unsigned char bin[256];
	for (int i = 0; i < 256; i++)
		bin[i] = (unsigned char)i;
	char *e = etcd_b64_encode(bin, sizeof(bin));
	char *d = etcd_b64_decode(e, &len, err, sizeof(err));
	T_CHECK(d && len == 256 && memcmp(d, bin, 256) == 0, "binary round "
	    "trip");
	free(e);
	free(d);

	static const char *const bad[] = {
		"Zg=", "Zg=a", "=Zg=", "Z===", "Zm9v====", "Zm 9", "Zm9v\n",
		"Zg==Zg==",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		d = etcd_b64_decode(bad[i], &len, err, sizeof(err));
		T_CHECK(d == NULL && err[0] != '\0', "bad base64 '%s' accepted",
		    bad[i]);
		free(d);
	}
}

int main(void)
{
	test_grant();
	test_keepalive();
	test_range();
	test_txn();
	test_plain();
	test_endpoints();
	test_base64();
	return t_done("test_etcd");
}
