#!/bin/bash
# tests/ops/test_history_busy.sh - no TLS history row is lost because
# another writer held the store's write lock (lib/history_journal.h): the
# delivery's record goes to the store's pending journal and the next writer
# (or tlsrelay-report, a reader that may write) takes it in.
#
#   held      python3's sqlite3 holds BEGIN IMMEDIATE while a whole tlsrelay
#             delivery runs: exit 0, nothing logged as lost, the record is in
#             STORE-pending; after the lock goes, the next delivery imports
#             it (the row) and nothing is left pending
#   report    the same, then tlsrelay-report (no delivery after): the report
#             counts the delivery
#   stress    40 deliveries at once while the lock is held, then 40 at once
#             with no outside lock (they contend with each other and with the
#             import): all 80 rows in the history, nothing logged as lost
#   hostile   a pending journal of garbage, a record cut in the middle and a
#             whole record after it, 1 MB of garbage, a directory in its
#             place, a symbolic link (root): the delivery exits 0, the good
#             record and the delivery's own are in, the junk is gone; a
#             STORE-pending-taken left by an import that never committed
#             is imported by the next writer
#   full      a pending journal at its size limit while the lock is held:
#             the record is lost and logged as before ("pending journal full")
#   create    a store that does not exist yet, made by many deliveries at once
#             (the schema is made by the first writer: an open that lost that
#             race failed after the busy wait, and its row was lost, until
#             2026-12-07):
#             held: python3 makes the file (no tables) and holds its write
#             lock while 30 deliveries run at once: every one exits 0, nothing
#             logged, all 30 wait in the pending journal; one more delivery
#             after the lock makes the tables and imports them: 31 rows
#             race: 30 deliveries at once to a store that does not exist, no
#             outside lock: every one exits 0, nothing logged as lost, and after
#             tlsrelay-report (a reader that imports) all 30 rows are there
#
# Safety: only 127.0.0.1; every process is stopped by its PID.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"
. "$top_srcdir/tests/ops/ops.sh"

ops_init
tap_expect 1

# the store exists (one delivery), as it does on a running system
ops_case first good
tap_is "$RC|$(sql "SELECT count(*) FROM attempt")" "0|1" "a first delivery makes the store"

rows() { sql "SELECT count(*) FROM attempt WHERE dest = '$(dest_of "$1")'"; }
lost() { grep -h 'TLS history: ' "$@" 2>/dev/null | head -n 3; }
# the bytes still pending (the journal and a taken one not yet removed)
pending() { cat "$HIST-pending" "$HIST-pending-taken" 2>/dev/null | wc -c; }

# hold_lock NAME: python3 holds the store's write lock until $T/NAME.release
# exists (20 s at most); LOCKER its PID
hold_lock() {
	rm -f "$T/$1.locked" "$T/$1.release"
	start_bg "lock-$1" "$PY" -c "
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute('BEGIN IMMEDIATE'); open(sys.argv[2], 'w').close()
for i in range(2000):
    if os.path.exists(sys.argv[3]): break
    time.sleep(0.01)
db.execute('COMMIT')
" "$HIST" "$T/$1.locked" "$T/$1.release"
	LOCKER=$BG_PID
	wait_until 10 test -f "$T/$1.locked"
	[ -f "$T/$1.locked" ] || tap_bail "the locker did not take the lock"
}
release_lock() { touch "$T/$1.release"; wait "$LOCKER" 2>/dev/null; }

# ---------------------------------------------------------------- held
tap_expect 6
hold_lock held
ops_case held good
tap_is "$RC" 0 "held: the delivery exits 0 while another writer holds the lock"
tap_is "$(lost "$DIR/stderr")" "" "held: nothing logged as lost"
tap_is "$(rows "$PEER_PORT")" 0 "held: the row is not in the table yet (the lock is held)"
tap_ok "$([ -s "$HIST-pending" ] && echo 1 || echo 0)" "held: the record waits in $(basename "$HIST")-pending"
release_lock held
HELD_PORT=$PEER_PORT
ops_case after good
tap_is "$(rows "$HELD_PORT")|$(rows "$PEER_PORT")" "1|1" "held: the next delivery imports the held one's row, and writes its own"
tap_is "$(pending)" 0 "held: nothing is left pending"

# ---------------------------------------------------------------- report
tap_expect 2
hold_lock rep
ops_case rep good
release_lock rep
CONF=$T/report.conf
ops_conf "$CONF" 1
OUT=$("$REPORT" -c "$CONF" summary --days 7 2>&1)
tap_like "$OUT" "^$(dest_of "$PEER_PORT" | sed 's/[].[]/\\&/g') +1 " "report: tlsrelay-report counts the delivery made while the lock was held"
tap_is "$(rows "$PEER_PORT")|$(pending)" "1|0" "report: the reader imported it"

# ---------------------------------------------------------------- stress
# burst N TAG: N tlsrelay at once to $PEER_PORT; OK the number that exit 0
burst() {
	local n=$1 tag=$2 i p pids=()
	for i in $(seq 1 "$n"); do
		timeout -k 5 90 "$TLSRELAY" -v -c "$DIR/tlsrelay.conf" -f sender@example.org -- "$tag$i@example.test" \
			< "$T/msg" > "$DIR/out.$tag$i" 2> "$DIR/err.$tag$i" &
		pids+=($!)
	done
	OK=0
	for p in "${pids[@]}"; do wait "$p" && OK=$((OK + 1)); done
}
tap_expect 4
ops_peer stress good
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT"
hold_lock stress
burst 40 locked
release_lock stress
tap_is "$OK" 40 "stress: 40 deliveries at once, the lock held: every one exits 0"
burst 40 free
tap_is "$OK" 40 "stress: 40 more at once, no outside lock: every one exits 0"
"$REPORT" -c "$CONF" summary --days 7 > /dev/null 2>&1    # takes in what is left
tap_is "$(rows "$PEER_PORT")" 80 "stress: all 80 deliveries are in the history"
tap_is "$(lost "$DIR"/err.*)" "" "stress: nothing logged as lost"

# ---------------------------------------------------------------- hostile
# a journal with one good record: made by a delivery while the lock is held
tap_expect 12
ops_peer good-rec good
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT"
hold_lock rec
ops_send good-rec
release_lock rec
GOOD=$T/good.rec
cp "$HIST-pending" "$GOOD"
: > "$HIST-pending"
GOOD_PORT=$PEER_PORT
imported=0
# name: how the pending journal is made
for bad in garbage torn big; do
	case $bad in
	garbage) head -c 3000 /dev/urandom > "$HIST-pending" ;;
	torn) { head -c 100 "$GOOD"; printf 'TRHJ\377\377'; cat "$GOOD"; head -c 50 "$GOOD"; } > "$HIST-pending" ;;
	big) head -c 1000000 /dev/zero | tr '\0' 'T' > "$HIST-pending" ;;
	esac
	ops_case "hostile-$bad" good
	tap_is "$RC|$(rows "$PEER_PORT")" "0|1" "hostile $bad: the delivery exits 0 and its row is recorded" || tap_diag "$ERR"
	tap_is "$(pending)" 0 "hostile $bad: the junk is gone"
	[ $bad = torn ] && imported=$(rows "$GOOD_PORT")
done
tap_is "$imported" 1 "hostile torn: the whole record after a cut one is imported"
rm -f "$HIST-pending"
mkdir "$HIST-pending"
hold_lock dir
ops_case hostile-dir good
release_lock dir
tap_is "$RC" 0 "hostile: a directory in the journal's place: the delivery exits 0"
tap_like "$ERR" 'TLS history: cannot record: database is locked; pending journal: Is a directory: not recorded' \
	"hostile: a directory in the journal's place: the loss is logged"
rmdir "$HIST-pending"
# a FIFO in the journal's place (whoever may write the store's directory):
# the append's open must not wait for a reader
tap_expect 2
mkfifo "$HIST-pending"
hold_lock fifo
ops_case hostile-fifo good
release_lock fifo
tap_is "$RC" 0 "hostile: a FIFO in the journal's place: the delivery exits 0 (the open does not wait for a reader)"
tap_like "$ERR" 'TLS history: cannot record: database is locked; pending journal: .*: not recorded' \
	"hostile: a FIFO in the journal's place: the loss is logged"
rm -f "$HIST-pending"
if [ "$(id -u)" = 0 ]; then
	echo keep > "$T/victim"
	ln -s "$T/victim" "$HIST-pending"
	hold_lock link
	ops_case hostile-link good
	release_lock link
	tap_is "$RC|$(cat "$T/victim")" "0|keep" "hostile: root does not follow a symbolic link in the journal's place"
	rm -f "$HIST-pending"
else
	tap_skip "hostile: a symbolic link" "not root: O_NOFOLLOW is root's"
fi

# a taken journal left by an import that did not commit (a crash): the next
# writer imports it first
cp "$GOOD" "$HIST-pending-taken"
ops_case hostile-taken good
tap_is "$RC|$(rows "$GOOD_PORT")|$(rows "$PEER_PORT")" "0|2|1" \
	"a taken journal left by a crash: imported by the next delivery, with its own row"
tap_is "$(pending)" 0 "a taken journal left by a crash: then removed"

# ---------------------------------------------------------------- full
tap_expect 2
head -c 262100 /dev/zero > "$HIST-pending"
hold_lock full
ops_case full good
release_lock full
tap_is "$RC" 0 "full: the delivery exits 0"
tap_like "$ERR" 'TLS history: cannot record: database is locked; pending journal full \(262144 bytes\): not recorded \(delivery goes on\)' \
	"full: the loss is logged"
rm -f "$HIST-pending"

# ---------------------------------------------------------------- create
tap_expect 7
MAIN_HIST=$HIST
HIST=$T/create-held/history.db
mkdir -p "$(dirname "$HIST")"
ops_peer create-held good
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT"
hold_lock create         # sqlite3.connect makes the file, without tables
burst 30 held
release_lock create
tap_is "$OK" 30 "create held: 30 deliveries at once while the new store's lock is held: every one exits 0"
tap_is "$(lost "$DIR"/err.*)" "" "create held: nothing logged as lost"
ops_send create-held
tap_is "$RC|$(rows "$PEER_PORT")|$(pending)" "0|31|0" \
	"create held: the next delivery makes the tables and takes in the 30: 31 rows, nothing pending" || tap_diag "$ERR"

HIST=$T/create-race/history.db
mkdir -p "$(dirname "$HIST")"
ops_peer create-race good
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT"
burst 30 race
tap_is "$OK" 30 "create race: 30 deliveries at once to a store that does not exist: every one exits 0"
tap_is "$(lost "$DIR"/err.*)" "" "create race: nothing logged as lost"
ops_conf "$T/race.conf" 1
"$REPORT" -c "$T/race.conf" summary --days 7 > "$T/race.report" 2>&1
tap_is "$(rows "$PEER_PORT")" 30 "create race: after tlsrelay-report (which takes in what is pending) all 30 rows"
tap_is "$(pending)" 0 "create race: nothing is left pending"
HIST=$MAIN_HIST

tap_done
