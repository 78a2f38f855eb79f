#!/bin/bash
# tests/fleet/test_fleet_show.sh - the fleet store's cost in round trips and
# `tlsrelay-sts show` with a shared store (tests/fleet/fleet.sh).
#   Round trips, counted by redis-server itself (INFO stats:
#   total_writes_processed is one reply flight per client per event loop,
#   total_connections_received): a delivery of host A (tlsrelay, one process
#   per delivery) with a cached policy costs one connection and two flights
#   (AUTH+SELECT+HMGET, then every write of the delivery together); host C
#   (tlsrelayd) keeps its connection across deliveries: two flights each,
#   no new connection after the first; a kept connection Redis closed is
#   replaced without an outage.
#   show: the fleet's copy with who fetched it and when, which copy a
#   delivery uses and why (shared newer, local newer, the same fetch, only
#   one of them), Redis down (a problem line, the local copy still shown),
#   and without shared_store the local copy alone as before; refresh
#   publishes what it fetches; a wrong password (AUTH sent with the first
#   command) is said and the delivery goes on.
# Needs root (port 25 on 127.0.0.180-189), unbound, python3, redis-server.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/fleet/fleet.sh"
tap_plan 28

# snap: "WRITES CONNECTIONS" of INFO stats (one redis-cli call)
snap() {
	rcli INFO stats | tr -d '\r' |
		awk -F: '$1 == "total_writes_processed" { w = $2 } $1 == "total_connections_received" { c = $2 }
			END { print w, c }'
}
# What one snap adds (its AUTH's reply, the INFO reply before it, its
# connection): measured, not assumed.
read -r w1 c1 <<< "$(snap)"; read -r w2 c2 <<< "$(snap)"
RCLI_W=$((w2 - w1)) RCLI_C=$((c2 - c1))
# trips HOST RCPT: FLIGHTS and CONNS of one delivery (RC, LOG as deliver)
trips() {
	local w0 c0 w c
	read -r w0 c0 <<< "$(snap)"
	deliver "$1" "$2"
	read -r w c <<< "$(snap)"
	FLIGHTS=$((w - w0 - RCLI_W)) CONNS=$((c - c0 - RCLI_C))
}

# ---------------------------------------------------------------- round trips
deliver A user@d1.test                  # A fetches d1.test's policy
tap_is "$RC" 0 "A: delivered (policy fetched)"
trips A user@d1.test
tap_is "$RC" 0 "A: delivered with the cached policy"
tap_is "$CONNS $FLIGHTS" "1 2" "A (one process per delivery): 1 connection, 2 round trips"
trips C user@d1.test
tap_is "$RC" 0 "C: first delivery through tlsrelayd"
tap_is "$CONNS $FLIGHTS" "1 2" "C: the delivery process connects once, 2 round trips"
ok=0
for i in 1 2 3; do
	trips C "user$i@d1.test"
	[ "$RC $CONNS $FLIGHTS" = "0 0 2" ] && ok=$((ok + 1))
done
tap_is "$ok" 3 "C: 3 more deliveries, each 2 round trips on the kept connection"
rcli CLIENT KILL TYPE normal > /dev/null     # Redis closes the idle connection
trips C user4@d1.test
tap_is "$RC $CONNS $FLIGHTS" "0 1 2" "C: a connection Redis closed is replaced before use"
tap_unlike "$LOG" "shared store unavailable" "C: a closed idle connection is no outage"
tap_like "$(rcli HGET tlsrelay:sts:d1.test by)" "^host-A\.test$" \
	"the shared policy says which host published it"

# ---------------------------------------------------------------- show
STS_OUT=; STS_ERR=; STS_RC=
show() {	# show HOST ARGS...: STS_OUT, STS_ERR, STS_RC of tlsrelay-sts show
	local h=$1; shift
	STS_OUT=$(timeout 30 "$STS" -c "$(conf "$h")" "$@" 2> "$T/show.err"); STS_RC=$?
	STS_ERR=$(cat "$T/show.err")
}
show B show d1.test
tap_is "$STS_RC" 0 "B without a copy of its own: show succeeds"
tap_like "$STS_OUT" "^d1\.test: mode enforce, id d11, expires .* \(shared store, fetched [0-9T:-]+Z by host-A\.test\), mx mx\.example\.test$" \
	"B: the fleet's copy, fetched by host A, with its time"
tap_like "$STS_OUT" "^d1\.test: deliveries use the shared store's copy \(this host has none\)$" \
	"B: deliveries use the fleet's copy: B has none"
show A show d1.test
tap_like "$STS_OUT" "^d1\.test: deliveries use this host's copy \(the same fetch as the shared one\)$" \
	"A: its own fetch is the fleet's"
tap_is "$(printf '%s\n' "$STS_OUT" | grep -c '^d1\.test: mode ')" 2 "A: both copies shown"

future=$(( $(date +%s) + 1000 ))
rcli HSET tlsrelay:sts:d1.test id d1new fetched "$future" by host-Z.test > /dev/null
show A show d1.test
tap_like "$(printf '%s\n' "$STS_OUT" | head -n 1)" "^d1\.test: mode enforce, id d1new, .*\(shared store, fetched .* by host-Z\.test\)" \
	"A: a newer shared copy comes first"
tap_like "$STS_OUT" "^d1\.test: deliveries use the shared store's copy \(fetched later than this host's\)$" \
	"A: deliveries use the newer shared copy"
tap_like "$STS_OUT" "^d1\.test: mode enforce, id d11, .*\(cached, fetched " "A: its older local copy is shown too"

rcli HSET tlsrelay:sts:d1.test fetched 1000 > /dev/null
show A show d1.test
tap_like "$(printf '%s\n' "$STS_OUT" | head -n 1)" "^d1\.test: mode enforce, id d11, .*\(cached, fetched " \
	"A: a newer local copy comes first"
tap_like "$STS_OUT" "^d1\.test: deliveries use this host's copy \(fetched later than the shared one, which the next delivery replaces\)$" \
	"A: deliveries use the newer local copy"

show B show nowhere.test
tap_is "$STS_RC" 1 "a domain in neither store: exit 1"
tap_like "$STS_OUT" "^nowhere\.test: not cached, not in the shared store$" "a domain in neither store: said"

show A -o shared_store= show d1.test
tap_is "$(printf '%s\n' "$STS_OUT" | grep -cE '^d1\.test: mode enforce, id d11, expires [0-9T:-]+Z \(cached\), mx mx\.example\.test$') $(printf '%s\n' "$STS_OUT" | wc -l)" \
	"1 1" "without shared_store: the local copy alone, as before"

rcli DEL tlsrelay:sts:d2.test > /dev/null
timeout 60 "$STS" -c "$(conf A)" refresh d2.test > /dev/null 2>&1
tap_is "$(rcli HGET tlsrelay:sts:d2.test by)" host-A.test \
	"tlsrelay-sts refresh publishes what it fetched (its queued write sent at exit)"

# AUTH rides with the first command: a refusal is still this call's
# failure, said and survived.
printf 'not-the-password\n' > "$T/A/bad-pw"; chmod 0600 "$T/A/bad-pw"
deliver A user@d1.test -o "shared_store_password_file=$T/A/bad-pw"
tap_is "$RC" 0 "a wrong Redis password: delivered with the local stores"
tap_like "$LOG" "shared store unavailable: redis 127\.0\.0\.1:$RP: AUTH refused: WRONGPASS" \
	"a wrong Redis password: AUTH's refusal is logged"

redis_stop
show A show d1.test
tap_is "$STS_RC" 1 "Redis down: show says a problem"
tap_like "$STS_ERR" "shared store redis://127\.0\.0\.1:$RP/0 unavailable: d1\.test's fleet copy cannot be read" \
	"Redis down: the problem line names the store"
tap_like "$STS_OUT" "^d1\.test: deliveries use this host's copy \(the fleet has none that could be read\)$" \
	"Redis down: the local copy is still shown and used"
tap_done
