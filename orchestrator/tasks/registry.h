/*
 * registry.h - the one list of the product's task types (docs/engine.md).
 * A new type is added to the table in registry.c; its order is the order
 * of GET /api/v1/task-types, ringsh's help and docs/api.md.
 *
 * Wiring (service_start), after task_engine_new() and
 * task_engine_set_nodes(), before task_resume_all() and task_start():
 *	tasks_register(engine, err, errlen);
 */
#ifndef RM_TASKS_REGISTRY_H
#define RM_TASKS_REGISTRY_H

#include <stddef.h>

struct task_engine;

/* Register every type not yet registered ("noop" is the engine's own).
 * 0, or -1 with err naming the type. */
int tasks_register(struct task_engine *e, char *err, size_t errlen);

#endif
