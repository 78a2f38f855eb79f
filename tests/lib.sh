#!/bin/bash
# tests/lib.sh - shared helpers for the shell tests and scripts/demo.
#
# Source it from bash:   . "$top_srcdir/tests/lib.sh"
# top_srcdir/top_builddir come from "make check"; when unset they default to
# the source tree this file is in (and top_builddir to $top_srcdir/_build).
#
# Sourcing installs an EXIT trap that cleans up everything the helpers
# started: Postfix instances (postfix stop, then the master PID), background
# PIDs from start_bg, and temporary directories. Add your own cleanup with
# at_exit CMD; do not replace the EXIT trap. Set TLSRELAY_KEEP_TMP=1 to keep
# the temporary directory for a post-mortem.
#
# Network rule: only loopback. wait_port and the Postfix helpers refuse any
# address outside 127.0.0.0/8 and ::1.
#
# Contents
#   TAP:      tap_plan N                  (the number of checks, declared before the first)
#             tap_ok PASS NAME [DIAG]     (PASS is a truth value, as in C: 1 passes, 0 fails)
#             tap_status STATUS NAME [DIAG] (STATUS is an exit status: 0 passes)
#             tap_run NAME CMD...         (passes if CMD succeeds; output shown on failure)
#             tap_is GOT WANT NAME, tap_like TEXT ERE NAME, tap_unlike TEXT ERE NAME
#             tap_skip NAME REASON, tap_diag TEXT..., tap_skip_all REASON,
#             tap_done, tap_bail REASON, tap_failed (count so far)
#   Process:  at_exit CMD, make_tmpdir [VAR], free_port, wait_port HOST PORT SECS,
#             wait_until SECS CMD..., start_bg NAME CMD..., stop_pid PID,
#             require_cmd CMD..., require_root, as_nobody CMD...,
#             start_nobody_core NAME CMD..., proc_dump_state PID
#   Postfix:  pf_new NAME PORT [key=value...], pf_dir NAME, pf_set DIR key=value...,
#             pf_master DIR LINE, pf_check DIR, pf_start DIR, pf_stop DIR,
#             pf_restart DIR, pf_reload DIR, pf_flush DIR, pf_push DIR ID,
#             pf_delete DIR ID, pf_queue_ids DIR [QUEUE], pf_log DIR,
#             pf_log_wait DIR ERE [SECS], pf_log_lines DIR ERE
#   Roles:    receiver_new NAME PORT [may|none|encrypt]  (destination MTA for example.test)
#             receiver_tls DIR LEVEL, receiver_maildir DIR USER,
#             receiver_wait_mail DIR USER TEXT [SECS]     (prints the file)
#             stage_tlsrelay DESTDIR                      (prints a path nobody can run)
#             host_new NAME PORT TLSRELAY CONF            (Postfix that pipes example.test
#                                                          to tlsrelay)
#             swaks_send PORT FROM TO FILE [swaks args]   (sets SWAKS_OUT, SENT_QID)
#   Files:    mail_body FILE (the part after the header), mail_header FILE NAME
#             (first header NAME with its continuation lines, unfolded)
#
# The DIR of the pf_* helpers is an instance's config directory (as given to
# "postfix -c"); a bare NAME (no slash) means the instance NAME made by pf_new.

# ---------------------------------------------------------------- locations
if [ -z "${top_srcdir:-}" ]; then
	top_srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fi
: "${top_builddir:=$top_srcdir/_build}"
export top_srcdir top_builddir
CERTS=$top_srcdir/tests/certs

# ---------------------------------------------------------------------- TAP
# A test declares how many checks it makes, in one of two ways (as in C,
# tests/unit/tap.h):
# - up front, before the first check:   tap_plan 12
#   (the plan line is printed first);
# - section by section, each before its checks:   tap_expect 3
#   (a case of a table declares its own; tap_done prints the total as the
#   plan).
# Either way a check that does not run (an early exit, a branch that
# forgets its checks, an empty loop, a crash) makes the count differ from
# the plan, which fails the test instead of shrinking it; tap_done fails a
# test that declared nothing. A check that does not apply is reported with
# tap_skip NAME REASON, and counts. In sanitizer builds tap_done adds one
# check of its own (the sanitizer reports), which the plan includes. A test
# that stops before its first check (a missing program, not root) calls
# tap_skip_all.
#
# tap_ok takes a truth value as in C: 1 is ok, 0 is not; any other value
# fails the check (an exit status belongs to tap_status).
_tap_n=0
_tap_failed=0
_tap_plan=""		# tap_plan's count
_tap_expected=""	# the sum of tap_expect's counts

tap_diag() {	# tap_diag TEXT...: each line as a TAP comment
	local line
	printf '%s\n' "$*" | while IFS= read -r line; do printf '# %s\n' "$line"; done
}

tap_plan() {	# tap_plan N: the number of checks this test makes (printed now)
	local n=$1
	case $n in ''|*[!0-9]*) tap_bail "tap_plan: not a number: '$n'" ;; esac
	[ -z "$_tap_plan$_tap_expected" ] || tap_bail "tap_plan twice or with tap_expect"
	[ "$_tap_n" = 0 ] || tap_bail "tap_plan after $_tap_n checks: declare the plan before the first"
	_tap_plan=$n
	[ -n "$_lib_san_dir" ] && n=$((n + 1))	# tap_done's sanitizer check
	printf '1..%d\n' "$n"
}

tap_expect() {	# tap_expect N: the next section makes N checks (not with tap_plan)
	case $1 in ''|*[!0-9]*) tap_bail "tap_expect: not a number: '$1'" ;; esac
	[ -z "$_tap_plan" ] || tap_bail "tap_expect in a test with tap_plan: one or the other"
	_tap_expected=$((${_tap_expected:-0} + $1))
}

tap_ok() {	# tap_ok PASS NAME [DIAG]: PASS 1 is ok, 0 is not (as in C)
	local pass=$1 name=$2 diag=${3:-}
	_tap_n=$((_tap_n + 1))
	case $pass in
	1)	printf 'ok %d - %s\n' "$_tap_n" "$name"
		return 0 ;;
	0)	;;
	*)	diag="tap_ok takes 1 (ok) or 0 (not ok), got '$pass' (an exit status goes to tap_status)${diag:+
$diag}" ;;
	esac
	_tap_failed=$((_tap_failed + 1))
	printf 'not ok %d - %s\n' "$_tap_n" "$name"
	[ -n "$diag" ] && tap_diag "$diag"
	return 1
}

tap_status() {	# tap_status STATUS NAME [DIAG]: ok if STATUS (an exit status) is 0
	case $1 in
	0) tap_ok 1 "$2" ;;
	''|*[!0-9]*) tap_ok 0 "$2" "tap_status: not an exit status: '$1'${3:+
$3}" ;;
	*) tap_ok 0 "$2" "${3:-exit status $1}" ;;
	esac
}

tap_run() {	# tap_run NAME CMD...: ok if CMD succeeds; its output is shown on failure
	local name=$1 out rc; shift
	out=$("$@" 2>&1); rc=$?
	tap_status "$rc" "$name" "$(printf 'command: %s\nexit %d\n%s' "$*" "$rc" "$out")"
}

tap_is() {	# tap_is GOT WANT NAME
	if [ "$1" = "$2" ]; then tap_ok 1 "$3"; else
		tap_ok 0 "$3" "$(printf 'got:  "%s"\nwant: "%s"' "$1" "$2")"; fi
}

tap_like() {	# tap_like TEXT ERE NAME: some line of TEXT matches the extended regex
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then tap_ok 1 "$3"; else
		tap_ok 0 "$3" "$(printf 'no line matches /%s/ in:\n%s' "$2" "$(printf '%s' "$1" | head -c 4000)")"; fi
}

tap_unlike() {	# tap_unlike TEXT ERE NAME: no line of TEXT matches
	local hit
	if hit=$(printf '%s\n' "$1" | grep -E -- "$2"); then
		tap_ok 0 "$3" "$(printf 'unexpected match for /%s/:\n%s' "$2" "$hit")"
	else tap_ok 1 "$3"; fi
}

tap_skip() {	# tap_skip NAME REASON: a check that does not apply here (it counts)
	_tap_n=$((_tap_n + 1))
	printf 'ok %d - %s # SKIP %s\n' "$_tap_n" "$1" "$2"
}

tap_failed() { echo "$_tap_failed"; }

# tap_skip_all REASON: the whole test is skipped (Automake TAP: exit 0).
# After checks were made, the declared checks not made yet are reported as
# skipped, each with REASON.
tap_skip_all() {
	local want=${_tap_plan:-$_tap_expected}
	if [ "$_tap_n" = 0 ] && [ -z "$_tap_plan" ]; then
		printf '1..0 # SKIP %s\n' "$*"
		exit 0
	fi
	while [ "$_tap_n" -lt "${want:-0}" ]; do
		tap_skip "(not run)" "$*"
	done
	tap_done
}

# tap_done: the end of the test. With tap_expect, the declared total is
# printed as the plan; without a declaration the test fails. A count other
# than the declared one is an error of the TAP driver (the diagnostic says
# which).
tap_done() {
	local want=${_tap_plan:-$_tap_expected}
	_lib_san_check
	if [ -z "$want" ]; then
		tap_ok 0 "the test declares its checks" "neither tap_plan nor tap_expect (tests/lib.sh)"
		printf '1..%d\n' "$_tap_n"
		exit 0
	fi
	[ -n "$_lib_san_dir" ] && want=$((want + 1))
	[ -z "$_tap_plan" ] && printf '1..%d\n' "$want"
	[ "$_tap_n" = "$want" ] || tap_diag "declared $want checks, made $_tap_n"
	exit 0
}

# Sanitizer build (scripts/test sets ASAN_OPTIONS/UBSAN_OPTIONS): every
# instrumented program this test starts, directly or through Postfix as
# nobody (stage_tlsrelay copies the options into its wrapper), writes its
# reports to $TR_SAN_DIR (world-writable, sticky). tap_done then adds one
# check "no sanitizer reports" that fails with the reports as diagnostics.
_lib_san_dir=""
if [ -n "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}" ] && [ -z "${TR_SAN_DIR:-}" ]; then
	_lib_san_dir=$(mktemp -d /tmp/tlsrelay-san.XXXXXXXX) && chmod 1777 "$_lib_san_dir" &&
		TR_SAN_DIR=$_lib_san_dir &&
		export TR_SAN_DIR ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$_lib_san_dir/san" \
			UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$_lib_san_dir/san"
fi

_lib_san_check() {	# one check on the sanitizer reports (sanitizer builds only)
	local f reports=""
	[ -n "$_lib_san_dir" ] || return 0
	for f in "$_lib_san_dir"/san.*; do
		[ -f "$f" ] && reports="$reports$(printf '==== %s\n' "${f##*/}"; head -c 4000 "$f")
"
	done
	if [ -z "$reports" ]; then
		tap_ok 1 "no sanitizer reports (ASan, UBSan, LSan)"
	else
		tap_ok 0 "no sanitizer reports (ASan, UBSan, LSan)" "$reports"
	fi
}

tap_bail() {	# tap_bail REASON: stop the whole test now
	printf 'Bail out! %s\n' "$*"
	exit 1
}

# ------------------------------------------------------------------ cleanup
_lib_exit_cmds=()	# run in reverse order
_lib_pids=()		# background processes we started
_lib_pf=()		# Postfix config dirs we started
_lib_tmpdirs=()

at_exit() { _lib_exit_cmds+=("$*"); }

_lib_ppid() {	# _lib_ppid PID: parent PID, from /proc (procps may be missing)
	sed -n 's/^.*) [A-Za-z] \([0-9]*\) .*/\1/p' "/proc/$1/stat" 2>/dev/null
}

_lib_cleanup() {
	local rc=$? i pid d
	trap - EXIT
	for ((i = ${#_lib_exit_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_lib_exit_cmds[i]}" >/dev/null 2>&1 || :
	done
	for d in "${_lib_pf[@]}"; do pf_stop "$d" >/dev/null 2>&1 || :; done
	for pid in "${_lib_pids[@]}"; do
		# only a process that is still our child: a reaped PID may be reused
		[ "$(_lib_ppid "$pid")" = "$$" ] && stop_pid "$pid"
	done
	[ -n "$_lib_san_dir" ] && _lib_tmpdirs+=("$_lib_san_dir")
	for d in "${_lib_tmpdirs[@]}"; do
		if [ "${TLSRELAY_KEEP_TMP:-0}" = 1 ]; then
			echo "# kept $d" >&2
		else
			rm -rf -- "$d"
		fi
	done
	exit "$rc"
}
trap _lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------- processes
make_tmpdir() {	# make_tmpdir [VAR]: mkdir under /tmp (0755), removed at exit; sets VAR (TEST_TMP)
	local _d
	_d=$(mktemp -d /tmp/tlsrelay-test.XXXXXXXX) || tap_bail "mktemp failed"
	chmod 0755 "$_d"
	_lib_tmpdirs+=("$_d")
	printf -v "${1:-TEST_TMP}" '%s' "$_d"
}

_lib_port_listening() {	# is anything listening on loopback TCP port $1?
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# free_port picks below the kernel's range of ephemeral ports (Linux:
# 32768-60999) when there is room: a port in that range can be taken by
# any outgoing connection (another test's, a resolver's) between the check
# and the bind, which made servers fail with "address in use".
_lib_port_base=20000 _lib_port_span=40001
read -r _lib_eph_lo _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || _lib_eph_lo=0
if [ "${_lib_eph_lo:-0}" -ge 16000 ]; then
	_lib_port_base=10000 _lib_port_span=$((_lib_eph_lo - 10000))
fi

free_port() {	# free_port: print a free TCP port (10000 up to the ephemeral range), never the same twice per test
	local i p used=${TEST_TMP:-/tmp}/.ports-used.$$
	[ -n "${TEST_TMP:-}" ] && used=$TEST_TMP/.ports-used
	for ((i = 0; i < 200; i++)); do
		p=$((_lib_port_base + (RANDOM * 32768 + RANDOM) % _lib_port_span))
		grep -qx "$p" "$used" 2>/dev/null && continue
		_lib_port_listening "$p" && continue
		echo "$p" >> "$used"
		echo "$p"
		return 0
	done
	echo "free_port: no free port found" >&2
	return 1
}

_lib_loopback() {	# refuse anything but loopback
	case $1 in
	127.*|::1|localhost) return 0 ;;
	*) echo "lib.sh: refusing non-loopback address '$1'" >&2; return 1 ;;
	esac
}

wait_until() {	# wait_until SECS CMD...: poll CMD every 0.2 s until it succeeds; 1 on timeout
	local secs=$1 i n; shift
	n=$((secs * 5))
	for ((i = 0; i <= n; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

_lib_listens() {	# _lib_listens HOST PORT: a listening socket on PORT
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Htln "sport = :$2" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
	fi
}

wait_port() {	# wait_port HOST PORT SECS: until something listens on HOST:PORT
	_lib_loopback "$1" || return 1
	wait_until "${3:-10}" _lib_listens "$1" "$2"
}

start_bg() {	# start_bg NAME CMD...: run CMD in the background, output to $TEST_TMP/NAME.out;
		# sets BG_PID; the PID is killed at exit
	local name=$1; shift
	"$@" > "${TEST_TMP:-/tmp}/$name.out" 2>&1 &
	BG_PID=$!
	_lib_pids+=("$BG_PID")
}

stop_pid() {	# stop_pid PID: TERM, wait up to 5 s, then KILL; only this PID
	local pid=$1 i rest=()
	for i in "${_lib_pids[@]}"; do [ "$i" = "$pid" ] || rest+=("$i"); done
	_lib_pids=("${rest[@]}")
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 25; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

require_cmd() {	# require_cmd CMD...: skip the whole test if one is missing
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || tap_skip_all "$c not found (install it to run this test)"
	done
}

require_root() {
	[ "$(id -u)" = 0 ] || tap_skip_all "needs root (private Postfix instances)"
}

# system_lock: for the tests that change the machine's own state (install
# and purge the tlsrelay packages, make or remove /var/lib/tlsrelay, the
# user _tlsrelay): one at a time on the whole machine, whatever build tree
# they run from. An exclusive flock on descriptor 9, held until the test
# exits (an exec, such as the re-execution in a mount namespace, keeps it;
# the processes the test starts inherit it and are stopped at its exit).
# Idempotent. Two of these tests running at once under make -j2 removed
# each other's /var/lib/tlsrelay (the README quick starts, 2026-12-07).
system_lock() {
	[ "${TR_SYSTEM_LOCKED:-}" = "$$" ] && return 0
	require_cmd flock
	local f=/run/lock/tlsrelay-tests.system.lock
	[ -d /run/lock ] || f=/tmp/tlsrelay-tests.system.lock
	exec 9>>"$f" || tap_bail "cannot open $f"
	flock -w 1800 9 || tap_bail "another test held $f for 30 minutes"
	TR_SYSTEM_LOCKED=$$
	export TR_SYSTEM_LOCKED
}

as_nobody() {	# as_nobody CMD...: run CMD as user nobody
	if command -v runuser >/dev/null 2>&1; then
		runuser -u nobody -- "$@"
	else
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
	fi
}

start_nobody_core() {	# start_nobody_core NAME CMD...: start_bg CMD as user nobody, with
	# RLIMIT_CORE raised to unlimited first (what a program finds when it
	# does not lower it); BG_PID is CMD's own PID (setpriv executes it)
	local name=$1; shift
	start_bg "$name" bash -c 'ulimit -c unlimited && exec setpriv --reuid=nobody \
		--regid="$(id -gn nobody)" --clear-groups -- "$@"' start_nobody_core "$@"
}

proc_dump_state() {	# proc_dump_state PID: "core=SOFT/HARD owner=UID" of a running process:
	# its RLIMIT_CORE (/proc/PID/limits) and the owner of /proc/PID/status,
	# which is root when the process is not dumpable (prctl PR_SET_DUMPABLE
	# 0, proc(5)) although it runs as another user: run it as nobody
	local lim
	lim=$(awk '/^Max core file size/ { print $5 "/" $6 }' "/proc/$1/limits" 2>/dev/null)
	echo "core=${lim:-?} owner=$(stat -c %u "/proc/$1/status" 2>/dev/null || echo '?')"
}

# ------------------------------------------------------------------ Postfix
# Layout of instance NAME (base $TEST_TMP/NAME):
#   etc/main.cf etc/master.cf   config_directory (the DIR of the pf_* helpers)
#   spool/                      queue_directory (spool/pid/master.pid)
#   data/                       data_directory, owned by postfix
#   log/maillog                 maillog_file (written by postlogd)

pf_dir() {	# pf_dir NAME|DIR: print the config directory
	case $1 in
	*/*) echo "$1" ;;
	*) echo "${TEST_TMP:?make_tmpdir first}/$1/etc" ;;
	esac
}

_pf_base() { dirname "$(pf_dir "$1")"; }

pf_log() { echo "$(_pf_base "$1")/log/maillog"; }

pf_new() {	# pf_new NAME PORT [key=value...]: a private instance with smtpd on 127.0.0.1:PORT;
		# sets PF_DIR to its config directory
	local name=$1 port=$2 base; shift 2
	base=${TEST_TMP:?make_tmpdir first}/$name
	PF_DIR=$base/etc
	mkdir -p "$base/etc" "$base/spool" "$base/data" "$base/log" || return 1
	chmod 0755 "$base" "$base/etc" "$base/spool" "$base/log"
	chown postfix "$base/data" && chmod 0700 "$base/data"
	cat > "$base/etc/main.cf" <<-EOF
	# private Postfix instance "$name" made by tests/lib.sh
	compatibility_level = 3.6
	queue_directory = $base/spool
	data_directory = $base/data
	syslog_name = postfix-$name
	maillog_file = $base/log/maillog
	maillog_file_prefixes = $base/log
	myhostname = $name.tlsrelay.test
	mydomain = tlsrelay.test
	myorigin = \$myhostname
	mydestination =
	inet_interfaces = 127.0.0.1
	inet_protocols = ipv4
	mynetworks = 127.0.0.0/8
	smtpd_banner = \$myhostname ESMTP
	alias_maps =
	alias_database =
	local_recipient_maps =
	biff = no
	append_dot_mydomain = no
	smtputf8_enable = yes
	# no DNS; nothing leaves except through transport_maps (bounces are discarded)
	smtpd_peername_lookup = no
	smtp_dns_support_level = disabled
	default_transport = discard:tests send nothing off this host
	relay_transport = \$default_transport
	# fast retries for tests
	queue_run_delay = 1s
	minimal_backoff_time = 1s
	maximal_backoff_time = 2s
	delay_warning_time = 0
	in_flow_delay = 0
	smtpd_error_sleep_time = 0s
	EOF
	cat > "$base/etc/master.cf" <<-EOF
	# service type  private unpriv  chroot  wakeup  maxproc command + args
	127.0.0.1:$port inet n   -       n       -       -       smtpd
	pickup    unix  n       -       n       60      1       pickup
	cleanup   unix  n       -       n       -       0       cleanup
	qmgr      unix  n       -       n       300     1       qmgr
	tlsmgr    unix  -       -       n       1000?   1       tlsmgr
	rewrite   unix  -       -       n       -       -       trivial-rewrite
	bounce    unix  -       -       n       -       0       bounce
	defer     unix  -       -       n       -       0       bounce
	trace     unix  -       -       n       -       0       bounce
	verify    unix  -       -       n       -       1       verify
	flush     unix  n       -       n       1000?   0       flush
	proxymap  unix  -       -       n       -       -       proxymap
	proxywrite unix -       -       n       -       1       proxymap
	smtp      unix  -       -       n       -       -       smtp
	relay     unix  -       -       n       -       -       smtp
	showq     unix  n       -       n       -       -       showq
	error     unix  -       -       n       -       -       error
	retry     unix  -       -       n       -       -       error
	discard   unix  -       -       n       -       -       discard
	local     unix  -       n       n       -       -       local
	virtual   unix  -       n       n       -       -       virtual
	anvil     unix  -       -       n       -       1       anvil
	scache    unix  -       -       n       -       1       scache
	postlog   unix-dgram n  -       n       -       1       postlogd
	EOF
	[ $# -gt 0 ] && pf_set "$PF_DIR" "$@"
	return 0
}

pf_set() {	# pf_set DIR key=value...: edit main.cf (does not reload)
	local d; d=$(pf_dir "$1"); shift
	postconf -c "$d" -e "$@"
}

pf_master() {	# pf_master DIR LINE: append a master.cf line
	printf '%s\n' "$2" >> "$(pf_dir "$1")/master.cf"
}

pf_check() {	# pf_check DIR: postfix check, with its messages (they need a tty)
	local d; d=$(pf_dir "$1")
	if command -v script >/dev/null 2>&1; then
		script -qec "postfix -c '$d' check" /dev/null
	else
		postfix -c "$d" check
	fi
}

_pf_master_pid() { # print the PID of the instance's running master, if any
	local f pid
	f=$(_pf_base "$1")/spool/pid/master.pid
	[ -s "$f" ] || return 1
	pid=$(tr -dc '0-9' < "$f")
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = master ] || return 1
	echo "$pid"
}

pf_start() {	# pf_start DIR: start the instance, wait for master.pid; shows errors on failure
	local d base; d=$(pf_dir "$1"); base=$(_pf_base "$d")
	_lib_pf+=("$d")
	if ! postfix -c "$d" start > "$base/start.out" 2>&1; then
		echo "pf_start: postfix -c $d start failed:" >&2
		cat "$base/start.out" >&2
		pf_check "$d" >&2
		tail -n 20 "$(pf_log "$d")" >&2 2>/dev/null
		return 1
	fi
	if ! wait_until 15 _pf_master_pid "$d" >/dev/null; then
		echo "pf_start: no master.pid for $d" >&2
		return 1
	fi
}

pf_stop() {	# pf_stop DIR: postfix stop; wait (bounded) for the master to exit; then abort/KILL it
	local d pid i; d=$(pf_dir "$1")
	pid=$(_pf_master_pid "$d") || return 0
	postfix -c "$d" stop >/dev/null 2>&1
	for ((i = 0; i < 75; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		postfix -c "$d" abort >/dev/null 2>&1
		sleep 0.5
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$(_pf_base "$d")/spool/pid/master.pid"
	return 0
}

pf_restart() {	# pf_restart DIR: stop + start (every daemon rereads main.cf)
	pf_stop "$1" && pf_start "$1"
}

pf_reload() {	# pf_reload DIR: postfix reload (running smtpd processes may finish with the old settings)
	postfix -c "$(pf_dir "$1")" reload >/dev/null 2>&1
}

pf_flush() { postqueue -c "$(pf_dir "$1")" -f; }		# pf_flush DIR: retry all deferred mail
pf_push() { postqueue -c "$(pf_dir "$1")" -i "$2"; }		# pf_push DIR ID: retry one message
pf_delete() { postsuper -c "$(pf_dir "$1")" -d "$2" >/dev/null 2>&1; }	# pf_delete DIR ID|ALL

pf_queue_ids() {	# pf_queue_ids DIR [QUEUE]: queue IDs, one a line (QUEUE: active, deferred, hold, ...)
	postqueue -c "$(pf_dir "$1")" -j 2>/dev/null |
	sed -n 's/.*"queue_name": *"\([a-z]*\)".*"queue_id": *"\([0-9A-Za-z]*\)".*/\1 \2/p' |
	while read -r q id; do
		[ -z "${2:-}" ] || [ "$q" = "$2" ] && echo "$id"
	done
}

pf_log_lines() {	# pf_log_lines DIR ERE: matching log lines
	grep -E -- "$2" "$(pf_log "$1")" 2>/dev/null
}

pf_log_wait() {	# pf_log_wait DIR ERE [SECS]: wait until the log has a matching line; prints it
	local log; log=$(pf_log "$1")
	wait_until "${3:-30}" grep -Eq -- "$2" "$log" || return 1
	grep -E -- "$2" "$log"
}

# ----------------------------------------------------------------- receiver
# A Postfix that is the destination server for example.test: STARTTLS with
# tests/certs/server.pem, virtual Maildirs under $TEST_TMP/NAME/mail owned
# by nobody, and fixed answers:
#   tempfail@example.test -> 450 4.2.0 try again later
#   reject@example.test   -> 550 5.1.1 no such user
# Mailboxes: user alice bob carol dave erin (and the two above, never reached).
RECEIVER_USERS="user alice bob carol dave erin tempfail reject"

receiver_new() {	# receiver_new NAME PORT [may|none|encrypt]; sets PF_DIR
	local name=$1 port=$2 level=${3:-may} base u map="" uid gid
	pf_new "$name" "$port" || return 1
	base=$(_pf_base "$PF_DIR")
	uid=$(id -u nobody) gid=$(getent group nogroup | cut -d: -f3)
	: "${gid:=$(id -g nobody)}"
	mkdir -p "$base/mail"
	chown "$uid:$gid" "$base/mail"
	for u in $RECEIVER_USERS; do map="$map $u@example.test=example.test/$u/,"; done
	pf_set "$PF_DIR" \
		"myhostname = mx.example.test" \
		"virtual_mailbox_domains = example.test" \
		"virtual_mailbox_base = $base/mail" \
		"virtual_mailbox_maps = inline:{${map%,} }" \
		"virtual_uid_maps = static:$uid" \
		"virtual_gid_maps = static:$gid" \
		"virtual_minimum_uid = 1" \
		"smtpd_recipient_restrictions = check_recipient_access inline:{ { tempfail@example.test = 450 4.2.0 try again later }, { reject@example.test = 550 5.1.1 no such user } }, permit_mynetworks, reject_unauth_destination" \
		"smtpd_tls_cert_file = $CERTS/server.pem" \
		"smtpd_tls_key_file = $CERTS/server.key" \
		"smtpd_tls_received_header = yes" \
		"smtpd_tls_loglevel = 1" \
		"smtpd_tls_security_level = $level"
}

receiver_tls() {	# receiver_tls DIR may|none|encrypt: change STARTTLS and restart
	pf_set "$1" "smtpd_tls_security_level = $2" && pf_restart "$1"
}

receiver_maildir() {	# receiver_maildir DIR USER: the user's Maildir
	echo "$(_pf_base "$1")/mail/example.test/$2"
}

_receiver_find() {	# _receiver_find MAILDIR TEXT: first delivered file containing TEXT
	local f
	for f in "$1"/new/* "$1"/cur/*; do
		[ -f "$f" ] || continue
		grep -qF -- "$2" "$f" && { echo "$f"; return 0; }
	done
	return 1
}

receiver_wait_mail() {	# receiver_wait_mail DIR USER TEXT [SECS]: wait for a message containing TEXT; prints its file
	local md; md=$(receiver_maildir "$1" "$2")
	wait_until "${4:-30}" _receiver_find "$md" "$3" >/dev/null || return 1
	_receiver_find "$md" "$3"
}

# --------------------------------------------------------------------- host
# stage_tlsrelay DESTDIR: print the path of a tlsrelay that user nobody can
# run. pipe(8) runs the transport as nobody, who may not be able to walk into
# the build tree (a checkout under /root, say): the program is copied into
# DESTDIR. A libtool wrapper script (a program linked with a shared library
# of the build) is replaced by its binary, the shared libraries and a small
# wrapper that sets LD_LIBRARY_PATH the same way; in a sanitizer build the
# wrapper also sets the sanitizer options (pipe(8) clears the environment),
# so that the reports reach TR_SAN_DIR. TLSRELAY_BIN overrides the program
# to use (e.g. an installed one).
stage_tlsrelay() {
	local dest=$1 src=${TLSRELAY_BIN:-$top_builddir/plugin/transport/tlsrelay}
	local srcdir prog real libdirs d out rc
	[ -x "$src" ] || { echo "stage_tlsrelay: $src not found or not executable" >&2; return 1; }
	mkdir -p "$dest/libexec" "$dest/lib" && chmod 0755 "$dest" "$dest/libexec" "$dest/lib"
	if grep -q 'temporary wrapper script for' "$src" 2>/dev/null; then
		srcdir=$(cd "$(dirname "$src")" && pwd)
		prog=$(sed -n "s/^ *program=\(lt-\)\{0,1\}'\([^']*\)'.*/\1\2/p" "$src" | head -n 1)
		[ -n "$prog" ] || prog=$(basename "$src")
		# an "lt-" program is (re)linked by the wrapper on its first run
		case $prog in lt-*) "$src" </dev/null >/dev/null 2>&1 ;; esac
		real=$srcdir/.libs/$prog
		libdirs=$(sed -n 's/^ *LD_LIBRARY_PATH="\([^$"]*\):*\$LD_LIBRARY_PATH".*/\1/p' "$src" | head -n 1)
		[ -f "$real" ] || { echo "stage_tlsrelay: $real not found" >&2; return 1; }
		cp -f "$real" "$dest/libexec/tlsrelay" && chmod 0755 "$dest/libexec/tlsrelay" || return 1
		local IFS=:
		for d in $libdirs; do
			[ -d "$d" ] || continue
			cp -Pf "$d"/*.so* "$dest/lib/" 2>/dev/null
		done
		unset IFS
		chmod -R a+rX "$dest/lib"
		cat > "$dest/tlsrelay" <<-EOF
		#!/bin/sh
		# tlsrelay staged by tests/lib.sh from $src
		LD_LIBRARY_PATH="$dest/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
		export LD_LIBRARY_PATH
		$(_lib_san_env)
		exec "$dest/libexec/tlsrelay" "\$@"
		EOF
	elif [ -n "$(_lib_san_env)" ] && head -c 4 "$src" | grep -q 'ELF'; then
		# a sanitizer build's program: pipe(8) clears the environment, so a
		# wrapper gives it the options that send its reports to TR_SAN_DIR
		cp -f "$src" "$dest/libexec/tlsrelay" && chmod 0755 "$dest/libexec/tlsrelay" || return 1
		cat > "$dest/tlsrelay" <<-EOF
		#!/bin/sh
		# tlsrelay staged by tests/lib.sh from $src
		$(_lib_san_env)
		exec "$dest/libexec/tlsrelay" "\$@"
		EOF
	else
		# a real binary (static, installed) or a script: copy it as it is
		cp -f "$src" "$dest/tlsrelay" || return 1
	fi
	chmod 0755 "$dest/tlsrelay"
	# Prove that nobody can run it: the usage exit (64) is fine, "cannot
	# execute" (126), "not found" (127), loader errors and hanging (124) are not.
	out=$(timeout -k 5 20 runuser -u nobody -- "$dest/tlsrelay" </dev/null 2>&1); rc=$?
	if [ "$rc" = 124 ] || [ "$rc" = 126 ] || [ "$rc" = 127 ] || printf '%s' "$out" | grep -qE 'error while loading shared libraries|runuser: failed to execute'; then
		echo "stage_tlsrelay: nobody cannot run $dest/tlsrelay (exit $rc): $out" >&2
		return 1
	fi
	echo "$dest/tlsrelay"
}

_lib_san_env() {	# shell lines that set the sanitizer options (pipe(8) clears the environment)
	local v
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && printf "%s='%s'; export %s; " "$v" "${!v}" "$v"
	done
	return 0
}

host_new() {	# host_new NAME PORT TLSRELAY CONF: the host MTA; example.test goes to tlsrelay; sets PF_DIR
	local name=$1 port=$2 prog=$3 conf=$4
	pf_new "$name" "$port" || return 1
	pf_set "$PF_DIR" \
		"relay_domains = example.test" \
		"transport_maps = inline:{ example.test=tlsrelay }" \
		"tlsrelay_destination_recipient_limit = 1" \
		"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination"
	pf_master "$PF_DIR" "tlsrelay  unix  -       n       n       -       -       pipe
  flags=q null_sender= user=nobody argv=$prog -c $conf -f \${sender} -- \${recipient}"
}

# swaks_send PORT FROM TO FILE [swaks args...]: send FILE (a whole message,
# LF line ends) to 127.0.0.1:PORT. Sets SWAKS_OUT to swaks' dialogue and
# SENT_QID to the queue ID of Postfix's "250 2.0.0 Ok: queued as ID".
# Returns swaks' exit status. Call it directly, not in $(...).
# Note: swaks adds CRLF before the final dot, so a FILE ending in a newline
# gets one extra empty line at the end of the body.
swaks_send() {
	local port=$1 from=$2 to=$3 file=$4 rc; shift 4
	SWAKS_OUT=$(swaks --server "127.0.0.1:$port" --helo client.tlsrelay.test \
		--from "$from" --to "$to" --data "@$file" --timeout 30 "$@" 2>&1); rc=$?
	# shellcheck disable=SC2034 # SENT_QID and SWAKS_OUT are results for the caller
	SENT_QID=$(printf '%s\n' "$SWAKS_OUT" | sed -n 's/.*<[-~] *250 .*queued as \([0-9A-Za-z]*\).*/\1/p' | tail -n 1)
	return "$rc"
}

# -------------------------------------------------------------------- files
mail_body() {	# mail_body FILE: everything after the first empty line
	sed '1,/^\r\{0,1\}$/d' "$1"
}

mail_header() {	# mail_header FILE NAME: the first NAME: header, continuation lines joined
	awk -v want="$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')" '
		/^\r?$/ { exit }
		/^[ \t]/ { if (found == 1) { sub(/^[ \t]+/, ""); cur = cur " " $0 }; next }
		{ if (found == 1) { print cur; found = 2; exit }
		  n = index($0, ":"); name = tolower(substr($0, 1, n - 1))
		  if (found == 0 && name == want) { found = 1; cur = $0 } }
		END { if (found == 1) print cur }' "$1"
}
