/*
 * test_xml.c - the XML reader (common/xml.c, over expat) and S3's documents
 * over it (common/s3xml.c): trees, entities, malformed and truncated input,
 * DOCTYPEs and entity definitions refused, the depth limit, encodings,
 * escaping, and each S3 answer we read or body we write.
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
	    "<!-- before -->\n"
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
		{ "&#65;&#x42;&#x43;&#x00064;", "ABCd" },
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
		{ "&bogus;", "undefined entity" },
		{ "&amp", "not well-formed" },
		{ "&", "not well-formed" },
		{ "&#;", "not well-formed" },
		{ "&#x;", "not well-formed" },
		{ "&#0;", "invalid character number" },
		{ "&#12a;", "not well-formed" },
		{ "&#X43;", "not well-formed" },
		{ "&#x110000;", "invalid character number" },
		{ "&#99999999999999999999;", "invalid character number" },
		{ "&#65", "not well-formed" },
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
	/* err: "empty answer ..." whole, else expat's reason after the
	 * "malformed XML at byte N: " every refusal starts with. */
	static const struct {
		const char *doc, *err;
	} rows[] = {
		{ "", "empty answer where XML was expected" },
		{ "plain text", "syntax error" },
		{ "<>", "not well-formed (invalid token)" },
		{ "</a>", "not well-formed (invalid token)" },
		{ "<a>", "no element found" },
		{ "<a></b>", "mismatched tag" },
		{ "<a></a x>", "not well-formed (invalid token)" },
		{ "<ab></a>", "mismatched tag" },
		{ "<a></a><b/>", "junk after document element" },
		{ "<a/>trailing", "junk after document element" },
		{ "<a x=\"1></a>", "not well-formed (invalid token)" },
		{ "<a x", "unclosed token" },
		{ "<a <b>", "not well-formed (invalid token)" },
		{ "<!-- never closed", "unclosed token" },
		{ "<?xml never closed", "unclosed token" },
		{ "<a><![CDATA[x</a>", "unclosed CDATA section" },
		{ "<a><!-- x</a>", "unclosed token" },
		{ "<a>\xff\xfe</a>", "not well-formed (invalid token)" },
	};
	char err[160];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		err[0] = '\0';
		struct xml_node *r = parse_exact(rows[i].doc,
		    strlen(rows[i].doc), err, sizeof(err));
		T_CHECK(r == NULL, "rows[%zu] parsed", i);
		if (i == 0) {
			T_EQ_STR(err, rows[i].err);
		} else {
			const char *why = strstr(err, ": ");
			T_CHECK(strncmp(err, "malformed XML at byte ", 22) == 0 &&
			    why != NULL && strcmp(why + 2, rows[i].err) == 0,
			    "rows[%zu]: '%s', want '%s'", i, err, rows[i].err);
		}
		xml_free(r);
	}
	/* A NUL inside text would cut a key short: refused. */
	static const char nul[] = "<a>x\0y</a>";
	struct xml_node *r = parse_exact(nul, sizeof(nul) - 1, err,
	    sizeof(err));
	T_CHECK(r == NULL && strstr(err, "malformed XML at byte 4"), "%s", err);
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
		  "answer: malformed XML at byte 14: no element found" },
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

/* No DOCTYPE: no entity can be defined, so an answer cannot expand one
 * (billion laughs) or make us read a file or a URL (external entities). */
static void test_doctype(void)
{
	static const char *const docs[] = {
		"<!DOCTYPE r [ ]><r/>",
		"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaa\">"
		"<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">"
		"<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]><r>&c;&c;&c;</r>",
		"<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		"<r>&x;</r>",
		"<!DOCTYPE r SYSTEM \"http://127.0.0.1:1/evil.dtd\"><r/>",
	};
	char err[160];

	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		err[0] = '\0';
		struct xml_node *r = parse_exact(docs[i], strlen(docs[i]), err,
		    sizeof(err));
		T_CHECK(r == NULL && strstr(err, "malformed XML at byte ") &&
		    strstr(err, "DOCTYPE is refused"), "docs[%zu]: '%s'", i,
		    err);
		xml_free(r);
	}
}

/* The declared encoding is honoured and text comes out as UTF-8. */
static void test_encoding(void)
{
	static const char latin1[] = "<?xml version=\"1.0\" encoding="
	    "\"ISO-8859-1\"?><k>caf\xe9</k>";
	static const char utf8[] = "<k>caf\xc3\xa9</k>";
	char err[160];
	struct xml_node *r = parse_exact(latin1, strlen(latin1), err,
	    sizeof(err));

	T_CHECK(r != NULL, "%s", err);
	if (r)
		T_EQ_STR(r->text, "caf\xc3\xa9");
	xml_free(r);
	r = parse_exact(utf8, strlen(utf8), err, sizeof(err));
	T_CHECK(r != NULL, "%s", err);
	if (r)
		T_EQ_STR(r->text, "caf\xc3\xa9");
	xml_free(r);
}

/* Answers as S3 (and compatible stores) send them, namespace and all. */
static void test_s3_real_answers(void)
{
	char err[300], code[64], msg[256], etag[DIGEST_ETAG_MAX];
	struct s3_list l;

	/* ListObjectsV2, last page: whitespace between elements, an owner,
	 * a storage class, and an entry with a multipart ETag. */
	static const char page[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
	    "  <Name>bk</Name>\n  <Prefix>c1/</Prefix>\n  <KeyCount>2</KeyCount>\n"
	    "  <MaxKeys>1000</MaxKeys>\n  <IsTruncated>false</IsTruncated>\n"
	    "  <Contents>\n    <Key>c1/data/a b.db</Key>\n"
	    "    <LastModified>2026-12-01T10:00:00.000Z</LastModified>\n"
	    "    <ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag>\n"
	    "    <Size>0</Size>\n    <StorageClass>STANDARD</StorageClass>\n"
	    "  </Contents>\n"
	    "  <Contents>\n    <Key>c1/data/big.db</Key>\n"
	    "    <LastModified>2026-12-01T10:00:01Z</LastModified>\n"
	    "    <ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag>\n"
	    "    <Size>75497472</Size>\n"
	    "    <Owner><ID>abc</ID><DisplayName>me</DisplayName></Owner>\n"
	    "  </Contents>\n</ListBucketResult>\n";

	T_EQ_INT(s3xml_parse_list(page, strlen(page), &l, err, sizeof(err)), 0);
	T_EQ_INT(l.n, 2);
	T_CHECK(!l.truncated && l.next_token == NULL, "last page");
	if (l.n == 2) {
		T_EQ_STR(l.objs[0].key, "c1/data/a b.db");
		T_EQ_INT(l.objs[0].size, 0);
		T_EQ_STR(l.objs[0].etag, "d41d8cd98f00b204e9800998ecf8427e");
		T_EQ_INT(l.objs[0].mtime, 1796119200);
		T_EQ_STR(l.objs[1].etag, "3858f62230ac3c915f300c664312c11f-9");
		T_EQ_INT(l.objs[1].size, 75497472);
	}
	s3_list_release(&l);
	/* The middle page of a listing. */
	T_EQ_INT(s3xml_parse_list(listing, strlen(listing), &l, err,
	    sizeof(err)), 0);
	T_CHECK(l.truncated && l.next_token && strcmp(l.next_token, "tok==") == 0,
	    "truncated page with its token");
	if (l.n == 2) {
		T_EQ_STR(l.objs[0].key, "p/a&b");
		T_EQ_STR(l.objs[1].key, "p/<raw>");
	}
	s3_list_release(&l);

	/* Listings refused: what would loop or lose keys. */
	static const struct {
		const char *xml, *needle;
	} badlist[] = {
		{ "<ListBucketResult><IsTruncated>true</IsTruncated>"
		  "</ListBucketResult>", "no <NextContinuationToken>" },
		{ "<ListBucketResult><Contents><Size>1</Size></Contents>"
		  "</ListBucketResult>", "an entry has no <Key>" },
		{ "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size>"
		  "</Contents></ListBucketResult>", "bad <Size> for key 'k'" },
		{ "<ListBucketResult><Contents><Key>k</Key></Contents>"
		  "</ListBucketResult>", "bad <Size> for key 'k'" },
		{ "<Error><Code>AccessDenied</Code></Error>",
		  "expected <ListBucketResult>, got <Error>" },
		{ "<html><body>proxy error</body></html>",
		  "expected <ListBucketResult>, got <html>" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(badlist); i++) {
		err[0] = '\0';
		T_EQ_INT(s3xml_parse_list(badlist[i].xml, strlen(badlist[i].xml),
		    &l, err, sizeof(err)), -1);
		T_CHECK(strstr(err, badlist[i].needle) != NULL,
		    "badlist[%zu]: '%s'", i, err);
		T_CHECK(l.n == 0 && l.objs == NULL, "badlist[%zu] left empty", i);
	}

	/* <Error> documents: S3's, with a request id and a resource. */
	static const char e1[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<Error><Code>NoSuchKey</Code><Message>The specified key does not "
	    "exist.</Message><Key>c1/x</Key><RequestId>4442587FB7D0A2F9"
	    "</RequestId></Error>";
	T_EQ_INT(s3xml_parse_error(e1, strlen(e1), code, sizeof(code), msg,
	    sizeof(msg)), 0);
	T_EQ_STR(code, "NoSuchKey");
	T_EQ_STR(msg, "The specified key does not exist.");
	static const char e2[] = "<Error><Code>SlowDown</Code></Error>";
	T_EQ_INT(s3xml_parse_error(e2, strlen(e2), code, sizeof(code), msg,
	    sizeof(msg)), 0);
	T_EQ_STR(code, "SlowDown");
	T_EQ_STR(msg, "");
	static const char *const noterr[] = { "<ListBucketResult/>",
	    "Service Unavailable", "<Error><Code>x</Code>" };
	for (size_t i = 0; i < ARRAY_SIZE(noterr); i++)
		T_EQ_INT(s3xml_parse_error(noterr[i], strlen(noterr[i]), code,
		    sizeof(code), msg, sizeof(msg)), -1);

	/* Multipart: start with the namespace; a completion S3 answers 200
	 * with an <Error> inside has no ETag. */
	static const char init[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/"
	    "doc/2006-03-01/\"><Bucket>bk</Bucket><Key>c1/big.db</Key>"
	    "<UploadId>2~iCw_lDY8VoNNIB6tSOOUgIfgEnyxBZM</UploadId>"
	    "</InitiateMultipartUploadResult>";
	char *id = s3xml_upload_id(init, strlen(init), err, sizeof(err));
	T_EQ_STR(id, "2~iCw_lDY8VoNNIB6tSOOUgIfgEnyxBZM");
	free(id);
	static const char done[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/"
	    "doc/2006-03-01/\"><Location>http://bk.s3/c1/big.db</Location>"
	    "<Bucket>bk</Bucket><Key>c1/big.db</Key><ETag>\"3858f62230ac3c915f"
	    "300c664312c11f-9\"</ETag></CompleteMultipartUploadResult>";
	s3xml_complete_etag(done, strlen(done), etag);
	T_EQ_STR(etag, "3858f62230ac3c915f300c664312c11f-9");
	static const char late[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "\n\n<Error><Code>InternalError</Code><Message>We encountered an "
	    "internal error. Please try again.</Message></Error>";
	s3xml_complete_etag(late, strlen(late), etag);
	T_EQ_STR(etag, "");
}

int main(void)
{
	test_tree();
	test_entities();
	test_malformed();
	test_nesting();
	test_doctype();
	test_encoding();
	test_truncation();
	test_escape();
	test_s3_answers();
	test_s3_real_answers();
	test_s3_bodies();
	return t_done("test_xml");
}
