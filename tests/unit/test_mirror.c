/*
 * test_mirror.c - the state mirror (orchestrator/mirror/): generation
 * names, the manifest with hostile inputs, the retention choice, and the
 * whole layout written and read back through a file:// store - with a
 * tampered object, a wrong key, a manifest that lies and a `latest` that
 * names a broken generation, each refused or skipped with its reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/sha256.h"
#include "../../common/util.h"
#include "../../orchestrator/mirror/mirror.h"
#include "../../orchestrator/store/store.h"
#include "t.h"

static char dir[] = "/tmp/test_mirror.XXXXXX";

static void test_names(void)
{
	char name[MIRROR_GEN_LEN];
	int64_t g;

	mirror_gen_name(1765040000123LL, name);
	T_EQ_STR(name, "0001765040000123");
	T_EQ_INT(mirror_gen_parse(name, &g), 0);
	T_EQ_INT(g, 1765040000123LL);
	mirror_gen_name(0, name);
	T_EQ_STR(name, "0000000000000000");
	/* Strictly increasing whatever the clock does. */
	T_EQ_INT(mirror_gen_next(1000, 0), 1000);
	T_EQ_INT(mirror_gen_next(1000, 999), 1000);
	T_EQ_INT(mirror_gen_next(1000, 1000), 1001);
	T_EQ_INT(mirror_gen_next(500, 1000), 1001);
	static const char *const bad[] = {
		"", "123", "000176504000012", "00017650400001234", "000176504000012x",
		"-001765040000123", " 001765040000123", "0001765040000123 ",
		"../0001765040000",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		T_CHECK(mirror_gen_parse(bad[i], &g) == -1, "'%s' refused",
		    bad[i]);
	static const struct {
		const char *text;
		size_t len;
		int rc;
	} latest[] = {
		{ "0001765040000123\n", 17, 0 },
		{ "0001765040000123", 16, 0 },
		{ "0001765040000123\n\n", 18, -1 },
		{ "0001765040000123\r\n", 18, -1 },
		{ "001765040000123\n", 16, -1 },
		{ "0001765040000123\0", 17, -1 },
		{ "", 0, -1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(latest); i++) {
		g = 0;
		int rc = mirror_latest_parse(latest[i].text, latest[i].len, &g);
		T_CHECK(rc == latest[i].rc, "latest case %zu: %d", i, rc);
		if (rc == 0)
			T_EQ_INT(g, 1765040000123LL);
	}
}

#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static void test_manifest(void)
{
	struct mirror_manifest m = {
		.format = 1, .generation = 1765040000123LL,
		.created_ms = 1765040000000LL, .bytes = 12345, .schema = 7,
		.encrypted = true,
	}, back;
	char err[256];
	char *text;

	str_copy(m.sha256, SHA, sizeof(m.sha256));
	text = mirror_manifest_format(&m);
	T_EQ_STR(text, "{\"format\":1,\"generation\":\"0001765040000123\","
	    "\"created\":\"2025-12-06T16:53:20Z\",\"bytes\":12345,\"sha256\":\""
	    SHA "\",\"schema\":7,\"encrypted\":true}");
	T_EQ_INT(mirror_manifest_parse(text, strlen(text), &back, err,
	    sizeof(err)), 0);
	T_EQ_INT(back.generation, m.generation);
	T_EQ_INT(back.created_ms, m.created_ms);
	T_EQ_INT(back.bytes, 12345);
	T_EQ_STR(back.sha256, SHA);
	T_EQ_INT(back.schema, 7);
	T_CHECK(back.encrypted, "encrypted");
	free(text);

#define OK_REST "\"created\":\"2025-12-06T16:53:20Z\",\"bytes\":1,\"sha256\":\"" SHA "\",\"schema\":1,\"encrypted\":false"
	static const struct {
		const char *text;
		const char *want;	/* in err; NULL: accepted */
	} cases[] = {
		{ "{\"format\":1,\"generation\":\"0001765040000123\"," OK_REST "}", NULL },
		{ "{\"format\":1,\"generation\":\"0001765040000123\"," OK_REST ",\"extra\":[1]}", NULL },
		{ "", "not a JSON object" },
		{ "[]", "not a JSON object" },
		{ "null", "not a JSON object" },
		{ "{\"format\":1,\"format\":1,\"generation\":\"0001765040000123\"," OK_REST "}", "not a JSON object" },
		{ "{\"generation\":\"0001765040000123\"," OK_REST "}", "'format'" },
		{ "{\"format\":\"1\",\"generation\":\"0001765040000123\"," OK_REST "}", "'format'" },
		{ "{\"format\":0,\"generation\":\"0001765040000123\"," OK_REST "}", "'format'" },
		{ "{\"format\":2,\"generation\":\"0001765040000123\"," OK_REST "}", "newer" },
		{ "{\"format\":1,\"generation\":1765040000123," OK_REST "}", "'generation'" },
		{ "{\"format\":1,\"generation\":\"../../etc/passwd\"," OK_REST "}", "'generation'" },
		{ "{\"format\":1,\"generation\":\"0001765040000123\",\"created\":\"yesterday\",\"bytes\":1,\"sha256\":\"" SHA "\",\"schema\":1,\"encrypted\":false}", "'created'" },
		{ "{\"format\":1,\"generation\":\"0001765040000123\",\"created\":\"2025-12-06T16:53:20Z\",\"bytes\":-1,\"sha256\":\"" SHA "\",\"schema\":1,\"encrypted\":false}", "'bytes'" },
		{ "{\"format\":1,\"generation\":\"0001765040000123\",\"created\":\"2025-12-06T16:53:20Z\",\"bytes\":1.5,\"sha256\":\"" SHA "\",\"schema\":1,\"encrypted\":false}", "'bytes'" },
		{ "{\"format\":1,\"generation\":\"0001765040000123\",\"created\":\"2025-12-06T16:53:20Z\",\"bytes\":1,\"sha256\":\"abc\",\"schema\":1,\"encrypted\":false}", "'sha256'" },
		{ "{\"format\":1,\"generation\":\"0001765040000123\",\"created\":\"2025-12-06T16:53:20Z\",\"bytes\":1,\"sha256\":\"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\",\"schema\":1,\"encrypted\":false}", "'sha256'" },
		{ "{\"format\":1,\"generation\":\"0001765040000123\",\"created\":\"2025-12-06T16:53:20Z\",\"bytes\":1,\"sha256\":\"" SHA "00\",\"schema\":1,\"encrypted\":false}", "'sha256'" },
		{ "{\"format\":1,\"generation\":\"0001765040000123\",\"created\":\"2025-12-06T16:53:20Z\",\"bytes\":1,\"sha256\":\"" SHA "\",\"schema\":0,\"encrypted\":false}", "'schema'" },
		{ "{\"format\":1,\"generation\":\"0001765040000123\",\"created\":\"2025-12-06T16:53:20Z\",\"bytes\":1,\"sha256\":\"" SHA "\",\"schema\":1,\"encrypted\":\"no\"}", "'encrypted'" },
		{ "{\"format\":1,\"generation\":\"0001765040000123\",\"created\":\"2025-12-06T16:53:20Z\",\"bytes\":1,\"sha256\":\"" SHA "\",\"schema\":1}", "'encrypted'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		err[0] = '\0';
		int rc = mirror_manifest_parse(cases[i].text,
		    strlen(cases[i].text), &back, err, sizeof(err));
		if (cases[i].want == NULL)
			T_CHECK(rc == 0, "case %zu accepted: %s", i, err);
		else
			T_CHECK(rc == -1 && strstr(err, cases[i].want) != NULL,
			    "case %zu: rc %d, err '%s', want '%s'", i, rc, err,
			    cases[i].want);
	}
	/* Embedded NUL, and more than a manifest can be. */
	static const char nul[] = "{\"format\":1\0}";
	T_EQ_INT(mirror_manifest_parse(nul, sizeof(nul) - 1, &back, err,
	    sizeof(err)), -1);
	char *big = xmalloc(MIRROR_MANIFEST_MAX + 2);
	memset(big, ' ', MIRROR_MANIFEST_MAX + 1);
	big[MIRROR_MANIFEST_MAX + 1] = '\0';
	T_EQ_INT(mirror_manifest_parse(big, MIRROR_MANIFEST_MAX + 1, &back, err,
	    sizeof(err)), -1);
	free(big);
}

static void test_retention(void)
{
	static const struct {
		const char *name;
		size_t n, keep;
		int64_t gens[8];
		bool complete[8];
		int64_t latest;
		bool want[8];
	} cases[] = {
		{ "fewer than keep", 3, 5, { 1, 2, 3 }, { 1, 1, 1 }, 3,
		  { 0, 0, 0 } },
		{ "oldest beyond keep go", 5, 2, { 1, 2, 3, 4, 5 },
		  { 1, 1, 1, 1, 1 }, 5, { 1, 1, 1, 0, 0 } },
		{ "latest kept even when old", 4, 1, { 1, 2, 3, 4 },
		  { 1, 1, 1, 1 }, 2, { 1, 0, 1, 0 } },
		{ "incomplete newest stays (a write under way)", 4, 2,
		  { 1, 2, 3, 4 }, { 1, 1, 1, 0 }, 3, { 1, 0, 0, 0 } },
		{ "incomplete debris below a complete one goes", 5, 3,
		  { 1, 2, 3, 4, 5 }, { 1, 0, 1, 0, 1 }, 5, { 0, 1, 0, 1, 0 } },
		{ "incomplete ones do not count toward keep", 4, 2,
		  { 1, 2, 3, 4 }, { 1, 1, 0, 1 }, 4, { 1, 0, 1, 0 } },
		{ "no latest", 3, 1, { 1, 2, 3 }, { 1, 1, 1 }, 0,
		  { 1, 1, 0 } },
		{ "nothing", 0, 1, { 0 }, { 0 }, 0, { 0 } },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool del[8];
		size_t want_n = 0;
		memset(del, 0xff, sizeof(del));
		size_t n = mirror_retention(cases[i].gens, cases[i].complete,
		    cases[i].n, cases[i].keep, cases[i].latest, del);
		for (size_t j = 0; j < cases[i].n; j++) {
			T_CHECK(del[j] == cases[i].want[j], "%s: gen %" PRId64
			    ": del %d", cases[i].name, cases[i].gens[j], del[j]);
			want_n += cases[i].want[j];
		}
		T_CHECK(n == want_n, "%s: %zu marked, want %zu", cases[i].name,
		    n, want_n);
	}
}

/* ---- the layout through a file:// store ---------------------------------- */

static char *in_dir(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static struct mirror *open_mirror(const char *key_file, int keep)
{
	char err[512];
	char *url = xasprintf("file://%s/mirror", dir);
	/* Characters a SQLite URI gives a meaning to: store_check_file()
	 * must still open the file the path names. */
	char *tmp = in_dir("tmp?#%");
	struct mirror_opts o = { .url = url, .key_file = key_file,
	    .tmp_dir = tmp, .keep = keep };
	struct mirror *m = mirror_open(&o, err, sizeof(err));
	if (m == NULL) {
		fprintf(stderr, "mirror_open: %s\n", err);
		exit(1);
	}
	free(url);
	free(tmp);
	return m;
}

static char *gen_path(int64_t g, const char *name)
{
	char gen[MIRROR_GEN_LEN];
	mirror_gen_name(g, gen);
	return xasprintf("%s/mirror/generations/%s/%s", dir, gen, name);
}

static void flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char c;
	if (fd < 0 || pread(fd, &c, 1, off) != 1) {
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	c ^= 0x40;
	if (pwrite(fd, &c, 1, off) != 1)
		exit(1);
	close(fd);
}

/* The restored file holds the token written before the snapshot. */
static bool has_token(const char *db, const char *name)
{
	char err[256];
	struct store *st = store_open(db, err, sizeof(err));
	struct store_token_row *l = NULL;
	size_t n = 0;
	bool found = false;

	if (st == NULL)
		return false;
	if (store_token_list(st, &l, &n) == 0)
		for (size_t i = 0; i < n; i++)
			found |= strcmp(l[i].name, name) == 0;
	free(l);
	store_close(st);
	return found;
}

static void test_layout(bool encrypted)
{
	char err[1024];
	char *dbp = in_dir("state.db"), *kf = in_dir("key");
	char *kf2 = in_dir("key2");
	char *out = in_dir("restored.db");
	const char *key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	const char *key2 = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	char *cmd = xasprintf("rm -rf %s/mirror '%s/tmp?#%%' %s/state.db* %s/restored.db; mkdir -p '%s/tmp?#%%'",
	    dir, dir, dir, dir, dir);
	if (system(cmd) != 0)
		exit(1);
	free(cmd);
	file_write_atomic(kf, key, strlen(key), 0600);
	file_write_atomic(kf2, key2, strlen(key2), 0600);

	struct store *st = store_open(dbp, err, sizeof(err));
	if (st == NULL) {
		fprintf(stderr, "store_open: %s\n", err);
		exit(1);
	}
	struct mirror *m = open_mirror(encrypted ? kf : NULL, 2);
	T_CHECK(mirror_encrypted(m) == encrypted, "encrypted");
	int64_t gens[4];
	const char *names[4] = { "tok-a", "tok-b", "tok-c", "tok-d" };
	uint64_t c0 = store_change_count(st);
	for (int i = 0; i < 4; i++) {
		struct mirror_write_info info;
		T_EQ_INT(store_token_create(st, names[i], "admin",
		    names[i], err, sizeof(err)), 0);
		T_EQ_INT(mirror_write(m, st, &info, err, sizeof(err)), 0);
		gens[i] = info.generation;
		T_CHECK(i == 0 || gens[i] > gens[i - 1], "generations grow");
	}
	T_CHECK(store_change_count(st) >= c0 + 4, "commits counted");
	/* Heartbeat batches are not changes for the mirror. */
	struct store_hb hb = { .cluster = "nope", .address = "10.0.0.1",
	    .at = 1, .state = "up" };
	uint64_t c1 = store_change_count(st);
	T_CHECK(store_heartbeats_apply(st, &hb, 1, err, sizeof(err)) >= 0,
	    "heartbeats applied: %s", err);
	T_EQ_INT(store_change_count(st), c1);
	T_EQ_INT(store_token_create(st, encrypted ? "tok-x" : "tok-y", "admin",
	    encrypted ? "x" : "y", err, sizeof(err)), 0);
	T_EQ_INT(store_change_count(st), c1 + 1);

	/* Retention kept 2; latest names the newest. */
	struct mirror_gen *v = NULL;
	size_t n = 0;
	int64_t latest = 0;
	T_EQ_INT(mirror_list(m, &v, &n, &latest, err, sizeof(err)), 0);
	T_EQ_INT(n, 2);
	T_EQ_INT(latest, gens[3]);
	if (n == 2) {
		T_EQ_INT(v[0].generation, gens[3]);
		T_EQ_INT(v[1].generation, gens[2]);
		T_CHECK(v[0].complete && v[1].complete && v[0].latest &&
		    !v[1].latest, "both complete, newest first");
		T_CHECK(v[0].man.encrypted == encrypted, "manifest says so");
		T_EQ_INT(v[0].man.schema, store_schema_latest());
	}
	free(v);
	char *obj = gen_path(gens[3], encrypted ? "state.db.enc" : "state.db");
	T_CHECK(access(obj, F_OK) == 0, "object named by the layout: %s", obj);
	if (encrypted) {
		/* Not an SQLite file at rest. */
		size_t len;
		char *b = file_read_all(obj, 1 << 24, &len);
		T_CHECK(b != NULL && memcmp(b, "SQLite format 3", 15) != 0,
		    "sealed at rest");
		free(b);
	}

	/* Fetch the newest, and refuse a generation that is not there. */
	struct mirror_manifest man;
	T_EQ_INT(mirror_fetch(m, gens[3], out, store_schema_latest(), &man,
	    err, sizeof(err)), 0);
	T_CHECK(has_token(out, "tok-d"), "restored holds the last token");
	unlink(out);
	T_EQ_INT(mirror_fetch(m, gens[0], out, store_schema_latest(), &man,
	    err, sizeof(err)), S3_NOT_FOUND);
	T_CHECK(strstr(err, "no generation") != NULL, "%s", err);
	/* A schema newer than this binary's is refused. */
	T_EQ_INT(mirror_fetch(m, gens[3], out, store_schema_latest() - 1, &man,
	    err, sizeof(err)), -1);
	T_CHECK(strstr(err, "newer") != NULL, "%s", err);
	T_CHECK(access(out, F_OK) != 0, "nothing left behind");

	/* Tamper with the newest: checksum mismatch; recovery falls back. */
	flip_byte(obj, 100);
	T_EQ_INT(mirror_fetch(m, gens[3], out, store_schema_latest(), &man,
	    err, sizeof(err)), -1);
	T_CHECK(strstr(err, "SHA-256") != NULL && strstr(err, "damaged"),
	    "%s", err);
	T_CHECK(access(out, F_OK) != 0, "nothing left behind");
	int skipped = 0;
	T_EQ_INT(mirror_recover(m, out, store_schema_latest(), &man, &skipped,
	    err, sizeof(err)), 0);
	T_EQ_INT(man.generation, gens[2]);
	T_EQ_INT(skipped, 1);
	T_CHECK(has_token(out, "tok-c") && !has_token(out, "tok-d"),
	    "the older generation's state");
	unlink(out);

	if (encrypted) {
		/* A wrong key: the tag refuses it, nothing is used. */
		struct mirror *w = open_mirror(kf2, 2);
		T_EQ_INT(mirror_fetch(w, gens[2], out, store_schema_latest(),
		    &man, err, sizeof(err)), -1);
		T_CHECK(strstr(err, "failed authentication") != NULL, "%s",
		    err);
		T_CHECK(access(out, F_OK) != 0, "nothing left behind");
		mirror_close(w);
		/* No key at all. */
		w = open_mirror(NULL, 2);
		T_EQ_INT(mirror_fetch(w, gens[2], out, store_schema_latest(),
		    &man, err, sizeof(err)), -1);
		T_CHECK(strstr(err, "state_mirror_key_file") != NULL, "%s",
		    err);
		mirror_close(w);
	} else {
		/* Not an SQLite file, with a manifest that matches it: the
		 * integrity check refuses it. */
		char *o2 = gen_path(gens[2], "state.db");
		const char junk[] = "this is not a database at all, it is text";
		file_write_atomic(o2, junk, sizeof(junk) - 1, 0600);
		struct mirror_manifest fake = man;
		fake.generation = gens[2];
		fake.bytes = sizeof(junk) - 1;
		char *mp = gen_path(gens[2], "manifest.json");
		sha256_hex(junk, sizeof(junk) - 1, fake.sha256);
		char *mt = mirror_manifest_format(&fake);
		file_write_atomic(mp, mt, strlen(mt), 0600);
		T_EQ_INT(mirror_fetch(m, gens[2], out, store_schema_latest(),
		    &man, err, sizeof(err)), -1);
		T_CHECK(strstr(err, "not a ringmaster state database") != NULL,
		    "%s", err);
		/* Both broken now: recovery says none could be restored. */
		T_EQ_INT(mirror_recover(m, out, store_schema_latest(), &man,
		    &skipped, err, sizeof(err)), -1);
		T_CHECK(strstr(err, "no generation") != NULL, "%s", err);
		/* A manifest naming another generation. */
		fake.generation = gens[3];
		free(mt);
		mt = mirror_manifest_format(&fake);
		file_write_atomic(mp, mt, strlen(mt), 0600);
		T_EQ_INT(mirror_fetch(m, gens[2], out, store_schema_latest(),
		    &man, err, sizeof(err)), -1);
		T_CHECK(strstr(err, "names generation") != NULL, "%s", err);
		free(mt);
		free(mp);
		free(o2);
	}
	mirror_close(m);

	/* An empty mirror. */
	m = open_mirror(NULL, 2);
	cmd = xasprintf("rm -rf %s/mirror", dir);
	if (system(cmd) != 0)
		exit(1);
	free(cmd);
	T_EQ_INT(mirror_recover(m, out, store_schema_latest(), &man, &skipped,
	    err, sizeof(err)), S3_NOT_FOUND);
	mirror_close(m);

	store_close(st);
	free(obj);
	free(dbp);
	free(kf);
	free(kf2);
	free(out);
}

int main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	log_init("test_mirror", NULL, LOG_LVL_ERROR);
	test_names();
	test_manifest();
	test_retention();
	test_layout(false);
	test_layout(true);
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
	return t_done("test_mirror");
}
