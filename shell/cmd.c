/*
 * cmd.c - the command table, lookup in it, usage lines and help.  The
 * parser is cmd_parse.c and completion cmd_complete.c; they share
 * cmd_int.h.  See cmd.h for the design.
 */
#include "cmd.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "../common/util.h"
#include "cmd_int.h"
#include "ids.h"

/* Flags every command takes, and the one cluster-scoped commands take. */
static const struct cmd_flag flag_json = {
	"--json", CMD_V_NONE, NULL, false, NULL,
	"print the orchestrator's JSON answer as is",
};
static const struct cmd_flag flag_cluster = {
	"--cluster", CMD_V_CLUSTER, "CLUSTER", false, NULL,
	"the cluster to act on (default: the current one, see 'use')",
};

const char *const cmd_task_states[] = {
	"queued", "running", "paused", "succeeded", "failed", "cancelled",
	"partial", NULL,
};

#define NOARGS ((const struct cmd_arg[]){ { NULL, CMD_V_NONE, false, NULL } })
#define NOFLAGS ((const struct cmd_flag[]){ { NULL, CMD_V_NONE, NULL, false, NULL, NULL } })
#define END_ARGS { NULL, CMD_V_NONE, false, NULL }
#define END_FLAGS { NULL, CMD_V_NONE, NULL, false, NULL, NULL }
#define END_CMDS { NULL, CMD_NONE, NULL, NULL, NULL, NULL, NULL, false, false, NULL, NULL }

static const struct cmd_arg arg_cluster_opt[] = {
	{ "CLUSTER", CMD_V_CLUSTER, true, NULL }, END_ARGS,
};
static const struct cmd_arg arg_cluster[] = {
	{ "CLUSTER", CMD_V_CLUSTER, false, NULL }, END_ARGS,
};
static const struct cmd_arg arg_task[] = {
	{ "ID", CMD_V_TASK, false, NULL }, END_ARGS,
};
static const struct cmd_arg arg_backup[] = {
	{ "ID", CMD_V_BACKUP, false, NULL }, END_ARGS,
};
static const struct cmd_arg arg_schedule[] = {
	{ "ID", CMD_V_SCHEDULE, false, NULL }, END_ARGS,
};
static const struct cmd_arg arg_type[] = {
	{ "TYPE", CMD_V_TASK_TYPE, false, NULL }, END_ARGS,
};

static const struct cmd_flag flags_watch[] = {
	{ "--watch", CMD_V_NONE, NULL, false, NULL,
	  "watch the task until it ends (exit status 1 when it fails)" },
	END_FLAGS,
};

static const struct cmd_flag flags_watch_one[] = {
	{ "--reconnect-for", CMD_V_DURATION, "DURATION", false, NULL,
	  "how long to wait for a lost orchestrator before giving up "
	  "(default 2m)" },
	END_FLAGS,
};

/* The keys of the orchestrator's registry (store_settings.h), for help:
 * the shell does not check them, the orchestrator does. */
#define HELP_SETTINGS \
	"replace_after, provider, provider_command, node_ttl, " \
	"evict_removenode, backup_down_policy, tenant_repair_after, " \
	"autoscale_interval, autoscale_up_cooldown, autoscale_down_cooldown, " \
	"autoscale_down_after, tenant_demand_interval; docs/lifecycle.md, " \
	"docs/tenants.md"

static const struct cmd clusters_subs[] = {
	{ "list", CMD_CLUSTERS_LIST, "list the clusters", NULL, NULL, NOARGS,
	  NOFLAGS, false, false, NULL, NULL },
	{ "show", CMD_CLUSTERS_SHOW, "show one cluster (default: the current one)",
	  NULL, NULL, arg_cluster_opt, NOFLAGS, false, false, NULL,
	  "Shows the cluster's storage, SSH settings, nodes up and down, the "
	  "task queue depth, the running task and the lifecycle settings." },
	{ "create", CMD_CLUSTERS_CREATE, "register a cluster", NULL, NULL,
	  arg_cluster,
	  (const struct cmd_flag[]){
		{ "--storage", CMD_V_URL, "URL", true, NULL,
		  "backup storage: s3://bucket/prefix or file:///dir" },
		{ "--endpoint", CMD_V_URL, "URL", false, NULL,
		  "S3 endpoint (for S3-compatible stores)" },
		{ "--region", CMD_V_TEXT, "REGION", false, NULL, "S3 region" },
		{ "--ssh-user", CMD_V_TEXT, "USER", true, NULL,
		  "the user the orchestrator logs in as on the nodes" },
		{ "--ssh-port", CMD_V_NUMBER, "PORT", false, NULL,
		  "SSH port on the nodes (default 22)" },
		{ "--ssh-key", CMD_V_FILE, "FILE", true, NULL,
		  "private key file on the orchestrator host" },
		END_FLAGS,
	  }, true, false, NULL,
	  "CLUSTER must match [A-Za-z0-9_-]{1,64}.  The key file is read by the "
	  "orchestrator, so give its path on the orchestrator's host.  "
	  "key=value words set lifecycle settings (" HELP_SETTINGS ")." },
	{ "update", CMD_CLUSTERS_UPDATE, "change a cluster's storage and SSH "
	  "settings", NULL, NULL, arg_cluster_opt,
	  (const struct cmd_flag[]){
		{ "--storage", CMD_V_URL, "URL", false, NULL,
		  "backup storage: s3://bucket/prefix or file:///dir" },
		{ "--endpoint", CMD_V_URL, "URL", false, NULL,
		  "S3 endpoint (for S3-compatible stores)" },
		{ "--no-endpoint", CMD_V_NONE, NULL, false, NULL,
		  "remove the S3 endpoint" },
		{ "--region", CMD_V_TEXT, "REGION", false, NULL, "S3 region" },
		{ "--no-region", CMD_V_NONE, NULL, false, NULL,
		  "remove the S3 region" },
		{ "--ssh-user", CMD_V_TEXT, "USER", false, NULL,
		  "the user the orchestrator logs in as on the nodes" },
		{ "--ssh-port", CMD_V_NUMBER, "PORT", false, NULL,
		  "SSH port on the nodes" },
		{ "--ssh-key", CMD_V_FILE, "FILE", false, NULL,
		  "private key file on the orchestrator host" },
		END_FLAGS,
	  }, true, false, NULL,
	  "PATCH /api/v1/clusters/{name}: what is not given stays as it is; "
	  "give at least one setting.  The orchestrator checks the values as "
	  "at create and refuses a storage or SSH change (409, naming the "
	  "task) while a task of the cluster runs.  key=value words are the "
	  "lifecycle settings (" HELP_SETTINGS "); key= resets one to its "
	  "default, and they may change while a task runs.  CLUSTER defaults "
	  "to the current one.  Example, for a cluster an agent created: "
	  "clusters update prod --storage s3://bucket/prod --ssh-user "
	  "cassandra --ssh-key /etc/ringmaster/id replace_after=30m" },
	{ "delete", CMD_CLUSTERS_DELETE, "forget a cluster", NULL, NULL,
	  arg_cluster, NOFLAGS, false, false, NULL,
	  "Refused (409) while a task runs on the cluster." },
	END_CMDS,
};

#define HELP_TASK_ID \
	"ID is the whole id, any part of it only this task of the cluster has " \
	"(its start, or the digits that tell it apart), or 'last' for the " \
	"cluster's newest task; without a cluster every cluster's tasks are " \
	"looked at."

static const struct cmd tasks_subs[] = {
	{ "list", CMD_TASKS_LIST, "list the cluster's tasks", NULL, NULL, NOARGS,
	  (const struct cmd_flag[]){
		{ "--state", CMD_V_STATE, "STATE", false, NULL,
		  "only tasks in this state (queued, running, paused, "
		  "succeeded, failed, cancelled, partial)" },
		END_FLAGS,
	  }, false, true, NULL, NULL },
	{ "show", CMD_TASKS_SHOW, "show a task and its steps", NULL, NULL,
	  arg_task, NOFLAGS, false, true, NULL, HELP_TASK_ID },
	{ "watch", CMD_TASKS_WATCH, "follow a task's progress until it ends",
	  NULL, NULL, arg_task, flags_watch_one, false, true, NULL,
	  "Draws a progress bar with done/total, rate and ETA and the current "
	  "step on each node.  Ctrl-C leaves the watch; the task goes on.  "
	  "A lost orchestrator is waited for (--reconnect-for, default 2m).  "
	  HELP_TASK_ID },
	{ "cancel", CMD_TASKS_CANCEL, "cancel a task", NULL, NULL, arg_task,
	  NOFLAGS, false, true, NULL, "A queued or paused task is cancelled at "
	  "once, a running one at its next checkpoint.  " HELP_TASK_ID },
	{ "pause", CMD_TASKS_PAUSE, "pause a task", NULL, NULL, arg_task,
	  NOFLAGS, false, true, NULL, "A queued task is paused at once, a "
	  "running one at its next checkpoint.  " HELP_TASK_ID },
	{ "resume", CMD_TASKS_RESUME, "resume a paused task", NULL, NULL,
	  arg_task, NOFLAGS, false, true, NULL, HELP_TASK_ID },
	END_CMDS,
};

static const struct cmd_arg arg_address[] = {
	{ "ADDRESS", CMD_V_TEXT, false, NULL }, END_ARGS,
};

static const struct cmd node_subs[] = {
	{ "revoke", CMD_NODE_REVOKE, "refuse a node's credential", NULL, NULL,
	  arg_address, NOFLAGS, false, true, NULL,
	  "The node's check-ins and heartbeats are refused from now on, its "
	  "credential's and the join token's alike (403), until it is "
	  "readmitted: for a host that was lost, stolen or reinstalled.  The "
	  "node stays in the cluster's list." },
	{ "readmit", CMD_NODE_READMIT, "let a node check in again with the "
	  "join token", NULL, NULL, arg_address, NOFLAGS, false, true, NULL,
	  "Revokes the node's credential (if any) and lets the next check-in "
	  "from that address with the join token get a new one, once: for a "
	  "reinstalled host whose agent lost its credential.  ringagent falls "
	  "back to the join token by itself." },
	END_CMDS,
};

static const struct cmd backups_subs[] = {
	{ "list", CMD_BACKUPS_LIST, "list the cluster's backups", NULL, NULL,
	  NOARGS, NOFLAGS, false, true, NULL, NULL },
	{ "delete", CMD_BACKUPS_DELETE, "purge one backup", NULL, NULL,
	  arg_backup, NOFLAGS, false, true, NULL,
	  "Queues a purge task (and prints its id); the backup is gone when "
	  "it has run.  Files that other backups still use are kept.  ID may "
	  "be any part of the id that only this backup has." },
	END_CMDS,
};

static const struct cmd scale_subs[] = {
	{ "out", CMD_TASK_SHORTCUT, "add COUNT nodes through the provider",
	  NULL, NULL,
	  (const struct cmd_arg[]){
		{ "COUNT", CMD_V_NUMBER, false, NULL }, END_ARGS,
	  },
	  (const struct cmd_flag[]){
		{ "--dc", CMD_V_TEXT, "DC", false, "dc",
		  "the new nodes' datacenter" },
		{ "--rack", CMD_V_TEXT, "RACK", false, "rack",
		  "their rack (with --dc)" },
		{ "--watch", CMD_V_NONE, NULL, false, NULL,
		  "watch the task until it ends" },
		END_FLAGS,
	  }, true, true, "scale-out",
	  "One bootstrap slot at a time, each new node waited for until it "
	  "is UN; then nodetool cleanup on the old nodes, one by one." },
	{ "in", CMD_TASK_SHORTCUT, "take COUNT nodes out (chosen for you)",
	  NULL, NULL,
	  (const struct cmd_arg[]){
		{ "COUNT", CMD_V_NUMBER, false, NULL }, END_ARGS,
	  },
	  (const struct cmd_flag[]){
		{ "--dc", CMD_V_TEXT, "DC", false, "dc",
		  "only from this datacenter" },
		{ "--rack", CMD_V_TEXT, "RACK", false, "rack",
		  "only from this rack (with --dc)" },
		{ "--watch", CMD_V_NONE, NULL, false, NULL,
		  "watch the task until it ends" },
		END_FLAGS,
	  }, true, true, "scale-in",
	  "The nodes: not pinned seeds, the fullest rack, the least load, the "
	  "highest address; then as decommission." },
	END_CMDS,
};

static const struct cmd schedules_subs[] = {
	{ "list", CMD_SCHEDULES_LIST, "list the cluster's schedules", NULL, NULL,
	  NOARGS, NOFLAGS, false, true, NULL, NULL },
	{ "create", CMD_SCHEDULES_CREATE, "run a task type on a schedule", NULL,
	  NULL, arg_type,
	  (const struct cmd_flag[]){
		{ "--every", CMD_V_DURATION, "DURATION", false, NULL,
		  "an interval: 30m, 6h, 1d" },
		{ "--cron", CMD_V_TEXT, "EXPR", false, NULL,
		  "a cron expression, quoted: \"0 3 * * *\"" },
		END_FLAGS,
	  }, true, true, NULL,
	  "Give exactly one of --every and --cron.  key=value words become the "
	  "params of each task the schedule starts." },
	{ "delete", CMD_SCHEDULES_DELETE, "delete a schedule", NULL, NULL,
	  arg_schedule, NOFLAGS, false, true, NULL,
	  "ID may be any part of the id that only this schedule of the cluster "
	  "has.  The tasks it made stay." },
	END_CMDS,
};

static const struct cmd_arg arg_tenant[] = {
	{ "NAME", CMD_V_TEXT, false, NULL }, END_ARGS,
};

static const struct cmd tenant_subs[] = {
	{ "create", CMD_TENANT_CREATE, "place a new tenant on a shard of the "
	  "cluster's nodes", NULL, NULL, arg_tenant,
	  (const struct cmd_flag[]){
		{ "--keyspaces", CMD_V_TEXT, "KS,KS...", false, NULL,
		  "its keyspaces, by name" },
		{ "--prefix", CMD_V_TEXT, "PREFIX", false, NULL,
		  "or every keyspace whose name starts with PREFIX" },
		{ "--k", CMD_V_NUMBER, "K", false, NULL,
		  "services in its shard (default 3)" },
		{ "--overlap", CMD_V_NUMBER, "M", false, NULL,
		  "services it may share with any other tenant (default 1)" },
		{ "--min", CMD_V_NUMBER, "N", false, NULL,
		  "fewest services it scales down to (default K)" },
		{ "--max", CMD_V_NUMBER, "N", false, NULL,
		  "most services it scales up to (default 16)" },
		END_FLAGS,
	  }, false, true, NULL,
	  "Give exactly one of --keyspaces and --prefix.  The shard is K of "
	  "the cluster's nodes that are up, sharing at most M with every "
	  "other tenant's shard; when none fits the orchestrator says how "
	  "many tenants the pool holds.  docs/tenants.md." },
	{ "show", CMD_TENANT_SHOW, "a tenant's shard, health, limits and "
	  "demand", NULL, NULL, arg_tenant, NOFLAGS, false, true, NULL,
	  "health: ok (every service of its shard up), degraded (some), "
	  "down (none)." },
	{ "set", CMD_TENANT_SET, "change a tenant's limits, service bounds "
	  "or autoscaling", NULL, NULL, arg_tenant,
	  (const struct cmd_flag[]){
		{ "--autoscale", CMD_V_TEXT, "on|off", false, NULL,
		  "let the autoscaler change its limit and services, or not" },
		{ "--limit-default", CMD_V_NUMBER, "OPS", false, NULL,
		  "per-service ops/s it starts at and scales down to" },
		{ "--limit-max", CMD_V_NUMBER, "OPS", false, NULL,
		  "per-service ops/s it scales up to" },
		{ "--min", CMD_V_NUMBER, "N", false, NULL,
		  "fewest services it scales down to" },
		{ "--max", CMD_V_NUMBER, "N", false, NULL,
		  "most services it scales up to" },
		END_FLAGS,
	  }, false, true, NULL,
	  "The current limit and the services it should hold follow new "
	  "bounds at once.  Its keyspaces and shard shape do not change: "
	  "delete and create it for that.  To set a limit now, submit a "
	  "scale-tenant task (task submit scale-tenant tenant=NAME "
	  "limit=OPS)." },
	{ "delete", CMD_TENANT_DELETE, "forget a tenant and free its shard",
	  NULL, NULL, arg_tenant, NOFLAGS, false, true, NULL,
	  "Its keyspaces and their data stay." },
	END_CMDS,
};

const struct cmd cmd_table[] = {
	{ "help", CMD_HELP, "list commands, or explain one", NULL, NULL,
	  (const struct cmd_arg[]){
		{ "COMMAND", CMD_V_COMMAND, true, NULL },
		{ "SUBCOMMAND", CMD_V_COMMAND, true, NULL },
		END_ARGS,
	  }, NOFLAGS, false, false, NULL, NULL },
	{ "connect", CMD_CONNECT, "add an orchestrator connection and use it",
	  NULL, NULL,
	  (const struct cmd_arg[]){
		{ "URL", CMD_V_URL, false, NULL },
		{ "NAME", CMD_V_TEXT, true, "as" },
		END_ARGS,
	  },
	  (const struct cmd_flag[]){
		{ "--token-file", CMD_V_FILE, "FILE", false, NULL,
		  "read the bearer token from FILE (default: $RINGMASTER_TOKEN)" },
		{ "--ca-file", CMD_V_FILE, "FILE", false, NULL,
		  "trust this CA certificate for https" },
		END_FLAGS,
	  }, false, false, NULL,
	  "Checks GET /health, then makes the connection current.  Without "
	  "'as NAME' the first connection is called 'default', later ones "
	  "conn2, conn3...  URL may list several orchestrators separated by "
	  "commas (one active, standbys): requests go to the one that "
	  "answered last, move to the next when it does not answer or has "
	  "no active, and follow a standby's redirect only to a URL of the "
	  "list." },
	{ "connections", CMD_CONNECTIONS, "list connections; * marks the current one",
	  NULL, NULL, NOARGS, NOFLAGS, false, false, NULL, NULL },
	{ "use", CMD_USE, "switch connection and/or cluster", NULL, NULL,
	  (const struct cmd_arg[]){
		{ "TARGET", CMD_V_TARGET, false, NULL }, END_ARGS,
	  }, NOFLAGS, false, false, NULL,
	  "TARGET is a connection name, CONNECTION/CLUSTER, or a cluster on the "
	  "current connection (checked with the orchestrator)." },
	{ "health", CMD_HEALTH, "check the orchestrator is up", NULL, NULL,
	  NOARGS, NOFLAGS, false, false, NULL, NULL },
	{ "metrics", CMD_METRICS, "print the Prometheus metrics", NULL, NULL,
	  NOARGS, NOFLAGS, false, false, NULL, NULL },
	{ "clusters", CMD_NONE, "list, show, create, update and delete clusters",
	  clusters_subs, "list", NOARGS, NOFLAGS, false, false, NULL, NULL },
	{ "nodes", CMD_NODES, "list a cluster's nodes", NULL, NULL,
	  arg_cluster_opt, NOFLAGS, false, false, NULL, NULL },
	{ "node", CMD_NONE, "revoke or readmit one node's credential",
	  node_subs, NULL, NOARGS, NOFLAGS, false, false, NULL, NULL },
	{ "seeds", CMD_SEEDS, "list a cluster's seed addresses, or pin them",
	  NULL, NULL, arg_cluster_opt,
	  (const struct cmd_flag[]){
		{ "--pin", CMD_V_TEXT, "ADDR,ADDR...", false, NULL,
		  "make exactly these nodes the seeds (admin)" },
		{ "--unpin", CMD_V_NONE, NULL, false, NULL,
		  "hand the choice back to the orchestrator (admin)" },
		END_FLAGS,
	  }, false, false, NULL,
	  "Without a flag, GET /api/v1/clusters/{name}/seeds.  --pin and "
	  "--unpin are PUT /api/v1/clusters/{name}/seeds: pinned addresses "
	  "must be nodes of the cluster, and agents get the new list in their "
	  "next heartbeat answer (cassandra.yaml is rewritten; it takes effect "
	  "at the node's next start)." },
	{ "tasks", CMD_NONE, "list, show, watch, cancel, pause, resume tasks",
	  tasks_subs, "list", NOARGS, NOFLAGS, false, false, NULL, NULL },
	{ "watch", CMD_TASKS_WATCH, "follow a task (same as 'tasks watch')",
	  NULL, NULL, arg_task, flags_watch_one, false, true, NULL,
	  HELP_TASK_ID },
	{ "types", CMD_TYPES, "list the task types, or show one with its "
	  "parameters", NULL, NULL,
	  (const struct cmd_arg[]){
		{ "TYPE", CMD_V_TASK_TYPE, true, NULL }, END_ARGS,
	  }, NOFLAGS, false, false, NULL,
	  "From the orchestrator (GET /api/v1/task-types): each type's "
	  "parameters with their type, default, range and meaning." },
	{ "run", CMD_RUN, "start a task of any type with key=value params",
	  NULL, NULL, arg_type, flags_watch, true, true, NULL,
	  "Values are typed: 42 and 2.5 are numbers, true/false booleans, null, "
	  "[..] and {..} JSON; anything else is a string.\n"
	  "Example: run noop duration_s=5 --watch" },
	{ "backup", CMD_TASK_SHORTCUT, "start a backup", NULL, NULL, NOARGS,
	  (const struct cmd_flag[]){
		{ "--keyspace", CMD_V_TEXT, "KS[,KS...]", false, "keyspaces[]",
		  "only these keyspaces" },
		{ "--table", CMD_V_TEXT, "KS.TABLE[,...]", false, "tables[]",
		  "only these tables" },
		{ "--rate-limit", CMD_V_NUMBER, "MIB_S", false, "rate_limit_mib",
		  "upload at most this many MiB/s per node" },
		{ "--watch", CMD_V_NONE, NULL, false, NULL,
		  "watch the task until it ends" },
		END_FLAGS,
	  }, true, true, "backup", NULL },
	{ "restore", CMD_TASK_SHORTCUT, "restore a backup", NULL, NULL, NOARGS,
	  (const struct cmd_flag[]){
		{ "--backup", CMD_V_BACKUP, "ID", false, "backup_id",
		  "the backup to restore (default: the newest complete one)" },
		{ "--keyspace", CMD_V_TEXT, "KS[,KS...]", false, "keyspaces[]",
		  "only these keyspaces" },
		{ "--table", CMD_V_TEXT, "KS.TABLE[,...]", false, "tables[]",
		  "only these tables" },
		{ "--node", CMD_V_TEXT, "ADDR[,ADDR...]", false, "nodes[]",
		  "only these nodes" },
		{ "--from", CMD_V_CLUSTER, "CLUSTER", false, "source_cluster",
		  "restore another cluster's backup into this one" },
		{ "--force", CMD_V_NONE, NULL, false, "force",
		  "restore even a backup found damaged (the orchestrator "
		  "refuses one otherwise)" },
		{ "--watch", CMD_V_NONE, NULL, false, NULL,
		  "watch the task until it ends" },
		END_FLAGS,
	  }, true, true, "restore",
	  "Without --backup the orchestrator restores the newest complete "
	  "backup." },
	{ "verify", CMD_TASK_SHORTCUT, "check a backup's files against its manifest",
	  NULL, NULL, NOARGS,
	  (const struct cmd_flag[]){
		{ "--backup", CMD_V_BACKUP, "ID", false, "backup_id",
		  "the backup to verify (default: the newest complete one)" },
		{ "--download", CMD_V_NONE, NULL, false, "download",
		  "download every file and check its checksum" },
		{ "--watch", CMD_V_NONE, NULL, false, NULL,
		  "watch the task until it ends" },
		END_FLAGS,
	  }, true, true, "verify", NULL },
	{ "repair", CMD_TASK_SHORTCUT, "start an anti-entropy repair", NULL, NULL,
	  NOARGS,
	  (const struct cmd_flag[]){
		{ "--keyspace", CMD_V_TEXT, "KEYSPACE", false, "keyspace",
		  "only this keyspace" },
		{ "--table", CMD_V_TEXT, "TABLE[,TABLE...]", false, "table[]",
		  "only these tables (with --keyspace)" },
		{ "--incremental", CMD_V_NONE, NULL, false, "incremental",
		  "incremental rather than full repair" },
		{ "--segments", CMD_V_NUMBER, "N", false, "segments_per_node",
		  "about N segments per node (1..1024)" },
		{ "--parallelism", CMD_V_NUMBER, "N", false, "parallelism",
		  "segments at once (default 0: as many as disjoint replica "
		  "sets allow; 1: node by node, one at a time)" },
		{ "--intensity", CMD_V_DECIMAL, "X", false, "intensity",
		  "0 < X <= 1: rest d*(1-X)/X after a segment that took d" },
		{ "--segment-timeout", CMD_V_DURATION, "DURATION", false,
		  "segment_timeout", "cancel and split a segment running "
		  "longer (1s..11h; not with --parallelism 1)" },
		{ "--max-pending-compactions", CMD_V_NUMBER, "N", false,
		  "max_pending_compactions", "a segment waits while a replica "
		  "has more pending compactions (not with --parallelism 1)" },
		{ "--down-deadline", CMD_V_TEXT, "DURATION", false,
		  "down_deadline", "how long postponed segments wait for a down "
		  "node (default 6h, at most 11h; 0: a down replica fails the "
		  "segment)" },
		{ "--watch", CMD_V_NONE, NULL, false, NULL,
		  "watch the task until it ends" },
		END_FLAGS,
	  }, true, true, "repair",
	  "key=value words add the other params (`types repair` lists them), "
	  "JSON for lists.  Only at night, Berlin time: windows='[{\"days\": "
	  "\"mon-fri\", \"start\": \"22:00\", \"end\": \"06:00\", \"tz\": "
	  "\"Europe/Berlin\"}]' (a task waiting for its window says so in "
	  "`tasks`).  One dc: keyspace=ks parallelism=0 datacenter=dc2; every "
	  "node within its own dc: local_dc=true.  "
	  "Without --keyspace: every keyspace nodetool repair would repair "
	  "(not LocalStrategy ones, not system_distributed). The default "
	  "runs the segment scheduler: no node in two running segments; on "
	  "Cassandra 3.x it is node by node. docs/repair.md" },
	{ "replace", CMD_TASK_SHORTCUT, "replace a dead node by a new host",
	  NULL, NULL,
	  (const struct cmd_arg[]){
		{ "NODE", CMD_V_TEXT, false, NULL },
		{ "NEW_ADDRESS", CMD_V_TEXT, true, NULL }, END_ARGS,
	  },
	  (const struct cmd_flag[]){
		{ "--watch", CMD_V_NONE, NULL, false, NULL,
		  "watch the task until it ends" },
		END_FLAGS,
	  }, true, true, "replace",
	  "NODE must be down (its agent silent, a live peer seeing it DN and "
	  "none UN); the orchestrator refuses otherwise.  Without NEW_ADDRESS "
	  "the cluster's provider finds the host (provider none: boot a new, "
	  "empty node in the same dc and rack).  docs/lifecycle.md, "
	  "\"Replacement\"." },
	{ "restart", CMD_TASK_SHORTCUT, "rolling restart: one node at a time "
	  "behind health gates", NULL, NULL, NOARGS,
	  (const struct cmd_flag[]){
		{ "--node", CMD_V_TEXT, "ADDR[,ADDR...]", false, "nodes[]",
		  "only these nodes, in this order" },
		{ "--per-rack", CMD_V_NONE, NULL, false, "per_rack",
		  "a whole rack at a time (refused unless every keyspace is "
		  "rack-safe)" },
		{ "--gate-timeout", CMD_V_NUMBER, "SECONDS", false,
		  "gate_timeout_s", "how long a health gate may wait" },
		{ "--max-pending-compactions", CMD_V_NUMBER, "N", false,
		  "max_pending_compactions", "gate on pending compactions too" },
		{ "--watch", CMD_V_NONE, NULL, false, NULL,
		  "watch the task until it ends" },
		END_FLAGS,
	  }, true, true, "rolling-restart",
	  "Per node: gate (every node UN), drain, stop, start, back (the node "
	  "UN in its own view and another's, every other node UN).  Default "
	  "order: rack by rack, seeds last.  docs/lifecycle.md, \"Rolling "
	  "operations\"." },
	{ "upgrade", CMD_TASK_SHORTCUT, "rolling upgrade to a Cassandra version",
	  NULL, NULL,
	  (const struct cmd_arg[]){
		{ "VERSION", CMD_V_TEXT, false, NULL }, END_ARGS,
	  },
	  (const struct cmd_flag[]){
		{ "--upgradesstables", CMD_V_NONE, NULL, false, "upgradesstables",
		  "run nodetool upgradesstables on each node once it is back" },
		{ "--node", CMD_V_TEXT, "ADDR[,ADDR...]", false, "nodes[]",
		  "only these nodes, in this order" },
		{ "--per-rack", CMD_V_NONE, NULL, false, "per_rack",
		  "a whole rack at a time (refused unless every keyspace is "
		  "rack-safe)" },
		{ "--gate-timeout", CMD_V_NUMBER, "SECONDS", false,
		  "gate_timeout_s", "how long a health gate may wait" },
		{ "--watch", CMD_V_NONE, NULL, false, NULL,
		  "watch the task until it ends" },
		END_FLAGS,
	  }, true, true, "upgrade",
	  "Each node's agent runs its upgrade_command with VERSION while "
	  "Cassandra is stopped, then nodetool version must show VERSION.  "
	  "A skipped major version (3.11 to 5.0) is refused." },
	{ "scale", CMD_NONE, "add or take out nodes, one at a time",
	  scale_subs, NULL, NOARGS, NOFLAGS, false, false, NULL, NULL },
	{ "decommission", CMD_TASK_SHORTCUT, "take live nodes out of the ring, "
	  "one by one", NULL, NULL,
	  (const struct cmd_arg[]){
		{ "NODE...", CMD_V_TEXT, false, NULL }, END_ARGS,
	  },
	  (const struct cmd_flag[]){
		{ "--gate-timeout", CMD_V_NUMBER, "SECONDS", false,
		  "gate_timeout_s", "how long the health gate may wait" },
		{ "--watch", CMD_V_NONE, NULL, false, NULL,
		  "watch the task until it ends" },
		END_FLAGS,
	  }, true, true, "decommission",
	  "Each NODE in turn: gate (every node UN), nodetool decommission "
	  "(UL, then gone), wait until no live peer lists it, forget it.  "
	  "Refused when the nodes that stay lack the disk for the data or a "
	  "keyspace's RF.  docs/lifecycle.md, \"Scaling and remediation\"." },
	{ "remediate", CMD_TASK_SHORTCUT, "replace every node by a new host, "
	  "one by one", NULL, NULL, NOARGS,
	  (const struct cmd_flag[]){
		{ "--node", CMD_V_TEXT, "ADDR[,ADDR...]", false, "nodes[]",
		  "only these nodes, in this order" },
		{ "--gate-timeout", CMD_V_NUMBER, "SECONDS", false,
		  "gate_timeout_s", "how long the health gate may wait" },
		{ "--watch", CMD_V_NONE, NULL, false, NULL,
		  "watch the task until it ends" },
		END_FLAGS,
	  }, true, true, "remediate",
	  "Per node: gate, drain and stop, a new host from the cluster's "
	  "provider takes its place (replace_address_first_boot), wait until "
	  "it is UN.  The old host's agent is refused if it checks in again." },
	{ "backups", CMD_NONE, "list and delete backups", backups_subs, "list",
	  NOARGS, NOFLAGS, false, false, NULL, NULL },
	{ "schedules", CMD_NONE, "list, create and delete schedules",
	  schedules_subs, "list", NOARGS, NOFLAGS, false, false, NULL, NULL },
	{ "status", CMD_STATUS, "one screen per cluster: nodes, tasks, the "
	  "last backup, verify and repair, and what needs a person", NULL, NULL,
	  arg_cluster_opt, NOFLAGS, false, false, NULL,
	  "CLUSTER defaults to the current one; with none selected, every "
	  "cluster.  Needs attention: nodes down, damaged or failed backups, "
	  "failed tasks since the last success of their type, and schedules "
	  "whose last task failed.  Reads the clusters, nodes, tasks, backups "
	  "and schedules routes; changes nothing." },
	{ "tenants", CMD_TENANTS_LIST, "list the cluster's tenants, their "
	  "health and shards", NULL, NULL, NOARGS, NOFLAGS, false, true, NULL,
	  NULL },
	{ "tenant", CMD_NONE, "create, show, change and delete a tenant", tenant_subs,
	  NULL, NOARGS, NOFLAGS, false, false, NULL, NULL },
	{ "events", CMD_EVENTS, "the audit log: requests and task transitions",
	  NULL, NULL, NOARGS,
	  (const struct cmd_flag[]){
		{ "--since", CMD_V_TIME, "TIME", false, NULL,
		  "RFC 3339 time, or a duration meaning that long ago (1h)" },
		{ "--cluster", CMD_V_CLUSTER, "CLUSTER", false, NULL,
		  "only events of this cluster" },
		END_FLAGS,
	  }, false, false, NULL, NULL },
	{ "quit", CMD_QUIT, "leave ringsh (also: exit, Ctrl-D)", NULL, NULL,
	  NOARGS, NOFLAGS, false, false, NULL, NULL },
	{ "exit", CMD_QUIT, "leave ringsh", NULL, NULL, NOARGS, NOFLAGS, false,
	  false, NULL, NULL },
	END_CMDS,
};

/* ---- lookup ---- */

const struct cmd *cmd_lookup(const struct cmd *table, const char *word,
    const char *what, char *err, size_t errlen)
{
	const struct cmd *match = NULL;
	size_t nmatch = 0, len = strlen(word);

	for (const struct cmd *c = table; c->name; c++) {
		if (strcmp(c->name, word) == 0)
			return c;
		if (len > 0 && strncmp(c->name, word, len) == 0) {
			/* quit and exit share an id: one answer, not two. */
			if (match == NULL || match->id != c->id ||
			    c->id == CMD_NONE)
				nmatch++;
			if (match == NULL)
				match = c;
		}
	}
	if (nmatch == 1)
		return match;
	if (nmatch == 0) {
		snprintf(err, errlen, "unknown %s '%s'", what, word);
		return NULL;
	}
	size_t off = (size_t)snprintf(err, errlen, "ambiguous %s '%s': ",
	    what, word);
	bool first = true;
	for (const struct cmd *c = table; c->name && off < errlen; c++) {
		if (strncmp(c->name, word, len) != 0)
			continue;
		off += (size_t)snprintf(err + off, errlen - off, "%s%s",
		    first ? "" : ", ", c->name);
		first = false;
	}
	return NULL;
}

static const struct cmd_flag *implicit_flag(const struct cmd *c, size_t i)
{
	if (i == 0)
		return &flag_json;
	if (i == 1 && c->needs_cluster)
		return &flag_cluster;
	return NULL;
}

size_t cmd_nflags(const struct cmd *c)
{
	size_t n = 0;
	if (c->flags)
		while (c->flags[n].name)
			n++;
	return n;
}

/* The i-th flag of c: its own, then --json, then --cluster; NULL past the end. */
const struct cmd_flag *cmd_flag_at(const struct cmd *c, size_t i)
{
	size_t own = cmd_nflags(c);
	if (i < own)
		return &c->flags[i];
	return implicit_flag(c, i - own);
}

const struct cmd_flag *cmd_flag_lookup(const struct cmd *c, const char *name,
    size_t len, char *err, size_t errlen)
{
	const struct cmd_flag *match = NULL, *f;
	size_t nmatch = 0;

	for (size_t i = 0; (f = cmd_flag_at(c, i)) != NULL; i++) {
		if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
			return f;
		if (strncmp(f->name, name, len) == 0) {
			nmatch++;
			match = f;
		}
	}
	if (nmatch == 1 && len > 2)
		return match;
	if (nmatch == 0 || len <= 2) {
		snprintf(err, errlen, "unknown option '%.*s'", (int)len, name);
		return NULL;
	}
	size_t off = (size_t)snprintf(err, errlen, "ambiguous option '%.*s': ",
	    (int)len, name);
	bool first = true;
	for (size_t i = 0; (f = cmd_flag_at(c, i)) != NULL && off < errlen; i++) {
		if (strncmp(f->name, name, len) != 0)
			continue;
		off += (size_t)snprintf(err + off, errlen - off, "%s%s",
		    first ? "" : ", ", f->name);
		first = false;
	}
	return NULL;
}


/* ---- usage and help ---- */

char *cmd_usage(const struct cmd *c, const char *path)
{
	struct strbuf b = { 0 };
	const struct cmd_flag *f;

	strbuf_add(&b, path);
	if (c->subs) {
		strbuf_add(&b, " {");
		for (const struct cmd *s = c->subs; s->name; s++)
			strbuf_addf(&b, "%s%s", s == c->subs ? "" : "|", s->name);
		strbuf_add(&b, "}");
		return strbuf_detach(&b);
	}
	for (size_t i = 0; c->args && c->args[i].name; i++) {
		const struct cmd_arg *a = &c->args[i];
		strbuf_addf(&b, " %s%s%s%s", a->optional ? "[" : "",
		    a->keyword ? a->keyword : "", a->keyword ? " " : "", a->name);
		if (a->optional)
			strbuf_add(&b, "]");
	}
	for (size_t i = 0; (f = cmd_flag_at(c, i)) != NULL; i++) {
		if (f == &flag_json)
			continue;
		strbuf_addf(&b, " %s%s%s%s%s", f->required ? "" : "[", f->name,
		    f->metavar ? " " : "", f->metavar ? f->metavar : "",
		    f->required ? "" : "]");
	}
	if (c->kv)
		strbuf_add(&b, " [key=value ...]");
	return strbuf_detach(&b);
}

static void help_one(FILE *out, const struct cmd *c, const char *path)
{
	char *u = cmd_usage(c, path);
	const struct cmd_flag *f;

	fprintf(out, "usage: %s\n  %s\n", u, c->summary);
	free(u);
	if (c->subs) {
		fprintf(out, "\nsubcommands%s%s%s:\n",
		    c->default_sub ? " (default: " : "",
		    c->default_sub ? c->default_sub : "",
		    c->default_sub ? ")" : "");
		for (const struct cmd *s = c->subs; s->name; s++) {
			char *p = xasprintf("%s %s", path, s->name);
			char *su = cmd_usage(s, p);
			fprintf(out, "  %-48s %s\n", su, s->summary);
			free(su);
			free(p);
		}
	}
	if (c->help)
		fprintf(out, "\n%s\n", c->help);
	if (c->args && c->args[0].name && c->args[0].value == CMD_V_TASK_TYPE)
		fprintf(out, "\nThe task types and their parameters are the "
		    "orchestrator's: 'types' lists them, 'types TYPE' shows "
		    "one.\n");
	if (!c->subs) {
		fprintf(out, "\noptions:\n");
		for (size_t i = 0; (f = cmd_flag_at(c, i)) != NULL; i++) {
			char *name = xasprintf("%s%s%s", f->name,
			    f->metavar ? " " : "", f->metavar ? f->metavar : "");
			fprintf(out, "  %-22s %s%s%s%s\n", name, f->help,
			    f->param ? " (param " : "", f->param ? f->param : "",
			    f->param ? ")" : "");
			free(name);
		}
		if (c->task_type)
			fprintf(out, "\nPosts a '%s' task; key=value words add "
			    "params.\n", c->task_type);
	}
}

int cmd_help(FILE *out, const char *topic, char *err, size_t errlen)
{
	if (topic == NULL || *topic == '\0') {
		fprintf(out, "commands (any unambiguous prefix works; "
		    "'help COMMAND' for more):\n");
		for (const struct cmd *c = cmd_table; c->name; c++)
			fprintf(out, "  %-12s %s\n", c->name, c->summary);
		fprintf(out, "\nEvery command takes --json.  Cluster commands "
		    "act on the current cluster (see 'use') unless given "
		    "--cluster.\n");
		return 0;
	}
	char **w;
	size_t n, next;
	char path[64];
	const struct cmd *reached;
	if (cmd_split(topic, &w, &n, NULL, err, errlen) < 0)
		return -1;
	const struct cmd *c = n ? cmd_walk(w, n, &next, path, sizeof(path),
	    &reached, err, errlen) : NULL;
	/* "help tasks" shows the group, not its default subcommand. */
	if (c && n == 1) {
		c = cmd_lookup(cmd_table, w[0], "command", err, errlen);
		str_copy(path, c->name, sizeof(path));
	} else if (c && next < n) {
		snprintf(err, errlen, "unknown subcommand '%s' of '%s'", w[next],
		    path);
		c = NULL;
	}
	cmd_words_free(w, n);
	if (c == NULL)
		return -1;
	help_one(out, c, path);
	return 0;
}
