/*
 * role.h - what a node that checks in is told to do.
 *
 *   rejoin     it is (or was) a member: start Cassandra as it is
 *   bootstrap  a new, empty node: join the ring (it took the slot)
 *   replace    a new, empty node: take the place of replace_address
 *              (-Dcassandra.replace_address_first_boot)
 *   wait       keep Cassandra stopped; check in again after retry_after_s
 *
 * Never bootstrap a node that reports a host id or holds data: on a
 * running cluster's first check-in every node is unknown to the
 * orchestrator, and telling a member to bootstrap would rewrite its
 * identity.  A cluster's first node bootstraps alone with itself as its
 * seed; every other new node needs a live normal node to join through and
 * the slot (slot.h), and waits otherwise: a fresh node whose seeds name
 * only itself silently forms a separate cluster.
 *
 * Pure: the caller reads the facts and persists the slot it is told to
 * take.
 */
#ifndef RM_ROLE_H
#define RM_ROLE_H

#include <stdbool.h>
#include <stddef.h>

#include "slot.h"

enum role {
	ROLE_REJOIN,
	ROLE_BOOTSTRAP,
	ROLE_REPLACE,
	ROLE_WAIT,
};

struct role_in {
	const char *address, *dc, *rack;
	/* What the agent says of its node (-1: not said). */
	bool reports_host_id;
	int cassandra_running, has_data, system_keyspace;
	/* What the orchestrator knows of it. */
	bool known_host_id;
	/* The rest of the cluster. */
	size_t members;		/* other nodes that ever joined (host id,
				 * data or seen up) */
	size_t live_normal;	/* other nodes live and UN now */
	const struct slot *slot;	/* NULL or !held: free */
	int retry_after_s;	/* for wait */
};

struct role_out {
	enum role role;
	const char *replace_address;	/* ROLE_REPLACE */
	int retry_after_s;		/* ROLE_WAIT */
	bool first;		/* the cluster's first node: seeds itself */
	bool take_slot;		/* the caller must take the slot (CAS) */
	enum slot_kind slot_kind;	/* with take_slot */
	char why[160];
	/* Where svc_lc_role() keeps replace_address: the slot row it
	 * points into does not outlive that call. */
	char replace_buf[256];
};

void role_decide(const struct role_in *in, struct role_out *out);

/* Why the node is a member already (a static string), or NULL for a new,
 * empty node: the first question of role_decide(). */
const char *role_member_why(const struct role_in *in);

const char *role_name(enum role r);

#endif
