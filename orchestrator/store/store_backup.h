/*
 * store_backup.h - the backup index and damaged objects in the store
 * (store_backup.c); included by store.h, whose conventions apply.
 */
#ifndef RM_STORE_BACKUP_H
#define RM_STORE_BACKUP_H

#include "store.h"

/* ---- backups: the index, damaged objects ------------------------------- */

/*
 * The backup index: what the orchestrator knows of each backup of a
 * cluster, kept by the backup, verify and purge tasks (orchestrator/
 * backup.c) so the API lists backups without reading the object store.
 * The store of record stays the object store (a backup is complete when its
 * cluster manifest exists); the index can be rebuilt from it.
 */
enum store_backup_state {
	STORE_BK_COMPLETE,	/* cluster manifest written, nothing known bad */
	STORE_BK_DAMAGED,	/* complete, but files it needs are lost/corrupt */
	STORE_BK_PARTIAL,	/* complete, of some keyspaces/tables or
				   without the nodes that were down */
	STORE_BK_RUNNING,	/* its task is making it */
	STORE_BK_INCOMPLETE,	/* no cluster manifest, no task making it */
	STORE_BK_FAILED,	/* its task failed for good */
};
#define STORE_BACKUP_ID_MAX	80

/* "complete" ... "failed"; parse returns 0 or -1. */
const char *store_backup_state_str(enum store_backup_state s);
int store_backup_state_parse(const char *s, enum store_backup_state *out);

/* A file (object key) of a backup and why it cannot be trusted. */
struct store_backup_file {
	char *key;
	char *reason;
};

struct store_backup {
	char cluster[STORE_NAME_MAX];
	char id[STORE_BACKUP_ID_MAX];
	char task_id[STORE_ID_MAX];		/* "" unknown */
	enum store_backup_state state;
	bool partial;				/* keyspaces/tables chosen, or
						   nodes missing */
	/* The nodes a skip_down backup left out: a JSON array of
	 * {"address","host_id","state"} as text, NULL when none.  Owned by
	 * the row read (store_backups_free()); only borrowed by a put. */
	char *missing_nodes;
	int64_t started_at, finished_at;	/* ms, 0 = none */
	int64_t nodes, files, bytes, files_uploaded, bytes_uploaded;
	int64_t last_verified_at;		/* ms, 0 = never */
	char last_verify[16];			/* "ok", "damaged", "" never */
	char last_verify_task[STORE_ID_MAX];
	/* Read only (store_backup_get): the files known damaged. */
	struct store_backup_file *damaged;
	size_t ndamaged;
};

/*
 * Insert or update the row (cluster, id): every field but the verify
 * fields and the damaged files, which only store_backup_verified() and
 * store_backup_mark_damaged() change.  A backup recorded as damaged stays
 * damaged when b->state is complete or partial.  0, RM_ENOENT (no such
 * cluster), RM_ERR.
 */
int store_backup_put(struct store *st, const struct store_backup *b,
    char *err, size_t errlen);
/* Only the state (and finished_at when > 0).  0, RM_ENOENT, RM_ERR. */
int store_backup_set_state(struct store *st, const char *cluster,
    const char *id, enum store_backup_state state, int64_t finished_at,
    char *err, size_t errlen);
/* The backup with its damaged files: 0 and *out (store_backups_free(*out,
 * 1)), RM_ENOENT, RM_ERR. */
int store_backup_get(struct store *st, const char *cluster, const char *id,
    struct store_backup **out);
/* Every backup of cluster, newest first (ids sort by time), each with its
 * damaged files.  0 or RM_ERR. */
int store_backup_list(struct store *st, const char *cluster,
    struct store_backup **out, size_t *n);
void store_backups_free(struct store_backup *v, size_t n);
/* 0, RM_ENOENT, RM_ERR.  Its damaged-file rows go with it. */
int store_backup_delete(struct store *st, const char *cluster,
    const char *id, char *err, size_t errlen);
/*
 * A verify of backup id ended at `at` (task task_id) and found the files
 * bad (n may be 0): its damaged files become exactly those, last_verify
 * "ok" or "damaged", and the state damaged, or back to complete/partial
 * when it was damaged and nothing is bad any more.  0, RM_ENOENT,
 * RM_ERR.
 */
int store_backup_verified(struct store *st, const char *cluster,
    const char *id, const char *task_id, int64_t at,
    const struct store_backup_file *bad, size_t n, char *err, size_t errlen);
/*
 * Add damaged files to backup id (a file already listed keeps its first
 * reason) and make a complete or partial backup damaged.  0, RM_ENOENT,
 * RM_ERR.
 */
int store_backup_mark_damaged(struct store *st, const char *cluster,
    const char *id, const struct store_backup_file *files, size_t n,
    char *err, size_t errlen);
/*
 * Rebuild the index of cluster from what the object store holds (v, n):
 * every row is put as store_backup_put() does, rows of backups no longer
 * stored are deleted (except running ones), and the index is marked
 * filled at `at`.  One transaction.  0, RM_ENOENT, RM_ERR.
 */
int store_backup_reindex(struct store *st, const char *cluster,
    const struct store_backup *v, size_t n, int64_t at, char *err,
    size_t errlen);
/* When the index of cluster was last rebuilt from storage (ms), 0 never. */
int64_t store_backup_index_filled(struct store *st, const char *cluster);

/*
 * Damaged objects: keys of the cluster's object store that a verify found
 * missing or corrupt.  They stay until a later verify finds them sound
 * (store_damaged_clear()).  A new backup never references one.
 */
struct store_damaged {
	char *key;
	char *reason;
	int64_t found_at;
	char task_id[STORE_ID_MAX];
};
/* Insert, or update the reason/time/task of, (cluster, key).  0,
 * RM_ENOENT (no such cluster), RM_ERR. */
int store_damaged_put(struct store *st, const char *cluster,
    const struct store_damaged *d, char *err, size_t errlen);
/*
 * The object is sound again: forget it, drop it from every backup's
 * damaged files, and give a damaged backup left with none its state back
 * (complete or partial).  0 (also when it was not recorded) or RM_ERR.
 */
int store_damaged_clear(struct store *st, const char *cluster,
    const char *key, char *err, size_t errlen);
/* By key.  0 or RM_ERR; free with store_damaged_free(). */
int store_damaged_list(struct store *st, const char *cluster,
    struct store_damaged **out, size_t *n);
void store_damaged_free(struct store_damaged *v, size_t n);


/* For /metrics: per cluster, the bytes uploaded by and the bytes
 * referenced by the backups still listed. */
struct store_backup_bytes {
	char cluster[STORE_NAME_MAX];
	int64_t uploaded, bytes;
};
/* By cluster.  0 with *out (the caller's, free()) and *n, or RM_ERR. */
int store_backup_bytes(struct store *st, struct store_backup_bytes **out,
    size_t *n);

#endif
