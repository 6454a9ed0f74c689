/*
 * cmd.h - ringsh's command table: one table drives parsing, completion,
 * usage lines and help, so the four can never disagree.
 *
 * A line is split into words (quotes and backslashes as in sh), then walked
 * down the table the way relayctl's parser does: each word is matched by
 * unambiguous prefix against the keywords allowed at that point ("tas li" is
 * "tasks list"); an ambiguous word is answered with its candidates.  After
 * the keywords come positional arguments, --flags (with "--flag VALUE" or
 * "--flag=VALUE") and, for commands that take them, key=value task params.
 * Parsing never touches the network: a line that does not parse sends
 * nothing.
 */
#ifndef RS_CMD_H
#define RS_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* What a value names; completion asks for live names of the last kinds. */
enum cmd_value {
	CMD_V_NONE,		/* a flag that takes no value */
	CMD_V_TEXT,
	CMD_V_NUMBER,
	CMD_V_DURATION,		/* "90s", "24h" */
	CMD_V_TIME,		/* RFC 3339 or a duration meaning "ago" */
	CMD_V_URL,
	CMD_V_FILE,
	CMD_V_COMMAND,		/* a command name (help) */
	CMD_V_TASK_TYPE,
	CMD_V_STATE,		/* a task state */
	CMD_V_CONN,		/* a connection name */
	CMD_V_TARGET,		/* CONN, CONN/CLUSTER or CLUSTER */
	CMD_V_CLUSTER,
	CMD_V_TASK,
	CMD_V_BACKUP,
	CMD_V_SCHEDULE,
	CMD_V_TASK_PARAM,	/* a parameter of the task type in context */
	CMD_V_DECIMAL,		/* a number that may have a fraction: 0.5 */
};

enum cmd_id {
	CMD_NONE,
	CMD_HELP, CMD_QUIT, CMD_CONNECT, CMD_CONNECTIONS, CMD_USE,
	CMD_HEALTH, CMD_METRICS,
	CMD_CLUSTERS_LIST, CMD_CLUSTERS_SHOW, CMD_CLUSTERS_CREATE,
	CMD_CLUSTERS_UPDATE, CMD_CLUSTERS_DELETE,
	CMD_NODES, CMD_NODE_REVOKE, CMD_NODE_READMIT, CMD_SEEDS,
	CMD_TASKS_LIST, CMD_TASKS_SHOW, CMD_TASKS_WATCH, CMD_TASKS_CANCEL,
	CMD_TASKS_PAUSE, CMD_TASKS_RESUME,
	CMD_RUN, CMD_TASK_SHORTCUT,
	CMD_BACKUPS_LIST, CMD_BACKUPS_DELETE,
	CMD_SCHEDULES_LIST, CMD_SCHEDULES_CREATE, CMD_SCHEDULES_DELETE,
	CMD_EVENTS, CMD_STATUS, CMD_TYPES,
	CMD_TENANTS_LIST, CMD_TENANT_CREATE, CMD_TENANT_SHOW, CMD_TENANT_DELETE,
	CMD_TENANT_SET,
};

struct cmd_flag {
	const char *name;		/* "--storage" */
	enum cmd_value value;		/* CMD_V_NONE: a switch */
	const char *metavar;		/* "URL" */
	bool required;
	const char *param;		/* task shortcuts: the params key it sets */
	const char *help;
};

struct cmd_arg {
	const char *name;		/* metavar: "ID" */
	enum cmd_value value;
	bool optional;
	const char *keyword;		/* introduced by a word: "as" NAME */
};

struct cmd {
	const char *name;
	enum cmd_id id;			/* CMD_NONE for a group with subs */
	const char *summary;		/* one line for "help" */
	const struct cmd *subs;		/* NULL-terminated (name == NULL) */
	const char *default_sub;	/* taken when no subcommand is given */
	const struct cmd_arg *args;	/* NULL-terminated */
	const struct cmd_flag *flags;	/* NULL-terminated */
	bool kv;			/* takes key=value params */
	bool needs_cluster;		/* --cluster or the current cluster */
	const char *task_type;		/* CMD_TASK_SHORTCUT: the type posted */
	const char *help;		/* a paragraph for "help CMD" */
};

#define CMD_MAX_ARGS	8
#define CMD_MAX_FLAGS	16

struct cmd_flag_value {
	const struct cmd_flag *flag;
	char *value;			/* NULL for a switch */
};

/* A parsed line.  Strings are owned by the call; cmd_call_release() frees. */
struct cmd_call {
	const struct cmd *cmd;		/* the leaf reached, even on error */
	char path[64];			/* full keywords: "tasks list" */
	char *args[CMD_MAX_ARGS];	/* positionals in table order; NULL = absent */
	struct cmd_flag_value flags[CMD_MAX_FLAGS];
	size_t nflags;
	char **kv;			/* "key=value" words, in order */
	size_t nkv;
	bool json;			/* --json anywhere on the line */
	bool empty;			/* a blank line or a comment */
};

/* The top-level table. */
extern const struct cmd cmd_table[];

/*
 * Split line into words: blanks separate, '…' and "…" quote, backslash
 * escapes the next character (inside "…" too).  On success *argv holds
 * *argc fresh strings plus a NULL; free with cmd_words_free().  A '#' at
 * the start of a word begins a comment.  Unterminated quotes are an error.
 * When partial is not NULL, an unterminated last word is accepted and
 * *partial says whether the line ended inside a word (for completion).
 */
int cmd_split(const char *line, char ***argv, size_t *argc, bool *partial,
    char *err, size_t errlen);
void cmd_words_free(char **argv, size_t argc);

/*
 * Split line at unquoted ';' into statements (fresh strings, NULL-ended).
 * Returns NULL with err set on an unterminated quote.
 */
char **cmd_statements(const char *line, char *err, size_t errlen);

/*
 * Parse line into call.  Returns 0, or -1 with a one-line reason in err;
 * call->cmd is set when the line got as far as a command, so the caller can
 * show its usage.  Always release call, whatever the result.
 */
int cmd_parse(const char *line, struct cmd_call *call, char *err,
    size_t errlen);
void cmd_call_release(struct cmd_call *call);

/* A flag's value ("" for a switch that was given) or NULL when absent. */
const char *cmd_flag(const struct cmd_call *call, const char *name);
/* The positional argument named name (metavar), or NULL. */
const char *cmd_arg(const struct cmd_call *call, const char *name);

/*
 * Find the keyword word names among table (NULL-terminated) by exact name
 * or unique prefix.  Returns the match, or NULL with err saying "unknown"
 * or "ambiguous ... : a, b" (what names the kind of word: "command").
 */
const struct cmd *cmd_lookup(const struct cmd *table, const char *word,
    const char *what, char *err, size_t errlen);

/*
 * key=value task params into the JSON object params: integers, reals,
 * true/false, null and JSON arrays/objects are typed, anything else is a
 * string.  Returns 0, or -1 with err naming the bad word.
 */
int cmd_kv_parse(char *const *kv, size_t nkv, json_t *params, char *err,
    size_t errlen);
/* One value as typed by cmd_kv_parse (new reference). */
json_t *cmd_kv_value(const char *s);

/* "tasks list [--state STATE] [--cluster CLUSTER]" for c reached by path. */
char *cmd_usage(const struct cmd *c, const char *path);
/* Print "help" (topic NULL) or help on the words of topic. */
int cmd_help(FILE *out, const char *topic, char *err, size_t errlen);

/*
 * Completion.  names(kind, context, arg) returns live names for the value
 * kinds CMD_V_TASK_TYPE and from CMD_V_CONN on (a NULL-terminated array
 * the callee owns until the next call) or NULL; context is the task type
 * for CMD_V_TASK_PARAM, else NULL.  Task types and their parameters come
 * from the orchestrator (GET /api/v1/task-types): ringsh keeps no list.  cmd_complete() looks at line[0..cursor) and returns a
 * fresh NULL-terminated, sorted, de-duplicated array of full candidates
 * for the word being typed, which starts at line + *word_start.
 */
typedef const char *const *(*cmd_names_fn)(enum cmd_value kind,
    const char *context, void *arg);
char **cmd_complete(const char *line, size_t cursor, cmd_names_fn names,
    void *arg, size_t *word_start);
void cmd_strv_free(char **v);

#endif
