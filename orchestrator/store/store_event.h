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
