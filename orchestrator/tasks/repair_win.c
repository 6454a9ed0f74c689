/*
 * repair_win.c - see repair_win.h.  The window logic itself is pure
 * (window.c); this is where it meets the clock and the task engine.
 */
#include "repair_win.h"

#include <stdlib.h>

#include "../../common/util.h"
#include "../engine/task.h"
#include "window.h"

#define MEMO_KEY	"repair-windows"
/* task_progress() writes at most once per 500 ms and drops the rest: the
 * first wait is this short, so the next call writes why the step waits
 * (a message written just before, the ring read, would hide it). */
#define FIRST_WAIT_MS	600

struct winmemo {
	struct window_set *ws;
	bool told;			/* a wait was written at least once */
};

static void wm_release(void *p)
{
	struct winmemo *m = p;

	window_set_free(m->ws);
	free(m);
}

int repair_win_validate(const json_t *params, char *err, size_t errlen)
{
	const json_t *arr = json_object_get(params, "windows");
	struct window_set *ws;

	if (arr == NULL)
		return 0;
	if ((ws = window_parse(arr, NULL, err, errlen)) == NULL)
		return -1;
	window_set_free(ws);
	return 0;
}

int repair_win_state(struct task_ctx *ctx, int64_t *wait_ms, char **why,
    char *err, size_t errlen)
{
	const json_t *arr = json_object_get(task_ctx_params(ctx), "windows");
	struct window_set *ws;
	struct winmemo *m;
	int64_t now_ms, now, at;

	*wait_ms = 0;
	*why = NULL;
	if (arr == NULL)
		return 1;
	if ((m = task_memo(ctx, MEMO_KEY)) == NULL) {
		if ((ws = window_parse(arr, NULL, err, errlen)) == NULL)
			return -1;
		m = xcalloc(1, sizeof(*m));
		m->ws = ws;
		task_memo_put(ctx, MEMO_KEY, m, wm_release, NULL);
	}
	ws = m->ws;
	now_ms = time_wall_ms();
	now = now_ms / 1000;
	at = window_next_open(ws, now, NULL);
	if (at == now)
		return 1;
	*why = window_wait_text(ws, now);
	/* to the second it opens (not a second early: then it is still
	 * closed), within the poll interval */
	*wait_ms = at < 0 ? REPAIR_WIN_POLL_MS : at * 1000 - now_ms;
	if (*wait_ms > REPAIR_WIN_POLL_MS)
		*wait_ms = REPAIR_WIN_POLL_MS;
	if (!m->told && *wait_ms > FIRST_WAIT_MS)
		*wait_ms = FIRST_WAIT_MS;
	m->told = true;
	if (*wait_ms < 10)
		*wait_ms = 10;
	return 0;
}

int repair_win_check(struct task_ctx *ctx, int64_t *wait_ms, char *err,
    size_t errlen)
{
	char *why = NULL;
	int rc = repair_win_state(ctx, wait_ms, &why, err, errlen);

	if (rc == 0) {
		task_progress(ctx, "%s", why);
		/* nothing of the step runs yet: the wait is not work */
		task_deadline_restart(ctx);
	}
	free(why);
	return rc;
}
