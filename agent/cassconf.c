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
#include "../common/cassopt.h"
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

/* ---- rolling config changes ---- */

/* text with [from, to) replaced by repl; a new string. */
static char *splice(const char *text, const char *from, const char *to,
    const char *repl)
{
	struct strbuf b = { NULL, 0, 0 };

	strbuf_addn(&b, text, (size_t)(from - text));
	strbuf_add(&b, repl);
	strbuf_add(&b, to);
	return strbuf_detach(&b);
}

/* text + (a newline when it lacks one) + line + "\n"; a new string. */
static char *append_line(const char *text, const char *line)
{
	size_t n = strlen(text);

	return xasprintf("%s%s%s\n", text, n > 0 && text[n - 1] != '\n' ? "\n" :
	    "", line);
}

char *cassconf_yaml_set_key(const char *text, const char *key,
    const char *value, char *err, size_t errlen)
{
	size_t klen = strlen(key);
	const char *p = text;
	struct line l;

	while (line_next(&p, &l)) {
		const char *v;
		char *repl, *out;
		struct line nl;
		const char *q;

		if ((size_t)(l.end - l.start) <= klen ||
		    strncmp(l.start, key, klen) != 0 || l.start[klen] != ':')
			continue;
		v = skip_blanks(l.start + klen + 1, l.end);
		if (v < l.end && (*v == '{' || *v == '[' || *v == '|' ||
		    *v == '>' || *v == '&' || *v == '*')) {
			snprintf(err, errlen, "key '%s' is written in a form this "
			    "edit does not rewrite (flow style, block or anchor): "
			    "change it by hand", key);
			return NULL;
		}
		q = l.next;
		if ((v == l.end || *v == '#') && line_next(&q, &nl) &&
		    (nl.start[0] == ' ' || nl.start[0] == '\t' ||
		    nl.start[0] == '-')) {
			snprintf(err, errlen, "key '%s' holds a block, not a value: "
			    "change it by hand", key);
			return NULL;
		}
		repl = xasprintf("%s: %s", key, value);
		out = splice(text, l.start, l.end, repl);
		free(repl);
		return out;
	}
	{
		char *line = xasprintf("%s: %s", key, value), *out;
		out = append_line(text, line);
		free(line);
		return out;
	}
}

/* The line is active (not a comment) and sets the option named id[0..n)
 * in the way opt's kind does. */
static bool jvm_line_matches(const struct line *l, const char *opt,
    const char *id, size_t n)
{
	const char *s = skip_blanks(l->start, l->end), *lid;
	size_t ln;
	char *one;
	bool same;

	if (s == l->end || *s == '#')
		return false;
	one = xstrndup(s, (size_t)(l->end - s));
	str_trim(one);
	ln = cassopt_jvm_ident(one, &lid);
	same = ln == n && strncmp(lid, id, n) == 0 &&
	    (strncmp(one, "-XX:", 4) == 0) == (strncmp(opt, "-XX:", 4) == 0) &&
	    (strncmp(one, "-D", 2) == 0) == (strncmp(opt, "-D", 2) == 0);
	free(one);
	return same;
}

char *cassconf_jvm_set_option(const char *text, const char *opt, char *err,
    size_t errlen)
{
	const char *id, *p = text;
	size_t n = cassopt_jvm_ident(opt, &id);
	struct strbuf b = { NULL, 0, 0 };
	struct line l;
	bool done = false;

	if (n == 0) {
		snprintf(err, errlen, "JVM option '%s' is not one this edit takes",
		    opt);
		return NULL;
	}
	while (line_next(&p, &l)) {
		if (!jvm_line_matches(&l, opt, id, n)) {
			strbuf_addn(&b, l.start, (size_t)(l.next - l.start));
			continue;
		}
		/* The first one becomes opt; a later one would override it
		 * (the JVM takes the last), so it is commented out. */
		if (!done)
			strbuf_add(&b, opt);
		else {
			strbuf_add(&b, "# ");
			strbuf_addn(&b, l.start, (size_t)(l.end - l.start));
			strbuf_add(&b, " (overridden by ringmaster config-change)");
		}
		strbuf_addn(&b, l.end, (size_t)(l.next - l.end));
		done = true;
	}
	if (!done) {
		char *s = strbuf_detach(&b), *out = append_line(s, opt);
		free(s);
		return out;
	}
	return strbuf_detach(&b);
}

/* A file to apply: its path, real path, mode, old and new text. */
struct apply_file {
	const char *path;
	char real[PATH_MAX];
	struct stat st;
	char *old, *new;
};

static int apply_read(struct apply_file *f, char *err, size_t errlen)
{
	size_t len;

	if (f->path == NULL) {
		snprintf(err, errlen, "no file to edit: set cassandra_yaml and "
		    "jvm_options in the agent config");
		return -1;
	}
	if (realpath(f->path, f->real) == NULL || stat(f->real, &f->st) != 0 ||
	    (f->old = file_read_all(f->real, MAX_FILE, &len)) == NULL) {
		snprintf(err, errlen, "cannot read '%s': %s; nothing was changed",
		    f->path, strerror(errno));
		return -1;
	}
	if (memchr(f->old, '\0', len) != NULL) {
		snprintf(err, errlen, "'%s' holds NUL bytes: not a text file; "
		    "nothing was changed", f->path);
		return -1;
	}
	f->new = xstrdup(f->old);
	return 0;
}

static int apply_write(struct apply_file *f, bool *changed, char *backup,
    size_t blen, char *err, size_t errlen)
{
	*changed = false;
	backup[0] = '\0';
	if (strcmp(f->old, f->new) == 0)
		return 0;
	if ((size_t)snprintf(backup, blen, "%s.rm-bak-%lld", f->real,
	    (long long)time_wall_ms()) >= blen) {
		snprintf(err, errlen, "the path of '%s' is too long for its "
		    "backup's; nothing was changed", f->path);
		backup[0] = '\0';
		return -1;
	}
	if (file_write_atomic(backup, f->old, strlen(f->old),
	    (int)(f->st.st_mode & 07777)) != 0) {
		snprintf(err, errlen, "cannot write the backup '%s': %s; '%s' was "
		    "not changed", backup, strerror(errno), f->path);
		backup[0] = '\0';
		return -1;
	}
	if (file_write_atomic(f->real, f->new, strlen(f->new),
	    (int)(f->st.st_mode & 07777)) != 0) {
		snprintf(err, errlen, "cannot write '%s': %s (its backup is '%s')",
		    f->path, strerror(errno), backup);
		return -1;
	}
	if (geteuid() == 0 && (f->st.st_uid != 0 || f->st.st_gid != 0) &&
	    chown(f->real, f->st.st_uid, f->st.st_gid) != 0) {
		snprintf(err, errlen, "wrote '%s' but cannot give it back to uid "
		    "%d: %s", f->path, (int)f->st.st_uid, strerror(errno));
		return -1;
	}
	*changed = true;
	return 0;
}

int cassconf_apply(const char *yaml_path, const char *const *yaml_kv,
    size_t ny, const char *jvm_path, const char *const *jvm_opts, size_t nj,
    struct cassconf_applied *out, char *err, size_t errlen)
{
	struct apply_file y = { yaml_path, "", { 0 }, NULL, NULL };
	struct apply_file j = { jvm_path, "", { 0 }, NULL, NULL };
	char msg[512];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	/* Every item first: one bad item and nothing is read or written. */
	for (size_t i = 0; i < ny; i++) {
		const char *eq = strchr(yaml_kv[i], '=');
		char *key = eq ? xstrndup(yaml_kv[i], (size_t)(eq - yaml_kv[i])) :
		    xstrdup(yaml_kv[i]);
		int bad = eq == NULL ? -1 : cassopt_yaml_key_check(key, eq + 1,
		    msg, sizeof(msg));
		if (eq == NULL)
			snprintf(msg, sizeof(msg), "'%s' is not KEY=VALUE",
			    yaml_kv[i]);
		free(key);
		if (bad != 0) {
			snprintf(err, errlen, "%s; nothing was changed", msg);
			return -1;
		}
	}
	for (size_t i = 0; i < nj; i++)
		if (cassopt_jvm_option_check(jvm_opts[i], msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "%s; nothing was changed", msg);
			return -1;
		}
	if ((ny > 0 && apply_read(&y, err, errlen) != 0) ||
	    (nj > 0 && apply_read(&j, err, errlen) != 0))
		goto out;
	for (size_t i = 0; i < ny; i++) {
		const char *eq = strchr(yaml_kv[i], '=');
		char *key = xstrndup(yaml_kv[i], (size_t)(eq - yaml_kv[i]));
		char *t = cassconf_yaml_set_key(y.new, key, eq + 1, msg,
		    sizeof(msg));
		free(key);
		if (t == NULL) {
			snprintf(err, errlen, "%s: %s; nothing was changed",
			    y.path, msg);
			goto out;
		}
		free(y.new);
		y.new = t;
	}
	for (size_t i = 0; i < nj; i++) {
		char *t = cassconf_jvm_set_option(j.new, jvm_opts[i], msg,
		    sizeof(msg));
		if (t == NULL) {
			snprintf(err, errlen, "%s: %s; nothing was changed",
			    j.path, msg);
			goto out;
		}
		free(j.new);
		j.new = t;
	}
	if (ny > 0 && apply_write(&y, &out->yaml_changed, out->yaml_backup,
	    sizeof(out->yaml_backup), err, errlen) != 0)
		goto out;
	if (nj > 0 && apply_write(&j, &out->jvm_changed, out->jvm_backup,
	    sizeof(out->jvm_backup), err, errlen) != 0)
		goto out;
	rc = 0;
out:
	free(y.old);
	free(y.new);
	free(j.old);
	free(j.new);
	return rc;
}
