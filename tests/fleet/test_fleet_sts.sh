#!/bin/bash
# tests/fleet/test_fleet_sts.sh - three hosts and one Redis (tests/fleet/fleet.sh):
# MTA-STS policies shared (A fetches, B and C enforce without fetching; B's
# blocked fetch cannot downgrade B, where a host alone is downgraded; an
# older copy never overwrites a newer one), the TLS history of A, B and C in
# one report, tlsrelay -t's checks, and Redis failing mid-run (stopped,
# frozen): every delivery still succeeds, the outage is logged once and
# counted in the metrics; Redis back: sharing resumes and is logged.
# Needs root (port 25 on 127.0.0.180-189), unbound, python3, redis-server.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/fleet/fleet.sh"
tap_plan 29

# ---------------------------------------------------------------- sharing
deliver A user@d1.test
tap_is "$RC" 0 "A: delivered to d1.test"
tap_like "$LOG" "MTA-STS policy of d1\.test fetched: id d11, mode enforce" "A: fetched the policy"
tap_is "$(rcli HGET tlsrelay:sts:d1.test id)" d11 "A: the policy is in Redis with its id"
deliver B user@d1.test
tap_is "$RC" 0 "B: delivered to d1.test"
tap_like "$LOG" "MTA-STS policy of d1\.test: mode enforce, id d11 \(shared store\)" \
	"B: enforces the fleet's policy"
deliver C user@d1.test
tap_is "$RC" 0 "C (tlsrelayd): delivered to d1.test"
tap_like "$LOG" "MTA-STS policy of d1\.test: mode enforce, id d11 \(shared store\)" \
	"C: enforces the fleet's policy"
tap_is "$(fetches d1)" 1 "B and C did not fetch: one fetch in all"
tap_is "$(accepted mx)" 3 "three messages at the MX"

# ---------------------------------------------------------------- no downgrade
deliver A user@trap.test
tap_is "$RC" 75 "A: trap.test's enforce policy names no MX: deferred"
n=$(accepted mx)
deliver B user@trap.test
tap_is "$RC" 75 "B (fetch blocked): still deferred under the fleet's policy"
tap_is "$(accepted mx)" "$n" "B: no message went to the MX the policy does not name"
mkdir -p "$T/alone/spool"
deliver B user@trap.test -o shared_store= -o "mta_sts_cache=$T/alone/sts.db" \
	-o "tls_history=$T/alone/h.db" -o "spool_directory=$T/alone/spool"
tap_is "$RC" 0 "control: B alone with its fetch blocked is downgraded (delivered)"
deliver B user@trap.test -o shared_store=
tap_is "$RC" 75 "B's own cache kept the fleet's copy (enforced without Redis)"

# An older copy never overwrites a newer one: the shared copy of d2 was
# fetched "later" (by another host, clock ahead); A's fetch is older.
future=$(( $(date +%s) + 1000 ))
rcli HSET tlsrelay:sts:d2.test id d2new fetched "$future" expires "$((future + 86400))" \
	policy "$(printf 'version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 86400')" > /dev/null
deliver A user@d2.test
tap_is "$(rcli HGET tlsrelay:sts:d2.test id)" d2new "an older fetch does not overwrite a newer shared policy"

# ---------------------------------------------------------------- history
deliver C user@d1.test
out=$(timeout 30 "$REPORT" -c "$(conf A)" summary 2>&1)
tap_like "$out" "d1\.test.* 4 " "one report: d1.test's 4 messages from A, B and C"
grep -v '^shared_store' "$(conf A)" > "$T/A/alone.conf"
out=$(timeout 30 "$REPORT" -c "$T/A/alone.conf" summary 2>&1)
tap_like "$out" "d1\.test.* 1 " "A's own history holds only its message"

# ---------------------------------------------------------------- tlsrelay -t
out=$("$TLSRELAY" -c "$(conf A)" -t 2>&1); rc=$?
tap_is "$rc" 0 "-t: the fleet's settings pass"
chmod 0644 "$T/A/redis-pw"
out=$("$TLSRELAY" -c "$(conf A)" -t 2>&1); rc=$?
chmod 0600 "$T/A/redis-pw"
tap_like "$rc $out" "^[1-9][0-9]* .*shared_store_password_file .*group or others" "-t: a readable password file is a problem"
out=$("$TLSRELAY" -c "$(conf A)" -o 'shared_store=redis://:pw@127.0.0.1/0' -t 2>&1)
tap_like "$out" "no user or password in the URL" "-t: no password in the URL"
tap_unlike "$(cat "$T"/*/last.out "$T/tlsrelayd.out")" "$(cat "$T/redis/pw")" "the password is in no log"

# ---------------------------------------------------------------- outage
redis_stop
fails=0
for i in 1 2 3; do
	for h in A B C; do
		deliver "$h" user@d3.test
		[ "$RC" = 0 ] || fails=$((fails + 1))
		cat "$T/$h/last.out" >> "$T/$h/outage.log"
	done
done
tap_is "$fails" 0 "Redis stopped: all 9 deliveries succeeded"
tap_is "$(cat "$T/A/outage.log" | grep -c 'shared store unavailable')" 1 "A: the outage logged once"
m=$(timeout 30 "$REPORT" -c "$T/A/alone.conf" metrics 2>&1)
tap_like "$m" "^tlsrelay_shared_store_failures_total [1-9]" "A: the outage is counted"
tap_like "$m" "^tlsrelay_shared_store_dropped_total [1-9]" "A: dropped writes are counted"
redis_start || tap_bail "redis-server did not restart"
deliver A user@d3.test
tap_like "$LOG" "shared store .* available again: sharing resumes" "Redis back: A says sharing resumes"
deliver B user@d3.test
tap_like "$LOG" "MTA-STS policy of d3\.test: mode enforce, id d31 \(shared store\)" \
	"Redis back: A's new fetch reaches B"
kill -STOP "$REDIS_PID"
deliver A user@d3.test
kill -CONT "$REDIS_PID"
tap_is "$RC" 0 "Redis frozen (no reply): delivered"
tap_like "$LOG" "shared store unavailable: .*no reply in time" "Redis frozen: the timeout is said"
tap_done
