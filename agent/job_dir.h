/*
 * job_dir.h - what `ringagent job` (job.c) and its retention (job_gc.c)
 * read from and do to one job directory, <state_dir>/jobs/ID/ (job.h
 * describes its files): whether the supervisor lives, the result, the
 * last time the job wrote anything, an op that outlived its supervisor,
 * the op's output from a byte offset, and removal.
 */
#ifndef RM_AGENT_JOB_DIR_H
#define RM_AGENT_JOB_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "job.h"

/*
 * The longest a marker line's "head" (the start of the skipped line,
 * every byte outside printable ASCII shown as '?') is.
 */
#define JOB_DIR_HEAD_MAX 120

/* True while the job's supervisor lives (it holds the lock). */
bool job_dir_supervisor_alive(const char *dir);
/* The job's result, when it has a readable one (r filled then). */
bool job_dir_read_result(const char *dir, struct job_result *r);
/* mtime of path in ms since the epoch; 0 when it cannot be read. */
int64_t job_dir_mtime_ms(const char *path);
/*
 * The last time the job itself wrote anything (argv, pid, out, err,
 * result), in ms; 0 when none can be read.  The events file is left out:
 * callers append to it too (attach, cancel), and looking at a lost job
 * must not keep it.
 */
int64_t job_dir_last_seen(const char *dir);
/*
 * The pid of the job's op when it still runs although its supervisor is
 * gone (a pid is trusted only when that process carries the job's id in
 * its environment), else 0.
 */
pid_t job_dir_orphan_op(const char *dir, const char *id);
/*
 * Probes: ops that only read the node and whose result the orchestrator
 * reads within seconds (`health`: max_pending_compactions asks each
 * replica every 5 s during a repair).  Kept the way any job is, but never
 * longer than this, so a week-long retention does not pile up one
 * directory per probe.
 */
#define JOB_DIR_PROBE_KEEP_S 3600
/*
 * How long the job in dir is kept after it finished: retention_s, or
 * JOB_DIR_PROBE_KEEP_S for a probe (its argv's op; an unreadable argv
 * keeps retention_s).  0 stays 0 (keep forever).
 */
int64_t job_dir_retention_s(const char *dir, int64_t retention_s);
/* Remove dir and the plain files in it (job directories hold no others). */
void job_dir_remove_tree(const char *dir);
/* Append one event line (without its newline) to the job's events file. */
void job_dir_append_event(const char *dir, const char *line);

/*
 * The marker printed in place of a line of the op's output longer than
 * the limit a poll prints, so the caller can follow the rest (without a
 * newline; caller frees):
 *   {"type":"skipped","offset":O,"bytes":N,"limit":L,"head":"...",
 *    "message":"..."}
 * offset is where the skipped line starts, bytes its length with its
 * newline, head its first bytes (at most JOB_DIR_HEAD_MAX of headlen).
 */
char *job_dir_skip_line(uint64_t offset, uint64_t bytes, size_t limit,
    const char *head, size_t headlen);

/*
 * Print the op's complete lines from offset on stdout, at most limit
 * bytes of them; *next is the offset after what was printed.  A line
 * longer than limit is not printed: once its newline is written, the
 * marker above stands in its place and *next is past it (before that,
 * nothing is printed and *next is offset).  0, or -1 with err (offset
 * past the end or not at the start of a line; the output unreadable).
 */
int job_dir_print_output(const char *dir, uint64_t offset, size_t limit,
    uint64_t *next, char *err, size_t errlen);

#endif
