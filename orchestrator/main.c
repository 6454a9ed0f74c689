/*
 * ringmaster - placeholder entry point; the real program lands with its issue.
 */
#include <stdio.h>
#include <string.h>

#include "../common/util.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		printf("ringmaster %s\n", RM_VERSION);
		return 0;
	}
	printf("usage: ringmaster [-v] [--help]\n");
	return argc > 1 && strcmp(argv[1], "--help") != 0;
}
