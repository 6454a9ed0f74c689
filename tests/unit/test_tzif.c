/*
 * test_tzif.c - the TZif reader (common/tzif.c) against the system's real
 * zone files: the DST switches of Europe/Berlin and America/New_York,
 * Australia/Lord_Howe's half-hour DST (southern hemisphere, so across the
 * new year), UTC and Asia/Kolkata, times before the first transition (local
 * mean time), inside the table, and past it (the footer's TZ string).  The
 * expected offsets were taken from Python's zoneinfo, a separate reader.
 * Then refusals: names that would leave the directory, files cut short,
 * version 1 files, footers that are not TZ strings.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/tzif.h"
#include "../../common/util.h"
#include "t.h"

struct off_case {
	const char *zone;
	int64_t t;
	int32_t off;
	bool dst;
};

static const struct off_case offs[] = {
	/* Berlin 2026: CEST from 01:00 UTC on the last Sunday of March */
	{ "Europe/Berlin", 1774745999, 3600, false },
	{ "Europe/Berlin", 1774746000, 7200, true },
	{ "Europe/Berlin", 1792889999, 7200, true },
	{ "Europe/Berlin", 1792890000, 3600, false },
	{ "Europe/Berlin", -5364662400LL, 3208, false },	/* 1800: LMT */
	{ "Europe/Berlin", -775872000, 10800, true },	/* 1945: CEMT */
	/* 2100: past every table, the footer's rule */
	{ "Europe/Berlin", 4109878799LL, 3600, false },
	{ "Europe/Berlin", 4109878800LL, 7200, true },
	{ "Europe/Berlin", 4128627600LL, 3600, false },
	{ "America/New_York", 1772953199, -18000, false },
	{ "America/New_York", 1772953200, -14400, true },
	{ "America/New_York", 1793512799, -14400, true },
	{ "America/New_York", 1793512800, -18000, false },
	{ "America/New_York", 2855865600LL, -14400, true },	/* 2060 */
	/* Lord Howe: +10:30, +11 in the southern summer */
	{ "Australia/Lord_Howe", 1775314799, 39600, true },
	{ "Australia/Lord_Howe", 1775314800, 37800, false },
	{ "Australia/Lord_Howe", 1791041399, 37800, false },
	{ "Australia/Lord_Howe", 1791041400, 39600, true },
	{ "Australia/Lord_Howe", 3471292800LL, 39600, true },	/* 2080-01 */
	{ "Australia/Lord_Howe", 3484425600LL, 37800, false },	/* 2080-06 */
	{ "UTC", 1796601600, 0, false },
	{ "UTC", -5364662400LL, 0, false },
	{ "Asia/Kolkata", 1796601600, 19800, false },
	{ "Asia/Kolkata", -2208988800LL, 19270, false },	/* 1900 */
};

static void test_offsets(void)
{
	char err[256];

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		struct tzif *z = tzif_load(NULL, offs[i].zone, err, sizeof(err));
		bool dst = !offs[i].dst;

		T_CHECK(z != NULL, "%s: %s", offs[i].zone, err);
		if (z == NULL)
			continue;
		T_CHECK(tzif_offset(z, offs[i].t, &dst) == offs[i].off &&
		    dst == offs[i].dst, "%s at %lld: got %d dst %d, want %d dst %d",
		    offs[i].zone, (long long)offs[i].t, tzif_offset(z, offs[i].t,
		    NULL), dst, offs[i].off, offs[i].dst);
		tzif_free(z);
	}
}

struct change_case {
	const char *zone;
	int64_t from, want;
};

static const struct change_case changes[] = {
	{ "Europe/Berlin", 1774000000, 1774746000 },
	{ "Europe/Berlin", 1774746000, 1792890000 },	/* strictly after */
	{ "Europe/Berlin", 4109000000LL, 4109878800LL },	/* by the rule */
	{ "America/New_York", 1793000000, 1793512800 },
	{ "Australia/Lord_Howe", 1775000000, 1775314800 },
	{ "Australia/Lord_Howe", 1775314800, 1791041400 },
	{ "Australia/Lord_Howe", 3484425600LL, 3495367800LL },	/* 2080-10 */
	{ "UTC", 1796601600, INT64_MAX },
	{ "Asia/Kolkata", 1796601600, INT64_MAX },
};

static void test_changes(void)
{
	char err[256];

	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		struct tzif *z = tzif_load(NULL, changes[i].zone, err,
		    sizeof(err));

		T_CHECK(z != NULL, "%s: %s", changes[i].zone, err);
		if (z == NULL)
			continue;
		T_CHECK(tzif_next_change(z, changes[i].from) == changes[i].want,
		    "%s after %lld: got %lld, want %lld", changes[i].zone,
		    (long long)changes[i].from,
		    (long long)tzif_next_change(z, changes[i].from),
		    (long long)changes[i].want);
		tzif_free(z);
	}
}

static void test_civil(void)
{
	static const struct { int64_t y; unsigned m, d; int64_t days;
	    unsigned wd; } rows[] = {
		{ 1970, 1, 1, 0, 4 },
		{ 2026, 12, 7, 20794, 1 },	/* a Monday */
		{ 2000, 2, 29, 11016, 2 },
		{ 1969, 12, 31, -1, 3 },
		{ 1800, 1, 1, -62091, 3 },
		{ 2100, 3, 1, 47541, 1 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int64_t y;
		unsigned m, d;

		T_EQ_INT(tzif_days_from_civil(rows[i].y, rows[i].m, rows[i].d),
		    rows[i].days);
		tzif_civil_from_days(rows[i].days, &y, &m, &d);
		T_CHECK(y == rows[i].y && m == rows[i].m && d == rows[i].d,
		    "day %lld: got %lld-%u-%u", (long long)rows[i].days,
		    (long long)y, m, d);
		T_EQ_INT(tzif_weekday(rows[i].days), rows[i].wd);
	}
}

static void test_names(void)
{
	static const struct { const char *name; bool ok; } rows[] = {
		{ "Europe/Berlin", true }, { "UTC", true },
		{ "America/Argentina/Buenos_Aires", true }, { "Etc/GMT+5", true },
		{ "", false }, { "/etc/passwd", false }, { "../../etc/passwd", false },
		{ "Europe/../UTC", false }, { "Europe//Berlin", false },
		{ "Europe/Berlin/", false }, { ".", false }, { "Europe/ Berlin", false },
		{ "Europe/Berlin;rm", false },
		{ "A234567890123456789012345678901234567890123456789012345678901234X",
		  false },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		T_CHECK(tzif_name_ok(rows[i].name) == rows[i].ok, "'%s'",
		    rows[i].name);
	T_CHECK(tzif_load(NULL, "Mars/Olympus_Mons", err, sizeof(err)) == NULL &&
	    strstr(err, "Mars/Olympus_Mons") != NULL && strstr(err, "tzdata"),
	    "%s", err);
	T_CHECK(tzif_load(NULL, "../etc/passwd", err, sizeof(err)) == NULL &&
	    strstr(err, "not a zone name") != NULL, "%s", err);
	/* a directory, or a file that is not TZif */
	T_CHECK(tzif_load(NULL, "Europe", err, sizeof(err)) == NULL, "%s", err);
	T_CHECK(tzif_load("/etc", "hostname", err, sizeof(err)) == NULL &&
	    strstr(err, "not a TZif") != NULL, "%s", err);
}

static void test_refusals(void)
{
	unsigned char *buf, *cp;
	size_t len = 0, bad = 0;
	struct tzif *z;
	char err[256];

	buf = (unsigned char *)file_read_all(TZIF_DIR "/Europe/Berlin",
	    1 << 20, &len);
	T_CHECK(buf != NULL && len > 100, "cannot read Berlin");
	if (buf == NULL)
		return;
	/* every cut inside the data is refused, never read past */
	for (size_t n = 0; n < len; n++) {
		cp = xmalloc(n + 1);
		memcpy(cp, buf, n);
		z = tzif_parse(cp, n, err, sizeof(err));
		/* a cut inside the footer's last line is refused too; only the
		 * whole file parses */
		if (z != NULL)
			bad++;
		tzif_free(z);
		free(cp);
	}
	T_EQ_INT(bad, 0);
	z = tzif_parse(buf, len, err, sizeof(err));
	T_CHECK(z != NULL, "%s", err);
	tzif_free(z);
	/* version 1 */
	cp = xmalloc(len);
	memcpy(cp, buf, len);
	cp[4] = 0;
	T_CHECK(tzif_parse(cp, len, err, sizeof(err)) == NULL &&
	    strstr(err, "version 1") != NULL, "%s", err);
	/* a footer that is not a TZ string */
	memcpy(cp, buf, len);
	memcpy(cp + len - 12, "XX?", 3);
	T_CHECK(tzif_parse(cp, len, err, sizeof(err)) == NULL &&
	    strstr(err, "footer") != NULL, "%s", err);
	/* a transition naming a type that does not exist */
	memcpy(cp, buf, len);
	cp[0] = 'X';
	T_CHECK(tzif_parse(cp, len, err, sizeof(err)) == NULL, "bad magic");
	free(cp);
	free(buf);
}

int main(void)
{
	test_offsets();
	test_changes();
	test_civil();
	test_names();
	test_refusals();
	return t_done("test_tzif");
}
