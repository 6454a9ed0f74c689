/*
 * s3backend.h - the contract between the object-store interface (s3.c)
 * and its backends: s3http.c (S3 and compatible servers) and s3file.c (a
 * directory tree).
 *
 * s3.c keeps one table of URL schemes, each with the struct s3backend its
 * module exports (s3http_backend, s3file_backend).  s3_open() finds the
 * scheme and calls the backend's open(); from then on every s3_* call goes
 * through the backend's function pointers with the state open() returned.
 * What is the same for every backend stays in s3.c: argument defaults, the
 * temporary file of a download with its fsync and rename, walking every
 * page of a listing, and the rate limiter, which both backends share.
 *
 * Every function follows s3.h's conventions (0, S3_NOT_FOUND where s3.h
 * documents it, -1 with err) and may be called by many threads at once.
 * Keys are the caller's, relative to the store; each backend checks them
 * by its own rules.
 */
#ifndef RM_S3BACKEND_H
#define RM_S3BACKEND_H

#include "ratelimit.h"
#include "s3.h"
#include "util.h"

/* What s3_open() gives a backend's open().  url and rate stay valid
 * until the backend's close(); the others only during open(). */
struct s3backend_args {
	const char *url;	/* as opened, without a trailing slash */
	const char *given;	/* as the caller wrote it */
	const char *rest;	/* given, after its scheme */
	const struct s3_opts *o; /* as the caller gave them (never NULL) */
	struct ratelimit *rate;	/* NULL: no limit; owned by s3.c */
};

struct s3backend {
	/* State for the store, or NULL with err naming the URL. */
	void *(*open)(const struct s3backend_args *a, char *err,
	    size_t errlen);
	void (*close)(void *b);
	int (*head)(void *b, const char *key, struct s3_stat *st, char *err,
	    size_t errlen);
	bool (*put_uses_md5)(const void *b, uint64_t size);
	/* len bytes from mem, or (mem NULL) from fd at off; info cleared by
	 * the caller. */
	int (*put)(void *b, const char *key, int fd, off_t off,
	    const void *mem, uint64_t len, const struct s3_put_opts *o,
	    struct s3_put_info *info, char *err, size_t errlen);
	/* The whole object into fd, an empty file of the caller's that is
	 * synced, renamed or removed afterwards; verified as s3.h says. */
	int (*get)(void *b, const char *key, int fd,
	    const struct s3_get_opts *o, struct s3_stat *st, char *err,
	    size_t errlen);
	int (*get_range)(void *b, const char *key, uint64_t off, uint64_t len,
	    int fd, off_t fd_off, char *err, size_t errlen);
	int (*get_mem)(void *b, const char *key, size_t max, char **data,
	    size_t *len, char *err, size_t errlen);
	int (*list_page)(void *b, const char *prefix, const char *token,
	    int max_keys, struct s3_list *out, char *err, size_t errlen);
	/* *deleted is zeroed by the caller and may be NULL. */
	int (*delete)(void *b, const char *const *keys, size_t n,
	    size_t *deleted, char *err, size_t errlen);
	/* s3_sign_debug(); NULL for a backend that signs nothing. */
	char *(*sign_debug)(void *b, const char *method, const char *key,
	    const struct sigv4_param *params, size_t nparams,
	    const struct sigv4_header *headers, size_t nheaders,
	    const char *payload_hash, time_t now);
};

/*
 * Temporary files of downloads and file:// uploads start with this mark:
 * the file backend refuses keys with a segment that does and never lists
 * such files, so a crash cannot leave a half-written object visible.
 */
#define S3BACKEND_TMP_MARK ".rmtmp-"

/* Helpers s3.c lends its backends. */
/* Create "<dir>/.rmtmp-<name>.XXXXXX" beside path; its name in *tmp
 * (caller frees).  The descriptor, or -1 with err. */
int s3_tmp_beside(const char *path, char **tmp, char *err, size_t errlen);
/* fsync() the directory holding path, so a rename into it is durable. */
void s3_fsync_dir_of(const char *path);

/* "<url>/<key>", how every message names an object.  Caller frees. */
static inline char *s3backend_describe(const char *url, const char *key)
{
	return xasprintf("%s/%s", url, key ? key : "");
}

#endif
