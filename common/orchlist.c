/*
 * orchlist.c - see orchlist.h.
 *
 * The URL parser here is deliberately narrow: it accepts what an operator
 * writes for an orchestrator and what an orchestrator puts in a Location,
 * and refuses the rest, because its one job is to decide whether a token
 * may be sent to a host.
 */
#include "orchlist.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "http.h"
#include "util.h"

/* A Location longer than this is not an orchestrator's. */
#define LOCATION_MAX 4096

struct url_parts {
	char *scheme, *host;
	int port;
	const char *rest;	/* points into the parsed string */
};

static void parts_release(struct url_parts *p)
{
	free(p->scheme);
	free(p->host);
	memset(p, 0, sizeof(*p));
}

static bool host_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '-' || ch == '.' ||
	    ch == '_';
}

/*
 * Split an absolute http(s) URL into scheme, host and port; rest is what
 * follows the authority.  0, or -1 with err (no subject: the caller
 * names the URL).
 */
static int url_split(const char *s, struct url_parts *p, char *err,
    size_t errlen)
{
	const char *a, *end, *h, *hend, *colon = NULL;

	memset(p, 0, sizeof(*p));
	for (const char *q = s; *q; q++) {
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q == 0x7f) {
			snprintf(err, errlen, "holds a blank or control character");
			return -1;
		}
	}
	if (strncasecmp(s, "http://", 7) == 0) {
		p->scheme = xstrdup("http");
		a = s + 7;
		p->port = 80;
	} else if (strncasecmp(s, "https://", 8) == 0) {
		p->scheme = xstrdup("https");
		a = s + 8;
		p->port = 443;
	} else {
		snprintf(err, errlen, "is not an http:// or https:// URL");
		return -1;
	}
	end = a + strcspn(a, "/?#");
	if (memchr(a, '@', (size_t)(end - a)) != NULL) {
		snprintf(err, errlen, "holds a user name or password ('user@'); "
		    "give the URL without it (tokens come from their own files)");
		goto fail;
	}
	if (*a == '[') {
		h = a + 1;
		hend = memchr(h, ']', (size_t)(end - h));
		if (hend == NULL || hend == h) {
			snprintf(err, errlen, "has an IPv6 address without its "
			    "closing ']'");
			goto fail;
		}
		for (const char *q = h; q < hend; q++) {
			if (!isxdigit((unsigned char)*q) && *q != ':' &&
			    *q != '.') {
				snprintf(err, errlen, "has '%.*s', which is not an "
				    "IPv6 address", (int)(hend - h), h);
				goto fail;
			}
		}
		if (memchr(h, ':', (size_t)(hend - h)) == NULL) {
			snprintf(err, errlen, "has '[%.*s]', which is not an "
			    "IPv6 address", (int)(hend - h), h);
			goto fail;
		}
		if (hend + 1 < end) {
			if (hend[1] != ':') {
				snprintf(err, errlen, "has text after the IPv6 "
				    "address's ']'");
				goto fail;
			}
			colon = hend + 1;
		}
	} else {
		h = a;
		colon = memchr(a, ':', (size_t)(end - a));
		hend = colon ? colon : end;
		if (hend == h) {
			snprintf(err, errlen, "has no host");
			goto fail;
		}
		for (const char *q = h; q < hend; q++) {
			if (!host_char(*q)) {
				snprintf(err, errlen, "has '%.*s', which is not a "
				    "host name", (int)(hend - h), h);
				goto fail;
			}
		}
	}
	if (colon != NULL) {
		long port = 0;
		const char *q = colon + 1;
		if (q == end || end - q > 5) {
			snprintf(err, errlen, "has no port or a bad one after ':'");
			goto fail;
		}
		for (; q < end; q++) {
			if (!isdigit((unsigned char)*q)) {
				snprintf(err, errlen, "has a port that is not a "
				    "number");
				goto fail;
			}
			port = port * 10 + (*q - '0');
		}
		if (port < 1 || port > 65535) {
			snprintf(err, errlen, "has port %ld, outside 1-65535", port);
			goto fail;
		}
		p->port = (int)port;
	}
	p->host = xstrndup(h, (size_t)(hend - h));
	for (char *q = p->host; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	p->rest = end;
	return 0;
fail:
	parts_release(p);
	return -1;
}

static void url_release(struct orchlist_url *u)
{
	free(u->base);
	free(u->scheme);
	free(u->host);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

void orchlist_release(struct orchlist *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		url_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/*
 * A "." or ".." segment (or one spelled with %2e) in the path before the
 * query: "/base/../x" starts with the base path but names something
 * outside it once a server normalises it.
 */
static bool dot_segment(const char *rest)
{
	size_t end = strcspn(rest, "?#");

	for (size_t i = 0; i < end; i++) {
		if (rest[i] != '/')
			continue;
		size_t j = i + 1, dots = 0;
		while (j < end && rest[j] != '/') {
			if (rest[j] == '.')
				j++;
			else if (rest[j] == '%' && j + 2 < end &&
			    rest[j + 1] == '2' && (rest[j + 2] == 'e' ||
			    rest[j + 2] == 'E'))
				j += 3;
			else
				break;
			dots++;
		}
		if ((dots == 1 || dots == 2) && (j >= end || rest[j] == '/'))
			return true;
	}
	return false;
}

/* One configured item (trimmed) into u: 0, or -1 with err. */
static int parse_item(const char *item, struct orchlist_url *u, char *err,
    size_t errlen)
{
	struct url_parts p;
	size_t len;

	if (url_split(item, &p, err, errlen) != 0)
		return -1;
	if (strpbrk(p.rest, "?#") != NULL) {
		snprintf(err, errlen, "has a query or fragment; give the base "
		    "URL only, such as https://ringmaster.example:7400");
		parts_release(&p);
		return -1;
	}
	if (dot_segment(p.rest)) {
		/* A redirect under it would be refused (orchlist_match). */
		snprintf(err, errlen, "has a '.' or '..' path segment; give "
		    "the base path as the server has it");
		parts_release(&p);
		return -1;
	}
	len = strlen(p.rest);
	while (len > 0 && p.rest[len - 1] == '/')
		len--;
	u->path = xstrndup(p.rest, len);
	u->base = xstrndup(item, (size_t)(p.rest - item) + len);
	u->scheme = p.scheme;
	u->host = p.host;
	u->port = p.port;
	return 0;
}


static bool same_url(const struct orchlist_url *a, const struct orchlist_url *b)
{
	return strcmp(a->scheme, b->scheme) == 0 &&
	    strcmp(a->host, b->host) == 0 && a->port == b->port &&
	    strcmp(a->path, b->path) == 0;
}

int orchlist_parse(struct orchlist *l, const char *text, char *err,
    size_t errlen)
{
	char *copy, *item, *next;
	size_t k = 0;
	char why[256], shown[208];

	memset(l, 0, sizeof(*l));
	if (text == NULL) {
		snprintf(err, errlen, "no orchestrator URL given");
		return -1;
	}
	copy = xstrdup(text);
	for (item = copy; item != NULL; item = next) {
		next = strchr(item, ',');
		if (next != NULL)
			*next++ = '\0';
		k++;
		str_trim(item);
		if (*item == '\0') {
			snprintf(err, errlen, "item %zu of the orchestrator list "
			    "is empty; give URLs separated by single commas",
			    k);
			goto fail;
		}
		if (l->n == ORCHLIST_MAX) {
			snprintf(err, errlen, "more than %d orchestrator URLs; "
			    "list at most %d", ORCHLIST_MAX, ORCHLIST_MAX);
			goto fail;
		}
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
		if (parse_item(item, &l->v[l->n], why, sizeof(why)) != 0) {
			/* The item may hold the control byte refused. */
			str_printable(item, shown, sizeof(shown));
			snprintf(err, errlen, "item %zu '%s' %s", k, shown, why);
			goto fail;
		}
		for (size_t i = 0; i < l->n; i++) {
			if (same_url(&l->v[i], &l->v[l->n])) {
				snprintf(err, errlen, "item %zu '%.200s' names the "
				    "same orchestrator as item %zu '%.200s'; list "
				    "each once", k, item, i + 1, l->v[i].base);
				url_release(&l->v[l->n]);
				goto fail;
			}
		}
		l->n++;
	}
	free(copy);
	return 0;
fail:
	free(copy);
	orchlist_release(l);
	return -1;
}

const char *orchlist_current(const struct orchlist *l)
{
	return l->n > 0 ? l->v[l->cur].base : NULL;
}

char *orchlist_join(const struct orchlist *l)
{
	size_t len = 1;
	char *s, *o;

	for (size_t i = 0; i < l->n; i++)
		len += strlen(l->v[i].base) + 1;
	o = s = xmalloc(len);
	*o = '\0';
	for (size_t i = 0; i < l->n; i++)
		o += sprintf(o, "%s%s", i ? "," : "", l->v[i].base);
	return s;
}


int orchlist_match(const struct orchlist *l, const char *location,
    size_t *idx, char **url_out, char *err, size_t errlen)
{
	struct url_parts p;
	char shown[208], why[256];
	const char *known_host = NULL;

	str_printable(location, shown, sizeof(shown));
	if (strlen(location) > LOCATION_MAX) {
		snprintf(err, errlen, "Location '%s...' is longer than %d bytes",
		    shown, LOCATION_MAX);
		return -1;
	}
	if (url_split(location, &p, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "Location '%s' %s", shown, why);
		return -1;
	}
	if (dot_segment(p.rest)) {
		snprintf(err, errlen, "Location '%s' has a '.' or '..' path "
		    "segment", shown);
		parts_release(&p);
		return -1;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct orchlist_url *u = &l->v[i];
		size_t plen = strlen(u->path);
		if (strcmp(u->scheme, p.scheme) != 0 ||
		    strcmp(u->host, p.host) != 0 || u->port != p.port)
			continue;
		known_host = u->base;
		if (strncmp(p.rest, u->path, plen) != 0 ||
		    (p.rest[plen] != '\0' && p.rest[plen] != '/' &&
		    p.rest[plen] != '?' && p.rest[plen] != '#'))
			continue;
		/* The configured spelling of the base, then the Location's
		 * path and query: the request goes to a URL the operator
		 * wrote, whatever case or default port the Location used. */
		*url_out = xasprintf("%s%.*s", u->base,
		    (int)strcspn(p.rest + plen, "#"), p.rest + plen);
		*idx = i;
		parts_release(&p);
		return 0;
	}
	if (known_host != NULL)
		snprintf(err, errlen, "Location '%s' is on %s but outside its "
		    "base path", shown, known_host);
	else
		snprintf(err, errlen, "Location '%s' names %s://%s%s%s:%d, "
		    "which is not a configured orchestrator", shown, p.scheme,
		    strchr(p.host, ':') ? "[" : "", p.host,
		    strchr(p.host, ':') ? "]" : "", p.port);
	parts_release(&p);
	return -1;
}

void orchlist_call_release(struct orchlist_call *call)
{
	if (call == NULL)
		return;
	free(call->url);
	call->url = NULL;
}

/* The answer's error code, in either error shape the API uses. */
static void answer_code(const struct http_resp *r, char *code, size_t size)
{
	json_t *j, *e;

	code[0] = '\0';
	if (r->body == NULL || r->body_len == 0)
		return;
	j = json_loadb(r->body, r->body_len, 0, NULL);
	e = json_object_get(j, "error");
	if (json_is_object(e))
		e = json_object_get(e, "code");
	if (json_is_string(e))
		str_printable(json_string_value(e), code, size);
	json_decref(j);
}

/* http.c says "METHOD URL: reason": the reason only. */
static const char *transport_reason(const struct http_resp *r)
{
	const char *s = strstr(r->err, ": ");
	return s ? s + 2 : r->err;
}

static void append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

int orchlist_do(struct orchlist *l, struct http_client *h,
    const struct http_req *tmpl, const char *path, struct http_resp *resp,
    struct orchlist_call *call)
{
	struct http_req req = *tmpl;
	size_t start = l->cur, idx = l->cur, failed = 0;
	unsigned hops = 0;
	/* What happened on the way, for the note or the error. */
	char trail[600] = "", code[64];
	char *url = xasprintf("%s%s", l->v[idx].base, path);

	call->url = NULL;
	call->note[0] = call->err[0] = '\0';
	call->redirect_refused = call->no_answer = false;
	for (;;) {
		req.url = url;
		if (http_do(h, &req, resp) != 0) {
			append(trail, sizeof(trail), "%s%s did not answer (%s)",
			    trail[0] ? "; " : "", l->v[idx].base,
			    transport_reason(resp));
			if (!resp->not_sent && !call->resend_unsure &&
			    l->n > 1) {
				snprintf(call->err, sizeof(call->err), "%s: %s; the "
				    "request may have reached it, so it was not "
				    "sent to another orchestrator: check whether "
				    "it took effect before repeating it", url,
				    transport_reason(resp));
				call->no_answer = true;
				goto fail;
			}
		} else if (resp->status == 503 || ((resp->status == 502 ||
		    resp->status == 504) && call->resend_unsure)) {
			answer_code(resp, code, sizeof(code));
			append(trail, sizeof(trail), "%s%s answered %ld%s%s%s",
			    trail[0] ? "; " : "", l->v[idx].base, resp->status,
			    code[0] ? " (" : "", code, code[0] ? ")" : "");
		} else if (resp->status == 307 || resp->status == 308) {
			const char *loc = http_resp_header(resp, "location");
			size_t j;
			char *to = NULL, merr[512];

			if (++hops > ORCHLIST_MAX_REDIRECTS) {
				snprintf(call->err, sizeof(call->err), "%s %s: more "
				    "than %d redirects (%s); the orchestrators "
				    "disagree on which one is active: see their "
				    "logs", req.method, path,
				    ORCHLIST_MAX_REDIRECTS, trail);
				goto fail;
			}
			if (loc == NULL || *loc == '\0') {
				snprintf(call->err, sizeof(call->err), "%s answered "
				    "%ld without a Location; it does not follow "
				    "docs/api.md (Several orchestrators): see its "
				    "version and log", url, resp->status);
				goto fail;
			}
			if (orchlist_match(l, loc, &j, &to, merr,
			    sizeof(merr)) != 0) {
				call->redirect_refused = true;
				snprintf(call->err, sizeof(call->err), "%s redirected "
				    "%s %s, but its %s; nothing was sent there",
				    l->v[idx].base, req.method, path, merr);
				goto fail;
			}
			append(trail, sizeof(trail), "%s%s is a standby and "
			    "named %s as the active one", trail[0] ? "; " : "",
			    l->v[idx].base, l->v[j].base);
			idx = j;
			free(url);
			url = to;
			http_resp_release(resp);
			continue;
		} else {
			break;		/* an answer to pass on */
		}
		if (++failed >= l->n) {
			/* One URL: its answer or http.c's error as it is, as
			 * before lists existed. */
			if (resp->status > 0) {
				/* Every one failed, the last with a 5xx: pass
				 * it on, with what the others did. */
				if (l->n > 1)
					snprintf(call->err, sizeof(call->err),
					    "no orchestrator could take it: %s",
					    trail);
				break;
			}
			if (l->n > 1)
				snprintf(call->err, sizeof(call->err), "no "
				    "orchestrator answered: %s", trail);
			else
				str_copy(call->err, resp->err, sizeof(call->err));
			call->no_answer = true;
			goto fail;
		}
		http_resp_release(resp);
		idx = (idx + 1) % l->n;
		free(url);
		url = xasprintf("%s%s", l->v[idx].base, path);
	}
	if (idx != start && resp->status != 502 && resp->status != 503 &&
	    resp->status != 504) {
		l->cur = idx;
		snprintf(call->note, sizeof(call->note), "now using %s: %s",
		    l->v[idx].base, trail);
	}
	call->url = url;
	return 0;
fail:
	/* An answer we do not pass on: keep only the reason, and the
	 * transport flags of a request that got none. */
	if (resp->status > 0)
		http_resp_release(resp);
	str_copy(resp->err, call->err, sizeof(resp->err));
	call->url = url;
	return -1;
}
