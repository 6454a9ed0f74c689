/*
 * conf.c - see conf.h.
 */
#include "conf.h"
#include "orchlist.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct conf {
	const struct conf_key *keys;
	size_t nkeys;
	char **values;	/* parallel to keys; NULL = unset */
	char *path;
};

static const char *const bool_true[] = { "yes", "true", "on", "1", NULL };
static const char *const bool_false[] = { "no", "false", "off", "0", NULL };

static int word_in(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

int conf_hostport(const char *value, char **host, int *port)
{
	const char *colon;
	char *end;
	size_t hlen;

	if (value[0] == '[') {
		const char *rb = strchr(value, ']');
		if (rb == NULL || rb[1] != ':')
			return -1;
		hlen = (size_t)(rb - value - 1);
		colon = rb + 1;
		value++;
	} else {
		colon = strrchr(value, ':');
		if (colon == NULL)
			return -1;
		hlen = (size_t)(colon - value);
	}
	if (hlen == 0 || !isdigit((unsigned char)colon[1]))
		return -1;
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (errno || *end || p < 0 || p > 65535)
		return -1;
	if (host)
		*host = xstrndup(value, hlen);
	if (port)
		*port = (int)p;
	return 0;
}

/* Returns NULL when value is fine, else a static description of what's expected. */
static const char *check_value(const struct conf_key *k, const char *v,
    char *why, size_t whylen)
{
	char *end;
	int64_t n;

	if (*v == '\0')
		return "a value";
	switch (k->type) {
	case CONF_STRING:
	case CONF_PATH:
		return NULL;
	case CONF_INT:
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno || *end || end == v || n < k->min || n > k->max) {
			snprintf(why, whylen, "an integer from %lld to %lld",
			    (long long)k->min, (long long)k->max);
			return why;
		}
		return NULL;
	case CONF_DURATION:
		if (duration_parse_ms(v, &n) != 0 || n < k->min || n > k->max) {
			snprintf(why, whylen,
			    "a duration such as 500ms, 10s, 5m, 1h or 7d, from %lldms to %lldms",
			    (long long)k->min, (long long)k->max);
			return why;
		}
		return NULL;
	case CONF_BOOL:
		if (word_in(v, bool_true) || word_in(v, bool_false))
			return NULL;
		return "yes or no";
	case CONF_HOSTPORT:
		if (conf_hostport(v, NULL, NULL) == 0)
			return NULL;
		return "host:port, such as 127.0.0.1:8080";
	case CONF_ENUM: {
		size_t off = 0;
		if (word_in(v, k->choices))
			return NULL;
		off += (size_t)snprintf(why, whylen, "one of");
		for (size_t i = 0; k->choices[i] && off < whylen; i++)
			off += (size_t)snprintf(why + off, whylen - off, " %s",
			    k->choices[i]);
		return why;
	}
	case CONF_URL:
		if ((str_starts_with(v, "http://") && v[7]) ||
		    (str_starts_with(v, "https://") && v[8]))
			return NULL;
		return "an http:// or https:// URL";
	case CONF_URL_LIST: {
		struct orchlist l;
		char lerr[384];
		if (orchlist_parse(&l, v, lerr, sizeof(lerr)) == 0) {
			orchlist_release(&l);
			return NULL;
		}
		snprintf(why, whylen, "one or more http:// or https:// base "
		    "URLs separated by commas (%s)", lerr);
		return why;
	}
	}
	return "a valid value";
}

static int key_index(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nkeys; i++)
		if (strcmp(c->keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

static struct conf *conf_new(const char *path, const struct conf_key *keys,
    size_t nkeys)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	c->keys = keys;
	c->nkeys = nkeys;
	c->values = xcalloc(nkeys, sizeof(char *));
	c->path = xstrdup(path ? path : "(defaults)");
	return c;
}

__attribute__((format(printf, 5, 6)))
static struct conf *conf_fail(struct conf *c, char *err, size_t errlen,
    int line, const char *fmt, ...)
{
	va_list ap;
	int off = line > 0 ? snprintf(err, errlen, "%s:%d: ", c->path, line)
			   : snprintf(err, errlen, "%s: ", c->path);
	if (off < 0)
		off = 0;
	va_start(ap, fmt);
	if ((size_t)off < errlen)
		vsnprintf(err + off, errlen - (size_t)off, fmt, ap);
	va_end(ap);
	conf_free(c);
	return NULL;
}

struct conf *conf_parse(const char *path, const char *text,
    const struct conf_key *keys, size_t nkeys, char *err, size_t errlen)
{
	struct conf *c = conf_new(path, keys, nkeys);
	char why[768];
	int lineno = 0;
	const char *p = text ? text : "";

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len);
		p += len + (nl ? 1 : 0);
		lineno++;

		/* A '#' starts a comment anywhere: values never need one. */
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		str_trim(line);
		if (*line == '\0') {
			free(line);
			continue;
		}
		char *eq = strchr(line, '=');
		if (eq == NULL) {
			free(line);
			return conf_fail(c, err, errlen, lineno,
			    "expected 'key = value'");
		}
		*eq = '\0';
		char *key = str_trim(line), *val = str_trim(eq + 1);
		size_t vlen = strlen(val);
		if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
			memmove(val, val + 1, vlen - 2);
			val[vlen - 2] = '\0';
		}
		int i = key_index(c, key);
		if (i < 0) {
			char shown[208];
			str_printable(key, shown, sizeof(shown));
			struct conf *r = conf_fail(c, err, errlen, lineno,
			    "unknown key '%s'", shown);
			free(line);
			return r;
		}
		if (c->values[i] != NULL) {
			struct conf *r = conf_fail(c, err, errlen, lineno,
			    "key '%s' is set twice", key);
			free(line);
			return r;
		}
		const char *bad = check_value(&keys[i], val, why, sizeof(why));
		if (bad) {
			char shown[208];
			/* The value as read may hold control bytes: never
			 * pass them on to a terminal or a log. */
			str_printable(val, shown, sizeof(shown));
			struct conf *r = conf_fail(c, err, errlen, lineno,
			    "key '%s': expected %s, got '%s'", key, bad, shown);
			free(line);
			return r;
		}
		c->values[i] = xstrdup(val);
		free(line);
	}
	for (size_t i = 0; i < nkeys; i++) {
		if (c->values[i] != NULL)
			continue;
		if (keys[i].required)
			return conf_fail(c, err, errlen, 0,
			    "key '%s' is required", keys[i].name);
		if (keys[i].def != NULL)
			c->values[i] = xstrdup(keys[i].def);
	}
	return c;
}

struct conf *conf_load(const char *path, const struct conf_key *keys,
    size_t nkeys, char *err, size_t errlen)
{
	if (path == NULL)
		return conf_parse(NULL, "", keys, nkeys, err, errlen);
	char *text = file_read_all(path, 1 << 20, NULL);
	if (text == NULL) {
		snprintf(err, errlen, "%s: cannot read config file: %s", path,
		    strerror(errno));
		return NULL;
	}
	struct conf *c = conf_parse(path, text, keys, nkeys, err, errlen);
	free(text);
	return c;
}

void conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nkeys; i++)
		free(c->values[i]);
	free(c->values);
	free(c->path);
	free(c);
}

static const char *value_of(const struct conf *c, const char *key)
{
	int i = key_index(c, key);
	if (i < 0) {
		fprintf(stderr, "fatal: config key '%s' is not declared\n", key);
		abort();
	}
	return c->values[i];
}

const char *conf_str(const struct conf *c, const char *key)
{
	return value_of(c, key);
}

int64_t conf_int(const struct conf *c, const char *key)
{
	const char *v = value_of(c, key);
	return v ? strtoll(v, NULL, 10) : 0;
}

int64_t conf_ms(const struct conf *c, const char *key)
{
	const char *v = value_of(c, key);
	int64_t ms = 0;
	if (v)
		duration_parse_ms(v, &ms);
	return ms;
}

bool conf_bool(const struct conf *c, const char *key)
{
	const char *v = value_of(c, key);
	return v && word_in(v, bool_true);
}

bool conf_isset(const struct conf *c, const char *key)
{
	return value_of(c, key) != NULL;
}

const char *conf_path(const struct conf *c)
{
	return c->path;
}
