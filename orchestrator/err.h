/*
 * err.h - the orchestrator's one error vocabulary.  The store, the engine,
 * the service and the task types return these (0 or a negative code, the
 * detail in an err buffer); only the API turns them into HTTP statuses
 * (http/api.c).  A task step's outcome (TASK_STEP_*: retry or not, stop,
 * wait) is a different thing and stays in engine/task.h.
 */
#ifndef RM_ERR_H
#define RM_ERR_H

enum rm_err {
	RM_OK = 0,
	RM_ERR = -1,		/* internal: the log says more (500) */
	RM_EINVAL = -2,		/* bad input (400) */
	RM_ENOENT = -3,		/* no such thing, or its parent is missing (404) */
	RM_ECONFLICT = -4,	/* the recorded state forbids it (409) */
	RM_EBUSY = -5,		/* refused while a task runs (409) */
	RM_EEXIST = -6,		/* the name is taken (409) */
	RM_EUNAVAIL = -7,	/* shutting down (503) */
	RM_ESTORAGE = -8,	/* the cluster's object storage failed (502) */
	RM_EUNAUTH = -9,	/* the credential is not known (401) */
	RM_EFORBIDDEN = -10,	/* known, but may not do this (403) */
};

/* "invalid", "not_found", ... as the API's error codes name them. */
const char *rm_err_code(int err);

#endif
