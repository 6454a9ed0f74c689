/*
 * service_autoscale.c - the tenant autoscaler's controller, and the
 * confirmation of what the shards' services enforce (docs/tenants.md,
 * "The controller").
 *
 * Both run in the tenant sweep (once a second, on the heartbeat thread,
 * under the tenant lock), for each cluster with tenants.  The controller
 * acts every autoscale_interval: for each tenant that scales, the demand
 * its nodes reported (summed, samples younger than three demand
 * intervals) goes through autoscale_decide() (tenants/autoscale.h, the
 * same function `ringmaster autoscale-sim` replays traces through) and a
 * decision becomes a scale-tenant task in the cluster's queue, where it
 * is recorded and then confirmed.  The controller writes nothing but the
 * demand it saw: a decision exists only as a task.
 *
 * Demand summed from fewer nodes than the cluster has is a lower bound (a
 * node that is down, or just restarted and has only a baseline, reports
 * none, and its replicas' share of the load is missing): it may justify
 * more capacity but never less, so while it is partial the controller
 * holds every decision to lower a limit or remove a service, and starts
 * the down_after wait again once every node reports.
 *
 * Its memory (when demand went low, the last task it submitted per
 * tenant) is lost on restart: a tenant whose demand was low starts
 * waiting down_after again, and the cooldowns run from the scaled_at
 * the store keeps, so a restart never makes it act sooner.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/log.h"
#include "../../common/util.h"
#include "../engine/task.h"
#include "../store/store.h"
#include "../tenants/autoscale.h"
#include "hb.h"
#include "service_int.h"

struct as_tenant {
	char cluster[STORE_NAME_MAX];
	char name[STORE_NAME_MAX];
	int64_t low_since_ms;		/* -1: demand not low */
	char task[STORE_ID_MAX];	/* the last scale-tenant submitted */
	int64_t demand_ops;		/* last stored, -1 none */
	char unknown_logged;		/* demand unknown said once */
	char refused[256];		/* the last refusal said, not again */
	char partial_logged;		/* a held decrease said once */
};

struct as_cluster {
	char name[STORE_NAME_MAX];
	int64_t last_ms;		/* the last decision round */
};

struct svc_as {
	struct as_tenant *t;
	size_t nt;
	struct as_cluster *c;
	size_t nc;
};

struct svc_as *svc_as_new(void)
{
	return xcalloc(1, sizeof(struct svc_as));
}

void svc_as_free(struct svc_as *as)
{
	if (as == NULL)
		return;
	free(as->t);
	free(as->c);
	free(as);
}

static struct as_tenant *as_tenant(struct svc_as *as, const char *cluster,
    const char *name)
{
	for (size_t i = 0; i < as->nt; i++)
		if (strcmp(as->t[i].name, name) == 0 &&
		    strcmp(as->t[i].cluster, cluster) == 0)
			return &as->t[i];
	as->t = xrealloc(as->t, (as->nt + 1) * sizeof(*as->t));
	struct as_tenant *t = &as->t[as->nt++];
	memset(t, 0, sizeof(*t));
	str_copy(t->cluster, cluster, sizeof(t->cluster));
	str_copy(t->name, name, sizeof(t->name));
	t->low_since_ms = -1;
	t->demand_ops = -1;
	return t;
}

static struct as_cluster *as_cluster(struct svc_as *as, const char *name)
{
	for (size_t i = 0; i < as->nc; i++)
		if (strcmp(as->c[i].name, name) == 0)
			return &as->c[i];
	as->c = xrealloc(as->c, (as->nc + 1) * sizeof(*as->c));
	struct as_cluster *c = &as->c[as->nc++];
	memset(c, 0, sizeof(*c));
	str_copy(c->name, name, sizeof(c->name));
	return c;
}

/* Is the task still to finish (queued, running, paused)? */
static bool task_open(struct service *s, const char *id)
{
	struct store_task_detail d;
	bool open = false;

	if (id[0] == '\0')
		return false;
	if (store_task_get(s->st, id, &d) == 0)
		open = !store_task_state_terminal(d.task.state);
	store_task_detail_release(&d);
	return open;
}

/* The policy for one tenant: its own limits and bounds, the cluster's
 * timings, the defaults for the rest. */
static void tenant_policy(const struct store_tenant *t,
    const struct store_cluster_settings *set, struct autoscale_policy *pol)
{
	autoscale_policy_default(pol);
	pol->min_services = t->min_services;
	pol->max_services = t->max_services;
	pol->default_limit = (double)t->limit_default;
	pol->max_limit = (double)t->limit_max;
	pol->up_cooldown_ms = set->autoscale_up_cooldown_ms;
	pol->down_cooldown_ms = set->autoscale_down_cooldown_ms;
	pol->down_after_ms = set->autoscale_down_after_ms;
}

/* The tenant's demand now, summed from the nodes' fresh samples, stored
 * when it changed (GET and the metrics show it, autoscaling or not).
 * Returns how many nodes reported it lately (0: unknown). */
static size_t demand_now(struct service *s, const char *cluster,
    const struct store_tenant *t, const struct store_cluster_settings *set,
    struct as_tenant *m, int64_t now, double *ops)
{
	int64_t newest, max_age = 3 * (set->tenant_demand_interval_ms > 0 ?
	    set->tenant_demand_interval_ms : 30000);
	char err[256];
	int nodes;

	if ((nodes = svc_tl_demand(s->tl, cluster, t->name, now, max_age, ops,
	    &newest)) <= 0) {
		if (!m->unknown_logged && t->autoscale &&
		    set->autoscale_interval_ms > 0)
			log_info("tenant %s/%s: no node reported its demand in "
			    "the last %" PRId64 " s; the autoscaler decides "
			    "nothing until one does", cluster, t->name,
			    max_age / 1000);
		m->unknown_logged = 1;
		return 0;
	}
	m->unknown_logged = 0;
	if ((int64_t)llround(*ops) != m->demand_ops &&
	    store_tenant_set_demand(s->st, cluster, t->name, llround(*ops),
	    newest, err, sizeof(err)) == 0)
		m->demand_ops = llround(*ops);
	return (size_t)nodes;
}

static void decide_one(struct service *s, const char *cluster,
    const struct store_tenant *t, struct as_tenant *m,
    const struct store_cluster_settings *set, size_t nup, int64_t now,
    double ops, size_t nreport, size_t nmember)
{
	struct autoscale_policy pol;
	struct autoscale_state in, out;
	struct autoscale_decision d;
	char err[512], id[STORE_ID_MAX] = "";
	json_t *params;
	bool stuck;

	if (!t->autoscale || task_open(s, m->task))
		return;
	tenant_policy(t, set, &pol);
	/* Never decide a service the pool cannot give: no more than the
	 * nodes that are up, nor than the shard could grow to last time. */
	stuck = t->scale_error[0] != '\0' && t->services_target > t->nshard;
	if (pol.max_services > nup)
		pol.max_services = (unsigned)nup;
	if (stuck && pol.max_services > t->nshard)
		pol.max_services = (unsigned)t->nshard;
	if (pol.max_services < pol.min_services)
		pol.max_services = pol.min_services;
	in.services = t->services_target && !stuck ? t->services_target :
	    (unsigned)t->nshard;
	if (in.services > pol.max_services)
		in.services = pol.max_services;
	if (in.services < pol.min_services)
		in.services = pol.min_services;
	in.limit = (double)t->limit_current;
	in.last_change_ms = t->scaled_at > 0 ? t->scaled_at : t->created_at;
	if (in.last_change_ms > now)
		in.last_change_ms = now;
	in.low_since_ms = m->low_since_ms;
	if (autoscale_decide(&pol, &in, ops, now, &out, &d, err,
	    sizeof(err)) != 0) {
		log_warnx("tenant %s/%s: the autoscaler cannot decide: %s; "
		    "fix the tenant's limits or services (PATCH)", cluster,
		    t->name, err);
		return;
	}
	if (d.action == AUTOSCALE_NONE) {
		m->low_since_ms = out.low_since_ms;
		return;
	}
	if ((d.action == AUTOSCALE_LOWER || d.action == AUTOSCALE_REMOVE) &&
	    nreport < nmember) {
		if (!m->partial_logged)
			log_info("tenant %s/%s: %s, but only %zu of the "
			    "cluster's %zu nodes reported its demand: no "
			    "decrease on a partial sum; the wait starts again "
			    "when every node reports", cluster, t->name, d.why,
			    nreport, nmember);
		m->partial_logged = 1;
		m->low_since_ms = -1;
		return;
	}
	m->partial_logged = 0;
	params = json_pack("{s:s,s:I,s:I,s:s,s:s}", "tenant", t->name,
	    "limit", (json_int_t)llround(d.limit), "services",
	    (json_int_t)(d.action == AUTOSCALE_ADD ||
	    d.action == AUTOSCALE_REMOVE ? d.services : 0), "action",
	    autoscale_action_name(d.action), "why", d.why);
	if (task_submit(s->eng, cluster, "scale-tenant", params, id, err,
	    sizeof(err)) != 0) {
		/* Said once per reason: the next rounds decide the same. */
		if (strncmp(m->refused, err, sizeof(m->refused) - 1) != 0)
			log_warnx("tenant %s/%s: %s, but the scale-tenant task "
			    "was refused: %s", cluster, t->name, d.why, err);
		str_copy(m->refused, err, sizeof(m->refused));
		json_decref(params);
		return;
	}
	m->refused[0] = '\0';
	json_decref(params);
	str_copy(m->task, id, sizeof(m->task));
	m->low_since_ms = out.low_since_ms;
	log_info("tenant %s/%s: %s: scale-tenant task %s submitted", cluster,
	    t->name, d.why, id);
}

void svc_as_tick(struct service *s, const char *cluster,
    const struct store_tenants *tv, const struct store_cluster_settings *set,
    size_t nup, size_t nmember, int64_t now)
{
	struct as_cluster *c = as_cluster(s->as, cluster);
	bool decide = set->autoscale_interval_ms > 0 &&
	    now - c->last_ms >= set->autoscale_interval_ms;
	double ops;
	size_t nreport;

	if (decide)
		c->last_ms = now;
	for (size_t i = 0; i < tv->n; i++) {
		const struct store_tenant *t = &tv->items[i];
		struct as_tenant *m = as_tenant(s->as, cluster, t->name);
		nreport = demand_now(s, cluster, t, set, m, now, &ops);
		if (nreport > 0 && decide)
			decide_one(s, cluster, t, m, set, nup, now, ops,
			    nreport, nmember);
	}
}

void svc_as_confirm(struct service *s, const char *cluster,
    const struct store_tenants *tv, const struct store_tenant_svc *svcs,
    size_t nsvc)
{
	for (size_t i = 0; i < tv->n; i++) {
		const struct store_tenant *t = &tv->items[i];
		char sig[STORE_TENANT_SIG_MAX], err[256], state[32];
		size_t up = 0, ok = 0;

		store_tenant_sig(t->limit_current, t->shard, t->nshard, sig,
		    sizeof(sig));
		if (strcmp(sig, t->confirmed) == 0)
			continue;
		for (size_t k = 0; k < t->nshard; k++) {
			const char *addr = t->shard[k] < nsvc ?
			    svcs[t->shard[k]].address : NULL;
			int64_t applied;
			/* A node that is not up cannot confirm, and its
			 * agent takes the limits when it is back. */
			if (addr == NULL || !hb_node_view(s->hb, cluster, addr,
			    state, sizeof(state), NULL, NULL) ||
			    strcmp(state, "up") != 0)
				continue;
			up++;
			if (svc_tl_applied(s->tl, cluster, addr, t->name,
			    &applied, NULL, 0) && applied == t->limit_current)
				ok++;
		}
		if (up == 0 || ok < up)
			continue;
		if (store_tenant_set_confirmed(s->st, cluster, t->name, sig,
		    err, sizeof(err)) != 0)
			log_warnx("tenant %s/%s: cannot store that its services "
			    "enforce %s: %s", cluster, t->name, sig, err);
		else
			log_info("tenant %s/%s: its %zu services that are up "
			    "enforce %" PRId64 " ops/s", cluster, t->name, up,
			    t->limit_current);
	}
}
