#!/bin/bash
# tests/peer/test_rules.sh - message_rules in the transport: the from/to
# rules of a rules file (lib/msgrules.h syntax) applied by tlsrelay itself
# to the sender and the recipients it delivers to (lib/msgreq.h THE
# ENVELOPE), against tests/peer/peer.py on 127.0.0.1.
#
# Why the transport: the milter sees the SMTP envelope, the transport gets
# the addresses after the MTA's rewriting (trailing dot dropped, aliases,
# virtual and canonical maps). tests/milter/test_milter_rewrite.sh shows it
# through a real Postfix; this test checks the transport's own rules:
#   - a recipient or sender matching a rule (encrypt) against a server
#     without STARTTLS: deferred 4.7.4, no MAIL; a non-matching one:
#     delivered in plaintext (tls_security_level = may)
#   - normalisation: a trailing dot, upper case
#   - one nexthop group (relayhost) with a matching and a non-matching
#     recipient: both deferred (the strongest for the group)
#   - verify from a subdomain rule: a trusted certificate is delivered, a
#     self-signed one is deferred 4.7.5
#   - the policy's source names the rule ("message_rules:LINE to PATTERN
#     LEVEL") in the -v log, and an info line says it applies
#   - a bad or missing rules file: 78 4.3.5 "message_rules FILE..." before
#     any connection; tlsrelay -t reports it too
# Needs python3 (skips without it) and the built tlsrelay. Only 127.0.0.1.

: "${top_builddir:=/tmp/pb}"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

peer_init
require_cmd timeout cmp
peer_require_tlsrelay
peer_require_localhost

make_tmpdir
T=$TEST_TMP
mkdir -p "$T/spool" "$T/cases"
printf 'Subject: rules test\n\nbody\n' > "$T/msg.in"
printf 'Subject: rules test\r\n\r\nbody\r\n' > "$T/msg.canon"
cat > "$T/rules" <<'EOF'
# message_rules written by tests/peer/test_rules.sh
to      example.test            encrypt
to      .secure.test            verify
from    boss@corp.test          encrypt
header  Subject: rules          secure
EOF
printf 'to example.test encrypt\nto other.test strongest\n' > "$T/bad.rules"

# name | scenario | sender | recipients (',') | options (';': rules=bad,
# rules=missing, rules=none, ca, relay=localhost) | exit | DSN prefix ("-":
# no output) | delivered over | origin the -v log names ("~" for a space;
# "-": none)
CASES=$(cat <<'EOF'
rcpt-rule            no_starttls      x@y.test         user@example.test                  -               75 4.7.4 none  message_rules:2~to~example.test~encrypt
rcpt-no-rule         no_starttls      x@y.test         user@other.test                    -               0  -     plain -
rcpt-trailing-dot    no_starttls      x@y.test         user@example.test.                 -               75 4.7.4 none  message_rules:2~to~example.test~encrypt
rcpt-upper-case      no_starttls      x@y.test         USER@Example.TEST                  -               75 4.7.4 none  message_rules:2~to~example.test~encrypt
sender-rule          no_starttls      boss@corp.test   user@other.test                    -               75 4.7.4 none  message_rules:4~from~boss@corp.test~encrypt
null-sender          no_starttls      -                user@other.test                    -               0  -     plain -
group-strongest      no_starttls      x@y.test         user@other.test,user@example.test  -               75 4.7.4 none  message_rules:2~to~example.test~encrypt
rule-met             good             x@y.test         user@example.test                  -               0  -     tls   message_rules:2~to~example.test~encrypt
header-rule-ignored  no_starttls      x@y.test         user@other.test                    -               0  -     plain -
verify-trusted       good             x@y.test         a@mx.secure.test                   ca;relay=localhost  0  -  tls   message_rules:3~to~.secure.test~verify
verify-selfsigned    selfsigned_cert  x@y.test         a@mx.secure.test                   ca;relay=localhost  75 4.7.5 none message_rules:3~to~.secure.test~verify
no-setting           no_starttls      x@y.test         user@example.test                  rules=none      0  -     plain -
bad-rules            no_starttls      x@y.test         user@other.test                    rules=bad       78 4.3.5 none  -
missing-rules        no_starttls      x@y.test         user@other.test                    rules=missing   78 4.3.5 none  -
EOF
)

conf() {	# conf FILE OPTS: peer_conf + message_rules and the options
	local rules=$T/rules host=127.0.0.1 opt
	peer_conf "$1"
	IFS=';' read -r -a _o <<< "${2#-}"
	for opt in "${_o[@]}"; do
		case $opt in
		rules=bad) rules=$T/bad.rules ;;
		rules=missing) rules=$T/no-such.rules ;;
		rules=none) rules= ;;
		ca) echo "tls_ca_file = $CERTS/ca.pem" >> "$1" ;;
		relay=localhost) host=localhost ;;
		'') ;;
		*) tap_bail "unknown option $opt" ;;
		esac
	done
	sed -i "s/^relayhost = .*/relayhost = [$host]:$PEER_PORT/" "$1"
	[ -n "$rules" ] && echo "message_rules = $rules" >> "$1"
	return 0
}

while read -r name scen sender locals opts exp_rc exp_dsn exp_over origin; do
	# exit, output, delivered over (and no MAIL when over none), the rule in
	# the log (two checks when there is one), the case's own, invariants
	n=5
	[ "$exp_over" = none ] && n=$((n + 1))
	[ "$origin" = - ] || n=$((n + 1))
	case $name in group-strongest) n=$((n + 1)) ;; bad-rules|missing-rules) n=$((n + 2)) ;; esac
	tap_expect $n
	DIR=$T/cases/$name
	start_peer "$scen" "$DIR" || tap_bail "case $name: peer.py did not start"
	conf "$DIR/tlsrelay.conf" "$opts"
	IFS=',' read -r -a rcpts <<< "$locals"
	[ "$sender" = - ] && sender=''
	peer_run_tlsrelay "$T/msg.in" -v -f "$sender" -- "${rcpts[@]}"
	first=$(head -n 1 "$DIR/stdout")
	diag="exit $RC; output: $first
peer: $(rg c1.trace)
log: $(grep -E 'policy for|message_rules|TLS' "$DIR/stderr" | head -n 8)"
	tap_is "$RC" "$exp_rc" "$name: exit $exp_rc"
	if [ "$exp_dsn" = - ]; then
		tap_is "$first" "" "$name: no output"
	else
		[[ $first == "$exp_dsn "* ]]
		tap_status $? "$name: output line starts with $exp_dsn" "$diag"
	fi
	tap_is "$(rg delivered)" "$exp_over" "$name: delivered over $exp_over"
	if [ "$exp_over" = none ]; then
		tap_is "$(rg mail_plain)/$(rg mail_tls)" 0/0 "$name: no MAIL FROM sent"
	fi
	if [ "$origin" = - ]; then
		tap_unlike "$(grep 'policy for' "$DIR/stderr")" 'message_rules' "$name: no rule in the policy's source"
	else
		origin=${origin//\~/ }
		tap_like "$(grep 'policy for' "$DIR/stderr")" " \(from tls_security_level \+ ${origin//./\\.}\)$" \
			"$name: the policy's source names the rule ($origin)" "$diag"
		tap_like "$(cat "$DIR/stderr")" "^tlsrelay: ${origin//./\\.} \(TLS requirement for " \
			"$name: an info line names the rule"
	fi
	case $name in
	group-strongest)
		tap_like "$first" "\[deferred: <user@other\.test>, <user@example\.test>\]$" \
			"$name: both recipients of the group are deferred" "$diag" ;;
	bad-rules)
		tap_like "$first" "^4\.3\.5 message_rules $T/bad\.rules:2: unknown level \(the last field" \
			"$name: the error names the setting, file, line and reason" "$diag"
		tap_is "$(rg conns)" 0 "$name: no connection" ;;
	missing-rules)
		tap_like "$first" "^4\.3\.5 message_rules $T/no-such\.rules: cannot open: No such file" \
			"$name: the error names the setting and the file" "$diag"
		tap_is "$(rg conns)" 0 "$name: no connection" ;;
	esac
	peer_invariants_common "$T/msg.canon" > "$DIR/violations"
	tap_is "$(cat "$DIR/violations")" "" "$name: transcript invariants"
done <<< "$CASES"

# tlsrelay -t reads the rules file as delivery does.
tap_expect 4
DIR=$T/cases/check
mkdir -p "$DIR"
PEER_PORT=25
conf "$DIR/tlsrelay.conf" rules=bad
out=$(timeout -k 5 20 "$TLSRELAY" -c "$DIR/tlsrelay.conf" -t 2>&1); rc=$?
tap_status "$([ "$rc" != 0 ]; echo $?)" "tlsrelay -t: a bad rules file is a problem (exit $rc)" "$out"
tap_like "$out" "message_rules $T/bad\.rules:2: unknown level \(the last field" "tlsrelay -t: names file, line and reason"
tap_unlike "$out" "strongest" "tlsrelay -t: the bad value is not echoed (issue 13 item 3)"
conf "$DIR/tlsrelay.conf" -
out=$(timeout -k 5 20 "$TLSRELAY" -c "$DIR/tlsrelay.conf" -t 2>&1); rc=$?
tap_is "$rc" 0 "tlsrelay -t: the good rules file passes" "$out"

tap_done
