/*
 * fuzz_s3xml.c - S3's answers come from the network: every reader of
 * common/s3xml.h on any bytes (the interface stays when its XML reader
 * changes).  A listing that parses has a key for each entry and, when
 * truncated, a continuation token; failures say why.
 */
#include "../../common/s3xml.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;
	struct s3_list l;
	char err[512] = "", code[64], msg[256], etag[DIGEST_ETAG_MAX];
	char *id;
	size_t failed = 0, i;

	memset(&l, 0, sizeof(l));
	if (s3xml_parse_list(xml, size, &l, err, sizeof(err)) == 0) {
		for (i = 0; i < l.n; i++)
			FUZZ_ASSERT(l.objs[i].key != NULL, "entry %zu without key", i);
		FUZZ_ASSERT(!l.truncated || l.next_token != NULL,
		    "truncated page without a token");
	} else {
		FUZZ_ASSERT(err[0] != '\0', "listing refused silently");
		FUZZ_ASSERT(l.n == 0, "refused listing left %zu entries", l.n);
	}
	s3_list_release(&l);

	if (s3xml_parse_error(xml, size, code, sizeof(code), msg,
	    sizeof(msg)) == 0)
		FUZZ_ASSERT(memchr(code, '\0', sizeof(code)) != NULL &&
		    memchr(msg, '\0', sizeof(msg)) != NULL, "unterminated");

	err[0] = '\0';
	if ((id = s3xml_upload_id(xml, size, err, sizeof(err))) == NULL)
		FUZZ_ASSERT(err[0] != '\0', "no upload id and no reason");
	free(id);

	s3xml_complete_etag(xml, size, etag);
	FUZZ_ASSERT(memchr(etag, '\0', sizeof(etag)) != NULL, "etag unterminated");

	err[0] = '\0';
	if (s3xml_parse_delete(xml, size, "s3://fuzz/p", &failed, err,
	    sizeof(err)) != 0)
		FUZZ_ASSERT(err[0] != '\0', "delete answer refused silently");
	else if (failed > 0)
		FUZZ_ASSERT(err[0] != '\0', "%zu failures, none named", failed);
	return 0;
}
