/*
 * test_front.c - the redirect target a standby sends clients to
 * (front_location()); the handler itself runs against real daemons in
 * tests/e2e/test_failover.py.
 */
#include <stdlib.h>
#include <string.h>

#include "../../orchestrator/http/front.h"
#include "t.h"

struct loc_case {
	const char *base, *path, *query, *want;	/* want NULL: refused */
};

static const struct loc_case cases[] = {
	{ "http://a:1", "/api/v1/clusters", NULL, "http://a:1/api/v1/clusters" },
	{ "http://a:1", "/api/v1/clusters", "", "http://a:1/api/v1/clusters" },
	{ "http://a:1/", "/x", "k=v", "http://a:1/x?k=v" },
	{ "https://rm.example/base///", "/api/v1/events", "limit=5&kind=a%20b",
	  "https://rm.example/base/api/v1/events?limit=5&kind=a%20b" },
	{ "", "/x", NULL, NULL },
	{ NULL, "/x", NULL, NULL },
	{ "/", "/x", NULL, NULL },
	{ "http://a:1", "x", NULL, NULL },
	{ "http://a:1", NULL, NULL, NULL },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct loc_case *c = &cases[i];
		char *got = front_location(c->base, c->path, c->query);
		if (c->want == NULL)
			T_CHECK(got == NULL, "case %zu: refused, got %s", i,
			    got ? got : "(null)");
		else
			T_CHECK(got != NULL && strcmp(got, c->want) == 0,
			    "case %zu: want %s, got %s", i, c->want,
			    got ? got : "(null)");
		free(got);
	}
	/* Longer than 8 KiB: refused rather than sent. */
	char *q = malloc(9000);
	memset(q, 'a', 8999);
	q[8999] = '\0';
	char *got = front_location("http://a:1", "/x", q);
	T_CHECK(got == NULL, "an 9 KiB Location is refused");
	free(got);
	got = front_location("http://a:1", "/x", q + 1000);
	T_CHECK(got != NULL && strlen(got) == strlen("http://a:1/x?") + 7999,
	    "a Location under 8 KiB is made");
	free(got);
	free(q);
	return t_done("test_front");
}
