/*
 * autoscale_sim.c - `ringmaster autoscale-sim` (see autoscale_sim.h).
 *
 * The clock is virtual: the replay calls autoscale_decide() at every
 * interval of trace time, so an hour of trace takes milliseconds and the
 * same trace always prints the same decisions.
 */
#include "autoscale_sim.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"

/* The largest trace file we read. */
#define TRACE_MAX_BYTES (64u << 20)

static int parse_time(const char *w, int64_t *ms)
{
	const char *p = w;

	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '\0' && p != w && p - w <= 12) {
		*ms = strtoll(w, NULL, 10) * 1000;
		return 0;
	}
	return duration_parse_ms(w, ms);
}

int autoscale_sim_parse(const char *text, const char *name,
    struct autoscale_sim_sample **out, size_t *n, char *err, size_t errlen)
{
	struct autoscale_sim_sample *s = NULL;
	size_t len = 0, cap = 0, lineno = 0;
	const char *line = text;

	*out = NULL;
	*n = 0;
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t ll = nl ? (size_t)(nl - line) : strlen(line);
		char buf[256], *w1, *w2, *w3, *save = NULL, *end;
		int64_t t;
		double d;

		lineno++;
		if (ll >= sizeof(buf)) {
			err_set(err, errlen, "%s:%zu: line is longer than %zu "
			    "bytes: one sample a line, a time and a demand",
			    name, lineno, sizeof(buf) - 1);
			goto fail;
		}
		memcpy(buf, line, ll);
		buf[ll] = '\0';
		line += ll + (nl != NULL);
		if ((end = strchr(buf, '#')) != NULL)
			*end = '\0';
		w1 = strtok_r(buf, " \t\r", &save);
		if (w1 == NULL)
			continue;
		w2 = strtok_r(NULL, " \t\r", &save);
		w3 = strtok_r(NULL, " \t\r", &save);
		if (w2 == NULL || w3 != NULL) {
			err_set(err, errlen, "%s:%zu: expected a time and a "
			    "demand (\"10m 12000\"), got %s words", name,
			    lineno, w2 == NULL ? "one of" : "more");
			goto fail;
		}
		if (parse_time(w1, &t) < 0) {
			err_set(err, errlen, "%s:%zu: time '%s' is not a "
			    "duration: give seconds or one unit (\"90s\", "
			    "\"15m\", \"2h\")", name, lineno, w1);
			goto fail;
		}
		errno = 0;
		d = strtod(w2, &end);
		if (errno != 0 || *end != '\0' || !isfinite(d) || d < 0 ||
		    !(isdigit((unsigned char)w2[0]) || w2[0] == '.')) {
			err_set(err, errlen, "%s:%zu: demand '%s' is not a "
			    "rate: give ops/s, 0 or more", name, lineno, w2);
			goto fail;
		}
		if (len > 0 && t <= s[len - 1].t_ms) {
			err_set(err, errlen, "%s:%zu: time '%s' is not after "
			    "the previous sample's %llds: samples go in time "
			    "order", name, lineno, w1,
			    (long long)(s[len - 1].t_ms / 1000));
			goto fail;
		}
		if (len == AUTOSCALE_SIM_MAX_SAMPLES) {
			err_set(err, errlen, "%s:%zu: more than %d samples",
			    name, lineno, AUTOSCALE_SIM_MAX_SAMPLES);
			goto fail;
		}
		if (len == cap) {
			cap = cap ? cap * 2 : 64;
			s = xrealloc(s, cap * sizeof(*s));
		}
		s[len].t_ms = t;
		s[len].demand = d;
		len++;
	}
	if (len == 0) {
		err_set(err, errlen, "%s: no samples: give one a line, a time "
		    "and a demand (\"10m 12000\")", name);
		goto fail;
	}
	*out = s;
	*n = len;
	return 0;
fail:
	free(s);
	return -1;
}

double autoscale_sim_demand(const struct autoscale_sim_sample *s, size_t n,
    int64_t t_ms)
{
	size_t lo = 0, hi = n - 1;

	if (t_ms <= s[0].t_ms)
		return s[0].demand;
	if (t_ms >= s[n - 1].t_ms)
		return s[n - 1].demand;
	/* s[lo].t_ms < t_ms < s[hi].t_ms */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (s[mid].t_ms <= t_ms)
			lo = mid;
		else
			hi = mid;
	}
	return s[lo].demand + (s[hi].demand - s[lo].demand) *
	    (double)(t_ms - s[lo].t_ms) / (double)(s[hi].t_ms - s[lo].t_ms);
}

int autoscale_sim_run(const struct autoscale_policy *pol,
    const struct autoscale_sim_sample *s, size_t n, int64_t interval_ms,
    struct autoscale_sim_row **rows, size_t *nrows, char *err, size_t errlen)
{
	struct autoscale_state st;
	struct autoscale_sim_row *r;
	size_t len = 1, cap = 64;
	char a[24], b[24];

	*rows = NULL;
	*nrows = 0;
	if (autoscale_policy_check(pol, err, errlen) < 0)
		return -1;
	if (interval_ms < 1 || n < 1) {
		err_set(err, errlen, "interval %lld ms over %zu samples: give "
		    "an interval of 1 ms or more and a sample",
		    (long long)interval_ms, n);
		return -1;
	}
	autoscale_state_init(pol, &st, s[0].t_ms);
	r = xcalloc(cap, sizeof(*r));
	r[0].t_ms = s[0].t_ms;
	r[0].demand = s[0].demand;
	r[0].d.services = st.services;
	r[0].d.limit = st.limit;
	r[0].d.capacity = autoscale_capacity(&st);
	autoscale_fmt_ops(st.limit, a, sizeof(a));
	autoscale_fmt_ops(r[0].d.capacity, b, sizeof(b));
	snprintf(r[0].d.why, sizeof(r[0].d.why), "start: %u services x %s "
	    "= %s", st.services, a, b);
	for (int64_t t = s[0].t_ms + interval_ms; t <= s[n - 1].t_ms;
	    t += interval_ms) {
		struct autoscale_sim_row row = { .t_ms = t };

		row.demand = autoscale_sim_demand(s, n, t);
		if (autoscale_decide(pol, &st, row.demand, t, &st, &row.d, err,
		    errlen) < 0) {
			free(r);
			return -1;
		}
		if (row.d.action == AUTOSCALE_NONE)
			continue;
		if (len == cap) {
			cap *= 2;
			r = xrealloc(r, cap * sizeof(*r));
		}
		r[len++] = row;
	}
	*rows = r;
	*nrows = len;
	return 0;
}

static void usage(FILE *fp)
{
	fprintf(fp, "usage: ringmaster autoscale-sim --trace FILE [--json] "
	    "[--interval DURATION]\n"
	    "  --trace     demand samples, one a line: a time and ops/s\n"
	    "  --json      the decisions as JSON instead of a table\n"
	    "  --interval  how often the controller decides [10s]\n");
}

static void print_table(const struct autoscale_sim_row *r, size_t n)
{
	printf("%8s  %9s  %-6s  %8s  %9s  %9s  %s\n", "time", "demand",
	    "action", "services", "limit", "capacity", "why");
	for (size_t i = 0; i < n; i++) {
		char t[24], dem[24], lim[24], cap[24];

		duration_human(r[i].t_ms / 1000, DURATION_TIGHT, t, sizeof(t));
		autoscale_fmt_ops(r[i].demand, dem, sizeof(dem));
		autoscale_fmt_ops(r[i].d.limit, lim, sizeof(lim));
		autoscale_fmt_ops(r[i].d.capacity, cap, sizeof(cap));
		printf("%8s  %9s  %-6s  %8u  %9s  %9s  %s\n", t, dem,
		    i == 0 ? "start" : autoscale_action_name(r[i].d.action),
		    r[i].d.services, lim, cap, r[i].d.why);
	}
}

static int print_json(const struct autoscale_sim_row *r, size_t n,
    int64_t interval_ms)
{
	json_t *root = json_object(), *arr = json_array();
	char *s;

	json_object_set_new(root, "interval_s",
	    json_integer(interval_ms / 1000));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:f, s:I, s:s, s:i, "
		    "s:I, s:I, s:s}", "t_s", (double)r[i].t_ms / 1000.0,
		    "demand", (json_int_t)llround(r[i].demand), "action",
		    i == 0 ? "start" : autoscale_action_name(r[i].d.action),
		    "services", (int)r[i].d.services, "limit",
		    (json_int_t)llround(r[i].d.limit), "capacity",
		    (json_int_t)llround(r[i].d.capacity), "why",
		    r[i].d.why));
	json_object_set_new(root, "decisions", arr);
	s = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (s == NULL)
		return -1;
	printf("%s\n", s);
	free(s);
	return 0;
}

int autoscale_sim_main(int argc, char **argv)
{
	const char *trace = NULL;
	bool json = false;
	int64_t interval_ms = 10000;
	struct autoscale_policy pol;
	struct autoscale_sim_sample *s = NULL;
	struct autoscale_sim_row *rows = NULL;
	size_t n, nrows, len;
	char err[512], *text;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--trace") == 0 && i + 1 < argc) {
			trace = argv[++i];
		} else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
			if (duration_parse_ms(argv[++i], &interval_ms) < 0 ||
			    interval_ms < 1) {
				fprintf(stderr, "ringmaster: autoscale-sim: "
				    "interval '%s' is not a duration: give "
				    "one like \"10s\"\n", argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "ringmaster: autoscale-sim: unknown or "
			    "incomplete argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (trace == NULL) {
		fprintf(stderr, "ringmaster: autoscale-sim: no trace: give "
		    "--trace FILE\n");
		usage(stderr);
		return 2;
	}
	if ((text = file_read_all(trace, TRACE_MAX_BYTES, &len)) == NULL) {
		fprintf(stderr, "ringmaster: autoscale-sim: cannot read '%s': "
		    "%s\n", trace, strerror(errno));
		return 1;
	}
	autoscale_policy_default(&pol);
	if (autoscale_sim_parse(text, trace, &s, &n, err, sizeof(err)) < 0 ||
	    autoscale_sim_run(&pol, s, n, interval_ms, &rows, &nrows, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "ringmaster: autoscale-sim: %s\n", err);
		goto out;
	}
	if (json) {
		if (print_json(rows, nrows, interval_ms) < 0) {
			fprintf(stderr, "ringmaster: autoscale-sim: cannot "
			    "write JSON\n");
			goto out;
		}
	} else
		print_table(rows, nrows);
	rc = 0;
out:
	free(rows);
	free(s);
	free(text);
	return rc;
}
