/*
 * heartbeat.h - the agent's heartbeat (POST /api/v1/agents/heartbeat,
 * bearer the node's credential, or the join token while the node has
 * none): what cass_report() saw, mapped onto the API's fields.
 *
 * The API takes cluster, address, host_id, status, load_bytes,
 * cassandra_version, dc, rack, uptime_s and the peers object; the extended
 * body adds process_up, gossip, native_transport, tokens, disks and
 * has_data (and seeds_gen, see heartbeat_answer; the tenants' fields,
 * see heartbeat_add_tenants).  An orchestrator that does not know the extended fields answers
 * 400 unknown_field; the agent then falls back to the basic body for the
 * rest of its life, so a newer agent works with an older orchestrator.
 */
#ifndef RM_HEARTBEAT_H
#define RM_HEARTBEAT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct agentcfg;
struct http_client;
struct tenants;

enum heartbeat_outcome {
	HEARTBEAT_OK,
	HEARTBEAT_UNREACHABLE,	/* no answer or 5xx: try again next time */
	HEARTBEAT_UNKNOWN_NODE,	/* 404/409: the orchestrator forgot us: check in again */
	HEARTBEAT_REFUSED,	/* 401/403: check in again (checkin.h) */
	HEARTBEAT_REJECTED,	/* another 4xx */
	HEARTBEAT_UNKNOWN_FIELD,/* 400 unknown_field: send the basic body */
};

/* The body for report (from cass_report); a new reference. */
json_t *heartbeat_body(const struct agentcfg *c, const json_t *report,
    bool extended);

/*
 * The tenants' fields of an extended body: tenants_gen (the generation
 * held; 0, before any: not sent), limits_applied (NULL: not sent, before
 * any tenants answer), limits_error and demand (NULL: not sent).  Nothing
 * is stolen.
 */
void heartbeat_add_tenants(json_t *body, int64_t tenants_gen,
    const json_t *limits_applied, const char *limits_error,
    const json_t *demand);

/*
 * What a 2xx answer may carry.  Seeds come only when they changed since
 * the generation the agent sent as seeds_gen (most answers are the
 * orchestrator's one constant body): the agent writes them into
 * cassandra.yaml, where Cassandra reads them at its next start.  Tenants
 * likewise come only when their generation differs from the one the agent
 * sent as tenants_gen (tenants.h).
 */
struct heartbeat_answer {
	int64_t interval_ms;	/* 0: not given */
	int64_t seeds_gen;	/* 0: no seeds in the answer */
	char **seeds;
	size_t n_seeds;
	int64_t tenants_gen;	/* 0: not given */
	struct tenants *tenants;	/* NULL: no list in the answer */
	int64_t demand_interval_ms;	/* 0: not given */
};

/*
 * Parse a 2xx answer body: 0, or -1 with a message (a bad seed or tenant
 * list is refused whole: no partial list reaches cassandra.yaml or the
 * limits file).
 */
int heartbeat_parse_answer(const char *body, size_t len,
    struct heartbeat_answer *a, char *err, size_t errlen);
void heartbeat_answer_release(struct heartbeat_answer *a);

/* ans (zeroed first) gets a 2xx answer's content. */
enum heartbeat_outcome heartbeat_post(struct http_client *h,
    const struct agentcfg *c, const char *token, const json_t *body,
    struct heartbeat_answer *ans, char *err, size_t errlen);

#endif
