/*
 * mirror_int.h - the mirror handle, shared by mirror.c (layout, writing,
 * reading) and mirror_run.c (the writer thread).  Private to them.
 */
#ifndef RM_MIRROR_INT_H
#define RM_MIRROR_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../common/seal.h"
#include "mirror.h"

struct mirror {
	char *url;			/* normal form */
	char *tmp_dir;
	struct s3 *s3;
	unsigned char key[SEAL_KEY_LEN];
	bool has_key;
	int keep;
	int64_t delay_ms, interval_ms;
	int64_t last_gen;		/* the last generation number used */
	mirror_gate_fn gate;		/* mirror_set_gate() */
	void *gate_arg;

	/* The writer thread (mirror_run.c): mu guards the flags below. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started, stop, final, nudge;
	int syncing;			/* mirror_sync() callers waiting */
	uint64_t covered;		/* change count the last generation holds */
	bool covered_set;
	struct store *st;
	struct metrics *mt;
};

void mirror_run_init(struct mirror *m);
void mirror_run_release(struct mirror *m);

#endif
