/*
 * test_agent_answers - what the agent reads from the orchestrator's
 * answers for forming a cluster: the wait role of a check-in and seeds in
 * a heartbeat answer.  A bad answer is refused whole.
 */
#include <stdio.h>
#include <string.h>

#include "../../agent/checkin.h"
#include "../../agent/heartbeat.h"
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

int main(void)
{
	test_wait();
	test_heartbeat_answer();
	return t_done("test_agent_answers");
}
