/*
 * xml.h - the minimal XML reader for object-store answers (S3's
 * ListObjectsV2, errors, multipart and delete results), and the escaping
 * for the few documents we send.
 *
 * xml_parse() builds a tree of elements.  It is meant for documents from a
 * server we do not control, so it is defensive rather than complete:
 *
 *   - the prolog, comments, processing instructions and a DOCTYPE are
 *     skipped; no entity definitions are honoured, so nothing expands;
 *   - attributes (namespace declarations included) are skipped; element
 *     names are kept as written, prefix and all;
 *   - the five predefined entities and numeric character references
 *     (&#233; &#xE9;, up to U+10FFFF, not &#0;) are decoded to UTF-8, and
 *     CDATA sections are taken verbatim;
 *   - nesting deeper than XML_MAX_DEPTH, a NUL byte in text, content after
 *     the document element and anything truncated are refused.
 *
 * A refusal puts "malformed XML at byte N: <what>" in err (or "empty answer
 * where XML was expected").  The reader never reads past len, and s need
 * not be NUL-terminated.
 */
#ifndef RM_XML_H
#define RM_XML_H

#include <stddef.h>

#include "strbuf.h"

/* Elements nested below the document element; deeper documents are
 * refused rather than recursed into. */
#define XML_MAX_DEPTH 32

struct xml_node {
	char *name;
	char *text;		/* decoded character data directly inside, "" if none */
	struct xml_node *kids, *last, *next;
};

/* The document element of s[0..len), or NULL with err set.  Caller frees
 * with xml_free(). */
struct xml_node *xml_parse(const char *s, size_t len, char *err,
    size_t errlen);
/* Frees n, its children and its following siblings.  NULL-safe. */
void xml_free(struct xml_node *n);
/* The first child of n named name, or NULL (n may be NULL). */
const struct xml_node *xml_child(const struct xml_node *n, const char *name);
/* That child's text, or NULL when there is no such child. */
const char *xml_child_text(const struct xml_node *n, const char *name);

/* Append s to b as XML character data (&<>"' escaped). */
void xml_escape(struct strbuf *b, const char *s);

#endif
