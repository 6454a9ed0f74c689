/*
 * repair_par.h - the repair task's scheduled mode (docs/repair.md, "The
 * scheduler"): with params.parallelism other than 1 the task is one
 * cluster step, REPAIR_PAR_STEP, that reads the ring and the keyspaces'
 * replication from one node (`ringagent repair-ring`), computes every
 * range's replicas (replicas.h), cuts the ranges into segments and runs
 * them through the segment scheduler (segsched.h): several at once, no
 * node in two running segments, each segment a node job on one of its
 * replicas (`ringagent repair --range S:E...`).  The step parks between
 * polls (task_wait), holding no worker.
 */
#ifndef RM_REPAIR_PAR_H
#define RM_REPAIR_PAR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "replicas.h"

struct task_ctx;
struct store_step;

#define REPAIR_PAR_STEP "repair segments"

/* The step (repair.c's run calls it for REPAIR_PAR_STEP). */
int repair_par_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen);

#endif
