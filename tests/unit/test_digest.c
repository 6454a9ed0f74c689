/*
 * test_digest.c - ETags and checksums of file ranges (common/digest.c):
 * the ETag forms S3 answers, hex MD5s, and MD5/SHA-256 of ranges checked
 * against one-shot digests of the same bytes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/digest.h"
#include "../../common/md5.h"
#include "../../common/sha256.h"
#include "../../common/util.h"
#include "t.h"

static void test_etags(void)
{
	static const struct {
		const char *in, *out;
	} copies[] = {
		{ "\"abc\"", "abc" },
		{ "W/\"abc\"", "abc" },
		{ "abc", "abc" },
		{ "\"", "" },
		{ "\"\"", "" },
		{ "", "" },
	};
	char out[DIGEST_ETAG_MAX];
	for (size_t i = 0; i < ARRAY_SIZE(copies); i++) {
		digest_etag_copy(out, sizeof(out), copies[i].in);
		T_EQ_STR(out, copies[i].out);
	}
	digest_etag_copy(out, sizeof(out), NULL);
	T_EQ_STR(out, "");

	static const struct {
		const char *etag;
		bool md5;
		unsigned parts;
	} forms[] = {
		{ "fba9dede5f27731c9771645a39863328", true, 0 },
		{ "FBA9DEDE5F27731C9771645A39863328", true, 0 },
		{ "fba9dede5f27731c9771645a3986332", false, 0 },
		{ "fba9dede5f27731c9771645a398633280", false, 0 },
		{ "gba9dede5f27731c9771645a39863328", false, 0 },
		{ "3858f62230ac3c915f300c664312c11f-9", false, 9 },
		{ "3858f62230ac3c915f300c664312c11f-10000", false, 10000 },
		{ "3858f62230ac3c915f300c664312c11f-10001", false, 0 },
		{ "3858f62230ac3c915f300c664312c11f-0", false, 0 },
		{ "3858f62230ac3c915f300c664312c11f-", false, 0 },
		{ "3858f62230ac3c915f300c664312c11f-9x", false, 0 },
		{ "3858f62230ac3c915f300c664312c11f--1", false, 0 },
		{ "3858f62230ac3c915f300c664312c11f-+9", false, 0 },
		{ "3858f62230ac3c915f300c664312c11z-9", false, 0 },
		{ "", false, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		T_CHECK(digest_is_md5_hex(forms[i].etag) == forms[i].md5,
		    "forms[%zu] md5", i);
		T_CHECK(digest_etag_parts(forms[i].etag) == forms[i].parts,
		    "forms[%zu] parts %u", i, digest_etag_parts(forms[i].etag));
	}

	unsigned char m[MD5_LEN], want[MD5_LEN];
	md5("hello", 5, want);
	T_EQ_INT(digest_md5_from_hex("5d41402abc4b2a76b9719d911017c592", m), 0);
	T_CHECK(memcmp(m, want, MD5_LEN) == 0, "hex to bytes");
	T_EQ_INT(digest_md5_from_hex("5D41402ABC4B2A76B9719D911017C592", m), 0);
	T_CHECK(memcmp(m, want, MD5_LEN) == 0, "upper-case hex");
	T_EQ_INT(digest_md5_from_hex("5d41402abc4b2a76b9719d911017c59", m), -1);
	T_EQ_INT(digest_md5_from_hex("5d41402abc4b2a76b9719d911017c59x", m),
	    -1);
}

static void test_fd_range(void)
{
	char path[] = "/tmp/test_s3_range.XXXXXX", err[256];
	int fd = mkstemp(path);
	unsigned char m[MD5_LEN];
	char hex[2 * MD5_LEN + 1], want[2 * MD5_LEN + 1];
	char sha[2 * SHA256_LEN + 1], wsha[2 * SHA256_LEN + 1];

	T_CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
	if (fd < 0)
		return;
	unlink(path);
	/* More than one read buffer, so the loop runs more than once. */
	size_t n = 600000;
	unsigned char *data = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	T_EQ_INT(write(fd, data, n), (long long)n);

	static const struct {
		off_t off;
		uint64_t len;
	} rows[] = { { 0, 600000 }, { 0, 0 }, { 1, 1 }, { 12345, 300000 },
	    { 599999, 1 } };
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		T_EQ_INT(digest_fd_range(fd, rows[i].off, rows[i].len, m, sha,
		    "x", err, sizeof(err)), 0);
		hex_encode(m, MD5_LEN, hex);
		md5_hex(data + rows[i].off, (size_t)rows[i].len, want);
		sha256_hex(data + rows[i].off, (size_t)rows[i].len, wsha);
		T_EQ_STR(hex, want);
		T_EQ_STR(sha, wsha);
	}
	/* Without sha_hex only the MD5 is computed. */
	T_EQ_INT(digest_fd_range(fd, 0, 10, m, NULL, "x", err, sizeof(err)),
	    0);
	/* A file shorter than asked: the object's name and the cause. */
	T_EQ_INT(digest_fd_range(fd, 599990, 11, m, NULL, "s3://b/k", err,
	    sizeof(err)), -1);
	T_CHECK(strstr(err, "s3://b/k") && strstr(err, "shorter than "
	    "expected"), "%s", err);
	close(fd);
	T_EQ_INT(digest_fd_range(fd, 0, 1, m, NULL, "k", err, sizeof(err)),
	    -1);
	free(data);
}

int main(void)
{
	test_etags();
	test_fd_range();
	return t_done("test_digest");
}
