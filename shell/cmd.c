/*
 * cmd.c - the command table and the parser, completer and help built on it.
 * See cmd.h for the design.
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

static const char *const task_states[] = {
	"queued", "running", "paused", "succeeded", "failed", "cancelled", NULL,
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

static const struct cmd clusters_subs[] = {
	{ "list", CMD_CLUSTERS_LIST, "list the clusters", NULL, NULL, NOARGS,
	  NOFLAGS, false, false, NULL, NULL },
	{ "show", CMD_CLUSTERS_SHOW, "show one cluster (default: the current one)",
	  NULL, NULL, arg_cluster_opt, NOFLAGS, false, false, NULL,
	  "Shows the cluster's storage, SSH settings, nodes up and down, the "
	  "task queue depth and the running task." },
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
	  }, false, false, NULL,
	  "CLUSTER must match [A-Za-z0-9_-]{1,64}.  The key file is read by the "
	  "orchestrator, so give its path on the orchestrator's host." },
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
	  }, false, false, NULL,
	  "PATCH /api/v1/clusters/{name}: what is not given stays as it is; "
	  "give at least one setting.  The orchestrator checks the values as "
	  "at create and refuses (409, naming the task) while a task of the "
	  "cluster runs.  CLUSTER defaults to the current one.  Example, for a "
	  "cluster an agent created: clusters update prod --storage "
	  "s3://bucket/prod --ssh-user cassandra --ssh-key /etc/ringmaster/id" },
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
		  "succeeded, failed, cancelled)" },
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
	  "conn2, conn3..." },
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
	{ "seeds", CMD_SEEDS, "list a cluster's seed addresses", NULL, NULL,
	  arg_cluster_opt, NOFLAGS, false, false, NULL, NULL },
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
		  "split each node's ranges into N segments" },
		{ "--watch", CMD_V_NONE, NULL, false, NULL,
		  "watch the task until it ends" },
		END_FLAGS,
	  }, true, true, "repair", NULL },
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

/* ---- words ---- */

struct word {
	char *s;
	size_t start;			/* offset of the word in the line */
};

/*
 * The one splitter behind cmd_split() and completion.  stop_at_semicolon
 * ends at an unquoted ';' and reports its offset in *end.
 */
static int split_words(const char *line, struct word **out, size_t *n,
    bool *partial, bool stop_at_semicolon, size_t *end, char *err,
    size_t errlen)
{
	struct word *w = NULL;
	size_t nw = 0, cap = 0;
	const char *p = line;
	char *buf = xmalloc(strlen(line) + 1);

	if (partial)
		*partial = false;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0' || (*p == ';' && stop_at_semicolon))
			break;
		if (*p == '#')
			break;
		size_t start = (size_t)(p - line), bl = 0;
		char quote = 0;
		while (*p) {
			char ch = *p;
			if (quote) {
				if (ch == quote) {
					quote = 0;
					p++;
				} else if (ch == '\\' && quote == '"' && p[1]) {
					buf[bl++] = p[1];
					p += 2;
				} else {
					buf[bl++] = ch;
					p++;
				}
				continue;
			}
			if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
			    (ch == ';' && stop_at_semicolon))
				break;
			if (ch == '\'' || ch == '"') {
				quote = ch;
				p++;
			} else if (ch == '\\' && p[1]) {
				buf[bl++] = p[1];
				p += 2;
			} else {
				buf[bl++] = ch;
				p++;
			}
		}
		if (quote && partial == NULL) {
			snprintf(err, errlen, "unterminated %s quote",
			    quote == '"' ? "double" : "single");
			for (size_t i = 0; i < nw; i++)
				free(w[i].s);
			free(w);
			free(buf);
			return -1;
		}
		if (nw == cap) {
			cap = cap ? cap * 2 : 8;
			w = xrealloc(w, cap * sizeof(*w));
		}
		w[nw].s = xstrndup(buf, bl);
		w[nw].start = start;
		nw++;
		if (partial && *p == '\0')
			*partial = true;
	}
	if (end)
		*end = (size_t)(p - line);
	free(buf);
	*out = w;
	*n = nw;
	return 0;
}

static void words_free(struct word *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(w[i].s);
	free(w);
}

int cmd_split(const char *line, char ***argv, size_t *argc, bool *partial,
    char *err, size_t errlen)
{
	struct word *w;
	size_t n;

	if (split_words(line, &w, &n, partial, false, NULL, err, errlen) < 0)
		return -1;
	char **v = xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = w[i].s;
	free(w);
	*argv = v;
	*argc = n;
	return 0;
}

void cmd_words_free(char **argv, size_t argc)
{
	if (argv == NULL)
		return;
	for (size_t i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

void cmd_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

char **cmd_statements(const char *line, char *err, size_t errlen)
{
	char **out = NULL;
	size_t n = 0;
	const char *p = line;

	for (;;) {
		struct word *w;
		size_t nw, end;
		if (split_words(p, &w, &nw, NULL, true, &end, err, errlen) < 0) {
			if (out) {
				out[n] = NULL;
				cmd_strv_free(out);
			}
			return NULL;
		}
		words_free(w, nw);
		out = xrealloc(out, (n + 2) * sizeof(*out));
		out[n++] = xstrndup(p, end);
		if (p[end] != ';')
			break;
		p += end + 1;
	}
	out[n] = NULL;
	return out;
}

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

static size_t nflags_of(const struct cmd *c)
{
	size_t n = 0;
	if (c->flags)
		while (c->flags[n].name)
			n++;
	return n;
}

/* The i-th flag of c: its own, then --json, then --cluster; NULL past the end. */
static const struct cmd_flag *flag_at(const struct cmd *c, size_t i)
{
	size_t own = nflags_of(c);
	if (i < own)
		return &c->flags[i];
	return implicit_flag(c, i - own);
}

static const struct cmd_flag *flag_lookup(const struct cmd *c, const char *name,
    size_t len, char *err, size_t errlen)
{
	const struct cmd_flag *match = NULL, *f;
	size_t nmatch = 0;

	for (size_t i = 0; (f = flag_at(c, i)) != NULL; i++) {
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
	for (size_t i = 0; (f = flag_at(c, i)) != NULL && off < errlen; i++) {
		if (strncmp(f->name, name, len) != 0)
			continue;
		off += (size_t)snprintf(err + off, errlen - off, "%s%s",
		    first ? "" : ", ", f->name);
		first = false;
	}
	return NULL;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static bool is_integer(const char *s)
{
	char *end;
	if (*s == '\0')
		return false;
	errno = 0;
	(void)strtoll(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* Values are checked here so a bad one never reaches the orchestrator. */
static int check_value(enum cmd_value kind, const char *what, const char *v,
    char *err, size_t errlen)
{
	int64_t x;

	switch (kind) {
	case CMD_V_NUMBER:
		if (!is_integer(v)) {
			snprintf(err, errlen, "%s wants a number, not '%s'",
			    what, v);
			return -1;
		}
		break;
	case CMD_V_DURATION:
		if (duration_parse_ms(v, &x) < 0 || x <= 0) {
			snprintf(err, errlen, "%s wants a duration such as 30m, "
			    "6h or 1d, not '%s'", what, v);
			return -1;
		}
		break;
	case CMD_V_TIME:
		if (time_parse_rfc3339(v, &x) < 0 &&
		    duration_parse_ms(v, &x) < 0) {
			snprintf(err, errlen, "%s wants an RFC 3339 time "
			    "(2026-01-02T03:04:05Z) or a duration ago (1h), "
			    "not '%s'", what, v);
			return -1;
		}
		break;
	case CMD_V_STATE:
		if (!in_list(task_states, v)) {
			snprintf(err, errlen, "%s wants one of queued, running, "
			    "paused, succeeded, failed, cancelled, not '%s'",
			    what, v);
			return -1;
		}
		break;
	case CMD_V_CLUSTER:
		if (!name_valid(v)) {
			snprintf(err, errlen, "'%s' is not a cluster name: "
			    "use letters, digits, '-' and '_' (at most 64)", v);
			return -1;
		}
		break;
	case CMD_V_URL:
		if (!str_starts_with(v, "http://") &&
		    !str_starts_with(v, "https://") &&
		    !str_starts_with(v, "s3://") &&
		    !str_starts_with(v, "file://")) {
			snprintf(err, errlen, "%s wants a URL, not '%s'", what, v);
			return -1;
		}
		break;
	case CMD_V_TASK:
	case CMD_V_BACKUP:
	case CMD_V_SCHEDULE:
		for (const char *p = v; *p; p++) {
			if (!isalnum((unsigned char)*p) && *p != '-' &&
			    *p != '_' && *p != '.' && *p != ':') {
				snprintf(err, errlen, "'%s' is not an id", v);
				return -1;
			}
		}
		if (*v == '\0') {
			snprintf(err, errlen, "%s must not be empty", what);
			return -1;
		}
		break;
	default:
		if (*v == '\0') {
			snprintf(err, errlen, "%s must not be empty", what);
			return -1;
		}
		break;
	}
	return 0;
}

/* ---- parse ---- */

static size_t nargs_of(const struct cmd *c)
{
	size_t n = 0;
	if (c->args)
		while (c->args[n].name)
			n++;
	return n;
}

static bool is_flag_word(const char *w)
{
	return w[0] == '-' && w[1] == '-' && w[2] != '\0';
}

/*
 * Walk the keywords of words[0..n): returns the leaf or group reached and
 * the index of the first word after the keywords.  On error returns NULL
 * with err set and *reached the deepest command matched (or NULL).
 */
static const struct cmd *walk(char *const *words, size_t n, size_t *next,
    char *path, size_t pathlen, const struct cmd **reached, char *err,
    size_t errlen)
{
	const struct cmd *c;
	size_t i = 1;
	char what[80];

	*reached = NULL;
	c = cmd_lookup(cmd_table, words[0], "command", err, errlen);
	if (c == NULL)
		return NULL;
	str_copy(path, c->name, pathlen);
	while (c->subs) {
		const struct cmd *sub = NULL;
		*reached = c;
		if (i < n && !is_flag_word(words[i])) {
			snprintf(what, sizeof(what), "subcommand of '%s'", path);
			sub = cmd_lookup(c->subs, words[i], what, err, errlen);
			if (sub == NULL)
				return NULL;
			i++;
		} else if (c->default_sub) {
			sub = cmd_lookup(c->subs, c->default_sub, "", err, errlen);
		} else {
			snprintf(err, errlen, "'%s' needs a subcommand", path);
			return NULL;
		}
		size_t pl = strlen(path);
		snprintf(path + pl, pathlen - pl, " %s", sub->name);
		c = sub;
	}
	*reached = c;
	*next = i;
	return c;
}

int cmd_parse(const char *line, struct cmd_call *call, char *err,
    size_t errlen)
{
	char **w = NULL;
	size_t n = 0, i, argi = 0;
	const struct cmd *c, *reached;
	int rc = -1;

	memset(call, 0, sizeof(*call));
	if (cmd_split(line, &w, &n, NULL, err, errlen) < 0)
		return -1;
	if (n == 0) {
		call->empty = true;
		rc = 0;
		goto out;
	}
	/* "--json" may stand anywhere, even before the command. */
	for (i = 0; i < n; i++) {
		if (strcmp(w[i], "--json") == 0) {
			call->json = true;
			free(w[i]);
			memmove(&w[i], &w[i + 1], (n - i) * sizeof(*w));
			n--;
			i--;
		}
	}
	if (n == 0) {
		snprintf(err, errlen, "--json needs a command");
		goto out;
	}
	c = walk(w, n, &i, call->path, sizeof(call->path), &reached, err,
	    errlen);
	call->cmd = reached;
	if (c == NULL)
		goto out;
	size_t nargs = nargs_of(c);
	for (; i < n; i++) {
		const char *word = w[i];
		if (strcmp(word, "--") == 0)
			continue;
		if (is_flag_word(word)) {
			const char *eq = strchr(word, '=');
			size_t len = eq ? (size_t)(eq - word) : strlen(word);
			const struct cmd_flag *f = flag_lookup(c, word, len, err,
			    errlen);
			if (f == NULL)
				goto out;
			for (size_t k = 0; k < call->nflags; k++) {
				if (call->flags[k].flag == f) {
					snprintf(err, errlen, "%s given twice",
					    f->name);
					goto out;
				}
			}
			if (call->nflags == CMD_MAX_FLAGS) {
				snprintf(err, errlen, "too many options");
				goto out;
			}
			char *value = NULL;
			if (f->value == CMD_V_NONE) {
				if (eq) {
					snprintf(err, errlen, "%s takes no value",
					    f->name);
					goto out;
				}
			} else if (eq) {
				value = xstrdup(eq + 1);
			} else if (i + 1 < n) {
				value = xstrdup(w[++i]);
			} else {
				snprintf(err, errlen, "%s needs a value (%s)",
				    f->name, f->metavar);
				goto out;
			}
			call->flags[call->nflags].flag = f;
			call->flags[call->nflags].value = value;
			call->nflags++;
			if (value && check_value(f->value, f->name, value, err,
			    errlen) < 0)
				goto out;
			continue;
		}
		if (c->kv && strchr(word, '=') != NULL && argi >= nargs) {
			call->kv = xrealloc(call->kv,
			    (call->nkv + 1) * sizeof(*call->kv));
			call->kv[call->nkv++] = xstrdup(word);
			continue;
		}
		if (c->kv && strchr(word, '=') != NULL && word[0] != '=') {
			/* key=value before the positionals are all in. */
			snprintf(err, errlen, "missing %s before '%s'",
			    c->args[argi].name, word);
			goto out;
		}
		if (argi >= nargs) {
			snprintf(err, errlen, "unexpected '%s'", word);
			goto out;
		}
		const struct cmd_arg *a = &c->args[argi];
		if (a->keyword) {
			if (strcmp(word, a->keyword) != 0) {
				snprintf(err, errlen, "unexpected '%s' (expected "
				    "'%s %s')", word, a->keyword, a->name);
				goto out;
			}
			if (i + 1 >= n) {
				snprintf(err, errlen, "'%s' needs a %s",
				    a->keyword, a->name);
				goto out;
			}
			word = w[++i];
		}
		if (check_value(a->value, a->name, word, err, errlen) < 0)
			goto out;
		call->args[argi++] = xstrdup(word);
	}
	for (size_t k = argi; k < nargs; k++) {
		if (!c->args[k].optional) {
			snprintf(err, errlen, "missing %s", c->args[k].name);
			goto out;
		}
	}
	for (size_t k = 0; k < nflags_of(c); k++) {
		if (c->flags[k].required && cmd_flag(call, c->flags[k].name) ==
		    NULL) {
			snprintf(err, errlen, "missing %s %s", c->flags[k].name,
			    c->flags[k].metavar);
			goto out;
		}
	}
	rc = 0;
out:
	cmd_words_free(w, n);
	return rc;
}

void cmd_call_release(struct cmd_call *call)
{
	if (call == NULL)
		return;
	for (size_t i = 0; i < CMD_MAX_ARGS; i++)
		free(call->args[i]);
	for (size_t i = 0; i < call->nflags; i++)
		free(call->flags[i].value);
	for (size_t i = 0; i < call->nkv; i++)
		free(call->kv[i]);
	free(call->kv);
	memset(call, 0, sizeof(*call));
}

const char *cmd_flag(const struct cmd_call *call, const char *name)
{
	for (size_t i = 0; i < call->nflags; i++)
		if (strcmp(call->flags[i].flag->name, name) == 0)
			return call->flags[i].value ? call->flags[i].value : "";
	return NULL;
}

const char *cmd_arg(const struct cmd_call *call, const char *name)
{
	if (call->cmd == NULL || call->cmd->args == NULL)
		return NULL;
	for (size_t i = 0; i < CMD_MAX_ARGS && call->cmd->args[i].name; i++)
		if (strcmp(call->cmd->args[i].name, name) == 0)
			return call->args[i];
	return NULL;
}

/* ---- key=value ---- */

json_t *cmd_kv_value(const char *s)
{
	char *end;

	if (strcmp(s, "true") == 0)
		return json_true();
	if (strcmp(s, "false") == 0)
		return json_false();
	if (strcmp(s, "null") == 0)
		return json_null();
	if (is_integer(s))
		return json_integer(strtoll(s, NULL, 10));
	/* Digits too many for an integer stay exact, as a string. */
	if (*s && strspn(s + (*s == '-'), "0123456789") == strlen(s + (*s == '-')))
		return json_string(s);
	if (*s && (isdigit((unsigned char)*s) || *s == '-' || *s == '.')) {
		errno = 0;
		double d = strtod(s, &end);
		if (errno == 0 && *end == '\0' && end != s)
			return json_real(d);
	}
	if (*s == '[' || *s == '{') {
		json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
		if (j)
			return j;
	}
	return json_string(s);
}

int cmd_kv_parse(char *const *kv, size_t nkv, json_t *params, char *err,
    size_t errlen)
{
	for (size_t i = 0; i < nkv; i++) {
		const char *eq = strchr(kv[i], '=');
		if (eq == NULL || eq == kv[i]) {
			snprintf(err, errlen, "'%s' is not key=value", kv[i]);
			return -1;
		}
		char *key = xstrndup(kv[i], (size_t)(eq - kv[i]));
		for (const char *p = key; *p; p++) {
			if (!isalnum((unsigned char)*p) && *p != '_' &&
			    *p != '-' && *p != '.') {
				snprintf(err, errlen, "'%s' is not a param name: "
				    "use letters, digits, '_', '-' and '.'", key);
				free(key);
				return -1;
			}
		}
		if (json_object_get(params, key) != NULL) {
			snprintf(err, errlen, "param '%s' given twice", key);
			free(key);
			return -1;
		}
		json_t *v = cmd_kv_value(eq + 1);
		if (v == NULL) {
			snprintf(err, errlen, "'%s' is not valid UTF-8", kv[i]);
			free(key);
			return -1;
		}
		json_object_set_new(params, key, v);
		free(key);
	}
	return 0;
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
	for (size_t i = 0; (f = flag_at(c, i)) != NULL; i++) {
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
		for (size_t i = 0; (f = flag_at(c, i)) != NULL; i++) {
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
	const struct cmd *c = n ? walk(w, n, &next, path, sizeof(path),
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

/* ---- completion ---- */

struct cands {
	char **v;
	size_t n;
	const char *prefix;
};

static void cand_add(struct cands *c, const char *s)
{
	if (s == NULL || !str_starts_with(s, c->prefix))
		return;
	c->v = xrealloc(c->v, (c->n + 2) * sizeof(*c->v));
	c->v[c->n++] = xstrdup(s);
	c->v[c->n] = NULL;
}

static void cand_list(struct cands *c, const char *const *list)
{
	for (; list && *list; list++)
		cand_add(c, *list);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void cand_values(struct cands *cc, enum cmd_value kind,
    cmd_names_fn names, void *arg, const struct cmd *help_group)
{
	switch (kind) {
	case CMD_V_COMMAND:
		if (help_group) {
			for (const struct cmd *s = help_group->subs; s && s->name; s++)
				cand_add(cc, s->name);
		} else {
			for (const struct cmd *c = cmd_table; c->name; c++)
				cand_add(cc, c->name);
		}
		break;
	case CMD_V_TASK_TYPE:
		if (names)
			cand_list(cc, names(kind, NULL, arg));
		break;
	case CMD_V_STATE:
		cand_list(cc, task_states);
		break;
	case CMD_V_TARGET:
		if (names) {
			cand_list(cc, names(CMD_V_CONN, NULL, arg));
			cand_list(cc, names(CMD_V_CLUSTER, NULL, arg));
		}
		break;
	case CMD_V_CONN:
	case CMD_V_CLUSTER:
		if (names)
			cand_list(cc, names(kind, NULL, arg));
		break;
	case CMD_V_TASK:
	case CMD_V_BACKUP:
	case CMD_V_SCHEDULE: {
		/* Ids differ in their middle: the part that tells them apart. */
		static const char *const last[] = { "last", NULL };
		char **v;
		if (kind == CMD_V_TASK)
			cand_list(cc, last);
		if (names == NULL)
			break;
		v = ids_complete(cc->prefix, names(kind, NULL, arg));
		for (char **p = v; *p; p++) {
			cc->v = xrealloc(cc->v, (cc->n + 2) * sizeof(*cc->v));
			cc->v[cc->n++] = *p;
			cc->v[cc->n] = NULL;
		}
		free(v);
		break;
	}
	default:
		break;
	}
}

char **cmd_complete(const char *line, size_t cursor, cmd_names_fn names,
    void *arg, size_t *word_start)
{
	struct word *w;
	size_t n, i;
	bool partial;
	char err[256];
	char *upto = xstrndup(line, cursor);
	struct cands cc = { NULL, 0, "" };
	const struct cmd *c = NULL;

	*word_start = cursor;
	if (split_words(upto, &w, &n, &partial, false, NULL, err,
	    sizeof(err)) < 0) {
		free(upto);
		return NULL;
	}
	/* The word being typed, and the complete words before it. */
	size_t nbefore = n;
	if (partial && n > 0) {
		nbefore = n - 1;
		cc.prefix = w[n - 1].s;
		*word_start = w[n - 1].start;
	}
	/* Drop --json wherever it is; it changes nothing else. */
	char **before = xcalloc(nbefore + 1, sizeof(*before));
	size_t nb = 0;
	for (i = 0; i < nbefore; i++)
		if (strcmp(w[i].s, "--json") != 0)
			before[nb++] = w[i].s;

	if (nb == 0) {
		for (const struct cmd *t = cmd_table; t->name; t++)
			cand_add(&cc, t->name);
		goto done;
	}
	/* Keywords: complete a subcommand when the word stands where one goes. */
	c = cmd_lookup(cmd_table, before[0], "command", err, sizeof(err));
	if (c == NULL)
		goto done;
	i = 1;
	while (c->subs) {
		if (i < nb && !is_flag_word(before[i])) {
			const struct cmd *sub = cmd_lookup(c->subs, before[i],
			    "", err, sizeof(err));
			if (sub == NULL)
				goto done;
			c = sub;
			i++;
			continue;
		}
		if (i == nb && !str_starts_with(cc.prefix, "-")) {
			for (const struct cmd *s = c->subs; s->name; s++)
				cand_add(&cc, s->name);
			goto done;
		}
		if (c->default_sub == NULL)
			goto done;
		c = cmd_lookup(c->subs, c->default_sub, "", err, sizeof(err));
	}
	/* After the keywords: the value of a flag, a flag, or a positional. */
	{
		size_t argi = 0, nargs = nargs_of(c);
		bool kw_pending = false;
		const struct cmd_flag *want = NULL;
		const struct cmd *help_group = NULL;
		const char *type_word = c->task_type;
		for (; i < nb; i++) {
			const char *word = before[i];
			want = NULL;
			if (is_flag_word(word)) {
				const struct cmd_flag *f = strchr(word, '=') ? NULL :
				    flag_lookup(c, word, strlen(word), err,
				    sizeof(err));
				if (f && f->value != CMD_V_NONE)
					want = f;
				if (want && i + 1 < nb) {
					i++;
					want = NULL;
				}
				continue;
			}
			if (c->kv && strchr(word, '=') && argi >= nargs)
				continue;
			if (argi < nargs && c->args[argi].keyword && !kw_pending) {
				kw_pending = true;
				continue;
			}
			kw_pending = false;
			if (c->id == CMD_HELP && argi == 0)
				help_group = cmd_lookup(cmd_table, word, "", err,
				    sizeof(err));
			if (argi < nargs && c->args[argi].value == CMD_V_TASK_TYPE)
				type_word = word;
			argi++;
		}
		if (want) {
			cand_values(&cc, want->value, names, arg, NULL);
		} else if (str_starts_with(cc.prefix, "-")) {
			const struct cmd_flag *f;
			for (size_t k = 0; (f = flag_at(c, k)) != NULL; k++)
				cand_add(&cc, f->name);
		} else if (c->kv && argi >= nargs && type_word != NULL &&
		    names != NULL) {
			/* key=value words: the type's parameters, "name=". */
			const char *const *pv = names(CMD_V_TASK_PARAM, type_word,
			    arg);
			for (; pv && *pv; pv++) {
				char *kv = xasprintf("%s=", *pv);
				cand_add(&cc, kv);
				free(kv);
			}
		} else if (argi < nargs) {
			const struct cmd_arg *a = &c->args[argi];
			if (a->keyword && !kw_pending)
				cand_add(&cc, a->keyword);
			else if (c->id != CMD_HELP || argi == 0 ||
			    (help_group && help_group->subs))
				cand_values(&cc, a->value, names, arg,
				    help_group);
		}
	}
done:
	free(before);
	words_free(w, n);
	free(upto);
	if (cc.n == 0) {
		free(cc.v);
		return xcalloc(1, sizeof(char *));
	}
	qsort(cc.v, cc.n, sizeof(*cc.v), cmp_str);
	size_t k = 0;
	for (size_t j = 0; j < cc.n; j++) {
		if (k > 0 && strcmp(cc.v[k - 1], cc.v[j]) == 0) {
			free(cc.v[j]);
			continue;
		}
		cc.v[k++] = cc.v[j];
	}
	cc.v[k] = NULL;
	return cc.v;
}
