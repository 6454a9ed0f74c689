/*
 * store_event.c - the audit log of events: rows, the buffer of task
 * state events written in batches, and the event listing
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/redact.h"
#include "../../common/util.h"
#include "store_int.h"

/* ---- events (used inside other transactions too) ------------------------ */

static int do_event_insert(struct conn *c, const struct store_event *ev)
{
	sqlite3_stmt *s = S(c, SQL_EVENT_INSERT);
	/* Events are read by every viewer: nothing secret-shaped in them. */
	char *detail = redact(ev->detail_json, NULL, 0);
	int rc;

	sqlite3_bind_int64(s, 1, ev->at > 0 ? ev->at : time_wall_ms());
	bind_text(s, 2, ev->actor);
	bind_text(s, 3, ev->kind ? ev->kind : "request");
	bind_text(s, 4, ev->method);
	bind_text(s, 5, ev->route);
	bind_text(s, 6, ev->target);
	bind_text(s, 7, ev->cluster);
	bind_text(s, 8, ev->result);
	bind_text(s, 9, detail);
	rc = exec_stmt(s) == SQLITE_DONE ? 0 : -1;
	free(detail);
	return rc;
}

/* ---- retention ---------------------------------------------------------- */

/*
 * One bounded DELETE of the oldest rows matching "id IN (SELECT ...)".
 * Rows beyond the count are found from max(id): ids only grow (INTEGER
 * PRIMARY KEY, and only the oldest are ever deleted), so the newest
 * keep_rows are those above max(id) - keep_rows, found through the primary
 * key without counting the table.  Old ones through events_at.
 */
static int64_t prune_run(struct conn *c, const char *sql, int64_t a,
    int64_t b)
{
	sqlite3_stmt *s = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, a);
	sqlite3_bind_int64(s, 2, b);
	if (sqlite3_step(s) == SQLITE_DONE)
		n = sqlite3_changes64(c->db);
	sqlite3_finalize(s);
	return n;
}

/* Inside a transaction on the writer, lock held. */
static int64_t do_prune(struct store *st, struct conn *c)
{
	int64_t n = 0, d;

	st->ev_pruned_at = time_mono_ms();
	st->ev_since_prune = 0;
	if (st->ev_keep_rows > 0) {
		d = prune_run(c, "DELETE FROM events WHERE id IN (SELECT id FROM "
		    "events WHERE id <= (SELECT max(id) FROM events) - ?1 "
		    "ORDER BY id LIMIT ?2)", st->ev_keep_rows,
		    STORE_EVENT_PRUNE_BATCH);
		if (d < 0)
			return -1;
		n += d;
	}
	if (st->ev_keep_ms > 0) {
		d = prune_run(c, "DELETE FROM events WHERE id IN (SELECT id FROM "
		    "events WHERE at < ?1 ORDER BY at LIMIT ?2)",
		    time_wall_ms() - st->ev_keep_ms, STORE_EVENT_PRUNE_BATCH);
		if (d < 0)
			return -1;
		n += d;
	}
	return n;
}

/* After adding n events, inside their transaction: prune when due.  A
 * failed prune is logged and the events stay: losing them is worse than
 * keeping a few too many. */
static void prune_if_due(struct store *st, struct conn *c, size_t added)
{
	if (st->ev_keep_rows <= 0 && st->ev_keep_ms <= 0)
		return;
	st->ev_since_prune += (unsigned)added;
	if (st->ev_pruned_at != 0 &&
	    st->ev_since_prune < STORE_EVENT_PRUNE_EVERY &&
	    time_mono_ms() - st->ev_pruned_at < STORE_EVENT_PRUNE_MS)
		return;
	if (do_prune(st, c) < 0)
		log_warnx("store: cannot delete old events (events_keep_days, "
		    "events_keep_rows): %s; they are kept and the next write "
		    "tries again", sqlite3_errmsg(c->db));
}

void store_event_keep(struct store *st, int64_t keep_ms, int64_t keep_rows)
{
	struct conn *c = wlock(st);

	st->ev_keep_ms = keep_ms > 0 ? keep_ms : 0;
	st->ev_keep_rows = keep_rows > 0 ? keep_rows : 0;
	st->ev_pruned_at = 0;	/* the next write prunes */
	unlock(c);
}

int64_t store_event_prune(struct store *st, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	int64_t n;

	if (begin(c, err, errlen) < 0) {
		unlock(c);
		return -1;
	}
	if ((n = do_prune(st, c)) < 0) {
		store_db_err(c, err, errlen, "delete old events");
		rollback(c);
	} else if (commit(c, err, errlen) < 0) {
		n = -1;
	}
	unlock(c);
	return n;
}

/*
 * Task state events are kept in memory and written in batches: the row
 * and its three index entries cost as much as the state change itself,
 * and batched they share pages (events(cluster, id) takes them at one
 * place per cluster: a batch of 64 over many clusters wrote one page per
 * event).  They are written by the next group commit that finds
 * FLUSH_COUNT of them waiting, by the flusher thread within FLUSH_MS,
 * before any read of the events and at close.  So a crash can lose the
 * events (never the state) of the last FLUSH_MS.
 * The buffer is guarded by the write connection's lock.  (FLUSH_MS and
 * FLUSH_COUNT are in store_int.h.)
 */

struct tev {
	int64_t at;
	char id[STORE_ID_MAX];
	char cluster[STORE_NAME_MAX];
	char type[STORE_NAME_MAX];
	int from, to;
	char *error;
};

int store_task_event_add(struct store *st, const char *id,
    const char *cluster, const char *type, enum store_task_state from,
    enum store_task_state to, const char *error, int64_t now)
{
	struct tev *e;

	if (st->ntev == st->captev) {
		st->captev = st->captev ? st->captev * 2 : 64;
		st->tev = xrealloc(st->tev, st->captev * sizeof(*st->tev));
	}
	e = &st->tev[st->ntev++];
	e->at = now;
	str_copy(e->id, id, sizeof(e->id));
	str_copy(e->cluster, cluster, sizeof(e->cluster));
	str_copy(e->type, type, sizeof(e->type));
	e->from = (int)from;
	e->to = (int)to;
	e->error = error ? xstrdup(error) : NULL;
	return 0;
}

/*
 * Append s to the detail text as a JSON string.  Hand-written because it
 * runs for every task event: escapes the quote, the backslash and control
 * characters; UTF-8 passes through as it is.
 */
static void json_quote(char **buf, size_t *len, size_t *cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t need = *len + strlen(s) * 6 + 3;
	char *o;

	if (need > *cap) {
		*cap = need * 2;
		*buf = xrealloc(*buf, *cap);
	}
	o = *buf + *len;
	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p;
		} else if (*p < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[*p >> 4];
			o[5] = hex[*p & 15];
			o += 6;
		} else {
			*o++ = (char)*p;
		}
	}
	*o++ = '"';
	*o = '\0';
	*len = (size_t)(o - *buf);
}

static void json_lit(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = xrealloc(*buf, *cap);
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

/*
 * Write the buffered task events; inside a transaction, lock held.  The
 * detail is {"type","from","error"}, a key without a value left out.
 */
int store_events_flush(struct store *st, struct conn *c)
{
	char *buf = NULL;
	size_t cap = 0;
	int rc = 0;

	for (size_t i = 0; i < st->ntev; i++) {
		struct tev *e = &st->tev[i];
		size_t len = 0;

		json_lit(&buf, &len, &cap, "{\"type\":");
		json_quote(&buf, &len, &cap, e->type);
		if (e->from >= 0) {
			json_lit(&buf, &len, &cap, ",\"from\":");
			json_quote(&buf, &len, &cap, store_task_state_str(
			    (enum store_task_state)e->from));
		}
		if (e->error != NULL) {
			json_lit(&buf, &len, &cap, ",\"error\":");
			json_quote(&buf, &len, &cap, e->error);
		}
		json_lit(&buf, &len, &cap, "}");
		struct store_event ev = {
			.at = e->at, .actor = "ringmaster", .kind = "task",
			.target = e->id, .cluster = e->cluster,
			.result = store_task_state_str(
			    (enum store_task_state)e->to),
			.detail_json = buf,
		};
		if (rc == 0 && do_event_insert(c, &ev) < 0)
			rc = -1;
		free(e->error);
	}
	free(buf);
	if (rc == 0 && st->ntev > 0)
		prune_if_due(st, c, st->ntev);
	st->ntev = 0;
	return rc;
}

int store_events_tx_flush(struct store *st, struct conn *c, void *arg, char *err,
    size_t errlen)
{
	(void)arg;
	if (store_events_flush(st, c) < 0)
		return store_db_err(c, err, errlen, "task events");
	return 0;
}

bool store_events_pending(struct store *st)
{
	struct conn *c = wlock(st);
	bool pending = st->ntev > 0;

	unlock(c);
	return pending;
}

int store_event_append(struct store *st, const struct store_event *ev,
    char *err, size_t errlen)
{
	return store_events_append(st, ev, 1, err, errlen);
}

int store_events_append(struct store *st, const struct store_event *evs,
    size_t n, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	int rc;

	if ((rc = begin(c, err, errlen)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (do_event_insert(c, &evs[i]) < 0) {
			rc = store_db_err(c, err, errlen, "append event");
			rollback(c);
			goto out;
		}
	}
	prune_if_due(st, c, n);
	rc = commit(c, err, errlen);
out:
	unlock(c);
	return rc;
}

static void event_read(sqlite3_stmt *s, void *row)
{
	struct store_event_row *r = row;

	r->id = sqlite3_column_int64(s, 0);
	r->at = sqlite3_column_int64(s, 1);
	r->actor = col_dup(s, 2);
	r->kind = col_dup(s, 3);
	r->method = col_dup(s, 4);
	r->route = col_dup(s, 5);
	r->target = col_dup(s, 6);
	r->cluster = col_dup(s, 7);
	r->result = col_dup(s, 8);
	r->detail_json = col_dup(s, 9);
}

void store_event_row_release(struct store_event_row *r)
{
	if (r == NULL)
		return;
	free(r->actor);
	free(r->kind);
	free(r->method);
	free(r->route);
	free(r->target);
	free(r->cluster);
	free(r->result);
	free(r->detail_json);
	memset(r, 0, sizeof(*r));
}

static void event_release(void *row)
{
	store_event_row_release(row);
}

static const struct store_rowtype event_rt = {
	sizeof(struct store_event_row), event_read, event_release, 0,
};

void store_event_page_release(struct store_event_page *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		store_event_row_release(&p->items[i]);
	free(p->items);
	memset(p, 0, sizeof(*p));
}

int store_event_list(struct store *st, int64_t since, const char *cluster,
    const char *cursor, int limit, struct store_event_page *out)
{
	struct conn *c;
	sqlite3_stmt *s;
	void *v = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (store_events_pending(st))
		store_write_op(st, store_events_tx_flush, NULL, NULL, 0);
	c = store_rlock(st);
	s = S(c, cluster ? SQL_EVENT_LIST_CLUSTER : SQL_EVENT_LIST_ALL);
	limit = clamp_limit(limit);
	sqlite3_bind_int64(s, 1, cursor ? strtoll(cursor, NULL, 10) : 0);
	sqlite3_bind_int64(s, 2, since);
	sqlite3_bind_int(s, 3, limit);
	if (cluster)
		bind_text(s, 4, cluster);
	rc = store_run_rows(c, s, "list events", &event_rt, limit, &v,
	    &out->n, out->next, sizeof(out->next));
	out->items = v;
	unlock(c);
	return rc;
}
