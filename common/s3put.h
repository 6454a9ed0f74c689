/*
 * s3put.h - uploads to S3: one PUT, or a multipart upload whose parts go
 * up on `parallel` threads (s3.h describes the integrity checks).
 *
 * Both take the caller's key (for messages) and the full key in the bucket
 * (s3conn_full_key()).  Which one to use is the backend's choice
 * (s3http.c): a multipart upload above multipart_threshold.
 */
#ifndef RM_S3PUT_H
#define RM_S3PUT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "s3.h"
#include "s3conn.h"

/* s3_part_size() (see s3.h). */
uint64_t s3put_part_size(uint64_t size, uint64_t want, unsigned *nparts);

/*
 * One PUT of len bytes from mem, or (mem NULL) of fd from off.  On an ETag
 * that does not match what was sent, -1 with *damaged set: the object now
 * in the store is not ours and should be deleted (not every server checks
 * Content-MD5).
 */
int s3put_single(struct s3conn *c, const char *key, const char *fk, int fd,
    off_t off, const void *mem, uint64_t len, const struct s3_put_opts *o,
    struct s3_put_info *info, bool *damaged, char *err, size_t errlen);
/* A multipart upload of len bytes of fd from off; aborted on failure. */
int s3put_multipart(struct s3conn *c, const char *key, const char *fk,
    int fd, off_t off, uint64_t len, const struct s3_put_opts *o,
    struct s3_put_info *info, char *err, size_t errlen);

#endif
