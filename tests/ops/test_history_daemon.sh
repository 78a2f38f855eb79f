#!/bin/bash
# tests/ops/test_history_daemon.sh - a tlsrelayd delivery process writes
# each delivery's TLS history record after its client has the result
# (lib/history.h DEFERRED, plugin/daemon/worker.c): tlsrelayc, and the MTA
# behind it, never wait for the history store.
#
# How the order is seen without timing: the transport's -v log goes to the
# client's standard error for as long as the delivery runs; the process
# lets that descriptor go (/dev/null) before it sends the result. A line
# the history write logs is therefore in the client's output when the
# write came before the result (as it did until 2026-12-07: at DONE) and
# in the daemon's log, never the client's, when it comes after.
#
#   rows      a free store: three deliveries (-Q QID1..3), each exits 0; the
#             rows arrive (waited for, bounded), in order, each with its own
#             queue ID (the record keeps the delivery's, not the next one's)
#   locked    python3's sqlite3 holds the store's write lock and an exclusive
#             flock on STORE-pending, so the record can go nowhere and its
#             loss is logged: "QID4: TLS history: cannot record: database is
#             locked; pending journal: busy" is in the daemon's log, with the
#             delivery's queue ID, and not in the client's output; exit 0
#   unopened  a store whose directory does not exist (another daemon): "QID5:
#             TLS history: cannot open the store" in the daemon's log, not in
#             the client's output; exit 0
#   after     the lock gone: the next delivery's row is written, and the
#             process served it normally (the lost one stays lost)
#
# Needs root (tlsrelayd -u nobody). Safety: only 127.0.0.1; every process
# is stopped by its PID.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"
. "$top_srcdir/tests/ops/ops.sh"

DAEMON=${TLSRELAYD_BIN:-$top_builddir/plugin/daemon/tlsrelayd}
CLIENT=${TLSRELAYC_BIN:-$top_builddir/plugin/transport/tlsrelayc}
[ -x "$DAEMON" ] && [ -x "$CLIENT" ] || tap_skip_all "tlsrelayd or tlsrelayc not built"
[ "$(id -u)" = 0 ] || tap_skip_all "not root: tlsrelayd -u nobody"

ops_init
mkdir -p "$T/hist" "$T/run" && chown nobody "$T/hist" "$T/run" || tap_bail "mkdir failed"
HIST=$T/hist/history.db

# daemon NAME CONF: a tlsrelayd for CONF; its log $T/NAME.out, DPID
daemon() {
	chmod 0644 "$2"
	start_bg "$1" "$DAEMON" -v -u nobody -c "$2" -s "$T/run/$1.sock"
	DPID=$BG_PID
	wait_until 15 grep -q "ready on $T/run/$1.sock" "$T/$1.out" ||
		tap_bail "tlsrelayd $1 not ready: $(cat "$T/$1.out")"
}
# send DAEMON QID: one delivery through it, -v -Q QID; RC, ERR (the client's
# standard error: the transport's -v log)
send() {
	timeout -k 5 60 "$CLIENT" -S "$T/run/$1.sock" -v -c "$CONF" -Q "$2" -f sender@example.org \
		-- "user@example.test" < "$T/msg" > "$T/$2.out" 2> "$T/$2.err"
	RC=$? ERR=$(cat "$T/$2.err")
}
rows() { sql "SELECT count(*) FROM attempt"; }
ids() { sql "SELECT group_concat(queue_id) FROM (SELECT queue_id FROM attempt ORDER BY id)"; }

ops_peer d good
CONF=$T/d.conf
ops_conf "$CONF" "$PEER_PORT"
daemon d "$CONF"

# ---------------------------------------------------------------- rows
tap_expect 4
n=0
for q in QID1 QID2 QID3; do
	send d "$q"
	[ "$RC" = 0 ] && n=$((n + 1))
done
tap_is "$n" 3 "rows: three deliveries through tlsrelayd exit 0"
wait_until 10 eval '[ "$(rows)" = 3 ]'
tap_is "$(rows)" 3 "rows: each delivery's row is written (after its result)"
tap_is "$(ids)" "QID1,QID2,QID3" "rows: in order, each with its own queue ID (-Q)"
tap_unlike "$(cat "$T/d.out")" "TLS history" "rows: nothing logged about the history"

# ---------------------------------------------------------------- locked
tap_expect 3
: > "$HIST-pending"
chown nobody "$HIST-pending"
rm -f "$T/locked" "$T/release"
start_bg locker "$PY" -c "
import fcntl, os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute('BEGIN IMMEDIATE')
j = open(sys.argv[1] + '-pending', 'a'); fcntl.flock(j, fcntl.LOCK_EX)
open(sys.argv[2], 'w').close()
for i in range(3000):
    if os.path.exists(sys.argv[3]): break
    time.sleep(0.01)
db.execute('COMMIT')
" "$HIST" "$T/locked" "$T/release"
LOCKER=$BG_PID
wait_until 10 test -f "$T/locked" || tap_bail "the locker did not take the locks: $(cat "$T/locker.out")"
send d QID4
LINE='QID4: TLS history: cannot record: database is locked; pending journal: busy: not recorded'
wait_until 10 grep -q "$LINE" "$T/d.out"
touch "$T/release"
wait "$LOCKER" 2>/dev/null
tap_is "$RC" 0 "locked: the delivery exits 0"
tap_unlike "$ERR" "TLS history" "locked: the history write is not in the client's output (it came after the result)"
tap_like "$(cat "$T/d.out")" "$LINE" "locked: the loss is in the daemon's log, with the delivery's queue ID" ||
	tap_diag "client: $ERR"

# ---------------------------------------------------------------- unopened
tap_expect 3
CONF2=$T/u.conf
ops_conf "$CONF2" "$PEER_PORT" "tls_history = $T/missing/history.db"
CONF_SAVE=$CONF CONF=$CONF2
daemon u "$CONF2"
U=$DPID
send u QID5
LINE='QID5: TLS history: cannot open the store: '
wait_until 10 grep -q "$LINE" "$T/u.out"
tap_is "$RC" 0 "unopened: the delivery exits 0"
tap_unlike "$ERR" "TLS history" "unopened: the history write is not in the client's output (it came after the result)"
tap_like "$(cat "$T/u.out")" "$LINE" "unopened: the failure is in the daemon's log, with the delivery's queue ID" ||
	tap_diag "client: $ERR"
stop_pid "$U"
CONF=$CONF_SAVE

# ---------------------------------------------------------------- after
tap_expect 2
send d QID6
tap_is "$RC" 0 "after: the next delivery exits 0"
wait_until 10 eval '[ "$(rows)" = 4 ]'
tap_is "$(ids)" "QID1,QID2,QID3,QID6" "after: its row is written; the lost one stays lost"

stop_pid "$DPID"
stop_pid "$PEER_PID"
tap_done
