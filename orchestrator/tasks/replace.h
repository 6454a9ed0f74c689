/*
 * replace.h - the "replace" task type: a dead node's place is taken by a
 * new host that starts with -Dcassandra.replace_address_first_boot,
 * streams, and owns the dead node's tokens (docs/lifecycle.md,
 * "Replacement").
 *
 * Params:
 *   node                the dead node's address (required); it must be
 *                       "down": silent, a live peer sees it DN and none UN
 *   new_address         the host to take its place; absent: the cluster's
 *                       provider finds one (nodes/provider.h)
 *   timeout_s           how long the replacement may take once it holds
 *                       the cluster's slot; the service fills in the
 *                       orchestrator's bootstrap_timeout when absent
 *   provider_timeout_s  how long provider_command may run
 *
 * Steps, each re-entrant and resumable after kill -9 (intent persisted
 * before acting, in the cluster's slot row, store_slot.h):
 *   check   the node is known and down
 *   slot    take the cluster's one slot as a replacement of the node
 *           (parked while a bootstrap or another replacement holds it)
 *   host    ask the provider for a host, once: the answer is recorded in
 *           the slot before anything else, and the new address claims it
 *   join    wait (parked) until the new node is UN in its own and a live
 *           peer's view, the dead address has left every live view and
 *           the token counts agree (service_lifecycle.c marks the slot
 *           joined), or until timeout_s passes
 *   finish  delete the dead node's record (and with it its SSH host-key
 *           pin), write a "replace" event, free the slot
 * A replacement that fails or is cancelled frees the slot (event).
 */
#ifndef RM_REPLACE_H
#define RM_REPLACE_H

#include <stdbool.h>
#include <stddef.h>

struct store;
struct task_type;

/* "replace" (tasks/registry.c registers it). */
extern const struct task_type replace_type;

/*
 * Whether a replace task of node is queued, running or paused in cluster
 * (its id in id, idlen bytes, when not NULL).  A store that cannot be read
 * answers true: better no automatic replacement than two.
 */
bool replace_pending(struct store *st, const char *cluster, const char *node,
    char *id, size_t idlen);

struct task_ctx;
/*
 * For another type that replaces nodes (remediate.h): run replace's step
 * name ("check", "slot", "host", "join", "finish") for node from one of
 * its own steps (the task's params give new_address, timeout_s and
 * provider_timeout_s; the slot row carries the task's id).  A TASK_STEP_*
 * code with err.
 */
int replace_step(struct task_ctx *ctx, const char *name, const char *node,
    char *err, size_t errlen);
/* Its on_fail: free the slot the task holds for node, with events; msg
 * says so. */
void replace_fail(struct task_ctx *ctx, const char *node, const char *error,
    char *msg, size_t msglen);

#endif
