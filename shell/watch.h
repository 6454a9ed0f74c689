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
	WATCH_FAILED,			/* failed, cancelled or partial (part
					 * of the work not done: exit 1 too,
					 * so a script does not take it for
					 * a success) */
	WATCH_INTERRUPTED,		/* Ctrl-C */
	WATCH_ERROR,			/* the task could not be read */
};

struct watch_opts {
	bool tty;			/* redraw in place */
	bool json;			/* print the final task JSON only */
	size_t width;			/* columns; 0: 80 */
	long interval_ms;		/* between polls; 0: 500 */
	long reconnect_ms;		/* how long to wait for a lost
					   orchestrator; 0: 2 minutes */
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

/*
 * One node's progress within a step, from the step's "nodes" array
 * (GET /api/v1/tasks/{id}; absent on older servers and on steps that are
 * not per node).  Strings point into the JSON (NULL when absent or not a
 * string); numbers that are absent, negative, not numbers or not finite
 * are -1, so bad values show as unknown rather than as lies.
 */
struct watch_node {
	const char *node, *phase, *state, *message;
	int64_t files_done, files_total, bytes_done, bytes_total;
	double rate_bps;
};

/*
 * Fill out (at most max) from step's "nodes": the number filled, or -1
 * when the step has no "nodes" array (show the step's own message then).
 * Entries that are not objects or name no node are skipped.
 */
int watch_step_nodes(const json_t *step, struct watch_node *out, size_t max);
/*
 * A repair segment's record phase, "ranges (a,b] replicas R keyspace K on
 * N", as "K (a,b] on N [R]" (the keyspace first, the replicas last); any
 * other text as it is.  Caller frees.
 */
char *watch_segment_where(const char *phase);
/*
 * "upload  files 12/40  1.2 KiB/5.5 KiB  1000 B/s  ETA 5s  <message>":
 * what is known of n.  The ETA (remaining bytes over the rate) only when
 * eta is true (the task is running) and the node is running.  Fresh
 * string.
 */
char *watch_node_text(const struct watch_node *n, bool eta);
/*
 * The closing line of a finished task: "task ID STATE after 1m 3s", then
 * what moved ("; moved 120 files, 1.2 GiB on 3 nodes") when steps report
 * per-node progress, then what failed ("; failed: upload on 10.0.0.2:
 * reset").  Fresh string, no newline.
 */
char *watch_summary(const json_t *task, int64_t now_ms);

#endif
