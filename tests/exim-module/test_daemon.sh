#!/bin/bash
# tests/exim-module/test_daemon.sh - the Exim transport module with
# daemon_socket: swaks -> Exim >= 4.99 ("driver = tlsrelay", daemon_socket
# = a tlsrelayd's socket) -> tlsrelayd's delivery processes -> Postfix
# receiver with STARTTLS.
#
# Two tlsrelayd (-u Debian-exim, the transport's user; -v, their output in
# $T/NAME-d.out): "main" for $T/tlsrelay.conf (relay host the receiver,
# level encrypt, the TLS history in $T/hist), "slow" for $T/slow.conf
# (relay host a tarpit that accepts and never speaks). Routers by local
# part: other -> config $T/copy.conf (the same settings, another file) with
# the main socket; slow -> the slow daemon; mail from inproc@sender.test ->
# the module without daemon_socket (the reference for c); everything else
# -> the main daemon. The TLS history records Exim's message ID as the
# queue ID and the connection's use (conn_use): a row with conn_use 2 or
# more is a kept connection, which only tlsrelayd has.
#
# Cases:
#   a. delivered through tlsrelayd: "=>", the history's row for Exim's
#      message ID, no tlsrelay line in Exim's main log (the in-process path
#      writes its lines there), TLS in the receiver's Received header
#   b. four more messages in a row ride a kept connection: conn_use 2.. in
#      the history, fewer TLS handshakes at the receiver than the five
#      messages of a and b
#   c. one message, three recipients (accepted, 450, 550): =>, ==, ** with
#      exactly the texts (and the rcpt_4xx retry record) of the same
#      message through the module in this process
#   d. a config the daemon does not serve: delivered in Exim's process
#      (tlsrelay's own lines in Exim's main log), the fallback logged once
#   e. the delivery process killed during a delivery (the tarpit): "=="
#      with the daemon's reply; daemon and delivery process killed: "=="
#      ("ended without a result"); both messages stay queued and, with the
#      relay host pointed at the receiver, go out once each (never lost)
#   f. the daemon stopped: delivered in Exim's process, the fallback
#      ("cannot connect") logged once
# Every wait is a bounded poll; no timing is asserted.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/exim-module/module.sh"
module_ns "$@"
# shellcheck source=tests/e2e/relay_conf.sh
. "$top_srcdir/tests/e2e/relay_conf.sh"

make_tmpdir
T=$TEST_TMP
module_require
require_cmd postfix postconf swaks python3 ps
module_dir_setup || tap_bail "cannot bind-mount $T/modules over $EXIM_MODULE_DIR"
DAEMON=${TLSRELAYD_BIN:-$top_builddir/plugin/daemon/tlsrelayd}
[ -x "$DAEMON" ] || tap_bail "$DAEMON not built"

RPORT=$(free_port) && HPORT=$(free_port) && TARPIT=$(free_port) || tap_bail "no free port"
CONF=$T/tlsrelay.conf
mkdir -p "$T/trspool" "$T/hist" "$T/run" &&
	chown Debian-exim "$T/trspool" "$T/hist" "$T/run" && chmod 0700 "$T/trspool" ||
	tap_bail "mkdir failed"
relay_conf "$CONF" "$RPORT" encrypt "$T/trspool" "tls_history = $T/hist/history.db"
cp "$CONF" "$T/copy.conf"
relay_conf "$T/slow.conf" "$TARPIT" encrypt "$T/trspool" "command_timeout = 60s" "deadline = 120s"

RECEIVER_USERS="$RECEIVER_USERS other slow slow2"
receiver_new receiver "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening on $RPORT"

# a TCP server that accepts and never speaks; each connection noted in $T/tarpit.log
cat > "$T/tarpit.py" <<'EOF'
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
held = []
while True:
    c, _ = s.accept(); held.append(c)
    with open(sys.argv[2], "a") as f: f.write("connection\n")
EOF
start_bg tarpit python3 "$T/tarpit.py" "$TARPIT" "$T/tarpit.log"
wait_port 127.0.0.1 "$TARPIT" 15 || tap_bail "tarpit not listening"

# daemon NAME CONF: a tlsrelayd on $T/run/NAME.sock; sets DPID_NAME
daemon() {
	rm -f "$T/$1-d.out"
	start_bg "$1-d" "$DAEMON" -v -u Debian-exim -c "$2" -s "$T/run/$1.sock" -n 4
	eval "DPID_$1=\$BG_PID"
	wait_until 15 grep -q "ready on" "$T/$1-d.out" ||
		tap_bail "tlsrelayd $1 not ready: $(cat "$T/$1-d.out")"
}
daemon main "$CONF"
daemon slow "$T/slow.conf"

exim_new exim-host "$HPORT" || tap_bail "exim_new failed"
HOST=$EX_DIR
cat >> "$EX_CONF" <<EOF
remote_max_parallel = 1

begin acl
acl_check_rcpt:
  accept hosts = +relay_from_hosts
         domains = +relay_to_domains
  deny   message = relay not permitted

begin routers
inproc:
  driver = accept
  senders = inproc@sender.test
  transport = tlsrelay_inproc
other:
  driver = accept
  local_parts = other
  transport = tlsrelay_other
slow:
  driver = accept
  local_parts = slow : slow2
  transport = tlsrelay_slow
viad:
  driver = accept
  domains = example.test
  transport = tlsrelay_d

begin transports
tlsrelay_d:
  driver = tlsrelay
  config = $CONF
  daemon_socket = $T/run/main.sock
tlsrelay_inproc:
  driver = tlsrelay
  config = $CONF
tlsrelay_other:
  driver = tlsrelay
  config = $T/copy.conf
  daemon_socket = $T/run/main.sock
tlsrelay_slow:
  driver = tlsrelay
  config = $T/slow.conf
  daemon_socket = $T/run/slow.sock

begin retry
*  *  F,1d,1d
EOF

# a 5, b 3, c 8, d 4, e 9, f 4
tap_plan 33

exim_check_start "$HOST"
tap_diag "receiver 127.0.0.1:$RPORT, tarpit $TARPIT, Exim 127.0.0.1:$HPORT ($HOST)"

# send NAME FROM TO: a small message; MSGID, EXIM_ID set
send() {
	local name=$1 from=$2 to=$3
	MSGID="<exd-$name.$$.$RANDOM@sender.test>"
	printf 'From: <%s>\nTo: %s\nSubject: daemon %s\nMessage-ID: %s\n\nHello (%s).\n.leading dot\nLast line.\n' \
		"$from" "${to//,/, }" "$name" "$MSGID" "$name" > "$T/$name.eml"
	swaks_send "$HPORT" "$from" "$to" "$T/$name.eml" --suppress-data
	EXIM_ID=$(printf '%s\n' "$SWAKS_OUT" | sed -n 's/.*<[-~] *250 OK id=\([-0-9A-Za-z]*\).*/\1/p' | tail -n 1)
	[ -n "$EXIM_ID" ]
}
id_lines() { grep -F "$1 " "$(exim_log "$HOST")"; }
in_queue() { exim_queue "$HOST" | grep -q -- "$1"; }
not_in_queue() { ! in_queue "$1"; }
retry_db() { "${EXIM_MODULE_BIN%/*}/exim_dumpdb" "$HOST/spool" retry 2>&1; }
copies() {	# copies USER TEXT: how many delivered files of USER contain TEXT
	grep -lF -- "$2" "$(receiver_maildir "$RECV" "$1")"/new/* 2>/dev/null | wc -l
}
# hist SQL: the TLS history's answer, rows "a|b"
hist() { python3 -c 'import sqlite3, sys
for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print("|".join(str(x) for x in r))' "$T/hist/history.db" "$1" 2>&1; }
handshakes() { grep -c "TLS connection established from" "$(pf_log "$RECV")"; }

# ------------------------------------------- a. delivered through tlsrelayd
send a sender@sender.test user@example.test
A_ID=$EXIM_ID
line=$(exim_log_wait "$HOST" "$A_ID (=>|\*\*|==) user@example.test" 60)
tap_like "$line" "$A_ID => user@example.test R=viad T=tlsrelay_d" "a: \"=>\" through the transport with daemon_socket"
# the delivery process writes its record after the result (lib/history.h DEFERRED)
wait_until 10 eval '[ "$(hist "SELECT count(*) FROM attempt")" = 1 ]'
tap_like "$(hist "SELECT queue_id, conn_use FROM attempt")" "^$A_ID\|1$" "a: the delivery ran (the history's attempt carries Exim's message ID: -Q)"
tap_unlike "$(id_lines "$A_ID")" "tlsrelay: " "a: no tlsrelay line in Exim's main log: not delivered in Exim's process"
mail=$(receiver_wait_mail "$RECV" user "$MSGID" 30)
tap_status $? "a: the receiver stored the message"
tap_like "$(mail_header "$mail" Received)" "using TLSv1\.[23]" "a: over TLS"

# ------------------------------------------ b. messages ride one connection
ids=""
for i in 1 2 3 4; do
	send "b$i" sender@sender.test user@example.test
	ids="$ids $EXIM_ID"
	exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) user@example.test" 60 >/dev/null
done
n=0
for id in $ids; do [ "$(grep -c "$id => user@example.test R=viad T=tlsrelay_d" "$(exim_log "$HOST")")" = 1 ] && n=$((n + 1)); done
tap_is "$n" 4 "b: four messages delivered through tlsrelayd"
wait_until 10 eval '[ "$(hist "SELECT count(*) FROM attempt")" = 5 ]'
tap_like "$(hist "SELECT max(conn_use) FROM attempt")" "^[2-9]$" "b: the history shows a kept connection used again (conn_use >= 2)" "$(hist "SELECT queue_id, conn_use FROM attempt")"
# every connection so far came from the main daemon's processes (a and b)
hs=$(handshakes)
tap_ok "$([ "$hs" -ge 1 ] && [ "$hs" -lt 5 ]; echo $((1 - $?)))" "b: the receiver saw fewer TLS handshakes than messages ($hs for 5)" \
	"$(grep -E 'connect from|TLS connection' "$(pf_log "$RECV")")"

# ----------------------------------- c. mixed recipients, as in the process
# norm ID: the per-address lines of message ID, without time, ID and router/transport
norm() {
	id_lines "$1" | grep -E " (=>|->|==|\*\*) " | sed -E "s/^.* $1 //; s/ R=[^ ]+ T=[^ ]+//; s/ H=[^ ]+//" | sort
}
send c sender@sender.test alice@example.test,tempfail@example.test,reject@example.test
C_ID=$EXIM_ID
exim_log_wait "$HOST" "$C_ID \*\* reject@example.test" 60 >/dev/null
wait_until 30 grep -q "$C_ID == tempfail" "$(exim_log "$HOST")"
send c-ref inproc@sender.test alice@example.test,tempfail@example.test,reject@example.test
CR_ID=$EXIM_ID
exim_log_wait "$HOST" "$CR_ID \*\* reject@example.test" 60 >/dev/null
wait_until 30 grep -q "$CR_ID == tempfail" "$(exim_log "$HOST")"
tap_like "$(id_lines "$C_ID")" "$C_ID => alice@example.test R=viad T=tlsrelay_d" "c: the accepted recipient: =>"
tap_like "$(id_lines "$C_ID")" "$C_ID == tempfail@example.test R=viad T=tlsrelay_d defer: 4\.2\.0 host \[127\.0\.0\.1\]:$RPORT said: 450 4\.2\.0 .*\(in reply to RCPT TO command\)" "c: the 450 recipient: == with the server's reply"
tap_like "$(id_lines "$C_ID")" "$C_ID \*\* reject@example.test R=viad T=tlsrelay_d ?: 5\.1\.1 host \[127\.0\.0\.1\]:$RPORT said: 550 5\.1\.1 " "c: the 550 recipient: ** with the server's reply"
tap_like "$(id_lines "$CR_ID")" "$CR_ID tlsrelay: to=<alice@" "c: the reference went in Exim's process"
tap_is "$(norm "$C_ID")" "$(norm "$CR_ID")" "c: each address's result and text are those of the in-process delivery"
tap_like "$(retry_db)" "R:tempfail@example\.test -44 " "c: address retry record with Exim's rcpt_4xx errno"
receiver_wait_mail "$RECV" alice "exd-c." 30 >/dev/null
tap_is "$(copies alice "exd-c.")" 1 "c: alice's copy arrived once"
in_queue "$C_ID"
tap_status $? "c: the message stays queued (for the deferred recipient)" "$(exim_queue "$HOST")"

# --------------------------------------- d. a config the daemon does not serve
send d sender@sender.test other@example.test
D_ID=$EXIM_ID
line=$(exim_log_wait "$HOST" "$D_ID (=>|\*\*|==) other@example.test" 60)
tap_like "$line" "$D_ID => other@example.test R=other T=tlsrelay_other" "d: a config the daemon does not serve: delivered"
tap_is "$(id_lines "$D_ID" | grep -c "tlsrelay: tlsrelayd at $T/run/main.sock: request not served .*: delivering in this process")" 1 "d: the fallback is logged once"
tap_like "$(id_lines "$D_ID")" "$D_ID tlsrelay: to=<other@example\.test>, .*status=sent" "d: delivered in Exim's process (tlsrelay's lines in Exim's main log)"
receiver_wait_mail "$RECV" other "exd-d." 30 >/dev/null
tap_status $? "d: the receiver stored it"

# ------------------------------------------- e. killed during a delivery
# slow_kill WHO: a message to slow@ (tarpit); once its delivery process is
# connected, kill it (WHO=proc) or it and the daemon (WHO=both); E_ID set
slow_kill() {
	local before pids
	before=$(grep -c . "$T/tarpit.log" 2>/dev/null)
	send "e-$1" sender@sender.test "$2@example.test"
	E_ID=$EXIM_ID
	wait_until 30 sh -c '[ "$(grep -c . "$1" 2>/dev/null)" -gt "$2" ]' sh "$T/tarpit.log" "${before:-0}" ||
		tap_diag "e: the delivery did not reach the tarpit"
	pids=$(ps -o pid= --ppid "$DPID_slow" | tr -d ' ')
	[ "$1" = both ] && kill -KILL "$DPID_slow" 2>/dev/null
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
}
slow_kill proc slow
line=$(exim_log_wait "$HOST" "$E_ID (=>|\*\*|==) slow@example.test" 60)
tap_like "$line" "$E_ID == slow@example.test R=slow T=tlsrelay_slow defer: 4\.3\.0 tlsrelayd: .*signal 9" "e: delivery process killed: == with the daemon's reply"
E1_ID=$E_ID
slow_kill both slow2
line=$(exim_log_wait "$HOST" "$E_ID (=>|\*\*|==) slow2@example.test" 60)
tap_like "$line" "$E_ID == slow2@example.test R=slow T=tlsrelay_slow defer: 4\.3\.0 tlsrelayd at $T/run/slow\.sock: ended without a result: delivery status unknown" "e: daemon and delivery process killed: == (status unknown)"
E2_ID=$E_ID
tap_unlike "$(id_lines "$E1_ID"; id_lines "$E2_ID")" "delivering in this process" "e: neither was delivered again in Exim's process (the request had gone out)"
in_queue "$E1_ID" && in_queue "$E2_ID"
tap_status $? "e: both messages stay queued"
wait "$DPID_slow" 2>/dev/null     # reaped (killed above): its socket is free
relay_conf "$T/slow.conf" "$RPORT" encrypt "$T/trspool"
daemon slow "$T/slow.conf"
exim_cmd "$HOST" -M "$E1_ID" "$E2_ID" >/dev/null 2>&1
receiver_wait_mail "$RECV" slow "exd-e-proc." 30 >/dev/null
tap_status $? "e: the first arrives once the relay host answers"
receiver_wait_mail "$RECV" slow2 "exd-e-both." 30 >/dev/null
tap_status $? "e: the second too"
tap_is "$(( $(copies slow "exd-e-proc.") + $(copies slow2 "exd-e-both.") ))" 2 "e: one copy each"
tap_like "$(id_lines "$E2_ID")" "$E2_ID => slow2@example.test R=slow T=tlsrelay_slow" "e: \"=>\" on the retry, through the new daemon"
tap_unlike "$(id_lines "$E2_ID")" "tlsrelay: to=" "e: (not in Exim's process)"

# --------------------------------------------------- f. the daemon stopped
stop_pid "$DPID_main"
send f sender@sender.test erin@example.test
F_ID=$EXIM_ID
line=$(exim_log_wait "$HOST" "$F_ID (=>|\*\*|==) erin@example.test" 60)
tap_like "$line" "$F_ID => erin@example.test R=viad T=tlsrelay_d" "f: the daemon stopped: still delivered"
tap_is "$(id_lines "$F_ID" | grep -c "tlsrelay: tlsrelayd at $T/run/main.sock: cannot connect: .*: delivering in this process")" 1 "f: the fallback is logged once"
tap_like "$(id_lines "$F_ID")" "$F_ID tlsrelay: to=<erin@example\.test>, .*tls=TLSv1\.[23].*status=sent" "f: delivered over TLS in Exim's process"
receiver_wait_mail "$RECV" erin "exd-f." 30 >/dev/null
tap_status $? "f: the receiver stored it"

exim_stop "$HOST"
stop_pid "$DPID_slow"
tap_done
