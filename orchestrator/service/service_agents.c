/*
 * service_agents.c - agents' check-ins (the role a node is given, the
 * seeds it gets, never bootstrap for a node with data) and heartbeats.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/htab.h"
#include "../../common/log.h"
#include "../../common/sha256.h"
#include "../../common/util.h"
#include "../cfg.h"
#include "../engine/cron.h"
#include "../engine/params.h"
#include "../engine/sched.h"
#include "../engine/task.h"
#include "../http/metrics.h"
#include "../lifecycle/role.h"
#include "../nodes/nodeops.h"
#include "../nodes/ssh.h"
#include "../store/store.h"
#include "../tasks/backup.h"
#include "../tasks/repair.h"
#include "hb.h"
#include "service.h"
#include "service_int.h"
#include "service_json.h"

/* ---------- agents ---------- */

/*
 * A check-in into an unknown cluster creates it with defaults (storage
 * under data_dir, ssh user cassandra) so nodes may boot before an
 * operator registers the cluster; the event says so.
 */
static int ensure_cluster(struct service *s, const char *name,
    struct svc_err *e)
{
	char err[256];
	char *url, *key;
	int rc;

	if (store_cluster_exists(s->st, name))
		return 0;
	url = xasprintf("file://%s/backups/%s", s->data_dir, name);
	key = xasprintf("%s/ssh/id_ed25519", s->data_dir);
	struct store_cluster sc = {
		.name = name, .storage_url = url, .ssh_user = "cassandra",
		.ssh_port = 22, .ssh_key_file = key,
	};
	rc = store_cluster_create(s->st, &sc, err, sizeof(err));
	free(url);
	free(key);
	if (rc != 0 && rc != RM_EEXIST) {
		svc_set(e, RM_ERR, "cannot create cluster '%s': %s",
		    name, err);
		return -1;
	}
	if (rc == 0) {
		struct store_event ev = {
			.actor = "ringmaster", .kind = "cluster",
			.target = name, .cluster = name, .result = "created",
			.detail_json = "{\"reason\":\"agent check-in\"}",
		};
		store_event_append(s->st, &ev, NULL, 0);
		log_info("cluster %s created by an agent's check-in with "
		    "default storage and ssh settings", name);
	}
	task_cluster_add(s->eng, name);
	return 0;
}

const char *service_checkin_role(bool known, bool known_host_id,
    const struct svc_checkin *ci, const char **why)
{
	struct role_in in = {
		.reports_host_id = ci->host_id != NULL,
		.known_host_id = known && known_host_id,
		.cassandra_running = ci->cassandra_running,
		.has_data = ci->has_data,
		.system_keyspace = ci->system_keyspace,
	};
	const char *w = role_member_why(&in);

	if (why != NULL)
		*why = w ? w : "a new node: no host id, no data, Cassandra "
		    "not running";
	return w ? "rejoin" : "bootstrap";
}

/* The first two words of an OpenSSH key line: its type and key. */
static bool hostkey_same(const char *a, const char *b)
{
	for (int word = 0; word < 2; word++) {
		while (*a == ' ' || *a == '\t')
			a++;
		while (*b == ' ' || *b == '\t')
			b++;
		while (*a != '\0' && *a != ' ' && *a != '\t' && *a == *b) {
			a++;
			b++;
		}
		if ((*a != '\0' && *a != ' ' && *a != '\t') ||
		    (*b != '\0' && *b != ' ' && *b != '\t'))
			return false;
	}
	return true;
}

const char *service_identity_change(const struct svc_identity *k,
    const struct svc_checkin *ci, char *why, size_t whylen)
{
	if (k->host_id != NULL && ci->host_id != NULL &&
	    strcmp(k->host_id, ci->host_id) != 0) {
		snprintf(why, whylen, "it is known with host id %.64s and now "
		    "says %.64s", k->host_id, ci->host_id);
		return "host_id";
	}
	if (k->ssh_host_key != NULL && ci->ssh_host_key != NULL &&
	    !hostkey_same(k->ssh_host_key, ci->ssh_host_key)) {
		snprintf(why, whylen, "it sends another SSH host key than the "
		    "one pinned for it");
		return "ssh_host_key";
	}
	if (k->dc != NULL && ci->dc != NULL && strcmp(k->dc, ci->dc) != 0) {
		snprintf(why, whylen, "it is known in dc %.64s and now says "
		    "%.64s", k->dc, ci->dc);
		return "dc";
	}
	if (k->rack != NULL && ci->rack != NULL &&
	    strcmp(k->rack, ci->rack) != 0) {
		snprintf(why, whylen, "it is known in rack %.64s and now says "
		    "%.64s", k->rack, ci->rack);
		return "rack";
	}
	return NULL;
}

/* Is a replacement of the node at address under way (the cluster's slot
 * is held to replace it)?  Its new host may then take its place. */
static bool replacing(struct service *s, const char *cluster,
    const char *address)
{
	struct store_slot sl;

	return store_slot_get(s->st, cluster, &sl) == 0 &&
	    strcmp(sl.kind, "replace") == 0 &&
	    strcmp(sl.dead_address, address) == 0;
}

static void node_event(struct service *s, const char *cluster,
    const char *address, const char *actor, const char *result,
    json_t *detail)
{
	char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	struct store_event ev = {
		.actor = actor, .kind = "node", .target = address,
		.cluster = cluster, .result = result, .detail_json = text,
	};

	store_event_append(s->st, &ev, NULL, 0);
	free(text);
	json_decref(detail);
}

static const char *caller_name(const struct svc_agent_id *w)
{
	return w->by == SVC_BY_ADMIN ? "admin" : w->by == SVC_BY_JOIN ?
	    "agent" : "node";
}

/*
 * A known node (row k) checks in with an identity other than its own:
 * refused with 409 and a "node" event, unless a replacement of it is under
 * way.  0 to go on (the same node), 1 to go on as the replacement's new
 * host, -1 refused.
 */
static int identity_check(struct service *s, const struct svc_checkin *ci,
    const struct store_node_row *k, struct svc_err *e)
{
	struct svc_identity id = {
		.host_id = k->host_id, .ssh_host_key = k->ssh_host_key,
		.dc = k->dc, .rack = k->rack,
	};
	char why[256];
	const char *field = service_identity_change(&id, ci, why, sizeof(why));

	if (field == NULL)
		return 0;
	if (replacing(s, ci->cluster, k->address)) {
		log_info("node %s of cluster %s checks in with a new %s (%s): "
		    "taken, since a replacement of it is under way",
		    ci->address, ci->cluster, field, why);
		return 1;
	}
	node_event(s, ci->cluster, k->address, caller_name(&ci->who),
	    "refused", json_pack("{s:s,s:s,s:s,s:s}", "reason",
	    "identity change", "field", field, "why", why, "from",
	    ci->address));
	log_warnx("check-in of node %s of cluster %s refused: %s", ci->address,
	    ci->cluster, why);
	svc_set(e, RM_ECONFLICT, "check-in refused: node %s of cluster '%s' "
	    "is known, and %s; nothing was changed.  A node's host id, SSH "
	    "host key, dc and rack change only through a replacement: if "
	    "this is a new host, replace the old node (a 'replace' task) or "
	    "remove it first", k->address, ci->cluster, why);
	return -1;
}

/*
 * May this caller check in the node whose record is at address (cred its
 * credential's state)?  0, or -1 with e.
 */
static int checkin_allowed(const struct svc_checkin *ci, const char *address,
    const struct store_node_cred *cred, bool repl, struct svc_err *e)
{
	const struct svc_agent_id *w = &ci->who;

	switch (w->by) {
	case SVC_BY_ADMIN:
		return 0;
	case SVC_BY_NODE:
		if (strcmp(w->cluster, ci->cluster) == 0 &&
		    strcmp(w->address, address) == 0)
			return 0;
		svc_set(e, RM_EFORBIDDEN, "the node credential sent is that "
		    "of node %s of cluster '%s', not of node %s of cluster "
		    "'%s': an agent acts only for its own node", w->address,
		    w->cluster, address, ci->cluster);
		return -1;
	case SVC_BY_JOIN:
		/* The dead node's credential is not the new host's: a new one
		 * replaces it (the identity check still applies). */
		if (repl)
			return 0;
		if (cred->state == STORE_CRED_ACTIVE) {
			svc_set(e, RM_EFORBIDDEN, "node %s of cluster '%s' has "
			    "its own credential: its agent checks in with it "
			    "(state_dir/node.credential), the join token only "
			    "registers new nodes; if the agent lost it, an admin "
			    "readmits the node: 'ringmaster node readmit %s %s'",
			    address, ci->cluster, ci->cluster, address);
			return -1;
		}
		if (cred->state == STORE_CRED_REVOKED) {
			svc_set(e, RM_EFORBIDDEN, "the credential of node %s of "
			    "cluster '%s' was revoked by an admin: the node is "
			    "refused until an admin readmits it ('ringmaster "
			    "node readmit %s %s')", address, ci->cluster,
			    ci->cluster, address);
			return -1;
		}
		return 0;
	}
	return -1;
}

/* A new node credential for (cluster, address): the secret (caller frees),
 * its hash recorded; NULL (logged) when it cannot be recorded. */
static char *credential_issue(struct service *s, const char *cluster,
    const char *address)
{
	unsigned char raw[32];
	char hex[2 * sizeof(raw) + 1], hash[2 * SHA256_LEN + 1], err[256];
	char *secret;

	random_bytes(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), hex);
	secret = xasprintf(STORE_NODE_CRED_PREFIX "%s", hex);
	sha256_hex(secret, strlen(secret), hash);
	if (store_node_cred_set(s->st, cluster, address, hash, err,
	    sizeof(err)) != 0) {
		log_warnx("node %s of cluster %s: cannot record its credential: "
		    "%s; it checks in by join token again", address, cluster,
		    err);
		free(secret);
		return NULL;
	}
	return secret;
}

/*
 * A node taken out on purpose (decommission, remediate: tasks/scale.h)
 * whose agent checks in again with the same host id is refused, never
 * listed again as a member; an event says so, once per check-in.
 */
static bool tombstoned(struct service *s, const struct svc_checkin *ci,
    struct svc_err *e)
{
	struct store_tombstone t;
	char detail[1024];
	json_t *d;

	if (ci->host_id == NULL ||
	    store_tombstone_get(s->st, ci->cluster, ci->host_id, &t) != 0)
		return false;
	d = json_pack("{s:s,s:s,s:s,s:s}", "reason", t.reason, "task",
	    t.task_id, "host_id", ci->host_id, "was", t.address);
	{
		char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
		struct store_event ev = {
			.actor = "ringmaster", .kind = "checkin",
			.target = ci->address, .cluster = ci->cluster,
			.result = "refused", .detail_json = text,
		};
		store_event_append(s->st, &ev, NULL, 0);
		free(text);
	}
	json_decref(d);
	snprintf(detail, sizeof(detail), "node %s (host id %s) was taken out "
	    "of cluster '%s' by task %s (%s): it does not rejoin; wipe its "
	    "data directories to add the host again as a new node",
	    ci->address, ci->host_id, ci->cluster, t.task_id, t.reason);
	svc_set(e, RM_ECONFLICT, "%s", detail);
	return true;
}

int service_checkin(struct service *s, const struct svc_checkin *ci,
    json_t **out, struct svc_err *e)
{
	struct store_node_row known, at;
	struct store_node_cred cred;
	json_t *seeds;
	struct role_out ro;
	struct store_node n;
	char err[256], *credential = NULL;
	const char *target;
	bool created = false, known_hid, failed, moved = false, repl;
	int rc = RM_ENOENT, rc_at, idk = 0, ida = 0;

	if (!store_cluster_exists(s->st, ci->cluster)) {
		/* Only an admin makes clusters: a join token that could would
		 * let anyone holding it make one, with default settings. */
		if (ci->who.by != SVC_BY_ADMIN) {
			svc_set(e, RM_ENOENT, "cluster '%s' is not registered: "
			    "an admin creates it first (POST /api/v1/clusters or "
			    "'ringsh cluster create'); agents only add nodes to "
			    "registered clusters", ci->cluster);
			return -1;
		}
		if (ensure_cluster(s, ci->cluster, e) != 0)
			return -1;
	}
	if (tombstoned(s, ci, e))
		return -1;
	memset(&known, 0, sizeof(known));
	memset(&at, 0, sizeof(at));
	if (ci->host_id != NULL)
		rc = store_node_find_host(s->st, ci->cluster, ci->host_id,
		    &known);
	rc_at = store_node_get(s->st, ci->cluster, ci->address, &at);
	if (rc == RM_ENOENT) {
		store_node_row_release(&known);
		rc = store_node_get(s->st, ci->cluster, ci->address, &known);
	}
	if ((rc != 0 && rc != RM_ENOENT) || (rc_at != 0 && rc_at != RM_ENOENT)) {
		svc_set(e, RM_ERR, "cannot read node %s of cluster '%s': see "
		    "the ringmaster log", ci->address, ci->cluster);
		goto fail;
	}
	/* The record this check-in is about: the node's, found by host id
	 * (it may have a new address), else the one at its address. */
	target = rc == 0 ? known.address : ci->address;
	if (store_node_cred_get(s->st, ci->cluster, target, &cred) != 0) {
		svc_set(e, RM_ERR, "cannot read the credential of node %s of "
		    "cluster '%s': see the ringmaster log", target, ci->cluster);
		goto fail;
	}
	repl = replacing(s, ci->cluster, target);
	if (checkin_allowed(ci, target, &cred, repl, e) != 0)
		goto fail;
	/* Nothing changes a known node's identity but a replacement: not
	 * the record found by host id, nor the one at the address. */
	if ((rc == 0 && (idk = identity_check(s, ci, &known, e)) < 0) ||
	    (rc_at == 0 && (rc != 0 || strcmp(known.address, at.address) != 0) &&
	    (ida = identity_check(s, ci, &at, e)) < 0))
		goto fail;

	/* The new host of a replacement at the dead node's address is a new
	 * node, whatever the dead one's record says. */
	known_hid = rc == 0 && known.host_id != NULL && idk != 1 && ida != 1;
	if (rc == 0) {
		const char *old = known.address;
		/* Same host id, new address: the old row is this node. */
		if (old && strcmp(old, ci->address) != 0 &&
		    store_node_delete(s->st, ci->cluster, old, NULL, 0) == 0) {
			hb_node_forget(s->hb, ci->cluster, old);
			svc_cc_forget(s, ci->cluster);
			moved = true;
		}
	}
	store_node_row_release(&known);
	store_node_row_release(&at);
	failed = svc_lc_role(s, ci, known_hid, &ro) == 1;

	memset(&n, 0, sizeof(n));
	n.cluster = ci->cluster;
	n.address = ci->address;
	n.host_id = ci->host_id;
	n.dc = ci->dc;
	n.rack = ci->rack;
	n.version = ci->cassandra_version;
	n.ssh_host_key = ci->ssh_host_key;
	/* A rejoin whose agent says Cassandra is stopped is not up yet: its
	 * heartbeats will say when it is.  A node told to wait is not
	 * checked in: it asks again, so its last heartbeat stays unset. */
	n.state = failed ? "failed" : ro.role == ROLE_WAIT ? "waiting" :
	    ro.role != ROLE_REJOIN ? "joining" :
	    ci->cassandra_running == 0 ? "unknown" : "up";
	n.last_heartbeat = time_wall_ms();
	n.load_bytes = -1;
	n.is_seed = -1;
	if (store_node_upsert(s->st, &n, &created, err, sizeof(err)) != 0) {
		svc_set(e, RM_ERR, "cannot record node %s: %s",
		    ci->address, err);
		return -1;
	}
	/* The credential follows its node to a new address (the old row
	 * took it along when it went); a node the join token may register
	 * gets one of its own, once. */
	if (ci->who.by == SVC_BY_NODE && moved &&
	    store_node_cred_set(s->st, ci->cluster, ci->address,
	    ci->who.cred_hash, err, sizeof(err)) != 0)
		log_warnx("node %s of cluster %s moved, but its credential "
		    "could not follow: %s", ci->address, ci->cluster, err);
	if (ci->who.by == SVC_BY_JOIN && ci->wants_credential)
		credential = credential_issue(s, ci->cluster, ci->address);
	hb_node_set(s->hb, ci->cluster, ci->address, n.state, n.last_heartbeat,
	    ci->host_id, ci->cassandra_version);
	if (failed)
		hb_node_reason(s->hb, ci->cluster, ci->address, ro.why);
	hb_node_place(s->hb, ci->cluster, ci->address, ci->dc, ci->rack, -1);
	if (created)
		svc_cc_forget(s, ci->cluster);	/* its node count changed */

	/* The first node seeds itself; others get the cluster's seeds. */
	if (ro.first) {
		seeds = json_array();
		json_array_append_new(seeds, json_string(ci->address));
	} else {
		seeds = svc_lc_seeds_json(s, ci->cluster, ci->address, NULL);
	}
	*out = json_pack("{s:s,s:o,s:I,s:s,s:s}", "role", role_name(ro.role),
	    "seeds", seeds, "heartbeat_interval_s",
	    (json_int_t)((s->hb_interval_ms + 999) / 1000), "cluster",
	    ci->cluster, "reason", ro.why);
	if (ro.role == ROLE_REPLACE && ro.replace_address != NULL)
		json_object_set_new(*out, "replace_address",
		    json_string(ro.replace_address));
	if (ro.role == ROLE_WAIT)
		json_object_set_new(*out, "retry_after_s",
		    json_integer(ro.retry_after_s));
	if (credential != NULL) {
		/* Shown once: only its hash is kept. */
		json_object_set_new(*out, "credential", json_string(credential));
		memset(credential, 0, strlen(credential));
		free(credential);
		node_event(s, ci->cluster, ci->address, "agent", "credential",
		    json_pack("{s:s,s:s}", "reason", cred.state ==
		    STORE_CRED_READMIT ? "readmitted" : cred.state ==
		    STORE_CRED_NONE && rc == 0 ? "first credential of a known "
		    "node" : "new node", "credential", "issued"));
	}
	log_info("node %s of cluster %s checked in (%s: %s)%s", ci->address,
	    ci->cluster, role_name(ro.role), ro.why, json_object_get(*out,
	    "credential") ? "; its node credential issued" : "");
	return 0;
fail:
	store_node_row_release(&known);
	store_node_row_release(&at);
	return -1;
}

/*
 * May this caller send the heartbeat of (cluster, address)?  The join
 * token only for a node that never got a credential (an agent from before
 * node credentials).  0, or -1 with e.
 */
static int heartbeat_allowed(struct service *s, const struct svc_heartbeat *hb,
    struct svc_err *e)
{
	const struct svc_agent_id *w = &hb->who;
	struct store_node_cred cred;

	switch (w->by) {
	case SVC_BY_ADMIN:
		return 0;
	case SVC_BY_NODE:
		if (strcmp(w->cluster, hb->cluster) == 0 &&
		    strcmp(w->address, hb->address) == 0)
			return 0;
		svc_set(e, RM_EFORBIDDEN, "the node credential sent is that "
		    "of node %s of cluster '%s', not of node %s of cluster "
		    "'%s': an agent acts only for its own node", w->address,
		    w->cluster, hb->address, hb->cluster);
		return -1;
	case SVC_BY_JOIN:
		if (store_node_cred_get(s->st, hb->cluster, hb->address,
		    &cred) != 0) {
			svc_set(e, RM_ERR, "cannot read the credential of node "
			    "%s: see the ringmaster log", hb->address);
			return -1;
		}
		if (cred.state == STORE_CRED_NONE)
			return 0;
		svc_set(e, RM_EFORBIDDEN, "node %s of cluster '%s' %s: the join "
		    "token may not send its heartbeats; its agent sends them "
		    "with its own credential", hb->address, hb->cluster,
		    cred.state == STORE_CRED_ACTIVE ? "has a node credential" :
		    "had its credential revoked (an admin readmits it: "
		    "'ringmaster node readmit')");
		return -1;
	}
	return -1;
}

int service_heartbeat(struct service *s, const struct svc_heartbeat *hb,
    json_t **answer, struct svc_err *e)
{
	struct hb_beat b = {
		.cluster = hb->cluster, .address = hb->address,
		.host_id = hb->host_id, .version = hb->cassandra_version,
		.status = hb->status, .load_bytes = hb->load_bytes,
		.at_ms = time_wall_ms(), .views = hb->views,
		.nviews = hb->nviews, .views_sent = hb->views_sent,
		.report_json = hb->report_json,
	};
	int rc;

	if (answer != NULL)
		*answer = NULL;
	if (heartbeat_allowed(s, hb, e) != 0)
		return -1;
	rc = hb_beat(s->hb, &b);
	if (rc == HB_HOST_ID_CHANGE && replacing(s, hb->cluster, hb->address)) {
		b.new_host_id_ok = true;
		rc = hb_beat(s->hb, &b);
	}
	if (rc == HB_HOST_ID_CHANGE) {
		svc_set(e, RM_ECONFLICT, "heartbeat refused: node %s of cluster "
		    "'%s' is known with another host id than %s; a node's host "
		    "id changes only through a replacement; its agent checks "
		    "in again", hb->address, hb->cluster, hb->host_id);
		return -1;
	}
	if (rc < 0) {
		svc_set(e, RM_ENOENT, "node %s of cluster '%s' has not "
		    "checked in: its agent must check in first", hb->address,
		    hb->cluster);
		return -1;
	}
	if (rc & HB_SLOT_HOLDER)
		svc_lc_beat(s, hb->cluster, hb->address);
	svc_tl_beat(s->tl, hb->cluster, hb->address, hb->tenants, b.at_ms);
	if (answer != NULL) {
		*answer = svc_lc_beat_answer(s, hb->cluster, hb->seeds_gen);
		svc_tl_answer(s->tl, hb->cluster, hb->address, hb->tenants ?
		    hb->tenants->gen : -1, answer);
	}
	if (rc & HB_NEW_IDENTITY) {
		/* A node learnt its host id (it joined) or was upgraded:
		 * rare, so written through rather than batched. */
		struct store_node n = {
			.cluster = hb->cluster, .address = hb->address,
			.host_id = hb->host_id, .version = hb->cassandra_version,
			.last_heartbeat = -1, .load_bytes = -1, .is_seed = -1,
		};
		char err[256];
		if (store_node_upsert(s->st, &n, NULL, err, sizeof(err)) != 0)
			log_warnx("node %s of cluster %s: cannot record its host "
			    "id or version: %s", hb->address, hb->cluster, err);
	}
	return 0;
}

int service_node_credential(struct service *s, const char *cluster,
    const char *address, bool readmit, const char *who, json_t **out,
    struct svc_err *e)
{
	char err[256];
	int rc = store_node_cred_revoke(s->st, cluster, address, readmit, err,
	    sizeof(err));

	if (rc == RM_ENOENT) {
		svc_set(e, RM_ENOENT, "no node %s in cluster '%s': see GET "
		    "/api/v1/clusters/%s/nodes", address, cluster, cluster);
		return -1;
	}
	if (rc != 0) {
		svc_set(e, RM_ERR, "cannot revoke the credential of node %s: %s",
		    address, err);
		return -1;
	}
	node_event(s, cluster, address, who, readmit ? "readmit" : "revoked",
	    json_pack("{s:s}", "reason", readmit ? "an admin lets the node's "
	    "next check-in by join token get a new credential" : "an admin "
	    "revoked the node's credential"));
	log_info("node %s of cluster %s: credential %s by %s", address, cluster,
	    readmit ? "revoked, node readmitted" : "revoked", who);
	*out = json_pack("{s:s,s:s,s:s}", "cluster", cluster, "address", address,
	    "credential", readmit ? "readmit" : "revoked");
	return 0;
}
