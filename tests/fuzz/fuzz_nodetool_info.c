/* fuzz_nodetool_info.c - nodetool_parse_info() on any bytes (fuzz_nodetool.h). */
#include "fuzz_nodetool.h"

FUZZ_NODETOOL(info)
