/*
 * test_params - orchestrator/engine/params.c: the one check of task
 * parameters.  Every kind of check refuses with a message naming the
 * parameter, defaults are filled in (and only when everything passed),
 * environment defaults are checked too, and the API description is right.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../../orchestrator/engine/params.h"
#include "t.h"

static const struct param_spec spec[] = {
	{ "n", PT_INT, 1, 64, "4", NULL, 0, "an integer" },
	{ "x", PT_NUMBER, 0, 1, "1.0", NULL, PF_MIN_EXCL, "a fraction" },
	{ "b", PT_BOOL, 0, 0, NULL, NULL, 0, "a switch" },
	{ "name", PT_NAME, 0, 0, NULL, NULL, 0, "a name" },
	{ "names", PT_NAMES, 0, 0, NULL, NULL, 0, "names" },
	{ "tables", PT_TABLES, 0, 0, NULL, NULL, 0, "tables" },
	{ "table", PT_NAME_OR_NAMES, 0, 3, NULL, NULL, 0, "one or a few" },
	{ "nodes", PT_ADDRS, 0, 0, NULL, NULL, 0, "addresses" },
	{ "cmd", PT_COMMAND, 0, 0, NULL, "TEST_PARAMS_CMD", 0, "a command" },
	{ "keep", PT_RETENTION, 0, 0, NULL, NULL, 0, "retention" },
	{ "source", PT_SOURCE, 0, 0, NULL, NULL, 0, "source" },
	{ "one", PT_INT, 1, 1, NULL, NULL, 0, "only 1" },
	{ "why", PT_TEXT, 0, 20, NULL, NULL, 0, "a sentence" },
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

/* Check params_json against spec: rc, and err containing want. */
static void row(const char *params_json, int want_rc, const char *want)
{
	char err[512] = "";
	json_error_t je;
	json_t *p = json_loads(params_json, 0, &je);
	char *before;
	int rc;

	T_CHECK(p != NULL, "bad test JSON %s: %s", params_json, je.text);
	if (p == NULL)
		return;
	before = json_dumps(p, JSON_SORT_KEYS);
	rc = params_check(spec, "test", p, err, sizeof(err));
	T_CHECK(rc == want_rc, "%s: rc %d, want %d (%s)", params_json, rc,
	    want_rc, err);
	if (want != NULL)
		T_CHECK(strstr(err, want) != NULL, "%s: '%s' lacks '%s'",
		    params_json, err, want);
	if (rc != 0) {
		/* refused: params untouched (no defaults half added) */
		char *after = json_dumps(p, JSON_SORT_KEYS);
		T_CHECK(strcmp(before, after) == 0, "%s changed to %s",
		    before, after);
		free(after);
	}
	free(before);
	json_decref(p);
}

static void test_refusals(void)
{
	row("{}", 0, NULL);
	row("{\"frob\": 1}", -1, "unknown parameter 'frob' for test (allowed: n, x,");
	row("{\"n\": 0}", -1, "params.n must be an integer from 1 to 64");
	row("{\"n\": 65}", -1, "params.n");
	row("{\"n\": 2.5}", -1, "params.n");
	row("{\"n\": \"4\"}", -1, "params.n");
	row("{\"n\": 64}", 0, NULL);
	row("{\"x\": 0}", -1, "params.x must be a number above 0");
	row("{\"x\": 1.5}", -1, "params.x");
	row("{\"x\": 0.25}", 0, NULL);
	row("{\"x\": 1}", 0, NULL);
	row("{\"b\": 1}", -1, "params.b must be true or false");
	row("{\"b\": false}", 0, NULL);
	row("{\"name\": \"a b\"}", -1, "params.name must be a name");
	row("{\"name\": \"ks_1\"}", 0, NULL);
	row("{\"names\": [\"a\", \"b;c\"]}", -1, "params.names[1] is not a valid name");
	row("{\"names\": \"a\"}", -1, "params.names must be an array");
	row("{\"tables\": [\"ks.t\", \"ks\"]}", -1, "params.tables[1]");
	row("{\"tables\": [\"ks.t\"]}", 0, NULL);
	row("{\"table\": \"t1\"}", 0, NULL);
	row("{\"table\": [\"t1\", \"t2\"]}", 0, NULL);
	row("{\"table\": []}", -1, "params.table must be a name or an array of 1 to 3");
	row("{\"table\": [\"a\", \"b\", \"c\", \"d\"]}", -1, "params.table");
	row("{\"nodes\": [\"10.0.0.1\", \"node-2.example.com\", \"::1\"]}", 0, NULL);
	row("{\"nodes\": [\"10.0.0.1 ; reboot\"]}", -1, "params.nodes[0] is not a valid node address");
	row("{\"cmd\": \"ringagent -f /etc/x.conf\"}", 0, NULL);
	row("{\"cmd\": \"ringagent; reboot\"}", -1, "params.cmd must be a command path and arguments without shell syntax");
	row("{\"cmd\": \"a $(b)\"}", -1, "params.cmd");
	row("{\"cmd\": \"a | b\"}", -1, "params.cmd");
	row("{\"cmd\": \"\"}", -1, "params.cmd");
	/* text: any printable line, shell syntax included, within max */
	row("{\"why\": \"4,000 -> 8,000; $x\"}", 0, NULL);
	row("{\"why\": \"\"}", -1, "params.why must be one line of 1 to 20 bytes");
	row("{\"why\": \"a\\nb\"}", -1, "without control characters");
	row("{\"why\": \"123456789012345678901\"}", -1, "1 to 20 bytes");
	row("{\"why\": 7}", -1, "params.why");
	row("{\"keep\": {\"keep_last\": 3}}", 0, NULL);
	row("{\"keep\": {\"keep_last\": 0}}", -1, "keep_last must be an integer from 1");
	row("{\"keep\": {\"keep_days\": -1}}", -1, "keep_days");
	row("{\"keep\": {\"keep_weeks\": 1}}", -1, "unknown key 'keep_weeks'");
	row("{\"keep\": {}}", -1, "params.retention must be an object");
	row("{\"source\": {\"cluster\": \"c\", \"storage\": \"s3://b/p\"}}", 0, NULL);
	row("{\"source\": {\"cluster\": \"c\"}}", -1, "params.source needs");
	row("{\"source\": {\"cluster\": \"c\", \"storage\": \"http://x\"}}", -1, "params.source.storage: storage URL 'http://x': the scheme is neither");
	row("{\"source\": {\"cluster\": \"c\", \"storage\": \"s3://b\", \"region\": \"a b\"}}", -1, "params.source.region");
	row("{\"source\": {\"cluster\": \"c\", \"storage\": \"s3://b\", \"zone\": 1}}", -1, "unknown key 'zone'");
	row("{\"one\": 2}", -1, "params.one: only 1 is supported");
	row("{\"one\": 1}", 0, NULL);
	/* a refusal after a good key changes nothing either */
	row("{\"n\": 8, \"frob\": 1}", -1, "frob");
}

static void test_defaults(void)
{
	char err[256];
	json_t *p = json_pack("{s:i}", "n", 9);

	unsetenv("TEST_PARAMS_CMD");
	T_EQ_INT(params_check(spec, "test", p, err, sizeof(err)), 0);
	T_EQ_INT(json_integer_value(json_object_get(p, "n")), 9);	/* kept */
	T_CHECK(json_real_value(json_object_get(p, "x")) == 1.0, "x default");
	T_CHECK(json_object_get(p, "b") == NULL, "no default: absent");
	T_CHECK(json_object_get(p, "cmd") == NULL, "no env: absent");
	json_decref(p);

	/* A default from the environment is checked like a given value. */
	setenv("TEST_PARAMS_CMD", "ringagent -f /x", 1);
	p = json_object();
	T_EQ_INT(params_check(spec, "test", p, err, sizeof(err)), 0);
	T_CHECK(json_is_string(json_object_get(p, "cmd")) &&
	    strcmp(json_string_value(json_object_get(p, "cmd")),
	    "ringagent -f /x") == 0, "env default");
	json_decref(p);
	setenv("TEST_PARAMS_CMD", "ringagent; rm -rf /", 1);
	p = json_object();
	T_EQ_INT(params_check(spec, "test", p, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "$TEST_PARAMS_CMD must be a command") != NULL, "%s",
	    err);
	T_EQ_INT(json_object_size(p), 0);
	json_decref(p);
	unsetenv("TEST_PARAMS_CMD");

	/* A type with no table of its own takes only the common ones. */
	static const struct param_spec none[] = {
		{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
	};
	p = json_pack("{s:i}", "a", 1);
	T_EQ_INT(params_check(none, "bare", p, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "unknown parameter 'a' for bare (allowed: "
	    "max_attempts)") != NULL, "%s", err);
	json_decref(p);
	/* max_attempts: any type, 1..20, no default added. */
	static const struct {
		int v, ok;
	} ma[] = { { 1, 1 }, { 20, 1 }, { 0, 0 }, { 21, 0 }, { -1, 0 } };
	for (size_t i = 0; i < ARRAY_SIZE(ma); i++) {
		p = json_pack("{s:i}", "max_attempts", ma[i].v);
		T_EQ_INT(params_check(none, "bare", p, err, sizeof(err)),
		    ma[i].ok ? 0 : -1);
		json_decref(p);
	}
	p = json_object();
	T_EQ_INT(params_check(spec, "t", p, err, sizeof(err)), 0);
	T_CHECK(json_object_get(p, "max_attempts") == NULL,
	    "max_attempts defaulted: the type's count must apply");
	json_decref(p);
	p = json_pack("{s:s}", "bogus", "x");
	T_EQ_INT(params_check(spec, "t", p, err, sizeof(err)), -1);
	T_CHECK(strstr(err, ", max_attempts)") != NULL, "%s", err);
	json_decref(p);
}

/* PF_REQUIRED: absent, or an empty array, is refused naming the
 * parameter and its meaning; the API description says so. */
static const struct param_spec req_spec[] = {
	{ "host_id", PT_NAME, 0, 0, NULL, NULL, PF_REQUIRED, "the host id" },
	{ "nodes", PT_ADDRS, 0, 0, NULL, NULL, PF_REQUIRED, "the nodes" },
	{ "n", PT_INT, 1, 9, "3", NULL, 0, "optional" },
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static void test_required(void)
{
	static const struct {
		const char *params;
		int rc;
		const char *want;
	} rows[] = {
		{ "{}", -1, "removenode needs params.host_id: the host id" },
		{ "{\"host_id\": \"h\"}", -1, "needs params.nodes: the nodes" },
		{ "{\"host_id\": \"h\", \"nodes\": []}", -1,
		    "needs params.nodes" },
		{ "{\"host_id\": \"h\", \"nodes\": [\"10.0.0.1\"]}", 0, NULL },
	};
	json_t *a;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char err[256] = "";
		json_t *p = json_loads(rows[i].params, 0, NULL);
		int rc = params_check(req_spec, "removenode", p, err,
		    sizeof(err));

		T_CHECK(rc == rows[i].rc, "%s: rc %d (%s)", rows[i].params, rc,
		    err);
		if (rows[i].want != NULL)
			T_CHECK(strstr(err, rows[i].want) != NULL, "%s: '%s'",
			    rows[i].params, err);
		if (rc != 0)
			T_CHECK(json_object_get(p, "n") == NULL,
			    "%s: defaults added to a refused request",
			    rows[i].params);
		json_decref(p);
	}
	a = params_spec_json(req_spec);
	T_CHECK(json_is_true(json_object_get(json_array_get(a, 0),
	    "required")), "required shown");
	T_CHECK(json_object_get(json_array_get(a, 2), "required") == NULL,
	    "optional not marked");
	json_decref(a);
}

static void test_spec_json(void)
{
	json_t *a = params_spec_json(spec), *n = json_array_get(a, 0),
	    *x = json_array_get(a, 1), *b = json_array_get(a, 2);

	T_EQ_INT(json_array_size(a), 13);
	T_CHECK(strcmp(json_string_value(json_object_get(n, "type")),
	    "integer") == 0, "type name");
	T_EQ_INT(json_integer_value(json_object_get(n, "default")), 4);
	T_EQ_INT(json_integer_value(json_object_get(n, "min")), 1);
	T_EQ_INT(json_integer_value(json_object_get(n, "max")), 64);
	T_CHECK(json_is_true(json_object_get(x, "min_exclusive")), "excl");
	T_CHECK(json_is_null(json_object_get(b, "default")), "no default");
	T_CHECK(json_object_get(b, "min") == NULL, "no range for booleans");
	T_CHECK(strcmp(json_string_value(json_object_get(json_array_get(a, 8),
	    "env")), "TEST_PARAMS_CMD") == 0, "env named");
	json_decref(a);
	T_CHECK(params_command_ok("ringagent -f /a/b.conf"), "command ok");
	T_CHECK(!params_command_ok("x\ny"), "newline refused");
	T_CHECK(!params_command_ok(NULL), "NULL refused");
}

int main(void)
{
	test_refusals();
	test_defaults();
	test_spec_json();
	test_required();
	return t_done("test_params");
}
