/*
 * proc.h - run a command with a deadline and capture what it prints.
 *
 * The agent runs nodetool and the operator's start/stop commands through
 * this one module.  The child gets its own process group, /dev/null as
 * stdin, default signal dispositions and an unblocked signal mask; on
 * timeout or cancel the whole group gets SIGTERM, then SIGKILL two seconds
 * later.  A command that starts a daemon which keeps our pipes open (a
 * start script that backgrounds Cassandra) does not hang us: once the
 * direct child has exited we read what is already there and stop.
 *
 * Ownership: proc_result strings belong to the result; release it with
 * proc_result_release(), which accepts a zeroed result.
 */
#ifndef RM_PROC_H
#define RM_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proc_opts {
	int64_t timeout_ms;		/* 0: no deadline */
	size_t max_output;		/* per stream, bytes; 0: 16 MiB; the rest is dropped */
	/* Each complete stdout line as it arrives, without the newline (may be NULL). */
	void (*on_line)(void *arg, const char *line);
	/*
	 * Called every 100 ms with stop_watching NULL, and with it set when
	 * watch_fd (>= 0, else ignored) is readable or hung up (the callback
	 * reads it then, never otherwise); returning true cancels the
	 * command.  Setting *stop_watching (at EOF) stops polling watch_fd.
	 */
	bool (*cancel)(void *arg, bool *stop_watching);
	int watch_fd;
	/*
	 * An output fd (>= 0, else ignored) whose reader going away cancels
	 * the command: stdout of `ringagent <op>` run over SSH.
	 */
	int hup_fd;
	void *arg;
};

struct proc_result {
	int status;			/* exit status, -1 when killed by a signal */
	int signal;			/* the signal that ended it, or 0 */
	bool timed_out;
	bool cancelled;
	bool truncated;			/* output passed max_output */
	char *out;			/* stdout, NUL-terminated */
	size_t out_len;
	char *err;			/* stderr, NUL-terminated */
	size_t err_len;
};

/* Options with everything off (watch_fd and hup_fd -1). */
void proc_opts_init(struct proc_opts *o, int64_t timeout_ms);

/*
 * Run argv[0] (searched in PATH when it has no slash) to completion.
 * Returns 0 when it ran (whatever its status, timeout or cancel included),
 * -1 when it could not be started, with "cannot run 'X': reason" in err.
 */
int proc_run(const char *const argv[], const struct proc_opts *o,
    struct proc_result *r, char *err, size_t errlen);
/* proc_run of "/bin/sh -c cmd". */
int proc_shell(const char *cmd, const struct proc_opts *o,
    struct proc_result *r, char *err, size_t errlen);
void proc_result_release(struct proc_result *r);

/*
 * "exited with status 2", "killed by signal 9", "timed out after 60s",
 * "cancelled" - for messages.
 */
void proc_describe(const struct proc_result *r, int64_t timeout_ms,
    char *buf, size_t len);

#endif
