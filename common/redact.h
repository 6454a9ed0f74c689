/*
 * redact.h - keep anything secret-shaped out of text that others read:
 * task params, task errors and progress, events, log lines and API error
 * messages.
 *
 * What counts as secret-shaped (docs/security.md, "Secrets"):
 *   - AWS access key ids: AKIA or ASIA and 16 or more of A-Z 0-9, as a
 *     word of their own;
 *   - a value after a name that says secret: a name holding "secret",
 *     "password", "passwd", "token", "credential", "authorization",
 *     "signature" or "access_key" (any case, '-' or '_' between words)
 *     followed by '=' or ':' (JSON's "name": "value" too), or, for an
 *     option "--name", by a blank and a word; an Authorization header's
 *     value runs to the end of the line;
 *   - every value of the caller's list of known secrets (the settings the
 *     caller holds), wherever it appears, at least REDACT_KNOWN_MIN bytes.
 * A value that is empty, numeric (Cassandra's tokens), an object or an
 * array is left as it is.  Each secret becomes REDACT_MARK.
 *
 * Pure functions, no state: safe from any thread.
 */
#ifndef RM_REDACT_H
#define RM_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#define REDACT_MARK "[redacted]"
#define REDACT_KNOWN_MIN 4

/*
 * s with every secret replaced by REDACT_MARK; known (n values, may be
 * NULL) are the caller's secrets.  A new string the caller frees; NULL
 * only for s NULL.
 */
char *redact(const char *s, const char *const *known, size_t n);

/*
 * The same in place: buf (a NUL-terminated string in size bytes) is
 * rewritten, cut at size - 1 if the marks made it longer.  Returns true
 * when anything was redacted.
 */
bool redact_buf(char *buf, size_t size, const char *const *known, size_t n);

/*
 * True when s holds something secret-shaped (known as above); what (may
 * be NULL) then names the first kind found, for a refusal: "an AWS access
 * key id", "a value of 'AWS_SECRET_ACCESS_KEY'", ... (never the value).
 */
bool redact_found(const char *s, const char *const *known, size_t n,
    char *what, size_t whatlen);

#endif
