/*
 * fuzz_orchlist.c - the orchestrator list (common/orchlist.h): the
 * operator's "URL[,URL...]" and, more to the point, the Location headers
 * an orchestrator (or whatever answers in its place) sends back, which
 * decide whether the bearer and join tokens go to another host.
 *
 * Input: the list, a newline, then the Location (without a newline, the
 * whole input is the list and the Location is its first URL).
 *
 * Checks: a refused list says why (on one printable line, as does a
 * refused Location) and leaves the list empty; an accepted
 * one has 1..ORCHLIST_MAX URLs with a scheme, a lowercase host and a port,
 * reads back the same from orchlist_join(), and each configured base is
 * matched by a configured URL of the same scheme, host and port.  A
 * Location that matches gives a URL starting with that configured base,
 * without a fragment, that matches again to itself; one refused says why.
 */
#include <ctype.h>
#include <stdbool.h>

#include "../../common/orchlist.h"
#include "fuzz.h"

/* A refusal says why, on one printable line: it goes to a log, an
 * agent's stderr or ringsh's terminal. */
static void refused(const char *what, const char *err)
{
	FUZZ_ASSERT(err[0] != '\0', "%s refused silently", what);
	for (const char *p = err; *p; p++)
		FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f,
		    "%s: control byte 0x%02x in the error", what,
		    (unsigned char)*p);
}

static bool same_origin(const struct orchlist_url *a,
    const struct orchlist_url *b)
{
	return strcmp(a->scheme, b->scheme) == 0 &&
	    strcmp(a->host, b->host) == 0 && a->port == b->port;
}

static void url_check(const struct orchlist_url *u)
{
	FUZZ_ASSERT(u->base && u->scheme && u->host && u->path, "a field "
	    "is NULL");
	FUZZ_ASSERT(strcmp(u->scheme, "http") == 0 ||
	    strcmp(u->scheme, "https") == 0, "scheme '%s'", u->scheme);
	FUZZ_ASSERT(u->host[0] != '\0', "empty host in '%s'", u->base);
	for (const char *p = u->host; *p; p++)
		FUZZ_ASSERT(!isupper((unsigned char)*p), "host '%s'", u->host);
	FUZZ_ASSERT(u->port >= 1 && u->port <= 65535, "port %d", u->port);
	size_t l = strlen(u->base);
	FUZZ_ASSERT(l > 0 && u->base[l - 1] != '/', "base '%s'", u->base);
	l = strlen(u->path);
	FUZZ_ASSERT(l == 0 || (u->path[0] == '/' && u->path[l - 1] != '/'),
	    "path '%s'", u->path);
}

/* Match location; on success check the promises and match once more. */
static void match(const struct orchlist *l, const char *location)
{
	char err[1024] = "", err2[1024] = "", *url = NULL, *url2 = NULL;
	size_t idx = 999, idx2 = 999;

	if (orchlist_match(l, location, &idx, &url, err, sizeof(err)) != 0) {
		refused("Location", err);
		FUZZ_ASSERT(url == NULL, "refused Location set a URL");
		return;
	}
	FUZZ_ASSERT(idx < l->n && url != NULL, "idx %zu of %zu", idx, l->n);
	FUZZ_ASSERT(strncmp(url, l->v[idx].base, strlen(l->v[idx].base)) == 0,
	    "'%s' is not under '%s'", url, l->v[idx].base);
	FUZZ_ASSERT(strchr(url, '#') == NULL, "fragment kept: '%s'", url);
	FUZZ_ASSERT(orchlist_match(l, url, &idx2, &url2, err2,
	    sizeof(err2)) == 0, "'%s' from '%s' refused: %s", url, location,
	    err2);
	FUZZ_ASSERT(idx2 == idx && strcmp(url, url2) == 0, "'%s' (%zu) "
	    "then '%s' (%zu)", url, idx, url2, idx2);
	free(url);
	free(url2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), *location, *joined;
	char err[1024] = "", err2[1024] = "";
	struct orchlist l, again;

	location = strchr(text, '\n');
	if (location != NULL)
		*location++ = '\0';
	if (orchlist_parse(&l, text, err, sizeof(err)) != 0) {
		refused("list", err);
		FUZZ_ASSERT(l.n == 0 && l.v == NULL, "refused list kept %zu",
		    l.n);
		free(text);
		return 0;
	}
	FUZZ_ASSERT(l.n >= 1 && l.n <= ORCHLIST_MAX && l.cur == 0,
	    "%zu URLs, current %zu", l.n, l.cur);
	FUZZ_ASSERT(strcmp(orchlist_current(&l), l.v[0].base) == 0,
	    "current is not the first");
	for (size_t i = 0; i < l.n; i++)
		url_check(&l.v[i]);

	joined = orchlist_join(&l);
	FUZZ_ASSERT(orchlist_parse(&again, joined, err2, sizeof(err2)) == 0,
	    "'%s' refused: %s", joined, err2);
	FUZZ_ASSERT(again.n == l.n, "%zu URLs, then %zu", l.n, again.n);
	for (size_t i = 0; i < l.n; i++)
		FUZZ_ASSERT(strcmp(again.v[i].base, l.v[i].base) == 0 &&
		    same_origin(&again.v[i], &l.v[i]) &&
		    strcmp(again.v[i].path, l.v[i].path) == 0,
		    "'%s' read back as '%s'", l.v[i].base, again.v[i].base);
	orchlist_release(&again);
	free(joined);

	/* Each configured base is a Location the list must follow, to a
	 * configured URL of the same origin. */
	for (size_t i = 0; i < l.n; i++) {
		char *url = NULL;
		size_t idx = 999;
		FUZZ_ASSERT(orchlist_match(&l, l.v[i].base, &idx, &url, err2,
		    sizeof(err2)) == 0, "own base '%s' refused: %s",
		    l.v[i].base, err2);
		FUZZ_ASSERT(idx < l.n && same_origin(&l.v[idx], &l.v[i]),
		    "'%s' went to '%s'", l.v[i].base, l.v[idx].base);
		free(url);
		match(&l, l.v[i].base);
	}
	if (location != NULL)
		match(&l, location);
	orchlist_release(&l);
	orchlist_release(&l);	/* promised to accept a released list */
	free(text);
	return 0;
}
