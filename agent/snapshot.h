/*
 * snapshot.h - the node's snapshots, as one-shot operations (ops.h):
 *
 *   snapshot        --tag T [--keyspace K... | --table ks.t...]: take
 *                   snapshot T, check it complete against tablestats and
 *                   what is on disk, retake it when partial; a complete
 *                   existing T is reported, not retaken
 *   clear-snapshot  --tag T [--keyspace K]...: remove snapshot T; succeeds
 *                   when it is already gone
 *   list-snapshots  nodetool listsnapshots, parsed
 */
#ifndef RM_AGENT_SNAPSHOT_H
#define RM_AGENT_SNAPSHOT_H

struct opctx;

int snapshot_op_take(struct opctx *x, int argc, char **argv);
int snapshot_op_clear(struct opctx *x, int argc, char **argv);
int snapshot_op_list(struct opctx *x, int argc, char **argv);

#endif
