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
 * The configuration is parsed before anything starts; then a subcommand
 * runs (on the store or the mirror in data_dir: datadir.h), or the daemon
 * (daemon.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/conf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "cfg.h"
#include "daemon.h"
#include "datadir.h"
#include "http/auth.h"
#include "mirror/mirror.h"
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

static int cmd_token(const struct cfg *c, int argc, char **argv)
{
	struct store *st;
	char err[512] = "";
	int rc = 1;

	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	if ((st = datadir_open_store(c, true)) == NULL)
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
	if ((st = datadir_open_store(c, true)) == NULL)
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
	if ((m = datadir_open_mirror(c, err, sizeof(err))) == NULL) {
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
	if (datadir_mkdirs(c->data_dir, 0700) != 0) {
		fprintf(stderr, "ringmaster: cannot create data_dir '%s': %s\n",
		    c->data_dir, strerror(errno));
		goto out;
	}
	if ((lock = datadir_lock(c, &holder)) < 0) {
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
	    (datadir_restore_tag(tag, sizeof(tag)), datadir_move_aside(db, tag, moved,
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
	if (check && daemon_check(c, err, sizeof(err)) != 0) {
		fprintf(stderr, "ringmaster: %s: %s\n", c->path, err);
		cfg_free(c);
		return 1;
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
		rc = daemon_run(c, conf_path, foreground);
	cfg_free(c);
	return rc;
}
