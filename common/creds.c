/*
 * creds.c - see creds.h.
 */
#include "creds.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "s3.h"
#include "util.h"

/*
 * What the orchestrator handed this process (creds_given_set()).  The
 * one piece of state here: an agent operation is one process with one
 * store's credentials, set before its threads start; the orchestrator,
 * which serves many clusters, never sets it and passes each cluster's
 * credentials in struct s3_opts instead.
 */
static struct creds_secrets given;

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
	} else if (given.access_key != NULL && given.secret_key != NULL) {
		ak = given.access_key;
		sk = given.secret_key;
		tok = o->session_token ? o->session_token : given.token;
	} else if (lookup(env, "AWS_ACCESS_KEY_ID") &&
	    lookup(env, "AWS_SECRET_ACCESS_KEY")) {
		ak = lookup(env, "AWS_ACCESS_KEY_ID");
		sk = lookup(env, "AWS_SECRET_ACCESS_KEY");
		tok = o->session_token ? o->session_token :
		    lookup(env, "AWS_SESSION_TOKEN");
	} else {
		err_set(err, errlen, "no credentials; set access_key and "
		    "secret_key or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
		    "(for a cluster's storage: its settings "
		    "storage_access_key_id and storage_secret_access_key)");
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

void creds_wipe_free(char *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, strlen(p));
	free(p);
}

char *creds_secrets_line(const char *ak, const char *sk, const char *tok)
{
	json_t *st, *j;
	char *dump, *line;

	if (ak == NULL || sk == NULL || *ak == '\0' || *sk == '\0')
		return NULL;
	st = json_pack("{s:s, s:s}", "access_key_id", ak,
	    "secret_access_key", sk);
	if (tok != NULL && *tok != '\0')
		json_object_set_new(st, "session_token", json_string(tok));
	j = json_pack("{s:s, s:o}", "type", "secrets", "storage", st);
	dump = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (dump == NULL)
		return NULL;
	line = xasprintf("%s\n", dump);
	creds_wipe_free(dump);
	return line;
}

/* A value as issued: 1..max-1 printable ASCII characters, no blank. */
static bool value_ok(const char *v, size_t max)
{
	size_t n = strlen(v);

	if (n == 0 || n >= max)
		return false;
	for (; *v; v++)
		if (*v <= ' ' || *v > '~')
			return false;
	return true;
}

int creds_secrets_parse(const char *line, size_t len,
    struct creds_secrets *s, char *err, size_t errlen)
{
	static const struct {
		const char *key;
		size_t max;
	} fields[] = {
		{ "access_key_id", 129 }, { "secret_access_key", 257 },
		{ "session_token", 4097 },
	};
	json_error_t je;
	json_t *j = NULL, *st, *v;
	const char *key, *type;
	char **dst[3];

	memset(s, 0, sizeof(*s));
	dst[0] = &s->access_key;
	dst[1] = &s->secret_key;
	dst[2] = &s->token;
	if (len >= CREDS_LINE_MAX) {
		err_set(err, errlen, "the credentials line is longer than %d "
		    "bytes", CREDS_LINE_MAX - 1);
		return -1;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	/* je.text may quote the input: it is not passed on. */
	j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	type = json_string_value(json_object_get(j, "type"));
	st = json_object_get(j, "storage");
	if (!json_is_object(j) || type == NULL ||
	    strcmp(type, "secrets") != 0 || json_object_size(j) != 2 ||
	    !json_is_object(st)) {
		err_set(err, errlen, "the credentials line is not "
		    "{\"type\":\"secrets\",\"storage\":{...}}");
		goto fail;
	}
	json_object_foreach(st, key, v) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(fields); i++)
			if (strcmp(key, fields[i].key) == 0)
				break;
		if (i == ARRAY_SIZE(fields)) {
			err_set(err, errlen, "the credentials line has an "
			    "unknown field 'storage.%.64s'", key);
			goto fail;
		}
		if (!json_is_string(v) || !value_ok(json_string_value(v),
		    fields[i].max)) {
			err_set(err, errlen, "the credentials line's "
			    "'storage.%s' is not 1 to %zu printable ASCII "
			    "characters without blanks", key, fields[i].max - 1);
			goto fail;
		}
		*dst[i] = xstrdup(json_string_value(v));
	}
	if ((s->access_key == NULL) != (s->secret_key == NULL) ||
	    (s->access_key == NULL && s->token != NULL)) {
		err_set(err, errlen, "the credentials line needs "
		    "access_key_id and secret_access_key together (and a "
		    "session_token only with them)");
		goto fail;
	}
	json_decref(j);
	return 0;
fail:
	json_decref(j);
	creds_secrets_release(s);
	return -1;
}

void creds_secrets_release(struct creds_secrets *s)
{
	if (s == NULL)
		return;
	creds_wipe_free(s->access_key);
	creds_wipe_free(s->secret_key);
	creds_wipe_free(s->token);
	memset(s, 0, sizeof(*s));
}

void creds_given_set(const struct creds_secrets *s)
{
	creds_secrets_release(&given);
	if (s == NULL || s->access_key == NULL || s->secret_key == NULL)
		return;
	given.access_key = xstrdup(s->access_key);
	given.secret_key = xstrdup(s->secret_key);
	given.token = s->token ? xstrdup(s->token) : NULL;
}
