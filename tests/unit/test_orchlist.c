/*
 * test_orchlist.c - the orchestrator list (common/orchlist.c): what a list
 * of URLs may hold, and which Locations a redirect may be followed to.
 * The request loop itself runs against real servers in
 * tests/e2e/test_orchestrator_list.py.
 */
#include <stdlib.h>
#include <string.h>

#include "../../agent/agentcfg.h"
#include "../../common/http.h"
#include "../../common/orchlist.h"
#include "../../shell/client.h"
#include "t.h"

struct parse_case {
	const char *text;
	int rc;
	size_t n;
	const char *first, *last;	/* bases when rc == 0 */
	const char *err_has;		/* part of the error when rc == -1 */
};

static const struct parse_case parse_cases[] = {
	/* One URL works as it always did. */
	{ "http://127.0.0.1:7400", 0, 1, "http://127.0.0.1:7400", NULL, NULL },
	{ "https://rm.example:7400/", 0, 1, "https://rm.example:7400", NULL, NULL },
	{ "https://rm.example:7400///", 0, 1, "https://rm.example:7400", NULL, NULL },
	{ "https://rm.example/ringmaster/", 0, 1, "https://rm.example/ringmaster", NULL, NULL },
	{ "http://a:1,http://b:2", 0, 2, "http://a:1", "http://b:2", NULL },
	/* Blanks around items are trimmed. */
	{ "  http://a:1 ,\thttp://b:2  ", 0, 2, "http://a:1", "http://b:2", NULL },
	{ "http://[::1]:7400,http://[fe80::1]", 0, 2, "http://[::1]:7400", "http://[fe80::1]", NULL },
	/* The same host on another port or scheme is another orchestrator. */
	{ "http://a:7400,http://a:7401,https://a:7400", 0, 3, "http://a:7400", "https://a:7400", NULL },
	/* Hostile or mistaken input. */
	{ "", -1, 0, NULL, NULL, "item 1" },
	/* A base path a redirect could never match (dot segments). */
	{ "http://a:1/x/../y", -1, 0, NULL, NULL, "'..' path segment" },
	{ "http://a:1/.", -1, 0, NULL, NULL, "'..' path segment" },
	{ "http://a:1/%2E/", -1, 0, NULL, NULL, "'..' path segment" },
	{ "   ", -1, 0, NULL, NULL, "empty" },
	{ "http://a:1,,http://b:2", -1, 0, NULL, NULL, "item 2 of the orchestrator list is empty" },
	{ "http://a:1,", -1, 0, NULL, NULL, "item 2 of the orchestrator list is empty" },
	{ ",http://a:1", -1, 0, NULL, NULL, "item 1 of the orchestrator list is empty" },
	{ "http://a:1,http://a:1", -1, 0, NULL, NULL, "same orchestrator as item 1" },
	{ "http://a:1,http://A:1/", -1, 0, NULL, NULL, "same orchestrator as item 1" },
	{ "http://a,http://a:80", -1, 0, NULL, NULL, "same orchestrator" },
	{ "https://a:443,https://a", -1, 0, NULL, NULL, "same orchestrator" },
	{ "http://user:pw@a:1", -1, 0, NULL, NULL, "user name or password" },
	{ "http://a:1,http://tok@b:2", -1, 0, NULL, NULL, "item 2" },
	{ "http://a b:1", -1, 0, NULL, NULL, "blank or control" },
	{ "http://a:1 http://b:2", -1, 0, NULL, NULL, "blank or control" },
	{ "http://a:1\n", 0, 1, "http://a:1", NULL, NULL },	/* trimmed */
	{ "http://a\r:1", -1, 0, NULL, NULL, "blank or control" },
	{ "ftp://a:1", -1, 0, NULL, NULL, "not an http:// or https:// URL" },
	{ "a:7400", -1, 0, NULL, NULL, "not an http" },
	{ "http://", -1, 0, NULL, NULL, "no host" },
	{ "http://:7400", -1, 0, NULL, NULL, "no host" },
	{ "http://a:", -1, 0, NULL, NULL, "port" },
	{ "http://a:0", -1, 0, NULL, NULL, "outside 1-65535" },
	{ "http://a:65536", -1, 0, NULL, NULL, "outside 1-65535" },
	{ "http://a:123456", -1, 0, NULL, NULL, "port" },
	{ "http://a:7x", -1, 0, NULL, NULL, "not a number" },
	{ "http://a:1?x=1", -1, 0, NULL, NULL, "query or fragment" },
	{ "http://a:1/#f", -1, 0, NULL, NULL, "query or fragment" },
	{ "http://[::1", -1, 0, NULL, NULL, "closing ']'" },
	{ "http://[]:1", -1, 0, NULL, NULL, "closing ']'" },
	{ "http://[zz::1]:1", -1, 0, NULL, NULL, "not an IPv6" },
	{ "http://[127.0.0.1]:1", -1, 0, NULL, NULL, "not an IPv6" },
	{ "http://[::1]x:1", -1, 0, NULL, NULL, "after the IPv6" },
	{ "http://a%2Fb:1", -1, 0, NULL, NULL, "not a host name" },
};

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *pc = &parse_cases[i];
		struct orchlist l;
		char err[512] = "";
		int rc = orchlist_parse(&l, pc->text, err, sizeof(err));

		T_CHECK(rc == pc->rc, "'%s': rc %d, want %d (%s)", pc->text, rc,
		    pc->rc, err);
		if (rc == 0 && pc->rc == 0) {
			T_EQ_INT(l.n, pc->n);
			T_EQ_INT(l.cur, 0);
			T_EQ_STR(orchlist_current(&l), pc->first);
			if (pc->last)
				T_EQ_STR(l.v[l.n - 1].base, pc->last);
		} else if (rc != 0) {
			T_CHECK(strstr(err, pc->err_has) != NULL,
			    "'%s': error '%s' lacks '%s'", pc->text, err,
			    pc->err_has);
			/* Nothing kept on failure. */
			T_CHECK(l.n == 0 && l.v == NULL, "'%s': list kept", pc->text);
		}
		orchlist_release(&l);
	}
}

static void test_limits(void)
{
	char text[2048] = "";
	struct orchlist l;
	char err[512];

	for (int i = 0; i < ORCHLIST_MAX; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "%shttp://h%d:7400", i ? "," : "", i);
	T_EQ_INT(orchlist_parse(&l, text, err, sizeof(err)), 0);
	T_EQ_INT(l.n, ORCHLIST_MAX);
	char *joined = orchlist_join(&l);
	T_EQ_STR(joined, text);
	free(joined);
	orchlist_release(&l);
	strcat(text, ",http://one-too-many:1");
	T_EQ_INT(orchlist_parse(&l, text, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "at most") != NULL, "%s", err);
	T_EQ_INT(orchlist_parse(&l, NULL, err, sizeof(err)), -1);
	/* Release twice and release of a zeroed list are harmless. */
	orchlist_release(&l);
	orchlist_release(NULL);
}

struct match_case {
	const char *location;
	int rc;
	size_t idx;
	const char *url;		/* what is sent next */
	const char *err_has;
};

/* Against LIST below. */
#define LIST "http://10.0.0.1:7400, https://RM.example:7400/,http://[::1]:7400," \
	"https://rm.example/base/,http://plain.example"

static const struct match_case match_cases[] = {
	{ "http://10.0.0.1:7400/api/v1/agents/checkin", 0, 0,
	  "http://10.0.0.1:7400/api/v1/agents/checkin", NULL },
	{ "http://10.0.0.1:7400/api/v1/clusters?state=running&x=%2F", 0, 0,
	  "http://10.0.0.1:7400/api/v1/clusters?state=running&x=%2F", NULL },
	/* Case of scheme and host does not matter; the configured spelling
	 * is what the request goes to. */
	{ "HTTPS://rm.EXAMPLE:7400/api/v1/x", 0, 1,
	  "https://RM.example:7400/api/v1/x", NULL },
	{ "http://[::1]:7400/api/v1/x", 0, 2, "http://[::1]:7400/api/v1/x", NULL },
	{ "http://[0:0::1]:7400/api/v1/x", -1, 0, NULL, "not a configured" },
	/* Default ports. */
	{ "http://plain.example:80/api/v1/x", 0, 4, "http://plain.example/api/v1/x", NULL },
	{ "http://plain.example/api/v1/x", 0, 4, "http://plain.example/api/v1/x", NULL },
	{ "https://rm.example:443/base/api/v1/x", 0, 3,
	  "https://rm.example/base/api/v1/x", NULL },
	{ "https://rm.example/base", 0, 3, "https://rm.example/base", NULL },
	{ "https://rm.example/base?x", 0, 3, "https://rm.example/base?x", NULL },
	/* A fragment is never sent. */
	{ "http://10.0.0.1:7400/api#frag", 0, 0, "http://10.0.0.1:7400/api", NULL },
	/* Outside the base path of a known host. */
	{ "https://rm.example/basement/api", -1, 0, NULL, "outside its base path" },
	{ "https://rm.example/api/v1/x", -1, 0, NULL, "outside its base path" },
	/* Dot segments leave the base path once a server normalises them. */
	{ "https://rm.example/base/../api/v1/x", -1, 0, NULL, "'..' path segment" },
	{ "https://rm.example/base/./x", -1, 0, NULL, "'..' path segment" },
	{ "https://rm.example/base/%2e%2E/x", -1, 0, NULL, "'..' path segment" },
	{ "https://rm.example/base/..", -1, 0, NULL, "'..' path segment" },
	{ "https://rm.example/base/..?x=1", -1, 0, NULL, "'..' path segment" },
	/* Dots inside a segment are a name, and a query may hold anything. */
	{ "https://rm.example/base/v1.2/...x", 0, 3,
	  "https://rm.example/base/v1.2/...x", NULL },
	{ "https://rm.example/base/x?p=/../", 0, 3,
	  "https://rm.example/base/x?p=/../", NULL },
	{ "https://rm.example/base/.../x", 0, 3, "https://rm.example/base/.../x", NULL },
	/* Another port, scheme or host. */
	{ "http://10.0.0.1:7401/api/v1/x", -1, 0, NULL, "http://10.0.0.1:7401, which is not a configured" },
	{ "https://10.0.0.1:7400/api/v1/x", -1, 0, NULL, "not a configured" },
	{ "http://rm.example:7400/api/v1/x", -1, 0, NULL, "not a configured" },
	{ "http://evil.example/api/v1/x", -1, 0, NULL, "http://evil.example:80, which is not" },
	{ "http://[::2]:7400/", -1, 0, NULL, "http://[::2]:7400, which is not" },
	/* A host that looks like a configured one to a careless prefix match. */
	{ "http://10.0.0.1:74000/api", -1, 0, NULL, "port" },
	{ "http://10.0.0.1.evil.example:7400/api", -1, 0, NULL, "not a configured" },
	{ "http://10.0.0.1:7400@evil.example/api", -1, 0, NULL, "user name or password" },
	{ "http://x@10.0.0.1:7400/api", -1, 0, NULL, "user name or password" },
	/* Not absolute, not http, or broken. */
	{ "/api/v1/x", -1, 0, NULL, "not an http" },
	{ "//evil.example/api", -1, 0, NULL, "not an http" },
	{ "ftp://10.0.0.1:7400/", -1, 0, NULL, "not an http" },
	{ "", -1, 0, NULL, "not an http" },
	{ "http://10.0.0.1:7400/a b", -1, 0, NULL, "blank or control" },
	{ "http://10.0.0.1:7400/a\r\nX-Evil: 1", -1, 0, NULL, "blank or control" },
};

static void test_match(void)
{
	struct orchlist l;
	char err[512];

	T_EQ_INT(orchlist_parse(&l, LIST, err, sizeof(err)), 0);
	T_EQ_INT(l.n, 5);
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *mc = &match_cases[i];
		size_t idx = 99;
		char *url = NULL;
		err[0] = '\0';
		int rc = orchlist_match(&l, mc->location, &idx, &url, err,
		    sizeof(err));

		T_CHECK(rc == mc->rc, "'%s': rc %d, want %d (%s)", mc->location,
		    rc, mc->rc, err);
		if (rc == 0 && mc->rc == 0) {
			T_EQ_INT(idx, mc->idx);
			T_EQ_STR(url, mc->url);
		} else if (rc != 0) {
			T_CHECK(strstr(err, mc->err_has) != NULL,
			    "'%s': error '%s' lacks '%s'", mc->location, err,
			    mc->err_has);
			T_CHECK(url == NULL, "'%s': url set on failure",
			    mc->location);
			/* The message never carries a raw line break. */
			T_CHECK(strpbrk(err, "\r\n") == NULL, "'%s': raw control "
			    "character in '%s'", mc->location, err);
		}
		free(url);
	}
	/* A very long Location is refused before it is parsed. */
	char *big = malloc(5000);
	memset(big, 'a', 4999);
	memcpy(big, "http://10.0.0.1:7400/", 21);
	big[4999] = '\0';
	size_t idx;
	char *url = NULL;
	T_EQ_INT(orchlist_match(&l, big, &idx, &url, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "longer than") != NULL, "%s", err);
	free(big);
	orchlist_release(&l);
}

/* The agent's key 'orchestrator' takes the list; one URL is as before. */
static void test_agentcfg(void)
{
	static const struct {
		const char *value, *joined, *err_has;
	} rows[] = {
		{ "https://rm.example:7400/", "https://rm.example:7400", NULL },
		{ "http://a:7400/ , http://b:7400", "http://a:7400,http://b:7400", NULL },
		{ "http://a:7400,,http://b:7400", NULL, "(item 2 of the orchestrator list is empty" },
		{ "http://a:7400,http://a:7400/", NULL, "(item 2 'http://a:7400/' names the same" },
		{ "http://a:7400,ftp://b", NULL, "(item 2 'ftp://b' is not an http" },
		{ "http://tok:en@a:7400", NULL, "user name or password" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char text[512], err[512] = "";
		snprintf(text, sizeof(text), "orchestrator = %s\n", rows[i].value);
		struct agentcfg *c = agentcfg_parse("agent.conf", text, err,
		    sizeof(err));
		if (rows[i].joined) {
			T_CHECK(c != NULL, "'%s': %s", rows[i].value, err);
			if (c == NULL)
				continue;
			T_EQ_STR(c->orchestrator, rows[i].joined);
			T_CHECK(c->orchs != NULL, "parsed list");
			if (c->orchs)
				T_EQ_STR(orchlist_current(c->orchs),
				    c->orchs->v[0].base);
		} else {
			T_CHECK(c == NULL, "'%s' accepted", rows[i].value);
			T_CHECK(strstr(err, rows[i].err_has) != NULL &&
			    strstr(err, "agent.conf:1: key 'orchestrator': ") != NULL,
			    "'%s': error '%s' lacks '%s'", rows[i].value, err,
			    rows[i].err_has);
		}
		agentcfg_free(c);
	}
}

/* ringsh's connections take the list; a bad one changes nothing. */
static void test_client(void)
{
	char err[1024] = "";
	struct client *c = client_new();

	T_EQ_INT(client_add(c, "ha", " http://a:7400/,https://b:7401 ", "tok",
	    NULL, NULL, NULL, err, sizeof(err)), 0);
	const struct client_conn *cn = client_conn_at(c, 0);
	T_CHECK(cn != NULL, "connection added");
	if (cn != NULL) {
		T_EQ_STR(cn->url, "http://a:7400");
		T_EQ_STR(cn->urls, "http://a:7400,https://b:7401");
		T_EQ_INT(cn->orchs->n, 2);
	}
	/* Replacing it with a bad list keeps the old one. */
	T_EQ_INT(client_add(c, "ha", "http://a:7400,,http://c:1", NULL, NULL,
	    NULL, NULL, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "item 2 of the orchestrator list is empty") &&
	    strstr(err, "several separated by commas"), "%s", err);
	T_EQ_INT(client_count(c), 1);
	cn = client_conn_at(c, 0);
	if (cn != NULL)
		T_EQ_STR(cn->urls, "http://a:7400,https://b:7401");
	T_EQ_INT(client_add(c, "x", "http://u:p@a:7400", NULL, NULL, NULL, NULL,
	    err, sizeof(err)), -1);
	T_CHECK(strstr(err, "user name or password") != NULL, "%s", err);
	T_EQ_INT(client_count(c), 1);
	client_free(c);
}

int main(void)
{
	if (http_global_init() != 0)
		return 1;
	test_client();
	test_agentcfg();
	test_parse();
	test_limits();
	test_match();
	http_global_cleanup();
	return t_done("test_orchlist");
}
