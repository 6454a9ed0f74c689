/*
 * restore.c - the "restore" task type: map the backup's nodes onto the
 * target's by token, check space, then download, stage and load on each
 * target (agent `backup-restore`); a backup recorded damaged is refused
 * unless forced; a restore that fails for good removes what it staged.
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

/* ---- restore ---- */

int restore_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	/* One "restore" step runs the agent's pipelined mode: each table is
	 * loaded as soon as its files are in, not after the whole node. */
	static const char *const steps[] = { "map", "space", "restore" };

	(void)params;
	if (bk_need_nodes(nodes, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		task_plan_add(plan, steps[i], NULL);
	return 0;
}

/* Signed 64-bit token order; a token that is not a number sorts last. */
static int tok_cmp(const char *a, const char *b)
{
	char *ea, *eb;
	long long x = a ? strtoll(a, &ea, 10) : 0;
	long long y = b ? strtoll(b, &eb, 10) : 0;

	if (a == NULL || b == NULL)
		return (a == NULL) - (b == NULL);
	return (x > y) - (x < y);
}

struct srcnode {
	const struct manifest_cluster_node *cn;
	char *first_token;
	const json_t *target;		/* store node, or NULL */
};

static int src_cmp(const void *pa, const void *pb)
{
	const struct srcnode *a = pa, *b = pb;
	int c = strcmp(a->cn->dc ? a->cn->dc : "", b->cn->dc ? b->cn->dc : "");

	if (c == 0)
		c = strcmp(a->cn->rack ? a->cn->rack : "", b->cn->rack ?
		    b->cn->rack : "");
	return c ? c : tok_cmp(a->first_token, b->first_token);
}

struct tgt {
	const json_t *node;
	char *first_token;
	bool used;
};

static int tgt_cmp(const void *pa, const void *pb)
{
	const struct tgt *a = pa, *b = pb;
	const char *da = bk_str(a->node, "dc"), *db = bk_str(b->node, "dc");
	const char *ra = bk_str(a->node, "rack"), *rb = bk_str(b->node, "rack");
	int c = strcmp(da ? da : "", db ? db : "");

	if (c == 0)
		c = strcmp(ra ? ra : "", rb ? rb : "");
	if (c == 0)
		c = tok_cmp(a->first_token, b->first_token);
	return c ? c : strcmp(bk_str(a->node, "address"), bk_str(b->node, "address"));
}

struct rsplan {
	const struct manifest_cluster *c;	/* the attempt's memo owns it */
	struct srcnode *src;
	size_t nsrc;
	json_t *targets;		/* nodes restored into (selection) */
	json_t *manifests;		/* manifest key per target, same order */
	char *store;
};

static void rsplan_release(struct rsplan *p)
{
	for (size_t i = 0; i < p->nsrc; i++)
		free(p->src[i].first_token);
	free(p->src);
	json_decref(p->targets);
	json_decref(p->manifests);
	free(p->store);
}

static bool node_selected(const json_t *params, const char *addr)
{
	const json_t *sel = json_object_get(params, "nodes");
	size_t i;
	json_t *v;

	if (sel == NULL)
		return true;
	json_array_foreach(sel, i, v)
		if (strcmp(json_string_value(v), addr) == 0)
			return true;
	return false;
}

static int fn_tokens(struct bk_fan *f, size_t i, char *err, size_t errlen)
{
	return bk_run_agent(f, i, "backup-restore --mode info", err, errlen);
}

/*
 * A partial backup (down_policy skip_down) lacks whole nodes: restoring
 * it as if it were whole would leave those nodes' data out without a
 * word.  So it is refused unless params.nodes names the nodes to restore
 * and none of them is one the backup lacks.  targets (the cluster's nodes,
 * or NULL) give the host ids of the named addresses.  0, or -1 with err.
 */
static int restore_check_missing(const json_t *params, const char *id,
    const char *src, const json_t *missing, const json_t *targets,
    char *err, size_t errlen)
{
	const json_t *sel = json_object_get(params, "nodes");
	char *names;
	size_t i, k;
	json_t *a, *t;

	if (json_array_size(missing) == 0)
		return 0;
	names = bk_missing_names(missing);
	if (sel == NULL) {
		snprintf(err, errlen, "backup %s of '%s' is partial: it lacks %zu "
		    "nodes that were not up when it was taken (%s); restore the "
		    "nodes it holds by naming them in \"nodes\", or choose a "
		    "whole backup with \"backup_id\"", id, src,
		    json_array_size(missing), names);
		free(names);
		return -1;
	}
	free(names);
	json_array_foreach(sel, i, a) {
		json_t *probe = json_pack("{s:s?}", "address",
		    json_string_value(a));
		json_array_foreach(targets, k, t)
			if (bk_str(t, "address") && json_string_value(a) &&
			    strcmp(bk_str(t, "address"), json_string_value(a)) ==
			    0 && bk_str(t, "host_id"))
				json_object_set_new(probe, "host_id", json_string(
				    bk_str(t, "host_id")));
		if (bk_node_missing(missing, probe)) {
			snprintf(err, errlen, "node %s is not in backup %s of '%s': "
			    "it was not up when the backup was taken (partial "
			    "backup); leave it out of \"nodes\" or choose a whole "
			    "backup with \"backup_id\"", json_string_value(a), id,
			    src);
			json_decref(probe);
			return -1;
		}
		json_decref(probe);
	}
	return 0;
}

/*
 * Map the backup's nodes onto this cluster's: the same cluster by host id
 * (then address); another cluster by dc, rack and token order.
 */
static int restore_map(struct bk *b, struct rsplan *p, char *err,
    size_t errlen)
{
	const char *src_cluster = b->src_cluster;
	bool same = !b->src_own && strcmp(src_cluster, b->cluster) == 0;
	size_t n = json_array_size(b->nodes);
	struct tgt *t = xcalloc(n + 1, sizeof(*t));
	int rc = TASK_STEP_FAIL;
	bool retry;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->store = bk_src_args(b);
	p->targets = json_array();
	p->manifests = json_array();
	if ((p->c = bk_pick_backup_memo(b, b->src, src_cluster, &retry, err,
	    errlen)) == NULL) {
		/* An S3 outage is retried like any step; no backup is not. */
		rc = retry ? TASK_STEP_FAIL : TASK_STEP_FATAL;
		goto out;
	}
	if (p->c->nmissing > 0) {
		json_t *missing = bk_missing_of_manifest(p->c);
		int bad = restore_check_missing(b->params, p->c->backup_id,
		    src_cluster, missing, b->nodes, err, errlen);
		json_decref(missing);
		if (bad) {
			rc = TASK_STEP_FATAL;
			goto out;
		}
	}
	p->src = xcalloc(p->c->nnodes + 1, sizeof(*p->src));
	p->nsrc = p->c->nnodes;
	for (i = 0; i < p->nsrc; i++)
		p->src[i].cn = &p->c->nodes[i];
	for (i = 0; i < n; i++)
		t[i].node = json_array_get(b->nodes, i);
	if (same) {
		for (i = 0; i < p->nsrc; i++) {
			for (size_t k = 0; k < n && p->src[i].target == NULL; k++) {
				const char *hid = bk_str(t[k].node, "host_id");
				if (!t[k].used && hid && strcmp(hid,
				    p->src[i].cn->host_id) == 0) {
					p->src[i].target = t[k].node;
					t[k].used = true;
				}
			}
		}
		for (i = 0; i < p->nsrc; i++) {
			for (size_t k = 0; k < n && p->src[i].target == NULL; k++) {
				const char *a = bk_str(t[k].node, "address");
				if (!t[k].used && p->src[i].cn->address && a &&
				    strcmp(a, p->src[i].cn->address) == 0) {
					p->src[i].target = t[k].node;
					t[k].used = true;
				}
			}
		}
	} else {
		struct bk_fan f = { .b = b, .targets = b->nodes, .fn = fn_tokens,
		    .par = (int)n };
		if (n != p->nsrc) {
			snprintf(err, errlen, "backup %s of '%s' has %zu nodes and "
			    "'%s' has %zu: a restore into another cluster needs the "
			    "same shape", p->c->backup_id, src_cluster, p->nsrc,
			    b->cluster, n);
			rc = TASK_STEP_FATAL;
			goto out;
		}
		rc = bk_fan_run(&f, err, errlen);
		for (i = 0; rc == TASK_STEP_OK && i < n; i++)
			t[i].first_token = xstrdup(json_string_value(json_array_get(
			    json_object_get(f.data[i], "tokens"), 0)) ?
			    json_string_value(json_array_get(json_object_get(
			    f.data[i], "tokens"), 0)) : "");
		bk_fan_release(&f);
		if (rc != TASK_STEP_OK)
			goto out;
		for (i = 0; i < p->nsrc; i++) {
			struct manifest_node *m = bk_node_manifest(b->src,
			    p->src[i].cn->manifest, err, errlen);
			if (m == NULL) {
				rc = TASK_STEP_FATAL;
				goto out;
			}
			p->src[i].first_token = xstrdup(m->ntokens ? m->tokens[0] : "");
			manifest_node_free(m);
		}
		qsort(p->src, p->nsrc, sizeof(*p->src), src_cmp);
		qsort(t, n, sizeof(*t), tgt_cmp);
		for (i = 0; i < p->nsrc; i++) {
			const char *sd = p->src[i].cn->dc ? p->src[i].cn->dc : "";
			const char *sr = p->src[i].cn->rack ? p->src[i].cn->rack : "";
			const char *td = bk_str(t[i].node, "dc"), *tr = bk_str(t[i].node,
			    "rack");
			if (strcmp(sd, td ? td : "") != 0 ||
			    strcmp(sr, tr ? tr : "") != 0) {
				snprintf(err, errlen, "cannot map the backup's nodes "
				    "onto '%s': source node %s is in %s/%s but the "
				    "target in its place is %s in %s/%s (the same "
				    "number of nodes per dc and rack is needed)",
				    b->cluster, p->src[i].cn->address ?
				    p->src[i].cn->address : p->src[i].cn->host_id, sd,
				    sr, bk_str(t[i].node, "address"), td ? td : "",
				    tr ? tr : "");
				rc = TASK_STEP_FATAL;
				goto out;
			}
			p->src[i].target = t[i].node;
		}
	}
	for (i = 0; i < p->nsrc; i++) {
		const json_t *tn = p->src[i].target;
		if (tn == NULL) {
			if (json_object_get(b->params, "nodes") != NULL)
				continue;	/* only some nodes asked */
			snprintf(err, errlen, "node %s (%s) of backup %s has no "
			    "node in '%s' to restore into; name the nodes to "
			    "restore with params.nodes", p->src[i].cn->address ?
			    p->src[i].cn->address : "?", p->src[i].cn->host_id,
			    p->c->backup_id, b->cluster);
			rc = TASK_STEP_FATAL;
			goto out;
		}
		if (!node_selected(b->params, bk_str(tn, "address")))
			continue;
		json_array_append(p->targets, (json_t *)(uintptr_t)tn);
		json_array_append_new(p->manifests, json_string(
		    p->src[i].cn->manifest));
	}
	if (json_array_size(p->targets) == 0) {
		snprintf(err, errlen, "no node of '%s' matches params.nodes and "
		    "backup %s", b->cluster, p->c->backup_id);
		rc = TASK_STEP_FATAL;
		goto out;
	}
	rc = TASK_STEP_OK;
out:
	for (i = 0; i < n; i++)
		free(t[i].first_token);
	free(t);
	return rc;
}

struct rsarg {
	const struct rsplan *p;
	const char *mode;
	const char *exclude;		/* key of the exclude list, or NULL */
};

static int fn_restore(struct bk_fan *f, size_t i, char *err, size_t errlen)
{
	struct rsarg *a = f->arg;
	json_t *rl = json_object_get(f->b->params, "rate_limit_mib");
	json_t *mg = json_object_get(f->b->params, "space_margin_pct");
	char *args, *tmp;
	int rc;

	if (strcmp(a->mode, "cleanup") == 0) {
		/* Removes the backup's whole staging tree: no filters. */
		args = xasprintf("backup-restore %s --manifest %s --mode cleanup",
		    a->p->store, json_string_value(json_array_get(a->p->manifests,
		    i)));
		rc = bk_run_agent(f, i, args, err, errlen);
		free(args);
		return rc;
	}
	/* --run-id: the agent's record of tables loaded belongs to this task,
	 * so a retry skips them and a later restore loads everything. */
	args = xasprintf("backup-restore %s --manifest %s --mode %s --run-id %s "
	    "--parallel %d", a->p->store, json_string_value(json_array_get(
	    a->p->manifests, i)), a->mode, task_ctx_id(f->b->ctx),
	    (int)params_int(f->b->params, "download_parallelism", 4));
	if (json_is_number(rl) && json_number_value(rl) > 0) {
		tmp = xasprintf("%s --rate-limit %g", args, json_number_value(rl));
		free(args);
		args = tmp;
	}
	if (json_is_number(mg)) {
		tmp = xasprintf("%s --space-margin %g", args, json_number_value(mg));
		free(args);
		args = tmp;
	}
	if (a->exclude != NULL) {
		tmp = xasprintf("%s --exclude %s", args, a->exclude);
		free(args);
		args = tmp;
	}
	bk_add_filters(&args, f->b->params, true);
	rc = bk_run_agent(f, i, args, err, errlen);
	free(args);
	return rc;
}

/*
 * The damaged files of backup id of src (a cluster indexed here), with
 * why.  Verify marks every backup that references a damaged object, so
 * these are all the files a restore of it cannot trust.  *n 0 when none.
 */
static struct store_backup_file *restore_damage(struct store *st,
    const char *src, const char *id, size_t *n, bool *damaged)
{
	struct store_backup *row = NULL;
	struct store_backup_file *v;

	*n = 0;
	*damaged = false;
	if (store_backup_get(st, src, id, &row) != 0)
		return xcalloc(1, sizeof(*v));
	v = xcalloc(row->ndamaged + 1, sizeof(*v));
	for (size_t i = 0; i < row->ndamaged; i++) {
		v[i].key = xstrdup(row->damaged[i].key);
		v[i].reason = xstrdup(row->damaged[i].reason);
	}
	*n = row->ndamaged;
	*damaged = row->state == STORE_BK_DAMAGED;
	store_backups_free(row, 1);
	return v;
}

static void files_free(struct store_backup_file *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].key);
		free(v[i].reason);
	}
	free(v);
}

/* "k1 (missing), k2 (size …)" for at most MAX_PROBLEMS_SHOWN files. */
static void files_name(const struct store_backup_file *v, size_t n,
    char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	/* Reasons can be long (an agent's checksum message): the keys
	 * matter most, the reason is cut. */
	for (size_t i = 0; i < n && i < MAX_PROBLEMS_SHOWN && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s (%.60s)",
		    i ? ", " : "", v[i].key, v[i].reason);
	if (n > MAX_PROBLEMS_SHOWN && off < len)
		snprintf(buf + off, len - off, " and %zu more",
		    n - MAX_PROBLEMS_SHOWN);
}

/* The cluster a restore reads from, when its index is ours to trust:
 * source_cluster (same store), or params.source naming a cluster of this
 * orchestrator with that very storage URL.  NULL: not indexed here. */
static const char *restore_src_indexed(struct store *st, const char *cluster,
    const json_t *params, char *buf, size_t len)
{
	const json_t *src = json_object_get(params, "source");
	const char *sc = bk_str(params, "source_cluster");
	struct store_cluster_row cl;
	bool same;

	if (src == NULL) {
		str_copy(buf, sc ? sc : cluster, len);
		return buf;
	}
	same = store_cluster_get(st, bk_str(src, "cluster"), &cl) == 0 &&
	    cl.storage_url != NULL && bk_str(src, "storage") != NULL &&
	    strcmp(cl.storage_url, bk_str(src, "storage")) == 0;
	store_cluster_row_release(&cl);
	if (!same)
		return NULL;
	str_copy(buf, bk_str(src, "cluster"), len);
	return buf;
}

/*
 * Refuse a restore of a damaged backup unless params.force: the message
 * names the files.  0, or -1 with err.  Reads the index only.
 */
static int restore_check_damage(struct store *st, const char *cluster,
    const json_t *params, const char *id, char *err, size_t errlen)
{
	char srcbuf[STORE_NAME_MAX], latest[STORE_BACKUP_ID_MAX], names[640];
	const char *src = restore_src_indexed(st, cluster, params, srcbuf,
	    sizeof(srcbuf));
	struct store_backup_file *v;
	size_t n;
	bool damaged;

	if (src == NULL || json_is_true(json_object_get(params, "force")))
		return 0;
	if (id == NULL) {
		bk_index_latest(st, src, latest, sizeof(latest));
		id = latest;
	}
	if (id[0] == '\0')
		return 0;
	v = restore_damage(st, src, id, &n, &damaged);
	if (damaged) {
		files_name(v, n, names, sizeof(names));
		/* The hint first: the file names may be cut at errlen. */
		snprintf(err, errlen, "backup %s of '%s' is damaged: pass "
		    "\"force\": true to restore what is sound and skip the "
		    "damaged files, or choose another backup with \"backup_id\" "
		    "(GET /api/v1/clusters/%s/backups/%s names them); %zu files "
		    "lost or corrupt: %s", id, src, src, id, n, n ? names :
		    "see its verify report");
	}
	files_free(v, n);
	return damaged ? -1 : 0;
}

/* The index's word on a partial backup, at submission (the map step
 * checks the manifest again). */
static int restore_admit_missing(struct store *st, const char *cluster,
    const json_t *params, char *err, size_t errlen)
{
	char srcbuf[STORE_NAME_MAX], latest[STORE_BACKUP_ID_MAX];
	const char *src = restore_src_indexed(st, cluster, params, srcbuf,
	    sizeof(srcbuf));
	const char *id = bk_str(params, "backup_id");
	struct store_backup *row = NULL;
	json_t *missing;
	int rc = 0;

	if (src == NULL)
		return 0;
	if (id == NULL) {
		bk_index_latest(st, src, latest, sizeof(latest));
		id = latest;
	}
	if (id[0] == '\0' || store_backup_get(st, src, id, &row) != 0)
		return 0;
	missing = row->missing_nodes ? json_loads(row->missing_nodes, 0, NULL) :
	    NULL;
	if (missing != NULL)
		rc = restore_check_missing(params, id, src, missing, NULL, err,
		    errlen);
	json_decref(missing);
	store_backups_free(row, 1);
	return rc;
}

int restore_admit(struct store *st, const char *cluster,
    const json_t *params, char *err, size_t errlen)
{
	if (restore_check_damage(st, cluster, params, bk_str(params,
	    "backup_id"), err, errlen) != 0)
		return -1;
	return restore_admit_missing(st, cluster, params, err, errlen);
}

/*
 * With force, the damaged files of the backup are written as an exclude
 * list into the store the restore reads (the agents read it there) and
 * named in *skipped.  Returns a TASK_STEP_* code; *key NULL when nothing
 * is excluded.
 */
static int restore_exclude(struct bk *b, const struct rsplan *p, char **key,
    char *skipped, size_t skippedlen, char *err, size_t errlen)
{
	char srcbuf[STORE_NAME_MAX];
	const char *src = restore_src_indexed(b->st, b->cluster, b->params,
	    srcbuf, sizeof(srcbuf));
	struct store_backup_file *v;
	char **keys;
	size_t n;
	bool damaged;
	int rc = TASK_STEP_OK;

	*key = NULL;
	skipped[0] = '\0';
	if (src == NULL)
		return TASK_STEP_OK;
	if (restore_check_damage(b->st, b->cluster, b->params,
	    p->c->backup_id, err, errlen) != 0)
		return TASK_STEP_FATAL;
	v = restore_damage(b->st, src, p->c->backup_id, &n, &damaged);
	if (n > 0) {
		keys = xcalloc(n + 1, sizeof(char *));
		for (size_t i = 0; i < n; i++)
			keys[i] = v[i].key;
		*key = xasprintf("%s/backups/%s/restore-exclude/%s.json", src,
		    p->c->backup_id, task_ctx_id(b->ctx));
		if (bk_put_exclude(b->src, *key, keys, n, err, errlen) != 0) {
			free(*key);
			*key = NULL;
			rc = TASK_STEP_FAIL;
		}
		free(keys);
		files_name(v, n, skipped, skippedlen);
	}
	files_free(v, n);
	return rc;
}

/*
 * The plan of a restore step: the mapping, and the exclude list written
 * to the store.  The step is called again at every poll of its node jobs:
 * the plan is made at its first call and kept in the attempt's memo, so
 * an attempt reads the manifests and writes the exclude list once.
 */
struct rsmemo {
	struct rsplan p;
	char *exkey;
	char skipped[640];
};

static void rsmemo_release(void *arg)
{
	struct rsmemo *m = arg;

	rsplan_release(&m->p);
	free(m->exkey);
	free(m);
}

static struct rsmemo *rsmemo_get(struct bk *b, int *rc, char *err,
    size_t errlen)
{
	struct rsmemo *m = task_memo(b->ctx, "restore:plan");

	*rc = TASK_STEP_OK;
	if (m != NULL)
		return m;
	m = xcalloc(1, sizeof(*m));
	if ((*rc = restore_map(b, &m->p, err, errlen)) == TASK_STEP_OK)
		/* Checked again here: the index may have been filled since
		 * the submission, or the backup picked by default changed. */
		*rc = restore_exclude(b, &m->p, &m->exkey, m->skipped,
		    sizeof(m->skipped), err, errlen);
	if (*rc != TASK_STEP_OK) {
		rsmemo_release(m);
		return NULL;
	}
	task_memo_put(b->ctx, "restore:plan", m, rsmemo_release, NULL);
	return m;
}

int restore_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	struct bk b;
	struct rsmemo *m;
	const struct rsplan *pp;
	const char *exkey, *skipped;
	int rc = bk_open(ctx, &b, err, errlen);

	if (rc != TASK_STEP_OK)
		goto out;
	if (!b.src_own && (rc = bk_index_ensure(&b, err, errlen)) != TASK_STEP_OK)
		goto out;
	if ((m = rsmemo_get(&b, &rc, err, errlen)) == NULL)
		goto out;
	pp = &m->p;
	exkey = m->exkey;
	skipped = m->skipped;
	if (strcmp(step->name, "map") == 0) {
		char msg[1024];
		size_t off = 0, i;
		json_t *v;
		if (bk_check_nodes_up(&b, pp->targets, err, errlen) != 0) {
			rc = TASK_STEP_FAIL;
			goto out;
		}
		json_array_foreach(pp->targets, i, v)
			off += (size_t)snprintf(msg + off, off < sizeof(msg) ?
			    sizeof(msg) - off : 0, "%s%s", off ? ", " : "",
			    bk_str(v, "address"));
		task_progress(ctx, "backup %s onto %zu nodes: %s%s%s",
		    pp->c->backup_id, json_array_size(pp->targets), msg,
		    skipped[0] ? "; damaged, skipped: " : "", skipped);
	} else {
		/* Tasks planned before the single restore step still carry
		 * "download" and "load", which are agent modes too. */
		struct rsarg a = { pp, strcmp(step->name, "space") == 0 ? "check" :
		    step->name, exkey };
		struct bk_fan f = { .b = &b, .targets = pp->targets, .fn =
		    fn_restore, .arg = &a, .par = (int)json_array_size(
		    pp->targets), .phase = step->name };
		rc = bk_fan_run(&f, err, errlen);
		bk_fan_release(&f);
		if (rc == TASK_STEP_FAIL && strcmp(a.mode, "check") == 0 &&
		    strstr(err, "not enough disk space") != NULL)
			rc = TASK_STEP_FATAL;
		if (rc == TASK_STEP_OK)
			task_progress(ctx, "%s done on %zu nodes%s%s", step->name,
			    json_array_size(pp->targets), skipped[0] ?
			    "; damaged files not restored (force): " : "",
			    skipped);
	}
out:
	bk_release(&b);
	return rc;
}

/*
 * A restore that fails for good removes what it staged on its targets
 * (`backup-restore --mode cleanup`), so no node keeps a half-downloaded
 * copy of the backup beside its data.
 */
int restore_on_fail(struct task_ctx *ctx, const char *error,
    char *msg, size_t msglen)
{
	struct bk b;
	struct rsplan p;
	struct store_task *t;
	char err[1024];
	bool staged = false;
	int rc = bk_open(ctx, &b, err, sizeof(err));

	(void)error;
	memset(&p, 0, sizeof(p));
	if ((t = store_task_load(task_ctx_store(ctx), task_ctx_id(ctx))) !=
	    NULL) {
		for (size_t i = 0; i < t->nsteps; i++)
			if ((strcmp(t->steps[i].name, "restore") == 0 ||
			    strcmp(t->steps[i].name, "download") == 0 ||
			    strcmp(t->steps[i].name, "load") == 0) &&
			    t->steps[i].attempts > 0)
				staged = true;
		store_task_free(t);
	}
	if (!staged) {
		snprintf(msg, msglen, "nothing had been staged");
		rc = TASK_STEP_OK;
		goto out;
	}
	if (rc == TASK_STEP_OK)
		rc = restore_map(&b, &p, err, sizeof(err));
	if (rc == TASK_STEP_OK) {
		struct rsarg a = { &p, "cleanup", NULL };
		struct bk_fan f = { .b = &b, .targets = p.targets, .fn = fn_restore,
		    .arg = &a, .par = (int)json_array_size(p.targets) };
		rc = bk_fan_run(&f, err, sizeof(err));
		bk_fan_release(&f);
	}
	if (rc == TASK_STEP_OK)
		snprintf(msg, msglen, "removed the staged files of backup %s on "
		    "%zu nodes", p.c->backup_id, json_array_size(p.targets));
	else if (rc != TASK_STEP_STOP)
		snprintf(msg, msglen, "staged files (.rm-restore-*) may be left "
		    "on the targets: %s", err);
out:
	rsplan_release(&p);
	bk_release(&b);
	return rc == TASK_STEP_STOP ? TASK_STEP_STOP : rc == TASK_STEP_OK ?
	    TASK_STEP_OK : TASK_STEP_FAIL;
}
