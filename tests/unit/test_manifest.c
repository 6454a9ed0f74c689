/*
 * test_manifest.c - backup manifests: round trips, malformed and hostile
 * input (table-driven), path safety, the dedupe lookup, and the -f lookup
 * of the agent's backup operations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/manifest.h"
#include "../../common/util.h"
#include "t.h"

#define SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA16 "e3b0c44298fc1c14"

static const struct {
	const char *s;
	bool ok;
} components[] = {
	{ "nb-1-big-Data.db", true }, { "t1-0123456789abcdef0123456789abcdef", true },
	{ "ks_1", true }, { "", false }, { ".", false }, { "..", false },
	{ "a/b", false }, { "../x", false }, { "a\\b", false }, { "a b", false },
	{ "a\nb", false }, { "\xc3\xa9", false }, { ".hidden", true },
};

static const struct {
	const char *s;
	bool ok;
} keys[] = {
	{ "c/data/h/ks/t-1/nb-1-big-Data.db", true },
	{ "c/backups/20260101T000000Z-abcdef/cluster.json", true },
	{ "a=b/c", true },
	{ "/c/data/x", false }, { "c/../x", false }, { "c/./x", false },
	{ "c//x", false }, { "c/x/", false }, { "", false }, { "..", false },
	{ "c/data/..", false }, { "c\\..\\x", false }, { "c/x y", false },
};

/* A valid node manifest with one file; fmt pieces substituted per row. */
static char *node_doc(const char *file_fields, const char *top)
{
	return xasprintf("{\"format\":1,\"kind\":\"node\",\"cluster\":\"c\","
	    "\"backup_id\":\"20260101T000000Z-abcdef\",\"host_id\":\"h1\","
	    "\"dc\":\"dc1\",\"rack\":\"r1\",\"tokens\":[\"-5\",\"7\"],"
	    "\"started_at\":\"2026-01-01T00:00:00Z\",\"tables\":[],%s"
	    "\"files\":[{%s}]}", top, file_fields);
}

#define FILE_OK "\"keyspace\":\"ks\",\"table_dir\":\"t-1\",\"name\":" \
	"\"nb-1-big-Data.db\",\"key\":\"c/data/h1/ks/t-1/nb-1-big-Data.db\"," \
	"\"size\":10,\"sha256\":\"" SHA "\""

static const struct {
	const char *file;
	const char *top;
	const char *want_err;	/* NULL: parses */
} node_rows[] = {
	{ FILE_OK, "", NULL },
	{ FILE_OK ",\"reused\":true,\"mtime_ns\":5", "", NULL },
	{ "\"keyspace\":\"ks\",\"table_dir\":\"t-1\",\"name\":\"../../etc/x\","
	  "\"key\":\"c/k\",\"size\":1,\"sha256\":\"" SHA "\"", "", "refused" },
	{ "\"keyspace\":\"..\",\"table_dir\":\"t-1\",\"name\":\"x\","
	  "\"key\":\"c/k\",\"size\":1,\"sha256\":\"" SHA "\"", "", "refused" },
	{ "\"keyspace\":\"ks\",\"table_dir\":\"/abs\",\"name\":\"x\","
	  "\"key\":\"c/k\",\"size\":1,\"sha256\":\"" SHA "\"", "", "refused" },
	{ "\"keyspace\":\"ks\",\"table_dir\":\"t\",\"name\":\"x\","
	  "\"key\":\"/etc/passwd\",\"size\":1,\"sha256\":\"" SHA "\"", "",
	  "object key" },
	{ "\"keyspace\":\"ks\",\"table_dir\":\"t\",\"name\":\"x\","
	  "\"key\":\"c/../../x\",\"size\":1,\"sha256\":\"" SHA "\"", "",
	  "object key" },
	{ "\"keyspace\":\"ks\",\"table_dir\":\"t\",\"name\":\"x\","
	  "\"key\":\"c/k\",\"size\":-1,\"sha256\":\"" SHA "\"", "", "'size'" },
	{ "\"keyspace\":\"ks\",\"table_dir\":\"t\",\"name\":\"x\","
	  "\"key\":\"c/k\",\"size\":\"1\",\"sha256\":\"" SHA "\"", "", "'size'" },
	{ "\"keyspace\":\"ks\",\"table_dir\":\"t\",\"name\":\"x\","
	  "\"key\":\"c/k\",\"size\":1,\"sha256\":\"abc\"", "", "sha256" },
	{ "\"keyspace\":\"ks\",\"table_dir\":\"t\",\"name\":\"x\","
	  "\"key\":\"c/k\",\"size\":1", "", "sha256" },
	{ "\"table_dir\":\"t\",\"name\":\"x\",\"key\":\"c/k\",\"size\":1,"
	  "\"sha256\":\"" SHA "\"", "", "files[0]: 'keyspace' is missing" },
	{ FILE_OK, "\"host_id\":\"../h\",", "duplicate" },
	/* A secondary index's directory: one component starting with '.'. */
	{ FILE_OK ",\"subdir\":\".orders_cust\"", "", NULL },
	{ FILE_OK ",\"subdir\":null", "", NULL },
	{ FILE_OK ",\"subdir\":\"idx\"", "", "refused: subdir 'idx'" },
	{ FILE_OK ",\"subdir\":\"..\"", "", "refused: subdir" },
	{ FILE_OK ",\"subdir\":\".\"", "", "refused: subdir" },
	{ FILE_OK ",\"subdir\":\".a/b\"", "", "refused: subdir" },
	{ FILE_OK ",\"subdir\":\".a/../../x\"", "", "refused: subdir" },
	{ FILE_OK ",\"subdir\":\"\"", "", "refused: subdir" },
	{ FILE_OK ",\"subdir\":5", "", "'subdir' must be" },
};

static const struct {
	const char *doc;
	const char *want_err;
} bad_docs[] = {
	{ "", "not JSON" },
	{ "[]", "not a JSON object" },
	{ "{\"format\":2,\"kind\":\"node\"}", "'format' must be 1" },
	{ "{\"format\":1,\"kind\":\"cluster\"}", "'kind' must be \"node\"" },
	{ "{\"format\":1,\"kind\":\"node\",\"cluster\":\"c\",\"backup_id\":\"b\"}",
	  "'host_id' is missing" },
	{ "{\"format\":1,\"kind\":\"node\",\"cluster\":\"c\",\"backup_id\":\"b/..\","
	  "\"host_id\":\"h\",\"files\":[]}", "refused" },
	{ "{\"format\":1,\"kind\":\"node\",\"cluster\":\"c\",\"backup_id\":\"b\","
	  "\"host_id\":\"h\"}", "'files' must be an array" },
	{ "{\"format\":1,\"kind\":\"node\",\"cluster\":\"c\",\"backup_id\":\"b\","
	  "\"host_id\":\"h\",\"files\":[3]}", "files[0]: not an object" },
	{ "{\"format\":1,\"kind\":\"node\",\"cluster\":\"c\",\"backup_id\":\"b\","
	  "\"host_id\":\"h\",\"files\":[],\"started_at\":\"yesterday\"}",
	  "RFC 3339" },
	{ "{\"format\":1,\"kind\":\"node\",\"cluster\":\"c\",\"backup_id\":\"b\","
	  "\"host_id\":\"h\",\"files\":[],\"tables\":[{\"keyspace\":\"..\","
	  "\"table_dir\":\"t\"}]}", "refused" },
	{ "{\"format\":1,\"kind\":\"node\",\"cluster\":\"c\",\"backup_id\":\"b\","
	  "\"host_id\":\"h\",\"files\":[],\"tokens\":[1]}", "tokens[0]" },
};

static const struct {
	const char *doc;
	const char *want_err;
} bad_cluster[] = {
	{ "{\"format\":1,\"kind\":\"cluster\",\"cluster\":\"c\",\"backup_id\":\"b\","
	  "\"nodes\":[]}", "non-empty array" },
	{ "{\"format\":1,\"kind\":\"cluster\",\"cluster\":\"c\",\"backup_id\":\"b\","
	  "\"nodes\":[{\"host_id\":\"h\",\"manifest\":\"../x\",\"files\":1,"
	  "\"bytes\":1}]}", "refused" },
	{ "{\"format\":1,\"kind\":\"cluster\",\"cluster\":\"c\",\"backup_id\":\"b\","
	  "\"nodes\":[{\"host_id\":\"h\",\"manifest\":\"c/m.json\"}]}",
	  "'files'" },
	{ "{\"format\":1,\"kind\":\"node\",\"cluster\":\"c\",\"backup_id\":\"b\"}",
	  "'kind' must be \"cluster\"" },
	/* a partial backup's list of missing nodes is never dropped */
	{ "{\"format\":1,\"kind\":\"cluster\",\"cluster\":\"c\",\"backup_id\":\"b\","
	  "\"nodes\":[{\"host_id\":\"h\",\"manifest\":\"c/m.json\",\"files\":1,"
	  "\"bytes\":1}],\"missing_nodes\":\"10.0.0.3\"}",
	  "'missing_nodes' must be an array" },
	{ "{\"format\":1,\"kind\":\"cluster\",\"cluster\":\"c\",\"backup_id\":\"b\","
	  "\"nodes\":[{\"host_id\":\"h\",\"manifest\":\"c/m.json\",\"files\":1,"
	  "\"bytes\":1}],\"missing_nodes\":[\"10.0.0.3\"]}",
	  "missing_nodes[0]: not an object" },
	{ "{\"format\":1,\"kind\":\"cluster\",\"cluster\":\"c\",\"backup_id\":\"b\","
	  "\"nodes\":[{\"host_id\":\"h\",\"manifest\":\"c/m.json\",\"files\":1,"
	  "\"bytes\":1}],\"missing_nodes\":[{\"state\":\"down\"}]}",
	  "missing_nodes[0]: 'address' is missing" },
	{ "{\"format\":1,\"kind\":\"cluster\",\"cluster\":\"c\",\"backup_id\":\"b\","
	  "\"nodes\":[{\"host_id\":\"h\",\"manifest\":\"c/m.json\",\"files\":1,"
	  "\"bytes\":1}],\"missing_nodes\":[{\"address\":\"a\",\"host_id\":7}]}",
	  "missing_nodes[0]: 'host_id' must be a non-empty string" },
};

static void test_round_trip(void)
{
	struct manifest_node *m = manifest_node_new(), *p;
	struct manifest_file f;
	char err[512], *text;
	const struct manifest_file *hit;
	size_t len;

	m->cluster = xstrdup("c");
	m->backup_id = xstrdup("20260101T000000Z-abcdef");
	m->host_id = xstrdup("h1");
	m->dc = xstrdup("dc1");
	m->started_at = 1767225600000;
	manifest_node_add_table(m, "ks", "t-1", "CREATE TABLE ks.t (id int PRIMARY KEY);");
	for (int i = 9; i >= 0; i--) {
		char name[64];
		memset(&f, 0, sizeof(f));
		snprintf(name, sizeof(name), "nb-%d-big-Data.db", i);
		f.keyspace = (char *)(uintptr_t)"ks";
		f.table_dir = (char *)(uintptr_t)"t-1";
		f.name = name;
		f.key = manifest_data_key("c", "h1", "ks", "t-1", name);
		f.size = (uint64_t)i * 100;
		f.mtime_ns = i;
		memcpy(f.sha256, SHA, 65);
		f.reused = i % 2;
		manifest_node_add_file(m, &f);
		free(f.key);
	}
	memset(&f, 0, sizeof(f));
	f.keyspace = (char *)(uintptr_t)"ks";
	f.table_dir = (char *)(uintptr_t)"t-1";
	f.subdir = (char *)(uintptr_t)".idx";
	f.name = (char *)(uintptr_t)"nb-3-big-Data.db";
	f.key = (char *)(uintptr_t)"c/data/h1/ks/t-1/.idx/nb-3-big-Data.db";
	f.size = 7;
	f.reused = true;
	memcpy(f.sha256, SHA, 65);
	manifest_node_add_file(m, &f);
	text = manifest_node_dump(m, &len);
	T_EQ_INT(m->bytes, 4507);
	T_EQ_INT(m->bytes_uploaded, 2000);	/* 0+200+400+600+800 */
	T_EQ_INT(m->files_uploaded, 5);
	p = manifest_node_parse(text, len, err, sizeof(err));
	T_CHECK(p != NULL, "%s", err);
	if (p != NULL) {
		T_EQ_INT(p->nfiles, 11);
		T_EQ_INT(p->bytes, 4507);
		T_EQ_INT(p->files_uploaded, 5);
		T_EQ_INT(p->started_at, 1767225600000);
		T_EQ_STR(p->tables[0].schema, "CREATE TABLE ks.t (id int PRIMARY KEY);");
		hit = manifest_node_find(p, "ks", "t-1", "nb-7-big-Data.db");
		T_CHECK(hit != NULL && hit->size == 700 && hit->mtime_ns == 7 &&
		    hit->reused, "find nb-7");
		T_CHECK(manifest_node_find(p, "ks", "t-1", "nb-70-big-Data.db") == NULL,
		    "absent file");
		T_CHECK(manifest_node_find(p, "ks", "t-2", "nb-7-big-Data.db") == NULL,
		    "other table");
		T_CHECK(manifest_node_find(NULL, "ks", "t-1", "x") == NULL, "NULL");
		/* The index's file of the same name is its own entry. */
		hit = manifest_node_find_sub(p, "ks", "t-1", ".idx",
		    "nb-3-big-Data.db");
		T_CHECK(hit != NULL && hit->size == 7 && hit->subdir != NULL &&
		    strcmp(hit->subdir, ".idx") == 0, "find .idx/nb-3");
		hit = manifest_node_find(p, "ks", "t-1", "nb-3-big-Data.db");
		T_CHECK(hit != NULL && hit->size == 300 && hit->subdir == NULL,
		    "find nb-3");
		T_CHECK(manifest_node_find_sub(p, "ks", "t-1", ".other",
		    "nb-3-big-Data.db") == NULL, "other index");
	}
	manifest_node_free(p);
	manifest_node_free(m);
	manifest_node_free(NULL);
	free(text);
}

static void test_cluster_round_trip(void)
{
	struct manifest_cluster c, *p;
	struct manifest_cluster_node n[2];
	char err[512], *text;
	size_t len;

	memset(&c, 0, sizeof(c));
	memset(n, 0, sizeof(n));
	n[0].host_id = (char *)(uintptr_t)"h1";
	n[0].manifest = (char *)(uintptr_t)"c/backups/b/nodes/h1.json";
	n[0].files = 3;
	n[0].bytes = 30;
	n[0].bytes_uploaded = 10;
	n[1].host_id = (char *)(uintptr_t)"h2";
	n[1].manifest = (char *)(uintptr_t)"c/backups/b/nodes/h2.json";
	n[1].files = 4;
	n[1].bytes = 40;
	c.cluster = (char *)(uintptr_t)"c";
	c.backup_id = (char *)(uintptr_t)"b";
	c.nodes = n;
	c.nnodes = 2;
	c.options_json = (char *)(uintptr_t)"{\"keyspaces\":[\"ks\"]}";
	text = manifest_cluster_dump(&c, &len);
	p = manifest_cluster_parse(text, len, err, sizeof(err));
	T_CHECK(p != NULL, "%s", err);
	if (p != NULL) {
		T_EQ_INT(p->nnodes, 2);
		T_EQ_INT(p->files, 7);
		T_EQ_INT(p->bytes, 70);
		T_EQ_INT(p->bytes_uploaded, 10);
		T_EQ_STR(p->nodes[1].manifest, "c/backups/b/nodes/h2.json");
		T_EQ_STR(p->options_json, "{\"keyspaces\":[\"ks\"]}");
		T_EQ_INT(p->nmissing, 0);
	}
	T_CHECK(strstr(text, "missing_nodes") == NULL, "a whole backup's "
	    "manifest names no missing nodes: %s", text);
	manifest_cluster_free(p);
	free(text);
	{
		struct manifest_missing_node mm[2] = {
			{ (char *)(uintptr_t)"10.0.0.3", (char *)(uintptr_t)"h3",
			  (char *)(uintptr_t)"down" },
			{ (char *)(uintptr_t)"10.0.0.4", NULL,
			  (char *)(uintptr_t)"agent_down" },
		};
		c.missing = mm;
		c.nmissing = 2;
		text = manifest_cluster_dump(&c, &len);
		p = manifest_cluster_parse(text, len, err, sizeof(err));
		T_CHECK(p != NULL, "%s", err);
		if (p != NULL) {
			T_EQ_INT(p->nmissing, 2);
			T_EQ_STR(p->missing[0].address, "10.0.0.3");
			T_EQ_STR(p->missing[0].host_id, "h3");
			T_EQ_STR(p->missing[0].state, "down");
			T_CHECK(p->missing[1].host_id == NULL, "no host id");
			T_EQ_STR(p->missing[1].state, "agent_down");
		}
		manifest_cluster_free(p);
		free(text);
	}
	manifest_cluster_free(NULL);
}

static void test_keyset(void)
{
	static const struct {
		const char *doc;
		const char *want_err;
	} bad[] = {
		{ "", "not JSON" },
		{ "{\"keys\":\"a\"}", "'keys' must be an array" },
		{ "{}", "'keys' must be an array" },
		{ "{\"keys\":[\"c/data/x\",3]}", "keys[1]: refused" },
		{ "{\"keys\":[\"../etc/passwd\"]}", "keys[0]: refused" },
		{ "{\"keys\":[\"/abs/key\"]}", "keys[0]: refused" },
	};
	static const char good[] = "{\"keys\":[\"c/data/h/ks/t-1/nb-2-big-Data.db\","
	    "\"c/data/h/ks/t-1/nb-1-big-Data.db\",\"c/data/h/ks/t-1/nb-2-big-Data.db\"],"
	    "\"task_id\":\"x\"}";
	char err[256], *k;
	struct manifest_keyset *s;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		s = manifest_keyset_parse(bad[i].doc, strlen(bad[i].doc), err,
		    sizeof(err));
		T_CHECK(s == NULL && strstr(err, bad[i].want_err), "keyset row %zu: "
		    "'%s'", i, s ? "(parsed)" : err);
		manifest_keyset_free(s);
	}
	s = manifest_keyset_parse(good, strlen(good), err, sizeof(err));
	T_CHECK(s != NULL, "%s", err);
	if (s != NULL) {
		T_EQ_INT(s->n, 2);
		T_CHECK(manifest_keyset_has(s, "c/data/h/ks/t-1/nb-1-big-Data.db"),
		    "has nb-1");
		T_CHECK(manifest_keyset_has(s, "c/data/h/ks/t-1/nb-2-big-Data.db"),
		    "has nb-2");
		T_CHECK(!manifest_keyset_has(s, "c/data/h/ks/t-1/nb-3-big-Data.db"),
		    "not nb-3");
		T_CHECK(!manifest_keyset_has(s, NULL), "NULL key");
	}
	manifest_keyset_free(s);
	T_CHECK(!manifest_keyset_has(NULL, "x"), "NULL set");
	s = manifest_keyset_parse("{\"keys\":[]}", 11, err, sizeof(err));
	T_CHECK(s != NULL && s->n == 0 && !manifest_keyset_has(s, "x"), "empty");
	manifest_keyset_free(s);
	manifest_keyset_free(NULL);

	k = manifest_alt_key("c/d/nb-1-big-Data.db", SHA, 0);
	T_EQ_STR(k, "c/d/nb-1-big-Data.db." SHA16);
	free(k);
	k = manifest_alt_key("c/d/nb-1-big-Data.db", SHA, 1);
	T_EQ_STR(k, "c/d/nb-1-big-Data.db." SHA16 ".2");
	T_CHECK(manifest_key_safe(k), "alt key is safe");
	free(k);
}

int main(void)
{
	char err[512];

	for (size_t i = 0; i < ARRAY_SIZE(components); i++)
		T_CHECK(manifest_component_safe(components[i].s) == components[i].ok,
		    "component row %zu '%s'", i, components[i].s);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		T_CHECK(manifest_key_safe(keys[i].s) == keys[i].ok,
		    "key row %zu '%s'", i, keys[i].s);
	T_CHECK(!manifest_key_safe(NULL), "NULL key");
	T_CHECK(!manifest_component_safe(NULL), "NULL component");

	for (size_t i = 0; i < ARRAY_SIZE(node_rows); i++) {
		char *doc = node_doc(node_rows[i].file, node_rows[i].top);
		struct manifest_node *m = manifest_node_parse(doc, strlen(doc), err,
		    sizeof(err));
		if (node_rows[i].want_err == NULL)
			T_CHECK(m != NULL, "row %zu: %s", i, err);
		else
			T_CHECK(m == NULL && strstr(err, node_rows[i].want_err),
			    "row %zu: want '%s', got '%s'", i, node_rows[i].want_err,
			    m ? "(parsed)" : err);
		manifest_node_free(m);
		free(doc);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_docs); i++) {
		struct manifest_node *m = manifest_node_parse(bad_docs[i].doc,
		    strlen(bad_docs[i].doc), err, sizeof(err));
		T_CHECK(m == NULL && strstr(err, bad_docs[i].want_err),
		    "bad doc %zu: want '%s', got '%s'", i, bad_docs[i].want_err,
		    m ? "(parsed)" : err);
		manifest_node_free(m);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_cluster); i++) {
		struct manifest_cluster *c = manifest_cluster_parse(
		    bad_cluster[i].doc, strlen(bad_cluster[i].doc), err, sizeof(err));
		T_CHECK(c == NULL && strstr(err, bad_cluster[i].want_err),
		    "bad cluster %zu: want '%s', got '%s'", i,
		    bad_cluster[i].want_err, c ? "(parsed)" : err);
		manifest_cluster_free(c);
	}
	/* Every prefix of a valid document fails cleanly (truncated reads). */
	{
		char *doc = node_doc(FILE_OK, "");
		size_t n = strlen(doc);
		int parsed = 0;
		for (size_t k = 0; k < n; k++) {
			struct manifest_node *m = manifest_node_parse(doc, k, err,
			    sizeof(err));
			parsed += m != NULL;
			manifest_node_free(m);
		}
		T_EQ_INT(parsed, 0);
		free(doc);
	}

	{
		char *t = manifest_table_name("orders-0123456789abcdef0123456789abcdef");
		T_EQ_STR(t, "orders");
		free(t);
		t = manifest_table_name("my-table");
		T_EQ_STR(t, "my-table");
		free(t);
	}
	T_CHECK(manifest_keyspace_is_system("system_schema"), "system_schema");
	T_CHECK(!manifest_keyspace_is_system("shop"), "shop");
	T_CHECK(manifest_backup_id_valid("20260101T000000Z-abcdef"), "id");
	T_CHECK(!manifest_backup_id_valid("../x"), "bad id");
	{
		char *k = manifest_node_key("c", "b", "h");
		T_EQ_STR(k, "c/backups/b/nodes/h.json");
		free(k);
		k = manifest_cluster_key("c", "b");
		T_EQ_STR(k, "c/backups/b/cluster.json");
		free(k);
	}
	T_EQ_INT(manifest_sstable_prefix_len("nb-12-big-Data.db"), 10);
	T_EQ_INT(manifest_sstable_prefix_len("nb-12-big-TOC.txt"), 10);
	T_EQ_INT(manifest_sstable_prefix_len(
	    "da-3gbm_0qv6_1m0ip2ck0yt1e4rjdf-bti-Partitions.db"), 36);
	T_EQ_INT(manifest_sstable_prefix_len("manifest.json"), 0);
	T_EQ_INT(manifest_sstable_prefix_len(NULL), 0);
	T_CHECK(manifest_subdir_safe(".orders_cust"), ".orders_cust");
	T_CHECK(!manifest_subdir_safe("orders_cust"), "no dot");
	T_CHECK(!manifest_subdir_safe(".."), "..");
	T_CHECK(!manifest_subdir_safe(NULL), "NULL subdir");
	test_round_trip();
	test_cluster_round_trip();
	test_keyset();
	return t_done("test_manifest");
}
