/*
 * store_settings.h - a cluster's lifecycle settings: the one registry of
 * their keys (type, default, meaning), their typed form, and their rows
 * in cluster_settings (migration 5).
 *
 * A key not set for a cluster has its default, so adding a key needs no
 * migration.  Values are kept as the canonical text of their type
 * (store_setting_parse() checks and normalises it); the typed struct is
 * what the code above reads.  Changing a setting is allowed while a task
 * runs: these are read when a decision is taken (a replacement, a sweep,
 * a backup's check), never relied on across a step.
 *
 * Secret settings (type STORE_SETTING_SECRET, def->secret): the cluster's
 * storage credentials.  Their values are stored as given (state.db is as
 * private as the orchestrator's key files: docs/security.md, "Secrets")
 * and read only through the typed struct, by the code that signs requests
 * or hands them to an agent; store_setting_format() shows "set" or "",
 * never the value, and no error message quotes one.
 */
#ifndef RM_STORE_SETTINGS_H
#define RM_STORE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Sizes of the secret values, their NUL included: AWS key ids are 20
 * characters, secret keys 40, STS session tokens up to a few KiB. */
#define STORE_SECRET_KEYID_MAX	129
#define STORE_SECRET_KEY_MAX	257
#define STORE_SECRET_TOKEN_MAX	4097

struct store_cluster_settings {
	int64_t replace_after_ms;	/* 0: never replace automatically */
	char provider[16];		/* none | command | sim */
	char provider_command[1024];	/* for provider "command"; "" unset */
	int64_t node_ttl_ms;		/* 0: a down node stays in the view */
	bool evict_removenode;		/* run nodetool removenode on evict */
	char backup_down_policy[16];	/* require_all | skip_down */
	int64_t tenant_repair_after_ms;	/* 0: only removed nodes */
	int64_t autoscale_interval_ms;	/* 0: the autoscaler is off */
	int64_t autoscale_up_cooldown_ms;
	int64_t autoscale_down_cooldown_ms;
	int64_t autoscale_down_after_ms;
	int64_t tenant_demand_interval_ms;
	/* Secrets: "" when not set (the agents' and the orchestrator's own
	 * environment is used then). */
	char storage_access_key_id[STORE_SECRET_KEYID_MAX];
	char storage_secret_access_key[STORE_SECRET_KEY_MAX];
	char storage_session_token[STORE_SECRET_TOKEN_MAX];
};

enum store_setting_type {
	STORE_SETTING_DURATION,	/* "90s", "30m", "4h", "7d"; "off" or "0" */
	STORE_SETTING_ENUM,	/* one of choices */
	STORE_SETTING_BOOL,	/* "true" | "false" */
	STORE_SETTING_PATH,	/* an absolute path, or "" */
	STORE_SETTING_SECRET,	/* printable ASCII without blanks, or "" */
};

struct store_setting_def {
	const char *key;
	enum store_setting_type type;
	const char *def;	/* the default, as canonical text */
	const char *choices;	/* ENUM: "a|b|c" */
	const char *meaning;
	size_t off, size;	/* its field in struct store_cluster_settings */
	bool secret;		/* write-only: never shown, logged or sent
				 * anywhere but to the store and the agents */
};

/* The registry, in display order: n entries. */
const struct store_setting_def *store_settings_defs(size_t *n);
const struct store_setting_def *store_setting_find(const char *key);

/* Every key at its default. */
void store_settings_defaults(struct store_cluster_settings *s);

/*
 * Check text as a value of key and set it in *s.  0, or -1 with err
 * naming the key, what was wrong and what is accepted.  canon (may be
 * NULL) receives the canonical text to store.
 */
int store_setting_parse(struct store_cluster_settings *s, const char *key,
    const char *text, char *canon, size_t canonlen, char *err,
    size_t errlen);

/* The canonical text of key's value in *s ("" for an unknown key); for a
 * secret key "set" when it has a value, else "". */
void store_setting_format(const struct store_cluster_settings *s,
    const char *key, char *buf, size_t len);

/* Every key (defaults for the unset ones).  0, RM_ENOENT (no such
 * cluster), RM_ERR. */
int store_cluster_settings_get(struct store *st, const char *cluster,
    struct store_cluster_settings *out);

/* One change: value NULL resets key to its default. */
struct store_setting_kv {
	const char *key;
	const char *value;	/* canonical text (store_setting_parse) */
};

/* Apply every change in one transaction.  0, RM_ENOENT, RM_EINVAL (a key
 * or value the registry refuses: nothing changed), RM_ERR. */
int store_cluster_settings_set(struct store *st, const char *cluster,
    const struct store_setting_kv *kv, size_t n, char *err, size_t errlen);

/*
 * The secret values set in *s (non-empty), for redact(): up to max
 * pointers into *s in out; returns how many.
 */
size_t store_settings_secrets(const struct store_cluster_settings *s,
    const char **out, size_t max);

#endif
