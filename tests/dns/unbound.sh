# shellcheck shell=sh disable=SC2034 # ub_* results are for the caller
# tests/dns/unbound.sh - a private unbound for the DNS tests: serves
# tests/dns/test.zone on loopback. Sourced (POSIX sh: dash and bash), by
# tests/dns/test_dns.sh and tests/dns/test_mx_delivery.sh.
#
# Safety: unbound listens on 127.0.0.1 (and ::1 when the host has it) on a
# random free port, with its files in the caller's private directory; the
# only zone it knows is "test." (auth-zone), and the root is stubbed to a
# closed loopback port, so nothing ever leaves the machine. Every unbound
# started here is stopped by its PID (ub_cleanup, to be called from the
# caller's EXIT trap); nothing is killed by name.
#
# Usage:
#   . "$here/unbound.sh"
#   ub_find || skip "unbound not installed"   # sets UNBOUND ($UNBOUND wins)
#   ub_setup "$tmp" "$here/test.zone" || bail  # private dir, closed port
#   trap 'ub_cleanup; rm -rf "$tmp"' EXIT      # or lib.sh's at_exit ub_cleanup
#   ub_start_main ub_log_ready || bail         # sets ub_pid, ub_port, ub_use_v6
#   ... dns_resolver=127.0.0.1:$ub_port ...
#
# Functions (every name this file defines starts with ub_):
#   ub_find                    find the unbound binary: UNBOUND; 1 if none
#   ub_setup DIR ZONE          files go to DIR (the caller removes it); finds a
#                              closed loopback port (ub_closed); 1 if none
#   ub_start_main READY        the test.zone resolver (config $ub_dir/unbound.conf),
#                              IPv4+IPv6 when ::1 works, else IPv4 only; sets
#                              ub_pid, ub_port, ub_use_v6 (yes/no); 1 on failure
#   ub_start_deaf              a resolver that drops every query (timeouts,
#                              config $ub_dir/deaf.conf); sets ub_deaf_pid,
#                              ub_deaf_port; 1 on failure
#   ub_stop_deaf, ub_cleanup   stop the deaf one / every unbound started here
#   ub_start WRITE CONF READY  the generic start: "WRITE PORT" writes CONF for a
#                              random free port, unbound runs until "READY PORT
#                              CONF" succeeds (5 s per try, 8 tries); sets
#                              ub_started_pid, ub_started_port
#   ub_stop PID CONF           stop an unbound started with CONF
#   ub_stop_pid PID            TERM, at most 5 s, then KILL; only that PID
#   ub_write_conf FILE PORT EXTRA   a config skeleton; EXTRA goes to server:
#   ub_main_conf PORT, ub_deaf_conf PORT   the two configs
#   ub_log_ready PORT CONF     ready: "start of service" in unbound's log
#   ub_dnsq_ready PORT CONF    ready: $DNSQ (tests/unit/dnsq) gets nomx.test's MX
#   ub_rand_port, ub_port_busy PORT, ub_has_ipv6_lo

ub_dir=
ub_zone=
ub_closed=
ub_use_v6=no
ub_pid=
ub_port=
ub_deaf_pid=
ub_deaf_port=
ub_started_pid=
ub_started_port=

ub_find() {
	UNBOUND=${UNBOUND:-}
	if [ -z "$UNBOUND" ]; then
		UNBOUND=$(command -v unbound 2>/dev/null || true)
		[ -z "$UNBOUND" ] && [ -x /usr/sbin/unbound ] && UNBOUND=/usr/sbin/unbound
	fi
	[ -n "$UNBOUND" ] && [ -x "$UNBOUND" ]
}

# ------------------------------------------------------------ processes

# Stop one process we started: TERM, wait at most 5 s, then KILL.
ub_stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || return 0
	ub_s=0
	while [ $ub_s -lt 50 ] && kill -0 "$1" 2>/dev/null; do
		sleep 0.1
		ub_s=$((ub_s + 1))
	done
	kill -0 "$1" 2>/dev/null && kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# Stop an unbound we started: the PID in its pidfile (unbound's own, in case
# $! was a wrapper), then $!.
ub_stop() {
	[ -n "$1" ] || return 0
	ub_pf=
	[ -r "$2.pid" ] && ub_pf=$(tr -dc 0-9 <"$2.pid")
	[ -n "$ub_pf" ] && [ "$ub_pf" != "$1" ] && ub_stop_pid "$ub_pf"
	ub_stop_pid "$1"
	rm -f "$2.pid"
}

ub_stop_deaf() {
	ub_stop "$ub_deaf_pid" "$ub_dir/deaf.conf"
	ub_deaf_pid=
}

ub_cleanup() {
	[ -n "$ub_dir" ] || return 0
	ub_stop "$ub_pid" "$ub_dir/unbound.conf"
	ub_pid=
	ub_stop_deaf
}

# ------------------------------------------------------------ ports

ub_rand_port() {
	ub_n=$(od -An -N2 -tu2 /dev/urandom | tr -dc 0-9)
	echo $((${_lib_port_base:-20000} + ${ub_n:-0} % ${_lib_port_span:-40000}))	# below the ephemeral range (tests/lib.sh)
}

# True when something listens on 127.0.0.1/::1 port $1 (UDP or TCP). When ss
# is missing we cannot tell; unbound's own bind then decides.
ub_port_busy() {
	command -v ss >/dev/null 2>&1 || return 1
	[ -n "$(ss -Hlnut "( sport = :$1 )" 2>/dev/null)" ]
}

ub_has_ipv6_lo() {
	grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null
}

# ub_setup DIR ZONE: where the files go, which zone; a loopback port where
# nothing listens (answers are "connection refused") for the root stub.
ub_setup() {
	ub_dir=$1
	ub_zone=$2
	ub_closed=
	[ -r "$ub_zone" ] || { echo "# unbound.sh: $ub_zone missing"; return 1; }
	for ub_p in 1 $(ub_rand_port) $(ub_rand_port) $(ub_rand_port); do
		if ! ub_port_busy "$ub_p"; then
			ub_closed=$ub_p
			break
		fi
	done
	[ -n "$ub_closed" ] || { echo "# unbound.sh: no closed loopback port found"; return 1; }
}

# ------------------------------------------------------------ configs

# ub_write_conf FILE PORT EXTRA: a config listening on PORT. EXTRA is added
# to the server: clause.
ub_write_conf() {
	{
		echo "server:"
		echo "    interface: 127.0.0.1@$2"
		[ "$ub_use_v6" = yes ] && echo "    interface: ::1@$2"
		echo "    port: $2"
		echo "    do-ip6: $ub_use_v6"
		echo "    chroot: \"\""
		echo "    username: \"\""
		echo "    directory: \"$ub_dir\""
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
ub_main_conf() {
	ub_write_conf "$ub_dir/unbound.conf" "$1" "    local-zone: \"test.\" nodefault
    do-not-query-address: 127.0.0.3
auth-zone:
    name: \"test.\"
    zonefile: \"$ub_zone\"
    for-downstream: no
    for-upstream: yes
    fallback-enabled: no
stub-zone:
    name: \".\"
    stub-addr: 127.0.0.1@$ub_closed"
}

# A resolver that drops every query (access-control deny): timeouts.
ub_deaf_conf() {
	ub_write_conf "$ub_dir/deaf.conf" "$1" "    access-control: 127.0.0.0/8 deny
    access-control: ::1/128 deny
    local-zone: \".\" refuse"
}

# ------------------------------------------------------------ readiness

ub_log_ready() {
	grep -q 'start of service' "$2.log" 2>/dev/null
}

ub_dnsq_ready() {
	"$DNSQ" -t 1 "127.0.0.1:$1" mx nomx.test 2>/dev/null | grep -q '^mx '
}

# ------------------------------------------------------------ start

# ub_start WRITE_FN CONF READY_FN: write CONF (WRITE_FN PORT) for a random
# free port and start unbound with it, until READY_FN PORT CONF says it is
# up (5 s at most per try, 8 tries). Sets ub_started_pid, ub_started_port.
ub_start() {
	ub_started_pid=
	ub_started_port=
	for ub_try in 1 2 3 4 5 6 7 8; do
		ub_p=$(ub_rand_port)
		ub_port_busy "$ub_p" && continue
		rm -f "$2.log" "$2.pid"
		$1 "$ub_p"
		"$UNBOUND" -d -c "$2" >"$2.out" 2>&1 &
		ub_started_pid=$!
		ub_w=0
		while [ $ub_w -lt 50 ] && kill -0 "$ub_started_pid" 2>/dev/null; do
			# Ready, and still ours a moment later (not another
			# server that held the port while ours failed to bind).
			if $3 "$ub_p" "$2" && sleep 0.2 &&
			   kill -0 "$ub_started_pid" 2>/dev/null; then
				ub_started_port=$ub_p
				return 0
			fi
			sleep 0.1
			ub_w=$((ub_w + 1))
		done
		ub_stop "$ub_started_pid" "$2"    # not up (port taken?)
		ub_started_pid=
		echo "# unbound on port $ub_p did not start (try $ub_try):"
		cat "$2.log" "$2.out" 2>/dev/null | tail -5 | sed 's/^/#   /'
	done
	return 1
}

# ub_start_main READY_FN: the test.zone resolver; with ::1 when the host has
# it and unbound can use it, else IPv4 only.
ub_start_main() {
	ub_use_v6=no
	ub_has_ipv6_lo && ub_use_v6=yes
	if ! ub_start ub_main_conf "$ub_dir/unbound.conf" "$1" && [ "$ub_use_v6" = yes ]; then
		ub_use_v6=no            # ::1 present but not usable: IPv4 only
		ub_start ub_main_conf "$ub_dir/unbound.conf" "$1"
	fi
	ub_pid=$ub_started_pid
	ub_port=$ub_started_port
	[ -n "$ub_pid" ]
}

ub_start_deaf() {
	ub_start ub_deaf_conf "$ub_dir/deaf.conf" ub_log_ready || return 1
	ub_deaf_pid=$ub_started_pid
	ub_deaf_port=$ub_started_port
}
