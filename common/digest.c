/*
 * digest.c - see digest.h.
 */
#include "digest.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s3.h"
#include "sha256.h"
#include "util.h"

/* Large enough that a read is not dominated by the system call, small
 * enough that parallel parts do not add up to much memory. */
#define IO_BUF (256u * 1024)

void digest_etag_copy(char *dst, size_t size, const char *v)
{
	if (v == NULL) {
		dst[0] = '\0';
		return;
	}
	if (strncmp(v, "W/", 2) == 0)
		v += 2;
	if (*v == '"')
		v++;
	size_t n = str_copy(dst, v, size);
	if (n < size && n > 0 && dst[n - 1] == '"')
		dst[n - 1] = '\0';
}

bool digest_is_md5_hex(const char *s)
{
	size_t i;
	for (i = 0; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return i == 32;
}

int digest_md5_from_hex(const char *s, unsigned char out[MD5_LEN])
{
	if (!digest_is_md5_hex(s))
		return -1;
	for (size_t i = 0; i < MD5_LEN; i++) {
		char byte[3] = { s[2 * i], s[2 * i + 1], '\0' };
		out[i] = (unsigned char)strtoul(byte, NULL, 16);
	}
	return 0;
}

unsigned digest_etag_parts(const char *etag)
{
	char *end;
	if (strlen(etag) < 34 || etag[32] != '-')
		return 0;
	for (int i = 0; i < 32; i++)
		if (!isxdigit((unsigned char)etag[i]))
			return 0;
	if (!isdigit((unsigned char)etag[33]))
		return 0;
	unsigned long n = strtoul(etag + 33, &end, 10);
	if (*end || n == 0 || n > S3_MAX_PARTS)
		return 0;
	return (unsigned)n;
}

void digest_multipart_etag(const unsigned char (*md5s)[MD5_LEN], unsigned n,
    char out[DIGEST_ETAG_MAX])
{
	struct md5_ctx c = MD5_CTX_ZERO;
	unsigned char d[MD5_LEN];
	char hex[2 * MD5_LEN + 1];

	md5_init(&c);
	for (unsigned i = 0; i < n; i++)
		md5_update(&c, md5s[i], MD5_LEN);
	md5_final(&c, d);
	hex_encode(d, MD5_LEN, hex);
	snprintf(out, DIGEST_ETAG_MAX, "%s-%u", hex, n);
}

int digest_fd_range(int fd, off_t off, uint64_t len,
    unsigned char md5out[MD5_LEN], char *sha_hex, const char *desc,
    char *err, size_t errlen)
{
	struct md5_ctx m = MD5_CTX_ZERO;
	struct sha256_ctx h = SHA256_CTX_ZERO;
	unsigned char *buf = xmalloc(IO_BUF);
	uint64_t done = 0;

	md5_init(&m);
	if (sha_hex)
		sha256_init(&h);
	while (done < len) {
		size_t want = len - done < IO_BUF ? (size_t)(len - done) : IO_BUF;
		ssize_t n = pread(fd, buf, want, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set(err, errlen, "cannot read the data for %s: %s",
			    desc, n < 0 ? strerror(errno) :
			    "file shorter than expected (did it change?)");
			md5_release(&m);
			sha256_release(&h);
			free(buf);
			return -1;
		}
		md5_update(&m, buf, (size_t)n);
		if (sha_hex)
			sha256_update(&h, buf, (size_t)n);
		done += (uint64_t)n;
	}
	md5_final(&m, md5out);
	if (sha_hex) {
		unsigned char d[SHA256_LEN];
		sha256_final(&h, d);
		hex_encode(d, SHA256_LEN, sha_hex);
	}
	free(buf);
	return 0;
}
