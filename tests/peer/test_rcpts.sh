#!/bin/bash
# tests/peer/test_rcpts.sh - several recipients with different RCPT replies
# (tests/peer/scenarios/rcpt_mixed*.json: local parts with tempfail 450 4.2.0, reject 550
# 5.1.1, policy 554 5.7.1, others 250), through tests/peer/peer.py.
#
# The rule (lib/deliver.c tr_deliver_summary, tlsrelay(8) SEVERAL
# RECIPIENTS): one run has one exit status, and the MTA applies it to every
# recipient of the run (Postfix pipe(8) takes the DSN of the first output
# line for all of them; Exim reads only the exit status). So:
#   all accepted                      -> 0, no output
#   any deferred (4xx, or unsettled)  -> 75 with that reply's 4.x.x: the MTA
#                                        retries all; the accepted ones get a
#                                        duplicate, nothing is lost
#   accepted + refused (5xx), none 4xx -> 75 4.3.0 (same reason: a bounce
#                                        would be false for the accepted ones)
#   all refused                       -> 67 5.1.1 if every one was unknown,
#                                        else 69 with a 5.x.x
# and with two or more recipients the output line ends with
# "[deferred: <..>; refused: <..>; accepted: <..>]" so that the admin sees
# who failed. Avoid the duplicates with a recipient limit of 1.
#
# Checked per case: exit status, DSN of the first line, the class of that
# DSN agrees with the exit status (Postfix obeys the DSN), the lists in the
# line, what the peer accepted (byte for byte), the RCPTs sent.
# Needs python3 (skips without it) and the built tlsrelay. Only 127.0.0.1.

: "${top_builddir:=/tmp/pb}"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

peer_init
require_cmd timeout cmp
peer_require_tlsrelay

make_tmpdir
T=$TEST_TMP
mkdir -p "$T/spool" "$T/cases"
printf 'Subject: several recipients\n\nbody\n.dot\n' > "$T/msg.in"
printf 'Subject: several recipients\r\n\r\nbody\r\n..dot\r\n' | sed 's/^\.\././' > "$T/msg.canon"

# name | scenario | recipients (local parts @example.test) | exit | DSN
# regex | peer accepted the message (yes/no) | lists the line must hold
# ("d=a,b" deferred, "r=c" refused, "a=x" accepted; ";"-separated; "-": the
# line has no list)
CASES=$(cat <<'EOF'
all-ok          rcpt_mixed        ok1,ok2                   0   -          yes  -
ok+4xx          rcpt_mixed        ok1,tempfail              75  ^4\.2\.0   yes  d=tempfail;a=ok1
ok+5xx          rcpt_mixed        ok1,reject                75  ^4\.3\.0   yes  r=reject;a=ok1
5xx+ok          rcpt_mixed        policy,ok1                75  ^4\.3\.0   yes  r=policy;a=ok1
ok+4xx+5xx      rcpt_mixed        ok1,tempfail,reject       75  ^4\.2\.0   yes  d=tempfail;r=reject;a=ok1
ok+4xx+5xx-ser  rcpt_mixed_serial ok1,tempfail,reject       75  ^4\.2\.0   yes  d=tempfail;r=reject;a=ok1
4xx+5xx         rcpt_mixed        reject,tempfail           75  ^4\.2\.0   no   d=tempfail;r=reject
all-4xx         rcpt_mixed        tempfail,tempfail2        75  ^4\.2\.0   no   d=tempfail,tempfail2
all-5xx         rcpt_mixed        reject,policy             69  ^5\.0\.0   no   r=reject,policy
all-5xx-policy  rcpt_mixed        policy,reject             69  ^5\.7\.1   no   r=policy,reject
all-unknown     rcpt_mixed        reject,reject2            67  ^5\.1\.1   no   r=reject,reject2
all-5xx-serial  rcpt_mixed_serial reject,policy             69  ^5\.0\.0   no   r=reject,policy
EOF
)

# list_re WORD LOCALS: the regex of "WORD: <a@example.test>, <b@...>"
list_re() {
	local word=$1 re='' l
	IFS=',' read -r -a _l <<< "$2"
	for l in "${_l[@]}"; do re="$re${re:+, }<$l@example\\.test>"; done
	printf '%s: %s(;|\\])' "$word" "$re"
}

while read -r name scen locals exp_rc exp_dsn exp_acc lists; do
	# the checks: exit; no output, or the line and its class; no lists, or
	# one a list; accepted (and then byte for byte); one RCPT each
	n=1
	if [ "$exp_dsn" = - ]; then n=$((n + 1)); else n=$((n + 2)); fi
	if [ "$lists" = - ]; then n=$((n + 1)); else IFS=';' read -r -a _k <<< "$lists"; n=$((n + ${#_k[@]})); fi
	[ "$exp_acc" = yes ] && n=$((n + 1))
	tap_expect $((n + 2))
	DIR=$T/cases/$name
	start_peer "$scen" "$DIR" || tap_bail "case $name: peer.py did not start"
	peer_conf "$DIR/tlsrelay.conf"
	rcpts=()
	IFS=',' read -r -a _l <<< "$locals"
	for l in "${_l[@]}"; do rcpts+=("$l@example.test"); done
	peer_run_tlsrelay "$T/msg.in" -f sender@example.test -- "${rcpts[@]}"
	first=$(head -n 1 "$DIR/stdout")
	diag="exit $RC; output: $first
peer: $(rg c1.trace)"
	tap_is "$RC" "$exp_rc" "$name: exit $exp_rc"
	if [ "$exp_dsn" = - ]; then
		tap_is "$first" "" "$name: no output"
	else
		[[ $first =~ $exp_dsn ]]
		tap_status $? "$name: output line starts with $exp_dsn" "$diag"
		case $RC:${first:0:1} in 75:4|67:5|69:5) st=0 ;; *) st=1 ;; esac
		tap_status $st "$name: the DSN class agrees with exit $RC (Postfix obeys the DSN)" "$diag"
	fi
	if [ "$lists" = - ]; then
		[[ $first != *"["*"]" ]]
		tap_status $? "$name: no recipient lists" "$diag"
	else
		IFS=';' read -r -a _k <<< "$lists"
		for k in "${_k[@]}"; do
			case ${k%%=*} in d) w=deferred ;; r) w=refused ;; a) w=accepted ;; esac
			re=$(list_re "$w" "${k#*=}")
			[[ $first =~ $re ]]
			tap_status $? "$name: the line says $w: ${k#*=}" "$diag"
		done
	fi
	acc=no
	[ -n "$(rg accepted_data)" ] && acc=yes
	tap_is "$acc" "$exp_acc" "$name: the peer accepted the message: $exp_acc"
	if [ "$acc" = yes ]; then
		cmp -s "$DIR/$(rg accepted_data | cut -d' ' -f1)" "$T/msg.canon"
		tap_status $? "$name: the accepted message is the input, byte for byte"
	fi
	[ "$(rg rcpt_lines | grep -o 'RCPT TO' | wc -l)" = "${#rcpts[@]}" ]
	tap_status $? "$name: one RCPT per recipient" "rcpts: $(rg rcpt_lines)"
done <<< "$CASES"

tap_done
