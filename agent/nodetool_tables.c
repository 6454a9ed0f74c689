/*
 * nodetool_tables.c - parsers for nodetool output: listsnapshots,
 * compactionstats and tablestats: what the node holds on disk and is doing
 * with it.
 *
 * The shared machinery (lines, columns, numbers, JSON helpers) and the
 * design behind it are in nodetool.c; the API is nodetool.h.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "nodetool.h"
#include "nodetool_int.h"

/* ------------------------------------------------------------------ */
/* listsnapshots                                                      */
/* ------------------------------------------------------------------ */

void nodetool_listsnapshots_free(struct nodetool_listsnapshots *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_snapshots; i++) {
		free(s->snapshots[i].name);
		free(s->snapshots[i].keyspace);
		free(s->snapshots[i].table);
		free(s->snapshots[i].created);
		free(s->snapshots[i].expires);
	}
	free(s->snapshots);
	free(s);
}

static int snapshot_row(struct nodetool_ctx *c, size_t li, const struct nodetool_cols *t,
    bool times, struct nodetool_snapshot *e)
{
	size_t i = 3;

	e->true_size_bytes = e->size_on_disk_bytes = NODETOOL_UNKNOWN;
	if (!times && t->n != 7)
		return nodetool_fail_line(c, li, "expected 7 columns, got %zu", t->n);
	if (times && t->n != 8 && t->n != 9)
		return nodetool_fail_line(c, li, "expected 8 or 9 columns, got %zu",
		    t->n);
	if (!nodetool_take_size(t, &i, &e->true_size_bytes))
		return nodetool_fail_line(c, li, "bad true size '%s'", t->v[3]);
	if (!nodetool_take_size(t, &i, &e->size_on_disk_bytes))
		return nodetool_fail_line(c, li, "bad size on disk '%s'", t->v[i]);
	if (i != 7)
		return nodetool_fail_line(c, li, "expected sizes with units");
	e->name = xstrdup(t->v[0]);
	e->keyspace = xstrdup(t->v[1]);
	e->table = xstrdup(t->v[2]);
	if (times) {
		e->created = xstrdup(t->v[7]);
		if (t->n == 9)
			e->expires = xstrdup(t->v[8]);
	}
	return 0;
}

int nodetool_parse_listsnapshots(const char *buf, size_t len,
    struct nodetool_listsnapshots **out, char *err, size_t errlen)
{
	struct nodetool_ctx c;
	struct nodetool_listsnapshots *s;
	bool details = false, header = false, none = false;
	size_t i;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL ||
	    nodetool_ctx_init(&c, "listsnapshots", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->total_true_bytes = NODETOOL_UNKNOWN;
	for (i = 0; i < c.n && rc == 0; i++) {
		const char *l = nodetool_skip_blanks(c.lines[i]);
		struct nodetool_cols t;

		if (nodetool_is_skippable(c.lines[i]))
			continue;
		if (strcmp(l, "Snapshot Details:") == 0 && !details) {
			details = true;
		} else if (strcmp(l, "There are no snapshots") == 0 && !header) {
			none = true;
		} else if (str_starts_with(l, "Total TrueDiskSpaceUsed:") &&
		    (header || none)) {
			if (nodetool_parse_size(l + strlen("Total TrueDiskSpaceUsed:"),
			    &s->total_true_bytes) < 0)
				rc = nodetool_fail_line(&c, i, "bad total size");
		} else if (str_starts_with(l, "Snapshot name ") && details &&
		    !header && !none) {
			header = true;
			s->has_times = strstr(l, "Creation time") != NULL;
		} else if (header && s->total_true_bytes == NODETOOL_UNKNOWN) {
			nodetool_cols_split(&t, l);
			rc = snapshot_row(&c, i, &t, s->has_times,
			    APPEND(s->snapshots, s->n_snapshots));
			nodetool_cols_release(&t);
		} else {
			rc = nodetool_fail_unexpected(&c, i);
		}
	}
	if (rc == 0 && !header && !none)
		rc = nodetool_fail_all(&c, "neither a snapshot table nor "
		    "'There are no snapshots' in output");
	nodetool_ctx_release(&c);
	if (rc < 0) {
		nodetool_listsnapshots_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

json_t *nodetool_listsnapshots_json(const struct nodetool_listsnapshots *s)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;

	if (s == NULL)
		return o;
	for (i = 0; i < s->n_snapshots; i++) {
		const struct nodetool_snapshot *e = &s->snapshots[i];
		json_t *j = json_pack("{s:o,s:o,s:o,s:o,s:o}",
		    "name", nodetool_jstr(e->name), "keyspace", nodetool_jstr(e->keyspace),
		    "table", nodetool_jstr(e->table),
		    "true_size_bytes", nodetool_jcount(e->true_size_bytes),
		    "size_on_disk_bytes", nodetool_jcount(e->size_on_disk_bytes));

		if (s->has_times) {
			nodetool_jset(j, "created", nodetool_jstr(e->created));
			nodetool_jset(j, "expires", nodetool_jstr(e->expires));
		}
		json_array_append_new(a, j);
	}
	nodetool_jset(o, "snapshots", a);
	nodetool_jset(o, "has_times", json_boolean(s->has_times));
	nodetool_jset(o, "total_true_bytes", nodetool_jcount(s->total_true_bytes));
	return o;
}

/* ------------------------------------------------------------------ */
/* compactionstats                                                    */
/* ------------------------------------------------------------------ */

enum cs_col {
	CC_ID, CC_TYPE, CC_KEYSPACE, CC_TABLE, CC_COMPLETED, CC_TOTAL,
	CC_UNIT, CC_PROGRESS, CC_OTHER,
};

#define CS_MAX_COLS 16

struct cs_layout {
	enum cs_col col[CS_MAX_COLS];
	size_t n;
	bool has_type;
};

static bool cs_header(const struct nodetool_cols *t, struct cs_layout *lay)
{
	static const struct {
		const char *name;
		enum cs_col col;
	} names[] = {
		{ "id", CC_ID }, { "keyspace", CC_KEYSPACE }, { "table", CC_TABLE },
		{ "completed", CC_COMPLETED }, { "total", CC_TOTAL },
		{ "unit", CC_UNIT }, { "progress", CC_PROGRESS },
	};
	size_t i, k;
	unsigned seen = 0;

	memset(lay, 0, sizeof(*lay));
	for (i = 0; i < t->n; i++) {
		enum cs_col col = CC_OTHER;

		if (lay->n == CS_MAX_COLS)
			return false;
		if (strcmp(t->v[i], "compaction") == 0 && i + 1 < t->n &&
		    strcmp(t->v[i + 1], "type") == 0) {
			col = CC_TYPE;
			lay->has_type = true;
			i++;
		}
		for (k = 0; col == CC_OTHER && k < ARRAY_SIZE(names); k++)
			if (strcmp(t->v[i], names[k].name) == 0)
				col = names[k].col;
		if (col != CC_OTHER && (seen & (1u << col)))
			return false;
		seen |= 1u << col;
		lay->col[lay->n++] = col;
	}
	/* a header names at least these; anything else is not a header */
	return (seen & (1u << CC_KEYSPACE)) && (seen & (1u << CC_TABLE)) &&
	    (seen & (1u << CC_PROGRESS)) && lay->has_type;
}

static int cs_row(struct nodetool_ctx *c, size_t li, const struct nodetool_cols *t,
    const struct cs_layout *lay, struct nodetool_compaction *e)
{
	size_t k, ci = 0, extra;

	e->completed = e->total = NODETOOL_UNKNOWN;
	e->progress_pct = NODETOOL_UNKNOWN;
	/* the type is the only column with blanks in it */
	if (t->n < lay->n)
		return nodetool_fail_line(c, li, "expected %zu columns, got %zu",
		    lay->n, t->n);
	extra = t->n - lay->n;
	for (k = 0; k < lay->n; k++) {
		const char *w = t->v[ci];

		switch (lay->col[k]) {
		case CC_ID:
			e->id = xstrdup(w);
			break;
		case CC_TYPE:
			e->type = nodetool_cols_join(t, ci, ci + extra + 1);
			ci += extra;
			break;
		case CC_KEYSPACE:
			e->keyspace = xstrdup(w);
			break;
		case CC_TABLE:
			e->table = xstrdup(w);
			break;
		case CC_COMPLETED:
			if (!nodetool_parse_count(w, &e->completed))
				return nodetool_fail_line(c, li, "bad completed '%s'", w);
			break;
		case CC_TOTAL:
			if (!nodetool_parse_count(w, &e->total))
				return nodetool_fail_line(c, li, "bad total '%s'", w);
			break;
		case CC_UNIT:
			e->unit = xstrdup(w);
			break;
		case CC_PROGRESS:
			if (!nodetool_parse_pct(w, &e->progress_pct))
				return nodetool_fail_line(c, li, "bad progress '%s'", w);
			break;
		case CC_OTHER:
			break;
		}
		ci++;
	}
	return 0;
}

void nodetool_compactionstats_free(struct nodetool_compactionstats *s)
{
	size_t i;

	if (s == NULL)
		return;
	nodetool_kv_free(s->pending_by_table, s->n_pending_by_table);
	for (i = 0; i < s->n_active; i++) {
		free(s->active[i].id);
		free(s->active[i].type);
		free(s->active[i].keyspace);
		free(s->active[i].table);
		free(s->active[i].unit);
	}
	free(s->active);
	free(s->remaining_time);
	nodetool_kv_free(s->other, s->n_other);
	free(s);
}

/*
 * The statistics 5.0 prints as a two-column table without colons, where
 * the longest name is followed by a single blank, so names are matched
 * from this list rather than split at wide gaps.
 */
static const char *const cs_table_keys[] = {
	"concurrent compactors", "pending tasks", "compactions completed",
	"data compacted", "compactions aborted", "compactions reduced",
	"sstables dropped from compaction", "15 minute rate", "mean rate",
	"compaction throughput (MiB/s)", "compaction throughput (MBps)",
};

/*
 * A statistics line: "pending tasks: 3" (3.x, 4.x), a known name and its
 * value (5.0), or any name and value set apart by two or more blanks.
 */
static bool cs_stat(const char *l, char **key, char **value)
{
	const char *gap;
	size_t i, n;

	if (nodetool_split_label(l, key, value))
		return true;
	for (i = 0; i < ARRAY_SIZE(cs_table_keys); i++) {
		n = strlen(cs_table_keys[i]);
		if (strncmp(l, cs_table_keys[i], n) == 0 &&
		    (l[n] == ' ' || l[n] == '\t') && !nodetool_is_blank(l + n)) {
			*key = xstrdup(cs_table_keys[i]);
			*value = nodetool_dup_trim(l + n);
			return true;
		}
	}
	gap = strstr(l, "  ");
	if (gap == NULL || gap == l || nodetool_is_blank(gap))
		return false;
	*key = xstrndup(l, (size_t)(gap - l));
	*value = nodetool_dup_trim(gap);
	return true;
}

int nodetool_parse_compactionstats(const char *buf, size_t len,
    struct nodetool_compactionstats **out, char *err, size_t errlen)
{
	struct nodetool_ctx c;
	struct nodetool_compactionstats *s;
	struct cs_layout lay;
	bool in_table = false, pending_seen = false;
	size_t i;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL ||
	    nodetool_ctx_init(&c, "compactionstats", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->pending_tasks = NODETOOL_UNKNOWN;
	for (i = 0; i < c.n && rc == 0; i++) {
		const char *l = nodetool_skip_blanks(c.lines[i]);
		char *key = NULL, *value = NULL;
		struct nodetool_cols t;

		if (nodetool_is_skippable(c.lines[i])) {
			in_table = false;
			continue;
		}
		if (nodetool_is_error_line(l)) {
			rc = nodetool_fail_unexpected(&c, i);
			break;
		}
		nodetool_cols_split(&t, l);
		if (in_table && !str_starts_with(l, "Active compaction remaining time")) {
			rc = cs_row(&c, i, &t, &lay, APPEND(s->active, s->n_active));
		} else if (cs_header(&t, &lay)) {
			in_table = true;
		} else if (str_starts_with(l, "- ")) {
			/* "- ks.table: 2", pending tasks by table */
			if (!nodetool_split_label(l + 2, &key, &value) ||
			    !nodetool_parse_count(value, &(int64_t){ 0 }))
				rc = nodetool_fail_line(&c, i, "bad pending tasks line");
			else
				nodetool_kv_add(&s->pending_by_table,
				    &s->n_pending_by_table, key, value);
		} else if (cs_stat(l, &key, &value)) {
			if (strcmp(key, "pending tasks") == 0) {
				if (pending_seen || !nodetool_parse_count(value,
				    &s->pending_tasks))
					rc = nodetool_fail_line(&c, i, "bad pending tasks");
				pending_seen = true;
			} else if (strcmp(key, "Active compaction remaining time") == 0) {
				free(s->remaining_time);
				s->remaining_time = xstrdup(value);
				in_table = false;
			} else {
				nodetool_kv_add(&s->other, &s->n_other, key, value);
			}
		} else {
			rc = nodetool_fail_unexpected(&c, i);
		}
		free(key);
		free(value);
		nodetool_cols_release(&t);
	}
	if (rc == 0 && !pending_seen)
		rc = nodetool_fail_all(&c, "no 'pending tasks' line in output");
	nodetool_ctx_release(&c);
	if (rc < 0) {
		nodetool_compactionstats_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

json_t *nodetool_compactionstats_json(const struct nodetool_compactionstats *s)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;

	if (s == NULL)
		return o;
	nodetool_jset(o, "pending_tasks", nodetool_jcount(s->pending_tasks));
	nodetool_jset(o, "pending_by_table",
	    nodetool_jkv(s->pending_by_table, s->n_pending_by_table));
	for (i = 0; i < s->n_active; i++) {
		const struct nodetool_compaction *e = &s->active[i];

		json_array_append_new(a,
		    json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
		    "id", nodetool_jstr(e->id), "type", nodetool_jstr(e->type),
		    "keyspace", nodetool_jstr(e->keyspace),
		    "table", nodetool_jstr(e->table),
		    "completed", nodetool_jcount(e->completed),
		    "total", nodetool_jcount(e->total),
		    "unit", nodetool_jstr(e->unit),
		    "progress_pct", nodetool_jreal(e->progress_pct)));
	}
	nodetool_jset(o, "active", a);
	nodetool_jset(o, "remaining_time", nodetool_jstr(s->remaining_time));
	nodetool_jset(o, "other", nodetool_jkv(s->other, s->n_other));
	return o;
}

/* ------------------------------------------------------------------ */
/* tablestats                                                         */
/* ------------------------------------------------------------------ */

void nodetool_tablestats_free(struct nodetool_tablestats *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_tables; i++) {
		free(s->tables[i].keyspace);
		free(s->tables[i].table);
	}
	free(s->tables);
	for (i = 0; i < s->n_keyspaces; i++)
		free(s->keyspaces[i].name);
	free(s->keyspaces);
	free(s);
}

/* A byte count printed plain ("7205") or, with -H, as a size ("7.04 KiB"). */
static bool stats_bytes(const char *v, int64_t *out)
{
	return nodetool_parse_count(v, out) || (nodetool_parse_size(v, out) == 0 &&
	    *out >= 0);
}

/* A name as nodetool prints keyspaces and tables: no blanks, no colon. */
static bool stats_name(const char *v)
{
	return *v != '\0' && strpbrk(v, " \t:") == NULL;
}

/*
 * A counter line: "Read Count: 0" (and the "Local ..." ones) must be a
 * plain count; a second one of the same block would hide which is true.
 */
static int stats_counter(struct nodetool_ctx *c, size_t i, const char *v,
    int64_t *out, const char *what)
{
	if (*out != NODETOOL_UNKNOWN)
		return nodetool_fail_line(c, i, "second '%s' line in one block", what);
	if (!nodetool_parse_count(v, out)) {
		*out = NODETOOL_UNKNOWN;
		return nodetool_fail_line(c, i, "bad %s", what);
	}
	return 0;
}

/*
 * One line inside a keyspace block: a table header, or "Label: value" of
 * the keyspace k (before its first table) or of the current table.
 */
static int tablestats_line(struct nodetool_ctx *c, size_t i,
    struct nodetool_ks_stats *k, struct nodetool_tablestats *s,
    struct nodetool_table_stats **cur)
{
	const char *ks = k->name;
	const char *l = nodetool_skip_blanks(c->lines[i]);
	char *label, *value;
	int rc = 0;

	if (!nodetool_split_label(l, &label, &value))
		return nodetool_fail_unexpected(c, i);
	if (strcmp(label, "Table") == 0 || strcmp(label, "Table (index)") == 0 ||
	    strcmp(label, "Column Family") == 0) {
		if (!stats_name(value)) {
			rc = nodetool_fail_line(c, i, "bad table name");
		} else {
			*cur = APPEND(s->tables, s->n_tables);
			(*cur)->keyspace = xstrdup(ks);
			(*cur)->table = xstrdup(value);
			(*cur)->index = strcmp(label, "Table (index)") == 0;
			(*cur)->sstable_count = NODETOOL_UNKNOWN;
			(*cur)->space_live_bytes = NODETOOL_UNKNOWN;
			(*cur)->partitions = NODETOOL_UNKNOWN;
			(*cur)->local_read_count = NODETOOL_UNKNOWN;
			(*cur)->local_write_count = NODETOOL_UNKNOWN;
		}
	} else if (*cur == NULL && strcmp(label, "Read Count") == 0) {
		rc = stats_counter(c, i, value, &k->read_count, "Read Count");
	} else if (*cur == NULL && strcmp(label, "Write Count") == 0) {
		rc = stats_counter(c, i, value, &k->write_count, "Write Count");
	} else if (*cur != NULL && strcmp(label, "Local read count") == 0) {
		rc = stats_counter(c, i, value, &(*cur)->local_read_count,
		    "Local read count");
	} else if (*cur != NULL && strcmp(label, "Local write count") == 0) {
		rc = stats_counter(c, i, value, &(*cur)->local_write_count,
		    "Local write count");
	} else if (*cur != NULL && strcmp(label, "SSTable count") == 0) {
		if (!nodetool_parse_count(value, &(*cur)->sstable_count))
			rc = nodetool_fail_line(c, i, "bad SSTable count");
	} else if (*cur != NULL && strcmp(label, "Space used (live)") == 0) {
		if (!stats_bytes(value, &(*cur)->space_live_bytes))
			rc = nodetool_fail_line(c, i, "bad size");
	} else if (*cur != NULL &&
	    strcmp(label, "Number of partitions (estimate)") == 0) {
		if (!nodetool_parse_count(value, &(*cur)->partitions))
			rc = nodetool_fail_line(c, i, "bad partition count");
	} else if (nodetool_is_error_line(l)) {
		rc = nodetool_fail_unexpected(c, i);
	}
	free(label);
	free(value);
	return rc;
}

int nodetool_parse_tablestats(const char *buf, size_t len,
    struct nodetool_tablestats **out, char *err, size_t errlen)
{
	struct nodetool_ctx c;
	struct nodetool_tablestats *s;
	struct nodetool_table_stats *cur = NULL;
	bool in_ks = false;
	size_t i;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || nodetool_ctx_init(&c, "tablestats", buf, len, err, errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->total_tables = NODETOOL_UNKNOWN;
	for (i = 0; i < c.n && rc == 0; i++) {
		const char *raw = c.lines[i], *l = nodetool_skip_blanks(raw);

		if (nodetool_is_skippable(raw))
			continue;
		if (strspn(l, "-") == strlen(l)) {
			/* "----------------" closes a keyspace block */
			in_ks = false;
			cur = NULL;
		} else if (l == raw && str_starts_with(l, "Total number of tables:")) {
			if (!nodetool_parse_count(nodetool_skip_blanks(l +
			    strlen("Total number of tables:")), &s->total_tables))
				rc = nodetool_fail_line(&c, i, "bad table count");
		} else if (l == raw && (str_starts_with(l, "Keyspace :") ||
		    str_starts_with(l, "Keyspace:"))) {
			const char *v = nodetool_skip_blanks(strchr(l, ':') + 1);
			struct nodetool_ks_stats *k;
			if (!stats_name(v)) {
				rc = nodetool_fail_line(&c, i, "bad keyspace name");
				break;
			}
			k = APPEND(s->keyspaces, s->n_keyspaces);
			k->name = xstrdup(v);
			k->read_count = NODETOOL_UNKNOWN;
			k->write_count = NODETOOL_UNKNOWN;
			in_ks = true;
			cur = NULL;
		} else if (l != raw && in_ks) {
			rc = tablestats_line(&c, i,
			    &s->keyspaces[s->n_keyspaces - 1], s, &cur);
		} else {
			rc = nodetool_fail_unexpected(&c, i);
		}
	}
	for (i = 0; rc == 0 && i < s->n_tables; i++)
		if (s->tables[i].sstable_count == NODETOOL_UNKNOWN)
			rc = nodetool_fail_all(&c, "table %s.%s has no 'SSTable count' line",
			    s->tables[i].keyspace, s->tables[i].table);
	if (rc == 0 && s->n_keyspaces == 0)
		rc = nodetool_fail_all(&c, "no 'Keyspace :' line in output");
	nodetool_ctx_release(&c);
	if (rc < 0) {
		nodetool_tablestats_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

const struct nodetool_table_stats *nodetool_tablestats_find(
    const struct nodetool_tablestats *s, const char *keyspace,
    const char *table)
{
	size_t i;

	for (i = 0; s != NULL && i < s->n_tables; i++)
		if (!s->tables[i].index &&
		    strcmp(s->tables[i].keyspace, keyspace) == 0 &&
		    strcmp(s->tables[i].table, table) == 0)
			return &s->tables[i];
	return NULL;
}

const struct nodetool_ks_stats *nodetool_tablestats_keyspace(
    const struct nodetool_tablestats *s, const char *keyspace)
{
	for (size_t i = 0; s != NULL && i < s->n_keyspaces; i++)
		if (strcmp(s->keyspaces[i].name, keyspace) == 0)
			return &s->keyspaces[i];
	return NULL;
}

json_t *nodetool_tablestats_json(const struct nodetool_tablestats *s)
{
	json_t *a = json_array(), *k = json_array();
	size_t i;

	if (s == NULL)
		return json_pack("{s:o,s:o,s:o}", "total_tables", json_null(),
		    "keyspaces", k, "tables", a);
	for (i = 0; i < s->n_keyspaces; i++) {
		const struct nodetool_ks_stats *ks = &s->keyspaces[i];
		json_array_append_new(k, json_pack("{s:o,s:o,s:o}",
		    "name", nodetool_jstr(ks->name),
		    "read_count", nodetool_jcount(ks->read_count),
		    "write_count", nodetool_jcount(ks->write_count)));
	}
	for (i = 0; i < s->n_tables; i++) {
		const struct nodetool_table_stats *t = &s->tables[i];
		json_array_append_new(a, json_pack("{s:o,s:o,s:b,s:o,s:o,s:o,s:o,s:o}",
		    "keyspace", nodetool_jstr(t->keyspace), "table", nodetool_jstr(t->table),
		    "index", t->index, "sstable_count", nodetool_jcount(t->sstable_count),
		    "space_live_bytes", nodetool_jcount(t->space_live_bytes),
		    "partitions", nodetool_jcount(t->partitions),
		    "read_count", nodetool_jcount(t->local_read_count),
		    "write_count", nodetool_jcount(t->local_write_count)));
	}
	return json_pack("{s:o,s:o,s:o}", "total_tables", nodetool_jcount(s->total_tables),
	    "keyspaces", k, "tables", a);
}
