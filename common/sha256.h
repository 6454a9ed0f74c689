/*
 * sha256.h - SHA-256 and HMAC-SHA-256, through OpenSSL's libcrypto (EVP).
 *
 * Used for token hashes, S3 request signing (SigV4) and payload checksums.
 * libcrypto is already loaded by libcurl and libssh2 and picks the CPU's SHA
 * instructions itself, so this module only keeps the project's small API
 * over it.  A failure inside libcrypto (out of memory, a broken provider)
 * aborts with a message, as out of memory does everywhere else.
 */
#ifndef RM_SHA256_H
#define RM_SHA256_H

#include <stddef.h>

#define SHA256_LEN 32

/*
 * A running digest.  Start it zeroed (SHA256_CTX_ZERO or a zeroed struct):
 * sha256_init() allocates the library's context the first time and resets
 * it on later calls, so a stream that restarts may call it again.
 * sha256_final() writes the digest and frees the context; a digest given up
 * before its final needs sha256_release() (which accepts a zeroed or
 * finished context).
 */
struct evp_md_ctx_st;
struct sha256_ctx {
	struct evp_md_ctx_st *md;
};
#define SHA256_CTX_ZERO { NULL }

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, unsigned char out[SHA256_LEN]);
void sha256_release(struct sha256_ctx *c);
/* One-shot digest. */
void sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);
/* One-shot digest as 64 lowercase hex digits plus NUL. */
void sha256_hex(const void *data, size_t len, char out[2 * SHA256_LEN + 1]);
void hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[SHA256_LEN]);

#endif
