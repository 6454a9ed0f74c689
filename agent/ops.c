/*
 * ops.c - see ops.h.  Operations live in one table (name, usage, help,
 * function); each parses its own options, reports through op_progress()
 * and returns through op_result(), which prints the one result line and
 * gives the exit status.  To add an operation, write op_x() (here, or in
 * its own module as backup.c and repair.c do) and add a row.
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
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/util.h"
#include "agentcfg.h"
#include "backup.h"
#include "cass.h"
#include "datadir.h"
#include "job.h"
#include "nodetool.h"
#include "proc.h"
#include "repair.h"

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
	case OPS_EXIT_OK:
		return "ok";
	case OPS_EXIT_USAGE:
		return "usage";
	case OPS_EXIT_UNREACHABLE:
		return "nodetool_unreachable";
	case OPS_EXIT_UNPARSEABLE:
		return "nodetool_unparseable";
	case OPS_EXIT_CONFIG:
		return "config";
	case OPS_EXIT_CANCELLED:
		return "cancelled";
	default:
		return "failed";
	}
}

int op_result(struct opctx *x, int status, json_t *data, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	if (status != OPS_EXIT_OK && op_cancelled(x))
		status = OPS_EXIT_CANCELLED;
	if (fmt != NULL) {
		va_start(ap, fmt);
		msg = xvasprintf(fmt, ap);
		va_end(ap);
	}
	if (x->json) {
		json_t *j = json_pack("{s:s, s:s, s:b, s:i}", "type", "result",
		    "op", x->op, "ok", status == OPS_EXIT_OK, "exit", status);
		if (status != OPS_EXIT_OK)
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
		if (status != OPS_EXIT_OK)
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

static int rc_status(enum cass_rc rc)
{
	switch (rc) {
	case CASS_OK:
		return OPS_EXIT_OK;
	case CASS_UNREACHABLE:
		return OPS_EXIT_UNREACHABLE;
	case CASS_UNPARSEABLE:
		return OPS_EXIT_UNPARSEABLE;
	case CASS_CANCELLED:
		return OPS_EXIT_CANCELLED;
	case CASS_FAILED:
		break;
	}
	return OPS_EXIT_FAILED;
}

/* ---- snapshot directories ---- */

struct snapscan {
	json_int_t tables, files, bytes;
	json_t *keyspaces;		/* names that hold the tag */
	/* the walk's keyspace (in one data dir), and whether it is listed */
	size_t cur_root;
	char *cur_ks;
	bool cur_listed;
	/* what is asked: snapscan() */
	const char *tag;
	char *const *ks;
	size_t nks;
};

static bool in_list(const char *s, char *const *list, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static int count_file(const struct datadir_file *f, void *arg)
{
	struct snapscan *s = arg;

	s->files++;
	s->bytes += (json_int_t)f->st->st_size;
	return 0;
}

/* Count snapshot directory sdir of table t: its files and bytes, the
 * table, and t's keyspace once per data dir. */
static void scan_tag_dir(const struct datadir_table *t, const char *sdir,
    struct snapscan *s)
{
	if (s->cur_ks == NULL || s->cur_root != t->root_index ||
	    strcmp(s->cur_ks, t->keyspace) != 0) {
		free(s->cur_ks);
		s->cur_ks = xstrdup(t->keyspace);
		s->cur_root = t->root_index;
		s->cur_listed = false;
	}
	s->tables++;
	datadir_files(sdir, 0, count_file, s, NULL);
	if (!s->cur_listed) {
		json_array_append_new(s->keyspaces, json_string(t->keyspace));
		s->cur_listed = true;
	}
}

static void snapscan_init(struct snapscan *s)
{
	memset(s, 0, sizeof(*s));
	s->keyspaces = json_array();
}

/* What a walk leaves behind but the counts and the keyspaces. */
static void snapscan_done(struct snapscan *s)
{
	free(s->cur_ks);
	s->cur_ks = NULL;
}

static int snapscan_table(const struct datadir_table *t, void *arg)
{
	struct snapscan *s = arg;
	char *sdir;

	if (!in_list(t->keyspace, s->ks, s->nks))
		return 0;
	if ((sdir = datadir_snapshot_dir(t, s->tag)) != NULL)
		scan_tag_dir(t, sdir, s);
	free(sdir);
	return 0;
}

/* Walk data/<ks>/<table>/snapshots/<tag> in every data dir. */
static void snapscan(const struct agentcfg *c, const char *tag, char *const *ks,
    size_t nks, struct snapscan *s)
{
	snapscan_init(s);
	s->tag = tag;
	s->ks = ks;
	s->nks = nks;
	datadir_walk(c->data_dirs, c->n_data_dirs, NULL, 0, snapscan_table, s);
	snapscan_done(s);
}

static json_t *snapscan_json(const char *tag, struct snapscan *s)
{
	return json_pack("{s:s, s:o, s:I, s:I, s:I}", "tag", tag,
	    "keyspaces", s->keyspaces, "tables", s->tables, "files", s->files,
	    "bytes", s->bytes);
}

static bool tag_valid(const char *t)
{
	if (t == NULL || *t == '\0' || strlen(t) > 128 || *t == '.')
		return false;
	for (; *t; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
		    (*t >= '0' && *t <= '9') || strchr("-_.", *t)))
			return false;
	return true;
}

/* ---- operations ---- */

static int op_status(struct opctx *x, int argc, char **argv)
{
	enum cass_rc rc;
	json_t *r;

	(void)argv;
	if (argc > 1)
		return op_result(x, OPS_EXIT_USAGE, NULL, "status takes no arguments");
	r = cass_report(x->cfg, &x->popts, &rc);
	if (rc == CASS_OK || rc == CASS_FAILED)
		return op_result(x, OPS_EXIT_OK, r, NULL);
	return op_result(x, rc_status(rc), r, "%s", json_string_value(
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
		return op_result(x, OPS_EXIT_USAGE, NULL, "nodetool-check takes no arguments");
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
		return op_result(x, rc_status(rc), d, "%s", err);
	return op_result(x, OPS_EXIT_OK, d, NULL);
}

/*
 * Options shared by snapshot and clear-snapshot: --tag, --keyspace and
 * --table ks.t (repeatable; snapshot only, and not mixed with --keyspace,
 * as nodetool's -kt cannot be).
 */
struct snapargs {
	const char *tag;
	char *ks[64];
	size_t nks;
	char *tables[64];
	size_t ntables;
};

static int parse_snapargs(struct opctx *x, int argc, char **argv,
    struct snapargs *a, char *err, size_t errlen)
{
	static const struct option lo[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "keyspace", required_argument, NULL, 'k' },
		{ "table", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	(void)x;
	memset(a, 0, sizeof(*a));
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+t:k:T:", lo, NULL)) != -1) {
		switch (ch) {
		case 't':
			a->tag = optarg;
			break;
		case 'k':
			if (a->nks == ARRAY_SIZE(a->ks) || !name_valid(optarg)) {
				snprintf(err, errlen, "keyspace '%s' is not a valid name", optarg);
				return -1;
			}
			a->ks[a->nks++] = optarg;
			break;
		case 'T': {
			char *dot = strchr(optarg, '.');
			bool ok = dot != NULL && a->ntables < ARRAY_SIZE(a->tables);
			if (ok) {
				*dot = '\0';
				ok = name_valid(optarg) && name_valid(dot + 1);
				*dot = '.';
			}
			if (!ok) {
				snprintf(err, errlen, "table '%s' is not keyspace.table",
				    optarg);
				return -1;
			}
			a->tables[a->ntables++] = optarg;
			break;
		}
		default:
			snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!tag_valid(a->tag)) {
		snprintf(err, errlen, "--tag is required: letters, digits, '-', '_', '.'");
		return -1;
	}
	if (a->nks > 0 && a->ntables > 0) {
		snprintf(err, errlen, "--keyspace and --table cannot be mixed "
		    "(nodetool snapshot takes keyspaces or -kt, not both)");
		return -1;
	}
	return 0;
}

/* ---- snapshot completeness ---- */

/* How often a partial or failed snapshot is cleared and taken again. */
#define SNAPSHOT_ATTEMPTS 3

/* True when ks.table was asked for (nothing asked: everything). */
static bool snap_wanted(const struct snapargs *a, const char *ks,
    const char *table)
{
	char kt[300];

	if (a->ntables == 0)
		return in_list(ks, a->ks, a->nks);
	snprintf(kt, sizeof(kt), "%s.%s", ks, table);
	return in_list(kt, a->tables, a->ntables);
}

/*
 * A table's snapshots/<tag>/ is complete when its manifest.json parses
 * and every file it lists (Data.db files, index ones as ".<index>/...")
 * is there.  Cassandra writes manifest.json last for each table.
 */
static bool snap_dir_complete(const char *sdir)
{
	char *mp = xasprintf("%s/manifest.json", sdir);
	json_t *m = json_load_file(mp, 0, NULL), *files, *v;
	bool ok;
	size_t i;

	free(mp);
	files = json_object_get(m, "files");
	ok = json_is_array(files);
	json_array_foreach(files, i, v) {
		const char *f = json_string_value(v);
		struct stat st;
		if (f == NULL || *f == '/' || strstr(f, "..") != NULL) {
			ok = false;
			break;
		}
		char *p = xasprintf("%s/%s", sdir, f);
		ok = ok && stat(p, &st) == 0 && S_ISREG(st.st_mode);
		free(p);
	}
	json_decref(m);
	return ok;
}

struct snaptables {
	const struct snapargs *a;
	json_t *done, *partial;
	struct snapscan *s;
};

static int snap_table(const struct datadir_table *t, void *arg)
{
	struct snaptables *w = arg;
	char *sdir, *kt;

	if (!snap_wanted(w->a, t->keyspace, t->table) ||
	    (sdir = datadir_snapshot_dir(t, w->a->tag)) == NULL)
		return 0;
	kt = xasprintf("%s.%s", t->keyspace, t->table);
	if (snap_dir_complete(sdir)) {
		json_object_set_new(w->done, kt, json_true());
		scan_tag_dir(t, sdir, w->s);
	} else {
		json_object_set_new(w->partial, kt, json_true());
	}
	free(kt);
	free(sdir);
	return 0;
}

/*
 * The tables that hold snapshot tag, in every data dir: complete ones as
 * "ks.table" keys of *done (with totals in *s), incomplete ones in *partial.
 */
static void snap_tables(const struct agentcfg *c, const struct snapargs *a,
    json_t *done, json_t *partial, struct snapscan *s)
{
	struct snaptables w = { a, done, partial, s };

	snapscan_init(s);
	datadir_walk(c->data_dirs, c->n_data_dirs, NULL, 0, snap_table, &w);
	snapscan_done(s);
}

/*
 * The node's live tables for what was asked, as Cassandra sees them
 * (`nodetool tablestats`): dropped tables whose directories stay on disk
 * are not in it, and index tables are not snapshotted on their own.
 */
static enum cass_rc snap_expected(struct opctx *x, const struct snapargs *a,
    json_t *out, char *err, size_t errlen)
{
	const char *names[140];
	struct nodetool_tablestats *ts = NULL;
	size_t n = 0;
	enum cass_rc rc;

	for (size_t i = 0; i < a->nks; i++)
		names[n++] = a->ks[i];
	for (size_t i = 0; i < a->ntables; i++)
		names[n++] = a->tables[i];
	rc = cass_tablestats(x->cfg, &x->popts, names, n, &ts, err, errlen);
	if (rc != CASS_OK)
		return rc;
	for (size_t i = 0; i < ts->n_tables; i++) {
		if (ts->tables[i].index)
			continue;
		char *kt = xasprintf("%s.%s", ts->tables[i].keyspace,
		    ts->tables[i].table);
		json_object_set_new(out, kt, json_true());
		free(kt);
	}
	nodetool_tablestats_free(ts);
	return CASS_OK;
}

/* "ks.a, ks.b and 3 more" of the keys of want missing from have. */
static size_t snap_missing(json_t *want, json_t *have, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t n = 0, off = 0;

	buf[0] = '\0';
	json_object_foreach(want, k, v) {
		if (json_object_get(have, k) != NULL)
			continue;
		if (n < 8 && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    n ? ", " : "", k);
		n++;
	}
	if (n > 8 && off < len)
		snprintf(buf + off, len - off, " and %zu more", n - 8);
	return n;
}

static enum cass_rc snap_run(struct opctx *x, const struct snapargs *a,
    bool clear, char *err, size_t errlen)
{
	const char *args[140];
	char *out = NULL, kt[4096];
	size_t n = 0, off = 0;
	enum cass_rc rc;

	args[n++] = clear ? "clearsnapshot" : "snapshot";
	args[n++] = "-t";
	args[n++] = a->tag;
	if (a->ntables > 0 && !clear) {
		for (size_t i = 0; i < a->ntables && off < sizeof(kt); i++)
			off += (size_t)snprintf(kt + off, sizeof(kt) - off, "%s%s",
			    i ? "," : "", a->tables[i]);
		args[n++] = "-kt";
		args[n++] = kt;
	} else if (a->ntables > 0) {
		/* clearsnapshot takes keyspaces: those of the tables */
		for (size_t i = 0; i < a->ntables; i++) {
			char *ks = xstrndup(a->tables[i], (size_t)(strchr(
			    a->tables[i], '.') - a->tables[i]));
			bool dup = false;
			for (size_t k = 3; k < n && !dup; k++)
				dup = strcmp(args[k], ks) == 0;
			if (dup)
				free(ks);
			else
				args[n++] = ks;
		}
	} else {
		for (size_t i = 0; i < a->nks; i++)
			args[n++] = a->ks[i];
	}
	args[n] = NULL;
	rc = cass_nodetool(x->cfg, args, &x->popts, &out, err, errlen);
	if (clear && a->ntables > 0)
		for (size_t k = 3; k < n; k++)
			free((char *)(uintptr_t)args[k]);
	free(out);
	return rc;
}

/*
 * snapshot: take it, then check it against the node's schema, because
 * nodetool snapshot can fail (or be killed) after snapshotting some tables
 * and an existing snapshots/<tag> directory proves nothing about the rest.
 * A partial snapshot is cleared and taken again, SNAPSHOT_ATTEMPTS times
 * at most; still partial, it is cleared and the op fails naming the
 * missing tables.  An existing tag is accepted only when complete.
 */
static int op_snapshot(struct opctx *x, int argc, char **argv)
{
	struct snapargs a;
	struct snapscan s;
	char err[1024], lasterr[1024] = "", missing[1024];
	json_t *want = NULL, *want2 = NULL, *done = NULL, *partial = NULL;
	bool took = false;
	int attempt, status;
	size_t nmiss = 0;
	enum cass_rc rc;

	memset(&s, 0, sizeof(s));
	if (parse_snapargs(x, argc, argv, &a, err, sizeof(err)) != 0)
		return op_result(x, OPS_EXIT_USAGE, NULL, "%s", err);
	for (attempt = 1; attempt <= SNAPSHOT_ATTEMPTS; attempt++) {
		json_decref(want);
		json_decref(done);
		json_decref(partial);
		json_decref(s.keyspaces);
		s.keyspaces = NULL;
		want = json_object();
		done = json_object();
		partial = json_object();
		if ((rc = snap_expected(x, &a, want, err, sizeof(err))) != CASS_OK)
			return op_result(x, rc_status(rc), NULL, "%s", err);
		snap_tables(x->cfg, &a, done, partial, &s);
		bool exists = json_object_size(done) + json_object_size(partial) > 0;
		if (!exists) {
			op_progress(x, NULL, "taking snapshot '%s' of %s (attempt %d)",
			    a.tag, a.ntables ? "the given tables" : a.nks ?
			    "the given keyspaces" : "all keyspaces", attempt);
			took = true;
			rc = snap_run(x, &a, false, err, sizeof(err));
			if (rc == CASS_UNREACHABLE || rc == CASS_CANCELLED) {
				status = op_result(x, rc_status(rc), NULL, "%s", err);
				goto out;
			}
			if (rc != CASS_OK)
				str_copy(lasterr, err, sizeof(lasterr));
			/* Tables dropped meanwhile are not expected. */
			want2 = json_object();
			if ((rc = snap_expected(x, &a, want2, err, sizeof(err))) !=
			    CASS_OK) {
				status = op_result(x, rc_status(rc), NULL, "%s", err);
				goto out;
			}
			const char *k;
			json_t *v;
			void *tmp;
			json_object_foreach_safe(want, tmp, k, v)
				if (json_object_get(want2, k) == NULL)
					json_object_del(want, k);
			json_decref(want2);
			want2 = NULL;
			json_object_clear(done);
			json_object_clear(partial);
			json_decref(s.keyspaces);
			snap_tables(x->cfg, &a, done, partial, &s);
		}
		nmiss = snap_missing(want, done, missing, sizeof(missing));
		if (nmiss == 0 && json_object_size(done) > 0)
			break;
		if (nmiss == 0) {
			snprintf(missing, sizeof(missing), "every table (no snapshots/%s "
			    "directory was written)", a.tag);
			nmiss = 1;
		}
		op_progress(x, json_pack("{s:I, s:I}", "tables_missing",
		    (json_int_t)nmiss, "attempt", (json_int_t)attempt),
		    "snapshot '%s' is incomplete: %zu tables missing (%s)%s%s; "
		    "clearing it%s", a.tag, nmiss, missing, lasterr[0] ?
		    "; nodetool said: " : "", lasterr, attempt < SNAPSHOT_ATTEMPTS ?
		    " and taking it again" : "");
		rc = snap_run(x, &a, true, err, sizeof(err));
		if (rc != CASS_OK) {
			status = op_result(x, rc_status(rc), NULL, "snapshot '%s' is "
			    "incomplete (missing %s) and clearing it failed: %s",
			    a.tag, missing, err);
			goto out;
		}
	}
	if (attempt > SNAPSHOT_ATTEMPTS) {
		status = op_result(x, OPS_EXIT_FAILED, json_pack("{s:s, s:I}", "tag",
		    a.tag, "tables_missing", (json_int_t)nmiss), "snapshot '%s' is "
		    "still incomplete after %d attempts, missing %zu tables: %s%s%s; "
		    "the partial snapshot was cleared; look at Cassandra's "
		    "system.log", a.tag, SNAPSHOT_ATTEMPTS, nmiss, missing,
		    lasterr[0] ? "; nodetool said: " : "", lasterr);
		goto out;
	}
	{
		json_t *names = json_array(), *d;
		const char *k;
		json_t *v;
		json_object_foreach(done, k, v)
			json_array_append_new(names, json_string(k));
		d = snapscan_json(a.tag, &s);
		s.keyspaces = NULL;
		json_object_set_new(d, "already", json_boolean(!took));
		json_object_set_new(d, "attempts", json_integer(attempt));
		json_object_set_new(d, "table_names", names);
		op_progress(x, NULL, "snapshot '%s'%s: %lld tables, %lld files, all "
		    "%zu tables Cassandra lists", a.tag, took ? "" :
		    " already exists and is complete",
		    (long long)json_integer_value(json_object_get(d, "tables")),
		    (long long)json_integer_value(json_object_get(d, "files")),
		    json_object_size(want));
		status = op_result(x, OPS_EXIT_OK, d, NULL);
	}
out:
	json_decref(s.keyspaces);
	json_decref(want);
	json_decref(done);
	json_decref(partial);
	return status;
}

static int op_clear_snapshot(struct opctx *x, int argc, char **argv)
{
	struct snapargs a;
	struct snapscan s;
	const char *args[80];
	char err[1024], *out = NULL;
	size_t n = 0;
	enum cass_rc rc;
	json_int_t before;

	if (parse_snapargs(x, argc, argv, &a, err, sizeof(err)) != 0)
		return op_result(x, OPS_EXIT_USAGE, NULL, "%s", err);
	snapscan(x->cfg, a.tag, a.ks, a.nks, &s);
	before = s.tables;
	json_decref(s.keyspaces);
	op_progress(x, NULL, "clearing snapshot '%s' (%lld tables)", a.tag, (long long)before);
	args[n++] = "clearsnapshot";
	args[n++] = "-t";
	args[n++] = a.tag;
	for (size_t i = 0; i < a.nks; i++)
		args[n++] = a.ks[i];
	args[n] = NULL;
	rc = cass_nodetool(x->cfg, args, &x->popts, &out, err, sizeof(err));
	free(out);
	if (rc != CASS_OK)
		return op_result(x, rc_status(rc), NULL, "%s", err);
	snapscan(x->cfg, a.tag, a.ks, a.nks, &s);
	if (s.tables > 0) {
		json_t *d = snapscan_json(a.tag, &s);
		return op_result(x, OPS_EXIT_FAILED, d, "nodetool clearsnapshot "
		    "succeeded but %lld snapshots/%s directories remain",
		    (long long)json_integer_value(json_object_get(d, "tables")), a.tag);
	}
	json_decref(s.keyspaces);
	return op_result(x, OPS_EXIT_OK, json_pack("{s:s, s:I}", "tag", a.tag,
	    "cleared_tables", before), NULL);
}

static int op_list_snapshots(struct opctx *x, int argc, char **argv)
{
	const char *args[] = { "listsnapshots", NULL };
	struct nodetool_listsnapshots *ls = NULL;
	char err[1024], *out = NULL;
	enum cass_rc rc;

	(void)argv;
	if (argc > 1)
		return op_result(x, OPS_EXIT_USAGE, NULL, "list-snapshots takes no arguments");
	rc = cass_nodetool(x->cfg, args, &x->popts, &out, err, sizeof(err));
	if (rc != CASS_OK)
		return op_result(x, rc_status(rc), NULL, "%s", err);
	if (nodetool_parse_listsnapshots(out, strlen(out), &ls, err, sizeof(err)) != 0) {
		free(out);
		return op_result(x, OPS_EXIT_UNPARSEABLE, NULL, "%s", err);
	}
	free(out);
	json_t *d = nodetool_listsnapshots_json(ls);
	nodetool_listsnapshots_free(ls);
	return op_result(x, OPS_EXIT_OK, d, NULL);
}

static const struct op ops[] = {
	{ "status", "", "the node as a heartbeat reports it (nodetool info, "
	  "status, version; disks)", op_status },
	{ "nodetool-check", "", "nodetool's version and whether it reaches "
	  "Cassandra", op_nodetool_check },
	{ "snapshot", "--tag T [--keyspace K... | --table ks.t...]", "take "
	  "snapshot T (all keyspaces by default), checked complete against "
	  "tablestats and retaken when partial; a complete existing T is "
	  "reported, not retaken", op_snapshot },
	{ "clear-snapshot", "--tag T [--keyspace K]...", "remove snapshot T; "
	  "succeeds when it is already gone", op_clear_snapshot },
	{ "list-snapshots", "", "snapshots on this node (nodetool "
	  "listsnapshots)", op_list_snapshots },
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
};

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
		else
			av[n++] = argv[i];
	}
	if (op == NULL) {
		status = op_result(&x, OPS_EXIT_USAGE, NULL, "unknown operation "
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
		status = op_result(&x, OPS_EXIT_CONFIG, NULL, "%s", err);
		free(av);
		return status;
	}
	proc_opts_init(&x.popts, 0);
	x.popts.cancel = proc_cancel;
	x.popts.hup_fd = as_job ? -1 : 1;
	/* A thread, not proc_run's poll: backup's workers run no command. */
	if (!as_job && !isatty(0) &&
	    pthread_create(&watcher, NULL, stdin_watch, NULL) == 0)
		pthread_detach(watcher);
	status = op->run(&x, n, av);
	agentcfg_free(x.cfg);
	free(av);
	return status;
}
