/*
 * cassopt.h - what a rolling config change may set in Cassandra's
 * configuration, checked the same way by the orchestrator (at submission,
 * so a bad request is refused before any node is touched) and by the
 * agent (before it edits a file, agent/cassconf.h).  Pure: no I/O.
 *
 * cassandra.yaml: only the keys of a fixed table, each with its kind of
 * value: int (digits), bool (true/false), number (decimal), quantity
 * (digits then a unit: "64MiB/s", "200ms", "10s", "1GiB").  Keys that must
 * never change on a running cluster (cluster_name, num_tokens,
 * partitioner, directories, seeds, addresses) are not in it.
 *
 * JVM options: -Xmx/-Xms/-Xmn/-Xss<size>, -XX:+Name, -XX:-Name,
 * -XX:Name=value, -Dname=value (not cassandra.replace_address*, which the
 * replace task owns), of letters, digits and . _ : + = / - only.
 */
#ifndef RM_CASSOPT_H
#define RM_CASSOPT_H

#include <stddef.h>

/* 0, or -1 with why ("unknown or unchangeable cassandra.yaml key 'x'",
 * "key 'concurrent_reads' takes an integer, not 'ten'"). */
int cassopt_yaml_key_check(const char *key, const char *value, char *err,
    size_t errlen);
/* 0, or -1 with why. */
int cassopt_jvm_option_check(const char *opt, char *err, size_t errlen);
/*
 * The part of opt that names what it sets: "-Xmx" (4 bytes), the Name of
 * -XX:[+-]Name[=v], "-Dname=" (with the '='); its length, with *id set to
 * where it starts; 0 when opt is not one of those forms.
 */
size_t cassopt_jvm_ident(const char *opt, const char **id);

#endif
