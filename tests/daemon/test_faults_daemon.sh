#!/bin/bash
# tests/daemon/test_faults_daemon.sh - the fault matrix of
# tests/peer/test_faults.sh (every SMTP step x every fault, the same table
# and the same checks) with each delivery made by tlsrelayc through
# tlsrelayd instead of by tlsrelay.
#
# test_faults.sh runs "$TLSRELAY_BIN -c CASE.conf ..."; here that is
# tests/daemon/via_daemon.sh, which starts a tlsrelayd of its own for
# CASE.conf (as root with -u nobody; FAULTS_DELIVERY_USER=nobody makes the
# spool and the password maps its), runs tlsrelayc -S ITS-SOCKET with those
# arguments, then stops that daemon by its PID. A daemon serves only its
# own configuration file (security issue 13: another -c is "not served"
# and tlsrelayc runs tlsrelay itself), and the cases run six at a time,
# each with its own file: one daemon per case, whose warm context serves
# the delivery. What is tested is the path through the daemon
# (descriptors, deadlines, the reply and exit status).
#
# The wrapper's tlsrelayc is a copy whose sibling "tlsrelay" (its fallback
# when the daemon cannot be reached or does not serve the request) prints
# "9.9.9 ..." and exits 99: a case that did not go through the daemon
# fails its checks. A daemon that ended during its delivery or did not
# stop ends the test with a "Bail out!".
#
# The TAP output is test_faults.sh's (its plan, its checks); sanitizer
# reports (a sanitizer build) end it with a "Bail out!".
# TAP: the checks (and their declaration) of tests/peer/test_faults.sh

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

require_root
require_cmd timeout
make_tmpdir
T=$TEST_TMP

DAEMON=${TLSRELAYD_BIN:-$top_builddir/plugin/daemon/tlsrelayd}
CLIENT=${TLSRELAYC_BIN:-$top_builddir/plugin/transport/tlsrelayc}
[ -x "$DAEMON" ] && [ -x "$CLIENT" ] || tap_bail "tlsrelayd or tlsrelayc not built"

mkdir -p "$T/run" "$T/bin" && chown nobody "$T/run" || tap_bail "mkdir failed"
cp -f "$CLIENT" "$T/bin/tlsrelayc" || tap_bail "cannot copy tlsrelayc"
printf '#!/bin/sh\necho "9.9.9 tlsrelayc fell back to tlsrelay: %s"\nexit 99\n' \
	"the daemon was not reached or did not serve it" > "$T/bin/tlsrelay"
chmod 0755 "$T/bin" "$T/bin/tlsrelay" "$T/bin/tlsrelayc"
: > "$T/daemons"
# shellcheck disable=SC2317 # called through at_exit
stop_daemons() {	# daemons of cases that did not finish: only ours (their socket is in $T/run)
	local pid sock
	while read -r pid sock; do
		[ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-s $sock" &&
			kill "$pid" 2>/dev/null
	done < "$T/daemons"
}
at_exit stop_daemons

VIA_DAEMON=$DAEMON VIA_CLIENT=$T/bin/tlsrelayc VIA_RUN=$T/run VIA_LIST=$T/daemons VIA_BAD=$T/daemons.bad \
	FAULTS_DELIVERY_USER=nobody TLSRELAY_BIN=$top_srcdir/tests/daemon/via_daemon.sh \
	"$top_srcdir/tests/peer/test_faults.sh"
rc=$?
if [ -s "$T/daemons.bad" ]; then
	echo "Bail out! $(head -n 5 "$T/daemons.bad" | tr '\n' ' ')"
	exit 1
fi
# Sanitizer build: the reports of the daemon and of the clients are in this
# script's directory (tests/lib.sh), which test_faults.sh does not check.
if [ -n "${TR_SAN_DIR:-}" ] && ls "$TR_SAN_DIR"/san.* >/dev/null 2>&1; then
	echo "Bail out! sanitizer reports: $(head -c 2000 "$TR_SAN_DIR"/san.* | tr '\n' ' ')"
	exit 1
fi
exit "$rc"
