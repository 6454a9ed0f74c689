/*
 * md5.h - MD5, through OpenSSL's libcrypto (EVP), for S3 integrity checks
 * only.
 *
 * S3 wants a Content-MD5 header on DeleteObjects and verifies it on every
 * PUT and UploadPart that carries one; an object's ETag is the MD5 of its
 * bytes (single PUT) or the MD5 of its parts' binary MD5s followed by
 * "-<parts>" (multipart).  MD5 is not used for anything that needs collision
 * resistance.  A failure inside libcrypto aborts with a message.
 */
#ifndef RM_MD5_H
#define RM_MD5_H

#include <stddef.h>

#define MD5_LEN 16

/* Same life cycle as struct sha256_ctx (sha256.h): start zeroed, init
 * (again to restart), final frees, release for one given up. */
struct evp_md_ctx_st;
struct md5_ctx {
	struct evp_md_ctx_st *md;
};
#define MD5_CTX_ZERO { NULL }

void md5_init(struct md5_ctx *c);
void md5_update(struct md5_ctx *c, const void *data, size_t len);
void md5_final(struct md5_ctx *c, unsigned char out[MD5_LEN]);
void md5_release(struct md5_ctx *c);
/* One-shot digest. */
void md5(const void *data, size_t len, unsigned char out[MD5_LEN]);
/* One-shot digest as 32 lowercase hex digits plus NUL. */
void md5_hex(const void *data, size_t len, char out[2 * MD5_LEN + 1]);
/* Standard base64 (RFC 4648, padded) of len bytes; out holds 4*ceil(len/3)+1. */
void md5_base64(const unsigned char *in, size_t len, char *out);

#endif
