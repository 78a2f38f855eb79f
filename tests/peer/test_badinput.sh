#!/bin/bash
# tests/peer/test_badinput.sh - bad input to the tlsrelay program: command
# line, configuration, standard input, spool. A good server
# (tests/peer/peer.py, scenario good) listens as the relay host all along.
#
# Every case: the documented exit status (tlsrelay(8) EXIT STATUS), exactly
# one output line that starts with the DSN and names the problem, no crash
# (no exit by a signal), and not one new connection to the server: input
# errors are found before anything is sent. Cases that must deliver (closed
# stdout or stderr) check that the server got the message byte for byte.
#
# Already covered elsewhere, not repeated: a sasl_password_map readable by
# others and more map errors (tests/peer/test_policy.sh), the settings
# syntax (tests/unit/test_config.c).
#
# Root-only cases (skipped one by one otherwise): a full spool file system
# (a 64 KB tmpfs mounted in a private mount namespace, unshare -m) and a
# configuration file that the run's user (nobody) cannot read.
# Needs python3 (skips without it) and the built tlsrelay. Only 127.0.0.1.

: "${top_builddir:=/tmp/pb}"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

peer_init
require_cmd timeout cmp
peer_require_tlsrelay

# The descriptor cases need the program itself: bash, running libtool's
# wrapper script, would hand it a different set of open descriptors.
REAL=("$TLSRELAY")
if grep -q 'temporary wrapper script for' "$TLSRELAY" 2>/dev/null; then
	"$TLSRELAY" </dev/null >/dev/null 2>&1     # (re)links .libs/ on first use
	REAL=(env "LD_LIBRARY_PATH=$top_builddir/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	      "$(dirname "$TLSRELAY")/.libs/$(basename "$TLSRELAY")")
	[ -x "${REAL[2]}" ] || tap_bail "libtool wrapper, but no ${REAL[2]}"
fi

make_tmpdir
T=$TEST_TMP
mkdir -p "$T/spool" "$T/cases"
DIR=$T/peer
start_peer good "$DIR" || tap_bail "peer.py did not start"
CONF=$T/tlsrelay.conf
peer_conf "$CONF"
printf 'Subject: bad input test\n\nbody\n' > "$T/msg.in"
printf 'Subject: bad input test\r\n\r\nbody\r\n' > "$T/msg.canon"
head -c 1048576 /dev/zero | tr '\0' 'x' | fold -w 100 > "$T/msg1m.in"
R=rcpt@example.test

conns() {	# connections the running peer accepted so far
	grep -c '"kind": "connect"' "$DIR/transcript.jsonl" 2>/dev/null
}

# check NAME EXIT REGEX: the run in $T/cases/NAME (rc, out) against the
# documented exit status and the output line; no new connection (three
# checks, declared here).
check() {
	local name=$1 exp_rc=$2 re=$3 d=$T/cases/$1 rc lines first
	tap_expect 3
	rc=$(<"$d/rc")
	lines=$(wc -l < "$d/out")
	first=$(head -n 1 "$d/out")
	tap_status "$([ "$rc" = "$exp_rc" ]; echo $?)" "$name: exit $exp_rc" "got exit $rc; output: $(head -c 400 "$d/out")"
	[ "$lines" = 1 ] && [[ $first =~ $re ]]
	tap_status $? "$name: one line matching $re" "got $lines lines: $(head -c 400 "$d/out")"
	tap_is "$(conns)" "$CONNS0" "$name: nothing sent (no connection to the server)"
}

# bad NAME EXIT REGEX STDIN ARG...: run tlsrelay with ARGs (no -c added),
# standard input from STDIN ("-": $T/msg.in; "closed"; a path); check.
bad() {
	local name=$1 exp_rc=$2 re=$3 in=$4 d=$T/cases/$1; shift 4
	mkdir -p "$d"
	CONNS0=$(conns)
	case $in in
	-) timeout -k 5 30 "${REAL[@]}" "$@" < "$T/msg.in" > "$d/out" 2>&1 ;;
	closed) timeout -k 5 30 "${REAL[@]}" "$@" <&- > "$d/out" 2>&1 ;;
	*) timeout -k 5 30 "${REAL[@]}" "$@" < "$in" > "$d/out" 2>&1 ;;
	esac
	echo $? > "$d/rc"
	check "$name" "$exp_rc" "$re"
}

# ------------------------------------------------------------ command line
bad no-recipient       78 '^4\.3\.5 tlsrelay: no recipients given$' - -c "$CONF" -f s@example.test
bad unknown-flag       78 '^4\.3\.5 tlsrelay: unknown option -x' - -c "$CONF" -x -- $R
bad missing-argument   78 '^4\.3\.5 tlsrelay: unknown option -f or missing argument' - -c "$CONF" -f
bad bad-o              78 '^4\.3\.5 tlsrelay: bad -o "relayhost": expected key=value' - -c "$CONF" -o relayhost -- $R
bad bad-nexthop        78 '^4\.3\.5 bad nexthop "\[127\.0\.0\.1": ' - -c "$CONF" -r '[127.0.0.1' -- $R
# -T (sendmail): the same errors exit 75, and the same line
bad T-unknown-flag     75 '^4\.3\.5 tlsrelay: unknown option -x' - -T -c "$CONF" -x -- $R
bad T-missing-config   75 '^4\.3\.5 tlsrelay: .*/missing\.conf: cannot open: No such file' - -T -c "$T/missing.conf" -- $R
bad T-bad-address      64 '^5\.1\.3 empty recipient address$' - -T -c "$CONF" -- ''
bad empty-recipient    64 '^5\.1\.3 empty recipient address$' - -c "$CONF" -- ''
bad space-recipient    64 '^5\.1\.3 bad address "a b@example\.test": white space outside a quoted local part$' \
	- -c "$CONF" -- 'a b@example.test'
bad bracket-recipient  64 '^5\.1\.3 bad address "<a@example\.test>": control character or angle bracket$' \
	- -c "$CONF" -- '<a@example.test>'
bad control-recipient  64 '^5\.1\.3 bad address "a\?b@example\.test": control character' \
	- -c "$CONF" -- $'a\x01b@example.test'
bad not-utf8-recipient 64 '^5\.1\.3 bad address "a\?@example\.test": not UTF-8$' \
	- -c "$CONF" -- $'a\xff@example.test'
bad long-recipient     64 '^5\.1\.3 address longer than 512 bytes$' \
	- -c "$CONF" -- "$(printf '%0600d' 0)@example.test"
bad one-bad-of-two     64 '^5\.1\.3 bad address "b c@example\.test"' - -c "$CONF" -- $R 'b c@example.test'
bad bad-sender         64 '^5\.1\.3 bad address "s s@example\.test": white space' - -c "$CONF" -f 's s@example.test' -- $R
bad bad-notify         64 '^5\.5\.4 bad DSN NOTIFY value "BOGUS"$' - -c "$CONF" -N bogus -- $R
bad bad-ret            64 '^5\.5\.4 bad DSN RET value "BOGUS": use FULL or HDRS$' - -c "$CONF" -R bogus -- $R
bad long-envid         64 '^5\.5\.4 DSN ENVID longer than 100 bytes$' - -c "$CONF" -V "$(printf '%0101d' 0)" -- $R
# -D (a recipient's DSN parameters): the library's rules, checked before
# the message is read; a count that is not the recipients' is the
# transport's command line (78)
bad D-bad-notify       64 '^5\.5\.4 tlsrelay: bad -D of recipient 1: bad NOTIFY "BOGUS": NEVER, or a list of SUCCESS, FAILURE, DELAY$' \
	- -c "$CONF" -D NOTIFY=bogus -- $R
bad D-bad-orcpt        64 '^5\.5\.4 tlsrelay: bad -D of recipient 1: bad ORCPT "rfc822;a\+2Gb@example\.test": want addr-type;xtext, at most 500 characters$' \
	- -c "$CONF" -D 'ORCPT=rfc822;a+2Gb@example.test' -- $R
bad D-long-orcpt       64 '^5\.5\.4 tlsrelay: bad -D of recipient 1: bad ORCPT "rfc822;0+": want addr-type;xtext, at most 500 characters$' \
	- -c "$CONF" -D "ORCPT=rfc822;$(printf '%0494d' 0)" -- $R
bad D-unknown-word     64 '^5\.5\.4 tlsrelay: bad -D of recipient 1: "RET=FULL" is not NOTIFY=value or ORCPT=value$' \
	- -c "$CONF" -D RET=FULL -- $R
bad D-second-bad       64 '^5\.5\.4 tlsrelay: bad -D of recipient 2: NOTIFY given twice$' \
	- -c "$CONF" -D NOTIFY=SUCCESS -D 'NOTIFY=DELAY NOTIFY=NEVER' -- $R r2@example.test
bad D-count            78 '^4\.3\.5 tlsrelay: -D given 1 time for 2 recipients: give it once per recipient, in their order$' \
	- -c "$CONF" -D NOTIFY=SUCCESS -- $R r2@example.test
# A quoted local part with a space is a good address: it is delivered.
mkdir -p "$T/cases/quoted"
CONNS0=$(conns)
"$TLSRELAY" -c "$CONF" -f s@example.test -- '"a b"@example.test' < "$T/msg.in" > "$T/cases/quoted/out" 2>&1
tap_expect 1
tap_status $? "quoted local part with a space: delivered (exit 0)" "$(cat "$T/cases/quoted/out")"

# ----------------------------------------------------------- configuration
printf 'relayhost = [127.0.0.1]:%s\nbogus_key = 1\n' "$PEER_PORT" > "$T/unknown.conf"
printf 'relayhost = [127.0.0.1]:%s\nconnect_timeout = soon\n' "$PEER_PORT" > "$T/badvalue.conf"
bad unknown-key        78 '^4\.3\.5 tlsrelay: .*/unknown\.conf:2: unknown setting "bogus_key"' - -c "$T/unknown.conf" -- $R
bad bad-value          78 '^4\.3\.5 tlsrelay: .*/badvalue\.conf:2: bad value for connect_timeout' \
	- -c "$T/badvalue.conf" -- $R
bad missing-config     78 '^4\.3\.5 tlsrelay: /nonexistent/tlsrelay\.conf: cannot open: No such file or directory \(as user [^)]+\)$' \
	- -c /nonexistent/tlsrelay.conf -- $R
bad config-is-dir      78 '^4\.3\.5 tlsrelay: .*: read error: Is a directory$' - -c "$T/spool" -- $R
bad bad-o-value        78 '^4\.3\.5 tlsrelay: bad value for deadline' - -c "$CONF" -o deadline=5s -- $R
bad missing-sasl-map   78 '^4\.3\.5 sasl_password_map /nonexistent/sasl: cannot open: No such file or directory \(as user [^)]+\)$' \
	- -c "$CONF" -o sasl_password_map=/nonexistent/sasl -- $R
bad missing-policy-map 78 '^4\.3\.5 tls_policy_map /nonexistent/pol: cannot open: No such file or directory \(as user [^)]+\)$' \
	- -c "$CONF" -o tls_policy_map=/nonexistent/pol -- $R
if [ "$(id -u)" = 0 ] && NOBODY_TLSRELAY=$(stage_tlsrelay "$T/stage"); then
	install -m 0600 "$CONF" "$T/root-only.conf"
	mkdir -p "$T/cases/config-unreadable"
	CONNS0=$(conns)
	as_nobody timeout -k 5 30 "$NOBODY_TLSRELAY" -c "$T/root-only.conf" -- $R < "$T/msg.in" \
		> "$T/cases/config-unreadable/out" 2>&1
	echo $? > "$T/cases/config-unreadable/rc"
	check config-unreadable 78 '^4\.3\.5 tlsrelay: .*/root-only\.conf: cannot open: Permission denied \(as user nobody\)$'
else
	tap_expect 3
	for t in "exit 78" "one line" "nothing sent"; do
		tap_skip "config-unreadable: $t" "needs root and a tlsrelay that nobody can run"
	done
fi

# ---------------------------------------------------------- standard input
bad stdin-closed       75 '^4\.3\.0 tlsrelay: standard input is closed: no message to send$' closed -c "$CONF" -- $R
bad stdin-directory    75 '^4\.3\.0 cannot read message: Is a directory$' "$T/spool" -c "$CONF" -- $R
mkdir -p "$T/cases/stdin-writeonly"
CONNS0=$(conns)
"${REAL[@]}" -c "$CONF" -- $R 0>> "$T/writeonly" > "$T/cases/stdin-writeonly/out" 2>&1
echo $? > "$T/cases/stdin-writeonly/rc"
check stdin-writeonly 75 '^4\.3\.0 cannot read message: Bad file descriptor$'

# Closed stdout / stderr: nothing of ours may end up in the spool file or
# the SMTP connection (a closed descriptor is reused by the next open).
for fd in 1 2; do
	tap_expect 3
	CONNS0=$(conns)
	if [ $fd = 1 ]; then
		"${REAL[@]}" -c "$CONF" -v -f s@example.test -- $R < "$T/msg.in" >&- 2> "$T/fd1.err"
	else
		"${REAL[@]}" -c "$CONF" -v -f s@example.test -- $R < "$T/msg.in" 2>&- > "$T/fd2.out"
	fi
	tap_status $? "closed fd $fd (with -v): delivered, exit 0"
	last=$(grep -o '"data_file": "[^"]*"' "$DIR/transcript.jsonl" | tail -n 1 | cut -d'"' -f4)
	[ "$(conns)" = $((CONNS0 + 1)) ] && [ -n "$last" ] && cmp -s "$DIR/$last" "$T/msg.canon"
	tap_status $? "closed fd $fd: the server got the message byte for byte, once" \
		"$(od -c "$DIR/${last:-none}" 2>&1 | head -n 8)"
	unknown=$(grep '"kind": "command"' "$DIR/transcript.jsonl" | grep -c '"verb": "?"')
	tap_is "$unknown" 0 "closed fd $fd: no stray lines (log, output) in the SMTP connection"
done

# ------------------------------------------------------------------- spool
bad spool-missing      75 '^4\.3\.0 cannot create spool file in /nonexistent/spool: No such file or directory$' \
	- -c "$CONF" -o spool_directory=/nonexistent/spool -- $R
# RLIMIT_FSIZE below the message: a write error, not a death by SIGXFSZ.
mkdir -p "$T/cases/spool-fsize"
CONNS0=$(conns)
(ulimit -f 16; exec "${REAL[@]}" -c "$CONF" -- $R < "$T/msg1m.in" > "$T/cases/spool-fsize/out" 2>&1)
echo $? > "$T/cases/spool-fsize/rc"
check spool-fsize 75 '^4\.3\.0 cannot write spool file in .*: File too large$'
# A full file system: a 64 KB tmpfs in a private mount namespace.
mkdir -p "$T/full" "$T/cases/spool-full"
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	CONNS0=$(conns)
	# shellcheck disable=SC2016 # $1 and $@ belong to the inner sh
	unshare -m sh -c 'mount -t tmpfs -o size=64k,mode=0755 tmpfs "$1" && shift && exec "$@"' sh "$T/full" \
		"$TLSRELAY" -c "$CONF" -o spool_directory="$T/full" -- $R < "$T/msg1m.in" > "$T/cases/spool-full/out" 2>&1
	echo $? > "$T/cases/spool-full/rc"
	check spool-full 75 "^4\\.3\\.0 cannot write spool file in $T/full: No space left on device\$"
	! mountpoint -q "$T/full"
	tap_expect 1
	tap_status $? "spool-full: the tmpfs stayed in its namespace"
else
	tap_expect 4
	for t in "exit 75" "one line" "nothing sent" "private mount"; do
		tap_skip "spool-full: $t" "needs root and unshare -m"
	done
fi

peer_report
tap_expect 1
tap_is "$(rg peer_errors) $(rg peer_exit)" "0 1" "the server had no internal error and stopped cleanly"
tap_done
