#!/bin/bash
# tests/peer/test_integrity.sh - message integrity and round trips: the bytes
# tests/peer/peer.py received are compared with the expected canonical bytes
# (CR LF, un-dot-stuffed, a leading "From " line dropped, lines over 998
# octets folded with CR LF SPACE), over BDAT (CHUNKING) and DATA.
#
# One fresh peer per case; the CASES table below gives scenario
# (tests/peer/scenarios/NAME.json), message, expected exit status, DSN prefix
# of the first output line ("-": no output), where the peer accepted the
# message ("tls" or "none"), recipients, options and checks.
#
# Round trips (issue 5), counted without timing from the peer's transcript:
# a "flight" is one read by the peer (TLS: one record). round_trips is, per
# connection, 1 (TCP connect) + 1 (the greeting awaited) + 1 per TLS
# handshake + 1 per read that brought commands, QUIT excluded (its reply is
# not awaited) - the times the client sends and waits. With STARTTLS:
#   CHUNKING+PIPELINING: connect, greeting, EHLO, STARTTLS, handshake, EHLO,
#     MAIL+RCPT+BDAT n LAST+body (one read)                          = 7
#   PIPELINING only: ... EHLO, MAIL+RCPT+DATA (one read), body+dot (one
#     read)                                                          = 8
# (the 10 KB message fits one 16 KiB TLS record with the commands).
#
# Memory (issue 4): peak RSS (/usr/bin/time -f %M) of tlsrelay delivering
# 100 MB stays within RSS_SLACK_KB of a 10 KB delivery, over BDAT and over
# DATA; the peer discards the 100 MB, checking its size and SHA-256.
# A resource bound, not a timing; the 100 MB cases take a few seconds.
#
# After every case (invariants): every message the peer accepted equals the
# expected bytes (or SHA-256), exit 0 only after a 2xx to the end of data
# (BDAT LAST or the dot), no body bytes outside DATA/BDAT, tlsrelay
# finished, peer.py had no internal error.
#
# By hand: top_builddir=BUILD INT_ONLY='^bdat' bash tests/peer/test_integrity.sh
# (INT_ONLY: run only the cases whose name matches; TLSRELAY_KEEP_TMP=1 keeps them).
#
# Needs python3 (skips without it), /usr/bin/time (the memory cases skip
# without it) and the built tlsrelay ($TLSRELAY_BIN, else
# $top_builddir/plugin/transport/tlsrelay). Only 127.0.0.1.

: "${top_builddir:=/tmp/pb}"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

peer_init
require_cmd timeout cmp sha256sum
peer_require_tlsrelay
RSS_SLACK_KB=2048

make_tmpdir
T=$TEST_TMP
M=$T/msgs
mkdir -p "$T/spool" "$T/cases" "$M"

# ---------------------------------------------------------------- messages
# $M/NAME.in is what the MTA gives tlsrelay, $M/NAME.canon what must arrive,
# $M/NAME.sha its SHA-256 (for the cases where the peer keeps no bytes).
"$PY" - "$M" <<'PYEOF' || tap_bail "cannot write the messages"
import hashlib, os, random, sys
d = sys.argv[1]
H = b"Subject: integrity\n\n"
HC = b"Subject: integrity\r\n\r\n"
def put(name, raw, canon):
    open(os.path.join(d, name + ".in"), "wb").write(raw)
    open(os.path.join(d, name + ".canon"), "wb").write(canon)
    open(os.path.join(d, name + ".sha"), "w").write(hashlib.sha256(canon).hexdigest() + "\n")
def fold(line):            # what a line over 998 octets becomes
    out, first = [], True
    while len(line) > (998 if first else 997):
        n = 998 if first else 997
        out.append(line[:n]); line = line[n:]; first = False
    out.append(line)
    return b"\r\n ".join(out)
put("dots", H + b".leading dot\n..two dots\n.\n...\n. \nmiddle.\n.\n",
    HC + b".leading dot\r\n..two dots\r\n.\r\n...\r\n. \r\nmiddle.\r\n.\r\n")
put("lone_dot_last", H + b"text\n.", HC + b"text\r\n.\r\n")
put("no_final_newline", H + b"one\ntwo", HC + b"one\r\ntwo\r\n")
put("crlf", HC + b"a\r\nb\r\n\r\nc\r\n", HC + b"a\r\nb\r\n\r\nc\r\n")
put("lf", H + b"a\nb\n\nc\n", HC + b"a\r\nb\r\n\r\nc\r\n")
put("bare_cr", H + b"a\rb\r\rc\r", HC + b"a\r\nb\r\n\r\nc\r\n")
put("mixed", H + b"a\r\nb\nc\rd\r\r\ne\n\r", HC + b"a\r\nb\r\nc\r\nd\r\n\r\ne\r\n\r\n")
put("nul", H + b"a\x00b\n", HC + b"a\x00b\r\n")
put("utf8", "Subject: 8bit\n\nGrüße aus Köln, € and 你好\n".encode(),
    "Subject: 8bit\r\n\r\nGrüße aus Köln, € and 你好\r\n".encode())
put("from_line", b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n" + H + b"From inside stays\n",
    HC + b"From inside stays\r\n")
long1 = bytes(b"0123456789"[i % 10] for i in range(2500))
put("long_line", H + b"short\n" + long1 + b"\n.x" + long1 + b"\nend",
    HC + b"short\r\n" + fold(long1) + b"\r\n" + fold(b".x" + long1) + b"\r\nend\r\n")
put("empty", b"", b"")
# 10 KB, and about 3 MB (three 1 MiB BDAT chunks) of mixed lines
r = random.Random(20261122)
def lines(n_bytes):        # canonical size just under n_bytes
    raw, canon, size = [], [], 0
    while size < n_bytes - 2048:
        body = (b"." if r.random() < 0.3 else b"") + bytes(r.choice(b"ab.z \xc3\xa9") for _ in range(r.randrange(0, 990)))
        end = r.choice([b"\n", b"\r\n", b"\r\n"])
        raw.append(body + end); canon.append(body + b"\r\n"); size += len(body) + 2
    return b"".join(raw), b"".join(canon)
a, b = lines(10 * 1024)
put("10k", H + a, HC + b)
a, b = lines(3 * 1024 * 1024)
put("3m", H + a, HC + b)
# 100 MB: one 1 MB block of lines written 100 times (hash computed as written)
a, b = lines(1024 * 1024)
sha = hashlib.sha256(HC)
with open(os.path.join(d, "100m.in"), "wb") as f:
    f.write(H)
    for i in range(100):
        f.write(a); sha.update(b)
open(os.path.join(d, "100m.canon"), "wb").close()     # too big to keep: use the SHA-256
open(os.path.join(d, "100m.sha"), "w").write(sha.hexdigest() + "\n")
open(os.path.join(d, "100m.size"), "w").write("%d\n" % (len(HC) + 100 * len(b)))
PYEOF

# ------------------------------------------------------------------ cases
# name | scenario (int_NAME) | message | exit | DSN ("-": none) | delivered
# over | recipients | options (";"-separated: conf KEY=VALUE lines, rss)
# | checks (";"-separated, see run_check)
R=rcpt@example.test X=reject@example.test U=üser@example.test
CASES=$(cat <<EOF
dots-bdat            chunking         dots             0  -     tls  $R  -  bdat=1;one_flight;size
dots-data            pipelining       dots             0  -     tls  $R  -  data;one_flight;size
dots-bdat-serial     chunking_serial  dots             0  -     tls  $R  -  bdat=1;serial
lone-dot-last-bdat   chunking         lone_dot_last    0  -     tls  $R  -  bdat=1
lone-dot-last-data   pipelining       lone_dot_last    0  -     tls  $R  -  data
no-final-nl-bdat     chunking         no_final_newline 0  -     tls  $R  -  bdat=1
no-final-nl-data     pipelining       no_final_newline 0  -     tls  $R  -  data
crlf-bdat            chunking         crlf             0  -     tls  $R  -  bdat=1
lf-bdat              chunking         lf               0  -     tls  $R  -  bdat=1
lf-data              pipelining       lf               0  -     tls  $R  -  data
bare-cr-bdat         chunking         bare_cr          0  -     tls  $R  -  bdat=1
bare-cr-data         pipelining       bare_cr          0  -     tls  $R  -  data
mixed-bdat           chunking         mixed            0  -     tls  $R  -  bdat=1
mixed-data           pipelining       mixed            0  -     tls  $R  -  data
from-line-bdat       chunking         from_line        0  -     tls  $R  -  bdat=1
empty-bdat           chunking         empty            0  -     tls  $R  -  bdat=1;bdat0
empty-data           pipelining       empty            0  -     tls  $R  -  data
nul-refused          chunking         nul              65 5.6.0 none $R  -  no_conn
utf8-8bitmime-bdat   chunking         utf8             0  -     tls  $R  -  bdat=1;body8
utf8-8bitmime-data   pipelining       utf8             0  -     tls  $R  -  data;body8
utf8-no-8bitmime     7bit             utf8             0  -     tls  $R  -  bdat=1;no_body8;no_size
smtputf8             chunking         lf               0  -     tls  $U  -  smtputf8
smtputf8-sender      chunking         lf               0  -     tls  $R  sender=sénder@example.test  smtputf8
no-smtputf8          7bit             lf               69 5.6.7 none $U  -  no_mail
long-line-bdat       chunking         long_line        0  -     tls  $R  -  bdat=1;max998;size
long-line-data       pipelining       long_line        0  -     tls  $R  -  data;max998
size-refused         size_1000        10k              69 5.3.4 none $R  -  no_mail
size-fits            size_1000        lf               0  -     tls  $R  -  size
multi-chunk-bdat     chunking         3m               0  -     tls  $R  -  bdat=3;chunked
multi-chunk-serial   chunking_serial  3m               0  -     tls  $R  -  bdat=3;serial
multi-chunk-data     pipelining       3m               0  -     tls  $R  -  data
no-chunking-conf     chunking         dots             0  -     tls  $R  use_chunking=no  data;one_flight
rt-chunking          chunking         10k              0  -     tls  $R  -  bdat=1;one_flight;rt=7
rt-pipelining        pipelining       10k              0  -     tls  $R  -  data;one_flight;data_one_read;rt=8
rcpt-all-refused     rcpt_refused     dots             67 5.1.1 none $X  -  bdat=1;no_accept
rcpt-one-refused     rcpt_refused     dots             75 4.3.0 tls  $X,$R  -  bdat=1
bdat-554             bdat_554         dots             69 5.6.0 none $R  -  bdat=1
bdat-451             bdat_451         dots             75 4.3.0 none $R  -  bdat=1
bdat-close           bdat_drop        dots             75 4.4.2 none $R  -  bdat=1
bdat-last-silent     bdat_last_silent dots             75 4.4.2 none $R  command_timeout=2s  bdat=1;says=timeout
bdat2-close          bdat2_drop       3m               75 4.4.2 none $R  -  bdat=2
bdat2-554            bdat2_554        3m               69 5.3.0 none $R  -  bdat=3
bdat2-452-last-250   bdat2_452_last_250 3m             75 4.5.0 none $R  -  bdat=3
rss-10k-bdat         big_discard      10k              0  -     tls  $R  rss  bdat=1;sha
rss-100m-bdat        big_discard      100m             0  -     tls  $R  rss;deadline=120s  bdat=100;sha;rss_flat=rss-10k-bdat
rss-10k-data         big_discard_data 10k              0  -     tls  $R  rss  data;sha
rss-100m-data        big_discard_data 100m             0  -     tls  $R  rss;deadline=120s  data;sha;rss_flat=rss-10k-data
EOF
)

# ----------------------------------------------------------------- helpers
# run_case NAME SCENARIO MSG RCPTS OPTS: peer + tlsrelay (level encrypt);
# sets DIR, RC, MSG; with option rss, $DIR/rss holds the peak RSS in KB.
run_case() {
	local name=$1 scen=$2 msg=$3 rcpts=$4 opts=$5 opt sender=sender@example.test rss=
	local -a conf=() rcpt=() wrap=()
	DIR=$T/cases/$name MSG=$msg
	IFS=';' read -r -a _opts <<< "${opts#-}"
	for opt in "${_opts[@]}"; do
		case $opt in
		rss) rss=1 ;;
		sender=*) sender=${opt#sender=} ;;
		*=*) conf+=("${opt%%=*} = ${opt#*=}") ;;
		'') ;;
		*) tap_bail "case $name: unknown option $opt" ;;
		esac
	done
	IFS=',' read -r -a rcpt <<< "$rcpts"
	start_peer "int_$scen" "$DIR" || tap_bail "case $name: peer.py did not start"
	{
		echo "# written by tests/peer/test_integrity.sh, case $name"
		echo "relayhost = [127.0.0.1]:$PEER_PORT"
		echo "tls_security_level = encrypt"
		echo "helo_name = client.test"
		echo "syslog = no"
		echo "connect_timeout = 5s"
		echo "command_timeout = 20s"
		echo "data_timeout = 20s"
		echo "deadline = 40s"
		echo "spool_directory = $T/spool"
		printf '%s\n' "${conf[@]}"
	} > "$DIR/tlsrelay.conf"
	[ -n "$rss" ] && wrap=(/usr/bin/time -f %M -o "$DIR/rss")
	timeout -k 5 100 "${wrap[@]}" "$TLSRELAY" -c "$DIR/tlsrelay.conf" -f "$sender" -- "${rcpt[@]}" \
		< "$M/$msg.in" > "$DIR/stdout" 2> "$DIR/stderr"
	RC=$?
	peer_report
}

# invariants CASE: one line per violated invariant
invariants() {
	local f sha want
	want=$(cat "$M/$MSG.sha")
	for sha in $(rg accepted_sha256); do
		[ "$sha" = "$want" ] || echo "an accepted message has SHA-256 $sha, want $want ($MSG.canon)"
	done
	for f in $(rg accepted_data); do     # stored ones (not with "store_data": false)
		[ -s "$DIR/$f" ] || [ ! -s "$M/$MSG.canon" ] || continue
		cmp -s "$DIR/$f" "$M/$MSG.canon" ||
			echo "accepted message $f differs from $MSG.canon: $(cmp "$DIR/$f" "$M/$MSG.canon" 2>&1 | head -n 1)"
	done
	if [ "$RC" = 0 ] && [ -z "$(rg accepted_data)" ]; then
		echo "exit 0, but the peer never answered 2xx to the end of data"
	fi
	[ "$(rg unknown)" = 0 ] || echo "$(rg unknown) lines that are not SMTP commands (body outside DATA/BDAT?)"
	case $RC in 124|137) echo "tlsrelay did not finish within 100 s (killed)" ;; esac
	[ "$(rg peer_errors)" = 0 ] || echo "peer.py internal error (harness bug): see transcript"
	[ "$(rg peer_exit)" = 1 ] || echo "peer.py did not stop cleanly"
}

# run_check CHECK: 0 if it holds; diagnostic on stdout
run_check() {
	local mail bd nb size
	mail=$(rg mail_lines) bd=$(rg bdat_lines)
	case $1 in
	bdat=*)
		nb=$(grep -o 'BDAT [0-9]*' <<< "$bd" | wc -l)
		[ "$nb" = "${1#bdat=}" ] || { echo "want ${1#bdat=} BDAT commands, got $nb: ${bd:0:300}"; return 1; }
		[ -z "$(rg data_reads)" ] || { echo "DATA used besides BDAT"; return 1; }
		if [ "$RC" = 0 ]; then
			[[ $bd == *" LAST" ]] || { echo "the last BDAT lacks LAST: ${bd: -100}"; return 1; }
			[ "$(grep -o ' LAST' <<< "$bd" | wc -l)" = 1 ] || { echo "LAST more than once"; return 1; }
		fi ;;
	bdat0) [ "$bd" = "BDAT 0 LAST" ] || { echo "want 'BDAT 0 LAST', got: $bd"; return 1; } ;;
	data)
		[ -z "$bd" ] || { echo "BDAT used: $bd"; return 1; }
		[ -n "$(rg data_reads)" ] || { echo "no DATA message"; return 1; } ;;
	chunked)
		[[ $bd == "BDAT 1048576 | BDAT 1048576 | BDAT "*" LAST" ]] || { echo "want two 1 MiB chunks then LAST: $bd"; return 1; } ;;
	one_flight)
		[ "$(rg txn_cmds)" -ge 3 ] && [ "$(rg txn_flights)" = 1 ] ||
			{ echo "MAIL/RCPT/(DATA|BDAT) ($(rg txn_cmds) commands) in $(rg txn_flights) reads, want 1"; return 1; }
		if [ -n "$bd" ]; then
			[ "$(rg bdat_reads | cut -d' ' -f1)" = 0 ] || { echo "the BDAT data needed $(rg bdat_reads) more reads: not one flight"; return 1; }
		fi ;;
	data_one_read) [ "$(rg data_reads)" = 1 ] || { echo "body and dot in $(rg data_reads) reads, want 1"; return 1; } ;;
	serial)
		[ "$(rg txn_cmds)" -ge 3 ] && [ "$(rg txn_flights)" = "$(rg txn_cmds)" ] ||
			{ echo "MAIL/RCPT/BDAT ($(rg txn_cmds) commands) in $(rg txn_flights) reads, want one each"; return 1; }
		nb=$(grep -o 'BDAT' <<< "$bd" | wc -l)
		[ "$(rg flights | tr ' ' '\n' | grep -c ':1$')" -ge $((nb + 4)) ] ||
			{ echo "flights $(rg flights): BDAT chunks not one per read"; return 1; } ;;
	rt=*) [ "$(rg round_trips)" = "${1#rt=}" ] || { echo "round trips $(rg round_trips), want ${1#rt=}; flights $(rg flights)"; return 1; } ;;
	size)
		size=$(wc -c < "$M/$MSG.canon")
		[[ $mail == *" SIZE=$size"* ]] || { echo "want SIZE=$size in: $mail"; return 1; } ;;
	no_size) [[ -n $mail && $mail != *"SIZE="* ]] || { echo "SIZE= sent without SIZE: $mail"; return 1; } ;;
	body8) [[ $mail == *" BODY=8BITMIME"* ]] || { echo "no BODY=8BITMIME in: $mail"; return 1; } ;;
	no_body8) [[ -n $mail && $mail != *"BODY="* ]] || { echo "BODY= sent without 8BITMIME: $mail"; return 1; } ;;
	smtputf8) [[ $mail == *" SMTPUTF8"* ]] || { echo "want MAIL ... SMTPUTF8: $mail"; return 1; } ;;
	no_mail) [ -z "$mail" ] || { echo "MAIL was sent: $mail"; return 1; } ;;
	no_conn) [ "$(rg conns)" = 0 ] || { echo "$(rg conns) connections: something was sent"; return 1; } ;;
	says=*) grep -q -- "${1#says=}" "$DIR/stdout" || { echo "output lacks '${1#says=}': $(head -c 300 "$DIR/stdout")"; return 1; } ;;
	no_accept) [ -z "$(rg accepted_data)" ] || { echo "the peer accepted $(rg accepted_data)"; return 1; } ;;
	max998)
		nb=$(tr -d '\r' < "$DIR/$(rg accepted_data)" | awk 'length > 998' | wc -l)
		[ "$nb" = 0 ] || { echo "$nb lines over 998 octets arrived"; return 1; } ;;
	sha) [ "$(rg data_sha256)" = "$(cat "$M/$MSG.sha")" ] || { echo "SHA-256 $(rg data_sha256), want $(cat "$M/$MSG.sha")"; return 1; }
		[ -e "$M/$MSG.size" ] || return 0
		[ "$(rg data_bytes)" = "$(cat "$M/$MSG.size")" ] || { echo "$(rg data_bytes) bytes, want $(cat "$M/$MSG.size")"; return 1; } ;;
	rss_flat=*)
		local base=${RSS[${1#rss_flat=}]:-}
		[ -n "$base" ] && [ -n "$RSS_KB" ] || { echo "no RSS figure (base '${base}', this '${RSS_KB}')"; return 1; }
		echo "peak RSS ${RSS_KB} KB, ${1#rss_flat=} ${base} KB (+$((RSS_KB - base)) KB, bound +$RSS_SLACK_KB KB)"
		[ $((RSS_KB - base)) -le $RSS_SLACK_KB ] || return 1 ;;
	*) tap_bail "unknown check $1" ;;
	esac
	return 0
}

# ------------------------------------------------------------------- run
# The cases run JOBS at a time (each has its own peer, port and directory;
# results in files), those with option rss alone at the end; then the TAP
# points are evaluated in table order.
JOBS=${INT_JOBS:-3}
tap_diag "tlsrelay: $TLSRELAY; peer: $PY $PEER; $JOBS cases at a time"
run_bg() {	# run_bg NAME SCEN MSG RCPTS OPTS: run_case in a subshell, results in files
	(
		t0=$(date +%s%N)
		run_case "$@"
		echo "$RC" > "$DIR/rc"
		echo $((($(date +%s%N) - t0) / 1000000)) > "$DIR/ms"
	) > "$T/cases/$1.run" 2>&1
}
selected() {	# selected NAME OPTS: in INT_ONLY, and runnable
	[[ $1 =~ ${INT_ONLY:-.} ]] || return 1
	[[ ";$2;" != *";rss;"* ]] || [ -x /usr/bin/time ]
}
running=0
while read -r name scen msg exp_rc exp_dsn exp_over rcpts opts checks; do
	case $name in ''|'#'*) continue ;; esac
	selected "$name" "$opts" || continue
	[ -f "$SCEN/int_$scen.json" ] || tap_bail "case $name: no scenario int_$scen.json"
	[[ ";$opts;" == *";rss;"* ]] && continue
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_bg "$name" "$scen" "$msg" "$rcpts" "$opts" &
	running=$((running + 1))
done <<< "$CASES"
wait
while read -r name scen msg exp_rc exp_dsn exp_over rcpts opts checks; do
	case $name in ''|'#'*) continue ;; esac
	selected "$name" "$opts" && [[ ";$opts;" == *";rss;"* ]] && run_bg "$name" "$scen" "$msg" "$rcpts" "$opts"
done <<< "$CASES"

declare -A RSS
while read -r name scen msg exp_rc exp_dsn exp_over rcpts opts checks; do
	case $name in ''|'#'*) continue ;; esac
	if [[ $name =~ ${INT_ONLY:-.} ]] && ! selected "$name" "$opts"; then
		tap_expect 1
		tap_skip "$name" "no /usr/bin/time (Debian package time)"
		continue
	fi
	selected "$name" "$opts" || continue
	peer_case_start "$name" "int_$scen" -
	peer_case_expect 4 "$checks"		# rc, dsn, over, inv
	DIR=$T/cases/$name MSG=$msg
	RC=$(cat "$DIR/rc" 2>/dev/null) || tap_bail "case $name did not run: $(head -c 500 "$T/cases/$name.run")"
	RSS_KB=$(tail -n 1 "$DIR/rss" 2>/dev/null)
	tap_diag "$name: $(cat "$DIR/ms") ms${RSS_KB:+, peak RSS $RSS_KB KB}"
	[ -n "$RSS_KB" ] && RSS[$name]=$RSS_KB
	peer_outcome_points "$name" "$name" "$exp_rc" "$exp_dsn" "$exp_over"
	viol=$(invariants)
	point inv "$([ -z "$viol" ]; echo $?)" "$name: invariants" "$viol"
	peer_check_points "$name" "$checks"
	if [ "$FAILED" = 1 ]; then
		tap_diag "---- $name: exit $RC; output: $(head -c 300 "$DIR/stdout")"
		tap_diag "$(grep -E '^(c[0-9]*\.trace|flights|mail_lines|bdat_lines|round_trips)=' "$DIR/report" | cut -c1-400)"
		tap_diag "$(head -c 1500 "$DIR/stderr")"
	fi
done <<< "$CASES"
rm -f "$M/100m.in" "$T/spool"/*

tap_done
