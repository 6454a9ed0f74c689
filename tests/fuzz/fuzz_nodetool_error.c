/*
 * fuzz_nodetool_error.c - what the agent reads from any failed nodetool
 * run: nodetool_error_message() on the whole output, and
 * nodetool_parse_size() on its first line (sizes are read from columns;
 * "?" is NODETOOL_UNKNOWN).
 */
#include "../../agent/nodetool.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), *msg, *nl;
	enum nodetool_error_kind kind = NODETOOL_ERROR_NONE;
	int64_t bytes = -2;

	msg = nodetool_error_message(s, &kind);
	if (msg != NULL)
		FUZZ_ASSERT(kind != NODETOOL_ERROR_NONE, "a message of no kind");
	free(msg);
	if ((nl = strchr(s, '\n')) != NULL)
		*nl = '\0';
	if (nodetool_parse_size(s, &bytes) == 0)
		FUZZ_ASSERT(bytes >= 0 || bytes == NODETOOL_UNKNOWN,
		    "negative size %lld from '%.40s'",
		    (long long)bytes, s);
	free(s);
	return 0;
}
