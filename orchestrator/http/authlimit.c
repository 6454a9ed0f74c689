/*
 * authlimit.c - see authlimit.h.
 *
 * Keys live in the one hash table (common/htab.h) and on a list in the
 * order they were last touched, so the key replaced when the table is full
 * is found in O(1): the tail.  A key's window starts at its first failure
 * and ends window_ms later; a block lasts block_ms from the failure that
 * spent the budget and the count starts afresh after it.
 */
#include "authlimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/htab.h"
#include "../../common/util.h"

#define KEY_MAX 128

struct alkey {
	struct htab_node hnode;
	struct alkey *prev, *next;	/* most recently touched first */
	char key[KEY_MAX];
	int64_t window_start;
	int fails;
	int64_t blocked_until;		/* 0: not blocked */
};

struct authlimit {
	struct authlimit_conf c;
	pthread_mutex_t mu;	/* guards everything below */
	struct htab t;
	struct alkey *head, *tail;
	size_t n;
};

struct authlimit *authlimit_new(const struct authlimit_conf *c)
{
	struct authlimit *l = xcalloc(1, sizeof(*l));

	l->c = *c;
	if (l->c.max_keys < 1)
		l->c.max_keys = 1;
	pthread_mutex_init(&l->mu, NULL);
	htab_init(&l->t, 0);
	return l;
}

void authlimit_free(struct authlimit *l)
{
	if (l == NULL)
		return;
	for (struct alkey *k = l->head, *next; k != NULL; k = next) {
		next = k->next;
		free(k);
	}
	htab_release(&l->t);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static void unlink_key(struct authlimit *l, struct alkey *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		l->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = NULL;
}

static void push_front(struct authlimit *l, struct alkey *k)
{
	k->next = l->head;
	k->prev = NULL;
	if (l->head)
		l->head->prev = k;
	l->head = k;
	if (l->tail == NULL)
		l->tail = k;
}

void authlimit_reconf(struct authlimit *l, const struct authlimit_conf *c)
{
	pthread_mutex_lock(&l->mu);
	l->c = *c;
	if (l->c.max_keys < 1)
		l->c.max_keys = 1;
	while (l->n > l->c.max_keys) {
		struct alkey *k = l->tail;

		unlink_key(l, k);
		htab_remove(&l->t, &k->hnode);
		free(k);
		l->n--;
	}
	pthread_mutex_unlock(&l->mu);
}

static struct alkey *find(struct authlimit *l, const char *key, uint64_t h)
{
	for (struct htab_node *n = htab_first(&l->t, h); n; n = htab_next(n, h)) {
		struct alkey *k = HTAB_ENTRY(n, struct alkey, hnode);

		if (strcmp(k->key, key) == 0)
			return k;
	}
	return NULL;
}

/* Seconds left of a block, rounded up so a client never retries early. */
static int secs_left(int64_t until, int64_t now)
{
	int64_t ms = until - now;

	return ms <= 0 ? 0 : (int)((ms + 999) / 1000);
}

int authlimit_blocked(struct authlimit *l, const char *key, int64_t now_ms)
{
	struct alkey *k;
	int left = 0;

	if (l == NULL)
		return 0;
	/* Settings are read under the lock: SIGHUP may change them. */
	pthread_mutex_lock(&l->mu);
	if (l->c.max > 0 && (k = find(l, key, htab_hash(key))) != NULL &&
	    k->blocked_until > 0)
		left = secs_left(k->blocked_until, now_ms);
	pthread_mutex_unlock(&l->mu);
	return left;
}

int authlimit_fail(struct authlimit *l, const char *key, int64_t now_ms)
{
	uint64_t h = htab_hash(key);
	struct alkey *k;
	int left = 0;

	if (l == NULL)
		return 0;
	pthread_mutex_lock(&l->mu);
	if (l->c.max <= 0) {
		pthread_mutex_unlock(&l->mu);
		return 0;
	}
	k = find(l, key, h);
	if (k == NULL) {
		if (l->n >= l->c.max_keys) {
			/* Full: the key seen least recently makes room. */
			k = l->tail;
			unlink_key(l, k);
			htab_remove(&l->t, &k->hnode);
			memset(k, 0, sizeof(*k));
		} else {
			k = xcalloc(1, sizeof(*k));
			l->n++;
		}
		str_copy(k->key, key, sizeof(k->key));
		htab_add(&l->t, &k->hnode, h);
	} else {
		unlink_key(l, k);
	}
	push_front(l, k);
	if (k->blocked_until > 0 && now_ms >= k->blocked_until) {
		k->blocked_until = 0;	/* served its time: a fresh budget */
		k->fails = 0;
	}
	if (k->blocked_until > 0) {
		left = secs_left(k->blocked_until, now_ms);
	} else {
		if (k->fails == 0 || now_ms - k->window_start >= l->c.window_ms) {
			k->window_start = now_ms;
			k->fails = 0;
		}
		if (++k->fails >= l->c.max) {
			k->blocked_until = now_ms + (l->c.block_ms > 0 ?
			    l->c.block_ms : 1);
			left = secs_left(k->blocked_until, now_ms);
		}
	}
	pthread_mutex_unlock(&l->mu);
	return left;
}

size_t authlimit_size(struct authlimit *l)
{
	size_t n;

	pthread_mutex_lock(&l->mu);
	n = l->n;
	pthread_mutex_unlock(&l->mu);
	return n;
}
