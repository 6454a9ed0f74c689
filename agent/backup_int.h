/*
 * backup_int.h - what the backup operations (backup*.c) share; private to
 * them.  Callers use backup.h.
 */
#ifndef RM_AGENT_BACKUP_INT_H
#define RM_AGENT_BACKUP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/manifest.h"
#include "cass.h"
#include "nodetool.h"

struct agentcfg;
struct opctx;
struct proc_opts;
struct s3;

/* The read buffer of each worker thread (1 MiB). */
#define BUF_SIZE (1u << 20)
#define MAX_FILTERS 256

/* The options of every backup operation (backup_parse_opts()). */
struct backup_opts {
	const char *store, *endpoint, *region;
	const char *cluster, *backup_id, *tag, *host_id, *address, *dc, *rack;
	const char *previous, *manifest, *mode, *exclude, *run_id;
	const char *ks[MAX_FILTERS], *tables[MAX_FILTERS];
	size_t nks, ntables;
	int parallel;
	double rate_mib;
	bool hash_all, download;
	double margin_pct;
};

/*
 * What every progress line of upload, restore and verify carries: phase,
 * files_done, files_total, bytes_done, bytes_total, rate_bps (bytes_done
 * per second since the phase began) and a message.  Workers count; one
 * line a second at most, plus the ones asked for with force.
 */
struct backup_meter {
	struct opctx *x;
	const char *phase, *verb;
	size_t files_total;
	uint64_t bytes_total;
	atomic_size_t files_done;
	atomic_uint_least64_t bytes_done;
	atomic_int_least64_t t_end;	/* when the last file was done, or 0 */
	int64_t t0, last;
	pthread_mutex_t mtx;
};

/* A restore (backup_restore.c, backup_load.c): one table, one file, the job. */
struct backup_rstable {
	const char *ks;			/* manifest strings */
	const char *src_dir;		/* table_dir in the backup */
	char *tname;
	char *tdir;			/* live target table directory */
	char *stage;			/* <root>/.rm-restore-<id>/<ks>/<target dir> */
	size_t nfiles, nskipped;	/* to stage; left out by --exclude */
	size_t ntop;			/* of them, in the table's own dir (not index) */
	size_t ndata;			/* Data.db files among those */
	uint64_t bytes;
	atomic_size_t staged;		/* files in place so far */
	int64_t sst_before, sst_after;	/* tablestats; UNKNOWN when not read */
	size_t new_live;		/* new Data.db in the live dir after load */
	int state;			/* 0 pending, 1 loaded, 2 already, -1 failed */
	bool queued;
	bool loaded_before;		/* recorded loaded by an earlier run */
};

struct backup_rsfile {
	const struct manifest_file *f;
	struct backup_rstable *t;
	char *staged;			/* staging path */
	bool skip;			/* left out: excluded, or its SSTable is */
	bool have;			/* already staged and verified */
};

struct backup_rsjob {
	struct opctx *x;
	const struct agentcfg *c;
	const struct proc_opts *po;
	struct s3 *s3;
	const char *backup_id;
	const char *run_id;		/* --run-id: whose record of loaded tables */
	struct backup_rsfile *files;
	size_t n;
	struct backup_rstable *tables;
	size_t ntables;
	int major;			/* Cassandra's major version (loader) */
	struct nodetool_tablestats *before;
	atomic_size_t next;
	atomic_uint_least64_t bytes_fetched;
	atomic_size_t files_fetched;
	struct backup_meter meter;
	/* the loader's queue (restore mode) */
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	size_t *queue, qhead, qtail;
	bool downloads_over;
	size_t tables_loaded;
	bool failed;
	char err[1024];
};

/* Options (backup.c): 0, or -1 with the bad option or value in err. */
int backup_parse_opts(int argc, char **argv, struct backup_opts *o, char *err,
    size_t errlen);
bool backup_selected(const struct backup_opts *o, const char *ks,
    const char *table);

/* The store the options name; inner: how many ranges of one object the
 * client moves at once (0: --parallel). */
struct s3 *backup_open_store_inner(const struct backup_opts *o, int inner,
    char *err, size_t errlen);
struct s3 *backup_open_store(const struct backup_opts *o, char *err,
    size_t errlen);

/* SHA-256 (and MD5 when md5_hex is not NULL) of a file, in hex. */
int backup_hash_file(const struct opctx *x, const char *path,
    unsigned char *buf, char sha_hex[65], char md5_hex[33], char *err,
    size_t errlen);

/* Progress. */
void backup_meter_init(struct backup_meter *m, struct opctx *x,
    const char *phase, const char *verb, size_t files, uint64_t bytes);
void backup_meter_release(struct backup_meter *m);
void backup_meter_file_done(struct backup_meter *m, uint64_t bytes);
uint64_t backup_meter_rate(struct backup_meter *m);
const char *backup_human(uint64_t n, char *buf, size_t len);
void backup_meter_report(struct backup_meter *m, bool force, json_t *extra,
    const char *tail);

/* Manifests and the node's identity (backup_upload.c). */
int backup_node_identity(const struct agentcfg *c, const struct proc_opts *po,
    const struct backup_opts *o, struct manifest_node *m, char *err,
    size_t errlen);
int backup_get_manifest(struct s3 *s3, const char *key,
    struct manifest_node **out, char *err, size_t errlen);
int backup_get_keyset(struct s3 *s3, const char *key,
    struct manifest_keyset **out, char *err, size_t errlen);

/* Restore (backup_restore.c). */
void backup_rs_fail(struct backup_rsjob *j, const char *msg);
int backup_rm_tree(const char *path, int depth, char *err, size_t errlen);
int backup_rs_prepare_load(struct backup_rsjob *j, char *err, size_t errlen);

/* Loading (backup_load.c). */
int backup_rs_check(const struct agentcfg *c, struct backup_rsjob *j,
    double margin_pct, json_t *data, char *err, size_t errlen);
size_t backup_count_files(const char *dir, bool *exists);
enum cass_rc backup_rs_tablestats(struct backup_rsjob *j,
    struct backup_rstable **t, size_t nt, struct nodetool_tablestats **out,
    char *err, size_t errlen);
bool backup_rs_was_loaded(struct backup_rsjob *j,
    const struct backup_rstable *t);
int backup_rs_load_table(struct backup_rsjob *j, struct backup_rstable *t,
    char *err, size_t errlen);
int backup_rs_after(struct backup_rsjob *j, char *err, size_t errlen);
void backup_rs_table_progress(struct backup_rsjob *j,
    const struct backup_rstable *t);
void *backup_loader_thread(void *arg);

#endif
