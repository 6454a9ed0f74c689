/*
 * rolling.c - see rolling.h.  Every phase is checked against Cassandra
 * itself before it is reported done: a stop command that exits 0 while
 * the JVM still answers JMX did not stop anything, and a start command
 * returns long before the node listens.
 */
#include "rolling.h"

#include <ctype.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/util.h"
#include "agentcfg.h"
#include "cass.h"
#include "cassconf.h"
#include "nodetool.h"
#include "ops.h"
#include "proc.h"

/* How often start and stop ask nodetool while they wait. */
#define POLL_MS 1000

/* Options of an op that takes none. */
static int no_args(struct opctx *x, int argc, const char *op)
{
	if (argc > 1)
		return op_result(x, OPEXIT_USAGE, NULL, "%s takes no arguments",
		    op);
	return -1;
}

/* Sleep ms in slices; false when the op was cancelled. */
static bool nap(struct opctx *x, int64_t ms)
{
	int64_t end = time_mono_ms() + ms;

	while (time_mono_ms() < end) {
		if (op_cancelled(x))
			return false;
		usleep(100 * 1000);
	}
	return !op_cancelled(x);
}

/* ---- health ---- */

int rolling_op_health(struct opctx *x, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "nonce", required_argument, NULL, 'n' },
		{ "compactions", no_argument, NULL, 'c' },
		{ "view", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const struct agentcfg *c = op_conf(x);
	struct cass_seen seen = { 0 };
	bool compactions = false, view = false;
	enum cass_rc rc;
	json_t *r;
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+n:cv", lo, NULL)) != -1) {
		if (ch == 'c')
			compactions = true;
		else if (ch == 'v')
			view = true;
		else if (ch != 'n')
			return op_result(x, OPEXIT_USAGE, NULL, "health: unknown "
			    "option '%s': it takes [--nonce N] [--compactions] "
			    "[--view]", argv[optind - 1]);
	}
	if (optind < argc)
		return op_result(x, OPEXIT_USAGE, NULL, "health: unexpected "
		    "argument '%s'", argv[optind]);
	if (view) {
		r = cass_view(c, op_proc_opts(x), &rc);
	} else {
		r = cass_report(c, op_proc_opts(x), &seen, &rc);
		cass_seen_release(&seen);
	}
	if (compactions && json_is_true(json_object_get(r, "process_up"))) {
		static const char *const args[] = { "compactionstats", NULL };
		struct nodetool_compactionstats *cs = NULL;
		char err[512], *out = NULL;
		enum cass_rc crc = cass_nodetool(c, args, op_proc_opts(x), &out,
		    err, sizeof(err));

		if (crc == CASS_OK && nodetool_parse_compactionstats(out,
		    strlen(out), &cs, err, sizeof(err)) != 0)
			crc = CASS_UNPARSEABLE;
		if (crc == CASS_OK && cs->pending_tasks >= 0)
			json_object_set_new(r, "pending_compactions",
			    json_integer(cs->pending_tasks));
		else
			json_array_append_new(json_object_get(r, "errors"),
			    json_string(crc == CASS_OK ? "nodetool compactionstats: "
			    "no pending tasks count" : err));
		nodetool_compactionstats_free(cs);
		free(out);
	}
	if (rc == CASS_OK || rc == CASS_FAILED)
		return op_result(x, OPEXIT_OK, r, NULL);
	return op_result(x, op_exit_status(rc), r, "%s", json_string_value(
	    json_array_get(json_object_get(r, "errors"), 0)));
}

/* ---- drain ---- */

int rolling_op_drain(struct opctx *x, int argc, char **argv)
{
	int st;
	static const char *const args[] = { "drain", NULL };
	const struct agentcfg *c = op_conf(x);
	struct nodetool_info *info = NULL;
	struct proc_opts po;
	char err[1024], *out = NULL;
	enum cass_rc rc;
	int64_t t0 = time_mono_ms();

	(void)argv;
	if ((st = no_args(x, argc, "drain")) >= 0)
		return st;
	rc = cass_info(c, op_proc_opts(x), &info, err, sizeof(err));
	if (rc == CASS_UNREACHABLE) {
		/* Down already (a step re-run after its stop): nothing
		 * holds memtables or clients, so there is nothing to drain. */
		return op_result(x, OPEXIT_OK, json_pack("{s:b, s:b, s:s}",
		    "drained", 0, "already_down", 1, "note", err), NULL);
	}
	if (rc != CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "cannot read nodetool "
		    "info before draining: %s", err);
	nodetool_info_free(info);
	info = NULL;
	op_progress(x, NULL, "nodetool drain: flushing memtables, stopping "
	    "gossip and client connections");
	/* Drain flushes every memtable: as long as that takes (the job's
	 * timeout bounds it), not nodetool_timeout. */
	po = *op_proc_opts(x);
	{
		struct agentcfg cc = *c;
		cc.nodetool_timeout_ms = 0;
		rc = cass_nodetool(&cc, args, &po, &out, err, sizeof(err));
	}
	free(out);
	if (rc != CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "nodetool drain "
		    "failed: %s", err);
	/* Never call it drained on nodetool's exit alone. */
	rc = cass_info(c, op_proc_opts(x), &info, err, sizeof(err));
	if (rc != CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "nodetool drain "
		    "returned, but nodetool info cannot be read to check it: %s",
		    err);
	if (info->gossip_active || info->native_transport_active) {
		bool g = info->gossip_active;
		nodetool_info_free(info);
		return op_result(x, OPEXIT_FAILED, NULL, "nodetool drain "
		    "returned, but nodetool info shows %s still running: drain "
		    "again or look at Cassandra's log", g ? "gossip" :
		    "native transport");
	}
	nodetool_info_free(info);
	return op_result(x, OPEXIT_OK, json_pack("{s:b, s:b, s:I}",
	    "drained", 1, "already_down", 0, "elapsed_ms",
	    (json_int_t)(time_mono_ms() - t0)), NULL);
}

/* ---- stop / start ---- */

/* CASS_OK when nodetool reaches Cassandra (info in *info when asked). */
static enum cass_rc reach(struct opctx *x, struct nodetool_info **info,
    char *err, size_t errlen)
{
	struct nodetool_info *i = NULL;
	enum cass_rc rc = cass_info(op_conf(x), op_proc_opts(x), &i, err,
	    errlen);

	if (info != NULL)
		*info = i;
	else
		nodetool_info_free(i);
	return rc;
}

int rolling_op_stop(struct opctx *x, int argc, char **argv)
{
	int st;
	const struct agentcfg *c = op_conf(x);
	char err[1024];
	int64_t t0 = time_mono_ms(), deadline;
	enum cass_rc rc;

	(void)argv;
	if ((st = no_args(x, argc, "stop")) >= 0)
		return st;
	if (c->cassandra_stop == NULL)
		return op_result(x, OPEXIT_CONFIG, NULL, "cassandra_stop is not "
		    "set in %s: a rolling operation needs the command that stops "
		    "Cassandra", c->path);
	if (reach(x, NULL, err, sizeof(err)) == CASS_UNREACHABLE)
		return op_result(x, OPEXIT_OK, json_pack("{s:b, s:b}",
		    "stopped", 1, "already_down", 1), NULL);
	op_progress(x, NULL, "stopping Cassandra: %s", c->cassandra_stop);
	if (cass_stop(c, err, sizeof(err)) != 0)
		return op_result(x, OPEXIT_FAILED, NULL, "%s; Cassandra may "
		    "still run: fix the command or stop it by hand", err);
	deadline = time_mono_ms() + c->start_timeout_ms;
	for (;;) {
		rc = reach(x, NULL, err, sizeof(err));
		if (rc == CASS_UNREACHABLE)
			break;
		if (time_mono_ms() >= deadline)
			return op_result(x, OPEXIT_FAILED, NULL, "cassandra_stop "
			    "'%s' finished but nodetool still reaches Cassandra "
			    "after %lld s (start_timeout): it is not stopped",
			    c->cassandra_stop,
			    (long long)(c->start_timeout_ms / 1000));
		if (!nap(x, POLL_MS))
			return op_result(x, OPEXIT_CANCELLED, NULL, "cancelled "
			    "while waiting for Cassandra to stop");
	}
	return op_result(x, OPEXIT_OK, json_pack("{s:b, s:b, s:I}",
	    "stopped", 1, "already_down", 0, "elapsed_ms",
	    (json_int_t)(time_mono_ms() - t0)), NULL);
}

/* nodetool version must show want.  OPEXIT_* with err. */
static int check_version(struct opctx *x, const char *want, char *got,
    size_t gotlen, char *err, size_t errlen)
{
	struct nodetool_version *v = NULL;
	enum cass_rc rc = cass_version(op_conf(x), op_proc_opts(x), &v, err,
	    errlen);

	if (rc != CASS_OK)
		return op_exit_status(rc);
	str_copy(got, v->release, gotlen);
	nodetool_version_free(v);
	if (strcmp(got, want) != 0) {
		snprintf(err, errlen, "nodetool version shows %s, not %s", got,
		    want);
		return OPEXIT_FAILED;
	}
	return OPEXIT_OK;
}

int rolling_op_start(struct opctx *x, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "expect-version", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const struct agentcfg *c = op_conf(x);
	struct nodetool_info *info = NULL;
	const char *want = NULL;
	char err[1024], got[64] = "";
	int64_t t0 = time_mono_ms(), deadline;
	bool ran = false;
	enum cass_rc rc;
	int ch, st;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+v:", lo, NULL)) != -1) {
		if (ch != 'v' || !version_valid(optarg))
			return op_result(x, OPEXIT_USAGE, NULL, "start takes "
			    "[--expect-version V], V a version like 4.1.3");
		want = optarg;
	}
	if (optind < argc)
		return op_result(x, OPEXIT_USAGE, NULL, "start: unexpected "
		    "argument '%s'", argv[optind]);
	if (c->cassandra_start == NULL)
		return op_result(x, OPEXIT_CONFIG, NULL, "cassandra_start is not "
		    "set in %s: a rolling operation needs the command that "
		    "starts Cassandra", c->path);
	if (reach(x, NULL, err, sizeof(err)) == CASS_UNREACHABLE) {
		op_progress(x, NULL, "starting Cassandra: %s",
		    c->cassandra_start);
		if (cass_start(c, err, sizeof(err)) != 0)
			return op_result(x, OPEXIT_FAILED, NULL, "%s; Cassandra "
			    "is not running", err);
		ran = true;
	}
	deadline = time_mono_ms() + c->start_timeout_ms;
	for (;;) {
		rc = reach(x, &info, err, sizeof(err));
		if (rc == CASS_OK && info->gossip_active &&
		    info->native_transport_active)
			break;
		if (rc == CASS_OK)
			snprintf(err, sizeof(err), "nodetool info shows %s off",
			    !info->gossip_active ? "gossip" : "native transport");
		nodetool_info_free(info);
		info = NULL;
		if (rc == CASS_UNPARSEABLE)
			return op_result(x, OPEXIT_UNPARSEABLE, NULL, "%s", err);
		if (time_mono_ms() >= deadline)
			return op_result(x, OPEXIT_FAILED, NULL, "Cassandra did not "
			    "come up within %lld s (start_timeout) after '%s': %s; "
			    "look at its log", (long long)(c->start_timeout_ms /
			    1000), c->cassandra_start, err);
		if (!nap(x, POLL_MS))
			return op_result(x, OPEXIT_CANCELLED, NULL, "cancelled "
			    "while waiting for Cassandra to start");
	}
	nodetool_info_free(info);
	if (want != NULL && (st = check_version(x, want, got, sizeof(got), err,
	    sizeof(err))) != OPEXIT_OK)
		return op_result(x, st, NULL, "Cassandra started, but %s: the "
		    "upgrade did not take", err);
	return op_result(x, OPEXIT_OK, json_pack("{s:b, s:b, s:I, s:s?}",
	    "started", 1, "already_running", !ran, "elapsed_ms",
	    (json_int_t)(time_mono_ms() - t0), "version", want ? got : NULL),
	    NULL);
}

/* ---- upgrade ---- */

/* cmd with every "{version}" replaced by v; a new string. */
static char *subst_version(const char *cmd, const char *v)
{
	static const char mark[] = "{version}";
	size_t cap = strlen(cmd) + 1, n = 0;
	char *out;

	for (const char *p = cmd; (p = strstr(p, mark)) != NULL; p +=
	    sizeof(mark) - 1)
		cap += strlen(v);
	out = xmalloc(cap);
	for (const char *p = cmd; *p != '\0';) {
		if (strncmp(p, mark, sizeof(mark) - 1) == 0) {
			memcpy(out + n, v, strlen(v));
			n += strlen(v);
			p += sizeof(mark) - 1;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	return out;
}

int rolling_op_upgrade(struct opctx *x, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "version", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const struct agentcfg *c = op_conf(x);
	struct proc_opts po;
	struct proc_result r;
	const char *v = NULL;
	char err[1024], why[256], got[64] = "", *cmd;
	int ch, st;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+v:", lo, NULL)) != -1) {
		if (ch != 'v')
			return op_result(x, OPEXIT_USAGE, NULL, "upgrade takes "
			    "--version V");
		v = optarg;
	}
	if (optind < argc || !version_valid(v))
		return op_result(x, OPEXIT_USAGE, NULL, "upgrade needs --version "
		    "V, a version like 4.1.3 (digits, letters, '.', '-')");
	if (c->upgrade_command == NULL)
		return op_result(x, OPEXIT_CONFIG, NULL, "upgrade_command is not "
		    "set in %s: set it to the command that installs Cassandra "
		    "version {version} on this node", c->path);
	if (reach(x, NULL, err, sizeof(err)) != CASS_UNREACHABLE)
		return op_result(x, OPEXIT_FAILED, NULL, "refused: Cassandra "
		    "runs on this node; an upgrade is installed while it is "
		    "stopped (ringagent drain, then stop)");
	cmd = subst_version(c->upgrade_command, v);
	setenv("RM_VERSION", v, 1);
	op_progress(x, NULL, "installing Cassandra %s: %s", v, cmd);
	po = *op_proc_opts(x);
	po.timeout_ms = 0;
	po.on_line = NULL;
	po.max_output = 64 * 1024;
	if (proc_shell(cmd, &po, &r, why, sizeof(why)) != 0) {
		st = op_result(x, OPEXIT_FAILED, NULL, "upgrade_command '%s': %s",
		    cmd, why);
		free(cmd);
		return st;
	}
	if (r.status != 0 || r.cancelled) {
		char line[256] = "";
		const char *s = r.err_len ? r.err : r.out;
		size_t k = strcspn(s, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)(k < 200 ? k : 200), s);
		proc_describe(&r, 0, why, sizeof(why));
		st = op_result(x, OPEXIT_FAILED, NULL, "upgrade_command '%s' %s%s%s; "
		    "the node is stopped on whatever that left installed", cmd,
		    why, line[0] ? ": " : "", line);
		proc_result_release(&r);
		free(cmd);
		return st;
	}
	proc_result_release(&r);
	free(cmd);
	/* A command that also started Cassandra: check what runs now. */
	if (reach(x, NULL, err, sizeof(err)) == CASS_OK) {
		if ((st = check_version(x, v, got, sizeof(got), err,
		    sizeof(err))) != OPEXIT_OK)
			return op_result(x, st, NULL, "upgrade_command finished and "
			    "Cassandra runs, but %s", err);
		return op_result(x, OPEXIT_OK, json_pack("{s:s, s:b, s:s}",
		    "installed", v, "checked", 1, "version", got), NULL);
	}
	return op_result(x, OPEXIT_OK, json_pack("{s:s, s:b}", "installed", v,
	    "checked", 0), NULL);
}

int rolling_op_upgradesstables(struct opctx *x, int argc, char **argv)
{
	int st;
	static const char *const args[] = { "upgradesstables", NULL };
	struct agentcfg cc = *op_conf(x);
	char err[1024], *out = NULL;
	int64_t t0 = time_mono_ms();
	enum cass_rc rc;

	(void)argv;
	if ((st = no_args(x, argc, "upgradesstables")) >= 0)
		return st;
	op_progress(x, NULL, "nodetool upgradesstables: rewriting SSTables of "
	    "older formats");
	/* Rewrites every old SSTable: no deadline but the job's. */
	cc.nodetool_timeout_ms = 0;
	rc = cass_nodetool(&cc, args, op_proc_opts(x), &out, err, sizeof(err));
	free(out);
	if (rc != CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "nodetool "
		    "upgradesstables failed: %s", err);
	return op_result(x, OPEXIT_OK, json_pack("{s:I}", "elapsed_ms",
	    (json_int_t)(time_mono_ms() - t0)), NULL);
}

/* ---- keyspaces ---- */

int rolling_op_keyspaces(struct opctx *x, int argc, char **argv)
{
	int st;
	static const char *const args[] = { "describecluster", NULL };
	struct nodetool_describecluster *dc = NULL;
	char err[1024], *out = NULL;
	enum cass_rc rc;
	json_t *j, *ks;

	(void)argv;
	if ((st = no_args(x, argc, "keyspaces")) >= 0)
		return st;
	rc = cass_nodetool(op_conf(x), args, op_proc_opts(x), &out, err,
	    sizeof(err));
	if (rc == CASS_OK && nodetool_parse_describecluster(out, strlen(out),
	    &dc, err, sizeof(err)) != 0)
		rc = CASS_UNPARSEABLE;
	free(out);
	if (rc != CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "cannot read the "
		    "keyspaces: %s", err);
	if (!dc->has_stats) {
		nodetool_describecluster_free(dc);
		return op_result(x, OPEXIT_FAILED, NULL, "nodetool describecluster "
		    "lists no keyspaces on this version (3.x): the replication "
		    "of each keyspace cannot be read here");
	}
	j = nodetool_describecluster_json(dc);
	ks = json_incref(json_object_get(j, "keyspaces"));
	json_decref(j);
	nodetool_describecluster_free(dc);
	return op_result(x, OPEXIT_OK, json_pack("{s:o}", "keyspaces",
	    ks ? ks : json_array()), NULL);
}

/* ---- config-apply ---- */

int rolling_op_config_apply(struct opctx *x, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "yaml", required_argument, NULL, 'y' },
		{ "jvm", required_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const struct agentcfg *c = op_conf(x);
	const char **yaml = xcalloc((size_t)argc + 1, sizeof(*yaml));
	const char **jvm = xcalloc((size_t)argc + 1, sizeof(*jvm));
	size_t ny = 0, nj = 0;
	struct cassconf_applied done;
	char err[1024];
	int ch, st;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+y:j:", lo, NULL)) != -1) {
		if (ch == 'y') {
			yaml[ny++] = optarg;
		} else if (ch == 'j') {
			jvm[nj++] = optarg;
		} else {
			st = op_result(x, OPEXIT_USAGE, NULL, "config-apply takes "
			    "[--yaml KEY=VALUE]... [--jvm OPTION]...");
			goto out;
		}
	}
	if (optind < argc || ny + nj == 0) {
		st = op_result(x, OPEXIT_USAGE, NULL, "config-apply needs at "
		    "least one --yaml KEY=VALUE or --jvm OPTION");
		goto out;
	}
	memset(&done, 0, sizeof(done));
	if (cassconf_apply(c->cassandra_yaml, yaml, ny, c->jvm_options, jvm, nj,
	    &done, err, sizeof(err)) != 0) {
		st = op_result(x, OPEXIT_FAILED, NULL, "%s", err);
		goto out;
	}
	st = op_result(x, OPEXIT_OK, json_pack("{s:b, s:b, s:s?, s:s?}",
	    "yaml_changed", done.yaml_changed, "jvm_changed", done.jvm_changed,
	    "yaml_backup", done.yaml_backup[0] ? done.yaml_backup : NULL,
	    "jvm_backup", done.jvm_backup[0] ? done.jvm_backup : NULL), NULL);
out:
	free(yaml);
	free(jvm);
	return st;
}
