/*
 * s3xml.h - S3's XML documents, read into our structs and written from
 * them: ListObjectsV2 pages, <Error>, the multipart upload's start and
 * completion, and DeleteObjects.  The reading itself is xml.c's; this
 * module knows which elements S3 puts where and what is required.
 */
#ifndef RM_S3XML_H
#define RM_S3XML_H

#include <stddef.h>

#include "digest.h"
#include "s3.h"
#include "strbuf.h"

/*
 * A <ListBucketResult> into out (keys whole, as the server sent them).
 * Every entry needs a <Key> and a numeric <Size>; a truncated page needs a
 * <NextContinuationToken>.  0, or -1 with err ("cannot read the listing:
 * ...") and out empty.
 */
int s3xml_parse_list(const char *xml, size_t len, struct s3_list *out,
    char *err, size_t errlen);
/* An <Error> document's Code and Message (either may come back "");
 * 0 when xml is one, -1 otherwise. */
int s3xml_parse_error(const char *xml, size_t len, char *code,
    size_t codelen, char *msg, size_t msglen);
/* The <UploadId> of an InitiateMultipartUpload answer (caller frees), or
 * NULL with err saying what is wrong with the answer. */
char *s3xml_upload_id(const char *xml, size_t len, char *err, size_t errlen);
/* The unquoted <ETag> of a CompleteMultipartUpload answer; "" when the
 * answer has none or cannot be read. */
void s3xml_complete_etag(const char *xml, size_t len,
    char etag[DIGEST_ETAG_MAX]);
/*
 * A <DeleteResult>: *failed gets the number of <Error> entries, and err
 * the first one as "<url>/<key>: cannot delete: <code>: <message>".
 * -1 with err ("<url>: cannot read the DeleteObjects answer: ...") when the
 * answer is not one.
 */
int s3xml_parse_delete(const char *xml, size_t len, const char *url,
    size_t *failed, char *err, size_t errlen);

/* The quiet DeleteObjects body for prefix+keys[i]. */
void s3xml_delete_body(struct strbuf *b, const char *prefix,
    const char *const *keys, size_t n);
/* The CompleteMultipartUpload body; etags[i] is part i+1's, unquoted. */
void s3xml_complete_body(struct strbuf *b, const char *const *etags,
    unsigned n);

#endif
