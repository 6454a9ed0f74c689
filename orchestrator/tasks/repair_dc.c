/*
 * repair_dc.c - see repair_dc.h.
 */
#include "repair_dc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/strbuf.h"
#include "../../common/util.h"

size_t repair_dc_names(const json_t *params, const char **out, size_t max)
{
	const json_t *v = json_object_get(params, "datacenter"), *e;
	size_t n = 0, i;

	if (json_is_string(v)) {
		if (max > 0)
			out[n++] = json_string_value(v);
		return n;
	}
	json_array_foreach(v, i, e)
		if (json_is_string(e) && n < max)
			out[n++] = json_string_value(e);
	return n;
}

static bool in_dcs(const char *dc, const char *const *dcs, size_t ndcs)
{
	for (size_t i = 0; i < ndcs; i++)
		if (dc != NULL && strcmp(dc, dcs[i]) == 0)
			return true;
	return false;
}

int repair_dc_check(const struct replicas_map *map, const char *const *dcs,
    size_t ndcs, char *err, size_t errlen)
{
	for (size_t i = 0; i < ndcs; i++) {
		bool found = false;

		for (size_t e = 0; e < map->nendpoints && !found; e++)
			found = map->endpoints[e].dc != NULL &&
			    strcmp(map->endpoints[e].dc, dcs[i]) == 0;
		if (!found) {
			struct strbuf b;
			char *list;

			memset(&b, 0, sizeof(b));
			for (size_t e = 0; e < map->nendpoints; e++) {
				const char *dc = map->endpoints[e].dc;
				bool seen = false;
				for (size_t k = 0; k < e && !seen; k++)
					seen = strcmp(map->endpoints[k].dc, dc) == 0;
				if (!seen)
					strbuf_addf(&b, "%s%s", b.len ? ", " : "", dc);
			}
			list = strbuf_detach(&b);
			err_set(err, errlen, "datacenter '%s' is not in the ring "
			    "(its dcs: %s): check params.datacenter", dcs[i], list);
			free(list);
			return -1;
		}
	}
	return 0;
}

size_t repair_dc_replicas(const struct replicas_map *map,
    const struct replicas_range *r, const char *const *dcs, size_t ndcs,
    size_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nreplicas; i++)
		if (ndcs == 0 || in_dcs(map->endpoints[r->replicas[i]].dc, dcs,
		    ndcs))
			out[n++] = r->replicas[i];
	return n;
}
