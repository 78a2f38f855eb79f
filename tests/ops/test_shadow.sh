#!/bin/bash
# tests/ops/test_shadow.sh - the shadow policy (lib/shadow.c) against real
# servers (tests/peer/peer.py), cross-checked with the live policy.
#
# Six servers: verified (test CA, right name), wrong name (test CA),
# self-signed, expired, no STARTTLS, a STARTTLS handshake that fails.
# For each candidate policy C (encrypt, verify, secure, and a candidate
# tls_shadow_policy_map with fingerprint and verify lines):
#   1. live tls_security_level = may with the shadow C: every message is
#      delivered (the shadow changes nothing), and the history records the
#      shadow's verdict for each;
#   2. live C itself (no shadow): the messages it defers;
#   the set the shadow said it would defer must be exactly the set the live
#   C deferred, each with the same failure class; the would-defer
#   deliveries are logged ("shadow policy: would defer: ...").
# Also: a candidate equal to the live policy defers nothing; a candidate
# map that cannot be loaded turns the shadow off (logged), delivery as usual.
#
# Safety: only 127.0.0.1; every process is stopped by its PID.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"
. "$top_srcdir/tests/ops/ops.sh"

ops_init

# server name -> scenario; each server keeps its port for the whole test
SERVERS="verified:good wrong:pol_wrong_name self:selfsigned_cert expired:expired_cert plain:no_starttls broken:starttls_garbage"
declare -A PORT SCENARIO
for s in $SERVERS; do
	SCENARIO[${s%%:*}]=${s#*:}
	PORT[${s%%:*}]=$(free_port)
done

spki() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
	openssl dgst -sha256 -c | sed 's/^.*= *//' | tr a-f A-F; }
{
	echo "[127.0.0.1]:${PORT[verified]} fingerprint match=$(spki "$CERTS/server.pem")"
	echo "[127.0.0.1]:${PORT[self]} fingerprint match=$(spki "$CERTS/server.pem")"
	echo "[127.0.0.1]:${PORT[wrong]} verify match=wrong.example.net"
	echo "[127.0.0.1]:${PORT[plain]} encrypt"
} > "$T/candidate.policy"

# run NAME SERVER LINE...: one delivery to SERVER with those settings
run() {
	local name=$1 server=$2; shift 2
	ops_peer "$name" "${SCENARIO[$server]}" "${PORT[$server]}"
	ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT" "$@"
	ops_send "$name"
}

# verdict SERVER: the shadow column of SERVER's last attempt in $HIST
verdict() { sql "SELECT shadow FROM attempt WHERE dest = '$(dest_of "${PORT[$1]}")' ORDER BY id DESC LIMIT 1"; }
# reason SERVER: the reason of SERVER's last attempt in $HIST
reason() { sql "SELECT reason FROM attempt WHERE dest = '$(dest_of "${PORT[$1]}")' ORDER BY id DESC LIMIT 1"; }

# cross_check LABEL SHADOW_LINES LIVE_LINES (";"-separated settings)
cross_check() {
	local label=$1 sh=$2 live=$3 s v shadow_set="" live_set="" logged=1 changed=0
	local -a shl lvl
	tap_expect 3
	IFS=';' read -r -a shl <<< "$sh"
	IFS=';' read -r -a lvl <<< "$live"
	HIST=$T/shadow-$label.db
	for s in $SERVERS; do
		s=${s%%:*}
		run "$label-shadow-$s" "$s" "tls_security_level = may" "${shl[@]}"
		[ "$RC" = 0 ] || { changed=1; tap_diag "$label $s: exit $RC under the live may: $OUT"; }
		v=$(verdict "$s")
		case $v in
		pass) ;;
		''|unknown) shadow_set="$shadow_set $s:no-verdict($v)" ;;
		*) shadow_set="$shadow_set $s:$v"
		   printf '%s\n' "$ERR" | grep -q "shadow policy: would defer: " ||
			{ logged=0; tap_diag "$label $s: no 'would defer' log line"; } ;;
		esac
	done
	HIST=$T/live-$label.db
	for s in $SERVERS; do
		s=${s%%:*}
		run "$label-live-$s" "$s" "${lvl[@]}"
		case $RC in
		0) ;;
		75) live_set="$live_set $s:$(reason "$s")" ;;
		*) live_set="$live_set $s:exit$RC" ;;
		esac
	done
	tap_is "$changed" 0 "$label: with the shadow, every message is delivered under the live may"
	tap_is "${shadow_set# }" "${live_set# }" "$label: the shadow would defer exactly what the live policy defers, for the same reasons"
	tap_is "$logged" 1 "$label: each would-defer delivery is logged"
	tap_diag "$label would defer:${shadow_set:- nothing}"
}

cross_check encrypt "tls_shadow_security_level = encrypt" "tls_security_level = encrypt"
cross_check verify "tls_shadow_security_level = verify" "tls_security_level = verify"
cross_check secure "tls_shadow_security_level = secure" "tls_security_level = secure"
cross_check map "tls_shadow_policy_map = $T/candidate.policy" \
	"tls_security_level = may;tls_policy_map = $T/candidate.policy"

# the candidate sets above are not trivial: each defers something, not all
labels=(encrypt verify secure map)
tap_expect ${#labels[@]}
for label in "${labels[@]}"; do
	HIST=$T/shadow-$label.db
	n=$(sql "SELECT count(*) FROM attempt WHERE shadow NOT IN ('pass', '')")
	tap_status "$([ "$n" -gt 0 ] && [ "$n" -lt 6 ]; echo $?)" "$label: the candidate defers some servers, not all ($n of 6)"
done

# a candidate equal to the live policy; the summary 2; a bad candidate map 2
tap_expect 5
HIST=$T/same.db
same=0
for s in $SERVERS; do
	s=${s%%:*}
	run "same-$s" "$s" "tls_security_level = may" "tls_shadow_security_level = may"
	[ "$(verdict "$s")" = pass ] || same=1
done
tap_is "$same" 0 "a candidate equal to the live policy (may): every verdict is pass"

# the summary counts what the shadow would have broken
HIST=$T/shadow-verify.db
ops_conf "$T/report.conf" 1 "tls_shadow_security_level = verify"
SUM=$("$REPORT" -c "$T/report.conf" summary 2>&1)
tap_like "$SUM" "^shadow: \\[127\\.0\\.0\\.1\\]:${PORT[self]}: would have deferred 1 of 1 messages \\(certificate-not-trusted 1\\)" \
	"summary: the shadow's would-defer per destination with its reason"
tap_like "$SUM" '^shadow policy \(tls_shadow_security_level = verify\): 6 of 6 messages checked, [1-5] would have been deferred' \
	"summary: the shadow's totals"

# a candidate map that cannot be loaded
HIST=$T/badmap.db
printf 'example.com bogus-level\n' > "$T/bad.policy"
run badmap self "tls_shadow_policy_map = $T/bad.policy"
tap_is "$RC" 0 "bad candidate map: delivered as the live policy says"
tap_like "$ERR" "^tlsrelay: shadow policy off for this delivery: tls_shadow_policy_map $T/bad\\.policy:1: " \
	"bad candidate map: the shadow is off, and says why"

tap_done
