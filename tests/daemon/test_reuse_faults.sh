#!/bin/bash
# tests/daemon/test_reuse_faults.sh - a burst of 600 messages through
# tlsrelayc -> tlsrelayd (connection reuse on) to a real Postfix receiver,
# 40 at a time (tests/daemon/burst.py), with
#   1. the daemon killed (SIGKILL) after 150 deliveries ended: its delivery
#      processes finish theirs and answer their clients themselves, later
#      clients fall back to tlsrelay (the socket answers no more);
#   2. a new daemon, and every delivery process killed (SIGKILL) after 150.
# After each burst, against what the receiver delivered (by Message-ID):
# 0 lost (every exit 0 delivered), 0 corrupted (every copy's body equal to
# the message), no exit status but 0 and 75, and after a daemon kill at
# most 1 message delivered but reported deferred (75: the MTA would send it
# again). Then the deferred ones are sent again (the MTA's retry) through a
# new daemon: every message of the 600 delivered (0 lost overall).
# Every wait is bounded, every process stopped by its PID. About 1-2 min.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

require_root
require_cmd postfix postconf timeout ps
PY=/usr/bin/python3
[ -x "$PY" ] || tap_skip_all "python3 not found"
make_tmpdir
T=$TEST_TMP
DAEMON=${TLSRELAYD_BIN:-$top_builddir/plugin/daemon/tlsrelayd}
CLIENT=${TLSRELAYC_BIN:-$top_builddir/plugin/transport/tlsrelayc}
TLSRELAY=${TLSRELAY_BIN:-$top_builddir/plugin/transport/tlsrelay}
BURST=$top_srcdir/tests/daemon/burst.py
for p in "$DAEMON" "$CLIENT" "$TLSRELAY"; do [ -x "$p" ] || tap_bail "$p not built"; done
[ "$(dirname "$(readlink -f "$CLIENT")")" = "$(dirname "$(readlink -f "$TLSRELAY")")" ] ||
	tap_bail "tlsrelayc and tlsrelay are not in the same directory (the fallback)"

RPORT=$(free_port) || tap_bail "no free port"
receiver_new recv "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
# 40 clients at once, and the fallback's own connections
pf_set "$RECV" "smtpd_client_connection_count_limit = 0" "default_process_limit = 200"
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening"

mkdir -p "$T/spool" "$T/run" && chmod 1777 "$T/spool" && chown nobody "$T/run" || tap_bail "mkdir failed"
CONF=$T/d.conf
cat > "$CONF" <<EOC
relayhost = [127.0.0.1]:$RPORT
tls_security_level = verify
tls_ca_file = $CERTS/ca.pem
helo_name = client.tlsrelay.test
syslog = no
connect_timeout = 10s
command_timeout = 60s
deadline = 100s
spool_directory = $T/spool
EOC
chmod 0644 "$CONF"
SOCK=$T/run/d.sock
n_daemon=0
start_daemon() {	# sets DPID
	n_daemon=$((n_daemon + 1))
	start_bg "d$n_daemon" "$DAEMON" -v -u nobody -c "$CONF" -s "$SOCK" -n 60
	DPID=$BG_PID
	wait_until 15 grep -q "ready on $SOCK" "$T/d$n_daemon.out" ||
		tap_bail "tlsrelayd not ready: $(cat "$T/d$n_daemon.out")"
}
# every process of this test's daemons (theirs and their orphans) gone
our_workers() {
	local p
	for p in /proc/[0-9]*; do
		tr "\\0" " " 2>/dev/null < "$p/cmdline" | grep -qF -- "-s $SOCK" && echo "${p#/proc/}"
	done
}
# check ROUND DIR USER: burst.py check; sets F_* from its lines
check() {
	"$PY" "$BURST" check --dir "$2" --maildir "$(receiver_maildir "$RECV" "$3")" --round "$1" \
		--n 600 > "$2/check-$1" 2>&1
	F=$(cat "$2/check-$1")
}
fv() { sed -n "s/^$1=//p" <<< "$F" | head -n 1; }
# settle USER N: wait (bounded) until N messages or more sit in USER's Maildir
settle() {
	local md
	md=$(receiver_maildir "$RECV" "$1")
	wait_until 60 eval '[ "$(ls "$md/new" "$md/cur" 2>/dev/null | grep -c .)" -ge '"$2"' ]'
	# and the receiver's queue is empty (nothing of ours still on its way)
	wait_until 60 eval '[ -z "$(pf_queue_ids "$RECV")" ]'
}
# verdict NAME KIND: the checks of one burst (KIND daemon: at most one
# deferred-but-delivered)
verdict() {
	tap_is "$(fv other)" 0 "$1: every client exits 0 or 75 ($(fv sent) sent, $(fv deferred) deferred)"
	tap_is "$(fv lost)" 0 "$1: 0 lost (every exit 0 delivered) $(fv lost_ids)"
	tap_is "$(fv corrupted)" 0 "$1: 0 corrupted"
	if [ "$2" = daemon ]; then
		tap_status "$([ "$(fv deferred_delivered)" -le 1 ]; echo $?)" \
			"$1: at most 1 message delivered but reported deferred ($(fv deferred_delivered))" "$F"
	else
		tap_diag "$1: $(fv deferred_delivered) messages delivered but reported deferred (in flight when their process was killed)"
	fi
}
# retry NAME DIR USER: send the deferred ones again through a new daemon
retry() {
	fv deferred_ids | tr ' ' '\n' | grep . > "$2/retry"
	"$PY" "$BURST" send --client "$CLIENT" --sock "$SOCK" --conf "$CONF" --dir "$2" --n 600 \
		--par 40 --only "$2/retry" --round retry --rcpt "$3@example.test"
	tap_is "$(awk '$2 != 0' "$2/results-retry" | grep -c .)" 0 \
		"$1: the $(grep -c . "$2/retry") deferred ones sent again: all exit 0"
	settle "$3" 600
	check retry "$2" "$3"
	tap_is "$(fv missing)" 0 "$1: all 600 messages delivered in the end (0 lost)"
	tap_is "$(fv corrupted)" 0 "$1: 0 corrupted in the end"
}

# a linear script: each part 3, its verdict (daemon 4, workers 3), its retry 3
tap_plan $((3 + 4 + 3 + 3 + 3 + 3))

# -------------------------------------------- 1. the daemon killed
tap_diag "1. the daemon killed after 150 of 600 (at $SECONDS s)"
start_daemon
D1=$T/k1
timeout -k 5 600 "$PY" "$BURST" send --client "$CLIENT" --sock "$SOCK" --conf "$CONF" --dir "$D1" \
	--n 600 --par 40 --kill "daemon:$DPID" --after 150 --rcpt alice@example.test
tap_is "$?" 0 "1: the burst ran"
wait "$DPID" 2>/dev/null
wait_until 120 eval '[ -z "$(our_workers)" ]'
tap_status $? "1: the orphaned delivery processes end after their deliveries" "$(our_workers)"
tap_status "$([ "$(awk '$2 == 0' "$D1/results-1" | grep -c .)" -gt 150 ]; echo $?)" \
	"1: deliveries went on after the kill (the fallback)"
settle alice "$(awk '$2 == 0' "$D1/results-1" | grep -c .)"
check 1 "$D1" alice
verdict "1 daemon killed" daemon
start_daemon
retry "1" "$D1" alice
stop_pid "$DPID"

# ------------------------------------- 2. the delivery processes killed
tap_diag "2. every delivery process killed after 150 of 600 (at $SECONDS s)"
start_daemon
D2=$T/k2
timeout -k 5 600 "$PY" "$BURST" send --client "$CLIENT" --sock "$SOCK" --conf "$CONF" --dir "$D2" \
	--n 600 --par 40 --kill "workers:$DPID" --after 150 --rcpt bob@example.test
tap_is "$?" 0 "2: the burst ran"
tap_status "$(kill -0 "$DPID"; echo $?)" "2: the daemon lives on"
tap_status "$([ "$(awk '$2 == 75' "$D2/results-1" | grep -c .)" -ge 1 ]; echo $?)" \
	"2: the killed processes' clients were deferred ($(awk '$2 == 75' "$D2/results-1" | grep -c .))"
settle bob "$(awk '$2 == 0' "$D2/results-1" | grep -c .)"
check 1 "$D2" bob
verdict "2 delivery processes killed" workers
retry "2" "$D2" bob
stop_pid "$DPID"
pf_stop "$RECV"
tap_done
