/*
 * job.c - see job.h.
 *
 * Start: the job directory is built under a private name (.new-ID.PID),
 * its lock taken, and then renamed to ID.  rename() of a directory onto an
 * existing (never empty) job directory fails, so of two concurrent starts
 * of one id exactly one creates the job and the other attaches; nobody
 * ever sees a half-built job.  The starter then forks twice: the
 * grandchild calls setsid() and becomes the supervisor, the session
 * leader of a session of its own, with stdin, stdout and stderr on
 * /dev/null, so sshd closing the channel (or sending SIGHUP to the
 * session) does not reach it and nothing keeps the SSH channel open.  It
 * inherits the lock, so the lock is held from before the directory is
 * visible until the supervisor ends.  The supervisor runs the op, writes
 * the pid file and the start event, tells the starter (a pipe), copies
 * the op's stderr into err (capped), forwards SIGTERM, and on the op's
 * exit writes result (tmp + rename) and the end event (job_sup.c).
 *
 * What is read from a job directory is in job_dir.c, retention in
 * job_gc.c; this file holds the pure parts (job.h) and the commands.
 */
#include "job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/creds.h"
#include "../common/util.h"
#include "agentcfg.h"
#include "job_dir.h"
#include "job_gc.h"
#include "job_sup.h"
#include "ops.h"

#define READY_WAIT_MS 10000
#define OFFSET_MAX (1ULL << 53)	/* exact in a JSON number */

/* ---- pure parts ---- */

bool job_id_valid(const char *id)
{
	size_t n;

	if (id == NULL || (n = strlen(id)) == 0 || n > JOB_ID_MAX)
		return false;
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return false;
	return true;
}

int job_offset_parse(const char *s, uint64_t *out, char *err, size_t errlen)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "--offset is empty; give the byte offset "
		    "the last status line reported (0 for the start)");
		return -1;
	}
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9') {
			snprintf(err, errlen, "--offset '%s' is not a byte offset "
			    "(decimal digits); give the offset the last status "
			    "line reported", s);
			return -1;
		}
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > OFFSET_MAX) {
			snprintf(err, errlen, "--offset '%s' is too large", s);
			return -1;
		}
	}
	*out = v;
	return 0;
}

size_t job_complete_end(const char *buf, size_t len)
{
	for (size_t i = len; i > 0; i--)
		if (buf[i - 1] == '\n')
			return i;
	return 0;
}

int job_offset_check(uint64_t offset, uint64_t size, char prev,
    char *err, size_t errlen)
{
	if (offset > size) {
		snprintf(err, errlen, "offset %llu is past the end of the job's "
		    "output (%llu bytes); pass the offset the last status line "
		    "reported", (unsigned long long)offset,
		    (unsigned long long)size);
		return -1;
	}
	if (offset > 0 && prev != '\n') {
		snprintf(err, errlen, "offset %llu is not at the start of a line "
		    "of the job's output; pass the offset the last status line "
		    "reported", (unsigned long long)offset);
		return -1;
	}
	return 0;
}

const char *job_state_name(enum job_state s)
{
	switch (s) {
	case JOB_RUNNING:
		return "running";
	case JOB_DONE:
		return "done";
	case JOB_LOST:
		break;
	}
	return "lost";
}

enum job_state job_state_of(bool has_result, bool supervisor_alive)
{
	if (has_result)
		return JOB_DONE;
	return supervisor_alive ? JOB_RUNNING : JOB_LOST;
}

static json_t *ms_or_null(int64_t ms)
{
	return ms > 0 ? json_integer((json_int_t)ms) : json_null();
}

char *job_status_line(const struct job_status *s)
{
	json_t *j = json_object();
	char *line;

	/* json_object_set_new keeps insertion order: the documented order. */
	json_object_set_new(j, "type", json_string("job"));
	json_object_set_new(j, "id", json_string(s->id));
	json_object_set_new(j, "state", json_string(job_state_name(s->state)));
	json_object_set_new(j, "started", json_boolean(s->started));
	json_object_set_new(j, "offset", json_integer((json_int_t)s->offset));
	json_object_set_new(j, "exit", s->has_exit ?
	    json_integer(s->exit) : json_null());
	json_object_set_new(j, "signal", s->signal && *s->signal ?
	    json_string(s->signal) : json_null());
	json_object_set_new(j, "started_at", ms_or_null(s->started_at));
	json_object_set_new(j, "finished_at", ms_or_null(s->finished_at));
	line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return line;
}

const char *job_signal_name(int sig, char *buf, size_t len)
{
	static const struct { int sig; const char *name; } names[] = {
		{ SIGHUP, "HUP" }, { SIGINT, "INT" }, { SIGQUIT, "QUIT" },
		{ SIGILL, "ILL" }, { SIGABRT, "ABRT" }, { SIGBUS, "BUS" },
		{ SIGFPE, "FPE" }, { SIGKILL, "KILL" }, { SIGSEGV, "SEGV" },
		{ SIGPIPE, "PIPE" }, { SIGALRM, "ALRM" }, { SIGTERM, "TERM" },
		{ SIGUSR1, "USR1" }, { SIGUSR2, "USR2" }, { SIGXFSZ, "XFSZ" },
		{ SIGXCPU, "XCPU" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].sig == sig)
			return names[i].name;
	snprintf(buf, len, "SIG%d", sig);
	return buf;
}

char *job_result_text(const struct job_result *r)
{
	json_t *j = json_object();
	char *s, *line;

	json_object_set_new(j, "exit", json_integer(r->exit));
	json_object_set_new(j, "signal", r->signal[0] ?
	    json_string(r->signal) : json_null());
	json_object_set_new(j, "finished_at", json_integer(r->finished_at));
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	line = xasprintf("%s\n", s);
	free(s);
	return line;
}

int job_result_parse(const char *text, struct job_result *r, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je), *e, *s, *f;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (j == NULL) {
		snprintf(err, errlen, "not JSON: %s", je.text);
		return -1;
	}
	e = json_object_get(j, "exit");
	s = json_object_get(j, "signal");
	f = json_object_get(j, "finished_at");
	if (!json_is_object(j) || !json_is_integer(e) ||
	    json_integer_value(e) < 0 || json_integer_value(e) > 255)
		snprintf(err, errlen, "\"exit\" is not an exit status (0-255)");
	else if (s != NULL && !json_is_null(s) && (!json_is_string(s) ||
	    json_string_length(s) == 0 || json_string_length(s) >= sizeof(r->signal)))
		snprintf(err, errlen, "\"signal\" is not a signal name or null");
	else if (!json_is_integer(f) || json_integer_value(f) <= 0)
		snprintf(err, errlen, "\"finished_at\" is not a time in ms");
	else {
		r->exit = (int)json_integer_value(e);
		if (json_is_string(s))
			str_copy(r->signal, json_string_value(s), sizeof(r->signal));
		r->finished_at = (int64_t)json_integer_value(f);
		rc = 0;
	}
	json_decref(j);
	return rc;
}

void job_events_scan(const char *text, struct job_events *ev)
{
	const char *p = text;

	memset(ev, 0, sizeof(*ev));
	while (p != NULL && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		json_t *j = n ? json_loadb(p, n, 0, NULL) : NULL;
		const char *name = json_string_value(json_object_get(j, "event"));
		json_t *at = json_object_get(j, "at");

		if (n == 0) {
			/* an empty line is nothing */
		} else if (name == NULL || !json_is_integer(at)) {
			ev->bad++;
		} else if (strcmp(name, "start") == 0) {
			if (ev->starts++ == 0)
				ev->started_at = (int64_t)json_integer_value(at);
		} else if (strcmp(name, "attach") == 0) {
			ev->attaches++;
		} else if (strcmp(name, "cancel") == 0) {
			ev->cancels++;
		} else if (strcmp(name, "end") == 0) {
			ev->ends++;
		} else {
			ev->bad++;
		}
		json_decref(j);
		p = nl ? nl + 1 : NULL;
	}
}

bool job_expired(int64_t finished_at, int64_t now, int64_t retention_s)
{
	if (retention_s <= 0 || finished_at <= 0)
		return false;
	return now - finished_at > retention_s * 1000;
}

/* ---- the job directory ---- */

struct jobctx {
	const char *conf_path;		/* as given with -f, or NULL */
	struct agentcfg *cfg;
	char *jobs;			/* <state_dir>/jobs */
	size_t max_bytes;		/* of output a call prints (--max-bytes) */
	bool json;
	bool secrets;			/* --secrets-stdin */
};

/* An error: on stderr, and with --json as a result line on stdout. */
__attribute__((format(printf, 3, 4)))
static int fail(const struct jobctx *jc, int status, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "ringagent job: %s\n", msg);
	if (jc == NULL || jc->json) {
		const char *code = status == OPEXIT_USAGE ? "usage" :
		    status == OPEXIT_CONFIG ? "config" : "failed";
		json_t *j = json_pack("{s:s, s:s, s:b, s:i, s:{s:s, s:s}}",
		    "type", "result", "op", "job", "ok", 0, "exit", status,
		    "error", "code", code, "message", msg);
		char *s = json_dumps(j, JSON_COMPACT);
		printf("%s\n", s);
		fflush(stdout);
		free(s);
		json_decref(j);
	}
	free(msg);
	return status;
}

static char *job_path(const struct jobctx *jc, const char *id, const char *file)
{
	return file ? xasprintf("%s/%s/%s", jc->jobs, id, file) :
	    xasprintf("%s/%s", jc->jobs, id);
}

/* Everything of the status line but started and offset. */
static void read_status(const char *dir, const char *id, struct job_status *s,
    struct job_result *r)
{
	char *p = xasprintf("%s/events", dir), *text;
	struct job_events ev;
	bool has;

	memset(s, 0, sizeof(*s));
	s->id = id;
	has = job_dir_read_result(dir, r);
	/* A result written between the two looks is still a result. */
	if (!has && !job_dir_supervisor_alive(dir))
		has = job_dir_read_result(dir, r);
	s->state = has ? JOB_DONE : job_state_of(false, job_dir_supervisor_alive(dir));
	if (s->state == JOB_LOST && job_dir_read_result(dir, r)) {
		has = true;
		s->state = JOB_DONE;
	}
	if (has) {
		s->has_exit = true;
		s->exit = r->exit;
		s->signal = r->signal;
		s->finished_at = r->finished_at;
	}
	text = file_read_all(p, 1u << 20, NULL);
	job_events_scan(text ? text : "", &ev);
	free(text);
	free(p);
	s->started_at = ev.started_at;
	if (s->started_at == 0) {
		/* the start event is not written yet: when the job was made */
		p = xasprintf("%s/argv", dir);
		s->started_at = job_dir_mtime_ms(p);
		free(p);
	}
}

/* The op's output from offset, then the status line; the exit status. */
static int report(const struct jobctx *jc, const char *id, bool started,
    uint64_t offset)
{
	char *dir = job_path(jc, id, NULL), *line;
	struct job_status s;
	struct job_result r;
	char err[512];
	uint64_t next;

	/* The state first: output written before a "done" is all there. */
	read_status(dir, id, &s, &r);
	s.started = started;
	if (job_dir_print_output(dir, offset, jc->max_bytes, &next, err,
	    sizeof(err)) != 0) {
		free(dir);
		return fail(jc, OPEXIT_USAGE, "job %s: %s", id, err);
	}
	s.offset = next;
	if (jc->json) {
		line = job_status_line(&s);
		printf("%s\n", line);
		free(line);
	} else {
		printf("job %s: %s%s", id, job_state_name(s.state),
		    started ? " (started now)" : "");
		if (s.has_exit)
			printf(", exit %d%s%s", s.exit, s.signal && *s.signal ?
			    ", signal " : "", s.signal ? s.signal : "");
		printf(", next offset %llu\n", (unsigned long long)s.offset);
	}
	fflush(stdout);
	free(dir);
	return OPEXIT_OK;
}

static int ensure_dir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
	return -1;
}

/* ---- commands ---- */

static int cmd_start(struct jobctx *jc, const char *id, uint64_t offset,
    char **opargv, int opargc)
{
	char *dir = job_path(jc, id, NULL), *tmp = NULL, *p, *argtext;
	char err[512], *conf_abs = NULL, *secrets = NULL;
	json_t *av;
	int lockfd = -1, ready[2] = { -1, -1 }, rc;
	pid_t child;

	if (jc->secrets) {
		/* Read even for an attach: the caller wrote it and waits for
		 * nothing else.  Only a new job's op gets it (job_sup.c). */
		struct creds_secrets sc;
		if (op_secrets_read(0, 10000, &sc, err, sizeof(err)) != 0) {
			free(dir);
			return fail(jc, OPEXIT_USAGE, "job start %s: %s", id,
			    err);
		}
		secrets = creds_secrets_line(sc.access_key, sc.secret_key,
		    sc.token);
		creds_secrets_release(&sc);
	}
	job_gc_run(jc->jobs, jc->cfg->job_retention_s, NULL, NULL);
	if (access(dir, F_OK) == 0)
		goto attach;
	if (offset != 0) {
		/* Checked before anything starts: bad input changes nothing. */
		free(dir);
		creds_wipe_free(secrets);
		return fail(jc, OPEXIT_USAGE, "job %s does not exist yet, so "
		    "--offset %llu is past the end of its output; start it with "
		    "offset 0", id, (unsigned long long)offset);
	}
	if (!ops_known(opargv[0])) {
		free(dir);
		creds_wipe_free(secrets);
		return fail(jc, OPEXIT_USAGE, "unknown operation '%s' for job "
		    "%s; 'ringagent --help' lists them", opargv[0], id);
	}
	if (jc->conf_path != NULL &&
	    (conf_abs = realpath(jc->conf_path, NULL)) == NULL) {
		free(dir);
		creds_wipe_free(secrets);
		return fail(jc, OPEXIT_CONFIG, "cannot resolve the config "
		    "file %s: %s", jc->conf_path, strerror(errno));
	}

	tmp = xasprintf("%s/.new-%s.%ld", jc->jobs, id, (long)getpid());
	job_dir_remove_tree(tmp);
	if (ensure_dir(tmp, err, sizeof(err)) != 0) {
		rc = fail(jc, OPEXIT_FAILED, "cannot start job %s: %s", id, err);
		goto out;
	}
	av = json_array();
	for (int i = 0; i < opargc; i++)
		json_array_append_new(av, json_string(opargv[i]));
	p = json_dumps(av, JSON_COMPACT);
	argtext = xasprintf("%s\n", p);
	free(p);
	json_decref(av);
	p = xasprintf("%s/argv", tmp);
	rc = file_write_atomic(p, argtext, strlen(argtext), 0600);
	free(p);
	free(argtext);
	p = xasprintf("%s/lock", tmp);
	lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(p);
	if (rc != 0 || lockfd < 0 || flock(lockfd, LOCK_EX) != 0) {
		rc = fail(jc, OPEXIT_FAILED, "cannot start job %s: cannot "
		    "write %s: %s", id, tmp, strerror(errno));
		job_dir_remove_tree(tmp);
		goto out;
	}
	if (rename(tmp, dir) != 0) {
		int e = errno;
		job_dir_remove_tree(tmp);
		close(lockfd);
		lockfd = -1;
		if (e == EEXIST || e == ENOTEMPTY) {
			free(tmp);
			tmp = NULL;
			free(conf_abs);
			goto attach;	/* a concurrent start of the same id won */
		}
		rc = fail(jc, OPEXIT_FAILED, "cannot start job %s: cannot "
		    "rename %s to %s: %s", id, tmp, dir, strerror(e));
		goto out;
	}

	if (pipe2(ready, O_CLOEXEC) != 0 || (child = fork()) < 0) {
		rc = fail(jc, OPEXIT_FAILED, "cannot start job %s: cannot "
		    "fork: %s; the job is reported lost", id, strerror(errno));
		goto out;
	}
	if (child == 0) {
		close(ready[0]);
		fflush(stdout);
		if (fork() == 0)
			job_sup_run(dir, id, conf_abs, opargv, opargc, lockfd,
			    ready[1], secrets);
		_exit(0);
	}
	creds_wipe_free(secrets);
	secrets = NULL;
	close(ready[1]);
	ready[1] = -1;
	waitpid(child, NULL, 0);
	{
		/* Until the start event is written (EOF on the pipe). */
		struct pollfd pf = { .fd = ready[0], .events = POLLIN };
		int64_t until = time_mono_ms() + READY_WAIT_MS;
		char c;
		while (time_mono_ms() < until && poll(&pf, 1, 100) >= 0)
			if ((pf.revents & (POLLIN | POLLHUP)) &&
			    read(ready[0], &c, 1) <= 0)
				break;
	}
	rc = report(jc, id, true, offset);
out:
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	if (lockfd >= 0)
		close(lockfd);
	free(tmp);
	free(conf_abs);
	free(dir);
	creds_wipe_free(secrets);
	return rc;

attach:
	creds_wipe_free(secrets);
	{
		char line[128];
		snprintf(line, sizeof(line), "{\"event\":\"attach\",\"at\":%lld}",
		    (long long)time_wall_ms());
		job_dir_append_event(dir, line);
	}
	rc = report(jc, id, false, offset);
	free(dir);
	return rc;
}

static int unknown_job(const struct jobctx *jc, const char *id)
{
	return fail(jc, OPEXIT_FAILED, "no job '%s' on this node (%s/%s "
	    "does not exist): it was never started here or retention removed "
	    "it; 'ringagent job list' shows the jobs", id, jc->jobs, id);
}

static int cmd_poll(struct jobctx *jc, const char *id, uint64_t offset)
{
	char *dir = job_path(jc, id, NULL);
	bool exists = access(dir, F_OK) == 0;

	free(dir);
	if (!exists)
		return unknown_job(jc, id);
	return report(jc, id, false, offset);
}

static int cmd_cancel(struct jobctx *jc, const char *id, uint64_t offset,
    int64_t wait_ms)
{
	char *dir = job_path(jc, id, NULL), *p, *text;
	struct job_result r;
	char line[128];
	int64_t until;

	if (access(dir, F_OK) != 0) {
		free(dir);
		return unknown_job(jc, id);
	}
	if (!job_dir_read_result(dir, &r) && job_dir_supervisor_alive(dir)) {
		json_t *pj;
		json_int_t sup;

		snprintf(line, sizeof(line), "{\"event\":\"cancel\",\"at\":%lld}",
		    (long long)time_wall_ms());
		job_dir_append_event(dir, line);
		/*
		 * The supervisor forwards SIGTERM to the op, which it has not
		 * reaped yet, so the op's pid cannot have been reused.  While
		 * the lock is held the supervisor's pid is its own too.
		 */
		p = xasprintf("%s/pid", dir);
		text = file_read_all(p, 4096, NULL);
		free(p);
		pj = text ? json_loads(text, 0, NULL) : NULL;
		sup = json_integer_value(json_object_get(pj, "supervisor"));
		if (sup > 1 && job_dir_supervisor_alive(dir))
			kill((pid_t)sup, SIGTERM);
		json_decref(pj);
		free(text);
		until = time_mono_ms() + wait_ms;
		while (!job_dir_read_result(dir, &r) && job_dir_supervisor_alive(dir) &&
		    time_mono_ms() < until)
			usleep(100 * 1000);
	} else if (!job_dir_read_result(dir, &r)) {
		/* lost: stop an op that outlived its supervisor; no result follows */
		pid_t op = job_dir_orphan_op(dir, id);

		if (op > 0) {
			snprintf(line, sizeof(line), "{\"event\":\"cancel\",\"at\":%lld}",
			    (long long)time_wall_ms());
			job_dir_append_event(dir, line);
			kill(op, SIGTERM);
			until = time_mono_ms() + wait_ms;
			while (job_dir_orphan_op(dir, id) > 0 && time_mono_ms() < until)
				usleep(100 * 1000);
		}
	}
	free(dir);
	return report(jc, id, false, offset);
}

static int cmd_list(struct jobctx *jc)
{
	DIR *d = opendir(jc->jobs);
	struct dirent *e;
	json_t *ids = json_array();
	size_t i;
	json_t *v;

	while (d != NULL && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && job_id_valid(e->d_name))
			json_array_append_new(ids, json_string(e->d_name));
	if (d)
		closedir(d);
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);
		char *dir = job_path(jc, id, NULL), *p, *text;
		struct job_status s;
		struct job_result r;
		json_t *argv, *j;
		const char *op;
		int64_t last, ret, gone;

		read_status(dir, id, &s, &r);
		last = job_dir_last_seen(dir);
		/* When retention removes it (job_gc_due()); 0: not by age. */
		ret = job_dir_retention_s(dir, jc->cfg->job_retention_s);
		gone = 0;
		if (ret > 0 && s.state == JOB_DONE && s.finished_at > 0)
			gone = s.finished_at + ret * 1000;
		else if (ret > 0 && s.state == JOB_LOST && last > 0 &&
		    job_dir_orphan_op(dir, id) == 0)
			gone = last + ret * 1000;
		p = xasprintf("%s/argv", dir);
		text = file_read_all(p, 1u << 20, NULL);
		argv = text ? json_loads(text, 0, NULL) : NULL;
		op = json_string_value(json_array_get(argv, 0));
		if (jc->json) {
			char *line;
			j = json_object();
			json_object_set_new(j, "type", json_string("job"));
			json_object_set_new(j, "id", json_string(id));
			json_object_set_new(j, "state",
			    json_string(job_state_name(s.state)));
			json_object_set_new(j, "op", op ? json_string(op) : json_null());
			json_object_set_new(j, "started_at", ms_or_null(s.started_at));
			json_object_set_new(j, "finished_at", ms_or_null(s.finished_at));
			json_object_set_new(j, "exit", s.has_exit ?
			    json_integer(s.exit) : json_null());
			json_object_set_new(j, "last_seen_at", ms_or_null(last));
			json_object_set_new(j, "expires_at", ms_or_null(gone));
			line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
			printf("%s\n", line);
			free(line);
			json_decref(j);
		} else {
			printf("%-30s %-8s %-16s %lld %lld %lld %lld\n", id,
			    job_state_name(s.state), op ? op : "?",
			    (long long)s.started_at, (long long)s.finished_at,
			    (long long)last, (long long)gone);
		}
		json_decref(argv);
		free(text);
		free(p);
		free(dir);
	}
	json_decref(ids);
	return OPEXIT_OK;
}

static int cmd_gc(struct jobctx *jc)
{
	json_t *removed = json_array(), *lost = json_array();
	size_t i, k;
	json_t *v, *w;

	job_gc_run(jc->jobs, jc->cfg->job_retention_s, removed, lost);
	if (jc->json) {
		json_t *j = json_pack("{s:s, s:s, s:b, s:i, s:{s:O, s:O}}", "type",
		    "result", "op", "job", "ok", 1, "exit", 0, "data", "removed",
		    removed, "lost", lost);
		char *s = json_dumps(j, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
		json_decref(j);
	} else {
		json_array_foreach(removed, i, v) {
			bool was_lost = false;
			json_array_foreach(lost, k, w)
				was_lost |= json_equal(v, w);
			printf("removed %s (%s)\n", json_string_value(v),
			    was_lost ? "lost" : "done");
		}
	}
	json_decref(removed);
	json_decref(lost);
	return OPEXIT_OK;
}

static void job_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: ringagent [-f conf] job start ID [--offset N] [--max-bytes B] [--secrets-stdin] [--json] -- OP [ARGS...]\n"
	    "       ringagent [-f conf] job poll ID [--offset N] [--max-bytes B] [--json]\n"
	    "       ringagent [-f conf] job cancel ID [--wait S] [--offset N] [--max-bytes B] [--json]\n"
	    "       ringagent [-f conf] job list [--json]\n"
	    "       ringagent [-f conf] job gc [--json]\n"
	    "ID: 1-100 of A-Z a-z 0-9 . _ -; see docs/agent.md, \"Jobs\"\n");
}

int job_main(const char *conf_path, int argc, char **argv)
{
	struct jobctx jc;
	const char *cmd, *id = NULL;
	uint64_t offset = 0, wait_s = 10;
	char **opargv = NULL;
	int opargc = 0, rc;
	char err[1024];

	memset(&jc, 0, sizeof(jc));
	jc.max_bytes = JOB_OUT_MAX;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			jc.json = true;
	if (argc < 2) {
		job_usage(stderr);
		return fail(&jc, OPEXIT_USAGE, "job needs a command: start, "
		    "poll, cancel, list or gc");
	}
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		job_usage(stdout);
		return OPEXIT_OK;
	}
	bool with_id = strcmp(cmd, "start") == 0 || strcmp(cmd, "poll") == 0 ||
	    strcmp(cmd, "cancel") == 0;
	if (!with_id && strcmp(cmd, "list") != 0 && strcmp(cmd, "gc") != 0) {
		job_usage(stderr);
		return fail(&jc, OPEXIT_USAGE, "unknown job command '%s'", cmd);
	}
	int i = 2;
	if (with_id) {
		if (argc < 3 || !job_id_valid(argv[2])) {
			job_usage(stderr);
			return fail(&jc, OPEXIT_USAGE, "job %s needs an ID of 1 to "
			    "%d characters A-Z a-z 0-9 . _ - (got '%s')", cmd,
			    JOB_ID_MAX, argc < 3 ? "" : argv[2]);
		}
		id = argv[2];
		i = 3;
	}
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0)
			continue;
		if (strcmp(a, "--secrets-stdin") == 0 &&
		    strcmp(cmd, "start") == 0) {
			jc.secrets = true;
			continue;
		}
		if (strcmp(a, "--") == 0 && strcmp(cmd, "start") == 0) {
			opargv = argv + i + 1;
			opargc = argc - i - 1;
			break;
		}
		if (strcmp(a, "--offset") == 0 && i + 1 < argc &&
		    strcmp(cmd, "list") != 0 && strcmp(cmd, "gc") != 0) {
			if (job_offset_parse(argv[++i], &offset, err, sizeof(err)) != 0)
				return fail(&jc, OPEXIT_USAGE, "job %s: %s", cmd, err);
			continue;
		}
		if (strcmp(a, "--max-bytes") == 0 && i + 1 < argc && with_id) {
			uint64_t mb;
			if (job_offset_parse(argv[++i], &mb, err, sizeof(err)) != 0 ||
			    mb < JOB_OUT_MIN || mb > JOB_OUT_MAX)
				return fail(&jc, OPEXIT_USAGE, "job %s: --max-bytes "
				    "'%s' is not a number of bytes from %u to %u",
				    cmd, argv[i], JOB_OUT_MIN, JOB_OUT_MAX);
			jc.max_bytes = (size_t)mb;
			continue;
		}
		if (strcmp(a, "--wait") == 0 && i + 1 < argc &&
		    strcmp(cmd, "cancel") == 0) {
			if (job_offset_parse(argv[++i], &wait_s, err, sizeof(err)) != 0 ||
			    wait_s > 3600)
				return fail(&jc, OPEXIT_USAGE, "job cancel: --wait "
				    "'%s' is not a number of seconds (0-3600)", argv[i]);
			continue;
		}
		job_usage(stderr);
		return fail(&jc, OPEXIT_USAGE, "job %s: unexpected argument "
		    "'%s'", cmd, a);
	}
	if (strcmp(cmd, "start") == 0 && opargc < 1) {
		job_usage(stderr);
		return fail(&jc, OPEXIT_USAGE, "job start %s: the operation "
		    "goes after '--', as in: job start %s -- status", id, id);
	}
	if (opargc > 0 && strcmp(opargv[0], "job") == 0)
		return fail(&jc, OPEXIT_USAGE, "job start %s: a job cannot run "
		    "'job'", id);

	jc.conf_path = conf_path;
	if (conf_path == NULL)
		conf_path = getenv("RINGAGENT_CONF");
	if (conf_path == NULL || *conf_path == '\0')
		conf_path = AGENTCFG_DEFAULT_PATH;
	if ((jc.cfg = agentcfg_load(conf_path, err, sizeof(err))) == NULL)
		return fail(&jc, OPEXIT_CONFIG, "%s", err);
	/* The op reads the same file: pass it on by path even if from the env. */
	jc.conf_path = conf_path;
	jc.jobs = xasprintf("%s/jobs", jc.cfg->state_dir);
	signal(SIGPIPE, SIG_IGN);

	if (strcmp(cmd, "start") == 0 &&
	    (ensure_dir(jc.cfg->state_dir, err, sizeof(err)) != 0 ||
	    ensure_dir(jc.jobs, err, sizeof(err)) != 0))
		rc = fail(&jc, OPEXIT_FAILED, "cannot start job %s: %s; check "
		    "state_dir in %s", id, err, conf_path);
	else if (strcmp(cmd, "start") == 0)
		rc = cmd_start(&jc, id, offset, opargv, opargc);
	else if (strcmp(cmd, "poll") == 0)
		rc = cmd_poll(&jc, id, offset);
	else if (strcmp(cmd, "cancel") == 0)
		rc = cmd_cancel(&jc, id, offset, (int64_t)wait_s * 1000);
	else if (strcmp(cmd, "list") == 0)
		rc = cmd_list(&jc);
	else
		rc = cmd_gc(&jc);
	free(jc.jobs);
	agentcfg_free(jc.cfg);
	return rc;
}
