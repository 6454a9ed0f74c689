/*
 * cmd_complete.c - completion of a partial line from the command table
 * (cmd.c) and live names; see cmd.h.
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
		cand_list(cc, cmd_task_states);
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
	struct cmd_word *w;
	size_t n, i;
	bool partial;
	char err[256];
	char *upto = xstrndup(line, cursor);
	struct cands cc = { NULL, 0, "" };
	const struct cmd *c = NULL;

	*word_start = cursor;
	if (cmd_split_words(upto, &w, &n, &partial, false, NULL, err,
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
		if (i < nb && !cmd_is_flag_word(before[i])) {
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
		size_t argi = 0, nargs = cmd_nargs(c);
		bool kw_pending = false;
		const struct cmd_flag *want = NULL;
		const struct cmd *help_group = NULL;
		const char *type_word = c->task_type;
		for (; i < nb; i++) {
			const char *word = before[i];
			want = NULL;
			if (cmd_is_flag_word(word)) {
				const struct cmd_flag *f = strchr(word, '=') ? NULL :
				    cmd_flag_lookup(c, word, strlen(word), err,
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
			for (size_t k = 0; (f = cmd_flag_at(c, k)) != NULL; k++)
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
	cmd_wordv_free(w, n);
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
