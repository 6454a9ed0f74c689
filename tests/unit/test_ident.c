/*
 * test_ident.c - node identity: what a check-in may not change of a known
 * node (service_identity_change), the agent's node credential (answers,
 * its shape, its file), the store's node credentials and join tokens,
 * and auth_verify() over them: join tokens in and after their grace,
 * node credentials for their own node only, revoked ones refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/agentcfg.h"
#include "../../agent/checkin.h"
#include "../../common/sha256.h"
#include "../../common/util.h"
#include "../../orchestrator/http/auth.h"
#include "../../orchestrator/service/service.h"
#include "../../orchestrator/store/store.h"
#include "t.h"

static char dir[] = "/tmp/test_ident.XXXXXX";

static void test_identity_change(void)
{
	static const char *const key = "ssh-ed25519 AAAAC3NzaKEY1 root@a";
	static const struct {
		struct svc_identity known;
		const char *host_id, *key, *dc, *rack;
		const char *want;	/* field, or NULL */
	} rows[] = {
		/* the same node, or values it does not send: nothing */
		{ { "h1", key, "dc1", "r1" }, "h1", key, "dc1", "r1", NULL },
		{ { "h1", key, "dc1", "r1" }, NULL, NULL, "dc1", "r1", NULL },
		{ { NULL, NULL, "dc1", "r1" }, "h2", key, "dc1", "r1", NULL },
		/* another comment on the same key is the same key */
		{ { "h1", key, "dc1", "r1" }, "h1", "ssh-ed25519 AAAAC3NzaKEY1",
		  "dc1", "r1", NULL },
		{ { "h1", key, "dc1", "r1" }, "h1",
		  "  ssh-ed25519\tAAAAC3NzaKEY1 other", "dc1", "r1", NULL },
		/* each part of the identity */
		{ { "h1", key, "dc1", "r1" }, "h2", key, "dc1", "r1", "host_id" },
		{ { "h1", key, "dc1", "r1" }, "h1", "ssh-ed25519 AAAAC3NzaKEY2 root@a",
		  "dc1", "r1", "ssh_host_key" },
		{ { "h1", key, "dc1", "r1" }, "h1", "ssh-ed25519 AAAAC3NzaKEY1x",
		  "dc1", "r1", "ssh_host_key" },
		{ { "h1", key, "dc1", "r1" }, "h1", "ssh-rsa AAAAC3NzaKEY1", "dc1",
		  "r1", "ssh_host_key" },
		{ { "h1", key, "dc1", "r1" }, "h1", key, "dc2", "r1", "dc" },
		{ { "h1", key, "dc1", "r1" }, "h1", key, "dc1", "r2", "rack" },
		/* host id first when several change */
		{ { "h1", key, "dc1", "r1" }, "h9", "ssh-ed25519 X", "dc9", "r9",
		  "host_id" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct svc_checkin ci;
		char why[256] = "";
		const char *got;

		memset(&ci, 0, sizeof(ci));
		ci.host_id = rows[i].host_id;
		ci.ssh_host_key = rows[i].key;
		ci.dc = rows[i].dc;
		ci.rack = rows[i].rack;
		got = service_identity_change(&rows[i].known, &ci, why,
		    sizeof(why));
		if (rows[i].want == NULL) {
			T_CHECK(got == NULL, "row %zu: %s (%s)", i, got, why);
		} else {
			T_CHECK(got != NULL && strcmp(got, rows[i].want) == 0,
			    "row %zu: got %s, want %s", i, got ? got : "(none)",
			    rows[i].want);
			T_CHECK(why[0] != '\0', "row %zu: no reason", i);
		}
	}
}

static void test_agent_credential(void)
{
	static const char *const good =
	    "rmn_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	static const struct {
		const char *s;
		bool ok;
	} shapes[] = {
		{ "rmn_0123456789abcdef", true },
		{ "rmn_0123456789abcde", false },	/* 15: too short */
		{ "rm_0123456789abcdef01", false },	/* an operator token */
		{ "rmn_0123456789abcdef\n", false },
		{ "rmn_0123456789abcdef x", false },
		{ "rmn_0123456789abcdef\"", false },
		{ "", false },
		{ NULL, false },
	};
	static const struct {
		const char *body;
		int rc;
		const char *cred, *err;
	} answers[] = {
		{ "{\"role\":\"rejoin\",\"credential\":\"rmn_0123456789abcdef\"}",
		  0, "rmn_0123456789abcdef", NULL },
		{ "{\"role\":\"rejoin\"}", 0, NULL, NULL },
		{ "{\"role\":\"rejoin\",\"credential\":null}", 0, NULL, NULL },
		{ "{\"role\":\"rejoin\",\"credential\":42}", -1, NULL,
		  "not a node credential" },
		{ "{\"role\":\"rejoin\",\"credential\":\"rmn_x\\ny\"}", -1, NULL,
		  "not a node credential" },
	};
	char err[512], conf[1024], *path, *got;
	struct agentcfg *c;
	struct stat sb;
	json_t *b;

	for (size_t i = 0; i < ARRAY_SIZE(shapes); i++)
		T_CHECK(checkin_cred_valid(shapes[i].s) == shapes[i].ok,
		    "shape %zu", i);
	for (size_t i = 0; i < ARRAY_SIZE(answers); i++) {
		struct checkin_answer a;
		err[0] = '\0';
		int rc = checkin_parse_answer(answers[i].body,
		    strlen(answers[i].body), &a, err, sizeof(err));
		T_CHECK(rc == answers[i].rc, "answer %zu: rc %d (%s)", i, rc, err);
		if (rc == 0 && answers[i].cred != NULL)
			T_EQ_STR(a.credential, answers[i].cred);
		else if (rc == 0)
			T_CHECK(a.credential == NULL, "answer %zu: credential", i);
		else
			T_CHECK(strstr(err, answers[i].err) != NULL,
			    "answer %zu: '%s'", i, err);
		checkin_answer_release(&a);
	}

	snprintf(conf, sizeof(conf), "orchestrator = http://127.0.0.1:1\n"
	    "cluster = prod\naddress = 10.0.0.1\ndc = dc1\nrack = r1\n"
	    "state_dir = %s/agent-state\n", dir);
	c = agentcfg_parse("a.conf", conf, err, sizeof(err));
	T_CHECK(c != NULL, "%s", err);
	if (c == NULL)
		return;
	struct checkin_facts f = { .version = "4.1.1" };
	b = checkin_body(c, &f);
	T_CHECK(json_is_true(json_object_get(b, "wants_credential")),
	    "check-in says the agent keeps a credential");
	json_decref(b);
	/* No file: no credential, and no complaint. */
	got = checkin_cred_load(c, err, sizeof(err));
	T_CHECK(got == NULL && err[0] == '\0', "no file: '%s'", err);
	/* Saved 0600 in a state_dir made for it, read back. */
	T_EQ_INT(checkin_cred_save(c, good, err, sizeof(err)), 0);
	path = checkin_cred_path(c);
	T_CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	    "mode %o", (unsigned)(sb.st_mode & 0777));
	got = checkin_cred_load(c, err, sizeof(err));
	T_EQ_STR(got, good);
	free(got);
	/* A file that holds something else is not sent. */
	T_EQ_INT(file_write_atomic(path, "hello\n", 6, 0600), 0);
	got = checkin_cred_load(c, err, sizeof(err));
	T_CHECK(got == NULL && strstr(err, "holds no credential") != NULL,
	    "'%s'", err);
	free(path);
	agentcfg_free(c);
}

static void add_node(struct store *st, const char *cluster, const char *addr)
{
	char err[256] = "";
	struct store_node n = {
		.cluster = cluster, .address = addr, .dc = "dc1", .rack = "r1",
		.state = "up", .last_heartbeat = 1, .load_bytes = -1,
		.is_seed = -1,
	};

	T_EQ_INT(store_node_upsert(st, &n, NULL, err, sizeof(err)), 0);
}

static void test_store_creds(struct store *st)
{
	struct store_node_cred cr;
	struct store_cluster cl = {
		.name = "prod", .storage_url = "file:///tmp/x",
		.ssh_user = "u", .ssh_key_file = "/k",
	};
	char err[256] = "", c[80], a[80], h[2 * SHA256_LEN + 1];

	T_EQ_INT(store_cluster_create(st, &cl, err, sizeof(err)), 0);
	add_node(st, "prod", "10.0.0.1");
	add_node(st, "prod", "10.0.0.2");
	T_EQ_INT(store_node_cred_get(st, "prod", "10.0.0.1", &cr), 0);
	T_EQ_INT(cr.state, STORE_CRED_NONE);
	sha256_hex("rmn_a", 5, h);
	T_EQ_INT(store_node_cred_set(st, "prod", "10.0.0.1", h, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_node_cred_get(st, "prod", "10.0.0.1", &cr), 0);
	T_EQ_INT(cr.state, STORE_CRED_ACTIVE);
	T_EQ_STR(cr.hash, h);
	T_EQ_INT(store_node_cred_lookup(st, h, c, sizeof(c), a, sizeof(a)), 0);
	T_EQ_STR(c, "prod");
	T_EQ_STR(a, "10.0.0.1");
	/* one hash, one node */
	T_CHECK(store_node_cred_set(st, "prod", "10.0.0.2", h, err,
	    sizeof(err)) != 0, "a hash given to two nodes");
	/* no such node */
	T_EQ_INT(store_node_cred_set(st, "prod", "10.0.0.9", "00ff", err,
	    sizeof(err)), RM_ENOENT);
	T_EQ_INT(store_node_cred_revoke(st, "prod", "10.0.0.9", false, err,
	    sizeof(err)), RM_ENOENT);
	/* revoked: the hash is gone */
	T_EQ_INT(store_node_cred_revoke(st, "prod", "10.0.0.1", false, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_node_cred_get(st, "prod", "10.0.0.1", &cr), 0);
	T_EQ_INT(cr.state, STORE_CRED_REVOKED);
	T_EQ_STR(cr.hash, "");
	T_EQ_INT(store_node_cred_lookup(st, h, c, sizeof(c), a, sizeof(a)),
	    RM_ENOENT);
	T_EQ_INT(store_node_cred_revoke(st, "prod", "10.0.0.1", true, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_node_cred_get(st, "prod", "10.0.0.1", &cr), 0);
	T_EQ_INT(cr.state, STORE_CRED_READMIT);
	/* the credential goes with its node */
	T_EQ_INT(store_node_cred_set(st, "prod", "10.0.0.2", h, err,
	    sizeof(err)), 0);
	T_EQ_INT(store_node_delete(st, "prod", "10.0.0.2", err, sizeof(err)), 0);
	T_EQ_INT(store_node_cred_lookup(st, h, c, sizeof(c), a, sizeof(a)),
	    RM_ENOENT);
	add_node(st, "prod", "10.0.0.2");
	T_EQ_INT(store_node_cred_get(st, "prod", "10.0.0.2", &cr), 0);
	T_EQ_INT(cr.state, STORE_CRED_NONE);
	T_EQ_STR(store_cred_state_name(STORE_CRED_READMIT), "readmit");
}

static void test_store_join(struct store *st)
{
	struct store_join_token *v = NULL;
	size_t n = 0;
	char err[256] = "";

	T_EQ_INT(store_join_rotate(st, "aa", 1000, err, sizeof(err)), 0);
	T_EQ_INT(store_join_rotate(st, "bb", 5000, err, sizeof(err)), 0);
	T_EQ_INT(store_join_list(st, &v, &n), 0);
	T_EQ_INT(n, 2);
	if (n == 2) {
		T_EQ_STR(v[0].hash, "bb");	/* current first */
		T_EQ_INT(v[0].expires_at, 0);
		T_EQ_STR(v[1].hash, "aa");
		T_EQ_INT(v[1].expires_at, 5000);
	}
	free(v);
	/* a rotation whose file could not be written is undone */
	T_EQ_INT(store_join_rotate(st, "cc", 9000, err, sizeof(err)), 0);
	T_EQ_INT(store_join_unrotate(st, "cc", 9000, err, sizeof(err)), 0);
	T_EQ_INT(store_join_list(st, &v, &n), 0);
	T_EQ_INT(n, 2);
	if (n == 2) {
		T_EQ_STR(v[0].hash, "bb");
		T_EQ_INT(v[0].expires_at, 0);
	}
	free(v);
}

static bool verify(struct auth *a, const char *tok, struct auth_id *id)
{
	char hdr[300];

	snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
	return auth_verify(a, hdr, id) == 0;
}

static void test_auth(struct store *st)
{
	char err[512] = "", jf[300], *old, *tok = NULL, h[2 * SHA256_LEN + 1];
	const char *cred = "rmn_00112233445566778899aabbccddeeff";
	struct auth_id id;
	struct auth *a;
	bool created = false;
	int64_t until = 0;

	snprintf(jf, sizeof(jf), "%s/join.token", dir);
	a = auth_open(st, jf, &created, err, sizeof(err));
	T_CHECK(a != NULL && created, "auth_open: %s", err);
	if (a == NULL)
		return;
	old = checkin_read_line(jf, "join token", err, sizeof(err));
	T_CHECK(old != NULL, "%s", err);
	if (old == NULL)
		goto out;
	T_CHECK(verify(a, old, &id) && id.role == ROLE_AGENT, "join token");
	T_CHECK(!verify(a, "rm_nope", &id), "an unknown token");

	/* rotated with a grace: both work, the file holds the new one */
	T_EQ_INT(auth_join_rotate(st, jf, 60000, &tok, &until, err,
	    sizeof(err)), 0);
	T_CHECK(tok != NULL && strcmp(tok, old) != 0, "a new token");
	T_CHECK(until > time_wall_ms() + 50000, "grace end %lld",
	    (long long)until);
	usleep(1100 * 1000);	/* the join tokens are read every second */
	T_CHECK(verify(a, tok, &id) && id.role == ROLE_AGENT, "new join token");
	T_CHECK(verify(a, old, &id), "old join token in its grace");
	free(old);
	old = checkin_read_line(jf, "join token", err, sizeof(err));
	T_EQ_STR(old, tok);
	free(old);
	old = tok;
	tok = NULL;
	/* rotated with no grace: the previous one stops */
	T_EQ_INT(auth_join_rotate(st, jf, 0, &tok, &until, err, sizeof(err)),
	    0);
	usleep(1100 * 1000);
	T_CHECK(!verify(a, old, &id), "old join token after its grace");
	T_CHECK(verify(a, tok, &id), "new join token");

	/* a node credential: its node, its hash */
	sha256_hex(cred, strlen(cred), h);
	T_EQ_INT(store_node_cred_set(st, "prod", "10.0.0.2", h, err,
	    sizeof(err)), 0);
	T_CHECK(verify(a, cred, &id) && id.role == ROLE_NODE, "node credential");
	T_EQ_STR(id.node_cluster, "prod");
	T_EQ_STR(id.node_address, "10.0.0.2");
	T_EQ_STR(id.cred_hash, h);
	T_EQ_INT(store_node_cred_revoke(st, "prod", "10.0.0.2", false, err,
	    sizeof(err)), 0);
	usleep(1100 * 1000);	/* the cache's second */
	T_CHECK(!verify(a, cred, &id), "revoked node credential");
	/* named tokens never get the agents' roles */
	T_CHECK(auth_token_create(st, "n", ROLE_NODE, &tok, err,
	    sizeof(err)) != 0, "a named token with role node");
out:
	free(old);
	free(tok);
	auth_free(a);
}

int main(void)
{
	char err[256] = "", path[300];
	struct store *st;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_identity_change();
	test_agent_credential();
	snprintf(path, sizeof(path), "%s/state.db", dir);
	st = store_open(path, err, sizeof(err));
	T_CHECK(st != NULL, "store_open: %s", err);
	if (st == NULL)
		return t_done("test_ident");
	test_store_creds(st);
	test_store_join(st);
	test_auth(st);
	store_close(st);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return t_done("test_ident");
}
