/*
 * datadir.h - the one walk over Cassandra's data directories.
 *
 * A node keeps each table in <data dir>/data/<keyspace>/<table>-<id>/, the
 * id being the table's 32 hex digits (tables created by 2.1 and earlier,
 * and some tools, leave the "-<id>" off).  A table directory holds its
 * SSTables, a "snapshots/<tag>/" per snapshot, "backups/" for incremental
 * backups, and one ".<index>/" per secondary index with the index's
 * SSTables; a snapshot holds the same ".<index>/" subdirectories.
 *
 * datadir_walk() calls back once per table directory, in every data dir;
 * datadir_files() once per file of one such directory (or snapshot).
 * Names that start with '.' are never keyspaces or tables (Cassandra makes
 * none, and the agent's own staging trees are hidden that way).  A
 * directory that cannot be read is passed over: the walks answer "what is
 * there", and the callers that must not miss anything check with
 * Cassandra (nodetool) as well.
 */
#ifndef RM_AGENT_DATADIR_H
#define RM_AGENT_DATADIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* One table directory. The strings live until the callback returns. */
struct datadir_table {
	const char *root;	/* the data dir, as configured */
	size_t root_index;	/* its index in the list given to the walk */
	const char *keyspace;
	const char *dir_name;	/* "<table>-<id>" or "<table>" */
	const char *table;	/* the table's name: dir_name without "-<id>" */
	const char *id;		/* the 32 hex digits, or "" when there are none */
	const char *ks_path;	/* <root>/data/<keyspace> */
	const char *path;	/* <root>/data/<keyspace>/<dir_name> */
};

/* datadir_walk() flags. */
#define DATADIR_SKIP_SYSTEM	(1u << 0) /* leave out system* keyspaces */
#define DATADIR_SAFE_NAMES	(1u << 1) /* only names manifest_component_safe() */

/*
 * Calls fn for every table directory under roots[0..nroots), keyspace by
 * keyspace (all of them, or only keyspace when it is not NULL).  fn returns
 * 0 to go on; anything else stops the walk and is returned.  Returns 0
 * when the walk ran to the end.
 */
int datadir_walk(char *const *roots, size_t nroots, const char *keyspace,
    unsigned flags, int (*fn)(const struct datadir_table *t, void *arg),
    void *arg);

/* True for the keyspaces Cassandra keeps for itself ("system", "system_*"). */
bool datadir_is_system_keyspace(const char *keyspace);

/*
 * The table part of a table directory's name, and its id: "t-<32 hex>"
 * gives "t" and the id; any other name is all table and id is "".  Writes
 * at most size bytes of the name into table (cut, NUL-terminated); id must
 * hold 33 bytes; either may be NULL.
 */
void datadir_split_name(const char *dir_name, char *table, size_t size,
    char id[33]);

/* <table path>/snapshots/<tag> when that is a directory (fresh string),
 * else NULL. */
char *datadir_snapshot_dir(const struct datadir_table *t, const char *tag);

/* One file of an SSTable directory. */
struct datadir_file {
	const char *dir;	/* the directory given to datadir_files() */
	const char *subdir;	/* ".<index>" for an index's file, else NULL */
	const char *name;
	const char *path;	/* dir[/subdir]/name */
	const struct stat *st;	/* stat() of path (lstat() with DATADIR_LSTAT) */
};

/* datadir_files() flags. */
#define DATADIR_INDEXES	(1u << 0) /* also the files of ".<index>/" subdirs */
#define DATADIR_LSTAT	(1u << 1) /* do not follow symbolic links */

/*
 * Calls fn for every regular file of dir whose name does not start with
 * '.' (and, with DATADIR_INDEXES, of every ".<index>/" directory in it, one
 * level).  Subdirectories such as snapshots/ and backups/ are not entered.
 * fn returns 0 to go on; anything else stops and is returned.  *exists
 * (when not NULL) tells whether dir could be opened.
 */
int datadir_files(const char *dir, unsigned flags,
    int (*fn)(const struct datadir_file *f, void *arg), void *arg,
    bool *exists);

#endif
