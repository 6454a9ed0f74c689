/*
 * fuzz_nodetool.h - one libFuzzer target per nodetool parser
 * (agent/nodetool.h), all alike: the bytes are nodetool's output as
 * captured (any bytes, not NUL-terminated).  A parse that succeeds must
 * render as JSON; a parse that fails must say why and leave *out NULL.
 * FUZZ_NODETOOL(status) defines the target of nodetool_parse_status().
 */
#ifndef RM_FUZZ_NODETOOL_H
#define RM_FUZZ_NODETOOL_H

#include <jansson.h>

#include "../../agent/nodetool.h"
#include "fuzz.h"

#define FUZZ_NODETOOL(kind) \
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) \
{ \
	struct nodetool_##kind *out = (void *)1; \
	char err[NODETOOL_ERR_MAX] = ""; \
	json_t *j; \
	char *text; \
\
	if (nodetool_parse_##kind((const char *)data, size, &out, err, \
	    sizeof(err)) != 0) { \
		FUZZ_ASSERT(out == NULL, "*out set on failure"); \
		FUZZ_ASSERT(err[0] != '\0', "failure without a message"); \
		return 0; \
	} \
	FUZZ_ASSERT(out != NULL, "success without a result"); \
	j = nodetool_##kind##_json(out); \
	FUZZ_ASSERT(j != NULL, "no JSON for a parsed result"); \
	text = json_dumps(j, JSON_COMPACT); \
	FUZZ_ASSERT(text != NULL, "JSON that jansson cannot write"); \
	free(text); \
	json_decref(j); \
	nodetool_##kind##_free(out); \
	return 0; \
}

#endif
