#!/bin/bash
# tests/build/test_harness.sh - the test harness itself, so that a test
# cannot pass silently:
#   a. tests/lib.sh's TAP helpers under Automake's TAP driver (the one
#      "make check" uses): tap_ok takes a truth value (1 ok, 0 not, anything
#      else fails), tap_status an exit status; a plan or an expectation that
#      the checks do not meet is an ERROR, a test that declares nothing
#      FAILs, tap_skip_all skips (before or after the plan), the sanitizer
#      check is in the plan;
#   b. tests/unit/tap.h the same way (tests/build/tap_selftest);
#   c. every test file of the tree is in TESTS (mk/tests.mk), every test
#      declares its checks (tap_plan or tap_expect), no shell test
#      passes an exit status to tap_ok, and every test that changes the
#      machine (packages, /var/lib/tlsrelay) takes system_lock.
# Each case is a table row; the plan comes from the tables.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

DRIVER=$top_srcdir/build-aux/tap-driver.sh
SELFTEST=$top_builddir/tests/build/tap_selftest
[ -f "$DRIVER" ] || tap_bail "no $DRIVER (autoreconf -fi)"
[ -x "$SELFTEST" ] || tap_bail "no $SELFTEST (make check builds it)"
make_tmpdir
T=$TEST_TMP

# verdict NAME CMD...: run CMD under the TAP driver; print ":global-test-result:"
# and the counts of its .trs file as "RESULT pass=N fail=N skip=N error=N"
verdict() {
	local name=$1; shift
	env AM_TAP_AWK="${AWK:-awk}" bash "$DRIVER" --test-name "$name" \
		--log-file "$T/$name.log" --trs-file "$T/$name.trs" --color-tests no \
		--enable-hard-errors yes --expect-failure no -- "$@" > /dev/null 2>&1
	printf '%s pass=%s fail=%s skip=%s error=%s\n' \
		"$(sed -n 's/^:global-test-result: //p' "$T/$name.trs")" \
		"$(grep -c '^:test-result: PASS' "$T/$name.trs")" \
		"$(grep -c '^:test-result: FAIL' "$T/$name.trs")" \
		"$(grep -c '^:test-result: SKIP' "$T/$name.trs")" \
		"$(grep -c '^:test-result: ERROR' "$T/$name.trs")"
}

# ------------------------------------------------------ a. tests/lib.sh
# name | the test's body (after sourcing tests/lib.sh) | the driver's verdict
SH_CASES=$(cat <<'EOF'
ok-1          tap_plan 1; tap_ok 1 one; tap_done                                PASS pass=1 fail=0 skip=0 error=0
ok-0          tap_plan 1; tap_ok 0 one; tap_done                                FAIL pass=0 fail=1 skip=0 error=0
ok-status     tap_plan 1; true; tap_ok $? one; tap_done                         FAIL pass=0 fail=1 skip=0 error=0
ok-2          tap_plan 1; tap_ok 2 one; tap_done                                FAIL pass=0 fail=1 skip=0 error=0
ok-empty      tap_plan 1; tap_ok '' one; tap_done                               FAIL pass=0 fail=1 skip=0 error=0
status-0      tap_plan 1; true; tap_status $? one; tap_done                     PASS pass=1 fail=0 skip=0 error=0
status-1      tap_plan 1; false; tap_status $? one; tap_done                    FAIL pass=0 fail=1 skip=0 error=0
status-word   tap_plan 1; tap_status yes one; tap_done                          FAIL pass=0 fail=1 skip=0 error=0
is-like       tap_plan 3; tap_is a a i; tap_like abc b l; tap_unlike abc x u; tap_done  PASS pass=3 fail=0 skip=0 error=0
plan-short    tap_plan 3; tap_ok 1 a; tap_ok 1 b; tap_done                      ERROR pass=2 fail=0 skip=0 error=1
plan-long     tap_plan 1; tap_ok 1 a; tap_ok 1 b; tap_done                      ERROR pass=1 fail=0 skip=0 error=2
plan-exit     tap_plan 2; tap_ok 1 a; exit 0                                    ERROR pass=1 fail=0 skip=0 error=1
plan-late     tap_ok 1 a; tap_plan 1; tap_done                                  ERROR pass=1 fail=0 skip=0 error=1
expect-ok     tap_expect 2; tap_ok 1 a; tap_ok 1 b; tap_expect 1; tap_ok 1 c; tap_done  PASS pass=3 fail=0 skip=0 error=0
expect-short  tap_expect 2; tap_ok 1 a; tap_expect 1; tap_done                  ERROR pass=1 fail=0 skip=0 error=1
expect-plan   tap_plan 1; tap_expect 1; tap_ok 1 a; tap_done                    ERROR pass=0 fail=0 skip=0 error=1
none          tap_ok 1 a; tap_done                                              FAIL pass=1 fail=1 skip=0 error=0
skip          tap_plan 2; tap_ok 1 a; tap_skip b why; tap_done                  PASS pass=1 fail=0 skip=1 error=0
skip-all      tap_skip_all no reason; tap_ok 1 a                                SKIP pass=0 fail=0 skip=1 error=0
skip-rest     tap_plan 3; tap_ok 1 a; tap_skip_all gone                         PASS pass=1 fail=0 skip=2 error=0
skip-expect   tap_expect 3; tap_ok 1 a; tap_skip_all gone                       PASS pass=1 fail=0 skip=2 error=0
EOF
)
# with the sanitizer options set, tap_done adds its check: the plan has it
SAN_CASES=$(cat <<'EOF'
san-plan      tap_plan 1; tap_ok 1 a; tap_done                                  PASS pass=2 fail=0 skip=0 error=0
san-expect    tap_expect 1; tap_ok 1 a; tap_done                                PASS pass=2 fail=0 skip=0 error=0
EOF
)

# ------------------------------------------------------ b. tests/unit/tap.h
# (a C test also exits 1 when it fails: the driver counts that as an error)
C_CASES=$(cat <<'EOF'
plan-ok       PASS pass=3 fail=0 skip=0 error=0
plan-short    ERROR pass=2 fail=0 skip=0 error=2
plan-late     ERROR pass=1 fail=0 skip=0 error=1
expect-ok     PASS pass=3 fail=0 skip=0 error=0
expect-short  ERROR pass=2 fail=0 skip=0 error=2
none          ERROR pass=1 fail=1 skip=0 error=1
skip          PASS pass=1 fail=0 skip=1 error=0
fail          ERROR pass=1 fail=1 skip=0 error=1
EOF
)

# ------------------------------------------------------ c. the tests of the tree
# (make check's own make flags are not passed on: no "Entering directory")
TESTS_LIST=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$top_builddir" \
	print-tests 2>&1) || tap_bail "make print-tests failed: $TESTS_LIST"
TESTS_LIST=$(tr -s ' \n\t' '   ' <<< "$TESTS_LIST")
FILES=$(cd "$top_srcdir" && { ls tests/*/test_*.sh; ls tests/unit/test_*.c | sed 's/\.c$//'; } | sort)
SH_TESTS=$(cd "$top_srcdir" && ls tests/*/test_*.sh | sort)
C_TESTS=$(cd "$top_srcdir" && ls tests/unit/test_*.c | sort)

n() { grep -c . <<< "$1"; }
tap_plan $(($(n "$SH_CASES") + $(n "$SAN_CASES") + $(n "$C_CASES") + 1 + $(n "$FILES") \
	+ $(n "$SH_TESTS") + $(n "$C_TESTS") + 3))

run_sh_cases() {	# run_sh_cases TABLE [ENV...]: one check a row
	local table=$1 name rest body want; shift
	while read -r name rest; do
		want=$(grep -oE '(PASS|FAIL|ERROR|SKIP) pass=[0-9]+ fail=[0-9]+ skip=[0-9]+ error=[0-9]+$' <<< "$rest")
		body=${rest%"$want"}
		body=${body%"${body##*[! ]}"}	# without the spaces before the verdict
		printf '. "%s/tests/lib.sh"\n%s\n' "$top_srcdir" "$body" > "$T/$name.sh"
		tap_is "$(verdict "$name" env -u TR_SAN_DIR -u ASAN_OPTIONS -u UBSAN_OPTIONS "$@" bash "$T/$name.sh")" \
			"$want" "lib.sh $name: $body"
	done <<< "$table"
}
run_sh_cases "$SH_CASES"
run_sh_cases "$SAN_CASES" ASAN_OPTIONS=detect_leaks=0

while read -r name want; do
	tap_is "$(verdict "c-$name" "$SELFTEST" "$name")" "$want" "tap.h $name"
done <<< "$C_CASES"

# every test file is in TESTS: a test left out never runs, silently
tap_unlike "$TESTS_LIST" 'make|\*\*\*' "make print-tests lists the tests"
while read -r f; do
	case " $TESTS_LIST " in
	*" $f "*) tap_ok 1 "$f is in TESTS" ;;
	*) tap_ok 0 "$f is in TESTS" "add it to mk/tests.mk (UNIT_TESTS or SHELL_TESTS)" ;;
	esac
done <<< "$FILES"

# every test declares its checks (a test that skips here is checked too);
# a test that runs another one for its checks says so ("# TAP: ... FILE")
while read -r f; do
	grep -qE '^[[:space:]]*(tap_plan|tap_expect|peer_case_expect) |^# TAP: .*tests/[a-z]+/test_[a-z_]+\.sh' \
		"$top_srcdir/$f"
	tap_status $? "$f declares its checks (tap_plan, tap_expect)"
done <<< "$SH_TESTS"
while read -r f; do
	grep -qE '(tap_plan|tap_expect)\(' "$top_srcdir/$f"
	tap_status $? "$f declares its checks (tap_plan, tap_expect)"
done <<< "$C_TESTS"

# tap_ok takes a truth value: an exit status ($?, "$rc", "$(...; echo $?)")
# passed to it would invert the check (tap_status is for those). This file
# holds such calls on purpose (the cases above).
bad=$(cd "$top_srcdir" && grep -nE '(^|[^_[:alnum:]])tap_ok[[:space:]]+("?\$\?|"?\$\{?(rc|RC|st|status|ret|DEBS_RC)\b|"\$\(.*echo \$\?\))' \
	tests/*.sh tests/*/*.sh 2>/dev/null | grep -v '^tests/build/test_harness\.sh:')
tap_is "$bad" "" "no shell test passes an exit status to tap_ok"
# and the linter sees such a call
printf 'cmd; tap_ok $? "x"\ntap_ok "$(test -f x; echo $?)" y\n' > "$T/lint.sh"
tap_is "$(grep -cE '(^|[^_[:alnum:]])tap_ok[[:space:]]+("?\$\?|"?\$\{?(rc|RC|st|status|ret|DEBS_RC)\b|"\$\(.*echo \$\?\))' "$T/lint.sh")" 2 \
	"the tap_ok linter finds exit statuses"

# a test that changes the machine (makes or removes /var/lib/tlsrelay,
# installs or purges packages) takes tests/lib.sh's system_lock (itself or
# through tests/pkg/debs.sh's debs_gate/debs_lock): two of them at once
# under make -j2 undid each other's work (2026-12-07)
unlocked=$(cd "$top_srcdir" && for f in tests/*/*.sh; do
	[ "$f" = tests/build/test_harness.sh ] && continue
	grep -qE 'rm -rf /var/lib/tlsrelay|apt(-get)? install \./|dpkg (-i|--install|--purge|-P)' "$f" &&
		! grep -qE '(^|[[:space:]])(system_lock|debs_gate|debs_lock)([[:space:]]|$)' "$f" && echo "$f"
done)
tap_is "$unlocked" "" "every test that changes the machine's packages or /var/lib/tlsrelay takes system_lock"
tap_done
