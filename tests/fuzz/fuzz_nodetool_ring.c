/* fuzz_nodetool_ring.c - nodetool_parse_ring() on any bytes (fuzz_nodetool.h). */
#include "fuzz_nodetool.h"

FUZZ_NODETOOL(ring)
