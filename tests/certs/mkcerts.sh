#!/bin/bash
# mkcerts.sh - make the test certificates in tests/certs (committed fixtures).
#
# Usage: tests/certs/mkcerts.sh [--force] [OUTDIR]
#   Without --force, makes only the files that are missing (nothing when
#   every output exists, so it is safe to run repeatedly): a certificate
#   added to this script is issued by the committed CA and the other
#   fixtures stay as they are. A missing CA remakes everything. --force
#   regenerates every key and certificate. OUTDIR defaults to the directory
#   of this script.
#
# Everything is ECDSA P-256 with SHA-256. See README.md for what each file is.
# Only openssl(1) is needed (tested with OpenSSL 3.0).
set -euo pipefail

force=no
if [ "${1:-}" = "--force" ]; then force=yes; shift; fi
out=${1:-$(cd "$(dirname "$0")" && pwd)}
mkdir -p "$out"
cd "$out"

OUTPUTS="ca.pem ca.key server.pem server.key server-chain.pem
	selfsigned.pem selfsigned.key other-ca.pem other-ca.key
	other.pem other.key wrong-name.pem wrong-name.key expired.pem expired.key
	cn-only.pem cn-only.key cn-only-https.pem cn-only-https.key"

if [ "$force" = no ]; then
	missing=no
	for f in $OUTPUTS; do [ -s "$f" ] || missing=yes; done
	if [ "$missing" = no ]; then
		echo "mkcerts: all certificates exist in $out (use --force to remake them)"
		exit 0
	fi
	# without the CA nothing already made can be kept
	{ [ -s ca.pem ] && [ -s ca.key ]; } || force=yes
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

newkey() {	# newkey FILE: a fresh P-256 key in PKCS#8 PEM
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-pkeyopt ec_param_enc:named_curve -out "$1" 2>/dev/null
	chmod 0644 "$1"	# test fixture: readable by the unprivileged transport
}

# Extension sections shared by every certificate.
cat > "$work/ext.cnf" <<'CNF'
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:mx.example.test, DNS:localhost, IP:127.0.0.1, IP:::1

[selfsigned_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = DNS:mx.example.test, DNS:localhost, IP:127.0.0.1, IP:::1

[cn_only_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[wrong_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:wrong.example.net
CNF

# Every certificate is issued by "openssl ca" with fixed dates, so the
# fixtures do not depend on the clock of the machine that made them
# (openssl 3.0 "req -x509" and "x509 -req" only know -days from now).
GOOD_START=20200101000000Z
GOOD_END=21200101000000Z	# 100 years
mkdir -p "$work/ca"
cat > "$work/ca.cnf" <<CNF
[ca]
default_ca = test_ca
[test_ca]
dir = $work/ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = any_policy
unique_subject = no
copy_extensions = none
[any_policy]
organizationName = optional
commonName = supplied
[req]
distinguished_name = req_dn
[req_dn]
CNF
cat "$work/ext.cnf" >> "$work/ca.cnf"

# issue NAME CN ISSUER EXTSECTION SERIAL [START END]
#   Makes NAME.key and NAME.pem (without --force: only when one is
#   missing). ISSUER "self" means self-signed.
issue() {
	local name=$1 cn=$2 issuer=$3 ext=$4 serial=$5
	local start=${6:-$GOOD_START} end=${7:-$GOOD_END}
	if [ "$force" = no ] && [ -s "$name.pem" ] && [ -s "$name.key" ]; then
		return 0
	fi
	made="$made $name"
	newkey "$name.key"
	openssl req -new -sha256 -key "$name.key" -out "$work/$name.csr" \
		-subj "/O=tlsrelay tests/CN=$cn" -config "$work/ca.cnf" 2>/dev/null
	: > "$work/ca/index.txt"
	echo "$serial" > "$work/ca/serial"
	if [ "$issuer" = self ]; then
		set -- -selfsign -keyfile "$name.key"
	else
		set -- -cert "$issuer.pem" -keyfile "$issuer.key"
	fi
	openssl ca -batch -notext -config "$work/ca.cnf" -extensions "$ext" "$@" \
		-in "$work/$name.csr" -out "$name.pem" \
		-startdate "$start" -enddate "$end" 2>"$work/ca.err" ||
		{ cat "$work/ca.err" >&2; exit 1; }
}

made=
# The test CA and the good server certificate it signs.
issue ca "tlsrelay test CA" self ca_ext 1000
issue server mx.example.test ca server_ext 1001
cat server.pem ca.pem > server-chain.pem

# A self-signed server certificate (no CA knows it).
issue selfsigned mx.example.test self selfsigned_ext 1002

# A good-looking server certificate from a root the tests never trust.
issue other-ca "tlsrelay unknown CA" self ca_ext 2000
issue other mx.example.test other-ca server_ext 2001

# Signed by the test CA, but for another name.
issue wrong-name wrong.example.net ca wrong_ext 1003

# Signed by the test CA with the right names, but expired in 2001.
issue expired mx.example.test ca server_ext 1004 20000101000000Z 20010101000000Z

# Signed by the test CA, the name only in the subject CN, no subjectAltName
# (RFC 8461 4.2 and 3.3 accept only a subjectAltName DNS-ID): an MX host
# (tests/sts: mx-cn.example.test) and an MTA-STS policy host.
issue cn-only mx-cn.example.test ca cn_only_ext 1005
issue cn-only-https mta-sts.cnonly.test ca cn_only_ext 1006

# Self-check: the good one verifies, each bad one fails for its reason.
check() {	# check yes|no DESCRIPTION openssl-verify-args...
	local want=$1 what=$2 got=no; shift 2
	openssl verify "$@" >/dev/null 2>&1 && got=yes
	[ "$got" = "$want" ] || { echo "mkcerts: self-check failed: $what" >&2; exit 1; }
}
check yes "server chains to ca"        -CAfile ca.pem server.pem
check yes "server is mx.example.test"  -CAfile ca.pem -verify_hostname mx.example.test server.pem
check yes "server is localhost"        -CAfile ca.pem -verify_hostname localhost server.pem
check yes "server is 127.0.0.1"        -CAfile ca.pem -verify_ip 127.0.0.1 server.pem
check yes "server is ::1"              -CAfile ca.pem -verify_ip ::1 server.pem
check no  "selfsigned is untrusted"    -CAfile ca.pem selfsigned.pem
check no  "other is untrusted"         -CAfile ca.pem other.pem
check yes "other chains to other-ca"   -CAfile other-ca.pem other.pem
check yes "wrong-name chains to ca"    -CAfile ca.pem wrong-name.pem
check no  "wrong-name has wrong name"  -CAfile ca.pem -verify_hostname mx.example.test wrong-name.pem
check no  "expired is expired"         -CAfile ca.pem expired.pem
check yes "expired is fine otherwise"  -CAfile ca.pem -no_check_time expired.pem
for f in cn-only cn-only-https; do
	check yes "$f chains to ca"  -CAfile ca.pem "$f.pem"
	openssl x509 -in "$f.pem" -noout -ext subjectAltName 2>/dev/null | grep -q . &&
		{ echo "mkcerts: self-check failed: $f.pem has a subjectAltName" >&2; exit 1; }
done
# OpenSSL's default check falls back to the CN: what RFC 8461 refuses
check yes "cn-only matches by CN"      -CAfile ca.pem -verify_hostname mx-cn.example.test cn-only.pem
check yes "cn-only-https matches by CN" -CAfile ca.pem -verify_hostname mta-sts.cnonly.test cn-only-https.pem
for f in ca other-ca server selfsigned other wrong-name expired cn-only cn-only-https; do
	# each key matches its certificate
	[ "$(openssl pkey -in "$f.key" -pubout 2>/dev/null)" = \
	  "$(openssl x509 -in "$f.pem" -noout -pubkey 2>/dev/null)" ] ||
		{ echo "mkcerts: self-check failed: $f.key does not match $f.pem" >&2; exit 1; }
done

echo "mkcerts: made$made" | tr -s ' \t\n' ' '
echo
