/* fuzz_nodetool_version.c - nodetool_parse_version() on any bytes (fuzz_nodetool.h). */
#include "fuzz_nodetool.h"

FUZZ_NODETOOL(version)
