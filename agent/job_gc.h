/*
 * job_gc.h - retention of `ringagent job` directories (job.h): finished
 * and lost jobs past job_retention_s, and the temporary directories that
 * starts (.new-ID.PID) and removals (.gc-ID.PID) leave when they die
 * half-way.  Run by `job gc` and before every `job start`.
 */
#ifndef RM_AGENT_JOB_GC_H
#define RM_AGENT_JOB_GC_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "job.h"

/* New temporary directories younger than this are kept whatever else. */
#define JOB_GC_NEW_MAX_S 3600

enum job_gc_temp {
	JOB_GC_TEMP_NONE,		/* not a temporary directory of ours */
	JOB_GC_TEMP_NEW,		/* .new-ID.PID: a start before its rename */
	JOB_GC_TEMP_GC,			/* .gc-ID.PID: a removal under way */
};

/*
 * What a name in the jobs directory is; *pid is the PID its name ends
 * with (the process that made it), 0 when there is none.
 */
enum job_gc_temp job_gc_temp_parse(const char *name, long *pid);

/*
 * Whether a temporary directory goes now: a .gc-* always (it was a job
 * past retention, already out of sight: nobody reads it); a .new-* when
 * its creator is gone (creator_alive false) or it is older than
 * JOB_GC_NEW_MAX_S by mtime (ms) at now (ms), which also covers a PID
 * reused by another process.
 */
bool job_gc_temp_due(enum job_gc_temp kind, bool creator_alive,
    int64_t mtime, int64_t now);

/*
 * Whether a job goes: a done job retention_s after finished_at; a lost
 * one retention_s after last_seen (the last time it wrote anything, see
 * job_dir_last_seen()), unless its op still runs (op_alive: it may yet
 * write, and `job cancel` needs the directory to stop it).  Running jobs
 * stay.  retention_s 0 keeps everything.
 */
bool job_gc_due(enum job_state state, int64_t finished_at, int64_t last_seen,
    bool op_alive, int64_t now, int64_t retention_s);

/*
 * Remove what is due in jobs (<state_dir>/jobs); the ids of the jobs
 * removed go into removed, and those of them that were lost into lost too
 * (either may be NULL).
 */
void job_gc_run(const char *jobs, int64_t retention_s, json_t *removed,
    json_t *lost);

#endif
