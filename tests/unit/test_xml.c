/*
 * test_xml.c - the XML reader (common/xml.c) and S3's documents over it
 * (common/s3xml.c): trees, entities, malformed and truncated input, the
 * depth limit, escaping, and each S3 answer we read or body we write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/s3xml.h"
#include "../../common/strbuf.h"
#include "../../common/util.h"
#include "../../common/xml.h"
#include "t.h"

/* Parse a copy of s in a buffer of exactly strlen(s) bytes, no NUL after
 * it, so a read past the end shows under the sanitizers. */
static struct xml_node *parse_exact(const char *s, size_t len, char *err,
    size_t errlen)
{
	char *copy = xmalloc(len ? len : 1);
	memcpy(copy, s, len);
	struct xml_node *n = xml_parse(copy, len, err, errlen);
	free(copy);
	return n;
}

static void test_tree(void)
{
	static const char doc[] =
	    "\xef\xbb\xbf<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE r [ ]><!-- before -->\n"
	    "<s3:r xmlns:s3=\"urn:x\" a='1>2' b=\"/>\">"
	    "<k>v</k><empty/><empty2 x=\"y\" /><k>second</k>"
	    "<p><q>deep</q></p>text<?pi inside?><!-- c -->more"
	    "</s3:r >\n<!-- after -->\n";
	char err[160] = "";
	struct xml_node *r = parse_exact(doc, strlen(doc), err, sizeof(err));

	T_CHECK(r != NULL, "%s", err);
	if (r == NULL)
		return;
	T_EQ_STR(r->name, "s3:r");
	T_EQ_STR(r->text, "textmore");
	T_EQ_STR(xml_child_text(r, "k"), "v");	/* the first of two */
	T_EQ_STR(xml_child_text(r, "empty"), "");
	T_EQ_STR(xml_child_text(r, "empty2"), "");
	T_CHECK(xml_child_text(r, "missing") == NULL, "missing child");
	T_EQ_STR(xml_child_text(xml_child(r, "p"), "q"), "deep");
	T_CHECK(xml_child(NULL, "k") == NULL, "NULL parent");
	int n = 0;
	for (const struct xml_node *k = r->kids; k; k = k->next)
		n++;
	T_EQ_INT(n, 5);
	T_EQ_STR(r->last->name, "p");
	xml_free(r);
	xml_free(NULL);
}

static void test_entities(void)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "&lt;&gt;&amp;&quot;&apos;", "<>&\"'" },
		{ "&#65;&#x42;&#X43;&#x00064;", "ABCd" },
		{ "&#233;", "\xc3\xa9" },
		{ "&#x20AC;", "\xe2\x82\xac" },
		{ "&#x1F600;", "\xf0\x9f\x98\x80" },
		{ "&#x10FFFF;", "\xf4\x8f\xbf\xbf" },
		{ "<![CDATA[a & <b> ]]]]>", "a & <b> ]]" },
		{ "a<x>inner</x>b", "ab" },
		{ "  spaced  ", "  spaced  " },
		{ "", "" },
	};
	static const struct {
		const char *in, *needle;
	} bad[] = {
		{ "&bogus;", "unknown entity" },
		{ "&amp", "unknown entity" },
		{ "&", "unknown entity" },
		{ "&#;", "bad character reference" },
		{ "&#x;", "bad character reference" },
		{ "&#0;", "bad character reference" },
		{ "&#12a;", "bad character reference" },
		{ "&#x110000;", "out of range" },
		{ "&#99999999999999999999;", "out of range" },
		{ "&#65", "bad character reference" },
	};
	char err[160];

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		char *doc = xasprintf("<t>%s</t>", ok[i].in);
		struct xml_node *r = parse_exact(doc, strlen(doc), err,
		    sizeof(err));
		T_CHECK(r != NULL, "ok[%zu]: %s", i, err);
		if (r)
			T_EQ_STR(r->text, ok[i].out);
		xml_free(r);
		free(doc);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		/* Unterminated references also run into the end of the
		 * document: test them there as well as inside an element. */
		char *docs[2] = { xasprintf("<t>%s</t>", bad[i].in),
		    xasprintf("<t>%s", bad[i].in) };
		for (int d = 0; d < 2; d++) {
			err[0] = '\0';
			struct xml_node *r = parse_exact(docs[d],
			    strlen(docs[d]), err, sizeof(err));
			T_CHECK(r == NULL && strstr(err, d == 0 ? bad[i].needle :
			    "malformed XML") != NULL, "bad[%zu] %d: '%s'", i, d,
			    err);
			xml_free(r);
			free(docs[d]);
		}
	}
}

static void test_malformed(void)
{
	static const struct {
		const char *doc, *err;	/* err: the whole message */
	} rows[] = {
		{ "", "empty answer where XML was expected" },
		{ "plain text", "malformed XML at byte 0: expected '<'" },
		{ "<>", "malformed XML at byte 1: expected an element name" },
		{ "</a>", "malformed XML at byte 1: expected an element name" },
		{ "<a>", "malformed XML at byte 3: document ends inside an "
		  "element" },
		{ "<a></b>", "malformed XML at byte 5: end tag does not match "
		  "start tag" },
		{ "<a></a x>", "malformed XML at byte 7: end tag does not match "
		  "start tag" },
		{ "<ab></a>", "malformed XML at byte 6: end tag does not match "
		  "start tag" },
		{ "<a></a><b/>", "malformed XML at byte 7: content after the "
		  "document element" },
		{ "<a/>trailing", "malformed XML at byte 4: content after the "
		  "document element" },
		{ "<a x=\"1></a>", "malformed XML at byte 5: unterminated "
		  "attribute value" },
		{ "<a x", "malformed XML at byte 4: unterminated start tag" },
		{ "<a <b>", "malformed XML at byte 3: '<' inside a start tag" },
		{ "<!-- never closed", "malformed XML at byte 0: unterminated "
		  "markup" },
		{ "<?xml never closed", "malformed XML at byte 0: unterminated "
		  "markup" },
		{ "<a><![CDATA[x</a>", "malformed XML at byte 12: unterminated "
		  "markup" },
		{ "<a><!-- x</a>", "malformed XML at byte 3: unterminated "
		  "markup" },
	};
	char err[160];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		err[0] = '\0';
		struct xml_node *r = parse_exact(rows[i].doc,
		    strlen(rows[i].doc), err, sizeof(err));
		T_CHECK(r == NULL, "rows[%zu] parsed", i);
		T_EQ_STR(err, rows[i].err);
		xml_free(r);
	}
	/* A NUL inside text would cut a key short: refused. */
	static const char nul[] = "<a>x\0y</a>";
	struct xml_node *r = parse_exact(nul, sizeof(nul) - 1, err,
	    sizeof(err));
	T_CHECK(r == NULL && strstr(err, "NUL byte in text"), "%s", err);
	xml_free(r);
	/* A NULL document and a NULL error buffer are both survivable. */
	T_CHECK(xml_parse(NULL, 10, NULL, 0) == NULL, "NULL document");
	T_CHECK(xml_parse("<a>", 3, NULL, 0) == NULL, "no error buffer");
}

/* <a> nested n deep (n elements), closed or not. */
static char *nested(size_t n, bool closed)
{
	struct strbuf b = { 0 };
	for (size_t i = 0; i < n; i++)
		strbuf_add(&b, "<a>");
	for (size_t i = 0; closed && i < n; i++)
		strbuf_add(&b, "</a>");
	return b.p;
}

static void test_nesting(void)
{
	char err[160];
	/* The document element is depth 0: XML_MAX_DEPTH + 1 elements in
	 * all are allowed, one more is not. */
	char *fits = nested(XML_MAX_DEPTH + 1, true);
	char *over = nested(XML_MAX_DEPTH + 2, true);
	char *deep = nested(100000, false);
	struct xml_node *r = parse_exact(fits, strlen(fits), err, sizeof(err));
	T_CHECK(r != NULL, "%s", err);
	xml_free(r);
	r = parse_exact(over, strlen(over), err, sizeof(err));
	T_CHECK(r == NULL && strstr(err, "nested too deeply"), "%s", err);
	xml_free(r);
	r = parse_exact(deep, strlen(deep), err, sizeof(err));
	T_CHECK(r == NULL && strstr(err, "nested too deeply"), "%s", err);
	xml_free(r);
	free(fits);
	free(over);
	free(deep);
}

/* A listing as S3 sends it, ending at its last '>' so that no proper
 * prefix is a whole document. */
static const char listing[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>b</Name><IsTruncated>true</IsTruncated>"
    "<Contents><Key>p/a&amp;b</Key><LastModified>2009-10-12T17:50:30.000Z"
    "</LastModified><ETag>&quot;fba9dede5f27731c9771645a39863328&quot;"
    "</ETag><Size>434234</Size></Contents>"
    "<Contents><Key><![CDATA[p/<raw>]]></Key><Size>7</Size></Contents>"
    "<!-- c --><NextContinuationToken>tok==</NextContinuationToken>"
    "</ListBucketResult>";

static void test_truncation(void)
{
	char err[160];
	size_t len = strlen(listing), silent = 0, parsed = 0;

	struct xml_node *r = parse_exact(listing, len, err, sizeof(err));
	T_CHECK(r != NULL, "%s", err);
	xml_free(r);
	for (size_t n = 0; n < len; n++) {
		err[0] = '\0';
		r = parse_exact(listing, n, err, sizeof(err));
		if (r)
			parsed++;
		else if (err[0] == '\0')
			silent++;
		xml_free(r);
	}
	T_EQ_INT(parsed, 0);
	T_EQ_INT(silent, 0);
	/* And the listing parser sees every cut as an error too. */
	for (size_t n = 0; n < len; n += 13) {
		struct s3_list l;
		T_EQ_INT(s3xml_parse_list(listing, n, &l, err, sizeof(err)), -1);
	}
}

static void test_escape(void)
{
	static const char *const strs[] = {
		"plain", "<>&\"'", "a&amp;b", "]]>", "\xc3\xa9 \t\n", "",
		"p/<x>&'y'\"z\"",
	};
	char err[160];

	struct strbuf b = { 0 };
	xml_escape(&b, "<a href=\"x\">&'");
	T_EQ_STR(b.p, "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
	strbuf_release(&b);
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		struct strbuf d = { 0 };
		strbuf_add(&d, "<k>");
		xml_escape(&d, strs[i]);
		strbuf_add(&d, "</k>");
		struct xml_node *r = parse_exact(d.p, d.len, err, sizeof(err));
		T_CHECK(r != NULL, "strs[%zu]: %s", i, err);
		if (r)
			T_EQ_STR(r->text, strs[i]);
		xml_free(r);
		strbuf_release(&d);
	}
}

static void test_s3_answers(void)
{
	char err[300], etag[DIGEST_ETAG_MAX];
	size_t failed;

	/* InitiateMultipartUpload */
	static const char init[] = "<InitiateMultipartUploadResult><Bucket>b"
	    "</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE&amp;x</UploadId>"
	    "</InitiateMultipartUploadResult>";
	char *id = s3xml_upload_id(init, strlen(init), err, sizeof(err));
	T_EQ_STR(id, "VXBsb2FkIElE&x");
	free(id);
	static const char *const noid[] = {
		"<InitiateMultipartUploadResult/>",
		"<InitiateMultipartUploadResult><UploadId></UploadId>"
		"</InitiateMultipartUploadResult>",
	};
	for (size_t i = 0; i < ARRAY_SIZE(noid); i++) {
		id = s3xml_upload_id(noid[i], strlen(noid[i]), err, sizeof(err));
		T_CHECK(id == NULL && strcmp(err, "no <UploadId> in the "
		    "answer") == 0, "noid[%zu]: %s", i, err);
	}
	id = s3xml_upload_id("<x", 2, err, sizeof(err));
	T_CHECK(id == NULL && strstr(err, "malformed XML"), "%s", err);

	/* CompleteMultipartUpload */
	static const char done[] = "<CompleteMultipartUploadResult><ETag>"
	    "&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
	    "</CompleteMultipartUploadResult>";
	s3xml_complete_etag(done, strlen(done), etag);
	T_EQ_STR(etag, "3858f62230ac3c915f300c664312c11f-9");
	static const char noetag[] = "<CompleteMultipartUploadResult/>";
	s3xml_complete_etag(noetag, strlen(noetag), etag);
	T_EQ_STR(etag, "");
	s3xml_complete_etag(NULL, 0, etag);
	T_EQ_STR(etag, "");

	/* DeleteObjects */
	static const char clean[] = "<DeleteResult><Deleted><Key>a</Key>"
	    "</Deleted></DeleteResult>";
	T_EQ_INT(s3xml_parse_delete(clean, strlen(clean), "s3://b/p",
	    &failed, err, sizeof(err)), 0);
	T_EQ_INT(failed, 0);
	static const char errs[] = "<DeleteResult><Error><Key>p/k1</Key>"
	    "<Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
	    "<Deleted><Key>p/k2</Key></Deleted><Error><Code>InternalError"
	    "</Code></Error></DeleteResult>";
	T_EQ_INT(s3xml_parse_delete(errs, strlen(errs), "s3://b/p", &failed,
	    err, sizeof(err)), 0);
	T_EQ_INT(failed, 2);
	T_EQ_STR(err, "s3://b/p/p/k1: cannot delete: AccessDenied: Access "
	    "Denied");
	static const struct {
		const char *xml, *err;
	} notdel[] = {
		{ "<Error><Code>AccessDenied</Code></Error>", "s3://b: cannot "
		  "read the DeleteObjects answer: not a <DeleteResult>" },
		{ "<DeleteResult>", "s3://b: cannot read the DeleteObjects "
		  "answer: malformed XML at byte 14: document ends inside an "
		  "element" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(notdel); i++) {
		T_EQ_INT(s3xml_parse_delete(notdel[i].xml, strlen(notdel[i].xml),
		    "s3://b", &failed, err, sizeof(err)), -1);
		T_EQ_STR(err, notdel[i].err);
	}
}

static void test_s3_bodies(void)
{
	static const char *const keys[] = { "a&b", "<c>", "d'e\"f" };
	static const char *const want[] = { "pre/a&b", "pre/<c>",
	    "pre/d'e\"f" };
	static const char *const etags[] = { "e1", "e&2" };
	struct strbuf b = { 0 };
	char err[160];
	size_t n = 0;

	s3xml_delete_body(&b, "pre/", keys, ARRAY_SIZE(keys));
	struct xml_node *r = parse_exact(b.p, b.len, err, sizeof(err));
	T_CHECK(r != NULL && strcmp(r->name, "Delete") == 0, "%s", err);
	T_EQ_STR(xml_child_text(r, "Quiet"), "true");
	for (const struct xml_node *k = r ? r->kids : NULL; k; k = k->next) {
		if (strcmp(k->name, "Object") != 0)
			continue;
		if (n < ARRAY_SIZE(want))
			T_EQ_STR(xml_child_text(k, "Key"), want[n]);
		n++;
	}
	T_EQ_INT(n, ARRAY_SIZE(keys));
	xml_free(r);
	strbuf_release(&b);

	s3xml_complete_body(&b, etags, 2);
	r = parse_exact(b.p, b.len, err, sizeof(err));
	T_CHECK(r != NULL, "%s", err);
	n = 0;
	for (const struct xml_node *k = r ? r->kids : NULL; k; k = k->next) {
		char num[8];
		snprintf(num, sizeof(num), "%zu", n + 1);
		T_EQ_STR(k->name, "Part");
		T_EQ_STR(xml_child_text(k, "PartNumber"), num);
		char *q = xasprintf("\"%s\"", n < 2 ? etags[n] : "");
		T_EQ_STR(xml_child_text(k, "ETag"), q);
		free(q);
		n++;
	}
	T_EQ_INT(n, 2);
	xml_free(r);
	strbuf_release(&b);
}

int main(void)
{
	test_tree();
	test_entities();
	test_malformed();
	test_nesting();
	test_truncation();
	test_escape();
	test_s3_answers();
	test_s3_bodies();
	return t_done("test_xml");
}
