/*
 * nodeops.c - see nodeops.h.  A node operation is a job on the node
 * (see "node jobs" below): the step reads the cluster's SSH settings and
 * the node's pinned host key from the store, starts or attaches to the
 * job through the pooled SSH client, turns the agent's JSON lines into
 * progress, parks the task between polls, and maps the outcome onto a
 * TASK_STEP_* code.
 */
#include "nodeops.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/creds.h"
#include "../../common/htab.h"
#include "../../common/log.h"
#include "../../common/opexit.h"
#include "../../common/redact.h"
#include "../../common/strbuf.h"
#include "../../common/util.h"
#include "ssh.h"
#include "../store/store.h"
#include "../engine/params.h"
#include "../engine/task.h"


struct lines {
	struct task_ctx *ctx;
	const char *node;
	json_t *result;			/* the last {"type":"result"} line */
	const char *const *known;	/* the cluster's secret values */
	size_t nknown;
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
		/* What a node says goes into the task's messages and events:
		 * nothing secret-shaped passes (an S3 error quoting a header,
		 * a value an operator's script printed). */
		char *m = redact(json_string_value(json_object_get(j,
		    "message")), l->known, l->nknown);
		node_progress(l, j, m);
		if (m != NULL)
			task_progress(l->ctx, "%s", m);
		free(m);
	} else if (type != NULL && strcmp(type, "result") == 0) {
		json_decref(l->result);
		l->result = j;
		return;
	}
	json_decref(j);
}

/* ---- node jobs ------------------------------------------------------------ */

/*
 * A long operation runs on the node as a job (`ringagent job`, see
 * docs/agent.md) under an id made of the task, the step, the attempt and
 * the operation, so asking again for the same id attaches instead of
 * starting twice: after an SSH outage, after the orchestrator was killed
 * and restarted (the step continues as the same attempt), after a
 * shutdown.  The orchestrator follows a job with short polls on pooled
 * SSH sessions (`job start ID --offset N`: one exec that starts or
 * attaches and prints what the op printed since offset N), and in between
 * the task is parked (task_wait()): no thread waits for a node.
 */
#define POLL_FIRST_MS	200
#define POLL_MAX_MS	2000
#define POLL_CMD_MS	30000		/* one poll exec */
#define REATTACH_MS	(300 * 1000)	/* contact may be lost this long */
#define UNCONFIRMED_MS	(30 * 1000)	/* ... before the node confirmed */
/*
 * Output a poll asks the agent for at most (`--max-bytes`): the SSH
 * client keeps 1 MiB of a command's stdout, and the status line, which
 * comes last, must fit after the op's lines.  A longer line of the op
 * comes as a {"type":"skipped"} marker instead.
 */
#define POLL_MAX_BYTES	(1024 * 1024 - 64 * 1024)

enum njob_state { NJ_NEW, NJ_RUNNING, NJ_DONE };

struct njob {
	char *node, *args;
	char op[64];			/* the operation's name, for messages */
	char id[160];
	enum njob_state state;
	bool seen;			/* the agent reported the job */
	int64_t offset;			/* in the job's output */
	int64_t started;		/* mono ms of the first call */
	int64_t next_poll, interval;	/* mono ms, ms */
	int64_t lost_since;		/* mono ms of the first failed poll */
	json_t *result;			/* last {"type":"result"} line */
	unsigned skipped;		/* lines too long to be sent, since it */
	int rc, exit;			/* when NJ_DONE */
	char *err;
	json_t *data;
};

struct njobs {
	struct njob **v;
	size_t n;
};

static void njob_free(struct njob *j)
{
	if (j == NULL)
		return;
	free(j->node);
	free(j->args);
	free(j->err);
	json_decref(j->result);
	json_decref(j->data);
	free(j);
}

static void njobs_release(void *p)
{
	struct njobs *js = p;

	for (size_t i = 0; i < js->n; i++)
		njob_free(js->v[i]);
	free(js->v);
	free(js);
}

void nodeops_job_id(const char *task_id, int step_idx, int attempt,
    const char *node, const char *op_args, char *out, size_t outlen)
{
	/* 32 bits of the hash of node and operation: the operation's part. */
	uint32_t h = (uint32_t)htab_hash_more(htab_hash(node), op_args);

	if (step_idx < 0)		/* an on_fail hook */
		snprintf(out, outlen, "%s.fail.%08x", task_id, h);
	else
		snprintf(out, outlen, "%s.%d.%d.%08x", task_id, step_idx,
		    attempt, h);
}

/* How to reach node: the cluster's SSH settings and the node's pinned
 * key.  0, or a TASK_STEP_* failure with err. */
struct reach {
	struct store_cluster_row cl;
	struct store_node_row nd;
	struct ssh_target t;
	char *base;			/* the agent command, {address} set */
	int64_t timeout_ms;		/* the operation's (timeout_s) */
	/* The cluster's settings, for its secrets: the credentials line for
	 * an operation that opens the store, the values redact() hides. */
	struct store_cluster_settings *cs;
	const char *known[4];
	size_t nknown;
};

static void reach_release(struct reach *r)
{
	store_cluster_row_release(&r->cl);
	store_node_row_release(&r->nd);
	free(r->base);
	if (r->cs != NULL)
		explicit_bzero(r->cs, sizeof(*r->cs));
	free(r->cs);
	memset(r, 0, sizeof(*r));
}

/*
 * The agent operations that open the cluster's storage, and so get its
 * credentials on stdin: no other operation (status, repair, snapshot)
 * ever holds them.
 */
static const char *const storage_ops[] = {
	"backup-upload", "backup-restore", "backup-verify",
};

/* The operation's name: the first word of op_args. */
static void op_name(const char *op_args, char *buf, size_t len)
{
	snprintf(buf, len, "%.*s", (int)strcspn(op_args, " \t"), op_args);
}

static bool uses_storage(const char *op_args)
{
	char name[64];

	op_name(op_args, name, sizeof(name));
	for (size_t i = 0; i < ARRAY_SIZE(storage_ops); i++)
		if (strcmp(name, storage_ops[i]) == 0)
			return true;
	return false;
}

static int reach_get(struct task_ctx *ctx, const char *node,
    struct reach *r, char *err, size_t errlen)
{
	struct store *st = task_ctx_store(ctx);
	const char *cluster = task_ctx_cluster(ctx);
	const json_t *params = task_ctx_params(ctx);
	const char *agent = json_string_value(json_object_get(params, "agent"));
	const char *at;
	json_t *to = json_object_get(params, "timeout_s");
	int rc;

	memset(r, 0, sizeof(*r));
	if (node == NULL) {
		snprintf(err, errlen, "a node operation of cluster '%s' was "
		    "given no node", cluster);
		return TASK_STEP_FATAL;
	}
	if ((rc = store_cluster_get(st, cluster, &r->cl)) == 0)
		rc = store_node_get(st, cluster, node, &r->nd);
	if (rc == RM_ENOENT) {
		snprintf(err, errlen, "node '%s' of cluster '%s' not found",
		    node, cluster);
		reach_release(r);
		return TASK_STEP_FATAL;
	}
	if (rc != 0) {
		/* The database failed, not the node: worth another attempt. */
		snprintf(err, errlen, "cannot read node '%s' of cluster '%s' "
		    "from the store: see the ringmaster log", node, cluster);
		reach_release(r);
		return TASK_STEP_FAIL;
	}
	r->t.host = node;
	r->t.port = r->cl.ssh_port;
	r->t.user = r->cl.ssh_user;
	r->t.key_file = r->cl.ssh_key_file;
	r->t.host_key = r->nd.ssh_host_key;
	if (r->t.host_key != NULL && *r->t.host_key == '\0')
		r->t.host_key = NULL;
	r->t.known_hosts = json_string_value(json_object_get(params,
	    "known_hosts"));
	r->cs = xmalloc(sizeof(*r->cs));
	if (store_cluster_settings_get(st, cluster, r->cs) != 0) {
		snprintf(err, errlen, "cannot read the settings of cluster "
		    "'%s' from the store: see the ringmaster log", cluster);
		reach_release(r);
		return TASK_STEP_FAIL;
	}
	r->nknown = store_settings_secrets(r->cs, r->known,
	    ARRAY_SIZE(r->known));
	if (agent == NULL)
		agent = "ringagent";
	if ((at = strstr(agent, "{address}")) != NULL)
		r->base = xasprintf("%.*s%s%s", (int)(at - agent), agent, node,
		    at + strlen("{address}"));
	else
		r->base = xstrdup(agent);
	r->timeout_ms = json_is_integer(to) ? json_integer_value(to) * 1000 :
	    60000;
	return TASK_STEP_OK;
}

/*
 * The credentials line for op_args on the node, or NULL when it gets none
 * (an operation that does not open the store, or a cluster without
 * storage credentials: the agent's own environment is used).  -1 with err
 * when the settings are half set.
 */
static int secrets_for(const struct reach *r, const char *cluster,
    const char *op_args, char **line, char *err, size_t errlen)
{
	const struct store_cluster_settings *cs = r->cs;
	bool ak = cs->storage_access_key_id[0] != '\0';
	bool sk = cs->storage_secret_access_key[0] != '\0';

	*line = NULL;
	if (!uses_storage(op_args) || (!ak && !sk &&
	    cs->storage_session_token[0] == '\0'))
		return 0;
	if (!ak || !sk) {
		snprintf(err, errlen, "cluster '%s' has %s set but not %s: set "
		    "both (PATCH /api/v1/clusters/%s, \"settings\") or clear "
		    "them all", cluster, ak ? "storage_access_key_id" :
		    sk ? "storage_secret_access_key" : "storage_session_token",
		    ak ? "storage_secret_access_key" : "storage_access_key_id",
		    cluster);
		return -1;
	}
	*line = creds_secrets_line(cs->storage_access_key_id,
	    cs->storage_secret_access_key, cs->storage_session_token);
	return 0;
}

/* The node client of the task's engine (task_engine_set_nodes()). */
static struct ssh_pool *pool_get(const struct task_ctx *ctx)
{
	return task_ctx_nodes(ctx);
}

/* What one poll read: the op's lines are handled as they come. */
struct pollout {
	struct lines l;
	json_t *status;			/* the {"type":"job"} line */
	struct njob *j;
};

static void poll_line(void *arg, const char *line)
{
	struct pollout *o = arg;
	json_t *js = json_loads(line, 0, NULL);
	const char *type = json_string_value(json_object_get(js, "type"));

	if (type != NULL && strcmp(type, "job") == 0) {
		json_decref(o->status);
		o->status = js;
		return;
	}
	if (type != NULL && strcmp(type, "skipped") == 0) {
		const char *m = json_string_value(json_object_get(js, "message"));
		/* The skipped line may have been the result: the one seen
		 * before it is not the last word any more. */
		log_warnx("task %s: job %s on %s: %s", task_ctx_id(o->l.ctx),
		    o->j->id, o->j->node, m ? m : "a line was skipped");
		json_decref(o->j->result);
		o->j->result = NULL;
		o->j->skipped++;
		json_decref(js);
		return;
	}
	json_decref(js);
	o->l.result = NULL;
	on_line(&o->l, line);
	if (o->l.result != NULL) {
		json_decref(o->j->result);
		o->j->result = o->l.result;
		o->j->skipped = 0;
		o->l.result = NULL;
	}
}

static void njob_done(struct njob *j, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void njob_done(struct njob *j, int rc, const char *fmt, ...)
{
	va_list ap;

	j->state = NJ_DONE;
	j->rc = rc;
	free(j->err);
	j->err = NULL;
	if (fmt != NULL) {
		va_start(ap, fmt);
		j->err = xvasprintf(fmt, ap);
		va_end(ap);
	}
}

/* Run `<agent> job <verb> ...` once on the node, with secrets (may be
 * NULL) on its stdin; 0 when it ran. */
static int job_exec(struct task_ctx *ctx, struct reach *r, const char *cmd,
    const char *secrets, struct pollout *o, struct ssh_result *res)
{
	struct ssh_cmd c;
	struct ssh_pool *p = pool_get(ctx);

	memset(&c, 0, sizeof(c));
	c.command = cmd;
	c.timeout_ms = POLL_CMD_MS;
	c.on_line = poll_line;
	c.arg = o;
	c.stdin_data = secrets;
	c.stdin_len = secrets != NULL ? strlen(secrets) : 0;
	o->l.known = r->known;
	o->l.nknown = r->nknown;
	if (p == NULL) {
		memset(res, 0, sizeof(*res));
		res->status = SSH_ERR_USAGE;
		snprintf(res->error, sizeof(res->error), "node client not "
		    "started (task_engine_set_nodes)");
		return -1;
	}
	return ssh_run(p, &r->t, &c, res);
}

/*
 * The cancelled job's own last word, when its result came back with the
 * cancel: what the op did about it (an incremental repair names the
 * sessions it failed inside Cassandra, which only the node's job output
 * held before), else just "cancelled".
 */
static void njob_cancelled(struct njob *j)
{
	const json_t *ids = json_object_get(json_object_get(j->result, "data"),
	    "cancelled_sessions");
	const char *m = json_string_value(json_object_get(json_object_get(
	    j->result, "error"), "message"));
	struct strbuf sb = { NULL, 0, 0 };
	const json_t *v;
	size_t i;

	if (m == NULL) {
		njob_done(j, TASK_STEP_STOP, "cancelled");
		return;
	}
	json_array_foreach(ids, i, v)
		if (json_is_string(v))
			strbuf_addf(&sb, "%s%s", sb.len ? ", " : "",
			    json_string_value(v));
	njob_done(j, TASK_STEP_STOP, "cancelled: %s: %s%s%s%s", j->node, m,
	    sb.len ? " (sessions " : "", sb.len ? sb.p : "",
	    sb.len ? ")" : "");
	strbuf_release(&sb);
}

/* Cancel j on its node (best effort: a node out of reach keeps it, and
 * the retention on the node removes it later). */
static void njob_cancel(struct task_ctx *ctx, struct njob *j)
{
	struct reach r;
	struct pollout o;
	struct ssh_result res;
	char err[512];
	char *cmd;

	if (j->state != NJ_RUNNING || !j->seen)
		return;
	if (reach_get(ctx, j->node, &r, err, sizeof(err)) != TASK_STEP_OK) {
		log_warnx("task %s: cannot cancel job %s on %s: %s",
		    task_ctx_id(ctx), j->id, j->node, err);
		return;
	}
	memset(&o, 0, sizeof(o));
	o.l.ctx = ctx;
	o.l.node = j->node;
	o.j = j;
	cmd = xasprintf("%s job cancel %s --max-bytes %d --json", r.base, j->id,
	    POLL_MAX_BYTES);
	if (job_exec(ctx, &r, cmd, NULL, &o, &res) != 0 && o.status == NULL)
		log_warnx("task %s: cancelling job %s on %s failed: %s; it "
		    "may still run there (`ringagent job cancel %s`)",
		    task_ctx_id(ctx), j->id, j->node, res.error, j->id);
	else
		log_info("task %s: cancelled job %s on %s", task_ctx_id(ctx),
		    j->id, j->node);
	ssh_result_release(&res);
	json_decref(o.status);
	free(cmd);
	reach_release(&r);
	njob_cancelled(j);
}

/* Cancel j because its task stops, and let the step's message say what
 * the node did about it. */
static void njob_stop(struct task_ctx *ctx, struct njob *j)
{
	bool was_running = j->state == NJ_RUNNING;
	char note[1024];

	njob_cancel(ctx, j);
	if (!was_running || j->err == NULL || strcmp(j->err, "cancelled") == 0)
		return;
	/* The node's words, as every other message of a job: redacted and
	 * bounded. */
	str_copy(note, j->err, sizeof(note));
	redact_buf(note, sizeof(note), NULL, 0);
	task_cancel_note(ctx, "%s", note);
}

static void njobs_abandon(struct task_ctx *ctx, void *p)
{
	struct njobs *js = p;

	for (size_t i = 0; i < js->n; i++)
		njob_stop(ctx, js->v[i]);
}

static struct njob *njob_get(struct task_ctx *ctx, const char *node,
    const char *args)
{
	struct njobs *js = task_memo(ctx, "nodeops");
	struct njob *j;

	if (js == NULL) {
		js = xcalloc(1, sizeof(*js));
		task_memo_put(ctx, "nodeops", js, njobs_release, njobs_abandon);
	}
	for (size_t i = 0; i < js->n; i++)
		if (strcmp(js->v[i]->node, node) == 0 &&
		    strcmp(js->v[i]->args, args) == 0)
			return js->v[i];
	j = xcalloc(1, sizeof(*j));
	j->node = xstrdup(node);
	j->args = xstrdup(args);
	op_name(args, j->op, sizeof(j->op));
	nodeops_job_id(task_ctx_id(ctx), task_ctx_step_idx(ctx),
	    task_ctx_attempt(ctx), node, args, j->id, sizeof(j->id));
	j->started = time_mono_ms();
	j->interval = POLL_FIRST_MS;
	js->v = xrealloc(js->v, (js->n + 1) * sizeof(*js->v));
	js->v[js->n++] = j;
	return j;
}

/* The job ended with exit ex: success or failure as the op said. */
static void njob_finish(struct njob *j, int ex, const int *ok_exits,
    size_t n_ok)
{
	bool ok = ex == OPEXIT_OK;
	const char *m;

	for (size_t i = 0; i < n_ok; i++)
		ok |= ex == ok_exits[i];
	j->exit = ex;
	if (ok && j->result == NULL && j->skipped > 0) {
		/* What it found is in a result nobody could read: never a
		 * success on a guess. */
		njob_done(j, TASK_STEP_FAIL, "%s: %s: exit %d, but its result "
		    "line was longer than the %d bytes a poll reads and was "
		    "skipped; read it on the node with `ringagent job poll %s`",
		    j->node, j->op, ex, POLL_MAX_BYTES, j->id);
		return;
	}
	if (ok) {
		json_t *d = json_object_get(j->result, "data");
		j->data = d ? json_incref(d) : NULL;
		njob_done(j, TASK_STEP_OK, NULL);
		return;
	}
	m = json_string_value(json_object_get(json_object_get(j->result,
	    "error"), "message"));
	/* usage and configuration problems will not fix themselves.  The
	 * cause first: the node's own message, whole; the operation by name
	 * (its arguments are in the log at debug level, and the job id finds
	 * the rest on the node). */
	njob_done(j, OPEXIT_FATAL(ex) ? TASK_STEP_FATAL :
	    TASK_STEP_FAIL, "%s: %s: %s (exit %d, job %s)", j->node, j->op,
	    m ? m : ex == OPEXIT_CANCELLED ? "cancelled on the node" : "failed (no message)",
	    ex, j->id);
}

/* One poll of j: start or attach, read new output, note the state. */
static void njob_poll(struct task_ctx *ctx, struct njob *j,
    const int *ok_exits, size_t n_ok)
{
	struct reach r;
	struct pollout o;
	struct ssh_result res;
	char err[512];
	char *cmd, *secrets = NULL;
	int64_t now;

	if (reach_get(ctx, j->node, &r, err, sizeof(err)) != TASK_STEP_OK) {
		njob_done(j, TASK_STEP_FATAL, "%s", err);
		return;
	}
	/* Until the node confirmed the job, this call may start it: the op
	 * needs the credentials then, and only then. */
	if (!j->seen && secrets_for(&r, task_ctx_cluster(ctx), j->args,
	    &secrets, err, sizeof(err)) != 0) {
		njob_done(j, TASK_STEP_FATAL, "%s", err);
		reach_release(&r);
		return;
	}
	memset(&o, 0, sizeof(o));
	o.l.ctx = ctx;
	o.l.node = j->node;
	o.j = j;
	cmd = xasprintf("%s job start %s --offset %lld --max-bytes %d%s --json "
	    "-- %s", r.base, j->id, (long long)j->offset, POLL_MAX_BYTES,
	    secrets != NULL ? " --secrets-stdin" : "", j->args);
	/* The whole command, which messages leave out, once per start. */
	if (!j->seen)
		log_debug("task %s: %s: %s", task_ctx_id(ctx), j->node, cmd);
	job_exec(ctx, &r, cmd, secrets, &o, &res);
	creds_wipe_free(secrets);
	now = time_mono_ms();
	if (res.status == SSH_ERR_HOSTKEY || res.status == SSH_ERR_AUTH ||
	    res.status == SSH_ERR_USAGE) {
		njob_done(j, TASK_STEP_FATAL, "%s", res.error);
	} else if (res.status != SSH_OK) {
		/* Out of reach.  The job may run without us - even one the
		 * node never confirmed: the connection can break after the
		 * agent started it and before its answer came back - so we
		 * ask again (the same id attaches) for a while rather than
		 * fail the attempt and leave a job nobody follows: 5 minutes
		 * for a job the node confirmed, 30 s for one it did not. */
		int64_t window = j->seen ? REATTACH_MS : UNCONFIRMED_MS;
		if (j->lost_since == 0) {
			j->lost_since = now;
			log_warnx("task %s: cannot reach %s for job %s (%s); "
			    "asking again for %lld s", task_ctx_id(ctx), j->node,
			    j->id, res.error, (long long)(window / 1000));
		}
		if (now - j->lost_since > window)
			njob_done(j, TASK_STEP_FAIL, "no contact with %s for %lld "
			    "s about job %s (%s); it may run there: `ringagent "
			    "job poll %s`", j->node, (long long)(window / 1000),
			    j->id, res.error, j->id);
		j->next_poll = now + POLL_MAX_MS;
	} else if (o.status == NULL) {
		/* The command ran but said nothing about a job: an agent
		 * without jobs, a bad agent command, or a refusal. */
		const char *m = json_string_value(json_object_get(
		    json_object_get(j->result, "error"), "message"));
		int ex = res.exit_status;
		njob_done(j, OPEXIT_FATAL(ex) ? TASK_STEP_FATAL :
		    TASK_STEP_FAIL, "%s: %s: %s (exit %d, job %s)", j->node,
		    j->op, m ? m : res.error[0] ? res.error :
		    "no job status from the agent", ex, j->id);
	} else {
		const char *state = json_string_value(json_object_get(o.status,
		    "state"));
		json_t *off = json_object_get(o.status, "offset");
		json_t *ex = json_object_get(o.status, "exit");

		if (j->lost_since != 0)
			log_info("task %s: %s answers again; job %s followed",
			    task_ctx_id(ctx), j->node, j->id);
		j->seen = true;
		j->lost_since = 0;
		j->state = NJ_RUNNING;
		if (json_is_integer(off) && json_integer_value(off) >= j->offset)
			j->offset = json_integer_value(off);
		if (state != NULL && strcmp(state, "done") == 0) {
			if (json_is_integer(ex))
				njob_finish(j, (int)json_integer_value(ex),
				    ok_exits, n_ok);
			else
				njob_done(j, TASK_STEP_FAIL, "%s: %s ended by "
				    "a signal (%s; job %s)", j->node, j->op,
				    json_is_string(json_object_get(
				    o.status, "signal")) ? json_string_value(
				    json_object_get(o.status, "signal")) :
				    "unknown", j->id);
		} else if (state != NULL && strcmp(state, "lost") == 0) {
			njob_done(j, TASK_STEP_FAIL, "%s: %s was lost: its "
			    "processes are gone without a result (did the "
			    "node restart?; job %s)", j->node, j->op, j->id);
		} else if (state != NULL && strcmp(state, "running") == 0) {
			if (now - j->started > r.timeout_ms) {
				njob_cancel(ctx, j);
				njob_done(j, TASK_STEP_FAIL, "%s: %s timed out "
				    "after %lld s (timeout_s); the job was "
				    "cancelled (job %s)", j->node, j->op,
				    (long long)(r.timeout_ms / 1000), j->id);
			} else {
				j->next_poll = now + j->interval;
				if (j->interval < POLL_MAX_MS)
					j->interval *= 2;
				if (j->interval > POLL_MAX_MS)
					j->interval = POLL_MAX_MS;
			}
		} else {
			njob_done(j, TASK_STEP_FAIL, "job %s on %s: unknown "
			    "state '%s' from the agent", j->id, j->node,
			    state ? state : "(none)");
		}
	}
	if (j->state == NJ_DONE && j->err != NULL) {
		/* The node's words go into the task's error: hide the
		 * cluster's secrets should they be quoted. */
		char *x = redact(j->err, r.known, r.nknown);
		free(j->err);
		j->err = x;
	}
	ssh_result_release(&res);
	json_decref(o.status);
	free(cmd);
	reach_release(&r);
}

/* Whether the job must stop now: held jobs ignore pause and cancel. */
static bool must_stop(struct task_ctx *ctx, bool held)
{
	if (!held)
		return task_checkpoint(ctx);
	return task_ctx_shutting_down(ctx) || task_ctx_deadline_left(ctx) <= 0;
}

static int agent_run(struct task_ctx *ctx, bool held, const char *node,
    const char *op_args, const int *ok_exits, size_t n_ok, json_t **data,
    int *agent_exit, char *err, size_t errlen)
{
	struct njob *j;

	if (data)
		*data = NULL;
	if (agent_exit)
		*agent_exit = -1;
	if (node == NULL) {
		snprintf(err, errlen, "no node given for '%s'", op_args);
		return TASK_STEP_FATAL;
	}
	j = njob_get(ctx, node, op_args);
	for (;;) {
		int64_t now = time_mono_ms();

		if (j->state == NJ_DONE)
			break;
		if (must_stop(ctx, held)) {
			/* A shutdown leaves the job running: the step
			 * continues as this attempt at the next start. */
			if (!task_ctx_shutting_down(ctx))
				njob_stop(ctx, j);
			snprintf(err, errlen, "%s: %s stopped", node, j->op);
			return TASK_STEP_STOP;
		}
		if (now < j->next_poll) {
			if (task_ctx_can_wait(ctx))
				return task_wait(ctx, j->next_poll - now);
			if (!task_sleep(ctx, j->next_poll - now))
				continue;	/* checkpoint said stop */
		}
		njob_poll(ctx, j, ok_exits, n_ok);
	}
	if (agent_exit)
		*agent_exit = j->exit;
	if (j->rc == TASK_STEP_OK) {
		if (data != NULL && j->data != NULL)
			*data = json_incref(j->data);
		return TASK_STEP_OK;
	}
	snprintf(err, errlen, "%s", j->err ? j->err : "failed");
	redact_buf(err, errlen, NULL, 0);
	return j->rc;
}

int nodeops_agent(struct task_ctx *ctx, const char *node, const char *op_args,
    const int *ok_exits, size_t n_ok, json_t **data, int *agent_exit,
    char *err, size_t errlen)
{
	return agent_run(ctx, false, node, op_args, ok_exits, n_ok, data,
	    agent_exit, err, errlen);
}

void nodeops_cancel(struct task_ctx *ctx, const char *node,
    const char *op_args)
{
	struct njobs *js = task_memo(ctx, "nodeops");

	for (size_t i = 0; js != NULL && node != NULL && i < js->n; i++)
		if (strcmp(js->v[i]->node, node) == 0 &&
		    strcmp(js->v[i]->args, op_args) == 0)
			njob_cancel(ctx, js->v[i]);
}

int nodeops_agent_held(struct task_ctx *ctx, const char *node,
    const char *op_args, const int *ok_exits, size_t n_ok, json_t **data,
    int *agent_exit, char *err, size_t errlen)
{
	return agent_run(ctx, true, node, op_args, ok_exits, n_ok, data,
	    agent_exit, err, errlen);
}

/* ---- node-status ---- */

static const struct param_spec status_params[] = {
	PARAMS_NODE(60, 86400),
	{ NULL, 0, 0, 0, NULL, NULL, 0, NULL },
};

static int status_plan(const json_t *params,
    const struct store_nodes *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	(void)params;
	if (nodes->n == 0) {
		snprintf(err, errlen, "the cluster has no nodes yet: agents add "
		    "them when they check in");
		return -1;
	}
	for (size_t i = 0; i < nodes->n; i++)
		task_plan_add(plan, "status", nodes->items[i].address);
	return 0;
}

static int status_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	/* Cassandra down: a result */
	static const int ok[] = { OPEXIT_UNREACHABLE };
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

const struct task_type nodeops_status_type = {
	.name = "node-status",
	.description = "ask every node's agent for its own view: Cassandra up "
	    "or down, version, load, the peers it sees",
	.steps = "status, once per node",
	.params = status_params,
	.plan = status_plan,
	.run = status_run,
	.max_attempts = 3,
	.backoff_base_ms = 1000,
	.backoff_max_ms = 10000,
	.step_deadline_ms = 5 * 60 * 1000,
};

