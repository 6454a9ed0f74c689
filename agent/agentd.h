/*
 * agentd.h - the ringagent daemon: check in, act on the answer, heartbeat.
 */
#ifndef RM_AGENTD_H
#define RM_AGENTD_H

#include <stdbool.h>

struct agentcfg;

/*
 * Run until SIGTERM or SIGINT; SIGHUP reopens the log file and takes the
 * orchestrator list from the file again (c->orchs and c->orchestrator are
 * replaced then; nothing else of c changes).  c is borrowed.  Call with SIGTERM, SIGINT and SIGHUP blocked in every thread
 * (agentd_block_signals) and logging set up.  Returns the exit status.
 */
int agentd_run(struct agentcfg *c);

/* Block the signals agentd_run() waits for; call before any thread starts. */
void agentd_block_signals(void);

#endif
