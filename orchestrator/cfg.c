/*
 * cfg.c - the orchestrator's configuration table.  Defaults suit a single
 * host trying the daemon out; docs/configuration.md lists every key and
 * must be kept in step with this table.
 */
#include "cfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/conf.h"
#include "../common/storeurl.h"
#include "../common/util.h"

#define SEC 1000LL
#define DAY (86400LL * SEC)

static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const ha_modes[] = { "none", "etcd", NULL };

static const struct conf_key keys[] = {
	{ "listen", CONF_HOSTPORT, "127.0.0.1:7400", false, 0, 0, NULL,
	  "address and port of the REST API" },
	{ "data_dir", CONF_PATH, "/var/lib/ringmaster", false, 0, 0, NULL,
	  "directory of state.db and the admin token file" },
	{ "workers", CONF_INT, "4", false, 1, 256, NULL,
	  "threads that run cluster tasks (one task per cluster at a time)" },
	{ "http_threads", CONF_INT, "2", false, 1, 64, NULL,
	  "threads that answer HTTP requests" },
	{ "log_level", CONF_ENUM, "info", false, 0, 0, log_levels,
	  "debug, info, warn or error; reloaded on SIGHUP" },
	{ "log_file", CONF_PATH, NULL, false, 0, 0, NULL,
	  "log file, reopened on SIGHUP; unset: stderr" },
	{ "join_token_file", CONF_PATH, NULL, false, 0, 0, NULL,
	  "agents' join token; created with a fresh token when missing (default DATA_DIR/join.token)" },
	{ "tls_cert", CONF_PATH, NULL, false, 0, 0, NULL,
	  "PEM certificate; with tls_key the API is served over HTTPS" },
	{ "tls_key", CONF_PATH, NULL, false, 0, 0, NULL,
	  "PEM private key for tls_cert" },
	{ "allow_plaintext", CONF_BOOL, "no", false, 0, 0, NULL,
	  "serve plain HTTP on a non-loopback listen address (tokens cross the network in clear)" },
	{ "heartbeat_interval", CONF_DURATION, "10s", false, 100, DAY, NULL,
	  "how often agents are told to heartbeat" },
	{ "heartbeat_timeout", CONF_DURATION, "35s", false, 200, DAY, NULL,
	  "a node whose last heartbeat is older than this is marked down" },
	{ "heartbeat_flush", CONF_DURATION, "1s", false, 10, 60 * SEC, NULL,
	  "how often heartbeats held in memory are written to the store in one transaction" },
	{ "bootstrap_timeout", CONF_DURATION, "4h", false, 1000, 7 * DAY, NULL,
	  "how long a joining node may hold its cluster's bootstrap slot before it is freed and the node marked failed" },
	{ "seeds_per_dc", CONF_INT, "3", false, 1, 16, NULL,
	  "seeds chosen per datacenter (spread over racks) when no seed is pinned" },
	{ "checkin_retry_after", CONF_DURATION, "10s", false, 1000, 600 * SEC, NULL,
	  "how long a new node told to wait (for the slot, or for a live node to join through) waits before it checks in again" },
	{ "shutdown_grace", CONF_DURATION, "10s", false, 0, 600 * SEC, NULL,
	  "on SIGTERM, how long running steps get to reach a checkpoint" },
	{ "auth_fail_max", CONF_INT, "20", false, 0, 1000000, NULL,
	  "wrong tokens one client address may send within auth_fail_window before it is answered 429; 0: no limit" },
	{ "auth_fail_window", CONF_DURATION, "60s", false, 1000, DAY, NULL,
	  "the window over which a client address's wrong tokens are counted" },
	{ "auth_block", CONF_DURATION, "60s", false, 1000, DAY, NULL,
	  "how long an address that sent auth_fail_max wrong tokens gets 429 (with Retry-After) for every request that needs a token" },
	{ "auth_fail_table", CONF_INT, "4096", false, 16, 1000000, NULL,
	  "client addresses remembered for auth_fail_max at most; beyond that the one seen least recently is forgotten" },
	{ "audit_refused_max", CONF_INT, "10", false, 0, 1000000, NULL,
	  "refused (4xx) mutating requests recorded in the events per token and minute; the rest are only counted in ringmaster_http_requests_total; 0: every one" },
	{ "events_keep_days", CONF_INT, "90", false, 0, 36500, NULL,
	  "events older than this many days are deleted; 0: kept whatever their age" },
	{ "events_keep_rows", CONF_INT, "1000000", false, 0, 1000000000, NULL,
	  "only the newest this many events are kept; 0: no limit by count" },
	{ "state_mirror", CONF_STRING, NULL, false, 0, 0, NULL,
	  "s3://bucket/prefix or file:///dir: state.db is mirrored there and restored from there when data_dir holds none; unset: no mirror" },
	{ "state_mirror_delay", CONF_DURATION, "5s", false, 100, 3600 * SEC, NULL,
	  "a change to the state is mirrored this long after it (changes within it share one generation)" },
	{ "state_mirror_interval", CONF_DURATION, "5m", false, SEC, DAY, NULL,
	  "a generation is written at least this often, even without a change" },
	{ "state_mirror_keep", CONF_INT, "24", false, 1, 100000, NULL,
	  "generations kept in the mirror; older ones are deleted after a new one is complete" },
	{ "state_mirror_key_file", CONF_PATH, NULL, false, 0, 0, NULL,
	  "file of 64 hex digits (openssl rand -hex 32): generations are sealed with AES-256-GCM; unset: in clear, stored secrets included" },
	{ "state_mirror_endpoint", CONF_URL, NULL, false, 0, 0, NULL,
	  "S3 endpoint of the mirror (http://host:port for S3-compatible servers); unset: AWS; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" },
	{ "state_mirror_region", CONF_STRING, NULL, false, 0, 0, NULL,
	  "S3 region of the mirror; unset: AWS_REGION, AWS_DEFAULT_REGION or us-east-1" },
	{ "ha", CONF_ENUM, "none", false, 0, 0, ha_modes,
	  "etcd: several orchestrators share one state, one active (holding a lease in etcd), the others standbys; none: one orchestrator" },
	{ "etcd_endpoints", CONF_STRING, NULL, false, 0, 0, NULL,
	  "etcd's client URLs (http://host:port), separated by commas; required with ha = etcd" },
	{ "ha_prefix", CONF_STRING, "/ringmaster/default", false, 0, 0, NULL,
	  "where the orchestrators of one group meet in etcd: the election key is PREFIX/active" },
	{ "ha_lease_ttl", CONF_DURATION, "5s", false, 2 * SEC, 3600 * SEC, NULL,
	  "the active's lease in etcd, whole seconds: a dead active is replaced after about this long" },
	{ "advertise_url", CONF_URL, NULL, false, 0, 0, NULL,
	  "how clients reach this orchestrator (http[s]://host:port); standbys send clients to the active's; required with ha = etcd" },
};

const struct conf_key *cfg_keys(size_t *n)
{
	*n = ARRAY_SIZE(keys);
	return keys;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* Only this host can reach a loopback address, so bearer tokens sent there
 * in clear never cross a network. */
static bool is_loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "localhost") == 0 ||
	    strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0;
}

struct cfg *cfg_load(const char *path, char *err, size_t errlen)
{
	struct conf *cf = conf_load(path, keys, ARRAY_SIZE(keys), err, errlen);
	struct cfg *c;

	if (cf == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(conf_path(cf));
	if (conf_hostport(conf_str(cf, "listen"), &c->listen_host,
	    &c->listen_port) != 0) {
		/* conf_load checked it already; keep the error path honest. */
		snprintf(err, errlen, "%s: key 'listen': expected host:port", c->path);
		goto fail;
	}
	c->data_dir = xstrdup(conf_str(cf, "data_dir"));
	c->workers = (int)conf_int(cf, "workers");
	c->http_threads = (int)conf_int(cf, "http_threads");
	log_level_parse(conf_str(cf, "log_level"), &c->log_level);
	c->log_file = dup_or_null(conf_str(cf, "log_file"));
	if (conf_isset(cf, "join_token_file"))
		c->join_token_file = xstrdup(conf_str(cf, "join_token_file"));
	else
		c->join_token_file = xasprintf("%s/join.token", c->data_dir);
	c->admin_token_file = xasprintf("%s/admin.token", c->data_dir);
	c->tls_cert = dup_or_null(conf_str(cf, "tls_cert"));
	c->tls_key = dup_or_null(conf_str(cf, "tls_key"));
	c->heartbeat_interval_ms = conf_ms(cf, "heartbeat_interval");
	c->heartbeat_timeout_ms = conf_ms(cf, "heartbeat_timeout");
	c->heartbeat_flush_ms = conf_ms(cf, "heartbeat_flush");
	c->shutdown_grace_ms = conf_ms(cf, "shutdown_grace");
	c->bootstrap_timeout_ms = conf_ms(cf, "bootstrap_timeout");
	c->seeds_per_dc = (int)conf_int(cf, "seeds_per_dc");
	c->checkin_retry_after_ms = conf_ms(cf, "checkin_retry_after");
	c->auth_fail_max = (int)conf_int(cf, "auth_fail_max");
	c->auth_fail_window_ms = conf_ms(cf, "auth_fail_window");
	c->auth_block_ms = conf_ms(cf, "auth_block");
	c->auth_fail_table = (int)conf_int(cf, "auth_fail_table");
	c->audit_refused_max = (int)conf_int(cf, "audit_refused_max");
	c->events_keep_days = (int)conf_int(cf, "events_keep_days");
	c->events_keep_rows = conf_int(cf, "events_keep_rows");
	if (conf_isset(cf, "state_mirror")) {
		char url[STOREURL_MAX], why[STOREURL_MAX + 200];
		if (storeurl_normalize(conf_str(cf, "state_mirror"), url, why,
		    sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: key 'state_mirror': %s",
			    c->path, why);
			goto fail;
		}
		c->state_mirror = xstrdup(url);
	}
	c->state_mirror_delay_ms = conf_ms(cf, "state_mirror_delay");
	c->state_mirror_interval_ms = conf_ms(cf, "state_mirror_interval");
	c->state_mirror_keep = (int)conf_int(cf, "state_mirror_keep");
	c->state_mirror_key_file = dup_or_null(conf_str(cf,
	    "state_mirror_key_file"));
	c->state_mirror_endpoint = dup_or_null(conf_str(cf,
	    "state_mirror_endpoint"));
	c->state_mirror_region = dup_or_null(conf_str(cf,
	    "state_mirror_region"));

	c->ha = strcmp(conf_str(cf, "ha"), "etcd") == 0;
	c->etcd_endpoints = dup_or_null(conf_str(cf, "etcd_endpoints"));
	c->ha_prefix = xstrdup(conf_str(cf, "ha_prefix"));
	c->ha_lease_ttl_ms = conf_ms(cf, "ha_lease_ttl");
	c->advertise_url = dup_or_null(conf_str(cf, "advertise_url"));
	if (c->ha && (c->etcd_endpoints == NULL || c->advertise_url == NULL ||
	    c->state_mirror == NULL)) {
		snprintf(err, errlen, "%s: key 'ha': ha = etcd needs %s: "
		    "standbys take over from the state mirror, find etcd by "
		    "etcd_endpoints and send clients to advertise_url",
		    c->path, c->etcd_endpoints == NULL ? "etcd_endpoints" :
		    c->advertise_url == NULL ? "advertise_url" :
		    "state_mirror");
		goto fail;
	}
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		snprintf(err, errlen, "%s: key '%s' is set without '%s': set both "
		    "for HTTPS or neither", c->path,
		    c->tls_cert ? "tls_cert" : "tls_key",
		    c->tls_cert ? "tls_key" : "tls_cert");
		goto fail;
	}
	if (c->tls_cert == NULL && !is_loopback(c->listen_host) &&
	    !conf_bool(cf, "allow_plaintext")) {
		snprintf(err, errlen, "%s: key 'listen': %s:%d is reachable from "
		    "other hosts and would carry tokens in clear: set tls_cert and "
		    "tls_key, listen on 127.0.0.1, or set allow_plaintext = yes "
		    "behind a TLS proxy", c->path, c->listen_host, c->listen_port);
		goto fail;
	}
	if (c->heartbeat_timeout_ms <= c->heartbeat_interval_ms) {
		snprintf(err, errlen, "%s: key 'heartbeat_timeout': must be longer "
		    "than heartbeat_interval (%lldms), got %lldms", c->path,
		    (long long)c->heartbeat_interval_ms,
		    (long long)c->heartbeat_timeout_ms);
		goto fail;
	}
	conf_free(cf);
	return c;
fail:
	conf_free(cf);
	cfg_free(c);
	return NULL;
}

void cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->listen_host);
	free(c->data_dir);
	free(c->log_file);
	free(c->join_token_file);
	free(c->admin_token_file);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->state_mirror);
	free(c->state_mirror_key_file);
	free(c->state_mirror_endpoint);
	free(c->state_mirror_region);
	free(c->etcd_endpoints);
	free(c->ha_prefix);
	free(c->advertise_url);
	free(c);
}
