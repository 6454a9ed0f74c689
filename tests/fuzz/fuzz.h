/*
 * fuzz.h - what the libFuzzer targets in tests/fuzz/ share.
 *
 * Each fuzz_X.c is one target: `make fuzz` builds it with clang and
 * -fsanitize=fuzzer,address,undefined as build/fuzz/tests/fuzz/fuzz_X.
 * A target feeds the bytes libFuzzer gives it to the product's own parser
 * or validator, exactly as the bytes arrive from the network, a node or a
 * file, and aborts (which libFuzzer reports as a crash, with the input
 * saved) when the parser breaks a promise its header makes: an error
 * without a message, a result that does not survive its own round trip.
 * The sanitizers catch the rest (overflows, double frees, UB).
 */
#ifndef RM_FUZZ_H
#define RM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libFuzzer's entry points (declared here for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * The input as a NUL-terminated string, for parsers that take one (bytes
 * after an embedded NUL are then unseen, as they would be in production).
 */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A broken promise: say which, then abort so libFuzzer keeps the input. */
#define FUZZ_ASSERT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: broken promise: %s: ", __FILE__, \
		    __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} \
} while (0)

#endif
