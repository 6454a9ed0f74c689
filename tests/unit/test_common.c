/*
 * Unit tests for common/: durations (parsed, written, for people), names,
 * Cassandra versions, timed waits, RFC 3339, config files, strbuf.
 */
#include <stdlib.h>

#include "../../common/conf.h"
#include "../../common/strbuf.h"
#include "../../common/util.h"
#include "t.h"

static void test_durations(void)
{
	static const struct {
		const char *in;
		int rc;
		int64_t ms;
	} rows[] = {
		{ "500ms", 0, 500 }, { "10s", 0, 10000 }, { "5m", 0, 300000 },
		{ "1h", 0, 3600000 }, { "7d", 0, 604800000 }, { "0s", 0, 0 },
		{ "90m", 0, 5400000 }, { "10", -1, 0 }, { "s", -1, 0 },
		{ "-5s", -1, 0 }, { "5 s", -1, 0 }, { "5sec", -1, 0 },
		{ "", -1, 0 }, { "1w", -1, 0 },
		{ "99999999999999999999d", -1, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int64_t ms = -1;
		int rc = duration_parse_ms(rows[i].in, &ms);
		T_CHECK(rc == rows[i].rc, "duration '%s': rc %d", rows[i].in, rc);
		if (rc == 0)
			T_CHECK(ms == rows[i].ms, "duration '%s': %lld ms",
			    rows[i].in, (long long)ms);
	}
}

/* duration_format_ms, and duration_parse_ms reads back what it wrote. */
static void test_format(void)
{
	static const struct {
		int64_t ms;
		const char *out;
	} rows[] = {
		{ 1, "1ms" }, { 999, "999ms" }, { 1000, "1s" }, { 1500, "1500ms" },
		{ 59000, "59s" }, { 60000, "1m" }, { 90000, "90s" },
		{ 3600000, "1h" }, { 5400000, "90m" }, { 86400000, "1d" },
		{ 90000000, "25h" }, { 604800000, "7d" },
		{ INT64_MAX, "9223372036854775807ms" },
		{ 0, "0s" }, { -60000, "0s" }, { INT64_MIN, "0s" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char buf[32];
		int64_t back = -1;
		duration_format_ms(rows[i].ms, buf, sizeof(buf));
		T_EQ_STR(buf, rows[i].out);
		T_CHECK(duration_parse_ms(buf, &back) == 0 &&
		    back == (rows[i].ms > 0 ? rows[i].ms : 0),
		    "'%s' reads back as %lld, not %lld", buf, (long long)back,
		    (long long)rows[i].ms);
	}
}

/*
 * duration_human, with what its callers rely on: ringsh's "elapsed 1m 3s"
 * (docs/ringsh.md) and tables, the eviction log line's "down for 3m12s,
 * longer than node_ttl 4h0m".
 */
static void test_human(void)
{
	static const struct {
		int64_t in;
		const char *spaced, *tight;
	} rows[] = {
		{ 0, "0s", "0s" }, { 45, "45s", "45s" }, { 59, "59s", "59s" },
		{ 60, "1m 0s", "1m0s" }, { 63, "1m 3s", "1m3s" },
		{ 192, "3m 12s", "3m12s" }, { 3599, "59m 59s", "59m59s" },
		{ 3600, "1h 0m", "1h0m" }, { 3725, "1h 2m", "1h2m" },
		{ 14400, "4h 0m", "4h0m" }, { 86399, "23h 59m", "23h59m" },
		{ 86400, "1d 0h", "1d0h" }, { 90000, "1d 1h", "1d1h" },
		{ 86400 * 400 + 7200, "400d 2h", "400d2h" },
		{ -5, "0s", "0s" }, { INT64_MIN, "0s", "0s" },
		{ INT64_MAX, "106751991167300d 15h", "106751991167300d15h" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char buf[64];
		duration_human(rows[i].in, DURATION_SPACED, buf, sizeof(buf));
		T_EQ_STR(buf, rows[i].spaced);
		duration_human(rows[i].in, DURATION_TIGHT, buf, sizeof(buf));
		T_EQ_STR(buf, rows[i].tight);
	}
	/* A short buffer is cut, still a string. */
	char small[4];
	duration_human(3725, DURATION_SPACED, small, sizeof(small));
	T_EQ_STR(small, "1h ");
}

/* version_valid: what upgrade's params.version and ringagent's -v take. */
static void test_versions(void)
{
	static const struct {
		const char *in;
		bool ok;
	} rows[] = {
		{ "4.1.3", true }, { "5.0-rc1", true }, { "4", true },
		{ "4.1.1-SNAPSHOT", true },
		{ "12345678901234567890123456789012", true },
		{ "123456789012345678901234567890123", false },
		{ NULL, false }, { "", false }, { "v4.1.3", false },
		{ "-4.1", false }, { ".4", false }, { "4.1 3", false },
		{ "4.1;rm", false }, { "4.1/../x", false }, { "4.1_3", false },
		{ "4.1\n", false }, { "4.1\xc3\xa9", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		T_CHECK(version_valid(rows[i].in) == rows[i].ok,
		    "version '%s': %s", rows[i].in ? rows[i].in : "(null)",
		    rows[i].ok ? "refused" : "taken");
}

/* time_after_ms: a normalized time ms later on the clock asked for. */
static void test_after(void)
{
	static const clockid_t clocks[] = { CLOCK_REALTIME, CLOCK_MONOTONIC };
	static const int64_t mss[] = { -5, 0, 1, 999, 1000, 1500, 86400000 };

	for (size_t c = 0; c < ARRAY_SIZE(clocks); c++)
		for (size_t i = 0; i < ARRAY_SIZE(mss); i++) {
			struct timespec before, ts, after;
			int64_t want = mss[i] > 0 ? mss[i] : 0;

			clock_gettime(clocks[c], &before);
			time_after_ms(clocks[c], mss[i], &ts);
			clock_gettime(clocks[c], &after);
			T_CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L,
			    "after %lld ms: tv_nsec %ld", (long long)mss[i],
			    ts.tv_nsec);
			/* In nanoseconds: between before + ms and after + ms. */
			long double b = (long double)before.tv_sec * 1e9L +
			    before.tv_nsec + want * 1e6L;
			long double a = (long double)after.tv_sec * 1e9L +
			    after.tv_nsec + want * 1e6L;
			long double t = (long double)ts.tv_sec * 1e9L +
			    ts.tv_nsec;
			T_CHECK(t >= b && t <= a, "after %lld ms on clock %d: "
			    "%.0Lf not in [%.0Lf, %.0Lf]", (long long)mss[i],
			    (int)clocks[c], t, b, a);
		}
}

static void test_names(void)
{
	static const struct {
		const char *in;
		bool ok;
	} rows[] = {
		{ "prod", true }, { "a-b_C9", true }, { "", false },
		{ "a b", false }, { "a/b", false }, { "../x", false },
		{ "é", false },
		{ "0123456789012345678901234567890123456789012345678901234567890123", true },
		{ "01234567890123456789012345678901234567890123456789012345678901234", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		T_CHECK(name_valid(rows[i].in) == rows[i].ok, "name '%s'",
		    rows[i].in);
	T_CHECK(!name_valid(NULL), "NULL name");
}

static void test_rfc3339(void)
{
	char buf[32];
	int64_t t = 0;
	time_rfc3339(1795303035, buf, sizeof(buf));
	T_EQ_STR(buf, "2026-11-21T23:17:15Z");
	T_EQ_INT(time_parse_rfc3339("2026-11-21T23:17:15Z", &t), 0);
	T_EQ_INT(t, 1795303035);
	T_EQ_INT(time_parse_rfc3339("2026-11-21T23:17:15.250Z", &t), 0);
	T_EQ_INT(t, 1795303035);
	T_EQ_INT(time_parse_rfc3339("2026-11-21T23:17:15+00:00", &t), 0);
	T_EQ_INT(time_parse_rfc3339("2026-11-22 04:37:15", &t), -1);
	T_EQ_INT(time_parse_rfc3339("2026-11-21T23:17:15+02:00", &t), -1);
	T_EQ_INT(time_parse_rfc3339("yesterday", &t), -1);
}

static const char *const levels[] = { "debug", "info", "warn", "error", NULL };
static const struct conf_key keys[] = {
	{ .name = "listen", .type = CONF_HOSTPORT, .def = "127.0.0.1:8080" },
	{ .name = "workers", .type = CONF_INT, .def = "4", .min = 1, .max = 256 },
	{ .name = "interval", .type = CONF_DURATION, .def = "10s", .min = 100, .max = 86400000 },
	{ .name = "log_level", .type = CONF_ENUM, .def = "info", .choices = levels },
	{ .name = "tls", .type = CONF_BOOL, .def = "no" },
	{ .name = "data_dir", .type = CONF_PATH, .required = true },
	{ .name = "orchestrator", .type = CONF_URL },
};

static void test_conf(void)
{
	char err[512];
	struct conf *c = conf_parse("a.conf",
	    "# comment\n\n  data_dir = /var/lib/rm  # trailing\n"
	    "workers=8\ninterval = 500ms\nlog_level = debug\ntls = yes\n"
	    "listen = \"[::1]:9000\"\norchestrator = https://rm:8443\n",
	    keys, ARRAY_SIZE(keys), err, sizeof(err));
	T_CHECK(c != NULL, "valid config refused: %s", err);
	if (c != NULL) {
		T_EQ_STR(conf_str(c, "data_dir"), "/var/lib/rm");
		T_EQ_INT(conf_int(c, "workers"), 8);
		T_EQ_INT(conf_ms(c, "interval"), 500);
		T_EQ_STR(conf_str(c, "log_level"), "debug");
		T_CHECK(conf_bool(c, "tls"), "tls");
		char *host = NULL;
		int port = 0;
		T_EQ_INT(conf_hostport(conf_str(c, "listen"), &host, &port), 0);
		T_EQ_STR(host, "::1");
		T_EQ_INT(port, 9000);
		free(host);
		conf_free(c);
	}

	c = conf_parse("b.conf", "data_dir = /x\n", keys, ARRAY_SIZE(keys),
	    err, sizeof(err));
	T_CHECK(c != NULL, "defaults: %s", err);
	if (c != NULL) {
		T_EQ_INT(conf_int(c, "workers"), 4);
		T_EQ_STR(conf_str(c, "listen"), "127.0.0.1:8080");
		T_CHECK(!conf_isset(c, "orchestrator"), "unset key");
		conf_free(c);
	}

	static const struct {
		const char *text;
		const char *err;
	} bad[] = {
		{ "data_dir = /x\nworkers = 0\n", "b.conf:2: key 'workers': expected an integer from 1 to 256, got '0'" },
		{ "data_dir = /x\nworkers = lots\n", "b.conf:2: key 'workers'" },
		{ "data_dir = /x\nbogus = 1\n", "b.conf:2: unknown key 'bogus'" },
		{ "data_dir = /x\ndata_dir = /y\n", "b.conf:2: key 'data_dir' is set twice" },
		{ "workers = 2\n", "b.conf: key 'data_dir' is required" },
		{ "data_dir = /x\njust words\n", "b.conf:2: expected 'key = value'" },
		{ "data_dir = /x\ninterval = 10\n", "b.conf:2: key 'interval': expected a duration" },
		{ "data_dir = /x\ninterval = 1ms\n", "b.conf:2: key 'interval'" },
		{ "data_dir = /x\nlog_level = loud\n", "b.conf:2: key 'log_level': expected one of debug info warn error, got 'loud'" },
		{ "data_dir = /x\ntls = maybe\n", "b.conf:2: key 'tls': expected yes or no" },
		{ "data_dir = /x\nlisten = localhost\n", "b.conf:2: key 'listen'" },
		{ "data_dir = /x\nlisten = h:70000\n", "b.conf:2: key 'listen'" },
		{ "data_dir = /x\norchestrator = ftp://x\n", "b.conf:2: key 'orchestrator'" },
		{ "data_dir =\n", "b.conf:1: key 'data_dir': expected a value" },
		/* Control bytes are never passed on to a terminal or a log. */
		{ "data_dir = /x\nlog_level = \x1b[2Jloud\n", "b.conf:2: key 'log_level': expected one of debug info warn error, got '?[2Jloud'" },
		{ "data_dir = /x\nbo\x07gus = 1\n", "b.conf:2: unknown key 'bo?gus'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		c = conf_parse("b.conf", bad[i].text, keys, ARRAY_SIZE(keys),
		    err, sizeof(err));
		T_CHECK(c == NULL, "bad config %zu accepted", i);
		T_CHECK(str_starts_with(err, bad[i].err), "row %zu: '%s'", i, err);
		conf_free(c);
	}
}

static void test_u64(void)
{
	static const struct { const char *in; int rc; uint64_t v; } rows[] = {
		{ "0", 0, 0 }, { "42", 0, 42 }, { " 7 ", 0, 7 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -1, 0 }, { "", -1, 0 }, { " ", -1, 0 },
		{ "-1", -1, 0 }, { "+1", -1, 0 }, { "1x", -1, 0 }, { "0x10", -1, 0 },
		{ "1 2", -1, 0 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t v = 12345;
		int rc = str_to_u64(rows[i].in, &v);
		T_CHECK(rc == rows[i].rc && (rc != 0 || v == rows[i].v),
		    "'%s': rc %d v %llu", rows[i].in, rc, (unsigned long long)v);
	}
	uint64_t v;
	T_EQ_INT(str_to_u64(NULL, &v), -1);
}

static void test_strbuf(void)
{
	struct strbuf b = { 0 };
	char *s, want[3001];

	/* nothing added: detach still hands over a string of its own */
	s = strbuf_detach(&b);
	T_EQ_STR(s, "");
	free(s);

	strbuf_add(&b, "GET");
	strbuf_addn(&b, "\n/path?x", 6);	/* only "\n/path" */
	strbuf_addf(&b, "%c%d:%s", '#', 42, "x");
	strbuf_addn(&b, "ignored", 0);
	T_EQ_STR(b.p, "GET\n/path#42:x");
	T_EQ_INT(b.len, strlen("GET\n/path#42:x"));
	s = strbuf_detach(&b);
	T_EQ_STR(s, "GET\n/path#42:x");
	T_CHECK(b.p == NULL && b.len == 0 && b.cap == 0, "detach empties b");
	free(s);

	/* growth past the first allocation, one byte at a time and in bulk */
	for (size_t i = 0; i < 3000; i++) {
		want[i] = (char)('a' + i % 26);
		strbuf_addn(&b, &want[i], 1);
	}
	want[3000] = '\0';
	T_EQ_INT(b.len, 3000);
	T_CHECK(b.cap > b.len && strcmp(b.p, want) == 0, "3000 single bytes");
	strbuf_add(&b, want);
	T_EQ_INT(b.len, 6000);
	T_CHECK(strncmp(b.p + 3000, want, 3000) == 0 && b.p[6000] == '\0',
	    "a 3000-byte addition");
	strbuf_release(&b);
	T_CHECK(b.p == NULL && b.len == 0 && b.cap == 0, "release empties b");
	strbuf_release(&b);		/* twice is fine */
	strbuf_release(NULL);

	/* reusable after release */
	strbuf_addf(&b, "%s=%zu", "n", (size_t)7);
	T_EQ_STR(b.p, "n=7");
	strbuf_release(&b);
}

int main(void)
{
	test_u64();
	test_durations();
	test_format();
	test_human();
	test_versions();
	test_after();
	test_names();
	test_rfc3339();
	test_conf();
	test_strbuf();
	return t_done("test_common");
}
