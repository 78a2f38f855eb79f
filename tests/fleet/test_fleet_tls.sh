#!/bin/bash
# tests/fleet/test_fleet_tls.sh - shared_store = rediss:// (TLS to Redis;
# tests/fleet/fleet.sh): a second redis-server speaking only TLS
# (--port 0 --tls-port, tests/certs/server.pem: SAN IP 127.0.0.1 and
# DNS localhost, issued by tests/certs/ca.pem; the same password). Host A
# fetches a policy and publishes it through TLS; host B enforces it from
# there without fetching; B with shared_store_ca_file of another CA fails
# closed to its local store (the handshake refused, logged once, counted,
# the delivery succeeds, nothing sent to Redis); and tlsrelay -t says so.
# Needs root (port 25 on 127.0.0.180-189), unbound, python3, redis-server
# built with TLS (Debian's is).

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/fleet/fleet.sh"
tap_plan 12

TP=$(free_port) || tap_bail "no free port"
mkdir -p "$T/redis-tls"
start_bg redis-tls redis-server --port 0 --tls-port "$TP" --bind 127.0.0.1 --save '' \
	--appendonly no --dir "$T/redis-tls" --daemonize no --requirepass "$(cat "$T/redis/pw")" \
	--tls-cert-file "$CERTS/server.pem" --tls-key-file "$CERTS/server.key" \
	--tls-ca-cert-file "$CERTS/ca.pem" --tls-auth-clients no
TLS_PID=$BG_PID
trcli() {
	REDISCLI_AUTH=$(cat "$T/redis/pw") timeout 5 redis-cli --tls --cacert "$CERTS/ca.pem" \
		-h 127.0.0.1 -p "$TP" --no-auth-warning "$@"
}
if ! wait_until 10 trcli PING > /dev/null 2>&1; then
	grep -qi "tls" "$T/redis-tls.out" &&
		tap_skip_all "redis-server has no TLS support: $(head -c 300 "$T/redis-tls.out")"
	tap_bail "TLS redis-server did not start: $(cat "$T/redis-tls.out")"
fi
TLS_URL=rediss://127.0.0.1:$TP/0

# ---------------------------------------------------------------- sharing
deliver A user@d1.test -o "shared_store=$TLS_URL" -o "shared_store_ca_file=$CERTS/ca.pem"
tap_is "$RC" 0 "A through TLS Redis: delivered"
tap_is "$(trcli HGET tlsrelay:sts:d1.test id)" d11 "A: the policy is in the TLS Redis"
tap_is "$(rcli EXISTS tlsrelay:sts:d1.test)" 0 "(and not in the plaintext Redis)"
deliver B user@d1.test -o "shared_store=$TLS_URL" -o "shared_store_ca_file=$CERTS/ca.pem"
tap_is "$RC" 0 "B through TLS Redis: delivered"
tap_like "$LOG" "MTA-STS policy of d1\.test: mode enforce, id d11 \(shared store\)" \
	"B: enforces the fleet's policy read through TLS"
tap_is "$(fetches d1)" 1 "B did not fetch"
tap_like "$(trcli HKEYS tlsrelay:hist:"$DAY" | cut -c1 | sort -u | tr -d '\n')" "^am" \
	"the history's writes went through TLS too"

# ---------------------------------------------------------------- wrong CA
keys=$(trcli DBSIZE)
deliver B user@d2.test -o "shared_store=$TLS_URL" -o "shared_store_ca_file=$CERTS/other-ca.pem"
tap_is "$RC" 0 "B with a CA that did not issue Redis's certificate: delivered (local stores)"
tap_like "$LOG" "shared store unavailable: redis 127\.0\.0\.1 \(TLS\):$TP: TLS handshake failed" \
	"B: the refused handshake is logged"
tap_is "$(trcli DBSIZE)" "$keys" "B: nothing reached the Redis it could not verify"
grep -v '^shared_store' "$(conf B)" > "$T/B/alone.conf"
m=$(timeout 30 "$REPORT" -c "$T/B/alone.conf" metrics 2>&1)
tap_like "$m" "^tlsrelay_shared_store_failures_total [1-9]" "B: the failure is counted"
out=$("$TLSRELAY" -c "$(conf B)" -o "shared_store=$TLS_URL" \
	-o "shared_store_ca_file=$CERTS/other-ca.pem" -t 2>&1)
tap_like "$out" "warning: shared store cannot be reached now: .*TLS handshake failed" \
	"-t: the wrong CA is said"
stop_pid "$TLS_PID"
tap_done
