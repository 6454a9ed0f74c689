/*
 * repair_int.h - what agent/repair.c (the op) and agent/repair_admin.c
 * (incremental sessions, repair_admin) share; not for other modules.
 */
#ifndef RM_AGENT_REPAIR_INT_H
#define RM_AGENT_REPAIR_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct opctx;

/* What a run adds up to. */
struct repair_tally {
	json_t *ir_before;		/* incremental session ids before; NULL: unknown */
	json_t *ir_cancelled;		/* ids failed with repair_admin cancel */
	size_t commands, sessions, failed_sessions;
	bool sessions_exact;		/* false: some were counted as the floor of 1 */
	size_t unnamed;			/* commands whose keyspace nodetool never printed */
	json_t *repaired;		/* keyspaces */
	json_t *not_needed;		/* keyspaces with RF 1 */
	int last_pct;
	bool terminated;		/* full: forceTerminateAllRepairSessions ran */
};

/*
 * The ids of the incremental sessions this node lists now (not FINALIZED
 * or FAILED), or NULL with err.
 */
json_t *repair_admin_pending(struct opctx *x, char *err, size_t errlen);

/*
 * After a cancel of an incremental repair: fail the sessions that appeared
 * since t->ir_before (their ids go into t->ir_cancelled); what happened
 * goes into msg.
 */
void repair_admin_cancel_new(struct opctx *x, struct repair_tally *t, char *msg, size_t len);

/*
 * After a cancel of a full repair: end the repair sessions this node
 * coordinates inside Cassandra (forceTerminateAllRepairSessions through
 * `nodetool sjk`); t->terminated says whether it ran, msg what happened.
 */
void repair_admin_terminate_full(struct opctx *x, struct repair_tally *t,
    char *msg, size_t len);

#endif
