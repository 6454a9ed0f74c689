/*
 * Unit tests for ringsh: the command table (parsing, prefixes, ambiguity,
 * usage, completion), key=value params, tables, human sizes and times,
 * error explanations and the watch screen.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../../shell/client.h"
#include "../../shell/cmd.h"
#include "../../shell/exec.h"
#include "../../shell/ids.h"
#include "../../shell/table.h"
#include "../../shell/watch.h"
#include "t.h"

static void test_parse_ok(void)
{
	static const struct {
		const char *line;
		enum cmd_id id;
		const char *path;
		const char *arg0;	/* first positional, or NULL */
		const char *flag;	/* a flag to check, or NULL */
		const char *flag_value;
		bool json;
	} rows[] = {
		{ "clusters", CMD_CLUSTERS_LIST, "clusters list", NULL, NULL, NULL, false },
		{ "clusters list", CMD_CLUSTERS_LIST, "clusters list", NULL, NULL, NULL, false },
		{ "cl li", CMD_CLUSTERS_LIST, "clusters list", NULL, NULL, NULL, false },
		{ "clu sh prod", CMD_CLUSTERS_SHOW, "clusters show", "prod", NULL, NULL, false },
		{ "clusters show", CMD_CLUSTERS_SHOW, "clusters show", NULL, NULL, NULL, false },
		{ "tas li", CMD_TASKS_LIST, "tasks list", NULL, NULL, NULL, false },
		{ "tasks --state running", CMD_TASKS_LIST, "tasks list", NULL, "--state", "running", false },
		{ "tasks list --st=failed", CMD_TASKS_LIST, "tasks list", NULL, "--state", "failed", false },
		{ "tasks list --cluster prod", CMD_TASKS_LIST, "tasks list", NULL, "--cluster", "prod", false },
		{ "tasks show t-1", CMD_TASKS_SHOW, "tasks show", "t-1", NULL, NULL, false },
		{ "tasks wa t-1", CMD_TASKS_WATCH, "tasks watch", "t-1", NULL, NULL, false },
		{ "watch t-1", CMD_TASKS_WATCH, "watch", "t-1", NULL, NULL, false },
		{ "tasks cancel t-1 --json", CMD_TASKS_CANCEL, "tasks cancel", "t-1", NULL, NULL, true },
		{ "--json health", CMD_HEALTH, "health", NULL, NULL, NULL, true },
		{ "hea", CMD_HEALTH, "health", NULL, NULL, NULL, false },
		{ "q", CMD_QUIT, "quit", NULL, NULL, NULL, false },
		{ "ex", CMD_QUIT, "exit", NULL, NULL, NULL, false },
		{ "connect http://h:1 as prod --token-file /t", CMD_CONNECT, "connect", "http://h:1", "--token-file", "/t", false },
		{ "use prod/main", CMD_USE, "use", "prod/main", NULL, NULL, false },
		{ "run noop duration_s=2", CMD_RUN, "run", "noop", NULL, NULL, false },
		{ "backup --keyspace ks --watch", CMD_TASK_SHORTCUT, "backup", NULL, "--watch", "", false },
		{ "restore --backup b-1", CMD_TASK_SHORTCUT, "restore", NULL, "--backup", "b-1", false },
		{ "restore", CMD_TASK_SHORTCUT, "restore", NULL, NULL, NULL, false },
		{ "restore --force", CMD_TASK_SHORTCUT, "restore", NULL, "--force", "", false },
		{ "clusters update prod --ssh-user ops", CMD_CLUSTERS_UPDATE, "clusters update", "prod", "--ssh-user", "ops", false },
		{ "cl up --storage s3://b/p", CMD_CLUSTERS_UPDATE, "clusters update", NULL, "--storage", "s3://b/p", false },
		{ "clusters update --no-region", CMD_CLUSTERS_UPDATE, "clusters update", NULL, "--no-region", "", false },
		{ "repair --incremental", CMD_TASK_SHORTCUT, "repair", NULL, "--incremental", "", false },
		{ "replace 10.0.0.3", CMD_TASK_SHORTCUT, "replace", "10.0.0.3", NULL, NULL, false },
		{ "replace 10.0.0.3 10.0.0.9 --watch", CMD_TASK_SHORTCUT, "replace", "10.0.0.3", "--watch", "", false },
		{ "scale out 2 --watch", CMD_TASK_SHORTCUT, "scale out", "2", "--watch", "", false },
		{ "scale in 1 --dc dc1", CMD_TASK_SHORTCUT, "scale in", "1", "--dc", "dc1", false },
		{ "decommission 10.0.0.3", CMD_TASK_SHORTCUT, "decommission", "10.0.0.3", NULL, NULL, false },
		/* NODE... takes every word left, comma-joined */
		{ "decommission 10.0.0.3 10.0.0.4,10.0.0.5 --watch", CMD_TASK_SHORTCUT, "decommission",
		  "10.0.0.3,10.0.0.4,10.0.0.5", "--watch", "", false },
		{ "remediate --node 10.0.0.1", CMD_TASK_SHORTCUT, "remediate", NULL, "--node", "10.0.0.1", false },
		{ "schedules create backup --every 24h", CMD_SCHEDULES_CREATE, "schedules create", "backup", "--every", "24h", false },
		{ "sch cr backup --cron \"0 3 * * *\"", CMD_SCHEDULES_CREATE, "schedules create", "backup", "--cron", "0 3 * * *", false },
		{ "schedules delete s-1", CMD_SCHEDULES_DELETE, "schedules delete", "s-1", NULL, NULL, false },
		{ "backups", CMD_BACKUPS_LIST, "backups list", NULL, NULL, NULL, false },
		{ "backups delete b-1", CMD_BACKUPS_DELETE, "backups delete", "b-1", NULL, NULL, false },
		{ "events --since 1h --cluster prod", CMD_EVENTS, "events", NULL, "--since", "1h", false },
		{ "events --since 2026-01-02T03:04:05Z", CMD_EVENTS, "events", NULL, "--since", "2026-01-02T03:04:05Z", false },
		{ "nodes prod", CMD_NODES, "nodes", "prod", NULL, NULL, false },
		{ "seeds", CMD_SEEDS, "seeds", NULL, NULL, NULL, false },
		{ "metrics", CMD_METRICS, "metrics", NULL, NULL, NULL, false },
		{ "help tasks list", CMD_HELP, "help", "tasks", NULL, NULL, false },
		{ "clusters create c1 --storage file:///x --ssh-user u --ssh-key /k --ssh-port 2222",
		  CMD_CLUSTERS_CREATE, "clusters create", "c1", "--ssh-port", "2222", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct cmd_call call;
		char err[256] = "";
		int rc = cmd_parse(rows[i].line, &call, err, sizeof(err));
		T_CHECK(rc == 0, "'%s': %s", rows[i].line, err);
		if (rc == 0) {
			T_CHECK(call.cmd->id == rows[i].id, "'%s': id %d",
			    rows[i].line, call.cmd->id);
			T_EQ_STR(call.path, rows[i].path);
			T_CHECK(call.json == rows[i].json, "'%s': json",
			    rows[i].line);
			if (rows[i].arg0)
				T_EQ_STR(call.args[0], rows[i].arg0);
			else
				T_CHECK(call.args[0] == NULL, "'%s': arg0 %s",
				    rows[i].line, call.args[0]);
			if (rows[i].flag)
				T_EQ_STR(cmd_flag(&call, rows[i].flag),
				    rows[i].flag_value);
		}
		cmd_call_release(&call);
	}
}

static void test_parse_errors(void)
{
	static const struct {
		const char *line;
		const char *err;	/* a substring of the message */
		bool has_cmd;		/* reached a command: usage can be shown */
	} rows[] = {
		{ "c", "ambiguous command 'c': connect, connections, clusters", false },
		{ "conn", "ambiguous command 'conn': connect, connections", false },
		{ "e", "ambiguous command 'e': events, exit", false },
		{ "frobnicate", "unknown command 'frobnicate'", false },
		{ "tasks frob", "unknown subcommand of 'tasks' 'frob'", true },
		{ "tasks show", "missing ID", true },
		{ "tasks show a b", "unexpected 'b'", true },
		{ "tasks list --state bogus", "--state wants one of", true },
		{ "tasks list --bogus", "unknown option '--bogus'", true },
		{ "tasks list --state", "--state needs a value", true },
		{ "tasks list --state x --state y", "wants one of", true },
		{ "tasks list --json=1", "--json takes no value", true },
		{ "he", "ambiguous command 'he': help, health", false },
		{ "clusters create c1 --storage file:///x --ssh-user u", "missing --ssh-key FILE", true },
		{ "clusters create c1 --storage nowhere --ssh-user u --ssh-key k", "--storage wants a URL", true },
		{ "clusters create 'a b' --storage file:///x --ssh-user u --ssh-key k", "not a cluster name", true },
		{ "clusters create c1 --storage file:///x --ssh-user u --ssh-key k --ssh-port abc", "--ssh-port wants a number", true },
		{ "clusters update prod --storage nowhere", "--storage wants a URL", true },
		{ "clusters update prod --ssh-port x", "--ssh-port wants a number", true },
		{ "clusters update prod --name x", "unknown option '--name'", true },
		{ "restore --force=yes", "--force takes no value", true },
		{ "schedules create backup --every soon", "--every wants a duration", true },
		{ "events --since yesterday", "--since wants an RFC 3339 time", true },
		{ "run", "missing TYPE", true },
		{ "run a=1", "missing TYPE before 'a=1'", true },
		{ "repair --incremental=yes", "--incremental takes no value", true },
		{ "replace", "missing NODE", true },
		{ "decommission", "missing NODE...", true },
		{ "scale out", "missing COUNT", true },
		{ "scale in two", "COUNT wants a number", true },
		{ "scale out 1 2", "unexpected '2'", true },
		{ "backup --watch --watch", "--watch given twice", true },
		{ "connect http://x as", "'as' needs a NAME", true },
		{ "connect http://x like y", "unexpected 'like'", true },
		{ "health 'unterminated", "unterminated single quote", false },
		{ "tasks show 'a/b'", "'a/b' is not an id", true },
		{ "--json", "--json needs a command", false },
		{ "repair --zz --", "unknown option '--zz'", true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct cmd_call call;
		char err[256] = "";
		int rc = cmd_parse(rows[i].line, &call, err, sizeof(err));
		T_CHECK(rc == -1, "'%s' parsed", rows[i].line);
		T_CHECK(strstr(err, rows[i].err) != NULL, "'%s': got '%s', want '%s'",
		    rows[i].line, err, rows[i].err);
		T_CHECK((call.cmd != NULL) == rows[i].has_cmd, "'%s': cmd %p",
		    rows[i].line, (const void *)call.cmd);
		cmd_call_release(&call);
	}
}

static void test_split(void)
{
	static const struct {
		const char *line;
		size_t n;
		const char *w[4];
	} rows[] = {
		{ "a b  c", 3, { "a", "b", "c" } },
		{ "  ", 0, { NULL } },
		{ "a 'b c' \"d \\\"e\"", 3, { "a", "b c", "d \"e" } },
		{ "a\\ b c", 2, { "a b", "c" } },
		{ "a # comment", 1, { "a" } },
		{ "x=\"1 2\"", 1, { "x=1 2" } },
		{ "''", 1, { "" } },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char **w, err[128];
		size_t n;
		int rc = cmd_split(rows[i].line, &w, &n, NULL, err, sizeof(err));
		T_EQ_INT(rc, 0);
		if (rc < 0)
			continue;
		T_CHECK(n == rows[i].n, "'%s': %zu words", rows[i].line, n);
		for (size_t k = 0; k < n && k < rows[i].n; k++)
			T_EQ_STR(w[k], rows[i].w[k]);
		cmd_words_free(w, n);
	}
	char err[128];
	char **s = cmd_statements("use a; tasks --cron 'x;y' ;health", err,
	    sizeof(err));
	T_CHECK(s != NULL, "statements: %s", err);
	if (s) {
		T_EQ_STR(s[0], "use a");
		T_EQ_STR(s[1], " tasks --cron 'x;y' ");
		T_EQ_STR(s[2], "health");
		T_CHECK(s[3] == NULL, "three statements");
		cmd_strv_free(s);
	}
	T_CHECK(cmd_statements("a 'b", err, sizeof(err)) == NULL, "unterminated");
}

static void test_kv(void)
{
	static const struct {
		const char *in;
		const char *json;	/* the value as compact JSON */
	} rows[] = {
		{ "n=42", "42" }, { "n=-7", "-7" }, { "n=2.5", "2.5" },
		{ "b=true", "true" }, { "b=false", "false" }, { "x=null", "null" },
		{ "s=hello", "\"hello\"" }, { "s=", "\"\"" },
		{ "s=1.2.3", "\"1.2.3\"" }, { "s=10.0.0.1", "\"10.0.0.1\"" },
		{ "l=[1,\"a\"]", "[1, \"a\"]" }, { "o={\"k\":1}", "{\"k\": 1}" },
		{ "l=[broken", "\"[broken\"" }, { "s=a=b", "\"a=b\"" },
		{ "s=12abc", "\"12abc\"" }, { "big=99999999999999999999", "\"99999999999999999999\"" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		json_t *p = json_object();
		char err[128] = "";
		char *const kv[] = { (char *)(uintptr_t)rows[i].in };
		int rc = cmd_kv_parse(kv, 1, p, err, sizeof(err));
		T_CHECK(rc == 0, "'%s': %s", rows[i].in, err);
		const char *key;
		json_t *v;
		json_object_foreach(p, key, v) {
			char *s = json_dumps(v, JSON_ENCODE_ANY);
			T_CHECK(strcmp(s, rows[i].json) == 0, "'%s': got %s, want %s",
			    rows[i].in, s, rows[i].json);
			free(s);
		}
		json_decref(p);
	}
	static const struct {
		const char *a, *b, *err;
	} bad[] = {
		{ "=1", NULL, "not key=value" },
		{ "a b=1", NULL, "not a param name" },
		{ "k=1", "k=2", "param 'k' given twice" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *p = json_object();
		char err[128] = "";
		char *const kv[] = { (char *)(uintptr_t)bad[i].a,
		    (char *)(uintptr_t)bad[i].b };
		int rc = cmd_kv_parse(kv, bad[i].b ? 2 : 1, p, err, sizeof(err));
		T_EQ_INT(rc, -1);
		T_CHECK(strstr(err, bad[i].err) != NULL, "'%s': %s", bad[i].a, err);
		json_decref(p);
	}
}

static void test_usage_help(void)
{
	struct cmd_call call;
	char err[256];
	cmd_parse("clusters create", &call, err, sizeof(err));
	T_CHECK(call.cmd != NULL, "reached clusters create");
	if (call.cmd) {
		char *u = cmd_usage(call.cmd, call.path);
		T_EQ_STR(u, "clusters create CLUSTER --storage URL [--endpoint URL] "
		    "[--region REGION] --ssh-user USER [--ssh-port PORT] "
		    "--ssh-key FILE [key=value ...]");
		free(u);
	}
	cmd_call_release(&call);
	cmd_parse("connect", &call, err, sizeof(err));
	char *u = cmd_usage(call.cmd, call.path);
	T_EQ_STR(u, "connect URL [as NAME] [--token-file FILE] [--ca-file FILE]");
	free(u);
	cmd_call_release(&call);
	cmd_parse("run", &call, err, sizeof(err));
	u = cmd_usage(call.cmd, call.path);
	T_EQ_STR(u, "run TYPE [--watch] [--cluster CLUSTER] [key=value ...]");
	free(u);
	cmd_call_release(&call);

	/* help is generated from the table: every command appears. */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	T_EQ_INT(cmd_help(f, NULL, err, sizeof(err)), 0);
	fclose(f);
	for (const struct cmd *c = cmd_table; c->name; c++)
		T_CHECK(strstr(buf, c->name) != NULL, "help lists %s", c->name);
	free(buf);
	f = open_memstream(&buf, &len);
	T_EQ_INT(cmd_help(f, "tas", err, sizeof(err)), 0);
	fclose(f);
	T_CHECK(strstr(buf, "usage: tasks {list|show|watch|cancel|pause|resume}")
	    != NULL, "help tasks: %s", buf);
	free(buf);
	f = open_memstream(&buf, &len);
	T_EQ_INT(cmd_help(f, "sched create", err, sizeof(err)), 0);
	fclose(f);
	T_CHECK(strstr(buf, "--every DURATION") != NULL, "help schedules create");
	free(buf);
	f = open_memstream(&buf, &len);
	T_EQ_INT(cmd_help(f, "bogus", err, sizeof(err)), -1);
	fclose(f);
	free(buf);
	T_CHECK(strstr(err, "unknown command 'bogus'") != NULL, "%s", err);
}

static const char *const fake_clusters[] = { "prod", "prod-eu", "staging", NULL };
static const char *const fake_tasks[] = { "t-100", "t-101", NULL };
static const char *const fake_conns[] = { "default", "lab", NULL };

/* What GET /api/v1/task-types and /task-types/{name} would give. */
static const char *const fake_types[] = { "backup", "noop", "zz-new", NULL };
static const char *const fake_noop_params[] = { "duration_s", "steps", NULL };
static const char *const fake_backup_params[] = { "keyspaces", "tables",
	"upload_parallelism", NULL };

static const char *const *fake_names(enum cmd_value kind, const char *context,
    void *arg)
{
	(void)arg;
	switch (kind) {
	case CMD_V_TASK_TYPE:
		return fake_types;
	case CMD_V_TASK_PARAM:
		return context && strcmp(context, "noop") == 0 ?
		    fake_noop_params : context && strcmp(context, "backup") == 0 ?
		    fake_backup_params : NULL;
	case CMD_V_CLUSTER:
		return fake_clusters;
	case CMD_V_TASK:
		return fake_tasks;
	case CMD_V_CONN:
		return fake_conns;
	default:
		return NULL;
	}
}

static void test_complete(void)
{
	static const struct {
		const char *line;
		const char *want;	/* candidates joined by ' ' */
		size_t start;
	} rows[] = {
		{ "", "backup backups clusters connect connections decommission events exit health help metrics node nodes quit remediate repair replace restart restore run scale schedules seeds status tasks tenant tenants types upgrade use verify watch", 0 },
		{ "cl", "clusters", 0 },
		{ "con", "connect connections", 0 },
		{ "clusters ", "create delete list show update", 9 },
		{ "clusters update prod --ssh", "--ssh-key --ssh-port --ssh-user", 21 },
		{ "clusters s", "show", 9 },
		{ "clusters show p", "prod prod-eu", 14 },
		{ "cl show st", "staging", 8 },
		{ "nodes ", "prod prod-eu staging", 6 },
		{ "tasks show t-1", "t-100 t-101", 11 },
		{ "tasks list --", "--cluster --json --state", 11 },
		{ "tasks list --state ", "cancelled failed partial paused queued running succeeded", 19 },
		{ "tasks list --cluster s", "staging", 21 },
		{ "tasks --state r", "running", 14 },
		{ "watch ", "last t-100 t-101", 6 },
		{ "watch la", "last", 6 },
		/* The part that tells ids apart completes, "t-" or not. */
		{ "watch 101", "t-101", 6 },
		{ "watch 10", "t-100 t-101", 6 },
		/* Types and their parameters are the orchestrator's. */
		{ "run ", "backup noop zz-new", 4 },
		{ "run n", "noop", 4 },
		{ "run noop ", "duration_s= steps=", 9 },
		{ "run noop st", "steps=", 9 },
		{ "run noop steps=2 d", "duration_s=", 17 },
		{ "run zz-new ", "", 11 },
		{ "backup up", "upload_parallelism=", 7 },
		{ "types ", "backup noop zz-new", 6 },
		{ "run noop --w", "--watch", 9 },
		{ "use ", "default lab prod prod-eu staging", 4 },
		{ "connect http://x ", "as", 17 },
		{ "connect http://x as ", "", 20 },
		{ "help ", "backup backups clusters connect connections decommission events exit health help metrics node nodes quit remediate repair replace restart restore run scale schedules seeds status tasks tenant tenants types upgrade use verify watch", 5 },
		{ "help tasks ", "cancel list pause resume show watch", 11 },
		{ "help health ", "", 12 },
		{ "--json clusters sh", "show", 16 },
		{ "frob ", "", 5 },
		{ "clusters create x --storage ", "", 28 },
		{ "events --cluster ", "prod prod-eu staging", 17 },
		{ "backup --", "--cluster --json --keyspace --rate-limit --table --watch", 7 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		size_t start = 999;
		char **v = cmd_complete(rows[i].line, strlen(rows[i].line),
		    fake_names, NULL, &start);
		char got[512] = "";
		for (char **p = v; p && *p; p++) {
			strcat(got, p == v ? "" : " ");
			strcat(got, *p);
		}
		T_CHECK(strcmp(got, rows[i].want) == 0, "'%s': got '%s', want '%s'",
		    rows[i].line, got, rows[i].want);
		T_CHECK(start == rows[i].start, "'%s': start %zu, want %zu",
		    rows[i].line, start, rows[i].start);
		cmd_strv_free(v);
	}
	/* The cursor may stand inside the line: only what is before it counts. */
	size_t start;
	char **v = cmd_complete("cl show", 2, fake_names, NULL, &start);
	T_CHECK(v[0] && strcmp(v[0], "clusters") == 0 && v[1] == NULL,
	    "mid-line completion");
	cmd_strv_free(v);
}

static void test_sizes_times(void)
{
	static const struct {
		uint64_t in;
		const char *out;
	} sizes[] = {
		{ 0, "0 B" }, { 1023, "1023 B" }, { 1024, "1.0 KiB" },
		{ 1536, "1.5 KiB" }, { 10240, "10 KiB" },
		{ 1048575, "1.0 MiB" }, { 5ull << 20, "5.0 MiB" },
		{ 3ull << 30, "3.0 GiB" }, { 1536ull << 30, "1.5 TiB" },
		{ 123456789, "118 MiB" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		char buf[32];
		table_size(sizes[i].in, buf, sizeof(buf));
		T_EQ_STR(buf, sizes[i].out);
	}
	static const struct {
		int64_t then, now;
		const char *out;
	} agos[] = {
		{ 1000, 1000, "just now" }, { 1000, 1004, "just now" },
		{ 1000, 1030, "30s ago" }, { 1000, 1180, "3m ago" },
		{ 0, 7200, "2h ago" }, { 0, 86400 * 3 + 5, "3d ago" },
		{ 1200, 1000, "in 3m" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(agos); i++) {
		char buf[32];
		table_ago(agos[i].then, agos[i].now, buf, sizeof(buf));
		T_EQ_STR(buf, agos[i].out);
	}
}

static void test_table(void)
{
	struct table *t = table_new(3, (const char *const[]){ "NAME", "STATE",
	    "MESSAGE" });
	table_add(t, (const char *const[]){ "prod", "running", "all good" });
	table_add(t, (const char *const[]){ "staging-eu", NULL,
	    "a rather long message that will not fit" });
	char *s = table_print(t, NULL, 0);
	T_EQ_STR(s,
	    "NAME        STATE    MESSAGE\n"
	    "prod        running  all good\n"
	    "staging-eu  -        a rather long message that will not fit\n");
	free(s);
	/* 40 columns: the widest column (MESSAGE) gives way first. */
	s = table_print(t, NULL, 40);
	T_EQ_STR(s,
	    "NAME        STATE    MESSAGE\n"
	    "prod        running  all good\n"
	    "staging-eu  -        a rather long mess…\n");
	char *save = NULL;
	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		T_CHECK(table_strwidth(l) <= 40, "line fits: '%s'", l);
	free(s);
	/* Very narrow: every column shrinks to its minimum, never below. */
	s = table_print(t, NULL, 10);
	T_CHECK(strstr(s, "sta…") != NULL, "narrow: %s", s);
	free(s);
	table_free(t);

	/* UTF-8 counts characters, not bytes. */
	t = table_new(2, (const char *const[]){ "A", "B" });
	table_add(t, (const char *const[]){ "é", "x" });
	table_add(t, (const char *const[]){ "ab\tc\nd", "y" });
	s = table_print(t, NULL, 0);
	T_EQ_STR(s, "A       B\né       x\nab c d  y\n");
	free(s);
	table_free(t);

	T_EQ_INT(table_strwidth("héllo…"), 6);
	char *c = table_truncate("héllo world", 5);
	T_EQ_STR(c, "héll…");
	free(c);
	c = table_truncate("short", 5);
	T_EQ_STR(c, "short");
	free(c);
	c = table_truncate("abc", 1);
	T_EQ_STR(c, "…");
	free(c);
}

static void test_explain(void)
{
	static const struct {
		struct client_failure f;
		const char *want;	/* substring */
	} rows[] = {
		{ { .url = "http://127.0.0.1:9/health", .method = "GET", .path = "/health",
		    .conn_refused = true },
		  "cannot reach http://127.0.0.1:9/health: connection refused — is ringmaster running? check the URL with 'connections'" },
		{ { .url = "https://h/x", .method = "GET", .path = "/x", .tls_failed = true,
		    .transport = "SSL certificate problem" },
		  "TLS with https://h/x failed (SSL certificate problem) — check the server certificate" },
		{ { .url = "http://h/x", .method = "GET", .path = "/x", .timed_out = true },
		  "no answer from http://h/x in time" },
		{ { .url = "http://h/api/v1/clusters", .method = "GET", .path = "/api/v1/clusters",
		    .status = 401, .had_token = false },
		  "http://h/api/v1/clusters wants a token (401 unauthorized) — set RINGMASTER_TOKEN" },
		{ { .conn = "prod", .url = "http://h/api/v1/clusters", .method = "GET",
		    .path = "/api/v1/clusters", .status = 401, .had_token = true },
		  "refused the token of connection 'prod' (401 unauthorized)" },
		/* 403: the role the route wants, not always "operator". */
		{ { .conn = "prod", .url = "http://h/api/v1/clusters", .method = "POST",
		    .path = "/api/v1/clusters", .status = 403, .message = "role viewer" },
		  "the token of connection 'prod' may not POST /api/v1/clusters (403 forbidden: role viewer) — this needs a token with the admin role" },
		{ { .conn = "prod", .url = "http://h/api/v1/clusters/main", .method = "PATCH",
		    .path = "/api/v1/clusters/main", .status = 403, .message = "role operator" },
		  "— this needs a token with the admin role:" },
		{ { .conn = "prod", .url = "http://h/api/v1/clusters/main", .method = "DELETE",
		    .path = "/api/v1/clusters/main", .status = 403 },
		  "(403 forbidden) — this needs a token with the admin role:" },
		{ { .conn = "prod", .url = "http://h/api/v1/clusters/main/tasks", .method = "POST",
		    .path = "/api/v1/clusters/main/tasks", .status = 403 },
		  "— this needs a token with the operator or admin role:" },
		{ { .conn = "prod", .url = "http://h/api/v1/tasks/t-1/cancel", .method = "POST",
		    .path = "/api/v1/tasks/t-1/cancel", .status = 403 },
		  "— this needs a token with the operator or admin role:" },
		{ { .conn = "prod", .url = "http://h/api/v1/clusters/m/backups/b", .method = "DELETE",
		    .path = "/api/v1/clusters/m/backups/b", .status = 403 },
		  "— this needs a token with the operator or admin role:" },
		{ { .conn = "prod", .url = "http://h/api/v1/clusters", .method = "GET",
		    .path = "/api/v1/clusters", .status = 403 },
		  "— this needs a token with the viewer, operator or admin role:" },
		{ { .url = "http://h/api/v1/clusters/x", .method = "GET", .path = "/api/v1/clusters/x",
		    .status = 404, .message = "cluster 'x' not found" },
		  "cluster 'x' not found (404 not found) — list them with 'clusters'" },
		/* The cluster is what is missing, not the backup. */
		{ { .url = "http://h/api/v1/clusters/x/backups", .method = "GET",
		    .path = "/api/v1/clusters/x/backups", .status = 404,
		    .message = "cluster 'x' not found" },
		  "cluster 'x' not found (404 not found) — list them with 'clusters'" },
		{ { .url = "http://h/api/v1/clusters/x/backups/b", .method = "DELETE",
		    .path = "/api/v1/clusters/x/backups/b", .status = 404,
		    .message = "backup 'b' of cluster 'x' not found" },
		  "(404 not found) — list them with 'backups list'" },
		{ { .url = "http://h/api/v1/tasks/t-9", .method = "GET", .path = "/api/v1/tasks/t-9",
		    .status = 404, .message = "task 't-9' not found" },
		  "task 't-9' not found (404 not found) — list them with 'tasks list'" },
		/* 409: one next step per conflict the orchestrator has. */
		{ { .url = "http://h/api/v1/clusters/x", .method = "DELETE", .path = "/api/v1/clusters/x",
		    .status = 409, .message = "cluster 'x' has a running task" },
		  "cluster 'x' has a running task (409 conflict) — wait for the running task to end or cancel it (see 'tasks --state running'), then retry" },
		{ { .url = "http://h/api/v1/clusters/x", .method = "PATCH", .path = "/api/v1/clusters/x",
		    .status = 409, .message = "cluster 'x' has a running task t-0123abcd: its settings cannot change under it" },
		  "(409 conflict) — wait for task t-0123abcd to end ('watch t-0123abcd') or cancel it with 'tasks cancel t-0123abcd', then retry" },
		{ { .url = "http://h/api/v1/tasks/t-7/cancel", .method = "POST", .path = "/api/v1/tasks/t-7/cancel",
		    .status = 409, .message = "cannot cancel task 't-7': it is succeeded" },
		  "cannot cancel task 't-7': it is succeeded (409 conflict) — it has ended, so there is nothing to cancel; see how it ended with 'tasks show t-7'" },
		{ { .url = "http://h/api/v1/tasks/t-7/pause", .method = "POST", .path = "/api/v1/tasks/t-7/pause",
		    .status = 409, .message = "cannot pause task 't-7': it is failed" },
		  "— it has ended, so there is nothing to pause; see how it ended with 'tasks show t-7'" },
		{ { .url = "http://h/api/v1/clusters", .method = "POST", .path = "/api/v1/clusters",
		    .status = 409, .message = "cluster 'x' exists already" },
		  "cluster 'x' exists already (409 conflict) — pick another name, or change the existing cluster with 'clusters update NAME'" },
		{ { .url = "http://h/api/v1/clusters/x/tasks", .method = "POST", .path = "/api/v1/clusters/x/tasks",
		    .status = 409, .message = "backup b of 'x' is damaged: 2 files lost" },
		  "(409 conflict) — add --force to restore what is sound, or pick another backup with --backup ID" },
		{ { .url = "http://h/api/v1/clusters/p/tasks", .method = "POST",
		    .path = "/api/v1/clusters/p/tasks", .status = 400,
		    .message = "unknown parameter 'x' for noop" },
		  "the orchestrator rejected POST /api/v1/clusters/p/tasks: unknown parameter 'x' for noop (400) — 'types' lists the task types, 'types TYPE' a type's params" },
		{ { .url = "http://h/api/v1/clusters", .method = "POST", .path = "/api/v1/clusters",
		    .status = 400, .message = "storage.url must be s3:// or file://" },
		  "the orchestrator rejected POST /api/v1/clusters: storage.url must be s3:// or file:// (400) — check the command with 'help'" },
		{ { .url = "http://h/api/v1/clusters/p/backups", .method = "GET",
		    .path = "/api/v1/clusters/p/backups", .status = 404,
		    .message = "no route GET /api/v1/clusters/p/backups: see docs/api.md" },
		  "the orchestrator at http://h/api/v1/clusters/p/backups does not serve GET /api/v1/clusters/p/backups (404) — it may be older than ringsh; upgrade it" },
		{ { .url = "http://h/api/v1/clusters", .method = "POST", .path = "/api/v1/clusters",
		    .status = 413 },
		  "is too large for the orchestrator (413) — send fewer or shorter params" },
		{ { .url = "http://h/x", .method = "GET", .path = "/x", .status = 503,
		    .message = "starting" },
		  "the orchestrator at http://h/x failed on GET /x: starting (503) — see its log" },
		{ { .url = "http://h/x", .method = "GET", .path = "/x", .status = 500 },
		  "the orchestrator at http://h/x failed on GET /x: server error (500) — see its log" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char buf[512];
		client_explain(&rows[i].f, buf, sizeof(buf));
		T_CHECK(strstr(buf, rows[i].want) != NULL, "got '%s', want '%s'",
		    buf, rows[i].want);
		T_CHECK(strchr(buf, '\n') == NULL, "one line: %s", buf);
	}
}

static void test_watch_render(void)
{
	char bar[64];
	watch_bar(3, 12, 12, bar, sizeof(bar));
	T_EQ_STR(bar, "[###---------]");
	watch_bar(0, 0, 4, bar, sizeof(bar));
	T_EQ_STR(bar, "[----]");
	watch_bar(20, 10, 4, bar, sizeof(bar));
	T_EQ_STR(bar, "[####]");

	T_CHECK(watch_terminal("failed") && watch_terminal("succeeded") &&
	    watch_terminal("cancelled") && watch_terminal("partial") &&
	    !watch_terminal("running") && !watch_terminal("paused") &&
	    !watch_terminal(NULL), "terminal states");

	int64_t started;
	time_parse_rfc3339("2026-01-01T00:00:00Z", &started);
	json_t *task = json_loads(
	    "{\"id\":\"t-1\",\"type\":\"backup\",\"cluster\":\"prod\","
	    "\"state\":\"running\",\"started_at\":\"2026-01-01T00:00:00Z\","
	    "\"progress\":{\"done\":3,\"total\":12},\"error\":null,"
	    "\"steps\":["
	    "{\"name\":\"snapshot\",\"node\":\"10.0.0.1\",\"state\":\"succeeded\",\"attempts\":1},"
	    "{\"name\":\"upload\",\"node\":\"10.0.0.1\",\"state\":\"running\",\"attempts\":2,\"message\":\"40 files\"},"
	    "{\"name\":\"snapshot\",\"node\":\"10.0.0.2\",\"state\":\"succeeded\",\"attempts\":1},"
	    "{\"name\":\"upload\",\"node\":\"10.0.0.2\",\"state\":\"pending\",\"attempts\":0},"
	    "{\"name\":\"manifest\",\"node\":null,\"state\":\"pending\",\"attempts\":0}]}",
	    0, NULL);
	T_CHECK(task != NULL, "task JSON");
	size_t n;
	/* 30 s in: 3 done is 0.1/s, 9 left is 90 s. */
	char *s = watch_render(task, (started + 30) * 1000, 100, &n);
	T_EQ_INT(n, 6);
	T_CHECK(strstr(s, "task t-1  backup on prod  running  elapsed 30s\n") == s,
	    "head: %s", s);
	T_CHECK(strstr(s, "[#######-----------------------] 3/12  25%  0.10/s  ETA 1m 30s\n")
	    != NULL, "bar: %s", s);
	T_CHECK(strstr(s, "10.0.0.1  upload    running    2         40 files") != NULL,
	    "node 1 shows its running step: %s", s);
	T_CHECK(strstr(s, "10.0.0.2  snapshot  succeeded") != NULL,
	    "node 2 shows its last settled step: %s", s);
	T_CHECK(strstr(s, "-         manifest  pending") != NULL,
	    "cluster-wide step: %s", s);
	free(s);
	/* Narrow terminals: no line is wider than the screen. */
	s = watch_render(task, (started + 30) * 1000, 40, &n);
	char *save = NULL;
	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		T_CHECK(table_strwidth(l) < 40, "fits 40: '%s'", l);
	free(s);
	s = watch_line(task, (started + 30) * 1000);
	T_EQ_STR(s, "t-1 running 3/12  25% ETA 1m 30s; 10.0.0.1: upload running, "
	    "10.0.0.2: snapshot succeeded, -: manifest pending");
	free(s);
	json_object_set_new(task, "state", json_string("failed"));
	json_object_set_new(task, "error", json_string("upload failed on 10.0.0.1"));
	s = watch_render(task, (started + 30) * 1000, 100, &n);
	T_CHECK(strstr(s, "error: upload failed on 10.0.0.1\n") != NULL, "error: %s", s);
	free(s);
	json_decref(task);
}

/*
 * A scheduled repair of 48 segments: the step's counts, the segments not
 * done in their order (running ones with how long they run), the last
 * three done, and nothing else; the plain line carries the counts only.
 */
static void test_watch_segments(void)
{
	static const char *const states[] = { "done", "running", "postponed",
		"failed", "split", "pending" };
	json_t *task = json_loads(
	    "{\"id\":\"t-9\",\"type\":\"repair\",\"cluster\":\"prod\","
	    "\"state\":\"running\",\"started_at\":\"2026-01-01T00:00:00Z\","
	    "\"progress\":{\"done\":0,\"total\":1},\"error\":null,"
	    "\"steps\":[{\"name\":\"repair segments\",\"node\":null,"
	    "\"state\":\"running\",\"attempts\":1,\"message\":\"segments: "
	    "40 done, 2 running, 0 pending, 3 postponed, 1 failed\"}]}", 0, NULL);
	json_t *nodes = json_array();
	int64_t started;
	size_t n;
	char *s, *line, want[128];

	time_parse_rfc3339("2026-01-01T00:00:00Z", &started);
	/* 1..40 done (done at minute i), 41-42 running, 43-45 postponed, 46
	 * failed, 47 split, 48 pending again; the API orders them as text */
	for (int i = 1; i <= 48; i++) {
		int k = i <= 40 ? 0 : i <= 42 ? 1 : i <= 45 ? 2 : i == 46 ? 3 :
		    i == 47 ? 4 : 5;
		char name[32], up[40], phase[160];
		snprintf(name, sizeof(name), "segment %d", i);
		snprintf(up, sizeof(up), "2026-01-01T00:%02d:00.000Z", i <= 40 ? i :
		    50);
		snprintf(phase, sizeof(phase), "ranges (%d,%d] replicas 10.0.0.1,"
		    "10.0.0.2,10.0.0.3 keyspace ks1 on 10.0.0.%d", i * 10,
		    i * 10 + 10, i % 3 + 1);
		json_array_append_new(nodes, json_pack("{s:s,s:s,s:s,s:s,s:s}",
		    "node", name, "phase", phase, "state", states[k], "message",
		    k == 0 ? "repaired ks1: 1 session after 800 ms" : k == 2 ?
		    "waiting for 10.0.0.4 (down)" : k == 3 ? "Endpoint not alive" :
		    "started", "updated_at", up));
	}
	json_object_set_new(json_array_get(json_object_get(task, "steps"), 0),
	    "nodes", nodes);
	/* 50 min 42 s in: the running ones started at minute 50 */
	s = watch_render(task, (started + 50 * 60 + 42) * 1000, 160, &n);
	/* head, bar, column names, summary, 7 not done, 3 done */
	T_CHECK(n == 2 + 1 + 1 + 7 + 3, "14 lines, not 48: %zu\n%s", n, s);
	T_CHECK(strstr(s, "\n  segments    repair segments  running    1         "
	    "segments: 40 done, 2 running, 0 pending, 3 postponed, 1 failed\n")
	    != NULL, "summary: %s", s);
	snprintf(want, sizeof(want), "ks1 (410,420] on 10.0.0.3 [10.0.0.1,"
	    "10.0.0.2,10.0.0.3]  for 42s  started");
	T_CHECK(strstr(s, want) != NULL, "running with its time: %s", s);
	T_CHECK(strstr(s, "waiting for 10.0.0.4 (down)") != NULL &&
	    strstr(s, "Endpoint not alive") != NULL, "postponed, failed: %s", s);
	T_CHECK(strstr(s, "segment 47") == NULL, "split not shown: %s", s);
	/* done: 40, 39, 38 only */
	T_CHECK(strstr(s, "segment 40 ") != NULL && strstr(s, "segment 38 ") !=
	    NULL && strstr(s, "segment 37 ") == NULL && strstr(s, "segment 1 ")
	    == NULL, "last three done: %s", s);
	T_CHECK(strstr(s, "segment 41 ") < strstr(s, "segment 46 ") &&
	    strstr(s, "segment 46 ") < strstr(s, "segment 48 ") &&
	    strstr(s, "segment 48 ") < strstr(s, "segment 40 "),
	    "not done in order, then done: %s", s);
	free(s);
	line = watch_line(task, (started + 60) * 1000);
	T_CHECK(strstr(line, "[segments: 40 done, 2 running, 0 pending, 3 "
	    "postponed, 1 failed]") != NULL && strstr(line, "segment 1") ==
	    NULL, "line: %s", line);
	free(line);

	s = watch_segment_where("ranges (1,2] (3,4] replicas a,b keyspace k on b");
	T_EQ_STR(s, "k (1,2] (3,4] on b [a,b]");
	free(s);
	s = watch_segment_where("ranges (1,2] replicas a,b on (no known replica)");
	T_EQ_STR(s, "(1,2] on (no known replica) [a,b]");
	free(s);
	s = watch_segment_where("upload");
	T_EQ_STR(s, "upload");
	free(s);
	json_decref(task);
}

/*
 * Per-node progress ("nodes" in a step, GET /api/v1/tasks/{id}): absent
 * (older servers), malformed, zero totals, and what the screen, the plain
 * line and the closing summary make of it.
 */
static void test_watch_nodes(void)
{
	static const struct {
		const char *nodes;        /* the step's "nodes" value, or NULL: absent */
		int n;                    /* watch_step_nodes() */
		const char *text0;        /* watch_node_text() of the first, running task */
	} rows[] = {
		{ NULL, -1, NULL },
		{ "null", -1, NULL },
		{ "{\"node\":\"x\"}", -1, NULL },
		{ "\"10.0.0.1\"", -1, NULL },
		{ "[]", 0, NULL },
		{ "[{\"node\":\"127.0.0.11\",\"phase\":\"upload\",\"files_done\":12,"
		  "\"files_total\":40,\"bytes_done\":1234,\"bytes_total\":5678,"
		  "\"rate_bps\":1000.0,\"state\":\"running\",\"message\":\"nb-1\","
		  "\"updated_at\":\"2026-01-01T00:00:30Z\"}]", 1,
		  "upload  files 12/40  1.2 KiB/5.5 KiB  1000 B/s  ETA 4s  nb-1" },
		/* zero totals: no ETA, no division */
		{ "[{\"node\":\"a\",\"phase\":\"upload\",\"files_done\":0,\"files_total\":0,"
		  "\"bytes_done\":0,\"bytes_total\":0,\"rate_bps\":0,\"state\":\"running\"}]", 1,
		  "upload  files 0/0  0 B/0 B  0 B/s" },
		/* malformed values are unknown, not numbers */
		{ "[{\"node\":\"a\",\"phase\":7,\"files_done\":\"12\",\"files_total\":-3,"
		  "\"bytes_done\":1.5,\"bytes_total\":true,\"rate_bps\":-1,"
		  "\"state\":[],\"message\":{}}]", 1, "" },
		{ "[{\"node\":\"a\",\"files_done\":3,\"bytes_total\":2048}]", 1,
		  "files 3/?  ?/2.0 KiB" },
		/* done past total: shown, but no ETA */
		{ "[{\"node\":\"a\",\"bytes_done\":9000,\"bytes_total\":10,\"rate_bps\":5,"
		  "\"state\":\"running\"}]", 1, "8.8 KiB/10 B  5 B/s" },
		/* entries that name no node are skipped */
		{ "[1, null, {\"phase\":\"x\"}, {\"node\":5}, {\"node\":\"b\",\"state\":\"done\"}]", 1,
		  "" },
	};
	struct watch_node wn[8];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		json_t *step = json_pack("{s:s}", "name", "upload");
		if (rows[i].nodes != NULL)
			json_object_set_new(step, "nodes",
			    json_loads(rows[i].nodes, JSON_DECODE_ANY, NULL));
		int n = watch_step_nodes(step, wn, 8);
		T_CHECK(n == rows[i].n, "row %zu: %d nodes", i, n);
		if (n > 0 && rows[i].text0 != NULL) {
			char *t = watch_node_text(&wn[0], true);
			T_CHECK(strcmp(t, rows[i].text0) == 0, "row %zu: '%s', want '%s'",
			    i, t, rows[i].text0);
			free(t);
		}
		json_decref(step);
	}
	/* The ETA needs a running node and a running task. */
	struct watch_node one = { "n1", "upload", "running", NULL, 1, 2, 100,
	    1100, 100.0 };
	char *t = watch_node_text(&one, true);
	T_EQ_STR(t, "upload  files 1/2  100 B/1.1 KiB  100 B/s  ETA 10s");
	free(t);
	t = watch_node_text(&one, false);
	T_EQ_STR(t, "upload  files 1/2  100 B/1.1 KiB  100 B/s");
	free(t);
	one.state = "done";
	t = watch_node_text(&one, true);
	T_CHECK(strstr(t, "ETA") == NULL, "a done node has no ETA: %s", t);
	free(t);

	int64_t started;
	time_parse_rfc3339("2026-01-01T00:00:00Z", &started);
	json_t *task = json_loads(
	    "{\"id\":\"t-2\",\"type\":\"backup\",\"cluster\":\"prod\","
	    "\"state\":\"running\",\"started_at\":\"2026-01-01T00:00:00Z\","
	    "\"progress\":{\"done\":1,\"total\":3},\"error\":null,"
	    "\"steps\":["
	    "{\"name\":\"snapshot\",\"node\":null,\"state\":\"succeeded\",\"attempts\":1,"
	    " \"message\":\"3 nodes\"},"
	    "{\"name\":\"upload\",\"node\":null,\"state\":\"running\",\"attempts\":1,"
	    " \"message\":\"uploading\",\"nodes\":["
	    "  {\"node\":\"127.0.0.11\",\"phase\":\"upload\",\"files_done\":12,\"files_total\":40,"
	    "   \"bytes_done\":1234,\"bytes_total\":5678,\"rate_bps\":1000.0,\"state\":\"running\"},"
	    "  {\"node\":\"127.0.0.12\",\"phase\":\"upload\",\"files_done\":40,\"files_total\":40,"
	    "   \"bytes_done\":5678,\"bytes_total\":5678,\"rate_bps\":0,\"state\":\"done\"},"
	    "  {\"node\":\"127.0.0.13\",\"phase\":\"snapshot\",\"files_done\":0,\"files_total\":0,"
	    "   \"bytes_done\":0,\"bytes_total\":0,\"state\":\"running\"}]},"
	    "{\"name\":\"manifest\",\"node\":null,\"state\":\"pending\",\"attempts\":0}]}",
	    0, NULL);
	T_CHECK(task != NULL, "task JSON");
	if (task == NULL)
		return;
	size_t nl;
	char *s = watch_render(task, (started + 30) * 1000, 120, &nl);
	T_CHECK(strstr(s, "127.0.0.11  upload  running  1         upload  files 12/40  "
	    "1.2 KiB/5.5 KiB  1000 B/s  ETA 4s") != NULL, "node line: %s", s);
	T_CHECK(strstr(s, "127.0.0.12  upload  done     1         upload  files 40/40  "
	    "5.5 KiB/5.5 KiB  0 B/s\n") != NULL, "done node, no ETA: %s", s);
	T_CHECK(strstr(s, "127.0.0.13  upload  running  1         snapshot  files 0/0  "
	    "0 B/0 B\n") != NULL, "zero totals: %s", s);
	T_CHECK(strstr(s, "uploading") == NULL, "per-node lines replace the "
	    "step message: %s", s);
	T_EQ_INT(nl, 2 + 1 + 3);
	free(s);
	s = watch_line(task, (started + 30) * 1000);
	T_EQ_STR(s, "t-2 running 1/3  33% ETA 1m 0s; -: upload running "
	    "[127.0.0.11 upload 12/40 files; 127.0.0.12 upload 40/40 files; "
	    "127.0.0.13 snapshot 0/0 files]");
	free(s);
	/* Paused: no ETA anywhere. */
	json_object_set_new(task, "state", json_string("paused"));
	s = watch_render(task, (started + 30) * 1000, 120, &nl);
	T_CHECK(strstr(s, "ETA -") != NULL && strstr(s, "ETA 4s") == NULL &&
	    strstr(s, "ETA 1m") == NULL, "paused: %s", s);
	free(s);
	/* Ended: the step's final message under its nodes' lines. */
	json_t *up = json_array_get(json_object_get(task, "steps"), 1);
	json_object_set_new(up, "state", json_string("succeeded"));
	json_object_set_new(up, "message", json_string("52 files, 6.7 KiB uploaded"));
	s = watch_render(task, (started + 30) * 1000, 120, &nl);
	T_CHECK(strstr(s, "  -           upload  succeeded  1         52 files, 6.7 KiB "
	    "uploaded\n") != NULL, "final message: %s", s);
	T_EQ_INT(nl, 2 + 1 + 3 + 1);
	free(s);
	json_object_set_new(up, "state", json_string("running"));
	json_object_set_new(up, "message", json_string("uploading"));
	/* The same with the field absent: the step's own message. */
	json_object_del(json_array_get(json_object_get(task, "steps"), 1), "nodes");
	json_object_set_new(task, "state", json_string("running"));
	s = watch_render(task, (started + 30) * 1000, 120, &nl);
	T_CHECK(strstr(s, "  -     upload  running  1         uploading\n") != NULL,
	    "no nodes: the step message: %s", s);
	free(s);
	json_decref(task);

	/* The closing line: how long, what moved, what failed. */
	task = json_loads(
	    "{\"id\":\"t-3\",\"state\":\"failed\",\"started_at\":\"2026-01-01T00:00:00Z\","
	    "\"finished_at\":\"2026-01-01T00:01:03Z\",\"progress\":{\"done\":1,\"total\":3},"
	    "\"steps\":["
	    "{\"name\":\"upload\",\"node\":null,\"state\":\"failed\",\"nodes\":["
	    " {\"node\":\"a\",\"files_done\":100,\"bytes_done\":1048576,\"state\":\"done\"},"
	    " {\"node\":\"b\",\"files_done\":20,\"bytes_done\":\"x\",\"state\":\"failed\","
	    "  \"message\":\"connection reset\"}]},"
	    "{\"name\":\"verify\",\"node\":\"c\",\"state\":\"failed\",\"message\":\"bad md5\"},"
	    "{\"name\":\"manifest\",\"node\":null,\"state\":\"cancelled\"}]}", 0, NULL);
	s = watch_summary(task, 0);
	T_EQ_STR(s, "task t-3 failed after 1m 3s; moved 120 files, 1.0 MiB on 2 nodes; "
	    "failed: upload on b: connection reset, verify on c: bad md5");
	free(s);
	json_decref(task);
	task = json_loads("{\"id\":\"t-4\",\"state\":\"succeeded\","
	    "\"started_at\":\"2026-01-01T00:00:00Z\",\"finished_at\":\"2026-01-01T00:00:03Z\","
	    "\"steps\":[{\"name\":\"noop-1\",\"state\":\"succeeded\"}]}", 0, NULL);
	s = watch_summary(task, 0);
	T_EQ_STR(s, "task t-4 succeeded after 3s");
	free(s);
	json_decref(task);
	/* partial: what it left undone closes the line */
	task = json_loads("{\"id\":\"t-5\",\"state\":\"partial\","
	    "\"error\":\"2 of 12 segments not repaired\","
	    "\"started_at\":\"2026-01-01T00:00:00Z\",\"finished_at\":\"2026-01-01T00:00:03Z\","
	    "\"steps\":[{\"name\":\"repair segments\",\"state\":\"succeeded\"}]}", 0, NULL);
	s = watch_summary(task, 0);
	T_EQ_STR(s, "task t-5 partial after 3s; 2 of 12 segments not repaired");
	free(s);
	json_decref(task);
	/* Garbage in: no crash, still a line. */
	task = json_loads("{\"steps\":{\"nodes\":1}}", 0, NULL);
	s = watch_summary(task, 0);
	T_EQ_STR(s, "task ? ? after 0s");
	free(s);
	json_decref(task);
}

static void test_ids(void)
{
	static const char *const ids[] = {
		"t-019aef1234560000", "t-019aef1234570000", "t-019aef9999990000",
	};
	static const struct {
		const char *word;
		enum ids_result want;
		size_t pick;		/* for IDS_ONE */
		size_t nmatch;		/* for IDS_AMBIGUOUS */
	} rows[] = {
		{ "t-019aef1234560000", IDS_ONE, 0, 0 },
		{ "t-019aef9", IDS_ONE, 2, 0 },
		{ "019aef9", IDS_ONE, 2, 0 },	/* without "t-" */
		{ "123457", IDS_ONE, 1, 0 },	/* the part that differs */
		{ "999", IDS_ONE, 2, 0 },
		{ "t-019aef12345", IDS_AMBIGUOUS, 0, 2 },
		{ "019a", IDS_AMBIGUOUS, 0, 3 },
		{ "1234", IDS_AMBIGUOUS, 0, 2 },
		{ "12", IDS_NONE, 0, 0 },	/* too short to look inside */
		{ "t-1", IDS_NONE, 0, 0 },
		{ "", IDS_NONE, 0, 0 },
		{ "zzz", IDS_NONE, 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		size_t pick = 99, match[2], nmatch = 99;
		enum ids_result r = ids_find(rows[i].word, ids, ARRAY_SIZE(ids),
		    &pick, match, ARRAY_SIZE(match), &nmatch);
		T_CHECK(r == rows[i].want, "'%s': result %d, want %d",
		    rows[i].word, (int)r, (int)rows[i].want);
		if (r == IDS_ONE && rows[i].want == IDS_ONE)
			T_CHECK(pick == rows[i].pick, "'%s': picked %zu, want %zu",
			    rows[i].word, pick, rows[i].pick);
		if (r == IDS_AMBIGUOUS && rows[i].want == IDS_AMBIGUOUS)
			T_CHECK(nmatch == rows[i].nmatch, "'%s': %zu matches, "
			    "want %zu", rows[i].word, nmatch, rows[i].nmatch);
	}
	size_t match[] = { 0, 1 };
	char *l = ids_list(ids, match, 2, 5);
	T_EQ_STR(l, "t-019aef1234560000, t-019aef1234570000 and 3 more");
	free(l);
	T_CHECK(ids_is_full("t-019aef1234560000", 't'), "a whole task id");
	T_CHECK(!ids_is_full("t-019aef123456000", 't'), "15 digits");
	T_CHECK(!ids_is_full("s-019aef1234560000", 't'), "a schedule id");
	T_CHECK(!ids_is_full("t-019aef123456000g", 't'), "not hex");
	static const char *const list[] = { "t-019aef1234560000",
	    "t-019aef1234570000", NULL };
	char **v = ids_complete("3457", list);
	T_CHECK(v[0] && strcmp(v[0], "t-019aef1234570000") == 0 && !v[1],
	    "completion from the unique part");
	cmd_strv_free(v);
	v = ids_complete("t-019", list);
	T_CHECK(v[0] && v[1] && !v[2], "a shared prefix gives both");
	cmd_strv_free(v);
}

static void test_action_text(void)
{
	static const struct {
		const char *action, *before, *task, *want;
	} rows[] = {
		{ "pause", "{\"state\":\"running\"}",
		  "{\"id\":\"t-1\",\"state\":\"running\",\"pause_requested\":true}",
		  "asked task t-1 to pause; it is still running and pauses at its next checkpoint (follow it with 'watch t-1')" },
		{ "pause", "{\"state\":\"queued\"}", "{\"id\":\"t-1\",\"state\":\"paused\"}",
		  "paused task t-1 — resume it with 'tasks resume t-1' or cancel it with 'tasks cancel t-1'" },
		{ "pause", "{\"state\":\"paused\"}", "{\"id\":\"t-1\",\"state\":\"paused\"}",
		  "already paused: task t-1 — resume it with 'tasks resume t-1' or cancel it with 'tasks cancel t-1'" },
		{ "cancel", "{\"state\":\"queued\"}", "{\"id\":\"t-1\",\"state\":\"cancelled\"}",
		  "cancelled task t-1" },
		{ "cancel", "{\"state\":\"running\"}",
		  "{\"id\":\"t-1\",\"state\":\"running\",\"cancel_requested\":true}",
		  "asked task t-1 to stop; it is still running and ends at its next checkpoint (follow it with 'watch t-1')" },
		{ "resume", "{\"state\":\"paused\"}", "{\"id\":\"t-1\",\"state\":\"queued\"}",
		  "resumed task t-1: queued again, it goes on from its first unfinished step" },
		{ "resume", "{\"state\":\"running\",\"pause_requested\":true}",
		  "{\"id\":\"t-1\",\"state\":\"running\",\"pause_requested\":false}",
		  "withdrew the pause asked of task t-1; it keeps running" },
		/* Nothing to resume: said so, not "resumed". */
		{ "resume", "{\"state\":\"queued\"}", "{\"id\":\"t-1\",\"state\":\"queued\"}",
		  "task t-1 is queued, not paused: nothing to resume" },
		{ "resume", "{\"state\":\"running\"}", "{\"id\":\"t-1\",\"state\":\"running\"}",
		  "task t-1 is running, not paused: nothing to resume" },
		/* The state before unknown: what the answer shows. */
		{ "resume", NULL, "{\"id\":\"t-1\",\"state\":\"queued\"}",
		  "resumed task t-1: queued again, it goes on from its first unfinished step" },
		/* Anything else is said as it is, never as what was asked. */
		{ "pause", NULL, "{\"id\":\"t-1\",\"state\":\"running\"}", "task t-1 is running" },
		{ "cancel", "7", "{\"state\":7}", "task ? is ?" },
		{ "resume", "[]", "[]", "task ? is ?" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		json_t *j = json_loads(rows[i].task, JSON_DECODE_ANY, NULL);
		json_t *b = rows[i].before ? json_loads(rows[i].before,
		    JSON_DECODE_ANY, NULL) : NULL;
		char *got = exec_action_text(rows[i].action, b, j);
		T_CHECK(strcmp(got, rows[i].want) == 0, "%s %s: got '%s', want '%s'",
		    rows[i].action, rows[i].task, got, rows[i].want);
		free(got);
		json_decref(j);
		json_decref(b);
	}
}

static void test_events_text(void)
{
	/* Out of order, as the audit log may hand them out. */
	json_t *items = json_loads("["
	    "{\"id\":3,\"at\":\"2020-01-02T14:02:11Z\",\"kind\":\"task\",\"actor\":\"ringmaster\","
	    " \"target\":\"t-2\",\"cluster\":\"prod\",\"result\":\"running\","
	    " \"detail\":{\"type\":\"repair\",\"from\":\"queued\"}},"
	    "{\"id\":2,\"at\":\"2020-01-02T14:02:10.500Z\",\"kind\":\"request\",\"actor\":\"admin\","
	    " \"method\":\"POST\",\"route\":\"/api/v1/clusters/{name}/tasks\",\"target\":\"prod\","
	    " \"cluster\":\"prod\",\"result\":\"202\",\"detail\":null},"
	    "{\"id\":4,\"at\":\"2020-01-02T14:02:10.100Z\",\"kind\":\"node\",\"actor\":\"ringmaster\","
	    " \"target\":\"10.0.0.2\",\"cluster\":\"prod\",\"result\":\"down\"},"
	    "{\"id\":5,\"at\":\"2020-01-02T14:03:00Z\",\"kind\":\"cluster\",\"actor\":\"admin\","
	    " \"target\":\"prod\",\"result\":\"updated\","
	    " \"detail\":{\"changed\":{\"ssh.user\":{\"from\":\"a\",\"to\":\"b\"}}}},"
	    "{\"id\":6,\"kind\":\"weird\"}"
	    "]", 0, NULL);
	T_CHECK(items != NULL, "events parse");
	char *got = exec_events_text(items);
	T_EQ_STR(got,
	    "2020-01-02 14:02:10 node 10.0.0.2 of prod down\n"
	    "2020-01-02 14:02:10 admin POST /api/v1/clusters/{name}/tasks prod → 202\n"
	    "2020-01-02 14:02:11 repair t-2 queued → running\n"
	    "2020-01-02 14:03:00 cluster prod updated by admin: ssh.user \"a\" → \"b\"\n"
	    "? weird ? ?\n");
	free(got);
	json_decref(items);
}

int main(void)
{
	test_parse_ok();
	test_parse_errors();
	test_split();
	test_kv();
	test_usage_help();
	test_complete();
	test_sizes_times();
	test_table();
	test_explain();
	test_watch_render();
	test_watch_segments();
	test_watch_nodes();
	test_ids();
	test_action_text();
	test_events_text();
	return t_done("test_shell");
}
