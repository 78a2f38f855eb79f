#!/bin/bash
# tests/daemon/test_faults_daemon.sh - the fault matrix of
# tests/peer/test_faults.sh (every SMTP step x every fault, the same table
# and the same checks) with each delivery made by tlsrelayc through
# tlsrelayd instead of by tlsrelay.
#
# test_faults.sh runs "$TLSRELAY_BIN -c CASE.conf ..."; here that is a
# wrapper that runs tlsrelayc -S SOCKET with those arguments, and the
# daemon (as root with -u nobody, FAULTS_DELIVERY_USER=nobody makes the
# spool and the password maps its) serves them. Each case has its own
# configuration file, so the delivery processes read it as tlsrelay does
# (the warm context is the daemon's file only): what is tested is the path
# through the daemon (descriptors, deadlines, the reply and exit status).
#
# The wrapper's tlsrelayc is a copy whose sibling "tlsrelay" (its fallback
# when the daemon cannot be reached) prints "9.9.9 ..." and exits 99: a
# case that did not go through the daemon fails its checks. After the
# matrix, the daemon must still be running.
#
# The TAP output is test_faults.sh's (its plan, its checks); sanitizer
# reports (a sanitizer build) end it with a "Bail out!".

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
cat > "$T/bin/tlsrelay" <<'EOF'
#!/bin/sh
echo "9.9.9 tlsrelayc fell back to tlsrelay: the daemon was not reached"
exit 99
EOF
cat > "$T/bin/via-daemon" <<EOF
#!/bin/sh
exec "$T/bin/tlsrelayc" -S "$T/run/d.sock" "\$@"
EOF
chmod 0755 "$T/bin" "$T/bin/tlsrelay" "$T/bin/via-daemon" "$T/bin/tlsrelayc"
printf 'relayhost = [127.0.0.1]:9\nsyslog = no\n' > "$T/d.conf" && chmod 0644 "$T/d.conf"

start_bg daemon "$DAEMON" -v -u nobody -c "$T/d.conf" -s "$T/run/d.sock"
DPID=$BG_PID
wait_until 15 grep -q "ready on" "$T/daemon.out" || tap_bail "tlsrelayd not ready: $(cat "$T/daemon.out")"

FAULTS_DELIVERY_USER=nobody TLSRELAY_BIN=$T/bin/via-daemon "$top_srcdir/tests/peer/test_faults.sh"
rc=$?
if ! kill -0 "$DPID" 2>/dev/null; then
	echo "Bail out! tlsrelayd ended during the fault matrix: $(tail -n 20 "$T/daemon.out")"
	exit 1
fi
stop_pid "$DPID"
# Sanitizer build: the reports of the daemon and of the clients are in this
# script's directory (tests/lib.sh), which test_faults.sh does not check.
if [ -n "${TR_SAN_DIR:-}" ] && ls "$TR_SAN_DIR"/san.* >/dev/null 2>&1; then
	echo "Bail out! sanitizer reports: $(head -c 2000 "$TR_SAN_DIR"/san.* | tr '\n' ' ')"
	exit 1
fi
exit "$rc"
