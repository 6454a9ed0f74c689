/*
 * tzif.c - see tzif.h.  The file is read once into a table of transition
 * times with the offset each one starts and, for what lies past the
 * table, the footer's rule.  A lookup is a binary search of the table or
 * the rule worked out for the year of the time asked.
 */
#include "tzif.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_FILE	(512 * 1024)
#define MAX_NAME	64

/* When a rule switches: Jn, n or Mm.w.d, at secs local time. */
struct tzrule_when {
	char kind;			/* 'J', 'D' (zero-based day), 'M' */
	int a, b, c;			/* Jn: a; n: a; Mm.w.d: a=m, b=w, c=d */
	int32_t secs;
};

/* The footer's TZ string. */
struct tzrule {
	bool set;			/* a footer string was there */
	int32_t std_off, dst_off;	/* seconds east */
	bool has_dst;
	struct tzrule_when start, end;
};

struct tzif {
	size_t n;
	int64_t *at;			/* transition times, ascending */
	int32_t *off;			/* offset from at[i] on */
	bool *dst;
	int32_t off0;			/* before the first transition */
	bool dst0;
	struct tzrule rule;
};

static const int cum_days[12] = {
	0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334
};

int64_t tzif_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void tzif_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

unsigned tzif_weekday(int64_t days)
{
	int64_t w = (days + 4) % 7;	/* 1970-01-01 was a Thursday */

	return (unsigned)(w < 0 ? w + 7 : w);
}

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ---- the footer's TZ string (POSIX, with RFC 8536's extensions) ---- */

static const char *tz_name(const char *p)
{
	if (*p == '<') {
		const char *e = strchr(p, '>');
		if (e == NULL || e - p < 4)
			return NULL;
		return e + 1;
	}
	const char *s = p;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	return p - s >= 3 ? p : NULL;
}

/* [+-]h[h[h]][:mm[:ss]] into seconds; hours up to maxh. */
static const char *tz_hms(const char *p, int maxh, int32_t *out)
{
	int sign = 1, h = 0, m = 0, s = 0, nd = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	while (*p >= '0' && *p <= '9' && nd < 3) {
		h = h * 10 + (*p++ - '0');
		nd++;
	}
	if (nd == 0 || h > maxh)
		return NULL;
	if (*p == ':') {
		p++;
		if (!(p[0] >= '0' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9'))
			return NULL;
		m = (p[0] - '0') * 10 + (p[1] - '0');
		p += 2;
		if (*p == ':') {
			p++;
			if (!(p[0] >= '0' && p[0] <= '5' && p[1] >= '0' &&
			    p[1] <= '9'))
				return NULL;
			s = (p[0] - '0') * 10 + (p[1] - '0');
			p += 2;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *tz_num(const char *p, int lo, int hi, int *out)
{
	int v = 0, nd = 0;

	while (*p >= '0' && *p <= '9' && nd < 4) {
		v = v * 10 + (*p++ - '0');
		nd++;
	}
	if (nd == 0 || v < lo || v > hi)
		return NULL;
	*out = v;
	return p;
}

static const char *tz_when(const char *p, struct tzrule_when *w)
{
	memset(w, 0, sizeof(*w));
	w->secs = 7200;
	if (*p == 'J') {
		w->kind = 'J';
		p = tz_num(p + 1, 1, 365, &w->a);
	} else if (*p == 'M') {
		w->kind = 'M';
		if ((p = tz_num(p + 1, 1, 12, &w->a)) == NULL || *p++ != '.' ||
		    (p = tz_num(p, 1, 5, &w->b)) == NULL || *p++ != '.')
			return NULL;
		p = tz_num(p, 0, 6, &w->c);
	} else {
		w->kind = 'D';
		p = tz_num(p, 0, 365, &w->a);
	}
	if (p != NULL && *p == '/')
		p = tz_hms(p + 1, 167, &w->secs);
	return p;
}

static int tz_parse_rule(const char *s, struct tzrule *r)
{
	const char *p = s;
	int32_t v;

	memset(r, 0, sizeof(r[0]));
	if ((p = tz_name(p)) == NULL || (p = tz_hms(p, 24, &v)) == NULL)
		return -1;
	r->std_off = -v;		/* POSIX counts west */
	r->dst_off = r->std_off + 3600;
	r->set = true;
	if (*p == '\0')
		return 0;
	if ((p = tz_name(p)) == NULL)
		return -1;
	r->has_dst = true;
	if (*p != ',' && *p != '\0') {
		if ((p = tz_hms(p, 24, &v)) == NULL)
			return -1;
		r->dst_off = -v;
	}
	if (*p != ',')
		return -1;		/* no rule: the default one is not kept */
	if ((p = tz_when(p + 1, &r->start)) == NULL || *p != ',' ||
	    (p = tz_when(p + 1, &r->end)) == NULL || *p != '\0')
		return -1;
	return 0;
}

/* The UTC time at which w happens in year y, when local time has off. */
static int64_t when_utc(const struct tzrule_when *w, int64_t y, int32_t off)
{
	int64_t day = tzif_days_from_civil(y, 1, 1);

	if (w->kind == 'J')
		day += w->a - 1 + (is_leap(y) && w->a >= 60);
	else if (w->kind == 'D')
		day += w->a;
	else {
		static const unsigned mdays[12] = {
			31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
		};
		unsigned len = mdays[w->a - 1] + (w->a == 2 && is_leap(y));
		int64_t first = day + cum_days[w->a - 1] +
		    (w->a > 2 && is_leap(y));
		int64_t d = ((int64_t)w->c - tzif_weekday(first) + 7) % 7 +
		    (int64_t)(w->b - 1) * 7;

		while (d >= (int64_t)len)
			d -= 7;
		day = first + d;
	}
	return day * 86400 + w->secs - off;
}

/* DST start and end in UTC for year y. */
static void rule_year(const struct tzrule *r, int64_t y, int64_t *start,
    int64_t *end)
{
	/* the start happens while standard time holds, the end in DST */
	*start = when_utc(&r->start, y, r->std_off);
	*end = when_utc(&r->end, y, r->dst_off);
}

static int32_t rule_offset(const struct tzrule *r, int64_t t, bool *isdst)
{
	int64_t y, start, end;
	unsigned m, d;
	bool dst;

	if (!r->has_dst) {
		*isdst = false;
		return r->std_off;
	}
	tzif_civil_from_days(floordiv(t + r->std_off, 86400), &y, &m, &d);
	rule_year(r, y, &start, &end);
	if (start < end)
		dst = t >= start && t < end;
	else			/* southern: DST spans the new year */
		dst = !(t >= end && t < start);
	*isdst = dst;
	return dst ? r->dst_off : r->std_off;
}

static int64_t rule_next_change(const struct tzrule *r, int64_t t)
{
	int64_t y, best = INT64_MAX;
	unsigned m, d;

	if (!r->has_dst)
		return INT64_MAX;
	tzif_civil_from_days(floordiv(t + r->std_off, 86400), &y, &m, &d);
	for (int64_t k = y - 1; k <= y + 1; k++) {
		int64_t s, e;

		rule_year(r, k, &s, &e);
		if (s > t && s < best)
			best = s;
		if (e > t && e < best)
			best = e;
	}
	return best;
}

/* ---- the file ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64s(const unsigned char *p)
{
	uint64_t u = (uint64_t)be32(p) << 32 | be32(p + 4);

	if (u <= (uint64_t)INT64_MAX)
		return (int64_t)u;
	return -(int64_t)(UINT64_MAX - u) - 1;
}

static int32_t be32s(const unsigned char *p)
{
	uint32_t u = be32(p);

	if (u <= (uint32_t)INT32_MAX)
		return (int32_t)u;
	return -(int32_t)(UINT32_MAX - u) - 1;
}

struct tzhead {
	uint32_t isut, isstd, leap, time, type, chr;
};

static int read_head(const unsigned char *p, size_t len, struct tzhead *h)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chr = be32(p + 40);
	if (h->type == 0 || h->type > 256 || h->chr == 0 || h->chr > 65536 ||
	    h->time > 100000 || h->leap > 100000 ||
	    (h->isut != 0 && h->isut != h->type) ||
	    (h->isstd != 0 && h->isstd != h->type))
		return -1;
	return 0;
}

static size_t body_len(const struct tzhead *h, size_t tsize)
{
	return h->time * tsize + h->time + h->type * 6 + h->chr +
	    h->leap * (tsize + 4) + h->isstd + h->isut;
}

struct tzif *tzif_parse(const unsigned char *buf, size_t len, char *err,
    size_t errlen)
{
	struct tzhead h;
	const unsigned char *p, *idx, *types, *foot, *fend;
	struct tzif *z;
	size_t v1;
	char *rule;

	if (read_head(buf, len, &h) != 0) {
		err_set(err, errlen, "not a TZif file (bad magic or counts)");
		return NULL;
	}
	if (buf[4] < '2') {
		err_set(err, errlen, "TZif version 1 file: only version 2 and "
		    "later (64-bit times) are read; update tzdata");
		return NULL;
	}
	v1 = 44 + body_len(&h, 4);
	if (v1 > len || read_head(buf + v1, len - v1, &h) != 0) {
		err_set(err, errlen, "TZif file truncated or its 64-bit header "
		    "is bad");
		return NULL;
	}
	p = buf + v1 + 44;
	if (body_len(&h, 8) > len - v1 - 44) {
		err_set(err, errlen, "TZif file truncated in its 64-bit data");
		return NULL;
	}
	idx = p + h.time * 8;
	types = idx + h.time;
	for (uint32_t i = 0; i < h.time; i++)
		if (idx[i] >= h.type || (i > 0 && be64s(p + i * 8) <=
		    be64s(p + (i - 1) * 8))) {
			err_set(err, errlen, "TZif transition %u is out of order or "
			    "names a type that does not exist", i);
			return NULL;
		}
	z = xcalloc(1, sizeof(*z));
	z->n = h.time;
	z->at = xcalloc(h.time + 1, sizeof(*z->at));
	z->off = xcalloc(h.time + 1, sizeof(*z->off));
	z->dst = xcalloc(h.time + 1, sizeof(*z->dst));
	for (uint32_t i = 0; i < h.time; i++) {
		z->at[i] = be64s(p + i * 8);
		z->off[i] = be32s(types + idx[i] * 6);
		z->dst[i] = types[idx[i] * 6 + 4] != 0;
	}
	z->off0 = be32s(types);
	z->dst0 = types[4] != 0;
	/* the footer: "\n" TZ string "\n" */
	foot = p + body_len(&h, 8);
	fend = buf + len;
	{
		const unsigned char *nl;

		/* version 2 and later always end with one (maybe empty) */
		if (foot >= fend || *foot != '\n' || (nl = memchr(foot + 1, '\n',
		    (size_t)(fend - foot - 1))) == NULL) {
			err_set(err, errlen, "TZif footer is not a newline-enclosed "
			    "TZ string");
			tzif_free(z);
			return NULL;
		}
		rule = xstrndup((const char *)foot + 1, (size_t)(nl - foot - 1));
		if (rule[0] != '\0' && tz_parse_rule(rule, &z->rule) != 0) {
			err_set(err, errlen, "TZif footer '%.60s' is not a TZ string "
			    "this parser reads", rule);
			free(rule);
			tzif_free(z);
			return NULL;
		}
		free(rule);
	}
	return z;
}

bool tzif_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0, comp = 0;
	bool dots = true;

	if (n == 0 || n > MAX_NAME || name[0] == '/' || name[n - 1] == '/')
		return false;
	for (const char *p = name; ; p++) {
		if (*p == '/' || *p == '\0') {
			/* "." and ".." would leave the directory */
			if (comp == 0 || dots)
				return false;
			if (*p == '\0')
				return true;
			comp = 0;
			dots = true;
			continue;
		}
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '+' ||
		    *p == '-' || *p == '.'))
			return false;
		if (*p != '.')
			dots = false;
		comp++;
	}
}

struct tzif *tzif_load(const char *dir, const char *name, char *err,
    size_t errlen)
{
	char path[512], e2[200];
	unsigned char *buf;
	struct tzif *z;
	size_t len = 0;

	if (!tzif_name_ok(name)) {
		err_set(err, errlen, "time zone '%.80s' is not a zone name "
		    "(\"Europe/Berlin\", \"UTC\")", name ? name : "");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : TZIF_DIR, name);
	buf = (unsigned char *)file_read_all(path, MAX_FILE, &len);
	if (buf == NULL) {
		err_set(err, errlen, "time zone '%s': cannot read %s: %s (is "
		    "tzdata installed? zone names are case-sensitive)", name,
		    path, strerror(errno));
		return NULL;
	}
	z = tzif_parse(buf, len, e2, sizeof(e2));
	free(buf);
	if (z == NULL)
		err_set(err, errlen, "time zone '%s': %s: %s", name, path, e2);
	return z;
}

void tzif_free(struct tzif *z)
{
	if (z == NULL)
		return;
	free(z->at);
	free(z->off);
	free(z->dst);
	free(z);
}

int32_t tzif_offset(const struct tzif *z, int64_t t, bool *isdst)
{
	size_t lo = 0, hi = z->n;
	bool dummy;

	if (isdst == NULL)
		isdst = &dummy;
	if ((z->n == 0 || t >= z->at[z->n - 1]) && z->rule.set)
		return rule_offset(&z->rule, t, isdst);
	if (z->n == 0 || t < z->at[0]) {
		*isdst = z->dst0;
		return z->off0;
	}
	/* the last transition at or before t */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	*isdst = z->dst[lo];
	return z->off[lo];
}

int64_t tzif_next_change(const struct tzif *z, int64_t t)
{
	size_t lo = 0, hi = z->n;

	if (z->n == 0 || t >= z->at[z->n - 1])
		return z->rule.set ? rule_next_change(&z->rule, t) : INT64_MAX;
	/* the first transition after t whose offset differs */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int32_t cur = tzif_offset(z, t, NULL); lo < z->n; lo++)
		if (z->off[lo] != cur)
			return z->at[lo];
	return z->rule.set ? rule_next_change(&z->rule, z->at[z->n - 1]) :
	    INT64_MAX;
}
