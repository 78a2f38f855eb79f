#!/bin/bash
# tests/e2e/test_postfix.sh - swaks -> Postfix (host) -> pipe(8) -> tlsrelay
# -> Postfix (receiver, STARTTLS) -> Maildir, all on 127.0.0.1.
#
# Needs root, postfix and swaks; skips otherwise. Uses the built
# $top_builddir/plugin/transport/tlsrelay (or $TLSRELAY_BIN), copied to the
# test directory so that pipe(8)'s user=nobody can run it.
#
# Cases:
#   a. body arrives byte for byte (leading dots, a long line, UTF-8, "From ")
#   b. the receiver's Received header shows ESMTPS and TLSv1.x
#   c. the host log says relay=tlsrelay status=sent
#   d. STARTTLS off at the receiver: "may" sends in plaintext, "encrypt" defers (4.7.x)
#   e. 450 from the receiver defers, 550 5.1.1 bounces with dsn=5.1.1
# Every wait is a bounded poll; no timing is asserted.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
# shellcheck source=tests/e2e/relay_conf.sh
. "$top_srcdir/tests/e2e/relay_conf.sh"

require_root
require_cmd postfix postconf postqueue postsuper swaks runuser
make_tmpdir

RPORT=$(free_port) && HPORT=$(free_port) || tap_bail "no free port"
T=$TEST_TMP
CONF=$T/tlsrelay.conf

# ------------------------------------------------------------------- set-up
TR=$(stage_tlsrelay "$T/bin") || tap_bail "cannot stage tlsrelay for user nobody (built? see stage_tlsrelay)"

mkdir -p "$T/trspool" && chown nobody "$T/trspool" && chmod 0700 "$T/trspool"
write_conf() {	# write_conf LEVEL
	relay_conf "$CONF" "$RPORT" "$1" "$T/trspool"
}
write_conf may

receiver_new receiver "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
host_new host "$HPORT" "$TR" "$CONF" || tap_bail "host_new failed"
HOST=$PF_DIR
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
pf_start "$HOST" || tap_bail "host Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening on $RPORT"
wait_port 127.0.0.1 "$HPORT" 15 || tap_bail "host not listening on $HPORT"
tap_diag "receiver 127.0.0.1:$RPORT ($RECV), host 127.0.0.1:$HPORT ($HOST), tlsrelay $TR"

# make_msg NAME TO SUBJECT: writes $T/NAME.eml (what swaks sends) and
# $T/NAME.body (the body the receiver must store); sets MSGID.
make_msg() {
	local name=$1 to=$2 subject=$3 long i
	MSGID="<e2e-$name.$$.$RANDOM@sender.test>"
	long=""
	for ((i = 0; i < 18; i++)); do long="${long}0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL-"; done
	cat > "$T/$name.body" <<-EOF
	Hello from the tlsrelay end-to-end test ($name).
	.a line that starts with a dot
	..and one with two dots
	.
	The line above is a single dot; the message must not end there.
	$long
	UTF-8: Grüße aus Köln – ÆØÅ æøå – 日本語のテキスト – ✉ 📨
	From the start of a line, as mbox would quote it
	  two leading spaces, and three trailing spaces   
	tab	separated	words
	Last line.
	EOF
	{
		printf 'From: Sender <sender@sender.test>\n'
		printf 'To: <%s>\n' "$to"
		printf 'Subject: %s\n' "$subject"
		printf 'Message-ID: %s\n' "$MSGID"
		printf 'Date: %s\n' "$(LC_ALL=C date -R)"
		printf 'MIME-Version: 1.0\n'
		printf 'Content-Type: text/plain; charset=utf-8\n'
		printf 'Content-Transfer-Encoding: 8bit\n'
		printf '\n'
		cat "$T/$name.body"
	} > "$T/$name.eml"
	# swaks adds CRLF before the final dot itself: end the file without one
	truncate -s -1 "$T/$name.eml"
}

# send NAME TO: swaks the message to the host; sets QID (the host's queue ID)
send() {
	swaks_send "$HPORT" sender@sender.test "$2" "$T/$1.eml"
	local rc=$?
	QID=${SENT_QID:-no-queue-id}	# never matches a log line
	printf '%s\n' "$SWAKS_OUT" > "$T/$1.swaks"
	[ "$rc" = 0 ] && [ -n "$QID" ]
}

host_log_for() {	# host_log_for QID: the host's log lines of that message
	pf_log_lines "$HOST" "[: ]$1: "
}

# deliver NAME TO SUBJECT TEST: make_msg and send the message, the point TEST
# (swaks handed it to the host), then wait (60 s at most) for the host's
# verdict; sets line (that log line), MSGID and QID
deliver() {
	local name=$1 to=$2
	make_msg "$name" "$to" "$3"
	send "$name" "$to"
	tap_status $? "$4" "$(tail -n 15 "$T/$name.swaks")"
	line=$(pf_log_wait "$HOST" "$QID: to=<$to>, relay=.*status=(sent|deferred|bounced)" 60)
}

still_queued() {	# still_queued NAME TEST: the point TEST that QID is in the host queue
	pf_queue_ids "$HOST" > "$T/$1.queue"
	grep -qx "$QID" "$T/$1.queue"
	tap_status $? "$2" "queue: $(cat "$T/$1.queue")"
}

# ------------------------------------------------- a, b, c: TLS delivery
tap_plan 28	# a linear script; deliver and still_queued make one check each
deliver tls user@example.test "tlsrelay e2e over TLS" "a: swaks hands the message to the host Postfix"
tap_like "$line" "status=sent" "c: host log: relay=tlsrelay status=sent"
tap_like "$line" ": to=<user@example\.test>, relay=tlsrelay," "c: host log: the delivery went through relay=tlsrelay"

mail=$(receiver_wait_mail "$RECV" user "$MSGID" 30)
tap_status $? "a: the message arrives in user's Maildir" "host log: $(host_log_for "$QID")"
if [ -n "$mail" ]; then
	mail_body "$mail" > "$T/tls.got"
	cmp -s "$T/tls.body" "$T/tls.got"
	tap_status $? "a: body arrives byte for byte" "$(diff -u "$T/tls.body" "$T/tls.got" | head -n 40)"
	recv=$(mail_header "$mail" Received)
	tap_like "$recv" "by mx\.example\.test .*with ESMTPS " "b: receiver's Received header says with ESMTPS"
	tap_like "$recv" "using TLSv1(\.[0-3])? with cipher" "b: receiver's Received header says using TLSv1.x"
	tap_like "$(mail_header "$mail" Received)" "from host\.tlsrelay\.test" "b: the receiver was greeted with helo_name"
else
	for n in "a: body arrives byte for byte" "b: Received says with ESMTPS" \
		"b: Received says using TLSv1.x" "b: the receiver was greeted with helo_name"; do
		tap_ok 0 "$n" "no message"
	done
fi

# ---------------------------------------- d: receiver without STARTTLS
receiver_tls "$RECV" none || tap_bail "receiver did not restart without STARTTLS"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening after restart"

deliver plain alice@example.test "tlsrelay e2e plaintext under may" "d: may: swaks hands the message to the host"
tap_like "$line" "status=sent" "d: may without STARTTLS: status=sent"
mail=$(receiver_wait_mail "$RECV" alice "$MSGID" 30)
tap_status $? "d: may without STARTTLS: the message arrives" "host log: $(host_log_for "$QID")"
recv=$([ -n "$mail" ] && mail_header "$mail" Received)
tap_like "$recv" "by mx\.example\.test .*with ESMTP id " "d: may without STARTTLS: Received says with ESMTP"
tap_unlike "${recv:-}" "using TLS|ESMTPS" "d: may without STARTTLS: Received shows no TLS"
if [ -n "$mail" ]; then
	mail_body "$mail" > "$T/plain.got"
	cmp -s "$T/plain.body" "$T/plain.got"
	tap_status $? "d: may without STARTTLS: body byte for byte" "$(diff -u "$T/plain.body" "$T/plain.got" | head -n 40)"
else
	tap_ok 0 "d: may without STARTTLS: body byte for byte" "no message"
fi

write_conf encrypt
deliver enc bob@example.test "tlsrelay e2e encrypt without STARTTLS" "d: encrypt: swaks hands the message to the host"
tap_like "$line" "status=deferred" "d: encrypt without STARTTLS: status=deferred"
tap_like "$line" "dsn=4\.7\.[0-9]+," "d: encrypt without STARTTLS: dsn=4.7.x"
tap_diag "host log: $line"
still_queued enc "d: encrypt without STARTTLS: the message stays in the host queue"
pf_push "$HOST" "$QID"	# one more attempt: still deferred, never bounced
pf_log_wait "$HOST" "$QID: to=<bob@example.test>, relay=tlsrelay, .*status=deferred" 30 >/dev/null
tap_unlike "$(host_log_for "$QID")" "status=(bounced|sent)" "d: encrypt without STARTTLS: never bounced nor sent"
tap_is "$(ls -A "$(receiver_maildir "$RECV" bob)/new" 2>/dev/null)" "" \
	"d: encrypt without STARTTLS: nothing reaches the receiver"
pf_delete "$HOST" "$QID"

# ------------------------------------------ e: 450 defers, 550 bounces
write_conf may
receiver_tls "$RECV" may || tap_bail "receiver did not restart with STARTTLS"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening after restart"

deliver temp tempfail@example.test "tlsrelay e2e 450" "e: 450: swaks hands the message to the host"
tap_like "$line" "status=deferred" "e: 450 from the receiver: status=deferred"
tap_like "$line" "dsn=4\.[0-9]+\.[0-9]+," "e: 450 from the receiver: dsn=4.x.x"
tap_diag "host log: $line"
still_queued temp "e: 450 from the receiver: the message stays in the host queue"
pf_delete "$HOST" "$QID"

deliver rej reject@example.test "tlsrelay e2e 550" "e: 550: swaks hands the message to the host"
tap_like "$line" "status=bounced" "e: 550 5.1.1 from the receiver: status=bounced"
tap_like "$line" "dsn=5\.1\.1," "e: 550 5.1.1 from the receiver: dsn=5.1.1"
tap_diag "host log: $line"
wait_until 15 eval '! pf_queue_ids "$HOST" | grep -qx "$QID"'
tap_status $? "e: 550: the bounced message leaves the host queue"

tap_done
