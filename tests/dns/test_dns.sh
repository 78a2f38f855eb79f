#!/bin/sh
# test_dns.sh - tr_dns_mx / tr_dns_addrs (through tests/unit/dnsq) against a
# real unbound serving tests/dns/test.zone on loopback. TAP output.
#
# Safety: unbound listens on 127.0.0.1 (and ::1 when the host has it) on a
# random free port, in a private temp dir; the only zone it knows is "test."
# (auth-zone), and the root is stubbed to a closed loopback port, so nothing
# ever leaves the machine. dnsq is always given the resolver, so
# /etc/resolv.conf servers are never used. Every process started here is
# stopped by its PID from the EXIT trap, and the temp dir is removed.
#
# Needs: unbound (Debian package "unbound"); without it the whole test is
# skipped: "1..0 # SKIP reason" and exit 0, which Automake's tap-driver.sh
# counts as SKIP (it would count exit 77 as an ERROR).
#
# Environment: top_builddir (set by the Makefile; default ../.. from here),
# DNSQ (the dnsq binary), UNBOUND (the unbound binary), DNSQ_WRAP (a command
# prefix for every dnsq run, e.g. valgrind).
set -u

here=$(cd "$(dirname "$0")" && pwd)
: "${top_builddir:=$here/../..}"
DNSQ=${DNSQ:-$top_builddir/tests/unit/dnsq}
ZONE=$here/test.zone
# DNSQ_WRAP="valgrind -q --error-exitcode=99 --leak-check=full" to check
# every dnsq run (exit 99 = valgrind error, which fails the case).
DNSQ_WRAP=${DNSQ_WRAP:-}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

UNBOUND=${UNBOUND:-}
if [ -z "$UNBOUND" ]; then
	UNBOUND=$(command -v unbound 2>/dev/null || true)
	[ -z "$UNBOUND" ] && [ -x /usr/sbin/unbound ] && UNBOUND=/usr/sbin/unbound
fi
if [ -z "$UNBOUND" ] || [ ! -x "$UNBOUND" ]; then
	skip_all "unbound not installed (apt-get install unbound)"
fi
[ -x "$DNSQ" ] || { echo "Bail out! $DNSQ not built"; exit 1; }
[ -r "$ZONE" ] || { echo "Bail out! $ZONE missing"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/trdns.XXXXXX") ||
	{ echo "Bail out! mktemp failed"; exit 1; }
ub_pid=
deaf_pid=

# Stop one process we started: TERM, wait at most 5 s, then KILL.
stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || return 0
	s=0
	while [ $s -lt 50 ] && kill -0 "$1" 2>/dev/null; do
		sleep 0.1
		s=$((s + 1))
	done
	kill -0 "$1" 2>/dev/null && kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# Stop an unbound we started: the PID in its pidfile (unbound's own, in case
# $! was a wrapper), then $!.
stop_unbound() {
	[ -n "$1" ] || return 0
	pf=
	[ -r "$2.pid" ] && pf=$(tr -dc 0-9 <"$2.pid")
	[ -n "$pf" ] && [ "$pf" != "$1" ] && stop_pid "$pf"
	stop_pid "$1"
	rm -f "$2.pid"
}

cleanup() {
	stop_unbound "$ub_pid" "$tmp/unbound.conf"
	stop_unbound "$deaf_pid" "$tmp/deaf.conf"
	ub_pid=
	deaf_pid=
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# ------------------------------------------------------------ ports

rand_port() {
	n=$(od -An -N2 -tu2 /dev/urandom | tr -dc 0-9)
	echo $((20000 + ${n:-0} % 40000))
}

# True when something listens on 127.0.0.1/::1 port $1 (UDP or TCP). When ss
# is missing we cannot tell; unbound's own bind then decides.
port_busy() {
	command -v ss >/dev/null 2>&1 || return 1
	[ -n "$(ss -Hlnut "( sport = :$1 )" 2>/dev/null)" ]
}

has_ipv6_lo() {
	grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null
}

# A loopback port where nothing listens: answers are "connection refused".
closed=
for p in 1 $(rand_port) $(rand_port) $(rand_port); do
	if ! port_busy "$p"; then
		closed=$p
		break
	fi
done
[ -n "$closed" ] || { echo "Bail out! no closed loopback port found"; exit 1; }

# ------------------------------------------------------------ unbound

# write_conf FILE PORT EXTRA: a config listening on PORT. EXTRA is added to
# the server: clause.
write_conf() {
	{
		echo "server:"
		echo "    interface: 127.0.0.1@$2"
		[ "$use_v6" = yes ] && echo "    interface: ::1@$2"
		echo "    port: $2"
		echo "    do-ip6: $use_v6"
		echo "    chroot: \"\""
		echo "    username: \"\""
		echo "    directory: \"$tmp\""
		echo "    pidfile: \"$1.pid\""
		echo "    logfile: \"$1.log\""
		echo "    use-syslog: no"
		echo "    verbosity: 1"
		echo "    num-threads: 1"
		echo "    module-config: \"iterator\""
		echo "    do-not-query-localhost: no"
		echo "$3"
		echo "remote-control:"
		echo "    control-enable: no"
	} >"$1"
}

# The resolver under test. "test." is an RFC 6761 name that unbound answers
# NXDOMAIN for by default: nodefault lifts that so the auth-zone is used.
# The root is stubbed to a closed loopback port (nothing outside "test."
# can be resolved), and 127.0.0.3 (broken.test's server) may not be
# queried, which makes broken.test a fast SERVFAIL.
main_conf() {
	write_conf "$tmp/unbound.conf" "$1" "    local-zone: \"test.\" nodefault
    do-not-query-address: 127.0.0.3
auth-zone:
    name: \"test.\"
    zonefile: \"$ZONE\"
    for-downstream: no
    for-upstream: yes
    fallback-enabled: no
stub-zone:
    name: \".\"
    stub-addr: 127.0.0.1@$closed"
}

# A resolver that drops every query (access-control deny): timeouts.
deaf_conf() {
	write_conf "$tmp/deaf.conf" "$1" "    access-control: 127.0.0.0/8 deny
    access-control: ::1/128 deny
    local-zone: \".\" refuse"
}

# start_unbound WRITE_FN CONF READY_FN: write CONF (WRITE_FN PORT) for a
# random free port and start unbound with it, until READY_FN PORT CONF says
# it is up (5 s at most per try, 8 tries). Sets started_pid, started_port.
start_unbound() {
	started_pid=
	for try in 1 2 3 4 5 6 7 8; do
		port=$(rand_port)
		port_busy "$port" && continue
		rm -f "$2.log" "$2.pid"
		$1 "$port"
		"$UNBOUND" -d -c "$2" >"$2.out" 2>&1 &
		started_pid=$!
		w=0
		while [ $w -lt 50 ] && kill -0 "$started_pid" 2>/dev/null; do
			# Ready, and still ours a moment later (not another
			# server that held the port while ours failed to bind).
			if $3 "$port" "$2" && sleep 0.2 &&
			   kill -0 "$started_pid" 2>/dev/null; then
				started_port=$port
				return 0
			fi
			sleep 0.1
			w=$((w + 1))
		done
		stop_unbound "$started_pid" "$2"    # not up (port taken?)
		started_pid=
		echo "# unbound on port $port did not start (try $try):"
		cat "$2.log" "$2.out" 2>/dev/null | tail -5 | sed 's/^/#   /'
	done
	return 1
}

main_ready() {
	"$DNSQ" -t 1 "127.0.0.1:$1" mx nomx.test 2>/dev/null | grep -q '^mx '
}

deaf_ready() {
	grep -q 'start of service' "$2.log" 2>/dev/null
}

use_v6=no
has_ipv6_lo && use_v6=yes
if ! start_unbound main_conf "$tmp/unbound.conf" main_ready && [ "$use_v6" = yes ]; then
	use_v6=no                   # ::1 present but not usable: IPv4 only
	start_unbound main_conf "$tmp/unbound.conf" main_ready
fi
[ -n "$started_pid" ] || { echo "Bail out! cannot start unbound"; exit 1; }
ub_pid=$started_pid
PORT=$started_port
R=127.0.0.1:$PORT
echo "# unbound pid $ub_pid on port $PORT (IPv6: $use_v6), closed port $closed"

# ------------------------------------------------------------ TAP helpers

n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/#   /'
	done
}

skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

# q ARGS...: run dnsq (bounded by timeout(1) when present); output in $out,
# exit status in $rc.
# DNSQ_WRAP is split into words on purpose.
# shellcheck disable=SC2086
q() {
	if command -v timeout >/dev/null 2>&1; then
		out=$(timeout 60 $DNSQ_WRAP "$DNSQ" "$@" 2>&1)
	else
		out=$($DNSQ_WRAP "$DNSQ" "$@" 2>&1)
	fi
	rc=$?
}

# expect NAME WANT_RC WANT_OUTPUT DNSQ-ARGS...: exact output.
expect() {
	name=$1
	want_rc=$2
	want=$3
	shift 3
	q "$@"
	if [ "$rc" = "$want_rc" ] && [ "$out" = "$want" ]; then
		ok "$name"
	else
		not_ok "$name" "dnsq $*" "exit $rc (want $want_rc), output:" "$out" \
			"wanted:" "$want"
	fi
}

# expect_err NAME CAT DSN DNSQ-ARGS...: one "error CAT DSN ..." line, exit 1.
expect_err() {
	name=$1
	cat=$2
	dsn=$3
	shift 3
	q "$@"
	case "$out" in
	"error $cat $dsn "*)
		if [ "$rc" = 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]; then
			ok "$name"
			return
		fi ;;
	esac
	not_ok "$name" "dnsq $*" "exit $rc (want 1), output:" "$out" \
		"wanted: error $cat $dsn ..."
}

# ------------------------------------------------------------ MX

# check_multi NAME RESOLVER DOMAIN: the two preference-10 hosts (any order),
# then the backup.
check_multi() {
	q "$2" mx "$3"
	first2=$(printf '%s\n' "$out" | sed -n 1,2p | sort | tr '\n' ' ')
	third=$(printf '%s\n' "$out" | sed -n 3p)
	lines=$(printf '%s\n' "$out" | wc -l)
	if [ "$rc" = 0 ] && [ "$lines" -eq 3 ] &&
	   [ "$first2" = "mx 10 mx1.multi.test mx 10 mx2.multi.test " ] &&
	   [ "$third" = "mx 20 backup.multi.test" ]; then
		ok "$1"
	else
		not_ok "$1" "dnsq $2 mx $3: exit $rc, output:" "$out"
	fi
}

check_multi "mx: preference order, both pref-10 hosts before the backup" "$R" multi.test

# Equal preferences are shuffled on every lookup: within 40 lookups each
# pref-10 host comes first at least once (failure odds 2^-39).
seen1=no
seen2=no
i=0
while [ $i -lt 40 ] && { [ $seen1 = no ] || [ $seen2 = no ]; }; do
	q "$R" mx multi.test
	case "$out" in
	"mx 10 mx1.multi.test"*) seen1=yes ;;
	"mx 10 mx2.multi.test"*) seen2=yes ;;
	esac
	i=$((i + 1))
done
if [ $seen1 = yes ] && [ $seen2 = yes ]; then
	ok "mx: equal preferences shuffled (both first within $i lookups)"
else
	not_ok "mx: equal preferences shuffled" "mx1 first: $seen1, mx2 first: $seen2"
fi

check_multi "mx: name in upper case with a trailing dot" "$R" MULTI.Test.
check_multi "mx: CNAME to a domain with MX records is followed" "$R" cname.test
expect "mx: no MX record -> implicit MX (the domain, pref 0)" 0 \
	"mx 0 nomx.test" "$R" mx nomx.test
expect "mx: implicit MX is lowercased, without trailing dot" 0 \
	"mx 0 nomx.test" "$R" mx NoMX.TEST.
expect_err "mx: null MX -> permanent 5.1.10" permanent 5.1.10 "$R" mx nullmx.test
expect "mx: null MX beside a real MX -> the real one is used" 0 \
	"mx 10 mx1.multi.test" "$R" mx mixed.test
expect_err "mx: NXDOMAIN -> permanent 5.1.2" permanent 5.1.2 "$R" mx nx.test
expect_err "mx: NXDOMAIN below an existing name -> permanent 5.1.2" \
	permanent 5.1.2 "$R" mx no.such.multi.test
expect "mx: duplicate host kept once at its lowest preference" 0 \
	"mx 10 a.dup.test" "$R" mx dup.test
expect "mx: host names are lowercased" 0 "mx 10 mx.upper.test" "$R" mx upper.test
expect_err "mx: only an invalid MX host name -> temporary 4.4.3" \
	temporary 4.4.3 "$R" mx badmx.test
want_many=$(i=1; while [ $i -le 16 ]; do echo "mx $i h$i.many.test"; i=$((i + 1)); done)
expect "mx: 20 MX records -> the 16 lowest preferences, in order" 0 \
	"$want_many" "$R" mx many.test
expect_err "mx: SERVFAIL -> temporary 4.4.3" temporary 4.4.3 "$R" mx x.broken.test
expect_err "mx: invalid domain name -> permanent 5.1.2 (no query)" \
	permanent 5.1.2 "$R" mx "bad..name.test"

# ------------------------------------------------------------ addresses

expect "addrs: AAAA and A -> IPv6 first" 0 "addr ::1
addr 127.0.0.11" "$R" addrs mx1.multi.test 25
expect "addrs: A only" 0 "addr 127.0.0.12" "$R" addrs mx2.multi.test 25
expect "addrs: CNAME followed" 0 "addr ::1
addr 127.0.0.11" "$R" addrs alias.test 25
expect_err "addrs: NXDOMAIN -> permanent 5.4.4" permanent 5.4.4 "$R" addrs nx.test 25
expect_err "addrs: name without address records -> permanent 5.4.4" \
	permanent 5.4.4 "$R" addrs nullmx.test 25
expect_err "addrs: SERVFAIL -> temporary 4.4.3" temporary 4.4.3 \
	"$R" addrs x.broken.test 25
# Numeric hosts need no DNS: even a dead resolver gives the address.
expect "addrs: numeric IPv4 host used as is" 0 "addr 192.0.2.1" \
	"127.0.0.1:$closed" addrs 192.0.2.1 25
expect "addrs: numeric IPv6 host used as is" 0 "addr 2001:db8::1" \
	"127.0.0.1:$closed" addrs 2001:db8::1 25

# ------------------------------------------------------------ failures

# now: seconds since the epoch.
now() {
	date +%s
}

t0=$(now)
expect_err "unreachable resolver: mx -> temporary 4.4.3" temporary 4.4.3 \
	-t 1 "127.0.0.1:$closed" mx multi.test
t1=$(now)
if [ $((t1 - t0)) -le 5 ]; then
	ok "unreachable resolver: failed within 5 s ($((t1 - t0)) s)"
else
	not_ok "unreachable resolver: failed within 5 s" "took $((t1 - t0)) s"
fi
expect_err "unreachable resolver: addrs -> temporary 4.4.3" temporary 4.4.3 \
	-t 1 "127.0.0.1:$closed" addrs mx1.multi.test 25

if start_unbound deaf_conf "$tmp/deaf.conf" deaf_ready; then
	deaf_pid=$started_pid
	t0=$(now)
	expect_err "silent resolver: mx -> temporary 4.4.3 (timeout)" \
		temporary 4.4.3 -t 1 "127.0.0.1:$started_port" mx multi.test
	t1=$(now)
	# 1 s per try, 2 tries: about 2 s.
	if [ $((t1 - t0)) -le 8 ]; then
		ok "silent resolver: failed within 8 s ($((t1 - t0)) s)"
	else
		not_ok "silent resolver: failed within 8 s" "took $((t1 - t0)) s"
	fi
	stop_unbound "$deaf_pid" "$tmp/deaf.conf"
	deaf_pid=
else
	not_ok "silent resolver: second unbound started"
fi

# ------------------------------------------------------------ IPv6 resolver

if [ "$use_v6" = yes ]; then
	check_multi "IPv6 resolver [::1]:port: mx" "[::1]:$PORT" multi.test
	expect "IPv6 resolver [::1]:port: addrs" 0 "addr ::1
addr 127.0.0.11" "[::1]:$PORT" addrs mx1.multi.test 25
else
	skip "IPv6 resolver [::1]:port: mx" "no usable ::1"
	skip "IPv6 resolver [::1]:port: addrs" "no usable ::1"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
