/*
 * role.c - the check-in decision described in role.h.
 */
#include <stdio.h>
#include <string.h>

#include "role.h"

const char *role_name(enum role r)
{
	switch (r) {
	case ROLE_REJOIN:
		return "rejoin";
	case ROLE_BOOTSTRAP:
		return "bootstrap";
	case ROLE_REPLACE:
		return "replace";
	case ROLE_WAIT:
		return "wait";
	}
	return "wait";
}

static const char *nz(const char *s)
{
	return s != NULL ? s : "";
}

const char *role_member_why(const struct role_in *in)
{
	if (in->reports_host_id)
		return "it reports a host id";
	if (in->known_host_id)
		return "it is known with a host id";
	if (in->cassandra_running > 0)
		return "its Cassandra is running";
	if (in->has_data > 0)
		return "its data dirs hold SSTables";
	if (in->system_keyspace > 0)
		return "its data dirs hold a system keyspace";
	return NULL;
}

static void set_wait(const struct role_in *in, struct role_out *out,
    const char *why)
{
	out->role = ROLE_WAIT;
	out->retry_after_s = in->retry_after_s > 0 ? in->retry_after_s : 5;
	snprintf(out->why, sizeof(out->why), "%s", why);
}

void role_decide(const struct role_in *in, struct role_out *out)
{
	const struct slot *s = in->slot != NULL && in->slot->held ?
	    in->slot : NULL;
	const char *mw = role_member_why(in);
	bool holds = s != NULL && slot_may_take(s, in->address);

	memset(out, 0, sizeof(*out));
	/* A restart in the middle of its own join or replacement. */
	if (holds && s->kind == SLOT_REPLACE) {
		out->role = ROLE_REPLACE;
		out->replace_address = s->dead_address;
		snprintf(out->why, sizeof(out->why), "it holds the slot to "
		    "replace %s: the replacement goes on", nz(s->dead_address));
		return;
	}
	if (mw != NULL) {
		out->role = ROLE_REJOIN;
		snprintf(out->why, sizeof(out->why), "%s%s", mw, holds ?
		    "; it holds the bootstrap slot, Cassandra resumes its "
		    "join" : "");
		return;
	}
	if (holds) {
		out->role = ROLE_BOOTSTRAP;
		out->first = in->members == 0 && in->live_normal == 0;
		snprintf(out->why, sizeof(out->why), "a new node holding the "
		    "bootstrap slot: its join starts again");
		return;
	}
	/* A replacement waiting for a host takes a new node of its place. */
	if (s != NULL && s->kind == SLOT_REPLACE && nz(s->holder)[0] == '\0' &&
	    strcmp(nz(s->dc), nz(in->dc)) == 0 &&
	    strcmp(nz(s->rack), nz(in->rack)) == 0) {
		out->role = ROLE_REPLACE;
		out->replace_address = s->dead_address;
		out->take_slot = true;
		out->slot_kind = SLOT_REPLACE;
		snprintf(out->why, sizeof(out->why), "a new node in dc %s rack "
		    "%s, where %s waits to be replaced", nz(in->dc),
		    nz(in->rack), nz(s->dead_address));
		return;
	}
	if (s != NULL) {
		char why[160];
		if (s->kind == SLOT_REPLACE && nz(s->holder)[0] == '\0')
			snprintf(why, sizeof(why), "the replacement of %s "
			    "(dc %s rack %s) holds the cluster's slot",
			    nz(s->dead_address), nz(s->dc), nz(s->rack));
		else
			snprintf(why, sizeof(why), "%s %s holds the "
			    "cluster's slot: one join at a time",
			    s->kind == SLOT_REPLACE ? "the replacement" :
			    "the join of", nz(s->holder));
		set_wait(in, out, why);
		return;
	}
	if (in->members == 0 && in->live_normal == 0) {
		out->role = ROLE_BOOTSTRAP;
		out->first = true;
		out->take_slot = true;
		out->slot_kind = SLOT_BOOTSTRAP;
		snprintf(out->why, sizeof(out->why), "the cluster's first "
		    "node: it seeds itself and joins alone");
		return;
	}
	if (in->live_normal == 0) {
		set_wait(in, out, "no live normal node to join through (a new "
		    "node seeding itself would form a cluster of its own)");
		return;
	}
	out->role = ROLE_BOOTSTRAP;
	out->take_slot = true;
	out->slot_kind = SLOT_BOOTSTRAP;
	snprintf(out->why, sizeof(out->why), "a new node: no host id, no "
	    "data, Cassandra not running; it took the bootstrap slot");
}
