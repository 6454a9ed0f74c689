/*
 * jsonstr.h - a JSON string from text that may not be UTF-8.
 *
 * jansson refuses strings that are not UTF-8, and one such string (a
 * message quoting a tool's raw output, an odd node name) would make a
 * whole object fail to build.  jsonstr() keeps the text readable instead.
 */
#ifndef RM_JSONSTR_H
#define RM_JSONSTR_H

#include <jansson.h>

/* A new reference: null for NULL, else s as a string, with each byte
 * outside ASCII as '?' when s is not UTF-8. */
json_t *jsonstr(const char *s);

#endif
