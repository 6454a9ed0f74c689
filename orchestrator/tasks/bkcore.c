/*
 * bkcore.c - what the backup family of task types shares (bk.h): a step's
 * context (the task's cluster, nodes and object stores), the fan-out of a
 * step over nodes as node jobs, the listing of backups, and the backup
 * index kept in the store.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/jsonstr.h"
#include "../../common/log.h"
#include "../../common/manifest.h"
#include "../../common/s3.h"
#include "../../common/util.h"
#include "../engine/task.h"
#include "../nodes/nodeops.h"
#include "../store/store.h"
#include "backup.h"
#include "bk.h"

/* ---- context of a step ---- */

/*
 * The nodes as the objects a fan-out takes (bk_fan.targets) and restore
 * keeps in its plan, with the fields the family reads, named as in the
 * API.  Built here rather than by the service's JSON so that the task
 * types need nothing from the layer above them.
 */
static json_t *nodes_json(const struct store_nodes *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++) {
		const struct store_node_row *r = &v->items[i];

		json_array_append_new(a, json_pack("{s:o, s:o, s:o, s:o, s:o,"
		    " s:o}", "cluster", jsonstr(r->cluster),
		    "address", jsonstr(r->address),
		    "host_id", jsonstr(r->host_id), "dc", jsonstr(r->dc),
		    "rack", jsonstr(r->rack), "state", jsonstr(r->state)));
	}
	return a;
}


void bk_release(struct bk *b)
{
	store_cluster_row_release(&b->cl);
	json_decref(b->nodes);
	json_decref(b->missing);
	if (b->src_own)
		s3_close(b->src);
	s3_close(b->s3);
}

const char *bk_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

int bk_open(struct task_ctx *ctx, struct bk *b, char *err,
    size_t errlen)
{
	struct store_task *t;
	struct store_nodes nodes = { NULL, 0 };
	struct s3_opts so;
	json_t *stg;
	const char *tid;
	int rc;
	char ts[32];
	time_t secs;
	struct tm tm;

	memset(b, 0, sizeof(*b));
	b->ctx = ctx;
	b->st = task_ctx_store(ctx);
	b->params = task_ctx_params(ctx);
	b->cluster = task_ctx_cluster(ctx);
	rc = store_cluster_get(b->st, b->cluster, &b->cl);
	if (rc == RM_ENOENT) {
		snprintf(err, errlen, "cluster '%s' is gone", b->cluster);
		return TASK_STEP_FATAL;
	}
	if (rc == 0)
		rc = store_cluster_nodes(b->st, b->cluster, &nodes);
	if (rc != 0) {
		store_nodes_release(&nodes);
		snprintf(err, errlen, "cannot read cluster '%s' and its nodes "
		    "from the store: see the ringmaster log", b->cluster);
		return rc == RM_ENOENT ? TASK_STEP_FATAL : TASK_STEP_FAIL;
	}
	b->nodes = nodes_json(&nodes);
	store_nodes_release(&nodes);
	tid = task_ctx_id(ctx);
	if ((t = store_task_load(b->st, tid)) == NULL) {
		snprintf(err, errlen, "task %s is gone", tid);
		return TASK_STEP_FATAL;
	}
	b->task_created = t->created_at;
	b->task_started = t->started_at ? t->started_at : t->created_at;
	store_task_free(t);
	secs = (time_t)(b->task_created / 1000);
	gmtime_r(&secs, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	/* Creation time first so ids sort by age; the task id ("t-<hex>")
	 * makes them unique and names the task that made the backup. */
	snprintf(b->id, sizeof(b->id), "%s-%s", ts,
	    strncmp(tid, "t-", 2) == 0 ? tid + 2 : tid);
	snprintf(b->tag, sizeof(b->tag), "rm-%s", b->id);
	/* The cluster's storage credentials (secret settings), else the
	 * orchestrator's environment; s3_open() keeps its own copy. */
	struct store_cluster_settings *cs = xmalloc(sizeof(*cs));
	if (store_cluster_settings_get(b->st, b->cluster, cs) != 0)
		store_settings_defaults(cs);
	s3_opts_init(&so);
	so.endpoint = b->cl.storage_endpoint;
	so.region = b->cl.storage_region;
	so.access_key = cs->storage_access_key_id[0] ?
	    cs->storage_access_key_id : NULL;
	so.secret_key = cs->storage_secret_access_key[0] ?
	    cs->storage_secret_access_key : NULL;
	so.session_token = cs->storage_session_token[0] ?
	    cs->storage_session_token : NULL;
	b->s3 = s3_open(b->cl.storage_url, &so, err, errlen);
	if (b->s3 == NULL) {
		explicit_bzero(cs, sizeof(*cs));
		free(cs);
		return TASK_STEP_FATAL;
	}
	b->src = b->s3;
	str_copy(b->src_cluster, b->cluster, sizeof(b->src_cluster));
	if (bk_str(b->params, "source_cluster") != NULL)
		str_copy(b->src_cluster, bk_str(b->params, "source_cluster"),
		    sizeof(b->src_cluster));
	stg = json_object_get(b->params, "source");
	if (stg != NULL) {
		/* The same credentials: another cluster's storage must
		 * accept this cluster's (docs/backups.md). */
		so.endpoint = bk_str(stg, "endpoint");
		so.region = bk_str(stg, "region");
		str_copy(b->src_cluster, bk_str(stg, "cluster"),
		    sizeof(b->src_cluster));
		if ((b->src = s3_open(bk_str(stg, "storage"), &so, err,
		    errlen)) == NULL) {
			b->src = b->s3;
			explicit_bzero(cs, sizeof(*cs));
			free(cs);
			return TASK_STEP_FATAL;
		}
		b->src_own = true;
	}
	explicit_bzero(cs, sizeof(*cs));
	free(cs);
	return TASK_STEP_OK;
}

static char *bk_store_args_of(const char *url, const char *ep, const char *rg)
{
	return xasprintf("--store %s%s%s%s%s", url, ep ? " --endpoint " : "",
	    ep ? ep : "", rg ? " --region " : "", rg ? rg : "");
}

/* "--store URL [--endpoint E] [--region R]" for agent commands. */
char *bk_store_args(const struct bk *b)
{
	return bk_store_args_of(b->cl.storage_url, b->cl.storage_endpoint,
	    b->cl.storage_region);
}

/* The same for the store a restore reads (params.source or our own). */
char *bk_src_args(const struct bk *b)
{
	json_t *src = json_object_get(b->params, "source");

	if (src == NULL)
		return bk_store_args(b);
	return bk_store_args_of(bk_str(src, "storage"), bk_str(src, "endpoint"),
	    bk_str(src, "region"));
}

bool bk_plain_arg(const char *s)
{
	return s != NULL && *s != '\0' && strpbrk(s, " \t\n\r;&|`$<>'\"\\") == NULL;
}

/* ---- fan-out over nodes ---- */




/*
 * A node's last word in the step: its true final counts (from the agent's
 * result: files and bytes, all of them done) and state, so a node never
 * ends at "12/40" after all 40 landed.
 */
static void fan_node_end(struct bk_fan *f, size_t i, const char *err)
{
	struct task_node_progress np = TASK_NODE_PROGRESS_KEEP;
	const json_t *d = f->data[i];
	json_t *files = json_object_get(d, "files");
	json_t *bytes = json_object_get(d, "bytes");
	char msg[512];

	if (f->phase == NULL)
		return;
	if (!json_is_integer(files))
		files = json_object_get(d, "files_total");
	if (!json_is_integer(bytes))
		bytes = json_object_get(d, "bytes_total");
	if (f->rc[i] == TASK_STEP_OK) {
		np.state = "done";
		if (json_is_integer(files))
			np.files_done = np.files_total = json_integer_value(files);
		if (json_is_integer(bytes))
			np.bytes_done = np.bytes_total = json_integer_value(bytes);
		if (json_is_integer(files) && json_is_integer(bytes))
			snprintf(msg, sizeof(msg), "%s done: %lld files, %lld "
			    "bytes", f->phase, (long long)json_integer_value(files),
			    (long long)json_integer_value(bytes));
		else
			snprintf(msg, sizeof(msg), "%s done", f->phase);
		np.message = msg;
	} else if (f->rc[i] == TASK_STEP_STOP) {
		return;			/* runs again: it stays where it was */
	} else {
		np.state = "failed";
		np.message = err;
	}
	task_node_progress(f->b->ctx, bk_str(json_array_get(f->targets, i),
	    "address"), &np);
}

/*
 * What a fan keeps between the calls of its step (the step is re-entrant:
 * a node's job runs while the task waits, see task_wait()): each node's
 * outcome once it has one, so a finished node is neither asked again nor
 * reported twice.
 */
struct fanmemo {
	size_t n;
	bool *done, *started;
	int *rc;
	char **errs;
	json_t **data;
};

static void fanmemo_release(void *p)
{
	struct fanmemo *m = p;

	for (size_t i = 0; i < m->n; i++) {
		free(m->errs[i]);
		json_decref(m->data[i]);
	}
	free(m->done);
	free(m->started);
	free(m->rc);
	free(m->errs);
	free(m->data);
	free(m);
}

static struct fanmemo *fan_memo(struct bk_fan *f, size_t n)
{
	char key[64];
	struct fanmemo *m;

	snprintf(key, sizeof(key), "fan:%p", (void *)(uintptr_t)f->fn);
	if ((m = task_memo(f->b->ctx, key)) != NULL && m->n == n)
		return m;
	m = xcalloc(1, sizeof(*m));
	m->n = n;
	m->done = xcalloc(n, sizeof(bool));
	m->started = xcalloc(n, sizeof(bool));
	m->rc = xcalloc(n, sizeof(int));
	m->errs = xcalloc(n, sizeof(char *));
	m->data = xcalloc(n, sizeof(json_t *));
	task_memo_put(f->b->ctx, key, m, fanmemo_release, NULL);
	return m;
}

/*
 * Run fn for every target, in order, with at most par nodes' work under
 * way at once (a node's work is under way from its first call that
 * returned TASK_STEP_WAIT until it ends).  Each call is short: a node's
 * job is started or polled, and fn returns TASK_STEP_WAIT while it runs.
 * TASK_STEP_WAIT until every node ended; then the worst outcome wins,
 * with f->rc, f->errs and f->data filled for the caller.
 */
int bk_fan_run(struct bk_fan *f, char *err, size_t errlen)
{
	size_t n = json_array_size(f->targets), busy = 0;
	int par = f->par < 1 ? 1 : f->par, rc = TASK_STEP_OK;
	struct fanmemo *m;
	bool waiting = false;
	size_t off = 0;
	char e[1024];

	if (n == 0)
		return TASK_STEP_OK;
	m = fan_memo(f, n);
	f->rc = xcalloc(n, sizeof(int));
	f->errs = xcalloc(n, sizeof(char *));
	f->data = xcalloc(n, sizeof(json_t *));
	for (size_t i = 0; i < n; i++) {
		if (m->done[i])
			continue;
		if (!m->started[i] && busy >= (size_t)par) {
			waiting = true;		/* its turn comes later */
			continue;
		}
		if (task_checkpoint(f->b->ctx)) {
			m->rc[i] = TASK_STEP_STOP;
			continue;		/* not done: runs again */
		}
		if (f->phase != NULL && !m->started[i]) {
			struct task_node_progress np = TASK_NODE_PROGRESS_KEEP;
			np.phase = f->phase;
			np.state = "running";
			task_node_progress(f->b->ctx, bk_str(json_array_get(
			    f->targets, i), "address"), &np);
		}
		m->started[i] = true;
		e[0] = '\0';
		f->data[i] = NULL;
		m->rc[i] = f->fn(f, i, e, sizeof(e));
		if (m->rc[i] == TASK_STEP_WAIT) {
			json_decref(f->data[i]);
			f->data[i] = NULL;
			busy++;
			waiting = true;
			continue;
		}
		if (m->rc[i] == TASK_STEP_STOP) {
			json_decref(f->data[i]);
			f->data[i] = NULL;
			continue;
		}
		m->done[i] = true;
		m->data[i] = f->data[i];
		f->data[i] = NULL;
		if (m->rc[i] != TASK_STEP_OK)
			m->errs[i] = xstrdup(e);
		f->rc[i] = m->rc[i];
		f->data[i] = m->data[i];
		fan_node_end(f, i, e);
		f->data[i] = NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!m->done[i] && m->rc[i] == TASK_STEP_STOP) {
			snprintf(err, errlen, "stopped");
			return TASK_STEP_STOP;
		}
	if (waiting)
		return TASK_STEP_WAIT;
	err[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int r = m->rc[i];
		f->rc[i] = r;
		f->data[i] = m->data[i] ? json_incref(m->data[i]) : NULL;
		f->errs[i] = m->errs[i] ? xstrdup(m->errs[i]) : NULL;
		if (r == TASK_STEP_OK)
			continue;
		if (r == TASK_STEP_FATAL || rc == TASK_STEP_FATAL)
			rc = TASK_STEP_FATAL;
		else
			rc = TASK_STEP_FAIL;
		if (f->errs[i] != NULL && off + 8 < errlen)
			off += (size_t)snprintf(err + off, errlen - off, "%s%s",
			    off ? "; " : "", f->errs[i]);
		if (off >= errlen)
			off = errlen - 1;
	}
	return rc;
}

void bk_fan_release(struct bk_fan *f)
{
	size_t n = json_array_size(f->targets);

	for (size_t i = 0; f->errs && i < n; i++)
		free(f->errs[i]);
	for (size_t i = 0; f->data && i < n; i++)
		json_decref(f->data[i]);
	free(f->errs);
	free(f->data);
	free(f->rc);
}

const json_t *bk_fan_node(const struct bk_fan *f, size_t i)
{
	return json_array_get(f->targets, i);
}

int bk_run_agent(struct bk_fan *f, size_t i, const char *args, char *err,
    size_t errlen)
{
	const char *addr = bk_str(bk_fan_node(f, i), "address");

	return nodeops_agent(f->b->ctx, addr, args, NULL, 0, &f->data[i], NULL,
	    err, errlen);
}

/* ---- listing backups in the store ---- */



static int list_cb(void *arg, const struct s3_object *o)
{
	struct bk_list *l = arg;
	const char *rest = o->key + l->plen, *slash = strchr(rest, '/');
	size_t idlen;

	if (slash == NULL || (idlen = (size_t)(slash - rest)) >= 80)
		return 0;
	if (l->n == 0 || strncmp(l->v[l->n - 1].id, rest, idlen) != 0 ||
	    l->v[l->n - 1].id[idlen] != '\0') {
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 32;
			l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
		}
		memset(&l->v[l->n], 0, sizeof(l->v[0]));
		memcpy(l->v[l->n].id, rest, idlen);
		l->n++;
	}
	if (strcmp(slash, "/cluster.json") == 0)
		l->v[l->n - 1].complete = true;
	else if (strncmp(slash, "/nodes/", 7) == 0)
		l->v[l->n - 1].nodes++;
	return 0;
}

/* Every backup directory of cluster, oldest first (ids sort by time). */
int bk_list_backups(struct s3 *s3, const char *cluster,
    struct bk_list *l, char *err, size_t errlen)
{
	char *prefix = manifest_backups_prefix(cluster);
	int rc;

	memset(l, 0, sizeof(*l));
	l->plen = strlen(prefix);
	rc = s3_list_all(s3, prefix, 0, list_cb, l, err, errlen);
	free(prefix);
	return rc;
}

const struct bk_ent *bk_latest_complete(const struct bk_list *l,
    const char *exclude)
{
	for (size_t i = l->n; i-- > 0;)
		if (l->v[i].complete && (exclude == NULL ||
		    strcmp(l->v[i].id, exclude) != 0))
			return &l->v[i];
	return NULL;
}

struct manifest_cluster *bk_cluster_manifest(struct s3 *s3,
    const char *cluster, const char *id, int *notfound, char *err,
    size_t errlen)
{
	char *key = manifest_cluster_key(cluster, id), *buf = NULL, perr[512];
	struct manifest_cluster *c = NULL;
	size_t len;
	int rc;

	*notfound = 0;
	rc = s3_get_mem(s3, key, MANIFEST_MAX_BYTES, &buf, &len, err, errlen);
	if (rc == S3_NOT_FOUND) {
		*notfound = 1;
		snprintf(err, errlen, "backup %s of '%s' has no cluster manifest "
		    "(%s): it is incomplete or does not exist", id, cluster, key);
	} else if (rc == 0 && (c = manifest_cluster_parse(buf, len, perr,
	    sizeof(perr))) == NULL) {
		snprintf(err, errlen, "cluster manifest %s: %s", key, perr);
	}
	free(buf);
	free(key);
	return c;
}

struct manifest_node *bk_node_manifest(struct s3 *s3, const char *key,
    char *err, size_t errlen)
{
	char *buf = NULL, perr[512];
	struct manifest_node *m = NULL;
	size_t len;
	int rc;

	rc = s3_get_mem(s3, key, MANIFEST_MAX_BYTES, &buf, &len, err, errlen);
	if (rc == S3_NOT_FOUND)
		snprintf(err, errlen, "node manifest %s is missing", key);
	else if (rc == 0 && (m = manifest_node_parse(buf, len, perr,
	    sizeof(perr))) == NULL)
		snprintf(err, errlen, "node manifest %s: %s", key, perr);
	free(buf);
	return m;
}

/* ---- the backup index (store.h) ----
 *
 * The store of record is the object store; the index is what the API
 * lists.  Each task keeps it as it goes: backup (running, then complete or
 * partial, failed by its on_fail), verify (damage found or cleared), purge
 * (rows of dropped backups go).  A cluster whose index was never filled
 * (backups made before it existed, or an orchestrator rebuilt beside old
 * storage) gets it rebuilt from storage at the start of its next backup,
 * verify, purge or restore task, or by the "backup-index" task.
 */

bool bk_params_partial(const json_t *params)
{
	return json_array_size(json_object_get(params, "keyspaces")) > 0 ||
	    json_array_size(json_object_get(params, "tables")) > 0;
}

json_t *bk_missing_of_manifest(const struct manifest_cluster *c)
{
	json_t *a = json_array();

	for (size_t i = 0; i < c->nmissing; i++)
		json_array_append_new(a, json_pack("{s:s, s:s?, s:s?}",
		    "address", c->missing[i].address, "host_id",
		    c->missing[i].host_id, "state", c->missing[i].state));
	return a;
}

/* The index's text of a list of missing nodes: NULL when there is none
 * (a whole backup), so the column stays NULL. */
static char *missing_text(const json_t *missing)
{
	return json_array_size(missing) > 0 ? json_dumps(missing,
	    JSON_COMPACT) : NULL;
}

/* r->missing_nodes is allocated here: the caller frees it. */
static void index_from_manifest(struct store_backup *r,
    const struct manifest_cluster *c)
{
	json_t *opts = c->options_json ? json_loads(c->options_json, 0, NULL) :
	    NULL;
	json_t *missing = bk_missing_of_manifest(c);

	free(r->missing_nodes);
	r->missing_nodes = missing_text(missing);
	json_decref(missing);
	r->partial = bk_params_partial(opts) || c->nmissing > 0;
	r->state = r->partial ? STORE_BK_PARTIAL : STORE_BK_COMPLETE;
	if (c->task_id != NULL)
		str_copy(r->task_id, c->task_id, sizeof(r->task_id));
	r->started_at = c->started_at;
	r->finished_at = c->finished_at;
	r->nodes = (int64_t)c->nnodes;
	r->files = (int64_t)c->files;
	r->bytes = (int64_t)c->bytes;
	r->files_uploaded = (int64_t)c->files_uploaded;
	r->bytes_uploaded = (int64_t)c->bytes_uploaded;
	json_decref(opts);
}

/* The task id a backup id names ("<time>-<hex>" was made by "t-<hex>"). */
static void bk_task_of_backup(const char *id, char *out, size_t len)
{
	const char *dash = strrchr(id, '-');

	out[0] = '\0';
	if (dash != NULL && dash[1] != '\0')
		snprintf(out, len, "t-%s", dash + 1);
}

/* Rebuild the index of b->cluster from its storage (one LIST, one GET per
 * complete backup), on the task's worker. */
int bk_index_rebuild(struct bk *b, char *err, size_t errlen)
{
	struct bk_list l;
	struct store_backup *v;
	char serr[256];
	int rc;

	if (bk_list_backups(b->s3, b->cluster, &l, err, errlen) != 0)
		return TASK_STEP_FAIL;
	v = xcalloc(l.n + 1, sizeof(*v));
	for (size_t i = 0; i < l.n; i++) {
		struct store_backup *r = &v[i];
		struct store_task *t;
		struct tm tm;
		int nf;

		str_copy(r->cluster, b->cluster, sizeof(r->cluster));
		str_copy(r->id, l.v[i].id, sizeof(r->id));
		r->nodes = (int64_t)l.v[i].nodes;
		bk_task_of_backup(r->id, r->task_id, sizeof(r->task_id));
		if (l.v[i].complete) {
			char e2[512];
			struct manifest_cluster *c = bk_cluster_manifest(b->s3,
			    b->cluster, r->id, &nf, e2, sizeof(e2));
			if (c == NULL) {
				/* present but unreadable: listed, never trusted */
				r->state = STORE_BK_DAMAGED;
				continue;
			}
			index_from_manifest(r, c);
			manifest_cluster_free(c);
			continue;
		}
		memset(&tm, 0, sizeof(tm));
		if (strptime(r->id, "%Y%m%dT%H%M%SZ", &tm) != NULL)
			r->started_at = (int64_t)timegm(&tm) * 1000;
		r->state = STORE_BK_INCOMPLETE;
		if ((t = store_task_load(b->st, r->task_id)) != NULL) {
			if (t->state == STORE_TASK_FAILED)
				r->state = STORE_BK_FAILED;
			else if (!store_task_state_terminal(t->state))
				r->state = STORE_BK_RUNNING;
			store_task_free(t);
		}
	}
	rc = store_backup_reindex(b->st, b->cluster, v, l.n, time_wall_ms(),
	    serr, sizeof(serr));
	for (size_t i = 0; i < l.n; i++)
		free(v[i].missing_nodes);
	free(v);
	free(l.v);
	if (rc != 0) {
		snprintf(err, errlen, "cannot record the backup index of '%s': %s",
		    b->cluster, serr);
		return TASK_STEP_FAIL;
	}
	return TASK_STEP_OK;
}

int bk_index_ensure(struct bk *b, char *err, size_t errlen)
{
	if (store_backup_index_filled(b->st, b->cluster) != 0)
		return TASK_STEP_OK;
	return bk_index_rebuild(b, err, errlen);
}

/* Record this task's backup in the index (state, and totals from c). */
int bk_index_set(struct bk *b, enum store_backup_state state,
    const struct manifest_cluster *c, char *err, size_t errlen)
{
	struct store_backup r;
	char serr[256];

	memset(&r, 0, sizeof(r));
	str_copy(r.cluster, b->cluster, sizeof(r.cluster));
	str_copy(r.id, b->id, sizeof(r.id));
	str_copy(r.task_id, task_ctx_id(b->ctx), sizeof(r.task_id));
	r.started_at = b->task_started;
	r.missing_nodes = missing_text(b->missing);
	r.partial = bk_params_partial(b->params) || r.missing_nodes != NULL;
	if (c != NULL)
		index_from_manifest(&r, c);
	r.state = state;
	if (store_backup_put(b->st, &r, serr, sizeof(serr)) != 0) {
		free(r.missing_nodes);
		snprintf(err, errlen, "cannot record backup %s in the index: %s",
		    b->id, serr);
		return TASK_STEP_FAIL;
	}
	free(r.missing_nodes);
	return TASK_STEP_OK;
}

/* Damaged objects of cluster: a sorted array of keys (caller frees). */
char **bk_damaged_keys(struct store *st, const char *cluster, size_t *n)
{
	struct store_damaged *d = NULL;
	char **v;

	*n = 0;
	if (store_damaged_list(st, cluster, &d, n) != 0)
		return NULL;
	v = xcalloc(*n + 1, sizeof(char *));
	for (size_t i = 0; i < *n; i++)
		v[i] = xstrdup(d[i].key);
	store_damaged_free(d, *n);
	return v;
}

/* Write {"keys":[...]} at key: what --exclude reads. */
int bk_put_exclude(struct s3 *s3, const char *key, char *const *keys,
    size_t n, char *err, size_t errlen)
{
	json_t *arr = json_array(), *doc;
	char *text;
	int rc;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(keys[i]));
	doc = json_pack("{s:o}", "keys", arr);
	text = json_dumps(doc, JSON_COMPACT);
	rc = s3_put_mem(s3, key, text, strlen(text), NULL, NULL, err, errlen);
	free(text);
	json_decref(doc);
	return rc;
}

int bk_need_nodes(const struct store_nodes *nodes, char *err, size_t errlen)
{
	if (nodes->n == 0) {
		snprintf(err, errlen, "the cluster has no nodes yet: agents add "
		    "them when they check in");
		return -1;
	}
	return 0;
}

int bk_check_nodes_up(struct bk *b, const json_t *targets, char *err,
    size_t errlen)
{
	size_t i, off = 0;
	json_t *n;

	err[0] = '\0';
	json_array_foreach(targets, i, n) {
		const char *s = bk_str(n, "state");
		if (s == NULL || strcmp(s, "up") != 0)
			off += (size_t)snprintf(err + off, errlen > off ? errlen - off :
			    0, "%s%s is %s", off ? ", " : "", bk_str(n, "address"),
			    s ? s : "unknown");
		if (off >= errlen)
			off = errlen - 1;
	}
	if (off > 0) {
		char tmp[1024];
		snprintf(tmp, sizeof(tmp), "not every node is up (%s): a backup "
		    "needs them all (down_policy require_all; \"skip_down\" backs "
		    "up the others, listed partial)", err);
		str_copy(err, tmp, errlen);
		(void)b;
		return -1;
	}
	return 0;
}

void bk_add_filters(char **args, const json_t *params, bool tables)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(params, "keyspaces"), i, v) {
		char *n = xasprintf("%s --keyspace %s", *args, json_string_value(v));
		free(*args);
		*args = n;
	}
	json_array_foreach(json_object_get(params, "tables"), i, v) {
		const char *t = json_string_value(v);
		char *n;
		if (tables)
			n = xasprintf("%s --table %s", *args, t);
		else
			n = xasprintf("%s --keyspace %.*s", *args,
			    (int)(strchr(t, '.') - t), t);
		free(*args);
		*args = n;
	}
}

/* The backup a restore or verify means: params.backup_id or the latest
 * complete one of cluster. */
bool bk_state_is_complete(enum store_backup_state s)
{
	return s == STORE_BK_COMPLETE || s == STORE_BK_PARTIAL ||
	    s == STORE_BK_DAMAGED;
}

/* The newest backup of cluster the index calls complete (damaged ones
 * included: what to do with them is the caller's); "" when none. */
void bk_index_latest(struct store *st, const char *cluster, char *id,
    size_t len)
{
	struct store_backup *v = NULL;
	size_t n = 0;

	id[0] = '\0';
	if (store_backup_list(st, cluster, &v, &n) != 0)
		return;
	for (size_t i = 0; i < n && id[0] == '\0'; i++)
		if (bk_state_is_complete(v[i].state))
			str_copy(id, v[i].id, len);
	store_backups_free(v, n);
}

/*
 * The backup a restore or verify means, from s3 (cluster's store):
 * params.backup_id, or the newest complete one (by the index for our own
 * store, else by listing the store).
 */
struct manifest_cluster *bk_pick_backup(struct bk *b, struct s3 *s3,
    const char *cluster, bool *retry, char *err, size_t errlen)
{
	const char *id = bk_str(b->params, "backup_id");
	char latest[STORE_BACKUP_ID_MAX] = "";
	struct bk_list l;
	const struct bk_ent *e;
	struct manifest_cluster *c;
	int nf;

	*retry = false;
	if (id == NULL && s3 == b->s3 && strcmp(cluster, b->cluster) == 0)
		bk_index_latest(b->st, cluster, latest, sizeof(latest));
	if (id == NULL && latest[0] == '\0') {
		if (bk_list_backups(s3, cluster, &l, err, errlen) != 0) {
			*retry = true;		/* the store did not answer */
			return NULL;
		}
		if ((e = bk_latest_complete(&l, NULL)) == NULL) {
			snprintf(err, errlen, "cluster '%s' has no complete "
			    "backup in its store", cluster);
			free(l.v);
			return NULL;
		}
		snprintf(latest, sizeof(latest), "%s", e->id);
		free(l.v);
	}
	c = bk_cluster_manifest(s3, cluster, id ? id : latest, &nf, err,
	    errlen);
	/* A manifest not found is for good; the store not answering (or an
	 * unreadable answer) may pass: a later attempt reads it again. */
	*retry = c == NULL && !nf;
	return c;
}

static void pick_release(void *p)
{
	manifest_cluster_free(p);
}

/*
 * bk_pick_backup() once per attempt: a step that fans out over node jobs
 * is called again at every poll of them (task_wait()), and the backup it
 * works on cannot change under it, so the listing and the cluster manifest
 * are read at its first call only.  The manifest belongs to the memo: the
 * caller must not free it, and it lives until the attempt ends.
 */
const struct manifest_cluster *bk_pick_backup_memo(struct bk *b,
    struct s3 *s3, const char *cluster, bool *retry, char *err,
    size_t errlen)
{
	struct manifest_cluster *c;
	char key[STORE_NAME_MAX + 16];

	snprintf(key, sizeof(key), "pick:%s", cluster);
	*retry = false;
	if ((c = task_memo(b->ctx, key)) != NULL)
		return c;
	if ((c = bk_pick_backup(b, s3, cluster, retry, err, errlen)) == NULL)
		return NULL;
	task_memo_put(b->ctx, key, c, pick_release, NULL);
	return c;
}

/* ---- nodes a backup leaves out (down_policy skip_down) ---- */

void bk_cluster_default_policy(struct store *st, const char *cluster,
    char *out, size_t len)
{
	struct store_cluster_settings cs;

	/* A cluster the store cannot read keeps the safe default. */
	if (store_cluster_settings_get(st, cluster, &cs) != 0)
		store_settings_defaults(&cs);
	str_copy(out, cs.backup_down_policy[0] ? cs.backup_down_policy :
	    "require_all", len);
}

void bk_down_policy(struct bk *b, char *out, size_t len)
{
	const char *p = bk_str(b->params, "down_policy");

	/* The cluster's backup_down_policy decides when the task does not;
	 * read when the check step decides, never later. */
	if (p != NULL)
		str_copy(out, p, len);
	else
		bk_cluster_default_policy(b->st, b->cluster, out, len);
}

char *bk_missing_names(const json_t *missing)
{
	char *s = xstrdup(""), *t;
	size_t i;
	json_t *m;

	json_array_foreach(missing, i, m) {
		const char *st = bk_str(m, "state");
		t = xasprintf("%s%s%s (%s)", s, i ? ", " : "",
		    bk_str(m, "address") ? bk_str(m, "address") : "?",
		    st ? st : "not up");
		free(s);
		s = t;
	}
	return s;
}

static bool missing_has(const json_t *missing, const json_t *node)
{
	const char *a = bk_str(node, "address"), *h = bk_str(node, "host_id");
	size_t i;
	json_t *m;

	json_array_foreach(missing, i, m) {
		const char *ma = bk_str(m, "address"), *mh = bk_str(m, "host_id");
		if ((a && ma && strcmp(a, ma) == 0) || (h && mh &&
		    strcmp(h, mh) == 0))
			return true;
	}
	return false;
}

bool bk_node_missing(const json_t *missing, const json_t *node)
{
	return missing_has(missing, node);
}

void bk_drop_missing(struct bk *b)
{
	json_t *keep = json_array();
	size_t i;
	json_t *n;

	json_array_foreach(b->nodes, i, n)
		if (!missing_has(b->missing, n))
			json_array_append(keep, n);
	json_decref(b->nodes);
	b->nodes = keep;
}

int bk_apply_missing(struct bk *b, char *err, size_t errlen)
{
	struct store_backup *row = NULL;
	json_error_t je;
	int rc = store_backup_get(b->st, b->cluster, b->id, &row);

	json_decref(b->missing);
	b->missing = NULL;
	if (rc == RM_ENOENT)
		return TASK_STEP_OK;	/* not indexed yet: no node left out */
	if (rc != 0) {
		snprintf(err, errlen, "cannot read backup %s from the index: see "
		    "the ringmaster log", b->id);
		return TASK_STEP_FAIL;
	}
	if (row->missing_nodes != NULL) {
		b->missing = json_loads(row->missing_nodes, 0, &je);
		if (!json_is_array(b->missing)) {
			/* never guess which nodes are in the backup */
			snprintf(err, errlen, "backup %s: the index's list of "
			    "missing nodes is not a JSON array (%s): rebuild the "
			    "index with a backup-index task", b->id, je.text);
			json_decref(b->missing);
			b->missing = NULL;
			store_backups_free(row, 1);
			return TASK_STEP_FATAL;
		}
	}
	store_backups_free(row, 1);
	if (b->missing != NULL)
		bk_drop_missing(b);
	return TASK_STEP_OK;
}

void bk_list_mark_missing(struct store *st, const char *cluster,
    struct bk_list *l)
{
	struct store_backup *v = NULL;
	size_t n = 0;

	if (store_backup_list(st, cluster, &v, &n) != 0)
		return;
	for (size_t i = 0; i < l->n; i++)
		for (size_t k = 0; k < n; k++)
			if (strcmp(l->v[i].id, v[k].id) == 0) {
				l->v[i].missing = v[k].missing_nodes != NULL;
				break;
			}
	store_backups_free(v, n);
}
