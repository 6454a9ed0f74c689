/*
 * ringmaster - the orchestrator daemon.
 *
 *	ringmaster [-dnv] [-f file]
 *	ringmaster [-f file] token create --role ROLE --name NAME
 *	ringmaster [-f file] token list
 *	ringmaster [-f file] token revoke NAME
 *	ringmaster [-f file] token rotate-join [--grace DURATION]
 *	ringmaster [-f file] node revoke|readmit CLUSTER ADDRESS
 *	ringmaster [-f file] state list
 *	ringmaster [-f file] state restore [--generation G]
 *
 * The configuration is parsed before anything starts.  Then, in order:
 * the lock on data_dir, the state restored from the mirror when data_dir
 * holds none, the store, the tokens, the mirror's writer, the service
 * (engine, heartbeats, schedules) and last the HTTP server, so nothing is
 * served before it can be answered.
 * Every thread is started with SIGTERM, SIGINT and SIGHUP blocked; the main
 * thread waits for them with sigwait() and shuts down in reverse order.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/conf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "cfg.h"
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
#include "tenants/autoscale_sim.h"

#define DEFAULT_CONF "/etc/ringmaster/ringmaster.conf"

static void usage(FILE *fp)
{
	size_t n;
	const struct conf_key *k = cfg_keys(&n);

	fprintf(fp,
	    "usage: ringmaster [-dnv] [-f file]\n"
	    "       ringmaster [-f file] token create --role ROLE --name NAME\n"
	    "       ringmaster [-f file] token list\n"
	    "       ringmaster [-f file] token revoke NAME\n"
	    "       ringmaster [-f file] token rotate-join [--grace DURATION]\n"
	    "       ringmaster [-f file] node revoke CLUSTER ADDRESS\n"
	    "       ringmaster [-f file] node readmit CLUSTER ADDRESS\n"
	    "       ringmaster [-f file] state list\n"
	    "       ringmaster [-f file] state restore [--generation G]\n"
	    "       ringmaster autoscale-sim --trace FILE [--json]\n"
	    "\n"
	    "  -f file  configuration file (default " DEFAULT_CONF ")\n"
	    "  -d       stay in the foreground (log to stderr unless log_file is set)\n"
	    "  -n       check the configuration and exit\n"
	    "  -v       print the version and exit\n"
	    "  roles    admin, operator, viewer\n"
	    "  --grace  how long the previous join token keeps working "
	    "[1h]\n"
	    "  revoke   the node's credential stops working; the node is "
	    "refused\n"
	    "           until readmitted\n"
	    "  readmit  revoke, and let the node's next check-in by join "
	    "token get\n"
	    "           a new credential (once)\n"
	    "  state    the generations in state_mirror, newest first; "
	    "restore one\n"
	    "           (default: the newest usable) into data_dir while "
	    "no ringmaster\n"
	    "           runs there; the old state.db is moved aside, never "
	    "deleted\n"
	    "\nconfiguration keys (docs/configuration.md):\n");
	for (size_t i = 0; i < n; i++)
		fprintf(fp, "  %-20s %s%s%s%s\n", k[i].name, k[i].help,
		    k[i].def ? " [" : "", k[i].def ? k[i].def : "",
		    k[i].def ? "]" : "");
}

/* mkdir -p with mode for the last component. */
static int mkdirs(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (rc == 0 && mkdir(p, mode) != 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

static struct store *open_store(const struct cfg *c, bool cli)
{
	char err[512];
	char *path = xasprintf("%s/state.db", c->data_dir);
	struct store *st;

	/* A command run on a fresh host before the first start would make an
	 * empty state.db, and the start would then skip the restore and
	 * mirror the empty state over the real one. */
	if (cli && c->state_mirror != NULL && access(path, F_OK) != 0) {
		fprintf(stderr, "ringmaster: %s holds no state.db and "
		    "state_mirror is set: start ringmaster (or run 'ringmaster "
		    "state restore') first, so the state is restored from the "
		    "mirror before it is changed\n", c->data_dir);
		free(path);
		return NULL;
	}

	if (mkdirs(c->data_dir, 0700) != 0) {
		fprintf(stderr, "ringmaster: cannot create data_dir '%s': %s\n",
		    c->data_dir, strerror(errno));
		free(path);
		return NULL;
	}
	st = store_open(path, err, sizeof(err));
	if (st == NULL)
		fprintf(stderr, "ringmaster: cannot open store '%s': %s\n", path,
		    err);
	free(path);
	return st;
}

static int cmd_token(const struct cfg *c, int argc, char **argv)
{
	struct store *st;
	char err[512] = "";
	int rc = 1;

	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	if ((st = open_store(c, true)) == NULL)
		return 1;
	if (strcmp(argv[0], "create") == 0) {
		const char *role = NULL, *name = NULL;
		enum auth_role r;
		char *tok = NULL;
		for (int i = 1; i + 1 < argc; i += 2) {
			if (strcmp(argv[i], "--role") == 0)
				role = argv[i + 1];
			else if (strcmp(argv[i], "--name") == 0)
				name = argv[i + 1];
			else
				goto bad;
		}
		if (role == NULL || name == NULL || argc % 2 == 0)
			goto bad;
		if (auth_role_parse(role, &r) != 0 || r == ROLE_AGENT) {
			fprintf(stderr, "ringmaster: unknown role '%s': use admin, "
			    "operator or viewer\n", role);
			goto out;
		}
		if (auth_token_create(st, name, r, &tok, err, sizeof(err)) != 0) {
			fprintf(stderr, "ringmaster: cannot create token: %s\n",
			    err);
			goto out;
		}
		printf("created token '%s' with role %s; it is shown only once:\n"
		    "%s\n", name, role, tok);
		free(tok);
		rc = 0;
	} else if (strcmp(argv[0], "list") == 0 && argc == 1) {
		json_t *l = auth_token_list(st, err, sizeof(err)), *v;
		size_t i;
		if (l == NULL) {
			fprintf(stderr, "ringmaster: %s\n", err);
			goto out;
		}
		printf("%-24s %-9s %-26s %s\n", "NAME", "ROLE", "CREATED",
		    "STATE");
		json_array_foreach(l, i, v)
			printf("%-24s %-9s %-26s %s\n",
			    json_string_value(json_object_get(v, "name")),
			    json_string_value(json_object_get(v, "role")),
			    json_string_value(json_object_get(v, "created_at")),
			    json_is_true(json_object_get(v, "revoked")) ?
			    "revoked" : "active");
		json_decref(l);
		rc = 0;
	} else if (strcmp(argv[0], "rotate-join") == 0 &&
	    (argc == 1 || (argc == 3 && strcmp(argv[1], "--grace") == 0))) {
		int64_t grace = 3600 * 1000, until = 0;
		char when[40], *tok = NULL;
		if (argc == 3 && duration_parse_ms(argv[2], &grace) != 0) {
			fprintf(stderr, "ringmaster: --grace '%s' is not a "
			    "duration: use for example 30s, 10m or 1h (0s: "
			    "the old token stops at once)\n", argv[2]);
			goto out;
		}
		if (auth_join_rotate(st, c->join_token_file, grace, &tok,
		    &until, err, sizeof(err)) != 0) {
			fprintf(stderr, "ringmaster: cannot rotate the join "
			    "token: %s\n", err);
			goto out;
		}
		time_rfc3339(until / 1000, when, sizeof(when));
		printf("new join token written to %s; give it to the agents "
		    "(their join_token_file) before the old one stops working "
		    "at %s:\n%s\n", c->join_token_file, when, tok);
		free(tok);
		rc = 0;
	} else if (strcmp(argv[0], "revoke") == 0 && argc == 2) {
		if (auth_token_revoke(st, argv[1], err, sizeof(err)) != 0) {
			fprintf(stderr, "ringmaster: cannot revoke token: %s\n",
			    err);
			goto out;
		}
		printf("revoked token '%s'\n", argv[1]);
		rc = 0;
	} else {
		goto bad;
	}
out:
	store_close(st);
	return rc;
bad:
	usage(stderr);
	store_close(st);
	return 2;
}

/*
 * `node revoke|readmit CLUSTER ADDRESS`: what DELETE .../credential and
 * POST .../readmit do, from the command line (the daemon may run: its
 * cache of credentials is read again within a second).
 */
static int cmd_node(const struct cfg *c, int argc, char **argv)
{
	struct store *st;
	char err[512] = "", detail[160];
	bool readmit;
	int rc;

	if (argc != 3 || (strcmp(argv[0], "revoke") != 0 &&
	    strcmp(argv[0], "readmit") != 0)) {
		usage(stderr);
		return 2;
	}
	readmit = strcmp(argv[0], "readmit") == 0;
	if ((st = open_store(c, true)) == NULL)
		return 1;
	rc = store_node_cred_revoke(st, argv[1], argv[2], readmit, err,
	    sizeof(err));
	if (rc == RM_ENOENT)
		fprintf(stderr, "ringmaster: no node %s in cluster '%s': see "
		    "'ringsh nodes %s'\n", argv[2], argv[1], argv[1]);
	else if (rc != 0)
		fprintf(stderr, "ringmaster: cannot revoke the credential of "
		    "node %s: %s\n", argv[2], err);
	if (rc != 0) {
		store_close(st);
		return 1;
	}
	snprintf(detail, sizeof(detail), "{\"reason\":\"ringmaster node "
	    "%s\"}", argv[0]);
	struct store_event ev = {
		.actor = "ringmaster", .kind = "node", .target = argv[2],
		.cluster = argv[1], .result = readmit ? "readmit" : "revoked",
		.detail_json = detail,
	};
	store_event_append(st, &ev, NULL, 0);
	if (readmit)
		printf("node %s of cluster %s: credential revoked; its next "
		    "check-in by join token gets a new one\n", argv[2],
		    argv[1]);
	else
		printf("node %s of cluster %s: credential revoked; the node is "
		    "refused until 'ringmaster node readmit %s %s'\n", argv[2],
		    argv[1], argv[1], argv[2]);
	store_close(st);
	return 0;
}

/*
 * One orchestrator per data_dir: an exclusive flock on data_dir/ringmaster.lock,
 * held for the process's life (the kernel drops it however the process
 * ends).  `state restore` takes the same lock, so it never replaces the
 * database under a running daemon.  Returns the fd, -1 on an error, -2
 * when another process holds it (its pid in *holder when known).
 */
static int lock_data_dir(const struct cfg *c, long *holder)
{
	char *path = xasprintf("%s/ringmaster.lock", c->data_dir);
	char buf[32];
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	*holder = 0;
	if (fd < 0) {
		fprintf(stderr, "ringmaster: cannot open '%s': %s\n", path,
		    strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			*holder = strtol(buf, NULL, 10);
		}
		close(fd);
		free(path);
		return -2;
	}
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != len)
		log_warn("cannot write the pid into '%s'", path);
	free(path);
	return fd;
}

static struct mirror *open_mirror(const struct cfg *c, char *err,
    size_t errlen)
{
	struct s3_opts so;

	if (c->state_mirror == NULL) {
		snprintf(err, errlen, "state_mirror is not set in %s: set it to "
		    "the mirror's s3://bucket/prefix or file:///dir", c->path);
		return NULL;
	}
	s3_opts_init(&so);
	so.endpoint = c->state_mirror_endpoint;
	so.region = c->state_mirror_region;
	struct mirror_opts mo = {
		.url = c->state_mirror, .s3 = &so,
		.key_file = c->state_mirror_key_file, .tmp_dir = c->data_dir,
		.keep = c->state_mirror_keep, .delay_ms = c->state_mirror_delay_ms,
		.interval_ms = c->state_mirror_interval_ms,
	};
	return mirror_open(&mo, err, errlen);
}

/*
 * Move state.db and its -wal and -shm aside as <db><tag> (with the same
 * suffixes, so SQLite still finds the WAL if the copy is opened).  A -wal
 * left beside a database it does not belong to would be replayed into it,
 * so a failed move is an error, never a warning.  0, or -1 with err.
 */
static int move_aside(const char *db, const char *tag, char *moved,
    size_t movedlen, char *err, size_t errlen)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };

	snprintf(moved, movedlen, "%s%s", db, tag);
	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		char *from = xasprintf("%s%s", db, sfx[i]);
		char *to = xasprintf("%s%s", moved, sfx[i]);
		int rc = rename(from, to);
		if (rc != 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot move '%s' aside to '%s': "
			    "%s", from, to, strerror(errno));
			free(from);
			free(to);
			return -1;
		}
		free(from);
		free(to);
	}
	return 0;
}

/* ".before-restore-<UTC time>": each restore keeps what it replaced. */
static void restore_tag(char *out, size_t len)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, len, ".before-restore-%s", ts);
}

/*
 * At start: data_dir holds no state.db and a mirror is set, so this is a
 * fresh host (or a lost disk).  The newest usable generation becomes
 * state.db before the store opens.  An empty mirror starts an empty store;
 * a mirror that cannot be read stops the start, because an empty store
 * would soon be mirrored over the generations that could not be read.
 */
static int recover_at_start(const struct cfg *c, struct mirror *m)
{
	char err[1024], moved[PATH_MAX + 64];
	char *db = xasprintf("%s/state.db", c->data_dir);
	struct mirror_manifest man;
	int skipped = 0, rc = 0;
	int64_t t0 = time_mono_ms();

	if (access(db, F_OK) == 0)
		goto out;
	/* A WAL without its database is debris; never let SQLite apply it
	 * to the restored file. */
	char tag[64];
	restore_tag(tag, sizeof(tag));
	if (move_aside(db, tag, moved, sizeof(moved), err,
	    sizeof(err)) != 0) {
		log_error("%s", err);
		rc = -1;
		goto out;
	}
	log_info("state mirror: %s holds no state.db: restoring the newest "
	    "generation from %s", c->data_dir, mirror_url(m));
	rc = mirror_recover(m, db, store_schema_latest(), &man, &skipped, err,
	    sizeof(err));
	if (rc == S3_NOT_FOUND) {
		log_info("state mirror: %s holds no generation yet: starting "
		    "with an empty state", mirror_url(m));
		rc = 0;
		goto out;
	}
	if (rc != 0) {
		log_error("state mirror: cannot restore: %s; fix the mirror's "
		    "access (or its key) and start again, or unset "
		    "state_mirror to start with an empty state", err);
		goto out;
	}
	char when[40];
	time_rfc3339(man.created_ms / 1000, when, sizeof(when));
	log_info("state mirror: restored generation %016" PRId64 " (written "
	    "%s, %.1f s ago, %" PRIu64 " bytes%s) into %s in %lld ms%s",
	    man.generation, when,
	    (double)(time_wall_ms() - man.created_ms) / 1000.0, man.bytes,
	    man.encrypted ? ", sealed" : "", db,
	    (long long)(time_mono_ms() - t0),
	    skipped ? "; newer generations were unusable (see above)" : "");
out:
	free(db);
	return rc;
}

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

/* `state list` and `state restore [--generation G]`. */
static int cmd_state(const struct cfg *c, int argc, char **argv)
{
	char err[1024];
	struct mirror *m = NULL;
	int rc = 1, lock = -1;

	if (argc < 1 || !((strcmp(argv[0], "list") == 0 && argc == 1) ||
	    (strcmp(argv[0], "restore") == 0 && (argc == 1 || (argc == 3 &&
	    strcmp(argv[1], "--generation") == 0))))) {
		usage(stderr);
		return 2;
	}
	if ((m = open_mirror(c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ringmaster: %s\n", err);
		return 1;
	}
	if (strcmp(argv[0], "list") == 0) {
		struct mirror_gen *v = NULL;
		size_t n = 0;
		int64_t latest = 0;
		if (mirror_list(m, &v, &n, &latest, err, sizeof(err)) != 0) {
			fprintf(stderr, "ringmaster: cannot list %s: %s\n",
			    mirror_url(m), err);
			goto out;
		}
		printf("%-16s  %-20s  %12s  %-9s  %s\n", "GENERATION", "CREATED",
		    "BYTES", "ENCRYPTED", "STATE");
		for (size_t i = 0; i < n; i++) {
			char gen[MIRROR_GEN_LEN], when[40] = "-", bytes[24] = "-";
			mirror_gen_name(v[i].generation, gen);
			if (v[i].man.format != 0) {
				time_rfc3339(v[i].man.created_ms / 1000, when,
				    sizeof(when));
				snprintf(bytes, sizeof(bytes), "%" PRIu64,
				    v[i].man.bytes);
			}
			printf("%-16s  %-20s  %12s  %-9s  %s%s%s\n", gen, when,
			    bytes, v[i].man.format == 0 ? "-" :
			    v[i].man.encrypted ? "yes" : "no",
			    v[i].complete ? "complete" : "incomplete: ",
			    v[i].complete ? "" : v[i].why,
			    v[i].latest ? " (latest)" : "");
		}
		if (n == 0)
			printf("(no generation in %s)\n", mirror_url(m));
		free(v);
		rc = 0;
		goto out;
	}

	/* restore */
	int64_t g = 0;
	long holder = 0;
	if (argc == 3 && mirror_gen_parse(argv[2], &g) != 0) {
		fprintf(stderr, "ringmaster: --generation '%s' is not a "
		    "generation (16 digits): see 'ringmaster state list'\n",
		    argv[2]);
		goto out;
	}
	if (mkdirs(c->data_dir, 0700) != 0) {
		fprintf(stderr, "ringmaster: cannot create data_dir '%s': %s\n",
		    c->data_dir, strerror(errno));
		goto out;
	}
	if ((lock = lock_data_dir(c, &holder)) < 0) {
		if (lock == -2)
			fprintf(stderr, "ringmaster: an orchestrator runs on "
			    "%s (pid %ld): stop it first; a restore replaces "
			    "its state.db\n", c->data_dir, holder);
		goto out;
	}
	char *db = xasprintf("%s/state.db", c->data_dir);
	char *tmp = xasprintf("%s/.state.db.restore", c->data_dir);
	char moved[PATH_MAX + 64] = "", tag[64];
	struct mirror_manifest man;
	int skipped = 0, r;
	unlink(tmp);
	if (argc == 3)
		r = mirror_fetch(m, g, tmp, store_schema_latest(), &man, err,
		    sizeof(err));
	else
		r = mirror_recover(m, tmp, store_schema_latest(), &man,
		    &skipped, err, sizeof(err));
	if (r != 0) {
		fprintf(stderr, "ringmaster: nothing restored, %s is "
		    "unchanged: %s\n", db, err);
	} else if (access(db, F_OK) == 0 &&
	    (restore_tag(tag, sizeof(tag)), move_aside(db, tag, moved,
	    sizeof(moved), err, sizeof(err))) != 0) {
		fprintf(stderr, "ringmaster: nothing restored: %s\n", err);
	} else if (rename(tmp, db) != 0) {
		fprintf(stderr, "ringmaster: cannot move the restored database "
		    "to '%s': %s%s%s\n", db, strerror(errno),
		    moved[0] ? "; the previous one is " : "", moved);
	} else {
		char gen[MIRROR_GEN_LEN], when[40];
		mirror_gen_name(man.generation, gen);
		time_rfc3339(man.created_ms / 1000, when, sizeof(when));
		printf("restored generation %s (written %s, %" PRIu64 " bytes%s)"
		    " into %s\n", gen, when, man.bytes,
		    man.encrypted ? ", sealed" : "", db);
		if (skipped > 0)
			printf("%d newer generation%s could not be used (see "
			    "the log lines above)\n", skipped,
			    skipped == 1 ? "" : "s");
		if (moved[0])
			printf("the previous state.db is kept as %s\n", moved);
		rc = 0;
	}
	unlink(tmp);
	free(db);
	free(tmp);
out:
	if (lock >= 0)
		close(lock);
	mirror_close(m);
	return rc;
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

	/* The stack; only the role thread (or run() without ha) touches it. */
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

	if ((d->st = open_store(c, false)) == NULL) {
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
	{
		struct authlimit_conf fails = {
			.max = c->auth_fail_max, .window_ms = c->auth_fail_window_ms,
			.block_ms = c->auth_block_ms,
			.max_keys = (size_t)c->auth_fail_table,
		};
		/* max + 1: the limiter blocks at its max-th failure, and
		 * audit_refused_max refusals are still recorded. */
		struct authlimit_conf refusals = {
			.max = c->audit_refused_max > 0 ?
			    c->audit_refused_max + 1 : 0,
			.window_ms = 60000, .block_ms = 60000,
			.max_keys = (size_t)c->auth_fail_table,
		};
		api_set_limits(d->api, &fails, &refusals);
	}
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
	if (move_aside(db, ".before-takeover", moved, sizeof(moved), err,
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

static int run(struct cfg *c, const char *conf_path, bool foreground)
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
	if (mkdirs(c->data_dir, 0700) != 0) {
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

	if ((lock = lock_data_dir(c, &holder)) < 0) {
		if (lock == -2)
			log_error("another ringmaster (pid %ld) runs on %s: stop "
			    "it, or give this one another data_dir", holder,
			    c->data_dir);
		goto out;
	}
	if (c->state_mirror != NULL) {
		if ((d->mirror = open_mirror(c, err, sizeof(err))) == NULL) {
			log_error("state mirror: %s", err);
			goto out;
		}
		/* With an election the takeover restores; alone, only an
		 * empty data_dir does. */
		if (!c->ha && recover_at_start(c, d->mirror) != 0)
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
			pthread_mutex_unlock(&d->stack_mu);
			log_info("SIGHUP: logs reopened, log_level %s and heartbeat "
			    "settings reloaded (listen, data_dir, workers and TLS "
			    "need a restart)", conf_log_level_name(nc->log_level));
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

int main(int argc, char **argv)
{
	const char *conf_path = NULL;
	bool foreground = false, check = false;
	char err[1024];
	struct cfg *c;
	int ch, rc;

	for (int i = 1; i < argc && argv[i][0] == '-'; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("ringmaster %s\n", RM_VERSION);
			return 0;
		}
	/* "+": stop at the first word so "token create --role" is ours. */
	while ((ch = getopt(argc, argv, "+df:nv")) != -1) {
		switch (ch) {
		case 'd':
			foreground = true;
			break;
		case 'f':
			conf_path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'v':
			printf("ringmaster %s\n", RM_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0 && strcmp(argv[0], "autoscale-sim") == 0)
		return autoscale_sim_main(argc, argv);	/* a replay: no config */
	if (conf_path == NULL && access(DEFAULT_CONF, F_OK) == 0)
		conf_path = DEFAULT_CONF;
	if ((c = cfg_load(conf_path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ringmaster: %s\n", err);
		return 1;
	}
	if (check && c->ha) {
		/* What the election checks (URLs, prefix, TTL) is checked
		 * here too, so -n says it before a start would. */
		struct ha *h = open_ha(c, NULL, err, sizeof(err));
		if (h == NULL) {
			fprintf(stderr, "ringmaster: %s: %s\n", c->path, err);
			cfg_free(c);
			return 1;
		}
		ha_free(h);
	}
	if (check) {
		printf("%s: configuration OK\n", c->path);
		cfg_free(c);
		return 0;
	}
	if (argc > 0 && strcmp(argv[0], "token") == 0)
		rc = cmd_token(c, argc - 1, argv + 1);
	else if (argc > 0 && strcmp(argv[0], "node") == 0)
		rc = cmd_node(c, argc - 1, argv + 1);
	else if (argc > 0 && strcmp(argv[0], "state") == 0) {
		log_init("ringmaster", NULL, LOG_LVL_WARN);
		rc = cmd_state(c, argc - 1, argv + 1);
	}
	else if (argc > 0) {
		fprintf(stderr, "ringmaster: unknown command '%s'\n", argv[0]);
		usage(stderr);
		rc = 2;
	} else
		rc = run(c, conf_path, foreground);
	cfg_free(c);
	return rc;
}
