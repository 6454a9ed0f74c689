/*
 * backup_upload.c - backup-upload.
 *
 * The snapshot's files are listed first (bounded: one small entry
 * per file), then N worker threads take files in order.  For each file:
 *
 *   1. the previous backup's node manifest (read once, sorted, binary
 *      searched) holds the same keyspace/table/name with the same size and
 *      mtime: referenced, not read, not uploaded (SSTables are immutable and
 *      a snapshot is hard links, so the mtime is the SSTable's own);
 *   2. otherwise the file is hashed (SHA-256, 1 MiB reads; MD5 in the same
 *      pass when it will likely be sent as one PUT, so the S3 client need
 *      not read it again for Content-MD5); the same name and size and
 *      checksum in the previous manifest: referenced;
 *   3. otherwise HEAD its content key: an object with the same size and the
 *      same recorded SHA-256 was stored by an earlier, interrupted attempt
 *      of this backup: kept, not uploaded again (resume);
 *   4. otherwise uploaded (streamed; multipart above the threshold) with
 *      its SHA-256 recorded, and a line appended to the journal
 *      <state_dir>/backup-<id>.journal.
 *
 * A previous file whose key is on the --exclude list (a verify found it
 * missing or corrupt) is never referenced: rules 1 and 2 skip it, and the
 * file goes to the first key that is neither listed nor holding other
 * content (manifest_alt_key()).  Index SSTables (snapshots/T/.<index>/)
 * are files like the others, with their subdir in the manifest.
 *
 * Only when every file is stored does the node manifest go up, so a node
 * manifest always describes complete data.  The cluster manifest, written
 * by the orchestrator after every node's, marks the backup complete.
 *
 * Memory: the file list, the previous manifest and per-thread 1 MiB buffers;
 * the S3 client streams.  Nothing scales with the size of the data.
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

/* ---- upload ---- */

struct upfile {
	char *path;
	struct manifest_file f;		/* key/sha256 filled by the worker */
	int outcome;			/* 0 pending, 1 reused, 2 resumed, 3 put */
};

struct upjob {
	struct opctx *x;
	struct backup_opts *o;
	struct s3 *s3;
	struct manifest_node *prev;
	const struct manifest_keyset *exclude;	/* keys never referenced */
	atomic_size_t excluded;			/* previous files not reused */
	struct upfile *files;
	size_t n;
	atomic_size_t next;
	atomic_uint_least64_t bytes_put;
	struct backup_meter meter;		/* files and bytes done (stored or reused) */
	int journal;
	pthread_mutex_t mtx;
	char err[1024];			/* first failure */
	bool failed;
};

static void job_fail(struct upjob *j, const char *msg)
{
	pthread_mutex_lock(&j->mtx);
	if (!j->failed) {
		j->failed = true;
		str_copy(j->err, msg, sizeof(j->err));
	}
	pthread_mutex_unlock(&j->mtx);
}

static void job_progress(struct upjob *j, bool force)
{
	char tail[64];
	uint64_t put = atomic_load(&j->bytes_put);

	snprintf(tail, sizeof(tail), "%llu bytes uploaded",
	    (unsigned long long)put);
	backup_meter_report(&j->meter, force, json_pack("{s:I, s:I}", "files",
	    (json_int_t)j->n, "bytes_uploaded", (json_int_t)put), tail);
}

/* The content key of f, with its index directory when it has one. */
static char *file_data_key(const struct backup_opts *o, const struct manifest_file *f)
{
	if (f->subdir != NULL)
		return xasprintf("%s/data/%s/%s/%s/%s/%s", o->cluster, o->host_id,
		    f->keyspace, f->table_dir, f->subdir, f->name);
	return manifest_data_key(o->cluster, o->host_id, f->keyspace,
	    f->table_dir, f->name);
}

/* Alternative keys tried before giving up on storing one file. */
#define ALT_KEYS_MAX 16

static int upload_one(struct upjob *j, struct upfile *u, unsigned char *buf,
    char *err, size_t errlen)
{
	struct manifest_file *f = &u->f;
	const struct manifest_file *p;
	struct s3_stat st;
	struct s3_put_opts po = { NULL, NULL, NULL };
	char md5[33], *base;
	bool want_md5;
	int rc;

	p = manifest_node_find_sub(j->prev, f->keyspace, f->table_dir, f->subdir,
	    f->name);
	if (p != NULL && manifest_keyset_has(j->exclude, p->key)) {
		/* A verify found that object missing or corrupt: never point
		 * a manifest at it again, whatever its metadata says. */
		atomic_fetch_add(&j->excluded, 1);
		p = NULL;
	}
	if (p != NULL && p->size == f->size && p->mtime_ns == f->mtime_ns &&
	    !j->o->hash_all) {
		f->key = xstrdup(p->key);
		memcpy(f->sha256, p->sha256, sizeof(f->sha256));
		f->reused = true;
		u->outcome = 1;
		return 0;
	}
	/* An MD5 only for what will most likely be sent as one PUT: a file
	 * with the name of a previous one is most likely that one again. */
	want_md5 = (p == NULL || p->size != f->size) &&
	    s3_put_uses_md5(j->s3, f->size);
	if (backup_hash_file(j->x, u->path, buf, f->sha256, want_md5 ? md5 : NULL,
	    err, errlen) != 0)
		return -1;
	if (p != NULL && p->size == f->size &&
	    strcmp(p->sha256, f->sha256) == 0) {
		f->key = xstrdup(p->key);
		f->reused = true;
		u->outcome = 1;
		return 0;
	}
	/*
	 * The first key that is not excluded and holds nothing else: the
	 * usual one, then "<name>.<sha16>", "<name>.<sha16>.2" ...  An object
	 * already there with this size and SHA-256 is this file, stored by
	 * an interrupted attempt (resume); one with other or unknown content
	 * is never overwritten, since an old backup may reference it.
	 */
	base = file_data_key(j->o, f);
	for (unsigned n = 0; ; n++) {
		free(f->key);
		f->key = n == 0 ? xstrdup(base) : manifest_alt_key(base,
		    f->sha256, n - 1);
		if (n > ALT_KEYS_MAX) {
			snprintf(err, errlen, "cannot find a free key for %s: %s and "
			    "%d alternatives are excluded or hold other content; "
			    "purge the damaged backups or clear the exclude list",
			    u->path, base, ALT_KEYS_MAX);
			free(base);
			return -1;
		}
		if (manifest_keyset_has(j->exclude, f->key))
			continue;
		if (p != NULL && strcmp(p->key, f->key) == 0)
			continue;	/* same name, other content */
		rc = s3_head(j->s3, f->key, &st, err, errlen);
		if (rc < 0) {
			free(base);
			return -1;
		}
		if (rc == S3_NOT_FOUND)
			break;
		if (st.size == f->size && strcmp(st.sha256, f->sha256) == 0) {
			free(base);
			u->outcome = 2;
			return 0;
		}
	}
	free(base);
	po.sha256 = f->sha256;
	po.content_md5 = want_md5 ? md5 : NULL;
	if (s3_put_file(j->s3, f->key, u->path, &po, NULL, err, errlen) != 0)
		return -1;
	u->outcome = 3;
	atomic_fetch_add(&j->bytes_put, f->size);
	if (j->journal >= 0) {
		char *line = xasprintf("put %s %llu %s\n", f->key,
		    (unsigned long long)f->size, f->sha256);
		/* An audit aid only: a failed write changes nothing. */
		ssize_t w = write(j->journal, line, strlen(line));
		(void)w;
		free(line);
	}
	return 0;
}

static void *upload_worker(void *arg)
{
	struct upjob *j = arg;
	unsigned char *buf = xmalloc(BUF_SIZE);
	char err[1024];

	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		if (i >= j->n || op_cancelled(j->x))
			break;
		pthread_mutex_lock(&j->mtx);
		bool stop = j->failed;
		pthread_mutex_unlock(&j->mtx);
		if (stop)
			break;
		if (upload_one(j, &j->files[i], buf, err, sizeof(err)) != 0) {
			job_fail(j, err);
			break;
		}
		backup_meter_file_done(&j->meter, j->files[i].f.size);
		job_progress(j, false);
	}
	free(buf);
	return NULL;
}

/* The upload list as a snapshot walk fills it. */
struct upscan {
	const struct backup_opts *o;
	struct manifest_node *m;
	const struct datadir_table *t;	/* the table being listed */
	struct upfile *v;
	size_t n, cap;
};

/* One file of a snapshot (or of an index directory in it) into the list. */
static int scan_file(const struct datadir_file *df, void *arg)
{
	struct upscan *s = arg;
	struct upfile *u;

	if (!manifest_component_safe(df->name) || (df->subdir != NULL &&
	    !manifest_component_safe(df->subdir)))
		return 0;
	if (df->subdir == NULL && (strcmp(df->name, "manifest.json") == 0 ||
	    strcmp(df->name, "schema.cql") == 0))
		return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	u = &s->v[s->n++];
	memset(u, 0, sizeof(*u));
	u->path = xstrdup(df->path);
	u->f.keyspace = xstrdup(s->t->keyspace);
	u->f.table_dir = xstrdup(s->t->dir_name);
	u->f.subdir = df->subdir ? xstrdup(df->subdir) : NULL;
	u->f.name = xstrdup(df->name);
	u->f.size = (uint64_t)df->st->st_size;
	u->f.mtime_ns = (int64_t)df->st->st_mtim.tv_sec * 1000000000 +
	    df->st->st_mtim.tv_nsec;
	return 0;
}

/* A selected table's snapshot: its schema into the manifest, its files
 * (those of secondary indexes, snapshots/T/.<index>/, too) into the list. */
static int scan_table(const struct datadir_table *t, void *arg)
{
	struct upscan *s = arg;
	char *sdir, *schema_path, *schema;

	if (!backup_selected(s->o, t->keyspace, t->table) ||
	    (sdir = datadir_snapshot_dir(t, s->o->tag)) == NULL)
		return 0;
	schema_path = xasprintf("%s/schema.cql", sdir);
	schema = file_read_all(schema_path, 1 << 20, NULL);
	manifest_node_add_table(s->m, t->keyspace, t->dir_name, schema);
	free(schema);
	free(schema_path);
	s->t = t;
	datadir_files(sdir, DATADIR_INDEXES, scan_file, s, NULL);
	free(sdir);
	return 0;
}

/* Snapshot files of tag in every data dir, filtered; schema per table. */
static int scan_snapshot(const struct agentcfg *c, const struct backup_opts *o,
    struct upfile **out, size_t *nout, struct manifest_node *m, char *err,
    size_t errlen)
{
	struct upscan s = { .o = o, .m = m };

	datadir_walk(c->data_dirs, c->n_data_dirs, NULL, DATADIR_SAFE_NAMES,
	    scan_table, &s);
	*out = s.v;
	*nout = s.n;
	if (m->ntables == 0) {
		snprintf(err, errlen, "no snapshot '%s' on this node under %s/data "
		    "(for the keyspaces and tables asked); take it first with "
		    "'ringagent snapshot --tag %s'", o->tag, c->data_dirs[0], o->tag);
		return -1;
	}
	return 0;
}

static void upfiles_free(struct upfile *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].f.keyspace);
		free(v[i].f.table_dir);
		free(v[i].f.subdir);
		free(v[i].f.name);
		free(v[i].f.key);
	}
	free(v);
}

/* host id, dc, rack, tokens and version from nodetool, unless given. */
int backup_node_identity(const struct agentcfg *c, const struct proc_opts *po,
    const struct backup_opts *o, struct manifest_node *m, char *err,
    size_t errlen)
{
	const char *args[] = { "info", "-T", NULL };
	struct nodetool_info *info = NULL;
	struct nodetool_version *ver = NULL;
	char *out = NULL;
	enum cass_rc rc;

	rc = cass_nodetool(c, args, po, &out, err, errlen);
	if (rc != CASS_OK)
		return -1;
	if (nodetool_parse_info(out, strlen(out), &info, err, errlen) != 0) {
		free(out);
		return -1;
	}
	free(out);
	m->host_id = xstrdup(o->host_id ? o->host_id : info->id ? info->id : "");
	m->dc = xstrdup(o->dc ? o->dc : info->datacenter ? info->datacenter : "");
	m->rack = xstrdup(o->rack ? o->rack : info->rack ? info->rack : "");
	m->address = xstrdup(o->address ? o->address : c->address ?
	    c->address : "");
	m->tokens = xcalloc(info->n_tokens + 1, sizeof(char *));
	for (size_t i = 0; i < info->n_tokens; i++)
		m->tokens[m->ntokens++] = xstrdup(info->tokens[i]);
	nodetool_info_free(info);
	if (cass_version(c, po, &ver, err, errlen) == CASS_OK)
		m->version = xstrdup(ver->release);
	nodetool_version_free(ver);
	if (!manifest_component_safe(m->host_id)) {
		snprintf(err, errlen, "this node has no host id yet (nodetool "
		    "info shows none): has it joined the cluster?");
		return -1;
	}
	return 0;
}

/* Fetch and parse a node manifest.  0, S3_NOT_FOUND or -1. */
int backup_get_manifest(struct s3 *s3, const char *key,
    struct manifest_node **out, char *err, size_t errlen)
{
	char *buf = NULL, perr[512];
	size_t len;
	int rc;

	*out = NULL;
	rc = s3_get_mem(s3, key, MANIFEST_MAX_BYTES, &buf, &len, err, errlen);
	if (rc != 0)
		return rc;
	*out = manifest_node_parse(buf, len, perr, sizeof(perr));
	free(buf);
	if (*out == NULL) {
		snprintf(err, errlen, "node manifest %s: %s", key, perr);
		return -1;
	}
	return 0;
}

/* Fetch and parse an exclude list ({"keys":[...]}); 0 or -1. */
int backup_get_keyset(struct s3 *s3, const char *key,
    struct manifest_keyset **out, char *err, size_t errlen)
{
	char *buf = NULL, perr[512];
	size_t len;
	int rc;

	*out = NULL;
	rc = s3_get_mem(s3, key, MANIFEST_MAX_BYTES, &buf, &len, err, errlen);
	if (rc == S3_NOT_FOUND)
		snprintf(err, errlen, "exclude list %s not found in the store: "
		    "write it first or drop --exclude", key);
	if (rc != 0)
		return -1;
	*out = manifest_keyset_parse(buf, len, perr, sizeof(perr));
	free(buf);
	if (*out == NULL) {
		snprintf(err, errlen, "exclude list %s: %s", key, perr);
		return -1;
	}
	return 0;
}

int backup_op_upload(struct opctx *x, int argc, char **argv)
{
	struct backup_opts o;
	const struct agentcfg *c = op_conf(x);
	struct s3 *s3 = NULL;
	struct manifest_node *m = NULL, *done = NULL;
	struct upfile *files = NULL;
	size_t nfiles = 0, reused = 0, resumed = 0, put = 0;
	struct upjob j;
	pthread_t *tids = NULL;
	char err[1024], *key = NULL, *text = NULL;
	int status = OPEXIT_FAILED, rc, nthreads = 0, lockfd = -1, waited = 0;
	int64_t t0 = time_wall_ms();
	struct manifest_keyset *exclude = NULL;
	uint64_t total = 0;
	bool meter_on = false;

	memset(&j, 0, sizeof(j));
	j.journal = -1;
	pthread_mutex_init(&j.mtx, NULL);
	if (backup_parse_opts(argc, argv, &o, err, sizeof(err)) != 0)
		return op_result(x, OPEXIT_USAGE, NULL, "%s", err);
	if (o.store == NULL || o.cluster == NULL ||
	    !manifest_component_safe(o.cluster) ||
	    !manifest_backup_id_valid(o.backup_id) || o.tag == NULL ||
	    (o.host_id != NULL && !manifest_component_safe(o.host_id)))
		return op_result(x, OPEXIT_USAGE, NULL, "--store, --cluster, "
		    "--backup-id and --tag are required plain names (and "
		    "--host-id when given)");
	http_global_init();
	if ((s3 = backup_open_store(&o, err, sizeof(err))) == NULL) {
		status = op_result(x, OPEXIT_FAILED, NULL, "%s", err);
		goto out;
	}
	m = manifest_node_new();
	if (backup_node_identity(c, op_proc_opts(x), &o, m, err, sizeof(err)) != 0) {
		status = op_result(x, OPEXIT_UNREACHABLE, NULL, "%s", err);
		goto out;
	}
	o.host_id = m->host_id;
	m->cluster = xstrdup(o.cluster);
	m->backup_id = xstrdup(o.backup_id);
	m->started_at = t0;
	key = manifest_node_key(o.cluster, o.backup_id, m->host_id);

	/* Run twice: the node manifest exists only when all is stored. */
	rc = backup_get_manifest(s3, key, &done, err, sizeof(err));
	if (rc == 0) {
		op_progress(x, NULL, "node manifest %s already written: nothing to do", key);
		status = op_result(x, OPEXIT_OK, json_pack("{s:s, s:I, s:I, s:I, s:I,"
		    " s:b}", "manifest", key, "files", (json_int_t)done->nfiles,
		    "files_uploaded", (json_int_t)done->files_uploaded,
		    "bytes", (json_int_t)done->bytes, "bytes_uploaded",
		    (json_int_t)done->bytes_uploaded, "already", 1), NULL);
		goto out;
	}
	if (rc < 0) {
		status = op_result(x, OPEXIT_FAILED, NULL, "%s", err);
		goto out;
	}
	if (o.previous != NULL) {
		rc = backup_get_manifest(s3, o.previous, &j.prev, err, sizeof(err));
		if (rc != 0) {
			op_progress(x, NULL, "previous manifest %s unusable (%s): "
			    "every file is checked against the store",
			    o.previous, rc == S3_NOT_FOUND ? "not found" : err);
			j.prev = NULL;
		} else if (strcmp(j.prev->host_id, m->host_id) != 0) {
			op_progress(x, NULL, "previous manifest %s is of host %s, not "
			    "%s: not used", o.previous, j.prev->host_id, m->host_id);
			manifest_node_free(j.prev);
			j.prev = NULL;
		}
	}
	if (o.exclude != NULL &&
	    backup_get_keyset(s3, o.exclude, &exclude, err, sizeof(err)) != 0) {
		status = op_result(x, OPEXIT_FAILED, NULL, "%s", err);
		goto out;
	}
	if (scan_snapshot(c, &o, &files, &nfiles, m, err, sizeof(err)) != 0) {
		status = op_result(x, OPEXIT_FAILED, NULL, "%s", err);
		goto out;
	}
	for (size_t i = 0; i < nfiles; i++)
		total += files[i].f.size;
	backup_meter_init(&j.meter, x, "upload", "done", nfiles, total);
	meter_on = true;
	op_progress(x, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "phase", "scan",
	    "files", (json_int_t)nfiles, "files_done", 0, "files_total",
	    (json_int_t)nfiles, "bytes_done", 0, "bytes_total", (json_int_t)total),
	    "snapshot '%s': %zu files in %zu tables, %llu bytes", o.tag, nfiles,
	    m->ntables, (unsigned long long)total);
	if (c->state_dir != NULL) {
		char *jp = xasprintf("%s/backup-%s.journal", c->state_dir,
		    o.backup_id);
		char *lp = xasprintf("%s/backup-%s.lock", c->state_dir,
		    o.backup_id);
		mkdir(c->state_dir, 0700);
		/* An earlier run of this backup whose orchestrator went away
		 * stops at its next file: wait for it rather than race it. */
		lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		free(lp);
		while (lockfd >= 0 && flock(lockfd, LOCK_EX | LOCK_NB) != 0 &&
		    !op_cancelled(x)) {
			if (waited++ == 0)
				op_progress(x, NULL, "waiting for an earlier upload of "
				    "backup %s on this node to stop", o.backup_id);
			usleep(100000);
		}
		j.journal = open(jp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0600);
		free(jp);
	}
	/* Sorted here, once: the workers only read it. */
	manifest_node_sort(j.prev);
	j.x = x;
	j.o = &o;
	j.s3 = s3;
	j.exclude = exclude;
	j.files = files;
	j.n = nfiles;
	nthreads = o.parallel < (int)nfiles ? o.parallel : (int)nfiles;
	tids = xcalloc((size_t)nthreads + 1, sizeof(*tids));
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&tids[i], NULL, upload_worker, &j) != 0)
			fatalx("cannot start an upload thread");
	for (int i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	if (op_cancelled(x)) {
		status = op_result(x, OPEXIT_CANCELLED, NULL, "cancelled after %zu of "
		    "%zu files; run again to resume",
		    atomic_load(&j.meter.files_done), nfiles);
		goto out;
	}
	if (j.failed) {
		status = op_result(x, OPEXIT_FAILED, NULL, "%s (%zu of %zu files "
		    "stored; run again to resume)", j.err,
		    atomic_load(&j.meter.files_done), nfiles);
		goto out;
	}
	for (size_t i = 0; i < nfiles; i++) {
		manifest_node_add_file(m, &files[i].f);
		reused += files[i].outcome == 1;
		resumed += files[i].outcome == 2;
		put += files[i].outcome == 3;
	}
	m->finished_at = time_wall_ms();
	size_t len;
	text = manifest_node_dump(m, &len);
	if (s3_put_mem(s3, key, text, len, NULL, NULL, err, sizeof(err)) != 0) {
		status = op_result(x, OPEXIT_FAILED, NULL, "%s", err);
		goto out;
	}
	job_progress(&j, true);
	{
		char summary[256], b1[32];
		snprintf(summary, sizeof(summary), "%zu/%zu files stored: %zu "
		    "uploaded (%s), %zu reused%s", nfiles, nfiles, put + resumed,
		    backup_human(m->bytes_uploaded, b1, sizeof(b1)), reused,
		    atomic_load(&j.excluded) ? ", known-bad objects not reused" :
		    "");
		status = op_result(x, OPEXIT_OK, json_pack("{s:s, s:s, s:I, s:I,"
		    " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:s}", "manifest", key,
		    "host_id", m->host_id, "files", (json_int_t)nfiles,
		    "files_reused", (json_int_t)reused, "files_resumed",
		    (json_int_t)resumed, "files_uploaded",
		    (json_int_t)(put + resumed), "files_excluded_reuse",
		    (json_int_t)atomic_load(&j.excluded), "bytes",
		    (json_int_t)m->bytes, "bytes_uploaded",
		    (json_int_t)m->bytes_uploaded, "elapsed_ms",
		    (json_int_t)(time_wall_ms() - t0), "rate_bps",
		    (json_int_t)backup_meter_rate(&j.meter), "already", 0, "summary",
		    summary), NULL);
	}
out:
	if (j.journal >= 0)
		close(j.journal);
	if (lockfd >= 0)
		close(lockfd);
	free(tids);
	free(text);
	free(key);
	upfiles_free(files, nfiles);
	manifest_node_free(j.prev);
	manifest_keyset_free(exclude);
	if (meter_on)
		backup_meter_release(&j.meter);
	manifest_node_free(done);
	manifest_node_free(m);
	s3_close(s3);
	pthread_mutex_destroy(&j.mtx);
	return status;
}
