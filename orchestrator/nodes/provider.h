/*
 * provider.h - where the host that replaces a dead node comes from.
 *
 *   none     nobody is asked: the operator (or an autoscaling group)
 *            boots a new, empty node in the dead node's dc (and rack);
 *            its check-in takes the replacement's slot (lifecycle/role.h)
 *   command  the cluster's provider_command is run once per replacement
 *            with the environment below; it prints one JSON line
 *            {"address": "..."} on stdout and exits 0, or exits non-zero
 *            with a message on stderr
 *   sim      the same as command: the name the test suite and the demo
 *            use, with provider_command set to tests/sim's provisioner,
 *            so the orchestrator has no test-only path
 *
 * The command's environment: RM_CLUSTER, RM_DC, RM_RACK,
 * RM_DEAD_ADDRESS, RM_DEAD_HOST_ID, RM_CASSANDRA_VERSION and
 * RM_IDEMPOTENCY_KEY (the replace task's id: a command asked twice with
 * the same key must answer the same host, which only happens when the
 * orchestrator died while the command ran), on top of the orchestrator's
 * own environment.  It runs without a shell, stdin from /dev/null, in a
 * process group of its own (killed as a whole when it runs past its time
 * limit or its task is cancelled).
 *
 * The command runs while its task is parked: provider_start() spawns it,
 * provider_poll() reads what it printed so far without blocking.
 */
#ifndef RM_PROVIDER_H
#define RM_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

enum provider_kind {
	PROVIDER_NONE,
	PROVIDER_COMMAND,
	PROVIDER_SIM,
};

/* 0 with *out, or -1 for an unknown name. */
int provider_kind_parse(const char *name, enum provider_kind *out);
const char *provider_kind_name(enum provider_kind k);

struct provider_req {
	const char *command;		/* the executable (absolute path) */
	const char *cluster, *dc, *rack;
	const char *dead_address;
	const char *dead_host_id;	/* "" when never known */
	const char *cassandra_version;	/* "" when never known */
	const char *idempotency_key;
	int64_t timeout_ms;
};

struct provider_run;

/*
 * Start the command of r (strings copied).  NULL with err when it cannot
 * be started (not an absolute path, not executable, no fork).
 */
struct provider_run *provider_start(const struct provider_req *r, char *err,
    size_t errlen);
/*
 * Read what the command printed since the last call, without waiting.
 * 0: still running; 1: it answered, the address in address; -1: it
 * failed, ran past its time limit (then killed), or answered something
 * that is not an address: err says which, with its message.
 */
int provider_poll(struct provider_run *p, char *address, size_t addrlen,
    char *err, size_t errlen);
/* Kill the command's process group if it still runs, reap it, free p.
 * NULL is fine. */
void provider_free(struct provider_run *p);

/*
 * The command's stdout: the last non-empty line must be a JSON object
 * with a string "address" that is an IP address or host name (earlier
 * lines are the command's own chatter and are ignored).  Pure.  0 with
 * address, or -1 with err.
 */
int provider_parse_answer(const char *out, size_t len, char *address,
    size_t addrlen, char *err, size_t errlen);

#endif
