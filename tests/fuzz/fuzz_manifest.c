/*
 * fuzz_manifest.c - backup manifests come from object storage and are not
 * trusted (common/manifest.h): the node manifest, the cluster manifest
 * and the key set parsers on any bytes.  A manifest that parses must
 * dump and parse again to the same files, and every file of it must obey
 * the path-safety rules a restore relies on.
 */
#include "../../common/manifest.h"
#include "fuzz.h"

static void node(const char *buf, size_t len)
{
	char err[512] = "", *dump;
	struct manifest_node *m, *again;
	size_t n, i;

	if ((m = manifest_node_parse(buf, len, err, sizeof(err))) == NULL) {
		FUZZ_ASSERT(err[0] != '\0', "node manifest refused silently");
		return;
	}
	for (i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f = &m->files[i];

		FUZZ_ASSERT(manifest_component_safe(f->keyspace) &&
		    manifest_component_safe(f->table_dir) &&
		    manifest_component_safe(f->name) &&
		    manifest_key_safe(f->key) &&
		    (f->subdir == NULL || manifest_subdir_safe(f->subdir)),
		    "unsafe file %zu accepted: %s/%s/%s", i, f->keyspace,
		    f->table_dir, f->name);
	}
	dump = manifest_node_dump(m, &n);
	FUZZ_ASSERT(dump != NULL, "no dump of a parsed node manifest");
	again = manifest_node_parse(dump, n, err, sizeof(err));
	FUZZ_ASSERT(again != NULL, "own dump refused: %s", err);
	FUZZ_ASSERT(again->nfiles == m->nfiles && again->bytes == m->bytes,
	    "round trip changed the files: %zu -> %zu", m->nfiles,
	    again->nfiles);
	for (i = 0; i < m->nfiles; i++)
		FUZZ_ASSERT(manifest_node_find_sub(again, m->files[i].keyspace,
		    m->files[i].table_dir, m->files[i].subdir,
		    m->files[i].name) != NULL, "file %zu lost", i);
	manifest_node_free(again);
	free(dump);
	manifest_node_free(m);
}

static void cluster(const char *buf, size_t len)
{
	char err[512] = "", *dump;
	struct manifest_cluster *c, *again;
	size_t n;

	if ((c = manifest_cluster_parse(buf, len, err, sizeof(err))) == NULL) {
		FUZZ_ASSERT(err[0] != '\0', "cluster manifest refused silently");
		return;
	}
	dump = manifest_cluster_dump(c, &n);
	FUZZ_ASSERT(dump != NULL, "no dump of a parsed cluster manifest");
	again = manifest_cluster_parse(dump, n, err, sizeof(err));
	FUZZ_ASSERT(again != NULL, "own dump refused: %s", err);
	FUZZ_ASSERT(again->nnodes == c->nnodes && again->files == c->files &&
	    again->nmissing == c->nmissing, "round trip changed the backup");
	manifest_cluster_free(again);
	free(dump);
	manifest_cluster_free(c);
}

static void keyset(const char *buf, size_t len)
{
	char err[512] = "";
	struct manifest_keyset *s;
	size_t i;

	if ((s = manifest_keyset_parse(buf, len, err, sizeof(err))) == NULL) {
		FUZZ_ASSERT(err[0] != '\0', "key set refused silently");
		return;
	}
	for (i = 0; i < s->n; i++) {
		FUZZ_ASSERT(manifest_key_safe(s->keys[i]), "unsafe key accepted");
		FUZZ_ASSERT(manifest_keyset_has(s, s->keys[i]), "key %zu lost", i);
		FUZZ_ASSERT(i == 0 || strcmp(s->keys[i - 1], s->keys[i]) < 0,
		    "keys not sorted and unique");
	}
	manifest_keyset_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	node((const char *)data, size);
	cluster((const char *)data, size);
	keyset((const char *)data, size);
	return 0;
}
