/*
 * test_ha_live.c - the active/standby election (orchestrator/ha/ha.c).
 *
 * Without arguments (as tests/run runs every unit binary): the checks that
 * need no etcd - configurations refused with a clear error, and an
 * election whose only endpoint refuses connections stays standby, knows no
 * active, fails its fencing check and stops promptly.
 *
 * With "run ENDPOINTS PREFIX URL TTL_S [POLL_MS]": one campaigner for
 * tests/e2e/test_ha_etcd.py, which starts a real etcd.  It prints each
 * notification as a line
 *   event <wall ms> <active|standby> url=<url or -> rev=<n> reason=<text>
 * and answers commands on stdin, one per line:
 *   status      -> "status <active|standby> url=<url or -> rev=<n>"
 *   fence REV   -> "fence REV ok" or "fence REV refused <why>"
 *   resign      -> "resigned <wall ms>" (ha_stop; fence still works)
 *   quit or EOF -> exits 0
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/http.h"
#include "../../common/util.h"
#include "../../orchestrator/ha/ha.h"
#include "t.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static void on_change(void *arg, enum ha_role role, const char *url,
    int64_t rev, const char *reason)
{
	(void)arg;
	say("event %lld %s url=%s rev=%lld reason=%s\n",
	    (long long)time_wall_ms(), role == HA_ACTIVE ? "active" :
	    "standby", url[0] ? url : "-", (long long)rev, reason);
}

static int live(int argc, char **argv)
{
	char err[400];
	struct ha_config cfg = {
		.endpoints = argv[2],
		.prefix = argv[3],
		.advertise_url = argv[4],
		.lease_ttl_ms = atoll(argv[5]) * 1000,
		.poll_ms = argc > 6 ? atoll(argv[6]) : 0,
	};

	struct ha *h = ha_new(&cfg, on_change, NULL, err, sizeof(err));
	if (!h) {
		fprintf(stderr, "test_ha_live: %s\n", err);
		return 2;
	}
	if (ha_start(h, err, sizeof(err)) < 0) {
		fprintf(stderr, "test_ha_live: %s\n", err);
		ha_free(h);
		return 2;
	}
	say("ready %s\n", ha_key(h));

	char line[256];
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strcmp(line, "quit") == 0)
			break;
		if (strcmp(line, "status") == 0) {
			char url[512];
			int64_t rev;
			enum ha_role r = ha_state(h, url, sizeof(url), &rev);
			say("status %s url=%s rev=%lld\n", r == HA_ACTIVE ?
			    "active" : "standby", url[0] ? url : "-",
			    (long long)rev);
		} else if (strncmp(line, "fence ", 6) == 0) {
			long long rev = atoll(line + 6);
			if (ha_fence_check(h, rev, err, sizeof(err)) == 0)
				say("fence %lld ok\n", rev);
			else
				say("fence %lld refused %s\n", rev, err);
		} else if (strcmp(line, "resign") == 0) {
			ha_stop(h);
			say("resigned %lld\n", (long long)time_wall_ms());
		} else {
			say("unknown command '%s'\n", line);
		}
	}
	ha_free(h);
	return 0;
}

static int changes;

static void count_change(void *arg, enum ha_role role, const char *url,
    int64_t rev, const char *reason)
{
	(void)arg;
	(void)url;
	(void)rev;
	(void)reason;
	if (role == HA_ACTIVE)
		changes++;
}

static void test_config(void)
{
	static const struct {
		struct ha_config cfg;
		const char *err;
	} bad[] = {
		{ { "http://127.0.0.1:1", "/rm/x", "http://a:1", 1000, 0 },
		  "ha_lease_ttl 1000 ms" },
		{ { "http://127.0.0.1:1", "/rm/x", "http://a:1", 2500, 0 },
		  "whole number of seconds" },
		{ { "http://127.0.0.1:1", "rm/x", "http://a:1", 0, 0 },
		  "ha_prefix 'rm/x'" },
		{ { "http://127.0.0.1:1", "/rm x", "http://a:1", 0, 0 },
		  "ha_prefix" },
		{ { "http://127.0.0.1:1", NULL, "http://a:1", 0, 0 },
		  "ha_prefix ''" },
		{ { "http://127.0.0.1:1", "/rm/x", "a:1", 0, 0 },
		  "advertise_url 'a:1'" },
		{ { "http://127.0.0.1:1", "/rm/x", NULL, 0, 0 },
		  "advertise_url ''" },
		{ { "", "/rm/x", "http://a:1", 0, 0 },
		  "no etcd endpoint given" },
		{ { "127.0.0.1:2379", "/rm/x", "http://a:1", 0, 0 },
		  "'127.0.0.1:2379' is not http://host:port" },
	};
	char err[400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		struct ha *h = ha_new(&bad[i].cfg, NULL, NULL, err,
		    sizeof(err));
		T_CHECK(h == NULL, "bad %zu accepted", i);
		T_CHECK(strstr(err, bad[i].err) != NULL,
		    "bad %zu: err '%s' lacks '%s'", i, err, bad[i].err);
		ha_free(h);
	}

	/* The key: one slash between prefix and "active". */
	struct ha_config ok = { "http://127.0.0.1:1", "/ringmaster/prod/",
	    "http://a:1", 0, 0 };
	struct ha *h = ha_new(&ok, NULL, NULL, err, sizeof(err));
	T_CHECK(h != NULL, "%s", err);
	if (h)
		T_EQ_STR(ha_key(h), "/ringmaster/prod/active");
	ha_free(h);
}

/* Nobody listens on port 1: the election never wins. */
static void test_unreachable(void)
{
	char err[400], url[64];
	int64_t rev = -1;
	struct ha_config cfg = { "http://127.0.0.1:1", "/rm/t", "http://a:1",
	    2000, 100 };
	struct ha *h = ha_new(&cfg, count_change, NULL, err, sizeof(err));

	T_CHECK(h != NULL, "%s", err);
	if (!h)
		return;
	T_EQ_INT(ha_start(h, err, sizeof(err)), 0);
	T_CHECK(ha_start(h, err, sizeof(err)) == -1 &&
	    strstr(err, "already started"), "second start: '%s'", err);
	usleep(500 * 1000);
	T_CHECK(!ha_is_active(h, &rev), "active without etcd");
	T_EQ_INT(rev, 0);
	T_EQ_INT(ha_state(h, url, sizeof(url), &rev), HA_STANDBY);
	T_EQ_STR(url, "");
	T_EQ_INT(changes, 0);
	err[0] = '\0';
	T_EQ_INT(ha_fence_check(h, 5, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "cannot check fencing revision 5 of /rm/t/active")
	    && strstr(err, "127.0.0.1:1"), "fence err '%s'", err);
	int64_t t0 = time_mono_ms();
	ha_stop(h);
	T_CHECK(time_mono_ms() - t0 < 3000, "stop took %lld ms",
	    (long long)(time_mono_ms() - t0));
	ha_stop(h);	/* idempotent */
	ha_free(h);
}

int main(int argc, char **argv)
{
	if (http_global_init() < 0) {
		fprintf(stderr, "test_ha_live: http_global_init failed\n");
		return 2;
	}
	if (argc >= 6 && strcmp(argv[1], "run") == 0)
		return live(argc, argv);
	if (argc != 1) {
		fprintf(stderr, "usage: test_ha_live [run ENDPOINTS PREFIX URL "
		    "TTL_S [POLL_MS]]\n");
		return 2;
	}
	test_config();
	test_unreachable();
	return t_done("test_ha_live");
}
