/*
 * jsonstr.c - see jsonstr.h.
 */
#include "jsonstr.h"

#include <stdlib.h>

#include "util.h"

json_t *jsonstr(const char *s)
{
	json_t *j;
	char *t;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	t = xstrdup(s);
	for (char *p = t; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(t);
	free(t);
	return j;
}
