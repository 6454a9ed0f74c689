/*
 * agentcfg.h - ringagent's configuration: the key table handed to
 * common/conf.c and the typed settings the daemon and the one-shot
 * operations run with.
 *
 * The same file serves both: the daemon needs every key, an operation run
 * over SSH needs only nodetool, data_dirs and the Cassandra paths, so no
 * key is required by the table itself; agentcfg_check_daemon() checks what
 * the daemon needs on top.  Everything in struct agentcfg belongs to the
 * struct and is released by agentcfg_free(), which accepts NULL.
 */
#ifndef RM_AGENTCFG_H
#define RM_AGENTCFG_H

#include <stddef.h>
#include <stdint.h>

#include "../common/log.h"

/* Where `ringagent <op>` looks when neither -f nor RINGAGENT_CONF says. */
#define AGENTCFG_DEFAULT_PATH "/etc/ringmaster/agent.conf"

struct conf_key;
struct orchlist;

struct agentcfg {
	char *path;			/* file it came from */
	/* The orchestrators' base URLs joined by ",", trailing slashes
	 * removed (one URL: that URL); NULL if unset. */
	char *orchestrator;
	/* The same list parsed, with the one that answered last: requests
	 * go through orchlist_do() (common/orchlist.h); NULL if unset. */
	struct orchlist *orchs;
	char *join_token_file;
	char *cluster;
	char *dc;
	char *rack;
	char *address;
	char *nodetool;
	char **data_dirs;		/* NULL-terminated */
	size_t n_data_dirs;
	char *cassandra_start;		/* shell command */
	char *cassandra_stop;
	char *upgrade_command;		/* shell command, "{version}" replaced; NULL unset */
	char *cassandra_yaml;
	char *jvm_options;
	char *state_dir;		/* host id and last answer */
	char *ssh_host_key;
	char *ca_file;
	char *log_file;			/* NULL: stderr */
	enum log_level log_level;
	int64_t heartbeat_interval_ms;
	int64_t checkin_retry_max_ms;	/* cap of the growing check-in interval */
	int64_t nodetool_timeout_ms;
	int64_t start_timeout_ms;	/* cassandra_start / cassandra_stop */
	int64_t http_timeout_ms;
	int64_t job_retention_s;	/* finished jobs older than this go; 0: never */
	char *limits_file;		/* tenants' limits (limits.h); <state_dir>/limits.json */
	char *limits_hook;		/* shell command run on a new limits file; NULL: none */
	int64_t demand_interval_ms;	/* between demand samples, until the orchestrator says */
};

/* The key table, for --help and docs. */
const struct conf_key *agentcfg_keys(size_t *n);

/*
 * Load path (NULL: defaults only).  Returns a new agentcfg, or NULL with
 * "FILE:LINE: key 'x': ..." in err.
 */
struct agentcfg *agentcfg_load(const char *path, char *err, size_t errlen);
/* Parse text as if it were the file named path (for tests). */
struct agentcfg *agentcfg_parse(const char *path, const char *text,
    char *err, size_t errlen);
/*
 * The daemon needs orchestrator, join_token_file, cluster, address,
 * cassandra_start: 0, or -1 with "FILE: key 'x' is required ..." in err.
 */
int agentcfg_check_daemon(const struct agentcfg *c, char *err, size_t errlen);
void agentcfg_free(struct agentcfg *c);

#endif
