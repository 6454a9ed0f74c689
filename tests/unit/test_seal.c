/*
 * test_seal.c - AES-256-GCM sealed files (common/seal.c): key files, a
 * round trip of sizes around the buffer, and refusal of a wrong key, of
 * every kind of damage, and of a file that was never sealed - each with
 * no output left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/seal.h"
#include "../../common/util.h"
#include "t.h"

static char dir[] = "/tmp/test_seal.XXXXXX";

static char *path(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void put(const char *p, const void *data, size_t len)
{
	if (file_write_atomic(p, data, len, 0600) != 0) {
		fprintf(stderr, "cannot write %s: %s\n", p, strerror(errno));
		exit(1);
	}
}

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static const unsigned char key1[SEAL_KEY_LEN] = "0123456789abcdef0123456789abcde";
static const unsigned char key2[SEAL_KEY_LEN] = "0123456789abcdef0123456789abcdX";

static void test_keys(void)
{
	static const struct {
		const char *text;
		int rc;
	} cases[] = {
		{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0 },
		{ "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n", 0 },
		{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \r\n", 0 },
		{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1", -1 },
		{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00", -1 },
		{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g", -1 },
		{ "", -1 },
		{ "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", -1 },
	};
	unsigned char k[SEAL_KEY_LEN];
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		err[0] = '\0';
		int rc = seal_key_parse(cases[i].text, strlen(cases[i].text), k,
		    err, sizeof(err));
		T_CHECK(rc == cases[i].rc, "case %zu: rc %d (%s)", i, rc, err);
		if (rc == 0)
			T_CHECK(k[0] == 0 && k[1] == 1 && k[31] == 0x1f,
			    "case %zu: key bytes", i);
		else
			T_CHECK(strstr(err, "openssl rand -hex 32") != NULL,
			    "case %zu: the error says how to make a key: %s", i,
			    err);
	}
	char *kf = path("key");
	put(kf, cases[0].text, strlen(cases[0].text));
	T_EQ_INT(seal_key_load(kf, k, err, sizeof(err)), 0);
	T_EQ_INT(k[16], 0x10);
	char *missing = path("no-such-key");
	T_EQ_INT(seal_key_load(missing, k, err, sizeof(err)), -1);
	T_CHECK(strstr(err, missing) != NULL, "names the path: %s", err);
	put(kf, "not a key\n", 10);
	T_EQ_INT(seal_key_load(kf, k, err, sizeof(err)), -1);
	T_CHECK(strstr(err, kf) != NULL, "names the path: %s", err);
	free(kf);
	free(missing);
}

static void test_round_trip(void)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 65535, 65536, 65537,
	    200000 };
	char err[512];
	char *in = path("plain"), *sealed = path("sealed"), *out = path("out");

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned char *data = xmalloc(sizes[i] + 1);
		for (size_t j = 0; j < sizes[i]; j++)
			data[j] = (unsigned char)(j * 7 + i);
		put(in, data, sizes[i]);
		T_EQ_INT(seal_file(key1, in, sealed, err, sizeof(err)), 0);
		struct stat sb;
		T_CHECK(stat(sealed, &sb) == 0 &&
		    (size_t)sb.st_size == sizes[i] + SEAL_OVERHEAD,
		    "size %zu: sealed size", sizes[i]);
		T_CHECK((sb.st_mode & 077) == 0, "sealed file is 0600");
		T_EQ_INT(seal_open_file(key1, sealed, out, err, sizeof(err)), 0);
		size_t len = 0;
		char *back = file_read_all(out, 1 << 20, &len);
		T_CHECK(back != NULL && len == sizes[i] &&
		    memcmp(back, data, len) == 0, "size %zu: same bytes back",
		    sizes[i]);
		if (sizes[i] >= 16) {
			/* The plaintext does not appear in the sealed file. */
			char *s = file_read_all(sealed, 1 << 20, &len);
			T_CHECK(s != NULL && memmem(s, len, data, 16) == NULL,
			    "size %zu: ciphertext differs", sizes[i]);
			free(s);
		}
		free(back);
		free(data);
	}
	/* Two seals of one file differ (fresh nonce). */
	size_t l1, l2;
	put(in, "same", 4);
	char *s2 = path("sealed2");
	T_EQ_INT(seal_file(key1, in, sealed, err, sizeof(err)), 0);
	T_EQ_INT(seal_file(key1, in, s2, err, sizeof(err)), 0);
	char *a = file_read_all(sealed, 4096, &l1), *b = file_read_all(s2, 4096, &l2);
	T_CHECK(a && b && l1 == l2 && memcmp(a, b, l1) != 0, "nonces differ");
	free(a);
	free(b);
	free(s2);
	free(in);
	free(sealed);
	free(out);
}

/* Flip one byte at off of path. */
static void flip(const char *p, off_t off)
{
	int fd = open(p, O_RDWR);
	unsigned char c;
	if (fd < 0 || pread(fd, &c, 1, off) != 1) {
		fprintf(stderr, "cannot read %s\n", p);
		exit(1);
	}
	c ^= 0x01;
	if (pwrite(fd, &c, 1, off) != 1)
		exit(1);
	close(fd);
}

static void test_refusals(void)
{
	char err[512];
	char *in = path("plain"), *sealed = path("sealed"), *bad = path("bad");
	char *out = path("out");
	unsigned char data[1000];
	size_t len;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)i;
	put(in, data, sizeof(data));
	T_EQ_INT(seal_file(key1, in, sealed, err, sizeof(err)), 0);
	char *orig = file_read_all(sealed, 1 << 20, &len);
	if (orig == NULL)
		exit(1);

	/* Wrong key. */
	unlink(out);
	T_EQ_INT(seal_open_file(key2, sealed, out, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "failed authentication") != NULL, "%s", err);
	T_CHECK(!exists(out), "wrong key leaves no output");

	/* A flipped byte anywhere: magic, format, nonce, body, tag. */
	static const off_t offs[] = { 0, 4, 5, 16, 17, 500, 1000 + 17,
	    1000 + SEAL_OVERHEAD - 1 };
	for (size_t i = 0; i < ARRAY_SIZE(offs); i++) {
		put(bad, orig, len);
		flip(bad, offs[i]);
		T_EQ_INT(seal_open_file(key1, bad, out, err, sizeof(err)), -1);
		T_CHECK(!exists(out), "offset %lld: no output",
		    (long long)offs[i]);
	}
	/* Cut short, by one byte and to less than a header and tag. */
	put(bad, orig, len - 1);
	T_EQ_INT(seal_open_file(key1, bad, out, err, sizeof(err)), -1);
	T_CHECK(!exists(out), "truncated: no output");
	put(bad, orig, 20);
	T_EQ_INT(seal_open_file(key1, bad, out, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "not a sealed file") != NULL, "%s", err);
	/* One byte more. */
	char *longer = xmalloc(len + 1);
	memcpy(longer, orig, len);
	longer[len] = 'x';
	put(bad, longer, len + 1);
	T_EQ_INT(seal_open_file(key1, bad, out, err, sizeof(err)), -1);
	T_CHECK(!exists(out), "extended: no output");
	/* A plain SQLite file is not a sealed one. */
	put(bad, "SQLite format 3\0 and more bytes than a header and a tag", 56);
	T_EQ_INT(seal_open_file(key1, bad, out, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "not a sealed file") != NULL, "%s", err);
	/* A format this code does not know. */
	put(bad, orig, len);
	{
		int fd = open(bad, O_RDWR);
		unsigned char f = 9;
		if (fd < 0 || pwrite(fd, &f, 1, 4) != 1)
			exit(1);
		close(fd);
	}
	T_EQ_INT(seal_open_file(key1, bad, out, err, sizeof(err)), -1);
	T_CHECK(strstr(err, "format 9") != NULL, "%s", err);
	/* A missing input. */
	char *none = path("none");
	T_EQ_INT(seal_open_file(key1, none, out, err, sizeof(err)), -1);
	T_EQ_INT(seal_file(key1, none, out, err, sizeof(err)), -1);
	T_CHECK(!exists(out), "missing input: no output");
	/* The original still opens: the checks above were not vacuous. */
	T_EQ_INT(seal_open_file(key1, sealed, out, err, sizeof(err)), 0);
	free(none);
	free(longer);
	free(orig);
	free(in);
	free(sealed);
	free(bad);
	free(out);
}

int main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_keys();
	test_round_trip();
	test_refusals();
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
	return t_done("test_seal");
}
