/*
 * autoscale_sim.h - `ringmaster autoscale-sim`: a demand trace replayed on
 * a virtual clock through the autoscaler (autoscale.c), each decision
 * printed.  No configuration, no store, no network.
 *
 * A trace is text, one sample a line: a time and a demand in ops/s.
 *
 *	# Figure 5.1
 *	0s	3000
 *	10m	12000
 *	900	15000.5
 *
 * A time is a duration in one unit ("90s", "15m", "2h"; not "1h30m") or a
 * bare number of seconds.  Times go up strictly; between samples the demand is a straight line.
 * '#' starts a comment; blank lines are skipped.
 */
#ifndef RM_AUTOSCALE_SIM_H
#define RM_AUTOSCALE_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "autoscale.h"

/* The most samples a trace may hold. */
#define AUTOSCALE_SIM_MAX_SAMPLES 1000000

struct autoscale_sim_sample {
	int64_t t_ms;
	double demand;
};

/*
 * Parse a trace (text, NUL-terminated; name is for messages).  *out gets
 * a new array (free() it) of *n >= 1 samples.  -1 with err ("fig.trace:7:
 * demand '-3' is not a rate: give ops/s, 0 or more") and nothing allocated
 * on any bad line.
 */
int autoscale_sim_parse(const char *text, const char *name,
    struct autoscale_sim_sample **out, size_t *n, char *err, size_t errlen);

/* The demand at t_ms: the line between the samples around it, the first
 * or last sample's outside them. */
double autoscale_sim_demand(const struct autoscale_sim_sample *s, size_t n,
    int64_t t_ms);

struct autoscale_sim_row {
	int64_t t_ms;
	double demand;
	struct autoscale_decision d;	/* the first row: action none, "start" */
};

/*
 * Replay: the controller runs every interval_ms from the first sample's
 * time to the last's; *rows gets a new array (free() it) of the start and
 * every decision other than none.  -1 with err when the policy is bad or
 * interval_ms < 1.
 */
int autoscale_sim_run(const struct autoscale_policy *pol,
    const struct autoscale_sim_sample *s, size_t n, int64_t interval_ms,
    struct autoscale_sim_row **rows, size_t *nrows, char *err, size_t errlen);

/* The command: argv[0] is "autoscale-sim".  Returns the exit status (0;
 * 1 when the trace cannot be read or is bad; 2 for a usage error). */
int autoscale_sim_main(int argc, char **argv);

#endif
