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
 * exit writes result (tmp + rename) and the end event.
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

#include "../common/util.h"
#include "agentcfg.h"
#include "ops.h"

#define OUT_CHUNK (16u << 20)	/* bytes of output printed per call at most */
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
	bool json;
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
		const char *code = status == OPS_EXIT_USAGE ? "usage" :
		    status == OPS_EXIT_CONFIG ? "config" : "failed";
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

static void append_event(const char *dir, const char *line)
{
	char *p = xasprintf("%s/events", dir);
	int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	/* One write of a short line on O_APPEND: lines never interleave. */
	if (fd >= 0) {
		char *l = xasprintf("%s\n", line);
		if (write(fd, l, strlen(l)) < 0) {
			/* the event is lost; the job itself goes on */
		}
		free(l);
		close(fd);
	}
	free(p);
}

/*
 * True while the supervisor lives: it holds an exclusive flock on lock.
 * flock() locks belong to the open file, so our own open conflicts even
 * if this process were the holder, and they vanish with the process and
 * with a reboot.
 */
static bool supervisor_alive(const char *dir)
{
	char *p = xasprintf("%s/lock", dir);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	bool alive = false;

	free(p);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) != 0)
		alive = errno == EWOULDBLOCK;
	close(fd);
	return alive;
}

/* The result of dir, when it has a readable one. */
static bool read_result(const char *dir, struct job_result *r)
{
	char *p = xasprintf("%s/result", dir), *text;
	char err[256];
	bool ok = false;

	text = file_read_all(p, 4096, NULL);
	if (text != NULL)
		ok = job_result_parse(text, r, err, sizeof(err)) == 0;
	free(text);
	free(p);
	return ok;
}

static int64_t mtime_ms(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
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
	has = read_result(dir, r);
	/* A result written between the two looks is still a result. */
	if (!has && !supervisor_alive(dir))
		has = read_result(dir, r);
	s->state = has ? JOB_DONE : job_state_of(false, supervisor_alive(dir));
	if (s->state == JOB_LOST && read_result(dir, r)) {
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
		s->started_at = mtime_ms(p);
		free(p);
	}
}

/*
 * Print the op's complete lines from offset; *next is the offset after
 * them.  0, or -1 with err.
 */
static int print_output(const char *dir, uint64_t offset, uint64_t *next,
    char *err, size_t errlen)
{
	char *p = xasprintf("%s/out", dir), prev = 0, *buf;
	struct stat st;
	uint64_t size;
	ssize_t n;
	size_t want, got = 0, end;
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	free(p);
	if (fd < 0 && errno == ENOENT) {
		size = 0;
	} else if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot read the job's output: %s",
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	} else {
		size = (uint64_t)st.st_size;
	}
	if (offset > 0 && offset <= size && pread(fd, &prev, 1,
	    (off_t)offset - 1) != 1)
		prev = 0;
	if (job_offset_check(offset, size, prev, err, errlen) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*next = offset;
	if (fd < 0 || offset == size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	want = size - offset > OUT_CHUNK ? OUT_CHUNK : (size_t)(size - offset);
	buf = xmalloc(want);
	while (got < want) {
		n = pread(fd, buf + got, want - got, (off_t)(offset + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	end = job_complete_end(buf, got);
	if (end > 0 && fwrite(buf, 1, end, stdout) != end)
		end = 0;
	free(buf);
	*next = offset + end;
	return 0;
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
	if (print_output(dir, offset, &next, err, sizeof(err)) != 0) {
		free(dir);
		return fail(jc, OPS_EXIT_USAGE, "job %s: %s", id, err);
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
	return OPS_EXIT_OK;
}

static int ensure_dir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
	return -1;
}

/* Remove dir and the plain files in it (job directories hold no others). */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/*
 * Remove finished jobs past retention; their ids go into removed (may be
 * NULL).  A job is first renamed out of the way, so a start of the same id
 * at that moment makes a new job instead of finding a half-removed one.
 */
static void gc(const struct jobctx *jc, json_t *removed)
{
	DIR *d = opendir(jc->jobs);
	struct dirent *e;
	int64_t now = time_wall_ms();

	while (d != NULL && (e = readdir(d)) != NULL) {
		struct job_result r;
		char *dir;

		if (e->d_name[0] == '.') {
			/* a start that died before its rename, an hour ago */
			if (str_starts_with(e->d_name, ".new-") ||
			    str_starts_with(e->d_name, ".gc-")) {
				dir = xasprintf("%s/%s", jc->jobs, e->d_name);
				if (mtime_ms(dir) > 0 && now - mtime_ms(dir) > 3600 * 1000)
					remove_tree(dir);
				free(dir);
			}
			continue;
		}
		if (!job_id_valid(e->d_name))
			continue;
		dir = job_path(jc, e->d_name, NULL);
		if (read_result(dir, &r) &&
		    job_expired(r.finished_at, now, jc->cfg->job_retention_s)) {
			char *tmp = xasprintf("%s/.gc-%s.%ld", jc->jobs, e->d_name,
			    (long)getpid());
			if (rename(dir, tmp) == 0) {
				remove_tree(tmp);
				if (removed)
					json_array_append_new(removed,
					    json_string(e->d_name));
			}
			free(tmp);
		}
		free(dir);
	}
	if (d)
		closedir(d);
}

/* ---- the supervisor ---- */

static volatile sig_atomic_t sup_term;

static void sup_on_term(int sig)
{
	(void)sig;
	sup_term = 1;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * The supervisor: runs in the grandchild, never returns.  lockfd is the
 * job's lock (held), readyfd the pipe the starter waits on.
 */
static _Noreturn void supervise(const char *dir, const char *id,
    const char *conf_path, char **opargv, int opargc, int lockfd, int readyfd)
{
	int devnull, outfd, errfd, pfd[2], status = 0;
	char *p, buf[8192], line[256], sigbuf[16];
	struct sigaction sa;
	struct job_result r;
	bool reaped = false, forwarded = false;
	size_t errbytes = 0;
	int64_t drain_until = 0;
	pid_t op;

	setsid();
	/* Nothing of the SSH session's pipes may stay open here. */
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (devnull > 2)
			close(devnull);
	}
	for (int fd = 3; fd < 1024; fd++)
		if (fd != lockfd && fd != readyfd)
			close(fd);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sup_on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	p = xasprintf("%s/out", dir);
	outfd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	free(p);
	p = xasprintf("%s/err", dir);
	errfd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	free(p);
	if (outfd < 0 || errfd < 0 || pipe2(pfd, O_CLOEXEC) != 0)
		_exit(1);	/* no result: the job is lost, which is true */

	op = fork();
	if (op == 0) {
		/* ringagent [-f conf] OP ARGS --json, this same binary */
		char **av = xcalloc((size_t)opargc + 5, sizeof(char *));
		int n = 0;
		sigset_t none;

		av[n++] = xstrdup("ringagent");
		if (conf_path != NULL) {
			av[n++] = xstrdup("-f");
			av[n++] = xstrdup(conf_path);
		}
		for (int i = 0; i < opargc; i++)
			av[n++] = opargv[i];
		av[n++] = xstrdup("--json");
		av[n] = NULL;
		/* tells ops.c it runs as a job (cancel on SIGTERM only) */
		setenv(JOB_ENV, id, 1);
		dup2(outfd, 1);
		dup2(pfd[1], 2);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv("/proc/self/exe", av);
		dprintf(2, "ringagent job: cannot run /proc/self/exe: %s\n",
		    strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	close(outfd);
	if (op < 0) {
		snprintf(buf, sizeof(buf), "ringagent job: cannot fork the op: %s\n",
		    strerror(errno));
		write_all(errfd, buf, strlen(buf));
		status = 127 << 8;
		reaped = true;
	} else {
		p = xasprintf("%s/pid", dir);
		snprintf(buf, sizeof(buf), "{\"supervisor\":%ld,\"op\":%ld}\n",
		    (long)getpid(), (long)op);
		file_write_atomic(p, buf, strlen(buf), 0600);
		free(p);
		snprintf(line, sizeof(line), "{\"event\":\"start\",\"at\":%lld,"
		    "\"pid\":%ld}", (long long)time_wall_ms(), (long)op);
		append_event(dir, line);
	}
	close(readyfd);		/* the starter may print its status line now */

	/*
	 * Copy stderr until the op is reaped and its pipe is drained (at most
	 * 200 ms after: a child of the op may hold the pipe), forwarding a
	 * SIGTERM (job cancel) to the op.
	 */
	for (;;) {
		struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
		int pr;

		if (sup_term && !forwarded && !reaped) {
			kill(op, SIGTERM);
			forwarded = true;
		}
		if (!reaped && waitpid(op, &status, WNOHANG) == op) {
			reaped = true;
			drain_until = time_mono_ms() + 200;
		}
		if (reaped && (pf.fd < 0 || time_mono_ms() >= drain_until))
			break;
		if (pf.fd < 0) {
			usleep(100 * 1000);
			continue;
		}
		pr = poll(&pf, 1, 100);
		if (pr <= 0)
			continue;
		ssize_t n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(pfd[0]);
			pfd[0] = -1;
			continue;
		}
		/* Past the cap stderr is read and dropped: the op never blocks. */
		if (errbytes < JOB_ERR_MAX) {
			size_t take = (size_t)n;
			if (take > JOB_ERR_MAX - errbytes)
				take = JOB_ERR_MAX - errbytes;
			write_all(errfd, buf, take);
			errbytes += take;
		}
	}
	close(errfd);

	memset(&r, 0, sizeof(r));
	if (WIFSIGNALED(status)) {
		r.exit = 128 + WTERMSIG(status);
		str_copy(r.signal, job_signal_name(WTERMSIG(status), sigbuf,
		    sizeof(sigbuf)), sizeof(r.signal));
	} else {
		r.exit = WEXITSTATUS(status);
	}
	r.finished_at = time_wall_ms();
	p = xasprintf("%s/result", dir);
	char *text = job_result_text(&r);
	file_write_atomic(p, text, strlen(text), 0600);
	free(text);
	free(p);
	snprintf(line, sizeof(line), "{\"event\":\"end\",\"at\":%lld,\"exit\":%d}",
	    (long long)r.finished_at, r.exit);
	append_event(dir, line);
	_exit(0);
}

/* ---- commands ---- */

static int cmd_start(struct jobctx *jc, const char *id, uint64_t offset,
    char **opargv, int opargc)
{
	char *dir = job_path(jc, id, NULL), *tmp = NULL, *p, *argtext;
	char err[512], *conf_abs = NULL;
	json_t *av;
	int lockfd = -1, ready[2] = { -1, -1 }, rc;
	pid_t child;

	gc(jc, NULL);
	if (access(dir, F_OK) == 0)
		goto attach;
	if (offset != 0) {
		/* Checked before anything starts: bad input changes nothing. */
		free(dir);
		return fail(jc, OPS_EXIT_USAGE, "job %s does not exist yet, so "
		    "--offset %llu is past the end of its output; start it with "
		    "offset 0", id, (unsigned long long)offset);
	}
	if (!ops_known(opargv[0])) {
		free(dir);
		return fail(jc, OPS_EXIT_USAGE, "unknown operation '%s' for job "
		    "%s; 'ringagent --help' lists them", opargv[0], id);
	}
	if (jc->conf_path != NULL &&
	    (conf_abs = realpath(jc->conf_path, NULL)) == NULL) {
		free(dir);
		return fail(jc, OPS_EXIT_CONFIG, "cannot resolve the config "
		    "file %s: %s", jc->conf_path, strerror(errno));
	}

	tmp = xasprintf("%s/.new-%s.%ld", jc->jobs, id, (long)getpid());
	remove_tree(tmp);
	if (ensure_dir(tmp, err, sizeof(err)) != 0) {
		rc = fail(jc, OPS_EXIT_FAILED, "cannot start job %s: %s", id, err);
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
		rc = fail(jc, OPS_EXIT_FAILED, "cannot start job %s: cannot "
		    "write %s: %s", id, tmp, strerror(errno));
		remove_tree(tmp);
		goto out;
	}
	if (rename(tmp, dir) != 0) {
		int e = errno;
		remove_tree(tmp);
		close(lockfd);
		lockfd = -1;
		if (e == EEXIST || e == ENOTEMPTY) {
			free(tmp);
			free(conf_abs);
			goto attach;	/* a concurrent start of the same id won */
		}
		rc = fail(jc, OPS_EXIT_FAILED, "cannot start job %s: cannot "
		    "rename %s to %s: %s", id, tmp, dir, strerror(e));
		goto out;
	}

	if (pipe2(ready, O_CLOEXEC) != 0 || (child = fork()) < 0) {
		rc = fail(jc, OPS_EXIT_FAILED, "cannot start job %s: cannot "
		    "fork: %s; the job is reported lost", id, strerror(errno));
		goto out;
	}
	if (child == 0) {
		close(ready[0]);
		fflush(stdout);
		if (fork() == 0)
			supervise(dir, id, conf_abs, opargv, opargc, lockfd, ready[1]);
		_exit(0);
	}
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
	return rc;

attach:
	{
		char line[128];
		snprintf(line, sizeof(line), "{\"event\":\"attach\",\"at\":%lld}",
		    (long long)time_wall_ms());
		append_event(dir, line);
	}
	rc = report(jc, id, false, offset);
	free(dir);
	return rc;
}

static int unknown_job(const struct jobctx *jc, const char *id)
{
	return fail(jc, OPS_EXIT_FAILED, "no job '%s' on this node (%s/%s "
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

/*
 * The op of a job whose supervisor is gone may still run (the supervisor
 * alone was killed).  Its pid is only trusted when that process still
 * carries the job's id in its environment, so a reused pid is never hit.
 */
static pid_t orphan_op(const char *dir, const char *id)
{
	char *p = xasprintf("%s/pid", dir), *text, *env, *want;
	json_t *pj;
	json_int_t op;
	size_t len, wl;
	pid_t found = 0;

	text = file_read_all(p, 4096, NULL);
	free(p);
	pj = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	op = json_integer_value(json_object_get(pj, "op"));
	json_decref(pj);
	if (op <= 1)
		return 0;
	p = xasprintf("/proc/%lld/environ", (long long)op);
	env = file_read_all(p, 1u << 20, &len);
	free(p);
	want = xasprintf("%s=%s", JOB_ENV, id);
	wl = strlen(want) + 1;	/* with its NUL: the whole entry */
	for (size_t i = 0; env != NULL && i + wl <= len; ) {
		if (memcmp(env + i, want, wl) == 0) {
			found = (pid_t)op;
			break;
		}
		const char *z = memchr(env + i, '\0', len - i);
		if (z == NULL)
			break;
		i = (size_t)(z - env) + 1;
	}
	free(want);
	free(env);
	return found;
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
	if (!read_result(dir, &r) && supervisor_alive(dir)) {
		json_t *pj;
		json_int_t sup;

		snprintf(line, sizeof(line), "{\"event\":\"cancel\",\"at\":%lld}",
		    (long long)time_wall_ms());
		append_event(dir, line);
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
		if (sup > 1 && supervisor_alive(dir))
			kill((pid_t)sup, SIGTERM);
		json_decref(pj);
		free(text);
		until = time_mono_ms() + wait_ms;
		while (!read_result(dir, &r) && supervisor_alive(dir) &&
		    time_mono_ms() < until)
			usleep(100 * 1000);
	} else if (!read_result(dir, &r)) {
		/* lost: stop an op that outlived its supervisor; no result follows */
		pid_t op = orphan_op(dir, id);

		if (op > 0) {
			snprintf(line, sizeof(line), "{\"event\":\"cancel\",\"at\":%lld}",
			    (long long)time_wall_ms());
			append_event(dir, line);
			kill(op, SIGTERM);
			until = time_mono_ms() + wait_ms;
			while (orphan_op(dir, id) > 0 && time_mono_ms() < until)
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

		read_status(dir, id, &s, &r);
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
			line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
			printf("%s\n", line);
			free(line);
			json_decref(j);
		} else {
			printf("%-30s %-8s %-16s %lld %lld\n", id,
			    job_state_name(s.state), op ? op : "?",
			    (long long)s.started_at, (long long)s.finished_at);
		}
		json_decref(argv);
		free(text);
		free(p);
		free(dir);
	}
	json_decref(ids);
	return OPS_EXIT_OK;
}

static int cmd_gc(struct jobctx *jc)
{
	json_t *removed = json_array();
	size_t i;
	json_t *v;

	gc(jc, removed);
	if (jc->json) {
		json_t *j = json_pack("{s:s, s:s, s:b, s:i, s:{s:O}}", "type",
		    "result", "op", "job", "ok", 1, "exit", 0, "data", "removed",
		    removed);
		char *s = json_dumps(j, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
		json_decref(j);
	} else {
		json_array_foreach(removed, i, v)
			printf("removed %s\n", json_string_value(v));
	}
	json_decref(removed);
	return OPS_EXIT_OK;
}

static void job_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: ringagent [-f conf] job start ID [--offset N] [--json] -- OP [ARGS...]\n"
	    "       ringagent [-f conf] job poll ID [--offset N] [--json]\n"
	    "       ringagent [-f conf] job cancel ID [--wait S] [--offset N] [--json]\n"
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
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			jc.json = true;
	if (argc < 2) {
		job_usage(stderr);
		return fail(&jc, OPS_EXIT_USAGE, "job needs a command: start, "
		    "poll, cancel, list or gc");
	}
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		job_usage(stdout);
		return OPS_EXIT_OK;
	}
	bool with_id = strcmp(cmd, "start") == 0 || strcmp(cmd, "poll") == 0 ||
	    strcmp(cmd, "cancel") == 0;
	if (!with_id && strcmp(cmd, "list") != 0 && strcmp(cmd, "gc") != 0) {
		job_usage(stderr);
		return fail(&jc, OPS_EXIT_USAGE, "unknown job command '%s'", cmd);
	}
	int i = 2;
	if (with_id) {
		if (argc < 3 || !job_id_valid(argv[2])) {
			job_usage(stderr);
			return fail(&jc, OPS_EXIT_USAGE, "job %s needs an ID of 1 to "
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
		if (strcmp(a, "--") == 0 && strcmp(cmd, "start") == 0) {
			opargv = argv + i + 1;
			opargc = argc - i - 1;
			break;
		}
		if (strcmp(a, "--offset") == 0 && i + 1 < argc &&
		    strcmp(cmd, "list") != 0 && strcmp(cmd, "gc") != 0) {
			if (job_offset_parse(argv[++i], &offset, err, sizeof(err)) != 0)
				return fail(&jc, OPS_EXIT_USAGE, "job %s: %s", cmd, err);
			continue;
		}
		if (strcmp(a, "--wait") == 0 && i + 1 < argc &&
		    strcmp(cmd, "cancel") == 0) {
			if (job_offset_parse(argv[++i], &wait_s, err, sizeof(err)) != 0 ||
			    wait_s > 3600)
				return fail(&jc, OPS_EXIT_USAGE, "job cancel: --wait "
				    "'%s' is not a number of seconds (0-3600)", argv[i]);
			continue;
		}
		job_usage(stderr);
		return fail(&jc, OPS_EXIT_USAGE, "job %s: unexpected argument "
		    "'%s'", cmd, a);
	}
	if (strcmp(cmd, "start") == 0 && opargc < 1) {
		job_usage(stderr);
		return fail(&jc, OPS_EXIT_USAGE, "job start %s: the operation "
		    "goes after '--', as in: job start %s -- status", id, id);
	}
	if (opargc > 0 && strcmp(opargv[0], "job") == 0)
		return fail(&jc, OPS_EXIT_USAGE, "job start %s: a job cannot run "
		    "'job'", id);

	jc.conf_path = conf_path;
	if (conf_path == NULL)
		conf_path = getenv("RINGAGENT_CONF");
	if (conf_path == NULL || *conf_path == '\0')
		conf_path = AGENTCFG_DEFAULT_PATH;
	if ((jc.cfg = agentcfg_load(conf_path, err, sizeof(err))) == NULL)
		return fail(&jc, OPS_EXIT_CONFIG, "%s", err);
	/* The op reads the same file: pass it on by path even if from the env. */
	jc.conf_path = conf_path;
	jc.jobs = xasprintf("%s/jobs", jc.cfg->state_dir);
	signal(SIGPIPE, SIG_IGN);

	if (strcmp(cmd, "start") == 0 &&
	    (ensure_dir(jc.cfg->state_dir, err, sizeof(err)) != 0 ||
	    ensure_dir(jc.jobs, err, sizeof(err)) != 0))
		rc = fail(&jc, OPS_EXIT_FAILED, "cannot start job %s: %s; check "
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
