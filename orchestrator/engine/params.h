/*
 * params.h - the one way task parameters are declared and checked.  A task
 * type lists its parameters in a table (struct param_spec, ended by an
 * entry whose name is NULL); params_check() refuses unknown keys, wrong
 * types and out-of-range values with a message naming the parameter and
 * what it takes, and fills in defaults; params_spec_json() describes the
 * table for GET /api/v1/task-types, ringsh and the docs check.
 *
 * Cross-field rules a table cannot say ("table needs keyspace") stay in the
 * type's validate(), which the engine calls after params_check().
 */
#ifndef RM_PARAMS_H
#define RM_PARAMS_H

#include <stddef.h>

#include <jansson.h>

enum param_type {
	PT_INT,			/* integer in [min, max] */
	PT_NUMBER,		/* number in [min, max] (min excluded: PF_MIN_EXCL) */
	PT_BOOL,
	PT_NAME,		/* a name: 1 to 64 of A-Z a-z 0-9 _ - */
	PT_NAMES,		/* array of names (at most 256) */
	PT_TABLES,		/* array of "keyspace.table" */
	PT_NAME_OR_NAMES,	/* a name, or an array of 1 to max names */
	PT_ADDRS,		/* array of node addresses */
	PT_ADDR,		/* one node address */
	PT_COMMAND,		/* a command line without shell syntax */
	PT_RETENTION,		/* {"keep_last": N, "keep_days": D} */
	PT_SOURCE,		/* {"cluster", "storage", "endpoint", "region"} */
	PT_WORD,		/* one command-line word: no blanks, quotes or shell syntax */
	PT_WORDS,		/* array of such words (at most max, else 256) */
	PT_OBJECT,		/* a JSON object; the type's validate() checks inside */
	PT_ARRAY,		/* a JSON array of 1 to max items; validate() checks them */
	PT_TEXT,		/* one line for people: 1 to max (else 1024) bytes, no
				   control characters; never run, never a path */
};

#define PF_MIN_EXCL	0x1	/* min itself is refused */
#define PF_REQUIRED	0x2	/* refused when absent (an empty array too) */

struct param_spec {
	const char *name;
	enum param_type type;
	double min, max;
	const char *def;	/* default as JSON text; NULL: none */
	const char *env;	/* environment variable giving the default */
	unsigned flags;
	const char *description;
};

/*
 * The parameters every type that runs the agent on nodes takes; timeout_s
 * bounds one node operation (a job on the node).
 */
#define PARAMS_AGENT \
	{ "agent", PT_COMMAND, 0, 0, NULL, "RINGMASTER_AGENT", 0, \
	  "command that runs the agent on a node; {address} is replaced by " \
	  "the node's address (default: $RINGMASTER_AGENT, else ringagent)" }, \
	{ "known_hosts", PT_COMMAND, 0, 0, NULL, NULL, 0, \
	  "known_hosts file for nodes whose host key was not pinned at " \
	  "check-in" }
#define PARAMS_NODE(timeout_def, timeout_max) \
	PARAMS_AGENT, \
	{ "timeout_s", PT_INT, 1, timeout_max, #timeout_def, NULL, 0, \
	  "seconds one node operation may run" }

/*
 * Check params (an object) against spec for type; fill in defaults.
 * 0, or -1 with a message: "unknown parameter 'x' for backup (allowed:
 * ...)", "params.n must be an integer from 1 to 64", ...  params is not
 * changed when it is refused.
 */
int params_check(const struct param_spec *spec, const char *type,
    json_t *params, char *err, size_t errlen);
/* The parameters every type takes (max_attempts), which params_check()
 * accepts beside the type's table. */
const struct param_spec *params_common(void);
/* [{"name","type","default","min","max","description"}] for the API. */
json_t *params_spec_json(const struct param_spec *spec);
/* The type's name as the API shows it ("integer", "names", ...). */
const char *params_type_name(enum param_type t);
/* params.key as an integer, def when absent or not an integer (after
 * params_check() it has the type its table says). */
int64_t params_int(const json_t *params, const char *key, int64_t def);
/* A command line without shell syntax (also the agent's default). */
int params_command_ok(const char *s);

#endif
