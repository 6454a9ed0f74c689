/*
 * heartbeat.c - see heartbeat.h.
 */
#include "heartbeat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/http.h"
#include "../common/util.h"
#include "agentcfg.h"
#include "checkin.h"
#include "tenants.h"

/* demand_interval_s is taken between these (ms). */
#define DEMAND_INTERVAL_MIN_MS 1000LL
#define DEMAND_INTERVAL_MAX_MS (24LL * 3600 * 1000)

static void copy(json_t *dst, const json_t *src, const char *key, const char *as)
{
	json_t *v = json_object_get(src, key);
	if (v != NULL && !json_is_null(v))
		json_object_set(dst, as ? as : key, v);
}

json_t *heartbeat_body(const struct agentcfg *c, const json_t *report,
    bool extended)
{
	json_t *b = json_pack("{s:s?, s:s?, s:s?, s:s?}", "cluster", c->cluster,
	    "address", c->address, "dc", c->dc, "rack", c->rack);
	json_t *st = json_object_get(report, "status");

	json_object_set_new(b, "status", json_string(json_is_string(st) ?
	    json_string_value(st) : "down"));
	copy(b, report, "host_id", NULL);
	copy(b, report, "load_bytes", NULL);
	copy(b, report, "cassandra_version", NULL);
	copy(b, report, "uptime_s", NULL);
	copy(b, report, "peers", NULL);
	if (extended) {
		static const char *const more[] = { "process_up", "gossip",
		    "native_transport", "tokens", "disks", "has_data", "errors" };
		for (size_t i = 0; i < ARRAY_SIZE(more); i++)
			copy(b, report, more[i], NULL);
		json_object_set_new(b, "agent_version", json_string(RM_VERSION));
	}
	return b;
}

void heartbeat_add_tenants(json_t *body, int64_t tenants_gen,
    const json_t *limits_applied, const char *limits_error,
    const json_t *demand)
{
	/* Absent before any list: an orchestrator without tenants never
	 * sends one and would refuse the field as unknown_field, taking the
	 * whole extended body (seeds_gen included) away for good. */
	if (tenants_gen > 0)
		json_object_set_new(body, "tenants_gen",
		    json_integer(tenants_gen));
	if (limits_applied != NULL)
		json_object_set_new(body, "limits_applied",
		    json_deep_copy(limits_applied));
	if (limits_error != NULL)
		json_object_set_new(body, "limits_error",
		    json_string(limits_error));
	if (demand != NULL)
		json_object_set_new(body, "demand", json_deep_copy(demand));
}

/* The tenants' part of an answer: the list comes with its generation. */
static int parse_tenants(const json_t *j, struct heartbeat_answer *a,
    char *err, size_t errlen)
{
	const json_t *gen = json_object_get(j, "tenants_gen");
	const json_t *list = json_object_get(j, "tenants");
	const json_t *iv = json_object_get(j, "demand_interval_s");
	char why[512];

	if (iv != NULL && !json_is_null(iv)) {
		double s = json_number_value(iv);
		if (!json_is_number(iv) || !(s > 0)) {
			snprintf(err, errlen, "heartbeat answer's "
			    "demand_interval_s is not a positive number of "
			    "seconds");
			return -1;
		}
		a->demand_interval_ms = s * 1000.0 < DEMAND_INTERVAL_MIN_MS ?
		    DEMAND_INTERVAL_MIN_MS : s * 1000.0 > DEMAND_INTERVAL_MAX_MS ?
		    DEMAND_INTERVAL_MAX_MS : (int64_t)(s * 1000.0);
	}
	if (gen != NULL && !json_is_null(gen) && (!json_is_integer(gen) ||
	    json_integer_value(gen) <= 0)) {
		snprintf(err, errlen, "heartbeat answer's tenants_gen is not a "
		    "positive integer");
		return -1;
	}
	if (list == NULL || json_is_null(list)) {
		a->tenants_gen = json_is_integer(gen) ?
		    (int64_t)json_integer_value(gen) : 0;
		return 0;
	}
	if (!json_is_integer(gen)) {
		snprintf(err, errlen, "heartbeat answer has tenants but no "
		    "positive tenants_gen");
		return -1;
	}
	if (tenants_parse(list, (int64_t)json_integer_value(gen), &a->tenants,
	    why, sizeof(why)) != 0) {
		snprintf(err, errlen, "heartbeat answer's tenants (generation "
		    "%lld) refused: %s", (long long)json_integer_value(gen), why);
		return -1;
	}
	a->tenants_gen = a->tenants->gen;
	return 0;
}

int heartbeat_parse_answer(const char *body, size_t len,
    struct heartbeat_answer *a, char *err, size_t errlen)
{
	json_t *j, *v, *gen;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	if (body == NULL || len == 0)
		return 0;		/* an empty 2xx carries nothing */
	j = json_loadb(body, len, 0, NULL);
	if (!json_is_object(j)) {
		snprintf(err, errlen, "heartbeat answer is not a JSON object");
		goto out;
	}
	v = json_object_get(j, "heartbeat_interval_s");
	if (json_is_number(v) && json_number_value(v) > 0)
		a->interval_ms = (int64_t)(json_number_value(v) * 1000.0);
	if (parse_tenants(j, a, err, errlen) != 0)
		goto out;
	v = json_object_get(j, "seeds");
	gen = json_object_get(j, "seeds_gen");
	if (v == NULL || json_is_null(v)) {
		rc = 0;
		goto out;
	}
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > 64) {
		snprintf(err, errlen, "heartbeat answer's 'seeds' is not a list "
		    "of 1 to 64 addresses");
		goto out;
	}
	if (!json_is_integer(gen) || json_integer_value(gen) <= 0) {
		snprintf(err, errlen, "heartbeat answer has seeds but no "
		    "positive seeds_gen");
		goto out;
	}
	if (checkin_seeds_parse(v, "heartbeat answer", &a->seeds, &a->n_seeds,
	    err, errlen) != 0)
		goto out;
	a->seeds_gen = (int64_t)json_integer_value(gen);
	rc = 0;
out:
	if (rc != 0)
		heartbeat_answer_release(a);
	json_decref(j);
	return rc;
}

void heartbeat_answer_release(struct heartbeat_answer *a)
{
	if (a == NULL)
		return;
	checkin_seeds_free(a->seeds, a->n_seeds);
	tenants_free(a->tenants);
	memset(a, 0, sizeof(*a));
}

enum heartbeat_outcome heartbeat_post(struct http_client *h,
    const struct agentcfg *c, const char *token, const json_t *body,
    struct heartbeat_answer *ans, char *err, size_t errlen)
{
	struct http_resp resp;
	char *url = NULL;
	enum heartbeat_outcome out;
	json_t *j = NULL;
	const char *code = NULL, *msg = NULL;

	memset(ans, 0, sizeof(*ans));
	char rerr[1024];

	if (checkin_request(h, c, token, "/api/v1/agents/heartbeat", body,
	    &resp, &url, rerr, sizeof(rerr)) != 0) {
		snprintf(err, errlen, "heartbeat not sent: %s", rerr);
		out = HEARTBEAT_UNREACHABLE;
		goto done;
	}
	if (resp.body != NULL)
		j = json_loadb(resp.body, resp.body_len, 0, NULL);
	code = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
	msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	if (json_is_string(json_object_get(j, "error"))) {
		/* A standby's shape (docs/api.md, "Several orchestrators"). */
		code = json_string_value(json_object_get(j, "error"));
		msg = json_string_value(json_object_get(j, "message"));
	}
	if (resp.status >= 200 && resp.status < 300) {
		char perr[256];
		if (heartbeat_parse_answer(resp.body, resp.body_len, ans, perr,
		    sizeof(perr)) != 0)
			/* The beat was taken; only its extras are unusable. */
			snprintf(err, errlen, "heartbeat to %s taken, but %s; "
			    "ignoring it", url, perr);
		else
			err[0] = '\0';
		out = HEARTBEAT_OK;
		goto done;
	}
	if (resp.status >= 500 && rerr[0] != '\0')	/* every one failed */
		snprintf(err, errlen, "heartbeat not taken: %s", rerr);
	else
		snprintf(err, errlen, "heartbeat to %s answered %ld: %s", url,
		    resp.status, msg ? msg : "(no message)");
	if (resp.status == 401 || resp.status == 403)
		out = HEARTBEAT_REFUSED;
	else if (resp.status == 404 || resp.status == 409)
		out = HEARTBEAT_UNKNOWN_NODE;
	else if (resp.status == 400 && code && strcmp(code, "unknown_field") == 0)
		out = HEARTBEAT_UNKNOWN_FIELD;
	else if (resp.status >= 400 && resp.status < 500)
		out = HEARTBEAT_REJECTED;
	else
		out = HEARTBEAT_UNREACHABLE;
done:
	json_decref(j);
	http_resp_release(&resp);
	free(url);
	return out;
}
