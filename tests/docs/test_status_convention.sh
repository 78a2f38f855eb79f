#!/bin/bash
# tests/docs/test_status_convention.sh - one status convention on every
# prototype of lib/*.h (lib/status.h, THE CONVENTION), checked by
# tests/docs/status_convention.py: a prototype that fills a tlsrelay_status
# says the categories it gives ("Returns: OK, TEMP 4.4.3, ..."), no bare
# tri-state int is returned, and a function that fails without a status is
# listed in lib/status.h's EXCEPTIONS. It prints the number of documented
# exceptions (the count to quote; target: no undocumented one).
#
# The checker's extractor and rules are tested first, on the real headers
# (it must find the prototypes, in their hard places) and on a made-up
# tree with one violation of each kind: a parser that found nothing, or a
# rule that never fires, would pass everything.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
require_cmd python3
make_tmpdir

PY=$top_srcdir/tests/docs/status_convention.py

# ------------------------------------------------------------ the extractor
tap_expect 8
list=$(python3 "$PY" --list "$top_srcdir" 2>&1)
n=$(printf '%s\n' "$list" | grep -c '	lib/')
tap_status "$(test "$n" -ge 200; echo $?)" "extractor: finds the prototypes of lib/*.h ($n)" "$list"
tap_like "$list" '^status	lib/tlsrelay\.h	tlsrelay_deliver	tlsrelay_cat$' \
	"extractor: a prototype inside extern \"C\" { } (tlsrelay.h)"
tap_like "$list" '^plain	lib/tlsrelay\.h	tlsrelay_status_exit_flags	int$' \
	"extractor: a prototype after #defines whose comments go on over lines"
tap_like "$list" '^status	lib/dane\.h	tr_dane_route_host	tlsrelay_cat$' \
	"extractor: a prototype written over several lines"
tap_like "$list" '^plain	lib/buf\.h	tr_buf_putc	void$' \
	"extractor: the last of a group of prototypes under one comment"
tap_like "$list" '^status	lib/msgrules\.h	tr_msgrules_load	tr_msgrules \*$' \
	"extractor: a constructor that fills a status (a pointer return)"
tap_like "$list" '^status	lib/smtp_client\.h	tr_session_run	tr_outcome$' \
	"extractor: a named outcome beside a status"
tap_unlike "$list" '	(read|write|tr_rr_fn|tr_observe_fn|tlsrelay_log_fn|tr_report_fn)	' \
	"extractor: no member of a struct, no function pointer typedef taken for a prototype"

# ------------------------------------------------------- the rules, one each
S=$TEST_TMP/src
mkdir -p "$S/lib"
cat > "$S/lib/status.h" <<'EOF'
/*
 * status.h - a made-up convention header.
 *
 * EXCEPTIONS (for the test)
 *   Listed parsers: they fail with -1:
 *     tr_listed() tr_gone() tr_listed_status()
 * OTHER SECTION
 *   tr_not_a_listing() is not in EXCEPTIONS
 */
EOF
cat > "$S/lib/x.h" <<'EOF'
/* x.h - one prototype of each kind. */
#include "tlsrelay.h"

/* Good.
 * Returns: OK, TEMP 4.4.3. */
tlsrelay_cat tr_good(tlsrelay_status *st);

/* A status without the line. */
tlsrelay_cat tr_no_returns(tlsrelay_status *st);

/* Returns: something, no category named. */
tlsrelay_cat tr_no_category(int x, tlsrelay_status *st);

/* The count, or -1 with *st.
 * Returns: TEMP. */
int tr_int_beside(tlsrelay_status *st);

/* 1 found, 0 none, -1 error. */
int tr_tri(const char *key);

/* 0, or -1 when bad. */
int tr_unlisted(const char *s);

/* 0, or -1 when bad. */
int tr_listed(const char *s);

/* Fills err (cap bytes) when it fails. */
void tr_errcap(const char *s, char *err, size_t cap);

/* Listed, but it fills a status.
 * Returns: OK, CONFIG. */
tlsrelay_cat tr_listed_status(tlsrelay_status *st);

/* Reads st only: no status of its own. 1 when it is temporary, else 0. */
int tr_reads(const tlsrelay_status *st);

/* "n > 0", "cap >= LEN(n) + 1" are no outcomes: the length, or -1. */
int tr_bounded_fail(char *out, size_t cap);
EOF
tap_expect 14
out=$(python3 "$PY" "$S" 2>&1); rc=$?
tap_is "$rc" 1 "rules: the made-up tree fails the check"
tap_unlike "$out" '	tr_good	' "rules: a status with \"Returns:\" and categories passes"
tap_like "$out" '^FAIL	lib/x\.h	tr_no_returns	.*no "Returns:"' "rules: a status without \"Returns:\" fails"
tap_like "$out" '^FAIL	lib/x\.h	tr_no_category	.*names no category' \
	"rules: \"Returns:\" without a category name fails"
tap_like "$out" '^FAIL	lib/x\.h	tr_int_beside	.*returns int beside a tlsrelay_status' \
	"rules: a bare int beside a status fails"
tap_like "$out" '^FAIL	lib/x\.h	tr_tri	.*tri-state' "rules: a bare tri-state int fails"
tap_like "$out" '^FAIL	lib/x\.h	tr_unlisted	.*not in the EXCEPTIONS' \
	"rules: an int with -1 that is not listed fails"
tap_like "$out" '^FAIL	lib/x\.h	tr_errcap	.*not in the EXCEPTIONS' \
	"rules: an err/cap function that is not listed fails"
tap_like "$out" '^exception	lib/x\.h	tr_listed	Listed parsers$' \
	"rules: a listed one is a documented exception, with its group"
tap_like "$out" '^FAIL	lib/status\.h	tr_gone	.*no prototype' "rules: a stale name in EXCEPTIONS fails"
tap_like "$out" '^FAIL	lib/status\.h	tr_listed_status	.*fills a status' \
	"rules: a status function left in EXCEPTIONS fails"
tap_unlike "$out" 'tr_not_a_listing|	tr_reads	|	tr_bounded_fail	.*tri-state' \
	"rules: EXCEPTIONS ends at the next section; a const status is read only; comparisons are no outcomes"
tap_like "$out" '^FAIL	lib/x\.h	tr_bounded_fail	.*not in the EXCEPTIONS' \
	"rules: ... but its -1 still makes it an exception to list"
tap_like "$out" '^prototypes 11, status functions 5, documented exceptions 1, violations 9$' \
	"rules: the summary counts them"

# ------------------------------------------------------------ lib/*.h itself
out=$(python3 "$PY" "$top_srcdir" 2>&1); rc=$?
summary=$(printf '%s\n' "$out" | tail -n 1)
nexc=$(printf '%s\n' "$out" | grep -c '^exception	')
tap_expect $(($(printf '%s\n' "$out" | grep -c '^FAIL	') + 2))	# one (failing) a violation, summary, status
tap_diag "$(printf '%s\n' "$out" | grep '^exception	' | cut -f2-)"
while IFS=$'\t' read -r verdict where name why; do
	[ "$verdict" = FAIL ] || continue
	tap_ok 0 "$where: $name: $why"
done <<< "$out"
tap_like "$summary" '^prototypes [0-9]+, status functions [0-9]+, documented exceptions [0-9]+, violations 0$' \
	"lib/*.h: no violation ($summary)"
tap_status "$rc" "status_convention.py: lib/*.h follow the convention; documented exceptions: $nexc"
tap_done
