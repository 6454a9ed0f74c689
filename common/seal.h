/*
 * seal.h - files sealed with AES-256-GCM (OpenSSL's libcrypto, EVP), for
 * the state mirror: the orchestrator's database leaves the host only
 * sealed when a key is configured.
 *
 * A sealed file is
 *
 *	"RMSL"  format byte (1)  nonce (12 bytes)  ciphertext  tag (16 bytes)
 *
 * The 17-byte header is authenticated (GCM's additional data), so a
 * changed format byte or nonce fails like a changed ciphertext.  A fresh
 * random nonce is drawn for every file; with one key per orchestrator and
 * a few thousand files a day, random 96-bit nonces stay far from a
 * collision.  Files stream through a fixed buffer; nothing is held whole.
 *
 * Opening a sealed file writes the plaintext to out and only then sees
 * the tag: on any failure (wrong key, any changed byte, a short file) out
 * is removed, so a caller that gets -1 has nothing to use by mistake.
 *
 * The key file holds 64 hexadecimal digits (32 bytes), optionally followed
 * by a newline: `openssl rand -hex 32 > key`.  Anything else is refused.
 */
#ifndef RM_SEAL_H
#define RM_SEAL_H

#include <stddef.h>

#define SEAL_KEY_LEN	32
#define SEAL_FORMAT	1
#define SEAL_OVERHEAD	(4 + 1 + 12 + 16)	/* header and tag */

/* Read the key file at path into key.  0, or -1 with err. */
int seal_key_load(const char *path, unsigned char key[SEAL_KEY_LEN],
    char *err, size_t errlen);
/* Parse 64 hex digits (then optional white space) into key.  0 or -1. */
int seal_key_parse(const char *text, size_t len,
    unsigned char key[SEAL_KEY_LEN], char *err, size_t errlen);

/* Seal the file in into out (created 0600, replaced if it exists).
 * 0, or -1 with err and out removed. */
int seal_file(const unsigned char key[SEAL_KEY_LEN], const char *in,
    const char *out, char *err, size_t errlen);
/* Open the sealed file in into out (created 0600); the tag is checked
 * before 0 is returned.  -1 with err and out removed. */
int seal_open_file(const unsigned char key[SEAL_KEY_LEN], const char *in,
    const char *out, char *err, size_t errlen);

#endif
