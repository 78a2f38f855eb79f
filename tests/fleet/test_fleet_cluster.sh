#!/bin/bash
# tests/fleet/test_fleet_cluster.sh - the fleet store on a REAL Redis
# Cluster (tests/fleet/fleet.sh with FLEET_CLUSTER=1: three primaries, a
# password on every node; shared_store names the first node only):
#   - MTA-STS policies, TLS history and TLS-RPT counters written by A and
#     read by B (whose own fetches are blocked) and by tlsrelay-report,
#     with the keys on different nodes (asked of each node; the slots of
#     d2's and d3's policies are moved to the second and third node, so B
#     reads them from nodes that are not its shared_store);
#   - the TLS-RPT lease: its two keys in one slot ({DAY:DOMAIN}), one
#     report per domain for the fleet; a "sent" marker under the old name
#     (before the hash tags) is still honoured;
#   - a slot moved (CLUSTER SETSLOT, MIGRATE) after tlsrelayd (host C)
#     learned where it was: the MOVED is followed, the write lands;
#   - a slot being migrated (MIGRATING/IMPORTING, the key already moved):
#     the ASK is followed (ASKING first), the write lands;
#   - redirection bounds: a fake node sending every command to itself, and
#     two sending each other: exactly 1 + 3 tries per command, then the
#     store is "unavailable" and the mail is delivered; the redirected node
#     gets AUTH; with a TLS seed (fake, tests/certs/server.pem) the node it
#     names gets TLS, and a redirection to a plaintext port is tried with
#     TLS only (fails: an outage, the mail is delivered);
#   - a dead node: the store is unavailable, the delivery is not affected.
# Needs root (port 25 on 127.0.0.180-189), unbound, python3, redis-server 7.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
FLEET_CLUSTER=1
. "$top_srcdir/tests/fleet/fleet.sh"
tap_plan 28

slot_of() { ncli "$RP" CLUSTER KEYSLOT "$1" | tr -d '\r'; }
node_of() {	# node_of KEY: the port of every node that holds KEY
	local p
	for p in "$CP1" "$CP2" "$CP3"; do
		[ "$(ncli "$p" EXISTS "$1" 2>/dev/null | tr -d '\r')" = 1 ] && echo "$p"
	done
}
owner() {	# owner SLOT: the port of the node serving SLOT
	ncli "$RP" CLUSTER NODES | tr -d '\r' | awk -v s="$1" '{
		split($2, a, "[:@]")
		for (i = 9; i <= NF; i++) { n = split($i, r, "-"); if (n == 2 && s >= r[1] && s <= r[2]) print a[2]; if (n == 1 && $i == s) print a[2] } }'
}
myid() { ncli "$1" CLUSTER MYID | tr -d '\r'; }
hsum() { rcli HVALS "$1" | awk '{ s += $1 } END { print s + 0 }'; }
other() {	# other PORT: another primary
	local p
	for p in "$CP1" "$CP2" "$CP3"; do [ "$p" != "$1" ] && { echo "$p"; return; }; done
}
migrate_begin() {	# migrate_begin KEY DST: KEY's slot MIGRATING to DST, KEY moved
	local s src
	s=$(slot_of "$1") src=$(owner "$s")
	ncli "$2" CLUSTER SETSLOT "$s" IMPORTING "$(myid "$src")" > /dev/null &&
	ncli "$src" CLUSTER SETSLOT "$s" MIGRATING "$(myid "$2")" > /dev/null || return 1
	ncli "$src" CLUSTER GETKEYSINSLOT "$s" 100 | tr -d '\r' | while read -r k; do
		ncli "$src" MIGRATE 127.0.0.1 "$2" "$k" 0 5000 AUTH "$(cat "$T/redis/pw")" > /dev/null
	done
}
move_slot() {	# move_slot KEY DST: KEY's slot and its keys to DST (if not there)
	[ "$(owner "$(slot_of "$1")")" = "$2" ] && return 0
	migrate_begin "$1" "$2" && migrate_end "$1" "$2"
}
migrate_end() {	# migrate_end KEY DST: the slot is DST's on every node
	local s p
	s=$(slot_of "$1")
	for p in "$CP1" "$CP2" "$CP3"; do
		ncli "$p" CLUSTER SETSLOT "$s" NODE "$(myid "$2")" > /dev/null
	done
}
no_outage() { ! grep -Eq "shared store (still )?unavailable" <<< "$LOG"; }

# ---------------------------------------------------------------- sharing
rcs= shared=
for d in d1 d2 d3; do
	deliver A "user@$d.test"
	rcs="$rcs$RC "
	no_outage || tap_diag "A $d: $LOG"
done
tap_is "$rcs" "0 0 0 " "A: delivered to d1, d2, d3"
ids=$(for d in d1 d2 d3; do rcli HGET "tlsrelay:sts:$d.test" id; done | tr -d '\r' | tr '\n' ' ')
tap_is "$ids" "d11 d21 d31 " "A's three policies are in the cluster"
# d2's policy to the second node, d3's to the third (the seed is the first)
move_slot tlsrelay:sts:d2.test "$CP2" && move_slot tlsrelay:sts:d3.test "$CP3" ||
	tap_diag "cannot move the policies' slots"
held=$(for d in d1 d2 d3; do node_of "tlsrelay:sts:$d.test"; done | sort -u | wc -l)
tap_ok "$([ "$held" -ge 2 ] && echo 1 || echo 0)" "the policies live on $held nodes (asked of each node)"
rcs=
for d in d1 d2 d3; do
	deliver B "user@$d.test"
	rcs="$rcs$RC "
	grep -q "MTA-STS policy of $d\.test: mode enforce, id ${d}1 (shared store)" <<< "$LOG" &&
		shared="$shared$d "
done
tap_is "$rcs" "0 0 0 " "B: delivered to d1, d2, d3"
tap_is "$shared" "d1 d2 d3 " "B (fetch blocked) enforced the fleet's three policies, read from their nodes"
tap_is "$(fetches d1)$(fetches d2)$(fetches d3)" 111 "one fetch per domain in all"
tap_unlike "$(cat "$T/A/last.out" "$T/B/last.out")" "shared store unavailable" "no outage on A or B"
out=$(timeout 30 "$REPORT" -c "$(conf A)" summary 2>&1)
tap_like "$out" "d1\.test.* 2 " "history: the fleet's report counts A's and B's messages to d1.test"
rpt_nodes=$(for d in d1 d2 d3; do node_of "tlsrelay:rpt:$DAY:$d.test"; done; node_of "tlsrelay:rpt:$DAY";
	node_of "tlsrelay:hist:$DAY")
tap_ok "$([ "$(sort -u <<< "$rpt_nodes" | wc -l)" -ge 2 ] && echo 1 || echo 0)" \
	"TLS-RPT and history keys on several nodes: $(tr '\n' ' ' <<< "$rpt_nodes")"

# ---------------------------------------------------------------- the lease
# d3's report was sent by a host of before the hash tags (its marker has
# the old name): still honoured until it ages out
rcli SET "tlsrelay:rptsent:$DAY:d3.test" "old-host 1" > /dev/null
OUT=$(timeout -k 5 120 "$STS" -c "$(conf A)" report --send --day "$DAY" --submitter fleet.test \
	--from tlsrpt@fleet.test 2>&1)
tap_is "$(grep -c "report sent to" <<< "$OUT")" 2 "A sent d1's and d2's reports (lease taken on the cluster)"
tap_like "$OUT" "d3\.test: report already sent for the fleet.*old-host" \
	"A: d3's report was sent before the upgrade (the old marker is read)"
OUT=$(timeout -k 5 120 "$STS" -c "$(conf B)" report --send --day "$DAY" --submitter fleet.test \
	--from tlsrpt@fleet.test 2>&1)
tap_like "$OUT" "d1\.test: report already sent for the fleet" "B: already sent (the sent marker read from its node)"
tap_is "$(slot_of "tlsrelay:rptlease:{$DAY:d1.test}") $(rcli EXISTS "tlsrelay:rptsent:{$DAY:d1.test}")" \
	"$(slot_of "tlsrelay:rptsent:{$DAY:d1.test}") 1" "the lease and sent keys share a slot; the marker is set"

# ---------------------------------------------------------------- MOVED
deliver C user@d1.test          # tlsrelayd learns where the day's history is
key=tlsrelay:hist:$DAY
before=$(hsum "$key")
src=$(owner "$(slot_of "$key")") dst=$(other "$(owner "$(slot_of "$key")")")
migrate_begin "$key" "$dst" && migrate_end "$key" "$dst" || tap_diag "cannot move $key's slot"
tap_is "$(node_of "$key")" "$dst" "the day's history moved from node $src to node $dst"
deliver C user@d1.test
tap_is "$RC" 0 "C: delivered after the move"
tap_ok "$(no_outage && echo 1 || echo 0)" "C: no outage (the MOVED was followed)" "$LOG"
after=$(hsum "$key")
tap_ok "$([ "$after" -gt "$before" ] && echo 1 || echo 0)" "C's delivery is in the history on the new node ($before -> $after)"

# ---------------------------------------------------------------- ASK
key=tlsrelay:rpt:$DAY:d2.test
before=$(hsum "$key")
dst=$(other "$(owner "$(slot_of "$key")")")
migrate_begin "$key" "$dst" || tap_diag "cannot start migrating $key"
deliver A user@d2.test
tap_is "$RC" 0 "A: delivered during the migration"
tap_ok "$(no_outage && echo 1 || echo 0)" "A: no outage (the ASK was followed)" "$LOG"
migrate_end "$key" "$dst"
tap_is "$(hsum "$key")" "$((before + 1))" "A's session was counted on the importing node"

# ---------------------------------------------------------------- bounds
F1=$(free_port) && F2=$(free_port) && F3=$(free_port) || tap_bail "no free port"
F4=$(free_port) && F5=$(free_port) || tap_bail "no free port"
start_bg fake "$PY" "$top_srcdir/tests/fleet/redirect_node.py" --port "$F1:$F1" \
	--port "$F2:$F3" --port "$F3:$F2" --tls-port "$F4:$F5" --tls-port "$F5:$F1" \
	--cert "$CERTS/server.pem" --key "$CERTS/server.key" --log "$T/fake.log" --pidfile "$T/fake.pid"
wait_until 10 test -s "$T/fake.pid" || tap_bail "the fake node did not start"
touch "$T/fake.log"
deliver A user@d3.test -o "shared_store=redis://127.0.0.1:$F1/0"
tap_is "$RC $(grep -c "HMGET" "$T/fake.log")" "0 4" \
	"a node redirecting to itself: the policy read tried 1 + 3 times, then delivered"
tap_like "$LOG" "shared store unavailable: .*MOVED 4242" "the last MOVED is the outage's reason"
: > "$T/fake.log"
deliver A user@d3.test -o "shared_store=redis://127.0.0.1:$F2/0"
tap_is "$RC $(grep -c "HMGET" "$T/fake.log") $(cut -d' ' -f1 "$T/fake.log" | sort -u | wc -l)" "0 4 2" \
	"two nodes redirecting to each other: 1 + 3 tries over both, then delivered"
tap_is "$(grep -c "^$F3 AUTH" "$T/fake.log")" 1 "the redirected node got the seed's AUTH (password file)"
# TLS seed: the node it names is reached by TLS too ($F5, verified), and
# one it sends on to a plaintext port ($F1) is never spoken to in clear
: > "$T/fake.log"
deliver A user@d3.test -o "shared_store=rediss://127.0.0.1:$F4/0" -o "shared_store_ca_file=$CERTS/ca.pem"
# (named before sorting: the two ports are random, so their order is too)
tap_is "$RC $(cut -d' ' -f1,2 "$T/fake.log" | awk '{ print ($1 == F4 ? "seed" : $1 == F5 ? "tls" : $1) ":" $2 }' F4="$F4" F5="$F5" | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" \
	"0 seed:AUTH:1 seed:HMGET:1 tls:AUTH:1 tls:HMGET:1 " \
	"TLS seed: the redirected node got TLS, AUTH and the command; nothing to the plaintext node"
tap_like "$LOG" "shared store (still )?unavailable: redis 127\.0\.0\.1 \(TLS\):$F1: TLS handshake failed" \
	"... whose address was tried with TLS only (handshake failed: an outage, mail delivered)"

# ---------------------------------------------------------------- dead node
n=$(accepted mx)
dead=$(owner "$(slot_of tlsrelay:sts:d3.test)")
stop_pid "${CPID[$dead]}"
deliver A user@d3.test
tap_is "$RC $(accepted mx)" "0 $((n + 1))" "node $dead (d3's policy) dead: the mail is delivered"
tap_like "$LOG" "shared store (still )?unavailable: .*$dead" "... and the store is said unavailable (that node named)"
tap_done
