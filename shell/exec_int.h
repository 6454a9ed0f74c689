/*
 * exec_int.h - what the command handlers (exec*.c) share; private to them.
 * Callers use exec.h.
 *
 * A handler takes the parsed call in a struct exec_ctx, sends its requests
 * through exec_call_api() (which prints the failure), and returns an
 * EXEC_* status; exec_fail() and exec_usage_fail() print "ringsh: ..." to
 * stderr and return EXEC_FAILED and EXEC_USAGE.
 */
#ifndef RS_EXEC_INT_H
#define RS_EXEC_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "client.h"
#include "cmd.h"
#include "exec.h"

struct table;

/* One command being run. */
struct exec_ctx {
	struct shell *sh;
	struct cmd_call *call;
	bool json;
};

/* The kinds of id an operator can type (ids.h). */
enum exec_id_kind { ID_TASK, ID_BACKUP, ID_SCHEDULE };

/* What exec_cluster_list() found. */
enum { LIST_FAILED = -1, LIST_TABLE = 0, LIST_DONE = 1 };

/* Errors and requests (exec.c). */
int exec_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int exec_usage_fail(const struct cmd_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int exec_call_api(struct exec_ctx *x, const char *method, const char *path,
    const json_t *body, struct client_resp *r);
int exec_get_list(struct exec_ctx *x, const char *path, struct client_resp *r);
int exec_cluster_list(struct exec_ctx *x, const char *cluster,
    const char *suffix, struct client_resp *r);
int exec_collect_field(struct exec_ctx *x, const char *path, const char *field,
    char ***v, size_t *n);
char *exec_resolve_id(struct exec_ctx *x, enum exec_id_kind kind,
    const char *word, const char *cluster);
const char *exec_pick_cluster(struct exec_ctx *x, const char *explicit);
char *exec_cluster_path(const char *cluster, const char *rest);

/* Output (exec.c). */
const char *exec_jstr(const json_t *o, const char *key);
json_t *exec_items_of(json_t *j);
void exec_print_raw(const struct client_resp *r);
void exec_print_table(struct exec_ctx *x, struct table *t, const char *empty);
size_t exec_out_width(struct exec_ctx *x);
void exec_fmt_ago(const char *ts, char *buf, size_t size);
void exec_fmt_when(const char *ts, char *buf, size_t size);
void exec_fmt_size(const json_t *v, char *buf, size_t size);
void exec_fmt_int(const json_t *v, char *buf, size_t size);

/* Helpers of one group that another uses. */
void exec_kv_line(const char *key, const char *value);		/* clusters */
const char *exec_task_error(const json_t *task);		/* tasks */
const char *exec_or_q(const char *s);				/* events */
const json_t *exec_newest(const json_t *items, const char *type,
    const char *state);						/* status */

/* The handlers, by command group. */
int exec_health(struct exec_ctx *x);
int exec_connect(struct exec_ctx *x);
int exec_connections(struct exec_ctx *x);
int exec_use(struct exec_ctx *x);
int exec_clusters_list(struct exec_ctx *x);
int exec_clusters_show(struct exec_ctx *x);
int exec_clusters_create(struct exec_ctx *x);
int exec_clusters_update(struct exec_ctx *x);
int exec_clusters_delete(struct exec_ctx *x);
/* `node revoke|readmit ADDRESS`: method on .../nodes/ADDRESS<suffix>. */
int exec_node_credential(struct exec_ctx *x, const char *method,
    const char *suffix);
int exec_nodes(struct exec_ctx *x);
int exec_seeds(struct exec_ctx *x);

int exec_tasks_list(struct exec_ctx *x);
int exec_tasks_show(struct exec_ctx *x);
int exec_watch(struct exec_ctx *x, const char *id);
int exec_tasks_watch(struct exec_ctx *x);
int exec_task_action(struct exec_ctx *x, const char *action);
int exec_run(struct exec_ctx *x, const char *type);

int exec_backups_list(struct exec_ctx *x);
int exec_backups_delete(struct exec_ctx *x);
int exec_schedules_list(struct exec_ctx *x);
int exec_schedules_create(struct exec_ctx *x);
int exec_schedules_delete(struct exec_ctx *x);

int exec_events(struct exec_ctx *x);
void exec_help_types(struct exec_ctx *x);
int exec_types(struct exec_ctx *x);
int exec_metrics(struct exec_ctx *x);

int exec_status(struct exec_ctx *x);

int exec_tenants_list(struct exec_ctx *x);
int exec_tenant_create(struct exec_ctx *x);
int exec_tenant_show(struct exec_ctx *x);
int exec_tenant_delete(struct exec_ctx *x);
int exec_tenant_set(struct exec_ctx *x);

#endif
