/*
 * test_rolling.c - the pure parts of rolling operations: the order nodes
 * are rolled in, the rack-safety rule of per_rack, the upgrade's major
 * version rule (orchestrator/tasks/rolling.h); what a config change may
 * set (common/cassopt.h) and how the agent edits the files
 * (agent/cassconf.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "t.h"
#include "../../agent/cassconf.h"
#include "../../common/cassopt.h"
#include "../../common/util.h"
#include "../../orchestrator/store/store.h"
#include "../../orchestrator/tasks/rolling.h"

struct n {
	const char *addr, *dc, *rack;
	bool seed;
};

static void mk(struct store_nodes *v, const struct n *ns, size_t k)
{
	v->items = calloc(k, sizeof(*v->items));
	v->n = k;
	for (size_t i = 0; i < k; i++) {
		v->items[i].address = (char *)(uintptr_t)ns[i].addr;
		v->items[i].dc = (char *)(uintptr_t)ns[i].dc;
		v->items[i].rack = (char *)(uintptr_t)ns[i].rack;
		v->items[i].is_seed = ns[i].seed;
	}
}

/* "a b c" of the order. */
static void order_str(const struct store_nodes *v, const size_t *o, size_t n,
    char *out, size_t len)
{
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(out);
		snprintf(out + l, len - l, "%s%s", i ? " " : "",
		    v->items[o[i]].address);
	}
}

static void test_order(void)
{
	static const struct n ns[] = {
		{ "10.0.0.5", "dc1", "r2", false },
		{ "10.0.0.1", "dc1", "r1", true },
		{ "10.0.0.2", "dc1", "r1", false },
		{ "10.0.0.4", "dc1", "r2", true },
		{ "10.0.0.3", "dc1", "r1", false },
		{ "10.0.1.1", "dc2", "r1", false },
	};
	struct store_nodes v;
	size_t o[6], n;
	char s[256], err[256];
	json_t *l;

	mk(&v, ns, 6);
	T_EQ_INT(rolling_order(&v, NULL, o, &n, err, sizeof(err)), 0);
	order_str(&v, o, n, s, sizeof(s));
	/* rack by rack, seeds last (in rack order) */
	T_EQ_STR(s, "10.0.0.2 10.0.0.3 10.0.0.5 10.0.1.1 10.0.0.1 10.0.0.4");

	l = json_pack("[s,s]", "10.0.0.4", "10.0.0.2");
	T_EQ_INT(rolling_order(&v, l, o, &n, err, sizeof(err)), 0);
	order_str(&v, o, n, s, sizeof(s));
	T_EQ_STR(s, "10.0.0.4 10.0.0.2");
	json_decref(l);

	l = json_pack("[s,s]", "10.0.0.4", "10.9.9.9");
	T_EQ_INT(rolling_order(&v, l, o, &n, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "'10.9.9.9' is not a node") != NULL, "%s", err);
	json_decref(l);

	l = json_pack("[s,s]", "10.0.0.4", "10.0.0.4");
	T_EQ_INT(rolling_order(&v, l, o, &n, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "twice") != NULL, "%s", err);
	json_decref(l);
	free(v.items);
}

static void test_rack_safe(void)
{
	static const struct n three_racks[] = {
		{ "a", "dc1", "r1", false }, { "b", "dc1", "r2", false },
		{ "c", "dc1", "r3", false }, { "d", "dc2", "r1", false },
	};
	static const struct {
		const char *ks;
		bool want;
		const char *why;
	} cases[] = {
		{ "[{\"name\":\"shop\",\"replication_class\":"
		  "\"NetworkTopologyStrategy\",\"options\":{\"dc1\":\"3\"}}]", true,
		  NULL },
		{ "[{\"name\":\"shop\",\"replication_class\":"
		  "\"org.apache.cassandra.locator.NetworkTopologyStrategy\","
		  "\"options\":{\"dc1\":3,\"dc2\":1}}]", true, NULL },
		{ "[{\"name\":\"system\",\"replication_class\":\"LocalStrategy\","
		  "\"options\":{}},{\"name\":\"shop\",\"replication_class\":"
		  "\"NetworkTopologyStrategy\",\"options\":{\"dc1\":\"2\"}}]", true,
		  NULL },
		{ "[{\"name\":\"shop\",\"replication_class\":"
		  "\"NetworkTopologyStrategy\",\"options\":{\"dc1\":\"3\","
		  "\"dc2\":\"2\"}}]", false,
		  "keyspace 'shop' has RF 2 in datacenter 'dc2', which has 1 rack" },
		{ "[{\"name\":\"k\",\"replication_class\":\"SimpleStrategy\","
		  "\"options\":{\"replication_factor\":\"1\"}}]", false,
		  "keyspace 'k' uses SimpleStrategy" },
		{ "[{\"name\":\"x\",\"replication_class\":"
		  "\"NetworkTopologyStrategy\",\"options\":{\"dc1\":\"three\"}}]",
		  false, "not a number" },
		{ "[{\"replication_class\":\"SimpleStrategy\"}]", false,
		  "no name" },
		{ "{}", false, "not an array" },
		{ "[{\"name\":\"e\",\"replication_class\":"
		  "\"NetworkTopologyStrategy\",\"options\":{}}]", false,
		  "names no datacenter" },
	};
	struct store_nodes v;
	char why[512];

	mk(&v, three_racks, 4);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *k = json_loads(cases[i].ks, 0, NULL);
		bool got = rolling_rack_safe(k, &v, why, sizeof(why));
		T_CHECK(got == cases[i].want, "case %zu: %s", i, why);
		if (!cases[i].want)
			T_CHECK(strstr(why, cases[i].why) != NULL, "case %zu: '%s'",
			    i, why);
		json_decref(k);
	}
	free(v.items);
}

static void test_upgrade_ok(void)
{
	static const struct {
		const char *from, *to;
		bool want;
		const char *why;
	} cases[] = {
		{ "4.1.1", "4.1.3", true, NULL },
		{ "4.0.11", "4.1.3", true, NULL },
		{ "3.11.14", "4.1.3", true, NULL },
		{ "4.1.3", "5.0.2", true, NULL },
		{ "3.11.14", "5.0.2", false, "skips a major version" },
		{ "4.1.3", "3.11.14", false, "downgrade" },
		{ NULL, "4.1.3", true, NULL },
		{ "garbage", "4.1.3", true, NULL },
		{ "4.1.1", "x4", false, "not a Cassandra version" },
		{ "5.0-beta1", "5.0.2", true, NULL },
	};
	char why[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = rolling_upgrade_ok(cases[i].from, cases[i].to, why,
		    sizeof(why));
		T_CHECK(got == cases[i].want, "%s -> %s: %s", cases[i].from ?
		    cases[i].from : "(none)", cases[i].to, why);
		if (!cases[i].want)
			T_CHECK(strstr(why, cases[i].why) != NULL, "'%s'", why);
	}
}

static void test_cassopt(void)
{
	static const struct {
		const char *key, *value;
		int want;
	} yk[] = {
		{ "concurrent_reads", "64", 0 },
		{ "concurrent_reads", "ten", -1 },
		{ "hinted_handoff_enabled", "false", 0 },
		{ "hinted_handoff_enabled", "no", -1 },
		{ "compaction_throughput", "64MiB/s", 0 },
		{ "compaction_throughput", "MiB", -1 },
		{ "phi_convict_threshold", "12.5", 0 },
		{ "num_tokens", "16", -1 },
		{ "cluster_name", "x", -1 },
		{ "concurrent_reads", "1\nseeds: x", -1 },
	};
	static const struct {
		const char *opt;
		int want;
	} jo[] = {
		{ "-Xmx8G", 0 }, { "-Xms8G", 0 }, { "-Xmx", -1 },
		{ "-XX:+UseG1GC", 0 }, { "-XX:MaxGCPauseMillis=300", 0 },
		{ "-XX:+UseG1GC=1", -1 }, { "-Dfoo.bar=1", 0 }, { "-D=1", -1 },
		{ "-Dcassandra.replace_address_first_boot=1.2.3.4", -1 },
		{ "-Xmx8G -Dx=1", -1 }, { "--help", -1 }, { "-Dx=$(id)", -1 },
	};
	char err[512];

	for (size_t i = 0; i < sizeof(yk) / sizeof(yk[0]); i++)
		T_CHECK(cassopt_yaml_key_check(yk[i].key, yk[i].value, err,
		    sizeof(err)) == yk[i].want, "%s=%s: %s", yk[i].key,
		    yk[i].value, err);
	for (size_t i = 0; i < sizeof(jo) / sizeof(jo[0]); i++)
		T_CHECK(cassopt_jvm_option_check(jo[i].opt, err, sizeof(err)) ==
		    jo[i].want, "%s: %s", jo[i].opt, err);
}

static void test_text_edits(void)
{
	char err[256], *t;

	t = cassconf_yaml_set_key("a: 1\nconcurrent_reads: 32 # c\nb: 2\n",
	    "concurrent_reads", "64", err, sizeof(err));
	T_EQ_STR(t, "a: 1\nconcurrent_reads: 64\nb: 2\n");
	free(t);
	t = cassconf_yaml_set_key("a: 1\n# concurrent_reads: 32\n",
	    "concurrent_reads", "64", err, sizeof(err));
	T_EQ_STR(t, "a: 1\n# concurrent_reads: 32\nconcurrent_reads: 64\n");
	free(t);
	t = cassconf_yaml_set_key("a: 1", "concurrent_reads", "64", err,
	    sizeof(err));
	T_EQ_STR(t, "a: 1\nconcurrent_reads: 64\n");
	free(t);
	/* a key that is a prefix of another is not it */
	t = cassconf_yaml_set_key("concurrent_reads_x: 1\n", "concurrent_reads",
	    "2", err, sizeof(err));
	T_EQ_STR(t, "concurrent_reads_x: 1\nconcurrent_reads: 2\n");
	free(t);
	t = cassconf_yaml_set_key("key_cache_size:\n  - x\n", "key_cache_size",
	    "1MiB", err, sizeof(err));
	T_CHECK(t == NULL && strstr(err, "block") != NULL, "%s", err);
	free(t);
	t = cassconf_yaml_set_key("key_cache_size: {a: 1}\n", "key_cache_size",
	    "1MiB", err, sizeof(err));
	T_CHECK(t == NULL && strstr(err, "flow style") != NULL, "%s", err);
	free(t);

	t = cassconf_jvm_set_option("-Xms4G\n-Xmx4G\n#-Xmx1G\n-Xmx2G\n",
	    "-Xmx8G", err, sizeof(err));
	T_EQ_STR(t, "-Xms4G\n-Xmx8G\n#-Xmx1G\n# -Xmx2G (overridden by ringmaster "
	    "config-change)\n");
	free(t);
	t = cassconf_jvm_set_option("-XX:+UseG1GC\n", "-XX:-UseG1GC", err,
	    sizeof(err));
	T_EQ_STR(t, "-XX:-UseG1GC\n");
	free(t);
	t = cassconf_jvm_set_option("-Dfoo=1\n", "-Dfoo.bar=2", err, sizeof(err));
	T_EQ_STR(t, "-Dfoo=1\n-Dfoo.bar=2\n");
	free(t);
}

/* cassconf_apply() on files: a bad item changes nothing; a good one
 * keeps a backup. */
static void test_apply(void)
{
	char dir[] = "/tmp/test_rolling.XXXXXX", y[256], j[256], err[512];
	const char *good[] = { "concurrent_reads=64" };
	const char *bad[] = { "concurrent_reads=64", "num_tokens=8" };
	const char *opts[] = { "-Xmx8G" };
	struct cassconf_applied a;
	char *txt;
	size_t len;

	T_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(y, sizeof(y), "%s/cassandra.yaml", dir);
	snprintf(j, sizeof(j), "%s/jvm-server.options", dir);
	T_EQ_INT(file_write_atomic(y, "concurrent_reads: 32\n", 21, 0640), 0);
	T_EQ_INT(file_write_atomic(j, "-Xmx4G\n", 7, 0640), 0);

	T_EQ_INT(cassconf_apply(y, bad, 2, j, opts, 1, &a, err, sizeof(err)),
	    -1);
	T_CHECK(strstr(err, "num_tokens") && strstr(err, "nothing was changed"),
	    "%s", err);
	txt = file_read_all(y, 1 << 20, &len);
	T_EQ_STR(txt, "concurrent_reads: 32\n");
	free(txt);
	txt = file_read_all(j, 1 << 20, &len);
	T_EQ_STR(txt, "-Xmx4G\n");
	free(txt);

	T_EQ_INT(cassconf_apply(y, good, 1, j, opts, 1, &a, err, sizeof(err)), 0);
	T_CHECK(a.yaml_changed && a.jvm_changed, "changed");
	txt = file_read_all(y, 1 << 20, &len);
	T_EQ_STR(txt, "concurrent_reads: 64\n");
	free(txt);
	txt = file_read_all(a.yaml_backup, 1 << 20, &len);
	T_EQ_STR(txt, "concurrent_reads: 32\n");
	free(txt);
	txt = file_read_all(a.jvm_backup, 1 << 20, &len);
	T_EQ_STR(txt, "-Xmx4G\n");
	free(txt);
	unlink(a.yaml_backup);
	unlink(a.jvm_backup);

	/* again: nothing to change, no backup */
	T_EQ_INT(cassconf_apply(y, good, 1, j, opts, 1, &a, err, sizeof(err)), 0);
	T_CHECK(!a.yaml_changed && !a.jvm_changed && a.yaml_backup[0] == '\0',
	    "idempotent");
	unlink(y);
	unlink(j);
	rmdir(dir);
}

int main(void)
{
	test_order();
	test_rack_safe();
	test_upgrade_ok();
	test_cassopt();
	test_text_edits();
	test_apply();
	return t_done("test_rolling");
}
