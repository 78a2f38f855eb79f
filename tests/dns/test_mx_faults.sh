#!/bin/bash
# tests/dns/test_mx_faults.sh - MX fallback when a server fails, with a real
# unbound serving tests/dns/test.zone + tests/dns/mx_faults.zone and
# tests/peer/peer.py instances on port 25 of 127.0.0.40-59 (the MX hosts of
# mx_faults.zone). Complements tests/dns/test_mx_delivery.sh (first MX
# dead, 421 greeting, IPv6 -> IPv4, equal preferences delivering, null MX,
# NXDOMAIN, SERVFAIL, resolver timeout, all MX dead, limits), which is not
# repeated here.
#
# Cases: the first MX greets 554 / answers MAIL 451 / goes silent after EHLO
# -> the second delivers; the first fails TLS (garbage after STARTTLS, or no
# STARTTLS) under level encrypt -> the second delivers and the first never
# saw MAIL (under may the same failure is a plaintext retry on the first);
# a 5xx to RCPT is final: the second MX is not tried; every MX failing ->
# 75 with the LAST failure (a connect error after a 421 greeting, a 554
# greeting after a refused connect); equal preferences, both failing: every
# run tries both, and both orders occur within 40 runs (a false failure has
# odds 2^-39); an MX host without an address is skipped; two recipient
# domains, one with a dead MX -> 75, the line names who failed and who was
# accepted, and the live domain got one transaction with its recipient
# only; two recipients of one domain share one transaction.
#
# Needs root (port 25), python3, unbound and the built tlsrelay; without
# them, or when port 25 of 127.0.0.40-59 (or of every address) is taken,
# the test is skipped. About 30 s. Safety: only 127.0.0.0/8; every process
# is stopped by its PID.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
# shellcheck source=tests/dns/unbound.sh
. "$top_srcdir/tests/dns/unbound.sh"
# shellcheck source=tests/dns/mx_peers.sh
. "$top_srcdir/tests/dns/mx_peers.sh"

mx_needs 127.0.0.4x 'ssl, json, threading'
require_cmd timeout cmp
DNSQ=${DNSQ:-$top_builddir/tests/unit/dnsq}
mx_port25_free 40 59

make_tmpdir TEST_TMP
T=$TEST_TMP
cat "$top_srcdir/tests/dns/test.zone" "$top_srcdir/tests/dns/mx_faults.zone" > "$T/zone"

mx_unbound "$T/zone"

printf 'Subject: mx faults\n\n.leading dot\nlast line\n' > "$T/msg.in"
printf 'Subject: mx faults\r\n\r\n.leading dot\r\nlast line\r\n' > "$T/msg.canon"
mx_conf
# five fallbacks (3 each) with 2 more, garbage under may 3, RCPT 550 2,
# every MX failing 5, equal preferences 2, no address 2, two domains 4, one
# domain 2
tap_plan 37
FIRST_FB='first\.fb\.test\[127\.0\.0\.40\]:25'
SECOND_FB='second\.fb\.test\[127\.0\.0\.41\]:25'

# no_mail NAME ADDR: the peer at ADDR got no MAIL FROM at all
no_mail() {
	[ "$(fact "$1" "$2" mail_plain)" = 0 ] && [ "$(fact "$1" "$2" mail_tls)" = 0 ]
}

# fallback NAME SCENARIO TITLE MAIL [ARGS]: the first MX (127.0.0.40) runs
# SCENARIO and fails; the second (.41) must deliver; MAIL "no": the first
# never saw MAIL FROM.
fallback() {
	local name=$1 scen=$2 title=$3 mail=$4; shift 4
	peers "$name" "127.0.0.40:$scen" 127.0.0.41:good
	send "$name" "$@" -- user@fb.test
	stop_peers
	result "$title: exit 0" 0 -
	delivered "$title: the second MX got the message" "$name" 127.0.0.41
	local what="the first MX was tried first"
	[ "$mail" = no ] && what="$what and got no MAIL FROM"
	{ [ "$mail" != no ] || no_mail "$name" 127.0.0.40; } && tried "$FIRST_FB" "$SECOND_FB"
	tap_status $? "$title: $what" \
		"connects: $(connects); first MX: $(fact "$name" 127.0.0.40 c1.trace)"
}

# ================================================================ cases
fallback g554 greeting_554 "first MX greets 554" no
fallback m451 mail_451 "first MX answers MAIL with 451" yes
fallback silent silent_after_ehlo "first MX silent after EHLO (command_timeout 2s)" no -o command_timeout=2s
tap_status "$([ "$ELAPSED_MS" -le 9000 ]; echo $?)" "first MX silent: the second tried after the 2 s timeout (< 9 s in all)" \
	"$(why)"
fallback tlsgarb starttls_garbage "first MX: garbage after STARTTLS, level encrypt" no -o tls_security_level=encrypt
tap_is "$(fact tlsgarb 127.0.0.40 conns)" 1 "garbage after STARTTLS, encrypt: no plaintext retry on the first MX"
fallback nostarttls no_starttls "first MX without STARTTLS, level encrypt" no -o tls_security_level=encrypt

# The same TLS failure under may: a plaintext retry on the same MX delivers.
peers tlsmay 127.0.0.40:starttls_garbage 127.0.0.41:good
send tlsmay -- user@fb.test
stop_peers
result "first MX: garbage after STARTTLS, level may: exit 0" 0 -
delivered "garbage after STARTTLS, may: the first MX got it in plaintext" tlsmay 127.0.0.40
tap_is "$(fact tlsmay 127.0.0.41 conns) $(fact tlsmay 127.0.0.40 delivered)" "0 plain" \
	"garbage after STARTTLS, may: delivered in plaintext on the retry, second MX not contacted"

# A 5xx to RCPT is the domain's answer: final, no next MX.
peers r550 127.0.0.40:rcpt_by_address 127.0.0.41:good
send r550 -- reject@fb.test
stop_peers
result "first MX answers RCPT 550 5.1.1: exit 67" 67 5.1.1
tap_is "$(fact r550 127.0.0.41 conns)" 0 "RCPT 550: the second MX is not tried"

# Every MX failing: the last failure is the reason.
peers last1 127.0.0.40:greeting_421
send last1 -- user@fb.test
stop_peers
result "421 greeting, then a dead MX: exit 75, 4.4.1" 75 4.4.1
tap_like "$FIRST" "^4\.4\.1 connect to $SECOND_FB: " "421 then dead: the reason is the second MX's connect error"
peers last2 127.0.0.41:greeting_554
send last2 -- user@fb.test
stop_peers
result "dead MX, then a 554 greeting: exit 75 (skipped, class 4)" 75 4.3.2
tap_like "$FIRST" "^4\.3\.2 host $SECOND_FB said: 554 5\.3\.2 peer\.test go away" \
	"dead then 554: the reason is the second MX's greeting"
tried "$FIRST_FB" "$SECOND_FB"
tap_status $? "dead then 554: both tried, in preference order" "connects: $(connects)"

# Equal preferences, both failing: both tried each run, both orders seen.
peers eq2 127.0.0.44:greeting_421 127.0.0.45:greeting_421
A='a\.eq2\.test\[127\.0\.0\.44\]:25' B='b\.eq2\.test\[127\.0\.0\.45\]:25'
ab=0 ba=0 bad=''
for ((run = 1; run <= 40; run++)); do
	send "eq2/run$run" -- user@eq2.test
	[ "$RC" = 75 ] || { bad="run $run: $(why)"; break; }
	if tried "$A" "$B"; then ab=$((ab + 1))
	elif tried "$B" "$A"; then ba=$((ba + 1))
	else bad="run $run: not both hosts once each: $(connects)"; break
	fi
	[ $ab -gt 0 ] && [ $ba -gt 0 ] && break
done
stop_peers
tap_status "$([ -z "$bad" ]; echo $?)" "equal preferences, both failing: every run exit 75, both hosts tried once" "$bad"
tap_status "$([ $ab -gt 0 ] && [ $ba -gt 0 ]; echo $?)" "equal preferences: both orders within $run runs (a,b: $ab; b,a: $ba)"

# An MX host without any address is skipped.
peers noaddr 127.0.0.47:good
send noaddr -- user@noaddr.test
stop_peers
result "first MX host has no address: exit 0" 0 -
delivered "first MX host has no address: the second got the message" noaddr 127.0.0.47

# Two domains, one with a dead MX: deferred, and the line says who failed.
peers twodom 127.0.0.40:good
send twodom -- a@fb.test b@deadmx.test
stop_peers
result "two domains, one MX dead: exit 75, 4.4.1" 75 4.4.1
tap_like "$FIRST" "deferred: <b@deadmx\.test>; accepted: <a@fb\.test>\]$" \
	"two domains: the line names the deferred and the accepted recipient"
tap_is "$(fact twodom 127.0.0.40 rcpt_lines)" "RCPT TO:<a@fb.test>" \
	"two domains: the live MX got only its own domain's recipient"
delivered "two domains: the live domain's MX got the message" twodom 127.0.0.40

# Two recipients of one domain: one transaction.
peers onedom 127.0.0.40:good
send onedom -- a@fb.test b@FB.test
stop_peers
result "two recipients, one domain: exit 0" 0 -
tap_is "$(fact onedom 127.0.0.40 conns) $(fact onedom 127.0.0.40 rcpt_lines)" \
	"1 RCPT TO:<a@fb.test> | RCPT TO:<b@FB.test>" "two recipients, one domain: one connection, both RCPTs"

tap_done
