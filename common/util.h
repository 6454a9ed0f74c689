/*
 * util.h - allocation that never returns NULL, string and time helpers
 * shared by ringmaster, ringagent and ringsh.
 *
 * Out of memory is not an error we can recover from in a daemon that must
 * keep its state consistent, so the x*() allocators abort with a message.
 */
#ifndef RM_UTIL_H
#define RM_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define RM_VERSION "0.1.0"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Copy at most size-1 bytes and always terminate; returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);
/* Strip leading and trailing white space in place; returns s. */
char *str_trim(char *s);
/* s for a message: into out (size bytes, NUL-terminated), at most 200
 * bytes of it, every byte that is not printable ASCII as '?'. */
void str_printable(const char *s, char *out, size_t size);
/* xorshift64*: the same sequence on every platform, for seeded searches,
 * tests and benchmarks (never for secrets).  *state must not be 0. */
uint64_t rand_xorshift(uint64_t *state);
bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);
/* true when s matches [A-Za-z0-9_-]{1,64}: the rule for every name we accept. */
bool name_valid(const char *s);
/* A decimal number, surrounding space allowed (HTTP headers, XML values
 * some servers pad): 0, or -1 when s is anything else or overflows. */
int str_to_u64(const char *s, uint64_t *out);
/* The one way an error message is written into a caller's buffer (err may
 * be NULL or errlen 0: then nothing is written). */
void err_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* true for a node address or host name as the orchestrator takes one: 1 to
 * 253 of A-Z a-z 0-9 . - : _ (RFC 1123 names; IPv4 and IPv6 literals). */
bool address_valid(const char *s);
/* true for a Cassandra version an upgrade takes ("4.1.3", "5.0-rc1"): 1 to
 * 32 of [0-9A-Za-z.-], starting with a digit.  One rule for the
 * orchestrator, which refuses a bad params.version before the task runs,
 * and the agent, which puts it on upgrade_command's line. */
bool version_valid(const char *v);

/* Monotonic milliseconds, for deadlines and intervals. */
int64_t time_mono_ms(void);
/* Wall clock milliseconds since the epoch. */
int64_t time_wall_ms(void);
/* clock's time ms from now (below 0: now), as pthread_cond_timedwait
 * takes it: with the clock the condition variable was made with. */
void time_after_ms(clockid_t clock, int64_t ms, struct timespec *ts);
/* Format an epoch-seconds time as RFC 3339 UTC ("2026-11-21T23:19:26Z"). */
void time_rfc3339(int64_t epoch_s, char *buf, size_t size);
/* Parse RFC 3339 UTC ("...Z" or "+00:00"); returns 0 and sets *out, or -1. */
int time_parse_rfc3339(const char *s, int64_t *out);

/* Durations as written in config and API: "500ms", "10s", "5m", "1h", "7d". */
int duration_parse_ms(const char *s, int64_t *out_ms);
/* ms as duration_parse_ms reads it back, in the largest unit that divides
 * it exactly: 86400000 "1d", 90000 "90s", 1500 "1500ms"; "0s" at or below
 * zero. */
void duration_format_ms(int64_t ms, char *buf, size_t size);

/* How a duration for people is spaced (duration_human). */
enum duration_style {
	DURATION_SPACED,	/* "3m 12s": ringsh's tables and messages */
	DURATION_TIGHT,		/* "3m12s": one word inside a log line */
};
/*
 * How long, for people: its two largest units, rounded down ("45s",
 * "3m 12s", "2h 5m", "4d 1h"; "0s" below zero).  Not for config or the
 * API (duration_parse_ms does not read it back).  Seconds, because a
 * coarser reading is all it shows and a count of seconds from the network
 * cannot overflow when turned into milliseconds.
 */
void duration_human(int64_t secs, enum duration_style style, char *buf,
    size_t size);

/* Read a whole small file (<= max bytes) into a NUL-terminated buffer. */
char *file_read_all(const char *path, size_t max, size_t *len_out);
/* Write data to path atomically (temp file, fsync, rename) with mode. */
int file_write_atomic(const char *path, const void *data, size_t len, int mode);
/* Fill buf with cryptographically random bytes (getrandom); aborts on failure. */
void random_bytes(void *buf, size_t len);
/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void hex_encode(const unsigned char *in, size_t len, char *out);

#endif
