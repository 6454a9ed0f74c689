/*
 * nodetool_cluster.c - parsers for nodetool output: describecluster and
 * ring: what the cluster agrees on (schema, versions, keyspaces) and the
 * token ring.
 *
 * The shared machinery (lines, columns, numbers, JSON helpers) and the
 * design behind it are in nodetool.c; the API is nodetool.h.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "nodetool.h"
#include "nodetool_int.h"

/* ------------------------------------------------------------------ */
/* describecluster                                                    */
/* ------------------------------------------------------------------ */

enum dc_section {
	DS_NONE, DS_CLUSTER, DS_SCHEMA, DS_STATS, DS_DCS, DS_DBVERSIONS,
	DS_KEYSPACES,
};

/* "key: [a, b]"; with empty_key also ": [a]", which 4.1 prints under
 * "Database versions" for an endpoint whose release version it does not
 * know (a node it loaded from system.peers_v2 and never heard from:
 * tests/unit/samples/describecluster-4.1.1-ghost.txt). */
static bool endpoints_line(const char *l, struct nodetool_endpoints *e,
    bool empty_key)
{
	const char *sep = strstr(l, ": [");

	if (sep == NULL || (sep == l && !empty_key))
		return false;
	e->key = xstrndup(l, (size_t)(sep - l));
	if (strchr(e->key, ' ') != NULL)
		return false;
	return nodetool_parse_list(sep + 2, &e->endpoints, &e->n_endpoints);
}

static void endpoints_free(struct nodetool_endpoints *e, size_t n)
{
	size_t i;

	for (i = 0; e != NULL && i < n; i++) {
		free(e[i].key);
		nodetool_strv_free(e[i].endpoints, e[i].n_endpoints);
	}
	free(e);
}

/* "datacenter1 #Nodes: 2 #Down: 0" */
static bool cluster_dc_line(const char *l, struct nodetool_cluster_dc *dc)
{
	struct nodetool_cols t;
	bool ok;

	nodetool_cols_split(&t, l);
	ok = t.n >= 5 && strcmp(t.v[t.n - 4], "#Nodes:") == 0 &&
	    strcmp(t.v[t.n - 2], "#Down:") == 0 &&
	    nodetool_parse_count(t.v[t.n - 3], &dc->nodes) &&
	    nodetool_parse_count(t.v[t.n - 1], &dc->down_reported);
	if (ok)
		dc->name = nodetool_cols_join(&t, 0, t.n - 4);
	nodetool_cols_release(&t);
	return ok;
}

/* "shop -> Replication class: NetworkTopologyStrategy {datacenter1=2}" */
static bool keyspace_line(const char *l, struct nodetool_keyspace *ks)
{
	static const char mid[] = " -> Replication class: ";
	const char *m = strstr(l, mid), *cls, *brace;
	size_t len;
	char *opts, *p, *item;

	if (m == NULL || m == l)
		return false;
	ks->name = xstrndup(l, (size_t)(m - l));
	cls = m + strlen(mid);
	brace = strchr(cls, '{');
	len = strlen(l);
	if (brace == NULL || l[len - 1] != '}')
		return false;
	ks->replication_class = xstrndup(cls, (size_t)(brace - cls));
	str_trim(ks->replication_class);
	if (*ks->replication_class == '\0' ||
	    strchr(ks->replication_class, ' ') != NULL)
		return false;
	opts = xstrndup(brace + 1, (size_t)(l + len - 1 - (brace + 1)));
	p = opts;
	if (!nodetool_is_blank(opts)) {
		while ((item = strsep(&p, ",")) != NULL) {
			char *eq = strchr(item, '=');

			if (eq == NULL) {
				free(opts);
				return false;
			}
			*eq = '\0';
			nodetool_kv_add(&ks->options, &ks->n_options, item, eq + 1);
		}
	}
	free(opts);
	return true;
}

void nodetool_describecluster_free(struct nodetool_describecluster *s)
{
	size_t i;

	if (s == NULL)
		return;
	free(s->name);
	free(s->snitch);
	free(s->dynamic_snitch);
	free(s->partitioner);
	endpoints_free(s->schema_versions, s->n_schema_versions);
	nodetool_strv_free(s->unreachable, s->n_unreachable);
	free(s->ownership_error);
	for (i = 0; i < s->n_dcs; i++)
		free(s->dcs[i].name);
	free(s->dcs);
	endpoints_free(s->db_versions, s->n_db_versions);
	for (i = 0; i < s->n_keyspaces; i++) {
		free(s->keyspaces[i].name);
		free(s->keyspaces[i].replication_class);
		nodetool_kv_free(s->keyspaces[i].options, s->keyspaces[i].n_options);
	}
	free(s->keyspaces);
	free(s);
}

static bool stat_line(const char *l, const char *label, int64_t *v)
{
	size_t n = strlen(label);

	return strncmp(l, label, n) == 0 && l[n] == ':' &&
	    nodetool_parse_count(nodetool_skip_blanks(l + n + 1), v);
}

static int describecluster_line(struct nodetool_ctx *c, size_t i,
    struct nodetool_describecluster *s, enum dc_section *sec, const char *l)
{
	static const struct {
		const char *header;
		enum dc_section sec;
	} headers[] = {
		{ "Cluster Information:", DS_CLUSTER },
		{ "Schema versions:", DS_SCHEMA },
		{ "Stats for all nodes:", DS_STATS },
		{ "Data Centers:", DS_DCS },
		{ "Database versions:", DS_DBVERSIONS },
		{ "Keyspaces:", DS_KEYSPACES },
	};
	static const struct {
		const char *label;
		size_t off;
	} cluster_fields[] = {
		{ "Name: ", offsetof(struct nodetool_describecluster, name) },
		{ "Snitch: ", offsetof(struct nodetool_describecluster, snitch) },
		{ "DynamicEndPointSnitch: ",
		    offsetof(struct nodetool_describecluster, dynamic_snitch) },
		{ "Partitioner: ",
		    offsetof(struct nodetool_describecluster, partitioner) },
	};
	size_t k;

	for (k = 0; k < ARRAY_SIZE(headers); k++) {
		if (strcmp(l, headers[k].header) != 0)
			continue;
		if (headers[k].sec == DS_CLUSTER && *sec != DS_NONE)
			return nodetool_fail_line(c, i, "second cluster section");
		if (headers[k].sec != DS_CLUSTER && *sec == DS_NONE)
			return nodetool_fail_line(c, i,
			    "section before 'Cluster Information:'");
		if (headers[k].sec == DS_STATS)
			s->has_stats = true;
		*sec = headers[k].sec;
		return 0;
	}
	switch (*sec) {
	case DS_NONE:
		break;
	case DS_CLUSTER:
		for (k = 0; k < ARRAY_SIZE(cluster_fields); k++) {
			char **f = (char **)(void *)((char *)s +
			    cluster_fields[k].off);

			if (!str_starts_with(l, cluster_fields[k].label))
				continue;
			if (*f != NULL)
				return nodetool_fail_line(c, i, "field twice");
			*f = nodetool_dup_trim(l + strlen(cluster_fields[k].label));
			return 0;
		}
		break;
	case DS_SCHEMA: {
		struct nodetool_endpoints e = { NULL, NULL, 0 };

		if (!endpoints_line(l, &e, false)) {
			free(e.key);
			nodetool_strv_free(e.endpoints, e.n_endpoints);
			break;
		}
		if (strcmp(e.key, "UNREACHABLE") == 0) {
			for (k = 0; k < e.n_endpoints; k++)
				*APPEND(s->unreachable, s->n_unreachable) =
				    e.endpoints[k];
			free(e.endpoints);
			free(e.key);
		} else {
			*APPEND(s->schema_versions, s->n_schema_versions) = e;
		}
		return 0;
	}
	case DS_STATS:
		if (stat_line(l, "Live", &s->live) ||
		    stat_line(l, "Joining", &s->joining) ||
		    stat_line(l, "Moving", &s->moving) ||
		    stat_line(l, "Leaving", &s->leaving) ||
		    stat_line(l, "Unreachable", &s->unreachable_count))
			return 0;
		/* ownership could not be computed; 4.x prints why and goes on */
		if (str_starts_with(l, "Error: ") || str_starts_with(l, "Note: ")) {
			free(s->ownership_error);
			s->ownership_error = nodetool_dup_trim(strchr(l, ':') + 1);
			return 0;
		}
		break;
	case DS_DCS: {
		struct nodetool_cluster_dc dc = { NULL, 0, 0 };

		if (str_starts_with(l, "Error: ") || str_starts_with(l, "Note: ")) {
			free(s->ownership_error);
			s->ownership_error = nodetool_dup_trim(strchr(l, ':') + 1);
			return 0;
		}
		if (!cluster_dc_line(l, &dc))
			break;
		*APPEND(s->dcs, s->n_dcs) = dc;
		return 0;
	}
	case DS_DBVERSIONS: {
		struct nodetool_endpoints e = { NULL, NULL, 0 };

		if (!endpoints_line(l, &e, true)) {
			free(e.key);
			nodetool_strv_free(e.endpoints, e.n_endpoints);
			break;
		}
		*APPEND(s->db_versions, s->n_db_versions) = e;
		return 0;
	}
	case DS_KEYSPACES: {
		struct nodetool_keyspace ks = { NULL, NULL, NULL, 0 };

		if (!keyspace_line(l, &ks)) {
			free(ks.name);
			free(ks.replication_class);
			nodetool_kv_free(ks.options, ks.n_options);
			break;
		}
		*APPEND(s->keyspaces, s->n_keyspaces) = ks;
		return 0;
	}
	}
	return nodetool_fail_unexpected(c, i);
}

int nodetool_parse_describecluster(const char *buf, size_t len,
    struct nodetool_describecluster **out, char *err, size_t errlen)
{
	struct nodetool_ctx c;
	struct nodetool_describecluster *s;
	enum dc_section sec = DS_NONE;
	bool schema_seen = false;
	size_t i;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL ||
	    nodetool_ctx_init(&c, "describecluster", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->live = s->joining = s->moving = s->leaving = NODETOOL_UNKNOWN;
	s->unreachable_count = NODETOOL_UNKNOWN;
	for (i = 0; i < c.n && rc == 0; i++) {
		const char *l = nodetool_skip_blanks(c.lines[i]);

		if (nodetool_is_skippable(c.lines[i]))
			continue;
		rc = describecluster_line(&c, i, s, &sec, l);
		if (sec == DS_SCHEMA)
			schema_seen = true;
	}
	if (rc == 0 && sec == DS_NONE)
		rc = nodetool_fail_all(&c, "no 'Cluster Information:' line in output");
	else if (rc == 0 && (s->name == NULL || !schema_seen))
		rc = nodetool_fail_all(&c, "no cluster name or schema versions in output");
	else if (rc == 0 && s->n_schema_versions == 0)
		rc = nodetool_fail_all(&c, "no schema version in output");
	nodetool_ctx_release(&c);
	if (rc < 0) {
		nodetool_describecluster_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

static json_t *jendpoints(const struct nodetool_endpoints *e, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; e != NULL && i < n; i++)
		nodetool_jset(o, e[i].key, nodetool_jstrv(e[i].endpoints, e[i].n_endpoints));
	return o;
}

json_t *nodetool_describecluster_json(const struct nodetool_describecluster *s)
{
	json_t *o = json_object(), *a;
	size_t i;

	if (s == NULL)
		return o;
	nodetool_jset(o, "name", nodetool_jstr(s->name));
	nodetool_jset(o, "snitch", nodetool_jstr(s->snitch));
	nodetool_jset(o, "dynamic_snitch", nodetool_jstr(s->dynamic_snitch));
	nodetool_jset(o, "partitioner", nodetool_jstr(s->partitioner));
	nodetool_jset(o, "schema_versions",
	    jendpoints(s->schema_versions, s->n_schema_versions));
	nodetool_jset(o, "unreachable", nodetool_jstrv(s->unreachable, s->n_unreachable));
	if (!s->has_stats)
		return o;
	nodetool_jset(o, "stats", json_pack("{s:o,s:o,s:o,s:o,s:o}",
	    "live", nodetool_jcount(s->live), "joining", nodetool_jcount(s->joining),
	    "moving", nodetool_jcount(s->moving), "leaving", nodetool_jcount(s->leaving),
	    "unreachable", nodetool_jcount(s->unreachable_count)));
	nodetool_jset(o, "ownership_error", nodetool_jstr(s->ownership_error));
	a = json_array();
	for (i = 0; i < s->n_dcs; i++)
		json_array_append_new(a, json_pack("{s:o,s:o,s:o}",
		    "name", nodetool_jstr(s->dcs[i].name),
		    "nodes", nodetool_jcount(s->dcs[i].nodes),
		    /* named so that nobody mistakes it for a real count */
		    "down_reported_unreliable",
		    nodetool_jcount(s->dcs[i].down_reported)));
	nodetool_jset(o, "datacenters", a);
	nodetool_jset(o, "database_versions",
	    jendpoints(s->db_versions, s->n_db_versions));
	a = json_array();
	for (i = 0; i < s->n_keyspaces; i++)
		json_array_append_new(a, json_pack("{s:o,s:o,s:o}",
		    "name", nodetool_jstr(s->keyspaces[i].name),
		    "replication_class", nodetool_jstr(s->keyspaces[i].replication_class),
		    "options", nodetool_jkv(s->keyspaces[i].options,
		    s->keyspaces[i].n_options)));
	nodetool_jset(o, "keyspaces", a);
	return o;
}

/* ------------------------------------------------------------------ */
/* ring                                                               */
/* ------------------------------------------------------------------ */

static bool one_of(const char *s, const char *const *words, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	return false;
}

static int ring_row(struct nodetool_ctx *c, size_t li, const struct nodetool_cols *t,
    struct nodetool_ring_entry *e)
{
	static const char *const statuses[] = { "Up", "Down", "?" };
	static const char *const states[] = {
		"Normal", "Leaving", "Joining", "Moving", "?",
	};
	size_t expected = (t->n > 4 && strcmp(t->v[4], "?") == 0) ? 7 : 8;
	size_t i = 4;

	e->load_bytes = NODETOOL_UNKNOWN;
	e->owns_pct = NODETOOL_UNKNOWN;
	if (t->n != expected)
		return nodetool_fail_line(c, li, "expected %zu columns, got %zu",
		    expected, t->n);
	if (!one_of(t->v[2], statuses, ARRAY_SIZE(statuses)))
		return nodetool_fail_line(c, li, "bad status '%s'", t->v[2]);
	if (!one_of(t->v[3], states, ARRAY_SIZE(states)))
		return nodetool_fail_line(c, li, "bad state '%s'", t->v[3]);
	if (!nodetool_take_size(t, &i, &e->load_bytes))
		return nodetool_fail_line(c, li, "bad load '%s'", t->v[4]);
	if (!nodetool_parse_owns(t->v[i], &e->owns_pct))
		return nodetool_fail_line(c, li, "bad ownership '%s'", t->v[i]);
	e->address = xstrdup(t->v[0]);
	e->rack = xstrdup(t->v[1]);
	e->status = xstrdup(t->v[2]);
	e->state = xstrdup(t->v[3]);
	e->token = xstrdup(t->v[i + 1]);
	return 0;
}

void nodetool_ring_free(struct nodetool_ring *s)
{
	size_t i, k;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_dcs; i++) {
		struct nodetool_ring_dc *dc = &s->dcs[i];

		for (k = 0; k < dc->n_entries; k++) {
			free(dc->entries[k].address);
			free(dc->entries[k].rack);
			free(dc->entries[k].status);
			free(dc->entries[k].state);
			free(dc->entries[k].token);
		}
		free(dc->entries);
		free(dc->name);
		free(dc->last_token);
	}
	free(s->dcs);
	free(s);
}

static bool ring_trailer(const char *l)
{
	return str_starts_with(l, "Warning: ") || str_starts_with(l, "Note: ") ||
	    str_starts_with(l, "To view status related info of a node");
}

int nodetool_parse_ring(const char *buf, size_t len,
    struct nodetool_ring **out, char *err, size_t errlen)
{
	static const char *const header[] = {
		"Address", "Rack", "Status", "State", "Load", "Owns", "Token",
	};
	struct nodetool_ctx c;
	struct nodetool_ring *s;
	struct nodetool_ring_dc *dc = NULL;
	bool header_seen = false;
	size_t i, k, entries = 0;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || nodetool_ctx_init(&c, "ring", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	for (i = 0; i < c.n && rc == 0; i++) {
		const char *l = nodetool_skip_blanks(c.lines[i]);
		struct nodetool_cols t;

		if (nodetool_is_skippable(c.lines[i]) || ring_trailer(l))
			continue;
		if (str_starts_with(l, "Datacenter:")) {
			char *name = nodetool_dup_trim(l + strlen("Datacenter:"));

			if (*name == '\0') {
				free(name);
				rc = nodetool_fail_line(&c, i, "datacenter without a name");
				break;
			}
			dc = APPEND(s->dcs, s->n_dcs);
			dc->name = name;
			header_seen = false;
			continue;
		}
		if (l[strspn(l, "=")] == '\0')
			continue;
		if (dc == NULL) {
			rc = nodetool_fail_unexpected(&c, i);
			break;
		}
		nodetool_cols_split(&t, l);
		if (strcmp(t.v[0], "Address") == 0) {
			if (t.n != ARRAY_SIZE(header))
				rc = nodetool_fail_line(&c, i, "expected %zu columns, got %zu",
				    ARRAY_SIZE(header), t.n);
			for (k = 0; rc == 0 && k < t.n; k++)
				if (strcmp(t.v[k], header[k]) != 0)
					rc = nodetool_fail_line(&c, i, "unknown column '%s'",
					    t.v[k]);
			header_seen = true;
		} else if (!header_seen) {
			rc = nodetool_fail_unexpected(&c, i);
		} else if (t.n == 1 && dc->n_entries == 0 &&
		    dc->last_token == NULL) {
			dc->last_token = xstrdup(t.v[0]);
		} else {
			rc = ring_row(&c, i, &t,
			    APPEND(dc->entries, dc->n_entries));
			entries++;
		}
		nodetool_cols_release(&t);
	}
	if (rc == 0 && entries == 0)
		rc = nodetool_fail_all(&c, "no token rows in output");
	nodetool_ctx_release(&c);
	if (rc < 0) {
		nodetool_ring_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

json_t *nodetool_ring_json(const struct nodetool_ring *s)
{
	json_t *o = json_object(), *dcs = json_array();
	size_t i, k;

	if (s == NULL)
		return o;
	for (i = 0; i < s->n_dcs; i++) {
		const struct nodetool_ring_dc *dc = &s->dcs[i];
		json_t *d = json_object(), *a = json_array();

		nodetool_jset(d, "name", nodetool_jstr(dc->name));
		nodetool_jset(d, "last_token", nodetool_jstr(dc->last_token));
		for (k = 0; k < dc->n_entries; k++) {
			const struct nodetool_ring_entry *e = &dc->entries[k];

			json_array_append_new(a,
			    json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
			    "address", nodetool_jstr(e->address),
			    "rack", nodetool_jstr(e->rack),
			    "status", nodetool_jstr(e->status),
			    "state", nodetool_jstr(e->state),
			    "load_bytes", nodetool_jcount(e->load_bytes),
			    "owns_pct", nodetool_jreal(e->owns_pct),
			    "token", nodetool_jstr(e->token)));
		}
		nodetool_jset(d, "entries", a);
		json_array_append_new(dcs, d);
	}
	nodetool_jset(o, "datacenters", dcs);
	return o;
}
