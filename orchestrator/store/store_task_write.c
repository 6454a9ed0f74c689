/*
 * store_task_write.c - the writes that move a task on once it is
 * submitted (store_task.c holds submission and the reads): state
 * transitions as compare-and-set, the API's cancel/pause/resume requests,
 * a resumed step, per-node progress of steps, and the failure-hook
 * intents (task_failing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "store_int.h"

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

