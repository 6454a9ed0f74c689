/*
 * creds.h - where an S3 store's signing credentials and region come from.
 *
 * Two sources, in this order:
 *
 *   1. struct s3_opts: access_key and secret_key (both or neither), with
 *      session_token if given;
 *   2. the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, with
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

#endif
