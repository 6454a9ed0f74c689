/*
 * client.c - see client.h.  HTTP goes through common/http.h; the only
 * knowledge of statuses and transport failures is client_explain(), so
 * every command reports them the same way.
 */
#include "client.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/http.h"
#include "../common/orchlist.h"
#include "../common/util.h"

#define NAMES_TTL_MS	3000
#define NAMES_SLOTS	8

struct names_slot {
	char *key;			/* "conn path field" */
	int64_t at_ms;
	char **v;			/* NULL-terminated */
};

struct client {
	struct client_conn *conns;
	size_t nconns;
	size_t cur;			/* == nconns: none */
	struct http_client *http;
	long timeout_ms;
	char err[1024];
	long last_status;
	struct names_slot slots[NAMES_SLOTS];
	char **conn_names;
};

struct client *client_new(void)
{
	struct client *c = xcalloc(1, sizeof(*c));
	c->http = http_client_new();
	if (c->http == NULL) {
		fprintf(stderr, "ringsh: cannot start libcurl\n");
		exit(1);
	}
	return c;
}

static void conn_release(struct client_conn *cn)
{
	free(cn->name);
	free(cn->url);
	free(cn->urls);
	orchlist_release(cn->orchs);
	free(cn->orchs);
	free(cn->token);
	free(cn->token_source);
	free(cn->ca_file);
	free(cn->cluster);
	memset(cn, 0, sizeof(*cn));
}

static void strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void client_free(struct client *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nconns; i++)
		conn_release(&c->conns[i]);
	free(c->conns);
	for (size_t i = 0; i < NAMES_SLOTS; i++) {
		free(c->slots[i].key);
		strv_free(c->slots[i].v);
	}
	strv_free(c->conn_names);
	http_client_free(c->http);
	free(c);
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

int client_add(struct client *c, const char *name, const char *url,
    const char *token, const char *token_source, const char *ca_file,
    const char *cluster, char *err, size_t errlen)
{
	if (!name_valid(name)) {
		snprintf(err, errlen, "'%s' is not a connection name: use "
		    "letters, digits, '-' and '_'", name);
		return -1;
	}
	struct orchlist list;
	char why[512];
	if (cluster && *cluster && !name_valid(cluster)) {
		snprintf(err, errlen, "'%s' is not a cluster name", cluster);
		return -1;
	}
	if (orchlist_parse(&list, url, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "'%.300s' is not an orchestrator URL: %s; "
		    "give http://HOST:PORT or https://HOST:PORT, several "
		    "separated by commas", url, why);
		return -1;
	}
	size_t i;
	for (i = 0; i < c->nconns; i++)
		if (strcmp(c->conns[i].name, name) == 0)
			break;
	if (i == c->nconns) {
		c->conns = xrealloc(c->conns, (c->nconns + 1) * sizeof(*c->conns));
		memset(&c->conns[i], 0, sizeof(c->conns[i]));
		c->nconns++;
	} else {
		conn_release(&c->conns[i]);
	}
	struct client_conn *cn = &c->conns[i];
	cn->name = xstrdup(name);
	cn->orchs = xcalloc(1, sizeof(*cn->orchs));
	*cn->orchs = list;
	cn->url = xstrdup(orchlist_current(cn->orchs));
	cn->urls = orchlist_join(cn->orchs);
	const char *env = getenv("RINGMASTER_TOKEN");
	if (token && *token) {
		cn->token = xstrdup(token);
		cn->token_source = dup_or_null(token_source);
	} else if (env && *env) {
		cn->token = xstrdup(env);
		cn->token_source = xstrdup("RINGMASTER_TOKEN");
	}
	cn->ca_file = dup_or_null(ca_file);
	cn->cluster = dup_or_null(cluster);
	c->cur = i;
	strv_free(c->conn_names);
	c->conn_names = NULL;
	return 0;
}

size_t client_count(const struct client *c)
{
	return c->nconns;
}

const struct client_conn *client_conn_at(const struct client *c, size_t i)
{
	return i < c->nconns ? &c->conns[i] : NULL;
}

struct client_conn *client_current(struct client *c)
{
	return c->cur < c->nconns ? &c->conns[c->cur] : NULL;
}

int client_use(struct client *c, const char *name)
{
	for (size_t i = 0; i < c->nconns; i++) {
		if (strcmp(c->conns[i].name, name) == 0) {
			c->cur = i;
			return 0;
		}
	}
	return -1;
}

char *client_next_name(const struct client *c)
{
	for (size_t k = 1;; k++) {
		char *name = k == 1 ? xstrdup("default") :
		    xasprintf("conn%zu", k);
		bool taken = false;
		for (size_t i = 0; i < c->nconns; i++)
			if (strcmp(c->conns[i].name, name) == 0)
				taken = true;
		if (!taken)
			return name;
		free(name);
	}
}

void client_set_timeout(struct client *c, long ms)
{
	c->timeout_ms = ms;
}

static char *expand_home(const char *p)
{
	const char *home = getenv("HOME");
	if (str_starts_with(p, "~/") && home)
		return xasprintf("%s/%s", home, p + 2);
	return xstrdup(p);
}

char *client_read_token(const char *path, char *err, size_t errlen)
{
	char *full = expand_home(path);
	size_t len;
	char *s = file_read_all(full, 64 * 1024, &len);
	if (s == NULL) {
		snprintf(err, errlen, "cannot read token file %s: %s", full,
		    strerror(errno));
		free(full);
		return NULL;
	}
	str_trim(s);
	if (*s == '\0') {
		snprintf(err, errlen, "token file %s is empty", full);
		free(s);
		free(full);
		return NULL;
	}
	free(full);
	return s;
}

int client_load_config(struct client *c, const char *path, char *err,
    size_t errlen)
{
	struct stat st;
	size_t len;
	int added = 0;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	/* It names token files and may hold secrets: like ssh, insist on 0600. */
	if (st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s is readable or writable by group or "
		    "others (mode %04o); refusing it: run 'chmod 600 %s'", path,
		    (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	char *text = file_read_all(path, 1 << 20, &len);
	if (text == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	int lineno = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *w[8];
		size_t n = 0;
		char *ws = NULL;
		for (char *t = strtok_r(line, " \t\r", &ws); t && n < 8;
		    t = strtok_r(NULL, " \t\r", &ws))
			w[n++] = t;
		if (n == 0)
			continue;
		if (n < 2) {
			snprintf(err, errlen, "%s:%d: expected 'NAME URL "
			    "[token_file=PATH] [ca_file=PATH] [cluster=NAME]'",
			    path, lineno);
			goto fail;
		}
		const char *token_file = NULL, *ca = NULL, *cluster = NULL;
		for (size_t i = 2; i < n; i++) {
			if (str_starts_with(w[i], "token_file="))
				token_file = w[i] + 11;
			else if (str_starts_with(w[i], "ca_file="))
				ca = w[i] + 8;
			else if (str_starts_with(w[i], "cluster="))
				cluster = w[i] + 8;
			else {
				snprintf(err, errlen, "%s:%d: unknown setting '%s' "
				    "(token_file=, ca_file= or cluster=)", path,
				    lineno, w[i]);
				goto fail;
			}
		}
		char *token = NULL, *tf = NULL, *caf = NULL;
		if (token_file) {
			char terr[512];
			token = client_read_token(token_file, terr, sizeof(terr));
			if (token == NULL) {
				snprintf(err, errlen, "%s:%d: %s", path, lineno,
				    terr);
				goto fail;
			}
			tf = expand_home(token_file);
		}
		if (ca)
			caf = expand_home(ca);
		char aerr[512];
		size_t cur = c->cur;
		int rc = client_add(c, w[0], w[1], token, tf, caf, cluster,
		    aerr, sizeof(aerr));
		free(token);
		free(tf);
		free(caf);
		if (rc < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, aerr);
			goto fail;
		}
		/* The first connection in the file is the current one. */
		if (added > 0)
			c->cur = cur;
		added++;
	}
	free(text);
	return added;
fail:
	free(text);
	return -1;
}

/* ---- requests ---- */

/*
 * Where to look for what a 404 did not find: what the orchestrator named
 * ("cluster 'x' not found" under .../backups is about the cluster), else
 * what the path names.
 */
static const char *path_hint(const char *path, const char *msg)
{
	if (msg && str_starts_with(msg, "cluster '"))
		return "list them with 'clusters'";
	if (msg && str_starts_with(msg, "task '"))
		return "list them with 'tasks list'";
	if (msg && str_starts_with(msg, "backup '"))
		return "list them with 'backups list'";
	if (msg && str_starts_with(msg, "schedule '"))
		return "list them with 'schedules list'";
	if (msg && str_starts_with(msg, "node "))
		return "see 'nodes'";
	if (strstr(path, "/tasks"))
		return "list them with 'tasks list'";
	if (strstr(path, "/backups"))
		return "list them with 'backups list'";
	if (strstr(path, "/schedules"))
		return "list them with 'schedules list'";
	if (strstr(path, "/clusters"))
		return "list them with 'clusters'";
	return "check the URL with 'connections'";
}

const char *client_role_needed(const char *method, const char *path)
{
	/* As the orchestrator's route table (orchestrator/http/api.c) has it. */
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return "viewer, operator or admin";
	if (str_starts_with(path, "/api/v1/clusters")) {
		const char *rest = path + strlen("/api/v1/clusters");
		/* The cluster itself, not what is under it. */
		if (*rest == '\0' || *rest == '?' ||
		    (*rest == '/' && strchr(rest + 1, '/') == NULL))
			return "admin";
	}
	if (str_starts_with(path, "/api/v1/agents/"))
		return "agent or admin";
	return "operator or admin";
}

/* The task id ("t-" and hex digits) in s, copied to id; false if none. */
static bool find_task_id(const char *s, char *id, size_t size)
{
	for (const char *p = s ? strstr(s, "t-") : NULL; p;
	    p = strstr(p + 1, "t-")) {
		size_t n = 2;
		while (isxdigit((unsigned char)p[n]))
			n++;
		if (n >= 6 && (p == s || !isalnum((unsigned char)p[-1]))) {
			snprintf(id, size, "%.*s", (int)n, p);
			return true;
		}
	}
	return false;
}

/*
 * What to do about a 409, from what was asked: each conflict the
 * orchestrator has (docs/api.md) wants a different next step.
 */
static void conflict_hint(const struct client_failure *f, char *hint,
    size_t size)
{
	const char *msg = f->message ? f->message : "";
	const char *path = f->path, *act;
	char id[40];

	if (str_starts_with(path, "/api/v1/tasks/") &&
	    (act = strrchr(path, '/')) != NULL && act != path + 13) {
		/* cancel, pause or resume of a task that has ended. */
		char tid[64];
		snprintf(tid, sizeof(tid), "%.*s", (int)(act - (path + 14)),
		    path + 14);
		snprintf(hint, size, "it has ended, so there is nothing to %s; "
		    "see how it ended with 'tasks show %s'", act + 1, tid);
		return;
	}
	if (strstr(msg, "damaged")) {
		snprintf(hint, size, "add --force to restore what is sound, or "
		    "pick another backup with --backup ID (see 'backups')");
		return;
	}
	if (strcmp(f->method, "POST") == 0 &&
	    strcmp(path, "/api/v1/clusters") == 0) {
		snprintf(hint, size, "pick another name, or change the existing "
		    "cluster with 'clusters update NAME'");
		return;
	}
	if (find_task_id(msg, id, sizeof(id))) {
		snprintf(hint, size, "wait for task %s to end ('watch %s') or "
		    "cancel it with 'tasks cancel %s', then retry", id, id, id);
		return;
	}
	if (strstr(msg, "running task")) {
		snprintf(hint, size, "wait for the running task to end or cancel "
		    "it (see 'tasks --state running'), then retry");
		return;
	}
	snprintf(hint, size, "see 'status' for what the cluster is doing, "
	    "then retry");
}

void client_explain(const struct client_failure *f, char *buf, size_t size)
{
	const char *msg = f->message && *f->message ? f->message : NULL;
	const char *conn = f->conn ? f->conn : "default";

	if (f->status == 0) {
		if (f->conn_refused)
			snprintf(buf, size, "cannot reach %s: connection refused "
			    "— is ringmaster running? check the URL with "
			    "'connections'", f->url);
		else if (f->tls_failed)
			snprintf(buf, size, "TLS with %s failed (%s) — check the "
			    "server certificate, or trust its CA with 'connect "
			    "URL --ca-file FILE'", f->url,
			    f->transport ? f->transport : "handshake");
		else if (f->timed_out)
			snprintf(buf, size, "no answer from %s in time — is the "
			    "orchestrator overloaded or the network down?",
			    f->url);
		else
			snprintf(buf, size, "cannot reach %s: %s — check the URL "
			    "with 'connections'", f->url,
			    f->transport ? f->transport : "no answer");
		return;
	}
	switch (f->status) {
	case 401:
		if (f->had_token)
			snprintf(buf, size, "%s refused the token of connection "
			    "'%s' (401 unauthorized) — check RINGMASTER_TOKEN or "
			    "the token file, then 'connect URL --token-file FILE'",
			    f->url, conn);
		else
			snprintf(buf, size, "%s wants a token (401 unauthorized) "
			    "— set RINGMASTER_TOKEN or use 'connect URL "
			    "--token-file FILE'", f->url);
		break;
	case 403: {
		const char *need = client_role_needed(f->method, f->path);
		snprintf(buf, size, "the token of connection '%s' may not %s %s "
		    "(403 forbidden%s%s) — this needs a token with the %s "
		    "role: 'connect URL --token-file FILE' with one", conn,
		    f->method, f->path, msg ? ": " : "", msg ? msg : "", need);
		break;
	}
	case 404:
		if (msg && str_starts_with(msg, "no route"))
			snprintf(buf, size, "the orchestrator at %s does not serve "
			    "%s %s (404) — it may be older than ringsh; upgrade it",
			    f->url, f->method, f->path);
		else if (msg)
			snprintf(buf, size, "%s (404 not found) — %s", msg,
			    path_hint(f->path, msg));
		else
			snprintf(buf, size, "%s %s: not found (404) — %s",
			    f->method, f->url, path_hint(f->path, NULL));
		break;
	case 409: {
		char hint[256];
		conflict_hint(f, hint, sizeof(hint));
		snprintf(buf, size, "%s (409 conflict) — %s", msg ? msg : f->path,
		    hint);
		break;
	}
	case 400:
		/* Task and schedule params are the usual cause: say where
		 * the types and params are listed. */
		snprintf(buf, size, "the orchestrator rejected %s %s: %s (400) — "
		    "%s", f->method, f->path, msg ? msg : "bad request",
		    strcmp(f->method, "POST") == 0 && (str_ends_with(f->path,
		    "/tasks") || str_ends_with(f->path, "/schedules")) ?
		    "'types' lists the task types, 'types TYPE' a type's "
		    "params" : "check the command with 'help'");
		break;
	case 413:
		snprintf(buf, size, "the request to %s is too large for the "
		    "orchestrator (413) — send fewer or shorter params", f->url);
		break;
	default:
		if (f->status >= 500)
			snprintf(buf, size, "the orchestrator at %s failed on %s "
			    "%s: %s (%ld) — see its log%s", f->url, f->method,
			    f->path, msg ? msg : "server error", f->status,
			    f->status == 503 ? "; when one of several "
			    "orchestrators is taking over, retry in a few "
			    "seconds" : "");
		else
			snprintf(buf, size, "%s %s: %s (%ld)", f->method, f->url,
			    msg ? msg : "unexpected answer", f->status);
		break;
	}
}

void client_resp_release(struct client_resp *resp)
{
	if (resp == NULL)
		return;
	json_decref(resp->json);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

const char *client_error(const struct client *c)
{
	return c->err;
}

long client_last_status(const struct client *c)
{
	return c->last_status;
}

int client_call(struct client *c, const char *method, const char *path,
    const json_t *body, struct client_resp *resp)
{
	struct client_conn *cn = client_current(c);
	struct http_req req;
	struct http_resp hr;
	struct orchlist_call call = { 0 };
	char *text = NULL;
	const char *url;
	struct http_header ct = { "Content-Type", "application/json" };
	int rc = -1;

	memset(resp, 0, sizeof(*resp));
	c->err[0] = '\0';
	c->last_status = 0;
	if (cn == NULL) {
		snprintf(c->err, sizeof(c->err), "not connected — use 'connect "
		    "URL', -u URL or RINGMASTER_URL");
		return -1;
	}
	http_req_init(&req, method, NULL);
	req.bearer = cn->token;
	req.ca_file = cn->ca_file;
	req.timeout_ms = c->timeout_ms;
	if (c->timeout_ms && c->timeout_ms < 5000)
		req.connect_timeout_ms = c->timeout_ms;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		req.body = text;
		req.body_len = strlen(text);
		req.headers = &ct;
		req.nheaders = 1;
	}
	/* A read changes nothing, so it may go anywhere again; a write that
	 * may have been taken must not be made twice. */
	call.resend_unsure = strcmp(method, "GET") == 0 ||
	    strcmp(method, "HEAD") == 0;
	int drc = orchlist_do(cn->orchs, c->http, &req, path, &hr, &call);
	url = call.url;
	if (call.note[0] != '\0') {
		free(cn->url);
		cn->url = xstrdup(orchlist_current(cn->orchs));
		fprintf(stderr, "ringsh: %s\n", call.note);
	}
	if (drc < 0 && (!call.no_answer || cn->orchs->n > 1)) {
		/* Several orchestrators, or a redirect we would not follow:
		 * orchlist says which did what. */
		snprintf(c->err, sizeof(c->err), "%s — %s", call.err,
		    call.redirect_refused ? "if it is one of yours, add it: "
		    "'connect URL,URL,... as NAME' or -u / RINGMASTER_URL" :
		    call.no_answer ? "is ringmaster running? check the URLs "
		    "with 'connections'" : "see the orchestrators' logs");
		http_resp_release(&hr);
		goto out;
	}
	if (drc < 0) {
		struct client_failure f = {
			.conn = cn->name, .method = method, .url = url,
			.path = path, .had_token = cn->token != NULL,
			.conn_refused = hr.conn_refused,
			.tls_failed = hr.tls_failed, .timed_out = hr.timed_out,
		};
		/* orchlist says "... URL: reason ...": keep the reason only. */
		char reason[256];
		const char *p = strstr(hr.err, ": ");
		str_copy(reason, p ? p + 2 : hr.err, sizeof(reason));
		char *cut = strstr(reason, "; the request may");
		if (cut)
			*cut = '\0';
		f.transport = reason;
		client_explain(&f, c->err, sizeof(c->err));
		http_resp_release(&hr);
		goto out;
	}
	c->last_status = hr.status;
	resp->status = hr.status;
	resp->body = hr.body;
	resp->body_len = hr.body_len;
	hr.body = NULL;
	if (resp->body && resp->body_len > 0)
		resp->json = json_loadb(resp->body, resp->body_len,
		    JSON_DECODE_ANY, NULL);
	http_resp_release(&hr);
	if (resp->status >= 200 && resp->status < 300) {
		rc = 0;
		goto out;
	}
	const char *msg = NULL;
	json_t *e = resp->json ? json_object_get(resp->json, "error") : NULL;
	if (e && json_is_object(e))
		msg = json_string_value(json_object_get(e, "message"));
	else if (e && json_is_string(e)) {
		/* {"error": "code", "message": "..."} (a standby's answers,
		 * docs/api.md) or {"error": "text"}. */
		msg = json_string_value(json_object_get(resp->json, "message"));
		if (msg == NULL)
			msg = json_string_value(e);
	}
	struct client_failure f = {
		.conn = cn->name, .method = method, .url = url, .path = path,
		.status = resp->status, .message = msg,
		.had_token = cn->token != NULL,
	};
	if (call.err[0] != '\0' && cn->orchs->n > 1)
		/* Every orchestrator of the connection failed: say what
		 * each did, not only the last. */
		snprintf(c->err, sizeof(c->err), "%s — with several "
		    "orchestrators one may be taking over: retry in a few "
		    "seconds, else see their logs", call.err);
	else
		client_explain(&f, c->err, sizeof(c->err));
	client_resp_release(resp);
	resp->status = c->last_status;
out:
	free(text);
	orchlist_call_release(&call);
	return rc;
}

/* ---- names for completion ---- */

static char **fetch_names(struct client *c, const char *path,
    const char *field)
{
	struct client_resp r;
	char **v = xcalloc(1, sizeof(*v));
	size_t n = 0;
	long saved = c->timeout_ms;
	char saved_err[sizeof(c->err)];

	/* Completion must not hang the prompt on a dead orchestrator. */
	memcpy(saved_err, c->err, sizeof(saved_err));
	c->timeout_ms = 1500;
	int rc = client_call(c, "GET", path, NULL, &r);
	c->timeout_ms = saved;
	memcpy(c->err, saved_err, sizeof(saved_err));
	if (rc < 0)
		return v;
	/* A list ({"items": [...]}), or one task type, whose "params" are
	 * what completes after it. */
	json_t *items = json_is_array(r.json) ? r.json :
	    json_object_get(r.json, "items") ? json_object_get(r.json, "items") :
	    json_object_get(r.json, "params");
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		const char *s = json_string_value(json_object_get(it, field));
		if (s == NULL)
			continue;
		v = xrealloc(v, (n + 2) * sizeof(*v));
		v[n++] = xstrdup(s);
		v[n] = NULL;
	}
	client_resp_release(&r);
	return v;
}

const char *const *client_names(struct client *c, const char *path,
    const char *field)
{
	static const char *const none[] = { NULL };
	struct client_conn *cn = client_current(c);
	if (cn == NULL)
		return none;
	char *key = xasprintf("%s %s %s", cn->name, path, field);
	int64_t now = time_mono_ms();
	struct names_slot *slot = NULL, *oldest = &c->slots[0];
	for (size_t i = 0; i < NAMES_SLOTS; i++) {
		struct names_slot *s = &c->slots[i];
		if (s->key && strcmp(s->key, key) == 0)
			slot = s;
		if (s->key == NULL || s->at_ms < oldest->at_ms)
			oldest = s;
	}
	if (slot && now - slot->at_ms < NAMES_TTL_MS) {
		free(key);
		return (const char *const *)slot->v;
	}
	if (slot == NULL) {
		slot = oldest;
		free(slot->key);
		slot->key = key;
	} else {
		free(key);
	}
	strv_free(slot->v);
	slot->v = fetch_names(c, path, field);
	slot->at_ms = time_mono_ms();
	return (const char *const *)slot->v;
}

const char *const *client_conn_names(struct client *c)
{
	if (c->conn_names == NULL) {
		c->conn_names = xcalloc(c->nconns + 1, sizeof(char *));
		for (size_t i = 0; i < c->nconns; i++)
			c->conn_names[i] = xstrdup(c->conns[i].name);
	}
	return (const char *const *)c->conn_names;
}

char *client_escape(const char *segment)
{
	return http_url_encode(segment, false);
}
