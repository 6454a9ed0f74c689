/*
 * test_creds.c - where an S3 store's credentials and region come from
 * (common/creds.c): the options, the environment, their precedence and
 * the refusals, with a fake environment so the test's own does not count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/creds.h"
#include "../../common/s3.h"
#include "../../common/util.h"
#include "t.h"

/* The environment the current row sees: "NAME=value" strings. */
static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
	size_t n = strlen(name);
	for (const char *const *e = fake_env; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

#define ENV(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_sources(void)
{
	/* Not static: the ENV() compound literals live in this block. */
	const struct {
		const char *what;
		const char *ak, *sk, *tok, *region;	/* options */
		const char *const *env;
		/* expected; want_ak NULL: refused with err containing needle */
		const char *want_ak, *want_sk, *want_tok, *want_region;
		const char *needle;
	} rows[] = {
		{ "options only", "AK", "SK", NULL, NULL, ENV(NULL),
		  "AK", "SK", NULL, "us-east-1", NULL },
		{ "options with token", "AK", "SK", "TOK", "eu-west-1", ENV(NULL),
		  "AK", "SK", "TOK", "eu-west-1", NULL },
		{ "options win over the environment", "AK", "SK", NULL, NULL,
		  ENV("AWS_ACCESS_KEY_ID=EAK", "AWS_SECRET_ACCESS_KEY=ESK"),
		  "AK", "SK", NULL, "us-east-1", NULL },
		{ "the environment's token stays with its keys", "AK", "SK",
		  NULL, NULL, ENV("AWS_SESSION_TOKEN=ETOK"),
		  "AK", "SK", NULL, "us-east-1", NULL },
		{ "environment", NULL, NULL, NULL, NULL,
		  ENV("AWS_ACCESS_KEY_ID=EAK", "AWS_SECRET_ACCESS_KEY=ESK"),
		  "EAK", "ESK", NULL, "us-east-1", NULL },
		{ "environment with its token", NULL, NULL, NULL, NULL,
		  ENV("AWS_ACCESS_KEY_ID=EAK", "AWS_SECRET_ACCESS_KEY=ESK",
		  "AWS_SESSION_TOKEN=ETOK"), "EAK", "ESK", "ETOK", "us-east-1",
		  NULL },
		{ "the options' token wins", NULL, NULL, "TOK", NULL,
		  ENV("AWS_ACCESS_KEY_ID=EAK", "AWS_SECRET_ACCESS_KEY=ESK",
		  "AWS_SESSION_TOKEN=ETOK"), "EAK", "ESK", "TOK", "us-east-1",
		  NULL },
		{ "an empty token is none", NULL, NULL, NULL, NULL,
		  ENV("AWS_ACCESS_KEY_ID=EAK", "AWS_SECRET_ACCESS_KEY=ESK",
		  "AWS_SESSION_TOKEN="), "EAK", "ESK", NULL, "us-east-1", NULL },
		{ "access key without secret", "AK", NULL, NULL, NULL,
		  ENV("AWS_ACCESS_KEY_ID=EAK", "AWS_SECRET_ACCESS_KEY=ESK"),
		  NULL, NULL, NULL, NULL, "access key needs its secret key" },
		{ "secret without access key", NULL, "SK", NULL, NULL, ENV(NULL),
		  NULL, NULL, NULL, NULL, "the other way round" },
		{ "nothing anywhere", NULL, NULL, NULL, NULL, ENV(NULL),
		  NULL, NULL, NULL, NULL, "no credentials; set access_key and "
		  "secret_key or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" },
		{ "half the environment", NULL, NULL, NULL, NULL,
		  ENV("AWS_ACCESS_KEY_ID=EAK"), NULL, NULL, NULL, NULL,
		  "no credentials" },
		{ "empty environment values", NULL, NULL, NULL, NULL,
		  ENV("AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="), NULL,
		  NULL, NULL, NULL, "no credentials" },
		{ "a token alone", NULL, NULL, "TOK", NULL,
		  ENV("AWS_SESSION_TOKEN=ETOK"), NULL, NULL, NULL, NULL,
		  "no credentials" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct s3_opts o;
		struct creds c;
		char err[256] = "";

		s3_opts_init(&o);
		o.access_key = rows[i].ak;
		o.secret_key = rows[i].sk;
		o.session_token = rows[i].tok;
		o.region = rows[i].region;
		fake_env = rows[i].env;
		int rc = creds_resolve(&c, &o, fake_getenv, err, sizeof(err));
		if (rows[i].want_ak == NULL) {
			T_CHECK(rc == -1 && strstr(err, rows[i].needle),
			    "%s: rc %d, err '%s'", rows[i].what, rc, err);
			T_CHECK(c.access_key == NULL && c.secret_key == NULL &&
			    c.token == NULL && c.region == NULL,
			    "%s: left data", rows[i].what);
			continue;
		}
		T_CHECK(rc == 0, "%s: %s", rows[i].what, err);
		if (rc != 0)
			continue;
		T_EQ_STR(c.access_key, rows[i].want_ak);
		T_EQ_STR(c.secret_key, rows[i].want_sk);
		if (rows[i].want_tok)
			T_EQ_STR(c.token, rows[i].want_tok);
		else
			T_CHECK(c.token == NULL, "%s: token '%s'",
			    rows[i].what, c.token);
		T_EQ_STR(c.region, rows[i].want_region);
		creds_release(&c);
		T_CHECK(c.access_key == NULL && c.region == NULL,
		    "%s: release", rows[i].what);
	}
	creds_release(NULL);
}

static void test_region(void)
{
	const struct {
		const char *opt;
		const char *const *env;
		const char *want;
	} rows[] = {
		{ NULL, ENV(NULL), "us-east-1" },
		{ "ap-south-1", ENV("AWS_REGION=eu-west-1"), "ap-south-1" },
		{ NULL, ENV("AWS_REGION=eu-west-1",
		  "AWS_DEFAULT_REGION=eu-north-1"), "eu-west-1" },
		{ NULL, ENV("AWS_DEFAULT_REGION=eu-north-1"), "eu-north-1" },
		{ NULL, ENV("AWS_REGION=", "AWS_DEFAULT_REGION=eu-north-1"),
		  "eu-north-1" },
		{ NULL, ENV("AWS_REGION=", "AWS_DEFAULT_REGION="), "us-east-1" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct s3_opts o;
		struct creds c;
		char err[256] = "";

		s3_opts_init(&o);
		o.access_key = "AK";
		o.secret_key = "SK";
		o.region = rows[i].opt;
		fake_env = rows[i].env;
		T_EQ_INT(creds_resolve(&c, &o, fake_getenv, err, sizeof(err)),
		    0);
		T_CHECK(c.region && strcmp(c.region, rows[i].want) == 0,
		    "row %zu: region '%s', want '%s'", i, c.region,
		    rows[i].want);
		creds_release(&c);
	}
}

/* With no lookup function the process environment is read. */
static void test_real_env(void)
{
	struct s3_opts o;
	struct creds c;
	char err[256];

	s3_opts_init(&o);
	setenv("AWS_ACCESS_KEY_ID", "REALAK", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "REALSK", 1);
	setenv("AWS_REGION", "sa-east-1", 1);
	T_EQ_INT(creds_resolve(&c, &o, NULL, err, sizeof(err)), 0);
	T_EQ_STR(c.access_key, "REALAK");
	T_EQ_STR(c.secret_key, "REALSK");
	T_EQ_STR(c.region, "sa-east-1");
	creds_release(&c);
	unsetenv("AWS_ACCESS_KEY_ID");
	T_EQ_INT(creds_resolve(&c, &o, NULL, err, sizeof(err)), -1);
}

/* The line an agent reads on stdin: round trip, refusals that never
 * quote a value, and the given credentials' place among the sources. */
static void test_secrets_line(void)
{
	static const struct {
		const char *line;
		int rc;
		const char *needle;	/* in err when refused */
	} rows[] = {
		{ "{\"type\":\"secrets\",\"storage\":{\"access_key_id\":\"AK\","
		  "\"secret_access_key\":\"SK/+=\"}}\n", 0, NULL },
		{ "{\"type\":\"secrets\",\"storage\":{}}", 0, NULL },
		{ "", -1, "not {" },
		{ "[1]", -1, "not {" },
		{ "{\"type\":\"other\",\"storage\":{}}", -1, "not {" },
		{ "{\"type\":\"secrets\",\"storage\":{},\"x\":1}", -1, "not {" },
		{ "{\"type\":\"secrets\",\"storage\":{\"access_key_id\":\"AK\"}}",
		  -1, "together" },
		{ "{\"type\":\"secrets\",\"storage\":{\"session_token\":\"T\"}}",
		  -1, "together" },
		{ "{\"type\":\"secrets\",\"storage\":{\"access_key_id\":\"AK\","
		  "\"secret_access_key\":\"has blank\"}}", -1, "printable" },
		{ "{\"type\":\"secrets\",\"storage\":{\"access_key_id\":\"AK\","
		  "\"secret_access_key\":7}}", -1, "printable" },
		{ "{\"type\":\"secrets\",\"storage\":{\"password\":\"hunter2\"}}",
		  -1, "unknown field 'storage.password'" },
		{ "{\"type\":\"secrets\",\"type\":\"secrets\",\"storage\":{}}",
		  -1, "not {" },
	};
	struct creds_secrets sc;
	struct creds c;
	struct s3_opts o;
	char err[256], *line;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc = creds_secrets_parse(rows[i].line, strlen(rows[i].line),
		    &sc, err, sizeof(err));
		T_CHECK(rc == rows[i].rc, "row %zu: rc %d", i, rc);
		if (rc != 0) {
			T_CHECK(strstr(err, rows[i].needle) != NULL &&
			    strstr(err, "hunter2") == NULL &&
			    strstr(err, "has blank") == NULL,
			    "row %zu: err '%s'", i, err);
			T_CHECK(sc.access_key == NULL && sc.secret_key == NULL,
			    "row %zu: left empty", i);
		}
		creds_secrets_release(&sc);
	}

	line = creds_secrets_line("AKIDEXAMPLE", "wJalr/K7MDENG+bPxRfiCY", "TOK");
	T_CHECK(line != NULL && line[strlen(line) - 1] == '\n', "one line");
	T_EQ_INT(creds_secrets_parse(line, strlen(line), &sc, err, sizeof(err)), 0);
	T_EQ_STR(sc.access_key, "AKIDEXAMPLE");
	T_EQ_STR(sc.secret_key, "wJalr/K7MDENG+bPxRfiCY");
	T_EQ_STR(sc.token, "TOK");
	creds_wipe_free(line);
	T_CHECK(creds_secrets_line("AK", "", NULL) == NULL, "no key: no line");

	/* Given credentials come after the options, before the environment. */
	fake_env = ENV("AWS_ACCESS_KEY_ID=EAK", "AWS_SECRET_ACCESS_KEY=ESK");
	creds_given_set(&sc);
	creds_secrets_release(&sc);
	s3_opts_init(&o);
	T_EQ_INT(creds_resolve(&c, &o, fake_getenv, err, sizeof(err)), 0);
	T_EQ_STR(c.access_key, "AKIDEXAMPLE");
	T_EQ_STR(c.token, "TOK");
	creds_release(&c);
	o.access_key = "AK";
	o.secret_key = "SK";
	T_EQ_INT(creds_resolve(&c, &o, fake_getenv, err, sizeof(err)), 0);
	T_EQ_STR(c.access_key, "AK");
	T_CHECK(c.token == NULL, "the given token stays with its keys");
	creds_release(&c);
	creds_given_set(NULL);
	s3_opts_init(&o);
	T_EQ_INT(creds_resolve(&c, &o, fake_getenv, err, sizeof(err)), 0);
	T_EQ_STR(c.access_key, "EAK");
	creds_release(&c);
}

int main(void)
{
	test_secrets_line();
	test_sources();
	test_region();
	test_real_env();
	return t_done("test_creds");
}
