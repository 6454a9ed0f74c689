/*
 * xml.c - see xml.h.  expat does the reading; this file builds the tree
 * from its callbacks and adds the refusals xml.h lists.
 */
#include "xml.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <expat.h>

#include "log.h"
#include "util.h"

/* Open elements: the node and the text gathered directly inside it. */
struct xml_open {
	struct xml_node *node;
	struct strbuf text;
};

struct xml_build {
	XML_Parser p;
	struct xml_node *root;
	struct xml_open open[XML_MAX_DEPTH + 1];
	int depth;		/* elements open */
	const char *refused;	/* our reason for stopping expat, or NULL */
	XML_Index refused_at;
};

static void xb_refuse(struct xml_build *b, const char *why)
{
	if (b->refused != NULL)
		return;
	b->refused = why;
	b->refused_at = XML_GetCurrentByteIndex(b->p);
	XML_StopParser(b->p, XML_FALSE);
}

static void XMLCALL xb_start(void *arg, const XML_Char *name,
    const XML_Char **attrs)
{
	struct xml_build *b = arg;
	struct xml_node *n;

	(void)attrs;
	if (b->refused != NULL)
		return;
	if (b->depth > XML_MAX_DEPTH) {
		xb_refuse(b, "elements nested too deeply");
		return;
	}
	n = xcalloc(1, sizeof(*n));
	n->name = xstrdup(name);
	if (b->depth == 0) {
		b->root = n;
	} else {
		struct xml_node *parent = b->open[b->depth - 1].node;

		if (parent->last != NULL)
			parent->last->next = n;
		else
			parent->kids = n;
		parent->last = n;
	}
	b->open[b->depth].node = n;
	memset(&b->open[b->depth].text, 0, sizeof(b->open[b->depth].text));
	b->depth++;
}

static void XMLCALL xb_end(void *arg, const XML_Char *name)
{
	struct xml_build *b = arg;
	struct xml_open *o;

	(void)name;	/* expat has matched it against the start tag */
	if (b->refused != NULL || b->depth == 0)
		return;
	o = &b->open[--b->depth];
	o->node->text = o->text.p != NULL ? strbuf_detach(&o->text) :
	    xstrdup("");
}

static void XMLCALL xb_text(void *arg, const XML_Char *s, int len)
{
	struct xml_build *b = arg;

	if (b->refused != NULL || b->depth == 0 || len <= 0)
		return;
	/* Our strings end at NUL: a key with one inside would be cut short.
	 * (expat refuses NUL and &#0; itself; this keeps the promise should
	 * that ever change.) */
	if (memchr(s, '\0', (size_t)len) != NULL) {
		xb_refuse(b, "NUL byte in text");
		return;
	}
	strbuf_addn(&b->open[b->depth - 1].text, s, (size_t)len);
}

static void XMLCALL xb_doctype(void *arg, const XML_Char *name,
    const XML_Char *sysid, const XML_Char *pubid, int has_internal)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal;
	xb_refuse(arg, "a DOCTYPE is refused (S3 answers have none)");
}

/* Whatever is still open when parsing stops early: texts not yet handed to
 * their nodes (the nodes themselves hang from the root). */
static void xb_release_open(struct xml_build *b)
{
	while (b->depth > 0) {
		struct xml_open *o = &b->open[--b->depth];

		strbuf_release(&o->text);
		if (o->node->text == NULL)
			o->node->text = xstrdup("");
	}
}

struct xml_node *xml_parse(const char *s, size_t len, char *err,
    size_t errlen)
{
	struct xml_build b;
	enum XML_Status st = XML_STATUS_OK;
	size_t off = 0;

	if (s == NULL || len == 0) {
		err_set(err, errlen, "empty answer where XML was expected");
		return NULL;
	}
	memset(&b, 0, sizeof(b));
	/* NULL: the document's own declaration (or UTF-8) decides the
	 * encoding; no namespace processing, so names stay as written. */
	b.p = XML_ParserCreate(NULL);
	if (b.p == NULL)
		fatalx("xml: expat cannot create a parser (out of memory)");
	XML_SetUserData(b.p, &b);
	XML_SetElementHandler(b.p, xb_start, xb_end);
	XML_SetCharacterDataHandler(b.p, xb_text);
	XML_SetStartDoctypeDeclHandler(b.p, xb_doctype);
	/* External entities and parameter entities are never read. */
	XML_SetParamEntityParsing(b.p, XML_PARAM_ENTITY_PARSING_NEVER);
	/* XML_Parse takes an int length: feed big answers in pieces. */
	do {
		size_t n = len - off > (size_t)INT_MAX / 2 ?
		    (size_t)INT_MAX / 2 : len - off;

		st = XML_Parse(b.p, s + off, (int)n, off + n == len);
		off += n;
	} while (st == XML_STATUS_OK && off < len);
	if (st != XML_STATUS_OK || b.refused != NULL) {
		if (b.refused != NULL)
			err_set(err, errlen, "malformed XML at byte %lld: %s",
			    (long long)b.refused_at, b.refused);
		else
			err_set(err, errlen, "malformed XML at byte %lld: %s",
			    (long long)XML_GetCurrentByteIndex(b.p),
			    XML_ErrorString(XML_GetErrorCode(b.p)));
		xb_release_open(&b);
		xml_free(b.root);
		XML_ParserFree(b.p);
		return NULL;
	}
	XML_ParserFree(b.p);
	return b.root;
}

void xml_free(struct xml_node *n)
{
	while (n) {
		struct xml_node *next = n->next;
		xml_free(n->kids);
		free(n->name);
		free(n->text);
		free(n);
		n = next;
	}
}

const struct xml_node *xml_child(const struct xml_node *n, const char *name)
{
	for (const struct xml_node *k = n ? n->kids : NULL; k; k = k->next)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

const char *xml_child_text(const struct xml_node *n, const char *name)
{
	const struct xml_node *k = xml_child(n, name);
	return k ? k->text : NULL;
}

void xml_escape(struct strbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': strbuf_add(b, "&lt;"); break;
		case '>': strbuf_add(b, "&gt;"); break;
		case '&': strbuf_add(b, "&amp;"); break;
		case '"': strbuf_add(b, "&quot;"); break;
		case '\'': strbuf_add(b, "&apos;"); break;
		default: strbuf_addn(b, s, 1); break;
		}
	}
}
