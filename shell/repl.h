/*
 * repl.h - the interactive loop: libedit line editing, Tab completion from
 * the command table and live names, Ctrl-R reverse search, and history
 * kept in a file.  The only module that includes <histedit.h>.
 */
#ifndef RS_REPL_H
#define RS_REPL_H

struct shell;

/*
 * The history file: $RINGSH_HISTORY, else $XDG_STATE_HOME/ringmaster/
 * ringsh_history, else ~/.local/state/ringmaster/ringsh_history.  Fresh
 * string, or NULL when no home is known.
 */
char *repl_history_path(void);

/*
 * Read commands from the terminal until EOF or quit.  history_path NULL
 * keeps no history.  Returns 0.
 */
int repl_run(struct shell *sh, const char *history_path);

#endif
