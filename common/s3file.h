/*
 * s3file.h - the file:// backend of the object store: a directory tree on
 * this host (single-host users, the demo).
 *
 * Key "a/b/c" is the file <dir>/a/b/c.  Writes are atomic: a temporary
 * file beside the target, fsync, rename, fsync of the directory.  Keys
 * that could leave the directory ("..", absolute, empty segments) or
 * collide with temporary files are refused.  Listing walks the tree and
 * sorts, so pages come in key order like S3's; a page's token is its last
 * key.  There are no ETags beyond the MD5 of what was written, and the
 * rate limit paces reads and writes as it paces S3 transfers.
 */
#ifndef RM_S3FILE_H
#define RM_S3FILE_H

#include "s3backend.h"

extern const struct s3backend s3file_backend;

#endif
