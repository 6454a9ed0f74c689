/* Unit tests for agent/nodetool.c (placeholder while the tables are written). */
#include <string.h>

#include "../../agent/nodetool.h"
#include "t.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--parse") == 0)
		return nodetool_parse_cli(argc - 1, argv + 1);
	return t_done("test_nodetool");
}
