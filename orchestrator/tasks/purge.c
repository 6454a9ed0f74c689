/*
 * purge.c - the "purge" and "backup-index" task types, and the
 * mark-and-sweep purge the backup type's retention step uses too.
 *
 * Purge (task "purge", DELETE .../backups/{id}, retention) is
 * mark-and-sweep: the doomed backups lose their cluster manifest first (so
 * they can never look complete again), then the rest of their directory;
 * then every content object that no complete backup references is deleted
 * in batches of 1,000.  Run again after a crash, it computes the same.
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
#include "../engine/task.h"
#include "../nodes/nodeops.h"
#include "../store/store.h"
#include "backup.h"
#include "bk.h"

/* ---- purge: mark and sweep ---- */

int bk_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct sweep {
	char **keep;			/* sorted referenced keys */
	size_t nkeep;
	char **doomed;
	size_t ndoomed, cap;
	uint64_t bytes;
};

static int sweep_cb(void *arg, const struct s3_object *o)
{
	struct sweep *s = arg;
	const char *k = o->key;

	if (bsearch(&k, s->keep, s->nkeep, sizeof(char *), bk_str_cmp) != NULL)
		return 0;
	if (s->ndoomed == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->doomed = xrealloc(s->doomed, s->cap * sizeof(char *));
	}
	s->doomed[s->ndoomed++] = xstrdup(o->key);
	s->bytes += o->size;
	return 0;
}

void bk_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct dirdel {
	char **keys;
	size_t n, cap;
};

static int dirdel_cb(void *arg, const struct s3_object *o)
{
	struct dirdel *d = arg;

	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->keys = xrealloc(d->keys, d->cap * sizeof(char *));
	}
	d->keys[d->n++] = xstrdup(o->key);
	return 0;
}

/* Delete backup id: cluster manifest first, then the rest of its dir. */
static int drop_backup(struct bk *b, const char *id, char *err, size_t errlen)
{
	char *ck = manifest_cluster_key(b->cluster, id);
	char *dir = xasprintf("%s/backups/%s/", b->cluster, id);
	const char *one[1] = { ck };
	struct dirdel d = { NULL, 0, 0 };
	int rc = -1;

	if (s3_delete(b->s3, one, 1, NULL, err, errlen) != 0)
		goto out;
	if (s3_list_all(b->s3, dir, 0, dirdel_cb, &d, err, errlen) != 0)
		goto out;
	if (d.n > 0 && s3_delete(b->s3, (const char *const *)d.keys, d.n, NULL,
	    err, errlen) != 0)
		goto out;
	rc = 0;
out:
	bk_strv_free(d.keys, d.n);
	free(dir);
	free(ck);
	return rc;
}

/* Which complete backups the retention policy drops (ids, newest first);
 * the newest complete backup and the newest one that holds every node
 * (not missing) are always kept. */
void bk_retention_pick(const json_t *ret, const struct bk_list *l,
    int64_t now_ms, char ***out, size_t *nout)
{
	json_t *kl = json_object_get(ret, "keep_last");
	json_t *kd = json_object_get(ret, "keep_days");
	size_t ncomplete = 0, seen = 0;
	char **v = NULL;
	size_t n = 0;

	bool whole_kept = false;

	for (size_t i = 0; i < l->n; i++)
		ncomplete += l->v[i].complete;
	for (size_t i = l->n; i-- > 0;) {
		const struct bk_ent *e = &l->v[i];
		bool keep = false;
		struct tm tm;
		if (!e->complete)
			continue;
		seen++;			/* 1 = newest */
		if (seen == 1)
			keep = true;	/* never drop the newest */
		/* Nor the newest that holds every node: a partial backup
		 * (nodes left out while down) never costs the last whole one. */
		if (!e->missing && !whole_kept) {
			keep = true;
			whole_kept = true;
		}
		if (json_is_integer(kl) && (json_int_t)seen <=
		    json_integer_value(kl))
			keep = true;
		if (json_is_number(kd)) {
			memset(&tm, 0, sizeof(tm));
			if (strptime(e->id, "%Y%m%dT%H%M%SZ", &tm) != NULL) {
				int64_t at = (int64_t)timegm(&tm) * 1000;
				if (now_ms - at < (int64_t)(json_number_value(kd) *
				    86400000.0))
					keep = true;
			} else {
				keep = true;	/* not ours: leave it */
			}
		}
		if (!json_is_integer(kl) && !json_is_number(kd))
			keep = true;
		if (!keep) {
			v = xrealloc(v, (n + 1) * sizeof(char *));
			v[n++] = xstrdup(e->id);
		}
	}
	(void)ncomplete;
	*out = v;
	*nout = n;
}

/*
 * Drop the given backups (NULL/0: none), then sweep every content object no
 * complete backup references.  Progress on the step.  TASK_STEP_* code.
 */
int bk_purge_run(struct bk *b, char **ids, size_t nids, char *err,
    size_t errlen)
{
	struct bk_list l;
	struct sweep s;
	char *data_prefix = NULL;
	size_t deleted = 0, dropped = 0;
	int rc = TASK_STEP_FAIL;

	memset(&s, 0, sizeof(s));
	if ((rc = bk_index_ensure(b, err, errlen)) != TASK_STEP_OK)
		return rc;
	rc = TASK_STEP_FAIL;
	for (size_t i = 0; i < nids; i++) {
		if (task_checkpoint(b->ctx))
			return TASK_STEP_STOP;
		if (drop_backup(b, ids[i], err, errlen) != 0)
			return TASK_STEP_FAIL;
		/* After storage: a crash in between leaves a row whose
		 * backup is gone, which the next purge removes again. */
		store_backup_delete(b->st, b->cluster, ids[i], NULL, 0);
		task_progress(b->ctx, "deleted the manifests of backup %s", ids[i]);
	}
	if (bk_list_backups(b->s3, b->cluster, &l, err, errlen) != 0)
		return TASK_STEP_FAIL;
	/* Incomplete backups are failed attempts (one cluster runs one task
	 * at a time, and this one is not a backup in flight). */
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].complete || strcmp(l.v[i].id, b->id) == 0)
			continue;
		if (drop_backup(b, l.v[i].id, err, errlen) != 0)
			goto out;
		store_backup_delete(b->st, b->cluster, l.v[i].id, NULL, 0);
		dropped++;
	}
	/* Mark: every key referenced by a complete backup. */
	for (size_t i = 0; i < l.n; i++) {
		struct manifest_cluster *c;
		int nf;
		if (!l.v[i].complete)
			continue;
		if (task_checkpoint(b->ctx)) {
			rc = TASK_STEP_STOP;
			goto out;
		}
		c = bk_cluster_manifest(b->s3, b->cluster, l.v[i].id, &nf, err,
		    errlen);
		if (c == NULL) {
			if (nf)
				continue;	/* dropped meanwhile */
			goto out;
		}
		for (size_t k = 0; k < c->nnodes; k++) {
			struct manifest_node *m = bk_node_manifest(b->s3,
			    c->nodes[k].manifest, err, errlen);
			if (m == NULL) {
				manifest_cluster_free(c);
				/* A complete backup with a damaged node manifest:
				 * deleting "unreferenced" files could destroy data
				 * it needs.  Stop and say so. */
				snprintf(err + strlen(err), errlen - strlen(err),
				    "; purge stopped before deleting any content "
				    "(backup %s cannot be read)", l.v[i].id);
				rc = TASK_STEP_FATAL;
				goto out;
			}
			s.keep = xrealloc(s.keep, (s.nkeep + m->nfiles + 1) *
			    sizeof(char *));
			for (size_t f = 0; f < m->nfiles; f++)
				s.keep[s.nkeep++] = xstrdup(m->files[f].key);
			manifest_node_free(m);
		}
		manifest_cluster_free(c);
	}
	qsort(s.keep, s.nkeep, sizeof(char *), bk_str_cmp);
	/* Sweep. */
	data_prefix = xasprintf("%s/data/", b->cluster);
	if (s3_list_all(b->s3, data_prefix, 0, sweep_cb, &s, err, errlen) != 0)
		goto out;
	for (size_t off = 0; off < s.ndoomed; off += S3_MAX_BATCH) {
		size_t n = s.ndoomed - off < S3_MAX_BATCH ? s.ndoomed - off :
		    S3_MAX_BATCH, got = 0;
		if (task_checkpoint(b->ctx)) {
			rc = TASK_STEP_STOP;
			goto out;
		}
		if (s3_delete(b->s3, (const char *const *)s.doomed + off, n, &got,
		    err, errlen) != 0)
			goto out;
		deleted += got;
		task_progress(b->ctx, "deleted %zu of %zu unreferenced objects",
		    deleted, s.ndoomed);
	}
	/* A damaged object no kept backup references concerns nobody now. */
	{
		size_t nd;
		char **dk = bk_damaged_keys(b->st, b->cluster, &nd);
		for (size_t i = 0; i < nd; i++)
			if (bsearch(&dk[i], s.keep, s.nkeep, sizeof(char *),
			    bk_str_cmp) == NULL)
				store_damaged_clear(b->st, b->cluster, dk[i], NULL,
				    0);
		bk_strv_free(dk, nd);
	}
	task_progress(b->ctx, "purged %zu backups (+%zu incomplete); deleted "
	    "%zu objects (%llu bytes) no kept backup uses; %zu objects kept",
	    nids, dropped, deleted, (unsigned long long)s.bytes, s.nkeep);
	rc = TASK_STEP_OK;
out:
	free(data_prefix);
	bk_strv_free(s.keep, s.nkeep);
	bk_strv_free(s.doomed, s.ndoomed);
	free(l.v);
	return rc;
}

/* ---- purge ---- */

int single_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	(void)params;
	(void)nodes;
	(void)err;
	(void)errlen;
	task_plan_add(plan, "purge", NULL);
	return 0;
}

int purge_task_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	struct bk b;
	int rc = bk_open(ctx, &b, err, errlen);
	json_t *ids = json_object_get(task_ctx_params(ctx), "backup_ids");
	json_t *ret = json_object_get(task_ctx_params(ctx), "retention");
	char **v = NULL;
	size_t n = 0, i;
	json_t *x;

	(void)step;
	if (rc != TASK_STEP_OK)
		goto out;
	b.id[0] = '\0';			/* not a backup: nothing of ours in flight */
	if (ret != NULL) {
		struct bk_list l;
		if (bk_list_backups(b.s3, b.cluster, &l, err, errlen) != 0) {
			rc = TASK_STEP_FAIL;
			goto out;
		}
		bk_list_mark_missing(b.st, b.cluster, &l);
		bk_retention_pick(ret, &l, time_wall_ms(), &v, &n);
		free(l.v);
	}
	json_array_foreach(ids, i, x) {
		v = xrealloc(v, (n + 1) * sizeof(char *));
		v[n++] = xstrdup(json_string_value(x));
	}
	rc = bk_purge_run(&b, v, n, err, errlen);
	bk_strv_free(v, n);
out:
	bk_release(&b);
	return rc;
}

/* ---- backup-index: rebuild the index from storage ---- */

int index_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	(void)params;
	(void)nodes;
	(void)err;
	(void)errlen;
	task_plan_add(plan, "reindex", NULL);
	return 0;
}

int index_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	struct bk b;
	struct store_backup *v = NULL;
	size_t n = 0;
	int rc = bk_open(ctx, &b, err, errlen);

	(void)step;
	if (rc == TASK_STEP_OK)
		rc = bk_index_rebuild(&b, err, errlen);
	if (rc == TASK_STEP_OK && store_backup_list(b.st, b.cluster, &v,
	    &n) == 0)
		task_progress(ctx, "indexed %zu backups of '%s' from its storage",
		    n, b.cluster);
	store_backups_free(v, n);
	bk_release(&b);
	return rc;
}
