/* fuzz_nodetool_describecluster.c - nodetool_parse_describecluster() on any bytes (fuzz_nodetool.h). */
#include "fuzz_nodetool.h"

FUZZ_NODETOOL(describecluster)
