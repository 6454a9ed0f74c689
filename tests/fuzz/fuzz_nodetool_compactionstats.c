/* fuzz_nodetool_compactionstats.c - nodetool_parse_compactionstats() on any bytes (fuzz_nodetool.h). */
#include "fuzz_nodetool.h"

FUZZ_NODETOOL(compactionstats)
