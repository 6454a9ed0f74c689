/*
 * fuzz_heartbeat_answer.c - a heartbeat answer as it comes from whatever
 * answers at the orchestrator's URL (agent/heartbeat.h): its seeds and,
 * here above all, its tenants list, which becomes the limits file a hook
 * hands to the node's rate limiter.
 *
 * Checks: a refused answer says why and keeps nothing; an accepted list
 * has a positive generation, at most TENANTS_MAX tenants sorted by name
 * with no name twice, each with exactly one of a prefix and 1 to
 * TENANTS_MAX_KEYSPACES sorted, distinct keyspaces, names of the allowed
 * characters only, and a limit that is 0 (not served) or positive; a
 * demand interval is within its clamp.
 */
#include <stdbool.h>

#include "../../agent/heartbeat.h"
#include "../../agent/tenants.h"
#include "fuzz.h"

static bool only(const char *s, bool dash)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || (dash && *s == '-')))
			return false;
	return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct heartbeat_answer a;
	char err[512] = "";
	const struct tenants *ts;

	if (heartbeat_parse_answer((const char *)data, size, &a, err,
	    sizeof(err)) != 0) {
		FUZZ_ASSERT(err[0] != '\0', "refused silently");
		FUZZ_ASSERT(a.tenants == NULL && a.seeds == NULL, "kept a part");
		heartbeat_answer_release(&a);
		return 0;
	}
	FUZZ_ASSERT(a.demand_interval_ms == 0 || (a.demand_interval_ms >= 1000 &&
	    a.demand_interval_ms <= 86400000LL), "interval %lld",
	    (long long)a.demand_interval_ms);
	ts = a.tenants;
	if (ts != NULL) {
		FUZZ_ASSERT(ts->gen > 0 && a.tenants_gen == ts->gen, "gen");
		FUZZ_ASSERT(ts->n <= TENANTS_MAX, "%zu tenants", ts->n);
		for (size_t i = 0; i < ts->n; i++) {
			const struct tenant *t = &ts->t[i];
			FUZZ_ASSERT(t->name[0] && strlen(t->name) <= 64 &&
			    only(t->name, true), "name");
			FUZZ_ASSERT(i == 0 || strcmp(ts->t[i - 1].name, t->name) < 0,
			    "not sorted or twice: %s", t->name);
			FUZZ_ASSERT((t->prefix != NULL) != (t->n_keyspaces > 0),
			    "%s: prefix and keyspaces", t->name);
			FUZZ_ASSERT(t->prefix == NULL || (t->prefix[0] &&
			    strlen(t->prefix) <= 48 && only(t->prefix, false)),
			    "%s: prefix", t->name);
			FUZZ_ASSERT(t->n_keyspaces <= TENANTS_MAX_KEYSPACES, "%s",
			    t->name);
			for (size_t k = 0; k < t->n_keyspaces; k++) {
				FUZZ_ASSERT(t->keyspaces[k][0] &&
				    strlen(t->keyspaces[k]) <= 48 &&
				    only(t->keyspaces[k], false), "keyspace");
				FUZZ_ASSERT(k == 0 || strcmp(t->keyspaces[k - 1],
				    t->keyspaces[k]) < 0, "keyspaces order");
				FUZZ_ASSERT(tenants_match(t, t->keyspaces[k]),
				    "its own keyspace does not match");
			}
			FUZZ_ASSERT(t->limit >= 0, "limit");
		}
	}
	heartbeat_answer_release(&a);
	return 0;
}
