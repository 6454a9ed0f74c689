/*
 * window.h - maintenance windows: when work may start (docs/repair.md,
 * "Maintenance windows").  A set of 1..32 windows, each days of the week,
 * a start and an end time of day and a time zone:
 *
 *   {"days": "mon-fri" | ["mon", "wed"] | "*", "start": "22:00",
 *    "end": "06:00", "tz": "Europe/Berlin"}
 *
 * start and end are "HH:MM" or "HH:MM:SS".  end <= start crosses midnight
 * and the window belongs to its start day ("fri 22:00-06:00" holds
 * Saturday 03:00); end == start is a whole day from start.  tz is an IANA
 * name (default "UTC"), read once from the zoneinfo directory (tzif.h).
 *
 * The wall clock of the window's zone decides: a window is open at an
 * instant whose local time falls inside it.  A start time that a DST gap
 * skips opens the window at the gap's end (the first local time after
 * it); in a DST overlap the repeated hour is inside a window each time the
 * clock shows it.  The set is open when any window is.
 *
 * Apart from window_parse(), which reads zone files, everything here is
 * pure: times are given, never read from a clock.
 */
#ifndef RM_WINDOW_H
#define RM_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define WINDOW_MAX	32
/* How far next_open() and closes_at() look ahead: a week and a day. */
#define WINDOW_HORIZON_S	(8 * 86400)

struct window_set;

/*
 * Parse and check params.windows (arr: a JSON array); zones are read from
 * zonedir (NULL: the system's).  A new set (window_set_free() it), or
 * NULL with err naming the window ("params.windows[2].start ...") and
 * what it takes.
 */
struct window_set *window_parse(const json_t *arr, const char *zonedir,
    char *err, size_t errlen);
void window_set_free(struct window_set *ws);

/* Is any window open at t (seconds since the epoch)? */
bool window_is_open(const struct window_set *ws, int64_t t);
/*
 * The first instant >= t at which a window is open (t itself when one
 * is), or -1 when none opens within WINDOW_HORIZON_S.  *which (when not
 * NULL) is the index of the window that opens then.
 */
int64_t window_next_open(const struct window_set *ws, int64_t t,
    size_t *which);
/*
 * When the set closes: the first instant > t at which no window is open.
 * -1 when it is closed at t; INT64_MAX when it stays open past the
 * horizon (windows that together cover every day).
 */
int64_t window_closes_at(const struct window_set *ws, int64_t t);
/* "mon-fri 22:00-06:00 Europe/Berlin" of window i (static storage in
 * the set: valid while it lives). */
const char *window_describe(const struct window_set *ws, size_t i);
/*
 * Why work waits at t, for a step's message (caller frees):
 * "waiting for maintenance window mon-fri 22:00-06:00 Europe/Berlin:
 * opens in 3h12m (2026-12-07T22:00:00+01:00)", or "... no window opens
 * within 8 days"  NULL when the set is open at t.
 */
char *window_wait_text(const struct window_set *ws, int64_t t);

#endif
