/*
 * ha.h - active/standby: leader election among orchestrators with a lease
 * in etcd (etcd.h).
 *
 * Each orchestrator holds a lease of lease_ttl and campaigns by creating
 * <prefix>/active = its advertised URL under that lease, only if the key
 * does not exist.  The one whose create won is active; the key's
 * create_revision is its fencing revision.  The others are standbys: they
 * retry the create every poll interval (which also tells them the active's
 * URL) and win as soon as the key is gone (lease expired or revoked).
 *
 * The active renews its lease every lease_ttl/3.  Its lease is good until
 * the send time of the last successful renewal plus the TTL (etcd started
 * its countdown after that moment, so etcd cannot expire it earlier); past
 * that instant it is standby by its own clock, whether or not etcd
 * answers: ha_is_active() turns false at once, and the notification
 * follows as soon as the thread sees it (every request of an active is
 * bounded by that instant).
 *
 * Threads: ha_start() starts one thread that owns the election.  The
 * notification runs on it, without any ha lock held; it must not call
 * ha_stop(), and it must return quickly (hand slow work such as restoring
 * the newest state to another thread): renewals wait while it runs, and a
 * notification that outlasts the lease costs the term.  ha_is_active(), ha_state() and ha_fence_check() may be
 * called from any thread.
 */
#ifndef RM_HA_H
#define RM_HA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ha;

enum ha_role { HA_STANDBY, HA_ACTIVE };

struct ha_config {
	const char *endpoints;		/* etcd_endpoints: "http://h:p,..." */
	const char *prefix;		/* ha_prefix: the key is <prefix>/active */
	const char *advertise_url;	/* advertise_url: what standbys send
					 * clients to */
	int64_t lease_ttl_ms;		/* ha_lease_ttl; whole seconds >= 2 s;
					 * 0: 5 s */
	int64_t poll_ms;		/* standby's look at the key; 0: 1 s */
};

/*
 * Called on every change of role or of the active's URL as this
 * orchestrator knows it: role HA_ACTIVE with our URL and the fencing
 * revision, or HA_STANDBY with the active's URL ("" when none is known)
 * and 0.  reason says why, for the log.
 */
typedef void (*ha_notify_fn)(void *arg, enum ha_role role,
    const char *active_url, int64_t fence_rev, const char *reason);

/* Check cfg and create the election (not started).  NULL with err. */
struct ha *ha_new(const struct ha_config *cfg, ha_notify_fn notify,
    void *arg, char *err, size_t errlen);
/* Start campaigning.  Returns at once; etcd may be unreachable for now. */
int ha_start(struct ha *h, char *err, size_t errlen);
/* Resign: stop the thread, become standby, revoke the lease so a standby
 * takes over at its next look.  Idempotent; NULL-safe. */
void ha_stop(struct ha *h);
/* Stops first when running.  NULL-safe. */
void ha_free(struct ha *h);

/* Active right now by our own clock; *fence_rev (may be NULL) then holds
 * the fencing revision.  No I/O. */
bool ha_is_active(struct ha *h, int64_t *fence_rev);
/* The role by our own clock; url (may be NULL) receives our URL when
 * active, the active's when standby ("" when unknown). */
enum ha_role ha_state(struct ha *h, char *url, size_t urllen,
    int64_t *fence_rev);
/* The key the election uses (<prefix>/active). */
const char *ha_key(const struct ha *h);

/*
 * Ask etcd whether <prefix>/active still has create_revision revision
 * (one transaction, bounded by a short timeout).  0 when it has; -1 with
 * the reason when it has not or etcd cannot say.  A step start calls
 * ha_is_active() first (cheap) and this with the revision it got, so a
 * stale active's write is refused even when its clock misleads it.
 */
int ha_fence_check(struct ha *h, int64_t revision, char *err,
    size_t errlen);

#endif
