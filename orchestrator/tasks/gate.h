/*
 * gate.h - the health gate of rolling operations: before a node is
 * touched, and after it comes back, Cassandra itself is asked whether the
 * cluster is whole.  Heartbeats are not enough: they are seconds old and
 * say what one agent saw, while the gate needs every node's view now.
 *
 * Two layers:
 *
 *  - a pure core (gate_view_parse(), gate_eval()): what the nodes said,
 *    parsed defensively from the agents' JSON, and the rules below, with
 *    no I/O, unit-tested (tests/unit/test_gate.c);
 *
 *  - a step helper (gate_step()) that task types call from a step: it asks
 *    every node of the cluster (store_cluster_nodes()) for a fresh
 *    `ringagent health --json` (agent/rolling.h: `status --json`'s report
 *    plus, with --compactions, nodetool compactionstats' pending count)
 *    through nodeops_agent(), evaluates, and while the gate is not met
 *    parks the task (task_wait(), no worker held) and asks again every
 *    poll_ms, up to timeout_ms; then it fails the step, fatally, with what
 *    it saw last, e.g.
 *      "gate (after 127.0.0.3 came back): 127.0.0.3 is DN in 127.0.0.1's
 *       nodetool status after 600 s; the task stopped before touching the
 *       next node"
 *
 * The rules (gate_eval()), every one on the views as they are now:
 *
 *   cluster healthy (back == NULL):
 *     - every expected node answered: its agent ran and nodetool reached
 *       its Cassandra (else "127.0.0.3's Cassandra does not answer
 *       nodetool (...)");
 *     - in every view, every expected node is listed and UN (else
 *       "127.0.0.3 is DN in 127.0.0.1's nodetool status", or "is missing
 *       from"); every other node a view lists (one the store does not
 *       know) must be UN too;
 *     - no node of any view is joining, leaving or moving (UJ/UL/UM);
 *     - with max_pending >= 0, no node reports more pending compactions
 *       than that (a node whose count could not be read fails the rule).
 *
 *   node back (back != NULL): all of the above, and first, for back:
 *     - its own view lists it UN, with gossip and native transport on
 *       (nodetool info);
 *     - at least one other node's view lists it UN (a cluster of one node
 *       has no other view: its own is enough).
 *
 * Interface for other task types (scale, remediate): plan a step whose
 * run() calls
 *
 *	struct gate_opts go = GATE_OPTS_INIT;
 *	go.back = "127.0.0.3";          (NULL: cluster healthy only)
 *	go.timeout_ms = 600000;
 *	go.max_pending = -1;            (no compaction check)
 *	go.what = "before touching 127.0.0.3";
 *	return gate_step(ctx, &go, err, errlen);
 *
 * and returns what it returns (TASK_STEP_OK when met, TASK_STEP_WAIT
 * while waiting, TASK_STEP_FATAL on timeout, TASK_STEP_STOP on a
 * checkpoint).  gate_params_opts() reads gate_timeout_s and
 * max_pending_compactions from a task's params (GATE_PARAMS below adds
 * them to a param table).  The helper keeps its state in the attempt's
 * memo under "gate": one gate per step.  The timeout counts from the
 * step's first call in this process: after a restart the gate waits its
 * full timeout again, which only delays a failure.
 *
 * Threading: the core is pure; gate_step() runs on the step's worker.
 */
#ifndef RM_GATE_H
#define RM_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct task_ctx;

/* One node as one view lists it (a row of nodetool status). */
struct gate_peer {
	char address[64];
	char status;		/* 'U', 'D', '?' */
	char state;		/* 'N', 'J', 'L', 'M', '?' */
};

/* What one node said: its agent's health report. */
struct gate_view {
	char node[64];		/* the node that was asked */
	bool reached;		/* the agent answered and nodetool reached
				   Cassandra */
	char error[256];	/* why not, when !reached */
	bool gossip, native;	/* nodetool info */
	int64_t pending;	/* pending compactions, -1 not read */
	char version[32];	/* release version, "" unknown */
	struct gate_peer *peers;	/* its nodetool status, owned */
	size_t n_peers;
};

/*
 * Fill v from the data of node's `ringagent health --json` (data may be
 * NULL) and the op's outcome: rc is its TASK_STEP_* code, agent_exit its
 * exit status, opmsg the error of a failed op.  Every field is checked:
 * what is missing or of the wrong type leaves the view unreached (with the
 * reason) or the field unknown, never trusted.  Always fills v (release it
 * with gate_view_release()).
 */
void gate_view_parse(struct gate_view *v, const char *node,
    const json_t *data, int rc, int agent_exit, const char *opmsg);
void gate_view_release(struct gate_view *v);

/* What must hold. */
struct gate_want {
	const char *const *expected;	/* the cluster's nodes (addresses) */
	size_t n_expected;
	const char *back;		/* NULL, or the node that must be back */
	int64_t max_pending;		/* < 0: no compaction rule */
};

/*
 * The rules above over views[0..n): true when met; false with the first
 * rule that failed in why ("127.0.0.3 is DN in 127.0.0.1's nodetool
 * status").  Pure.
 */
bool gate_eval(const struct gate_view *views, size_t n,
    const struct gate_want *w, char *why, size_t whylen);

/* ---- the step helper ---------------------------------------------------- */

struct gate_opts {
	const char *back;	/* NULL: cluster healthy; else that node back */
	int64_t max_pending;	/* < 0: no compaction rule */
	int64_t timeout_ms;	/* then fail */
	int64_t poll_ms;	/* between rounds */
	const char *what;	/* "before touching 127.0.0.3", for messages */
	/* Nodes not asked and not expected (NULL-terminated, may be NULL):
	 * e.g. a node scale-in has just removed. */
	const char *const *exclude;
	/* A pause or cancel does not stop the gate (only shutdown and the
	 * step's deadline do): for the gate that a node is back, so a task
	 * pauses between nodes, never with one half restarted. */
	bool hold;
	/* More nodes that must be back, each by the rules of back
	 * (NULL-terminated, may be NULL): a rack restarted together. */
	const char *const *backs;
	/* Wall ms the wait began, for timeout_ms; 0: at the first call.  A
	 * step that is only a gate passes task_ctx_attempt_started_at(), so
	 * an orchestrator restart does not give it its whole timeout again;
	 * a gate inside a longer step (after a restart) counts from its first
	 * call, in this process. */
	int64_t started_at;
};
#define GATE_OPTS_INIT { NULL, -1, 600000, 5000, NULL, NULL, false, NULL, 0 }

/* Params every gated type takes: gate_timeout_s (default 600) and
 * max_pending_compactions (absent: no check). */
#define GATE_PARAMS \
	{ "gate_timeout_s", PT_INT, 5, 86400, "600", NULL, 0, \
	  "seconds a health gate may wait (all nodes UN, the node back) " \
	  "before the task fails" }, \
	{ "max_pending_compactions", PT_INT, 0, 1000000, NULL, NULL, 0, \
	  "gate also on no node having more pending compactions than this " \
	  "(absent: not checked)" }

/* timeout_ms and max_pending from a task's params (GATE_PARAMS). */
void gate_params_opts(const json_t *params, struct gate_opts *o);

/*
 * Run the gate from a step (see the top of this file).  A TASK_STEP_*
 * code; err holds the reason of a failure.
 */
int gate_step(struct task_ctx *ctx, const struct gate_opts *o, char *err,
    size_t errlen);

#endif
