/*
 * nodetool_int.h - what the nodetool parsers share (nodetool.c), private to
 * nodetool*.c.  Callers use nodetool.h.
 *
 * A parser copies its input into a struct nodetool_ctx (one line per
 * element, bad bytes refused), recognises each line by its leading words,
 * splits it into struct nodetool_cols and fails through nodetool_fail_*(),
 * which write "nodetool CMD: line N: MSG: 'LINE'" into the caller's buffer
 * and return -1.
 */
#ifndef RM_NODETOOL_INT_H
#define RM_NODETOOL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "nodetool.h"

/* One output being parsed. */
struct nodetool_ctx {
	const char *cmd;
	char *err;
	size_t errlen;
	char *copy;    /* the input, NUL at each line end */
	char **lines;  /* trailing blanks and \r removed */
	size_t n;
};

/* The columns of one line: words split on runs of blanks. */
struct nodetool_cols {
	char *store;
	char **v;
	size_t n;
};

/* Room for element n of arr, zeroed (capacity implied by n). */
void *nodetool_grow(void *arr, size_t n, size_t size);

/* Append a zeroed element to arr (of n elements) and point at it. */
#define APPEND(arr, n) \
	((arr) = nodetool_grow((arr), (n), sizeof(*(arr))), &(arr)[(n)++])

/* Lines and errors.  nodetool_ctx_init() fails (-1, message set) on bad
 * bytes or empty output and then holds nothing. */
int nodetool_ctx_init(struct nodetool_ctx *c, const char *cmd, const char *buf,
    size_t len, char *err, size_t errlen);
void nodetool_ctx_release(struct nodetool_ctx *c);
int nodetool_fail_line(struct nodetool_ctx *c, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int nodetool_fail_all(struct nodetool_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int nodetool_fail_unexpected(struct nodetool_ctx *c, size_t i);
bool nodetool_is_error_line(const char *s);
const char *nodetool_skip_blanks(const char *s);
bool nodetool_is_blank(const char *s);
bool nodetool_is_blank_n(const char *s, size_t n);
bool nodetool_is_noise(const char *line);
bool nodetool_is_skippable(const char *line);

/* Columns; nodetool_cols_join() and nodetool_dup_trim() return new strings. */
void nodetool_cols_split(struct nodetool_cols *t, const char *line);
void nodetool_cols_release(struct nodetool_cols *t);
char *nodetool_cols_join(const struct nodetool_cols *t, size_t from, size_t to);
char *nodetool_dup_trim(const char *s);

/* Numbers: true and *out set, or false and *out untouched. */
bool nodetool_parse_i64(const char *s, int64_t *out);
bool nodetool_parse_count(const char *s, int64_t *out);
bool nodetool_parse_int(const char *s, int *out);
bool nodetool_parse_decimal(const char *s, double *out);
bool nodetool_parse_pct(const char *s, double *out);
bool nodetool_parse_owns(const char *s, double *out);
bool nodetool_parse_bool(const char *s, bool *out);
bool nodetool_size_from(const char *num, const char *unit, int64_t *out);
bool nodetool_take_size(const struct nodetool_cols *t, size_t *i, int64_t *out);
bool nodetool_parse_list(const char *s, char ***out, size_t *n);
bool nodetool_split_label(const char *line, char **label, char **value);

/* Arrays of strings and pairs. */
void nodetool_strv_free(char **v, size_t n);
void nodetool_kv_free(struct nodetool_kv *kv, size_t n);
void nodetool_kv_add(struct nodetool_kv **kv, size_t *n, const char *key,
    const char *value);

/* JSON: new references, never NULL; unknown numbers are null. */
json_t *nodetool_jstr(const char *s);
json_t *nodetool_jcount(int64_t v);
json_t *nodetool_jreal(double v);
void nodetool_jset(json_t *o, const char *key, json_t *v);
json_t *nodetool_jstrv(char *const *v, size_t n);
json_t *nodetool_jkv(const struct nodetool_kv *kv, size_t n);

#endif
