/*
 * backup.c - see backup.h.
 *
 * Upload.  The snapshot's files are listed first (bounded: one small entry
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

#define BUF_SIZE (1u << 20)
#define MAX_FILTERS 256

/* ---- shared option parsing ---- */

struct bkopts {
	const char *store, *endpoint, *region;
	const char *cluster, *backup_id, *tag, *host_id, *address, *dc, *rack;
	const char *previous, *manifest, *mode, *exclude, *run_id;
	const char *ks[MAX_FILTERS], *tables[MAX_FILTERS];
	size_t nks, ntables;
	int parallel;
	double rate_mib;
	bool hash_all, download;
	double margin_pct;
};

enum {
	O_STORE = 256, O_ENDPOINT, O_REGION, O_CLUSTER, O_BACKUP, O_TAG,
	O_HOST, O_ADDRESS, O_DC, O_RACK, O_PREVIOUS, O_MANIFEST, O_MODE,
	O_KS, O_TABLE, O_PARALLEL, O_RATE, O_HASHALL, O_DOWNLOAD, O_MARGIN,
	O_EXCLUDE, O_RUNID,
};

static int parse_opts(int argc, char **argv, struct bkopts *o, char *err,
    size_t errlen)
{
	static const struct option lo[] = {
		{ "store", required_argument, NULL, O_STORE },
		{ "endpoint", required_argument, NULL, O_ENDPOINT },
		{ "region", required_argument, NULL, O_REGION },
		{ "cluster", required_argument, NULL, O_CLUSTER },
		{ "backup-id", required_argument, NULL, O_BACKUP },
		{ "tag", required_argument, NULL, O_TAG },
		{ "host-id", required_argument, NULL, O_HOST },
		{ "address", required_argument, NULL, O_ADDRESS },
		{ "dc", required_argument, NULL, O_DC },
		{ "rack", required_argument, NULL, O_RACK },
		{ "previous", required_argument, NULL, O_PREVIOUS },
		{ "manifest", required_argument, NULL, O_MANIFEST },
		{ "mode", required_argument, NULL, O_MODE },
		{ "keyspace", required_argument, NULL, O_KS },
		{ "table", required_argument, NULL, O_TABLE },
		{ "parallel", required_argument, NULL, O_PARALLEL },
		{ "rate-limit", required_argument, NULL, O_RATE },
		{ "hash-all", no_argument, NULL, O_HASHALL },
		{ "download", no_argument, NULL, O_DOWNLOAD },
		{ "space-margin", required_argument, NULL, O_MARGIN },
		{ "exclude", required_argument, NULL, O_EXCLUDE },
		{ "run-id", required_argument, NULL, O_RUNID },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	char *end;

	memset(o, 0, sizeof(*o));
	o->parallel = 4;
	o->margin_pct = 10;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (ch) {
		case O_STORE: o->store = optarg; break;
		case O_ENDPOINT: o->endpoint = optarg; break;
		case O_REGION: o->region = optarg; break;
		case O_CLUSTER: o->cluster = optarg; break;
		case O_BACKUP: o->backup_id = optarg; break;
		case O_TAG: o->tag = optarg; break;
		case O_HOST: o->host_id = optarg; break;
		case O_ADDRESS: o->address = optarg; break;
		case O_DC: o->dc = optarg; break;
		case O_RACK: o->rack = optarg; break;
		case O_PREVIOUS: o->previous = optarg; break;
		case O_MANIFEST: o->manifest = optarg; break;
		case O_MODE: o->mode = optarg; break;
		case O_EXCLUDE:
			if (!manifest_key_safe(optarg))
				goto bad;
			o->exclude = optarg;
			break;
		case O_RUNID:
			if (!manifest_component_safe(optarg))
				goto bad;
			o->run_id = optarg;
			break;
		case O_HASHALL: o->hash_all = true; break;
		case O_DOWNLOAD: o->download = true; break;
		case O_KS:
			if (o->nks == MAX_FILTERS || !manifest_component_safe(optarg))
				goto bad;
			o->ks[o->nks++] = optarg;
			break;
		case O_TABLE:
			if (o->ntables == MAX_FILTERS || strchr(optarg, '.') == NULL)
				goto bad;
			o->tables[o->ntables++] = optarg;
			break;
		case O_PARALLEL:
			o->parallel = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || o->parallel < 1 || o->parallel > 64)
				goto bad;
			break;
		case O_RATE:
			o->rate_mib = strtod(optarg, &end);
			if (*end != '\0' || o->rate_mib < 0)
				goto bad;
			break;
		case O_MARGIN:
			o->margin_pct = strtod(optarg, &end);
			if (*end != '\0' || o->margin_pct < 0)
				goto bad;
			break;
		default:
			snprintf(err, errlen, "unknown option '%s'",
			    argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "bad value '%s' for %s", optarg,
	    argv[optind - 1]);
	return -1;
}

static bool selected(const struct bkopts *o, const char *ks,
    const char *table)
{
	char kt[512];

	if (o->nks == 0 && o->ntables == 0)
		return true;
	for (size_t i = 0; i < o->nks; i++)
		if (strcmp(o->ks[i], ks) == 0)
			return true;
	snprintf(kt, sizeof(kt), "%s.%s", ks, table);
	for (size_t i = 0; i < o->ntables; i++)
		if (strcmp(o->tables[i], kt) == 0)
			return true;
	return false;
}

/*
 * The store client; inner is how many ranges of one object it moves at
 * once (0: --parallel).  Restores that have a worker per file pass 1:
 * each file then streams whole, hashed as it arrives, as curl would, and
 * the server sees --parallel requests rather than --parallel squared.
 */
static struct s3 *open_store_inner(const struct bkopts *o, int inner,
    char *err, size_t errlen)
{
	struct s3_opts so;

	s3_opts_init(&so);
	so.endpoint = o->endpoint;
	so.region = o->region;
	so.parallel = inner > 0 ? inner : o->parallel;
	if (o->rate_mib > 0)
		so.rate_limit = (uint64_t)(o->rate_mib * 1048576.0);
	return s3_open(o->store, &so, err, errlen);
}

static struct s3 *open_store(const struct bkopts *o, char *err,
    size_t errlen)
{
	return open_store_inner(o, 0, err, errlen);
}

/*
 * SHA-256 of path in sha_hex and, when md5_hex is not NULL, its MD5 from
 * the same read: an upload then sends that MD5 as Content-MD5 instead of
 * reading the file once more for it.
 */
static int hash_file(const struct opctx *x, const char *path,
    unsigned char *buf, char sha_hex[65], char md5_hex[33], char *err,
    size_t errlen)
{
	struct sha256_ctx c;
	struct md5_ctx m;
	unsigned char d[SHA256_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	sha256_init(&c);
	md5_init(&m);
	while ((n = read(fd, buf, BUF_SIZE)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot read '%s': %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		sha256_update(&c, buf, (size_t)n);
		if (md5_hex != NULL)
			md5_update(&m, buf, (size_t)n);
		if (op_cancelled(x)) {
			snprintf(err, errlen, "cancelled");
			close(fd);
			return -1;
		}
	}
	close(fd);
	sha256_final(&c, d);
	hex_encode(d, sizeof(d), sha_hex);
	if (md5_hex != NULL) {
		md5_final(&m, d);
		hex_encode(d, MD5_LEN, md5_hex);
	}
	return 0;
}

/* ---- progress ---- */

/*
 * What every progress line of upload, restore and verify carries: phase,
 * files_done, files_total, bytes_done, bytes_total, rate_bps (bytes_done
 * per second since the phase began) and a message.  Workers count; one
 * line a second at most, plus the ones asked for with force.
 */
struct meter {
	struct opctx *x;
	const char *phase, *verb;
	size_t files_total;
	uint64_t bytes_total;
	atomic_size_t files_done;
	atomic_uint_least64_t bytes_done;
	atomic_int_least64_t t_end;	/* when the last file was done, or 0 */
	int64_t t0, last;
	pthread_mutex_t mtx;
};

static void meter_init(struct meter *m, struct opctx *x, const char *phase,
    const char *verb, size_t files, uint64_t bytes)
{
	m->x = x;
	m->phase = phase;
	m->verb = verb;
	m->files_total = files;
	m->bytes_total = bytes;
	atomic_store(&m->files_done, 0);
	atomic_store(&m->bytes_done, 0);
	atomic_store(&m->t_end, 0);
	m->t0 = time_mono_ms();
	m->last = 0;
	pthread_mutex_init(&m->mtx, NULL);
}

static void meter_release(struct meter *m)
{
	pthread_mutex_destroy(&m->mtx);
}

/* One file done (bytes of it); the rate stops at the last file. */
static void meter_file_done(struct meter *m, uint64_t bytes)
{
	atomic_fetch_add(&m->bytes_done, bytes);
	if (atomic_fetch_add(&m->files_done, 1) + 1 >= m->files_total)
		atomic_store(&m->t_end, time_mono_ms());
}

static uint64_t meter_rate(struct meter *m)
{
	int64_t end = atomic_load(&m->t_end);
	int64_t ms = (end ? end : time_mono_ms()) - m->t0;

	return ms > 0 ? (uint64_t)((double)atomic_load(&m->bytes_done) *
	    1000.0 / (double)ms) : 0;
}

/* "1.50 GiB" style, into buf. */
static const char *human(uint64_t n, char *buf, size_t len)
{
	if (n >= 1073741824ull)
		snprintf(buf, len, "%.2f GiB", (double)n / 1073741824.0);
	else if (n >= 1048576ull)
		snprintf(buf, len, "%.1f MiB", (double)n / 1048576.0);
	else if (n >= 1024ull)
		snprintf(buf, len, "%.1f KiB", (double)n / 1024.0);
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)n);
	return buf;
}

/*
 * One progress line now (force) or when a second has passed since the
 * last; extra (taken, may be NULL) adds fields, tail (may be NULL) ends
 * the message.
 */
static void meter_report(struct meter *m, bool force, json_t *extra,
    const char *tail)
{
	int64_t now = time_mono_ms();
	size_t done;
	uint64_t bytes, rate;
	char b1[32], b2[32], b3[32];
	json_t *j;

	pthread_mutex_lock(&m->mtx);
	if (!force && now - m->last < 1000) {
		pthread_mutex_unlock(&m->mtx);
		json_decref(extra);
		return;
	}
	m->last = now;
	pthread_mutex_unlock(&m->mtx);
	done = atomic_load(&m->files_done);
	bytes = atomic_load(&m->bytes_done);
	rate = meter_rate(m);
	j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "phase", m->phase,
	    "files_done", (json_int_t)done, "files_total",
	    (json_int_t)m->files_total, "bytes_done", (json_int_t)bytes,
	    "bytes_total", (json_int_t)m->bytes_total, "rate_bps",
	    (json_int_t)rate);
	if (extra != NULL) {
		json_object_update(j, extra);
		json_decref(extra);
	}
	op_progress(m->x, j, "%zu/%zu files %s, %s of %s at %s/s%s%s", done,
	    m->files_total, m->verb, human(bytes, b1, sizeof(b1)),
	    human(m->bytes_total, b2, sizeof(b2)), human(rate, b3, sizeof(b3)),
	    tail ? ", " : "", tail ? tail : "");
}

/* ---- upload ---- */

struct upfile {
	char *path;
	struct manifest_file f;		/* key/sha256 filled by the worker */
	int outcome;			/* 0 pending, 1 reused, 2 resumed, 3 put */
};

struct upjob {
	struct opctx *x;
	struct bkopts *o;
	struct s3 *s3;
	struct manifest_node *prev;
	const struct manifest_keyset *exclude;	/* keys never referenced */
	atomic_size_t excluded;			/* previous files not reused */
	struct upfile *files;
	size_t n;
	atomic_size_t next;
	atomic_uint_least64_t bytes_put;
	struct meter meter;		/* files and bytes done (stored or reused) */
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
	meter_report(&j->meter, force, json_pack("{s:I, s:I}", "files",
	    (json_int_t)j->n, "bytes_uploaded", (json_int_t)put), tail);
}

/* The content key of f, with its index directory when it has one. */
static char *file_data_key(const struct bkopts *o, const struct manifest_file *f)
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
	if (hash_file(j->x, u->path, buf, f->sha256, want_md5 ? md5 : NULL,
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
		meter_file_done(&j->meter, j->files[i].f.size);
		job_progress(j, false);
	}
	free(buf);
	return NULL;
}

/* One regular file of a snapshot into the list (others are ignored). */
static void scan_file(const char *dir, const char *ks, const char *td,
    const char *subdir, const char *name, struct upfile **v, size_t *n,
    size_t *cap)
{
	char *p = xasprintf("%s/%s", dir, name);
	struct stat st;
	struct upfile *u;

	if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
		free(p);
		return;
	}
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	u = &(*v)[(*n)++];
	memset(u, 0, sizeof(*u));
	u->path = p;
	u->f.keyspace = xstrdup(ks);
	u->f.table_dir = xstrdup(td);
	u->f.subdir = subdir ? xstrdup(subdir) : NULL;
	u->f.name = xstrdup(name);
	u->f.size = (uint64_t)st.st_size;
	u->f.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
	    st.st_mtim.tv_nsec;
}

/* The files of an index directory: one level, plain names only. */
static void scan_dir(const char *dir, const char *ks, const char *td,
    const char *subdir, struct upfile **v, size_t *n, size_t *cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && manifest_component_safe(e->d_name))
			scan_file(dir, ks, td, subdir, e->d_name, v, n, cap);
	if (d != NULL)
		closedir(d);
}

/* Snapshot files of tag in every data dir, filtered; schema per table. */
static int scan_snapshot(const struct agentcfg *c, const struct bkopts *o,
    struct upfile **out, size_t *nout, struct manifest_node *m, char *err,
    size_t errlen)
{
	struct upfile *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < c->n_data_dirs; i++) {
		char *data = xasprintf("%s/data", c->data_dirs[i]);
		DIR *kd = opendir(data);
		struct dirent *k;

		while (kd != NULL && (k = readdir(kd)) != NULL) {
			if (k->d_name[0] == '.' || !manifest_component_safe(k->d_name))
				continue;
			char *kdir = xasprintf("%s/%s", data, k->d_name);
			DIR *td = opendir(kdir);
			struct dirent *t;
			while (td != NULL && (t = readdir(td)) != NULL) {
				if (t->d_name[0] == '.' ||
				    !manifest_component_safe(t->d_name))
					continue;
				char *tname = manifest_table_name(t->d_name);
				bool sel = selected(o, k->d_name, tname);
				free(tname);
				if (!sel)
					continue;
				char *sdir = xasprintf("%s/%s/snapshots/%s", kdir,
				    t->d_name, o->tag);
				DIR *sd = opendir(sdir);
				struct dirent *e;
				if (sd == NULL) {
					free(sdir);
					continue;
				}
				char *schema_path = xasprintf("%s/schema.cql", sdir);
				char *schema = file_read_all(schema_path, 1 << 20, NULL);
				manifest_node_add_table(m, k->d_name, t->d_name, schema);
				free(schema);
				free(schema_path);
				while ((e = readdir(sd)) != NULL) {
					if (strcmp(e->d_name, "manifest.json") == 0 ||
					    strcmp(e->d_name, "schema.cql") == 0 ||
					    !manifest_component_safe(e->d_name))
						continue;
					if (e->d_name[0] == '.') {
						/* A secondary index's SSTables:
						 * snapshots/T/.<index>/ */
						char *ip = xasprintf("%s/%s", sdir, e->d_name);
						scan_dir(ip, k->d_name, t->d_name, e->d_name,
						    &v, &n, &cap);
						free(ip);
						continue;
					}
					scan_file(sdir, k->d_name, t->d_name, NULL,
					    e->d_name, &v, &n, &cap);
				}
				closedir(sd);
				free(sdir);
			}
			if (td != NULL)
				closedir(td);
			free(kdir);
		}
		if (kd != NULL)
			closedir(kd);
		free(data);
	}
	*out = v;
	*nout = n;
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
static int node_identity(const struct agentcfg *c, const struct proc_opts *po,
    const struct bkopts *o, struct manifest_node *m, char *err,
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
static int get_manifest(struct s3 *s3, const char *key,
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
static int get_keyset(struct s3 *s3, const char *key,
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
	struct bkopts o;
	const struct agentcfg *c = op_conf(x);
	struct s3 *s3 = NULL;
	struct manifest_node *m = NULL, *done = NULL;
	struct upfile *files = NULL;
	size_t nfiles = 0, reused = 0, resumed = 0, put = 0;
	struct upjob j;
	pthread_t *tids = NULL;
	char err[1024], *key = NULL, *text = NULL;
	int status = OPS_EXIT_FAILED, rc, nthreads = 0, lockfd = -1, waited = 0;
	int64_t t0 = time_wall_ms();
	struct manifest_keyset *exclude = NULL;
	uint64_t total = 0;
	bool meter_on = false;

	memset(&j, 0, sizeof(j));
	j.journal = -1;
	pthread_mutex_init(&j.mtx, NULL);
	if (parse_opts(argc, argv, &o, err, sizeof(err)) != 0)
		return op_result(x, OPS_EXIT_USAGE, NULL, "%s", err);
	if (o.store == NULL || o.cluster == NULL ||
	    !manifest_component_safe(o.cluster) ||
	    !manifest_backup_id_valid(o.backup_id) || o.tag == NULL ||
	    (o.host_id != NULL && !manifest_component_safe(o.host_id)))
		return op_result(x, OPS_EXIT_USAGE, NULL, "--store, --cluster, "
		    "--backup-id and --tag are required plain names (and "
		    "--host-id when given)");
	http_global_init();
	if ((s3 = open_store(&o, err, sizeof(err))) == NULL) {
		status = op_result(x, OPS_EXIT_FAILED, NULL, "%s", err);
		goto out;
	}
	m = manifest_node_new();
	if (node_identity(c, op_proc_opts(x), &o, m, err, sizeof(err)) != 0) {
		status = op_result(x, OPS_EXIT_UNREACHABLE, NULL, "%s", err);
		goto out;
	}
	o.host_id = m->host_id;
	m->cluster = xstrdup(o.cluster);
	m->backup_id = xstrdup(o.backup_id);
	m->started_at = t0;
	key = manifest_node_key(o.cluster, o.backup_id, m->host_id);

	/* Run twice: the node manifest exists only when all is stored. */
	rc = get_manifest(s3, key, &done, err, sizeof(err));
	if (rc == 0) {
		op_progress(x, NULL, "node manifest %s already written: nothing to do", key);
		status = op_result(x, OPS_EXIT_OK, json_pack("{s:s, s:I, s:I, s:I, s:I,"
		    " s:b}", "manifest", key, "files", (json_int_t)done->nfiles,
		    "files_uploaded", (json_int_t)done->files_uploaded,
		    "bytes", (json_int_t)done->bytes, "bytes_uploaded",
		    (json_int_t)done->bytes_uploaded, "already", 1), NULL);
		goto out;
	}
	if (rc < 0) {
		status = op_result(x, OPS_EXIT_FAILED, NULL, "%s", err);
		goto out;
	}
	if (o.previous != NULL) {
		rc = get_manifest(s3, o.previous, &j.prev, err, sizeof(err));
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
	    get_keyset(s3, o.exclude, &exclude, err, sizeof(err)) != 0) {
		status = op_result(x, OPS_EXIT_FAILED, NULL, "%s", err);
		goto out;
	}
	if (scan_snapshot(c, &o, &files, &nfiles, m, err, sizeof(err)) != 0) {
		status = op_result(x, OPS_EXIT_FAILED, NULL, "%s", err);
		goto out;
	}
	for (size_t i = 0; i < nfiles; i++)
		total += files[i].f.size;
	meter_init(&j.meter, x, "upload", "done", nfiles, total);
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
		status = op_result(x, OPS_EXIT_CANCELLED, NULL, "cancelled after %zu of "
		    "%zu files; run again to resume",
		    atomic_load(&j.meter.files_done), nfiles);
		goto out;
	}
	if (j.failed) {
		status = op_result(x, OPS_EXIT_FAILED, NULL, "%s (%zu of %zu files "
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
		status = op_result(x, OPS_EXIT_FAILED, NULL, "%s", err);
		goto out;
	}
	job_progress(&j, true);
	{
		char summary[256], b1[32];
		snprintf(summary, sizeof(summary), "%zu/%zu files stored: %zu "
		    "uploaded (%s), %zu reused%s", nfiles, nfiles, put + resumed,
		    human(m->bytes_uploaded, b1, sizeof(b1)), reused,
		    atomic_load(&j.excluded) ? ", known-bad objects not reused" :
		    "");
		status = op_result(x, OPS_EXIT_OK, json_pack("{s:s, s:s, s:I, s:I,"
		    " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:s}", "manifest", key,
		    "host_id", m->host_id, "files", (json_int_t)nfiles,
		    "files_reused", (json_int_t)reused, "files_resumed",
		    (json_int_t)resumed, "files_uploaded",
		    (json_int_t)(put + resumed), "files_excluded_reuse",
		    (json_int_t)atomic_load(&j.excluded), "bytes",
		    (json_int_t)m->bytes, "bytes_uploaded",
		    (json_int_t)m->bytes_uploaded, "elapsed_ms",
		    (json_int_t)(time_wall_ms() - t0), "rate_bps",
		    (json_int_t)meter_rate(&j.meter), "already", 0, "summary",
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
		meter_release(&j.meter);
	manifest_node_free(done);
	manifest_node_free(m);
	s3_close(s3);
	pthread_mutex_destroy(&j.mtx);
	return status;
}

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

struct rstable {
	const char *ks;			/* manifest strings */
	const char *src_dir;		/* table_dir in the backup */
	char *tname;
	char *tdir;			/* live target table directory */
	char *stage;			/* <root>/.rm-restore-<id>/<ks>/<target dir> */
	size_t nfiles, nskipped;	/* to stage; left out by --exclude */
	size_t ntop;			/* of them, in the table's own dir (not index) */
	size_t ndata;			/* Data.db files among those */
	uint64_t bytes;
	atomic_size_t staged;		/* files in place so far */
	int64_t sst_before, sst_after;	/* tablestats; UNKNOWN when not read */
	size_t new_live;		/* new Data.db in the live dir after load */
	int state;			/* 0 pending, 1 loaded, 2 already, -1 failed */
	bool queued;
	bool loaded_before;		/* recorded loaded by an earlier run */
};

struct rsfile {
	const struct manifest_file *f;
	struct rstable *t;
	char *staged;			/* staging path */
	bool skip;			/* left out: excluded, or its SSTable is */
	bool have;			/* already staged and verified */
};

struct rsjob {
	struct opctx *x;
	const struct agentcfg *c;
	const struct proc_opts *po;
	struct s3 *s3;
	const char *backup_id;
	const char *run_id;		/* --run-id: whose record of loaded tables */
	struct rsfile *files;
	size_t n;
	struct rstable *tables;
	size_t ntables;
	int major;			/* Cassandra's major version (loader) */
	struct nodetool_tablestats *before;
	atomic_size_t next;
	atomic_uint_least64_t bytes_fetched;
	atomic_size_t files_fetched;
	struct meter meter;
	/* the loader's queue (restore mode) */
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	size_t *queue, qhead, qtail;
	bool downloads_over;
	size_t tables_loaded;
	bool failed;
	char err[1024];
};

static void rs_fail(struct rsjob *j, const char *msg)
{
	pthread_mutex_lock(&j->mtx);
	if (!j->failed) {
		j->failed = true;
		str_copy(j->err, msg, sizeof(j->err));
	}
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->mtx);
}

static bool rs_failed(struct rsjob *j)
{
	pthread_mutex_lock(&j->mtx);
	bool f = j->failed;
	pthread_mutex_unlock(&j->mtx);
	return f;
}

/*
 * The live directory of keyspace ks, table of table_dir, on this node, and
 * in *root the index of the data dir that holds it.
 */
static char *find_table_dir(const struct agentcfg *c, const char *ks,
    const char *table_dir, size_t *root)
{
	char *tname = manifest_table_name(table_dir), *best = NULL;
	int64_t best_mtime = -1;

	for (size_t i = 0; i < c->n_data_dirs; i++) {
		char *p = xasprintf("%s/data/%s/%s", c->data_dirs[i], ks, table_dir);
		struct stat st;
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			free(best);
			free(tname);
			*root = i;
			return p;
		}
		free(p);
	}
	/* Another cluster (or a re-created table): same name, other id; the
	 * newest directory is the live one, older ones are dropped tables. */
	for (size_t i = 0; i < c->n_data_dirs; i++) {
		char *kdir = xasprintf("%s/data/%s", c->data_dirs[i], ks);
		DIR *d = opendir(kdir);
		struct dirent *e;
		while (d != NULL && (e = readdir(d)) != NULL) {
			struct stat st;
			char *n = manifest_table_name(e->d_name);
			bool same = e->d_name[0] != '.' && strcmp(n, tname) == 0;
			free(n);
			if (!same)
				continue;
			char *p = xasprintf("%s/%s", kdir, e->d_name);
			if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
			    st.st_mtim.tv_sec > best_mtime) {
				free(best);
				best = p;
				best_mtime = st.st_mtim.tv_sec;
				*root = i;
			} else {
				free(p);
			}
		}
		if (d != NULL)
			closedir(d);
		free(kdir);
	}
	free(tname);
	return best;
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
static int rm_tree(const char *path, int depth, char *err, size_t errlen)
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
		rc = rm_tree(p, depth + 1, err, errlen);
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
		int rc = rm_tree(root, 0, err, errlen);
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

static bool staged_ok(const struct opctx *x, const struct rsfile *r,
    unsigned char *buf)
{
	struct stat st;
	char sha[65], err[256];

	if (stat(r->staged, &st) != 0 || (uint64_t)st.st_size != r->f->size)
		return false;
	return hash_file(x, r->staged, buf, sha, NULL, err, sizeof(err)) == 0 &&
	    strcmp(sha, r->f->sha256) == 0;
}

static void rs_table_staged(struct rsjob *j, struct rstable *t)
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
	struct rsjob *j = arg;
	unsigned char *buf = xmalloc(BUF_SIZE);
	char err[1024];

	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		struct rsfile *r;
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
				rs_fail(j, msg);
				break;
			}
			atomic_fetch_add(&j->bytes_fetched, r->f->size);
			atomic_fetch_add(&j->files_fetched, 1);
		}
		meter_file_done(&j->meter, r->f->size);
		rs_table_staged(j, r->t);
		meter_report(&j->meter, false, NULL, NULL);
	}
	free(buf);
	return NULL;
}

/*
 * Free space per file system of the staging roots: fail early, with the
 * numbers, when it is short of what must still be downloaded plus margin.
 */
static int rs_check(const struct agentcfg *c, struct rsjob *j,
    double margin_pct, json_t *data, char *err, size_t errlen)
{
	struct { dev_t dev; uint64_t need, avail; const char *dir; } fs[64];
	size_t nfs = 0;
	uint64_t total = 0, free_min = UINT64_MAX;

	(void)c;
	for (size_t i = 0; i < j->n; i++) {
		struct rsfile *r = &j->files[i];
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

/* Names of the live Data.db files of a table directory (for before/after). */
static char **live_data_files(const char *tdir, size_t *n)
{
	DIR *d = opendir(tdir);
	struct dirent *e;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !str_ends_with(e->d_name, "-Data.db"))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[(*n)++] = xstrdup(e->d_name);
	}
	if (d != NULL)
		closedir(d);
	return v;
}

static void strv_release(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Top-level regular files in dir (the staged SSTables, not index dirs). */
static size_t count_files(const char *dir, bool *exists)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	*exists = d != NULL;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
			n++;
		free(p);
	}
	if (d != NULL)
		closedir(d);
	return n;
}

/* SSTable count of ks.table from `nodetool tablestats ks.table...`. */
static enum cass_rc rs_tablestats(struct rsjob *j, struct rstable **t,
    size_t nt, struct nodetool_tablestats **out, char *err, size_t errlen)
{
	const char **args = xcalloc(nt + 2, sizeof(char *));
	char **names = xcalloc(nt + 1, sizeof(char *));
	enum cass_rc rc;
	char *text = NULL;

	args[0] = "tablestats";
	for (size_t i = 0; i < nt; i++) {
		names[i] = xasprintf("%s.%s", t[i]->ks, t[i]->tname);
		args[i + 1] = names[i];
	}
	*out = NULL;
	rc = cass_nodetool(j->c, args, j->po, &text, err, errlen);
	if (rc == CASS_OK && nodetool_parse_tablestats(text, strlen(text), out,
	    err, errlen) != 0)
		rc = CASS_UNPARSEABLE;
	free(text);
	for (size_t i = 0; i < nt; i++)
		free(names[i]);
	free(names);
	free(args);
	return rc;
}

static int64_t sstables_of(const struct nodetool_tablestats *s,
    const struct rstable *t)
{
	const struct nodetool_table_stats *e = nodetool_tablestats_find(s, t->ks,
	    t->tname);

	return e != NULL ? e->sstable_count : NODETOOL_UNKNOWN;
}

/* Record a table loaded, so a later run can tell it from one never staged. */
/*
 * The record of the tables one restore run has loaded, so that a retry of
 * that run (the orchestrator's step again, after a failure or a crash)
 * neither downloads nor loads them again.  It belongs to the run
 * (--run-id, the orchestrator's task id), never to the backup: a later
 * restore of the same backup, after the data was lost again, must load
 * everything.  No run id, no record.
 */
static char *rs_loaded_path(const struct rsjob *j)
{
	if (j->c->state_dir == NULL || j->run_id == NULL)
		return NULL;
	return xasprintf("%s/restore-%s-%s.loaded", j->c->state_dir,
	    j->backup_id, j->run_id);
}

static void rs_mark_loaded(struct rsjob *j, const struct rstable *t)
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

static bool rs_was_loaded(struct rsjob *j, const struct rstable *t)
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
static int rs_load_table(struct rsjob *j, struct rstable *t, char *err,
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
	have = count_files(t->stage, &exists);
	if (have == 0 && rs_was_loaded(j, t)) {
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
	left = count_files(t->stage, &exists);
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
	 * every table at once when all are loaded (rs_after()), confirms it
	 * and is the only evidence for 3.x refresh.
	 */
	if (j->major >= 4 && t->ndata > 0 && t->new_live == 0) {
		snprintf(err, errlen, "nodetool import %s %s ran, but no new "
		    "SSTable is in %s: Cassandra loaded nothing; look at "
		    "Cassandra's system.log for why", t->ks, t->tname, t->tdir);
		goto out;
	}
	if (rm_tree(t->stage, 2, err, errlen) != 0)
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
static int rs_after(struct rsjob *j, char *err, size_t errlen)
{
	struct rstable **v = xcalloc(j->ntables + 1, sizeof(*v));
	struct nodetool_tablestats *ts = NULL;
	size_t n = 0;
	int ret = 0;

	for (size_t k = 0; k < j->ntables; k++)
		if (j->tables[k].state > 0 && j->tables[k].nfiles > 0)
			v[n++] = &j->tables[k];
	if (n > 0 && rs_tablestats(j, v, n, &ts, err, errlen) != CASS_OK)
		ret = -1;
	for (size_t k = 0; ret == 0 && k < n; k++) {
		struct rstable *t = v[k];
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

static void rs_table_progress(struct rsjob *j, const struct rstable *t)
{
	char tail[320];

	if (t->state == 2)
		snprintf(tail, sizeof(tail), "%s.%s was loaded already", t->ks,
		    t->tname);
	else
		snprintf(tail, sizeof(tail), "%s.%s loaded (%zu files; %lld "
		    "SSTables before, %zu new in the live directory)", t->ks,
		    t->tname, t->nfiles, (long long)t->sst_before, t->new_live);
	meter_report(&j->meter, true, json_pack("{s:I, s:I, s:s, s:s}",
	    "tables_loaded", (json_int_t)j->tables_loaded, "tables_total",
	    (json_int_t)j->ntables, "keyspace", t->ks, "table", t->tname), tail);
}

static int rs_prepare_load(struct rsjob *j, char *err, size_t errlen);

/*
 * Restore mode: load each table once its files are all staged.  The
 * version and the SSTable counts before are read here, while the workers
 * already download.
 */
static void *loader_thread(void *arg)
{
	struct rsjob *j = arg;
	char err[1024];

	if (rs_prepare_load(j, err, sizeof(err)) != 0) {
		rs_fail(j, err);
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
		struct rstable *t = &j->tables[j->queue[j->qhead++]];
		pthread_mutex_unlock(&j->mtx);
		int rc = rs_load_table(j, t, err, sizeof(err));
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
		rs_table_progress(j, t);
		pthread_mutex_lock(&j->mtx);
	}
	pthread_mutex_unlock(&j->mtx);
	return NULL;
}

static int rs_download(struct rsjob *j, int parallel, bool pipelined)
{
	pthread_t tids[64], loader;
	int nt = parallel < (int)j->n ? parallel : (int)j->n;
	char err[1024];

	/* Staging directories first: the workers only write files. */
	for (size_t i = 0; i < j->n; i++) {
		struct rsfile *r = &j->files[i];
		if (r->skip || r->t->loaded_before)
			continue;
		char *dir = xstrndup(r->staged, (size_t)(strrchr(r->staged, '/') -
		    r->staged));
		int rc = mkdirs(dir, err, sizeof(err));
		free(dir);
		if (rc != 0) {
			rs_fail(j, err);
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
		if (pthread_create(&loader, NULL, loader_thread, j) != 0)
			fatalx("cannot start the loader thread");
	}
	if (nt < 1)
		nt = 1;
	for (int i = 0; i < nt; i++)
		if (pthread_create(&tids[i], NULL, restore_worker, j) != 0)
			fatalx("cannot start a download thread");
	for (int i = 0; i < nt; i++)
		pthread_join(tids[i], NULL);
	meter_report(&j->meter, true, NULL, NULL);
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
static int rs_plan(struct rsjob *j, const struct bkopts *o,
    const struct manifest_node *m, const struct manifest_keyset *exclude,
    json_t *skipped, char *err, size_t errlen)
{
	struct rsfile *rs = xcalloc(m->nfiles + 1, sizeof(*rs));
	struct rstable *tabs = xcalloc(m->nfiles + 1, sizeof(*tabs));
	size_t n = 0, nt = 0;

	j->files = rs;
	j->tables = tabs;
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f = &m->files[i];
		char *tname = manifest_table_name(f->table_dir);
		bool sel = (o->nks || o->ntables) ? selected(o, f->keyspace, tname) :
		    !manifest_keyspace_is_system(f->keyspace);
		struct rstable *t = NULL;

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
		struct rstable *t = rs[i].t;
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

static json_t *rs_tables_json(const struct rsjob *j)
{
	json_t *a = json_array();

	for (size_t k = 0; k < j->ntables; k++) {
		const struct rstable *t = &j->tables[k];
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
static int rs_before(struct rsjob *j, char *err, size_t errlen)
{
	struct rstable **v = xcalloc(j->ntables + 1, sizeof(*v));
	size_t n = 0;
	enum cass_rc rc;

	for (size_t k = 0; k < j->ntables; k++)
		if (j->tables[k].nfiles > 0)
			v[n++] = &j->tables[k];
	rc = n ? rs_tablestats(j, v, n, &j->before, err, errlen) : CASS_OK;
	free(v);
	return rc == CASS_OK ? 0 : -1;
}

/* Cassandra's version (which loader) and every table's SSTables before. */
static int rs_prepare_load(struct rsjob *j, char *err, size_t errlen)
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
	struct bkopts o;
	const struct agentcfg *c = op_conf(x);
	const struct proc_opts *po = op_proc_opts(x);
	struct s3 *s3 = NULL;
	struct manifest_node *m = NULL;
	struct manifest_keyset *exclude = NULL;
	struct rsjob j;
	char err[1024];
	int status = OPS_EXIT_FAILED, rc;
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
	if (parse_opts(argc, argv, &o, err, sizeof(err)) != 0) {
		status = op_result(x, OPS_EXIT_USAGE, NULL, "%s", err);
		goto out;
	}
	mode = o.mode ? o.mode : "";
	if (strcmp(mode, "info") == 0) {
		/* This node's identity, for mapping a restore onto it. */
		struct manifest_node *id = manifest_node_new();
		json_t *toks = json_array();
		if (node_identity(c, po, &o, id, err, sizeof(err)) != 0) {
			manifest_node_free(id);
			json_decref(toks);
			status = op_result(x, OPS_EXIT_UNREACHABLE, NULL, "%s", err);
			goto out;
		}
		for (size_t i = 0; i < id->ntokens; i++)
			json_array_append_new(toks, json_string(id->tokens[i]));
		status = op_result(x, OPS_EXIT_OK, json_pack("{s:s, s:s, s:s, s:o}",
		    "host_id", id->host_id, "dc", id->dc, "rack", id->rack,
		    "tokens", toks), NULL);
		manifest_node_free(id);
		goto out;
	}
	if (strcmp(mode, "cleanup") == 0 && o.backup_id != NULL &&
	    o.manifest == NULL) {
		/* Cleanup needs only the backup id: the store may be gone. */
		if (!manifest_backup_id_valid(o.backup_id)) {
			status = op_result(x, OPS_EXIT_USAGE, NULL, "--backup-id '%s' is "
			    "not a backup id", o.backup_id);
			goto out;
		}
		j.backup_id = o.backup_id;
	} else if (o.store == NULL || o.manifest == NULL ||
	    (strcmp(mode, "check") && strcmp(mode, "download") &&
	    strcmp(mode, "load") && strcmp(mode, "restore") &&
	    strcmp(mode, "cleanup"))) {
		status = op_result(x, OPS_EXIT_USAGE, NULL, "--store URL, --manifest "
		    "KEY and --mode check|download|load|restore|cleanup are required "
		    "(or --mode info alone, or --mode cleanup --backup-id ID)");
		goto out;
	}
	json_object_set_new(data, "mode", json_string(mode));
	http_global_init();
	if (j.backup_id == NULL) {
		if ((s3 = open_store(&o, err, sizeof(err))) == NULL)
			goto fail;
		rc = get_manifest(s3, o.manifest, &m, err, sizeof(err));
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
		status = op_result(x, OPS_EXIT_OK, data, NULL);
		data = NULL;
		goto out;
	}
	if (o.exclude != NULL &&
	    get_keyset(s3, o.exclude, &exclude, err, sizeof(err)) != 0)
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
		j.tables[k].loaded_before = count_files(j.tables[k].stage,
		    &exists) == 0 && rs_was_loaded(&j, &j.tables[k]);
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
		meter_init(&j.meter, x, strcmp(mode, "load") == 0 ? "load" :
		    "download", strcmp(mode, "load") == 0 ? "loaded" :
		    "downloaded", files, bytes);
		meter_on = true;
	}

	if ((strcmp(mode, "download") == 0 || strcmp(mode, "restore") == 0) &&
	    j.meter.files_total >= (size_t)o.parallel && o.parallel > 1) {
		struct s3 *one = open_store_inner(&o, 1, err, sizeof(err));
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
		if (rs_check(c, &j, o.margin_pct, data, err, sizeof(err)) != 0)
			goto fail;
		if (strcmp(mode, "check") == 0) {
			status = op_result(x, OPS_EXIT_OK, data, NULL);
			data = NULL;
			goto out;
		}
	}
	if (strcmp(mode, "load") == 0 &&
	    rs_prepare_load(&j, err, sizeof(err)) != 0)
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
		    rs_after(&j, err, sizeof(err)) != 0)
			goto fail;
	} else {
		/* load: the tables one after another, as staged earlier */
		for (size_t k = 0; k < j.ntables; k++) {
			if (op_cancelled(x)) {
				str_copy(err, "cancelled", sizeof(err));
				goto fail;
			}
			if (rs_load_table(&j, &j.tables[k], err, sizeof(err)) != 0)
				goto fail;
			j.tables_loaded++;
			atomic_fetch_add(&j.meter.files_done, j.tables[k].nfiles);
			atomic_fetch_add(&j.meter.bytes_done, j.tables[k].bytes);
			rs_table_progress(&j, &j.tables[k]);
		}
		if (rs_after(&j, err, sizeof(err)) != 0)
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
		    json_integer((json_int_t)meter_rate(&j.meter)));
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
		    (json_int_t)meter_rate(&j.meter)), "%s", summary);
	}
	status = op_result(x, OPS_EXIT_OK, data, NULL);
	data = NULL;
	goto out;
fail:
	if (j.ntables > 0 && data != NULL && json_object_get(data, "tables") == NULL)
		json_object_set_new(data, "tables", rs_tables_json(&j));
	status = op_result(x, OPS_EXIT_FAILED, data, "%s", err);
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
		meter_release(&j.meter);
	pthread_mutex_destroy(&j.mtx);
	pthread_cond_destroy(&j.cond);
	json_decref(skipped);
	json_decref(data);
	manifest_keyset_free(exclude);
	manifest_node_free(m);
	s3_close(s3);
	return status;
}

/* ---- verify ---- */

struct vfjob {
	struct opctx *x;
	struct s3 *s3;
	struct manifest_node *m;
	bool download;
	const char *tmpdir;
	atomic_size_t next;
	struct meter meter;
	pthread_mutex_t mtx;
	json_t *missing, *corrupt;
	bool failed;
	char err[1024];
};

static void *verify_worker(void *arg)
{
	struct vfjob *j = arg;
	char err[1024], *tmp;
	static atomic_int seq;

	tmp = xasprintf("%s/.rm-verify-%d-%d.tmp", j->tmpdir, (int)getpid(),
	    atomic_fetch_add(&seq, 1));
	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		const struct manifest_file *f;
		struct s3_stat st;
		char *why = NULL;
		int rc;

		if (i >= j->m->nfiles || op_cancelled(j->x))
			break;
		f = &j->m->files[i];
		rc = s3_head(j->s3, f->key, &st, err, sizeof(err));
		if (rc < 0) {
			pthread_mutex_lock(&j->mtx);
			if (!j->failed)
				str_copy(j->err, err, sizeof(j->err));
			j->failed = true;
			pthread_mutex_unlock(&j->mtx);
			break;
		}
		if (rc == S3_NOT_FOUND) {
			pthread_mutex_lock(&j->mtx);
			json_array_append_new(j->missing, json_string(f->key));
			pthread_mutex_unlock(&j->mtx);
			meter_file_done(&j->meter, f->size);
			meter_report(&j->meter, false, NULL, NULL);
			continue;
		}
		if (st.size != f->size)
			why = xasprintf("size %llu, the manifest says %llu",
			    (unsigned long long)st.size, (unsigned long long)f->size);
		else if (st.sha256[0] && strcmp(st.sha256, f->sha256) != 0)
			why = xasprintf("recorded SHA-256 %s, the manifest says %s",
			    st.sha256, f->sha256);
		else if (j->download) {
			struct s3_get_opts go = { f->size, f->sha256, NULL };
			rc = s3_get_file(j->s3, f->key, tmp, &go, NULL, err,
			    sizeof(err));
			unlink(tmp);
			if (rc != 0)
				why = xstrdup(err);
		}
		if (why != NULL) {
			pthread_mutex_lock(&j->mtx);
			json_array_append_new(j->corrupt, json_pack("{s:s, s:s}",
			    "key", f->key, "reason", why));
			pthread_mutex_unlock(&j->mtx);
			free(why);
		}
		meter_file_done(&j->meter, f->size);
		meter_report(&j->meter, false, NULL, NULL);
	}
	free(tmp);
	return NULL;
}

int backup_op_verify(struct opctx *x, int argc, char **argv)
{
	struct bkopts o;
	const struct agentcfg *c = op_conf(x);
	struct s3 *s3 = NULL;
	struct vfjob j;
	pthread_t tids[64];
	char err[1024];
	int status, rc, nt;

	memset(&j, 0, sizeof(j));
	if (parse_opts(argc, argv, &o, err, sizeof(err)) != 0)
		return op_result(x, OPS_EXIT_USAGE, NULL, "%s", err);
	if (o.store == NULL || o.manifest == NULL)
		return op_result(x, OPS_EXIT_USAGE, NULL, "--store URL and --manifest "
		    "KEY are required");
	http_global_init();
	if ((s3 = open_store(&o, err, sizeof(err))) == NULL) {
		status = op_result(x, OPS_EXIT_FAILED, NULL, "%s", err);
		goto out;
	}
	rc = get_manifest(s3, o.manifest, &j.m, err, sizeof(err));
	if (rc != 0) {
		status = op_result(x, OPS_EXIT_FAILED, NULL, "%s", rc == S3_NOT_FOUND ?
		    "node manifest not found" : err);
		goto out;
	}
	j.x = x;
	j.s3 = s3;
	j.download = o.download;
	j.tmpdir = c->state_dir ? c->state_dir : "/tmp";
	mkdir(j.tmpdir, 0700);
	j.missing = json_array();
	j.corrupt = json_array();
	pthread_mutex_init(&j.mtx, NULL);
	meter_init(&j.meter, x, "verify", o.download ? "downloaded and checked" :
	    "checked", j.m->nfiles, j.m->bytes);
	nt = o.parallel < (int)j.m->nfiles ? o.parallel : (int)j.m->nfiles;
	for (int i = 0; i < nt; i++)
		if (pthread_create(&tids[i], NULL, verify_worker, &j) != 0)
			fatalx("cannot start a verify thread");
	for (int i = 0; i < nt; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&j.mtx);
	{
		char tail[96];
		snprintf(tail, sizeof(tail), "%zu missing, %zu corrupt",
		    json_array_size(j.missing), json_array_size(j.corrupt));
		meter_report(&j.meter, true, NULL, tail);
	}
	meter_release(&j.meter);
	if (j.failed || op_cancelled(x)) {
		json_decref(j.missing);
		json_decref(j.corrupt);
		status = op_result(x, OPS_EXIT_FAILED, NULL, "%s", j.failed ? j.err :
		    "cancelled");
		goto out;
	}
	{
		char summary[160];
		snprintf(summary, sizeof(summary), "%zu/%zu files %s: %zu missing, "
		    "%zu corrupt", j.m->nfiles, j.m->nfiles, o.download ?
		    "downloaded and checked" : "checked", json_array_size(j.missing),
		    json_array_size(j.corrupt));
		status = op_result(x, OPS_EXIT_OK, json_pack("{s:I, s:I, s:b, s:o,"
		    " s:o, s:s}", "files", (json_int_t)j.m->nfiles, "bytes",
		    (json_int_t)j.m->bytes, "downloaded", o.download, "missing",
		    j.missing, "corrupt", j.corrupt, "summary", summary), NULL);
	}
out:
	manifest_node_free(j.m);
	s3_close(s3);
	return status;
}
