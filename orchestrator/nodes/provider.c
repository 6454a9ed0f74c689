/*
 * provider.c - see provider.h.
 *
 * posix_spawn rather than fork: the orchestrator is multithreaded, and
 * the child must not run anything between fork and exec.  The pipes are
 * made close-on-exec and non-blocking on our side, so a poll never waits
 * and no other child inherits them.  A command that starts daemons (the
 * sim's provisioner does) may leave them holding its stdout: the answer is
 * read when the command itself exits, not at end of file.
 */
#include "provider.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "../../common/util.h"


#define OUT_MAX		(64 * 1024)	/* stdout kept: one JSON line */
#define ERR_MAX		(4 * 1024)	/* stderr kept: its message */

struct provider_run {
	pid_t pid;
	int out_fd, err_fd;
	char *out, *errtxt;
	size_t nout, nerr;
	int64_t deadline;	/* time_mono_ms() */
	int64_t timeout_ms;
	char *command;
	bool reaped;
};

static const char *const kind_names[] = {
	[PROVIDER_NONE] = "none",
	[PROVIDER_COMMAND] = "command",
	[PROVIDER_SIM] = "sim",
};

int provider_kind_parse(const char *name, enum provider_kind *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++)
		if (name != NULL && strcmp(name, kind_names[i]) == 0) {
			*out = (enum provider_kind)i;
			return 0;
		}
	return -1;
}

const char *provider_kind_name(enum provider_kind k)
{
	return (size_t)k < ARRAY_SIZE(kind_names) ? kind_names[k] : "none";
}

int provider_parse_answer(const char *out, size_t len, char *address,
    size_t addrlen, char *err, size_t errlen)
{
	size_t end = len, start;
	json_t *j, *a;
	json_error_t je;
	int rc = -1;

	/* The last non-empty line. */
	while (end > 0 && (out[end - 1] == '\n' || out[end - 1] == '\r' ||
	    out[end - 1] == ' ' || out[end - 1] == '\t'))
		end--;
	if (end == 0) {
		snprintf(err, errlen, "it printed nothing on stdout");
		return -1;
	}
	start = end;
	while (start > 0 && out[start - 1] != '\n')
		start--;
	j = json_loadb(out + start, end - start, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		snprintf(err, errlen, "its last line is not a JSON object (%s)",
		    j == NULL ? je.text : "another JSON value");
		goto out;
	}
	a = json_object_get(j, "address");
	if (!json_is_string(a)) {
		snprintf(err, errlen, "its answer has no string \"address\"");
		goto out;
	}
	if (!address_valid(json_string_value(a)) ||
	    strlen(json_string_value(a)) >= addrlen) {
		snprintf(err, errlen, "its \"address\" '%.64s' is not an IP "
		    "address or host name", json_string_value(a));
		goto out;
	}
	str_copy(address, json_string_value(a), addrlen);
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/* environ without our RM_* keys, then ours; a new array of new strings. */
static char **make_env(const struct provider_req *r)
{
	const char *ours[][2] = {
		{ "RM_CLUSTER", r->cluster }, { "RM_DC", r->dc },
		{ "RM_RACK", r->rack }, { "RM_DEAD_ADDRESS", r->dead_address },
		{ "RM_DEAD_HOST_ID", r->dead_host_id },
		{ "RM_CASSANDRA_VERSION", r->cassandra_version },
		{ "RM_IDEMPOTENCY_KEY", r->idempotency_key },
	};
	size_t n = 0, k = 0;
	char **env;

	while (environ != NULL && environ[n] != NULL)
		n++;
	env = xcalloc(n + ARRAY_SIZE(ours) + 1, sizeof(*env));
	for (size_t i = 0; i < n; i++) {
		bool mine = false;
		for (size_t o = 0; o < ARRAY_SIZE(ours); o++) {
			size_t l = strlen(ours[o][0]);
			if (strncmp(environ[i], ours[o][0], l) == 0 &&
			    environ[i][l] == '=')
				mine = true;
		}
		if (!mine)
			env[k++] = xstrdup(environ[i]);
	}
	for (size_t o = 0; o < ARRAY_SIZE(ours); o++)
		env[k++] = xasprintf("%s=%s", ours[o][0],
		    ours[o][1] != NULL ? ours[o][1] : "");
	return env;
}

static void env_free(char **env)
{
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

struct provider_run *provider_start(const struct provider_req *r, char *err,
    size_t errlen)
{
	int out[2] = { -1, -1 }, er[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char *argv[2] = { NULL, NULL };
	char **env = NULL;
	struct provider_run *p = NULL;
	pid_t pid;
	int rc;

	if (r->command == NULL || r->command[0] != '/') {
		snprintf(err, errlen, "provider_command '%s' is not an absolute "
		    "path: set it with the cluster's settings",
		    r->command ? r->command : "");
		return NULL;
	}
	if (access(r->command, X_OK) != 0) {
		snprintf(err, errlen, "provider_command '%s' cannot be run: %s; "
		    "check the path and its mode", r->command, strerror(errno));
		return NULL;
	}
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(er, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "cannot make pipes for provider_command "
		    "'%s': %s", r->command, strerror(errno));
		goto fail_fds;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, er[1], 2);
	posix_spawnattr_init(&at);
	/* Its own group: a time limit or a cancel kills what it started. */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	{
		sigset_t none, all;
		sigemptyset(&none);
		sigfillset(&all);
		posix_spawnattr_setsigmask(&at, &none);
		posix_spawnattr_setsigdefault(&at, &all);
	}
	argv[0] = (char *)(uintptr_t)r->command;
	env = make_env(r);
	rc = posix_spawn(&pid, r->command, &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	env_free(env);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start provider_command '%s': %s",
		    r->command, strerror(rc));
		goto fail_fds;
	}
	close(out[1]);
	close(er[1]);
	nonblock(out[0]);
	nonblock(er[0]);
	p = xcalloc(1, sizeof(*p));
	p->pid = pid;
	p->out_fd = out[0];
	p->err_fd = er[0];
	p->out = xcalloc(1, OUT_MAX + 1);
	p->errtxt = xcalloc(1, ERR_MAX + 1);
	p->timeout_ms = r->timeout_ms > 0 ? r->timeout_ms : 600000;
	p->deadline = time_mono_ms() + p->timeout_ms;
	p->command = xstrdup(r->command);
	return p;
fail_fds:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (er[i] >= 0)
			close(er[i]);
	}
	return NULL;
}

/* Read what is there; beyond max bytes the rest is read and dropped. */
static void drain(int fd, char *buf, size_t *n, size_t max)
{
	char tmp[4096];
	ssize_t r;

	if (fd < 0)
		return;
	while ((r = read(fd, tmp, sizeof(tmp))) > 0) {
		size_t take = (size_t)r;
		if (*n + take > max)
			take = max - *n;
		memcpy(buf + *n, tmp, take);
		*n += take;
		buf[*n] = '\0';
	}
}

/* The last line of the command's stderr, for the error. */
static const char *last_line(char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
	    s[n - 1] == ' '))
		s[--n] = '\0';
	while (n > 0 && s[n - 1] != '\n')
		n--;
	return s + n;
}

int provider_poll(struct provider_run *p, char *address, size_t addrlen,
    char *err, size_t errlen)
{
	char why[256];
	int status, w;

	drain(p->out_fd, p->out, &p->nout, OUT_MAX);
	drain(p->err_fd, p->errtxt, &p->nerr, ERR_MAX);
	w = waitpid(p->pid, &status, WNOHANG);
	if (w == 0) {
		if (time_mono_ms() < p->deadline)
			return 0;
		kill(-p->pid, SIGKILL);
		waitpid(p->pid, &status, 0);
		p->reaped = true;
		snprintf(err, errlen, "provider_command '%s' gave no answer "
		    "within %lld s and was killed; make it answer sooner or "
		    "raise params.provider_timeout_s", p->command,
		    (long long)(p->timeout_ms / 1000));
		return -1;
	}
	p->reaped = true;
	if (w < 0) {
		snprintf(err, errlen, "provider_command '%s': cannot wait for "
		    "it: %s", p->command, strerror(errno));
		return -1;
	}
	drain(p->out_fd, p->out, &p->nout, OUT_MAX);
	drain(p->err_fd, p->errtxt, &p->nerr, ERR_MAX);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		const char *msg = last_line(p->errtxt, p->nerr);
		if (WIFEXITED(status))
			snprintf(why, sizeof(why), "exit %d",
			    WEXITSTATUS(status));
		else
			snprintf(why, sizeof(why), "signal %d",
			    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		snprintf(err, errlen, "provider_command '%s' failed (%s): %.300s",
		    p->command, why, *msg ? msg : "it wrote nothing on stderr");
		return -1;
	}
	if (provider_parse_answer(p->out, p->nout, address, addrlen, why,
	    sizeof(why)) != 0) {
		snprintf(err, errlen, "provider_command '%s' exited 0 but %s; "
		    "it must print one JSON line {\"address\": \"...\"}",
		    p->command, why);
		return -1;
	}
	return 1;
}

void provider_free(struct provider_run *p)
{
	if (p == NULL)
		return;
	if (!p->reaped) {
		int status;
		kill(-p->pid, SIGKILL);
		waitpid(p->pid, &status, 0);
	}
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
	free(p->out);
	free(p->errtxt);
	free(p->command);
	free(p);
}
