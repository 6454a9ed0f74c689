/*
 * s3xml.c - see s3xml.h.
 */
#include "s3xml.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "xml.h"

/* "2009-10-12T17:50:30.000Z" (fraction optional) to epoch seconds. */
static int parse_iso8601(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	int n = 0;
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &n) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

int s3xml_parse_error(const char *xml, size_t len, char *code,
    size_t codelen, char *msg, size_t msglen)
{
	char perr[128];
	struct xml_node *root = xml_parse(xml, len, perr, sizeof(perr));
	int rc = -1;

	if (root && strcmp(root->name, "Error") == 0) {
		const char *c = xml_child_text(root, "Code");
		const char *m = xml_child_text(root, "Message");
		if (code)
			str_copy(code, c ? c : "", codelen);
		if (msg)
			str_copy(msg, m ? m : "", msglen);
		rc = 0;
	}
	xml_free(root);
	return rc;
}

/* One <Contents> entry appended to out; -1 with err when it is unusable. */
static int list_entry(const struct xml_node *k, struct s3_list *out,
    size_t *cap, char *err, size_t errlen)
{
	const char *key = xml_child_text(k, "Key");
	uint64_t size;

	if (key == NULL || *key == '\0') {
		err_set(err, errlen, "cannot read the listing: an entry has no "
		    "<Key>");
		return -1;
	}
	if (str_to_u64(xml_child_text(k, "Size"), &size) < 0) {
		err_set(err, errlen, "cannot read the listing: bad <Size> for "
		    "key '%s'", key);
		return -1;
	}
	if (out->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		out->objs = xrealloc(out->objs, *cap * sizeof(*out->objs));
	}
	struct s3_object *o = &out->objs[out->n++];
	memset(o, 0, sizeof(*o));
	o->key = xstrdup(key);
	o->size = size;
	if (parse_iso8601(xml_child_text(k, "LastModified"), &o->mtime) < 0)
		o->mtime = 0;
	digest_etag_copy(o->etag, sizeof(o->etag), xml_child_text(k, "ETag"));
	return 0;
}

int s3xml_parse_list(const char *xml, size_t len, struct s3_list *out,
    char *err, size_t errlen)
{
	char perr[160];
	struct xml_node *root;
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	root = xml_parse(xml, len, perr, sizeof(perr));
	if (root == NULL) {
		err_set(err, errlen, "cannot read the listing: %s", perr);
		return -1;
	}
	if (strcmp(root->name, "ListBucketResult") != 0) {
		err_set(err, errlen, "cannot read the listing: expected "
		    "<ListBucketResult>, got <%.40s>", root->name);
		goto fail;
	}
	for (const struct xml_node *k = root->kids; k; k = k->next)
		if (strcmp(k->name, "Contents") == 0 &&
		    list_entry(k, out, &cap, err, errlen) < 0)
			goto fail;
	const char *trunc = xml_child_text(root, "IsTruncated");
	out->truncated = trunc && strcmp(trunc, "true") == 0;
	const char *next = xml_child_text(root, "NextContinuationToken");
	if (out->truncated) {
		/* Without a token the next page would be this one again. */
		if (next == NULL || *next == '\0') {
			err_set(err, errlen, "cannot read the listing: it is "
			    "truncated but has no <NextContinuationToken>");
			goto fail;
		}
		out->next_token = xstrdup(next);
	}
	xml_free(root);
	return 0;
fail:
	xml_free(root);
	s3_list_release(out);
	return -1;
}

char *s3xml_upload_id(const char *xml, size_t len, char *err, size_t errlen)
{
	char perr[160];
	struct xml_node *root = xml_parse(xml, len, perr, sizeof(perr));
	const char *id = root ? xml_child_text(root, "UploadId") : NULL;
	char *out = NULL;

	if (id == NULL || *id == '\0')
		err_set(err, errlen, "%s", root ? "no <UploadId> in the answer" :
		    perr);
	else
		out = xstrdup(id);
	xml_free(root);
	return out;
}

void s3xml_complete_etag(const char *xml, size_t len,
    char etag[DIGEST_ETAG_MAX])
{
	struct xml_node *root = xml_parse(xml, len, NULL, 0);
	digest_etag_copy(etag, DIGEST_ETAG_MAX,
	    root ? xml_child_text(root, "ETag") : NULL);
	xml_free(root);
}

int s3xml_parse_delete(const char *xml, size_t len, const char *url,
    size_t *failed, char *err, size_t errlen)
{
	char perr[160];
	struct xml_node *root = xml_parse(xml, len, perr, sizeof(perr));

	*failed = 0;
	if (root == NULL || strcmp(root->name, "DeleteResult") != 0) {
		err_set(err, errlen, "%s: cannot read the DeleteObjects answer: "
		    "%s", url, root ? "not a <DeleteResult>" : perr);
		xml_free(root);
		return -1;
	}
	for (const struct xml_node *k = root->kids; k; k = k->next) {
		if (strcmp(k->name, "Error") != 0)
			continue;
		if ((*failed)++ == 0) {
			const char *key = xml_child_text(k, "Key");
			const char *code = xml_child_text(k, "Code");
			const char *msg = xml_child_text(k, "Message");
			err_set(err, errlen, "%s/%s: cannot delete: %s: %s",
			    url, key ? key : "?", code ? code : "?",
			    msg ? msg : "");
		}
	}
	xml_free(root);
	return 0;
}

void s3xml_delete_body(struct strbuf *b, const char *prefix,
    const char *const *keys, size_t n)
{
	/* Quiet: the answer lists only failures, so 1,000 deletions do not
	 * come back as 1,000 entries. */
	strbuf_add(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<Delete><Quiet>true</Quiet>");
	for (size_t i = 0; i < n; i++) {
		strbuf_add(b, "<Object><Key>");
		xml_escape(b, prefix);
		xml_escape(b, keys[i]);
		strbuf_add(b, "</Key></Object>");
	}
	strbuf_add(b, "</Delete>");
}

void s3xml_complete_body(struct strbuf *b, const char *const *etags,
    unsigned n)
{
	strbuf_add(b, "<CompleteMultipartUpload>");
	for (unsigned i = 0; i < n; i++) {
		strbuf_addf(b, "<Part><PartNumber>%u</PartNumber><ETag>\"",
		    i + 1);
		xml_escape(b, etags[i]);
		strbuf_add(b, "\"</ETag></Part>");
	}
	strbuf_add(b, "</CompleteMultipartUpload>");
}
