# shellcheck shell=bash
# tests/ops/ops.sh - shared by the tests of the TLS history, the shadow
# policy and tlsrelay-report (tests/ops/test_*.sh). Sourced after
# tests/lib.sh and tests/peer/peer.sh.
#
#   ops_init                 PY/PEER/SCEN (peer_init), TLSRELAY, REPORT (the
#                            built tlsrelay-report), T (a temporary directory),
#                            HIST ($T/history.db)
#   ops_conf FILE PORT [LINE...]  a tlsrelay.conf relaying to [127.0.0.1]:PORT:
#                            level may, the test CA, tls_history = $HIST, no
#                            syslog; each LINE ("key = value") added
#   ops_peer NAME SCENARIO [PORT]  peer.py with SCENARIO (a name in
#                            tests/peer/scenarios, or a file) on PORT (default:
#                            a free one); sets DIR=$T/NAME, PEER_PID, PEER_PORT
#   ops_send NAME [tlsrelay ARGS...]  [OPS_WRAP...] tlsrelay -v -c $DIR/tlsrelay.conf ARGS
#                            -f sender@example.org -- user@example.test <
#                            ${MSG:-$T/msg}, then the peer's report; sets RC,
#                            OUT (first stdout line), ERR (the -v log)
#   ops_case NAME SCENARIO [CONF LINES...]  ops_peer + ops_conf + ops_send
#   sql QUERY                the rows of QUERY on $HIST, "|"-separated
#                            (python3's sqlite3: the real SQLite)
#   dest_of PORT             the history's key of [127.0.0.1]:PORT
#   ops_faketime DAYS        the next ops_send runs DAYS days back (faketime)
#   ops_need_faketime        skip the test where faketime cannot run tlsrelay

ops_init() {
	peer_init
	peer_require_tlsrelay
	REPORT=${TLSRELAY_REPORT_BIN:-$top_builddir/plugin/report/tlsrelay-report}
	[ -x "$REPORT" ] || tap_bail "no tlsrelay-report at $REPORT (build it)"
	make_tmpdir TEST_TMP
	T=$TEST_TMP
	mkdir -p "$T/spool"
	HIST=$T/history.db
	printf 'Subject: ops test\n\nhello\n' > "$T/msg"
}

ops_conf() {
	local file=$1 port=$2 line; shift 2
	{
		echo "relayhost = [127.0.0.1]:$port"
		echo "tls_security_level = may"
		echo "helo_name = client.test"
		echo "syslog = no"
		echo "command_timeout = 10s"
		echo "deadline = 30s"
		echo "spool_directory = $T/spool"
		echo "tls_ca_file = $CERTS/ca.pem"
		echo "tls_history = $HIST"
		for line in "$@"; do echo "$line"; done
	} > "$file"
}

ops_peer() {
	local name=$1 scen=$2 port=${3:-} try file
	DIR=$T/$name
	file=$scen
	[ -f "$file" ] || file=$SCEN/$scen.json
	for ((try = 1; try <= 5; try++)); do
		rm -rf "$DIR" && mkdir -p "$DIR" || return 1
		PEER_PORT=${port:-$(free_port)}
		start_bg "peer-$name-$try" "$PY" "$PEER" serve --port "$PEER_PORT" --scenario "$file" \
			--outdir "$DIR" --pidfile "$DIR/peer.pid" --max-lifetime 120
		PEER_PID=$BG_PID
		wait_until 10 _peer_ready "$DIR/peer.pid" "$PEER_PID"
		[ -s "$DIR/peer.pid" ] && return 0
		kill -0 "$PEER_PID" 2>/dev/null && { stop_pid "$PEER_PID"; return 1; }
		wait "$PEER_PID" 2>/dev/null
		sleep 0.3      # port taken (exit 2): a fixed port may be in TIME_WAIT
	done
	tap_bail "peer $name on port $PEER_PORT did not start: $(cat "$T/peer-$name-5.out" 2>/dev/null)"
}

ops_send() {
	local name=$1; shift
	timeout -k 5 60 ${OPS_WRAP:+"${OPS_WRAP[@]}"} "$TLSRELAY" -v -c "$DIR/tlsrelay.conf" "$@" -f sender@example.org \
		-- user@example.test < "${MSG:-$T/msg}" > "$DIR/stdout" 2> "$DIR/stderr"
	RC=$?
	peer_report
	OUT=$(head -n 1 "$DIR/stdout")
	ERR=$(cat "$DIR/stderr")
}

ops_case() {
	local name=$1 scen=$2; shift 2
	ops_peer "$name" "$scen" "${CASE_PORT:-}"
	ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT" "$@"
	ops_send "$name" ${SEND_ARGS:+"${SEND_ARGS[@]}"}
}

sql() {
	"$PY" - "$HIST" "$1" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
for row in db.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
PYEOF
}

dest_of() { echo "[127.0.0.1]:$1"; }

# ops_faketime DAYS: OPS_WRAP runs the next ops_send DAYS days back (0: now).
ops_faketime() {
	OPS_WRAP=()
	[ "$1" = 0 ] && return 0
	OPS_WRAP=(env FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "-${1}d")
}

# ops_need_faketime: skip the whole test where faketime cannot run tlsrelay:
# an AddressSanitizer build hangs at start under libfaketime (both intercept
# the clock functions). tests/ops/test_history.sh runs every report command
# over a one-day history there instead.
ops_need_faketime() {
	require_cmd faketime
	[ -z "${ASAN_OPTIONS:-}" ] ||
		tap_skip_all "sanitizer build: libfaketime hangs an AddressSanitizer program at start (the reports are run by test_history.sh there)"
}
