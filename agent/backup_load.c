/*
 * backup_load.c - loading staged tables into Cassandra (`nodetool import` or
 * `refresh`) and checking that Cassandra shows them; the record of tables
 * a restore run has loaded.
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

/*
 * Free space per file system of the staging roots: fail early, with the
 * numbers, when it is short of what must still be downloaded plus margin.
 */
int backup_rs_check(const struct agentcfg *c, struct backup_rsjob *j,
    double margin_pct, json_t *data, char *err, size_t errlen)
{
	struct { dev_t dev; uint64_t need, avail; const char *dir; } fs[64];
	size_t nfs = 0;
	uint64_t total = 0, free_min = UINT64_MAX;

	(void)c;
	for (size_t i = 0; i < j->n; i++) {
		struct backup_rsfile *r = &j->files[i];
		struct stat st;
		struct statvfs vfs;
		size_t k;
		const char *dir = r->t->tdir;

		if (r->skip || r->t->loaded_before)
			continue;
		if (stat(r->staged, &st) == 0 &&
		    (uint64_t)st.st_size == r->f->size)
			continue;	/* staged by an earlier attempt */
		if (stat(dir, &st) != 0) {
			snprintf(err, errlen, "cannot stat %s: %s", dir,
			    strerror(errno));
			return -1;
		}
		for (k = 0; k < nfs && fs[k].dev != st.st_dev; k++)
			;
		if (k == nfs) {
			if (nfs == ARRAY_SIZE(fs) || statvfs(dir, &vfs) != 0) {
				snprintf(err, errlen, "cannot read the free space of "
				    "%s", dir);
				return -1;
			}
			fs[nfs].dev = st.st_dev;
			fs[nfs].need = 0;
			fs[nfs].avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
			fs[nfs].dir = dir;
			nfs++;
		}
		fs[k].need += r->f->size;
		total += r->f->size;
	}
	json_object_set_new(data, "bytes_needed", json_integer((json_int_t)total));
	for (size_t k = 0; k < nfs; k++) {
		uint64_t want = (uint64_t)((double)fs[k].need *
		    (1.0 + margin_pct / 100.0));
		if (fs[k].avail < free_min)
			free_min = fs[k].avail;
		json_object_set_new(data, "bytes_free",
		    json_integer((json_int_t)free_min));
		if (want > fs[k].avail) {
			snprintf(err, errlen, "not enough disk space: the restore "
			    "needs %llu bytes (%.2f GiB, with a %.0f%% margin) on the "
			    "file system of %s, which has %llu bytes (%.2f GiB) free",
			    (unsigned long long)want, (double)want / 1073741824.0,
			    margin_pct, fs[k].dir, (unsigned long long)fs[k].avail,
			    (double)fs[k].avail / 1073741824.0);
			return -1;
		}
	}
	return 0;
}

/* The live Data.db files of a table directory, as live_data_files() lists them. */
struct namelist {
	char **v;
	size_t n, cap;
};

static int add_data_file(const struct datadir_file *f, void *arg)
{
	struct namelist *l = arg;

	if (!str_ends_with(f->name, "-Data.db"))
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = xstrdup(f->name);
	return 0;
}

/* Names of the live Data.db files of a table directory (for before/after). */
static char **live_data_files(const char *tdir, size_t *n)
{
	struct namelist l = { NULL, 0, 0 };

	datadir_files(tdir, 0, add_data_file, &l, NULL);
	*n = l.n;
	return l.v;
}

static void strv_release(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int count_file(const struct datadir_file *f, void *arg)
{
	(void)f;
	(*(size_t *)arg)++;
	return 0;
}

/* Top-level regular files in dir (the staged SSTables, not index dirs). */
size_t backup_count_files(const char *dir, bool *exists)
{
	size_t n = 0;

	datadir_files(dir, DATADIR_LSTAT, count_file, &n, exists);
	return n;
}

/* SSTable count of ks.table from `nodetool tablestats ks.table...`. */
enum cass_rc backup_rs_tablestats(struct backup_rsjob *j,
    struct backup_rstable **t, size_t nt, struct nodetool_tablestats **out,
    char *err, size_t errlen)
{
	char **names = xcalloc(nt + 1, sizeof(char *));
	enum cass_rc rc;

	for (size_t i = 0; i < nt; i++)
		names[i] = xasprintf("%s.%s", t[i]->ks, t[i]->tname);
	rc = cass_tablestats(j->c, j->po, (const char *const *)names, nt, out,
	    err, errlen);
	for (size_t i = 0; i < nt; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int64_t sstables_of(const struct nodetool_tablestats *s,
    const struct backup_rstable *t)
{
	const struct nodetool_table_stats *e = nodetool_tablestats_find(s, t->ks,
	    t->tname);

	return e != NULL ? e->sstable_count : NODETOOL_UNKNOWN;
}

/*
 * The record of the tables one restore run has loaded, so that a retry of
 * that run (the orchestrator's step again, after a failure or a crash)
 * neither downloads nor loads them again.  It belongs to the run
 * (--run-id, the orchestrator's task id), never to the backup: a later
 * restore of the same backup, after the data was lost again, must load
 * everything.  No run id, no record.
 */
static char *rs_loaded_path(const struct backup_rsjob *j)
{
	if (j->c->state_dir == NULL || j->run_id == NULL)
		return NULL;
	return xasprintf("%s/restore-%s-%s.loaded", j->c->state_dir,
	    j->backup_id, j->run_id);
}

static void rs_mark_loaded(struct backup_rsjob *j, const struct backup_rstable *t)
{
	char *mk, *line;
	int fd;

	if ((mk = rs_loaded_path(j)) == NULL)
		return;
	mkdir(j->c->state_dir, 0700);
	fd = open(mk, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	free(mk);
	if (fd < 0)
		return;
	line = xasprintf("%s %s %lld\n", t->ks, t->src_dir,
	    (long long)t->sst_after);
	ssize_t w = write(fd, line, strlen(line));
	(void)w;
	free(line);
	close(fd);
}

bool backup_rs_was_loaded(struct backup_rsjob *j, const struct backup_rstable *t)
{
	char *mk, *text, *want;
	bool found = false;

	if ((mk = rs_loaded_path(j)) == NULL)
		return false;
	text = file_read_all(mk, 16u << 20, NULL);
	free(mk);
	want = xasprintf("%s %s ", t->ks, t->src_dir);
	for (const char *l = text; l != NULL && *l; ) {
		if (str_starts_with(l, want)) {
			found = true;
			break;
		}
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
	free(want);
	free(text);
	return found;
}

/*
 * Load one table's staged files and check with Cassandra that they are
 * live.  0 loaded (or loaded by an earlier run), -1 with err.
 */
int backup_rs_load_table(struct backup_rsjob *j, struct backup_rstable *t, char *err,
    size_t errlen)
{
	char *out = NULL, **live0 = NULL, **live1 = NULL;
	size_t have, left, nlive0 = 0, nlive1 = 0;
	bool exists;
	enum cass_rc rc;
	int ret = -1;

	if (t->nfiles == 0) {
		t->state = 2;	/* everything of it was excluded */
		return 0;
	}
	have = backup_count_files(t->stage, &exists);
	if (have == 0 && backup_rs_was_loaded(j, t)) {
		t->state = 2;
		return 0;
	}
	if (!exists || have < t->ntop) {
		snprintf(err, errlen, "%s holds %zu of the %zu files to load into "
		    "%s.%s: run the download first", t->stage, have, t->ntop,
		    t->ks, t->tname);
		return -1;
	}
	if (j->before != NULL)
		t->sst_before = sstables_of(j->before, t);
	live0 = live_data_files(t->tdir, &nlive0);
	if (j->major >= 4) {
		const char *args[] = { "import", t->ks, t->tname, t->stage, NULL };
		rc = cass_nodetool(j->c, args, j->po, &out, err, errlen);
	} else {
		DIR *d = opendir(t->stage);
		struct dirent *e;
		int r2 = 0;
		while (d != NULL && r2 == 0 && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char *from = xasprintf("%s/%s", t->stage, e->d_name);
			char *to = xasprintf("%s/%s", t->tdir, e->d_name);
			struct stat st;
			if (lstat(to, &st) == 0) {
				snprintf(err, errlen, "%s already exists: move the "
				    "table's live SSTables away before restoring "
				    "into it on Cassandra 3.x", to);
				r2 = -1;
			} else if (rename(from, to) != 0) {
				snprintf(err, errlen, "cannot move %s to %s: %s",
				    from, to, strerror(errno));
				r2 = -1;
			}
			free(from);
			free(to);
		}
		if (d != NULL)
			closedir(d);
		if (r2 != 0)
			goto out;
		const char *args[] = { "refresh", t->ks, t->tname, NULL };
		rc = cass_nodetool(j->c, args, j->po, &out, err, errlen);
	}
	if (rc != CASS_OK)
		goto out;
	/* Cassandra's view, not nodetool's exit status. */
	left = backup_count_files(t->stage, &exists);
	live1 = live_data_files(t->tdir, &nlive1);
	for (size_t a = 0; a < nlive1; a++) {
		bool old = false;
		for (size_t b = 0; b < nlive0 && !old; b++)
			old = strcmp(live1[a], live0[b]) == 0;
		t->new_live += !old || j->major < 4;
	}
	if (j->major < 4)
		t->new_live = 0;	/* refresh keeps the names: no evidence */
	if (left > 0) {
		snprintf(err, errlen, "nodetool %s %s %s left %zu of %zu files in "
		    "%s: Cassandra did not load them; look at Cassandra's "
		    "system.log (SSTableImporter) for why", j->major >= 4 ?
		    "import" : "refresh", t->ks, t->tname, left, have, t->stage);
		goto out;
	}
	/*
	 * 4.x import gives the SSTables new generations in the live
	 * directory: none there means nothing was loaded.  tablestats, for
	 * every table at once when all are loaded (backup_rs_after()), confirms it
	 * and is the only evidence for 3.x refresh.
	 */
	if (j->major >= 4 && t->ndata > 0 && t->new_live == 0) {
		snprintf(err, errlen, "nodetool import %s %s ran, but no new "
		    "SSTable is in %s: Cassandra loaded nothing; look at "
		    "Cassandra's system.log for why", t->ks, t->tname, t->tdir);
		goto out;
	}
	if (backup_rm_tree(t->stage, 2, err, errlen) != 0)
		goto out;
	t->state = 1;
	rs_mark_loaded(j, t);
	ret = 0;
out:
	if (ret != 0)
		t->state = -1;
	strv_release(live0, nlive0);
	strv_release(live1, nlive1);
	free(out);
	return ret;
}

/*
 * After the loads: one `nodetool tablestats` of every table, each loaded
 * one must show more SSTables than before (or, on 4.x, new SSTables in its
 * live directory); else the restore is not complete.
 */
int backup_rs_after(struct backup_rsjob *j, char *err, size_t errlen)
{
	struct backup_rstable **v = xcalloc(j->ntables + 1, sizeof(*v));
	struct nodetool_tablestats *ts = NULL;
	size_t n = 0;
	int ret = 0;

	for (size_t k = 0; k < j->ntables; k++)
		if (j->tables[k].state > 0 && j->tables[k].nfiles > 0)
			v[n++] = &j->tables[k];
	if (n > 0 && backup_rs_tablestats(j, v, n, &ts, err, errlen) != CASS_OK)
		ret = -1;
	for (size_t k = 0; ret == 0 && k < n; k++) {
		struct backup_rstable *t = v[k];
		t->sst_after = sstables_of(ts, t);
		if (t->state != 1 || t->ndata == 0)
			continue;
		if (t->sst_after < 0) {
			snprintf(err, errlen, "nodetool tablestats does not list "
			    "%s.%s after loading it: look at Cassandra's system.log",
			    t->ks, t->tname);
			ret = -1;
		} else if (!(t->sst_before >= 0 && t->sst_after > t->sst_before) &&
		    t->new_live == 0) {
			snprintf(err, errlen, "nodetool %s %s %s ran, but Cassandra "
			    "shows nothing new in %s.%s (SSTables %lld before, %lld "
			    "after): look at Cassandra's system.log for why it loaded "
			    "nothing", j->major >= 4 ? "import" : "refresh", t->ks,
			    t->tname, t->ks, t->tname, (long long)t->sst_before,
			    (long long)t->sst_after);
			t->state = -1;
			ret = -1;
		}
	}
	nodetool_tablestats_free(ts);
	free(v);
	return ret;
}

void backup_rs_table_progress(struct backup_rsjob *j, const struct backup_rstable *t)
{
	char tail[320];

	if (t->state == 2)
		snprintf(tail, sizeof(tail), "%s.%s was loaded already", t->ks,
		    t->tname);
	else
		snprintf(tail, sizeof(tail), "%s.%s loaded (%zu files; %lld "
		    "SSTables before, %zu new in the live directory)", t->ks,
		    t->tname, t->nfiles, (long long)t->sst_before, t->new_live);
	backup_meter_report(&j->meter, true, json_pack("{s:I, s:I, s:s, s:s}",
	    "tables_loaded", (json_int_t)j->tables_loaded, "tables_total",
	    (json_int_t)j->ntables, "keyspace", t->ks, "table", t->tname), tail);
}



/*
 * Restore mode: load each table once its files are all staged.  The
 * version and the SSTable counts before are read here, while the workers
 * already download.
 */
void *backup_loader_thread(void *arg)
{
	struct backup_rsjob *j = arg;
	char err[1024];

	if (backup_rs_prepare_load(j, err, sizeof(err)) != 0) {
		backup_rs_fail(j, err);
		return NULL;
	}
	pthread_mutex_lock(&j->mtx);
	for (;;) {
		while (j->qhead == j->qtail && !j->downloads_over && !j->failed &&
		    !op_cancelled(j->x)) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;	/* wake to notice a cancel */
			pthread_cond_timedwait(&j->cond, &j->mtx, &ts);
		}
		if (j->failed || op_cancelled(j->x) || j->qhead == j->qtail)
			break;
		struct backup_rstable *t = &j->tables[j->queue[j->qhead++]];
		pthread_mutex_unlock(&j->mtx);
		int rc = backup_rs_load_table(j, t, err, sizeof(err));
		pthread_mutex_lock(&j->mtx);
		if (rc != 0) {
			if (!j->failed) {
				j->failed = true;
				str_copy(j->err, err, sizeof(j->err));
			}
			break;
		}
		j->tables_loaded++;
		pthread_mutex_unlock(&j->mtx);
		backup_rs_table_progress(j, t);
		pthread_mutex_lock(&j->mtx);
	}
	pthread_mutex_unlock(&j->mtx);
	return NULL;
}
