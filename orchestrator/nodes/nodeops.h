/*
 * nodeops.h - task types that run `ringagent <op>` on nodes over SSH, and
 * the helper other task types (backup, repair, replace) use for their
 * per-node steps.
 *
 * Wiring (service_start): the SSH pool is the engine's node client;
 * after task_engine_new() and before task_start(),
 *	pool = ssh_pool_new(60000, 2);
 *	task_engine_set_nodes(engine, pool);
 * and ssh_pool_free(pool) after task_engine_free().
 *
 * Type "node-status": one step per node, `ringagent status --json`; the
 * step's message is the node's own view ("up 4.1.0 load 1.2 GiB, 3 peers,
 * 2 down").  A node whose Cassandra is down (agent exit 3) is a result,
 * not a failure; SSH failures and any other exit fail the step.  A host
 * key mismatch or a refused client key fails it without retries.
 *
 * Params shared by every nodeops step (task params):
 *   agent        command that runs the agent on a node, default
 *                "ringagent"; "{address}" is replaced by the node's
 *                address (the simulation keeps one config per node)
 *   timeout_s    per command, default 60
 *   known_hosts  file to check host keys against when a node has no
 *                pinned key (it never checked in with one)
 *
 * Threading: any worker thread; the SSH pool is shared and thread-safe.
 */
#ifndef RM_NODEOPS_H
#define RM_NODEOPS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct task_ctx;
struct task_type;
struct ssh_pool;

/* "node-status" (tasks/registry.c registers it). */
extern const struct task_type nodeops_status_type;

/*
 * The id of the node job for op_args on node in a step's attempt
 * (step_idx -1: an on_fail hook): "<task>.<step>.<attempt>.<hash>".  The
 * same inputs give the same id, which is what attaches a job again.
 */
void nodeops_job_id(const char *task_id, int step_idx, int attempt,
    const char *node, const char *op_args, char *out, size_t outlen);

/*
 * Run `<agent> <op_args> --json` on node of the task's cluster as a job
 * on the node (`<agent> job start ID --offset N --json -- <op_args>`, see
 * docs/agent.md): it keeps running when SSH drops or the orchestrator
 * dies, and calling again with the same node and op_args in the same
 * attempt of the step (or after a restart, which continues the attempt)
 * attaches to it.  From a step, while the job runs this returns
 * TASK_STEP_WAIT (task_wait() set for the next poll): return it, and call
 * again when called again; in an on_fail hook it polls and blocks.  A
 * node out of reach is asked again for 5 minutes once it confirmed the job,
 * for 30 s before (the job may have started when the connection broke).  A
 * cancel, pause, failure or deadline cancels the step's jobs (`job
 * cancel`); a shutdown leaves them running.  timeout_s bounds the job.
 * The same (node, op_args) twice in one attempt is one job.  Progress
 * lines become task_progress() messages; on success *data (may be NULL)
 * is a new reference to the result line's "data" (or NULL when it had
 * none) and *agent_exit (may be NULL) the agent's exit status.  Returns a
 * TASK_STEP_* code; err says what failed on which node.  op_args is
 * trusted text (built by the task type, never from a request verbatim).
 * Exit statuses listed in ok_exits (0 always) count as success.
 */
int nodeops_agent(struct task_ctx *ctx, const char *node, const char *op_args,
    const int *ok_exits, size_t n_ok, json_t **data, int *agent_exit,
    char *err, size_t errlen);
/*
 * Cancel the running job of (node, op_args) in this attempt of the step
 * (`job cancel` on the node, best effort), leaving the step's other jobs
 * running: for a step that runs several jobs and gives one up (a repair
 * segment past its timeout).  Calling nodeops_agent() again with the same
 * arguments returns TASK_STEP_STOP.  Blocks for one SSH command.
 */
void nodeops_cancel(struct task_ctx *ctx, const char *node,
    const char *op_args);
/*
 * nodeops_agent() for work that must not be cut short by a pause or a
 * cancel (a node between its stop and its start: rolling operations act
 * on those between nodes): only shutdown and the step's deadline stop
 * the job.  The step keeps returning TASK_STEP_WAIT meanwhile; the
 * engine acts on the pause or cancel once the step returns.
 */
int nodeops_agent_held(struct task_ctx *ctx, const char *node,
    const char *op_args, const int *ok_exits, size_t n_ok, json_t **data,
    int *agent_exit, char *err, size_t errlen);

#endif
