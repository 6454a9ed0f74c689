/*
 * autorepair.c - see autorepair.h.  What a type's "enabled" means follows
 * Cassandra's AutoRepairConfig: the scheduler must be on (auto_repair.enabled)
 * and the type's own setting wins over global_settings, which wins over the
 * built-in default (off).  Nothing here changes the node.
 */
#include "autorepair.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/util.h"
#include "agentcfg.h"
#include "ops.h"
#include "proc.h"

/* The types trunk knows (AutoRepairConfig.RepairType's config names). */
static const char *const known_types[] = { "full", "incremental",
	"preview_repaired" };

static bool type_name_valid(const char *s, size_t n)
{
	if (n == 0 || n >= AUTOREPAIR_TYPE_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* The slot for type name[0..n), added when new; NULL when full. */
static struct autorepair_type *type_slot(struct autorepair *ar,
    const char *name, size_t n)
{
	for (size_t i = 0; i < ar->ntypes; i++)
		if (strlen(ar->types[i].name) == n &&
		    strncmp(ar->types[i].name, name, n) == 0)
			return &ar->types[i];
	if (ar->ntypes == AUTOREPAIR_MAX_TYPES)
		return NULL;
	memcpy(ar->types[ar->ntypes].name, name, n);
	ar->types[ar->ntypes].name[n] = '\0';
	ar->types[ar->ntypes].enabled = false;
	return &ar->types[ar->ntypes++];
}

bool autorepair_type_enabled(const struct autorepair *ar, const char *type)
{
	if (!ar->scheduler)
		return false;
	for (size_t i = 0; i < ar->ntypes; i++)
		if (strcmp(ar->types[i].name, type) == 0)
			return ar->types[i].enabled;
	return false;
}

/* ---- nodetool getautorepairconfig ---- */

/* The next line of [*p, end) without its line end, trailing blanks cut. */
static bool next_line(const char **p, const char *end, const char **b,
    size_t *n)
{
	const char *s = *p, *e;

	if (s >= end)
		return false;
	e = memchr(s, '\n', (size_t)(end - s));
	if (e == NULL)
		e = end;
	*p = e < end ? e + 1 : end;
	*b = s;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*n = (size_t)(e - s);
	return true;
}

static bool line_is(const char *b, size_t n, const char *lit)
{
	return strlen(lit) == n && strncmp(b, lit, n) == 0;
}

/* "true"/"false" (Java's Boolean.toString), into *v. */
static int java_bool(const char *b, size_t n, bool *v)
{
	if (line_is(b, n, "true"))
		*v = true;
	else if (line_is(b, n, "false"))
		*v = false;
	else
		return -1;
	return 0;
}

bool autorepair_no_command(const char *out)
{
	/* airline's message for a word that is no command (real 4.1.1:
	 * "nodetool: Found unexpected parameters: [getautorepairconfig]") */
	return out != NULL && strstr(out, "Found unexpected parameters: "
	    "[getautorepairconfig") != NULL;
}

int autorepair_parse_nodetool(const char *out, size_t len,
    struct autorepair *ar, char *err, size_t errlen)
{
	static const char hdr_type[] = "configuration for repair_type: ";
	/* an earlier form of the same command, before the rename */
	static const char hdr_type_old[] = "configuration for repair type: ";
	const char *p = out, *end = out + len, *b;
	struct autorepair_type *cur = NULL;
	bool cur_seen = true, header = false;
	size_t n, lineno = 0;

	memset(ar, 0, sizeof(*ar));
	ar->source = AUTOREPAIR_NODETOOL;
	while (next_line(&p, end, &b, &n)) {
		lineno++;
		if (n == 0)
			continue;
		if (!header) {
			/* JMX warnings may come first; the first line
			 * that is ours decides */
			if (line_is(b, n, "Auto-repair is not enabled") ||
			    line_is(b, n, "AutoRepair is not enabled")) {
				ar->scheduler = false;
				return 0;
			}
			if (line_is(b, n, "repair scheduler configuration:")) {
				header = true;
				ar->scheduler = true;
			}
			continue;
		}
		if ((n > sizeof(hdr_type) - 1 && strncmp(b, hdr_type,
		    sizeof(hdr_type) - 1) == 0) || (n > sizeof(hdr_type_old) - 1 &&
		    strncmp(b, hdr_type_old, sizeof(hdr_type_old) - 1) == 0)) {
			const char *t = b + sizeof(hdr_type) - 1;
			size_t tn = n - (sizeof(hdr_type) - 1);
			char low[AUTOREPAIR_TYPE_LEN];

			if (!cur_seen) {
				snprintf(err, errlen, "nodetool getautorepairconfig: "
				    "repair type '%s' has no 'enabled' line", cur->name);
				return -1;
			}
			/* the older form printed the enum's name (FULL) */
			for (size_t i = 0; i < tn && i < sizeof(low) - 1; i++)
				low[i] = (char)tolower((unsigned char)t[i]);
			if (!type_name_valid(t, tn) && !(tn < sizeof(low) &&
			    type_name_valid(low, tn))) {
				snprintf(err, errlen, "nodetool getautorepairconfig: "
				    "line %zu: '%.*s' is not a repair type", lineno,
				    (int)(tn > 60 ? 60 : tn), t);
				return -1;
			}
			if ((cur = type_slot(ar, low, tn)) == NULL) {
				snprintf(err, errlen, "nodetool getautorepairconfig: "
				    "more than %d repair types", AUTOREPAIR_MAX_TYPES);
				return -1;
			}
			cur_seen = false;
			continue;
		}
		if (cur != NULL && !cur_seen && b[0] == '\t' &&
		    n > 10 && strncmp(b + 1, "enabled: ", 9) == 0) {
			if (java_bool(b + 10, n - 10, &cur->enabled) != 0) {
				snprintf(err, errlen, "nodetool getautorepairconfig: "
				    "line %zu: enabled is '%.*s', not true or false",
				    lineno, (int)(n - 10 > 40 ? 40 : n - 10), b + 10);
				return -1;
			}
			cur_seen = true;
		}
		/* every other setting is the scheduler's business */
	}
	if (!header) {
		snprintf(err, errlen, "nodetool getautorepairconfig printed neither "
		    "'Auto-repair is not enabled' nor 'repair scheduler "
		    "configuration:'");
		return -1;
	}
	if (!cur_seen) {
		snprintf(err, errlen, "nodetool getautorepairconfig: repair type "
		    "'%s' has no 'enabled' line", cur->name);
		return -1;
	}
	if (ar->ntypes == 0) {
		snprintf(err, errlen, "nodetool getautorepairconfig: the scheduler "
		    "is on but no repair type is listed");
		return -1;
	}
	return 0;
}

/* ---- cassandra.yaml ---- */

/* A line split into indent, key and value (comments and blanks skipped). */
struct yline {
	size_t indent;
	const char *key, *val;
	size_t keyn, valn;
	bool dash;			/* a "- item" sequence entry */
};

static bool yaml_line(const char *b, size_t n, struct yline *l)
{
	size_t i = 0, e;
	const char *colon;

	memset(l, 0, sizeof(*l));
	while (i < n && b[i] == ' ')
		i++;
	if (i == n || b[i] == '#')
		return false;
	l->indent = i;
	if (b[i] == '-' && (i + 1 == n || b[i + 1] == ' ')) {
		l->dash = true;
		return true;
	}
	colon = memchr(b + i, ':', n - i);
	if (colon == NULL) {
		l->key = b + i;
		l->keyn = n - i;
		return true;
	}
	l->key = b + i;
	l->keyn = (size_t)(colon - (b + i));
	while (l->keyn > 0 && b[i + l->keyn - 1] == ' ')
		l->keyn--;
	l->val = colon + 1;
	e = n - (size_t)(l->val - b);
	while (e > 0 && (*l->val == ' ' || *l->val == '\t')) {
		l->val++;
		e--;
	}
	/* a comment after the value */
	for (size_t k = 0; k < e; k++) {
		if (l->val[k] == '#' && (k == 0 || l->val[k - 1] == ' ' ||
		    l->val[k - 1] == '\t')) {
			e = k;
			break;
		}
	}
	while (e > 0 && isspace((unsigned char)l->val[e - 1]))
		e--;
	l->valn = e;
	return true;
}

/* YAML 1.1 booleans as SnakeYAML reads them (quotes taken off). */
static int yaml_bool(const char *v, size_t n, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "y" };
	static const char *const no[] = { "false", "no", "off", "n" };

	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v++;
		n -= 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strlen(yes[i]) == n && strncasecmp(v, yes[i], n) == 0) {
			*out = true;
			return 0;
		}
		if (strlen(no[i]) == n && strncasecmp(v, no[i], n) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static bool key_is(const struct yline *l, const char *k)
{
	return l->keyn == strlen(k) && strncmp(l->key, k, l->keyn) == 0;
}

int autorepair_parse_yaml(const char *text, struct autorepair *ar, char *err,
    size_t errlen)
{
	/* where in the block a line is: the path of keys above it */
	enum { TOP, SECTION, GLOBAL, OVERRIDES, TYPE, OTHER } where = TOP;
	size_t lvl_section = 0, lvl_child = 0, lvl_type = 0, lvl_tchild = 0;
	int global = -1;		/* global_settings.enabled, -1 unset */
	int over[AUTOREPAIR_MAX_TYPES];	/* per slot, -1 unset */
	struct autorepair_type *cur = NULL;
	const char *p = text, *end = text + strlen(text), *b;
	size_t n, lineno = 0;
	bool found = false;
	struct yline l;

	memset(ar, 0, sizeof(*ar));
	ar->source = AUTOREPAIR_YAML;
	for (size_t i = 0; i < ARRAY_SIZE(known_types); i++)
		type_slot(ar, known_types[i], strlen(known_types[i]));
	for (size_t i = 0; i < AUTOREPAIR_MAX_TYPES; i++)
		over[i] = -1;
	while (next_line(&p, end, &b, &n)) {
		lineno++;
		if (!yaml_line(b, n, &l))
			continue;
		if (l.indent == 0) {
			where = TOP;		/* a block ends at the next key */
			if (key_is(&l, "auto_repair")) {
				if (found) {
					snprintf(err, errlen, "line %zu: auto_repair "
					    "is given twice", lineno);
					return -1;
				}
				found = true;
				if (l.valn > 0 && !(l.valn == 1 && l.val[0] == '~') &&
				    !(l.valn == 4 && strncmp(l.val, "null", 4) == 0)) {
					snprintf(err, errlen, "line %zu: auto_repair is "
					    "written in flow style ('%.*s'); write it as "
					    "a block, one key per line", lineno,
					    (int)(l.valn > 40 ? 40 : l.valn), l.val);
					return -1;
				}
				where = SECTION;
				lvl_section = 0;
			}
			continue;
		}
		if (where == TOP)
			continue;
		if (l.dash)
			continue;	/* lists (ignore_dcs) are not ours */
		if (lvl_section == 0)
			lvl_section = l.indent;
		if (l.indent < lvl_section) {
			snprintf(err, errlen, "line %zu: indentation inside "
			    "auto_repair is not consistent", lineno);
			return -1;
		}
		if (l.indent == lvl_section) {
			where = SECTION;
			cur = NULL;
			if (key_is(&l, "enabled")) {
				if (yaml_bool(l.val, l.valn, &ar->scheduler) != 0)
					goto badbool;
			} else if (key_is(&l, "global_settings")) {
				where = GLOBAL;
				lvl_child = 0;
			} else if (key_is(&l, "repair_type_overrides")) {
				where = OVERRIDES;
				lvl_type = 0;
			} else {
				where = OTHER;
			}
			continue;
		}
		switch (where) {
		case GLOBAL:
			if (lvl_child == 0)
				lvl_child = l.indent;
			if (l.indent == lvl_child && key_is(&l, "enabled")) {
				bool v;
				if (yaml_bool(l.val, l.valn, &v) != 0)
					goto badbool;
				global = v;
			}
			break;
		case OVERRIDES:
		case TYPE:
			if (lvl_type == 0)
				lvl_type = l.indent;
			if (l.indent == lvl_type) {
				if (!type_name_valid(l.key, l.keyn)) {
					snprintf(err, errlen, "line %zu: '%.*s' in "
					    "repair_type_overrides is not a repair type",
					    lineno, (int)(l.keyn > 40 ? 40 : l.keyn), l.key);
					return -1;
				}
				if ((cur = type_slot(ar, l.key, l.keyn)) == NULL) {
					snprintf(err, errlen, "line %zu: more than %d "
					    "repair types", lineno, AUTOREPAIR_MAX_TYPES);
					return -1;
				}
				where = TYPE;
				lvl_tchild = 0;
				break;
			}
			if (where == TYPE && cur != NULL) {
				if (lvl_tchild == 0)
					lvl_tchild = l.indent;
				if (l.indent == lvl_tchild && key_is(&l, "enabled")) {
					bool v;
					if (yaml_bool(l.val, l.valn, &v) != 0)
						goto badbool;
					over[cur - ar->types] = v;
				}
			}
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < ar->ntypes; i++)
		ar->types[i].enabled = ar->scheduler && (over[i] >= 0 ? over[i] :
		    global >= 0 ? global : 0);
	return 0;
badbool:
	snprintf(err, errlen, "line %zu: %.*s is '%.*s', not a boolean", lineno,
	    (int)l.keyn, l.key, (int)(l.valn > 40 ? 40 : l.valn), l.val);
	return -1;
}

/* ---- asking the node ---- */

static const char *source_name(enum autorepair_source s)
{
	switch (s) {
	case AUTOREPAIR_NODETOOL:
		return "nodetool";
	case AUTOREPAIR_NO_COMMAND:
		return "no_command";
	case AUTOREPAIR_YAML:
		return "cassandra.yaml";
	default:
		return "unknown";
	}
}

json_t *autorepair_json(const struct autorepair *ar, const char *error)
{
	json_t *types = json_object(), *en = json_array(), *j;

	for (size_t i = 0; i < ar->ntypes; i++) {
		bool on = ar->scheduler && ar->types[i].enabled;

		json_object_set_new(types, ar->types[i].name, json_boolean(on));
		if (on)
			json_array_append_new(en, json_string(ar->types[i].name));
	}
	j = json_pack("{s:s, s:b, s:o, s:o}", "source", source_name(ar->source),
	    "scheduler", ar->scheduler, "types", types, "enabled", en);
	if (ar->source == AUTOREPAIR_UNKNOWN)
		json_object_set_new(j, "error", json_string(error && *error ?
		    error : "no answer"));
	return j;
}

/* The yaml fallback; -1 with why in err. */
static int probe_yaml(const struct agentcfg *c, struct autorepair *ar,
    char *err, size_t errlen)
{
	char *text, why[300];

	if (c->cassandra_yaml == NULL || *c->cassandra_yaml == '\0') {
		snprintf(err, errlen, "the agent config names no cassandra_yaml "
		    "to read auto_repair from");
		return -1;
	}
	text = file_read_all(c->cassandra_yaml, 4 << 20, NULL);
	if (text == NULL) {
		snprintf(err, errlen, "cannot read '%s': %s", c->cassandra_yaml,
		    strerror(errno));
		return -1;
	}
	if (autorepair_parse_yaml(text, ar, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", c->cassandra_yaml, why);
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

int autorepair_probe(const struct agentcfg *c, const struct proc_opts *base,
    struct autorepair *ar, char *err, size_t errlen)
{
	const char *argv[] = { c->nodetool, "getautorepairconfig", NULL };
	struct proc_opts o;
	struct proc_result r;
	char why[300], nerr[512], yerr[512];
	char *all = NULL;
	int rc = 0;

	memset(ar, 0, sizeof(*ar));
	if (base != NULL)
		o = *base;
	else
		proc_opts_init(&o, 0);
	o.timeout_ms = c->nodetool_timeout_ms;
	o.on_line = NULL;
	memset(&r, 0, sizeof(r));
	if (proc_run(argv, &o, &r, why, sizeof(why)) != 0) {
		snprintf(nerr, sizeof(nerr), "nodetool getautorepairconfig: %s",
		    why);
		goto fallback;
	}
	if (r.cancelled) {
		snprintf(err, errlen, "nodetool getautorepairconfig: cancelled");
		rc = -1;
		goto out;
	}
	all = xasprintf("%s%s", r.out ? r.out : "", r.err ? r.err : "");
	if (r.status != 0 && autorepair_no_command(all)) {
		/* before CEP-37: nothing to run, nothing to ask the yaml
		 * (Cassandra would not start with an auto_repair key) */
		ar->source = AUTOREPAIR_NO_COMMAND;
		goto out;
	}
	if (r.status == 0 && !r.timed_out &&
	    autorepair_parse_nodetool(r.out, r.out_len, ar, nerr,
	    sizeof(nerr)) == 0)
		goto out;
	if (r.status != 0 || r.timed_out) {
		proc_describe(&r, c->nodetool_timeout_ms, why, sizeof(why));
		snprintf(nerr, sizeof(nerr), "nodetool getautorepairconfig %s",
		    why);
	}
fallback:
	if (probe_yaml(c, ar, yerr, sizeof(yerr)) == 0)
		goto out;
	memset(ar, 0, sizeof(*ar));
	ar->source = AUTOREPAIR_UNKNOWN;
	snprintf(err, errlen, "%s; %s", nerr, yerr);
out:
	free(all);
	proc_result_release(&r);
	return rc;
}

int autorepair_op(struct opctx *x, int argc, char **argv)
{
	struct autorepair ar;
	char err[1100];

	err[0] = '\0';
	if (argc > 1)
		return op_result(x, OPEXIT_USAGE, NULL, "autorepair takes no "
		    "arguments, got '%s'", argv[1]);
	if (autorepair_probe(op_conf(x), op_proc_opts(x), &ar, err,
	    sizeof(err)) != 0)
		return op_result(x, OPEXIT_CANCELLED, NULL, "%s", err);
	return op_result(x, OPEXIT_OK, autorepair_json(&ar, err), NULL);
}
