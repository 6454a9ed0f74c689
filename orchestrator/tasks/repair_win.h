/*
 * repair_win.h - a repair's maintenance windows (params.windows, see
 * window.h and docs/repair.md): segments only start inside one.  The
 * steps ask before they start a segment; a segment already running
 * finishes when its window closes.
 */
#ifndef RM_REPAIR_WIN_H
#define RM_REPAIR_WIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct task_ctx;

/* How long a step waiting for a window parks at most between looks: its
 * message ("opens in 3h12m") stays current.  Cancel and pause wake it at
 * once (task_wait()). */
#define REPAIR_WIN_POLL_MS	60000

/* Check params.windows when present (the type's validate()). */
int repair_win_validate(const json_t *params, char *err, size_t errlen);
/*
 * May a segment start now?  1: no windows, or one is open.  0: all are
 * closed; the step's message says which window opens when, and *wait_ms
 * is how long to park (to the opening, at most REPAIR_WIN_POLL_MS).  -1
 * with err when the windows cannot be read (a zone file gone since the
 * task was accepted).  The windows are parsed once per step (its memo).
 */
int repair_win_check(struct task_ctx *ctx, int64_t *wait_ms, char *err,
    size_t errlen);
/* Like repair_win_check() without touching the step's message: the
 * text is in *why (caller frees) when closed. */
int repair_win_state(struct task_ctx *ctx, int64_t *wait_ms, char **why,
    char *err, size_t errlen);

#endif
