/*
 * test_s3.c - the object store's parsers and arithmetic, table-driven (the
 * XML reader and S3's documents are in test_xml.c, credentials in
 * test_creds.c, ETags and checksums in test_digest.c, the rate limiter in
 * test_ratelimit.c): part sizes, backoff, listings and errors, URL and
 * addressing, and a local-store round trip through the backend dispatch.
 *
 * With "--cli ..." it is instead a tiny command-line client over s3.h, the
 * driver of tests/e2e/test_s3_*.py (pytest cannot call C):
 *
 *   test_s3 --cli [options] put KEY FILE        upload, prints etag/md5/parts
 *                                               (--md5: the precomputed Content-MD5)
 *   test_s3 --cli [options] get KEY FILE        download (--size, --md5, --sha256)
 *   test_s3 --cli [options] range KEY OFF LEN FILE
 *   test_s3 --cli [options] head KEY            exit 2 when missing
 *   test_s3 --cli [options] list [PREFIX]       every key, page by page
 *   test_s3 --cli [options] put-many PREFIX N   N small objects
 *   test_s3 --cli [options] put-files PREFIX FILE...  --parallel files at once
 *   test_s3 --cli [options] delete-batch FILE   keys one per line
 *   test_s3 --cli [options] sign METHOD KEY|- [k=v ...] [-H name:value ...]
 *
 * options: --url URL (required) --endpoint URL --region R --path-style
 * --vhost --part-size N --threshold N --parallel N --rate N --max-keys N
 * --access-key K --secret-key S --token T --payload HASH --date EPOCH
 * --attempts N.  Credentials otherwise come from AWS_* variables.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/http.h"
#include "../../common/md5.h"
#include "../../common/s3.h"
#include "../../common/util.h"
#include "t.h"

/* ---------------- unit tests ---------------- */

static void test_part_size(void)
{
	static const struct {
		uint64_t size, want, part;
		unsigned nparts;
	} rows[] = {
		{ 0, 0, 32ull << 20, 1 },
		{ 1, 0, 32ull << 20, 1 },
		{ 32ull << 20, 0, 32ull << 20, 1 },
		{ (32ull << 20) + 1, 0, 32ull << 20, 2 },
		{ 100ull << 20, 8ull << 20, 8ull << 20, 13 },
		{ 100ull << 20, 1ull << 20, 5ull << 20, 20 },	/* raised to 5 MiB */
		{ 5ull << 40, 0, 525ull << 20, 9987 },		/* 5 TiB: 10,000 parts max */
		{ 160000ull << 20, 16ull << 20, 16ull << 20, 10000 },
		{ (160000ull << 20) + 1, 16ull << 20, 17ull << 20, 9412 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		unsigned n = 0;
		uint64_t p = s3_part_size(rows[i].size, rows[i].want, &n);
		T_CHECK(p == rows[i].part, "row %zu: part %" PRIu64, i, p);
		T_CHECK(n == rows[i].nparts, "row %zu: parts %u", i, n);
		T_CHECK(n <= S3_MAX_PARTS, "row %zu: too many parts", i);
		T_CHECK(p * n >= rows[i].size, "row %zu: parts do not cover", i);
	}
}

static void test_backoff(void)
{
	static const uint32_t rnds[] = { 0, 1, 77, 0xffffffffu, 123456789 };
	for (int attempt = 0; attempt < 20; attempt++) {
		long d = 100;
		for (int i = 0; i < attempt && d < 20000; i++)
			d *= 2;
		if (d > 20000)
			d = 20000;
		for (size_t r = 0; r < ARRAY_SIZE(rnds); r++) {
			long ms = s3_backoff_ms(attempt, 100, 20000, rnds[r]);
			T_CHECK(ms >= d / 2 && ms <= d, "attempt %d: %ld not in "
			    "[%ld, %ld]", attempt, ms, d / 2, d);
		}
	}
	T_EQ_INT(s3_backoff_ms(0, 100, 20000, 0), 50);
	T_EQ_INT(s3_backoff_ms(0, 100, 20000, 50), 100);
	T_EQ_INT(s3_backoff_ms(3, 100, 20000, 0), 400);
	T_EQ_INT(s3_backoff_ms(30, 100, 20000, 0), 10000);
	/* Jitter spreads: not every random value gives the same delay. */
	T_CHECK(s3_backoff_ms(5, 100, 20000, 1) !=
	    s3_backoff_ms(5, 100, 20000, 999), "no jitter");
}

static void test_list_parse(void)
{
	static const char ok[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Name>b</Name><Prefix>p/</Prefix><KeyCount>3</KeyCount>"
	    "<MaxKeys>3</MaxKeys><IsTruncated>true</IsTruncated>"
	    "<Contents><Key>p/a b</Key><LastModified>2009-10-12T17:50:30.000Z"
	    "</LastModified><ETag>&quot;fba9dede5f27731c9771645a39863328&quot;"
	    "</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass>"
	    "</Contents>"
	    "<Contents><Key>p/&lt;x&gt;&amp;&#233;&#x1F600;</Key>"
	    "<Size>0</Size><ETag>\"e-2\"</ETag></Contents>"
	    "<!-- a comment --><Contents><Key><![CDATA[p/<raw>]]></Key>"
	    "<Size> 7 </Size></Contents>"
	    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
	    "</NextContinuationToken></ListBucketResult>\n";
	struct s3_list l;
	char err[256];

	T_EQ_INT(s3_parse_list(ok, strlen(ok), &l, err, sizeof(err)), 0);
	T_EQ_INT(l.n, 3);
	if (l.n == 3) {
		T_EQ_STR(l.objs[0].key, "p/a b");
		T_EQ_INT(l.objs[0].size, 434234);
		T_EQ_INT(l.objs[0].mtime, 1255369830);
		T_EQ_STR(l.objs[0].etag, "fba9dede5f27731c9771645a39863328");
		T_EQ_STR(l.objs[1].key, "p/<x>&\xc3\xa9\xf0\x9f\x98\x80");
		T_EQ_STR(l.objs[1].etag, "e-2");
		T_EQ_STR(l.objs[2].key, "p/<raw>");
		T_EQ_INT(l.objs[2].size, 7);
	}
	T_CHECK(l.truncated, "truncated");
	T_EQ_STR(l.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	s3_list_release(&l);

	static const char last[] = "<ListBucketResult><IsTruncated>false"
	    "</IsTruncated></ListBucketResult>";
	T_EQ_INT(s3_parse_list(last, strlen(last), &l, err, sizeof(err)), 0);
	T_EQ_INT(l.n, 0);
	T_CHECK(!l.truncated && l.next_token == NULL, "last page");
	s3_list_release(&l);

	/* Garbage and malformed documents: an error naming the problem. */
	static const struct {
		const char *xml;
		const char *needle;
	} bad[] = {
		{ "", "empty" },
		{ "not xml at all", "malformed XML at byte 0" },
		{ "<ListBucketResult>", "no element found" },
		{ "<ListBucketResult><Contents><Key>a</Key></ListBucketResult>",
		  "mismatched tag" },
		{ "<ListBucketResult><Contents><Key>a</Key><Size>x</Size>"
		  "</Contents></ListBucketResult>", "bad <Size> for key 'a'" },
		{ "<ListBucketResult><Contents><Size>1</Size></Contents>"
		  "</ListBucketResult>", "no <Key>" },
		{ "<ListBucketResult><Contents><Key>a&bogus;</Key>"
		  "</Contents></ListBucketResult>", "undefined entity" },
		{ "<ListBucketResult><Contents><Key>&#0;</Key>"
		  "</Contents></ListBucketResult>", "invalid character number" },
		{ "<ListBucketResult><Contents><Key>&#x110000;</Key>"
		  "</Contents></ListBucketResult>", "invalid character number" },
		{ "<ListBucketResult></ListBucketResult>trailing", "junk after "
		  "document element" },
		{ "<ListBucketResult a=\"unterminated></ListBucketResult>",
		  "not well-formed" },
		{ "<Error><Code>AccessDenied</Code></Error>", "expected "
		  "<ListBucketResult>" },
		{ "<ListBucketResult><IsTruncated>true</IsTruncated>"
		  "</ListBucketResult>", "no <NextContinuationToken>" },
		{ "<ListBucketResult><!-- never closed", "unclosed token" },
		{ "<ListBucketResult><![CDATA[ never closed", "unclosed CDATA" },
		{ "<ListBucketResult><Contents><Key>a</Key><Size>1</Size>"
		  "</Contents><Contents><Key>b", "no element found" },
		{ "<></>", "malformed XML at byte 1" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		int rc = s3_parse_list(bad[i].xml, strlen(bad[i].xml), &l, err,
		    sizeof(err));
		T_CHECK(rc == -1 && strstr(err, bad[i].needle) != NULL,
		    "bad[%zu]: rc %d err '%s', want '%s'", i, rc, err,
		    bad[i].needle);
		T_CHECK(l.n == 0 && l.objs == NULL, "bad[%zu]: left data", i);
	}

	/* Deep nesting stops at the depth limit instead of the stack. */
	{
		size_t depth = 10000;
		char *deep = xmalloc(depth * 3 + 1), *p = deep;
		for (size_t i = 0; i < depth; i++) {
			memcpy(p, "<a>", 3);
			p += 3;
		}
		*p = '\0';
		T_EQ_INT(s3_parse_list(deep, strlen(deep), &l, err,
		    sizeof(err)), -1);
		T_CHECK(strstr(err, "nested too deeply") != NULL, "%s", err);
		free(deep);
	}

	/* Random bytes never crash the parser, and every input it refuses
	 * gets a reason. */
	{
		unsigned char buf[512];
		int silent = 0;
		for (int round = 0; round < 2000; round++) {
			size_t n = 1 + (size_t)round % sizeof(buf);
			random_bytes(buf, n);
			/* Bias toward markup so the parser goes deep. */
			for (size_t i = 0; i < n; i += 7)
				buf[i] = (unsigned char)"<>/&;!["[buf[i] % 7];
			err[0] = '\0';
			if (s3_parse_list((const char *)buf, n, &l, err,
			    sizeof(err)) == 0)
				s3_list_release(&l);
			else if (err[0] == '\0')
				silent++;
		}
		T_EQ_INT(silent, 0);
	}
}

static void test_error_parse(void)
{
	static const char e[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<Error><Code>NoSuchKey</Code><Message>The resource you requested "
	    "does not exist</Message><Resource>/b/k</Resource>"
	    "<RequestId>4442587FB7D0A2F9</RequestId></Error>";
	char code[64], msg[128];

	T_EQ_INT(s3_parse_error(e, strlen(e), code, sizeof(code), msg,
	    sizeof(msg)), 0);
	T_EQ_STR(code, "NoSuchKey");
	T_EQ_STR(msg, "The resource you requested does not exist");

	static const char slow[] = "<Error><Code>SlowDown</Code></Error>";
	T_EQ_INT(s3_parse_error(slow, strlen(slow), code, sizeof(code), msg,
	    sizeof(msg)), 0);
	T_EQ_STR(code, "SlowDown");
	T_EQ_STR(msg, "");

	static const char *const notone[] = {
		"", "<html>502 Bad Gateway</html>", "<Error><Code>x",
		"<ListBucketResult/>", "\x01\x02garbage",
	};
	for (size_t i = 0; i < ARRAY_SIZE(notone); i++)
		T_EQ_INT(s3_parse_error(notone[i], strlen(notone[i]), code,
		    sizeof(code), msg, sizeof(msg)), -1);
}

static void test_multipart_etag(void)
{
	unsigned char m[2][16];
	char out[80];
	md5("a", 1, m[0]);
	md5("b", 1, m[1]);
	s3_multipart_etag((const unsigned char (*)[16])m, 2, out);
	T_EQ_STR(out, "96e024ba2074fe77e8e965ba43a704be-2");
}

static void test_open(void)
{
	struct s3_opts o;
	char err[256];
	struct s3 *s;

	s3_opts_init(&o);
	o.access_key = "AK";
	o.secret_key = "SK";
	static const struct {
		const char *url;
		const char *endpoint;
		const char *needle;
	} bad[] = {
		{ "ftp://x", NULL, "unknown storage URL" },
		{ "s3://", NULL, "no bucket" },
		{ "s3://bad*bucket/p", NULL, "bad bucket name" },
		{ "s3://b/p", "127.0.0.1:9000", "must start with http" },
		{ "s3://b/p", "http://h:1/path", "no path" },
		{ "file://relative/dir", NULL, "absolute path" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		o.endpoint = bad[i].endpoint;
		err[0] = '\0';
		s = s3_open(bad[i].url, &o, err, sizeof(err));
		T_CHECK(s == NULL && strstr(err, bad[i].needle),
		    "%s: '%s'", bad[i].url, err);
		s3_close(s);
	}
	o.endpoint = NULL;

	/* No credentials anywhere: refused with what to set. */
	{
		struct s3_opts n;
		char *ak = getenv("AWS_ACCESS_KEY_ID");
		s3_opts_init(&n);
		ak = ak ? xstrdup(ak) : NULL;
		unsetenv("AWS_ACCESS_KEY_ID");
		s = s3_open("s3://bucket", &n, err, sizeof(err));
		T_CHECK(s == NULL && strstr(err, "AWS_ACCESS_KEY_ID"), "%s",
		    err);
		s3_close(s);
		if (ak)
			setenv("AWS_ACCESS_KEY_ID", ak, 1);
		free(ak);
	}

	/* Addressing: the URL each style produces, keys encoded once. */
	static const struct {
		const char *url, *endpoint, *region;
		enum s3_addressing addr;
		const char *key, *want;
	} addr[] = {
		{ "s3://bucket/pre", NULL, "eu-west-1", S3_ADDR_AUTO, "a b/c",
		  "URL https://bucket.s3.eu-west-1.amazonaws.com/pre/a%20b/c\n" },
		{ "s3://bucket/pre/", NULL, "eu-west-1", S3_ADDR_PATH, "k",
		  "URL https://s3.eu-west-1.amazonaws.com/bucket/pre/k\n" },
		{ "s3://My.Bucket", NULL, "us-east-1", S3_ADDR_AUTO, "k",
		  "URL https://s3.us-east-1.amazonaws.com/My.Bucket/k\n" },
		{ "s3://bucket", "http://127.0.0.1:4568", NULL, S3_ADDR_AUTO,
		  "x/\xe1\x88\xb4+y", "URL http://127.0.0.1:4568/bucket/x/%E1%88%B4%2By\n" },
		{ "s3://bucket", "http://localhost:4568/", NULL, S3_ADDR_VHOST,
		  "k", "URL http://bucket.localhost:4568/k\n" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(addr); i++) {
		o.endpoint = addr[i].endpoint;
		o.region = addr[i].region;
		o.addressing = addr[i].addr;
		s = s3_open(addr[i].url, &o, err, sizeof(err));
		T_CHECK(s != NULL, "%s: %s", addr[i].url, err);
		if (s == NULL)
			continue;
		char *text = s3_sign_debug(s, "GET", addr[i].key, NULL, 0,
		    NULL, 0, NULL, 1440938160);
		T_CHECK(str_starts_with(text, addr[i].want), "%s: %s",
		    addr[i].url, text);
		free(text);
		s3_close(s);
	}

	/* What the S3 backend answers without contacting the server: the
	 * Content-MD5 threshold and refused keys. */
	o.endpoint = "http://127.0.0.1:9";
	o.region = NULL;
	o.addressing = S3_ADDR_AUTO;
	o.multipart_threshold = 1000;
	s = s3_open("s3://bucket/pre", &o, err, sizeof(err));
	T_CHECK(s != NULL, "%s", err);
	if (s) {
		T_CHECK(!s3_is_local(s), "s3 store is local");
		T_CHECK(s3_put_uses_md5(s, 1000), "single PUT at threshold");
		T_CHECK(!s3_put_uses_md5(s, 1001), "multipart above it");
		char *d = s3_describe(s, "k");
		T_EQ_STR(d, "s3://bucket/pre/k");
		free(d);
		char *longkey = xmalloc(902);
		memset(longkey, 'k', 901);
		longkey[901] = '\0';
		struct s3_stat st;
		T_EQ_INT(s3_head(s, "", &st, err, sizeof(err)), -1);
		T_CHECK(strstr(err, "empty object key") != NULL, "%s", err);
		T_EQ_INT(s3_put_mem(s, longkey, "x", 1, NULL, NULL, err,
		    sizeof(err)), -1);
		T_CHECK(strstr(err, "longer than 900 bytes") != NULL, "%s", err);
		char *data;
		size_t len;
		T_EQ_INT(s3_get_mem(s, NULL, 10, &data, &len, err, sizeof(err)),
		    -1);
		T_CHECK(data == NULL && len == 0, "get_mem output");
		free(longkey);
		s3_close(s);
	}
	o.multipart_threshold = 0;
	o.endpoint = NULL;
}

static int count_key(void *arg, const struct s3_object *o)
{
	(void)o;
	(*(int *)arg)++;
	return 0;
}

/* The file backend end to end, in a temporary directory. */
static void test_local(void)
{
	char dir[] = "/tmp/test_s3.XXXXXX", err[512];
	if (mkdtemp(dir) == NULL) {
		T_CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	char *url = xasprintf("file://%s/store", dir);
	struct s3 *s = s3_open(url, NULL, err, sizeof(err));
	T_CHECK(s != NULL, "%s", err);
	if (s == NULL)
		goto out;
	T_CHECK(s3_is_local(s), "file store not local");
	T_CHECK(!s3_put_uses_md5(s, 1), "file store sends Content-MD5");
	T_CHECK(s3_sign_debug(s, "GET", "k", NULL, 0, NULL, 0, NULL, 0) ==
	    NULL, "file store signs");
	struct s3_put_info pi;
	T_EQ_INT(s3_put_mem(s, "a/b/c.txt", "hello", 5, NULL, &pi, err,
	    sizeof(err)), 0);
	T_EQ_STR(pi.md5, "5d41402abc4b2a76b9719d911017c592");
	char *data;
	size_t len;
	T_EQ_INT(s3_get_mem(s, "a/b/c.txt", 100, &data, &len, err,
	    sizeof(err)), 0);
	T_CHECK(len == 5 && memcmp(data, "hello", 5) == 0, "content");
	free(data);
	T_EQ_INT(s3_get_mem(s, "a/b/c.txt", 4, &data, &len, err,
	    sizeof(err)), -1);
	T_EQ_INT(s3_get_mem(s, "missing", 4, &data, &len, err, sizeof(err)),
	    S3_NOT_FOUND);
	T_CHECK(strstr(err, "no such key") != NULL, "%s", err);
	static const char *const badkeys[] = { "../x", "a/../../x", "/abs",
	    "a//b", "a/./b", "", ".rmtmp-x" };
	for (size_t i = 0; i < ARRAY_SIZE(badkeys); i++)
		T_EQ_INT(s3_put_mem(s, badkeys[i], "x", 1, NULL, NULL, err,
		    sizeof(err)), -1);
	for (int i = 0; i < 25; i++) {
		char k[32];
		snprintf(k, sizeof(k), "many/%02d", i);
		T_EQ_INT(s3_put_mem(s, k, k, strlen(k), NULL, NULL, err,
		    sizeof(err)), 0);
	}
	int n = 0;
	T_EQ_INT(s3_list_all(s, "many/", 7, count_key, &n, err, sizeof(err)),
	    0);
	T_EQ_INT(n, 25);
	n = 0;
	T_EQ_INT(s3_list_all(s, "", 0, count_key, &n, err, sizeof(err)), 0);
	T_EQ_INT(n, 26);
	const char *del[] = { "many/00", "many/01", "nothing-here" };
	size_t deleted = 0;
	T_EQ_INT(s3_delete(s, del, 3, &deleted, err, sizeof(err)), 0);
	T_EQ_INT(deleted, 3);
	n = 0;
	T_EQ_INT(s3_list_all(s, "many/", 0, count_key, &n, err, sizeof(err)),
	    0);
	T_EQ_INT(n, 23);
	struct s3_stat st;
	T_EQ_INT(s3_head(s, "many/05", &st, err, sizeof(err)), 0);
	T_EQ_INT(st.size, 7);
	T_EQ_INT(s3_head(s, "many/00", &st, err, sizeof(err)), S3_NOT_FOUND);
	s3_close(s);
out:
	free(url);
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		T_CHECK(0, "cannot remove %s", dir);
	free(cmd);
}

/* ---------------- the CLI driver ---------------- */

/* put-files: files shared out to threads, as the agent will do. */
struct put_files {
	struct s3 *s;
	const char *prefix;
	char **files;
	int n, next, failed;
	pthread_mutex_t mu;
	char err[1024];
};

static void *put_files_worker(void *arg)
{
	struct put_files *pf = arg;
	char err[1024];
	for (;;) {
		pthread_mutex_lock(&pf->mu);
		int i = pf->failed ? pf->n : pf->next++;
		pthread_mutex_unlock(&pf->mu);
		if (i >= pf->n)
			return NULL;
		const char *base = strrchr(pf->files[i], '/');
		char *key = xasprintf("%s%s", pf->prefix,
		    base ? base + 1 : pf->files[i]);
		int rc = s3_put_file(pf->s, key, pf->files[i], NULL, NULL, err,
		    sizeof(err));
		free(key);
		if (rc != 0) {
			pthread_mutex_lock(&pf->mu);
			if (!pf->failed++)
				str_copy(pf->err, err, sizeof(pf->err));
			pthread_mutex_unlock(&pf->mu);
		}
	}
}

static int cli_usage(void)
{
	fprintf(stderr, "usage: test_s3 --cli --url URL [options] "
	    "put|get|range|head|list|delete-batch|sign ...\n");
	return 64;
}

static int print_key(void *arg, const struct s3_object *o)
{
	(*(int *)arg)++;
	printf("%s\t%" PRIu64 "\t%s\n", o->key, o->size, o->etag);
	return 0;
}

static int cli(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cli", no_argument, NULL, 'C' },
		{ "url", required_argument, NULL, 'u' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "region", required_argument, NULL, 'r' },
		{ "path-style", no_argument, NULL, 'P' },
		{ "vhost", no_argument, NULL, 'V' },
		{ "part-size", required_argument, NULL, 'p' },
		{ "threshold", required_argument, NULL, 't' },
		{ "parallel", required_argument, NULL, 'j' },
		{ "rate", required_argument, NULL, 'R' },
		{ "max-keys", required_argument, NULL, 'm' },
		{ "access-key", required_argument, NULL, 'a' },
		{ "secret-key", required_argument, NULL, 's' },
		{ "token", required_argument, NULL, 'T' },
		{ "payload", required_argument, NULL, 'h' },
		{ "date", required_argument, NULL, 'd' },
		{ "attempts", required_argument, NULL, 'A' },
		{ "size", required_argument, NULL, 'S' },
		{ "md5", required_argument, NULL, 'M' },
		{ "sha256", required_argument, NULL, 'H' },
		{ "sign-payload", no_argument, NULL, 'X' },
		{ "header", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	struct s3_opts o;
	struct s3_get_opts g = { .size = S3_SIZE_ANY };
	const char *url = NULL, *payload = NULL;
	int max_keys = 0, c, rc = 1;
	time_t date = 0;
	struct sigv4_header hdrs[16];
	size_t nh = 0;
	char err[1024] = "";

	s3_opts_init(&o);
	while ((c = getopt_long(argc, argv, "x:", longopts, NULL)) != -1) {
		switch (c) {
		case 'C': break;
		case 'u': url = optarg; break;
		case 'e': o.endpoint = optarg; break;
		case 'r': o.region = optarg; break;
		case 'P': o.addressing = S3_ADDR_PATH; break;
		case 'V': o.addressing = S3_ADDR_VHOST; break;
		case 'p': o.part_size = strtoull(optarg, NULL, 10); break;
		case 't': o.multipart_threshold = strtoull(optarg, NULL, 10); break;
		case 'j': o.parallel = atoi(optarg); break;
		case 'R': o.rate_limit = strtoull(optarg, NULL, 10); break;
		case 'm': max_keys = atoi(optarg); break;
		case 'a': o.access_key = optarg; break;
		case 's': o.secret_key = optarg; break;
		case 'T': o.session_token = optarg; break;
		case 'h': payload = optarg; break;
		case 'd': date = (time_t)strtoll(optarg, NULL, 10); break;
		case 'A': o.max_attempts = atoi(optarg); break;
		case 'S': g.size = strtoull(optarg, NULL, 10); break;
		case 'M': g.md5 = optarg; break;
		case 'H': g.sha256 = optarg; break;
		case 'X': o.sign_payload = true; break;
		case 'x': {
			char *colon = strchr(optarg, ':');
			if (colon == NULL || nh == ARRAY_SIZE(hdrs))
				return cli_usage();
			*colon = '\0';
			hdrs[nh].name = optarg;
			hdrs[nh].value = colon + 1;
			nh++;
			break;
		}
		default: return cli_usage();
		}
	}
	if (url == NULL || optind >= argc)
		return cli_usage();
	const char *cmd = argv[optind++];
	int nargs = argc - optind;
	char **args = argv + optind;

	if (http_global_init() < 0) {
		fprintf(stderr, "cannot initialise libcurl\n");
		return 1;
	}
	struct s3 *s = s3_open(url, &o, err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "%s\n", err);
		http_global_cleanup();
		return 1;
	}
	if (strcmp(cmd, "put") == 0 && nargs == 2) {
		struct s3_put_info pi;
		struct s3_put_opts po = { .sha256 = g.sha256,
		    .content_md5 = g.md5 };
		if (s3_put_file(s, args[0], args[1], &po, &pi, err,
		    sizeof(err)) == 0) {
			printf("size=%" PRIu64 " etag=%s md5=%s parts=%u "
			    "part_size=%" PRIu64 "\n", pi.size, pi.etag,
			    pi.md5, pi.parts, pi.part_size);
			rc = 0;
		}
	} else if (strcmp(cmd, "get") == 0 && nargs == 2) {
		struct s3_stat st;
		rc = s3_get_file(s, args[0], args[1], &g, &st, err,
		    sizeof(err));
		if (rc == 0)
			printf("size=%" PRIu64 " etag=%s part_size=%" PRIu64
			    " sha256=%s\n", st.size, st.etag, st.part_size,
			    st.sha256);
		else if (rc == S3_NOT_FOUND)
			rc = 2;
	} else if (strcmp(cmd, "range") == 0 && nargs == 4) {
		int fd = open(args[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			snprintf(err, sizeof(err), "%s: %s", args[3],
			    strerror(errno));
		} else {
			rc = s3_get_range(s, args[0],
			    strtoull(args[1], NULL, 10),
			    strtoull(args[2], NULL, 10), fd, 0, err,
			    sizeof(err));
			close(fd);
			if (rc == S3_NOT_FOUND)
				rc = 2;
		}
	} else if (strcmp(cmd, "head") == 0 && nargs == 1) {
		struct s3_stat st;
		rc = s3_head(s, args[0], &st, err, sizeof(err));
		if (rc == 0)
			printf("size=%" PRIu64 " etag=%s mtime=%" PRId64
			    " part_size=%" PRIu64 " sha256=%s\n", st.size,
			    st.etag, st.mtime, st.part_size, st.sha256);
		else if (rc == S3_NOT_FOUND)
			rc = 2;
	} else if (strcmp(cmd, "list") == 0 && nargs <= 1) {
		/* Page by page so the test can count the pages. */
		char *token = NULL;
		int pages = 0, n = 0;
		rc = 0;
		do {
			struct s3_list l;
			if (s3_list_page(s, nargs ? args[0] : "", token,
			    max_keys, &l, err, sizeof(err)) < 0) {
				rc = 1;
				break;
			}
			pages++;
			for (size_t i = 0; i < l.n; i++)
				print_key(&n, &l.objs[i]);
			free(token);
			token = l.next_token;
			l.next_token = NULL;
			s3_list_release(&l);
		} while (token);
		free(token);
		fprintf(stderr, "pages=%d keys=%d\n", pages, n);
	} else if (strcmp(cmd, "put-files") == 0 && nargs >= 2) {
		struct put_files pf = { .s = s, .prefix = args[0],
		    .files = args + 1, .n = nargs - 1 };
		int nt = o.parallel > 0 ? o.parallel : 8;
		pthread_t t[64];
		pthread_mutex_init(&pf.mu, NULL);
		if (nt > 64)
			nt = 64;
		for (int i = 0; i < nt; i++)
			pthread_create(&t[i], NULL, put_files_worker, &pf);
		for (int i = 0; i < nt; i++)
			pthread_join(t[i], NULL);
		pthread_mutex_destroy(&pf.mu);
		rc = pf.failed ? 1 : 0;
		str_copy(err, pf.err, sizeof(err));
	} else if (strcmp(cmd, "put-many") == 0 && nargs == 2) {
		/* N small objects PREFIX00000..., each holding its own key. */
		int n = atoi(args[1]);
		rc = 0;
		for (int i = 0; i < n && rc == 0; i++) {
			char *k = xasprintf("%s%05d", args[0], i);
			rc = s3_put_mem(s, k, k, strlen(k), NULL, NULL, err,
			    sizeof(err));
			free(k);
		}
	} else if (strcmp(cmd, "delete-batch") == 0 && nargs == 1) {
		size_t len, n = 0, deleted = 0;
		char *text = file_read_all(args[0], 64u << 20, &len);
		char **keys = NULL;
		if (text == NULL) {
			snprintf(err, sizeof(err), "cannot read %s", args[0]);
		} else {
			for (char *line = strtok(text, "\n"); line;
			    line = strtok(NULL, "\n")) {
				keys = xrealloc(keys, (n + 1) * sizeof(*keys));
				keys[n++] = line;
			}
			rc = s3_delete(s, (const char *const *)keys, n,
			    &deleted, err, sizeof(err)) == 0 ? 0 : 1;
			printf("deleted=%zu\n", deleted);
		}
		free(keys);
		free(text);
	} else if (strcmp(cmd, "sign") == 0 && nargs >= 2) {
		struct sigv4_param params[16];
		size_t np = 0;
		for (int i = 2; i < nargs && np < ARRAY_SIZE(params); i++) {
			char *eq = strchr(args[i], '=');
			params[np].key = args[i];
			params[np].value = "";
			if (eq) {
				*eq = '\0';
				params[np].value = eq + 1;
			}
			np++;
		}
		char *text = s3_sign_debug(s, args[0],
		    strcmp(args[1], "-") ? args[1] : NULL, params, np, hdrs, nh,
		    payload, date ? date : time(NULL));
		if (text) {
			fputs(text, stdout);
			free(text);
			rc = 0;
		}
	} else {
		s3_close(s);
		http_global_cleanup();
		return cli_usage();
	}
	if (rc != 0 && err[0])
		fprintf(stderr, "%s\n", err);
	if (rc < 0)
		rc = 1;
	s3_close(s);
	http_global_cleanup();
	return rc;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--cli") == 0)
		return cli(argc, argv);
	test_part_size();
	test_backoff();
	test_list_parse();
	test_error_parse();
	test_multipart_etag();
	test_open();
	test_local();
	return t_done("test_s3");
}
