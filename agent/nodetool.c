/*
 * nodetool.c - parsers for nodetool output (Cassandra 3.11 to 5.0): what
 * every parser shares, and nodetool_error_message().
 *
 * The agent runs nodetool and has only its text to go on, so these parsers
 * are the boundary where untrusted, version-dependent output becomes data.
 * The design:
 *
 *  - The input is copied once and split into lines (struct nodetool_ctx); every
 *    error names the command, the 1-based line and quotes the line.  Bytes
 *    that cannot be nodetool output (NUL, control characters, invalid
 *    UTF-8) fail at once, so later stages and JSON rendering only ever see
 *    clean text.
 *  - Each line is recognised by its leading words and split into columns
 *    on runs of blanks.  Column widths, padding and trailing blanks differ
 *    between versions (4.1 leaves "Rack " with a trailing space), so no
 *    parser looks at character positions.  Sizes take two columns
 *    ("266.06 KiB") or one ("?"), so column counts are computed per row.
 *  - A parser accepts only lines it knows, plus JVM noise that nodetool's
 *    launcher may mix into the output ("Picked up JAVA_TOOL_OPTIONS",
 *    "WARNING: ...").  Anything else fails: random text must not pass as an
 *    empty result, and the output of a failed command never parses.
 *
 * One file per family of commands holds its parsers: nodetool_status.c,
 * nodetool_info.c (info, version), nodetool_cluster.c (describecluster,
 * ring), nodetool_tables.c (listsnapshots, compactionstats, tablestats),
 * nodetool_repair.c; nodetool_cli.c is the debug CLI.  They share the
 * helpers below through nodetool_int.h.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "nodetool.h"
#include "nodetool_int.h"

/* The most bytes of a bad line quoted in an error message. */
#define QUOTE_MAX 72

/* ------------------------------------------------------------------ */
/* Lines, errors, columns                                             */
/* ------------------------------------------------------------------ */

/*
 * Room for element n of arr, zeroed.  The capacity is implied by n (4,
 * then doubling at each power of two), so arrays need no capacity field
 * and a long output still costs O(log n) reallocations.
 */
void *nodetool_grow(void *arr, size_t n, size_t size)
{
	if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
		size_t cap = n == 0 ? 4 : 2 * n;

		if (cap > SIZE_MAX / size)
			abort();
		arr = xrealloc(arr, cap * size);
	}
	memset((char *)arr + n * size, 0, size);
	return arr;
}

/* The line as quoted in errors: at most QUOTE_MAX bytes, bytes outside
 * printable ASCII (and the quote) as \xNN, "..." when cut. */
static void quote_line(const char *line, char *out, size_t size)
{
	size_t o = 0, i;

	for (i = 0; line[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)line[i];
		bool esc = ch < 0x20 || ch == 0x7f || ch >= 0x80 || ch == '\'';

		if (o + (esc ? 4 : 1) > QUOTE_MAX || o + 8 > size) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (esc) {
			snprintf(out + o, size - o, "\\x%02x", ch);
			o += 4;
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
}

/* Fail on line i (0-based): "nodetool CMD: line N: MSG: 'LINE'". */
int nodetool_fail_line(struct nodetool_ctx *c, size_t i, const char *fmt, ...)
{
	char msg[120], q[QUOTE_MAX + 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	quote_line(i < c->n ? c->lines[i] : "", q, sizeof(q));
	err_set(c->err, c->errlen, "nodetool %s: line %zu: %s: '%s'", c->cmd,
	    i + 1, msg, q);
	return -1;
}

/* Fail on the output as a whole (something missing). */
int nodetool_fail_all(struct nodetool_ctx *c, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(c->err, c->errlen, "nodetool %s: %s", c->cmd, msg);
	return -1;
}

/* "Error: " is printed by status and ring for an unknown keyspace. */
bool nodetool_is_error_line(const char *s)
{
	return str_starts_with(s, "error: ") || str_starts_with(s, "nodetool: ") ||
	    strcmp(s, "error:") == 0 || str_starts_with(s, "Error: ");
}

/* A line the parser does not know; say so more precisely when nodetool
 * itself reported a failure. */
int nodetool_fail_unexpected(struct nodetool_ctx *c, size_t i)
{
	if (nodetool_is_error_line(c->lines[i]))
		return nodetool_fail_line(c, i, "nodetool reported an error");
	return nodetool_fail_line(c, i, "unexpected line");
}

/* Length of the UTF-8 sequence at s, or 0 when it is not valid UTF-8. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	size_t n, k;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Where line i of the copy holds a byte nodetool never prints. */
static const char *bad_bytes(const char *line, size_t len)
{
	const unsigned char *s = (const unsigned char *)line;
	size_t i = 0, n;

	while (i < len) {
		if (s[i] == '\0')
			return "NUL byte";
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return "control character";
		n = utf8_len(s + i, len - i);
		if (n == 0)
			return "invalid UTF-8";
		i += n;
	}
	return NULL;
}

void nodetool_ctx_release(struct nodetool_ctx *c)
{
	free(c->copy);
	free(c->lines);
	c->copy = NULL;
	c->lines = NULL;
	c->n = 0;
}

int nodetool_ctx_init(struct nodetool_ctx *c, const char *cmd, const char *buf,
    size_t len, char *err, size_t errlen)
{
	size_t start = 0, i, nonblank = 0;

	memset(c, 0, sizeof(*c));
	c->cmd = cmd;
	c->err = err;
	c->errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (buf == NULL)
		len = 0;
	if (len == SIZE_MAX)
		return nodetool_fail_all(c, "output too large");
	c->copy = xmalloc(len + 1);
	if (len > 0)
		memcpy(c->copy, buf, len);
	c->copy[len] = '\0';
	for (i = 0; i <= len; i++) {
		const char *why;
		size_t end;

		if (i < len && c->copy[i] != '\n')
			continue;
		/* no empty last line for output that ends in a newline */
		if (i == len && start == len)
			break;
		end = i;
		if (end > start && c->copy[end - 1] == '\r')
			end--;
		*APPEND(c->lines, c->n) = c->copy + start;
		why = bad_bytes(c->copy + start, end - start);
		/* cut the line at the bad byte so the quote stays readable */
		c->copy[end] = '\0';
		if (why != NULL) {
			int rc = nodetool_fail_line(c, c->n - 1, "%s", why);

			nodetool_ctx_release(c);
			return rc;
		}
		while (end > start && (c->copy[end - 1] == ' ' ||
		    c->copy[end - 1] == '\t'))
			c->copy[--end] = '\0';
		if (end > start)
			nonblank++;
		start = i + 1;
	}
	if (nonblank == 0) {
		nodetool_ctx_release(c);
		return nodetool_fail_all(c, "empty output");
	}
	return 0;
}

const char *nodetool_skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

bool nodetool_is_blank(const char *s)
{
	return *nodetool_skip_blanks(s) == '\0';
}

/* The first n bytes of s are blanks (or a \r before a newline). */
bool nodetool_is_blank_n(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* JVM and launcher chatter that may precede or follow real output. */
bool nodetool_is_noise(const char *line)
{
	static const char *const prefixes[] = {
		"Picked up JAVA_TOOL_OPTIONS:", "Picked up _JAVA_OPTIONS:",
		"Picked up JDK_JAVA_OPTIONS:", "WARNING: ",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (str_starts_with(line, prefixes[i]))
			return true;
	return false;
}

/* Skip-worthy: blank or noise. */
bool nodetool_is_skippable(const char *line)
{
	return nodetool_is_blank(line) || nodetool_is_noise(line);
}

void nodetool_cols_split(struct nodetool_cols *t, const char *line)
{
	char *p;

	memset(t, 0, sizeof(*t));
	t->store = xstrdup(line);
	p = t->store;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		*APPEND(t->v, t->n) = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
}

void nodetool_cols_release(struct nodetool_cols *t)
{
	free(t->store);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* Join columns [from, to) with single spaces. */
char *nodetool_cols_join(const struct nodetool_cols *t, size_t from, size_t to)
{
	size_t len = 0, i, o = 0;
	char *s;

	for (i = from; i < to; i++)
		len += strlen(t->v[i]) + 1;
	s = xmalloc(len + 1);
	for (i = from; i < to; i++) {
		size_t l = strlen(t->v[i]);

		if (i > from)
			s[o++] = ' ';
		memcpy(s + o, t->v[i], l);
		o += l;
	}
	s[o] = '\0';
	return s;
}

/* A copy of s without leading and trailing blanks. */
char *nodetool_dup_trim(const char *s)
{
	const char *e;

	s = nodetool_skip_blanks(s);
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return xstrndup(s, (size_t)(e - s));
}

/* ------------------------------------------------------------------ */
/* Numbers                                                            */
/* ------------------------------------------------------------------ */

/* A decimal integer, optionally negative, that fits int64_t. */
bool nodetool_parse_i64(const char *s, int64_t *out)
{
	const char *p = s;
	char *end;
	long long v;

	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

bool nodetool_parse_count(const char *s, int64_t *out)
{
	return nodetool_parse_i64(s, out) && *out >= 0;
}

bool nodetool_parse_int(const char *s, int *out)
{
	int64_t v;

	if (!nodetool_parse_count(s, &v) || v > INT_MAX)
		return false;
	*out = (int)v;
	return true;
}

/*
 * A plain decimal, "433.66" or "0,5" (Java formats with the JVM's locale),
 * with at most 30 digits so that strtod never sees exponents, hex, "inf".
 */
bool nodetool_parse_decimal(const char *s, double *out)
{
	char tmp[40];
	size_t i, len = strlen(s), digits = 0;
	bool dot = false;

	if (len == 0 || len >= sizeof(tmp))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			digits++;
			tmp[i] = s[i];
		} else if ((s[i] == '.' || s[i] == ',') && !dot && i > 0 &&
		    i + 1 < len) {
			dot = true;
			tmp[i] = '.';
		} else {
			return false;
		}
	}
	tmp[len] = '\0';
	if (digits == 0)
		return false;
	*out = strtod(tmp, NULL);
	return isfinite(*out);
}

/* "100.0%" -> 100.0 */
bool nodetool_parse_pct(const char *s, double *out)
{
	size_t len = strlen(s);
	char tmp[40];

	if (len < 2 || len >= sizeof(tmp) || s[len - 1] != '%')
		return false;
	memcpy(tmp, s, len - 1);
	tmp[len - 1] = '\0';
	return nodetool_parse_decimal(tmp, out) && *out <= 100.0 + 1e-9;
}

/* "?" or a percentage; the unknown case becomes NODETOOL_UNKNOWN. */
bool nodetool_parse_owns(const char *s, double *out)
{
	if (strcmp(s, "?") == 0) {
		*out = NODETOOL_UNKNOWN;
		return true;
	}
	return nodetool_parse_pct(s, out);
}

bool nodetool_parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "true") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0)
		*out = false;
	else
		return false;
	return true;
}

/* Number and unit columns of a size ("433.66", "KiB") into bytes. */
bool nodetool_size_from(const char *num, const char *unit, int64_t *out)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = {
		{ "bytes", 1.0 }, { "B", 1.0 },
		{ "KiB", 1024.0 }, { "KB", 1024.0 },
		{ "MiB", 1048576.0 }, { "MB", 1048576.0 },
		{ "GiB", 1073741824.0 }, { "GB", 1073741824.0 },
		{ "TiB", 1099511627776.0 }, { "TB", 1099511627776.0 },
		{ "PiB", 1125899906842624.0 }, { "PB", 1125899906842624.0 },
	};
	double v, b;
	size_t i;

	if (!nodetool_parse_decimal(num, &v))
		return false;
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(unit, units[i].unit) != 0)
			continue;
		b = v * units[i].mult;
		/* 2^63 is exactly representable; anything at or past it overflows */
		if (!(b < 9223372036854775808.0))
			return false;
		*out = (int64_t)llround(b);
		return true;
	}
	return false;
}

int nodetool_parse_size(const char *s, int64_t *bytes)
{
	struct nodetool_cols t;
	bool ok;

	if (s == NULL || bytes == NULL)
		return -1;
	nodetool_cols_split(&t, s);
	if (t.n == 1 && strcmp(t.v[0], "?") == 0) {
		*bytes = NODETOOL_UNKNOWN;
		ok = true;
	} else {
		ok = t.n == 2 && nodetool_size_from(t.v[0], t.v[1], bytes);
	}
	nodetool_cols_release(&t);
	return ok ? 0 : -1;
}

/*
 * The size starting at column *i: "?" takes one column, "N unit" two.
 * Advances *i past it.
 */
bool nodetool_take_size(const struct nodetool_cols *t, size_t *i, int64_t *out)
{
	if (*i >= t->n)
		return false;
	if (strcmp(t->v[*i], "?") == 0) {
		*out = NODETOOL_UNKNOWN;
		(*i)++;
		return true;
	}
	if (*i + 1 >= t->n || !nodetool_size_from(t->v[*i], t->v[*i + 1], out))
		return false;
	*i += 2;
	return true;
}

/* "[a, b]" -> {"a", "b"}; "[]" -> nothing. */
bool nodetool_parse_list(const char *s, char ***out, size_t *n)
{
	size_t len = strlen(s);
	char *inner, *p, *item;
	bool ok = true;

	if (len < 2 || s[0] != '[' || s[len - 1] != ']')
		return false;
	inner = xstrndup(s + 1, len - 2);
	if (nodetool_is_blank(inner)) {
		free(inner);
		return true;
	}
	p = inner;
	while (ok && (item = strsep(&p, ",")) != NULL) {
		char *v = nodetool_dup_trim(item);

		if (*v == '\0' || strchr(v, ' ') != NULL) {
			free(v);
			ok = false;
			break;
		}
		*APPEND(*out, *n) = v;
	}
	free(inner);
	return ok;
}

void nodetool_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

void nodetool_kv_free(struct nodetool_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; kv != NULL && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void nodetool_kv_add(struct nodetool_kv **kv, size_t *n, const char *key,
    const char *value)
{
	struct nodetool_kv *e = APPEND(*kv, *n);

	e->key = nodetool_dup_trim(key);
	e->value = nodetool_dup_trim(value);
}

/* "Label   : value" split at the first colon; false when there is none. */
bool nodetool_split_label(const char *line, char **label, char **value)
{
	const char *colon = strchr(line, ':');
	char *l;

	if (colon == NULL)
		return false;
	l = xstrndup(line, (size_t)(colon - line));
	*label = nodetool_dup_trim(l);
	free(l);
	*value = nodetool_dup_trim(colon + 1);
	if (**label == '\0') {
		/* Callers free what a true answer hands over and nothing
		 * else; leaving these set made ":" a double free. */
		free(*label);
		free(*value);
		*label = *value = NULL;
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* JSON helpers                                                       */
/* ------------------------------------------------------------------ */

json_t *nodetool_jstr(const char *s)
{
	json_t *j = s != NULL ? json_string(s) : NULL;

	return j != NULL ? j : json_null();
}

/* Counts and sizes: NODETOOL_UNKNOWN (any negative) is null. */
json_t *nodetool_jcount(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

json_t *nodetool_jreal(double v)
{
	json_t *j = v < 0 || !isfinite(v) ? NULL : json_real(v);

	return j != NULL ? j : json_null();
}

void nodetool_jset(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v != NULL ? v : json_null());
}

json_t *nodetool_jstrv(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		json_array_append_new(a, nodetool_jstr(v[i]));
	return a;
}

/* Pairs as an object; a repeated key keeps its last value. */
json_t *nodetool_jkv(const struct nodetool_kv *kv, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; kv != NULL && i < n; i++)
		if (kv[i].key != NULL)
			nodetool_jset(o, kv[i].key, nodetool_jstr(kv[i].value));
	return o;
}


/* ------------------------------------------------------------------ */
/* errors                                                             */
/* ------------------------------------------------------------------ */

char *nodetool_error_message(const char *output, enum nodetool_error_kind *kind)
{
	const char *l = output;
	bool first = true;

	if (kind != NULL)
		*kind = NODETOOL_ERROR_NONE;
	while (l != NULL && *l != '\0') {
		const char *end = strchr(l, '\n'), *msg = NULL;
		enum nodetool_error_kind k = NODETOOL_ERROR_NONE;

		if (end == NULL)
			end = l + strlen(l);
		if (str_starts_with(l, "error:")) {
			msg = l + strlen("error:");
			k = NODETOOL_ERROR_SERVER;
		} else if (str_starts_with(l, "nodetool: ")) {
			msg = l + strlen("nodetool: ");
			k = NODETOOL_ERROR_USAGE;
		} else if (first && str_starts_with(l, "Error: ")) {
			/*
			 * status and ring print "\nError: <msg>" and exit 1 for
			 * a bad keyspace; describecluster prints an "Error: "
			 * line too, but never first, and carries on.
			 */
			msg = l + strlen("Error: ");
			k = NODETOOL_ERROR_USAGE;
		}
		if (msg != NULL) {
			char *m = xstrndup(msg, (size_t)(end - msg));

			str_trim(m);
			if (kind != NULL)
				*kind = k;
			return m;
		}
		if (!nodetool_is_blank_n(l, (size_t)(end - l)))
			first = false;
		l = *end == '\n' ? end + 1 : NULL;
	}
	return NULL;
}