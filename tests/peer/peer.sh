#!/bin/bash
# tests/peer/peer.sh - shared helpers for the tests that run tlsrelay against
# tests/peer/peer.py: tests/peer/test_transport.sh, tests/peer/test_policy.sh
# and tests/e2e/test_postfix_policy.sh.
#
# Source it from bash after tests/lib.sh (it uses tap_*, free_port,
# start_bg, wait_until and stop_pid):
#   . "$top_srcdir/tests/peer/peer.sh"
#
# Contents
#   Set-up:   peer_init               (sets PY, PEER, SCEN; skips without python3 + ssl)
#             peer_require_tlsrelay   (sets TLSRELAY; bails without the built tlsrelay)
#             peer_require_auth       (bails if peer.py lacks the AUTH dialogue)
#             peer_require_localhost  (skips if [localhost] is not 127.0.0.1)
#             peer_conf FILE          (a tlsrelay.conf for the peer: level may, spool $T/spool)
#   Peer:     start_peer SCENARIO DIR (sets PEER_PID, PEER_PORT)
#             peer_report             (stops the peer, writes $DIR/report)
#             rg KEY                  (a value from $DIR/report)
#   tlsrelay: peer_run_tlsrelay MSG ARG...  (needs TLSRELAY; sets RC, ELAPSED_MS;
#                                            stops the peer and reads its report)
#   Cases:    peer_case_start NAME SCENARIO TODO, point ASPECT STATUS NAME [DIAG],
#             peer_case_expect N CHECKS (the case makes N points and one a check),
#             peer_outcome_points NAME TITLE EXP_RC EXP_DSN EXP_OVER (3 points),
#             peer_check_points NAME CHECKS, peer_invariants_common CANON
#
# The caller sets T (the test's temporary directory: peer start-up output
# goes there) and DIR (the current case's directory).

# ------------------------------------------------------------------ set-up
peer_init() {	# peer_init: PY (python3 with ssl), PEER (peer.py), SCEN (its scenarios)
	PY=/usr/bin/python3
	[ -x "$PY" ] || PY=$(command -v python3 2>/dev/null) || tap_skip_all "python3 not found"
	"$PY" -c 'import ssl, json, threading' 2>/dev/null || tap_skip_all "python3 without the ssl module"
	# shellcheck disable=SC2154 # top_srcdir: set by tests/lib.sh
	PEER=$top_srcdir/tests/peer/peer.py
	SCEN=$top_srcdir/tests/peer/scenarios
}

peer_require_tlsrelay() {	# peer_require_tlsrelay: TLSRELAY, the built transport (bails without it)
	TLSRELAY=${TLSRELAY_BIN:-$top_builddir/plugin/transport/tlsrelay}
	[ -x "$TLSRELAY" ] || tap_bail "no tlsrelay at $TLSRELAY (build it, or set top_builddir or TLSRELAY_BIN)"
}

peer_require_auth() {	# peer_require_auth: peer.py must know the AUTH dialogue
	grep -q '"auth"' "$PEER" || tap_bail "$PEER has no AUTH dialogue support (scenario key \"auth\")"
}

peer_require_localhost() {	# [localhost] must resolve to 127.0.0.1 (peer.py listens there only)
	if command -v getent >/dev/null 2>&1 && ! getent ahosts localhost | grep -q '^127\.0\.0\.1 '; then
		tap_skip_all "localhost does not resolve to 127.0.0.1 (the [localhost] cases need it)"
	fi
}

# peer_conf FILE: a tlsrelay.conf relaying to the running peer (PEER_PORT):
# level may, helo client.test, no syslog, short timeouts, spool $T/spool.
peer_conf() {
	cat > "$1" <<EOF
relayhost = [127.0.0.1]:$PEER_PORT
tls_security_level = may
helo_name = client.test
syslog = no
command_timeout = 10s
deadline = 30s
spool_directory = $T/spool
EOF
}

# -------------------------------------------------------------------- peer
_peer_ready() {	# _peer_ready PIDFILE PID: pid file written, or the peer is gone
	[ -s "$1" ] || ! kill -0 "$2" 2>/dev/null
}

# start_peer SCENARIO DIR: peer.py on a free port; sets PEER_PID, PEER_PORT.
# A port taken meanwhile (exit 2) is retried with another one.
start_peer() {
	local scen=$1 dir=$2 try
	for ((try = 1; try <= 5; try++)); do
		rm -rf "$dir" && mkdir -p "$dir" || return 1
		PEER_PORT=$(free_port) || return 1
		start_bg "peer-${dir##*/}-$try" "$PY" "$PEER" serve --port "$PEER_PORT" \
			--scenario "$SCEN/$scen.json" --outdir "$dir" --pidfile "$dir/peer.pid" \
			--max-lifetime 120
		PEER_PID=$BG_PID
		wait_until 10 _peer_ready "$dir/peer.pid" "$PEER_PID"
		[ -s "$dir/peer.pid" ] && return 0
		if kill -0 "$PEER_PID" 2>/dev/null; then
			stop_pid "$PEER_PID"
			return 1
		fi
		wait "$PEER_PID" 2>/dev/null
		[ $? = 2 ] || { cat "$T/peer-${dir##*/}-$try.out" >&2; return 1; }
	done
	return 1
}

peer_report() {	# peer_report: stop the peer (PEER_PID); its report into $DIR/report
	stop_pid "$PEER_PID"
	"$PY" "$PEER" report "$DIR" > "$DIR/report" 2>&1
}

rg() {	# rg KEY: a value from $DIR/report
	sed -n "s/^$1=//p" "$DIR/report" | head -n 1
}

# ---------------------------------------------------------------- tlsrelay
# peer_run_tlsrelay MSG ARG...: $TLSRELAY -c $DIR/tlsrelay.conf ARG... < MSG
# (stdout and stderr into $DIR, bounded by timeout 60), then peer_report;
# sets RC and ELAPSED_MS.
peer_run_tlsrelay() {
	local msg=$1 t0 t1; shift
	t0=$(date +%s%N)
	timeout -k 5 60 "$TLSRELAY" -c "$DIR/tlsrelay.conf" "$@" \
		< "$msg" > "$DIR/stdout" 2> "$DIR/stderr"
	RC=$?
	t1=$(date +%s%N)
	# shellcheck disable=SC2034 # ELAPSED_MS is a result for the caller
	ELAPSED_MS=$(((t1 - t0) / 1000000))
	peer_report
}

# ------------------------------------------------------------------- cases
# peer_case_start NAME SCENARIO TODO: a new case; TODO ("ASPECTS: reason",
# or "-" or empty) sets TODO_ASPECTS and TODO_REASON; FAILED=0 KNOWN=0.
peer_case_start() {
	local name=$1 scen=$2 todo=$3
	TODO_ASPECTS='' TODO_REASON='' FAILED=0 KNOWN=0
	if [ -n "$todo" ] && [ "$todo" != - ]; then
		TODO_ASPECTS=${todo%%:*} TODO_REASON=${todo#*:} TODO_REASON=${TODO_REASON# }
	fi
	[ -f "$SCEN/$scen.json" ] || tap_bail "case $name: no scenario $SCEN/$scen.json"
}

# peer_case_expect N CHECKS: declare the case's points (tap_expect): N of
# its own and one for each check of CHECKS (as peer_check_points counts).
peer_case_expect() {
	local c n=$1
	local -a _checks
	IFS=';' read -r -a _checks <<< "${2#-}"
	for c in "${_checks[@]}"; do
		[ -n "$c" ] && n=$((n + 1))
	done
	tap_expect "$n"
}

# point ASPECT STATUS NAME [DIAG]: one TAP line; an aspect listed in the
# case's TODO fails as "not ok ... # TODO reason"; if it passes, it is a
# plain ok with a note to remove the TODO mark. Sets KNOWN=1 (a TODO
# failed) or FAILED=1 (a plain failure) for the caller.
# shellcheck disable=SC2034 # KNOWN and FAILED are results for the caller
point() {
	local aspect=$1 st=$2 name=$3 diag=${4:-}
	case ",$TODO_ASPECTS," in
	*",$aspect,"*)
		if [ "$st" = 0 ]; then
			tap_ok 1 "$name"
			tap_diag "case is marked TODO for $aspect ($TODO_REASON) but passed: remove the mark"
		else
			tap_ok 0 "$name # TODO $TODO_REASON" "$diag"
			KNOWN=1
		fi
		;;
	*)
		tap_status "$st" "$name" "$diag" || FAILED=1
		;;
	esac
}

# peer_outcome_points NAME TITLE EXP_RC EXP_DSN EXP_OVER: the points rc
# (named "TITLE: exit status EXP_RC"), dsn (the first output line: empty
# for "-", else a status line starting with EXP_DSN) and over (the peer's
# "delivered" is EXP_OVER) for the run in $DIR (exit status RC).
peer_outcome_points() {
	local name=$1 title=$2 exp_rc=$3 exp_dsn=$4 exp_over=$5 first st
	first=$(head -n 1 "$DIR/stdout")
	point rc "$([ "$RC" = "$exp_rc" ]; echo $?)" "$title: exit status $exp_rc" \
		"got exit $RC, want $exp_rc; output: $first"
	if [ "$exp_dsn" = - ]; then
		point dsn "$([ -z "$first" ]; echo $?)" "$name: no status line" "got: $first"
	else
		st=1
		[[ $first == "$exp_dsn"* && $first =~ ^[245]\.[0-9]{1,3}\.[0-9]{1,3}\  ]] && st=0
		point dsn "$st" "$name: status line starts with $exp_dsn" "got: $first"
	fi
	point over "$([ "$(rg delivered)" = "$exp_over" ]; echo $?)" "$name: delivered over $exp_over" \
		"got: $(rg delivered)"
}

# peer_check_points NAME CHECKS: a point per ";"-separated check ("-": none)
# with the caller's run_check CHECK (0 if it holds; diagnostic on stdout);
# the aspect is the check's name up to a "=".
peer_check_points() {
	local name=$1 checks=$2 c diag
	local -a _checks
	IFS=';' read -r -a _checks <<< "${checks#-}"
	for c in "${_checks[@]}"; do
		[ -n "$c" ] || continue
		diag=$(run_check "$c")
		point "${c%%=*}" $? "$name: $c" "$diag"
	done
}

# peer_invariants_common CANON: prints one line per violated invariant that
# holds for every case of the run in $DIR (exit status RC): no command after
# an injected STARTTLS reply, STARTTLS at most once per connection, every
# accepted message equal to CANON, exit 0 only after a 2xx to the end of
# data, tlsrelay finished, peer.py without internal error and stopped cleanly
peer_invariants_common() {
	local canon=$1 f
	[ "$(rg after_injection)" = 0 ] ||
		echo "$(rg after_injection) commands/bytes received after an injected STARTTLS reply"
	[ "$(rg starttls_max)" -le 1 ] 2>/dev/null || echo "STARTTLS sent $(rg starttls_max) times on one connection"
	for f in $(rg accepted_data); do
		cmp -s "$DIR/$f" "$canon" ||
			echo "accepted message $f differs from the canonical input: $(cmp "$DIR/$f" "$canon" 2>&1 | head -n 1)"
	done
	if [ "$RC" = 0 ] && [ -z "$(rg accepted_data)" ]; then
		echo "exit 0, but the peer never answered 2xx to the end of data"
	fi
	case $RC in 124|137) echo "tlsrelay did not finish within 60 s (killed)" ;; esac
	[ "$(rg peer_errors)" = 0 ] || echo "peer.py internal error (harness bug): see transcript"
	[ "$(rg peer_exit)" = 1 ] || echo "peer.py did not stop cleanly"
}
