/*
 * datadir.h - data_dir: its lock, the store in it, the state mirror, and
 * restoring state.db from the mirror (datadir.c).
 *
 * Return conventions: 0 or -1 (with a message logged or in err), except
 * where a function says otherwise.
 */
#ifndef RM_DATADIR_H
#define RM_DATADIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cfg;
struct mirror;
struct store;

/* mkdir -p, the last component with mode. */
int datadir_mkdirs(const char *path, mode_t mode);

/* data_dir/state.db as the store; cli: a subcommand, which refuses to make
 * an empty state.db on a host that has none (the start would then not
 * restore from the mirror).  NULL with the reason logged. */
struct store *datadir_open_store(const struct cfg *c, bool cli);

/* The exclusive lock on data_dir for the process's life: its fd, -1 on an
 * error, -2 when another process holds it (its pid in *holder if known). */
int datadir_lock(const struct cfg *c, long *holder);

/* The state mirror the configuration names (state_mirror*); NULL with err. */
struct mirror *datadir_open_mirror(const struct cfg *c, char *err,
    size_t errlen);

/* Rename db and its -wal and -shm to <db><tag>{,-wal,-shm}; the new name of
 * db in moved.  A file that does not exist is not an error. */
int datadir_move_aside(const char *db, const char *tag, char *moved,
    size_t movedlen, char *err, size_t errlen);

/* ".before-restore-<UTC time>", the tag of what a restore replaced. */
void datadir_restore_tag(char *out, size_t len);

/* At start: when data_dir holds no state.db, the mirror's newest usable
 * generation becomes it before the store opens. */
int datadir_recover(const struct cfg *c, struct mirror *m);

#endif
