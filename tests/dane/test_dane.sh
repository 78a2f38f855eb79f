#!/bin/bash
# tests/dane/test_dane.sh - DANE (RFC 7672) end to end: tlsrelay at levels
# dane and dane-only against peer.py servers on 127.0.0.60-79 port 25, with
# a real validating unbound as dns_resolver.
#
# DNS: tests/dane/dane.zone.in is turned into a DNSSEC-signed zone at test
# time (ldns-keygen, ldns-signzone from ldnsutils), with TLSA digests of a
# server certificate made at test time (signed by tests/certs/ca.pem, names
# mx.*.dane.test). unbound (validator + iterator) serves it as an auth-zone
# with the key's DS as trust anchor, and tests/dane/insecure.zone.in
# unsigned (outside every trust anchor: insecure). One RRset is made bogus
# after signing: the TLSA record of mx.bogus.dane.test is replaced by the
# digest that matches the certificate, so its signature no longer verifies
# (unbound answers SERVFAIL): a client that ignored DNSSEC would deliver.
#
# Cases (level dane unless said):
#   DANE-EE 3 1 1 match          -> delivered over TLS, "Verified", DANE logged,
#                                   SNI = the MX host name (TLSA base domain)
#   DANE-EE, expired certificate -> delivered (dates ignored, RFC 7671 5.1)
#   DANE-TA 2 0 1 and 2 1 1      -> delivered (the server sends the CA cert)
#   DANE-TA, name not in cert    -> 75 4.7.5, no MAIL
#   mismatching TLSA             -> 75 4.7.5, no MAIL (plain or TLS)
#   bogus TLSA signature         -> 75 4.7.5, no connection at all
#   TLSA but STARTTLS stripped   -> 75 4.7.4, no MAIL in plaintext
#   only unusable TLSA (usage 0/1) -> encrypt: TLS required, cert not checked
#   no TLSA (secure NODATA)      -> may: plaintext allowed; dane-only: 75 4.7.5
#   unsigned zone with TLSA      -> may (insecure TLSA ignored); dane-only 75
#   insecure MX, secure MX host  -> DANE enforced, logged "Trusted" (Postfix
#                                   insecure_mx_policy = dane); dane-only 75
#   MX host is a CNAME           -> TLSA at the target first, else at the alias
#   relay host [mx.ee.dane.test] -> DANE without an MX lookup
#   a policy map entry "dane" over tls_security_level = may
#   a message's requirement (X-TLSRelay-Require) on dane/dane-only/encrypt:
#   DANE kept where TLSA records are usable (verify does not replace it);
#   without them the server gets at least the requirement (verify: a
#   trusted certificate is delivered, a self-signed one deferred; encrypt,
#   and dane over encrypt: no STARTTLS is deferred, never plaintext)
#   RFC 8689 TLS-Required: No (tls_required_enable = yes): level dane from
#   tls_security_level is relaxed to may (mismatching or bogus TLSA ->
#   delivered); without the setting or the header, under dane-only, with a
#   policy map entry dane, or with X-TLSRelay-Require: dane -> still 75 4.7.5
#   tlsrelay -q describes the DANE outcome per MX host
#   TLS-RPT (mta_sts_cache set, mta_sts = no): tlsrelay-sts report shows
#   policy-type "tlsa" with success, tlsa-invalid, dnssec-invalid,
#   starttls-not-supported, dane-required (tests/sts/tlsrpt_check.py);
#   failures carry sending-mta-ip; a store of the format before
#   sending-mta-ip is carried over
#   tls_session_cache with a server that resumes sessions: DANE deliveries
#   never resume (each checks the TLSA records again: a record changed
#   between two deliveries defers the second); encrypt does resume
#
# Needs root (port 25), python3, unbound, ldns-keygen/ldns-signzone and
# openssl; without them the test is skipped. Safety: only 127.0.0.0/8; every
# process (unbound, peers, tlsrelay under timeout 60) is stopped by its PID.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
# shellcheck source=tests/dns/unbound.sh
. "$top_srcdir/tests/dns/unbound.sh"

# shellcheck source=tests/dns/mx_needs.sh
. "$top_srcdir/tests/dns/mx_needs.sh"

# ---------------------------------------------------------------- needs
require_cmd ldns-keygen ldns-signzone openssl timeout
mx_needs 127.0.0.6x 'ssl, json, threading'
mx_port25_free 60 79

make_tmpdir TEST_TMP
T=$TEST_TMP
mkdir -p "$T/spool" "$T/zones"

# ---------------------------------------------------------------- certificate
# leaf.pem: signed by the test CA, names of the DANE-TA hosts and of
# mx.notlsa.dane.test (WebPKI verify where no TLSA records exist), never
# mx.ee.dane.test: DANE-EE must not need the name.
cat > "$T/leaf.ext" <<'EOF'
subjectAltName = DNS:mx.ta.dane.test, DNS:mx.ta1.dane.test, DNS:mx.notlsa.dane.test
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = serverAuth
EOF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=dane-test-server \
	-keyout "$T/leaf.key" -out "$T/leaf.csr" >/dev/null 2>&1 &&
openssl x509 -req -in "$T/leaf.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" -set_serial 0x5001 \
	-days 30 -sha256 -extfile "$T/leaf.ext" -out "$T/leaf.pem" >/dev/null 2>&1 ||
	tap_bail "cannot make the test server certificate"
cat "$T/leaf.pem" "$CERTS/ca.pem" > "$T/leaf-chain.pem"
chmod 0644 "$T/leaf.key"

sha256() { openssl dgst -sha256 -r | cut -d' ' -f1; }
spki() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256; }
EE311=$(spki "$T/leaf.pem")
TA201=$(openssl x509 -in "$CERTS/ca.pem" -outform DER | sha256)
TA211=$(spki "$CERTS/ca.pem")
OTHER311=$(spki "$CERTS/other.pem")
EXP311=$(spki "$CERTS/expired.pem")
[ ${#EE311} = 64 ] && [ ${#TA201} = 64 ] && [ ${#TA211} = 64 ] || tap_bail "digest computation failed"

# ---------------------------------------------------------------- zones
subst() {	# subst IN OUT: @EE311@ ... from the digests above
	sed -e "s/@EE311@/$EE311/g" -e "s/@TA201@/$TA201/g" -e "s/@TA211@/$TA211/g" \
	    -e "s/@OTHER311@/$OTHER311/g" -e "s/@EXP311@/$EXP311/g" "$1" > "$2"
}
subst "$here/dane.zone.in" "$T/zones/dane.test.zone"
subst "$here/insecure.zone.in" "$T/zones/insecure.test.zone"
# dane2: the same zone, mx.sc's TLSA record no longer matching (same keys)
sed "/^_25\._tcp\.mx\.sc /s/$EE311/$OTHER311/" "$T/zones/dane.test.zone" > "$T/zones/dane2.test.zone"
(
	cd "$T/zones" || exit 1
	ksk=$(ldns-keygen -a ECDSAP256SHA256 -k dane.test) &&
	zsk=$(ldns-keygen -a ECDSAP256SHA256 dane.test) &&
	ldns-signzone -o dane.test. dane.test.zone "$ksk" "$zsk" &&
	ldns-signzone -o dane.test. -f dane2.test.zone.signed dane2.test.zone "$ksk" "$zsk" &&
	cp "$ksk.ds" dane.test.ds
) > "$T/sign.out" 2>&1 || tap_bail "signing the zone failed: $(cat "$T/sign.out")"
# Bogus: the TLSA data of mx.bogus becomes the matching digest after signing.
sed -i "s/^\(_25\._tcp\.mx\.bogus\.dane\.test\.[[:space:]].*TLSA[[:space:]]*3 1 1 \)[0-9a-fA-F]*/\1$EE311/" \
	"$T/zones/dane.test.zone.signed"
grep -q "mx\.bogus.*TLSA.*3 1 1 $EE311" "$T/zones/dane.test.zone.signed" ||
	tap_bail "could not make the bogus TLSA record"

# ---------------------------------------------------------------- unbound
dane_ub_conf() {	# dane_ub_conf PORT: validating resolver for dane.test/insecure.test
	# (DANE_UB_CONF, DANE_ZONE: another config file and signed zone)
	ub_write_conf "${DANE_UB_CONF:-$ub_dir/unbound.conf}" "$1" "    module-config: \"validator iterator\"
    local-zone: \"test.\" nodefault
    trust-anchor-file: \"$T/zones/dane.test.ds\"
    val-log-level: 2
auth-zone:
    name: \"dane.test.\"
    zonefile: \"${DANE_ZONE:-$T/zones/dane.test.zone.signed}\"
    for-downstream: no
    for-upstream: yes
    fallback-enabled: no
auth-zone:
    name: \"insecure.test.\"
    zonefile: \"$T/zones/insecure.test.zone\"
    for-downstream: no
    for-upstream: yes
    fallback-enabled: no
stub-zone:
    name: \".\"
    stub-addr: 127.0.0.1@$ub_closed"
}
at_exit ub_cleanup
ub_setup "$T" "$T/zones/dane.test.zone.signed" || tap_bail "unbound setup failed"
ub_use_v6=no
ub_start dane_ub_conf "$ub_dir/unbound.conf" ub_log_ready || tap_bail "cannot start unbound"
ub_pid=$ub_started_pid
ub_port=$ub_started_port
tap_diag "validating unbound pid $ub_pid on 127.0.0.1:$ub_port"

# ---------------------------------------------------------------- peers
printf '{"cert": "%s", "key": "%s"}\n' "$T/leaf-chain.pem" "$T/leaf.key" > "$T/good.json"
printf '{"cert": "%s", "key": "%s"}\n' "$CERTS/expired.pem" "$CERTS/expired.key" > "$T/expired.json"
printf '{"cert": "%s", "key": "%s", "ehlo_caps": ["PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES", "8BITMIME"]}\n' \
	"$T/leaf-chain.pem" "$T/leaf.key" > "$T/no_starttls.json"
printf '{"cert": "%s", "key": "%s"}\n' "$CERTS/selfsigned.pem" "$CERTS/selfsigned.key" > "$T/selfsigned.json"

_peer_ready() { [ -s "$1" ] || ! kill -0 "$2" 2>/dev/null; }

# run NAME ADDR SCENARIO RCPT [tlsrelay ARGS...]: a peer on ADDR:25, one
# tlsrelay -v run (dns_resolver = our unbound), then the peer's report.
# MSG: the message (default $T/msg). Sets RC, OUT (first stdout line), ERR
# (the -v log), DIR.
run() {
	local name=$1 addr=$2 scen=$3 rcpt=$4 pid; shift 4
	DIR=$T/$name
	mkdir -p "$DIR"
	start_bg "peer-$name" "$PY" "$PEER" serve --address "$addr" --port 25 \
		--scenario "$T/$scen.json" --outdir "$DIR" --pidfile "$DIR/peer.pid" --max-lifetime 60
	pid=$BG_PID
	wait_until 10 _peer_ready "$DIR/peer.pid" "$pid"
	[ -s "$DIR/peer.pid" ] || tap_bail "case $name: peer on $addr:25 did not start: $(cat "$T/peer-$name.out")"
	timeout -k 5 60 "$TLSRELAY" -c "$T/tlsrelay.conf" -v -o "dns_resolver=127.0.0.1:$ub_port" \
		"$@" -f sender@example.org -- "$rcpt" < "${MSG:-$T/msg}" > "$DIR/stdout" 2> "$DIR/stderr"
	RC=$?
	stop_pid "$pid"
	"$PY" "$PEER" report "$DIR" > "$DIR/report" 2>&1
	OUT=$(head -n 1 "$DIR/stdout")
	ERR=$(cat "$DIR/stderr")
}

rg() { sed -n "s/^$1=//p" "$DIR/report" | head -n 1; }

why() {
	printf 'exit %s; stdout: %s\npeer: %s\n-v log (tail):\n%s' "$RC" "$OUT" \
		"$(grep -E '^(conns|delivered|mail_plain|mail_tls|sni|c1.trace)=' "$DIR/report")" \
		"$(printf '%s\n' "$ERR" | tail -n 20)"
}

# outcome NAME RC DSN OVER: exit status, first output line ("-": none),
# the peer's "delivered" (tls, plain, none).
outcome() {
	local st=0
	[ "$RC" = "$2" ] || st=1
	if [ "$3" = - ]; then [ -z "$OUT" ] || st=1; else case $OUT in "$3 "*) ;; *) st=1 ;; esac; fi
	[ "$(rg delivered)" = "$4" ] || st=1
	tap_status "$st" "$1: exit $2, ${3/#-/no output}, delivered $4" "$(why)"
}

no_plain_mail() {	# no_plain_mail NAME: the peer never saw MAIL outside TLS
	tap_is "$(rg mail_plain)" 0 "$1: no MAIL FROM in plaintext"
}

cat > "$T/tlsrelay.conf" <<EOF
helo_name = client.test
connect_timeout = 5s
command_timeout = 10s
deadline = 30s
spool_directory = $T/spool
syslog = no
tls_ca_file = $CERTS/ca.pem
EOF
printf 'Subject: dane test\n\nhello\n' > "$T/msg"
# TLS-RPT: the cases that pass these count their sessions in this store
# (mta_sts stays no: the store alone turns the recording on).
RPT=(-o "mta_sts_cache=$T/rpt.db")
# The store starts in the format of before sending-mta-ip (no sending_ip
# column) with one result: the first open must carry it over.
DAY=$(date -u +%F)
"$PY" - "$T/rpt.db" "$DAY" <<'PYEOF' || tap_bail "cannot make the old-format TLS-RPT store"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE tlsrpt(day TEXT NOT NULL, policy_domain TEXT NOT NULL,"
           " policy_type TEXT NOT NULL, policy_string TEXT NOT NULL, mx_host TEXT NOT NULL,"
           " result TEXT NOT NULL, receiving_mx TEXT NOT NULL, receiving_ip TEXT NOT NULL,"
           " count INTEGER NOT NULL, PRIMARY KEY(day, policy_domain, policy_type, policy_string,"
           " mx_host, result, receiving_mx, receiving_ip))")
db.execute("INSERT INTO tlsrpt VALUES(?, 'old.dane.test', 'tlsa', '3 1 1 AB', 'mx.old.dane.test',"
           " 'tlsa-invalid', 'mx.old.dane.test', '127.0.0.99', 2)", (sys.argv[2],))
db.commit()
PYEOF

# ================================================================ cases
# One plan for the cases below (a linear script: outcome, no_plain_mail and
# rpt make one check each; the session cache loop two deliveries of three).
tap_plan 96
# -- DANE-EE(3) SPKI SHA2-256: verified; SNI is the TLSA base domain.
run ee 127.0.0.60 good user@ee.dane.test -o tls_security_level=dane "${RPT[@]}"
outcome "DANE-EE 3 1 1" 0 - tls
tap_like "$ERR" '^tlsrelay: Verified TLS connection established to mx\.ee\.dane\.test\[127\.0\.0\.60\]:25: .*DANE DANE-EE\(3\) SPKI\(1\) SHA2-256\(1\) at depth 0' \
	"DANE-EE: logged Verified with the matching record"
tap_like "$ERR" 'to=<user@ee\.dane\.test>, relay=mx\.ee\.dane\.test\[127\.0\.0\.60\]:25, .*tls=TLSv1\.[23]:[^ ]* \(verified, DANE\)' \
	"DANE-EE: the recipient's log line says verified, DANE"
tap_is "$(rg sni)" mx.ee.dane.test "DANE-EE: SNI is the TLSA base domain"

# -- DANE-EE ignores the certificate's dates (RFC 7671 section 5.1).
run expired 127.0.0.70 expired user@expired.dane.test -o tls_security_level=dane-only
outcome "DANE-EE with an expired certificate" 0 - tls

# -- DANE-TA(2): full CA certificate digest, and CA public key digest.
run ta201 127.0.0.61 good user@ta.dane.test -o tls_security_level=dane
outcome "DANE-TA 2 0 1 (test CA certificate)" 0 - tls
tap_like "$ERR" 'Verified TLS connection .*DANE DANE-TA\(2\) Cert\(0\) SHA2-256\(1\) at depth 1' \
	"DANE-TA 2 0 1: matched at depth 1"
run ta211 127.0.0.62 good user@ta1.dane.test -o tls_security_level=dane-only
outcome "DANE-TA 2 1 1 (test CA key), dane-only" 0 - tls

# -- DANE-TA with a host name the certificate does not carry.
run tawrong 127.0.0.63 good user@tawrong.dane.test -o tls_security_level=dane
outcome "DANE-TA, certificate without the MX name" 75 4.7.5 none
no_plain_mail "DANE-TA wrong name"

# -- TLSA records that do not match: deferred, never plaintext.
run mismatch 127.0.0.64 good user@mismatch.dane.test -o tls_security_level=dane "${RPT[@]}"
outcome "mismatching TLSA (dane)" 75 4.7.5 none
no_plain_mail "mismatching TLSA"
tap_like "$OUT" 'no TLSA record matched' "mismatching TLSA: the reason names TLSA"
tap_is "$(rg conns)" 1 "mismatching TLSA: one connection, no plaintext retry"

# -- bogus DNSSEC (the TLSA record would match, its signature does not).
run bogus 127.0.0.65 good user@bogus.dane.test -o tls_security_level=dane "${RPT[@]}"
outcome "bogus TLSA signature (SERVFAIL)" 75 4.7.5 none
tap_is "$(rg conns)" 0 "bogus TLSA: no connection at all"
tap_like "$OUT" 'TLSA lookup for _25\._tcp\.mx\.bogus\.dane\.test failed' "bogus TLSA: the reason is the TLSA lookup"

# -- TLSA published, STARTTLS stripped by the server (or an attacker).
run stripped 127.0.0.66 no_starttls user@stripped.dane.test -o tls_security_level=dane "${RPT[@]}"
outcome "TLSA present, STARTTLS not offered" 75 4.7.4 none
no_plain_mail "STARTTLS stripped"

# -- only unusable records (PKIX-TA 0, PKIX-EE 1): encrypt, cert not checked.
run unusable 127.0.0.67 good user@unusable.dane.test -o tls_security_level=dane -o tls_ca_file="$CERTS/other-ca.pem"
outcome "only unusable TLSA: encrypt, delivered without certificate check" 0 - tls
run unusable_plain 127.0.0.67 no_starttls user@unusable.dane.test -o tls_security_level=dane
outcome "only unusable TLSA: TLS still required" 75 4.7.4 none
run unusable_only 127.0.0.67 good user@unusable.dane.test -o tls_security_level=dane-only
outcome "only unusable TLSA, dane-only: deferred" 75 4.7.5 none

# -- no TLSA records (validated NODATA): may under dane, deferred under dane-only.
run notlsa 127.0.0.68 no_starttls user@notlsa.dane.test -o tls_security_level=dane
outcome "no TLSA records (dane): may, plaintext allowed" 0 - plain
run notlsa_only 127.0.0.68 good user@notlsa.dane.test -o tls_security_level=dane-only
outcome "no TLSA records (dane-only): deferred" 75 4.7.5 none
tap_is "$(rg conns)" 0 "no TLSA records (dane-only): no connection"

# -- unsigned zone with (wrong) TLSA records: insecure, ignored.
run insecure 127.0.0.69 no_starttls user@plain.insecure.test -o tls_security_level=dane
outcome "insecure zone (dane): TLSA ignored, may" 0 - plain
run insecure_only 127.0.0.69 good user@plain.insecure.test -o tls_security_level=dane-only "${RPT[@]}"
outcome "insecure zone (dane-only): deferred" 75 4.7.5 none
tap_like "$OUT" 'not DNSSEC-validated' "insecure zone (dane-only): the reason says insecure"

# -- insecure MX RRset naming a secure MX host with TLSA records.
run halfdane 127.0.0.60 good user@halfdane.insecure.test -o tls_security_level=dane
outcome "insecure MX, secure TLSA (dane): DANE enforced" 0 - tls
tap_like "$ERR" '^tlsrelay: Trusted TLS connection established to mx\.ee\.dane\.test.*DANE DANE-EE' \
	"insecure MX: the match is logged Trusted, not Verified"
run halfdane_bad 127.0.0.64 good user@halfdane-bad.insecure.test -o tls_security_level=dane
outcome "insecure MX, mismatching TLSA (dane): deferred" 75 4.7.5 none
run halfdane_only 127.0.0.60 good user@halfdane.insecure.test -o tls_security_level=dane-only
outcome "insecure MX (dane-only): deferred" 75 4.7.5 none
tap_like "$OUT" 'non DNSSEC destination' "insecure MX (dane-only): non DNSSEC destination"

# -- MX host names that are aliases: TLSA at the target, else at the alias.
run cname 127.0.0.60 good user@cname.dane.test -o tls_security_level=dane
outcome "MX host is an alias: TLSA of the target" 0 - tls
tap_is "$(rg sni)" mx.ee.dane.test "alias: SNI is the target (the TLSA base domain)"
run cname2 127.0.0.68 good user@cname2.dane.test -o tls_security_level=dane-only
outcome "MX host is an alias, target without TLSA: TLSA of the alias" 0 - tls
tap_is "$(rg sni)" alias2.dane.test "alias without target TLSA: SNI is the alias"
tap_like "$ERR" 'Verified TLS connection established to alias2\.dane\.test.*DANE DANE-EE' \
	"alias without target TLSA: verified by DANE"

# -- a relay host: no MX lookup, TLSA of the host itself.
run relay 127.0.0.64 good user@example.org -o tls_security_level=dane -o 'relayhost=[mx.mismatch.dane.test]'
outcome "relay host [mx.mismatch.dane.test] (dane): deferred" 75 4.7.5 none
run relay_ok 127.0.0.60 good user@example.org -o tls_security_level=dane -o 'relayhost=[mx.ee.dane.test]'
outcome "relay host [mx.ee.dane.test] (dane): delivered" 0 - tls

# -- a policy map entry enables DANE for one destination.
printf 'mismatch.dane.test dane\n' > "$T/policy"
run pmap 127.0.0.64 good user@mismatch.dane.test -o tls_security_level=may -o "tls_policy_map=$T/policy"
outcome "policy map entry dane over tls_security_level = may" 75 4.7.5 none
run pmap_other 127.0.0.68 no_starttls user@notlsa.dane.test -o tls_security_level=may -o "tls_policy_map=$T/policy"
outcome "other destinations keep tls_security_level = may" 0 - plain

# -- RFC 8689 TLS-Required: No: opportunistic DANE (tls_security_level =
#    dane) is not applied to the message; requirements the admin
#    configured are.
printf 'Subject: dane test\nTLS-Required: No\n\nhello\n' > "$T/msg-no"
printf 'Subject: dane test\nTLS-Required: No\nX-TLSRelay-Require: dane\n\nhello\n' > "$T/msg-no-req"
MSG=$T/msg-no run no_mismatch 127.0.0.64 good user@mismatch.dane.test -o tls_security_level=dane \
	-o tls_required_enable=yes
outcome "TLS-Required: No, mismatching TLSA (dane): relaxed to may, delivered" 0 - tls
tap_like "$ERR" '^tlsrelay: TLS-Required: No: DANE requirements of mismatch\.dane\.test relaxed \(level dane -> may' \
	"TLS-Required: No (dane): the relaxation is logged"
MSG=$T/msg-no run no_bogus 127.0.0.65 good user@bogus.dane.test -o tls_security_level=dane \
	-o tls_required_enable=yes
outcome "TLS-Required: No, bogus TLSA (dane): TLSA not looked at, delivered" 0 - tls
MSG=$T/msg-no run no_off 127.0.0.64 good user@mismatch.dane.test -o tls_security_level=dane
outcome "TLS-Required: No without tls_required_enable: deferred" 75 4.7.5 none
run no_hdr 127.0.0.64 good user@mismatch.dane.test -o tls_security_level=dane -o tls_required_enable=yes
outcome "tls_required_enable without the header: deferred" 75 4.7.5 none
MSG=$T/msg-no run no_only 127.0.0.64 good user@mismatch.dane.test -o tls_security_level=dane-only \
	-o tls_required_enable=yes
outcome "TLS-Required: No, dane-only: not relaxed, deferred" 75 4.7.5 none
no_plain_mail "TLS-Required: No, dane-only"
tap_like "$ERR" 'TLS-Required: No: level dane-only \(tls_security_level\) kept for mismatch\.dane\.test' \
	"TLS-Required: No, dane-only: logged as kept"
MSG=$T/msg-no run no_pmap 127.0.0.64 good user@mismatch.dane.test -o tls_security_level=may \
	-o "tls_policy_map=$T/policy" -o tls_required_enable=yes
outcome "TLS-Required: No, policy map entry dane: not relaxed, deferred" 75 4.7.5 none
MSG=$T/msg-no-req run no_req 127.0.0.64 good user@mismatch.dane.test -o tls_security_level=dane \
	-o tls_required_enable=yes
outcome "TLS-Required: No with X-TLSRelay-Require: dane: not relaxed, deferred" 75 4.7.5 none

# -- A message's requirement only ever raises (issue 13 item 7): DANE is
#    kept for servers with usable TLSA records (it authenticates them at
#    least as well as verify); a server DANE does not cover gets at least
#    the requirement instead of Postfix's may/encrypt fallback.
printf 'Subject: dane test\nX-TLSRelay-Require: verify\n\nhello\n' > "$T/msg-verify"
printf 'Subject: dane test\nX-TLSRelay-Require: encrypt\n\nhello\n' > "$T/msg-encrypt"
printf 'Subject: dane test\nX-TLSRelay-Require: dane\n\nhello\n' > "$T/msg-dane"
MSG=$T/msg-verify run req_ee 127.0.0.60 good user@ee.dane.test -o tls_security_level=dane
outcome "dane + requirement verify, usable TLSA: delivered" 0 - tls
tap_like "$ERR" '^tlsrelay: Verified TLS connection established to mx\.ee\.dane\.test\[127\.0\.0\.60\]:25: .*DANE DANE-EE' \
	"dane + requirement verify, usable TLSA: verified by DANE, not replaced by WebPKI"
tap_like "$ERR" 'policy for ee\.dane\.test: dane floor=verify match=hostname \(from tls_security_level \+ X-TLSRelay-Require: verify\)' \
	"dane + requirement verify: the policy keeps dane, verify is the floor"
MSG=$T/msg-verify run req_ee_only 127.0.0.60 good user@ee.dane.test -o tls_security_level=dane-only
outcome "dane-only + requirement verify, usable TLSA: delivered with DANE" 0 - tls
tap_like "$ERR" 'Verified TLS connection established to mx\.ee\.dane\.test.*DANE DANE-EE' \
	"dane-only + requirement verify: verified by DANE"
MSG=$T/msg-verify run req_notlsa 127.0.0.68 good user@notlsa.dane.test -o tls_security_level=dane
outcome "dane + requirement verify, no TLSA: verify, trusted certificate delivered" 0 - tls
tap_like "$ERR" 'DANE for mx\.notlsa\.dane\.test: verify \(.*; level verify: the message requires it\)' \
	"dane + requirement verify, no TLSA: the server gets verify (logged)"
tap_like "$ERR" '^tlsrelay: Verified TLS connection established to mx\.notlsa\.dane\.test' \
	"dane + requirement verify, no TLSA: verified by its CA and name"
MSG=$T/msg-verify run req_notlsa_self 127.0.0.68 selfsigned user@notlsa.dane.test -o tls_security_level=dane
outcome "dane + requirement verify, no TLSA, self-signed certificate: deferred, not may" 75 4.7.5 none
no_plain_mail "dane + requirement verify, no TLSA, self-signed"
MSG=$T/msg-verify run req_unusable 127.0.0.67 good user@unusable.dane.test -o tls_security_level=dane \
	-o tls_ca_file="$CERTS/other-ca.pem"
outcome "dane + requirement verify, unusable TLSA, untrusted CA: deferred, not encrypt" 75 4.7.5 none
MSG=$T/msg-encrypt run req_notlsa_enc 127.0.0.68 no_starttls user@notlsa.dane.test -o tls_security_level=dane
outcome "dane + requirement encrypt, no TLSA, no STARTTLS: deferred, not may" 75 4.7.4 none
no_plain_mail "dane + requirement encrypt, no TLSA"
MSG=$T/msg-dane run req_dane_over_enc 127.0.0.68 no_starttls user@notlsa.dane.test -o tls_security_level=encrypt
outcome "encrypt + requirement dane, no TLSA, no STARTTLS: encrypt kept, deferred" 75 4.7.4 none
no_plain_mail "encrypt + requirement dane, no TLSA"
tap_like "$ERR" 'policy for notlsa\.dane\.test: dane floor=encrypt \(from tls_security_level \+ X-TLSRelay-Require: dane\)' \
	"encrypt + requirement dane: dane with encrypt as the floor"
MSG=$T/msg-dane run req_dane_over_enc_ee 127.0.0.60 good user@ee.dane.test -o tls_security_level=encrypt
outcome "encrypt + requirement dane, usable TLSA: delivered with DANE" 0 - tls
tap_like "$ERR" 'Verified TLS connection established to mx\.ee\.dane\.test.*DANE DANE-EE' \
	"encrypt + requirement dane, usable TLSA: verified by DANE"

# -- tlsrelay -q: the DANE outcome per MX host, without connecting.
q() { timeout -k 5 30 "$TLSRELAY" -c "$T/tlsrelay.conf" -o "dns_resolver=127.0.0.1:$ub_port" "$@" 2>&1; }
QOUT=$(q -o tls_security_level=dane -q ee.dane.test)
tap_like "$QOUT" 'mx\.ee\.dane\.test: DANE \(1 usable TLSA record of 1 at _25\._tcp\.mx\.ee\.dane\.test' "-q: usable TLSA records"
QOUT=$(q -o tls_security_level=dane -q bogus.dane.test)
tap_like "$QOUT" 'mx\.bogus\.dane\.test: deferred \(4\.7\.5 TLSA lookup .* failed' "-q: bogus TLSA -> deferred"
QOUT=$(q -o tls_security_level=dane -q unusable.dane.test)
tap_like "$QOUT" 'mx\.unusable\.dane\.test: encrypt \(2 TLSA records .*none usable' "-q: unusable -> encrypt"
QOUT=$(q -o tls_security_level=dane-only -q plain.insecure.test)
tap_like "$QOUT" 'MX records of plain\.insecure\.test are not DNSSEC-validated' "-q: dane-only, insecure MX"
QOUT=$(q -o tls_security_level=may -q ee.dane.test)
tap_unlike "$QOUT" 'TLSA' "-q at level may: no DANE lookups"

# -- tls_session_cache: no session reuse under DANE. A resumed session runs
# no certificate check, hence no TLSA match; the cache key does not hold the
# TLSA records. The peer on 127.0.0.71 keeps one TLS context (its tickets
# stay valid), and "encrypt" shows that sessions are resumed there; under
# DANE each delivery makes a full handshake, and when the TLSA record
# changes (a second resolver serves the zone signed again with a record
# that no longer matches) the next delivery is deferred.
DANE_UB_CONF=$ub_dir/unbound2.conf DANE_ZONE=$T/zones/dane2.test.zone.signed \
	ub_start dane_ub_conf "$ub_dir/unbound2.conf" ub_log_ready || tap_bail "cannot start the second unbound"
ub2_pid=$ub_started_pid ub2_port=$ub_started_port
at_exit ub_stop "$ub2_pid" "$ub_dir/unbound2.conf"
DIR=$T/sc
mkdir -p "$DIR"
printf '{"cert": "%s", "key": "%s", "tls_resume": true}\n' "$T/leaf-chain.pem" "$T/leaf.key" > "$T/resume.json"
start_bg peer-sc "$PY" "$PEER" serve --address 127.0.0.71 --port 25 \
	--scenario "$T/resume.json" --outdir "$DIR" --pidfile "$DIR/peer.pid" --max-lifetime 120
sc_pid=$BG_PID
wait_until 10 _peer_ready "$DIR/peer.pid" "$sc_pid"
[ -s "$DIR/peer.pid" ] || tap_bail "peer on 127.0.0.71:25 did not start: $(cat "$T/peer-sc.out")"
sc_send() {	# sc_send NAME RESOLVER_PORT [tlsrelay ARGS...]: RC, OUT, ERR; the peer's report
	local name=$1 port=$2; shift 2
	timeout -k 5 60 "$TLSRELAY" -c "$T/tlsrelay.conf" -v -o "dns_resolver=127.0.0.1:$port" \
		-o "tls_session_cache=$T/sc/cache" "$@" -f sender@example.org -- user@sc.dane.test \
		< "$T/msg" > "$DIR/$name.out" 2> "$DIR/$name.err"
	RC=$?
	OUT=$(head -n 1 "$DIR/$name.out")
	ERR=$(cat "$DIR/$name.err")
	"$PY" "$PEER" report "$DIR" > "$DIR/report" 2>&1
}
sc_send enc1 "$ub_port" -o tls_security_level=encrypt
sc_send enc2 "$ub_port" -o tls_security_level=encrypt
tap_status "$([ "$RC" = 0 ] && [ "$(rg tls_resumed)" = 1 ]; echo $?)" \
	"session cache, encrypt: the second delivery resumes the session (the peer resumes)" "$(why)"
tap_like "$ERR" 'TLS connection reused to mx\.sc\.dane\.test' "session cache, encrypt: logged reused"
for i in 1 2; do
	if [ "$i" = 2 ]; then set -- "${RPT[@]}"; else set --; fi
	sc_send "dane$i" "$ub_port" -o tls_security_level=dane "$@"
	tap_status "$([ "$RC" = 0 ]; echo $?)" "session cache, DANE delivery $i: delivered" "$(why)"
	tap_like "$ERR" '^tlsrelay: Verified TLS connection established to mx\.sc\.dane\.test\[127\.0\.0\.71\]:25: .*DANE DANE-EE' \
		"session cache, DANE delivery $i: full handshake, TLSA matched"
	tap_unlike "$ERR" 'reused' "session cache, DANE delivery $i: no session reused"
done
tap_is "$(rg tls_resumed)" 1 "session cache, DANE: the peer resumed no DANE session"
mails=$(rg mail_tls)
sc_send dane3 "$ub2_port" -o tls_security_level=dane "${RPT[@]}"
tap_status "$([ "$RC" = 75 ] && case $OUT in "4.7.5 "*) true ;; *) false ;; esac; echo $?)" \
	"session cache, TLSA changed to a mismatch: deferred 4.7.5" "$(why)"
tap_like "$OUT" 'no TLSA record matched' "session cache, TLSA changed: the reason names TLSA"
tap_is "$(rg mail_tls)/$(rg tls_resumed)" "$mails/1" "session cache, TLSA changed: no MAIL, nothing resumed"
stop_pid "$sc_pid"

# -- TLS-RPT (RFC 8460): DANE sessions under policy-type "tlsa", checked
# with the structure checker of tests/sts; policy-domain = the recipient
# domain, mx-host = the MX host, policy-string = the TLSA records.
STS=${TLSRELAY_STS_BIN:-$top_builddir/plugin/sts/tlsrelay-sts}
CHECK=$top_srcdir/tests/sts/tlsrpt_check.py
rpt() {	# rpt DOMAIN OK FAIL [RESULT-TYPE...]: the day's report of DOMAIN
	local d=$1 f=$T/report-$1.json; shift
	timeout -k 5 30 "$STS" -c "$T/tlsrelay.conf" "${RPT[@]}" report --day "$DAY" --domain "$d" \
		--submitter client.test > "$f" 2>&1
	tap_run "TLS-RPT $d: tlsa, $1 successful, $2 failed${3:+ ($3)}" "$PY" "$CHECK" "$f" "$d" tlsa "$@"
}
rpt sc.dane.test 1 1 tlsa-invalid
rpt ee.dane.test 1 0
rpt mismatch.dane.test 0 1 tlsa-invalid
rpt bogus.dane.test 0 1 dnssec-invalid
rpt stripped.dane.test 0 1 starttls-not-supported
rpt plain.insecure.test 0 1 dane-required
rpt old.dane.test 0 2 tlsa-invalid
tap_run "TLS-RPT: the tlsa policy names the TLSA record, the recipient domain and the MX host" \
	"$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
p = [x["policy"] for x in r["policies"] if x["summary"]["total-successful-session-count"] == 1]
assert len(p) == 1, p
p = p[0]
assert p["policy-type"] == "tlsa" and p["policy-domain"] == "ee.dane.test", p
assert p["policy-string"] == ["3 1 1 " + sys.argv[2].upper()], p
assert p["mx-host"] == ["mx.ee.dane.test"], p' "$T/report-ee.dane.test.json" "$EE311"
tap_run "TLS-RPT: the failure names our address (sending-mta-ip), the MX host and its address" \
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))["policies"][0]["failure-details"]
assert d == [{"result-type": "tlsa-invalid", "sending-mta-ip": "127.0.0.1",
              "receiving-mx-hostname": "mx.mismatch.dane.test",
              "receiving-ip": "127.0.0.64", "failed-session-count": 1}], d' "$T/report-mismatch.dane.test.json"

tap_done
