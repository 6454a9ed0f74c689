/*
 * fuzz_cron.c - schedule expressions come from API bodies
 * (orchestrator/engine/cron.h).  A refused one says why; an accepted one
 * gives next runs that are whole minutes strictly after the time asked,
 * and never go backwards.
 */
#include "../../orchestrator/engine/cron.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* From the epoch, from now-ish, from the end of a leap year. */
	static const int64_t from[] = { 0, 1780000000, 1861919999 };
	char *s = fuzz_cstr(data, size), err[256] = "";
	struct cron *c = cron_parse(s, err, sizeof(err));
	size_t i;

	FUZZ_ASSERT((c != NULL) == cron_valid(s, NULL, 0),
	    "cron_parse and cron_valid disagree on '%.80s'", s);
	if (c == NULL) {
		FUZZ_ASSERT(err[0] != '\0', "'%.80s' refused silently", s);
		free(s);
		return 0;
	}
	for (i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		int64_t t = cron_next(c, from[i]), u;

		if (t == -1)
			continue;
		FUZZ_ASSERT(t > from[i] && t % 60 == 0,
		    "'%.80s' after %lld gave %lld", s, (long long)from[i],
		    (long long)t);
		u = cron_next(c, t);
		FUZZ_ASSERT(u == -1 || u > t, "'%.80s' went back: %lld after %lld",
		    s, (long long)u, (long long)t);
	}
	cron_free(c);
	free(s);
	return 0;
}
