#!/bin/bash
# tests/daemon/test_lmtp.sh - tlsrelayd's LMTP listener (-L,
# plugin/daemon/lmtp.c, lib/lmtp_server.c): a real Postfix host MTA whose
# lmtp(8) delivers example.test to tlsrelayd's LMTP socket, tlsrelayd
# relaying to a real Postfix receiver with STARTTLS; scripted hostile
# clients (tests/daemon/lmtp_client.py).
#
# One daemon (root, -u nobody, -v: its log in $T/d.out) with -r 3 and
# level encrypt to the receiver; a second one, level encrypt, relaying to a
# receiver without STARTTLS. Cases:
#   a. 7 messages released at once over one cached LMTP connection
#      (lmtp_destination_concurrency_limit 1): every one sent (Postfix's
#      status=sent with the daemon's 250), none deferred, conn_use up to 3
#      and never 4 (the use count -r 3 ends the session after the third:
#      421 4.3.2, Postfix opens a new connection without a failure), the
#      receiver's TLS handshakes fewer than the messages (3: one per
#      delivery process), each message arrived once, over TLS, with the
#      queue ID of XFORWARD IDENT in the daemon's lines
#   b. one message to three recipients: user accepted (sent), tempfail
#      450 (deferred, 4.2.0), reject 550 (bounced, 5.1.1): Postfix's own
#      per-recipient outcome from the one reply per recipient
#   c. level encrypt to a server without STARTTLS: Postfix defers (4.7.x),
#      nothing arrives
#   d. hostile clients: a line over 2048 bytes (500 5.5.2, closed), 1001
#      recipients (1000 taken, 452 4.5.3), SIZE= over the limit and a
#      message over it (552 5.3.4, still in step), no LHLO (503, HELO/EHLO
#      500 5.5.1), bad syntax and garbage (501/503/500, still in step)
#   f. the use count, by a scripted client (-r 2): two transactions on one
#      session answered, then 421 4.3.2 and the end; the third goes in a
#      new session (a new process) and arrives
#   g. recipients with different NOTIFY values (one with an ORCPT), by a
#      scripted client: ONE transaction at the receiver (nrcpt=3), replies
#      in the client's order
#   i. DSN through Postfix: a client gives the host two recipients with
#      different NOTIFY and one an ORCPT; Postfix's lmtp(8) passes them to
#      tlsrelayd, which relays both in ONE transaction to the receiver;
#      the receiver holds mail from dsn@sender.test (check_sender_access
#      HOLD) so that its queue file shows (postcat) one message with both
#      recipients, each with its NOTIFY and ORCPT
#   j. message_size_limit = 20000 (daemon z): LHLO announces SIZE 20000;
#      a scripted client's SIZE= and data over it get 552 5.3.4; through
#      Postfix, a message under it is sent and one over it bounced 5.3.4;
#      with the default limit, a message of 3 MB (over the 1 MiB the
#      listener keeps in memory: it moves to a file) arrives whole
#   h. with Postfix: the delivery process killed during the transaction (its
#      SMTP side slowed by bench/delay_relay.py, 1 s RTT): Postfix defers
#      (lost connection), sends it again later, the receiver has it once
#   e. the delivery process killed in the middle of DATA: the client sees
#      the connection end without a reply (Postfix defers on that), nothing
#      reached the receiver; the same message in a new session arrives once
# Every wait is bounded; no timing is asserted.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

require_root
require_cmd postfix postconf timeout ps python3 swaks
make_tmpdir
T=$TEST_TMP
tap_plan 63

DAEMON=${TLSRELAYD_BIN:-$top_builddir/plugin/daemon/tlsrelayd}
CLIENTPY=$top_srcdir/tests/daemon/lmtp_client.py
[ -x "$DAEMON" ] || tap_bail "$DAEMON not built"
R=$T/run
mkdir -p "$T/spool" "$R" && chmod 1777 "$T/spool" && chown nobody "$R" || tap_bail "mkdir failed"

# conf FILE PORT LEVEL: a tlsrelay.conf relaying to 127.0.0.1:PORT
conf() {
	{
		printf 'relayhost = [127.0.0.1]:%s\ntls_security_level = %s\n' "$2" "$3"
		printf 'tls_ca_file = %s\nhelo_name = client.tlsrelay.test\n' "$CERTS/ca.pem"
		printf 'syslog = no\nconnect_timeout = 10s\ncommand_timeout = 20s\ndeadline = 60s\n'
		printf 'spool_directory = %s\n' "$T/spool"
		[ -z "${EXTRA_CONF:-}" ] || printf '%s\n' "$EXTRA_CONF"
	} > "$1" && chmod 0644 "$1"
}
# daemon NAME PORT LEVEL [OPTION...]: tlsrelayd with -L $R/NAME.lmtp; sets DPID
daemon() {
	local name=$1 port=$2 level=$3; shift 3
	conf "$T/$name.conf" "$port" "$level"
	start_bg "$name-d" "$DAEMON" -v -u nobody -m 0666 -c "$T/$name.conf" -s "$R/$name.sock" \
		-L "$R/$name.lmtp" "$@"
	DPID=$BG_PID
	wait_until 15 grep -q "ready on $R/$name.sock, LMTP on $R/$name.lmtp" "$T/$name-d.out" ||
		tap_bail "tlsrelayd $name not ready: $(cat "$T/$name-d.out")"
}
children() { ps -o pid= --ppid "$1" 2>/dev/null; }
hlog() { cat "$(pf_log "$HOST")"; }

# ------------------------------------------------------------------ setup
RPORT=$(free_port) && PPORT=$(free_port) && HPORT=$(free_port) && KPORT=$(free_port) || tap_bail "no free port"
receiver_new recv "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
pf_set "$RECV" "smtpd_sender_restrictions = check_sender_access inline:{ { dsn@sender.test = HOLD } }"
receiver_new plain "$PPORT" none || tap_bail "receiver_new failed"
PLAIN=$PF_DIR
pf_start "$RECV" && pf_start "$PLAIN" || tap_bail "receivers did not start"
wait_port 127.0.0.1 "$RPORT" 15 && wait_port 127.0.0.1 "$PPORT" 15 || tap_bail "receivers not listening"
daemon d "$RPORT" encrypt -r 3
D1=$DPID
daemon p "$PPORT" encrypt
D2=$DPID
start_bg delay python3 "$top_srcdir/bench/delay_relay.py" --listen "$KPORT" --to "$RPORT" --delay-ms 500
DELAY=$BG_PID
wait_port 127.0.0.1 "$KPORT" 10 || tap_bail "delay relay not listening"
daemon k "$KPORT" encrypt
D4=$DPID
EXTRA_CONF="message_size_limit = 20000" daemon z "$RPORT" encrypt
D5=$DPID
pf_new host "$HPORT" || tap_bail "pf_new failed"
HOST=$PF_DIR
pf_set "$HOST" "relay_domains = example.test, plain.test, kill.test, size.test" \
	"transport_maps = inline:{ example.test=lmtp:unix:$R/d.lmtp, plain.test=lmtp:unix:$R/p.lmtp, kill.test=lmtp:unix:$R/k.lmtp, size.test=lmtp:unix:$R/z.lmtp }" \
	"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
	"lmtp_destination_concurrency_limit = 1" "lmtp_send_xforward_command = yes" \
	"lmtp_connection_cache_on_demand = yes" "defer_transports = lmtp"
pf_master "$HOST" "lmtp      unix  -       -       n       -       -       lmtp"
pf_start "$HOST" || tap_bail "host Postfix did not start"
wait_port 127.0.0.1 "$HPORT" 15 || tap_bail "host not listening"

# mail NAME TO...: a message with Message-ID <NAME.$$@sender.test> into the host
mail() {
	local name=$1; shift
	printf 'From: <sender@sender.test>\nSubject: lmtp %s\nMessage-ID: <%s.%s@sender.test>\n\nBody of %s.\n.dot\n' \
		"$name" "$name" "$$" "$name" > "$T/$name.eml"
	local to; to=$(IFS=,; echo "$*")
	swaks_send "$HPORT" sender@sender.test "$to" "$T/$name.eml" || tap_bail "swaks $name: $SWAKS_OUT"
}
# release: deliver what defer_transports held, all at once
release() {
	pf_set "$HOST" "defer_transports ="
	postfix -c "$HOST" reload >/dev/null 2>&1
	sleep 1
	pf_flush "$HOST"
}
# idcount NAME: how many messages with NAME's Message-ID reached the receiver
idcount() { grep -rlF "Message-ID: <$1.$$@sender.test>" "$(dirname "$RECV")/mail" 2>/dev/null | wc -l; }

# ------------------------------------------- a. several messages, use count
tap_diag "a. 7 messages over cached LMTP connections (at $SECONDS s)"
for n in 1 2 3 4 5 6 7; do mail "a$n" user@example.test; done
release
wait_until 60 sh -c "[ \$(grep -c 'to=<user@example.test>.*status=sent' '$(pf_log "$HOST")') -ge 7 ]"
tap_is "$(hlog | grep -c 'to=<user@example.test>.*relay=.*d.lmtp.*status=sent (250 2\.[0-9]')" 7 \
	"a: 7 messages sent through the LMTP socket (Postfix: status=sent, the daemon's 250)"
# (the held messages' "deferred transport" lines are defer_transports', not lmtp's)
tap_unlike "$(hlog | grep -E 'postfix-host/(lmtp|qmgr)\[')" "status=deferred|lost connection|421 4\.3\.2|warning" \
	"a: nothing deferred, no connection counted as failed (the use count's 421 is not seen as one)"
tap_like "$(hlog)" "relay=.*d.lmtp.*conn_use=3" "a: a cached LMTP connection carried 3 messages"
tap_unlike "$(hlog)" "conn_use=4" "a: none carried a 4th (-r 3 ends the session)"
hs=$(grep -c 'TLS connection established from' "$(pf_log "$RECV")")
tap_ok "$([ "$hs" -ge 1 ] && [ "$hs" -lt 7 ]; echo $(( $? == 0 )))" \
	"a: the receiver's TLS handshakes ($hs) fewer than the 7 messages"
tap_is "$hs" 3 "a: one TLS handshake per delivery process (3 uses each)"
ok=1
for n in 1 2 3 4 5 6 7; do [ "$(idcount "a$n")" = 1 ] || ok=0; done
tap_ok "$ok" "a: each of the 7 messages arrived exactly once"
f=$(grep -rlF "Message-ID: <a1.$$@sender.test>" "$(dirname "$RECV")/mail" | head -n 1)
tap_like "$(cat "$f")" "using TLSv1\.[23]" "a: it came over TLS (the receiver's Received: header)"
qid=$(hlog | sed -n 's/.*postfix-host\/lmtp\[[0-9]*\]: \([0-9A-F]*\): to=<user@example.test>.*status=sent.*/\1/p' | head -n 1)
tap_like "$(cat "$T/d-d.out")" "$qid: .*to=<user@example\.test>" \
	"a: the daemon's delivery line carries Postfix's queue ID ($qid, XFORWARD IDENT)"

# ----------------------------------------------- b. per-recipient results
tap_diag "b. mixed recipients (at $SECONDS s)"
mail b user@example.test tempfail@example.test reject@example.test
pf_flush "$HOST"
wait_until 60 sh -c "grep -q 'to=<reject@example.test>.*status=bounced' '$(pf_log "$HOST")' && grep -q 'to=<tempfail@example.test>.*status=deferred' '$(pf_log "$HOST")'"
tap_like "$(hlog)" "to=<user@example.test>.*status=sent" "b: user: sent"
tap_like "$(hlog)" "to=<tempfail@example.test>.*dsn=4\.2\.0, status=deferred" "b: tempfail: deferred 4.2.0"
tap_like "$(hlog)" "to=<reject@example.test>.*dsn=5\.1\.1, status=bounced" "b: reject: bounced 5.1.1"
tap_is "$(idcount b)" 1 "b: the message arrived once (for user)"

# ------------------------------------------------------ c. policy failure
tap_diag "c. level encrypt, no STARTTLS (at $SECONDS s)"
mail c someone@plain.test
wait_until 60 grep -q 'to=<someone@plain.test>.*status=deferred' "$(pf_log "$HOST")"
tap_like "$(hlog)" "to=<someone@plain.test>.*dsn=4\.7\.[0-9]+, status=deferred" "c: deferred with 4.7.x"
tap_is "$(grep -c 'from=<sender@sender.test>' "$(pf_log "$PLAIN")")" 0 "c: the plaintext server got no MAIL FROM"

# ------------------------------------------------------ d. hostile clients
tap_diag "d. hostile clients (at $SECONDS s)"
L=$R/d.lmtp
out=$(timeout 60 python3 "$CLIENTPY" "$L" longline)
tap_like "$out" "^500 5\.5\.2 Error: line too long" "d: a long line: 500 5.5.2"
tap_is "$(tail -n 1 <<< "$out")" EOF "d: a long line: then the session ends"
tap_unlike "$out" "^250 2\.0\.0 Ok" "d: a long line: nothing after it read as a command"
out=$(timeout 60 python3 "$CLIENTPY" "$L" rcpts)
tap_is "$(grep -c '^250 2\.1\.5' <<< "$out")" 1000 "d: 1001 recipients: 1000 taken"
tap_is "$(grep -c '^452 4\.5\.3' <<< "$out")" 1 "d: 1001 recipients: the last 452 4.5.3"
tap_like "$out" "^221 " "d: 1001 recipients: still in step (221 to QUIT)"
out=$(timeout 90 python3 "$CLIENTPY" "$L" size "<big.$$@sender.test>")
tap_like "$out" "^552 5\.3\.4 Message size exceeds fixed limit" "d: SIZE= over the limit: 552 5.3.4"
tap_like "$out" "^552 5\.3\.4 Error: message file too big" "d: data over the limit: 552 5.3.4"
tap_like "$(tail -n 3 <<< "$out")" "^250 2\.0\.0 Ok" "d: data over the limit: still in step (NOOP)"
tap_is "$(idcount big)" 0 "d: the message over the limit was not sent"
out=$(timeout 60 python3 "$CLIENTPY" "$L" nolhlo)
tap_like "$out" "^503 5\.5\.1 Error: send LHLO first" "d: MAIL before LHLO: 503 5.5.1"
tap_is "$(grep -c '^500 5\.5\.1' <<< "$out")" 2 "d: HELO and EHLO: 500 5.5.1"
out=$(timeout 60 python3 "$CLIENTPY" "$L" syntax)
tap_like "$out" "^501 5\.5\.4 Syntax: address in angle brackets" "d: bad MAIL: 501 5.5.4"
tap_is "$(grep -c '^500 5\.5\.2' <<< "$out")" 2 "d: a NUL line and garbage: 500 5.5.2 each"
tap_like "$out" "^503 5\.5\.1 Error: need MAIL command" "d: RCPT and DATA without MAIL: 503"
tap_like "$(tail -n 3 <<< "$out")" "^250 2\.0\.0 Ok" "d: after all that still in step (NOOP)"

# ------------------------------------------- e. killed in the middle of DATA
tap_diag "e. delivery process killed mid-DATA (at $SECONDS s)"
rm -f "$T/middata.flag"
timeout 60 python3 "$CLIENTPY" "$L" middata "$T/middata.flag" "<middata.$$@sender.test>" 2000000 \
	> "$T/middata.out" &
PYPID=$!
wait_until 20 test -s "$T/middata.flag" || tap_bail "middata client did not get to DATA"
# 1.2 MB of the message read: past TLSRELAY_SPOOL_MEMORY_MAX it is in an
# unlinked file of spool_directory (/proc/PID/fd: "$T/spool/#N (deleted)")
in_spool() { local p; for p in $(children "$D1"); do ls -l "/proc/$p/fd" 2>/dev/null; done | grep -qF "$T/spool/"; }
wait_until 20 in_spool
tap_status $? "e: past 1 MiB the message being read is in spool_directory, not memory or /tmp"
for p in $(children "$D1"); do kill -KILL "$p"; done
wait "$PYPID"
out=$(cat "$T/middata.out")
tap_like "$out" "^354 " "e: the session was in DATA"
tap_is "$(tail -n 1 <<< "$out")" EOF "e: the connection ended"
tap_is "$(sed -n '/^354/,$p' <<< "$out" | sed 1d)" EOF "e: nothing after 354 but the end (the client defers)"
tap_is "$(idcount middata)" 0 "e: nothing reached the receiver"
out=$(timeout 60 python3 "$CLIENTPY" "$L" deliver "<middata.$$@sender.test>")
tap_like "$out" "^250 2\.0\.0 <user@example\.test>" "e: the same message again in a new session: 250"
wait_until 30 sh -c "[ \$(grep -rlF 'Message-ID: <middata.$$@sender.test>' '$(dirname "$RECV")/mail' | wc -l) -ge 1 ]"
tap_is "$(idcount middata)" 1 "e: it arrived exactly once"

# ------------------------------------------------- g. NOTIFY per recipient
tap_diag "g. NOTIFY per recipient (at $SECONDS s)"
out=$(timeout 60 python3 "$CLIENTPY" "$L" notify "<notify.$$@sender.test>")
tap_is "$(grep '^250 2\.0\.0 <' <<< "$out" | sed 's/^250 2\.0\.0 <\([a-z]*\)@.*/\1/' | tr '\n' ' ')" "user alice bob " \
	"g: one 250 per recipient, in the client's order"
wait_until 30 sh -c "[ \$(grep -rlF 'Message-ID: <notify.$$@sender.test>' '$(dirname "$RECV")/mail' | wc -l) -ge 3 ]"
tap_is "$(grep -rlF "Message-ID: <notify.$$@sender.test>" "$(dirname "$RECV")/mail" | wc -l)" 3 "g: each recipient got it once"
tap_is "$(grep -E 'from=<notify@sender.test>, size=[0-9]+, nrcpt=[0-9]' "$(pf_log "$RECV")" | sed 's/.*nrcpt=\([0-9]*\).*/\1/' | tr '\n' ' ')" "3 " \
	"g: one transaction at the receiver for the three recipients, whatever their NOTIFY"

# ------------------------------------------- i. DSN through Postfix, held
tap_diag "i. NOTIFY and ORCPT per recipient through Postfix (at $SECONDS s)"
printf 'From: <dsn@sender.test>\r\nSubject: dsn\r\nMessage-ID: <i.%s@sender.test>\r\n\r\nBody.\r\n' "$$" > "$T/i.eml"
out=$(timeout 60 python3 - "$HPORT" "$T/i.eml" 2>&1 <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.tlsrelay.test")
s.mail("dsn@sender.test")
r1 = s.rcpt("user@example.test", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;first+2Blist@sender.test"])
r2 = s.rcpt("alice@example.test", ["NOTIFY=NEVER"])
d = s.data(open(sys.argv[2], "rb").read())
print(r1[0], r2[0], d[0])
s.quit()
PY
)
tap_is "$out" "250 250 250" "i: the host took the message with NOTIFY and ORCPT per recipient"
pf_flush "$HOST"
hq=$(pf_log_wait "$HOST" "message-id=<i\.$$@sender\.test>" 30 | sed -n 's/.*: \([0-9A-F]*\): message-id=.*/\1/p' | head -n 1)
wait_until 60 sh -c "[ \$(grep -cE '$hq: to=<(user|alice)@example.test>.*relay=.*d.lmtp.*status=sent' '$(pf_log "$HOST")') -ge 2 ]"
tap_diag "i: host queue ID $hq: $(grep -c "$hq: to=.*status=sent" "$(pf_log "$HOST")") recipients sent"
ids=$(pf_queue_ids "$RECV" hold)
tap_is "$(wc -w <<< "$ids")" 1 "i: one message held at the receiver (one transaction)"
pc=$(postcat -c "$RECV" -q "$(head -n 1 <<< "$ids")" 2>&1)
# each recipient with the DSN records before it (postcat: "named_attribute:
# notify_flags=N" (Postfix's NEVER 1, SUCCESS 2, FAILURE 4), "dsn_orig_rcpt=...")
pairs=$(awk '/named_attribute: notify_flags=/ { n = $0; sub(/.*=/, "", n) }
	/named_attribute: dsn_orig_rcpt=/ { o = $0; sub(/.*dsn_orig_rcpt=/, "", o) }
	/^recipient: / { print $2 " notify=" n " orcpt=" o; n = ""; o = "" }' <<< "$pc")
tap_like "$pairs" "^user@example\.test notify=6 orcpt=rfc822;first\+list@sender\.test$" \
	"i: user arrived with its NOTIFY=SUCCESS,FAILURE and its ORCPT (the client's)"
tap_like "$pairs" "^alice@example\.test notify=1 orcpt=rfc822;alice@example\.test$" \
	"i: alice arrived with its NOTIFY=NEVER and its ORCPT (the one Postfix's lmtp(8) made)"
tap_is "$(wc -l <<< "$pairs")" 2 "i: both in the one held message"
postsuper -c "$RECV" -d ALL hold >/dev/null 2>&1

# ---------------------------------------------- j. message_size_limit
tap_diag "j. message_size_limit = 20000 (at $SECONDS s)"
out=$(timeout 60 python3 "$CLIENTPY" "$R/z.lmtp" limit "<limit.$$@sender.test>" 20000)
tap_like "$out" "^250-SIZE 20000$" "j: LHLO announces the setting (SIZE 20000)"
tap_like "$out" "^552 5\.3\.4 Message size exceeds fixed limit" "j: SIZE= over it: 552 5.3.4"
tap_like "$out" "^552 5\.3\.4 Error: message file too big" "j: data over it: 552 5.3.4"
tap_like "$(tail -n 3 <<< "$out")" "^250 2\.0\.0 Ok" "j: still in step (NOOP)"
printf 'From: <sender@sender.test>\nSubject: small\n\nsmall\n' > "$T/small.eml"
{ printf 'From: <sender@sender.test>\nSubject: big\n\n'; for n in $(seq 1 300); do printf '%0100d\n' "$n"; done; } > "$T/big.eml"
swaks_send "$HPORT" sender@sender.test small@size.test "$T/small.eml" || tap_bail "swaks small: $SWAKS_OUT"
swaks_send "$HPORT" sender@sender.test big@size.test "$T/big.eml" || tap_bail "swaks big: $SWAKS_OUT"
pf_flush "$HOST"
wait_until 60 sh -c "grep -q 'to=<small@size.test>.*status=sent' '$(pf_log "$HOST")' && grep -q 'to=<big@size.test>.*status=bounced' '$(pf_log "$HOST")'"
tap_like "$(hlog)" "to=<small@size\.test>.*relay=.*z\.lmtp.*status=sent" "j: through Postfix, a message under the limit: sent"
tap_like "$(hlog)" "to=<big@size\.test>.*dsn=5\.3\.4, status=bounced" "j: one over it: bounced 5.3.4"
out=$(timeout 90 python3 "$CLIENTPY" "$R/d.lmtp" deliver "<big3.$$@sender.test>" 3000000)
tap_like "$out" "^250 2\.0\.0 <user@example\.test>" "j: a message of 3 MB (spooled to a file while read): 250"
wait_until 30 sh -c "[ \$(grep -rlF 'Message-ID: <big3.$$@sender.test>' '$(dirname "$RECV")/mail' | wc -l) -ge 1 ]"
f=$(grep -rlF "Message-ID: <big3.$$@sender.test>" "$(dirname "$RECV")/mail" | head -n 1)
tap_is "$(grep -c '^y\{998\}$' "$f" 2>/dev/null)" 3000 "j: it arrived whole (3000 lines of 998 bytes)"
stop_pid "$D5"

# ----------------------------------------------- f. the use count, scripted
tap_diag "f. the use count on one session (at $SECONDS s)"
daemon u "$RPORT" encrypt -r 2
D3=$DPID
out=$(timeout 120 python3 "$CLIENTPY" "$R/u.lmtp" txns "<txns.$$")
tap_is "$(grep -c '^250 2\.0\.0 <user@example\.test>' <<< "$out")" 2 "f: two transactions answered 250 on the session"
tap_like "$(sed -n '/^-- after transaction 2/,$p' <<< "$out")" "^EOF" "f: then the session ended"
tap_like "$(sed -n '/^-- after transaction 1/,/^-- after transaction 2/p' <<< "$out")" \
	"^421 4\.3\.2 .* closing: the delivery process retires" "f: with 421 4.3.2 after the second reply"
out=$(timeout 60 python3 "$CLIENTPY" "$R/u.lmtp" deliver "<txns.$$-3@sender.test>")
tap_like "$out" "^250 2\.0\.0 <user@example\.test>" "f: the third in a new session: 250"
wait_until 30 sh -c "[ \$(grep -rlF 'Message-ID: <txns.$$-' '$(dirname "$RECV")/mail' | wc -l) -ge 3 ]"
tap_is "$(grep -rlF "Message-ID: <txns.$$-" "$(dirname "$RECV")/mail" | wc -l)" 3 "f: all three arrived, once each"
stop_pid "$D3"

# ----------------------------------- h. killed during a transaction, Postfix
tap_diag "h. Postfix: a delivery process killed during the transaction (at $SECONDS s)"
mail h user@kill.test
pf_flush "$HOST"
wait_until 30 sh -c "[ -n \"\$(ps -o pid= --ppid $D4)\" ]" || tap_diag "h: no delivery process seen"
sleep 1		# inside its SMTP transaction: 1 s RTT, about 8 of them
for p in $(children "$D4"); do kill -KILL "$p"; done
wait_until 60 grep -q 'to=<user@kill.test>.*status=deferred' "$(pf_log "$HOST")"
tap_like "$(hlog)" "to=<user@kill.test>.*status=deferred \(lost connection with .*k\.lmtp" \
	"h: Postfix deferred it (lost connection)"
pf_flush "$HOST"
wait_until 90 grep -q 'to=<user@kill.test>.*status=sent' "$(pf_log "$HOST")"
tap_like "$(hlog)" "to=<user@kill.test>.*status=sent \(250 2\." "h: then sent"
wait_until 10 grep -q 'to=<user@kill.test>.*status=sent' "$(pf_log "$RECV")"
tap_is "$(grep -c 'to=<user@kill.test>.*status=sent' "$(pf_log "$RECV")")" 1 "h: the receiver took it exactly once"
tap_like "$(cat "$T/k-d.out")" "delivery process [0-9]+ ended by signal 9 during an LMTP session" \
	"h: the daemon logged the killed session"
stop_pid "$D4"
stop_pid "$DELAY"

stop_pid "$D1"
stop_pid "$D2"
pf_stop "$HOST"
pf_stop "$RECV"
pf_stop "$PLAIN"
tap_done
