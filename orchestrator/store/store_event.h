/*
 * store_event.h - the audit log of events in the store
 * (store_event.c); included by store.h, whose conventions apply.
 */
#ifndef RM_STORE_EVENT_H
#define RM_STORE_EVENT_H

#include "store.h"

/* ---- events (audit log) ------------------------------------------------ */

struct store_event {
	int64_t at;			/* ms; 0 = now */
	const char *actor;		/* token name, "ringmaster" for the engine */
	const char *kind;		/* "request" or "task" */
	const char *method;		/* "POST" ... or NULL */
	const char *route;		/* "/api/v1/clusters/{name}" or NULL */
	const char *target;		/* "prod", "t-...", ... or NULL */
	const char *cluster;		/* or NULL */
	const char *result;		/* "201", "403", "running", ... */
	const char *detail_json;	/* JSON text or NULL */
};
int store_event_append(struct store *st, const struct store_event *ev,
    char *err, size_t errlen);
/* n events in one transaction (for a buffered audit writer). */
int store_events_append(struct store *st, const struct store_event *evs,
    size_t n, char *err, size_t errlen);
/*
 * Keep events for keep_ms (0: whatever their age) and only the newest
 * keep_rows of them (0: however many).  From this call on, the writes that
 * add events also delete the oldest beyond the limits, at most
 * STORE_EVENT_PRUNE_BATCH rows at a time, every STORE_EVENT_PRUNE_EVERY
 * events or STORE_EVENT_PRUNE_MS, whichever comes first; the first such
 * write prunes at once.  So the table holds at most keep_rows +
 * STORE_EVENT_PRUNE_EVERY rows once it has caught up.
 */
#define STORE_EVENT_PRUNE_EVERY 64
#define STORE_EVENT_PRUNE_MS 10000
#define STORE_EVENT_PRUNE_BATCH 5000
void store_event_keep(struct store *st, int64_t keep_ms, int64_t keep_rows);
/* Prune now (what the writes do when due): the number of rows deleted, or
 * -1 with err. */
int64_t store_event_prune(struct store *st, char *err, size_t errlen);
/* An event as read. */
struct store_event_row {
	int64_t id;
	int64_t at;			/* ms */
	char *actor, *kind, *method, *route, *target, *cluster, *result;
	char *detail_json;		/* JSON text as stored, or NULL */
};
void store_event_row_release(struct store_event_row *r);

struct store_event_page {
	struct store_event_row *items;
	size_t n;
	char next[STORE_CURSOR_MAX];	/* "" on the last page */
};
void store_event_page_release(struct store_event_page *p);

/*
 * Oldest first (by id) from since (ms; 0 = the beginning); cluster NULL =
 * all; cursor is the last id seen.  0 or RM_ERR; release *out in every
 * case.
 */
int store_event_list(struct store *st, int64_t since, const char *cluster,
    const char *cursor, int limit, struct store_event_page *out);

#endif
