/*
 * backup_restore.c - backup-restore: plan (map the backup's tables onto
 * the live ones), check space, download into staging, and the operation
 * itself; loading is backup_load.c.
 */
#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/http.h"
#include "../common/manifest.h"
#include "../common/md5.h"
#include "../common/s3.h"
#include "../common/sha256.h"
#include "../common/util.h"
#include "agentcfg.h"
#include "cass.h"
#include "nodetool.h"
#include "ops.h"
#include "proc.h"
#include "datadir.h"
#include "backup_int.h"

/* ---- restore ---- */

/*
 * Restore.  Files are staged outside the table directories, in
 *
 *   <data dir>/.rm-restore-<backup id>/<keyspace>/<table dir>/[.<index>/]<file>
 *
 * on the data dir (and so the file system) that holds the live table.
 * `nodetool import` takes keyspace and table from the last two components
 * of the path and skips a directory whose name starts with '.' (it takes
 * it for an index), so a staging directory inside the table directory is
 * silently ignored by Cassandra 4.x; this layout is the one it loads.
 *
 * A table is loaded only once Cassandra shows it: the staged SSTables were
 * moved out of the staging directory AND `nodetool tablestats` counts more
 * SSTables than before (or new Data.db files are in the live directory).
 * import exits 0 and prints nothing when it finds nothing to load, so its
 * exit status alone proves nothing.
 *
 * --mode restore pipelines: N workers download straight into staging
 * while one loader thread loads each table as soon as its last file is in
 * (nodetool runs one at a time: each starts a JVM).
 */

void backup_rs_fail(struct backup_rsjob *j, const char *msg)
{
	pthread_mutex_lock(&j->mtx);
	if (!j->failed) {
		j->failed = true;
		str_copy(j->err, msg, sizeof(j->err));
	}
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->mtx);
}

static bool rs_failed(struct backup_rsjob *j)
{
	pthread_mutex_lock(&j->mtx);
	bool f = j->failed;
	pthread_mutex_unlock(&j->mtx);
	return f;
}

/* The newest directory of one table name (find_table_dir()). */
struct tfind {
	char table[256];
	char *best;
	int64_t best_mtime;
	size_t root;
};

static int newest_table(const struct datadir_table *t, void *arg)
{
	struct tfind *w = arg;
	struct stat st;

	if (strcmp(t->table, w->table) != 0 || stat(t->path, &st) != 0 ||
	    st.st_mtim.tv_sec <= w->best_mtime)
		return 0;
	free(w->best);
	w->best = xstrdup(t->path);
	w->best_mtime = st.st_mtim.tv_sec;
	w->root = t->root_index;
	return 0;
}

/*
 * The live directory of keyspace ks, table of table_dir, on this node, and
 * in *root the index of the data dir that holds it.
 */
static char *find_table_dir(const struct agentcfg *c, const char *ks,
    const char *table_dir, size_t *root)
{
	struct tfind w = { .best_mtime = -1 };

	for (size_t i = 0; i < c->n_data_dirs; i++) {
		char *p = xasprintf("%s/data/%s/%s", c->data_dirs[i], ks, table_dir);
		struct stat st;
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			*root = i;
			return p;
		}
		free(p);
	}
	/* Another cluster (or a re-created table): same name, other id; the
	 * newest directory is the live one, older ones are dropped tables. */
	datadir_split_name(table_dir, w.table, sizeof(w.table), NULL);
	datadir_walk(c->data_dirs, c->n_data_dirs, ks, 0, newest_table, &w);
	if (w.best != NULL)
		*root = w.root;
	return w.best;
}

static char *staging_root(const struct agentcfg *c, size_t root,
    const char *backup_id)
{
	return xasprintf("%s/.rm-restore-%s", c->data_dirs[root], backup_id);
}

/* mkdir -p of a path under an existing directory. */
static int mkdirs(const char *path, char *err, size_t errlen)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", p,
			    strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	if (mkdir(p, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", p, strerror(errno));
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

/*
 * Remove a staging tree: directories and regular files only, never
 * following a symbolic link (a link is unlinked, not entered), at most
 * four levels (ks/table/.index/file).  Missing is fine.
 */
int backup_rm_tree(const char *path, int depth, char *err, size_t errlen)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) != 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot remove %s: %s", path,
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	if (depth > 4) {
		snprintf(err, errlen, "%s is deeper than a staging tree can be: "
		    "not removed", path);
		return -1;
	}
	if ((d = opendir(path)) == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *p = xasprintf("%s/%s", path, e->d_name);
		rc = backup_rm_tree(p, depth + 1, err, errlen);
		free(p);
	}
	closedir(d);
	if (rc == 0 && rmdir(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

/* Remove the staging tree of backup_id on every data dir (idempotent). */
static int rs_cleanup_trees(const struct agentcfg *c, const char *backup_id,
    json_t *removed, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n_data_dirs; i++) {
		char *root = staging_root(c, i, backup_id);
		struct stat st;
		bool had = lstat(root, &st) == 0;
		int rc = backup_rm_tree(root, 0, err, errlen);
		if (rc == 0 && had)
			json_array_append_new(removed, json_string(root));
		free(root);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* After a successful load: the trees go, the record of loaded tables stays. */
static int rs_cleanup_staging(const struct agentcfg *c, const char *backup_id,
    json_t *removed)
{
	char err[512];

	return rs_cleanup_trees(c, backup_id, removed, err, sizeof(err));
}

/* --mode cleanup: the trees and the record of loaded tables. */
static int rs_cleanup(const struct agentcfg *c, const char *backup_id,
    json_t *removed, char *err, size_t errlen)
{
	if (rs_cleanup_trees(c, backup_id, removed, err, errlen) != 0)
		return -1;
	if (c->state_dir != NULL) {
		char *pat = xasprintf("%s/restore-%s-*.loaded", c->state_dir,
		    backup_id);
		glob_t g;
		if (glob(pat, 0, NULL, &g) == 0)
			for (size_t i = 0; i < g.gl_pathc; i++)
				unlink(g.gl_pathv[i]);
		globfree(&g);
		free(pat);
	}
	return 0;
}

static bool staged_ok(const struct opctx *x, const struct backup_rsfile *r,
    unsigned char *buf)
{
	struct stat st;
	char sha[65], err[256];

	if (stat(r->staged, &st) != 0 || (uint64_t)st.st_size != r->f->size)
		return false;
	return backup_hash_file(x, r->staged, buf, sha, NULL, err, sizeof(err)) == 0 &&
	    strcmp(sha, r->f->sha256) == 0;
}

static void rs_table_staged(struct backup_rsjob *j, struct backup_rstable *t)
{
	size_t done = atomic_fetch_add(&t->staged, 1) + 1;

	if (done != t->nfiles || j->queue == NULL)
		return;
	pthread_mutex_lock(&j->mtx);
	if (!t->queued) {
		t->queued = true;
		j->queue[j->qtail++] = (size_t)(t - j->tables);
		pthread_cond_signal(&j->cond);
	}
	pthread_mutex_unlock(&j->mtx);
}

static void *restore_worker(void *arg)
{
	struct backup_rsjob *j = arg;
	unsigned char *buf = xmalloc(BUF_SIZE);
	char err[1024];

	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		struct backup_rsfile *r;
		struct s3_get_opts go;
		int rc;

		if (i >= j->n || op_cancelled(j->x) || rs_failed(j))
			break;
		r = &j->files[i];
		if (r->skip)
			continue;
		/* A table an earlier run loaded is not fetched again. */
		if (!r->have && !r->t->loaded_before && !staged_ok(j->x, r, buf)) {
			go.size = r->f->size;
			go.sha256 = r->f->sha256;
			go.md5 = NULL;
			rc = s3_get_file(j->s3, r->f->key, r->staged, &go, NULL,
			    err, sizeof(err));
			if (rc != 0) {
				char msg[1024];
				if (rc == S3_NOT_FOUND)
					snprintf(msg, sizeof(msg), "object %s is missing "
					    "from the store: the backup is damaged (run a "
					    "verify task, then restore with the damaged "
					    "objects excluded)", r->f->key);
				else
					str_copy(msg, err, sizeof(msg));
				backup_rs_fail(j, msg);
				break;
			}
			atomic_fetch_add(&j->bytes_fetched, r->f->size);
			atomic_fetch_add(&j->files_fetched, 1);
		}
		backup_meter_file_done(&j->meter, r->f->size);
		rs_table_staged(j, r->t);
		backup_meter_report(&j->meter, false, NULL, NULL);
	}
	free(buf);
	return NULL;
}

static int rs_download(struct backup_rsjob *j, int parallel, bool pipelined)
{
	pthread_t tids[64], loader;
	int nt = parallel < (int)j->n ? parallel : (int)j->n;
	char err[1024];

	/* Staging directories first: the workers only write files. */
	for (size_t i = 0; i < j->n; i++) {
		struct backup_rsfile *r = &j->files[i];
		if (r->skip || r->t->loaded_before)
			continue;
		char *dir = xstrndup(r->staged, (size_t)(strrchr(r->staged, '/') -
		    r->staged));
		int rc = mkdirs(dir, err, sizeof(err));
		free(dir);
		if (rc != 0) {
			backup_rs_fail(j, err);
			return -1;
		}
	}
	if (pipelined) {
		j->queue = xcalloc(j->ntables + 1, sizeof(size_t));
		/* Tables with nothing to download are ready now. */
		for (size_t k = 0; k < j->ntables; k++)
			if (j->tables[k].nfiles == 0) {
				j->tables[k].queued = true;
				j->queue[j->qtail++] = k;
			}
		if (pthread_create(&loader, NULL, backup_loader_thread, j) != 0)
			fatalx("cannot start the loader thread");
	}
	if (nt < 1)
		nt = 1;
	for (int i = 0; i < nt; i++)
		if (pthread_create(&tids[i], NULL, restore_worker, j) != 0)
			fatalx("cannot start a download thread");
	for (int i = 0; i < nt; i++)
		pthread_join(tids[i], NULL);
	backup_meter_report(&j->meter, true, NULL, NULL);
	if (pipelined) {
		pthread_mutex_lock(&j->mtx);
		j->downloads_over = true;
		pthread_cond_broadcast(&j->cond);
		pthread_mutex_unlock(&j->mtx);
		pthread_join(loader, NULL);
	}
	return j->failed || op_cancelled(j->x) ? -1 : 0;
}

/* Build the file and table lists of the restore; 0 or -1 with err. */
static int rs_plan(struct backup_rsjob *j, const struct backup_opts *o,
    const struct manifest_node *m, const struct manifest_keyset *exclude,
    json_t *skipped, char *err, size_t errlen)
{
	struct backup_rsfile *rs = xcalloc(m->nfiles + 1, sizeof(*rs));
	struct backup_rstable *tabs = xcalloc(m->nfiles + 1, sizeof(*tabs));
	size_t n = 0, nt = 0;

	j->files = rs;
	j->tables = tabs;
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f = &m->files[i];
		char *tname = manifest_table_name(f->table_dir);
		bool sel = (o->nks || o->ntables) ? backup_selected(o, f->keyspace, tname) :
		    !manifest_keyspace_is_system(f->keyspace);
		struct backup_rstable *t = NULL;

		free(tname);
		if (!sel)
			continue;
		for (size_t k = nt; k > 0 && t == NULL; k--)
			if (strcmp(tabs[k - 1].ks, f->keyspace) == 0 &&
			    strcmp(tabs[k - 1].src_dir, f->table_dir) == 0)
				t = &tabs[k - 1];
		if (t == NULL) {
			size_t root = 0;
			t = &tabs[nt];
			t->ks = f->keyspace;
			t->src_dir = f->table_dir;
			t->tname = manifest_table_name(f->table_dir);
			t->sst_before = t->sst_after = NODETOOL_UNKNOWN;
			t->tdir = find_table_dir(j->c, f->keyspace, f->table_dir,
			    &root);
			if (t->tdir == NULL) {
				snprintf(err, errlen, "table %s.%s does not exist on this "
				    "node: create the schema first (the backup's node "
				    "manifest %s holds each table's CREATE statement)",
				    f->keyspace, t->tname, o->manifest);
				free(t->tname);
				return -1;
			}
			char *sr = staging_root(j->c, root, j->backup_id);
			t->stage = xasprintf("%s/%s/%s", sr, f->keyspace,
			    strrchr(t->tdir, '/') + 1);
			free(sr);
			nt++;
			j->ntables = nt;
		}
		rs[n].f = f;
		rs[n].t = t;
		rs[n].staged = f->subdir ? xasprintf("%s/%s/%s", t->stage, f->subdir,
		    f->name) : xasprintf("%s/%s", t->stage, f->name);
		n++;
		j->n = n;
	}
	/*
	 * --exclude: a listed object is not downloaded, and neither are the
	 * other components of its SSTable, which Cassandra could not load
	 * without it.
	 */
	for (size_t i = 0; exclude != NULL && i < n; i++) {
		if (!manifest_keyset_has(exclude, rs[i].f->key))
			continue;
		const char *name = rs[i].f->name;
		size_t plen = manifest_sstable_prefix_len(name);

		if (plen == 0)
			plen = strlen(name) + 1;	/* itself only */
		for (size_t k = 0; k < n; k++) {
			const struct manifest_file *g = rs[k].f;
			if (rs[k].skip || rs[k].t != rs[i].t ||
			    strcmp(g->subdir ? g->subdir : "", rs[i].f->subdir ?
			    rs[i].f->subdir : "") != 0 ||
			    strncmp(g->name, name, plen) != 0)
				continue;
			rs[k].skip = true;
			json_array_append_new(skipped, json_pack("{s:s, s:s, s:s, s:s, "
			    "s:s}", "keyspace", g->keyspace, "table_dir", g->table_dir,
			    "name", g->name, "key", g->key, "why", k == i ||
			    manifest_keyset_has(exclude, g->key) ? "excluded" :
			    "component of an excluded SSTable"));
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct backup_rstable *t = rs[i].t;
		if (rs[i].skip) {
			t->nskipped++;
			continue;
		}
		t->nfiles++;
		t->bytes += rs[i].f->size;
		if (rs[i].f->subdir == NULL) {
			t->ntop++;
			t->ndata += str_ends_with(rs[i].f->name, "-Data.db");
		}
	}
	return 0;
}

static json_t *rs_tables_json(const struct backup_rsjob *j)
{
	json_t *a = json_array();

	for (size_t k = 0; k < j->ntables; k++) {
		const struct backup_rstable *t = &j->tables[k];
		json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}",
		    "keyspace", t->ks, "table", t->tname, "table_dir",
		    strrchr(t->tdir, '/') + 1, "files", (json_int_t)t->nfiles,
		    "files_skipped", (json_int_t)t->nskipped, "bytes",
		    (json_int_t)t->bytes, "state", t->state == 1 ? "loaded" :
		    t->state == 2 ? "already_loaded" : t->state < 0 ? "failed" :
		    "staged");
		json_object_set_new(o, "sstables_before", t->sst_before >= 0 ?
		    json_integer(t->sst_before) : json_null());
		json_object_set_new(o, "sstables_after", t->sst_after >= 0 ?
		    json_integer(t->sst_after) : json_null());
		json_array_append_new(a, o);
	}
	return a;
}

/* Read tablestats of every table before loading (one nodetool run). */
static int rs_before(struct backup_rsjob *j, char *err, size_t errlen)
{
	struct backup_rstable **v = xcalloc(j->ntables + 1, sizeof(*v));
	size_t n = 0;
	enum cass_rc rc;

	for (size_t k = 0; k < j->ntables; k++)
		if (j->tables[k].nfiles > 0)
			v[n++] = &j->tables[k];
	rc = n ? backup_rs_tablestats(j, v, n, &j->before, err, errlen) : CASS_OK;
	free(v);
	return rc == CASS_OK ? 0 : -1;
}

/* Cassandra's version (which loader) and every table's SSTables before. */
int backup_rs_prepare_load(struct backup_rsjob *j, char *err, size_t errlen)
{
	struct nodetool_version *v = NULL;

	if (cass_version(j->c, j->po, &v, err, errlen) != CASS_OK)
		return -1;
	j->major = v->major;
	nodetool_version_free(v);
	return rs_before(j, err, errlen);
}

int backup_op_restore(struct opctx *x, int argc, char **argv)
{
	struct backup_opts o;
	const struct agentcfg *c = op_conf(x);
	const struct proc_opts *po = op_proc_opts(x);
	struct s3 *s3 = NULL;
	struct manifest_node *m = NULL;
	struct manifest_keyset *exclude = NULL;
	struct backup_rsjob j;
	char err[1024];
	int status = OPEXIT_FAILED, rc;
	json_t *data = json_object(), *skipped = json_array();
	int64_t t0 = time_mono_ms();
	const char *mode;
	bool meter_on = false;

	memset(&j, 0, sizeof(j));
	pthread_mutex_init(&j.mtx, NULL);
	pthread_cond_init(&j.cond, NULL);
	j.x = x;
	j.c = c;
	j.po = po;
	if (backup_parse_opts(argc, argv, &o, err, sizeof(err)) != 0) {
		status = op_result(x, OPEXIT_USAGE, NULL, "%s", err);
		goto out;
	}
	mode = o.mode ? o.mode : "";
	if (strcmp(mode, "info") == 0) {
		/* This node's identity, for mapping a restore onto it. */
		struct manifest_node *id = manifest_node_new();
		json_t *toks = json_array();
		if (backup_node_identity(c, po, &o, id, err, sizeof(err)) != 0) {
			manifest_node_free(id);
			json_decref(toks);
			status = op_result(x, OPEXIT_UNREACHABLE, NULL, "%s", err);
			goto out;
		}
		for (size_t i = 0; i < id->ntokens; i++)
			json_array_append_new(toks, json_string(id->tokens[i]));
		status = op_result(x, OPEXIT_OK, json_pack("{s:s, s:s, s:s, s:o}",
		    "host_id", id->host_id, "dc", id->dc, "rack", id->rack,
		    "tokens", toks), NULL);
		manifest_node_free(id);
		goto out;
	}
	if (strcmp(mode, "cleanup") == 0 && o.backup_id != NULL &&
	    o.manifest == NULL) {
		/* Cleanup needs only the backup id: the store may be gone. */
		if (!manifest_backup_id_valid(o.backup_id)) {
			status = op_result(x, OPEXIT_USAGE, NULL, "--backup-id '%s' is "
			    "not a backup id", o.backup_id);
			goto out;
		}
		j.backup_id = o.backup_id;
	} else if (o.store == NULL || o.manifest == NULL ||
	    (strcmp(mode, "check") && strcmp(mode, "download") &&
	    strcmp(mode, "load") && strcmp(mode, "restore") &&
	    strcmp(mode, "cleanup"))) {
		status = op_result(x, OPEXIT_USAGE, NULL, "--store URL, --manifest "
		    "KEY and --mode check|download|load|restore|cleanup are required "
		    "(or --mode info alone, or --mode cleanup --backup-id ID)");
		goto out;
	}
	json_object_set_new(data, "mode", json_string(mode));
	http_global_init();
	if (j.backup_id == NULL) {
		if ((s3 = backup_open_store(&o, err, sizeof(err))) == NULL)
			goto fail;
		rc = backup_get_manifest(s3, o.manifest, &m, err, sizeof(err));
		if (rc == S3_NOT_FOUND)
			snprintf(err, sizeof(err), "node manifest %s not found",
			    o.manifest);
		if (rc != 0)
			goto fail;
		j.backup_id = m->backup_id;
		j.s3 = s3;
	}
	j.run_id = o.run_id;
	json_object_set_new(data, "backup_id", json_string(j.backup_id));
	if (strcmp(mode, "cleanup") == 0) {
		json_t *removed = json_array();
		if (rs_cleanup(c, j.backup_id, removed, err, sizeof(err)) != 0) {
			json_decref(removed);
			goto fail;
		}
		op_progress(x, NULL, "staging of backup %s removed from %zu data "
		    "dirs", j.backup_id, json_array_size(removed));
		json_object_set_new(data, "removed", removed);
		status = op_result(x, OPEXIT_OK, data, NULL);
		data = NULL;
		goto out;
	}
	if (o.exclude != NULL &&
	    backup_get_keyset(s3, o.exclude, &exclude, err, sizeof(err)) != 0)
		goto fail;
	if (rs_plan(&j, &o, m, exclude, skipped, err, sizeof(err)) != 0)
		goto fail;
	if (j.n == 0) {
		snprintf(err, sizeof(err), "nothing to restore: the manifest %s has "
		    "no files of the keyspaces and tables asked", o.manifest);
		goto fail;
	}
	for (size_t k = 0; k < j.ntables; k++) {
		bool exists;
		j.tables[k].loaded_before = backup_count_files(j.tables[k].stage,
		    &exists) == 0 && backup_rs_was_loaded(&j, &j.tables[k]);
	}
	{
		size_t files = 0;
		uint64_t bytes = 0;
		for (size_t i = 0; i < j.n; i++)
			if (!j.files[i].skip) {
				files++;
				bytes += j.files[i].f->size;
			}
		json_object_set_new(data, "files", json_integer((json_int_t)files));
		json_object_set_new(data, "files_total", json_integer((json_int_t)files));
		json_object_set_new(data, "bytes_total", json_integer((json_int_t)bytes));
		json_object_set_new(data, "tables_total",
		    json_integer((json_int_t)j.ntables));
		backup_meter_init(&j.meter, x, strcmp(mode, "load") == 0 ? "load" :
		    "download", strcmp(mode, "load") == 0 ? "loaded" :
		    "downloaded", files, bytes);
		meter_on = true;
	}

	if ((strcmp(mode, "download") == 0 || strcmp(mode, "restore") == 0) &&
	    j.meter.files_total >= (size_t)o.parallel && o.parallel > 1) {
		struct s3 *one = backup_open_store_inner(&o, 1, err, sizeof(err));
		if (one == NULL)
			goto fail;
		s3_close(s3);
		s3 = one;
		j.s3 = s3;
	}
	json_object_set(data, "skipped", skipped);
	if (json_array_size(skipped) > 0)
		op_progress(x, json_pack("{s:O}", "skipped", skipped), "%zu files "
		    "left out: excluded objects and the rest of their SSTables",
		    json_array_size(skipped));
	if (strcmp(mode, "check") == 0 || strcmp(mode, "restore") == 0) {
		if (backup_rs_check(c, &j, o.margin_pct, data, err, sizeof(err)) != 0)
			goto fail;
		if (strcmp(mode, "check") == 0) {
			status = op_result(x, OPEXIT_OK, data, NULL);
			data = NULL;
			goto out;
		}
	}
	if (strcmp(mode, "load") == 0 &&
	    backup_rs_prepare_load(&j, err, sizeof(err)) != 0)
		goto fail;
	if (strcmp(mode, "download") == 0 || strcmp(mode, "restore") == 0) {
		if (rs_download(&j, o.parallel, strcmp(mode, "restore") == 0) != 0) {
			str_copy(err, j.failed ? j.err : "cancelled", sizeof(err));
			goto fail;
		}
		for (size_t k = 0; strcmp(mode, "restore") == 0 && k < j.ntables;
		    k++) {
			if (j.tables[k].state <= 0) {
				snprintf(err, sizeof(err), "%s.%s was downloaded but "
				    "never loaded: run the restore again",
				    j.tables[k].ks, j.tables[k].tname);
				goto fail;
			}
		}
		if (strcmp(mode, "restore") == 0 &&
		    backup_rs_after(&j, err, sizeof(err)) != 0)
			goto fail;
	} else {
		/* load: the tables one after another, as staged earlier */
		for (size_t k = 0; k < j.ntables; k++) {
			if (op_cancelled(x)) {
				str_copy(err, "cancelled", sizeof(err));
				goto fail;
			}
			if (backup_rs_load_table(&j, &j.tables[k], err, sizeof(err)) != 0)
				goto fail;
			j.tables_loaded++;
			atomic_fetch_add(&j.meter.files_done, j.tables[k].nfiles);
			atomic_fetch_add(&j.meter.bytes_done, j.tables[k].bytes);
			backup_rs_table_progress(&j, &j.tables[k]);
		}
		if (backup_rs_after(&j, err, sizeof(err)) != 0)
			goto fail;
	}
	{
		size_t done = atomic_load(&j.meter.files_done), already = 0;
		char summary[256];
		for (size_t k = 0; k < j.ntables; k++)
			already += j.tables[k].state == 2;
		if (strcmp(mode, "download") == 0)
			snprintf(summary, sizeof(summary), "%zu/%zu files staged (%zu "
			    "downloaded, %zu already staged)%s", done,
			    j.meter.files_total, atomic_load(&j.files_fetched), done -
			    atomic_load(&j.files_fetched), json_array_size(skipped) ?
			    ", some left out" : "");
		else
			snprintf(summary, sizeof(summary), "%zu/%zu files %s, %zu "
			    "tables loaded%s%s", done, j.meter.files_total,
			    strcmp(mode, "load") == 0 ? "loaded" : "downloaded",
			    j.tables_loaded, already ? " (some by an earlier run)" : "",
			    json_array_size(skipped) ? ", some files left out" : "");
		json_object_set_new(data, "files_done", json_integer((json_int_t)done));
		json_object_set_new(data, "files_downloaded",
		    json_integer((json_int_t)atomic_load(&j.files_fetched)));
		json_object_set_new(data, "bytes_downloaded",
		    json_integer((json_int_t)atomic_load(&j.bytes_fetched)));
		json_object_set_new(data, "bytes_done",
		    json_integer((json_int_t)atomic_load(&j.meter.bytes_done)));
		json_object_set_new(data, "rate_bps",
		    json_integer((json_int_t)backup_meter_rate(&j.meter)));
		json_object_set_new(data, "elapsed_ms",
		    json_integer((json_int_t)(time_mono_ms() - t0)));
		if (strcmp(mode, "download") != 0) {
			json_object_set_new(data, "loader", json_string(j.major >= 4 ?
			    "import" : "refresh"));
			json_object_set_new(data, "tables_loaded",
			    json_integer((json_int_t)j.tables_loaded));
			json_object_set_new(data, "tables_already_loaded",
			    json_integer((json_int_t)already));
			json_object_set_new(data, "tables", rs_tables_json(&j));
			/* Every table is in: nothing of this restore is left. */
			json_t *removed = json_array();
			if (rs_cleanup_staging(c, j.backup_id, removed) == 0)
				json_object_set_new(data, "staging_removed", removed);
			else
				json_decref(removed);
		}
		json_object_set_new(data, "summary", json_string(summary));
		op_progress(x, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "phase",
		    "done", "files_done", (json_int_t)done, "files_total",
		    (json_int_t)j.meter.files_total, "bytes_done",
		    (json_int_t)atomic_load(&j.meter.bytes_done), "bytes_total",
		    (json_int_t)j.meter.bytes_total, "rate_bps",
		    (json_int_t)backup_meter_rate(&j.meter)), "%s", summary);
	}
	status = op_result(x, OPEXIT_OK, data, NULL);
	data = NULL;
	goto out;
fail:
	if (j.ntables > 0 && data != NULL && json_object_get(data, "tables") == NULL)
		json_object_set_new(data, "tables", rs_tables_json(&j));
	status = op_result(x, OPEXIT_FAILED, data, "%s", err);
	data = NULL;
out:
	for (size_t i = 0; i < j.n; i++)
		free(j.files[i].staged);
	free(j.files);
	for (size_t k = 0; k < j.ntables; k++) {
		free(j.tables[k].tname);
		free(j.tables[k].tdir);
		free(j.tables[k].stage);
	}
	free(j.tables);
	free(j.queue);
	nodetool_tablestats_free(j.before);
	if (meter_on)
		backup_meter_release(&j.meter);
	pthread_mutex_destroy(&j.mtx);
	pthread_cond_destroy(&j.cond);
	json_decref(skipped);
	json_decref(data);
	manifest_keyset_free(exclude);
	manifest_node_free(m);
	s3_close(s3);
	return status;
}
