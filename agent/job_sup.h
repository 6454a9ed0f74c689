/*
 * job_sup.h - the supervisor of a `ringagent job` (job.c starts it): the
 * session leader of a session of its own, detached from the SSH session
 * that started the job; it runs the op, writes the pid file and the start
 * event, tells the starter, copies the op's stderr into err (capped at
 * JOB_ERR_MAX), forwards SIGTERM (a cancel), and on the op's exit writes
 * the result (tmp + rename) and the end event.
 */
#ifndef RM_AGENT_JOB_SUP_H
#define RM_AGENT_JOB_SUP_H

/*
 * Run in the grandchild of the starter; never returns.  dir is the job's
 * directory, conf_path the config (absolute) or NULL, opargv the op and
 * its arguments; lockfd is the job's lock (held: it is inherited and
 * held for as long as the supervisor lives), readyfd the pipe the starter
 * waits on (closed once the start event is written).  secrets (may be
 * NULL) is the credentials line for the op's stdin; the supervisor wipes
 * its copy once written.
 */
_Noreturn void job_sup_run(const char *dir, const char *id,
    const char *conf_path, char **opargv, int opargc, int lockfd,
    int readyfd, char *secrets);

#endif
