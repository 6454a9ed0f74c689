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
	const char *previous, *manifest, *mode;
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

static struct s3 *open_store(const struct bkopts *o, char *err,
    size_t errlen)
{
	struct s3_opts so;

	s3_opts_init(&so);
	so.endpoint = o->endpoint;
	so.region = o->region;
	so.parallel = o->parallel;
	if (o->rate_mib > 0)
		so.rate_limit = (uint64_t)(o->rate_mib * 1048576.0);
	return s3_open(o->store, &so, err, errlen);
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
	struct upfile *files;
	size_t n;
	atomic_size_t next;
	atomic_size_t done;
	atomic_uint_least64_t bytes_done, bytes_put;
	int journal;
	pthread_mutex_t mtx;
	char err[1024];			/* first failure */
	bool failed;
	int64_t last_progress;
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
	int64_t now = time_mono_ms();
	size_t done = atomic_load(&j->done);

	pthread_mutex_lock(&j->mtx);
	if (!force && now - j->last_progress < 1000) {
		pthread_mutex_unlock(&j->mtx);
		return;
	}
	j->last_progress = now;
	pthread_mutex_unlock(&j->mtx);
	op_progress(j->x, json_pack("{s:I, s:I, s:I, s:I}", "files_done",
	    (json_int_t)done, "files", (json_int_t)j->n, "bytes_done",
	    (json_int_t)atomic_load(&j->bytes_done), "bytes_uploaded",
	    (json_int_t)atomic_load(&j->bytes_put)),
	    "%zu/%zu files, %llu bytes uploaded", done, j->n,
	    (unsigned long long)atomic_load(&j->bytes_put));
}

static int upload_one(struct upjob *j, struct upfile *u, unsigned char *buf,
    char *err, size_t errlen)
{
	struct manifest_file *f = &u->f;
	const struct manifest_file *p;
	struct s3_stat st;
	struct s3_put_opts po = { NULL, NULL, NULL };
	char md5[33];
	bool want_md5;
	int rc;

	p = manifest_node_find(j->prev, f->keyspace, f->table_dir, f->name);
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
	f->key = manifest_data_key(j->o->cluster, j->o->host_id, f->keyspace,
	    f->table_dir, f->name);
	if (p != NULL && strcmp(p->key, f->key) == 0) {
		/* Same name, other content (a rebuilt node reusing
		 * generations): never overwrite what old backups reference. */
		free(f->key);
		f->key = xasprintf("%s/data/%s/%s/%s/%s.%.16s", j->o->cluster,
		    j->o->host_id, f->keyspace, f->table_dir, f->name,
		    f->sha256);
	}
	rc = s3_head(j->s3, f->key, &st, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 0 && st.size == f->size && strcmp(st.sha256, f->sha256) == 0) {
		u->outcome = 2;
		return 0;
	}
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
		atomic_fetch_add(&j->done, 1);
		atomic_fetch_add(&j->bytes_done, j->files[i].f.size);
		job_progress(j, false);
	}
	free(buf);
	return NULL;
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
					struct stat st;
					if (e->d_name[0] == '.' ||
					    strcmp(e->d_name, "manifest.json") == 0 ||
					    strcmp(e->d_name, "schema.cql") == 0)
						continue;
					char *p = xasprintf("%s/%s", sdir, e->d_name);
					if (stat(p, &st) != 0 || !S_ISREG(st.st_mode) ||
					    !manifest_component_safe(e->d_name)) {
						free(p);
						continue;
					}
					if (n == cap) {
						cap = cap ? cap * 2 : 256;
						v = xrealloc(v, cap * sizeof(*v));
					}
					memset(&v[n], 0, sizeof(v[n]));
					v[n].path = p;
					v[n].f.keyspace = xstrdup(k->d_name);
					v[n].f.table_dir = xstrdup(t->d_name);
					v[n].f.name = xstrdup(e->d_name);
					v[n].f.size = (uint64_t)st.st_size;
					v[n].f.mtime_ns = (int64_t)st.st_mtim.tv_sec *
					    1000000000 + st.st_mtim.tv_nsec;
					n++;
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
	if (scan_snapshot(c, &o, &files, &nfiles, m, err, sizeof(err)) != 0) {
		status = op_result(x, OPS_EXIT_FAILED, NULL, "%s", err);
		goto out;
	}
	op_progress(x, json_pack("{s:I}", "files", (json_int_t)nfiles),
	    "snapshot '%s': %zu files in %zu tables", o.tag, nfiles, m->ntables);
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
		    "%zu files; run again to resume", atomic_load(&j.done), nfiles);
		goto out;
	}
	if (j.failed) {
		status = op_result(x, OPS_EXIT_FAILED, NULL, "%s (%zu of %zu files "
		    "stored; run again to resume)", j.err, atomic_load(&j.done),
		    nfiles);
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
	status = op_result(x, OPS_EXIT_OK, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I,"
	    " s:I, s:I, s:I, s:b}", "manifest", key, "host_id", m->host_id,
	    "files", (json_int_t)nfiles, "files_reused", (json_int_t)reused,
	    "files_resumed", (json_int_t)resumed, "files_uploaded",
	    (json_int_t)(put + resumed), "bytes", (json_int_t)m->bytes,
	    "bytes_uploaded", (json_int_t)m->bytes_uploaded, "elapsed_ms",
	    (json_int_t)(time_wall_ms() - t0), "already", 0), NULL);
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
	manifest_node_free(done);
	manifest_node_free(m);
	s3_close(s3);
	pthread_mutex_destroy(&j.mtx);
	return status;
}

/* ---- restore ---- */

struct rsfile {
	const struct manifest_file *f;
	char *tdir;			/* target table directory */
	char *staged;			/* <tdir>/.rm-restore-<id>/<name> */
	bool skip;			/* already staged and verified */
};

struct rsjob {
	struct opctx *x;
	struct s3 *s3;
	struct rsfile *files;
	size_t n;
	atomic_size_t next, done;
	atomic_uint_least64_t bytes;
	pthread_mutex_t mtx;
	bool failed;
	char err[1024];
	int64_t last;
};

/* The live directory of keyspace ks, table of table_dir, on this node. */
static char *find_table_dir(const struct agentcfg *c, const char *ks,
    const char *table_dir)
{
	char *tname = manifest_table_name(table_dir), *best = NULL;
	int64_t best_mtime = -1;

	for (size_t i = 0; i < c->n_data_dirs; i++) {
		char *p = xasprintf("%s/data/%s/%s", c->data_dirs[i], ks, table_dir);
		struct stat st;
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			free(best);
			free(tname);
			return p;
		}
		free(p);
	}
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

		if (i >= j->n || op_cancelled(j->x))
			break;
		pthread_mutex_lock(&j->mtx);
		bool stop = j->failed;
		pthread_mutex_unlock(&j->mtx);
		if (stop)
			break;
		r = &j->files[i];
		if (!staged_ok(j->x, r, buf)) {
			go.size = r->f->size;
			go.sha256 = r->f->sha256;
			go.md5 = NULL;
			rc = s3_get_file(j->s3, r->f->key, r->staged, &go, NULL,
			    err, sizeof(err));
			if (rc != 0) {
				pthread_mutex_lock(&j->mtx);
				if (!j->failed) {
					j->failed = true;
					if (rc == S3_NOT_FOUND)
						snprintf(j->err, sizeof(j->err), "object %s "
						    "is missing from the store: the backup is "
						    "damaged (run a verify task)", r->f->key);
					else
						str_copy(j->err, err, sizeof(j->err));
				}
				pthread_mutex_unlock(&j->mtx);
				break;
			}
			atomic_fetch_add(&j->bytes, r->f->size);
		}
		size_t d = atomic_fetch_add(&j->done, 1) + 1;
		int64_t now = time_mono_ms();
		pthread_mutex_lock(&j->mtx);
		bool say = now - j->last >= 1000 || d == j->n;
		if (say)
			j->last = now;
		pthread_mutex_unlock(&j->mtx);
		if (say)
			op_progress(j->x, json_pack("{s:I, s:I, s:I}", "files_done",
			    (json_int_t)d, "files", (json_int_t)j->n, "bytes_downloaded",
			    (json_int_t)atomic_load(&j->bytes)),
			    "%zu/%zu files downloaded", d, j->n);
	}
	free(buf);
	return NULL;
}

static char *staging_dir(const char *tdir, const char *backup_id)
{
	return xasprintf("%s/.rm-restore-%s", tdir, backup_id);
}

static int rs_check(struct rsfile *rs, size_t n, double margin_pct,
    json_t *data, char *err, size_t errlen)
{
	struct { dev_t dev; uint64_t need, avail; const char *dir; } fs[64];
	size_t nfs = 0;
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++) {
		struct stat st;
		struct statvfs vfs;
		size_t k;

		if (stat(rs[i].staged, &st) == 0 &&
		    (uint64_t)st.st_size == rs[i].f->size)
			continue;	/* staged by an earlier attempt */
		if (stat(rs[i].tdir, &st) != 0) {
			snprintf(err, errlen, "cannot stat %s: %s", rs[i].tdir,
			    strerror(errno));
			return -1;
		}
		for (k = 0; k < nfs && fs[k].dev != st.st_dev; k++)
			;
		if (k == nfs) {
			if (nfs == ARRAY_SIZE(fs) || statvfs(rs[i].tdir, &vfs) != 0) {
				snprintf(err, errlen, "cannot read the free space of "
				    "%s", rs[i].tdir);
				return -1;
			}
			fs[nfs].dev = st.st_dev;
			fs[nfs].need = 0;
			fs[nfs].avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
			fs[nfs].dir = rs[i].tdir;
			nfs++;
		}
		fs[k].need += rs[i].f->size;
		total += rs[i].f->size;
	}
	json_object_set_new(data, "bytes_needed", json_integer((json_int_t)total));
	for (size_t k = 0; k < nfs; k++) {
		uint64_t want = (uint64_t)((double)fs[k].need *
		    (1.0 + margin_pct / 100.0));
		json_object_set_new(data, "bytes_free",
		    json_integer((json_int_t)fs[k].avail));
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

/* Move the staged files of one table in and have Cassandra load them. */
static int rs_load_table(const struct agentcfg *c, const struct proc_opts *po,
    int major, const char *ks, const char *tdir, const char *stage,
    size_t nexpect, char *err, size_t errlen)
{
	char *tname, *out = NULL, *b = xstrdup(tdir);
	const char *tbl = strrchr(b, '/') ? strrchr(b, '/') + 1 : b;
	DIR *d;
	struct dirent *e;
	size_t have = 0, left = 0;
	enum cass_rc rc;
	int ret = -1;

	tname = manifest_table_name(tbl);
	if ((d = opendir(stage)) == NULL) {
		ret = 1;		/* loaded by an earlier attempt */
		goto out;
	}
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			have++;
	closedir(d);
	if (have < nexpect) {
		snprintf(err, errlen, "%s holds %zu of the %zu files to load: run "
		    "the download first", stage, have, nexpect);
		goto out;
	}
	if (major >= 4) {
		const char *args[] = { "import", ks, tname, stage, NULL };
		rc = cass_nodetool(c, args, po, &out, err, errlen);
	} else {
		if ((d = opendir(stage)) == NULL) {
			snprintf(err, errlen, "cannot open %s", stage);
			goto out;
		}
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char *from = xasprintf("%s/%s", stage, e->d_name);
			char *to = xasprintf("%s/%s", tdir, e->d_name);
			struct stat st;
			int r2 = -1;
			if (lstat(to, &st) == 0)
				snprintf(err, errlen, "%s already exists: move the "
				    "table's live SSTables away before restoring "
				    "into it on Cassandra 3.x", to);
			else if ((r2 = rename(from, to)) != 0)
				snprintf(err, errlen, "cannot move %s to %s: %s",
				    from, to, strerror(errno));
			free(from);
			free(to);
			if (r2 != 0) {
				closedir(d);
				goto out;
			}
		}
		closedir(d);
		const char *args[] = { "refresh", ks, tname, NULL };
		rc = cass_nodetool(c, args, po, &out, err, errlen);
	}
	if (rc != CASS_OK)
		goto out;
	/* Check: every staged file went in. */
	if ((d = opendir(stage)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				left++;
		closedir(d);
	}
	if (left > 0) {
		snprintf(err, errlen, "nodetool %s %s %s left %zu files in %s: "
		    "Cassandra did not load them (see its log)", major >= 4 ?
		    "import" : "refresh", ks, tname, left, stage);
		goto out;
	}
	rmdir(stage);
	ret = 0;
out:
	free(out);
	free(tname);
	free(b);
	return ret;
}

int backup_op_restore(struct opctx *x, int argc, char **argv)
{
	struct bkopts o;
	const struct agentcfg *c = op_conf(x);
	const struct proc_opts *po = op_proc_opts(x);
	struct s3 *s3 = NULL;
	struct manifest_node *m = NULL;
	struct rsfile *rs = NULL;
	size_t n = 0;
	char err[1024];
	int status = OPS_EXIT_FAILED, rc;
	json_t *data = json_object();

	if (parse_opts(argc, argv, &o, err, sizeof(err)) != 0) {
		json_decref(data);
		return op_result(x, OPS_EXIT_USAGE, NULL, "%s", err);
	}
	if (o.mode != NULL && strcmp(o.mode, "info") == 0)
		o.store = o.store ? o.store : "-";
	if (o.mode == NULL || ((o.store == NULL || o.manifest == NULL) &&
	    strcmp(o.mode, "info") != 0) || (strcmp(o.mode, "check") && strcmp(o.mode, "download") &&
	    strcmp(o.mode, "load") && strcmp(o.mode, "info"))) {
		json_decref(data);
		return op_result(x, OPS_EXIT_USAGE, NULL, "--store URL, --manifest KEY "
		    "and --mode check|download|load are required (or --mode "
		    "info alone)");
	}
	http_global_init();
	if (strcmp(o.mode, "info") == 0) {
		/* This node's identity, for mapping a restore onto it. */
		struct manifest_node *id = manifest_node_new();
		json_t *toks = json_array();
		json_decref(data);
		data = NULL;
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
	if ((s3 = open_store(&o, err, sizeof(err))) == NULL)
		goto fail;
	rc = get_manifest(s3, o.manifest, &m, err, sizeof(err));
	if (rc == S3_NOT_FOUND)
		snprintf(err, sizeof(err), "node manifest %s not found", o.manifest);
	if (rc != 0)
		goto fail;
	rs = xcalloc(m->nfiles + 1, sizeof(*rs));
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f = &m->files[i];
		char *tname = manifest_table_name(f->table_dir);
		bool sel = (o.nks || o.ntables) ? selected(&o, f->keyspace, tname) :
		    !manifest_keyspace_is_system(f->keyspace);
		free(tname);
		if (!sel)
			continue;
		/* Reuse the lookup of the previous file of the same table. */
		if (n > 0 && strcmp(rs[n - 1].f->keyspace, f->keyspace) == 0 &&
		    strcmp(rs[n - 1].f->table_dir, f->table_dir) == 0) {
			rs[n].tdir = xstrdup(rs[n - 1].tdir);
		} else if ((rs[n].tdir = find_table_dir(c, f->keyspace,
		    f->table_dir)) == NULL) {
			snprintf(err, sizeof(err), "table %s.%s does not exist on this "
			    "node: create the schema first (the backup's node manifest "
			    "%s holds each table's CREATE statement)", f->keyspace,
			    f->table_dir, o.manifest);
			goto fail;
		}
		char *stage = staging_dir(rs[n].tdir, m->backup_id);
		rs[n].staged = xasprintf("%s/%s", stage, f->name);
		free(stage);
		rs[n].f = f;
		n++;
	}
	json_object_set_new(data, "files", json_integer((json_int_t)n));
	if (n == 0) {
		snprintf(err, sizeof(err), "nothing to restore: the manifest %s has "
		    "no files of the keyspaces and tables asked", o.manifest);
		goto fail;
	}
	if (strcmp(o.mode, "check") == 0) {
		if (rs_check(rs, n, o.margin_pct, data, err, sizeof(err)) != 0)
			goto fail;
		status = op_result(x, OPS_EXIT_OK, data, NULL);
		data = NULL;
	} else if (strcmp(o.mode, "download") == 0) {
		struct rsjob j;
		pthread_t tids[64];
		int nt = o.parallel < (int)n ? o.parallel : (int)n;

		memset(&j, 0, sizeof(j));
		pthread_mutex_init(&j.mtx, NULL);
		j.x = x;
		j.s3 = s3;
		j.files = rs;
		j.n = n;
		for (size_t i = 0; i < n; i++) {
			char *stage = staging_dir(rs[i].tdir, m->backup_id);
			if (mkdir(stage, 0755) != 0 && errno != EEXIST) {
				snprintf(err, sizeof(err), "cannot create %s: %s",
				    stage, strerror(errno));
				free(stage);
				pthread_mutex_destroy(&j.mtx);
				goto fail;
			}
			free(stage);
		}
		for (int i = 0; i < nt; i++)
			if (pthread_create(&tids[i], NULL, restore_worker, &j) != 0)
				fatalx("cannot start a download thread");
		for (int i = 0; i < nt; i++)
			pthread_join(tids[i], NULL);
		pthread_mutex_destroy(&j.mtx);
		if (j.failed || op_cancelled(x)) {
			str_copy(err, j.failed ? j.err : "cancelled", sizeof(err));
			goto fail;
		}
		json_object_set_new(data, "bytes_downloaded",
		    json_integer((json_int_t)atomic_load(&j.bytes)));
		status = op_result(x, OPS_EXIT_OK, data, NULL);
		data = NULL;
	} else {
		struct nodetool_version *v = NULL;
		size_t tables = 0, skipped = 0;

		if (cass_version(c, po, &v, err, sizeof(err)) != CASS_OK) {
			status = op_result(x, OPS_EXIT_UNREACHABLE, data, "%s", err);
			data = NULL;
			goto out;
		}
		int major = v->major;
		nodetool_version_free(v);
		for (size_t i = 0; i < n;) {
			size_t k = i;
			while (k < n && strcmp(rs[k].tdir, rs[i].tdir) == 0)
				k++;
			char *stage = staging_dir(rs[i].tdir, m->backup_id);
			op_progress(x, NULL, "loading %zu files into %s.%s", k - i,
			    rs[i].f->keyspace, rs[i].f->table_dir);
			rc = rs_load_table(c, po, major, rs[i].f->keyspace,
			    rs[i].tdir, stage, k - i, err, sizeof(err));
			free(stage);
			if (rc < 0)
				goto fail;
			tables++;
			skipped += rc == 1;
			i = k;
		}
		json_object_set_new(data, "tables", json_integer((json_int_t)tables));
		json_object_set_new(data, "tables_already_loaded",
		    json_integer((json_int_t)skipped));
		json_object_set_new(data, "loader", json_string(major >= 4 ?
		    "import" : "refresh"));
		status = op_result(x, OPS_EXIT_OK, data, NULL);
		data = NULL;
	}
	goto out;
fail:
	status = op_result(x, OPS_EXIT_FAILED, data, "%s", err);
	data = NULL;
out:
	for (size_t i = 0; i < n; i++) {
		free(rs[i].tdir);
		free(rs[i].staged);
	}
	free(rs);
	json_decref(data);
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
	atomic_size_t next, done;
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
			atomic_fetch_add(&j->done, 1);
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
		atomic_fetch_add(&j->done, 1);
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
	nt = o.parallel < (int)j.m->nfiles ? o.parallel : (int)j.m->nfiles;
	for (int i = 0; i < nt; i++)
		if (pthread_create(&tids[i], NULL, verify_worker, &j) != 0)
			fatalx("cannot start a verify thread");
	for (int i = 0; i < nt; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&j.mtx);
	if (j.failed || op_cancelled(x)) {
		json_decref(j.missing);
		json_decref(j.corrupt);
		status = op_result(x, OPS_EXIT_FAILED, NULL, "%s", j.failed ? j.err :
		    "cancelled");
		goto out;
	}
	status = op_result(x, OPS_EXIT_OK, json_pack("{s:I, s:I, s:b, s:o, s:o}",
	    "files", (json_int_t)j.m->nfiles, "bytes", (json_int_t)j.m->bytes,
	    "downloaded", o.download, "missing", j.missing, "corrupt",
	    j.corrupt), NULL);
out:
	manifest_node_free(j.m);
	s3_close(s3);
	return status;
}
