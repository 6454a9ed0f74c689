/*
 * tenants.c - see tenants.h.
 */
#include "tenants.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "nodetool.h"

/* The largest limit taken: beyond any node's rate, far from overflow. */
#define LIMIT_MAX 1000000000000LL

static bool keyspace_name_valid(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return n > 0 && n <= TENANTS_KEYSPACE_MAX_LEN;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_tenant(const void *a, const void *b)
{
	return strcmp(((const struct tenant *)a)->name,
	    ((const struct tenant *)b)->name);
}

static void tenant_release(struct tenant *t)
{
	free(t->name);
	free(t->prefix);
	for (size_t i = 0; i < t->n_keyspaces; i++)
		free(t->keyspaces[i]);
	free(t->keyspaces);
}

void tenants_free(struct tenants *ts)
{
	if (ts == NULL)
		return;
	for (size_t i = 0; i < ts->n; i++)
		tenant_release(&ts->t[i]);
	free(ts->t);
	free(ts);
}

/* One item of the list into t (zeroed); t owns what it got even on -1. */
static int tenant_parse(const json_t *o, size_t i, struct tenant *t,
    char *err, size_t errlen)
{
	const json_t *name = json_object_get(o, "name");
	const json_t *kss = json_object_get(o, "keyspaces");
	const json_t *prefix = json_object_get(o, "prefix");
	const json_t *limit = json_object_get(o, "limit");

	if (!json_is_object(o)) {
		snprintf(err, errlen, "tenants[%zu] is not an object", i);
		return -1;
	}
	if (!json_is_string(name) || !name_valid(json_string_value(name)) ||
	    json_string_value(name)[0] == '\0') {
		snprintf(err, errlen, "tenants[%zu].name is not a tenant name "
		    "(1 to 64 letters, digits, '_' and '-')", i);
		return -1;
	}
	t->name = xstrdup(json_string_value(name));
	if ((kss == NULL) == (prefix == NULL)) {
		snprintf(err, errlen, "tenant '%s' has %s of 'keyspaces' and "
		    "'prefix'; it needs exactly one", t->name,
		    kss == NULL ? "neither" : "both");
		return -1;
	}
	if (prefix != NULL) {
		if (!json_is_string(prefix) ||
		    !keyspace_name_valid(json_string_value(prefix))) {
			snprintf(err, errlen, "tenant '%s': prefix is not the "
			    "start of a keyspace name (1 to %d letters, digits "
			    "and '_')", t->name, TENANTS_KEYSPACE_MAX_LEN);
			return -1;
		}
		t->prefix = xstrdup(json_string_value(prefix));
	} else {
		size_t n = json_array_size(kss);
		if (!json_is_array(kss) || n == 0 || n > TENANTS_MAX_KEYSPACES) {
			snprintf(err, errlen, "tenant '%s': keyspaces is not a "
			    "list of 1 to %d names", t->name,
			    TENANTS_MAX_KEYSPACES);
			return -1;
		}
		t->keyspaces = xcalloc(n, sizeof(*t->keyspaces));
		for (size_t k = 0; k < n; k++) {
			const char *s = json_string_value(json_array_get(kss, k));
			if (s == NULL || !keyspace_name_valid(s)) {
				snprintf(err, errlen, "tenant '%s': keyspaces[%zu] "
				    "is not a keyspace name (1 to %d letters, "
				    "digits and '_')", t->name, k,
				    TENANTS_KEYSPACE_MAX_LEN);
				return -1;
			}
			t->keyspaces[t->n_keyspaces++] = xstrdup(s);
		}
		qsort(t->keyspaces, n, sizeof(*t->keyspaces), cmp_str);
		for (size_t k = 1; k < n; k++) {
			/* Counted twice, its demand would be doubled. */
			if (strcmp(t->keyspaces[k - 1], t->keyspaces[k]) == 0) {
				snprintf(err, errlen, "tenant '%s': keyspace '%s' "
				    "is listed twice", t->name, t->keyspaces[k]);
				return -1;
			}
		}
	}
	if (limit != NULL && !json_is_null(limit)) {
		if (!json_is_integer(limit) || json_integer_value(limit) <= 0 ||
		    json_integer_value(limit) > LIMIT_MAX) {
			snprintf(err, errlen, "tenant '%s': limit is not a "
			    "positive whole number of ops/s", t->name);
			return -1;
		}
		t->limit = (int64_t)json_integer_value(limit);
	}
	return 0;
}

int tenants_parse(const json_t *list, int64_t gen, struct tenants **out,
    char *err, size_t errlen)
{
	struct tenants *ts;
	size_t n = json_array_size(list);

	*out = NULL;
	if (!json_is_array(list) || n > TENANTS_MAX) {
		snprintf(err, errlen, "tenants is not a list of at most %d "
		    "tenants", TENANTS_MAX);
		return -1;
	}
	if (gen <= 0) {
		snprintf(err, errlen, "tenants come without a positive "
		    "tenants_gen");
		return -1;
	}
	ts = xcalloc(1, sizeof(*ts));
	ts->gen = gen;
	ts->t = xcalloc(n ? n : 1, sizeof(*ts->t));
	for (size_t i = 0; i < n; i++) {
		ts->n++;
		if (tenant_parse(json_array_get(list, i), i, &ts->t[i], err,
		    errlen) != 0)
			goto fail;
	}
	qsort(ts->t, ts->n, sizeof(*ts->t), cmp_tenant);
	for (size_t i = 1; i < ts->n; i++) {
		if (strcmp(ts->t[i - 1].name, ts->t[i].name) == 0) {
			snprintf(err, errlen, "tenant '%s' is listed twice",
			    ts->t[i].name);
			goto fail;
		}
	}
	*out = ts;
	return 0;
fail:
	tenants_free(ts);
	return -1;
}

bool tenants_match(const struct tenant *t, const char *keyspace)
{
	if (t->prefix != NULL)
		return str_starts_with(keyspace, t->prefix);
	return bsearch(&keyspace, t->keyspaces, t->n_keyspaces,
	    sizeof(*t->keyspaces), cmp_str) != NULL;
}

size_t tenants_served(const struct tenants *ts)
{
	size_t n = 0;

	for (size_t i = 0; ts != NULL && i < ts->n; i++)
		n += ts->t[i].limit > 0;
	return n;
}

/* ---- demand ---- */

static int cmp_count(const void *a, const void *b)
{
	return strcmp(((const struct tenants_count *)a)->keyspace,
	    ((const struct tenants_count *)b)->keyspace);
}

static const struct tenants_count *count_find(const struct tenants_count *v,
    size_t n, const char *keyspace)
{
	struct tenants_count key = { .keyspace = (char *)(uintptr_t)keyspace };

	return bsearch(&key, v, n, sizeof(*v), cmp_count);
}

static void counts_free(struct tenants_count *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].keyspace);
	free(v);
}

/*
 * Add the increase of one keyspace between the baseline old and the sample
 * now (either NULL: absent, which counts 0) to *sum; false when it cannot
 * be measured: a counter not printed, or one that went down (Cassandra
 * restarted, or the keyspace was dropped).
 */
static bool add_delta(const struct tenants_count *old,
    const struct tenants_count *now, int64_t *sum)
{
	int64_t o = old ? old->ops : 0, n = now ? now->ops : 0;

	if (o < 0 || n < 0 || n < o)
		return false;
	*sum += n - o;
	return true;
}

static bool tenant_delta(const struct tenant *t,
    const struct tenants_count *old, size_t n_old,
    const struct tenants_count *now, size_t n_now, int64_t *sum)
{
	bool ok = true;

	*sum = 0;
	if (t->prefix == NULL) {
		for (size_t k = 0; k < t->n_keyspaces; k++)
			ok &= add_delta(count_find(old, n_old, t->keyspaces[k]),
			    count_find(now, n_now, t->keyspaces[k]), sum);
		return ok;
	}
	for (size_t i = 0; i < n_now; i++)
		if (tenants_match(t, now[i].keyspace))
			ok &= add_delta(count_find(old, n_old, now[i].keyspace),
			    &now[i], sum);
	/* Gone from the output since the baseline: it counts 0 now. */
	for (size_t i = 0; i < n_old; i++)
		if (tenants_match(t, old[i].keyspace) &&
		    count_find(now, n_now, old[i].keyspace) == NULL)
			ok &= add_delta(&old[i], NULL, sum);
	return ok;
}

json_t *tenants_demand_sample(struct tenants_demand *d,
    const struct tenants *ts, const struct nodetool_tablestats *st,
    int64_t now_ms)
{
	struct tenants_count *now;
	size_t n_now = 0;
	json_t *ops, *out = NULL;

	now = xcalloc(st->n_keyspaces ? st->n_keyspaces : 1, sizeof(*now));
	for (size_t i = 0; i < st->n_keyspaces; i++) {
		const struct nodetool_ks_stats *k = &st->keyspaces[i];
		bool known = k->read_count >= 0 && k->write_count >= 0 &&
		    k->read_count <= INT64_MAX - k->write_count;
		now[n_now].keyspace = xstrdup(k->name);
		now[n_now++].ops = known ? k->read_count + k->write_count : -1;
	}
	qsort(now, n_now, sizeof(*now), cmp_count);
	for (size_t i = 1; i < n_now; i++)
		/* Printed twice: which one is true is unknown. */
		if (strcmp(now[i - 1].keyspace, now[i].keyspace) == 0)
			now[i - 1].ops = now[i].ops = -1;

	if (d->have_base && now_ms > d->base_ms && ts != NULL) {
		double secs = (double)(now_ms - d->base_ms) / 1000.0;
		ops = json_object();
		for (size_t i = 0; i < ts->n; i++) {
			int64_t sum;
			if (!tenant_delta(&ts->t[i], d->base, d->n_base, now,
			    n_now, &sum))
				continue;
			/* 0.1 ops/s is finer than any limit is set to. */
			json_object_set_new(ops, ts->t[i].name, json_real(
			    round((double)sum / secs * 10.0) / 10.0));
		}
		if (json_object_size(ops) > 0)
			out = json_pack("{s:f, s:o}", "window_s",
			    round(secs * 1000.0) / 1000.0, "ops", ops);
		else
			json_decref(ops);
	}
	counts_free(d->base, d->n_base);
	d->base = now;
	d->n_base = n_now;
	d->base_ms = now_ms;
	d->have_base = true;
	return out;
}

void tenants_demand_reset(struct tenants_demand *d)
{
	counts_free(d->base, d->n_base);
	memset(d, 0, sizeof(*d));
}

void tenants_demand_release(struct tenants_demand *d)
{
	if (d != NULL)
		tenants_demand_reset(d);
}
