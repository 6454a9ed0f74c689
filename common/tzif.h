/*
 * tzif.h - time zones from the system's TZif files (RFC 8536), without
 * the C library's TZ machinery: setenv("TZ") and localtime() share one
 * process-wide state, which a multi-threaded daemon cannot switch per
 * call.  A zone is loaded once into a struct tzif and then only read, so
 * any number of threads may use it at once.
 *
 * Only version 2 and later files are read, and only their 64-bit
 * section; times past the last transition of the table follow the
 * footer's POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"), the way the
 * files themselves are meant to be read (slim files hold no transition
 * past 2037, some none past their last rule change).  Leap seconds are
 * ignored: the zoneinfo files the system installs have none ("right/"
 * files are not meant for civil time).
 *
 * Times are seconds since the epoch (UTC); an offset is seconds east of
 * UTC (Berlin in winter: 3600).
 */
#ifndef RM_TZIF_H
#define RM_TZIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TZIF_DIR "/usr/share/zoneinfo"

struct tzif;

/*
 * Parse a TZif file's bytes.  A new zone (tzif_free() it), or NULL with
 * err: not TZif, version 1 only, truncated, counts out of range, a
 * footer that is not a TZ string this module reads.
 */
struct tzif *tzif_parse(const unsigned char *buf, size_t len, char *err,
    size_t errlen);
/*
 * Load zone name ("Europe/Berlin", "UTC") from dir (NULL: TZIF_DIR).
 * The name is checked first: letters, digits and "_+-", components
 * joined by '/', none "." or "..", at most 64 bytes.  NULL with err.
 */
struct tzif *tzif_load(const char *dir, const char *name, char *err,
    size_t errlen);
void tzif_free(struct tzif *z);
/* True when name has the shape of an IANA zone name (see tzif_load()). */
bool tzif_name_ok(const char *name);

/* The offset from UTC at time t, seconds east; *isdst when not NULL. */
int32_t tzif_offset(const struct tzif *z, int64_t t, bool *isdst);
/* The first time after t at which the offset changes, or INT64_MAX. */
int64_t tzif_next_change(const struct tzif *z, int64_t t);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t tzif_days_from_civil(int64_t y, unsigned m, unsigned d);
void tzif_civil_from_days(int64_t days, int64_t *y, unsigned *m,
    unsigned *d);
/* Day of the week of a day number: 0 Sunday .. 6 Saturday. */
unsigned tzif_weekday(int64_t days);

#endif
