/*
 * client.h - ringsh's connections to orchestrators and its REST calls.
 *
 * A client holds any number of named connections (URL, token, CA file and
 * the cluster last used on it); one is current.  client_call() sends one
 * request through common/http.h to the current connection and, when it
 * fails, leaves a one-line explanation in client_error(): what happened,
 * to which URL or object, and what to do next.  Live names for completion
 * (clusters, task ids, ...) are fetched through client_names() and kept a
 * few seconds.
 */
#ifndef RS_CLIENT_H
#define RS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct client_conn {
	char *name;
	/* The orchestrator that answered last, no trailing slash: one of
	 * urls, which lists every orchestrator of the connection (one
	 * active, standbys) joined by ",". */
	char *url;
	char *urls;
	struct orchlist *orchs;		/* urls parsed, with the current one */
	char *token;			/* NULL: none */
	char *token_source;		/* "RINGMASTER_TOKEN", a file, or NULL */
	char *ca_file;
	char *cluster;			/* the current cluster here, or NULL */
};

struct client_resp {
	long status;
	json_t *json;			/* the parsed body, or NULL */
	char *body;			/* the raw body, or NULL */
	size_t body_len;
};

/* What went wrong with one exchange, for client_explain(). */
struct client_failure {
	const char *conn;		/* connection name */
	const char *method;
	const char *url;		/* the full URL */
	const char *path;		/* the API path */
	long status;			/* 0: no answer */
	const char *message;		/* the server's error.message, or NULL */
	bool had_token;
	bool conn_refused, tls_failed, timed_out;
	const char *transport;		/* the transport error text */
};

struct client;
struct orchlist;

struct client *client_new(void);
void client_free(struct client *c);

/*
 * Add a connection (or replace the one of the same name) and make it
 * current.  url is one orchestrator URL or several separated by commas
 * (common/orchlist.h: requests go to the one that answered last, move on
 * when it does not answer or answers 502/503/504, and follow a standby's
 * 307 only to a URL of the list).  Strings are copied; token NULL falls
 * back to RINGMASTER_TOKEN.  Returns 0, or -1 with err set for a bad name
 * or URL, and nothing changed.
 */
int client_add(struct client *c, const char *name, const char *url,
    const char *token, const char *token_source, const char *ca_file,
    const char *cluster, char *err, size_t errlen);
size_t client_count(const struct client *c);
const struct client_conn *client_conn_at(const struct client *c, size_t i);
/* The current connection, or NULL when there is none. */
struct client_conn *client_current(struct client *c);
/* Make the connection named name current; -1 when there is none such. */
int client_use(struct client *c, const char *name);
/* A name for a new unnamed connection: "default", then "conn2", ... */
char *client_next_name(const struct client *c);

/*
 * Load ringsh.conf: one connection a line,
 *     NAME URL [token_file=PATH] [ca_file=PATH] [cluster=NAME]
 * '#' comments, '~/' in paths means $HOME.  A file group or others may
 * read is refused.  A missing file is fine (returns 0, adds nothing).
 * Returns the number of connections added, or -1 with err "FILE:LINE: ...".
 */
int client_load_config(struct client *c, const char *path, char *err,
    size_t errlen);
/* Read a token file (trimmed).  NULL with err on failure. */
char *client_read_token(const char *path, char *err, size_t errlen);

/* Request timeout for the next calls, in ms (0: the default 30 s). */
void client_set_timeout(struct client *c, long ms);

/*
 * One request to the current connection.  path is "/api/v1/..." (already
 * encoded); body may be NULL.  Returns 0 on a 2xx answer with *resp filled
 * (release it), -1 otherwise with client_error() set and *resp released.
 * When another orchestrator of the connection answered than last time,
 * "ringsh: now using URL: why" goes to stderr.  A write (anything but GET
 * and HEAD) that may have reached an orchestrator that then did not answer
 * is not sent to another one: the error says so.
 */
int client_call(struct client *c, const char *method, const char *path,
    const json_t *body, struct client_resp *resp);
void client_resp_release(struct client_resp *resp);
const char *client_error(const struct client *c);
/* The status of the last failed call (0: no answer). */
long client_last_status(const struct client *c);

/*
 * The roles that may use method on path, as the orchestrator's routes
 * grant them: "admin" for creating, changing and deleting clusters,
 * "viewer, operator or admin" for reads, else "operator or admin".
 */
const char *client_role_needed(const char *method, const char *path);

/* One line for a failure (no "ringsh: " prefix). */
void client_explain(const struct client_failure *f, char *buf, size_t size);

/*
 * The values of field in the items of GET path on the current connection,
 * cached for a few seconds.  NULL-terminated; valid until the next call.
 * Never NULL: an empty list when the orchestrator cannot be asked.
 */
const char *const *client_names(struct client *c, const char *path,
    const char *field);
/* The connection names, NULL-terminated; valid until connections change. */
const char *const *client_conn_names(struct client *c);

/* "%2F"-style encoding of one path segment (fresh string). */
char *client_escape(const char *segment);

#endif
