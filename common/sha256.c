/*
 * sha256.c - see sha256.h.
 */
#include "sha256.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "util.h"

void sha256_init(struct sha256_ctx *c)
{
	if (c->md == NULL)
		c->md = EVP_MD_CTX_new();
	if (c->md == NULL || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1)
		fatalx("sha256: libcrypto cannot start a SHA-256 digest "
		    "(out of memory or no default provider)");
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	if (len > 0 && EVP_DigestUpdate(c->md, data, len) != 1)
		fatalx("sha256: libcrypto failed to hash %zu bytes", len);
}

void sha256_final(struct sha256_ctx *c, unsigned char out[SHA256_LEN])
{
	unsigned n = 0;

	if (EVP_DigestFinal_ex(c->md, out, &n) != 1 || n != SHA256_LEN)
		fatalx("sha256: libcrypto failed to finish a digest");
	sha256_release(c);
}

void sha256_release(struct sha256_ctx *c)
{
	if (c == NULL)
		return;
	EVP_MD_CTX_free(c->md);
	c->md = NULL;
}

void sha256(const void *data, size_t len, unsigned char out[SHA256_LEN])
{
	unsigned n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != SHA256_LEN)
		fatalx("sha256: libcrypto failed to hash %zu bytes", len);
}

void sha256_hex(const void *data, size_t len, char out[2 * SHA256_LEN + 1])
{
	unsigned char d[SHA256_LEN];

	sha256(data, len, d);
	hex_encode(d, SHA256_LEN, out);
}

void hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[SHA256_LEN])
{
	unsigned n = 0;

	/* HMAC() takes the key length as an int; SigV4 keys are 32 bytes and
	 * secrets a few dozen, so a longer one is a caller's bug. */
	if (keylen > 65536)
		fatalx("hmac_sha256: key of %zu bytes is too long", keylen);
	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n) == NULL ||
	    n != SHA256_LEN)
		fatalx("hmac_sha256: libcrypto failed to compute an HMAC");
}
