/*
 * registry.c - see registry.h.
 */
#include "registry.h"

#include <stdio.h>

#include "../../common/util.h"
#include "../engine/task.h"
#include "../nodes/nodeops.h"
#include "backup.h"
#include "evict.h"
#include "remediate.h"
#include "repair.h"
#include "replace.h"
#include "rolling.h"
#include "scale.h"
#include "scale_out.h"
#include "scale_tenant.h"

static const struct task_type *const task_types[] = {
	&nodeops_status_type,
	&backup_type,
	&backup_restore_type,
	&backup_verify_type,
	&backup_purge_type,
	&backup_index_type,
	&repair_type,
	&replace_type,
	&evict_removenode_type,
	&rolling_restart_type,
	&rolling_config_type,
	&rolling_upgrade_type,
	&scale_decommission_type,
	&scale_in_type,
	&scale_out_type,
	&remediate_type,
	&scale_tenant_type,
};

int tasks_register(struct task_engine *e, char *err, size_t errlen)
{
	for (size_t i = 0; i < ARRAY_SIZE(task_types); i++)
		if (task_type_find(e, task_types[i]->name) == NULL &&
		    task_type_register(e, task_types[i]) != 0) {
			snprintf(err, errlen, "cannot register task type '%s'",
			    task_types[i]->name);
			return -1;
		}
	return 0;
}
