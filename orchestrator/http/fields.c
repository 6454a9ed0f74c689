/*
 * fields.c - request bodies checked against small field tables: every
 * field is typed, required fields must be there and unknown fields are
 * refused, so a typo in a request is an error rather than a silent
 * default; and the words of a path and a query (names, list arguments).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../engine/task.h"
#include "../service/service.h"
#include "api.h"
#include "api_int.h"
#include "auth.h"
#include "metrics.h"

/* ---------- body schemas ---------- */



struct bad {
	bool partial;		/* in: a PATCH body, where no field is required */
	const char *code;
	char msg[384];
};

static bool label_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		    ('0' <= *s && *s <= '9') || *s == '_' || *s == '-' ||
		    *s == '.'))
			return false;
	return true;
}

static const char *type_word(enum ftype t)
{
	switch (t) {
	case F_INT: return "an integer";
	case F_NUMBER: return "a number";
	case F_BOOL: return "true or false";
	case F_OBJECT: return "an object";
	case F_ARRAY: return "an array";
	case F_ANY: return "a value";
	default: return "a string";
	}
}

__attribute__((format(printf, 3, 4)))
static int bad_set(struct bad *b, const char *code, const char *fmt, ...)
{
	va_list ap;
	b->code = code;
	va_start(ap, fmt);
	vsnprintf(b->msg, sizeof(b->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int api_check_fields(json_t *o, const struct field *spec,
    const char *prefix, struct bad *b);

static int check_value(json_t *v, const struct field *f, const char *path,
    struct bad *b)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	int64_t ms;

	switch (f->type) {
	case F_STRING:
	case F_NAME:
	case F_LABEL:
	case F_ADDRESS:
	case F_ENUM:
	case F_DURATION:
	case F_TIME:
		if (s == NULL)
			return bad_set(b, "wrong_type", "field '%s' must be a "
			    "string", path);
		if (json_string_length(v) != strlen(s))
			return bad_set(b, "invalid_value", "field '%s' holds a "
			    "NUL character", path);
		break;
	case F_INT:
		if (!json_is_integer(v))
			return bad_set(b, "wrong_type", "field '%s' must be an "
			    "integer", path);
		if ((double)json_integer_value(v) < f->min ||
		    (double)json_integer_value(v) > f->max)
			return bad_set(b, "invalid_value", "field '%s' must be "
			    "from %.0f to %.0f, got %lld", path, f->min, f->max,
			    (long long)json_integer_value(v));
		return 0;
	case F_NUMBER:
		if (!json_is_number(v))
			return bad_set(b, "wrong_type", "field '%s' must be a "
			    "number", path);
		if (json_number_value(v) < f->min ||
		    json_number_value(v) > f->max)
			return bad_set(b, "invalid_value", "field '%s' must be "
			    "from %g to %g, got %g", path, f->min, f->max,
			    json_number_value(v));
		return 0;
	case F_BOOL:
		if (!json_is_boolean(v))
			return bad_set(b, "wrong_type", "field '%s' must be true "
			    "or false", path);
		return 0;
	case F_OBJECT:
		if (!json_is_object(v))
			return bad_set(b, "wrong_type", "field '%s' must be an "
			    "object", path);
		return f->sub ? api_check_fields(v, f->sub, path, b) : 0;
	case F_ARRAY:
		if (!json_is_array(v))
			return bad_set(b, "wrong_type", "field '%s' must be an "
			    "array", path);
		return 0;
	case F_ANY:
		return 0;
	}
	switch (f->type) {
	case F_STRING:
		if (*s == '\0' || strlen(s) > 4096)
			return bad_set(b, "invalid_value", "field '%s' must be "
			    "1 to 4096 characters", path);
		return 0;
	case F_NAME:
		if (!name_valid(s))
			return bad_set(b, "invalid_name", "field '%s': '%.64s' is "
			    "not a valid name: use 1 to 64 of A-Z a-z 0-9 _ -",
			    path, s);
		return 0;
	case F_LABEL:
		if (!label_valid(s))
			return bad_set(b, "invalid_name", "field '%s': '%.64s' is "
			    "not valid: use 1 to 64 of A-Z a-z 0-9 _ - .", path, s);
		return 0;
	case F_ADDRESS:
		if (!address_valid(s))
			return bad_set(b, "invalid_value", "field '%s': '%.64s' is "
			    "not a host name or IP address", path, s);
		return 0;
	case F_ENUM: {
		char list[256] = "";
		size_t off = 0;
		for (size_t i = 0; f->choices[i]; i++) {
			if (strcmp(s, f->choices[i]) == 0)
				return 0;
			off += (size_t)snprintf(list + off,
			    off < sizeof(list) ? sizeof(list) - off : 0, "%s%s",
			    i ? ", " : "", f->choices[i]);
			if (off >= sizeof(list))
				off = sizeof(list) - 1;
		}
		return bad_set(b, "invalid_value", "field '%s': unknown value "
		    "'%.64s': expected one of %s", path, s, list);
	}
	case F_DURATION:
		if (duration_parse_ms(s, &ms) != 0 || ms < (int64_t)f->min ||
		    ms > (int64_t)f->max)
			return bad_set(b, "invalid_value", "field '%s': '%.64s' is "
			    "not a duration such as 90m, 24h or 7d of at least "
			    "%.0fms", path, s, f->min);
		return 0;
	case F_TIME:
		if (time_parse_rfc3339(s, &ms) != 0)
			return bad_set(b, "invalid_value", "field '%s': '%.64s' is "
			    "not an RFC 3339 UTC time such as "
			    "2026-01-31T03:00:00Z", path, s);
		return 0;
	default:
		return 0;
	}
}

static int api_check_fields(json_t *o, const struct field *spec,
    const char *prefix, struct bad *b)
{
	const char *key;
	json_t *v;
	char path[160];

	json_object_foreach(o, key, v) {
		const struct field *f = spec;
		while (f->name && strcmp(f->name, key) != 0)
			f++;
		snprintf(path, sizeof(path), "%s%s%.64s", prefix ? prefix : "",
		    prefix ? "." : "", key);
		if (f->name == NULL)
			return bad_set(b, "unknown_field", "unknown field '%s'",
			    path);
		if (json_is_null(v) && !f->required)
			continue;	/* null = not given, for optional fields */
		if (check_value(v, f, path, b) != 0)
			return -1;
	}
	for (const struct field *f = spec; f->name && !b->partial; f++) {
		v = json_object_get(o, f->name);
		if (f->required && (v == NULL || json_is_null(v))) {
			snprintf(path, sizeof(path), "%s%s%s", prefix ? prefix : "",
			    prefix ? "." : "", f->name);
			return bad_set(b, "missing_field", "missing field '%s' "
			    "(%s)", path, type_word(f->type));
		}
	}
	return 0;
}

/*
 * Parse the body as a JSON object and check it; answers 400 on failure.
 * partial (PATCH): the same types and ranges, but no field is required.
 */
bool api_body_check(struct call *c, const struct field *spec, bool partial)
{
	json_error_t je;
	struct bad b = { .partial = partial };

	if (c->req->body == NULL) {
		api_reply_error(c, 400, "invalid_json", "a JSON object body is "
		    "required");
		return false;
	}
	c->body = json_loadb(c->req->body, c->req->body_len,
	    JSON_REJECT_DUPLICATES, &je);
	if (c->body == NULL) {
		api_reply_error(c, 400, "invalid_json", "body is not valid JSON: %s "
		    "at line %d column %d", je.text, je.line, je.column);
		return false;
	}
	if (!json_is_object(c->body)) {
		api_reply_error(c, 400, "invalid_json", "body must be a JSON object");
		return false;
	}
	if (api_check_fields(c->body, spec, NULL, &b) != 0) {
		api_reply_error(c, 400, b.code, "%s", b.msg);
		return false;
	}
	return true;
}

bool api_body_ok(struct call *c, const struct field *spec)
{
	return api_body_check(c, spec, false);
}

const char *api_jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

bool api_path_name_ok(struct call *c, const char *what, const char *s)
{
	if (name_valid(s))
		return true;
	api_reply_error(c, 400, "invalid_name", "%s '%.64s' is not a valid name: "
	    "use 1 to 64 of A-Z a-z 0-9 _ -", what, s);
	return false;
}

bool api_list_args(struct call *c, struct svc_list *l)
{
	const char *lim = httpd_query(c->req, "limit");
	l->cursor = httpd_query(c->req, "cursor");
	l->limit = 100;
	if (lim != NULL) {
		char *end;
		long n = strtol(lim, &end, 10);
		if (*lim == '\0' || *end || n < 1 || n > 1000) {
			api_reply_error(c, 400, "invalid_value", "query 'limit' must "
			    "be an integer from 1 to 1000, got '%.32s'", lim);
			return false;
		}
		l->limit = (int)n;
	}
	if (l->cursor != NULL && *l->cursor == '\0')
		l->cursor = NULL;
	return true;
}
