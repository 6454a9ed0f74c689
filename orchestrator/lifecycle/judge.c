/*
 * judge.c - the verdict described in judge.h.
 */
#include <stdio.h>

#include "judge.h"

const char *judge_verdict_name(enum judge_verdict v)
{
	switch (v) {
	case JUDGE_REPORTED:
		return "reported";
	case JUDGE_AGENT_DOWN:
		return "agent_down";
	case JUDGE_DOWN:
		return "down";
	case JUDGE_UNREACHABLE:
		return "unreachable";
	}
	return "unreachable";
}

enum judge_verdict judge_node(const struct judge_in *in, char *reason,
    size_t reasonlen)
{
	const char *up_by = NULL, *dn_by = NULL;
	int64_t silent_ms = in->now_ms - in->last_hb_ms;
	size_t ups = 0, dns = 0;
	char silence[64];

	if (in->last_hb_ms > 0 && silent_ms <= in->timeout_ms) {
		if (reason != NULL && reasonlen > 0)
			snprintf(reason, reasonlen, "heartbeat %lld ms ago",
			    (long long)silent_ms);
		return JUDGE_REPORTED;
	}
	for (size_t i = 0; i < in->nviews; i++) {
		const struct judge_view *v = &in->views[i];
		if (!v->observer_live || v->at_ms <= in->last_hb_ms)
			continue;
		if (v->status == 'U') {
			ups++;
			up_by = up_by ? up_by : v->observer;
		} else if (v->status == 'D') {
			dns++;
			dn_by = dn_by ? dn_by : v->observer;
		}
	}
	if (in->last_hb_ms > 0)
		snprintf(silence, sizeof(silence), "no heartbeat for %lld s",
		    (long long)(silent_ms / 1000));
	else
		snprintf(silence, sizeof(silence), "no heartbeat yet");
	if (ups > 0) {
		if (reason != NULL && reasonlen > 0)
			snprintf(reason, reasonlen, "%s but %zu live "
			    "peer%s (%s%s) see%s Cassandra up: its agent is "
			    "down, not the node", silence, ups,
			    ups == 1 ? "" : "s", up_by ? up_by : "?",
			    ups > 1 ? ", ..." : "", ups == 1 ? "s" : "");
		return JUDGE_AGENT_DOWN;
	}
	if (dns > 0) {
		if (reason != NULL && reasonlen > 0)
			snprintf(reason, reasonlen, "%s and %zu live "
			    "peer%s (%s%s) see%s it down (DN)", silence, dns,
			    dns == 1 ? "" : "s",
			    dn_by ? dn_by : "?", dns > 1 ? ", ..." : "",
			    dns == 1 ? "s" : "");
		return JUDGE_DOWN;
	}
	if (reason != NULL && reasonlen > 0)
		snprintf(reason, reasonlen, "%s and no live peer has seen it "
		    "since: cannot tell whether Cassandra runs", silence);
	return JUDGE_UNREACHABLE;
}
