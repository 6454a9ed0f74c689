/*
 * repair_resume.c - see repair_resume.h.
 *
 * Why the finished ranges and not the unrepaired ones: a cancelled or
 * failed task has records only for the segments that started or waited
 * (the rest never ran and left none), while every segment that was
 * repaired always has its "done" record.  So the new task plans the ring
 * as any repair does and leaves out what was done: for a partial task the
 * result is exactly its unrepaired ranges, and for a cancelled one it
 * includes the segments it never reached.
 */
#include "repair_resume.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../err.h"
#include "../store/store.h"
#include "repair_hist.h"
#include "repair_par.h"

#define CHAIN_MAX 32

/* A table param as an array (a name alone is an array of one); a new
 * reference. */
static json_t *tables_of(const json_t *t)
{
	if (json_is_string(t))
		return json_pack("[s]", json_string_value(t));
	return t != NULL ? json_deep_copy(t) : json_null();
}

static bool same_param(const json_t *old, const json_t *given,
    const char *key)
{
	const json_t *a = json_object_get(old, key);
	const json_t *b = json_object_get(given, key);
	bool same;

	if (strcmp(key, "full") == 0)	/* absent is true */
		return json_is_false(a) == json_is_false(b);
	if (strcmp(key, "table") == 0) {
		json_t *x = tables_of(a), *y = tables_of(b);
		same = json_equal(x, y) || (json_is_null(x) && json_is_null(y));
		json_decref(x);
		json_decref(y);
		return same;
	}
	return (a == NULL && b == NULL) || (a != NULL && b != NULL &&
	    json_equal(a, b));
}

int repair_resume_check(const struct store_task_detail *old,
    const char *cluster, json_t *params, char *err, size_t errlen)
{
	static const char *const keep[] = { "keyspace", "table", "full" };
	const struct store_task_row *t = &old->task;
	const json_t *op = t->params;
	bool ran = false;

	if (strcmp(t->cluster, cluster) != 0) {
		snprintf(err, errlen, "params.resume: task '%s' is a task of "
		    "cluster '%s', not '%s': resume a repair of this cluster",
		    t->id, t->cluster, cluster);
		return RM_EINVAL;
	}
	if (strcmp(t->type, "repair") != 0) {
		snprintf(err, errlen, "params.resume: task '%s' is a %s, not a "
		    "repair: name a repair task", t->id, t->type);
		return RM_EINVAL;
	}
	if (!store_task_state_terminal(t->state)) {
		snprintf(err, errlen, "params.resume: repair '%s' is still %s: "
		    "wait for it to end, or cancel it, then resume it", t->id,
		    store_task_state_str(t->state));
		return RM_ECONFLICT;
	}
	if (t->state == STORE_TASK_SUCCEEDED) {
		snprintf(err, errlen, "params.resume: repair '%s' succeeded: "
		    "every range was repaired, nothing is left to resume; "
		    "submit a new repair to repair again", t->id);
		return RM_ECONFLICT;
	}
	for (size_t i = 0; i < old->nsteps; i++)
		if (strcmp(old->steps[i].name, REPAIR_PAR_STEP) == 0 &&
		    old->steps[i].attempts > 0)
			ran = true;
	if (!ran) {
		snprintf(err, errlen, "params.resume: repair '%s' never ran the "
		    "segment scheduler (parallelism 1, or it ended before its "
		    "'%s' step started), so it has no segment records to "
		    "resume from: submit a new repair", t->id, REPAIR_PAR_STEP);
		return RM_EINVAL;
	}
	/* The segment records hold ranges, not keyspaces: what a repair of
	 * every keyspace did differs by keyspace. */
	if (json_object_get(op, "keyspace") == NULL) {
		snprintf(err, errlen, "params.resume: repair '%s' repaired every "
		    "keyspace, and a resume can only take up a repair of one "
		    "(params.keyspace): submit a new repair, or one per keyspace",
		    t->id);
		return RM_EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		if (json_object_get(params, keep[i]) == NULL ||
		    same_param(op, params, keep[i]))
			continue;
		snprintf(err, errlen, "params.resume: params.%s differs from "
		    "the resumed repair '%s''s: a resume repairs what that "
		    "repair left; leave params.%s out, or submit a new repair",
		    keep[i], t->id, keep[i]);
		return RM_EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		json_t *v = json_object_get(op, keep[i]);
		if (v != NULL)
			json_object_set(params, keep[i], v);
	}
	if (json_object_get(params, "parallelism") == NULL &&
	    json_object_get(op, "parallelism") != NULL)
		json_object_set(params, "parallelism",
		    json_object_get(op, "parallelism"));
	return 0;
}

void repair_resume_done_of(const struct store_task_detail *d,
    struct segsched_range **out, size_t *n)
{
	int par = -1;

	for (size_t i = 0; i < d->nsteps; i++)
		if (strcmp(d->steps[i].name, REPAIR_PAR_STEP) == 0)
			par = d->steps[i].idx;
	for (size_t i = 0; par >= 0 && i < d->nnodes; i++) {
		const struct store_step_node_row *r = &d->nodes[i];
		struct segsched_range *rs;
		size_t nr;

		if (r->idx != par || r->state == NULL ||
		    strcmp(r->state, "done") != 0 ||
		    strncmp(r->node, "segment ", 8) != 0 ||
		    repair_hist_phase_ranges(r->phase, &rs, &nr) != 0)
			continue;
		*out = xrealloc(*out, (*n + nr) * sizeof(**out));
		memcpy(*out + *n, rs, nr * sizeof(*rs));
		*n += nr;
		free(rs);
	}
	segsched_ranges_merge(*out, n);
}

int repair_resume_done_ranges(struct store *st, const char *id,
    struct segsched_range **out, size_t *n, char *err, size_t errlen)
{
	char cur[STORE_ID_MAX];

	*out = NULL;
	*n = 0;
	str_copy(cur, id, sizeof(cur));
	for (int depth = 0; cur[0] != '\0' && depth < CHAIN_MAX; depth++) {
		struct store_task_detail d;
		const char *next;

		if (store_task_get(st, cur, &d) != 0) {
			store_task_detail_release(&d);
			snprintf(err, errlen, "cannot read repair '%s', whose "
			    "finished ranges this resume leaves out: it was "
			    "deleted, or see the ringmaster log; submit a new "
			    "repair", cur);
			free(*out);
			*out = NULL;
			*n = 0;
			return -1;
		}
		repair_resume_done_of(&d, out, n);
		next = json_string_value(json_object_get(d.task.params,
		    "resume"));
		str_copy(cur, next != NULL ? next : "", sizeof(cur));
		store_task_detail_release(&d);
	}
	return 0;
}

/* uint64 -> int64 modulo 2^64 without implementation-defined casts. */
static int64_t u2i(uint64_t u)
{
	if (u <= (uint64_t)INT64_MAX)
		return (int64_t)u;
	return -(int64_t)(UINT64_MAX - u) - 1;
}

/* Offsets from the piece's start: token start + x is offset x, so the
 * piece is offsets 1..w and a done range (a, b] covers a+1..b, mod 2^64. */
struct span {
	uint64_t lo, hi;		/* inclusive */
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

size_t repair_resume_subtract(struct segsched_range piece,
    const struct segsched_range *done, size_t ndone,
    struct segsched_range **out)
{
	uint64_t ps = (uint64_t)piece.start, w = segsched_range_width(piece);
	struct span *cov = xcalloc(2 * ndone + 1, sizeof(*cov));
	size_t nc = 0, k = 0;
	uint64_t at = 1;		/* the first offset not yet covered */

	*out = NULL;
	for (size_t i = 0; i < ndone; i++) {
		uint64_t a = (uint64_t)done[i].start - ps;
		uint64_t b = (uint64_t)done[i].end - ps;

		if (a == b) {			/* the whole ring */
			cov[nc++] = (struct span){ 1, UINT64_MAX };
			continue;
		}
		if (a < b) {
			cov[nc++] = (struct span){ a + 1, b };
			continue;
		}
		/* wraps past the piece's start: a+1..max and 1..b */
		if (a != UINT64_MAX)
			cov[nc++] = (struct span){ a + 1, UINT64_MAX };
		if (b >= 1)
			cov[nc++] = (struct span){ 1, b };
	}
	qsort(cov, nc, sizeof(*cov), cmp_span);
	for (size_t i = 0; i <= nc && at != 0 && at <= w; i++) {
		/* the gap before cov[i] (or up to w after the last) */
		uint64_t gap_end = i < nc ? (cov[i].lo > w ? w : cov[i].lo - 1) : w;

		if (gap_end >= at) {
			*out = xrealloc(*out, (k + 1) * sizeof(**out));
			(*out)[k].start = u2i(ps + at - 1);
			(*out)[k].end = u2i(ps + gap_end);
			k++;
		}
		if (i < nc && cov[i].hi >= at)
			at = cov[i].hi == UINT64_MAX ? 0 : cov[i].hi + 1;
	}
	free(cov);
	return k;
}
