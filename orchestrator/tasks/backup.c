/*
 * backup.c - see backup.h.
 *
 * The backup family of task types - backup (bksteps.c), purge and
 * backup-index (purge.c), verify (verify.c), restore (restore.c) - is
 * registered here with its parameters, and the service's backup listing,
 * lookup and deletion read the backup index (bkcore.c) in the store.
 */
#include "backup.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/log.h"
#include "../../common/manifest.h"
#include "../../common/s3.h"
#include "../../common/util.h"
#include "../nodes/nodeops.h"
#include "../store/store.h"
#include "../engine/task.h"
#include "bk.h"
#include "../engine/params.h"


/* ---- parameters ---- */

/* ---- parameters (params.h) ---- */

#define NODE_PARAMS PARAMS_NODE(21600, 604800)

static const struct param_spec backup_params[] = {
	{ "keyspaces", PT_NAMES, 0, 0, NULL, NULL, 0,
	  "keyspaces to back up (default: every user keyspace)" },
	{ "tables", PT_TABLES, 0, 0, NULL, NULL, 0,
	  "tables to back up, as \"keyspace.table\"" },
	{ "snapshot_parallelism", PT_INT, 0, 1000, "0", NULL, 0,
	  "nodes snapshotting at once; 0: all of them" },
	{ "upload_parallelism", PT_INT, 1, 64, "4", NULL, 0,
	  "files each node uploads at once" },
	{ "rate_limit_mib", PT_NUMBER, 0, 1e6, "0", NULL, 0,
	  "MiB/s each node may upload; 0: no limit" },
	{ "retention", PT_RETENTION, 0, 0, NULL, NULL, 0,
	  "after the backup, purge what {\"keep_last\": N, \"keep_days\": D} "
	  "no longer keeps" },
	{ "hash_all", PT_BOOL, 0, 0, "false", NULL, 0,
	  "hash every file, even those the previous backup already holds" },
	{ "down_policy", PT_NAME, 0, 0, NULL, NULL, 0,
	  "a node not up: require_all fails the backup naming it; skip_down "
	  "backs up the others and lists the backup partial, naming it "
	  "(default: the cluster's backup_down_policy)" },
	NODE_PARAMS,
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static const struct param_spec restore_params[] = {
	{ "backup_id", PT_NAME, 0, 0, NULL, NULL, 0,
	  "the backup to restore (default: the latest complete one)" },
	{ "source_cluster", PT_NAME, 0, 0, NULL, NULL, 0,
	  "restore a backup of this other cluster (same storage)" },
	{ "source", PT_SOURCE, 0, 0, NULL, NULL, 0,
	  "restore from another storage: {\"cluster\", \"storage\", "
	  "\"endpoint\", \"region\"}" },
	{ "force", PT_BOOL, 0, 0, "false", NULL, 0,
	  "restore a backup recorded damaged (its damaged files are left out)" },
	{ "keyspaces", PT_NAMES, 0, 0, NULL, NULL, 0, "keyspaces to restore" },
	{ "tables", PT_TABLES, 0, 0, NULL, NULL, 0,
	  "tables to restore, as \"keyspace.table\"" },
	{ "nodes", PT_ADDRS, 0, 0, NULL, NULL, 0,
	  "target nodes to restore (default: all)" },
	{ "download_parallelism", PT_INT, 1, 64, "4", NULL, 0,
	  "files each node downloads at once" },
	{ "rate_limit_mib", PT_NUMBER, 0, 1e6, "0", NULL, 0,
	  "MiB/s each node may download; 0: no limit" },
	{ "space_margin_pct", PT_NUMBER, 0, 100, "10", NULL, 0,
	  "free space each node needs beyond what it downloads, in percent "
	  "of that" },
	NODE_PARAMS,
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static const struct param_spec verify_params[] = {
	{ "backup_id", PT_NAME, 0, 0, NULL, NULL, 0,
	  "the backup to verify (default: the latest complete one)" },
	{ "download", PT_BOOL, 0, 0, "false", NULL, 0,
	  "download every object on the nodes and check its checksum, not "
	  "only its size" },
	{ "parallelism", PT_INT, 1, 64, "8", NULL, 0,
	  "objects the orchestrator checks at once (HEAD; without download)" },
	{ "download_parallelism", PT_INT, 1, 64, "4", NULL, 0,
	  "files each node downloads and checksums at once (with download)" },
	NODE_PARAMS,
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static const struct param_spec purge_params[] = {
	{ "backup_ids", PT_NAMES, 0, 0, NULL, NULL, 0, "backups to delete" },
	{ "retention", PT_RETENTION, 0, 0, NULL, NULL, 0,
	  "delete what {\"keep_last\": N, \"keep_days\": D} no longer keeps" },
	NODE_PARAMS,
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

/* It reads storage from the orchestrator alone: no node params. */
static const struct param_spec index_params[] = {
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};


static int backup_validate(json_t *params, char *err, size_t errlen)
{
	const char *p = json_string_value(json_object_get(params,
	    "down_policy"));

	if (p != NULL && strcmp(p, "require_all") != 0 &&
	    strcmp(p, "skip_down") != 0) {
		snprintf(err, errlen, "params.down_policy '%s' is not a policy: "
		    "give \"require_all\" or \"skip_down\"", p);
		return -1;
	}
	return 0;
}

const struct task_type backup_type = {
	.name = "backup",
	.description = "back up the cluster: snapshot every node, upload what "
	    "the previous complete backup does not hold, write the manifests",
	.steps = "check, snapshot, upload, manifests, complete, "
	    "clear-snapshots, retention (when asked)",
	.params = backup_params,
	.validate = backup_validate,
	.plan = backup_plan,
	.run = backup_run,
	.on_fail = backup_on_fail,
	.max_attempts = 5,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 60000,
	.step_deadline_ms = 24LL * 3600 * 1000,
};

static int purge_validate(json_t *params, char *err, size_t errlen)
{
	if (json_object_get(params, "backup_ids") == NULL &&
	    json_object_get(params, "retention") == NULL) {
		snprintf(err, errlen, "purge needs params.backup_ids or "
		    "params.retention (keep_last, keep_days)");
		return -1;
	}
	return 0;
}

const struct task_type backup_purge_type = {
	.name = "purge",
	.description = "delete backups (by id or by a retention policy) and "
	    "the objects no complete backup still uses",
	.steps = "purge",
	.params = purge_params,
	.validate = purge_validate,
	.plan = single_plan,
	.run = purge_task_run,
	.max_attempts = 5,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 60000,
	.step_deadline_ms = 24LL * 3600 * 1000,
};


const struct task_type backup_index_type = {
	.name = "backup-index",
	.description = "rebuild the cluster's backup index from its storage",
	.steps = "reindex",
	.params = index_params,
	.plan = index_plan,
	.run = index_run,
	.max_attempts = 3,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 30000,
};


const struct task_type backup_verify_type = {
	.name = "verify",
	.description = "check every object of a backup is present with the "
	    "right size (or download and checksum it); record damage",
	.steps = "verify",
	.params = verify_params,
	.plan = verify_plan,
	.run = verify_run,
	.max_attempts = 3,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 30000,
	.step_deadline_ms = 24LL * 3600 * 1000,
};

static int restore_validate(json_t *params, char *err, size_t errlen)
{
	if (json_object_get(params, "source") != NULL &&
	    json_object_get(params, "source_cluster") != NULL) {
		snprintf(err, errlen, "params.source and params.source_cluster "
		    "both name the cluster to restore from: give one");
		return -1;
	}
	return 0;
}

const struct task_type backup_restore_type = {
	.name = "restore",
	.description = "restore a backup into this cluster: map nodes by "
	    "token, check space, download, stage and load on each node",
	.steps = "map, space, restore",
	.params = restore_params,
	.validate = restore_validate,
	.plan = restore_plan,
	.run = restore_run,
	.admit = restore_admit,
	.on_fail = restore_on_fail,
	.max_attempts = 5,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 60000,
	.step_deadline_ms = 24LL * 3600 * 1000,
};

/* ---- registration and the service functions ---- */


static json_t *jtime_ms(int64_t ms)
{
	char buf[40];
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0)
		return json_null();
	gmtime_r(&secs, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	return json_sprintf("%s.%03dZ", buf, (int)(ms % 1000));
}

/* The state to show: a row left "running" by a task that ended without
 * its hook (cancelled, or killed before the index was kept) is not. */
static const char *shown_state(struct store *st, const struct store_backup *r)
{
	struct store_task *t;
	const char *s = store_backup_state_str(r->state);

	if (r->state != STORE_BK_RUNNING || r->task_id[0] == '\0')
		return s;
	if ((t = store_task_load(st, r->task_id)) == NULL)
		return "incomplete";
	if (t->state == STORE_TASK_FAILED)
		s = "failed";
	else if (store_task_state_terminal(t->state))
		s = "incomplete";
	store_task_free(t);
	return s;
}

/* At most this many damaged files are named in each item of the listing
 * (all of them in GET of one backup): enough to act on at a glance. */
#define LIST_DAMAGED_SHOWN 20

static json_t *backup_json(struct store *st, const struct store_backup *r,
    size_t files)
{
	json_t *o = json_pack("{s:s, s:s?, s:s, s:o, s:o, s:I, s:I, s:I, s:I,"
	    " s:I, s:o, s:s?, s:s?, s:I}",
	    "id", r->id, "task_id", r->task_id[0] ? r->task_id : NULL,
	    "state", shown_state(st, r),
	    "started_at", jtime_ms(r->started_at),
	    "finished_at", jtime_ms(r->finished_at),
	    "nodes", (json_int_t)r->nodes, "files", (json_int_t)r->files,
	    "files_uploaded", (json_int_t)r->files_uploaded,
	    "bytes", (json_int_t)r->bytes,
	    "bytes_uploaded", (json_int_t)r->bytes_uploaded,
	    "last_verified_at", jtime_ms(r->last_verified_at),
	    "last_verify", r->last_verify[0] ? r->last_verify : NULL,
	    "last_verify_task", r->last_verify_task[0] ? r->last_verify_task :
	    NULL, "damaged_files", (json_int_t)r->ndamaged);

	/* The nodes a skip_down backup lacks: [] for a whole one.  The text
	 * is ours, but a row that does not parse still must not read as
	 * whole. */
	json_t *miss = r->missing_nodes ? json_loads(r->missing_nodes, 0, NULL) :
	    json_array();
	if (!json_is_array(miss)) {
		json_decref(miss);
		miss = json_pack("[{s:s}]", "address", "(unreadable in the index: "
		    "run a backup-index task)");
	}
	json_object_set_new(o, "missing_nodes", miss);
	if (files > 0) {
		json_t *d = json_array();
		for (size_t i = 0; i < r->ndamaged && i < files; i++)
			json_array_append_new(d, json_pack("{s:s, s:s}", "key",
			    r->damaged[i].key, "reason", r->damaged[i].reason));
		json_object_set_new(o, "damaged", d);
	}
	return o;
}

int backup_list(struct store *st, const char *cluster, json_t **out,
    char *err, size_t errlen)
{
	struct store_backup *v = NULL;
	size_t n = 0;
	json_t *items;

	if (!store_cluster_exists(st, cluster)) {
		snprintf(err, errlen, "cluster '%s' not found", cluster);
		return RM_ENOENT;
	}
	if (store_backup_list(st, cluster, &v, &n) != 0) {
		snprintf(err, errlen, "cannot read the backup index of '%s': see "
		    "the ringmaster log", cluster);
		return RM_ERR;
	}
	items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, backup_json(st, &v[i],
		    LIST_DAMAGED_SHOWN));
	store_backups_free(v, n);
	*out = json_pack("{s:o, s:n}", "items", items, "next");
	return 0;
}

int backup_get(struct store *st, const char *cluster, const char *id,
    json_t **out, char *err, size_t errlen)
{
	struct store_backup *r = NULL;
	int rc;

	if (!store_cluster_exists(st, cluster)) {
		snprintf(err, errlen, "cluster '%s' not found", cluster);
		return RM_ENOENT;
	}
	rc = manifest_backup_id_valid(id) ? store_backup_get(st, cluster, id,
	    &r) : RM_ENOENT;
	if (rc == RM_ENOENT) {
		snprintf(err, errlen, "backup '%.80s' of cluster '%s' not found "
		    "in the backup index%s", id, cluster,
		    store_backup_index_filled(st, cluster) ? "" : " (never filled: "
		    "a backup, verify, purge or backup-index task fills it from "
		    "storage)");
		return RM_ENOENT;
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot read the backup index of '%s': see "
		    "the ringmaster log", cluster);
		return RM_ERR;
	}
	*out = backup_json(st, r, SIZE_MAX);
	store_backups_free(r, 1);
	return 0;
}

int backup_delete(struct task_engine *e, const char *cluster, const char *id,
    char *task_id, char *err, size_t errlen)
{
	struct store *st = task_engine_store(e);
	struct store_backup *r = NULL;
	char tid[STORE_ID_MAX];
	json_t *params;
	int rc;

	if (!manifest_backup_id_valid(id)) {
		snprintf(err, errlen, "backup '%.64s' not found", id);
		return RM_ENOENT;
	}
	if (!store_cluster_exists(st, cluster)) {
		snprintf(err, errlen, "cluster '%s' not found", cluster);
		return RM_ENOENT;
	}
	/* The index answers; one never filled cannot say no, and the purge
	 * fills it (deleting a backup that is not there deletes nothing). */
	rc = store_backup_get(st, cluster, id, &r);
	store_backups_free(r, rc == 0 ? 1 : 0);
	if (rc == RM_ENOENT && store_backup_index_filled(st, cluster) != 0) {
		snprintf(err, errlen, "backup '%s' of cluster '%s' not found", id,
		    cluster);
		return RM_ENOENT;
	}
	params = json_pack("{s:[s]}", "backup_ids", id);
	rc = task_submit(e, cluster, "purge", params, tid, err, errlen);
	json_decref(params);
	if (rc != 0)
		return rc;
	str_copy(task_id, tid, STORE_ID_MAX);
	return 0;
}
