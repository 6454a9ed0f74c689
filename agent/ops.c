/*
 * ops.c - see ops.h.  Operations live in one table (name, usage, help,
 * function); each parses its own options, reports through op_progress()
 * and returns through op_result(), which prints the one result line and
 * gives the exit status.  To add an operation, write op_x() (here, or in
 * its own module as snapshot.c, backup.c and repair.c do) and add a row.
 *
 * Cancel: one flag, set by SIGTERM/SIGINT/SIGHUP, by a thread that reads
 * stdin for a "cancel" line, and by a failed write to stdout.  Commands the
 * op runs poll it through op_proc_opts(); worker threads call
 * op_cancelled().
 *
 * Nothing here keeps state between runs: the orchestrator's steps must be
 * safe to run twice, so snapshot with a tag that already exists reports
 * the existing snapshot instead of failing, and clear-snapshot of a tag
 * that is gone succeeds.
 */
#include "ops.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/creds.h"
#include "../common/util.h"
#include "agentcfg.h"
#include "autorepair.h"
#include "backup.h"
#include "cass.h"
#include "gossip.h"
#include "job.h"
#include "nodetool.h"
#include "proc.h"
#include "removenode.h"
#include "repair.h"
#include "rolling.h"
#include "scale.h"
#include "snapshot.h"

struct opctx {
	const char *op;
	bool json;
	struct agentcfg *cfg;
	struct proc_opts popts;		/* cancel for commands the op runs */
};

struct op {
	const char *name;
	const char *args;
	const char *help;
	int (*run)(struct opctx *x, int argc, char **argv);
};

/*
 * Cancel state: set by a signal handler, the stdin watcher thread and
 * whichever thread finds stdout closed; read by everyone.
 */
static atomic_int cancelled;
/*
 * Run by a job supervisor (job.h): stdout is a file and stdin /dev/null,
 * nobody reads or writes them, so only SIGTERM/SIGINT (job cancel) cancel.
 */
static bool as_job;
/* One line at a time on stdout: backup's workers report from threads. */
static pthread_mutex_t out_mtx = PTHREAD_MUTEX_INITIALIZER;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&cancelled, 1);
}

/* A "cancel" line on stdin cancels; EOF ends the watch, not the op. */
static void *stdin_watch(void *arg)
{
	char buf[256];
	ssize_t n;

	(void)arg;
	while ((n = read(0, buf, sizeof(buf) - 1)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		buf[n] = '\0';
		if (strstr(buf, "cancel") != NULL) {
			atomic_store(&cancelled, 1);
			break;
		}
	}
	return NULL;
}

/* proc_opts.cancel: polled every 100 ms while a command runs. */
static bool proc_cancel(void *arg, bool *stop_watching)
{
	(void)arg;
	(void)stop_watching;
	return atomic_load(&cancelled) != 0;
}

bool op_cancelled(const struct opctx *x)
{
	(void)x;
	return atomic_load(&cancelled) != 0;
}

/* Print a line (a JSON object or text); a reader that went away cancels us. */
static void emit_line(const char *s)
{
	pthread_mutex_lock(&out_mtx);
	if ((printf("%s\n", s) < 0 || fflush(stdout) != 0) && !as_job)
		atomic_store(&cancelled, 1);
	pthread_mutex_unlock(&out_mtx);
}

/* emit_line() of j, which it takes. */
static void emit(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	emit_line(s);
	free(s);
	json_decref(j);
}

void op_progress(struct opctx *x, json_t *extra, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (x->json) {
		json_t *j = json_pack("{s:s, s:s, s:s}", "type", "progress",
		    "op", x->op, "message", msg);
		if (extra != NULL)
			json_object_update(j, extra);
		emit(j);
	} else {
		emit_line(msg);
	}
	json_decref(extra);
	free(msg);
}

static const char *exit_code_name(int status)
{
	switch (status) {
	case OPEXIT_OK:
		return "ok";
	case OPEXIT_USAGE:
		return "usage";
	case OPEXIT_UNREACHABLE:
		return "nodetool_unreachable";
	case OPEXIT_UNPARSEABLE:
		return "nodetool_unparseable";
	case OPEXIT_CONFIG:
		return "config";
	case OPEXIT_CANCELLED:
		return "cancelled";
	default:
		return "failed";
	}
}

int op_result(struct opctx *x, int status, json_t *data, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	if (status != OPEXIT_OK && op_cancelled(x))
		status = OPEXIT_CANCELLED;
	if (fmt != NULL) {
		va_start(ap, fmt);
		msg = xvasprintf(fmt, ap);
		va_end(ap);
	}
	if (x->json) {
		json_t *j = json_pack("{s:s, s:s, s:b, s:i}", "type", "result",
		    "op", x->op, "ok", status == OPEXIT_OK, "exit", status);
		if (status != OPEXIT_OK)
			json_object_set_new(j, "error", json_pack("{s:s, s:s}",
			    "code", exit_code_name(status), "message",
			    msg ? msg : exit_code_name(status)));
		if (data != NULL)
			json_object_set(j, "data", data);
		emit(j);
	} else {
		if (data != NULL) {
			char *s = json_dumps(data, JSON_INDENT(2) | JSON_SORT_KEYS);
			emit_line(s);
			free(s);
		}
		if (status != OPEXIT_OK)
			fprintf(stderr, "ringagent %s: %s\n", x->op, msg ? msg :
			    exit_code_name(status));
	}
	json_decref(data);
	free(msg);
	return status;
}

const struct agentcfg *op_conf(const struct opctx *x)
{
	return x->cfg;
}

const struct proc_opts *op_proc_opts(const struct opctx *x)
{
	return &x->popts;
}

int op_exit_status(enum cass_rc rc)
{
	switch (rc) {
	case CASS_OK:
		return OPEXIT_OK;
	case CASS_UNREACHABLE:
		return OPEXIT_UNREACHABLE;
	case CASS_UNPARSEABLE:
		return OPEXIT_UNPARSEABLE;
	case CASS_CANCELLED:
		return OPEXIT_CANCELLED;
	case CASS_FAILED:
		break;
	}
	return OPEXIT_FAILED;
}

/* ---- operations ---- */

static int op_status(struct opctx *x, int argc, char **argv)
{
	struct cass_seen seen = { 0 };
	enum cass_rc rc;
	json_t *r;

	(void)argv;
	if (argc > 1)
		return op_result(x, OPEXIT_USAGE, NULL, "status takes no arguments");
	r = cass_report(x->cfg, &x->popts, &seen, &rc);
	cass_seen_release(&seen);
	if (rc == CASS_OK || rc == CASS_FAILED)
		return op_result(x, OPEXIT_OK, r, NULL);
	return op_result(x, op_exit_status(rc), r, "%s", json_string_value(
	    json_array_get(json_object_get(r, "errors"), 0)));
}

static int op_nodetool_check(struct opctx *x, int argc, char **argv)
{
	struct nodetool_version *v = NULL;
	char err[1024];
	int64_t t0 = time_mono_ms();
	enum cass_rc rc;
	json_t *d;

	(void)argv;
	if (argc > 1)
		return op_result(x, OPEXIT_USAGE, NULL, "nodetool-check takes no arguments");
	rc = cass_version(x->cfg, &x->popts, &v, err, sizeof(err));
	d = json_pack("{s:s, s:b, s:I}", "nodetool", x->cfg->nodetool,
	    "reachable", rc == CASS_OK || rc == CASS_UNPARSEABLE,
	    "elapsed_ms", (json_int_t)(time_mono_ms() - t0));
	if (v != NULL) {
		json_object_set_new(d, "release", json_string(v->release));
		json_object_set_new(d, "major", json_integer(v->major));
		json_object_set_new(d, "minor", json_integer(v->minor));
		json_object_set_new(d, "patch", json_integer(v->patch));
	}
	nodetool_version_free(v);
	if (rc != CASS_OK)
		return op_result(x, op_exit_status(rc), d, "%s", err);
	return op_result(x, OPEXIT_OK, d, NULL);
}

static const struct op ops[] = {
	{ "status", "", "the node as a heartbeat reports it (nodetool info, "
	  "status, version; disks)", op_status },
	{ "nodetool-check", "", "nodetool's version and whether it reaches "
	  "Cassandra", op_nodetool_check },
	{ "snapshot", "--tag T [--keyspace K... | --table ks.t...]", "take "
	  "snapshot T (all keyspaces by default), checked complete against "
	  "tablestats and retaken when partial; a complete existing T is "
	  "reported, not retaken", snapshot_op_take },
	{ "clear-snapshot", "--tag T [--keyspace K]...", "remove snapshot T; "
	  "succeeds when it is already gone", snapshot_op_clear },
	{ "list-snapshots", "", "snapshots on this node (nodetool "
	  "listsnapshots)", snapshot_op_list },
	{ "backup-upload", "--store URL --cluster C --backup-id ID --tag T ...",
	  "upload snapshot T with dedupe and resume, then the node manifest "
	  "(docs/backups.md)", backup_op_upload },
	{ "backup-restore", "--store URL --manifest KEY --mode M ...",
	  "restore a node manifest's files (M: check, download, load, restore "
	  "= all three pipelined, cleanup, info)", backup_op_restore },
	{ "backup-verify", "--store URL --manifest KEY [--download]",
	  "check every file of a node manifest is stored intact",
	  backup_op_verify },
	{ "repair", "[--keyspace K [--table T]...] [--segment I/N] ...",
	  "nodetool repair of this node's primary ranges, or of segment I "
	  "of N of them (docs/repair.md)", repair_op },
	{ "repair-ring", "", "the ring with dcs and racks and the keyspaces' "
	  "replication, for parallel repair (docs/repair.md)", repair_op_ring },
	{ "autorepair", "", "whether Cassandra runs its own auto-repair "
	  "(CEP-37), per repair type (docs/repair.md)", autorepair_op },
	{ "removenode", "--host-id H", "remove dead host H from the ring "
	  "through this node (refused while it is up), checked with nodetool "
	  "status", removenode_op },
	{ "assassinate", "--address A", "make gossip forget dead address A "
	  "(nodetool assassinate; refused while A is up), checked with "
	  "gossipinfo", gossip_op_assassinate },
	{ "gossip-check", "--address A [--round N]", "what this node's gossip and ring "
	  "hold of address A", gossip_op_check },
	{ "decommission", "", "nodetool decommission of this node, checked "
	  "with netstats until Cassandra says DECOMMISSIONED; a node already "
	  "leaving or gone is waited for or reported", scale_op_decommission },
	{ "cleanup", "[--keyspace K]...", "nodetool cleanup, per keyspace or "
	  "of every keyspace", scale_op_cleanup },
	{ "health", "[--nonce N] [--compactions] [--view]", "status's report "
	  "for health gates, with pending compactions on request; --view: "
	  "only the node's nodetool status (one JVM)",
	  rolling_op_health },
	{ "drain", "", "nodetool drain, checked with nodetool info (gossip "
	  "and native transport off)", rolling_op_drain },
	{ "stop", "", "cassandra_stop, then wait until nodetool no longer "
	  "reaches Cassandra", rolling_op_stop },
	{ "start", "[--expect-version V]", "cassandra_start, then wait until "
	  "nodetool info shows gossip and native transport on",
	  rolling_op_start },
	{ "upgrade", "--version V", "run upgrade_command for version V while "
	  "Cassandra is stopped", rolling_op_upgrade },
	{ "upgradesstables", "", "nodetool upgradesstables",
	  rolling_op_upgradesstables },
	{ "keyspaces", "", "keyspaces and their replication (nodetool "
	  "describecluster)", rolling_op_keyspaces },
	{ "config-apply", "[--yaml KEY=VALUE]... [--jvm OPT]...", "validated "
	  "cassandra.yaml keys and JVM options, a backup of each file "
	  "changed; nothing changed when one is invalid",
	  rolling_op_config_apply },
};

/* How long an op waits for its credentials line on stdin. */
#define SECRETS_WAIT_MS 10000

int op_secrets_read(int fd, int64_t timeout_ms, struct creds_secrets *s,
    char *err, size_t errlen)
{
	char *buf = xmalloc(CREDS_LINE_MAX);
	int64_t until = time_mono_ms() + timeout_ms;
	size_t n = 0;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int64_t left = until - time_mono_ms();
		ssize_t r;

		if (left <= 0) {
			snprintf(err, errlen, "no credentials line on stdin "
			    "within %lld s (--secrets-stdin)",
			    (long long)(timeout_ms / 1000));
			goto out;
		}
		if (poll(&pf, 1, (int)(left > 1000 ? 1000 : left)) < 0 &&
		    errno != EINTR) {
			snprintf(err, errlen, "cannot wait for stdin: %s",
			    strerror(errno));
			goto out;
		}
		if (!(pf.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = read(fd, buf + n, 1);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0 || buf[n] == '\n')
			break;
		if (++n >= CREDS_LINE_MAX - 1) {
			snprintf(err, errlen, "the credentials line on stdin is "
			    "longer than %d bytes", CREDS_LINE_MAX - 1);
			goto out;
		}
	}
	rc = creds_secrets_parse(buf, n, s, err, errlen);
out:
	explicit_bzero(buf, CREDS_LINE_MAX);
	free(buf);
	return rc;
}

bool ops_known(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (strcmp(ops[i].name, name) == 0)
			return true;
	return false;
}

void ops_usage(FILE *fp)
{
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		fprintf(fp, "  %-15s %-28s %s\n", ops[i].name, ops[i].args,
		    ops[i].help);
}

int ops_main(const char *conf_path, int argc, char **argv)
{
	struct opctx x;
	const struct op *op = NULL;
	char err[1024];
	struct sigaction sa;
	pthread_t watcher;
	int status, n = 0;
	bool secrets = false;
	char **av;

	memset(&x, 0, sizeof(x));
	x.op = argv[0];
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (strcmp(ops[i].name, argv[0]) == 0)
			op = &ops[i];
	/* --json may come anywhere; strip it before the op parses. */
	av = xcalloc((size_t)argc + 1, sizeof(char *));
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			x.json = true;
		else if (strcmp(argv[i], "--secrets-stdin") == 0)
			secrets = true;
		else
			av[n++] = argv[i];
	}
	if (op == NULL) {
		status = op_result(&x, OPEXIT_USAGE, NULL, "unknown operation "
		    "'%s'; 'ringagent --help' lists them", argv[0]);
		free(av);
		return status;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	as_job = getenv(JOB_ENV) != NULL;
	if (as_job)
		signal(SIGHUP, SIG_IGN);
	else
		sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (conf_path == NULL)
		conf_path = getenv("RINGAGENT_CONF");
	if (conf_path == NULL || *conf_path == '\0')
		conf_path = AGENTCFG_DEFAULT_PATH;
	if ((x.cfg = agentcfg_load(conf_path, err, sizeof(err))) == NULL) {
		status = op_result(&x, OPEXIT_CONFIG, NULL, "%s", err);
		free(av);
		return status;
	}
	if (secrets) {
		struct creds_secrets sc;
		/* Before the stdin watcher starts and before any thread can
		 * open a store: creds_given_set() is not thread-safe. */
		if (op_secrets_read(0, SECRETS_WAIT_MS, &sc, err,
		    sizeof(err)) != 0) {
			status = op_result(&x, OPEXIT_USAGE, NULL, "%s", err);
			agentcfg_free(x.cfg);
			free(av);
			return status;
		}
		creds_given_set(&sc);
		creds_secrets_release(&sc);
	}
	proc_opts_init(&x.popts, 0);
	x.popts.cancel = proc_cancel;
	x.popts.hup_fd = as_job ? -1 : 1;
	/* A thread, not proc_run's poll: backup's workers run no command. */
	if (!as_job && !isatty(0) &&
	    pthread_create(&watcher, NULL, stdin_watch, NULL) == 0)
		pthread_detach(watcher);
	status = op->run(&x, n, av);
	creds_given_set(NULL);
	agentcfg_free(x.cfg);
	free(av);
	return status;
}

/* ---- long nodetool commands (ops.h) ------------------------------------ */

#define LONGRUN_PROGRESS_MS	10000

/* The op's own cancel wrapped, to say every 10 s that it still runs. */
struct longrun {
	struct opctx *x;
	const struct proc_opts *base;
	const char *what;
	int64_t started, said;
};

static bool longrun_tick(void *arg, bool *stop_watching)
{
	struct longrun *l = arg;
	int64_t now = time_mono_ms();

	if (stop_watching == NULL && now - l->said >= LONGRUN_PROGRESS_MS) {
		l->said = now;
		op_progress(l->x, json_pack("{s:s,s:I}", "phase", l->what,
		    "seconds", (json_int_t)((now - l->started) / 1000)),
		    "%s: %lld s so far", l->what,
		    (long long)((now - l->started) / 1000));
	}
	return l->base->cancel != NULL && l->base->cancel(l->base->arg,
	    stop_watching);
}

int op_run_long(struct opctx *x, const char *const *argv, const char *what,
    const char *cancel_hint, char *err, size_t errlen)
{
	const struct agentcfg *c = op_conf(x);
	struct proc_opts po = *op_proc_opts(x);
	struct longrun l = { x, op_proc_opts(x), what, time_mono_ms(),
	    time_mono_ms() };
	struct proc_result r;
	char why[512], *all, *msg;
	int status = OPEXIT_OK;

	po.timeout_ms = 0;
	po.on_line = NULL;
	po.cancel = longrun_tick;
	po.arg = &l;
	if (proc_run(argv, &po, &r, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s; check the 'nodetool' key in %s", why,
		    c->path);
		return OPEXIT_UNREACHABLE;
	}
	if (r.cancelled || op_cancelled(x)) {
		snprintf(err, errlen, "cancelled; %s", cancel_hint);
		proc_result_release(&r);
		return OPEXIT_CANCELLED;
	}
	if (r.status != 0) {
		all = xasprintf("%s%s", r.out, r.err);
		msg = nodetool_error_message(all, NULL);
		proc_describe(&r, 0, why, sizeof(why));
		snprintf(err, errlen, "%s: %s", why, msg ? msg : "no message");
		status = msg != NULL && (strstr(msg, "Failed to connect") ||
		    strstr(msg, "ConnectException")) ? OPEXIT_UNREACHABLE :
		    OPEXIT_FAILED;
		free(msg);
		free(all);
	}
	proc_result_release(&r);
	return status;
}
