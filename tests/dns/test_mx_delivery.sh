#!/bin/bash
# tests/dns/test_mx_delivery.sh - tlsrelay without a relay host: MX routing
# (RFC 5321 section 5.1) end to end. A real unbound serves
# tests/dns/test.zone (tests/dns/unbound.sh), tlsrelay is run with
# dns_resolver pointing at it, and tests/peer/peer.py instances listen on
# 127.0.0.2x:25 and 127.0.0.3x:25, the addresses of the MX hosts in the
# zone. TAP output.
#
# Cases: the first MX dead -> the second delivers (byte for byte); the
# first greets 421 -> the next delivers; IPv6 address dead -> IPv4
# delivers; equal preferences -> both hosts come first within 20 runs;
# implicit MX; null MX -> 69 5.1.10; NXDOMAIN -> 69 5.1.2; SERVFAIL and a
# resolver that never answers -> 75 4.4.3; every MX dead -> 75 with the last
# connect error (4.4.1); a relay host that does not resolve -> 75 4.4.4
# (deferred, never bounced); mx_address_limit (2, and the default 5) counted
# by listeners that accept and close at once (each accept is one connection
# in the peer's transcript); mx_session_limit (the default 2, then 3) with
# servers answering 451 to MAIL FROM; DSN-awareness (tlsrelay -P's
# "ok+dsn", tlsrelay_rcpt.dsn_aware) and DSN parameters when the delivery
# falls back from a server that announces DSN to one that does not, the
# reverse, and two recipients split between them.
#
# Needs root (port 25), python3, unbound and the built tlsrelay
# ($TLSRELAY_BIN, else $top_builddir/plugin/transport/tlsrelay); without
# them, or when something already listens on port 25 of 127.0.0.20-39 (or
# of every address), the whole test is skipped ("1..0 # SKIP reason"); the
# IPv6 case alone is skipped when something listens on [::1]:25.
# tests/unit/dnsq (built by "make check") is used to see that unbound
# answers, when present. About 15 s.
#
# Safety: only 127.0.0.0/8 and ::1. Every process (unbound, peers, tlsrelay
# under timeout 60) is stopped by its PID (tests/lib.sh EXIT trap and
# ub_cleanup); TLSRELAY_KEEP_TMP=1 keeps the temp directory.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
# shellcheck source=tests/dns/unbound.sh
. "$top_srcdir/tests/dns/unbound.sh"
# shellcheck source=tests/dns/mx_peers.sh
. "$top_srcdir/tests/dns/mx_peers.sh"

# ---------------------------------------------------------------- needs
mx_needs 127.0.0.2x 'ssl, json, threading'
require_cmd timeout cmp
ZONE=$top_srcdir/tests/dns/test.zone
DNSQ=${DNSQ:-$top_builddir/tests/unit/dnsq}
mx_port25_free 20 39
v6_busy=$MX_V6_BUSY

make_tmpdir TEST_TMP
T=$TEST_TMP

# ---------------------------------------------------------------- unbound
mx_unbound "$ZONE"

# ---------------------------------------------------------------- message
{
	printf 'Subject: mx delivery test\n'
	printf 'Message-ID: <mx-test@example.test>\n'
	printf '\n'
	printf '.leading dot\n'
	printf '.\n'
	printf 'last line\n'
} > "$T/msg.in"
{
	printf 'Subject: mx delivery test\r\n'
	printf 'Message-ID: <mx-test@example.test>\r\n'
	printf '\r\n'
	printf '.leading dot\r\n'
	printf '.\r\n'
	printf 'last line\r\n'
} > "$T/msg.canon"

mx_conf
# first MX down 3, 421 greeting 3, IPv6 3, equal preferences 2, implicit MX
# 2, DNS failures 4, resolver timeout 2, all MX down 3, relayhost 2,
# mx_address_limit 4, mx_session_limit 4, DSN-awareness with fallback 14
tap_plan 46

# ---------------------------------------------------------------- peers
# peers, stop_peers, fact, send, why, result, delivered, tried, connects:
# tests/dns/mx_peers.sh.

# live_conns NAME ADDR: connections the running peer accepted so far.
live_conns() {
	"$PY" "$PEER" report "$T/$1/$2" 2>/dev/null | sed -n 's/^conns=//p' | head -n 1
}

# ================================================================ cases

# -- 1: the first MX dead (refused), the second delivers.
peers mxd1 127.0.0.22:good
send mxd1 -- user@mxd1.test
stop_peers
result "first MX down: exit 0, no output" 0 -
delivered "first MX down: the second MX got the message byte for byte" mxd1 127.0.0.22
tried 'down\.mxd1\.test\[127\.0\.0\.21\]:25' 'up\.mxd1\.test\[127\.0\.0\.22\]:25'
tap_status $? "first MX down: preference 10 tried, then 20" "connects: $(connects)"

# -- 2: the first MX greets 421, the next delivers.
peers greet421 127.0.0.24:greeting_421 127.0.0.25:good
send greet421 -- user@greet421.test
stop_peers
result "first MX greets 421: exit 0" 0 -
delivered "first MX greets 421: the next MX got the message" greet421 127.0.0.25
[ "$(fact greet421 127.0.0.24 conns)" = 1 ] && [ "$(fact greet421 127.0.0.24 mail_plain)" = 0 ] &&
	[ "$(fact greet421 127.0.0.24 mail_tls)" = 0 ]
tap_status $? "first MX greets 421: it was connected once, no MAIL FROM" \
	"$(cat "$T/greet421/127.0.0.24/report")"

# -- 3: the IPv6 address (nothing on [::1]:25) fails, IPv4 delivers.
if [ -n "$v6_busy" ]; then
	for t in "exit 0" "IPv4 got the message" "::1 tried first"; do
		tap_skip "IPv6 unreachable: $t" "something listens on $v6_busy"
	done
else
	peers v6 127.0.0.23:good
	send v6 -- user@v6.test
	stop_peers
	result "IPv6 unreachable -> IPv4: exit 0" 0 -
	delivered "IPv6 unreachable -> IPv4: the peer on 127.0.0.23 got the message" v6 127.0.0.23
	tried 'dual\.v6\.test\[::1\]:25' 'dual\.v6\.test\[127\.0\.0\.23\]:25'
	tap_status $? "IPv6 unreachable -> IPv4: [::1] tried first, then 127.0.0.23" "connects: $(connects)"
fi

# -- 4: equal preferences: within 20 runs each host gets the first
# connection at least once (failure odds 2^-19). Only that is asserted.
peers eq 127.0.0.26:good 127.0.0.27:good
first_a=0 first_b=0 bad=
for ((run = 1; run <= 20; run++)); do
	send "eq/run$run" -- user@eq.test
	[ "$RC" = 0 ] || { bad="run $run: $(why)"; break; }
	case $(connects) in
	'a.eq.test[127.0.0.26]:25 '*) first_a=$((first_a + 1)) ;;
	'b.eq.test[127.0.0.27]:25 '*) first_b=$((first_b + 1)) ;;
	*) bad="run $run: first connection to neither: $(connects)"; break ;;
	esac
	[ $first_a -gt 0 ] && [ $first_b -gt 0 ] && break
done
[ $run -gt 20 ] && run=20
conns_a=$(live_conns eq 127.0.0.26)
conns_b=$(live_conns eq 127.0.0.27)
stop_peers
tap_status "$([ -z "$bad" ]; echo $?)" "equal preferences: every run delivered (exit 0)" "$bad"
[ $first_a -gt 0 ] && [ $first_b -gt 0 ] && [ "${conns_a:-0}" -gt 0 ] && [ "${conns_b:-0}" -gt 0 ]
tap_status $? "equal preferences: each host came first at least once within $run runs" \
	"first: a.eq $first_a, b.eq $first_b; peers' connections: a $conns_a, b $conns_b"

# -- 5: implicit MX: no MX record, the domain's A record.
peers implicit 127.0.0.28:good
send implicit -- user@implicit.test
stop_peers
result "implicit MX: exit 0" 0 -
delivered "implicit MX: the domain's own address got the message" implicit 127.0.0.28

# -- 6-8: DNS answers that settle the delivery without any connection.
send nullmx -- user@nullmx.test
result "null MX: exit 69, 5.1.10" 69 5.1.10
none=$(connects)
send nx -- user@nx.test
result "NXDOMAIN: exit 69, 5.1.2" 69 5.1.2
none=$none$(connects)
send servfail -- user@broken.test
result "SERVFAIL: exit 75, 4.4.3" 75 4.4.3
none=$none$(connects)
tap_is "$none" "" "null MX, NXDOMAIN, SERVFAIL: no connection attempted"

# -- 8b: a resolver that never answers (unbound with access-control deny):
# temporary 4.4.3, bounded by the DNS timeout (command_timeout 2 s per try).
if ub_start_deaf; then
	t0=$(date +%s)
	send deaf -o "dns_resolver=127.0.0.1:$ub_deaf_port" -o command_timeout=2s -- user@mxd1.test
	t1=$(date +%s)
	ub_stop_deaf
	result "resolver timeout: exit 75, 4.4.3" 75 4.4.3
	[ $((t1 - t0)) -le 15 ]
	tap_status $? "resolver timeout: failed within 15 s ($((t1 - t0)) s)"
else
	tap_ok 0 "resolver timeout: exit 75, 4.4.3" "the silent unbound did not start"
	tap_ok 0 "resolver timeout: failed within 15 s" "the silent unbound did not start"
fi

# -- 9: every MX dead: deferred with the last failure (the second MX).
send alldown -- user@alldown.test
result "all MX down: exit 75, 4.4.1" 75 4.4.1
case $FIRST in
*'d2.alldown.test[127.0.0.30]:25'*) tap_ok 1 "all MX down: the reason is the last connect error" ;;
*) tap_ok 0 "all MX down: the reason is the last connect error" "$(why)" ;;
esac
tried 'd1\.alldown\.test\[127\.0\.0\.29\]:25' 'd2\.alldown\.test\[127\.0\.0\.30\]:25'
tap_status $? "all MX down: both tried, in preference order" "connects: $(connects)"

# -- 10: a relay host that does not resolve is deferred, never bounced.
send relay_nx -o relayhost=nosuch.test -- user@mxd1.test
result "relayhost nosuch.test (MX lookup, NXDOMAIN): exit 75, 4.4.4" 75 4.4.4
send relay_nx_br -o 'relayhost=[nosuch.test]' -- user@mxd1.test
result "relayhost [nosuch.test] (no address): exit 75, 4.4.4" 75 4.4.4

# -- 11: mx_address_limit, counted by listeners that accept and close
# (3 MX hosts with 2 addresses each: 127.0.0.31-32, 33-34, 35-36).
LIMIT_PEERS=(127.0.0.31:mx_drop 127.0.0.32:mx_drop 127.0.0.33:mx_drop
             127.0.0.34:mx_drop 127.0.0.35:mx_drop 127.0.0.36:mx_drop)
conns_of() {	# conns_of CASE ADDR...: one count per address
	local name=$1 a; shift
	for a in "$@"; do printf '%s ' "$(fact "$name" "$a" conns)"; done
}
peers limit2 "${LIMIT_PEERS[@]}"
send limit2 -o mx_address_limit=2 -- user@limit.test
stop_peers
result "mx_address_limit=2, 6 dead addresses: exit 75, 4.4.2" 75 4.4.2
got=$(conns_of limit2 127.0.0.3{1..6})
tap_is "$got" "1 1 0 0 0 0 " "mx_address_limit=2: exactly 2 connections, both to the first MX"

peers limit5 "${LIMIT_PEERS[@]}"
send limit5 -- user@limit.test
stop_peers
result "mx_address_limit default (5), 6 dead addresses: exit 75" 75 4.4.2
got=$(conns_of limit5 127.0.0.3{1..6})
case $got in
"1 1 1 1 1 0 "|"1 1 1 1 0 1 ") tap_ok 1 "mx_address_limit default: exactly 5 connections, in MX order" ;;
*) tap_ok 0 "mx_address_limit default: exactly 5 connections, in MX order" \
	"connections per address 127.0.0.31-36: $got; $(why)" ;;
esac

# -- 12: mx_session_limit: two MX answer 451 to MAIL FROM (sessions past
# EHLO), the third would deliver.
peers sess2 127.0.0.37:mail_451 127.0.0.38:mail_451 127.0.0.39:good
send sess2 -- user@sess.test
stop_peers
result "mx_session_limit default (2): exit 75 with the 451" 75 4.3.0
tap_is "$(conns_of sess2 127.0.0.37 127.0.0.38 127.0.0.39)" "1 1 0 " \
	"mx_session_limit default: two sessions, the third MX not contacted"

peers sess3 127.0.0.37:mail_451 127.0.0.38:mail_451 127.0.0.39:good
send sess3 -o mx_session_limit=3 -- user@sess.test
stop_peers
result "mx_session_limit=3: exit 0" 0 -
delivered "mx_session_limit=3: the third MX got the message" sess3 127.0.0.39

# -- 13: DSN-awareness with MX fallback (tlsrelay_rcpt.dsn_aware, -P's
# "ok+dsn"): it is the server that ACCEPTED the recipient that counts, not
# the first one tried. greet421.test: busy (127.0.0.24, preference 10),
# then ok (127.0.0.25). Every run asks for DSN (-N, -R, -V and the
# recipient's own NOTIFY and ORCPT, -D); a server that does not announce
# DSN must get none of it.
nodsn_caps='["PIPELINING", "SIZE 10240000", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME"]'
printf '{ "comment": "no DSN; everything accepted", "ehlo_caps": %s }\n' "$nodsn_caps" \
	> "$T/nodsn_good.json"
printf '{ "comment": "no DSN; MAIL answered 451", "ehlo_caps": %s,
  "replies": { "MAIL": "451 4.3.0 Error: try again later" } }\n' "$nodsn_caps" > "$T/nodsn_mail_451.json"
printf '%s\n' '{ "comment": "DSN; every RCPT answered 450",' \
	'  "replies": { "RCPT": "450 4.2.0 <x>: Recipient address rejected: try later" } }' \
	> "$T/dsn_rcpt_450.json"
printf '%s\n' '{ "comment": "DSN; RCPT for two@ answered 450, the others accepted",' \
	'  "rcpt_replies": { "two@": "450 4.2.0 <two@greet421.test>: mailbox busy" } }' \
	> "$T/dsn_rcpt_450_two.json"

# cmds NAME ADDR VERB: the VERB command lines the stopped peer received, one a line
cmds() {
	"$PY" - "$T/$1/$2/transcript.jsonl" "$3" <<'EOF'
import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(l)
    if r.get("verb") == sys.argv[2] and "line" in r:
        print(r["line"])
EOF
}
# rcpt_line INDEX: tlsrelay -P's line for recipient INDEX (from 0), without its text
rcpt_line() {
	printf '%s\n' "$OUT" | sed -n "s/^\\(rcpt $1 [^ ]* [^ ]*\\) .*/\\1/p"
}
DSN_ARGS=(-P -N 'SUCCESS,FAILURE' -R HDRS -V env13)
ORCPT1='rfc822;user@greet421.test'
WANT_DSN_RCPT="RCPT TO:<user@greet421.test> NOTIFY=SUCCESS ORCPT=$ORCPT1"

# dsn_case NAME: the common checks of one recipient's fallback case; the
# first server's own check follows in the case
dsn_case() {	# NAME LABEL WANT_P WANT_RCPT_AT_25 WANT_MAIL_PARAMS_AT_25
	local mail25
	[ "$RC" = 0 ] && [ "$(rcpt_line 0)" = "$3" ]
	tap_status $? "$2: exit 0, -P says \"$3\"" "$(why)"
	delivered "$2: the second MX (127.0.0.25) got the message" "$1" 127.0.0.25
	mail25=$(cmds "$1" 127.0.0.25 MAIL)
	case $5:$mail25 in
	yes:*' RET=HDRS'*' ENVID=env13'*|yes:*' ENVID=env13'*' RET=HDRS'*) ;;
	no:*RET=*|no:*ENVID=*|*:) mail25="unexpected: $mail25" ;;
	no:*) ;;
	*) mail25="unexpected: $mail25" ;;
	esac
	[ "$(cmds "$1" 127.0.0.25 RCPT)" = "$4" ] && [ "${mail25#unexpected}" = "$mail25" ]
	tap_status $? "$2: the second MX got RCPT \"$4\" and DSN in MAIL: $5" \
		"MAIL: $mail25; RCPT: $(cmds "$1" 127.0.0.25 RCPT)"
}

# (a) the first server announces DSN and answers 451 to MAIL; the second
# does not announce DSN and accepts: dsn_aware 0, no NOTIFY/ORCPT to it.
peers dsn_a 127.0.0.24:mail_451 "127.0.0.25:$T/nodsn_good.json"
send dsn_a "${DSN_ARGS[@]}" -D "NOTIFY=SUCCESS ORCPT=$ORCPT1" -- user@greet421.test
stop_peers
dsn_case dsn_a "DSN first, 451 to MAIL, no DSN second" "rcpt 0 ok 2.0.0" "RCPT TO:<user@greet421.test>" no
mail24=$(cmds dsn_a 127.0.0.24 MAIL)
# (its RCPT, pipelined behind the MAIL, carried NOTIFY and ORCPT too)
case $mail24 in *' RET=HDRS'*' ENVID=env13'*|*' ENVID=env13'*' RET=HDRS'*) true ;; *) false ;; esac
tap_status $? "DSN first, 451 to MAIL: the first MX announced DSN (RET and ENVID in its MAIL)" \
	"MAIL: $mail24; RCPT: $(cmds dsn_a 127.0.0.24 RCPT)"

# (a') the same, the first server refusing the RCPT itself (450) after its
# NOTIFY and ORCPT: the refusal must not leave dsn_aware set.
peers dsn_a2 "127.0.0.24:$T/dsn_rcpt_450.json" "127.0.0.25:$T/nodsn_good.json"
send dsn_a2 "${DSN_ARGS[@]}" -D "NOTIFY=SUCCESS ORCPT=$ORCPT1" -- user@greet421.test
stop_peers
dsn_case dsn_a2 "DSN first, 450 to RCPT, no DSN second" "rcpt 0 ok 2.0.0" "RCPT TO:<user@greet421.test>" no
tap_is "$(cmds dsn_a2 127.0.0.24 RCPT)" "$WANT_DSN_RCPT" \
	"DSN first, 450 to RCPT: the first MX got NOTIFY and ORCPT"

# (b) the reverse: the first does not announce DSN and answers 451 to MAIL,
# the second announces DSN and accepts: dsn_aware 1, NOTIFY and ORCPT sent.
peers dsn_b "127.0.0.24:$T/nodsn_mail_451.json" 127.0.0.25:good
send dsn_b "${DSN_ARGS[@]}" -D "NOTIFY=SUCCESS ORCPT=$ORCPT1" -- user@greet421.test
stop_peers
dsn_case dsn_b "no DSN first, 451 to MAIL, DSN second" "rcpt 0 ok+dsn 2.0.0" "$WANT_DSN_RCPT" yes
mail24=$(cmds dsn_b 127.0.0.24 MAIL)
case $mail24 in *RET=*|*ENVID=*|'') false ;; esac
tap_status $? "no DSN first, 451 to MAIL: no DSN parameter in its MAIL" "MAIL: $mail24"

# (c) two recipients split between the servers: the first (DSN) accepts
# one@ and answers 450 for two@, the second (no DSN) accepts two@: each
# recipient has its own server's answer.
peers dsn_c "127.0.0.24:$T/dsn_rcpt_450_two.json" "127.0.0.25:$T/nodsn_good.json"
send dsn_c "${DSN_ARGS[@]}" -D "NOTIFY=SUCCESS" -D "NOTIFY=DELAY" -- one@greet421.test two@greet421.test
stop_peers
[ "$RC" = 0 ] && [ "$(rcpt_line 0)" = "rcpt 0 ok+dsn 2.0.0" ] && [ "$(rcpt_line 1)" = "rcpt 1 ok 2.0.0" ]
tap_status $? "split: exit 0, one@ ok+dsn (the DSN server), two@ ok (the other)" "$(why)"
[ "$(cmds dsn_c 127.0.0.24 RCPT | tr '\n' '|')" = \
  "RCPT TO:<one@greet421.test> NOTIFY=SUCCESS|RCPT TO:<two@greet421.test> NOTIFY=DELAY|" ] &&
	[ "$(cmds dsn_c 127.0.0.25 RCPT)" = "RCPT TO:<two@greet421.test>" ]
tap_status $? "split: the second MX got two@ alone, without NOTIFY" \
	"first: $(cmds dsn_c 127.0.0.24 RCPT | tr '\n' '|'); second: $(cmds dsn_c 127.0.0.25 RCPT)"

tap_done
