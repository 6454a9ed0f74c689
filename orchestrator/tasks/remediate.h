/*
 * remediate.h - the remediate task type: replace every node, one by one,
 * by a new host from the cluster's provider that takes its tokens
 * (replace_address_first_boot), each waited for until it is UN, behind
 * the health gate.  The only way a live node is replaced: the dead-node
 * path (tasks/replace.c) never replaces a node that lives.
 */
#ifndef RM_REMEDIATE_H
#define RM_REMEDIATE_H

#include <stddef.h>

struct task_type;

/* "remediate" (tasks/registry.c registers it). */
extern const struct task_type remediate_type;

#endif
