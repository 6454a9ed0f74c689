/*
 * ssh_keys.c - public keys as OpenSSH writes them (ssh.h): parsing a
 * "type base64 [comment]" line and the SHA256 fingerprint ssh-keygen
 * prints.  Plain text and hashes, apart from ssh.c so that pinning a host
 * key can be read and tested without libssh2 or a session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/md5.h"
#include "../../common/sha256.h"
#include "../../common/util.h"
#include "ssh.h"

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode standard base64 (padding optional); NULL on a bad character. */
static unsigned char *b64_decode(const char *s, size_t n, size_t *outlen)
{
	unsigned char *out = xmalloc(n / 4 * 3 + 3);
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		int v;
		if (s[i] == '=')
			break;
		if ((v = b64val((unsigned char)s[i])) < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*outlen = o;
	return out;
}

int ssh_pubkey_parse(const char *line, char *type, size_t typelen,
    unsigned char **blob, size_t *bloblen)
{
	const char *p = line, *t, *b;
	size_t tl, bl;

	*blob = NULL;
	if (line == NULL)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	t = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	tl = (size_t)(p - t);
	while (*p == ' ' || *p == '\t')
		p++;
	b = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
		p++;
	bl = (size_t)(p - b);
	if (tl == 0 || tl >= typelen || bl < 16)
		return -1;
	if ((*blob = b64_decode(b, bl, bloblen)) == NULL)
		return -1;
	/* The blob starts with its own type name: they must agree. */
	if (*bloblen < 4 + tl || ((size_t)(*blob)[0] << 24 | (size_t)(*blob)[1] << 16 |
	    (size_t)(*blob)[2] << 8 | (*blob)[3]) != tl || memcmp(*blob + 4, t, tl) != 0) {
		free(*blob);
		*blob = NULL;
		return -1;
	}
	memcpy(type, t, tl);
	type[tl] = '\0';
	return 0;
}

void ssh_fingerprint(const unsigned char *blob, size_t len, char *out,
    size_t outlen)
{
	unsigned char h[SHA256_LEN];
	char b64[4 * ((SHA256_LEN + 2) / 3) + 1];
	char *eq;

	sha256(blob, len, h);
	md5_base64(h, sizeof(h), b64);
	if ((eq = strchr(b64, '=')) != NULL)
		*eq = '\0';
	snprintf(out, outlen, "SHA256:%s", b64);
}
