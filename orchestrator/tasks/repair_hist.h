/*
 * repair_hist.h - what a finished (or running) repair task came to, read
 * from its stored steps and their progress records: the repair history
 * (GET /api/v1/clusters/{name}/repairs) and the repair metrics are built
 * from it.  Pure: reads a task as the store gives it, no I/O.
 */
#ifndef RM_REPAIR_HIST_H
#define RM_REPAIR_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segsched.h"

struct store_task_detail;

struct repair_hist {
	/* "succeeded", "partial", "failed", "cancelled" or the task's state
	 * while it is not finished ("queued", "running", "paused") */
	const char *outcome;
	bool scheduled;		/* ran through the segment scheduler
				 * (parallelism other than 1) */
	/* segment records of the scheduled step, by state (0 otherwise) */
	size_t done, failed, postponed, pending, running, split;
	/* the ranges not repaired (scheduled and finished only), sorted,
	 * adjacent ones merged; NULL when unknown */
	struct segsched_range *unrepaired;
	size_t nunrepaired;
	bool unrepaired_known;
	const char *summary;	/* the last step's message, or the task's
				 * error; borrowed from the detail */
};

/* Read d (a repair task) into *h.  Release with repair_hist_release. */
void repair_hist_of(const struct store_task_detail *d, struct repair_hist *h);
void repair_hist_release(struct repair_hist *h);

/*
 * The ranges of a segment record's phase ("ranges (a,b] (c,d] replicas
 * ..."): 0 with *out (caller frees) and *n, or -1 when the text is not
 * such a phase.  Exposed for tests.
 */
int repair_hist_phase_ranges(const char *phase, struct segsched_range **out,
    size_t *n);

/*
 * The keyspace of a segment record's phase ("ranges ... replicas ...
 * keyspace K on N"): 0 with K in out, -1 when it names none (a record
 * written before segments carried their keyspace) or out is too small.
 */
int repair_hist_phase_keyspace(const char *phase, char *out, size_t len);

/*
 * The keyspaces a finished repair task repaired completely, for
 * ringmaster_repair_last_success_timestamp_seconds: none unless it
 * succeeded.  With params.keyspace: that one unless the outcome is
 * partial.  The scheduled step over every keyspace: each keyspace whose
 * segment records are all done (or split into halves that are); a
 * keyspace with a segment not repaired is left out, the others count even
 * when the task ended partial.  The per-node steps over every keyspace:
 * unless partial, the keyspaces their messages say were repaired
 * ("repaired ks1 ks2: ...").  *out: n names, the caller frees each and the
 * array (NULL when n is 0).
 */
size_t repair_hist_complete_keyspaces(const struct store_task_detail *d,
    char ***out);

#endif
