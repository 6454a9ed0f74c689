/* fuzz_nodetool_status.c - nodetool_parse_status() on any bytes (fuzz_nodetool.h). */
#include "fuzz_nodetool.h"

FUZZ_NODETOOL(status)
