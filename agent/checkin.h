/*
 * checkin.h - the agent's check-in with the orchestrator
 * (POST /api/v1/agents/checkin) and the answer it gets: the node's role
 * (bootstrap, rejoin, replace, wait), its seeds, the address to replace,
 * how long to wait, the heartbeat interval and, at the node's first
 * check-in, its node credential.
 *
 * The join token only registers a node: the first answer carries a
 * credential of the node's own, which the agent keeps in
 * <state_dir>/node.credential (0600) and sends with every later check-in
 * and heartbeat (docs/security.md).
 *
 * checkin_body() and checkin_parse_answer() are pure, for unit tests;
 * checkin_post() does the request and classifies the outcome so the daemon
 * can decide between retrying and starting Cassandra anyway.
 *
 * Ownership: the body is a new JSON reference; the answer's strings belong
 * to the answer, released by checkin_answer_release() (zeroed answer ok).
 */
#ifndef RM_CHECKIN_H
#define RM_CHECKIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct agentcfg;
struct http_client;
struct http_resp;

/*
 * wait: Cassandra stays stopped and the agent checks in again after
 * retry_after_ms; the orchestrator lets one node at a time join, and a new
 * node with no live node to join through would form a cluster of its own.
 */
enum checkin_role {
	CHECKIN_BOOTSTRAP, CHECKIN_REJOIN, CHECKIN_REPLACE, CHECKIN_WAIT,
};

/* Bounds on a wait's retry_after_s: the answer is clamped into them. */
#define CHECKIN_WAIT_MIN_MS 1000
#define CHECKIN_WAIT_MAX_MS 600000

struct checkin_answer {
	enum checkin_role role;
	char **seeds;
	size_t n_seeds;
	char *replace_address;		/* set for CHECKIN_REPLACE */
	int64_t heartbeat_interval_ms;	/* 0: not given */
	int64_t retry_after_ms;		/* CHECKIN_WAIT, clamped */
	char *reason;			/* why, when the answer says; NULL */
	char *credential;		/* the node's new credential; NULL */
};

enum checkin_outcome {
	CHECKIN_OK,		/* answered; *answer filled */
	CHECKIN_UNREACHABLE,	/* no answer, a 5xx, or a 2xx we cannot read */
	CHECKIN_REFUSED,	/* 401/403: the token sent was not accepted */
	CHECKIN_REJECTED,	/* another 4xx: our body or config is wrong */
};

const char *checkin_role_name(enum checkin_role r);

/*
 * What the node says about itself at check-in.  The orchestrator never
 * tells a node that has run (a host id, data, a system keyspace, Cassandra
 * running) to bootstrap: that would rewrite the seeds of a live member.
 */
struct checkin_facts {
	const char *host_id;		/* from nodetool info, else the state file; NULL */
	const char *version;		/* NULL: sent as "unknown" */
	const char *ssh_host_key;	/* NULL: not sent */
	bool cassandra_running;		/* nodetool info answered */
	bool has_data;			/* an SSTable under <data_dir>/data/<ks>/<table>/ */
	bool system_keyspace;		/* <data_dir>/data/system/ holds a table directory */
	int start_failures;		/* failed starts in a row; 0: not sent */
	const char *start_error;	/* the last one's error, or NULL */
};

/* The request body (a new reference). */
json_t *checkin_body(const struct agentcfg *c, const struct checkin_facts *f);

/* True when a data dir holds data/system/<table>/: Cassandra ran here. */
bool checkin_has_system_keyspace(const struct agentcfg *c);

/*
 * May the agent write seeds into cassandra.yaml on this node?  Never while
 * Cassandra runs (it reads them only at start, and a live node's file
 * must not change under the operator), and never on a node that has run
 * (host id, data, system keyspace): it is a member, not a new node.  false
 * with the reason in why.
 */
bool checkin_may_write_seeds(const struct checkin_facts *f, char *why,
    size_t whylen);

/* Parse and check an answer body: 0, or -1 with a message in err. */
int checkin_parse_answer(const char *body, size_t len,
    struct checkin_answer *a, char *err, size_t errlen);
void checkin_answer_release(struct checkin_answer *a);

/*
 * A JSON list of seed addresses (v may be NULL: none) as *seeds, n of
 * them, NULL-terminated; 0, or -1 with "<what>'s seed I is not an address"
 * and nothing kept.  Free with checkin_seeds_free().
 */
int checkin_seeds_parse(const json_t *v, const char *what, char ***seeds,
    size_t *n, char *err, size_t errlen);
void checkin_seeds_free(char **seeds, size_t n);

/*
 * POST body as JSON to path (e.g. "/api/v1/agents/checkin") with token, the
 * agent's TLS and timeout settings, at the orchestrator that answered last
 * and, when it does not answer or is a standby, at the others configured
 * (common/orchlist.h; a switch is logged).  Returns 0 with *resp the
 * caller's to release, or -1 with err saying what happened ("no
 * orchestrator answered: ...", a redirect refused).  On 0, err is "" or,
 * when every orchestrator failed and *resp is the last one's 5xx, what
 * each did ("no orchestrator could take it: ...").  *url_out, when not
 * NULL, is the full URL last used (the caller frees it) for messages.
 */
int checkin_request(struct http_client *h, const struct agentcfg *c,
    const char *token, const char *path, const json_t *body,
    struct http_resp *resp, char **url_out, char *err, size_t errlen);

/* cred: token is the node credential (messages say which was refused). */
enum checkin_outcome checkin_post(struct http_client *h,
    const struct agentcfg *c, const char *token, bool cred,
    const json_t *body, struct checkin_answer *a, char *err, size_t errlen);

/*
 * Delay before check-in attempt number attempt (0 = the first retry):
 * 1 s doubling up to cap_ms, then +-20% jitter from rnd so a rack that
 * lost its orchestrator does not come back in lockstep.
 */
int64_t checkin_backoff_ms(unsigned attempt, int64_t cap_ms, uint32_t rnd);

/*
 * The node credential file, <state_dir>/node.credential (caller frees).
 * checkin_cred_load(): the credential, or NULL when there is none (err
 * says why when the file exists but cannot be read or holds no
 * credential).  checkin_cred_save(): written atomically, mode 0600, the
 * state_dir made if missing; 0, or -1 with err.
 */
char *checkin_cred_path(const struct agentcfg *c);
char *checkin_cred_load(const struct agentcfg *c, char *err, size_t errlen);
int checkin_cred_save(const struct agentcfg *c, const char *cred, char *err,
    size_t errlen);
/* A credential as the orchestrator gives it: "rmn_" and 16 to 128 letters
 * or digits (anything else is refused before it reaches a file or a
 * header). */
bool checkin_cred_valid(const char *s);

/* Read the first line of a small file, trimmed; NULL with err. */
char *checkin_read_line(const char *path, const char *what, char *err,
    size_t errlen);

#endif
