/*
 * snapshot.c - see snapshot.h.
 *
 * A snapshot is complete when every table Cassandra lists (tablestats) has
 * a snapshots/<tag>/ whose manifest.json names only files that are there;
 * the data directories are read with datadir.h's walk.
 */
#include "snapshot.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "../common/util.h"
#include "agentcfg.h"
#include "cass.h"
#include "datadir.h"
#include "nodetool.h"
#include "ops.h"
#include "proc.h"

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
	rc = cass_tablestats(op_conf(x), op_proc_opts(x), names, n, &ts, err, errlen);
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
	rc = cass_nodetool(op_conf(x), args, op_proc_opts(x), &out, err, errlen);
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
int snapshot_op_take(struct opctx *x, int argc, char **argv)
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
		return op_result(x, OPEXIT_USAGE, NULL, "%s", err);
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
			return op_result(x, op_exit_status(rc), NULL, "%s", err);
		snap_tables(op_conf(x), &a, done, partial, &s);
		bool exists = json_object_size(done) + json_object_size(partial) > 0;
		if (!exists) {
			op_progress(x, NULL, "taking snapshot '%s' of %s (attempt %d)",
			    a.tag, a.ntables ? "the given tables" : a.nks ?
			    "the given keyspaces" : "all keyspaces", attempt);
			took = true;
			rc = snap_run(x, &a, false, err, sizeof(err));
			if (rc == CASS_UNREACHABLE || rc == CASS_CANCELLED) {
				status = op_result(x, op_exit_status(rc), NULL, "%s", err);
				goto out;
			}
			if (rc != CASS_OK)
				str_copy(lasterr, err, sizeof(lasterr));
			/* Tables dropped meanwhile are not expected. */
			want2 = json_object();
			if ((rc = snap_expected(x, &a, want2, err, sizeof(err))) !=
			    CASS_OK) {
				status = op_result(x, op_exit_status(rc), NULL, "%s", err);
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
			snap_tables(op_conf(x), &a, done, partial, &s);
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
			status = op_result(x, op_exit_status(rc), NULL, "snapshot '%s' is "
			    "incomplete (missing %s) and clearing it failed: %s",
			    a.tag, missing, err);
			goto out;
		}
	}
	if (attempt > SNAPSHOT_ATTEMPTS) {
		status = op_result(x, OPEXIT_FAILED, json_pack("{s:s, s:I}", "tag",
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
		status = op_result(x, OPEXIT_OK, d, NULL);
	}
out:
	json_decref(s.keyspaces);
	json_decref(want);
	json_decref(done);
	json_decref(partial);
	return status;
}

int snapshot_op_clear(struct opctx *x, int argc, char **argv)
{
	struct snapargs a;
	struct snapscan s;
	const char *args[80];
	char err[1024], *out = NULL;
	size_t n = 0;
	enum cass_rc rc;
	json_int_t before;

	if (parse_snapargs(x, argc, argv, &a, err, sizeof(err)) != 0)
		return op_result(x, OPEXIT_USAGE, NULL, "%s", err);
	snapscan(op_conf(x), a.tag, a.ks, a.nks, &s);
	before = s.tables;
	json_decref(s.keyspaces);
	op_progress(x, NULL, "clearing snapshot '%s' (%lld tables)", a.tag, (long long)before);
	args[n++] = "clearsnapshot";
	args[n++] = "-t";
	args[n++] = a.tag;
	for (size_t i = 0; i < a.nks; i++)
		args[n++] = a.ks[i];
	args[n] = NULL;
	rc = cass_nodetool(op_conf(x), args, op_proc_opts(x), &out, err, sizeof(err));
	free(out);
	if (rc != CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "%s", err);
	snapscan(op_conf(x), a.tag, a.ks, a.nks, &s);
	if (s.tables > 0) {
		json_t *d = snapscan_json(a.tag, &s);
		return op_result(x, OPEXIT_FAILED, d, "nodetool clearsnapshot "
		    "succeeded but %lld snapshots/%s directories remain",
		    (long long)json_integer_value(json_object_get(d, "tables")), a.tag);
	}
	json_decref(s.keyspaces);
	return op_result(x, OPEXIT_OK, json_pack("{s:s, s:I}", "tag", a.tag,
	    "cleared_tables", before), NULL);
}

int snapshot_op_list(struct opctx *x, int argc, char **argv)
{
	const char *args[] = { "listsnapshots", NULL };
	struct nodetool_listsnapshots *ls = NULL;
	char err[1024], *out = NULL;
	enum cass_rc rc;

	(void)argv;
	if (argc > 1)
		return op_result(x, OPEXIT_USAGE, NULL, "list-snapshots takes no arguments");
	rc = cass_nodetool(op_conf(x), args, op_proc_opts(x), &out, err, sizeof(err));
	if (rc != CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "%s", err);
	if (nodetool_parse_listsnapshots(out, strlen(out), &ls, err, sizeof(err)) != 0) {
		free(out);
		return op_result(x, OPEXIT_UNPARSEABLE, NULL, "%s", err);
	}
	free(out);
	json_t *d = nodetool_listsnapshots_json(ls);
	nodetool_listsnapshots_free(ls);
	return op_result(x, OPEXIT_OK, d, NULL);
}
