#!/bin/bash
# tests/exim-module/test_dsn.sh - DSN per address through the Exim
# transport module: a client gives Exim (dsn_advertise_hosts = *) one
# message with RET, ENVID and five recipients of different NOTIFY values,
# ORCPTs good and bad; the module delivers them in ONE transaction with
# each recipient's own NOTIFY and ORCPT, as Exim's smtp transport would,
# to a Postfix receiver (DSN announced) that holds mail from
# dsn-*@sender.test (check_sender_access HOLD) so that its queue file
# shows (postcat) the one message with every recipient's DSN records.
#
# The recipients:
#   user   NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;first+2Blist@sender.test
#   alice  NOTIFY=NEVER
#   bob    NOTIFY=DELAY ORCPT of 600 characters (over the 500 the library
#          sends: dropped for bob, a line in the main log, bob delivered)
#   carol  NOTIFY=FAILURE ORCPT=bogus (not addr-type;xtext: dropped
#          likewise)
#   dave   nothing
# (Exim keeps an ORCPT only with a NOTIFY: its spool file has no room for
# one without.) Postfix's smtpd records its own ORCPT, rfc822;ADDRESS, for
# a recipient that came without one: an ORCPT that was not sent shows as
# that one.
#
# Cases, each for both paths:
#   a. in this process (a transport without daemon_socket)
#   b. through tlsrelayd (daemon_socket; tlsrelay -D per recipient)
# and for each: the client's 250s; Exim's log: one "=>" and four "->"
# (one transaction) through the right transport; the path taken (the
# delivery's own lines in Exim's main log, or none there and no fallback); one held message at the receiver; each recipient's
# notify_flags and dsn_orig_rcpt there; RET and ENVID; the main log's
# line for each dropped ORCPT.
#
# addr->dsn_aware (as Exim's smtp transport sets it): user asked
# NOTIFY=SUCCESS, and a DSN-aware server took it, so Exim sends no
# success notice of its own: no message from <> for the delivery in
# Exim's main log ("<= <> R=ID"). The same for both paths to a second
# receiver that does not announce DSN (smtpd_discard_ehlo_keywords = dsn,
# its own tlsrelay.conf and tlsrelayd; messages from nodsn-*@sender.test):
# there Exim does send its "relayed to non-DSN-aware mailer" notice
# (dsn_support_no), exactly one.
# Every wait is a bounded poll; no timing is asserted.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/exim-module/module.sh"
module_ns "$@"
# shellcheck source=tests/e2e/relay_conf.sh
. "$top_srcdir/tests/e2e/relay_conf.sh"

make_tmpdir
T=$TEST_TMP
module_require
require_cmd postfix postconf postcat postsuper python3 timeout
module_dir_setup || tap_bail "cannot bind-mount $T/modules over $EXIM_MODULE_DIR"
DAEMON=${TLSRELAYD_BIN:-$top_builddir/plugin/daemon/tlsrelayd}
[ -x "$DAEMON" ] || tap_bail "$DAEMON not built"

RPORT=$(free_port) && HPORT=$(free_port) && NPORT=$(free_port) || tap_bail "no free port"
CONF=$T/tlsrelay.conf
mkdir -p "$T/trspool" "$T/run" &&
	chown Debian-exim "$T/trspool" "$T/run" && chmod 0700 "$T/trspool" || tap_bail "mkdir failed"
relay_conf "$CONF" "$RPORT" encrypt "$T/trspool"
NCONF=$T/tlsrelay-nodsn.conf
relay_conf "$NCONF" "$NPORT" encrypt "$T/trspool"

receiver_new receiver "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
pf_set "$RECV" "smtpd_sender_restrictions = check_sender_access inline:{ { dsn-inproc@sender.test = HOLD }, { dsn-daemon@sender.test = HOLD } }"
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening on $RPORT"
receiver_new nodsn "$NPORT" may || tap_bail "receiver_new nodsn failed"
NRECV=$PF_DIR
pf_set "$NRECV" "smtpd_discard_ehlo_keywords = dsn"
pf_start "$NRECV" || tap_bail "receiver Postfix nodsn did not start"
wait_port 127.0.0.1 "$NPORT" 15 || tap_bail "receiver nodsn not listening on $NPORT"

start_bg dsn-d "$DAEMON" -v -u Debian-exim -c "$CONF" -s "$T/run/d.sock" -n 2
DPID=$BG_PID
wait_until 15 grep -q "ready on" "$T/dsn-d.out" || tap_bail "tlsrelayd not ready: $(cat "$T/dsn-d.out")"
start_bg nodsn-d "$DAEMON" -v -u Debian-exim -c "$NCONF" -s "$T/run/n.sock" -n 2
NDPID=$BG_PID
wait_until 15 grep -q "ready on" "$T/nodsn-d.out" || tap_bail "tlsrelayd nodsn not ready: $(cat "$T/nodsn-d.out")"

exim_new exim-host "$HPORT" || tap_bail "exim_new failed"
HOST=$EX_DIR
cat >> "$EX_CONF" <<EOF
remote_max_parallel = 1
dsn_advertise_hosts = *

begin acl
acl_check_rcpt:
  accept hosts = +relay_from_hosts
         domains = +relay_to_domains
  deny   message = relay not permitted

begin routers
nodsnd:
  driver = accept
  senders = nodsn-daemon@sender.test
  transport = nodsn_d
nodsni:
  driver = accept
  senders = nodsn-inproc@sender.test
  transport = nodsn_inproc
viad:
  driver = accept
  senders = dsn-daemon@sender.test
  transport = tlsrelay_d
inproc:
  driver = accept
  domains = example.test
  transport = tlsrelay_inproc

begin transports
tlsrelay_d:
  driver = tlsrelay
  config = $CONF
  daemon_socket = $T/run/d.sock
tlsrelay_inproc:
  driver = tlsrelay
  config = $CONF
nodsn_d:
  driver = tlsrelay
  config = $NCONF
  daemon_socket = $T/run/n.sock
nodsn_inproc:
  driver = tlsrelay
  config = $NCONF

begin retry
*  *  F,1d,1d
EOF

CASES=(inproc daemon)
tap_plan $(((15 + 3) * ${#CASES[@]}))
exim_check_start "$HOST"
tap_diag "receiver 127.0.0.1:$RPORT, Exim 127.0.0.1:$HPORT ($HOST), tlsrelayd $T/run/d.sock"

LONG="rfc822;$(printf 'x%.0s' $(seq 1 593))"     # 600 characters
# send NAME: the message from dsn-NAME@sender.test, the four recipients
# with their DSN parameters; prints the client's replies; sets EXIM_ID
send() {
	printf 'From: <dsn-%s@sender.test>\r\nSubject: dsn %s\r\nMessage-ID: <dsn-%s.%s@sender.test>\r\n\r\nBody.\r\n' \
		"$1" "$1" "$1" "$$" > "$T/$1.eml"
	timeout 60 python3 - "$HPORT" "$T/$1.eml" "$1" "$LONG" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.tlsrelay.test")
if not s.has_extn("dsn"):
    print("no DSN announced"); sys.exit(1)
name = sys.argv[3]
m = s.mail("dsn-%s@sender.test" % name, ["RET=HDRS", "ENVID=env-%s" % name])
r = [s.rcpt("user@example.test", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;first+2Blist@sender.test"]),
     s.rcpt("alice@example.test", ["NOTIFY=NEVER"]),
     s.rcpt("bob@example.test", ["NOTIFY=DELAY", "ORCPT=" + sys.argv[4]]),
     s.rcpt("carol@example.test", ["NOTIFY=FAILURE", "ORCPT=bogus"]),
     s.rcpt("dave@example.test")]
d = s.data(open(sys.argv[2], "rb").read())
print(m[0], *(x[0] for x in r), d[0], d[1].decode())
s.quit()
PY
}

# held_pairs: "ADDR notify=N orcpt=O" per recipient of the one message held
# at the receiver (postcat: "named_attribute: notify_flags=N", Postfix's
# NEVER 1, SUCCESS 2, FAILURE 4, DELAY 8; "dsn_orig_rcpt=..."), after
# "HELD n" (the number of held messages) and the message's DSN records
# (envelope_id=ENVID, ret_flags=N: Postfix's FULL 1, HDRS 2)
held() {
	local ids pc
	ids=$(pf_queue_ids "$RECV" hold)
	echo "HELD $(wc -w <<< "$ids")"
	pc=$(postcat -c "$RECV" -q "$(head -n 1 <<< "$ids")" 2>&1)
	grep -E 'named_attribute: (envelope_id|ret_flags)=' <<< "$pc"
	awk '/named_attribute: notify_flags=/ { n = $0; sub(/.*=/, "", n) }
		/named_attribute: dsn_orig_rcpt=/ { o = $0; sub(/.*dsn_orig_rcpt=/, "", o) }
		/^recipient: / { print $2 " notify=" n " orcpt=" o; n = ""; o = "" }' <<< "$pc"
}

for c in "${CASES[@]}"; do
	tap_diag "$c: at $SECONDS s"
	if [ "$c" = inproc ]; then rt="R=inproc T=tlsrelay_inproc"; else rt="R=viad T=tlsrelay_d"; fi
	out=$(send "$c" 2>&1)
	tap_like "$out" "^250 250 250 250 250 250 250 OK id=" "$c: Exim took the message with RET, ENVID, NOTIFY and ORCPT per recipient"
	id=$(sed -n 's/.* OK id=\([-0-9A-Za-z]*\).*/\1/p' <<< "$out")
	exim_log_wait "$HOST" "$id (=>|->|\*\*|==) dave@example.test" 60 >/dev/null
	wait_until 30 sh -c "[ \$(grep -cE '$id (=>|->|\*\*|==) ' '$(exim_log "$HOST")') -ge 5 ]"
	lines=$(grep -F "$id " "$(exim_log "$HOST")")
	tap_is "$(grep -cE "$id (=>|->) (user|alice|bob|carol|dave)@example\.test $rt" <<< "$lines")" 5 \
		"$c: the five recipients delivered ($rt)" "$lines"
	tap_is "$(grep -cE "$id => " <<< "$lines")" 1 "$c: in one transaction (one \"=>\", the others \"->\")" "$lines"
	if [ "$c" = inproc ]; then
		tap_is "$(grep -cE "$id tlsrelay: to=<(user|alice|bob|carol|dave)@example\.test>.*status=sent" <<< "$lines")" 5 \
			"$c: delivered in Exim's process (the delivery's lines in Exim's main log)" "$lines"
	else
		tap_unlike "$lines" "$id tlsrelay: (to=|Verified|.*delivering in this process)" \
			"$c: delivered by tlsrelayd (no delivery line in Exim's main log, no fallback)"
	fi
	tap_like "$lines" "$id tlsrelay: <bob@example\.test>: DSN ORCPT \"rfc822;x{33}\"\.\.\. not sent: not addr-type;xtext of at most 500 characters" \
		"$c: bob's ORCPT of 600 characters is not sent, and the main log says so"
	tap_like "$lines" "$id tlsrelay: <carol@example\.test>: DSN ORCPT \"bogus\" not sent: " \
		"$c: carol's malformed ORCPT is not sent, and the main log says so"
	wait_until 30 sh -c "[ -n \"\$(postqueue -c '$RECV' -j 2>/dev/null | grep '\"hold\"')\" ]"
	h=$(held)
	tap_like "$h" "^HELD 1$" "$c: one message held at the receiver (one transaction)" "$h"
	tap_like "$h" "^user@example\.test notify=6 orcpt=rfc822;first\+list@sender\.test$" \
		"$c: user arrived with NOTIFY=SUCCESS,FAILURE and its ORCPT" "$h"
	tap_like "$h" "^alice@example\.test notify=1 orcpt=rfc822;alice@example\.test$" \
		"$c: alice with NOTIFY=NEVER, no ORCPT sent (the receiver's own)" "$h"
	tap_like "$h" "^bob@example\.test notify=8 orcpt=rfc822;bob@example\.test$" \
		"$c: bob with NOTIFY=DELAY, his ORCPT of 600 characters not sent" "$h"
	tap_like "$h" "^carol@example\.test notify=4 orcpt=rfc822;carol@example\.test$" \
		"$c: carol with NOTIFY=FAILURE, her malformed ORCPT not sent" "$h"
	tap_like "$h" "^dave@example\.test notify= orcpt=rfc822;dave@example\.test$" \
		"$c: dave without NOTIFY (none sent)" "$h"
	tap_like "$h" "named_attribute: envelope_id=env-$c" "$c: ENVID passed on" "$h"
	tap_like "$h" "named_attribute: ret_flags=2" "$c: RET=HDRS passed on" "$h"
	exim_log_wait "$HOST" "$id Completed" 30 >/dev/null
	lines=$(grep -F "$id" "$(exim_log "$HOST")")
	tap_unlike "$lines" "<= <> R=$id " \
		"$c: DSN-aware server took user's NOTIFY=SUCCESS: no success notice from Exim (dsn_support_yes)" "$lines"
	postsuper -c "$RECV" -d ALL hold >/dev/null 2>&1
done

# send_nodsn NAME: from nodsn-NAME@sender.test to user (NOTIFY=SUCCESS)
# and dave (nothing); prints the client's replies
send_nodsn() {
	printf 'From: <nodsn-%s@sender.test>\r\nSubject: nodsn %s\r\n\r\nBody.\r\n' "$1" "$1" > "$T/n$1.eml"
	timeout 60 python3 - "$HPORT" "$T/n$1.eml" "$1" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.tlsrelay.test")
m = s.mail("nodsn-%s@sender.test" % sys.argv[3])
r = [s.rcpt("user@example.test", ["NOTIFY=SUCCESS"]), s.rcpt("dave@example.test")]
d = s.data(open(sys.argv[2], "rb").read())
print(m[0], *(x[0] for x in r), d[0], d[1].decode())
s.quit()
PY
}

for c in "${CASES[@]}"; do
	if [ "$c" = inproc ]; then rt="R=nodsni T=nodsn_inproc"; else rt="R=nodsnd T=nodsn_d"; fi
	out=$(send_nodsn "$c" 2>&1)
	id=$(sed -n 's/.* OK id=\([-0-9A-Za-z]*\).*/\1/p' <<< "$out")
	tap_like "$out" "^250 250 250 250 OK id=" "$c, server without DSN: Exim took the message" "$out"
	exim_log_wait "$HOST" "$id Completed" 60 >/dev/null
	lines=$(grep -F "$id" "$(exim_log "$HOST")")
	tap_is "$(grep -cE "$id (=>|->) (user|dave)@example\.test $rt" <<< "$lines")" 2 \
		"$c, server without DSN: both delivered ($rt)" "$lines"
	tap_is "$(grep -cF "<= <> R=$id " <<< "$lines")" 1 \
		"$c, server without DSN: Exim sends its own success notice for user (dsn_support_no)" "$lines"
done

exim_stop "$HOST"
stop_pid "$DPID"
stop_pid "$NDPID"
tap_done
