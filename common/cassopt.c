/*
 * cassopt.c - see cassopt.h.
 */
#include "cassopt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum vkind { V_INT, V_BOOL, V_NUM, V_QTY };

/* The keys a config change may set (cassandra.yaml 3.11-5.0 names; 4.1
 * accepts both the old names and the new ones with units). */
static const struct {
	const char *key;
	enum vkind kind;
} yaml_keys[] = {
	{ "auto_snapshot", V_BOOL },
	{ "batch_size_fail_threshold", V_QTY },
	{ "batch_size_fail_threshold_in_kb", V_INT },
	{ "batch_size_warn_threshold", V_QTY },
	{ "batch_size_warn_threshold_in_kb", V_INT },
	{ "column_index_size", V_QTY },
	{ "column_index_size_in_kb", V_INT },
	{ "compaction_throughput", V_QTY },
	{ "compaction_throughput_mb_per_sec", V_INT },
	{ "concurrent_compactors", V_INT },
	{ "concurrent_counter_writes", V_INT },
	{ "concurrent_materialized_view_writes", V_INT },
	{ "concurrent_reads", V_INT },
	{ "concurrent_writes", V_INT },
	{ "counter_write_request_timeout", V_QTY },
	{ "counter_write_request_timeout_in_ms", V_INT },
	{ "cross_node_timeout", V_BOOL },
	{ "dynamic_snitch_badness_threshold", V_NUM },
	{ "gc_log_threshold", V_QTY },
	{ "gc_warn_threshold", V_QTY },
	{ "hinted_handoff_enabled", V_BOOL },
	{ "incremental_backups", V_BOOL },
	{ "key_cache_size", V_QTY },
	{ "max_hint_window", V_QTY },
	{ "max_hint_window_in_ms", V_INT },
	{ "memtable_heap_space", V_QTY },
	{ "memtable_offheap_space", V_QTY },
	{ "native_transport_max_threads", V_INT },
	{ "phi_convict_threshold", V_NUM },
	{ "range_request_timeout", V_QTY },
	{ "range_request_timeout_in_ms", V_INT },
	{ "read_request_timeout", V_QTY },
	{ "read_request_timeout_in_ms", V_INT },
	{ "request_timeout", V_QTY },
	{ "request_timeout_in_ms", V_INT },
	{ "snapshot_before_compaction", V_BOOL },
	{ "stream_throughput_outbound", V_QTY },
	{ "stream_throughput_outbound_megabits_per_sec", V_INT },
	{ "tombstone_failure_threshold", V_INT },
	{ "tombstone_warn_threshold", V_INT },
	{ "write_request_timeout", V_QTY },
	{ "write_request_timeout_in_ms", V_INT },
};

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool value_ok(enum vkind k, const char *v)
{
	const char *p = v;

	if (strlen(v) > 64)
		return false;
	switch (k) {
	case V_INT:
		return all_digits(v);
	case V_BOOL:
		return strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
	case V_NUM: {
		bool dot = false, dig = false;
		for (; *p; p++) {
			if (*p == '.' && !dot)
				dot = true;
			else if (*p >= '0' && *p <= '9')
				dig = true;
			else
				return false;
		}
		return dig;
	}
	case V_QTY:
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == v)
			return false;
		for (; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    *p == '/'))
				return false;
		return true;
	}
	return false;
}

int cassopt_yaml_key_check(const char *key, const char *value, char *err,
    size_t errlen)
{
	static const char *const kind_name[] = { "an integer", "true or false",
	    "a number", "a quantity with its unit (\"64MiB/s\", \"200ms\")" };

	for (size_t i = 0; i < sizeof(yaml_keys) / sizeof(yaml_keys[0]); i++) {
		if (strcmp(yaml_keys[i].key, key) != 0)
			continue;
		if (value == NULL || !value_ok(yaml_keys[i].kind, value)) {
			snprintf(err, errlen, "key '%s' takes %s, not '%s'", key,
			    kind_name[yaml_keys[i].kind], value ? value : "");
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "unknown or unchangeable cassandra.yaml key '%s': "
	    "a config change takes only the keys listed in docs/agent.md "
	    "(cluster_name, num_tokens, directories, seeds and addresses never "
	    "change this way)", key ? key : "");
	return -1;
}

static bool opt_chars_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("._:+=/-", *s)))
			return false;
	return true;
}

/* The part of opt that names it: "-Xmx", "-XX:Name", "-Dname="; its
 * length in *n, 0 when opt is not a form we take. */
size_t cassopt_jvm_ident(const char *opt, const char **id)
{
	static const char *const sizes[] = { "-Xmx", "-Xms", "-Xmn", "-Xss" };

	*id = opt;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (strncmp(opt, sizes[i], 4) == 0)
			return 4;
	if (strncmp(opt, "-XX:", 4) == 0) {
		const char *name = opt + 4, *e;
		if (*name == '+' || *name == '-')
			name++;
		e = name + strcspn(name, "=");
		*id = name;
		return (size_t)(e - name);
	}
	if (strncmp(opt, "-D", 2) == 0) {
		const char *eq = strchr(opt, '=');
		return eq ? (size_t)(eq - opt + 1) : 0;
	}
	return 0;
}

int cassopt_jvm_option_check(const char *opt, char *err, size_t errlen)
{
	const char *id;
	size_t n;

	if (opt == NULL || *opt == '\0' || strlen(opt) > 200 ||
	    !opt_chars_ok(opt) || (n = cassopt_jvm_ident(opt, &id)) == 0) {
		snprintf(err, errlen, "JVM option '%s' is not one a config change "
		    "takes: -Xmx/-Xms/-Xmn/-Xss<size>, -XX:+Name, -XX:-Name, "
		    "-XX:Name=value or -Dname=value, of letters, digits and "
		    "._:+=/- only", opt ? opt : "");
		return -1;
	}
	if (strncmp(opt, "-X", 2) == 0 && opt[2] != 'X' &&
	    !value_ok(V_QTY, opt + 4)) {
		snprintf(err, errlen, "JVM option '%s' needs a size (\"-Xmx8G\")",
		    opt);
		return -1;
	}
	if (strncmp(opt, "-XX:", 4) == 0 && (opt[4] == '+' || opt[4] == '-') &&
	    strchr(opt, '=') != NULL) {
		snprintf(err, errlen, "JVM option '%s': -XX:+Name takes no value",
		    opt);
		return -1;
	}
	if (strncmp(opt, "-Dcassandra.replace_address", 27) == 0) {
		snprintf(err, errlen, "JVM option '%s' belongs to the replace task, "
		    "not to a config change", opt);
		return -1;
	}
	if (strncmp(opt, "-D", 2) == 0 && n < 4) {
		snprintf(err, errlen, "JVM option '%s' has no property name", opt);
		return -1;
	}
	return 0;
}

