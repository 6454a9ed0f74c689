/*
 * tenants.h - the tenants a heartbeat answer names for this node, and
 * their demand measured from `nodetool tablestats` (docs/tenants.md,
 * "Demand and limits on the node").
 *
 * The orchestrator sends the list with a generation (tenants_gen) only when
 * it changed; the agent holds one list at a time.  Demand is the increase
 * of each keyspace's Read Count + Write Count between two samples divided
 * by the seconds between them, summed over a tenant's keyspaces (by name,
 * or every keyspace starting with its prefix).  Those counters count since
 * Cassandra started, so a counter that went down means a restart: the
 * tenants that hold such a keyspace get no value that round and the new
 * sample is the baseline.
 *
 * Ownership: tenants_parse() gives a new struct tenants the caller frees
 * with tenants_free() (accepts NULL); every string in it belongs to it.
 * struct tenants_demand holds its baseline and is released with
 * tenants_demand_release().
 */
#ifndef RM_TENANTS_H
#define RM_TENANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct nodetool_tablestats;

#define TENANTS_MAX 1000
#define TENANTS_MAX_KEYSPACES 64
#define TENANTS_KEYSPACE_MAX_LEN 48	/* Cassandra's limit on a keyspace name */

struct tenant {
	char *name;
	char *prefix;			/* by prefix; NULL: by keyspaces */
	char **keyspaces;		/* by name, sorted; none with a prefix */
	size_t n_keyspaces;
	int64_t limit;			/* per-service ops/s here; 0: not served here */
};

struct tenants {
	int64_t gen;			/* > 0 */
	struct tenant *t;		/* sorted by name */
	size_t n;
};

/*
 * Parse the answer's "tenants" list for generation gen: 0 with *out set, or
 * -1 with *out NULL and why in err ("tenants[3].keyspaces[0]: 'a b' is not
 * a keyspace name ...").  A list with any bad item is refused whole.
 * Members this agent does not know are ignored.
 */
int tenants_parse(const json_t *list, int64_t gen, struct tenants **out,
    char *err, size_t errlen);
void tenants_free(struct tenants *ts);
/* Whether keyspace belongs to t (by name, or starting with its prefix). */
bool tenants_match(const struct tenant *t, const char *keyspace);
/* How many tenants this node serves (a limit is given). */
size_t tenants_served(const struct tenants *ts);

/* One keyspace's Read Count + Write Count in a sample; -1: not printed. */
struct tenants_count {
	char *keyspace;
	int64_t ops;
};

struct tenants_demand {
	bool have_base;
	int64_t base_ms;		/* monotonic time of the baseline */
	struct tenants_count *base;	/* sorted by keyspace */
	size_t n_base;
};

/*
 * Take the sample st read at now_ms (monotonic).  The first sample (or the
 * first after tenants_demand_reset()) only sets the baseline: NULL.  Else a
 * new {"window_s": s, "ops": {"t1": 12.5, ...}} for the tenants of ts whose
 * rate could be measured (none measured: NULL); either way st becomes the
 * baseline.
 */
json_t *tenants_demand_sample(struct tenants_demand *d,
    const struct tenants *ts, const struct nodetool_tablestats *st,
    int64_t now_ms);
/* Forget the baseline: the next sample sets it again. */
void tenants_demand_reset(struct tenants_demand *d);
void tenants_demand_release(struct tenants_demand *d);

#endif
