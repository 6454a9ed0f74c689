/*
 * ops.h - one-shot operations: `ringagent [-f FILE] <op> [--json] ...`,
 * run by the orchestrator over SSH (or by an operator on the node).
 *
 * With --json every line on stdout is one JSON object: zero or more
 *   {"type":"progress","op":"snapshot","message":"...", ...}
 * then exactly one
 *   {"type":"result","op":"snapshot","ok":true,"exit":0,"data":{...}}
 *   {"type":"result","op":"status","ok":false,"exit":3,
 *    "error":{"code":"nodetool_unreachable","message":"..."},"data":{...}}
 * Without --json the same information is printed for a human.
 *
 * The exit status (OPS_EXIT_*) is the one the result line carries.
 *
 * Cancelling: the op stops, killing what it runs, on SIGTERM, SIGINT or
 * SIGHUP, when a line "cancel" arrives on stdin, or when the reader of its
 * stdout goes away (the SSH channel closed).  EOF on stdin alone is not a
 * cancel, so `ssh node ringagent status --json </dev/null` works.
 */
#ifndef RM_OPS_H
#define RM_OPS_H

#include <stdbool.h>
#include <stdio.h>

enum {
	OPS_EXIT_OK = 0,
	OPS_EXIT_FAILED = 1,		/* the operation ran and failed */
	OPS_EXIT_USAGE = 2,		/* bad arguments */
	OPS_EXIT_UNREACHABLE = 3,	/* nodetool could not run or reach Cassandra */
	OPS_EXIT_UNPARSEABLE = 4,	/* nodetool printed what we cannot parse */
	OPS_EXIT_CONFIG = 5,		/* the agent config cannot be loaded */
	OPS_EXIT_CANCELLED = 6,
};

/* True when name is an operation. */
bool ops_known(const char *name);
/* One line per operation: "  name  args  help". */
void ops_usage(FILE *fp);

/*
 * Run argv[0] with its arguments.  conf_path NULL means $RINGAGENT_CONF,
 * else /etc/ringmaster/agent.conf.  Returns the exit status.
 */
int ops_main(const char *conf_path, int argc, char **argv);

#endif
