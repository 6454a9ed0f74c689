/*
 * repair_auto.h - before a repair task repairs anything, refuse to repair
 * where Cassandra repairs by itself (CEP-37 auto-repair, in Cassandra
 * trunk), which would repair the same ranges twice.
 *
 * The gate runs at the start of the task's first step (the first node's
 * repair with parallelism 1, the scheduled step otherwise), so the plan
 * and its step numbers stay as they were.  It asks every node that is up
 * with `ringagent autorepair` (one nodetool call per node, all at once as
 * node jobs; agent/autorepair.h) and compares the answers with the
 * repair's type: a full repair here clashes with a node's "full"
 * auto-repair, an incremental one with its "incremental" auto-repair
 * ("preview_repaired" only compares, it repairs nothing).  A clash fails
 * the task without retries, naming the nodes and the type, unless the
 * task's param force is true: then the repair goes on and the step's
 * final message starts with the warning.  A node that cannot say (not
 * up, an agent without the op, no answer from nodetool nor
 * cassandra.yaml) is named in a progress line and does not stop the
 * repair.
 */
#ifndef RM_REPAIR_AUTO_H
#define RM_REPAIR_AUTO_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct task_ctx;

enum repair_auto_verdict {
	REPAIR_AUTO_CLEAR = 0,		/* the node does not run this type */
	REPAIR_AUTO_CLASH,		/* it does */
	REPAIR_AUTO_UNKNOWN,		/* it could not say */
};

/* The auto-repair type a repair here would repeat: "full" or "incremental". */
const char *repair_auto_type(bool full);

/*
 * What a node's answer (the agent's "auto_repair" data, as `ringagent
 * autorepair` and `repair-ring` give it) says about type.  Anything
 * malformed is UNKNOWN.
 */
enum repair_auto_verdict repair_auto_verdict(const json_t *ar,
    const char *type);

/*
 * The refusal: "10.0.0.1 runs Cassandra's own full auto-repair (CEP-37):
 * ..."; several nodes are listed ("10.0.0.1, 10.0.0.2 run ...").  A new
 * string.
 */
char *repair_auto_refusal(const char *const *nodes, size_t n,
    const char *type);

/*
 * The gate, called at the start of the first step's every call until it
 * says TASK_STEP_OK (then it is free): TASK_STEP_WAIT while nodes answer,
 * TASK_STEP_FATAL with the refusal in err, TASK_STEP_STOP on a checkpoint.
 */
int repair_auto_gate(struct task_ctx *ctx, char *err, size_t errlen);

/*
 * After the gate in this step: the warning a forced repair carries
 * ("warning: 10.0.0.1 runs ...; repaired anyway (force: true)"), for the
 * step's final message; NULL when nothing was overridden.
 */
const char *repair_auto_warning(struct task_ctx *ctx);

#endif
