/* fuzz_nodetool_repair.c - nodetool_parse_repair() on any bytes (fuzz_nodetool.h). */
#include "fuzz_nodetool.h"

FUZZ_NODETOOL(repair)
