#!/bin/bash
# tests/ops/test_dnssec.sh - the resolver self-test (lib/dnssec_check.c)
# against a local validating and a local non-validating resolver, and the
# parts of the shadow policy and of explain that need DNSSEC.
#
# DNS: tests/ops/ops.zone.in signed at test time (ldns), served by three
# unbound instances on loopback: validating (validator + iterator, the
# zone's DS as trust anchor), non-validating (iterator only: same zone,
# no AD, bogus data passed on), deaf (drops every query). The self-test
# asks dnssec_test_valid = good.ops.test and dnssec_test_bogus =
# bogus.ops.test (signature broken after signing): never an outside name.
#
#   tlsrelay -t at level dane: validating -> OK; non-validating -> exit 78,
#   "does not validate DNSSEC" (no AD bit; answered the bogus name); deaf
#   -> a warning, exit 0; dnssec_self_test = no -> nothing asked; mta_sts
#   = yes alone -> checked; level may -> not checked; a bogus name that
#   does not exist -> a warning naming the setting.
#   tlsrelayd's start with the non-validating resolver logs the problem.
#   explain at level dane names the TLSA records of each MX host.
#   The shadow dane-only with the live may (the shadow looks the TLSA
#   records up itself): the server whose record matches passes, the other
#   would be deferred (tlsa-mismatch) - exactly what dane-only as the live
#   level does (peers on 127.0.0.150-151 port 25).
#
# Needs root, unbound, ldnsutils, python3. Safety: only 127.0.0.0/8; every
# process is stopped by its PID.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/dns/unbound.sh"
. "$top_srcdir/tests/dns/mx_needs.sh"
. "$top_srcdir/tests/peer/peer.sh"
. "$top_srcdir/tests/ops/ops.sh"

require_cmd ldns-keygen ldns-signzone openssl timeout
mx_needs 127.0.0.150 'ssl, json, threading, sqlite3'
mx_port25_free 150 151
ops_init
REPORT=${TLSRELAY_REPORT_BIN:-$top_builddir/plugin/report/tlsrelay-report}
tap_plan $((13 + 2 + 2 + 7))	# a linear script: tlsrelay -t, tlsrelayd (or 2 skips), explain, shadow

# ---------------------------------------------------------------- zone
sha256() { openssl dgst -sha256 -r | cut -d' ' -f1; }
spki() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256; }
mkdir -p "$T/zones"
sed -e "s/@EE311@/$(spki "$CERTS/server.pem")/" -e "s/@OTHER311@/$(spki "$CERTS/other-ca.pem")/" \
	"$here/ops.zone.in" > "$T/zones/ops.test.zone"
(
	cd "$T/zones" || exit 1
	ksk=$(ldns-keygen -a ECDSAP256SHA256 -k ops.test) && zsk=$(ldns-keygen -a ECDSAP256SHA256 ops.test) &&
	ldns-signzone -o ops.test. ops.test.zone "$ksk" "$zsk" && cp "$ksk.ds" ops.test.ds
) > "$T/sign.out" 2>&1 || tap_bail "signing the zone failed: $(cat "$T/sign.out")"
sed -i 's/^\(bogus\.ops\.test\.[[:space:]].*[[:space:]]A[[:space:]]*\)127\.0\.0\.1$/\1127.0.0.2/' \
	"$T/zones/ops.test.zone.signed"
grep -q '^bogus\.ops\.test\..*127\.0\.0\.2$' "$T/zones/ops.test.zone.signed" || tap_bail "could not make bogus.ops.test bogus"

# ---------------------------------------------------------------- resolvers
ub_conf() {	# ub_conf FILE PORT MODULES
	ub_write_conf "$1" "$2" "    module-config: \"$3\"
    local-zone: \"test.\" nodefault
    trust-anchor-file: \"$T/zones/ops.test.ds\"
auth-zone:
    name: \"ops.test.\"
    zonefile: \"$T/zones/ops.test.zone.signed\"
    for-downstream: no
    for-upstream: yes
    fallback-enabled: no
stub-zone:
    name: \".\"
    stub-addr: 127.0.0.1@$ub_closed"
}
val_conf() { ub_conf "$ub_dir/val.conf" "$1" "validator iterator"; }
plain_conf() { ub_conf "$ub_dir/plain.conf" "$1" "iterator"; }
at_exit ub_cleanup
ub_setup "$T" "$T/zones/ops.test.zone.signed" || tap_bail "unbound setup failed"
ub_use_v6=no
ub_start val_conf "$ub_dir/val.conf" ub_log_ready || tap_bail "cannot start the validating unbound"
VAL_PID=$ub_started_pid VAL=127.0.0.1:$ub_started_port
at_exit "ub_stop $VAL_PID $ub_dir/val.conf"
ub_start plain_conf "$ub_dir/plain.conf" ub_log_ready || tap_bail "cannot start the non-validating unbound"
NOVAL_PID=$ub_started_pid NOVAL=127.0.0.1:$ub_started_port
at_exit "ub_stop $NOVAL_PID $ub_dir/plain.conf"
ub_start_deaf || tap_bail "cannot start the deaf unbound"
DEAF=127.0.0.1:$ub_deaf_port

# ---------------------------------------------------------------- tlsrelay -t
# check NAME RESOLVER LINE...: tlsrelay -t with those settings; RC, OUT
check() {
	local name=$1 res=$2 line; shift 2
	{
		echo "syslog = no"
		echo "dns_resolver = $res"
		echo "dnssec_test_valid = good.ops.test"
		echo "dnssec_test_bogus = bogus.ops.test"
		for line in "$@"; do echo "$line"; done
	} > "$T/$name.conf"
	OUT=$(timeout -k 5 60 "$TLSRELAY" -c "$T/$name.conf" -t 2>&1); RC=$?
}
check val "$VAL" "tls_security_level = dane"
tap_is "$RC" 0 "-t, dane, validating resolver: exit 0" || tap_diag "$OUT"
tap_unlike "$OUT" 'DNSSEC|resolver' "-t, validating resolver: nothing to say"
check noval "$NOVAL" "tls_security_level = dane"
tap_is "$RC" 78 "-t, dane, non-validating resolver: exit 78"
tap_like "$OUT" "^tlsrelay: the resolver $NOVAL does not validate DNSSEC: its answer for good\\.ops\\.test \\(signed\\) has no AD bit" \
	"-t, non-validating: the signed name came without AD"
tap_like "$OUT" "^tlsrelay: the resolver $NOVAL does not validate DNSSEC: it answered for bogus\\.ops\\.test" \
	"-t, non-validating: it answered the bogus name"
tap_like "$OUT" '^tlsrelay: warning: DNSSEC validation is needed by tls_security_level = dane' \
	"-t, non-validating: says what needs it"
check deaf "$DEAF" "tls_security_level = dane"
tap_is "$RC" 0 "-t, resolver that does not answer: exit 0 (a warning)"
tap_like "$OUT" "^tlsrelay: warning: the resolver $DEAF did not answer for good\\.ops\\.test" \
	"-t, resolver that does not answer: the warning"
check off "$NOVAL" "tls_security_level = dane" "dnssec_self_test = no"
tap_is "$RC|$(printf '%s\n' "$OUT" | grep -c DNSSEC)" "0|0" "-t, dnssec_self_test = no: nothing checked"
check sts "$NOVAL" "mta_sts = yes"
tap_is "$RC" 78 "-t, mta_sts = yes, non-validating: checked too (exit 78)"
check may "$NOVAL" "tls_security_level = may"
tap_is "$RC|$(printf '%s\n' "$OUT" | grep -c DNSSEC)" "0|0" "-t, level may, no mta_sts: not checked"
printf 'example.com dane-only\n' > "$T/dane.policy"
check map "$NOVAL" "tls_policy_map = $T/dane.policy"
tap_like "$OUT" 'warning: DNSSEC validation is needed by tls_policy_map .*dane.policy:1 key example\.com' \
	"-t, a map entry dane-only: checked, and named"
check nx "$VAL" "tls_security_level = dane" "dnssec_test_bogus = gone.ops.test"
tap_like "$OUT" '^tlsrelay: warning: dnssec_test_bogus gone\.ops\.test does not exist' \
	"-t, a bogus name that does not exist: a warning naming the setting"

# ---------------------------------------------------------------- tlsrelayd
DAEMON=$top_builddir/plugin/daemon/tlsrelayd
if [ -x "$DAEMON" ]; then
	mkdir -p "$T/run" && chown nobody "$T/run"
	chmod 0644 "$T/noval.conf"
	start_bg d "$DAEMON" -v -u nobody -c "$T/noval.conf" -s "$T/run/d.sock"
	D=$BG_PID
	wait_until 20 grep -qs 'resolver self-test: .*bogus' "$T/d.out"
	tap_like "$(cat "$T/d.out")" "resolver self-test: the resolver $NOVAL does not validate DNSSEC" \
		"tlsrelayd's start: the resolver self-test logs the problem"
	tap_like "$(cat "$T/d.out")" "ready on $T/run/d.sock" "tlsrelayd still serves"
	stop_pid "$D"
else
	tap_skip "tlsrelayd's start: the resolver self-test" "tlsrelayd not built"
	tap_skip "tlsrelayd still serves" "tlsrelayd not built"
fi

# ---------------------------------------------------------------- explain
printf 'syslog = no\ndns_resolver = %s\ntls_security_level = dane\ntls_history = %s\n' "$VAL" "$HIST" > "$T/x.conf"
OUT=$("$REPORT" -c "$T/x.conf" explain dane.ops.test 2>&1)
tap_like "$OUT" '^  level dane: tls_security_level$' "explain, level dane: the level's source"
tap_like "$OUT" 'mx\.dane\.ops\.test.*DANE.*1 usable TLSA record.*_25\._tcp\.mx\.dane\.ops\.test' \
	"explain, level dane: the MX host's TLSA record" || tap_diag "$OUT"

# ---------------------------------------------------------------- shadow dane-only
printf '{"cert": "%s", "key": "%s"}\n' "$CERTS/server.pem" "$CERTS/server.key" > "$T/good.json"
mx_send() {	# mx_send NAME ADDR DOMAIN LINE...: one delivery to a peer on ADDR:25
	local name=$1 addr=$2 dom=$3 pid line; shift 3
	DIR=$T/$name
	mkdir -p "$DIR"
	{
		echo "helo_name = client.test"; echo "syslog = no"; echo "connect_timeout = 5s"
		echo "command_timeout = 10s"; echo "deadline = 30s"; echo "spool_directory = $T/spool"
		echo "tls_ca_file = $CERTS/ca.pem"; echo "dns_resolver = $VAL"; echo "tls_history = $HIST"
		for line in "$@"; do echo "$line"; done
	} > "$DIR/tlsrelay.conf"
	start_bg "peer-$name" "$PY" "$PEER" serve --address "$addr" --port 25 --scenario "$T/good.json" \
		--outdir "$DIR" --pidfile "$DIR/peer.pid" --max-lifetime 60
	pid=$BG_PID
	wait_until 10 _peer_ready "$DIR/peer.pid" "$pid"
	timeout -k 5 60 "$TLSRELAY" -v -c "$DIR/tlsrelay.conf" -f sender@example.org -- "user@$dom" \
		< "$T/msg" > "$DIR/stdout" 2> "$DIR/stderr"
	RC=$?
	stop_pid "$pid"
	ERR=$(cat "$DIR/stderr")
}
mx_send sh-dane 127.0.0.150 dane.ops.test "tls_security_level = may" "tls_shadow_security_level = dane-only"
tap_is "$RC" 0 "shadow dane-only, live may: delivered" || tap_diag "$ERR"
mx_send sh-bad 127.0.0.151 bad.ops.test "tls_security_level = may" "tls_shadow_security_level = dane-only"
tap_is "$RC" 0 "shadow dane-only, live may, mismatching TLSA: delivered (the shadow changes nothing)"
tap_like "$ERR" 'shadow policy: would defer: no TLSA record matched \(mx\.bad\.ops\.test\[127\.0\.0\.151\]:25; candidate level dane' \
	"shadow dane-only: the mismatching server is logged as would-defer"
tap_is "$(sql "SELECT dest, shadow, shadow_level FROM attempt ORDER BY id")" \
	"$(printf 'dane.ops.test|pass|dane\nbad.ops.test|tlsa-mismatch|dane')" \
	"shadow dane-only: the history has its verdicts (its own TLSA lookups, live may)"
mx_send live-dane 127.0.0.150 dane.ops.test "tls_security_level = dane-only"
tap_is "$RC" 0 "live dane-only: the matching server delivered (as the shadow said)"
mx_send live-bad 127.0.0.151 bad.ops.test "tls_security_level = dane-only"
tap_is "$RC" 75 "live dane-only: the mismatching server deferred (as the shadow said)"
tap_is "$(sql "SELECT reason FROM attempt WHERE dest = 'bad.ops.test' ORDER BY id DESC LIMIT 1")" \
	tlsa-mismatch "live dane-only: the same reason class"

tap_done
