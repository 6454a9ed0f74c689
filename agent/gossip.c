/*
 * gossip.c - see gossip.h.
 */
#include "gossip.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "agentcfg.h"
#include "cass.h"
#include "nodetool.h"
#include "ops.h"

enum gossip_state gossip_state_of(const struct nodetool_gossipinfo *g,
    const char *address)
{
	const struct nodetool_gossip_endpoint *e =
	    nodetool_gossipinfo_find(g, address);

	if (e == NULL)
		return GOSSIP_ABSENT;
	return e->status != NULL && strcmp(e->status, "LEFT") == 0 ?
	    GOSSIP_LEFT : GOSSIP_LISTED;
}

const char *gossip_state_name(enum gossip_state s)
{
	switch (s) {
	case GOSSIP_ABSENT:
		return "absent";
	case GOSSIP_LEFT:
		return "left";
	case GOSSIP_LISTED:
		break;
	}
	return "listed";
}

/* --address A, an IPv4 or IPv6 address as gossip prints it; NULL with
 * the usage error sent. */
static const char *address_arg(struct opctx *x, const char *op, int argc,
    char **argv, int *status)
{
	static const struct option lo[] = {
		{ "address", required_argument, NULL, 'a' },
		{ "round", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned char buf[16];
	const char *a = NULL;
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+a:r:", lo, NULL)) != -1) {
		/* --round: ignored; each round of checks is a new node job. */
		if (ch == 'r' && strcmp(op, "gossip-check") == 0)
			continue;
		if (ch != 'a') {
			*status = op_result(x, OPEXIT_USAGE, NULL, "%s: unknown "
			    "option '%s': it takes --address A", op,
			    argv[optind - 1]);
			return NULL;
		}
		a = optarg;
	}
	if (optind < argc || a == NULL || (inet_pton(AF_INET, a, buf) != 1 &&
	    inet_pton(AF_INET6, a, buf) != 1)) {
		*status = op_result(x, OPEXIT_USAGE, NULL, "%s needs --address "
		    "A, an IP address as nodetool gossipinfo prints it", op);
		return NULL;
	}
	return a;
}

/* The status letters of address in this node's ring ("DN"), "" when it
 * is not listed.  CASS_OK or the failure with err. */
static enum cass_rc ring_letters(struct opctx *x, const char *address,
    char out[3], char *err, size_t errlen)
{
	struct nodetool_status *st = NULL;
	enum cass_rc rc;

	out[0] = '\0';
	rc = cass_status(op_conf(x), op_proc_opts(x), &st, err, errlen);
	for (size_t d = 0; rc == CASS_OK && d < st->n_dcs; d++)
		for (size_t i = 0; i < st->dcs[d].n_nodes; i++) {
			const struct nodetool_status_node *n = &st->dcs[d].nodes[i];

			if (n->address != NULL && strcmp(n->address, address) == 0) {
				out[0] = n->status;
				out[1] = n->state;
				out[2] = '\0';
			}
		}
	nodetool_status_free(st);
	return rc;
}

/* Read gossip's view of address into *state and *status (a new string or
 * NULL). */
static enum cass_rc read_state(struct opctx *x, const char *address,
    enum gossip_state *state, char **status, char *err, size_t errlen)
{
	struct nodetool_gossipinfo *g = NULL;
	const struct nodetool_gossip_endpoint *e;
	enum cass_rc rc;

	*status = NULL;
	rc = cass_gossipinfo(op_conf(x), op_proc_opts(x), &g, err, errlen);
	if (rc != CASS_OK)
		return rc;
	*state = gossip_state_of(g, address);
	if ((e = nodetool_gossipinfo_find(g, address)) != NULL &&
	    e->status != NULL)
		*status = xstrdup(e->status);
	nodetool_gossipinfo_free(g);
	return CASS_OK;
}

static json_t *result(const char *address, enum gossip_state s,
    const char *status, const char *ring, bool assassinated)
{
	return json_pack("{s:s, s:s, s:s?, s:s?, s:b}", "address", address,
	    "state", gossip_state_name(s), "status", status, "ring",
	    ring != NULL && ring[0] != '\0' ? ring : NULL, "assassinated",
	    assassinated);
}

int gossip_op_check(struct opctx *x, int argc, char **argv)
{
	enum gossip_state s = GOSSIP_LISTED;
	char err[1024], ring[3], *status = NULL;
	const char *a;
	enum cass_rc rc;
	int ret = 0;

	if ((a = address_arg(x, "gossip-check", argc, argv, &ret)) == NULL)
		return ret;
	if ((rc = read_state(x, a, &s, &status, err, sizeof(err))) != CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "cannot read "
		    "gossip for %s: %s", a, err);
	if ((rc = ring_letters(x, a, ring, err, sizeof(err))) != CASS_OK) {
		free(status);
		return op_result(x, op_exit_status(rc), NULL, "cannot read the "
		    "ring for %s: %s", a, err);
	}
	ret = op_result(x, OPEXIT_OK, result(a, s, status, ring, false), NULL);
	free(status);
	return ret;
}

int gossip_op_assassinate(struct opctx *x, int argc, char **argv)
{
	const struct agentcfg *c = op_conf(x);
	enum gossip_state s = GOSSIP_LISTED;
	char err[1024], ring[3], *status = NULL;
	const char *a;
	enum cass_rc rc;
	int ret = 0;

	if ((a = address_arg(x, "assassinate", argc, argv, &ret)) == NULL)
		return ret;
	if (c->address != NULL && strcmp(c->address, a) == 0)
		return op_result(x, OPEXIT_FAILED, NULL, "refused: %s is this "
		    "node's own address: run assassinate on another node", a);
	if ((rc = ring_letters(x, a, ring, err, sizeof(err))) != CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "cannot read the "
		    "ring before assassinating %s: %s", a, err);
	if (ring[0] == 'U')
		return op_result(x, OPEXIT_FAILED, result(a, GOSSIP_LISTED, NULL,
		    ring, false), "refused: %s is up (%s) in this node's view: "
		    "a live node is never assassinated", a, ring);
	if ((rc = read_state(x, a, &s, &status, err, sizeof(err))) != CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "cannot read "
		    "gossip before assassinating %s: %s", a, err);
	/* Only LEFT means the peers were told.  Absent is not enough: the
	 * system.peers_v2 row a replaced address leaves on some peers is in
	 * no nodetool output, and a restarted peer's ghost is in the ring
	 * (DN) whatever gossip says. */
	if (s == GOSSIP_LEFT && ring[0] == '\0') {
		ret = op_result(x, OPEXIT_OK, result(a, s, status, ring, false),
		    NULL);
		free(status);
		return ret;
	}
	free(status);
	status = NULL;
	op_progress(x, NULL, "gossip holds %s (%s%s%s): nodetool assassinate "
	    "%s", a, gossip_state_name(s), ring[0] ? ", ring " : "", ring, a);
	{
		const char *argvr[] = { c->nodetool, "assassinate", a, NULL };

		ret = op_run_long(x, argvr, "assassinate", "Cassandra goes on "
		    "gossiping the address as LEFT", err, sizeof(err));
	}
	if (ret != OPEXIT_OK)
		return op_result(x, ret, NULL, "nodetool assassinate %s failed: "
		    "%s", a, err);
	/* Never call it done on nodetool's exit alone: gossip must say so. */
	if ((rc = read_state(x, a, &s, &status, err, sizeof(err))) != CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "nodetool "
		    "assassinate %s returned, but gossip cannot be read to check "
		    "it: %s", a, err);
	if (s == GOSSIP_LISTED)
		ret = op_result(x, OPEXIT_FAILED, result(a, s, status, NULL,
		    true), "nodetool assassinate %s returned, but gossip still "
		    "holds it as %s: see nodetool gossipinfo", a, status ? status :
		    "(no status)");
	else
		ret = op_result(x, OPEXIT_OK, result(a, s, status, NULL, true),
		    NULL);
	free(status);
	return ret;
}
