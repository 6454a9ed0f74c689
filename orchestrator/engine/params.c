/*
 * params.c - see params.h.  The checks are the ones the task types used to
 * write each in its own way (names and tables as Cassandra takes them,
 * node addresses, command lines that go on an SSH command line, retention
 * and source objects), now in one place with one wording.
 */
#include "params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/redact.h"
#include "../../common/storeurl.h"
#include "../../common/util.h"

#define MAX_LIST	256		/* items in a list parameter */
#define MAX_STR		1024		/* bytes of a string that goes on a
					   command line */

static const char *const type_names[] = {
	[PT_INT] = "integer", [PT_NUMBER] = "number", [PT_BOOL] = "boolean",
	[PT_NAME] = "name", [PT_NAMES] = "names", [PT_TABLES] = "tables",
	[PT_NAME_OR_NAMES] = "name or names", [PT_ADDRS] = "addresses",
	[PT_ADDR] = "address",
	[PT_COMMAND] = "command", [PT_RETENTION] = "retention",
	[PT_SOURCE] = "source",
	[PT_WORD] = "word", [PT_WORDS] = "words", [PT_OBJECT] = "object",
	[PT_ARRAY] = "array", [PT_TEXT] = "text",
};

const char *params_type_name(enum param_type t)
{
	return (size_t)t < ARRAY_SIZE(type_names) && type_names[t] ?
	    type_names[t] : "value";
}

int params_command_ok(const char *s)
{
	return s != NULL && *s != '\0' && strlen(s) <= MAX_STR &&
	    strpbrk(s, "\n\r;&|`$<>") == NULL;
}

/* "keyspace.table", both names. */
static int table_ok(const char *s)
{
	const char *dot = s ? strchr(s, '.') : NULL;
	char ks[80];

	if (dot == NULL || (size_t)(dot - s) >= sizeof(ks))
		return 0;
	memcpy(ks, s, (size_t)(dot - s));
	ks[dot - s] = '\0';
	return name_valid(ks) && name_valid(dot + 1);
}

/* A node address or host name (util.h's rule, the API's too). */
static int addr_ok(const char *s)
{
	return address_valid(s);
}

/* A value that goes on an agent's command line as one word. */
static int word_ok(const char *s)
{
	return s != NULL && *s != '\0' && strlen(s) <= MAX_STR &&
	    strpbrk(s, " \t\n\r;&|`$<>'\"\\") == NULL;
}

static int check_source(const json_t *v, char *err, size_t errlen)
{
	char norm[STOREURL_MAX] = "";
	const char *k;
	json_t *x;

	if (!json_is_object(v)) {
		snprintf(err, errlen, "params.source must be an object "
		    "{\"cluster\": NAME, \"storage\": URL, \"endpoint\": E, "
		    "\"region\": R}");
		return -1;
	}
	json_object_foreach((json_t *)(uintptr_t)v, k, x) {
		const char *sv = json_string_value(x);
		if (strcmp(k, "cluster") == 0) {
			if (!name_valid(sv)) {
				snprintf(err, errlen, "params.source.cluster must be "
				    "a cluster name (1 to 64 of A-Z a-z 0-9 _ -)");
				return -1;
			}
		} else if (strcmp(k, "storage") == 0) {
			char why[512];

			if (sv == NULL) {
				snprintf(err, errlen, "params.source.storage must be "
				    "s3://bucket/prefix or file:///dir, got (not a "
				    "string)");
				return -1;
			}
			if (storeurl_normalize(sv, norm, why, sizeof(why)) < 0) {
				snprintf(err, errlen, "params.source.storage: %s",
				    why);
				return -1;
			}
			if (!word_ok(norm)) {
				snprintf(err, errlen, "params.source.storage: '%.128s' "
				    "holds shell syntax (; & | $ < >)", norm);
				return -1;
			}
		} else if (strcmp(k, "endpoint") == 0 ||
		    strcmp(k, "region") == 0) {
			if (!word_ok(sv)) {
				snprintf(err, errlen, "params.source.%s must be a "
				    "string without blanks or shell syntax", k);
				return -1;
			}
		} else {
			snprintf(err, errlen, "params.source: unknown key '%s' "
			    "(cluster, storage, endpoint, region)", k);
			return -1;
		}
	}
	if (json_object_get(v, "cluster") == NULL ||
	    json_object_get(v, "storage") == NULL) {
		snprintf(err, errlen, "params.source needs \"cluster\" (the "
		    "cluster the backup was made of) and \"storage\" (its "
		    "storage URL)");
		return -1;
	}
	/* Stored in its normal form, as a cluster's storage.url is. */
	json_object_set_new((json_t *)(uintptr_t)v, "storage",
	    json_string(norm));
	return 0;
}

static int check_retention(const json_t *v, char *err, size_t errlen)
{
	const char *k;
	json_t *x;

	if (!json_is_object(v) || json_object_size(v) == 0) {
		snprintf(err, errlen, "params.retention must be an object "
		    "{\"keep_last\": N, \"keep_days\": D}");
		return -1;
	}
	json_object_foreach((json_t *)(uintptr_t)v, k, x) {
		if (strcmp(k, "keep_last") == 0) {
			if (!json_is_integer(x) || json_integer_value(x) < 1 ||
			    json_integer_value(x) > 100000) {
				snprintf(err, errlen, "params.retention.keep_last "
				    "must be an integer from 1 to 100000");
				return -1;
			}
		} else if (strcmp(k, "keep_days") == 0) {
			if (!json_is_number(x) || json_number_value(x) <= 0 ||
			    json_number_value(x) > 36500) {
				snprintf(err, errlen, "params.retention.keep_days "
				    "must be a number of days above 0");
				return -1;
			}
		} else {
			snprintf(err, errlen, "params.retention: unknown key "
			    "'%s' (keep_last, keep_days)", k);
			return -1;
		}
	}
	return 0;
}

/* Each item of a list parameter. */
static int check_list(const struct param_spec *p, const json_t *v,
    int (*ok)(const char *), const char *what, char *err, size_t errlen)
{
	size_t i, max = p->max > 0 ? (size_t)p->max : MAX_LIST;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) > max) {
		snprintf(err, errlen, "params.%s must be an array of at most "
		    "%zu %s", p->name, max, what);
		return -1;
	}
	json_array_foreach(v, i, e) {
		if (!ok(json_string_value(e))) {
			snprintf(err, errlen, "params.%s[%zu] is not a valid %s",
			    p->name, i, what);
			return -1;
		}
	}
	return 0;
}

static int name_ok(const char *s)
{
	return name_valid(s);
}

static int check_one(const struct param_spec *p, const json_t *v, char *err,
    size_t errlen)
{
	double d;

	switch (p->type) {
	case PT_INT:
		if (!json_is_integer(v) || json_integer_value(v) < p->min ||
		    json_integer_value(v) > p->max) {
			if (p->min == p->max)
				snprintf(err, errlen, "params.%s: only %.0f is "
				    "supported", p->name, p->min);
			else
				snprintf(err, errlen, "params.%s must be an integer "
				    "from %.0f to %.0f", p->name, p->min, p->max);
			return -1;
		}
		return 0;
	case PT_NUMBER:
		d = json_number_value(v);
		if (!json_is_number(v) || isnan(d) || d > p->max || d < p->min ||
		    ((p->flags & PF_MIN_EXCL) && d <= p->min)) {
			snprintf(err, errlen, "params.%s must be a number %s %g "
			    "and at most %g", p->name, (p->flags & PF_MIN_EXCL) ?
			    "above" : "from", p->min, p->max);
			return -1;
		}
		return 0;
	case PT_BOOL:
		if (!json_is_boolean(v)) {
			snprintf(err, errlen, "params.%s must be true or false",
			    p->name);
			return -1;
		}
		return 0;
	case PT_NAME:
		if (!name_valid(json_string_value(v))) {
			snprintf(err, errlen, "params.%s must be a name (1 to 64 "
			    "of A-Z a-z 0-9 _ -)", p->name);
			return -1;
		}
		return 0;
	case PT_NAMES:
		return check_list(p, v, name_ok, "name", err, errlen);
	case PT_TABLES:
		return check_list(p, v, table_ok, "\"keyspace.table\"", err,
		    errlen);
	case PT_ADDRS:
		return check_list(p, v, addr_ok, "node address", err, errlen);
	case PT_ADDR:
		if (!json_is_string(v) || !addr_ok(json_string_value(v))) {
			snprintf(err, errlen, "params.%s must be a node address "
			    "(an IP address or host name)", p->name);
			return -1;
		}
		return 0;
	case PT_NAME_OR_NAMES:
		if (json_is_string(v) && name_valid(json_string_value(v)))
			return 0;
		if (json_is_array(v) && json_array_size(v) >= 1 &&
		    check_list(p, v, name_ok, "name", err, errlen) == 0)
			return 0;
		snprintf(err, errlen, "params.%s must be a name or an array of "
		    "1 to %.0f names (letters, digits, '_')", p->name,
		    p->max > 0 ? p->max : (double)MAX_LIST);
		return -1;
	case PT_COMMAND:
		if (!params_command_ok(json_string_value(v))) {
			snprintf(err, errlen, "params.%s must be a command path and "
			    "arguments without shell syntax", p->name);
			return -1;
		}
		return 0;
	case PT_RETENTION:
		return check_retention(v, err, errlen);
	case PT_SOURCE:
		return check_source(v, err, errlen);
	case PT_WORD:
		if (!json_is_string(v) || !word_ok(json_string_value(v))) {
			snprintf(err, errlen, "params.%s must be one word: no blanks, "
			    "quotes or shell syntax", p->name);
			return -1;
		}
		return 0;
	case PT_WORDS:
		return check_list(p, v, word_ok, "word (no blanks, quotes or shell "
		    "syntax)", err, errlen);
	case PT_OBJECT:
		if (!json_is_object(v)) {
			snprintf(err, errlen, "params.%s must be an object", p->name);
			return -1;
		}
		return 0;
	case PT_TEXT: {
		const char *t = json_string_value(v);
		size_t max = p->max > 0 ? (size_t)p->max : 1024, len;
		bool ok = t != NULL && (len = strlen(t)) >= 1 && len <= max;
		for (const char *c = t; ok && *c; c++)
			ok = (unsigned char)*c >= 0x20 && *c != 0x7f;
		if (!ok) {
			snprintf(err, errlen, "params.%s must be one line of 1 to "
			    "%zu bytes of text, without control characters",
			    p->name, max);
			return -1;
		}
		return 0;
	}
	case PT_ARRAY:
		if (!json_is_array(v) || json_array_size(v) < 1 ||
		    json_array_size(v) > (size_t)p->max) {
			snprintf(err, errlen, "params.%s must be an array of 1 to %g "
			    "items", p->name, p->max);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "params.%s has the wrong type or value", p->name);
	return -1;
}

static const struct param_spec *find(const struct param_spec *spec,
    const char *name)
{
	for (; spec != NULL && spec->name != NULL; spec++)
		if (strcmp(spec->name, name) == 0)
			return spec;
	return NULL;
}

/* What every type takes beside its own table: how the engine runs it. */
static const struct param_spec common_params[] = {
	{ "max_attempts", PT_INT, 1, 20, NULL, NULL, 0,
	  "attempts of each step before the task fails (default: the "
	  "type's, GET /api/v1/task-types)" },
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

const struct param_spec *params_common(void)
{
	return common_params;
}

/*
 * Task params are stored as given and shown to every viewer, in the task
 * and in its schedule: storage credentials have their place in the
 * cluster's secret settings, and something secret-shaped here (an
 * `agent` command with AWS_SECRET_ACCESS_KEY=..., a key id) is refused,
 * naming what it looks like, never the value.
 */
static int no_secrets(const char *text, const char *label, char *err,
    size_t errlen)
{
	char what[96];

	if (!redact_found(text, NULL, 0, what, sizeof(what)))
		return 0;
	snprintf(err, errlen, "%s holds %s, which looks like a secret: task "
	    "params are shown to every viewer; give storage credentials as "
	    "the cluster's settings storage_access_key_id and "
	    "storage_secret_access_key (PATCH /api/v1/clusters/{name}, "
	    "docs/security.md)", label, what);
	return -1;
}

int params_check(const struct param_spec *spec, const char *type,
    json_t *params, char *err, size_t errlen)
{
	const char *key;
	json_t *v, *defaults;

	{
		char *text = json_dumps(params, JSON_COMPACT);
		int rc = no_secrets(text, "a parameter", err, errlen);
		free(text);
		if (rc != 0)
			return -1;
	}

	json_object_foreach(params, key, v) {
		const struct param_spec *p = find(spec, key);
		if (p == NULL)
			p = find(common_params, key);
		if (p == NULL) {
			size_t off = (size_t)snprintf(err, errlen, "unknown "
			    "parameter '%.64s' for %s (allowed:", key, type);
			for (const struct param_spec *q = spec; q && q->name &&
			    off < errlen; q++)
				off += (size_t)snprintf(err + off, errlen - off,
				    "%s %s", q == spec ? "" : ",", q->name);
			for (const struct param_spec *q = common_params;
			    q->name && off < errlen; q++)
				off += (size_t)snprintf(err + off, errlen - off,
				    "%s %s", spec && spec->name ? "," : "",
				    q->name);
			if (off < errlen)
				snprintf(err + off, errlen - off, ")");
			return -1;
		}
		if (check_one(p, v, err, errlen) != 0)
			return -1;
	}
	for (const struct param_spec *p = spec; p && p->name; p++) {
		json_t *g = json_object_get(params, p->name);
		if ((p->flags & PF_REQUIRED) && (g == NULL ||
		    (json_is_array(g) && json_array_size(g) == 0))) {
			snprintf(err, errlen, "%s needs params.%s: %s", type,
			    p->name, p->description ? p->description : "");
			return -1;
		}
	}
	/* Defaults, checked like given values, added only once all is well. */
	defaults = json_object();
	for (const struct param_spec *p = spec; p && p->name; p++) {
		const char *env = p->env ? getenv(p->env) : NULL;
		json_t *d = NULL;
		if (json_object_get(params, p->name) != NULL)
			continue;
		if (env != NULL && *env != '\0' &&
		    no_secrets(env, p->env, err, errlen) != 0) {
			json_decref(defaults);
			return -1;
		}
		if (env != NULL && *env != '\0')
			d = json_string(env);
		else if (p->def != NULL)
			d = json_loads(p->def, JSON_DECODE_ANY, NULL);
		if (d == NULL)
			continue;
		if (check_one(p, d, err, errlen) != 0) {
			if (env != NULL && *env != '\0')
				snprintf(err, errlen, "$%s must be a command path "
				    "and arguments without shell syntax", p->env);
			json_decref(d);
			json_decref(defaults);
			return -1;
		}
		json_object_set_new(defaults, p->name, d);
	}
	json_object_update(params, defaults);
	json_decref(defaults);
	return 0;
}

json_t *params_spec_json(const struct param_spec *spec)
{
	json_t *a = json_array();

	for (const struct param_spec *p = spec; p && p->name; p++) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "name", p->name, "type",
		    params_type_name(p->type), "description",
		    p->description ? p->description : "");
		json_t *d = p->def ? json_loads(p->def, JSON_DECODE_ANY, NULL) :
		    NULL;
		json_object_set_new(o, "default", d ? d : json_null());
		if (p->type == PT_INT || p->type == PT_NUMBER) {
			json_object_set_new(o, "min", p->type == PT_INT ?
			    json_integer((json_int_t)p->min) : json_real(p->min));
			json_object_set_new(o, "max", p->type == PT_INT ?
			    json_integer((json_int_t)p->max) : json_real(p->max));
			if (p->flags & PF_MIN_EXCL)
				json_object_set_new(o, "min_exclusive",
				    json_true());
		}
		if (p->flags & PF_REQUIRED)
			json_object_set_new(o, "required", json_true());
		if (p->env)
			json_object_set_new(o, "env", json_string(p->env));
		json_array_append_new(a, o);
	}
	return a;
}

int64_t params_int(const json_t *params, const char *key, int64_t def)
{
	json_t *v = json_object_get(params, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}
