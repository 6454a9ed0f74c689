/*
 * test_window.c - maintenance windows (orchestrator/tasks/window.c), as
 * tables: whether a set is open at an instant, when it opens next and
 * when it closes, over windows that cross midnight, day lists and ranges,
 * the DST gap and overlap of Europe/Berlin, Lord Howe's half-hour switch
 * (a window the gap skips entirely), a whole-day window and several
 * windows at once; the step's wait message; and the refusals with the
 * window and the field they name.  Zones are the system's files.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/tzif.h"
#include "../../common/util.h"
#include "../../orchestrator/tasks/window.h"
#include "t.h"

#define NEVER INT64_MAX

/* "2026-12-07T21:00:00" (UTC) -> seconds; "" -> -1, "max" -> NEVER. */
static int64_t utc(const char *s)
{
	int y, mo, d, h, mi, se;

	if (s[0] == '\0')
		return -1;
	if (strcmp(s, "max") == 0)
		return NEVER;
	if (sscanf(s, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &se) != 6)
		abort();
	return tzif_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + se;
}

static struct window_set *set_of(const char *json)
{
	json_error_t je;
	json_t *arr = json_loads(json, 0, &je);
	char err[300];
	struct window_set *ws = window_parse(arr, NULL, err, sizeof(err));

	T_CHECK(ws != NULL, "%s: %s", json, err);
	json_decref(arr);
	return ws;
}

#define BERLIN_NIGHTS "[{\"days\": \"mon-fri\", \"start\": \"22:00\", " \
	"\"end\": \"06:00\", \"tz\": \"Europe/Berlin\"}]"

struct row {
	const char *windows;	/* a JSON array */
	const char *at;		/* UTC */
	bool open;
	const char *next;	/* next_open: UTC, "" none */
	const char *closes;	/* closes_at: UTC, "" closed, "max" never */
};

static const struct row rows[] = {
	/* 2026-12-07 is a Monday; Berlin is UTC+1 in winter */
	{ BERLIN_NIGHTS, "2026-12-07T20:59:59", false, "2026-12-07T21:00:00", "" },
	{ BERLIN_NIGHTS, "2026-12-07T21:00:00", true, "2026-12-07T21:00:00",
	  "2026-12-08T05:00:00" },
	{ BERLIN_NIGHTS, "2026-12-08T04:59:59", true, "2026-12-08T04:59:59",
	  "2026-12-08T05:00:00" },
	/* Friday night runs into Saturday morning, Sunday night is not
	 * Monday's */
	{ BERLIN_NIGHTS, "2026-12-12T04:00:00", true, "2026-12-12T04:00:00",
	  "2026-12-12T05:00:00" },
	{ BERLIN_NIGHTS, "2026-12-12T05:00:00", false, "2026-12-14T21:00:00", "" },
	{ BERLIN_NIGHTS, "2026-12-13T21:30:00", false, "2026-12-14T21:00:00", "" },
	{ BERLIN_NIGHTS, "2026-12-14T01:00:00", false, "2026-12-14T21:00:00", "" },
	/* spring gap (2026-03-29 02:00 CET -> 03:00 CEST at 01:00Z): a start
	 * the gap skips opens at the gap's end */
	{ "[{\"days\": \"sun\", \"start\": \"02:30\", \"end\": \"04:00\", "
	  "\"tz\": \"Europe/Berlin\"}]", "2026-03-29T00:00:00", false,
	  "2026-03-29T01:00:00", "" },
	{ "[{\"days\": \"sun\", \"start\": \"02:30\", \"end\": \"04:00\", "
	  "\"tz\": \"Europe/Berlin\"}]", "2026-03-29T01:00:00", true,
	  "2026-03-29T01:00:00", "2026-03-29T02:00:00" },
	/* an end the gap skips closes at the gap */
	{ "[{\"days\": \"sun\", \"start\": \"01:00\", \"end\": \"02:30\", "
	  "\"tz\": \"Europe/Berlin\"}]", "2026-03-28T23:00:00", false,
	  "2026-03-29T00:00:00", "" },
	{ "[{\"days\": \"sun\", \"start\": \"01:00\", \"end\": \"02:30\", "
	  "\"tz\": \"Europe/Berlin\"}]", "2026-03-29T00:00:00", true,
	  "2026-03-29T00:00:00", "2026-03-29T01:00:00" },
	/* autumn overlap (2026-10-25 03:00 CEST -> 02:00 CET at 01:00Z): the
	 * clock goes back before 02:30, out of the window, and comes back */
	{ "[{\"days\": \"sun\", \"start\": \"02:30\", \"end\": \"05:00\", "
	  "\"tz\": \"Europe/Berlin\"}]", "2026-10-24T22:00:00", false,
	  "2026-10-25T00:30:00", "" },
	{ "[{\"days\": \"sun\", \"start\": \"02:30\", \"end\": \"05:00\", "
	  "\"tz\": \"Europe/Berlin\"}]", "2026-10-25T00:30:00", true,
	  "2026-10-25T00:30:00", "2026-10-25T01:00:00" },
	{ "[{\"days\": \"sun\", \"start\": \"02:30\", \"end\": \"05:00\", "
	  "\"tz\": \"Europe/Berlin\"}]", "2026-10-25T01:00:00", false,
	  "2026-10-25T01:30:00", "" },
	{ "[{\"days\": \"sun\", \"start\": \"02:30\", \"end\": \"05:00\", "
	  "\"tz\": \"Europe/Berlin\"}]", "2026-10-25T01:30:00", true,
	  "2026-10-25T01:30:00", "2026-10-25T04:00:00" },
	/* the repeated hour is inside a window that holds it, both times */
	{ "[{\"days\": \"sun\", \"start\": \"01:00\", \"end\": \"02:30\", "
	  "\"tz\": \"Europe/Berlin\"}]", "2026-10-25T00:30:00", false,
	  "2026-10-25T01:00:00", "" },
	{ "[{\"days\": \"sun\", \"start\": \"01:00\", \"end\": \"02:30\", "
	  "\"tz\": \"Europe/Berlin\"}]", "2026-10-25T01:00:00", true,
	  "2026-10-25T01:00:00", "2026-10-25T01:30:00" },
	/* New York, a days list: Mon and Wed 9 to 5, EST */
	{ "[{\"days\": [\"mon\", \"wed\"], \"start\": \"09:00\", \"end\": "
	  "\"17:00\", \"tz\": \"America/New_York\"}]", "2026-12-07T22:00:00",
	  false, "2026-12-09T14:00:00", "" },
	{ "[{\"days\": [\"mon\", \"wed\"], \"start\": \"09:00\", \"end\": "
	  "\"17:00\", \"tz\": \"America/New_York\"}]", "2026-12-07T14:00:00",
	  true, "2026-12-07T14:00:00", "2026-12-07T22:00:00" },
	/* Lord Howe, 2026-10-04 02:00 +10:30 -> 02:30 +11 at 15:30Z the day
	 * before: 02:00-02:15 does not happen that day */
	{ "[{\"days\": \"*\", \"start\": \"02:00\", \"end\": \"02:15\", "
	  "\"tz\": \"Australia/Lord_Howe\"}]", "2026-10-03T12:00:00", false,
	  "2026-10-04T15:00:00", "" },
	/* ... and on 2026-04-05 02:00 +11 is the switch back to 01:30: local
	 * 02:00 comes once, at +10:30 */
	{ "[{\"days\": \"*\", \"start\": \"02:00\", \"end\": \"02:15\", "
	  "\"tz\": \"Australia/Lord_Howe\"}]", "2026-04-04T14:00:00", false,
	  "2026-04-04T15:30:00", "" },
	{ "[{\"days\": \"*\", \"start\": \"02:00\", \"end\": \"02:15\", "
	  "\"tz\": \"Australia/Lord_Howe\"}]", "2026-04-04T15:30:00", true,
	  "2026-04-04T15:30:00", "2026-04-04T15:45:00" },
	/* a whole day every day: never closes */
	{ "[{\"days\": \"*\", \"start\": \"00:00\", \"end\": \"00:00\", "
	  "\"tz\": \"Asia/Kolkata\"}]", "2026-12-07T12:00:00", true,
	  "2026-12-07T12:00:00", "max" },
	/* Kolkata +5:30: 00:00-01:00 local is 18:30-19:30Z the day before */
	{ "[{\"days\": \"tue\", \"start\": \"00:00\", \"end\": \"01:00\", "
	  "\"tz\": \"Asia/Kolkata\"}]", "2026-12-07T12:00:00", false,
	  "2026-12-07T18:30:00", "" },
	/* seconds, UTC by default */
	{ "[{\"days\": \"sat\", \"start\": \"10:00:30\", \"end\": \"10:00:45\"}]",
	  "2026-12-12T10:00:00", false, "2026-12-12T10:00:30", "" },
	{ "[{\"days\": \"sat\", \"start\": \"10:00:30\", \"end\": \"10:00:45\"}]",
	  "2026-12-12T10:00:30", true, "2026-12-12T10:00:30",
	  "2026-12-12T10:00:45" },
	/* a range that wraps the week */
	{ "[{\"days\": \"fri-mon\", \"start\": \"12:00\", \"end\": \"13:00\"}]",
	  "2026-12-08T13:00:00", false, "2026-12-11T12:00:00", "" },
	/* several windows: weekends whole, weeknights; open from Friday
	 * 22:00 to Monday 00:00 without a break */
	{ "[{\"days\": \"sat,sun\", \"start\": \"00:00\", \"end\": \"00:00\"}, "
	  "{\"days\": \"mon-fri\", \"start\": \"22:00\", \"end\": \"06:00\"}]",
	  "2026-12-11T23:00:00", true, "2026-12-11T23:00:00",
	  "2026-12-14T00:00:00" },
	{ "[{\"days\": \"sat,sun\", \"start\": \"00:00\", \"end\": \"00:00\"}, "
	  "{\"days\": \"mon-fri\", \"start\": \"22:00\", \"end\": \"06:00\"}]",
	  "2026-12-14T00:00:00", false, "2026-12-14T22:00:00", "" },
};

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct window_set *ws = set_of(rows[i].windows);
		int64_t t = utc(rows[i].at), got;

		if (ws == NULL)
			continue;
		T_CHECK(window_is_open(ws, t) == rows[i].open, "row %zu at %s",
		    i, rows[i].at);
		got = window_next_open(ws, t, NULL);
		T_CHECK(got == utc(rows[i].next), "row %zu next_open: got %lld, "
		    "want %lld (%s)", i, (long long)got,
		    (long long)utc(rows[i].next), rows[i].next);
		got = window_closes_at(ws, t);
		T_CHECK(got == utc(rows[i].closes), "row %zu closes_at: got %lld, "
		    "want %lld (%s)", i, (long long)got,
		    (long long)utc(rows[i].closes), rows[i].closes);
		window_set_free(ws);
	}
}

static void test_text(void)
{
	struct window_set *ws = set_of(BERLIN_NIGHTS);
	char *s;

	if (ws == NULL)
		return;
	T_EQ_STR(window_describe(ws, 0), "mon-fri 22:00-06:00 Europe/Berlin");
	s = window_wait_text(ws, utc("2026-12-07T17:48:00"));
	T_EQ_STR(s, "waiting for maintenance window mon-fri 22:00-06:00 "
	    "Europe/Berlin: opens in 3h12m (2026-12-07T22:00:00+01:00)");
	free(s);
	T_CHECK(window_wait_text(ws, utc("2026-12-07T21:00:00")) == NULL,
	    "open: no wait text");
	window_set_free(ws);
	/* the window that opens first is named; a negative offset */
	ws = set_of("[{\"days\": \"sun\", \"start\": \"01:00\", \"end\": "
	    "\"02:00\"}, {\"days\": \"*\", \"start\": \"09:00:30\", \"end\": "
	    "\"17:00\", \"tz\": \"America/New_York\"}]");
	if (ws == NULL)
		return;
	s = window_wait_text(ws, utc("2026-12-07T14:00:00"));
	T_EQ_STR(s, "waiting for maintenance window daily 09:00:30-17:00:00 "
	    "America/New_York: opens in 30s (2026-12-07T09:00:30-05:00)");
	free(s);
	window_set_free(ws);
	ws = set_of("[{\"days\": \"*\", \"start\": \"03:00\", \"end\": "
	    "\"04:00\", \"tz\": \"Australia/Lord_Howe\"}]");
	if (ws == NULL)
		return;
	s = window_wait_text(ws, utc("2026-12-07T00:00:00"));
	/* 11:00 local (+11): opens at 03:00 the next day, in 16h */
	T_EQ_STR(s, "waiting for maintenance window daily 03:00-04:00 "
	    "Australia/Lord_Howe: opens in 16h0m (2026-12-08T03:00:00+11:00)");
	free(s);
	window_set_free(ws);
}

static void test_refusals(void)
{
	static const struct { const char *json, *want; } bad[] = {
		{ "{}", "params.windows must be an array of 1 to 32" },
		{ "[]", "params.windows must be an array of 1 to 32" },
		{ "[5]", "params.windows[0] must be an object" },
		{ "[{\"days\": \"*\", \"start\": \"01:00\", \"end\": \"02:00\", "
		  "\"zone\": \"UTC\"}]", "params.windows[0]: unknown key 'zone'" },
		{ "[{\"days\": \"moon\", \"start\": \"01:00\", \"end\": \"02:00\"}]",
		  "params.windows[0].days must be" },
		{ "[{\"days\": \"mon-\", \"start\": \"01:00\", \"end\": \"02:00\"}]",
		  "params.windows[0].days" },
		{ "[{\"days\": \"mon,\", \"start\": \"01:00\", \"end\": \"02:00\"}]",
		  "params.windows[0].days" },
		{ "[{\"days\": \"Mon\", \"start\": \"01:00\", \"end\": \"02:00\"}]",
		  "params.windows[0].days" },
		{ "[{\"days\": [], \"start\": \"01:00\", \"end\": \"02:00\"}]",
		  "params.windows[0].days" },
		{ "[{\"days\": [\"mon\", 3], \"start\": \"01:00\", \"end\": "
		  "\"02:00\"}]", "params.windows[0].days" },
		{ "[{\"start\": \"01:00\", \"end\": \"02:00\"}]",
		  "params.windows[0].days" },
		{ "[{\"days\": \"*\", \"start\": \"01:00\", \"end\": \"02:00\"}, "
		  "{\"days\": \"*\", \"start\": \"24:00\", \"end\": \"02:00\"}]",
		  "params.windows[1].start must be a time of day" },
		{ "[{\"days\": \"*\", \"start\": \"9:00\", \"end\": \"02:00\"}]",
		  "params.windows[0].start" },
		{ "[{\"days\": \"*\", \"start\": \"09:00\", \"end\": \"10:60\"}]",
		  "params.windows[0].end" },
		{ "[{\"days\": \"*\", \"start\": \"09:00\", \"end\": \"10:00:60\"}]",
		  "params.windows[0].end" },
		{ "[{\"days\": \"*\", \"end\": \"10:00\"}]",
		  "params.windows[0].start" },
		{ "[{\"days\": \"*\", \"start\": 900, \"end\": \"10:00\"}]",
		  "params.windows[0].start" },
		{ "[{\"days\": \"*\", \"start\": \"09:00\", \"end\": \"10:00\", "
		  "\"tz\": \"Mars/Olympus_Mons\"}]",
		  "params.windows[0].tz: time zone 'Mars/Olympus_Mons': cannot read" },
		{ "[{\"days\": \"*\", \"start\": \"09:00\", \"end\": \"10:00\", "
		  "\"tz\": \"../../etc/passwd\"}]", "is not a zone name" },
		{ "[{\"days\": \"*\", \"start\": \"09:00\", \"end\": \"10:00\", "
		  "\"tz\": 1}]", "params.windows[0].tz must be a time zone name" },
	};
	char err[300], big[4096];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_error_t je;
		json_t *arr = json_loads(bad[i].json, JSON_DECODE_ANY, &je);
		struct window_set *ws;

		err[0] = '\0';
		ws = window_parse(arr, NULL, err, sizeof(err));
		T_CHECK(ws == NULL && strstr(err, bad[i].want) != NULL,
		    "%s: got '%s', want '%s'", bad[i].json, err, bad[i].want);
		window_set_free(ws);
		json_decref(arr);
	}
	/* 33 windows */
	n += (size_t)snprintf(big, sizeof(big), "[");
	for (int i = 0; i < 33; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s{\"days\": "
		    "\"*\", \"start\": \"01:00\", \"end\": \"02:00\"}", i ? "," :
		    "");
	snprintf(big + n, sizeof(big) - n, "]");
	{
		json_error_t je;
		json_t *arr = json_loads(big, 0, &je);
		T_CHECK(arr != NULL && window_parse(arr, NULL, err,
		    sizeof(err)) == NULL && strstr(err, "1 to 32"), "%s", err);
		json_decref(arr);
	}
}

int main(void)
{
	test_table();
	test_text();
	test_refusals();
	return t_done("test_window");
}
