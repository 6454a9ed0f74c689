/* fuzz_nodetool_tablestats.c - nodetool_parse_tablestats() on any bytes (fuzz_nodetool.h). */
#include "fuzz_nodetool.h"

FUZZ_NODETOOL(tablestats)
