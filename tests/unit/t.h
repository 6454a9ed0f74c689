/*
 * t.h - the unit-test harness: table-driven tests call T_CHECK* and each
 * test binary ends with t_done(), which prints "N passed, N failed" and
 * returns the exit status.  A check counts once; a failed check prints
 * file:line and the expression so the table row is easy to find.
 */
#ifndef RM_T_H
#define RM_T_H

#include <stdio.h>
#include <string.h>

static int t_passed, t_failed;

#define T_CHECK(cond, ...)                                                \
	do {                                                              \
		if (cond) {                                               \
			t_passed++;                                       \
		} else {                                                  \
			t_failed++;                                       \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__,     \
			    __LINE__, #cond);                             \
			fprintf(stderr, __VA_ARGS__);                     \
			fputc('\n', stderr);                              \
		}                                                         \
	} while (0)

#define T_EQ_INT(a, b)                                                    \
	T_CHECK((long long)(a) == (long long)(b), "got %lld, want %lld",  \
	    (long long)(a), (long long)(b))

#define T_EQ_STR(a, b)                                                    \
	do {                                                              \
		const char *t_a_ = (a), *t_b_ = (b);                      \
		T_CHECK(t_a_ != NULL && t_b_ != NULL &&                   \
		    strcmp(t_a_, t_b_) == 0, "got '%s', want '%s'",       \
		    t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");      \
	} while (0)

static inline int t_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, t_passed, t_failed);
	return t_failed ? 1 : 0;
}

#endif
