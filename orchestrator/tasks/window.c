/*
 * window.c - see window.h.  Whether a set is open at an instant is a
 * direct test of the local time in each window's zone.  When it opens or
 * closes next is found without stepping through time: the answer can
 * only be an instant at which some window's test changes, that is a
 * window's start or end time on some day (turned into UTC with each
 * offset the zone has around that day, keeping only the real ones) or an
 * offset change of a zone (which moves the local clock across a start or
 * an end).  Those candidates, sorted, are tested in turn.
 */
#include "window.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/tzif.h"
#include "../../common/util.h"

struct window {
	unsigned days;			/* bit per weekday, 0 = Sunday */
	int32_t start, end;		/* seconds of the day */
	struct tzif *z;
	char desc[160];
};

struct window_set {
	size_t n;
	struct window w[WINDOW_MAX];
};

static const char *const day_names[7] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int day_of(const char *s, size_t n)
{
	for (int i = 0; i < 7; i++)
		if (n == 3 && strncmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* "mon", "fri-mon" (wrapping), "mon-wed,fri" added to *out; -1 (and
 * *out unchanged) when bad. */
static int days_item(const char *s, unsigned *out)
{
	unsigned acc = 0, *bits = &acc;

	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		size_t n = strcspn(s, ",");
		const char *dash = memchr(s, '-', n);
		int a, b;

		if (dash != NULL) {
			a = day_of(s, (size_t)(dash - s));
			b = day_of(dash + 1, n - (size_t)(dash - s) - 1);
		} else
			a = b = day_of(s, n);
		if (a < 0 || b < 0)
			return -1;
		for (int d = a; ; d = (d + 1) % 7) {
			*bits |= 1u << d;
			if (d == b)
				break;
		}
		s += n;
		if (*s == ',' && *++s == '\0')
			return -1;
	}
	*out |= acc;
	return 0;
}

/* "HH:MM" or "HH:MM:SS" into seconds of the day; -1 when bad. */
static int32_t time_of_day(const char *s, bool *with_secs)
{
	int h, m, sec = 0;
	size_t n = s ? strlen(s) : 0;

	if ((n != 5 && n != 8) || s[2] != ':' || (n == 8 && s[5] != ':'))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (i != 2 && i != 5 && (s[i] < '0' || s[i] > '9'))
			return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (n == 8)
		sec = (s[6] - '0') * 10 + (s[7] - '0');
	if (h > 23 || m > 59 || sec > 59)
		return -1;
	*with_secs = n == 8;
	return h * 3600 + m * 60 + sec;
}

static void hms(char *out, size_t len, int32_t s, bool secs)
{
	if (secs)
		snprintf(out, len, "%02d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, len, "%02d:%02d", s / 3600, s / 60 % 60);
}

static int parse_one(struct window *w, json_t *o, size_t i,
    const char *zonedir, char *err, size_t errlen)
{
	const json_t *days = json_object_get(o, "days"), *v;
	const char *tz = "UTC", *key, *sv;
	char daytext[64] = "", a[16], b[16], e2[300];
	bool s1 = false, s2 = false;
	size_t j;
	json_t *jv;

	if (!json_is_object(o)) {
		err_set(err, errlen, "params.windows[%zu] must be an object "
		    "{\"days\", \"start\", \"end\", \"tz\"}", i);
		return -1;
	}
	json_object_foreach(o, key, jv) {
		if (strcmp(key, "days") != 0 && strcmp(key, "start") != 0 &&
		    strcmp(key, "end") != 0 && strcmp(key, "tz") != 0) {
			err_set(err, errlen, "params.windows[%zu]: unknown key '%.40s' "
			    "(allowed: days, start, end, tz)", i, key);
			return -1;
		}
	}
	if (json_is_string(days) && strcmp(json_string_value(days), "*") == 0) {
		w->days = 0x7f;
		str_copy(daytext, "daily", sizeof(daytext));
	} else if (json_is_string(days) && strlen(json_string_value(days)) <
	    sizeof(daytext) && days_item(json_string_value(days), &w->days) == 0)
		str_copy(daytext, json_string_value(days), sizeof(daytext));
	else if (json_is_array(days) && json_array_size(days) > 0 &&
	    json_array_size(days) <= 7) {
		json_array_foreach(days, j, v) {
			sv = json_string_value(v);
			if (sv == NULL || strchr(sv, ',') != NULL ||
			    days_item(sv, &w->days) != 0) {
				w->days = 0;
				break;
			}
			if (strlen(daytext) + strlen(sv) + 2 < sizeof(daytext))
				snprintf(daytext + strlen(daytext), sizeof(daytext) -
				    strlen(daytext), "%s%s", j ? "," : "", sv);
		}
	}
	if (w->days == 0) {
		err_set(err, errlen, "params.windows[%zu].days must be \"*\", a day "
		    "or range of days (\"mon-fri\", \"sat,sun\") or an array of "
		    "them ([\"mon\", \"wed\"]); days are sun mon tue wed thu fri "
		    "sat", i);
		return -1;
	}
	w->start = time_of_day(json_string_value(json_object_get(o, "start")),
	    &s1);
	w->end = time_of_day(json_string_value(json_object_get(o, "end")), &s2);
	if (w->start < 0 || w->end < 0) {
		err_set(err, errlen, "params.windows[%zu].%s must be a time of day "
		    "\"HH:MM\" or \"HH:MM:SS\" (00:00 to 23:59:59)", i,
		    w->start < 0 ? "start" : "end");
		return -1;
	}
	v = json_object_get(o, "tz");
	if (v != NULL && !json_is_string(v)) {
		err_set(err, errlen, "params.windows[%zu].tz must be a time zone "
		    "name (\"Europe/Berlin\")", i);
		return -1;
	}
	if (v != NULL)
		tz = json_string_value(v);
	if ((w->z = tzif_load(zonedir, tz, e2, sizeof(e2))) == NULL) {
		err_set(err, errlen, "params.windows[%zu].tz: %s", i, e2);
		return -1;
	}
	hms(a, sizeof(a), w->start, s1 || s2);
	hms(b, sizeof(b), w->end, s1 || s2);
	snprintf(w->desc, sizeof(w->desc), "%s %s-%s %s", daytext, a, b, tz);
	return 0;
}

struct window_set *window_parse(const json_t *arr, const char *zonedir,
    char *err, size_t errlen)
{
	struct window_set *ws;
	json_t *o;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) < 1 ||
	    json_array_size(arr) > WINDOW_MAX) {
		err_set(err, errlen, "params.windows must be an array of 1 to %d "
		    "windows {\"days\": \"mon-fri\", \"start\": \"22:00\", "
		    "\"end\": \"06:00\", \"tz\": \"Europe/Berlin\"}", WINDOW_MAX);
		return NULL;
	}
	ws = xcalloc(1, sizeof(*ws));
	json_array_foreach(arr, i, o) {
		if (parse_one(&ws->w[i], o, i, zonedir, err, errlen) != 0) {
			tzif_free(ws->w[i].z);
			ws->w[i].z = NULL;
			window_set_free(ws);
			return NULL;
		}
		ws->n = i + 1;
	}
	return ws;
}

void window_set_free(struct window_set *ws)
{
	if (ws == NULL)
		return;
	for (size_t i = 0; i < ws->n; i++)
		tzif_free(ws->w[i].z);
	free(ws);
}

const char *window_describe(const struct window_set *ws, size_t i)
{
	return i < ws->n ? ws->w[i].desc : "";
}

static bool one_open(const struct window *w, int64_t t)
{
	int64_t local = t + tzif_offset(w->z, t, NULL);
	int64_t day = floordiv(local, 86400);
	int32_t s = (int32_t)(local - day * 86400);
	unsigned wd = tzif_weekday(day), prev = (wd + 6) % 7;

	if (w->start < w->end)
		return (w->days >> wd & 1) && s >= w->start && s < w->end;
	/* crossing midnight (or a whole day): the early part belongs to the
	 * day before */
	return ((w->days >> wd & 1) && s >= w->start) ||
	    ((w->days >> prev & 1) && s < w->end);
}

bool window_is_open(const struct window_set *ws, int64_t t)
{
	for (size_t i = 0; i < ws->n; i++)
		if (one_open(&ws->w[i], t))
			return true;
	return false;
}

struct cands {
	int64_t *v;
	size_t n, cap;
};

static void cand_add(struct cands *c, int64_t t, int64_t lo, int64_t hi)
{
	if (t <= lo || t > hi)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n++] = t;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Local time ls of w's zone as UTC instants: each offset the zone has
 * within two days of it that really gives ls back. */
static void local_to_cands(const struct window *w, int64_t ls,
    struct cands *c, int64_t lo, int64_t hi)
{
	int32_t offs[3] = {
		tzif_offset(w->z, ls - 2 * 86400, NULL),
		tzif_offset(w->z, ls, NULL),
		tzif_offset(w->z, ls + 2 * 86400, NULL),
	};

	for (int k = 0; k < 3; k++) {
		int64_t u = ls - offs[k];
		bool dup = false;

		for (int j = 0; j < k; j++)
			dup |= offs[j] == offs[k];
		if (!dup && tzif_offset(w->z, u, NULL) == offs[k])
			cand_add(c, u, lo, hi);
	}
}

/* Every instant in (t, t + horizon] at which the set may change. */
static void candidates(const struct window_set *ws, int64_t t,
    struct cands *c)
{
	int64_t hi = t + WINDOW_HORIZON_S;

	for (size_t i = 0; i < ws->n; i++) {
		const struct window *w = &ws->w[i];
		int64_t d0 = floordiv(t + tzif_offset(w->z, t, NULL), 86400);

		for (int64_t d = d0 - 1; d <= d0 + WINDOW_HORIZON_S / 86400 + 1;
		    d++) {
			local_to_cands(w, d * 86400 + w->start, c, t, hi);
			local_to_cands(w, d * 86400 + w->end, c, t, hi);
		}
		for (int64_t x = tzif_next_change(w->z, t); x <= hi;
		    x = tzif_next_change(w->z, x))
			cand_add(c, x, t, hi);
	}
	qsort(c->v, c->n, sizeof(*c->v), cmp_i64);
}

/* The first window open at x, or -1. */
static long open_one(const struct window_set *ws, int64_t x)
{
	for (size_t i = 0; i < ws->n; i++)
		if (one_open(&ws->w[i], x))
			return (long)i;
	return -1;
}

int64_t window_next_open(const struct window_set *ws, int64_t t,
    size_t *which)
{
	struct cands c = { NULL, 0, 0 };
	int64_t at = -1;
	long i = open_one(ws, t);

	if (i < 0) {
		candidates(ws, t, &c);
		for (size_t k = 0; k < c.n && i < 0; k++)
			if ((i = open_one(ws, c.v[k])) >= 0)
				at = c.v[k];
		free(c.v);
	} else
		at = t;
	if (i >= 0 && which != NULL)
		*which = (size_t)i;
	return at;
}

int64_t window_closes_at(const struct window_set *ws, int64_t t)
{
	struct cands c = { NULL, 0, 0 };
	int64_t at = INT64_MAX;

	if (!window_is_open(ws, t))
		return -1;
	candidates(ws, t, &c);
	for (size_t k = 0; k < c.n; k++)
		if (!window_is_open(ws, c.v[k])) {
			at = c.v[k];
			break;
		}
	free(c.v);
	return at;
}

char *window_wait_text(const struct window_set *ws, int64_t t)
{
	size_t which = 0;
	int64_t at = window_next_open(ws, t, &which), local, day, y;
	int32_t off, s, ao;
	unsigned m, d;
	char in[32];

	if (at == t)
		return NULL;
	if (at < 0) {
		char *list = xstrdup(""), *tmp;
		for (size_t i = 0; i < ws->n; i++) {
			tmp = xasprintf("%s%s%s", list, i ? "; " : "", ws->w[i].desc);
			free(list);
			list = tmp;
		}
		tmp = xasprintf("waiting for maintenance window %s: none opens "
		    "within %d days", list, WINDOW_HORIZON_S / 86400);
		free(list);
		return tmp;
	}
	off = tzif_offset(ws->w[which].z, at, NULL);
	local = at + off;
	day = floordiv(local, 86400);
	s = (int32_t)(local - day * 86400);
	tzif_civil_from_days(day, &y, &m, &d);
	duration_human(at - t, DURATION_TIGHT, in, sizeof(in));
	ao = off < 0 ? -off : off;
	return xasprintf("waiting for maintenance window %s: opens in %s "
	    "(%04lld-%02u-%02uT%02d:%02d:%02d%c%02d:%02d)", ws->w[which].desc,
	    in, (long long)y, m, d, s / 3600, s / 60 % 60, s % 60,
	    off < 0 ? '-' : '+', ao / 3600, ao / 60 % 60);
}
