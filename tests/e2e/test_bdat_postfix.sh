#!/bin/bash
# tests/e2e/test_bdat_postfix.sh - tlsrelay -> a real Postfix smtpd (STARTTLS,
# PIPELINING, CHUNKING) -> Maildir, on 127.0.0.1: the message goes over BDAT
# and arrives byte for byte.
#
# Cases:
#   a. a small message (leading dots, a lone dot, "..", a line of 2500
#      octets, UTF-8, LF / CR LF / bare CR, no final newline, a leading
#      "From " line): one "BDAT n LAST"; the receiver's log counts bdat=1
#      and no data; the Maildir copy equals the expected canonical message
#      (line ends stored as LF by Postfix; the long line folded as Postfix's
#      own smtp client would); MAIL FROM carried SIZE= and BODY=8BITMIME
#      (tlsrelay -vv transcript)
#   b. about 3 MB: three 1 MiB-sized BDAT chunks (bdat=3), byte for byte
#   c. use_chunking = no: DATA (data=1, no bdat), byte for byte
# Postfix prepends Return-Path, Delivered-To and its Received header: the
# comparison starts at the message's first header (X-Integrity-Case).
#
# Needs root and postfix (skips otherwise). Every wait is a bounded poll.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

require_root
require_cmd postfix postconf python3
make_tmpdir
T=$TEST_TMP
: "${top_builddir:=/tmp/pb}"
TLSRELAY=${TLSRELAY_BIN:-$top_builddir/plugin/transport/tlsrelay}
[ -x "$TLSRELAY" ] || tap_bail "no tlsrelay at $TLSRELAY"

RPORT=$(free_port) || tap_bail "no free port"
receiver_new receiver "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
pf_set "$RECV" "smtpd_discard_ehlo_keywords =" "message_size_limit = 20480000"
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening on $RPORT"
mkdir -p "$T/spool"

# make_msg NAME SIZE: $T/NAME.in (tlsrelay's input) and $T/NAME.want (what
# the Maildir must hold from the first header on: LF line ends)
make_msg() {
	python3 - "$T/$1.in" "$T/$1.want" "$1" "$2" <<'PYEOF'
import random, sys
inp, want, name, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
hdr = ("X-Integrity-Case: %s\nFrom: <sender@sender.test>\nTo: <user@example.test>\n"
       "Subject: BDAT integrity %s\nMessage-ID: <bdat-%s@sender.test>\n"
       "Date: Thu, 01 Jan 2026 00:00:00 +0000\nMIME-Version: 1.0\n"
       "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" % (name, name, name)).encode()
raw = [b"From sender@sender.test Thu Jan  1 00:00:00 2026\n", hdr]
out = [hdr]
long1 = bytes(b"0123456789"[i % 10] for i in range(2500))
folded = long1[:998] + b"\n " + long1[998:1995] + b"\n " + long1[1995:]
raw += [b".leading dot\n", b"..two dots\r\n", b".\n", b"bare\rCR\n", long1 + b"\n",
        "Grüße aus Köln – 日本語\n".encode(), b"From the start of a line\n"]
out += [b".leading dot\n", b"..two dots\n", b".\n", b"bare\nCR\n", folded + b"\n",
        "Grüße aus Köln – 日本語\n".encode(), b"From the start of a line\n"]
r, n = random.Random(name), sum(map(len, out))
while n < size:
    line = (b"." if r.random() < 0.3 else b"") + bytes(r.choice(b"abc .xyz") for _ in range(r.randrange(0, 900)))
    raw.append(line + r.choice([b"\n", b"\r\n"])); out.append(line + b"\n"); n += len(line) + 1
raw.append(b"last line without newline"); out.append(b"last line without newline\n")
open(inp, "wb").write(b"".join(raw)); open(want, "wb").write(b"".join(out))
PYEOF
}

# run NAME [conf line]: tlsrelay -vv to the receiver; sets RC
run() {
	cat > "$T/$1.conf" <<-EOF
	relayhost = [127.0.0.1]:$RPORT
	tls_security_level = verify
	tls_ca_file = $CERTS/ca.pem
	helo_name = host.tlsrelay.test
	syslog = no
	deadline = 60s
	spool_directory = $T/spool
	${2:-}
	EOF
	timeout -k 5 90 "$TLSRELAY" -c "$T/$1.conf" -vv -f sender@sender.test -- user@example.test \
		< "$T/$1.in" > "$T/$1.out" 2> "$T/$1.err"
	RC=$?
}

# from_first_header FILE: the Maildir file from the X-Integrity-Case line on
from_first_header() { sed -n '/^X-Integrity-Case: /,$p' "$1"; }

# check NAME LETTER VERB COUNT: the points of one delivery
check() {
	local name=$1 l=$2 verb=$3 count=$4 mail logline
	tap_is "$RC" 0 "$l: tlsrelay exits 0 ($name)"
	mail=$(receiver_wait_mail "$RECV" user "bdat-$name@sender.test" 30)
	tap_status $? "$l: the message arrives in the Maildir" "$(tail -n 5 "$T/$name.err")"
	if [ -n "$mail" ]; then
		from_first_header "$mail" > "$T/$name.got"
		cmp -s "$T/$name.got" "$T/$name.want"
		tap_status $? "$l: byte for byte ($(wc -c < "$T/$name.want") bytes)" \
			"$(cmp "$T/$name.got" "$T/$name.want" 2>&1 | head -n 2)"
	else
		tap_ok 0 "$l: byte for byte" "no message"
	fi
	logline=$(pf_log_wait "$RECV" "disconnect from .* $verb=$count " 20)
	tap_status $? "$l: receiver log: $verb=$count" "$(pf_log_lines "$RECV" 'disconnect from' | tail -n 3)"
	case $verb in
	bdat) tap_unlike "$logline" " data=" "$l: receiver log: no DATA" ;;
	data) tap_unlike "$logline" " bdat=" "$l: receiver log: no BDAT" ;;
	esac
}

tap_plan $((3 * 5 + 3))	# three deliveries (check: 5 each), three -vv lines
make_msg small 4000
run small
check small a bdat 1
tap_like "$(cat "$T/small.err")" "> .*: BDAT [0-9]+ LAST$" "a: one BDAT n LAST (tlsrelay -vv)"
tap_like "$(cat "$T/small.err")" "MAIL FROM:<sender@sender.test> SIZE=[0-9]+ BODY=8BITMIME" "a: MAIL FROM with SIZE= and BODY=8BITMIME"
tap_like "$(cat "$T/small.err")" "TLS connection established" "a: over TLS (verify)"

make_msg big 3100000
run big
check big b bdat 3

make_msg nochunk 4000
run nochunk "use_chunking = no"
check nochunk c data 1

pf_stop "$RECV"
tap_done
