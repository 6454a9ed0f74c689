/*
 * ha.c - leader election over an etcd lease (ha.h).
 *
 * One thread runs the election as a loop of due times: renew the lease
 * (every TTL/3, sooner after a failure), look at the key (every poll
 * interval: a standby's look is the campaign itself, a create-if-absent
 * transaction whose failure branch reads the holder; an active's look
 * checks that the key still carries its create_revision), and the lease's
 * own deadline.  Between them it waits on a condition variable so
 * ha_stop() wakes it at once.
 *
 * The lease is held in both roles, so a standby campaigns with one request
 * when the key goes.  A lease whose deadline passed by our clock is
 * dropped and remembered as stale: etcd may still hold it (and the key
 * with it) until its own countdown ends, so it is revoked as soon as etcd
 * answers again, which frees the key for whoever campaigns first instead
 * of waiting out the rest of the TTL.
 *
 * The shared part (role, URL, revision, deadline) sits under a mutex that
 * guards data only: no request is made with it held.
 */
#include "ha.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "etcd.h"

/* A renewal that failed is retried this soon (bounded by the deadline). */
#define HA_RETRY_MS	250
/* The longest any one etcd request may take. */
#define HA_REQ_MAX_MS	1000

struct ha {
	char *endpoints;
	char *key;
	char *url;
	int64_t ttl_ms;
	int64_t poll_ms;
	ha_notify_fn notify;
	void *arg;

	struct etcd *etcd;		/* the thread's */
	struct etcd *fence;		/* ha_fence_check's, under fence_lock */
	pthread_mutex_t fence_lock;

	pthread_mutex_t lock;		/* guards what follows */
	pthread_cond_t wake;
	bool running, stopping;
	enum ha_role role;
	char *active_url;		/* ours when active; "" when unknown */
	int64_t fence_rev;
	int64_t deadline_ms;		/* active until then (monotonic) */
	pthread_t thread;

	/* The thread's own; read by ha_stop() only after the join. */
	int64_t lease;			/* 0: none */
	int64_t lease_deadline_ms;
	int64_t stale_lease;		/* dropped, to revoke */
	enum ha_role told_role;		/* what notify last said */
	char *told_url;
	bool failing;			/* an etcd outage was logged */
};

static int64_t now_ms(void)
{
	return time_mono_ms();
}

struct ha *ha_new(const struct ha_config *cfg, ha_notify_fn notify,
    void *arg, char *err, size_t errlen)
{
	int64_t ttl = cfg->lease_ttl_ms ? cfg->lease_ttl_ms : 5000;
	const char *p = cfg->prefix;

	if (ttl < 2000 || ttl > 3600 * 1000 || ttl % 1000 != 0) {
		err_set(err, errlen, "ha_lease_ttl %" PRId64 " ms is not a "
		    "whole number of seconds from 2 s to 1 h (etcd counts "
		    "leases in seconds; renewals come every third of it)",
		    ttl);
		return NULL;
	}
	if (!p || p[0] != '/' || strlen(p) > 200 || strpbrk(p, " \t\r\n")) {
		err_set(err, errlen, "ha_prefix '%s' is not a key path "
		    "starting with '/' (at most 200 characters, no spaces)",
		    p ? p : "");
		return NULL;
	}
	const char *u = cfg->advertise_url;
	if (!u || !(str_starts_with(u, "http://") ||
	    str_starts_with(u, "https://")) || strlen(u) > 500 ||
	    strpbrk(u, " \t\r\n")) {
		err_set(err, errlen, "advertise_url '%s' is not an http:// or "
		    "https:// URL; set it to the address clients use for "
		    "this orchestrator", u ? u : "");
		return NULL;
	}
	struct ha *h = xcalloc(1, sizeof(*h));
	h->etcd = etcd_new(cfg->endpoints, HA_REQ_MAX_MS, err, errlen);
	if (!h->etcd) {
		free(h);
		return NULL;
	}
	h->fence = etcd_new(cfg->endpoints, HA_REQ_MAX_MS, err, errlen);
	if (!h->fence) {
		etcd_free(h->etcd);
		free(h);
		return NULL;
	}
	h->endpoints = xstrdup(cfg->endpoints);
	size_t pl = strlen(p);
	while (pl > 1 && p[pl - 1] == '/')
		pl--;
	h->key = xasprintf("%.*s/active", (int)pl, p);
	h->url = xstrdup(u);
	h->ttl_ms = ttl;
	h->poll_ms = cfg->poll_ms > 0 ? cfg->poll_ms : 1000;
	h->notify = notify;
	h->arg = arg;
	h->active_url = xstrdup("");
	h->told_url = xstrdup("");
	h->told_role = HA_STANDBY;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->fence_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->wake, &ca);
	pthread_condattr_destroy(&ca);
	return h;
}

const char *ha_key(const struct ha *h)
{
	return h->key;
}

/* Caller holds h->lock. */
static bool do_is_active(struct ha *h)
{
	return h->role == HA_ACTIVE && now_ms() < h->deadline_ms;
}

bool ha_is_active(struct ha *h, int64_t *fence_rev)
{
	pthread_mutex_lock(&h->lock);
	bool a = do_is_active(h);
	if (fence_rev)
		*fence_rev = a ? h->fence_rev : 0;
	pthread_mutex_unlock(&h->lock);
	return a;
}

enum ha_role ha_state(struct ha *h, char *url, size_t urllen,
    int64_t *fence_rev)
{
	pthread_mutex_lock(&h->lock);
	bool a = do_is_active(h);
	if (url)
		/* A standby by its own clock that has not yet heard of a
		 * successor knows no active. */
		str_copy(url, a || h->role == HA_STANDBY ? h->active_url : "",
		    urllen);
	if (fence_rev)
		*fence_rev = a ? h->fence_rev : 0;
	pthread_mutex_unlock(&h->lock);
	return a ? HA_ACTIVE : HA_STANDBY;
}

/* Record the new state and tell the owner when it changed. */
static void set_state(struct ha *h, enum ha_role role, const char *url,
    int64_t rev, int64_t deadline, const char *reason)
{
	pthread_mutex_lock(&h->lock);
	h->role = role;
	if (strcmp(h->active_url, url) != 0) {
		free(h->active_url);
		h->active_url = xstrdup(url);
	}
	h->fence_rev = rev;
	h->deadline_ms = deadline;
	pthread_mutex_unlock(&h->lock);

	if (role == h->told_role && strcmp(url, h->told_url) == 0)
		return;
	h->told_role = role;
	free(h->told_url);
	h->told_url = xstrdup(url);
	if (role == HA_ACTIVE)
		log_info("ha: active as %s (fencing revision %" PRId64 ", key "
		    "%s): %s", url, rev, h->key, reason);
	else
		log_info("ha: standby, active %s: %s", url[0] ? url :
		    "unknown", reason);
	if (h->notify)
		h->notify(h->arg, role, url, rev, reason);
}

static void step_down(struct ha *h, const char *reason)
{
	set_state(h, HA_STANDBY, "", 0, 0, reason);
}

/* An outage is logged at its first failure and at its end, not at each
 * retry (four a second while it lasts). */
static void note_err(struct ha *h, const char *what, const char *err)
{
	if (h->failing) {
		log_debug("ha: %s: %s", what, err);
		return;
	}
	h->failing = true;
	log_warnx("ha: %s: %s; retrying while it lasts", what, err);
}

static void note_ok(struct ha *h)
{
	if (!h->failing)
		return;
	h->failing = false;
	log_info("ha: etcd answers again (%s)", etcd_endpoint(h->etcd));
}

/* Bound the next request: never past the lease's deadline while active,
 * so the step-down is not held up by an etcd that does not answer. */
static void bound_request(struct ha *h)
{
	int64_t t = HA_REQ_MAX_MS;

	if (h->ttl_ms / 4 < t)
		t = h->ttl_ms / 4;
	if (h->role == HA_ACTIVE && h->lease) {
		int64_t left = h->lease_deadline_ms - now_ms();
		if (left < t)
			t = left > 1 ? left : 1;
	}
	etcd_set_timeout(h->etcd, (long)t);
}

/* The lease ran out by our clock: stop being active, drop it. */
static void lease_lost(struct ha *h, const char *reason)
{
	if (h->role == HA_ACTIVE)
		step_down(h, reason);
	if (h->lease)
		h->stale_lease = h->lease;
	h->lease = 0;
}

static void grant(struct ha *h, int64_t *next_renew)
{
	char err[300];
	int64_t id, ttl_s;
	int64_t sent = now_ms();

	bound_request(h);
	if (etcd_lease_grant(h->etcd, h->ttl_ms / 1000, &id, &ttl_s, err,
	    sizeof(err)) < 0) {
		note_err(h, "cannot get a lease", err);
		*next_renew = now_ms() + HA_RETRY_MS;
		return;
	}
	note_ok(h);
	h->lease = id;
	h->lease_deadline_ms = sent + ttl_s * 1000;
	*next_renew = sent + ttl_s * 1000 / 3;
}

static void renew(struct ha *h, int64_t *next_renew)
{
	char err[300];
	int64_t ttl_s;
	int64_t sent = now_ms();

	bound_request(h);
	if (etcd_lease_keepalive(h->etcd, h->lease, &ttl_s, err,
	    sizeof(err)) < 0) {
		note_err(h, "cannot renew the lease", err);
		*next_renew = now_ms() + HA_RETRY_MS;
		return;
	}
	if (ttl_s == 0) {
		lease_lost(h, "etcd says the lease expired");
		h->stale_lease = 0;	/* nothing left to revoke */
		*next_renew = now_ms();
		return;
	}
	note_ok(h);
	h->lease_deadline_ms = sent + ttl_s * 1000;
	*next_renew = sent + ttl_s * 1000 / 3;
	if (h->role == HA_ACTIVE) {
		pthread_mutex_lock(&h->lock);
		h->deadline_ms = h->lease_deadline_ms;
		pthread_mutex_unlock(&h->lock);
	}
}

/* A standby's look: the campaign, which names the holder when it fails. */
static void campaign(struct ha *h)
{
	char err[300];
	bool created;
	int64_t rev;
	struct etcd_kv holder;

	bound_request(h);
	if (etcd_create(h->etcd, h->key, h->url, h->lease, &created, &rev,
	    &holder, err, sizeof(err)) < 0) {
		note_err(h, "cannot campaign", err);
		return;
	}
	note_ok(h);
	if (created) {
		/* The create happened after the lease's last renewal was
		 * sent, so the lease's deadline bounds the term. */
		if (now_ms() >= h->lease_deadline_ms) {
			lease_lost(h, "won after the lease ran out");
			return;
		}
		char why[120];
		snprintf(why, sizeof(why), "created %s under lease %" PRIx64,
		    h->key, (uint64_t)h->lease);
		set_state(h, HA_ACTIVE, h->url, rev, h->lease_deadline_ms, why);
		return;
	}
	if (holder.key && holder.lease == h->lease) {
		/* Ours already (a create whose answer was lost): take it. */
		set_state(h, HA_ACTIVE, h->url, holder.create_revision,
		    h->lease_deadline_ms, "the key is already under our lease");
	} else if (holder.key) {
		char *u = xstrndup(holder.value, holder.value_len);
		set_state(h, HA_STANDBY, u, 0, 0, "another orchestrator "
		    "holds the key");
		free(u);
	} else {
		set_state(h, HA_STANDBY, "", 0, 0, "the key went away");
	}
	etcd_kv_release(&holder);
}

/* An active's look: is the key still the one we created? */
static void check_key(struct ha *h)
{
	char err[300];
	struct etcd_kv kv;
	bool found;
	int64_t rev;

	bound_request(h);
	if (etcd_get(h->etcd, h->key, &kv, &found, err, sizeof(err)) < 0) {
		note_err(h, "cannot read the key", err);
		return;
	}
	note_ok(h);
	pthread_mutex_lock(&h->lock);
	rev = h->fence_rev;
	pthread_mutex_unlock(&h->lock);
	if (!found)
		step_down(h, "the key is gone (deleted by hand?)");
	else if (kv.create_revision != rev)
		step_down(h, "the key was created again by someone else");
	etcd_kv_release(&kv);
}

static void revoke_stale(struct ha *h)
{
	char err[300];

	bound_request(h);
	if (etcd_lease_revoke(h->etcd, h->stale_lease, err,
	    sizeof(err)) == 0) {
		note_ok(h);
		h->stale_lease = 0;
	} else {
		note_err(h, "cannot revoke the lease that ran out", err);
	}
}

static void *run(void *arg)
{
	struct ha *h = arg;
	int64_t next_renew = 0, next_look = 0;

	for (;;) {
		pthread_mutex_lock(&h->lock);
		bool stop = h->stopping;
		pthread_mutex_unlock(&h->lock);
		if (stop)
			break;

		int64_t now = now_ms();
		if (h->lease && now >= h->lease_deadline_ms)
			lease_lost(h, "the lease was not renewed within its "
			    "TTL");
		if (h->role == HA_STANDBY && h->stale_lease)
			revoke_stale(h);
		if (!h->lease && now_ms() >= next_renew)
			grant(h, &next_renew);
		else if (h->lease && now_ms() >= next_renew)
			renew(h, &next_renew);
		if (h->lease && now_ms() >= next_look &&
		    now_ms() < h->lease_deadline_ms) {
			if (h->role == HA_STANDBY)
				campaign(h);
			else
				check_key(h);
			next_look = now_ms() + h->poll_ms;
		}

		int64_t until = next_renew;
		if (h->lease && next_look < until)
			until = next_look;
		if (h->lease && h->lease_deadline_ms < until)
			until = h->lease_deadline_ms;
		struct timespec ts = {
			.tv_sec = until / 1000,
			.tv_nsec = (long)(until % 1000) * 1000000L,
		};
		pthread_mutex_lock(&h->lock);
		while (!h->stopping && now_ms() < until)
			if (pthread_cond_timedwait(&h->wake, &h->lock,
			    &ts) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&h->lock);
	}
	return NULL;
}

int ha_start(struct ha *h, char *err, size_t errlen)
{
	pthread_mutex_lock(&h->lock);
	if (h->running) {
		pthread_mutex_unlock(&h->lock);
		err_set(err, errlen, "ha election already started");
		return -1;
	}
	h->stopping = false;
	int rc = pthread_create(&h->thread, NULL, run, h);
	if (rc == 0)
		h->running = true;
	pthread_mutex_unlock(&h->lock);
	if (rc != 0) {
		err_set(err, errlen, "cannot start the ha thread: %s",
		    strerror(rc));
		return -1;
	}
	return 0;
}

void ha_stop(struct ha *h)
{
	char err[300];

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	if (!h->running) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	h->stopping = true;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);

	/* Standby first: nothing of ours may start once we revoke. */
	step_down(h, "resigned");
	etcd_set_timeout(h->etcd, HA_REQ_MAX_MS);
	for (int i = 0; i < 2; i++) {
		int64_t id = i == 0 ? h->lease : h->stale_lease;
		if (id && etcd_lease_revoke(h->etcd, id, err,
		    sizeof(err)) < 0)
			log_warnx("ha: cannot revoke lease %" PRIx64 " on "
			    "resigning: %s; a standby takes over when it "
			    "expires", (uint64_t)id, err);
	}
	h->lease = h->stale_lease = 0;
	pthread_mutex_lock(&h->lock);
	h->running = false;
	pthread_mutex_unlock(&h->lock);
}

int ha_fence_check(struct ha *h, int64_t revision, char *err,
    size_t errlen)
{
	char e2[300];
	bool holds;

	pthread_mutex_lock(&h->fence_lock);
	int rc = etcd_check_create_revision(h->fence, h->key, revision,
	    &holds, e2, sizeof(e2));
	pthread_mutex_unlock(&h->fence_lock);
	if (rc < 0) {
		err_set(err, errlen, "cannot check fencing revision %" PRId64
		    " of %s: %s; not starting", revision, h->key, e2);
		return -1;
	}
	if (!holds) {
		err_set(err, errlen, "fencing revision %" PRId64 " of %s is "
		    "stale: another orchestrator became active; not "
		    "starting", revision, h->key);
		return -1;
	}
	return 0;
}

void ha_free(struct ha *h)
{
	if (!h)
		return;
	ha_stop(h);
	etcd_free(h->etcd);
	etcd_free(h->fence);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->fence_lock);
	pthread_cond_destroy(&h->wake);
	free(h->endpoints);
	free(h->key);
	free(h->url);
	free(h->active_url);
	free(h->told_url);
	free(h);
}
