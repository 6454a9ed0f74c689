/*
 * store_task.c - tasks and their steps, per-node progress of steps,
 * and the failure-hook intents (task_failing)
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
	    s == STORE_TASK_CANCELLED;
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

struct update_args {
	const char *id;
	const struct store_transition *tr;
	enum store_task_state actual;
};

/*
 * The compare-and-set: the head row is read and checked against the mask
 * first, so a refused change writes nothing (no step row either), and
 * the UPDATE repeats the check (WHERE state = the state read): the two
 * cannot disagree inside the writer's transaction, and a change to the
 * statement that lost the read could not lose the guard.
 */
static int tx_steps_set(struct conn *c, const struct update_args *a,
    char *err, size_t errlen)
{
	const struct store_transition *tr = a->tr;

	for (size_t i = 0; i < tr->nsu; i++) {
		const struct store_step_update *u = &tr->su[i];
		sqlite3_stmt *s = S(c, SQL_STEP_SET);
		bind_text(s, 1, a->id);
		sqlite3_bind_int(s, 2, u->idx);
		bind_text(s, 3, store_step_state_str(u->state));
		sqlite3_bind_int(s, 4, u->attempts);
		bind_keep(s, 5, u->started_at);
		bind_keep(s, 6, u->finished_at);
		bind_keep(s, 7, u->next_attempt_at);
		bind_text(s, 8, u->message);
		sqlite3_bind_int(s, 9, tr->clear_resumes);
		if (exec_stmt(s) != SQLITE_DONE)
			return store_db_err(c, err, errlen, "update step");
	}
	return 0;
}

/* The side effects of entering state to from state from (cancelled: the
 * open steps; a task event). */
static int tx_entered(struct store *st, struct conn *c,
    const struct update_args *a, enum store_task_state from,
    const char *cluster, const char *type, char *err, size_t errlen)
{
	const struct store_transition *tr = a->tr;
	enum store_task_state to = (enum store_task_state)tr->to;
	sqlite3_stmt *s;

	if (to == STORE_TASK_CANCELLED) {
		s = S(c, SQL_STEPS_CANCEL);
		bind_text(s, 1, a->id);
		sqlite3_bind_int64(s, 2, tr->now);
		if (exec_stmt(s) != SQLITE_DONE)
			return store_db_err(c, err, errlen, "cancel steps");
	}
	/* A finished task has no failure hook left to run: its intent
	 * goes in the same commit as the state that ends it. */
	if (store_task_state_terminal(to)) {
		s = S(c, SQL_TASK_FAILING_END);
		bind_text(s, 1, a->id);
		if (exec_stmt(s) != SQLITE_DONE)
			return store_db_err(c, err, errlen, "task failing");
	}
	if (from != to && store_task_event_add(st, a->id, cluster, type, from,
	    to, tr->error, tr->now) < 0)
		return store_db_err(c, err, errlen, "task event");
	return 0;
}

/*
 * The common case, one state to another from exactly one state: the
 * check, the write and what the event needs in one UPDATE ... RETURNING.
 * 1 when it found no row in that state (the caller reads what is there).
 */
static int tx_task_cas_one(struct store *st, struct conn *c,
    struct update_args *a, enum store_task_state from, char *err,
    size_t errlen)
{
	const struct store_transition *tr = a->tr;
	enum store_task_state to = (enum store_task_state)tr->to;
	char cluster[STORE_NAME_MAX], type[STORE_NAME_MAX];
	bool terminal = store_task_state_terminal(to);
	sqlite3_stmt *s = S(c, SQL_TASK_CAS);
	int rc;

	bind_text(s, 1, a->id);
	bind_text(s, 2, store_task_state_str(to));
	bind_time(s, 3, to == STORE_TASK_RUNNING ? tr->now : 0);
	bind_time(s, 4, terminal ? tr->now : 0);
	bind_text(s, 5, tr->error);
	sqlite3_bind_int(s, 6, terminal ? 0 : -1);
	sqlite3_bind_int(s, 7, terminal || to == STORE_TASK_QUEUED ||
	    to == STORE_TASK_PAUSED ? 0 : -1);
	bind_text(s, 8, store_task_state_str(from));
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		rst(s);
		if (rc != SQLITE_DONE)
			return store_db_err(c, err, errlen, "update task");
		return 1;
	}
	str_copy(cluster, col_str(s, 0), sizeof(cluster));
	str_copy(type, col_str(s, 1), sizeof(type));
	/* RETURNING: the row is written by the time the statement is done. */
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(s);
	rst(s);
	if (rc != SQLITE_DONE)
		return store_db_err(c, err, errlen, "update task");
	a->actual = to;
	if ((rc = tx_steps_set(c, a, err, errlen)) < 0)
		return rc;
	return tx_entered(st, c, a, from, cluster, type, err, errlen);
}

static int tx_task_update(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct update_args *a = arg;
	const struct store_transition *tr = a->tr;
	enum store_task_state from;
	char cluster[STORE_NAME_MAX], type[STORE_NAME_MAX];
	int64_t started, seq;
	/* A finished task's state never changes again. */
	unsigned from_mask = tr->to < 0 ? tr->from : tr->from &
	    STORE_TASK_UNFINISHED;
	bool pause_req;
	sqlite3_stmt *s;
	int rc;

	/* One state to another, from exactly one: the UPDATE is the check. */
	if (tr->to >= 0 && !tr->need_pause && from_mask != 0 &&
	    (from_mask & (from_mask - 1)) == 0) {
		from = (enum store_task_state)__builtin_ctz(from_mask);
		if ((rc = tx_task_cas_one(st, c, a, from, err, errlen)) <= 0)
			return rc;
	}
	s = S(c, SQL_TASK_HEAD);
	bind_text(s, 1, a->id);
	if (sqlite3_step(s) != SQLITE_ROW) {
		rst(s);
		snprintf(err, errlen, "task '%s' not found", a->id);
		return RM_ENOENT;
	}
	from = store_task_state_of(col_str(s, 0));
	str_copy(cluster, col_str(s, 1), sizeof(cluster));
	str_copy(type, col_str(s, 2), sizeof(type));
	started = sqlite3_column_int64(s, 3);
	seq = sqlite3_column_int64(s, 4);
	pause_req = sqlite3_column_int(s, 5) != 0;
	rst(s);
	a->actual = from;
	if ((from_mask & STORE_TASK_BIT(from)) == 0 ||
	    (tr->need_pause && !pause_req)) {
		snprintf(err, errlen, "task '%s' is %s%s: state not changed",
		    a->id, store_task_state_str(from), (from_mask &
		    STORE_TASK_BIT(from)) != 0 ? " and no pause is requested" :
		    "");
		return RM_ECONFLICT;
	}

	if ((rc = tx_steps_set(c, a, err, errlen)) < 0)
		return rc;
	if (tr->to >= 0) {
		enum store_task_state to = (enum store_task_state)tr->to;
		bool terminal = store_task_state_terminal(to);

		/* Terminal clears both requests; queued/paused the pause.
		 * By rowid: the row was just found, no second index walk. */
		s = S(c, SQL_TASK_SET);
		sqlite3_bind_int64(s, 1, seq);
		bind_text(s, 2, store_task_state_str(to));
		bind_time(s, 3, started > 0 ? started :
		    (to == STORE_TASK_RUNNING ? tr->now : 0));
		bind_time(s, 4, terminal ? tr->now : 0);
		bind_text(s, 5, tr->error);
		sqlite3_bind_int(s, 6, terminal ? 0 : -1);
		sqlite3_bind_int(s, 7, terminal || to == STORE_TASK_QUEUED ||
		    to == STORE_TASK_PAUSED ? 0 : -1);
		bind_text(s, 8, store_task_state_str(from));
		if (exec_stmt(s) != SQLITE_DONE)
			return store_db_err(c, err, errlen, "update task");
		if (sqlite3_changes(c->db) != 1) {
			snprintf(err, errlen, "task '%s' changed under its "
			    "update: state not changed", a->id);
			return RM_ECONFLICT;
		}
		if ((rc = tx_entered(st, c, a, from, cluster, type, err,
		    errlen)) < 0)
			return rc;
	} else if (tr->error != NULL) {
		s = S(c, SQL_TASK_SET_ERROR);
		bind_text(s, 1, a->id);
		bind_text(s, 2, tr->error);
		if (exec_stmt(s) != SQLITE_DONE)
			return store_db_err(c, err, errlen, "task error");
	}
	return 0;
}

int store_task_transition(struct store *st, const char *id,
    const struct store_transition *tr, enum store_task_state *actual,
    char *err, size_t errlen)
{
	struct store_transition t = *tr;
	struct update_args a = { .id = id, .tr = &t,
	    .actual = STORE_TASK_FAILED };
	int rc;

	if (t.now <= 0)
		t.now = time_wall_ms();
	rc = store_write_op(st, tx_task_update, &a, err, errlen);
	if (actual != NULL)
		*actual = a.actual;
	return rc;
}

struct update_async {
	struct update_args a;
	struct store_transition tr;
	store_task_done_fn *done;
	void *arg;
};

static void update_async_done(void *arg, int rc, const char *err)
{
	struct update_async *u = arg;

	u->done(u->arg, rc, u->a.actual, err);
	free(u);
}

void store_task_transition_async(struct store *st, const char *id,
    const struct store_transition *tr, store_task_done_fn *done, void *arg)
{
	struct update_async *u = xcalloc(1, sizeof(*u));

	u->tr = *tr;
	if (u->tr.now <= 0)
		u->tr.now = time_wall_ms();
	u->a = (struct update_args){ .id = id, .tr = &u->tr,
	    .actual = STORE_TASK_FAILED };
	u->done = done;
	u->arg = arg;
	store_write_op_async(st, tx_task_update, u, update_async_done);
}

int store_task_update(struct store *st, const char *id, int task_state,
    int64_t now, const char *error, const struct store_step_update *su,
    size_t nsu, char *err, size_t errlen)
{
	/* Any unfinished state, and a finished one into itself (a no-op
	 * kept for old callers): anything else is refused as finished. */
	struct store_transition tr = {
		.from = task_state < 0 ? ~0u : STORE_TASK_UNFINISHED,
		.to = task_state, .now = now,
		.error = error, .su = su, .nsu = nsu,
	};
	enum store_task_state actual;
	int rc;

	rc = store_task_transition(st, id, &tr, &actual, err, errlen);
	if (rc == RM_ECONFLICT && store_task_state_terminal(actual)) {
		if (task_state >= 0 && (int)actual == task_state && nsu == 0 &&
		    error == NULL)
			return 0;
		snprintf(err, errlen, "task '%s' is already %s", id,
		    store_task_state_str(actual));
		return RM_EBUSY;
	}
	return rc;
}

int store_task_request(struct store *st, const char *id,
    enum store_request req, char *err, size_t errlen)
{
	struct conn *c = wlock(st);
	sqlite3_stmt *s = S(c, SQL_TASK_REQUEST);
	int rc = 0;

	bind_text(s, 1, id);
	/* -1 keeps the other flag (see the CASE in the statement). */
	sqlite3_bind_int(s, 2, req == STORE_REQ_CANCEL ? 1 :
	    req == STORE_REQ_NONE ? 0 : -1);
	sqlite3_bind_int(s, 3, req == STORE_REQ_PAUSE ? 1 :
	    req == STORE_REQ_NONE || req == STORE_REQ_UNPAUSE ? 0 : -1);
	sqlite3_bind_int(s, 4, req == STORE_REQ_UNPAUSE);
	if (exec_stmt(s) != SQLITE_DONE) {
		rc = store_db_err(c, err, errlen, "task request");
	} else if (sqlite3_changes(c->db) == 0) {
		/* Refused by the state guard, or no such task. */
		s = S(c, SQL_TASK_HEAD);
		bind_text(s, 1, id);
		if (sqlite3_step(s) == SQLITE_ROW) {
			snprintf(err, errlen, "task '%s' is %s: request not "
			    "recorded", id, col_str(s, 0));
			rc = RM_ECONFLICT;
		} else {
			snprintf(err, errlen, "task '%s' not found", id);
			rc = RM_ENOENT;
		}
		rst(s);
	}
	unlock(c);
	return rc;
}

struct resumed_args {
	const char *id;
	int idx;
	int resumes;
};

static int tx_step_resumed(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct resumed_args *a = arg;
	sqlite3_stmt *s = S(c, SQL_STEP_RESUMED);
	int rc;

	(void)st;
	bind_text(s, 1, a->id);
	sqlite3_bind_int(s, 2, a->idx);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		a->resumes = sqlite3_column_int(s, 0);
	/* RETURNING: the row is written when the statement runs to its
	 * end, so step it to SQLITE_DONE before the reset. */
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		rc = store_db_err(c, err, errlen, "step resumed");
		rst(s);
		return rc;
	}
	rst(s);
	if (a->resumes < 0) {
		snprintf(err, errlen, "step %d of task '%s' is not running",
		    a->idx, a->id);
		return RM_ENOENT;
	}
	return 0;
}

int store_step_resumed(struct store *st, const char *id, int idx,
    int *resumes, char *err, size_t errlen)
{
	struct resumed_args a = { .id = id, .idx = idx, .resumes = -1 };
	int rc;

	rc = store_write_op(st, tx_step_resumed, &a, err, errlen);
	if (rc == 0)
		*resumes = a.resumes;
	return rc;
}

/* ---- per-node progress of steps, and failure hooks ---------------------- */

struct sn_args {
	const char *task_id;
	int idx;
	const struct store_node_progress *p;
	const char *error;
};

static int tx_step_node_put(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct sn_args *a = arg;
	const struct store_node_progress *p = a->p;
	sqlite3_stmt *s = store_prep(c, "INSERT OR REPLACE INTO step_nodes (task_id,"
	    " idx, node, phase, files_done, files_total, bytes_done,"
	    " bytes_total, rate_bps, state, message, updated_at) VALUES"
	    " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");

	(void)st;
	bind_text(s, 1, a->task_id);
	sqlite3_bind_int(s, 2, a->idx);
	bind_text(s, 3, p->node);
	bind_text(s, 4, p->phase);
	bind_keep(s, 5, p->files_done);
	bind_keep(s, 6, p->files_total);
	bind_keep(s, 7, p->bytes_done);
	bind_keep(s, 8, p->bytes_total);
	if (p->rate_bps < 0)
		sqlite3_bind_null(s, 9);
	else
		sqlite3_bind_double(s, 9, p->rate_bps);
	bind_text(s, 10, p->state ? p->state : "running");
	bind_text(s, 11, p->message);
	sqlite3_bind_int64(s, 12, p->updated_at > 0 ? p->updated_at :
	    time_wall_ms());
	return store_run_fin(c, s, err, errlen, "step node");
}

int store_step_node_put(struct store *st, const char *task_id, int idx,
    const struct store_node_progress *p, char *err, size_t errlen)
{
	struct sn_args a = { .task_id = task_id, .idx = idx, .p = p };

	if (p->node == NULL)
		return RM_ENOENT;
	return store_write_op(st, tx_step_node_put, &a, err, errlen);
}

static int tx_failing_set(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct sn_args *a = arg;
	sqlite3_stmt *s = store_prep(c, "INSERT OR REPLACE INTO task_failing"
	    " (task_id, step_idx, error) VALUES (?1,?2,?3)");

	(void)st;
	bind_text(s, 1, a->task_id);
	sqlite3_bind_int(s, 2, a->idx);
	bind_text(s, 3, a->error);
	return store_run_fin(c, s, err, errlen, "task failing");
}

int store_task_failing_set(struct store *st, const char *id, int step_idx,
    const char *error, char *err, size_t errlen)
{
	struct sn_args a = { .task_id = id, .idx = step_idx, .error = error };

	return store_write_op(st, tx_failing_set, &a, err, errlen);
}

int store_task_failing_get(struct store *st, const char *id, int *step_idx,
    char **error)
{
	struct conn *c = store_rlock(st);
	sqlite3_stmt *s = store_prep(c, "SELECT step_idx, error FROM task_failing"
	    " WHERE task_id = ?1");
	int rc;

	bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*step_idx = sqlite3_column_int(s, 0);
		*error = col_dup(s, 1);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = RM_ENOENT;
	} else {
		rc = store_db_err(c, NULL, 0, "task failing");
	}
	sqlite3_finalize(s);
	unlock(c);
	return rc;
}

static int tx_failing_clear(struct store *st, struct conn *c, void *arg,
    char *err, size_t errlen)
{
	struct sn_args *a = arg;
	sqlite3_stmt *s = store_prep(c, "DELETE FROM task_failing WHERE"
	    " task_id = ?1");

	(void)st;
	bind_text(s, 1, a->task_id);
	return store_run_fin(c, s, err, errlen, "task failing");
}

int store_task_failing_clear(struct store *st, const char *id, char *err,
    size_t errlen)
{
	struct sn_args a = { .task_id = id };

	return store_write_op(st, tx_failing_clear, &a, err, errlen);
}

