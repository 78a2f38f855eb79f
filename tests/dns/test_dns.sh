#!/bin/bash
# test_dns.sh - tr_dns_mx / tr_dns_addrs (through tests/unit/dnsq) against a
# real unbound serving tests/dns/test.zone on loopback. TAP output.
#
# Safety: unbound listens on 127.0.0.1 (and ::1 when the host has it) on a
# random free port, in a private temp dir; the only zone it knows is "test."
# (auth-zone), and the root is stubbed to a closed loopback port, so nothing
# ever leaves the machine. dnsq is always given the resolver, so
# /etc/resolv.conf servers are never used. Every process started here is
# stopped by its PID from the EXIT trap, and the temp dir is removed. The
# unbound machinery (config, start, readiness, stop) is in unbound.sh,
# shared with test_mx_delivery.sh.
#
# Needs: unbound (Debian package "unbound"); without it the whole test is
# skipped: "1..0 # SKIP reason" and exit 0, which Automake's tap-driver.sh
# counts as SKIP (it would count exit 77 as an ERROR). TAP through
# tests/lib.sh: the plan (31 checks) is declared before the first.
#
# Environment: top_builddir (set by the Makefile; default ../.. from here),
# DNSQ (the dnsq binary), UNBOUND (the unbound binary), DNSQ_WRAP (a command
# prefix for every dnsq run, e.g. valgrind).
set -u

here=$(cd "$(dirname "$0")" && pwd)
: "${top_builddir:=$here/../..}"
. "${top_srcdir:-$here/../..}/tests/lib.sh"
DNSQ=${DNSQ:-$top_builddir/tests/unit/dnsq}
ZONE=$here/test.zone
# DNSQ_WRAP="valgrind -q --error-exitcode=99 --leak-check=full" to check
# every dnsq run (exit 99 = valgrind error, which fails the case).
DNSQ_WRAP=${DNSQ_WRAP:-}

# The unbound machinery (shared with test_mx_delivery.sh): ub_* functions.
# shellcheck source=tests/dns/unbound.sh
. "$here/unbound.sh"

ub_find || tap_skip_all "unbound not installed (apt-get install unbound)"
[ -x "$DNSQ" ] || tap_bail "$DNSQ not built"
[ -r "$ZONE" ] || tap_bail "$ZONE missing"

make_tmpdir tmp
at_exit ub_cleanup

# A loopback port where nothing listens: answers are "connection refused".
ub_setup "$tmp" "$ZONE" || tap_bail "no closed loopback port found"
closed=$ub_closed

# The resolver under test, ready when dnsq gets an answer from it.
ub_start_main ub_dnsq_ready || tap_bail "cannot start unbound"
PORT=$ub_port
R=127.0.0.1:$PORT
echo "# unbound pid $ub_pid on port $PORT (IPv6: $ub_use_v6), closed port $closed"

# ------------------------------------------------------------ TAP helpers
# 2 + 14 MX, 8 address, 3 unreachable, 2 silent and 2 IPv6 resolver checks
tap_plan 31

ok() { tap_ok 1 "$1"; }

not_ok() {	# not_ok NAME DIAG-LINE...
	local name=$1
	shift
	tap_ok 0 "$name" "$(printf '%s\n' "$@")"
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

if ub_start_deaf; then
	t0=$(now)
	expect_err "silent resolver: mx -> temporary 4.4.3 (timeout)" \
		temporary 4.4.3 -t 1 "127.0.0.1:$ub_deaf_port" mx multi.test
	t1=$(now)
	# 1 s per try, 2 tries: about 2 s.
	if [ $((t1 - t0)) -le 8 ]; then
		ok "silent resolver: failed within 8 s ($((t1 - t0)) s)"
	else
		not_ok "silent resolver: failed within 8 s" "took $((t1 - t0)) s"
	fi
	ub_stop_deaf
else
	not_ok "silent resolver: mx -> temporary 4.4.3 (timeout)" "the second unbound did not start"
	not_ok "silent resolver: failed within 8 s" "the second unbound did not start"
fi

# ------------------------------------------------------------ IPv6 resolver

if [ "$ub_use_v6" = yes ]; then
	check_multi "IPv6 resolver [::1]:port: mx" "[::1]:$PORT" multi.test
	expect "IPv6 resolver [::1]:port: addrs" 0 "addr ::1
addr 127.0.0.11" "[::1]:$PORT" addrs mx1.multi.test 25
else
	tap_skip "IPv6 resolver [::1]:port: mx" "no usable ::1"
	tap_skip "IPv6 resolver [::1]:port: addrs" "no usable ::1"
fi

tap_done
