/*
 * seal.c - AES-256-GCM over whole files (seal.h).  The only user of
 * libcrypto's cipher API.
 */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util.h"

#define MAGIC		"RMSL"
#define MAGIC_LEN	4
#define NONCE_LEN	12
#define TAG_LEN		16
#define HDR_LEN		(MAGIC_LEN + 1 + NONCE_LEN)
#define BUF		65536

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int seal_key_parse(const char *text, size_t len,
    unsigned char key[SEAL_KEY_LEN], char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < 2 * SEAL_KEY_LEN; i++)
		if (i >= len || hexval((unsigned char)text[i]) < 0)
			goto bad;
	for (; i < len; i++)
		if (text[i] != '\n' && text[i] != '\r' && text[i] != ' ' &&
		    text[i] != '\t')
			goto bad;
	for (i = 0; i < SEAL_KEY_LEN; i++)
		key[i] = (unsigned char)(hexval((unsigned char)text[2 * i]) << 4 |
		    hexval((unsigned char)text[2 * i + 1]));
	return 0;
bad:
	err_set(err, errlen, "the key is not 64 hexadecimal digits (32 "
	    "bytes): make one with 'openssl rand -hex 32'");
	return -1;
}

int seal_key_load(const char *path, unsigned char key[SEAL_KEY_LEN],
    char *err, size_t errlen)
{
	size_t len = 0;
	char *text = file_read_all(path, 4096, &len);
	char why[200];
	int rc;

	if (text == NULL) {
		err_set(err, errlen, "cannot read key file '%s': %s: check "
		    "the path and that ringmaster may read it", path,
		    errno ? strerror(errno) : "larger than 4 KiB");
		return -1;
	}
	rc = seal_key_parse(text, len, key, why, sizeof(why));
	explicit_bzero(text, len);
	free(text);
	if (rc != 0)
		err_set(err, errlen, "key file '%s': %s", path, why);
	return rc;
}

static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
	size_t put = 0;

	while (put < n) {
		ssize_t w = write(fd, (const char *)buf + put, n - put);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		put += (size_t)w;
	}
	return 0;
}

/* Both directions share the set-up and the stream; enc says which. */
static int run(const unsigned char key[SEAL_KEY_LEN], const char *in,
    const char *out, bool enc, char *err, size_t errlen)
{
	EVP_CIPHER_CTX *cx = NULL;
	unsigned char hdr[HDR_LEN], tag[TAG_LEN];
	unsigned char *ib = NULL, *ob = NULL;
	int ifd = -1, ofd = -1, olen, rc = -1;
	uint64_t left = 0;
	struct stat sb;

	if ((ifd = open(in, O_RDONLY | O_CLOEXEC)) < 0 || fstat(ifd, &sb) != 0) {
		err_set(err, errlen, "cannot read '%s': %s", in,
		    strerror(errno));
		goto out;
	}
	if ((ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0) {
		err_set(err, errlen, "cannot create '%s': %s: check the "
		    "directory's space and permissions", out, strerror(errno));
		goto out;
	}
	if (enc) {
		memcpy(hdr, MAGIC, MAGIC_LEN);
		hdr[MAGIC_LEN] = SEAL_FORMAT;
		random_bytes(hdr + MAGIC_LEN + 1, NONCE_LEN);
		left = (uint64_t)sb.st_size;
	} else {
		if ((uint64_t)sb.st_size < HDR_LEN + TAG_LEN ||
		    read_full(ifd, hdr, HDR_LEN) != 0 ||
		    memcmp(hdr, MAGIC, MAGIC_LEN) != 0) {
			err_set(err, errlen, "'%s' is not a sealed file (too "
			    "short or no RMSL header): was it written without "
			    "state_mirror_key_file?", in);
			goto out;
		}
		if (hdr[MAGIC_LEN] != SEAL_FORMAT) {
			err_set(err, errlen, "'%s' is sealed in format %u, this "
			    "ringmaster reads format %u: use a newer ringmaster",
			    in, hdr[MAGIC_LEN], SEAL_FORMAT);
			goto out;
		}
		left = (uint64_t)sb.st_size - HDR_LEN - TAG_LEN;
	}
	if ((cx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(cx, EVP_aes_256_gcm(), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(cx, NULL, NULL, key, hdr + MAGIC_LEN + 1,
	    enc) != 1 ||
	    EVP_CipherUpdate(cx, NULL, &olen, hdr, HDR_LEN) != 1) {
		err_set(err, errlen, "cannot set up AES-256-GCM (libcrypto): "
		    "check the OpenSSL installation");
		goto out;
	}
	if (enc && write_full(ofd, hdr, HDR_LEN) != 0)
		goto wfail;
	ib = xmalloc(BUF);
	ob = xmalloc(BUF + 32);
	while (left > 0) {
		size_t n = left < BUF ? (size_t)left : BUF;
		if (read_full(ifd, ib, n) != 0) {
			err_set(err, errlen, "cannot read '%s': %s (did it "
			    "change while it was read?)", in,
			    errno ? strerror(errno) : "short file");
			goto out;
		}
		if (EVP_CipherUpdate(cx, ob, &olen, ib, (int)n) != 1) {
			err_set(err, errlen, "AES-256-GCM failed on '%s'", in);
			goto out;
		}
		if (write_full(ofd, ob, (size_t)olen) != 0)
			goto wfail;
		left -= n;
	}
	if (!enc) {
		if (read_full(ifd, tag, TAG_LEN) != 0 ||
		    EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
		    tag) != 1) {
			err_set(err, errlen, "cannot read the tag of '%s'", in);
			goto out;
		}
	}
	if (EVP_CipherFinal_ex(cx, ob, &olen) != 1) {
		err_set(err, errlen, "'%s' failed authentication (AES-256-GCM "
		    "tag): the key is not the one it was sealed with, or the "
		    "file was changed or cut short; nothing of it was used", in);
		goto out;
	}
	if (enc) {
		if (EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
		    tag) != 1) {
			err_set(err, errlen, "cannot get the GCM tag");
			goto out;
		}
		if (write_full(ofd, tag, TAG_LEN) != 0)
			goto wfail;
	}
	if (fsync(ofd) != 0)
		goto wfail;
	rc = 0;
	goto out;
wfail:
	err_set(err, errlen, "cannot write '%s': %s: check the directory's "
	    "space", out, strerror(errno));
out:
	EVP_CIPHER_CTX_free(cx);
	if (ob != NULL) {
		explicit_bzero(ob, BUF + 32);
		free(ob);
	}
	free(ib);
	if (ifd >= 0)
		close(ifd);
	if (ofd >= 0) {
		if (close(ofd) != 0 && rc == 0) {
			err_set(err, errlen, "cannot write '%s': %s", out,
			    strerror(errno));
			rc = -1;
		}
		if (rc != 0)
			unlink(out);
	}
	return rc;
}

int seal_file(const unsigned char key[SEAL_KEY_LEN], const char *in,
    const char *out, char *err, size_t errlen)
{
	return run(key, in, out, true, err, errlen);
}

int seal_open_file(const unsigned char key[SEAL_KEY_LEN], const char *in,
    const char *out, char *err, size_t errlen)
{
	return run(key, in, out, false, err, errlen);
}
