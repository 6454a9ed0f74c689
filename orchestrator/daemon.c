/*
 * daemon.c - the orchestrator as a daemon.  In order: the lock on
 * data_dir, the state restored from the mirror when data_dir holds none,
 * the store, the tokens, the mirror's writer, the service (engine,
 * heartbeats, schedules) and last the HTTP server, so nothing is served
 * before it can be answered.  With ha = etcd the role thread brings "the
 * stack" up on a won lease and down on a lost one; a standby follows the
 * mirror.  Every thread is started with SIGTERM, SIGINT and SIGHUP
 * blocked; the main thread waits for them with sigwait() and shuts down in
 * reverse order.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "cfg.h"
#include "daemon.h"
#include "datadir.h"
#include "engine/task.h"
#include "ha/ha.h"
#include "http/api.h"
#include "http/auth.h"
#include "http/authlimit.h"
#include "http/front.h"
#include "http/httpd.h"
#include "http/metrics.h"
#include "mirror/mirror.h"
#include "service/service.h"
#include "store/store.h"

/* Whether any cluster has a secret setting (storage credentials) set. */
static bool stored_secrets(struct store *st)
{
	char **names = NULL;
	size_t n = 0, ndefs;
	const struct store_setting_def *defs = store_settings_defs(&ndefs);
	bool any = false;

	if (store_cluster_names(st, &names, &n) != 0)
		return false;
	struct store_cluster_settings *cs = xmalloc(sizeof(*cs));
	for (size_t i = 0; i < n; i++) {
		if (!any && store_cluster_settings_get(st, names[i], cs) == 0)
			for (size_t k = 0; k < ndefs; k++)
				if (defs[k].secret &&
				    ((const char *)cs + defs[k].off)[0] != '\0')
					any = true;
		free(names[i]);
	}
	explicit_bzero(cs, sizeof(*cs));
	free(cs);
	free(names);
	return any;
}

/* The admin token of a first start: made once, kept in a 0600 file. */
static int ensure_admin_token(const struct cfg *c, struct store *st)
{
	char err[512];
	char *tok = NULL, *line;
	struct store_token_row *l = NULL;
	size_t n = 0;
	bool exists = false;

	if (access(c->admin_token_file, F_OK) == 0)
		return 0;
	if (store_token_list(st, &l, &n) != 0) {
		log_warnx("cannot read the tokens to see whether an admin "
		    "token exists: see the store's error above");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].name, "admin") == 0)
			exists = true;
	free(l);
	if (exists) {
		log_warnx("admin token file %s is missing and a token named "
		    "admin exists: make another with 'ringmaster token create "
		    "--role admin --name NAME'", c->admin_token_file);
		return 0;
	}
	if (auth_token_create(st, "admin", ROLE_ADMIN, &tok, err,
	    sizeof(err)) != 0) {
		log_warnx("cannot create the admin token: %s", err);
		return -1;
	}
	line = xasprintf("%s\n", tok);
	if (file_write_atomic(c->admin_token_file, line, strlen(line),
	    0600) != 0) {
		log_warn("cannot write admin token file %s",
		    c->admin_token_file);
		free(line);
		free(tok);
		return -1;
	}
	log_info("created the admin token in %s (mode 0600)",
	    c->admin_token_file);
	free(line);
	free(tok);
	return 0;
}

static const char *conf_log_level_name(enum log_level l)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	return (size_t)l < ARRAY_SIZE(names) ? names[l] : "info";
}

/* If shutdown outlives shutdown_grace (ms, in arg), leave: running steps
 * resume at the next start, which is what a crash would give too. */
static void *grace_watch(void *arg)
{
	int64_t grace_ms = (int64_t)(intptr_t)arg;

	usleep((useconds_t)(grace_ms * 1000));
	log_warnx("shutdown took longer than shutdown_grace (%lldms): exiting "
	    "now; running steps resume at the next start", (long long)grace_ms);
	_exit(0);
}

/* The API's limits from the configuration (docs/security.md, "Limits"). */
static void set_limits(struct api *api, const struct cfg *c)
{
	struct authlimit_conf fails = {
		.max = c->auth_fail_max, .window_ms = c->auth_fail_window_ms,
		.block_ms = c->auth_block_ms,
		.max_keys = (size_t)c->auth_fail_table,
	};
	/* max + 1: the limiter blocks at its max-th failure, and
	 * audit_refused_max refusals are still recorded. */
	struct authlimit_conf refusals = {
		.max = c->audit_refused_max > 0 ? c->audit_refused_max + 1 : 0,
		.window_ms = 60000, .block_ms = 60000,
		.max_keys = (size_t)c->auth_fail_table,
	};

	api_set_limits(api, &fails, &refusals);
}

/*
 * The daemon.  What serves while this orchestrator is the active one (the
 * store, tokens, the mirror's writer, the service and the API) is "the
 * stack": brought up once at start without an election, or on each won
 * lease with one, and taken down on stop or on a lost lease.  The HTTP
 * server and the front (http/front.h) live for the whole process, so a
 * standby answers too.
 */
struct daemon {
	struct cfg *c;
	struct metrics *metrics;
	struct mirror *mirror;
	struct ha *ha;
	struct front *front;

	/* The stack; only the role thread (or daemon_run() without ha) touches it. */
	struct store *st;
	struct auth *auth;
	struct service *svc;
	struct api *api;
	bool up;
	int64_t term;			/* the lease's revision the stack is for */
	int64_t followed;		/* generation in state.db.follow (0: none) */
	bool follow_failing;		/* for logging changes only */
	int64_t next_follow;		/* monotonic ms */

	/* The election's view, set by on_role() (the ha thread). */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool want_active, stopping;
	int64_t want_term;
	pthread_t role_thread;
	bool role_started;
	/* Held by the role thread while it changes the stack, and by SIGHUP's
	 * reload while it uses the service. */
	pthread_mutex_t stack_mu;
};

static void stack_down(struct daemon *d, bool final)
{
	if (!d->up && d->st == NULL)
		return;
	/* No request is inside the API once this returns. */
	front_set_api(d->front, NULL);
	service_stop(d->svc);
	/* After the service: the steps' last checkpoints are in it. */
	mirror_stop(d->mirror, final);
	api_free(d->api);
	auth_free(d->auth);
	store_close(d->st);
	d->svc = NULL;
	d->api = NULL;
	d->auth = NULL;
	d->st = NULL;
	d->up = false;
}

static int stack_up(struct daemon *d, task_fence_fn fence)
{
	const struct cfg *c = d->c;
	char err[512];
	bool created_join = false;

	if ((d->st = datadir_open_store(c, false)) == NULL) {
		log_error("cannot open the store in %s: see the message above",
		    c->data_dir);
		goto fail;
	}
	if (ensure_admin_token(c, d->st) != 0)
		goto fail;
	store_event_keep(d->st, (int64_t)c->events_keep_days * 86400000LL,
	    c->events_keep_rows);
	d->auth = auth_open(d->st, c->join_token_file, &created_join, err,
	    sizeof(err));
	if (d->auth == NULL) {
		log_error("%s", err);
		goto fail;
	}
	if (created_join)
		log_info("created the join token in %s (mode 0600)",
		    c->join_token_file);
	if (d->mirror != NULL) {
		if (!mirror_encrypted(d->mirror) && stored_secrets(d->st))
			log_warnx("state mirror: the store holds clusters' "
			    "storage credentials and state_mirror_key_file is "
			    "not set, so %s receives them in clear: set "
			    "state_mirror_key_file to a file made with 'openssl "
			    "rand -hex 32' (docs/operations.md)",
			    mirror_url(d->mirror));
		if (mirror_start(d->mirror, d->st, d->metrics, err,
		    sizeof(err)) != 0) {
			log_error("%s", err);
			goto fail;
		}
	}
	if ((d->svc = service_start(c, d->st, d->metrics, d->mirror, fence,
	    d, err, sizeof(err))) == NULL) {
		log_error("cannot start the service: %s", err);
		goto fail;
	}
	d->api = api_new(d->svc, d->auth, d->metrics);
	set_limits(d->api, c);
	d->up = true;
	front_set_api(d->front, d->api);
	return 0;
fail:
	d->up = true;
	stack_down(d, false);
	return -1;
}

/*
 * The fence (task_engine_set_fence(), mirror_set_gate()): this process
 * holds the lease by its own clock, for the term its stack was built for,
 * and etcd agrees.  A step or a generation that would be written by a
 * stale active is refused here.
 */
static int ha_fence(void *arg, char *err, size_t errlen)
{
	struct daemon *d = arg;
	int64_t rev = 0;

	if (!ha_is_active(d->ha, &rev)) {
		snprintf(err, errlen, "this orchestrator no longer holds the "
		    "lease in etcd");
		return -1;
	}
	if (rev != d->term) {
		snprintf(err, errlen, "the lease is of term %lld but the state "
		    "here was restored for term %lld", (long long)rev,
		    (long long)d->term);
		return -1;
	}
	return ha_fence_check(d->ha, rev, err, errlen);
}

/*
 * A standby follows the mirror: every FOLLOW_MS it reads `latest` and
 * fetches a generation it does not hold yet into state.db.follow, checked
 * as a takeover checks it (size, sha256, seal, integrity_check).  A
 * takeover then usually finds the newest state here already, and a standby
 * that cannot read the mirror (access, key) says so in /api/v1/ha and the
 * log long before it is needed.
 */
#define FOLLOW_MS 5000

static void follow_note(struct daemon *d, const char *err)
{
	if (err != NULL && !d->follow_failing)
		log_warnx("standby: cannot follow the state mirror %s: %s; a "
		    "takeover would fail the same way: fix it now",
		    mirror_url(d->mirror), err);
	else if (err == NULL && d->follow_failing)
		log_info("standby: follows the state mirror again");
	d->follow_failing = err != NULL;
}

static void follow_mirror(struct daemon *d)
{
	char err[1024];
	struct mirror_manifest man;
	int64_t g = 0;
	int rc = mirror_latest(d->mirror, &g, err, sizeof(err));

	if (rc == S3_NOT_FOUND) {
		front_set_follow(d->front, 0, 0, NULL);
		follow_note(d, NULL);
		return;
	}
	if (rc != 0) {
		front_set_follow(d->front, d->followed, 0, err);
		follow_note(d, err);
		return;
	}
	if (g == d->followed) {
		follow_note(d, NULL);
		return;
	}
	char *path = xasprintf("%s/state.db.follow", d->c->data_dir);
	char *tmp = xasprintf("%s/state.db.follow.tmp", d->c->data_dir);
	unlink(tmp);
	rc = mirror_fetch(d->mirror, g, tmp, store_schema_latest(), &man, err,
	    sizeof(err));
	if (rc == 0 && rename(tmp, path) != 0) {
		snprintf(err, sizeof(err), "cannot rename %s: %s", tmp,
		    strerror(errno));
		rc = -1;
	}
	if (rc != 0) {
		unlink(tmp);
		front_set_follow(d->front, d->followed, 0, err);
		follow_note(d, err);
	} else {
		d->followed = g;
		front_set_follow(d->front, g, man.created_ms, NULL);
		follow_note(d, NULL);
		log_debug("standby: holds generation %016" PRId64 " of the "
		    "state mirror", g);
	}
	free(path);
	free(tmp);
}

/*
 * A won lease: the newest generation of the mirror replaces whatever
 * state.db this host holds (another orchestrator may have been active
 * since), then the stack comes up and resumes the tasks.  The state this
 * host held is kept as state.db.before-takeover until the next takeover.
 */
static int takeover_restore(struct daemon *d)
{
	char err[1024], moved[PATH_MAX + 64];
	char *db = xasprintf("%s/state.db", d->c->data_dir);
	char *tmp = xasprintf("%s/state.db.takeover", d->c->data_dir);
	struct mirror_manifest man;
	int skipped = 0, rc;

	unlink(tmp);
	/* The followed copy when it is still the newest: no download. */
	int64_t g = 0;
	char *fol = xasprintf("%s/state.db.follow", d->c->data_dir);
	if (d->followed > 0 && mirror_latest(d->mirror, &g, err,
	    sizeof(err)) == 0 && g == d->followed && rename(fol, tmp) == 0) {
		log_info("takeover: generation %016" PRId64 " is the newest and "
		    "this standby holds it already", g);
		d->followed = 0;
		free(fol);
		memset(&man, 0, sizeof(man));
		man.generation = g;
		goto replace;
	}
	free(fol);
	rc = mirror_recover(d->mirror, tmp, store_schema_latest(), &man,
	    &skipped, err, sizeof(err));
	if (rc == S3_NOT_FOUND) {
		log_info("takeover: %s holds no generation yet: serving the "
		    "state in %s (a new group)", mirror_url(d->mirror),
		    d->c->data_dir);
		rc = 0;
		goto out;
	}
	if (rc != 0) {
		log_error("takeover: cannot restore the newest state from %s: "
		    "%s; fix the mirror's access (or its key): this "
		    "orchestrator stops so that another one takes over",
		    mirror_url(d->mirror), err);
		goto out;
	}
	log_info("takeover: restored generation %016" PRId64 " (%.1f s old, "
	    "%" PRIu64 " bytes%s)", man.generation,
	    (double)(time_wall_ms() - man.created_ms) / 1000.0, man.bytes,
	    skipped ? "; newer generations were unusable (see above)" : "");
replace:
	if (datadir_move_aside(db, ".before-takeover", moved, sizeof(moved), err,
	    sizeof(err)) != 0) {
		log_error("takeover: %s; nothing was replaced: this "
		    "orchestrator stops so that another one takes over", err);
		rc = -1;
		goto out;
	}
	if (rename(tmp, db) != 0) {
		log_error("takeover: cannot move the restored state into %s: "
		    "%s", db, strerror(errno));
		rc = -1;
		goto out;
	}
	rc = 0;
out:
	free(db);
	free(tmp);
	return rc;
}

/* Called on the ha thread: note what the election says, wake the role
 * thread, return at once (ha.h). */
static void on_role(void *arg, enum ha_role role, const char *active_url,
    int64_t fence_rev, const char *reason)
{
	struct daemon *d = arg;

	/* ha.c logs the change with its reason. */
	(void)active_url;
	(void)reason;
	metrics_ha_role(d->metrics, role == HA_ACTIVE);
	pthread_mutex_lock(&d->mu);
	d->want_active = role == HA_ACTIVE;
	d->want_term = role == HA_ACTIVE ? fence_rev : 0;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

/*
 * The role thread: brings the stack up on a won lease and down on a lost
 * one (slow work the ha thread must not do).  A term that changed while
 * the stack was up (lost and won again before this thread looked) means
 * another orchestrator may have been active: down, and up again from the
 * mirror.
 */
static void *role_main(void *arg)
{
	struct daemon *d = arg;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		if (d->stopping)
			break;
		if (d->want_active && d->up && d->term == d->want_term) {
			pthread_cond_wait(&d->cv, &d->mu);
			continue;
		}
		if (!d->want_active && !d->up) {
			/* Standby: follow the mirror between changes. */
			int64_t now = time_mono_ms();
			if (now >= d->next_follow) {
				pthread_mutex_unlock(&d->mu);
				follow_mirror(d);
				pthread_mutex_lock(&d->mu);
				d->next_follow = time_mono_ms() + FOLLOW_MS;
				continue;
			}
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			int64_t ns = (int64_t)ts.tv_nsec +
			    (d->next_follow - now) * 1000000LL;
			ts.tv_sec += (time_t)(ns / 1000000000LL);
			ts.tv_nsec = (long)(ns % 1000000000LL);
			pthread_cond_timedwait(&d->cv, &d->mu, &ts);
			continue;
		}
		bool want = d->want_active;
		int64_t term = d->want_term;
		pthread_mutex_unlock(&d->mu);

		if (d->up) {
			log_warnx("ha: %s: no step starts from now on; "
			    "running steps stop at their next checkpoint and "
			    "the active orchestrator resumes them",
			    want ? "a new term began" : "the lease is lost");
			front_set_phase(d->front, "stepping down");
			stack_down(d, false);
			front_set_phase(d->front, "standby");
		}
		if (want) {
			int64_t t0 = time_mono_ms();
			front_set_phase(d->front, "taking over: restoring the "
			    "newest state from the mirror");
			d->term = term;
			if (takeover_restore(d) != 0 ||
			    (front_set_phase(d->front, "taking over: resuming "
			    "tasks"), stack_up(d, ha_fence)) != 0) {
				front_set_phase(d->front, "failed to take over "
				    "(see its log)");
				pthread_mutex_unlock(&d->stack_mu);
				/* Resign (main's shutdown) so a standby that
				 * can serve takes over. */
				kill(getpid(), SIGTERM);
				pthread_mutex_lock(&d->mu);
				break;
			}
			metrics_ha_takeover(d->metrics, time_mono_ms() - t0);
			log_info("ha: serving as the active orchestrator "
			    "(term %lld) %lld ms after winning the lease",
			    (long long)term, (long long)(time_mono_ms() - t0));
		}
		pthread_mutex_unlock(&d->stack_mu);
		pthread_mutex_lock(&d->mu);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static struct ha *open_ha(const struct cfg *c, struct daemon *d, char *err,
    size_t errlen)
{
	struct ha_config hc = {
		.endpoints = c->etcd_endpoints, .prefix = c->ha_prefix,
		.advertise_url = c->advertise_url,
		.lease_ttl_ms = c->ha_lease_ttl_ms,
	};
	return ha_new(&hc, on_role, d, err, errlen);
}

int daemon_check(const struct cfg *c, char *err, size_t errlen)
{
	struct ha *h;

	if (!c->ha)
		return 0;
	if ((h = open_ha(c, NULL, err, errlen)) == NULL)
		return -1;
	ha_free(h);
	return 0;
}

int daemon_run(struct cfg *c, const char *conf_path, bool foreground)
{
	char err[512];
	struct daemon dd = { .c = c };
	struct daemon *d = &dd;
	struct httpd *http = NULL;
	int lock = -1;
	long holder = 0;
	sigset_t sigs;
	int sig, rc = 1;
	const char *logpath = c->log_file;
	char *deflog = NULL;

	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->stack_mu, NULL);
	{
		/* The follower's timed waits run on the monotonic clock. */
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&d->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (!foreground && logpath == NULL)
		logpath = deflog = xasprintf("%s/ringmaster.log", c->data_dir);
	if (datadir_mkdirs(c->data_dir, 0700) != 0) {
		fprintf(stderr, "ringmaster: cannot create data_dir '%s': %s\n",
		    c->data_dir, strerror(errno));
		goto out;
	}
	if (log_init("ringmaster", logpath, c->log_level) != 0) {
		fprintf(stderr, "ringmaster: cannot open log file '%s': %s\n",
		    logpath, strerror(errno));
		goto out;
	}
	if (!foreground && daemon(0, 0) != 0)
		fatal("cannot become a daemon");

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((lock = datadir_lock(c, &holder)) < 0) {
		if (lock == -2)
			log_error("another ringmaster (pid %ld) runs on %s: stop "
			    "it, or give this one another data_dir", holder,
			    c->data_dir);
		goto out;
	}
	if (c->state_mirror != NULL) {
		if ((d->mirror = datadir_open_mirror(c, err, sizeof(err))) == NULL) {
			log_error("state mirror: %s", err);
			goto out;
		}
		/* With an election the takeover restores; alone, only an
		 * empty data_dir does. */
		if (!c->ha && datadir_recover(c, d->mirror) != 0)
			goto out;
	}
	d->metrics = metrics_new();
	if (c->ha) {
		if ((d->ha = open_ha(c, d, err, sizeof(err))) == NULL) {
			log_error("ha: %s", err);
			goto out;
		}
		mirror_set_gate(d->mirror, ha_fence, d);
		metrics_ha_role(d->metrics, false);
	}
	d->front = front_new(d->ha, d->metrics, c->advertise_url);
	if (!c->ha && stack_up(d, NULL) != 0)
		goto out;
	struct httpd_opts ho = {
		.host = c->listen_host, .port = c->listen_port,
		.threads = c->http_threads, .max_body = API_MAX_BODY,
		.tls_cert = c->tls_cert, .tls_key = c->tls_key,
	};
	if ((http = httpd_start(&ho, front_handle, d->front, err,
	    sizeof(err))) == NULL) {
		log_error("%s", err);
		goto out;
	}
	if (c->ha) {
		front_set_phase(d->front, "standby");
		if (pthread_create(&d->role_thread, NULL, role_main, d) != 0) {
			log_error("cannot start the role thread");
			goto out;
		}
		d->role_started = true;
		if (ha_start(d->ha, err, sizeof(err)) != 0) {
			log_error("ha: %s", err);
			goto out;
		}
	}
	log_info("ringmaster %s listening on %s%s:%d with %d workers, data in "
	    "%s%s", RM_VERSION, c->tls_cert ? "https://" : "http://",
	    c->listen_host, httpd_port(http), c->workers, c->data_dir,
	    c->ha ? "; standby until it wins the lease in etcd" : "");

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			struct cfg *nc = cfg_load(conf_path, err, sizeof(err));
			log_reopen();
			if (nc == NULL) {
				log_warnx("SIGHUP: keeping the running "
				    "configuration: %s", err);
				continue;
			}
			log_set_level(nc->log_level);
			/* Under the role thread's feet otherwise. */
			pthread_mutex_lock(&d->stack_mu);
			if (d->svc != NULL)
				service_reload(d->svc, nc);
			if (d->api != NULL)
				set_limits(d->api, nc);
			pthread_mutex_unlock(&d->stack_mu);
			log_info("SIGHUP: logs reopened, log_level %s, heartbeat, "
			    "seed and request limit settings reloaded (listen, "
			    "data_dir, workers and TLS need a restart)",
			    conf_log_level_name(nc->log_level));
			cfg_free(nc);
			continue;
		}
		break;
	}
	log_info("%s: stopping: no new requests; running steps stop at their "
	    "next checkpoint and resume at the next start%s",
	    sig == SIGTERM ? "SIGTERM" : "SIGINT",
	    c->ha ? " (or on the orchestrator that takes over)" : "");
	pthread_t gt;
	if (pthread_create(&gt, NULL, grace_watch,
	    (void *)(intptr_t)c->shutdown_grace_ms) == 0)
		pthread_detach(gt);
	rc = 0;
out:
	if (d->role_started) {
		pthread_mutex_lock(&d->mu);
		d->stopping = true;
		pthread_cond_signal(&d->cv);
		pthread_mutex_unlock(&d->mu);
		pthread_join(d->role_thread, NULL);
	}
	/* Down while still holding the lease, so the last generation is
	 * written (the gate lets it through); then resign, so a standby
	 * takes over at its next look instead of after the TTL. */
	if (d->front != NULL)
		front_set_phase(d->front, "stopping");
	stack_down(d, rc == 0);
	ha_stop(d->ha);
	httpd_stop(http);
	ha_free(d->ha);
	front_free(d->front);
	mirror_close(d->mirror);
	metrics_free(d->metrics);
	if (lock >= 0)
		close(lock);
	if (rc == 0)
		log_info("stopped");
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	pthread_mutex_destroy(&d->stack_mu);
	free(deflog);
	return rc;
}
