/*
 * backup.c - see backup.h.
 *
 * A backup is a task of cluster-wide steps, each of which fans out over the
 * nodes on threads (a step per node would run the nodes one after another):
 *
 *   check            every node up in the store and its agent reachable
 *   snapshot         `ringagent snapshot --tag rm-<id>` (snapshot_parallelism)
 *   upload           `ringagent backup-upload` on every node at once; each
 *                    agent dedupes against the previous complete backup's
 *                    node manifest, resumes from what is stored, and writes
 *                    its node manifest last
 *   manifests        every node's manifest present and valid
 *   complete         the cluster manifest, which alone marks it complete
 *   clear-snapshots  `ringagent clear-snapshot --tag rm-<id>`
 *   retention        purge what the retention policy no longer keeps
 *
 * Every step is derived from the task alone (the backup id comes from the
 * task's id and creation time), so a step run twice, or again after a
 * restart, finds its own earlier work and carries on from it.
 *
 * Purge (task "purge", DELETE .../backups/{id}, retention) is
 * mark-and-sweep: the doomed backups lose their cluster manifest first (so
 * they can never look complete again), then the rest of their directory;
 * then every content object that no complete backup references is deleted
 * in batches of 1,000.  Run again after a crash, it computes the same.
 */
#include "backup.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/log.h"
#include "../../common/manifest.h"
#include "../../common/s3.h"
#include "../../common/util.h"
#include "../nodes/nodeops.h"
#include "../store/store.h"
#include "../engine/task.h"

#define DEFAULT_TIMEOUT_S 21600		/* per agent command */
#define MAX_PROBLEMS_SHOWN 5

/* ---- parameters ---- */

enum pkind { P_NAMES, P_TABLES, P_ADDRS, P_INT, P_NUM, P_BOOL, P_NAME,
	P_RETENTION, P_CMD, P_SOURCE };

struct pspec {
	const char *key;
	enum pkind kind;
	double min, max;
};

static const struct pspec common_params[] = {
	{ "agent", P_CMD, 0, 0 },
	{ "known_hosts", P_CMD, 0, 0 },
	{ "timeout_s", P_INT, 1, 604800 },
};

static const struct pspec backup_params[] = {
	{ "keyspaces", P_NAMES, 0, 0 },
	{ "tables", P_TABLES, 0, 0 },
	{ "snapshot_parallelism", P_INT, 1, 1000 },
	{ "upload_parallelism", P_INT, 1, 64 },
	{ "rate_limit_mib", P_NUM, 0, 1e6 },
	{ "retention", P_RETENTION, 0, 0 },
	{ "hash_all", P_BOOL, 0, 0 },
};

static const struct pspec restore_params[] = {
	{ "backup_id", P_NAME, 0, 0 },
	{ "source_cluster", P_NAME, 0, 0 },
	{ "source", P_SOURCE, 0, 0 },
	{ "force", P_BOOL, 0, 0 },
	{ "keyspaces", P_NAMES, 0, 0 },
	{ "tables", P_TABLES, 0, 0 },
	{ "nodes", P_ADDRS, 0, 0 },
	{ "download_parallelism", P_INT, 1, 64 },
	{ "rate_limit_mib", P_NUM, 0, 1e6 },
	{ "space_margin_pct", P_NUM, 0, 100 },
};

static const struct pspec verify_params[] = {
	{ "backup_id", P_NAME, 0, 0 },
	{ "download", P_BOOL, 0, 0 },
	{ "parallelism", P_INT, 1, 64 },
};

static const struct pspec purge_params[] = {
	{ "backup_ids", P_NAMES, 0, 0 },
	{ "retention", P_RETENTION, 0, 0 },
};

static bool table_ok(const char *s)
{
	const char *dot = s ? strchr(s, '.') : NULL;
	char ks[80];

	if (dot == NULL || (size_t)(dot - s) >= sizeof(ks))
		return false;
	memcpy(ks, s, (size_t)(dot - s));
	ks[dot - s] = '\0';
	return name_valid(ks) && name_valid(dot + 1);
}

static bool addr_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 255)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(".-:_", *s)))
			return false;
	return true;
}

static bool plain_arg(const char *s);

/* A storage URL as a cluster's: s3://bucket[/prefix] or file:///dir. */
static bool storage_url_ok(const char *u)
{
	return u != NULL && ((strncmp(u, "s3://", 5) == 0 && u[5] != '\0' &&
	    u[5] != '/') || (strncmp(u, "file:///", 8) == 0 && u[8] != '\0'));
}

/* params.source: {"cluster", "storage", optional "endpoint", "region"},
 * checked as a cluster's storage settings are; every value also goes on
 * an agent's command line, so no blanks or shell syntax. */
static int check_source(json_t *v, char *err, size_t errlen)
{
	const char *k;
	json_t *x;

	if (!json_is_object(v)) {
		snprintf(err, errlen, "params.source must be an object "
		    "{\"cluster\": NAME, \"storage\": URL, \"endpoint\": E, "
		    "\"region\": R}");
		return -1;
	}
	json_object_foreach(v, k, x) {
		const char *sv = json_string_value(x);
		if (strcmp(k, "cluster") == 0) {
			if (!name_valid(sv)) {
				snprintf(err, errlen, "params.source.cluster must be "
				    "a cluster name (1 to 64 of A-Z a-z 0-9 _ -)");
				return -1;
			}
		} else if (strcmp(k, "storage") == 0) {
			if (!storage_url_ok(sv) || !plain_arg(sv) ||
			    strlen(sv) > 1024) {
				snprintf(err, errlen, "params.source.storage must be "
				    "s3://bucket/prefix or file:///dir, got '%.128s'",
				    sv ? sv : "(not a string)");
				return -1;
			}
		} else if (strcmp(k, "endpoint") == 0 ||
		    strcmp(k, "region") == 0) {
			if (!plain_arg(sv) || strlen(sv) > 1024) {
				snprintf(err, errlen, "params.source.%s must be a "
				    "string without blanks or shell syntax", k);
				return -1;
			}
		} else {
			snprintf(err, errlen, "params.source: unknown key '%s' "
			    "(cluster, storage, endpoint, region)", k);
			return -1;
		}
	}
	if (json_object_get(v, "cluster") == NULL ||
	    json_object_get(v, "storage") == NULL) {
		snprintf(err, errlen, "params.source needs \"cluster\" (the "
		    "cluster the backup was made of) and \"storage\" (its "
		    "storage URL)");
		return -1;
	}
	return 0;
}

static int check_param(const struct pspec *p, json_t *v, char *err,
    size_t errlen)
{
	size_t i;
	json_t *e;
	double d;

	switch (p->kind) {
	case P_NAMES:
	case P_TABLES:
	case P_ADDRS:
		if (!json_is_array(v) || json_array_size(v) > 256)
			goto bad;
		json_array_foreach(v, i, e) {
			const char *s = json_string_value(e);
			if (!(p->kind == P_NAMES ? name_valid(s) : p->kind ==
			    P_TABLES ? table_ok(s) : addr_ok(s))) {
				snprintf(err, errlen, "params.%s[%zu] is not a valid "
				    "%s", p->key, i, p->kind == P_NAMES ? "name" :
				    p->kind == P_TABLES ? "\"keyspace.table\"" :
				    "node address");
				return -1;
			}
		}
		return 0;
	case P_NAME:
		if (!name_valid(json_string_value(v)))
			goto bad;
		return 0;
	case P_INT:
		if (!json_is_integer(v) || json_integer_value(v) < p->min ||
		    json_integer_value(v) > p->max) {
			snprintf(err, errlen, "params.%s must be an integer from "
			    "%.0f to %.0f", p->key, p->min, p->max);
			return -1;
		}
		return 0;
	case P_NUM:
		d = json_number_value(v);
		if (!json_is_number(v) || d < p->min || d > p->max) {
			snprintf(err, errlen, "params.%s must be a number from %g "
			    "to %g", p->key, p->min, p->max);
			return -1;
		}
		return 0;
	case P_BOOL:
		if (!json_is_boolean(v))
			goto bad;
		return 0;
	case P_CMD: {
		const char *s = json_string_value(v);
		if (s == NULL || *s == '\0' || strlen(s) > 1024 ||
		    strpbrk(s, "\n\r;&|`$<>") != NULL) {
			snprintf(err, errlen, "params.%s must be a command path and "
			    "arguments without shell syntax", p->key);
			return -1;
		}
		return 0;
	}
	case P_SOURCE:
		return check_source(v, err, errlen);
	case P_RETENTION: {
		const char *k;
		json_t *x;
		if (!json_is_object(v) || json_object_size(v) == 0)
			goto bad;
		json_object_foreach(v, k, x) {
			if (strcmp(k, "keep_last") == 0) {
				if (!json_is_integer(x) || json_integer_value(x) < 1 ||
				    json_integer_value(x) > 100000) {
					snprintf(err, errlen, "params.retention.keep_last "
					    "must be an integer from 1 to 100000");
					return -1;
				}
			} else if (strcmp(k, "keep_days") == 0) {
				if (!json_is_number(x) || json_number_value(x) <= 0 ||
				    json_number_value(x) > 36500) {
					snprintf(err, errlen, "params.retention.keep_days "
					    "must be a number of days above 0");
					return -1;
				}
			} else {
				snprintf(err, errlen, "params.retention: unknown key "
				    "'%s' (keep_last, keep_days)", k);
				return -1;
			}
		}
		return 0;
	}
	}
bad:
	snprintf(err, errlen, "params.%s has the wrong type or value", p->key);
	return -1;
}

static int validate_with(json_t *params, const char *type,
    const struct pspec *spec, size_t nspec, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	const char *agent = getenv("RINGMASTER_AGENT");

	json_object_foreach(params, key, v) {
		const struct pspec *p = NULL;
		for (size_t i = 0; i < nspec && p == NULL; i++)
			if (strcmp(spec[i].key, key) == 0)
				p = &spec[i];
		for (size_t i = 0; i < ARRAY_SIZE(common_params) && p == NULL; i++)
			if (strcmp(common_params[i].key, key) == 0)
				p = &common_params[i];
		if (p == NULL) {
			snprintf(err, errlen, "unknown parameter '%s' for %s", key,
			    type);
			return -1;
		}
		if (check_param(p, v, err, errlen) != 0)
			return -1;
	}
	/* Defaults: agent commands of a backup run for hours, not 60 s. */
	if (json_object_get(params, "timeout_s") == NULL)
		json_object_set_new(params, "timeout_s",
		    json_integer(DEFAULT_TIMEOUT_S));
	if (json_object_get(params, "agent") == NULL && agent != NULL &&
	    *agent != '\0') {
		struct pspec p = { "agent", P_CMD, 0, 0 };
		json_t *a = json_string(agent);
		if (check_param(&p, a, err, errlen) != 0) {
			json_decref(a);
			snprintf(err, errlen, "$RINGMASTER_AGENT must be a command "
			    "path and arguments without shell syntax");
			return -1;
		}
		json_object_set_new(params, "agent", a);
	}
	return 0;
}

/* ---- context of a step ---- */

struct bk {
	struct task_ctx *ctx;
	struct store *st;
	const json_t *params;
	const char *cluster;
	char id[80];			/* backup id (backup tasks) */
	char tag[96];			/* snapshot tag */
	json_t *cl;			/* cluster object */
	json_t *nodes;			/* store nodes */
	struct s3 *s3;
	int64_t task_created, task_started;
	/* Where restores read from: this cluster's store, or params.source's
	 * (src_own then) or source_cluster's (same store). */
	struct s3 *src;
	bool src_own;
	char src_cluster[STORE_NAME_MAX];
};

static void bk_release(struct bk *b)
{
	json_decref(b->cl);
	json_decref(b->nodes);
	if (b->src_own)
		s3_close(b->src);
	s3_close(b->s3);
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int bk_open(struct task_ctx *ctx, struct bk *b, char *err,
    size_t errlen)
{
	struct store_task *t;
	struct s3_opts so;
	json_t *stg;
	const char *tid;
	char ts[32];
	time_t secs;
	struct tm tm;

	memset(b, 0, sizeof(*b));
	b->ctx = ctx;
	b->st = task_ctx_store(ctx);
	b->params = task_ctx_params(ctx);
	b->cluster = task_ctx_cluster(ctx);
	if ((b->cl = store_cluster_get(b->st, b->cluster)) == NULL) {
		snprintf(err, errlen, "cluster '%s' is gone", b->cluster);
		return TASK_STEP_FATAL;
	}
	b->nodes = store_node_list(b->st, b->cluster);
	if (b->nodes == NULL) {
		snprintf(err, errlen, "cannot read the nodes of '%s'", b->cluster);
		return TASK_STEP_FAIL;
	}
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
	stg = json_object_get(b->cl, "storage");
	s3_opts_init(&so);
	so.endpoint = jstr(stg, "endpoint");
	so.region = jstr(stg, "region");
	if ((b->s3 = s3_open(jstr(stg, "url"), &so, err, errlen)) == NULL)
		return TASK_STEP_FATAL;
	b->src = b->s3;
	str_copy(b->src_cluster, b->cluster, sizeof(b->src_cluster));
	if (jstr(b->params, "source_cluster") != NULL)
		str_copy(b->src_cluster, jstr(b->params, "source_cluster"),
		    sizeof(b->src_cluster));
	stg = json_object_get(b->params, "source");
	if (stg != NULL) {
		s3_opts_init(&so);
		so.endpoint = jstr(stg, "endpoint");
		so.region = jstr(stg, "region");
		str_copy(b->src_cluster, jstr(stg, "cluster"),
		    sizeof(b->src_cluster));
		if ((b->src = s3_open(jstr(stg, "storage"), &so, err,
		    errlen)) == NULL) {
			b->src = b->s3;
			return TASK_STEP_FATAL;
		}
		b->src_own = true;
	}
	return TASK_STEP_OK;
}

static char *store_args_of(const char *url, const char *ep, const char *rg)
{
	return xasprintf("--store %s%s%s%s%s", url, ep ? " --endpoint " : "",
	    ep ? ep : "", rg ? " --region " : "", rg ? rg : "");
}

/* "--store URL [--endpoint E] [--region R]" for agent commands. */
static char *store_args(const struct bk *b)
{
	json_t *stg = json_object_get(b->cl, "storage");

	return store_args_of(jstr(stg, "url"), jstr(stg, "endpoint"),
	    jstr(stg, "region"));
}

/* The same for the store a restore reads (params.source or our own). */
static char *src_args(const struct bk *b)
{
	json_t *src = json_object_get(b->params, "source");

	if (src == NULL)
		return store_args(b);
	return store_args_of(jstr(src, "storage"), jstr(src, "endpoint"),
	    jstr(src, "region"));
}

static bool plain_arg(const char *s)
{
	return s != NULL && *s != '\0' && strpbrk(s, " \t\n\r;&|`$<>'\"\\") == NULL;
}

/* ---- fan-out over nodes ---- */

struct fan;
typedef int (*fan_fn)(struct fan *f, size_t i, char *err, size_t errlen);

struct fan {
	struct bk *b;
	json_t *targets;		/* array of node objects */
	fan_fn fn;
	void *arg;
	int par;
	const char *phase;		/* per-node progress; NULL: none */
	int *rc;
	char **errs;
	json_t **data;
};

/*
 * A node's last word in the step: its true final counts (from the agent's
 * result: files and bytes, all of them done) and state, so a node never
 * ends at "12/40" after all 40 landed.
 */
static void fan_node_end(struct fan *f, size_t i, const char *err)
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
	task_node_progress(f->b->ctx, jstr(json_array_get(f->targets, i),
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

static struct fanmemo *fan_memo(struct fan *f, size_t n)
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
static int fan_run(struct fan *f, char *err, size_t errlen)
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
			task_node_progress(f->b->ctx, jstr(json_array_get(
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

static void fan_release(struct fan *f)
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

static const json_t *fan_node(const struct fan *f, size_t i)
{
	return json_array_get(f->targets, i);
}

static int run_agent(struct fan *f, size_t i, const char *args, char *err,
    size_t errlen)
{
	const char *addr = jstr(fan_node(f, i), "address");

	return nodeops_agent(f->b->ctx, addr, args, NULL, 0, &f->data[i], NULL,
	    err, errlen);
}

/* ---- listing backups in the store ---- */

struct bkent {
	char id[80];
	bool complete;
	size_t nodes;
};

struct bklist {
	struct bkent *v;
	size_t n, cap;
	size_t plen;			/* strlen(prefix) */
};

static int list_cb(void *arg, const struct s3_object *o)
{
	struct bklist *l = arg;
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
static int list_backups(struct s3 *s3, const char *cluster,
    struct bklist *l, char *err, size_t errlen)
{
	char *prefix = manifest_backups_prefix(cluster);
	int rc;

	memset(l, 0, sizeof(*l));
	l->plen = strlen(prefix);
	rc = s3_list_all(s3, prefix, 0, list_cb, l, err, errlen);
	free(prefix);
	return rc;
}

static const struct bkent *latest_complete(const struct bklist *l,
    const char *exclude)
{
	for (size_t i = l->n; i-- > 0;)
		if (l->v[i].complete && (exclude == NULL ||
		    strcmp(l->v[i].id, exclude) != 0))
			return &l->v[i];
	return NULL;
}

static struct manifest_cluster *get_cluster_manifest(struct s3 *s3,
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

static struct manifest_node *get_node_manifest(struct s3 *s3, const char *key,
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

static bool params_partial(const json_t *params)
{
	return json_array_size(json_object_get(params, "keyspaces")) > 0 ||
	    json_array_size(json_object_get(params, "tables")) > 0;
}

static void index_from_manifest(struct store_backup *r,
    const struct manifest_cluster *c)
{
	json_t *opts = c->options_json ? json_loads(c->options_json, 0, NULL) :
	    NULL;

	r->partial = params_partial(opts);
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
static void task_of_backup(const char *id, char *out, size_t len)
{
	const char *dash = strrchr(id, '-');

	out[0] = '\0';
	if (dash != NULL && dash[1] != '\0')
		snprintf(out, len, "t-%s", dash + 1);
}

/* Rebuild the index of b->cluster from its storage (one LIST, one GET per
 * complete backup), on the task's worker. */
static int index_rebuild(struct bk *b, char *err, size_t errlen)
{
	struct bklist l;
	struct store_backup *v;
	char serr[256];
	int rc;

	if (list_backups(b->s3, b->cluster, &l, err, errlen) != 0)
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
		task_of_backup(r->id, r->task_id, sizeof(r->task_id));
		if (l.v[i].complete) {
			char e2[512];
			struct manifest_cluster *c = get_cluster_manifest(b->s3,
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
	free(v);
	free(l.v);
	if (rc != 0) {
		snprintf(err, errlen, "cannot record the backup index of '%s': %s",
		    b->cluster, serr);
		return TASK_STEP_FAIL;
	}
	return TASK_STEP_OK;
}

static int index_ensure(struct bk *b, char *err, size_t errlen)
{
	if (store_backup_index_filled(b->st, b->cluster) != 0)
		return TASK_STEP_OK;
	return index_rebuild(b, err, errlen);
}

/* Record this task's backup in the index (state, and totals from c). */
static int index_set(struct bk *b, enum store_backup_state state,
    const struct manifest_cluster *c, char *err, size_t errlen)
{
	struct store_backup r;
	char serr[256];

	memset(&r, 0, sizeof(r));
	str_copy(r.cluster, b->cluster, sizeof(r.cluster));
	str_copy(r.id, b->id, sizeof(r.id));
	str_copy(r.task_id, task_ctx_id(b->ctx), sizeof(r.task_id));
	r.started_at = b->task_started;
	r.partial = params_partial(b->params);
	if (c != NULL)
		index_from_manifest(&r, c);
	r.state = state;
	if (store_backup_put(b->st, &r, serr, sizeof(serr)) != 0) {
		snprintf(err, errlen, "cannot record backup %s in the index: %s",
		    b->id, serr);
		return TASK_STEP_FAIL;
	}
	return TASK_STEP_OK;
}

/* Damaged objects of cluster: a sorted array of keys (caller frees). */
static char **damaged_keys(struct store *st, const char *cluster, size_t *n)
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
static int put_exclude(struct s3 *s3, const char *key, char *const *keys,
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

/* ---- purge: mark and sweep ---- */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct sweep {
	char **keep;			/* sorted referenced keys */
	size_t nkeep;
	char **doomed;
	size_t ndoomed, cap;
	uint64_t bytes;
};

static int sweep_cb(void *arg, const struct s3_object *o)
{
	struct sweep *s = arg;
	const char *k = o->key;

	if (bsearch(&k, s->keep, s->nkeep, sizeof(char *), str_cmp) != NULL)
		return 0;
	if (s->ndoomed == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->doomed = xrealloc(s->doomed, s->cap * sizeof(char *));
	}
	s->doomed[s->ndoomed++] = xstrdup(o->key);
	s->bytes += o->size;
	return 0;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct dirdel {
	char **keys;
	size_t n, cap;
};

static int dirdel_cb(void *arg, const struct s3_object *o)
{
	struct dirdel *d = arg;

	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->keys = xrealloc(d->keys, d->cap * sizeof(char *));
	}
	d->keys[d->n++] = xstrdup(o->key);
	return 0;
}

/* Delete backup id: cluster manifest first, then the rest of its dir. */
static int drop_backup(struct bk *b, const char *id, char *err, size_t errlen)
{
	char *ck = manifest_cluster_key(b->cluster, id);
	char *dir = xasprintf("%s/backups/%s/", b->cluster, id);
	const char *one[1] = { ck };
	struct dirdel d = { NULL, 0, 0 };
	int rc = -1;

	if (s3_delete(b->s3, one, 1, NULL, err, errlen) != 0)
		goto out;
	if (s3_list_all(b->s3, dir, 0, dirdel_cb, &d, err, errlen) != 0)
		goto out;
	if (d.n > 0 && s3_delete(b->s3, (const char *const *)d.keys, d.n, NULL,
	    err, errlen) != 0)
		goto out;
	rc = 0;
out:
	strv_free(d.keys, d.n);
	free(dir);
	free(ck);
	return rc;
}

/* Which complete backups the retention policy drops (ids, oldest first). */
static void retention_pick(const json_t *ret, const struct bklist *l,
    int64_t now_ms, char ***out, size_t *nout)
{
	json_t *kl = json_object_get(ret, "keep_last");
	json_t *kd = json_object_get(ret, "keep_days");
	size_t ncomplete = 0, seen = 0;
	char **v = NULL;
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		ncomplete += l->v[i].complete;
	for (size_t i = l->n; i-- > 0;) {
		const struct bkent *e = &l->v[i];
		bool keep = false;
		struct tm tm;
		if (!e->complete)
			continue;
		seen++;			/* 1 = newest */
		if (seen == 1)
			keep = true;	/* never drop the newest */
		if (json_is_integer(kl) && (json_int_t)seen <=
		    json_integer_value(kl))
			keep = true;
		if (json_is_number(kd)) {
			memset(&tm, 0, sizeof(tm));
			if (strptime(e->id, "%Y%m%dT%H%M%SZ", &tm) != NULL) {
				int64_t at = (int64_t)timegm(&tm) * 1000;
				if (now_ms - at < (int64_t)(json_number_value(kd) *
				    86400000.0))
					keep = true;
			} else {
				keep = true;	/* not ours: leave it */
			}
		}
		if (!json_is_integer(kl) && !json_is_number(kd))
			keep = true;
		if (!keep) {
			v = xrealloc(v, (n + 1) * sizeof(char *));
			v[n++] = xstrdup(e->id);
		}
	}
	(void)ncomplete;
	*out = v;
	*nout = n;
}

/*
 * Drop the given backups (NULL/0: none), then sweep every content object no
 * complete backup references.  Progress on the step.  TASK_STEP_* code.
 */
static int purge_run(struct bk *b, char **ids, size_t nids, char *err,
    size_t errlen)
{
	struct bklist l;
	struct sweep s;
	char *data_prefix = NULL;
	size_t deleted = 0, dropped = 0;
	int rc = TASK_STEP_FAIL;

	memset(&s, 0, sizeof(s));
	if ((rc = index_ensure(b, err, errlen)) != TASK_STEP_OK)
		return rc;
	rc = TASK_STEP_FAIL;
	for (size_t i = 0; i < nids; i++) {
		if (task_checkpoint(b->ctx))
			return TASK_STEP_STOP;
		if (drop_backup(b, ids[i], err, errlen) != 0)
			return TASK_STEP_FAIL;
		/* After storage: a crash in between leaves a row whose
		 * backup is gone, which the next purge removes again. */
		store_backup_delete(b->st, b->cluster, ids[i], NULL, 0);
		task_progress(b->ctx, "deleted the manifests of backup %s", ids[i]);
	}
	if (list_backups(b->s3, b->cluster, &l, err, errlen) != 0)
		return TASK_STEP_FAIL;
	/* Incomplete backups are failed attempts (one cluster runs one task
	 * at a time, and this one is not a backup in flight). */
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].complete || strcmp(l.v[i].id, b->id) == 0)
			continue;
		if (drop_backup(b, l.v[i].id, err, errlen) != 0)
			goto out;
		store_backup_delete(b->st, b->cluster, l.v[i].id, NULL, 0);
		dropped++;
	}
	/* Mark: every key referenced by a complete backup. */
	for (size_t i = 0; i < l.n; i++) {
		struct manifest_cluster *c;
		int nf;
		if (!l.v[i].complete)
			continue;
		if (task_checkpoint(b->ctx)) {
			rc = TASK_STEP_STOP;
			goto out;
		}
		c = get_cluster_manifest(b->s3, b->cluster, l.v[i].id, &nf, err,
		    errlen);
		if (c == NULL) {
			if (nf)
				continue;	/* dropped meanwhile */
			goto out;
		}
		for (size_t k = 0; k < c->nnodes; k++) {
			struct manifest_node *m = get_node_manifest(b->s3,
			    c->nodes[k].manifest, err, errlen);
			if (m == NULL) {
				manifest_cluster_free(c);
				/* A complete backup with a damaged node manifest:
				 * deleting "unreferenced" files could destroy data
				 * it needs.  Stop and say so. */
				snprintf(err + strlen(err), errlen - strlen(err),
				    "; purge stopped before deleting any content "
				    "(backup %s cannot be read)", l.v[i].id);
				rc = TASK_STEP_FATAL;
				goto out;
			}
			s.keep = xrealloc(s.keep, (s.nkeep + m->nfiles + 1) *
			    sizeof(char *));
			for (size_t f = 0; f < m->nfiles; f++)
				s.keep[s.nkeep++] = xstrdup(m->files[f].key);
			manifest_node_free(m);
		}
		manifest_cluster_free(c);
	}
	qsort(s.keep, s.nkeep, sizeof(char *), str_cmp);
	/* Sweep. */
	data_prefix = xasprintf("%s/data/", b->cluster);
	if (s3_list_all(b->s3, data_prefix, 0, sweep_cb, &s, err, errlen) != 0)
		goto out;
	for (size_t off = 0; off < s.ndoomed; off += S3_MAX_BATCH) {
		size_t n = s.ndoomed - off < S3_MAX_BATCH ? s.ndoomed - off :
		    S3_MAX_BATCH, got = 0;
		if (task_checkpoint(b->ctx)) {
			rc = TASK_STEP_STOP;
			goto out;
		}
		if (s3_delete(b->s3, (const char *const *)s.doomed + off, n, &got,
		    err, errlen) != 0)
			goto out;
		deleted += got;
		task_progress(b->ctx, "deleted %zu of %zu unreferenced objects",
		    deleted, s.ndoomed);
	}
	/* A damaged object no kept backup references concerns nobody now. */
	{
		size_t nd;
		char **dk = damaged_keys(b->st, b->cluster, &nd);
		for (size_t i = 0; i < nd; i++)
			if (bsearch(&dk[i], s.keep, s.nkeep, sizeof(char *),
			    str_cmp) == NULL)
				store_damaged_clear(b->st, b->cluster, dk[i], NULL,
				    0);
		strv_free(dk, nd);
	}
	task_progress(b->ctx, "purged %zu backups (+%zu incomplete); deleted "
	    "%zu objects (%llu bytes) no kept backup uses; %zu objects kept",
	    nids, dropped, deleted, (unsigned long long)s.bytes, s.nkeep);
	rc = TASK_STEP_OK;
out:
	free(data_prefix);
	strv_free(s.keep, s.nkeep);
	strv_free(s.doomed, s.ndoomed);
	free(l.v);
	return rc;
}

/* ---- backup ---- */

static int backup_validate(json_t *params, char *err, size_t errlen)
{
	return validate_with(params, "backup", backup_params,
	    ARRAY_SIZE(backup_params), err, errlen);
}

static int need_nodes(const json_t *nodes, char *err, size_t errlen)
{
	if (json_array_size(nodes) == 0) {
		snprintf(err, errlen, "the cluster has no nodes yet: agents add "
		    "them when they check in");
		return -1;
	}
	return 0;
}

static int backup_plan(const json_t *params, const json_t *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	static const char *const steps[] = { "check", "snapshot", "upload",
	    "manifests", "complete", "clear-snapshots", "retention" };

	(void)params;
	if (need_nodes(nodes, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		task_plan_add(plan, steps[i], NULL);
	return 0;
}

static int fn_check(struct fan *f, size_t i, char *err, size_t errlen)
{
	return run_agent(f, i, "nodetool-check", err, errlen);
}

static int check_nodes_up(struct bk *b, const json_t *targets, char *err,
    size_t errlen)
{
	size_t i, off = 0;
	json_t *n;

	err[0] = '\0';
	json_array_foreach(targets, i, n) {
		const char *s = jstr(n, "state");
		if (s == NULL || strcmp(s, "up") != 0)
			off += (size_t)snprintf(err + off, errlen > off ? errlen - off :
			    0, "%s%s is %s", off ? ", " : "", jstr(n, "address"),
			    s ? s : "unknown");
		if (off >= errlen)
			off = errlen - 1;
	}
	if (off > 0) {
		char tmp[1024];
		snprintf(tmp, sizeof(tmp), "not every node is up (%s): a backup "
		    "needs them all", err);
		str_copy(err, tmp, errlen);
		(void)b;
		return -1;
	}
	return 0;
}

static int step_check(struct bk *b, char *err, size_t errlen)
{
	struct fan f = { .b = b, .targets = b->nodes, .fn = fn_check,
	    .par = (int)json_array_size(b->nodes), .phase = "check" };
	int rc;

	/* Intent first: the index shows the backup running from here on. */
	if ((rc = index_ensure(b, err, errlen)) != TASK_STEP_OK ||
	    (rc = index_set(b, STORE_BK_RUNNING, NULL, err, errlen)) !=
	    TASK_STEP_OK)
		return rc;
	if (check_nodes_up(b, b->nodes, err, errlen) != 0)
		return TASK_STEP_FAIL;
	rc = fan_run(&f, err, errlen);
	fan_release(&f);
	if (rc == TASK_STEP_OK)
		task_progress(b->ctx, "%zu nodes up and reachable; backup id %s",
		    json_array_size(b->nodes), b->id);
	return rc;
}

static void add_filters(char **args, const json_t *params, bool tables)
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

static int fn_snapshot(struct fan *f, size_t i, char *err, size_t errlen)
{
	char *args = xasprintf("snapshot --tag %s", f->b->tag);
	int rc;

	add_filters(&args, f->b->params, false);
	rc = run_agent(f, i, args, err, errlen);
	free(args);
	return rc;
}

static int fn_clear(struct fan *f, size_t i, char *err, size_t errlen)
{
	char *args = xasprintf("clear-snapshot --tag %s", f->b->tag);
	int rc = run_agent(f, i, args, err, errlen);

	free(args);
	return rc;
}

static int param_int(const json_t *p, const char *k, int def)
{
	json_t *v = json_object_get(p, k);

	return json_is_integer(v) ? (int)json_integer_value(v) : def;
}

struct upload_arg {
	char *store;
	const struct bkent *prev;
	const char *exclude;		/* key of exclude.json, or NULL */
};

static int fn_upload(struct fan *f, size_t i, char *err, size_t errlen)
{
	struct upload_arg *a = f->arg;
	const json_t *n = fan_node(f, i);
	const char *hid = jstr(n, "host_id"), *dc = jstr(n, "dc"),
	    *rack = jstr(n, "rack");
	json_t *rl = json_object_get(f->b->params, "rate_limit_mib");
	char *args, *prev = NULL, *tmp;
	int rc;

	if (hid != NULL && !manifest_component_safe(hid))
		hid = NULL;
	args = xasprintf("backup-upload %s --cluster %s --backup-id %s --tag %s"
	    " --address %s --parallel %d", a->store, f->b->cluster, f->b->id,
	    f->b->tag, jstr(n, "address"), param_int(f->b->params,
	    "upload_parallelism", 4));
	if (hid != NULL) {
		tmp = xasprintf("%s --host-id %s", args, hid);
		free(args);
		args = tmp;
		if (a->prev != NULL) {
			prev = manifest_node_key(f->b->cluster, a->prev->id, hid);
			tmp = xasprintf("%s --previous %s", args, prev);
			free(args);
			args = tmp;
		}
	}
	if (plain_arg(dc) && plain_arg(rack)) {
		tmp = xasprintf("%s --dc %s --rack %s", args, dc, rack);
		free(args);
		args = tmp;
	}
	if (json_is_number(rl) && json_number_value(rl) > 0) {
		tmp = xasprintf("%s --rate-limit %g", args, json_number_value(rl));
		free(args);
		args = tmp;
	}
	if (json_is_true(json_object_get(f->b->params, "hash_all"))) {
		tmp = xasprintf("%s --hash-all", args);
		free(args);
		args = tmp;
	}
	if (a->exclude != NULL) {
		tmp = xasprintf("%s --exclude %s", args, a->exclude);
		free(args);
		args = tmp;
	}
	add_filters(&args, f->b->params, true);
	rc = run_agent(f, i, args, err, errlen);
	free(args);
	free(prev);
	return rc;
}

static int step_upload(struct bk *b, char *err, size_t errlen)
{
	struct upload_arg a = { store_args(b), NULL, NULL };
	struct fan f = { .b = b, .targets = b->nodes, .fn = fn_upload,
	    .arg = &a, .par = (int)json_array_size(b->nodes),
	    .phase = "upload" };
	struct bklist l;
	int rc;
	json_int_t files = 0, up = 0, bytes = 0, bup = 0;
	size_t ndamaged = 0;
	char **damaged = damaged_keys(b->st, b->cluster, &ndamaged);
	char *exkey = NULL;

	if (list_backups(b->s3, b->cluster, &l, err, errlen) != 0) {
		free(a.store);
		strv_free(damaged, ndamaged);
		return TASK_STEP_FAIL;
	}
	/* Objects a verify found lost or corrupt are never referenced
	 * again: deduplication would carry the damage into this backup.
	 * The agents upload such files afresh, under another key. */
	if (ndamaged > 0) {
		exkey = xasprintf("%s/backups/%s/exclude.json", b->cluster, b->id);
		if (put_exclude(b->s3, exkey, damaged, ndamaged, err,
		    errlen) != 0) {
			free(exkey);
			free(a.store);
			free(l.v);
			strv_free(damaged, ndamaged);
			return TASK_STEP_FAIL;
		}
		a.exclude = exkey;
	}
	a.prev = latest_complete(&l, b->id);
	rc = fan_run(&f, err, errlen);
	for (size_t i = 0; rc == TASK_STEP_OK && i < json_array_size(b->nodes);
	    i++) {
		files += json_integer_value(json_object_get(f.data[i], "files"));
		up += json_integer_value(json_object_get(f.data[i],
		    "files_uploaded"));
		bytes += json_integer_value(json_object_get(f.data[i], "bytes"));
		bup += json_integer_value(json_object_get(f.data[i],
		    "bytes_uploaded"));
	}
	if (rc == TASK_STEP_OK) {
		char dmg[160] = "";
		if (ndamaged > 0)
			snprintf(dmg, sizeof(dmg), "; %zu damaged objects never "
			    "referenced (exclude.json)", ndamaged);
		task_progress(b->ctx, "%zu nodes: %lld files (%lld bytes), %lld "
		    "uploaded (%lld bytes), the rest already stored%s%s%s",
		    json_array_size(b->nodes), (long long)files, (long long)bytes,
		    (long long)up, (long long)bup, a.prev ? "; deduplicated "
		    "against " : "", a.prev ? a.prev->id : "", dmg);
	}
	fan_release(&f);
	free(l.v);
	free(a.store);
	free(exkey);
	strv_free(damaged, ndamaged);
	return rc;
}

/* Node manifests of this backup, one per node (by host id). */
static int load_node_manifests(struct bk *b, struct manifest_cluster *c,
    char *err, size_t errlen)
{
	size_t i;
	json_t *n;

	c->nodes = xcalloc(json_array_size(b->nodes) + 1, sizeof(*c->nodes));
	json_array_foreach(b->nodes, i, n) {
		const char *hid = jstr(n, "host_id");
		struct manifest_node *m;
		char *key;

		if (hid == NULL || !manifest_component_safe(hid)) {
			snprintf(err, errlen, "node %s has no host id in the store: "
			    "it has not checked in since it joined", jstr(n, "address"));
			return TASK_STEP_FAIL;
		}
		key = manifest_node_key(b->cluster, b->id, hid);
		m = get_node_manifest(b->s3, key, err, errlen);
		if (m == NULL) {
			free(key);
			return TASK_STEP_FAIL;
		}
		struct manifest_cluster_node *cn = &c->nodes[c->nnodes++];
		cn->host_id = xstrdup(hid);
		cn->address = xstrdup(m->address ? m->address : jstr(n, "address"));
		cn->dc = m->dc ? xstrdup(m->dc) : NULL;
		cn->rack = m->rack ? xstrdup(m->rack) : NULL;
		cn->manifest = key;
		cn->files = m->nfiles;
		cn->files_uploaded = m->files_uploaded;
		cn->bytes = m->bytes;
		cn->bytes_uploaded = m->bytes_uploaded;
		c->files += m->nfiles;
		c->files_uploaded += m->files_uploaded;
		c->bytes += m->bytes;
		c->bytes_uploaded += m->bytes_uploaded;
		manifest_node_free(m);
	}
	return TASK_STEP_OK;
}

static int step_manifests(struct bk *b, bool write, char *err, size_t errlen)
{
	struct manifest_cluster c;
	char *text = NULL, *key;
	size_t len;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = load_node_manifests(b, &c, err, errlen);
	if (rc == TASK_STEP_OK && !write)
		task_progress(b->ctx, "%zu node manifests: %zu files, %llu bytes",
		    c.nnodes, c.files, (unsigned long long)c.bytes);
	if (rc == TASK_STEP_OK && write) {
		c.cluster = xstrdup(b->cluster);
		c.backup_id = xstrdup(b->id);
		c.task_id = xstrdup(task_ctx_id(b->ctx));
		c.started_at = b->task_started;
		c.finished_at = time_wall_ms();
		c.options_json = json_dumps(b->params, JSON_COMPACT);
		text = manifest_cluster_dump(&c, &len);
		key = manifest_cluster_key(b->cluster, b->id);
		if (s3_put_mem(b->s3, key, text, len, NULL, NULL, err, errlen) != 0)
			rc = TASK_STEP_FAIL;
		else if ((rc = index_set(b, params_partial(b->params) ?
		    STORE_BK_PARTIAL : STORE_BK_COMPLETE, &c, err, errlen)) ==
		    TASK_STEP_OK)
			task_progress(b->ctx, "backup %s complete: %zu nodes, %zu "
			    "files, %llu bytes (%llu uploaded)", b->id, c.nnodes,
			    c.files, (unsigned long long)c.bytes,
			    (unsigned long long)c.bytes_uploaded);
		free(key);
		free(text);
		c.nodes = c.nodes;
		free(c.cluster);
		free(c.backup_id);
		free(c.task_id);
		free(c.options_json);
		c.cluster = c.backup_id = c.task_id = c.options_json = NULL;
	}
	for (size_t i = 0; i < c.nnodes; i++) {
		free(c.nodes[i].host_id);
		free(c.nodes[i].address);
		free(c.nodes[i].dc);
		free(c.nodes[i].rack);
		free(c.nodes[i].manifest);
	}
	free(c.nodes);
	return rc;
}

static int step_retention(struct bk *b, const json_t *ret, char *err,
    size_t errlen)
{
	struct bklist l;
	char **ids = NULL;
	size_t n = 0;
	int rc;

	if (ret == NULL) {
		task_progress(b->ctx, "no retention policy: every backup is kept");
		return TASK_STEP_OK;
	}
	if (list_backups(b->s3, b->cluster, &l, err, errlen) != 0)
		return TASK_STEP_FAIL;
	retention_pick(ret, &l, time_wall_ms(), &ids, &n);
	free(l.v);
	rc = purge_run(b, ids, n, err, errlen);
	strv_free(ids, n);
	return rc;
}

static int backup_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	struct bk b;
	int rc = bk_open(ctx, &b, err, errlen);

	if (rc != TASK_STEP_OK)
		goto out;
	if (strcmp(step->name, "check") == 0) {
		rc = step_check(&b, err, errlen);
	} else if (strcmp(step->name, "snapshot") == 0 ||
	    strcmp(step->name, "clear-snapshots") == 0) {
		bool snap = step->name[0] == 's';
		struct fan f = { .b = &b, .targets = b.nodes, .fn = snap ?
		    fn_snapshot : fn_clear, .par = snap ? param_int(b.params,
		    "snapshot_parallelism", (int)json_array_size(b.nodes)) :
		    (int)json_array_size(b.nodes), .phase = step->name };
		rc = fan_run(&f, err, errlen);
		fan_release(&f);
		if (rc == TASK_STEP_OK)
			task_progress(ctx, "%s '%s' on %zu nodes", snap ?
			    "snapshot" : "cleared snapshot", b.tag,
			    json_array_size(b.nodes));
	} else if (strcmp(step->name, "upload") == 0) {
		rc = step_upload(&b, err, errlen);
	} else if (strcmp(step->name, "manifests") == 0) {
		rc = step_manifests(&b, false, err, errlen);
	} else if (strcmp(step->name, "complete") == 0) {
		rc = step_manifests(&b, true, err, errlen);
	} else if (strcmp(step->name, "retention") == 0) {
		rc = step_retention(&b, json_object_get(b.params, "retention"),
		    err, errlen);
	} else {
		snprintf(err, errlen, "unknown backup step '%s'", step->name);
		rc = TASK_STEP_FATAL;
	}
out:
	bk_release(&b);
	return rc;
}

/*
 * A backup that fails for good: the index says so (unless its cluster
 * manifest was written: then it is complete whatever failed after), and
 * the snapshots it took are cleared, so no node keeps hard links to
 * SSTables it would otherwise delete.
 */
static int backup_on_fail(struct task_ctx *ctx, const char *error, char *msg,
    size_t msglen)
{
	struct bk b;
	struct store_backup *row = NULL;
	struct store_task *t;
	char err[1024];
	bool snapped = false;
	int rc = bk_open(ctx, &b, err, sizeof(err));

	(void)error;
	if (rc != TASK_STEP_OK) {
		snprintf(msg, msglen, "cannot clean up: %s", err);
		bk_release(&b);
		return TASK_STEP_FAIL;
	}
	if (store_backup_get(b.st, b.cluster, b.id, &row) == 0 &&
	    (row->state == STORE_BK_RUNNING || row->state ==
	    STORE_BK_INCOMPLETE))
		store_backup_set_state(b.st, b.cluster, b.id, STORE_BK_FAILED,
		    time_wall_ms(), NULL, 0);
	store_backups_free(row, row ? 1 : 0);
	if ((t = store_task_load(b.st, task_ctx_id(ctx))) != NULL) {
		for (size_t i = 0; i < t->nsteps; i++) {
			if (strcmp(t->steps[i].name, "snapshot") == 0 &&
			    t->steps[i].attempts > 0)
				snapped = true;
			if (strcmp(t->steps[i].name, "clear-snapshots") == 0 &&
			    t->steps[i].state == STORE_STEP_SUCCEEDED)
				snapped = false;
		}
		store_task_free(t);
	}
	if (!snapped) {
		snprintf(msg, msglen, "backup %s marked failed; no snapshot "
		    "had been taken", b.id);
	} else {
		struct fan f = { .b = &b, .targets = b.nodes, .fn = fn_clear,
		    .par = (int)json_array_size(b.nodes) };
		rc = fan_run(&f, err, sizeof(err));
		fan_release(&f);
		if (rc == TASK_STEP_OK)
			snprintf(msg, msglen, "backup %s marked failed; cleared "
			    "snapshot %s on %zu nodes", b.id, b.tag,
			    json_array_size(b.nodes));
		else
			snprintf(msg, msglen, "snapshot %s may be left on some "
			    "nodes (%s): clear it with `ringagent clear-snapshot "
			    "--tag %s`", b.tag, err, b.tag);
	}
	bk_release(&b);
	return rc == TASK_STEP_STOP ? TASK_STEP_STOP : rc == TASK_STEP_OK ?
	    TASK_STEP_OK : TASK_STEP_FAIL;
}

static const struct task_type backup_type = {
	.name = "backup",
	.validate = backup_validate,
	.plan = backup_plan,
	.run = backup_run,
	.on_fail = backup_on_fail,
	.max_attempts = 5,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 60000,
	.step_deadline_ms = 24LL * 3600 * 1000,
};

/* ---- purge ---- */

static int purge_validate(json_t *params, char *err, size_t errlen)
{
	if (validate_with(params, "purge", purge_params,
	    ARRAY_SIZE(purge_params), err, errlen) != 0)
		return -1;
	if (json_object_get(params, "backup_ids") == NULL &&
	    json_object_get(params, "retention") == NULL) {
		snprintf(err, errlen, "purge needs params.backup_ids or "
		    "params.retention (keep_last, keep_days)");
		return -1;
	}
	return 0;
}

static int single_plan(const json_t *params, const json_t *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	(void)params;
	(void)nodes;
	(void)err;
	(void)errlen;
	task_plan_add(plan, "purge", NULL);
	return 0;
}

static int purge_task_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	struct bk b;
	int rc = bk_open(ctx, &b, err, errlen);
	json_t *ids = json_object_get(task_ctx_params(ctx), "backup_ids");
	json_t *ret = json_object_get(task_ctx_params(ctx), "retention");
	char **v = NULL;
	size_t n = 0, i;
	json_t *x;

	(void)step;
	if (rc != TASK_STEP_OK)
		goto out;
	b.id[0] = '\0';			/* not a backup: nothing of ours in flight */
	if (ret != NULL) {
		struct bklist l;
		if (list_backups(b.s3, b.cluster, &l, err, errlen) != 0) {
			rc = TASK_STEP_FAIL;
			goto out;
		}
		retention_pick(ret, &l, time_wall_ms(), &v, &n);
		free(l.v);
	}
	json_array_foreach(ids, i, x) {
		v = xrealloc(v, (n + 1) * sizeof(char *));
		v[n++] = xstrdup(json_string_value(x));
	}
	rc = purge_run(&b, v, n, err, errlen);
	strv_free(v, n);
out:
	bk_release(&b);
	return rc;
}

static const struct task_type purge_type = {
	.name = "purge",
	.validate = purge_validate,
	.plan = single_plan,
	.run = purge_task_run,
	.max_attempts = 5,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 60000,
	.step_deadline_ms = 24LL * 3600 * 1000,
};

/* ---- backup-index: rebuild the index from storage ---- */

static int index_validate(json_t *params, char *err, size_t errlen)
{
	return validate_with(params, "backup-index", NULL, 0, err, errlen);
}

static int index_plan(const json_t *params, const json_t *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	(void)params;
	(void)nodes;
	(void)err;
	(void)errlen;
	task_plan_add(plan, "reindex", NULL);
	return 0;
}

static int index_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	struct bk b;
	struct store_backup *v = NULL;
	size_t n = 0;
	int rc = bk_open(ctx, &b, err, errlen);

	(void)step;
	if (rc == TASK_STEP_OK)
		rc = index_rebuild(&b, err, errlen);
	if (rc == TASK_STEP_OK && store_backup_list(b.st, b.cluster, &v,
	    &n) == 0)
		task_progress(ctx, "indexed %zu backups of '%s' from its storage",
		    n, b.cluster);
	store_backups_free(v, n);
	bk_release(&b);
	return rc;
}

static const struct task_type index_type = {
	.name = "backup-index",
	.validate = index_validate,
	.plan = index_plan,
	.run = index_run,
	.max_attempts = 3,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 30000,
};

/* ---- verify ---- */

static int verify_validate(json_t *params, char *err, size_t errlen)
{
	return validate_with(params, "verify", verify_params,
	    ARRAY_SIZE(verify_params), err, errlen);
}

static int verify_plan(const json_t *params, const json_t *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	(void)params;
	(void)nodes;
	(void)err;
	(void)errlen;
	task_plan_add(plan, "verify", NULL);
	return 0;
}

/* The backup a restore or verify means: params.backup_id or the latest
 * complete one of cluster. */
static bool state_is_complete(enum store_backup_state s)
{
	return s == STORE_BK_COMPLETE || s == STORE_BK_PARTIAL ||
	    s == STORE_BK_DAMAGED;
}

/* The newest backup of cluster the index calls complete (damaged ones
 * included: what to do with them is the caller's); "" when none. */
static void index_latest(struct store *st, const char *cluster, char *id,
    size_t len)
{
	struct store_backup *v = NULL;
	size_t n = 0;

	id[0] = '\0';
	if (store_backup_list(st, cluster, &v, &n) != 0)
		return;
	for (size_t i = 0; i < n && id[0] == '\0'; i++)
		if (state_is_complete(v[i].state))
			str_copy(id, v[i].id, len);
	store_backups_free(v, n);
}

/*
 * The backup a restore or verify means, from s3 (cluster's store):
 * params.backup_id, or the newest complete one (by the index for our own
 * store, else by listing the store).
 */
static struct manifest_cluster *pick_backup(struct bk *b, struct s3 *s3,
    const char *cluster, char *err, size_t errlen)
{
	const char *id = jstr(b->params, "backup_id");
	char latest[STORE_BACKUP_ID_MAX] = "";
	struct bklist l;
	const struct bkent *e;
	struct manifest_cluster *c;
	int nf;

	if (id != NULL)
		return get_cluster_manifest(s3, cluster, id, &nf, err, errlen);
	if (s3 == b->s3 && strcmp(cluster, b->cluster) == 0)
		index_latest(b->st, cluster, latest, sizeof(latest));
	if (latest[0] != '\0')
		return get_cluster_manifest(s3, cluster, latest, &nf, err, errlen);
	if (list_backups(s3, cluster, &l, err, errlen) != 0)
		return NULL;
	if ((e = latest_complete(&l, NULL)) == NULL) {
		snprintf(err, errlen, "cluster '%s' has no complete backup in "
		    "its store", cluster);
		free(l.v);
		return NULL;
	}
	c = get_cluster_manifest(s3, cluster, e->id, &nf, err, errlen);
	free(l.v);
	return c;
}

/* Every key of the files of backup id (node manifests read from storage),
 * sorted; NULL when a manifest cannot be read. */
static char **backup_keys(struct bk *b, const char *id, size_t *n, char *err,
    size_t errlen)
{
	struct manifest_cluster *c;
	char **v = NULL;
	int nf;

	*n = 0;
	if ((c = get_cluster_manifest(b->s3, b->cluster, id, &nf, err,
	    errlen)) == NULL)
		return NULL;
	for (size_t k = 0; k < c->nnodes; k++) {
		struct manifest_node *m = get_node_manifest(b->s3,
		    c->nodes[k].manifest, err, errlen);
		if (m == NULL) {
			strv_free(v, *n);
			manifest_cluster_free(c);
			*n = 0;
			return NULL;
		}
		v = xrealloc(v, (*n + m->nfiles + 1) * sizeof(char *));
		for (size_t f = 0; f < m->nfiles; f++)
			v[(*n)++] = xstrdup(m->files[f].key);
		manifest_node_free(m);
	}
	manifest_cluster_free(c);
	if (v == NULL)
		v = xcalloc(1, sizeof(char *));
	qsort(v, *n, sizeof(char *), str_cmp);
	return v;
}

/*
 * Record what a verify of backup id found (bad: n files) in the index:
 * the backup's damaged files; lost or corrupt content objects as damaged
 * objects of the cluster (so no later backup references them); objects
 * recorded damaged that this verify found sound, cleared; and every other
 * complete backup that references a damaged object marked damaged, with
 * the files named.  Runs on the task's worker (it reads manifests).
 */
static int verify_record(struct bk *b, const char *id,
    struct manifest_node *const *ms, size_t nms,
    const struct store_backup_file *bad, size_t n, char *err, size_t errlen)
{
	char *data_prefix = xasprintf("%s/data/", b->cluster), serr[256];
	struct store_damaged *dv = NULL;
	struct store_backup *v = NULL;
	size_t ndv = 0, nv = 0, marked = 0;
	int rc = TASK_STEP_FAIL;

	if (store_backup_verified(b->st, b->cluster, id, task_ctx_id(b->ctx),
	    time_wall_ms(), bad, n, serr, sizeof(serr)) == STORE_ERR)
		goto store_failed;
	for (size_t i = 0; i < n; i++) {
		struct store_damaged d = { bad[i].key, bad[i].reason,
		    time_wall_ms(), "" };
		if (strncmp(bad[i].key, data_prefix, strlen(data_prefix)) != 0)
			continue;	/* a manifest: this backup's own */
		str_copy(d.task_id, task_ctx_id(b->ctx), sizeof(d.task_id));
		if (store_damaged_put(b->st, b->cluster, &d, serr,
		    sizeof(serr)) != 0)
			goto store_failed;
	}
	if (store_damaged_list(b->st, b->cluster, &dv, &ndv) != 0)
		goto store_failed;
	/* Sound again: referenced by this backup, checked, not bad now. */
	for (size_t i = 0; i < ndv; i++) {
		bool mine = false, still = false;
		for (size_t k = 0; k < nms && !mine; k++)
			for (size_t f = 0; f < ms[k]->nfiles && !mine; f++)
				mine = strcmp(ms[k]->files[f].key, dv[i].key) == 0;
		for (size_t k = 0; k < n && !still; k++)
			still = strcmp(bad[k].key, dv[i].key) == 0;
		if (mine && !still && store_damaged_clear(b->st, b->cluster,
		    dv[i].key, serr, sizeof(serr)) != 0)
			goto store_failed;
	}
	store_damaged_free(dv, ndv);
	dv = NULL;
	if (store_damaged_list(b->st, b->cluster, &dv, &ndv) != 0)
		goto store_failed;
	if (ndv > 0 && store_backup_list(b->st, b->cluster, &v, &nv) != 0)
		goto store_failed;
	for (size_t i = 0; i < nv; i++) {
		struct store_backup_file *hit;
		size_t nk, nhit = 0;
		char **keys;
		if (!state_is_complete(v[i].state) || strcmp(v[i].id, id) == 0)
			continue;
		if (task_checkpoint(b->ctx)) {
			rc = TASK_STEP_STOP;
			goto out;
		}
		if ((keys = backup_keys(b, v[i].id, &nk, err, errlen)) == NULL) {
			log_warnx("verify of '%s': cannot read backup %s to look "
			    "for damaged objects: %s", b->cluster, v[i].id, err);
			continue;
		}
		hit = xcalloc(ndv + 1, sizeof(*hit));
		for (size_t k = 0; k < ndv; k++)
			if (bsearch(&dv[k].key, keys, nk, sizeof(char *),
			    str_cmp) != NULL)
				hit[nhit++] = (struct store_backup_file){
				    dv[k].key, dv[k].reason };
		if (nhit > 0 && store_backup_mark_damaged(b->st, b->cluster,
		    v[i].id, hit, nhit, serr, sizeof(serr)) == STORE_ERR) {
			free(hit);
			strv_free(keys, nk);
			goto store_failed;
		}
		marked += nhit > 0;
		free(hit);
		strv_free(keys, nk);
	}
	if (marked > 0)
		task_progress(b->ctx, "%zu other backups reference damaged "
		    "objects: marked damaged", marked);
	rc = TASK_STEP_OK;
	goto out;
store_failed:
	snprintf(err, errlen, "cannot record the verify of backup %s in the "
	    "index: %s", id, serr);
out:
	store_backups_free(v, nv);
	store_damaged_free(dv, ndv);
	free(data_prefix);
	return rc;
}

struct vfarg {
	struct bk *b;
	struct manifest_node **ms;
	size_t nms;
	size_t total;
	atomic_size_t next;
	atomic_size_t done;
	pthread_mutex_t mtx;
	json_t *missing, *corrupt;
	char err[512];
	bool failed;
};

static void *verify_head_worker(void *arg)
{
	struct vfarg *a = arg;
	char err[512];

	for (;;) {
		size_t i = atomic_fetch_add(&a->next, 1), k = 0, off = i;
		const struct manifest_file *f;
		struct s3_stat st;
		int rc;

		if (i >= a->total || task_checkpoint(a->b->ctx))
			break;
		while (off >= a->ms[k]->nfiles)
			off -= a->ms[k++]->nfiles;
		f = &a->ms[k]->files[off];
		rc = s3_head(a->b->s3, f->key, &st, err, sizeof(err));
		pthread_mutex_lock(&a->mtx);
		if (rc < 0) {
			if (!a->failed)
				str_copy(a->err, err, sizeof(a->err));
			a->failed = true;
		} else if (rc == S3_NOT_FOUND) {
			json_array_append_new(a->missing, json_string(f->key));
		} else if (st.size != f->size) {
			char why[128];
			snprintf(why, sizeof(why), "size %llu, the manifest says "
			    "%llu", (unsigned long long)st.size,
			    (unsigned long long)f->size);
			json_array_append_new(a->corrupt, json_pack("{s:s, s:s}",
			    "key", f->key, "reason", why));
		} else if (st.sha256[0] && strcmp(st.sha256, f->sha256) != 0) {
			json_array_append_new(a->corrupt, json_pack("{s:s, s:s}",
			    "key", f->key, "reason", "recorded SHA-256 differs"));
		}
		pthread_mutex_unlock(&a->mtx);
		size_t d = atomic_fetch_add(&a->done, 1) + 1;
		if (d % 500 == 0)
			task_progress(a->b->ctx, "checked %zu of %zu objects", d,
			    a->total);
		if (a->failed)
			break;
	}
	return NULL;
}

struct vfnode_arg {
	char *store;
	struct manifest_cluster *c;
	json_t *missing, *corrupt;
	pthread_mutex_t mtx;
};

static int fn_verify_download(struct fan *f, size_t i, char *err,
    size_t errlen)
{
	struct vfnode_arg *a = f->arg;
	const char *hid = jstr(fan_node(f, i), "host_id");
	char *args;
	int rc;
	size_t k;

	for (k = 0; k < a->c->nnodes; k++)
		if (hid != NULL && strcmp(a->c->nodes[k].host_id, hid) == 0)
			break;
	if (k == a->c->nnodes)
		return TASK_STEP_OK;	/* not in this backup */
	args = xasprintf("backup-verify %s --manifest %s --download --parallel "
	    "%d", a->store, a->c->nodes[k].manifest, param_int(f->b->params,
	    "parallelism", 4));
	rc = run_agent(f, i, args, err, errlen);
	free(args);
	/* What it found is gathered from f->data when every node is done
	 * (the step is called several times while the nodes work). */
	return rc;
}

static int verify_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	struct bk b;
	struct manifest_cluster *c = NULL;
	struct vfarg a;
	int rc = bk_open(ctx, &b, err, errlen), nt;
	json_t *report = NULL;
	char *text = NULL, *key = NULL;

	(void)step;
	memset(&a, 0, sizeof(a));
	a.missing = json_array();
	a.corrupt = json_array();
	pthread_mutex_init(&a.mtx, NULL);
	if (rc != TASK_STEP_OK)
		goto out;
	if ((rc = index_ensure(&b, err, errlen)) != TASK_STEP_OK)
		goto out;
	if ((c = pick_backup(&b, b.s3, b.cluster, err, errlen)) == NULL) {
		rc = TASK_STEP_FATAL;
		goto out;
	}
	a.b = &b;
	a.ms = xcalloc(c->nnodes + 1, sizeof(*a.ms));
	for (size_t i = 0; i < c->nnodes; i++) {
		a.ms[i] = get_node_manifest(b.s3, c->nodes[i].manifest, err, errlen);
		if (a.ms[i] == NULL) {
			if (strstr(err, " is missing") != NULL)
				json_array_append_new(a.missing, json_string(
				    c->nodes[i].manifest));
			else
				json_array_append_new(a.corrupt, json_pack("{s:s, s:s}",
				    "key", c->nodes[i].manifest, "reason", err));
			a.ms[i] = manifest_node_new();
		}
		a.total += a.ms[i]->nfiles;
		a.nms++;
	}
	if (json_is_true(json_object_get(b.params, "download"))) {
		struct vfnode_arg va = { store_args(&b), c, a.missing, a.corrupt,
		    PTHREAD_MUTEX_INITIALIZER };
		struct fan f = { .b = &b, .targets = b.nodes, .fn =
		    fn_verify_download, .arg = &va, .par =
		    (int)json_array_size(b.nodes), .phase = "verify" };
		rc = fan_run(&f, err, errlen);
		for (size_t i = 0; rc == TASK_STEP_OK &&
		    i < json_array_size(b.nodes); i++) {
			size_t x;
			json_t *v;
			json_array_foreach(json_object_get(f.data[i], "missing"),
			    x, v)
				json_array_append(a.missing, v);
			json_array_foreach(json_object_get(f.data[i], "corrupt"),
			    x, v)
				json_array_append(a.corrupt, v);
		}
		fan_release(&f);
		free(va.store);
		if (rc != TASK_STEP_OK)
			goto out;
	} else {
		pthread_t tids[16];
		nt = param_int(b.params, "parallelism", 8);
		if (nt > 16)
			nt = 16;
		for (int i = 0; i < nt; i++)
			if (pthread_create(&tids[i], NULL, verify_head_worker, &a))
				fatalx("cannot start a thread");
		for (int i = 0; i < nt; i++)
			pthread_join(tids[i], NULL);
		if (task_checkpoint(ctx)) {
			rc = TASK_STEP_STOP;
			goto out;
		}
		if (a.failed) {
			str_copy(err, a.err, errlen);
			rc = TASK_STEP_FAIL;
			goto out;
		}
	}
	report = json_pack("{s:s, s:s, s:I, s:b, s:O, s:O}", "backup_id",
	    c->backup_id, "task_id", task_ctx_id(ctx), "files",
	    (json_int_t)a.total, "downloaded", json_is_true(json_object_get(
	    b.params, "download")), "missing", a.missing, "corrupt", a.corrupt);
	text = json_dumps(report, JSON_COMPACT);
	key = xasprintf("%s/backups/%s/verify/%s.json", b.cluster, c->backup_id,
	    task_ctx_id(ctx));
	if (s3_put_mem(b.s3, key, text, strlen(text), NULL, NULL, err,
	    errlen) != 0) {
		rc = TASK_STEP_FAIL;
		goto out;
	}
	{
		size_t nbad = 0, i;
		struct store_backup_file *bad = xcalloc(json_array_size(
		    a.missing) + json_array_size(a.corrupt) + 1, sizeof(*bad));
		json_t *v;
		char missing[] = "missing";
		json_array_foreach(a.missing, i, v) {
			const char *k = json_is_string(v) ? json_string_value(v) :
			    jstr(v, "key");
			if (k != NULL)
				bad[nbad++] = (struct store_backup_file){
				    (char *)(uintptr_t)k, missing };
		}
		json_array_foreach(a.corrupt, i, v) {
			const char *k = jstr(v, "key"), *why = jstr(v, "reason");
			if (k != NULL)
				bad[nbad++] = (struct store_backup_file){
				    (char *)(uintptr_t)k, (char *)(uintptr_t)(why ?
				    why : "corrupt") };
		}
		rc = verify_record(&b, c->backup_id, a.ms, a.nms, bad, nbad, err,
		    errlen);
		free(bad);
		if (rc != TASK_STEP_OK)
			goto out;
	}
	if (json_array_size(a.missing) + json_array_size(a.corrupt) > 0) {
		size_t off = (size_t)snprintf(err, errlen, "backup %s is damaged: "
		    "%zu missing, %zu corrupt of %zu files (report %s):",
		    c->backup_id, json_array_size(a.missing),
		    json_array_size(a.corrupt), a.total, key);
		size_t i;
		json_t *v;
		json_array_foreach(a.missing, i, v) {
			if (i >= MAX_PROBLEMS_SHOWN || off >= errlen)
				break;
			off += (size_t)snprintf(err + off, errlen - off,
			    " missing %s;", json_string_value(v));
		}
		json_array_foreach(a.corrupt, i, v) {
			if (i >= MAX_PROBLEMS_SHOWN || off >= errlen)
				break;
			off += (size_t)snprintf(err + off, errlen - off,
			    " corrupt %s (%s);", jstr(v, "key"), jstr(v, "reason"));
		}
		rc = TASK_STEP_FATAL;
		goto out;
	}
	task_progress(ctx, "backup %s verified: %zu files present with the "
	    "right size%s (report %s)", c->backup_id, a.total,
	    json_is_true(json_object_get(b.params, "download")) ?
	    " and checksum" : "", key);
	rc = TASK_STEP_OK;
out:
	for (size_t i = 0; i < a.nms; i++)
		manifest_node_free(a.ms[i]);
	free(a.ms);
	pthread_mutex_destroy(&a.mtx);
	json_decref(a.missing);
	json_decref(a.corrupt);
	json_decref(report);
	free(text);
	free(key);
	manifest_cluster_free(c);
	bk_release(&b);
	return rc;
}

static const struct task_type verify_type = {
	.name = "verify",
	.validate = verify_validate,
	.plan = verify_plan,
	.run = verify_run,
	.max_attempts = 3,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 30000,
	.step_deadline_ms = 24LL * 3600 * 1000,
};

/* ---- restore ---- */

static int restore_validate(json_t *params, char *err, size_t errlen)
{
	if (validate_with(params, "restore", restore_params,
	    ARRAY_SIZE(restore_params), err, errlen) != 0)
		return -1;
	if (json_object_get(params, "source") != NULL &&
	    json_object_get(params, "source_cluster") != NULL) {
		snprintf(err, errlen, "params.source and params.source_cluster "
		    "both name the cluster to restore from: give one");
		return -1;
	}
	return 0;
}

static int restore_plan(const json_t *params, const json_t *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	/* One "restore" step runs the agent's pipelined mode: each table is
	 * loaded as soon as its files are in, not after the whole node. */
	static const char *const steps[] = { "map", "space", "restore" };

	(void)params;
	if (need_nodes(nodes, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		task_plan_add(plan, steps[i], NULL);
	return 0;
}

/* Signed 64-bit token order; a token that is not a number sorts last. */
static int tok_cmp(const char *a, const char *b)
{
	char *ea, *eb;
	long long x = a ? strtoll(a, &ea, 10) : 0;
	long long y = b ? strtoll(b, &eb, 10) : 0;

	if (a == NULL || b == NULL)
		return (a == NULL) - (b == NULL);
	return (x > y) - (x < y);
}

struct srcnode {
	struct manifest_cluster_node *cn;
	char *first_token;
	const json_t *target;		/* store node, or NULL */
};

static int src_cmp(const void *pa, const void *pb)
{
	const struct srcnode *a = pa, *b = pb;
	int c = strcmp(a->cn->dc ? a->cn->dc : "", b->cn->dc ? b->cn->dc : "");

	if (c == 0)
		c = strcmp(a->cn->rack ? a->cn->rack : "", b->cn->rack ?
		    b->cn->rack : "");
	return c ? c : tok_cmp(a->first_token, b->first_token);
}

struct tgt {
	const json_t *node;
	char *first_token;
	bool used;
};

static int tgt_cmp(const void *pa, const void *pb)
{
	const struct tgt *a = pa, *b = pb;
	const char *da = jstr(a->node, "dc"), *db = jstr(b->node, "dc");
	const char *ra = jstr(a->node, "rack"), *rb = jstr(b->node, "rack");
	int c = strcmp(da ? da : "", db ? db : "");

	if (c == 0)
		c = strcmp(ra ? ra : "", rb ? rb : "");
	if (c == 0)
		c = tok_cmp(a->first_token, b->first_token);
	return c ? c : strcmp(jstr(a->node, "address"), jstr(b->node, "address"));
}

struct rsplan {
	struct manifest_cluster *c;
	struct srcnode *src;
	size_t nsrc;
	json_t *targets;		/* nodes restored into (selection) */
	json_t *manifests;		/* manifest key per target, same order */
	char *store;
};

static void rsplan_release(struct rsplan *p)
{
	for (size_t i = 0; i < p->nsrc; i++)
		free(p->src[i].first_token);
	free(p->src);
	manifest_cluster_free(p->c);
	json_decref(p->targets);
	json_decref(p->manifests);
	free(p->store);
}

static bool node_selected(const json_t *params, const char *addr)
{
	const json_t *sel = json_object_get(params, "nodes");
	size_t i;
	json_t *v;

	if (sel == NULL)
		return true;
	json_array_foreach(sel, i, v)
		if (strcmp(json_string_value(v), addr) == 0)
			return true;
	return false;
}

static int fn_tokens(struct fan *f, size_t i, char *err, size_t errlen)
{
	return run_agent(f, i, "backup-restore --mode info", err, errlen);
}

/*
 * Map the backup's nodes onto this cluster's: the same cluster by host id
 * (then address); another cluster by dc, rack and token order.
 */
static int restore_map(struct bk *b, struct rsplan *p, char *err,
    size_t errlen)
{
	const char *src_cluster = b->src_cluster;
	bool same = !b->src_own && strcmp(src_cluster, b->cluster) == 0;
	size_t n = json_array_size(b->nodes);
	struct tgt *t = xcalloc(n + 1, sizeof(*t));
	int rc = TASK_STEP_FAIL;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->store = src_args(b);
	p->targets = json_array();
	p->manifests = json_array();
	if ((p->c = pick_backup(b, b->src, src_cluster, err, errlen)) == NULL) {
		rc = TASK_STEP_FATAL;
		goto out;
	}
	p->src = xcalloc(p->c->nnodes + 1, sizeof(*p->src));
	p->nsrc = p->c->nnodes;
	for (i = 0; i < p->nsrc; i++)
		p->src[i].cn = &p->c->nodes[i];
	for (i = 0; i < n; i++)
		t[i].node = json_array_get(b->nodes, i);
	if (same) {
		for (i = 0; i < p->nsrc; i++) {
			for (size_t k = 0; k < n && p->src[i].target == NULL; k++) {
				const char *hid = jstr(t[k].node, "host_id");
				if (!t[k].used && hid && strcmp(hid,
				    p->src[i].cn->host_id) == 0) {
					p->src[i].target = t[k].node;
					t[k].used = true;
				}
			}
		}
		for (i = 0; i < p->nsrc; i++) {
			for (size_t k = 0; k < n && p->src[i].target == NULL; k++) {
				const char *a = jstr(t[k].node, "address");
				if (!t[k].used && p->src[i].cn->address && a &&
				    strcmp(a, p->src[i].cn->address) == 0) {
					p->src[i].target = t[k].node;
					t[k].used = true;
				}
			}
		}
	} else {
		struct fan f = { .b = b, .targets = b->nodes, .fn = fn_tokens,
		    .par = (int)n };
		if (n != p->nsrc) {
			snprintf(err, errlen, "backup %s of '%s' has %zu nodes and "
			    "'%s' has %zu: a restore into another cluster needs the "
			    "same shape", p->c->backup_id, src_cluster, p->nsrc,
			    b->cluster, n);
			rc = TASK_STEP_FATAL;
			goto out;
		}
		rc = fan_run(&f, err, errlen);
		for (i = 0; rc == TASK_STEP_OK && i < n; i++)
			t[i].first_token = xstrdup(json_string_value(json_array_get(
			    json_object_get(f.data[i], "tokens"), 0)) ?
			    json_string_value(json_array_get(json_object_get(
			    f.data[i], "tokens"), 0)) : "");
		fan_release(&f);
		if (rc != TASK_STEP_OK)
			goto out;
		for (i = 0; i < p->nsrc; i++) {
			struct manifest_node *m = get_node_manifest(b->src,
			    p->src[i].cn->manifest, err, errlen);
			if (m == NULL) {
				rc = TASK_STEP_FATAL;
				goto out;
			}
			p->src[i].first_token = xstrdup(m->ntokens ? m->tokens[0] : "");
			manifest_node_free(m);
		}
		qsort(p->src, p->nsrc, sizeof(*p->src), src_cmp);
		qsort(t, n, sizeof(*t), tgt_cmp);
		for (i = 0; i < p->nsrc; i++) {
			const char *sd = p->src[i].cn->dc ? p->src[i].cn->dc : "";
			const char *sr = p->src[i].cn->rack ? p->src[i].cn->rack : "";
			const char *td = jstr(t[i].node, "dc"), *tr = jstr(t[i].node,
			    "rack");
			if (strcmp(sd, td ? td : "") != 0 ||
			    strcmp(sr, tr ? tr : "") != 0) {
				snprintf(err, errlen, "cannot map the backup's nodes "
				    "onto '%s': source node %s is in %s/%s but the "
				    "target in its place is %s in %s/%s (the same "
				    "number of nodes per dc and rack is needed)",
				    b->cluster, p->src[i].cn->address ?
				    p->src[i].cn->address : p->src[i].cn->host_id, sd,
				    sr, jstr(t[i].node, "address"), td ? td : "",
				    tr ? tr : "");
				rc = TASK_STEP_FATAL;
				goto out;
			}
			p->src[i].target = t[i].node;
		}
	}
	for (i = 0; i < p->nsrc; i++) {
		const json_t *tn = p->src[i].target;
		if (tn == NULL) {
			if (json_object_get(b->params, "nodes") != NULL)
				continue;	/* only some nodes asked */
			snprintf(err, errlen, "node %s (%s) of backup %s has no "
			    "node in '%s' to restore into; name the nodes to "
			    "restore with params.nodes", p->src[i].cn->address ?
			    p->src[i].cn->address : "?", p->src[i].cn->host_id,
			    p->c->backup_id, b->cluster);
			rc = TASK_STEP_FATAL;
			goto out;
		}
		if (!node_selected(b->params, jstr(tn, "address")))
			continue;
		json_array_append(p->targets, (json_t *)(uintptr_t)tn);
		json_array_append_new(p->manifests, json_string(
		    p->src[i].cn->manifest));
	}
	if (json_array_size(p->targets) == 0) {
		snprintf(err, errlen, "no node of '%s' matches params.nodes and "
		    "backup %s", b->cluster, p->c->backup_id);
		rc = TASK_STEP_FATAL;
		goto out;
	}
	rc = TASK_STEP_OK;
out:
	for (i = 0; i < n; i++)
		free(t[i].first_token);
	free(t);
	return rc;
}

struct rsarg {
	struct rsplan *p;
	const char *mode;
	const char *exclude;		/* key of the exclude list, or NULL */
};

static int fn_restore(struct fan *f, size_t i, char *err, size_t errlen)
{
	struct rsarg *a = f->arg;
	json_t *rl = json_object_get(f->b->params, "rate_limit_mib");
	json_t *mg = json_object_get(f->b->params, "space_margin_pct");
	char *args, *tmp;
	int rc;

	if (strcmp(a->mode, "cleanup") == 0) {
		/* Removes the backup's whole staging tree: no filters. */
		args = xasprintf("backup-restore %s --manifest %s --mode cleanup",
		    a->p->store, json_string_value(json_array_get(a->p->manifests,
		    i)));
		rc = run_agent(f, i, args, err, errlen);
		free(args);
		return rc;
	}
	/* --run-id: the agent's record of tables loaded belongs to this task,
	 * so a retry skips them and a later restore loads everything. */
	args = xasprintf("backup-restore %s --manifest %s --mode %s --run-id %s "
	    "--parallel %d", a->p->store, json_string_value(json_array_get(
	    a->p->manifests, i)), a->mode, task_ctx_id(f->b->ctx),
	    param_int(f->b->params, "download_parallelism", 4));
	if (json_is_number(rl) && json_number_value(rl) > 0) {
		tmp = xasprintf("%s --rate-limit %g", args, json_number_value(rl));
		free(args);
		args = tmp;
	}
	if (json_is_number(mg)) {
		tmp = xasprintf("%s --space-margin %g", args, json_number_value(mg));
		free(args);
		args = tmp;
	}
	if (a->exclude != NULL) {
		tmp = xasprintf("%s --exclude %s", args, a->exclude);
		free(args);
		args = tmp;
	}
	add_filters(&args, f->b->params, true);
	rc = run_agent(f, i, args, err, errlen);
	free(args);
	return rc;
}

/*
 * The damaged files of backup id of src (a cluster indexed here), with
 * why.  Verify marks every backup that references a damaged object, so
 * these are all the files a restore of it cannot trust.  *n 0 when none.
 */
static struct store_backup_file *restore_damage(struct store *st,
    const char *src, const char *id, size_t *n, bool *damaged)
{
	struct store_backup *row = NULL;
	struct store_backup_file *v;

	*n = 0;
	*damaged = false;
	if (store_backup_get(st, src, id, &row) != 0)
		return xcalloc(1, sizeof(*v));
	v = xcalloc(row->ndamaged + 1, sizeof(*v));
	for (size_t i = 0; i < row->ndamaged; i++) {
		v[i].key = xstrdup(row->damaged[i].key);
		v[i].reason = xstrdup(row->damaged[i].reason);
	}
	*n = row->ndamaged;
	*damaged = row->state == STORE_BK_DAMAGED;
	store_backups_free(row, 1);
	return v;
}

static void files_free(struct store_backup_file *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].key);
		free(v[i].reason);
	}
	free(v);
}

/* "k1 (missing), k2 (size …)" for at most MAX_PROBLEMS_SHOWN files. */
static void files_name(const struct store_backup_file *v, size_t n,
    char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	/* Reasons can be long (an agent's checksum message): the keys
	 * matter most, the reason is cut. */
	for (size_t i = 0; i < n && i < MAX_PROBLEMS_SHOWN && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s (%.60s)",
		    i ? ", " : "", v[i].key, v[i].reason);
	if (n > MAX_PROBLEMS_SHOWN && off < len)
		snprintf(buf + off, len - off, " and %zu more",
		    n - MAX_PROBLEMS_SHOWN);
}

/* The cluster a restore reads from, when its index is ours to trust:
 * source_cluster (same store), or params.source naming a cluster of this
 * orchestrator with that very storage URL.  NULL: not indexed here. */
static const char *restore_src_indexed(struct store *st, const char *cluster,
    const json_t *params, char *buf, size_t len)
{
	const json_t *src = json_object_get(params, "source");
	const char *sc = jstr(params, "source_cluster");
	json_t *cl;
	bool same;

	if (src == NULL) {
		str_copy(buf, sc ? sc : cluster, len);
		return buf;
	}
	if ((cl = store_cluster_get(st, jstr(src, "cluster"))) == NULL)
		return NULL;
	same = jstr(json_object_get(cl, "storage"), "url") != NULL &&
	    strcmp(jstr(json_object_get(cl, "storage"), "url"),
	    jstr(src, "storage")) == 0;
	json_decref(cl);
	if (!same)
		return NULL;
	str_copy(buf, jstr(src, "cluster"), len);
	return buf;
}

/*
 * Refuse a restore of a damaged backup unless params.force: the message
 * names the files.  0, or -1 with err.  Reads the index only.
 */
static int restore_check_damage(struct store *st, const char *cluster,
    const json_t *params, const char *id, char *err, size_t errlen)
{
	char srcbuf[STORE_NAME_MAX], latest[STORE_BACKUP_ID_MAX], names[640];
	const char *src = restore_src_indexed(st, cluster, params, srcbuf,
	    sizeof(srcbuf));
	struct store_backup_file *v;
	size_t n;
	bool damaged;

	if (src == NULL || json_is_true(json_object_get(params, "force")))
		return 0;
	if (id == NULL) {
		index_latest(st, src, latest, sizeof(latest));
		id = latest;
	}
	if (id[0] == '\0')
		return 0;
	v = restore_damage(st, src, id, &n, &damaged);
	if (damaged) {
		files_name(v, n, names, sizeof(names));
		/* The hint first: the file names may be cut at errlen. */
		snprintf(err, errlen, "backup %s of '%s' is damaged: pass "
		    "\"force\": true to restore what is sound and skip the "
		    "damaged files, or choose another backup with \"backup_id\" "
		    "(GET /api/v1/clusters/%s/backups/%s names them); %zu files "
		    "lost or corrupt: %s", id, src, src, id, n, n ? names :
		    "see its verify report");
	}
	files_free(v, n);
	return damaged ? -1 : 0;
}

static int restore_admit(struct store *st, const char *cluster,
    const json_t *params, char *err, size_t errlen)
{
	return restore_check_damage(st, cluster, params, jstr(params,
	    "backup_id"), err, errlen);
}

/*
 * With force, the damaged files of the backup are written as an exclude
 * list into the store the restore reads (the agents read it there) and
 * named in *skipped.  Returns a TASK_STEP_* code; *key NULL when nothing
 * is excluded.
 */
static int restore_exclude(struct bk *b, const struct rsplan *p, char **key,
    char *skipped, size_t skippedlen, char *err, size_t errlen)
{
	char srcbuf[STORE_NAME_MAX];
	const char *src = restore_src_indexed(b->st, b->cluster, b->params,
	    srcbuf, sizeof(srcbuf));
	struct store_backup_file *v;
	char **keys;
	size_t n;
	bool damaged;
	int rc = TASK_STEP_OK;

	*key = NULL;
	skipped[0] = '\0';
	if (src == NULL)
		return TASK_STEP_OK;
	if (restore_check_damage(b->st, b->cluster, b->params,
	    p->c->backup_id, err, errlen) != 0)
		return TASK_STEP_FATAL;
	v = restore_damage(b->st, src, p->c->backup_id, &n, &damaged);
	if (n > 0) {
		keys = xcalloc(n + 1, sizeof(char *));
		for (size_t i = 0; i < n; i++)
			keys[i] = v[i].key;
		*key = xasprintf("%s/backups/%s/restore-exclude/%s.json", src,
		    p->c->backup_id, task_ctx_id(b->ctx));
		if (put_exclude(b->src, *key, keys, n, err, errlen) != 0) {
			free(*key);
			*key = NULL;
			rc = TASK_STEP_FAIL;
		}
		free(keys);
		files_name(v, n, skipped, skippedlen);
	}
	files_free(v, n);
	return rc;
}

static int restore_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	struct bk b;
	struct rsplan p;
	int rc = bk_open(ctx, &b, err, errlen);
	char *exkey = NULL, skipped[640] = "";

	memset(&p, 0, sizeof(p));
	if (rc != TASK_STEP_OK)
		goto out;
	if (!b.src_own && (rc = index_ensure(&b, err, errlen)) != TASK_STEP_OK)
		goto out;
	if ((rc = restore_map(&b, &p, err, errlen)) != TASK_STEP_OK)
		goto out;
	/* Checked again here: the index may have been filled since the
	 * submission, or the backup picked by default changed. */
	if ((rc = restore_exclude(&b, &p, &exkey, skipped, sizeof(skipped),
	    err, errlen)) != TASK_STEP_OK)
		goto out;
	if (strcmp(step->name, "map") == 0) {
		char msg[1024];
		size_t off = 0, i;
		json_t *v;
		if (check_nodes_up(&b, p.targets, err, errlen) != 0) {
			rc = TASK_STEP_FAIL;
			goto out;
		}
		json_array_foreach(p.targets, i, v)
			off += (size_t)snprintf(msg + off, off < sizeof(msg) ?
			    sizeof(msg) - off : 0, "%s%s", off ? ", " : "",
			    jstr(v, "address"));
		task_progress(ctx, "backup %s onto %zu nodes: %s%s%s",
		    p.c->backup_id, json_array_size(p.targets), msg,
		    skipped[0] ? "; damaged, skipped: " : "", skipped);
	} else {
		/* Tasks planned before the single restore step still carry
		 * "download" and "load", which are agent modes too. */
		struct rsarg a = { &p, strcmp(step->name, "space") == 0 ? "check" :
		    step->name, exkey };
		struct fan f = { .b = &b, .targets = p.targets, .fn = fn_restore,
		    .arg = &a, .par = (int)json_array_size(p.targets),
		    .phase = step->name };
		rc = fan_run(&f, err, errlen);
		fan_release(&f);
		if (rc == TASK_STEP_FAIL && strcmp(a.mode, "check") == 0 &&
		    strstr(err, "not enough disk space") != NULL)
			rc = TASK_STEP_FATAL;
		if (rc == TASK_STEP_OK)
			task_progress(ctx, "%s done on %zu nodes%s%s", step->name,
			    json_array_size(p.targets), skipped[0] ?
			    "; damaged files not restored (force): " : "",
			    skipped);
	}
out:
	free(exkey);
	rsplan_release(&p);
	bk_release(&b);
	return rc;
}

/*
 * A restore that fails for good removes what it staged on its targets
 * (`backup-restore --mode cleanup`), so no node keeps a half-downloaded
 * copy of the backup beside its data.
 */
static int restore_on_fail(struct task_ctx *ctx, const char *error,
    char *msg, size_t msglen)
{
	struct bk b;
	struct rsplan p;
	struct store_task *t;
	char err[1024];
	bool staged = false;
	int rc = bk_open(ctx, &b, err, sizeof(err));

	(void)error;
	memset(&p, 0, sizeof(p));
	if ((t = store_task_load(task_ctx_store(ctx), task_ctx_id(ctx))) !=
	    NULL) {
		for (size_t i = 0; i < t->nsteps; i++)
			if ((strcmp(t->steps[i].name, "restore") == 0 ||
			    strcmp(t->steps[i].name, "download") == 0 ||
			    strcmp(t->steps[i].name, "load") == 0) &&
			    t->steps[i].attempts > 0)
				staged = true;
		store_task_free(t);
	}
	if (!staged) {
		snprintf(msg, msglen, "nothing had been staged");
		rc = TASK_STEP_OK;
		goto out;
	}
	if (rc == TASK_STEP_OK)
		rc = restore_map(&b, &p, err, sizeof(err));
	if (rc == TASK_STEP_OK) {
		struct rsarg a = { &p, "cleanup", NULL };
		struct fan f = { .b = &b, .targets = p.targets, .fn = fn_restore,
		    .arg = &a, .par = (int)json_array_size(p.targets) };
		rc = fan_run(&f, err, sizeof(err));
		fan_release(&f);
	}
	if (rc == TASK_STEP_OK)
		snprintf(msg, msglen, "removed the staged files of backup %s on "
		    "%zu nodes", p.c->backup_id, json_array_size(p.targets));
	else if (rc != TASK_STEP_STOP)
		snprintf(msg, msglen, "staged files (.rm-restore-*) may be left "
		    "on the targets: %s", err);
out:
	rsplan_release(&p);
	bk_release(&b);
	return rc == TASK_STEP_STOP ? TASK_STEP_STOP : rc == TASK_STEP_OK ?
	    TASK_STEP_OK : TASK_STEP_FAIL;
}

static const struct task_type restore_type = {
	.name = "restore",
	.validate = restore_validate,
	.plan = restore_plan,
	.run = restore_run,
	.admit = restore_admit,
	.on_fail = restore_on_fail,
	.max_attempts = 5,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 60000,
	.step_deadline_ms = 24LL * 3600 * 1000,
};

/* ---- registration and the service functions ---- */

int backup_register(struct task_engine *e, char *err, size_t errlen)
{
	const struct task_type *types[] = { &backup_type, &restore_type,
	    &verify_type, &purge_type, &index_type };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (task_type_find(e, types[i]->name) == NULL &&
		    task_type_register(e, types[i]) != 0) {
			snprintf(err, errlen, "cannot register task type '%s'",
			    types[i]->name);
			return -1;
		}
	return 0;
}

static json_t *jtime_ms(int64_t ms)
{
	char buf[40];
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0)
		return json_null();
	gmtime_r(&secs, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	return json_sprintf("%s.%03dZ", buf, (int)(ms % 1000));
}

/* The state to show: a row left "running" by a task that ended without
 * its hook (cancelled, or killed before the index was kept) is not. */
static const char *shown_state(struct store *st, const struct store_backup *r)
{
	struct store_task *t;
	const char *s = store_backup_state_str(r->state);

	if (r->state != STORE_BK_RUNNING || r->task_id[0] == '\0')
		return s;
	if ((t = store_task_load(st, r->task_id)) == NULL)
		return "incomplete";
	if (t->state == STORE_TASK_FAILED)
		s = "failed";
	else if (store_task_state_terminal(t->state))
		s = "incomplete";
	store_task_free(t);
	return s;
}

/* At most this many damaged files are named in each item of the listing
 * (all of them in GET of one backup): enough to act on at a glance. */
#define LIST_DAMAGED_SHOWN 20

static json_t *backup_json(struct store *st, const struct store_backup *r,
    size_t files)
{
	json_t *o = json_pack("{s:s, s:s?, s:s, s:o, s:o, s:I, s:I, s:I, s:I,"
	    " s:I, s:o, s:s?, s:s?, s:I}",
	    "id", r->id, "task_id", r->task_id[0] ? r->task_id : NULL,
	    "state", shown_state(st, r),
	    "started_at", jtime_ms(r->started_at),
	    "finished_at", jtime_ms(r->finished_at),
	    "nodes", (json_int_t)r->nodes, "files", (json_int_t)r->files,
	    "files_uploaded", (json_int_t)r->files_uploaded,
	    "bytes", (json_int_t)r->bytes,
	    "bytes_uploaded", (json_int_t)r->bytes_uploaded,
	    "last_verified_at", jtime_ms(r->last_verified_at),
	    "last_verify", r->last_verify[0] ? r->last_verify : NULL,
	    "last_verify_task", r->last_verify_task[0] ? r->last_verify_task :
	    NULL, "damaged_files", (json_int_t)r->ndamaged);

	if (files > 0) {
		json_t *d = json_array();
		for (size_t i = 0; i < r->ndamaged && i < files; i++)
			json_array_append_new(d, json_pack("{s:s, s:s}", "key",
			    r->damaged[i].key, "reason", r->damaged[i].reason));
		json_object_set_new(o, "damaged", d);
	}
	return o;
}

int backup_list(struct store *st, const char *cluster, json_t **out,
    char *err, size_t errlen)
{
	struct store_backup *v = NULL;
	size_t n = 0;
	json_t *items;

	if (!store_cluster_exists(st, cluster)) {
		snprintf(err, errlen, "cluster '%s' not found", cluster);
		return TASK_ENOENT;
	}
	if (store_backup_list(st, cluster, &v, &n) != 0) {
		snprintf(err, errlen, "cannot read the backup index of '%s': see "
		    "the ringmaster log", cluster);
		return TASK_ERR;
	}
	items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, backup_json(st, &v[i],
		    LIST_DAMAGED_SHOWN));
	store_backups_free(v, n);
	*out = json_pack("{s:o, s:n}", "items", items, "next");
	return 0;
}

int backup_get(struct store *st, const char *cluster, const char *id,
    json_t **out, char *err, size_t errlen)
{
	struct store_backup *r = NULL;
	int rc;

	if (!store_cluster_exists(st, cluster)) {
		snprintf(err, errlen, "cluster '%s' not found", cluster);
		return TASK_ENOENT;
	}
	rc = manifest_backup_id_valid(id) ? store_backup_get(st, cluster, id,
	    &r) : STORE_ENOENT;
	if (rc == STORE_ENOENT) {
		snprintf(err, errlen, "backup '%.80s' of cluster '%s' not found "
		    "in the backup index%s", id, cluster,
		    store_backup_index_filled(st, cluster) ? "" : " (never filled: "
		    "a backup, verify, purge or backup-index task fills it from "
		    "storage)");
		return TASK_ENOENT;
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot read the backup index of '%s': see "
		    "the ringmaster log", cluster);
		return TASK_ERR;
	}
	*out = backup_json(st, r, SIZE_MAX);
	store_backups_free(r, 1);
	return 0;
}

int backup_delete(struct task_engine *e, const char *cluster, const char *id,
    json_t **task_out, char *err, size_t errlen)
{
	struct store *st = task_engine_store(e);
	struct store_backup *r = NULL;
	char tid[STORE_ID_MAX];
	json_t *params;
	int rc;

	if (!manifest_backup_id_valid(id)) {
		snprintf(err, errlen, "backup '%.64s' not found", id);
		return TASK_ENOENT;
	}
	if (!store_cluster_exists(st, cluster)) {
		snprintf(err, errlen, "cluster '%s' not found", cluster);
		return TASK_ENOENT;
	}
	/* The index answers; one never filled cannot say no, and the purge
	 * fills it (deleting a backup that is not there deletes nothing). */
	rc = store_backup_get(st, cluster, id, &r);
	store_backups_free(r, rc == 0 ? 1 : 0);
	if (rc == STORE_ENOENT && store_backup_index_filled(st, cluster) != 0) {
		snprintf(err, errlen, "backup '%s' of cluster '%s' not found", id,
		    cluster);
		return TASK_ENOENT;
	}
	params = json_pack("{s:[s]}", "backup_ids", id);
	rc = task_submit(e, cluster, "purge", params, tid, err, errlen);
	json_decref(params);
	if (rc != 0)
		return rc;
	*task_out = store_task_get(st, tid);
	return 0;
}
