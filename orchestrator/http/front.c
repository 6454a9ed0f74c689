/*
 * front.c - the handler in front of the API: active serves, standby sends
 * clients to the active (front.h).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/http.h"
#include "../../common/util.h"
#include "../ha/ha.h"
#include "api.h"
#include "front.h"
#include "metrics.h"

#define LOCATION_MAX 8192

struct front {
	pthread_rwlock_t lock;		/* api: read per request */
	struct api *api;
	struct ha *ha;
	struct metrics *metrics;
	char *advertise_url;
	pthread_mutex_t phase_mu;	/* phase and the follow fields */
	char phase[160];
	int64_t follow_gen, follow_written_ms;
	char follow_err[512];
};

struct front *front_new(struct ha *ha, struct metrics *m,
    const char *advertise_url)
{
	struct front *f = xcalloc(1, sizeof(*f));
	pthread_rwlockattr_t at;

	/* Writers first: requests keep coming, and the swap must not wait
	 * for a gap between them. */
	pthread_rwlockattr_init(&at);
	pthread_rwlockattr_setkind_np(&at,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&f->lock, &at);
	pthread_rwlockattr_destroy(&at);
	pthread_mutex_init(&f->phase_mu, NULL);
	f->ha = ha;
	f->metrics = m;
	f->advertise_url = xstrdup(advertise_url ? advertise_url : "");
	str_copy(f->phase, "starting", sizeof(f->phase));
	return f;
}

void front_set_api(struct front *f, struct api *api)
{
	pthread_rwlock_wrlock(&f->lock);
	f->api = api;
	pthread_rwlock_unlock(&f->lock);
}

void front_set_phase(struct front *f, const char *phase)
{
	pthread_mutex_lock(&f->phase_mu);
	str_copy(f->phase, phase, sizeof(f->phase));
	pthread_mutex_unlock(&f->phase_mu);
}

void front_set_follow(struct front *f, int64_t generation, int64_t written_ms,
    const char *error)
{
	pthread_mutex_lock(&f->phase_mu);
	f->follow_gen = generation;
	f->follow_written_ms = written_ms;
	str_copy(f->follow_err, error ? error : "", sizeof(f->follow_err));
	pthread_mutex_unlock(&f->phase_mu);
}

void front_free(struct front *f)
{
	if (f == NULL)
		return;
	pthread_rwlock_destroy(&f->lock);
	pthread_mutex_destroy(&f->phase_mu);
	free(f->advertise_url);
	free(f);
}

char *front_location(const char *base, const char *path, const char *query)
{
	size_t bl;
	char *out;

	if (base == NULL || base[0] == '\0' || path == NULL || path[0] != '/')
		return NULL;
	bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if (bl == 0)
		return NULL;
	out = xasprintf("%.*s%s%s%s", (int)bl, base, path,
	    query && query[0] ? "?" : "", query ? query : "");
	if (strlen(out) > LOCATION_MAX) {
		free(out);
		return NULL;
	}
	return out;
}

struct qbuf {
	char *s;
	size_t len, cap;
};

static void qb_add(struct qbuf *q, const char *t)
{
	size_t n = strlen(t);

	if (q->len + n + 1 > q->cap) {
		q->cap = (q->len + n + 1) * 2;
		q->s = xrealloc(q->s, q->cap);
	}
	memcpy(q->s + q->len, t, n + 1);
	q->len += n;
}

static void query_one(void *arg, const char *key, const char *value)
{
	struct qbuf *q = arg;
	char *k = http_url_encode(key, false);

	if (q->len > 0)
		qb_add(q, "&");
	qb_add(q, k);
	free(k);
	if (value != NULL) {
		char *v = http_url_encode(value, false);
		qb_add(q, "=");
		qb_add(q, v);
		free(v);
	}
}

static void reply(struct httpd_resp *resp, int status, json_t *v)
{
	resp->status = status;
	resp->body = json_dumps(v, JSON_COMPACT);
	resp->len = resp->body ? strlen(resp->body) : 0;
	json_decref(v);
}

static void reply_error(struct httpd_resp *resp, int status, const char *code,
    const char *msg)
{
	reply(resp, status, json_pack("{s:{s:s,s:s}}", "error", "code", code,
	    "message", msg));
}

/* Our view of the group: role, the active's URL ("" unknown), the term. */
static const char *role_of(struct front *f, bool api_up, char *url,
    size_t urllen, int64_t *rev)
{
	*rev = 0;
	url[0] = '\0';
	if (f->ha == NULL) {
		str_copy(url, f->advertise_url, urllen);
		return api_up ? "active" : "starting";
	}
	if (ha_state(f->ha, url, urllen, rev) == HA_ACTIVE)
		return api_up ? "active" : "taking-over";
	return "standby";
}

static void answer_ha(struct front *f, bool api_up, struct httpd_resp *resp)
{
	char url[512], phase[160];
	int64_t rev;
	const char *role = role_of(f, api_up, url, sizeof(url), &rev);

	json_t *fol = NULL;

	pthread_mutex_lock(&f->phase_mu);
	str_copy(phase, f->phase, sizeof(phase));
	if (f->ha != NULL && strcmp(role, "standby") == 0) {
		char gen[24] = "";
		if (f->follow_gen > 0)
			snprintf(gen, sizeof(gen), "%016lld",
			    (long long)f->follow_gen);
		fol = json_pack("{s:o,s:o,s:o}", "generation", gen[0] ?
		    json_string(gen) : json_null(), "age_s",
		    f->follow_written_ms > 0 ? json_real((double)(time_wall_ms() -
		    f->follow_written_ms) / 1000.0) : json_null(), "error",
		    f->follow_err[0] ? json_string(f->follow_err) : json_null());
	}
	pthread_mutex_unlock(&f->phase_mu);
	json_t *v = json_pack("{s:s,s:s,s:s,s:s}", "ha",
	    f->ha ? "etcd" : "none", "role", role, "self", f->advertise_url,
	    "phase", api_up ? "serving" : phase);
	if (fol != NULL)
		json_object_set_new(v, "following", fol);
	json_object_set_new(v, "active", url[0] ? json_string(url) :
	    json_null());
	if (rev > 0)
		json_object_set_new(v, "term", json_integer((json_int_t)rev));
	reply(resp, 200, v);
}

static void answer_standby(struct front *f, const struct httpd_req *req,
    struct httpd_resp *resp)
{
	char url[512], msg[1024], phase[160];
	int64_t rev;
	const char *role = role_of(f, false, url, sizeof(url), &rev);
	bool self = strcmp(url, f->advertise_url) == 0;

	if (strcmp(req->path, "/health") == 0 &&
	    (strcmp(req->method, "GET") == 0 ||
	    strcmp(req->method, "HEAD") == 0)) {
		json_t *v = json_pack("{s:s,s:s,s:s}", "status", role, "version",
		    RM_VERSION, "self", f->advertise_url);
		json_object_set_new(v, "active", url[0] && !self ?
		    json_string(url) : json_null());
		reply(resp, 200, v);
		return;
	}
	if (strcmp(req->path, "/metrics") == 0 &&
	    strcmp(req->method, "GET") == 0) {
		resp->status = 200;
		resp->body = metrics_render(f->metrics, NULL, &resp->len);
		resp->content_type = "text/plain; version=0.0.4";
		return;
	}
	if (url[0] != '\0' && !self) {
		struct qbuf q = { NULL, 0, 0 };
		httpd_query_each(req, query_one, &q);
		resp->value_alloc = front_location(url, req->path, q.s);
		free(q.s);
		if (resp->value_alloc != NULL) {
			resp->headers[0].name = "Location";
			resp->headers[0].value = resp->value_alloc;
			snprintf(msg, sizeof(msg), "this orchestrator (%s) is a "
			    "standby: send the request to the active one, %s "
			    "(clients given every orchestrator's URL follow "
			    "this redirect)", f->advertise_url, url);
			reply_error(resp, 307, "standby", msg);
			return;
		}
	}
	pthread_mutex_lock(&f->phase_mu);
	str_copy(phase, f->phase, sizeof(phase));
	pthread_mutex_unlock(&f->phase_mu);
	if (strcmp(role, "standby") == 0)
		snprintf(msg, sizeof(msg), "no orchestrator of this group is "
		    "active right now (%s): an election is under way; retry in "
		    "a few seconds, or see GET /api/v1/ha on each of them",
		    phase);
	else
		snprintf(msg, sizeof(msg), "this orchestrator is %s (%s) and "
		    "does not serve yet: retry in a few seconds", role, phase);
	str_copy(resp->value_buf, "2", sizeof(resp->value_buf));
	resp->headers[0].name = "Retry-After";
	resp->headers[0].value = resp->value_buf;
	reply_error(resp, 503, "not_active", msg);
}

void front_handle(void *arg, const struct httpd_req *req,
    struct httpd_resp *resp)
{
	struct front *f = arg;
	bool up;

	pthread_rwlock_rdlock(&f->lock);
	/* ha_is_active() is our own clock, no I/O: an active whose lease ran
	 * out stops answering at once, before the API is even taken down. */
	up = f->api != NULL && (f->ha == NULL || ha_is_active(f->ha, NULL));
	if (strcmp(req->path, "/api/v1/ha") == 0) {
		pthread_rwlock_unlock(&f->lock);
		if (strcmp(req->method, "GET") != 0) {
			resp->headers[0].name = "Allow";
			resp->headers[0].value = "GET";
			reply_error(resp, 405, "method_not_allowed", "only GET "
			    "is allowed on /api/v1/ha");
			return;
		}
		answer_ha(f, up, resp);
		return;
	}
	if (up) {
		api_handle(f->api, req, resp);
		pthread_rwlock_unlock(&f->lock);
		return;
	}
	pthread_rwlock_unlock(&f->lock);
	answer_standby(f, req, resp);
}
