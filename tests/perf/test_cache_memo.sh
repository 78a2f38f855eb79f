#!/bin/bash
# tests/perf/test_cache_memo.sh - the session memo of lib/tls_cache.c in a
# long-lived tlsrelayd delivery process, against a real Postfix smtpd (TLS
# 1.3 tickets).
#
# A delivery process keeps the last cache entry it wrote or decoded and
# skips d2i_SSL_SESSION when the slot file holds the same bytes again. The
# file stays the authority; these cases fail if the memo were used without
# it:
#   a. four deliveries by one delivery process: a full handshake, then
#      three resumed ones from the same entry (Postfix sends no new ticket
#      on a resumed handshake), the memo's session used again and again
#      (OpenSSL spoils a session object a connection used: the memo hands
#      out copies)
#   b. the entry file removed: a full handshake (no resumption from memory)
#   c. the entry's session bytes damaged: a full handshake, the delivery
#      succeeds, the entry is replaced and resumed from again
#   d. an entry written by another process (the standalone transport, same
#      configuration and cache): resumed from it
#   e. tls_session_cache_timeout = 2s: resumed at once, a full handshake
#      once the entry expired (the expiry in the file is checked first)
# Each case checks that the same delivery process served it (the daemon's
# one child, same PID). connection_cache = no: each delivery has its own
# connection, hence a handshake. Every wait is bounded; no timing is
# asserted.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

require_root
require_cmd postfix postconf timeout runuser
make_tmpdir
T=$TEST_TMP

TRD=$top_builddir/plugin/daemon/tlsrelayd TRC=$top_builddir/plugin/transport/tlsrelayc
[ -x "$TRD" ] && [ -x "$TRC" ] || tap_bail "tlsrelayd or tlsrelayc not built"
TR=$(stage_tlsrelay "$T/bin") || tap_bail "cannot stage tlsrelay (built? see stage_tlsrelay)"
PORT=$(free_port) || tap_bail "no free port"

receiver_new recv "$PORT" may || tap_bail "receiver_new failed"
pf_set "$PF_DIR" "relay_domains = example.test" "relay_transport = discard:" \
	"virtual_mailbox_domains =" "virtual_mailbox_maps =" || tap_bail "pf_set failed"
pf_start "$PF_DIR" || tap_bail "receiver Postfix did not start"
wait_port 127.0.0.1 "$PORT" 15 || tap_bail "receiver not listening"

# run/: the socket, made by the daemon as nobody (after it dropped root)
mkdir -p "$T/spool" "$T/nb" "$T/run" && chmod 1777 "$T/spool" && chown nobody "$T/nb" "$T/run" && chmod 0755 "$T" ||
	tap_bail "mkdir failed"
CACHE=$T/nb/cache
printf 'Subject: session memo test\n\nhello\n' > "$T/msg"
chmod 0644 "$T/msg"

write_conf() {	# write_conf FILE [extra lines]
	local f=$1; shift
	{
		printf 'relayhost = [127.0.0.1]:%s\ntls_security_level = verify\n' "$PORT"
		printf 'tls_ca_file = %s\nhelo_name = client.tlsrelay.test\nsyslog = no\n' "$CERTS/ca.pem"
		printf 'deadline = 60s\nspool_directory = %s\ntls_session_cache = %s\n' "$T/spool" "$CACHE"
		# every delivery makes its own connection (and TLS session) here:
		# connection reuse is tests/daemon/test_reuse.sh
		printf 'connection_cache = no\n'
		printf '%s\n' "$@"
	} > "$f"
	chmod 0644 "$f"
}

DPID=
start_daemon() {	# start_daemon CONF: a tlsrelayd as nobody on $T/run/d.sock; sets DPID
	rm -f "$T/run/d.sock"
	start_bg tlsrelayd "$TRD" -u nobody -c "$1" -s "$T/run/d.sock"
	DPID=$BG_PID
	wait_until 15 test -S "$T/run/d.sock" || tap_bail "tlsrelayd did not start: $(cat "$T/tlsrelayd.out")"
}
stop_daemon() { stop_pid "$DPID"; }
workers() { cat "/proc/$DPID/task/$DPID/children" 2>/dev/null | tr -s ' ' '\n' | grep -c .; }
worker() { cat "/proc/$DPID/task/$DPID/children" 2>/dev/null | tr -d ' '; }

# send NAME CONF: one delivery through the daemon, tlsrelay -v (its log on
# our stderr); sets RC, OUT, LOG
send() {
	timeout -k 5 60 "$TRC" -S "$T/run/d.sock" -v -c "$2" -f sender@tlsrelay.test -- user@example.test \
		< "$T/msg" > "$T/$1.out" 2> "$T/$1.err"
	RC=$?
	OUT=$(cat "$T/$1.out") LOG=$(cat "$T/$1.err")
	tap_status "$([ "$RC" = 0 ] && [ -z "$OUT" ]; echo $?)" "$1: delivered (exit 0)" \
		"exit $RC, stdout: $OUT; log: $LOG"
}
full() {
	tap_like "$LOG" "TLS connection established to \[127\.0\.0\.1\]:" "$1: full handshake"
	tap_unlike "$LOG" "TLS connection reused|session reused" "$1: no session reused"
}
reused() {
	tap_like "$LOG" "Verified TLS connection reused to \[127\.0\.0\.1\]:" "$1: TLS connection reused"
}
same_worker() {	# same_worker NAME PID: still the one delivery process PID
	tap_status "$([ "$(workers)" = 1 ] && [ "$(worker)" = "$2" ]; echo $?)" \
		"$1: served by the same delivery process" "children now: $(worker), before: $2"
}
slot() { find "$CACHE" -maxdepth 1 -type f -name 's*' | head -n 1; }

write_conf "$T/d.conf"

tap_plan 37	# a linear script (send 1, full 2, reused 1-2, same_worker 1)
# ------------------------------------------------ a. one process, resumed twice
start_daemon "$T/d.conf"
send a1 "$T/d.conf"
full a1
W=$(worker)
tap_is "$(workers)" 1 "a1: one delivery process"
send a2 "$T/d.conf"
reused a2
send a3 "$T/d.conf"
reused a3
send a4 "$T/d.conf"
reused a4
same_worker a4 "$W"

# ------------------------------------------------ b. the file removed
rm -f "$(slot)"
send b1 "$T/d.conf"
full b1
same_worker b1 "$W"
send b2 "$T/d.conf"
reused b2

# ------------------------------------------------ c. the entry damaged
# The last 40 bytes of the DER (the session's tail) overwritten in place.
S=$(slot)
size=$(stat -c %s "$S")
head -c 40 /dev/zero | dd of="$S" bs=1 seek=$((size - 40)) conv=notrunc status=none
send c1 "$T/d.conf"
full c1
same_worker c1 "$W"
send c2 "$T/d.conf"
reused c2

# ------------------------------------------------ d. written by another process
# The standalone transport, with the entry removed first: a full handshake
# and a new entry (Postfix sends no new ticket on a resumed handshake).
before=$(md5sum < "$(slot)")
rm -f "$(slot)"
timeout -k 5 60 runuser -u nobody -- "$TR" -c "$T/d.conf" -f sender@tlsrelay.test -- user@example.test \
	< "$T/msg" > "$T/d0.out" 2>&1
tap_is "$?" 0 "d0: the standalone transport delivered"
tap_status "$([ -n "$(slot)" ] && [ "$(md5sum < "$(slot)")" != "$before" ]; echo $?)" "d0: it wrote a new entry"
send d1 "$T/d.conf"
reused d1
same_worker d1 "$W"
stop_daemon

# ------------------------------------------------ e. expiry
write_conf "$T/e.conf" "tls_session_cache_timeout = 2s"
rm -rf "$CACHE"
start_daemon "$T/e.conf"
send e1 "$T/e.conf"
full e1
W=$(worker)
send e2 "$T/e.conf"
reused e2
sleep 3
send e3 "$T/e.conf"
full e3
same_worker e3 "$W"
stop_daemon

tap_done
