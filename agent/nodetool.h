/*
 * nodetool.h - parsers for the text that `nodetool` prints, Cassandra 3.11
 * to 5.0, and JSON renderings of what they parse.
 *
 * Every parser takes the captured output as (buf, len), which may hold any
 * bytes, and either returns 0 with *out set to a new struct, or returns -1
 * with *out set to NULL and a message in err such as
 *
 *   nodetool status: line 5: expected 8 columns, got 3: 'UN 127.0'
 *
 * naming the command, the 1-based line and the line itself (control bytes
 * escaped, long lines cut).  Columns are split on runs of blanks, never on
 * fixed widths.  A parser accepts only lines it understands, so text that
 * is not the command's output fails instead of parsing as an empty result.
 * Output of a failed command (`error: ...`, `nodetool: ...`) fails every
 * parser; nodetool_error_message() extracts its message.
 *
 * Ownership: the caller owns *out and releases it with the matching
 * nodetool_X_free(), which accepts NULL.  Every string in a struct belongs
 * to that struct.  The nodetool_X_json() functions return a new reference
 * (json_decref() it) and never return NULL.
 *
 * Numbers that nodetool prints as "?" or does not print at all are
 * NODETOOL_UNKNOWN (-1) and render as JSON null.
 */
#ifndef RM_NODETOOL_H
#define RM_NODETOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_t; /* jansson's json_t, so callers need not include jansson.h */

#define NODETOOL_UNKNOWN (-1)
/* Enough for any message the parsers write; longer buffers are fine. */
#define NODETOOL_ERR_MAX 320

/* A "key=value" or "key: value" pair from an options list. */
struct nodetool_kv {
	char *key;
	char *value;
};

/* ---- nodetool status [keyspace] ---- */

struct nodetool_status_node {
	char status;         /* first letter: 'U'p, 'D'own, '?' unknown */
	char state;          /* second letter: 'N'ormal 'L'eaving 'J'oining 'M'oving */
	char *address;
	int64_t load_bytes;  /* "266.06 KiB" -> 272445; "?" -> NODETOOL_UNKNOWN */
	int tokens;          /* "Tokens" column; 1 in 3.x single-token layout */
	char *token;         /* the "Token" column of 3.x single-token layout, else NULL */
	double owns_pct;     /* "100.0%" -> 100.0; "?" -> NODETOOL_UNKNOWN */
	char *host_id;
	char *rack;
};

struct nodetool_status_dc {
	char *name;          /* NULL for rows printed without a "Datacenter:" line */
	struct nodetool_status_node *nodes;
	size_t n_nodes;
};

struct nodetool_status {
	struct nodetool_status_dc *dcs;
	size_t n_dcs;
	bool owns_effective; /* the header said "Owns (effective)" (keyspace given) */
	char *note;          /* the closing "Note: ..." text, or NULL */
};

int nodetool_parse_status(const char *buf, size_t len,
    struct nodetool_status **out, char *err, size_t errlen);
void nodetool_status_free(struct nodetool_status *s);
struct json_t *nodetool_status_json(const struct nodetool_status *s);

/* ---- nodetool info ---- */

struct nodetool_info {
	char *id;                     /* host id */
	bool gossip_active;
	int thrift_active;            /* 0/1 on 3.x; NODETOOL_UNKNOWN on 4.0+ */
	bool native_transport_active;
	int64_t load_bytes;
	int64_t generation;
	int64_t uptime_s;
	double heap_used_mb;
	double heap_max_mb;
	double off_heap_mb;           /* NODETOOL_UNKNOWN when not printed */
	char *datacenter;
	char *rack;
	int64_t exceptions;
	double percent_repaired;      /* NODETOOL_UNKNOWN when not printed */
	int token_count;              /* NODETOOL_UNKNOWN when not joined/printed */
	char **tokens;                /* the tokens when printed one per line */
	size_t n_tokens;
	bool joined;                  /* false on "(node is not joined to the cluster)" */
	/* Every other "Label : value" line (caches, bootstrap state, ...). */
	struct nodetool_kv *other;
	size_t n_other;
};

int nodetool_parse_info(const char *buf, size_t len,
    struct nodetool_info **out, char *err, size_t errlen);
void nodetool_info_free(struct nodetool_info *s);
struct json_t *nodetool_info_json(const struct nodetool_info *s);

/* ---- nodetool gossipinfo ---- */

/*
 * One endpoint of gossip as this node holds it.  An endpoint assassinated
 * (`nodetool assassinate`) or gone by decommission or removenode stays
 * listed for days with status "LEFT" and little else
 * (tests/unit/samples/gossipinfo-4.1.1-assassinated*.txt); an endpoint the
 * node has forgotten is not listed at all.
 */
struct nodetool_gossip_endpoint {
	char *address;       /* "127.0.0.1": the "/" and a ":port" dropped */
	int64_t generation;  /* NODETOOL_UNKNOWN when not printed */
	int64_t heartbeat;   /* NODETOOL_UNKNOWN when not printed */
	/* The first word of STATUS_WITH_PORT's value (else of STATUS's):
	 * "NORMAL", "LEFT", "BOOT", "shutdown", ...; NULL when neither is
	 * printed (4.x prints only one of them for some endpoints). */
	char *status;
	char *host_id;       /* HOST_ID, or NULL */
};

struct nodetool_gossipinfo {
	struct nodetool_gossip_endpoint *endpoints;
	size_t n_endpoints;
};

int nodetool_parse_gossipinfo(const char *buf, size_t len,
    struct nodetool_gossipinfo **out, char *err, size_t errlen);
void nodetool_gossipinfo_free(struct nodetool_gossipinfo *s);
struct json_t *nodetool_gossipinfo_json(const struct nodetool_gossipinfo *s);
/* The endpoint with address (no port), or NULL. */
const struct nodetool_gossip_endpoint *nodetool_gossipinfo_find(
    const struct nodetool_gossipinfo *s, const char *address);

/* ---- nodetool describecluster ---- */

/* "key: [a, b]" - a schema version or a database version with endpoints. */
struct nodetool_endpoints {
	char *key;
	char **endpoints;
	size_t n_endpoints;
};

struct nodetool_cluster_dc {
	char *name;
	int64_t nodes;
	/*
	 * "#Down" as printed.  Never trust it: 4.1 prints 0 with a node down
	 * whenever ownership cannot be computed.  Use the UNREACHABLE list.
	 */
	int64_t down_reported;
};

struct nodetool_keyspace {
	char *name;
	char *replication_class;      /* "SimpleStrategy", "LocalStrategy", ... */
	struct nodetool_kv *options;  /* {replication_factor=3} -> one pair */
	size_t n_options;
};

struct nodetool_describecluster {
	char *name;
	char *snitch;
	char *dynamic_snitch;         /* "enabled"/"disabled", or NULL */
	char *partitioner;
	struct nodetool_endpoints *schema_versions; /* without UNREACHABLE */
	size_t n_schema_versions;
	char **unreachable;           /* the UNREACHABLE: [...] endpoints */
	size_t n_unreachable;
	/* 4.x sections; has_stats is false (and the rest empty) on 3.x. */
	bool has_stats;
	int64_t live, joining, moving, leaving, unreachable_count;
	char *ownership_error;        /* the "Error: ..." line in the stats, or NULL */
	struct nodetool_cluster_dc *dcs;
	size_t n_dcs;
	struct nodetool_endpoints *db_versions;
	size_t n_db_versions;
	struct nodetool_keyspace *keyspaces;
	size_t n_keyspaces;
};

int nodetool_parse_describecluster(const char *buf, size_t len,
    struct nodetool_describecluster **out, char *err, size_t errlen);
void nodetool_describecluster_free(struct nodetool_describecluster *s);
struct json_t *nodetool_describecluster_json(
    const struct nodetool_describecluster *s);

/* ---- nodetool ring ---- */

struct nodetool_ring_entry {
	char *address;
	char *rack;
	char *status;                 /* "Up", "Down" or "?" */
	char *state;                  /* "Normal", "Leaving", "Joining", "Moving" */
	int64_t load_bytes;           /* NODETOOL_UNKNOWN for "?" */
	double owns_pct;              /* NODETOOL_UNKNOWN for "?" */
	char *token;                  /* as printed: may exceed 64 bits (RandomPartitioner) */
};

struct nodetool_ring_dc {
	char *name;
	char *last_token;             /* the lone token line above the rows, or NULL */
	struct nodetool_ring_entry *entries;
	size_t n_entries;
};

struct nodetool_ring {
	struct nodetool_ring_dc *dcs;
	size_t n_dcs;
};

int nodetool_parse_ring(const char *buf, size_t len,
    struct nodetool_ring **out, char *err, size_t errlen);
void nodetool_ring_free(struct nodetool_ring *s);
struct json_t *nodetool_ring_json(const struct nodetool_ring *s);

/* ---- nodetool listsnapshots ---- */

struct nodetool_snapshot {
	char *name;
	char *keyspace;
	char *table;
	int64_t true_size_bytes;
	int64_t size_on_disk_bytes;
	char *created;                /* 4.1+: "2024-01-25T09:45:31.820Z", else NULL */
	char *expires;                /* 4.1+ with a TTL, else NULL */
};

struct nodetool_listsnapshots {
	struct nodetool_snapshot *snapshots;
	size_t n_snapshots;
	bool has_times;               /* 4.1+ layout with creation/expiration */
	int64_t total_true_bytes;     /* "Total TrueDiskSpaceUsed"; UNKNOWN if absent */
};

int nodetool_parse_listsnapshots(const char *buf, size_t len,
    struct nodetool_listsnapshots **out, char *err, size_t errlen);
void nodetool_listsnapshots_free(struct nodetool_listsnapshots *s);
struct json_t *nodetool_listsnapshots_json(
    const struct nodetool_listsnapshots *s);

/* ---- nodetool compactionstats ---- */

struct nodetool_compaction {
	char *id;                     /* NULL when the version prints no id column */
	char *type;                   /* "Compaction", "Validation", "Anticompaction after repair" */
	char *keyspace;
	char *table;
	int64_t completed;
	int64_t total;
	char *unit;                   /* "bytes", "keys", "ranges", ... */
	double progress_pct;
};

struct nodetool_compactionstats {
	int64_t pending_tasks;
	struct nodetool_kv *pending_by_table; /* "- ks.table: N" lines (4.x) */
	size_t n_pending_by_table;
	struct nodetool_compaction *active;
	size_t n_active;
	char *remaining_time;         /* "Active compaction remaining time", or NULL */
	struct nodetool_kv *other;    /* other "key: value" / "key   value" lines (5.0) */
	size_t n_other;
};

int nodetool_parse_compactionstats(const char *buf, size_t len,
    struct nodetool_compactionstats **out, char *err, size_t errlen);
void nodetool_compactionstats_free(struct nodetool_compactionstats *s);
struct json_t *nodetool_compactionstats_json(
    const struct nodetool_compactionstats *s);

/* ---- nodetool repair ---- */

enum nodetool_repair_result {
	NODETOOL_REPAIR_SUCCEEDED,    /* every command finished without error */
	NODETOOL_REPAIR_FAILED,       /* a command failed or nodetool said error: */
	NODETOOL_REPAIR_NOTHING,      /* only "No repair is needed" lines */
};

/*
 * nodetool prints what it learns from JMX notifications, and can miss
 * some: a command may show up without its "Starting" line (number 0 until
 * a "Repair command #N" line names it, keyspace NULL) or without session
 * lines.  Evidence of work therefore comes from several kinds of line:
 * sessions, "Repair completed successfully", "discovered repair
 * completed" (nodetool asked the server after missing notifications) and
 * "finished in".
 */
struct nodetool_repair_command {
	int number;                   /* #N; 0: never printed */
	char *id;                     /* the uuid after #N, or NULL */
	char *keyspace;
	struct nodetool_kv *options;  /* "parallelism: parallel", ... */
	size_t n_options;
	size_t n_sessions;            /* "Repair session ..." lines */
	size_t n_sessions_failed;
	int progress_pct;             /* last (progress: N%) seen, or UNKNOWN */
	bool finished;                /* "Repair command #N finished ..." seen */
	size_t n_completed;           /* "Repair completed successfully" and
	                                 "... discovered repair completed." */
	bool failed;
	char *error;                  /* "failed with error <this>", or NULL */
	char *duration;               /* "finished in <this>" ("1 second"), or NULL */
};

/* One "[timestamp] message" line. */
struct nodetool_repair_event {
	char *timestamp;              /* "2019-04-21 07:59:14,701" */
	char *message;                /* without the " (progress: N%)" tail */
	int progress_pct;             /* UNKNOWN when no progress tail */
};

struct nodetool_repair {
	enum nodetool_repair_result result;
	struct nodetool_repair_command *commands;
	size_t n_commands;
	char **not_needed;            /* keyspaces with "No repair is needed" */
	size_t n_not_needed;
	struct nodetool_repair_event *events;
	size_t n_events;
	char *error;                  /* the "error: ..." message, or NULL */
};

int nodetool_parse_repair(const char *buf, size_t len,
    struct nodetool_repair **out, char *err, size_t errlen);
void nodetool_repair_free(struct nodetool_repair *s);
/*
 * Sessions a command ran, at least: its session lines, or 1 when none was
 * printed but the command shows it worked (completed or finished without
 * failing).  *exact (may be NULL) is false when the count is that floor.
 */
size_t nodetool_repair_command_sessions(
    const struct nodetool_repair_command *c, bool *exact);
struct json_t *nodetool_repair_json(const struct nodetool_repair *s);
const char *nodetool_repair_result_name(enum nodetool_repair_result r);

/* ---- nodetool version ---- */

struct nodetool_version {
	char *release;                /* "4.1.0", "5.0-beta1" */
	int major, minor, patch;      /* patch is 0 when not printed ("5.0-beta1") */
};

int nodetool_parse_version(const char *buf, size_t len,
    struct nodetool_version **out, char *err, size_t errlen);
void nodetool_version_free(struct nodetool_version *s);
struct json_t *nodetool_version_json(const struct nodetool_version *s);

/* ---- nodetool tablestats [ks[.table]...] ---- */

/*
 * One "Table: t" (or "Table (index): t.idx") block.  Only what the agent
 * checks is kept; the other lines are recognised as "Label: value" and
 * skipped, since their set differs between versions.
 */
struct nodetool_table_stats {
	char *keyspace;
	char *table;                  /* "orders"; an index: "orders.orders_cust" */
	bool index;                   /* printed as "Table (index): ..." */
	int64_t sstable_count;
	int64_t space_live_bytes;     /* "Space used (live)", plain or -H; UNKNOWN if absent */
	int64_t partitions;           /* "Number of partitions (estimate)"; UNKNOWN if absent */
	/* "Local read count" / "Local write count": requests since this
	 * Cassandra started; UNKNOWN if absent. */
	int64_t local_read_count;
	int64_t local_write_count;
};

/*
 * The lines of a "Keyspace : ks" block above its first table.  Read Count
 * and Write Count count since this Cassandra started (a restart resets
 * them) and are the sums of the local counts of the tables listed under
 * the keyspace (with a table filter, of those tables only).
 */
struct nodetool_ks_stats {
	char *name;
	int64_t read_count;           /* "Read Count"; UNKNOWN if absent */
	int64_t write_count;          /* "Write Count"; UNKNOWN if absent */
};

struct nodetool_tablestats {
	struct nodetool_table_stats *tables;
	size_t n_tables;
	struct nodetool_ks_stats *keyspaces;  /* in the order printed */
	size_t n_keyspaces;
	int64_t total_tables;         /* "Total number of tables: N"; UNKNOWN if absent */
};

int nodetool_parse_tablestats(const char *buf, size_t len,
    struct nodetool_tablestats **out, char *err, size_t errlen);
void nodetool_tablestats_free(struct nodetool_tablestats *s);
struct json_t *nodetool_tablestats_json(const struct nodetool_tablestats *s);
/* The (non-index) table ks.table, or NULL. */
const struct nodetool_table_stats *nodetool_tablestats_find(
    const struct nodetool_tablestats *s, const char *keyspace,
    const char *table);
/* The keyspace ks, or NULL. */
const struct nodetool_ks_stats *nodetool_tablestats_keyspace(
    const struct nodetool_tablestats *s, const char *keyspace);

/* ---- errors ---- */

enum nodetool_error_kind {
	NODETOOL_ERROR_NONE,
	NODETOOL_ERROR_SERVER,        /* "error: <msg>" + stack trace, exit 2 */
	NODETOOL_ERROR_USAGE,         /* "nodetool: <msg>", exit 1 (also connect failures),
	                                 or "Error: <msg>" first (status/ring, bad keyspace) */
};

/*
 * The message of the first "error: " or "nodetool: " line of output, or
 * of an "Error: " line that comes first (describecluster prints a harmless
 * one later), as a new string the caller frees; NULL when there is none.
 * The exit status stays the authority on failure.  kind may be NULL.
 */
char *nodetool_error_message(const char *output, enum nodetool_error_kind *kind);

/* Size as nodetool prints it: "266.06 KiB", "1.2 GiB", "967 bytes". */
int nodetool_parse_size(const char *s, int64_t *bytes);

/*
 * Debug entry point: parse stdin as argv[1] (status, info, describecluster,
 * ring, listsnapshots, compactionstats, repair, version, tablestats,
 * error) and print
 * the JSON on stdout.  Returns the exit status: 0, or 1 with the parse
 * error on stderr, 2 on bad usage.
 */
int nodetool_parse_cli(int argc, char **argv);

#endif
