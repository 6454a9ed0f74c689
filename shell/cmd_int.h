/*
 * cmd_int.h - what the command table (cmd.c), the parser (cmd_parse.c) and
 * completion (cmd_complete.c) share; private to them.  Callers use cmd.h.
 */
#ifndef RS_CMD_INT_H
#define RS_CMD_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "cmd.h"

/* The task states a --state flag takes, NULL-terminated. */
extern const char *const cmd_task_states[];

/* One word of a line and where it starts. */
struct cmd_word {
	char *s;
	size_t start;			/* offset of the word in the line */
};

/*
 * The one splitter behind cmd_split(), cmd_statements() and completion
 * (cmd_parse.c); the words are freed with cmd_wordv_free().
 */
int cmd_split_words(const char *line, struct cmd_word **out, size_t *n,
    bool *partial, bool stop_at_semicolon, size_t *end, char *err,
    size_t errlen);
void cmd_wordv_free(struct cmd_word *w, size_t n);

/* A command's positional arguments and flags (the implicit --json and
 * --cluster after its own); flags by prefix, errors in err. */
size_t cmd_nargs(const struct cmd *c);
size_t cmd_nflags(const struct cmd *c);
const struct cmd_flag *cmd_flag_at(const struct cmd *c, size_t i);
const struct cmd_flag *cmd_flag_lookup(const struct cmd *c, const char *name,
    size_t len, char *err, size_t errlen);
bool cmd_is_flag_word(const char *w);

/*
 * Walk the keywords of words[0..n) (cmd_parse.c): the leaf or group
 * reached, the index of the first word after the keywords in *next and the
 * keywords in path.  NULL with err set and *reached the deepest command
 * matched (or NULL) when a keyword is unknown or ambiguous.
 */
const struct cmd *cmd_walk(char *const *words, size_t n, size_t *next,
    char *path, size_t pathlen, const struct cmd **reached, char *err,
    size_t errlen);

#endif
