/*
 * tap.h - a minimal TAP producer for table-driven unit tests.
 *
 * Every test declares how many checks it makes, in one of two ways:
 * - up front, when main() knows the count (tables at file scope):
 *       tap_plan((int)NROWS(cases) * 3 + 2);
 *   the plan line is printed first;
 * - section by section: each function that makes checks starts (before
 *   its first check) with the count it will make, from its own table:
 *       tap_expect(NROWS(cases) * 2);
 *   and tap_done() prints the declared total as the plan.
 * Either way a check that does not run (an early return, a loop cut short,
 * a crash) makes the count differ from the plan, which fails the test
 * instead of shrinking it; a test that declares nothing fails too. A check
 * that does not apply here is reported with tap_skip() and counts.
 *
 * Each check prints "ok N - name" or "not ok N - name" with a diagnostic;
 * the test returns tap_done(). Run under Automake's tap-driver.sh, so each
 * check is counted on its own.
 *
 * tap_ok(pass, ...) takes a truth value, as tap_ok in tests/lib.sh does:
 * non-zero is ok, 0 is not.
 */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;
static int tap_planned = -1;     /* tap_plan's count, or -1 */
static long tap_expected = -1;   /* the sum of tap_expect's counts, or -1 */

/* Elements of a table (an array, not a pointer). */
#define NROWS(a) (sizeof (a) / sizeof (a)[0])

static inline void tap_bail(const char *why)
{
	printf("Bail out! %s\n", why);
	fflush(stdout);
}

/* The number of checks of the whole test, before the first one. */
static inline void tap_plan(int n)
{
	if (tap_n > 0 || tap_planned >= 0 || tap_expected >= 0) {
		tap_bail("tap_plan after a check, twice or with tap_expect: the plan comes first");
		return;
	}
	printf("1..%d\n", n);
	tap_planned = n;
	fflush(stdout);
}

/* A section is about to make n more checks (not with tap_plan). */
static inline void tap_expect(size_t n)
{
	if (tap_planned >= 0) {
		tap_bail("tap_expect in a test with tap_plan: one or the other");
		return;
	}
	tap_expected = (tap_expected < 0 ? 0 : tap_expected) + (long)n;
}

/* One check: ok when pass is non-zero; diag (may be NULL) is printed when
 * it fails. Returns pass != 0. */
static inline int tap_ok(int pass, const char *name, const char *diag)
{
	tap_n++;
	printf("%sok %d - %s\n", pass ? "" : "not ", tap_n, name);
	if (!pass) {
		tap_failed++;
		if (diag && *diag)
			printf("# %s\n", diag);
	}
	fflush(stdout);
	return pass != 0;
}

/* A check that does not apply here, and why: it counts, as "ok # SKIP". */
static inline void tap_skip(const char *name, const char *reason)
{
	printf("ok %d - %s # SKIP %s\n", ++tap_n, name, reason);
	fflush(stdout);
}

/* Compare integers. */
#define TAP_INT(got, want, name) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); char d_[256]; \
	snprintf(d_, sizeof d_, "got %lld, want %lld", g_, w_); \
	tap_ok(g_ == w_, (name), d_); } while (0)

/* Compare strings (NULL-safe). */
#define TAP_STR(got, want, name) do { \
	const char *g_ = (got), *w_ = (want); char d_[1100]; \
	snprintf(d_, sizeof d_, "got \"%.500s\", want \"%.500s\"", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
	tap_ok((g_ == NULL && w_ == NULL) || (g_ && w_ && strcmp(g_, w_) == 0), (name), d_); } while (0)

/* Compare byte buffers. */
#define TAP_MEM(got, glen, want, wlen, name) do { \
	size_t gl_ = (glen), wl_ = (wlen); char d_[128]; \
	snprintf(d_, sizeof d_, "lengths %zu and %zu or bytes differ", gl_, wl_); \
	tap_ok(gl_ == wl_ && memcmp((got), (want), gl_) == 0, (name), d_); } while (0)

/* The end: with tap_expect, the declared total is printed as the plan. The
 * exit status is 1 when a check failed, when nothing was declared (a
 * failing check says so) or when the count is not the declared one (the
 * TAP driver reports that too). */
static inline int tap_done(void)
{
	long want = tap_planned >= 0 ? tap_planned : tap_expected;

	if (want < 0) {
		tap_ok(0, "the test declares its checks", "neither tap_plan() nor tap_expect() (tap.h)");
		printf("1..%d\n", tap_n);
		return 1;
	}
	if (tap_planned < 0)
		printf("1..%ld\n", want);
	if (tap_n != want) {
		printf("# declared %ld checks, made %d\n", want, tap_n);
		return 1;
	}
	return tap_failed ? 1 : 0;
}

#endif
