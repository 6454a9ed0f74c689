/*
 * strbuf.h - a growable NUL-terminated string, for text assembled piece by
 * piece (XML bodies, decoded XML text, debug dumps, signing strings,
 * usage lines, edited config files).
 *
 * A zeroed struct strbuf is an empty string; p stays NULL until the first
 * addition.  The caller owns p and frees it with strbuf_release() or takes
 * it with strbuf_detach().  Out of memory aborts, as every x*() allocator does.
 */
#ifndef RM_STRBUF_H
#define RM_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *p;		/* NULL until something is added */
	size_t len, cap;
};

void strbuf_addn(struct strbuf *b, const char *s, size_t n);
void strbuf_add(struct strbuf *b, const char *s);
void strbuf_addf(struct strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Hands over the string and leaves b empty: the caller frees it.  Never
 * NULL: "" (allocated) when nothing was added.
 */
char *strbuf_detach(struct strbuf *b);
/* Frees p and leaves b empty.  NULL-safe. */
void strbuf_release(struct strbuf *b);

#endif
