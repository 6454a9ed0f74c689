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
	struct store_node_row known;
	json_t *seeds;
	struct role_out ro;
	struct store_node n;
	char err[256];
	bool created = false, known_hid, failed;
	int rc = RM_ENOENT;

	if (ensure_cluster(s, ci->cluster, e) != 0)
		return -1;
	if (tombstoned(s, ci, e))
		return -1;
	memset(&known, 0, sizeof(known));
	if (ci->host_id != NULL)
		rc = store_node_find_host(s->st, ci->cluster, ci->host_id,
		    &known);
	if (rc == RM_ENOENT) {
		store_node_row_release(&known);
		rc = store_node_get(s->st, ci->cluster, ci->address, &known);
	}
	if (rc != 0 && rc != RM_ENOENT) {
		store_node_row_release(&known);
		svc_set(e, RM_ERR, "cannot read node %s of cluster '%s': see "
		    "the ringmaster log", ci->address, ci->cluster);
		return -1;
	}
	known_hid = rc == 0 && known.host_id != NULL;
	if (rc == 0) {
		const char *old = known.address;
		/* Same host id, new address: the old row is this node. */
		if (old && strcmp(old, ci->address) != 0 &&
		    store_node_delete(s->st, ci->cluster, old, NULL, 0) == 0) {
			hb_node_forget(s->hb, ci->cluster, old);
			svc_cc_forget(s, ci->cluster);
		}
	}
	store_node_row_release(&known);
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
	log_info("node %s of cluster %s checked in (%s: %s)", ci->address,
	    ci->cluster, role_name(ro.role), ro.why);
	return 0;
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
	int rc = hb_beat(s->hb, &b);

	if (answer != NULL)
		*answer = NULL;
	if (rc < 0) {
		svc_set(e, RM_ENOENT, "node %s of cluster '%s' has not "
		    "checked in: its agent must check in first", hb->address,
		    hb->cluster);
		return -1;
	}
	if (rc & HB_SLOT_HOLDER)
		svc_lc_beat(s, hb->cluster, hb->address);
	if (answer != NULL)
		*answer = svc_lc_beat_answer(s, hb->cluster, hb->seeds_gen);
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
