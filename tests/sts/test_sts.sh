#!/bin/bash
# tests/sts/test_sts.sh - MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) end to
# end: a real unbound serves a zone written here (MX, A and _mta-sts /
# _smtp._tls TXT records), tests/sts/https_policy.py serves the policies
# over HTTPS on 127.0.0.80 with a certificate from the test CA (made here,
# in the temporary directory), tests/peer/peer.py instances are the MX hosts
# on 127.0.0.81-86:25, and the real tlsrelay delivers with mta_sts = yes and
# an SQLite cache. TAP output.
#
# Cases: enforce + matching MX -> verified delivery (SNI = MX name); enforce
# + MX outside the patterns -> 75 4.7.5, no connection; enforce + untrusted
# certificate and + certificate for another name -> 75, no MAIL at all;
# testing + mismatch -> delivered, logged, recorded; fetch failure with a
# cached policy (still enforced) and without one (no policy); TXT id
# unchanged -> no fetch, id changed -> one fetch (the server counts);
# malformed policy, redirect, oversize body, wrong media type, HTTPS
# certificate for another name -> refused (no policy applies); a repeated
# mode: the first counts (RFC 8461 3.2); RFC 8461 4.2 and 3.3 accept only a
# subjectAltName DNS-ID: an MX whose certificate has its name only as the
# subject CN is refused under enforce (75, no MAIL) and counted as a
# host mismatch under testing; a policy host with such a certificate
# (a second HTTPS server, 127.0.0.88) gives no policy; precedence:
# tls_policy_map entry, relay host, mta_sts = no; tlsrelay-sts show/refresh;
# TLS-RPT: the JSON report checked against RFC 8460's structure
# (tests/sts/tlsrpt_check.py), the report mail sent through tlsrelay, and
# report --send holding the password map without being able to dump core;
# the cache's owner when root's tlsrelay-sts or tlsrelay-probe creates it,
# a cache the transport cannot write said loudly.
#
# Needs root (port 25), python3, unbound, openssl and the built tlsrelay and
# tlsrelay-sts; skipped without them or when port 25 is taken on
# 127.0.0.80-99. Safety: only 127.0.0.0/8; every process is stopped by its
# PID (tests/lib.sh EXIT trap, ub_cleanup). TLSRELAY_KEEP_TMP=1 keeps files.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
# shellcheck source=tests/dns/unbound.sh
. "$top_srcdir/tests/dns/unbound.sh"

# shellcheck source=tests/dns/mx_needs.sh
. "$top_srcdir/tests/dns/mx_needs.sh"

# ---------------------------------------------------------------- needs
mx_needs 127.0.0.8x 'ssl, json, sqlite3, gzip, email' "python3 without ssl/sqlite3"
require_cmd timeout openssl
CERTS=$top_srcdir/tests/certs
STS=${TLSRELAY_STS_BIN:-$top_builddir/plugin/sts/tlsrelay-sts}
CHECK=$here/tlsrpt_check.py
[ -x "$STS" ] || tap_bail "no tlsrelay-sts at $STS"
mx_port25_free 80 99

make_tmpdir TEST_TMP
T=$TEST_TMP
mkdir -p "$T/spool"

# ---------------------------------------------------------------- HTTPS cert
# One certificate for every mta-sts.DOMAIN.test except mta-sts.badhttps.test.
DOMAINS="enf nomatch untrusted wrongname testing flaky malformed redirect big ctype
	badhttps nomx rpt nostls expired par dupmode cnmx cnmxt cnonly"
san=
for d in $DOMAINS; do
	[ "$d" = badhttps ] || [ "$d" = cnonly ] && continue
	san="${san:+$san,}DNS:mta-sts.$d.test"
done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/https.key" 2>/dev/null &&
openssl req -new -key "$T/https.key" -subj "/CN=mta-sts test" -out "$T/https.csr" 2>/dev/null &&
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" > "$T/https.ext" &&
openssl x509 -req -in "$T/https.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" \
	-set_serial 0x5151 -days 2 -extfile "$T/https.ext" -out "$T/https.pem" 2>/dev/null ||
	tap_bail "cannot make the HTTPS certificate"

# ---------------------------------------------------------------- zone
{
	printf '$ORIGIN test.\n$TTL 60\n'
	printf '@ SOA ns.test. hostmaster.test. 1 3600 600 86400 60\n@ NS ns.test.\nns A 127.0.0.1\n'
	printf 'mx.example A 127.0.0.81\nmx-untrusted.example A 127.0.0.82\nmx-wrong.example A 127.0.0.83\n'
	printf 'mx-plain.example A 127.0.0.84\nmx-expired.example A 127.0.0.85\n'
	printf 'nostls MX 10 mx-plain.example.test.\nexpired MX 10 mx-expired.example.test.\n'
	printf 'mx-par.example A 127.0.0.86\npar MX 10 mx-par.example.test.\n'
	printf 'mx-cn.example A 127.0.0.87\ncnmx MX 10 mx-cn.example.test.\ncnmxt MX 10 mx-cn.example.test.\n'
	for d in $DOMAINS; do
		# mta-sts.cnonly.test: the second HTTPS server (CN-only certificate)
		printf 'mta-sts.%s A 127.0.0.%s\n' "$d" "$([ "$d" = cnonly ] && echo 88 || echo 80)"
		printf '_mta-sts.%s TXT "v=STSv1; id=%s1;"\n' "$d" "$d"
	done
	for d in enf nomatch testing flaky malformed redirect big ctype badhttps rpt dupmode cnonly; do
		printf '%s MX 10 mx.example.test.\n' "$d"
	done
	printf 'untrusted MX 10 mx-untrusted.example.test.\nwrongname MX 10 mx-wrong.example.test.\n'
	printf 'nomx MX 10 mx.example.test.\n'
	printf '_smtp._tls.rpt TXT "v=TLSRPTv1; rua=https://ignored.test/x,mailto:tlsrpt@rpt.test"\n'
} > "$T/sts.zone"

at_exit ub_cleanup
ub_setup "$T" "$T/sts.zone" || tap_bail "unbound setup failed"
ub_start_main ub_log_ready || tap_bail "cannot start unbound"
tap_diag "unbound pid $ub_pid on 127.0.0.1:$ub_port"

# ---------------------------------------------------------------- policies
policy() {	# policy MODE PATTERN...: a policy text (JSON-escaped LF)
	local mode=$1 p out; shift
	out="version: STSv1\\nmode: $mode\\n"
	for p in "$@"; do out="$out""mx: $p\\n"; done
	printf '%smax_age: 86400\\n' "$out"
}
ENF_OK=$(policy enforce mx.example.test)
ENF_ELSE=$(policy enforce '*.elsewhere.test')
ENF_EX=$(policy enforce '*.example.test')
write_policies() {	# write_policies [FLAKY_STATUS]
	cat > "$T/policies.json" <<EOF
{
 "mta-sts.enf.test": {"body": "$ENF_OK"},
 "mta-sts.nomx.test": {"body": "$ENF_OK"},
 "mta-sts.nomatch.test": {"body": "$ENF_ELSE"},
 "mta-sts.untrusted.test": {"body": "$ENF_EX"},
 "mta-sts.wrongname.test": {"body": "$ENF_EX"},
 "mta-sts.testing.test": {"body": "$(policy testing '*.elsewhere.test')"},
 "mta-sts.flaky.test": {"status": ${1:-200}, "body": "$ENF_ELSE"},
 "mta-sts.malformed.test": {"body": "version: STSv1\\nmode: enforce\\nmx: *.elsewhere.test\\nmax_age: 86400\\n_bad: x\\n"},
 "mta-sts.dupmode.test": {"body": "version: STSv1\\nmode: enforce\\nmode: testing\\nmx: *.elsewhere.test\\nmax_age: 86400\\n"},
 "mta-sts.cnmx.test": {"body": "$(policy enforce mx-cn.example.test)"},
 "mta-sts.cnmxt.test": {"body": "$(policy testing mx-cn.example.test)"},
 "mta-sts.cnonly.test": {"body": "$ENF_ELSE"},
 "mta-sts.redirect.test": {"status": 301, "location": "https://mta-sts.nomatch.test/.well-known/mta-sts.txt", "body": "$ENF_ELSE"},
 "mta-sts.big.test": {"body": "${ENF_ELSE}x-pad: $(printf '%0100d' 0)\\n", "repeat": 700},
 "mta-sts.ctype.test": {"type": "text/html", "body": "$ENF_ELSE"},
 "mta-sts.badhttps.test": {"body": "$ENF_ELSE"},
 "mta-sts.rpt.test": {"body": "$(policy testing mx.example.test)"},
 "mta-sts.nostls.test": {"body": "$ENF_EX"},
 "mta-sts.par.test": {"body": "$(policy testing '*.example.test')"},
 "mta-sts.expired.test": {"body": "$(policy testing '*.example.test')"}
}
EOF
}
write_policies

HP=$(free_port) || tap_bail "no free port"
start_bg https "$PY" "$here/https_policy.py" --address 127.0.0.80 --port "$HP" \
	--cert "$T/https.pem" --key "$T/https.key" --config "$T/policies.json" \
	--log "$T/fetches.log" --pidfile "$T/https.pid" --max-lifetime 600
HTTPS_PID=$BG_PID
wait_until 10 test -s "$T/https.pid" || tap_bail "HTTPS policy server did not start: $(cat "$T/https.out" 2>/dev/null)"
touch "$T/fetches.log"
# mta-sts.cnonly.test: a certificate from the test CA whose name is only
# its subject CN (tests/certs/cn-only-https.pem), same port, 127.0.0.88
start_bg https-cn "$PY" "$here/https_policy.py" --address 127.0.0.88 --port "$HP" \
	--cert "$CERTS/cn-only-https.pem" --key "$CERTS/cn-only-https.key" --config "$T/policies.json" \
	--log "$T/fetches-cn.log" --pidfile "$T/https-cn.pid" --max-lifetime 600
HTTPS_CN_PID=$BG_PID
wait_until 10 test -s "$T/https-cn.pid" || tap_bail "second HTTPS policy server did not start: $(cat "$T/https-cn.out" 2>/dev/null)"
touch "$T/fetches-cn.log"

# ---------------------------------------------------------------- peers
printf '{"comment": "good MX"}\n' > "$T/good.json"
printf '{"cert": "other.pem", "key": "other.key"}\n' > "$T/untrusted.json"
printf '{"ehlo_caps": ["PIPELINING", "8BITMIME"]}\n' > "$T/plain.json"
printf '{"cert": "expired.pem", "key": "expired.key"}\n' > "$T/expired.json"
printf '{"cert": "cn-only.pem", "key": "cn-only.key"}\n' > "$T/cnonly.json"
declare -A PDIR
for spec in 127.0.0.81:good 127.0.0.82:untrusted 127.0.0.83:good 127.0.0.84:plain \
	127.0.0.85:expired 127.0.0.86:good 127.0.0.87:cnonly; do
	addr=${spec%%:*}
	PDIR[$addr]=$T/peer-$addr
	mkdir -p "${PDIR[$addr]}"
	start_bg "peer-$addr" "$PY" "$PEER" serve --address "$addr" --port 25 \
		--scenario "$T/${spec#*:}.json" --outdir "${PDIR[$addr]}" \
		--pidfile "${PDIR[$addr]}/peer.pid" --max-lifetime 600
	wait_until 10 test -s "${PDIR[$addr]}/peer.pid" || tap_bail "peer on $addr:25 did not start"
done

# pfact ADDR KEY: a value from a live peer's report.
pfact() {
	"$PY" "$PEER" report "${PDIR[$1]}" 2>/dev/null | sed -n "s/^$2=//p" | head -n 1
}
ndata() {	# ndata ADDR: messages accepted by the peer so far
	local n
	n=$(pfact "$1" accepted_data)
	set -- $n
	echo $#
}

# ---------------------------------------------------------------- tlsrelay
cat > "$T/tlsrelay.conf" <<EOF
helo_name = client.test
connect_timeout = 5s
command_timeout = 10s
data_timeout = 10s
deadline = 60s
spool_directory = $T/spool
tls_ca_file = $CERTS/ca.pem
tls_security_level = may
syslog = no
mta_sts = yes
mta_sts_cache = $T/sts.db
mta_sts_https_port = $HP
EOF
printf 'Subject: sts test\n\nhello\n' > "$T/msg"

# send NAME RCPT [ARGS...]: RC, OUT (stdout), ERR (-v log); MSG: the message
# (default $T/msg)
send() {
	local name=$1 rcpt=$2; shift 2
	mkdir -p "$T/$name"
	timeout -k 5 90 "$TLSRELAY" -c "$T/tlsrelay.conf" -v -o "dns_resolver=127.0.0.1:$ub_port" \
		"$@" -f sender@example.test -- "$rcpt" < "${MSG:-$T/msg}" > "$T/$name/stdout" 2> "$T/$name/stderr"
	RC=$?
	OUT=$(cat "$T/$name/stdout")
	ERR=$(cat "$T/$name/stderr")
}
why() { printf 'exit %s; stdout: %s\nlog:\n%s' "$RC" "$OUT" "$(printf '%s\n' "$ERR" | tail -n 20)"; }
fetches() { grep -c "^mta-sts.$1.test " "$T/fetches.log"; }
sts() { timeout -k 5 60 "$STS" -c "$T/tlsrelay.conf" -o "dns_resolver=127.0.0.1:$ub_port" "$@"; }

# expect NAME WANT_RC ERE: exit status and a stdout/log line matching ERE
expect() {
	local st=0
	[ "$RC" = "$2" ] || st=1
	printf '%s\n%s\n' "$OUT" "$ERR" | grep -Eq -- "$3" || st=1
	tap_status "$st" "$1" "$(printf 'want exit %s and /%s/\n%s' "$2" "$3" "$(why)")"
}

# ---------------------------------------------------------------- enforce
# Each section below declares its checks first (tap_expect): expect makes
# one check; a branch that cannot run here skips as many checks as the
# other makes; a loop over a list declares from the list.
tap_expect 24
n81=$(ndata 127.0.0.81)
send enf user@enf.test
expect "enforce + matching MX: delivered" 0 "Verified TLS connection established to mx\.example\.test\[127\.0\.0\.81\]"
tap_is "$(ndata 127.0.0.81)" "$((n81 + 1))" "enforce + matching MX: the MX got the message"
tap_like "$(pfact 127.0.0.81 sni)" "mx\.example\.test" "enforce: SNI is the MX host name"
tap_like "$ERR" "MTA-STS policy of enf\.test fetched: id enf1, mode enforce" "enforce: policy fetched and logged"
tap_is "$(fetches enf)" 1 "enforce: one fetch"

send enf2 user@enf.test
expect "same TXT id, cached policy: delivered" 0 "MTA-STS policy of enf\.test: mode enforce, id enf1 \(cache\)"
tap_is "$(fetches enf)" 1 "TXT id unchanged: no new fetch"

"$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE sts_policy SET id=? WHERE domain=?", ("old0","enf.test")); c.commit()' "$T/sts.db"
send enf3 user@enf.test
expect "TXT id changed: policy fetched again" 0 "MTA-STS policy of enf\.test fetched: id enf1"
tap_is "$(fetches enf)" 2 "TXT id changed: exactly one more fetch"

n81=$(ndata 127.0.0.81)
c81=$(pfact 127.0.0.81 conns)
send nomatch user@nomatch.test
expect "enforce + MX outside the patterns: deferred 4.7.5" 75 "^4\.7\.5 .*MX host mx\.example\.test matches no mx pattern"
tap_is "$(pfact 127.0.0.81 conns)" "$c81" "enforce + MX outside the patterns: no connection to it"

send untrusted user@untrusted.test
expect "enforce + untrusted certificate: deferred" 75 "^4\.7\.5 .*not trusted"
tap_is "$(pfact 127.0.0.82 mail_plain)/$(pfact 127.0.0.82 mail_tls)" "0/0" "enforce + untrusted certificate: no MAIL at all (nothing in plaintext)"
tap_is "$(pfact 127.0.0.82 starttls)" 1 "enforce + untrusted certificate: one STARTTLS, no plaintext retry"

send wrongname user@wrongname.test
expect "enforce + certificate for another name: deferred" 75 "^4\.7\.5 .*certificate name does not match"
tap_is "$(pfact 127.0.0.83 mail_plain)/$(pfact 127.0.0.83 mail_tls)" "0/0" "enforce + wrong name: no MAIL at all"

send nostls user@nostls.test
expect "enforce + MX without STARTTLS: deferred" 75 "^4\.7\.4 TLS is required, but was not offered"
tap_is "$(pfact 127.0.0.84 mail_plain)" 0 "enforce + no STARTTLS: no MAIL in plaintext"

# RFC 8461 4.2: the MX certificate must carry its name as a subjectAltName
# DNS-ID; OpenSSL's default check falls back to the subject CN
send cnmx user@cnmx.test
expect "enforce + MX certificate with the name only in its CN: deferred" 75 \
	"^4\.7\.5 Server certificate not verified: mx-cn\.example\.test\[127\.0\.0\.87\]:25: the certificate has the name only as its subject CN, not as a subjectAltName DNS-ID"
tap_is "$(pfact 127.0.0.87 mail_plain)/$(pfact 127.0.0.87 mail_tls)" "0/0" "enforce + CN-only certificate: no MAIL at all"
n87=$(ndata 127.0.0.87)
send cnmxt user@cnmxt.test
expect "testing + MX certificate with the name only in its CN: delivered" 0 "status=sent"
tap_like "$ERR" "MTA-STS policy of cnmxt\.test \(testing\): mx-cn\.example\.test\[127\.0\.0\.87\]: certificate-host-mismatch \(not enforced\)" \
	"testing + CN-only certificate: logged as a host mismatch"
tap_is "$(ndata 127.0.0.87)" "$((n87 + 1))" "testing + CN-only certificate: the MX got the message"

# RFC 8461 3.2: a repeated mode, the first counts (the policy is not dropped)
send dupmode user@dupmode.test
expect "repeated mode (enforce, then testing): enforced, MX outside the patterns deferred" 75 \
	"^4\.7\.5 .*MX host mx\.example\.test matches no mx pattern"

# ---------------------------------------------------------------- concurrency
tap_expect 5
# Several transport processes at once share the cache (new file: all of them
# create tables, fetch and write): every one delivers, none complains.
# (their own MX, 127.0.0.86: so that the other peers keep room in their connection budget)
n86=$(ndata 127.0.0.86)
pids=()
for i in 1 2 3 4 5 6; do
	mkdir -p "$T/par$i"
	timeout -k 5 90 "$TLSRELAY" -c "$T/tlsrelay.conf" -v -o "dns_resolver=127.0.0.1:$ub_port" \
		-o "mta_sts_cache=$T/par.db" -f sender@example.test -- user@par.test \
		< "$T/msg" > "$T/par$i/stdout" 2> "$T/par$i/stderr" &
	pids+=($!)
done
st=0
for p in "${pids[@]}"; do wait "$p" || st=1; done
tap_status "$st" "6 concurrent transports, one new cache: all delivered" "$(cat "$T"/par*/stdout)"
tap_is "$(ndata 127.0.0.86)" "$((n86 + 6))" "6 concurrent transports: 6 messages at the MX"
tap_unlike "$(cat "$T"/par*/stderr)" "cache unusable|MTA-STS cache:|TLS-RPT store:" "6 concurrent transports: no cache error"
OUT=$(sts -o "mta_sts_cache=$T/par.db" report --day "$(date -u +%Y-%m-%d)" --domain par.test --submitter client.test 2>&1)
printf '%s\n' "$OUT" > "$T/report-par.json"
tap_run "6 concurrent transports: 6 TLS results counted" "$PY" "$CHECK" "$T/report-par.json" par.test sts 0 6 \
	certificate-host-mismatch
OUT=$(sts -o "mta_sts_cache=$T/par.db" show par.test 2>&1)
tap_like "$OUT" "^par\.test: mode testing, id par1" "6 concurrent transports: the policy is cached"

# ---------------------------------------------------------------- as nobody
tap_expect 4
# The transport runs as an unprivileged user (Postfix pipe user=nobody).
mkdir -p "$T/nobody" && chown nobody "$T/nobody" && chmod 755 "$T"
cp "$T/msg" "$T/nobody/msg" && chmod 644 "$T/nobody/msg" "$T/tlsrelay.conf"
chmod 777 "$T/spool"
as_nobody timeout -k 5 90 "$TLSRELAY" -c "$T/tlsrelay.conf" -v -o "dns_resolver=127.0.0.1:$ub_port" \
	-o "mta_sts_cache=$T/nobody/sts.db" -f sender@example.test -- user@nomatch.test \
	< "$T/nobody/msg" > "$T/nobody/out1" 2> "$T/nobody/err1"
RC=$?; OUT=$(cat "$T/nobody/out1"); ERR=$(cat "$T/nobody/err1")
expect "as nobody, writable cache: policy applied (deferred)" 75 "^4\.7\.5 .*matches no mx pattern"
tap_status "$([ -s "$T/nobody/sts.db" ]; echo $?)" "as nobody: cache file created"
as_nobody timeout -k 5 90 "$TLSRELAY" -c "$T/tlsrelay.conf" -v -o "dns_resolver=127.0.0.1:$ub_port" \
	-o "mta_sts_cache=$T/nope/sts.db" -f sender@example.test -- user@enf.test \
	< "$T/nobody/msg" > "$T/nobody/out2" 2> "$T/nobody/err2"
RC=$?; OUT=$(cat "$T/nobody/out2"); ERR=$(cat "$T/nobody/err2")
expect "unusable cache: delivery goes on with the fetched policy" 0 "Verified TLS connection established to mx\.example\.test"
tap_like "$ERR" "MTA-STS cache unusable, working without it: " "unusable cache: logged"

# ---------------------------------------------------------------- cache owner
tap_expect 16
# tlsrelay-sts and tlsrelay-probe often run as root: a cache they create in
# the transport user's directory must belong to that user (not to root, or
# the transport could never store a policy), and a cache the transport
# cannot write is said loudly (delivery goes on).
PROBE=${TLSRELAY_PROBE_BIN:-$top_builddir/plugin/probe/tlsrelay-probe}
mkdir -p "$T/own" "$T/own2" "$T/ro" && chown nobody "$T/own" "$T/own2" "$T/ro"
OUT=$(sts -o "mta_sts_cache=$T/own/sts.db" refresh enf.test 2>&1); RC=$?
tap_like "$OUT" "^enf\.test: mode enforce, id enf1, .*\(fetched\)" "tlsrelay-sts as root, new cache: policy fetched and stored" "exit $RC"
tap_is "$(stat -c %U "$T/own/sts.db" 2>&1)" nobody "tlsrelay-sts as root: the new cache belongs to the directory's owner, not root"
tap_is "$(find "$T/own" -user root | wc -l)" 0 "tlsrelay-sts as root: no root-owned file in the cache's directory" "$(ls -la "$T/own")"
as_nobody timeout -k 5 90 "$TLSRELAY" -c "$T/tlsrelay.conf" -v -o "dns_resolver=127.0.0.1:$ub_port" \
	-o "mta_sts_cache=$T/own/sts.db" -f sender@example.test -- user@nomatch.test \
	< "$T/nobody/msg" > "$T/nobody/out3" 2> "$T/nobody/err3"
RC=$?; OUT=$(cat "$T/nobody/out3"); ERR=$(cat "$T/nobody/err3")
expect "transport as nobody, cache made by root's tlsrelay-sts: policy applied" 75 "^4\.7\.5 .*matches no mx pattern"
tap_unlike "$ERR" "not writable|MTA-STS cache:" "transport as nobody: the cache is writable, no complaint"
tap_like "$(sts -o "mta_sts_cache=$T/own/sts.db" show nomatch.test 2>&1)" "^nomatch\.test: mode enforce, id nomatch1, .*\(cached\)" \
	"transport as nobody: its fetched policy is stored in that cache"
OUT=$(timeout -k 5 60 "$PROBE" -c "$T/tlsrelay.conf" -o "dns_resolver=127.0.0.1:$ub_port" \
	-o "mta_sts_cache=$T/own2/sts.db" enf.test 2>&1); RC=$?
tap_is "$RC" 0 "tlsrelay-probe as root, new cache: mail would be delivered" "$OUT"
tap_is "$(stat -c %U "$T/own2/sts.db" 2>&1)" nobody "tlsrelay-probe as root: the new cache belongs to the directory's owner, not root"
# a cache made by root (as older versions did, here in a directory of
# root's and moved): readable, not writable
mkdir -p "$T/rootdir" && sts -o "mta_sts_cache=$T/rootdir/sts.db" refresh enf.test >/dev/null 2>&1
mv "$T/rootdir/sts.db" "$T/ro/sts.db" && chmod 644 "$T/ro/sts.db"
as_nobody timeout -k 5 90 "$TLSRELAY" -c "$T/tlsrelay.conf" -v -o "dns_resolver=127.0.0.1:$ub_port" \
	-o "mta_sts_cache=$T/ro/sts.db" -f sender@example.test -- user@enf.test \
	< "$T/nobody/msg" > "$T/nobody/out4" 2> "$T/nobody/err4"
RC=$?; OUT=$(cat "$T/nobody/out4"); ERR=$(cat "$T/nobody/err4")
expect "root-owned cache, transport as nobody: delivered under the fetched policy" 0 \
	"Verified TLS connection established to mx\.example\.test"
tap_like "$ERR" "MTA-STS cache not writable: $T/ro/sts\.db is not writable by uid $(id -u nobody) \(owner uid 0, mode 644\): fetched policies are not kept \(MTA-STS trust on first use is lost\)" \
	"root-owned cache: said loudly, with the owner and what is lost"
OUT=$(as_nobody timeout -k 5 60 "$STS" -c "$T/tlsrelay.conf" -o "mta_sts_cache=$T/ro/sts.db" show enf.test 2>&1)
tap_like "$OUT" "^tlsrelay-sts: MTA-STS cache not writable: " "root-owned cache: tlsrelay-sts says it too"
tap_like "$OUT" "^enf\.test: mode enforce, id enf1" "root-owned cache: still read"
# a root-owned file without tables yet cannot even be set up: the same reason
: > "$T/ro/empty.db" && chmod 644 "$T/ro/empty.db"
as_nobody timeout -k 5 90 "$TLSRELAY" -c "$T/tlsrelay.conf" -v -o "dns_resolver=127.0.0.1:$ub_port" \
	-o "mta_sts_cache=$T/ro/empty.db" -f sender@example.test -- user@enf.test \
	< "$T/nobody/msg" > "$T/nobody/out5" 2> "$T/nobody/err5"
RC=$?; OUT=$(cat "$T/nobody/out5"); ERR=$(cat "$T/nobody/err5")
expect "root-owned empty cache, transport as nobody: delivered" 0 "Verified TLS connection established to mx\.example\.test"
tap_like "$ERR" "MTA-STS cache unusable, working without it: $T/ro/empty\.db is not writable by uid $(id -u nobody) \(owner uid 0, mode 644\)" \
	"root-owned empty cache: the reason says who owns it"

send nocache user@enf.test -o mta_sts_cache=
expect "no mta_sts_cache: policy fetched and enforced, delivered" 0 "MTA-STS policy of enf\.test: mode enforce, id enf1 \(fetched\)"
tap_like "$ERR" "mta_sts = yes without mta_sts_cache: every delivery fetches the policy" "no mta_sts_cache: warned"

# ---------------------------------------------------------------- dlopen
tap_expect $((6 + 3))	# libcurl and SQLite unusable (or 6 skips), another TLS library (or 3)
# libcurl and SQLite are loaded with dlopen on first use (lib/dynload.h): a
# library that cannot be used (here a libcurl.so.4 / libsqlite3.so.0 found
# first on LD_LIBRARY_PATH, without their functions) is a fetch failure or
# an unusable cache, with the reason logged; RFC 8461's rules then apply.
mkdir -p "$T/nocurl" "$T/nosqlite"
if printf 'int tr_not_the_library;\n' > "$T/fake.c" &&
	"${CC:-cc}" -shared -fPIC -Wl,-soname,libcurl.so.4 -o "$T/nocurl/libcurl.so.4" "$T/fake.c" &&
	"${CC:-cc}" -shared -fPIC -Wl,-soname,libsqlite3.so.0 -o "$T/nosqlite/libsqlite3.so.0" "$T/fake.c"; then
	nomatch_fetches=$(fetches nomatch)
	LD_LIBRARY_PATH=$T/nocurl send nocurl1 user@nomatch.test -o "mta_sts_cache=$T/nocurl.db"
	expect "libcurl unusable, no cached policy: no policy applies, delivered" 0 "status=sent"
	tap_like "$ERR" "MTA-STS policy fetch failed: https://mta-sts\.nomatch\.test:$HP/\.well-known/mta-sts\.txt: libcurl\.so\.4 has no curl_[a-z_]* \(too old\?\); no policy applies" \
		"libcurl unusable: the reason is logged"
	tap_is "$(fetches nomatch)" "$nomatch_fetches" "libcurl unusable: no request made"
	LD_LIBRARY_PATH=$T/nocurl send nocurl2 user@nomatch.test
	expect "libcurl unusable, cached policy (id unchanged): still enforced" 75 "^4\.7\.5 .*matches no mx pattern"
	LD_LIBRARY_PATH=$T/nosqlite send nosqlite1 user@enf.test -o "mta_sts_cache=$T/nosqlite.db"
	expect "SQLite unusable: delivered under the fetched policy" 0 "MTA-STS policy of enf\.test: mode enforce, id enf1 \(fetched\)"
	tap_like "$ERR" "MTA-STS cache unusable, working without it: .*nosqlite\.db: libsqlite3\.so\.0 has no sqlite3_[a-z0-9_]* \(too old\?\)" \
		"SQLite unusable: the reason is logged"
else
	for t in "libcurl unusable, no cached policy" "libcurl unusable: the reason is logged" \
		"libcurl unusable: no request made" "libcurl unusable, cached policy" \
		"SQLite unusable: delivered" "SQLite unusable: the reason is logged"; do
		tap_skip "$t" "no C compiler to build the stand-in libraries"
	done
fi
# The policy host's name is checked by OpenSSL inside libcurl's SSL_CTX
# (subjectAltName only, lib/sts_fetch.c): a libcurl.so.4 built with another
# TLS library (a stand-in reporting GnuTLS, whose other functions abort if
# called) is refused before any request.
mkdir -p "$T/gnutlscurl"
cat > "$T/gnutlscurl.c" <<'EOF_C'
#include <stdlib.h>
/* the first fields of curl_version_info_data */
struct vinfo { int age; const char *version; unsigned version_num; const char *host;
               int features; const char *ssl_version; };
static struct vinfo v = { 10, "8.5.0", 0x080500, "x86_64-pc-linux-gnu", 0, "GnuTLS/3.7.9" };
struct vinfo *curl_version_info(int age) { (void)age; return &v; }
int curl_global_init(long f) { (void)f; abort(); }
void *curl_easy_init(void) { abort(); }
int curl_easy_setopt(void) { abort(); }
int curl_easy_perform(void *c) { (void)c; abort(); }
int curl_easy_getinfo(void) { abort(); }
const char *curl_easy_strerror(int rc) { (void)rc; abort(); }
void curl_easy_cleanup(void *c) { (void)c; abort(); }
void *curl_slist_append(void *l, const char *s) { (void)l; (void)s; abort(); }
void curl_slist_free_all(void *l) { (void)l; abort(); }
EOF_C
if "${CC:-cc}" -shared -fPIC -Wl,-soname,libcurl.so.4 -o "$T/gnutlscurl/libcurl.so.4" "$T/gnutlscurl.c"; then
	nomatch_fetches=$(fetches nomatch)
	LD_LIBRARY_PATH=$T/gnutlscurl send gnutlscurl user@nomatch.test -o "mta_sts_cache=$T/gnutlscurl.db"
	expect "libcurl with another TLS library, no cached policy: no policy applies, delivered" 0 "status=sent"
	tap_like "$ERR" "MTA-STS policy fetch failed: https://mta-sts\.nomatch\.test:$HP/\.well-known/mta-sts\.txt: libcurl\.so\.4 uses GnuTLS/3\.7\.9, not OpenSSL/[0-9]+\.x as tlsrelay: the policy host's certificate cannot be checked as RFC 8461 requires; no policy applies" \
		"libcurl with another TLS library: refused, the reason is logged"
	tap_is "$(fetches nomatch)" "$nomatch_fetches" "libcurl with another TLS library: no request made"
else
	for t in "no cached policy: delivered" "refused, the reason is logged" "no request made"; do
		tap_skip "libcurl with another TLS library: $t" "no C compiler to build the stand-in library"
	done
fi

# ---------------------------------------------------------------- testing
tap_expect 5
n81=$(ndata 127.0.0.81)
send testing user@testing.test
expect "testing + MX mismatch: delivered" 0 "status=sent"
tap_like "$ERR" "MTA-STS policy of testing\.test \(testing\): MX host mx\.example\.test matches no mx pattern; delivering anyway" "testing + mismatch: logged"
tap_is "$(ndata 127.0.0.81)" "$((n81 + 1))" "testing + mismatch: the MX got the message"
send expired user@expired.test
expect "testing + expired certificate: delivered" 0 "status=sent"
tap_like "$ERR" "MTA-STS policy of expired\.test \(testing\): mx-expired\.example\.test\[127\.0\.0\.85\]: certificate-expired \(not enforced\)" "testing + expired certificate: logged"

# ---------------------------------------------------------------- fetch failures
tap_expect 5
send flaky1 user@flaky.test
expect "flaky: policy fetched (enforce, MX outside) -> deferred" 75 "^4\.7\.5 .*matches no mx pattern"
write_policies 500
"$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE sts_policy SET id=? WHERE domain=?", ("old0","flaky.test")); c.commit()' "$T/sts.db"
send flaky2 user@flaky.test
expect "fetch failure + cached policy: cached policy still enforced" 75 "^4\.7\.5 .*matches no mx pattern"
tap_like "$ERR" "MTA-STS policy fetch failed: .*HTTP status 500; using the cached policy" "fetch failure + cache: logged"
send flaky3 user@flaky.test -o "mta_sts_cache=$T/empty.db"
expect "fetch failure without a cached policy: no policy, delivered" 0 "status=sent"
tap_like "$ERR" "HTTP status 500; no policy applies" "fetch failure without cache: logged"
write_policies

# ---------------------------------------------------------------- refused policies
REFUSED=("malformed:line 5: bad field name" "redirect:HTTP status 301 \(redirects are not followed\)"
	"big:policy larger than 65536 bytes" "ctype:media type text/html, not text/plain"
	"badhttps:certificate not valid" "cnonly:mta-sts\.cnonly\.test:$HP/.*certificate not valid")
tap_expect $((2 * ${#REFUSED[@]} + 2))	# a policy 2; redirect, cnonly
nomatch_fetches=$(fetches nomatch)
for c in "${REFUSED[@]}"; do
	d=${c%%:*}
	send "$d" "user@$d.test"
	expect "$d policy refused: no policy, delivered" 0 "status=sent"
	tap_like "$ERR" "${c#*:}" "$d policy refused: the reason is logged"
done
tap_is "$(fetches nomatch)" "$nomatch_fetches" "redirect: the Location was not followed"
tap_is "$(grep -c . "$T/fetches-cn.log")" 0 "cnonly: HTTPS certificate with the name only in its CN: refused in the handshake, no request made"

# ---------------------------------------------------------------- precedence
tap_expect 4
printf 'nomatch.test may\n' > "$T/tls_policy"
send map user@nomatch.test -o "tls_policy_map=$T/tls_policy"
expect "tls_policy_map entry wins over MTA-STS: delivered" 0 "status=sent"
send relay user@nomatch.test -o "relayhost=[mx.example.test]"
expect "relay host: MTA-STS not applied, delivered" 0 "status=sent"
send off user@nomatch.test -o mta_sts=no
expect "mta_sts = no: delivered" 0 "status=sent"
tap_unlike "$ERR" "MTA-STS" "mta_sts = no: no MTA-STS activity"

# ---------------------------------------------------------------- tlsrelay -q
tap_expect 2
OUT=$("$TLSRELAY" -c "$T/tlsrelay.conf" -q enf.test 2>&1)
tap_like "$OUT" "^enf\.test: nexthop enf\.test:25: may .*\[MTA-STS: enforce, id enf1, mx mx\.example\.test; enforced as verify match=hostname\]$" \
	"-q: the cached MTA-STS policy is shown"
OUT=$("$TLSRELAY" -c "$T/tlsrelay.conf" -q '[mx.example.test]' 2>&1)
tap_unlike "$OUT" "MTA-STS" "-q: not for a bracketed nexthop"

# ---------------------------------------------------------------- tlsrelay-sts
USAGE_ARGS=("show" "frob enf.test" "report --day 2024-02-30x" "report --day $(date -u +%Y-%m-%d) --send"
	"report --day")
tap_expect $((10 + ${#USAGE_ARGS[@]}))	# show, refresh, no cache 10; a usage error each
OUT=$(sts show enf.test nomx.test 2>&1); RC=$?
tap_like "$OUT" "^enf\.test: mode enforce, id enf1, expires .* \(cached\), mx mx\.example\.test$" "show: cached policy"
tap_like "$OUT" "^nomx\.test: not cached$" "show: a domain not cached"
tap_is "$RC" 1 "show: exit 1 when one is not cached"
before=$(fetches enf)
OUT=$(sts refresh 2>&1); RC=$?
tap_like "$OUT" "^enf\.test: mode enforce, id enf1, expires .* \(fetched\)" "refresh: every cached domain fetched again"
tap_is "$(fetches enf)" "$((before + 1))" "refresh: enf.test fetched although its id is unchanged"
OUT=$(sts refresh nomx.test 2>&1); RC=$?
tap_like "$OUT" "^nomx\.test: mode enforce, id nomx1" "refresh DOMAIN: fetches a new domain"
tap_is "$RC" 0 "refresh: exit 0"
OUT=$(sts refresh nopolicy.test 2>&1); RC=$?
tap_is "$RC/$OUT" "1/nopolicy.test: no policy" \
	"refresh: a domain without a policy: one line, exit 1"
printf 'syslog = no\n' > "$T/nocache.conf"
OUT=$(timeout -k 5 60 "$STS" -c "$T/nocache.conf" show enf.test 2>&1); RC=$?
tap_is "$RC/$OUT" "78/tlsrelay-sts: mta_sts_cache is not set" "mta_sts_cache not set: one line, exit 78"
OUT=$(sts -o "mta_sts_cache=$T/no-such-dir/sts.db" show enf.test 2>&1); RC=$?
tap_like "$RC/$OUT" "^78/tlsrelay-sts: .*no-such-dir" "mta_sts_cache unusable: one line, exit 78"
for args in "${USAGE_ARGS[@]}"; do
	OUT=$(sts $args 2>&1); RC=$?
	tap_like "$RC/$OUT" "^64/usage: tlsrelay-sts " "usage error: $args: exit 64"
done

# ---------------------------------------------------------------- TLS-RPT
tap_expect 20	# report --send as nobody: 3 (or 3 skips)
send rpt1 user@rpt.test
send rpt2 user@rpt.test
DAY=$(date -u +%Y-%m-%d)
OUT=$(sts report --day "$DAY" --domain testing.test --org "Test Org" --contact tlsrpt@client.test \
	--submitter client.test 2>&1); RC=$?
tap_is "$RC" 0 "report: exit 0"
printf '%s\n' "$OUT" > "$T/report-testing.json"
tap_run "report testing.test: RFC 8460 structure" "$PY" "$CHECK" "$T/report-testing.json" \
	testing.test sts 0 1 validation-failure
OUT=$(sts report --day "$DAY" --domain rpt.test --submitter client.test 2>&1)
printf '%s\n' "$OUT" > "$T/report-rpt.json"
tap_run "report rpt.test: 2 successful sessions" "$PY" "$CHECK" "$T/report-rpt.json" rpt.test sts 2 0
OUT=$(sts report --day "$DAY" --domain untrusted.test --submitter client.test 2>&1)
printf '%s\n' "$OUT" > "$T/report-untrusted.json"
tap_run "report untrusted.test: certificate-not-trusted" "$PY" "$CHECK" "$T/report-untrusted.json" \
	untrusted.test sts 0 1 certificate-not-trusted
OUT=$(sts report --day "$DAY" --domain wrongname.test --submitter client.test 2>&1)
printf '%s\n' "$OUT" > "$T/report-wrongname.json"
tap_run "report wrongname.test: certificate-host-mismatch" "$PY" "$CHECK" "$T/report-wrongname.json" \
	wrongname.test sts 0 1 certificate-host-mismatch
OUT=$(sts report --day "$DAY" --domain malformed.test --submitter client.test 2>&1)
printf '%s\n' "$OUT" > "$T/report-malformed.json"
tap_run "report malformed.test: sts-policy-invalid, then a success without policy" "$PY" "$CHECK" \
	"$T/report-malformed.json" malformed.test sts 1 1 sts-policy-invalid
OUT=$(sts report --day "$DAY" --domain badhttps.test --submitter client.test 2>&1)
printf '%s\n' "$OUT" > "$T/report-badhttps.json"
tap_run "report badhttps.test: sts-webpki-invalid" "$PY" "$CHECK" "$T/report-badhttps.json" \
	badhttps.test sts 1 1 sts-webpki-invalid
OUT=$(sts report --day "$DAY" --domain nostls.test --submitter client.test 2>&1)
printf '%s\n' "$OUT" > "$T/report-nostls.json"
tap_run "report nostls.test: starttls-not-supported" "$PY" "$CHECK" "$T/report-nostls.json" \
	nostls.test sts 0 1 starttls-not-supported
OUT=$(sts report --day "$DAY" --domain expired.test --submitter client.test 2>&1)
printf '%s\n' "$OUT" > "$T/report-expired.json"
tap_run "report expired.test: certificate-expired" "$PY" "$CHECK" "$T/report-expired.json" \
	expired.test sts 0 1 certificate-expired
OUT=$(sts report --day 1999-01-01 --domain rpt.test 2>&1); RC=$?
tap_is "$RC/$OUT" "0/" "report: a day without results prints nothing"
OUT=$(sts report --day "$DAY" --submitter client.test 2>/dev/null); RC=$?
printf '%s\n' "$OUT" > "$T/report-all.json"
tap_run "report without --domain: one JSON object per line, one line per domain, in name order" "$PY" -c '
import json, sys
doms = [json.loads(l)["policies"][0]["policy"]["policy-domain"] for l in open(sys.argv[1])]
want = {"testing.test", "rpt.test", "untrusted.test", "wrongname.test", "malformed.test"}
assert doms == sorted(set(doms)) and want <= set(doms), doms
' "$T/report-all.json"
tap_is "$RC" 0 "report without --domain: exit 0"
OUT=$(sts report --day "$DAY" --domain testing.test --submitter client.test --send \
	--from tlsrpt-sender@client.test 2>&1); RC=$?
tap_is "$RC/$OUT" "1/tlsrelay-sts: testing.test: no TLSRPTv1 record with a mailto: rua" \
	"report --send, no _smtp._tls record: one line, exit 1"

n81=$(ndata 127.0.0.81)
OUT=$(sts report --day "$DAY" --domain rpt.test --submitter client.test --send \
	--from tlsrpt-sender@client.test 2>&1); RC=$?
tap_is "$RC" 0 "report --send: exit 0" "$OUT"
tap_like "$OUT" "^rpt\.test: report sent to <tlsrpt@rpt\.test>$" "report --send: mailed to the mailto: rua"
tap_is "$(ndata 127.0.0.81)" "$((n81 + 1))" "report --send: the rua's MX got the report"
last=$(ls -t "${PDIR[127.0.0.81]}"/data-*.eml | head -n 1)
tap_run "report mail: RFC 8460 MIME structure, gzip'd JSON valid" "$PY" "$CHECK" --mail "$last" \
	rpt.test sts 2 0

# report --send delivers with the library, which loads sasl_password_map
# before it connects: while it waits for a silent relay's greeting it holds
# the passwords and must not be able to dump core (run as nobody with
# RLIMIT_CORE unlimited first; /proc read while it waits).
if command -v setpriv >/dev/null 2>&1; then
	mkdir -p "$T/ndr/peer" && cp "$T"/sts.db* "$T/ndr/"
	SPORT=$(free_port) || tap_bail "no free port"
	start_bg peer-silent "$PY" "$PEER" serve --port "$SPORT" --scenario "$top_srcdir/tests/peer/scenarios/greeting_silent.json" \
		--outdir "$T/ndr/peer" --pidfile "$T/ndr/peer/peer.pid" --max-lifetime 120
	SILENT_PID=$BG_PID
	wait_until 10 test -s "$T/ndr/peer/peer.pid" || tap_bail "silent peer did not start"
	printf '[127.0.0.1]:%s rptuser:rpt-s3cret\n' "$SPORT" > "$T/ndr/sasl"
	chown -R nobody "$T/ndr" && chmod 600 "$T/ndr/sasl"
	start_nobody_core sts-nd "$STS" -c "$T/tlsrelay.conf" -o "dns_resolver=127.0.0.1:$ub_port" \
		-o "mta_sts_cache=$T/ndr/sts.db" -o "relayhost=[127.0.0.1]:$SPORT" -o "sasl_password_map=$T/ndr/sasl" \
		report --day "$DAY" --domain rpt.test --submitter client.test --send --from tlsrpt-sender@client.test
	ND_PID=$BG_PID
	wait_until 30 grep -q . "$T/ndr/peer/transcript.jsonl"
	tap_status $? "report --send, holding the password map, is connected to the relay and waits" "$(cat "$T/sts-nd.out" 2>/dev/null)"
	tap_like "$(cat "/proc/$ND_PID/comm" 2>/dev/null)" "tlsrelay-sts" "report --send: the PID read is tlsrelay-sts's"
	tap_is "$(proc_dump_state "$ND_PID")" "core=0/0 owner=0" \
		"report --send while it holds the password map: RLIMIT_CORE 0 and not dumpable (/proc/PID owned by root)"
	stop_pid "$ND_PID"
	stop_pid "$SILENT_PID"
else
	for t in "connected to the relay and waits" "the PID read is tlsrelay-sts's" "RLIMIT_CORE 0 and not dumpable"; do
		tap_skip "report --send: $t" "needs setpriv"
	done
fi

# ---------------------------------------------------------------- RFC 8689
tap_expect 14
# TLS-Required: No with tls_required_enable = yes: enforce is applied as
# testing (MX outside the patterns tried, level not raised, results still
# counted for TLS-RPT); without the setting or the header nothing changes;
# a configured level is never relaxed. Own caches: the counts above stay.
printf 'Subject: sts test\nTLS-Required: No\n\nhello\n' > "$T/msg-no"
n81=$(ndata 127.0.0.81)
MSG=$T/msg-no send no_nomatch user@nomatch.test -o tls_required_enable=yes -o "mta_sts_cache=$T/no.db"
expect "TLS-Required: No + enforce, MX outside the patterns: delivered" 0 "status=sent"
tap_like "$ERR" "TLS-Required: No: MTA-STS policy of nomatch\.test \(enforce\) relaxed: not enforced for this message \(level may" \
	"TLS-Required: No + enforce: the relaxation is logged"
tap_like "$ERR" "MTA-STS policy of nomatch\.test \(enforce, TLS-Required: No\): MX host mx\.example\.test matches no mx pattern; delivering anyway" \
	"TLS-Required: No + enforce: the mismatch is logged"
tap_is "$(ndata 127.0.0.81)" "$((n81 + 1))" "TLS-Required: No + enforce: the MX got the message"
MSG=$T/msg-no send no_off user@nomatch.test -o "mta_sts_cache=$T/no-off.db"
expect "TLS-Required: No without tls_required_enable: deferred" 75 "^4\.7\.5 .*matches no mx pattern"
tap_unlike "$ERR" "TLS-Required: No:" "TLS-Required: No without tls_required_enable: nothing relaxed"
send no_hdr user@nomatch.test -o tls_required_enable=yes -o "mta_sts_cache=$T/no-off.db"
expect "tls_required_enable without the header: deferred" 75 "^4\.7\.5 .*matches no mx pattern"
MSG=$T/msg-no send no_untrusted user@untrusted.test -o tls_required_enable=yes -o "mta_sts_cache=$T/no.db"
expect "TLS-Required: No + enforce, untrusted certificate: delivered" 0 "status=sent"
tap_is "$(pfact 127.0.0.82 mail_plain)/$(pfact 127.0.0.82 mail_tls)" "0/1" \
	"TLS-Required: No + untrusted certificate: sent over TLS (level may)"
MSG=$T/msg-no send no_nostls user@nostls.test -o tls_required_enable=yes -o "mta_sts_cache=$T/no.db"
expect "TLS-Required: No + enforce, no STARTTLS, level may: delivered in plaintext" 0 "status=sent"
MSG=$T/msg-no send no_encrypt user@nostls.test -o tls_required_enable=yes -o "mta_sts_cache=$T/no.db" \
	-o tls_security_level=encrypt
expect "TLS-Required: No, tls_security_level = encrypt: never relaxed (deferred)" 75 "^4\.7\.4 TLS is required, but was not offered"
printf 'untrusted.test verify\n' > "$T/tls_policy_verify"
MSG=$T/msg-no send no_map user@untrusted.test -o tls_required_enable=yes -o "mta_sts_cache=$T/no.db" \
	-o "tls_policy_map=$T/tls_policy_verify"
expect "TLS-Required: No, tls_policy_map entry verify: never relaxed (deferred)" 75 "^4\.7\.5 .*not trusted"
OUT=$(sts -o "mta_sts_cache=$T/no.db" report --day "$DAY" --domain nomatch.test --submitter client.test 2>&1)
printf '%s\n' "$OUT" > "$T/report-no.json"
tap_run "TLS-Required: No: the relaxed session is counted for TLS-RPT (validation-failure)" "$PY" "$CHECK" \
	"$T/report-no.json" nomatch.test sts 0 1 validation-failure
tap_like "$OUT" '"result-type":"validation-failure","sending-mta-ip":"127\.0\.0\.1","receiving-mx-hostname":"mx\.example\.test","receiving-ip":"127\.0\.0\.81"' \
	"TLS-Required: No: TLS-RPT names the address the message went to"

stop_pid "$HTTPS_PID"
stop_pid "$HTTPS_CN_PID"
tap_done
