/*
 * scale_tenant.h - the "scale-tenant" task type (docs/tenants.md, "The
 * controller"): one autoscaling decision for one tenant, recorded and
 * then confirmed by the shard's services.
 */
#ifndef RM_SCALE_TENANT_H
#define RM_SCALE_TENANT_H

#include "../engine/task.h"

extern const struct task_type scale_tenant_type;

#endif
