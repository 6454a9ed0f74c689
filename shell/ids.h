/*
 * ids.h - ids an operator can type.
 *
 * Task and schedule ids ("t-" and 16 hex digits) grow with time, so ids made
 * the same day share their first ten or so digits and differ in the middle.
 * A typed word names the one id that equals it, else the one it starts
 * (with or without the "t-"/"s-"), else the one that contains it when it is
 * at least IDS_MIN_PART characters: the digits that tell ids apart are
 * enough.  Several matches are an error listing them, as git does.
 * Everything here is pure; exec.c fetches the ids from the list routes.
 */
#ifndef RS_IDS_H
#define RS_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define IDS_MIN_PART	3

enum ids_result {
	IDS_ONE,
	IDS_NONE,
	IDS_AMBIGUOUS,
};

/*
 * Find word among ids[0..n).  IDS_ONE with *pick set; IDS_AMBIGUOUS with
 * the first max matches in match[] and their count in *nmatch; IDS_NONE.
 */
enum ids_result ids_find(const char *word, const char *const *ids, size_t n,
    size_t *pick, size_t *match, size_t max, size_t *nmatch);

/*
 * Completion: the ids of the NULL-terminated list that word may stand
 * for (all of them when word is empty), by the rule ids_find() uses: the
 * prefix matches when there are any, else the containing ones.  Fresh
 * NULL-terminated array of fresh strings.
 */
char **ids_complete(const char *word, const char *const *ids);

/* True when word is a whole task or schedule id ("t-" + 16 hex digits). */
bool ids_is_full(const char *word, char kind);

/*
 * "t-1, t-2, t-3 and 4 more": the candidates of an ambiguous word, for an
 * error line.  Fresh string.
 */
char *ids_list(const char *const *ids, const size_t *match, size_t shown,
    size_t total);

#endif
