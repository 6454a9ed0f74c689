/*
 * xml.c - see xml.h.
 *
 * A recursive-descent reader into a tree: S3's answers are small (a
 * listing page is at most a thousand entries), so a tree is simpler to
 * query than events, and the depth limit keeps the recursion bounded
 * whatever the server sends.
 */
#include "xml.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct xparser {
	const char *s, *end, *start;
	char *err;
	size_t errlen;
};

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

static int xfail(struct xparser *x, const char *what)
{
	err_set(x->err, x->errlen, "malformed XML at byte %zu: %s",
	    (size_t)(x->s - x->start), what);
	return -1;
}

static bool xstarts(const struct xparser *x, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(x->end - x->s) >= n && memcmp(x->s, lit, n) == 0;
}

/* Skip past the next occurrence of lit. */
static int xskip_past(struct xparser *x, const char *lit)
{
	size_t n = strlen(lit);
	for (const char *p = x->s; p + n <= x->end; p++) {
		if (memcmp(p, lit, n) == 0) {
			x->s = p + n;
			return 0;
		}
	}
	return xfail(x, "unterminated markup");
}

static void xskip_ws(struct xparser *x)
{
	while (x->s < x->end && isspace((unsigned char)*x->s))
		x->s++;
}

/* Comments, PIs and DOCTYPE between elements. */
static int xskip_misc(struct xparser *x)
{
	for (;;) {
		xskip_ws(x);
		if (xstarts(x, "<?")) {
			if (xskip_past(x, "?>") < 0)
				return -1;
		} else if (xstarts(x, "<!--")) {
			if (xskip_past(x, "-->") < 0)
				return -1;
		} else if (xstarts(x, "<!DOCTYPE")) {
			if (xskip_past(x, ">") < 0)
				return -1;
		} else {
			return 0;
		}
	}
}

static void utf8_put(struct strbuf *b, unsigned long c)
{
	char u[4];
	size_t n;
	if (c < 0x80) {
		u[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | (c >> 6));
		u[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | (c >> 12));
		u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (c >> 18));
		u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	strbuf_addn(b, u, n);
}

static int xentity(struct xparser *x, struct strbuf *b)
{
	static const struct {
		const char *name;
		char c;
	} ents[] = {
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ents); i++) {
		if (xstarts(x, ents[i].name)) {
			strbuf_addn(b, &ents[i].c, 1);
			x->s += strlen(ents[i].name);
			return 0;
		}
	}
	if (xstarts(x, "&#")) {
		const char *p = x->s + 2;
		int base = 10;
		unsigned long c = 0;
		int digits = 0;
		if (p < x->end && (*p == 'x' || *p == 'X')) {
			base = 16;
			p++;
		}
		for (; p < x->end && *p != ';'; p++, digits++) {
			int d;
			if (isdigit((unsigned char)*p))
				d = *p - '0';
			else if (base == 16 && isxdigit((unsigned char)*p))
				d = tolower((unsigned char)*p) - 'a' + 10;
			else
				return xfail(x, "bad character reference");
			c = c * (unsigned long)base + (unsigned long)d;
			if (c > 0x10ffff)
				return xfail(x, "character reference out of range");
		}
		if (p >= x->end || digits == 0 || c == 0)
			return xfail(x, "bad character reference");
		utf8_put(b, c);
		x->s = p + 1;
		return 0;
	}
	return xfail(x, "unknown entity");
}

static int xname(struct xparser *x, char **out)
{
	const char *p = x->s;
	while (p < x->end && !isspace((unsigned char)*p) && *p != '>' &&
	    *p != '/' && *p != '<' && *p != '=')
		p++;
	if (p == x->s)
		return xfail(x, "expected an element name");
	*out = xstrndup(x->s, (size_t)(p - x->s));
	x->s = p;
	return 0;
}

/* The rest of a start tag after its name: attributes are skipped, but
 * quoted values may hold '>' or '/'.  1 for an empty element ("/>"). */
static int xattrs(struct xparser *x)
{
	for (;;) {
		if (x->s >= x->end)
			return xfail(x, "unterminated start tag");
		if (*x->s == '"' || *x->s == '\'') {
			const char *q = memchr(x->s + 1, *x->s,
			    (size_t)(x->end - x->s - 1));
			if (q == NULL)
				return xfail(x, "unterminated attribute value");
			x->s = q + 1;
		} else if (xstarts(x, "/>")) {
			x->s += 2;
			return 1;
		} else if (*x->s == '>') {
			x->s++;
			return 0;
		} else if (*x->s == '<') {
			return xfail(x, "'<' inside a start tag");
		} else {
			x->s++;
		}
	}
}

/* "</name>" with optional space before '>'. */
static int xend_tag(struct xparser *x, const char *name)
{
	size_t nl = strlen(name);
	x->s += 2;
	if ((size_t)(x->end - x->s) < nl || memcmp(x->s, name, nl) != 0)
		return xfail(x, "end tag does not match start tag");
	x->s += nl;
	xskip_ws(x);
	if (!xstarts(x, ">"))
		return xfail(x, "end tag does not match start tag");
	x->s++;
	return 0;
}

static int xelement(struct xparser *x, struct xml_node **out, int depth)
{
	struct xml_node *n;
	struct strbuf text = { 0 };
	int rc;

	if (depth > XML_MAX_DEPTH)
		return xfail(x, "elements nested too deeply");
	if (!xstarts(x, "<"))
		return xfail(x, "expected '<'");
	x->s++;
	n = xcalloc(1, sizeof(*n));
	if (xname(x, &n->name) < 0 || (rc = xattrs(x)) < 0)
		goto fail;
	if (rc == 1) {
		n->text = xstrdup("");
		*out = n;
		return 0;
	}
	for (;;) {
		if (x->s >= x->end) {
			xfail(x, "document ends inside an element");
			goto fail;
		}
		if (xstarts(x, "</")) {
			if (xend_tag(x, n->name) < 0)
				goto fail;
			break;
		} else if (xstarts(x, "<!--")) {
			if (xskip_past(x, "-->") < 0)
				goto fail;
		} else if (xstarts(x, "<![CDATA[")) {
			const char *p = x->s + 9;
			x->s = p;
			if (xskip_past(x, "]]>") < 0)
				goto fail;
			strbuf_addn(&text, p, (size_t)(x->s - 3 - p));
		} else if (xstarts(x, "<?")) {
			if (xskip_past(x, "?>") < 0)
				goto fail;
		} else if (*x->s == '<') {
			struct xml_node *kid = NULL;
			if (xelement(x, &kid, depth + 1) < 0)
				goto fail;
			if (n->last)
				n->last->next = kid;
			else
				n->kids = kid;
			n->last = kid;
		} else if (*x->s == '&') {
			if (xentity(x, &text) < 0)
				goto fail;
		} else {
			const char *p = x->s;
			while (p < x->end && *p != '<' && *p != '&')
				p++;
			/* Our strings end at NUL: a key with one inside
			 * would be silently cut. */
			if (memchr(x->s, '\0', (size_t)(p - x->s))) {
				xfail(x, "NUL byte in text");
				goto fail;
			}
			strbuf_addn(&text, x->s, (size_t)(p - x->s));
			x->s = p;
		}
	}
	n->text = text.p ? text.p : xstrdup("");
	*out = n;
	return 0;
fail:
	strbuf_release(&text);
	xml_free(n);
	return -1;
}

struct xml_node *xml_parse(const char *s, size_t len, char *err,
    size_t errlen)
{
	struct xparser x = { s, s + len, s, err, errlen };
	struct xml_node *root = NULL;

	if (s == NULL || len == 0) {
		err_set(err, errlen, "empty answer where XML was expected");
		return NULL;
	}
	/* A UTF-8 byte order mark is allowed. */
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		x.s += 3;
	if (xskip_misc(&x) < 0)
		return NULL;
	if (xelement(&x, &root, 0) < 0)
		return NULL;
	if (xskip_misc(&x) < 0) {
		xml_free(root);
		return NULL;
	}
	if (x.s != x.end) {
		xfail(&x, "content after the document element");
		xml_free(root);
		return NULL;
	}
	return root;
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
