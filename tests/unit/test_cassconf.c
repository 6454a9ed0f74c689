/*
 * test_cassconf.c - the seeds and replace_address edits on the shapes of
 * cassandra.yaml and jvm*.options that Cassandra 3.11 to 5.0 ship, and on
 * shapes operators write.  Every edit must change exactly one line, be
 * idempotent, and refuse what it does not understand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/cassconf.h"
#include "../../common/util.h"
#include "t.h"

/* cassandra.yaml of 3.11: four-space indents, seeds without a port. */
static const char yaml_311[] =
    "# Cassandra storage config YAML\n"
    "\n"
    "# NOTE:\n"
    "#   See http://wiki.apache.org/cassandra/StorageConfiguration for\n"
    "#   full explanations of configuration directives\n"
    "# /NOTE\n"
    "\n"
    "# The name of the cluster. This is mainly used to prevent machines in\n"
    "# one logical cluster from joining another.\n"
    "cluster_name: 'Test Cluster'\n"
    "\n"
    "num_tokens: 256\n"
    "\n"
    "# any class that implements the SeedProvider interface and has a\n"
    "# constructor that takes a Map<String, String> of parameters will do.\n"
    "seed_provider:\n"
    "    # Addresses of hosts that are deemed contact points.\n"
    "    # Cassandra nodes use this list of hosts to find each other and learn\n"
    "    # the topology of the ring.  You must change this if you are running\n"
    "    # multiple nodes!\n"
    "    - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
    "      parameters:\n"
    "          # seeds is actually a comma-delimited list of addresses.\n"
    "          # Ex: \"<ip1>,<ip2>,<ip3>\"\n"
    "          - seeds: \"127.0.0.1\"\n"
    "\n"
    "# For workloads with more data than can fit in memory, Cassandra's\n"
    "concurrent_reads: 32\n"
    "listen_address: localhost\n";

/* cassandra.yaml of 4.1 / 5.0: two-space indents, seeds with the port. */
static const char yaml_41[] =
    "cluster_name: 'Test Cluster'\n"
    "num_tokens: 16\n"
    "allocate_tokens_for_local_replication_factor: 3\n"
    "hinted_handoff_enabled: true\n"
    "# any class that implements the SeedProvider interface and has a\n"
    "# constructor that takes a Map<String, String> of parameters will do.\n"
    "seed_provider:\n"
    "  # Addresses of hosts that are deemed contact points.\n"
    "  # Cassandra nodes use this list of hosts to find each other and learn\n"
    "  # the topology of the ring.  You _must_ change this if you are running\n"
    "  # multiple nodes!\n"
    "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
    "    parameters:\n"
    "      # seeds is actually a comma-delimited list of addresses.\n"
    "      # Ex: \"<ip1>,<ip2>,<ip3>\"\n"
    "      - seeds: \"127.0.0.1:7000\"\n"
    "\n"
    "# Maximum memory to use for inter-node and client-server networking buffers.\n"
    "#networking_cache_size: 128MiB\n"
    "concurrent_reads: 32\n";

static char *replace_once(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	if (at == NULL)
		return xstrdup(s);
	return xasprintf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

static int count_diff_lines(const char *a, const char *b)
{
	int n = 0;
	while (*a || *b) {
		const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
		size_t la = ea ? (size_t)(ea - a) : strlen(a);
		size_t lb = eb ? (size_t)(eb - b) : strlen(b);
		if (la != lb || memcmp(a, b, la) != 0)
			n++;
		a += la + (ea ? 1 : 0);
		b += lb + (eb ? 1 : 0);
	}
	return n;
}

static void test_yaml_shapes(void)
{
	static const struct {
		const char *name;
		const char *text;	/* NULL: use the named fixture */
		const char *before;	/* expected seeds before */
		const char *line_after;	/* the seeds line after setting 10.0.0.1,10.0.0.2 */
	} rows[] = {
		{ "3.11", yaml_311, "127.0.0.1",
		  "          - seeds: \"10.0.0.1,10.0.0.2\"\n" },
		{ "4.1", yaml_41, "127.0.0.1:7000",
		  "      - seeds: \"10.0.0.1,10.0.0.2\"\n" },
		{ "unquoted with comment",
		  "seed_provider:\n"
		  "- class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
		  "  parameters:\n"
		  "  - seeds: 10.9.9.9 # prod seeds\n"
		  "listen_address: 10.0.0.5\n",
		  "10.9.9.9", "  - seeds: \"10.0.0.1,10.0.0.2\" # prod seeds\n" },
		{ "single quotes, no dash",
		  "seed_provider:\n"
		  "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
		  "    parameters:\n"
		  "        seeds:   '10.9.9.9'\n",
		  "10.9.9.9", "        seeds:   \"10.0.0.1,10.0.0.2\"\n" },
		{ "CRLF line endings",
		  "cluster_name: x\r\nseed_provider:\r\n  - class_name: S\r\n"
		  "    parameters:\r\n      - seeds: \"1.1.1.1\"\r\nrpc_port: 9160\r\n",
		  "1.1.1.1", "      - seeds: \"10.0.0.1,10.0.0.2\"\r\n" },
		{ "commented seeds before the real block",
		  "#seed_provider:\n#  - seeds: \"9.9.9.9\"\n"
		  "seed_provider:\n  - class_name: S\n    parameters:\n"
		  "      # - seeds: \"8.8.8.8\"\n      - seeds: \"1.1.1.1\"\n",
		  "1.1.1.1", "      - seeds: \"10.0.0.1,10.0.0.2\"\n" },
		{ "empty seeds",
		  "seed_provider:\n  - class_name: S\n    parameters:\n      - seeds:\n",
		  "", "      - seeds: \"10.0.0.1,10.0.0.2\"\n" },
	};
	const char *seeds[] = { "10.0.0.1", "10.0.0.2" };
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char *before = cassconf_yaml_get_seeds(rows[i].text);
		T_EQ_STR(before, rows[i].before);
		free(before);

		err[0] = '\0';
		char *out = cassconf_yaml_set_seeds(rows[i].text, seeds, 2, err, sizeof(err));
		T_CHECK(out != NULL, "%s: %s", rows[i].name, err);
		if (out == NULL)
			continue;
		T_CHECK(strstr(out, rows[i].line_after) != NULL,
		    "%s: no line '%s' in:\n%s", rows[i].name, rows[i].line_after, out);
		T_CHECK(count_diff_lines(rows[i].text, out) == 1,
		    "%s: %d lines changed", rows[i].name,
		    count_diff_lines(rows[i].text, out));
		char *got = cassconf_yaml_get_seeds(out);
		T_EQ_STR(got, "10.0.0.1,10.0.0.2");
		free(got);
		/* Idempotent: a second pass changes nothing. */
		char *again = cassconf_yaml_set_seeds(out, seeds, 2, err, sizeof(err));
		T_CHECK(again != NULL && strcmp(again, out) == 0,
		    "%s: second pass changed the text", rows[i].name);
		free(again);
		free(out);
	}
}

static void test_yaml_refusals(void)
{
	static const struct {
		const char *name, *text, *want_err;
	} rows[] = {
		{ "flow style",
		  "seed_provider: [{class_name: S, parameters: [{seeds: \"1.1.1.1\"}]}]\n",
		  "flow style" },
		{ "provider without seeds",
		  "seed_provider:\n  - class_name: com.example.CloudSeedProvider\n"
		  "    parameters:\n      - region: eu-west-1\nlisten_address: x\n",
		  "no 'seeds:' parameter" },
		{ "seeds only after the block ended",
		  "seed_provider:\n  - class_name: S\nother:\n  - seeds: \"1.1.1.1\"\n",
		  "no 'seeds:' parameter" },
	};
	const char *seeds[] = { "10.0.0.1" };
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		err[0] = '\0';
		char *out = cassconf_yaml_set_seeds(rows[i].text, seeds, 1, err, sizeof(err));
		T_CHECK(out == NULL, "%s: accepted", rows[i].name);
		T_CHECK(strstr(err, rows[i].want_err) != NULL, "%s: error '%s'",
		    rows[i].name, err);
		free(out);
	}

	/* Values that would inject YAML are refused. */
	const char *bad[][1] = { { "1.1.1.1\"\nauthenticator: AllowAll" },
	    { "a b" }, { "" }, { "x,y" } };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *out = cassconf_yaml_set_seeds(yaml_41, bad[i], 1, err, sizeof(err));
		T_CHECK(out == NULL && strstr(err, "is not an address"),
		    "bad seed %zu accepted (%s)", i, err);
		free(out);
	}
	char *out = cassconf_yaml_set_seeds(yaml_41, NULL, 0, err, sizeof(err));
	T_CHECK(out == NULL && strstr(err, "no seeds"), "no seeds: %s", err);
	free(out);
}

static void test_yaml_append(void)
{
	const char *text = "cluster_name: 'c'\nnum_tokens: 16";	/* no final newline */
	const char *seeds[] = { "10.0.0.1" };
	char err[256];
	char *out = cassconf_yaml_set_seeds(text, seeds, 1, err, sizeof(err));

	T_CHECK(out != NULL, "%s", err);
	if (out == NULL)
		return;
	T_CHECK(str_starts_with(out, "cluster_name: 'c'\nnum_tokens: 16\nseed_provider:\n"),
	    "appended block: %s", out);
	char *got = cassconf_yaml_get_seeds(out);
	T_EQ_STR(got, "10.0.0.1");
	free(got);
	free(out);
}

/* jvm-server.options of 4.x: the replace flag only as a comment. */
static const char jvm_4x[] =
    "###########################################################################\n"
    "#                             jvm-server.options                          #\n"
    "#                                                                         #\n"
    "# - all flags defined here will be used by cassandra to startup the JVM   #\n"
    "###########################################################################\n"
    "\n"
    "######################\n"
    "# STARTUP PARAMETERS #\n"
    "######################\n"
    "\n"
    "# The directory location of the cassandra.yaml file.\n"
    "#-Dcassandra.config=directory\n"
    "\n"
    "# Set to false to start Cassandra on a node but not have the node join the cluster.\n"
    "#-Dcassandra.join_ring=true|false\n"
    "\n"
    "# To replace a node that has died, restart a new node in its place specifying the address of the\n"
    "# dead node. The new node must not have any data in its data directory, that is, it must be in the\n"
    "# same state as before bootstrapping.\n"
    "#-Dcassandra.replace_address=listen_address or broadcast_address of dead node\n"
    "\n"
    "########################\n"
    "# GENERAL JVM SETTINGS #\n"
    "########################\n"
    "\n"
    "# enable assertions. highly suggested for prod systems\n"
    "-ea\n"
    "\n"
    "# enable thread priorities, primarily so we can give periodic tasks\n"
    "# a higher priority to avoid interfering with client workload\n"
    "-XX:+UseThreadPriorities\n"
    "-Xss256k\n"
    "-XX:+AlwaysPreTouch\n";

static void test_jvm(void)
{
	char err[256];
	char *out, *out2, *got, *cleared;

	got = cassconf_jvm_get_replace(jvm_4x);
	T_CHECK(got == NULL, "fixture has no active flag, got %s", got);
	free(got);

	out = cassconf_jvm_set_replace(jvm_4x, "10.0.0.7", err, sizeof(err));
	T_CHECK(out != NULL, "%s", err);
	if (out == NULL)
		return;
	T_CHECK(str_ends_with(out, "-XX:+AlwaysPreTouch\n"
	    "-Dcassandra.replace_address_first_boot=10.0.0.7\n"), "appended: %s",
	    out + strlen(out) - 80);
	T_CHECK(str_starts_with(out, jvm_4x), "existing text kept");
	got = cassconf_jvm_get_replace(out);
	T_EQ_STR(got, "10.0.0.7");
	free(got);

	/* Idempotent. */
	out2 = cassconf_jvm_set_replace(out, "10.0.0.7", err, sizeof(err));
	T_CHECK(out2 && strcmp(out2, out) == 0, "second pass changed the text");
	free(out2);

	/* Another address rewrites the line in place. */
	out2 = cassconf_jvm_set_replace(out, "10.0.0.8", err, sizeof(err));
	T_CHECK(out2 && count_diff_lines(out, out2) == 1, "one line changed");
	got = out2 ? cassconf_jvm_get_replace(out2) : NULL;
	T_EQ_STR(got, "10.0.0.8");
	free(got);
	free(out2);

	/* NULL removes it, leaving the original text. */
	cleared = cassconf_jvm_set_replace(out, NULL, err, sizeof(err));
	T_CHECK(cleared && strcmp(cleared, jvm_4x) == 0, "removal restores the file");
	free(cleared);
	free(out);

	/* Duplicates collapse to one; commented ones stay; CRLF kept; no final newline. */
	const char *messy = "-Xss256k\r\n#-Dcassandra.replace_address_first_boot=1.1.1.1\r\n"
	    "  -Dcassandra.replace_address_first_boot=2.2.2.2\r\n-ea\r\n"
	    "-Dcassandra.replace_address_first_boot=3.3.3.3";
	out = cassconf_jvm_set_replace(messy, "4.4.4.4", err, sizeof(err));
	T_EQ_STR(out, "-Xss256k\r\n#-Dcassandra.replace_address_first_boot=1.1.1.1\r\n"
	    "  -Dcassandra.replace_address_first_boot=4.4.4.4\r\n-ea\r\n");
	free(out);

	/* jvm.options of 3.11 without a final newline. */
	out = cassconf_jvm_set_replace("-Xss256k\n-XX:+UseG1GC", "[fe80::1]", err, sizeof(err));
	T_EQ_STR(out, "-Xss256k\n-XX:+UseG1GC\n-Dcassandra.replace_address_first_boot=[fe80::1]\n");
	free(out);

	/* An address that would add another JVM option is refused. */
	out = cassconf_jvm_set_replace(jvm_4x, "1.1.1.1 -Xdebug", err, sizeof(err));
	T_CHECK(out == NULL && strstr(err, "is not an address"), "refused: %s", err);
	free(out);
	out = cassconf_jvm_set_replace(jvm_4x, "1.1.1.1\n-Xdebug", err, sizeof(err));
	T_CHECK(out == NULL, "newline refused");
	free(out);
}

static void test_files(void)
{
	char dir[] = "/tmp/test_cassconf.XXXXXX";
	char err[256];
	bool changed = true;
	struct stat st1, st2;

	if (mkdtemp(dir) == NULL) {
		T_CHECK(0, "mkdtemp");
		return;
	}
	char *yaml = xasprintf("%s/cassandra.yaml", dir);
	char *link = xasprintf("%s/link.yaml", dir);
	char *jvm = xasprintf("%s/jvm-server.options", dir);
	char *missing = xasprintf("%s/nope.yaml", dir);
	const char *seeds[] = { "127.0.0.2", "127.0.0.3" };

	file_write_atomic(yaml, yaml_41, strlen(yaml_41), 0640);
	file_write_atomic(jvm, jvm_4x, strlen(jvm_4x), 0644);
	T_CHECK(symlink("cassandra.yaml", link) == 0, "symlink");

	/* Through the symlink: the target is edited, the link stays a link. */
	T_EQ_INT(cassconf_set_seeds(link, seeds, 2, &changed, err, sizeof(err)), 0);
	T_CHECK(changed, "first edit writes");
	T_CHECK(lstat(link, &st1) == 0 && S_ISLNK(st1.st_mode), "link kept");
	T_CHECK(stat(yaml, &st1) == 0 && (st1.st_mode & 0777) == 0640,
	    "mode kept: %o", st1.st_mode & 0777);
	char *text = file_read_all(yaml, 1 << 20, NULL);
	char *got = text ? cassconf_yaml_get_seeds(text) : NULL;
	T_EQ_STR(got, "127.0.0.2,127.0.0.3");
	free(got);
	free(text);

	/* Second edit: nothing written (same inode, same mtime). */
	T_EQ_INT(cassconf_set_seeds(yaml, seeds, 2, &changed, err, sizeof(err)), 0);
	T_CHECK(!changed, "second edit is a no-op");
	T_CHECK(stat(yaml, &st2) == 0 && st2.st_ino == st1.st_ino, "file not replaced");

	T_EQ_INT(cassconf_set_replace(jvm, "127.0.0.9", &changed, err, sizeof(err)), 0);
	T_CHECK(changed, "jvm written");
	text = file_read_all(jvm, 1 << 20, NULL);
	got = text ? cassconf_jvm_get_replace(text) : NULL;
	T_EQ_STR(got, "127.0.0.9");
	free(got);
	free(text);

	/* Errors name the file; no temp files left behind. */
	T_EQ_INT(cassconf_set_seeds(missing, seeds, 1, NULL, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "cannot read") && strstr(err, "nope.yaml"), "err: %s", err);
	file_write_atomic(missing, "seed_provider: [x]\n", 19, 0644);
	T_EQ_INT(cassconf_set_seeds(missing, seeds, 1, NULL, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "nope.yaml: seed_provider is written in YAML flow style"),
	    "err: %s", err);

	char *cmd = xasprintf("ls %s | grep -c tmp", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	T_EQ_INT(n, 0);
	free(cmd);

	cmd = xasprintf("rm -rf %s", dir);
	T_CHECK(system(cmd) == 0, "cleanup");
	free(cmd);
	free(yaml);
	free(link);
	free(jvm);
	free(missing);
}

/* The guard's preview: says what would change and writes nothing. */
static void test_seeds_preview(void)
{
	char dir[] = "/tmp/test_cassconf_pv.XXXXXX";
	char err[256], *cur = NULL, *want = NULL, *before, *after;
	bool change = false;
	struct stat st1, st2;
	const char *seeds[] = { "127.0.0.2" };
	const char *same[] = { "127.0.0.9" };

	if (mkdtemp(dir) == NULL) {
		T_CHECK(0, "mkdtemp");
		return;
	}
	char *yaml = xasprintf("%s/cassandra.yaml", dir);
	char *none = xasprintf("%s/noseeds.yaml", dir);
	char *missing = xasprintf("%s/nope.yaml", dir);
	const char *text = "cluster_name: 'c'\n# keep me\nseed_provider:\n"
	    "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
	    "    parameters:\n      - seeds: \"127.0.0.9\"\r\n";

	file_write_atomic(yaml, text, strlen(text), 0600);
	file_write_atomic(none, "cluster_name: 'c'\n", 18, 0644);
	T_CHECK(stat(yaml, &st1) == 0, "stat");
	before = file_read_all(yaml, 1 << 20, NULL);

	T_EQ_INT(cassconf_seeds_preview(yaml, seeds, 1, &change, &cur, &want,
	    err, sizeof(err)), 0);
	T_CHECK(change, "a different seed would change the file");
	T_EQ_STR(cur, "127.0.0.9");
	T_EQ_STR(want, "127.0.0.2");
	free(cur);
	free(want);
	after = file_read_all(yaml, 1 << 20, NULL);
	T_CHECK(before && after && strcmp(before, after) == 0, "file unchanged");
	T_CHECK(stat(yaml, &st2) == 0 && st2.st_ino == st1.st_ino &&
	    st2.st_mtim.tv_nsec == st1.st_mtim.tv_nsec, "not rewritten");
	free(after);

	T_EQ_INT(cassconf_seeds_preview(yaml, same, 1, &change, &cur, &want,
	    err, sizeof(err)), 0);
	T_CHECK(!change, "the same seed changes nothing");
	free(cur);
	free(want);

	/* No seed_provider: the block would be appended; nothing is now. */
	T_EQ_INT(cassconf_seeds_preview(none, seeds, 1, &change, &cur, &want,
	    err, sizeof(err)), 0);
	T_CHECK(change && cur == NULL, "would append");
	T_EQ_STR(want, "127.0.0.2");
	free(cur);
	free(want);
	after = file_read_all(none, 1 << 20, NULL);
	T_EQ_STR(after, "cluster_name: 'c'\n");
	free(after);

	T_EQ_INT(cassconf_seeds_preview(missing, seeds, 1, &change, &cur, &want,
	    err, sizeof(err)), -1);
	T_CHECK(strstr(err, "nope.yaml") != NULL && cur == NULL && want == NULL,
	    "err: %s", err);

	char *cmd = xasprintf("rm -rf %s", dir);
	T_CHECK(system(cmd) == 0, "cleanup");
	free(cmd);
	free(before);
	free(yaml);
	free(none);
	free(missing);
}

int main(void)
{
	char *s = replace_once("a", "x", "y");
	free(s);
	test_yaml_shapes();
	test_yaml_refusals();
	test_yaml_append();
	test_jvm();
	test_files();
	test_seeds_preview();
	return t_done("test_cassconf");
}
