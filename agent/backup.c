/*
 * backup.c - what the backup operations share: their options, the store,
 * hashing a file, and the progress meter.  The operations are in
 * backup_upload.c, backup_restore.c (with backup_load.c) and
 * backup_verify.c; see backup.h, and backup_int.h for what they share.
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
#include "backup_int.h"

/* ---- shared option parsing ---- */

enum {
	O_STORE = 256, O_ENDPOINT, O_REGION, O_CLUSTER, O_BACKUP, O_TAG,
	O_HOST, O_ADDRESS, O_DC, O_RACK, O_PREVIOUS, O_MANIFEST, O_MODE,
	O_KS, O_TABLE, O_PARALLEL, O_RATE, O_HASHALL, O_DOWNLOAD, O_MARGIN,
	O_EXCLUDE, O_RUNID,
};

int backup_parse_opts(int argc, char **argv, struct backup_opts *o, char *err,
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

bool backup_selected(const struct backup_opts *o, const char *ks,
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
struct s3 *backup_open_store_inner(const struct backup_opts *o, int inner,
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

struct s3 *backup_open_store(const struct backup_opts *o, char *err,
    size_t errlen)
{
	return backup_open_store_inner(o, 0, err, errlen);
}

/*
 * SHA-256 of path in sha_hex and, when md5_hex is not NULL, its MD5 from
 * the same read: an upload then sends that MD5 as Content-MD5 instead of
 * reading the file once more for it.
 */
int backup_hash_file(const struct opctx *x, const char *path,
    unsigned char *buf, char sha_hex[65], char md5_hex[33], char *err,
    size_t errlen)
{
	struct sha256_ctx c = SHA256_CTX_ZERO;
	struct md5_ctx m = MD5_CTX_ZERO;
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
	if (md5_hex != NULL)
		md5_init(&m);
	while ((n = read(fd, buf, BUF_SIZE)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot read '%s': %s", path,
			    strerror(errno));
			close(fd);
			sha256_release(&c);
			md5_release(&m);
			return -1;
		}
		sha256_update(&c, buf, (size_t)n);
		if (md5_hex != NULL)
			md5_update(&m, buf, (size_t)n);
		if (op_cancelled(x)) {
			snprintf(err, errlen, "cancelled");
			close(fd);
			sha256_release(&c);
			md5_release(&m);
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

void backup_meter_init(struct backup_meter *m, struct opctx *x, const char *phase,
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

void backup_meter_release(struct backup_meter *m)
{
	pthread_mutex_destroy(&m->mtx);
}

/* One file done (bytes of it); the rate stops at the last file. */
void backup_meter_file_done(struct backup_meter *m, uint64_t bytes)
{
	atomic_fetch_add(&m->bytes_done, bytes);
	if (atomic_fetch_add(&m->files_done, 1) + 1 >= m->files_total)
		atomic_store(&m->t_end, time_mono_ms());
}

uint64_t backup_meter_rate(struct backup_meter *m)
{
	int64_t end = atomic_load(&m->t_end);
	int64_t ms = (end ? end : time_mono_ms()) - m->t0;

	return ms > 0 ? (uint64_t)((double)atomic_load(&m->bytes_done) *
	    1000.0 / (double)ms) : 0;
}

/* "1.50 GiB" style, into buf. */
const char *backup_human(uint64_t n, char *buf, size_t len)
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
void backup_meter_report(struct backup_meter *m, bool force, json_t *extra,
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
	rate = backup_meter_rate(m);
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
	    m->files_total, m->verb, backup_human(bytes, b1, sizeof(b1)),
	    backup_human(m->bytes_total, b2, sizeof(b2)), backup_human(rate, b3, sizeof(b3)),
	    tail ? ", " : "", tail ? tail : "");
}

