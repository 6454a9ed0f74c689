/*
 * repair.c - see repair.h.  The op runs nodetool once (-pr) or once per
 * sub-range of its segment, streaming each line as progress; the ring is
 * read from the node itself at run time, so a segment is always cut along
 * the ranges the node owns now.  The orchestrator persists which segment
 * a step is (I/N), so a re-run after a crash repairs the same ranges as
 * long as the ring has not changed in between.
 */
#include "repair.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "agentcfg.h"
#include "autorepair.h"
#include "cass.h"
#include "nodetool.h"
#include "ops.h"
#include "proc.h"
#include "repair_int.h"

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

/*
 * Strict where strtoll is lenient: no spaces, no '+', at most 20 digits,
 * so what the caller wrote is what nodetool gets.
 */
static int token_strict(const char *b, const char *e, int64_t *out)
{
	char buf[24];
	const char *d = b;
	size_t n = (size_t)(e - b);

	if (d < e && *d == '-')
		d++;
	if (d == e || n >= sizeof(buf))
		return -1;
	for (const char *q = d; q < e; q++)
		if (*q < '0' || *q > '9')
			return -1;
	memcpy(buf, b, n);
	buf[n] = '\0';
	return repair_token_parse(buf, out);
}

int repair_range_parse(const char *s, struct repair_range *out, char *err,
    size_t errlen)
{
	const char *colon = s ? strchr(s, ':') : NULL;

	if (colon == NULL) {
		snprintf(err, errlen, "--range '%.60s' is not ST:ET; give two "
		    "Murmur3 tokens as nodetool ring prints them, e.g. "
		    "--range -9223372036854775808:0", s ? s : "");
		return -1;
	}
	if (token_strict(s, colon, &out->start) != 0 ||
	    token_strict(colon + 1, colon + strlen(colon), &out->end) != 0) {
		snprintf(err, errlen, "--range '%.60s': ST and ET must each be a "
		    "Murmur3 token, an integer from -9223372036854775808 to "
		    "9223372036854775807 with no spaces or '+'", s);
		return -1;
	}
	if (out->start == out->end) {
		/* nodetool refuses it ("Start and end tokens must be
		 * different"); the whole ring is what plain repair is for. */
		snprintf(err, errlen, "--range '%.60s' starts and ends at the same "
		    "token; give (ST, ET] with ST != ET", s);
		return -1;
	}
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
	long seg, nseg;			/* 0/0: -pr or --range */
	struct repair_range ranges[REPAIR_MAX_RANGES];	/* --range, in order given */
	size_t nranges;
	long try_no;			/* --try: only makes the job id new */
	const char *dcs[REPAIR_MAX_DCS];	/* --dc: nodetool -dc, each */
	size_t ndcs;
	bool local_dc;			/* --in-local-dc */
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
		{ "range", required_argument, NULL, 'r' },
		{ "try", required_argument, NULL, 'T' },
		{ "dc", required_argument, NULL, 'D' },
		{ "in-local-dc", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	char *end;

	memset(a, 0, sizeof(*a));
	a->full = true;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+k:t:FIs:r:", lo, NULL)) != -1) {
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
		case 'r':
			if (a->nranges == REPAIR_MAX_RANGES) {
				snprintf(err, errlen, "more than %d --range options; "
				    "split the work into several repairs",
				    REPAIR_MAX_RANGES);
				return -1;
			}
			if (repair_range_parse(optarg, &a->ranges[a->nranges], err,
			    errlen) != 0)
				return -1;
			for (size_t i = 0; i < a->nranges; i++) {
				if (a->ranges[i].start == a->ranges[a->nranges].start &&
				    a->ranges[i].end == a->ranges[a->nranges].end) {
					snprintf(err, errlen, "--range '%s' is given twice",
					    optarg);
					return -1;
				}
			}
			a->nranges++;
			break;
		case 'T':
			/* The orchestrator runs a segment again in the same
			 * step attempt: a job id is a hash of the arguments,
			 * so the try number is what makes the new job. */
			errno = 0;
			a->try_no = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    a->try_no < 1 || a->try_no > 1000000) {
				snprintf(err, errlen, "--try '%.40s' is not a number "
				    "from 1 to 1000000", optarg);
				return -1;
			}
			break;
		case 'D':
			/* a dc name as nodetool ring prints it ("datacenter1",
			 * "eu-west"): one word, no shell syntax */
			if (a->ndcs == REPAIR_MAX_DCS || !name_valid(optarg)) {
				snprintf(err, errlen, "--dc '%.60s' is not a datacenter "
				    "name (letters, digits, '_' and '-'; at most %d)",
				    optarg, REPAIR_MAX_DCS);
				return -1;
			}
			a->dcs[a->ndcs++] = optarg;
			break;
		case 'L':
			a->local_dc = true;
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
	if (a->nranges > 0 && a->nseg > 0) {
		snprintf(err, errlen, "--range and --segment exclude each other: "
		    "--segment cuts this node's own ranges, --range names them");
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

static void add_unique(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return;
	json_array_append_new(arr, json_string(s));
}

/*
 * Run one nodetool repair; st/et NULL for -pr.  OPEXIT_* with the
 * failure in err.
 */
static int run_repair(struct opctx *x, const struct rpargs *a,
    const char *st, const char *et, struct repair_tally *t, char *err, size_t errlen)
{
	const struct agentcfg *c = op_conf(x);
	const char *argv[16 + MAX_TABLES + 2 * REPAIR_MAX_DCS];
	struct proc_opts po = *op_proc_opts(x);	/* no deadline: repairs take what they take */
	struct proc_result r;
	struct nodetool_repair *rep = NULL;
	char why[512], perr[256];
	size_t n = 0;
	char *all = NULL;
	int status = OPEXIT_FAILED;

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
	for (size_t i = 0; i < a->ndcs; i++) {
		argv[n++] = "-dc";
		argv[n++] = a->dcs[i];
	}
	if (a->local_dc)
		argv[n++] = "--in-local-dc";
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
		return OPEXIT_UNREACHABLE;
	}
	if (r.cancelled || op_cancelled(x)) {
		if (a->full)
			repair_admin_terminate_full(x, t, err, errlen);
		else
			repair_admin_cancel_new(x, t, err, errlen);
		status = OPEXIT_CANCELLED;
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
			status = OPEXIT_UNREACHABLE;
		} else if (r.status != 0) {
			char *m = nodetool_error_message(all, NULL);
			proc_describe(&r, 0, why, sizeof(why));
			snprintf(err, errlen, "nodetool repair %s: %s", why,
			    m ? m : perr);
			status = m != NULL && strstr(m, "does not exist") != NULL ?
			    OPEXIT_USAGE : OPEXIT_FAILED;
			free(m);
		} else {
			snprintf(err, errlen, "nodetool repair: %s", perr);
			status = OPEXIT_UNPARSEABLE;
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
		status = strstr(m, "does not exist") != NULL ? OPEXIT_USAGE :
		    OPEXIT_FAILED;
		goto out;
	}
	status = OPEXIT_OK;
out:
	nodetool_repair_free(rep);
	free(all);
	proc_result_release(&r);
	return status;
}

/* This node's segment: 0 with *ranges set (maybe empty), or OPEXIT_*. */
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
		return OPEXIT_CONFIG;
	}
	rc = cass_nodetool(c, args, op_proc_opts(x), &out, err, errlen);
	if (rc != CASS_OK) {
		free(out);
		return rc == CASS_UNREACHABLE ? OPEXIT_UNREACHABLE :
		    rc == CASS_CANCELLED ? OPEXIT_CANCELLED : OPEXIT_FAILED;
	}
	if (nodetool_parse_ring(out, strlen(out), &ring, err, errlen) != 0) {
		free(out);
		return OPEXIT_UNPARSEABLE;
	}
	free(out);
	if (repair_ring_primary(ring, c->address, &prim, &nprim, err, errlen) != 0) {
		nodetool_ring_free(ring);
		return OPEXIT_FAILED;
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
	return OPEXIT_OK;
}

int repair_op(struct opctx *x, int argc, char **argv)
{
	struct rpargs a;
	const struct agentcfg *c = op_conf(x);
	struct repair_range *ranges = NULL;
	size_t nranges = 0, nsegs = 0, done = 0;
	struct repair_tally t;
	char err[1024];
	int status;
	int64_t t0 = time_mono_ms();
	json_t *d, *jr;

	memset(&t, 0, sizeof(t));
	t.last_pct = -1;
	t.sessions_exact = true;
	if (parse_args(argc, argv, &a, err, sizeof(err)) != 0)
		return op_result(x, OPEXIT_USAGE, NULL, "%s", err);
	t.repaired = json_array();
	t.not_needed = json_array();
	t.ir_cancelled = json_array();
	if (!a.full) {
		/* What runs already is not ours to cancel. */
		t.ir_before = repair_admin_pending(x, err, sizeof(err));
		if (t.ir_before == NULL && !op_cancelled(x))
			op_progress(x, NULL, "cannot list incremental repair sessions "
			    "(%s): a cancel will kill nodetool only", err);
	}
	jr = json_array();
	d = json_pack("{s:s?, s:b}", "keyspace", a.keyspace, "full", a.full);
	if (a.nseg > 0 || a.nranges > 0) {
		if (a.nseg > 0) {
			status = segment_ranges(x, &a, &ranges, &nranges, &nsegs, err,
			    sizeof(err));
			if (status != OPEXIT_OK)
				goto fail;
			json_object_set_new(d, "segment", json_integer(a.seg));
			json_object_set_new(d, "segments", json_integer(a.nseg));
			if (nranges == 0)
				op_progress(x, NULL, "segment %ld/%ld is empty: the node's "
				    "ranges hold only %zu pieces", a.seg, a.nseg, nsegs);
		} else {
			/* As given: the caller cut them along the ring, and a
			 * wrapping (ST > ET) range goes to nodetool whole, as
			 * Cassandra takes it (docs/repair.md). */
			nranges = a.nranges;
			ranges = xcalloc(nranges, sizeof(*ranges));
			memcpy(ranges, a.ranges, nranges * sizeof(*ranges));
		}
		for (size_t i = 0; i < nranges; i++) {
			char s[24], e[24];
			snprintf(s, sizeof(s), "%lld", (long long)ranges[i].start);
			snprintf(e, sizeof(e), "%lld", (long long)ranges[i].end);
			json_array_append_new(jr, json_pack("{s:s, s:s}",
			    "start", s, "end", e));
		}
		for (size_t i = 0; i < nranges; i++) {
			char s[24], e[24], *rt = range_text(ranges[i]);
			snprintf(s, sizeof(s), "%lld", (long long)ranges[i].start);
			snprintf(e, sizeof(e), "%lld", (long long)ranges[i].end);
			if (a.nseg > 0)
				op_progress(x, NULL, "segment %ld/%ld: range %zu/%zu %s",
				    a.seg, a.nseg, i + 1, nranges, rt);
			else
				op_progress(x, NULL, "range %zu/%zu %s", i + 1, nranges,
				    rt);
			free(rt);
			status = run_repair(x, &a, s, e, &t, err, sizeof(err));
			if (status != OPEXIT_OK)
				goto fail;
			done++;
		}
	} else {
		op_progress(x, NULL, "repairing the primary ranges of %s (%s, %s)",
		    c->address ? c->address : "this node", a.keyspace ?
		    a.keyspace : "all keyspaces", a.full ? "full" : "incremental");
		status = run_repair(x, &a, NULL, NULL, &t, err, sizeof(err));
		if (status != OPEXIT_OK)
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
	return op_result(x, OPEXIT_OK, d, NULL);
fail:
	if (json_array_size(jr) > 0) {
		/* a re-run can start at the first range not done */
		json_object_set_new(d, "ranges", jr);
		json_object_set_new(d, "ranges_done", json_integer((json_int_t)done));
	} else {
		json_decref(jr);
	}
	json_decref(t.repaired);
	json_decref(t.not_needed);
	json_decref(t.ir_before);
	if (status == OPEXIT_CANCELLED && !a.full)
		json_object_set_new(d, "cancelled_sessions", t.ir_cancelled);
	else
		json_decref(t.ir_cancelled);
	if (status == OPEXIT_CANCELLED && a.full)
		json_object_set_new(d, "sessions_terminated",
		    json_boolean(t.terminated));
	free(ranges);
	return op_result(x, status, d, "%s", err);
}

/*
 * `ringagent repair-ring`: what the orchestrator's repair scheduler plans
 * with, read in one job: `nodetool ring` (every dc's tokens with their
 * endpoints and racks) and `nodetool describecluster`'s keyspaces with
 * their replication.  Nothing is changed on the node.
 */
int repair_op_ring(struct opctx *x, int argc, char **argv)
{
	static const char *const ring_args[] = { "ring", NULL };
	static const char *const dc_args[] = { "describecluster", NULL };
	const struct agentcfg *c = op_conf(x);
	struct nodetool_ring *ring = NULL;
	struct nodetool_describecluster *dc = NULL;
	struct autorepair ar;
	char err[1024], *out = NULL;
	enum cass_rc rc;
	json_t *d, *j;

	(void)argv;
	if (argc > 1)
		return op_result(x, OPEXIT_USAGE, NULL, "repair-ring takes no "
		    "arguments, got '%s'", argv[1]);
	rc = cass_nodetool(c, ring_args, op_proc_opts(x), &out, err,
	    sizeof(err));
	if (rc == CASS_OK && nodetool_parse_ring(out, strlen(out), &ring, err,
	    sizeof(err)) != 0)
		rc = CASS_UNPARSEABLE;
	free(out);
	out = NULL;
	if (rc != CASS_OK)
		return op_result(x, op_exit_status(rc), NULL, "cannot read the "
		    "ring: %s", err);
	rc = cass_nodetool(c, dc_args, op_proc_opts(x), &out, err, sizeof(err));
	if (rc == CASS_OK && nodetool_parse_describecluster(out, strlen(out),
	    &dc, err, sizeof(err)) != 0)
		rc = CASS_UNPARSEABLE;
	free(out);
	if (rc != CASS_OK) {
		nodetool_ring_free(ring);
		return op_result(x, op_exit_status(rc), NULL, "cannot read the "
		    "keyspaces: %s", err);
	}
	if (!dc->has_stats) {
		nodetool_ring_free(ring);
		nodetool_describecluster_free(dc);
		return op_result(x, OPEXIT_FAILED, NULL, "nodetool describecluster "
		    "lists no keyspaces on this version (3.x): the replication of "
		    "each keyspace, which parallel repair needs, cannot be read; "
		    "repair with parallelism 1");
	}
	d = nodetool_ring_json(ring);
	j = nodetool_describecluster_json(dc);
	json_object_set(d, "keyspaces", json_object_get(j, "keyspaces"));
	json_decref(j);
	/* Whether this node repairs by itself (CEP-37): the orchestrator
	 * refuses to repair the same ranges twice. */
	err[0] = '\0';
	if (autorepair_probe(c, op_proc_opts(x), &ar, err, sizeof(err)) != 0) {
		nodetool_ring_free(ring);
		nodetool_describecluster_free(dc);
		json_decref(d);
		return op_result(x, OPEXIT_CANCELLED, NULL, "%s", err);
	}
	json_object_set_new(d, "auto_repair", autorepair_json(&ar, err));
	nodetool_ring_free(ring);
	nodetool_describecluster_free(dc);
	return op_result(x, OPEXIT_OK, d, NULL);
}
