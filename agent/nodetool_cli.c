/*
 * nodetool_cli.c - parsers for nodetool output: the debug CLI (`ringagent
 * --parse KIND < output`): any parser's JSON, for tests and for checking a
 * capture by hand.
 *
 * The shared machinery (lines, columns, numbers, JSON helpers) and the
 * design behind it are in nodetool.c; the API is nodetool.h.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "nodetool.h"
#include "nodetool_int.h"

/* The largest output nodetool_parse_cli() reads from stdin. */
#define CLI_INPUT_MAX (64u << 20)

/* ------------------------------------------------------------------ */
/* debug CLI                                                          */
/* ------------------------------------------------------------------ */

#define CLI_KIND(name)                                                    \
	static int cli_##name(const char *b, size_t l, json_t **j, char *e, \
	    size_t el)                                                        \
	{                                                                     \
		struct nodetool_##name *s;                                    \
		if (nodetool_parse_##name(b, l, &s, e, el) < 0)               \
			return -1;                                            \
		*j = nodetool_##name##_json(s);                               \
		nodetool_##name##_free(s);                                    \
		return 0;                                                     \
	}

CLI_KIND(status)
CLI_KIND(info)
CLI_KIND(describecluster)
CLI_KIND(ring)
CLI_KIND(listsnapshots)
CLI_KIND(compactionstats)
CLI_KIND(repair)
CLI_KIND(version)
CLI_KIND(tablestats)
CLI_KIND(gossipinfo)

static int cli_error(const char *b, size_t l, json_t **j, char *e, size_t el)
{
	enum nodetool_error_kind kind;
	char *text = xstrndup(b, l), *msg;

	msg = nodetool_error_message(text, &kind);
	free(text);
	if (msg == NULL) {
		err_set(e, el, "nodetool error: no error message in output");
		return -1;
	}
	*j = json_pack("{s:s,s:o}", "kind",
	    kind == NODETOOL_ERROR_SERVER ? "server" : "usage", "message",
	    nodetool_jstr(msg));
	free(msg);
	return 0;
}

static const struct {
	const char *name;
	int (*parse)(const char *, size_t, json_t **, char *, size_t);
} cli_kinds[] = {
	{ "status", cli_status }, { "info", cli_info },
	{ "describecluster", cli_describecluster }, { "ring", cli_ring },
	{ "listsnapshots", cli_listsnapshots },
	{ "compactionstats", cli_compactionstats }, { "repair", cli_repair },
	{ "version", cli_version }, { "tablestats", cli_tablestats },
	{ "gossipinfo", cli_gossipinfo },
	{ "error", cli_error },
};

static char *read_all(FILE *f, size_t max, size_t *len)
{
	size_t cap = 65536, n = 0, r;
	char *buf = xmalloc(cap);

	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			if (cap >= max) {
				free(buf);
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	if (ferror(f)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

int nodetool_parse_cli(int argc, char **argv)
{
	char err[NODETOOL_ERR_MAX], *buf, *text;
	json_t *j = NULL;
	size_t i, len;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: --parse status|info|describecluster|ring|"
		    "listsnapshots|compactionstats|repair|version|tablestats|gossipinfo|"
		    "error < output\n");
		return 2;
	}
	for (i = 0; i < ARRAY_SIZE(cli_kinds); i++)
		if (strcmp(argv[1], cli_kinds[i].name) == 0)
			break;
	if (i == ARRAY_SIZE(cli_kinds)) {
		fprintf(stderr, "unknown output kind '%s'\n", argv[1]);
		return 2;
	}
	buf = read_all(stdin, CLI_INPUT_MAX, &len);
	if (buf == NULL) {
		fprintf(stderr, "cannot read standard input\n");
		return 1;
	}
	rc = cli_kinds[i].parse(buf, len, &j, err, sizeof(err));
	free(buf);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS |
	    JSON_REAL_PRECISION(15));
	json_decref(j);
	if (text == NULL) {
		fprintf(stderr, "cannot render JSON\n");
		return 1;
	}
	puts(text);
	free(text);
	return 0;
}
