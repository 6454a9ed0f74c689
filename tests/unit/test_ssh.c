/*
 * test_ssh.c - the node client.
 *
 *   test_ssh                 unit tests of what is pure (key lines,
 *                            fingerprints, argument checks)
 *   test_ssh --cli HOST PORT USER KEYFILE HOSTKEY CMD [options]
 *                            run CMD once (or --repeat N times on one pool):
 *                            stdout lines print as "out: LINE", then one
 *                            JSON line {"rc","status","exit","error",...}
 *                            per run.  HOSTKEY "-" pins nothing (use
 *                            --known-hosts FILE).  Options: --timeout MS,
 *                            --cancel-after MS, --connect-timeout MS,
 *                            --repeat N, --known-hosts FILE, --threads N
 *   test_ssh --bench HOST PORT USER KEYFILE HOSTKEY N CMD
 *                            N commands on one pooled session vs N fresh
 *                            sessions; prints both timings
 *
 * The e2e tests (tests/e2e/test_ssh.py) drive --cli against a real sshd.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../../orchestrator/nodes/ssh.h"
#include "t.h"

static const char key_line[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAflPow1hhioU0jADh02eq2d6uKu3uYvB8JjJOj71Y4m test";
static const char key_fp[] = "SHA256:QOuyYiMTFDCVkpyJ9/75yIlrrEvdTITn71FhLt6aw40";

static void test_pubkey(void)
{
	static const struct {
		const char *line;
		int rc;
		const char *type;
	} rows[] = {
		{ key_line, 0, "ssh-ed25519" },
		{ "  ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAflPow1hhioU0jADh02eq2d6uKu3uYvB8JjJOj71Y4m\n",
		  0, "ssh-ed25519" },
		/* type in the line and in the blob disagree */
		{ "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIAflPow1hhioU0jADh02eq2d6uKu3uYvB8JjJOj71Y4m", -1, NULL },
		{ "ssh-ed25519 not*base64*at*all!", -1, NULL },
		{ "ssh-ed25519", -1, NULL },
		{ "", -1, NULL },
		{ "AAAAC3NzaC1lZDI1NTE5AAAAIAflPow1hhioU0jADh02eq2d6uKu3uYvB8JjJOj71Y4m", -1, NULL },
	};
	char type[64];
	unsigned char *blob;
	size_t len;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int rc = ssh_pubkey_parse(rows[i].line, type, sizeof(type), &blob, &len);
		T_CHECK(rc == rows[i].rc, "row %zu: rc %d", i, rc);
		if (rc == 0) {
			T_EQ_STR(type, rows[i].type);
			T_EQ_INT(len, 51); /* 4+11 type, 4+32 key */
			char fp[64];
			ssh_fingerprint(blob, len, fp, sizeof(fp));
			T_EQ_STR(fp, key_fp);
		} else {
			T_CHECK(blob == NULL, "row %zu: blob on failure", i);
		}
		free(blob);
	}
	T_CHECK(ssh_pubkey_parse(NULL, type, sizeof(type), &blob, &len) == -1, "NULL line");
}

static void test_usage_and_refusals(void)
{
	struct ssh_pool *p = ssh_pool_new(1000, 2);
	struct ssh_target t = { .host = "127.0.0.1", .port = 1, .user = "u",
	    .key_file = "/nonexistent", .host_key = key_line,
	    .connect_timeout_ms = 2000 };
	struct ssh_cmd c = { .command = "true" };
	struct ssh_result r;

	/* Missing pieces are a usage error, not a crash. */
	struct ssh_target bad = t;
	bad.user = NULL;
	T_EQ_INT(ssh_run(p, &bad, &c, &r), -1);
	T_EQ_INT(r.status, SSH_ERR_USAGE);
	ssh_result_release(&r);

	/* Unparseable pinned key: refused before connecting. */
	bad = t;
	bad.host_key = "ssh-ed25519 ???";
	T_EQ_INT(ssh_run(p, &bad, &c, &r), -1);
	T_EQ_INT(r.status, SSH_ERR_HOSTKEY);
	T_CHECK(strstr(r.error, "not an OpenSSH public key line") != NULL, "%s", r.error);
	ssh_result_release(&r);

	/* Nobody listens on port 1: a connect error naming the address. */
	T_EQ_INT(ssh_run(p, &t, &c, &r), -1);
	T_EQ_INT(r.status, SSH_ERR_CONNECT);
	T_CHECK(strstr(r.error, "cannot connect to 127.0.0.1 port 1") != NULL, "%s", r.error);
	ssh_result_release(&r);
	T_EQ_INT(ssh_pool_idle(p), 0);
	T_EQ_STR(ssh_status_name(SSH_ERR_HOSTKEY), "hostkey");
	ssh_pool_free(p);
	ssh_pool_free(NULL);
	ssh_result_release(NULL);
}

/* ---- --cli and --bench ---- */

struct cli {
	int64_t cancel_at;
};

static void print_line(void *arg, const char *line)
{
	(void)arg;
	printf("out: %s\n", line);
	fflush(stdout);
}

static bool cancel_cb(void *arg)
{
	struct cli *c = arg;
	return c->cancel_at > 0 && time_mono_ms() >= c->cancel_at;
}

struct job {
	struct ssh_pool *pool;
	struct ssh_target t;
	struct ssh_cmd c;
	int64_t cancel_after;
	int rc;
};

static pthread_mutex_t print_mtx = PTHREAD_MUTEX_INITIALIZER;

static void *run_job(void *arg)
{
	struct job *j = arg;
	struct cli cl = { .cancel_at = j->cancel_after > 0 ?
	    time_mono_ms() + j->cancel_after : 0 };
	struct ssh_cmd c = j->c;
	struct ssh_result r;
	json_t *o;
	char *s;

	c.arg = &cl;
	j->rc = ssh_run(j->pool, &j->t, &c, &r);
	o = json_pack("{s:i, s:s, s:i, s:s, s:s, s:b, s:I, s:s?}", "rc", j->rc,
	    "status", ssh_status_name(r.status), "exit", r.exit_status,
	    "error", r.error, "stderr", r.err_out ? r.err_out : "",
	    "reused", r.reused, "elapsed_ms", (json_int_t)r.elapsed_ms,
	    "signal", r.exit_signal);
	s = json_dumps(o, JSON_COMPACT);
	pthread_mutex_lock(&print_mtx);
	printf("%s\n", s);
	fflush(stdout);
	pthread_mutex_unlock(&print_mtx);
	free(s);
	json_decref(o);
	ssh_result_release(&r);
	return NULL;
}

static int cli(int argc, char **argv)
{
	struct job j;
	int repeat = 1, threads = 1, worst = 0;

	if (argc < 8) {
		fprintf(stderr, "usage: test_ssh --cli HOST PORT USER KEYFILE HOSTKEY CMD [options]\n");
		return 2;
	}
	memset(&j, 0, sizeof(j));
	j.t.host = argv[2];
	j.t.port = atoi(argv[3]);
	j.t.user = argv[4];
	j.t.key_file = argv[5];
	j.t.host_key = strcmp(argv[6], "-") == 0 ? NULL : argv[6];
	j.c.command = argv[7];
	j.c.on_line = print_line;
	j.c.cancelled = cancel_cb;
	for (int i = 8; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--timeout") == 0)
			j.c.timeout_ms = atoll(argv[i + 1]);
		else if (strcmp(argv[i], "--cancel-after") == 0)
			j.cancel_after = atoll(argv[i + 1]);
		else if (strcmp(argv[i], "--connect-timeout") == 0)
			j.t.connect_timeout_ms = atoll(argv[i + 1]);
		else if (strcmp(argv[i], "--repeat") == 0)
			repeat = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--known-hosts") == 0)
			j.t.known_hosts = argv[i + 1];
		else {
			fprintf(stderr, "unknown option %s\n", argv[i]);
			return 2;
		}
	}
	j.pool = ssh_pool_new(30000, 4);
	for (int n = 0; n < repeat; n++) {
		if (threads > 1) {
			pthread_t tid[16];
			struct job js[16];
			int nt = threads > 16 ? 16 : threads;
			for (int k = 0; k < nt; k++) {
				js[k] = j;
				pthread_create(&tid[k], NULL, run_job, &js[k]);
			}
			for (int k = 0; k < nt; k++) {
				pthread_join(tid[k], NULL);
				if (js[k].rc != 0)
					worst = 1;
			}
		} else {
			run_job(&j);
			if (j.rc != 0)
				worst = 1;
		}
	}
	printf("idle: %zu\n", ssh_pool_idle(j.pool));
	ssh_pool_free(j.pool);
	return worst;
}

static int bench(int argc, char **argv)
{
	struct ssh_target t;
	struct ssh_cmd c;
	struct ssh_result r;
	int n;
	int64_t t0, reused_ms, fresh_ms;
	struct ssh_pool *p;

	if (argc < 9) {
		fprintf(stderr, "usage: test_ssh --bench HOST PORT USER KEYFILE HOSTKEY N CMD\n");
		return 2;
	}
	memset(&t, 0, sizeof(t));
	memset(&c, 0, sizeof(c));
	t.host = argv[2];
	t.port = atoi(argv[3]);
	t.user = argv[4];
	t.key_file = argv[5];
	t.host_key = strcmp(argv[6], "-") == 0 ? NULL : argv[6];
	n = atoi(argv[7]);
	c.command = argv[8];

	p = ssh_pool_new(60000, 2);
	t0 = time_mono_ms();
	for (int i = 0; i < n; i++) {
		if (ssh_run(p, &t, &c, &r) != 0) {
			fprintf(stderr, "run %d: %s\n", i, r.error);
			ssh_result_release(&r);
			ssh_pool_free(p);
			return 1;
		}
		ssh_result_release(&r);
	}
	reused_ms = time_mono_ms() - t0;
	ssh_pool_free(p);

	t0 = time_mono_ms();
	for (int i = 0; i < n; i++) {
		p = ssh_pool_new(60000, 2);
		int rc = ssh_run(p, &t, &c, &r);
		ssh_result_release(&r);
		ssh_pool_free(p);
		if (rc != 0)
			return 1;
	}
	fresh_ms = time_mono_ms() - t0;
	printf("{\"commands\":%d,\"reused_total_ms\":%lld,\"reused_per_cmd_ms\":%.2f,"
	    "\"fresh_total_ms\":%lld,\"fresh_per_cmd_ms\":%.2f,\"speedup\":%.1f}\n",
	    n, (long long)reused_ms, (double)reused_ms / n, (long long)fresh_ms,
	    (double)fresh_ms / n, reused_ms > 0 ? (double)fresh_ms / (double)reused_ms : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--cli") == 0)
		return cli(argc, argv);
	if (argc > 1 && strcmp(argv[1], "--bench") == 0)
		return bench(argc, argv);
	test_pubkey();
	test_usage_and_refusals();
	return t_done("test_ssh");
}
