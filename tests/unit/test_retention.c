/*
 * test_retention.c - which backups a retention policy drops
 * (bk_retention_pick(), orchestrator/tasks/purge.c): keep_last, keep_days,
 * incomplete backups ignored, the newest kept, and the newest whole
 * backup kept when newer ones are partial (nodes left out while down).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../../orchestrator/tasks/bk.h"
#include "t.h"

/* now: 2026-12-10T00:00:00Z */
#define NOW_MS 1796860800000LL

struct row {
	const char *policy;
	const char *backups;	/* oldest first: "<day><c|i|p>" words:
				   complete, incomplete, partial (missing) */
	const char *want;	/* dropped ids' days, newest first, "" none */
};

static const struct row rows[] = {
	{ "{\"keep_last\":2}", "01c 02c 03c 04c", "02 01" },
	{ "{\"keep_last\":1}", "01c 02c", "01" },
	{ "{\"keep_last\":0}", "01c 02c", "01" },		/* the newest stays */
	{ "{\"keep_last\":2}", "01c 02i 03c 04i", "" },		/* incomplete: not counted */
	{ "{\"keep_days\":3}", "01c 05c 08c 09c", "05 01" },
	{ "{}", "01c 02c", "" },				/* no rule: keep all */
	/* the newest whole backup survives a run of partial ones */
	{ "{\"keep_last\":1}", "01c 02c 03p", "01" },
	{ "{\"keep_last\":2}", "01c 02p 03p 04p", "02" },
	{ "{\"keep_days\":1}", "01c 02p 09p", "02" },
	{ "{\"keep_last\":1}", "01p 02p", "01" },		/* none whole: newest */
};

static void fill(const char *spec, struct bk_list *l)
{
	char *s = xstrdup(spec), *save = NULL;

	memset(l, 0, sizeof(*l));
	for (char *w = strtok_r(s, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		struct bk_ent *e;
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		e = &l->v[l->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->id, sizeof(e->id), "202612%.2sT000000Z-0a", w);
		e->complete = w[2] != 'i';
		e->missing = w[2] == 'p';
	}
	free(s);
}

int main(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		json_t *pol = json_loads(rows[i].policy, 0, NULL);
		struct bk_list l;
		char **out = NULL, got[256] = "";
		size_t n = 0, off = 0;

		fill(rows[i].backups, &l);
		bk_retention_pick(pol, &l, NOW_MS, &out, &n);
		for (size_t k = 0; k < n; k++)
			off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%.2s",
			    k ? " " : "", out[k] + 6);
		T_CHECK(strcmp(got, rows[i].want) == 0, "row %zu (%s, %s): "
		    "dropped '%s', want '%s'", i, rows[i].policy,
		    rows[i].backups, got, rows[i].want);
		bk_strv_free(out, n);
		free(l.v);
		json_decref(pol);
	}
	return t_done("test_retention");
}
