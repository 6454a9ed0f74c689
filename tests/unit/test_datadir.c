/*
 * test_datadir.c - the agent's one walk over Cassandra's data directories
 * (agent/datadir.c): table names and ids, system keyspaces, and walks over
 * a real temporary tree with the odd entries a node can hold: tables
 * without an id, dots in names, hidden directories, stray files,
 * snapshots/, backups/, secondary index directories (".<index>/"), and a
 * data dir that does not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/datadir.h"
#include "../../common/util.h"
#include "t.h"

#define ID1 "0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210"

static void test_split_name(void)
{
	static const struct {
		const char *dir, *table, *id;
	} rows[] = {
		{ "users-" ID1, "users", ID1 },
		{ "users", "users", "" },
		{ "users-0123", "users-0123", "" },		/* too short */
		{ "users-" ID1 "0", "users-" ID1 "0", "" },	/* too long */
		{ "users-0123456789ABCDEF0123456789abcdef",	/* not lower hex */
		    "users-0123456789ABCDEF0123456789abcdef", "" },
		{ "users-0123456789abcdeg0123456789abcdef",
		    "users-0123456789abcdeg0123456789abcdef", "" },
		{ "my-table-" ID2, "my-table", ID2 },		/* last dash */
		{ "dotted.name-" ID1, "dotted.name", ID1 },
		{ "-" ID1, "-" ID1, "" },			/* no table part */
		{ "t-", "t-", "" },
		{ "", "", "" },
	};
	char table[64], id[33];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		memset(table, 'x', sizeof(table));
		memset(id, 'x', sizeof(id));
		datadir_split_name(rows[i].dir, table, sizeof(table), id);
		T_EQ_STR(table, rows[i].table);
		T_EQ_STR(id, rows[i].id);
	}
	/* a short buffer cuts the name and still ends it */
	datadir_split_name("abcdefgh-" ID1, table, 4, NULL);
	T_EQ_STR(table, "abc");
	datadir_split_name("abcdefgh-" ID1, NULL, 0, id);
	T_EQ_STR(id, ID1);
}

static void test_system_keyspaces(void)
{
	static const struct {
		const char *ks;
		bool system;
	} rows[] = {
		{ "system", true }, { "system_schema", true },
		{ "system_auth", true }, { "system_distributed", true },
		{ "system_traces", true }, { "system_views", true },
		{ "systemx", false }, { "sys", false }, { "ks", false },
		{ "my_system", false }, { "System", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		T_CHECK(datadir_is_system_keyspace(rows[i].ks) == rows[i].system,
		    "%s", rows[i].ks);
}

/* Make the directories and files of paths (a trailing '/' is a dir). */
static bool make_tree(const char *root, const char *const *paths, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *p = xasprintf("%s/%s", root, paths[i]);
		size_t len = strlen(p);
		bool dir = p[len - 1] == '/';
		char *cmd = dir ? xasprintf("mkdir -p '%s'", p) :
		    xasprintf("mkdir -p \"$(dirname '%s')\" && printf 12345 > '%s'",
		    p, p);
		int rc = system(cmd);

		free(cmd);
		free(p);
		if (rc != 0)
			return false;
	}
	return true;
}

/* What a walk saw, one "root:keyspace/dir_name=table/id" per table. */
struct seen {
	char buf[4096];
	size_t calls;
	int stop_at;		/* return 7 on this call (1-based), 0: never */
	const char *root0;
};

static int record(const struct datadir_table *t, void *arg)
{
	struct seen *s = arg;
	size_t len = strlen(s->buf);
	char *want_path = xasprintf("%s/data/%s/%s", t->root, t->keyspace,
	    t->dir_name);
	char *want_ks_path = xasprintf("%s/data/%s", t->root, t->keyspace);

	T_EQ_STR(t->path, want_path);
	T_EQ_STR(t->ks_path, want_ks_path);
	free(want_path);
	free(want_ks_path);
	snprintf(s->buf + len, sizeof(s->buf) - len, "%zu:%s/%s=%s/%s\n",
	    t->root_index, t->keyspace, t->dir_name, t->table, t->id);
	s->calls++;
	return s->stop_at > 0 && (size_t)s->stop_at == s->calls ? 7 : 0;
}

/* The lines of a walk's record, sorted (readdir order is the file
 * system's), joined with ' '. */
static char *sorted(const char *buf)
{
	char *copy = xstrdup(buf), *save = NULL, *line, *lines[64], *out;
	size_t n = 0, len = 0;

	for (line = strtok_r(copy, "\n", &save); line != NULL && n < 64;
	    line = strtok_r(NULL, "\n", &save))
		lines[n++] = line;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
			char *tmp = lines[j];
			lines[j] = lines[j - 1];
			lines[j - 1] = tmp;
		}
	out = xcalloc(1, strlen(buf) + 2);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(out + len, "%s%s", i ? " " : "", lines[i]);
	free(copy);
	return out;
}

static char *walk(char *const *roots, size_t n, const char *ks,
    unsigned flags, int *rc)
{
	struct seen s;

	memset(&s, 0, sizeof(s));
	*rc = datadir_walk(roots, n, ks, flags, record, &s);
	return sorted(s.buf);
}

/* The files datadir_files() reports, "subdir/name:size" sorted. */
struct files_seen {
	char buf[2048];
};

static int record_file(const struct datadir_file *f, void *arg)
{
	struct files_seen *s = arg;
	size_t len = strlen(s->buf);
	char *want = f->subdir ? xasprintf("%s/%s/%s", f->dir, f->subdir,
	    f->name) : xasprintf("%s/%s", f->dir, f->name);

	T_EQ_STR(f->path, want);
	free(want);
	snprintf(s->buf + len, sizeof(s->buf) - len, "%s%s%s:%lld\n",
	    f->subdir ? f->subdir : "", f->subdir ? "/" : "", f->name,
	    (long long)f->st->st_size);
	return 0;
}

static char *files(const char *dir, unsigned flags, bool *exists)
{
	struct files_seen s;

	memset(&s, 0, sizeof(s));
	datadir_files(dir, flags, record_file, &s, exists);
	return sorted(s.buf);
}

static void test_walk(void)
{
	static const char *const tree[] = {
		"d1/data/ks1/users-" ID1 "/nb-1-big-Data.db",
		"d1/data/ks1/users-" ID1 "/nb-1-big-TOC.txt",
		"d1/data/ks1/users-" ID1 "/.users_by_mail/nb-1-big-Data.db",
		"d1/data/ks1/users-" ID1 "/backups/nb-2-big-Data.db",
		"d1/data/ks1/users-" ID1 "/snapshots/s1/manifest.json",
		"d1/data/ks1/users-" ID1 "/snapshots/s1/nb-1-big-Data.db",
		"d1/data/ks1/users-" ID1 "/snapshots/s1/.hidden",
		"d1/data/ks1/users-" ID1 "/snapshots/s1/.users_by_mail/nb-1-big-Data.db",
		"d1/data/ks1/users-" ID1 "/snapshots/s1/.users_by_mail/.x",
		"d1/data/ks1/users-" ID1 "/snapshots/s1/.users_by_mail/deeper/f",
		"d1/data/ks1/users-" ID1 "/snapshots/afile",
		"d1/data/ks1/legacy/",			/* no id */
		"d1/data/ks1/dotted.name-" ID2 "/",
		"d1/data/ks1/.hidden-" ID1 "/",		/* never a table */
		"d1/data/ks1/stray.txt",		/* a file, not a table */
		"d1/data/ks1/bad name/",		/* not manifest-safe */
		"d1/data/system/local-" ID2 "/",
		"d1/data/system_schema/tables-" ID1 "/",
		"d1/data/.rm-restore-b1/ks1/users-" ID1 "/",
		"d1/data/emptyks/",
		"d1/data/stray-file",
		"d2/data/ks2/t-" ID2 "/",
		"d2/data/ks1/users-" ID2 "/",		/* same table, other dir */
	};
	char dir[] = "/tmp/test_datadir.XXXXXX";
	char *roots[3], *got, *cmd;
	bool exists;
	int rc;

	T_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	T_CHECK(make_tree(dir, tree, ARRAY_SIZE(tree)), "make the tree");
	if (t_failed)
		return;
	roots[0] = xasprintf("%s/d1", dir);
	roots[1] = xasprintf("%s/d2", dir);
	roots[2] = xasprintf("%s/missing", dir);	/* passed over */

	got = walk(roots, 3, NULL, 0, &rc);
	T_EQ_INT(rc, 0);
	T_EQ_STR(got,
	    "0:ks1/bad name=bad name/ "
	    "0:ks1/dotted.name-" ID2 "=dotted.name/" ID2 " "
	    "0:ks1/legacy=legacy/ "
	    "0:ks1/users-" ID1 "=users/" ID1 " "
	    "0:system/local-" ID2 "=local/" ID2 " "
	    "0:system_schema/tables-" ID1 "=tables/" ID1 " "
	    "1:ks1/users-" ID2 "=users/" ID2 " "
	    "1:ks2/t-" ID2 "=t/" ID2);
	free(got);

	got = walk(roots, 3, NULL, DATADIR_SKIP_SYSTEM | DATADIR_SAFE_NAMES,
	    &rc);
	T_EQ_STR(got,
	    "0:ks1/dotted.name-" ID2 "=dotted.name/" ID2 " "
	    "0:ks1/legacy=legacy/ "
	    "0:ks1/users-" ID1 "=users/" ID1 " "
	    "1:ks1/users-" ID2 "=users/" ID2 " "
	    "1:ks2/t-" ID2 "=t/" ID2);
	free(got);

	/* one keyspace, in both data dirs */
	got = walk(roots, 3, "ks2", 0, &rc);
	T_EQ_STR(got, "1:ks2/t-" ID2 "=t/" ID2);
	free(got);
	got = walk(roots, 2, "system", DATADIR_SKIP_SYSTEM, &rc);
	T_EQ_STR(got, "");
	free(got);
	got = walk(roots, 2, "system", 0, &rc);
	T_EQ_STR(got, "0:system/local-" ID2 "=local/" ID2);
	free(got);
	static const char *const no_tables[] = {
		"nope", "emptyks", ".rm-restore-b1", "../d1/data/ks1", "ks1/legacy",
	};
	for (size_t i = 0; i < ARRAY_SIZE(no_tables); i++) {
		got = walk(roots, 3, no_tables[i], 0, &rc);
		T_CHECK(strcmp(got, "") == 0 && rc == 0, "%s: '%s'", no_tables[i],
		    got);
		free(got);
	}

	/* a callback's non-zero answer stops the walk and is its result */
	struct seen s;
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	T_EQ_INT(datadir_walk(roots, 3, NULL, 0, record, &s), 7);
	T_EQ_INT(s.calls, 2);

	/* snapshots */
	char *tpath = xasprintf("%s/data/ks1/users-" ID1, roots[0]);
	struct datadir_table t = { .root = roots[0], .keyspace = "ks1",
	    .path = tpath };
	char *sdir = datadir_snapshot_dir(&t, "s1"), *want;
	want = xasprintf("%s/snapshots/s1", t.path);
	T_EQ_STR(sdir, want);
	free(want);
	T_CHECK(datadir_snapshot_dir(&t, "nope") == NULL, "no such tag");
	T_CHECK(datadir_snapshot_dir(&t, "../snapshots/afile") == NULL,
	    "a file is no snapshot");

	/* the files of a snapshot, with and without its index directories */
	got = files(sdir, 0, &exists);
	T_CHECK(exists, "snapshot opened");
	T_EQ_STR(got, "manifest.json:5 nb-1-big-Data.db:5");
	free(got);
	got = files(sdir, DATADIR_INDEXES, &exists);
	T_EQ_STR(got, ".users_by_mail/nb-1-big-Data.db:5 manifest.json:5 "
	    "nb-1-big-Data.db:5");
	free(got);
	/* a table directory: snapshots/ and backups/ are not entered */
	got = files(t.path, DATADIR_INDEXES, &exists);
	T_EQ_STR(got, ".users_by_mail/nb-1-big-Data.db:5 nb-1-big-Data.db:5 "
	    "nb-1-big-TOC.txt:5");
	free(got);
	char *missing = xasprintf("%s/snapshots/nope", t.path);
	exists = true;
	got = files(missing, 0, &exists);
	T_CHECK(!exists, "a missing directory");
	T_EQ_STR(got, "");
	free(got);
	free(missing);

	/* symbolic links: followed, unless DATADIR_LSTAT */
	cmd = xasprintf("ln -s nb-1-big-Data.db '%s/link-Data.db'", sdir);
	T_CHECK(system(cmd) == 0, "ln");
	free(cmd);
	got = files(sdir, 0, NULL);
	T_EQ_STR(got, "link-Data.db:5 manifest.json:5 nb-1-big-Data.db:5");
	free(got);
	got = files(sdir, DATADIR_LSTAT, NULL);
	T_EQ_STR(got, "manifest.json:5 nb-1-big-Data.db:5");
	free(got);

	free(sdir);
	free(tpath);
	for (size_t i = 0; i < 3; i++)
		free(roots[i]);
	cmd = xasprintf("rm -rf '%s'", dir);
	T_CHECK(system(cmd) == 0, "cleanup");
	free(cmd);
}

int main(void)
{
	test_split_name();
	test_system_keyspaces();
	test_walk();
	return t_done("test_datadir");
}
