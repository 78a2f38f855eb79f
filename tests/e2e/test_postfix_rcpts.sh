#!/bin/bash
# tests/e2e/test_postfix_rcpts.sh - how Postfix pipe(8) applies tlsrelay's
# one result to several recipients: swaks -> Postfix (host) -> pipe(8) ->
# tlsrelay -> tests/peer/peer.py (scenario rcpt_mixed: ok1 accepted,
# reject 550 5.1.1), all on 127.0.0.1.
#
#   a. tlsrelay_destination_recipient_limit = 2, one message to ok1 and
#      reject: tlsrelay exits 75 with "4.3.0 ... [refused: <reject@...>;
#      accepted: <ok1@...>]"; Postfix defers BOTH recipients with that DSN
#      (the message stays queued: ok1 will get a duplicate, nothing is lost)
#   b. the recommended limit 1: ok1 is sent, reject bounces with 5.1.1
#
# This is the reason the samples recommend a recipient limit of 1
# (tlsrelay(8) SEVERAL RECIPIENTS). Needs root, postfix, swaks, python3;
# skips otherwise. Every wait is a bounded poll.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

require_root
require_cmd postfix postconf postqueue postsuper swaks runuser
peer_init
make_tmpdir
T=$TEST_TMP
HPORT=$(free_port) || tap_bail "no free port"
TR=$(stage_tlsrelay "$T/bin") || tap_bail "cannot stage tlsrelay for user nobody"

DIR=$T/peer
start_peer rcpt_mixed "$DIR" || tap_bail "peer.py did not start"
mkdir -p "$T/trspool" && chown nobody "$T/trspool" && chmod 0700 "$T/trspool"
cat > "$T/tlsrelay.conf" <<EOF
relayhost = [127.0.0.1]:$PEER_PORT
tls_security_level = may
helo_name = host.tlsrelay.test
command_timeout = 30s
deadline = 60s
spool_directory = $T/trspool
syslog = no
EOF
chmod 0644 "$T/tlsrelay.conf"

host_new host "$HPORT" "$TR" "$T/tlsrelay.conf" || tap_bail "host_new failed"
HOST=$PF_DIR
pf_set "$HOST" "tlsrelay_destination_recipient_limit = 2"
pf_start "$HOST" || tap_bail "host Postfix did not start"
wait_port 127.0.0.1 "$HPORT" 15 || tap_bail "host not listening on $HPORT"

printf 'Subject: two recipients\n\nbody\n' > "$T/msg.eml"

# log_for QID RCPT: the host's first pipe log line for RCPT of message QID
log_for() {
	pf_log_wait "$HOST" "$1: to=<$2>, relay=tlsrelay.*status=" 30 | head -n 1
}

# ---------------------------------------------------- a: limit 2, mixed
tap_plan $((6 + 4 + 1))	# a, b, the server
swaks_send "$HPORT" s@example.test ok1@example.test,reject@example.test "$T/msg.eml"
tap_status $? "a: swaks hands the message to the host" "$SWAKS_OUT"
QID=$SENT_QID
l_ok=$(log_for "$QID" ok1@example.test)
l_rej=$(log_for "$QID" reject@example.test)
tap_diag "host log: $l_ok"
tap_like "$l_ok" "dsn=4\.3\.0, status=deferred" "a: limit 2: the accepted recipient is deferred with 4.3.0"
tap_like "$l_rej" "dsn=4\.3\.0, status=deferred" "a: limit 2: the refused recipient is deferred too (not bounced)"
tap_like "$l_ok" "refused: <reject@example\.test>; accepted: <ok1@example\.test>\]" \
	"a: the host's log names who was refused and who was accepted"
pf_queue_ids "$HOST" | grep -qx "$QID"
tap_status $? "a: the message stays in the host queue (retried: a duplicate for ok1, no loss)"
postsuper -c "$HOST" -h "$QID" >/dev/null 2>&1       # hold it: no more retries
grep -q '"data_file"' "$DIR/transcript.jsonl"
tap_status $? "a: the server did accept the message for ok1 (so the retry is a duplicate)"

# ---------------------------------------------------- b: limit 1
pf_set "$HOST" "tlsrelay_destination_recipient_limit = 1"
pf_reload "$HOST"
sleep 1
swaks_send "$HPORT" s@example.test ok1@example.test,reject@example.test "$T/msg.eml"
tap_status $? "b: swaks hands the message to the host" "$SWAKS_OUT"
QID2=$SENT_QID
l_ok=$(log_for "$QID2" ok1@example.test)
l_rej=$(log_for "$QID2" reject@example.test)
tap_diag "host log: $l_ok"
tap_diag "host log: $l_rej"
tap_like "$l_ok" "status=sent" "b: limit 1: ok1 is sent"
tap_like "$l_rej" "dsn=5\.1\.1, status=bounced" "b: limit 1: reject bounces with 5.1.1"
wait_until 15 eval '! pf_queue_ids "$HOST" | grep -qx "$QID2"'
tap_status $? "b: limit 1: the message leaves the host queue"

pf_delete "$HOST" ALL
peer_report
tap_is "$(rg peer_errors)" 0 "the server had no internal error"
tap_done
