#!/bin/bash
# tests/milter/test_milter_headers.sh - security issue 13: the milter's
# requirement must never be lost by the transport's header parser, whatever
# the header section holds. End to end: a raw SMTP client -> Postfix (host,
# smtpd_milters = tlsrelay-milter with the rule "to user@example.test
# encrypt") -> pipe(8) -> tlsrelay -> Postfix (receiver), on 127.0.0.1.
#
# Needs root, postfix, python3 and the built tlsrelay-milter; skips
# otherwise. Set-up as in test_milter.sh.
#
# Cases (the receiver first has no STARTTLS):
#   a. header shapes that hid X-TLSRelay-Require from the transport before
#      the fix (it took a field name longer than 128 bytes for the end of
#      the header, and the message went out in plaintext with the internal
#      header): a 200-byte field name, a 1500-byte one (over 998: tlsrelay
#      folds it), a line that is no field (Postfix ends its header there
#      and adds an empty line), a bare CR in Subject (Postfix makes it a
#      space: this one passed before too), 10,000 fields, a 1 MB header.
#      Each: the host's queued copy carries the milter's field, tlsrelay
#      defers it with 4.7.x (TLS required, not offered), nothing arrives.
#   b. the transport alone, as an MTA that keeps bare CRs would run it:
#      "Subject: a<CR>b" (spooled as a line "b") and "Subject: a<CR><CR>"
#      (spooled as an empty line) before the field: 75 with 4.7.x.
#   c. the receiver now offers STARTTLS; the host retries: every message
#      of a. arrives over TLS (ESMTPS) without X-TLSRelay-Require anywhere
#      in it, its long field names intact; the messages of b. too.
# Against the code before the fix (5201f7e), name200, name1500, b1 and b2
# fail: delivered in plaintext (with ESMTP) with X-TLSRelay-Require in the
# delivered header. nofield, barecr, fields10000 and header1mb passed
# already (Postfix adds an empty line before a non-field line and turns a
# bare CR into a space); they stay as end-to-end coverage of those shapes.
# Every wait is a bounded poll; no timing is asserted.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/milter/milter.sh"

require_root
require_cmd postfix postconf postqueue postcat python3 runuser
MILTER=${TLSRELAY_MILTER_BIN:-$top_builddir/plugin/milter/tlsrelay-milter}
[ -x "$MILTER" ] || tap_skip_all "tlsrelay-milter not built (configure did not find libmilter-dev)"
make_tmpdir

RPORT=$(free_port) && HPORT=$(free_port) && MPORT=$(free_port) || tap_bail "no free port"
T=$TEST_TMP
HDR=X-TLSRelay-Require

milter_tlsrelay milter_rules "$T/rules"
printf 'to user@example.test encrypt\n' > "$T/rules"
chmod 0644 "$CONF" "$T/rules"

start_bg milter "$MILTER" -f -c "$CONF" -u nobody -p "inet:$MPORT@127.0.0.1"
wait_port 127.0.0.1 "$MPORT" 15 || tap_bail "milter did not start: $(cat "$T/milter.out")"
receiver_new receiver "$RPORT" none || tap_bail "receiver_new failed"
RECV=$PF_DIR
host_new host "$HPORT" "$TR" "$CONF" || tap_bail "host_new failed"
HOST=$PF_DIR
pf_set "$HOST" "smtpd_milters = inet:127.0.0.1:$MPORT" "milter_default_action = tempfail" \
	"milter_connect_timeout = 10s" "milter_command_timeout = 30s"
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
pf_start "$HOST" || tap_bail "host Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening"
wait_port 127.0.0.1 "$HPORT" 15 || tap_bail "host not listening"

# raw_send FILE: send FILE's bytes unchanged (bare CRs included; swaks and
# smtplib would rewrite them) as the data of one message from
# other@sender.test to user@example.test; sets RAW_QID (empty on failure)
raw_send() {
	RAW_QID=$(python3 - "$HPORT" "$1" <<-'PY'
	import socket, sys
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
	f = s.makefile("rb")
	def reply():
	    while True:
	        line = f.readline()
	        if line[3:4] != b"-":
	            return line.decode("ascii", "replace").strip()
	reply()
	for cmd in (b"EHLO client.tlsrelay.test", b"MAIL FROM:<other@sender.test>",
	            b"RCPT TO:<user@example.test>", b"DATA"):
	    s.sendall(cmd + b"\r\n")
	    reply()
	s.sendall(open(sys.argv[2], "rb").read() + b"\r\n.\r\n")
	r = reply()
	s.sendall(b"QUIT\r\n")
	print(r.split("queued as ")[1] if "queued as " in r else "")
	PY
	)
}

declare -A MARKS
# msg NAME PYTHON-BYTES-EXPR: $T/NAME.eml = standard fields, EXPR (the
# shape under test, bytes with LF line ends), a marker in Message-ID and body
msg() {
	MARK="marker-$1-$$-$RANDOM"
	python3 -c 'import sys
mark = sys.argv[2].encode()
shape = eval(sys.argv[3])
sys.stdout.buffer.write(b"From: <other@sender.test>\nTo: <user@example.test>\nSubject: headers\n"
    + b"Message-ID: <" + mark + b"@sender.test>\n" + shape + b"\n" + mark + b"\nbody line\n")' \
		"$1" "$MARK" "$2" | sed 's/$/\r/' > "$T/$1.eml"
	MARKS[$1]=$MARK
}

verdict() {	# verdict QID: the host's first delivery verdict line for QID (waits up to 60 s)
	pf_log_wait "$HOST" "$1: .*relay=tlsrelay.*status=(deferred|sent|bounced)" 60
}

# --------------------------------------- a. shapes through Postfix + milter
CASES=(name200 name1500 nofield barecr fields10000 header1mb)
B_CASES=(b1 b2)
msg name200     'b"X-" + b"N" * 200 + b": v\n"'
msg name1500    'b"X-" + b"N" * 1500 + b": v\n"'
msg nofield     'b"this line is no field\nX-After: a\n"'
msg barecr      'b"X-Note: a\rb\nX-After: a\n"'
msg fields10000 'b"".join(b"X-F%d: v\n" % i for i in range(10000))'
msg header1mb   'b"".join(b"X-Field-%05d: %s\n" % (i, b"0123456789" * 7) for i in range(12500))'
tap_expect $((3 * ${#CASES[@]} + 1))	# queued, the field, deferred; nothing arrived
for c in "${CASES[@]}"; do
	raw_send "$T/$c.eml"
	tap_status "$([ -n "$RAW_QID" ]; echo $?)" "a. $c: the host queues it" "$(tail -n 3 "$(pf_log "$HOST")")"
	[ -n "$RAW_QID" ] || continue
	tap_like "$(postcat -c "$HOST" -hq "$RAW_QID" 2>/dev/null)" "^$HDR: encrypt$" "a. $c: the milter added $HDR: encrypt"
	v=$(verdict "$RAW_QID")
	tap_like "$v" "dsn=4\.7\.[0-9].*status=deferred" "a. $c: tlsrelay defers it (4.7.x: TLS required, not offered)"
done
md=$(receiver_maildir "$RECV" user)
n=0
for f in "$md"/new/* "$md"/cur/*; do [ -f "$f" ] && n=$((n + 1)); done
tap_is "$n" 0 "a. the receiver got nothing"

# ------------------------------------------------- b. the transport alone
run_tr() {	# run_tr FILE: tlsrelay as the host would run it; sets TR_OUT, TR_RC
	TR_OUT=$("$TR" -c "$CONF" -f other@sender.test -- user@example.test < "$1" 2>&1)
	TR_RC=$?
}
printf 'From: <other@sender.test>\nSubject: a\rb\n%s: encrypt\n\n%s\n' "$HDR" bcr-marker > "$T/b1.eml"
printf 'From: <other@sender.test>\nSubject: a\r\r\n%s: encrypt\n\n%s\n' "$HDR" bcrcr-marker > "$T/b2.eml"
tap_expect $((2 * ${#B_CASES[@]}))	# 75, 4.7.x
for b in "${B_CASES[@]}"; do
	run_tr "$T/$b.eml"
	tap_is "$TR_RC" 75 "b. $b (bare CR before the field): deferred (75)"
	tap_like "$TR_OUT" "^4\.7\.[0-9] " "b. $b: with 4.7.x"
done

# ----------------------------------------- c. STARTTLS offered: delivered
receiver_tls "$RECV" may || tap_bail "receiver restart with STARTTLS failed"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening after restart"
pf_flush "$HOST"
tap_expect $((4 * ${#CASES[@]} + 2 + 4 * ${#B_CASES[@]}))	# a case 4, name200 and fields10000 1, b 4
for c in "${CASES[@]}"; do
	mark=${MARKS[$c]}
	f=$(receiver_wait_mail "$RECV" user "$mark" 90)
	tap_status $? "c. $c: delivered once STARTTLS is offered" "$(postqueue -c "$HOST" -p | tail -n 5)"
	[ -n "$f" ] || continue
	tap_like "$(mail_header "$f" Received)" "with ESMTPS id" "c. $c: over TLS (ESMTPS)"
	tap_is "$(grep -aci "$HDR" "$f")" 0 "c. $c: no $HDR anywhere in the delivered message"
	tap_like "$(sed -n '1,/^\r\{0,1\}$/p' "$f")" "^Message-ID: <$mark@sender.test>" "c. $c: its header arrived"
done
f=$(receiver_wait_mail "$RECV" user "${MARKS[name200]}" 1)
tap_like "$(cat "$f" 2>/dev/null)" "^X-N{200}: v$" "c. name200: the 200-byte field name intact"
f=$(receiver_wait_mail "$RECV" user "${MARKS[fields10000]}" 1)
tap_is "$(grep -ac '^X-F[0-9]*: v$' "$f" 2>/dev/null)" 10000 "c. fields10000: all 10,000 fields arrived"
for b in "${B_CASES[@]}"; do
	run_tr "$T/$b.eml"
	tap_is "$TR_RC" 0 "c. $b (transport alone): delivered once STARTTLS is offered"
	mark=$([ "$b" = b1 ] && echo bcr-marker || echo bcrcr-marker)
	f=$(receiver_wait_mail "$RECV" user "$mark" 60)
	tap_status $? "c. $b: received"
	tap_like "$(mail_header "$f" Received)" "with ESMTPS id" "c. $b: over TLS (ESMTPS)"
	tap_is "$(grep -aci "$HDR" "$f")" 0 "c. $b: no $HDR anywhere in the delivered message"
done

tap_done
