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

enum heartbeat_outcome heartbeat_post(struct http_client *h,
    const struct agentcfg *c, const char *token, const json_t *body,
    int64_t *interval_ms, char *err, size_t errlen)
{
	struct http_resp resp;
	char *url = NULL;
	enum heartbeat_outcome out;
	json_t *j = NULL;
	const char *code = NULL, *msg = NULL;

	if (checkin_request(h, c, token, "/api/v1/agents/heartbeat", body,
	    &resp, &url) != 0) {
		snprintf(err, errlen, "heartbeat not sent: %s", resp.err);
		out = HEARTBEAT_UNREACHABLE;
		goto done;
	}
	if (resp.body != NULL)
		j = json_loadb(resp.body, resp.body_len, 0, NULL);
	code = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
	msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	if (resp.status >= 200 && resp.status < 300) {
		json_t *iv = json_object_get(j, "heartbeat_interval_s");
		if (interval_ms != NULL && json_is_number(iv) && json_number_value(iv) > 0)
			*interval_ms = (int64_t)(json_number_value(iv) * 1000.0);
		out = HEARTBEAT_OK;
		goto done;
	}
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
