/*
 * scale_util.c - see scale_util.h.
 */
#include "scale_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"

const char *scale_util_pstr(const json_t *params, const char *key)
{
	return json_string_value(json_object_get(params, key));
}

/* Sum of "disks"[].free_bytes of a stored status, or -1. */
static int64_t free_bytes(const char *status_json)
{
	json_t *j, *d;
	int64_t sum = -1;
	size_t i;

	if (status_json == NULL ||
	    (j = json_loads(status_json, 0, NULL)) == NULL)
		return -1;
	json_array_foreach(json_object_get(j, "disks"), i, d) {
		json_t *f = json_object_get(d, "free_bytes");
		if (!json_is_integer(f) || json_integer_value(f) < 0)
			continue;
		sum = (sum < 0 ? 0 : sum) + (int64_t)json_integer_value(f);
	}
	json_decref(j);
	return sum;
}

int scale_util_nodes(struct store *st, const char *cluster,
    struct store_nodes *rows, struct scale_node **v, char *err,
    size_t errlen)
{
	*v = NULL;
	if (store_cluster_nodes(st, cluster, rows) != 0) {
		snprintf(err, errlen, "cannot read the nodes of cluster '%s'; "
		    "see the ringmaster log", cluster);
		return -1;
	}
	*v = scale_util_view(rows);
	return 0;
}

struct scale_node *scale_util_view(const struct store_nodes *rows)
{
	struct scale_node *v = xcalloc(rows->n ? rows->n : 1, sizeof(*v));

	for (size_t i = 0; i < rows->n; i++) {
		const struct store_node_row *r = &rows->items[i];
		struct scale_node *s = &v[i];
		s->address = r->address;
		s->dc = r->dc;
		s->rack = r->rack;
		s->load_bytes = r->load_bytes > 0 || r->status_json != NULL ?
		    r->load_bytes : -1;
		s->free_bytes = free_bytes(r->status_json);
		s->up = r->state != NULL && strcmp(r->state, "up") == 0;
		s->seed = r->is_seed;
	}
	return v;
}

void scale_util_event(struct store *st, const char *cluster, const char *kind,
    const char *target, const char *result, json_t *detail)
{
	char *text = detail != NULL ? json_dumps(detail, JSON_COMPACT |
	    JSON_SORT_KEYS) : NULL;
	struct store_event ev = {
		.actor = "ringmaster", .kind = kind, .target = target,
		.cluster = cluster, .result = result, .detail_json = text,
	};
	char err[256];

	if (store_event_append(st, &ev, err, sizeof(err)) != 0)
		log_warnx("cluster %s: cannot record the %s event %s of %s: %s",
		    cluster, kind, result, target, err);
	free(text);
	json_decref(detail);
}

/* fn(view row, arg) for every node row of every datacenter of a stored
 * status's peers. */
static void each_peer(json_t *status, void (*fn)(json_t *n, void *arg),
    void *arg)
{
	json_t *dc, *n;
	size_t i, k;

	json_array_foreach(json_object_get(json_object_get(status, "peers"),
	    "datacenters"), i, dc)
		json_array_foreach(json_object_get(dc, "nodes"), k, n)
			fn(n, arg);
}

struct listed {
	const char *address;
	bool found;
};

static void find_addr(json_t *n, void *arg)
{
	struct listed *l = arg;
	const char *a = json_string_value(json_object_get(n, "address"));

	/* "-pp" style "ip:port" is never asked for, but be safe. */
	if (a != NULL && (strcmp(a, l->address) == 0 || (strncmp(a,
	    l->address, strlen(l->address)) == 0 && a[strlen(l->address)] ==
	    ':')))
		l->found = true;
}

static void append(char *buf, size_t len, const char *s)
{
	size_t u = strlen(buf);

	if (u + 3 >= len)
		return;
	snprintf(buf + u, len - u, "%s%s", u ? ", " : "", s);
}

int scale_util_gone(struct store *st, const char *cluster,
    const char *address, int64_t since_ms, char *who, size_t wholen,
    char *err, size_t errlen)
{
	struct store_nodes rows = { NULL, 0 };
	int peers = 0, rc = 1;

	who[0] = '\0';
	if (store_node_list(st, cluster, &rows) != 0) {
		store_nodes_release(&rows);
		snprintf(err, errlen, "cannot read the nodes of cluster '%s'",
		    cluster);
		return -1;
	}
	for (size_t i = 0; i < rows.n; i++) {
		const struct store_node_row *r = &rows.items[i];
		struct listed l = { address, false };
		json_t *j;
		if (strcmp(r->address, address) == 0 || r->state == NULL ||
		    strcmp(r->state, "up") != 0)
			continue;
		peers++;
		if (r->last_heartbeat < since_ms || r->status_json == NULL ||
		    (j = json_loads(r->status_json, 0, NULL)) == NULL) {
			append(who, wholen, r->address);
			rc = 0;
			continue;
		}
		each_peer(j, find_addr, &l);
		json_decref(j);
		if (l.found) {
			append(who, wholen, r->address);
			rc = 0;
		}
	}
	store_nodes_release(&rows);
	if (peers == 0) {
		snprintf(err, errlen, "no node of cluster '%s' besides %s is up "
		    "to show whether %s left the ring", cluster, address,
		    address);
		return -1;
	}
	return rc;
}

int scale_util_validate_place(json_t *params, char *err, size_t errlen)
{
	if (scale_util_pstr(params, "rack") != NULL &&
	    scale_util_pstr(params, "dc") == NULL) {
		snprintf(err, errlen, "params.rack needs params.dc: rack names "
		    "are per datacenter");
		return -1;
	}
	return 0;
}
