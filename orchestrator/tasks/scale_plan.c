/*
 * scale_plan.c - see scale_plan.h.
 */
#include "scale_plan.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"

static bool same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Dotted addresses compare by their numbers; anything else by text. */
static int addr_cmp(const char *a, const char *b)
{
	unsigned x[4], y[4];

	if (sscanf(a, "%u.%u.%u.%u", &x[0], &x[1], &x[2], &x[3]) == 4 &&
	    sscanf(b, "%u.%u.%u.%u", &y[0], &y[1], &y[2], &y[3]) == 4) {
		for (int i = 0; i < 4; i++)
			if (x[i] != y[i])
				return x[i] < y[i] ? -1 : 1;
		return 0;
	}
	return strcmp(a, b);
}

static bool candidate(const struct scale_node *v, const char *dc,
    const char *rack)
{
	return v->up && v->address != NULL && (dc == NULL || same(v->dc, dc)) &&
	    (rack == NULL || same(v->rack, rack));
}

int scale_plan_choose(const struct scale_node *nodes, size_t n, int count,
    const char *dc, const char *rack, size_t *out, char *err, size_t errlen)
{
	bool *taken = xcalloc(n ? n : 1, sizeof(*taken));
	size_t have = 0;

	for (size_t i = 0; i < n; i++)
		have += candidate(&nodes[i], dc, rack);
	if (count < 1 || (size_t)count > have) {
		snprintf(err, errlen, "cannot choose %d node(s) to leave: %zu "
		    "node(s) are up%s%s%s%s", count, have, dc ? " in dc " : "",
		    dc ? dc : "", rack ? " rack " : "", rack ? rack : "");
		free(taken);
		return -1;
	}
	for (int k = 0; k < count; k++) {
		size_t best = n;
		size_t best_rack = 0;
		for (size_t i = 0; i < n; i++) {
			const struct scale_node *v = &nodes[i];
			size_t in_rack = 0;
			int c;
			if (taken[i] || !candidate(v, dc, rack))
				continue;
			for (size_t j = 0; j < n; j++)
				in_rack += !taken[j] && candidate(&nodes[j], dc,
				    rack) && same(nodes[j].dc, v->dc) &&
				    same(nodes[j].rack, v->rack);
			if (best == n) {
				best = i;
				best_rack = in_rack;
				continue;
			}
			const struct scale_node *b = &nodes[best];
			if (v->seed != b->seed)
				c = v->seed ? 1 : -1;
			else if (in_rack != best_rack)
				c = in_rack > best_rack ? -1 : 1;
			else if (v->load_bytes != b->load_bytes)
				c = (v->load_bytes < 0 ? INT64_MAX : v->load_bytes) <
				    (b->load_bytes < 0 ? INT64_MAX : b->load_bytes) ?
				    -1 : 1;
			else
				c = -addr_cmp(v->address, b->address);
			if (c < 0) {
				best = i;
				best_rack = in_rack;
			}
		}
		taken[best] = true;
		out[k] = best;
	}
	free(taken);
	return 0;
}

void scale_plan_size(int64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB",
	    "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(unit)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lld bytes", (long long)bytes);
	else
		snprintf(buf, len, "%.2f %s", v, unit[u]);
}

int scale_plan_disk(const struct scale_node *nodes, size_t n,
    const bool *leaving, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const char *dc = nodes[i].dc;
		int64_t load = 0, free_b = 0, need;
		size_t stay = 0, unknown = 0;
		bool first = true;
		char a[32], b[32], c[32];

		if (!leaving[i])
			continue;
		/* Each DC once: at its first leaving node. */
		for (size_t j = 0; j < i; j++)
			if (leaving[j] && same(nodes[j].dc, dc))
				first = false;
		if (!first)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (!same(nodes[j].dc, dc))
				continue;
			if (leaving[j]) {
				if (nodes[j].load_bytes < 0) {
					snprintf(err, errlen, "refused: the load of "
					    "%s is not known (no status from its "
					    "agent yet), so the disk space it needs "
					    "cannot be checked; wait for its "
					    "heartbeat", nodes[j].address);
					return -1;
				}
				load += nodes[j].load_bytes;
				continue;
			}
			stay++;
			if (nodes[j].free_bytes < 0)
				unknown++;
			else
				free_b += nodes[j].free_bytes;
		}
		need = load + load / 100 * SCALE_PLAN_HEADROOM_PCT +
		    load % 100 * SCALE_PLAN_HEADROOM_PCT / 100;
		if (stay == 0 || need > free_b) {
			scale_plan_size(load, a, sizeof(a));
			scale_plan_size(need, b, sizeof(b));
			scale_plan_size(free_b, c, sizeof(c));
			snprintf(err, errlen, "refused: not enough disk in dc %s: "
			    "the leaving nodes hold %s (%lld bytes), which needs "
			    "%s with %d%% headroom, but the %zu node(s) that stay "
			    "have %s (%lld bytes) free%s%s", dc ? dc : "?", a,
			    (long long)load, b, SCALE_PLAN_HEADROOM_PCT, stay, c,
			    (long long)free_b, unknown ? "; nodes whose free "
			    "space is not known count 0: " : "", unknown ?
			    "wait for their heartbeats" : "");
			return -1;
		}
	}
	return 0;
}

int scale_plan_rf(const struct scale_node *nodes, size_t n,
    const bool *leaving, const struct scale_ks *ks, size_t nks, char *err,
    size_t errlen)
{
	for (size_t k = 0; k < nks; k++) {
		size_t stay = 0, before = 0;
		for (size_t i = 0; i < n; i++) {
			if (ks[k].dc != NULL && !same(nodes[i].dc, ks[k].dc))
				continue;
			before++;
			stay += !leaving[i];
		}
		if (ks[k].rf > 0 && stay < (size_t)ks[k].rf) {
			snprintf(err, errlen, "refused: keyspace %s has RF %d %s%s, "
			    "but only %zu of its %zu node(s) would stay: lower its "
			    "replication first (ALTER KEYSPACE) or remove fewer "
			    "nodes", ks[k].name, ks[k].rf, ks[k].dc ? "in dc " :
			    "(SimpleStrategy, over the whole cluster)", ks[k].dc ?
			    ks[k].dc : "", stay, before);
			return -1;
		}
	}
	return 0;
}

void scale_plan_ks_free(struct scale_ks *ks, size_t n)
{
	for (size_t i = 0; ks != NULL && i < n; i++) {
		free(ks[i].name);
		free(ks[i].dc);
	}
	free(ks);
}

/* "3", "3/1" (full/transient): the full replicas, or -1. */
static int parse_rf(const char *s)
{
	int v = 0;
	size_t i = 0;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	for (; isdigit((unsigned char)s[i]) && i < 4; i++)
		v = v * 10 + (s[i] - '0');
	if (i > 3 || (s[i] != '\0' && s[i] != '/'))
		return -1;
	return v;
}

static bool class_is(const char *cls, const char *name)
{
	size_t a = strlen(cls), b = strlen(name);

	/* "SimpleStrategy" or "org.apache.cassandra.locator.SimpleStrategy" */
	return a >= b && strcmp(cls + a - b, name) == 0 && (a == b ||
	    cls[a - b - 1] == '.');
}

int scale_plan_keyspaces(const json_t *data, struct scale_ks **out,
    size_t *n, char *err, size_t errlen)
{
	const json_t *arr = json_object_get(data, "keyspaces");
	struct scale_ks *v = NULL;
	size_t nv = 0, i;
	json_t *k;

	*out = NULL;
	*n = 0;
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "the agent's keyspaces answer has no "
		    "\"keyspaces\" array");
		return -1;
	}
	json_array_foreach(arr, i, k) {
		const char *name = json_string_value(json_object_get(k, "name"));
		const char *cls = json_string_value(json_object_get(k,
		    "replication_class"));
		json_t *opts = json_object_get(k, "options"), *val;
		const char *key;

		if (name == NULL || cls == NULL || !json_is_object(opts)) {
			snprintf(err, errlen, "keyspace %zu of the agent's answer "
			    "lacks a name, replication_class or options", i);
			goto fail;
		}
		if (class_is(cls, "LocalStrategy") ||
		    class_is(cls, "EverywhereStrategy"))
			continue;
		if (!class_is(cls, "SimpleStrategy") &&
		    !class_is(cls, "NetworkTopologyStrategy")) {
			snprintf(err, errlen, "keyspace %s has replication class "
			    "%s, which the RF check does not know: refused rather "
			    "than guessed", name, cls);
			goto fail;
		}
		json_object_foreach(opts, key, val) {
			int rf = parse_rf(json_string_value(val));
			bool simple = class_is(cls, "SimpleStrategy");
			if (simple && strcmp(key, "replication_factor") != 0)
				continue;
			if (!simple && strcmp(key, "replication_factor") == 0)
				continue;	/* NTS's default for new DCs */
			if (rf < 0) {
				snprintf(err, errlen, "keyspace %s: replication "
				    "option %s is '%s', not a replica count", name,
				    key, json_string_value(val) ?
				    json_string_value(val) : "(not a string)");
				goto fail;
			}
			v = xrealloc(v, (nv + 1) * sizeof(*v));
			v[nv].name = xstrdup(name);
			v[nv].dc = simple ? NULL : xstrdup(key);
			v[nv].rf = rf;
			nv++;
		}
	}
	*out = v;
	*n = nv;
	return 0;
fail:
	scale_plan_ks_free(v, nv);
	return -1;
}
