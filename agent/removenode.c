/*
 * removenode.c - see removenode.h.
 */
#include "removenode.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "agentcfg.h"
#include "cass.h"
#include "nodetool.h"
#include "ops.h"
#include "proc.h"

bool removenode_host_id_valid(const char *s)
{
	static const int dash[] = { 8, 13, 18, 23 };
	size_t k = 0;

	if (s == NULL || strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		if (k < ARRAY_SIZE(dash) && (int)i == dash[k]) {
			if (s[i] != '-')
				return false;
			k++;
			continue;
		}
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	}
	return true;
}

char removenode_find(const struct nodetool_status *s, const char *host_id,
    const char **address)
{
	if (address != NULL)
		*address = NULL;
	for (size_t d = 0; s != NULL && d < s->n_dcs; d++)
		for (size_t i = 0; i < s->dcs[d].n_nodes; i++) {
			const struct nodetool_status_node *n = &s->dcs[d].nodes[i];
			if (n->host_id == NULL || strcmp(n->host_id, host_id) != 0)
				continue;
			if (address != NULL)
				*address = n->address;
			return n->status ? n->status : '?';
		}
	return 0;
}

static json_t *result(const char *hid, const char *addr, bool removed,
    bool gone)
{
	return json_pack("{s:s, s:s?, s:b, s:b}", "host_id", hid, "address",
	    addr, "removed", removed, "already_gone", gone);
}

int removenode_op(struct opctx *x, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host-id", required_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct agentcfg *c = op_conf(x);
	struct nodetool_status *st = NULL;
	const char *hid = NULL, *a;
	char err[1024], addr[64] = "", s;
	enum cass_rc rc;
	int ch, status;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+h:", lo, NULL)) != -1) {
		if (ch != 'h')
			return op_result(x, OPEXIT_USAGE, NULL, "removenode: unknown "
			    "option '%s': it takes --host-id H", argv[optind - 1]);
		hid = optarg;
	}
	if (optind < argc || !removenode_host_id_valid(hid))
		return op_result(x, OPEXIT_USAGE, NULL, "removenode needs "
		    "--host-id H, a host id as nodetool status prints it");
	if ((rc = cass_status(c, op_proc_opts(x), &st, err, sizeof(err))) !=
	    CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "cannot read the "
		    "ring before removing %s: %s", hid, err);
	s = removenode_find(st, hid, &a);
	if (a != NULL)
		str_copy(addr, a, sizeof(addr));
	nodetool_status_free(st);
	st = NULL;
	if (s == 0)
		return op_result(x, OPEXIT_OK, result(hid, NULL, false, true),
		    NULL);
	if (s == 'U')
		return op_result(x, OPEXIT_FAILED, result(hid, addr, false,
		    false), "refused: host %s (%s) is up in this node's view: a "
		    "live node is never removed (decommission it instead)", hid,
		    addr);
	op_progress(x, NULL, "removing host %s (%s, %c) from the ring with "
	    "nodetool removenode", hid, addr, s);
	{
		/* It streams the dead node's ranges and returns when they
		 * are moved, which takes what it takes. */
		const char *argvr[] = { c->nodetool, "removenode", hid, NULL };

		status = op_run_long(x, argvr, "removenode", "a removal "
		    "Cassandra began goes on: see `nodetool removenode status`",
		    err, sizeof(err));
	}
	if (status != OPEXIT_OK)
		return op_result(x, status, result(hid, addr, false, false),
		    "nodetool removenode %s failed: %s", hid, err);
	/* Never call it done on nodetool's exit alone: the ring must say so. */
	if ((rc = cass_status(c, op_proc_opts(x), &st, err, sizeof(err))) !=
	    CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "nodetool removenode "
		    "%s returned, but the ring cannot be read to check it: %s",
		    hid, err);
	s = removenode_find(st, hid, NULL);
	nodetool_status_free(st);
	if (s != 0) {
		status = op_result(x, OPEXIT_FAILED, result(hid, addr, false,
		    false), "nodetool removenode %s returned, but the host is "
		    "still in the ring (%c): see `nodetool removenode status`",
		    hid, s);
		return status;
	}
	return op_result(x, OPEXIT_OK, result(hid, addr, true, false), NULL);
}
