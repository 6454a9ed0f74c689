/*
 * repair.c - see repair.h.  The op runs nodetool once (-pr) or once per
 * sub-range of its segment, streaming each line as progress; the ring is
 * read from the node itself at run time, so a segment is always cut along
 * the ranges the node owns now.  The orchestrator persists which segment
 * a step is (I/N), so a re-run after a crash repairs the same ranges as
 * long as the ring has not changed in between.
 */
#include "repair.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
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

#define MAX_TABLES 64

/* ---- token arithmetic ---- */

int repair_token_parse(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* uint64 -> int64 modulo 2^64 without implementation-defined casts. */
static int64_t u2i(uint64_t u)
{
	if (u <= (uint64_t)INT64_MAX)
		return (int64_t)u;
	return -(int64_t)(UINT64_MAX - u) - 1;
}

uint64_t repair_range_width(struct repair_range r)
{
	uint64_t w = (uint64_t)r.end - (uint64_t)r.start;

	return w == 0 ? UINT64_MAX : w;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int repair_primary_ranges(const int64_t *ring, size_t nring,
    const int64_t *own, size_t nown, struct repair_range **out, size_t *nout,
    char *err, size_t errlen)
{
	int64_t *t, *o;
	size_t n = 0, no = 0;
	struct repair_range *r;

	*out = NULL;
	*nout = 0;
	if (nring == 0 || nown == 0) {
		snprintf(err, errlen, "the ring has no tokens for this node");
		return -1;
	}
	t = xcalloc(nring, sizeof(*t));
	memcpy(t, ring, nring * sizeof(*t));
	qsort(t, nring, sizeof(*t), cmp_i64);
	for (size_t i = 0; i < nring; i++)
		if (n == 0 || t[n - 1] != t[i])
			t[n++] = t[i];
	o = xcalloc(nown, sizeof(*o));
	memcpy(o, own, nown * sizeof(*o));
	qsort(o, nown, sizeof(*o), cmp_i64);
	r = xcalloc(nown, sizeof(*r));
	for (size_t i = 0; i < nown; i++) {
		int64_t *at;

		if (no > 0 && r[no - 1].end == o[i])
			continue;
		at = bsearch(&o[i], t, n, sizeof(*t), cmp_i64);
		if (at == NULL) {
			snprintf(err, errlen, "token %lld is not in the ring",
			    (long long)o[i]);
			free(t);
			free(o);
			free(r);
			return -1;
		}
		r[no].start = at == t ? t[n - 1] : at[-1];
		r[no].end = o[i];
		no++;
	}
	free(t);
	free(o);
	*out = r;
	*nout = no;
	return 0;
}

/* "127.0.0.1:7000" and "127.0.0.1" name the same node. */
static bool same_address(const char *ring_addr, const char *address)
{
	size_t n = strlen(address);

	if (strncmp(ring_addr, address, n) != 0)
		return false;
	return ring_addr[n] == '\0' || (ring_addr[n] == ':' &&
	    strchr(address, ':') == NULL);
}

int repair_ring_primary(const struct nodetool_ring *ring, const char *address,
    struct repair_range **out, size_t *nout, char *err, size_t errlen)
{
	int64_t *all = NULL, *own = NULL;
	size_t nall = 0, nown = 0, cap = 0;
	int rc = -1;

	*out = NULL;
	*nout = 0;
	for (size_t d = 0; d < ring->n_dcs; d++)
		cap += ring->dcs[d].n_entries;
	all = xcalloc(cap + 1, sizeof(*all));
	own = xcalloc(cap + 1, sizeof(*own));
	for (size_t d = 0; d < ring->n_dcs; d++) {
		for (size_t i = 0; i < ring->dcs[d].n_entries; i++) {
			const struct nodetool_ring_entry *e = &ring->dcs[d].entries[i];
			int64_t tok;

			/* pending nodes own nothing yet */
			if (e->state != NULL && strcmp(e->state, "Joining") == 0)
				continue;
			if (repair_token_parse(e->token, &tok) != 0) {
				snprintf(err, errlen, "token '%s' of %s is not a "
				    "Murmur3Partitioner token: only Murmur3 rings "
				    "can be cut into segments", e->token ?
				    e->token : "", e->address ? e->address : "?");
				goto out;
			}
			all[nall++] = tok;
			if (e->address != NULL && same_address(e->address, address))
				own[nown++] = tok;
		}
	}
	if (nown == 0) {
		snprintf(err, errlen, "nodetool ring shows no tokens for %s "
		    "(the 'address' in the agent config)", address);
		goto out;
	}
	rc = repair_primary_ranges(all, nall, own, nown, out, nout, err, errlen);
out:
	free(all);
	free(own);
	return rc;
}

/* Piece j (0-based) of c equal pieces of r. */
static struct repair_range piece(struct repair_range r, uint64_t c, uint64_t j)
{
	uint64_t w = repair_range_width(r);
	struct repair_range p;

	/* w * j / c without overflow: c <= 1024 */
	p.start = u2i((uint64_t)r.start + (w / c) * j + (w % c) * j / c);
	p.end = j + 1 == c ? r.end :
	    u2i((uint64_t)r.start + (w / c) * (j + 1) + (w % c) * (j + 1) / c);
	return p;
}

size_t repair_split(const struct repair_range *ranges, size_t n, size_t nseg,
    struct repair_segment **out)
{
	struct repair_segment *s;
	size_t ns = 0;

	*out = NULL;
	if (n == 0 || nseg == 0)
		return 0;
	if (nseg <= n) {
		s = xcalloc(nseg, sizeof(*s));
		for (size_t j = 0; j < nseg; j++) {
			size_t a = j * n / nseg, b = (j + 1) * n / nseg;
			s[j].n = b - a;
			s[j].ranges = xcalloc(b - a, sizeof(*s[j].ranges));
			memcpy(s[j].ranges, ranges + a, (b - a) * sizeof(*ranges));
		}
		*out = s;
		return nseg;
	}
	/* More segments than ranges: pieces of ranges, widest first. */
	uint64_t *cnt = xcalloc(n, sizeof(*cnt));
	size_t total = n;
	for (size_t i = 0; i < n; i++)
		cnt[i] = 1;
	while (total < nseg) {
		size_t best = n;
		double bw = 0;
		for (size_t i = 0; i < n; i++) {
			uint64_t w = repair_range_width(ranges[i]);
			double per = (double)w / (double)(cnt[i] + 1);
			if (cnt[i] < w && (best == n || per > bw)) {
				best = i;
				bw = per;
			}
		}
		if (best == n)
			break;		/* every token is a piece already */
		cnt[best]++;
		total++;
	}
	s = xcalloc(total, sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		for (uint64_t j = 0; j < cnt[i]; j++) {
			s[ns].n = 1;
			s[ns].ranges = xcalloc(1, sizeof(*s[ns].ranges));
			s[ns].ranges[0] = piece(ranges[i], cnt[i], j);
			ns++;
		}
	}
	free(cnt);
	*out = s;
	return ns;
}

void repair_segments_free(struct repair_segment *s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(s[i].ranges);
	free(s);
}

/* ---- the operation ---- */

struct rpargs {
	const char *keyspace;
	const char *tables[MAX_TABLES];
	size_t ntables;
	bool full;
	long seg, nseg;			/* 0/0: -pr */
};

static int parse_args(int argc, char **argv, struct rpargs *a, char *err,
    size_t errlen)
{
	static const struct option lo[] = {
		{ "keyspace", required_argument, NULL, 'k' },
		{ "table", required_argument, NULL, 't' },
		{ "full", no_argument, NULL, 'F' },
		{ "incremental", no_argument, NULL, 'I' },
		{ "segment", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	char *end;

	memset(a, 0, sizeof(*a));
	a->full = true;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+k:t:FIs:", lo, NULL)) != -1) {
		switch (ch) {
		case 'k':
			if (!name_valid(optarg)) {
				snprintf(err, errlen, "keyspace '%s' is not a valid name", optarg);
				return -1;
			}
			a->keyspace = optarg;
			break;
		case 't':
			if (a->ntables == MAX_TABLES || !name_valid(optarg)) {
				snprintf(err, errlen, "table '%s' is not a valid name", optarg);
				return -1;
			}
			a->tables[a->ntables++] = optarg;
			break;
		case 'F':
			a->full = true;
			break;
		case 'I':
			a->full = false;
			break;
		case 's':
			errno = 0;
			a->seg = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '/' ||
			    (a->nseg = strtol(end + 1, &end, 10), *end != '\0') ||
			    a->nseg < 1 || a->nseg > REPAIR_MAX_SEGMENTS ||
			    a->seg < 1 || a->seg > a->nseg) {
				snprintf(err, errlen, "--segment wants I/N with "
				    "1 <= I <= N <= %d", REPAIR_MAX_SEGMENTS);
				return -1;
			}
			break;
		default:
			snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (a->ntables > 0 && a->keyspace == NULL) {
		snprintf(err, errlen, "--table needs --keyspace");
		return -1;
	}
	return 0;
}

/* A nodetool line without its "[yyyy-MM-dd HH:mm:ss,SSS] " head. */
static void on_line(void *arg, const char *line)
{
	struct opctx *x = arg;
	const char *p = line;

	if (*p == '[' && (p = strstr(line, "] ")) != NULL)
		p += 2;
	else
		p = line;
	if (*p != '\0' && strncmp(p, "\tat ", 4) != 0)
		op_progress(x, NULL, "%s", p);
}

static char *range_text(struct repair_range r)
{
	return xasprintf("(%lld,%lld]", (long long)r.start, (long long)r.end);
}

/* What a run adds up to. */
struct tally {
	json_t *ir_before;		/* incremental session ids before; NULL: unknown */
	json_t *ir_cancelled;		/* ids failed with repair_admin cancel */
	size_t commands, sessions, failed_sessions;
	bool sessions_exact;		/* false: some were counted as the floor of 1 */
	size_t unnamed;			/* commands whose keyspace nodetool never printed */
	json_t *repaired;		/* keyspaces */
	json_t *not_needed;		/* keyspaces with RF 1 */
	int last_pct;
};

static void add_unique(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return;
	json_array_append_new(arr, json_string(s));
}

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
static json_t *ir_list(struct opctx *x, char *err, size_t errlen)
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
static void ir_cancel_new(struct opctx *x, struct tally *t, char *msg,
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
	if ((now = ir_list(x, err, sizeof(err))) == NULL) {
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

/*
 * Run one nodetool repair; st/et NULL for -pr.  OPS_EXIT_* with the
 * failure in err.
 */
static int run_repair(struct opctx *x, const struct rpargs *a,
    const char *st, const char *et, struct tally *t, char *err, size_t errlen)
{
	const struct agentcfg *c = op_conf(x);
	const char *argv[16 + MAX_TABLES];
	struct proc_opts po = *op_proc_opts(x);	/* no deadline: repairs take what they take */
	struct proc_result r;
	struct nodetool_repair *rep = NULL;
	char why[512], perr[256];
	size_t n = 0;
	char *all = NULL;
	int status = OPS_EXIT_FAILED;

	argv[n++] = c->nodetool;
	argv[n++] = "repair";
	if (a->full)
		argv[n++] = "-full";
	if (st == NULL) {
		argv[n++] = "-pr";
	} else {
		argv[n++] = "-st";
		argv[n++] = st;
		argv[n++] = "-et";
		argv[n++] = et;
	}
	if (a->keyspace != NULL) {
		argv[n++] = "--";
		argv[n++] = a->keyspace;
		for (size_t i = 0; i < a->ntables; i++)
			argv[n++] = a->tables[i];
	}
	argv[n] = NULL;

	po.on_line = on_line;
	po.arg = x;
	if (proc_run(argv, &po, &r, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "nodetool repair: %s; check the 'nodetool' "
		    "key in %s", why, c->path);
		return OPS_EXIT_UNREACHABLE;
	}
	if (r.cancelled || op_cancelled(x)) {
		if (a->full)
			snprintf(err, errlen, "nodetool repair cancelled; the full "
			    "repair sessions it started in Cassandra run to their end: "
			    "nodetool has no command that stops them (docs/repair.md)");
		else
			ir_cancel_new(x, t, err, errlen);
		status = OPS_EXIT_CANCELLED;
		goto out;
	}
	all = xasprintf("%s%s", r.out, r.err);
	if (nodetool_parse_repair(all, strlen(all), &rep, perr, sizeof(perr)) != 0) {
		if (strstr(all, "Failed to connect") != NULL ||
		    strstr(all, "ConnectException") != NULL) {
			char *m = nodetool_error_message(all, NULL);
			snprintf(err, errlen, "nodetool repair: cannot reach "
			    "Cassandra: %s", m ? m : perr);
			free(m);
			status = OPS_EXIT_UNREACHABLE;
		} else if (r.status != 0) {
			char *m = nodetool_error_message(all, NULL);
			proc_describe(&r, 0, why, sizeof(why));
			snprintf(err, errlen, "nodetool repair %s: %s", why,
			    m ? m : perr);
			status = m != NULL && strstr(m, "does not exist") != NULL ?
			    OPS_EXIT_USAGE : OPS_EXIT_FAILED;
			free(m);
		} else {
			snprintf(err, errlen, "nodetool repair: %s", perr);
			status = OPS_EXIT_UNPARSEABLE;
		}
		goto out;
	}
	for (size_t i = 0; i < rep->n_not_needed; i++)
		add_unique(t->not_needed, rep->not_needed[i]);
	for (size_t i = 0; i < rep->n_commands; i++) {
		const struct nodetool_repair_command *cmd = &rep->commands[i];
		bool exact;
		/* Missed notifications can hide the "Starting" line that names
		 * the keyspace: the one asked for is the one repaired. */
		const char *ks = cmd->keyspace ? cmd->keyspace : a->keyspace;

		t->commands++;
		t->sessions += nodetool_repair_command_sessions(cmd, &exact);
		if (!exact)
			t->sessions_exact = false;
		t->failed_sessions += cmd->n_sessions_failed;
		if (cmd->progress_pct >= 0)
			t->last_pct = cmd->progress_pct;
		if (cmd->failed)
			continue;
		if (ks != NULL)
			add_unique(t->repaired, ks);
		else
			t->unnamed++;
	}
	if (rep->result == NODETOOL_REPAIR_FAILED || r.status != 0) {
		const char *m = rep->error;
		for (size_t i = 0; m == NULL && i < rep->n_commands; i++)
			if (rep->commands[i].error != NULL)
				m = rep->commands[i].error;
		if (m == NULL) {
			proc_describe(&r, 0, why, sizeof(why));
			m = why;
		}
		if (st != NULL)
			snprintf(err, errlen, "repair of (%s,%s] failed: %s", st, et, m);
		else
			snprintf(err, errlen, "repair failed: %s", m);
		status = strstr(m, "does not exist") != NULL ? OPS_EXIT_USAGE :
		    OPS_EXIT_FAILED;
		goto out;
	}
	status = OPS_EXIT_OK;
out:
	nodetool_repair_free(rep);
	free(all);
	proc_result_release(&r);
	return status;
}

/* This node's segment: 0 with *ranges set (maybe empty), or OPS_EXIT_*. */
static int segment_ranges(struct opctx *x, const struct rpargs *a,
    struct repair_range **ranges, size_t *n, size_t *nsegs, char *err,
    size_t errlen)
{
	static const char *const args[] = { "ring", NULL };
	const struct agentcfg *c = op_conf(x);
	struct nodetool_ring *ring = NULL;
	struct repair_range *prim = NULL;
	struct repair_segment *segs = NULL;
	size_t nprim = 0, ns;
	char *out = NULL;
	enum cass_rc rc;

	*ranges = NULL;
	*n = 0;
	if (c->address == NULL || *c->address == '\0') {
		snprintf(err, errlen, "the agent config has no 'address': it is "
		    "needed to find this node's tokens in nodetool ring");
		return OPS_EXIT_CONFIG;
	}
	rc = cass_nodetool(c, args, op_proc_opts(x), &out, err, errlen);
	if (rc != CASS_OK) {
		free(out);
		return rc == CASS_UNREACHABLE ? OPS_EXIT_UNREACHABLE :
		    rc == CASS_CANCELLED ? OPS_EXIT_CANCELLED : OPS_EXIT_FAILED;
	}
	if (nodetool_parse_ring(out, strlen(out), &ring, err, errlen) != 0) {
		free(out);
		return OPS_EXIT_UNPARSEABLE;
	}
	free(out);
	if (repair_ring_primary(ring, c->address, &prim, &nprim, err, errlen) != 0) {
		nodetool_ring_free(ring);
		return OPS_EXIT_FAILED;
	}
	nodetool_ring_free(ring);
	ns = repair_split(prim, nprim, (size_t)a->nseg, &segs);
	*nsegs = ns;
	if ((size_t)a->seg <= ns) {
		struct repair_segment *s = &segs[a->seg - 1];
		*ranges = s->ranges;
		*n = s->n;
		s->ranges = NULL;
	}
	repair_segments_free(segs, ns);
	free(prim);
	return OPS_EXIT_OK;
}

int repair_op(struct opctx *x, int argc, char **argv)
{
	struct rpargs a;
	const struct agentcfg *c = op_conf(x);
	struct repair_range *ranges = NULL;
	size_t nranges = 0, nsegs = 0;
	struct tally t;
	char err[1024];
	int status;
	int64_t t0 = time_mono_ms();
	json_t *d, *jr;

	memset(&t, 0, sizeof(t));
	t.last_pct = -1;
	t.sessions_exact = true;
	if (parse_args(argc, argv, &a, err, sizeof(err)) != 0)
		return op_result(x, OPS_EXIT_USAGE, NULL, "%s", err);
	t.repaired = json_array();
	t.not_needed = json_array();
	t.ir_cancelled = json_array();
	if (!a.full) {
		/* What runs already is not ours to cancel. */
		t.ir_before = ir_list(x, err, sizeof(err));
		if (t.ir_before == NULL && !op_cancelled(x))
			op_progress(x, NULL, "cannot list incremental repair sessions "
			    "(%s): a cancel will kill nodetool only", err);
	}
	jr = json_array();
	d = json_pack("{s:s?, s:b}", "keyspace", a.keyspace, "full", a.full);
	if (a.nseg > 0) {
		status = segment_ranges(x, &a, &ranges, &nranges, &nsegs, err,
		    sizeof(err));
		if (status != OPS_EXIT_OK)
			goto fail;
		json_object_set_new(d, "segment", json_integer(a.seg));
		json_object_set_new(d, "segments", json_integer(a.nseg));
		for (size_t i = 0; i < nranges; i++) {
			char s[24], e[24];
			snprintf(s, sizeof(s), "%lld", (long long)ranges[i].start);
			snprintf(e, sizeof(e), "%lld", (long long)ranges[i].end);
			json_array_append_new(jr, json_pack("{s:s, s:s}",
			    "start", s, "end", e));
		}
		if (nranges == 0)
			op_progress(x, NULL, "segment %ld/%ld is empty: the node's ranges hold "
			    "only %zu pieces", a.seg, a.nseg, nsegs);
		for (size_t i = 0; i < nranges; i++) {
			char s[24], e[24], *rt = range_text(ranges[i]);
			snprintf(s, sizeof(s), "%lld", (long long)ranges[i].start);
			snprintf(e, sizeof(e), "%lld", (long long)ranges[i].end);
			op_progress(x, NULL, "segment %ld/%ld: range %zu/%zu %s", a.seg,
			    a.nseg, i + 1, nranges, rt);
			free(rt);
			status = run_repair(x, &a, s, e, &t, err, sizeof(err));
			if (status != OPS_EXIT_OK)
				goto fail;
		}
	} else {
		op_progress(x, NULL, "repairing the primary ranges of %s (%s, %s)",
		    c->address ? c->address : "this node", a.keyspace ?
		    a.keyspace : "all keyspaces", a.full ? "full" : "incremental");
		status = run_repair(x, &a, NULL, NULL, &t, err, sizeof(err));
		if (status != OPS_EXIT_OK)
			goto fail;
	}
	json_object_set_new(d, "ranges", jr);
	json_object_set_new(d, "commands", json_integer((json_int_t)t.commands));
	json_object_set_new(d, "sessions", json_integer((json_int_t)t.sessions));
	json_object_set_new(d, "sessions_exact", json_boolean(t.sessions_exact));
	json_object_set_new(d, "unnamed_commands", json_integer((json_int_t)t.unnamed));
	json_object_set_new(d, "repaired", t.repaired);
	json_object_set_new(d, "not_needed", t.not_needed);
	json_object_set_new(d, "nothing_to_do", json_boolean(t.commands == 0));
	json_object_set_new(d, "elapsed_ms", json_integer(time_mono_ms() - t0));
	free(ranges);
	json_decref(t.ir_before);
	json_decref(t.ir_cancelled);
	return op_result(x, OPS_EXIT_OK, d, NULL);
fail:
	json_decref(jr);
	json_decref(t.repaired);
	json_decref(t.not_needed);
	json_decref(t.ir_before);
	if (status == OPS_EXIT_CANCELLED && !a.full)
		json_object_set_new(d, "cancelled_sessions", t.ir_cancelled);
	else
		json_decref(t.ir_cancelled);
	free(ranges);
	return op_result(x, status, d, "%s", err);
}
