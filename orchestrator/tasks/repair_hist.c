/*
 * repair_hist.c - see repair_hist.h.  The scheduled step leaves one
 * progress record per segment (repair_par.c's seg_show: its ranges in the
 * phase, its state), and at its end every segment that was not repaired
 * has one; so the unrepaired ranges are read back from those records,
 * exactly, rather than from the step's message, which is cut short on a
 * long list.  A repair with parallelism 1 has per-node steps and no
 * records: its ranges stay unknown.  The outcome is the task's state
 * (a repair that left ranges unrepaired ends "partial").
 */
#include "repair_hist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../store/store.h"
#include "repair_par.h"

int repair_hist_phase_ranges(const char *phase, struct segsched_range **out,
    size_t *n)
{
	const char *p = phase;
	struct segsched_range *v = NULL;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (p == NULL || strncmp(p, "ranges ", 7) != 0)
		return -1;
	p += 7;
	while (*p == '(') {
		char *e;
		long long a, b;

		errno = 0;
		a = strtoll(p + 1, &e, 10);
		if (errno != 0 || e == p + 1 || *e != ',')
			goto bad;
		p = e + 1;
		b = strtoll(p, &e, 10);
		if (errno != 0 || e == p || *e != ']')
			goto bad;
		v = xrealloc(v, (k + 1) * sizeof(*v));
		v[k].start = (int64_t)a;
		v[k].end = (int64_t)b;
		k++;
		p = e + 1;
		if (*p == ' ')
			p++;
	}
	if (k == 0 || strncmp(p, "replicas ", 9) != 0)
		goto bad;
	*out = v;
	*n = k;
	return 0;
bad:
	free(v);
	return -1;
}

void repair_hist_of(const struct store_task_detail *d, struct repair_hist *h)
{
	const struct store_step *last = d->nsteps > 0 ?
	    &d->steps[d->nsteps - 1] : NULL;
	int par = -1;

	memset(h, 0, sizeof(*h));
	h->outcome = store_task_state_str(d->task.state);
	h->summary = d->task.error;
	if (last != NULL && last->message != NULL && h->summary == NULL)
		h->summary = last->message;
	for (size_t i = 0; i < d->nsteps; i++)
		if (strcmp(d->steps[i].name, REPAIR_PAR_STEP) == 0)
			par = d->steps[i].idx;
	h->scheduled = par >= 0;
	for (size_t i = 0; h->scheduled && i < d->nnodes; i++) {
		const struct store_step_node_row *r = &d->nodes[i];
		struct segsched_range *rs;
		size_t nr;

		if (r->idx != par || r->state == NULL ||
		    strncmp(r->node, "segment ", 8) != 0)
			continue;
		if (strcmp(r->state, "done") == 0) {
			h->done++;
			continue;
		}
		if (strcmp(r->state, "split") == 0) {
			h->split++;
			continue;
		}
		if (strcmp(r->state, "failed") == 0)
			h->failed++;
		else if (strcmp(r->state, "postponed") == 0)
			h->postponed++;
		else if (strcmp(r->state, "pending") == 0)
			h->pending++;
		else
			h->running++;
		if (repair_hist_phase_ranges(r->phase, &rs, &nr) != 0)
			continue;
		h->unrepaired = xrealloc(h->unrepaired, (h->nunrepaired + nr) *
		    sizeof(*h->unrepaired));
		memcpy(h->unrepaired + h->nunrepaired, rs, nr * sizeof(*rs));
		h->nunrepaired += nr;
		free(rs);
	}
	segsched_ranges_merge(h->unrepaired, &h->nunrepaired);
	/* Only a step that reached its end left a record for every segment
	 * (a cancelled or failed one has none for those never started). */
	h->unrepaired_known = h->scheduled &&
	    (d->task.state == STORE_TASK_SUCCEEDED ||
	    d->task.state == STORE_TASK_PARTIAL);
}

void repair_hist_release(struct repair_hist *h)
{
	if (h == NULL)
		return;
	free(h->unrepaired);
	h->unrepaired = NULL;
	h->nunrepaired = 0;
}

int repair_hist_phase_keyspace(const char *phase, char *out, size_t len)
{
	const char *p = phase ? strstr(phase, " replicas ") : NULL, *k, *e;
	size_t n;

	if (len > 0)
		out[0] = '\0';
	if (p == NULL || (k = strstr(p, " keyspace ")) == NULL)
		return -1;
	k += 10;
	e = strstr(k, " on ");
	n = e ? (size_t)(e - k) : strlen(k);
	if (n == 0 || n >= len || memchr(k, ' ', n) != NULL)
		return -1;
	memcpy(out, k, n);
	out[n] = '\0';
	return 0;
}

/* Add name to the set v[*n] unless it is there. */
static void set_add(char ***v, size_t *n, const char *name, size_t len)
{
	for (size_t i = 0; i < *n; i++)
		if (strlen((*v)[i]) == len && strncmp((*v)[i], name, len) == 0)
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xstrndup(name, len);
}

static bool set_has(char *const *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return true;
	return false;
}

/* The keyspaces a per-node step's summary names as repaired:
 * "[segment I/N ranges ...: ]repaired ks1 ks2: 4 sessions..." */
static void summary_keyspaces(const char *msg, char ***v, size_t *n)
{
	const char *p = msg ? strstr(msg, "repaired ") : NULL, *end;

	if (p == NULL || (p != msg && strncmp(p - 2, ": ", 2) != 0))
		return;
	p += 9;
	if (*p == '(')		/* "(keyspace not printed by nodetool)" */
		return;
	if ((end = strchr(p, ':')) == NULL)
		return;
	while (p < end) {
		size_t w = strcspn(p, " :");
		if (w > 0)
			set_add(v, n, p, w);
		p += w;
		while (*p == ' ')
			p++;
	}
}

size_t repair_hist_complete_keyspaces(const struct store_task_detail *d,
    char ***out)
{
	const char *ks = json_string_value(json_object_get(d->task.params,
	    "keyspace"));
	char **good = NULL, **bad = NULL, name[128];
	size_t ngood = 0, nbad = 0, k = 0;
	struct repair_hist h;
	bool partial;

	*out = NULL;
	/* partial: some keyspaces may still have been repaired completely */
	if (d->task.state != STORE_TASK_SUCCEEDED &&
	    d->task.state != STORE_TASK_PARTIAL)
		return 0;
	repair_hist_of(d, &h);
	partial = d->task.state == STORE_TASK_PARTIAL ||
	    strcmp(h.outcome, "partial") == 0;
	if (ks != NULL) {
		repair_hist_release(&h);
		if (partial)
			return 0;
		*out = xcalloc(1, sizeof(**out));
		(*out)[0] = xstrdup(ks);
		return 1;
	}
	if (!h.scheduled) {
		repair_hist_release(&h);
		if (partial)
			return 0;
		for (size_t i = 0; i < d->nsteps; i++)
			if (d->steps[i].node != NULL)
				summary_keyspaces(d->steps[i].message, out, &k);
		return k;
	}
	repair_hist_release(&h);
	for (size_t i = 0; i < d->nnodes; i++) {
		const struct store_step_node_row *r = &d->nodes[i];

		if (r->state == NULL || strncmp(r->node, "segment ", 8) != 0 ||
		    repair_hist_phase_keyspace(r->phase, name, sizeof(name)) != 0)
			continue;
		if (strcmp(r->state, "done") == 0 || strcmp(r->state, "split") == 0)
			set_add(&good, &ngood, name, strlen(name));
		else
			set_add(&bad, &nbad, name, strlen(name));
	}
	for (size_t i = 0; i < ngood; i++) {
		if (set_has(bad, nbad, good[i])) {
			free(good[i]);
			continue;
		}
		good[k++] = good[i];
	}
	for (size_t i = 0; i < nbad; i++)
		free(bad[i]);
	free(bad);
	if (k == 0) {
		free(good);
		good = NULL;
	}
	*out = good;
	return k;
}
