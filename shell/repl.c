/*
 * repl.c - see repl.h.
 *
 * Like redis-cli's repl(): built-ins (quit, help, connect, use) go through
 * the same dispatcher as everything else, history is loaded and saved only
 * here (so only on a terminal), and a command slower than a second prints
 * how long it took.  History is saved after every command so a crash or a
 * closed terminal loses nothing; libedit caps it at HISTORY_SIZE entries.
 */
#include "repl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <histedit.h>

#include "../common/util.h"
#include "cmd.h"
#include "exec.h"

#define HISTORY_SIZE 1000

struct repl {
	struct shell *sh;
	char *prompt;
};

char *repl_history_path(void)
{
	const char *env = getenv("RINGSH_HISTORY");
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (env && *env)
		return xstrdup(env);
	if (state && *state)
		return xasprintf("%s/ringmaster/ringsh_history", state);
	if (home && *home)
		return xasprintf("%s/.local/state/ringmaster/ringsh_history", home);
	return NULL;
}

/* mkdir -p for the directories above path, private to the user. */
static void make_parents(const char *path)
{
	char *p = xstrdup(path);
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			break;
		*s = '/';
	}
	free(p);
}

static char *prompt_fn(EditLine *el)
{
	struct repl *r;
	el_get(el, EL_CLIENTDATA, &r);
	return r->prompt;
}

static void print_columns(char **v)
{
	size_t n = 0, w = 0;
	for (; v[n]; n++)
		if (strlen(v[n]) > w)
			w = strlen(v[n]);
	size_t per = 80 / (w + 2);
	if (per == 0)
		per = 1;
	fputc('\n', stdout);
	for (size_t i = 0; i < n; i++)
		printf("%-*s%s", (int)(w + 2), v[i],
		    (i + 1) % per == 0 || i + 1 == n ? "\n" : "");
	fflush(stdout);
}

static unsigned char complete_fn(EditLine *el, int ch)
{
	struct repl *r;
	const LineInfo *li = el_line(el);
	size_t cursor = (size_t)(li->cursor - li->buffer), start;
	char *line = xstrndup(li->buffer, (size_t)(li->lastchar - li->buffer));
	unsigned char rc = CC_REFRESH;

	(void)ch;
	el_get(el, EL_CLIENTDATA, &r);
	char **v = cmd_complete(line, cursor, exec_names, r->sh, &start);
	free(line);
	if (v == NULL || v[0] == NULL) {
		rc = CC_REFRESH_BEEP;
		goto out;
	}
	size_t typed = cursor - start;
	if (v[1] == NULL) {
		/* The word as typed (quotes and all) gives way to the match. */
		el_deletestr(el, (int)typed);
		el_insertstr(el, v[0]);
		el_insertstr(el, " ");
		goto out;
	}
	size_t lcp = strlen(v[0]);
	for (size_t i = 1; v[i]; i++) {
		size_t k = 0;
		while (k < lcp && v[i][k] == v[0][k])
			k++;
		lcp = k;
	}
	char *word = xstrndup(li->buffer + start, typed);
	/*
	 * Ids match by the part that tells them apart, so the common part of
	 * several may not begin with what was typed: list them then.
	 */
	if (lcp > strlen(word) && strncmp(v[0], word, strlen(word)) == 0) {
		char *common = xstrndup(v[0], lcp);
		el_deletestr(el, (int)typed);
		el_insertstr(el, common);
		free(common);
	} else {
		print_columns(v);
		rc = CC_REDISPLAY;
	}
	free(word);
out:
	cmd_strv_free(v);
	return rc;
}

int repl_run(struct shell *sh, const char *history_path)
{
	struct repl r = { sh, NULL };
	HistEvent ev;
	EditLine *el = el_init("ringsh", stdin, stdout, stderr);
	History *h = history_init();

	if (el == NULL || h == NULL) {
		fprintf(stderr, "ringsh: cannot start line editing\n");
		return EXEC_FAILED;
	}
	history(h, &ev, H_SETSIZE, HISTORY_SIZE);
	history(h, &ev, H_SETUNIQUE, 1);
	if (history_path)
		history(h, &ev, H_LOAD, history_path);
	el_set(el, EL_EDITOR, "emacs");
	el_set(el, EL_SIGNAL, 1);
	el_set(el, EL_HIST, history, h);
	el_set(el, EL_CLIENTDATA, &r);
	el_set(el, EL_PROMPT, prompt_fn);
	el_set(el, EL_ADDFN, "ringsh-complete", "complete a word",
	    complete_fn);
	el_set(el, EL_BIND, "^I", "ringsh-complete", NULL);
	el_set(el, EL_BIND, "^R", "em-inc-search-prev", NULL);
	/* ~/.editrc may rebind keys, as in every libedit program. */
	el_source(el, NULL);

	while (!sh->quit) {
		int count;
		free(r.prompt);
		r.prompt = exec_prompt(sh);
		*sh->interrupted = 0;
		const char *in = el_gets(el, &count);
		if (in == NULL) {
			if (count == -1 && errno == EINTR) {
				/* Ctrl-C at the prompt: a fresh line, not an exit. */
				fputc('\n', stdout);
				el_reset(el);
				continue;
			}
			fputc('\n', stdout);
			break;
		}
		char *line = xstrdup(in);
		str_trim(line);
		if (*line == '\0') {
			free(line);
			continue;
		}
		history(h, &ev, H_ENTER, line);
		if (history_path) {
			make_parents(history_path);
			if (history(h, &ev, H_SAVE, history_path) < 0) {
				fprintf(stderr, "ringsh: cannot save history to %s; "
				    "set RINGSH_HISTORY to a writable file\n",
				    history_path);
				history_path = NULL;
			} else {
				chmod(history_path, 0600);
			}
		}
		int64_t t0 = time_mono_ms();
		exec_line(sh, line);
		int64_t took = time_mono_ms() - t0;
		if (took >= 1000)
			fprintf(stderr, "(%.1fs)\n", (double)took / 1000.0);
		free(line);
	}
	free(r.prompt);
	history_end(h);
	el_end(el);
	return EXEC_OK;
}
