/*
 * cron.c - 5-field cron expressions as bit sets, next run by walking
 * months, days, hours and minutes in UTC (skipping whole units that
 * cannot match, so a search is at most a few thousand steps).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../common/util.h"
#include "cron.h"

struct cron {
	uint64_t minute;	/* bits 0..59 */
	uint32_t hour;		/* bits 0..23 */
	uint32_t dom;		/* bits 1..31 */
	uint32_t month;		/* bits 1..12 */
	uint32_t dow;		/* bits 0..6, Sunday 0 */
	bool dom_star, dow_star;
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
	"nov", "dec",
};
static const char *const dow_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat",
};

struct field {
	const char *name;
	int min, max;
	const char *const *names;	/* names[i] is min + i */
	size_t nnames;
};

static const struct field fields[5] = {
	{ "minute", 0, 59, NULL, 0 },
	{ "hour", 0, 23, NULL, 0 },
	{ "day of month", 1, 31, NULL, 0 },
	{ "month", 1, 12, month_names, 12 },
	{ "day of week", 0, 7, dow_names, 7 },
};

/* A number or a name; advances *p.  -1 when neither. */
static int parse_value(const struct field *f, const char **p)
{
	const char *s = *p;

	if (isdigit((unsigned char)*s)) {
		long v = 0;
		while (isdigit((unsigned char)*s) && v < 1000)
			v = v * 10 + (*s++ - '0');
		*p = s;
		return (int)v;
	}
	for (size_t i = 0; i < f->nnames; i++) {
		if (strncasecmp(s, f->names[i], 3) == 0 &&
		    !isalpha((unsigned char)s[3])) {
			*p = s + 3;
			return f->min + (int)i;
		}
	}
	return -1;
}

/* One field ("*", "1-5", "*\/15", "mon,wed", ...) into bits. */
static int parse_field(const struct field *f, const char *text,
    uint64_t *bits, char *err, size_t errlen)
{
	const char *p = text;

	*bits = 0;
	for (;;) {
		int lo, hi, step = 1;
		bool star = *p == '*';

		if (star) {
			lo = f->min;
			hi = f->max;
			p++;
		} else {
			if ((lo = parse_value(f, &p)) < 0)
				goto bad;
			hi = lo;
			if (*p == '-') {
				p++;
				if ((hi = parse_value(f, &p)) < 0)
					goto bad;
			}
		}
		if (*p == '/') {
			const char *q = ++p;
			step = 0;
			while (isdigit((unsigned char)*p) && step < 1000)
				step = step * 10 + (*p++ - '0');
			if (p == q || step == 0)
				goto bad;
			if (hi == lo && !star)
				hi = f->max;	/* "5/15" means 5-max/15 */
		}
		if (lo < f->min || hi > f->max || lo > hi) {
			snprintf(err, errlen, "cron %s field '%s': value out "
			    "of range %d-%d", f->name, text, f->min, f->max);
			return -1;
		}
		for (int v = lo; v <= hi; v += step)
			*bits |= 1ULL << v;
		if (*p == '\0')
			return 0;
		if (*p++ != ',')
			goto bad;
	}
bad:
	snprintf(err, errlen, "cron %s field '%s' is not valid", f->name,
	    text);
	return -1;
}

struct cron *cron_parse(const char *expr, char *err, size_t errlen)
{
	char *copy, *save = NULL, *tok, *part[6];
	uint64_t bits[5];
	struct cron *c = NULL;
	int n = 0;

	if (expr == NULL) {
		snprintf(err, errlen, "cron expression is missing");
		return NULL;
	}
	copy = xstrdup(expr);
	for (tok = strtok_r(copy, " \t", &save); tok != NULL && n < 6;
	    tok = strtok_r(NULL, " \t", &save))
		part[n++] = tok;
	if (n != 5) {
		snprintf(err, errlen, "cron expression '%s' must have 5 fields "
		    "(minute hour day-of-month month day-of-week)", expr);
		goto out;
	}
	for (int i = 0; i < 5; i++)
		if (parse_field(&fields[i], part[i], &bits[i], err, errlen) < 0)
			goto out;
	c = xcalloc(1, sizeof(*c));
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->dom = (uint32_t)bits[2];
	c->month = (uint32_t)bits[3];
	c->dow = (uint32_t)(bits[4] & 0x7f);
	if (bits[4] & (1ULL << 7))
		c->dow |= 1;		/* 7 is Sunday too */
	c->dom_star = part[2][0] == '*';
	c->dow_star = part[4][0] == '*';
out:
	free(copy);
	return c;
}

void cron_free(struct cron *c)
{
	free(c);
}

bool cron_valid(const char *expr, char *err, size_t errlen)
{
	char buf[256];
	struct cron *c = cron_parse(expr, err ? err : buf,
	    err ? errlen : sizeof(buf));

	cron_free(c);
	return c != NULL;
}

static bool day_matches(const struct cron *c, const struct tm *tm)
{
	bool dom = (c->dom >> tm->tm_mday) & 1;
	bool dow = (c->dow >> tm->tm_wday) & 1;

	if (c->dom_star || c->dow_star)
		return dom && dow;
	return dom || dow;
}

int64_t cron_next(const struct cron *c, int64_t after)
{
	int64_t t = (after >= 0 ? after / 60 : (after - 59) / 60) * 60 + 60;
	int64_t limit = after + 5LL * 366 * 86400;
	struct tm tm;

	while (t <= limit) {
		time_t tt = (time_t)t;
		gmtime_r(&tt, &tm);
		if (!((c->month >> (tm.tm_mon + 1)) & 1)) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
			t = (int64_t)timegm(&tm);
			continue;
		}
		if (!day_matches(c, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
			t = (int64_t)timegm(&tm);
			continue;
		}
		if (!((c->hour >> tm.tm_hour) & 1)) {
			tm.tm_hour++;
			tm.tm_min = tm.tm_sec = 0;
			t = (int64_t)timegm(&tm);
			continue;
		}
		if (!((c->minute >> tm.tm_min) & 1)) {
			t += 60;
			continue;
		}
		return t;
	}
	return -1;
}
