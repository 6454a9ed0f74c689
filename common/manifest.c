/*
 * manifest.c - see manifest.h.  JSON goes through jansson; the structs are
 * plain C so that a node with thousands of files costs a few hundred bytes
 * per file once parsed.  Validation happens in parse, once, so every caller
 * (agent restore, orchestrator purge and verify) gets the same rules.
 */
#include "manifest.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"

static const char *const system_keyspaces[] = {
	"system", "system_schema", "system_auth", "system_distributed",
	"system_traces", "system_views", "system_virtual_schema",
	"dse_system", "dse_security",
};

bool manifest_keyspace_is_system(const char *ks)
{
	for (size_t i = 0; i < ARRAY_SIZE(system_keyspaces); i++)
		if (strcmp(ks, system_keyspaces[i]) == 0)
			return true;
	return false;
}

bool manifest_component_safe(const char *s)
{
	size_t n;

	if (s == NULL || *s == '\0' || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return false;
	for (n = 0; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (!(isalnum(c) || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n <= 255;
}

bool manifest_key_safe(const char *key)
{
	const char *p, *seg;

	if (key == NULL || *key == '\0' || *key == '/' || strlen(key) > 1024)
		return false;
	for (p = seg = key;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t n = (size_t)(p - seg);
			char part[256];
			if (n == 0 || n >= sizeof(part))
				return false;
			memcpy(part, seg, n);
			part[n] = '\0';
			for (size_t i = 0; i < n; i++)
				if (part[i] == '=')
					part[i] = '_';
			if (!manifest_component_safe(part))
				return false;
			if (*p == '\0')
				return true;
			seg = p + 1;
		}
	}
}

bool manifest_subdir_safe(const char *s)
{
	return manifest_component_safe(s) && s[0] == '.';
}

bool manifest_backup_id_valid(const char *id)
{
	return name_valid(id);
}

char *manifest_table_name(const char *table_dir)
{
	const char *dash = strrchr(table_dir, '-');

	if (dash != NULL && strlen(dash + 1) == 32)
		return xstrndup(table_dir, (size_t)(dash - table_dir));
	return xstrdup(table_dir);
}

size_t manifest_sstable_prefix_len(const char *name)
{
	const char *dash = name ? strrchr(name, '-') : NULL;

	return dash ? (size_t)(dash - name) + 1 : 0;
}

char *manifest_data_key(const char *cluster, const char *host_id,
    const char *keyspace, const char *table_dir, const char *name)
{
	return xasprintf("%s/data/%s/%s/%s/%s", cluster, host_id, keyspace,
	    table_dir, name);
}

char *manifest_backups_prefix(const char *cluster)
{
	return xasprintf("%s/backups/", cluster);
}

char *manifest_node_key(const char *cluster, const char *backup_id,
    const char *host_id)
{
	return xasprintf("%s/backups/%s/nodes/%s.json", cluster, backup_id,
	    host_id);
}

char *manifest_cluster_key(const char *cluster, const char *backup_id)
{
	return xasprintf("%s/backups/%s/cluster.json", cluster, backup_id);
}

/* ---- helpers ---- */

static json_t *time_json(int64_t ms)
{
	char buf[40];

	if (ms <= 0)
		return json_null();
	time_rfc3339(ms / 1000, buf, sizeof(buf));
	return json_string(buf);
}

static int time_get(const json_t *o, const char *k, int64_t *ms, char *err,
    size_t errlen)
{
	json_t *v = json_object_get(o, k);
	int64_t s;

	*ms = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || time_parse_rfc3339(json_string_value(v), &s)) {
		snprintf(err, errlen, "'%s' is not an RFC 3339 time", k);
		return -1;
	}
	*ms = s * 1000;
	return 0;
}

/* A string member; required ones must be there and non-empty. */
static int str_get(const json_t *o, const char *k, bool required, char **out,
    const char *where, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, k);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s'%s' is missing", where, k);
		return -1;
	}
	if (!json_is_string(v) || (required && json_string_length(v) == 0)) {
		snprintf(err, errlen, "%s'%s' must be a non-empty string", where, k);
		return -1;
	}
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int u64_get(const json_t *o, const char *k, uint64_t *out,
    const char *where, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		snprintf(err, errlen, "%s'%s' must be a non-negative integer",
		    where, k);
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static bool hex64(const char *s)
{
	if (s == NULL || strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return false;
	return true;
}

static json_t *load(const char *buf, size_t len, const char *what, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *j;

	if (len > MANIFEST_MAX_BYTES) {
		snprintf(err, errlen, "%s manifest is %zu bytes, more than the "
		    "%u allowed", what, len, MANIFEST_MAX_BYTES);
		return NULL;
	}
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		snprintf(err, errlen, "%s manifest is not JSON: line %d: %s",
		    what, je.line, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		snprintf(err, errlen, "%s manifest is not a JSON object", what);
		json_decref(j);
		return NULL;
	}
	return j;
}

static int check_kind(const json_t *j, const char *kind, char *err,
    size_t errlen)
{
	json_t *f = json_object_get(j, "format");
	const char *k = json_string_value(json_object_get(j, "kind"));

	if (!json_is_integer(f) || json_integer_value(f) != MANIFEST_FORMAT) {
		snprintf(err, errlen, "'format' must be %d (this build reads "
		    "format %d only)", MANIFEST_FORMAT, MANIFEST_FORMAT);
		return -1;
	}
	if (k == NULL || strcmp(k, kind) != 0) {
		snprintf(err, errlen, "'kind' must be \"%s\"", kind);
		return -1;
	}
	return 0;
}

/* ---- node manifests ---- */

struct manifest_node *manifest_node_new(void)
{
	return xcalloc(1, sizeof(struct manifest_node));
}

static void file_release(struct manifest_file *f)
{
	free(f->keyspace);
	free(f->table_dir);
	free(f->subdir);
	free(f->name);
	free(f->key);
}

void manifest_node_free(struct manifest_node *m)
{
	if (m == NULL)
		return;
	free(m->cluster);
	free(m->backup_id);
	free(m->host_id);
	free(m->address);
	free(m->dc);
	free(m->rack);
	free(m->version);
	for (size_t i = 0; i < m->ntokens; i++)
		free(m->tokens[i]);
	free(m->tokens);
	for (size_t i = 0; i < m->ntables; i++) {
		free(m->tables[i].keyspace);
		free(m->tables[i].table_dir);
		free(m->tables[i].schema);
	}
	free(m->tables);
	for (size_t i = 0; i < m->nfiles; i++)
		file_release(&m->files[i]);
	free(m->files);
	free(m);
}

void manifest_node_add_file(struct manifest_node *m,
    const struct manifest_file *f)
{
	struct manifest_file *d;

	if (m->nfiles == m->capfiles) {
		m->capfiles = m->capfiles ? m->capfiles * 2 : 64;
		m->files = xrealloc(m->files, m->capfiles * sizeof(*m->files));
	}
	d = &m->files[m->nfiles++];
	*d = *f;
	d->keyspace = xstrdup(f->keyspace);
	d->table_dir = xstrdup(f->table_dir);
	d->subdir = f->subdir ? xstrdup(f->subdir) : NULL;
	d->name = xstrdup(f->name);
	d->key = xstrdup(f->key);
	m->sorted = false;
}

void manifest_node_add_table(struct manifest_node *m, const char *keyspace,
    const char *table_dir, const char *schema)
{
	struct manifest_table *t;

	m->tables = xrealloc(m->tables, (m->ntables + 1) * sizeof(*m->tables));
	t = &m->tables[m->ntables++];
	t->keyspace = xstrdup(keyspace);
	t->table_dir = xstrdup(table_dir);
	t->schema = schema ? xstrdup(schema) : NULL;
}

static void node_totals(struct manifest_node *m)
{
	m->bytes = m->bytes_uploaded = 0;
	m->files_uploaded = 0;
	for (size_t i = 0; i < m->nfiles; i++) {
		m->bytes += m->files[i].size;
		if (!m->files[i].reused) {
			m->bytes_uploaded += m->files[i].size;
			m->files_uploaded++;
		}
	}
}

char *manifest_node_dump(struct manifest_node *m, size_t *len)
{
	json_t *j, *toks = json_array(), *tabs = json_array(),
	    *files = json_array();
	char *s;

	node_totals(m);
	for (size_t i = 0; i < m->ntokens; i++)
		json_array_append_new(toks, json_string(m->tokens[i]));
	for (size_t i = 0; i < m->ntables; i++)
		json_array_append_new(tabs, json_pack("{s:s, s:s, s:s?}",
		    "keyspace", m->tables[i].keyspace, "table_dir",
		    m->tables[i].table_dir, "schema", m->tables[i].schema));
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f = &m->files[i];
		json_array_append_new(files, json_pack(
		    "{s:s, s:s, s:s?, s:s, s:s, s:I, s:I, s:s, s:b}",
		    "keyspace", f->keyspace, "table_dir", f->table_dir,
		    "subdir", f->subdir, "name", f->name, "key", f->key, "size", (json_int_t)f->size,
		    "mtime_ns", (json_int_t)f->mtime_ns, "sha256", f->sha256,
		    "reused", f->reused));
	}
	j = json_pack("{s:i, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?,"
	    " s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I}",
	    "format", MANIFEST_FORMAT, "kind", "node", "cluster", m->cluster,
	    "backup_id", m->backup_id, "host_id", m->host_id,
	    "address", m->address, "dc", m->dc, "rack", m->rack,
	    "cassandra_version", m->version, "tokens", toks,
	    "started_at", time_json(m->started_at),
	    "finished_at", time_json(m->finished_at), "tables", tabs,
	    "files", files, "files_count", (json_int_t)m->nfiles,
	    "files_uploaded", (json_int_t)m->files_uploaded,
	    "bytes", (json_int_t)m->bytes,
	    "bytes_uploaded", (json_int_t)m->bytes_uploaded);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (len != NULL)
		*len = strlen(s);
	return s;
}

static int parse_file(const json_t *o, size_t i, struct manifest_file *f,
    char *err, size_t errlen)
{
	char where[48];
	const char *sha;
	json_t *v;

	memset(f, 0, sizeof(*f));
	snprintf(where, sizeof(where), "files[%zu]: ", i);
	if (!json_is_object(o)) {
		snprintf(err, errlen, "%snot an object", where);
		return -1;
	}
	if (str_get(o, "keyspace", true, &f->keyspace, where, err, errlen) ||
	    str_get(o, "table_dir", true, &f->table_dir, where, err, errlen) ||
	    str_get(o, "name", true, &f->name, where, err, errlen) ||
	    str_get(o, "subdir", false, &f->subdir, where, err, errlen) ||
	    str_get(o, "key", true, &f->key, where, err, errlen) ||
	    u64_get(o, "size", &f->size, where, err, errlen))
		goto fail;
	if (!manifest_component_safe(f->keyspace) ||
	    !manifest_component_safe(f->table_dir) ||
	    !manifest_component_safe(f->name)) {
		snprintf(err, errlen, "%srefused: '%s/%s/%s' is not a plain "
		    "keyspace/table/file path (no '/', '..' or odd bytes)",
		    where, f->keyspace, f->table_dir, f->name);
		goto fail;
	}
	if (f->subdir != NULL && !manifest_subdir_safe(f->subdir)) {
		snprintf(err, errlen, "%srefused: subdir '%s' is not one "
		    "directory name starting with '.' (a secondary index's)",
		    where, f->subdir);
		goto fail;
	}
	if (!manifest_key_safe(f->key)) {
		snprintf(err, errlen, "%srefused: object key '%s' is absolute "
		    "or has an unsafe segment ('..', '.', empty)", where, f->key);
		goto fail;
	}
	sha = json_string_value(json_object_get(o, "sha256"));
	if (!hex64(sha)) {
		snprintf(err, errlen, "%s'sha256' must be 64 lowercase hex "
		    "digits", where);
		goto fail;
	}
	memcpy(f->sha256, sha, 65);
	v = json_object_get(o, "mtime_ns");
	f->mtime_ns = json_is_integer(v) ? json_integer_value(v) : 0;
	f->reused = json_is_true(json_object_get(o, "reused"));
	return 0;
fail:
	file_release(f);
	return -1;
}

struct manifest_node *manifest_node_parse(const char *buf, size_t len,
    char *err, size_t errlen)
{
	struct manifest_node *m;
	json_t *j, *a;
	size_t i;
	json_t *v;

	if ((j = load(buf, len, "node", err, errlen)) == NULL)
		return NULL;
	m = manifest_node_new();
	if (check_kind(j, "node", err, errlen) ||
	    str_get(j, "cluster", true, &m->cluster, "", err, errlen) ||
	    str_get(j, "backup_id", true, &m->backup_id, "", err, errlen) ||
	    str_get(j, "host_id", true, &m->host_id, "", err, errlen) ||
	    str_get(j, "address", false, &m->address, "", err, errlen) ||
	    str_get(j, "dc", false, &m->dc, "", err, errlen) ||
	    str_get(j, "rack", false, &m->rack, "", err, errlen) ||
	    str_get(j, "cassandra_version", false, &m->version, "", err,
	    errlen) ||
	    time_get(j, "started_at", &m->started_at, err, errlen) ||
	    time_get(j, "finished_at", &m->finished_at, err, errlen))
		goto fail;
	if (!manifest_component_safe(m->host_id) ||
	    !manifest_backup_id_valid(m->backup_id) ||
	    !manifest_component_safe(m->cluster)) {
		snprintf(err, errlen, "refused: cluster, backup_id or host_id "
		    "is not a plain name");
		goto fail;
	}
	a = json_object_get(j, "tokens");
	if (a != NULL && !json_is_array(a)) {
		snprintf(err, errlen, "'tokens' must be an array of strings");
		goto fail;
	}
	m->tokens = xcalloc(json_array_size(a) + 1, sizeof(char *));
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			snprintf(err, errlen, "tokens[%zu] must be a string", i);
			goto fail;
		}
		m->tokens[m->ntokens++] = xstrdup(json_string_value(v));
	}
	a = json_object_get(j, "tables");
	if (a != NULL && !json_is_array(a)) {
		snprintf(err, errlen, "'tables' must be an array");
		goto fail;
	}
	json_array_foreach(a, i, v) {
		const char *ks = json_string_value(json_object_get(v, "keyspace"));
		const char *td = json_string_value(json_object_get(v, "table_dir"));
		if (!manifest_component_safe(ks) || !manifest_component_safe(td)) {
			snprintf(err, errlen, "tables[%zu]: refused: keyspace and "
			    "table_dir must be plain names", i);
			goto fail;
		}
		manifest_node_add_table(m, ks, td, json_string_value(
		    json_object_get(v, "schema")));
	}
	a = json_object_get(j, "files");
	if (!json_is_array(a)) {
		snprintf(err, errlen, "'files' must be an array");
		goto fail;
	}
	m->capfiles = json_array_size(a) ? json_array_size(a) : 1;
	m->files = xcalloc(m->capfiles, sizeof(*m->files));
	json_array_foreach(a, i, v) {
		if (parse_file(v, i, &m->files[m->nfiles], err, errlen) != 0)
			goto fail;
		m->nfiles++;
	}
	node_totals(m);
	json_decref(j);
	return m;
fail:
	json_decref(j);
	manifest_node_free(m);
	return NULL;
}

/* Files sort by keyspace, table_dir, subdir (none first), name. */
static int file_cmp4(const struct manifest_file *f, const char *ks,
    const char *td, const char *sub, const char *name)
{
	int c = strcmp(f->keyspace, ks);

	if (c == 0)
		c = strcmp(f->table_dir, td);
	if (c == 0)
		c = strcmp(f->subdir ? f->subdir : "", sub ? sub : "");
	if (c == 0)
		c = strcmp(f->name, name);
	return c;
}

static int file_cmp(const void *a, const void *b)
{
	const struct manifest_file *y = b;

	return file_cmp4(a, y->keyspace, y->table_dir, y->subdir, y->name);
}

void manifest_node_sort(struct manifest_node *m)
{
	if (m == NULL || m->sorted)
		return;
	if (m->nfiles > 0)
		qsort(m->files, m->nfiles, sizeof(*m->files), file_cmp);
	m->sorted = true;
}

const struct manifest_file *manifest_node_find(struct manifest_node *m,
    const char *keyspace, const char *table_dir, const char *name)
{
	return manifest_node_find_sub(m, keyspace, table_dir, NULL, name);
}

const struct manifest_file *manifest_node_find_sub(struct manifest_node *m,
    const char *keyspace, const char *table_dir, const char *subdir,
    const char *name)
{
	size_t lo = 0, hi;

	if (m == NULL || m->nfiles == 0)
		return NULL;
	manifest_node_sort(m);
	hi = m->nfiles;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = file_cmp4(&m->files[mid], keyspace, table_dir, subdir,
		    name);
		if (c == 0)
			return &m->files[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- key sets ---- */

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void manifest_keyset_free(struct manifest_keyset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s);
}

struct manifest_keyset *manifest_keyset_parse(const char *buf, size_t len,
    char *err, size_t errlen)
{
	struct manifest_keyset *s;
	json_t *j, *a, *v;
	size_t i, k;

	if ((j = load(buf, len, "key list", err, errlen)) == NULL)
		return NULL;
	a = json_object_get(j, "keys");
	if (!json_is_array(a)) {
		snprintf(err, errlen, "key list: 'keys' must be an array of "
		    "object keys");
		json_decref(j);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->keys = xcalloc(json_array_size(a) + 1, sizeof(char *));
	json_array_foreach(a, i, v) {
		const char *key = json_string_value(v);
		if (!manifest_key_safe(key)) {
			snprintf(err, errlen, "key list: keys[%zu]: refused: not a "
			    "relative object key with safe segments", i);
			json_decref(j);
			manifest_keyset_free(s);
			return NULL;
		}
		s->keys[s->n++] = xstrdup(key);
	}
	json_decref(j);
	if (s->n > 1)
		qsort(s->keys, s->n, sizeof(char *), strp_cmp);
	/* Drop duplicates so the set is what the name says. */
	for (i = k = 0; i < s->n; i++) {
		if (k > 0 && strcmp(s->keys[k - 1], s->keys[i]) == 0)
			free(s->keys[i]);
		else
			s->keys[k++] = s->keys[i];
	}
	s->n = k;
	return s;
}

bool manifest_keyset_has(const struct manifest_keyset *s, const char *key)
{
	if (s == NULL || s->n == 0 || key == NULL)
		return false;
	return bsearch(&key, s->keys, s->n, sizeof(char *), strp_cmp) != NULL;
}

char *manifest_alt_key(const char *key, const char *sha256, unsigned n)
{
	if (n == 0)
		return xasprintf("%s.%.16s", key, sha256);
	return xasprintf("%s.%.16s.%u", key, sha256, n + 1);
}

/* ---- cluster manifests ---- */

void manifest_cluster_free(struct manifest_cluster *c)
{
	if (c == NULL)
		return;
	free(c->cluster);
	free(c->backup_id);
	free(c->task_id);
	free(c->options_json);
	for (size_t i = 0; i < c->nnodes; i++) {
		free(c->nodes[i].host_id);
		free(c->nodes[i].address);
		free(c->nodes[i].dc);
		free(c->nodes[i].rack);
		free(c->nodes[i].manifest);
	}
	free(c->nodes);
	for (size_t i = 0; i < c->nmissing; i++) {
		free(c->missing[i].address);
		free(c->missing[i].host_id);
		free(c->missing[i].state);
	}
	free(c->missing);
	free(c);
}

char *manifest_cluster_dump(const struct manifest_cluster *c, size_t *len)
{
	json_t *nodes = json_array(), *opts = NULL, *missing = NULL, *j;
	char *s;

	for (size_t i = 0; i < c->nnodes; i++) {
		const struct manifest_cluster_node *n = &c->nodes[i];
		json_array_append_new(nodes, json_pack(
		    "{s:s, s:s?, s:s?, s:s?, s:s, s:I, s:I, s:I, s:I}",
		    "host_id", n->host_id, "address", n->address, "dc", n->dc,
		    "rack", n->rack, "manifest", n->manifest,
		    "files", (json_int_t)n->files,
		    "files_uploaded", (json_int_t)n->files_uploaded,
		    "bytes", (json_int_t)n->bytes,
		    "bytes_uploaded", (json_int_t)n->bytes_uploaded));
	}
	if (c->options_json != NULL)
		opts = json_loads(c->options_json, 0, NULL);
	for (size_t i = 0; i < c->nmissing; i++) {
		const struct manifest_missing_node *m = &c->missing[i];
		if (missing == NULL)
			missing = json_array();
		json_array_append_new(missing, json_pack("{s:s, s:s?, s:s?}",
		    "address", m->address, "host_id", m->host_id, "state",
		    m->state));
	}
	j = json_pack("{s:i, s:s, s:s, s:s, s:s?, s:o, s:o, s:o, s:o, s:I, s:I,"
	    " s:I, s:I}", "format", MANIFEST_FORMAT, "kind", "cluster",
	    "cluster", c->cluster, "backup_id", c->backup_id,
	    "task_id", c->task_id, "started_at", time_json(c->started_at),
	    "finished_at", time_json(c->finished_at),
	    "options", opts ? opts : json_object(), "nodes", nodes,
	    "files", (json_int_t)c->files,
	    "files_uploaded", (json_int_t)c->files_uploaded,
	    "bytes", (json_int_t)c->bytes,
	    "bytes_uploaded", (json_int_t)c->bytes_uploaded);
	/* Only in a partial backup: a whole one reads as it always did. */
	if (missing != NULL)
		json_object_set_new(j, "missing_nodes", missing);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (len != NULL)
		*len = strlen(s);
	return s;
}

/* "missing_nodes": absent, null or an array of {address, host_id,
 * state}.  A partial backup must never read as whole, so anything else
 * refuses the manifest rather than dropping the list. */
static int missing_parse(struct manifest_cluster *c, const json_t *a,
    char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a)) {
		snprintf(err, errlen, "'missing_nodes' must be an array");
		return -1;
	}
	c->missing = xcalloc(json_array_size(a) + 1, sizeof(*c->missing));
	json_array_foreach(a, i, v) {
		struct manifest_missing_node *m = &c->missing[i];
		char where[40];
		snprintf(where, sizeof(where), "missing_nodes[%zu]: ", i);
		c->nmissing = i + 1;
		if (!json_is_object(v)) {
			snprintf(err, errlen, "%snot an object", where);
			return -1;
		}
		if (str_get(v, "address", true, &m->address, where, err, errlen) ||
		    str_get(v, "host_id", false, &m->host_id, where, err,
		    errlen) ||
		    str_get(v, "state", false, &m->state, where, err, errlen))
			return -1;
	}
	return 0;
}

struct manifest_cluster *manifest_cluster_parse(const char *buf, size_t len,
    char *err, size_t errlen)
{
	struct manifest_cluster *c;
	json_t *j, *a, *v;
	size_t i;
	uint64_t u;

	if ((j = load(buf, len, "cluster", err, errlen)) == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	if (check_kind(j, "cluster", err, errlen) ||
	    str_get(j, "cluster", true, &c->cluster, "", err, errlen) ||
	    str_get(j, "backup_id", true, &c->backup_id, "", err, errlen) ||
	    str_get(j, "task_id", false, &c->task_id, "", err, errlen) ||
	    time_get(j, "started_at", &c->started_at, err, errlen) ||
	    time_get(j, "finished_at", &c->finished_at, err, errlen))
		goto fail;
	if (!manifest_backup_id_valid(c->backup_id) ||
	    !manifest_component_safe(c->cluster)) {
		snprintf(err, errlen, "refused: cluster or backup_id is not a "
		    "plain name");
		goto fail;
	}
	if ((v = json_object_get(j, "options")) != NULL)
		c->options_json = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	a = json_object_get(j, "nodes");
	if (!json_is_array(a) || json_array_size(a) == 0) {
		snprintf(err, errlen, "'nodes' must be a non-empty array");
		goto fail;
	}
	c->nodes = xcalloc(json_array_size(a), sizeof(*c->nodes));
	json_array_foreach(a, i, v) {
		struct manifest_cluster_node *n = &c->nodes[i];
		char where[32];
		snprintf(where, sizeof(where), "nodes[%zu]: ", i);
		c->nnodes = i + 1;
		if (!json_is_object(v)) {
			snprintf(err, errlen, "%snot an object", where);
			goto fail;
		}
		if (str_get(v, "host_id", true, &n->host_id, where, err, errlen) ||
		    str_get(v, "address", false, &n->address, where, err, errlen) ||
		    str_get(v, "dc", false, &n->dc, where, err, errlen) ||
		    str_get(v, "rack", false, &n->rack, where, err, errlen) ||
		    str_get(v, "manifest", true, &n->manifest, where, err, errlen))
			goto fail;
		if (!manifest_component_safe(n->host_id) ||
		    !manifest_key_safe(n->manifest)) {
			snprintf(err, errlen, "%srefused: unsafe host_id or "
			    "manifest key '%s'", where, n->manifest);
			goto fail;
		}
		if (u64_get(v, "files", &u, where, err, errlen))
			goto fail;
		n->files = (size_t)u;
		if (u64_get(v, "bytes", &n->bytes, where, err, errlen))
			goto fail;
		if (json_object_get(v, "bytes_uploaded") &&
		    u64_get(v, "bytes_uploaded", &n->bytes_uploaded, where, err,
		    errlen))
			goto fail;
		if (json_object_get(v, "files_uploaded")) {
			if (u64_get(v, "files_uploaded", &u, where, err, errlen))
				goto fail;
			n->files_uploaded = (size_t)u;
		}
		c->files += n->files;
		c->files_uploaded += n->files_uploaded;
		c->bytes += n->bytes;
		c->bytes_uploaded += n->bytes_uploaded;
	}
	if (missing_parse(c, json_object_get(j, "missing_nodes"), err,
	    errlen) != 0)
		goto fail;
	json_decref(j);
	return c;
fail:
	json_decref(j);
	manifest_cluster_free(c);
	return NULL;
}
