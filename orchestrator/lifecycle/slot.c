/*
 * slot.c - the rules of the bootstrap slot (slot.h).
 */
#include <string.h>

#include "slot.h"

const char *slot_kind_name(enum slot_kind k)
{
	return k == SLOT_REPLACE ? "replace" : "bootstrap";
}

bool slot_may_take(const struct slot *s, const char *address)
{
	if (!s->held)
		return true;
	return s->holder != NULL && address != NULL && *s->holder != '\0' &&
	    strcmp(s->holder, address) == 0;
}

enum slot_next slot_check(const struct slot *s, int64_t now_ms,
    const struct slot_obs *o)
{
	bool joined;

	if (!s->held)
		return SLOT_KEEP;
	/*
	 * Both views: a node sees itself UN as soon as it finished, but the
	 * next joiner streams from its peers, which must see it too.  A
	 * replacing node is invisible in status until it has streamed, and the
	 * dead address must be gone or a second replace of it would start.
	 * Real 4.1 drops the dead address from the ring only when the
	 * replacement took its tokens; the token counts the heartbeats carry
	 * must agree too.
	 */
	joined = s->holder != NULL && *s->holder != '\0' && o->self_un &&
	    (o->peer_un || o->live_peers == 0) && (s->kind != SLOT_REPLACE ||
	    (o->dead_gone && !o->tokens_differ));
	if (joined)
		return SLOT_JOINED;
	if (s->deadline_ms > 0 && now_ms >= s->deadline_ms)
		return SLOT_EXPIRED;
	return SLOT_KEEP;
}
