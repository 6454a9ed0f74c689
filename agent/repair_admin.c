/*
 * repair_admin.c - see repair.h and repair_int.h: 4.x incremental repair
 * sessions as `nodetool repair_admin` shows them, and the cancel of the
 * sessions a cancelled `ringagent repair` started.  Kept apart from
 * repair.c, which runs the repairs, so each file holds one role.
 */
#include "repair_int.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "agentcfg.h"
#include "cass.h"
#include "ops.h"
#include "proc.h"
#include "repair.h"

/* ---- incremental sessions (repair_admin) ---- */

static bool uuid_text(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* The trimmed field [b, e) copied into dst. */
static void field_copy(char *dst, size_t len, const char *b, const char *e)
{
	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	size_t n = (size_t)(e - b) < len - 1 ? (size_t)(e - b) : len - 1;
	memcpy(dst, b, n);
	dst[n] = '\0';
}

int repair_admin_parse(const char *text, struct repair_admin_session **out,
    size_t *n, char *err, size_t errlen)
{
	struct repair_admin_session *v = NULL;
	size_t nv = 0, lineno = 0;
	const char *p = text;

	*out = NULL;
	*n = 0;
	while (p != NULL && *p) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		const char *f[7];
		size_t nf = 0;
		char line[512], first[64], state[64];

		lineno++;
		field_copy(line, sizeof(line), p, end);
		p = nl ? nl + 1 : NULL;
		if (line[0] == '\0' || strcmp(line, "no sessions") == 0)
			continue;
		/* fields: the starts of the text between the '|'s */
		f[nf++] = line;
		for (char *q = line; *q && nf < 7; q++)
			if (*q == '|')
				f[nf++] = q + 1;
		if (nf < 4) {
			snprintf(err, errlen, "line %zu: not a repair_admin row: '%.80s'",
			    lineno, line);
			goto bad;
		}
		field_copy(first, sizeof(first), f[0], f[1] - 1);
		field_copy(state, sizeof(state), f[1], f[2] - 1);
		if (strcmp(first, "id") == 0 && strcmp(state, "state") == 0)
			continue;	/* the header */
		if (!uuid_text(first)) {
			snprintf(err, errlen, "line %zu: '%.40s' is not a session id",
			    lineno, first);
			goto bad;
		}
		if (state[0] == '\0' || strspn(state, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") !=
		    strlen(state) || strlen(state) >= sizeof(v->state)) {
			snprintf(err, errlen, "line %zu: '%.40s' is not a session state",
			    lineno, state);
			goto bad;
		}
		v = xrealloc(v, (nv + 1) * sizeof(*v));
		memset(&v[nv], 0, sizeof(v[nv]));
		str_copy(v[nv].id, first, sizeof(v[nv].id));
		str_copy(v[nv].state, state, sizeof(v[nv].state));
		field_copy(v[nv].coordinator, sizeof(v[nv].coordinator), f[3],
		    nf > 4 ? f[4] - 1 : f[3] + strlen(f[3]));
		nv++;
	}
	*out = v;
	*n = nv;
	return 0;
bad:
	free(v);
	return -1;
}

/*
 * The ids of the incremental sessions this node lists now, or NULL with
 * err.  Its own options: the op's would cancel it at once after a cancel.
 */
json_t *repair_admin_pending(struct opctx *x, char *err, size_t errlen)
{
	static const char *const args[] = { "repair_admin", "list", NULL };
	const struct agentcfg *c = op_conf(x);
	struct repair_admin_session *s;
	struct proc_opts po;
	char *out = NULL, perr[256];
	size_t n;
	json_t *ids;

	proc_opts_init(&po, c->nodetool_timeout_ms);
	if (cass_nodetool(c, args, &po, &out, err, errlen) != CASS_OK)
		return NULL;
	if (repair_admin_parse(out, &s, &n, perr, sizeof(perr)) != 0) {
		snprintf(err, errlen, "nodetool repair_admin list: %s", perr);
		free(out);
		return NULL;
	}
	free(out);
	ids = json_array();
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i].state, "FINALIZED") != 0 &&
		    strcmp(s[i].state, "FAILED") != 0)
			json_array_append_new(ids, json_string(s[i].id));
	free(s);
	return ids;
}

static bool in_ids(json_t *ids, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(ids, i, v)
		if (strcmp(json_string_value(v), id) == 0)
			return true;
	return false;
}

/*
 * After a cancel of an incremental repair: fail the sessions that appeared
 * since t->ir_before.  Cassandra refuses (without --force, which we never
 * give) sessions another node coordinates, so only ours are failed.  What
 * happened goes into msg.
 */
void repair_admin_cancel_new(struct opctx *x, struct repair_tally *t, char *msg,
    size_t len)
{
	const struct agentcfg *c = op_conf(x);
	char err[512];
	json_t *now, *v;
	size_t i, failed = 0;

	if (t->ir_before == NULL) {
		snprintf(msg, len, "nodetool repair cancelled; its incremental "
		    "sessions could not be listed before it started, so any it "
		    "started in Cassandra still run (nodetool repair_admin list "
		    "shows them)");
		return;
	}
	if ((now = repair_admin_pending(x, err, sizeof(err))) == NULL) {
		snprintf(msg, len, "nodetool repair cancelled; its incremental "
		    "sessions may still run in Cassandra: %s", err);
		return;
	}
	json_array_foreach(now, i, v) {
		const char *id = json_string_value(v);
		const char *args[] = { "repair_admin", "cancel", "--session", id, NULL };
		struct proc_opts po;
		char *out = NULL;

		if (in_ids(t->ir_before, id))
			continue;
		proc_opts_init(&po, c->nodetool_timeout_ms);
		if (cass_nodetool(c, args, &po, &out, err, sizeof(err)) == CASS_OK) {
			json_array_append_new(t->ir_cancelled, json_string(id));
			op_progress(x, NULL, "cancelled incremental repair session %s "
			    "(nodetool repair_admin cancel)", id);
		} else {
			failed++;
			op_progress(x, NULL, "incremental repair session %s was not "
			    "cancelled: %s", id, err);
		}
		free(out);
	}
	json_decref(now);
	snprintf(msg, len, "nodetool repair cancelled; %zu incremental repair "
	    "session(s) it started failed in Cassandra with repair_admin cancel%s",
	    json_array_size(t->ir_cancelled), failed ? ", others refused "
	    "(progress lines say why)" : "");
}

/* ---- full repair sessions (forceTerminateAllRepairSessions) ---- */

#define SS_BEAN	"org.apache.cassandra.db:type=StorageService"

bool repair_sjk_invoked(const char *out, const char *errout)
{
	const char *p;
	bool bean = false;

	if ((errout != NULL && strstr(errout, "Exception") != NULL) ||
	    out == NULL || strstr(out, "Exception") != NULL)
		return false;
	/* the bean's name, then the operation's result: "null" for void */
	for (p = out; *p; ) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n == strlen(SS_BEAN) && strncmp(p, SS_BEAN, n) == 0)
			bean = true;
		else if (bean && n == 4 && strncmp(p, "null", 4) == 0)
			return true;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return false;
}

void repair_admin_terminate_full(struct opctx *x, struct repair_tally *t,
    char *msg, size_t len)
{
	const struct agentcfg *c = op_conf(x);
	const char *argv[] = { c->nodetool, "sjk", "mx", "-b", SS_BEAN, "-mc",
		"-op", "forceTerminateAllRepairSessions", NULL };
	struct proc_opts po;
	struct proc_result r;
	char why[512];

	/* Its own options: the op's would cancel it at once. */
	proc_opts_init(&po, c->nodetool_timeout_ms);
	memset(&r, 0, sizeof(r));
	t->terminated = false;
	if (proc_run(argv, &po, &r, why, sizeof(why)) != 0) {
		snprintf(msg, len, "nodetool repair cancelled; the full repair "
		    "sessions it started may still run in Cassandra: nodetool sjk: "
		    "%s", why);
		return;
	}
	if (r.status == 0 && !r.timed_out && repair_sjk_invoked(r.out, r.err)) {
		t->terminated = true;
		op_progress(x, NULL, "terminated this node's repair sessions in "
		    "Cassandra (StorageService.forceTerminateAllRepairSessions "
		    "through nodetool sjk)");
		snprintf(msg, len, "nodetool repair cancelled; the full repair "
		    "sessions this node coordinated were terminated in Cassandra "
		    "(forceTerminateAllRepairSessions)");
	} else {
		char first[300];
		const char *src = r.err && *r.err ? r.err : r.out ? r.out : "";
		const char *nl;

		proc_describe(&r, c->nodetool_timeout_ms, why, sizeof(why));
		nl = strchr(src, '\n');
		snprintf(first, sizeof(first), "%.*s", (int)(nl ? nl - src :
		    (long)strlen(src)), src);
		snprintf(msg, len, "nodetool repair cancelled; the full repair "
		    "sessions it started may still run in Cassandra: nodetool sjk "
		    "mx -op forceTerminateAllRepairSessions %s: %s", why,
		    first[0] ? first : "the operation's result was not printed");
	}
	proc_result_release(&r);
}
