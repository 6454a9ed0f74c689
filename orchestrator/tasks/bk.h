/*
 * bk.h - what the files of the backup family share (bkcore.c, purge.c,
 * bksteps.c, verify.c, restore.c, and backup.c which registers the types):
 * not an interface for anything outside orchestrator/tasks/.
 */
#ifndef RM_BK_H
#define RM_BK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../../common/manifest.h"
#include "../../common/s3.h"
#include "../engine/task.h"
#include "../store/store.h"

#define DEFAULT_TIMEOUT_S 21600		/* per agent command */
#define MAX_PROBLEMS_SHOWN 5

struct bk {
	struct task_ctx *ctx;
	struct store *st;
	const json_t *params;
	const char *cluster;
	char id[80];			/* backup id (backup tasks) */
	char tag[96];			/* snapshot tag */
	struct store_cluster_row cl;	/* the cluster's settings */
	json_t *nodes;			/* its nodes as objects (bkcore.c);
					   a backup's without the missing */
	/* Backups: the nodes left out under down_policy skip_down, as
	 * [{"address","host_id","state"}], decided by the check step and
	 * kept in the index (bk_apply_missing()); NULL: none. */
	json_t *missing;
	struct s3 *s3;
	int64_t task_created, task_started;
	/* Where restores read from: this cluster's store, or params.source's
	 * (src_own then) or source_cluster's (same store). */
	struct s3 *src;
	bool src_own;
	char src_cluster[STORE_NAME_MAX];
};

struct bk_fan;

typedef int (*bk_fan_fn)(struct bk_fan *f, size_t i, char *err, size_t errlen);

struct bk_fan {
	struct bk *b;
	json_t *targets;		/* array of node objects */
	bk_fan_fn fn;
	void *arg;
	int par;
	const char *phase;		/* per-node progress; NULL: none */
	int *rc;
	char **errs;
	json_t **data;
};

struct bk_ent {
	char id[80];
	bool complete;
	bool missing;			/* partial: nodes left out (the index's
					   word, bk_list_mark_missing()) */
	size_t nodes;
};

struct bk_list {
	struct bk_ent *v;
	size_t n, cap;
	size_t plen;			/* strlen(prefix) */
};

/* bkcore.c: context, fan-out, listing, the index */
void bk_add_filters(char **args, const json_t *params, bool tables);
int bk_check_nodes_up(struct bk *b, const json_t *targets, char *err,
    size_t errlen);
struct manifest_cluster *bk_cluster_manifest(struct s3 *s3,
    const char *cluster, const char *id, int *notfound, char *err,
    size_t errlen);
char **bk_damaged_keys(struct store *st, const char *cluster, size_t *n);
const json_t *bk_fan_node(const struct bk_fan *f, size_t i);
void bk_fan_release(struct bk_fan *f);
int bk_fan_run(struct bk_fan *f, char *err, size_t errlen);
int bk_index_ensure(struct bk *b, char *err, size_t errlen);
void bk_index_latest(struct store *st, const char *cluster, char *id,
    size_t len);
int bk_index_rebuild(struct bk *b, char *err, size_t errlen);
int bk_index_set(struct bk *b, enum store_backup_state state,
    const struct manifest_cluster *c, char *err, size_t errlen);
const struct bk_ent *bk_latest_complete(const struct bk_list *l,
    const char *exclude);
int bk_list_backups(struct s3 *s3, const char *cluster,
    struct bk_list *l, char *err, size_t errlen);
int bk_need_nodes(const struct store_nodes *nodes, char *err, size_t errlen);
struct manifest_node *bk_node_manifest(struct s3 *s3, const char *key,
    char *err, size_t errlen);
int bk_open(struct task_ctx *ctx, struct bk *b, char *err,
    size_t errlen);
bool bk_params_partial(const json_t *params);
/* The backup params.backup_id names, else the latest complete one; NULL
 * with err, *retry true when the store did not answer (the step fails
 * this attempt) and false when there is no such backup (for good). */
struct manifest_cluster *bk_pick_backup(struct bk *b, struct s3 *s3,
    const char *cluster, bool *retry, char *err, size_t errlen);
const struct manifest_cluster *bk_pick_backup_memo(struct bk *b,
    struct s3 *s3, const char *cluster, bool *retry, char *err,
    size_t errlen);
bool bk_plain_arg(const char *s);
int bk_put_exclude(struct s3 *s3, const char *key, char *const *keys,
    size_t n, char *err, size_t errlen);
void bk_release(struct bk *b);
int bk_run_agent(struct bk_fan *f, size_t i, const char *args, char *err,
    size_t errlen);
char *bk_src_args(const struct bk *b);
bool bk_state_is_complete(enum store_backup_state s);
char *bk_store_args(const struct bk *b);
const char *bk_str(const json_t *o, const char *k);

/* bkcore.c: nodes a backup leaves out (down_policy skip_down) */
/* Mark the entries of l the index lists with missing nodes. */
void bk_list_mark_missing(struct store *st, const char *cluster,
    struct bk_list *l);
/* Read the backup's missing nodes from the index into b->missing and drop
 * them from b->nodes.  A TASK_STEP_* code with err. */
int bk_apply_missing(struct bk *b, char *err, size_t errlen);
/* Drop the nodes of b->missing from b->nodes. */
void bk_drop_missing(struct bk *b);
bool bk_node_missing(const json_t *missing, const json_t *node);
/* params.down_policy, else the cluster's backup_down_policy, into out. */
void bk_down_policy(struct bk *b, char *out, size_t len);
/* The cluster's backup_down_policy ("require_all" when unset). */
void bk_cluster_default_policy(struct store *st, const char *cluster,
    char *out, size_t len);
/* "10.0.0.3 (down), 10.0.0.4 (agent_down)" (caller frees). */
char *bk_missing_names(const json_t *missing);
/* A cluster manifest's missing nodes as the JSON array above. */
json_t *bk_missing_of_manifest(const struct manifest_cluster *c);

/* purge.c */
int bk_purge_run(struct bk *b, char **ids, size_t nids, char *err,
    size_t errlen);
void bk_retention_pick(const json_t *ret, const struct bk_list *l,
    int64_t now_ms, char ***out, size_t *nout);
int bk_str_cmp(const void *a, const void *b);
void bk_strv_free(char **v, size_t n);
int index_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen);
int index_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen);
int purge_task_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen);
int single_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen);

/* bksteps.c: the backup type */
int backup_on_fail(struct task_ctx *ctx, const char *error, char *msg,
    size_t msglen);
int backup_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen);
int backup_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen);

/* verify.c */
int verify_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen);
int verify_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen);

/* restore.c */
int restore_admit(struct store *st, const char *cluster,
    const json_t *params, char *err, size_t errlen);
int restore_on_fail(struct task_ctx *ctx, const char *error,
    char *msg, size_t msglen);
int restore_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen);
int restore_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen);

#endif
