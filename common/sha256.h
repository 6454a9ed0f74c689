/*
 * sha256.h - SHA-256 and HMAC-SHA-256 (FIPS 180-4, RFC 2104).
 *
 * Used for token hashes, S3 request signing (SigV4) and payload checksums.
 * Kept here rather than linking libcrypto so the programs depend only on the
 * libraries listed in docs/architecture.md.
 */
#ifndef RM_SHA256_H
#define RM_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256_ctx {
	uint32_t h[8];
	uint64_t len;		/* bytes hashed so far */
	unsigned char buf[64];
	size_t nbuf;
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, unsigned char out[SHA256_LEN]);
/* One-shot digest. */
void sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);
/* One-shot digest as 64 lowercase hex digits plus NUL. */
void sha256_hex(const void *data, size_t len, char out[2 * SHA256_LEN + 1]);
/*
 * Use the CPU's SHA instructions when it has them (the default) or not; for
 * tests and benchmarks, before threads hash.  Returns whether they are used.
 */
bool sha256_use_hw(bool on);
void hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[SHA256_LEN]);

#endif
