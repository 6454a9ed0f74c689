/*
 * scale.c - see scale.h.
 *
 * A decommission cannot be undone or repeated, so the op asks Cassandra
 * for its mode before acting and after: a job run twice (the orchestrator
 * lost the first one) finds LEAVING or DECOMMISSIONED and waits or
 * reports instead of running nodetool decommission again, which a leaving
 * node refuses anyway.
 */
#include "scale.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/util.h"
#include "agentcfg.h"
#include "cass.h"
#include "nodetool.h"
#include "ops.h"
#include "proc.h"

#define PROGRESS_EVERY_MS	10000
#define LEAVING_POLL_S		2

int scale_parse_netstats_mode(const char *buf, size_t len, char *mode,
    size_t modelen, char *err, size_t errlen)
{
	size_t i = 0;

	while (buf != NULL && i < len) {
		size_t e = i, w = 0;
		while (e < len && buf[e] != '\n')
			e++;
		if (e - i > 6 && memcmp(buf + i, "Mode: ", 6) == 0) {
			size_t k = i + 6;
			while (k < e && (buf[k] == ' ' || buf[k] == '\r'))
				k++;
			while (k + w < e && isupper((unsigned char)buf[k + w]))
				w++;
			/* Only trailing blanks may follow the word. */
			for (size_t t = k + w; t < e; t++)
				if (buf[t] != ' ' && buf[t] != '\r')
					w = 0;
			if (w == 0 || w >= modelen) {
				snprintf(err, errlen, "nodetool netstats: the Mode "
				    "line is not one upper-case word: '%.*s'",
				    (int)(e - i > 80 ? 80 : e - i), buf + i);
				return -1;
			}
			memcpy(mode, buf + k, w);
			mode[w] = '\0';
			return 0;
		}
		i = e + 1;
	}
	snprintf(err, errlen, "nodetool netstats printed no 'Mode: ' line: "
	    "not the output of netstats");
	return -1;
}

bool scale_keyspace_valid(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > 48)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* Cassandra's mode now: CASS_* with mode or err. */
static enum cass_rc netstats_mode(struct opctx *x, char *mode, size_t modelen,
    char *err, size_t errlen)
{
	static const char *const args[] = { "netstats", NULL };
	char *out = NULL;
	enum cass_rc rc;

	rc = cass_nodetool(op_conf(x), args, op_proc_opts(x), &out, err,
	    errlen);
	if (rc != CASS_OK)
		return rc;
	if (scale_parse_netstats_mode(out, strlen(out), mode, modelen, err,
	    errlen) != 0)
		rc = CASS_UNPARSEABLE;
	free(out);
	return rc;
}

/* This node's row in its own nodetool status: 0 with the two letters,
 * or an OPEXIT_* with err. */
static int own_row(struct opctx *x, char *st, char *err, size_t errlen)
{
	const struct agentcfg *c = op_conf(x);
	struct nodetool_status *s = NULL;
	struct nodetool_info *info = NULL;
	enum cass_rc rc;
	int found = 0;

	if ((rc = cass_info(c, op_proc_opts(x), &info, err, errlen)) != CASS_OK)
		return op_exit_status(rc);
	if ((rc = cass_status(c, op_proc_opts(x), &s, err, errlen)) !=
	    CASS_OK) {
		nodetool_info_free(info);
		return op_exit_status(rc);
	}
	for (size_t d = 0; d < s->n_dcs && !found; d++)
		for (size_t i = 0; i < s->dcs[d].n_nodes && !found; i++) {
			const struct nodetool_status_node *n = &s->dcs[d].nodes[i];
			if (info->id == NULL || n->host_id == NULL ||
			    strcmp(info->id, n->host_id) != 0)
				continue;
			st[0] = n->status;
			st[1] = n->state;
			st[2] = '\0';
			found = 1;
		}
	if (!found)
		snprintf(err, errlen, "this node (host id %s) is not in its own "
		    "nodetool status", info->id ? info->id : "unknown");
	nodetool_info_free(info);
	nodetool_status_free(s);
	return found ? OPEXIT_OK : OPEXIT_FAILED;
}

static json_t *dec_result(const char *mode, bool already, int64_t t0)
{
	return json_pack("{s:s,s:b,s:I}", "mode", mode, "already", already,
	    "seconds", (json_int_t)((time_mono_ms() - t0) / 1000));
}

/* A decommission begun earlier: wait until Cassandra says it is done. */
static int wait_leaving(struct opctx *x, int64_t t0)
{
	char mode[32], err[1024];
	enum cass_rc rc;
	int64_t said = 0;

	for (;;) {
		if (op_cancelled(x))
			return op_result(x, OPEXIT_CANCELLED, NULL, "cancelled "
			    "while the node was leaving; the decommission goes "
			    "on");
		if ((rc = netstats_mode(x, mode, sizeof(mode), err,
		    sizeof(err))) != CASS_OK)
			return op_result(x, op_exit_status(rc), NULL, "cannot read "
			    "the mode of a leaving node: %s", err);
		if (strcmp(mode, "DECOMMISSIONED") == 0)
			return op_result(x, OPEXIT_OK, dec_result(mode, true,
			    t0), NULL);
		if (strcmp(mode, "LEAVING") != 0)
			return op_result(x, OPEXIT_FAILED, NULL, "the node was "
			    "leaving and is now in mode %s, not DECOMMISSIONED: "
			    "the decommission failed; see Cassandra's system.log",
			    mode);
		if (time_mono_ms() - said >= PROGRESS_EVERY_MS) {
			said = time_mono_ms();
			op_progress(x, json_pack("{s:s}", "phase", "leaving"),
			    "a decommission begun earlier is under way (mode "
			    "LEAVING): waiting for DECOMMISSIONED");
		}
		sleep(LEAVING_POLL_S);
	}
}

int scale_op_decommission(struct opctx *x, int argc, char **argv)
{
	const struct agentcfg *c = op_conf(x);
	const char *argvv[3] = { NULL, "decommission", NULL };
	char mode[32], st[3] = "", err[1024];
	int64_t t0 = time_mono_ms();
	enum cass_rc rc;
	int status;

	if (argc > 1)
		return op_result(x, OPEXIT_USAGE, NULL, "decommission takes no "
		    "arguments, got '%s'", argv[1]);
	if ((rc = netstats_mode(x, mode, sizeof(mode), err, sizeof(err))) !=
	    CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "cannot read the "
		    "node's mode before decommissioning it: %s", err);
	if (strcmp(mode, "DECOMMISSIONED") == 0)
		return op_result(x, OPEXIT_OK, dec_result(mode, true, t0),
		    NULL);
	if (strcmp(mode, "LEAVING") == 0)
		return wait_leaving(x, t0);
	if (strcmp(mode, "NORMAL") != 0)
		return op_result(x, OPEXIT_FAILED, NULL, "refused: the node is "
		    "in mode %s, not NORMAL: only a normal member leaves the "
		    "ring; wait until it is UN", mode);
	if ((status = own_row(x, st, err, sizeof(err))) != OPEXIT_OK)
		return op_result(x, status, NULL, "cannot find this node in its "
		    "own view before decommissioning it: %s", err);
	if (strcmp(st, "UN") != 0)
		return op_result(x, OPEXIT_FAILED, NULL, "refused: this node is "
		    "%s in its own nodetool status, not UN", st);
	op_progress(x, json_pack("{s:s}", "phase", "leaving"), "nodetool "
	    "decommission: the node goes UL and streams its ranges to the "
	    "others");
	argvv[0] = c->nodetool;
	status = op_run_long(x, argvv, "leaving", "what Cassandra began goes on "
	    "(killing nodetool does not stop it): see nodetool netstats", err,
	    sizeof(err));
	if (status != OPEXIT_OK)
		return op_result(x, status, NULL, "nodetool decommission failed: "
		    "%s", err);
	/* nodetool's exit is not the authority: Cassandra's mode is. */
	if ((rc = netstats_mode(x, mode, sizeof(mode), err, sizeof(err))) !=
	    CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "nodetool "
		    "decommission returned, but the node's mode cannot be read "
		    "to check it: %s", err);
	if (strcmp(mode, "LEAVING") == 0)
		return wait_leaving(x, t0);
	if (strcmp(mode, "DECOMMISSIONED") != 0)
		return op_result(x, OPEXIT_FAILED, NULL, "nodetool "
		    "decommission returned, but the node is in mode %s, not "
		    "DECOMMISSIONED; see Cassandra's system.log", mode);
	return op_result(x, OPEXIT_OK, dec_result(mode, false, t0), NULL);
}

int scale_op_cleanup(struct opctx *x, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "keyspace", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const struct agentcfg *c = op_conf(x);
	json_t *kss = json_array();
	int64_t t0 = time_mono_ms();
	char err[1024];
	size_t i, n;
	int ch, status;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+k:", lo, NULL)) != -1) {
		if (ch != 'k' || !scale_keyspace_valid(optarg)) {
			json_decref(kss);
			return op_result(x, OPEXIT_USAGE, NULL, "cleanup takes "
			    "--keyspace K (1-48 letters, digits or _), got "
			    "'%s'", argv[optind - 1]);
		}
		json_array_append_new(kss, json_string(optarg));
	}
	if (optind < argc) {
		json_decref(kss);
		return op_result(x, OPEXIT_USAGE, NULL, "cleanup: unexpected "
		    "argument '%s'", argv[optind]);
	}
	n = json_array_size(kss);
	for (i = 0; i < (n ? n : 1); i++) {
		const char *ks = n ? json_string_value(json_array_get(kss, i)) :
		    NULL;
		const char *args[4] = { c->nodetool, "cleanup", ks, NULL };
		op_progress(x, json_pack("{s:s,s:s?}", "phase", "cleanup",
		    "keyspace", ks), "nodetool cleanup %s", ks ? ks :
		    "(every keyspace)");
		status = op_run_long(x, args, "cleanup", "a cleanup Cassandra "
		    "began goes on: see nodetool compactionstats", err,
		    sizeof(err));
		if (status != OPEXIT_OK) {
			json_decref(kss);
			return op_result(x, status, NULL, "nodetool cleanup %s "
			    "failed: %s", ks ? ks : "", err);
		}
	}
	return op_result(x, OPEXIT_OK, json_pack("{s:o,s:I}", "keyspaces",
	    kss, "seconds", (json_int_t)((time_mono_ms() - t0) / 1000)), NULL);
}
