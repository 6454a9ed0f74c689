/*
 * xml.h - object-store answers (S3's ListObjectsV2, errors, multipart and
 * delete results) read into a small tree through expat, and the escaping
 * for the few documents we send.
 *
 * xml_parse() is meant for documents from a server we do not control, so
 * on top of expat's own checks (well-formedness, encodings, character
 * references, entity amplification) it refuses:
 *
 *   - a DOCTYPE: S3 never sends one, and without it no entity can be
 *     defined, so nothing but the five predefined entities and character
 *     references expands and no external resource is ever loaded;
 *   - nesting deeper than XML_MAX_DEPTH below the document element.
 *
 * Namespaces are not processed: element names are kept as written, prefix
 * and all; attributes are ignored.  Text is UTF-8; CDATA sections count as
 * text.  A refusal puts "malformed XML at byte N: <what>" in err (or "empty
 * answer where XML was expected").  s need not be NUL-terminated.
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
	char *text;		/* character data directly inside, "" if none */
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
