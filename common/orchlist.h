/*
 * orchlist.h - a list of orchestrator base URLs and the one request loop
 * that follows the active orchestrator through it; used by the agent
 * (check-in, heartbeats) and by ringsh.
 *
 * Several orchestrators share one state; one is active, the others are
 * standbys (docs/api.md, "Several orchestrators").  A standby answers
 * reads itself, answers a write with 307 and a Location on the active,
 * and answers 503 when no active is known.  A client configured with
 * "URL1,URL2,..." therefore:
 *   - sends to the URL that answered last (the current one);
 *   - on no answer, 502, 503 or 504 tries the next URL, one round at most
 *     (the caller's own backoff spaces the rounds);
 *   - on 307/308 re-sends the same request to the Location only when the
 *     Location's scheme, host and port (and base path) are those of a
 *     configured URL, and makes that URL the current one.  Anything else is
 *     refused: the bearer token and the join token go only to hosts the
 *     operator listed.  libcurl never follows redirects by itself here.
 *
 * A request that may already have reached an orchestrator (a timeout after
 * it was sent, a 502 or 504 from a proxy) is sent again elsewhere only
 * when the caller says repeating it is harmless (orchlist_call.resend_unsure):
 * a heartbeat is, a "start a repair" is not.
 *
 * A list of one URL behaves as a plain request did: its answer, or
 * http.c's transport error unchanged.
 *
 * Ownership: struct orchlist owns its strings; orchlist_release() frees
 * them and accepts a zeroed or released list.  Not thread-safe: one list
 * belongs to one thread at a time, like an http_client.
 */
#ifndef RM_ORCHLIST_H
#define RM_ORCHLIST_H

#include <stdbool.h>
#include <stddef.h>

struct http_client;
struct http_req;
struct http_resp;

/* At most this many URLs in one list. */
#define ORCHLIST_MAX		16
/* Redirects followed for one request (a standby naming a stale active
 * that redirects back must not loop). */
#define ORCHLIST_MAX_REDIRECTS	4

struct orchlist_url {
	char *base;		/* as configured, trailing slashes removed */
	char *scheme;		/* "http" or "https" */
	char *host;		/* lowercased; IPv6 without its brackets */
	int port;		/* explicit, or 80/443 */
	char *path;		/* base path without trailing slash; "" for none */
};

struct orchlist {
	struct orchlist_url *v;
	size_t n;
	size_t cur;		/* index of the URL that answered last */
};

/*
 * Parse "URL[,URL...]": each item trimmed of blanks, an http:// or https://
 * URL with a host, an optional port 1-65535 and an optional base path; no
 * user:password@, query, fragment, blank or control character inside.  Empty
 * items and two items naming the same orchestrator (same scheme, host, port
 * and path) are refused.  On success *l holds the list, current = the
 * first.  Returns 0, or -1 with err naming the item ("item 2 'x': ...") and
 * *l zeroed.
 */
int orchlist_parse(struct orchlist *l, const char *text, char *err,
    size_t errlen);
void orchlist_release(struct orchlist *l);

/* The current base URL (never NULL for a parsed list). */
const char *orchlist_current(const struct orchlist *l);
/* The configured URLs joined by ",", for display (caller frees). */
char *orchlist_join(const struct orchlist *l);

/*
 * Check a Location header against the list.  When location is an absolute
 * http(s) URL without userinfo whose scheme, host, port and base path are
 * those of configured URL i, returns 0 with *idx = i and *url_out = that
 * configured base followed by the rest of the Location (the caller frees).
 * Otherwise -1 with err saying what is wrong and, for an unknown host, that
 * it must be added to the list to be followed.
 */
int orchlist_match(const struct orchlist *l, const char *location,
    size_t *idx, char **url_out, char *err, size_t errlen);

/* What one orchlist_do() did, beyond the answer. */
struct orchlist_call {
	/* in: the request may be repeated at another orchestrator even when
	 * the first may have received it (timeouts, 502, 504). */
	bool resend_unsure;
	/* out: the URL of the answer (or of the last attempt); caller frees. */
	char *url;
	/* out: why the current URL changed ("" when it did not), for a log
	 * line or a note to the user. */
	char note[768];
	/* out: when orchlist_do() returns -1, what happened and what to do;
	 * also set when it returns 0 with the 5xx of the last URL of a round
	 * in which every one failed ("no orchestrator could take it: ..."). */
	char err[768];
	/* out: a redirect was refused (its Location is not in the list). */
	bool redirect_refused;
	/* out: -1 because no orchestrator answered (resp's transport flags
	 * are the last attempt's). */
	bool no_answer;
};

/*
 * Send tmpl (method, body, headers, bearer, timeouts, CA; its url is
 * ignored) to <current URL><path>, following the rules above.  Returns 0
 * when an answer arrived that the rules do not go past (any status, also
 * a 503 when every URL answered so), with *resp the caller's to release;
 * -1 when no answer did or a redirect was refused, with call->err and
 * resp->err set (resp's transport flags are the last attempt's).
 * call->url is set in both cases; call->resend_unsure is read.
 */
int orchlist_do(struct orchlist *l, struct http_client *h,
    const struct http_req *tmpl, const char *path, struct http_resp *resp,
    struct orchlist_call *call);
void orchlist_call_release(struct orchlist_call *call);

#endif
