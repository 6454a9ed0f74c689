/*
 * redact.c - see redact.h.
 *
 * One scan finds the spans to hide; redact() copies around them and
 * redact_found() stops at the first.  The rules look at shapes, not at a
 * grammar: the text may be a log line, a JSON document, a shell command
 * or an S3 error, and a secret must not pass because one of them is
 * malformed.  Names are matched as words of identifier characters, so
 * "tokens" and "token_file" are names too: their scalar values are hidden
 * (a path lost from a message is a smaller harm than a key shown).
 */
#include "redact.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "util.h"

struct span {
	size_t start, end;
	const char *kind;	/* for redact_found(); static text */
	char name[48];		/* the name a value belonged to, or "" */
};

static const char *const secret_words[] = {
	"secret", "password", "passwd", "token", "credential",
	"authorization", "signature", "accesskey",
};

static const char *const not_values[] = {
	"set", "cleared", "null", "true", "false", REDACT_MARK,
};

static bool is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

static bool is_upalnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* AKIA/ASIA + at least 16 of A-Z0-9 at s[i], a word of its own: its end,
 * or 0. */
static size_t akid_at(const char *s, size_t i)
{
	size_t j;

	if (i > 0 && is_upalnum(s[i - 1]))
		return 0;
	if (strncmp(s + i, "AKIA", 4) != 0 && strncmp(s + i, "ASIA", 4) != 0)
		return 0;
	for (j = i + 4; is_upalnum(s[j]); j++)
		;
	if (j - i < 20 || isalnum((unsigned char)s[j]))
		return 0;
	return j;
}

/*
 * S3's error codes are CamelCase words ("SignatureDoesNotMatch: The
 * request signature...", "InvalidAccessKeyId") and are the cause an error
 * must keep: a name that starts upper case, has two or more capitals, some
 * lower case and no separator is a code, not a secret's name.
 */
static bool camel_code(const char *s, size_t n)
{
	size_t up = 0, low = 0;

	if (n == 0 || !isupper((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]))
			return false;
		up += isupper((unsigned char)s[i]) != 0;
		low += islower((unsigned char)s[i]) != 0;
	}
	return up >= 2 && low > 0;
}

/* Whether the name s[0..n) says secret: lower-cased, '-' and '_'
 * dropped, it holds one of secret_words. */
static bool name_is_secret(const char *s, size_t n)
{
	char low[128];
	size_t k = 0;

	if (camel_code(s, n))
		return false;
	for (size_t i = 0; i < n && k + 1 < sizeof(low); i++)
		if (s[i] != '-' && s[i] != '_' && s[i] != '.')
			low[k++] = (char)tolower((unsigned char)s[i]);
	low[k] = '\0';
	for (size_t w = 0; w < ARRAY_SIZE(secret_words); w++)
		if (strstr(low, secret_words[w]) != NULL)
			return true;
	return false;
}

static bool numeric(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i == n)
		return false;
	for (; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * The value after a secret name ending at s[e]: its span in *sp (start
 * and end), or false when there is none to hide.  auth: an Authorization
 * header, whose value is the rest of the line ("AWS4-HMAC-SHA256
 * Credential=..., Signature=..." or "Bearer x").
 */
static bool value_after(const char *s, size_t e, bool option, bool auth,
    bool plain_name, struct span *sp)
{
	size_t i = e, v;
	char q = 0, sep = 0;

	if (s[i] == '"' || s[i] == '\'')	/* a JSON or quoted name */
		i++;
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	if (s[i] == '=' || s[i] == ':') {
		sep = s[i++];
	} else if (!(option && i > e)) {
		return false;
	}
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	/* "--secrets-stdin --json": a flag followed by another option. */
	if (sep == 0 && s[i] == '-')
		return false;
	if (s[i] == '"' || s[i] == '\'')
		q = s[i++];
	/* "the admin token: cannot write ..." is prose: after a colon an
	 * unquoted value counts only for a compound name (a header,
	 * aws_secret_access_key: in YAML) or the words that are nothing
	 * but secrets. */
	if (sep == ':' && q == 0 && plain_name && !auth)
		return false;
	v = i;
	if (q != 0) {
		while (s[i] && s[i] != q && s[i] != '\n') {
			if (s[i] == '\\' && s[i + 1])
				i++;
			i++;
		}
	} else if (auth) {
		while (s[i] && s[i] != '\n' && s[i] != '\r')
			i++;
	} else {
		while (s[i] && !isspace((unsigned char)s[i]) &&
		    !strchr(",;&)}]\"'", s[i]))
			i++;
	}
	if (i == v || s[v] == '{' || s[v] == '[' || numeric(s + v, i - v))
		return false;
	/* What the API and events say of a secret ("set", "cleared"), the
	 * mark itself and JSON's literals are never values. */
	for (size_t k = 0; k < ARRAY_SIZE(not_values); k++)
		if (i - v == strlen(not_values[k]) &&
		    strncmp(s + v, not_values[k], i - v) == 0)
			return false;
	sp->start = v;
	sp->end = i;
	return true;
}

/* The next span at or after *pos, or false at the end. */
static bool next_span(const char *s, size_t *pos, const char *const *known,
    size_t n, struct span *sp)
{
	for (size_t i = *pos; s[i]; i++) {
		size_t e;

		for (size_t k = 0; k < n; k++) {
			size_t kl = known[k] ? strlen(known[k]) : 0;
			if (kl >= REDACT_KNOWN_MIN &&
			    strncmp(s + i, known[k], kl) == 0) {
				sp->start = i;
				sp->end = i + kl;
				sp->kind = "a value of a secret setting";
				sp->name[0] = '\0';
				*pos = sp->end;
				return true;
			}
		}
		if ((e = akid_at(s, i)) != 0) {
			sp->start = i;
			sp->end = e;
			sp->kind = "an AWS access key id";
			sp->name[0] = '\0';
			*pos = e;
			return true;
		}
		if (is_ident(s[i]) && (i == 0 || !is_ident(s[i - 1]))) {
			bool option = s[i] == '-' && s[i + 1] == '-';
			for (e = i; is_ident(s[e]); e++)
				;
			if (name_is_secret(s + i, e - i)) {
				char low[16];
				size_t nl = e - i < sizeof(low) ? e - i :
				    sizeof(low) - 1;
				for (size_t k = 0; k < nl; k++)
					low[k] = (char)tolower(
					    (unsigned char)s[i + k]);
				low[nl] = '\0';
				bool plain = strpbrk(low, "_-.") == NULL &&
				    e - i < sizeof(low) &&
				    strcmp(low, "password") != 0 &&
				    strcmp(low, "passwd") != 0 &&
				    strcmp(low, "secret") != 0;
				if (value_after(s, e, option, strcmp(low,
				    "authorization") == 0, plain, sp)) {
					sp->kind = "a secret's value";
					snprintf(sp->name, sizeof(sp->name),
					    "%.*s", (int)(e - i), s + i);
					*pos = sp->end;
					return true;
				}
			}
			i = e - 1;	/* the name is no value itself */
		}
	}
	return false;
}

char *redact(const char *s, const char *const *known, size_t n)
{
	struct strbuf b = { 0 };
	struct span sp;
	size_t pos = 0, last = 0;

	if (s == NULL)
		return NULL;
	while (next_span(s, &pos, known, n, &sp)) {
		strbuf_addn(&b, s + last, sp.start - last);
		strbuf_add(&b, REDACT_MARK);
		last = sp.end;
	}
	strbuf_add(&b, s + last);
	return strbuf_detach(&b);
}

bool redact_buf(char *buf, size_t size, const char *const *known, size_t n)
{
	struct span sp;
	size_t pos = 0;
	char *r;

	if (buf == NULL || size == 0 || !next_span(buf, &pos, known, n, &sp))
		return false;
	r = redact(buf, known, n);
	str_copy(buf, r, size);
	free(r);
	return true;
}

bool redact_found(const char *s, const char *const *known, size_t n,
    char *what, size_t whatlen)
{
	struct span sp;
	size_t pos = 0;

	if (s == NULL || !next_span(s, &pos, known, n, &sp))
		return false;
	if (what != NULL && whatlen > 0) {
		if (sp.name[0] != '\0')
			snprintf(what, whatlen, "a value of '%s'", sp.name);
		else
			snprintf(what, whatlen, "%s", sp.kind);
	}
	return true;
}
