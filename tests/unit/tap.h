/*
 * tap.h - a minimal TAP producer for table-driven unit tests.
 *
 * Each check prints "ok N - name" or "not ok N - name" with a diagnostic;
 * tap_done() prints the plan and returns the exit status. Run under
 * Automake's tap-driver.sh, so each check is counted on its own.
 */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed, tap_planned;

/* Announce the number of checks first: a check that does not run (a
 * crash, an early return) then fails the run instead of shrinking it. */
static inline void tap_plan(int n)
{
	printf("1..%d\n", n);
	tap_planned = 1;
}

static void tap_ok(int cond, const char *name, const char *diag)
{
	tap_n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, name);
	if (!cond) {
		tap_failed++;
		if (diag && *diag)
			printf("# %s\n", diag);
	}
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

static int tap_done(void)
{
	if (!tap_planned)
		printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
