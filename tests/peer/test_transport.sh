#!/bin/bash
# tests/peer/test_transport.sh - the tlsrelay transport program against
# tests/peer/peer.py, a scripted adversarial SMTP server on 127.0.0.1.
#
# One fresh peer (new port, new transcript) per case. The cases are the
# CASES table below: scenario (tests/peer/scenarios/NAME.json), TLS level,
# expected exit status, expected DSN prefix of the first output line,
# expected "delivered over" (where the peer answered 2xx to the end of data:
# tls, plain or none), recipients, options and extra checks.
#
# After every case these invariants are checked on the peer's transcript:
#   - level encrypt: no MAIL FROM and no AUTH in plaintext
#   - level none: no STARTTLS
#   - no command (nor any byte) after an injected STARTTLS reply
#   - STARTTLS at most once per connection
#   - every message the peer accepted (2xx to the end of data) equals the
#     canonical input byte for byte (CR LF, un-dot-stuffed)
#   - exit 0 only if the peer answered 2xx to the end of data
#   - tlsrelay finished (each run is bounded by timeout 60), peer.py had
#     no internal error and stopped cleanly
# A failing case is re-run with tlsrelay -vv; its log and the transcript are
# printed as TAP comments.
#
# Needs python3 (skips without it) and the built tlsrelay:
# $TLSRELAY_BIN, else $top_builddir/plugin/transport/tlsrelay
# ($top_builddir defaults to /tmp/pb for manual runs).
# Only 127.0.0.1; every process is stopped by its PID at exit.

: "${top_builddir:=/tmp/pb}"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

peer_init
require_cmd timeout cmp
peer_require_tlsrelay

make_tmpdir
T=$TEST_TMP
mkdir -p "$T/spool" "$T/cases"

# ---------------------------------------------------------------- messages
# msg.in is what the MTA gives tlsrelay; msg.canon is what must arrive: a
# leading mbox "From " line dropped, LF and bare CR made CR LF, the last line
# terminated, lines starting with "." intact after dot-stuffing (larger than
# 100 bytes, for the SIZE case).
{
	printf 'From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n'
	printf 'Subject: peer test\n'
	printf 'X-Mixed: this header ends in CR LF\r\n'
	printf 'Message-ID: <peer-test@example.test>\n'
	printf '\n'
	printf '.leading dot\n'
	printf '..two leading dots\n'
	printf '.\n'
	printf 'bare\rCR\n'
	printf 'From inside the body stays\n'
	printf '%0200d\n' 0 | tr 0 x
	printf 'last line without newline'
} > "$T/msg.in"
{
	printf 'Subject: peer test\r\n'
	printf 'X-Mixed: this header ends in CR LF\r\n'
	printf 'Message-ID: <peer-test@example.test>\r\n'
	printf '\r\n'
	printf '.leading dot\r\n'
	printf '..two leading dots\r\n'
	printf '.\r\n'
	printf 'bare\r\nCR\r\n'
	printf 'From inside the body stays\r\n'
	printf '%0200d\r\n' 0 | tr 0 x
	printf 'last line without newline\r\n'
} > "$T/msg.canon"
printf 'Subject: 8bit\n\nGr\303\274\303\237e aus K\303\266ln, \342\202\254 and \344\275\240\345\245\275\n.\n' > "$T/msg8.in"
printf 'Subject: 8bit\r\n\r\nGr\303\274\303\237e aus K\303\266ln, \342\202\254 and \344\275\240\345\245\275\r\n.\r\n' > "$T/msg8.canon"
# msgbig: about 2 MB of lines that often start with "." (some are just "."),
# ending in LF, CR LF or a bare CR at random, so that line ends and dots fall
# on every position of tlsrelay's 64 KB read and dot-stuffing chunks.
"$PY" - "$T/msgbig.in" "$T/msgbig.canon" <<'PYEOF' || tap_bail "cannot write msgbig"
import random, sys
r = random.Random(20260101)
raw, canon, prev = [b"Subject: big\n\n"], [b"Subject: big\r\n\r\n"], b"\n"
for i in range(4000):
    body = (b"." if r.random() < 0.5 else b"") + bytes(r.choice(b"ab.z ") for _ in range(r.randrange(0, 998)))
    if prev == b"\r" and body == b"":
        body = b"."        # CR then LF would be one line end, not two
    prev = r.choice([b"\n", b"\r\n", b"\r"])
    raw.append(body + prev)
    canon.append(body + b"\r\n")
open(sys.argv[1], "wb").write(b"".join(raw))
open(sys.argv[2], "wb").write(b"".join(canon))
PYEOF

# ------------------------------------------------------------------ cases
# name | scenario | level | exit | DSN prefix ("-": no output) | delivered over |
# recipients (comma-separated) | options (";"-separated: msg=8bit, notify=X,
# ret=X, envid=X, msg=big, timeout=SECS (command_timeout), smtps) | checks
# (";"-separated, see run_check) | optional TODO: "ASPECTS: reason" where
# ASPECTS is a comma list of rc, dsn, over, inv and check names (known
# failures of tlsrelay: reported as "not ok ... # TODO").
R=rcpt@example.test
CASES=$(cat <<EOF
good-may            good               may     0  -      tls   $R  -  one_conn;no_helo
good-encrypt        good               encrypt 0  -      tls   $R  -  one_conn
good-none           good               none    0  -      plain $R  -  one_conn;no_starttls
nostarttls-may      no_starttls        may     0  -      plain $R  -  one_conn;no_starttls
nostarttls-encrypt  no_starttls        encrypt 75 4.7.4  none  $R  -  no_mail;no_starttls
starttls454-may     starttls_454       may     0  -      plain $R  -  one_conn
starttls454-encrypt starttls_454       encrypt 75 4.7.4  none  $R  -  no_mail
starttls502-may     starttls_502       may     0  -      plain $R  -  one_conn
starttls502-encrypt starttls_502       encrypt 75 4.7.4  none  $R  -  no_mail
starttls500-may     starttls_hidden    may     0  -      plain $R  -  one_conn
starttls500-encrypt starttls_hidden    encrypt 75 4.7.4  none  $R  -  no_mail
starttls421-may     starttls_421       may     75 4.     none  $R  -  no_mail;one_conn
starttls421-encrypt starttls_421       encrypt 75 4.     none  $R  -  no_mail;one_conn
starttls354-may     starttls_354       may     0  -      plain $R  -  plain_retry
starttls354-encrypt starttls_354       encrypt 75 4.7.4  none  $R  -  no_mail;one_conn
injection-may       starttls_injection may     0  -      plain $R  -  plain_retry
injection-encrypt   starttls_injection encrypt 75 4.7.   none  $R  -  no_mail;one_conn
garbage-may         starttls_garbage   may     0  -      plain $R  -  plain_retry
garbage-encrypt     starttls_garbage   encrypt 75 4.7.5  none  $R  -  no_mail;one_conn
tlsclose-may        starttls_close     may     0  -      plain $R  -  plain_retry
tlsclose-encrypt    starttls_close     encrypt 75 4.7.5  none  $R  -  no_mail;one_conn
starttls-again      starttls_again     encrypt 0  -      tls   $R  -  one_conn
caps-forgotten      caps_forgotten     encrypt 0  -      tls   $R  -  serial;no_size
ehlo-tls-refused    ehlo_tls_502       may     75 4.     none  $R  -  no_mail;one_conn
ehlo502-may         ehlo_502           may     0  -      plain $R  -  helo;no_starttls;serial
ehlo502-encrypt     ehlo_502           encrypt 75 4.7.4  none  $R  -  helo;no_mail;no_starttls
helo-refused        helo_550           may     75 4.     none  $R  -  helo;no_mail
greeting421         greeting_421       may     75 4.     none  $R  -  no_ehlo;one_conn
greeting554         greeting_554       may     75 4.     none  $R  -  no_ehlo;one_conn
mail451             mail_451           may     75 4.3.0  none  $R  -  one_conn
mail550             mail_550           may     69 5.7.1  none  $R  -  one_conn
rcpt450             rcpt_by_address    may     75 4.2.0  none  tempfail@example.test  -  one_conn
rcpt550             rcpt_by_address    may     67 5.1.1  none  reject@example.test    -  one_conn
rcpt-mixed          rcpt_by_address    may     75 4.3.0  tls   reject@example.test,$R -  one_conn
rcpt-421-close      rcpt_421           may     75 4.     none  busy@example.test      -  one_conn
data554             data_554           may     69 5.3.0  none  $R  -  one_conn
data250             data_250           may     75 4.5.0  none  $R  -  one_conn;no_unknown
pipelined-no-rcpt   pipelined_no_rcpt  may     67 5.1.1  none  reject@example.test  -  pipelined;empty_data;no_unknown
dot451              dot_451            may     75 4.3.0  none  $R  -  one_conn
dot250              dot_250            encrypt 0  -      tls   $R  -  one_conn
dot-drop            dot_drop           may     75 4.4.2  none  $R  -  one_conn
silent-after-ehlo   silent_after_ehlo  may     75 4.4.2  none  $R  timeout=2  no_mail;fast
smtps               smtps              encrypt 0  -      tls   $R  smtps      tls_first;no_starttls
smtps-plain-server  good               may     75 4.7.5  none  $R  smtps      one_conn;no_mail
selfsigned-encrypt  selfsigned_cert    encrypt 0  -      tls   $R  -  one_conn
expired-may         expired_cert       may     0  -      tls   $R  -  one_conn
pipelining          good               may     0  -      tls   $R  -  pipelined
big-message-tls     good               encrypt 0  -      tls   $R  msg=big    one_conn;no_unknown
big-message-plain   no_starttls        may     0  -      plain $R  msg=big    one_conn;no_unknown
no-pipelining       no_pipelining      may     0  -      tls   $R  -  serial
size100             size_100           may     69 5.3.4  none  $R  -  no_mail
8bitmime            good               may     0  -      tls   $R  msg=8bit   body8
no-8bitmime         no_8bitmime        may     0  -      tls   $R  msg=8bit;notify=success,failure;ret=hdrs  no_body8;no_dsn_params
dsn-notify          good               may     0  -      tls   $R  notify=success,failure  notify
dsn-ret-envid       good               may     0  -      tls   $R  ret=hdrs;envid=a+b=c ret_envid
utf8-no-smtputf8    good               may     69 5.6.7  none  üser@example.test  -  no_mail
utf8-smtputf8       smtputf8           may     0  -      tls   üser@example.test  -  smtputf8
malformed-reply     malformed_reply    may     75 4.5.0  none  $R  -  one_conn
long-line           long_line          may     75 4.5.0  none  $R  -  no_mail
endless-reply       endless_reply      may     75 4.5.0  none  $R  -  no_mail
EOF
)

# ----------------------------------------------------------------- helpers
# run_once NAME SCENARIO LEVEL RCPTS OPTS [VERBOSE]: peer + tlsrelay; sets
# RC, ELAPSED_MS, DIR (with stdout, stderr, report, transcript.jsonl).
run_once() {
	local name=$1 scen=$2 level=$3 rcpts=$4 opts=$5 verbose=${6:-} relay tmo=10 opt
	local -a args=() rcpt=()
	DIR=$T/cases/$name${verbose:+-vv}
	MSG=$T/msg.in CANON=$T/msg.canon
	relay='[127.0.0.1]'
	IFS=';' read -r -a _opts <<< "${opts#-}"
	for opt in "${_opts[@]}"; do
		case $opt in
		msg=8bit) MSG=$T/msg8.in CANON=$T/msg8.canon ;;
		msg=big) MSG=$T/msgbig.in CANON=$T/msgbig.canon ;;
		notify=*) args+=(-N "${opt#*=}") ;;
		ret=*) args+=(-R "${opt#*=}") ;;
		envid=*) args+=(-V "${opt#*=}") ;;
		timeout=*) tmo=${opt#*=} ;;
		smtps) relay='smtps:[127.0.0.1]' ;;
		'') ;;
		*) tap_bail "case $name: unknown option $opt" ;;
		esac
	done
	IFS=',' read -r -a rcpt <<< "$rcpts"
	[ -n "$verbose" ] && args=(-vv "${args[@]}")
	start_peer "$scen" "$DIR" || tap_bail "case $name: peer.py did not start"
	cat > "$DIR/tlsrelay.conf" <<-EOF
	# written by tests/peer/test_transport.sh, case $name
	relayhost = $relay:$PEER_PORT
	tls_security_level = $level
	helo_name = client.test
	syslog = no
	connect_timeout = 5s
	command_timeout = ${tmo}s
	data_timeout = 10s
	deadline = 30s
	spool_directory = $T/spool
	EOF
	peer_run_tlsrelay "$MSG" -f sender@example.test "${args[@]}" -- "${rcpt[@]}"
}

# invariants LEVEL: prints one line per violated invariant
invariants() {
	local level=$1
	if [ "$level" = encrypt ]; then
		[ "$(rg mail_plain)" = 0 ] || echo "MAIL FROM sent in plaintext under encrypt ($(rg mail_plain) times)"
		[ "$(rg auth_plain)" = 0 ] || echo "AUTH sent in plaintext under encrypt"
	fi
	if [ "$level" = none ]; then
		[ "$(rg starttls)" = 0 ] || echo "STARTTLS sent under level none"
	fi
	peer_invariants_common "$CANON"
}

# run_check NAME: 0 if the case-specific check holds; diagnostic on stdout
run_check() {
	local mail rcpt
	mail=$(rg mail_lines) rcpt=$(rg rcpt_lines)
	case $1 in
	no_mail) [ "$(rg mail_plain)" = 0 ] && [ "$(rg mail_tls)" = 0 ] || { echo "MAIL was sent: $mail"; return 1; } ;;
	no_starttls) [ "$(rg starttls)" = 0 ] || { echo "STARTTLS sent $(rg starttls) times"; return 1; } ;;
	no_ehlo) [ "$(rg ehlo)" = 0 ] && [ "$(rg helo)" = 0 ] || { echo "EHLO/HELO sent after a refused greeting"; return 1; } ;;
	helo) [ "$(rg helo)" -ge 1 ] || { echo "no HELO after EHLO was refused"; return 1; } ;;
	no_helo) [ "$(rg helo)" = 0 ] || { echo "HELO sent"; return 1; } ;;
	one_conn) [ "$(rg conns)" = 1 ] || { echo "$(rg conns) connections, want 1"; return 1; } ;;
	plain_retry)
		[ "$(rg conns)" = 2 ] || { echo "$(rg conns) connections, want 2 (a plaintext retry)"; return 1; }
		[ "$(rg starttls_conns)" = 1 ] || { echo "STARTTLS on connections '$(rg starttls_conns)', want '1' only"; return 1; } ;;
	pipelined)
		[ "$(rg txn_cmds)" -ge 3 ] && [ "$(rg txn_flights)" = 1 ] ||
			{ echo "MAIL/RCPT/DATA ($(rg txn_cmds) commands) arrived in $(rg txn_flights) reads, want 1"; return 1; } ;;
	serial)
		[ "$(rg txn_cmds)" -ge 3 ] && [ "$(rg txn_flights)" = "$(rg txn_cmds)" ] ||
			{ echo "MAIL/RCPT/DATA ($(rg txn_cmds) commands) arrived in $(rg txn_flights) reads, want one each"; return 1; } ;;
	body8) [[ $mail == *" BODY=8BITMIME"* ]] || { echo "no BODY=8BITMIME in: $mail"; return 1; } ;;
	no_body8) [[ $mail != *"BODY="* ]] || { echo "BODY= sent without 8BITMIME: $mail"; return 1; } ;;
	no_size) [[ -n $mail && $mail != *"SIZE="* ]] || { echo "SIZE= from the pre-TLS EHLO reply: $mail"; return 1; } ;;
	notify) [[ $rcpt == *" NOTIFY=SUCCESS,FAILURE"* ]] || { echo "no NOTIFY=SUCCESS,FAILURE in: $rcpt"; return 1; } ;;
	ret_envid) [[ $mail == *" RET=HDRS"* && $mail == *" ENVID=a+2Bb+3Dc"* ]] ||
			{ echo "want RET=HDRS ENVID=a+2Bb+3Dc in: $mail"; return 1; } ;;
	no_dsn_params) [[ -n $mail && $mail != *"RET="* && $rcpt != *"NOTIFY="* ]] ||
			{ echo "DSN parameters sent to a server without DSN: $mail / $rcpt"; return 1; } ;;
	smtputf8) [[ $mail == *" SMTPUTF8"* && $rcpt == *"üser@example.test"* ]] ||
			{ echo "want MAIL ... SMTPUTF8 and the UTF-8 address: $mail / $rcpt"; return 1; } ;;
	no_unknown) [ "$(rg unknown)" = 0 ] || { echo "$(rg unknown) lines that are not SMTP commands (body outside DATA?)"; return 1; } ;;
	empty_data) [ -n "$(rg all_data)" ] && [ -z "$(rg data_bytes | tr -d ' 0')" ] ||
			{ echo "want one empty message, got sizes '$(rg data_bytes)'"; return 1; } ;;
	tls_first) [ "$(rg tls_first)" = 1 ] || { echo "a command arrived before TLS (implicit TLS)"; return 1; } ;;
	fast) [ "$ELAPSED_MS" -le 20000 ] || { echo "took ${ELAPSED_MS} ms (hang guard: 20000)"; return 1; } ;;
	*) tap_bail "unknown check $1" ;;
	esac
	return 0
}

diagnose() {	# diagnose NAME SCEN LEVEL RCPTS OPTS VERBOSE
	local line
	tap_diag "---- $1: exit $RC after ${ELAPSED_MS} ms; output: $(head -c 300 "$DIR/stdout")"
	while IFS= read -r line; do
		case $line in c*.trace=*|flights=*|mail_lines=*|rcpt_lines=*) tap_diag "peer: $line" ;; esac
	done < "$DIR/report"
	[ "$6" = 1 ] || return 0
	run_once "$1" "$2" "$3" "$4" "$5" vv
	tap_diag "re-run with -vv: exit $RC, output: $(head -c 300 "$DIR/stdout")"
	tap_diag "$(head -n 60 "$DIR/stderr")"
	tap_diag "peer (re-run): $(grep '^c[0-9]*\.trace=' "$DIR/report")"
}

# ------------------------------------------------------------------- run
tap_diag "tlsrelay: $TLSRELAY; peer: $PY $PEER"
while read -r name scen level exp_rc exp_dsn exp_over rcpts opts checks todo; do
	case $name in ''|'#'*) continue ;; esac
	peer_case_start "$name" "$scen" "$todo"
	peer_case_expect 4 "$checks"		# rc, dsn, over, inv
	run_once "$name" "$scen" "$level" "$rcpts" "$opts"
	peer_outcome_points "$name" "$name ($level)" "$exp_rc" "$exp_dsn" "$exp_over"
	viol=$(invariants "$level")
	point inv "$([ -z "$viol" ]; echo $?)" "$name: transcript invariants" "$viol"
	peer_check_points "$name" "$checks"
	if [ "$FAILED" = 1 ] || [ "$KNOWN" = 1 ]; then
		diagnose "$name" "$scen" "$level" "$rcpts" "$opts" "$FAILED"
	fi
done <<< "$CASES"

tap_done
