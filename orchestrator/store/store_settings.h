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
 */
#ifndef RM_STORE_SETTINGS_H
#define RM_STORE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct store_cluster_settings {
	int64_t replace_after_ms;	/* 0: never replace automatically */
	char provider[16];		/* none | command | sim */
	char provider_command[1024];	/* for provider "command"; "" unset */
	int64_t node_ttl_ms;		/* 0: a down node stays in the view */
	bool evict_removenode;		/* run nodetool removenode on evict */
	char backup_down_policy[16];	/* require_all | skip_down */
};

enum store_setting_type {
	STORE_SETTING_DURATION,	/* "90s", "30m", "4h", "7d"; "off" or "0" */
	STORE_SETTING_ENUM,	/* one of choices */
	STORE_SETTING_BOOL,	/* "true" | "false" */
	STORE_SETTING_PATH,	/* an absolute path, or "" */
};

struct store_setting_def {
	const char *key;
	enum store_setting_type type;
	const char *def;	/* the default, as canonical text */
	const char *choices;	/* ENUM: "a|b|c" */
	const char *meaning;
	size_t off, size;	/* its field in struct store_cluster_settings */
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

/* The canonical text of key's value in *s ("" for an unknown key). */
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

#endif
