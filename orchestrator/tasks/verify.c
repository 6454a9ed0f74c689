/*
 * verify.c - the "verify" task type: every object a backup references is
 * present with the right size (HEAD), or downloaded and checksummed on
 * the nodes; damage is recorded in the store for every backup that uses
 * the damaged object.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/log.h"
#include "../../common/manifest.h"
#include "../../common/s3.h"
#include "../../common/util.h"
#include "../engine/params.h"
#include "../engine/task.h"
#include "../nodes/nodeops.h"
#include "../store/store.h"
#include "backup.h"
#include "bk.h"

/* ---- verify ---- */

int verify_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	(void)params;
	(void)nodes;
	(void)err;
	(void)errlen;
	task_plan_add(plan, "verify", NULL);
	return 0;
}

/* Every key of the files of backup id (node manifests read from storage),
 * sorted; NULL when a manifest cannot be read. */
static char **backup_keys(struct bk *b, const char *id, size_t *n, char *err,
    size_t errlen)
{
	struct manifest_cluster *c;
	char **v = NULL;
	int nf;

	*n = 0;
	if ((c = bk_cluster_manifest(b->s3, b->cluster, id, &nf, err,
	    errlen)) == NULL)
		return NULL;
	for (size_t k = 0; k < c->nnodes; k++) {
		struct manifest_node *m = bk_node_manifest(b->s3,
		    c->nodes[k].manifest, err, errlen);
		if (m == NULL) {
			bk_strv_free(v, *n);
			manifest_cluster_free(c);
			*n = 0;
			return NULL;
		}
		v = xrealloc(v, (*n + m->nfiles + 1) * sizeof(char *));
		for (size_t f = 0; f < m->nfiles; f++)
			v[(*n)++] = xstrdup(m->files[f].key);
		manifest_node_free(m);
	}
	manifest_cluster_free(c);
	if (v == NULL)
		v = xcalloc(1, sizeof(char *));
	qsort(v, *n, sizeof(char *), bk_str_cmp);
	return v;
}

/*
 * Record what a verify of backup id found (bad: n files) in the index:
 * the backup's damaged files; lost or corrupt content objects as damaged
 * objects of the cluster (so no later backup references them); objects
 * recorded damaged that this verify found sound, cleared; and every other
 * complete backup that references a damaged object marked damaged, with
 * the files named.  Runs on the task's worker (it reads manifests).
 */
static int verify_record(struct bk *b, const char *id,
    struct manifest_node *const *ms, size_t nms,
    const struct store_backup_file *bad, size_t n, char *err, size_t errlen)
{
	char *data_prefix = xasprintf("%s/data/", b->cluster), serr[256];
	struct store_damaged *dv = NULL;
	struct store_backup *v = NULL;
	size_t ndv = 0, nv = 0, marked = 0;
	int rc = TASK_STEP_FAIL;

	if (store_backup_verified(b->st, b->cluster, id, task_ctx_id(b->ctx),
	    time_wall_ms(), bad, n, serr, sizeof(serr)) == RM_ERR)
		goto store_failed;
	for (size_t i = 0; i < n; i++) {
		struct store_damaged d = { bad[i].key, bad[i].reason,
		    time_wall_ms(), "" };
		if (strncmp(bad[i].key, data_prefix, strlen(data_prefix)) != 0)
			continue;	/* a manifest: this backup's own */
		str_copy(d.task_id, task_ctx_id(b->ctx), sizeof(d.task_id));
		if (store_damaged_put(b->st, b->cluster, &d, serr,
		    sizeof(serr)) != 0)
			goto store_failed;
	}
	if (store_damaged_list(b->st, b->cluster, &dv, &ndv) != 0)
		goto store_failed;
	/* Sound again: referenced by this backup, checked, not bad now. */
	for (size_t i = 0; i < ndv; i++) {
		bool mine = false, still = false;
		for (size_t k = 0; k < nms && !mine; k++)
			for (size_t f = 0; f < ms[k]->nfiles && !mine; f++)
				mine = strcmp(ms[k]->files[f].key, dv[i].key) == 0;
		for (size_t k = 0; k < n && !still; k++)
			still = strcmp(bad[k].key, dv[i].key) == 0;
		if (mine && !still && store_damaged_clear(b->st, b->cluster,
		    dv[i].key, serr, sizeof(serr)) != 0)
			goto store_failed;
	}
	store_damaged_free(dv, ndv);
	dv = NULL;
	if (store_damaged_list(b->st, b->cluster, &dv, &ndv) != 0)
		goto store_failed;
	if (ndv > 0 && store_backup_list(b->st, b->cluster, &v, &nv) != 0)
		goto store_failed;
	for (size_t i = 0; i < nv; i++) {
		struct store_backup_file *hit;
		size_t nk, nhit = 0;
		char **keys;
		if (!bk_state_is_complete(v[i].state) || strcmp(v[i].id, id) == 0)
			continue;
		if (task_checkpoint(b->ctx)) {
			rc = TASK_STEP_STOP;
			goto out;
		}
		if ((keys = backup_keys(b, v[i].id, &nk, err, errlen)) == NULL) {
			log_warnx("verify of '%s': cannot read backup %s to look "
			    "for damaged objects: %s", b->cluster, v[i].id, err);
			continue;
		}
		hit = xcalloc(ndv + 1, sizeof(*hit));
		for (size_t k = 0; k < ndv; k++)
			if (bsearch(&dv[k].key, keys, nk, sizeof(char *),
			    bk_str_cmp) != NULL)
				hit[nhit++] = (struct store_backup_file){
				    dv[k].key, dv[k].reason };
		if (nhit > 0 && store_backup_mark_damaged(b->st, b->cluster,
		    v[i].id, hit, nhit, serr, sizeof(serr)) == RM_ERR) {
			free(hit);
			bk_strv_free(keys, nk);
			goto store_failed;
		}
		marked += nhit > 0;
		free(hit);
		bk_strv_free(keys, nk);
	}
	if (marked > 0)
		task_progress(b->ctx, "%zu other backups reference damaged "
		    "objects: marked damaged", marked);
	rc = TASK_STEP_OK;
	goto out;
store_failed:
	snprintf(err, errlen, "cannot record the verify of backup %s in the "
	    "index: %s", id, serr);
out:
	store_backups_free(v, nv);
	store_damaged_free(dv, ndv);
	free(data_prefix);
	return rc;
}

struct vfarg {
	struct bk *b;
	struct manifest_node **ms;
	size_t nms;
	size_t total;
	atomic_size_t next;
	atomic_size_t done;
	pthread_mutex_t mtx;
	json_t *missing, *corrupt;
	char err[512];
	bool failed;
};

static void *verify_head_worker(void *arg)
{
	struct vfarg *a = arg;
	char err[512];

	for (;;) {
		size_t i = atomic_fetch_add(&a->next, 1), k = 0, off = i;
		const struct manifest_file *f;
		struct s3_stat st;
		int rc;

		if (i >= a->total || task_checkpoint(a->b->ctx))
			break;
		while (off >= a->ms[k]->nfiles)
			off -= a->ms[k++]->nfiles;
		f = &a->ms[k]->files[off];
		rc = s3_head(a->b->s3, f->key, &st, err, sizeof(err));
		pthread_mutex_lock(&a->mtx);
		if (rc < 0) {
			if (!a->failed)
				str_copy(a->err, err, sizeof(a->err));
			a->failed = true;
		} else if (rc == S3_NOT_FOUND) {
			json_array_append_new(a->missing, json_string(f->key));
		} else if (st.size != f->size) {
			char why[128];
			snprintf(why, sizeof(why), "size %llu, the manifest says "
			    "%llu", (unsigned long long)st.size,
			    (unsigned long long)f->size);
			json_array_append_new(a->corrupt, json_pack("{s:s, s:s}",
			    "key", f->key, "reason", why));
		} else if (st.sha256[0] && strcmp(st.sha256, f->sha256) != 0) {
			json_array_append_new(a->corrupt, json_pack("{s:s, s:s}",
			    "key", f->key, "reason", "recorded SHA-256 differs"));
		}
		pthread_mutex_unlock(&a->mtx);
		size_t d = atomic_fetch_add(&a->done, 1) + 1;
		if (d % 500 == 0)
			task_progress(a->b->ctx, "checked %zu of %zu objects", d,
			    a->total);
		if (a->failed)
			break;
	}
	return NULL;
}

struct vfnode_arg {
	char *store;
	const struct manifest_cluster *c;
	json_t *missing, *corrupt;
	pthread_mutex_t mtx;
};

static int fn_verify_download(struct bk_fan *f, size_t i, char *err,
    size_t errlen)
{
	struct vfnode_arg *a = f->arg;
	const char *hid = bk_str(bk_fan_node(f, i), "host_id");
	char *args;
	int rc;
	size_t k;

	for (k = 0; k < a->c->nnodes; k++)
		if (hid != NULL && strcmp(a->c->nodes[k].host_id, hid) == 0)
			break;
	if (k == a->c->nnodes)
		return TASK_STEP_OK;	/* not in this backup */
	args = xasprintf("backup-verify %s --manifest %s --download --parallel "
	    "%d", a->store, a->c->nodes[k].manifest, (int)params_int(f->b->params,
	    "download_parallelism", 4));
	rc = bk_run_agent(f, i, args, err, errlen);
	free(args);
	/* What it found is gathered from f->data when every node is done
	 * (the step is called several times while the nodes work). */
	return rc;
}

/*
 * What a verify reads from storage before it checks anything: the node
 * manifests of the backup, and which of them could not be read.  With
 * download the step is called again at every poll of its node jobs, so
 * this is read once per attempt and kept in its memo.
 */
struct vsrc {
	struct manifest_node **ms;
	size_t nms, total;
	json_t *missing, *corrupt;	/* manifests that could not be read */
};

static void vsrc_release(void *p)
{
	struct vsrc *v = p;

	for (size_t i = 0; i < v->nms; i++)
		manifest_node_free(v->ms[i]);
	free(v->ms);
	json_decref(v->missing);
	json_decref(v->corrupt);
	free(v);
}

/* The manifests of c, from the memo or read now; NULL with err when
 * storage could not be read (the attempt fails and is retried). */
static struct vsrc *vsrc_get(struct bk *b, const struct manifest_cluster *c,
    char *err, size_t errlen)
{
	struct vsrc *v = task_memo(b->ctx, "verify:manifests");
	char e[1024], *unparsable;

	if (v != NULL)
		return v;
	v = xcalloc(1, sizeof(*v));
	v->missing = json_array();
	v->corrupt = json_array();
	v->ms = xcalloc(c->nnodes + 1, sizeof(*v->ms));
	for (size_t i = 0; i < c->nnodes; i++) {
		v->ms[i] = bk_node_manifest(b->s3, c->nodes[i].manifest, e,
		    sizeof(e));
		unparsable = xasprintf("node manifest %s: ", c->nodes[i].manifest);
		if (v->ms[i] == NULL && strstr(e, " is missing") == NULL &&
		    strncmp(e, unparsable, strlen(unparsable)) != 0) {
			/* Storage did not answer: that says nothing about the
			 * backup, and kept for the attempt it would be taken
			 * for damage.  The attempt fails and is retried. */
			snprintf(err, errlen, "cannot read node manifest %s: %s; "
			    "nothing was recorded: check the storage and run the "
			    "verify again", c->nodes[i].manifest, e);
			free(unparsable);
			vsrc_release(v);
			return NULL;
		}
		free(unparsable);
		if (v->ms[i] == NULL) {
			/* Damage like any other: reported, not a failed step. */
			if (strstr(e, " is missing") != NULL)
				json_array_append_new(v->missing, json_string(
				    c->nodes[i].manifest));
			else
				json_array_append_new(v->corrupt, json_pack("{s:s, s:s}",
				    "key", c->nodes[i].manifest, "reason", e));
			v->ms[i] = manifest_node_new();
		}
		v->total += v->ms[i]->nfiles;
		v->nms++;
	}
	task_memo_put(b->ctx, "verify:manifests", v, vsrc_release, NULL);
	return v;
}

int verify_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	struct bk b;
	const struct manifest_cluster *c = NULL;
	const struct vsrc *src;
	struct vfarg a;
	int rc = bk_open(ctx, &b, err, errlen), nt;
	bool retry;
	json_t *report = NULL;
	char *text = NULL, *key = NULL;

	(void)step;
	memset(&a, 0, sizeof(a));
	a.missing = json_array();
	a.corrupt = json_array();
	pthread_mutex_init(&a.mtx, NULL);
	if (rc != TASK_STEP_OK)
		goto out;
	if ((rc = bk_index_ensure(&b, err, errlen)) != TASK_STEP_OK)
		goto out;
	if ((c = bk_pick_backup_memo(&b, b.s3, b.cluster, &retry, err,
	    errlen)) == NULL) {
		rc = retry ? TASK_STEP_FAIL : TASK_STEP_FATAL;
		goto out;
	}
	if ((src = vsrc_get(&b, c, err, errlen)) == NULL) {
		rc = TASK_STEP_FAIL;
		goto out;
	}
	a.b = &b;
	a.ms = src->ms;
	a.nms = src->nms;
	a.total = src->total;
	json_array_extend(a.missing, src->missing);
	json_array_extend(a.corrupt, src->corrupt);
	if (json_is_true(json_object_get(b.params, "download"))) {
		struct vfnode_arg va = { bk_store_args(&b), c, a.missing, a.corrupt,
		    PTHREAD_MUTEX_INITIALIZER };
		struct bk_fan f = { .b = &b, .targets = b.nodes, .fn =
		    fn_verify_download, .arg = &va, .par =
		    (int)json_array_size(b.nodes), .phase = "verify" };
		rc = bk_fan_run(&f, err, errlen);
		for (size_t i = 0; rc == TASK_STEP_OK &&
		    i < json_array_size(b.nodes); i++) {
			size_t x;
			json_t *v;
			json_array_foreach(json_object_get(f.data[i], "missing"),
			    x, v)
				json_array_append(a.missing, v);
			json_array_foreach(json_object_get(f.data[i], "corrupt"),
			    x, v)
				json_array_append(a.corrupt, v);
		}
		bk_fan_release(&f);
		free(va.store);
		if (rc != TASK_STEP_OK)
			goto out;
	} else {
		pthread_t tids[64];
		nt = (int)params_int(b.params, "parallelism", 8);
		if (nt < 1)
			nt = 1;
		if (nt > (int)ARRAY_SIZE(tids))
			nt = (int)ARRAY_SIZE(tids);	/* the table's max */
		for (int i = 0; i < nt; i++)
			if (pthread_create(&tids[i], NULL, verify_head_worker, &a))
				fatalx("cannot start a thread");
		for (int i = 0; i < nt; i++)
			pthread_join(tids[i], NULL);
		if (task_checkpoint(ctx)) {
			rc = TASK_STEP_STOP;
			goto out;
		}
		if (a.failed) {
			str_copy(err, a.err, errlen);
			rc = TASK_STEP_FAIL;
			goto out;
		}
	}
	report = json_pack("{s:s, s:s, s:I, s:b, s:O, s:O}", "backup_id",
	    c->backup_id, "task_id", task_ctx_id(ctx), "files",
	    (json_int_t)a.total, "downloaded", json_is_true(json_object_get(
	    b.params, "download")), "missing", a.missing, "corrupt", a.corrupt);
	text = json_dumps(report, JSON_COMPACT);
	key = xasprintf("%s/backups/%s/verify/%s.json", b.cluster, c->backup_id,
	    task_ctx_id(ctx));
	if (s3_put_mem(b.s3, key, text, strlen(text), NULL, NULL, err,
	    errlen) != 0) {
		rc = TASK_STEP_FAIL;
		goto out;
	}
	{
		size_t nbad = 0, i;
		struct store_backup_file *bad = xcalloc(json_array_size(
		    a.missing) + json_array_size(a.corrupt) + 1, sizeof(*bad));
		json_t *v;
		char missing[] = "missing";
		json_array_foreach(a.missing, i, v) {
			const char *k = json_is_string(v) ? json_string_value(v) :
			    bk_str(v, "key");
			if (k != NULL)
				bad[nbad++] = (struct store_backup_file){
				    (char *)(uintptr_t)k, missing };
		}
		json_array_foreach(a.corrupt, i, v) {
			const char *k = bk_str(v, "key"), *why = bk_str(v, "reason");
			if (k != NULL)
				bad[nbad++] = (struct store_backup_file){
				    (char *)(uintptr_t)k, (char *)(uintptr_t)(why ?
				    why : "corrupt") };
		}
		rc = verify_record(&b, c->backup_id, a.ms, a.nms, bad, nbad, err,
		    errlen);
		free(bad);
		if (rc != TASK_STEP_OK)
			goto out;
	}
	if (json_array_size(a.missing) + json_array_size(a.corrupt) > 0) {
		size_t off = (size_t)snprintf(err, errlen, "backup %s is damaged: "
		    "%zu missing, %zu corrupt of %zu files (report %s):",
		    c->backup_id, json_array_size(a.missing),
		    json_array_size(a.corrupt), a.total, key);
		size_t i;
		json_t *v;
		json_array_foreach(a.missing, i, v) {
			if (i >= MAX_PROBLEMS_SHOWN || off >= errlen)
				break;
			off += (size_t)snprintf(err + off, errlen - off,
			    " missing %s;", json_string_value(v));
		}
		json_array_foreach(a.corrupt, i, v) {
			if (i >= MAX_PROBLEMS_SHOWN || off >= errlen)
				break;
			off += (size_t)snprintf(err + off, errlen - off,
			    " corrupt %s (%s);", bk_str(v, "key"), bk_str(v, "reason"));
		}
		rc = TASK_STEP_FATAL;
		goto out;
	}
	task_progress(ctx, "backup %s verified: %zu files present with the "
	    "right size%s (report %s)", c->backup_id, a.total,
	    json_is_true(json_object_get(b.params, "download")) ?
	    " and checksum" : "", key);
	rc = TASK_STEP_OK;
out:
	/* a.ms and c belong to the attempt's memo */
	pthread_mutex_destroy(&a.mtx);
	json_decref(a.missing);
	json_decref(a.corrupt);
	json_decref(report);
	free(text);
	free(key);
	bk_release(&b);
	return rc;
}
