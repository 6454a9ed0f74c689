/*
 * forget.h - make Cassandra's gossip forget the address of a node that
 * was replaced by a host with another address.
 *
 * Real 4.1 keeps the old address's row in some live peers'
 * system.peers_v2 after such a replacement; once the new node is itself
 * removed and such a peer restarts, the old address is back in its ring,
 * DN and owning tokens (docs/lifecycle.md, "Cassandra 4.1 and replaced
 * addresses").  The step that ends a replacement therefore runs
 * `ringagent assassinate --address OLD` on the new node, then asks every
 * other live node (`ringagent gossip-check`) until none holds OLD other
 * than as LEFT.  The replacement is done before this step: when the
 * agents cannot be run, or some node keeps the address, a warn event
 * says what to run and the step ends without failing it.
 */
#ifndef RM_TASKS_FORGET_H
#define RM_TASKS_FORGET_H

#include <stddef.h>

struct task_ctx;

/* How long the other live nodes get to see the address as LEFT before
 * the step gives up on them (with a warn event saying what to run). */
#define FORGET_SPREAD_MS	(120 * 1000)

/*
 * The step: dead is the replaced address, holder the live node that
 * replaced it.  Nothing to do when they are the same address.  Returns a
 * TASK_STEP_* code (TASK_STEP_WAIT while the agents work).  Safe to run
 * again from the start (after a restart): an address already LEFT is
 * not assassinated twice.
 */
int forget_address_step(struct task_ctx *ctx, const char *dead,
    const char *holder, char *err, size_t errlen);

#endif
