#!/bin/bash
# tests/peer/test_policy.sh - tlsrelay's TLS policy levels (fingerprint,
# verify, secure, and the policy map over none/may/encrypt), tls_policy_map,
# tlsrelay -q and SMTP AUTH (sasl_password_map), against tests/peer/peer.py
# on 127.0.0.1.
#
# Same shape as test_transport.sh: one fresh peer (new port, new transcript)
# per case; the CASES table says scenario x configuration -> expected exit
# status, DSN prefix and "delivered over"; the QCASES table checks the
# output of tlsrelay -q (no peer). The certificates are tests/certs (see
# its README): ca.pem is the trust anchor when a case says "ca".
#
# After every case these invariants are checked on the peer's transcript:
#   - AUTH never in plaintext (any level, any case)
#   - effective level encrypt or above, or credentials configured for the
#     relay: no MAIL FROM in plaintext
#   - credentials configured: MAIL only on a connection whose AUTH got 235
#     before it; no credentials: no AUTH at all
#   - credentials configured: tlsrelay's output (stdout and the -vv log on
#     stderr) never holds the password, the user name, nor their base64
#     forms (LOGIN lines, the PLAIN blob); the user name only in the one
#     place made for it, the delivery log line's "sasl_username=USER," after
#     a successful AUTH (issue 19), and only when the peer accepted AUTH
#   - effective level none: no STARTTLS
#   - no command after an injected STARTTLS reply; STARTTLS at most once
#     per connection
#   - every message the peer accepted equals the canonical input byte for
#     byte; exit 0 only if the peer answered 2xx to the end of data
#   - tlsrelay finished (timeout 60), peer.py had no internal error and
#     stopped cleanly
#   - tlsrelay -q for the same configuration names the same effective level
#     and says "AUTH with the credentials" exactly when they apply
# A failing case is shown with its -vv log and the peer's traces as TAP
# comments.
#
# Needs python3 and openssl (skips without them) and the built tlsrelay:
# $TLSRELAY_BIN, else $top_builddir/plugin/transport/tlsrelay
# ($top_builddir defaults to /tmp/pb for manual runs).
# Only 127.0.0.1 (relay hosts [127.0.0.1] and [localhost]); every process is
# stopped by its PID at exit.

: "${top_builddir:=/tmp/pb}"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

peer_init
require_cmd timeout cmp openssl base64
peer_require_tlsrelay
peer_require_auth
peer_require_localhost

make_tmpdir
T=$TEST_TMP
mkdir -p "$T/spool" "$T/cases" "$T/q"
printf 'not a certificate\n' > "$T/junk-ca.pem"

# ------------------------------------------------------------- fixtures
# Digests of the test certificates, as Postfix documents them for
# fingerprint match= (smtp_tls_fingerprint_cert_match): the certificate's
# SHA-256 and the SHA-256 of the DER SubjectPublicKeyInfo, "AB:CD:..".
cert_fp() { openssl x509 -in "$CERTS/$1" -noout -fingerprint -sha256 | sed 's/.*=//'; }
pkey_fp() {
	openssl x509 -in "$CERTS/$1" -noout -pubkey | openssl pkey -pubin -outform DER |
		openssl dgst -sha256 -c | sed 's/.*= *//' | tr 'a-f' 'A-F'
}
FP_CERT=$(cert_fp server.pem) FP_PKEY=$(pkey_fp server.pem)
FP_SELF=$(cert_fp selfsigned.pem) FP_SELF_PKEY=$(pkey_fp selfsigned.pem)
FP_EXPIRED=$(cert_fp expired.pem)
for v in FP_CERT FP_PKEY FP_SELF FP_SELF_PKEY FP_EXPIRED; do
	[[ ${!v} =~ ^([0-9A-F]{2}:){31}[0-9A-F]{2}$ ]] || tap_bail "cannot compute $v with openssl: '${!v}'"
done
FP_CERT_LC=$(printf '%s' "$FP_CERT" | tr 'A-F' 'a-f')

# SMTP AUTH credentials: the password has a space, a colon, a '#' and UTF-8
# (the map splits user:password at the first colon). The peer's scenarios
# pol_auth*.json accept exactly these (pol_auth_535/454: another password).
SASL_USER=relayuser7
SASL_PASS='pä ss:w0rd#1'
SECRETS=("$SASL_PASS" "$SASL_USER"
	"$(printf '%s' "$SASL_PASS" | base64 -w0)"
	"$(printf '%s' "$SASL_USER" | base64 -w0)"
	"$(printf '\0%s\0%s' "$SASL_USER" "$SASL_PASS" | base64 -w0)")

# polmap NAME: the tls_policy_map text called NAME (@PORT@: the peer's port)
polmap() {
	case $1 in
	secure_localhost) echo "[localhost]:@PORT@ secure match=localhost" ;;
	secure_default)   echo "[localhost]:@PORT@ secure" ;;
	secure_mx)        echo "[localhost]:@PORT@ secure match=mx.example.test servername=mx.example.test" ;;
	secure_other)     echo "[localhost]:@PORT@ secure match=other.example.test:.example.org" ;;
	secure_dot)       echo "[localhost]:@PORT@ secure match=.example.test" ;;
	verify_ip)        echo "[127.0.0.1]:@PORT@ verify" ;;
	fp_cert)          echo "[127.0.0.1]:@PORT@ fingerprint match=$FP_CERT" ;;
	fp_pkey)          echo "[127.0.0.1]:@PORT@ fingerprint match=$FP_PKEY" ;;
	fp_wrong)         echo "[127.0.0.1]:@PORT@ fingerprint match=$FP_SELF|$FP_SELF_PKEY" ;;
	fp_selfsigned)    echo "[127.0.0.1]:@PORT@ fingerprint match=$FP_SELF" ;;
	fp_expired)       echo "[127.0.0.1]:@PORT@ fingerprint match=$FP_EXPIRED" ;;
	fp_list)          printf '%s\n' "[127.0.0.1]:@PORT@ fingerprint match=$FP_SELF" "	match=$FP_CERT_LC" ;;
	encrypt)          echo "[127.0.0.1]:@PORT@ encrypt" ;;
	may)              echo "[127.0.0.1]:@PORT@ may" ;;
	none)             echo "[127.0.0.1]:@PORT@ none" ;;
	noport_encrypt)   echo "[127.0.0.1] encrypt" ;;
	tls13)            echo "[127.0.0.1]:@PORT@ encrypt protocols=TLSv1.3" ;;
	ge_tls13)         echo "[127.0.0.1]:@PORT@ encrypt, protocols=>=TLSv1.3" ;;
	no_tls13)         echo "[127.0.0.1]:@PORT@ encrypt protocols=!TLSv1.3" ;;
	may_tls13)        echo "[127.0.0.1]:@PORT@ may protocols=TLSv1.3" ;;
	dane)             echo "[127.0.0.1]:@PORT@ dane" ;;
	broken)           printf '%s\n' "# a map with an error on line 3" "example.test may" "[127.0.0.1]:@PORT@ verify match=" ;;
	# for QCASES
	q) cat <<-EOF
	# tls_policy_map for the -q cases
	.example.com        verify
	example.org         fingerprint match=$FP_CERT_LC
	    match=$FP_SELF

	[127.0.0.1]         encrypt
	[localhost]:@PORT@  secure match=localhost protocols=>=TLSv1.3 ciphers=high
	[mx.example.test]:submission  verify match=hostname:.example.test servername=nexthop
	[127.0.0.2]:@PORT@  dane
	EOF
	;;
	bad_key)     printf '%s\n' "example.test may" "# comment" "[bad.example verify" ;;
	bad_level)   printf '%s\n' "example.test bogus" ;;
	fp_nomatch)  printf '%s\n' "example.test may" "example.org fingerprint" ;;
	match_enc)   printf '%s\n' "example.test may" "" "example.org encrypt match=example.org" ;;
	tafile)      printf '%s\n' "example.org verify tafile=/etc/ssl/ta.pem" ;;
	dup_key)     printf '%s\n' "[127.0.0.1]:@PORT@ may" "example.org may" "[127.0.0.1]:@PORT@ encrypt" ;;
	old_proto)   printf '%s\n' "example.org encrypt protocols=TLSv1:TLSv1.1" ;;
	low_cipher)  printf '%s\n' "example.org encrypt ciphers=low" ;;
	*) tap_bail "unknown policy map $1" ;;
	esac
}

# saslmap NAME: the sasl_password_map text called NAME; SASL_APPLIES=1 when
# it has credentials for the relay host of the cases ([127.0.0.1]:PORT or
# [localhost]:PORT)
saslmap() {
	SASL_APPLIES=1
	case $1 in
	ok) printf '%s\n' "# credentials for the peer" "[127.0.0.1]:@PORT@   $SASL_USER:$SASL_PASS" ;;
	localhost) printf '%s\n' "[localhost]:@PORT@ $SASL_USER:$SASL_PASS" ;;
	other) SASL_APPLIES=0; printf '%s\n' "[127.0.0.2]:@PORT@ $SASL_USER:$SASL_PASS" "[127.0.0.1]:1 $SASL_USER:$SASL_PASS" ;;
	# broken maps whose error messages must not quote the secrets
	swapped) printf '%s\n' "$SASL_USER:Secr3tPw [127.0.0.1]:@PORT@" ;;
	nocolon) printf '%s\n' "[127.0.0.1]:@PORT@ Secr3tPw" ;;
	contline) printf '%s\n' "[127.0.0.1]:@PORT@ $SASL_USER:" "    Secr3tPw" ;;
	ctlchar) printf '[127.0.0.1]:@PORT@ %s:Secr3t\001Pw\n' "$SASL_USER" ;;
	*) tap_bail "unknown sasl map $1" ;;
	esac
}

# ---------------------------------------------------------------- messages
# msg.in is what the MTA gives tlsrelay; msg.canon is what must arrive.
{
	printf 'From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n'
	printf 'Subject: policy test\n'
	printf 'Message-ID: <policy-test@example.test>\n'
	printf '\n'
	printf '.leading dot\n'
	printf '.\n'
	printf 'bare\rCR\n'
	printf 'UTF-8: Gr\303\274\303\237e\n'
	printf 'last line without newline'
} > "$T/msg.in"
{
	printf 'Subject: policy test\r\n'
	printf 'Message-ID: <policy-test@example.test>\r\n'
	printf '\r\n'
	printf '.leading dot\r\n'
	printf '.\r\n'
	printf 'bare\r\nCR\r\n'
	printf 'UTF-8: Gr\303\274\303\237e\r\n'
	printf 'last line without newline\r\n'
} > "$T/msg.canon"

# ------------------------------------------------------------------ cases
# name | scenario | level (tls_security_level) | eff (the effective level the
# relay must get: the policy map entry, else level) | exit | DSN prefix
# ("-": no output) | delivered over (tls, plain, none) | options
# (";"-separated: relay=localhost (relayhost [localhost]:PORT instead of
# [127.0.0.1]:PORT), smtps, ca (tls_ca_file = tests/certs/ca.pem; ca=missing:
# a file that does not exist, ca=junk: one without certificates),
# pmap=NAME (tls_policy_map, see polmap), sasl=NAME (sasl_password_map, see
# saslmap; tlsrelay then runs with -vv), saslmode=MODE (default 0600)) |
# checks (";"-separated, see run_check) | optional TODO: "ASPECTS: reason"
# (ASPECTS: a comma list of rc, dsn, over, inv, q and check names).
CASES=$(cat <<'EOF'
# --- verify: chain against tls_ca_file, name = the MX host name (the relay host)
verify-localhost      good                  verify  verify   0  -      tls   relay=localhost;ca   verified;sni=localhost;one_conn
verify-ip             good                  verify  verify   0  -      tls   ca                   verified;no_sni;one_conn
verify-selfsigned     selfsigned_cert       verify  verify   75 4.7.5  none  relay=localhost;ca   no_mail;one_conn;says=Server_certificate_not_trusted
verify-unknown-root   pol_other_ca          verify  verify   75 4.7.5  none  relay=localhost;ca   no_mail;one_conn;says=Server_certificate_not_trusted
verify-expired        expired_cert          verify  verify   75 4.7.5  none  relay=localhost;ca   no_mail;one_conn;says=expired
verify-wrong-name     pol_wrong_name        verify  verify   75 4.7.5  none  relay=localhost;ca   no_mail;one_conn;says=Server_certificate_not_verified
verify-ip-wrong-name  pol_wrong_name        verify  verify   75 4.7.5  none  ca                   no_mail;one_conn;says=name_does_not_match
verify-no-ca-file     good                  verify  verify   75 4.7.5  none  relay=localhost      no_mail;one_conn;says=Server_certificate_not_trusted
verify-ca-missing     good                  verify  verify   78 4.3.5  none  relay=localhost;ca=missing  no_mail;one_conn;says=cannot_load_CA
verify-ca-junk        good                  verify  verify   78 4.3.5  none  relay=localhost;ca=junk     no_mail;one_conn;says=cannot_load_CA
may-ca-missing        good                  may     may      78 4.3.5  none  ca=missing           no_mail;one_conn;says=cannot_load_CA
verify-no-starttls    no_starttls           verify  verify   75 4.7.4  none  relay=localhost;ca   no_mail;no_starttls
verify-tls-garbage    starttls_garbage      verify  verify   75 4.7.5  none  relay=localhost;ca   no_mail;one_conn
verify-injection      starttls_injection    verify  verify   75 4.7.   none  relay=localhost;ca   no_mail;one_conn
verify-smtps          smtps                 verify  verify   0  -      tls   relay=localhost;smtps;ca  verified;tls_first;no_starttls
verify-smtps-wrong    pol_smtps_wrong_name  verify  verify   75 4.7.5  none  relay=localhost;smtps;ca  no_ehlo;no_mail;one_conn
verify-map-over-may   selfsigned_cert       may     verify   75 4.7.5  none  ca;pmap=verify_ip    no_mail;one_conn
# --- secure: chain + nexthop names (default match=nexthop:dot-nexthop)
secure-map-localhost  good                  may     secure   0  -      tls   relay=localhost;ca;pmap=secure_localhost  verified;sni=localhost
secure-default        good                  may     secure   0  -      tls   relay=localhost;ca;pmap=secure_default    verified
secure-default-wrong  pol_wrong_name        may     secure   75 4.7.5  none  relay=localhost;ca;pmap=secure_default    no_mail;one_conn;says=name_does_not_match
secure-match-mx       good                  may     secure   0  -      tls   relay=localhost;ca;pmap=secure_mx         verified;sni=mx.example.test
secure-dot-domain     good                  may     secure   0  -      tls   relay=localhost;ca;pmap=secure_dot        verified;sni=localhost
secure-match-other    good                  may     secure   75 4.7.5  none  relay=localhost;ca;pmap=secure_other      no_mail;one_conn
secure-global         good                  secure  secure   0  -      tls   relay=localhost;ca   verified
secure-global-unknown pol_other_ca          secure  secure   75 4.7.5  none  relay=localhost;ca   no_mail;one_conn
# --- fingerprint: certificate or public-key (DER SubjectPublicKeyInfo) SHA-256
#     digest, no CA needed; a matched pin is logged "Verified"
fp-cert               good                  may     fingerprint 0  -      tls   pmap=fp_cert        one_conn;verified
fp-pkey               good                  may     fingerprint 0  -      tls   pmap=fp_pkey        one_conn;verified
fp-wrong              good                  may     fingerprint 75 4.7.5  none  pmap=fp_wrong       no_mail;one_conn;says=matches_no_match=
fp-selfsigned         selfsigned_cert       may     fingerprint 0  -      tls   pmap=fp_selfsigned  one_conn;verified
fp-expired-pinned     expired_cert          may     fingerprint 0  -      tls   pmap=fp_expired     one_conn
fp-list-lowercase     good                  may     fingerprint 0  -      tls   pmap=fp_list        one_conn
fp-self-vs-server     selfsigned_cert       may     fingerprint 75 4.7.5  none  pmap=fp_cert        no_mail;one_conn
fp-global-no-digest   good                  fingerprint fingerprint 78 4.3.5  none  ca          no_conn;says=level_fingerprint_needs_match=
fp-no-starttls        no_starttls           may     fingerprint 75 4.7.4  none  pmap=fp_cert        no_mail;no_starttls
# --- the policy map overrides tls_security_level
map-encrypt-over-may  no_starttls           may     encrypt  75 4.7.4  none  pmap=encrypt         no_mail;no_starttls
map-may-over-encrypt  no_starttls           encrypt may      0  -      plain pmap=may             one_conn
map-none-over-verify  good                  verify  none     0  -      plain pmap=none            one_conn;no_starttls
map-key-without-port  no_starttls           may     may      0  -      plain pmap=noport_encrypt  one_conn
map-dane-ip-literal   good                  may     dane     0  -      tls   pmap=dane            one_conn
map-broken            good                  may     may      78 4.3.5  none  pmap=broken          no_conn;says=policy:3:
# --- protocols=
proto-tls13           good                  may     encrypt  0  -      tls   pmap=tls13           tls=TLSv1.3;log_tls13
proto-ge-tls13        good                  may     encrypt  0  -      tls   pmap=ge_tls13        tls=TLSv1.3;log_tls13
proto-no-tls13        good                  may     encrypt  0  -      tls   pmap=no_tls13        tls=TLSv1.2
proto-tls13-vs-tls12  pol_tls12_only        may     encrypt  75 4.7.5  none  pmap=tls13           no_mail;one_conn
proto-may-vs-tls12    pol_tls12_only        may     may      0  -      plain pmap=may_tls13       plain_retry
# --- SMTP AUTH
auth-plain            pol_auth              may     may      0  -      tls   sasl=ok              auth_plain_ok;one_conn
auth-login            pol_auth_login        may     may      0  -      tls   sasl=ok              auth_login_ok;one_conn
auth-535              pol_auth_535          may     may      75 4.7.8  none  sasl=ok              auth_failed;no_mail;one_conn
auth-454              pol_auth_454          may     may      75 4.7.0  none  sasl=ok              auth_failed;no_mail;one_conn
auth-stripped         pol_auth_no_starttls  may     may      75 4.7.4  none  sasl=ok              no_auth;no_mail;one_conn
auth-starttls-454     pol_auth_starttls454  may     may      75 4.7.4  none  sasl=ok              no_auth;no_mail;one_conn
auth-tls-garbage      pol_auth_garbage      may     may      75 4.7.5  none  sasl=ok              no_auth;no_mail;one_conn
auth-injection        starttls_injection    may     may      75 4.7.5  none  sasl=ok              no_auth;no_mail;one_conn
auth-no-known-mech    pol_auth_cram_only    may     may      75 4.7.0  none  sasl=ok              no_auth;no_mail;one_conn;says=CRAM-MD5
auth-not-after-tls    pol_auth_pre_tls_only may     may      75 4.7.0  none  sasl=ok              no_auth;no_mail;one_conn;says=no_supported_AUTH
auth-level-none       pol_auth              none    none     75 4.7.0  none  sasl=ok              no_auth;no_mail;no_starttls;says=TLS_is_not_active
auth-verify           pol_auth              verify  verify   0  -      tls   relay=localhost;ca;sasl=localhost  auth_plain_ok;verified
auth-verify-wrong     pol_auth_wrong_name   verify  verify   75 4.7.5  none  relay=localhost;ca;sasl=localhost  no_auth;no_mail
auth-smtps            pol_auth_smtps        may     may      0  -      tls   smtps;sasl=ok        auth_plain_ok;tls_first
auth-other-host       pol_auth              may     may      0  -      tls   sasl=other           no_auth;one_conn
auth-map-0644         pol_auth              may     may      78 4.3.5  none  sasl=ok;saslmode=0644  no_conn;says=mode_0644
auth-map-0640         pol_auth              may     may      0  -      tls   sasl=ok;saslmode=0640  auth_plain_ok
EOF
)

# -q cases: name | level | options (as above; relay=none: no relayhost) |
# destination (@PORT@ allowed) | exit | ERE the output must match (the rest
# of the line; @PORT@ allowed). Known tlsrelay bugs: QTODO[name]=reason.
QPORT=2526
declare -A QTODO=(
)
QCASES=$(cat <<'EOF'
q-domain-parent       may     relay=none;pmap=q   a.b.example.com      0  ^a\.b\.example\.com: nexthop a\.b\.example\.com:25: verify match=hostname \(from .*/policy:2 key \.example\.com\)$
q-domain-not-parent   may     relay=none;pmap=q   example.com          0  ^example\.com: nexthop example\.com:25: may \(from tls_security_level\)$
q-domain-fingerprint  may     relay=none;pmap=q   example.org          0  ^example\.org: nexthop example\.org:25: fingerprint match=@FP_CERT@\|@FP_SELF@ \(from .*/policy:3 key example\.org\)$
q-bracket             may     relay=none;pmap=q   [127.0.0.1]          0  ^\[127\.0\.0\.1\]: nexthop \[127\.0\.0\.1\](:25)?: encrypt \(from .*/policy:6 key \[127\.0\.0\.1\]\)$
q-bracket-25          may     relay=none;pmap=q   [127.0.0.1]:25       0  : encrypt \(from .*/policy:6 key \[127\.0\.0\.1\]\)$
q-bracket-other-port  none    relay=none;pmap=q   [127.0.0.1]:@PORT@   0  ^\[127\.0\.0\.1\]:@PORT@: nexthop \[127\.0\.0\.1\]:@PORT@: none \(from tls_security_level\)$
q-bracket-port        may     relay=none;pmap=q   [localhost]:@PORT@   0  ^\[localhost\]:@PORT@: nexthop \[localhost\]:@PORT@: secure match=localhost protocols=>=TLSv1\.3 ciphers=high \(from .*/policy:7 key \[localhost\]:@PORT@\)$
q-bracket-case        may     relay=none;pmap=q   [LocalHost]:@PORT@   0  : secure match=localhost .*key \[localhost\]:@PORT@\)$
q-named-port          may     relay=none;pmap=q   [mx.example.test]:587  0  : verify match=hostname:\.example\.test servername=nexthop \(from .*/policy:8 key \[mx\.example\.test\]:587\)$
q-dane-ip-literal     may     relay=none;pmap=q   [127.0.0.2]:@PORT@   0  ^  127\.0\.0\.2: may \(127\.0\.0\.2 is an IP address: no TLSA base domain\)$
q-relayhost           verify  pmap=q;sasl=ok      example.org          0  ^example\.org: nexthop \[127\.0\.0\.1\]:@PORT@ \(relayhost\): verify match=hostname \(from tls_security_level\); AUTH with the credentials of key \[127\.0\.0\.1\]:@PORT@$
q-relayhost-bracket   verify  pmap=q;sasl=ok      [localhost]:@PORT@   0  ^\[localhost\]:@PORT@: nexthop \[localhost\]:@PORT@: secure match=localhost
q-relayhost-smtps     verify  pmap=q              smtps:[127.0.0.1]    0  ^smtps:\[127\.0\.0\.1\]: nexthop smtps:\[127\.0\.0\.1\]:465: encrypt \(from .*/policy:6 key \[127\.0\.0\.1\]\)$
q-relayhost-no-cred   may     sasl=other          example.test         0  ^example\.test: nexthop \[127\.0\.0\.1\]:@PORT@ \(relayhost\): may \(from tls_security_level\)$
q-map-bad-key         may     pmap=bad_key        example.test         78 ^4\.3\.5 tlsrelay: .*/policy:3: bad key \(the first field\): unbalanced brackets
q-map-bad-level       may     pmap=bad_level      example.test         78 ^4\.3\.5 tlsrelay: .*/policy:1: unknown security level \(the first word
q-map-fp-no-match     may     pmap=fp_nomatch     example.test         78 ^4\.3\.5 tlsrelay: .*/policy:2: .*match
q-map-match-encrypt   may     pmap=match_enc      example.test         78 ^4\.3\.5 tlsrelay: .*/policy:3: attribute "match" is not allowed at level
q-map-tafile          may     pmap=tafile         example.test         78 ^4\.3\.5 tlsrelay: .*/policy:1: attribute "tafile" is not supported
q-map-dup-key         may     pmap=dup_key        example.test         78 ^4\.3\.5 tlsrelay: .*/policy:3: duplicate key .*first at line 1
q-map-old-protocols   may     pmap=old_proto      example.test         78 ^4\.3\.5 tlsrelay: .*/policy:1: bad protocols
q-map-low-ciphers     may     pmap=low_cipher     example.test         78 ^4\.3\.5 tlsrelay: .*/policy:1: bad ciphers=: expected high or medium
q-sasl-swapped        may     sasl=swapped        example.test         78 ^4\.3\.5 tlsrelay: .*/sasl:1: bad key
q-sasl-no-colon       may     sasl=nocolon        example.test         78 ^4\.3\.5 tlsrelay: .*/sasl:1: 
q-sasl-continuation   may     sasl=contline       example.test         78 ^4\.3\.5 tlsrelay: .*/sasl:[12]: 
q-sasl-control-char   may     sasl=ctlchar        example.test         78 ^4\.3\.5 tlsrelay: .*/sasl:1: 
q-sasl-0644           may     sasl=ok;saslmode=0644  example.test      78 ^4\.3\.5 tlsrelay: .*/sasl: is accessible by other users \(mode 0644\)
EOF
)

# ----------------------------------------------------------------- helpers
# write_conf DIR PORT LEVEL OPTS: DIR/tlsrelay.conf (+ DIR/policy, DIR/sasl);
# sets CREDS (1: credentials apply to the relay host)
write_conf() {
	local dir=$1 port=$2 level=$3 opts=$4 opt host='127.0.0.1' prefix='' ca='' pm='' sm='' mode=0600
	CREDS=0
	IFS=';' read -r -a _opts <<< "${opts#-}"
	for opt in "${_opts[@]}"; do
		case $opt in
		relay=localhost) host=localhost ;;
		relay=none) host= ;;
		smtps) prefix='smtps:' ;;
		ca) ca=$CERTS/ca.pem ;;
		ca=missing) ca=$T/no-such-ca.pem ;;
		ca=junk) ca=$T/junk-ca.pem ;;
		pmap=*) polmap "${opt#*=}" | sed "s/@PORT@/$port/g" > "$dir/policy" || return 1; pm=$dir/policy ;;
		sasl=*) saslmap "${opt#*=}" > /dev/null; CREDS=$SASL_APPLIES
			saslmap "${opt#*=}" | sed "s/@PORT@/$port/g" > "$dir/sasl" || return 1; sm=$dir/sasl ;;
		saslmode=*) mode=${opt#*=} ;;
		'') ;;
		*) tap_bail "unknown option $opt" ;;
		esac
	done
	[ -n "$sm" ] && chmod "$mode" "$sm"
	{
		echo "# written by tests/peer/test_policy.sh"
		[ -n "$host" ] && echo "relayhost = ${prefix}[$host]:$port"
		echo "tls_security_level = $level"
		[ -n "$ca" ] && echo "tls_ca_file = $ca"
		[ -n "$pm" ] && echo "tls_policy_map = $pm"
		[ -n "$sm" ] && echo "sasl_password_map = $sm"
		echo "helo_name = client.test"
		echo "syslog = no"
		echo "connect_timeout = 5s"
		echo "command_timeout = 10s"
		echo "data_timeout = 10s"
		echo "deadline = 30s"
		echo "spool_directory = $T/spool"
	} > "$dir/tlsrelay.conf"
}

# run_once NAME SCENARIO LEVEL OPTS: peer + tlsrelay -v (-vv with
# credentials); sets RC, DIR (stdout, stderr, report, query, transcript)
run_once() {
	local name=$1 scen=$2 level=$3 opts=$4 v=-v
	DIR=$T/cases/$name
	start_peer "$scen" "$DIR" || tap_bail "case $name: peer.py did not start"
	write_conf "$DIR" "$PEER_PORT" "$level" "$opts" || tap_bail "case $name: cannot write the configuration"
	[[ ";$opts;" == *";sasl="* ]] && v=-vv
	peer_run_tlsrelay "$T/msg.in" "$v" -f sender@example.test -- rcpt@example.test
	timeout -k 5 20 "$TLSRELAY" -c "$DIR/tlsrelay.conf" -q example.test > "$DIR/query" 2>&1
	QRC=$?
}

strict() {	# strict LEVEL: is LEVEL encrypt or above (TLS required)?
	case $1 in none|may) return 1 ;; *) return 0 ;; esac
}

# mail_after_auth: every connection that sent MAIL had AUTH=235 before it
mail_after_auth() {
	local line trace
	while IFS= read -r line; do
		trace=${line#*=}
		case $trace in *MAIL=*) ;; *) continue ;; esac
		trace=${trace%%MAIL=*}
		case $trace in *"+AUTH=235"*) ;; *) echo "${line%%=*}: MAIL without a successful AUTH before it"; return 1 ;; esac
	done < <(grep '^c[0-9]*\.trace=' "$DIR/report")
	return 0
}

# invariants EFF: prints one line per violated invariant
invariants() {
	local eff=$1 s out
	[ "$(rg auth_plain)" = 0 ] || echo "AUTH sent in plaintext ($(rg auth_plain) times)"
	if strict "$eff" || [ "$CREDS" = 1 ]; then
		[ "$(rg mail_plain)" = 0 ] ||
			echo "MAIL FROM sent in plaintext ($(rg mail_plain) times) at $eff$([ "$CREDS" = 1 ] && echo ' with credentials')"
	fi
	if [ "$CREDS" = 1 ]; then
		mail_after_auth
		out=$(cat "$DIR/stdout" "$DIR/stderr")
		if [[ $out == *"sasl_username="* ]] && ! grep -q '+AUTH=235' "$DIR/report"; then
			echo "sasl_username= logged although no AUTH succeeded"
		fi
		out=${out//"sasl_username=$SASL_USER, "/}
		for s in "${SECRETS[@]}"; do
			[[ $out == *"$s"* ]] &&
				echo "tlsrelay output holds a secret (password, user or base64) beyond sasl_username="
		done
	else
		[ "$(rg auth)" = 0 ] || echo "AUTH sent although no credentials apply to this relay"
	fi
	if [ "$eff" = none ]; then
		[ "$(rg starttls)" = 0 ] || echo "STARTTLS sent at level none"
	fi
	peer_invariants_common "$T/msg.canon"
}

# query_agrees EFF: tlsrelay -q names level EFF for the relay, and AUTH
# credentials exactly when they apply
query_agrees() {
	local eff=$1 q
	q=$(head -n 1 "$DIR/query")
	[ "$QRC" = 0 ] || { echo "tlsrelay -q exit $QRC: $q"; return 1; }
	[[ $q == *" (relayhost): $eff "* || $q == *" (relayhost): $eff" ]] ||
		{ echo "tlsrelay -q does not say level $eff: $q"; return 1; }
	if [ "$CREDS" = 1 ]; then
		[[ $q == *"; AUTH with the credentials of key "* ]] || { echo "tlsrelay -q does not mention the credentials: $q"; return 1; }
	else
		[[ $q != *"AUTH with"* ]] || { echo "tlsrelay -q mentions credentials that do not apply: $q"; return 1; }
	fi
	return 0
}

# run_check NAME: 0 if the case-specific check holds; diagnostic on stdout
run_check() {
	local arg=${1#*=}
	case $1 in
	no_mail) [ "$(rg mail_plain)" = 0 ] && [ "$(rg mail_tls)" = 0 ] || { echo "MAIL was sent: $(rg mail_lines)"; return 1; } ;;
	no_starttls) [ "$(rg starttls)" = 0 ] || { echo "STARTTLS sent $(rg starttls) times"; return 1; } ;;
	no_ehlo) [ "$(rg ehlo)" = 0 ] && [ "$(rg helo)" = 0 ] || { echo "EHLO/HELO sent after the certificate was refused"; return 1; } ;;
	one_conn) [ "$(rg conns)" = 1 ] || { echo "$(rg conns) connections, want 1"; return 1; } ;;
	no_conn) [ "$(rg conns)" = 0 ] || { echo "$(rg conns) connections, want none"; return 1; } ;;
	plain_retry)
		[ "$(rg conns)" = 2 ] || { echo "$(rg conns) connections, want 2 (a plaintext retry)"; return 1; }
		[ "$(rg starttls_conns)" = 1 ] || { echo "STARTTLS on connections '$(rg starttls_conns)', want '1' only"; return 1; } ;;
	tls_first) [ "$(rg tls_first)" = 1 ] || { echo "a command arrived before TLS (implicit TLS)"; return 1; } ;;
	verified) grep -q "Verified TLS connection established to " "$DIR/stderr" ||
			{ echo "no 'Verified TLS connection established' in the -v log: $(grep 'TLS connection established' "$DIR/stderr")"; return 1; } ;;
	log_tls13) grep -q "TLS connection established to .*: TLSv1\.3 with cipher" "$DIR/stderr" ||
			{ echo "the log does not show TLSv1.3: $(grep 'TLS connection established' "$DIR/stderr")"; return 1; } ;;
	tls=*) [ -n "$(rg tls_versions)" ] && [ -z "$(rg tls_versions | tr ' ' '\n' | grep -vx "$arg")" ] ||
			{ echo "TLS sessions used '$(rg tls_versions)', want $arg"; return 1; } ;;
	sni=*) [ "$(rg sni)" = "$arg" ] || { echo "SNI '$(rg sni)', want '$arg'"; return 1; } ;;
	no_sni) [ "$(rg sni)" = - ] || { echo "SNI '$(rg sni)' sent for an IP address"; return 1; } ;;
	says=*) grep -qF -- "${arg//_/ }" "$DIR/stdout" || { echo "output does not say '${arg//_/ }': $(head -c 300 "$DIR/stdout")"; return 1; } ;;
	auth_plain_ok|auth_login_ok)
		local mech=PLAIN; [ "$1" = auth_login_ok ] && mech=LOGIN
		[ "$(rg auth)" = 1 ] && [ "$(rg auth_tls)" = 1 ] && [ "$(rg auth_mechs)" = "$mech" ] &&
			[ "$(rg auth_results)" = ok ] && [ "$(rg auth_users)" = "$SASL_USER" ] ||
			{ echo "want one AUTH $mech over TLS accepted for $SASL_USER; got auth=$(rg auth) over TLS=$(rg auth_tls) mechs='$(rg auth_mechs)' results='$(rg auth_results)' users='$(rg auth_users)'"; return 1; } ;;
	auth_failed)
		[ "$(rg auth_tls)" -ge 1 ] && [ "$(rg auth_results)" = fail ] ||
			{ echo "want AUTH over TLS refused by the server; got over TLS=$(rg auth_tls) results='$(rg auth_results)'"; return 1; } ;;
	no_auth) [ "$(rg auth)" = 0 ] || { echo "AUTH sent $(rg auth) times (over TLS: $(rg auth_tls))"; return 1; } ;;
	*) tap_bail "unknown check $1" ;;
	esac
	return 0
}

diagnose() {	# diagnose NAME
	local line
	tap_diag "---- $1: exit $RC; output: $(head -c 300 "$DIR/stdout")"
	tap_diag "tlsrelay -q: $(head -n 1 "$DIR/query")"
	while IFS= read -r line; do
		case $line in c*.trace=*|mail_lines=*|auth_*=*|tls_versions=*|sni=*) tap_diag "peer: $line" ;; esac
	done < "$DIR/report"
	tap_diag "$(grep -v -e '-> ' "$DIR/stderr" | head -n 40)"
}

# ------------------------------------------------------------------- run
tap_diag "tlsrelay: $TLSRELAY; peer: $PY $PEER"
tap_diag "server.pem cert sha256 $FP_CERT, public key (SPKI) sha256 $FP_PKEY"
while read -r name scen level eff exp_rc exp_dsn exp_over opts checks todo; do
	case $name in ''|'#'*) continue ;; esac
	peer_case_start "$name" "$scen" "$todo"
	peer_case_expect $((4 + (exp_rc != 78))) "$checks"	# rc, dsn, over, inv, q
	run_once "$name" "$scen" "$level" "$opts"
	peer_outcome_points "$name" "$name ($level, policy $eff)" "$exp_rc" "$exp_dsn" "$exp_over"
	viol=$(invariants "$eff")
	point inv "$([ -z "$viol" ]; echo $?)" "$name: transcript invariants" "$viol"
	if [ "$exp_rc" != 78 ]; then
		diag=$(query_agrees "$eff")
		point q $? "$name: tlsrelay -q agrees (level $eff$([ "$CREDS" = 1 ] && echo ', AUTH'))" "$diag"
	fi
	peer_check_points "$name" "$checks"
	if [ "$FAILED" = 1 ] || [ "$KNOWN" = 1 ]; then
		diagnose "$name"
	fi
done <<< "$CASES"

# ------------------------------------------------------------ -q cases
while read -r name level opts dest exp_rc ere; do
	case $name in ''|'#'*) continue ;; esac
	case $name in q-sasl-*) tap_expect 3 ;; *) tap_expect 2 ;; esac	# rc, out, secret
	DIR=$T/q/$name
	mkdir -p "$DIR"
	write_conf "$DIR" "$QPORT" "$level" "$opts" || tap_bail "case $name: cannot write the configuration"
	dest=${dest//@PORT@/$QPORT}
	ere=${ere//@PORT@/$QPORT}
	ere=${ere//@FP_CERT@/$FP_CERT}
	ere=${ere//@FP_SELF@/$FP_SELF}
	out=$(timeout -k 5 20 "$TLSRELAY" -c "$DIR/tlsrelay.conf" -q "$dest" 2>&1)
	rc=$?
	TODO_ASPECTS='' TODO_REASON=${QTODO[$name]:-}
	[ -n "$TODO_REASON" ] && TODO_ASPECTS=out
	point rc "$([ "$rc" = "$exp_rc" ]; echo $?)" "$name: tlsrelay -q $dest: exit $exp_rc" "got exit $rc: $out"
	st=1
	printf '%s\n' "$out" | grep -Eq -- "$ere" && st=0
	point out "$st" "$name: tlsrelay -q $dest: output" "$(printf 'want /%s/, got:\n%s' "$ere" "$out")"
	case $name in q-sasl-*)	# an error about the password map never quotes a secret
		st=0
		printf '%s\n' "$out" | grep -Eq -- "Secr3t|$SASL_USER|pä ss" && st=1
		point secret "$st" "$name: the message quotes no user name or password" "got: $out"
	esac
done <<< "$QCASES"

tap_done
