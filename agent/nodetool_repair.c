/*
 * nodetool_repair.c - parsers for nodetool output: repair: the progress
 * lines of `nodetool repair`, its command number, sessions and outcome.
 *
 * The shared machinery (lines, columns, numbers, JSON helpers) and the
 * design behind it are in nodetool.c; the API is nodetool.h.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "nodetool.h"
#include "nodetool_int.h"

/* ------------------------------------------------------------------ */
/* repair                                                             */
/* ------------------------------------------------------------------ */

/* "[2019-04-21 07:59:14,701] " -> the timestamp; the message after it. */
static bool repair_stamp(const char *l, char **stamp, const char **msg)
{
	static const char shape[] = "[dddd-dd-dd dd:dd:dd,ddd]";
	size_t i, n = strlen(shape);

	for (i = 0; i < n; i++) {
		if (l[i] == '\0')
			return false;
		if (shape[i] == 'd' ? (l[i] < '0' || l[i] > '9') : l[i] != shape[i])
			return false;
	}
	*stamp = xstrndup(l + 1, n - 2);
	*msg = nodetool_skip_blanks(l + n);
	return true;
}

/* "#12 ..." -> 12, and the text after the number. */
static bool command_number(const char *p, int *num, const char **rest)
{
	char digits[12];
	size_t n = 0;

	if (*p++ != '#')
		return false;
	while (p[n] >= '0' && p[n] <= '9' && n < sizeof(digits) - 1) {
		digits[n] = p[n];
		n++;
	}
	digits[n] = '\0';
	if (n == 0 || !nodetool_parse_int(digits, num))
		return false;
	*rest = p + n;
	return true;
}

/*
 * "parallelism: parallel, primary range: false, ColumnFamilies: [a, b]"
 * split on commas outside brackets.
 */
static void repair_options(const char *p, size_t len,
    struct nodetool_repair_command *cmd)
{
	size_t i, start = 0;
	int depth = 0;

	for (i = 0; i <= len; i++) {
		char *item, *colon;

		if (i < len) {
			if (p[i] == '[' || p[i] == '(' || p[i] == '{')
				depth++;
			else if ((p[i] == ']' || p[i] == ')' || p[i] == '}') &&
			    depth > 0)
				depth--;
			if (p[i] != ',' || depth > 0)
				continue;
		}
		item = xstrndup(p + start, i - start);
		colon = strstr(item, ": ");
		if (colon != NULL) {
			*colon = '\0';
			nodetool_kv_add(&cmd->options, &cmd->n_options, item, colon + 2);
		} else if (!nodetool_is_blank(item)) {
			nodetool_kv_add(&cmd->options, &cmd->n_options, item, "");
		}
		free(item);
		start = i + 1;
	}
}

static struct nodetool_repair_command *repair_command(struct nodetool_repair *s,
    int num)
{
	struct nodetool_repair_command *cmd;
	size_t i;

	for (i = s->n_commands; i > 0; i--)
		if (s->commands[i - 1].number == num)
			return &s->commands[i - 1];
	/*
	 * A command whose "Starting" line was missed was opened unnumbered
	 * by its first other line; the first line that names it numbers it.
	 */
	if (num > 0 && s->n_commands > 0) {
		cmd = &s->commands[s->n_commands - 1];
		if (cmd->number == 0 && !cmd->finished) {
			cmd->number = num;
			return cmd;
		}
	}
	cmd = APPEND(s->commands, s->n_commands);
	cmd->number = num;
	cmd->progress_pct = NODETOOL_UNKNOWN;
	return cmd;
}

/* "Starting repair command #4 (uuid), repairing keyspace ks with repair options (...)" */
static bool repair_start(struct nodetool_repair *s, const char *m, int progress)
{
	static const char pre[] = "Starting repair command ";
	static const char ks[] = "repairing keyspace ";
	static const char opts[] = " with repair options (";
	struct nodetool_repair_command *cmd;
	const char *p, *k, *o, *end;
	int num;

	if (!str_starts_with(m, pre) ||
	    !command_number(m + strlen(pre), &num, &p))
		return false;
	cmd = repair_command(s, num);
	if (progress >= 0)
		cmd->progress_pct = progress;
	if (str_starts_with(p, " (") && (end = strchr(p, ')')) != NULL) {
		free(cmd->id);
		cmd->id = xstrndup(p + 2, (size_t)(end - p - 2));
	}
	k = strstr(p, ks);
	if (k == NULL)
		return true;
	k += strlen(ks);
	o = strstr(k, opts);
	free(cmd->keyspace);
	cmd->keyspace = o != NULL ? xstrndup(k, (size_t)(o - k)) : nodetool_dup_trim(k);
	if (o != NULL) {
		o += strlen(opts);
		end = o + strlen(o);
		if (end > o && end[-1] == ')')
			end--;
		repair_options(o, (size_t)(end - o), cmd);
	}
	return true;
}

/* What one "[ts] message" line says about the repair. */
static void repair_event(struct nodetool_repair *s, const char *m, int progress)
{
	static const char rf1[] =
	    "Replication factor is 1. No repair is needed for keyspace '";
	struct nodetool_repair_command *cmd;
	const char *rest;
	int num;
	bool session, completed, failed;

	if (repair_start(s, m, progress))
		return;
	if (str_starts_with(m, rf1) && str_ends_with(m, "'") &&
	    strlen(m) > strlen(rf1) + 1) {
		*APPEND(s->not_needed, s->n_not_needed) =
		    xstrndup(m + strlen(rf1), strlen(m) - strlen(rf1) - 1);
		return;
	}
	if (str_starts_with(m, "Repair command ") &&
	    command_number(m + strlen("Repair command "), &num, &rest)) {
		cmd = repair_command(s, num);
		if (progress >= 0)
			cmd->progress_pct = progress;
		if (str_starts_with(rest, " finished in ")) {
			cmd->finished = true;
			free(cmd->duration);
			cmd->duration = nodetool_dup_trim(rest + strlen(" finished in "));
		} else if (str_starts_with(rest, " finished with error")) {
			cmd->finished = true;
			cmd->failed = true;
		} else if (str_starts_with(rest, " failed with error")) {
			cmd->failed = true;
			free(cmd->error);
			cmd->error = nodetool_dup_trim(rest + strlen(" failed with error"));
		} else if (str_starts_with(rest, " finished")) {
			cmd->finished = true;
		}
		return;
	}
	session = str_starts_with(m, "Repair session ");
	completed = strcmp(m, "Repair completed successfully") == 0 ||
	    (str_starts_with(m, "condition satisfied") &&
	    strstr(m, "discovered repair completed") != NULL);
	failed = str_starts_with(m, "Some repair failed") ||
	    str_starts_with(m, "Repair failed");
	if (!session && !completed && !failed)
		return;
	/*
	 * These lines belong to the command running now.  With no command
	 * yet (its "Starting" line was missed) or, for a session, after the
	 * last one finished (sessions never follow their command's end), they
	 * open an unnumbered command rather than be dropped: they are the
	 * evidence that a repair ran.
	 */
	cmd = s->n_commands > 0 ? &s->commands[s->n_commands - 1] : NULL;
	if (cmd == NULL || (session && (cmd->finished || cmd->n_completed > 0)))
		cmd = repair_command(s, 0);
	if (progress >= 0)
		cmd->progress_pct = progress;
	if (session) {
		cmd->n_sessions++;
		if (strstr(m, " failed with error") != NULL)
			cmd->n_sessions_failed++;
	} else if (completed) {
		cmd->n_completed++;
	} else {
		cmd->failed = true;
	}
}

size_t nodetool_repair_command_sessions(
    const struct nodetool_repair_command *c, bool *exact)
{
	bool worked = !c->failed && (c->finished || c->n_completed > 0);

	if (exact != NULL)
		*exact = c->n_sessions > 0 || !worked;
	if (c->n_sessions == 0 && worked)
		return 1;
	return c->n_sessions;
}

void nodetool_repair_free(struct nodetool_repair *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_commands; i++) {
		struct nodetool_repair_command *c = &s->commands[i];

		free(c->id);
		free(c->keyspace);
		nodetool_kv_free(c->options, c->n_options);
		free(c->error);
		free(c->duration);
	}
	free(s->commands);
	nodetool_strv_free(s->not_needed, s->n_not_needed);
	for (i = 0; i < s->n_events; i++) {
		free(s->events[i].timestamp);
		free(s->events[i].message);
	}
	free(s->events);
	free(s->error);
	free(s);
}

/* "... (progress: 57%)" -> 57, and the length of the message before it. */
static int repair_progress(const char *m, size_t *len)
{
	static const char tag[] = " (progress: ";
	const char *p = strstr(m, tag);
	int64_t v;
	char *num;
	size_t n;

	*len = strlen(m);
	while (p != NULL && strstr(p + 1, tag) != NULL)
		p = strstr(p + 1, tag);
	if (p == NULL || !str_ends_with(m, "%)"))
		return NODETOOL_UNKNOWN;
	n = strlen(p + strlen(tag));
	if (n < 3)
		return NODETOOL_UNKNOWN;
	num = xstrndup(p + strlen(tag), n - 2);
	if (!nodetool_parse_count(num, &v) || v > 100) {
		free(num);
		return NODETOOL_UNKNOWN;
	}
	free(num);
	*len = (size_t)(p - m);
	return (int)v;
}

int nodetool_parse_repair(const char *buf, size_t len,
    struct nodetool_repair **out, char *err, size_t errlen)
{
	struct nodetool_ctx c;
	struct nodetool_repair *s;
	size_t i;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || nodetool_ctx_init(&c, "repair", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	for (i = 0; i < c.n && rc == 0; i++) {
		const char *l = c.lines[i], *msg;
		struct nodetool_repair_event *ev;
		char *stamp;
		size_t mlen;

		if (nodetool_is_skippable(l))
			continue;
		if (str_starts_with(l, "error: ") || strcmp(l, "error:") == 0) {
			/*
			 * The end of a repair that ran and failed; the rest is
			 * the message's continuation and a stack trace.  With no
			 * repair messages before it, nodetool failed to start
			 * the repair at all, which is not repair output.
			 */
			if (s->n_events == 0)
				rc = nodetool_fail_unexpected(&c, i);
			else
				s->error = nodetool_dup_trim(l + strlen("error:"));
			break;
		}
		if (!repair_stamp(l, &stamp, &msg)) {
			rc = nodetool_fail_unexpected(&c, i);
			break;
		}
		ev = APPEND(s->events, s->n_events);
		ev->timestamp = stamp;
		ev->progress_pct = repair_progress(msg, &mlen);
		ev->message = xstrndup(msg, mlen);
		repair_event(s, ev->message, ev->progress_pct);
	}
	if (rc == 0 && s->n_events == 0)
		rc = nodetool_fail_all(&c, "no repair messages in output");
	nodetool_ctx_release(&c);
	if (rc < 0) {
		nodetool_repair_free(s);
		return -1;
	}
	s->result = s->n_commands > 0 ? NODETOOL_REPAIR_SUCCEEDED :
	    NODETOOL_REPAIR_NOTHING;
	if (s->error != NULL)
		s->result = NODETOOL_REPAIR_FAILED;
	for (i = 0; i < s->n_commands; i++) {
		struct nodetool_repair_command *cmd = &s->commands[i];

		/*
		 * A command never seen to end did not succeed; "Repair
		 * completed successfully" is an end even when the "finished"
		 * notification was missed.
		 */
		if (cmd->failed || (!cmd->finished && cmd->n_completed == 0))
			s->result = NODETOOL_REPAIR_FAILED;
		if (!cmd->finished && cmd->n_completed == 0 && s->error == NULL)
			s->error = cmd->number > 0 ? xasprintf("repair command "
			    "#%d did not finish", cmd->number) :
			    xstrdup("a repair command did not finish");
	}
	*out = s;
	return 0;
}

const char *nodetool_repair_result_name(enum nodetool_repair_result r)
{
	switch (r) {
	case NODETOOL_REPAIR_SUCCEEDED:
		return "succeeded";
	case NODETOOL_REPAIR_FAILED:
		return "failed";
	case NODETOOL_REPAIR_NOTHING:
		return "nothing-to-do";
	}
	return "unknown";
}

json_t *nodetool_repair_json(const struct nodetool_repair *s)
{
	json_t *o = json_object(), *a;
	size_t i;

	if (s == NULL)
		return o;
	nodetool_jset(o, "result", json_string(nodetool_repair_result_name(s->result)));
	nodetool_jset(o, "error", nodetool_jstr(s->error));
	a = json_array();
	for (i = 0; i < s->n_commands; i++) {
		const struct nodetool_repair_command *c = &s->commands[i];
		json_t *j = json_object();
		bool exact;
		size_t n = nodetool_repair_command_sessions(c, &exact);

		nodetool_jset(j, "number", c->number > 0 ? json_integer(c->number) :
		    json_null());
		nodetool_jset(j, "id", nodetool_jstr(c->id));
		nodetool_jset(j, "keyspace", nodetool_jstr(c->keyspace));
		nodetool_jset(j, "options", nodetool_jkv(c->options, c->n_options));
		nodetool_jset(j, "sessions", json_integer((json_int_t)n));
		nodetool_jset(j, "sessions_exact", json_boolean(exact));
		nodetool_jset(j, "session_lines", json_integer((json_int_t)c->n_sessions));
		nodetool_jset(j, "completed", json_integer((json_int_t)c->n_completed));
		nodetool_jset(j, "sessions_failed",
		    json_integer((json_int_t)c->n_sessions_failed));
		nodetool_jset(j, "progress_pct", nodetool_jcount(c->progress_pct));
		nodetool_jset(j, "finished", json_boolean(c->finished));
		nodetool_jset(j, "failed", json_boolean(c->failed));
		nodetool_jset(j, "error", nodetool_jstr(c->error));
		nodetool_jset(j, "duration", nodetool_jstr(c->duration));
		json_array_append_new(a, j);
	}
	nodetool_jset(o, "commands", a);
	nodetool_jset(o, "not_needed", nodetool_jstrv(s->not_needed, s->n_not_needed));
	a = json_array();
	for (i = 0; i < s->n_events; i++)
		json_array_append_new(a, json_pack("{s:o,s:o,s:o}",
		    "timestamp", nodetool_jstr(s->events[i].timestamp),
		    "message", nodetool_jstr(s->events[i].message),
		    "progress_pct", nodetool_jcount(s->events[i].progress_pct)));
	nodetool_jset(o, "events", a);
	return o;
}
