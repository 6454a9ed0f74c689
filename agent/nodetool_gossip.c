/*
 * nodetool_gossip.c - the parser for `nodetool gossipinfo`: what one node
 * holds in gossip about every endpoint it knows, including those that
 * left the ring and are kept as "LEFT" until their expiry.
 *
 *   /127.0.100.3
 *     generation:1796579812
 *     heartbeat:9999
 *     STATUS_WITH_PORT:188:LEFT,3833417392588706572,1796838952015
 *     TOKENS: not present
 *
 * Application states are "KEY:version:value" (3.11 and later) or
 * "KEY:value" (older); only the ones the product uses are kept.  The
 * shared machinery is in nodetool.c; the API is nodetool.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "nodetool.h"
#include "nodetool_int.h"

/* "/a.b.c.d", "/a.b.c.d:7000", "/[::1]:7000" or "/0:0:0:0:0:0:0:1" to
 * the address alone; NULL when it is not one. */
static char *endpoint_address(const char *l)
{
	const char *a = l + 1, *end;
	size_t colons = 0;

	if (l[0] != '/' || *a == '\0' || strpbrk(a, " \t/") != NULL)
		return NULL;
	if (*a == '[') {
		if ((end = strchr(a, ']')) == NULL || end == a + 1 ||
		    (end[1] != '\0' && end[1] != ':'))
			return NULL;
		return xstrndup(a + 1, (size_t)(end - a - 1));
	}
	for (const char *p = a; *p != '\0'; p++) {
		if (!isxdigit((unsigned char)*p) && *p != '.' && *p != ':')
			return NULL;
		colons += *p == ':';
	}
	/* One colon is an IPv4 address and its port; more is IPv6. */
	if (colons == 1) {
		end = strchr(a, ':');
		if (end == a || end[1] == '\0' ||
		    strspn(end + 1, "0123456789") != strlen(end + 1))
			return NULL;
		return xstrndup(a, (size_t)(end - a));
	}
	return xstrdup(a);
}

/* "KEY:12:value" or "KEY:value" to key and value (pointers into l); false
 * when l is not an application state line. */
static bool state_line(const char *l, char *key, size_t keylen,
    const char **value)
{
	const char *colon = strchr(l, ':'), *v;
	size_t klen, digits;

	if (colon == NULL || colon == l || (klen = (size_t)(colon - l)) >= keylen)
		return false;
	for (size_t i = 0; i < klen; i++)
		if (!isupper((unsigned char)l[i]) && !isdigit((unsigned char)l[i]) &&
		    l[i] != '_')
			return false;
	memcpy(key, l, klen);
	key[klen] = '\0';
	v = colon + 1;
	digits = strspn(v, "0123456789");
	if (digits > 0 && v[digits] == ':')
		v += digits + 1;
	*value = v;
	return true;
}

static char *first_word(const char *v)
{
	size_t n = strcspn(v, ",");

	return n > 0 ? xstrndup(v, n) : NULL;
}

static int endpoint_line(struct nodetool_ctx *c, size_t i,
    struct nodetool_gossip_endpoint *e, bool *status_with_port)
{
	const char *l = nodetool_skip_blanks(c->lines[i]), *v;
	char key[64];

	if (str_starts_with(l, "generation:") || str_starts_with(l, "heartbeat:")) {
		bool gen = l[0] == 'g';
		const char *num = strchr(l, ':') + 1;

		if (!nodetool_parse_i64(num, gen ? &e->generation : &e->heartbeat))
			return nodetool_fail_line(c, i, "bad %s", gen ? "generation" :
			    "heartbeat");
		return 0;
	}
	if (!state_line(l, key, sizeof(key), &v))
		return nodetool_fail_unexpected(c, i);
	if (strcmp(key, "STATUS_WITH_PORT") == 0 ||
	    (strcmp(key, "STATUS") == 0 && !*status_with_port)) {
		free(e->status);
		if ((e->status = first_word(v)) == NULL)
			return nodetool_fail_line(c, i, "empty status");
		*status_with_port = key[6] == '_';
	} else if (strcmp(key, "HOST_ID") == 0) {
		free(e->host_id);
		e->host_id = nodetool_dup_trim(v);
	}
	return 0;
}

int nodetool_parse_gossipinfo(const char *buf, size_t len,
    struct nodetool_gossipinfo **out, char *err, size_t errlen)
{
	struct nodetool_ctx c;
	struct nodetool_gossipinfo *s;
	struct nodetool_gossip_endpoint *e = NULL;
	bool with_port = false;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || nodetool_ctx_init(&c, "gossipinfo", buf, len, err,
	    errlen) < 0)
		return -1;
	s = xcalloc(1, sizeof(*s));
	for (size_t i = 0; i < c.n && rc == 0; i++) {
		const char *l = c.lines[i];
		char *addr;

		if (nodetool_is_skippable(l))
			continue;
		if (l[0] == '/') {
			if ((addr = endpoint_address(l)) == NULL) {
				rc = nodetool_fail_line(&c, i, "bad endpoint address");
				break;
			}
			e = APPEND(s->endpoints, s->n_endpoints);
			e->address = addr;
			e->generation = e->heartbeat = NODETOOL_UNKNOWN;
			with_port = false;
			continue;
		}
		/* A state belongs to the endpoint above it, indented. */
		if (e == NULL || (l[0] != ' ' && l[0] != '\t'))
			rc = nodetool_fail_unexpected(&c, i);
		else
			rc = endpoint_line(&c, i, e, &with_port);
	}
	if (rc == 0 && s->n_endpoints == 0)
		rc = nodetool_fail_all(&c, "no endpoint in output");
	nodetool_ctx_release(&c);
	if (rc < 0) {
		nodetool_gossipinfo_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void nodetool_gossipinfo_free(struct nodetool_gossipinfo *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_endpoints; i++) {
		free(s->endpoints[i].address);
		free(s->endpoints[i].status);
		free(s->endpoints[i].host_id);
	}
	free(s->endpoints);
	free(s);
}

const struct nodetool_gossip_endpoint *nodetool_gossipinfo_find(
    const struct nodetool_gossipinfo *s, const char *address)
{
	for (size_t i = 0; s != NULL && address != NULL && i < s->n_endpoints; i++)
		if (strcmp(s->endpoints[i].address, address) == 0)
			return &s->endpoints[i];
	return NULL;
}

json_t *nodetool_gossipinfo_json(const struct nodetool_gossipinfo *s)
{
	json_t *o = json_object(), *a = json_array();

	for (size_t i = 0; s != NULL && i < s->n_endpoints; i++) {
		const struct nodetool_gossip_endpoint *e = &s->endpoints[i];
		json_t *j = json_object();

		nodetool_jset(j, "address", nodetool_jstr(e->address));
		nodetool_jset(j, "generation", nodetool_jcount(e->generation));
		nodetool_jset(j, "heartbeat", nodetool_jcount(e->heartbeat));
		nodetool_jset(j, "status", nodetool_jstr(e->status));
		nodetool_jset(j, "host_id", nodetool_jstr(e->host_id));
		json_array_append_new(a, j);
	}
	nodetool_jset(o, "endpoints", a);
	return o;
}
