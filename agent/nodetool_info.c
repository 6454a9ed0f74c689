/*
 * nodetool_info.c - parsers for nodetool output: info and version: the
 * node's own state and the release it runs.
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
/* info                                                               */
/* ------------------------------------------------------------------ */

enum info_field {
	IF_ID, IF_GOSSIP, IF_THRIFT, IF_NATIVE, IF_LOAD, IF_GENERATION,
	IF_UPTIME, IF_HEAP, IF_OFFHEAP, IF_DC, IF_RACK, IF_EXCEPTIONS,
	IF_REPAIRED, IF_TOKEN, IF_N,
};

static const struct {
	const char *label;
	enum info_field field;
	bool required;
} info_labels[] = {
	{ "ID", IF_ID, true },
	{ "Gossip active", IF_GOSSIP, true },
	{ "Thrift active", IF_THRIFT, false },
	{ "Native Transport active", IF_NATIVE, true },
	{ "Load", IF_LOAD, true },
	{ "Generation No", IF_GENERATION, false },
	{ "Uptime (seconds)", IF_UPTIME, false },
	{ "Heap Memory (MB)", IF_HEAP, false },
	{ "Off Heap Memory (MB)", IF_OFFHEAP, false },
	{ "Data Center", IF_DC, false },
	{ "Rack", IF_RACK, false },
	{ "Exceptions", IF_EXCEPTIONS, false },
	{ "Percent Repaired", IF_REPAIRED, false },
	{ "Token", IF_TOKEN, false },
};

static bool info_heap(const char *v, double *used, double *max)
{
	struct nodetool_cols t;
	bool ok;

	nodetool_cols_split(&t, v);
	ok = t.n == 3 && strcmp(t.v[1], "/") == 0 &&
	    nodetool_parse_decimal(t.v[0], used) && nodetool_parse_decimal(t.v[2], max);
	nodetool_cols_release(&t);
	return ok;
}

/* "(invoke with -T/--tokens to see all 16 tokens)" -> 16 */
static bool info_token_hint(const char *v, int *count)
{
	static const char pre[] = "(invoke with -T/--tokens to see all ";
	static const char post[] = " tokens)";
	size_t len = strlen(v);
	char *num;
	bool ok;

	if (!str_starts_with(v, pre) || !str_ends_with(v, post) ||
	    len <= strlen(pre) + strlen(post))
		return false;
	num = xstrndup(v + strlen(pre), len - strlen(pre) - strlen(post));
	ok = nodetool_parse_int(num, count);
	free(num);
	return ok;
}

static int info_value(struct nodetool_ctx *c, size_t li, struct nodetool_info *s,
    enum info_field f, const char *label, const char *v)
{
	bool b;

	switch (f) {
	case IF_ID:
		if (*v == '\0' || strchr(v, ' ') != NULL)
			break;
		s->id = xstrdup(v);
		return 0;
	case IF_GOSSIP:
		if (!nodetool_parse_bool(v, &s->gossip_active))
			break;
		return 0;
	case IF_THRIFT:
		if (!nodetool_parse_bool(v, &b))
			break;
		s->thrift_active = b;
		return 0;
	case IF_NATIVE:
		if (!nodetool_parse_bool(v, &s->native_transport_active))
			break;
		return 0;
	case IF_LOAD:
		if (nodetool_parse_size(v, &s->load_bytes) < 0)
			break;
		return 0;
	case IF_GENERATION:
		if (!nodetool_parse_count(v, &s->generation))
			break;
		return 0;
	case IF_UPTIME:
		if (!nodetool_parse_count(v, &s->uptime_s))
			break;
		return 0;
	case IF_HEAP:
		if (!info_heap(v, &s->heap_used_mb, &s->heap_max_mb))
			break;
		return 0;
	case IF_OFFHEAP:
		if (!nodetool_parse_decimal(v, &s->off_heap_mb))
			break;
		return 0;
	case IF_DC:
		s->datacenter = xstrdup(v);
		return 0;
	case IF_RACK:
		s->rack = xstrdup(v);
		return 0;
	case IF_EXCEPTIONS:
		if (!nodetool_parse_count(v, &s->exceptions))
			break;
		return 0;
	case IF_REPAIRED:
		/* NaN% when there is no data to repair */
		if (strcmp(v, "NaN%") == 0)
			return 0;
		if (!nodetool_parse_pct(v, &s->percent_repaired))
			break;
		return 0;
	case IF_TOKEN:
		if (strcmp(v, "(node is not joined to the cluster)") == 0) {
			s->joined = false;
			return 0;
		}
		if (info_token_hint(v, &s->token_count))
			return 0;
		if (*v == '\0' || strchr(v, ' ') != NULL)
			break;
		*APPEND(s->tokens, s->n_tokens) = xstrdup(v);
		s->token_count = (int)s->n_tokens;
		return 0;
	case IF_N:
		break;
	}
	return nodetool_fail_line(c, li, "bad value for '%s'", label);
}

void nodetool_info_free(struct nodetool_info *s)
{
	if (s == NULL)
		return;
	free(s->id);
	free(s->datacenter);
	free(s->rack);
	nodetool_strv_free(s->tokens, s->n_tokens);
	nodetool_kv_free(s->other, s->n_other);
	free(s);
}

int nodetool_parse_info(const char *buf, size_t len,
    struct nodetool_info **out, char *err, size_t errlen)
{
	struct nodetool_ctx c;
	struct nodetool_info *s;
	bool seen[IF_N] = { false };
	size_t i, k;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || nodetool_ctx_init(&c, "info", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->thrift_active = NODETOOL_UNKNOWN;
	s->load_bytes = NODETOOL_UNKNOWN;
	s->generation = NODETOOL_UNKNOWN;
	s->uptime_s = NODETOOL_UNKNOWN;
	s->heap_used_mb = s->heap_max_mb = NODETOOL_UNKNOWN;
	s->off_heap_mb = NODETOOL_UNKNOWN;
	s->exceptions = NODETOOL_UNKNOWN;
	s->percent_repaired = NODETOOL_UNKNOWN;
	s->token_count = NODETOOL_UNKNOWN;
	s->joined = true;
	for (i = 0; i < c.n; i++) {
		char *label, *value;

		if (nodetool_is_skippable(c.lines[i]))
			continue;
		if (nodetool_is_error_line(c.lines[i]) ||
		    !nodetool_split_label(c.lines[i], &label, &value)) {
			rc = nodetool_fail_unexpected(&c, i);
			goto out;
		}
		for (k = 0; k < ARRAY_SIZE(info_labels); k++)
			if (strcmp(label, info_labels[k].label) == 0)
				break;
		if (k == ARRAY_SIZE(info_labels)) {
			nodetool_kv_add(&s->other, &s->n_other, label, value);
			rc = 0;
		} else if (seen[info_labels[k].field] &&
		    info_labels[k].field != IF_TOKEN) {
			rc = nodetool_fail_line(&c, i, "'%s' twice", label);
		} else {
			seen[info_labels[k].field] = true;
			rc = info_value(&c, i, s, info_labels[k].field, label,
			    value);
		}
		free(label);
		free(value);
		if (rc < 0)
			goto out;
	}
	rc = -1;
	for (k = 0; k < ARRAY_SIZE(info_labels); k++) {
		if (info_labels[k].required && !seen[info_labels[k].field]) {
			nodetool_fail_all(&c, "no '%s' line in output",
			    info_labels[k].label);
			goto out;
		}
	}
	rc = 0;
out:
	nodetool_ctx_release(&c);
	if (rc < 0) {
		nodetool_info_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

json_t *nodetool_info_json(const struct nodetool_info *s)
{
	json_t *o = json_object();

	if (s == NULL)
		return o;
	nodetool_jset(o, "id", nodetool_jstr(s->id));
	nodetool_jset(o, "gossip_active", json_boolean(s->gossip_active));
	nodetool_jset(o, "thrift_active", s->thrift_active < 0 ? json_null() :
	    json_boolean(s->thrift_active));
	nodetool_jset(o, "native_transport_active",
	    json_boolean(s->native_transport_active));
	nodetool_jset(o, "load_bytes", nodetool_jcount(s->load_bytes));
	nodetool_jset(o, "generation", nodetool_jcount(s->generation));
	nodetool_jset(o, "uptime_s", nodetool_jcount(s->uptime_s));
	nodetool_jset(o, "heap_used_mb", nodetool_jreal(s->heap_used_mb));
	nodetool_jset(o, "heap_max_mb", nodetool_jreal(s->heap_max_mb));
	nodetool_jset(o, "off_heap_mb", nodetool_jreal(s->off_heap_mb));
	nodetool_jset(o, "datacenter", nodetool_jstr(s->datacenter));
	nodetool_jset(o, "rack", nodetool_jstr(s->rack));
	nodetool_jset(o, "exceptions", nodetool_jcount(s->exceptions));
	nodetool_jset(o, "percent_repaired", nodetool_jreal(s->percent_repaired));
	nodetool_jset(o, "joined", json_boolean(s->joined));
	nodetool_jset(o, "token_count", nodetool_jcount(s->token_count));
	nodetool_jset(o, "tokens", nodetool_jstrv(s->tokens, s->n_tokens));
	nodetool_jset(o, "other", nodetool_jkv(s->other, s->n_other));
	return o;
}

/* ------------------------------------------------------------------ */
/* version                                                            */
/* ------------------------------------------------------------------ */

void nodetool_version_free(struct nodetool_version *s)
{
	if (s == NULL)
		return;
	free(s->release);
	free(s);
}

/* "4.1.0", "5.0-beta1", "3.11.17": major.minor[.patch][-suffix] */
static bool version_numbers(const char *v, struct nodetool_version *s)
{
	int part[3] = { 0, 0, 0 };
	size_t n = 0, digits = 0;
	const char *p = v;

	for (;;) {
		if (*p >= '0' && *p <= '9') {
			if (++digits > 6)
				return false;
			part[n] = part[n] * 10 + (*p++ - '0');
			continue;
		}
		if (digits == 0)
			return false;
		n++;
		digits = 0;
		if (*p == '.' && n < 3) {
			p++;
			continue;
		}
		break;
	}
	if (n < 2 || (*p != '\0' && (*p != '-' || p[1] == '\0')))
		return false;
	s->major = part[0];
	s->minor = part[1];
	s->patch = part[2];
	return true;
}

int nodetool_parse_version(const char *buf, size_t len,
    struct nodetool_version **out, char *err, size_t errlen)
{
	struct nodetool_ctx c;
	struct nodetool_version *s;
	size_t i;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || nodetool_ctx_init(&c, "version", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	for (i = 0; i < c.n && rc == 0; i++) {
		const char *l = nodetool_skip_blanks(c.lines[i]);

		if (nodetool_is_skippable(l))
			continue;
		if (!str_starts_with(l, "ReleaseVersion:") || s->release != NULL) {
			rc = nodetool_fail_unexpected(&c, i);
			break;
		}
		s->release = nodetool_dup_trim(l + strlen("ReleaseVersion:"));
		if (!version_numbers(s->release, s) ||
		    strchr(s->release, ' ') != NULL)
			rc = nodetool_fail_line(&c, i, "bad version");
	}
	if (rc == 0 && s->release == NULL)
		rc = nodetool_fail_all(&c, "no 'ReleaseVersion:' line in output");
	nodetool_ctx_release(&c);
	if (rc < 0) {
		nodetool_version_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

json_t *nodetool_version_json(const struct nodetool_version *s)
{
	if (s == NULL)
		return json_object();
	return json_pack("{s:o,s:i,s:i,s:i}", "release", nodetool_jstr(s->release),
	    "major", s->major, "minor", s->minor, "patch", s->patch);
}
