/*
 * table.c - see table.h.
 */
#include "table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../common/util.h"

#define GAP 2			/* spaces between columns */
#define MIN_COL 4		/* a shrunk column keeps this many characters */

struct table {
	size_t ncols, nrows;
	char **cells;		/* (nrows + 1) * ncols, row 0 the header */
};

struct table *table_new(size_t ncols, const char *const *headers)
{
	struct table *t = xcalloc(1, sizeof(*t));
	t->ncols = ncols;
	t->cells = xcalloc(ncols, sizeof(*t->cells));
	for (size_t i = 0; i < ncols; i++)
		t->cells[i] = xstrdup(headers[i]);
	return t;
}

void table_add(struct table *t, const char *const *cells)
{
	size_t base = (t->nrows + 1) * t->ncols;
	t->cells = xrealloc(t->cells, (base + t->ncols) * sizeof(*t->cells));
	for (size_t i = 0; i < t->ncols; i++) {
		const char *c = cells[i] && *cells[i] ? cells[i] : "-";
		/* One line per row: a newline in a cell would break the grid. */
		char *s = xstrdup(c);
		for (char *p = s; *p; p++)
			if (*p == '\n' || *p == '\r' || *p == '\t')
				*p = ' ';
		t->cells[base + i] = s;
	}
	t->nrows++;
}

size_t table_rows(const struct table *t)
{
	return t->nrows;
}

void table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

size_t table_strwidth(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xC0) != 0x80)
			n++;
	return n;
}

char *table_truncate(const char *s, size_t width)
{
	if (table_strwidth(s) <= width)
		return xstrdup(s);
	if (width == 0)
		return xstrdup("");
	/* Keep width-1 characters, then the ellipsis. */
	size_t keep = width - 1, chars = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		if ((*p & 0xC0) != 0x80) {
			if (chars == keep)
				break;
			chars++;
		}
		p++;
	}
	size_t bytes = (size_t)((const char *)p - s);
	char *out = xmalloc(bytes + sizeof("…"));
	memcpy(out, s, bytes);
	memcpy(out + bytes, "…", sizeof("…"));
	return out;
}

struct outbuf {
	FILE *f;
	char *s;
	size_t len, cap;
};

static void out_add(struct outbuf *o, const char *s, size_t n)
{
	if (o->f) {
		fwrite(s, 1, n, o->f);
		return;
	}
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->s = xrealloc(o->s, o->cap);
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

char *table_print(const struct table *t, FILE *out, size_t width)
{
	size_t *w = xcalloc(t->ncols, sizeof(*w));
	struct outbuf o = { out, NULL, 0, 0 };

	for (size_t r = 0; r <= t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t cw = table_strwidth(t->cells[r * t->ncols + c]);
			if (cw > w[c])
				w[c] = cw;
		}
	if (width > 0) {
		/* Shrink the widest column, one character at a time, till it fits. */
		for (;;) {
			size_t total = 0, widest = 0;
			for (size_t c = 0; c < t->ncols; c++) {
				total += w[c] + (c ? GAP : 0);
				if (w[c] > w[widest])
					widest = c;
			}
			if (total <= width || w[widest] <= MIN_COL)
				break;
			w[widest]--;
		}
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			char *cell = table_truncate(t->cells[r * t->ncols + c], w[c]);
			size_t cw = table_strwidth(cell);
			out_add(&o, cell, strlen(cell));
			free(cell);
			if (c + 1 < t->ncols)
				for (size_t k = cw; k < w[c] + GAP; k++)
					out_add(&o, " ", 1);
		}
		out_add(&o, "\n", 1);
	}
	free(w);
	if (o.s == NULL && out == NULL)
		o.s = xstrdup("");
	return o.s;
}

size_t table_width(FILE *out)
{
	struct winsize ws;
	if (isatty(fileno(out)) && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col > 0)
		return ws.ws_col;
	const char *cols = getenv("COLUMNS");
	if (cols && *cols) {
		long n = strtol(cols, NULL, 10);
		if (n > 0 && n < 10000)
			return (size_t)n;
	}
	return 0;
}

void table_size(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB",
	    "EiB" };
	if (bytes < 1024) {
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
		return;
	}
	double v = (double)bytes / 1024.0;
	size_t u = 0;
	while (v >= 1024.0 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024.0;
		u++;
	}
	/* 1023.96 KiB would print as "1024.0 KiB": move up a unit instead. */
	if (v >= 1023.95 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024.0;
		u++;
	}
	if (v < 10.0)
		snprintf(buf, size, "%.1f %s", v, units[u]);
	else
		snprintf(buf, size, "%.0f %s", v, units[u]);
}

void table_ago(int64_t then_s, int64_t now_s, char *buf, size_t size)
{
	int64_t d = now_s - then_s;
	bool future = d < 0;
	if (future)
		d = -d;
	if (d < 5) {
		snprintf(buf, size, "just now");
		return;
	}
	char amount[32];
	if (d < 60)
		snprintf(amount, sizeof(amount), "%llds", (long long)d);
	else if (d < 3600)
		snprintf(amount, sizeof(amount), "%lldm", (long long)(d / 60));
	else if (d < 86400)
		snprintf(amount, sizeof(amount), "%lldh", (long long)(d / 3600));
	else
		snprintf(amount, sizeof(amount), "%lldd", (long long)(d / 86400));
	if (future)
		snprintf(buf, size, "in %s", amount);
	else
		snprintf(buf, size, "%s ago", amount);
}
