/*
 * watch.h - follow a task until it ends.
 *
 * On a terminal the progress screen (bar with done/total, rate, ETA, and
 * the current step on each node) is redrawn in place; elsewhere a plain
 * line is printed each time something changes.  The caller's interrupt
 * flag (set by SIGINT) ends the watch, not the program.
 */
#ifndef RS_WATCH_H
#define RS_WATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct client;

enum watch_end {
	WATCH_SUCCEEDED,
	WATCH_FAILED,			/* failed or cancelled */
	WATCH_INTERRUPTED,		/* Ctrl-C */
	WATCH_ERROR,			/* the task could not be read */
};

struct watch_opts {
	bool tty;			/* redraw in place */
	bool json;			/* print the final task JSON only */
	size_t width;			/* columns; 0: 80 */
	long interval_ms;		/* between polls; 0: 500 */
	volatile sig_atomic_t *interrupted;
};

/* Follow task id; errors go to stderr.  */
enum watch_end watch_task(struct client *c, const char *id,
    const struct watch_opts *o);

/*
 * The progress screen for task at now_ms (wall clock) as lines within
 * width, ended by '\n'; *nlines says how many.  Fresh string.
 */
char *watch_render(const json_t *task, int64_t now_ms, size_t width,
    size_t *nlines);
/* The one-line form used off a terminal.  Fresh string. */
char *watch_line(const json_t *task, int64_t now_ms);
/* "[#####-----]" of width cells for done/total (total 0: empty). */
void watch_bar(int64_t done, int64_t total, size_t width, char *buf,
    size_t size);
/* true for succeeded, failed and cancelled. */
bool watch_terminal(const char *state);

#endif
