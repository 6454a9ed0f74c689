/*
 * test_limits.c - the limits of docs/security.md: storage URLs checked
 * and normalised (common/storeurl.c), the budget of failures per key
 * (orchestrator/http/authlimit.c) and the events kept (store_event.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/storeurl.h"
#include "../../common/util.h"
#include "../../orchestrator/http/authlimit.h"
#include "../../orchestrator/store/store.h"
#include "t.h"

static void test_storeurl(void)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "s3://bk", "s3://bk" },
		{ "s3://bk/", "s3://bk" },
		{ "s3://bk/prod", "s3://bk/prod" },
		{ "s3://bk//prod/./daily/", "s3://bk/prod/daily" },
		{ "s3://my.bucket-1_x/a/b", "s3://my.bucket-1_x/a/b" },
		{ "file:///var/backups", "file:///var/backups" },
		{ "file:///var//backups/./x/", "file:///var/backups/x" },
		{ "file:///tmp/a.b/..c/c..", "file:///tmp/a.b/..c/c.." },
	};
	static const struct {
		const char *in, *needle;
	} bad[] = {
		{ "", "no storage URL" },
		{ "file:///../../etc", "'..' is not allowed" },
		{ "file:///var/../etc", "'..' is not allowed" },
		{ "file:///var/x/..", "'..' is not allowed" },
		{ "file://relative/dir", "absolute path" },
		{ "file://dir", "absolute path" },
		{ "file://", "absolute path" },
		{ "file:///", "root directory" },
		{ "file:////./", "root directory" },
		{ "s3://", "bucket is empty" },
		{ "s3:///prefix", "bucket is empty" },
		{ "s3://bk/a/../b", "'..' is not allowed" },
		{ "s3://b..k/a", "'..'" },
		{ "s3://.bk", "start or end with '.'" },
		{ "s3://bk$(id)/a", "may hold only" },
		{ "s3://bk/a b", "not allowed" },
		{ "s3://bk/a\nb", "not allowed" },
		{ "s3://bk/a\\b", "not allowed" },
		{ "s3://bk/it's", "not allowed" },
		{ "ftp://host/x", "neither s3:// nor file://" },
		{ "S3://bk", "neither s3:// nor file://" },
		{ "/var/backups", "no scheme" },
		{ "backups", "no scheme" },
		{ "s3://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "longer than 63" },
	};
	char out[STOREURL_MAX], err[600];

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		err[0] = '\0';
		T_CHECK(storeurl_normalize(ok[i].in, out, err, sizeof(err)) == 0,
		    "ok[%zu] '%s': %s", i, ok[i].in, err);
		T_EQ_STR(out, ok[i].out);
		/* The normal form is a fixed point. */
		char again[STOREURL_MAX];
		T_CHECK(storeurl_normalize(out, again, err, sizeof(err)) == 0 &&
		    strcmp(again, out) == 0, "ok[%zu] normal form moves", i);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		strcpy(out, "untouched");
		int rc = storeurl_normalize(bad[i].in, out, err, sizeof(err));
		T_CHECK(rc == -1 && strstr(err, bad[i].needle) != NULL &&
		    strstr(err, "write s3://bucket/prefix or file:///dir") != NULL,
		    "bad[%zu] '%s': rc %d, '%s'", i, bad[i].in, rc, err);
		T_EQ_STR(out, "");
	}
	T_CHECK(storeurl_normalize(NULL, out, err, sizeof(err)) == -1, "NULL");
}

static void test_authlimit(void)
{
	struct authlimit_conf c = { .max = 3, .window_ms = 10000,
	    .block_ms = 5000, .max_keys = 4 };
	struct authlimit *l = authlimit_new(&c);
	int64_t t = 1000000;

	/* Two failures are within the budget; the third spends it. */
	T_EQ_INT(authlimit_blocked(l, "10.0.0.1", t), 0);
	T_EQ_INT(authlimit_fail(l, "10.0.0.1", t), 0);
	T_EQ_INT(authlimit_fail(l, "10.0.0.1", t + 1), 0);
	T_EQ_INT(authlimit_fail(l, "10.0.0.1", t + 2), 5);
	T_EQ_INT(authlimit_blocked(l, "10.0.0.1", t + 2), 5);
	/* Retry-After is rounded up: never early. */
	T_EQ_INT(authlimit_blocked(l, "10.0.0.1", t + 4001), 2);
	T_EQ_INT(authlimit_blocked(l, "10.0.0.1", t + 4003), 1);
	T_EQ_INT(authlimit_blocked(l, "10.0.0.1", t + 5002), 0);
	/* Other addresses are not touched. */
	T_EQ_INT(authlimit_blocked(l, "10.0.0.2", t + 2), 0);
	/* After the block a fresh budget: two more failures pass. */
	T_EQ_INT(authlimit_fail(l, "10.0.0.1", t + 6000), 0);
	T_EQ_INT(authlimit_fail(l, "10.0.0.1", t + 6001), 0);
	T_EQ_INT(authlimit_blocked(l, "10.0.0.1", t + 6001), 0);
	/* Failures spread wider than the window never block. */
	for (int i = 0; i < 10; i++)
		T_EQ_INT(authlimit_fail(l, "10.0.0.3", t + i * 6000), 0);
	T_EQ_INT(authlimit_blocked(l, "10.0.0.3", t + 60000), 0);

	/* Bounded: at most max_keys kept, the least recently seen goes. */
	T_EQ_INT(authlimit_fail(l, "a", t), 0);
	T_EQ_INT(authlimit_fail(l, "a", t), 0);
	T_EQ_INT(authlimit_fail(l, "b", t), 0);
	for (int i = 0; i < 1000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		authlimit_fail(l, k, t);
		T_CHECK(authlimit_size(l) <= 4, "size %zu", authlimit_size(l));
	}
	T_EQ_INT(authlimit_size(l), 4);
	/* "a" was forgotten: its two failures no longer count. */
	T_EQ_INT(authlimit_fail(l, "a", t), 0);
	T_EQ_INT(authlimit_blocked(l, "a", t), 0);
	authlimit_free(l);
	authlimit_free(NULL);

	/* max 0: no limit at all. */
	struct authlimit_conf off = { .max = 0, .window_ms = 1000,
	    .block_ms = 1000, .max_keys = 1 };
	l = authlimit_new(&off);
	for (int i = 0; i < 100; i++)
		T_EQ_INT(authlimit_fail(l, "x", t), 0);
	T_EQ_INT(authlimit_blocked(l, "x", t), 0);
	authlimit_free(l);
}

/* SIGHUP's new settings: counts and blocks kept, judged by the new ones. */
static void test_authlimit_reconf(void)
{
	struct authlimit_conf c = { .max = 5, .window_ms = 10000,
	    .block_ms = 5000, .max_keys = 8 };
	struct authlimit *l = authlimit_new(&c);
	int64_t t = 2000000;

	T_EQ_INT(authlimit_fail(l, "x", t), 0);
	T_EQ_INT(authlimit_fail(l, "x", t + 1), 0);
	T_EQ_INT(authlimit_fail(l, "y", t + 2), 0);
	/* A lower max: x's third failure spends the new budget of 3, with
	 * the new block time; y still has room. */
	c.max = 3;
	c.block_ms = 20000;
	authlimit_reconf(l, &c);
	T_EQ_INT(authlimit_blocked(l, "x", t + 3), 0);
	T_EQ_INT(authlimit_fail(l, "x", t + 3), 20);
	T_EQ_INT(authlimit_blocked(l, "x", t + 4), 20);
	T_EQ_INT(authlimit_fail(l, "y", t + 4), 0);
	/* A block keeps its end when the settings change again. */
	c.block_ms = 1000;
	authlimit_reconf(l, &c);
	T_EQ_INT(authlimit_blocked(l, "x", t + 5), 20);
	/* Fewer keys: the least recently seen go (x, then y is kept). */
	T_EQ_INT(authlimit_size(l), 2);
	c.max_keys = 1;
	authlimit_reconf(l, &c);
	T_EQ_INT(authlimit_size(l), 1);
	T_EQ_INT(authlimit_blocked(l, "x", t + 6), 0);
	/* max 0 turns it off: the blocked are heard, nothing counts. */
	c.max = 0;
	c.max_keys = 8;
	authlimit_reconf(l, &c);
	for (int i = 0; i < 10; i++)
		T_EQ_INT(authlimit_fail(l, "z", t + 7), 0);
	T_EQ_INT(authlimit_blocked(l, "y", t + 7), 0);
	authlimit_free(l);
}

static int64_t count_events(struct store *st, int64_t *first_id,
    int64_t *last_id)
{
	struct store_event_page p;
	char cursor[STORE_CURSOR_MAX] = "";
	int64_t n = 0;

	*first_id = *last_id = 0;
	do {
		if (store_event_list(st, 0, NULL, cursor[0] ? cursor : NULL, 500,
		    &p) != 0) {
			store_event_page_release(&p);
			return -1;
		}
		for (size_t i = 0; i < p.n; i++) {
			if (n++ == 0)
				*first_id = p.items[i].id;
			*last_id = p.items[i].id;
		}
		str_copy(cursor, p.next, sizeof(cursor));
		store_event_page_release(&p);
	} while (cursor[0]);
	return n;
}

static void test_events_keep(void)
{
	char dir[] = "/tmp/test_limits.XXXXXX", path[256], err[256] = "";
	struct store *st;
	int64_t first, last, n;

	if (mkdtemp(dir) == NULL) {
		T_CHECK(false, "mkdtemp failed");
		return;
	}
	snprintf(path, sizeof(path), "%s/state.db", dir);
	st = store_open(path, err, sizeof(err));
	T_CHECK(st != NULL, "store_open: %s", err);
	if (st == NULL)
		exit(1);
	/* No limit: every event stays. */
	for (int i = 0; i < 300; i++) {
		struct store_event ev = { .actor = "t", .kind = "request",
		    .result = "400" };
		T_EQ_INT(store_event_append(st, &ev, err, sizeof(err)), 0);
	}
	n = count_events(st, &first, &last);
	T_EQ_INT(n, 300);
	/* Keep 100: the first write after prunes at once, the newest stay. */
	store_event_keep(st, 0, 100);
	struct store_event one = { .actor = "t", .kind = "request",
	    .result = "201" };
	T_EQ_INT(store_event_append(st, &one, err, sizeof(err)), 0);
	n = count_events(st, &first, &last);
	T_EQ_INT(n, 100);
	T_EQ_INT(last - first + 1, 100);
	/* Then at most STORE_EVENT_PRUNE_EVERY over the limit, ever. */
	for (int i = 0; i < 1000; i++) {
		T_EQ_INT(store_event_append(st, &one, err, sizeof(err)), 0);
		if (i % 97 == 0) {
			n = count_events(st, &first, &last);
			T_CHECK(n >= 100 && n <= 100 + STORE_EVENT_PRUNE_EVERY,
			    "after %d: %lld events", i, (long long)n);
		}
	}
	T_EQ_INT(store_event_prune(st, err, sizeof(err)) >= 0, 1);
	n = count_events(st, &first, &last);
	T_EQ_INT(n, 100);
	/* By age: events older than the limit go, newer stay. */
	store_event_keep(st, 60000, 0);
	struct store_event old = { .at = time_wall_ms() - 120000, .actor = "t",
	    .kind = "request", .result = "old" };
	/* The first write after store_event_keep() prunes: the old event
	 * goes with it, the 100 recent ones stay. */
	T_EQ_INT(store_event_append(st, &old, err, sizeof(err)), 0);
	n = count_events(st, &first, &last);
	T_EQ_INT(n, 100);
	T_EQ_INT(store_event_append(st, &old, err, sizeof(err)), 0);
	T_EQ_INT(store_event_prune(st, err, sizeof(err)), 1);
	n = count_events(st, &first, &last);
	T_EQ_INT(n, 100);
	store_close(st);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	T_EQ_INT(system(path), 0);
}

int main(void)
{
	test_storeurl();
	test_authlimit();
	test_authlimit_reconf();
	test_events_keep();
	return t_done("test_limits");
}
