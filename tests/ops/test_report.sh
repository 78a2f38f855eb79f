#!/bin/bash
# tests/ops/test_report.sh - tlsrelay-report summary, explain, suggest and
# metrics over a TLS history made by real deliveries (tests/peer/peer.py),
# some of them on earlier days (faketime: the deliveries run with the clock
# of that day); tlsrelayd's metrics listener.
#
#   good     Verified on 4 days                   -> suggested (verify)
#   young    Verified on 2 days                   -> too few days
#   failing  Verified on 4 days, one 451 to MAIL  -> a failure: not suggested
#   plain    no STARTTLS on 4 days                -> breaks under encrypt
#   wrong    trusted, wrong name, on 4 days       -> breaks under verify
#   mapped   Verified on 4 days, map entry verify -> already enforced
#
#   summary  shares, failures by reason per destination
#   explain  the source of each input: tls_security_level, a map line, a
#            message's X-TLSRelay-Require, an MTA-STS policy id (from the
#            cache); -q --explain prints the same
#   suggest  only the clean destination, with its evidence; what a global
#            raise to encrypt / verify would break
#   metrics  the counters equal the history's attempts; promtool check
#            metrics (Debian's prometheus) and a parser of the text format;
#            tlsrelayd serves them on 127.0.0.1 and on a unix socket
#
# Safety: only 127.0.0.1; every process is stopped by its PID.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"
. "$top_srcdir/tests/ops/ops.sh"

ops_need_faketime
ops_init
# a linear script up to tlsrelayd: the history 1, summary 6, suggest 8,
# explain 10, metrics 7 (promtool or its skip), exit statuses and --help 12
tap_expect $((1 + 6 + 8 + 10 + 7 + 12))

declare -A PORT
for d in good young failing plain wrong mapped; do PORT[$d]=$(free_port); done
printf '[127.0.0.1]:%s verify\n' "${PORT[mapped]}" > "$T/policy"

# deliver DEST SCENARIO DAYS_AGO: one delivery to DEST's server, the clock DAYS_AGO back
deliver() {
	local d=$1 scen=$2 ago=$3
	ops_peer "$d-$ago" "$scen" "${PORT[$d]}"
	ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT" "tls_policy_map = $T/policy"
	ops_faketime "$ago"
	ops_send "$d-$ago"
	OPS_WRAP=()
	# what a delivery said when it failed or lost its history row (a rare
	# short count of "plain" in CI, 2026-12-07: kept for the next look)
	if [ "$RC" != 0 ] || grep -qi 'history' "$DIR/stderr"; then
		tap_diag "deliver $d ($scen, $ago days ago): exit $RC: $OUT"
		tap_diag "$(grep -i 'history\|error\|warning' "$DIR/stderr" | tail -n 5)"
	fi
}

for ago in 3 2 1 0; do
	deliver good good $ago
	deliver plain no_starttls $ago
	deliver wrong pol_wrong_name $ago
	deliver mapped good $ago
	if [ $ago = 1 ]; then deliver failing mail_451 $ago; else deliver failing good $ago; fi
	[ $ago -le 1 ] && deliver young good $ago
done
tap_is "$(sql "SELECT count(DISTINCT substr(datetime(t, 'unixepoch'), 1, 10)) FROM attempt WHERE dest = '$(dest_of "${PORT[good]}")'")" 4 \
	"the history holds 4 days of deliveries (faketime)"

CONF=$T/report.conf
ops_conf "$CONF" 1 "tls_policy_map = $T/policy"
sed -i '/^relayhost/d' "$CONF"
rep() { OUT=$("$REPORT" -c "$CONF" "$@" 2>&1); RC=$?; }
key() { printf '%s' "$(dest_of "${PORT[$1]}")" | sed 's/[].[]/\\&/g'; }

# ---------------------------------------------------------------- summary
rep summary --days 7
tap_is "$RC" 0 "summary: exit 0"
tap_like "$OUT" "^$(key good) +4 +0% +100% +100% +0% +0%  -$" "summary: good: 4 messages, all TLS and verified"
tap_like "$OUT" "^$(key plain) +4 +100% +0% +0% " "summary: plain: 4 messages, all plaintext"
tap_like "$OUT" "^$(key wrong) +4 +0% +100% +0% " "summary: wrong: TLS, never verified"
tap_like "$OUT" "^$(key failing) +4 .* refused-4xx 1$" "summary: failing: the 451 is a refused-4xx"
tap_like "$OUT" "^shadow policy \\(none configured\\)" "summary: no shadow policy"

# ---------------------------------------------------------------- suggest
rep suggest --days 3
tap_is "$RC" 0 "suggest: exit 0"
tap_is "$(printf '%s\n' "$OUT" | grep -v '^#')" "[127.0.0.1]:${PORT[good]} verify" \
	"suggest: one line, for the destination verified on every attempt for 3+ days without failure"
tap_like "$OUT" "^# $(key good): 4 messages on 4 days, all 4 attempts Verified \\(CA and name\\), no failure; now may \\(tls_security_level\\)" \
	"suggest: the line comes with its evidence"
enc=$(printf '%s\n' "$OUT" | sed -n '/tls_security_level = encrypt/,/tls_security_level = verify/p')
ver=$(printf '%s\n' "$OUT" | sed -n '/tls_security_level = verify/,/tls_security_level = dane-only/p')
tap_like "$enc" "^#   $(key plain): 4 of 4 attempts without TLS" "suggest: a raise to encrypt breaks plain"
tap_unlike "$enc" "$(key wrong)" "suggest: ... not wrong (it has TLS)"
tap_like "$ver" "^#   $(key wrong): 4 of 4 attempts not Verified" "suggest: a raise to verify breaks wrong"
rep suggest --days 2
tap_like "$OUT" "^\\[127\\.0\\.0\\.1\\]:${PORT[young]} verify" "suggest --days 2: young qualifies then"
tap_unlike "$OUT" "^\\[127\\.0\\.0\\.1\\]:(${PORT[failing]}|${PORT[mapped]}|${PORT[wrong]}|${PORT[plain]}) " \
	"suggest --days 2: never failing, mapped, wrong or plain"

# ---------------------------------------------------------------- explain
rep explain "[127.0.0.1]:${PORT[good]}"
tap_like "$OUT" "^  level may: tls_security_level$" "explain: the level comes from tls_security_level"
tap_like "$OUT" "^history, 30 days: 4 messages on 4 days: 0% plaintext, 100% TLS, 100% verified" \
	"explain: the history's summary"
tap_like "$OUT" "^  [0-9-]+ [0-9:]+ 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\] verified TLSv1\\.[23] delivered 2\\.0\\.0; level may from tls_security_level$" \
	"explain: the recent attempts"
Q=$("$TLSRELAY" -c "$CONF" -q --explain "[127.0.0.1]:${PORT[good]}" 2>&1)
tap_is "$Q" "$OUT" "tlsrelay -q --explain prints the same"
rep explain "[127.0.0.1]:${PORT[mapped]}"
tap_like "$OUT" "^  level verify: tls_policy_map $T/policy:1 key \\[127\\.0\\.0\\.1\\]:${PORT[mapped]}$" \
	"explain: a map entry is named by file, line and key"
tap_like "$OUT" "^  certificate: a trusted CA and one of the names hostname$" "explain: how the certificate is checked"

# a message's own requirement, as the history recorded it
printf 'Subject: raised\nX-TLSRelay-Require: verify\n\nhello\n' > "$T/msg-req"
MSG=$T/msg-req deliver good good 0
rep explain "[127.0.0.1]:${PORT[good]}"
tap_like "$OUT" "verified \\(ca\\+name 127\\.0\\.0\\.1\\) TLSv1\\.[23] delivered 2\\.0\\.0; level verify from message \\(.*X-TLSRelay-Require: verify\\)" \
	"explain: a delivery raised by X-TLSRelay-Require names the header"

# an MTA-STS policy in the cache names its id
"$PY" - "$T/sts.db" <<'PYEOF' || tap_bail "cannot make the MTA-STS cache"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE sts_policy(domain TEXT PRIMARY KEY NOT NULL, id TEXT NOT NULL,"
           " fetched INTEGER NOT NULL, expires INTEGER NOT NULL, policy TEXT NOT NULL)")
now = int(time.time())
db.execute("INSERT INTO sts_policy VALUES('sts.example', '20261206T000000', ?, ?, ?)",
           (now, now + 86400, "version: STSv1\nmode: enforce\nmx: mx.sts.example\nmax_age: 86400\n"))
db.commit()
PYEOF
OUT=$("$REPORT" -c "$CONF" explain sts.example 2>&1)
tap_like "$OUT" "^sts\\.example: mail goes to the MX hosts of sts\\.example" "explain sts.example: MX delivery"
OUT2=$(printf 'mta_sts = yes\nmta_sts_cache = %s\n' "$T/sts.db" >> "$CONF"; "$REPORT" -c "$CONF" explain sts.example 2>&1)
tap_like "$OUT2" "MTA-STS.*20261206T000000" "explain: the MTA-STS policy id (from the cache)"
tap_like "$OUT" "^  MTA-STS: off \\(mta_sts = no\\)" "explain: MTA-STS off before"
sed -i '/^mta_sts/d' "$CONF"

# ---------------------------------------------------------------- metrics
rep metrics -o "$T/metrics.prom"
tap_is "$RC|$OUT" "0|" "metrics -o FILE: exit 0, nothing on standard output"
M=$(cat "$T/metrics.prom")
tap_is "$(ls "$T"/metrics.prom.tmp 2>/dev/null)" "" "metrics -o: the temporary file is renamed"
want=$(sql "SELECT count(*) FROM attempt WHERE posture = 'verified' AND outcome = 'delivered'")
tap_like "$M" "^tlsrelay_attempts_total\\{posture=\"verified\",outcome=\"delivered\"\\} $want\$" \
	"metrics: verified deliveries = the history's ($want)"
want=$(sql "SELECT count(*) FROM attempt WHERE reason = 'refused-4xx'")
tap_like "$M" "^tlsrelay_failures_total\\{reason=\"refused-4xx\"\\} $want\$" "metrics: failures by reason"
tap_like "$M" '^# TYPE tlsrelay_shadow_verdicts_total counter$' "metrics: every counter announced"
# the text format (0.0.4), checked by a parser of our own ...
bad=$("$PY" - "$T/metrics.prom" <<'PYEOF'
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
label = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(r'^(%s)(\{(%s(,%s)*)?\})? -?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?$' % (name, label, label))
typed, seen = {}, set()
for n, line in enumerate(open(sys.argv[1]), 1):
    line = line.rstrip('\n')
    m = re.match(r'^# (HELP|TYPE) (%s) (.*)$' % name, line)
    if m:
        if m.group(1) == 'TYPE':
            if m.group(3) not in ('counter', 'gauge', 'histogram', 'summary', 'untyped') or m.group(2) in typed:
                print("%d: bad TYPE: %s" % (n, line))
            typed[m.group(2)] = m.group(3)
        continue
    m = sample.match(line)
    if not m:
        print("%d: not a sample: %s" % (n, line)); continue
    if m.group(1) not in typed:
        print("%d: sample before its TYPE: %s" % (n, line))
    key = line.rsplit(' ', 1)[0]
    if key in seen:
        print("%d: duplicate series: %s" % (n, line))
    seen.add(key)
PYEOF
)
tap_is "$bad" "" "metrics: every line parses as the Prometheus text format"
# ... and by Prometheus's own checker
if command -v promtool >/dev/null 2>&1; then
	tap_run "metrics: promtool check metrics" sh -c "promtool check metrics < '$T/metrics.prom'"
else
	tap_skip "metrics: promtool check metrics" "promtool not installed (Debian package prometheus)"
fi

# ------------------------------------------------- exit statuses, --help
# Every exit goes through the library's translation (a program without
# mail: INTERNAL is 71); --help and --version as every program's.
rep frobnicate
tap_is "$RC" 64 "a bad command: exit 64 (USAGE)"
tap_like "$OUT" '^usage: tlsrelay-report ' "a bad command: the synopsis follows the reason"
printf 'syslog = no\n' > "$T/nohist.conf"
OUT=$("$REPORT" -c "$T/nohist.conf" summary 2>&1); RC=$?
tap_is "$RC|$OUT" "78|tlsrelay-report: tls_history is not set: there is no TLS history to report on" \
	"tls_history unset: exit 78 (CONFIG), one line"
printf 'tls_history = %s/none/h.db\n' "$T" > "$T/gone.conf"
OUT=$("$REPORT" -c "$T/gone.conf" summary 2>&1); RC=$?
tap_is "$RC|$OUT" "75|tlsrelay-report: TLS history $T/none/h.db: No such file or directory" \
	"a missing store: exit 75 (TEMP), one line"
tap_status "$([ ! -e "$T/none" ]; echo $?)" "a missing store: reading makes nothing"
rep metrics -o "$T/nodir/m.prom"
tap_is "$RC" 71 "metrics -o into a missing directory: exit 71 (INTERNAL, a program without mail)"
tap_like "$OUT" "^tlsrelay-report: $T/nodir/m\\.prom\\.tmp: No such file or directory" \
	"... naming the file and why"
mkdir -p "$T/adir/keep"
rep metrics -o "$T/adir"
tap_is "$RC" 71 "metrics -o naming a directory (the rename fails): exit 71"
tap_like "$OUT" "^tlsrelay-report: $T/adir: cannot write: Is a directory" "... naming the file and why"
tap_is "$([ -e "$T/adir.tmp" ] && echo left)|$(ls "$T/adir")" "|keep" \
	"... the temporary file is removed and the directory left as it was"
OUT=$("$REPORT" --version 2>&1); RC=$?
tap_like "$RC|$OUT" '^0\|tlsrelay-report [0-9]+\.[0-9]+' "--version: exit 0"
OUT=$("$REPORT" --help 2>/dev/null); RC=$?
tap_like "$RC|$OUT" '^0\|usage: tlsrelay-report ' "--help: the synopsis on standard output, exit 0"

# ---------------------------------------------------------------- tlsrelayd
DAEMON=$top_builddir/plugin/daemon/tlsrelayd
if [ -x "$DAEMON" ] && [ "$(id -u)" = 0 ]; then
	tap_expect 5
	MPORT=$(free_port)
	mkdir -p "$T/run" && chown nobody "$T/run" && chmod 0755 "$T"
	chown nobody "$HIST" "$HIST-wal" "$HIST-shm" 2>/dev/null
	chown nobody "$T"
	cp "$CONF" "$T/d1.conf" && echo "metrics_listen = 127.0.0.1:$MPORT" >> "$T/d1.conf"
	cp "$CONF" "$T/d2.conf" && echo "metrics_listen = unix:$T/run/metrics.sock" >> "$T/d2.conf"
	chmod 0644 "$T"/d?.conf "$T/policy"
	start_bg d1 "$DAEMON" -v -u nobody -c "$T/d1.conf" -s "$T/run/d1.sock"
	D1=$BG_PID
	start_bg d2 "$DAEMON" -v -u nobody -c "$T/d2.conf" -s "$T/run/d2.sock"
	D2=$BG_PID
	wait_until 15 grep -q "ready on $T/run/d1.sock" "$T/d1.out"
	wait_until 15 grep -q "ready on $T/run/d2.sock" "$T/d2.out"
	get() {	# get TARGET PATH: an HTTP/1.0 GET through python3; the whole response
		"$PY" - "$@" <<'PYEOF'
import socket, sys
t, path = sys.argv[1], sys.argv[2]
if t.startswith("unix:"):
    s = socket.socket(socket.AF_UNIX); s.connect(t[5:])
else:
    host, port = t.rsplit(":", 1); s = socket.create_connection((host, int(port)), timeout=10)
s.settimeout(10)
s.sendall(("GET %s HTTP/1.0\r\nHost: x\r\n\r\n" % path).encode())
data = b""
while True:
    b = s.recv(65536)
    if not b: break
    data += b
sys.stdout.write(data.decode())
PYEOF
	}
	R1=$(get "127.0.0.1:$MPORT" /metrics 2>&1)
	tap_like "$R1" '^HTTP/1\.0 200 OK' "tlsrelayd metrics on 127.0.0.1: 200" || tap_diag "$(tail -5 "$T/d1.out")"
	tap_like "$R1" '^Content-Type: text/plain; version=0\.0\.4' "tlsrelayd metrics: the exposition's content type"
	printf '%s\n' "$R1" | tr -d '\r' | sed '1,/^$/d' > "$T/served.prom"
	tap_is "$(cat "$T/served.prom")" "$(cat "$T/metrics.prom")" "tlsrelayd metrics: the same text as tlsrelay-report metrics"
	R2=$(get "unix:$T/run/metrics.sock" /metrics 2>&1)
	tap_like "$R2" 'tlsrelay_attempts_total\{posture="verified"' "tlsrelayd metrics on a unix socket"
	tap_like "$(get "127.0.0.1:$MPORT" /other 2>&1)" '^HTTP/1\.0 404' "tlsrelayd metrics: another path is 404"
	stop_pid "$D1"
	stop_pid "$D2"
else
	tap_expect 1
	tap_skip "tlsrelayd metrics" "needs root and the built tlsrelayd"
fi

tap_done
