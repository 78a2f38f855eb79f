#!/bin/bash
# tests/peer/test_faults.sh - fault injection at every step of an SMTP
# session: tlsrelay against tests/peer/peer.py, one fresh peer per case.
#
# The session of every case: connect, greeting, EHLO, STARTTLS, TLS
# handshake, EHLO after TLS, AUTH (credentials are configured, so TLS is
# required: level encrypt), MAIL, RCPT (two recipients, PIPELINING), DATA,
# the message body, the end of data ("dot"), QUIT. Each step gets each
# fault, in place of the server's reply (or of its part of the handshake):
#
#   refused   nothing listens (connect only)
#   silence   connect: SYNs unanswered (a full listen queue); elsewhere the
#             server stops reading and replying (longer than any timeout)
#   rst       TCP reset (SO_LINGER 0)       close     FIN, no reply
#   4xx       451 4.3.0                     5xx       554 5.7.1
#   garbage   "HTTP/1.1 400 Bad Request"    longline  a 100 KB "250 x..." line
#   endless   "250-..." continuation lines without end
#   trickle   the same, one byte every 0.25 s: each read gets a byte before
#             command_timeout, only the deadline ends it (an extra fault, at
#             three steps only: the wait code is the same at every step, and
#             each case lasts the whole deadline)
#
# In the body the fault comes once the first bytes arrived (7 MB message,
# so the client is still writing): rst/close/silence as above, 4xx/5xx are
# said and the server hangs up, garbage/longline are said and the server
# goes on reading (the client reads them as the reply to the dot), endless
# never reads again.
#
# The expected outcome of each step x fault is the FAULTS table below:
# exit status, a regex for the first output line (the DSN Postfix uses:
# its class says temporary or permanent; "-" = no output), what the peer
# got (acc: 2xx to the end of data; data: the whole message, not accepted;
# no: no complete message; "a|b": either, where it depends on a race that
# does not change the outcome) and, for silence, the tlsrelay timeout that
# must end the wait. Combinations that do not exist are rows with "n/a"
# and the reason: they print "ok N - ... # SKIP n/a: reason".
#
# Checked for every case: exit status, DSN, what the peer got, exit 0 only
# after a 2xx to the end of data, no MAIL or AUTH in plaintext, the peer
# had no internal error; elapsed time below deadline + 3 s (every case),
# and below the governing timeout + 5 s (silence cases: the peer stays
# silent 30 s, so a client that waits for the server would fail).
#
# Timeouts in the test config: connect 2 s, command 2 s, data 3 s, deadline
# 10 s. Cases run 6 at a time; the whole file takes about 30-40 s.
# Needs python3 (skips without it) and the built tlsrelay. Only 127.0.0.1;
# every process is stopped by its PID.

: "${top_builddir:=/tmp/pb}"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

peer_init
require_cmd timeout
peer_require_tlsrelay
JOBS=${FAULTS_JOBS:-6}
CONNECT_T=2 COMMAND_T=2 DATA_T=3 DEADLINE=10 SLACK=5

make_tmpdir
T=$TEST_TMP
mkdir -p "$T/spool" "$T/cases"
# FAULTS_DELIVERY_USER: the deliveries run as that user (tlsrelayd -u,
# tests/daemon/test_faults_daemon.sh): the spool and the password maps are its
[ -n "${FAULTS_DELIVERY_USER:-}" ] && chown "$FAULTS_DELIVERY_USER" "$T/spool"
: > "$T/pids"

# ------------------------------------------------------------------ table
# step | fault | exit | DSN regex of the first output line ("-": none) |
# peer got (acc, data, no) | timeout that ends a silence (connect,
# command, data, deadline; "-") ; or: step | fault | n/a | reason (rest of the line).
FAULTS=$(cat <<'EOF'
connect   refused   75  ^4\.4\.1       no   -
connect   rst       n/a a reset right after the connect is the greeting row (greeting rst)
connect   close     n/a a close right after the connect is the greeting row (greeting close)
connect   4xx       n/a there is no reply at connect: see greeting 4xx
connect   5xx       n/a there is no reply at connect: see greeting 5xx
connect   silence   75  ^4\.4\.1       no   connect
connect   garbage   n/a there is no reply at connect: see greeting garbage
connect   longline  n/a there is no reply at connect: see greeting longline
connect   endless   n/a there is no reply at connect: see greeting endless
greeting  refused   n/a refused happens at connect only
greeting  rst       75  ^4\.4\.[12]    no   -
greeting  close     75  ^4\.4\.2       no   -
greeting  4xx       75  ^4\.3\.0       no   -
greeting  5xx       75  ^4\.7\.1       no   -
greeting  silence   75  ^4\.4\.2       no   command
greeting  garbage   75  ^4\.5\.0       no   -
greeting  longline  75  ^4\.5\.0       no   -
greeting  endless   75  ^4\.5\.0       no   -
ehlo      refused   n/a refused happens at connect only
ehlo      rst       75  ^4\.4\.2       no   -
ehlo      close     75  ^4\.4\.2       no   -
ehlo      4xx       75  ^4\.7\.4       no   -
ehlo      5xx       75  ^4\.7\.4       no   -
ehlo      silence   75  ^4\.4\.2       no   command
ehlo      garbage   75  ^4\.5\.0       no   -
ehlo      longline  75  ^4\.5\.0       no   -
ehlo      endless   75  ^4\.5\.0       no   -
starttls  refused   n/a refused happens at connect only
starttls  rst       75  ^4\.4\.2       no   -
starttls  close     75  ^4\.4\.2       no   -
starttls  4xx       75  ^4\.7\.4       no   -
starttls  5xx       75  ^4\.7\.4       no   -
starttls  silence   75  ^4\.4\.2       no   command
starttls  garbage   75  ^4\.5\.0       no   -
starttls  longline  75  ^4\.5\.0       no   -
starttls  endless   75  ^4\.5\.0       no   -
tls       refused   n/a refused happens at connect only
tls       rst       75  ^4\.7\.5       no   -
tls       close     75  ^4\.7\.5       no   -
tls       4xx       n/a an SMTP reply inside the TLS handshake is garbage: see tls garbage
tls       5xx       n/a an SMTP reply inside the TLS handshake is garbage: see tls garbage
tls       silence   75  ^4\.7\.5       no   command
tls       garbage   75  ^4\.7\.5       no   -
tls       longline  n/a no lines inside the TLS handshake: see tls garbage
tls       endless   n/a no lines inside the TLS handshake: see tls garbage
ehlo_tls  refused   n/a refused happens at connect only
ehlo_tls  rst       75  ^4\.4\.2       no   -
ehlo_tls  close     75  ^4\.4\.2       no   -
ehlo_tls  4xx       75  ^4\.3\.0       no   -
ehlo_tls  5xx       75  ^4\.7\.1       no   -
ehlo_tls  silence   75  ^4\.4\.2       no   command
ehlo_tls  garbage   75  ^4\.5\.0       no   -
ehlo_tls  longline  75  ^4\.5\.0       no   -
ehlo_tls  endless   75  ^4\.5\.0       no   -
auth      refused   n/a refused happens at connect only
auth      rst       75  ^4\.4\.2       no   -
auth      close     75  ^4\.4\.2       no   -
auth      4xx       75  ^4\.3\.0       no   -
auth      5xx       75  ^4\.7\.1       no   -
auth      silence   75  ^4\.4\.2       no   command
auth      garbage   75  ^4\.5\.0       no   -
auth      longline  75  ^4\.5\.0       no   -
auth      endless   75  ^4\.5\.0       no   -
mail      refused   n/a refused happens at connect only
mail      rst       75  ^4\.4\.2       no   -
mail      close     75  ^4\.4\.2       no   -
mail      4xx       75  ^4\.3\.0       no   -
mail      5xx       69  ^5\.7\.1       no   -
mail      silence   75  ^4\.4\.2       no   command
mail      garbage   75  ^4\.5\.0       no   -
mail      longline  75  ^4\.5\.0       no   -
mail      endless   75  ^4\.5\.0       no   -
rcpt1     refused   n/a refused happens at connect only
rcpt1     rst       75  ^4\.4\.2       no   -
rcpt1     close     75  ^4\.4\.2       no   -
rcpt1     4xx       75  ^4\.3\.0       acc  -
rcpt1     5xx       75  ^4\.3\.0       acc  -
rcpt1     silence   75  ^4\.4\.2       no   command
rcpt1     garbage   75  ^4\.5\.0       no   -
rcpt1     longline  75  ^4\.5\.0       no   -
rcpt1     endless   75  ^4\.5\.0       no   -
rcpt2     refused   n/a refused happens at connect only
rcpt2     rst       75  ^4\.4\.2       no   -
rcpt2     close     75  ^4\.4\.2       no   -
rcpt2     4xx       75  ^4\.3\.0       acc  -
rcpt2     5xx       75  ^4\.3\.0       acc  -
rcpt2     silence   75  ^4\.4\.2       no   command
rcpt2     garbage   75  ^4\.5\.0       no   -
rcpt2     longline  75  ^4\.5\.0       no   -
rcpt2     endless   75  ^4\.5\.0       no   -
data      refused   n/a refused happens at connect only
data      rst       75  ^4\.4\.2       no   -
data      close     75  ^4\.4\.2       no   -
data      4xx       75  ^4\.3\.0       no   -
data      5xx       69  ^5\.7\.1       no   -
data      silence   75  ^4\.4\.2       no   command
data      garbage   75  ^4\.5\.0       no   -
data      longline  75  ^4\.5\.0       no   -
data      endless   75  ^4\.5\.0       no   -
body      refused   n/a refused happens at connect only
body      rst       75  ^4\.4\.2       no   -
body      close     75  ^4\.4\.2       no   -
body      4xx       75  ^4\.4\.2       no   -
body      5xx       75  ^4\.4\.2       no   -
body      silence   75  ^4\.4\.2       no   data
body      garbage   75  ^4\.5\.0       acc|no -
body      longline  75  ^4\.5\.0       acc|no -
body      endless   75  ^4\.4\.2       no   data
dot       refused   n/a refused happens at connect only
dot       rst       75  ^4\.4\.2       data -
dot       close     75  ^4\.4\.2       data -
dot       4xx       75  ^4\.3\.0       data -
dot       5xx       69  ^5\.7\.1       data -
dot       silence   75  ^4\.4\.2       data command
dot       garbage   75  ^4\.5\.0       data -
dot       longline  75  ^4\.5\.0       acc  -
dot       endless   75  ^4\.5\.0       data -
greeting  trickle   75  ^4\.4\.2       no   deadline
rcpt2     trickle   75  ^4\.4\.2       no   deadline
dot       trickle   75  ^4\.4\.2       data deadline
quit      refused   n/a refused happens at connect only
quit      rst       0   -              acc  -
quit      close     0   -              acc  -
quit      4xx       0   -              acc  -
quit      5xx       0   -              acc  -
quit      silence   0   -              acc  -
quit      garbage   0   -              acc  -
quit      longline  0   -              acc  -
quit      endless   0   -              acc  -
EOF
)

# ------------------------------------------------------------- scenarios
# One scenario per case: faults_base.json plus the fault. gen_scenarios
# FILE: reads "step fault" lines from FILE, writes $T/cases/STEP-FAULT/scenario.json (nothing for connect
# refused: no peer at all).
gen_scenarios() {
	"$PY" - "$SCEN/faults_base.json" "$T/cases" "$1" <<'PYEOF'
import json, os, sys
base = json.load(open(sys.argv[1]))
KEYS = {"greeting": "CONNECT", "ehlo": "EHLO#1", "starttls": "STARTTLS", "ehlo_tls": "EHLO#2",
        "auth": "AUTH", "mail": "MAIL", "rcpt1": "RCPT#1", "rcpt2": "RCPT#2", "data": "DATA",
        "body": "BODY", "dot": "DOT", "quit": "QUIT"}
REPLY = {"4xx": "451 4.3.0 fault injected", "5xx": "554 5.7.1 fault injected",
         "garbage": "HTTP/1.1 400 Bad Request", "longline": ["250 ", {"repeat": "x", "times": 102400}],
         "endless": "250 endless", "trickle": "250 slow"}
ACTION = {"rst": "reset", "close": "drop", "silence": "silent", "endless": "endless", "trickle": "trickle"}
BODY = {"rst": "reset", "close": "drop", "silence": "silent", "endless": "endless",
        "4xx": "reply_drop", "5xx": "reply_drop", "garbage": "reply", "longline": "reply"}
TLS = {"rst": "reset", "close": "close", "silence": "silent", "garbage": "garbage"}
for line in open(sys.argv[3]):
    step, fault = line.split()
    sc = json.loads(json.dumps(base))
    sc["comment"] = "test_faults.sh: %s at %s" % (fault, step)
    if step == "connect":
        if fault == "refused":
            continue
        sc["accept"] = "never"
    elif step == "tls":
        sc["starttls_action"] = TLS[fault]
    else:
        key = KEYS[step]
        if step == "body":
            sc["actions"] = {"BODY": BODY[fault]}
            if fault in REPLY:
                sc["replies"] = {"BODY": REPLY[fault]}
        else:
            if fault in ACTION:
                sc["actions"] = {key: ACTION[fault]}
            if fault in REPLY:
                if step == "greeting":
                    sc["greeting"] = REPLY[fault]
                else:
                    sc["replies"] = {key: REPLY[fault]}
    d = os.path.join(sys.argv[2], "%s-%s" % (step, fault))
    os.makedirs(d, exist_ok=True)
    json.dump(sc, open(os.path.join(d, "scenario.json"), "w"), indent=1)
PYEOF
}

# ---------------------------------------------------------------- message
# A small message, and 7 MB for the body faults: more than the socket
# buffers hold (the client's grows to 4 MB, the peer's stays small as it
# stops reading), so the client is still writing when the fault comes, and
# less than the 8 MB peer.py stores.
printf 'Subject: fault test\n\nline one\n.dot line\nlast line\n' > "$T/msg.in"
"$PY" -c '
import sys
line = b"0123456789abcdefghijklmnopqrstuvwxyz" * 2 + b"\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"Subject: big fault test\n\n")
    for _ in range(7 * 1024 * 1024 // len(line)):
        f.write(line)
' "$T/msgbig.in" || tap_bail "cannot write the 7 MB message"

# ------------------------------------------------------------------ cases
# run_case STEP FAULT: peer (unless refused) + tlsrelay in $T/cases/STEP-FAULT;
# writes rc, elapsed_ms, stdout, stderr, report there. Runs in a subshell.
run_case() {
	local step=$1 fault=$2 dir=$T/cases/$1-$2 port pid='' try msg=$T/msg.in t0 t1 rc
	mkdir -p "$dir"
	[ "$step" = body ] && msg=$T/msgbig.in
	for ((try = 1; try <= 5; try++)); do
		port=$(free_port) || break
		[ -f "$dir/scenario.json" ] || break            # connect refused: nothing listens
		rm -f "$dir/peer.pid" "$dir/transcript.jsonl"
		"$PY" "$PEER" serve --port "$port" --scenario "$dir/scenario.json" --outdir "$dir" \
			--pidfile "$dir/peer.pid" --report "$dir/report" --max-lifetime 60 > "$dir/peer.out" 2>&1 &
		pid=$!
		echo "$pid" >> "$T/pids"
		wait_until 10 _peer_ready "$dir/peer.pid" "$pid"
		[ -s "$dir/peer.pid" ] && break
		wait "$pid" 2>/dev/null
		[ $? = 2 ] || { echo "peer did not start: $(cat "$dir/peer.out")" > "$dir/error"; return; }
		pid=''
	done
	cat > "$dir/sasl_passwd" <<-EOF
	[127.0.0.1]:$port faultuser:fault-pass
	EOF
	chmod 600 "$dir/sasl_passwd"
	[ -n "${FAULTS_DELIVERY_USER:-}" ] && chown "$FAULTS_DELIVERY_USER" "$dir/sasl_passwd"
	cat > "$dir/tlsrelay.conf" <<-EOF
	# written by tests/peer/test_faults.sh, case $step $fault
	relayhost = [127.0.0.1]:$port
	tls_security_level = encrypt
	sasl_password_map = $dir/sasl_passwd
	helo_name = client.test
	syslog = no
	connect_timeout = ${CONNECT_T}s
	command_timeout = ${COMMAND_T}s
	data_timeout = ${DATA_T}s
	deadline = ${DEADLINE}s
	mx_address_limit = 1
	spool_directory = $T/spool
	EOF
	t0=$(date +%s%N)
	timeout -k 5 60 "$TLSRELAY" -c "$dir/tlsrelay.conf" -f sender@example.test \
		-- one@example.test two@example.test < "$msg" > "$dir/stdout" 2> "$dir/stderr"
	rc=$?
	t1=$(date +%s%N)
	echo "$rc" > "$dir/rc"
	echo $(((t1 - t0) / 1000000)) > "$dir/elapsed_ms"
	if [ -n "$pid" ]; then
		stop_pid "$pid"     # the peer writes its report as it stops
	else
		printf 'conns=0\npeer_errors=0\npeer_exit=1\nmail_plain=0\nauth_plain=0\nall_data=\naccepted_data=\n' \
			> "$dir/report"
	fi
}

# shellcheck disable=SC2317 # called through at_exit
stop_leftovers() {	# peers of cases that did not finish (the test was interrupted)
	local pid
	while read -r pid; do
		# only a peer of ours: its command line names our case directory
		[ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$T/cases/" &&
			kill "$pid" 2>/dev/null
	done < "$T/pids"
	jobs -p | while read -r pid; do kill "$pid" 2>/dev/null; done
}
at_exit stop_leftovers

# --------------------------------------------------------------- checks
declare -A R     # the current case's peer report
timeout_of() {	# timeout_of NAME: seconds of tlsrelay's connect, command or data timeout
	case $1 in
	connect) echo "$CONNECT_T" ;; command) echo "$COMMAND_T" ;; data) echo "$DATA_T" ;; deadline) echo "$DEADLINE" ;;
	esac
}

check_case() {	# check_case STEP FAULT EXIT DSN_RE GOT TMO
	local step=$1 fault=$2 exp_rc=$3 exp_dsn=$4 exp_got=$5 tmo=$6
	local name="$1 $2" dir=$T/cases/$1-$2 rc first ms got viol='' lim diag k v
	tap_expect 5	# exit, output, what the peer got, invariants, time
	if [ -s "$dir/error" ] || [ ! -s "$dir/rc" ]; then
		tap_ok 0 "$name: case ran" "$(cat "$dir/error" 2>/dev/null)"
		return
	fi
	rc=$(<"$dir/rc") ms=$(<"$dir/elapsed_ms") first=''
	IFS= read -r first < "$dir/stdout"
	R=()
	while IFS='=' read -r k v; do R[$k]=$v; done < "$dir/report"
	diag="exit $rc after $ms ms; output: $(head -c 300 "$dir/stdout")
peer: $(grep -E '^c[0-9]+\.trace=' "$dir/report" | head -n 3)
log: $(tail -n 5 "$dir/stderr")"
	tap_status "$([ "$rc" = "$exp_rc" ]; echo $?)" "$name: exit $exp_rc" "$diag"
	if [ "$exp_dsn" = - ]; then
		tap_status "$([ -z "$first" ]; echo $?)" "$name: no output" "$diag"
	else
		[[ $first =~ $exp_dsn ]] && [[ $first =~ ^[245]\.[0-9]{1,3}\.[0-9]{1,3}\  ]]
		tap_status $? "$name: output line matches $exp_dsn" "$diag"
	fi
	got=no
	[ -n "${R[all_data]:-}" ] && got=data
	[ -n "${R[accepted_data]:-}" ] && got=acc
	[[ "|$exp_got|" == *"|$got|"* ]]
	tap_status $? "$name: peer got $exp_got" "got: $got; $diag"
	[ "$rc" = 0 ] && [ "$got" != acc ] && viol="exit 0 without a 2xx to the end of data; "
	[ "${R[mail_plain]:-}" = 0 ] || viol="${viol}MAIL FROM in plaintext; "
	[ "${R[auth_plain]:-}" = 0 ] || viol="${viol}AUTH in plaintext; "
	[ "${R[peer_errors]:-}" = 0 ] || viol="${viol}peer.py internal error; "
	[ "${R[peer_exit]:-}" = 1 ] || viol="${viol}peer.py did not stop cleanly; "
	tap_status "$([ -z "$viol" ]; echo $?)" "$name: invariants (exit 0 only after 2xx to the dot, no plaintext MAIL/AUTH)" \
		"$viol$diag"
	lim=$(((DEADLINE + 3) * 1000))
	if [ "$tmo" != - ]; then
		lim=$((($(timeout_of "$tmo") + SLACK) * 1000))
		tap_status "$([ "$ms" -le "$lim" ]; echo $?)" "$name: ended by the $tmo timeout ($(timeout_of "$tmo") s, +$SLACK s slack)" "$diag"
	else
		tap_status "$([ "$ms" -le "$lim" ]; echo $?)" "$name: finished within the deadline (+3 s)" "$diag"
	fi
}

# ------------------------------------------------------------------- run
tap_diag "tlsrelay: $TLSRELAY; peer: $PY $PEER; $JOBS cases at a time"
awk '$3 != "n/a" { print $1, $2 }' <<< "$FAULTS" > "$T/cases.txt"
gen_scenarios "$T/cases.txt" || tap_bail "cannot write the scenarios"
t_start=$(date +%s)
while read -r step fault exp_rc _; do
	[ "$exp_rc" = n/a ] && continue
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n 2>/dev/null || sleep 0.1; done
	run_case "$step" "$fault" &
done <<< "$FAULTS"
wait
tap_diag "all cases ran in $(($(date +%s) - t_start)) s"

while read -r step fault exp_rc exp_dsn exp_got tmo; do
	if [ "$exp_rc" = n/a ]; then
		tap_expect 1
		tap_skip "$step $fault" "n/a: $exp_dsn $exp_got $tmo"
		continue
	fi
	check_case "$step" "$fault" "$exp_rc" "$exp_dsn" "$exp_got" "$tmo"
done <<< "$FAULTS"

tap_done
