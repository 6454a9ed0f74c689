/*
 * store_settings.c - see store_settings.h.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../../common/strbuf.h"
#include "../../common/util.h"
#include "store_int.h"

#define FIELD(f) offsetof(struct store_cluster_settings, f), \
	sizeof(((struct store_cluster_settings *)0)->f)

static const struct store_setting_def defs[] = {
	{ "replace_after", STORE_SETTING_DURATION, "off", NULL,
	    "how long a node must be down (its agent silent and a live peer "
	    "seeing it DN) before a replace task is submitted for it; off: "
	    "only an operator replaces", FIELD(replace_after_ms), false },
	{ "provider", STORE_SETTING_ENUM, "none", "none|command|sim",
	    "where a replacement's new host comes from: none (a new, empty "
	    "node that checks in in the dead node's dc), command "
	    "(provider_command prints its address), sim (the test simulation)",
	    FIELD(provider), false },
	{ "provider_command", STORE_SETTING_PATH, "", NULL,
	    "the executable provider \"command\" runs for a new host "
	    "(docs/lifecycle.md lists its environment and its answer)",
	    FIELD(provider_command), false },
	{ "node_ttl", STORE_SETTING_DURATION, "off", NULL,
	    "how long a down node stays in the orchestrator's view before it "
	    "is evicted; off: until an operator removes or replaces it",
	    FIELD(node_ttl_ms), false },
	{ "evict_removenode", STORE_SETTING_BOOL, "false", NULL,
	    "whether eviction first runs nodetool removenode on a live node "
	    "(the dead node's ranges are streamed to the remaining replicas)",
	    FIELD(evict_removenode), false },
	{ "backup_down_policy", STORE_SETTING_ENUM, "require_all",
	    "require_all|skip_down",
	    "what a backup does while a node is down: require_all fails it, "
	    "skip_down backs up the nodes that are up and lists the backup "
	    "partial, naming the missing nodes", FIELD(backup_down_policy), false },
	{ "tenant_repair_after", STORE_SETTING_DURATION, "2m", NULL,
	    "how long a node must be down (a live peer seeing it DN) before "
	    "the tenants whose shards hold it are repaired (one service "
	    "swapped); a node removed or replaced is repaired at once; off: "
	    "only then", FIELD(tenant_repair_after_ms), false },
	{ "autoscale_interval", STORE_SETTING_DURATION, "30s", NULL,
	    "how often the tenant autoscaler looks at each tenant's demand "
	    "and decides (docs/tenants.md); off: it decides nothing",
	    FIELD(autoscale_interval_ms), false },
	{ "autoscale_up_cooldown", STORE_SETTING_DURATION, "30s", NULL,
	    "after a tenant was scaled, how long before it is scaled up again",
	    FIELD(autoscale_up_cooldown_ms), false },
	{ "autoscale_down_cooldown", STORE_SETTING_DURATION, "2m", NULL,
	    "after a tenant was scaled, how long before it is scaled down",
	    FIELD(autoscale_down_cooldown_ms), false },
	{ "autoscale_down_after", STORE_SETTING_DURATION, "5m", NULL,
	    "how long a tenant's demand must stay under half its capacity "
	    "before it is scaled down", FIELD(autoscale_down_after_ms), false },
	{ "tenant_demand_interval", STORE_SETTING_DURATION, "30s", NULL,
	    "how often each agent samples its node's read and write counts "
	    "(nodetool tablestats) for its tenants' demand",
	    FIELD(tenant_demand_interval_ms), false },
	{ "storage_access_key_id", STORE_SETTING_SECRET, "", NULL,
	    "the access key id the orchestrator and the agents sign the "
	    "cluster's storage requests with (write-only; with "
	    "storage_secret_access_key; unset: their environment's)",
	    FIELD(storage_access_key_id), true },
	{ "storage_secret_access_key", STORE_SETTING_SECRET, "", NULL,
	    "the secret access key that goes with storage_access_key_id "
	    "(write-only)", FIELD(storage_secret_access_key), true },
	{ "storage_session_token", STORE_SETTING_SECRET, "", NULL,
	    "the session token of temporary storage credentials "
	    "(write-only; optional)", FIELD(storage_session_token), true },
};

const struct store_setting_def *store_settings_defs(size_t *n)
{
	*n = ARRAY_SIZE(defs);
	return defs;
}

static const struct store_setting_def *find(const char *key)
{
	for (size_t i = 0; key != NULL && i < ARRAY_SIZE(defs); i++)
		if (strcmp(defs[i].key, key) == 0)
			return &defs[i];
	return NULL;
}

const struct store_setting_def *store_setting_find(const char *key)
{
	return find(key);
}

/* The largest unit that divides ms exactly: "4h", "90s", "off". */
/* "off" for none, else as the configuration writes it ("90s", "7d"). */
static void duration_format(int64_t ms, char *buf, size_t len)
{
	if (ms <= 0)
		snprintf(buf, len, "off");
	else
		duration_format_ms(ms, buf, len);
}

static bool choice_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (n > 0 && p != NULL && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, v, n) == 0)
			return true;
		p = bar != NULL ? bar + 1 : NULL;
	}
	return false;
}

static int parse(const struct store_setting_def *d, struct store_cluster_settings *s,
    const char *text, char *err, size_t errlen)
{
	char *field = (char *)s + d->off;
	const char *key = d->key;
	int64_t ms;

	switch (d->type) {
	case STORE_SETTING_DURATION:
		if (strcmp(text, "off") == 0 || strcmp(text, "0") == 0) {
			ms = 0;
		} else if (duration_parse_ms(text, &ms) != 0 || ms < 1000) {
			snprintf(err, errlen, "setting '%s': '%.64s' is not a "
			    "duration of at least 1s: give one like 90s, 30m, "
			    "4h or 7d, or off", key, text);
			return -1;
		}
		memcpy(field, &ms, sizeof(ms));
		return 0;
	case STORE_SETTING_ENUM:
		if (!choice_ok(d->choices, text)) {
			snprintf(err, errlen, "setting '%s': '%.64s' is not one "
			    "of %s", key, text, d->choices);
			return -1;
		}
		str_copy(field, text, d->size);
		return 0;
	case STORE_SETTING_BOOL:
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0) {
			snprintf(err, errlen, "setting '%s': '%.64s' is not "
			    "true or false", key, text);
			return -1;
		}
		*(bool *)field = strcmp(text, "true") == 0;
		return 0;
	case STORE_SETTING_SECRET:
		/* The value is never quoted back: an error names the key and
		 * the rule only. */
		if (strlen(text) >= d->size) {
			snprintf(err, errlen, "setting '%s': the value is longer "
			    "than %zu bytes", key, d->size - 1);
			return -1;
		}
		for (const char *p = text; *p; p++)
			if (*p <= ' ' || *p > '~') {
				snprintf(err, errlen, "setting '%s': the value "
				    "holds a blank, a control or a non-ASCII "
				    "character at byte %zu; give the credential "
				    "exactly as issued", key,
				    (size_t)(p - text));
				return -1;
			}
		str_copy(field, text, d->size);
		return 0;
	case STORE_SETTING_PATH:
		if (text[0] != '\0' && (text[0] != '/' ||
		    strlen(text) >= d->size || strchr(text, '\n') != NULL)) {
			snprintf(err, errlen, "setting '%s': '%.64s' is not an "
			    "absolute path (one line, under %zu bytes)", key,
			    text, d->size);
			return -1;
		}
		str_copy(field, text, d->size);
		return 0;
	}
	snprintf(err, errlen, "setting '%s': unknown type", key);
	return -1;
}

static void format(const struct store_setting_def *d, const struct store_cluster_settings *s,
    char *buf, size_t len)
{
	const char *field = (const char *)s + d->off;
	int64_t ms;

	switch (d->type) {
	case STORE_SETTING_DURATION:
		memcpy(&ms, field, sizeof(ms));
		duration_format(ms, buf, len);
		return;
	case STORE_SETTING_BOOL:
		snprintf(buf, len, "%s", *(const bool *)field ? "true" :
		    "false");
		return;
	case STORE_SETTING_ENUM:
	case STORE_SETTING_PATH:
		snprintf(buf, len, "%s", field);
		return;
	case STORE_SETTING_SECRET:
		snprintf(buf, len, "%s", field[0] != '\0' ? "set" : "");
		return;
	}
	buf[0] = '\0';
}

size_t store_settings_secrets(const struct store_cluster_settings *s,
    const char **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(defs) && n < max; i++) {
		const char *field = (const char *)s + defs[i].off;
		if (defs[i].secret && field[0] != '\0')
			out[n++] = field;
	}
	return n;
}

void store_settings_defaults(struct store_cluster_settings *s)
{
	char err[16];

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < ARRAY_SIZE(defs); i++)
		if (parse(&defs[i], s, defs[i].def, err, sizeof(err)) != 0)
			log_warnx("setting %s: its default does not parse",
			    defs[i].key);
}

int store_setting_parse(struct store_cluster_settings *s, const char *key,
    const char *text, char *canon, size_t canonlen, char *err,
    size_t errlen)
{
	const struct store_setting_def *d = find(key);
	size_t n;
	const struct store_setting_def *all;

	if (d == NULL) {
		struct strbuf known = { 0 };
		all = store_settings_defs(&n);
		for (size_t i = 0; i < n; i++)
			strbuf_addf(&known, "%s%s", i ? ", " : "", all[i].key);
		snprintf(err, errlen, "unknown cluster setting '%.64s': the "
		    "settings are %s", key != NULL ? key : "", known.p);
		strbuf_release(&known);
		return -1;
	}
	if (parse(d, s, text != NULL ? text : "", err, errlen) != 0)
		return -1;
	if (canon != NULL)
		format(d, s, canon, canonlen);
	return 0;
}

void store_setting_format(const struct store_cluster_settings *s,
    const char *key, char *buf, size_t len)
{
	const struct store_setting_def *d = find(key);

	if (d == NULL)
		buf[0] = '\0';
	else
		format(d, s, buf, len);
}

int store_cluster_settings_get(struct store *st, const char *cluster,
    struct store_cluster_settings *out)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_CLUSTER_EXISTS);
	char err[256];
	int rc;

	store_settings_defaults(out);
	bind_text(s, 1, cluster);
	rc = sqlite3_step(s);
	rst(s);
	if (rc == SQLITE_DONE) {
		unlock(c);
		return RM_ENOENT;
	}
	if (rc != SQLITE_ROW) {
		rc = store_db_err(c, NULL, 0, "read a cluster's settings");
		unlock(c);
		return rc;
	}
	s = S(c, SQL_SETTINGS_GET);
	bind_text(s, 1, cluster);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *key = col_str(s, 0), *v = col_str(s, 1);
		/* A key a newer version wrote, or a value it changed the
		 * rules of: keep the default and say so. */
		if (store_setting_parse(out, key, v, NULL, 0, err,
		    sizeof(err)) != 0)
			log_warnx("cluster %s: stored %s; using the default",
			    cluster, err);
	}
	rst(s);
	rc = rc == SQLITE_DONE ? 0 : store_db_err(c, NULL, 0,
	    "read a cluster's settings");
	unlock(c);
	return rc;
}

struct set_args {
	const char *cluster;
	const struct store_setting_kv *kv;
	size_t n;
};

static int tx_settings_set(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct set_args *a = arg;
	struct store_cluster_settings scratch;
	char canon[1100];
	sqlite3_stmt *s = S(c, SQL_CLUSTER_EXISTS);
	int rc;

	(void)st;
	bind_text(s, 1, a->cluster);
	rc = sqlite3_step(s);
	rst(s);
	if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "cluster '%s' not found", a->cluster);
		return RM_ENOENT;
	}
	if (rc != SQLITE_ROW)
		return store_db_err(c, err, errlen, "find the cluster");
	store_settings_defaults(&scratch);
	for (size_t i = 0; i < a->n; i++) {
		if (a->kv[i].value != NULL) {
			/* Checked by the caller: this only normalises. */
			if (store_setting_parse(&scratch, a->kv[i].key,
			    a->kv[i].value, canon, sizeof(canon), err,
			    errlen) != 0)
				return RM_EINVAL;
			s = S(c, SQL_SETTINGS_PUT);
			/* A secret's canonical text is the value itself (its
			 * format() shows "set"). */
			bind_text(s, 3, find(a->kv[i].key)->secret ?
			    a->kv[i].value : canon);
		} else {
			s = S(c, SQL_SETTINGS_DEL);
		}
		bind_text(s, 1, a->cluster);
		bind_text(s, 2, a->kv[i].key);
		if (exec_stmt(s) != SQLITE_DONE)
			return store_db_err(c, err, errlen, "write a setting");
	}
	return 0;
}

int store_cluster_settings_set(struct store *st, const char *cluster,
    const struct store_setting_kv *kv, size_t n, char *err, size_t errlen)
{
	struct set_args a = { cluster, kv, n };
	struct store_cluster_settings scratch;

	/* Every value is checked before anything is written. */
	store_settings_defaults(&scratch);
	for (size_t i = 0; i < n; i++) {
		const char *v = kv[i].value;
		if (v == NULL && find(kv[i].key) != NULL)
			continue;
		if (store_setting_parse(&scratch, kv[i].key, v != NULL ? v : "",
		    NULL, 0, err, errlen) != 0)
			return RM_EINVAL;
	}
	return store_write_op(st, tx_settings_set, &a, err, errlen);
}
