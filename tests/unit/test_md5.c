/*
 * test_md5.c - MD5 against the RFC 1321 appendix A.5 test suite, streaming
 * in odd-sized pieces, and base64 against RFC 4648 section 10.
 */
#include <stdio.h>
#include <string.h>

#include "../../common/md5.h"
#include "../../common/util.h"
#include "t.h"

static const struct {
	const char *in;
	const char *hex;
} rfc1321[] = {
	{ "", "d41d8cd98f00b204e9800998ecf8427e" },
	{ "a", "0cc175b9c0f1b6a831c399e269772661" },
	{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
	{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
	{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	  "d174ab98d277d9f5a5611c2c9f419d9f" },
	{ "1234567890123456789012345678901234567890"
	  "1234567890123456789012345678901234567890",
	  "57edf4a22be3c955ac49da2e2107b67a" },
	/* Lengths around the 56-byte padding boundary. */
	{ "The quick brown fox jumps over the lazy dog",
	  "9e107d9d372bb6826bd81d3542a419d6" },
};

static const struct {
	const char *in;
	const char *b64;
} rfc4648[] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

int main(void)
{
	char hex[2 * MD5_LEN + 1], b64[64];

	for (size_t i = 0; i < ARRAY_SIZE(rfc1321); i++) {
		md5_hex(rfc1321[i].in, strlen(rfc1321[i].in), hex);
		T_EQ_STR(hex, rfc1321[i].hex);

		/* The same digest when fed one to seven bytes at a time. */
		for (size_t step = 1; step <= 7; step++) {
			struct md5_ctx c = MD5_CTX_ZERO;
			unsigned char d[MD5_LEN];
			size_t len = strlen(rfc1321[i].in);
			md5_init(&c);
			for (size_t off = 0; off < len; off += step)
				md5_update(&c, rfc1321[i].in + off,
				    len - off < step ? len - off : step);
			md5_final(&c, d);
			hex_encode(d, MD5_LEN, hex);
			T_EQ_STR(hex, rfc1321[i].hex);
		}
	}

	/* A million 'a's (a long input crossing many blocks). */
	{
		struct md5_ctx c = MD5_CTX_ZERO;
		unsigned char d[MD5_LEN], chunk[1000];
		memset(chunk, 'a', sizeof(chunk));
		md5_init(&c);
		for (int i = 0; i < 1000; i++)
			md5_update(&c, chunk, sizeof(chunk));
		md5_final(&c, d);
		hex_encode(d, MD5_LEN, hex);
		T_EQ_STR(hex, "7707d6ae4e027c70eea2a935c2296f21");
	}

	for (size_t i = 0; i < ARRAY_SIZE(rfc4648); i++) {
		md5_base64((const unsigned char *)rfc4648[i].in,
		    strlen(rfc4648[i].in), b64);
		T_EQ_STR(b64, rfc4648[i].b64);
	}

	/* A restarted stream (init again without a final, as a download
	 * retried from the start does) forgets what it had; one given up is
	 * released; a finished one may be released again (ASan checks both). */
	{
		struct md5_ctx c = MD5_CTX_ZERO;
		unsigned char d[MD5_LEN];
		md5_init(&c);
		md5_update(&c, "garbage", 7);
		md5_init(&c);
		md5_update(&c, "abc", 3);
		md5_final(&c, d);
		hex_encode(d, MD5_LEN, hex);
		T_EQ_STR(hex, "900150983cd24fb0d6963f7d28e17f72");
		T_CHECK(c.md == NULL, "md5_final frees the context");
		md5_release(&c);
		md5_init(&c);
		md5_update(&c, "abandoned", 9);
		md5_release(&c);
		T_CHECK(c.md == NULL, "md5_release clears the context");
	}

	/* Content-MD5 of the empty body, as S3 documents it. */
	{
		unsigned char d[MD5_LEN];
		md5("", 0, d);
		md5_base64(d, MD5_LEN, b64);
		T_EQ_STR(b64, "1B2M2Y8AsgTpgAmY7PhCfg==");
	}
	return t_done("test_md5");
}
