/*
 * checkin.c - see checkin.h.
 */
#include "checkin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/http.h"
#include "../common/jsonstr.h"
#include "../common/log.h"
#include "../common/orchlist.h"
#include "../common/util.h"
#include "agentcfg.h"
#include "cassconf.h"
#include "datadir.h"

/* Node credentials as the orchestrator makes them (store_token.h). */
#define CHECKIN_CRED_PREFIX "rmn_"

const char *checkin_role_name(enum checkin_role r)
{
	switch (r) {
	case CHECKIN_BOOTSTRAP:
		return "bootstrap";
	case CHECKIN_REJOIN:
		return "rejoin";
	case CHECKIN_REPLACE:
		return "replace";
	case CHECKIN_WAIT:
		return "wait";
	}
	return "?";
}

json_t *checkin_body(const struct agentcfg *c, const struct checkin_facts *f)
{
	json_t *b = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s, s:b, s:b, s:b}",
	    "cluster", c->cluster, "address", c->address, "dc", c->dc,
	    "rack", c->rack, "cassandra_version", f->version ? f->version :
	    "unknown", "cassandra_running", f->cassandra_running, "has_data",
	    f->has_data, "system_keyspace", f->system_keyspace);

	/* This agent keeps the node credential an answer may carry. */
	json_object_set_new(b, "wants_credential", json_true());

	if (f->host_id != NULL)
		json_object_set_new(b, "host_id", json_string(f->host_id));
	if (f->ssh_host_key != NULL)
		json_object_set_new(b, "ssh_host_key", json_string(f->ssh_host_key));
	if (f->start_failures > 0) {
		json_object_set_new(b, "start_failures",
		    json_integer(f->start_failures));
		if (f->start_error != NULL)
			json_object_set_new(b, "start_error",
			    jsonstr(f->start_error));
	}
	return b;
}

static int found_table(const struct datadir_table *t, void *arg)
{
	(void)t;
	(void)arg;
	return 1;
}

bool checkin_has_system_keyspace(const struct agentcfg *c)
{
	return datadir_walk(c->data_dirs, c->n_data_dirs, "system", 0,
	    found_table, NULL) != 0;
}

bool checkin_may_write_seeds(const struct checkin_facts *f, char *why,
    size_t whylen)
{
	if (f->cassandra_running)
		snprintf(why, whylen, "Cassandra is running on this node");
	else if (f->host_id != NULL)
		snprintf(why, whylen, "the node has a host id (%s): it has "
		    "joined a cluster before", f->host_id);
	else if (f->has_data)
		snprintf(why, whylen, "the node's data dirs hold SSTables");
	else if (f->system_keyspace)
		snprintf(why, whylen, "the node's data dirs hold a system "
		    "keyspace: Cassandra has run here");
	else
		return true;
	return false;
}

int checkin_parse_answer(const char *body, size_t len,
    struct checkin_answer *a, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j = json_loadb(body, len, 0, &je), *v;
	const char *role;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	if (j == NULL || !json_is_object(j)) {
		snprintf(err, errlen, "answer is not a JSON object%s%s",
		    j ? "" : ": ", j ? "" : je.text);
		goto out;
	}
	role = json_string_value(json_object_get(j, "role"));
	if (role == NULL) {
		snprintf(err, errlen, "answer has no 'role'");
		goto out;
	}
	if (strcmp(role, "bootstrap") == 0)
		a->role = CHECKIN_BOOTSTRAP;
	else if (strcmp(role, "rejoin") == 0)
		a->role = CHECKIN_REJOIN;
	else if (strcmp(role, "replace") == 0)
		a->role = CHECKIN_REPLACE;
	else if (strcmp(role, "wait") == 0)
		a->role = CHECKIN_WAIT;
	else {
		snprintf(err, errlen, "answer has unknown role '%.32s'", role);
		goto out;
	}
	v = json_object_get(j, "seeds");
	if (v != NULL && !json_is_array(v) && !json_is_null(v)) {
		snprintf(err, errlen, "answer's 'seeds' is not a list");
		goto out;
	}
	if (checkin_seeds_parse(v, "answer", &a->seeds, &a->n_seeds, err,
	    errlen) != 0)
		goto out;
	v = json_object_get(j, "replace_address");
	if (json_is_string(v)) {
		if (!cassconf_address_valid(json_string_value(v))) {
			snprintf(err, errlen, "answer's replace_address is not an address");
			goto out;
		}
		a->replace_address = xstrdup(json_string_value(v));
	}
	if (a->role == CHECKIN_REPLACE && a->replace_address == NULL) {
		snprintf(err, errlen, "answer says replace but gives no replace_address");
		goto out;
	}
	if (a->role == CHECKIN_BOOTSTRAP && a->n_seeds == 0) {
		snprintf(err, errlen, "answer says bootstrap but gives no seeds");
		goto out;
	}
	v = json_object_get(j, "heartbeat_interval_s");
	if (json_is_number(v) && json_number_value(v) > 0)
		a->heartbeat_interval_ms = (int64_t)(json_number_value(v) * 1000.0);
	v = json_object_get(j, "retry_after_s");
	if (a->role == CHECKIN_WAIT) {
		double ms;
		if (!json_is_number(v) || json_number_value(v) <= 0) {
			snprintf(err, errlen, "answer says wait but gives no "
			    "positive retry_after_s");
			goto out;
		}
		/* An orchestrator's mistake must neither spin nor park the
		 * node for hours. */
		ms = json_number_value(v) * 1000.0;
		a->retry_after_ms = ms < CHECKIN_WAIT_MIN_MS ?
		    CHECKIN_WAIT_MIN_MS : ms > CHECKIN_WAIT_MAX_MS ?
		    CHECKIN_WAIT_MAX_MS : (int64_t)ms;
	}
	v = json_object_get(j, "reason");
	if (json_is_string(v))
		a->reason = xstrndup(json_string_value(v), 512);
	v = json_object_get(j, "credential");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || !checkin_cred_valid(json_string_value(v))) {
			snprintf(err, errlen, "answer's credential is not a node "
			    "credential (rmn_ and 16 to 128 letters or digits)");
			goto out;
		}
		a->credential = xstrdup(json_string_value(v));
	}
	rc = 0;
out:
	if (rc != 0)
		checkin_answer_release(a);
	json_decref(j);
	return rc;
}

int checkin_seeds_parse(const json_t *v, const char *what, char ***seeds,
    size_t *n, char *err, size_t errlen)
{
	*n = 0;
	*seeds = xcalloc(json_array_size(v) + 1, sizeof(char *));
	for (size_t i = 0; i < json_array_size(v); i++) {
		const char *s = json_string_value(json_array_get(v, i));
		if (!cassconf_address_valid(s)) {
			snprintf(err, errlen, "%s's seed %zu is not an address",
			    what, i);
			checkin_seeds_free(*seeds, *n);
			*seeds = NULL;
			*n = 0;
			return -1;
		}
		(*seeds)[(*n)++] = xstrdup(s);
	}
	return 0;
}

void checkin_seeds_free(char **seeds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(seeds[i]);
	free(seeds);
}

void checkin_answer_release(struct checkin_answer *a)
{
	if (a == NULL)
		return;
	checkin_seeds_free(a->seeds, a->n_seeds);
	free(a->replace_address);
	free(a->reason);
	if (a->credential != NULL) {
		memset(a->credential, 0, strlen(a->credential));
		free(a->credential);
	}
	memset(a, 0, sizeof(*a));
}

/* The API's error message, or the start of the body. */
static void api_message(const struct http_resp *r, char *buf, size_t len)
{
	json_t *j = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
	json_t *e = json_object_get(j, "error");
	/* {"error": {"code", "message"}}, or a standby's {"error": "code",
	 * "message"} (docs/api.md, "Several orchestrators"). */
	const char *m = json_string_value(json_object_get(json_is_string(e) ?
	    j : e, "message"));

	if (m != NULL)
		snprintf(buf, len, "%s", m);
	else
		snprintf(buf, len, "%.120s", r->body ? r->body : "");
	json_decref(j);
}

/* Did the API answer 400 unknown_field? */
static bool unknown_field(const struct http_resp *r)
{
	json_t *j = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
	const char *code = json_string_value(json_object_get(json_object_get(j,
	    "error"), "code"));
	bool yes = code != NULL && strcmp(code, "unknown_field") == 0;

	json_decref(j);
	return yes;
}

int checkin_request(struct http_client *h, const struct agentcfg *c,
    const char *token, const char *path, const json_t *body,
    struct http_resp *resp, char **url_out, char *err, size_t errlen)
{
	struct http_req req;
	struct http_header hdr = { "Content-Type", "application/json" };
	struct orchlist_call call = { 0 };
	char *text = json_dumps(body, JSON_COMPACT);
	int rc;

	http_req_init(&req, "POST", NULL);
	req.bearer = token;
	req.body = text;
	req.body_len = strlen(text);
	req.headers = &hdr;
	req.nheaders = 1;
	req.ca_file = c->ca_file;
	req.timeout_ms = (long)c->http_timeout_ms;
	/* A dead orchestrator should cost the connect time, not the whole timeout. */
	req.connect_timeout_ms = (long)(c->http_timeout_ms < 5000 ?
	    c->http_timeout_ms : 5000);
	/* A check-in or a heartbeat taken twice does no harm: the agent
	 * repeats them anyway, so any orchestrator may get it again. */
	call.resend_unsure = true;
	rc = orchlist_do(c->orchs, h, &req, path, resp, &call);
	free(text);
	if (call.note[0] != '\0')
		log_info("orchestrator: %s", call.note);
	err[0] = '\0';
	if (rc == 0 && call.err[0] != '\0')
		snprintf(err, errlen, "%s", call.err);
	if (rc != 0) {
		if (call.redirect_refused)
			snprintf(err, errlen, "%s; if it is one of yours, add "
			    "it to the key 'orchestrator' in %s", call.err,
			    c->path);
		else
			snprintf(err, errlen, "%s", call.err);
	}
	if (url_out != NULL) {
		*url_out = call.url;
		call.url = NULL;
	}
	orchlist_call_release(&call);
	return rc;
}

enum checkin_outcome checkin_post(struct http_client *h,
    const struct agentcfg *c, const char *token, bool cred,
    const json_t *body, struct checkin_answer *a, char *err, size_t errlen)
{
	struct http_resp resp;
	char *url = NULL;
	char msg[256], why[256];
	enum checkin_outcome out;

	memset(a, 0, sizeof(*a));
	char rerr[1024];

	if (checkin_request(h, c, token, "/api/v1/agents/checkin", body, &resp,
	    &url, rerr, sizeof(rerr)) != 0) {
		snprintf(err, errlen, "cannot check in: %s", rerr);
		out = CHECKIN_UNREACHABLE;
		goto done;
	}
	api_message(&resp, msg, sizeof(msg));
	if (resp.status == 400 && json_object_get(body, "wants_credential") &&
	    unknown_field(&resp)) {
		/* An orchestrator from before node credentials: ask as the
		 * agents it knows do, and go on with the join token. */
		json_t *b2 = json_deep_copy(body);
		json_object_del(b2, "wants_credential");
		http_resp_release(&resp);
		free(url);
		out = checkin_post(h, c, token, cred, b2, a, err, errlen);
		json_decref(b2);
		return out;
	}
	if ((resp.status == 401 || resp.status == 403) && cred) {
		snprintf(err, errlen, "node credential refused by %s (%ld: %s); "
		    "trying the join token next", url, resp.status, msg);
		out = CHECKIN_REFUSED;
	} else if (resp.status == 401 || resp.status == 403) {
		snprintf(err, errlen, "join token refused by %s (%ld: %s); check "
		    "join_token_file '%s' against the orchestrator's join token",
		    url, resp.status, msg, c->join_token_file);
		out = CHECKIN_REFUSED;
	} else if (resp.status >= 400 && resp.status < 500) {
		snprintf(err, errlen, "check-in rejected by %s (%ld: %s); fix "
		    "%s", url, resp.status, msg, c->path);
		out = CHECKIN_REJECTED;
	} else if (resp.status < 200 || resp.status >= 300) {
		if (rerr[0] != '\0')	/* every orchestrator failed */
			snprintf(err, errlen, "cannot check in: %s", rerr);
		else
			snprintf(err, errlen, "check-in failed at %s (%ld: %s)",
			    url, resp.status, msg);
		out = CHECKIN_UNREACHABLE;
	} else if (checkin_parse_answer(resp.body ? resp.body : "",
	    resp.body_len, a, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "check-in answer from %s unusable: %s",
		    url, why);
		out = CHECKIN_UNREACHABLE;
	} else {
		out = CHECKIN_OK;
	}
done:
	http_resp_release(&resp);
	free(url);
	return out;
}

int64_t checkin_backoff_ms(unsigned attempt, int64_t cap_ms, uint32_t rnd)
{
	int64_t d = 1000;

	for (unsigned i = 0; i < attempt && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	/* jitter in [-20%, +20%] */
	d += (int64_t)((double)d * (((double)(rnd % 4001) - 2000.0) / 10000.0));
	return d < 50 ? 50 : d;
}

char *checkin_read_line(const char *path, const char *what, char *err,
    size_t errlen)
{
	char *s, *nl;

	if (path == NULL) {
		snprintf(err, errlen, "no %s file configured", what);
		return NULL;
	}
	if ((s = file_read_all(path, 64 * 1024, NULL)) == NULL) {
		snprintf(err, errlen, "cannot read %s '%s': %s", what, path,
		    strerror(errno));
		return NULL;
	}
	if ((nl = strchr(s, '\n')) != NULL)
		*nl = '\0';
	str_trim(s);
	if (*s == '\0') {
		snprintf(err, errlen, "%s '%s' is empty", what, path);
		free(s);
		return NULL;
	}
	return s;
}

bool checkin_cred_valid(const char *s)
{
	size_t n = strlen(CHECKIN_CRED_PREFIX), len;

	if (s == NULL || strncmp(s, CHECKIN_CRED_PREFIX, n) != 0)
		return false;
	len = strlen(s + n);
	if (len < 16 || len > 128)
		return false;
	for (const char *p = s + n; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z')))
			return false;
	return true;
}

char *checkin_cred_path(const struct agentcfg *c)
{
	return xasprintf("%s/node.credential", c->state_dir);
}

char *checkin_cred_load(const struct agentcfg *c, char *err, size_t errlen)
{
	char *path = checkin_cred_path(c), *s;

	err[0] = '\0';
	s = file_read_all(path, 4096, NULL);
	if (s == NULL) {
		if (errno != ENOENT)
			snprintf(err, errlen, "cannot read node credential '%s': "
			    "%s; using the join token", path, strerror(errno));
		free(path);
		return NULL;
	}
	str_trim(s);
	if (!checkin_cred_valid(s)) {
		snprintf(err, errlen, "node credential file '%s' holds no "
		    "credential; using the join token (an admin may have to "
		    "readmit the node: 'ringmaster node readmit')", path);
		memset(s, 0, strlen(s));
		free(s);
		s = NULL;
	}
	free(path);
	return s;
}

int checkin_cred_save(const struct agentcfg *c, const char *cred, char *err,
    size_t errlen)
{
	char *path = checkin_cred_path(c), *line;
	int rc = 0;

	if (mkdir(c->state_dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create state_dir '%s': %s",
		    c->state_dir, strerror(errno));
		free(path);
		return -1;
	}
	line = xasprintf("%s\n", cred);
	if (file_write_atomic(path, line, strlen(line), 0600) != 0) {
		snprintf(err, errlen, "cannot write node credential '%s': %s",
		    path, strerror(errno));
		rc = -1;
	}
	memset(line, 0, strlen(line));
	free(line);
	free(path);
	return rc;
}
