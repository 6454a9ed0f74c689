/*
 * store_slot.h - each cluster's one bootstrap slot in the store
 * (store_slot.c); included by store.h, whose conventions apply.  The rules
 * of the slot are lifecycle/slot.h; this file only keeps it, with
 * compare-and-set writes, since check-ins of many nodes race for it.
 */
#ifndef RM_STORE_SLOT_H
#define RM_STORE_SLOT_H

#include "store.h"

#define STORE_SLOT_STR 256

/* A held slot, as read.  Strings are copies ("" when not set). */
struct store_slot {
	char kind[16];			/* "bootstrap" or "replace" */
	char holder[STORE_SLOT_STR];	/* "" for a replace awaiting a host */
	char dead_address[STORE_SLOT_STR];
	char dc[STORE_SLOT_STR], rack[STORE_SLOT_STR];
	int64_t since_ms, deadline_ms;
	/* A replacement's (tasks/replace.c); "" / 0 for a bootstrap. */
	char task_id[STORE_ID_MAX];	/* the replace task that holds it */
	int provider_state;		/* STORE_PROVIDER_* */
	char new_address[STORE_SLOT_STR];	/* the provider's answer */
	int64_t joined_at;		/* ms the holder was seen joined, 0 */
};

/* What a replacement's provider was asked: persisted before each call, so
 * a restart never asks again a provider that answered. */
#define STORE_PROVIDER_NOT_ASKED	0
#define STORE_PROVIDER_ASKING		1	/* asked; no answer recorded */
#define STORE_PROVIDER_ANSWERED		2

/* 0 with *out, RM_ENOENT when the slot is free, RM_ERR. */
int store_slot_get(struct store *st, const char *cluster,
    struct store_slot *out);
/*
 * Take the free slot: 0, RM_EBUSY when it is held (by anyone: the caller
 * reads it to see by whom), RM_ENOENT (no such cluster), RM_ERR.
 */
int store_slot_take(struct store *st, const char *cluster,
    const struct store_slot *want, char *err, size_t errlen);
/* A replace awaiting a host gets one: 0, RM_EBUSY (already claimed). */
int store_slot_claim(struct store *st, const char *cluster,
    const char *dead_address, const char *holder, char *err, size_t errlen);
/*
 * A replacement's provider state and answer (new_address, "" for none):
 * 0, RM_ENOENT (the task no longer holds the slot), RM_ERR.
 */
int store_slot_provider(struct store *st, const char *cluster,
    const char *task_id, int state, const char *new_address, char *err,
    size_t errlen);
/*
 * The holder (since since_ms) was seen joined at at_ms: the replace task
 * that holds the slot finishes the replacement and frees it.  0,
 * RM_ENOENT (not held so, or already marked), RM_ERR.
 */
int store_slot_joined(struct store *st, const char *cluster,
    const char *holder, int64_t since_ms, int64_t at_ms, char *err,
    size_t errlen);
/* Free the slot a task holds: 0, RM_ENOENT (it holds none), RM_ERR. */
int store_slot_release_task(struct store *st, const char *cluster,
    const char *task_id, char *err, size_t errlen);
/*
 * Free the slot if holder still holds it since since_ms (a later holder's
 * slot is never freed by a stale decision): 0, RM_ENOENT, RM_ERR.
 */
int store_slot_release(struct store *st, const char *cluster,
    const char *holder, int64_t since_ms, char *err, size_t errlen);

#endif
