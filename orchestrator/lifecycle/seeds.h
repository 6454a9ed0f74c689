/*
 * seeds.h - which nodes are a cluster's seeds.
 *
 * Pure: the caller gathers the nodes (with what the heartbeats say of
 * them), the seeds chosen last time and any the operator pinned; this
 * module only decides.  The rules (docs/lifecycle.md):
 *
 *   - pinned seeds win, taken as given;
 *   - otherwise, per DC, seeds are live normal nodes only, spread over the
 *     racks: one per rack first, then a second per rack, and so on, up to
 *     per_dc;
 *   - a seed stays a seed while it is live and normal (a node reads its
 *     seed list only at start, so churn buys nothing), and is replaced
 *     when it dies or leaves;
 *   - new seeds are taken in address order so the choice is the same on
 *     every call;
 *   - every DC's seeds go to every node.
 */
#ifndef RM_SEEDS_H
#define RM_SEEDS_H

#include <stdbool.h>
#include <stddef.h>

struct seeds_node {
	const char *address;
	const char *dc;		/* NULL counts as "" */
	const char *rack;	/* NULL counts as "" */
	bool live_normal;	/* up and in state normal (UN) */
};

#define SEEDS_PER_DC_DEFAULT 3
#define SEEDS_PER_DC_MAX 16

/*
 * Choose the seeds of one cluster.  nodes[n]; prev[nprev] the seeds of
 * the last choice; pinned[npinned] the operator's.  Writes at most outcap
 * addresses (borrowed from nodes, prev or pinned) to out, grouped by DC in
 * DC-name order and by address within a DC (pinned: as given), and
 * returns how many.  per_dc outside 1..SEEDS_PER_DC_MAX
 * is taken as SEEDS_PER_DC_DEFAULT.
 */
size_t seeds_choose(const struct seeds_node *nodes, size_t n,
    const char *const *prev, size_t nprev, const char *const *pinned,
    size_t npinned, int per_dc, const char **out, size_t outcap);

#endif
