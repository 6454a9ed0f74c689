/*
 * test_agent_tenants.c - the agent's half of tenant demand and limits:
 * demand from two tablestats samples (baseline, deltas, a counter that went
 * down, prefixes, keyspaces absent), the limits file (content, atomic
 * write, written only when it changed) and limits_hook (success, failure,
 * timeout, retries), with small shell scripts written by the test.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../../agent/heartbeat.h"
#include "../../agent/limits.h"
#include "../../agent/nodetool.h"
#include "../../agent/tenants.h"
#include "../../common/util.h"
#include "t.h"

static char *tmp_dir;

static struct tenants *parse_list(const char *list_json, int64_t gen)
{
	json_t *j = json_loads(list_json, 0, NULL);
	struct tenants *ts = NULL;
	char err[512];

	T_CHECK(j != NULL && tenants_parse(j, gen, &ts, err, sizeof(err)) == 0,
	    "list %s: %s", list_json, j ? err : "not JSON");
	json_decref(j);
	return ts;
}

/*
 * Stats from "ks=R/W ..." ("ks=R/-": no Write Count line), as nodetool
 * prints them, parsed by the agent's own parser.
 */
static struct nodetool_tablestats *stats(const char *spec)
{
	char *copy = xstrdup(spec), *save = NULL, *tok, err[NODETOOL_ERR_MAX];
	char *text = xstrdup("Total number of tables: 9\n----------------\n"), *n;
	struct nodetool_tablestats *st = NULL;

	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char ks[64], r[32], w[32], *rl, *wl;
		T_CHECK(sscanf(tok, "%63[^=]=%31[^/]/%31s", ks, r, w) == 3, "%s", tok);
		rl = strcmp(r, "-") ? xasprintf("\tRead Count: %s\n", r) : xstrdup("");
		wl = strcmp(w, "-") ? xasprintf("\tWrite Count: %s\n", w) : xstrdup("");
		n = xasprintf("%sKeyspace : %s\n%s\tRead Latency: NaN ms\n%s"
		    "\tPending Flushes: 0\n----------------\n", text, ks, rl, wl);
		free(rl);
		free(wl);
		free(text);
		text = n;
	}
	T_CHECK(nodetool_parse_tablestats(text, strlen(text), &st, err,
	    sizeof(err)) == 0, "stats '%s': %s", spec, err);
	free(text);
	free(copy);
	return st;
}

/* Sample spec at t seconds; the demand object or NULL. */
static json_t *sample(struct tenants_demand *d, const struct tenants *ts,
    const char *spec, double t)
{
	struct nodetool_tablestats *st = stats(spec);
	json_t *out = st ? tenants_demand_sample(d, ts, st, (int64_t)(t * 1000))
	    : NULL;

	nodetool_tablestats_free(st);
	return out;
}

static double ops_of(const json_t *demand, const char *tenant)
{
	const json_t *v = json_object_get(json_object_get(demand, "ops"), tenant);
	return v ? json_number_value(v) : -1.0;
}

static void test_demand(void)
{
	struct tenants *ts = parse_list("[{\"name\":\"t1\",\"keyspaces\":"
	    "[\"ks1\",\"ks2\"],\"limit\":4000},{\"name\":\"t2\",\"prefix\":\"acme_\"},"
	    "{\"name\":\"t3\",\"keyspaces\":[\"nosuch\"]}]", 3);
	struct tenants_demand d = { 0 };
	json_t *o;

	if (ts == NULL)
		return;
	/* The first sample only sets the baseline. */
	o = sample(&d, ts, "ks1=100/50 ks2=10/0 acme_a=0/0 acme_b=5/5 other=1/1", 100);
	T_CHECK(o == NULL, "baseline reported something");

	/* Deltas over 10 s: t1 (+200 +20) 22/s, t2 (+100 +0) 10/s, t3 0. */
	o = sample(&d, ts, "ks1=200/150 ks2=30/0 acme_a=50/50 acme_b=5/5 other=9/9", 110);
	T_CHECK(o != NULL, "no demand after two samples");
	T_CHECK(json_number_value(json_object_get(o, "window_s")) == 10.0,
	    "window %f", json_number_value(json_object_get(o, "window_s")));
	T_CHECK(ops_of(o, "t1") == 22.0, "t1 %f", ops_of(o, "t1"));
	T_CHECK(ops_of(o, "t2") == 10.0, "t2 %f", ops_of(o, "t2"));
	T_CHECK(ops_of(o, "t3") == 0.0, "t3 (its keyspace absent) %f",
	    ops_of(o, "t3"));
	T_EQ_INT(json_object_size(json_object_get(o, "ops")), 3);
	json_decref(o);

	/* Cassandra restarted: ks1 went down.  t1 gets nothing this round,
	 * the others go on; 4 s window, t2 +10: 2.5/s. */
	o = sample(&d, ts, "ks1=5/5 ks2=30/0 acme_a=55/55 acme_b=5/5", 114);
	T_CHECK(o != NULL && ops_of(o, "t1") < 0 && ops_of(o, "t2") == 2.5,
	    "after a reset: t1 %f t2 %f", ops_of(o, "t1"), ops_of(o, "t2"));
	json_decref(o);
	/* ...and counts again from the new baseline: (+10 +3) over 2 s. */
	o = sample(&d, ts, "ks1=10/10 ks2=33/0 acme_a=55/55 acme_b=5/5", 116);
	T_CHECK(o != NULL && ops_of(o, "t1") == 6.5, "re-based t1 %f",
	    ops_of(o, "t1"));
	json_decref(o);

	/* A prefix keyspace created (counts from 0) and one dropped (its
	 * count gone to 0 is no rate): t2 gets nothing; a new one alone is
	 * counted in full. */
	o = sample(&d, ts, "ks1=10/10 ks2=33/0 acme_a=55/55 acme_c=7/0", 117);
	T_CHECK(o != NULL && ops_of(o, "t2") < 0 && ops_of(o, "t1") == 0.0,
	    "dropped keyspace: t2 %f", ops_of(o, "t2"));
	json_decref(o);
	o = sample(&d, ts, "ks1=10/10 ks2=33/0 acme_a=55/55 acme_c=7/0 acme_d=2/2", 118);
	T_CHECK(o != NULL && ops_of(o, "t2") == 4.0, "created keyspace: t2 %f",
	    ops_of(o, "t2"));
	json_decref(o);

	/* A counter not printed cannot be measured: that tenant is left out. */
	o = sample(&d, ts, "ks1=10/- ks2=33/0 acme_a=55/55 acme_c=7/0 acme_d=2/2", 119);
	T_CHECK(o != NULL && ops_of(o, "t1") < 0 && ops_of(o, "t2") == 0.0,
	    "unknown counter: t1 %f", ops_of(o, "t1"));
	json_decref(o);

	/* Nothing measurable at all: no demand to send. */
	struct tenants *only1 = parse_list("[{\"name\":\"t1\",\"keyspaces\":"
	    "[\"ks1\"]}]", 4);
	o = sample(&d, only1, "ks1=1/1", 120);
	T_CHECK(o == NULL, "a reset alone reported");
	tenants_free(only1);

	/* After a reset (a new list) the next sample is a baseline again. */
	tenants_demand_reset(&d);
	o = sample(&d, ts, "ks1=100/100", 130);
	T_CHECK(o == NULL, "no baseline after reset");
	/* A clock that did not move gives no rate (and no division by 0). */
	o = sample(&d, ts, "ks1=200/100", 130);
	T_CHECK(o == NULL, "zero window reported");
	tenants_demand_release(&d);
	tenants_free(ts);
}

/* ---- limits ---- */

static char *path_in(const char *name)
{
	return xasprintf("%s/%s", tmp_dir, name);
}

static void write_script(const char *path, const char *body)
{
	char *text = xasprintf("#!/bin/sh\n%s", body);
	T_CHECK(file_write_atomic(path, text, strlen(text), 0755) == 0, "%s", path);
	free(text);
}

static json_t *load(const char *path)
{
	char *text = file_read_all(path, 1 << 20, NULL);
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return j;
}

/* Only the limits file itself: no temp file left beside it. */
static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	while (d && (e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "limits.json", 11) == 0;
	if (d)
		closedir(d);
	return n;
}

static void test_limits_file(void)
{
	struct tenants *ts = parse_list("[{\"name\":\"t3\",\"prefix\":\"acme_\","
	    "\"limit\":6000},{\"name\":\"t2\",\"keyspaces\":[\"x\"]},"
	    "{\"name\":\"t1\",\"keyspaces\":[\"ks2\",\"ks1\"],\"limit\":4000}]",
	    123456789);
	char *path = path_in("limits.json"), err[512], *text, *again;
	json_t *doc, *j, *want;
	bool changed;

	if (ts == NULL)
		return;
	doc = limits_doc(ts, "c1", "127.0.0.2");
	want = json_loads("{\"format\":1,\"gen\":123456789,\"cluster\":\"c1\","
	    "\"node\":\"127.0.0.2\",\"tenants\":[{\"name\":\"t1\",\"keyspaces\":"
	    "[\"ks1\",\"ks2\"],\"limit_ops\":4000},{\"name\":\"t3\",\"prefix\":"
	    "\"acme_\",\"limit_ops\":6000}]}", 0, NULL);
	T_CHECK(json_equal(doc, want), "doc: only the served, sorted by name");
	json_decref(want);

	T_CHECK(limits_write(path, doc, &changed, err, sizeof(err)) == 0 &&
	    changed, "first write: %s", err);
	j = load(path);
	T_CHECK(j != NULL, "file is not JSON");
	T_EQ_INT(json_integer_value(json_object_get(j, "gen")), 123456789);
	T_EQ_INT(json_integer_value(json_object_get(j, "format")), 1);
	T_CHECK(strlen(json_string_value(json_object_get(j, "written_at"))) == 20 &&
	    json_string_value(json_object_get(j, "written_at"))[19] == 'Z',
	    "written_at");
	T_EQ_INT(json_array_size(json_object_get(j, "tenants")), 2);
	json_decref(j);
	T_EQ_INT(entries(tmp_dir), 1);

	/* The same content (a new generation aside): not written again. */
	text = file_read_all(path, 1 << 20, NULL);
	json_object_set_new(doc, "gen", json_integer(123456790));
	T_CHECK(limits_write(path, doc, &changed, err, sizeof(err)) == 0 &&
	    !changed, "same content written again");
	again = file_read_all(path, 1 << 20, NULL);
	T_CHECK(text && again && strcmp(text, again) == 0, "file touched");
	free(text);
	free(again);

	/* A changed limit is written. */
	json_integer_set(json_object_get(json_array_get(json_object_get(doc,
	    "tenants"), 0), "limit_ops"), 5000);
	T_CHECK(limits_write(path, doc, &changed, err, sizeof(err)) == 0 &&
	    changed, "changed limit not written");
	j = load(path);
	T_EQ_INT(json_integer_value(json_object_get(j, "gen")), 123456790);
	json_decref(j);
	T_EQ_INT(entries(tmp_dir), 1);

	/* A file that is not ours (garbage) is replaced. */
	T_CHECK(file_write_atomic(path, "{nope", 5, 0644) == 0, "garbage");
	T_CHECK(limits_write(path, doc, &changed, err, sizeof(err)) == 0 &&
	    changed, "garbage kept");

	/* Nowhere to write: the cause first, the file named. */
	char *bad = path_in("no/such/dir/limits.json");
	T_CHECK(limits_write(bad, doc, &changed, err, sizeof(err)) == -1 &&
	    !changed, "write into a missing directory");
	T_CHECK(str_starts_with(err, "cannot write limits_file '") &&
	    strstr(err, "No such file or directory"), "'%s'", err);
	free(bad);

	json_decref(doc);
	/* No tenants: a file with an empty list. */
	struct tenants *none = parse_list("[]", 9);
	doc = limits_doc(none, "c1", "n");
	T_CHECK(json_is_array(json_object_get(doc, "tenants")) &&
	    json_array_size(json_object_get(doc, "tenants")) == 0, "empty list");
	json_decref(doc);
	tenants_free(none);
	tenants_free(ts);
	free(path);
}

static void test_limits_hook(void)
{
	char *hook = path_in("hook.sh"), *out = path_in("hook.out");
	char *file = path_in("some file.json"), *cmd, err[512], *text;

	/* The path comes as the last argument (after the hook's own) and in
	 * the environment. */
	cmd = xasprintf("printf '%%s|%%s|%%s|%%s' \"$1\" \"$2\" \"$#\" "
	    "\"$RINGAGENT_LIMITS_FILE\" > '%s'\n", out);
	write_script(hook, cmd);
	free(cmd);
	cmd = xasprintf("'%s' --quiet", hook);
	T_CHECK(limits_run_hook(cmd, file, 5000, err, sizeof(err)) == 0, "%s", err);
	text = file_read_all(out, 4096, NULL);
	char *want = xasprintf("--quiet|%s|2|%s", file, file);
	T_CHECK(text != NULL && strcmp(text, want) == 0, "hook saw '%s'",
	    text ? text : "(nothing)");
	free(want);
	free(text);
	free(cmd);

	/* Failure: the status and the first line of stderr. */
	write_script(hook, "echo >&2\necho 'proxy said no' >&2\necho more >&2\nexit 3\n");
	T_CHECK(limits_run_hook(hook, file, 5000, err, sizeof(err)) == -1, "rc");
	want = xasprintf("limits_hook '%s' exited 3: proxy said no", hook);
	T_EQ_STR(err, want);
	free(want);
	write_script(hook, "exit 1\n");
	T_CHECK(limits_run_hook(hook, file, 5000, err, sizeof(err)) == -1 &&
	    strstr(err, "exited 1: (nothing on stderr)"), "'%s'", err);

	/* Timeout: killed, and said so. */
	write_script(hook, "echo waiting >&2\nexec sleep 10\n");
	int64_t t0 = time_mono_ms();
	T_CHECK(limits_run_hook(hook, file, 300, err, sizeof(err)) == -1 &&
	    strstr(err, "timed out") && strstr(err, ": waiting"), "'%s'", err);
	T_CHECK(time_mono_ms() - t0 < 5000, "timeout took %lld ms",
	    (long long)(time_mono_ms() - t0));

	/* Not there at all: the shell says so, exit 127. */
	char *gone = path_in("no-such-hook");
	T_CHECK(limits_run_hook(gone, file, 5000, err, sizeof(err)) == -1 &&
	    strstr(err, "exited 127"), "'%s'", err);
	free(gone);
	free(hook);
	free(out);
	free(file);
}

static int runs(const char *count_file)
{
	char *text = file_read_all(count_file, 4096, NULL);
	int n = text ? (int)strlen(text) : 0;
	free(text);
	return n;
}

static void test_limits_apply(void)
{
	char *path = path_in("limits.json"), *hook = path_in("apply.sh");
	char *count = path_in("apply.count"), *ok = path_in("apply.ok"), *body;
	struct tenants *ts = parse_list("[{\"name\":\"t1\",\"keyspaces\":[\"ks1\"],"
	    "\"limit\":4000},{\"name\":\"t2\",\"prefix\":\"p\"}]", 10);
	struct tenants *same = parse_list("[{\"name\":\"t1\",\"keyspaces\":[\"ks1\"],"
	    "\"limit\":4000},{\"name\":\"t2\",\"prefix\":\"q\"}]", 11);
	struct tenants *more = parse_list("[{\"name\":\"t1\",\"keyspaces\":[\"ks1\"],"
	    "\"limit\":8000}]", 12);
	struct tenants *none = parse_list("[]", 13);
	struct limits l = { 0 };
	json_t *want;

	unlink(path);
	/* Counts its runs; fails until the test creates the ok file. */
	body = xasprintf("printf x >> '%s'\n[ -e '%s' ] && exit 0\n"
	    "echo 'rate limiter not ready' >&2\nexit 4\n", count, ok);
	write_script(hook, body);
	free(body);

	limits_set(&l, ts, "c1", "n1", path, hook, 1000);
	T_CHECK(json_is_object(l.applied) && json_object_size(l.applied) == 0,
	    "applied before the hook took it");
	T_CHECK(l.error != NULL && strstr(l.error, "exited 4: rate limiter "
	    "not ready"), "error '%s'", l.error ? l.error : "(none)");
	T_EQ_INT(runs(count), 1);
	T_CHECK(access(path, F_OK) == 0, "file not written");
	/* Not again before 10 s... */
	limits_tick(&l, path, hook, 1000 + LIMITS_RETRY_MS - 1);
	T_EQ_INT(runs(count), 1);
	/* ...then again, still failing. */
	limits_tick(&l, path, hook, 1000 + LIMITS_RETRY_MS);
	T_EQ_INT(runs(count), 2);
	T_CHECK(json_object_size(l.applied) == 0 && l.error != NULL,
	    "still failing");
	/* Fixed: the next retry applies it. */
	T_CHECK(file_write_atomic(ok, "", 0, 0644) == 0, "ok file");
	limits_tick(&l, path, hook, 1000 + 2 * LIMITS_RETRY_MS);
	T_EQ_INT(runs(count), 3);
	want = json_pack("{s:i}", "t1", 4000);
	T_CHECK(l.error == NULL && json_equal(l.applied, want), "applied");
	json_decref(want);
	/* Done: ticks do nothing. */
	limits_tick(&l, path, hook, 1000 + 9 * LIMITS_RETRY_MS);
	T_EQ_INT(runs(count), 3);

	/* A generation that changes nothing this node serves: no write, no
	 * hook, and the applied limits are this generation's. */
	limits_set(&l, same, "c1", "n1", path, hook, 50000);
	T_EQ_INT(runs(count), 3);
	T_CHECK(l.error == NULL && l.want == NULL, "same content pending");
	json_t *j = load(path);
	T_EQ_INT(json_integer_value(json_object_get(j, "gen")), 10);
	json_decref(j);

	/* A new limit: written, the hook runs; when it fails, the previous
	 * limits stay applied with the error beside them. */
	unlink(ok);
	limits_set(&l, more, "c1", "n1", path, hook, 60000);
	T_EQ_INT(runs(count), 4);
	want = json_pack("{s:i}", "t1", 4000);
	T_CHECK(l.error != NULL && json_equal(l.applied, want),
	    "previous limits kept while the hook fails");
	json_decref(want);
	j = load(path);
	T_EQ_INT(json_integer_value(json_object_get(json_array_get(
	    json_object_get(j, "tenants"), 0), "limit_ops")), 8000);
	json_decref(j);

	/* No tenants, no hook configured: the file says so, applied is {}. */
	limits_set(&l, none, "c1", "n1", path, NULL, 70000);
	T_CHECK(l.error == NULL && json_is_object(l.applied) &&
	    json_object_size(l.applied) == 0, "no tenants applied");
	j = load(path);
	T_EQ_INT(json_array_size(json_object_get(j, "tenants")), 0);
	json_decref(j);
	limits_release(&l);

	/* After a restart the hook runs once even though the file is as the
	 * last run left it: nothing says the last run worked. */
	T_CHECK(file_write_atomic(ok, "", 0, 0644) == 0, "ok file");
	struct limits l2 = { 0 };
	limits_set(&l2, none, "c1", "n1", path, hook, 80000);
	T_EQ_INT(runs(count), 5);
	T_CHECK(l2.error == NULL && l2.applied != NULL, "restart applied");
	limits_release(&l2);
	limits_release(NULL);

	tenants_free(ts);
	tenants_free(same);
	tenants_free(more);
	tenants_free(none);
	free(path);
	free(hook);
	free(count);
	free(ok);
}

/* The body's tenants fields: only what there is. */
static void test_body_fields(void)
{
	json_t *b = json_object(), *applied = json_pack("{s:i}", "t1", 4000);
	json_t *demand = json_pack("{s:f, s:{s:f}}", "window_s", 30.2, "ops",
	    "t1", 1234.5);

	/* Before any list: nothing, so an orchestrator that knows no tenants
	 * sees the body it knows. */
	heartbeat_add_tenants(b, 0, NULL, NULL, NULL);
	T_EQ_INT(json_object_size(b), 0);
	json_decref(b);

	b = json_object();
	heartbeat_add_tenants(b, 123456789, applied, "limits_hook 'x' exited 3: no",
	    demand);
	T_EQ_INT(json_integer_value(json_object_get(b, "tenants_gen")), 123456789);
	T_CHECK(json_equal(json_object_get(b, "limits_applied"), applied),
	    "limits_applied");
	T_EQ_STR(json_string_value(json_object_get(b, "limits_error")),
	    "limits_hook 'x' exited 3: no");
	T_CHECK(json_equal(json_object_get(b, "demand"), demand), "demand");
	/* copies: the agent keeps its own until an answer takes them */
	T_CHECK(json_object_get(b, "demand") != demand, "demand not copied");
	json_decref(b);

	b = json_object();
	json_t *empty = json_object();
	heartbeat_add_tenants(b, 5, empty, NULL, NULL);
	T_CHECK(json_is_object(json_object_get(b, "limits_applied")) &&
	    json_object_size(json_object_get(b, "limits_applied")) == 0 &&
	    json_object_get(b, "limits_error") == NULL &&
	    json_object_get(b, "demand") == NULL, "served nothing");
	json_decref(empty);
	json_decref(b);
	json_decref(applied);
	json_decref(demand);
}

int main(void)
{
	char tmpl[] = "/tmp/rm-test-tenants-XXXXXX";

	tmp_dir = mkdtemp(tmpl);
	if (tmp_dir == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_demand();
	test_limits_file();
	test_limits_hook();
	test_limits_apply();
	test_body_fields();
	{
		char *cmd = xasprintf("rm -rf '%s'", tmp_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmp_dir);
		free(cmd);
	}
	return t_done("test_agent_tenants");
}
