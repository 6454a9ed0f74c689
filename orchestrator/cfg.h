/*
 * cfg.h - the orchestrator's configuration: the key table handed to
 * common/conf.c and the typed, validated settings the daemon runs with.
 *
 * cfg_load() parses the file and then checks what the table alone cannot
 * (tls_cert and tls_key set together, heartbeat_timeout longer than
 * heartbeat_interval).  Everything in struct cfg is owned by the struct and
 * released by cfg_free().
 */
#ifndef RM_CFG_H
#define RM_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "../common/log.h"

struct conf_key;

struct cfg {
	char *path;		/* the file it came from, "(defaults)" for none */
	char *listen_host;
	int listen_port;
	char *data_dir;
	int workers;
	enum log_level log_level;
	char *log_file;		/* NULL: stderr */
	char *join_token_file;	/* default <data_dir>/join.token */
	char *admin_token_file;	/* <data_dir>/admin.token */
	char *tls_cert;		/* NULL unless both set */
	char *tls_key;
	int http_threads;
	int64_t heartbeat_interval_ms;
	int64_t heartbeat_timeout_ms;
	int64_t heartbeat_flush_ms;
	int64_t shutdown_grace_ms;
	int64_t bootstrap_timeout_ms;
	int seeds_per_dc;
	int64_t checkin_retry_after_ms;
	/* Limits (docs/security.md): wrong tokens per client address, refused
	 * requests audited per token, how long events are kept. */
	int auth_fail_max;		/* 0: no limit */
	int64_t auth_fail_window_ms;
	int64_t auth_block_ms;
	int auth_fail_table;
	int audit_refused_max;		/* per token and minute; 0: no limit */
	int events_keep_days;		/* 0: no limit by age */
	int64_t events_keep_rows;	/* 0: no limit by count */
	/* The state mirror (orchestrator/mirror/, docs/operations.md). */
	char *state_mirror;		/* normal form; NULL: off */
	int64_t state_mirror_delay_ms;
	int64_t state_mirror_interval_ms;
	int state_mirror_keep;
	char *state_mirror_key_file;	/* NULL: snapshots in clear */
	char *state_mirror_endpoint;	/* NULL: AWS for the region */
	char *state_mirror_region;	/* NULL: $AWS_REGION, ... */
	/* Active/standby (orchestrator/ha/): off unless ha = etcd. */
	bool ha;
	char *etcd_endpoints;
	char *ha_prefix;
	int64_t ha_lease_ttl_ms;
	char *advertise_url;
};

/* The key table, for --help and docs. */
const struct conf_key *cfg_keys(size_t *n);

/*
 * Load path (NULL: defaults).  Returns a new cfg, or NULL with
 * "FILE:LINE: key 'x': ..." in err.
 */
struct cfg *cfg_load(const char *path, char *err, size_t errlen);
void cfg_free(struct cfg *c);

#endif
