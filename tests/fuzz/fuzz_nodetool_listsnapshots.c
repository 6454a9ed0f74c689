/* fuzz_nodetool_listsnapshots.c - nodetool_parse_listsnapshots() on any bytes (fuzz_nodetool.h). */
#include "fuzz_nodetool.h"

FUZZ_NODETOOL(listsnapshots)
