/*
 * digest.h - the checksums an object store is verified with: S3's ETag
 * forms, and MD5/SHA-256 of a range of a file.
 *
 * An S3 ETag is the hex MD5 of the bytes for a single PUT, or for a
 * multipart upload the hex MD5 of the concatenated binary MD5s of its parts
 * followed by "-<parts>".  Servers quote it and may mark it weak ("W/");
 * every ETag kept by this code is unquoted.  Other forms (SSE-KMS, SSE-C)
 * are opaque and match neither test below.
 */
#ifndef RM_DIGEST_H
#define RM_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "md5.h"

/* An ETag as stored: "<32 hex>-<10000>" plus NUL fits with room. */
#define DIGEST_ETAG_MAX 80

/* Copy an ETag header or element into dst without quotes or a weak "W/"
 * marker; v NULL gives "". */
void digest_etag_copy(char *dst, size_t size, const char *v);
/* True when s is exactly 32 hex digits (a single-part ETag). */
bool digest_is_md5_hex(const char *s);
/* 32 hex digits to the 16 bytes they spell.  0, or -1 when s is not that. */
int digest_md5_from_hex(const char *s, unsigned char out[MD5_LEN]);
/* The part count of a multipart ETag "<32 hex>-<n>", 1 <= n <= 10,000;
 * 0 for anything else. */
unsigned digest_etag_parts(const char *etag);
/* The multipart ETag of n parts from their binary MD5s. */
void digest_multipart_etag(const unsigned char (*md5s)[MD5_LEN], unsigned n,
    char out[DIGEST_ETAG_MAX]);

/*
 * MD5 (and, when sha_hex is not NULL, hex SHA-256 into sha_hex[65]) of len
 * bytes of fd from off, read with pread() in bounded buffers.  -1 with err
 * naming desc when the file cannot be read or is shorter than len.
 */
int digest_fd_range(int fd, off_t off, uint64_t len,
    unsigned char md5out[MD5_LEN], char *sha_hex, const char *desc,
    char *err, size_t errlen);

#endif
