/*
 * daemon.h - the running orchestrator (daemon.c): the start-up order, the
 * stack (store, tokens, mirror writer, service, API) that serves while
 * this orchestrator is the active one, the election's role thread with
 * ha = etcd, signals and shutdown.
 */
#ifndef RM_DAEMON_H
#define RM_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

struct cfg;

/* What -n checks beyond the configuration's own keys: what the election
 * would refuse at start (etcd URLs, prefix, TTL).  0, or -1 with err. */
int daemon_check(const struct cfg *c, char *err, size_t errlen);

/* Run until SIGTERM or SIGINT; SIGHUP reloads what can be reloaded from
 * conf_path.  foreground: log to stderr, not the journal or log_file.  The
 * process's exit status. */
int daemon_run(struct cfg *c, const char *conf_path, bool foreground);

#endif
