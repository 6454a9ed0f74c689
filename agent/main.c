/*
 * ringagent - the agent beside every Cassandra node.
 *
 *   ringagent [-dnv] [-f file]                      the daemon
 *   ringagent [-v] [-f file] <operation> [--json]   one operation, then exit
 *   ringagent [-f file] job start|poll|cancel|list|gc  operations as jobs (job.h)
 *
 * The daemon checks in with the orchestrator on boot, starts Cassandra
 * the way it is told, and heartbeats; it opens no port.  Operations are
 * what the orchestrator runs on the node over SSH; see agent/ops.h for
 * their output and exit statuses.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/conf.h"
#include "../common/http.h"
#include "../common/log.h"
#include "../common/util.h"
#include "agentcfg.h"
#include "agentd.h"
#include "job.h"
#include "ops.h"

static void usage(FILE *fp)
{
	const struct conf_key *keys;
	size_t n;

	fprintf(fp,
	    "usage: ringagent [-dn] [-f file]\n"
	    "       ringagent [-f file] operation [--json] [arguments]\n"
	    "       ringagent -v | --version | --help\n"
	    "\n"
	    "  -d        stay in the foreground and log to stderr (unless log_file)\n"
	    "  -f file   configuration file (default %s;\n"
	    "            operations also read $RINGAGENT_CONF)\n"
	    "  -n        check the configuration and exit\n"
	    "  -v        print the version and exit (log detail: log_level)\n"
	    "\n"
	    "operations (exit 0 ok, 1 failed, 2 usage, 3 nodetool unreachable,\n"
	    "4 nodetool output unparseable, 5 configuration, 6 cancelled):\n",
	    AGENTCFG_DEFAULT_PATH);
	ops_usage(fp);
	fprintf(fp, "  %-15s %-28s %s\n", "job", "start|poll|cancel|list|gc ...",
	    "run an operation detached from SSH under an id, read its "
	    "progress and result later ('ringagent job --help')");
	fprintf(fp, "\nconfiguration keys:\n");
	keys = agentcfg_keys(&n);
	for (size_t i = 0; i < n; i++)
		fprintf(fp, "  %-20s %s%s%s%s\n", keys[i].name, keys[i].help,
		    keys[i].def ? " [" : "", keys[i].def ? keys[i].def : "",
		    keys[i].def ? "]" : "");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf_path = NULL;
	bool foreground = false, check_only = false;
	struct agentcfg *c;
	char err[1024];
	int ch, rc;

	/* '+': stop at the operation name so its options stay its own. */
	while ((ch = getopt_long(argc, argv, "+df:nvhV", lo, NULL)) != -1) {
		switch (ch) {
		case 'd':
			foreground = true;
			break;
		case 'f':
			conf_path = optarg;
			break;
		case 'n':
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
		case 'V':
			printf("ringagent %s\n", RM_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;

	if (argc > 0) {
		if (foreground || check_only) {
			fprintf(stderr, "ringagent: -d and -n are for the daemon, "
			    "not for operation '%s'\n", argv[0]);
			return 2;
		}
		log_init("ringagent", NULL, LOG_LVL_WARN);
		if (strcmp(argv[0], "job") == 0)
			return job_main(conf_path, argc, argv);
		return ops_main(conf_path, argc, argv);
	}

	if (conf_path == NULL)
		conf_path = AGENTCFG_DEFAULT_PATH;
	if ((c = agentcfg_load(conf_path, err, sizeof(err))) == NULL ||
	    agentcfg_check_daemon(c, err, sizeof(err)) != 0) {
		fprintf(stderr, "ringagent: %s\n", err);
		agentcfg_free(c);
		return 1;
	}
	if (check_only) {
		printf("configuration OK\n");
		agentcfg_free(c);
		return 0;
	}
	if (log_init("ringagent", c->log_file, c->log_level) != 0) {
		fprintf(stderr, "ringagent: cannot open log_file '%s': %s\n",
		    c->log_file, strerror(errno));
		agentcfg_free(c);
		return 1;
	}
	if (!foreground && daemon(1, c->log_file ? 0 : 1) != 0)
		fatal("cannot become a daemon");
	agentd_block_signals();
	if (http_global_init() != 0)
		fatalx("cannot initialise the HTTP client library");
	rc = agentd_run(c);
	http_global_cleanup();
	agentcfg_free(c);
	log_close();
	return rc;
}
