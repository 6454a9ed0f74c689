/*
 * backup.h - the agent's side of backups: the one-shot operations that move
 * a node's SSTables between its data directories and object storage.
 *
 *   backup-upload   upload snapshot TAG with dedupe and resume, then write
 *                   the node manifest (common/manifest.h)
 *   backup-restore  --mode check|download|load|restore|cleanup: check the
 *                   disk space a restore needs, download and checksum the
 *                   files into <data dir>/.rm-restore-<id>/<ks>/<table dir>/,
 *                   load them with `nodetool import` (4.0+) or `refresh`
 *                   (3.x) and check with tablestats that Cassandra has them;
 *                   restore does all three, loading each table as soon as
 *                   its files are in; cleanup removes the staging tree
 *   backup-verify   every file of a node manifest is stored with its size
 *                   (and, with --download, its SHA-256)
 *
 * They follow the contract of ops.h, through its op_progress(),
 * op_result() and op_cancelled() (JSON progress lines, one result line,
 * OPEXIT_* statuses, cancel on a "cancel" line, a signal or a closed
 * stdout), and are safe to run twice: an upload that was killed skips what
 * is already stored, a download skips files already staged and verified, a
 * load skips tables recorded loaded (<state_dir>/restore-<id>.loaded).  See docs/backups.md.
 */
#ifndef RM_AGENT_BACKUP_H
#define RM_AGENT_BACKUP_H

struct opctx;

int backup_op_upload(struct opctx *x, int argc, char **argv);
int backup_op_restore(struct opctx *x, int argc, char **argv);
int backup_op_verify(struct opctx *x, int argc, char **argv);

#endif
