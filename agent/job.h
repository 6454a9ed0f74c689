/*
 * job.h - `ringagent job`: an operation run on the node under an id the
 * caller chooses, detached from the SSH session that started it, so the
 * orchestrator can drop the connection (or restart) and come back for its
 * progress and result.
 *
 *   ringagent [-f conf] job start ID [--offset N] [--max-bytes B]
 *       [--secrets-stdin] [--json] -- OP [ARGS...]
 *   ringagent [-f conf] job poll ID [--offset N] [--max-bytes B] [--json]
 *   ringagent [-f conf] job cancel ID [--wait S] [--max-bytes B] [--json]
 *   ringagent [-f conf] job list [--json]
 *   ringagent [-f conf] job gc [--json]
 *
 * start, poll and cancel print the op's stdout lines from byte offset N
 * (complete lines only, verbatim, at most B bytes of them), then one
 * status line.  A line longer than B is replaced by a marker line
 * {"type":"skipped",...} (job_dir.h) so the caller keeps following:
 *   {"type":"job","id":"ID","state":"running"|"done"|"lost",
 *    "started":bool,"offset":M,"exit":N|null,"signal":"TERM"|null,
 *    "started_at":ms,"finished_at":ms|null}
 * Exit 0 whenever a status line was printed, 1 when the job cannot be
 * started or is unknown, 2 usage, 5 configuration.
 *
 * A job is the directory <state_dir>/jobs/ID/ (see docs/agent.md, "Jobs"):
 * argv, out, err, pid, events, result, and lock, which the supervisor
 * holds (flock) for as long as it lives: no result and a free lock is a
 * lost job, which also holds after a reboot, where a pid could be reused.
 *
 * The op itself runs as `ringagent OP ARGS --json` with JOB_ENV set in its
 * environment; ops.c then cancels only on SIGTERM/SIGINT (see ops.h).
 *
 * --secrets-stdin: start reads the credentials line (common/creds.h) from
 * its stdin first, attach or not; a job it starts hands the line to its op
 * through a pipe on the op's stdin (`OP ARGS --secrets-stdin --json`): in
 * no argv, environment or file of the job (job_sup.c says why).
 */
#ifndef RM_AGENT_JOB_H
#define RM_AGENT_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Set (to the job id) in the environment of an op run by a job supervisor. */
#define JOB_ENV "RINGAGENT_JOB"
#define JOB_ID_MAX 100
#define JOB_ERR_MAX (1u << 20)		/* bytes of the op's stderr kept */
/* Bytes of the op's output one start, poll or cancel prints at most
 * (--max-bytes, default JOB_OUT_MAX). */
#define JOB_OUT_MIN 4096u
#define JOB_OUT_MAX (16u << 20)

enum job_state { JOB_RUNNING, JOB_DONE, JOB_LOST };

/* What the status line says. */
struct job_status {
	const char *id;
	enum job_state state;
	bool started;			/* this call started the job */
	uint64_t offset;		/* after the last complete line printed */
	bool has_exit;
	int exit;
	const char *signal;		/* "TERM", or NULL */
	int64_t started_at;		/* ms since the epoch; 0: unknown (null) */
	int64_t finished_at;		/* 0: not finished (null) */
};

/* What a job's result file holds. */
struct job_result {
	int exit;
	char signal[16];		/* "" when the op exited by itself */
	int64_t finished_at;
};

/* What a job's events file says. */
struct job_events {
	int64_t started_at;		/* "at" of the first start event, or 0 */
	unsigned starts, attaches, cancels, ends;
	unsigned bad;			/* lines that are not events (skipped) */
};

/* True when id matches [A-Za-z0-9._-]{1,100} and is not "." or "..". */
bool job_id_valid(const char *id);

/*
 * Parse a byte offset: decimal digits only, at most 2^53.  0, or -1 with
 * the reason in err.
 */
int job_offset_parse(const char *s, uint64_t *out, char *err, size_t errlen);

/*
 * The end of the complete lines of buf[0..len): the index after the last
 * '\n', or 0 when there is none.  A partial last line waits for its '\n'.
 */
size_t job_complete_end(const char *buf, size_t len);

/*
 * Check that offset can start a read of output of size bytes: it is not
 * past the end, and it is 0 or follows a '\n' (prev is the byte at
 * offset-1, ignored when offset is 0).  0, or -1 with the reason in err.
 */
int job_offset_check(uint64_t offset, uint64_t size, char prev,
    char *err, size_t errlen);

/* The status line, without a newline (caller frees). */
char *job_status_line(const struct job_status *s);

/* "running", "done", "lost". */
const char *job_state_name(enum job_state s);

/*
 * The state from what was found: a result means done; otherwise running
 * while the supervisor lives, else lost.
 */
enum job_state job_state_of(bool has_result, bool supervisor_alive);

/* "TERM", "KILL", ... for a signal number; "SIG<n>" for others (buf). */
const char *job_signal_name(int sig, char *buf, size_t len);

/* The result file's JSON text: {"exit":N,"signal":"TERM"|null,"finished_at":ms}. */
char *job_result_text(const struct job_result *r);
/* Parse it: 0, or -1 with the reason in err (the file is then ignored). */
int job_result_parse(const char *text, struct job_result *r, char *err,
    size_t errlen);

/* Scan the events file's text (one JSON object a line; others are counted bad). */
void job_events_scan(const char *text, struct job_events *ev);

/*
 * Retention: true when a job finished at finished_at (ms) is older than
 * retention_s at now (ms).  retention_s 0 keeps everything; an unknown
 * finish time (<= 0) is never expired.
 */
bool job_expired(int64_t finished_at, int64_t now, int64_t retention_s);

/* `ringagent job ...`: argv[0] is "job".  Returns the exit status. */
int job_main(const char *conf_path, int argc, char **argv);

#endif
