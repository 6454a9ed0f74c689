/* fuzz_nodetool_gossipinfo.c - nodetool_parse_gossipinfo() on any bytes (fuzz_nodetool.h). */
#include "fuzz_nodetool.h"

FUZZ_NODETOOL(gossipinfo)
