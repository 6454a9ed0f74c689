/*
 * ids.c - see ids.h.
 */
#include "ids.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

/* The id without its "t-"/"s-" kind, so "019a" matches "t-019a…". */
static const char *bare(const char *id)
{
	if (id[0] != '\0' && id[1] == '-' && isalpha((unsigned char)id[0]))
		return id + 2;
	return id;
}

static bool starts(const char *word, const char *id)
{
	return str_starts_with(id, word) || str_starts_with(bare(id), word);
}

static bool contains(const char *word, const char *id)
{
	return strlen(word) >= IDS_MIN_PART && strstr(id, word) != NULL;
}

enum ids_result ids_find(const char *word, const char *const *ids, size_t n,
    size_t *pick, size_t *match, size_t max, size_t *nmatch)
{
	size_t count = 0, i;

	*nmatch = 0;
	if (word == NULL || *word == '\0')
		return IDS_NONE;
	for (i = 0; i < n; i++) {
		if (ids[i] && strcmp(ids[i], word) == 0) {
			*pick = i;
			return IDS_ONE;
		}
	}
	/* Prefixes first: a prefix of one id may sit inside another. */
	for (int pass = 0; pass < 2 && count == 0; pass++) {
		for (i = 0; i < n; i++) {
			if (ids[i] == NULL)
				continue;
			if (pass == 0 ? !starts(word, ids[i]) :
			    !contains(word, ids[i]))
				continue;
			if (count < max)
				match[count] = i;
			count++;
			*pick = i;
		}
	}
	*nmatch = count;
	if (count == 0)
		return IDS_NONE;
	return count == 1 ? IDS_ONE : IDS_AMBIGUOUS;
}

char **ids_complete(const char *word, const char *const *ids)
{
	size_t n = 0, k = 0;
	char **out;

	for (const char *const *p = ids; p && *p; p++)
		n++;
	out = xcalloc(n + 1, sizeof(*out));
	if (word == NULL)
		word = "";
	for (int pass = 0; pass < 2 && k == 0; pass++) {
		for (size_t i = 0; i < n; i++) {
			bool hit = pass == 0 ? (*word == '\0' ||
			    starts(word, ids[i])) : contains(word, ids[i]);
			if (hit)
				out[k++] = xstrdup(ids[i]);
		}
	}
	return out;
}

bool ids_is_full(const char *word, char kind)
{
	if (word == NULL || word[0] != kind || word[1] != '-' ||
	    strlen(word) != 18)
		return false;
	for (const char *p = word + 2; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return false;
	return true;
}

char *ids_list(const char *const *ids, const size_t *match, size_t shown,
    size_t total)
{
	char *s = xstrdup(""), *t;

	for (size_t i = 0; i < shown; i++) {
		t = xasprintf("%s%s%s", s, i ? ", " : "", ids[match[i]]);
		free(s);
		s = t;
	}
	if (total > shown) {
		t = xasprintf("%s and %zu more", s, total - shown);
		free(s);
		s = t;
	}
	return s;
}
