#!/bin/bash
# tests/daemon/test_reuse.sh - connection reuse in tlsrelayd (issue 16,
# lib/conn_cache.h): a delivery process keeps its SMTP connection (TLS
# included) for the next message with an identical key, against
# tests/peer/peer.py (what the server saw: tests/daemon/conn_facts.py) and a
# real Postfix receiver.
#
# Every case has its own peer and its own daemon (root, -u nobody, -v: its
# log in $T/NAME-d.out) for a configuration relaying to that peer; clients
# are tlsrelayc -v (the delivery's log on their standard error). Messages
# carry a Message-ID, so "delivered exactly once" is counted at the server.
# Cases:
#   a. reuse: 5 messages, one TLS connection (one STARTTLS, one EHLO pair),
#      each reused transaction in one flight (MAIL, RCPT, BDAT LAST with the
#      message), the to= lines conn_use=2..5 and "connection reused", every
#      message intact; without CHUNKING (DATA): MAIL, RCPT, DATA in one
#      flight, the body after 354
#   b. Postfix receiver: 4 messages on one connection (its disconnect line:
#      mail=4), one TLS handshake, every message delivered intact
#   c. a stricter demand (X-TLSRelay-Require: encrypt over level may) opens
#      its own connection; the next one with that demand reuses it; one
#      without it does not ride it
#   d. the server closes the idle connection (peer idle timeout): the next
#      message goes on a new connection, exit 0, no failure logged
#   e. 421 to MAIL, end of file at MAIL, 421 to RSET on the reused
#      connection: the message goes on a new connection, exit 0, delivered
#      once; RSET (after a refused recipient) is pipelined with MAIL
#   f. a break after MAIL was accepted (RCPT dropped, 451 to BDAT): the
#      same exit status and output line as tlsrelay on a new connection
#   g. AUTH once per connection (3 messages, one AUTH; every to= line names
#      the SASL user, h-admin's sasl_username=, the reused ones too)
#   h. limits: connection_reuse_count_limit 3 (7 messages, 3 connections,
#      QUIT after the third use), connection_cache_time_limit 1s (QUIT from
#      the idle process by itself), connection_reuse_time_limit 5s (a new
#      connection after it), connection_cache = no (none kept); -n 2 with 4
#      clients at once: never more idle connections than processes
#   i. plaintext (level may, no STARTTLS offered): reused, tls=none
#      (connection reused)
#   j. the standalone tlsrelay: a connection per message, QUIT, no conn_use
#   k. the daemon killed (SIGKILL) while a delivery reads its message (into
#      a memfd: the memory spool): the delivery process finishes and answers
#      the client itself (exit 0, the message arrives once); then it ends,
#      with QUIT on its connection
#   l. the TLS history, the shadow policy and the metrics over reuse (issue
#      16 item 3): 4 messages, the third finds the kept connection closed
#      at MAIL: 4 attempts (conn_use 1, 2, 1, 2), the stale connection is
#      no attempt, each reused attempt has the connection's posture and
#      certificate and the shadow's real verdict (the candidate's name
#      check on the kept connection's certificate), 2 counted as reuses
#      (daily rows, tlsrelay_connection_reuses_total), explain says so
#   m. an unsolicited 421 in its own TLS record right behind the last
#      reply, in the same TCP segment (peer.py action reply_more): with
#      TLS read-ahead it sits in OpenSSL's buffer, where poll() does not
#      see it; the idle process still reads it at once and closes the
#      connection, and the next message goes on a new one (no MAIL after
#      the 421 on the first)
#   n. a 421 record split across TCP segments (peer.py reply_split: its
#      first 3 bytes in the segment of the last reply, the rest 1 s later):
#      the idle process neither spins (its read and poll calls counted by
#      strace -c while the record is incomplete) nor drops the connection
#      before the rest arrives; then it closes it, and the next message
#      goes on a new connection without a failed attempt
#   o. half a record (20 bytes: its header and some) and never the rest:
#      the connection is closed at connection_cache_time_limit (QUIT),
#      nothing spins meanwhile, the next message goes on a new connection
#   p. the same half record met by the next message (the kept connection
#      is taken while it is incomplete; its rest comes when the client
#      sends or closes, or never): the message is not sent on it (no MAIL
#      after the first), goes on a new connection, arrives once
# Every wait is bounded; no timing is asserted (n and o count system
# calls, not time). Routing between processes
# by nexthop: tests/daemon/test_reuse_routing.sh; faults under load:
# test_reuse_faults.sh; descriptors and memory: test_reuse_soak.sh.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

require_root
require_cmd postfix postconf timeout ps sha256sum
peer_init
peer_require_tlsrelay
make_tmpdir
T=$TEST_TMP

DAEMON=${TLSRELAYD_BIN:-$top_builddir/plugin/daemon/tlsrelayd}
CLIENT=${TLSRELAYC_BIN:-$top_builddir/plugin/transport/tlsrelayc}
FACTS=$top_srcdir/tests/daemon/conn_facts.py
for p in "$DAEMON" "$CLIENT"; do
	[ -x "$p" ] || tap_bail "$p not built"
done
mkdir -p "$T/spool" "$T/scen" "$T/run" && chmod 1777 "$T/spool" && chown nobody "$T/run" ||
	tap_bail "mkdir failed"
R=$T/run
CAPS='["PIPELINING", "SIZE 10240000", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME", "CHUNKING"]'

# ------------------------------------------------------------- helpers
# conf FILE PORT LEVEL [LINE...]: a tlsrelay.conf (readable by nobody)
conf() {
	local f=$1 port=$2 level=$3 line; shift 3
	{
		printf 'relayhost = [127.0.0.1]:%s\ntls_security_level = %s\n' "$port" "$level"
		printf 'tls_ca_file = %s\nhelo_name = client.tlsrelay.test\n' "$CERTS/ca.pem"
		printf 'syslog = no\nconnect_timeout = 10s\ncommand_timeout = 20s\ndeadline = 60s\n'
		printf 'spool_directory = %s\n' "$T/spool"
		for line in "$@"; do printf '%s\n' "$line"; done
	} > "$f.new" && chmod 0644 "$f.new" && mv -f "$f.new" "$f"
}

# start_scen NAME JSON: a peer with that scenario; sets PEER_PID, PEER_PORT, DIR
start_scen() {
	printf '%s\n' "$2" > "$T/scen/$1.json"
	DIR=$T/peer-$1
	SCEN=$T/scen start_peer "$1" "$DIR" || tap_bail "peer $1 did not start"
}

# daemon NAME LEVEL [CONF-LINE...] [-- DAEMON-OPTION...]: a tlsrelayd for a
# configuration relaying to the current peer; sets CONF, SOCK, DPID
daemon() {
	local name=$1 level=$2 lines=() opts=(); shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do lines+=("$1"); shift; done
	[ "${1:-}" = -- ] && shift && opts=("$@")
	CONF=$T/$name.conf SOCK=$R/$name.sock
	conf "$CONF" "$PEER_PORT" "$level" "${lines[@]}"
	start_bg "$name-d" "$DAEMON" -v -u nobody -c "$CONF" -s "$SOCK" "${opts[@]}"
	DPID=$BG_PID
	wait_until 15 grep -q "ready on $SOCK" "$T/$name-d.out" ||
		tap_bail "tlsrelayd $name not ready: $(cat "$T/$name-d.out")"
}

# make_msg NAME [HEADER]: $T/NAME.eml with a Message-ID ($T/NAME.id) and
# its canonical form $T/NAME.canon (CR LF lines, as the server gets it)
make_msg() {
	local id="<reuse-$1.$$.$RANDOM@sender.test>"
	printf '%s\n' "$id" > "$T/$1.id"
	{
		printf 'From: <sender@sender.test>\nSubject: reuse %s\nMessage-ID: %s\n' "$1" "$id"
		[ -n "${2:-}" ] && printf '%s\n' "$2"
		printf '\nBody of %s.\n.a line with a dot\n..two\n.\n%s\nLast.\n' "$1" \
			"$(printf '%0300d' 0 | tr 0 y)"
	} > "$T/$1.eml"
	# X-TLSRelay-Require is removed before sending (lib/msgreq.c)
	grep -v '^X-TLSRelay-Require:' "$T/$1.eml" | sed 's/$/\r/' > "$T/$1.canon"
}

# send NAME [HEADER] [-- TLSRELAY-ARGS]: make_msg, then tlsrelayc -v to
# $SOCK (recipient user@example.test); sets RC, OUT, LOG
send() {
	local name=$1 hdr=${2:-} args=(-f sender@sender.test -- user@example.test)
	[ "${3:-}" = -- ] && shift 3 && args=("$@")
	make_msg "$name" "$hdr"
	timeout -k 5 90 "$CLIENT" -S "$SOCK" -v -c "$CONF" "${args[@]}" < "$T/$name.eml" \
		> "$T/$name.out" 2> "$T/$name.err"
	RC=$? OUT=$(cat "$T/$name.out") LOG=$(cat "$T/$name.err")
}
sent() {	# sent NAME: exit 0, no output
	tap_status "$([ "$RC" = 0 ] && [ -z "$OUT" ]; echo $?)" "$1: exit 0, no result line" \
		"exit $RC; stdout: $OUT; stderr: $(printf '%s' "$LOG" | tail -n 12)"
}
# facts: what the peer saw so far ($DIR/facts); fk KEY: one of them
facts() { "$PY" "$FACTS" "$DIR/transcript.jsonl" > "$DIR/facts" 2>&1; }
fk() { sed -n "s/^$1=//p" "$DIR/facts" | head -n 1; }
# is KEY WANT NAME: a fact, with the facts as the diagnostic
is() {
	local got
	got=$(fk "$1")
	tap_status "$([ "$got" = "$2" ]; echo $?)" "$3" "$1=$got, want $2; facts: $(tr '\n' ' ' < "$DIR/facts")"
}
# once NAME...: each message accepted exactly once by the peer, byte for
# byte (2 checks a message)
once() {
	local n f id ok
	for n in "$@"; do
		id=$(cat "$T/$n.id")
		tap_is "$(fk msgs | tr ',' '\n' | grep -cxF "$id")" 1 "$n: accepted exactly once by the server"
		ok=1
		for f in "$DIR"/data-*.eml; do
			grep -qF "Message-ID: $id" "$f" 2>/dev/null && cmp -s "$f" "$T/$n.canon" && ok=0
		done
		tap_status "$ok" "$n: the server got it byte for byte"
	done
}
children() {	# children PID: its live children's PIDs, one a line
	ps -o pid=,stat= --ppid "$1" 2>/dev/null | awk '$2 !~ /^Z/ { print $1 }' | sort -n
}
gone() {	# gone PID: ended (a zombie counts: an orphan's reaper is not ours)
	! kill -0 "$1" 2>/dev/null || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}
end_case() { stop_pid "$DPID"; stop_pid "$PEER_PID"; facts; }
# norm TEXT: the peer's port made PORT (two peers, the same outcome)
norm() { sed -E 's/\[127\.0\.0\.1\]:[0-9]+/[127.0.0.1]:PORT/g; s/PEER[0-9]+/PEERn/g' <<< "$1"; }

# Each section declares its checks first (tap_expect); sent and is make
# one check, once two a message; e_case and f_case declare their own.

# --------------------------------------------------------------- a. reuse
tap_diag "a. reuse (at $SECONDS s)"
# a1..a5 3 each, one process; conns, EHLO, mails, txn2..5, QUIT; once 5
tap_expect $((5 * 3 + 1 + 3 + 4 + 1 + 2 * 5))
start_scen a "{\"ehlo_caps\": $CAPS}"
daemon a encrypt
for n in 1 2 3 4 5; do
	send "a$n"
	sent "a$n"
	if [ "$n" = 1 ]; then
		tap_unlike "$LOG" "to=<.*conn_use=|connection reused" "a1: a new connection (no conn_use, no \"connection reused\")"
		tap_like "$LOG" "TLS connection established to \[127\.0\.0\.1\]" "a1: one TLS handshake"
	else
		tap_like "$LOG" "to=<user@example\.test>, relay=\[127\.0\.0\.1\]:$PEER_PORT, conn_use=$n, .*tls=TLSv1\.3:[^ ]* \((untrusted|verified), connection reused\).*status=sent" \
			"a$n: the to= line says conn_use=$n and connection reused"
		tap_unlike "$LOG" "TLS connection (established|reused) to" "a$n: no TLS handshake"
	fi
done
W=$(children "$DPID")
tap_is "$(printf '%s\n' "$W" | grep -c .)" 1 "a: one delivery process served the five"
end_case
is conns 1 "a: one connection for 5 messages"
is c1.ehlo 2 "a: EHLO before and after STARTTLS, once"
is c1.mails 5 "a: 5 transactions on it"
for n in 2 3 4 5; do is "c1.txn$n" 1 "a: transaction $n (reused) in one flight: MAIL, RCPT, BDAT LAST and the message"; done
is c1.quit 1 "a: QUIT at the end (daemon stopped)"
once a1 a2 a3 a4 a5

tap_expect $((2 + 2 + 2 * 2))	# sent 2, is 2, once 2
start_scen a6 '{"ehlo_caps": ["PIPELINING", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME"]}'
daemon a6 encrypt
send a6a && sent a6a
send a6b && sent a6b
end_case
is conns 1 "a (DATA): one connection for 2 messages"
is c1.txn2 2 "a (DATA): the reused transaction: MAIL, RCPT, DATA in one flight, the body after 354"
once a6a a6b

# ------------------------------------------------------ b. Postfix receiver
tap_diag "b. Postfix receiver (at $SECONDS s)"
tap_expect $((4 + 1 + 4 * 2 + 3))	# sent 4, conn_use=4, arrived + body 4, the receiver's log 3
RPORT=$(free_port) || tap_bail "no free port"
receiver_new recv "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening"
PEER_PORT=$RPORT daemon b verify
for n in 1 2 3 4; do
	send "b$n"
	sent "b$n"
done
tap_like "$LOG" "conn_use=4, .*tls=TLSv1\.3:[^ ]* \(verified, connection reused\).*status=sent" \
	"b4: conn_use=4, verified, connection reused"
for n in 1 2 3 4; do
	mail=$(receiver_wait_mail "$RECV" user "$(cat "$T/b$n.id")" 30)
	tap_status $? "b$n: arrives at the receiver" "$(tail -n 5 "$(pf_log "$RECV")")" || continue
	mail_body "$mail" | cmp -s - <(sed -n '/^$/,$p' "$T/b$n.eml" | tail -n +2)
	tap_status $? "b$n: body byte for byte"
done
stop_pid "$DPID"
line=$(pf_log_wait "$RECV" "disconnect from .*mail=4 rcpt=4 bdat=4 quit=1" 15)
tap_status $? "b: the receiver saw one connection with 4 transactions ($line)" \
	"$(grep -E 'connect from|disconnect' "$(pf_log "$RECV")")"
tap_is "$(grep -c 'smtpd\[[0-9]*\]: connect from' "$(pf_log "$RECV")")" 1 "b: the receiver was connected to once"
tap_is "$(grep -c 'TLS connection established from' "$(pf_log "$RECV")")" 1 "b: one TLS handshake at the receiver"
pf_stop "$RECV"

# -------------------------------------------------- c. a stricter demand
tap_diag "c. a stricter demand (at $SECONDS s)"
tap_expect $((4 + 3 + 2 + 2 * 4))	# sent 4, the log 3, is 2, once 4
start_scen c "{\"ehlo_caps\": $CAPS}"
daemon c may
REQ='X-TLSRelay-Require: encrypt'
send c1 && sent c1
send c2 "$REQ" && sent "c2 (X-TLSRelay-Require: encrypt)"
tap_unlike "$LOG" "to=<.*conn_use=|connection reused" "c2: a stricter demand does not ride the may connection"
send c3 "$REQ" && sent "c3 (the same requirement)"
tap_like "$LOG" "conn_use=2, .*connection reused" "c3: the same demand reuses the encrypt connection"
send c4 && sent "c4 (level may again)"
tap_unlike "$LOG" "to=<.*conn_use=|connection reused" "c4: a may message does not ride the encrypt connection"
end_case
is conns 3 "c: three connections (may, encrypt, may)"
is c2.mails 2 "c: the encrypt connection carried c2 and c3"
once c1 c2 c3 c4

# ------------------------------------------ d. the server closes when idle
tap_diag "d. the server closes the idle connection (at $SECONDS s)"
tap_expect $((2 + 1 + 1 + 1 + 2 * 2))	# sent 2, closed, the log, is, once 2
start_scen d "{\"ehlo_caps\": $CAPS, \"idle_timeout\": 1}"
daemon d encrypt "connection_cache_time_limit = 30s"
send d1 && sent d1
wait_until 10 eval 'facts; [ "$(fk c1.close)" = "idle timeout" ]'
tap_status $? "d: the server closed the idle connection" "$(cat "$DIR/facts")"
send d2 && sent "d2 after the server closed it"
tap_unlike "$LOG" "to=<.*conn_use=|deferred" "d2: a new connection, nothing deferred"
end_case
is conns 2 "d: two connections"
once d1 d2

# -------------------------------------------- e. closed before MAIL accepted
tap_diag "e. 421 or end of file before MAIL was accepted (at $SECONDS s)"
# e_case NAME CONN1-OVERRIDES TITLE: m1 fine, m2 hits the override on the
# reused connection 1, goes on connection 2 and is delivered once
e_case() {
	tap_expect $((2 + 2 + 2 + 2 * 2))	# sent 2, the log 2, is 2, once 2
	start_scen "$1" "{\"ehlo_caps\": $CAPS, \"connections\": {\"1\": $2}}"
	daemon "$1" encrypt
	send "${1}1" && sent "${1}1"
	send "${1}2" && sent "${1}2 ($3 on the reused connection)"
	tap_like "$LOG" "the message goes on a new connection \(cached connection, conn_use=2\)" \
		"${1}2: logged: the message goes on a new connection"
	tap_unlike "$LOG" "status=deferred" "${1}2: nothing deferred"
	end_case
	is conns 2 "$1: the message went on a second connection"
	is c2.mails 1 "$1: once on the second connection"
	once "${1}1" "${1}2"
}
e_case e421 '{"replies": {"MAIL#2": "421 4.4.2 peer.test closing"}, "actions": {"MAIL#2": "reply_drop"}}' "421 to MAIL"
e_case eeof '{"actions": {"MAIL#2": "drop"}}' "end of file at MAIL"
e_case ereset '{"actions": {"MAIL#2": "reset"}}' "a reset at MAIL"
# RSET: after a refused recipient the connection needs one, pipelined
# (r: exit 67, sent, the log, is 3, once 1; rset421: sent, is, once 1)
tap_expect $((3 + 3 + 2 + 1 + 1 + 2))
start_scen rset "{\"ehlo_caps\": $CAPS, \"rcpt_replies\": {\"reject@\": \"550 5.1.1 no such user\"}}"
daemon rset encrypt
send r1 "" -- -f sender@sender.test -- reject@example.test
tap_is "$RC" 67 "r1: a refused recipient: exit 67"
send r2 && sent "r2 after it"
tap_like "$LOG" "conn_use=2" "r2: on the same connection"
end_case
is c1.rset 1 "r: RSET before the next MAIL"
is c1.rset_with_mail 1 "r: RSET pipelined with MAIL (one flight)"
is c1.txn2 1 "r: RSET, MAIL, RCPT, BDAT LAST in one flight"
once r2
start_scen rset421 "{\"ehlo_caps\": $CAPS, \"rcpt_replies\": {\"reject@\": \"550 5.1.1 no such user\"},
	\"connections\": {\"1\": {\"replies\": {\"RSET\": \"421 4.4.2 closing\"}, \"actions\": {\"RSET\": \"reply_drop\"}}}}"
daemon rset421 encrypt
send s1 "" -- -f sender@sender.test -- reject@example.test
send s2 && sent "s2 (421 to RSET on the reused connection)"
end_case
is conns 2 "rset421: the message went on a second connection"
once s2

# ------------------------------------------- f. broken after MAIL accepted
tap_diag "f. a break after MAIL was accepted (at $SECONDS s)"
# f_case NAME ACTIONS-KEY ACTION [REPLY]: the break on the reused connection
# (verb#2 of connection 1) gives what tlsrelay gives with it on a new one
f_case() {
	local name=$1 key=$2 act=$3 rep=${4:-} r1 r2 o1 o2
	local over="\"actions\": {\"$key#2\": \"$act\"}"
	tap_expect 4	# sent, is, the same outcome, temporary
	[ -n "$rep" ] && over="$over, \"replies\": {\"$key#2\": \"$rep\"}"
	start_scen "$name" "{\"ehlo_caps\": $CAPS, \"connections\": {\"1\": {$over}}}"
	daemon "$name" encrypt
	send "${name}1" && sent "${name}1"
	send "${name}2"
	r1=$RC o1=$(norm "$OUT")
	end_case
	is conns 1 "$name: no second connection"
	# the same break on the first transaction of a new connection, tlsrelay
	over="\"actions\": {\"$key#1\": \"$act\"}"
	[ -n "$rep" ] && over="$over, \"replies\": {\"$key#1\": \"$rep\"}"
	start_scen "$name-alone" "{\"ehlo_caps\": $CAPS, \"connections\": {\"1\": {$over}}}"
	conf "$T/$name-alone.conf" "$PEER_PORT" encrypt
	timeout -k 5 60 "$TLSRELAY" -c "$T/$name-alone.conf" -f sender@sender.test -- user@example.test \
		< "$T/${name}2.eml" > "$T/$name-alone.out" 2>&1
	r2=$? o2=$(norm "$(cat "$T/$name-alone.out")")
	stop_pid "$PEER_PID"
	tap_status "$([ "$r1" = "$r2" ] && [ "$o1" = "$o2" ]; echo $?)" \
		"$name: the same outcome as a new connection (exit $r2: $o2)" "reused: exit $r1: $o1"
	tap_like "$o1" "^4\." "$name: temporary"
}
f_case frcpt RCPT drop
f_case fbdat BDAT reply "451 4.3.0 try again"
f_case fbdatdrop BDAT reply_drop "451 4.3.0 going away"

# -------------------------------------------------------------- g. AUTH
tap_diag "g. AUTH once per connection (at $SECONDS s)"
start_scen g "{\"ehlo_caps\": $CAPS, \"auth\": {\"user\": \"reuse-user\", \"password\": \"reuse-pass\"},
	\"ehlo_caps_tls\": [\"PIPELINING\", \"AUTH PLAIN LOGIN\", \"ENHANCEDSTATUSCODES\", \"8BITMIME\", \"CHUNKING\"]}"
printf '[127.0.0.1]:%s reuse-user:reuse-pass\n' "$PEER_PORT" > "$T/g.sasl"
chown nobody "$T/g.sasl" && chmod 0600 "$T/g.sasl"
daemon g may "sasl_password_map = $T/g.sasl"
tap_expect $((3 * 2 + 3 + 2 * 3))	# g1..g3 sent + the to= line, is 3, once 3
for n in 1 2 3; do
	send "g$n" && sent "g$n"
	# the user AUTH succeeded as, on the kept connection too (h-admin's field)
	tap_like "$LOG" "to=<user@example\.test>, relay=[^ ]*$([ "$n" -gt 1 ] && printf ' conn_use=%s,' "$n").* sasl_username=reuse-user, .*status=sent" \
		"g$n: the to= line names sasl_username=reuse-user$([ "$n" -gt 1 ] && printf ' (conn_use=%s)' "$n")"
done
end_case
is conns 1 "g: one connection"
is c1.auth 1 "g: AUTH once for 3 messages"
is c1.mails 3 "g: 3 transactions"
once g1 g2 g3

# ------------------------------------------------------------ h. limits
tap_diag "h. limits (at $SECONDS s)"
# count: sent 7, is 4, once 2; idle: sent 2, QUIT, is; age: sent 3, the
# log 2, is 2; off: sent 2, is 2; procs: exits, open, once 4
tap_expect $((7 + 4 + 2 * 2 + 2 + 1 + 1 + 3 + 2 + 2 + 2 + 2 + 1 + 1 + 2 * 4))
start_scen hcount "{\"ehlo_caps\": $CAPS}"
daemon hcount encrypt "connection_reuse_count_limit = 3"
for n in 1 2 3 4 5 6 7; do send "hc$n" && sent "hc$n"; done
end_case
is conns 3 "h count: 7 messages, 3 per connection: 3 connections"
is c1.mails 3 "h count: 3 on the first"
is c1.quit 1 "h count: QUIT after its third"
is c2.mails 3 "h count: 3 on the second"
once hc1 hc7

start_scen hidle "{\"ehlo_caps\": $CAPS}"
daemon hidle encrypt "connection_cache_time_limit = 1s"
send hi1 && sent hi1
wait_until 10 eval 'facts; [ "$(fk c1.quit)" = 1 ]'
tap_status $? "h idle: the process closes (QUIT) the connection idle for 1 s by itself" "$(cat "$DIR/facts")"
send hi2 && sent hi2
end_case
is conns 2 "h idle: the next message on a new connection"

start_scen hage "{\"ehlo_caps\": $CAPS}"
# (a generous limit: ha2 must come within it even on a loaded machine)
daemon hage encrypt "connection_reuse_time_limit = 5s" "connection_cache_time_limit = 60s"
send ha1 && sent ha1
send ha2 && sent ha2
tap_like "$LOG" "conn_use=2" "h age: reused within its time limit"
sleep 6
send ha3 && sent "ha3 (after the connection's 5 s)"
tap_unlike "$LOG" "to=<.*conn_use=" "h age: not given a transaction after its time limit"
end_case
is conns 2 "h age: a second connection"
is c1.quit 1 "h age: QUIT on the first"

start_scen hoff "{\"ehlo_caps\": $CAPS}"
daemon hoff encrypt "connection_cache = no"
send ho1 && sent ho1
send ho2 && sent ho2
end_case
is conns 2 "h connection_cache = no: a connection per message"
is c1.quit 1 "h connection_cache = no: QUIT after the message"

# -n 2 and four clients at once: at most one idle connection per process
start_scen hprocs "{\"ehlo_caps\": $CAPS}"
daemon hprocs encrypt "connection_cache_time_limit = 60s" -- -n 2
pids=()
for n in 1 2 3 4; do
	make_msg "hp$n"
	timeout -k 5 90 "$CLIENT" -S "$SOCK" -c "$CONF" -f sender@sender.test -- user@example.test \
		< "$T/hp$n.eml" > "$T/hp$n.out" 2>&1 &
	pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
tap_is "$bad" 0 "h procs: four clients at once with -n 2: all exit 0"
facts
nproc=$(children "$DPID" | grep -c .)
tap_status "$([ "$(fk open)" -le "$nproc" ] && [ "$nproc" -le 2 ]; echo $?)" \
	"h procs: open connections ($(fk open)) <= delivery processes ($nproc) <= 2"
end_case
once hp1 hp2 hp3 hp4

# --------------------------------------------------------- i. plaintext
tap_diag "i. plaintext (at $SECONDS s)"
tap_expect $((2 + 1 + 1 + 2 * 2))	# sent 2, the log, is, once 2
start_scen i '{"ehlo_caps": ["PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "CHUNKING"]}'
daemon i may
send i1 && sent i1
send i2 && sent i2
tap_like "$LOG" "conn_use=2, .*tls=none \(connection reused\), .*status=sent" "i2: tls=none (connection reused)"
end_case
is conns 1 "i: one plaintext connection"
once i1 i2

# ------------------------------------------------ j. standalone tlsrelay
tap_diag "j. the standalone tlsrelay (at $SECONDS s)"
tap_expect $((2 * 2 + 3))	# j1, j2: sent + the log; is 3
start_scen j "{\"ehlo_caps\": $CAPS}"
conf "$T/j.conf" "$PEER_PORT" encrypt
for n in 1 2; do
	make_msg "j$n"
	timeout -k 5 60 "$TLSRELAY" -v -c "$T/j.conf" -f sender@sender.test -- user@example.test \
		< "$T/j$n.eml" > "$T/j$n.out" 2> "$T/j$n.err"
	RC=$? OUT=$(cat "$T/j$n.out") LOG=$(cat "$T/j$n.err")
	sent "j$n (tlsrelay)"
	tap_unlike "$LOG" "to=<.*conn_use=|connection reused|connection kept" "j$n: no reuse in the program"
done
stop_pid "$PEER_PID"
facts
is conns 2 "j: a connection per message"
is c1.quit 1 "j: QUIT after the first"
is c2.quit 1 "j: QUIT after the second"

# -------------------------------------------------- k. the daemon killed
tap_diag "k. the daemon killed during a delivery (at $SECONDS s)"
tap_expect $((1 + 2 + 1 + 1 + 1 + 1 + 2 + 2 * 2))	# sent k1, read + memfd, waits, ends, sent k2, orphan, is 2, once 2
start_scen k "{\"ehlo_caps\": $CAPS}"
daemon k encrypt "connection_cache_time_limit = 60s"
send k1 && sent k1
make_msg k2
mkfifo "$T/k.fifo"
"$CLIENT" -S "$SOCK" -c "$CONF" -f sender@sender.test -- user@example.test < "$T/k.fifo" \
	> "$T/k2.out" 2>&1 &
CPID=$!
exec 7> "$T/k.fifo"
W=$(children "$DPID")
wait_until 10 eval '[ -n "$(ls -l /proc/$W/fd 2>/dev/null | grep -F "$T/k.fifo")" ]'
tap_status $? "k: the delivery process reads the message"
tap_like "$(ls -l "/proc/$W/fd" 2>/dev/null)" "memfd:tlsrelay-spool" \
	"k: it spools the message in memory (memfd), not in a file"
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
tap_status "$(kill -0 "$CPID" 2>/dev/null; echo $?)" "k: the daemon killed, the client still waits"
cat "$T/k2.eml" >&7
exec 7>&-
wait_until 30 gone "$CPID"
tap_status $? "k: the client ends"
wait "$CPID"
RC=$? OUT=$(cat "$T/k2.out") LOG=""
sent "k2 (daemon killed meanwhile): the delivery process answered"
wait_until 15 gone "$W"
tap_status $? "k: the orphaned delivery process ends after its delivery"
stop_pid "$PEER_PID"
facts
is c1.mails 2 "k: k2 on the reused connection"
is c1.quit 1 "k: the orphan said QUIT"
once k1 k2

# ----------------------------- l. the TLS history and the shadow over reuse
tap_diag "l. TLS history, shadow policy, metrics over reuse (at $SECONDS s)"
tap_expect $((4 * 2 + 1 + 2 + 2 + 2 * 4 + 5))	# l1..l4 sent + shadow, l3, metrics 2, explain 2, once 4, history 5
REPORT=$top_builddir/plugin/report/tlsrelay-report
start_scen l "{\"ehlo_caps\": $CAPS, \"connections\": {\"1\": {\"actions\": {\"MAIL#3\": \"drop\"}}}}"
mkdir -p "$T/l-hist" && chown nobody "$T/l-hist" || tap_bail "mkdir failed"
printf '[127.0.0.1]:%s secure match=nomatch.example.test\n' "$PEER_PORT" > "$T/l.candidate"
chmod 0644 "$T/l.candidate"
daemon l encrypt "tls_history = $T/l-hist/history.db" "tls_shadow_policy_map = $T/l.candidate"
for n in 1 2 3 4; do
	send "l$n" && sent "l$n"
	tap_like "$LOG" "shadow policy: would defer: certificate name mismatch \(\[127\.0\.0\.1\]:$PEER_PORT;" \
		"l$n: the shadow judges the session's certificate (a name mismatch under the candidate)"
done
tap_like "$(cat "$T/l3.err")" "the message goes on a new connection \(cached connection, conn_use=3\)" \
	"l3: the kept connection was found closed at MAIL"
lsql() { "$PY" -c 'import sqlite3, sys
print("|".join(str(v) for v in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()))' \
	"$T/l-hist/history.db" "$1" 2>&1; }
# the process writes a delivery's record after its result (lib/history.h DEFERRED)
wait_until 10 eval '[ "$(lsql "SELECT count(*) FROM attempt")" = 4 ]'
OUT=$("$REPORT" -c "$CONF" metrics 2>&1)
tap_like "$OUT" '^tlsrelay_connection_reuses_total 2$' "l: metrics: 2 attempts counted as reuses"
tap_like "$OUT" '^tlsrelay_shadow_verdicts_total\{verdict="would-defer"\} 4$' \
	"l: metrics: 4 shadow verdicts, none for the stale connection"
OUT=$("$REPORT" -c "$CONF" explain "[127.0.0.1]:$PEER_PORT" 2>&1)
tap_like "$OUT" "; 2 attempts on a kept connection$" "l: explain: the history counts the reuses"
tap_like "$OUT" " TLSv1\.[23] \(connection reused, conn_use=2\) delivered 2\.0\.0; " \
	"l: explain: a recent attempt on the kept connection says so"
end_case
once l1 l2 l3 l4
tap_is "$(lsql "SELECT group_concat(conn_use) FROM (SELECT conn_use FROM attempt ORDER BY id)")" "1,2,1,2" \
	"l: 4 attempts: a new connection, a reuse, (the stale one is none), a new one, a reuse"
tap_is "$(lsql "SELECT count(*), count(DISTINCT posture), count(DISTINCT outcome), min(offered) FROM attempt")" \
	"4|1|1|1" "l: every attempt the same posture, delivered, STARTTLS offered (the kept connection's)"
tap_is "$(lsql "SELECT count(*) FROM attempt WHERE cert_not_after > 0 AND spki <> ''")" 4 \
	"l: the reused attempts have the connection's certificate too"
tap_is "$(lsql "SELECT group_concat(shadow) FROM attempt")" \
	"certificate-name-mismatch,certificate-name-mismatch,certificate-name-mismatch,certificate-name-mismatch" \
	"l: the shadow's verdict on each attempt, reused or not"
tap_is "$(lsql "SELECT sum(attempts), sum(messages), sum(reused) FROM daily")" "4|4|2" \
	"l: the daily rows: 4 attempts, 4 messages, 2 reused"

# ------------------------------ m. a 421 behind the last reply (read-ahead)
tap_diag "m. an unsolicited 421 right behind the last reply (at $SECONDS s)"
tap_expect $((2 + 1 + 1 + 2 + 2 * 2))	# sent 2, the daemon's log, m2's log, is 2, once 2
start_scen m "{\"ehlo_caps\": $CAPS, \"connections\": {\"1\": {\"actions\": {\"BDAT#1\": \"reply_more\"}}}}"
daemon m encrypt "connection_cache_time_limit = 30s"
send m1 && sent m1
wait_until 10 eval 'facts; [ -n "$(fk c1.close)" ]'
tap_status $? "m: the idle process read the 421 behind the reply and closed the connection at once" \
	"$(cat "$DIR/facts")"
send m2 && sent "m2 after it"
tap_unlike "$LOG" "to=<.*conn_use=|deferred|421" "m2: a new connection, no 421 met, nothing deferred"
end_case
is c1.mails 1 "m: no MAIL on the first connection after its 421"
is conns 2 "m: two connections"
once m1 m2

# ---------------------------- n, o, p. a TLS record split across segments
# trace_idle NAME PID: strace counts PID's read and poll calls (-c) until
# trace_calls; returns once strace is attached (TracerPid)
# (without strace: TPID empty, the spin checks are skipped, visibly)
trace_idle() {
	TPID=
	command -v strace > /dev/null || return 0
	start_bg "$1-strace" strace -c -qq -e trace=read,poll,ppoll -o "$T/$1.strace" -p "$2"
	TPID=$BG_PID
	wait_until 10 eval "grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/$2/status"
}
trace_calls() {	# trace_calls NAME: strace detached, the calls it counted
	[ -n "$TPID" ] || return 0
	stop_pid "$TPID"
	# (strace -c writes nothing when it counted nothing)
	awk 'BEGIN { n = 0 } $NF == "total" { n = $4 } END { print n }' "$T/$1.strace"
}
# spin NAME CALLS: a busy loop makes thousands of calls, an idle process a few
spin() {
	if [ -z "$TPID" ]; then
		tap_skip "$1: the idle process does not spin" "strace not installed"
		return
	fi
	tap_status "$([ -n "$2" ] && [ "$2" -le 30 ]; echo $?)" \
		"$1: the idle process does not spin ($2 read/poll calls <= 30)" "$(cat "$T/$1.strace")"
}
split_scen() {	# split_scen NAME BYTES SECS: reply_split after the first message's BDAT
	start_scen "$1" "{\"ehlo_caps\": $CAPS, \"connections\": {\"1\": {\"actions\":
		{\"BDAT#1\": \"reply_split\"}, \"split_bytes\": $2, \"split_secs\": $3}}}"
}

tap_diag "n. a 421 record split across TCP segments, its rest 1 s later (at $SECONDS s)"
tap_expect $((2 + 1 + 1 + 1 + 1 + 3 + 2 * 2))	# sent 2, attached, closed, spin, log, is 3, once 2
split_scen n 3 1
daemon n encrypt "connection_cache_time_limit = 30s"
send n1 && sent n1
trace_idle n "$(children "$DPID" | head -n 1)"
r=$?
facts
tap_status "$([ "$r" = 0 ] && [ "$(fk c1.split)" = 3 ] && [ -z "$(fk c1.split_rest)" ] &&
	[ -z "$(fk c1.close)" ]; echo $?)" "n: strace attached while 3 bytes of the record were held" \
	"$(cat "$DIR/facts")"
wait_until 15 eval 'facts; [ -n "$(fk c1.close)" ]'
tap_status $? "n: the idle process closed the connection once the 421 was whole" "$(cat "$DIR/facts")"
spin n "$(trace_calls n)"
send n2 && sent "n2 after it"
tap_unlike "$LOG" "to=<.*conn_use=|deferred|421|goes on a new connection" \
	"n2: a new connection, no failed attempt, nothing deferred"
end_case
is c1.split_rest time "n: the rest of the record went after its 1 s (the client did not close first)"
is c1.mails 1 "n: no MAIL on the first connection after its 421"
is conns 2 "n: two connections"
once n1 n2

tap_diag "o. half a record, never its rest (at $SECONDS s)"
tap_expect $((2 + 1 + 1 + 1 + 1 + 4 + 2 * 2))	# sent 2, attached, closed, spin, log, is 4, once 2
split_scen o 20 0
daemon o encrypt "connection_cache_time_limit = 3s"
send o1 && sent o1
trace_idle o "$(children "$DPID" | head -n 1)"
r=$?
facts
tap_status "$([ "$r" = 0 ] && [ "$(fk c1.split)" = 20 ] && [ -z "$(fk c1.close)" ]; echo $?)" \
	"o: strace attached while the connection with half a record was kept" "$(cat "$DIR/facts")"
wait_until 20 eval 'facts; [ -n "$(fk c1.close)" ]'
tap_status $? "o: the connection was closed" "$(cat "$DIR/facts")"
spin o "$(trace_calls o)"
send o2 && sent "o2 after it"
tap_unlike "$LOG" "to=<.*conn_use=|deferred|goes on a new connection" \
	"o2: a new connection, no failed attempt, nothing deferred"
end_case
is c1.quit 1 "o: closed with QUIT: by the idle time limit"
is c1.split_rest "" "o: the rest of the record was never sent"
is c1.mails 1 "o: one transaction on the first connection"
is conns 2 "o: two connections"
once o1 o2

tap_diag "p. the half record met by the next message (at $SECONDS s)"
# p_case NAME BYTES SECS REST: the second message right after the first
# finds the kept connection with BYTES of a record; REST: why its rest went
p_case() {
	tap_expect $((2 + 2 + 4 + 2 * 2))	# sent 2, the log 2, is 4, once 2
	split_scen "$1" "$2" "$3"
	daemon "$1" encrypt "connection_cache_time_limit = 30s"
	send "${1}1" && sent "${1}1"
	send "${1}2" && sent "${1}2 (the kept connection holds $2 bytes of a record)"
	tap_like "$LOG" "closing the cached connection \(conn_use=1\): part of a TLS record from the server held" \
		"${1}2: logged: the kept connection is closed, part of a record held"
	tap_unlike "$LOG" "to=<.*conn_use=|deferred|goes on a new connection" \
		"${1}2: a new connection, no failed attempt, nothing deferred"
	end_case
	is c1.split_rest "$4" "$1: the rest of the record: ${4:-never sent}"
	is c1.mails 1 "$1: the message was not sent on the first connection"
	is c2.mails 1 "$1: it went on the second"
	is conns 2 "$1: two connections"
	once "${1}1" "${1}2"
}
p_case p 3 10 client
p_case pnever 20 0 ""

tap_done
