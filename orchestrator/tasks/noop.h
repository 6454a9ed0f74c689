/*
 * noop.h - the "noop" task type (docs/engine.md), registered by every
 * engine at task_engine_new().
 */
#ifndef RM_NOOP_H
#define RM_NOOP_H

struct task_type;

const struct task_type *noop_type(void);

#endif
