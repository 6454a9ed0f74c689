/*
 * ratelimit.h - one transfer rate (bytes/s) shared by every thread of an
 * object store, both directions together.
 *
 * A token bucket with debt: a taker may overdraw and then sleeps until the
 * bucket would be back at zero, so many threads share one rate without a
 * condition variable or a pacing thread.  The bucket holds at most a
 * quarter of a second of burst, so an idle store cannot save up a flood.
 *
 * Thread safety: any number of threads may call ratelimit_take() at once.
 */
#ifndef RM_RATELIMIT_H
#define RM_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/* A limiter for bytes_per_s, or NULL for 0 (no limit); now_ms is the
 * monotonic clock at creation (time_mono_ms()). */
struct ratelimit *ratelimit_new(uint64_t bytes_per_s, int64_t now_ms);
/* NULL-safe. */
void ratelimit_free(struct ratelimit *r);
/* Account n bytes at monotonic time now_ms; returns how long the caller
 * must wait, in milliseconds (0 when within the rate).  The pure half of
 * ratelimit_take(), for tests. */
double ratelimit_debit(struct ratelimit *r, size_t n, int64_t now_ms);
/* Account n bytes now and sleep as long as the rate asks.  r may be NULL
 * (no limit). */
void ratelimit_take(struct ratelimit *r, size_t n);

#endif
