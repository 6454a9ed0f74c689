/*
 * agentd.c - the ringagent daemon.
 *
 * One thread and one loop.  Boot: learn what we can about the node (is
 * Cassandra up? its host id and version; does it hold data?), then check
 * in.  The answer decides what happens to Cassandra: rejoin starts it as
 * it is, bootstrap writes the seeds first, replace adds
 * replace_address_first_boot first.  Until an answer comes, check-in is
 * retried with growing, jittered intervals; a node that holds data does not
 * wait for it - Cassandra must never stay down because the orchestrator
 * is - so after the first failed attempt it is started as a rejoin and the
 * answer, when it comes, only updates what can still be updated.  An empty
 * node waits, since only the orchestrator can tell it how to join.
 *
 * After check-in: a heartbeat every interval.  A heartbeat answered "who
 * are you?" (404/409: the orchestrator lost its state) brings us back to
 * check-in, and so does one refused (401/403: the node credential was
 * revoked).
 *
 * Tokens (docs/security.md): the join token only registers the node; the
 * first check-in's answer brings a node credential, kept 0600 in
 * <state_dir>/node.credential and sent from then on.  A credential that is
 * refused (the node was revoked, evicted, or the orchestrator lost its
 * store) makes the next check-in try the join token, and the one after the
 * credential again, so an admin's readmit or a new store is picked up.  The daemon never stops Cassandra and never restarts it: the
 * service manager owns the process, we only start it on boot.
 *
 * Tenants (docs/tenants.md, "Demand and limits on the node"): a heartbeat
 * answer may bring a new list of the cluster's tenants.  Its limits are
 * written to limits_file and handed to limits_hook right after that
 * answer; while the node has tenants, a heartbeat samples their demand
 * (one `nodetool tablestats`) once per demand interval and carries the
 * rate until an answer takes it.  Both run in this loop: a tablestats takes
 * a second or two, the hook is bounded by LIMITS_HOOK_TIMEOUT_MS, and
 * neither runs more than once per interval.
 *
 * Signals are blocked and taken synchronously with sigtimedwait() while we
 * sleep, so no handler races the loop; a request in flight finishes
 * (bounded by http_timeout) before SIGTERM is seen.
 */
#include "agentd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "../common/http.h"
#include "../common/log.h"
#include "../common/orchlist.h"
#include "../common/util.h"
#include "agentcfg.h"
#include "cass.h"
#include "cassconf.h"
#include "checkin.h"
#include "heartbeat.h"
#include "limits.h"
#include "tenants.h"

struct agentd {
	struct agentcfg *cfg;		/* the orchestrator list changes on SIGHUP */
	struct http_client *http;
	char *host_id;			/* last known, from nodetool or the state file */
	char *version;
	struct cass_seen seen;		/* the release per gossip generation */
	bool cassandra_started;		/* by us, or found running */
	bool has_data;			/* SSTables in the data dirs, at boot */
	bool system_keyspace;		/* data/system/ in the data dirs, at boot */
	bool checked_in;
	bool extended_hb;		/* send the extended heartbeat body */
	unsigned attempt;		/* check-in attempts since the last success */
	int64_t interval_ms;		/* heartbeat interval */
	int64_t next_ms;		/* monotonic time of the next action */
	bool refused_logged;
	bool cred_refused;		/* the last check-in refused the credential */
	int64_t seeds_gen;		/* generation of the seeds last taken */
	/* Starts of Cassandra that failed in a row since ringagent started,
	 * and the last error: told at check-in, so the orchestrator can free
	 * the bootstrap slot of a node that will not start. */
	int start_failures;
	char start_error[256];
	/* Tenants: the list held (NULL before any answer had one), the
	 * baseline of their demand, the last rate not yet taken by an
	 * answer, and their limits on this node. */
	struct tenants *tenants;
	struct tenants_demand demand;
	json_t *demand_pending;
	int64_t demand_interval_ms;	/* the orchestrator's; 0: the config's */
	int64_t next_sample_ms;
	bool demand_failing;		/* this spell of failures is logged */
	struct limits limits;
};

void agentd_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* ---- state file: what we knew last time, for a boot with Cassandra down ---- */

static char *state_path(const struct agentcfg *c)
{
	return xasprintf("%s/state.json", c->state_dir);
}

static void state_load(struct agentd *d)
{
	char *path = state_path(d->cfg), *text;
	json_t *j;

	if ((text = file_read_all(path, 1 << 20, NULL)) == NULL) {
		if (errno != ENOENT)
			log_warn("cannot read state file '%s'", path);
		free(path);
		return;
	}
	if ((j = json_loads(text, 0, NULL)) == NULL) {
		log_warnx("state file '%s' is not JSON; ignoring it", path);
	} else {
		const char *h = json_string_value(json_object_get(j, "host_id"));
		const char *v = json_string_value(json_object_get(j, "cassandra_version"));
		if (h != NULL && d->host_id == NULL)
			d->host_id = xstrdup(h);
		if (v != NULL && d->version == NULL)
			d->version = xstrdup(v);
		json_decref(j);
	}
	free(text);
	free(path);
}

static void state_save(struct agentd *d, const char *role)
{
	char *path = state_path(d->cfg), *text;
	json_t *j = json_pack("{s:s?, s:s?, s:s?, s:I}", "host_id", d->host_id,
	    "cassandra_version", d->version, "role", role,
	    "saved_at", (json_int_t)(time_wall_ms() / 1000));

	text = json_dumps(j, JSON_INDENT(2));
	if (mkdir(d->cfg->state_dir, 0750) != 0 && errno != EEXIST)
		log_warn("cannot create state_dir '%s'", d->cfg->state_dir);
	else if (file_write_atomic(path, text, strlen(text), 0640) != 0)
		log_warn("cannot write state file '%s'", path);
	free(text);
	json_decref(j);
	free(path);
}

static void set_str(char **dst, const char *v)
{
	if (v == NULL || (*dst != NULL && strcmp(*dst, v) == 0))
		return;
	free(*dst);
	*dst = xstrdup(v);
}

/* Ask the node itself; true when Cassandra answered. */
static bool probe(struct agentd *d)
{
	struct nodetool_info *info = NULL;
	struct nodetool_version *ver = NULL;
	char err[512];
	enum cass_rc rc = cass_info(d->cfg, NULL, &info, err, sizeof(err));

	if (rc == CASS_UNREACHABLE) {
		log_debug("%s", err);
		return false;
	}
	if (rc != CASS_OK)
		log_warnx("%s", err);
	if (info != NULL)
		set_str(&d->host_id, info->id);
	nodetool_info_free(info);
	if (cass_version(d->cfg, NULL, &ver, err, sizeof(err)) == CASS_OK)
		set_str(&d->version, ver->release);
	else
		log_warnx("%s", err);
	nodetool_version_free(ver);
	return true;
}

static void start_cassandra(struct agentd *d, const char *why)
{
	char err[1024];

	if (d->cassandra_started)
		return;
	log_info("starting Cassandra (%s): %s", why, d->cfg->cassandra_start);
	if (cass_start(d->cfg, err, sizeof(err)) != 0) {
		log_error("%s; Cassandra is not running, fix the command and "
		    "restart ringagent", err);
		d->start_failures++;
		str_copy(d->start_error, err, sizeof(d->start_error));
		return;
	}
	d->start_failures = 0;
	d->start_error[0] = '\0';
	d->cassandra_started = true;
	log_info("Cassandra start command finished");
}

static void facts(struct agentd *d, struct checkin_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->host_id = d->host_id;
	f->version = d->version;
	f->cassandra_running = d->cassandra_started;
	f->has_data = d->has_data;
	f->system_keyspace = d->system_keyspace;
	f->start_failures = d->start_failures;
	f->start_error = d->start_error[0] ? d->start_error : NULL;
}

/*
 * A bootstrap answer rewrites the seeds, which is only right for a new,
 * stopped node.  A node that runs or has run is a member: its file is left
 * as it is (what would have changed is logged) and, not running but
 * holding data, it starts as a rejoin, since a node with data is never
 * kept down.  Cassandra is asked again first: the service manager may have
 * started it since boot.
 */
static bool bootstrap_allowed(struct agentd *d, const struct checkin_answer *a)
{
	struct checkin_facts f;
	char why[256], err[512], *cur = NULL, *want = NULL;
	bool change = false;

	if (!d->cassandra_started && probe(d))
		d->cassandra_started = true;
	facts(d, &f);
	if (checkin_may_write_seeds(&f, why, sizeof(why)))
		return true;
	if (cassconf_seeds_preview(d->cfg->cassandra_yaml,
	    (const char *const *)a->seeds, a->n_seeds, &change, &cur, &want,
	    err, sizeof(err)) != 0)
		log_warnx("told to bootstrap, but %s: leaving the seeds alone "
		    "(%s)", why, err);
	else if (change)
		log_warnx("told to bootstrap, but %s: not rewriting the seeds in "
		    "'%s' (it says \"%s\"; the answer would make it \"%s\"); "
		    "the file is unchanged", why, d->cfg->cassandra_yaml,
		    cur ? cur : "(none)", want ? want : "");
	else
		log_info("told to bootstrap, but %s: the seeds in '%s' already "
		    "say \"%s\"; nothing written", why, d->cfg->cassandra_yaml,
		    cur ? cur : "");
	free(cur);
	free(want);
	if (!d->cassandra_started)
		start_cassandra(d, "the node has run before: rejoin as it is");
	return false;
}

/* Act on the orchestrator's answer. */
static void follow(struct agentd *d, const struct checkin_answer *a)
{
	char err[1024];
	bool changed;

	switch (a->role) {
	case CHECKIN_REJOIN:
		start_cassandra(d, "rejoin");
		break;
	case CHECKIN_BOOTSTRAP:
		if (!bootstrap_allowed(d, a))
			break;
		if (cassconf_set_seeds(d->cfg->cassandra_yaml,
		    (const char *const *)a->seeds, a->n_seeds, &changed, err,
		    sizeof(err)) != 0) {
			log_error("bootstrap: %s; Cassandra not started", err);
			return;
		}
		log_info("bootstrap: seeds %s in '%s'", changed ? "written" :
		    "already", d->cfg->cassandra_yaml);
		start_cassandra(d, "bootstrap");
		break;
	case CHECKIN_REPLACE:
		if (d->cassandra_started) {
			log_warnx("replace of %s asked for, but Cassandra already "
			    "runs on this node; not touching it (replace only "
			    "works on an empty node's first boot)", a->replace_address);
			return;
		}
		/* An empty node knows no peers: like a bootstrap it needs the
		 * live seeds to find the ring whose node it replaces. */
		if (a->n_seeds > 0 && cassconf_set_seeds(d->cfg->cassandra_yaml,
		    (const char *const *)a->seeds, a->n_seeds, &changed, err,
		    sizeof(err)) != 0) {
			log_error("replace: %s; Cassandra not started", err);
			return;
		}
		if (cassconf_set_replace(d->cfg->jvm_options, a->replace_address,
		    &changed, err, sizeof(err)) != 0) {
			log_error("replace: %s; Cassandra not started", err);
			return;
		}
		log_info("replace: %s%s in '%s'", CASSCONF_REPLACE_OPT,
		    a->replace_address, d->cfg->jvm_options);
		start_cassandra(d, "replace");
		break;
	case CHECKIN_WAIT:
		break;		/* checkin_wait() handles it */
	}
}

/*
 * Told to wait: a new node stays stopped and asks again later (not
 * checked in, so no heartbeats meanwhile).  A node that has run is never
 * kept down by the orchestrator: it starts as a rejoin, as it would if
 * the orchestrator were unreachable.
 */
static void checkin_wait(struct agentd *d, const struct checkin_answer *a,
    bool has_data)
{
	uint32_t rnd;
	int64_t delay = a->retry_after_ms;

	if (has_data && !d->cassandra_started) {
		log_warnx("orchestrator %s says wait (%s), but this node holds "
		    "data: starting Cassandra as a rejoin, as with no answer",
		    orchlist_current(d->cfg->orchs), a->reason ? a->reason :
		    "no reason");
		start_cassandra(d, "the node holds data: rejoin as before");
	}
	/* Up to +10%: nodes told to wait together do not return together. */
	random_bytes(&rnd, sizeof(rnd));
	delay += (int64_t)(rnd % (uint32_t)(delay / 10 + 1));
	log_info("orchestrator %s says wait: %s; Cassandra %s; checking in "
	    "again in %lld ms", orchlist_current(d->cfg->orchs), a->reason ? a->reason :
	    "no reason given", d->cassandra_started ? "runs (not touched)" :
	    "stays stopped", (long long)delay);
	d->attempt = 0;
	d->next_ms = time_mono_ms() + delay;
}

/* One check-in attempt; schedules the next action. */
static void checkin_once(struct agentd *d, bool has_data)
{
	const struct agentcfg *c = d->cfg;
	char err[1024], *token, *hostkey;
	bool with_cred;
	struct checkin_answer a;
	struct checkin_facts f;
	enum checkin_outcome out;
	json_t *body;
	uint32_t rnd;

	hostkey = c->ssh_host_key ? checkin_read_line(c->ssh_host_key,
	    "ssh host key", err, sizeof(err)) : NULL;
	if (c->ssh_host_key && hostkey == NULL)
		log_warnx("%s; checking in without it (the orchestrator then "
		    "needs a known_hosts entry to reach this node)", err);
	err[0] = '\0';
	token = d->cred_refused ? NULL : checkin_cred_load(c, err, sizeof(err));
	if (token == NULL && err[0] != '\0')
		log_warnx("%s", err);
	with_cred = token != NULL;
	if (token == NULL)
		token = checkin_read_line(c->join_token_file, "join token", err,
		    sizeof(err));
	if (token == NULL) {
		out = CHECKIN_REFUSED;
	} else {
		facts(d, &f);
		f.ssh_host_key = hostkey;
		body = checkin_body(c, &f);
		out = checkin_post(d->http, c, token, with_cred, body, &a, err,
		    sizeof(err));
		json_decref(body);
		memset(token, 0, strlen(token));
	}
	free(token);
	free(hostkey);
	/* Refused: the other token next time (see the top of this file). */
	if (out == CHECKIN_REFUSED)
		d->cred_refused = with_cred;
	else if (out == CHECKIN_OK)
		d->cred_refused = false;
	if (out == CHECKIN_OK && a.credential != NULL) {
		char cerr[512];
		if (checkin_cred_save(c, a.credential, cerr, sizeof(cerr)) != 0)
			log_error("%s: this node's next check-in by join token "
			    "will be refused; fix the state_dir, then have an "
			    "admin run 'ringmaster node readmit %s %s'", cerr,
			    c->cluster, c->address);
		else
			log_info("node credential received; kept in '%s/"
			    "node.credential' (the join token is not used "
			    "again)", c->state_dir);
	}

	if (out == CHECKIN_OK && a.role == CHECKIN_WAIT) {
		checkin_wait(d, &a, has_data);
		checkin_answer_release(&a);
		return;
	}
	if (out == CHECKIN_OK) {
		log_info("checked in with %s as %s%s%s (%zu seeds)",
		    orchlist_current(c->orchs),
		    checkin_role_name(a.role), a.replace_address ? " of " : "",
		    a.replace_address ? a.replace_address : "", a.n_seeds);
		if (a.heartbeat_interval_ms > 0)
			d->interval_ms = a.heartbeat_interval_ms;
		follow(d, &a);
		if (a.role != CHECKIN_REJOIN && !d->cassandra_started) {
			/*
			 * A new node whose start failed (on a loaded host a fresh
			 * node can give up on its seeds at once) asks again: it
			 * still holds its cluster's join slot, and the answer
			 * starts it again.  Not checked in meanwhile.
			 */
			uint32_t r;
			int64_t delay;
			random_bytes(&r, sizeof(r));
			delay = checkin_backoff_ms(d->attempt++,
			    c->checkin_retry_max_ms, r);
			log_warnx("Cassandra did not start after the %s answer; "
			    "checking in again in %lld ms (see the start "
			    "command's errors above)", checkin_role_name(a.role),
			    (long long)delay);
			checkin_answer_release(&a);
			d->next_ms = time_mono_ms() + delay;
			return;
		}
		state_save(d, checkin_role_name(a.role));
		checkin_answer_release(&a);
		d->checked_in = true;
		d->attempt = 0;
		d->refused_logged = false;
		d->next_ms = time_mono_ms(); /* first heartbeat now */
		return;
	}
	if (out == CHECKIN_UNREACHABLE)
		log_warnx("%s", err);
	else
		log_error("%s", err);
	if (has_data && !d->cassandra_started)
		start_cassandra(d, "the node holds data and the orchestrator "
		    "did not answer: rejoin as before");
	random_bytes(&rnd, sizeof(rnd));
	int64_t delay = checkin_backoff_ms(d->attempt++, c->checkin_retry_max_ms, rnd);
	log_info("next check-in attempt in %lld ms", (long long)delay);
	d->next_ms = time_mono_ms() + delay;
}

/*
 * Seeds the orchestrator changed (a seed died or left): written into
 * cassandra.yaml for the next start, running or not, since a node reads its
 * seeds only when it starts and a restart later must find live ones.  No
 * restart is forced.  A failure keeps the old generation, so the next
 * heartbeat brings the list again.
 */
static void take_seeds(struct agentd *d, const struct heartbeat_answer *a)
{
	const char *yaml = d->cfg->cassandra_yaml;
	char err[512], *cur = NULL, *want = NULL;
	bool change = false, changed = false;

	if (a->seeds_gen == 0 || a->seeds_gen == d->seeds_gen)
		return;
	if (cassconf_seeds_preview(yaml, (const char *const *)a->seeds,
	    a->n_seeds, &change, &cur, &want, err, sizeof(err)) != 0) {
		log_warnx("seeds from the orchestrator (generation %lld) not "
		    "written: %s; trying again at the next heartbeat",
		    (long long)a->seeds_gen, err);
		goto out;
	}
	if (change && cassconf_set_seeds(yaml, (const char *const *)a->seeds,
	    a->n_seeds, &changed, err, sizeof(err)) != 0) {
		log_error("seeds from the orchestrator (generation %lld) not "
		    "written: %s; trying again at the next heartbeat",
		    (long long)a->seeds_gen, err);
		goto out;
	}
	if (change)
		log_info("seeds in '%s' changed from \"%s\" to \"%s\" "
		    "(generation %lld): Cassandra reads them at its next "
		    "start and is not restarted for it", yaml, cur ? cur :
		    "(none)", want ? want : "", (long long)a->seeds_gen);
	else
		log_info("seeds generation %lld: '%s' already says \"%s\"",
		    (long long)a->seeds_gen, yaml, cur ? cur : "");
	d->seeds_gen = a->seeds_gen;
out:
	free(cur);
	free(want);
}

/*
 * A new tenants generation: its limits are applied at once and the demand
 * starts from a new baseline, since the keyspaces each tenant sums may
 * have changed.
 */
static void take_tenants(struct agentd *d, struct heartbeat_answer *a)
{
	const struct agentcfg *c = d->cfg;
	int64_t held = d->tenants ? d->tenants->gen : 0;

	if (a->demand_interval_ms > 0 &&
	    a->demand_interval_ms != d->demand_interval_ms) {
		log_info("tenant demand sampled every %lld ms from now on (the "
		    "orchestrator's demand_interval_s)",
		    (long long)a->demand_interval_ms);
		d->demand_interval_ms = a->demand_interval_ms;
		if (d->next_sample_ms > time_mono_ms() + a->demand_interval_ms)
			d->next_sample_ms = time_mono_ms() + a->demand_interval_ms;
	}
	if (a->tenants_gen == 0 || a->tenants_gen == held)
		return;
	if (a->tenants == NULL) {
		log_warnx("heartbeat answer names tenants generation %lld but "
		    "carries no list; keeping generation %lld until the list "
		    "comes", (long long)a->tenants_gen, (long long)held);
		return;
	}
	log_info("tenants generation %lld: %zu tenants, %zu served by this "
	    "node (was generation %lld)", (long long)a->tenants_gen,
	    a->tenants->n, tenants_served(a->tenants), (long long)held);
	tenants_free(d->tenants);
	d->tenants = a->tenants;
	a->tenants = NULL;
	/* The baseline is per keyspace, not per tenant: it stays valid
	 * across lists, so a new list (most often a new limit) leaves no gap
	 * in the demand the autoscaler sees.  The first list sets one now. */
	if (!d->demand.have_base)
		d->next_sample_ms = time_mono_ms();
	limits_set(&d->limits, d->tenants, c->cluster, c->address,
	    c->limits_file, c->limits_hook, time_mono_ms());
}

/*
 * Once per demand interval while the node has tenants: one tablestats.
 * The schedule counts from the heartbeat's start (t0), so that with a
 * heartbeat interval dividing the demand interval every sample falls on
 * the heartbeat it was meant for.  A node that cannot be asked keeps its
 * baseline: the next sample's window covers the gap (or a restart shows as
 * counters gone down), and the failure is logged once per spell.
 */
static void sample_demand(struct agentd *d, const json_t *report, int64_t t0)
{
	const struct agentcfg *c = d->cfg;
	int64_t every = d->demand_interval_ms > 0 ? d->demand_interval_ms :
	    c->demand_interval_ms;
	const char *status = json_string_value(json_object_get(report, "status"));
	struct nodetool_tablestats *st = NULL;
	enum cass_rc rc = CASS_UNREACHABLE;
	char err[1024] = "Cassandra is down";
	json_t *s;

	if (d->tenants == NULL || d->tenants->n == 0 || t0 < d->next_sample_ms)
		return;
	d->next_sample_ms = t0 + every;
	if (status != NULL && strcmp(status, "down") != 0)
		rc = cass_tablestats(c, NULL, NULL, 0, &st, err, sizeof(err));
	if (rc != CASS_OK) {
		if (!d->demand_failing)
			log_warnx("tenant demand not sampled: %s; keeping the last "
			    "sample as the baseline and trying every %lld s (not "
			    "logged again until a sample works)", err,
			    (long long)(every / 1000));
		d->demand_failing = true;
		return;
	}
	if (d->demand_failing)
		log_info("tenant demand sampled again");
	d->demand_failing = false;
	s = tenants_demand_sample(&d->demand, d->tenants, st, time_mono_ms());
	nodetool_tablestats_free(st);
	if (s == NULL)
		return;
	/* A newer rate replaces one no answer took: it is what is true now. */
	json_decref(d->demand_pending);
	d->demand_pending = s;
}

static void heartbeat_once(struct agentd *d)
{
	const struct agentcfg *c = d->cfg;
	char err[1024], *token;
	enum cass_rc rc;
	json_t *report, *body;
	enum heartbeat_outcome out;
	struct heartbeat_answer ans = { 0 };
	int64_t t0 = time_mono_ms();

	d->next_ms = t0 + d->interval_ms;
	/* Without a credential (an orchestrator from before them gave
	 * none), the join token, which it takes for such a node. */
	token = checkin_cred_load(c, err, sizeof(err));
	if (token == NULL && err[0] != '\0')
		log_warnx("%s", err);
	if (token == NULL)
		token = checkin_read_line(c->join_token_file, "join token", err,
		    sizeof(err));
	if (token == NULL) {
		log_error("%s; heartbeat not sent", err);
		return;
	}
	report = cass_report(c, NULL, &d->seen, &rc);
	set_str(&d->host_id, json_string_value(json_object_get(report, "host_id")));
	set_str(&d->version, json_string_value(json_object_get(report, "cassandra_version")));
	sample_demand(d, report, t0);
	limits_tick(&d->limits, c->limits_file, c->limits_hook, time_mono_ms());
	for (int tries = 0; tries < 2; tries++) {
		body = heartbeat_body(c, report, d->extended_hb);
		if (d->extended_hb) {
			json_object_set_new(body, "seeds_gen",
			    json_integer(d->seeds_gen));
			heartbeat_add_tenants(body, d->tenants ? d->tenants->gen :
			    0, d->limits.applied, d->limits.error,
			    d->demand_pending);
		}
		heartbeat_answer_release(&ans);
		out = heartbeat_post(d->http, c, token, body, &ans,
		    err, sizeof(err));
		json_decref(body);
		if (out != HEARTBEAT_UNKNOWN_FIELD || !d->extended_hb)
			break;
		log_info("orchestrator does not take extended heartbeats (%s); "
		    "sending the basic fields from now on", err);
		d->extended_hb = false;
	}
	switch (out) {
	case HEARTBEAT_OK:
		log_debug("heartbeat sent: %s in %lld ms", json_string_value(
		    json_object_get(report, "status")),
		    (long long)(time_mono_ms() - t0));
		if (err[0] != '\0')
			log_warnx("%s", err);
		if (ans.interval_ms > 0)
			d->interval_ms = ans.interval_ms;
		if (d->extended_hb && d->demand_pending != NULL) {
			/* taken: the next rate is the next window's */
			json_decref(d->demand_pending);
			d->demand_pending = NULL;
		}
		take_seeds(d, &ans);
		take_tenants(d, &ans);
		break;
	case HEARTBEAT_UNKNOWN_NODE:
		log_warnx("%s; checking in again", err);
		d->checked_in = false;
		d->attempt = 0;
		d->next_ms = time_mono_ms();
		break;
	case HEARTBEAT_REFUSED:
		log_error("%s; checking in again", err);
		d->checked_in = false;
		d->next_ms = time_mono_ms();
		break;
	case HEARTBEAT_UNREACHABLE:
		log_warnx("%s", err);
		break;
	default:
		log_error("%s", err);
		break;
	}
	heartbeat_answer_release(&ans);
	json_decref(report);
	memset(token, 0, strlen(token));
	free(token);
}

static bool str_differ(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a != b : strcmp(a, b) != 0;
}

/* nc's limits_file and limits_hook into the running configuration when
 * either differs, and the held limits applied through them. */
static void reload_limits(struct agentd *d, struct agentcfg *nc)
{
	struct agentcfg *c = d->cfg;
	char *tmp;

	if (!str_differ(c->limits_file, nc->limits_file) &&
	    !str_differ(c->limits_hook, nc->limits_hook))
		return;
	log_info("SIGHUP: limits_file now '%s' (was '%s'), limits_hook now "
	    "'%s' (was '%s')%s", nc->limits_file, c->limits_file,
	    nc->limits_hook ? nc->limits_hook : "none",
	    c->limits_hook ? c->limits_hook : "none", d->tenants ?
	    "; applying the tenants' limits through them" : "");
	tmp = c->limits_file;
	c->limits_file = nc->limits_file;
	nc->limits_file = tmp;
	tmp = c->limits_hook;
	c->limits_hook = nc->limits_hook;
	nc->limits_hook = tmp;
	if (d->tenants == NULL)
		return;
	limits_forget_hook(&d->limits);
	limits_set(&d->limits, d->tenants, c->cluster, c->address,
	    c->limits_file, c->limits_hook, time_mono_ms());
}

/*
 * SIGHUP: the log file is reopened and the orchestrator list read again
 * from the configuration file, so that adding or replacing an orchestrator
 * (a new standby) needs no agent restart.  limits_file and limits_hook
 * are read again too (a rate limiter installed after the agent): when
 * either changed, the tenants' limits are applied again through them.
 * The other keys shape what the agent already did (its state_dir, its
 * identity) and take effect at the next start.  A file that no longer
 * loads changes nothing.
 */
static void reload(struct agentd *d)
{
	char err[512];
	struct agentcfg *nc;

	if (log_reopen() != 0)
		log_warn("cannot reopen the log file");
	if (d->cfg->path == NULL)
		return;
	if ((nc = agentcfg_load(d->cfg->path, err, sizeof(err))) == NULL) {
		log_warnx("SIGHUP: %s; keeping the running configuration "
		    "(orchestrator %s)", err, d->cfg->orchestrator);
		return;
	}
	if (nc->orchestrator == NULL || nc->orchs == NULL) {
		log_warnx("SIGHUP: %s names no orchestrator now; keeping %s",
		    d->cfg->path, d->cfg->orchestrator);
	} else if (strcmp(nc->orchestrator, d->cfg->orchestrator) == 0) {
		log_info("SIGHUP: log reopened; the orchestrator list is "
		    "unchanged (%s)", d->cfg->orchestrator);
	} else {
		struct orchlist tmp = *d->cfg->orchs;
		char *s = d->cfg->orchestrator;

		log_info("SIGHUP: orchestrator list now %s (was %s); other "
		    "keys take effect at the next start", nc->orchestrator, s);
		*d->cfg->orchs = *nc->orchs;
		*nc->orchs = tmp;
		d->cfg->orchestrator = nc->orchestrator;
		nc->orchestrator = s;
	}
	reload_limits(d, nc);
	agentcfg_free(nc);
}

/*
 * Sleep until the monotonic time until_ms; false on SIGTERM/SIGINT.  The
 * signals are looked at even when until_ms has passed already: a heartbeat
 * slower than the interval must not leave SIGTERM pending for ever.
 */
static bool wait_until(struct agentd *d, int64_t until_ms)
{
	sigset_t set;
	siginfo_t si;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	for (;;) {
		int64_t left = until_ms - time_mono_ms();
		struct timespec ts;
		int sig;

		if (left < 0)
			left = 0;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000L;
		sig = sigtimedwait(&set, &si, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("received %s, exiting (Cassandra keeps running)",
			    sig == SIGTERM ? "SIGTERM" : "SIGINT");
			return false;
		}
		if (sig == SIGHUP)
			reload(d);
		else if (left == 0)
			return true;
	}
}

int agentd_run(struct agentcfg *c)
{
	struct agentd d;
	bool has_data;

	memset(&d, 0, sizeof(d));
	d.cfg = c;
	d.interval_ms = c->heartbeat_interval_ms;
	d.extended_hb = true;
	d.http = http_client_new();

	log_info("ringagent %s starting: cluster %s, node %s (dc %s, rack %s), "
	    "orchestrator %s", RM_VERSION, c->cluster, c->address, c->dc,
	    c->rack, c->orchestrator);
	d.cassandra_started = probe(&d);
	state_load(&d);
	has_data = cass_has_data(c);
	d.has_data = has_data;
	d.system_keyspace = checkin_has_system_keyspace(c);
	log_info("Cassandra is %s; data dirs %s%s; host id %s",
	    d.cassandra_started ? "running" : "not running",
	    has_data ? "hold data" : d.system_keyspace ? "hold no SSTables" :
	    "are empty (new node)", d.system_keyspace ?
	    " and a system keyspace" : "", d.host_id ? d.host_id : "unknown");
	if (d.cassandra_started)
		state_save(&d, NULL);

	d.next_ms = time_mono_ms();
	/* A node that has run (SSTables or a system keyspace) is never kept
	 * down waiting for the orchestrator. */
	has_data = has_data || d.system_keyspace;
	while (wait_until(&d, d.next_ms)) {
		if (!d.checked_in)
			checkin_once(&d, has_data);
		else
			heartbeat_once(&d);
	}
	http_client_free(d.http);
	free(d.host_id);
	free(d.version);
	cass_seen_release(&d.seen);
	tenants_free(d.tenants);
	tenants_demand_release(&d.demand);
	json_decref(d.demand_pending);
	limits_release(&d.limits);
	return 0;
}
