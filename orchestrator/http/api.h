/*
 * api.h - the REST API of docs/api.md: routing, authorisation, body
 * validation, error bodies and audit of mutating requests.
 *
 * api_handle() is the httpd handler.  It never runs work: it checks the
 * request, calls one service function and turns the answer into JSON.
 * A request that fails validation changes nothing.
 */
#ifndef RM_API_H
#define RM_API_H

#include <stddef.h>

#include "httpd.h"

struct service;
struct auth;

#define API_MAX_BODY (1024 * 1024)

struct api;

/* s and a are borrowed and must outlive the api. */
struct metrics;
struct api *api_new(struct service *s, struct auth *a, struct metrics *m);
void api_free(struct api *api);
/* The limits of docs/security.md ("Limits"): wrong tokens per client
 * address (429 once spent) and refused requests audited per token name.
 * Without this call neither is limited.  Call before serving; called again
 * while serving (SIGHUP), it changes their settings and keeps what they
 * counted. */
struct authlimit_conf;
void api_set_limits(struct api *api, const struct authlimit_conf *auth_fails,
    const struct authlimit_conf *refusals);

/* The httpd handler; arg is the struct api. */
void api_handle(void *arg, const struct httpd_req *req,
    struct httpd_resp *resp);

#endif
