/*
 * mirror.c - the state mirror's object layout: generation names, the
 * manifest, retention, writing a generation and reading one back
 * (mirror.h).  The writer thread is in mirror_run.c.
 *
 * Order is the whole design: a generation's snapshot goes up before its
 * manifest, and `latest` moves only after both are complete, so whatever
 * instant the orchestrator dies at, `latest` names a generation a fresh
 * host can restore.  The manifest's sha256 is of the object as uploaded
 * (sealed or not), so a download is checked before the seal is opened,
 * and the seal's tag before SQLite reads a byte.
 */
#include "mirror.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../../common/digest.h"
#include "../../common/log.h"
#include "../../common/seal.h"
#include "../../common/storeurl.h"
#include "../../common/util.h"
#include "../store/store.h"
#include "mirror_int.h"

#define GEN_DIGITS	16
#define GEN_MAX		9999999999999999LL
#define DEFAULT_KEEP	24
#define GENS		"generations/"

/* ---- pure parts ---------------------------------------------------------- */

int64_t mirror_gen_next(int64_t now_ms, int64_t prev)
{
	return now_ms > prev ? now_ms : prev + 1;
}

void mirror_gen_name(int64_t g, char out[MIRROR_GEN_LEN])
{
	snprintf(out, MIRROR_GEN_LEN, "%016" PRId64, g);
}

int mirror_gen_parse(const char *s, int64_t *g)
{
	int64_t v = 0;

	for (int i = 0; i < GEN_DIGITS; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (s[GEN_DIGITS] != '\0')
		return -1;
	*g = v;
	return 0;
}

int mirror_latest_parse(const char *text, size_t len, int64_t *g)
{
	char buf[MIRROR_GEN_LEN];

	if (len == GEN_DIGITS + 1 && text[GEN_DIGITS] == '\n')
		len--;
	if (len != GEN_DIGITS || memchr(text, '\0', len) != NULL)
		return -1;
	memcpy(buf, text, GEN_DIGITS);
	buf[GEN_DIGITS] = '\0';
	return mirror_gen_parse(buf, g);
}

char *mirror_manifest_format(const struct mirror_manifest *m)
{
	char gen[MIRROR_GEN_LEN], created[40];
	json_t *o;
	char *s;

	mirror_gen_name(m->generation, gen);
	time_rfc3339(m->created_ms / 1000, created, sizeof(created));
	o = json_pack("{s:i, s:s, s:s, s:I, s:s, s:i, s:b}",
	    "format", m->format, "generation", gen, "created", created,
	    "bytes", (json_int_t)m->bytes, "sha256", m->sha256,
	    "schema", m->schema, "encrypted", m->encrypted);
	if (o == NULL)
		fatal("mirror: cannot build a manifest");
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		fatal("mirror: out of memory");
	return s;
}

static bool is_hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

int mirror_manifest_parse(const char *text, size_t len,
    struct mirror_manifest *m, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o, *v;
	const char *field = NULL;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	if (len > MIRROR_MANIFEST_MAX) {
		err_set(err, errlen, "manifest is %zu bytes, more than the "
		    "%d a manifest can be", len, MIRROR_MANIFEST_MAX);
		return -1;
	}
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL || !json_is_object(o)) {
		err_set(err, errlen, "manifest is not a JSON object%s%s",
		    o ? "" : ": ", o ? "" : je.text);
		json_decref(o);
		return -1;
	}
	field = "format";
	v = json_object_get(o, field);
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		goto bad;
	if (json_integer_value(v) > MIRROR_FORMAT) {
		err_set(err, errlen, "manifest format %lld is newer than this "
		    "ringmaster reads (%d): use a newer ringmaster",
		    (long long)json_integer_value(v), MIRROR_FORMAT);
		goto out;
	}
	m->format = (int)json_integer_value(v);
	field = "generation";
	v = json_object_get(o, field);
	if (!json_is_string(v) ||
	    mirror_gen_parse(json_string_value(v), &m->generation) != 0)
		goto bad;
	field = "created";
	v = json_object_get(o, field);
	if (!json_is_string(v) ||
	    time_parse_rfc3339(json_string_value(v), &m->created_ms) != 0)
		goto bad;
	m->created_ms *= 1000;
	field = "bytes";
	v = json_object_get(o, field);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		goto bad;
	m->bytes = (uint64_t)json_integer_value(v);
	field = "sha256";
	v = json_object_get(o, field);
	if (!json_is_string(v) || strlen(json_string_value(v)) != 64 ||
	    !is_hex64(json_string_value(v)))
		goto bad;
	str_copy(m->sha256, json_string_value(v), sizeof(m->sha256));
	field = "schema";
	v = json_object_get(o, field);
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 1000000)
		goto bad;
	m->schema = (int)json_integer_value(v);
	field = "encrypted";
	v = json_object_get(o, field);
	if (!json_is_boolean(v))
		goto bad;
	m->encrypted = json_is_true(v);
	rc = 0;
	goto out;
bad:
	err_set(err, errlen, "manifest field '%s' is missing or not what a "
	    "manifest holds", field);
out:
	json_decref(o);
	if (rc != 0) {
		int64_t g = m->generation;
		memset(m, 0, sizeof(*m));
		m->generation = g;
	}
	return rc;
}

size_t mirror_retention(const int64_t *gens, const bool *complete, size_t n,
    size_t keep, int64_t latest, bool *del)
{
	size_t kept = 0, marked = 0;
	bool seen_complete = false;

	/* Newest first: the first keep complete ones stay; an incomplete one
	 * newer than every complete one may be a write under way. */
	for (size_t i = n; i-- > 0;) {
		del[i] = false;
		if (gens[i] == latest) {
			if (complete[i]) {
				kept++;
				seen_complete = true;
			}
			continue;
		}
		if (!complete[i]) {
			if (seen_complete) {
				del[i] = true;
				marked++;
			}
			continue;
		}
		seen_complete = true;
		if (kept < keep) {
			kept++;
			continue;
		}
		del[i] = true;
		marked++;
	}
	return marked;
}

/* ---- the handle ---------------------------------------------------------- */

struct mirror *mirror_open(const struct mirror_opts *o, char *err,
    size_t errlen)
{
	char url[STOREURL_MAX];
	struct mirror *m;
	struct s3_opts so;

	if (storeurl_normalize(o->url, url, err, errlen) != 0)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->url = xstrdup(url);
	m->tmp_dir = xstrdup(o->tmp_dir ? o->tmp_dir : "/tmp");
	m->keep = o->keep > 0 ? o->keep : DEFAULT_KEEP;
	m->delay_ms = o->delay_ms > 0 ? o->delay_ms : 5000;
	m->interval_ms = o->interval_ms > 0 ? o->interval_ms : 300000;
	if (o->key_file != NULL) {
		if (seal_key_load(o->key_file, m->key, err, errlen) != 0)
			goto fail;
		m->has_key = true;
	}
	if (o->s3 != NULL)
		so = *o->s3;
	else
		s3_opts_init(&so);
	/* The writer retries a failed generation itself, with its own
	 * backoff: a request's retries stay short so shutdown and failure
	 * reports are not held back by S3's longer schedule. */
	if (so.max_attempts == 0)
		so.max_attempts = 3;
	if (so.retry_cap_ms == 0)
		so.retry_cap_ms = 2000;
	if ((m->s3 = s3_open(m->url, &so, err, errlen)) == NULL)
		goto fail;
	mirror_run_init(m);
	return m;
fail:
	explicit_bzero(m->key, sizeof(m->key));
	free(m->url);
	free(m->tmp_dir);
	free(m);
	return NULL;
}

void mirror_close(struct mirror *m)
{
	if (m == NULL)
		return;
	mirror_stop(m, false);
	mirror_run_release(m);
	s3_close(m->s3);
	explicit_bzero(m->key, sizeof(m->key));
	free(m->url);
	free(m->tmp_dir);
	free(m);
}

void mirror_set_gate(struct mirror *m, mirror_gate_fn fn, void *arg)
{
	m->gate = fn;
	m->gate_arg = arg;
}

bool mirror_encrypted(const struct mirror *m)
{
	return m->has_key;
}

const char *mirror_url(const struct mirror *m)
{
	return m->url;
}

static const char *object_name(bool encrypted)
{
	return encrypted ? "state.db.enc" : "state.db";
}

/* ---- writing ------------------------------------------------------------- */

/* Size and hex SHA-256 of the file at path. */
static int file_sha256(const char *path, uint64_t *size, char sha[65],
    char *err, size_t errlen)
{
	unsigned char md5[MD5_LEN];
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0 || fstat(fd, &sb) != 0) {
		err_set(err, errlen, "cannot read '%s': %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*size = (uint64_t)sb.st_size;
	rc = digest_fd_range(fd, 0, *size, md5, sha, path, err, errlen);
	close(fd);
	return rc;
}

/* Every generation's listing: names and which of the two objects exist. */
struct listing {
	struct lgen {
		int64_t g;
		bool man, db, enc;
		uint64_t db_size, enc_size;
	} *v;
	size_t n, cap;
};

static int list_cb(void *arg, const struct s3_object *o)
{
	struct listing *l = arg;
	const char *k = o->key, *slash;
	char gen[MIRROR_GEN_LEN];
	int64_t g;

	if (!str_starts_with(k, GENS))
		return 0;
	k += strlen(GENS);
	slash = strchr(k, '/');
	if (slash == NULL || slash - k != GEN_DIGITS)
		return 0;
	memcpy(gen, k, GEN_DIGITS);
	gen[GEN_DIGITS] = '\0';
	if (mirror_gen_parse(gen, &g) != 0)
		return 0;
	/* The listing comes in key order, so one generation's keys are
	 * together and generations ascend. */
	if (l->n == 0 || l->v[l->n - 1].g != g) {
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 32;
			l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
		}
		memset(&l->v[l->n], 0, sizeof(l->v[0]));
		l->v[l->n++].g = g;
	}
	struct lgen *e = &l->v[l->n - 1];
	if (strcmp(slash + 1, "manifest.json") == 0)
		e->man = true;
	else if (strcmp(slash + 1, "state.db") == 0) {
		e->db = true;
		e->db_size = o->size;
	} else if (strcmp(slash + 1, "state.db.enc") == 0) {
		e->enc = true;
		e->enc_size = o->size;
	}
	return 0;
}

static int list_objects(struct mirror *m, struct listing *l, char *err,
    size_t errlen)
{
	memset(l, 0, sizeof(*l));
	if (s3_list_all(m->s3, GENS, 0, list_cb, l, err, errlen) != 0) {
		free(l->v);
		l->v = NULL;
		return -1;
	}
	return 0;
}

static void gen_key(char *buf, size_t size, int64_t g, const char *name)
{
	char gen[MIRROR_GEN_LEN];

	mirror_gen_name(g, gen);
	snprintf(buf, size, GENS "%s/%s", gen, name);
}

/* Delete the generations retention no longer keeps; how many went. */
static size_t retain(struct mirror *m, int64_t latest)
{
	struct listing l;
	char err[512];
	size_t ndel = 0;

	if (list_objects(m, &l, err, sizeof(err)) != 0) {
		log_warnx("state mirror: retention skipped this time: %s", err);
		return 0;
	}
	int64_t *gens = xcalloc(l.n + 1, sizeof(*gens));
	bool *complete = xcalloc(l.n + 1, sizeof(*complete));
	bool *del = xcalloc(l.n + 1, sizeof(*del));
	for (size_t i = 0; i < l.n; i++) {
		gens[i] = l.v[i].g;
		complete[i] = l.v[i].man && (l.v[i].db || l.v[i].enc);
	}
	mirror_retention(gens, complete, l.n, (size_t)m->keep, latest, del);
	for (size_t i = 0; i < l.n; i++) {
		if (!del[i])
			continue;
		char k1[80], k2[80], k3[80];
		const char *keys[3] = { k1, k2, k3 };
		/* The manifest first: a generation half deleted is then
		 * incomplete, never one that looks complete and is not. */
		gen_key(k1, sizeof(k1), gens[i], "manifest.json");
		gen_key(k2, sizeof(k2), gens[i], "state.db");
		gen_key(k3, sizeof(k3), gens[i], "state.db.enc");
		if (s3_delete(m->s3, keys, 3, NULL, err, sizeof(err)) != 0) {
			log_warnx("state mirror: cannot delete old generation "
			    "%016" PRId64 ": %s; the next generation tries "
			    "again", gens[i], err);
			break;
		}
		ndel++;
	}
	free(gens);
	free(complete);
	free(del);
	free(l.v);
	return ndel;
}

int mirror_write(struct mirror *m, struct store *st,
    struct mirror_write_info *info, char *err, size_t errlen)
{
	struct mirror_manifest man = { .format = MIRROR_FORMAT };
	char gen[MIRROR_GEN_LEN], key[80], why[512];
	char *snap = NULL, *sealed = NULL, *mtext = NULL;
	const char *up;
	int64_t t0 = time_mono_ms();
	int rc = -1;

	man.generation = mirror_gen_next(time_wall_ms(), m->last_gen);
	man.created_ms = man.generation;
	man.schema = store_schema_version(st);
	man.encrypted = m->has_key;
	mirror_gen_name(man.generation, gen);
	snap = xasprintf("%s/.mirror-%s.db", m->tmp_dir, gen);
	sealed = xasprintf("%s/.mirror-%s.db.enc", m->tmp_dir, gen);
	unlink(snap);
	if (store_snapshot(st, snap, why, sizeof(why)) != 0) {
		err_set(err, errlen, "cannot snapshot the store: %s: check "
		    "the space in %s", why, m->tmp_dir);
		goto out;
	}
	up = snap;
	if (m->has_key) {
		if (seal_file(m->key, snap, sealed, why, sizeof(why)) != 0) {
			err_set(err, errlen, "cannot seal the snapshot: %s", why);
			goto out;
		}
		up = sealed;
	}
	if (file_sha256(up, &man.bytes, man.sha256, err, errlen) != 0)
		goto out;
	gen_key(key, sizeof(key), man.generation, object_name(m->has_key));
	struct s3_put_opts po = { .sha256 = man.sha256 };
	if (s3_put_file(m->s3, key, up, &po, NULL, why, sizeof(why)) != 0) {
		err_set(err, errlen, "cannot upload generation %s: %s", gen,
		    why);
		goto out;
	}
	mtext = mirror_manifest_format(&man);
	gen_key(key, sizeof(key), man.generation, "manifest.json");
	struct s3_put_opts mo = { .content_type = "application/json" };
	if (s3_put_mem(m->s3, key, mtext, strlen(mtext), &mo, NULL, why,
	    sizeof(why)) != 0) {
		err_set(err, errlen, "cannot upload the manifest of generation "
		    "%s: %s", gen, why);
		goto out;
	}
	/* Last look before `latest` moves: an orchestrator that lost the
	 * lease must not make its state the one a takeover restores. */
	if (m->gate != NULL && m->gate(m->gate_arg, why, sizeof(why)) != 0) {
		err_set(err, errlen, "generation %s is uploaded but 'latest' "
		    "stays where it is: %s", gen, why);
		goto out;
	}
	char line[MIRROR_GEN_LEN + 1];
	snprintf(line, sizeof(line), "%s\n", gen);
	struct s3_put_opts lo = { .content_type = "text/plain" };
	if (s3_put_mem(m->s3, "latest", line, strlen(line), &lo, NULL, why,
	    sizeof(why)) != 0) {
		err_set(err, errlen, "generation %s is uploaded but 'latest' "
		    "could not be moved to it: %s", gen, why);
		goto out;
	}
	m->last_gen = man.generation;
	if (info != NULL) {
		info->generation = man.generation;
		info->bytes = man.bytes;
		info->deleted = retain(m, man.generation);
		info->took_ms = time_mono_ms() - t0;
	} else {
		retain(m, man.generation);
	}
	rc = 0;
out:
	/* Not even a failed generation's number is reused. */
	if (man.generation > m->last_gen)
		m->last_gen = man.generation;
	unlink(snap);
	unlink(sealed);
	free(snap);
	free(sealed);
	free(mtext);
	return rc;
}

/* ---- reading ------------------------------------------------------------- */

static int get_manifest(struct mirror *m, int64_t g,
    struct mirror_manifest *man, char *err, size_t errlen)
{
	char key[80], why[400], gen[MIRROR_GEN_LEN];
	char *text = NULL;
	size_t len = 0;
	int rc;

	mirror_gen_name(g, gen);
	gen_key(key, sizeof(key), g, "manifest.json");
	rc = s3_get_mem(m->s3, key, MIRROR_MANIFEST_MAX, &text, &len, why,
	    sizeof(why));
	if (rc == S3_NOT_FOUND) {
		err_set(err, errlen, "generation %s has no manifest", gen);
		return S3_NOT_FOUND;
	}
	if (rc != 0) {
		err_set(err, errlen, "cannot read the manifest of generation "
		    "%s: %s", gen, why);
		return -1;
	}
	rc = mirror_manifest_parse(text, len, man, why, sizeof(why));
	free(text);
	if (rc != 0) {
		err_set(err, errlen, "generation %s: %s", gen, why);
		return -1;
	}
	if (man->generation != g) {
		err_set(err, errlen, "generation %s: its manifest names "
		    "generation %016" PRId64 " (copied from elsewhere?)", gen,
		    man->generation);
		return -1;
	}
	return 0;
}

int mirror_latest(struct mirror *m, int64_t *g, char *err, size_t errlen)
{
	char *text = NULL, why[400];
	size_t len = 0;
	int rc = s3_get_mem(m->s3, "latest", 64, &text, &len, why,
	    sizeof(why));

	if (rc == S3_NOT_FOUND) {
		err_set(err, errlen, "the mirror has no 'latest'");
		return S3_NOT_FOUND;
	}
	if (rc != 0) {
		err_set(err, errlen, "cannot read 'latest': %s", why);
		return -1;
	}
	rc = mirror_latest_parse(text, len, g);
	free(text);
	if (rc != 0)
		err_set(err, errlen, "'latest' does not hold a generation "
		    "(16 digits)");
	return rc;
}

int mirror_list(struct mirror *m, struct mirror_gen **out, size_t *nout,
    int64_t *latest, char *err, size_t errlen)
{
	struct listing l;
	struct mirror_gen *v;
	char why[400];

	*out = NULL;
	*nout = 0;
	*latest = 0;
	if (list_objects(m, &l, err, errlen) != 0)
		return -1;
	if (mirror_latest(m, latest, why, sizeof(why)) != 0)
		*latest = 0;
	v = xcalloc(l.n + 1, sizeof(*v));
	for (size_t i = 0; i < l.n; i++) {
		struct lgen *e = &l.v[l.n - 1 - i];
		struct mirror_gen *r = &v[i];
		r->generation = e->g;
		r->latest = e->g == *latest;
		if (!e->man) {
			str_copy(r->why, "no manifest (a write cut short, or "
			    "a deletion)", sizeof(r->why));
			continue;
		}
		if (get_manifest(m, e->g, &r->man, r->why,
		    sizeof(r->why)) != 0)
			continue;
		bool has = r->man.encrypted ? e->enc : e->db;
		uint64_t size = r->man.encrypted ? e->enc_size : e->db_size;
		if (!has)
			snprintf(r->why, sizeof(r->why), "no %s object",
			    object_name(r->man.encrypted));
		else if (size != r->man.bytes)
			snprintf(r->why, sizeof(r->why), "%s is %" PRIu64
			    " bytes, the manifest says %" PRIu64,
			    object_name(r->man.encrypted), size, r->man.bytes);
		else
			r->complete = true;
	}
	*out = v;
	*nout = l.n;
	free(l.v);
	return 0;
}

int mirror_fetch(struct mirror *m, int64_t g, const char *path,
    int max_schema, struct mirror_manifest *manout, char *err, size_t errlen)
{
	struct mirror_manifest man;
	char gen[MIRROR_GEN_LEN], key[80], why[600];
	char *dl = NULL, *plain = NULL;
	const char *db;
	int rc, schema = 0;

	mirror_gen_name(g, gen);
	rc = get_manifest(m, g, &man, why, sizeof(why));
	if (rc == S3_NOT_FOUND) {
		err_set(err, errlen, "no generation %s in %s: see 'ringmaster "
		    "state list'", gen, m->url);
		return S3_NOT_FOUND;
	}
	if (rc != 0) {
		err_set(err, errlen, "%s", why);
		return -1;
	}
	rc = -1;
	if (man.schema > max_schema) {
		err_set(err, errlen, "generation %s has schema %d, newer than "
		    "this ringmaster's %d: restore it with a newer ringmaster",
		    gen, man.schema, max_schema);
		goto out;
	}
	if (man.encrypted && !m->has_key) {
		err_set(err, errlen, "generation %s is encrypted and no "
		    "state_mirror_key_file is set: set it to the key the "
		    "mirror was written with", gen);
		goto out;
	}
	dl = xasprintf("%s/.mirror-fetch-%s", m->tmp_dir, gen);
	plain = xasprintf("%s/.mirror-fetch-%s.db", m->tmp_dir, gen);
	gen_key(key, sizeof(key), g, object_name(man.encrypted));
	struct s3_get_opts go = { .size = man.bytes, .sha256 = man.sha256 };
	rc = s3_get_file(m->s3, key, dl, &go, NULL, why, sizeof(why));
	if (rc != 0) {
		err_set(err, errlen, "generation %s: %s", gen,
		    rc == S3_NOT_FOUND ? "its snapshot object is missing" :
		    why);
		rc = -1;
		goto out;
	}
	rc = -1;
	/* s3_get_file checks the recorded SHA-256 as bytes stream when the
	 * store keeps one; file:// keeps none, so check it here always. */
	{
		uint64_t size;
		char sha[65];
		if (file_sha256(dl, &size, sha, why, sizeof(why)) != 0) {
			err_set(err, errlen, "generation %s: %s", gen, why);
			goto out;
		}
		if (size != man.bytes || strcmp(sha, man.sha256) != 0) {
			err_set(err, errlen, "generation %s: checksum mismatch: "
			    "the object's SHA-256 is %s, its manifest says %s: "
			    "the object was changed or damaged; use an older "
			    "generation", gen, sha, man.sha256);
			goto out;
		}
	}
	db = dl;
	if (man.encrypted) {
		if (seal_open_file(m->key, dl, plain, why, sizeof(why)) != 0) {
			err_set(err, errlen, "generation %s: %s", gen, why);
			goto out;
		}
		db = plain;
	}
	if (store_check_file(db, &schema, why, sizeof(why)) != 0) {
		err_set(err, errlen, "generation %s: %s", gen, why);
		goto out;
	}
	if (schema > max_schema) {
		err_set(err, errlen, "generation %s holds schema %d, newer "
		    "than this ringmaster's %d: restore it with a newer "
		    "ringmaster", gen, schema, max_schema);
		goto out;
	}
	if (rename(db, path) != 0) {
		err_set(err, errlen, "cannot move the restored database to "
		    "'%s': %s", path, strerror(errno));
		goto out;
	}
	if (manout != NULL)
		*manout = man;
	rc = 0;
out:
	if (dl != NULL)
		unlink(dl);
	if (plain != NULL)
		unlink(plain);
	free(dl);
	free(plain);
	return rc;
}

int mirror_recover(struct mirror *m, const char *path, int max_schema,
    struct mirror_manifest *used, int *skipped, char *err, size_t errlen)
{
	struct mirror_gen *v = NULL;
	size_t n = 0;
	int64_t latest = 0;
	char why[700] = "";
	int rc;

	*skipped = 0;
	rc = mirror_latest(m, &latest, why, sizeof(why));
	if (rc == 0) {
		if (mirror_fetch(m, latest, path, max_schema, used, why,
		    sizeof(why)) == 0)
			return 0;
		log_warnx("state mirror: the generation 'latest' names cannot "
		    "be used: %s; trying older ones", why);
		(*skipped)++;
	} else if (rc != S3_NOT_FOUND) {
		log_warnx("state mirror: %s; trying the generations by "
		    "listing", why);
	}
	if (mirror_list(m, &v, &n, &latest, err, errlen) != 0)
		return -1;
	rc = S3_NOT_FOUND;
	for (size_t i = 0; i < n; i++) {
		if (v[i].generation == latest && *skipped > 0)
			continue;
		if (!v[i].complete) {
			log_warnx("state mirror: skipping generation %016"
			    PRId64 ": %s", v[i].generation, v[i].why);
			continue;
		}
		if (mirror_fetch(m, v[i].generation, path, max_schema, used,
		    why, sizeof(why)) == 0) {
			rc = 0;
			break;
		}
		log_warnx("state mirror: skipping generation %016" PRId64
		    ": %s", v[i].generation, why);
		(*skipped)++;
		rc = -1;
	}
	free(v);
	if (rc == S3_NOT_FOUND && *skipped == 0)
		err_set(err, errlen, "the mirror %s holds no generation",
		    m->url);
	else if (rc != 0) {
		rc = -1;
		err_set(err, errlen, "no generation in %s could be restored; "
		    "the last reason: %s", m->url, why);
	}
	return rc;
}
