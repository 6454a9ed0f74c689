/*
 * backup.h - backups of a cluster to object storage: the task types
 * "backup", "restore", "verify" and "purge", and the listing and deletion
 * of backups behind GET/DELETE /api/v1/clusters/{name}/backups.
 *
 * The orchestrator only coordinates: bytes move between each node and the
 * store through `ringagent backup-upload|backup-restore|backup-verify`
 * (agent/backup.h) run over SSH by nodeops_agent().  The orchestrator
 * reads and writes manifests and lists and deletes objects itself, with
 * the credentials of its own environment (AWS_ACCESS_KEY_ID ...).
 * Layout, steps and options: docs/backups.md; manifests: common/manifest.h.
 */
#ifndef RM_BACKUP_H
#define RM_BACKUP_H

#include <stddef.h>

#include <jansson.h>

struct store;
struct task_engine;
struct task_type;

/* The task types backup, restore, verify, purge and backup-index (rebuild
 * the index from storage); tasks/registry.c registers them. */
extern const struct task_type backup_type, backup_restore_type,
    backup_verify_type, backup_purge_type, backup_index_type;

/*
 * The cluster's backups from the backup index (store.h), newest first,
 * never from the object store (GET .../backups):
 *   {"items":[{"id","task_id","state","started_at","finished_at","nodes",
 *              "files","files_uploaded","bytes","bytes_uploaded",
 *              "last_verified_at","last_verify","last_verify_task",
 *              "damaged_files","missing_nodes"}],"next":null}
 * missing_nodes: [{"address","host_id","state"}] of a backup taken with
 * down_policy skip_down while those nodes were not up (its state is then
 * partial, never complete); [] for a whole backup.
 * state is complete, partial, damaged, running, incomplete or failed
 * (docs/backups.md).  0, RM_ENOENT (no such cluster) or RM_ERR,
 * with a message in err.
 */
int backup_list(struct store *st, const char *cluster, json_t **out,
    char *err, size_t errlen);
/* One backup as in the list plus "damaged":[{"key","reason"}].  0,
 * RM_ENOENT (no such cluster or backup) or RM_ERR, with err. */
int backup_get(struct store *st, const char *cluster, const char *id,
    json_t **out, char *err, size_t errlen);

/*
 * Queue a purge task for backup id of cluster (files other backups still
 * use stay); task_id (STORE_ID_MAX bytes) gets the task's id.  Existence
 * is the index's word (an index never filled cannot refuse).  0, RM_ENOENT
 * (bad id, no such cluster or backup), RM_EINVAL or RM_ERR, with err.
 */
int backup_delete(struct task_engine *e, const char *cluster, const char *id,
    char *task_id, char *err, size_t errlen);

#endif
