/*
 * md5.c - see md5.h.
 */
#include "md5.h"

#include <openssl/evp.h>

#include "log.h"
#include "util.h"

void md5_init(struct md5_ctx *c)
{
	if (c->md == NULL)
		c->md = EVP_MD_CTX_new();
	if (c->md == NULL || EVP_DigestInit_ex(c->md, EVP_md5(), NULL) != 1)
		fatalx("md5: libcrypto cannot start an MD5 digest "
		    "(out of memory, or MD5 disabled by the OpenSSL configuration)");
}

void md5_update(struct md5_ctx *c, const void *data, size_t len)
{
	if (len > 0 && EVP_DigestUpdate(c->md, data, len) != 1)
		fatalx("md5: libcrypto failed to hash %zu bytes", len);
}

void md5_final(struct md5_ctx *c, unsigned char out[MD5_LEN])
{
	unsigned n = 0;

	if (EVP_DigestFinal_ex(c->md, out, &n) != 1 || n != MD5_LEN)
		fatalx("md5: libcrypto failed to finish a digest");
	md5_release(c);
}

void md5_release(struct md5_ctx *c)
{
	if (c == NULL)
		return;
	EVP_MD_CTX_free(c->md);
	c->md = NULL;
}

void md5(const void *data, size_t len, unsigned char out[MD5_LEN])
{
	unsigned n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_md5(), NULL) != 1 ||
	    n != MD5_LEN)
		fatalx("md5: libcrypto failed to hash %zu bytes", len);
}

void md5_hex(const void *data, size_t len, char out[2 * MD5_LEN + 1])
{
	unsigned char d[MD5_LEN];

	md5(data, len, d);
	hex_encode(d, MD5_LEN, out);
}

void md5_base64(const unsigned char *in, size_t len, char *out)
{
	/* EVP_EncodeBlock writes padded RFC 4648 base64 and a NUL, without
	 * line breaks; it takes an int length and only digests pass here. */
	if (len > 3 * 1024)
		fatalx("md5_base64: %zu bytes is more than a digest", len);
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}
