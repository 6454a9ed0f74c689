/*
 * nodetool_status.c - parsers for nodetool output: status: the ring by
 * datacenter, one row per node, in every layout 3.11 to 5.0 prints.
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
/* status                                                             */
/* ------------------------------------------------------------------ */

enum status_col {
	SC_ADDRESS, SC_LOAD, SC_TOKENS, SC_TOKEN, SC_OWNS, SC_HOSTID, SC_RACK,
};

#define STATUS_MAX_COLS 8

struct status_layout {
	enum status_col col[STATUS_MAX_COLS];
	size_t n;
};

/* 4.x and 3.x vnode layout, used for rows printed without a header. */
static const struct status_layout status_default_layout = {
	{ SC_ADDRESS, SC_LOAD, SC_TOKENS, SC_OWNS, SC_HOSTID, SC_RACK }, 6,
};

static const char *const state_names[][2] = {
	{ "N", "normal" }, { "L", "leaving" }, { "J", "joining" },
	{ "M", "moving" },
};

static bool is_status_row(const struct nodetool_cols *t)
{
	const char *s;

	if (t->n == 0 || strlen(t->v[0]) != 2)
		return false;
	s = t->v[0];
	return strchr("UD?", s[0]) != NULL && strchr("NLJM", s[1]) != NULL;
}

static int status_header(struct nodetool_ctx *c, size_t li, const struct nodetool_cols *t,
    struct status_layout *lay, bool *effective)
{
	size_t i;
	unsigned seen = 0;

	lay->n = 0;
	for (i = 1; i < t->n; i++) {
		const char *w = t->v[i];
		enum status_col col;

		if (strcmp(w, "Address") == 0) {
			col = SC_ADDRESS;
		} else if (strcmp(w, "Load") == 0) {
			col = SC_LOAD;
		} else if (strcmp(w, "Tokens") == 0) {
			col = SC_TOKENS;
		} else if (strcmp(w, "Token") == 0) {
			col = SC_TOKEN;
		} else if (strcmp(w, "Owns") == 0) {
			col = SC_OWNS;
			if (i + 1 < t->n && strcmp(t->v[i + 1], "(effective)") == 0) {
				*effective = true;
				i++;
			}
		} else if (strcmp(w, "Host") == 0 && i + 1 < t->n &&
		    strcmp(t->v[i + 1], "ID") == 0) {
			col = SC_HOSTID;
			i++;
		} else if (strcmp(w, "Rack") == 0) {
			col = SC_RACK;
		} else {
			return nodetool_fail_line(c, li, "unknown column '%s'", w);
		}
		if (seen & (1u << col))
			return nodetool_fail_line(c, li, "column '%s' twice", w);
		seen |= 1u << col;
		lay->col[lay->n++] = col;
	}
	if (!(seen & (1u << SC_ADDRESS)) || !(seen & (1u << SC_LOAD)) ||
	    !(seen & (1u << SC_OWNS)))
		return nodetool_fail_line(c, li, "header lacks Address, Load or Owns");
	return 0;
}

static int status_row(struct nodetool_ctx *c, size_t li, const struct nodetool_cols *t,
    const struct status_layout *lay, struct nodetool_status_node *node)
{
	size_t expected = 1 + lay->n, i, k, ci = 1;

	/* the load takes two columns unless it is "?" */
	for (k = 0; k < lay->n; k++) {
		if (lay->col[k] != SC_LOAD)
			continue;
		if (1 + k >= t->n || strcmp(t->v[1 + k], "?") != 0)
			expected++;
	}
	if (t->n != expected)
		return nodetool_fail_line(c, li, "expected %zu columns, got %zu",
		    expected, t->n);
	node->status = t->v[0][0];
	node->state = t->v[0][1];
	node->load_bytes = NODETOOL_UNKNOWN;
	node->owns_pct = NODETOOL_UNKNOWN;
	node->tokens = NODETOOL_UNKNOWN;
	for (k = 0; k < lay->n; k++) {
		const char *w = t->v[ci];

		switch (lay->col[k]) {
		case SC_ADDRESS:
			node->address = xstrdup(w);
			ci++;
			break;
		case SC_LOAD:
			i = ci;
			if (!nodetool_take_size(t, &i, &node->load_bytes))
				return nodetool_fail_line(c, li, "bad load '%s'", w);
			ci = i;
			break;
		case SC_TOKENS:
			if (!nodetool_parse_int(w, &node->tokens))
				return nodetool_fail_line(c, li, "bad token count '%s'", w);
			ci++;
			break;
		case SC_TOKEN:
			node->token = xstrdup(w);
			node->tokens = 1;
			ci++;
			break;
		case SC_OWNS:
			if (!nodetool_parse_owns(w, &node->owns_pct))
				return nodetool_fail_line(c, li, "bad ownership '%s'", w);
			ci++;
			break;
		case SC_HOSTID:
			node->host_id = xstrdup(w);
			ci++;
			break;
		case SC_RACK:
			node->rack = xstrdup(w);
			ci++;
			break;
		}
	}
	return 0;
}

void nodetool_status_free(struct nodetool_status *s)
{
	size_t i, k;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_dcs; i++) {
		struct nodetool_status_dc *dc = &s->dcs[i];

		for (k = 0; k < dc->n_nodes; k++) {
			free(dc->nodes[k].address);
			free(dc->nodes[k].token);
			free(dc->nodes[k].host_id);
			free(dc->nodes[k].rack);
		}
		free(dc->nodes);
		free(dc->name);
	}
	free(s->dcs);
	free(s->note);
	free(s);
}

int nodetool_parse_status(const char *buf, size_t len,
    struct nodetool_status **out, char *err, size_t errlen)
{
	struct nodetool_ctx c;
	struct nodetool_status *s;
	struct nodetool_status_dc *dc = NULL;
	struct status_layout lay = status_default_layout;
	size_t i, nodes = 0;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || nodetool_ctx_init(&c, "status", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	for (i = 0; i < c.n; i++) {
		const char *line = c.lines[i];
		const char *l = nodetool_skip_blanks(line);
		struct nodetool_cols t;

		if (nodetool_is_skippable(line))
			continue;
		if (str_starts_with(l, "Datacenter:")) {
			char *name = nodetool_dup_trim(l + strlen("Datacenter:"));

			if (*name == '\0') {
				free(name);
				nodetool_fail_line(&c, i, "datacenter without a name");
				goto out;
			}
			dc = APPEND(s->dcs, s->n_dcs);
			dc->name = name;
			lay = status_default_layout;
			continue;
		}
		if (l[strspn(l, "=")] == '\0' || strcmp(l, "Status=Up/Down") == 0 ||
		    strcmp(l, "|/ State=Normal/Leaving/Joining/Moving") == 0)
			continue;
		if (str_starts_with(l, "Note:")) {
			free(s->note);
			s->note = nodetool_dup_trim(l + strlen("Note:"));
			continue;
		}
		nodetool_cols_split(&t, l);
		if (strcmp(t.v[0], "--") == 0) {
			rc = status_header(&c, i, &t, &lay, &s->owns_effective);
		} else if (is_status_row(&t)) {
			/* rows with no "Datacenter:" line above: a quoted fragment */
			if (dc == NULL)
				dc = APPEND(s->dcs, s->n_dcs);
			rc = status_row(&c, i, &t, &lay,
			    APPEND(dc->nodes, dc->n_nodes));
			nodes++;
		} else {
			rc = nodetool_fail_unexpected(&c, i);
		}
		nodetool_cols_release(&t);
		if (rc < 0)
			goto out;
	}
	rc = -1;
	if (nodes == 0) {
		nodetool_fail_all(&c, "no node rows in output");
		goto out;
	}
	rc = 0;
out:
	nodetool_ctx_release(&c);
	if (rc < 0) {
		nodetool_status_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

static const char *status_word(char st)
{
	return st == 'U' ? "up" : st == 'D' ? "down" : "unknown";
}

static const char *state_word(char st)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(state_names); i++)
		if (state_names[i][0][0] == st)
			return state_names[i][1];
	return "unknown";
}

json_t *nodetool_status_json(const struct nodetool_status *s)
{
	json_t *o = json_object(), *dcs = json_array();
	size_t i, k;

	if (s == NULL)
		return o;
	for (i = 0; i < s->n_dcs; i++) {
		const struct nodetool_status_dc *dc = &s->dcs[i];
		json_t *d = json_object(), *nodes = json_array();

		nodetool_jset(d, "name", nodetool_jstr(dc->name));
		for (k = 0; k < dc->n_nodes; k++) {
			const struct nodetool_status_node *n = &dc->nodes[k];
			json_t *j = json_object();

			nodetool_jset(j, "status", json_string(status_word(n->status)));
			nodetool_jset(j, "state", json_string(state_word(n->state)));
			nodetool_jset(j, "address", nodetool_jstr(n->address));
			nodetool_jset(j, "load_bytes", nodetool_jcount(n->load_bytes));
			nodetool_jset(j, "tokens", nodetool_jcount(n->tokens));
			if (n->token != NULL)
				nodetool_jset(j, "token", nodetool_jstr(n->token));
			nodetool_jset(j, "owns_pct", nodetool_jreal(n->owns_pct));
			nodetool_jset(j, "host_id", nodetool_jstr(n->host_id));
			nodetool_jset(j, "rack", nodetool_jstr(n->rack));
			json_array_append_new(nodes, j);
		}
		nodetool_jset(d, "nodes", nodes);
		json_array_append_new(dcs, d);
	}
	nodetool_jset(o, "datacenters", dcs);
	nodetool_jset(o, "owns_effective", json_boolean(s->owns_effective));
	nodetool_jset(o, "note", nodetool_jstr(s->note));
	return o;
}
