/*
 * test_agent_answers - what the agent reads from the orchestrator's
 * answers: the wait role of a check-in, seeds and tenants in a heartbeat
 * answer.  A bad answer is refused whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../agent/checkin.h"
#include "../../agent/heartbeat.h"
#include "../../agent/tenants.h"
#include "../../common/util.h"
#include "t.h"

static void test_wait(void)
{
	static const struct {
		const char *body;
		int rc;
		long long retry_ms;
		const char *reason, *err;
	} rows[] = {
		{ "{\"role\":\"wait\",\"retry_after_s\":5,\"reason\":\"slot\"}",
		  0, 5000, "slot", NULL },
		{ "{\"role\":\"wait\",\"retry_after_s\":2.5}", 0, 2500, NULL, NULL },
		{ "{\"role\":\"wait\",\"retry_after_s\":0.01}", 0, 1000, NULL, NULL },
		{ "{\"role\":\"wait\",\"retry_after_s\":86400}", 0, 600000, NULL,
		  NULL },
		{ "{\"role\":\"wait\"}", -1, 0, NULL, "no positive retry_after_s" },
		{ "{\"role\":\"wait\",\"retry_after_s\":0}", -1, 0, NULL,
		  "no positive" },
		{ "{\"role\":\"wait\",\"retry_after_s\":\"5\"}", -1, 0, NULL,
		  "no positive" },
		{ "{\"role\":\"sleep\",\"retry_after_s\":5}", -1, 0, NULL,
		  "unknown role" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct checkin_answer a;
		char err[256] = "";
		int rc = checkin_parse_answer(rows[i].body, strlen(rows[i].body),
		    &a, err, sizeof(err));
		T_CHECK(rc == rows[i].rc, "%s: rc %d (%s)", rows[i].body, rc, err);
		if (rc == 0) {
			T_CHECK(a.role == CHECKIN_WAIT, "%s: role", rows[i].body);
			T_EQ_INT(a.retry_after_ms, rows[i].retry_ms);
			T_CHECK((rows[i].reason == NULL && a.reason == NULL) ||
			    (rows[i].reason && a.reason &&
			    strcmp(a.reason, rows[i].reason) == 0), "%s: reason",
			    rows[i].body);
		} else {
			T_CHECK(strstr(err, rows[i].err) != NULL, "%s: '%s'",
			    rows[i].body, err);
			T_CHECK(a.reason == NULL && a.seeds == NULL,
			    "%s: nothing kept", rows[i].body);
		}
		checkin_answer_release(&a);
	}
	T_EQ_STR(checkin_role_name(CHECKIN_WAIT), "wait");
}

static void test_heartbeat_answer(void)
{
	static const struct {
		const char *body;
		int rc;
		long long gen, interval;
		size_t nseeds;
		const char *err;
	} rows[] = {
		{ "{\"status\":\"ok\"}", 0, 0, 0, 0, NULL },
		{ "", 0, 0, 0, 0, NULL },
		{ "{\"status\":\"ok\",\"heartbeat_interval_s\":2}", 0, 0, 2000, 0,
		  NULL },
		{ "{\"seeds\":[\"10.0.0.1\",\"10.0.0.2\"],\"seeds_gen\":3}", 0, 3,
		  0, 2, NULL },
		{ "{\"seeds\":null,\"seeds_gen\":3}", 0, 0, 0, 0, NULL },
		{ "{\"seeds\":[],\"seeds_gen\":3}", -1, 0, 0, 0, "1 to 64" },
		{ "{\"seeds\":\"10.0.0.1\",\"seeds_gen\":3}", -1, 0, 0, 0,
		  "not a list" },
		{ "{\"seeds\":[\"10.0.0.1\"]}", -1, 0, 0, 0, "no positive seeds_gen" },
		{ "{\"seeds\":[\"10.0.0.1\"],\"seeds_gen\":0}", -1, 0, 0, 0,
		  "no positive seeds_gen" },
		{ "{\"seeds\":[\"10.0.0.1\",\"a b;rm\"],\"seeds_gen\":4}", -1, 0, 0,
		  0, "seed 1 is not an address" },
		{ "{\"seeds\":[\"10.0.0.1\",7],\"seeds_gen\":4}", -1, 0, 0, 0,
		  "seed 1" },
		{ "[1]", -1, 0, 0, 0, "not a JSON object" },
		{ "{nope", -1, 0, 0, 0, "not a JSON object" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct heartbeat_answer a;
		char err[256] = "";
		int rc = heartbeat_parse_answer(rows[i].body, strlen(rows[i].body),
		    &a, err, sizeof(err));
		T_CHECK(rc == rows[i].rc, "%s: rc %d (%s)", rows[i].body, rc, err);
		if (rc == 0) {
			T_EQ_INT(a.seeds_gen, rows[i].gen);
			T_EQ_INT(a.interval_ms, rows[i].interval);
			T_EQ_INT(a.n_seeds, rows[i].nseeds);
		} else {
			T_CHECK(strstr(err, rows[i].err) != NULL, "%s: '%s'",
			    rows[i].body, err);
			T_CHECK(a.seeds == NULL && a.n_seeds == 0 &&
			    a.seeds_gen == 0, "%s: nothing kept", rows[i].body);
		}
		heartbeat_answer_release(&a);
	}
}

/* A list of n tenants t0000.. each on keyspace ks, as JSON text. */
static char *many_tenants(size_t n, size_t n_keyspaces)
{
	json_t *list = json_array(), *ks = json_array(), *j;
	char name[32], *text;

	for (size_t k = 0; k < n_keyspaces; k++) {
		snprintf(name, sizeof(name), "k%zu", k);
		json_array_append_new(ks, json_string(name));
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "t%04zu", i);
		json_array_append_new(list, json_pack("{s:s, s:O}", "name", name,
		    "keyspaces", ks));
	}
	j = json_pack("{s:I, s:o}", "tenants_gen", (json_int_t)5, "tenants", list);
	text = json_dumps(j, 0);
	json_decref(j);
	json_decref(ks);
	return text;
}

static void test_tenants_answer(void)
{
	static const struct {
		const char *body;
		int rc;
		long long gen, demand_ms;
		int n;			/* tenants in the list; -1: no list */
		const char *err;
	} rows[] = {
		/* no tenants_gen: an orchestrator without tenants */
		{ "{\"status\":\"ok\"}", 0, 0, 0, -1, NULL },
		/* the generation held: nothing resent */
		{ "{\"tenants_gen\":123456789}", 0, 123456789, 0, -1, NULL },
		{ "{\"tenants_gen\":7,\"tenants\":[{\"name\":\"t1\","
		  "\"keyspaces\":[\"ks2\",\"ks1\"],\"limit\":4000},"
		  "{\"name\":\"t2\",\"prefix\":\"acme_\"}],"
		  "\"demand_interval_s\":30}", 0, 7, 30000, 2, NULL },
		/* empty: no tenants any more */
		{ "{\"tenants_gen\":8,\"tenants\":[]}", 0, 8, 0, 0, NULL },
		{ "{\"demand_interval_s\":0.2}", 0, 0, 1000, -1, NULL },
		{ "{\"demand_interval_s\":1e9}", 0, 0, 86400000, -1, NULL },
		{ "{\"demand_interval_s\":0}", -1, 0, 0, -1, "demand_interval_s" },
		{ "{\"demand_interval_s\":\"30\"}", -1, 0, 0, -1,
		  "demand_interval_s" },
		{ "{\"tenants\":[]}", -1, 0, 0, -1, "no positive tenants_gen" },
		{ "{\"tenants_gen\":0,\"tenants\":[]}", -1, 0, 0, -1,
		  "tenants_gen is not a positive" },
		{ "{\"tenants_gen\":\"7\"}", -1, 0, 0, -1,
		  "tenants_gen is not a positive" },
		{ "{\"tenants_gen\":7,\"tenants\":{}}", -1, 0, 0, -1,
		  "not a list" },
		{ "{\"tenants_gen\":7,\"tenants\":[7]}", -1, 0, 0, -1,
		  "tenants[0] is not an object" },
		{ "{\"tenants_gen\":7,\"tenants\":[{\"name\":\"a b\","
		  "\"prefix\":\"x\"}]}", -1, 0, 0, -1, "tenants[0].name" },
		{ "{\"tenants_gen\":7,\"tenants\":[{\"name\":\"\","
		  "\"prefix\":\"x\"}]}", -1, 0, 0, -1, "tenants[0].name" },
		{ "{\"tenants_gen\":7,\"tenants\":[{\"name\":\"t\"}]}", -1,
		  0, 0, -1, "has neither of 'keyspaces' and 'prefix'" },
		{ "{\"tenants_gen\":7,\"tenants\":[{\"name\":\"t\","
		  "\"prefix\":\"a\",\"keyspaces\":[\"a\"]}]}", -1, 0, 0, -1,
		  "has both" },
		{ "{\"tenants_gen\":7,\"tenants\":[{\"name\":\"t\","
		  "\"keyspaces\":[]}]}", -1, 0, 0, -1, "list of 1 to 64" },
		{ "{\"tenants_gen\":7,\"tenants\":[{\"name\":\"t\","
		  "\"keyspaces\":[\"ks-1\"]}]}", -1, 0, 0, -1,
		  "keyspaces[0] is not a keyspace name" },
		{ "{\"tenants_gen\":7,\"tenants\":[{\"name\":\"t\","
		  "\"keyspaces\":[\"a234567890123456789012345678901234567890123456789\"]}]}",
		  -1, 0, 0, -1, "keyspaces[0] is not a keyspace name" },
		{ "{\"tenants_gen\":7,\"tenants\":[{\"name\":\"t\","
		  "\"keyspaces\":[\"a\",\"a\"]}]}", -1, 0, 0, -1,
		  "keyspace 'a' is listed twice" },
		{ "{\"tenants_gen\":7,\"tenants\":[{\"name\":\"t\","
		  "\"prefix\":\"x;rm\"}]}", -1, 0, 0, -1, "prefix is not" },
		{ "{\"tenants_gen\":7,\"tenants\":[{\"name\":\"t\","
		  "\"prefix\":\"x\",\"limit\":0}]}", -1, 0, 0, -1,
		  "limit is not a positive whole number" },
		{ "{\"tenants_gen\":7,\"tenants\":[{\"name\":\"t\","
		  "\"prefix\":\"x\",\"limit\":4000.5}]}", -1, 0, 0, -1,
		  "limit is not" },
		{ "{\"tenants_gen\":7,\"tenants\":[{\"name\":\"t\","
		  "\"prefix\":\"x\"},{\"name\":\"t\",\"prefix\":\"y\"}]}",
		  -1, 0, 0, -1, "tenant 't' is listed twice" },
		/* a bad tenant list takes good seeds down with it, as a bad
		 * seed list does: the answer is refused whole */
		{ "{\"seeds\":[\"10.0.0.1\"],\"seeds_gen\":3,\"tenants_gen\":7,"
		  "\"tenants\":[{\"name\":\"t\"}]}", -1, 0, 0, -1, "neither" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct heartbeat_answer a;
		char err[512] = "";
		int rc = heartbeat_parse_answer(rows[i].body, strlen(rows[i].body),
		    &a, err, sizeof(err));
		T_CHECK(rc == rows[i].rc, "%s: rc %d (%s)", rows[i].body, rc, err);
		if (rc == 0) {
			T_EQ_INT(a.tenants_gen, rows[i].gen);
			T_EQ_INT(a.demand_interval_ms, rows[i].demand_ms);
			T_CHECK(rows[i].n < 0 ? a.tenants == NULL : a.tenants !=
			    NULL && a.tenants->n == (size_t)rows[i].n,
			    "%s: list", rows[i].body);
		} else {
			T_CHECK(strstr(err, rows[i].err) != NULL, "%s: '%s'",
			    rows[i].body, err);
			T_CHECK(a.tenants == NULL && a.seeds == NULL &&
			    a.tenants_gen == 0, "%s: nothing kept", rows[i].body);
		}
		heartbeat_answer_release(&a);
	}
}

/* What the list holds, sorted; and the bounds of its size. */
static void test_tenants_list(void)
{
	const char *body = "{\"tenants_gen\":7,\"tenants\":["
	    "{\"name\":\"zeta\",\"prefix\":\"acme_\",\"limit\":6000},"
	    "{\"name\":\"t1\",\"keyspaces\":[\"ks2\",\"ks1\"],"
	    "\"limit\":4000,\"future\":true}]}";
	struct heartbeat_answer a;
	char err[512] = "", *text;
	const struct tenant *t;

	T_CHECK(heartbeat_parse_answer(body, strlen(body), &a, err,
	    sizeof(err)) == 0, "%s", err);
	if (a.tenants != NULL && a.tenants->n == 2) {
		t = &a.tenants->t[0];
		T_EQ_STR(t->name, "t1");
		T_EQ_INT(t->limit, 4000);
		T_CHECK(t->prefix == NULL && t->n_keyspaces == 2 &&
		    strcmp(t->keyspaces[0], "ks1") == 0, "t1 keyspaces sorted");
		T_CHECK(tenants_match(t, "ks2") && !tenants_match(t, "ks") &&
		    !tenants_match(t, "ks10"), "t1 matches by name only");
		t = &a.tenants->t[1];
		T_EQ_STR(t->name, "zeta");
		T_EQ_STR(t->prefix, "acme_");
		T_CHECK(tenants_match(t, "acme_orders") && tenants_match(t,
		    "acme_") && !tenants_match(t, "acme") &&
		    !tenants_match(t, "xacme_a"), "zeta matches by prefix");
		T_EQ_INT(tenants_served(a.tenants), 2);
	} else {
		T_CHECK(0, "list not parsed");
	}
	heartbeat_answer_release(&a);

	text = many_tenants(TENANTS_MAX, TENANTS_MAX_KEYSPACES);
	T_CHECK(heartbeat_parse_answer(text, strlen(text), &a, err,
	    sizeof(err)) == 0 && a.tenants->n == TENANTS_MAX, "1000 x 64: %s",
	    err);
	T_EQ_INT(tenants_served(a.tenants), 0);
	heartbeat_answer_release(&a);
	free(text);
	text = many_tenants(TENANTS_MAX + 1, 1);
	T_CHECK(heartbeat_parse_answer(text, strlen(text), &a, err,
	    sizeof(err)) == -1 && strstr(err, "at most 1000"), "1001: %s", err);
	free(text);
	text = many_tenants(1, TENANTS_MAX_KEYSPACES + 1);
	T_CHECK(heartbeat_parse_answer(text, strlen(text), &a, err,
	    sizeof(err)) == -1 && strstr(err, "1 to 64 names"), "65: %s", err);
	free(text);
	tenants_free(NULL);
}

int main(void)
{
	test_wait();
	test_heartbeat_answer();
	test_tenants_answer();
	test_tenants_list();
	return t_done("test_agent_answers");
}
