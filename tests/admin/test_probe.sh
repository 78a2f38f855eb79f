#!/bin/bash
# tests/admin/test_probe.sh - tlsrelay-probe against tests/peer/peer.py
# (scripted STARTTLS server, certificates from tests/certs) and, for
# domains, the test zone served by a private unbound (tests/dns/unbound.sh).
#
# What is checked: the verdict line and exit status for each policy outcome
# (delivered / deferred / bounced), the dialogue details it shows (greeting,
# EHLO before and after TLS, STARTTLS, TLS parameters, the certificate with
# digests equal to what openssl computes, the verification result), that it
# never sends MAIL FROM nor AUTH (the peer's transcript), that -v shows the
# dialogue without secrets, that two runs print the same, that it holds the
# password map without being able to dump core, and bad arguments.
#
# Only 127.0.0.1 and 127.0.0.5 (nomx.test's address in the test zone), on
# free ports; every process is stopped by its PID.

: "${top_builddir:=/tmp/bld-admin}"
here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"
. "$top_srcdir/tests/dns/unbound.sh"

peer_init
require_cmd timeout openssl
PROBE=${PROBE_BIN:-$top_builddir/plugin/probe/tlsrelay-probe}
[ -x "$PROBE" ] || tap_bail "no tlsrelay-probe at $PROBE"
peer_require_localhost

make_tmpdir
T=$TEST_TMP
cat > "$T/base.conf" <<EOF
helo_name = probe.tlsrelay.test
syslog = no
connect_timeout = 5s
command_timeout = 10s
deadline = 30s
tls_ca_file = $CERTS/ca.pem
EOF

probe() {	# probe ARGS...: sets OUT and RC
	OUT=$(timeout 60 "$PROBE" "$@" 2>&1 </dev/null)
	RC=$?
}
fp() { openssl x509 -in "$CERTS/$1" -noout -fingerprint -sha256 | sed 's/.*=//'; }
spki() {
	openssl x509 -in "$CERTS/$1" -noout -pubkey | openssl pkey -pubin -outform DER |
		openssl dgst -sha256 -binary | od -An -tx1 | tr -d ' \n' |
		sed 's/../&:/g; s/:$//' | tr a-f A-F
}

# ---------------------------------------------------- verified, secure
tap_plan 56	# a linear script; the branches that cannot run skip their checks
DIR=$T/good; start_peer good "$DIR" || tap_bail "cannot start peer.py"
probe -c "$T/base.conf" -l secure "[localhost]:$PEER_PORT"
tap_is "$RC" 0 "secure, good server: exit 0"
tap_like "$OUT" "^mail for \\[localhost\\]:$PEER_PORT would be delivered: Verified TLS to localhost\\[127\\.0\\.0\\.1\\]:$PEER_PORT \\(TLSv1\\.[23] " "secure: the verdict line names the posture and the server"
tap_is "$(printf '%s\n' "$OUT" | tail -n 1 | grep -c '^mail for ')" 1 "the verdict is the last line"
tap_like "$OUT" '^policy: secure match=nexthop:dot-nexthop \(from tlsrelay-probe -l\)$' "the effective policy is shown with its source"
tap_like "$OUT" "^server localhost\\[127\\.0\\.0\\.1\\]:$PEER_PORT$" "each server tried is named"
tap_like "$OUT" '^  greeting: 220 ' "the greeting is shown"
tap_like "$OUT" '^  EHLO: 250 .*STARTTLS' "EHLO capabilities before TLS (with STARTTLS)"
tap_like "$OUT" '^  STARTTLS: offered$' "STARTTLS offered"
tap_like "$OUT" '^  TLS: TLSv1\.[23] with cipher [A-Z0-9_-]+ \([0-9]+/[0-9]+ bits\), group [A-Za-z0-9_-]+, new session$' "protocol, cipher, group, resumption"
tap_like "$OUT" '^  certificate 0: subject .*CN=mx\.example\.test' "the server certificate's subject"
tap_like "$OUT" '^    names DNS:mx\.example\.test, DNS:localhost, IP:127\.0\.0\.1' "the subject alternative names"
tap_like "$OUT" '^    valid from [0-9-]+ [0-9:]+ UTC to [0-9-]+ [0-9:]+ UTC$' "the validity"
tap_like "$OUT" "^    cert-sha256 $(fp server.pem)$" "the certificate digest equals openssl's (match= format)"
tap_like "$OUT" "^    pkey-sha256 $(spki server.pem)$" "the public-key digest equals openssl's SPKI digest"
tap_like "$OUT" '^  verification: chain trusted, name matched localhost -> Verified$' "the verification result"
tap_like "$OUT" '^  EHLO after TLS: 250 ' "EHLO capabilities after TLS"
tap_unlike "$OUT" '^  EHLO after TLS: .*STARTTLS' "after TLS, no STARTTLS in the capabilities"
probe -c "$T/base.conf" -l secure "[localhost]:$PEER_PORT"
OUT2=$OUT
probe -c "$T/base.conf" -l secure "[localhost]:$PEER_PORT"
tap_is "$OUT" "$OUT2" "two runs print the same (diff-able output)"
# The probe only reads the TLS session cache: run as root it must not make
# a directory (or entries) that the transport's user then cannot use.
probe -c "$T/base.conf" -o "tls_session_cache=$T/sesscache" -l secure "[localhost]:$PEER_PORT"
tap_is "$RC" 0 "with tls_session_cache set: exit 0"
tap_status "$(test ! -e "$T/sesscache"; echo $?)" "the probe did not create the session cache directory"
mkdir -m 0700 "$T/sesscache2"
probe -c "$T/base.conf" -o "tls_session_cache=$T/sesscache2" -l secure "[localhost]:$PEER_PORT"
tap_is "$(ls -A "$T/sesscache2" | wc -l)" 0 "the probe wrote no session into an existing cache"
peer_report
tap_is "$(rg mail_plain)/$(rg mail_tls)/$(rg auth)" "0/0/0" "the server never saw MAIL FROM nor AUTH"
tap_is "$(rg conns)" 5 "one connection per probe"

# --------------------------------------- credentials: TLS required, no AUTH
DIR=$T/auth; start_peer pol_auth "$DIR" || tap_bail "cannot start peer.py"
printf '[localhost]:%s probeuser:pr0be-s3cret\n' "$PEER_PORT" > "$T/sasl"
chmod 600 "$T/sasl"
probe -c "$T/base.conf" -o "sasl_password_map=$T/sasl" -v "[localhost]:$PEER_PORT"
tap_is "$RC" 0 "credentials configured: exit 0"
tap_like "$OUT" "^  AUTH: the credentials of sasl_password_map key \\[localhost\\]:$PEER_PORT would be used \\(not tried by the probe\\)$" "credentials: says which would be used"
tap_like "$OUT" '^  \| > .*: EHLO probe\.tlsrelay\.test$' "-v shows the dialogue"
tap_unlike "$OUT" 'pr0be-s3cret|probeuser' "no user name or password in the output"
peer_report
tap_is "$(rg auth)/$(rg mail_tls)" "0/0" "credentials: the server saw no AUTH and no MAIL"

# ----------------------------------------------- no STARTTLS: may vs encrypt
DIR=$T/nostarttls; start_peer no_starttls "$DIR" || tap_bail "cannot start peer.py"
probe -c "$T/base.conf" -l encrypt "[127.0.0.1]:$PEER_PORT"
tap_is "$RC" 75 "encrypt, no STARTTLS: exit 75"
tap_like "$OUT" "^  STARTTLS: not offered$" "encrypt, no STARTTLS: shown"
tap_like "$OUT" "^mail for \\[127\\.0\\.0\\.1\\]:$PEER_PORT would be deferred: TLS is required, but was not offered by host \\[127\\.0\\.0\\.1\\]:$PEER_PORT$" "encrypt, no STARTTLS: would be deferred, with the reason"
probe -c "$T/base.conf" "[127.0.0.1]:$PEER_PORT"
tap_is "$RC" 0 "may (configured default), no STARTTLS: exit 0"
tap_like "$OUT" "would be delivered: plaintext to \\[127\\.0\\.0\\.1\\]:$PEER_PORT \\(STARTTLS not offered, level may allows plaintext\\)$" "may: plaintext, and why"
peer_report
tap_is "$(rg mail_plain)" 0 "no MAIL FROM in plaintext either"

# ------------------------------------------------------ untrusted certificate
DIR=$T/selfsigned; start_peer selfsigned_cert "$DIR" || tap_bail "cannot start peer.py"
probe -c "$T/base.conf" -l verify "[localhost]:$PEER_PORT"
tap_is "$RC" 75 "verify, self-signed: exit 75"
tap_like "$OUT" '^  verification: chain not trusted: .*-> Untrusted$' "verify, self-signed: the verification result says why"
tap_like "$OUT" '^mail for .* would be deferred: .*[Cc]ertificate' "verify, self-signed: would be deferred for the certificate"
probe -c "$T/base.conf" -l encrypt "[localhost]:$PEER_PORT"
tap_is "$RC" 0 "encrypt, self-signed: exit 0"
tap_like "$OUT" 'would be delivered: Untrusted TLS to ' "encrypt, self-signed: Untrusted TLS"
peer_report

# ------------------------------------------------------- no core dumps
# The probe runs the delivery code, which loads sasl_password_map before it
# connects: while it waits for a silent server's greeting it holds the
# passwords, and must be as the transport is: RLIMIT_CORE 0 and not
# dumpable. Read from /proc while it waits, the probe running as nobody
# with RLIMIT_CORE unlimited first (start_nobody_core, proc_dump_state).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	mkdir -p "$T/nd" && chmod 755 "$T" && cp "$T/base.conf" "$T/nd/base.conf"
	DIR=$T/silent; start_peer greeting_silent "$DIR" || tap_bail "cannot start peer.py"
	printf '[127.0.0.1]:%s probeuser:pr0be-s3cret\n' "$PEER_PORT" > "$T/nd/sasl"
	printf 'bad key here\n' > "$T/nd/sasl-bad"
	chown nobody "$T/nd" "$T/nd/sasl" "$T/nd/sasl-bad" && chmod 600 "$T/nd/sasl" "$T/nd/sasl-bad"
	# the map is read before any connection: a broken one stops the probe first
	OUT=$(as_nobody timeout 60 "$PROBE" -c "$T/nd/base.conf" -o "sasl_password_map=$T/nd/sasl-bad" \
		"[127.0.0.1]:$PEER_PORT" 2>&1); RC=$?
	tap_like "$OUT" "sasl_password_map $T/nd/sasl-bad:1: " "broken password map: the probe stops on it ($RC)..."
	tap_is "$(cat "$DIR/transcript.jsonl" 2>/dev/null | grep -c .)" 0 "... before any connection (the map is loaded first)"
	start_nobody_core probe-nd "$PROBE" -c "$T/nd/base.conf" -o "sasl_password_map=$T/nd/sasl" \
		"[127.0.0.1]:$PEER_PORT"
	ND_PID=$BG_PID
	wait_until 20 grep -q . "$DIR/transcript.jsonl"
	tap_status $? "the probe, holding the password map, is connected and waits for the greeting"
	tap_like "$(cat "/proc/$ND_PID/comm" 2>/dev/null)" "tlsrelay-probe" "the PID read is the probe's"
	tap_is "$(proc_dump_state "$ND_PID")" "core=0/0 owner=0" \
		"while it holds the password map: RLIMIT_CORE 0 and not dumpable (/proc/PID owned by root)"
	stop_pid "$ND_PID"
	peer_report
else
	for t in "broken password map: the probe stops on it" "... before any connection" \
		"the probe, holding the password map, is connected" "the PID read is the probe's" \
		"RLIMIT_CORE 0 and not dumpable"; do
		tap_skip "no core dumps: $t" "needs root and setpriv"
	done
fi

# ------------------------------------------------------------ arguments
probe -c "$T/base.conf"
tap_is "$RC" 64 "no destination: exit 64"
probe -c "$T/base.conf" -l sometimes "[127.0.0.1]:25"
tap_is "$RC" 64 "bad level: exit 64"
tap_like "$OUT" 'bad level "sometimes"' "bad level: named"
probe -c "$T/base.conf" "bad..domain"
tap_is "$RC" 64 "bad destination: exit 64"
probe -c "$T/nope.conf" "[127.0.0.1]:25"
tap_is "$RC" 78 "missing configuration file: exit 78"

# ------------------------------------------------- domains through the DNS
if ub_find && [ "$(id -u)" = 0 ]; then
	at_exit ub_cleanup
	ub_setup "$T" "$top_srcdir/tests/dns/test.zone" || tap_bail "unbound setup failed"
	ub_start_main ub_log_ready || tap_bail "cannot start unbound"
	printf 'dns_resolver = 127.0.0.1:%s\n' "$ub_port" >> "$T/base.conf"
	DIR=$T/nomx; mkdir -p "$DIR"
	PEER_PORT=$(free_port)
	start_bg peer-nomx "$PY" "$PEER" serve --address 127.0.0.5 --port "$PEER_PORT" \
		--scenario "$SCEN/good.json" --outdir "$DIR" --pidfile "$DIR/peer.pid" --max-lifetime 60
	PEER_PID=$BG_PID
	wait_until 10 test -s "$DIR/peer.pid" || tap_bail "peer on 127.0.0.5 did not start"
	probe -c "$T/base.conf" -p "$PEER_PORT" -l encrypt nomx.test
	tap_is "$RC" 0 "domain without MX (implicit MX), -p: exit 0"
	tap_like "$OUT" "^server nomx\\.test\\[127\\.0\\.0\\.5\\]:$PEER_PORT$" "domain: the server found through the DNS"
	tap_like "$OUT" '^  verification: chain trusted, name not matched -> Trusted$' "domain: mx.example.test's certificate does not name nomx.test"
	tap_like "$OUT" "^mail for nomx\\.test would be delivered: Trusted TLS to nomx\\.test\\[127\\.0\\.0\\.5\\]:$PEER_PORT " "domain: the verdict"
	probe -c "$T/base.conf" -p "$PEER_PORT" -l verify nomx.test
	tap_is "$RC" 75 "domain, verify, name not matched: exit 75"
	peer_report
	probe -c "$T/base.conf" nullmx.test
	tap_is "$RC" 69 "null MX: exit 69 (would bounce)"
	tap_like "$OUT" '^mail for nullmx\.test would be bounced: .*null MX' "null MX: would be bounced, with the reason"
else
	for t in "implicit MX, -p: exit 0" "the server found through the DNS" "the name not matched" \
		"the verdict" "verify, name not matched: exit 75" "null MX: exit 69" "null MX: the reason"; do
		tap_skip "domain: $t" "unbound missing or not root"
	done
fi

tap_done
