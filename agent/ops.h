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
 * The exit status (OPEXIT_*, common/opexit.h) is the one the result line
 * carries.
 * Operations print only through op_progress() and op_result() below, so
 * every op keeps this contract, in backup.c and repair.c as in ops.c.
 *
 * Cancelling: the op stops, killing what it runs, on SIGTERM, SIGINT or
 * SIGHUP, when a line "cancel" arrives on stdin, or when the reader of its
 * stdout goes away (the SSH channel closed).  EOF on stdin alone is not a
 * cancel, so `ssh node ringagent status --json </dev/null` works.
 * An op run by `ringagent job` (JOB_ENV set, see job.h) has stdin
 * /dev/null (or the pipe its credentials come through) and stdout a file:
 * it cancels on SIGTERM or SIGINT only, and ignores SIGHUP, so the end of
 * the SSH session that started it does not end it.
 *
 * Credentials: with --secrets-stdin (anywhere, like --json) the first line
 * on stdin is the storage credentials line (common/creds.h), read before
 * the op starts and kept in memory only (creds_given_set()); the op then
 * signs with them rather than with the environment's.  The orchestrator
 * sends the cluster's secret settings this way, never on a command line.
 */
#ifndef RM_OPS_H
#define RM_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "../common/opexit.h"
#include "cass.h"


/*
 * The context of the running operation, handed to every op function
 * (ops.c's own, backup.h's, repair.h's).  It owns the configuration and
 * the cancel state; the op owns nothing of it.
 */
struct opctx;
struct agentcfg;
struct proc_opts;

/*
 * A progress line with message fmt; extra (may be NULL) is merged into the
 * JSON object and taken.  Safe from any thread.  A reader of stdout that
 * went away cancels the op.
 */
__attribute__((format(printf, 3, 4)))
void op_progress(struct opctx *x, json_t *extra, const char *fmt, ...);

/*
 * Print the one result line and return status, or OPEXIT_CANCELLED when
 * status is a failure and the op was cancelled.  Takes data (may be NULL);
 * fmt (may be NULL) is the error message of a failure.
 */
__attribute__((format(printf, 4, 5)))
int op_result(struct opctx *x, int status, json_t *data, const char *fmt, ...);

/* True once a signal, a "cancel" line on stdin or a closed stdout came. */
bool op_cancelled(const struct opctx *x);

/*
 * The agent configuration (from -f, else $RINGAGENT_CONF, else the default
 * path), loaded before the op runs: never NULL.  It belongs to x.
 */
const struct agentcfg *op_conf(const struct opctx *x);

/*
 * Options for commands the op runs (cass_nodetool(), proc_run()): they are
 * cancelled with the op and when stdout's reader goes away.  Copy them to
 * add on_line and its arg (the cancel callback does not use arg).
 */
const struct proc_opts *op_proc_opts(const struct opctx *x);

/* The OPEXIT_* status for what a nodetool call answered. */
int op_exit_status(enum cass_rc rc);

struct creds_secrets;

/*
 * Read the credentials line from fd (one line, at most CREDS_LINE_MAX
 * bytes, within timeout_ms) into *s.  Reads byte by byte up to the
 * newline, so what follows (a "cancel" line) stays for the stdin watcher.
 * 0, or -1 with err (never quoting the line).
 */
int op_secrets_read(int fd, int64_t timeout_ms, struct creds_secrets *s,
    char *err, size_t errlen);

/* True when name is an operation. */
bool ops_known(const char *name);
/* One line per operation: "  name  args  help". */
void ops_usage(FILE *fp);

/*
 * Run argv[0] with its arguments.  conf_path NULL means $RINGAGENT_CONF,
 * else /etc/ringmaster/agent.conf.  Returns the exit status.
 */
int ops_main(const char *conf_path, int argc, char **argv);

/*
 * Run nodetool argv (argv[0] the nodetool path) with no deadline of its own
 * (the job's timeout bounds it: decommission, cleanup and removenode take
 * what they take), saying every 10 s in a progress line (phase what) that
 * it still runs.  A cancel kills nodetool only; cancel_hint says what
 * Cassandra keeps doing and where to see it.  OPEXIT_* with err: exit 3
 * when nodetool cannot reach Cassandra, 1 for another failure, with
 * nodetool's own message.
 */
int op_run_long(struct opctx *x, const char *const *argv, const char *what,
    const char *cancel_hint, char *err, size_t errlen);

#endif
