/*
 * nodetool.c - parsers for nodetool output (Cassandra 3.11 to 5.0).
 *
 * The agent runs nodetool and has only its text to go on, so these parsers
 * are the boundary where untrusted, version-dependent output becomes data.
 * The design:
 *
 *  - The input is copied once and split into lines (struct ctx); every
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

/* The most bytes of a bad line quoted in an error message. */
#define QUOTE_MAX 72
/* The largest output nodetool_parse_cli() reads from stdin. */
#define CLI_INPUT_MAX (64u << 20)

/* ------------------------------------------------------------------ */
/* Lines, errors, columns                                             */
/* ------------------------------------------------------------------ */

struct ctx {
	const char *cmd;
	char *err;
	size_t errlen;
	char *copy;    /* the input, NUL at each line end */
	char **lines;  /* trailing blanks and \r removed */
	size_t n;
};

/*
 * Room for element n of arr, zeroed.  The capacity is implied by n (4,
 * then doubling at each power of two), so arrays need no capacity field
 * and a long output still costs O(log n) reallocations.
 */
static void *grow(void *arr, size_t n, size_t size)
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

/* Append a zeroed element to arr (of n elements) and point at it. */
#define APPEND(arr, n) \
	((arr) = grow((arr), (n), sizeof(*(arr))), &(arr)[(n)++])

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
static int fail_line(struct ctx *c, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_line(struct ctx *c, size_t i, const char *fmt, ...)
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
static int fail_all(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail_all(struct ctx *c, const char *fmt, ...)
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
static bool is_error_line(const char *s)
{
	return str_starts_with(s, "error: ") || str_starts_with(s, "nodetool: ") ||
	    strcmp(s, "error:") == 0 || str_starts_with(s, "Error: ");
}

/* A line the parser does not know; say so more precisely when nodetool
 * itself reported a failure. */
static int fail_unexpected(struct ctx *c, size_t i)
{
	if (is_error_line(c->lines[i]))
		return fail_line(c, i, "nodetool reported an error");
	return fail_line(c, i, "unexpected line");
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

static void ctx_release(struct ctx *c)
{
	free(c->copy);
	free(c->lines);
	c->copy = NULL;
	c->lines = NULL;
	c->n = 0;
}

static int ctx_init(struct ctx *c, const char *cmd, const char *buf,
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
		return fail_all(c, "output too large");
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
			int rc = fail_line(c, c->n - 1, "%s", why);

			ctx_release(c);
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
		ctx_release(c);
		return fail_all(c, "empty output");
	}
	return 0;
}

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static bool is_blank(const char *s)
{
	return *skip_blanks(s) == '\0';
}

/* The first n bytes of s are blanks (or a \r before a newline). */
static bool is_blank_n(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* JVM and launcher chatter that may precede or follow real output. */
static bool is_noise(const char *line)
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
static bool is_skippable(const char *line)
{
	return is_blank(line) || is_noise(line);
}

/* The columns of one line: words split on runs of blanks. */
struct cols {
	char *store;
	char **v;
	size_t n;
};

static void cols_split(struct cols *t, const char *line)
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

static void cols_release(struct cols *t)
{
	free(t->store);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* Join columns [from, to) with single spaces. */
static char *cols_join(const struct cols *t, size_t from, size_t to)
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
static char *dup_trim(const char *s)
{
	const char *e;

	s = skip_blanks(s);
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return xstrndup(s, (size_t)(e - s));
}

/* ------------------------------------------------------------------ */
/* Numbers                                                            */
/* ------------------------------------------------------------------ */

/* A decimal integer, optionally negative, that fits int64_t. */
static bool parse_i64(const char *s, int64_t *out)
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

static bool parse_count(const char *s, int64_t *out)
{
	return parse_i64(s, out) && *out >= 0;
}

static bool parse_int(const char *s, int *out)
{
	int64_t v;

	if (!parse_count(s, &v) || v > INT_MAX)
		return false;
	*out = (int)v;
	return true;
}

/*
 * A plain decimal, "433.66" or "0,5" (Java formats with the JVM's locale),
 * with at most 30 digits so that strtod never sees exponents, hex, "inf".
 */
static bool parse_decimal(const char *s, double *out)
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
static bool parse_pct(const char *s, double *out)
{
	size_t len = strlen(s);
	char tmp[40];

	if (len < 2 || len >= sizeof(tmp) || s[len - 1] != '%')
		return false;
	memcpy(tmp, s, len - 1);
	tmp[len - 1] = '\0';
	return parse_decimal(tmp, out) && *out <= 100.0 + 1e-9;
}

/* "?" or a percentage; the unknown case becomes NODETOOL_UNKNOWN. */
static bool parse_owns(const char *s, double *out)
{
	if (strcmp(s, "?") == 0) {
		*out = NODETOOL_UNKNOWN;
		return true;
	}
	return parse_pct(s, out);
}

static bool parse_bool(const char *s, bool *out)
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
static bool size_from(const char *num, const char *unit, int64_t *out)
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

	if (!parse_decimal(num, &v))
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
	struct cols t;
	bool ok;

	if (s == NULL || bytes == NULL)
		return -1;
	cols_split(&t, s);
	if (t.n == 1 && strcmp(t.v[0], "?") == 0) {
		*bytes = NODETOOL_UNKNOWN;
		ok = true;
	} else {
		ok = t.n == 2 && size_from(t.v[0], t.v[1], bytes);
	}
	cols_release(&t);
	return ok ? 0 : -1;
}

/*
 * The size starting at column *i: "?" takes one column, "N unit" two.
 * Advances *i past it.
 */
static bool take_size(const struct cols *t, size_t *i, int64_t *out)
{
	if (*i >= t->n)
		return false;
	if (strcmp(t->v[*i], "?") == 0) {
		*out = NODETOOL_UNKNOWN;
		(*i)++;
		return true;
	}
	if (*i + 1 >= t->n || !size_from(t->v[*i], t->v[*i + 1], out))
		return false;
	*i += 2;
	return true;
}

/* "[a, b]" -> {"a", "b"}; "[]" -> nothing. */
static bool parse_list(const char *s, char ***out, size_t *n)
{
	size_t len = strlen(s);
	char *inner, *p, *item;
	bool ok = true;

	if (len < 2 || s[0] != '[' || s[len - 1] != ']')
		return false;
	inner = xstrndup(s + 1, len - 2);
	if (is_blank(inner)) {
		free(inner);
		return true;
	}
	p = inner;
	while (ok && (item = strsep(&p, ",")) != NULL) {
		char *v = dup_trim(item);

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

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

static void kv_free(struct nodetool_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; kv != NULL && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void kv_add(struct nodetool_kv **kv, size_t *n, const char *key,
    const char *value)
{
	struct nodetool_kv *e = APPEND(*kv, *n);

	e->key = dup_trim(key);
	e->value = dup_trim(value);
}

/* "Label   : value" split at the first colon; false when there is none. */
static bool split_label(const char *line, char **label, char **value)
{
	const char *colon = strchr(line, ':');
	char *l;

	if (colon == NULL)
		return false;
	l = xstrndup(line, (size_t)(colon - line));
	*label = dup_trim(l);
	free(l);
	*value = dup_trim(colon + 1);
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

static json_t *jstr(const char *s)
{
	json_t *j = s != NULL ? json_string(s) : NULL;

	return j != NULL ? j : json_null();
}

/* Counts and sizes: NODETOOL_UNKNOWN (any negative) is null. */
static json_t *jcount(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *jreal(double v)
{
	json_t *j = v < 0 || !isfinite(v) ? NULL : json_real(v);

	return j != NULL ? j : json_null();
}

static void jset(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v != NULL ? v : json_null());
}

static json_t *jstrv(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		json_array_append_new(a, jstr(v[i]));
	return a;
}

/* Pairs as an object; a repeated key keeps its last value. */
static json_t *jkv(const struct nodetool_kv *kv, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; kv != NULL && i < n; i++)
		if (kv[i].key != NULL)
			jset(o, kv[i].key, jstr(kv[i].value));
	return o;
}

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

static bool is_status_row(const struct cols *t)
{
	const char *s;

	if (t->n == 0 || strlen(t->v[0]) != 2)
		return false;
	s = t->v[0];
	return strchr("UD?", s[0]) != NULL && strchr("NLJM", s[1]) != NULL;
}

static int status_header(struct ctx *c, size_t li, const struct cols *t,
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
			return fail_line(c, li, "unknown column '%s'", w);
		}
		if (seen & (1u << col))
			return fail_line(c, li, "column '%s' twice", w);
		seen |= 1u << col;
		lay->col[lay->n++] = col;
	}
	if (!(seen & (1u << SC_ADDRESS)) || !(seen & (1u << SC_LOAD)) ||
	    !(seen & (1u << SC_OWNS)))
		return fail_line(c, li, "header lacks Address, Load or Owns");
	return 0;
}

static int status_row(struct ctx *c, size_t li, const struct cols *t,
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
		return fail_line(c, li, "expected %zu columns, got %zu",
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
			if (!take_size(t, &i, &node->load_bytes))
				return fail_line(c, li, "bad load '%s'", w);
			ci = i;
			break;
		case SC_TOKENS:
			if (!parse_int(w, &node->tokens))
				return fail_line(c, li, "bad token count '%s'", w);
			ci++;
			break;
		case SC_TOKEN:
			node->token = xstrdup(w);
			node->tokens = 1;
			ci++;
			break;
		case SC_OWNS:
			if (!parse_owns(w, &node->owns_pct))
				return fail_line(c, li, "bad ownership '%s'", w);
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
	struct ctx c;
	struct nodetool_status *s;
	struct nodetool_status_dc *dc = NULL;
	struct status_layout lay = status_default_layout;
	size_t i, nodes = 0;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || ctx_init(&c, "status", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	for (i = 0; i < c.n; i++) {
		const char *line = c.lines[i];
		const char *l = skip_blanks(line);
		struct cols t;

		if (is_skippable(line))
			continue;
		if (str_starts_with(l, "Datacenter:")) {
			char *name = dup_trim(l + strlen("Datacenter:"));

			if (*name == '\0') {
				free(name);
				fail_line(&c, i, "datacenter without a name");
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
			s->note = dup_trim(l + strlen("Note:"));
			continue;
		}
		cols_split(&t, l);
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
			rc = fail_unexpected(&c, i);
		}
		cols_release(&t);
		if (rc < 0)
			goto out;
	}
	rc = -1;
	if (nodes == 0) {
		fail_all(&c, "no node rows in output");
		goto out;
	}
	rc = 0;
out:
	ctx_release(&c);
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

		jset(d, "name", jstr(dc->name));
		for (k = 0; k < dc->n_nodes; k++) {
			const struct nodetool_status_node *n = &dc->nodes[k];
			json_t *j = json_object();

			jset(j, "status", json_string(status_word(n->status)));
			jset(j, "state", json_string(state_word(n->state)));
			jset(j, "address", jstr(n->address));
			jset(j, "load_bytes", jcount(n->load_bytes));
			jset(j, "tokens", jcount(n->tokens));
			if (n->token != NULL)
				jset(j, "token", jstr(n->token));
			jset(j, "owns_pct", jreal(n->owns_pct));
			jset(j, "host_id", jstr(n->host_id));
			jset(j, "rack", jstr(n->rack));
			json_array_append_new(nodes, j);
		}
		jset(d, "nodes", nodes);
		json_array_append_new(dcs, d);
	}
	jset(o, "datacenters", dcs);
	jset(o, "owns_effective", json_boolean(s->owns_effective));
	jset(o, "note", jstr(s->note));
	return o;
}

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
	struct cols t;
	bool ok;

	cols_split(&t, v);
	ok = t.n == 3 && strcmp(t.v[1], "/") == 0 &&
	    parse_decimal(t.v[0], used) && parse_decimal(t.v[2], max);
	cols_release(&t);
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
	ok = parse_int(num, count);
	free(num);
	return ok;
}

static int info_value(struct ctx *c, size_t li, struct nodetool_info *s,
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
		if (!parse_bool(v, &s->gossip_active))
			break;
		return 0;
	case IF_THRIFT:
		if (!parse_bool(v, &b))
			break;
		s->thrift_active = b;
		return 0;
	case IF_NATIVE:
		if (!parse_bool(v, &s->native_transport_active))
			break;
		return 0;
	case IF_LOAD:
		if (nodetool_parse_size(v, &s->load_bytes) < 0)
			break;
		return 0;
	case IF_GENERATION:
		if (!parse_count(v, &s->generation))
			break;
		return 0;
	case IF_UPTIME:
		if (!parse_count(v, &s->uptime_s))
			break;
		return 0;
	case IF_HEAP:
		if (!info_heap(v, &s->heap_used_mb, &s->heap_max_mb))
			break;
		return 0;
	case IF_OFFHEAP:
		if (!parse_decimal(v, &s->off_heap_mb))
			break;
		return 0;
	case IF_DC:
		s->datacenter = xstrdup(v);
		return 0;
	case IF_RACK:
		s->rack = xstrdup(v);
		return 0;
	case IF_EXCEPTIONS:
		if (!parse_count(v, &s->exceptions))
			break;
		return 0;
	case IF_REPAIRED:
		/* NaN% when there is no data to repair */
		if (strcmp(v, "NaN%") == 0)
			return 0;
		if (!parse_pct(v, &s->percent_repaired))
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
	return fail_line(c, li, "bad value for '%s'", label);
}

void nodetool_info_free(struct nodetool_info *s)
{
	if (s == NULL)
		return;
	free(s->id);
	free(s->datacenter);
	free(s->rack);
	strv_free(s->tokens, s->n_tokens);
	kv_free(s->other, s->n_other);
	free(s);
}

int nodetool_parse_info(const char *buf, size_t len,
    struct nodetool_info **out, char *err, size_t errlen)
{
	struct ctx c;
	struct nodetool_info *s;
	bool seen[IF_N] = { false };
	size_t i, k;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || ctx_init(&c, "info", buf, len, err, errlen) < 0)
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

		if (is_skippable(c.lines[i]))
			continue;
		if (is_error_line(c.lines[i]) ||
		    !split_label(c.lines[i], &label, &value)) {
			rc = fail_unexpected(&c, i);
			goto out;
		}
		for (k = 0; k < ARRAY_SIZE(info_labels); k++)
			if (strcmp(label, info_labels[k].label) == 0)
				break;
		if (k == ARRAY_SIZE(info_labels)) {
			kv_add(&s->other, &s->n_other, label, value);
			rc = 0;
		} else if (seen[info_labels[k].field] &&
		    info_labels[k].field != IF_TOKEN) {
			rc = fail_line(&c, i, "'%s' twice", label);
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
			fail_all(&c, "no '%s' line in output",
			    info_labels[k].label);
			goto out;
		}
	}
	rc = 0;
out:
	ctx_release(&c);
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
	jset(o, "id", jstr(s->id));
	jset(o, "gossip_active", json_boolean(s->gossip_active));
	jset(o, "thrift_active", s->thrift_active < 0 ? json_null() :
	    json_boolean(s->thrift_active));
	jset(o, "native_transport_active",
	    json_boolean(s->native_transport_active));
	jset(o, "load_bytes", jcount(s->load_bytes));
	jset(o, "generation", jcount(s->generation));
	jset(o, "uptime_s", jcount(s->uptime_s));
	jset(o, "heap_used_mb", jreal(s->heap_used_mb));
	jset(o, "heap_max_mb", jreal(s->heap_max_mb));
	jset(o, "off_heap_mb", jreal(s->off_heap_mb));
	jset(o, "datacenter", jstr(s->datacenter));
	jset(o, "rack", jstr(s->rack));
	jset(o, "exceptions", jcount(s->exceptions));
	jset(o, "percent_repaired", jreal(s->percent_repaired));
	jset(o, "joined", json_boolean(s->joined));
	jset(o, "token_count", jcount(s->token_count));
	jset(o, "tokens", jstrv(s->tokens, s->n_tokens));
	jset(o, "other", jkv(s->other, s->n_other));
	return o;
}

/* ------------------------------------------------------------------ */
/* describecluster                                                    */
/* ------------------------------------------------------------------ */

enum dc_section {
	DS_NONE, DS_CLUSTER, DS_SCHEMA, DS_STATS, DS_DCS, DS_DBVERSIONS,
	DS_KEYSPACES,
};

/* "key: [a, b]" */
static bool endpoints_line(const char *l, struct nodetool_endpoints *e)
{
	const char *sep = strstr(l, ": [");

	if (sep == NULL || sep == l)
		return false;
	e->key = xstrndup(l, (size_t)(sep - l));
	if (strchr(e->key, ' ') != NULL)
		return false;
	return parse_list(sep + 2, &e->endpoints, &e->n_endpoints);
}

static void endpoints_free(struct nodetool_endpoints *e, size_t n)
{
	size_t i;

	for (i = 0; e != NULL && i < n; i++) {
		free(e[i].key);
		strv_free(e[i].endpoints, e[i].n_endpoints);
	}
	free(e);
}

/* "datacenter1 #Nodes: 2 #Down: 0" */
static bool cluster_dc_line(const char *l, struct nodetool_cluster_dc *dc)
{
	struct cols t;
	bool ok;

	cols_split(&t, l);
	ok = t.n >= 5 && strcmp(t.v[t.n - 4], "#Nodes:") == 0 &&
	    strcmp(t.v[t.n - 2], "#Down:") == 0 &&
	    parse_count(t.v[t.n - 3], &dc->nodes) &&
	    parse_count(t.v[t.n - 1], &dc->down_reported);
	if (ok)
		dc->name = cols_join(&t, 0, t.n - 4);
	cols_release(&t);
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
	if (!is_blank(opts)) {
		while ((item = strsep(&p, ",")) != NULL) {
			char *eq = strchr(item, '=');

			if (eq == NULL) {
				free(opts);
				return false;
			}
			*eq = '\0';
			kv_add(&ks->options, &ks->n_options, item, eq + 1);
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
	strv_free(s->unreachable, s->n_unreachable);
	free(s->ownership_error);
	for (i = 0; i < s->n_dcs; i++)
		free(s->dcs[i].name);
	free(s->dcs);
	endpoints_free(s->db_versions, s->n_db_versions);
	for (i = 0; i < s->n_keyspaces; i++) {
		free(s->keyspaces[i].name);
		free(s->keyspaces[i].replication_class);
		kv_free(s->keyspaces[i].options, s->keyspaces[i].n_options);
	}
	free(s->keyspaces);
	free(s);
}

static bool stat_line(const char *l, const char *label, int64_t *v)
{
	size_t n = strlen(label);

	return strncmp(l, label, n) == 0 && l[n] == ':' &&
	    parse_count(skip_blanks(l + n + 1), v);
}

static int describecluster_line(struct ctx *c, size_t i,
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
			return fail_line(c, i, "second cluster section");
		if (headers[k].sec != DS_CLUSTER && *sec == DS_NONE)
			return fail_line(c, i, "section before 'Cluster Information:'");
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
				return fail_line(c, i, "field twice");
			*f = dup_trim(l + strlen(cluster_fields[k].label));
			return 0;
		}
		break;
	case DS_SCHEMA: {
		struct nodetool_endpoints e = { NULL, NULL, 0 };

		if (!endpoints_line(l, &e)) {
			free(e.key);
			strv_free(e.endpoints, e.n_endpoints);
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
			s->ownership_error = dup_trim(strchr(l, ':') + 1);
			return 0;
		}
		break;
	case DS_DCS: {
		struct nodetool_cluster_dc dc = { NULL, 0, 0 };

		if (str_starts_with(l, "Error: ") || str_starts_with(l, "Note: ")) {
			free(s->ownership_error);
			s->ownership_error = dup_trim(strchr(l, ':') + 1);
			return 0;
		}
		if (!cluster_dc_line(l, &dc))
			break;
		*APPEND(s->dcs, s->n_dcs) = dc;
		return 0;
	}
	case DS_DBVERSIONS: {
		struct nodetool_endpoints e = { NULL, NULL, 0 };

		if (!endpoints_line(l, &e)) {
			free(e.key);
			strv_free(e.endpoints, e.n_endpoints);
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
			kv_free(ks.options, ks.n_options);
			break;
		}
		*APPEND(s->keyspaces, s->n_keyspaces) = ks;
		return 0;
	}
	}
	return fail_unexpected(c, i);
}

int nodetool_parse_describecluster(const char *buf, size_t len,
    struct nodetool_describecluster **out, char *err, size_t errlen)
{
	struct ctx c;
	struct nodetool_describecluster *s;
	enum dc_section sec = DS_NONE;
	bool schema_seen = false;
	size_t i;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL ||
	    ctx_init(&c, "describecluster", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->live = s->joining = s->moving = s->leaving = NODETOOL_UNKNOWN;
	s->unreachable_count = NODETOOL_UNKNOWN;
	for (i = 0; i < c.n && rc == 0; i++) {
		const char *l = skip_blanks(c.lines[i]);

		if (is_skippable(c.lines[i]))
			continue;
		rc = describecluster_line(&c, i, s, &sec, l);
		if (sec == DS_SCHEMA)
			schema_seen = true;
	}
	if (rc == 0 && sec == DS_NONE)
		rc = fail_all(&c, "no 'Cluster Information:' line in output");
	else if (rc == 0 && (s->name == NULL || !schema_seen))
		rc = fail_all(&c, "no cluster name or schema versions in output");
	else if (rc == 0 && s->n_schema_versions == 0)
		rc = fail_all(&c, "no schema version in output");
	ctx_release(&c);
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
		jset(o, e[i].key, jstrv(e[i].endpoints, e[i].n_endpoints));
	return o;
}

json_t *nodetool_describecluster_json(const struct nodetool_describecluster *s)
{
	json_t *o = json_object(), *a;
	size_t i;

	if (s == NULL)
		return o;
	jset(o, "name", jstr(s->name));
	jset(o, "snitch", jstr(s->snitch));
	jset(o, "dynamic_snitch", jstr(s->dynamic_snitch));
	jset(o, "partitioner", jstr(s->partitioner));
	jset(o, "schema_versions",
	    jendpoints(s->schema_versions, s->n_schema_versions));
	jset(o, "unreachable", jstrv(s->unreachable, s->n_unreachable));
	if (!s->has_stats)
		return o;
	jset(o, "stats", json_pack("{s:o,s:o,s:o,s:o,s:o}",
	    "live", jcount(s->live), "joining", jcount(s->joining),
	    "moving", jcount(s->moving), "leaving", jcount(s->leaving),
	    "unreachable", jcount(s->unreachable_count)));
	jset(o, "ownership_error", jstr(s->ownership_error));
	a = json_array();
	for (i = 0; i < s->n_dcs; i++)
		json_array_append_new(a, json_pack("{s:o,s:o,s:o}",
		    "name", jstr(s->dcs[i].name),
		    "nodes", jcount(s->dcs[i].nodes),
		    /* named so that nobody mistakes it for a real count */
		    "down_reported_unreliable",
		    jcount(s->dcs[i].down_reported)));
	jset(o, "datacenters", a);
	jset(o, "database_versions",
	    jendpoints(s->db_versions, s->n_db_versions));
	a = json_array();
	for (i = 0; i < s->n_keyspaces; i++)
		json_array_append_new(a, json_pack("{s:o,s:o,s:o}",
		    "name", jstr(s->keyspaces[i].name),
		    "replication_class", jstr(s->keyspaces[i].replication_class),
		    "options", jkv(s->keyspaces[i].options,
		    s->keyspaces[i].n_options)));
	jset(o, "keyspaces", a);
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

static int ring_row(struct ctx *c, size_t li, const struct cols *t,
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
		return fail_line(c, li, "expected %zu columns, got %zu",
		    expected, t->n);
	if (!one_of(t->v[2], statuses, ARRAY_SIZE(statuses)))
		return fail_line(c, li, "bad status '%s'", t->v[2]);
	if (!one_of(t->v[3], states, ARRAY_SIZE(states)))
		return fail_line(c, li, "bad state '%s'", t->v[3]);
	if (!take_size(t, &i, &e->load_bytes))
		return fail_line(c, li, "bad load '%s'", t->v[4]);
	if (!parse_owns(t->v[i], &e->owns_pct))
		return fail_line(c, li, "bad ownership '%s'", t->v[i]);
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
	struct ctx c;
	struct nodetool_ring *s;
	struct nodetool_ring_dc *dc = NULL;
	bool header_seen = false;
	size_t i, k, entries = 0;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || ctx_init(&c, "ring", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	for (i = 0; i < c.n && rc == 0; i++) {
		const char *l = skip_blanks(c.lines[i]);
		struct cols t;

		if (is_skippable(c.lines[i]) || ring_trailer(l))
			continue;
		if (str_starts_with(l, "Datacenter:")) {
			char *name = dup_trim(l + strlen("Datacenter:"));

			if (*name == '\0') {
				free(name);
				rc = fail_line(&c, i, "datacenter without a name");
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
			rc = fail_unexpected(&c, i);
			break;
		}
		cols_split(&t, l);
		if (strcmp(t.v[0], "Address") == 0) {
			if (t.n != ARRAY_SIZE(header))
				rc = fail_line(&c, i, "expected %zu columns, got %zu",
				    ARRAY_SIZE(header), t.n);
			for (k = 0; rc == 0 && k < t.n; k++)
				if (strcmp(t.v[k], header[k]) != 0)
					rc = fail_line(&c, i, "unknown column '%s'",
					    t.v[k]);
			header_seen = true;
		} else if (!header_seen) {
			rc = fail_unexpected(&c, i);
		} else if (t.n == 1 && dc->n_entries == 0 &&
		    dc->last_token == NULL) {
			dc->last_token = xstrdup(t.v[0]);
		} else {
			rc = ring_row(&c, i, &t,
			    APPEND(dc->entries, dc->n_entries));
			entries++;
		}
		cols_release(&t);
	}
	if (rc == 0 && entries == 0)
		rc = fail_all(&c, "no token rows in output");
	ctx_release(&c);
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

		jset(d, "name", jstr(dc->name));
		jset(d, "last_token", jstr(dc->last_token));
		for (k = 0; k < dc->n_entries; k++) {
			const struct nodetool_ring_entry *e = &dc->entries[k];

			json_array_append_new(a,
			    json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
			    "address", jstr(e->address), "rack", jstr(e->rack),
			    "status", jstr(e->status), "state", jstr(e->state),
			    "load_bytes", jcount(e->load_bytes),
			    "owns_pct", jreal(e->owns_pct),
			    "token", jstr(e->token)));
		}
		jset(d, "entries", a);
		json_array_append_new(dcs, d);
	}
	jset(o, "datacenters", dcs);
	return o;
}

/* ------------------------------------------------------------------ */
/* listsnapshots                                                      */
/* ------------------------------------------------------------------ */

void nodetool_listsnapshots_free(struct nodetool_listsnapshots *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_snapshots; i++) {
		free(s->snapshots[i].name);
		free(s->snapshots[i].keyspace);
		free(s->snapshots[i].table);
		free(s->snapshots[i].created);
		free(s->snapshots[i].expires);
	}
	free(s->snapshots);
	free(s);
}

static int snapshot_row(struct ctx *c, size_t li, const struct cols *t,
    bool times, struct nodetool_snapshot *e)
{
	size_t i = 3;

	e->true_size_bytes = e->size_on_disk_bytes = NODETOOL_UNKNOWN;
	if (!times && t->n != 7)
		return fail_line(c, li, "expected 7 columns, got %zu", t->n);
	if (times && t->n != 8 && t->n != 9)
		return fail_line(c, li, "expected 8 or 9 columns, got %zu",
		    t->n);
	if (!take_size(t, &i, &e->true_size_bytes))
		return fail_line(c, li, "bad true size '%s'", t->v[3]);
	if (!take_size(t, &i, &e->size_on_disk_bytes))
		return fail_line(c, li, "bad size on disk '%s'", t->v[i]);
	if (i != 7)
		return fail_line(c, li, "expected sizes with units");
	e->name = xstrdup(t->v[0]);
	e->keyspace = xstrdup(t->v[1]);
	e->table = xstrdup(t->v[2]);
	if (times) {
		e->created = xstrdup(t->v[7]);
		if (t->n == 9)
			e->expires = xstrdup(t->v[8]);
	}
	return 0;
}

int nodetool_parse_listsnapshots(const char *buf, size_t len,
    struct nodetool_listsnapshots **out, char *err, size_t errlen)
{
	struct ctx c;
	struct nodetool_listsnapshots *s;
	bool details = false, header = false, none = false;
	size_t i;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL ||
	    ctx_init(&c, "listsnapshots", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->total_true_bytes = NODETOOL_UNKNOWN;
	for (i = 0; i < c.n && rc == 0; i++) {
		const char *l = skip_blanks(c.lines[i]);
		struct cols t;

		if (is_skippable(c.lines[i]))
			continue;
		if (strcmp(l, "Snapshot Details:") == 0 && !details) {
			details = true;
		} else if (strcmp(l, "There are no snapshots") == 0 && !header) {
			none = true;
		} else if (str_starts_with(l, "Total TrueDiskSpaceUsed:") &&
		    (header || none)) {
			if (nodetool_parse_size(l + strlen("Total TrueDiskSpaceUsed:"),
			    &s->total_true_bytes) < 0)
				rc = fail_line(&c, i, "bad total size");
		} else if (str_starts_with(l, "Snapshot name ") && details &&
		    !header && !none) {
			header = true;
			s->has_times = strstr(l, "Creation time") != NULL;
		} else if (header && s->total_true_bytes == NODETOOL_UNKNOWN) {
			cols_split(&t, l);
			rc = snapshot_row(&c, i, &t, s->has_times,
			    APPEND(s->snapshots, s->n_snapshots));
			cols_release(&t);
		} else {
			rc = fail_unexpected(&c, i);
		}
	}
	if (rc == 0 && !header && !none)
		rc = fail_all(&c, "neither a snapshot table nor "
		    "'There are no snapshots' in output");
	ctx_release(&c);
	if (rc < 0) {
		nodetool_listsnapshots_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

json_t *nodetool_listsnapshots_json(const struct nodetool_listsnapshots *s)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;

	if (s == NULL)
		return o;
	for (i = 0; i < s->n_snapshots; i++) {
		const struct nodetool_snapshot *e = &s->snapshots[i];
		json_t *j = json_pack("{s:o,s:o,s:o,s:o,s:o}",
		    "name", jstr(e->name), "keyspace", jstr(e->keyspace),
		    "table", jstr(e->table),
		    "true_size_bytes", jcount(e->true_size_bytes),
		    "size_on_disk_bytes", jcount(e->size_on_disk_bytes));

		if (s->has_times) {
			jset(j, "created", jstr(e->created));
			jset(j, "expires", jstr(e->expires));
		}
		json_array_append_new(a, j);
	}
	jset(o, "snapshots", a);
	jset(o, "has_times", json_boolean(s->has_times));
	jset(o, "total_true_bytes", jcount(s->total_true_bytes));
	return o;
}

/* ------------------------------------------------------------------ */
/* compactionstats                                                    */
/* ------------------------------------------------------------------ */

enum cs_col {
	CC_ID, CC_TYPE, CC_KEYSPACE, CC_TABLE, CC_COMPLETED, CC_TOTAL,
	CC_UNIT, CC_PROGRESS, CC_OTHER,
};

#define CS_MAX_COLS 16

struct cs_layout {
	enum cs_col col[CS_MAX_COLS];
	size_t n;
	bool has_type;
};

static bool cs_header(const struct cols *t, struct cs_layout *lay)
{
	static const struct {
		const char *name;
		enum cs_col col;
	} names[] = {
		{ "id", CC_ID }, { "keyspace", CC_KEYSPACE }, { "table", CC_TABLE },
		{ "completed", CC_COMPLETED }, { "total", CC_TOTAL },
		{ "unit", CC_UNIT }, { "progress", CC_PROGRESS },
	};
	size_t i, k;
	unsigned seen = 0;

	memset(lay, 0, sizeof(*lay));
	for (i = 0; i < t->n; i++) {
		enum cs_col col = CC_OTHER;

		if (lay->n == CS_MAX_COLS)
			return false;
		if (strcmp(t->v[i], "compaction") == 0 && i + 1 < t->n &&
		    strcmp(t->v[i + 1], "type") == 0) {
			col = CC_TYPE;
			lay->has_type = true;
			i++;
		}
		for (k = 0; col == CC_OTHER && k < ARRAY_SIZE(names); k++)
			if (strcmp(t->v[i], names[k].name) == 0)
				col = names[k].col;
		if (col != CC_OTHER && (seen & (1u << col)))
			return false;
		seen |= 1u << col;
		lay->col[lay->n++] = col;
	}
	/* a header names at least these; anything else is not a header */
	return (seen & (1u << CC_KEYSPACE)) && (seen & (1u << CC_TABLE)) &&
	    (seen & (1u << CC_PROGRESS)) && lay->has_type;
}

static int cs_row(struct ctx *c, size_t li, const struct cols *t,
    const struct cs_layout *lay, struct nodetool_compaction *e)
{
	size_t k, ci = 0, extra;

	e->completed = e->total = NODETOOL_UNKNOWN;
	e->progress_pct = NODETOOL_UNKNOWN;
	/* the type is the only column with blanks in it */
	if (t->n < lay->n)
		return fail_line(c, li, "expected %zu columns, got %zu",
		    lay->n, t->n);
	extra = t->n - lay->n;
	for (k = 0; k < lay->n; k++) {
		const char *w = t->v[ci];

		switch (lay->col[k]) {
		case CC_ID:
			e->id = xstrdup(w);
			break;
		case CC_TYPE:
			e->type = cols_join(t, ci, ci + extra + 1);
			ci += extra;
			break;
		case CC_KEYSPACE:
			e->keyspace = xstrdup(w);
			break;
		case CC_TABLE:
			e->table = xstrdup(w);
			break;
		case CC_COMPLETED:
			if (!parse_count(w, &e->completed))
				return fail_line(c, li, "bad completed '%s'", w);
			break;
		case CC_TOTAL:
			if (!parse_count(w, &e->total))
				return fail_line(c, li, "bad total '%s'", w);
			break;
		case CC_UNIT:
			e->unit = xstrdup(w);
			break;
		case CC_PROGRESS:
			if (!parse_pct(w, &e->progress_pct))
				return fail_line(c, li, "bad progress '%s'", w);
			break;
		case CC_OTHER:
			break;
		}
		ci++;
	}
	return 0;
}

void nodetool_compactionstats_free(struct nodetool_compactionstats *s)
{
	size_t i;

	if (s == NULL)
		return;
	kv_free(s->pending_by_table, s->n_pending_by_table);
	for (i = 0; i < s->n_active; i++) {
		free(s->active[i].id);
		free(s->active[i].type);
		free(s->active[i].keyspace);
		free(s->active[i].table);
		free(s->active[i].unit);
	}
	free(s->active);
	free(s->remaining_time);
	kv_free(s->other, s->n_other);
	free(s);
}

/*
 * The statistics 5.0 prints as a two-column table without colons, where
 * the longest name is followed by a single blank, so names are matched
 * from this list rather than split at wide gaps.
 */
static const char *const cs_table_keys[] = {
	"concurrent compactors", "pending tasks", "compactions completed",
	"data compacted", "compactions aborted", "compactions reduced",
	"sstables dropped from compaction", "15 minute rate", "mean rate",
	"compaction throughput (MiB/s)", "compaction throughput (MBps)",
};

/*
 * A statistics line: "pending tasks: 3" (3.x, 4.x), a known name and its
 * value (5.0), or any name and value set apart by two or more blanks.
 */
static bool cs_stat(const char *l, char **key, char **value)
{
	const char *gap;
	size_t i, n;

	if (split_label(l, key, value))
		return true;
	for (i = 0; i < ARRAY_SIZE(cs_table_keys); i++) {
		n = strlen(cs_table_keys[i]);
		if (strncmp(l, cs_table_keys[i], n) == 0 &&
		    (l[n] == ' ' || l[n] == '\t') && !is_blank(l + n)) {
			*key = xstrdup(cs_table_keys[i]);
			*value = dup_trim(l + n);
			return true;
		}
	}
	gap = strstr(l, "  ");
	if (gap == NULL || gap == l || is_blank(gap))
		return false;
	*key = xstrndup(l, (size_t)(gap - l));
	*value = dup_trim(gap);
	return true;
}

int nodetool_parse_compactionstats(const char *buf, size_t len,
    struct nodetool_compactionstats **out, char *err, size_t errlen)
{
	struct ctx c;
	struct nodetool_compactionstats *s;
	struct cs_layout lay;
	bool in_table = false, pending_seen = false;
	size_t i;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL ||
	    ctx_init(&c, "compactionstats", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->pending_tasks = NODETOOL_UNKNOWN;
	for (i = 0; i < c.n && rc == 0; i++) {
		const char *l = skip_blanks(c.lines[i]);
		char *key = NULL, *value = NULL;
		struct cols t;

		if (is_skippable(c.lines[i])) {
			in_table = false;
			continue;
		}
		if (is_error_line(l)) {
			rc = fail_unexpected(&c, i);
			break;
		}
		cols_split(&t, l);
		if (in_table && !str_starts_with(l, "Active compaction remaining time")) {
			rc = cs_row(&c, i, &t, &lay, APPEND(s->active, s->n_active));
		} else if (cs_header(&t, &lay)) {
			in_table = true;
		} else if (str_starts_with(l, "- ")) {
			/* "- ks.table: 2", pending tasks by table */
			if (!split_label(l + 2, &key, &value) ||
			    !parse_count(value, &(int64_t){ 0 }))
				rc = fail_line(&c, i, "bad pending tasks line");
			else
				kv_add(&s->pending_by_table,
				    &s->n_pending_by_table, key, value);
		} else if (cs_stat(l, &key, &value)) {
			if (strcmp(key, "pending tasks") == 0) {
				if (pending_seen || !parse_count(value,
				    &s->pending_tasks))
					rc = fail_line(&c, i, "bad pending tasks");
				pending_seen = true;
			} else if (strcmp(key, "Active compaction remaining time") == 0) {
				free(s->remaining_time);
				s->remaining_time = xstrdup(value);
				in_table = false;
			} else {
				kv_add(&s->other, &s->n_other, key, value);
			}
		} else {
			rc = fail_unexpected(&c, i);
		}
		free(key);
		free(value);
		cols_release(&t);
	}
	if (rc == 0 && !pending_seen)
		rc = fail_all(&c, "no 'pending tasks' line in output");
	ctx_release(&c);
	if (rc < 0) {
		nodetool_compactionstats_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

json_t *nodetool_compactionstats_json(const struct nodetool_compactionstats *s)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;

	if (s == NULL)
		return o;
	jset(o, "pending_tasks", jcount(s->pending_tasks));
	jset(o, "pending_by_table",
	    jkv(s->pending_by_table, s->n_pending_by_table));
	for (i = 0; i < s->n_active; i++) {
		const struct nodetool_compaction *e = &s->active[i];

		json_array_append_new(a,
		    json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
		    "id", jstr(e->id), "type", jstr(e->type),
		    "keyspace", jstr(e->keyspace), "table", jstr(e->table),
		    "completed", jcount(e->completed), "total", jcount(e->total),
		    "unit", jstr(e->unit), "progress_pct", jreal(e->progress_pct)));
	}
	jset(o, "active", a);
	jset(o, "remaining_time", jstr(s->remaining_time));
	jset(o, "other", jkv(s->other, s->n_other));
	return o;
}

/* ------------------------------------------------------------------ */
/* repair                                                             */
/* ------------------------------------------------------------------ */

/* "[2019-04-21 07:59:14,701] " -> the timestamp; the message after it. */
static bool repair_stamp(const char *l, char **stamp, const char **msg)
{
	static const char shape[] = "[dddd-dd-dd dd:dd:dd,ddd]";
	size_t i, n = strlen(shape);

	for (i = 0; i < n; i++) {
		if (l[i] == '\0')
			return false;
		if (shape[i] == 'd' ? (l[i] < '0' || l[i] > '9') : l[i] != shape[i])
			return false;
	}
	*stamp = xstrndup(l + 1, n - 2);
	*msg = skip_blanks(l + n);
	return true;
}

/* "#12 ..." -> 12, and the text after the number. */
static bool command_number(const char *p, int *num, const char **rest)
{
	char digits[12];
	size_t n = 0;

	if (*p++ != '#')
		return false;
	while (p[n] >= '0' && p[n] <= '9' && n < sizeof(digits) - 1) {
		digits[n] = p[n];
		n++;
	}
	digits[n] = '\0';
	if (n == 0 || !parse_int(digits, num))
		return false;
	*rest = p + n;
	return true;
}

/*
 * "parallelism: parallel, primary range: false, ColumnFamilies: [a, b]"
 * split on commas outside brackets.
 */
static void repair_options(const char *p, size_t len,
    struct nodetool_repair_command *cmd)
{
	size_t i, start = 0;
	int depth = 0;

	for (i = 0; i <= len; i++) {
		char *item, *colon;

		if (i < len) {
			if (p[i] == '[' || p[i] == '(' || p[i] == '{')
				depth++;
			else if ((p[i] == ']' || p[i] == ')' || p[i] == '}') &&
			    depth > 0)
				depth--;
			if (p[i] != ',' || depth > 0)
				continue;
		}
		item = xstrndup(p + start, i - start);
		colon = strstr(item, ": ");
		if (colon != NULL) {
			*colon = '\0';
			kv_add(&cmd->options, &cmd->n_options, item, colon + 2);
		} else if (!is_blank(item)) {
			kv_add(&cmd->options, &cmd->n_options, item, "");
		}
		free(item);
		start = i + 1;
	}
}

static struct nodetool_repair_command *repair_command(struct nodetool_repair *s,
    int num)
{
	struct nodetool_repair_command *cmd;
	size_t i;

	for (i = s->n_commands; i > 0; i--)
		if (s->commands[i - 1].number == num)
			return &s->commands[i - 1];
	/*
	 * A command whose "Starting" line was missed was opened unnumbered
	 * by its first other line; the first line that names it numbers it.
	 */
	if (num > 0 && s->n_commands > 0) {
		cmd = &s->commands[s->n_commands - 1];
		if (cmd->number == 0 && !cmd->finished) {
			cmd->number = num;
			return cmd;
		}
	}
	cmd = APPEND(s->commands, s->n_commands);
	cmd->number = num;
	cmd->progress_pct = NODETOOL_UNKNOWN;
	return cmd;
}

/* "Starting repair command #4 (uuid), repairing keyspace ks with repair options (...)" */
static bool repair_start(struct nodetool_repair *s, const char *m, int progress)
{
	static const char pre[] = "Starting repair command ";
	static const char ks[] = "repairing keyspace ";
	static const char opts[] = " with repair options (";
	struct nodetool_repair_command *cmd;
	const char *p, *k, *o, *end;
	int num;

	if (!str_starts_with(m, pre) ||
	    !command_number(m + strlen(pre), &num, &p))
		return false;
	cmd = repair_command(s, num);
	if (progress >= 0)
		cmd->progress_pct = progress;
	if (str_starts_with(p, " (") && (end = strchr(p, ')')) != NULL) {
		free(cmd->id);
		cmd->id = xstrndup(p + 2, (size_t)(end - p - 2));
	}
	k = strstr(p, ks);
	if (k == NULL)
		return true;
	k += strlen(ks);
	o = strstr(k, opts);
	free(cmd->keyspace);
	cmd->keyspace = o != NULL ? xstrndup(k, (size_t)(o - k)) : dup_trim(k);
	if (o != NULL) {
		o += strlen(opts);
		end = o + strlen(o);
		if (end > o && end[-1] == ')')
			end--;
		repair_options(o, (size_t)(end - o), cmd);
	}
	return true;
}

/* What one "[ts] message" line says about the repair. */
static void repair_event(struct nodetool_repair *s, const char *m, int progress)
{
	static const char rf1[] =
	    "Replication factor is 1. No repair is needed for keyspace '";
	struct nodetool_repair_command *cmd;
	const char *rest;
	int num;
	bool session, completed, failed;

	if (repair_start(s, m, progress))
		return;
	if (str_starts_with(m, rf1) && str_ends_with(m, "'") &&
	    strlen(m) > strlen(rf1) + 1) {
		*APPEND(s->not_needed, s->n_not_needed) =
		    xstrndup(m + strlen(rf1), strlen(m) - strlen(rf1) - 1);
		return;
	}
	if (str_starts_with(m, "Repair command ") &&
	    command_number(m + strlen("Repair command "), &num, &rest)) {
		cmd = repair_command(s, num);
		if (progress >= 0)
			cmd->progress_pct = progress;
		if (str_starts_with(rest, " finished in ")) {
			cmd->finished = true;
			free(cmd->duration);
			cmd->duration = dup_trim(rest + strlen(" finished in "));
		} else if (str_starts_with(rest, " finished with error")) {
			cmd->finished = true;
			cmd->failed = true;
		} else if (str_starts_with(rest, " failed with error")) {
			cmd->failed = true;
			free(cmd->error);
			cmd->error = dup_trim(rest + strlen(" failed with error"));
		} else if (str_starts_with(rest, " finished")) {
			cmd->finished = true;
		}
		return;
	}
	session = str_starts_with(m, "Repair session ");
	completed = strcmp(m, "Repair completed successfully") == 0 ||
	    (str_starts_with(m, "condition satisfied") &&
	    strstr(m, "discovered repair completed") != NULL);
	failed = str_starts_with(m, "Some repair failed") ||
	    str_starts_with(m, "Repair failed");
	if (!session && !completed && !failed)
		return;
	/*
	 * These lines belong to the command running now.  With no command
	 * yet (its "Starting" line was missed) or, for a session, after the
	 * last one finished (sessions never follow their command's end), they
	 * open an unnumbered command rather than be dropped: they are the
	 * evidence that a repair ran.
	 */
	cmd = s->n_commands > 0 ? &s->commands[s->n_commands - 1] : NULL;
	if (cmd == NULL || (session && (cmd->finished || cmd->n_completed > 0)))
		cmd = repair_command(s, 0);
	if (progress >= 0)
		cmd->progress_pct = progress;
	if (session) {
		cmd->n_sessions++;
		if (strstr(m, " failed with error") != NULL)
			cmd->n_sessions_failed++;
	} else if (completed) {
		cmd->n_completed++;
	} else {
		cmd->failed = true;
	}
}

size_t nodetool_repair_command_sessions(
    const struct nodetool_repair_command *c, bool *exact)
{
	bool worked = !c->failed && (c->finished || c->n_completed > 0);

	if (exact != NULL)
		*exact = c->n_sessions > 0 || !worked;
	if (c->n_sessions == 0 && worked)
		return 1;
	return c->n_sessions;
}

void nodetool_repair_free(struct nodetool_repair *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_commands; i++) {
		struct nodetool_repair_command *c = &s->commands[i];

		free(c->id);
		free(c->keyspace);
		kv_free(c->options, c->n_options);
		free(c->error);
		free(c->duration);
	}
	free(s->commands);
	strv_free(s->not_needed, s->n_not_needed);
	for (i = 0; i < s->n_events; i++) {
		free(s->events[i].timestamp);
		free(s->events[i].message);
	}
	free(s->events);
	free(s->error);
	free(s);
}

/* "... (progress: 57%)" -> 57, and the length of the message before it. */
static int repair_progress(const char *m, size_t *len)
{
	static const char tag[] = " (progress: ";
	const char *p = strstr(m, tag);
	int64_t v;
	char *num;
	size_t n;

	*len = strlen(m);
	while (p != NULL && strstr(p + 1, tag) != NULL)
		p = strstr(p + 1, tag);
	if (p == NULL || !str_ends_with(m, "%)"))
		return NODETOOL_UNKNOWN;
	n = strlen(p + strlen(tag));
	if (n < 3)
		return NODETOOL_UNKNOWN;
	num = xstrndup(p + strlen(tag), n - 2);
	if (!parse_count(num, &v) || v > 100) {
		free(num);
		return NODETOOL_UNKNOWN;
	}
	free(num);
	*len = (size_t)(p - m);
	return (int)v;
}

int nodetool_parse_repair(const char *buf, size_t len,
    struct nodetool_repair **out, char *err, size_t errlen)
{
	struct ctx c;
	struct nodetool_repair *s;
	size_t i;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || ctx_init(&c, "repair", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	for (i = 0; i < c.n && rc == 0; i++) {
		const char *l = c.lines[i], *msg;
		struct nodetool_repair_event *ev;
		char *stamp;
		size_t mlen;

		if (is_skippable(l))
			continue;
		if (str_starts_with(l, "error: ") || strcmp(l, "error:") == 0) {
			/*
			 * The end of a repair that ran and failed; the rest is
			 * the message's continuation and a stack trace.  With no
			 * repair messages before it, nodetool failed to start
			 * the repair at all, which is not repair output.
			 */
			if (s->n_events == 0)
				rc = fail_unexpected(&c, i);
			else
				s->error = dup_trim(l + strlen("error:"));
			break;
		}
		if (!repair_stamp(l, &stamp, &msg)) {
			rc = fail_unexpected(&c, i);
			break;
		}
		ev = APPEND(s->events, s->n_events);
		ev->timestamp = stamp;
		ev->progress_pct = repair_progress(msg, &mlen);
		ev->message = xstrndup(msg, mlen);
		repair_event(s, ev->message, ev->progress_pct);
	}
	if (rc == 0 && s->n_events == 0)
		rc = fail_all(&c, "no repair messages in output");
	ctx_release(&c);
	if (rc < 0) {
		nodetool_repair_free(s);
		return -1;
	}
	s->result = s->n_commands > 0 ? NODETOOL_REPAIR_SUCCEEDED :
	    NODETOOL_REPAIR_NOTHING;
	if (s->error != NULL)
		s->result = NODETOOL_REPAIR_FAILED;
	for (i = 0; i < s->n_commands; i++) {
		struct nodetool_repair_command *cmd = &s->commands[i];

		/*
		 * A command never seen to end did not succeed; "Repair
		 * completed successfully" is an end even when the "finished"
		 * notification was missed.
		 */
		if (cmd->failed || (!cmd->finished && cmd->n_completed == 0))
			s->result = NODETOOL_REPAIR_FAILED;
		if (!cmd->finished && cmd->n_completed == 0 && s->error == NULL)
			s->error = cmd->number > 0 ? xasprintf("repair command "
			    "#%d did not finish", cmd->number) :
			    xstrdup("a repair command did not finish");
	}
	*out = s;
	return 0;
}

const char *nodetool_repair_result_name(enum nodetool_repair_result r)
{
	switch (r) {
	case NODETOOL_REPAIR_SUCCEEDED:
		return "succeeded";
	case NODETOOL_REPAIR_FAILED:
		return "failed";
	case NODETOOL_REPAIR_NOTHING:
		return "nothing-to-do";
	}
	return "unknown";
}

json_t *nodetool_repair_json(const struct nodetool_repair *s)
{
	json_t *o = json_object(), *a;
	size_t i;

	if (s == NULL)
		return o;
	jset(o, "result", json_string(nodetool_repair_result_name(s->result)));
	jset(o, "error", jstr(s->error));
	a = json_array();
	for (i = 0; i < s->n_commands; i++) {
		const struct nodetool_repair_command *c = &s->commands[i];
		json_t *j = json_object();
		bool exact;
		size_t n = nodetool_repair_command_sessions(c, &exact);

		jset(j, "number", c->number > 0 ? json_integer(c->number) :
		    json_null());
		jset(j, "id", jstr(c->id));
		jset(j, "keyspace", jstr(c->keyspace));
		jset(j, "options", jkv(c->options, c->n_options));
		jset(j, "sessions", json_integer((json_int_t)n));
		jset(j, "sessions_exact", json_boolean(exact));
		jset(j, "session_lines", json_integer((json_int_t)c->n_sessions));
		jset(j, "completed", json_integer((json_int_t)c->n_completed));
		jset(j, "sessions_failed",
		    json_integer((json_int_t)c->n_sessions_failed));
		jset(j, "progress_pct", jcount(c->progress_pct));
		jset(j, "finished", json_boolean(c->finished));
		jset(j, "failed", json_boolean(c->failed));
		jset(j, "error", jstr(c->error));
		jset(j, "duration", jstr(c->duration));
		json_array_append_new(a, j);
	}
	jset(o, "commands", a);
	jset(o, "not_needed", jstrv(s->not_needed, s->n_not_needed));
	a = json_array();
	for (i = 0; i < s->n_events; i++)
		json_array_append_new(a, json_pack("{s:o,s:o,s:o}",
		    "timestamp", jstr(s->events[i].timestamp),
		    "message", jstr(s->events[i].message),
		    "progress_pct", jcount(s->events[i].progress_pct)));
	jset(o, "events", a);
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
	struct ctx c;
	struct nodetool_version *s;
	size_t i;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || ctx_init(&c, "version", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	for (i = 0; i < c.n && rc == 0; i++) {
		const char *l = skip_blanks(c.lines[i]);

		if (is_skippable(l))
			continue;
		if (!str_starts_with(l, "ReleaseVersion:") || s->release != NULL) {
			rc = fail_unexpected(&c, i);
			break;
		}
		s->release = dup_trim(l + strlen("ReleaseVersion:"));
		if (!version_numbers(s->release, s) ||
		    strchr(s->release, ' ') != NULL)
			rc = fail_line(&c, i, "bad version");
	}
	if (rc == 0 && s->release == NULL)
		rc = fail_all(&c, "no 'ReleaseVersion:' line in output");
	ctx_release(&c);
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
	return json_pack("{s:o,s:i,s:i,s:i}", "release", jstr(s->release),
	    "major", s->major, "minor", s->minor, "patch", s->patch);
}

/* ------------------------------------------------------------------ */
/* tablestats                                                         */
/* ------------------------------------------------------------------ */

void nodetool_tablestats_free(struct nodetool_tablestats *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_tables; i++) {
		free(s->tables[i].keyspace);
		free(s->tables[i].table);
	}
	free(s->tables);
	free(s);
}

/* A byte count printed plain ("7205") or, with -H, as a size ("7.04 KiB"). */
static bool stats_bytes(const char *v, int64_t *out)
{
	return parse_count(v, out) || (nodetool_parse_size(v, out) == 0 &&
	    *out >= 0);
}

/* A name as nodetool prints keyspaces and tables: no blanks, no colon. */
static bool stats_name(const char *v)
{
	return *v != '\0' && strpbrk(v, " \t:") == NULL;
}

/*
 * One line inside a keyspace block: a table header, or "Label: value" of
 * the keyspace or of the current table.
 */
static int tablestats_line(struct ctx *c, size_t i, const char *ks,
    struct nodetool_tablestats *s, struct nodetool_table_stats **cur)
{
	const char *l = skip_blanks(c->lines[i]);
	char *label, *value;
	int rc = 0;

	if (!split_label(l, &label, &value))
		return fail_unexpected(c, i);
	if (strcmp(label, "Table") == 0 || strcmp(label, "Table (index)") == 0 ||
	    strcmp(label, "Column Family") == 0) {
		if (!stats_name(value)) {
			rc = fail_line(c, i, "bad table name");
		} else {
			*cur = APPEND(s->tables, s->n_tables);
			(*cur)->keyspace = xstrdup(ks);
			(*cur)->table = xstrdup(value);
			(*cur)->index = strcmp(label, "Table (index)") == 0;
			(*cur)->sstable_count = NODETOOL_UNKNOWN;
			(*cur)->space_live_bytes = NODETOOL_UNKNOWN;
			(*cur)->partitions = NODETOOL_UNKNOWN;
		}
	} else if (*cur != NULL && strcmp(label, "SSTable count") == 0) {
		if (!parse_count(value, &(*cur)->sstable_count))
			rc = fail_line(c, i, "bad SSTable count");
	} else if (*cur != NULL && strcmp(label, "Space used (live)") == 0) {
		if (!stats_bytes(value, &(*cur)->space_live_bytes))
			rc = fail_line(c, i, "bad size");
	} else if (*cur != NULL &&
	    strcmp(label, "Number of partitions (estimate)") == 0) {
		if (!parse_count(value, &(*cur)->partitions))
			rc = fail_line(c, i, "bad partition count");
	} else if (is_error_line(l)) {
		rc = fail_unexpected(c, i);
	}
	free(label);
	free(value);
	return rc;
}

int nodetool_parse_tablestats(const char *buf, size_t len,
    struct nodetool_tablestats **out, char *err, size_t errlen)
{
	struct ctx c;
	struct nodetool_tablestats *s;
	struct nodetool_table_stats *cur = NULL;
	char *ks = NULL;
	size_t i, nks = 0;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || ctx_init(&c, "tablestats", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->total_tables = NODETOOL_UNKNOWN;
	for (i = 0; i < c.n && rc == 0; i++) {
		const char *raw = c.lines[i], *l = skip_blanks(raw);

		if (is_skippable(raw))
			continue;
		if (strspn(l, "-") == strlen(l)) {
			/* "----------------" closes a keyspace block */
			free(ks);
			ks = NULL;
			cur = NULL;
		} else if (l == raw && str_starts_with(l, "Total number of tables:")) {
			if (!parse_count(skip_blanks(l + strlen("Total number of "
			    "tables:")), &s->total_tables))
				rc = fail_line(&c, i, "bad table count");
		} else if (l == raw && (str_starts_with(l, "Keyspace :") ||
		    str_starts_with(l, "Keyspace:"))) {
			const char *v = skip_blanks(strchr(l, ':') + 1);
			if (!stats_name(v)) {
				rc = fail_line(&c, i, "bad keyspace name");
				break;
			}
			free(ks);
			ks = xstrdup(v);
			cur = NULL;
			nks++;
		} else if (l != raw && ks != NULL) {
			rc = tablestats_line(&c, i, ks, s, &cur);
		} else {
			rc = fail_unexpected(&c, i);
		}
	}
	for (i = 0; rc == 0 && i < s->n_tables; i++)
		if (s->tables[i].sstable_count == NODETOOL_UNKNOWN)
			rc = fail_all(&c, "table %s.%s has no 'SSTable count' line",
			    s->tables[i].keyspace, s->tables[i].table);
	if (rc == 0 && nks == 0)
		rc = fail_all(&c, "no 'Keyspace :' line in output");
	free(ks);
	ctx_release(&c);
	if (rc < 0) {
		nodetool_tablestats_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

const struct nodetool_table_stats *nodetool_tablestats_find(
    const struct nodetool_tablestats *s, const char *keyspace,
    const char *table)
{
	size_t i;

	for (i = 0; s != NULL && i < s->n_tables; i++)
		if (!s->tables[i].index &&
		    strcmp(s->tables[i].keyspace, keyspace) == 0 &&
		    strcmp(s->tables[i].table, table) == 0)
			return &s->tables[i];
	return NULL;
}

json_t *nodetool_tablestats_json(const struct nodetool_tablestats *s)
{
	json_t *a = json_array();
	size_t i;

	if (s == NULL)
		return json_pack("{s:o,s:o}", "total_tables", json_null(),
		    "tables", a);
	for (i = 0; i < s->n_tables; i++) {
		const struct nodetool_table_stats *t = &s->tables[i];
		json_array_append_new(a, json_pack("{s:o,s:o,s:b,s:o,s:o,s:o}",
		    "keyspace", jstr(t->keyspace), "table", jstr(t->table),
		    "index", t->index, "sstable_count", jcount(t->sstable_count),
		    "space_live_bytes", jcount(t->space_live_bytes),
		    "partitions", jcount(t->partitions)));
	}
	return json_pack("{s:o,s:o}", "total_tables", jcount(s->total_tables),
	    "tables", a);
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
		if (!is_blank_n(l, (size_t)(end - l)))
			first = false;
		l = *end == '\n' ? end + 1 : NULL;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* debug CLI                                                          */
/* ------------------------------------------------------------------ */

#define CLI_KIND(name)                                                    \
	static int cli_##name(const char *b, size_t l, json_t **j, char *e, \
	    size_t el)                                                        \
	{                                                                     \
		struct nodetool_##name *s;                                    \
		if (nodetool_parse_##name(b, l, &s, e, el) < 0)               \
			return -1;                                            \
		*j = nodetool_##name##_json(s);                               \
		nodetool_##name##_free(s);                                    \
		return 0;                                                     \
	}

CLI_KIND(status)
CLI_KIND(info)
CLI_KIND(describecluster)
CLI_KIND(ring)
CLI_KIND(listsnapshots)
CLI_KIND(compactionstats)
CLI_KIND(repair)
CLI_KIND(version)
CLI_KIND(tablestats)

static int cli_error(const char *b, size_t l, json_t **j, char *e, size_t el)
{
	enum nodetool_error_kind kind;
	char *text = xstrndup(b, l), *msg;

	msg = nodetool_error_message(text, &kind);
	free(text);
	if (msg == NULL) {
		err_set(e, el, "nodetool error: no error message in output");
		return -1;
	}
	*j = json_pack("{s:s,s:o}", "kind",
	    kind == NODETOOL_ERROR_SERVER ? "server" : "usage", "message",
	    jstr(msg));
	free(msg);
	return 0;
}

static const struct {
	const char *name;
	int (*parse)(const char *, size_t, json_t **, char *, size_t);
} cli_kinds[] = {
	{ "status", cli_status }, { "info", cli_info },
	{ "describecluster", cli_describecluster }, { "ring", cli_ring },
	{ "listsnapshots", cli_listsnapshots },
	{ "compactionstats", cli_compactionstats }, { "repair", cli_repair },
	{ "version", cli_version }, { "tablestats", cli_tablestats },
	{ "error", cli_error },
};

static char *read_all(FILE *f, size_t max, size_t *len)
{
	size_t cap = 65536, n = 0, r;
	char *buf = xmalloc(cap);

	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			if (cap >= max) {
				free(buf);
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	if (ferror(f)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

int nodetool_parse_cli(int argc, char **argv)
{
	char err[NODETOOL_ERR_MAX], *buf, *text;
	json_t *j = NULL;
	size_t i, len;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: --parse status|info|describecluster|ring|"
		    "listsnapshots|compactionstats|repair|version|tablestats|error < output\n");
		return 2;
	}
	for (i = 0; i < ARRAY_SIZE(cli_kinds); i++)
		if (strcmp(argv[1], cli_kinds[i].name) == 0)
			break;
	if (i == ARRAY_SIZE(cli_kinds)) {
		fprintf(stderr, "unknown output kind '%s'\n", argv[1]);
		return 2;
	}
	buf = read_all(stdin, CLI_INPUT_MAX, &len);
	if (buf == NULL) {
		fprintf(stderr, "cannot read standard input\n");
		return 1;
	}
	rc = cli_kinds[i].parse(buf, len, &j, err, sizeof(err));
	free(buf);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS |
	    JSON_REAL_PRECISION(15));
	json_decref(j);
	if (text == NULL) {
		fprintf(stderr, "cannot render JSON\n");
		return 1;
	}
	puts(text);
	free(text);
	return 0;
}
