/*
 * repair_ring.c - see repair_ring.h: what the scheduled repair step
 * (repair_par.c) reads from `ringagent repair-ring`'s answer, and how it
 * cuts a ring range into pieces.  No I/O, no clock.
 */
#include "repair_ring.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "segsched.h"

/* uint64 -> int64 modulo 2^64 without implementation-defined casts. */
static int64_t u2i(uint64_t u)
{
	if (u <= (uint64_t)INT64_MAX)
		return (int64_t)u;
	return -(int64_t)(UINT64_MAX - u) - 1;
}

void repair_ring_piece(int64_t start, int64_t end, uint64_t k, uint64_t i,
    int64_t *pstart, int64_t *pend)
{
	struct segsched_range r = { start, end };
	uint64_t w = segsched_range_width(r), base = w / k, rem = w % k;
	uint64_t a = base * i + (i < rem ? i : rem);
	uint64_t b = base * (i + 1) + (i + 1 < rem ? i + 1 : rem);

	*pstart = u2i((uint64_t)start + a);
	*pend = i + 1 == k ? end : u2i((uint64_t)start + b);
}

/* "127.0.0.1:7000" -> "127.0.0.1"; an IPv6 address (several colons) is
 * kept, bracketed ones lose their brackets and port. */
static void strip_port(const char *in, char *out, size_t len)
{
	const char *c1 = strchr(in, ':');

	if (in[0] == '[') {
		const char *rb = strchr(in, ']');
		size_t n = rb ? (size_t)(rb - in - 1) : strlen(in + 1);
		if (n >= len)
			n = len - 1;
		memcpy(out, in + 1, n);
		out[n] = '\0';
		return;
	}
	if (c1 != NULL && strchr(c1 + 1, ':') == NULL) {
		size_t n = (size_t)(c1 - in);
		if (n >= len)
			n = len - 1;
		memcpy(out, in, n);
		out[n] = '\0';
		return;
	}
	str_copy(out, in, len);
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

struct replicas_map *repair_ring_map(const json_t *data, const char *ks,
    char *err, size_t errlen)
{
	const json_t *dcs = json_object_get(data, "datacenters"), *d, *e, *k;
	const json_t *ksl = json_object_get(data, "keyspaces"), *rep = NULL;
	struct replicas_token *ring = NULL;
	struct replicas_dc_rf *rfs = NULL;
	struct replicas_repl repl;
	struct replicas_map *map = NULL;
	char (*addrs)[80] = NULL;
	size_t n = 0, cap = 0, i, j, nrf = 0;
	const char *cls, *key;
	json_t *v;

	memset(&repl, 0, sizeof(repl));
	json_array_foreach(ksl, i, k)
		if (jstr(k, "name") != NULL && strcmp(jstr(k, "name"), ks) == 0)
			rep = k;
	if (rep == NULL || (cls = jstr(rep, "replication_class")) == NULL) {
		snprintf(err, errlen, "keyspace '%s' is not in nodetool "
		    "describecluster's list: check its name", ks);
		return NULL;
	}
	json_array_foreach(dcs, i, d)
		cap += json_array_size(json_object_get(d, "entries"));
	if (cap == 0) {
		snprintf(err, errlen, "nodetool ring lists no tokens: is the "
		    "cluster up?");
		return NULL;
	}
	ring = xcalloc(cap, sizeof(*ring));
	addrs = xcalloc(cap, sizeof(*addrs));
	json_array_foreach(dcs, i, d) {
		json_array_foreach(json_object_get(d, "entries"), j, e) {
			const char *st = jstr(e, "state"), *tok = jstr(e, "token");
			char *endp;
			long long t;

			/* pending nodes own nothing yet */
			if (st != NULL && strcmp(st, "Joining") == 0)
				continue;
			if (tok == NULL || jstr(e, "address") == NULL ||
			    jstr(d, "name") == NULL) {
				snprintf(err, errlen, "nodetool ring: an entry without "
				    "address, token or dc");
				goto out;
			}
			errno = 0;
			t = strtoll(tok, &endp, 10);
			if (errno != 0 || *endp != '\0' || endp == tok) {
				snprintf(err, errlen, "nodetool ring: token '%.40s' is not "
				    "a Murmur3 token: only Murmur3Partitioner is "
				    "supported", tok);
				goto out;
			}
			strip_port(jstr(e, "address"), addrs[n], sizeof(addrs[n]));
			ring[n].token = (int64_t)t;
			ring[n].endpoint = addrs[n];
			ring[n].dc = jstr(d, "name");
			ring[n].rack = jstr(e, "rack") ? jstr(e, "rack") : "rack1";
			n++;
		}
	}
	if (strstr(cls, "NetworkTopologyStrategy") != NULL) {
		repl.strategy = REPLICAS_NTS;
		rfs = xcalloc(json_object_size(json_object_get(rep, "options")) + 1,
		    sizeof(*rfs));
		json_object_foreach((json_t *)json_object_get(rep, "options"), key,
		    v) {
			const char *s = json_string_value(v), *dcn = key;
			/* describecluster splits "a=1, b=2" at the comma;
			 * key itself must stay as it is: the loop follows it */
			while (*dcn == ' ')
				dcn++;
			if (strcmp(dcn, "class") == 0 ||
			    strcmp(dcn, "replication_factor") == 0 || s == NULL)
				continue;
			rfs[nrf].dc = dcn;
			rfs[nrf].rf = atoi(s);
			nrf++;
		}
		repl.dcs = rfs;
		repl.ndcs = nrf;
	} else if (strstr(cls, "SimpleStrategy") != NULL) {
		const char *s = NULL;
		json_object_foreach((json_t *)json_object_get(rep, "options"), key,
		    v) {
			const char *kn = key;
			while (*kn == ' ')
				kn++;
			if (strcmp(kn, "replication_factor") == 0)
				s = json_string_value(v);
		}
		repl.strategy = REPLICAS_SIMPLE;
		repl.rf = s ? atoi(s) : 1;
	} else {
		snprintf(err, errlen, "keyspace '%s' uses %s: parallel repair "
		    "knows SimpleStrategy and NetworkTopologyStrategy only; repair "
		    "it with parallelism 1", ks, cls);
		goto out;
	}
	map = replicas_compute(ring, n, &repl, err, errlen);
out:
	free(rfs);
	free(ring);
	free(addrs);
	return map;
}

int repair_ring_keyspaces(const json_t *data, char ***out, size_t *n,
    char *err, size_t errlen)
{
	const json_t *ksl = json_object_get(data, "keyspaces"), *k;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!json_is_array(ksl)) {
		snprintf(err, errlen, "repair-ring's data has no keyspaces: is the "
		    "agent older than the orchestrator? update it");
		return -1;
	}
	*out = xcalloc(json_array_size(ksl) + 1, sizeof(**out));
	json_array_foreach(ksl, i, k) {
		const char *name = jstr(k, "name");
		const char *cls = jstr(k, "replication_class");

		if (name == NULL || cls == NULL) {
			snprintf(err, errlen, "repair-ring's data: keyspace %zu has no "
			    "name or replication class", i + 1);
			goto fail;
		}
		/* Cassandra's nodetool repair without a keyspace: its
		 * non-LocalStrategy keyspaces, and of those not
		 * system_distributed (4.x repairs it only when named) */
		if (strstr(cls, "LocalStrategy") != NULL ||
		    strcmp(name, "system_distributed") == 0)
			continue;
		(*out)[(*n)++] = xstrdup(name);
	}
	return 0;
fail:
	for (size_t j = 0; j < *n; j++)
		free((*out)[j]);
	free(*out);
	*out = NULL;
	*n = 0;
	return -1;
}
