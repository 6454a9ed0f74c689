/*
 * ringsh - the operator's shell for ringmaster orchestrators.
 *
 *   ringsh [-u URL] [-t TOKEN-FILE] [--ca-file FILE] [-C CLUSTER]
 *          [-c CMD | -f FILE] [--json]
 *
 * Connections come from ringsh.conf, then -u / $RINGMASTER_URL (one URL,
 * or several orchestrators separated by commas: client.h).  With -c or
 * -f, or with commands on a pipe, ringsh runs them without prompt or
 * history and exits non-zero on the first one that fails.  On a terminal it
 * is an interactive shell (repl.c).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/http.h"
#include "../common/orchlist.h"
#include "../common/util.h"
#include "client.h"
#include "exec.h"
#include "repl.h"

static volatile sig_atomic_t interrupted;
static volatile sig_atomic_t one_shot;

/*
 * The first Ctrl-C ends a watch (or, at the prompt, the line).  Off the
 * prompt a second one ends ringsh at once, should a request be stuck.
 */
static void on_sigint(int sig)
{
	(void)sig;
	if (interrupted && one_shot)
		_exit(EXEC_INTERRUPTED);
	interrupted = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
	    "usage: ringsh [-u URL] [-t TOKEN-FILE] [--ca-file FILE] [-C CLUSTER] "
	    "[-c CMD | -f FILE] [--json]\n"
	    "  -u, --url URL[,URL...] orchestrator to connect to; several "
	    "(one active, standbys):\n"
	    "                         ringsh follows the active one "
	    "(default: $RINGMASTER_URL, ringsh.conf)\n"
	    "  -t, --token-file FILE  read the bearer token from FILE "
	    "(default: $RINGMASTER_TOKEN)\n"
	    "      --ca-file FILE     trust this CA certificate for https\n"
	    "  -C, --cluster NAME     start with this cluster selected\n"
	    "  -c, --command CMD      run CMD (';' separates several) and exit\n"
	    "  -f, --file FILE        run the commands in FILE and exit "
	    "('-' for stdin)\n"
	    "      --json             print answers as JSON\n"
	    "  -v, --version          print the version\n"
	    "Inside ringsh, 'help' lists the commands.\n");
}

static char *config_path(void)
{
	const char *env = getenv("RINGSH_CONFIG");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	if (env && *env)
		return xstrdup(env);
	if (xdg && *xdg)
		return xasprintf("%s/ringmaster/ringsh.conf", xdg);
	if (home && *home)
		return xasprintf("%s/.config/ringmaster/ringsh.conf", home);
	return NULL;
}

/* Run commands from f, one a line, stopping at the first failure. */
static int run_stream(struct shell *sh, FILE *f, const char *name)
{
	char *line = NULL;
	size_t cap = 0;
	int rc = EXEC_OK, lineno = 0;

	while (!sh->quit && getline(&line, &cap, f) >= 0) {
		lineno++;
		rc = exec_line(sh, line);
		if (rc == EXEC_OK && *sh->interrupted)
			rc = EXEC_INTERRUPTED;
		if (rc != EXEC_OK) {
			if (name)
				fprintf(stderr, "ringsh: stopped at %s:%d\n", name,
				    lineno);
			break;
		}
	}
	free(line);
	return rc;
}

/* Set up the starting connection from the command line and environment. */
static int setup(struct client *c, const char *url, const char *token_file,
    const char *ca_file, const char *cluster)
{
	char err[1024], *token = NULL;

	if (token_file && (token = client_read_token(token_file, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "ringsh: %s\n", err);
		return -1;
	}
	if (url == NULL)
		url = getenv("RINGMASTER_URL");
	if (url && *url) {
		/* URLs already named in ringsh.conf keep their name and
		 * token: the same list, or the one URL of a line. */
		struct orchlist want;
		char *joined = NULL;
		size_t i = client_count(c);
		if (orchlist_parse(&want, url, err, sizeof(err)) == 0) {
			joined = orchlist_join(&want);
			orchlist_release(&want);
			for (i = 0; i < client_count(c); i++)
				if (strcmp(client_conn_at(c, i)->urls, joined) == 0)
					break;
		}
		free(joined);
		if (i < client_count(c)) {
			client_use(c, client_conn_at(c, i)->name);
		} else {
			char *name = client_next_name(c);
			int rc = client_add(c, name, url, NULL, NULL, NULL, NULL,
			    err, sizeof(err));
			free(name);
			if (rc < 0) {
				fprintf(stderr, "ringsh: %s\n", err);
				free(token);
				return -1;
			}
		}
	}
	struct client_conn *cn = client_current(c);
	if (token) {
		if (cn == NULL) {
			fprintf(stderr, "ringsh: -t needs a connection: give -u URL "
			    "or set RINGMASTER_URL\n");
			free(token);
			return -1;
		}
		free(cn->token);
		free(cn->token_source);
		cn->token = token;
		cn->token_source = xstrdup(token_file);
	}
	if (ca_file) {
		if (cn == NULL) {
			fprintf(stderr, "ringsh: --ca-file needs a connection: give "
			    "-u URL or set RINGMASTER_URL\n");
			return -1;
		}
		if (access(ca_file, R_OK) < 0) {
			fprintf(stderr, "ringsh: cannot read CA file %s: %s — give "
			    "the PEM file of the CA that signed the orchestrator's "
			    "certificate\n", ca_file, strerror(errno));
			return -1;
		}
		free(cn->ca_file);
		cn->ca_file = xstrdup(ca_file);
	}
	if (cluster) {
		if (cn == NULL) {
			fprintf(stderr, "ringsh: -C needs a connection: give -u URL "
			    "or set RINGMASTER_URL\n");
			return -1;
		}
		if (!name_valid(cluster)) {
			fprintf(stderr, "ringsh: '%s' is not a cluster name\n",
			    cluster);
			return -1;
		}
		free(cn->cluster);
		cn->cluster = xstrdup(cluster);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "token-file", required_argument, NULL, 't' },
		{ "ca-file", required_argument, NULL, 'a' },
		{ "cluster", required_argument, NULL, 'C' },
		{ "command", required_argument, NULL, 'c' },
		{ "file", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *token_file = NULL, *cluster = NULL;
	const char *ca_file = NULL;
	const char *command = NULL, *file = NULL;
	struct shell sh = { .interrupted = &interrupted };
	char err[1024];
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "u:t:C:c:f:vh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 't': token_file = optarg; break;
		case 'a': ca_file = optarg; break;
		case 'C': cluster = optarg; break;
		case 'c': command = optarg; break;
		case 'f': file = optarg; break;
		case 'j': sh.json = true; break;
		case 'v':
			printf("ringsh %s\n", RM_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXEC_USAGE;
		}
	}
	if (optind < argc || (command && file)) {
		usage(stderr);
		return EXEC_USAGE;
	}
	if (http_global_init() < 0) {
		fprintf(stderr, "ringsh: cannot initialise libcurl\n");
		return 1;
	}
	sh.client = client_new();
	sh.tty_out = isatty(STDOUT_FILENO);

	char *cfg = config_path();
	if (cfg && client_load_config(sh.client, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "ringsh: %s\n", err);
		rc = 1;
		goto out;
	}
	if (setup(sh.client, url, token_file, ca_file, cluster) < 0) {
		rc = 1;
		goto out;
	}

	/* SIGINT ends a watch or clears the prompt; it never kills the shell. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);

	one_shot = command || file || !isatty(STDIN_FILENO);
	if (command) {
		rc = exec_line(&sh, command);
		if (rc == EXEC_OK && interrupted)
			rc = EXEC_INTERRUPTED;
	} else if (file && strcmp(file, "-") != 0) {
		FILE *f = fopen(file, "r");
		if (f == NULL) {
			fprintf(stderr, "ringsh: cannot open %s: %s\n", file, strerror(errno));
			rc = 1;
			goto out;
		}
		rc = run_stream(&sh, f, file);
		fclose(f);
	} else if (file == NULL && isatty(STDIN_FILENO)) {
		char *hist = repl_history_path();
		rc = repl_run(&sh, hist);
		free(hist);
	} else {
		rc = run_stream(&sh, stdin, NULL);
	}
out:
	free(cfg);
	client_free(sh.client);
	http_global_cleanup();
	return rc;
}
