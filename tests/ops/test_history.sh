#!/bin/bash
# tests/ops/test_history.sh - the TLS history (lib/history.c, a real SQLite
# store) after real deliveries: tlsrelay against tests/peer/peer.py (and a
# host Postfix whose pipe(8) runs tlsrelay -Q ${queue_id}, delivering to a
# receiving Postfix).
#
#   postures    one delivery per posture the client can see: plaintext (no
#               STARTTLS), untrusted (self-signed), trusted (CA, wrong name),
#               verified (CA and name; at level verify: ca+name), pinned
#               (fingerprint: pins); each row's offered, posture, verified_by,
#               protocol, certificate expiry, SPKI, level and source, outcome.
#               (Anonymous TLS cannot be shown: tlsrelay never offers an
#               anonymous cipher suite.)
#   failures    verify + self-signed: deferred, certificate-not-trusted;
#               encrypt + no STARTTLS: deferred, starttls-not-offered; may +
#               a handshake that fails: one attempt, delivered in plaintext
#   daily       one aggregate row per destination and day, messages counted
#   store       locked by another writer (the record kept in the pending
#               journal), not a database, in a missing directory, at its size
#               limit: the mail is delivered (exit 0), the trouble logged, and
#               a full store records after dropping its oldest attempts
#   concurrency 20 tlsrelay at once: every delivery made, every attempt
#               recorded or its loss logged
#   the WAL     80 deliveries one process each: the WAL stays short
#   stripping   three destinations that offered STARTTLS and verified stop
#               offering it: each logged, and once "a middlebox may be
#               stripping it"
#   logs        -Q QUEUE_ID starts every log line; sasl_username= with AUTH;
#               through Postfix pipe(8): the history row has Postfix's queue ID
#
# Safety: only 127.0.0.1; every process is stopped by its PID.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"
. "$top_srcdir/tests/ops/ops.sh"

ops_init

# row PORT COLUMNS: the attempt rows of [127.0.0.1]:PORT, oldest first
row() { sql "SELECT $2 FROM attempt WHERE dest = '$(dest_of "$1")' ORDER BY id"; }

why() { printf 'exit %s: %s\n%s' "$RC" "$OUT" "$(printf '%s\n' "$ERR" | tail -n 15)"; }

# ---------------------------------------------------------------- postures
# name scenario level posture verified_by outcome reason exit
CASES="
plain      no_starttls      may     plaintext  -        delivered -                       0
untrusted  selfsigned_cert  may     untrusted  -        delivered -                       0
trusted    pol_wrong_name   may     trusted    -        delivered -                       0
verified   good             verify  verified   ca+name  delivered -                       0
deferred   selfsigned_cert  verify  untrusted  -        deferred  certificate-not-trusted 75
nostls     no_starttls      encrypt plaintext  -        deferred  starttls-not-offered    75
retry      starttls_garbage may     plaintext  -        delivered -                       0
"
tap_expect $((4 * $(grep -c . <<< "$CASES") + 1))	# a row 4; the retry's outcome
while read -r name scen level posture by outcome reason rc; do
	[ -n "$name" ] || continue
	ops_case "$name" "$scen" "tls_security_level = $level"
	tap_is "$RC" "$rc" "$name: exit $rc" || tap_diag "$(why)"
	got=$(row "$PEER_PORT" "posture, verified_by, outcome, reason, level, level_src")
	want="$posture|${by#-}|$outcome|${reason#-}|$level|tls_security_level"
	tap_is "$got" "$want" "$name: one attempt: $posture, $outcome${reason#-}"
	case $posture in
	plaintext)
		[ "$name" = retry ] && off=1 || off=0
		tap_is "$(row "$PEER_PORT" "offered, protocol, cert_not_after")" "$off||0" \
			"$name: STARTTLS offered=$off, no protocol, no certificate" ;;
	*)
		tap_like "$(row "$PEER_PORT" "offered, protocol, cert_not_after, length(spki)")" \
			'^1\|TLSv1\.[23]\|4733510400\|95$' \
			"$name: offered, TLS protocol, certificate expiry 2120-01-01, SPKI digest" ;;
	esac
	tap_is "$(sql "SELECT attempts, messages FROM daily WHERE dest = '$(dest_of "$PEER_PORT")'")" \
		"1|1" "$name: the daily row counts the attempt and the message"
done <<< "$CASES"
tap_like "$(row "$(sed -n 's/relayhost = \[127.0.0.1\]://p' "$T/retry/tlsrelay.conf")" text)" \
	'Ok: queued' "retry: the plaintext retry's outcome is the attempt's"

# -- pinned: a tls_policy_map entry fingerprint match=SPKI of the self-signed key
PIN=$(openssl x509 -in "$CERTS/selfsigned.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
	openssl dgst -sha256 -c | sed 's/^.*= *//' | tr a-f A-F)
tap_expect 4	# pinned 2, no shadow, history off
ops_peer pinned selfsigned_cert
printf '[127.0.0.1]:%s fingerprint match=%s\n' "$PEER_PORT" "$PIN" > "$T/pin.policy"
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT" "tls_policy_map = $T/pin.policy"
ops_send pinned
tap_is "$RC" 0 "pinned: exit 0" || tap_diag "$(why)"
tap_like "$(row "$PEER_PORT" "posture, verified_by, level, level_src, level_detail")" \
	"^verified\|pins\|fingerprint\|tls_policy_map\|$T/pin.policy:1 key" \
	"pinned: verified by pins, level from the map line"

# -- the shadow's empty columns when there is none; history off writes nothing
tap_is "$(sql "SELECT count(*) FROM attempt WHERE shadow <> ''")" 0 "no shadow policy: no verdicts"
ops_peer off good
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT"
sed -i '/^tls_history/d' "$DIR/tlsrelay.conf"
before=$(sql "SELECT count(*) FROM attempt")
ops_send off
tap_is "$RC|$(sql "SELECT count(*) FROM attempt")" "0|$before" "tls_history unset: nothing recorded"

# ---------------------------------------------------------------- the store
# locked by another writer for 4 s: the mail goes on, the record is kept
# in the pending journal (tests/ops/test_history_busy.sh has the rest)
BAD_STORES=(missing garbage)
tap_expect $((2 + 2 * ${#BAD_STORES[@]} + 1 + 3))	# locked, a bad store 2, no directory made, full
ops_peer locked good
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT"
start_bg locker "$PY" -c "
import sqlite3, time, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute('BEGIN EXCLUSIVE'); open(sys.argv[2], 'w').close(); time.sleep(4); db.execute('COMMIT')
" "$HIST" "$T/locked.flag"
LOCKER=$BG_PID
wait_until 10 test -f "$T/locked.flag"
ops_send locked
tap_is "$RC" 0 "store locked by another writer: delivered (exit 0)" || tap_diag "$(why)"
tap_ok "$([ -s "$HIST-pending" ] && ! grep -q 'TLS history: ' <<< "$ERR" && echo 1 || echo 0)" \
	"store locked: the record waits in the pending journal (test_history_busy.sh)"
stop_pid "$LOCKER"

for bad in "${BAD_STORES[@]}"; do
	ops_peer "store-$bad" good
	if [ $bad = missing ]; then store=$T/no/such/dir/h.db; else store=$T/garbage.db; head -c 5000 /dev/urandom > "$store"; fi
	ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT" "tls_history = $store"
	ops_send "store-$bad"
	tap_is "$RC" 0 "store $bad: delivered (exit 0)" || tap_diag "$(why)"
	tap_like "$ERR" '^tlsrelay: TLS history: cannot open the store: .*\(delivery goes on without it\)' \
		"store $bad: logged"
done
tap_is "$(ls "$T/no" 2>&1 | head -c 80)" "ls: cannot access '$T/no': No such file or directory" \
	"store missing: no directory was made"

# full: a store at its size limit (1 MB) of old attempts takes a new one
ops_peer full good
FULL=$T/full.db
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT" "tls_history = $FULL" "tls_history_size_limit = 1048576"
ops_send full                      # makes the store
"$PY" - "$FULL" <<'PYEOF' || tap_bail "cannot fill the store"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA max_page_count = %d" % (1048576 // db.execute("PRAGMA page_size").fetchone()[0]))
try:
    for i in range(100000):
        db.execute("INSERT INTO attempt(t, dest, text) VALUES(strftime('%s','now') - 3600, 'filler.example', ?)", ("x" * 3000,))
        if i % 20 == 0:
            db.commit()
except sqlite3.OperationalError as e:
    if "full" not in str(e):
        raise
db.commit()
PYEOF
n_before=$(HIST=$FULL sql "SELECT count(*) FROM attempt")
ops_peer full2 good
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT" "tls_history = $FULL" "tls_history_size_limit = 1048576"
ops_send full2
tap_is "$RC" 0 "store at its size limit: delivered (exit 0)" || tap_diag "$(why)"
tap_is "$(HIST=$FULL sql "SELECT count(*) FROM attempt WHERE dest = '$(dest_of "$PEER_PORT")'")" 1 \
	"store at its size limit: the new attempt is recorded (was $n_before rows)"
tap_status "$(($(stat -c %s "$FULL") <= 1048576 ? 0 : 1))" "store at its size limit: the file stays within it" \
	"size $(stat -c %s "$FULL")"

# ---------------------------------------------------------------- concurrency
tap_expect 3
ops_peer many good
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT"
pids=()
for i in $(seq 1 20); do
	timeout -k 5 60 "$TLSRELAY" -v -c "$DIR/tlsrelay.conf" -f sender@example.org -- "user$i@example.test" \
		< "$T/msg" > "$DIR/out.$i" 2> "$DIR/err.$i" &
	pids+=($!)
done
ok=0
for p in "${pids[@]}"; do wait "$p" && ok=$((ok + 1)); done
peer_report
tap_is "$ok" 20 "20 parallel transports: every one exits 0"
tap_is "$(rg accepted_data | wc -w)" 20 "20 parallel transports: the server accepted 20 messages"
rows=$(row "$PEER_PORT" "count(*)")
lost=$(cat "$DIR"/err.* | grep -c 'TLS history: ')
tap_is "$((rows + lost))" 20 "20 parallel transports: $rows attempts recorded, $lost losses logged: none unaccounted"
tap_diag "concurrent writers: $rows of 20 recorded"

# ---------------------------------------------------------------- the WAL
# One process a delivery (the standalone transport): each opens a store that
# no other connection has open and rebuilds the WAL's index from the whole
# WAL; SQLite's passive checkpoint never restarted such a WAL, which grew
# ~4 pages a delivery without end (1.6 MB at 90). A long WAL is truncated.
tap_expect 2
ops_peer wal good
WALDB=$T/wal.db
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT" "tls_history = $WALDB"
ok=0
for i in $(seq 1 80); do
	timeout -k 5 60 "$TLSRELAY" -c "$DIR/tlsrelay.conf" -f sender@example.org -- "wal$i@example.test" \
		< "$T/msg" > /dev/null 2>> "$DIR/err" && ok=$((ok + 1))
done
peer_report
tap_is "$ok" 80 "80 deliveries one process each: every one exits 0"
wal=$(stat -c %s "$WALDB-wal" 2>/dev/null || echo 0)
# 64 frames of 4 KB (+24 bytes each) and one delivery's few more
tap_status "$((wal <= 80 * 4120 ? 0 : 1))" "80 deliveries one process each: the WAL stays short (<= 80 frames)" \
	"the WAL is $wal bytes"

# ---------------------------------------------------------------- stripping
# three destinations verified with STARTTLS, then without it
for i in 1 2 3; do
	ops_peer "strip$i" good
	ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT"
	ops_send "strip$i"
	eval "SPORT$i=$PEER_PORT"
done
alerts=0
tap_expect $((3 * 2 + 1 + 2))	# a destination 2, the third's warning; once, the counter
for i in 1 2 3; do
	port=$(eval echo "\$SPORT$i")
	ops_peer "strip$i-b" no_starttls "$port"
	ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT"
	ops_send "strip$i-b"
	tap_is "$RC" 0 "stripped $i: still delivered at level may"
	tap_like "$ERR" "^tlsrelay: STARTTLS missing at 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\] \\(\\[127\\.0\\.0\\.1\\]:$port\\): it offered STARTTLS and verified before" \
		"stripped $i: the loss is logged"
	alerts=$((alerts + $(printf '%s\n' "$ERR" | grep -c 'STARTTLS missing for [0-9]* destinations that offered it: a middlebox may be stripping it')))
	[ $i = 3 ] && tap_like "$ERR" 'STARTTLS missing for 3 destinations that offered it: a middlebox may be stripping it' \
		"stripped 3: the middlebox warning names 3 destinations"
done
tap_is "$alerts" 1 "the middlebox warning is given once"
tap_is "$(sql "SELECT value FROM counter WHERE name = 'tlsrelay_starttls_lost_total'")" 3 \
	"tlsrelay_starttls_lost_total counts 3"

# ---------------------------------------------------------------- logs
tap_expect 7	# -Q 3, a bad -Q 2, AUTH 2
ops_peer qid good
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT"
ops_send qid -Q 4XyZ7Q1kLmzN
tap_is "$RC" 0 "-Q: delivered"
tap_unlike "$(printf '%s\n' "$ERR" | grep -v '^tlsrelay: 4XyZ7Q1kLmzN: ')" '.' \
	"-Q: every log line starts with the queue ID"
tap_is "$(row "$PEER_PORT" queue_id)" 4XyZ7Q1kLmzN "-Q: the history row has the queue ID"
ops_peer qidbad good
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT"
ops_send qidbad -Q 'a b'
tap_is "$RC|$OUT" '78|4.3.5 tlsrelay: -Q: bad queue ID: expected at most 63 letters, digits, ".", "_" or "-" (not first)' \
	"-Q with a space: 4.3.5, exit 78, nothing sent"

ops_peer qidempty good
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT"
ops_send qidempty -Q           # an MTA passing an empty ID: -Q would take "-f"
tap_is "$RC|$(rg conns)" "78|0" "-Q followed by -f (an empty queue ID): exit 78, nothing sent"

SASL_USER=relayuser7 SASL_PASS='pä ss:w0rd#1'
ops_peer auth pol_auth
printf '[127.0.0.1]:%s %s:%s\n' "$PEER_PORT" "$SASL_USER" "$SASL_PASS" > "$T/sasl"
chmod 0600 "$T/sasl"
ops_conf "$DIR/tlsrelay.conf" "$PEER_PORT" "sasl_password_map = $T/sasl"
ops_send auth
tap_like "$ERR" "to=<user@example\\.test>, relay=\\[127\\.0\\.0\\.1\\]:$PEER_PORT, .* sasl_username=relayuser7, dsn=2\\.0\\.0, status=sent" \
	"AUTH: the recipient's line names the AUTH user" || tap_diag "$(why)"
tap_unlike "$ERR" 'w0rd' "AUTH: never the password"

# -- through Postfix: pipe(8) passes ${queue_id}
tap_expect 2
if command -v postfix >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v swaks >/dev/null 2>&1; then
	RPORT=$(free_port) HPORT=$(free_port)
	receiver_new rcv "$RPORT" may && RDIR=$PF_DIR && pf_start "$RDIR" || tap_bail "receiver Postfix"
	STAGE=$(stage_tlsrelay "$T/stage") || tap_bail "cannot stage tlsrelay for nobody"
	mkdir -p "$T/pfhist" && chown nobody "$T/pfhist" "$T/spool"
	ops_conf "$T/pf.conf" "$RPORT" "tls_history = $T/pfhist/history.db"
	chmod 0644 "$T/pf.conf"
	pf_new host "$HPORT" "relay_domains = example.test" "transport_maps = inline:{ example.test=tlsrelay }" \
		"tlsrelay_destination_recipient_limit = 1" \
		"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination"
	HDIR=$PF_DIR
	pf_master "$HDIR" "tlsrelay  unix  -       n       n       -       -       pipe
  flags=q null_sender= user=nobody argv=$STAGE -c $T/pf.conf -Q \${queue_id} -f \${sender} -- \${recipient}"
	pf_start "$HDIR" || tap_bail "host Postfix"
	printf 'Subject: via postfix\n\nqueue id test\n' > "$T/pfmsg"
	swaks_send "$HPORT" sender@example.org alice@example.test "$T/pfmsg"
	tap_status "$([ -n "$SENT_QID" ] && receiver_wait_mail "$RDIR" alice 'queue id test' 60 >/dev/null; echo $?)" \
		"Postfix: the message reached the receiving Postfix" "$SWAKS_OUT"
	# the row is written when the transport ends, which may be after the
	# receiver has the message: wait for pipe(8)'s status=sent (bounded)
	wait_until 60 grep -q "$SENT_QID: .*status=sent" "$(pf_log "$HDIR")"
	got=$(HIST=$T/pfhist/history.db sql "SELECT queue_id, posture, outcome FROM attempt")
	tap_is "$got" "$SENT_QID|verified|delivered" "Postfix: the history row has Postfix's queue ID ${SENT_QID}"
else
	tap_skip "Postfix: the message reached the receiving Postfix" "needs root, postfix and swaks"
	tap_skip "Postfix: the history row has Postfix's queue ID" "needs root, postfix and swaks"
fi

# ---------------------------------------------------------------- reports
# every command of tlsrelay-report over this history (one day, many
# destinations): in the sanitizer build the only run of the report code
# (tests/ops/test_report.sh and test_html.sh need faketime)
ops_conf "$T/report.conf" 1
REPORT_CMDS=("summary" "suggest --days 1" "explain [127.0.0.1]:$SPORT1" "html" "metrics")
tap_expect $((${#REPORT_CMDS[@]} + 4))	# exit 0 each; the output of all but suggest
for cmd in "${REPORT_CMDS[@]}"; do
	# shellcheck disable=SC2086 # the command's words
	OUT=$("$REPORT" -c "$T/report.conf" $cmd 2>&1); RC=$?
	tap_is "$RC" 0 "tlsrelay-report $cmd over this history: exit 0" || tap_diag "$OUT"
	case $cmd in
	summary) tap_like "$OUT" "^\\[127\\.0\\.0\\.1\\]:$SPORT1 +2 +50% +50% +50% " "summary: a stripped destination: half its mail in plaintext" ;;
	explain*) tap_like "$OUT" "^  [0-9-]+ [0-9:]+ 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\] plaintext delivered 2\\.0\\.0" "explain: the stripped attempt" ;;
	html) tap_like "$OUT" '<svg id="posture-chart"' "html: the page" ;;
	metrics) tap_like "$OUT" '^tlsrelay_starttls_lost_total 3$' "metrics: the STARTTLS losses" ;;
	esac
done

tap_done
