/*
 * store_task.c - tasks and their steps: the state names, submission (the
 * task with its planned steps) and every read.  The writes that move a
 * task on, per-node progress and the failure-hook intents are in
 * store_task_write.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "store_int.h"

static const char *const task_states[] = {
	"queued", "running", "paused", "succeeded", "failed", "cancelled",
	"partial",
};
static const char *const step_states[] = {
	"pending", "running", "succeeded", "failed", "skipped", "cancelled",
};
_Static_assert(ARRAY_SIZE(task_states) == STORE_TASK_NSTATES,
    "one name per task state");

const char *store_task_state_str(enum store_task_state s)
{
	return store_name_of(task_states, ARRAY_SIZE(task_states), (int)s);
}

int store_task_state_parse(const char *s, enum store_task_state *out)
{
	int i = store_name_find(task_states, ARRAY_SIZE(task_states), s);

	if (i < 0)
		return -1;
	*out = (enum store_task_state)i;
	return 0;
}

/* A state read from the store; the CHECK constraint allows only names. */
enum store_task_state store_task_state_of(const char *s)
{
	enum store_task_state st = STORE_TASK_FAILED;

	(void)store_task_state_parse(s, &st);
	return st;
}

bool store_task_state_terminal(enum store_task_state s)
{
	return s == STORE_TASK_SUCCEEDED || s == STORE_TASK_FAILED ||
	    s == STORE_TASK_CANCELLED || s == STORE_TASK_PARTIAL;
}

const char *store_step_state_str(enum store_step_state s)
{
	return store_name_of(step_states, ARRAY_SIZE(step_states), (int)s);
}

static enum store_step_state step_state_parse(const char *s)
{
	int i = store_name_find(step_states, ARRAY_SIZE(step_states), s);

	return i < 0 ? STORE_STEP_PENDING : (enum store_step_state)i;
}

struct insert_args {
	const struct store_task_new *t;
	const char *params;
	char *id_out;
	int64_t seq;
};

static int tx_task_insert(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct insert_args *a = arg;
	const struct store_task_new *t = a->t;
	sqlite3_stmt *s;
	char id[STORE_ID_MAX];
	int64_t now = t->created_at > 0 ? t->created_at : time_wall_ms();
	int rc;

	if (t->schedule_id != NULL) {
		enum store_task_state last = STORE_TASK_SUCCEEDED;
		s = S(c, SQL_SCHED_LAST_STATE);
		bind_text(s, 1, t->schedule_id);
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			rst(s);
			snprintf(err, errlen, "schedule '%s' not found",
			    t->schedule_id);
			return RM_ENOENT;
		}
		if (col_str(s, 0) != NULL)
			last = store_task_state_of(col_str(s, 0));
		rst(s);
		if (!store_task_state_terminal(last)) {
			s = S(c, SQL_SCHED_SET_NEXT);
			bind_text(s, 1, t->schedule_id);
			sqlite3_bind_int64(s, 2, t->schedule_next_run_at);
			if (exec_stmt(s) != SQLITE_DONE)
				return store_db_err(c, err, errlen, "schedule");
			snprintf(err, errlen, "the previous task of schedule "
			    "'%s' is not finished", t->schedule_id);
			return OP_KEEP_BUSY;
		}
	}

	store_new_id(st, 't', id);
	s = S(c, SQL_TASK_INSERT);
	bind_text(s, 1, id);
	bind_text(s, 2, t->cluster);
	bind_text(s, 3, t->type);
	bind_text(s, 4, a->params);
	sqlite3_bind_int64(s, 5, now);
	bind_text(s, 6, t->schedule_id);
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = store_db_err(c, err, errlen, "insert task");
		if (rc == RM_ENOENT)
			snprintf(err, errlen, "cluster '%s' not found",
			    t->cluster);
		return rc;
	}
	a->seq = sqlite3_last_insert_rowid(c->db);
	for (size_t i = 0; i < t->nsteps; i++) {
		s = S(c, SQL_STEP_INSERT);
		bind_text(s, 1, id);
		sqlite3_bind_int(s, 2, (int)i);
		bind_text(s, 3, t->steps[i].name);
		bind_text(s, 4, t->steps[i].node);
		if (exec_stmt(s) != SQLITE_DONE)
			return store_db_err(c, err, errlen, "insert step");
	}
	if (t->schedule_id != NULL) {
		s = S(c, SQL_SCHED_FIRED);
		bind_text(s, 1, t->schedule_id);
		bind_text(s, 2, id);
		sqlite3_bind_int64(s, 3, now);
		sqlite3_bind_int64(s, 4, t->schedule_next_run_at);
		if (exec_stmt(s) != SQLITE_DONE)
			return store_db_err(c, err, errlen, "schedule fired");
	}
	if (store_task_event_add(st, id, t->cluster, t->type,
	    (enum store_task_state)-1, STORE_TASK_QUEUED, NULL, now) < 0)
		return store_db_err(c, err, errlen, "task event");
	memcpy(a->id_out, id, STORE_ID_MAX);
	return 0;
}

int store_task_insert(struct store *st, const struct store_task_new *t,
    char *id_out, int64_t *seq_out, char *err, size_t errlen)
{
	struct insert_args a = { .t = t, .id_out = id_out };
	char *params;
	int rc;

	if (t->nsteps == 0) {
		snprintf(err, errlen, "a task needs at least one step");
		return RM_ERR;
	}
	params = t->params ? json_dumps(t->params, JSON_COMPACT) :
	    xstrdup("{}");
	a.params = params;
	rc = store_write_op(st, tx_task_insert, &a, err, errlen);
	if (rc == 0 && seq_out != NULL)
		*seq_out = a.seq;
	free(params);
	return rc;
}

static void step_from_row(struct store_step *sp, sqlite3_stmt *s, int i)
{
	sp->idx = sqlite3_column_int(s, i);
	sp->name = col_dup(s, i + 1);
	sp->node = col_dup(s, i + 2);
	sp->state = step_state_parse(col_str(s, i + 3));
	sp->attempts = sqlite3_column_int(s, i + 4);
	sp->started_at = sqlite3_column_int64(s, i + 5);
	sp->finished_at = sqlite3_column_int64(s, i + 6);
	sp->message = col_dup(s, i + 7);
	sp->next_attempt_at = sqlite3_column_int64(s, i + 8);
}

/* The task row and its steps in one statement: one read transaction. */
struct store_task *store_task_load(struct store *st, const char *id)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_TASK_LOAD);
	struct store_task *t = NULL;
	size_t cap = 0;
	int rc;

	bind_text(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (t == NULL) {
			t = xcalloc(1, sizeof(*t));
			t->seq = sqlite3_column_int64(s, 0);
			str_copy(t->id, col_str(s, 1), sizeof(t->id));
			str_copy(t->cluster, col_str(s, 2), sizeof(t->cluster));
			str_copy(t->type, col_str(s, 3), sizeof(t->type));
			t->state = store_task_state_of(col_str(s, 4));
			t->params = json_loads(col_str(s, 5), 0, NULL);
			if (t->params == NULL)
				t->params = json_object();
			t->created_at = sqlite3_column_int64(s, 6);
			t->started_at = sqlite3_column_int64(s, 7);
			t->finished_at = sqlite3_column_int64(s, 8);
			t->error = col_dup(s, 9);
			t->cancel_requested = sqlite3_column_int(s, 10) != 0;
			t->pause_requested = sqlite3_column_int(s, 11) != 0;
			if (col_str(s, 12) != NULL)
				str_copy(t->schedule_id, col_str(s, 12),
				    sizeof(t->schedule_id));
		}
		if (sqlite3_column_type(s, 13) == SQLITE_NULL)
			continue;		/* no steps (never inserted) */
		if (t->nsteps == cap) {
			cap = cap ? cap * 2 : 8;
			t->steps = xrealloc(t->steps, cap * sizeof(*t->steps));
		}
		step_from_row(&t->steps[t->nsteps++], s, 13);
	}
	rst(s);
	if (rc != SQLITE_DONE) {
		store_db_err(c, NULL, 0, "load task");
		store_task_free(t);
		t = NULL;
	}
	unlock(c);
	return t;
}

void store_task_free(struct store_task *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nsteps; i++) {
		free(t->steps[i].name);
		free(t->steps[i].node);
		free(t->steps[i].message);
	}
	free(t->steps);
	free(t->error);
	json_decref(t->params);
	free(t);
}

/* A row of TASK_COLS. */
static void task_row_read(sqlite3_stmt *s, void *row)
{
	struct store_task_row *r = row;

	r->seq = sqlite3_column_int64(s, 0);
	col_copy(s, 1, r->id, sizeof(r->id));
	col_copy(s, 2, r->cluster, sizeof(r->cluster));
	col_copy(s, 3, r->type, sizeof(r->type));
	r->state = store_task_state_of(col_str(s, 4));
	r->params = col_str(s, 5) ? json_loads(col_str(s, 5), 0, NULL) : NULL;
	if (!json_is_object(r->params)) {
		json_decref(r->params);
		r->params = json_object();
	}
	r->created_at = sqlite3_column_int64(s, 6);
	r->started_at = sqlite3_column_int64(s, 7);
	r->finished_at = sqlite3_column_int64(s, 8);
	r->error = col_dup(s, 9);
	r->cancel_requested = sqlite3_column_int(s, 10) != 0;
	r->pause_requested = sqlite3_column_int(s, 11) != 0;
	col_copy(s, 12, r->schedule_id, sizeof(r->schedule_id));
	r->steps_done = sqlite3_column_int(s, 13);
	r->steps_total = sqlite3_column_int(s, 14);
}

void store_task_row_release(struct store_task_row *r)
{
	if (r == NULL)
		return;
	json_decref(r->params);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

static void task_row_free(void *row)
{
	store_task_row_release(row);
}

static const struct store_rowtype task_rt = {
	sizeof(struct store_task_row), task_row_read, task_row_free, 0,
};

static void step_read(sqlite3_stmt *s, void *row)
{
	step_from_row(row, s, 0);
}

static void step_release(void *row)
{
	struct store_step *sp = row;

	free(sp->name);
	free(sp->node);
	free(sp->message);
}

static const struct store_rowtype step_rt = {
	sizeof(struct store_step), step_read, step_release, 0,
};

/* NULL counts and rates are unknown: -1, as store_step_node_put() takes
 * them. */
static int64_t col_count(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(s, i);
}

static void step_node_read(sqlite3_stmt *s, void *row)
{
	struct store_step_node_row *r = row;

	r->idx = sqlite3_column_int(s, 0);
	r->node = col_dup(s, 1);
	r->phase = col_dup(s, 2);
	r->files_done = col_count(s, 3);
	r->files_total = col_count(s, 4);
	r->bytes_done = col_count(s, 5);
	r->bytes_total = col_count(s, 6);
	r->rate_bps = sqlite3_column_type(s, 7) == SQLITE_NULL ? -1 :
	    sqlite3_column_double(s, 7);
	r->state = col_dup(s, 8);
	r->message = col_dup(s, 9);
	r->updated_at = sqlite3_column_int64(s, 10);
}

static void step_node_release(void *row)
{
	struct store_step_node_row *r = row;

	free(r->node);
	free(r->phase);
	free(r->state);
	free(r->message);
}

static const struct store_rowtype step_node_rt = {
	sizeof(struct store_step_node_row), step_node_read, step_node_release,
	0,
};

void store_task_detail_release(struct store_task_detail *d)
{
	if (d == NULL)
		return;
	store_task_row_release(&d->task);
	for (size_t i = 0; i < d->nsteps; i++)
		step_release(&d->steps[i]);
	free(d->steps);
	for (size_t i = 0; i < d->nnodes; i++)
		step_node_release(&d->nodes[i]);
	free(d->nodes);
	memset(d, 0, sizeof(*d));
}

int store_task_get(struct store *st, const char *id,
    struct store_task_detail *out)
{
	struct conn *c = store_rlock(st);
	void *v = NULL;
	bool tx;
	int rc;

	memset(out, 0, sizeof(*out));
	/* One read transaction for the three statements, so the steps and
	 * their progress are those of the row read (a writer may commit
	 * between them otherwise). */
	tx = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
	bind_text(S(c, SQL_TASK_GET), 1, id);
	rc = store_run_row(c, S(c, SQL_TASK_GET), "get task", &task_rt,
	    &out->task);
	if (rc != 0)
		goto out;
	bind_text(S(c, SQL_TASK_STEPS), 1, id);
	rc = store_run_rows(c, S(c, SQL_TASK_STEPS), "task steps", &step_rt,
	    0, &v, &out->nsteps, NULL, 0);
	out->steps = v;
	if (rc != 0)
		goto out;
	v = NULL;
	bind_text(S(c, SQL_STEP_NODES), 1, id);
	rc = store_run_rows(c, S(c, SQL_STEP_NODES), "step nodes",
	    &step_node_rt, 0, &v, &out->nnodes, NULL, 0);
	out->nodes = v;
out:
	if (tx)
		sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	unlock(c);
	if (rc != 0)
		store_task_detail_release(out);
	return rc;
}

void store_task_page_release(struct store_task_page *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		store_task_row_release(&p->items[i]);
	free(p->items);
	memset(p, 0, sizeof(*p));
}

int store_task_list(struct store *st, const char *cluster,
    const char *state, const char *cursor, int limit,
    struct store_task_page *out)
{
	struct conn *c;
	sqlite3_stmt *s;
	enum sql_id q;
	enum store_task_state ts;
	void *v = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (state != NULL && store_task_state_parse(state, &ts) < 0)
		return RM_EINVAL;
	if (cluster != NULL)
		q = state ? SQL_TASK_LIST_CLUSTER_STATE : SQL_TASK_LIST_CLUSTER;
	else
		q = state ? SQL_TASK_LIST_STATE : SQL_TASK_LIST_ALL;
	limit = clamp_limit(limit);
	c = store_rlock(st);
	s = S(c, q);
	sqlite3_bind_int64(s, 1, cursor ? strtoll(cursor, NULL, 10) : INT64_MAX);
	sqlite3_bind_int(s, 2, limit);
	if (state != NULL)
		bind_text(s, 3, state);
	if (cluster != NULL)
		bind_text(s, 4, cluster);
	rc = store_run_rows(c, s, "list tasks", &task_rt, limit, &v, &out->n,
	    out->next, sizeof(out->next));
	out->items = v;
	unlock(c);
	return rc;
}

int store_tasks_unfinished(struct store *st, struct store_task_ref **out,
    size_t *n)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = S(c, SQL_TASK_UNFINISHED);
	struct store_task_ref *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		struct store_task_ref *r = &v[len++];
		memset(r, 0, sizeof(*r));
		str_copy(r->id, col_str(s, 0), sizeof(r->id));
		str_copy(r->cluster, col_str(s, 1), sizeof(r->cluster));
		r->state = store_task_state_of(col_str(s, 2));
		r->seq = sqlite3_column_int64(s, 3);
		r->started = sqlite3_column_int(s, 4) != 0;
	}
	rst(s);
	if (rc != SQLITE_DONE) {
		rc = store_db_err(c, NULL, 0, "unfinished tasks");
		free(v);
		unlock(c);
		return rc;
	}
	unlock(c);
	*out = v;
	*n = len;
	return 0;
}

static void count_read(sqlite3_stmt *s, void *row)
{
	struct store_task_count *r = row;

	col_copy(s, 0, r->type, sizeof(r->type));
	r->state = store_task_state_of(col_str(s, 1));
	r->count = sqlite3_column_int64(s, 2);
}

static const struct store_rowtype count_rt = {
	sizeof(struct store_task_count), count_read, NULL, 0,
};

int store_task_counts(struct store *st, struct store_task_count **out,
    size_t *n)
{
	struct conn *c = store_rlock(st);
	void *v = NULL;
	int rc;

	rc = store_run_rows(c, S(c, SQL_TASK_COUNTS), "task counts",
	    &count_rt, 0, &v, n, NULL, 0);
	unlock(c);
	if (rc == 0)
		*out = v;
	return rc;
}

static void success_read(sqlite3_stmt *s, void *row)
{
	struct store_task_success *r = row;

	col_copy(s, 0, r->cluster, sizeof(r->cluster));
	col_copy(s, 1, r->type, sizeof(r->type));
	r->finished_at = sqlite3_column_int64(s, 2);
}

static const struct store_rowtype success_rt = {
	sizeof(struct store_task_success), success_read, NULL, 0,
};

int store_task_last_success(struct store *st,
    struct store_task_success **out, size_t *n)
{
	struct conn *c = store_rlock(st);
	void *v = NULL;
	int rc;

	rc = store_run_rows(c, S(c, SQL_TASK_LAST_SUCCESS),
	    "last successful tasks", &success_rt, 0, &v, n, NULL, 0);
	unlock(c);
	if (rc == 0)
		*out = v;
	return rc;
}
