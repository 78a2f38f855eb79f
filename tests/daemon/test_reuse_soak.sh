#!/bin/bash
# tests/daemon/test_reuse_soak.sh - no descriptor or memory leak over
# 10,000 messages through tlsrelayc -> tlsrelayd with connection reuse
# (issue 16), read from /proc: 1,000 messages, then the descriptors and
# resident memory of the daemon and of each delivery process; 9,000 more;
# the same processes again (-r 100000: none is retired) with the same
# descriptors and at most TR_SOAK_RSS_KB (256) KB more memory each. Both
# readings are taken once the idle connections are closed
# (connection_cache_time_limit 1s): an idle connection is one descriptor.
# connection_reuse_count_limit 250: 40 connections and more opened and
# closed by the limit, the cache's replacement path included. The server is
# tests/peer/peer.py keeping no message bytes; 4 clients at a time
# (tests/daemon/burst.py), 1 KB messages. About 1-2 minutes.
# In a sanitizer build the memory points are skipped (ASan holds freed
# memory in its quarantine, so resident memory grows by design); leaks are
# LeakSanitizer's report when the processes exit at the end.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

require_root
require_cmd timeout ps
peer_init
make_tmpdir
T=$TEST_TMP
DAEMON=${TLSRELAYD_BIN:-$top_builddir/plugin/daemon/tlsrelayd}
CLIENT=${TLSRELAYC_BIN:-$top_builddir/plugin/transport/tlsrelayc}
BURST=$top_srcdir/tests/daemon/burst.py
FACTS=$top_srcdir/tests/daemon/conn_facts.py
RSS_MAX=${TR_SOAK_RSS_KB:-256}
[ -x "$DAEMON" ] && [ -x "$CLIENT" ] || tap_bail "tlsrelayd or tlsrelayc not built"
ASAN=no
grep -q __asan_init "$DAEMON" 2>/dev/null && ASAN=yes

mkdir -p "$T/spool" "$T/run" "$T/peer" "$T/scen" && chmod 1777 "$T/spool" && chown nobody "$T/run" ||
	tap_bail "mkdir failed"
printf '{"ehlo_caps": ["PIPELINING", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME", "CHUNKING"], "store_data": false, "idle_timeout": 60}\n' \
	> "$T/scen/soak.json"
PEER_PORT=$(free_port) || tap_bail "no free port"
start_bg peer "$PY" "$PEER" serve --port "$PEER_PORT" --scenario "$T/scen/soak.json" --outdir "$T/peer" \
	--pidfile "$T/peer/peer.pid" --max-lifetime 1200
PEER_PID=$BG_PID
wait_until 10 test -s "$T/peer/peer.pid" || tap_bail "peer did not start: $(cat "$T/peer.out")"

CONF=$T/d.conf
cat > "$CONF" <<EOC
relayhost = [127.0.0.1]:$PEER_PORT
tls_security_level = encrypt
helo_name = client.tlsrelay.test
syslog = no
command_timeout = 30s
deadline = 60s
spool_directory = $T/spool
connection_cache_time_limit = 1s
connection_reuse_count_limit = 250
EOC
chmod 0644 "$CONF"
SOCK=$T/run/d.sock
start_bg d "$DAEMON" -u nobody -c "$CONF" -s "$SOCK" -n 4 -r 100000 -i 3600
DPID=$BG_PID
wait_until 15 test -S "$SOCK" || tap_bail "tlsrelayd not ready: $(cat "$T/d.out")"

children() { ps -o pid= --ppid "$DPID" 2>/dev/null | tr -d ' ' | sort -n; }
# snap FILE: "PID FDS RSS_KB" of the daemon and each delivery process
snap() {
	local p
	for p in "$DPID" $(children); do
		printf '%s %s %s\n' "$p" "$(ls "/proc/$p/fd" | wc -l)" \
			"$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status")"
	done > "$1"
}
# idle_closed: no delivery process holds an SMTP connection: one socket
# each, its control socket
idle_closed() {
	local p
	for p in $(children); do
		[ "$(find "/proc/$p/fd" -lname 'socket:*' 2>/dev/null | grep -c .)" -le 1 ] || return 1
	done
}
burst() {	# burst FIRST N ROUND
	timeout -k 5 1200 "$PY" "$BURST" send --client "$CLIENT" --sock "$SOCK" --conf "$CONF" --dir "$T/m" \
		--first "$1" --n "$2" --par 4 --size 1024 --round "$3"
	tap_is "$(awk '$2 != 0' "$T/m/results-$3" | grep -c .)" 0 "$3: all $2 messages exit 0"
	rm -f "$T"/m/msg-*.eml
}

tap_expect $((2 + 1 + 2))	# the bursts, the same processes, the server's count and connections
burst 0 1000 warm
sleep 1.5
wait_until 10 idle_closed
snap "$T/snap1"
tap_diag "after 1,000: $(tr '\n' ';' < "$T/snap1")"
burst 1000 9000 soak
sleep 1.5
wait_until 10 idle_closed
snap "$T/snap2"
tap_diag "after 10,000: $(tr '\n' ';' < "$T/snap2")"
tap_is "$(cut -d' ' -f1 "$T/snap2" | tr '\n' ' ')" "$(cut -d' ' -f1 "$T/snap1" | tr '\n' ' ')" \
	"the same daemon and delivery processes served all 10,000"
tap_expect $((2 * $(grep -c . "$T/snap1")))	# a process: descriptors, memory
while read -r pid fd1 rss1; do
	read -r _ fd2 rss2 < <(grep "^$pid " "$T/snap2")
	tap_is "$fd2" "$fd1" "process $pid: as many descriptors after 10,000 messages as after 1,000 ($fd1)"
	if [ "$ASAN" = yes ]; then
		tap_skip "process $pid: resident memory ($rss1 -> $rss2 KB)" \
			"an ASan build: its quarantine keeps freed memory (leaks: LeakSanitizer at exit)"
	else
		tap_status "$([ $((rss2 - rss1)) -le "$RSS_MAX" ]; echo $?)" \
			"process $pid: resident memory $rss1 -> $rss2 KB (at most +$RSS_MAX)"
	fi
done < "$T/snap1"
stop_pid "$DPID"
stop_pid "$PEER_PID"
"$PY" "$FACTS" "$T/peer/transcript.jsonl" > "$T/facts"
tap_is "$(sed -n 's/^delivered=//p' "$T/facts")" 10000 "the server accepted 10,000 messages"
conns=$(sed -n 's/^conns=//p' "$T/facts")
tap_status "$([ "$conns" -ge 40 ] && [ "$conns" -le 100 ]; echo $?)" \
	"$conns connections (250 messages each at most, and those the idle limit closed)"
tap_done
