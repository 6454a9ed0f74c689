/*
 * store_task.h - tasks, steps, per-node step progress and failure-hook
 * intents in the store
 * (store_task.c); included by store.h, whose conventions apply.
 */
#ifndef RM_STORE_TASK_H
#define RM_STORE_TASK_H

#include "store.h"

/* ---- tasks and steps --------------------------------------------------- */

enum store_task_state {
	STORE_TASK_QUEUED,
	STORE_TASK_RUNNING,
	STORE_TASK_PAUSED,
	STORE_TASK_SUCCEEDED,
	STORE_TASK_FAILED,
	STORE_TASK_CANCELLED,
	/* ended with every step done but part of the work not (a repair
	 * with ranges left unrepaired): terminal, its error says what */
	STORE_TASK_PARTIAL,
};
#define STORE_TASK_NSTATES 7

enum store_step_state {
	STORE_STEP_PENDING,
	STORE_STEP_RUNNING,
	STORE_STEP_SUCCEEDED,
	STORE_STEP_FAILED,
	STORE_STEP_SKIPPED,
	STORE_STEP_CANCELLED,
};

/* "queued" ... "cancelled", "partial"; parse returns 0 or -1 for an unknown name. */
const char *store_task_state_str(enum store_task_state s);
int store_task_state_parse(const char *s, enum store_task_state *out);
bool store_task_state_terminal(enum store_task_state s);
const char *store_step_state_str(enum store_step_state s);

/* One planned step: a name and the node it acts on (NULL: the cluster). */
struct store_step_plan {
	const char *name;
	const char *node;
};

struct store_task_new {
	const char *cluster;
	const char *type;
	const json_t *params;		/* serialised; NULL means {} */
	const struct store_step_plan *steps;
	size_t nsteps;			/* >= 1 */
	/*
	 * Set when a schedule fires: in the same transaction the schedule's
	 * last_task_id, last_run_at (= now) and next_run_at are updated, and
	 * nothing is inserted (RM_EBUSY) while the schedule's previous task
	 * is still queued, running or paused (next_run_at still advances).
	 */
	const char *schedule_id;
	int64_t schedule_next_run_at;
	int64_t created_at;		/* ms; 0 = now */
};

/*
 * Insert a task in state queued with its steps (pending) in one
 * transaction; it gets the next seq (FIFO order) and a fresh id "t-<hex>"
 * copied to id_out (STORE_ID_MAX bytes).  *seq_out may be NULL.  Writes a
 * task event (kind "task", result "queued"; see "Task events").
 * 0, RM_ENOENT (no such cluster/schedule), RM_EBUSY, RM_ERR.
 */
int store_task_insert(struct store *st, const struct store_task_new *t,
    char *id_out, int64_t *seq_out, char *err, size_t errlen);

struct store_step {
	int idx;			/* 0-based order */
	char *name;
	char *node;			/* NULL: the cluster */
	enum store_step_state state;
	int attempts;			/* attempts started so far */
	int64_t started_at, finished_at, next_attempt_at;
	char *message;			/* NULL or the last progress/error */
};

struct store_task {
	char id[STORE_ID_MAX];
	char cluster[STORE_NAME_MAX];
	char type[STORE_NAME_MAX];
	enum store_task_state state;
	json_t *params;			/* owned, never NULL */
	int64_t seq;
	int64_t created_at, started_at, finished_at;
	char *error;			/* NULL or why it failed */
	bool cancel_requested, pause_requested;
	char schedule_id[STORE_ID_MAX];	/* "" when not from a schedule */
	struct store_step *steps;
	size_t nsteps;
};

/* The task with its steps, or NULL (missing, or database error). */
struct store_task *store_task_load(struct store *st, const char *id);
void store_task_free(struct store_task *t);

/* A task as listed: the row and how far its steps are. */
struct store_task_row {
	char id[STORE_ID_MAX];
	char cluster[STORE_NAME_MAX];
	char type[STORE_NAME_MAX];
	enum store_task_state state;
	json_t *params;			/* owned, an object ({} when the stored
					   text is not one) */
	int64_t seq;
	int64_t created_at, started_at, finished_at;	/* ms, 0 = none */
	char *error;			/* NULL or why it failed */
	bool cancel_requested, pause_requested;
	char schedule_id[STORE_ID_MAX];	/* "" when not from a schedule */
	int steps_done;			/* succeeded or skipped */
	int steps_total;
};
void store_task_row_release(struct store_task_row *r);

/* The progress of one node in one step, as read (see store_node_progress:
 * counts < 0 and rate_bps < 0 are unknown). */
struct store_step_node_row {
	int idx;			/* the step */
	char *node, *phase;
	int64_t files_done, files_total, bytes_done, bytes_total;
	double rate_bps;
	char *state, *message;
	int64_t updated_at;		/* ms */
};

/* A task with its steps and their per-node progress (by step, node). */
struct store_task_detail {
	struct store_task_row task;
	struct store_step *steps;	/* by idx */
	size_t nsteps;
	struct store_step_node_row *nodes;
	size_t nnodes;
};
void store_task_detail_release(struct store_task_detail *d);

/* 0, RM_ENOENT, RM_ERR; release *out in every case.  One read
 * transaction, so the steps and progress belong to the row. */
int store_task_get(struct store *st, const char *id,
    struct store_task_detail *out);

struct store_task_page {
	struct store_task_row *items;
	size_t n;
	char next[STORE_CURSOR_MAX];	/* "" on the last page */
};
void store_task_page_release(struct store_task_page *p);
/*
 * Newest first (by seq).  cluster NULL = all clusters, state NULL = any.
 * 0, RM_EINVAL (state is not a task state name: validate it first with
 * store_task_state_parse()), RM_ERR; release *out in every case.
 */
int store_task_list(struct store *st, const char *cluster,
    const char *state, const char *cursor, int limit,
    struct store_task_page *out);

/* A task that is not finished, for resume at start-up. */
struct store_task_ref {
	char id[STORE_ID_MAX];
	char cluster[STORE_NAME_MAX];
	enum store_task_state state;
	int64_t seq;
	bool started;			/* started_at is set */
};
/*
 * Every queued, running or paused task, started ones first, then by seq:
 * the order in which to push them back into their queues.  *out is the
 * caller's (free()).  0 or RM_ERR.
 */
int store_tasks_unfinished(struct store *st, struct store_task_ref **out,
    size_t *n);

/* For /metrics: the number of tasks of each (type, state). */
struct store_task_count {
	char type[STORE_NAME_MAX];
	enum store_task_state state;
	int64_t count;
};
/* By type, then state name.  0 with *out (the caller's, free()) and *n,
 * or RM_ERR. */
int store_task_counts(struct store *st, struct store_task_count **out,
    size_t *n);
/* For /metrics: the latest succeeded task of each (cluster, type). */
struct store_task_success {
	char cluster[STORE_NAME_MAX];
	char type[STORE_NAME_MAX];
	int64_t finished_at;		/* ms */
};
/* By cluster, then type.  0 with *out (the caller's, free()) and *n, or
 * RM_ERR. */
int store_task_last_success(struct store *st,
    struct store_task_success **out, size_t *n);

/* A change to one step, written by the task runner. */
struct store_step_update {
	int idx;
	enum store_step_state state;
	int attempts;
	int64_t started_at;		/* -1 keeps */
	int64_t finished_at;		/* -1 keeps */
	int64_t next_attempt_at;	/* -1 keeps */
	const char *message;		/* NULL keeps; "" clears */
};

#define STORE_KEEP (-1)

/*
 * One transaction: set the task's state (task_state < 0 keeps it) and
 * apply nsu step updates.  Entering running sets started_at when unset;
 * entering a terminal state sets finished_at (= now) and, for cancelled,
 * turns every pending/running step into cancelled; entering queued or
 * paused clears pause_requested; any terminal state clears both request
 * flags.  error (NULL keeps) is the task's error text.  A task state
 * change makes a task event (see "Task events").  A finished task
 * (succeeded, failed, cancelled) never changes state again: such an
 * update is refused with RM_EBUSY and nothing is written.
 * 0, RM_ENOENT (task gone: cluster deleted), RM_EBUSY, RM_ERR.
 */
int store_task_update(struct store *st, const char *id, int task_state,
    int64_t now, const char *error, const struct store_step_update *su,
    size_t nsu, char *err, size_t errlen);

/* A set of task states: STORE_TASK_BIT(s) for each. */
#define STORE_TASK_BIT(s)	(1u << (unsigned)(s))
#define STORE_TASK_UNFINISHED	(STORE_TASK_BIT(STORE_TASK_QUEUED) | \
    STORE_TASK_BIT(STORE_TASK_RUNNING) | STORE_TASK_BIT(STORE_TASK_PAUSED))

/* A compare-and-set state change (store_task_transition()). */
struct store_transition {
	unsigned from;		/* STORE_TASK_BIT()s: the states it may be in */
	int to;			/* the new state; < 0 keeps the state */
	bool need_pause;	/* also only while pause_requested is set */
	bool clear_resumes;	/* the steps' resume counts back to 0
				   (store_step_resumed()) */
	int64_t now;		/* ms; 0 = now */
	const char *error;	/* NULL keeps the task's error text */
	const struct store_step_update *su;
	size_t nsu;
};

/*
 * store_task_update() as a compare-and-set: the task's state changes (and
 * the step updates are applied) only while the task is in one of the
 * states of tr->from (and, with need_pause, has pause_requested set);
 * the check and the write are one UPDATE ... WHERE state = ? in one
 * transaction, so of two writers racing from the same state exactly one
 * wins.  The loser gets RM_ECONFLICT, *actual (may be NULL) set to the
 * state it found, err saying so, and nothing is written.  A finished
 * task's state never changes again (terminal states in tr->from count
 * only when tr->to keeps the state: step updates of a finished task).
 * The side effects are store_task_update()'s, and a finished state also
 * drops the task's failure-hook intent (store_task_failing_set()) in the
 * same transaction.
 * 0, RM_ECONFLICT, RM_ENOENT (no such task), RM_ERR.
 */
int store_task_transition(struct store *st, const char *id,
    const struct store_transition *tr, enum store_task_state *actual,
    char *err, size_t errlen);

/*
 * store_task_transition() without waiting for the commit: done(arg, rc,
 * actual, err) is called once it is committed or refused, on the thread
 * that led its commit, with no store lock held (see store_commit.c).  id
 * and everything tr points to must live until then; the write is ordered
 * after every write queued before it.
 */
typedef void store_task_done_fn(void *arg, int rc,
    enum store_task_state actual, const char *err);
void store_task_transition_async(struct store *st, const char *id,
    const struct store_transition *tr, store_task_done_fn *done, void *arg);

/*
 * The step idx of task id was found "running" at a start: count one more
 * resume of its current attempt and return the count in *resumes.  The
 * count goes back to 0 when the step's attempt changes or an update sets
 * it (the engine does at a clean stop), so it counts the starts that
 * followed a stop without one in the middle of that attempt.
 * 0, RM_ENOENT (no such step, or it is not running), RM_ERR.
 */
int store_step_resumed(struct store *st, const char *id, int idx,
    int *resumes, char *err, size_t errlen);

enum store_request {
	STORE_REQ_CANCEL,
	STORE_REQ_PAUSE,
	STORE_REQ_NONE,		/* clear both flags */
	STORE_REQ_UNPAUSE,	/* clear the pause request only (resume) */
};
/*
 * Set/clear the cancel/pause request flags of a task that is not
 * finished; STORE_REQ_UNPAUSE only of a queued or running task (a paused
 * one is resumed by a transition, not by a flag).  0, RM_ENOENT,
 * RM_ECONFLICT (the task is finished, or paused for UNPAUSE: nothing
 * written, err says which), RM_ERR.
 */
int store_task_request(struct store *st, const char *id,
    enum store_request req, char *err, size_t errlen);

/* ---- per-node progress of steps, and failure hooks (task.c) ------------- */

/* The progress of one node in one step (fields < 0 / NULL: unknown). */
struct store_node_progress {
	const char *node;
	const char *phase;
	int64_t files_done, files_total, bytes_done, bytes_total;
	double rate_bps;
	const char *state;		/* "running", "done", "failed" */
	const char *message;
	int64_t updated_at;		/* ms */
};
/* Insert or replace the row (task, step idx, node).  0, RM_ENOENT (no
 * such step), RM_ERR. */
int store_step_node_put(struct store *st, const char *task_id, int idx,
    const struct store_node_progress *p, char *err, size_t errlen);

/*
 * A task whose last attempt failed and whose type's failure hook has not
 * finished yet: the failing step and the task's error, kept until the
 * task is recorded failed, so the hook runs again after a crash.
 * set: 0, RM_ENOENT, RM_ERR.  get: 0 (*error the caller's),
 * RM_ENOENT (none), RM_ERR.  clear: 0 or RM_ERR.
 */
int store_task_failing_set(struct store *st, const char *id, int step_idx,
    const char *error, char *err, size_t errlen);
int store_task_failing_get(struct store *st, const char *id, int *step_idx,
    char **error);
int store_task_failing_clear(struct store *st, const char *id, char *err,
    size_t errlen);

#endif
