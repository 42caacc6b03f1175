/*
 * tests/unit/unit.h -- a tiny unit-test harness.
 *
 * Each test file defines its tests as functions and lists them in main()
 * with UNIT_RUN(fn).  A failed CHECK reports file:line and the expression
 * and marks the current test failed; the test keeps running.  main() ends
 * with UNIT_DONE(), which prints "N passed, N failed" and sets the exit code.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	unit_failed_checks;
static int	unit_passed, unit_failed;

#define CHECK(expr) do {						\
	if (!(expr)) {							\
		fprintf(stderr, "  %s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #expr);				\
		unit_failed_checks++;					\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *unit_a_ = (a), *unit_b_ = (b);			\
	if (unit_a_ == NULL || unit_b_ == NULL ||			\
	    strcmp(unit_a_, unit_b_) != 0) {				\
		fprintf(stderr, "  %s:%d: %s: got \"%s\", want \"%s\"\n", \
		    __FILE__, __LINE__, #a, unit_a_ ? unit_a_ : "(null)", \
		    unit_b_ ? unit_b_ : "(null)");			\
		unit_failed_checks++;					\
	}								\
} while (0)

#define UNIT_RUN(fn) do {						\
	int unit_before_ = unit_failed_checks;				\
	fn();								\
	if (unit_failed_checks == unit_before_) {			\
		unit_passed++;						\
	} else {							\
		unit_failed++;						\
		fprintf(stderr, "FAIL %s\n", #fn);			\
	}								\
} while (0)

#define UNIT_DONE() do {						\
	printf("%d passed, %d failed\n", unit_passed, unit_failed);	\
	return unit_failed ? 1 : 0;					\
} while (0)

#endif
