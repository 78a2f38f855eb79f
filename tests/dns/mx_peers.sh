# shellcheck shell=bash
# tests/dns/mx_peers.sh - helpers for the tests that run tlsrelay without a
# relay host against tests/peer/peer.py instances listening on port 25 of
# loopback addresses that a test zone names as MX hosts (unbound.sh serves
# the zone). Sourced by tests/dns/test_mx_delivery.sh and test_mx_faults.sh
# after tests/lib.sh and unbound.sh; sources mx_needs.sh (mx_needs,
# mx_port25_free).
#
# The caller sets PY, PEER, SCEN, TLSRELAY, T (temp dir with msg.in,
# msg.canon and tlsrelay.conf) and ub_port.
#
#   mx_unbound ZONE               unbound serving ZONE (stopped at exit); ub_port
#   mx_conf                       $T/tlsrelay.conf for send: level may, short
#                                 timeouts, spool $T/spool
#   peers NAME ADDR:SCENARIO...   one peer.py per address on port 25, in
#                                 $T/NAME/ADDR/ (SCENARIO: a name in $SCEN or
#                                 an absolute path); PEER_PIDS, PEER_DIRS
#   stop_peers                    stop them by PID, write each report
#   fact NAME ADDR KEY            a value from a stopped peer's report
#   send NAME ARGS... -- RCPT...  tlsrelay -v; RC, OUT, ERR, FIRST, ELAPSED_MS
#   why                           the last run, for diagnostics
#   result NAME RC DSN            tap point: exit RC, first line "DSN ..." ("-": none)
#   delivered NAME CASE ADDR      tap point: ADDR accepted msg.canon byte for byte
#   connects                      relays tlsrelay connected to, in order
#   tried ERE...                  0 if the connects match the EREs in order

# shellcheck source=tests/dns/mx_needs.sh
. "$top_srcdir/tests/dns/mx_needs.sh"

PEER_PIDS=()
PEER_DIRS=()

mx_unbound() {
	local ready=ub_log_ready
	at_exit ub_cleanup
	ub_setup "$T" "$1" || tap_bail "unbound setup failed"
	[ -x "${DNSQ:-}" ] && ready=ub_dnsq_ready
	ub_start_main "$ready" || tap_bail "cannot start unbound"
	tap_diag "unbound pid $ub_pid on 127.0.0.1:$ub_port (IPv6: $ub_use_v6)"
}

mx_conf() {
	mkdir -p "$T/spool"
	cat > "$T/tlsrelay.conf" <<EOF
# written by ${0##*/} (tests/dns/mx_peers.sh)
helo_name = client.test
tls_security_level = may
connect_timeout = 5s
command_timeout = 10s
data_timeout = 10s
deadline = 30s
spool_directory = $T/spool
EOF
}

# shellcheck disable=SC2317 # called through wait_until
_mx_peer_ready() {	# PIDFILE PID: pid file written, or the peer is gone
	[ -s "$1" ] || ! kill -0 "$2" 2>/dev/null
}

peers() {
	local name=$1 spec addr dir i scen; shift
	PEER_PIDS=()
	PEER_DIRS=()
	for spec in "$@"; do
		addr=${spec%%:*} scen=${spec#*:}
		[ "${scen#/}" = "$scen" ] && scen=$SCEN/$scen.json
		dir=$T/$name/$addr
		mkdir -p "$dir"
		start_bg "peer-$name-$addr" "$PY" "$PEER" serve --address "$addr" --port 25 \
			--scenario "$scen" --outdir "$dir" --pidfile "$dir/peer.pid" \
			--report "$dir/report" --max-lifetime 120
		PEER_PIDS+=("$BG_PID")
		PEER_DIRS+=("$dir")
	done
	for ((i = 0; i < ${#PEER_PIDS[@]}; i++)); do
		wait_until 10 _mx_peer_ready "${PEER_DIRS[i]}/peer.pid" "${PEER_PIDS[i]}"
		[ -s "${PEER_DIRS[i]}/peer.pid" ] && continue
		tap_diag "$(cat "$T/peer-$name-${PEER_DIRS[i]##*/}.out" 2>/dev/null)"
		tap_bail "case $name: peer.py on ${PEER_DIRS[i]##*/}:25 did not start"
	done
}

stop_peers() {	# the peers write their reports as they stop (--report)
	local pid
	for pid in "${PEER_PIDS[@]}"; do stop_pid "$pid"; done
	PEER_PIDS=()
}

fact() {
	sed -n "s/^$3=//p" "$T/$1/$2/report" 2>/dev/null | head -n 1
}

send() {
	local name=$1 t0 t1; shift
	mkdir -p "$T/$name"
	t0=$(date +%s%N)
	timeout -k 5 60 "$TLSRELAY" -c "$T/tlsrelay.conf" -v \
		-o "dns_resolver=127.0.0.1:$ub_port" -o syslog=no -f sender@example.test "$@" \
		< "$T/msg.in" > "$T/$name/stdout" 2> "$T/$name/stderr"
	RC=$?
	t1=$(date +%s%N)
	ELAPSED_MS=$(((t1 - t0) / 1000000))
	OUT=$(cat "$T/$name/stdout")
	ERR=$(cat "$T/$name/stderr")
	FIRST=$(head -n 1 "$T/$name/stdout")
}

why() {
	printf 'exit %s after %s ms; stdout:\n%s\n-v log (tail):\n%s' "$RC" "$ELAPSED_MS" "$OUT" \
		"$(printf '%s\n' "$ERR" | tail -n 25)"
}

result() {
	local ok=0 want="first line \"$3 ...\""
	[ "$RC" = "$2" ] || ok=1
	if [ "$3" = - ]; then
		want="no output"
		[ -z "$OUT" ] || ok=1
	else
		case $FIRST in "$3 "*) ;; *) ok=1 ;; esac
	fi
	tap_status "$ok" "$1" "$(printf 'want exit %s, %s\n%s' "$2" "$want" "$(why)")"
}

delivered() {
	local dir=$T/$2/$3 st=0 f='' e
	for e in "$dir"/data-*.eml; do [ -f "$e" ] && f=$e && break; done
	[ "$(fact "$2" "$3" delivered)" != none ] && [ "$(fact "$2" "$3" peer_errors)" = 0 ] &&
		[ -n "$f" ] && cmp -s "$f" "$T/msg.canon" || st=1
	tap_status "$st" "$1" "$(printf 'peer %s report:\n%s\n%s' "$3" \
		"$(grep -E '^(conns|delivered|data_bytes|peer_errors|c[0-9]+\.trace)=' "$dir/report" 2>/dev/null)" \
		"$(why)")"
}

connects() {
	printf '%s\n' "$ERR" | sed -n 's/^tlsrelay: \([^ ]*\): [^ ]* -> CONNECT$/\1/p' | tr '\n' ' '
}

tried() {
	local want="^" re
	for re in "$@"; do want="$want$re "; done
	connects | grep -Eq -- "$want\$"
}
