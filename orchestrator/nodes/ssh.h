/*
 * ssh.h - the orchestrator's node client: run one command on a node over
 * SSH and stream what it prints.  The only module that includes
 * <libssh2.h>; no libssh2 type or error code crosses this header.
 *
 * Trust: key authentication only.  The node's host key is pinned either to
 * the key the node reported at check-in (target.host_key, an OpenSSH public
 * key line "ssh-ed25519 AAAA... comment"; the check-in carried the join
 * token, so that key is the node's) or, when no key is pinned, to a
 * known_hosts file.  Any other key fails with "host key changed for
 * <address>" before anything is run; no key at all to compare with fails
 * too.  There is no trust-on-first-use here.
 *
 * Sessions are pooled by user@address:port (and key file and pinned key):
 * a task of a hundred steps on one node does one handshake.  A session
 * serves one command at a time; a second concurrent command to the same
 * node opens a second session.  Idle sessions are closed after idle_ms by
 * a reaper thread; a pooled session that turns out dead (sshd restarted) is
 * replaced once, transparently, before the command is sent.
 *
 * Deadlines: connect_timeout_ms bounds TCP connect + handshake + auth;
 * the command's timeout_ms bounds the command.  Everything is non-blocking
 * libssh2 driven by poll(), so a cancel is seen within 100 ms.
 *
 * Cancelling (cancelled() returns true, or the timeout passes): the client
 * writes "cancel\n" on the command's stdin, sends EOF, waits up to 3 s for
 * it to exit, then closes the channel.  `ringagent <op>` stops and kills
 * what it runs on that line (see agent/ops.h); any other command ends when
 * its channel closes under it.
 *
 * Threading: every function is thread-safe; callbacks run on the calling
 * thread with no lock held.
 */
#ifndef RM_SSH_H
#define RM_SSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ssh_pool;

struct ssh_target {
	const char *host;		/* address or name */
	int port;			/* 0: 22 */
	const char *user;
	const char *key_file;		/* private key (OpenSSH or PEM, no passphrase) */
	const char *host_key;		/* pinned public key line, or NULL */
	const char *known_hosts;	/* used when host_key is NULL */
	int64_t connect_timeout_ms;	/* 0: 10 s */
};

struct ssh_cmd {
	const char *command;
	int64_t timeout_ms;		/* 0: no limit */
	/* Each stdout line as it arrives, without "\n" or "\r\n" (may be NULL). */
	void (*on_line)(void *arg, const char *line);
	/* Polled at least every 100 ms; true cancels (may be NULL). */
	bool (*cancelled)(void *arg);
	void *arg;
	/*
	 * Bytes written on the command's stdin right after it starts,
	 * followed by EOF (NULL: stdin stays open, for a cancel line).  The
	 * way secrets reach a node: never in command, which sshd, the
	 * node's process table and every error message see.  The client
	 * keeps no copy.
	 */
	const char *stdin_data;
	size_t stdin_len;
};

enum ssh_status {
	SSH_OK,			/* the command ran: exit_status decides */
	SSH_ERR_USAGE,		/* the target is incomplete */
	SSH_ERR_CONNECT,	/* no TCP connection, or it broke */
	SSH_ERR_HOSTKEY,	/* host key changed, or nothing to check it against */
	SSH_ERR_AUTH,		/* our key was refused or cannot be read */
	SSH_ERR_PROTOCOL,	/* handshake, channel or exec failed */
	SSH_ERR_TIMEOUT,	/* connect or command deadline passed */
	SSH_ERR_CANCELLED,
};

struct ssh_result {
	enum ssh_status status;
	int exit_status;		/* -1 when the command did not exit normally */
	char *exit_signal;		/* "TERM" when a signal ended it, else NULL */
	char *out;			/* stdout (first 1 MiB) */
	size_t out_len;
	char *err_out;			/* stderr (first 64 KiB) */
	size_t err_len;
	bool reused;			/* ran on a pooled session */
	int64_t elapsed_ms;
	char error[512];		/* what failed, naming the node; "" on success */
};

/* idle_ms: close sessions unused that long; max_idle: per node. */
struct ssh_pool *ssh_pool_new(int64_t idle_ms, size_t max_idle);
/* Close every session and stop the reaper.  NULL-safe.  No ssh_run() may be running. */
void ssh_pool_free(struct ssh_pool *p);

/*
 * Run cmd on t.  Returns 0 when the command ran and exited with status 0;
 * otherwise -1 with r->status (SSH_OK and the exit status for a command
 * that failed) and r->error, the cause first and the command only in
 * brief at the end (the whole command is logged at debug level), e.g.
 *   "host key changed for 10.0.0.5: it presented SHA256:ab.. but
 *    SHA256:cd.. is pinned; ..."
 *   "10.0.0.5: exited with status 3: <stderr> (ringagent status --json)"
 * Release r with ssh_result_release() either way.
 */
int ssh_run(struct ssh_pool *p, const struct ssh_target *t,
    const struct ssh_cmd *cmd, struct ssh_result *r);
void ssh_result_release(struct ssh_result *r);

/* Idle sessions now in the pool (tests, metrics). */
size_t ssh_pool_idle(struct ssh_pool *p);
/* Close sessions idle longer than idle_ms now (the reaper does it too). */
void ssh_pool_reap(struct ssh_pool *p);

const char *ssh_status_name(enum ssh_status s);

/*
 * Parse an OpenSSH public key line "type base64 [comment]".  On 0 *blob is
 * the decoded key (caller frees) and type holds the type name; -1 when the
 * line is not one.
 */
int ssh_pubkey_parse(const char *line, char *type, size_t typelen,
    unsigned char **blob, size_t *bloblen);
/* "SHA256:<unpadded base64>" of a key blob, as ssh-keygen -l prints it. */
void ssh_fingerprint(const unsigned char *blob, size_t len, char *out,
    size_t outlen);

#endif
