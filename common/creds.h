/*
 * creds.h - where an S3 store's signing credentials and region come from.
 *
 * Three sources, in this order:
 *
 *   1. struct s3_opts: access_key and secret_key (both or neither), with
 *      session_token if given;
 *   2. the credentials the orchestrator handed this process (the cluster's
 *      secret settings, read from stdin before an agent operation starts:
 *      creds_given_set());
 *   3. the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, with
 *      the options' session_token or else AWS_SESSION_TOKEN.
 *
 * A session token from the environment is never paired with keys from the
 * options: it belongs to the environment's keys.  The region is the
 * options' region, else AWS_REGION, else AWS_DEFAULT_REGION, else
 * "us-east-1".  Empty environment variables count as unset.
 */
#ifndef RM_CREDS_H
#define RM_CREDS_H

#include <stddef.h>

struct s3_opts;

struct creds {
	char *access_key;
	char *secret_key;
	char *token;		/* session token, NULL when none */
	char *region;
};

/*
 * Fill c from o and the environment, read through env (NULL = getenv(),
 * tests pass their own).  Returns 0, or -1 with err saying what is missing
 * and what to set (the caller adds which store); c is then empty.
 */
int creds_resolve(struct creds *c, const struct s3_opts *o,
    const char *(*env)(const char *name), char *err, size_t errlen);
/* Wipes the secret before freeing; leaves c empty.  NULL-safe. */
void creds_release(struct creds *c);

/*
 * Storage credentials in transit from the orchestrator to an agent, as
 * one line on the agent's stdin (never on a command line, in an
 * environment or in a file that outlives the operation):
 *   {"type":"secrets","storage":{"access_key_id":"AKIA...",
 *    "secret_access_key":"...","session_token":"..."}}
 * session_token is optional; the two keys come together or not at all.
 */
#define CREDS_LINE_MAX	16384	/* bytes of the line, its '\n' included */

struct creds_secrets {
	char *access_key;	/* NULL: none given */
	char *secret_key;
	char *token;		/* NULL when none */
};

/* The line (with its '\n') for ak/sk/tok (tok may be NULL); the caller
 * wipes and frees it (creds_wipe_free()).  NULL when ak or sk is empty. */
char *creds_secrets_line(const char *ak, const char *sk, const char *tok);

/*
 * Parse such a line (the '\n' may be there or not), defensively: JSON of
 * exactly that shape, printable ASCII values without blanks, bounded
 * lengths.  0 with *s filled, or -1 with err saying what was wrong - never
 * quoting a value - and *s empty.
 */
int creds_secrets_parse(const char *line, size_t len,
    struct creds_secrets *s, char *err, size_t errlen);
/* Wipes and frees; leaves s empty.  NULL-safe. */
void creds_secrets_release(struct creds_secrets *s);

/*
 * The process's given credentials (source 2 above): a copy of s, or none
 * for NULL.  Call before any thread opens a store (the agent does it
 * before its operation starts); not safe against concurrent
 * creds_resolve().
 */
void creds_given_set(const struct creds_secrets *s);

/* memset-proof wipe of a string, then free().  NULL-safe. */
void creds_wipe_free(char *p);

#endif
