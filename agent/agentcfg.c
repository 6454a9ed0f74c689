/*
 * agentcfg.c - ringagent's configuration table.  docs/agent.md lists every
 * key and must be kept in step with this table.
 */
#include "agentcfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/conf.h"
#include "../common/orchlist.h"
#include "../common/util.h"

#define SEC 1000LL
#define HOUR (3600LL * SEC)
#define DAY (24LL * HOUR)

static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };

static const struct conf_key keys[] = {
	{ "orchestrator", CONF_URL_LIST, NULL, false, 0, 0, NULL,
	  "base URL of the orchestrator, such as https://ringmaster.example:7400; "
	  "several orchestrators (one active, standbys): their URLs separated by commas" },
	{ "join_token_file", CONF_PATH, "/etc/ringmaster/join.token", false, 0, 0, NULL,
	  "file holding the cluster's join token (sent as a bearer token)" },
	{ "cluster", CONF_STRING, NULL, false, 0, 0, NULL,
	  "name of the cluster this node belongs to" },
	{ "dc", CONF_STRING, "datacenter1", false, 0, 0, NULL,
	  "the node's datacenter, as the snitch names it" },
	{ "rack", CONF_STRING, "rack1", false, 0, 0, NULL,
	  "the node's rack, as the snitch names it" },
	{ "address", CONF_STRING, NULL, false, 0, 0, NULL,
	  "the node's address: Cassandra's listen address, and where the orchestrator reaches it over SSH" },
	{ "nodetool", CONF_PATH, "/usr/bin/nodetool", false, 0, 0, NULL,
	  "path of nodetool" },
	{ "data_dirs", CONF_STRING, "/var/lib/cassandra", false, 0, 0, NULL,
	  "comma-separated Cassandra data directories (several for JBOD); each holds data/<keyspace>/<table>/" },
	{ "cassandra_start", CONF_STRING, NULL, false, 0, 0, NULL,
	  "shell command that starts Cassandra and returns, such as 'systemctl start cassandra'" },
	{ "cassandra_stop", CONF_STRING, NULL, false, 0, 0, NULL,
	  "shell command that stops Cassandra" },
	{ "upgrade_command", CONF_STRING, NULL, false, 0, 0, NULL,
	  "shell command that installs Cassandra version {version} (also $RM_VERSION) while it is stopped; used by the upgrade task" },
	{ "cassandra_yaml", CONF_PATH, "/etc/cassandra/cassandra.yaml", false, 0, 0, NULL,
	  "cassandra.yaml, where bootstrap writes the seeds" },
	{ "jvm_options", CONF_PATH, "/etc/cassandra/jvm-server.options", false, 0, 0, NULL,
	  "JVM options file (jvm.options on 3.11), where replace adds replace_address_first_boot" },
	{ "state_dir", CONF_PATH, "/var/lib/ringagent", false, 0, 0, NULL,
	  "directory of the agent's state file (last known host id) and of jobs/ (ringagent job)" },
	{ "job_retention_s", CONF_INT, "604800", false, 0, 3650LL * 86400, NULL,
	  "seconds a finished job (ringagent job) is kept after its result; 0 keeps jobs forever" },
	{ "heartbeat_interval", CONF_DURATION, "10s", false, 100, DAY, NULL,
	  "time between heartbeats until the orchestrator says otherwise" },
	{ "checkin_retry_max", CONF_DURATION, "60s", false, 100, DAY, NULL,
	  "cap of the growing interval between check-in attempts" },
	{ "nodetool_timeout", CONF_DURATION, "60s", false, 100, DAY, NULL,
	  "how long one nodetool command may run (repair has its own)" },
	{ "start_timeout", CONF_DURATION, "120s", false, 100, DAY, NULL,
	  "how long cassandra_start or cassandra_stop may run" },
	{ "http_timeout", CONF_DURATION, "10s", false, 100, HOUR, NULL,
	  "how long one request to the orchestrator may take" },
	{ "ssh_host_key", CONF_PATH, "/etc/ssh/ssh_host_ed25519_key.pub", false, 0, 0, NULL,
	  "this host's SSH public host key, reported at check-in so the orchestrator can pin it" },
	{ "ca_file", CONF_PATH, NULL, false, 0, 0, NULL,
	  "PEM CA certificate to trust for an https orchestrator; unset: the system store" },
	{ "log_file", CONF_PATH, NULL, false, 0, 0, NULL,
	  "log file, reopened on SIGHUP; unset: stderr" },
	{ "log_level", CONF_ENUM, "info", false, 0, 0, log_levels,
	  "debug, info, warn or error" },
	{ "limits_file", CONF_PATH, NULL, false, 0, 0, NULL,
	  "where the tenants' per-service limits for this node are written (JSON, docs/tenants.md); "
	  "unset: <state_dir>/limits.json" },
	{ "limits_hook", CONF_STRING, NULL, false, 0, 0, NULL,
	  "shell command run with the limits file's path (also $RINGAGENT_LIMITS_FILE) after it changed, "
	  "to make the node enforce it; exit 0 once it does" },
	{ "demand_interval", CONF_DURATION, "30s", false, 1000, DAY, NULL,
	  "time between samples of the tenants' demand (nodetool tablestats) while the node has tenants, "
	  "until the orchestrator says otherwise" },
};

const struct conf_key *agentcfg_keys(size_t *n)
{
	*n = ARRAY_SIZE(keys);
	return keys;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* Split "a, b,,c" into a NULL-terminated vector of non-empty, trimmed items. */
static char **split_list(const char *s, size_t *n)
{
	char *copy = xstrdup(s), *save = NULL, *tok;
	char **v = xcalloc(1, sizeof(char *));
	size_t len = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		str_trim(tok);
		if (*tok == '\0')
			continue;
		v = xrealloc(v, (len + 2) * sizeof(char *));
		v[len++] = xstrdup(tok);
		v[len] = NULL;
	}
	free(copy);
	*n = len;
	return v;
}

static struct agentcfg *from_conf(struct conf *cf, char *err, size_t errlen)
{
	struct agentcfg *c = xcalloc(1, sizeof(*c));
	const char *url;
	char why[512];

	c->path = xstrdup(conf_path(cf));
	if ((url = conf_str(cf, "orchestrator")) != NULL) {
		c->orchs = xcalloc(1, sizeof(*c->orchs));
		if (orchlist_parse(c->orchs, url, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: key 'orchestrator': %s",
			    c->path, why);
			conf_free(cf);
			agentcfg_free(c);
			return NULL;
		}
		c->orchestrator = orchlist_join(c->orchs);
	}
	c->join_token_file = dup_or_null(conf_str(cf, "join_token_file"));
	c->cluster = dup_or_null(conf_str(cf, "cluster"));
	c->dc = dup_or_null(conf_str(cf, "dc"));
	c->rack = dup_or_null(conf_str(cf, "rack"));
	c->address = dup_or_null(conf_str(cf, "address"));
	c->nodetool = dup_or_null(conf_str(cf, "nodetool"));
	c->data_dirs = split_list(conf_str(cf, "data_dirs"), &c->n_data_dirs);
	c->cassandra_start = dup_or_null(conf_str(cf, "cassandra_start"));
	c->cassandra_stop = dup_or_null(conf_str(cf, "cassandra_stop"));
	c->upgrade_command = dup_or_null(conf_str(cf, "upgrade_command"));
	c->cassandra_yaml = dup_or_null(conf_str(cf, "cassandra_yaml"));
	c->jvm_options = dup_or_null(conf_str(cf, "jvm_options"));
	c->state_dir = dup_or_null(conf_str(cf, "state_dir"));
	c->ssh_host_key = dup_or_null(conf_str(cf, "ssh_host_key"));
	c->ca_file = dup_or_null(conf_str(cf, "ca_file"));
	c->log_file = dup_or_null(conf_str(cf, "log_file"));
	log_level_parse(conf_str(cf, "log_level"), &c->log_level);
	c->heartbeat_interval_ms = conf_ms(cf, "heartbeat_interval");
	c->checkin_retry_max_ms = conf_ms(cf, "checkin_retry_max");
	c->nodetool_timeout_ms = conf_ms(cf, "nodetool_timeout");
	c->job_retention_s = conf_int(cf, "job_retention_s");
	c->start_timeout_ms = conf_ms(cf, "start_timeout");
	c->http_timeout_ms = conf_ms(cf, "http_timeout");
	c->limits_file = conf_str(cf, "limits_file") ? xstrdup(conf_str(cf,
	    "limits_file")) : xasprintf("%s/limits.json", c->state_dir);
	c->limits_hook = dup_or_null(conf_str(cf, "limits_hook"));
	c->demand_interval_ms = conf_ms(cf, "demand_interval");
	conf_free(cf);

	if (c->n_data_dirs == 0) {
		snprintf(err, errlen, "%s: key 'data_dirs': expected at least one "
		    "directory", c->path);
		agentcfg_free(c);
		return NULL;
	}
	if (c->cluster != NULL && !name_valid(c->cluster)) {
		snprintf(err, errlen, "%s: key 'cluster': expected a name of "
		    "letters, digits, '-' and '_' (at most 64)", c->path);
		agentcfg_free(c);
		return NULL;
	}
	return c;
}

struct agentcfg *agentcfg_load(const char *path, char *err, size_t errlen)
{
	struct conf *cf = conf_load(path, keys, ARRAY_SIZE(keys), err, errlen);
	return cf ? from_conf(cf, err, errlen) : NULL;
}

struct agentcfg *agentcfg_parse(const char *path, const char *text,
    char *err, size_t errlen)
{
	struct conf *cf = conf_parse(path, text, keys, ARRAY_SIZE(keys), err, errlen);
	return cf ? from_conf(cf, err, errlen) : NULL;
}

int agentcfg_check_daemon(const struct agentcfg *c, char *err, size_t errlen)
{
	const struct { const char *value, *name; } need[] = {
		{ c->orchestrator, "orchestrator" },
		{ c->cluster, "cluster" },
		{ c->address, "address" },
		{ c->cassandra_start, "cassandra_start" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(need); i++) {
		if (need[i].value == NULL) {
			snprintf(err, errlen, "%s: key '%s' is required to run the "
			    "daemon; add it to the file", c->path, need[i].name);
			return -1;
		}
	}
	return 0;
}

void agentcfg_free(struct agentcfg *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->orchestrator);
	orchlist_release(c->orchs);
	free(c->orchs);
	free(c->join_token_file);
	free(c->cluster);
	free(c->dc);
	free(c->rack);
	free(c->address);
	free(c->nodetool);
	for (size_t i = 0; i < c->n_data_dirs; i++)
		free(c->data_dirs[i]);
	free(c->data_dirs);
	free(c->cassandra_start);
	free(c->cassandra_stop);
	free(c->upgrade_command);
	free(c->cassandra_yaml);
	free(c->jvm_options);
	free(c->state_dir);
	free(c->ssh_host_key);
	free(c->ca_file);
	free(c->log_file);
	free(c->limits_file);
	free(c->limits_hook);
	free(c);
}
