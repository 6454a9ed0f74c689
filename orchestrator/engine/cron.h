/*
 * cron.h - 5-field cron expressions, evaluated in UTC.
 *
 *	minute hour day-of-month month day-of-week
 *
 * Each field is "*", a number, a range "1-5", a step "*\/15" or "10-50/20",
 * or a comma list of those.  Months accept jan..dec, days sun..sat (0 and 7
 * are both Sunday), case-insensitive.  Day-of-month and day-of-week follow
 * Vixie cron: when both are restricted (neither starts with "*"), a day
 * matches when EITHER matches; otherwise both must.
 *
 * A parsed expression is immutable: share it between threads freely.
 */
#ifndef RM_CRON_H
#define RM_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cron;

/* Parse expr; NULL with a message naming the bad field on error. */
struct cron *cron_parse(const char *expr, char *err, size_t errlen);
void cron_free(struct cron *c);
/* true when expr parses (err may be NULL). */
bool cron_valid(const char *expr, char *err, size_t errlen);
/*
 * The first matching minute strictly after `after` (epoch seconds, UTC),
 * as epoch seconds; -1 when nothing matches within 5 years (e.g. "0 0 31 2 *").
 */
int64_t cron_next(const struct cron *c, int64_t after);

#endif
