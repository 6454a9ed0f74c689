/*
 * ssh.c - see ssh.h.
 *
 * Shape of one run: take an idle session for the key from the pool (or
 * connect: non-blocking TCP connect, handshake with the pinned key's type
 * preferred, host key check, public key auth), open a channel, exec, then
 * pump stdout/stderr until EOF while watching the deadline and the cancel
 * callback, collect the exit status, and give the session back.  Every
 * libssh2 call that can block is written as "while it says EAGAIN, poll the
 * socket in the direction libssh2 asks for, until the deadline".
 *
 * The pool is a list of idle sessions under one mutex; a session in use
 * belongs to exactly one thread and is on no list.  The reaper thread wakes
 * every idle_ms/2, unlinks expired sessions under the lock and closes them
 * after unlocking.
 */
#include "ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>

#include "../../common/log.h"
#include "../../common/util.h"

#define DEFAULT_CONNECT_MS 10000
#define MAX_OUT (1u << 20)
#define MAX_ERR (64u << 10)
#define CANCEL_GRACE_MS 3000
#define TICK_MS 100

struct sess {
	char *key;			/* user@host:port|key_file|pin */
	int sock;
	LIBSSH2_SESSION *s;
	int64_t last_used;
	struct sess *next;
};

struct ssh_pool {
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	struct sess *idle;
	size_t n_idle;
	int64_t idle_ms;
	size_t max_idle;
	bool stopping;
	pthread_t reaper;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void lib_init(void)
{
	init_rc = libssh2_init(0);
}

const char *ssh_status_name(enum ssh_status s)
{
	static const char *const names[] = { "ok", "usage", "connect", "hostkey",
	    "auth", "protocol", "timeout", "cancelled" };
	return (size_t)s < ARRAY_SIZE(names) ? names[s] : "?";
}

/* ---- waiting ---- */

struct op {
	const struct ssh_target *t;
	const struct ssh_cmd *cmd;	/* NULL while connecting */
	int64_t deadline;		/* 0: none */
	bool timed_out, cancelled;
};

/*
 * Wait for the socket in the direction libssh2 is blocked on, at most one
 * tick.  Returns false when the deadline passed or the caller cancelled.
 */
static bool wait_socket(struct sess *ss, struct op *op)
{
	struct pollfd pfd = { .fd = ss->sock, .events = 0 };
	int dir = libssh2_session_block_directions(ss->s);
	int64_t now = time_mono_ms(), ms = TICK_MS;

	if (op->cmd && op->cmd->cancelled && op->cmd->cancelled(op->cmd->arg)) {
		op->cancelled = true;
		return false;
	}
	if (op->deadline) {
		if (now >= op->deadline) {
			op->timed_out = true;
			return false;
		}
		if (op->deadline - now < ms)
			ms = op->deadline - now;
	}
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		pfd.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pfd.events |= POLLOUT;
	if (pfd.events == 0)
		pfd.events = POLLIN;
	poll(&pfd, 1, (int)ms);
	return true;
}

static const char *last_error(LIBSSH2_SESSION *s)
{
	char *msg = NULL;
	libssh2_session_last_error(s, &msg, NULL, 0);
	return msg ? msg : "unknown error";
}

/* ---- sessions ---- */

static void sess_close(struct sess *ss, bool polite)
{
	if (ss == NULL)
		return;
	if (ss->s != NULL) {
		if (polite) {
			/* Best effort, never blocking long: one try each. */
			libssh2_session_disconnect(ss->s, "idle");
		}
		libssh2_session_free(ss->s);
	}
	if (ss->sock >= 0)
		close(ss->sock);
	free(ss->key);
	free(ss);
}

static int tcp_connect(const struct ssh_target *t, int port, int64_t deadline,
    char *err, size_t errlen, enum ssh_status *st)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	int fd = -1, rc, soerr = ECONNREFUSED;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(t->host, portstr, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", t->host, gai_strerror(rc));
		*st = SSH_ERR_CONNECT;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int64_t left = deadline - time_mono_ms();
			socklen_t sl = sizeof(soerr);
			if (left > 0 && poll(&pfd, 1, (int)left) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
			    soerr == 0)
				break;
			if (left <= 0 || pfd.revents == 0)
				soerr = ETIMEDOUT;
		} else {
			soerr = errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to %s port %d: %s", t->host,
		    port, strerror(soerr));
		*st = soerr == ETIMEDOUT ? SSH_ERR_TIMEOUT : SSH_ERR_CONNECT;
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/*
 * Host key preference: the pinned key's type alone, else our order.  Only
 * methods this libssh2 supports are named: 1.10 corrupts its list when
 * asked to drop an unsupported one.
 */
static void prefer_hostkey(LIBSSH2_SESSION *s, const char *type)
{
	static const char *const order[] = { "ssh-ed25519", "ecdsa-sha2-nistp256",
	    "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512",
	    "rsa-sha2-256", "ssh-rsa" };
	const char **algs = NULL;
	char pref[256] = "";
	int n = libssh2_session_supported_algs(s, LIBSSH2_METHOD_HOSTKEY, &algs);

	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		if (type != NULL && strcmp(type, order[i]) != 0)
			continue;
		for (int k = 0; k < n; k++) {
			if (strcmp(algs[k], order[i]) == 0) {
				if (pref[0])
					strncat(pref, ",", sizeof(pref) - strlen(pref) - 1);
				strncat(pref, order[i], sizeof(pref) - strlen(pref) - 1);
				break;
			}
		}
	}
	if (algs != NULL)
		libssh2_free(s, (void *)(uintptr_t)algs);
	if (pref[0])
		libssh2_session_method_pref(s, LIBSSH2_METHOD_HOSTKEY, pref);
}

static int knownhost_keytype(int hostkey_type)
{
	switch (hostkey_type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS:
		return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return LIBSSH2_KNOWNHOST_KEY_ED25519;
	}
	return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
}

/* Check the key the server presented; 0 or -1 with the reason. */
static int check_hostkey(struct sess *ss, const struct ssh_target *t, int port,
    const unsigned char *pin, size_t pinlen, char *err, size_t errlen)
{
	size_t len;
	int type;
	const char *key = libssh2_session_hostkey(ss->s, &len, &type);
	char seen[64], want[64];

	if (key == NULL) {
		snprintf(err, errlen, "%s presented no host key", t->host);
		return -1;
	}
	ssh_fingerprint((const unsigned char *)key, len, seen, sizeof(seen));
	if (pin != NULL) {
		if (len == pinlen && memcmp(key, pin, len) == 0)
			return 0;
		ssh_fingerprint(pin, pinlen, want, sizeof(want));
		snprintf(err, errlen, "host key changed for %s: it presented %s but "
		    "%s is pinned from its check-in; nothing was run. If the node "
		    "was rebuilt, let its agent check in again", t->host, seen, want);
		return -1;
	}
	if (t->known_hosts == NULL) {
		snprintf(err, errlen, "no host key to check %s against: the node "
		    "has not reported one at check-in and no known_hosts file is "
		    "configured; nothing was run", t->host);
		return -1;
	}
	LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(ss->s);
	int rc = -1;
	if (kh == NULL || libssh2_knownhost_readfile(kh, t->known_hosts,
	    LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		snprintf(err, errlen, "cannot read known_hosts '%s' to check %s",
		    t->known_hosts, t->host);
		goto out;
	}
	switch (libssh2_knownhost_checkp(kh, t->host, port, key, len,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	    knownhost_keytype(type), NULL)) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		rc = 0;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		snprintf(err, errlen, "host key changed for %s: it presented %s, "
		    "which does not match its entry in '%s'; nothing was run",
		    t->host, seen, t->known_hosts);
		break;
	default:
		snprintf(err, errlen, "%s (key %s) is not in known_hosts '%s'; "
		    "nothing was run", t->host, seen, t->known_hosts);
		break;
	}
out:
	if (kh != NULL)
		libssh2_knownhost_free(kh);
	return rc;
}

static struct sess *sess_connect(const struct ssh_target *t, const char *key,
    struct ssh_result *r)
{
	int port = t->port > 0 ? t->port : 22;
	int64_t ms = t->connect_timeout_ms > 0 ? t->connect_timeout_ms : DEFAULT_CONNECT_MS;
	struct op op = { .t = t, .deadline = time_mono_ms() + ms };
	struct sess *ss = xcalloc(1, sizeof(*ss));
	unsigned char *pin = NULL;
	size_t pinlen = 0;
	char type[64];
	int rc;

	ss->sock = -1;
	ss->key = xstrdup(key);
	if (t->host_key != NULL && ssh_pubkey_parse(t->host_key, type,
	    sizeof(type), &pin, &pinlen) != 0) {
		snprintf(r->error, sizeof(r->error), "pinned host key of %s is "
		    "not an OpenSSH public key line ('%.40s...'); nothing was run",
		    t->host, t->host_key);
		r->status = SSH_ERR_HOSTKEY;
		goto fail;
	}
	if ((ss->sock = tcp_connect(t, port, op.deadline, r->error,
	    sizeof(r->error), &r->status)) < 0)
		goto fail;
	if ((ss->s = libssh2_session_init()) == NULL) {
		snprintf(r->error, sizeof(r->error), "cannot create an SSH session");
		r->status = SSH_ERR_PROTOCOL;
		goto fail;
	}
	libssh2_session_set_blocking(ss->s, 0);
	prefer_hostkey(ss->s, pin ? type : NULL);
	while ((rc = libssh2_session_handshake(ss->s, ss->sock)) == LIBSSH2_ERROR_EAGAIN)
		if (!wait_socket(ss, &op))
			break;
	if (rc != 0) {
		r->status = op.timed_out ? SSH_ERR_TIMEOUT : SSH_ERR_PROTOCOL;
		snprintf(r->error, sizeof(r->error), "SSH handshake with %s port "
		    "%d failed: %s", t->host, port, op.timed_out ?
		    "timed out" : last_error(ss->s));
		goto fail;
	}
	if (check_hostkey(ss, t, port, pin, pinlen, r->error, sizeof(r->error)) != 0) {
		r->status = SSH_ERR_HOSTKEY;
		goto fail;
	}
	while ((rc = libssh2_userauth_publickey_fromfile(ss->s, t->user, NULL,
	    t->key_file, NULL)) == LIBSSH2_ERROR_EAGAIN)
		if (!wait_socket(ss, &op))
			break;
	if (rc != 0) {
		r->status = op.timed_out ? SSH_ERR_TIMEOUT : SSH_ERR_AUTH;
		snprintf(r->error, sizeof(r->error), "%s@%s refused key '%s': %s; "
		    "check the cluster's ssh user and key_file and the node's "
		    "authorized_keys", t->user, t->host, t->key_file,
		    op.timed_out ? "timed out" : last_error(ss->s));
		goto fail;
	}
	free(pin);
	return ss;
fail:
	free(pin);
	sess_close(ss, false);
	return NULL;
}

/* ---- pool ---- */

static void *reaper_main(void *arg);

struct ssh_pool *ssh_pool_new(int64_t idle_ms, size_t max_idle)
{
	struct ssh_pool *p = xcalloc(1, sizeof(*p));

	pthread_once(&init_once, lib_init);
	pthread_mutex_init(&p->mtx, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->idle_ms = idle_ms > 0 ? idle_ms : 60000;
	p->max_idle = max_idle > 0 ? max_idle : 2;
	if (pthread_create(&p->reaper, NULL, reaper_main, p) != 0) {
		/* Without the reaper, ssh_run() still reaps on every call. */
		p->reaper = 0;
	}
	return p;
}

/* Unlink sessions idle longer than idle_ms (all when force); lock held. */
static struct sess *do_take_expired(struct ssh_pool *p, bool force)
{
	struct sess **pp = &p->idle, *dead = NULL;
	int64_t now = time_mono_ms();

	while (*pp != NULL) {
		struct sess *ss = *pp;
		if (force || now - ss->last_used >= p->idle_ms) {
			*pp = ss->next;
			ss->next = dead;
			dead = ss;
			p->n_idle--;
		} else {
			pp = &ss->next;
		}
	}
	return dead;
}

static void close_list(struct sess *ss)
{
	while (ss != NULL) {
		struct sess *next = ss->next;
		sess_close(ss, true);
		ss = next;
	}
}

void ssh_pool_reap(struct ssh_pool *p)
{
	struct sess *dead;

	pthread_mutex_lock(&p->mtx);
	dead = do_take_expired(p, false);
	pthread_mutex_unlock(&p->mtx);
	close_list(dead);
}

static void *reaper_main(void *arg)
{
	struct ssh_pool *p = arg;
	int64_t tick = p->idle_ms / 2 > 50 ? p->idle_ms / 2 : 50;

	pthread_mutex_lock(&p->mtx);
	while (!p->stopping) {
		struct timespec ts;
		struct sess *dead;

		time_after_ms(CLOCK_REALTIME, tick, &ts);
		pthread_cond_timedwait(&p->cond, &p->mtx, &ts);
		dead = do_take_expired(p, false);
		pthread_mutex_unlock(&p->mtx);
		close_list(dead);
		pthread_mutex_lock(&p->mtx);
	}
	pthread_mutex_unlock(&p->mtx);
	return NULL;
}

void ssh_pool_free(struct ssh_pool *p)
{
	struct sess *dead;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mtx);
	p->stopping = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->mtx);
	if (p->reaper)
		pthread_join(p->reaper, NULL);
	dead = do_take_expired(p, true);
	close_list(dead);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->mtx);
	free(p);
}

size_t ssh_pool_idle(struct ssh_pool *p)
{
	size_t n;

	pthread_mutex_lock(&p->mtx);
	n = p->n_idle;
	pthread_mutex_unlock(&p->mtx);
	return n;
}

static struct sess *pool_take(struct ssh_pool *p, const char *key)
{
	struct sess **pp, *ss = NULL, *dead;

	pthread_mutex_lock(&p->mtx);
	dead = do_take_expired(p, false);
	for (pp = &p->idle; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->key, key) == 0) {
			ss = *pp;
			*pp = ss->next;
			ss->next = NULL;
			p->n_idle--;
			break;
		}
	}
	pthread_mutex_unlock(&p->mtx);
	close_list(dead);
	return ss;
}

static void pool_give(struct ssh_pool *p, struct sess *ss)
{
	size_t same = 0;

	ss->last_used = time_mono_ms();
	pthread_mutex_lock(&p->mtx);
	for (struct sess *it = p->idle; it != NULL; it = it->next)
		same += strcmp(it->key, ss->key) == 0;
	if (same < p->max_idle && !p->stopping) {
		ss->next = p->idle;
		p->idle = ss;
		p->n_idle++;
		ss = NULL;
	}
	pthread_mutex_unlock(&p->mtx);
	sess_close(ss, true);
}

/* ---- running a command ---- */

struct linebuf {
	char *buf;
	size_t len, cap, max, total;
	size_t line_start;
	bool lines;
};

static void lb_add(struct linebuf *b, const char *data, size_t n,
    const struct ssh_cmd *cmd)
{
	b->total += n;
	if (b->len + n > b->max)
		n = b->max > b->len ? b->max - b->len : 0;
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->buf = xrealloc(b->buf, b->cap);
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	if (!b->lines || cmd->on_line == NULL)
		return;
	for (;;) {
		char *nl = memchr(b->buf + b->line_start, '\n', b->len - b->line_start);
		size_t ll;
		if (nl == NULL)
			break;
		ll = (size_t)(nl - (b->buf + b->line_start));
		if (ll > 0 && b->buf[b->line_start + ll - 1] == '\r')
			ll--;
		char *line = xstrndup(b->buf + b->line_start, ll);
		cmd->on_line(cmd->arg, line);
		free(line);
		b->line_start = (size_t)(nl - b->buf) + 1;
	}
}

/* Read whatever is buffered on both streams; true when anything came. */
static bool pump(LIBSSH2_CHANNEL *ch, struct linebuf *out, struct linebuf *err,
    const struct ssh_cmd *cmd, int *fatal)
{
	char buf[16384];
	bool any = false;
	ssize_t n;

	while ((n = libssh2_channel_read(ch, buf, sizeof(buf))) > 0) {
		lb_add(out, buf, (size_t)n, cmd);
		any = true;
	}
	if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
		*fatal = (int)n;
	while ((n = libssh2_channel_read_stderr(ch, buf, sizeof(buf))) > 0) {
		lb_add(err, buf, (size_t)n, cmd);
		any = true;
	}
	if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
		*fatal = (int)n;
	return any;
}

/*
 * Ask the command to stop: "cancel" on stdin, EOF, then wait a little
 * for it to exit (still reading what it prints).
 */
static bool stop_remote(struct sess *ss, LIBSSH2_CHANNEL *ch, struct linebuf *out,
    struct linebuf *err, const struct ssh_cmd *cmd)
{
	static const char line[] = "cancel\n";
	struct op op = { .deadline = time_mono_ms() + CANCEL_GRACE_MS };
	size_t off = 0;
	int fatal = 0;
	ssize_t n;

	while (off < sizeof(line) - 1) {
		n = libssh2_channel_write(ch, line + off, sizeof(line) - 1 - off);
		if (n > 0)
			off += (size_t)n;
		else if (n != LIBSSH2_ERROR_EAGAIN || !wait_socket(ss, &op))
			break;
	}
	while (libssh2_channel_send_eof(ch) == LIBSSH2_ERROR_EAGAIN)
		if (!wait_socket(ss, &op))
			break;
	while (!libssh2_channel_eof(ch) && fatal == 0) {
		if (!pump(ch, out, err, cmd, &fatal) && !wait_socket(ss, &op))
			break;
	}
	return fatal == 0 && libssh2_channel_eof(ch);
}

/*
 * The command as an error message shows it: its first 60 bytes, then
 * "...".  A node command is long (the agent's path, its config, a job id,
 * the storage URL): in full it would push the cause out of a message of
 * bounded length, so messages name the cause first and the command in
 * brief, and the whole command goes to the log at debug level.
 */
static void brief(const char *cmd, char *buf, size_t len)
{
	size_t n = strcspn(cmd, "\n");

	if (n > 60)
		snprintf(buf, len, "%.60s...", cmd);
	else
		snprintf(buf, len, "%.*s", (int)n, cmd);
}

/* Write cmd's stdin_data and EOF; false when the channel failed. */
static bool feed_stdin(struct sess *ss, LIBSSH2_CHANNEL *ch,
    const struct ssh_cmd *cmd, struct op *op)
{
	size_t off = 0;
	ssize_t n;

	while (off < cmd->stdin_len) {
		n = libssh2_channel_write(ch, cmd->stdin_data + off,
		    cmd->stdin_len - off);
		if (n > 0)
			off += (size_t)n;
		else if (n != LIBSSH2_ERROR_EAGAIN || !wait_socket(ss, op))
			return false;
	}
	while ((n = libssh2_channel_send_eof(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (!wait_socket(ss, op))
			return false;
	return n == 0;
}

/*
 * Run the command on an established session.  Returns 0 when it ran to
 * the end (any exit status), 1 when the channel could not even be opened
 * (a dead pooled session: the caller may retry on a fresh one), -1 on a
 * failure after the command may have started.  *keep says whether the
 * session can go back to the pool.
 */
static int exec_on(struct sess *ss, const struct ssh_target *t,
    const struct ssh_cmd *cmd, struct ssh_result *r, bool *keep)
{
	struct op op = { .t = t, .cmd = cmd };
	struct linebuf out = { .max = MAX_OUT, .lines = true };
	struct linebuf err = { .max = MAX_ERR };
	LIBSSH2_CHANNEL *ch = NULL;
	int rc, fatal = 0, ret = -1;
	char *sig = NULL, cb[80];

	brief(cmd->command, cb, sizeof(cb));
	*keep = false;
	if (cmd->timeout_ms > 0)
		op.deadline = time_mono_ms() + cmd->timeout_ms;
	while ((ch = libssh2_channel_open_session(ss->s)) == NULL &&
	    libssh2_session_last_errno(ss->s) == LIBSSH2_ERROR_EAGAIN)
		if (!wait_socket(ss, &op))
			break;
	if (ch == NULL) {
		snprintf(r->error, sizeof(r->error), "cannot open a channel to %s: %s",
		    t->host, op.timed_out ? "timed out" : op.cancelled ? "cancelled" :
		    last_error(ss->s));
		r->status = op.timed_out ? SSH_ERR_TIMEOUT : op.cancelled ?
		    SSH_ERR_CANCELLED : SSH_ERR_PROTOCOL;
		return op.timed_out || op.cancelled ? -1 : 1;
	}
	while ((rc = libssh2_channel_exec(ch, cmd->command)) == LIBSSH2_ERROR_EAGAIN)
		if (!wait_socket(ss, &op))
			break;
	if (rc != 0) {
		snprintf(r->error, sizeof(r->error), "cannot run a command on "
		    "%s: %s (%s)", t->host, op.timed_out ? "timed out" :
		    op.cancelled ? "cancelled" : last_error(ss->s), cb);
		r->status = op.timed_out ? SSH_ERR_TIMEOUT : op.cancelled ?
		    SSH_ERR_CANCELLED : SSH_ERR_PROTOCOL;
		ret = op.timed_out || op.cancelled ? -1 : 1;
		goto out;
	}
	if (cmd->stdin_data != NULL && !feed_stdin(ss, ch, cmd, &op) &&
	    !op.timed_out && !op.cancelled) {
		/* What the command got is unknown: it may have started
		 * without its input.  The channel is dropped with the
		 * session, which ends the command's stdin. */
		r->status = SSH_ERR_CONNECT;
		snprintf(r->error, sizeof(r->error), "connection to %s broke "
		    "while writing a command's input: %s (%s)", t->host,
		    last_error(ss->s), cb);
		goto out;
	}
	for (;;) {
		bool any = pump(ch, &out, &err, cmd, &fatal);
		if (fatal != 0 || libssh2_channel_eof(ch))
			break;
		if (!any && !wait_socket(ss, &op))
			break;
	}
	if (op.cancelled || op.timed_out) {
		bool ended = stop_remote(ss, ch, &out, &err, cmd);
		r->status = op.cancelled ? SSH_ERR_CANCELLED : SSH_ERR_TIMEOUT;
		snprintf(r->error, sizeof(r->error), "%s: command %s", t->host,
		    op.cancelled ? "cancelled" : "timed out after ");
		if (op.timed_out) {
			char d[32];
			duration_format_ms(cmd->timeout_ms, d, sizeof(d));
			strncat(r->error, d, sizeof(r->error) - strlen(r->error) - 1);
		}
		strncat(r->error, " (", sizeof(r->error) - strlen(r->error) - 1);
		strncat(r->error, cb, sizeof(r->error) - strlen(r->error) - 1);
		strncat(r->error, ")", sizeof(r->error) - strlen(r->error) - 1);
		if (!ended) {
			/*
			 * It did not stop: sshd keeps the channel until the
			 * process exits, so waiting for the close is pointless.
			 * Drop the whole session; the closed connection ends
			 * the command's pipes.
			 */
			strncat(r->error, " (it did not stop within 3 s; connection dropped)",
			    sizeof(r->error) - strlen(r->error) - 1);
			goto out;
		}
		goto close;
	}
	if (fatal != 0) {
		r->status = SSH_ERR_CONNECT;
		snprintf(r->error, sizeof(r->error), "connection to %s broke while "
		    "a command ran: %s (%s)", t->host, last_error(ss->s), cb);
		goto out;
	}
close:
	{
		struct op cop = { .deadline = time_mono_ms() + CANCEL_GRACE_MS };
		while ((rc = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN)
			if (!wait_socket(ss, &cop))
				break;
		while (rc == 0 && (rc = libssh2_channel_wait_closed(ch)) ==
		    LIBSSH2_ERROR_EAGAIN)
			if (!wait_socket(ss, &cop))
				break;
		*keep = rc == 0 && !op.timed_out;
	}
	if (r->status == SSH_OK) {
		r->exit_status = libssh2_channel_get_exit_status(ch);
		if (libssh2_channel_get_exit_signal(ch, &sig, NULL, NULL, NULL,
		    NULL, NULL) == 0 && sig != NULL) {
			r->exit_signal = xstrdup(sig);
			r->exit_status = -1;
		}
		ret = 0;
	}
out:
	if (sig != NULL)
		libssh2_free(ss->s, sig);
	/* A last line without a newline still reaches on_line. */
	if (cmd->on_line != NULL && out.line_start < out.len) {
		char *line = xstrndup(out.buf + out.line_start, out.len - out.line_start);
		cmd->on_line(cmd->arg, line);
		free(line);
	}
	libssh2_channel_free(ch);
	r->out = out.buf ? out.buf : xstrdup("");
	r->out_len = out.len;
	r->err_out = err.buf ? err.buf : xstrdup("");
	r->err_len = err.len;
	return ret;
}

static void first_line(const char *s, char *buf, size_t len)
{
	const char *nl;
	buf[0] = '\0';
	while (s != NULL && *s) {
		nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		if (n > 0) {
			snprintf(buf, len, "%.*s", (int)n, s);
			return;
		}
		s = nl ? nl + 1 : NULL;
	}
}

int ssh_run(struct ssh_pool *p, const struct ssh_target *t,
    const struct ssh_cmd *cmd, struct ssh_result *r)
{
	int64_t t0 = time_mono_ms();
	char *key;
	struct sess *ss;
	bool keep;
	int rc;

	memset(r, 0, sizeof(r[0]));
	r->exit_status = -1;
	if (init_rc != 0 || t->host == NULL || t->user == NULL ||
	    t->key_file == NULL || cmd->command == NULL) {
		r->status = SSH_ERR_USAGE;
		snprintf(r->error, sizeof(r->error), "cannot run over SSH: %s",
		    init_rc ? "libssh2 failed to initialise" :
		    "host, user, key file and command are all required");
		return -1;
	}
	key = xasprintf("%s@%s:%d|%s|%s", t->user, t->host, t->port > 0 ? t->port : 22,
	    t->key_file, t->host_key ? t->host_key : t->known_hosts ? t->known_hosts : "");
	for (int attempt = 0; attempt < 2; attempt++) {
		ss = attempt == 0 ? pool_take(p, key) : NULL;
		r->reused = ss != NULL;
		if (ss == NULL && (ss = sess_connect(t, key, r)) == NULL)
			break;
		ssh_result_release(r);
		r->status = SSH_OK;
		r->error[0] = '\0';
		rc = exec_on(ss, t, cmd, r, &keep);
		if (keep)
			pool_give(p, ss);
		else
			sess_close(ss, false);
		if (rc == 1 && r->reused)
			continue; /* the pooled session was dead: once more, fresh */
		break;
	}
	free(key);
	r->elapsed_ms = time_mono_ms() - t0;
	if (r->status != SSH_OK)
		return -1;
	if (r->exit_status != 0) {
		char line[320], cb[80];
		first_line(r->err_out, line, sizeof(line));
		brief(cmd->command, cb, sizeof(cb));
		log_debug("%s: '%s' exited with status %d", t->host,
		    cmd->command, r->exit_status);
		if (r->exit_signal != NULL)
			snprintf(r->error, sizeof(r->error), "%s: killed by "
			    "SIG%s%s%s (%s)", t->host, r->exit_signal,
			    line[0] ? ": " : "", line, cb);
		else
			snprintf(r->error, sizeof(r->error), "%s: exited with "
			    "status %d%s%s (%s)", t->host, r->exit_status,
			    line[0] ? ": " : "", line, cb);
		return -1;
	}
	return 0;
}

void ssh_result_release(struct ssh_result *r)
{
	if (r == NULL)
		return;
	free(r->out);
	free(r->err_out);
	free(r->exit_signal);
	r->out = r->err_out = r->exit_signal = NULL;
	r->out_len = r->err_len = 0;
}
