/*
 * cassconf.h - the edits ringagent makes to Cassandra's own configuration:
 * the seeds in cassandra.yaml (bootstrap) and replace_address_first_boot in
 * the JVM options file (replace).  Every edit the agent makes to those files
 * goes through this module.
 *
 * Edits are minimal: the one line that carries the value is rewritten and
 * everything else (comments, order, spacing, line endings) is kept byte for
 * byte, so an operator's diff shows exactly what changed.  They are
 * idempotent: when the file already says what we want it is not written.
 * They are atomic: the new file is written beside the old one, synced and
 * renamed over it, keeping its mode (and owner, when running as root);
 * a symlinked file is edited at its target.
 *
 * Values are checked before they go into a file: an address or seed is
 * letters, digits and . : - _ [ ] % only, so no value can add YAML or an
 * extra JVM option.
 *
 * The text functions are pure (no I/O) for the unit tests; they return a new
 * string the caller frees, or NULL with a message in err.
 */
#ifndef RM_CASSCONF_H
#define RM_CASSCONF_H

#include <stdbool.h>
#include <stddef.h>

#define CASSCONF_REPLACE_OPT "-Dcassandra.replace_address_first_boot="

/* true when s is usable as an address or seed (see above). */
bool cassconf_address_valid(const char *s);

/*
 * Set seed_provider's "seeds:" parameter to the comma-joined seeds.  When
 * the text has no top-level seed_provider, the standard SimpleSeedProvider
 * block is appended.  A seed_provider without a seeds parameter, or written
 * in YAML flow style, is refused rather than guessed at.
 */
char *cassconf_yaml_set_seeds(const char *text, const char *const *seeds,
    size_t n, char *err, size_t errlen);
/* The current seeds value without quotes, as a new string; NULL when none. */
char *cassconf_yaml_get_seeds(const char *text);

/*
 * Make the JVM options text hold exactly one active
 * -Dcassandra.replace_address_first_boot=<address> line (address NULL:
 * none).  An existing active line is rewritten in place; commented-out
 * lines are left alone.
 */
char *cassconf_jvm_set_replace(const char *text, const char *address,
    char *err, size_t errlen);
/* The active replace address as a new string; NULL when none. */
char *cassconf_jvm_get_replace(const char *text);

/*
 * The same edits on files.  *changed (may be NULL) says whether the file
 * was rewritten.  Errors name the file: "cannot read '/etc/...': ...".
 */
int cassconf_set_seeds(const char *yaml_path, const char *const *seeds,
    size_t n, bool *changed, char *err, size_t errlen);
int cassconf_set_replace(const char *jvm_path, const char *address,
    bool *changed, char *err, size_t errlen);

/*
 * What cassconf_set_seeds() would do, without writing: *would_change, the
 * file's seeds now (*current, NULL when it has none) and the value it
 * would write (*wanted).  The strings are the caller's to free.  For the
 * guard that leaves a running node's file alone but says what it left.
 */
int cassconf_seeds_preview(const char *yaml_path, const char *const *seeds,
    size_t n, bool *would_change, char **current, char **wanted, char *err,
    size_t errlen);

/* ---- rolling config changes (config-change, agent/rolling.h) ---- */

/* What a config change may set is checked by common/cassopt.h, which the
 * orchestrator uses at submission too. */

/*
 * Set top-level key to value: its active line is rewritten in place (the
 * rest of the line's comment dropped), or "key: value" appended when the
 * file has none.  A key written as a block or in flow style is refused.
 */
char *cassconf_yaml_set_key(const char *text, const char *key,
    const char *value, char *err, size_t errlen);
/*
 * Make opt the one active line of its kind (-Xmx..., -XX:[+-]Name,
 * -XX:Name=, -Dname=): the first such line is rewritten, later ones are
 * commented out, or opt is appended.
 */
char *cassconf_jvm_set_option(const char *text, const char *opt, char *err,
    size_t errlen);

struct cassconf_applied {
	bool yaml_changed, jvm_changed;
	char yaml_backup[4096], jvm_backup[4096];	/* "" when none made */
};
/*
 * Apply "KEY=VALUE" items to the yaml file and options to the JVM options
 * file: everything is checked and both new texts are made before anything
 * is written, so a bad item changes nothing.  Each file that changes is
 * first copied to "<file>.rm-bak-<unix ms>" (mode kept), then replaced
 * atomically.  0, or -1 with err naming the item or file.
 */
int cassconf_apply(const char *yaml_path, const char *const *yaml_kv,
    size_t ny, const char *jvm_path, const char *const *jvm_opts, size_t nj,
    struct cassconf_applied *out, char *err, size_t errlen);

#endif
