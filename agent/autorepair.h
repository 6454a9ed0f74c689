/*
 * autorepair.h - whether this node's Cassandra runs its own automated
 * repair (CEP-37, in Cassandra trunk; a backport to 5.0 is proposed), per
 * repair type, so that the orchestrator does not repair the same ranges a
 * second time (docs/repair.md, "Cassandra's own auto-repair").
 *
 *   ringagent autorepair --json
 *
 * Asked in this order:
 *  1. `nodetool getautorepairconfig` (trunk).  4.1.1 and older have no
 *     such command: nodetool prints "nodetool: Found unexpected
 *     parameters: [getautorepairconfig]" and exits 1 (seen on the real
 *     4.1.1 build): that is "no auto-repair", never an error.
 *  2. When nodetool cannot answer (Cassandra down, output not understood):
 *     the `auto_repair` section of the cassandra.yaml the agent config
 *     names, read as Cassandra reads it (the scheduler's `enabled`, each
 *     type's `repair_type_overrides.<type>.enabled`, else
 *     `global_settings.enabled`, else off).
 *  3. Neither: source "unknown", with why.
 *
 * The parsers are pure (no I/O) for the unit tests.
 */
#ifndef RM_AGENT_AUTOREPAIR_H
#define RM_AGENT_AUTOREPAIR_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct opctx;
struct agentcfg;
struct proc_opts;

#define AUTOREPAIR_MAX_TYPES	8
#define AUTOREPAIR_TYPE_LEN	32

enum autorepair_source {
	AUTOREPAIR_UNKNOWN = 0,		/* neither nodetool nor the yaml said */
	AUTOREPAIR_NODETOOL,		/* getautorepairconfig answered */
	AUTOREPAIR_NO_COMMAND,		/* nodetool has no getautorepairconfig */
	AUTOREPAIR_YAML,		/* cassandra.yaml's auto_repair section */
};

struct autorepair_type {
	char name[AUTOREPAIR_TYPE_LEN];	/* "full", "incremental", ... */
	bool enabled;			/* the scheduler runs this type */
};

struct autorepair {
	enum autorepair_source source;
	bool scheduler;			/* auto_repair.enabled */
	struct autorepair_type types[AUTOREPAIR_MAX_TYPES];
	size_t ntypes;
};

/*
 * `nodetool getautorepairconfig` as trunk prints it (GetAutoRepairConfig:
 * "Auto-repair is not enabled", or "repair scheduler configuration:" then
 * "configuration for repair_type: <type>" sections with a tab-indented
 * "enabled: true|false").  0, or -1 with err when the text is not that.
 */
int autorepair_parse_nodetool(const char *out, size_t len,
    struct autorepair *ar, char *err, size_t errlen);

/* True when nodetool's output says it has no getautorepairconfig command. */
bool autorepair_no_command(const char *out);

/*
 * cassandra.yaml's top-level `auto_repair` block (block style; a flow-style
 * `auto_repair: {...}` is refused rather than guessed at).  No block: the
 * scheduler is off.  Types found in repair_type_overrides are reported with
 * full, incremental and preview_repaired always present.  0, or -1 with err.
 */
int autorepair_parse_yaml(const char *text, struct autorepair *ar, char *err,
    size_t errlen);

/* Whether ar says the scheduler runs type (false for an unknown type). */
bool autorepair_type_enabled(const struct autorepair *ar, const char *type);

/*
 * Ask the node (see above).  Always fills ar (source UNKNOWN when neither
 * source answered, with why in err); returns -1 only when cancelled.
 */
int autorepair_probe(const struct agentcfg *c, const struct proc_opts *base,
    struct autorepair *ar, char *err, size_t errlen);

/*
 * {"source": "nodetool"|"no_command"|"cassandra.yaml"|"unknown",
 *  "scheduler": bool, "types": {"full": bool, ...}, "enabled": ["full"],
 *  "error": "..." (unknown only)}
 */
json_t *autorepair_json(const struct autorepair *ar, const char *error);

/* `ringagent autorepair`: the probe's answer as the result's data. */
int autorepair_op(struct opctx *x, int argc, char **argv);

#endif
