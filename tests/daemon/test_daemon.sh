#!/bin/bash
# tests/daemon/test_daemon.sh - tlsrelayd (plugin/daemon) and tlsrelayc
# (plugin/transport/tlsrelayc.c) against a real private Postfix receiver,
# tests/peer/peer.py and, at the end, a real host Postfix whose pipe(8)
# runs tlsrelayc.
#
# Every daemon runs as root with -u nobody, -v (its log on its standard
# error, $T/NAME.out) and a socket in the test's directory; it is stopped by
# its PID. The clients run directly (root), with -v: the delivery process
# writes the transport's log on the client's standard error.
# Cases:
#   a. delivery through the daemon: exit 0, the body byte for byte, the
#      to= line; the same delivery process serves the next delivery; -r 2
#      retires it after two (a new PID for the third)
#   b. the same exit status and result line as tlsrelay for failures:
#      recipient 5xx, 4xx, TLS required but not offered (no MAIL sent),
#      -T, a bad command line; and for what the daemon does not serve
#      (another configuration file, -o, -q, -t, -n, -d, -r: logged "not
#      served", tlsrelayc runs tlsrelay itself; who may do what through
#      the socket: tests/daemon/test_daemon_access.sh)
#   c. fallback: no daemon (no socket file) -> tlsrelay delivers in the
#      client's process; closed standard input -> the same 4.3.0/75
#   d. configuration change without restart: the edited file is used by the
#      next delivery (old process retired); SIGHUP; a broken file gives each
#      delivery tlsrelay's 4.3.5/78, fixing it recovers
#   e. the client killed while its delivery waits for the reply to the
#      dot (the daemon's file edited to relay to a silent peer): the
#      daemon stops that delivery process and goes on serving
#   f. a delivery process killed (SIGKILL) mid-delivery (the same): 75,
#      "4.3.0 tlsrelayd: delivery process ended by signal 9"
#   g. malformed requests (tests/daemon/hostile.py): each refused (75 4.3.0
#      request refused) or the connection closed, within the 10 s request
#      timeout (+ slack) for the silent ones; descriptors received are let
#      go; the daemon goes on serving; its processes' descriptors stay
#      bounded
#   h. SIGTERM with a delivery in progress: the socket goes at once, the
#      delivery completes and is answered, the daemon exits 0; a client
#      meanwhile falls back to tlsrelay
#   i. start-up: root without -u, -n 0, an unknown user exit 78; a second
#      daemon on a live socket exits 75 and leaves it alone; a dead
#      daemon's socket is replaced; a relative -c (the client's directory);
#      -i 1 retires an idle process
#   j. -n 1 and three clients at once: one process, all three delivered;
#      then the configuration changed: the next client waits for the one
#      slot (the old process retired) instead of being refused
#   k. TLS session resumption (tls_session_cache) across deliveries, with
#      connection_cache = no (connection reuse: tests/daemon/test_reuse.sh)
#   p. Postfix pipe(8) -> tlsrelayc -> tlsrelayd: sent, 5xx bounce with the
#      receiver's DSN, 4xx deferral; with the daemon stopped, the fallback
# Every wait is bounded; no timing is asserted (deadline bounds only).

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

require_root
require_cmd postfix postconf postqueue postsuper swaks runuser timeout ps
peer_init
make_tmpdir
T=$TEST_TMP

DAEMON=${TLSRELAYD_BIN:-$top_builddir/plugin/daemon/tlsrelayd}
CLIENT=${TLSRELAYC_BIN:-$top_builddir/plugin/transport/tlsrelayc}
TLSRELAY=${TLSRELAY_BIN:-$top_builddir/plugin/transport/tlsrelay}
HOSTILE=$top_srcdir/tests/daemon/hostile.py
for p in "$DAEMON" "$CLIENT" "$TLSRELAY"; do
	[ -x "$p" ] || tap_bail "$p not built"
done
# The client falls back to the tlsrelay beside it: make sure it is this one.
[ "$(dirname "$(readlink -f "$CLIENT")")" = "$(dirname "$(readlink -f "$TLSRELAY")")" ] ||
	tap_bail "tlsrelayc and tlsrelay are not in the same directory"

RPORT=$(free_port) && HPORT=$(free_port) || tap_bail "no free port"
receiver_new recv "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening"

# run/: the sockets, in a directory the daemon (nobody) may remove them from
mkdir -p "$T/spool" "$T/scen" "$T/nb" "$T/run" && chmod 1777 "$T/spool" && chown nobody "$T/nb" "$T/run" ||
	tap_bail "mkdir failed"

# conf FILE PORT LEVEL [LINE...]: a tlsrelay.conf readable by nobody
conf() {
	local f=$1 port=$2 level=$3 line; shift 3
	{
		printf 'relayhost = [127.0.0.1]:%s\ntls_security_level = %s\n' "$port" "$level"
		printf 'tls_ca_file = %s\nhelo_name = client.tlsrelay.test\n' "$CERTS/ca.pem"
		printf 'syslog = no\nconnect_timeout = 10s\ncommand_timeout = 30s\ndeadline = 60s\n'
		printf 'spool_directory = %s\n' "$T/spool"
		for line in "$@"; do printf '%s\n' "$line"; done
	} > "$f.new" && chmod 0644 "$f.new" && mv -f "$f.new" "$f"
}
DCONF=$T/d.conf
conf "$DCONF" "$RPORT" may

# make_msg NAME: $T/NAME.eml (the message), $T/NAME.body (its body) and
# $T/NAME.id (its Message-ID)
make_msg() {
	local MSGID="<daemon-$1.$$.$RANDOM@sender.test>"
	printf '%s\n' "$MSGID" > "$T/$1.id"
	printf 'Body of %s.\n.a line that starts with a dot\n..two dots\n.\nUTF-8: Gr\303\274\303\237e\n%s\nLast line.\n' \
		"$1" "$(printf '%0900d' 0 | tr 0 x)" > "$T/$1.body"
	{
		printf 'From: <sender@sender.test>\nSubject: tlsrelayd test %s\nMessage-ID: %s\n\n' "$1" "$MSGID"
		cat "$T/$1.body"
	} > "$T/$1.eml"
}

# ------------------------------------------------------------- processes
# start_daemon NAME SOCKET [OPTIONS...]: tlsrelayd -v -u nobody -c $DCONF
# -s SOCKET OPTIONS; its log in $T/NAME.out; sets DPID; 1 if not ready
start_daemon() {
	local name=$1 sock=$2; shift 2
	start_bg "$name" "$DAEMON" -v -u nobody -c "$DCONF" -s "$sock" "$@"
	DPID=$BG_PID
	wait_until 15 grep -q "ready on $sock" "$T/$name.out"
}
children() {	# children PID: its live children's PIDs, one a line, sorted
	ps -o pid=,stat= --ppid "$1" 2>/dev/null | awk '$2 !~ /^Z/ { print $1 }' | sort -n
}
gone() { ! kill -0 "$1" 2>/dev/null; }
nchildren() { children "$1" | wc -l; }

# dc NAME SOCKET ARGS...: tlsrelayc -S SOCKET ARGS < $T/NAME.eml (or $MSG);
# sets RC, OUT (stdout), LOG (stderr)
dc() {
	local name=$1 sock=$2; shift 2
	timeout -k 5 90 "$CLIENT" -S "$sock" "$@" < "${MSG:-$T/$name.eml}" > "$T/$name.out" 2> "$T/$name.err"
	RC=$? OUT=$(cat "$T/$name.out") LOG=$(cat "$T/$name.err")
}
# st NAME ARGS...: the same with tlsrelay itself; sets SRC, SOUT (stderr in $T/NAME.serr)
st() {
	local name=$1; shift
	timeout -k 5 90 "$TLSRELAY" "$@" < "${MSG:-$T/$name.eml}" > "$T/$name.sout" 2> "$T/$name.serr"
	SRC=$? SOUT=$(cat "$T/$name.sout")
}
sent() {	# sent NAME: exit 0, no output
	tap_status "$([ "$RC" = 0 ] && [ -z "$OUT" ]; echo $?)" "$1: exit 0, no result line" \
		"exit $RC; stdout: $OUT; stderr: $(printf '%s' "$LOG" | tail -n 8)"
}
# arrived NAME USER [LABEL]: the message of make_msg NAME is in USER's
# Maildir, its body intact (LABEL: the checks' name, default NAME)
arrived() {
	local name=$1 label=${3:-$1} mail
	mail=$(receiver_wait_mail "$RECV" "$2" "$(cat "$T/$name.id")" 30)
	tap_status $? "$label: the message arrives" "$(tail -n 5 "$(pf_log "$RECV")")" || return 1
	mail_body "$mail" > "$T/$name.got"
	cmp -s "$T/$name.body" "$T/$name.got"
	tap_status $? "$label: body byte for byte" "$(diff -u "$T/$name.body" "$T/$name.got" | head -n 20)"
}

# start_scen NAME JSON: a peer with that scenario; sets PEER_PID, PEER_PORT, DIR
start_scen() {
	printf '%s\n' "$2" > "$T/scen/$1.json"
	DIR=$T/peer-$1
	SCEN=$T/scen start_peer "$1" "$DIR" || tap_bail "peer $1 did not start"
}
dots() { grep -c '"verb": "DOT"' "$DIR/transcript.jsonl" 2>/dev/null; }

R=$T/run
SOCK=$R/d.sock
tap_diag "receiver 127.0.0.1:$RPORT; daemon $DAEMON; client $CLIENT"

# One plan for the sections below (a linear script: sent 1 check, arrived
# 2, same 2 or 3, not_served 1; the loops run over fixed lists).
tap_plan 226

# -------------------------------------------- a. delivery, reuse, -r 2
tap_diag "a. delivery, reuse, -r 2 (at $SECONDS s)"
start_daemon da "$R/a.sock" || tap_bail "tlsrelayd not ready: $(cat "$T/da.out")"
DA=$DPID
tap_is "$(nchildren "$DA")" 0 "a: no delivery process before the first delivery"
make_msg a1
dc a1 "$R/a.sock" -v -c "$DCONF" -f sender@sender.test -- user@example.test
sent a1
tap_like "$LOG" "^tlsrelay: .*to=<user@example\.test>, relay=.*tls=TLSv1\.[23].*status=sent" \
	"a1: the -v log (with the to= line) on the client's standard error"
arrived a1 user
W1=$(children "$DA")
tap_is "$(printf '%s\n' "$W1" | grep -c .)" 1 "a1: the daemon has one delivery process"
make_msg a2
dc a2 "$R/a.sock" -c "$DCONF" -f sender@sender.test -- alice@example.test
sent a2
arrived a2 alice
tap_is "$(children "$DA")" "$W1" "a2: the same process served the second delivery"
stop_pid "$DA"
tap_status "$(wait_until 10 gone "$W1"; echo $?)" "a: the delivery process ends with the daemon"

start_daemon dr "$R/r.sock" -r 2 || tap_bail "tlsrelayd -r 2 not ready: $(cat "$T/dr.out")"
DR=$DPID
make_msg r1
dc r1 "$R/r.sock" -c "$DCONF" -f sender@sender.test -- bob@example.test
sent "r1 -r 2"
W1=$(children "$DR")
make_msg r2
dc r2 "$R/r.sock" -c "$DCONF" -f sender@sender.test -- bob@example.test
sent "r2 -r 2"
wait_until 10 gone "$W1"
tap_status $? "r2: -r 2: the process that served two deliveries is retired" "children: $(children "$DR")"
make_msg r3
dc r3 "$R/r.sock" -c "$DCONF" -f sender@sender.test -- bob@example.test
sent "r3 -r 2"
W3=$(children "$DR")
tap_status "$([ -n "$W3" ] && [ -n "$W1" ] && [ "$W3" != "$W1" ]; echo $?)" "r3: a new delivery process ($W1 -> $W3)"
for n in 1 2 3; do arrived "r$n" bob; done
stop_pid "$DR"

# ------------------------------------------- b. the same as tlsrelay
tap_diag "b. the same as tlsrelay (at $SECONDS s)"
start_daemon db "$SOCK" || tap_bail "tlsrelayd not ready: $(cat "$T/db.out")"
DB=$DPID
# same NAME EXIT DSN_ERE ARGS...: the client and tlsrelay, same exit and stdout
same() {
	local name=$1 rc=$2 ere=$3; shift 3
	[ -f "$T/$name.eml" ] || make_msg "$name"
	dc "$name" "$SOCK" "$@"
	st "$name" "$@"
	tap_status "$([ "$RC" = "$rc" ] && [ "$SRC" = "$rc" ]; echo $?)" "$name: exit $rc (tlsrelayc and tlsrelay)" \
		"tlsrelayc exit $RC: $OUT; tlsrelay exit $SRC: $SOUT; client stderr: $(tail -n 5 "$T/$name.err")"
	tap_is "$OUT" "$SOUT" "$name: the same output as tlsrelay"
	[ "$ere" = - ] || tap_like "$OUT" "$ere" "$name: output matches $ere"
}
FROM=(-f sender@sender.test)
same b-5xx 67 '^5\.1\.1 ' -c "$DCONF" "${FROM[@]}" -- reject@example.test
WB=$(children "$DB")
NFDB=$(ls "/proc/$WB/fd" 2>/dev/null | wc -l)
same b-4xx 75 '^4\.2\.0 ' -c "$DCONF" "${FROM[@]}" -- tempfail@example.test

start_scen nostarttls '{"ehlo_caps": ["PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES", "8BITMIME"]}'
NOTLS_PORT=$PEER_PORT NOTLS_DIR=$DIR NOTLS_PID=$PEER_PID
conf "$T/enc.conf" "$NOTLS_PORT" encrypt
same b-encrypt 75 '^4\.7\.4 ' -c "$T/enc.conf" "${FROM[@]}" -- user@example.test
printf 'no_such_setting = 1\n' > "$T/bad.conf" && chmod 0644 "$T/bad.conf"
# Not served by the daemon (another file, -o, -q, -t, -n, -d, -r): the
# daemon logs it and tlsrelayc runs tlsrelay itself, here as root like
# tlsrelay: the same output. (Before issue 13 the daemon ran them.)
# name=CASE not_served REASON: the daemon logged "not served (REASON)"
not_served() {
	local n
	n=$(grep -c "request not served ($1)" "$T/db.out")
	tap_status "$([ "$n" -gt 0 ]; echo $?)" "$name: not served by the daemon ($1)" "$(tail -n 3 "$T/db.out")"
}
same b-badconf 78 '^4\.3\.5 ' -c "$T/bad.conf" "${FROM[@]}" -- user@example.test
name=b-badconf not_served "another configuration file than the daemon's"
same b-badconf-T 75 '^4\.3\.5 ' -T -c "$T/bad.conf" "${FROM[@]}" -- user@example.test
# -o: the override sends to the peer and fails (tlsrelay's own run)
same b-override 75 '^4\.7\.4 ' -c "$DCONF" -o "relayhost=[127.0.0.1]:$NOTLS_PORT" \
	-o tls_security_level=encrypt "${FROM[@]}" -- user@example.test
name=b-override not_served "-o given"
# a bad command line is refused by the daemon's process itself (nothing is
# applied): tlsrelay's own text
same b-bad-o 78 '^4\.3\.5 ' -c "$DCONF" -o novalue "${FROM[@]}" -- user@example.test
same b-query 0 "\[127\.0\.0\.1\]:$RPORT" -c "$DCONF" -q example.test
name=b-query not_served "-q given"
same b-check 0 '^tlsrelay: configuration OK' -c "$DCONF" -t
name=b-check not_served "-t given"
same b-check-bad 78 'problem' -c "$T/bad.conf" -t
same b-show 0 ": relayhost = \[127\.0\.0\.1\]:$RPORT" -c "$DCONF" -n
name=b-show not_served "-n given"
same b-show-all 0 ": relayhost = \[127\.0\.0\.1\]:$RPORT" -c "$DCONF" -d
name=b-show-all not_served "-d given"
same b-nexthop 0 - -c "$DCONF" -r "[127.0.0.1]:$RPORT" "${FROM[@]}" -- user@example.test
name=b-nexthop not_served "-r given"
same b-unknown-option 78 '^4\.3\.5 .*unknown option' -c "$DCONF" -x "${FROM[@]}" -- user@example.test
same b-no-rcpt 78 '^4\.3\.5 .*no recipients' -c "$DCONF" "${FROM[@]}"
same b-bad-rcpt 64 - -c "$DCONF" "${FROM[@]}" -- 'bad address@'
stop_pid "$NOTLS_PID"
"$PY" "$PEER" report "$NOTLS_DIR" > "$NOTLS_DIR/report" 2>&1
DIR=$NOTLS_DIR
tap_is "$(rg mail_plain)" 0 "b: TLS required, not offered: no MAIL FROM sent (both programs)"
tap_status "$([ "$(rg conns)" -ge 4 ]; echo $?)" "b: the peer saw both programs' connections (encrypt, -o)" \
	"conns=$(rg conns)"
tap_is "$(children "$DB")" "$WB" "b: all of it served by one delivery process"
# NFDB counts the SMTP connection b-5xx left kept; it ends after
# connection_cache_time_limit (2 s) idle, which a slow run (a sanitizer
# build) reaches: one descriptor fewer then, never more.
NFDB_NOW=$(ls "/proc/$WB/fd" 2>/dev/null | wc -l)
tap_status "$([ "$NFDB_NOW" -le "$NFDB" ] && [ "$NFDB_NOW" -ge $((NFDB - 1)) ]; echo $?)" \
	"b: after the 15 other requests of b it holds as many descriptors as after the first (or one fewer: its kept connection timed out)" \
	"after the first: $NFDB, now: $NFDB_NOW"

# ------------------------------------------------------ c. fallback
tap_diag "c. fallback (at $SECONDS s)"
make_msg c1
dc c1 "$R/nosuch.sock" -v -c "$DCONF" "${FROM[@]}" -- dave@example.test
sent "c1 no daemon"
arrived c1 dave "c1 no daemon"
make_msg c2
MSG=/dev/null
timeout -k 5 30 "$CLIENT" -S "$SOCK" -c "$DCONF" "${FROM[@]}" -- user@example.test <&- > "$T/c2.out" 2>&1
RC=$? OUT=$(cat "$T/c2.out")
timeout -k 5 30 "$TLSRELAY" -c "$DCONF" "${FROM[@]}" -- user@example.test <&- > "$T/c2.sout" 2>&1
SRC=$? SOUT=$(cat "$T/c2.sout")
unset MSG
tap_status "$([ "$RC" = 75 ] && [ "$SRC" = 75 ]; echo $?)" "c2 stdin closed: exit 75 (tlsrelayc and tlsrelay)" \
	"tlsrelayc $RC: $OUT; tlsrelay $SRC: $SOUT"
tap_is "$OUT" "$SOUT" "c2 stdin closed: the same output as tlsrelay"
tap_like "$OUT" '^4\.3\.0 .*standard input is closed' "c2 stdin closed: 4.3.0 standard input is closed"

# ---------------------------------------------- d. configuration change
tap_diag "d. configuration change (at $SECONDS s)"
W=$(children "$DB")
start_scen nostarttls2 '{"ehlo_caps": ["PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME"]}'
NOTLS2_DIR=$DIR NOTLS2_PID=$PEER_PID
conf "$DCONF" "$PEER_PORT" encrypt
make_msg d1
dc d1 "$SOCK" -c "$DCONF" "${FROM[@]}" -- user@example.test
tap_status "$([ "$RC" = 75 ]; echo $?)" "d1 edited file (encrypt, a peer without STARTTLS): exit 75" "exit $RC: $OUT"
tap_like "$OUT" '^4\.7\.4 ' "d1 edited file: 4.7.4 (the new settings, no restart)"
tap_like "$(cat "$T/db.out")" "configuration $DCONF reloaded \(.*changed\)" "d1: the daemon logs the reload"
wait_until 10 gone "$W"
tap_status $? "d1: the process of the old configuration is retired" "children: $(children "$DB")"
stop_pid "$NOTLS2_PID"
"$PY" "$PEER" report "$NOTLS2_DIR" > "$NOTLS2_DIR/report" 2>&1
DIR=$NOTLS2_DIR
tap_is "$(rg mail_plain)" 0 "d1: no MAIL FROM in plaintext"

conf "$DCONF" "$RPORT" may
make_msg d2
dc d2 "$SOCK" -c "$DCONF" "${FROM[@]}" -- erin@example.test
sent "d2 file restored"
arrived d2 erin "d2 file restored"
W=$(children "$DB")
kill -HUP "$DB"
wait_until 10 grep -q "reloaded (SIGHUP)" "$T/db.out"
tap_status $? "d3: SIGHUP: the daemon logs the reload"
make_msg d3
dc d3 "$SOCK" -c "$DCONF" "${FROM[@]}" -- user@example.test
sent "d3 after SIGHUP"
W3=$(children "$DB")
tap_status "$([ -n "$W3" ] && [ "$W3" != "$W" ]; echo $?)" "d3: after SIGHUP a new process serves ($W -> $W3)"

printf 'relayhost = [127.0.0.1]:%s\nbroken line without equals\n' "$RPORT" > "$DCONF.new"
chmod 0644 "$DCONF.new" && mv -f "$DCONF.new" "$DCONF"
for n in 1 2; do
	same "d4-broken-$n" 78 '^4\.3\.5 ' -c "$DCONF" "${FROM[@]}" -- user@example.test
done
tap_like "$(cat "$T/db.out")" "each delivery reads the configuration itself" "d4: the daemon logs the broken file"
conf "$DCONF" "$RPORT" may
make_msg d5
dc d5 "$SOCK" -c "$DCONF" "${FROM[@]}" -- alice@example.test
sent "d5 file fixed"
arrived d5 alice "d5 file fixed"
make_msg d6
dc d6 "$SOCK" -c "$DCONF" "${FROM[@]}" -- bob@example.test
sent "d6 and the next"

# ---------------------------------------------- e. the client goes away
tap_diag "e. the client goes away (at $SECONDS s)"
start_scen hang '{"actions": {"DOT": "silent"}, "silent_secs": 60}'
HANG_DIR=$DIR HANG_PID=$PEER_PID HANG_PORT=$PEER_PORT
# the daemon serves only its own file: point it at the silent peer
conf "$DCONF" "$HANG_PORT" may "data_timeout = 100s" "deadline = 120s"
make_msg e1
"$CLIENT" -S "$SOCK" -c "$DCONF" "${FROM[@]}" -- user@example.test < "$T/e1.eml" \
	> "$T/e1.out" 2>&1 &
CPID=$!
wait_until 20 eval '[ "$(dots)" = 1 ]'
tap_status $? "e: the delivery waits for the reply to the dot"
W=$(children "$DB")
tap_is "$(printf '%s\n' "$W" | grep -c .)" 1 "e: one delivery process busy"
kill -KILL "$CPID"
wait "$CPID" 2>/dev/null
wait_until 15 gone "$W"
tap_status $? "e: the daemon stops the delivery process of a client that went away" "children: $(children "$DB")"
tap_like "$(cat "$T/db.out")" "the client of delivery process $W went away: stopping it" "e: and logs it"
conf "$DCONF" "$RPORT" may
make_msg e2
dc e2 "$SOCK" -c "$DCONF" "${FROM[@]}" -- carol@example.test
sent "e2 the next delivery"
arrived e2 carol "e2 the next delivery"

# ---------------------------------- f. a delivery process killed mid-way
tap_diag "f. a delivery process killed mid-way (at $SECONDS s)"
conf "$DCONF" "$HANG_PORT" may "data_timeout = 100s" "deadline = 120s"
make_msg f1
"$CLIENT" -S "$SOCK" -c "$DCONF" "${FROM[@]}" -- user@example.test < "$T/f1.eml" \
	> "$T/f1.out" 2> "$T/f1.err" &
CPID=$!
DIR=$HANG_DIR
wait_until 20 eval '[ "$(dots)" = 2 ]'
tap_status $? "f: the delivery waits for the reply to the dot"
W=$(children "$DB")
tap_is "$(printf '%s\n' "$W" | grep -c .)" 1 "f: one delivery process busy"
kill -KILL "$W"
wait_until 15 gone "$CPID"
tap_status $? "f: the client ends"
wait "$CPID"
RC=$?
tap_is "$RC" 75 "f: the client exits 75"
tap_is "$(cat "$T/f1.out")" "4.3.0 tlsrelayd: delivery process ended by signal 9" "f: the result line"
stop_pid "$HANG_PID"
conf "$DCONF" "$RPORT" may
make_msg f2
dc f2 "$SOCK" -c "$DCONF" "${FROM[@]}" -- dave@example.test
sent "f2 the next delivery"

# ------------------------------------------------ g. malformed requests
tap_diag "g. malformed requests (at $SECONDS s)"
W=$(children "$DB")
NFD0=$(ls "/proc/$W/fd" | wc -l)
hostile() {	# hostile CASE: hostile.py's output into $T/g-CASE.out
	timeout -k 5 60 "$PY" "$HOSTILE" "$SOCK" "$1" > "$T/g-$1.out" 2>&1
}
QUICK="garbage garbage-fds wrong-magic no-fds one-fd five-fds twenty-fds argc-0 argc-huge len-0
	len-huge len-over-limit argc-mismatch no-final-nul head-then-eof"
SLOW="short-head-silence head-silence truncated-body-silence nothing-silence"
for c in $QUICK; do hostile "$c"; done
t0=$(date +%s)
pids=()
for c in $SLOW; do hostile "$c" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
t1=$(date +%s)
for c in $QUICK $SLOW; do
	out=$(cat "$T/g-$c.out")
	case $c in
	head-then-eof) ere='^(reply 75( 4\.3\.0 tlsrelayd: request refused.*)?|closed)$' ;;
	*) ere='^reply 75 4\.3\.0 tlsrelayd: request refused \(see the mail log\)$' ;;
	esac
	tap_like "$(head -n 1 <<< "$out")" "$ere" "g $c: refused"
	case $out in
	*fds*) tap_like "$out" '^fds closed$' "g $c: the descriptors it carried are let go" ;;
	esac
done
tap_status "$([ $((t1 - t0)) -le 25 ]; echo $?)" "g: the silent requests end at the request timeout (10 s, +15 s slack)" \
	"$((t1 - t0)) s"
make_msg g1
dc g1 "$SOCK" -c "$DCONF" "${FROM[@]}" -- erin@example.test
sent "g1 a delivery after the malformed requests"
arrived g1 erin "g1 a delivery after the malformed requests"
# fds_bounded: every delivery process holds at most NFD0 descriptors. g1's
# process keeps its SMTP connection idle for connection_cache_time_limit
# (2 s), one descriptor more until then: hence the bounded wait.
fds_bounded() {
	local w n
	nfd_ok=0 diag=""
	for w in $(children "$DB"); do
		n=$(ls "/proc/$w/fd" 2>/dev/null | wc -l)
		diag="$diag $w:$n"
		[ "$n" -le "$NFD0" ] || nfd_ok=1
	done
	return "$nfd_ok"
}
wait_until 10 fds_bounded
tap_status "$nfd_ok" "g: no delivery process holds more descriptors than before ($NFD0)" "$diag"
tap_like "$(cat "$T/db.out")" "refused a request: not exactly three descriptors" "g: the refusals are logged"

# ---------------------------------- i. start-up checks (daemon db running)
tap_diag "i. start-up checks (daemon db running) (at $SECONDS s)"
timeout -k 5 20 "$DAEMON" -c "$DCONF" -s "$R/i1.sock" > "$T/i1.out" 2>&1
tap_is "$?" 78 "i1: as root without -u: exit 78"
tap_like "$(cat "$T/i1.out")" "will not deliver as root" "i1: says why"
tap_status "$([ ! -e "$R/i1.sock" ]; echo $?)" "i1: no socket made"
timeout -k 5 20 "$DAEMON" -u nobody -c "$DCONF" -s "$SOCK" > "$T/i2.out" 2>&1
tap_is "$?" 75 "i2: a second daemon on a live socket: exit 75"
tap_like "$(cat "$T/i2.out")" "another tlsrelayd answers on" "i2: says why"
make_msg i2
dc i2 "$SOCK" -c "$DCONF" "${FROM[@]}" -- user@example.test
sent "i2 the first daemon still serves"
timeout -k 5 20 "$DAEMON" -u nobody -c "$DCONF" -s "$R/i3.sock" -n 0 > "$T/i3.out" 2>&1
tap_is "$?" 78 "i3: -n 0: exit 78"
timeout -k 5 20 "$DAEMON" -u no-such-user-here -c "$DCONF" -s "$R/i3.sock" > "$T/i3b.out" 2>&1
tap_is "$?" 78 "i3: an unknown -u user: exit 78"
tap_status "$([ ! -e "$R/i3.sock" ]; echo $?)" "i3: no socket made"
# a relative -c names the file in the client's working directory: the
# daemon's own file, so its warm context serves it
make_msg i5
(cd "$T" && timeout -k 5 60 "$CLIENT" -S "$SOCK" -c d.conf "${FROM[@]}" -- alice@example.test \
	< "$T/i5.eml" > "$T/i5.out" 2>&1)
RC=$? OUT=$(cat "$T/i5.out") LOG=""
sent "i5 relative -c from the client's directory"
arrived i5 alice
stop_pid "$DB"
tap_status "$([ ! -e "$SOCK" ]; echo $?)" "i: the stopped daemon removed its socket"

start_daemon di "$R/i4.sock" || tap_bail "tlsrelayd not ready: $(cat "$T/di.out")"
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
tap_status "$([ -S "$R/i4.sock" ]; echo $?)" "i4: a killed daemon leaves its socket file"
start_daemon di2 "$R/i4.sock"
tap_status $? "i4: a new daemon replaces the stale socket" "$(cat "$T/di2.out")"
DI=$DPID
make_msg i4
dc i4 "$R/i4.sock" -c "$DCONF" "${FROM[@]}" -- dave@example.test
sent "i4 served by the new daemon"
tap_is "$(nchildren "$DI")" 1 "i4: by a delivery process of the new daemon"
stop_pid "$DI"
start_daemon di3 "$R/i6.sock" -i 1 || tap_bail "tlsrelayd not ready: $(cat "$T/di3.out")"
DI=$DPID
make_msg i6
dc i6 "$R/i6.sock" -c "$DCONF" "${FROM[@]}" -- alice@example.test
sent "i6 -i 1"
W=$(children "$DI")
wait_until 20 gone "$W"
tap_status $? "i6: -i 1: the idle process is retired (within the daemon's 5 s tick)" "children: $(children "$DI")"
stop_pid "$DI"

# ------------------------------- h. SIGTERM with a delivery in progress
tap_diag "h. SIGTERM with a delivery in progress (at $SECONDS s)"
start_daemon dh "$R/h.sock" || tap_bail "tlsrelayd not ready: $(cat "$T/dh.out")"
DH=$DPID
make_msg h1
mkfifo "$T/h.fifo"
"$CLIENT" -S "$R/h.sock" -c "$DCONF" "${FROM[@]}" -- erin@example.test < "$T/h.fifo" \
	> "$T/h1.out" 2> "$T/h1.err" &
CPID=$!
exec 7> "$T/h.fifo"
wait_until 10 eval '[ "$(nchildren "$DH")" = 1 ]'
tap_status $? "h: a delivery process reads the message"
kill -TERM "$DH"
wait_until 5 eval '[ ! -e "$R/h.sock" ]'
tap_status $? "h: SIGTERM: the socket file goes at once"
tap_status "$(kill -0 "$DH" 2>/dev/null; echo $?)" "h: the daemon waits for the running delivery"
make_msg h2
dc h2 "$R/h.sock" -c "$DCONF" "${FROM[@]}" -- dave@example.test
sent "h2 a client meanwhile (falls back to tlsrelay)"
arrived h2 dave "h2 a client meanwhile (falls back to tlsrelay)"
cat "$T/h1.eml" >&7
exec 7>&-
wait_until 30 gone "$CPID"
tap_status $? "h: the running delivery completes"
wait "$CPID"
RC=$? OUT=$(cat "$T/h1.out") LOG=$(cat "$T/h1.err")
sent "h1 the delivery in progress"
arrived h1 erin "h1 the delivery in progress"
wait_until 15 gone "$DH"
tap_status $? "h: then the daemon exits"
wait "$DH"
tap_is "$?" 0 "h: with status 0"

# ---------------------------------------- j. -n 1 and three clients
tap_diag "j. -n 1 and three clients (at $SECONDS s)"
start_daemon dj "$R/j.sock" -n 1 || tap_bail "tlsrelayd not ready: $(cat "$T/dj.out")"
DJ=$DPID
rm -f "$T/h.fifo" && mkfifo "$T/h.fifo"
pids=()
for n in 1 2 3; do make_msg "j$n"; done
"$CLIENT" -S "$R/j.sock" -c "$DCONF" "${FROM[@]}" -- alice@example.test < "$T/h.fifo" > "$T/j1.out" 2>&1 &
pids+=($!)
exec 7> "$T/h.fifo"
wait_until 10 eval '[ "$(nchildren "$DJ")" = 1 ]'
for n in 2 3; do
	timeout -k 5 90 "$CLIENT" -S "$R/j.sock" -c "$DCONF" "${FROM[@]}" -- bob@example.test \
		< "$T/j$n.eml" > "$T/j$n.out" 2>&1 7>&- &
	pids+=($!)
done
# the listening socket's queue (ss: Recv-Q of a LISTEN socket) holds them
queued() { ss -xlH 2>/dev/null | awk -v p="$R/j.sock" '$5 == p { print $3 }'; }
wait_until 10 eval '[ "$(queued)" = 2 ]'
tap_status $? "j: the other two clients wait in the listen queue" "queued: $(queued)"
tap_is "$(nchildren "$DJ")" 1 "j: -n 1: one delivery process while three clients wait"
tap_status "$(kill -0 "${pids[1]}" "${pids[2]}" 2>/dev/null; echo $?)" "j: the two are not answered meanwhile"
cat "$T/j1.eml" >&7
exec 7>&-
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
tap_is "$bad" 0 "j: all three clients exit 0"
arrived j1 alice
arrived j2 bob
arrived j3 bob
# the one slot is the idle process of the old configuration: it is
# retired, and the client waits for the slot instead of being refused
W=$(children "$DJ")
conf "$DCONF" "$RPORT" may "# edited by the j4 case"
make_msg j4
dc j4 "$R/j.sock" -c "$DCONF" "${FROM[@]}" -- carol@example.test
sent "j4 -n 1, configuration changed"
arrived j4 carol
W4=$(children "$DJ")
tap_status "$([ -n "$W4" ] && [ "$W4" != "$W" ]; echo $?)" "j4: served by a new process ($W -> $W4)"
stop_pid "$DJ"

# ------------------------------------------ k. TLS session resumption
tap_diag "k. TLS session resumption (at $SECONDS s)"
# connection_cache = no: each delivery makes its own connection, which
# resumes the TLS session (connection reuse: tests/daemon/test_reuse.sh)
conf "$DCONF" "$RPORT" verify "tls_session_cache = $T/nb/cache" "connection_cache = no"
start_daemon dk "$R/k.sock" || tap_bail "tlsrelayd not ready: $(cat "$T/dk.out")"
DK=$DPID
make_msg k1
dc k1 "$R/k.sock" -v -c "$DCONF" "${FROM[@]}" -- user@example.test
sent "k1 first"
tap_like "$LOG" "Verified TLS connection established to \[127\.0\.0\.1\]:" "k1: full handshake"
make_msg k2
dc k2 "$R/k.sock" -v -c "$DCONF" "${FROM[@]}" -- user@example.test
sent "k2 second"
tap_like "$LOG" "^tlsrelay: Verified TLS connection reused to \[127\.0\.0\.1\]:" "k2: the TLS session is reused"
tap_like "$LOG" "to=<user@example\.test>.*TLS session reused\).*status=sent" "k2: the to= line says so"
stop_pid "$DK"
conf "$DCONF" "$RPORT" may

# --------------------------------------------- p. Postfix pipe(8) host
tap_diag "p. Postfix pipe(8) host (at $SECONDS s)"
mkdir -p "$T/bin" && chmod 0755 "$T/bin"
stage_tlsrelay "$T/bin" >/dev/null || tap_bail "cannot stage tlsrelay"
cp -f "$CLIENT" "$T/bin/tlsrelayc" && chmod 0755 "$T/bin/tlsrelayc" || tap_bail "cannot stage tlsrelayc"
PSOCK=$R/p.sock
host_new host "$HPORT" "$T/bin/tlsrelayc -S $PSOCK" "$DCONF" || tap_bail "host_new failed"
HOST=$PF_DIR
start_daemon dp "$PSOCK" || tap_bail "tlsrelayd not ready: $(cat "$T/dp.out")"
DP=$DPID
pf_start "$HOST" || tap_bail "host Postfix did not start"
wait_port 127.0.0.1 "$HPORT" 15 || tap_bail "host not listening"

# pdeliver NAME TO: swaks -> host; sets line (the host's verdict) and QID
pdeliver() {
	make_msg "$1"
	truncate -s -1 "$T/$1.eml"	# swaks ends the data with CR LF itself
	swaks_send "$HPORT" sender@sender.test "$2" "$T/$1.eml"
	tap_status $? "$1: swaks hands the message to the host" "$(printf '%s' "$SWAKS_OUT" | tail -n 10)"
	QID=${SENT_QID:-no-queue-id}
	line=$(pf_log_wait "$HOST" "$QID: to=<$2>, relay=tlsrelay.*status=(sent|deferred|bounced)" 60)
}
pdeliver p1 user@example.test
tap_like "$line" "status=sent" "p1: host log: relay=tlsrelay status=sent"
arrived p1 user
tap_is "$(nchildren "$DP")" 1 "p1: delivered by a process of the daemon"
pdeliver p2 reject@example.test
tap_like "$line" "dsn=5\.1\.1, status=bounced \(.*no such user" "p2: 550 5.1.1: bounced with the receiver's DSN and text"
pdeliver p3 tempfail@example.test
tap_like "$line" "dsn=4\.2\.0, status=deferred \(.*try again later" "p3: 450 4.2.0: deferred with the receiver's DSN"
pf_queue_ids "$HOST" > "$T/p3.queue"
tap_status "$(grep -qx "$QID" "$T/p3.queue"; echo $?)" "p3: the message stays in the host queue"
pf_delete "$HOST" "$QID"
tap_is "$(nchildren "$DP")" 1 "p: one delivery process served all three"
stop_pid "$DP"
pdeliver p4 alice@example.test
tap_like "$line" "status=sent" "p4: daemon stopped: tlsrelayc falls back to tlsrelay, status=sent"
arrived p4 alice

tap_done
