/*
 * table.h - aligned text tables and the human forms of sizes and times.
 *
 * A table collects rows of cells, then prints them with columns padded to
 * the widest cell.  When the rows do not fit the width, the widest columns
 * give way first and long cells end with "…".  Widths count characters, not
 * bytes, so UTF-8 names line up.
 */
#ifndef RS_TABLE_H
#define RS_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct table;

/* A table with ncols columns headed by the given titles.  Never NULL. */
struct table *table_new(size_t ncols, const char *const *headers);
/* Append a row of ncols cells (copied; NULL prints as "-"). */
void table_add(struct table *t, const char *const *cells);
size_t table_rows(const struct table *t);
/*
 * Print to out within width characters (0: no limit): header, then rows.
 * Returns the printed text as a fresh string when out is NULL.
 */
char *table_print(const struct table *t, FILE *out, size_t width);
void table_free(struct table *t);

/* Columns to use for output: the terminal's, $COLUMNS, or 0 (no limit). */
size_t table_width(FILE *out);

/* Display width of a UTF-8 string (code points). */
size_t table_strwidth(const char *s);
/* s cut to at most width characters, ending in "…" when cut.  Fresh string. */
char *table_truncate(const char *s, size_t width);

/* 1536 -> "1.5 KiB"; below 1024 "512 B". */
void table_size(uint64_t bytes, char *buf, size_t size);
/* then - now as "3m ago", "in 2h", "just now". */
void table_ago(int64_t then_s, int64_t now_s, char *buf, size_t size);
/* Durations: duration_human (common/util.h), DURATION_SPACED. */

#endif
