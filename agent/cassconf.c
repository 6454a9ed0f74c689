/*
 * cassconf.c - see cassconf.h.  The YAML edit does not parse YAML: it finds
 * the top-level "seed_provider:" block by indentation (the block ends at
 * the next line that starts in column 0 and is neither a comment nor a
 * "- " list item) and rewrites
 * the first "seeds:" line in it.  That is the shape every cassandra.yaml
 * from 3.11 to 5.0 ships with and the shape every operator keeps, and a
 * shape we do not recognise is refused instead of rewritten.
 */
#include "cassconf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/strbuf.h"
#include "../common/util.h"

#define MAX_FILE (4u << 20)

bool cassconf_address_valid(const char *s)
{
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++, n++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(".:-_[]%", *s)))
			return false;
	}
	return n <= 255;
}

/* One line of text: [start, end) without the newline; eol = "\n", "\r\n" or "". */
struct line {
	const char *start, *end, *eol_start, *next;
};

static bool line_next(const char **p, struct line *l)
{
	const char *s = *p, *nl;

	if (*s == '\0')
		return false;
	nl = strchr(s, '\n');
	l->start = s;
	l->next = nl ? nl + 1 : s + strlen(s);
	l->end = nl ? nl : l->next;
	if (l->end > s && l->end[-1] == '\r')
		l->end--;
	l->eol_start = l->end;
	*p = l->next;
	return true;
}

static const char *skip_blanks(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/* Line is blank or a comment (YAML: '#' after optional blanks). */
static bool yaml_ignorable(const struct line *l)
{
	const char *s = skip_blanks(l->start, l->end);
	return s == l->end || *s == '#';
}

/* "seed_provider:" in column 0, then optional blanks or a comment. */
static int yaml_is_seed_provider(const struct line *l, bool *flow)
{
	static const char key[] = "seed_provider:";
	size_t klen = sizeof(key) - 1;
	const char *s;

	if ((size_t)(l->end - l->start) < klen || memcmp(l->start, key, klen) != 0)
		return 0;
	s = skip_blanks(l->start + klen, l->end);
	*flow = !(s == l->end || *s == '#');
	return 1;
}

/*
 * A "seeds:" parameter line: blanks, an optional "- ", "seeds:".  Sets
 * *value to where the value starts.
 */
static bool yaml_is_seeds(const struct line *l, const char **value)
{
	static const char key[] = "seeds:";
	const char *s = skip_blanks(l->start, l->end);

	if (s < l->end && *s == '-') {
		s++;
		if (s == l->end || (*s != ' ' && *s != '\t'))
			return false;
		s = skip_blanks(s, l->end);
	}
	if ((size_t)(l->end - s) < sizeof(key) - 1 ||
	    memcmp(s, key, sizeof(key) - 1) != 0)
		return false;
	*value = s + sizeof(key) - 1;
	return true;
}

/*
 * Split a YAML scalar value at [v, end) into the value itself (quotes
 * removed) and what follows it (a comment, kept as written).
 */
static void yaml_scalar(const char *v, const char *end, const char **vs,
    const char **ve, const char **rest)
{
	v = skip_blanks(v, end);
	if (v < end && (*v == '"' || *v == '\'')) {
		const char *q = memchr(v + 1, *v, (size_t)(end - v - 1));
		*vs = v + 1;
		*ve = q ? q : end;
		*rest = q ? q + 1 : end;
		return;
	}
	*vs = v;
	*rest = end;
	for (const char *p = v; p < end; p++) {
		if (*p == '#' && p > v && (p[-1] == ' ' || p[-1] == '\t')) {
			*rest = p - 1;
			break;
		}
	}
	*ve = *rest;
	while (*ve > *vs && ((*ve)[-1] == ' ' || (*ve)[-1] == '\t'))
		(*ve)--;
}

/* Find the seeds line of the top-level seed_provider block. */
static int yaml_find_seeds(const char *text, struct line *found,
    const char **value, bool *have_provider, bool *flow)
{
	const char *p = text;
	struct line l;
	bool in_block = false;

	*have_provider = false;
	*flow = false;
	while (line_next(&p, &l)) {
		if (!in_block) {
			if (yaml_is_seed_provider(&l, flow)) {
				*have_provider = true;
				if (*flow)
					return -1;
				in_block = true;
			}
			continue;
		}
		/*
		 * The next top-level key ends the block; "- " in column 0 is
		 * the provider list written without indentation, still ours.
		 */
		if (l.start < l.end && *l.start != ' ' && *l.start != '\t' &&
		    *l.start != '-' && !yaml_ignorable(&l))
			return -1;
		if (*skip_blanks(l.start, l.end) == '#')
			continue;
		if (yaml_is_seeds(&l, value)) {
			*found = l;
			return 0;
		}
	}
	return -1;
}

static char *join_seeds(const char *const *seeds, size_t n, char *err,
    size_t errlen)
{
	struct strbuf b = { 0 };

	if (n == 0) {
		snprintf(err, errlen, "no seeds given: a node needs at least one");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!cassconf_address_valid(seeds[i])) {
			snprintf(err, errlen, "seed '%s' is not an address: use "
			    "letters, digits and . : - _ [ ] only", seeds[i]);
			strbuf_release(&b);
			return NULL;
		}
		if (i > 0)
			strbuf_add(&b, ",");
		strbuf_add(&b, seeds[i]);
	}
	return strbuf_detach(&b);
}

static const char seed_block[] =
    "seed_provider:\n"
    "    - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
    "      parameters:\n"
    "          - seeds: \"%s\"\n";

char *cassconf_yaml_set_seeds(const char *text, const char *const *seeds,
    size_t n, char *err, size_t errlen)
{
	struct line l;
	const char *value, *vs, *ve, *rest;
	bool have, flow;
	struct strbuf b = { 0 };
	char *csv = join_seeds(seeds, n, err, errlen);

	if (csv == NULL)
		return NULL;
	if (yaml_find_seeds(text, &l, &value, &have, &flow) != 0) {
		if (flow) {
			snprintf(err, errlen, "seed_provider is written in YAML "
			    "flow style, which the agent does not rewrite; write "
			    "it as a block or set the seeds by hand");
			free(csv);
			return NULL;
		}
		if (have) {
			snprintf(err, errlen, "seed_provider has no 'seeds:' "
			    "parameter; add '- seeds: \"\"' under its parameters");
			free(csv);
			return NULL;
		}
		/* No seed_provider at all: add Cassandra's default block. */
		strbuf_add(&b, text);
		if (b.len > 0 && b.p[b.len - 1] != '\n')
			strbuf_add(&b, "\n");
		char *blk = xasprintf(seed_block, csv);
		strbuf_add(&b, blk);
		free(blk);
		free(csv);
		return strbuf_detach(&b);
	}
	yaml_scalar(value, l.end, &vs, &ve, &rest);
	/* Keep the blanks after "seeds:" as written. */
	if (skip_blanks(value, l.end) > value) {
		strbuf_addn(&b, text, (size_t)(skip_blanks(value, l.end) - text));
		strbuf_add(&b, "\"");
	} else {
		strbuf_addn(&b, text, (size_t)(value - text));
		strbuf_add(&b, " \"");
	}
	strbuf_add(&b, csv);
	strbuf_add(&b, "\"");
	strbuf_add(&b, rest); /* rest of the line, the newline and the file */
	free(csv);
	return strbuf_detach(&b);
}

char *cassconf_yaml_get_seeds(const char *text)
{
	struct line l;
	const char *value, *vs, *ve, *rest;
	bool have, flow;

	if (yaml_find_seeds(text, &l, &value, &have, &flow) != 0)
		return NULL;
	yaml_scalar(value, l.end, &vs, &ve, &rest);
	return xstrndup(vs, (size_t)(ve - vs));
}

/* An active (not commented) replace_address_first_boot line: value start. */
static const char *jvm_replace_value(const struct line *l)
{
	const char *s = skip_blanks(l->start, l->end);
	size_t olen = strlen(CASSCONF_REPLACE_OPT);

	if ((size_t)(l->end - s) < olen || memcmp(s, CASSCONF_REPLACE_OPT, olen) != 0)
		return NULL;
	return s + olen;
}

char *cassconf_jvm_set_replace(const char *text, const char *address,
    char *err, size_t errlen)
{
	const char *p = text;
	struct line l;
	struct strbuf b = { 0 };
	bool done = false;

	if (address != NULL && !cassconf_address_valid(address)) {
		snprintf(err, errlen, "replace address '%s' is not an address: "
		    "use letters, digits and . : - _ [ ] only", address);
		return NULL;
	}
	while (line_next(&p, &l)) {
		const char *v = jvm_replace_value(&l);
		if (v == NULL) {
			strbuf_addn(&b, l.start, (size_t)(l.next - l.start));
			continue;
		}
		if (address == NULL || done)
			continue; /* drop it (or a duplicate) */
		strbuf_addn(&b, l.start, (size_t)(v - l.start));
		strbuf_add(&b, address);
		strbuf_addn(&b, l.eol_start, (size_t)(l.next - l.eol_start));
		done = true;
	}
	if (address != NULL && !done) {
		if (b.len > 0 && b.p[b.len - 1] != '\n')
			strbuf_add(&b, "\n");
		strbuf_add(&b, CASSCONF_REPLACE_OPT);
		strbuf_add(&b, address);
		strbuf_add(&b, "\n");
	}
	return strbuf_detach(&b);
}

char *cassconf_jvm_get_replace(const char *text)
{
	const char *p = text;
	struct line l;

	while (line_next(&p, &l)) {
		const char *v = jvm_replace_value(&l);
		if (v != NULL) {
			const char *e = l.end;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			return xstrndup(v, (size_t)(e - v));
		}
	}
	return NULL;
}

/*
 * Read path (following symlinks), apply edit, write back atomically when
 * the text changed.
 */
static int edit_file(const char *path, char *(*edit)(const char *, const void *,
    char *, size_t), const void *arg, bool *changed, char *err, size_t errlen)
{
	char real[PATH_MAX];
	struct stat st;
	char *old = NULL, *new = NULL, msg[256];
	size_t len;
	int rc = -1;

	if (changed)
		*changed = false;
	if (realpath(path, real) == NULL || stat(real, &st) != 0 ||
	    (old = file_read_all(real, MAX_FILE, &len)) == NULL) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	if (memchr(old, '\0', len) != NULL) {
		snprintf(err, errlen, "'%s' holds NUL bytes: not a text file", path);
		goto out;
	}
	if ((new = edit(old, arg, msg, sizeof(msg))) == NULL) {
		snprintf(err, errlen, "%s: %s", path, msg);
		goto out;
	}
	if (strcmp(old, new) == 0) {
		rc = 0;
		goto out;
	}
	if (file_write_atomic(real, new, strlen(new), (int)(st.st_mode & 07777)) != 0) {
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	if (geteuid() == 0 && (st.st_uid != 0 || st.st_gid != 0) &&
	    chown(real, st.st_uid, st.st_gid) != 0) {
		snprintf(err, errlen, "wrote '%s' but cannot give it back to "
		    "uid %d: %s", path, (int)st.st_uid, strerror(errno));
		goto out;
	}
	if (changed)
		*changed = true;
	rc = 0;
out:
	free(old);
	free(new);
	return rc;
}

struct seeds_arg {
	const char *const *seeds;
	size_t n;
};

static char *edit_seeds(const char *text, const void *arg, char *err, size_t errlen)
{
	const struct seeds_arg *a = arg;
	return cassconf_yaml_set_seeds(text, a->seeds, a->n, err, errlen);
}

static char *edit_replace(const char *text, const void *arg, char *err, size_t errlen)
{
	return cassconf_jvm_set_replace(text, arg, err, errlen);
}

int cassconf_set_seeds(const char *yaml_path, const char *const *seeds,
    size_t n, bool *changed, char *err, size_t errlen)
{
	struct seeds_arg a = { seeds, n };
	return edit_file(yaml_path, edit_seeds, &a, changed, err, errlen);
}

int cassconf_set_replace(const char *jvm_path, const char *address,
    bool *changed, char *err, size_t errlen)
{
	return edit_file(jvm_path, edit_replace, address, changed, err, errlen);
}

int cassconf_seeds_preview(const char *yaml_path, const char *const *seeds,
    size_t n, bool *would_change, char **current, char **wanted, char *err,
    size_t errlen)
{
	char *old, *new, msg[256];
	size_t len;

	*would_change = false;
	*current = *wanted = NULL;
	if ((old = file_read_all(yaml_path, MAX_FILE, &len)) == NULL) {
		snprintf(err, errlen, "cannot read '%s': %s", yaml_path,
		    strerror(errno));
		return -1;
	}
	if (memchr(old, '\0', len) != NULL ||
	    (new = cassconf_yaml_set_seeds(old, seeds, n, msg, sizeof(msg))) == NULL) {
		snprintf(err, errlen, "%s: %s", yaml_path, memchr(old, '\0', len) ?
		    "holds NUL bytes: not a text file" : msg);
		free(old);
		return -1;
	}
	*would_change = strcmp(old, new) != 0;
	*current = cassconf_yaml_get_seeds(old);
	*wanted = cassconf_yaml_get_seeds(new);
	free(old);
	free(new);
	return 0;
}
