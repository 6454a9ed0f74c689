/*
 * test_ha_live.c - the active/standby election (orchestrator/ha/ha.c).
 *
 * Without arguments (as tests/run runs every unit binary): the checks that
 * need no etcd - configurations refused with a clear error, and an
 * election whose only endpoint refuses connections stays standby, knows no
 * active, fails its fencing check and stops promptly.
 *
 * With "etcd ENDPOINTS PREFIX": every call of the etcd client against a
 * real etcd, under PREFIX, as a unit test with its summary line.
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
#include "../../orchestrator/ha/etcd.h"
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

/*
 * "etcd ENDPOINTS PREFIX": every call of the etcd client against a real
 * etcd, checked like a unit test (the summary line and exit status).
 */
static int client(const char *endpoints, const char *prefix)
{
	char err[400] = "";
	struct etcd *e = etcd_new(endpoints, 2000, err, sizeof(err));
	struct etcd_kv kv;
	bool found, ok;
	int64_t id = 0, ttl = 0, rev = 0, n = -1;
	char *key = xasprintf("%s/kv", prefix);
	/* Every byte value, NUL included, survives the round trip. */
	unsigned char val[256];

	for (int i = 0; i < 256; i++)
		val[i] = (unsigned char)(255 - i);
	T_CHECK(e != NULL, "%s", err);
	if (!e)
		goto out;
	T_CHECK(etcd_lease_grant(e, 30, &id, &ttl, err, sizeof(err)) == 0,
	    "grant: %s", err);
	T_CHECK(id > 0 && ttl == 30, "id %lld ttl %lld", (long long)id,
	    (long long)ttl);
	T_CHECK(etcd_put(e, key, val, sizeof(val), id, err, sizeof(err)) == 0,
	    "put: %s", err);
	T_CHECK(etcd_get(e, key, &kv, &found, err, sizeof(err)) == 0 && found,
	    "get: %s", err);
	T_CHECK(found && kv.value_len == sizeof(val) &&
	    memcmp(kv.value, val, sizeof(val)) == 0 && kv.lease == id &&
	    kv.version == 1, "value or lease differ");
	etcd_kv_release(&kv);
	T_CHECK(etcd_lease_keepalive(e, id, &ttl, err, sizeof(err)) == 0 &&
	    ttl == 30, "keepalive: %s, ttl %lld", err, (long long)ttl);

	/* The key exists: the create fails and names the holder. */
	T_CHECK(etcd_create(e, key, "x", 0, &ok, &rev, &kv, err,
	    sizeof(err)) == 0 && !ok, "create over a key: %s", err);
	T_CHECK(kv.key && kv.lease == id && kv.value_len == sizeof(val),
	    "holder not read");
	int64_t created = kv.create_revision;
	etcd_kv_release(&kv);
	T_CHECK(etcd_check_create_revision(e, key, created, &ok, err,
	    sizeof(err)) == 0 && ok, "fence of the holder: %s", err);
	T_CHECK(etcd_check_create_revision(e, key, created + 1, &ok, err,
	    sizeof(err)) == 0 && !ok, "fence of another revision: %s", err);

	/* Revoking the lease takes the key with it; twice is fine. */
	T_CHECK(etcd_lease_revoke(e, id, err, sizeof(err)) == 0, "revoke: %s",
	    err);
	T_CHECK(etcd_lease_revoke(e, id, err, sizeof(err)) == 0,
	    "revoke again: %s", err);
	T_CHECK(etcd_get(e, key, &kv, &found, err, sizeof(err)) == 0 &&
	    !found, "key left after revoke: %s", err);
	T_CHECK(etcd_lease_keepalive(e, id, &ttl, err, sizeof(err)) == 0 &&
	    ttl == 0, "keepalive of a revoked lease: %s", err);
	T_CHECK(etcd_check_create_revision(e, key, created, &ok, err,
	    sizeof(err)) == 0 && !ok, "fence of a gone key: %s", err);

	/* Absent now: the create wins; its revision is the key's. */
	T_CHECK(etcd_create(e, key, "mine", 0, &ok, &rev, &kv, err,
	    sizeof(err)) == 0 && ok && rev > created, "create: %s", err);
	T_CHECK(etcd_get(e, key, &kv, &found, err, sizeof(err)) == 0 &&
	    found && kv.create_revision == rev && kv.lease == 0 &&
	    strcmp(kv.value, "mine") == 0, "created key: %s", err);
	etcd_kv_release(&kv);
	T_CHECK(etcd_delete(e, key, &n, err, sizeof(err)) == 0 && n == 1,
	    "delete: %s, %lld", err, (long long)n);
	T_CHECK(etcd_delete(e, key, &n, err, sizeof(err)) == 0 && n == 0,
	    "delete again: %s, %lld", err, (long long)n);

	/* etcd's own refusals come back as errors with its message. */
	err[0] = '\0';
	T_CHECK(etcd_put(e, key, "v", 1, 12345, err, sizeof(err)) == -1 &&
	    strstr(err, "requested lease not found"), "put under no lease: "
	    "'%s'", err);
	err[0] = '\0';
	T_CHECK(etcd_create(e, key, "v", 12345, &ok, &rev, NULL, err,
	    sizeof(err)) == -1 && strstr(err, "requested lease not found"),
	    "create under no lease: '%s'", err);
out:
	free(key);
	etcd_free(e);
	return t_done("test_ha_live etcd");
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
	if (argc == 4 && strcmp(argv[1], "etcd") == 0)
		return client(argv[2], argv[3]);
	if (argc != 1) {
		fprintf(stderr, "usage: test_ha_live [run ENDPOINTS PREFIX URL "
		    "TTL_S [POLL_MS] | etcd ENDPOINTS PREFIX]\n");
		return 2;
	}
	test_config();
	test_unreachable();
	return t_done("test_ha_live");
}
