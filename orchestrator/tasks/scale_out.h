/*
 * scale_out.h - the scale-out task type: add count nodes through the
 * cluster's provider (nodes/provider.h), one bootstrap slot at a time,
 * each waited for until it is UN; then `nodetool cleanup` on the nodes
 * that were there before, one by one behind the health gate.
 */
#ifndef RM_SCALE_OUT_H
#define RM_SCALE_OUT_H

#include <stddef.h>

struct task_type;

/* "scale-out" (tasks/registry.c registers it). */
extern const struct task_type scale_out_type;

#endif
