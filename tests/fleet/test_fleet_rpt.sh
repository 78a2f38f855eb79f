#!/bin/bash
# tests/fleet/test_fleet_rpt.sh - TLS-RPT for a fleet (tests/fleet/fleet.sh):
# hosts A, B (tlsrelay) and C (tlsrelayd) make 200 deliveries each, at the
# same time, to d1..d3.test; the fleet's report counts exactly 600 sessions
# (each host's own store only its 200); then the reports are mailed: A
# starts and is killed while the receiver holds its first report (no 250),
# B finds that domain's lease held and sends the others, C sends the held
# one once the lease expired, and nothing is sent twice: exactly one report
# per policy domain and day.
# Needs root (port 25 on 127.0.0.180-189), unbound, python3, redis-server.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
SINK_STALL=60
. "$top_srcdir/tests/fleet/fleet.sh"
tap_plan 12

# ---------------------------------------------------------------- 3 x 200
run_host() {	# run_host HOST: 200 deliveries; failures to $T/HOST/fails
	local h=$1 i f=0
	for ((i = 0; i < 200; i++)); do
		deliver "$h" "u$i@d$((i % 3 + 1)).test"
		[ "$RC" = 0 ] || f=$((f + 1))
	done
	echo "$f" > "$T/$h/fails"
}
run_host A & pa=$!
run_host B & pb=$!
run_host C & pc=$!
wait "$pa" "$pb" "$pc"
tap_is "$(cat "$T/A/fails" "$T/B/fails" "$T/C/fails" | tr '\n' ' ')" "0 0 0 " "3 x 200 deliveries, none failed"
tap_is "$(accepted mx)" 600 "600 messages at the MX"

# totals: the JSON reports printed from the fleet's counters
totals() {	# totals CONF: "DOMAIN:SUCCESS:FAILURE ..." of today's reports
	timeout 60 "$STS" -c "$1" report --day "$DAY" 2>&1 | "$PY" -c '
import json, sys
out = []
for line in sys.stdin:
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    s = sum(p["summary"]["total-successful-session-count"] for p in r["policies"])
    f = sum(p["summary"]["total-failure-session-count"] for p in r["policies"])
    out.append("%s:%d:%d" % (r["policies"][0]["policy"]["policy-domain"], s, f))
print(" ".join(sorted(out)))'
}
for h in A B C; do grep -v '^shared_store' "$(conf "$h")" > "$T/$h/alone.conf"; done
sum() {	# sum "D:S:F ..." ...: the per-domain sums of several hosts' totals
	printf '%s\n' "$@" | tr ' ' '\n' | awk -F: 'NF == 3 { s[$1] += $2; f[$1] += $3 }
		END { for (d in s) print d ":" s[d] ":" f[d] }' | sort | tr '\n' ' ' | sed 's/ $//'
}
ta=$(totals "$T/A/alone.conf") tb=$(totals "$T/B/alone.conf") tc=$(totals "$T/C/alone.conf")
fleet=$(totals "$(conf B)")
tap_is "$fleet" "$(sum "$ta" "$tb" "$tc")" "the fleet's report: exactly the sum of the three hosts' counts"
tap_is "$(sum "$ta" | awk -v RS=' ' -F: '{ n += $2 + $3 } END { print n }')" 200 \
	"A's own store: its 200 sessions (C's reused connections are no new sessions)"

# ---------------------------------------------------------------- one report
send_reports() {	# send_reports HOST: tlsrelay-sts report --send; OUT, RC
	OUT=$(timeout -k 5 120 "$STS" -c "$(conf "$1")" report --send --day "$DAY" \
		--submitter fleet.test --from tlsrpt@fleet.test 2>&1)
	RC=$?
}
start_bg sts-A "$STS" -c "$(conf A)" report --send --day "$DAY" --submitter fleet.test \
	--from tlsrpt@fleet.test
apid=$BG_PID
wait_until 30 test -e "$T/rpt/stalled" || tap_bail "A's first report never reached the receiver"
kill -KILL "$apid"
stop_pid "$apid"
tap_is "$(accepted rpt)" 0 "A killed while sending: no report accepted"
send_reports B
tap_like "$OUT" "d1\.test: report being sent by .* pid $apid " "B: d1.test's lease is A's: skipped"
tap_is "$(accepted rpt)" 2 "B sent the two other reports"
sleep 6    # A's lease (shared_store_lease = 5s) expires
send_reports C
tap_like "$OUT" "d1\.test: report sent to <tlsrpt@rpt\.test>" "C sent d1.test's report after the lease expired"
tap_like "$OUT" "d2\.test: report already sent for the fleet" "C: d2.test's was already sent"
send_reports B
tap_unlike "$OUT" "report sent to" "B again: nothing sent twice"
doms=$(grep -h '^TLS-Report-Domain:' "$T"/rpt/*.eml | tr -d '\r' | sort | tr '\n' ' ')
tap_is "$doms" "TLS-Report-Domain: d1.test TLS-Report-Domain: d2.test TLS-Report-Domain: d3.test " \
	"exactly one report per policy domain"
tap_is "$(rcli EXISTS "tlsrelay:rptlease:{$DAY:d1.test}")" 0 "no lease left behind"
tap_done
