/*
 * storeurl.h - storage URLs as the product takes them (a cluster's
 * storage.url, a restore's params.source.storage): checked and written
 * one way, so one place is never two strings.
 *
 *   s3://BUCKET[/PREFIX]   BUCKET: 1 to 63 of a-z A-Z 0-9 . - _ (no "..")
 *   file:///DIR            an absolute directory, not "/" itself
 *
 * The normal form drops empty and "." segments and a trailing "/"
 * ("s3://b//p/./q/" is "s3://b/p/q"); a ".." segment, a relative file://
 * path (file://dir, file://host/dir), another scheme, an empty bucket,
 * and blanks, control characters, quotes or a backslash anywhere are
 * refused with the reason.
 */
#ifndef RM_STOREURL_H
#define RM_STOREURL_H

#include <stddef.h>

#define STOREURL_MAX 1024

/* The normal form of url in out (STOREURL_MAX bytes), or -1 with err
 * ("storage URL 'x': <why>; write s3://bucket/prefix or file:///dir"). */
int storeurl_normalize(const char *url, char out[STOREURL_MAX], char *err,
    size_t errlen);

#endif
