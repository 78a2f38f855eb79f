/*
 * tap_selftest.c - tests/unit/tap.h run through each way a test can declare
 * (or fail to declare) its checks; tests/build/test_harness.sh runs it under
 * Automake's TAP driver and checks the driver's verdict for each.
 *
 *   tap_selftest CASE
 *     plan-ok        tap_plan(3), three checks            -> PASS
 *     plan-short     tap_plan(3), two checks              -> ERROR
 *     plan-late      a check, then tap_plan(1)            -> ERROR
 *     expect-ok      two sections declare 2 + 1, make 3   -> PASS
 *     expect-short   a section declares 3, returns after 2 -> ERROR
 *     none           checks, no declaration               -> FAIL
 *     skip           tap_plan(2), one check, one tap_skip -> PASS (one SKIP)
 *     fail           tap_plan(2), tap_ok(0, ...)          -> FAIL
 * Exit status: tap_done()'s, or 2 for an unknown case.
 */
#include "config.h"
#include <string.h>
#include "../unit/tap.h"

static void section_two(void)
{
	tap_expect(2);
	tap_ok(1, "section two: first", NULL);
	tap_ok(1, "section two: second", NULL);
}

static void section_one(void)
{
	tap_expect(1);
	TAP_INT(1 + 1, 2, "section one: arithmetic");
}

/* Declares three checks and returns after two: an early return. */
static void section_cut_short(int cut)
{
	tap_expect(3);
	tap_ok(1, "cut short: first", NULL);
	tap_ok(1, "cut short: second", NULL);
	if (cut)
		return;
	tap_ok(1, "cut short: third", NULL);
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

	if (strcmp(c, "plan-ok") == 0) {
		tap_plan(3);
		for (int i = 0; i < 3; i++)
			tap_ok(1, "plan-ok: a check", NULL);
	} else if (strcmp(c, "plan-short") == 0) {
		tap_plan(3);
		tap_ok(1, "plan-short: first", NULL);
		tap_ok(1, "plan-short: second", NULL);
	} else if (strcmp(c, "plan-late") == 0) {
		tap_ok(1, "plan-late: a check before the plan", NULL);
		tap_plan(1);
	} else if (strcmp(c, "expect-ok") == 0) {
		section_two();
		section_one();
	} else if (strcmp(c, "expect-short") == 0) {
		section_cut_short(1);
	} else if (strcmp(c, "none") == 0) {
		tap_ok(1, "none: a check without a declaration", NULL);
	} else if (strcmp(c, "skip") == 0) {
		tap_plan(2);
		tap_ok(1, "skip: a check", NULL);
		tap_skip("skip: a check that does not apply", "for the test");
	} else if (strcmp(c, "fail") == 0) {
		tap_plan(2);
		tap_ok(1, "fail: a check that passes", NULL);
		tap_ok(0, "fail: a check that fails", "as it should");
	} else {
		fprintf(stderr, "tap_selftest: unknown case \"%s\"\n", c);
		return 2;
	}
	return tap_done();
}
