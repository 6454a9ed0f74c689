/*
 * test_provider.c - the replacement providers (orchestrator/nodes/provider.h):
 * the names, the parser of a command's answer (row by row), and real runs
 * of small scripts: an answer, a failure with its message, a time limit,
 * an answer that is not an address, and the environment it is given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../orchestrator/nodes/provider.h"
#include "t.h"

struct parse_row {
	const char *name, *out;
	int rc;
	const char *addr;	/* rc 0 */
	const char *err_has;	/* rc -1 */
};

static const struct parse_row parse_rows[] = {
	{ "one line", "{\"address\": \"10.0.0.7\"}\n", 0, "10.0.0.7", NULL },
	{ "no newline", "{\"address\":\"10.0.0.7\"}", 0, "10.0.0.7", NULL },
	{ "chatter before the answer", "creating vm...\nok\n"
	  "{\"address\": \"10.0.0.8\"}\n\n", 0, "10.0.0.8", NULL },
	{ "host name", "{\"address\": \"node-4.example\"}", 0,
	  "node-4.example", NULL },
	{ "extra keys are fine", "{\"address\": \"10.0.0.9\", \"id\": 3}", 0,
	  "10.0.0.9", NULL },
	{ "nothing", "", -1, NULL, "printed nothing" },
	{ "blank lines only", "\n \n", -1, NULL, "printed nothing" },
	{ "not JSON", "10.0.0.7\n", -1, NULL, "not a JSON object" },
	{ "JSON but an array", "[\"10.0.0.7\"]", -1, NULL,
	  "not a JSON object" },
	{ "answer not last", "{\"address\": \"10.0.0.7\"}\ndone\n", -1, NULL,
	  "not a JSON object" },
	{ "no address", "{\"host\": \"10.0.0.7\"}", -1, NULL,
	  "no string \"address\"" },
	{ "address a number", "{\"address\": 7}", -1, NULL,
	  "no string \"address\"" },
	{ "address with a space", "{\"address\": \"10.0.0.7 x\"}", -1, NULL,
	  "is not an IP address" },
	{ "address with shell syntax", "{\"address\": \"a;rm\"}", -1, NULL,
	  "is not an IP address" },
	{ "duplicate keys", "{\"address\": \"a\", \"address\": \"b\"}", -1,
	  NULL, "not a JSON object" },
};

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]);
	    i++) {
		const struct parse_row *r = &parse_rows[i];
		char addr[64] = "", err[256] = "";
		int rc = provider_parse_answer(r->out, strlen(r->out), addr,
		    sizeof(addr), err, sizeof(err));
		T_CHECK(rc == r->rc, "%s: rc %d (%s)", r->name, rc, err);
		if (rc == 0 && r->rc == 0)
			T_CHECK(strcmp(addr, r->addr) == 0, "%s: got '%s'",
			    r->name, addr);
		if (rc != 0 && r->err_has != NULL)
			T_CHECK(strstr(err, r->err_has) != NULL, "%s: error '%s'",
			    r->name, err);
	}
}

static void test_kinds(void)
{
	enum provider_kind k = PROVIDER_COMMAND;

	T_CHECK(provider_kind_parse("none", &k) == 0 && k == PROVIDER_NONE,
	    "none");
	T_CHECK(provider_kind_parse("sim", &k) == 0 && k == PROVIDER_SIM,
	    "sim");
	T_CHECK(provider_kind_parse("command", &k) == 0 &&
	    k == PROVIDER_COMMAND, "command");
	T_CHECK(provider_kind_parse("Command", &k) == -1, "case matters");
	T_CHECK(provider_kind_parse(NULL, &k) == -1, "NULL");
	T_EQ_STR(provider_kind_name(PROVIDER_SIM), "sim");
}

static char dir[64];

static char *script(const char *name, const char *body)
{
	char *path = malloc(strlen(dir) + strlen(name) + 2);
	FILE *f;

	sprintf(path, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
	return path;
}

/* Poll until it ends (under 20 s); rc of the last poll. */
static int run(const char *path, int64_t timeout_ms, char *addr, size_t alen,
    char *err, size_t errlen)
{
	struct provider_req req = {
		.command = path, .cluster = "prod", .dc = "dc1", .rack = "r2",
		.dead_address = "10.0.0.3", .dead_host_id = "hid-3",
		.cassandra_version = "4.1.1", .idempotency_key = "t-123",
		.timeout_ms = timeout_ms,
	};
	struct provider_run *p = provider_start(&req, err, errlen);
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int rc = 0;

	if (p == NULL)
		return -2;
	for (int i = 0; i < 1000 && (rc = provider_poll(p, addr, alen, err,
	    errlen)) == 0; i++)
		nanosleep(&ts, NULL);
	provider_free(p);
	return rc;
}

static void test_runs(void)
{
	char addr[64], err[512], *p;
	char envfile[128];
	FILE *f;
	char line[512];
	int rc;

	snprintf(dir, sizeof(dir), "/tmp/test_provider.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "mkdtemp failed\n");
		exit(1);
	}
	snprintf(envfile, sizeof(envfile), "%s/env", dir);

	/* An answer, and the environment it was given. */
	{
		char body[512];
		snprintf(body, sizeof(body), "env | grep '^RM_' | sort > %s\n"
		    "echo working >&2\necho '{\"address\": \"10.0.0.33\"}'",
		    envfile);
		p = script("ok", body);
	}
	addr[0] = err[0] = '\0';
	rc = run(p, 5000, addr, sizeof(addr), err, sizeof(err));
	T_CHECK(rc == 1, "ok: rc %d (%s)", rc, err);
	T_EQ_STR(addr, "10.0.0.33");
	free(p);
	f = fopen(envfile, "r");
	T_CHECK(f != NULL, "the script wrote its environment");
	if (f != NULL) {
		char all[2048] = "";
		while (fgets(line, sizeof(line), f) != NULL)
			strncat(all, line, sizeof(all) - strlen(all) - 1);
		fclose(f);
		T_CHECK(strstr(all, "RM_CLUSTER=prod\n") != NULL, "%s", all);
		T_CHECK(strstr(all, "RM_DC=dc1\n") != NULL, "%s", all);
		T_CHECK(strstr(all, "RM_RACK=r2\n") != NULL, "%s", all);
		T_CHECK(strstr(all, "RM_DEAD_ADDRESS=10.0.0.3\n") != NULL, "%s",
		    all);
		T_CHECK(strstr(all, "RM_DEAD_HOST_ID=hid-3\n") != NULL, "%s",
		    all);
		T_CHECK(strstr(all, "RM_CASSANDRA_VERSION=4.1.1\n") != NULL,
		    "%s", all);
		T_CHECK(strstr(all, "RM_IDEMPOTENCY_KEY=t-123\n") != NULL, "%s",
		    all);
	}

	/* A failure: its message is in the error. */
	p = script("fail", "echo 'progress' \necho 'no capacity in dc1' >&2\n"
	    "exit 3");
	err[0] = '\0';
	rc = run(p, 5000, addr, sizeof(addr), err, sizeof(err));
	T_CHECK(rc == -1, "fail: rc %d", rc);
	T_CHECK(strstr(err, "exit 3") != NULL && strstr(err,
	    "no capacity in dc1") != NULL, "fail: '%s'", err);
	free(p);

	/* Exit 0 with no address. */
	p = script("garbage", "echo 'done, I think'");
	err[0] = '\0';
	rc = run(p, 5000, addr, sizeof(addr), err, sizeof(err));
	T_CHECK(rc == -1 && strstr(err, "exited 0 but") != NULL &&
	    strstr(err, "{\"address\"") != NULL, "garbage: %d '%s'", rc, err);
	free(p);

	/* Past its time limit: killed, with what it started. */
	p = script("slow", "sleep 30 &\nsleep 30\necho '{\"address\": \"x\"}'");
	err[0] = '\0';
	{
		time_t t0 = time(NULL);
		rc = run(p, 300, addr, sizeof(addr), err, sizeof(err));
		T_CHECK(time(NULL) - t0 < 10, "the time limit held");
	}
	T_CHECK(rc == -1 && strstr(err, "no answer within") != NULL,
	    "slow: %d '%s'", rc, err);
	free(p);

	/* Not runnable: refused at start. */
	err[0] = '\0';
	rc = run("relative/path", 1000, addr, sizeof(addr), err, sizeof(err));
	T_CHECK(rc == -2 && strstr(err, "not an absolute path") != NULL,
	    "relative: %d '%s'", rc, err);
	snprintf(line, sizeof(line), "%s/missing", dir);
	err[0] = '\0';
	rc = run(line, 1000, addr, sizeof(addr), err, sizeof(err));
	T_CHECK(rc == -2 && strstr(err, "cannot be run") != NULL,
	    "missing: %d '%s'", rc, err);

	snprintf(line, sizeof(line), "rm -rf '%s'", dir);
	if (system(line) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

int main(void)
{
	test_kinds();
	test_parse();
	test_runs();
	return t_done("test_provider");
}
