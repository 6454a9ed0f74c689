/*
 * backup_verify.c - backup-verify: every file of a node manifest is stored with its
 * size (and, with --download, its SHA-256).
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

/* ---- verify ---- */

struct vfjob {
	struct opctx *x;
	struct s3 *s3;
	struct manifest_node *m;
	bool download;
	const char *tmpdir;
	atomic_size_t next;
	struct backup_meter meter;
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
			backup_meter_file_done(&j->meter, f->size);
			backup_meter_report(&j->meter, false, NULL, NULL);
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
		backup_meter_file_done(&j->meter, f->size);
		backup_meter_report(&j->meter, false, NULL, NULL);
	}
	free(tmp);
	return NULL;
}

int backup_op_verify(struct opctx *x, int argc, char **argv)
{
	struct backup_opts o;
	const struct agentcfg *c = op_conf(x);
	struct s3 *s3 = NULL;
	struct vfjob j;
	pthread_t tids[64];
	char err[1024];
	int status, rc, nt;

	memset(&j, 0, sizeof(j));
	if (backup_parse_opts(argc, argv, &o, err, sizeof(err)) != 0)
		return op_result(x, OPEXIT_USAGE, NULL, "%s", err);
	if (o.store == NULL || o.manifest == NULL)
		return op_result(x, OPEXIT_USAGE, NULL, "--store URL and --manifest "
		    "KEY are required");
	http_global_init();
	if ((s3 = backup_open_store(&o, err, sizeof(err))) == NULL) {
		status = op_result(x, OPEXIT_FAILED, NULL, "%s", err);
		goto out;
	}
	rc = backup_get_manifest(s3, o.manifest, &j.m, err, sizeof(err));
	if (rc != 0) {
		status = op_result(x, OPEXIT_FAILED, NULL, "%s", rc == S3_NOT_FOUND ?
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
	backup_meter_init(&j.meter, x, "verify", o.download ? "downloaded and checked" :
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
		backup_meter_report(&j.meter, true, NULL, tail);
	}
	backup_meter_release(&j.meter);
	if (j.failed || op_cancelled(x)) {
		json_decref(j.missing);
		json_decref(j.corrupt);
		status = op_result(x, OPEXIT_FAILED, NULL, "%s", j.failed ? j.err :
		    "cancelled");
		goto out;
	}
	{
		char summary[160];
		snprintf(summary, sizeof(summary), "%zu/%zu files %s: %zu missing, "
		    "%zu corrupt", j.m->nfiles, j.m->nfiles, o.download ?
		    "downloaded and checked" : "checked", json_array_size(j.missing),
		    json_array_size(j.corrupt));
		status = op_result(x, OPEXIT_OK, json_pack("{s:I, s:I, s:b, s:o,"
		    " s:o, s:s}", "files", (json_int_t)j.m->nfiles, "bytes",
		    (json_int_t)j.m->bytes, "downloaded", o.download, "missing",
		    j.missing, "corrupt", j.corrupt, "summary", summary), NULL);
	}
out:
	manifest_node_free(j.m);
	s3_close(s3);
	return status;
}
