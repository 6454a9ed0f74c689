/*
 * rolling.c - see rolling.h.  A node's work is one step (its phases run
 * as node jobs, held against pause and cancel) between two gates, so the
 * store's step rows say exactly which node the task is on: the engine
 * resumes at the first unfinished step, and the step itself asks the node
 * where it stands before acting again (a Cassandra that started after the
 * step began has been restarted by it).
 */
#include "rolling.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cassopt.h"
#include "../../common/opexit.h"
#include "../../common/util.h"
#include "../engine/params.h"
#include "../engine/task.h"
#include "../nodes/nodeops.h"
#include "../store/store.h"
#include "gate.h"

#define MAX_ITEMS	64	/* yaml keys, jvm options */
#define ROLL_DEADLINE_MS (24LL * 3600 * 1000)

/* ---- the pure parts --------------------------------------------------- */

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* Sort key of a node: dc, rack, seed last, address. */
static int node_cmp(const struct store_node_row *a,
    const struct store_node_row *b, bool seeds_last)
{
	int c;

	if (seeds_last && a->is_seed != b->is_seed)
		return a->is_seed ? 1 : -1;
	if ((c = strcmp(nz(a->dc), nz(b->dc))) != 0)
		return c;
	if ((c = strcmp(nz(a->rack), nz(b->rack))) != 0)
		return c;
	return strcmp(nz(a->address), nz(b->address));
}

static void sort_order(const struct store_nodes *nodes, size_t *order,
    size_t n, bool seeds_last)
{
	/* Insertion sort: a cluster has tens of nodes, not thousands. */
	for (size_t i = 1; i < n; i++) {
		size_t v = order[i], j = i;
		while (j > 0 && node_cmp(&nodes->items[order[j - 1]],
		    &nodes->items[v], seeds_last) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = v;
	}
}

int rolling_order(const struct store_nodes *nodes, const json_t *list,
    size_t *order, size_t *n, char *err, size_t errlen)
{
	size_t i, k;
	json_t *a;

	*n = 0;
	if (list == NULL || json_array_size(list) == 0) {
		for (i = 0; i < nodes->n; i++)
			order[(*n)++] = i;
		sort_order(nodes, order, *n, true);
		return 0;
	}
	json_array_foreach(list, i, a) {
		const char *s = json_string_value(a);
		size_t found = nodes->n;

		for (k = 0; s != NULL && k < nodes->n; k++)
			if (nodes->items[k].address != NULL &&
			    strcmp(nodes->items[k].address, s) == 0)
				found = k;
		if (found == nodes->n) {
			snprintf(err, errlen, "params.nodes[%zu] '%s' is not a node "
			    "of the cluster (GET /api/v1/clusters/{name}/nodes)", i,
			    s ? s : "?");
			return -1;
		}
		for (k = 0; k < *n; k++)
			if (order[k] == found) {
				snprintf(err, errlen, "params.nodes names '%s' twice",
				    s);
				return -1;
			}
		order[(*n)++] = found;
	}
	return 0;
}

/* The racks the cluster's nodes have in dc. */
static size_t racks_in(const struct store_nodes *nodes, const char *dc)
{
	size_t count = 0;

	for (size_t i = 0; i < nodes->n; i++) {
		const struct store_node_row *r = &nodes->items[i];
		bool seen = false;
		if (strcmp(nz(r->dc), dc) != 0)
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(nz(nodes->items[k].dc), dc) == 0 &&
			    strcmp(nz(nodes->items[k].rack), nz(r->rack)) == 0;
		count += !seen;
	}
	return count;
}

bool rolling_rack_safe(const json_t *keyspaces, const struct store_nodes *nodes,
    char *why, size_t whylen)
{
	const json_t *ks;
	json_t *v;
	const char *dc;
	size_t i;

	if (!json_is_array(keyspaces)) {
		snprintf(why, whylen, "the node's list of keyspaces is not an "
		    "array");
		return false;
	}
	json_array_foreach(keyspaces, i, ks) {
		const char *name = json_string_value(json_object_get(ks, "name"));
		const char *cls = json_string_value(json_object_get(ks,
		    "replication_class"));
		json_t *opts = json_object_get(ks, "options");

		if (name == NULL || cls == NULL) {
			snprintf(why, whylen, "keyspace #%zu of the node's list has "
			    "no name or replication class", i);
			return false;
		}
		/* Data every node holds, or none shares: no replica set. */
		if (strstr(cls, "LocalStrategy") != NULL ||
		    strstr(cls, "EverywhereStrategy") != NULL)
			continue;
		if (strstr(cls, "NetworkTopologyStrategy") == NULL) {
			snprintf(why, whylen, "keyspace '%s' uses %s, which places "
			    "replicas without regard to racks: a whole rack down "
			    "can hold every replica of a range (ALTER it to "
			    "NetworkTopologyStrategy)", name, cls);
			return false;
		}
		if (!json_is_object(opts) || json_object_size(opts) == 0) {
			snprintf(why, whylen, "keyspace '%s' names no datacenter in "
			    "its replication", name);
			return false;
		}
		json_object_foreach(opts, dc, v) {
			const char *s = json_string_value(v);
			long long rf;
			char *end;
			size_t racks;

			if (json_is_integer(v))
				rf = json_integer_value(v);
			else if (s != NULL && (rf = strtoll(s, &end, 10), end != s &&
			    *end == '\0'))
				;
			else {
				snprintf(why, whylen, "keyspace '%s': replication "
				    "factor of '%s' is not a number", name, dc);
				return false;
			}
			racks = racks_in(nodes, dc);
			if (rf > (long long)racks) {
				snprintf(why, whylen, "keyspace '%s' has RF %lld in "
				    "datacenter '%s', which has %zu rack%s: two "
				    "replicas share a rack, so a whole rack down "
				    "loses quorum", name, rf, dc, racks,
				    racks == 1 ? "" : "s");
				return false;
			}
		}
	}
	return true;
}

/* The major of a release ("3.11.14" -> 3); -1 when it is none. */
static int major_of(const char *v)
{
	char *end;
	long m;

	if (v == NULL || !isdigit((unsigned char)*v))
		return -1;
	m = strtol(v, &end, 10);
	if (end == v || (*end != '.' && *end != '\0' && *end != '-') || m > 1000)
		return -1;
	return (int)m;
}

bool rolling_upgrade_ok(const char *from, const char *to, char *why,
    size_t whylen)
{
	int f = major_of(from), t = major_of(to);

	if (t < 0) {
		snprintf(why, whylen, "'%s' is not a Cassandra version", nz(to));
		return false;
	}
	if (f < 0)
		return true;
	if (t < f) {
		snprintf(why, whylen, "refused: %s to %s is a downgrade of the "
		    "major version, which Cassandra's SSTables and system tables "
		    "do not support", from, to);
		return false;
	}
	if (t > f + 1) {
		snprintf(why, whylen, "refused: %s to %s skips a major version; "
		    "upgrade to the latest %d.x first (Cassandra supports one "
		    "major at a time)", from, to, f + 1);
		return false;
	}
	return true;
}

/* ---- parameters ------------------------------------------------------- */

#define ROLL_PARAMS \
	{ "nodes", PT_ADDRS, 0, 0, NULL, NULL, 0, \
	  "the nodes to roll, in this order (default: every node, rack by " \
	  "rack, seeds last)" }, \
	{ "per_rack", PT_BOOL, 0, 0, "false", NULL, 0, \
	  "a whole rack at a time; refused unless every keyspace is " \
	  "NetworkTopologyStrategy with RF <= racks in each DC" }, \
	GATE_PARAMS, \
	PARAMS_NODE(1800, 86400)

static const struct param_spec restart_params[] = {
	ROLL_PARAMS,
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static const struct param_spec config_params[] = {
	{ "yaml", PT_OBJECT, 0, 0, NULL, NULL, 0,
	  "cassandra.yaml keys to set, {\"key\": value} (docs/agent.md lists "
	  "the keys a change may set)" },
	{ "jvm", PT_WORDS, 0, MAX_ITEMS, NULL, NULL, 0,
	  "JVM options to set, [\"-Xmx8G\", \"-XX:+UseG1GC\", "
	  "\"-Dname=value\"]" },
	ROLL_PARAMS,
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static const struct param_spec upgrade_params[] = {
	{ "version", PT_WORD, 0, 0, NULL, NULL, PF_REQUIRED,
	  "the Cassandra version to install (\"4.1.3\"), given to each "
	  "node's upgrade_command" },
	{ "upgradesstables", PT_BOOL, 0, 0, "false", NULL, 0,
	  "run nodetool upgradesstables on each node once it is back" },
	ROLL_PARAMS,
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static int roll_validate(json_t *params, char *err, size_t errlen)
{
	if (json_is_true(json_object_get(params, "per_rack")) &&
	    json_array_size(json_object_get(params, "nodes")) > 0) {
		snprintf(err, errlen, "params.per_rack and params.nodes do not go "
		    "together: per_rack rolls every rack of the cluster");
		return -1;
	}
	return 0;
}

/* A yaml value as the text that goes into the file. */
static char *yaml_value(const json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_real(v))
		return xasprintf("%g", json_real_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "true" : "false");
	return NULL;
}

static int config_validate(json_t *params, char *err, size_t errlen)
{
	json_t *y = json_object_get(params, "yaml");
	json_t *j = json_object_get(params, "jvm"), *v;
	const char *k;
	char msg[512];
	size_t i;

	if (roll_validate(params, err, errlen) != 0)
		return -1;
	if (json_object_size(y) + json_array_size(j) == 0) {
		snprintf(err, errlen, "config-change needs params.yaml "
		    "({\"key\": value}) or params.jvm ([\"-Xmx8G\"]), or both");
		return -1;
	}
	if (json_object_size(y) > MAX_ITEMS) {
		snprintf(err, errlen, "params.yaml sets %zu keys: at most %d",
		    json_object_size(y), MAX_ITEMS);
		return -1;
	}
	json_object_foreach(y, k, v) {
		char *s = yaml_value(v);
		int bad = s == NULL || cassopt_yaml_key_check(k, s, msg,
		    sizeof(msg)) != 0;
		if (s == NULL)
			snprintf(msg, sizeof(msg), "key '%s' needs a string, number "
			    "or boolean", k);
		free(s);
		if (bad) {
			snprintf(err, errlen, "params.yaml: %s", msg);
			return -1;
		}
	}
	json_array_foreach(j, i, v) {
		if (cassopt_jvm_option_check(json_string_value(v), msg,
		    sizeof(msg)) != 0) {
			snprintf(err, errlen, "params.jvm[%zu]: %s", i, msg);
			return -1;
		}
	}
	return 0;
}

static int upgrade_validate(json_t *params, char *err, size_t errlen)
{
	const char *v = json_string_value(json_object_get(params, "version"));

	if (roll_validate(params, err, errlen) != 0)
		return -1;
	if (v == NULL)
		return 0;	/* params_check() refused it (PF_REQUIRED) */
	if (!version_valid(v) || major_of(v) < 0) {
		snprintf(err, errlen, "params.version '%s' is not a Cassandra "
		    "version (digits first, then digits, letters, '.', '-')", v);
		return -1;
	}
	return 0;
}

/* The nodes' recorded versions (heartbeats) against the target. */
static int upgrade_admit(struct store *st, const char *cluster,
    const json_t *params, char *err, size_t errlen)
{
	const char *to = json_string_value(json_object_get(params, "version"));
	struct store_nodes v = { NULL, 0 };
	char why[512];
	int rc = 0;

	if (store_cluster_nodes(st, cluster, &v) != 0) {
		store_nodes_release(&v);
		return 0;	/* plan reads them again and says so */
	}
	for (size_t i = 0; i < v.n && rc == 0; i++)
		if (!rolling_upgrade_ok(v.items[i].version, to, why, sizeof(why))) {
			snprintf(err, errlen, "node %s runs %s: %s",
			    nz(v.items[i].address), nz(v.items[i].version), why);
			rc = -1;
		}
	store_nodes_release(&v);
	return rc;
}

/* ---- plans ------------------------------------------------------------ */

static int roll_plan(const json_t *params, const struct store_nodes *nodes,
    struct task_plan *plan, const char *work, char *err, size_t errlen)
{
	bool per_rack = json_is_true(json_object_get(params, "per_rack"));
	bool uss = json_is_true(json_object_get(params, "upgradesstables"));
	size_t *order, n = 0;
	char name[256];

	if (nodes->n == 0) {
		snprintf(err, errlen, "the cluster has no nodes yet: agents add "
		    "them when they check in");
		return -1;
	}
	order = xcalloc(nodes->n, sizeof(*order));
	if (rolling_order(nodes, json_object_get(params, "nodes"), order, &n,
	    err, errlen) != 0) {
		free(order);
		return -1;
	}
	if (!per_rack) {
		for (size_t i = 0; i < n; i++) {
			const char *a = nodes->items[order[i]].address;
			task_plan_add(plan, "gate", a);
			task_plan_add(plan, work, a);
			if (uss)
				task_plan_add(plan, "upgradesstables", a);
		}
		free(order);
		return 0;
	}
	/* Racks in order, seeds not last: a rack goes whole. */
	for (size_t i = 0; i < nodes->n; i++)
		order[i] = i;
	sort_order(nodes, order, nodes->n, false);
	task_plan_add(plan, "rack-safety", NULL);
	for (size_t i = 0; i < nodes->n;) {
		const struct store_node_row *r = &nodes->items[order[i]];
		size_t end = i;

		while (end < nodes->n &&
		    strcmp(nz(nodes->items[order[end]].dc), nz(r->dc)) == 0 &&
		    strcmp(nz(nodes->items[order[end]].rack), nz(r->rack)) == 0)
			end++;
		snprintf(name, sizeof(name), "gate rack %s/%s", nz(r->dc),
		    nz(r->rack));
		task_plan_add(plan, name, NULL);
		snprintf(name, sizeof(name), "%s rack %s/%s", work, nz(r->dc),
		    nz(r->rack));
		task_plan_add(plan, name, NULL);
		for (size_t k = i; uss && k < end; k++)
			task_plan_add(plan, "upgradesstables",
			    nodes->items[order[k]].address);
		i = end;
	}
	free(order);
	return 0;
}

static int restart_plan(const json_t *params, const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	return roll_plan(params, nodes, plan, "restart", err, errlen);
}

static int config_plan(const json_t *params, const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	return roll_plan(params, nodes, plan, "config", err, errlen);
}

static int upgrade_plan(const json_t *params, const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	return roll_plan(params, nodes, plan, "upgrade", err, errlen);
}

/* ---- the node's phases ------------------------------------------------ */

enum phase { PH_PROBE, PH_CONFIG, PH_DRAIN, PH_STOP, PH_UPGRADE, PH_START,
    PH_DONE };

static const char *const phase_names[] = { "probe", "config", "drain",
    "stop", "upgrade", "start", "done" };

struct rnode {
	char addr[128];
	enum phase ph;
	int64_t since;		/* mono ms the phase began */
};

struct rmemo {
	struct rnode *v;
	size_t n;
	int64_t t0;
};

static void rmemo_release(void *p)
{
	struct rmemo *m = p;

	free(m->v);
	free(m);
}

/* The next phase the work includes after ph. */
static enum phase next_phase(const char *work, enum phase ph)
{
	for (ph++; ph < PH_DONE; ph++) {
		if (ph == PH_CONFIG && strcmp(work, "config") != 0)
			continue;
		if (ph == PH_UPGRADE && strcmp(work, "upgrade") != 0)
			continue;
		return ph;
	}
	return PH_DONE;
}

/* The agent's arguments for ph (params were validated). */
static char *phase_args(const json_t *params, enum phase ph,
    int64_t step_started)
{
	const char *ver = json_string_value(json_object_get(params, "version"));

	switch (ph) {
	case PH_PROBE:
		return xasprintf("health --nonce probe-%" PRId64, step_started);
	case PH_CONFIG: {
		json_t *y = json_object_get(params, "yaml");
		json_t *j = json_object_get(params, "jvm"), *v;
		char *s = xstrdup("config-apply"), *t;
		const char *k;
		size_t i;

		json_object_foreach(y, k, v) {
			char *val = yaml_value(v);
			t = xasprintf("%s --yaml %s=%s", s, k, val ? val : "");
			free(val);
			free(s);
			s = t;
		}
		json_array_foreach(j, i, v) {
			t = xasprintf("%s --jvm %s", s, json_string_value(v));
			free(s);
			s = t;
		}
		return s;
	}
	case PH_DRAIN:
		return xstrdup("drain");
	case PH_STOP:
		return xstrdup("stop");
	case PH_UPGRADE:
		return xasprintf("upgrade --version %s", nz(ver));
	case PH_START:
		return ver ? xasprintf("start --expect-version %s", ver) :
		    xstrdup("start");
	case PH_DONE:
		break;
	}
	return xstrdup("health");
}

/*
 * What the probe found: a Cassandra that runs and started after the step
 * began was restarted by this step before a restart of the orchestrator:
 * go on at the start phase (which only checks a running node).
 */
static enum phase after_probe(const char *work, const json_t *d,
    int64_t step_started)
{
	const json_t *up = json_object_get(d, "uptime_s");
	int64_t began;

	if (step_started > 0 && json_is_true(json_object_get(d, "process_up")) &&
	    json_is_integer(up) && json_integer_value(up) >= 0) {
		/* uptime_s is whole seconds, rounded down: the start is up to
		 * a second earlier than this says.  Only a start surely after
		 * the step began counts (a node started just before the task
		 * is not one this step restarted). */
		began = time_wall_ms() - (int64_t)json_integer_value(up) * 1000;
		if (began - 1000 > step_started)
			return PH_START;
	}
	return next_phase(work, PH_PROBE);
}

/* The nodes of a rack step ("restart rack DC/RACK"), from the store. */
static void rack_nodes(struct task_ctx *ctx, const char *rack_spec,
    struct rmemo *m)
{
	struct store_nodes v = { NULL, 0 };
	const char *slash = strchr(rack_spec, '/');
	size_t dclen = slash ? (size_t)(slash - rack_spec) : 0;

	if (slash == NULL ||
	    store_cluster_nodes(task_ctx_store(ctx), task_ctx_cluster(ctx),
	    &v) != 0) {
		store_nodes_release(&v);
		return;
	}
	for (size_t i = 0; i < v.n; i++) {
		const struct store_node_row *r = &v.items[i];
		if (strlen(nz(r->dc)) != dclen ||
		    strncmp(nz(r->dc), rack_spec, dclen) != 0 ||
		    strcmp(nz(r->rack), slash + 1) != 0 || r->address == NULL)
			continue;
		m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
		memset(&m->v[m->n], 0, sizeof(m->v[m->n]));
		str_copy(m->v[m->n].addr, r->address, sizeof(m->v[m->n].addr));
		m->n++;
	}
	store_nodes_release(&v);
}

/*
 * The last phase: the gate that the step's nodes are back, held, so a
 * pause or a cancel acts once they are.
 */
static int back_run(struct task_ctx *ctx, struct rmemo *m,
    const char *rack_spec, char *err, size_t errlen)
{
	struct gate_opts go = GATE_OPTS_INIT;
	const char **backs = xcalloc(m->n + 1, sizeof(*backs));
	char what[256];
	int rc;

	for (size_t i = 0; i < m->n; i++)
		backs[i] = m->v[i].addr;
	gate_params_opts(task_ctx_params(ctx), &go);
	go.backs = backs;
	go.hold = true;
	snprintf(what, sizeof(what), "after %s%s came back", rack_spec ?
	    "rack " : "", rack_spec ? rack_spec : m->v[0].addr);
	go.what = what;
	rc = gate_step(ctx, &go, err, errlen);
	free(backs);
	for (size_t i = 0; rc == TASK_STEP_OK && i < m->n; i++) {
		struct task_node_progress np = TASK_NODE_PROGRESS_KEEP;
		np.phase = "back";
		np.state = "done";
		task_node_progress(ctx, m->v[i].addr, &np);
	}
	return rc;
}

/*
 * The node work step: every node of the step through its phases, the
 * nodes of a rack side by side.  Held: a pause or cancel waits for the
 * step's end.
 */
static int work_run(struct task_ctx *ctx, const struct store_step *step,
    const char *work, const char *rack_spec, char *err, size_t errlen)
{
	static const int probe_ok[] = { OPEXIT_FAILED, OPEXIT_UNREACHABLE,
	    OPEXIT_UNPARSEABLE };
	const json_t *params = task_ctx_params(ctx);
	struct rmemo *m = task_memo(ctx, "roll");
	bool waiting = false;
	int64_t now = time_mono_ms();

	if (m == NULL) {
		m = xcalloc(1, sizeof(*m));
		m->t0 = now;
		if (rack_spec != NULL) {
			rack_nodes(ctx, rack_spec, m);
		} else if (step->node != NULL) {
			m->v = xcalloc(1, sizeof(*m->v));
			str_copy(m->v[0].addr, step->node, sizeof(m->v[0].addr));
			m->n = 1;
		}
		for (size_t i = 0; i < m->n; i++)
			m->v[i].since = now;
		task_memo_put(ctx, "roll", m, rmemo_release, NULL);
		if (m->n == 0) {
			snprintf(err, errlen, "no node to %s in '%s'", work,
			    rack_spec ? rack_spec : "(none)");
			return TASK_STEP_FATAL;
		}
	}
	for (size_t i = 0; i < m->n; i++) {
		struct rnode *rn = &m->v[i];

		while (rn->ph != PH_DONE) {
			char *args = phase_args(params, rn->ph, step->started_at);
			char e[1024] = "";
			json_t *d = NULL;
			int ex = -1, rc;

			rc = nodeops_agent_held(ctx, rn->addr, args, rn->ph ==
			    PH_PROBE ? probe_ok : NULL, rn->ph == PH_PROBE ?
			    ARRAY_SIZE(probe_ok) : 0, &d, &ex, e, sizeof(e));
			free(args);
			if (rc == TASK_STEP_WAIT) {
				struct task_node_progress np =
				    TASK_NODE_PROGRESS_KEEP;
				char msg[64];

				/* Which phase, and how long: what watch shows. */
				snprintf(msg, sizeof(msg), "%s for %lld s",
				    phase_names[rn->ph], (long long)
				    ((time_mono_ms() - rn->since) / 1000));
				np.phase = phase_names[rn->ph];
				np.message = msg;
				task_node_progress(ctx, rn->addr, &np);
				json_decref(d);
				waiting = true;
				break;
			}
			if (rc != TASK_STEP_OK) {
				json_decref(d);
				if (rc == TASK_STEP_STOP) {
					snprintf(err, errlen, "%s", e);
					return rc;
				}
				struct task_node_progress np =
				    TASK_NODE_PROGRESS_KEEP;
				np.phase = phase_names[rn->ph];
				np.state = "failed";
				np.message = e;
				task_node_progress(ctx, rn->addr, &np);
				snprintf(err, errlen, "%s: %s failed: %s; the node may "
				    "be down: the task stopped before touching the "
				    "next node", rn->addr, phase_names[rn->ph], e);
				return rc;
			}
			{
				enum phase was = rn->ph;
				rn->ph = was == PH_PROBE ? after_probe(work, d,
				    step->started_at) : next_phase(work, was);
				if (was == PH_PROBE && rn->ph == PH_START)
					task_progress(ctx, "%s: Cassandra started after "
					    "this step began (a restart of the "
					    "orchestrator came between): going on at "
					    "start", rn->addr);
				else if (was != PH_PROBE)
					task_progress(ctx, "%s: %s done in %lld s",
					    rn->addr, phase_names[was], (long long)
					    ((time_mono_ms() - rn->since) / 1000));
			}
			json_decref(d);
			rn->since = time_mono_ms();
			{
				struct task_node_progress np =
				    TASK_NODE_PROGRESS_KEEP;
				np.phase = rn->ph == PH_DONE ? "back" :
				    phase_names[rn->ph];
				np.state = "running";
				task_node_progress(ctx, rn->addr, &np);
			}
		}
	}
	if (waiting)
		return TASK_STEP_WAIT;
	return back_run(ctx, m, rack_spec, err, errlen);
}

/* ---- the other steps ---------------------------------------------------- */

static int gate_run(struct task_ctx *ctx, const char *what, char *err,
    size_t errlen)
{
	struct gate_opts go = GATE_OPTS_INIT;
	char w[256];
	int rc;

	gate_params_opts(task_ctx_params(ctx), &go);
	snprintf(w, sizeof(w), "%s", what);
	go.what = w;
	go.started_at = task_ctx_attempt_started_at(ctx);
	rc = gate_step(ctx, &go, err, errlen);
	return rc;
}

/* The upgrade's major rule against the node's own version, now. */
static int upgrade_check(struct task_ctx *ctx, const char *node, char *err,
    size_t errlen)
{
	const char *to = json_string_value(json_object_get(
	    task_ctx_params(ctx), "version"));
	struct store_node_row r;
	char why[512];
	int rc = TASK_STEP_OK;

	memset(&r, 0, sizeof(r));
	if (to != NULL && store_node_get(task_ctx_store(ctx),
	    task_ctx_cluster(ctx), node, &r) == 0 &&
	    !rolling_upgrade_ok(r.version, to, why, sizeof(why))) {
		snprintf(err, errlen, "node %s runs %s: %s", node, r.version, why);
		rc = TASK_STEP_FATAL;
	}
	store_node_row_release(&r);
	return rc;
}

static int rack_safety_run(struct task_ctx *ctx, char *err, size_t errlen)
{
	struct store_nodes v = { NULL, 0 };
	const char *on = NULL;
	json_t *d = NULL;
	char why[512];
	int rc;

	if (store_cluster_nodes(task_ctx_store(ctx), task_ctx_cluster(ctx),
	    &v) != 0) {
		store_nodes_release(&v);
		snprintf(err, errlen, "cannot read the nodes of '%s': see the "
		    "ringmaster log", task_ctx_cluster(ctx));
		return TASK_STEP_FAIL;
	}
	for (size_t i = 0; i < v.n && on == NULL; i++)
		if (v.items[i].state != NULL && strcmp(v.items[i].state, "up") == 0)
			on = v.items[i].address;
	if (on == NULL) {
		store_nodes_release(&v);
		snprintf(err, errlen, "no node of '%s' is up to read the keyspaces' "
		    "replication from", task_ctx_cluster(ctx));
		return TASK_STEP_FAIL;
	}
	rc = nodeops_agent(ctx, on, "keyspaces", NULL, 0, &d, NULL, err,
	    errlen);
	if (rc == TASK_STEP_OK) {
		if (!rolling_rack_safe(json_object_get(d, "keyspaces"), &v, why,
		    sizeof(why))) {
			snprintf(err, errlen, "per_rack refused: %s; nothing was "
			    "touched (roll node by node without per_rack)", why);
			rc = TASK_STEP_FATAL;
		} else {
			task_progress(ctx, "every keyspace is rack-safe (read "
			    "through %s)", on);
		}
	}
	json_decref(d);
	store_nodes_release(&v);
	return rc;
}

static int roll_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	const char *n = step->name;
	const json_t *params = task_ctx_params(ctx);
	bool upgrade = json_object_get(params, "version") != NULL;
	char what[256];
	int rc;

	if (strcmp(n, "rack-safety") == 0)
		return rack_safety_run(ctx, err, errlen);
	if (strcmp(n, "gate") == 0) {
		snprintf(what, sizeof(what), "before touching %s", nz(step->node));
		rc = gate_run(ctx, what, err, errlen);
		if (rc == TASK_STEP_OK && upgrade && step->node != NULL)
			rc = upgrade_check(ctx, step->node, err, errlen);
		return rc;
	}
	if (strncmp(n, "gate rack ", 10) == 0) {
		snprintf(what, sizeof(what), "before rack %s", n + 10);
		return gate_run(ctx, what, err, errlen);
	}
	if (strcmp(n, "upgradesstables") == 0)
		return nodeops_agent(ctx, step->node, "upgradesstables", NULL, 0,
		    NULL, NULL, err, errlen);
	{
		static const char *const works[] = { "restart", "config",
		    "upgrade" };
		for (size_t i = 0; i < ARRAY_SIZE(works); i++) {
			size_t l = strlen(works[i]);
			if (strcmp(n, works[i]) == 0)
				return work_run(ctx, step, works[i], NULL, err,
				    errlen);
			if (strncmp(n, works[i], l) == 0 &&
			    strncmp(n + l, " rack ", 6) == 0)
				return work_run(ctx, step, works[i], n + l + 6,
				    err, errlen);
		}
	}
	snprintf(err, errlen, "unknown step '%s'", n);
	return TASK_STEP_FATAL;
}

/* ---- registration ------------------------------------------------------- */

const struct task_type rolling_restart_type = {
	.name = "rolling-restart",
	.description = "restart every node, one at a time (or a rack at a "
	    "time), behind health gates: drain, stop, start, wait until it "
	    "and every other node are UN",
	.steps = "per node: gate, restart (drain, stop, start, back); "
	    "per_rack: rack-safety, then per rack: gate, restart",
	.params = restart_params,
	.validate = roll_validate,
	.plan = restart_plan,
	.run = roll_run,
	.max_attempts = 2,
	.backoff_base_ms = 5000,
	.backoff_max_ms = 30000,
	.step_deadline_ms = ROLL_DEADLINE_MS,
};

const struct task_type rolling_config_type = {
	.name = "config-change",
	.description = "set validated cassandra.yaml keys and JVM options on "
	    "every node (a backup of each file kept), restarting each, one at "
	    "a time, behind health gates",
	.steps = "per node: gate, config (config-apply, drain, stop, start, "
	    "back)",
	.params = config_params,
	.validate = config_validate,
	.plan = config_plan,
	.run = roll_run,
	.max_attempts = 2,
	.backoff_base_ms = 5000,
	.backoff_max_ms = 30000,
	.step_deadline_ms = ROLL_DEADLINE_MS,
};

const struct task_type rolling_upgrade_type = {
	.name = "upgrade",
	.description = "install a Cassandra version on every node with its "
	    "upgrade_command, one at a time, behind health gates, checked with "
	    "nodetool version; never skips a major version",
	.steps = "per node: gate, upgrade (drain, stop, upgrade_command, start "
	    "+ version check, back)[, upgradesstables]",
	.params = upgrade_params,
	.validate = upgrade_validate,
	.plan = upgrade_plan,
	.run = roll_run,
	.admit = upgrade_admit,
	.max_attempts = 2,
	.backoff_base_ms = 5000,
	.backoff_max_ms = 30000,
	.step_deadline_ms = ROLL_DEADLINE_MS,
};

