#!/bin/bash
# tests/e2e/test_valgrind.sh - tlsrelay under valgrind (memcheck): zero
# errors, zero leaks, no descriptor left open, on the end-to-end delivery
# and on failure paths.
#
#   a. swaks -> Postfix (host) -> pipe(8) as nobody -> valgrind tlsrelay ->
#      Postfix (receiver, STARTTLS) -> Maildir: the mail arrives over TLS.
#   b. the transport run directly (as root), under valgrind, on failure
#      paths: connection refused (exit 75), a 550 to MAIL FROM from the
#      test peer after STARTTLS (exit 69), a 450 to RCPT TO (exit 75).
# Each run writes one valgrind log per process (--log-file=DIR/vg.%p); the
# test parses every log: "ERROR SUMMARY: 0 errors", no definitely,
# indirectly or possibly lost bytes, no descriptor that the program opened
# still open at exit (--track-fds; inherited ones are not its own).
# "still reachable" memory (OpenSSL's and
# glibc's process-wide tables, freed by nobody at exit) is not a leak.
#
# Suppressions: tests/e2e/valgrind.supp, documented false positives only.
# Skipped without valgrind, and in a sanitizer build (ASan and valgrind
# cannot run one process together): detected from the program itself.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

require_root
require_cmd valgrind postfix postconf postqueue swaks runuser
make_tmpdir
peer_init

T=$TEST_TMP
TR=$(stage_tlsrelay "$T/bin") || tap_bail "cannot stage tlsrelay for user nobody (built? see stage_tlsrelay)"
BIN=$T/bin/libexec/tlsrelay LIBDIR=$T/bin/lib
[ -x "$BIN" ] || { BIN=$T/bin/tlsrelay LIBDIR=""; }
# A sanitizer runtime in the program or its library: valgrind cannot run it.
for f in "$BIN" "$LIBDIR"/libtlsrelay.so*; do
	[ -f "$f" ] && grep -qa -e '__asan_init' -e '__tsan_init' -e '__msan_init' "$f" &&
		tap_skip_all "sanitizer build (${f##*/} has a sanitizer runtime): valgrind cannot run it"
done
head -c 4 "$BIN" | grep -q 'ELF' || tap_skip_all "$BIN is not an ELF program (valgrind would trace a script)"

VGDIR=$T/vg
mkdir -p "$VGDIR" && chmod 1777 "$VGDIR"
SUPP=$top_srcdir/tests/e2e/valgrind.supp
VG=(valgrind --error-exitcode=97 --leak-check=full
	--show-leak-kinds=definite,indirect,possible
	--errors-for-leak-kinds=definite,indirect,possible
	--track-fds=yes --num-callers=30 --suppressions="$SUPP")

# The program pipe(8) runs: valgrind, one log per process in $VGDIR/NAME.
cat > "$T/bin/tlsrelay-vg" <<EOF
#!/bin/sh
# tlsrelay under valgrind, written by tests/e2e/test_valgrind.sh
LD_LIBRARY_PATH="$LIBDIR"; export LD_LIBRARY_PATH
exec $(printf '%q ' "${VG[@]}") --log-file="$VGDIR/postfix.%p" "$BIN" "\$@"
EOF
chmod 0755 "$T/bin/tlsrelay-vg"

# vg_open_fds LOG: descriptors open at exit that the program opened itself
# (--track-fds lists inherited ones too: the test's own, valgrind's log).
vg_open_fds() {
	awk '/==[0-9]+== Open (file descriptor|AF_[A-Z0-9]+ socket)/ { d = $0; getline
		if ($0 !~ /inherited from parent/) print d " " $0 }' "$1"
}

# vg_check PREFIX NAME: the point NAME that every valgrind log PREFIX.* is
# clean (and that there is at least one).
vg_check() {
	local prefix=$1 name=$2 f fds bad="" n=0
	for f in "$prefix".*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		if ! grep -q 'ERROR SUMMARY: 0 errors from 0 contexts' "$f" || grep -qE 'ERROR SUMMARY: [1-9]|(definitely|indirectly|possibly) lost: [1-9]|Invalid|uninitiali[sz]ed|Mismatched|Syscall param' "$f"; then
			bad="$bad$(printf '==== %s\n' "${f##*/}"; head -c 6000 "$f")
"
		fi
		fds=$(vg_open_fds "$f")
		if [ -n "$fds" ]; then
			bad="$bad$(printf '==== %s: descriptors opened and not closed\n%s' "${f##*/}" "$fds")
"
		fi
	done
	if [ "$n" = 0 ]; then
		tap_ok 0 "$name" "no valgrind log $prefix.*"
	else
		tap_status "$([ -z "$bad" ]; echo $?)" "$name ($n process(es))" "$bad"
	fi
}

# ------------------------------------------------------ a. through Postfix
tap_plan $((5 + 3 + 2 * 4))	# through Postfix, refused, two peer cases
RPORT=$(free_port) && HPORT=$(free_port) || tap_bail "no free port"
CONF=$T/tlsrelay.conf
mkdir -p "$T/trspool" && chown nobody "$T/trspool" && chmod 0700 "$T/trspool"
cat > "$CONF" <<EOF
# tlsrelay.conf written by tests/e2e/test_valgrind.sh
relayhost = [127.0.0.1]:$RPORT
tls_security_level = encrypt
tls_ca_file = $CERTS/ca.pem
helo_name = host.tlsrelay.test
connect_timeout = 10s
command_timeout = 60s
deadline = 120s
spool_directory = $T/trspool
syslog = no
EOF
chmod 0644 "$CONF"

receiver_new receiver "$RPORT" may || tap_bail "receiver_new failed"
RECV=$PF_DIR
host_new host "$HPORT" "$T/bin/tlsrelay-vg" "$CONF" || tap_bail "host_new failed"
HOST=$PF_DIR
pf_start "$RECV" || tap_bail "receiver Postfix did not start"
pf_start "$HOST" || tap_bail "host Postfix did not start"
wait_port 127.0.0.1 "$RPORT" 15 || tap_bail "receiver not listening on $RPORT"
wait_port 127.0.0.1 "$HPORT" 15 || tap_bail "host not listening on $HPORT"

MSG=$T/mail.eml
MARK="valgrind-e2e-$$-$RANDOM"
{
	printf 'From: <sender@sender.test>\nTo: <user@example.test>\nSubject: %s\n' "$MARK"
	printf 'Message-ID: <%s@sender.test>\n\n' "$MARK"
	printf 'Body of %s.\n.leading dot\nGr\303\274\303\237e\n' "$MARK"
	for ((i = 0; i < 200; i++)); do printf 'line %d of a body long enough for several reads\n' "$i"; done
} > "$MSG"
swaks_send "$HPORT" sender@sender.test user@example.test "$MSG"
tap_status $? "swaks hands the message to the host Postfix" "$SWAKS_OUT"
line=$(pf_log_wait "$HOST" "${SENT_QID:-no-queue-id}: to=<user@example.test>, relay=tlsrelay.*status=(sent|deferred|bounced)" 120)
tap_like "$line" 'status=sent' "the host logs status=sent for tlsrelay under valgrind"
file=$(receiver_wait_mail "$RECV" user "$MARK" 30)
tap_status $? "the receiver stored the message"
tap_like "$(mail_header "$file" Received)" 'with ESMTPS' "it arrived over TLS (ESMTPS)"
vg_check "$VGDIR/postfix" "valgrind: no error, leak or open descriptor in the pipe(8) delivery"

# ------------------------------------------------- b. direct, failure paths
# run_vg NAME CONF ARGS...: the transport under valgrind with $MSG on
# stdin; sets RC and OUT.
run_vg() {
	local name=$1 conf=$2; shift 2
	OUT=$(LD_LIBRARY_PATH="$LIBDIR" timeout -k 5 180 "${VG[@]}" --log-file="$VGDIR/$name.%p" \
		"$BIN" -c "$conf" -f sender@sender.test -- "$@" < "$MSG" 2>&1)
	RC=$?
}

direct_conf() {	# direct_conf FILE PORT LEVEL
	cat > "$1" <<-EOF
	relayhost = [127.0.0.1]:$2
	tls_security_level = $3
	tls_ca_file = $CERTS/ca.pem
	helo_name = host.tlsrelay.test
	connect_timeout = 10s
	command_timeout = 60s
	deadline = 120s
	spool_directory = $T/trspool
	syslog = no
	EOF
}

DEAD=$(free_port) || tap_bail "no free port"
direct_conf "$T/refused.conf" "$DEAD" may
run_vg refused "$T/refused.conf" user@example.test
tap_is "$RC" 75 "connection refused: exit 75 under valgrind"
tap_like "$OUT" '^4\.4\.1 ' "connection refused: 4.4.1"
vg_check "$VGDIR/refused" "valgrind: connection refused path is clean"

# The peer's scenarios with generous time-outs: under valgrind, on a busy
# machine, tlsrelay's first TLS handshake may take more than the peer's
# default 10 s.
mkdir -p "$T/scen"
for s in mail_550 rcpt_by_address; do
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1])); d.update(handshake_timeout=120, idle_timeout=150)
json.dump(d, open(sys.argv[2], "w"))' "$SCEN/$s.json" "$T/scen/$s.json" || tap_bail "cannot copy scenario $s"
done
SCEN=$T/scen

# peer_vg NAME SCENARIO RCPT WANT_RC DSN_ERE: one run against the peer
# (level encrypt: the failure comes after the TLS handshake)
peer_vg() {
	local name=$1 scen=$2 rcpt=$3 want=$4 dsn=$5
	DIR=$T/$name
	if ! start_peer "$scen" "$DIR"; then
		tap_ok 0 "$name: peer started"
		return
	fi
	direct_conf "$T/$name.conf" "$PEER_PORT" encrypt
	run_vg "$name" "$T/$name.conf" "$rcpt"
	peer_report
	tap_is "$RC" "$want" "$name: exit $want under valgrind"
	tap_like "$OUT" "$dsn" "$name: enhanced status"
	tap_is "$(rg starttls)" 1 "$name: the session used STARTTLS"
	vg_check "$VGDIR/$name" "valgrind: $name path is clean"
}
peer_vg mail_550 mail_550 user@example.test 69 '^5\.7\.1 '
peer_vg rcpt_450 rcpt_by_address tempfail@example.test 75 '^4\.2\.0 '

tap_done
