/*
 * repair_auto.c - see repair_auto.h.  The step is re-entrant: each call
 * polls every node's job and parks until all have answered, so it holds
 * no worker while the nodes' JVMs start.  Its memo lives in the step that
 * calls it, so a restart asks again (the same jobs, attached).
 */
#include "repair_auto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../engine/task.h"
#include "../nodes/nodeops.h"
#include "../store/store.h"

#define AGENT_OP	"autorepair"

const char *repair_auto_type(bool full)
{
	return full ? "full" : "incremental";
}

enum repair_auto_verdict repair_auto_verdict(const json_t *ar,
    const char *type)
{
	const char *src = json_string_value(json_object_get(ar, "source"));
	const json_t *types = json_object_get(ar, "types"), *v;

	if (!json_is_object(ar) || src == NULL || strcmp(src, "unknown") == 0)
		return REPAIR_AUTO_UNKNOWN;
	if (strcmp(src, "no_command") == 0)
		return REPAIR_AUTO_CLEAR;	/* before CEP-37 */
	if (!json_is_boolean(json_object_get(ar, "scheduler")) ||
	    !json_is_object(types))
		return REPAIR_AUTO_UNKNOWN;
	if (!json_is_true(json_object_get(ar, "scheduler")))
		return REPAIR_AUTO_CLEAR;
	v = json_object_get(types, type);
	if (v == NULL)
		return REPAIR_AUTO_CLEAR;	/* a build without that type */
	if (!json_is_boolean(v))
		return REPAIR_AUTO_UNKNOWN;
	return json_is_true(v) ? REPAIR_AUTO_CLASH : REPAIR_AUTO_CLEAR;
}

char *repair_auto_refusal(const char *const *nodes, size_t n,
    const char *type)
{
	char *list = xstrdup(""), *t;

	for (size_t i = 0; i < n; i++) {
		t = xasprintf("%s%s%s", list, i ? ", " : "", nodes[i]);
		free(list);
		list = t;
	}
	t = xasprintf("%s %s Cassandra's own %s auto-repair (CEP-37): a repair "
	    "here would repair the same ranges twice; disable it (nodetool "
	    "setautorepairconfig -t %s enabled false, on %s) or pass force: "
	    "true", list, n == 1 ? "runs" : "run", type, type, n == 1 ?
	    "that node" : "each of them");
	free(list);
	return t;
}

/* What the step keeps between its calls. */
struct amemo {
	char **node;
	int *verdict;			/* enum repair_auto_verdict, -1 pending */
	char **why;			/* UNKNOWN: what the node said */
	size_t n;
	size_t skipped;			/* not up: not asked */
	char *skipped_names;
	bool done;			/* checked: the repair may go on */
	int64_t go_at;			/* mono ms: after the last line's turn */
	char *warning;			/* force: what was overridden */
};

static void amemo_release(void *p)
{
	struct amemo *m = p;

	for (size_t i = 0; i < m->n; i++) {
		free(m->node[i]);
		free(m->why[i]);
	}
	free(m->node);
	free(m->verdict);
	free(m->why);
	free(m->skipped_names);
	free(m->warning);
	free(m);
}

static struct amemo *amemo_load(struct task_ctx *ctx, char *err,
    size_t errlen)
{
	struct store_nodes nodes;
	struct amemo *m;

	memset(&nodes, 0, sizeof(nodes));
	if (store_node_list(task_ctx_store(ctx), task_ctx_cluster(ctx),
	    &nodes) != 0) {
		store_nodes_release(&nodes);
		snprintf(err, errlen, "cannot read the cluster's nodes from the "
		    "store: see the ringmaster log");
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->node = xcalloc(nodes.n + 1, sizeof(*m->node));
	m->verdict = xcalloc(nodes.n + 1, sizeof(*m->verdict));
	m->why = xcalloc(nodes.n + 1, sizeof(*m->why));
	m->skipped_names = xstrdup("");
	for (size_t i = 0; i < nodes.n; i++) {
		const struct store_node_row *r = &nodes.items[i];

		if (r->state == NULL || strcmp(r->state, "up") != 0) {
			char *t = xasprintf("%s%s%s (%s)", m->skipped_names,
			    m->skipped ? ", " : "", r->address, r->state ?
			    r->state : "unknown");
			free(m->skipped_names);
			m->skipped_names = t;
			m->skipped++;
			continue;
		}
		m->node[m->n] = xstrdup(r->address);
		m->verdict[m->n++] = -1;
	}
	store_nodes_release(&nodes);
	return m;
}

/* The nodes with verdict v, comma-joined (a new string), and how many. */
static char *names_with(const struct amemo *m, int v, size_t *count)
{
	char *s = xstrdup(""), *t;

	*count = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->verdict[i] != v)
			continue;
		if (v == REPAIR_AUTO_UNKNOWN)
			t = xasprintf("%s%s%s (%s)", s, *count ? ", " : "",
			    m->node[i], m->why[i] ? m->why[i] : "no answer");
		else
			t = xasprintf("%s%s%s", s, *count ? ", " : "", m->node[i]);
		free(s);
		s = t;
		(*count)++;
	}
	return s;
}

const char *repair_auto_warning(struct task_ctx *ctx)
{
	struct amemo *m = task_memo(ctx, "repair-auto");

	return m != NULL ? m->warning : NULL;
}

int repair_auto_gate(struct task_ctx *ctx, char *err, size_t errlen)
{
	const json_t *params = task_ctx_params(ctx);
	bool full = !json_is_false(json_object_get(params, "full"));
	bool force = json_is_true(json_object_get(params, "force"));
	const char *type = repair_auto_type(full);
	struct amemo *m = task_memo(ctx, "repair-auto");
	size_t pending = 0, nclash, nunk;
	const char **clash;
	char *unk, *tail;
	int rc = TASK_STEP_OK;

	if (m != NULL && m->done) {
		/* task_progress() keeps one write per 500 ms: the repair's
		 * first line waits its turn instead of being dropped */
		if (time_mono_ms() < m->go_at)
			return task_wait(ctx, m->go_at - time_mono_ms());
		return TASK_STEP_OK;
	}
	if (m == NULL) {
		if ((m = amemo_load(ctx, err, errlen)) == NULL)
			return TASK_STEP_FAIL;
		task_memo_put(ctx, "repair-auto", m, amemo_release, NULL);
	}
	for (size_t i = 0; i < m->n; i++) {
		json_t *d = NULL;
		char nerr[512];
		int r;

		if (m->verdict[i] >= 0)
			continue;
		nerr[0] = '\0';
		r = nodeops_agent(ctx, m->node[i], AGENT_OP, NULL, 0, &d, NULL,
		    nerr, sizeof(nerr));
		if (r == TASK_STEP_WAIT) {
			pending++;
			continue;
		}
		if (r == TASK_STEP_STOP) {
			json_decref(d);
			return TASK_STEP_STOP;
		}
		if (r != TASK_STEP_OK) {
			/* an older agent, or the node went away: it cannot
			 * say, which does not stop the repair */
			m->verdict[i] = REPAIR_AUTO_UNKNOWN;
			m->why[i] = xstrdup(nerr[0] ? nerr : "the agent failed");
		} else {
			m->verdict[i] = (int)repair_auto_verdict(d, type);
			if (m->verdict[i] == REPAIR_AUTO_UNKNOWN) {
				const char *e = json_string_value(json_object_get(d,
				    "error"));
				m->why[i] = xstrdup(e ? e : "answer not understood");
			}
		}
		json_decref(d);
	}
	if (pending > 0) {
		task_progress(ctx, "asking %zu of %zu nodes whether Cassandra runs "
		    "its own %s auto-repair (CEP-37)", pending, m->n, type);
		return task_wait(ctx, 1000);
	}
	clash = xcalloc(m->n + 1, sizeof(*clash));
	nclash = 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->verdict[i] == REPAIR_AUTO_CLASH)
			clash[nclash++] = m->node[i];
	unk = names_with(m, REPAIR_AUTO_UNKNOWN, &nunk);
	tail = xasprintf("%s%s%s%s", nunk ? "; could not tell on " : "", unk,
	    m->skipped ? "; not asked (not up): " : "", m->skipped_names);
	if (nclash > 0) {
		char *msg = repair_auto_refusal(clash, nclash, type);

		if (force) {
			m->warning = xasprintf("warning: %s; repaired anyway "
			    "(force: true)", msg);
			task_progress(ctx, "%s%s", m->warning, tail);
		} else {
			snprintf(err, errlen, "%s%s", msg, tail);
			rc = TASK_STEP_FATAL;
		}
		free(msg);
	} else {
		task_progress(ctx, "no node runs Cassandra's own %s auto-repair "
		    "(CEP-37): %zu asked%s", type, m->n, tail);
	}
	free(unk);
	free(tail);
	free(clash);
	if (rc != TASK_STEP_OK)
		return rc;
	m->done = true;
	m->go_at = time_mono_ms() + 510;
	return task_wait(ctx, 510);
}
