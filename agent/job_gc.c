/*
 * job_gc.c - see job_gc.h.
 *
 * A job goes by renaming its directory out of sight first (.gc-ID.PID),
 * so a start of the same id at that moment makes a new job instead of
 * finding a half-removed one; then the renamed directory is removed.
 */
#include "job_gc.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "job_dir.h"

enum job_gc_temp job_gc_temp_parse(const char *name, long *pid)
{
	enum job_gc_temp kind;
	const char *dot, *p;
	long v = 0;

	*pid = 0;
	if (str_starts_with(name, ".new-"))
		kind = JOB_GC_TEMP_NEW;
	else if (str_starts_with(name, ".gc-"))
		kind = JOB_GC_TEMP_GC;
	else
		return JOB_GC_TEMP_NONE;
	/* The id may hold dots: the PID follows the last one. */
	if ((dot = strrchr(name, '.')) == name || dot[1] == '\0')
		return kind;
	for (p = dot + 1; *p; p++) {
		if (*p < '0' || *p > '9' || v > 99999999)
			return kind;
		v = v * 10 + (*p - '0');
	}
	*pid = v;
	return kind;
}

bool job_gc_temp_due(enum job_gc_temp kind, bool creator_alive,
    int64_t mtime, int64_t now)
{
	switch (kind) {
	case JOB_GC_TEMP_GC:
		return true;
	case JOB_GC_TEMP_NEW:
		return !creator_alive || (mtime > 0 &&
		    now - mtime > (int64_t)JOB_GC_NEW_MAX_S * 1000);
	case JOB_GC_TEMP_NONE:
		break;
	}
	return false;
}

bool job_gc_due(enum job_state state, int64_t finished_at, int64_t last_seen,
    bool op_alive, int64_t now, int64_t retention_s)
{
	switch (state) {
	case JOB_DONE:
		return job_expired(finished_at, now, retention_s);
	case JOB_LOST:
		return !op_alive && job_expired(last_seen, now, retention_s);
	case JOB_RUNNING:
		break;
	}
	return false;
}

/* A PID of another process that exists (EPERM: it exists, not ours). */
static bool pid_alive(long pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/*
 * A start dies between mkdir and rename only when it is killed, so a
 * .new-* whose creator is gone will never be renamed: it goes now, not an
 * hour later.  A .gc-* was a job past retention already renamed out of
 * sight (no start, poll or list can see it): what is left of it goes now
 * too; two removals of one directory at once only unlink the same files.
 */
static void gc_temp(const char *jobs, const char *name)
{
	long pid;
	enum job_gc_temp kind = job_gc_temp_parse(name, &pid);
	char *dir;

	if (kind == JOB_GC_TEMP_NONE)
		return;
	dir = xasprintf("%s/%s", jobs, name);
	/* Without a PID in its name, its creator is taken as alive: only
	 * the hour removes it. */
	if (job_gc_temp_due(kind, pid == 0 || pid_alive(pid),
	    job_dir_mtime_ms(dir), time_wall_ms()))
		job_dir_remove_tree(dir);
	free(dir);
}

void job_gc_run(const char *jobs, int64_t retention_s, json_t *removed,
    json_t *lost)
{
	DIR *d = opendir(jobs);
	struct dirent *e;
	int64_t now = time_wall_ms();

	while (d != NULL && (e = readdir(d)) != NULL) {
		struct job_result r;
		enum job_state state;
		int64_t keep;
		bool due;
		char *dir;

		if (e->d_name[0] == '.') {
			gc_temp(jobs, e->d_name);
			continue;
		}
		if (!job_id_valid(e->d_name))
			continue;
		dir = xasprintf("%s/%s", jobs, e->d_name);
		keep = job_dir_retention_s(dir, retention_s);
		if (job_dir_read_result(dir, &r)) {
			state = JOB_DONE;
			due = job_gc_due(state, r.finished_at, 0, false, now,
			    keep);
		} else if (job_dir_supervisor_alive(dir)) {
			state = JOB_RUNNING;
			due = false;
		} else if (job_dir_read_result(dir, &r)) {
			/* a result written between the two looks */
			state = JOB_DONE;
			due = job_gc_due(state, r.finished_at, 0, false, now,
			    keep);
		} else {
			state = JOB_LOST;
			due = job_gc_due(state, 0, job_dir_last_seen(dir),
			    job_dir_orphan_op(dir, e->d_name) > 0, now,
			    keep);
		}
		if (due) {
			char *tmp = xasprintf("%s/.gc-%s.%ld", jobs, e->d_name,
			    (long)getpid());
			if (rename(dir, tmp) == 0) {
				job_dir_remove_tree(tmp);
				if (removed)
					json_array_append_new(removed,
					    json_string(e->d_name));
				if (lost && state == JOB_LOST)
					json_array_append_new(lost,
					    json_string(e->d_name));
			}
			free(tmp);
		}
		free(dir);
	}
	if (d)
		closedir(d);
}
