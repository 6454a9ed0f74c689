/*
 * proc.c - see proc.h.  One poll loop reads stdout and stderr and watches
 * the caller's fd; the child's exit is noticed with waitpid(WNOHANG) on
 * every turn, so no SIGCHLD handler is needed and the module is safe in a
 * program that blocks signals for sigtimedwait().
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/util.h"

#define DEFAULT_MAX (16u << 20)
#define KILL_GRACE_MS 2000
#define DRAIN_MS 200	/* after the child exits, read for this long at most */

void proc_opts_init(struct proc_opts *o, int64_t timeout_ms)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = timeout_ms;
	o->watch_fd = -1;
	o->hup_fd = -1;
}

struct stream {
	int fd;
	char *buf;
	size_t len, cap, max, line_start;
	bool truncated;
};

static void stream_init(struct stream *s, int fd, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->max = max;
	s->cap = 1024;
	s->buf = xmalloc(s->cap);
	s->buf[0] = '\0';
}

/* Read what is there; returns false at EOF or error (fd closed). */
static bool stream_read(struct stream *s, const struct proc_opts *o, bool lines)
{
	char tmp[8192];
	ssize_t n = read(s->fd, tmp, sizeof(tmp));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		close(s->fd);
		s->fd = -1;
		return false;
	}
	size_t take = (size_t)n;
	if (s->len + take > s->max) {
		take = s->max > s->len ? s->max - s->len : 0;
		s->truncated = true;
	}
	if (s->len + take + 1 > s->cap) {
		while (s->len + take + 1 > s->cap)
			s->cap *= 2;
		s->buf = xrealloc(s->buf, s->cap);
	}
	memcpy(s->buf + s->len, tmp, take);
	s->len += take;
	s->buf[s->len] = '\0';
	if (lines && o->on_line != NULL) {
		char *nl;
		while ((nl = memchr(s->buf + s->line_start, '\n',
		    s->len - s->line_start)) != NULL) {
			char *line = xstrndup(s->buf + s->line_start,
			    (size_t)(nl - (s->buf + s->line_start)));
			o->on_line(o->arg, line);
			free(line);
			s->line_start = (size_t)(nl - s->buf) + 1;
		}
	}
	return true;
}

static void kill_group(pid_t pid, int sig)
{
	if (kill(-pid, sig) != 0)
		kill(pid, sig);
}

static _Noreturn void child(const char *const argv[], int out, int err, int errp)
{
	sigset_t none;
	int fd, e;

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	if ((fd = open("/dev/null", O_RDONLY)) >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	dup2(out, 1);
	dup2(err, 2);
	if (out > 2)
		close(out);
	if (err > 2)
		close(err);
	/* A cast is the only way to hand execvp its historical prototype. */
	execvp(argv[0], (char *const *)(uintptr_t)argv);
	e = errno;
	if (write(errp, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int proc_run(const char *const argv[], const struct proc_opts *o,
    struct proc_result *r, char *err, size_t errlen)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, px[2] = { -1, -1 };
	struct stream so, se;
	size_t max = o->max_output ? o->max_output : DEFAULT_MAX;
	int64_t start = time_mono_ms(), exited_at = 0, term_at = 0;
	pid_t pid;
	int status = 0, e = 0;
	bool reaped = false, killed = false, stop = false;
	int watch = o->watch_fd;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0 ||
	    pipe2(px, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "cannot run '%s': pipe: %s", argv[0],
		    strerror(errno));
		goto fail;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "cannot run '%s': fork: %s", argv[0],
		    strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child(argv, po[1], pe[1], px[1]);
	setpgid(pid, pid); /* both sides, so kill(-pid) works at once */
	close(po[1]);
	close(pe[1]);
	close(px[1]);
	po[1] = pe[1] = px[1] = -1;
	/* The exec-error pipe closes on a successful exec. */
	do {
		n = read(px[0], &e, sizeof(e));
	} while (n < 0 && errno == EINTR);
	close(px[0]);
	px[0] = -1;
	if (n == (ssize_t)sizeof(e)) {
		waitpid(pid, NULL, 0);
		snprintf(err, errlen, "cannot run '%s': %s", argv[0], strerror(e));
		goto fail;
	}
	fcntl(po[0], F_SETFL, O_NONBLOCK);
	fcntl(pe[0], F_SETFL, O_NONBLOCK);
	stream_init(&so, po[0], max);
	stream_init(&se, pe[0], max);
	po[0] = pe[0] = -1;

	for (;;) {
		struct pollfd pfd[4];
		int np = 0, timeout = 100;
		int64_t now = time_mono_ms();

		if (!reaped && waitpid(pid, &status, WNOHANG) == pid) {
			reaped = true;
			exited_at = now;
		}
		if (reaped && ((so.fd < 0 && se.fd < 0) || now - exited_at >= DRAIN_MS))
			break;
		if (!reaped && term_at == 0) {
			bool cancel = o->cancel != NULL && o->cancel(o->arg, NULL);
			if (cancel || (o->timeout_ms > 0 && now - start >= o->timeout_ms)) {
				r->cancelled = cancel;
				r->timed_out = !cancel;
				kill_group(pid, SIGTERM);
				term_at = now;
			}
		} else if (!reaped && !killed && now - term_at >= KILL_GRACE_MS) {
			kill_group(pid, SIGKILL);
			killed = true;
		}
		if (so.fd >= 0)
			pfd[np++] = (struct pollfd){ .fd = so.fd, .events = POLLIN };
		if (se.fd >= 0)
			pfd[np++] = (struct pollfd){ .fd = se.fd, .events = POLLIN };
		if (stop)
			watch = -1;
		if (watch >= 0 && !reaped && term_at == 0)
			pfd[np++] = (struct pollfd){ .fd = watch, .events = POLLIN };
		if (o->hup_fd >= 0 && !reaped && term_at == 0)
			pfd[np++] = (struct pollfd){ .fd = o->hup_fd, .events = 0 };
		if (so.fd < 0 && se.fd < 0 && !reaped)
			timeout = 20; /* only the child's exit left to notice */
		if (poll(pfd, (nfds_t)np, timeout) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < np; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (pfd[i].fd == so.fd)
				stream_read(&so, o, true);
			else if (pfd[i].fd == se.fd)
				stream_read(&se, o, false);
			else if (term_at != 0)
				continue;
			else if ((pfd[i].fd == o->hup_fd && pfd[i].fd != watch &&
			    (pfd[i].revents & (POLLHUP | POLLERR))) ||
			    (pfd[i].fd == watch && o->cancel != NULL &&
			    o->cancel(o->arg, &stop))) {
				r->cancelled = true;
				kill_group(pid, SIGTERM);
				term_at = time_mono_ms();
			} else if (pfd[i].fd == watch && o->cancel == NULL) {
				stop = true;
			}
		}
	}
	if (!reaped)
		waitpid(pid, &status, 0);
	/* A last partial line without a newline still reaches on_line. */
	if (o->on_line != NULL && so.line_start < so.len) {
		char *line = xstrndup(so.buf + so.line_start, so.len - so.line_start);
		o->on_line(o->arg, line);
		free(line);
	}
	if (so.fd >= 0)
		close(so.fd);
	if (se.fd >= 0)
		close(se.fd);
	r->out = so.buf;
	r->out_len = so.len;
	r->err = se.buf;
	r->err_len = se.len;
	r->truncated = so.truncated || se.truncated;
	if (WIFEXITED(status)) {
		r->status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		r->status = -1;
		r->signal = WTERMSIG(status);
	}
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
		if (px[i] >= 0)
			close(px[i]);
	}
	return -1;
}

int proc_shell(const char *cmd, const struct proc_opts *o,
    struct proc_result *r, char *err, size_t errlen)
{
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	return proc_run(argv, o, r, err, errlen);
}

void proc_result_release(struct proc_result *r)
{
	if (r == NULL)
		return;
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	r->out_len = r->err_len = 0;
}

void proc_describe(const struct proc_result *r, int64_t timeout_ms,
    char *buf, size_t len)
{
	if (r->cancelled)
		snprintf(buf, len, "cancelled");
	else if (r->timed_out)
		snprintf(buf, len, "timed out after %llds",
		    (long long)(timeout_ms / 1000));
	else if (r->signal)
		snprintf(buf, len, "killed by signal %d", r->signal);
	else
		snprintf(buf, len, "exited with status %d", r->status);
}
