/*
 * authlimit.h - a budget of failures per key (a client address, a token
 * name) in a window, with a block once it is spent.
 *
 * The API keeps two: failed authentication per client address (at
 * auth_fail_max wrong tokens within auth_fail_window the address is
 * blocked for auth_block: every request of it that needs a token is
 * answered 429 with Retry-After before its token is looked at, so guessing
 * goes no faster whatever is sent), and refused requests per token name
 * (the audit log records only the first few a minute, so a viewer token
 * cannot fill the events table with 403s).
 *
 * A success never resets a key's count: otherwise one valid token would let
 * its holder interleave guesses without limit.  Memory is bounded: at most
 * max_keys keys are kept; a new key beyond that replaces the one seen
 * least recently.  Thread-safe (one mutex; a lookup is a hash probe).
 */
#ifndef RM_AUTHLIMIT_H
#define RM_AUTHLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct authlimit_conf {
	int max;		/* failures allowed per window; 0: no limit */
	int64_t window_ms;	/* counting window, from a key's first failure */
	int64_t block_ms;	/* how long a key that spent its budget waits */
	size_t max_keys;	/* keys kept at most (>= 1) */
};

struct authlimit;

/* A new limiter (c is copied). */
struct authlimit *authlimit_new(const struct authlimit_conf *c);
void authlimit_free(struct authlimit *l);
/*
 * New settings for a running limiter (SIGHUP): the counts and blocks it
 * holds stay, and are judged by the new settings from the next call (a
 * lower max blocks a key at its next failure if it has that many; a block
 * keeps its end).  Keys beyond a lower max_keys are forgotten, the ones
 * seen least recently first.
 */
void authlimit_reconf(struct authlimit *l, const struct authlimit_conf *c);

/* Seconds (>= 1) until key may be heard again, or 0 when it is not
 * blocked.  now_ms: a monotonic clock. */
int authlimit_blocked(struct authlimit *l, const char *key, int64_t now_ms);
/* Count a failure of key.  Returns 0 while the budget lasts, or the
 * seconds (>= 1) key is blocked for when this failure spent it (then the
 * caller logs who and what to do; a key already blocked answers the same
 * way). */
int authlimit_fail(struct authlimit *l, const char *key, int64_t now_ms);
/* Keys kept now (tests). */
size_t authlimit_size(struct authlimit *l);

#endif
