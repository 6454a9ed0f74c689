/*
 * nodeops.c - see nodeops.h.  The step runs on a worker thread: it reads
 * the cluster's SSH settings and the node's pinned host key from the
 * store, runs the agent through the pooled SSH client with the task's
 * checkpoint as the cancel callback, turns the agent's JSON lines into
 * progress, and maps the outcome onto a TASK_STEP_* code.
 */
#include "nodeops.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "ssh.h"
#include "../store/store.h"
#include "../engine/task.h"

static pthread_mutex_t pool_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct ssh_pool *pool;

struct lines {
	struct task_ctx *ctx;
	const char *node;
	json_t *result;			/* the last {"type":"result"} line */
};

static int64_t jnum(const json_t *o, const char *k, const char *alt)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_number(v) && alt != NULL)
		v = json_object_get(o, alt);
	return json_is_number(v) ? (int64_t)json_number_value(v) : -1;
}

/* A progress line with counts (backup-upload, -restore, -verify) is also
 * the node's progress in the step (task_node_progress()). */
static void node_progress(struct lines *l, const json_t *j, const char *m)
{
	struct task_node_progress np = TASK_NODE_PROGRESS_KEEP;
	const json_t *rate = json_object_get(j, "rate_bps");

	np.phase = json_string_value(json_object_get(j, "phase"));
	np.files_done = jnum(j, "files_done", NULL);
	if (np.phase == NULL && np.files_done < 0)
		return;
	np.files_total = jnum(j, "files_total", "files");
	np.bytes_done = jnum(j, "bytes_done", "bytes_downloaded");
	np.bytes_total = jnum(j, "bytes_total", NULL);
	np.rate_bps = json_is_number(rate) ? json_number_value(rate) : -1.0;
	np.message = m;
	task_node_progress(l->ctx, l->node, &np);
}

static void on_line(void *arg, const char *line)
{
	struct lines *l = arg;
	json_t *j = json_loads(line, 0, NULL);
	const char *type = json_string_value(json_object_get(j, "type"));

	if (type != NULL && strcmp(type, "progress") == 0) {
		const char *m = json_string_value(json_object_get(j, "message"));
		node_progress(l, j, m);
		if (m != NULL)
			task_progress(l->ctx, "%s", m);
	} else if (type != NULL && strcmp(type, "result") == 0) {
		json_decref(l->result);
		l->result = j;
		return;
	}
	json_decref(j);
}

static bool stop_asked(void *arg)
{
	struct lines *l = arg;
	return task_checkpoint(l->ctx);
}

static char *agent_command(const json_t *params, const char *node,
    const char *op_args)
{
	const char *agent = json_string_value(json_object_get(params, "agent"));
	const char *at;
	char *base;

	if (agent == NULL)
		agent = "ringagent";
	if ((at = strstr(agent, "{address}")) != NULL)
		base = xasprintf("%.*s%s%s", (int)(at - agent), agent, node,
		    at + strlen("{address}"));
	else
		base = xstrdup(agent);
	char *cmd = xasprintf("%s %s --json", base, op_args);
	free(base);
	return cmd;
}

int nodeops_agent(struct task_ctx *ctx, const char *node, const char *op_args,
    const int *ok_exits, size_t n_ok, json_t **data, int *agent_exit,
    char *err, size_t errlen)
{
	struct store *st = task_ctx_store(ctx);
	const char *cluster = task_ctx_cluster(ctx);
	const json_t *params = task_ctx_params(ctx);
	json_t *cl = NULL, *nd = NULL, *ssh;
	struct ssh_target t;
	struct ssh_cmd c;
	struct ssh_result r;
	struct lines l = { ctx, node, NULL };
	struct ssh_pool *p;
	char *cmd = NULL;
	int rc = TASK_STEP_FAIL, ex;
	bool ok = false;

	if (data)
		*data = NULL;
	if (agent_exit)
		*agent_exit = -1;
	pthread_mutex_lock(&pool_mtx);
	p = pool;
	pthread_mutex_unlock(&pool_mtx);
	if (p == NULL) {
		snprintf(err, errlen, "node client not started (nodeops_register)");
		return TASK_STEP_FATAL;
	}
	if (node == NULL || (cl = store_cluster_get(st, cluster)) == NULL ||
	    (nd = store_node_get(st, cluster, node)) == NULL) {
		snprintf(err, errlen, "node '%s' of cluster '%s' not found",
		    node ? node : "(none)", cluster);
		rc = TASK_STEP_FATAL;
		goto out;
	}
	ssh = json_object_get(cl, "ssh");
	memset(&t, 0, sizeof(t));
	t.host = node;
	t.port = (int)json_integer_value(json_object_get(ssh, "port"));
	t.user = json_string_value(json_object_get(ssh, "user"));
	t.key_file = json_string_value(json_object_get(ssh, "key_file"));
	t.host_key = json_string_value(json_object_get(nd, "ssh_host_key"));
	if (t.host_key != NULL && *t.host_key == '\0')
		t.host_key = NULL;
	t.known_hosts = json_string_value(json_object_get(params, "known_hosts"));
	memset(&c, 0, sizeof(c));
	c.command = cmd = agent_command(params, node, op_args);
	c.timeout_ms = json_is_integer(json_object_get(params, "timeout_s")) ?
	    json_integer_value(json_object_get(params, "timeout_s")) * 1000 : 60000;
	c.on_line = on_line;
	c.cancelled = stop_asked;
	c.arg = &l;
	ssh_run(p, &t, &c, &r);
	switch (r.status) {
	case SSH_OK:
		break;
	case SSH_ERR_CANCELLED:
		snprintf(err, errlen, "%s", r.error);
		rc = TASK_STEP_STOP;
		goto done;
	case SSH_ERR_HOSTKEY:
	case SSH_ERR_AUTH:
	case SSH_ERR_USAGE:
		snprintf(err, errlen, "%s", r.error);
		rc = TASK_STEP_FATAL;
		goto done;
	default:
		snprintf(err, errlen, "%s", r.error);
		rc = TASK_STEP_FAIL;
		goto done;
	}
	ex = r.exit_status;
	if (agent_exit)
		*agent_exit = ex;
	ok = ex == 0;
	for (size_t i = 0; i < n_ok; i++)
		ok |= ex == ok_exits[i];
	if (!ok) {
		const char *m = json_string_value(json_object_get(json_object_get(
		    l.result, "error"), "message"));
		if (m != NULL)
			snprintf(err, errlen, "%s on %s: exit %d: %s", op_args, node, ex, m);
		else
			snprintf(err, errlen, "%s", r.error);
		/* usage and config problems will not fix themselves */
		rc = ex == 2 || ex == 5 || ex == 127 ? TASK_STEP_FATAL : TASK_STEP_FAIL;
		goto done;
	}
	if (data != NULL) {
		json_t *d = json_object_get(l.result, "data");
		*data = d ? json_incref(d) : NULL;
	}
	rc = TASK_STEP_OK;
done:
	ssh_result_release(&r);
out:
	json_decref(l.result);
	json_decref(cl);
	json_decref(nd);
	free(cmd);
	return rc;
}

/* ---- node-status ---- */

static int common_validate(json_t *params, const char *type, char *err,
    size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(params, key, v) {
		if (strcmp(key, "agent") == 0 || strcmp(key, "known_hosts") == 0) {
			const char *s = json_string_value(v);
			if (s == NULL || *s == '\0' || strlen(s) > 1024 ||
			    strpbrk(s, "\n\r;&|`$<>") != NULL) {
				snprintf(err, errlen, "params.%s must be a command "
				    "path and arguments without shell syntax", key);
				return -1;
			}
		} else if (strcmp(key, "timeout_s") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 86400) {
				snprintf(err, errlen, "params.timeout_s must be "
				    "an integer from 1 to 86400");
				return -1;
			}
		} else {
			snprintf(err, errlen, "unknown parameter '%s' for %s",
			    key, type);
			return -1;
		}
	}
	/*
	 * The orchestrator's agent setting, as backup and repair take it:
	 * without it a node whose agent is not on the SSH user's PATH answers
	 * "ringagent: command not found".
	 */
	const char *agent = getenv("RINGMASTER_AGENT");
	if (json_object_get(params, "agent") == NULL && agent != NULL &&
	    *agent != '\0') {
		if (strlen(agent) > 1024 ||
		    strpbrk(agent, "\n\r;&|`$<>") != NULL) {
			snprintf(err, errlen, "$RINGMASTER_AGENT must be a command "
			    "path and arguments without shell syntax");
			return -1;
		}
		json_object_set_new(params, "agent", json_string(agent));
	}
	return 0;
}

static int status_validate(json_t *params, char *err, size_t errlen)
{
	return common_validate(params, "node-status", err, errlen);
}

static int status_plan(const json_t *params, const json_t *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	size_t i;
	json_t *n;

	(void)params;
	if (json_array_size(nodes) == 0) {
		snprintf(err, errlen, "the cluster has no nodes yet: agents add "
		    "them when they check in");
		return -1;
	}
	json_array_foreach(nodes, i, n)
		task_plan_add(plan, "status", json_string_value(json_object_get(n,
		    "address")));
	return 0;
}

static int status_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	static const int ok[] = { 3 };	/* Cassandra down: a result */
	json_t *d = NULL, *dcs;
	int ex, rc, peers = 0, down = 0;
	size_t i, k;
	json_t *dc, *n;

	rc = nodeops_agent(ctx, step->node, "status", ok, ARRAY_SIZE(ok), &d,
	    &ex, err, errlen);
	if (rc != TASK_STEP_OK)
		return rc;
	dcs = json_object_get(json_object_get(d, "peers"), "datacenters");
	json_array_foreach(dcs, i, dc) {
		json_array_foreach(json_object_get(dc, "nodes"), k, n) {
			peers++;
			const char *s = json_string_value(json_object_get(n, "status"));
			down += s != NULL && strcmp(s, "up") != 0;
		}
	}
	task_progress(ctx, "%s %s load %lld bytes, sees %d nodes, %d not up",
	    json_string_value(json_object_get(d, "status")) ?
	    json_string_value(json_object_get(d, "status")) : "?",
	    json_string_value(json_object_get(d, "cassandra_version")) ?
	    json_string_value(json_object_get(d, "cassandra_version")) : "?",
	    (long long)json_integer_value(json_object_get(d, "load_bytes")),
	    peers, down);
	json_decref(d);
	return TASK_STEP_OK;
}

static const struct task_type node_status_type = {
	.name = "node-status",
	.validate = status_validate,
	.plan = status_plan,
	.run = status_run,
	.max_attempts = 3,
	.backoff_base_ms = 1000,
	.backoff_max_ms = 10000,
	.step_deadline_ms = 5 * 60 * 1000,
};

int nodeops_register(int64_t ssh_idle_ms, char *err, size_t errlen)
{
	pthread_mutex_lock(&pool_mtx);
	if (pool == NULL)
		pool = ssh_pool_new(ssh_idle_ms, 2);
	pthread_mutex_unlock(&pool_mtx);
	if (task_type_find(node_status_type.name) == NULL &&
	    task_type_register(&node_status_type) != 0) {
		snprintf(err, errlen, "cannot register task type '%s'",
		    node_status_type.name);
		return -1;
	}
	return 0;
}

void nodeops_shutdown(void)
{
	struct ssh_pool *p;

	pthread_mutex_lock(&pool_mtx);
	p = pool;
	pool = NULL;
	pthread_mutex_unlock(&pool_mtx);
	ssh_pool_free(p);
}
