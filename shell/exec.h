/*
 * exec.h - run one ringsh command line: parse it against the command table
 * and carry it out against the current connection.
 *
 * A line that does not parse is answered with the reason and the command's
 * usage and sends nothing.  Results go to stdout, errors to stderr, both as
 * one line starting "ringsh: ".
 */
#ifndef RS_EXEC_H
#define RS_EXEC_H

#include <signal.h>
#include <stdbool.h>

#include <jansson.h>

#include "cmd.h"

struct client;

/* Exit statuses, also of one-shot runs. */
#define EXEC_OK		0
#define EXEC_FAILED	1		/* the command or its task failed */
#define EXEC_USAGE	2		/* the line did not parse */
#define EXEC_INTERRUPTED 130

struct shell {
	struct client *client;
	bool tty_out;			/* stdout is a terminal */
	bool json;			/* --json on the command line */
	bool quit;			/* set by quit/exit */
	volatile sig_atomic_t *interrupted;
};

/* Run every ';'-separated command on line; returns the first failure's status. */
int exec_line(struct shell *sh, const char *line);

/* The prompt for sh: "ringsh prod/main> ".  Fresh string. */
char *exec_prompt(struct shell *sh);

/*
 * The line that reports a cancel, pause or resume from the task before
 * (NULL: unknown) and the task the orchestrator answered with (state,
 * pause_requested, cancel_requested), so a running task asked to pause is
 * not said to be paused, nor a task that was never paused resumed.  Fresh
 * string.
 */
char *exec_action_text(const char *action, const json_t *before,
    const json_t *task);

/*
 * Events as sentences, oldest first whatever order they came in:
 * "14:02:11 repair t-1 queued → running".  Fresh string, one line each.
 */
char *exec_events_text(const json_t *items);

/* Live names for completion (a cmd_names_fn; arg is the shell). */
const char *const *exec_names(enum cmd_value kind, const char *context,
    void *arg);

#endif
