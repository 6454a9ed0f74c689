/*
 * conf.h - "key = value" configuration files, checked against a table.
 *
 * Each program declares its keys in a table (name, type, default, limits).
 * conf_load() reads the file, rejects unknown keys, duplicate keys and bad
 * values with "FILE:LINE: ..." naming the key, and fills in defaults.  After
 * a successful load every value has been validated, so the typed getters
 * cannot fail for keys in the table.
 */
#ifndef RM_CONF_H
#define RM_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum conf_type {
	CONF_STRING,	/* any non-empty text */
	CONF_PATH,	/* a file path (not checked for existence here) */
	CONF_INT,	/* decimal integer within [min, max] */
	CONF_DURATION,	/* "500ms", "10s", "5m", "1h", "7d" within [min, max] ms */
	CONF_BOOL,	/* yes/no, true/false, on/off, 1/0 */
	CONF_HOSTPORT,	/* host:port, [v6]:port; port 0..65535 */
	CONF_ENUM,	/* one of choices */
	CONF_URL,	/* http:// or https:// URL */
	CONF_URL_LIST,	/* orchestrator URLs separated by commas (orchlist.h) */
};

struct conf_key {
	const char *name;
	enum conf_type type;
	const char *def;		/* default as written in a file; NULL: none */
	bool required;
	int64_t min, max;		/* CONF_INT, CONF_DURATION (ms) */
	const char *const *choices;	/* CONF_ENUM: NULL-terminated */
	const char *help;		/* one line, shown by --help and in docs */
};

struct conf;

/*
 * Load path against keys[nkeys].  On error returns NULL and writes
 * "FILE:LINE: message" into err.  path NULL loads defaults only.
 */
struct conf *conf_load(const char *path, const struct conf_key *keys,
    size_t nkeys, char *err, size_t errlen);
/* Parse text as if it were the file named path (for tests). */
struct conf *conf_parse(const char *path, const char *text,
    const struct conf_key *keys, size_t nkeys, char *err, size_t errlen);
void conf_free(struct conf *c);

/* Getters; NULL / 0 when the key has no value.  Abort on a key not in the table. */
const char *conf_str(const struct conf *c, const char *key);
int64_t conf_int(const struct conf *c, const char *key);
int64_t conf_ms(const struct conf *c, const char *key);
bool conf_bool(const struct conf *c, const char *key);
bool conf_isset(const struct conf *c, const char *key);
/* Split a host:port value; host is a fresh string the caller frees. */
int conf_hostport(const char *value, char **host, int *port);
const char *conf_path(const struct conf *c);

#endif
