/*
 * forget.c - see forget.h.
 */
#include "forget.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../engine/task.h"
#include "../nodes/nodeops.h"
#include "../store/store.h"
#include "scale_util.h"

#define ROUND_WAIT_MS	3000	/* between two rounds of gossip-check */

/* What the step keeps between its calls in one attempt. */
struct fmemo {
	bool assassinated;
	int round;
	int64_t checks_since;	/* ms, when the first round began */
};

static void fmemo_release(void *p)
{
	free(p);
}

static struct fmemo *memo(struct task_ctx *ctx, const char *dead)
{
	char key[160];
	struct fmemo *m;

	snprintf(key, sizeof(key), "forget:%s", dead);
	if ((m = task_memo(ctx, key)) == NULL) {
		m = xcalloc(1, sizeof(*m));
		task_memo_put(ctx, key, m, fmemo_release, NULL);
	}
	return m;
}

/* One round: every other live node reads its gossip.  TASK_STEP_OK with
 * *holding set to the nodes (comma-separated) that still hold dead other
 * than as LEFT, TASK_STEP_WAIT while a check runs, or a failure. */
static int check_round(struct task_ctx *ctx, const char *dead,
    const char *holder, int round, char *holding, size_t holdlen,
    char *err, size_t errlen)
{
	struct store_nodes v = { NULL, 0 };
	char *args = xasprintf("gossip-check --address %s --round %d", dead,
	    round);
	int rc = TASK_STEP_OK;
	bool waiting = false;

	holding[0] = '\0';
	if (store_cluster_nodes(task_ctx_store(ctx), task_ctx_cluster(ctx),
	    &v) != 0) {
		snprintf(err, errlen, "cannot read the nodes of '%s': see the "
		    "ringmaster log", task_ctx_cluster(ctx));
		rc = TASK_STEP_FAIL;
		goto out;
	}
	for (size_t i = 0; i < v.n; i++) {
		const struct store_node_row *r = &v.items[i];
		const char *state;
		json_t *d = NULL;
		char why[512];
		int one;

		/* A node down now hears LEFT from its peers when it comes
		 * back (gossip keeps it for days). */
		if (r->state == NULL || strcmp(r->state, "up") != 0 ||
		    strcmp(r->address, dead) == 0 ||
		    strcmp(r->address, holder) == 0)
			continue;
		one = nodeops_agent(ctx, r->address, args, NULL, 0, &d, NULL,
		    why, sizeof(why));
		if (one == TASK_STEP_WAIT) {
			waiting = true;
		} else if (one != TASK_STEP_OK) {
			task_progress(ctx, "%s: cannot read its gossip (%s): not "
			    "counted", r->address, why);
		} else {
			state = json_string_value(json_object_get(d, "state"));
			if (state == NULL || strcmp(state, "listed") == 0 ||
			    json_is_string(json_object_get(d, "ring"))) {
				size_t n = strlen(holding);
				snprintf(holding + n, holdlen - n, "%s%s",
				    n ? ", " : "", r->address);
			}
		}
		json_decref(d);
	}
	if (waiting)
		rc = TASK_STEP_WAIT;
out:
	store_nodes_release(&v);
	free(args);
	return rc;
}

/*
 * The replacement itself is done when this step runs: a failure here
 * (the agent out of reach, not installed, live nodes that keep the
 * address) must not fail it.  Say what is left to do - assassinate dead on
 * holder - and end the step.
 */
static int gave_up(struct task_ctx *ctx, const char *dead, const char *holder,
    const char *where, const char *why)
{
	log_warnx("cluster %s: cannot make gossip forget the replaced address "
	    "%s through %s: %s; run `nodetool assassinate %s` on %s",
	    task_ctx_cluster(ctx), dead, where, why, dead, holder);
	scale_util_event(task_ctx_store(ctx), task_ctx_cluster(ctx), "replace",
	    dead, "gossip_kept", json_pack("{s:s,s:s,s:s}", "reason", why,
	    "nodes", where, "task", task_ctx_id(ctx)));
	task_progress(ctx, "cannot make gossip forget %s (%s): see the replace "
	    "event gossip_kept", dead, why);
	return TASK_STEP_OK;
}

int forget_address_step(struct task_ctx *ctx, const char *dead,
    const char *holder, char *err, size_t errlen)
{
	struct fmemo *m;
	char holding[1024];
	int rc;

	if (strcmp(dead, holder) == 0) {
		task_progress(ctx, "%s kept its address: nothing for gossip to "
		    "forget", holder);
		return TASK_STEP_OK;
	}
	m = memo(ctx, dead);
	if (!m->assassinated) {
		char *args = xasprintf("assassinate --address %s", dead);
		json_t *d = NULL;

		rc = nodeops_agent(ctx, holder, args, NULL, 0, &d, NULL, err,
		    errlen);
		free(args);
		if (rc == TASK_STEP_OK)
			task_progress(ctx, json_is_true(json_object_get(d,
			    "assassinated")) ? "%s: nodetool assassinate %s done, "
			    "gossip holds it as LEFT" : "%s: gossip holds %s as %s "
			    "already", holder, dead, json_string_value(
			    json_object_get(d, "state")) ? json_string_value(
			    json_object_get(d, "state")) : "gone");
		json_decref(d);
		if (rc == TASK_STEP_WAIT)
			return rc;
		if (rc != TASK_STEP_OK)
			return gave_up(ctx, dead, holder, holder, err);
		m->assassinated = true;
		m->round = 1;
		m->checks_since = time_mono_ms();
	}
	rc = check_round(ctx, dead, holder, m->round, holding, sizeof(holding),
	    err, errlen);
	if (rc == TASK_STEP_WAIT)
		return rc;
	if (rc != TASK_STEP_OK)
		return gave_up(ctx, dead, holder, "the live nodes", err);
	if (holding[0] == '\0') {
		task_progress(ctx, "no live node holds %s any more but as LEFT",
		    dead);
		return TASK_STEP_OK;
	}
	if (time_mono_ms() - m->checks_since < FORGET_SPREAD_MS) {
		task_progress(ctx, "%s still hold%s %s: asking again", holding,
		    strchr(holding, ',') ? "" : "s", dead);
		m->round++;
		return task_wait(ctx, ROUND_WAIT_MS);
	}
	/* The replacement itself is done; say what is left to do. */
	snprintf(err, errlen, "%s still hold%s it %d s after nodetool "
	    "assassinate on %s", holding, strchr(holding, ',') ? "" : "s",
	    FORGET_SPREAD_MS / 1000, holder);
	return gave_up(ctx, dead, holding, holding, err);
}
