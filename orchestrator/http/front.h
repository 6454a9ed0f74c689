/*
 * front.h - the HTTP handler in front of the API: with active/standby it
 * decides, per request, whether this orchestrator answers it.
 *
 * While the API is up and (with an election) this orchestrator is active
 * by its own clock, every request goes to api_handle().  Otherwise:
 *
 *	GET /health		200 {"status":"standby",...}: the process is
 *				alive and follows the active one
 *	GET /metrics		this process's own counters (no store)
 *	GET /api/v1/ha		the role, the active's URL, the term
 *	anything else		307 to the active's URL with the same path and
 *				query when one is known; else 503 with
 *				Retry-After (an election or a takeover is
 *				under way)
 *
 * GET /api/v1/ha is answered here in both roles, so a client (or a test)
 * can ask any orchestrator of the group who is active.
 *
 * The API is swapped under a lock taken for reading by each request, so
 * front_set_api() returns only when no request is inside the old one; the
 * caller may then free it.  Requests are short (no long polls), so the
 * swap waits milliseconds.
 */
#ifndef RM_FRONT_H
#define RM_FRONT_H

#include <stdint.h>

#include "httpd.h"

struct api;
struct ha;
struct metrics;
struct front;

/* ha NULL: a single orchestrator (the API answers whenever it is up). */
struct front *front_new(struct ha *ha, struct metrics *m,
    const char *advertise_url);
/* NULL while down or taking over; returns when no request uses the old. */
void front_set_api(struct front *f, struct api *api);
/* "restoring the newest state", shown in 503s while the API is down. */
void front_set_phase(struct front *f, const char *phase);
/*
 * What a standby holds of the mirror, for /api/v1/ha: the generation it
 * fetched last and when that was written (0, 0: none yet), and why the
 * last look failed (NULL: it did not).
 */
void front_set_follow(struct front *f, int64_t generation, int64_t written_ms,
    const char *error);
void front_free(struct front *f);

/* The httpd handler (arg: the front). */
void front_handle(void *arg, const struct httpd_req *req,
    struct httpd_resp *resp);

/*
 * The redirect target: base (no trailing slash needed) + path + "?" + the
 * query as given (already encoded), or NULL when base is empty or the
 * result would exceed 8 KiB.  Pure; unit tested.
 */
char *front_location(const char *base, const char *path, const char *query);

#endif
