/*
 * test_autorepair.c - CEP-37 auto-repair detection: the agent's parsers
 * (agent/autorepair.c) and the orchestrator's verdict and refusal
 * (orchestrator/tasks/repair_auto.c), plus the SJK answer that tells a
 * cancelled full repair's sessions were terminated (agent/repair_admin.c).
 *
 * Where the texts come from:
 *  - getautorepairconfig: written from Cassandra trunk's
 *    src/java/org/apache/cassandra/tools/nodetool/GetAutoRepairConfig.java
 *    ("Auto-repair is not enabled"; "repair scheduler configuration:", then
 *    per AutoRepairConfig.RepairType "configuration for repair_type: <name>"
 *    and "\tenabled: <bool>", the other settings only for an enabled type),
 *    and an earlier form of the same class ("configuration for repair type:
 *    FULL", "AutoRepair is not enabled").
 *  - the unknown command: real 4.1.1 (../shared/cassandra-4.1), stdout,
 *    exit 1.
 *  - cassandra.yaml: trunk's auto_repair section (Config.auto_repair,
 *    AutoRepairConfig: enabled, global_settings, repair_type_overrides; a
 *    type's setting wins over global_settings, which wins over the default,
 *    off).
 *  - SJK: real 4.1.1, `nodetool sjk mx -b ...StorageService -mc -op ...`.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../agent/autorepair.h"
#include "../../agent/repair.h"
#include "../../orchestrator/tasks/repair_auto.h"
#include "t.h"

static const char TRUNK_FULL[] =
    "repair scheduler configuration:\n"
    "\trepair_check_interval: 5m\n"
    "\trepair_max_retries: 3\n"
    "\trepair_retry_backoff: 30s\n"
    "\trepair_task_min_duration: 5s\n"
    "\thistory_clear_delete_hosts_buffer_interval: 2h\n"
    "configuration for repair_type: full\n"
    "\tenabled: true\n"
    "\tmin_repair_interval: 24h\n"
    "\trepair_by_keyspace: true\n"
    "\tnumber_of_repair_threads: 1\n"
    "\tignore_dcs: []\n"
    "\ttoken_range_splitter: org.apache.cassandra.repair.autorepair.RepairTokenRangeSplitter\n"
    "\ttoken_range_splitter.bytes_per_assignment: 50GiB\n"
    "configuration for repair_type: incremental\n"
    "\tenabled: false\n"
    "configuration for repair_type: preview_repaired\n"
    "\tenabled: false\n";

static const char OLD_FORM[] =
    "repair scheduler configuration:\n"
    "\trepair eligibility check interval: 300 seconds\n"
    "configuration for repair type: FULL\n"
    "\tenabled: false\n"
    "\tminimum repair interval in hours: 24\n"
    "configuration for repair type: INCREMENTAL\n"
    "\tenabled: true\n";

static const char REAL_411_UNKNOWN[] =
    "nodetool: Found unexpected parameters: [getautorepairconfig]\n"
    "See 'nodetool help' or 'nodetool help <command>'.\n";

struct ncase {
	const char *name, *text;
	int rc;
	bool scheduler, full, inc, preview;
};

static void test_nodetool(void)
{
	static const struct ncase cases[] = {
		{ "trunk, full on", TRUNK_FULL, 0, true, true, false, false },
		{ "scheduler off", "Auto-repair is not enabled\n", 0, false,
		  false, false, false },
		{ "earlier form, off", "AutoRepair is not enabled\n", 0, false,
		  false, false, false },
		{ "JMX warning first", "WARN  01:02:03 Only 1.2 GiB free\n"
		  "Auto-repair is not enabled\n", 0, false, false, false, false },
		{ "earlier form, upper-case types", OLD_FORM, 0, true, false,
		  true, false },
		{ "every type on",
		  "repair scheduler configuration:\n"
		  "configuration for repair_type: full\n\tenabled: true\n"
		  "configuration for repair_type: incremental\n\tenabled: true\n"
		  "configuration for repair_type: preview_repaired\n\tenabled: true\n",
		  0, true, true, true, true },
		{ "CRLF", "repair scheduler configuration:\r\n"
		  "configuration for repair_type: full\r\n\tenabled: true\r\n",
		  0, true, true, false, false },
		{ "4.1.1's unknown command is not an answer", REAL_411_UNKNOWN,
		  -1, false, false, false, false },
		{ "empty", "", -1, false, false, false, false },
		{ "type without enabled",
		  "repair scheduler configuration:\n"
		  "configuration for repair_type: full\n\tmin_repair_interval: 24h\n"
		  "configuration for repair_type: incremental\n\tenabled: true\n",
		  -1, false, false, false, false },
		{ "last type without enabled",
		  "repair scheduler configuration:\n"
		  "configuration for repair_type: full\n", -1, false, false,
		  false, false },
		{ "enabled not a boolean",
		  "repair scheduler configuration:\n"
		  "configuration for repair_type: full\n\tenabled: yes\n", -1,
		  false, false, false, false },
		{ "bad type name",
		  "repair scheduler configuration:\n"
		  "configuration for repair_type: fu ll\n\tenabled: true\n", -1,
		  false, false, false, false },
		{ "scheduler on, no types", "repair scheduler configuration:\n"
		  "\trepair_check_interval: 5m\n", -1, false, false, false, false },
		{ "garbage", "error: something else\n-- StackTrace --\n", -1,
		  false, false, false, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ncase *c = &cases[i];
		struct autorepair ar;
		char err[256] = "";
		int rc = autorepair_parse_nodetool(c->text, strlen(c->text), &ar,
		    err, sizeof(err));

		T_CHECK(rc == c->rc, "%s: rc %d (%s)", c->name, rc, err);
		if (rc != 0) {
			T_CHECK(err[0] != '\0', "%s: no error text", c->name);
			continue;
		}
		T_CHECK(ar.scheduler == c->scheduler, "%s: scheduler", c->name);
		T_CHECK(autorepair_type_enabled(&ar, "full") == c->full,
		    "%s: full", c->name);
		T_CHECK(autorepair_type_enabled(&ar, "incremental") == c->inc,
		    "%s: incremental", c->name);
		T_CHECK(autorepair_type_enabled(&ar, "preview_repaired") ==
		    c->preview, "%s: preview_repaired", c->name);
		T_CHECK(!autorepair_type_enabled(&ar, "nosuch"), "%s: unknown "
		    "type", c->name);
	}
	T_CHECK(autorepair_no_command(REAL_411_UNKNOWN), "4.1.1's answer");
	T_CHECK(!autorepair_no_command("nodetool: Found unexpected parameters: "
	    "[repair, --bogus]\n"), "another command's complaint");
	T_CHECK(!autorepair_no_command(TRUNK_FULL), "an answer");
	T_CHECK(!autorepair_no_command(NULL), "NULL");
}

struct ycase {
	const char *name, *text;
	int rc;
	bool scheduler, full, inc, preview;
};

static void test_yaml(void)
{
	static const struct ycase cases[] = {
		{ "no section", "cluster_name: 'Test Cluster'\nnum_tokens: 16\n",
		  0, false, false, false, false },
		{ "commented out, as trunk ships it",
		  "#auto_repair:\n#  enabled: true\n#  repair_type_overrides:\n"
		  "#    full:\n#      enabled: true\nnum_tokens: 16\n", 0, false,
		  false, false, false },
		{ "scheduler on, full overridden on",
		  "cluster_name: x\nauto_repair:\n  enabled: true\n"
		  "  repair_type_overrides:\n    full:\n      enabled: true\n"
		  "      min_repair_interval: 24h\n    incremental:\n"
		  "      enabled: false\nnum_tokens: 16\n", 0, true, true, false,
		  false },
		{ "global_settings on, one type off",
		  "auto_repair:\n  enabled: true\n  global_settings:\n"
		  "    enabled: true\n    ignore_dcs:\n      - dc2\n"
		  "  repair_type_overrides:\n    preview_repaired:\n"
		  "      enabled: false\n", 0, true, true, true, false },
		{ "types on but the scheduler off",
		  "auto_repair:\n  enabled: false\n  global_settings:\n"
		  "    enabled: true\n", 0, false, false, false, false },
		{ "scheduler on, nothing else: the default is off",
		  "auto_repair:\n  enabled: true\n", 0, true, false, false, false },
		{ "YAML 1.1 booleans, quotes, comments, 4-space indent",
		  "auto_repair:   # CEP-37\n    enabled: yes\n"
		  "    repair_type_overrides:\n        incremental:\n"
		  "            enabled: \"true\"  # nightly\n", 0, true, false,
		  true, false },
		{ "a nested enabled is not the type's",
		  "auto_repair:\n  enabled: true\n  repair_type_overrides:\n"
		  "    full:\n      token_range_splitter:\n        enabled: true\n",
		  0, true, false, false, false },
		{ "flow style refused", "auto_repair: {enabled: true}\n", -1,
		  false, false, false, false },
		{ "not a boolean", "auto_repair:\n  enabled: maybe\n", -1, false,
		  false, false, false },
		{ "bad type name", "auto_repair:\n  enabled: true\n"
		  "  repair_type_overrides:\n    Full Repair:\n      enabled: true\n",
		  -1, false, false, false, false },
		{ "given twice", "auto_repair:\n  enabled: false\nx: 1\n"
		  "auto_repair:\n  enabled: true\n", -1, false, false, false, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ycase *c = &cases[i];
		struct autorepair ar;
		char err[256] = "";
		int rc = autorepair_parse_yaml(c->text, &ar, err, sizeof(err));

		T_CHECK(rc == c->rc, "%s: rc %d (%s)", c->name, rc, err);
		if (rc != 0) {
			T_CHECK(strstr(err, "line ") != NULL, "%s: '%s' names no "
			    "line", c->name, err);
			continue;
		}
		T_CHECK(ar.source == AUTOREPAIR_YAML, "%s: source", c->name);
		T_CHECK(ar.scheduler == c->scheduler, "%s: scheduler", c->name);
		T_CHECK(autorepair_type_enabled(&ar, "full") == c->full,
		    "%s: full", c->name);
		T_CHECK(autorepair_type_enabled(&ar, "incremental") == c->inc,
		    "%s: incremental", c->name);
		T_CHECK(autorepair_type_enabled(&ar, "preview_repaired") ==
		    c->preview, "%s: preview_repaired", c->name);
	}
}

/* The agent's JSON read back by the orchestrator: both ends agree. */
static void test_verdict(void)
{
	struct autorepair ar;
	char err[256];
	json_t *j;

	T_CHECK(autorepair_parse_nodetool(TRUNK_FULL, strlen(TRUNK_FULL), &ar,
	    err, sizeof(err)) == 0, "parse");
	j = autorepair_json(&ar, NULL);
	T_EQ_STR(json_string_value(json_object_get(j, "source")), "nodetool");
	T_EQ_INT(json_array_size(json_object_get(j, "enabled")), 1);
	T_EQ_INT(repair_auto_verdict(j, repair_auto_type(true)), REPAIR_AUTO_CLASH);
	T_EQ_INT(repair_auto_verdict(j, repair_auto_type(false)), REPAIR_AUTO_CLEAR);
	json_decref(j);

	memset(&ar, 0, sizeof(ar));
	ar.source = AUTOREPAIR_NO_COMMAND;
	j = autorepair_json(&ar, NULL);
	T_EQ_STR(json_string_value(json_object_get(j, "source")), "no_command");
	T_EQ_INT(repair_auto_verdict(j, "full"), REPAIR_AUTO_CLEAR);
	json_decref(j);

	memset(&ar, 0, sizeof(ar));
	ar.source = AUTOREPAIR_UNKNOWN;
	j = autorepair_json(&ar, "nodetool getautorepairconfig: timed out");
	T_EQ_STR(json_string_value(json_object_get(j, "error")),
	    "nodetool getautorepairconfig: timed out");
	T_EQ_INT(repair_auto_verdict(j, "full"), REPAIR_AUTO_UNKNOWN);
	json_decref(j);

	/* defensive: what an odd agent might send */
	{
		static const struct { const char *json; int want; } v[] = {
			{ "null", REPAIR_AUTO_UNKNOWN },
			{ "{}", REPAIR_AUTO_UNKNOWN },
			{ "{\"source\": 3}", REPAIR_AUTO_UNKNOWN },
			{ "{\"source\": \"nodetool\"}", REPAIR_AUTO_UNKNOWN },
			{ "{\"source\": \"nodetool\", \"scheduler\": false, "
			  "\"types\": {\"full\": true}}", REPAIR_AUTO_CLEAR },
			{ "{\"source\": \"cassandra.yaml\", \"scheduler\": true, "
			  "\"types\": {\"full\": \"yes\"}}", REPAIR_AUTO_UNKNOWN },
			{ "{\"source\": \"cassandra.yaml\", \"scheduler\": true, "
			  "\"types\": {\"incremental\": true}}", REPAIR_AUTO_CLEAR },
			{ "{\"source\": \"cassandra.yaml\", \"scheduler\": true, "
			  "\"types\": {\"full\": true}}", REPAIR_AUTO_CLASH },
		};
		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
			json_t *x = json_loads(v[i].json, JSON_DECODE_ANY, NULL);
			T_CHECK((int)repair_auto_verdict(x, "full") == v[i].want,
			    "verdict of %s", v[i].json);
			json_decref(x);
		}
	}
}

static void test_refusal(void)
{
	const char *one[] = { "10.0.0.1" };
	const char *two[] = { "10.0.0.1", "10.0.0.2" };
	char *m = repair_auto_refusal(one, 1, "full");

	T_CHECK(strncmp(m, "10.0.0.1 runs Cassandra's own full auto-repair "
	    "(CEP-37): a repair here would repair the same ranges twice; "
	    "disable it (nodetool setautorepairconfig -t full enabled false",
	    strlen("10.0.0.1 runs Cassandra's own full auto-repair (CEP-37): a "
	    "repair here would repair the same ranges twice; disable it "
	    "(nodetool setautorepairconfig -t full enabled false")) == 0, "%s", m);
	T_CHECK(strstr(m, "or pass force: true") != NULL, "%s", m);
	free(m);
	m = repair_auto_refusal(two, 2, "incremental");
	T_CHECK(strncmp(m, "10.0.0.1, 10.0.0.2 run Cassandra's own incremental "
	    "auto-repair", 60) == 0, "%s", m);
	free(m);
}

static void test_sjk(void)
{
	/* real 4.1.1 */
	T_CHECK(repair_sjk_invoked("org.apache.cassandra.db:type=StorageService\n"
	    "null\n", ""), "ran");
	T_CHECK(!repair_sjk_invoked("org.apache.cassandra.db:type=StorageService\n",
	    "java.lang.IllegalArgumentException: Operation noSuchOp/0 not found "
	    "for org.apache.cassandra.db:type=StorageService\n"), "no such op");
	T_CHECK(!repair_sjk_invoked("", ""), "nothing printed");
	T_CHECK(!repair_sjk_invoked(NULL, NULL), "NULL");
	T_CHECK(!repair_sjk_invoked("null\n", ""), "no bean line");
	T_CHECK(!repair_sjk_invoked("org.apache.cassandra.db:type=StorageService\n"
	    "null\n", "java.lang.SecurityException: denied\n"), "an exception");
}

int main(void)
{
	test_nodetool();
	test_yaml();
	test_verdict();
	test_refusal();
	test_sjk();
	return t_done("test_autorepair");
}
