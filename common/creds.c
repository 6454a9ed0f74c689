/*
 * creds.c - see creds.h.
 */
#include "creds.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "util.h"

/* A variable that is set but empty is treated as unset: an exported
 * AWS_SESSION_TOKEN= must not turn into an empty security token header. */
static const char *lookup(const char *(*env)(const char *), const char *name)
{
	const char *v = env ? env(name) : getenv(name);
	return v && *v ? v : NULL;
}

int creds_resolve(struct creds *c, const struct s3_opts *o,
    const char *(*env)(const char *name), char *err, size_t errlen)
{
	const char *ak, *sk, *tok;

	memset(c, 0, sizeof(*c));
	c->region = xstrdup(o->region ? o->region :
	    lookup(env, "AWS_REGION") ? lookup(env, "AWS_REGION") :
	    lookup(env, "AWS_DEFAULT_REGION") ?
	    lookup(env, "AWS_DEFAULT_REGION") : "us-east-1");
	if (o->access_key || o->secret_key) {
		if (!o->access_key || !o->secret_key) {
			err_set(err, errlen, "an access key needs its secret key "
			    "and the other way round");
			goto fail;
		}
		ak = o->access_key;
		sk = o->secret_key;
		tok = o->session_token;
	} else if (lookup(env, "AWS_ACCESS_KEY_ID") &&
	    lookup(env, "AWS_SECRET_ACCESS_KEY")) {
		ak = lookup(env, "AWS_ACCESS_KEY_ID");
		sk = lookup(env, "AWS_SECRET_ACCESS_KEY");
		tok = o->session_token ? o->session_token :
		    lookup(env, "AWS_SESSION_TOKEN");
	} else {
		err_set(err, errlen, "no credentials; set access_key and "
		    "secret_key or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
		goto fail;
	}
	c->access_key = xstrdup(ak);
	c->secret_key = xstrdup(sk);
	c->token = tok ? xstrdup(tok) : NULL;
	return 0;
fail:
	creds_release(c);
	return -1;
}

void creds_release(struct creds *c)
{
	if (c == NULL)
		return;
	/* The secret should not outlive the store in freed heap memory;
	 * explicit_bzero() is not optimised away before free(). */
	if (c->secret_key)
		explicit_bzero(c->secret_key, strlen(c->secret_key));
	free(c->access_key);
	free(c->secret_key);
	free(c->token);
	free(c->region);
	memset(c, 0, sizeof(*c));
}
