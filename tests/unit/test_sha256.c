/* SHA-256 against FIPS 180-4 examples and HMAC-SHA-256 against RFC 4231. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/sha256.h"
#include "../../common/util.h"
#include "t.h"

static void run_vectors(void)
{
	static const struct {
		const char *in;
		const char *hex;
	} rows[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	char hex[65];
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		sha256_hex(rows[i].in, strlen(rows[i].in), hex);
		T_EQ_STR(hex, rows[i].hex);
	}

	/* One million 'a', fed in uneven pieces to exercise buffering. */
	struct sha256_ctx c = SHA256_CTX_ZERO;
	unsigned char d[32];
	char *a = xmalloc(1000000);
	memset(a, 'a', 1000000);
	sha256_init(&c);
	for (size_t off = 0, step = 1; off < 1000000; step = step * 3 % 1021 + 1) {
		size_t n = off + step > 1000000 ? 1000000 - off : step;
		sha256_update(&c, a + off, n);
		off += n;
	}
	sha256_final(&c, d);
	hex_encode(d, 32, hex);
	T_EQ_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);

	/* RFC 4231 test cases 1, 2 and 6 (key longer than a block). */
	unsigned char key1[20], key6[131];
	memset(key1, 0x0b, sizeof(key1));
	memset(key6, 0xaa, sizeof(key6));
	hmac_sha256(key1, sizeof(key1), "Hi There", 8, d);
	hex_encode(d, 32, hex);
	T_EQ_STR(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
	hex_encode(d, 32, hex);
	T_EQ_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	hmac_sha256(key6, sizeof(key6), m6, strlen(m6), d);
	hex_encode(d, 32, hex);
	T_EQ_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* A restarted stream (init again without a final, as a download retried
 * from the start does) forgets what it had; one given up is released; a
 * finished one may be released again (ASan checks the memory). */
static void restart_and_release(void)
{
	struct sha256_ctx c = SHA256_CTX_ZERO;
	unsigned char d[SHA256_LEN];
	char hex[65];

	sha256_init(&c);
	sha256_update(&c, "garbage", 7);
	sha256_init(&c);
	sha256_update(&c, "abc", 3);
	sha256_final(&c, d);
	hex_encode(d, SHA256_LEN, hex);
	T_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	T_CHECK(c.md == NULL, "sha256_final frees the context");
	sha256_release(&c);
	sha256_init(&c);
	sha256_update(&c, "abandoned", 9);
	sha256_release(&c);
	T_CHECK(c.md == NULL, "sha256_release clears the context");
	sha256_release(NULL);
}

int main(void)
{
	run_vectors();
	restart_and_release();
	return t_done("test_sha256");
}
