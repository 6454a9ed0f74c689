/*
 * datadir.c - see datadir.h.
 *
 * Every walk opens directories with opendir() and checks each entry with
 * stat() rather than trusting d_type, which some file systems leave
 * DT_UNKNOWN.  Paths are built once per entry; nothing is kept between
 * callbacks, so a walk over a node with many thousands of tables costs the
 * memory of one path.
 */
#include "datadir.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "../common/manifest.h"
#include "../common/util.h"

bool datadir_is_system_keyspace(const char *keyspace)
{
	return strcmp(keyspace, "system") == 0 ||
	    str_starts_with(keyspace, "system_");
}

static bool is_hex32(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 32;
}

void datadir_split_name(const char *dir_name, char *table, size_t size,
    char id[33])
{
	const char *dash = strrchr(dir_name, '-');
	size_t len = strlen(dir_name);

	if (dash != NULL && dash > dir_name && is_hex32(dash + 1))
		len = (size_t)(dash - dir_name);
	else
		dash = NULL;
	if (table != NULL && size > 0) {
		if (len >= size)
			len = size - 1;
		memcpy(table, dir_name, len);
		table[len] = '\0';
	}
	if (id != NULL)
		str_copy(id, dash != NULL ? dash + 1 : "", 33);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whether a keyspace or table directory's name is one to report. */
static bool name_wanted(const char *name, unsigned flags)
{
	if (name[0] == '.')
		return false;
	return !(flags & DATADIR_SAFE_NAMES) || manifest_component_safe(name);
}

/* The table directories of one keyspace directory. */
static int walk_keyspace(struct datadir_table *t, unsigned flags,
    int (*fn)(const struct datadir_table *t, void *arg), void *arg)
{
	DIR *d = opendir(t->ks_path);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char table[256], id[33];
		char *path;

		if (!name_wanted(e->d_name, flags))
			continue;
		path = xasprintf("%s/%s", t->ks_path, e->d_name);
		if (is_dir(path)) {
			datadir_split_name(e->d_name, table, sizeof(table), id);
			t->dir_name = e->d_name;
			t->table = table;
			t->id = id;
			t->path = path;
			rc = fn(t, arg);
		}
		free(path);
	}
	closedir(d);
	return rc;
}

int datadir_walk(char *const *roots, size_t nroots, const char *keyspace,
    unsigned flags, int (*fn)(const struct datadir_table *t, void *arg),
    void *arg)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < nroots; i++) {
		struct datadir_table t = { .root = roots[i], .root_index = i };
		char *data = xasprintf("%s/data", roots[i]);

		if (keyspace != NULL) {
			/* one keyspace: no listing of the others */
			if (name_wanted(keyspace, flags) && strchr(keyspace, '/') ==
			    NULL && !((flags & DATADIR_SKIP_SYSTEM) &&
			    datadir_is_system_keyspace(keyspace))) {
				char *ks_path = xasprintf("%s/%s", data, keyspace);

				t.keyspace = keyspace;
				t.ks_path = ks_path;
				rc = walk_keyspace(&t, flags, fn, arg);
				free(ks_path);
			}
			free(data);
			continue;
		}
		DIR *d = opendir(data);
		struct dirent *e;

		while (d != NULL && rc == 0 && (e = readdir(d)) != NULL) {
			if (!name_wanted(e->d_name, flags) ||
			    ((flags & DATADIR_SKIP_SYSTEM) &&
			    datadir_is_system_keyspace(e->d_name)))
				continue;
			char *ks_path = xasprintf("%s/%s", data, e->d_name);

			t.keyspace = e->d_name;
			t.ks_path = ks_path;
			rc = walk_keyspace(&t, flags, fn, arg);
			free(ks_path);
		}
		if (d != NULL)
			closedir(d);
		free(data);
	}
	return rc;
}

char *datadir_snapshot_dir(const struct datadir_table *t, const char *tag)
{
	char *p = xasprintf("%s/snapshots/%s", t->path, tag);

	if (is_dir(p))
		return p;
	free(p);
	return NULL;
}

/* The regular files of dir (index directories too when asked). */
static int files_of(const char *dir, const char *subdir, unsigned flags,
    int (*fn)(const struct datadir_file *f, void *arg), void *arg,
    bool *exists)
{
	char *full = subdir != NULL ? xasprintf("%s/%s", dir, subdir) :
	    xstrdup(dir);
	DIR *d = opendir(full);
	struct dirent *e;
	int rc = 0;

	if (exists != NULL)
		*exists = d != NULL;
	while (d != NULL && rc == 0 && (e = readdir(d)) != NULL) {
		struct stat st;
		char *path;
		int r;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		path = xasprintf("%s/%s", full, e->d_name);
		r = (flags & DATADIR_LSTAT) ? lstat(path, &st) : stat(path, &st);
		if (r == 0 && e->d_name[0] != '.' && S_ISREG(st.st_mode)) {
			struct datadir_file f = { dir, subdir, e->d_name, path,
			    &st };

			rc = fn(&f, arg);
		} else if (r == 0 && e->d_name[0] == '.' && subdir == NULL &&
		    (flags & DATADIR_INDEXES) && S_ISDIR(st.st_mode)) {
			rc = files_of(dir, e->d_name, flags, fn, arg, NULL);
		}
		free(path);
	}
	if (d != NULL)
		closedir(d);
	free(full);
	return rc;
}

int datadir_files(const char *dir, unsigned flags,
    int (*fn)(const struct datadir_file *f, void *arg), void *arg,
    bool *exists)
{
	return files_of(dir, NULL, flags, fn, arg, exists);
}
