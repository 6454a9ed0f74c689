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

#include "../common/log.h"
#include "../common/manifest.h"
#include "../common/s3.h"
#include "../common/util.h"
#include "nodeops.h"
#include "store.h"
#include "task.h"

#define DEFAULT_TIMEOUT_S 21600		/* per agent command */
#define MAX_PROBLEMS_SHOWN 5

/* ---- parameters ---- */

enum pkind { P_NAMES, P_TABLES, P_ADDRS, P_INT, P_NUM, P_BOOL, P_NAME,
	P_RETENTION, P_CMD };

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
};

static void bk_release(struct bk *b)
{
	json_decref(b->cl);
	json_decref(b->nodes);
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
	return TASK_STEP_OK;
}

/* "--store URL [--endpoint E] [--region R] " for agent commands. */
static char *store_args(const struct bk *b)
{
	json_t *stg = json_object_get(b->cl, "storage");
	const char *ep = jstr(stg, "endpoint"), *rg = jstr(stg, "region");

	return xasprintf("--store %s%s%s%s%s", jstr(stg, "url"),
	    ep ? " --endpoint " : "", ep ? ep : "", rg ? " --region " : "",
	    rg ? rg : "");
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
	atomic_size_t next;
	int *rc;
	char **errs;
	json_t **data;
};

static void *fan_worker(void *arg)
{
	struct fan *f = arg;
	char err[1024];

	for (;;) {
		size_t i = atomic_fetch_add(&f->next, 1);
		if (i >= json_array_size(f->targets))
			break;
		if (task_checkpoint(f->b->ctx)) {
			f->rc[i] = TASK_STEP_STOP;
			continue;
		}
		err[0] = '\0';
		f->rc[i] = f->fn(f, i, err, sizeof(err));
		if (f->rc[i] != TASK_STEP_OK)
			f->errs[i] = xstrdup(err);
	}
	return NULL;
}

/* Run fn for every target on up to par threads; worst outcome wins. */
static int fan_run(struct fan *f, char *err, size_t errlen)
{
	size_t n = json_array_size(f->targets);
	int nt = f->par < 1 ? 1 : f->par, rc = TASK_STEP_OK;
	pthread_t *tids;
	size_t off = 0;

	if (n == 0)
		return TASK_STEP_OK;
	if ((size_t)nt > n)
		nt = (int)n;
	f->rc = xcalloc(n, sizeof(int));
	f->errs = xcalloc(n, sizeof(char *));
	f->data = xcalloc(n, sizeof(json_t *));
	atomic_init(&f->next, 0);
	tids = xcalloc((size_t)nt, sizeof(*tids));
	for (int i = 0; i < nt; i++)
		if (pthread_create(&tids[i], NULL, fan_worker, f) != 0)
			fatalx("cannot start a thread");
	for (int i = 0; i < nt; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	err[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int r = f->rc[i];
		if (r == TASK_STEP_OK)
			continue;
		if (r == TASK_STEP_STOP || rc == TASK_STEP_STOP)
			rc = TASK_STEP_STOP;
		else if (r == TASK_STEP_FATAL || rc == TASK_STEP_FATAL)
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
	for (size_t i = 0; i < nids; i++) {
		if (task_checkpoint(b->ctx))
			return TASK_STEP_STOP;
		if (drop_backup(b, ids[i], err, errlen) != 0)
			return TASK_STEP_FAIL;
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
	    .par = (int)json_array_size(b->nodes) };
	int rc;

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
	add_filters(&args, f->b->params, true);
	rc = run_agent(f, i, args, err, errlen);
	free(args);
	free(prev);
	return rc;
}

static int step_upload(struct bk *b, char *err, size_t errlen)
{
	struct upload_arg a = { store_args(b), NULL };
	struct fan f = { .b = b, .targets = b->nodes, .fn = fn_upload,
	    .arg = &a, .par = (int)json_array_size(b->nodes) };
	struct bklist l;
	int rc;
	json_int_t files = 0, up = 0, bytes = 0, bup = 0;

	if (list_backups(b->s3, b->cluster, &l, err, errlen) != 0) {
		free(a.store);
		return TASK_STEP_FAIL;
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
	if (rc == TASK_STEP_OK)
		task_progress(b->ctx, "%zu nodes: %lld files (%lld bytes), %lld "
		    "uploaded (%lld bytes), the rest already stored%s%s",
		    json_array_size(b->nodes), (long long)files, (long long)bytes,
		    (long long)up, (long long)bup, a.prev ? "; deduplicated "
		    "against " : "", a.prev ? a.prev->id : "");
	fan_release(&f);
	free(l.v);
	free(a.store);
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
		else
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
		    (int)json_array_size(b.nodes) };
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

static const struct task_type backup_type = {
	.name = "backup",
	.validate = backup_validate,
	.plan = backup_plan,
	.run = backup_run,
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
static struct manifest_cluster *pick_backup(struct bk *b, const char *cluster,
    char *err, size_t errlen)
{
	const char *id = jstr(b->params, "backup_id");
	struct bklist l;
	const struct bkent *e;
	struct manifest_cluster *c;
	int nf;

	if (id != NULL)
		return get_cluster_manifest(b->s3, cluster, id, &nf, err, errlen);
	if (list_backups(b->s3, cluster, &l, err, errlen) != 0)
		return NULL;
	if ((e = latest_complete(&l, NULL)) == NULL) {
		snprintf(err, errlen, "cluster '%s' has no complete backup in "
		    "its store", cluster);
		free(l.v);
		return NULL;
	}
	c = get_cluster_manifest(b->s3, cluster, e->id, &nf, err, errlen);
	free(l.v);
	return c;
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
	size_t k, x;
	json_t *v;

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
	if (rc != TASK_STEP_OK)
		return rc;
	pthread_mutex_lock(&a->mtx);
	json_array_foreach(json_object_get(f->data[i], "missing"), x, v)
		json_array_append(a->missing, v);
	json_array_foreach(json_object_get(f->data[i], "corrupt"), x, v)
		json_array_append(a->corrupt, v);
	pthread_mutex_unlock(&a->mtx);
	return TASK_STEP_OK;
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
	if ((c = pick_backup(&b, b.cluster, err, errlen)) == NULL) {
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
		    (int)json_array_size(b.nodes) };
		rc = fan_run(&f, err, errlen);
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
	return validate_with(params, "restore", restore_params,
	    ARRAY_SIZE(restore_params), err, errlen);
}

static int restore_plan(const json_t *params, const json_t *nodes,
    struct task_plan *plan, char *err, size_t errlen)
{
	static const char *const steps[] = { "map", "space", "download",
	    "load" };

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
	const char *src_cluster = jstr(b->params, "source_cluster");
	bool same = src_cluster == NULL || strcmp(src_cluster, b->cluster) == 0;
	size_t n = json_array_size(b->nodes);
	struct tgt *t = xcalloc(n + 1, sizeof(*t));
	int rc = TASK_STEP_FAIL;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->store = store_args(b);
	p->targets = json_array();
	p->manifests = json_array();
	if ((p->c = pick_backup(b, same ? b->cluster : src_cluster, err,
	    errlen)) == NULL) {
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
			struct manifest_node *m = get_node_manifest(b->s3,
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
};

static int fn_restore(struct fan *f, size_t i, char *err, size_t errlen)
{
	struct rsarg *a = f->arg;
	json_t *rl = json_object_get(f->b->params, "rate_limit_mib");
	json_t *mg = json_object_get(f->b->params, "space_margin_pct");
	char *args, *tmp;
	int rc;

	args = xasprintf("backup-restore %s --manifest %s --mode %s --parallel "
	    "%d", a->p->store, json_string_value(json_array_get(a->p->manifests,
	    i)), a->mode, param_int(f->b->params, "download_parallelism", 4));
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
	add_filters(&args, f->b->params, true);
	rc = run_agent(f, i, args, err, errlen);
	free(args);
	return rc;
}

static int restore_run(struct task_ctx *ctx, const struct store_step *step,
    char *err, size_t errlen)
{
	struct bk b;
	struct rsplan p;
	int rc = bk_open(ctx, &b, err, errlen);

	memset(&p, 0, sizeof(p));
	if (rc != TASK_STEP_OK)
		goto out;
	if ((rc = restore_map(&b, &p, err, errlen)) != TASK_STEP_OK)
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
		task_progress(ctx, "backup %s onto %zu nodes: %s", p.c->backup_id,
		    json_array_size(p.targets), msg);
	} else {
		struct rsarg a = { &p, strcmp(step->name, "space") == 0 ? "check" :
		    step->name };
		struct fan f = { .b = &b, .targets = p.targets, .fn = fn_restore,
		    .arg = &a, .par = (int)json_array_size(p.targets) };
		rc = fan_run(&f, err, errlen);
		fan_release(&f);
		if (rc == TASK_STEP_FAIL && strcmp(a.mode, "check") == 0 &&
		    strstr(err, "not enough disk space") != NULL)
			rc = TASK_STEP_FATAL;
		if (rc == TASK_STEP_OK)
			task_progress(ctx, "%s done on %zu nodes", step->name,
			    json_array_size(p.targets));
	}
out:
	rsplan_release(&p);
	bk_release(&b);
	return rc;
}

static const struct task_type restore_type = {
	.name = "restore",
	.validate = restore_validate,
	.plan = restore_plan,
	.run = restore_run,
	.max_attempts = 5,
	.backoff_base_ms = 2000,
	.backoff_max_ms = 60000,
	.step_deadline_ms = 24LL * 3600 * 1000,
};

/* ---- registration and the service functions ---- */

int backup_register(char *err, size_t errlen)
{
	const struct task_type *types[] = { &backup_type, &restore_type,
	    &verify_type, &purge_type };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (task_type_find(types[i]->name) == NULL &&
		    task_type_register(types[i]) != 0) {
			snprintf(err, errlen, "cannot register task type '%s'",
			    types[i]->name);
			return -1;
		}
	return 0;
}

static struct s3 *cluster_store(struct store *st, const char *cluster,
    int *status, char *err, size_t errlen)
{
	json_t *cl = store_cluster_get(st, cluster), *stg;
	struct s3_opts so;
	struct s3 *s;

	if (cl == NULL) {
		*status = 404;
		snprintf(err, errlen, "cluster '%s' not found", cluster);
		return NULL;
	}
	stg = json_object_get(cl, "storage");
	s3_opts_init(&so);
	so.endpoint = jstr(stg, "endpoint");
	so.region = jstr(stg, "region");
	so.max_attempts = 2;
	if ((s = s3_open(jstr(stg, "url"), &so, err, errlen)) == NULL)
		*status = 500;
	json_decref(cl);
	return s;
}

int backup_list(struct store *st, const char *cluster, json_t **out,
    int *status, char *err, size_t errlen)
{
	struct s3 *s3 = cluster_store(st, cluster, status, err, errlen);
	struct bklist l;
	char running[STORE_ID_MAX] = "";
	size_t depth;
	json_t *items;

	if (s3 == NULL)
		return -1;
	if (list_backups(s3, cluster, &l, err, errlen) != 0) {
		*status = 502;
		s3_close(s3);
		return -1;
	}
	task_queue_info(cluster, &depth, running, sizeof(running));
	items = json_array();
	for (size_t i = l.n; i-- > 0;) {
		const struct bkent *e = &l.v[i];
		json_t *it;
		if (e->complete) {
			int nf;
			char e2[512];
			struct manifest_cluster *c = get_cluster_manifest(s3, cluster,
			    e->id, &nf, e2, sizeof(e2));
			char s1[40] = "", s2[40] = "";
			if (c == NULL) {
				it = json_pack("{s:s, s:s, s:s}", "id", e->id, "state",
				    "damaged", "error", e2);
				json_array_append_new(items, it);
				continue;
			}
			if (c->started_at)
				time_rfc3339(c->started_at / 1000, s1, sizeof(s1));
			if (c->finished_at)
				time_rfc3339(c->finished_at / 1000, s2, sizeof(s2));
			it = json_pack("{s:s, s:s?, s:s?, s:s, s:I, s:I, s:I, s:I, "
			    "s:I, s:s?}", "id", e->id, "started_at", s1[0] ? s1 : NULL,
			    "finished_at", s2[0] ? s2 : NULL, "state", "complete",
			    "nodes", (json_int_t)c->nnodes, "files",
			    (json_int_t)c->files, "files_uploaded",
			    (json_int_t)c->files_uploaded, "bytes",
			    (json_int_t)c->bytes, "bytes_uploaded",
			    (json_int_t)c->bytes_uploaded, "task_id", c->task_id);
			manifest_cluster_free(c);
		} else {
			const char *dash = strrchr(e->id, '-');
			bool run = running[0] && dash != NULL &&
			    strncmp(running + 2, dash + 1, strlen(dash + 1)) == 0;
			struct tm tm;
			char s1[40] = "";
			memset(&tm, 0, sizeof(tm));
			if (strptime(e->id, "%Y%m%dT%H%M%SZ", &tm) != NULL)
				time_rfc3339((int64_t)timegm(&tm), s1, sizeof(s1));
			it = json_pack("{s:s, s:s?, s:n, s:s, s:I, s:n, s:n, s:n}",
			    "id", e->id, "started_at", s1[0] ? s1 : NULL,
			    "finished_at", "state", run ? "running" : "incomplete",
			    "nodes", (json_int_t)e->nodes, "files", "bytes",
			    "bytes_uploaded");
		}
		json_array_append_new(items, it);
	}
	free(l.v);
	s3_close(s3);
	*out = json_pack("{s:o, s:n}", "items", items, "next");
	return 0;
}

int backup_delete(struct store *st, const char *cluster, const char *id,
    json_t **task_out, int *status, char *err, size_t errlen)
{
	struct s3 *s3;
	struct bklist l;
	bool found = false;
	char tid[STORE_ID_MAX];
	json_t *params;
	int rc;

	if (!manifest_backup_id_valid(id)) {
		*status = 404;
		snprintf(err, errlen, "backup '%.64s' not found", id);
		return -1;
	}
	if ((s3 = cluster_store(st, cluster, status, err, errlen)) == NULL)
		return -1;
	rc = list_backups(s3, cluster, &l, err, errlen);
	s3_close(s3);
	if (rc != 0) {
		*status = 502;
		return -1;
	}
	for (size_t i = 0; i < l.n; i++)
		found |= strcmp(l.v[i].id, id) == 0;
	free(l.v);
	if (!found) {
		*status = 404;
		snprintf(err, errlen, "backup '%s' of cluster '%s' not found", id,
		    cluster);
		return -1;
	}
	params = json_pack("{s:[s]}", "backup_ids", id);
	rc = task_submit(cluster, "purge", params, tid, err, errlen);
	json_decref(params);
	if (rc != 0) {
		*status = rc == TASK_ENOENT ? 404 : rc == TASK_EINVAL ? 400 : 500;
		return -1;
	}
	*task_out = store_task_get(st, tid);
	return 0;
}
