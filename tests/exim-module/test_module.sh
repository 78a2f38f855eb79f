#!/bin/bash
# tests/exim-module/test_module.sh - swaks -> Exim >= 4.99 (router "accept"
# + "driver = tlsrelay", the module) -> Postfix receiver with STARTTLS.
#
# Exim is the one built from Debian's exim4 source (scripts/prepare.d/
# exim_module.sh), the module the one this build made; tests/exim-module/
# module.sh runs the test in a private mount namespace with its own module
# directory. The router and the main transport are the shipped snippets
# conf/exim/router_tlsrelay.conf and transport_tlsrelay_module.conf,
# .include'd unchanged. tlsrelay.conf: relay host = the receiver, level
# encrypt.
#
# Cases:
#   a. loading: exim -bV accepts "driver = tlsrelay"; -bI:modules lists it
#   b. delivered over STARTTLS: "=>" via R=tlsrelay T=tlsrelay, tlsrelay's
#      own lines (tls=..., status=sent) in Exim's main log, TLS in the
#      receiver's Received header, the EHLO name Exim's primary_hostname
#      (helo_data's default) and not tlsrelay.conf's, the body intact
#   c. 450: "==" defer with the server's reply, the address retry record
#      R:ADDR with Exim's rcpt_4xx errno; still queued; once the receiver
#      accepts, exim -M delivers it and the retry record is gone
#   d. 550 5.1.1: "**", the bounce quotes the server's reply
#   e. one message, three recipients (accepted, 450, 550): one each of
#      =>, ==, **; exim -M later delivers the deferred one only, and the
#      accepted one has exactly one copy
#   f. receiver without STARTTLS under encrypt: deferred (4.7.x, Exim's
#      TLS errno), nothing arrives (never plaintext)
#   g. tlsrelay.conf changed to level may (the prepared context notices):
#      X-TLSRelay-Require: encrypt defers against a plaintext receiver;
#      with STARTTLS back, delivered over TLS and the header is gone
#   h. a broken tlsrelay.conf: deferred with "FILE:LINE: reason" in the
#      log, not bounced
#   i. a router that set a host list (manualroute): deferred with the
#      router named, not delivered
#   j. the relayhost option overrides tlsrelay.conf's (which points at a
#      closed port)
#   k. more recipients in a call than max_rcpt (2; Exim gives one call all
#      five with remote_max_parallel 1, seen with exim -d+transport -M):
#      three transactions, each recipient once, the X-TLSRelay-Require
#      header read and removed from every copy
#   l. retry rules: an address whose retry rule has timed out is bounced
#      with "retry timeout exceeded"
#   m. a module whose dyn_magic is another transport API's (what a module
#      from another Exim release carries) is refused by Exim: "transport
#      module NAME is not compatible with this version of Exim"
#   n. a module built for another Exim version (its recorded version
#      patched): exim refuses the configuration naming both versions
#   o. a message over 1 MB (written to a file in Exim's spool, not to
#      memory) arrives intact, no file left behind
#   p. tls_policy_map applies: a fingerprint pin of another certificate
#      defers (level may in tlsrelay.conf); the right pin delivers
#   q. the TLS history (tls_history) records Exim's message ID as the
#      attempt's queue ID (what -Q does for the pipe transport), and
#      tlsrelay's lines carry the ID once (Exim's own prefix)
# Every wait is a bounded poll; no timing is asserted.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/exim-module/module.sh"
module_ns "$@"
# shellcheck source=tests/e2e/relay_conf.sh
. "$top_srcdir/tests/e2e/relay_conf.sh"

make_tmpdir
T=$TEST_TMP
module_require
require_cmd postfix postconf swaks python3
module_dir_setup || tap_bail "cannot bind-mount $T/modules over $EXIM_MODULE_DIR"

RPORT=$(free_port) && HPORT=$(free_port) && DEAD=$(free_port) || tap_bail "no free port"
CONF=$T/tlsrelay.conf
mkdir -p "$T/trspool" && chown Debian-exim "$T/trspool" && chmod 0700 "$T/trspool"
export RELAY_HELO=conf-helo.tlsrelay.test
write_conf() {	# write_conf LEVEL [EXTRA LINE...]
	local level=$1; shift
	relay_conf "$CONF" "$RPORT" "$level" "$T/trspool" "$@"
}
write_conf encrypt
relay_conf "$T/dead.conf" "$DEAD" encrypt "$T/trspool"

RECEIVER_USERS="$RECEIVER_USERS routed override b1 b2 b3 b4 b5 expire quinn"
receiver_new receiver "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
RESTRICT="check_recipient_access inline:{ { tempfail@example.test = 450 4.2.0 try again later }, { expire@example.test = 450 4.2.0 try again later }, { reject@example.test = 550 5.1.1 no such user } }, permit_mynetworks, reject_unauth_destination"
pf_set "$RECV" "smtpd_recipient_restrictions = $RESTRICT"
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening on $RPORT"

exim_new exim-host "$HPORT" || tap_bail "exim_new failed"
HOST=$EX_DIR
mkdir -p "$T/bounces" && chown Debian-exim "$T/bounces"
cat >> "$EX_CONF" <<EOF
remote_max_parallel = 1
TLSRELAY_CONFIG = $CONF

begin acl
acl_check_rcpt:
  warn   local_parts = b1 : b2 : b3 : b4 : b5
         control = queue
  accept hosts = +relay_from_hosts
         domains = +relay_to_domains
  deny   message = relay not permitted

begin routers
bounces:
  driver = accept
  domains = sender.test
  transport = bounce_file
routed:
  driver = manualroute
  domains = example.test
  local_parts = routed
  route_list = * 127.0.0.1
  self = send
  transport = tlsrelay
override:
  driver = accept
  local_parts = override
  transport = tlsrelay_override
batch:
  driver = accept
  local_parts = b1 : b2 : b3 : b4 : b5
  transport = tlsrelay_batch
.include $top_srcdir/conf/exim/router_tlsrelay.conf

begin transports
bounce_file:
  driver = appendfile
  file = $T/bounces/mbox
  user = Debian-exim
.include $top_srcdir/conf/exim/transport_tlsrelay_module.conf
tlsrelay_override:
  driver = tlsrelay
  config = $T/dead.conf
  relayhost = [127.0.0.1]:$RPORT
tlsrelay_batch:
  driver = tlsrelay
  config = $CONF
  max_rcpt = 2

begin retry
expire@example.test  *  F,1s,1s
*                    *  F,1d,1d
EOF

# a linear script: a 3, b 7, c 3, d 3, e 5, c+e retried 7, f 4, g 8, h 3,
# p 3, q 3, o 3, i 2, j 1, k 7, l 2, m+n 6
tap_plan 70

# ------------------------------------------------------------- a. loading
out=$(exim_cmd "$HOST" -bV 2>&1)
tap_status $? "a: exim -bV accepts transports with driver = tlsrelay" "$out"
tap_like "$out" "^Exim version 4\.(99|[1-9][0-9]{2,})" "a: it is Exim 4.99 or later"
out=$(exim_cmd "$HOST" -bI:modules 2>&1)
tap_like "$out" "^Installed modules: (.* )?tlsrelay( |\$)" "a: exim -bI:modules lists tlsrelay"
exim_check_start "$HOST"
tap_diag "receiver 127.0.0.1:$RPORT, Exim $EXIM 127.0.0.1:$HPORT ($HOST)"

# send NAME FROM TO [swaks args]: a small message; MSGID, EXIM_ID set
send() {
	local name=$1 from=$2 to=$3; shift 3
	MSGID="<mod-$name.$$.$RANDOM@sender.test>"
	{
		printf 'From: <%s>\nTo: %s\nSubject: module %s\nMessage-ID: %s\n' "$from" "${to//,/, }" "$name" "$MSGID"
		[ -n "${EXTRA_HEADER:-}" ] && printf '%s\n' "$EXTRA_HEADER"
		printf '\nHello from the module test (%s).\n.leading dot\nFrom the start of a line\nLast line.\n' "$name"
	} > "$T/$name.eml"
	swaks_send "$HPORT" "$from" "$to" "$T/$name.eml" --suppress-data "$@"
	EXIM_ID=$(printf '%s\n' "$SWAKS_OUT" | sed -n 's/.*<[-~] *250 OK id=\([-0-9A-Za-z]*\).*/\1/p' | tail -n 1)
	[ -n "$EXIM_ID" ]
}
mainlog() { cat "$(exim_log "$HOST")"; }
id_lines() { grep -F "$EXIM_ID " "$(exim_log "$HOST")"; }
in_queue() { exim_queue "$HOST" | grep -q -- "$1"; }
not_in_queue() { ! in_queue "$1"; }
retry_db() { "${EXIM_MODULE_BIN%/*}/exim_dumpdb" "$HOST/spool" retry 2>&1; }
copies() {	# copies USER TEXT: how many delivered files of USER contain TEXT
	grep -lF -- "$2" "$(receiver_maildir "$RECV" "$1")"/new/* 2>/dev/null | wc -l
}

# ------------------------------------------------------- b. delivered, TLS
send b sender@sender.test user@example.test
tap_status $? "b: Exim accepts the message" "$SWAKS_OUT"
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) .*user@example.test" 60)
tap_like "$line" "$EXIM_ID => user@example.test R=tlsrelay T=tlsrelay" "b: \"=>\" through router and transport tlsrelay"
tap_like "$(id_lines)" "$EXIM_ID tlsrelay: to=<user@example\.test>, relay=\[127\.0\.0\.1\]:$RPORT, .*tls=TLSv1\.[23].*status=sent" "b: tlsrelay's own line (relay, tls=, status=sent) is in Exim's main log"
mail=$(receiver_wait_mail "$RECV" user "$MSGID" 30)
tap_status $? "b: the receiver stored the message"
tap_like "$(mail_header "$mail" Received)" "using TLSv1\.[23]" "b: the receiver's Received header shows TLS"
tap_like "$(mail_header "$mail" Received)" "from exim-host\.tlsrelay\.test " "b: EHLO name: Exim's primary_hostname (helo_data default)"
tap_is "$(mail_body "$mail")" "$(printf 'Hello from the module test (b).\n.leading dot\nFrom the start of a line\nLast line.')" "b: the body arrives intact"

# ----------------------------------------------------------------- c. 450
send c sender@sender.test tempfail@example.test
C_ID=$EXIM_ID
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) tempfail@example.test" 60)
tap_like "$line" "$EXIM_ID == tempfail@example.test R=tlsrelay T=tlsrelay defer: 4\.2\.0 host \[127\.0\.0\.1\]:$RPORT said: 450 4\.2\.0 .*\(in reply to RCPT TO command\)" "c: 450: \"==\" defer with the server's reply"
in_queue "$EXIM_ID"
tap_status $? "c: the message stays in Exim's queue" "$(exim_queue "$HOST")"
tap_like "$(retry_db)" "R:tempfail@example\.test -44 " "c: address retry record R:tempfail@example.test with errno -44 (rcpt_4xx)"

# ------------------------------------------------------------- d. 550
send d sender@sender.test reject@example.test
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) reject@example.test" 60)
tap_like "$line" "$EXIM_ID \*\* reject@example.test R=tlsrelay T=tlsrelay ?: 5\.1\.1 host \[127\.0\.0\.1\]:$RPORT said: 550 5\.1\.1 " "d: 550 5.1.1: \"**\" with the server's reply"
wait_until 30 not_in_queue "$EXIM_ID"
tap_status $? "d: the message left the queue" "$(exim_queue "$HOST")"
wait_until 30 grep -q "said: 550 5\.1\.1" "$T/bounces/mbox" 2>/dev/null
tap_status $? "d: the bounce quotes the server's reply" "$(head -n 60 "$T/bounces/mbox" 2>/dev/null)"

# ------------------------------------------------ e. three recipients, mixed
send e sender@sender.test alice@example.test,tempfail@example.test,reject@example.test
E_ID=$EXIM_ID E_MSGID=$MSGID
exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) reject@example.test" 60 >/dev/null
wait_until 30 grep -q "$EXIM_ID == tempfail" "$(exim_log "$HOST")"
tap_like "$(id_lines)" "$EXIM_ID => alice@example.test R=tlsrelay T=tlsrelay" "e: the accepted recipient: =>"
tap_like "$(id_lines)" "$EXIM_ID == tempfail@example.test R=tlsrelay T=tlsrelay defer: .*said: 450" "e: the 450 recipient: =="
tap_like "$(id_lines)" "$EXIM_ID \*\* reject@example.test R=tlsrelay T=tlsrelay ?: .*said: 550" "e: the 550 recipient: **"
tap_is "$(grep -c "$EXIM_ID tlsrelay: Verified TLS connection" "$(exim_log "$HOST")")" 1 "e: one connection for the three recipients"
receiver_wait_mail "$RECV" alice "$E_MSGID" 30 >/dev/null
tap_status $? "e: alice's copy arrived"

# ---------------------- c, e. the receiver accepts again: the deferred go out
pf_set "$RECV" "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination" && pf_reload "$RECV"
exim_cmd "$HOST" -M "$C_ID" "$E_ID" >/dev/null 2>&1
mail=$(receiver_wait_mail "$RECV" tempfail "mod-c." 30)
tap_status $? "c: exim -M delivers the deferred message once the receiver accepts"
tap_like "$(grep -F "$C_ID " "$(exim_log "$HOST")")" "$C_ID => tempfail@example.test R=tlsrelay T=tlsrelay" "c: \"=>\" on the retry"
tap_unlike "$(retry_db)" "R:tempfail@example\.test" "c: the retry record is deleted after the delivery"
receiver_wait_mail "$RECV" tempfail "$E_MSGID" 30 >/dev/null
tap_status $? "e: the deferred recipient of e is delivered on the retry"
wait_until 30 not_in_queue "$E_ID"
tap_status $? "e: message e has left the queue"
tap_is "$(copies alice "$E_MSGID")" 1 "e: the accepted recipient was not sent again"
tap_unlike "$(grep -F "$E_ID " "$(exim_log "$HOST")" | grep -F 'reject@')" "=> reject" "e: the refused recipient was not retried"
pf_set "$RECV" "smtpd_recipient_restrictions = $RESTRICT" && pf_reload "$RECV"

# --------------------------------------------- f. encrypt, no STARTTLS: defer
receiver_tls "$RECV" none || tap_bail "receiver did not restart without TLS"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening again"
send f sender@sender.test bob@example.test
F_ID=$EXIM_ID F_MSGID=$MSGID
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) bob@example.test" 60)
tap_like "$line" "$EXIM_ID == bob@example.test R=tlsrelay T=tlsrelay defer: 4\.7\.[0-9]+ " "f: encrypt against a server without STARTTLS: deferred, 4.7.x"
tap_like "$(retry_db)" "R:bob@example\.test -37 " "f: retry record with Exim's TLS errno (-37: tls_required retry rules apply)"
in_queue "$EXIM_ID"
tap_status $? "f: the message stays in the queue"
tap_is "$(copies bob "$F_MSGID")" 0 "f: nothing was sent in plaintext"

# ------------------- g. level may now; the message's own requirement: encrypt
write_conf may
EXTRA_HEADER="X-TLSRelay-Require: encrypt" send g sender@sender.test carol@example.test
G_ID=$EXIM_ID G_MSGID=$MSGID
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) carol@example.test" 60)
tap_like "$line" "$EXIM_ID == carol@example.test R=tlsrelay T=tlsrelay defer: 4\.7\.[0-9]+ " "g: level may, X-TLSRelay-Require: encrypt, no STARTTLS: deferred"
tap_like "$(grep -F "$G_ID " "$(exim_log "$HOST")")" "$G_ID tlsrelay: X-TLSRelay-Require: encrypt" "g: tlsrelay read the header (the changed tlsrelay.conf was read)"
tap_is "$(copies carol "$G_MSGID")" 0 "g: nothing was sent in plaintext"
send g2 sender@sender.test dave@example.test
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) dave@example.test" 60)
tap_like "$line" "$EXIM_ID => dave@example.test R=tlsrelay T=tlsrelay" "g: without the header, level may delivers in plaintext (the new tlsrelay.conf is used)"
receiver_tls "$RECV" may || tap_bail "receiver did not restart with TLS"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening again"
exim_cmd "$HOST" -M "$G_ID" "$F_ID" >/dev/null 2>&1
mail=$(receiver_wait_mail "$RECV" carol "$G_MSGID" 30)
tap_status $? "g: with STARTTLS back, the message goes out"
tap_like "$(mail_header "$mail" Received)" "using TLSv1\.[23]" "g: over TLS"
tap_is "$(mail_header "$mail" X-TLSRelay-Require)" "" "g: the X-TLSRelay-Require header was removed"
mail=$(receiver_wait_mail "$RECV" bob "$F_MSGID" 30)
tap_like "$(mail_header "$mail" Received)" "using TLSv1\.[23]" "f: the deferred message goes out over TLS"

# ----------------------------------------- h. broken tlsrelay.conf: defer
write_conf encrypt "no_such_setting = 1"
send h sender@sender.test erin@example.test
H_ID=$EXIM_ID
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) erin@example.test" 60)
tap_like "$line" "$EXIM_ID == erin@example.test R=tlsrelay T=tlsrelay defer: 4\.3\.5 $CONF:[0-9]+: .*no_such_setting" "h: broken tlsrelay.conf: deferred with FILE:LINE and the reason"
in_queue "$EXIM_ID"
tap_status $? "h: the message stays in the queue"
write_conf encrypt
exim_cmd "$HOST" -M "$H_ID" >/dev/null 2>&1
receiver_wait_mail "$RECV" erin "mod-h." 30 >/dev/null
tap_status $? "h: once tlsrelay.conf is fixed, exim -M delivers it"

# ------------------ p. the policy map: a fingerprint pin, wrong then right
CERT_FP=$(openssl x509 -in "$CERTS/server.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
printf '[127.0.0.1]:%s fingerprint match=%s\n' "$RPORT" "$(printf '%02X:' $(seq 1 31))20" > "$T/pin.wrong"
printf '[127.0.0.1]:%s fingerprint match=%s\n' "$RPORT" "$CERT_FP" > "$T/pin.right"
chmod 0644 "$T"/pin.*
write_conf may "tls_policy_map = $T/pin.wrong"
send p sender@sender.test carol@example.test
P_ID=$EXIM_ID P_MSGID=$MSGID
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) carol@example.test" 60)
tap_like "$line" "$EXIM_ID == carol@example.test R=tlsrelay T=tlsrelay defer: 4\.7\.[0-9]+ " "p: tls_policy_map pins another certificate (fingerprint, above level may): deferred"
tap_is "$(copies carol "$P_MSGID")" 0 "p: nothing was sent"
write_conf may "tls_policy_map = $T/pin.right"
exim_cmd "$HOST" -M "$P_ID" >/dev/null 2>&1
line=$(exim_log_wait "$HOST" "$P_ID => carol@example.test" 30)
tap_like "$(grep -F "$P_ID tlsrelay: to=<carol@" "$(exim_log "$HOST")" | tail -n 1)" "tls=TLSv1\.[23]:.*\(verified.*status=sent" "p: with the right pin, delivered (the session is Verified by the pin)"
write_conf encrypt

# ------------------ q. the TLS history: Exim's message ID is the queue ID
mkdir -p "$T/hist" && chown Debian-exim "$T/hist" || tap_bail "mkdir $T/hist failed"
write_conf encrypt "tls_history = $T/hist/history.db"
send q sender@sender.test quinn@example.test
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) quinn@example.test" 60)
tap_like "$line" "$EXIM_ID => quinn@example.test R=tlsrelay T=tlsrelay" "q: delivered with tls_history set"
tap_like "$(id_lines)" "^[-0-9: ]*$EXIM_ID tlsrelay: to=<quinn@example\.test>, " \
	"q: tlsrelay's line starts with Exim's message ID once (no second \"ID: \")"
tap_is "$(python3 -c 'import sqlite3, sys
print(",".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute(
    "SELECT queue_id FROM attempt ORDER BY id")))' "$T/hist/history.db" 2>&1)" "$EXIM_ID" \
	"q: the history's attempt carries Exim's message ID"
write_conf encrypt

# ----------------------- o. a message over 1 MB (a spool file, not memory)
{
	printf 'From: <sender@sender.test>\nTo: <alice@example.test>\nSubject: module big\nMessage-ID: <mod-big.%s@sender.test>\n\n' "$$"
	head -c 1200000 /dev/urandom | base64 -w 76
} > "$T/big.eml"
swaks_send "$HPORT" sender@sender.test alice@example.test "$T/big.eml" --suppress-data
EXIM_ID=$(printf '%s\n' "$SWAKS_OUT" | sed -n 's/.*<[-~] *250 OK id=\([-0-9A-Za-z]*\).*/\1/p' | tail -n 1)
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) alice@example.test" 60)
tap_like "$line" "$EXIM_ID => alice@example.test R=tlsrelay T=tlsrelay" "o: a 1.6 MB message is delivered (written to a file in Exim's spool)"
mail=$(receiver_wait_mail "$RECV" alice "mod-big.$$" 30)
# (swaks ends the data with an empty line: empty lines are left out)
tap_is "$(mail_body "$mail" | tr -d '\r' | grep -v '^$' | md5sum)" "$(sed '1,/^$/d' "$T/big.eml" | grep -v '^$' | md5sum)" "o: its body arrives intact"
left=$(find "$HOST/spool" -maxdepth 1 -name 'tlsrelay-*' | wc -l)
tap_is "$left" 0 "o: no file of the transport is left in Exim's spool"

# ------------------------------------------ i. a router that set hosts
send i sender@sender.test routed@example.test
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) routed@example.test" 60)
tap_like "$line" "$EXIM_ID == routed@example.test R=routed T=tlsrelay defer: .*router routed set a host list .*driver = accept" "i: an address with a host list from its router is deferred, the router named"
tap_is "$(copies routed "mod-i.")" 0 "i: and not delivered anywhere"

# ----------------------------------------------- j. the relayhost option
send j sender@sender.test override@example.test
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) override@example.test" 60)
tap_like "$line" "$EXIM_ID => override@example.test R=override T=tlsrelay_override" "j: relayhost overrides tlsrelay.conf's relayhost (a closed port)"

# ------------------------------- k. more recipients per call than max_rcpt
EXTRA_HEADER="X-TLSRelay-Require: encrypt" send k sender@sender.test b1@example.test,b2@example.test,b3@example.test,b4@example.test,b5@example.test
K_MSGID=$MSGID
in_queue "$EXIM_ID"
tap_status $? "k: queued (the ACL says control = queue for b1..b5)"
exim_cmd "$HOST" -d+transport -M "$EXIM_ID" > "$T/k.debug" 2>&1
tap_like "$(cat "$T/k.debug")" "tlsrelay_batch transport entered: 5 address\(es\), max_rcpt 2" "k: Exim passes all five to one call of the transport (remote_max_parallel 1)"
exim_log_wait "$HOST" "$EXIM_ID (=>|->|\*\*|==) b5@example.test" 60 >/dev/null
klog=$(id_lines)
tap_is "$(printf '%s\n' "$klog" | grep -cE "$EXIM_ID (=>|->) b[1-5]@example.test R=batch T=tlsrelay_batch")" 5 "k: the five recipients are delivered"
tap_is "$(printf '%s\n' "$klog" | grep -c "$EXIM_ID tlsrelay: Verified TLS connection")" 3 "k: max_rcpt 2: three transactions (2 + 2 + 1)"
tap_is "$(printf '%s\n' "$klog" | grep -c "$EXIM_ID tlsrelay: X-TLSRelay-Require: encrypt")" 3 "k: each transaction read the requirement from its own copy"
n=0 hdr=0
for u in b1 b2 b3 b4 b5; do
	f=$(receiver_wait_mail "$RECV" "$u" "$K_MSGID" 30) && n=$((n + $(copies "$u" "$K_MSGID")))
	[ -n "$f" ] && [ -n "$(mail_header "$f" X-TLSRelay-Require)" ] && hdr=$((hdr + 1))
done
tap_is "$n" 5 "k: each recipient has exactly one copy"
tap_is "$hdr" 0 "k: no copy carries X-TLSRelay-Require"

# -------------------------------------------- l. retry rules time out
send l sender@sender.test expire@example.test
L_ID=$EXIM_ID
exim_log_wait "$HOST" "$EXIM_ID == expire@example.test" 60 >/dev/null
tap_status $? "l: first attempt deferred (450)"
sleep 2     # older than the retry rule's 1 s cutoff (not a timing check)
exim_cmd "$HOST" -M "$L_ID" >/dev/null 2>&1
line=$(exim_log_wait "$HOST" "$L_ID \*\* expire@example.test" 30)
tap_like "$line" "retry timeout exceeded" "l: past the retry rule's cutoff, Exim bounces: retry timeout exceeded"

exim_stop "$HOST"

# ------------------------- m, n. modules built for something else: refused
# patch_so FROM TO OUT: a copy of the module with the bytes FROM (Python
# escapes: \x00) replaced by TO, which must occur exactly once
patch_so() {
	python3 - "$EXIM_MODULE_SO" "$3" "$1" "$2" <<'PY'
import codecs, sys
src, out = sys.argv[1], sys.argv[2]
a, b = (codecs.decode(x, 'unicode_escape').encode('latin-1') for x in sys.argv[3:5])
data = open(src, 'rb').read()
if data.count(a) != 1:
    sys.exit('%r occurs %d times in %s' % (a, data.count(a), src))
open(out, 'wb').write(data.replace(a, b))
PY
}
# exim_refuses NAME SO: an Exim whose only transport has driver = NAME,
# the module SO installed as NAME_transport.so; sets OUT to what exim -bV
# and the panic log said; status 0 when exim -bV failed
exim_refuses() {
	local rc
	module_install "$1" "$2" || return 2
	exim_new "exim-$1" "$(free_port)" || return 2
	printf 'begin transports\nt:\n  driver = %s\n' "$1" >> "$EX_CONF"
	OUT=$(exim_cmd "$EX_DIR" -bV 2>&1); rc=$?
	OUT="$OUT
$(cat "$EX_DIR/log/paniclog" 2>/dev/null)"
	[ "$rc" != 0 ]
}

# m. TRANSPORT_MAGIC is 0x54504d31, "1MPT" in the file (little-endian);
# "2MPT" stands for the transport API of another Exim release.
patch_so '1MPT' '2MPT' "$T/magic.so"
tap_status $? "m: a copy of the module with another dyn_magic"
exim_refuses tlsrelayold "$T/magic.so"
tap_status $? "m: Exim refuses to configure a transport with it" "$OUT"
tap_like "$OUT" "transport module tlsrelayold is not compatible with this version of Exim" "m: Exim's message: \"transport module tlsrelayold is not compatible with this version of Exim\""

# n. the version the module was built for, recorded as "VERSION\0"
v=$EXIM_MODULE_VERSION
case $v in *9) other=${v%?}8 ;; *) other=${v%?}$(( ${v: -1} + 1 )) ;; esac
patch_so "$v\\x00" "$other\\x00" "$T/version.so"
tap_status $? "n: a copy of the module built (as it says) for Exim $other"
exim_refuses tlsrelayver "$T/version.so"
tap_status $? "n: Exim $v refuses the configuration" "$OUT"
tap_like "$OUT" "tlsrelay_transport\.so was built for Exim $other, this is Exim $v: build it again" "n: the reason names both versions"

tap_done
