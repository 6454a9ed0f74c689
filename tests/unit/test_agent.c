/*
 * test_agent.c - the agent's pure pieces: config table, check-in body and
 * answer, backoff, heartbeat body, child processes with deadlines, and the
 * "holds data" test on a real directory tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../../agent/agentcfg.h"
#include "../../agent/cass.h"
#include "../../agent/checkin.h"
#include "../../agent/heartbeat.h"
#include "../../agent/proc.h"
#include "../../common/util.h"
#include "../../orchestrator/service/service.h"
#include "t.h"

static const char good_conf[] =
    "# agent\n"
    "orchestrator = https://rm.example:7400/\n"
    "cluster = prod\n"
    "address = 10.0.0.5\n"
    "dc = eu1\n"
    "rack = r2\n"
    "data_dirs = /data1/cassandra, /data2/cassandra ,\n"
    "cassandra_start = systemctl start cassandra\n"
    "heartbeat_interval = 5s\n";

static void test_config(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "frobnicate = 1\n", "agent.conf:1: " },
		{ "orchestrator = ftp://x\n", "key 'orchestrator'" },
		{ "heartbeat_interval = soon\n", "key 'heartbeat_interval'" },
		{ "heartbeat_interval = 10ms\n", "key 'heartbeat_interval'" },
		{ "data_dirs = , ,\n", "key 'data_dirs'" },
		{ "cluster = has space\n", "key 'cluster'" },
		{ "log_level = loud\n", "key 'log_level'" },
		{ "demand_interval = 500ms\n", "key 'demand_interval'" },
		{ "demand_interval = often\n", "key 'demand_interval'" },
	};
	char err[512];
	struct agentcfg *c = agentcfg_parse("agent.conf", good_conf, err, sizeof(err));

	T_CHECK(c != NULL, "%s", err);
	if (c != NULL) {
		T_EQ_STR(c->orchestrator, "https://rm.example:7400");
		T_EQ_INT(c->n_data_dirs, 2);
		T_EQ_STR(c->data_dirs[1], "/data2/cassandra");
		T_CHECK(c->data_dirs[2] == NULL, "NULL-terminated");
		T_EQ_INT(c->heartbeat_interval_ms, 5000);
		T_EQ_STR(c->ssh_host_key, "/etc/ssh/ssh_host_ed25519_key.pub");
		T_EQ_INT(agentcfg_check_daemon(c, err, sizeof(err)), 0);
		/* tenants: the file in the state dir, no hook, 30 s */
		T_EQ_STR(c->limits_file, "/var/lib/ringagent/limits.json");
		T_CHECK(c->limits_hook == NULL, "a hook by default");
		T_EQ_INT(c->demand_interval_ms, 30000);
		agentcfg_free(c);
	}
	c = agentcfg_parse("agent.conf", "state_dir = /srv/ra\ndemand_interval = 1m\n"
	    "limits_hook = /usr/local/bin/apply-limits --reload\n", err, sizeof(err));
	T_CHECK(c != NULL, "%s", err);
	if (c != NULL) {
		T_EQ_STR(c->limits_file, "/srv/ra/limits.json");
		T_EQ_STR(c->limits_hook, "/usr/local/bin/apply-limits --reload");
		T_EQ_INT(c->demand_interval_ms, 60000);
	}
	agentcfg_free(c);
	c = agentcfg_parse("agent.conf", "limits_file = /etc/proxy/limits.json\n",
	    err, sizeof(err));
	T_CHECK(c != NULL && strcmp(c->limits_file, "/etc/proxy/limits.json") == 0,
	    "limits_file: %s", err);
	agentcfg_free(c);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		c = agentcfg_parse("agent.conf", bad[i].text, err, sizeof(err));
		T_CHECK(c == NULL && strstr(err, bad[i].want), "row %zu: '%s'", i, err);
		agentcfg_free(c);
	}
	/* Operations need no orchestrator; the daemon does. */
	c = agentcfg_parse("agent.conf", "nodetool = /opt/c/bin/nodetool\n", err, sizeof(err));
	T_CHECK(c != NULL, "%s", err);
	T_EQ_INT(agentcfg_check_daemon(c, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "key 'orchestrator' is required") != NULL, "%s", err);
	agentcfg_free(c);
	agentcfg_free(NULL);
}

static void test_checkin_body_and_answer(void)
{
	char err[256];
	struct agentcfg *c = agentcfg_parse("a.conf", good_conf, err, sizeof(err));
	struct checkin_answer a;
	json_t *b;

	struct checkin_facts f = { .ssh_host_key = "ssh-ed25519 AAAA x" };

	b = checkin_body(c, &f);
	T_EQ_STR(json_string_value(json_object_get(b, "cluster")), "prod");
	T_EQ_STR(json_string_value(json_object_get(b, "cassandra_version")), "unknown");
	T_CHECK(json_object_get(b, "host_id") == NULL, "no host_id when unknown");
	T_EQ_STR(json_string_value(json_object_get(b, "ssh_host_key")), "ssh-ed25519 AAAA x");
	T_CHECK(json_is_false(json_object_get(b, "cassandra_running")), "not running");
	T_CHECK(json_is_false(json_object_get(b, "has_data")), "no data");
	T_CHECK(json_is_false(json_object_get(b, "system_keyspace")), "no system ks");
	json_decref(b);
	memset(&f, 0, sizeof(f));
	f.host_id = "6f1c2a52-0000-4000-8000-000000000001";
	f.version = "4.1.3";
	f.cassandra_running = true;
	f.has_data = true;
	f.system_keyspace = true;
	b = checkin_body(c, &f);
	T_EQ_STR(json_string_value(json_object_get(b, "host_id")),
	    "6f1c2a52-0000-4000-8000-000000000001");
	T_CHECK(json_object_get(b, "ssh_host_key") == NULL, "no key");
	T_CHECK(json_is_true(json_object_get(b, "cassandra_running")), "running");
	T_CHECK(json_is_true(json_object_get(b, "has_data")), "data");
	T_CHECK(json_is_true(json_object_get(b, "system_keyspace")), "system ks");
	T_CHECK(json_object_get(b, "start_failures") == NULL &&
	    json_object_get(b, "start_error") == NULL, "no failed starts sent");
	json_decref(b);
	/* Failed starts in a row and the last error, sent when there are. */
	memset(&f, 0, sizeof(f));
	f.start_failures = 3;
	f.start_error = "cassandra-start exited 3: Unable to contact any seeds";
	b = checkin_body(c, &f);
	T_EQ_INT(json_integer_value(json_object_get(b, "start_failures")), 3);
	T_EQ_STR(json_string_value(json_object_get(b, "start_error")),
	    "cassandra-start exited 3: Unable to contact any seeds");
	json_decref(b);

	static const struct {
		const char *body;
		int rc;
		const char *want;	/* error substring, or NULL */
	} rows[] = {
		{ "{\"role\":\"bootstrap\",\"seeds\":[\"10.0.0.1\",\"10.0.0.2\"],"
		  "\"heartbeat_interval_s\":2}", 0, NULL },
		{ "{\"role\":\"rejoin\",\"seeds\":[]}", 0, NULL },
		{ "{\"role\":\"replace\",\"seeds\":[\"10.0.0.1\"],"
		  "\"replace_address\":\"10.0.0.9\"}", 0, NULL },
		{ "{\"role\":\"replace\",\"seeds\":[\"10.0.0.1\"]}", -1, "no replace_address" },
		{ "{\"role\":\"bootstrap\",\"seeds\":[]}", -1, "no seeds" },
		{ "{\"role\":\"conquer\"}", -1, "unknown role" },
		{ "{\"seeds\":[]}", -1, "no 'role'" },
		{ "[1]", -1, "not a JSON object" },
		{ "nope", -1, "not a JSON object" },
		{ "{\"role\":\"bootstrap\",\"seeds\":[\"1.1.1.1\\\"\\nx: y\"]}", -1,
		  "not an address" },
		{ "{\"role\":\"bootstrap\",\"seeds\":\"1.1.1.1\"}", -1, "not a list" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		err[0] = '\0';
		int rc = checkin_parse_answer(rows[i].body, strlen(rows[i].body), &a,
		    err, sizeof(err));
		T_CHECK(rc == rows[i].rc, "row %zu: rc %d (%s)", i, rc, err);
		if (rows[i].want)
			T_CHECK(strstr(err, rows[i].want) != NULL, "row %zu: '%s'", i, err);
		if (i == 0 && rc == 0) {
			T_EQ_INT(a.role, CHECKIN_BOOTSTRAP);
			T_EQ_INT(a.n_seeds, 2);
			T_EQ_STR(a.seeds[1], "10.0.0.2");
			T_EQ_INT(a.heartbeat_interval_ms, 2000);
		}
		if (i == 2 && rc == 0) {
			T_EQ_INT(a.role, CHECKIN_REPLACE);
			T_EQ_STR(a.replace_address, "10.0.0.9");
		}
		checkin_answer_release(&a);
	}
	T_EQ_STR(checkin_role_name(CHECKIN_REJOIN), "rejoin");
	agentcfg_free(c);
}

static void test_backoff(void)
{
	/* rnd 2000 is the middle of the jitter range: no jitter. */
	T_EQ_INT(checkin_backoff_ms(0, 60000, 2000), 1000);
	T_EQ_INT(checkin_backoff_ms(1, 60000, 2000), 2000);
	T_EQ_INT(checkin_backoff_ms(5, 60000, 2000), 32000);
	T_EQ_INT(checkin_backoff_ms(6, 60000, 2000), 60000);
	T_EQ_INT(checkin_backoff_ms(4000000000u, 60000, 2000), 60000);
	T_EQ_INT(checkin_backoff_ms(0, 60000, 0), 800);		/* -20% */
	T_EQ_INT(checkin_backoff_ms(0, 60000, 4000), 1200);	/* +20% */
	T_EQ_INT(checkin_backoff_ms(3, 500, 2000), 500);	/* cap below the base */
	for (uint32_t r = 0; r < 100000; r += 777) {
		int64_t d = checkin_backoff_ms(10, 10000, r);
		T_CHECK(d >= 8000 && d <= 12000, "jitter out of range: %lld", (long long)d);
	}
}

static void test_heartbeat_body(void)
{
	char err[256];
	struct agentcfg *c = agentcfg_parse("a.conf", good_conf, err, sizeof(err));
	json_t *report = json_loads("{\"status\":\"joining\",\"host_id\":\"h1\","
	    "\"load_bytes\":1234,\"cassandra_version\":\"4.1.0\",\"uptime_s\":9,"
	    "\"process_up\":true,\"gossip\":true,\"native_transport\":false,"
	    "\"tokens\":16,\"disks\":[{\"path\":\"/d\",\"free_bytes\":1}],"
	    "\"peers\":{\"datacenters\":[]},\"errors\":[],\"has_data\":true}", 0, NULL);
	json_t *basic = heartbeat_body(c, report, false);
	json_t *ext = heartbeat_body(c, report, true);
	static const char *const api[] = { "cluster", "address", "dc", "rack",
	    "status", "host_id", "load_bytes", "cassandra_version", "uptime_s", "peers" };
	const char *k;
	json_t *v;

	json_object_foreach(basic, k, v) {
		bool known = false;
		for (size_t i = 0; i < ARRAY_SIZE(api); i++)
			known |= strcmp(api[i], k) == 0;
		T_CHECK(known, "basic body has field '%s' the API does not take", k);
	}
	T_EQ_INT(json_object_size(basic), ARRAY_SIZE(api));
	T_EQ_STR(json_string_value(json_object_get(basic, "status")), "joining");
	T_CHECK(json_is_array(json_object_get(ext, "disks")), "disks in extended");
	T_CHECK(json_is_false(json_object_get(ext, "native_transport")), "native");
	T_EQ_INT(json_integer_value(json_object_get(ext, "tokens")), 16);
	json_decref(basic);
	json_decref(ext);

	/* A report from a down node: status down, nothing invented. */
	json_decref(report);
	report = json_loads("{\"status\":\"down\",\"process_up\":false}", 0, NULL);
	basic = heartbeat_body(c, report, false);
	T_EQ_STR(json_string_value(json_object_get(basic, "status")), "down");
	T_CHECK(json_object_get(basic, "host_id") == NULL, "no host id");
	json_decref(basic);
	json_decref(report);
	agentcfg_free(c);
}

struct lines {
	int n;
	char last[64];
};

static void on_line(void *arg, const char *line)
{
	struct lines *l = arg;
	l->n++;
	str_copy(l->last, line, sizeof(l->last));
}

static void test_proc(void)
{
	struct proc_opts o;
	struct proc_result r;
	struct lines l = { 0 };
	char err[256], why[64];
	int64_t t0;

	proc_opts_init(&o, 5000);
	o.on_line = on_line;
	o.arg = &l;
	T_EQ_INT(proc_shell("echo a; echo b >&2; printf c; exit 3", &o, &r, err,
	    sizeof(err)), 0);
	T_EQ_INT(r.status, 3);
	T_EQ_STR(r.out, "a\nc");
	T_EQ_STR(r.err, "b\n");
	T_EQ_INT(l.n, 2);
	T_EQ_STR(l.last, "c");
	proc_describe(&r, 5000, why, sizeof(why));
	T_EQ_STR(why, "exited with status 3");
	proc_result_release(&r);

	/* A command that cannot start is an error naming it. */
	const char *argv[] = { "/nonexistent/nodetool", "info", NULL };
	proc_opts_init(&o, 1000);
	T_EQ_INT(proc_run(argv, &o, &r, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "cannot run '/nonexistent/nodetool'") != NULL, "%s", err);

	/* Timeout kills the whole process group. */
	proc_opts_init(&o, 300);
	t0 = time_mono_ms();
	T_EQ_INT(proc_shell("sleep 30 & sleep 30", &o, &r, err, sizeof(err)), 0);
	T_CHECK(r.timed_out && r.signal != 0, "timed out, signalled");
	T_CHECK(time_mono_ms() - t0 < 3000, "took %lld ms", (long long)(time_mono_ms() - t0));
	proc_result_release(&r);

	/* A start script that leaves a daemon holding our pipes returns at once. */
	proc_opts_init(&o, 10000);
	t0 = time_mono_ms();
	T_EQ_INT(proc_shell("(sleep 5 &) ; echo started", &o, &r, err, sizeof(err)), 0);
	T_EQ_INT(r.status, 0);
	T_EQ_STR(r.out, "started\n");
	T_CHECK(time_mono_ms() - t0 < 2000, "waited %lld ms for a daemon's pipes",
	    (long long)(time_mono_ms() - t0));
	proc_result_release(&r);

	/* Output beyond max_output is dropped, not a crash. */
	proc_opts_init(&o, 10000);
	o.max_output = 100;
	T_EQ_INT(proc_shell("head -c 100000 /dev/zero | tr '\\0' x", &o, &r, err,
	    sizeof(err)), 0);
	T_CHECK(r.truncated && r.out_len == 100, "truncated to %zu", r.out_len);
	proc_result_release(&r);
}

static void test_has_data(void)
{
	char dir[] = "/tmp/test_agent.XXXXXX";
	char err[256];

	if (mkdtemp(dir) == NULL) {
		T_CHECK(false, "mkdtemp %s failed", dir);
		return;
	}
	char *text = xasprintf("data_dirs = %s/d1,%s/d2\n", dir, dir);
	struct agentcfg *c = agentcfg_parse("a.conf", text, err, sizeof(err));
	char *cmd = xasprintf("mkdir -p %s/d1/data/ks/t-0123/snapshots %s/d2/data/system/local-1 "
	    "&& touch %s/d1/data/ks/t-0123/nb-1-big-TOC.txt", dir, dir, dir);
	T_CHECK(system(cmd) == 0, "mkdir");
	T_CHECK(!cass_has_data(c), "no Data.db yet");
	free(cmd);
	cmd = xasprintf("touch %s/d2/data/system/local-1/nb-1-big-Data.db", dir);
	T_CHECK(system(cmd) == 0, "touch");
	T_CHECK(cass_has_data(c), "Data.db in the second data dir");
	json_t *d = cass_disks_json(c);
	T_EQ_INT(json_array_size(d), 2);
	T_CHECK(json_integer_value(json_object_get(json_array_get(d, 0), "total_bytes")) > 0,
	    "statvfs");
	json_decref(d);
	free(cmd);
	cmd = xasprintf("rm -rf %s", dir);
	T_CHECK(system(cmd) == 0, "cleanup");
	free(cmd);
	free(text);
	agentcfg_free(c);
}

/*
 * The check-in decision, both sides: the orchestrator's role
 * (service_checkin_role) and the agent's own guard on writing seeds
 * (checkin_may_write_seeds).  A node that runs or has run is never a
 * bootstrap, whatever the store knows.
 */
static void test_checkin_decision(void)
{
	static const struct {
		const char *name;
		bool known, known_host_id;
		const char *host_id;
		int running, has_data, system_ks;
		const char *role;
		bool may_write;           /* the agent's guard, same facts */
	} rows[] = {
		{ "new empty stopped node", false, false, NULL, 0, 0, 0, "bootstrap", true },
		{ "older agent, nothing said", false, false, NULL, -1, -1, -1, "bootstrap", true },
		{ "unknown node reporting a host id", false, false, "6f1c-1", 0, 0, 0, "rejoin", false },
		{ "unknown running node (first check-in of a live cluster)",
		    false, false, "6f1c-1", 1, 1, 1, "rejoin", false },
		{ "running, nodetool gave no host id", false, false, NULL, 1, 0, 0, "rejoin", false },
		{ "stopped node holding SSTables", false, false, NULL, 0, 1, 0, "rejoin", false },
		{ "stopped node with only a system keyspace", false, false, NULL, 0, 0, 1, "rejoin", false },
		{ "known by address with a host id", true, true, NULL, 0, 0, 0, "rejoin", true },
		{ "known by address, never joined", true, false, NULL, 0, 0, 0, "bootstrap", true },
		{ "known, never joined, but now running", true, false, NULL, 1, 0, 0, "rejoin", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct svc_checkin ci = {
			.cluster = "prod", .address = "10.0.0.1", .dc = "dc1",
			.rack = "r1", .cassandra_version = "4.1.1",
			.host_id = rows[i].host_id,
			.cassandra_running = rows[i].running,
			.has_data = rows[i].has_data,
			.system_keyspace = rows[i].system_ks,
		};
		struct checkin_facts f = {
			.host_id = rows[i].host_id,
			.cassandra_running = rows[i].running > 0,
			.has_data = rows[i].has_data > 0,
			.system_keyspace = rows[i].system_ks > 0,
		};
		const char *why = NULL, *role;
		char w[256] = "";

		role = service_checkin_role(rows[i].known, rows[i].known_host_id,
		    &ci, &why);
		T_CHECK(strcmp(role, rows[i].role) == 0, "%s: role %s",
		    rows[i].name, role);
		T_CHECK(why != NULL && *why, "%s: no reason", rows[i].name);
		T_CHECK(checkin_may_write_seeds(&f, w, sizeof(w)) ==
		    rows[i].may_write, "%s: may write seeds (%s)", rows[i].name, w);
		if (!rows[i].may_write)
			T_CHECK(w[0] != '\0', "%s: guard without a reason",
			    rows[i].name);
	}
}

static void test_system_keyspace(void)
{
	char dir[] = "/tmp/test_agent_sys.XXXXXX";
	char err[256], *text, *cmd;
	struct agentcfg *c;

	if (mkdtemp(dir) == NULL) {
		T_CHECK(false, "mkdtemp %s failed", dir);
		return;
	}
	text = xasprintf("data_dirs = %s/d1,%s/d2\n", dir, dir);
	c = agentcfg_parse("a.conf", text, err, sizeof(err));
	T_CHECK(c != NULL, "%s", err);
	cmd = xasprintf("mkdir -p %s/d1/data/ks/t-1 %s/d2/data/system", dir, dir);
	T_CHECK(system(cmd) == 0, "mkdir");
	free(cmd);
	T_CHECK(!checkin_has_system_keyspace(c), "an empty system dir is not one");
	cmd = xasprintf("mkdir -p %s/d2/data/system/local-7ad54392bcdd35a684174e047860b377", dir);
	T_CHECK(system(cmd) == 0, "mkdir");
	free(cmd);
	T_CHECK(checkin_has_system_keyspace(c), "system/local-... in the second dir");
	cmd = xasprintf("rm -rf %s", dir);
	T_CHECK(system(cmd) == 0, "cleanup");
	free(cmd);
	free(text);
	agentcfg_free(c);
}

/*
 * The heartbeat's report asks `nodetool version` once per gossip
 * generation: a fake nodetool logs each command it runs, and its info
 * prints the generation held in a file the test changes (a restart).
 */
static int count_lines(const char *path, const char *word)
{
	char line[256];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, word, strlen(word)) == 0)
			n++;
	fclose(f);
	return n;
}

static void test_report_seen(void)
{
	char dir[] = "/tmp/test_agent_seen.XXXXXX", err[256];
	struct cass_seen seen = { 0 };
	enum cass_rc rc;

	if (mkdtemp(dir) == NULL) {
		T_CHECK(false, "mkdtemp %s failed", dir);
		return;
	}
	char *script = xasprintf(
	    "#!/bin/sh\n"
	    "echo \"$1\" >>%s/calls\n"
	    "case \"$1\" in\n"
	    "info) printf 'ID                     : 0b8e5a4c-0000-4000-8000-000000000001\\n"
	    "Gossip active          : true\\nNative Transport active: true\\n"
	    "Load                   : 1.5 MiB\\nGeneration No          : %%s\\n"
	    "Uptime (seconds)       : 60\\n' \"$(cat %s/gen)\" ;;\n"
	    "version) echo \"ReleaseVersion: $(cat %s/release)\" ;;\n"
	    "*) exit 1 ;;\n"
	    "esac\n", dir, dir, dir);
	char *path = xasprintf("%s/nodetool", dir);
	FILE *f = fopen(path, "w");
	T_CHECK(f != NULL && fputs(script, f) >= 0 && fclose(f) == 0, "write %s", path);
	char *cmd = xasprintf("chmod +x %s && echo 1700000001 >%s/gen && echo 4.1.1 >%s/release",
	    path, dir, dir);
	T_CHECK(system(cmd) == 0, "fake nodetool");
	free(cmd);
	char *text = xasprintf("nodetool = %s\naddress = 127.0.0.1\nstate_dir = %s\n", path,
	    dir);
	struct agentcfg *c = agentcfg_parse("a.conf", text, err, sizeof(err));
	T_CHECK(c != NULL, "%s", err);
	char *calls = xasprintf("%s/calls", dir);
	for (int i = 0; c != NULL && i < 3; i++) {
		json_t *r = cass_report(c, NULL, &seen, &rc);
		T_EQ_STR(json_string_value(json_object_get(r, "cassandra_version")), "4.1.1");
		json_decref(r);
	}
	T_EQ_INT(count_lines(calls, "info"), 3);
	T_EQ_INT(count_lines(calls, "version"), 1);
	/* Another process (a one-shot status or health op) starts with an
	 * empty cache and finds the release in the state dir. */
	struct cass_seen other = { 0 };
	if (c != NULL)
		json_decref(cass_report(c, NULL, &other, &rc));
	T_EQ_STR(other.release, "4.1.1");
	T_EQ_INT(count_lines(calls, "version"), 1);
	cass_seen_release(&other);
	/* A restart: a new generation, and an upgrade came with it. */
	cmd = xasprintf("echo 1700000999 >%s/gen && echo 4.1.2 >%s/release", dir, dir);
	T_CHECK(system(cmd) == 0, "restart");
	free(cmd);
	for (int i = 0; c != NULL && i < 2; i++) {
		json_t *r = cass_report(c, NULL, &seen, &rc);
		T_EQ_STR(json_string_value(json_object_get(r, "cassandra_version")), "4.1.2");
		json_decref(r);
	}
	T_EQ_INT(count_lines(calls, "version"), 2);
	/* The file follows the restart too. */
	char *rel = xasprintf("%s/release", dir);
	char *saved = file_read_all(rel, 256, NULL);
	T_EQ_STR(saved, "1700000999 4.1.2\n");
	free(saved);
	free(rel);
	/* Without a cache every report asks. */
	if (c != NULL)
		json_decref(cass_report(c, NULL, NULL, &rc));
	T_EQ_INT(count_lines(calls, "version"), 3);
	cass_seen_release(&seen);
	T_CHECK(seen.release == NULL && seen.generation == 0, "released");
	cmd = xasprintf("rm -rf %s", dir);
	T_CHECK(system(cmd) == 0, "cleanup");
	free(cmd);
	free(calls);
	free(text);
	free(path);
	free(script);
	agentcfg_free(c);
}

int main(void)
{
	test_config();
	test_checkin_body_and_answer();
	test_backoff();
	test_heartbeat_body();
	test_proc();
	test_has_data();
	test_checkin_decision();
	test_system_keyspace();
	test_report_seen();
	return t_done("test_agent");
}
