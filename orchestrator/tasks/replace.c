/*
 * replace.c - see replace.h.
 *
 * Everything a restart must know lives in the cluster's slot row, written
 * before the act it announces: the slot is taken with the task's id, the
 * provider's state goes to "asking" before the command runs and to
 * "answered" with the address before the new node is told anything, and
 * the join is marked on the row by the service when the heartbeats show
 * it.  The steps only read that row and wait parked, so a kill -9 at any
 * point resumes where the row says, and a provider that answered is never
 * asked again.  The one window left is a crash while the command runs (no
 * answer recorded): it is asked again with the same idempotency key.
 */
#include "replace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../engine/params.h"
#include "../engine/task.h"
#include "../nodes/provider.h"
#include "../store/store.h"
#include "forget.h"
#include "scale_util.h"

#define WAIT_SLOT_MS		3000	/* a bootstrap holds the slot */
#define WAIT_JOIN_MS		1000	/* the new node streams */
#define WAIT_PROVIDER_MS	300	/* the provider command runs */
/* The store's node state trails the detector by a flush (about 1 s): a
 * node just judged down is given this long to read down there. */
#define STATE_GRACE_MS		5000
/* timeout_s when none was given (bootstrap_timeout's default). */
#define DEFAULT_TIMEOUT_S	14400

static const struct param_spec replace_params[] = {
	{ "node", PT_ADDR, 0, 0, NULL, NULL, PF_REQUIRED,
	  "the dead node's address; it must be down: silent, seen DN by a "
	  "live peer and UN by none" },
	{ "new_address", PT_ADDR, 0, 0, NULL, NULL, 0,
	  "the host that takes its place (default: the cluster's provider "
	  "finds one)" },
	{ "timeout_s", PT_INT, 1, 82800, NULL, NULL, 0,
	  "seconds the replacement may take once it holds the cluster's slot "
	  "(default: the orchestrator's bootstrap_timeout)" },
	{ "provider_timeout_s", PT_INT, 1, 3600, "600", NULL, 0,
	  "seconds provider_command may run before it is killed" },
	/* The forget step runs the agent on the new node and its peers. */
	PARAMS_AGENT,
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static int replace_validate(json_t *params, char *err, size_t errlen)
{
	const char *node = scale_util_pstr(params, "node");
	const char *na = scale_util_pstr(params, "new_address");

	if (node != NULL && na != NULL && strcmp(na, node) == 0) {
		snprintf(err, errlen, "params.new_address is the dead node's own "
		    "address: a node that comes back on its address rejoins by "
		    "itself; give another host");
		return -1;
	}
	return 0;
}

static int replace_plan(const json_t *params, const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	static const char *const steps[] = {
		"check", "slot", "host", "join", "forget", "finish",
	};

	(void)params;
	(void)nodes;
	(void)err;
	(void)errlen;
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		task_plan_add(plan, steps[i], NULL);
	return 0;
}

bool replace_pending(struct store *st, const char *cluster, const char *node,
    char *id, size_t idlen)
{
	static const char *const states[] = { "queued", "running", "paused" };

	for (size_t k = 0; k < ARRAY_SIZE(states); k++) {
		char cursor[STORE_CURSOR_MAX] = "";
		do {
			struct store_task_page pg;
			bool found = false;
			if (store_task_list(st, cluster, states[k], cursor, 100,
			    &pg) != 0) {
				store_task_page_release(&pg);
				if (id != NULL)
					str_copy(id, "", idlen);
				return true;
			}
			for (size_t i = 0; i < pg.n && !found; i++) {
				const char *n = scale_util_pstr(
				    pg.items[i].params, "node");
				if (strcmp(pg.items[i].type, "replace") == 0 &&
				    n != NULL && strcmp(n, node) == 0) {
					found = true;
					if (id != NULL)
						str_copy(id, pg.items[i].id, idlen);
				}
			}
			str_copy(cursor, pg.next, sizeof(cursor));
			store_task_page_release(&pg);
			if (found)
				return true;
		} while (cursor[0] != '\0');
	}
	return false;
}

/* Why a node in state is not replaced, for the error. */
static const char *not_down_why(const char *state)
{
	if (strcmp(state, "agent_down") == 0)
		return "a live peer sees it up (UN): its agent is silent, "
		    "Cassandra is not; restart its agent instead";
	if (strcmp(state, "unreachable") == 0)
		return "no live peer has a view of it, so nothing confirms it "
		    "dead; wait for its peers' heartbeats or bring it back";
	if (strcmp(state, "up") == 0)
		return "it is up and heartbeating";
	return "only a node judged down (silent, seen DN by a live peer and UN "
	    "by none) is replaced";
}

/* The task refused before anything is recorded: the node must be known,
 * down, and not already being replaced. */
static int replace_admit(struct store *st, const char *cluster,
    const json_t *params, char *err, size_t errlen)
{
	const char *node = scale_util_pstr(params, "node");
	struct store_node_row r;
	char id[STORE_ID_MAX];
	int rc;

	rc = store_node_get(st, cluster, node, &r);
	if (rc == RM_ENOENT) {
		snprintf(err, errlen, "node %s is not a node of cluster '%s': "
		    "GET /api/v1/clusters/%s/nodes lists them", node, cluster,
		    cluster);
	} else if (rc != 0) {
		snprintf(err, errlen, "cannot read node %s of cluster '%s'; see "
		    "the ringmaster log", node, cluster);
	} else if (replace_pending(st, cluster, node, id, sizeof(id))) {
		snprintf(err, errlen, "node %s is already being replaced by task "
		    "%s", node, id[0] ? id : "(unknown: the store could not be "
		    "read)");
		rc = -1;
	}
	store_node_row_release(&r);
	return rc == 0 ? 0 : -1;
}

/* ---- what the steps share ------------------------------------------------ */

/* The slot when this task holds it: 1 with *sl, 0 when it does not, -1
 * (err) when the store cannot say. */
static int my_slot(struct task_ctx *ctx, struct store_slot *sl, char *err,
    size_t errlen)
{
	int rc = store_slot_get(task_ctx_store(ctx), task_ctx_cluster(ctx), sl);

	if (rc == RM_ENOENT)
		return 0;
	if (rc != 0) {
		snprintf(err, errlen, "cannot read the cluster's slot; see the "
		    "ringmaster log");
		return -1;
	}
	return strcmp(sl->task_id, task_ctx_id(ctx)) == 0 ? 1 : 0;
}

/* Free the slot this task holds, with a slot event; quiet when it holds
 * none (freed already: safe to call twice). */
static void free_slot(struct task_ctx *ctx, const char *node,
    const char *why)
{
	struct store *st = task_ctx_store(ctx);
	const char *cluster = task_ctx_cluster(ctx);
	struct store_slot sl;
	char err[256];

	if (my_slot(ctx, &sl, err, sizeof(err)) != 1)
		return;
	if (store_slot_release_task(st, cluster, task_ctx_id(ctx), err,
	    sizeof(err)) != 0)
		return;
	scale_util_event(st, cluster, "slot", sl.holder[0] ? sl.holder :
	    node, "freed", json_pack("{s:s,s:s,s:s}", "reason", why, "task",
	    task_ctx_id(ctx), "replaced", node));
}

/*
 * A checkpoint said stop.  A cancel frees the slot here (no hook runs for
 * a cancelled task); a pause or a shutdown keeps it, to go on later.
 */
static int stopped(struct task_ctx *ctx, const char *node)
{
	struct store_task_detail d;

	if (!task_ctx_shutting_down(ctx) &&
	    store_task_get(task_ctx_store(ctx), task_ctx_id(ctx), &d) == 0) {
		if (d.task.cancel_requested)
			free_slot(ctx, node, "the task was cancelled");
		store_task_detail_release(&d);
	}
	return TASK_STEP_STOP;
}

/* The dead node as the store has it: 0, or a step outcome with err. */
static int read_dead(struct task_ctx *ctx, const char *node,
    struct store_node_row *r, char *err, size_t errlen)
{
	int rc = store_node_get(task_ctx_store(ctx), task_ctx_cluster(ctx),
	    node, r);

	if (rc == RM_ENOENT) {
		snprintf(err, errlen, "node %s is not a node of cluster '%s' "
		    "(any more)", node, task_ctx_cluster(ctx));
		return TASK_STEP_FATAL;
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot read node %s; see the ringmaster "
		    "log", node);
		return TASK_STEP_FAIL;
	}
	return 0;
}

/* ---- the steps ----------------------------------------------------------- */

static int step_check(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	struct store_node_row r;
	int rc;

	if ((rc = read_dead(ctx, node, &r, err, errlen)) != 0) {
		store_node_row_release(&r);
		return rc;
	}
	if (r.state == NULL || strcmp(r.state, "down") != 0) {
		const char *state = r.state ? r.state : "unknown";
		if (task_ctx_attempt_elapsed(ctx) < STATE_GRACE_MS) {
			store_node_row_release(&r);
			return task_wait(ctx, 500);
		}
		snprintf(err, errlen, "node %s is %s, not down: %s; never "
		    "replaced while it may live", node, state,
		    not_down_why(state));
		store_node_row_release(&r);
		return TASK_STEP_FATAL;
	}
	task_progress(ctx, "%s is down (dc %s, rack %s, host id %s)", node,
	    r.dc ? r.dc : "?", r.rack ? r.rack : "?",
	    r.host_id ? r.host_id : "never reported");
	store_node_row_release(&r);
	return TASK_STEP_OK;
}

static int step_slot(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	struct store *st = task_ctx_store(ctx);
	const char *cluster = task_ctx_cluster(ctx);
	const json_t *p = task_ctx_params(ctx);
	const char *na = scale_util_pstr(p, "new_address");
	struct store_node_row r;
	struct store_slot sl, want;
	int64_t now = time_wall_ms();
	int rc;

	if (task_checkpoint(ctx))
		return stopped(ctx, node);
	if ((rc = my_slot(ctx, &sl, err, errlen)) != 0)
		return rc > 0 ? TASK_STEP_OK : TASK_STEP_FAIL;
	if ((rc = read_dead(ctx, node, &r, err, errlen)) != 0) {
		store_node_row_release(&r);
		return rc;
	}
	/* While it waited the node may have come back. */
	if (r.state == NULL || strcmp(r.state, "down") != 0) {
		snprintf(err, errlen, "node %s is %s again, not down: %s", node,
		    r.state ? r.state : "unknown", not_down_why(r.state ?
		    r.state : "unknown"));
		store_node_row_release(&r);
		return TASK_STEP_FATAL;
	}
	memset(&want, 0, sizeof(want));
	str_copy(want.kind, "replace", sizeof(want.kind));
	str_copy(want.holder, na ? na : "", sizeof(want.holder));
	str_copy(want.dead_address, node, sizeof(want.dead_address));
	str_copy(want.dc, r.dc ? r.dc : "", sizeof(want.dc));
	str_copy(want.rack, r.rack ? r.rack : "", sizeof(want.rack));
	str_copy(want.task_id, task_ctx_id(ctx), sizeof(want.task_id));
	want.since_ms = now;
	/* The service gives bootstrap_timeout when the submitter did not. */
	want.deadline_ms = now + 1000 * (json_is_integer(json_object_get(p,
	    "timeout_s")) ? (int64_t)json_integer_value(json_object_get(p,
	    "timeout_s")) : DEFAULT_TIMEOUT_S);
	store_node_row_release(&r);
	rc = store_slot_take(st, cluster, &want, err, errlen);
	if (rc == 0) {
		char why[1400];
		snprintf(why, sizeof(why), "replacement of %s (dc %s rack %s) "
		    "by task %s: %s", node, want.dc, want.rack,
		    task_ctx_id(ctx), na ? "the new node is given" :
		    "waiting for a host");
		scale_util_event(st, cluster, "slot", na ? na : node, "taken",
		    json_pack("{s:s,s:s,s:s}", "reason", why, "task",
		    task_ctx_id(ctx), "replaced", node));
		task_progress(ctx, "the cluster's slot is held for the "
		    "replacement of %s", node);
		return TASK_STEP_OK;
	}
	if (rc != RM_EBUSY)
		return rc == RM_ENOENT ? TASK_STEP_FATAL : TASK_STEP_FAIL;
	if (store_slot_get(st, cluster, &sl) != 0)
		return task_wait(ctx, 200);	/* freed meanwhile: again */
	if (strcmp(sl.kind, "replace") == 0 &&
	    strcmp(sl.dead_address, node) == 0) {
		snprintf(err, errlen, "node %s is already being replaced (task "
		    "%s holds the cluster's slot for it)", node,
		    sl.task_id[0] ? sl.task_id : "unknown");
		return TASK_STEP_FATAL;
	}
	/* One join or replacement per cluster: wait parked, no worker held. */
	task_progress(ctx, "waiting for the cluster's slot: the %s of %s holds "
	    "it (one join or replacement at a time)", sl.kind,
	    sl.holder[0] ? sl.holder : sl.dead_address);
	return task_wait(ctx, WAIT_SLOT_MS);
}

/* Past the slot's deadline: fail the replacement (on_fail frees it). */
static int past_deadline(const struct store_slot *sl,
    char *err, size_t errlen)
{
	if (sl->deadline_ms <= 0 || time_wall_ms() < sl->deadline_ms)
		return 0;
	snprintf(err, errlen, "the replacement of %s did not finish within "
	    "timeout_s (%lld s)%s%s; the slot is freed: look at the new "
	    "node's Cassandra log, then submit replace again", sl->dead_address,
	    (long long)((sl->deadline_ms - sl->since_ms) / 1000),
	    sl->holder[0] ? ": " : ": no new node checked in for it",
	    sl->holder[0] ? sl->holder : "");
	if (sl->holder[0])
		snprintf(err + strlen(err), errlen - strlen(err), " never "
		    "became UN with its tokens");
	return -1;
}

static int slot_lost(const char *node, char *err, size_t errlen)
{
	snprintf(err, errlen, "the replacement of %s no longer holds the "
	    "cluster's slot (it expired after bootstrap_timeout, see the slot "
	    "events); submit replace again", node);
	return TASK_STEP_FATAL;
}

/*
 * While no host has taken the place the node may come back (its agent
 * heartbeats again): then there is nothing to replace.  Once a host holds
 * the slot it has been told to replace, and the join decides.
 */
static int came_back(struct task_ctx *ctx, const struct store_slot *sl,
    char *err, size_t errlen)
{
	struct store_node_row r;
	int rc = 0;

	if (sl->holder[0] != '\0' || sl->new_address[0] != '\0' ||
	    store_node_get(task_ctx_store(ctx), task_ctx_cluster(ctx),
	    sl->dead_address, &r) != 0)
		return 0;
	if (r.state != NULL && strcmp(r.state, "up") == 0) {
		snprintf(err, errlen, "node %s is up again before any host took "
		    "its place: nothing to replace; the cluster's slot is freed",
		    sl->dead_address);
		rc = -1;
	}
	store_node_row_release(&r);
	return rc;
}

/* Is address a node of the cluster that has joined (a host id, or up)? */
static bool member(struct store *st, const char *cluster, const char *address)
{
	struct store_node_row r;
	bool m = false;

	if (store_node_get(st, cluster, address, &r) == 0)
		m = r.host_id != NULL || (r.state != NULL &&
		    strcmp(r.state, "up") == 0);
	store_node_row_release(&r);
	return m;
}

static void release_run(void *p)
{
	provider_free(p);
}

static int step_host(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	struct store *st = task_ctx_store(ctx);
	const char *cluster = task_ctx_cluster(ctx);
	const json_t *p = task_ctx_params(ctx);
	struct store_cluster_settings cs;
	struct provider_run *run;
	enum provider_kind kind;
	struct store_slot sl;
	char addr[STORE_SLOT_STR], key[STORE_ID_MAX + STORE_SLOT_STR];
	int rc;

	if (task_checkpoint(ctx))
		return stopped(ctx, node);
	if ((rc = my_slot(ctx, &sl, err, errlen)) <= 0)
		return rc < 0 ? TASK_STEP_FAIL : slot_lost(node, err, errlen);
	if (past_deadline(&sl, err, errlen) != 0)
		return TASK_STEP_FATAL;
	if (sl.holder[0] != '\0') {
		task_progress(ctx, "%s takes the place of %s", sl.holder, node);
		return TASK_STEP_OK;
	}
	if (sl.provider_state == STORE_PROVIDER_ANSWERED) {
		/* Answered before a restart: only the claim may be missing. */
		rc = store_slot_claim(st, cluster, node, sl.new_address, err,
		    errlen);
		if (rc != 0 && rc != RM_EBUSY)
			return TASK_STEP_FAIL;
		task_progress(ctx, "the provider gave %s", sl.new_address);
		return TASK_STEP_OK;
	}
	if (store_cluster_settings_get(st, cluster, &cs) != 0) {
		snprintf(err, errlen, "cannot read the settings of cluster "
		    "'%s'; see the ringmaster log", cluster);
		return TASK_STEP_FAIL;
	}
	if (provider_kind_parse(cs.provider, &kind) != 0) {
		snprintf(err, errlen, "cluster '%s' has provider '%s', which is "
		    "none of none, command, sim; set it again", cluster,
		    cs.provider);
		return TASK_STEP_FATAL;
	}
	if (kind == PROVIDER_NONE) {
		task_progress(ctx, "provider none: waiting for a new, empty node "
		    "to check in in dc %s rack %s", sl.dc, sl.rack);
		return TASK_STEP_OK;
	}
	run = task_memo(ctx, "provider");
	if (run == NULL) {
		struct store_node_row r;
		struct provider_req req;
		if ((rc = read_dead(ctx, node, &r, err, errlen)) != 0) {
			store_node_row_release(&r);
			return rc;
		}
		if (sl.provider_state == STORE_PROVIDER_ASKING)
			log_warnx("task %s: provider_command was running when "
			    "the orchestrator stopped and no answer was "
			    "recorded: asking it again with the same "
			    "idempotency key", task_ctx_id(ctx));
		/* Intent first: a restart sees that it was asked. */
		if (store_slot_provider(st, cluster, task_ctx_id(ctx),
		    STORE_PROVIDER_ASKING, "", err, errlen) != 0) {
			store_node_row_release(&r);
			return TASK_STEP_FAIL;
		}
		memset(&req, 0, sizeof(req));
		req.command = cs.provider_command;
		req.cluster = cluster;
		req.dc = sl.dc;
		req.rack = sl.rack;
		req.dead_address = node;
		req.dead_host_id = r.host_id ? r.host_id : "";
		req.cassandra_version = r.version ? r.version : "";
		/* The task's id; a task replacing several nodes (remediate)
		 * asks once per node. */
		const char *own = scale_util_pstr(p, "node");
		if (own != NULL && strcmp(own, node) == 0)
			str_copy(key, task_ctx_id(ctx), sizeof(key));
		else
			snprintf(key, sizeof(key), "%s-%s", task_ctx_id(ctx), node);
		req.idempotency_key = key;
		req.timeout_ms = 1000 * (int64_t)json_integer_value(
		    json_object_get(p, "provider_timeout_s"));
		run = provider_start(&req, err, errlen);
		store_node_row_release(&r);
		if (run == NULL)
			return TASK_STEP_FATAL;
		task_memo_put(ctx, "provider", run, release_run, NULL);
		task_progress(ctx, "asked provider %s for a host in dc %s rack "
		    "%s", cs.provider, sl.dc, sl.rack);
		return task_wait(ctx, WAIT_PROVIDER_MS);
	}
	rc = provider_poll(run, addr, sizeof(addr), err, errlen);
	if (rc == 0)
		return task_wait(ctx, WAIT_PROVIDER_MS);
	if (rc < 0)
		return TASK_STEP_FATAL;
	if (member(st, cluster, addr)) {
		/* Told to replace, a member would be asked to drop its own
		 * identity (its agent refuses, but the slot would be lost). */
		snprintf(err, errlen, "provider_command answered %s, which is "
		    "already a node of cluster '%s' that has joined; it must "
		    "answer a new, empty host", addr, cluster);
		return TASK_STEP_FATAL;
	}
	/* The answer is recorded before the new node is told anything. */
	if (store_slot_provider(st, cluster, task_ctx_id(ctx),
	    STORE_PROVIDER_ANSWERED, addr, err, errlen) != 0)
		return TASK_STEP_FAIL;
	rc = store_slot_claim(st, cluster, node, addr, err, errlen);
	if (rc != 0 && rc != RM_EBUSY)
		return TASK_STEP_FAIL;
	task_progress(ctx, "provider %s gave %s", cs.provider, addr);
	return TASK_STEP_OK;
}

static int step_join(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	struct store_slot sl;
	int rc;

	if (task_checkpoint(ctx))
		return stopped(ctx, node);
	if ((rc = my_slot(ctx, &sl, err, errlen)) <= 0)
		return rc < 0 ? TASK_STEP_FAIL : slot_lost(node, err, errlen);
	if (sl.joined_at > 0) {
		task_progress(ctx, "%s is UN in its own and a live peer's view "
		    "with the tokens of %s, which left the ring", sl.holder,
		    node);
		return TASK_STEP_OK;
	}
	if (past_deadline(&sl, err, errlen) != 0 ||
	    came_back(ctx, &sl, err, errlen) != 0)
		return TASK_STEP_FATAL;
	if (sl.holder[0] == '\0')
		task_progress(ctx, "waiting for a new, empty node to check in in "
		    "dc %s rack %s%s%s", sl.dc, sl.rack, sl.new_address[0] ?
		    ": the provider gave " : "", sl.new_address);
	else
		task_progress(ctx, "%s replaces %s: waiting until it is UN with "
		    "its tokens and %s left the ring", sl.holder, node, node);
	return task_wait(ctx, WAIT_JOIN_MS);
}

/* A new address: gossip must forget the old one (forget.h). */
static int step_forget(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	struct store_slot sl;
	int mine;

	if ((mine = my_slot(ctx, &sl, err, errlen)) < 0)
		return TASK_STEP_FAIL;
	if (mine == 0 || sl.holder[0] == '\0') {
		/* Freed before a restart: finish says so. */
		task_progress(ctx, "the slot for %s is freed: nothing to check",
		    node);
		return TASK_STEP_OK;
	}
	return forget_address_step(ctx, node, sl.holder, err, errlen);
}

static int step_finish(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	struct store *st = task_ctx_store(ctx);
	const char *cluster = task_ctx_cluster(ctx);
	struct store_slot sl;
	char why[512];
	int rc, mine;

	if ((mine = my_slot(ctx, &sl, err, errlen)) < 0)
		return TASK_STEP_FAIL;
	/* The row goes, and with it the pin of its SSH host key. */
	rc = store_node_delete(st, cluster, node, err, errlen);
	if (rc != 0 && rc != RM_ENOENT)
		return TASK_STEP_FAIL;
	if (mine == 0) {
		/* Freed before a restart: the rest was done. */
		task_progress(ctx, "%s was replaced", node);
		return TASK_STEP_OK;
	}
	snprintf(why, sizeof(why), "%s took the place of %s in %lld s: UN in "
	    "its own and a live peer's view, %s left the ring; %s's record and "
	    "SSH host-key pin are removed", sl.holder, node, (long long)
	    ((time_wall_ms() - sl.since_ms) / 1000), node, node);
	scale_util_event(st, cluster, "replace", node, "done", json_pack(
	    "{s:s,s:s,s:s,s:I}", "reason", why, "new_address", sl.holder,
	    "task", task_ctx_id(ctx), "seconds", (json_int_t)
	    ((time_wall_ms() - sl.since_ms) / 1000)));
	log_info("cluster %s: %s", cluster, why);
	free_slot(ctx, node, why);
	task_progress(ctx, "%s replaced by %s", node, sl.holder);
	return TASK_STEP_OK;
}

int replace_step(struct task_ctx *ctx, const char *name, const char *node,
    char *err, size_t errlen)
{
	static const struct {
		const char *name;
		int (*fn)(struct task_ctx *, const char *, char *, size_t);
	} steps[] = {
		{ "check", step_check }, { "slot", step_slot },
		{ "host", step_host }, { "join", step_join },
		{ "forget", step_forget }, { "finish", step_finish },
	};

	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		if (strcmp(name, steps[i].name) == 0)
			return steps[i].fn(ctx, node, err, errlen);
	snprintf(err, errlen, "replace has no step '%s'", name);
	return TASK_STEP_FATAL;
}

static int replace_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	return replace_step(ctx, step->name, scale_util_pstr(
	    task_ctx_params(ctx), "node"), err, errlen);
}

/* A replacement that failed for good frees the slot and says so. */
void replace_fail(struct task_ctx *ctx, const char *node, const char *error,
    char *msg, size_t msglen)
{
	struct store_slot sl;
	char err[256];

	if (my_slot(ctx, &sl, err, sizeof(err)) == 1) {
		scale_util_event(task_ctx_store(ctx), task_ctx_cluster(ctx),
		    "replace", node, "failed", json_pack("{s:s,s:s,s:s}", "reason",
		    error ? error : "", "task", task_ctx_id(ctx),
		    "new_address", sl.holder));
		free_slot(ctx, node, error ? error : "the replacement failed");
		snprintf(msg, msglen, "the cluster's slot is freed");
	}
}

static int replace_on_fail(struct task_ctx *ctx, const char *error,
    char *msg, size_t msglen)
{
	replace_fail(ctx, scale_util_pstr(task_ctx_params(ctx), "node"), error,
	    msg, msglen);
	return TASK_STEP_OK;
}

const struct task_type replace_type = {
	.name = "replace",
	.description = "replace a dead node by a new host that takes its "
	    "tokens (replace_address_first_boot)",
	.steps = "check, slot, host, join, forget, finish",
	.params = replace_params,
	.validate = replace_validate,
	.plan = replace_plan,
	.run = replace_run,
	.admit = replace_admit,
	.on_fail = replace_on_fail,
	.max_attempts = 3,
	.backoff_base_ms = 1000,
	.backoff_max_ms = 10000,
	/* The join step waits up to timeout_s (at most 23 h). */
	.step_deadline_ms = 24LL * 3600 * 1000,
};

