#!/bin/bash
# tests/exim/test_exim.sh - swaks -> Exim (host, 127.0.0.1) -> pipe transport
# -> tlsrelay -> Postfix (receiver, STARTTLS) -> Maildir.
#
# Exim runs the shipped snippets conf/exim/router_tlsrelay.conf and
# conf/exim/transport_tlsrelay.conf (.include'd, paths set by macros).
# Needs root, $EXIM (scripts/prepare.d/exim.sh), postfix, swaks; skips
# otherwise.
#
# Cases:
#   a. delivered over STARTTLS: Exim logs "=>" via T=tlsrelay, the
#      receiver's Received header shows ESMTPS/TLS, the body arrives intact
#      with no mbox "From " line
#   b. a sender with shell characters reaches the receiver verbatim (the
#      addresses go through the environment, never parsed by the shell)
#   c. 450 from the receiver: exit 75, deferred, still in "exim -bp"
#   d. receiver down: deferred, in the queue
#   e. a broken tlsrelay.conf (exit 78, 4.3.5): deferred, not bounced
#   f. 550 5.1.1 from the receiver: exit 67, "**" in Exim's log, and the
#      bounce quotes tlsrelay's reason (return_fail_output)
# Every wait is a bounded poll; no timing is asserted.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
# shellcheck source=tests/e2e/relay_conf.sh
. "$top_srcdir/tests/e2e/relay_conf.sh"
. "$top_srcdir/tests/exim/exim.sh"

exim_require
require_cmd postfix postconf swaks runuser
make_tmpdir
T=$TEST_TMP

RPORT=$(free_port) && HPORT=$(free_port) || tap_bail "no free port"
CONF=$T/tlsrelay.conf
TR=$(stage_tlsrelay "$T/bin") || tap_bail "cannot stage tlsrelay (built? see stage_tlsrelay)"
mkdir -p "$T/trspool" && chown Debian-exim "$T/trspool" && chmod 0700 "$T/trspool"
write_conf() {	# write_conf [EXTRA LINE]
	relay_conf "$CONF" "$RPORT" encrypt "$T/trspool" "$@"
}
write_conf

receiver_new receiver "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening on $RPORT"

exim_new host "$HPORT" || tap_bail "exim_new failed"
HOST=$EX_DIR
mkdir -p "$T/bounces" && chown Debian-exim "$T/bounces"
cat >> "$EX_CONF" <<EOF
TLSRELAY_PROGRAM = $TR
TLSRELAY_CONFIG = $CONF
# -C: Exim runs as Debian-exim and cannot change user (the snippet's
# default is _tlsrelay, for the system's Exim)
TLSRELAY_USER = Debian-exim

begin acl
acl_check_rcpt:
  accept hosts = +relay_from_hosts
         domains = +relay_to_domains
  deny   message = relay not permitted

begin routers
# bounces to the test senders land in a file the test reads
bounces:
  driver = accept
  domains = sender.test
  transport = bounce_file
.include $top_srcdir/conf/exim/router_tlsrelay.conf

begin transports
bounce_file:
  driver = appendfile
  file = $T/bounces/mbox
  user = Debian-exim
.include $top_srcdir/conf/exim/transport_tlsrelay.conf

begin retry
*  *  F,1d,1d
EOF
exim_check_start "$HOST"
tap_diag "receiver 127.0.0.1:$RPORT, Exim 127.0.0.1:$HPORT ($HOST), tlsrelay $TR"

# send NAME FROM TO: a small message; sets MSGID; Exim's id in EXIM_ID
send() {
	local name=$1 from=$2 to=$3
	MSGID="<exim-$name.$$.$RANDOM@sender.test>"
	{
		printf 'From: <%s>\nTo: <%s>\nSubject: exim %s\nMessage-ID: %s\n\n' "$from" "$to" "$name" "$MSGID"
		printf 'Hello from the Exim test (%s).\n.leading dot\nFrom the start of a line\nLast line.\n' "$name"
	} > "$T/$name.eml"
	swaks_send "$HPORT" "$from" "$to" "$T/$name.eml" --suppress-data
	EXIM_ID=$(printf '%s\n' "$SWAKS_OUT" | sed -n 's/.*<[-~] *250 OK id=\([-0-9A-Za-z]*\).*/\1/p' | tail -n 1)
	[ -n "$EXIM_ID" ]
}


output_lines() { grep -F "$EXIM_ID <" "$(exim_log "$HOST")"; }
in_queue() { exim_queue "$HOST" | grep -q -- "$1"; }
not_in_queue() { ! in_queue "$1"; }

tap_plan 22	# a linear script
# ------------------------------------------------------------- a. delivered
send a sender@sender.test user@example.test
tap_status $? "a: Exim accepts the message" "$SWAKS_OUT"
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) .*user@example.test" 60)
tap_like "$line" "$EXIM_ID => user <user@example.test> R=tlsrelay T=tlsrelay" "a: Exim logs the delivery through the tlsrelay router and transport"
mail=$(receiver_wait_mail "$RECV" user "$MSGID" 30)
tap_status $? "a: the receiver stored the message"
tap_like "$(mail_header "$mail" Received)" "ESMTPS.*|using TLSv1" "a: the receiver's Received header shows TLS"
tap_like "$(mail_header "$mail" Received)" "using TLSv1\.[23]" "a: TLS 1.2 or 1.3"
body=$(mail_body "$mail")
tap_is "$body" "$(printf 'Hello from the Exim test (a).\n.leading dot\nFrom the start of a line\nLast line.')" "a: the body arrives intact (no \"From \" prefix, no extra line)"
tap_unlike "$(sed -n '1,/^$/p' "$mail")" '^From ' "a: no mbox From line in the header"

# ------------------------------------------------- b. shell-proof addresses
odd='o$HOME`id`|x&y@sender.test'
send b "$odd" user@example.test
tap_status $? "b: Exim accepts a sender with \$, \`, | and &" "$SWAKS_OUT"
mail=$(receiver_wait_mail "$RECV" user "$MSGID" 60)
tap_status $? "b: delivered"
tap_is "$(mail_header "$mail" Return-Path)" "Return-Path: <$odd>" "b: the receiver saw the sender verbatim"

# ----------------------------------------------------------- c. 450: defer
send c sender@sender.test tempfail@example.test
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) tempfail@example.test" 60)
tap_like "$line" "$EXIM_ID == tempfail@example.test .*R=tlsrelay T=tlsrelay defer" "c: 450: Exim defers"
tap_like "$(output_lines)" "<tempfail@example.test>: tlsrelay transport output: 4\.2\.0 .*450" "c: Exim logs tlsrelay's reason (log_defer_output)"
in_queue "$EXIM_ID"
tap_status $? "c: the message stays in Exim's queue" "$(exim_queue "$HOST")"

# --------------------------------------------------- d. receiver down: defer
pf_stop "$RECV"
send d sender@sender.test alice@example.test
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) alice@example.test" 90)
tap_like "$line" "$EXIM_ID == alice@example.test .*R=tlsrelay T=tlsrelay defer" "d: receiver down: Exim defers"
in_queue "$EXIM_ID"
tap_status $? "d: the message stays in Exim's queue"
pf_start "$RECV" || tap_bail "receiver did not restart"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening again"

# -------------------------------------------- e. broken configuration: defer
write_conf "no_such_setting = 1"
send e sender@sender.test bob@example.test
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) bob@example.test" 60)
tap_like "$line" "$EXIM_ID == bob@example.test .*R=tlsrelay T=tlsrelay defer .*returned 78" "e: bad tlsrelay.conf (exit 78): Exim defers"
tap_like "$(output_lines)" "<bob@example.test>: tlsrelay transport output: 4\.3\.5 .*no_such_setting" "e: the log shows tlsrelay's 4.3.5 reason"
in_queue "$EXIM_ID"
tap_status $? "e: the message stays in Exim's queue"
write_conf

# ---------------------------------------------------------- f. 550: bounce
send f sender@sender.test reject@example.test
line=$(exim_log_wait "$HOST" "$EXIM_ID (=>|\*\*|==) reject@example.test" 60)
tap_like "$line" "$EXIM_ID \*\* reject@example.test .*R=tlsrelay T=tlsrelay.*returned 67" "f: 550 5.1.1 (exit 67): Exim bounces"
wait_until 30 not_in_queue "$EXIM_ID"
tap_status $? "f: the message left the queue" "$(exim_queue "$HOST")"
wait_until 30 grep -q '5\.1\.1' "$T/bounces/mbox" 2>/dev/null
tap_status $? "f: the bounce to the sender quotes tlsrelay's 5.1.1 reason" "$(head -n 40 "$T/bounces/mbox" 2>/dev/null)"

# ------------------------------------------- the deferred ones go out later
exim_cmd "$HOST" -M "$(exim_queue "$HOST" | awk '/alice@example.test/ { print prev } { prev = $3 }')" >/dev/null 2>&1
receiver_wait_mail "$RECV" alice "exim-d." 30 >/dev/null
tap_status $? "d: once the receiver is back, exim -M delivers the deferred message"

exim_stop "$HOST"
tap_done
