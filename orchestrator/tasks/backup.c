/*
 * backup.c - see backup.h.
 *
 * The backup family of task types - backup (bksteps.c), purge and
 * backup-index (purge.c), verify (verify.c), restore (restore.c) - is
 * registered here with its parameters, and the service's backup listing,
 * lookup and deletion read the backup index (bkcore.c) in the store.
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
#include "bk.h"


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
			if (!storage_url_ok(sv) || !bk_plain_arg(sv) ||
			    strlen(sv) > 1024) {
				snprintf(err, errlen, "params.source.storage must be "
				    "s3://bucket/prefix or file:///dir, got '%.128s'",
				    sv ? sv : "(not a string)");
				return -1;
			}
		} else if (strcmp(k, "endpoint") == 0 ||
		    strcmp(k, "region") == 0) {
			if (!bk_plain_arg(sv) || strlen(sv) > 1024) {
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

static int backup_validate(json_t *params, char *err, size_t errlen)
{
	return validate_with(params, "backup", backup_params,
	    ARRAY_SIZE(backup_params), err, errlen);
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

static int index_validate(json_t *params, char *err, size_t errlen)
{
	return validate_with(params, "backup-index", NULL, 0, err, errlen);
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

static int verify_validate(json_t *params, char *err, size_t errlen)
{
	return validate_with(params, "verify", verify_params,
	    ARRAY_SIZE(verify_params), err, errlen);
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
