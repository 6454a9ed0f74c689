/*
 * s3http.h - the S3 backend of the object store (s3://bucket/prefix): S3
 * and compatible servers over HTTP.
 *
 * The backend is split by concern: s3conn.c (endpoint, signing, the
 * connection pool, one request with retries), s3put.c (uploads), s3get.c
 * (downloads), s3xml.c (S3's XML documents).  This module ties them into
 * the struct s3backend that s3.c dispatches to, and does listing and
 * deletion itself.
 */
#ifndef RM_S3HTTP_H
#define RM_S3HTTP_H

#include "s3backend.h"

extern const struct s3backend s3http_backend;

#endif
