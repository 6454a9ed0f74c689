/*
 * s3get.h - reading from S3: HEAD, whole-object downloads verified while
 * they stream (or, for big objects, fetched as parallel ranges), single
 * ranges and small objects into memory.  s3.h describes the checks.
 *
 * Every call takes the caller's key (for messages) and the full key in the
 * bucket (s3conn_full_key()).  Returns 0, S3_NOT_FOUND or -1 with err.
 */
#ifndef RM_S3GET_H
#define RM_S3GET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "s3.h"
#include "s3conn.h"

int s3get_head(struct s3conn *c, const char *key, const char *fk,
    struct s3_stat *st, char *err, size_t errlen);
/* The object into fd, an empty file; on failure its content is
 * undefined. */
int s3get_file(struct s3conn *c, const char *key, const char *fk, int fd,
    const struct s3_get_opts *o, struct s3_stat *st, char *err,
    size_t errlen);
int s3get_range(struct s3conn *c, const char *key, const char *fk,
    uint64_t off, uint64_t len, int fd, off_t fd_off, char *err,
    size_t errlen);
int s3get_mem(struct s3conn *c, const char *key, const char *fk, size_t max,
    char **data, size_t *len, char *err, size_t errlen);

#endif
