/*
 * cmd_parse.c - splitting a line into words and statements, and parsing
 * one statement against the command table (cmd.c); see cmd.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "../common/util.h"
#include "cmd.h"
#include "cmd_int.h"
#include "ids.h"

/* ---- words ---- */

/*
 * The one splitter behind cmd_split() and completion.  stop_at_semicolon
 * ends at an unquoted ';' and reports its offset in *end.
 */
int cmd_split_words(const char *line, struct cmd_word **out, size_t *n,
    bool *partial, bool stop_at_semicolon, size_t *end, char *err,
    size_t errlen)
{
	struct cmd_word *w = NULL;
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

void cmd_wordv_free(struct cmd_word *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(w[i].s);
	free(w);
}

int cmd_split(const char *line, char ***argv, size_t *argc, bool *partial,
    char *err, size_t errlen)
{
	struct cmd_word *w;
	size_t n;

	if (cmd_split_words(line, &w, &n, partial, false, NULL, err, errlen) < 0)
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
		struct cmd_word *w;
		size_t nw, end;
		if (cmd_split_words(p, &w, &nw, NULL, true, &end, err, errlen) < 0) {
			if (out) {
				out[n] = NULL;
				cmd_strv_free(out);
			}
			return NULL;
		}
		cmd_wordv_free(w, nw);
		out = xrealloc(out, (n + 2) * sizeof(*out));
		out[n++] = xstrndup(p, end);
		if (p[end] != ';')
			break;
		p += end + 1;
	}
	out[n] = NULL;
	return out;
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

/* A finite number in plain decimal notation ("0.5", "1", "-2.25"). */
static bool is_decimal(const char *s)
{
	char *end;
	double d;

	if (*s == '\0' || strspn(s, "0123456789.-+") != strlen(s))
		return false;
	errno = 0;
	d = strtod(s, &end);
	return errno == 0 && *end == '\0' && d == d;
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
	case CMD_V_DECIMAL:
		if (!is_decimal(v)) {
			snprintf(err, errlen, "%s wants a number such as 0.5, not "
			    "'%s'", what, v);
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
		if (!in_list(cmd_task_states, v)) {
			snprintf(err, errlen, "%s wants one of queued, running, "
			    "paused, succeeded, failed, cancelled, partial, "
			    "not '%s'",
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

size_t cmd_nargs(const struct cmd *c)
{
	size_t n = 0;
	if (c->args)
		while (c->args[n].name)
			n++;
	return n;
}

bool cmd_is_flag_word(const char *w)
{
	return w[0] == '-' && w[1] == '-' && w[2] != '\0';
}

/*
 * Walk the keywords of words[0..n): returns the leaf or group reached and
 * the index of the first word after the keywords.  On error returns NULL
 * with err set and *reached the deepest command matched (or NULL).
 */
const struct cmd *cmd_walk(char *const *words, size_t n, size_t *next,
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
		if (i < n && !cmd_is_flag_word(words[i])) {
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
	c = cmd_walk(w, n, &i, call->path, sizeof(call->path), &reached, err,
	    errlen);
	call->cmd = reached;
	if (c == NULL)
		goto out;
	size_t nargs = cmd_nargs(c);
	for (; i < n; i++) {
		const char *word = w[i];
		if (strcmp(word, "--") == 0)
			continue;
		if (cmd_is_flag_word(word)) {
			const char *eq = strchr(word, '=');
			size_t len = eq ? (size_t)(eq - word) : strlen(word);
			const struct cmd_flag *f = cmd_flag_lookup(c, word, len, err,
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
		if (argi >= nargs && nargs > 0 && strlen(c->args[nargs - 1].name)
		    > 3 && strcmp(c->args[nargs - 1].name + strlen(
		    c->args[nargs - 1].name) - 3, "...") == 0) {
			/* "NODE...": the last positional takes the words left,
			 * joined by commas. */
			char *j = xasprintf("%s,%s", call->args[nargs - 1], word);
			free(call->args[nargs - 1]);
			call->args[nargs - 1] = j;
			continue;
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
	for (size_t k = 0; k < cmd_nflags(c); k++) {
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
