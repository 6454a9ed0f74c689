/*
 * cass.c - see cass.h.  Every nodetool run goes through cass_nodetool(),
 * which is where a failure becomes one of the cass_rc kinds: a failure to
 * connect is told apart from an error Cassandra answered by the
 * "nodetool: Failed to connect" usage-style message nodetool prints.
 */
#include "cass.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "../common/log.h"
#include "../common/util.h"
#include "agentcfg.h"
#include "datadir.h"

const char *cass_rc_code(enum cass_rc rc)
{
	switch (rc) {
	case CASS_OK:
		return "ok";
	case CASS_FAILED:
		return "failed";
	case CASS_UNREACHABLE:
		return "nodetool_unreachable";
	case CASS_UNPARSEABLE:
		return "nodetool_unparseable";
	case CASS_CANCELLED:
		return "cancelled";
	}
	return "failed";
}

/* First non-empty line of s, trimmed, into buf. */
static void first_line(const char *s, char *buf, size_t len)
{
	buf[0] = '\0';
	while (s && *s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		char *line = xstrndup(s, n);
		str_trim(line);
		if (*line) {
			str_copy(buf, line, len);
			free(line);
			return;
		}
		free(line);
		s = nl ? nl + 1 : NULL;
	}
}

enum cass_rc cass_nodetool(const struct agentcfg *c, const char *const *args,
    const struct proc_opts *base, char **out, char *err, size_t errlen)
{
	const char *argv[32];
	struct proc_opts o;
	struct proc_result r;
	char cmd[128], why[512];
	size_t n = 0;
	enum cass_rc rc;

	*out = NULL;
	argv[n++] = c->nodetool;
	for (size_t i = 0; args[i] != NULL && n < ARRAY_SIZE(argv) - 1; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(cmd, sizeof(cmd), "nodetool %s", args[0] ? args[0] : "");

	if (base != NULL)
		o = *base;
	else
		proc_opts_init(&o, 0);
	o.timeout_ms = c->nodetool_timeout_ms;
	o.on_line = NULL;
	if (proc_run(argv, &o, &r, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s; check the 'nodetool' key in %s",
		    cmd, why, c->path);
		return CASS_UNREACHABLE;
	}
	if (r.cancelled) {
		snprintf(err, errlen, "%s: cancelled", cmd);
		rc = CASS_CANCELLED;
		goto out;
	}
	if (r.timed_out) {
		snprintf(err, errlen, "%s: no answer in %llds; is Cassandra "
		    "hanging?", cmd, (long long)(c->nodetool_timeout_ms / 1000));
		rc = CASS_UNREACHABLE;
		goto out;
	}
	if (r.status != 0) {
		enum nodetool_error_kind kind = NODETOOL_ERROR_NONE;
		char *all = xasprintf("%s%s", r.out, r.err);
		char *msg = nodetool_error_message(all, &kind);

		if (msg == NULL) {
			first_line(r.err_len ? r.err : r.out, why, sizeof(why));
			msg = xstrdup(why[0] ? why : "no output");
		}
		proc_describe(&r, c->nodetool_timeout_ms, why, sizeof(why));
		if (strstr(msg, "Failed to connect") != NULL ||
		    strstr(msg, "ConnectException") != NULL) {
			snprintf(err, errlen, "%s: cannot reach Cassandra: %s", cmd, msg);
			rc = CASS_UNREACHABLE;
		} else {
			snprintf(err, errlen, "%s %s: %s", cmd, why, msg);
			rc = CASS_FAILED;
		}
		free(msg);
		free(all);
		goto out;
	}
	*out = r.out;
	r.out = NULL;
	rc = CASS_OK;
out:
	proc_result_release(&r);
	return rc;
}

#define PARSED(fn, type)                                                      \
	enum cass_rc cass_##fn(const struct agentcfg *c,                      \
	    const struct proc_opts *base, struct nodetool_##type **out,       \
	    char *err, size_t errlen)                                         \
	{                                                                     \
		const char *args[] = { #fn, NULL };                           \
		char *text = NULL;                                            \
		enum cass_rc rc = cass_nodetool(c, args, base, &text, err,    \
		    errlen);                                                  \
		*out = NULL;                                                  \
		if (rc != CASS_OK)                                            \
			return rc;                                            \
		if (nodetool_parse_##type(text, strlen(text), out, err,       \
		    errlen) != 0)                                             \
			rc = CASS_UNPARSEABLE;                                \
		free(text);                                                   \
		return rc;                                                    \
	}

PARSED(info, info)
PARSED(status, status)
PARSED(version, version)
PARSED(gossipinfo, gossipinfo)

enum cass_rc cass_tablestats(const struct agentcfg *c,
    const struct proc_opts *base, const char *const *names, size_t n,
    struct nodetool_tablestats **out, char *err, size_t errlen)
{
	const char **args = xcalloc(n + 2, sizeof(*args));
	char *text = NULL;
	enum cass_rc rc;

	*out = NULL;
	args[0] = "tablestats";
	for (size_t i = 0; i < n; i++)
		args[i + 1] = names[i];
	rc = cass_nodetool(c, args, base, &text, err, errlen);
	if (rc == CASS_OK && nodetool_parse_tablestats(text, strlen(text), out,
	    err, errlen) != 0)
		rc = CASS_UNPARSEABLE;
	free(text);
	free(args);
	return rc;
}

static int is_data_file(const struct datadir_file *f, void *arg)
{
	(void)arg;
	return str_ends_with(f->name, "-Data.db");
}

static int table_has_data(const struct datadir_table *t, void *arg)
{
	(void)arg;
	return datadir_files(t->path, 0, is_data_file, NULL, NULL);
}

bool cass_has_data(const struct agentcfg *c)
{
	return datadir_walk(c->data_dirs, c->n_data_dirs, NULL, 0,
	    table_has_data, NULL) != 0;
}

json_t *cass_disks_json(const struct agentcfg *c)
{
	json_t *a = json_array();

	for (size_t i = 0; i < c->n_data_dirs; i++) {
		struct statvfs sv;
		json_t *d = json_pack("{s:s}", "path", c->data_dirs[i]);

		if (statvfs(c->data_dirs[i], &sv) == 0) {
			json_object_set_new(d, "free_bytes", json_integer(
			    (json_int_t)((uint64_t)sv.f_bavail * sv.f_frsize)));
			json_object_set_new(d, "total_bytes", json_integer(
			    (json_int_t)((uint64_t)sv.f_blocks * sv.f_frsize)));
		} else {
			char *msg = xasprintf("cannot stat data dir '%s': %s",
			    c->data_dirs[i], strerror(errno));
			json_object_set_new(d, "error", json_string(msg));
			free(msg);
		}
		json_array_append_new(a, d);
	}
	return a;
}

static const char *state_status(char state)
{
	switch (state) {
	case 'J':
		return "joining";
	case 'L':
		return "leaving";
	case 'M':
		return "moving";
	default:
		return "up";
	}
}

static enum cass_rc worse(enum cass_rc a, enum cass_rc b)
{
	/* Unreachable outranks everything: it decides "down". */
	if (a == CASS_UNREACHABLE || b == CASS_UNREACHABLE)
		return CASS_UNREACHABLE;
	if (a == CASS_CANCELLED || b == CASS_CANCELLED)
		return CASS_CANCELLED;
	return a > b ? a : b;
}

static void add_error(json_t *errors, const char *msg)
{
	json_array_append_new(errors, json_string(msg));
}

void cass_seen_release(struct cass_seen *s)
{
	if (s == NULL)
		return;
	free(s->release);
	s->release = NULL;
	s->generation = 0;
}

/*
 * <state_dir>/release holds "<generation> <release>": what the last report
 * of any ringagent process on this node learned, so that the one-shot
 * operations the orchestrator runs (status, a gate's health rounds) spare
 * the JVM too.  A file that is missing or odd only means asking again.
 */
static char *seen_path(const struct agentcfg *c)
{
	return c->state_dir ? xasprintf("%s/release", c->state_dir) : NULL;
}

static void seen_load(const struct agentcfg *c, struct cass_seen *s)
{
	char *path = seen_path(c), *text, rel[64];
	long long gen;

	if (path == NULL)
		return;
	text = file_read_all(path, 256, NULL);
	if (text != NULL && sscanf(text, "%lld %63s", &gen, rel) == 2 && gen > 0) {
		free(s->release);
		s->release = xstrdup(rel);
		s->generation = gen;
	}
	free(text);
	free(path);
}

static void seen_store(const struct agentcfg *c, const struct cass_seen *s)
{
	char *path = seen_path(c), *text;

	if (path == NULL || strchr(s->release, ' ') != NULL ||
	    strlen(s->release) >= 64) {
		free(path);
		return;
	}
	text = xasprintf("%lld %s\n", (long long)s->generation, s->release);
	if (file_write_atomic(path, text, strlen(text), 0600) != 0)
		log_debug("cannot write %s: %s (the next report asks "
		    "nodetool version again)", path, strerror(errno));
	free(text);
	free(path);
}

/* The release of the node that `info` describes: from seen when it was
 * read under the same gossip generation, else from `nodetool version`
 * (and then remembered in seen and in the state dir). */
static enum cass_rc report_release(const struct agentcfg *c,
    const struct proc_opts *base, const struct nodetool_info *info,
    struct cass_seen *seen, char **release, char *err, size_t errlen)
{
	struct nodetool_version *ver = NULL;
	enum cass_rc rc;
	bool same;

	*release = NULL;
	if (seen != NULL && seen->release == NULL)
		seen_load(c, seen);
	same = seen != NULL && seen->release != NULL && info != NULL &&
	    info->generation > 0 && info->generation == seen->generation;
	if (same) {
		*release = xstrdup(seen->release);
		return CASS_OK;
	}
	rc = cass_version(c, base, &ver, err, errlen);
	if (rc == CASS_OK && ver != NULL && ver->release != NULL) {
		*release = xstrdup(ver->release);
		if (seen != NULL && info != NULL && info->generation > 0) {
			free(seen->release);
			seen->release = xstrdup(ver->release);
			seen->generation = info->generation;
			seen_store(c, seen);
		}
	}
	nodetool_version_free(ver);
	return rc;
}

/* The node's own line of `nodetool status` (by host id when info has
 * one, else by address) into r's tokens, and every line into r's
 * "peers"; the node's status word ("up", "joining", ...), "down" when it
 * is not listed. */
static const char *report_peers(const struct agentcfg *c, json_t *r,
    const struct nodetool_status *st, const struct nodetool_info *info)
{
	const char *status = "down";

	for (size_t i = 0; i < st->n_dcs; i++) {
		for (size_t k = 0; k < st->dcs[i].n_nodes; k++) {
			const struct nodetool_status_node *n = &st->dcs[i].nodes[k];
			bool me = (info && info->id && n->host_id &&
			    strcmp(info->id, n->host_id) == 0) ||
			    (c->address && n->address &&
			    strcmp(c->address, n->address) == 0);
			if (!me)
				continue;
			status = state_status(n->state);
			if (json_object_get(r, "tokens") == NULL && n->tokens >= 0)
				json_object_set_new(r, "tokens", json_integer(n->tokens));
		}
	}
	json_object_set_new(r, "peers", nodetool_status_json(st));
	return status;
}

json_t *cass_view(const struct agentcfg *c, const struct proc_opts *base,
    enum cass_rc *rcp)
{
	json_t *r = json_object(), *errors = json_array();
	struct nodetool_status *st = NULL;
	char err[512];
	const char *status = "down";
	enum cass_rc rc = cass_status(c, base, &st, err, sizeof(err));

	if (c->address)
		json_object_set_new(r, "address", json_string(c->address));
	if (rc != CASS_OK)
		add_error(errors, err);
	json_object_set_new(r, "process_up", json_boolean(rc != CASS_UNREACHABLE &&
	    rc != CASS_CANCELLED));
	if (st != NULL)
		status = report_peers(c, r, st, NULL);
	else if (rc != CASS_UNREACHABLE && rc != CASS_CANCELLED)
		status = "up";
	json_object_set_new(r, "status", json_string(status));
	json_object_set_new(r, "errors", errors);
	nodetool_status_free(st);
	if (rcp)
		*rcp = rc;
	return r;
}

json_t *cass_report(const struct agentcfg *c, const struct proc_opts *base,
    struct cass_seen *seen, enum cass_rc *rcp)
{
	json_t *r = json_object(), *errors = json_array();
	struct nodetool_info *info = NULL;
	struct nodetool_status *st = NULL;
	char err[512], *release = NULL;
	enum cass_rc rc, all;
	const char *status = "down";

	if (c->cluster)
		json_object_set_new(r, "cluster", json_string(c->cluster));
	if (c->address)
		json_object_set_new(r, "address", json_string(c->address));
	json_object_set_new(r, "dc", json_string(c->dc));
	json_object_set_new(r, "rack", json_string(c->rack));

	all = rc = cass_info(c, base, &info, err, sizeof(err));
	if (rc != CASS_OK)
		add_error(errors, err);
	json_object_set_new(r, "process_up", json_boolean(rc != CASS_UNREACHABLE &&
	    rc != CASS_CANCELLED));
	if (rc != CASS_UNREACHABLE && rc != CASS_CANCELLED) {
		rc = report_release(c, base, info, seen, &release, err,
		    sizeof(err));
		if (rc != CASS_OK)
			add_error(errors, err);
		all = worse(all, rc);
		rc = cass_status(c, base, &st, err, sizeof(err));
		if (rc != CASS_OK)
			add_error(errors, err);
		all = worse(all, rc);
		status = "up";
	}
	if (info != NULL) {
		json_object_set_new(r, "host_id", info->id ? json_string(info->id) : json_null());
		json_object_set_new(r, "gossip", json_boolean(info->gossip_active));
		json_object_set_new(r, "native_transport",
		    json_boolean(info->native_transport_active));
		if (info->load_bytes >= 0)
			json_object_set_new(r, "load_bytes", json_integer(info->load_bytes));
		if (info->token_count >= 0)
			json_object_set_new(r, "tokens", json_integer(info->token_count));
		if (info->uptime_s >= 0)
			json_object_set_new(r, "uptime_s", json_integer(info->uptime_s));
	}
	if (release != NULL)
		json_object_set_new(r, "cassandra_version", json_string(release));
	if (st != NULL)
		status = report_peers(c, r, st, info);
	json_object_set_new(r, "status", json_string(status));
	json_object_set_new(r, "disks", cass_disks_json(c));
	json_object_set_new(r, "has_data", json_boolean(cass_has_data(c)));
	json_object_set_new(r, "errors", errors);
	nodetool_info_free(info);
	nodetool_status_free(st);
	free(release);
	if (rcp)
		*rcp = all;
	return r;
}

static int run_hook(const struct agentcfg *c, const char *key, const char *cmd,
    char *err, size_t errlen)
{
	struct proc_opts o;
	struct proc_result r;
	char why[256], line[256];

	if (cmd == NULL) {
		snprintf(err, errlen, "%s is not set in %s", key, c->path);
		return -1;
	}
	proc_opts_init(&o, c->start_timeout_ms);
	o.max_output = 64 * 1024;
	if (proc_shell(cmd, &o, &r, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s '%s': %s", key, cmd, why);
		return -1;
	}
	if (r.status == 0 && !r.timed_out) {
		proc_result_release(&r);
		return 0;
	}
	proc_describe(&r, c->start_timeout_ms, why, sizeof(why));
	first_line(r.err_len ? r.err : r.out, line, sizeof(line));
	snprintf(err, errlen, "%s '%s' %s%s%s", key, cmd, why, line[0] ? ": " : "", line);
	proc_result_release(&r);
	return -1;
}

int cass_start(const struct agentcfg *c, char *err, size_t errlen)
{
	return run_hook(c, "cassandra_start", c->cassandra_start, err, errlen);
}

int cass_stop(const struct agentcfg *c, char *err, size_t errlen)
{
	return run_hook(c, "cassandra_stop", c->cassandra_stop, err, errlen);
}
