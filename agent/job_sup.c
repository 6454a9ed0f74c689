/*
 * job_sup.c - see job_sup.h.
 */
#include "job_sup.h"

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

#include "../common/creds.h"
#include "../common/util.h"
#include "job.h"
#include "job_dir.h"


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

_Noreturn void job_sup_run(const char *dir, const char *id,
    const char *conf_path, char **opargv, int opargc, int lockfd, int readyfd,
    char *secrets)
{
	int devnull, outfd, errfd, pfd[2], sfd[2] = { -1, -1 }, status = 0;
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
	/*
	 * The credentials reach the op through a pipe on its stdin rather
	 * than a 0600 file in the job directory: nothing is at rest on disk,
	 * so nothing is left behind when the supervisor is killed, the node
	 * loses power or retention never runs, and nothing can be read by
	 * whoever can read the job directory (a backup of it, `job list`).
	 * The line (at most CREDS_LINE_MAX) fits in the pipe's buffer, so it
	 * is written at once and the write end closed: the op reads it and
	 * then EOF.
	 */
	if (secrets != NULL && pipe2(sfd, O_CLOEXEC) != 0)
		_exit(1);

	op = fork();
	if (op == 0) {
		/* ringagent [-f conf] OP ARGS --json, this same binary */
		char **av = xcalloc((size_t)opargc + 6, sizeof(char *));
		int n = 0;
		sigset_t none;

		av[n++] = xstrdup("ringagent");
		if (conf_path != NULL) {
			av[n++] = xstrdup("-f");
			av[n++] = xstrdup(conf_path);
		}
		for (int i = 0; i < opargc; i++)
			av[n++] = opargv[i];
		if (secrets != NULL) {
			av[n++] = xstrdup("--secrets-stdin");
			dup2(sfd[0], 0);
			creds_wipe_free(secrets);
		}
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
	if (secrets != NULL) {
		close(sfd[0]);
		if (op > 0)
			write_all(sfd[1], secrets, strlen(secrets));
		close(sfd[1]);
		creds_wipe_free(secrets);
		secrets = NULL;
	}
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
		job_dir_append_event(dir, line);
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
	job_dir_append_event(dir, line);
	_exit(0);
}
