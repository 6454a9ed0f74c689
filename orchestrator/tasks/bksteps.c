/*
 * bksteps.c - the steps of the "backup" task type.
 *
 * A backup is a task of cluster-wide steps, each of which fans out over the
 * nodes as node jobs (a step per node would run the nodes one after
 * another):
 *
 *   check            every node up in the store and its agent reachable
 *   snapshot         `ringagent snapshot --tag rm-<id>` (snapshot_parallelism)
 *   upload           `ringagent backup-upload` on every node at once; each
 *                    agent dedupes against the previous complete backup's
 *                    node manifest, resumes from what is stored, and writes
 *                    its node manifest last
 *   manifests        every node's manifest present and valid
 *   complete         the cluster manifest, which alone marks it complete
 *   clear-snapshots  `ringagent clear-snapshot --tag rm-<id>`
 *   retention        purge what the retention policy no longer keeps
 *
 * Every step is derived from the task alone (the backup id comes from the
 * task's id and creation time), so a step run twice, or again after a
 * restart, finds its own earlier work and carries on from it.
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

/* ---- backup ---- */

int backup_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	static const char *const steps[] = { "check", "snapshot", "upload",
	    "manifests", "complete", "clear-snapshots", "retention" };

	(void)params;
	if (bk_need_nodes(nodes, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		task_plan_add(plan, steps[i], NULL);
	return 0;
}

static int fn_check(struct bk_fan *f, size_t i, char *err, size_t errlen)
{
	return bk_run_agent(f, i, "nodetool-check", err, errlen);
}

/*
 * Which nodes the backup takes, decided once per attempt of the check
 * step and kept in the index (missing_nodes) before any snapshot: every
 * later step, a retry and a restarted orchestrator read it from there, so
 * a node that comes back mid-backup is not half in it.  require_all takes
 * every node (a node not up fails the check, naming it); skip_down leaves
 * out every node that is not up - agent_down included: its Cassandra may
 * run, but without its agent nothing can snapshot it.
 */
static int check_decide(struct bk *b, char *err, size_t errlen)
{
	char policy[16];
	json_t *missing = json_array(), *n;
	size_t i;
	int rc;

	if ((rc = bk_index_ensure(b, err, errlen)) != TASK_STEP_OK) {
		json_decref(missing);
		return rc;
	}
	bk_down_policy(b, policy, sizeof(policy));
	if (strcmp(policy, "skip_down") == 0) {
		json_array_foreach(b->nodes, i, n) {
			const char *st = bk_str(n, "state");
			if (st == NULL || strcmp(st, "up") != 0)
				json_array_append_new(missing, json_pack(
				    "{s:s?, s:s?, s:s}", "address", bk_str(n,
				    "address"), "host_id", bk_str(n, "host_id"),
				    "state", st ? st : "unknown"));
		}
		if (json_array_size(missing) == json_array_size(b->nodes)) {
			char *names = bk_missing_names(missing);
			snprintf(err, errlen, "no node is up (%s): even a skip_down "
			    "backup needs one; start a node or wait for its agent",
			    names);
			free(names);
			json_decref(missing);
			return TASK_STEP_FAIL;
		}
	}
	json_decref(b->missing);
	b->missing = json_array_size(missing) > 0 ? missing : NULL;
	if (b->missing == NULL)
		json_decref(missing);
	/* Intent first: the index shows the backup running, with the nodes
	 * it leaves out, from here on. */
	return bk_index_set(b, STORE_BK_RUNNING, NULL, err, errlen);
}

static int step_check(struct bk *b, char *err, size_t errlen)
{
	struct bk_fan f = { .b = b, .targets = b->nodes, .fn = fn_check,
	    .par = (int)json_array_size(b->nodes), .phase = "check" };
	char *names;
	int rc;

	if (bk_check_nodes_up(b, b->nodes, err, errlen) != 0)
		return TASK_STEP_FAIL;
	rc = bk_fan_run(&f, err, errlen);
	bk_fan_release(&f);
	if (rc != TASK_STEP_OK)
		return rc;
	if (b->missing == NULL) {
		task_progress(b->ctx, "%zu nodes up and reachable; backup id %s",
		    json_array_size(b->nodes), b->id);
		return rc;
	}
	names = bk_missing_names(b->missing);
	task_progress(b->ctx, "%zu nodes up and reachable; backup id %s; "
	    "partial (down_policy skip_down): %zu nodes left out: %s",
	    json_array_size(b->nodes), b->id, json_array_size(b->missing),
	    names);
	free(names);
	return rc;
}

static int fn_snapshot(struct bk_fan *f, size_t i, char *err, size_t errlen)
{
	char *args = xasprintf("snapshot --tag %s", f->b->tag);
	int rc;

	bk_add_filters(&args, f->b->params, false);
	rc = bk_run_agent(f, i, args, err, errlen);
	free(args);
	return rc;
}

static int fn_clear(struct bk_fan *f, size_t i, char *err, size_t errlen)
{
	char *args = xasprintf("clear-snapshot --tag %s", f->b->tag);
	int rc = bk_run_agent(f, i, args, err, errlen);

	free(args);
	return rc;
}

struct upload_arg {
	char *store;
	const char *prev;		/* id of the backup to dedupe against */
	const char *exclude;		/* key of exclude.json, or NULL */
};

static int fn_upload(struct bk_fan *f, size_t i, char *err, size_t errlen)
{
	struct upload_arg *a = f->arg;
	const json_t *n = bk_fan_node(f, i);
	const char *hid = bk_str(n, "host_id"), *dc = bk_str(n, "dc"),
	    *rack = bk_str(n, "rack");
	json_t *rl = json_object_get(f->b->params, "rate_limit_mib");
	char *args, *prev = NULL, *tmp;
	int rc;

	if (hid != NULL && !manifest_component_safe(hid))
		hid = NULL;
	args = xasprintf("backup-upload %s --cluster %s --backup-id %s --tag %s"
	    " --address %s --parallel %d", a->store, f->b->cluster, f->b->id,
	    f->b->tag, bk_str(n, "address"), (int)params_int(f->b->params,
	    "upload_parallelism", 4));
	if (hid != NULL) {
		tmp = xasprintf("%s --host-id %s", args, hid);
		free(args);
		args = tmp;
		if (a->prev != NULL) {
			prev = manifest_node_key(f->b->cluster, a->prev, hid);
			tmp = xasprintf("%s --previous %s", args, prev);
			free(args);
			args = tmp;
		}
	}
	if (bk_plain_arg(dc) && bk_plain_arg(rack)) {
		tmp = xasprintf("%s --dc %s --rack %s", args, dc, rack);
		free(args);
		args = tmp;
	}
	if (json_is_number(rl) && json_number_value(rl) > 0) {
		tmp = xasprintf("%s --rate-limit %g", args, json_number_value(rl));
		free(args);
		args = tmp;
	}
	if (json_is_true(json_object_get(f->b->params, "hash_all"))) {
		tmp = xasprintf("%s --hash-all", args);
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
	free(prev);
	return rc;
}

/*
 * What the upload step decides before its node jobs start: the backup to
 * dedupe against (from a listing of the store) and the exclude list of
 * damaged objects (written to the store).  The step is called again at
 * every poll of its jobs: both are made at its first call and kept in the
 * attempt's memo, so an attempt lists the store and writes exclude.json
 * once, and every node is given the same --previous.
 */
struct upplan {
	char *prev;			/* NULL: nothing to dedupe against */
	char *exkey;			/* NULL: nothing excluded */
	size_t ndamaged;
};

static void upplan_release(void *p)
{
	struct upplan *u = p;

	free(u->prev);
	free(u->exkey);
	free(u);
}

static struct upplan *upplan_get(struct bk *b, char *err, size_t errlen)
{
	struct upplan *u = task_memo(b->ctx, "upload:plan");
	struct bk_list l;
	const struct bk_ent *prev;
	char **damaged;

	if (u != NULL)
		return u;
	if (bk_list_backups(b->s3, b->cluster, &l, err, errlen) != 0)
		return NULL;
	u = xcalloc(1, sizeof(*u));
	prev = bk_latest_complete(&l, b->id);
	u->prev = prev ? xstrdup(prev->id) : NULL;
	free(l.v);
	/* Objects a verify found lost or corrupt are never referenced
	 * again: deduplication would carry the damage into this backup.
	 * The agents upload such files afresh, under another key. */
	damaged = bk_damaged_keys(b->st, b->cluster, &u->ndamaged);
	if (u->ndamaged > 0) {
		u->exkey = xasprintf("%s/backups/%s/exclude.json", b->cluster,
		    b->id);
		if (bk_put_exclude(b->s3, u->exkey, damaged, u->ndamaged, err,
		    errlen) != 0) {
			bk_strv_free(damaged, u->ndamaged);
			upplan_release(u);
			return NULL;
		}
	}
	bk_strv_free(damaged, u->ndamaged);
	task_memo_put(b->ctx, "upload:plan", u, upplan_release, NULL);
	return u;
}

static int step_upload(struct bk *b, char *err, size_t errlen)
{
	struct upload_arg a = { NULL, NULL, NULL };
	struct bk_fan f = { .b = b, .targets = b->nodes, .fn = fn_upload,
	    .arg = &a, .par = (int)json_array_size(b->nodes),
	    .phase = "upload" };
	const struct upplan *u = upplan_get(b, err, errlen);
	int rc;
	json_int_t files = 0, up = 0, bytes = 0, bup = 0;

	if (u == NULL)
		return TASK_STEP_FAIL;
	a.store = bk_store_args(b);
	a.prev = u->prev;
	a.exclude = u->exkey;
	rc = bk_fan_run(&f, err, errlen);
	for (size_t i = 0; rc == TASK_STEP_OK && i < json_array_size(b->nodes);
	    i++) {
		files += json_integer_value(json_object_get(f.data[i], "files"));
		up += json_integer_value(json_object_get(f.data[i],
		    "files_uploaded"));
		bytes += json_integer_value(json_object_get(f.data[i], "bytes"));
		bup += json_integer_value(json_object_get(f.data[i],
		    "bytes_uploaded"));
	}
	if (rc == TASK_STEP_OK) {
		char dmg[160] = "";
		if (u->ndamaged > 0)
			snprintf(dmg, sizeof(dmg), "; %zu damaged objects never "
			    "referenced (exclude.json)", u->ndamaged);
		task_progress(b->ctx, "%zu nodes: %lld files (%lld bytes), %lld "
		    "uploaded (%lld bytes), the rest already stored%s%s%s",
		    json_array_size(b->nodes), (long long)files, (long long)bytes,
		    (long long)up, (long long)bup, a.prev ? "; deduplicated "
		    "against " : "", a.prev ? a.prev : "", dmg);
	}
	bk_fan_release(&f);
	free(a.store);
	return rc;
}

/* Node manifests of this backup, one per node (by host id). */
static int load_node_manifests(struct bk *b, struct manifest_cluster *c,
    char *err, size_t errlen)
{
	size_t i;
	json_t *n;

	c->nodes = xcalloc(json_array_size(b->nodes) + 1, sizeof(*c->nodes));
	json_array_foreach(b->nodes, i, n) {
		const char *hid = bk_str(n, "host_id");
		struct manifest_node *m;
		char *key;

		if (hid == NULL || !manifest_component_safe(hid)) {
			snprintf(err, errlen, "node %s has no host id in the store: "
			    "it has not checked in since it joined", bk_str(n, "address"));
			return TASK_STEP_FAIL;
		}
		key = manifest_node_key(b->cluster, b->id, hid);
		m = bk_node_manifest(b->s3, key, err, errlen);
		if (m == NULL) {
			free(key);
			return TASK_STEP_FAIL;
		}
		struct manifest_cluster_node *cn = &c->nodes[c->nnodes++];
		cn->host_id = xstrdup(hid);
		cn->address = xstrdup(m->address ? m->address : bk_str(n, "address"));
		cn->dc = m->dc ? xstrdup(m->dc) : NULL;
		cn->rack = m->rack ? xstrdup(m->rack) : NULL;
		cn->manifest = key;
		cn->files = m->nfiles;
		cn->files_uploaded = m->files_uploaded;
		cn->bytes = m->bytes;
		cn->bytes_uploaded = m->bytes_uploaded;
		c->files += m->nfiles;
		c->files_uploaded += m->files_uploaded;
		c->bytes += m->bytes;
		c->bytes_uploaded += m->bytes_uploaded;
		manifest_node_free(m);
	}
	return TASK_STEP_OK;
}

/* c->missing borrows the strings of missing (only the array is c's). */
static void missing_to_manifest(const json_t *missing,
    struct manifest_cluster *c)
{
	size_t i;
	json_t *m;

	c->nmissing = 0;
	c->missing = xcalloc(json_array_size(missing) + 1, sizeof(*c->missing));
	json_array_foreach(missing, i, m) {
		struct manifest_missing_node *mm = &c->missing[c->nmissing];
		if (bk_str(m, "address") == NULL)
			continue;
		mm->address = (char *)(uintptr_t)bk_str(m, "address");
		mm->host_id = (char *)(uintptr_t)bk_str(m, "host_id");
		mm->state = (char *)(uintptr_t)bk_str(m, "state");
		c->nmissing++;
	}
}

static int step_manifests(struct bk *b, bool write, char *err, size_t errlen)
{
	struct manifest_cluster c;
	char *text = NULL, *key;
	size_t len;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = load_node_manifests(b, &c, err, errlen);
	if (rc == TASK_STEP_OK && !write)
		task_progress(b->ctx, "%zu node manifests: %zu files, %llu bytes",
		    c.nnodes, c.files, (unsigned long long)c.bytes);
	if (rc == TASK_STEP_OK && write) {
		c.cluster = xstrdup(b->cluster);
		c.backup_id = xstrdup(b->id);
		c.task_id = xstrdup(task_ctx_id(b->ctx));
		c.started_at = b->task_started;
		c.finished_at = time_wall_ms();
		c.options_json = json_dumps(b->params, JSON_COMPACT);
		missing_to_manifest(b->missing, &c);
		text = manifest_cluster_dump(&c, &len);
		key = manifest_cluster_key(b->cluster, b->id);
		if (s3_put_mem(b->s3, key, text, len, NULL, NULL, err, errlen) != 0)
			rc = TASK_STEP_FAIL;
		else if ((rc = bk_index_set(b, bk_params_partial(b->params) ||
		    c.nmissing > 0 ? STORE_BK_PARTIAL : STORE_BK_COMPLETE, &c,
		    err, errlen)) == TASK_STEP_OK && c.nmissing == 0)
			task_progress(b->ctx, "backup %s complete: %zu nodes, %zu "
			    "files, %llu bytes (%llu uploaded)", b->id, c.nnodes,
			    c.files, (unsigned long long)c.bytes,
			    (unsigned long long)c.bytes_uploaded);
		else if (rc == TASK_STEP_OK) {
			/* Never "complete": it lacks whole nodes. */
			char *names = bk_missing_names(b->missing);
			task_progress(b->ctx, "backup %s partial: %zu nodes, %zu "
			    "files, %llu bytes (%llu uploaded); missing %zu nodes "
			    "that were not up: %s", b->id, c.nnodes, c.files,
			    (unsigned long long)c.bytes,
			    (unsigned long long)c.bytes_uploaded, c.nmissing, names);
			free(names);
		}
		free(key);
		free(text);
		c.nodes = c.nodes;
		free(c.cluster);
		free(c.backup_id);
		free(c.task_id);
		free(c.options_json);
		c.cluster = c.backup_id = c.task_id = c.options_json = NULL;
	}
	free(c.missing);	/* its strings are b->missing's */
	for (size_t i = 0; i < c.nnodes; i++) {
		free(c.nodes[i].host_id);
		free(c.nodes[i].address);
		free(c.nodes[i].dc);
		free(c.nodes[i].rack);
		free(c.nodes[i].manifest);
	}
	free(c.nodes);
	return rc;
}

static int step_retention(struct bk *b, const json_t *ret, char *err,
    size_t errlen)
{
	struct bk_list l;
	char **ids = NULL;
	size_t n = 0;
	int rc;

	if (ret == NULL) {
		task_progress(b->ctx, "no retention policy: every backup is kept");
		return TASK_STEP_OK;
	}
	if (bk_list_backups(b->s3, b->cluster, &l, err, errlen) != 0)
		return TASK_STEP_FAIL;
	bk_list_mark_missing(b->st, b->cluster, &l);
	bk_retention_pick(ret, &l, time_wall_ms(), &ids, &n);
	free(l.v);
	rc = bk_purge_run(b, ids, n, err, errlen);
	bk_strv_free(ids, n);
	return rc;
}

int backup_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	struct bk b;
	int rc = bk_open(ctx, &b, err, errlen);

	if (rc != TASK_STEP_OK)
		goto out;
	/* The check step decides which nodes are in the backup, once per
	 * attempt; every step then works on those alone. */
	if (strcmp(step->name, "check") == 0 &&
	    task_memo(ctx, "check:decided") == NULL) {
		if ((rc = check_decide(&b, err, errlen)) != TASK_STEP_OK)
			goto out;
		task_memo_put(ctx, "check:decided", ctx, NULL, NULL);
	}
	if ((rc = bk_apply_missing(&b, err, errlen)) != TASK_STEP_OK)
		goto out;
	if (strcmp(step->name, "check") == 0) {
		rc = step_check(&b, err, errlen);
	} else if (strcmp(step->name, "snapshot") == 0 ||
	    strcmp(step->name, "clear-snapshots") == 0) {
		bool snap = step->name[0] == 's';
		int all = (int)json_array_size(b.nodes);
		int par = snap ? (int)params_int(b.params, "snapshot_parallelism",
		    0) : all;
		struct bk_fan f = { .b = &b, .targets = b.nodes, .fn = snap ?
		    fn_snapshot : fn_clear, .par = par > 0 && par < all ? par :
		    all, .phase = step->name };	/* 0: all of them */
		rc = bk_fan_run(&f, err, errlen);
		bk_fan_release(&f);
		if (rc == TASK_STEP_OK)
			task_progress(ctx, "%s '%s' on %zu nodes", snap ?
			    "snapshot" : "cleared snapshot", b.tag,
			    json_array_size(b.nodes));
	} else if (strcmp(step->name, "upload") == 0) {
		rc = step_upload(&b, err, errlen);
	} else if (strcmp(step->name, "manifests") == 0) {
		rc = step_manifests(&b, false, err, errlen);
	} else if (strcmp(step->name, "complete") == 0) {
		rc = step_manifests(&b, true, err, errlen);
	} else if (strcmp(step->name, "retention") == 0) {
		rc = step_retention(&b, json_object_get(b.params, "retention"),
		    err, errlen);
	} else {
		snprintf(err, errlen, "unknown backup step '%s'", step->name);
		rc = TASK_STEP_FATAL;
	}
out:
	bk_release(&b);
	return rc;
}

/*
 * A backup that fails for good: the index says so (unless its cluster
 * manifest was written: then it is complete whatever failed after), and
 * the snapshots it took are cleared, so no node keeps hard links to
 * SSTables it would otherwise delete.
 */
int backup_on_fail(struct task_ctx *ctx, const char *error, char *msg,
    size_t msglen)
{
	struct bk b;
	struct store_backup *row = NULL;
	struct store_task *t;
	char err[1024];
	bool snapped = false;
	int rc = bk_open(ctx, &b, err, sizeof(err));

	(void)error;
	if (rc != TASK_STEP_OK) {
		snprintf(msg, msglen, "cannot clean up: %s", err);
		bk_release(&b);
		return TASK_STEP_FAIL;
	}
	/* Only the nodes in the backup took its snapshot. */
	if (bk_apply_missing(&b, err, sizeof(err)) != TASK_STEP_OK)
		log_warnx("backup %s: %s; clearing its snapshot everywhere",
		    b.id, err);
	if (store_backup_get(b.st, b.cluster, b.id, &row) == 0 &&
	    (row->state == STORE_BK_RUNNING || row->state ==
	    STORE_BK_INCOMPLETE))
		store_backup_set_state(b.st, b.cluster, b.id, STORE_BK_FAILED,
		    time_wall_ms(), NULL, 0);
	store_backups_free(row, row ? 1 : 0);
	if ((t = store_task_load(b.st, task_ctx_id(ctx))) != NULL) {
		for (size_t i = 0; i < t->nsteps; i++) {
			if (strcmp(t->steps[i].name, "snapshot") == 0 &&
			    t->steps[i].attempts > 0)
				snapped = true;
			if (strcmp(t->steps[i].name, "clear-snapshots") == 0 &&
			    t->steps[i].state == STORE_STEP_SUCCEEDED)
				snapped = false;
		}
		store_task_free(t);
	}
	if (!snapped) {
		snprintf(msg, msglen, "backup %s marked failed; no snapshot "
		    "had been taken", b.id);
	} else {
		struct bk_fan f = { .b = &b, .targets = b.nodes, .fn = fn_clear,
		    .par = (int)json_array_size(b.nodes) };
		rc = bk_fan_run(&f, err, sizeof(err));
		bk_fan_release(&f);
		if (rc == TASK_STEP_OK)
			snprintf(msg, msglen, "backup %s marked failed; cleared "
			    "snapshot %s on %zu nodes", b.id, b.tag,
			    json_array_size(b.nodes));
		else
			snprintf(msg, msglen, "snapshot %s may be left on some "
			    "nodes (%s): clear it with `ringagent clear-snapshot "
			    "--tag %s`", b.tag, err, b.tag);
	}
	bk_release(&b);
	return rc == TASK_STEP_STOP ? TASK_STEP_STOP : rc == TASK_STEP_OK ?
	    TASK_STEP_OK : TASK_STEP_FAIL;
}
