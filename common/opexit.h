/*
 * opexit.h - the exit statuses of `ringagent <op>`, which the orchestrator
 * reads over SSH (and from a node job's result): the one protocol number
 * both sides must agree on, so both take it from here.
 *
 * The result line of an op (agent/ops.h) carries the same number as
 * "exit".  OPEXIT_NOT_FOUND is the shell's, when ringagent is not there.
 */
#ifndef RM_OPEXIT_H
#define RM_OPEXIT_H

enum {
	OPEXIT_OK = 0,
	OPEXIT_FAILED = 1,		/* the operation ran and failed */
	OPEXIT_USAGE = 2,		/* bad arguments */
	OPEXIT_UNREACHABLE = 3,		/* nodetool could not run or reach Cassandra */
	OPEXIT_UNPARSEABLE = 4,		/* nodetool printed what we cannot parse */
	OPEXIT_CONFIG = 5,		/* the agent config cannot be loaded */
	OPEXIT_CANCELLED = 6,
	OPEXIT_NOT_FOUND = 127,		/* sh: no such command */
};

/* A failure that trying again cannot mend: bad arguments, a config the
 * agent cannot load, no agent at all. */
#define OPEXIT_FATAL(ex) ((ex) == OPEXIT_USAGE || (ex) == OPEXIT_CONFIG || \
	(ex) == OPEXIT_NOT_FOUND)

#endif
