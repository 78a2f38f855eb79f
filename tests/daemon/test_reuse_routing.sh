#!/bin/bash
# tests/daemon/test_reuse_routing.sh - tlsrelayd routes each request to the
# delivery process whose idle connection serves its nexthop (issue 16;
# plugin/daemon/route.c, pool.c). Without a relay host, two recipient
# domains (tests/daemon/reuse.zone, served by a private unbound: MX hosts
# on 127.0.0.51:25 and 127.0.0.52:25, each a tests/peer/peer.py) and a
# daemon with -n 2: messages alternate between the two domains, and each
# server sees one connection carrying all of its messages (with the
# request given to any idle process, every other message would find the
# other domain's connection and open a new one). Then a third message to
# a domain while both processes are idle: still one connection each.
# Each request carries "-D NOTIFY=SUCCESS" (a recipient's DSN, as the Exim
# module sends it) before the recipient: the routing label skips -D's
# value, as the other options' (read as the first recipient, it would
# give every request the same wrong label).
#
# Needs root (port 25), python3, unbound; skipped without them or when port
# 25 is taken on 127.0.0.51-52. Every wait is bounded, every process stopped
# by its PID.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/dns/unbound.sh"
. "$top_srcdir/tests/dns/mx_peers.sh"

mx_needs 127.0.0.51-52 'ssl, json, threading'
require_cmd timeout ps
mx_port25_free 51 52
make_tmpdir TEST_TMP
T=$TEST_TMP

DAEMON=${TLSRELAYD_BIN:-$top_builddir/plugin/daemon/tlsrelayd}
CLIENT=${TLSRELAYC_BIN:-$top_builddir/plugin/transport/tlsrelayc}
FACTS=$top_srcdir/tests/daemon/conn_facts.py
[ -x "$DAEMON" ] && [ -x "$CLIENT" ] || tap_bail "tlsrelayd or tlsrelayc not built"

mx_unbound "$top_srcdir/tests/daemon/reuse.zone"
printf '{"ehlo_caps": ["PIPELINING", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME", "CHUNKING"]}\n' \
	> "$T/caps.json"
peers route 127.0.0.51:"$T/caps.json" 127.0.0.52:"$T/caps.json"

mkdir -p "$T/spool" "$T/run" && chmod 1777 "$T/spool" && chown nobody "$T/run" || tap_bail "mkdir failed"
cat > "$T/d.conf" <<EOC
tls_security_level = encrypt
dns_resolver = 127.0.0.1:$ub_port
helo_name = client.tlsrelay.test
syslog = no
connect_timeout = 10s
command_timeout = 20s
deadline = 60s
spool_directory = $T/spool
connection_cache_time_limit = 60s
EOC
chmod 0644 "$T/d.conf"
SOCK=$T/run/d.sock
start_bg d "$DAEMON" -v -u nobody -c "$T/d.conf" -s "$SOCK" -n 2
DPID=$BG_PID
wait_until 15 grep -q "ready on $SOCK" "$T/d.out" || tap_bail "tlsrelayd not ready: $(cat "$T/d.out")"

# send NAME DOMAIN: one message to user@DOMAIN through the daemon
send() {
	printf 'Subject: %s\nMessage-ID: <%s.%s@sender.test>\n\nbody %s\n' "$1" "$1" "$$" "$1" > "$T/$1.eml"
	timeout -k 5 60 "$CLIENT" -S "$SOCK" -v -c "$T/d.conf" -f sender@sender.test -D NOTIFY=SUCCESS -- "user@$2" \
		< "$T/$1.eml" > "$T/$1.out" 2> "$T/$1.err"
	RC=$?
	tap_status "$([ "$RC" = 0 ] && [ ! -s "$T/$1.out" ]; echo $?)" "$1 to $2: exit 0" \
		"exit $RC: $(cat "$T/$1.out"); $(tail -n 8 "$T/$1.err")"
}
ROUNDS=(1 2 3 4)
ADDRS=(127.0.0.51 127.0.0.52)
# a round 2 (a, b); conn_use 2, -n 2; an address 2
tap_plan $((2 * ${#ROUNDS[@]} + 3 + 2 * ${#ADDRS[@]}))
for n in "${ROUNDS[@]}"; do
	send "a$n" a.reuse.test
	send "b$n" b.reuse.test
done
tap_like "$(cat "$T/a4.err")" "to=<user@a\.reuse\.test>, relay=mx\.a\.reuse\.test\[127\.0\.0\.51\]:25, conn_use=4," \
	"a4: the fourth message on a's connection (conn_use=4)"
tap_like "$(cat "$T/b4.err")" "to=<user@b\.reuse\.test>, relay=mx\.b\.reuse\.test\[127\.0\.0\.52\]:25, conn_use=4," \
	"b4: the fourth message on b's connection (conn_use=4)"
tap_is "$(ps -o pid= --ppid "$DPID" | grep -c .)" 2 "two delivery processes (-n 2)"
stop_pid "$DPID"
stop_peers
for a in "${ADDRS[@]}"; do
	"$PY" "$FACTS" "$T/route/$a/transcript.jsonl" > "$T/$a.facts"
	tap_is "$(sed -n 's/^conns=//p' "$T/$a.facts")" 1 "$a: one connection for its four messages"
	tap_is "$(sed -n 's/^c1.mails=//p' "$T/$a.facts")" 4 "$a: four transactions on it"
done
tap_done
