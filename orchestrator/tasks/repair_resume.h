/*
 * repair_resume.h - a repair that resumes an earlier one (params.resume:
 * its task id) repairs only the ranges the earlier one did not.  The
 * service checks the earlier task at submit and gives the new task its
 * keyspace, tables and full (repair_resume_check); the scheduled step
 * reads which ranges the earlier tasks finished from their segment
 * records (repair_resume_done_ranges, following a chain of resumes) and
 * plans only what is left of each ring range (repair_resume_subtract).
 * docs/repair.md, "Resuming a partial repair".  Pure but for the chain,
 * which reads the store.
 */
#ifndef RM_REPAIR_RESUME_H
#define RM_REPAIR_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "segsched.h"

struct store;
struct store_task_detail;

/*
 * May a repair of cluster with params (the request's, before defaults)
 * resume old (the task params.resume names)?  0 when it may: params then
 * hold old's keyspace, table and full, and its parallelism unless params
 * gave one.  Otherwise an err.h code with err (what is wrong, then what
 * to do) and params unchanged: RM_EINVAL (another cluster's task, not a
 * repair, one that never ran the scheduled step, keyspace/table/full given
 * and different), RM_ECONFLICT (not finished yet, or succeeded: nothing
 * left to repair).
 */
int repair_resume_check(const struct store_task_detail *old,
    const char *cluster, json_t *params, char *err, size_t errlen);

/*
 * The ranges d's scheduled step repaired (its segment records in state
 * "done"), sorted, adjacent ones merged, appended to *out (grown with
 * realloc) and *n.
 */
void repair_resume_done_of(const struct store_task_detail *d,
    struct segsched_range **out, size_t *n);

/*
 * The ranges the task id and the tasks it resumed in turn (params.resume,
 * at most 32 deep) repaired, sorted and merged, in *out (caller frees) and
 * *n.  0, or -1 with err when one of them cannot be read.
 */
int repair_resume_done_ranges(struct store *st, const char *id,
    struct segsched_range **out, size_t *n, char *err, size_t errlen);

/*
 * What is left of piece once the done ranges (sorted or not, any may
 * wrap) are taken out: the pieces in order from piece's start, in *out
 * (caller frees; NULL when none) and their count returned.  A piece that
 * is the whole ring (start == end) is taken as every token but its start.
 */
size_t repair_resume_subtract(struct segsched_range piece,
    const struct segsched_range *done, size_t ndone,
    struct segsched_range **out);

#endif
