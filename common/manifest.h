/*
 * manifest.h - backup manifests: what one node stored (node manifest) and
 * what one backup of a cluster holds (cluster manifest), as JSON, plus the
 * object layout and the path-safety rules every reader applies.
 *
 * Object layout, relative to the cluster's storage URL (docs/backups.md):
 *
 *   <cluster>/data/<host_id>/<keyspace>/<table_dir>/<file>   content (immutable)
 *   <cluster>/backups/<backup_id>/nodes/<host_id>.json       node manifest
 *   <cluster>/backups/<backup_id>/cluster.json               cluster manifest
 *
 * The cluster manifest is written last; a backup without one is
 * incomplete, whatever else exists.
 *
 * Safety.  A manifest comes from object storage and is not trusted: parse
 * refuses any file whose keyspace, table directory or name is not a single
 * plain path component, and any object key that is absolute, holds a ".."
 * or "." segment, an empty segment, a backslash or a control byte.  A
 * file's optional subdir (a secondary index's directory) must be one such
 * component that starts with '.'.  A file restored from a parsed manifest
 * therefore always lands inside <dir>/<keyspace>/<table_dir>/ or one
 * directory below it.
 *
 * Ownership: every string in a struct belongs to it; *_free() accept NULL.
 * Parsers return a new struct or NULL with a message in err naming the
 * field (and the file index) that is wrong.
 */
#ifndef RM_MANIFEST_H
#define RM_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MANIFEST_FORMAT 1
#define MANIFEST_MAX_BYTES (256u << 20)	/* refuse bigger manifests */

struct manifest_file {
	char *keyspace;
	char *table_dir;	/* "t1-<32 hex id>" as on the source node */
	char *subdir;		/* NULL, or ".<index>": a secondary index's
				 * directory inside the table's ("subdir") */
	char *name;		/* "nb-1-big-Data.db" */
	char *key;		/* object key relative to the store's URL */
	uint64_t size;
	int64_t mtime_ns;	/* source file's mtime, for cheap dedupe */
	char sha256[65];	/* hex */
	bool reused;		/* stored by an earlier backup */
};

struct manifest_table {
	char *keyspace;
	char *table_dir;
	char *schema;		/* snapshot's schema.cql, or NULL */
};

struct manifest_node {
	char *cluster;
	char *backup_id;
	char *host_id;
	char *address;
	char *dc;
	char *rack;
	char *version;		/* Cassandra release, "4.1.0" */
	char **tokens;
	size_t ntokens;
	int64_t started_at, finished_at;	/* ms since the epoch */
	struct manifest_table *tables;
	size_t ntables;
	struct manifest_file *files;
	size_t nfiles, capfiles;
	/* Derived by parse and by manifest_node_dump(). */
	uint64_t bytes, bytes_uploaded;
	size_t files_uploaded;
	bool sorted;		/* files sorted for manifest_node_find() */
};

struct manifest_cluster_node {
	char *host_id;
	char *address;
	char *dc;
	char *rack;
	char *manifest;		/* key of the node manifest */
	size_t files, files_uploaded;
	uint64_t bytes, bytes_uploaded;
};

/* A node a backup left out (policy skip_down: it was not up when the
 * backup began), named so that the backup is never taken for whole. */
struct manifest_missing_node {
	char *address;
	char *host_id;		/* NULL: the orchestrator never learnt it */
	char *state;		/* its state then: down, agent_down, ... */
};

struct manifest_cluster {
	char *cluster;
	char *backup_id;
	char *task_id;
	int64_t started_at, finished_at;	/* ms */
	char *options_json;	/* the task's params, JSON text, or NULL */
	struct manifest_cluster_node *nodes;
	size_t nnodes;
	size_t files, files_uploaded;
	uint64_t bytes, bytes_uploaded;
	/* "missing_nodes" (optional; absent or [] in a whole backup) */
	struct manifest_missing_node *missing;
	size_t nmissing;
};

/* ---- node manifests ---- */

struct manifest_node *manifest_node_new(void);
void manifest_node_free(struct manifest_node *m);
/* Copy f (strings too) into m. */
void manifest_node_add_file(struct manifest_node *m,
    const struct manifest_file *f);
/* Copy a table (schema may be NULL) into m. */
void manifest_node_add_table(struct manifest_node *m, const char *keyspace,
    const char *table_dir, const char *schema);
/* JSON text (caller frees); computes the totals first. */
char *manifest_node_dump(struct manifest_node *m, size_t *len);
/* Parse and validate; NULL with err. */
struct manifest_node *manifest_node_parse(const char *buf, size_t len,
    char *err, size_t errlen);
/*
 * Sort m's files for manifest_node_find().  Call it before m is shared
 * between threads: find() on an unsorted manifest sorts it in place.
 */
void manifest_node_sort(struct manifest_node *m);
/* The file of keyspace/table_dir/name, or NULL (sorts m on first use). */
const struct manifest_file *manifest_node_find(struct manifest_node *m,
    const char *keyspace, const char *table_dir, const char *name);
/* The same with a subdir (NULL: the table's own directory). */
const struct manifest_file *manifest_node_find_sub(struct manifest_node *m,
    const char *keyspace, const char *table_dir, const char *subdir,
    const char *name);

/* ---- key sets: objects a verify found missing or corrupt ---- */

/*
 * {"keys":["<object key>", ...]}, written by the orchestrator from verify
 * findings and read by backup-upload --exclude (never reference them) and
 * backup-restore --exclude (skip them).  Every key must be a safe key.
 */
struct manifest_keyset {
	char **keys;		/* sorted, unique */
	size_t n;
};

struct manifest_keyset *manifest_keyset_parse(const char *buf, size_t len,
    char *err, size_t errlen);
bool manifest_keyset_has(const struct manifest_keyset *s, const char *key);
void manifest_keyset_free(struct manifest_keyset *s);

/*
 * Candidate n (0, 1, ...) of another key for content with this SHA-256
 * when key cannot be used: "<key>.<first 16 hex>", then
 * "<key>.<first 16 hex>.2", ".3" ... (caller frees).
 */
char *manifest_alt_key(const char *key, const char *sha256, unsigned n);

/* ---- cluster manifests ---- */

void manifest_cluster_free(struct manifest_cluster *c);
char *manifest_cluster_dump(const struct manifest_cluster *c, size_t *len);
struct manifest_cluster *manifest_cluster_parse(const char *buf, size_t len,
    char *err, size_t errlen);

/* ---- layout and safety ---- */

/* One plain path component: [A-Za-z0-9._-]{1,255}, not "." or "..". */
bool manifest_component_safe(const char *s);
/* A relative object key: segments are safe components or [A-Za-z0-9._=-]. */
bool manifest_key_safe(const char *key);
/* A secondary index's directory name: a safe component starting with '.'. */
bool manifest_subdir_safe(const char *s);
/* Backup ids: [A-Za-z0-9_-]{1,64} (they name a directory). */
bool manifest_backup_id_valid(const char *id);
/* Table name from a table directory: "t1-0123..." -> "t1" (caller frees). */
char *manifest_table_name(const char *table_dir);
/*
 * Length of the SSTable part of a component's file name, through the last
 * '-': "nb-12-big-Data.db" -> 10 ("nb-12-big-"); every component of one
 * SSTable shares it.  0 when the name has no '-' (not an SSTable file).
 */
size_t manifest_sstable_prefix_len(const char *name);
/* Keyspaces Cassandra owns (system, system_schema, ...). */
bool manifest_keyspace_is_system(const char *ks);

/* Keys; caller frees. */
char *manifest_data_key(const char *cluster, const char *host_id,
    const char *keyspace, const char *table_dir, const char *name);
char *manifest_backups_prefix(const char *cluster);	/* "<c>/backups/" */
char *manifest_node_key(const char *cluster, const char *backup_id,
    const char *host_id);
char *manifest_cluster_key(const char *cluster, const char *backup_id);

#endif
