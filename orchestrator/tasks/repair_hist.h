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

#endif
