/*
 * store_cluster.h - clusters, their settings and nodes in the store
 * (store_cluster.c); included by store.h, whose conventions apply.
 */
#ifndef RM_STORE_CLUSTER_H
#define RM_STORE_CLUSTER_H

#include "store.h"

/* ---- clusters ---------------------------------------------------------- */

struct store_cluster {
	const char *name;		/* required, name_valid() */
	const char *storage_url;	/* required: s3://bucket/prefix, file:///dir */
	const char *storage_endpoint;	/* optional, NULL */
	const char *storage_region;	/* optional, NULL */
	const char *ssh_user;		/* required */
	int ssh_port;			/* 0 means 22 */
	const char *ssh_key_file;	/* required */
};

/* 0, RM_EEXIST, RM_ERR.  created_at is now. */
int store_cluster_create(struct store *st, const struct store_cluster *c,
    char *err, size_t errlen);
/*
 * Delete a cluster with its nodes, tasks, steps and schedules (cascade).
 * 0, RM_ENOENT, RM_EBUSY (a task of the cluster is in state running).
 * Use task_cluster_delete() from the service layer: it also drops the queue.
 */
int store_cluster_delete(struct store *st, const char *name, char *err,
    size_t errlen);
bool store_cluster_exists(struct store *st, const char *name);
/* A cluster as read: its settings and node counts. */
struct store_cluster_row {
	char name[STORE_NAME_MAX];
	char *storage_url;
	char *storage_endpoint;		/* NULL: the default */
	char *storage_region;		/* NULL: the default */
	char *ssh_user;
	int ssh_port;
	char *ssh_key_file;
	int64_t created_at;		/* ms */
	int nodes;			/* rows in nodes */
	int nodes_up, nodes_down;	/* of them, with state "up", "down" */
};
void store_cluster_row_release(struct store_cluster_row *r);

struct store_cluster_page {
	struct store_cluster_row *items;
	size_t n;
	char next[STORE_CURSOR_MAX];	/* "" on the last page */
};
void store_cluster_page_release(struct store_cluster_page *p);

/* 0, RM_ENOENT, RM_ERR; release *out in every case. */
int store_cluster_get(struct store *st, const char *name,
    struct store_cluster_row *out);
/* By name; cursor is the last name of the previous page.  0 or RM_ERR;
 * release *out in every case. */
int store_cluster_list(struct store *st, const char *cursor, int limit,
    struct store_cluster_page *out);
/* Every cluster name, for creating queues at start-up.  *names and each
 * string are the caller's (free each, then the array).  0 or RM_ERR. */
int store_cluster_names(struct store *st, char ***names, size_t *n);

/* ---- cluster update ---------------------------------------------------- */

/* A change of a cluster's settings: NULL (0 for the port) keeps a value. */
struct store_cluster_patch {
	const char *storage_url;
	const char *storage_endpoint;
	bool clear_storage_endpoint;	/* set it to NULL */
	const char *storage_region;
	bool clear_storage_region;
	const char *ssh_user;
	int ssh_port;
	const char *ssh_key_file;
};

/*
 * Apply p to cluster name, in one transaction with the check that none of
 * its tasks is running.  0, RM_ENOENT, RM_EBUSY (running, when not
 * NULL, gets the running task's id), RM_ERR.
 */
int store_cluster_update(struct store *st, const char *name,
    const struct store_cluster_patch *p, char *running, size_t runlen,
    char *err, size_t errlen);

/* ---- nodes ------------------------------------------------------------- */

/*
 * Insert or update the node (cluster, address).  On update a NULL string,
 * a negative load_bytes / last_heartbeat and is_seed < 0 keep the stored
 * value.  state is free text set by the service ("up", "down", "joining",
 * "leaving", "replaced" ...); NULL on insert means "unknown".
 */
struct store_node {
	const char *cluster;
	const char *address;
	const char *host_id;
	const char *dc;
	const char *rack;
	const char *state;
	const char *version;
	const char *ssh_host_key;
	const char *status_json;	/* a JSON document as text, or NULL */
	int64_t last_heartbeat;		/* ms; -1 keep */
	int64_t load_bytes;		/* -1 keep */
	int is_seed;			/* 0, 1, or -1 keep */
};

/* 0, RM_ENOENT (no such cluster), RM_ERR.  *created (may be NULL) is
 * set true when the row was inserted rather than updated. */
int store_node_upsert(struct store *st, const struct store_node *n,
    bool *created, char *err, size_t errlen);
/*
 * Make exactly addrs[n] the cluster's pinned seeds (is_seed), in one
 * transaction; n == 0 unpins every node.  0; RM_ENOENT with missing
 * (may be NULL) set to the first address that is not a node of the
 * cluster (nothing changed); RM_ERR.
 */
int store_seeds_pin(struct store *st, const char *cluster,
    const char *const *addrs, size_t n, char *missing, size_t mlen,
    char *err, size_t errlen);
/* 0, RM_ENOENT. */
int store_node_delete(struct store *st, const char *cluster,
    const char *address, char *err, size_t errlen);
/* A node as read. */
struct store_node_row {
	char cluster[STORE_NAME_MAX];
	char *address;
	char *host_id;			/* NULL until the node joined */
	char *dc, *rack, *state, *version;
	char *ssh_host_key;		/* NULL: not pinned */
	char *status_json;		/* the agent's last status document as
					   stored (JSON text), or NULL */
	int64_t last_heartbeat;		/* ms, 0 = never */
	int64_t load_bytes;
	bool is_seed;
};
void store_node_row_release(struct store_node_row *r);

/* A cluster's nodes, by address (not paged). */
struct store_nodes {
	struct store_node_row *items;
	size_t n;
};
void store_nodes_release(struct store_nodes *v);

/* 0, RM_ENOENT, RM_ERR; release *out in every case. */
int store_node_get(struct store *st, const char *cluster,
    const char *address, struct store_node_row *out);
/* The node of a cluster with that host_id: 0, RM_ENOENT, RM_ERR. */
int store_node_find_host(struct store *st, const char *cluster,
    const char *host_id, struct store_node_row *out);
/* The cluster's nodes: 0 (none for a missing cluster) or RM_ERR;
 * release *out in every case. */
int store_node_list(struct store *st, const char *cluster,
    struct store_nodes *out);

/*
 * The nodes of store_node_list() and whether the cluster exists, in one
 * read (task submission needs both): 0 with *out, RM_ENOENT when there is
 * no such cluster, RM_ERR; release *out in every case.
 */
int store_cluster_nodes(struct store *st, const char *cluster,
    struct store_nodes *out);

/* One heartbeat absorbed in memory, written later in a batch. */
struct store_hb {
	const char *cluster;
	const char *address;
	const char *state;		/* NULL keeps */
	const char *status_json;	/* NULL keeps */
	int64_t at;			/* ms, becomes last_heartbeat */
	int64_t load_bytes;		/* -1 keeps */
};
/*
 * Apply n heartbeats in ONE transaction.  Heartbeats of nodes that do not
 * exist are skipped.  Returns the number of nodes updated (>= 0) or
 * RM_ERR (nothing applied).
 */
int store_heartbeats_apply(struct store *st, const struct store_hb *hbs,
    size_t n, char *err, size_t errlen);

#endif
