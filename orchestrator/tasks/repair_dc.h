/*
 * repair_dc.h - datacenter-local repair (params.datacenter, `nodetool
 * repair -dc`; docs/repair.md "Datacenter-local repair"): which replicas
 * of a range take part when only some dcs are repaired.  Pure: the
 * replica map comes from replicas.h.
 */
#ifndef RM_REPAIR_DC_H
#define RM_REPAIR_DC_H

#include <stddef.h>

#include <jansson.h>

#include "replicas.h"

#define REPAIR_DC_MAX	16

/* params.datacenter (a name or an array of names) into out (max room):
 * their count, 0 when absent. */
size_t repair_dc_names(const json_t *params, const char **out, size_t max);
/*
 * Every name in dcs is a dc of the ring: 0, or -1 with err naming the
 * first that is not and the ring's dcs.
 */
int repair_dc_check(const struct replicas_map *map, const char *const *dcs,
    size_t ndcs, char *err, size_t errlen);
/*
 * The replicas of r that are in one of dcs (every replica when ndcs is
 * 0), in r's order, into out (room for r->nreplicas): their count.  A
 * range with fewer than two is left out by the caller: nothing to
 * compare inside those dcs.
 */
size_t repair_dc_replicas(const struct replicas_map *map,
    const struct replicas_range *r, const char *const *dcs, size_t ndcs,
    size_t *out);

#endif
