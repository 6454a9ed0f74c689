/*
 * store_commit.c - writes: group commit on the write connection, and the
 * store thread (task-event batches, WAL checkpoints)
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "store_int.h"

/* ---- tasks -------------------------------------------------------------- */

/*
 * Group commit.  The runner's and the submitters' writes are small and
 * touch the same hot pages (the newest tasks, steps and events), and with
 * WAL every transaction writes each page it touched again.  So a writer
 * queues its operation; whoever finds no commit in progress becomes the
 * leader, takes every queued operation and runs them in ONE transaction,
 * each inside its own savepoint (an operation that fails is rolled back
 * alone), then wakes the others with their results.  With one writer this
 * is a plain transaction; with many it is one commit for a batch.
 *
 * An operation returns 0, a negative STORE_E* (rolled back), or
 * OP_KEEP_BUSY (kept, reported as RM_EBUSY).
 */
#define GC_BATCH_MAX	256	/* operations joining a batch as it runs */

/*
 * Under load a leader waits a little for company before it begins: every
 * commit costs the same fixed work (locks, the WAL frames of the hot
 * pages) whatever it holds, and on a small machine the other writers
 * cannot queue while the leader has the CPU.  "Under load" means another
 * thread than the last one queued an operation in the last GC_LOAD_US, so
 * a lone writer never waits.  The leader waits until no operation arrived
 * for GC_GAP_US, GC_WAIT_US at most.
 */
#define GC_LOAD_US	2000
#define GC_GAP_US	20
#define GC_WAIT_US	150

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * With gc_mu held.  The leader yields the CPU instead of sleeping on a
 * timer: the writers it waits for need the CPU to get here (on 2 cores
 * they are often runnable but not running), a timed sleep lasts at least
 * the kernel's timer slack (50 us) and costs two context switches, and a
 * wake-up per arrival cost one switch per operation.  Measured on the
 * bench: fewer context switches and less CPU per task than either.
 */
static void gc_gather(struct store *st)
{
	int64_t now = mono_us(), end = now + GC_WAIT_US;

	if (now - st->gc_last_other >= GC_LOAD_US)
		return;
	for (;;) {
		int64_t until = st->gc_last_arrival + GC_GAP_US;

		if (until > end)
			until = end;
		if (mono_us() >= until)
			break;
		pthread_mutex_unlock(&st->gc_mu);
		sched_yield();
		pthread_mutex_lock(&st->gc_mu);
	}
}

/* A waiter's state: it sleeps on the word itself (a futex). */
#define WOP_WAIT	0
#define WOP_DONE	1	/* committed or failed: rc holds the result */
#define WOP_LEAD	2	/* handed the leadership: run the next batch */

struct wop {
	struct wop *next;
	store_op_fn *fn;
	void *arg;
	char *err;
	size_t errlen;
	int rc;
	atomic_int state;
	store_done_fn *done;		/* asynchronous: nobody waits */
	char ebuf[256];			/* asynchronous: its err */
};

static void wop_wait(struct wop *o)
{
	while (atomic_load_explicit(&o->state, memory_order_acquire) ==
	    WOP_WAIT)
		syscall(SYS_futex, &o->state, FUTEX_WAIT_PRIVATE, WOP_WAIT,
		    NULL, NULL, 0);
}

/*
 * The waiter may see the new state and return (its wop lived on its
 * stack) before the wake-up below runs: a wake-up of a word nobody waits
 * on does nothing, so that is harmless, and nothing else touches o.
 */
static void wop_set(struct wop *o, int state)
{
	atomic_store_explicit(&o->state, state, memory_order_release);
	syscall(SYS_futex, &o->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/*
 * Run the batch that starts at batch in one transaction; operations
 * queued meanwhile join it.  Called by the leader without gc_mu.  A
 * failure of the whole batch (BEGIN, the event batch, COMMIT) is every
 * operation's result, with the same message.
 */
static void gc_run(struct store *st, struct wop *batch)
{
	struct conn *c = wlock(st);
	struct wop *o;
	char berr[256] = "";	/* a failure of the whole batch */
	size_t n;
	int rc;

	rc = begin(c, berr, sizeof(berr));
	for (o = batch, n = 0; o != NULL; o = o->next, n++) {
		if (rc < 0) {
			/* BEGIN failed: every caller gets its message. */
			snprintf(o->err, o->errlen, "%s", berr);
			o->rc = rc;
		} else if (exec_stmt(S(c, SQL_SAVEPOINT)) != SQLITE_DONE) {
			o->rc = store_db_err(c, o->err, o->errlen, "savepoint");
		} else {
			o->rc = o->fn(st, c, o->arg, o->err, o->errlen);
			if (o->rc < 0)
				exec_stmt(S(c, SQL_ROLLBACK_TO));
			exec_stmt(S(c, SQL_RELEASE));
		}
		/*
		 * Operations queued while this batch ran join it: their
		 * writers are waiting anyway, and every commit rewrites the
		 * hot pages once, whatever the batch size.
		 */
		if (o->next == NULL && n + 1 < GC_BATCH_MAX) {
			pthread_mutex_lock(&st->gc_mu);
			if (st->gc_head != NULL) {
				o->next = st->gc_head;
				st->gc_head = NULL;
				st->gc_tail = &st->gc_head;
			}
			pthread_mutex_unlock(&st->gc_mu);
		}
	}
	if (rc == 0 && st->ntev >= FLUSH_COUNT && store_events_flush(st, c) < 0)
		rc = store_db_err(c, berr, sizeof(berr), "task events");
	/* Nobody hears 0 for a write that was not committed. */
	if (rc == 0)
		rc = commit(c, berr, sizeof(berr));
	else
		rollback(c);
	if (rc < 0) {
		for (o = batch; o != NULL; o = o->next) {
			snprintf(o->err, o->errlen, "%s", berr);
			o->rc = rc;
		}
	}
	unlock(c);
}

/*
 * Each waiter sleeps on its own word and is woken once: when its
 * operation is committed (or failed), or when it is handed the
 * leadership.  A leader that finds operations queued after its batch
 * hands the leadership to the first of them that has a waiter, so no
 * thread wakes only to find the writer busy again (a broadcast woke every
 * waiter per commit), and no waiter is woken into a mutex the leader
 * still holds: on 2 cores each needless wake-up is a context switch taken
 * from the leader.  Asynchronous operations (store_write_op_async) have
 * no waiter: they ride in the batch of the next leader, and a leader that
 * finds only those queued runs one more batch itself.
 */
static struct wop *gc_heir(struct store *st)
{
	for (struct wop *o = st->gc_head; o != NULL; o = o->next)
		if (o->done == NULL)
			return o;
	return NULL;
}

/* Lead batches until none is left for this thread to run. */
static void gc_lead(struct store *st, struct wop *self)
{
	struct wop *batch, *o, *next, *heir;
	bool again;

	do {
		pthread_mutex_lock(&st->gc_mu);
		gc_gather(st);
		batch = st->gc_head;
		st->gc_head = NULL;
		st->gc_tail = &st->gc_head;
		pthread_mutex_unlock(&st->gc_mu);

		gc_run(st, batch);

		pthread_mutex_lock(&st->gc_mu);
		heir = gc_heir(st);
		again = heir == NULL && st->gc_head != NULL;
		if (st->gc_head == NULL)
			st->gc_busy = false;
		pthread_mutex_unlock(&st->gc_mu);
		/* The heir's operation stays queued until it takes the
		 * batch, so its waiter cannot leave before wop_set() below. */
		if (heir != NULL)
			wop_set(heir, WOP_LEAD);
		for (o = batch; o != NULL; o = next) {
			next = o->next;
			if (o->done != NULL) {
				o->done(o->arg, o->rc == OP_KEEP_BUSY ?
				    RM_EBUSY : o->rc, o->ebuf);
				free(o);
			} else if (o != self) {
				wop_set(o, WOP_DONE);
			}
		}
	} while (again);
}

/* Queue op; true when this thread must lead. */
static bool gc_queue(struct store *st, struct wop *op)
{
	bool lead = false;

	pthread_mutex_lock(&st->gc_mu);
	*st->gc_tail = op;
	st->gc_tail = &op->next;
	st->gc_last_arrival = mono_us();
	if (!pthread_equal(st->gc_last_writer, pthread_self())) {
		st->gc_last_writer = pthread_self();
		st->gc_last_other = st->gc_last_arrival;
	}
	if (!st->gc_busy) {
		st->gc_busy = true;
		lead = true;
	}
	pthread_mutex_unlock(&st->gc_mu);
	return lead;
}

int store_write_op(struct store *st, store_op_fn *fn, void *arg, char *err,
    size_t errlen)
{
	struct wop op = { .fn = fn, .arg = arg, .err = err, .errlen = errlen };
	char dummy[8];

	if (op.err == NULL) {
		op.err = dummy;
		op.errlen = sizeof(dummy);
	}
	atomic_init(&op.state, WOP_WAIT);
	if (!gc_queue(st, &op)) {
		wop_wait(&op);
		if (atomic_load_explicit(&op.state, memory_order_acquire) ==
		    WOP_DONE)
			goto out;
	}
	/* The leader: op is queued and not done, so the batch holds it. */
	gc_lead(st, &op);
out:
	return op.rc == OP_KEEP_BUSY ? RM_EBUSY : op.rc;
}

void store_write_op_async(struct store *st, store_op_fn *fn, void *arg,
    store_done_fn *done)
{
	struct wop *op = xcalloc(1, sizeof(*op));

	op->fn = fn;
	op->arg = arg;
	op->done = done;
	op->err = op->ebuf;
	op->errlen = sizeof(op->ebuf);
	atomic_init(&op->state, WOP_WAIT);
	if (gc_queue(st, op))
		gc_lead(st, NULL);
}

/*
 * Checkpoints (copying the WAL back into the database, with an fsync)
 * run here, on their own connection: a checkpoint inside a commit would
 * hold the write lock through the fsync and stall every writer.
 *
 * A PASSIVE checkpoint never takes the write lock, but it never resets
 * the WAL either: SQLite starts the WAL over only when a write begins
 * after a checkpoint copied all of it, which under a steady load never
 * happens.  The WAL then grows by hundreds of MB, every page lookup walks
 * its index (hot pages fill the hash chains), and every commit extends
 * the file.  So once the WAL holds WAL_RESTART_FRAMES frames, a PASSIVE
 * checkpoint copies the bulk without the lock and a RESTART one copies
 * the rest and makes the next commit write from the start of the file
 * again; only that short second part holds writers back.  Otherwise a
 * PASSIVE checkpoint every CHECKPOINT_MS keeps an idle WAL copied.
 *
 * The writer's commit hook (store_wal_hook) records the WAL size; it also runs
 * a checkpoint itself, as SQLite's autocheckpoint would, when the WAL
 * passes WAL_VALVE_FRAMES: a safety valve should this thread fall behind.
 */
#define CHECKPOINT_MS		1000
#define WAL_RESTART_FRAMES	4096		/* 16 MB with 4 KB pages */
#define WAL_VALVE_FRAMES	100000

int store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *st = arg;

	atomic_store_explicit(&st->wal_frames, frames, memory_order_relaxed);
	if (!st->commit_uncounted)
		atomic_fetch_add_explicit(&st->commits, 1, memory_order_release);
	if (frames >= WAL_VALVE_FRAMES)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
		    NULL, NULL);
	return SQLITE_OK;
}

static int checkpoint_run(struct store *st, int mode)
{
	int rc = sqlite3_wal_checkpoint_v2(st->ckpt_db, NULL, mode, NULL,
	    NULL);

	if (rc != SQLITE_OK && sqlite3_errcode(st->ckpt_db) != SQLITE_BUSY)
		log_warnx("store: checkpoint: %s", sqlite3_errmsg(st->ckpt_db));
	return rc;
}

static void checkpoint(struct store *st)
{
	int64_t now = time_mono_ms();
	int frames = atomic_load_explicit(&st->wal_frames,
	    memory_order_relaxed);

	if (st->ckpt_db == NULL)
		return;
	if (frames >= WAL_RESTART_FRAMES) {
		st->last_ckpt = now;
		checkpoint_run(st, SQLITE_CHECKPOINT_PASSIVE);
		if (checkpoint_run(st, SQLITE_CHECKPOINT_RESTART) == SQLITE_OK)
			atomic_compare_exchange_strong(&st->wal_frames, &frames,
			    0);
		return;
	}
	if (now - st->last_ckpt < CHECKPOINT_MS)
		return;
	st->last_ckpt = now;
	checkpoint_run(st, SQLITE_CHECKPOINT_PASSIVE);
}

void *store_flusher_main(void *arg)
{
	struct store *st = arg;

	pthread_mutex_lock(&st->gc_mu);
	while (!st->fl_stop) {
		struct timespec ts;
		time_after_ms(CLOCK_REALTIME, FLUSH_MS, &ts);
		pthread_cond_timedwait(&st->fl_cv, &st->gc_mu, &ts);
		if (st->fl_stop)
			break;
		pthread_mutex_unlock(&st->gc_mu);
		if (store_events_pending(st))
			store_write_op(st, store_events_tx_flush, NULL, NULL, 0);
		checkpoint(st);
		pthread_mutex_lock(&st->gc_mu);
	}
	pthread_mutex_unlock(&st->gc_mu);
	return NULL;
}

