#!/bin/bash
# tests/exim/exim.sh - a private Exim for the Exim tests (test_exim.sh,
# test_exim_dlfunc.sh): Debian's exim4 unpacked by scripts/prepare.d/exim.sh,
# run with its own configuration, spool and logs on 127.0.0.1.
#
# Source it from bash after tests/lib.sh:
#   . "$top_srcdir/tests/exim/exim.sh"
#
# Contents
#   exim_require           skip unless $EXIM runs (needs root and the user
#                          Debian-exim, compiled into Debian's binary)
#   exim_new NAME PORT     $TEST_TMP/NAME/{exim.conf,spool,log}: writes the
#                          main section; sets EX_DIR, EX_CONF. The caller
#                          appends "begin acl/routers/transports/retry" parts.
#   exim_start DIR         the daemon in the foreground (-bdf), its PID killed
#                          at exit; waits for the port
#   exim_check_start DIR   exim -bV on the configuration, then exim_start;
#                          bails out (tap_bail) when either fails
#   exim_stop DIR          stop the daemon by its PID
#   exim_cmd DIR ARGS...   $EXIM -C DIR/exim.conf ARGS...
#   exim_queue DIR         exim -bp (the queue listing)
#   exim_log DIR           path of the main log
#   exim_log_wait DIR ERE [SECS]  wait for a main log line; prints the lines
#
# Decisions: the daemon runs no queue runner (no -q), so a deferred message
# stays in the queue until the test looks; "exim -bp" is the proof.

exim_require() {
	require_root
	[ -n "${EXIM:-}" ] || tap_skip_all "EXIM not set: configure found no exim (scripts/prepare.d/exim.sh unpacks one)"
	[ -x "$EXIM" ] || tap_skip_all "$EXIM is not executable"
	getent passwd Debian-exim >/dev/null 2>&1 ||
		tap_skip_all "no user Debian-exim (Debian's exim runs as it; scripts/prepare.d/exim.sh creates it)"
	EXIM_UID=$(id -u Debian-exim) EXIM_GID=$(id -g Debian-exim)
}

exim_new() {	# exim_new NAME PORT
	local name=$1 port=$2
	EX_DIR=${TEST_TMP:?make_tmpdir first}/$name
	EX_CONF=$EX_DIR/exim.conf
	mkdir -p "$EX_DIR/spool" "$EX_DIR/log" || return 1
	chmod 0755 "$EX_DIR"
	chown "$EXIM_UID:$EXIM_GID" "$EX_DIR/spool" "$EX_DIR/log"
	echo "$port" > "$EX_DIR/port"
	cat > "$EX_CONF" <<-EOF
	# private Exim "$name" made by tests/exim/exim.sh
	exim_path = $EXIM
	spool_directory = $EX_DIR/spool
	log_file_path = $EX_DIR/log/%slog
	pid_file_path = $EX_DIR/exim.pid
	primary_hostname = $name.tlsrelay.test
	qualify_domain = tlsrelay.test
	daemon_smtp_ports = $port
	local_interfaces = <; 127.0.0.1
	host_lookup =
	rfc1413_hosts =
	tls_advertise_hosts =
	keep_environment =
	domainlist local_domains = @
	domainlist relay_to_domains = example.test : plain.test
	hostlist relay_from_hosts = 127.0.0.1
	acl_smtp_rcpt = acl_check_rcpt
	# tests: no delays, no freezing of bounces for days
	ignore_bounce_errors_after = 0s
	timeout_frozen_after = 1d
	EOF
}

exim_cmd() {	# exim_cmd DIR ARGS...
	local d=$1; shift
	"$EXIM" -C "$d/exim.conf" "$@"
}

exim_start() {	# exim_start DIR
	local d=$1
	start_bg "exim-${d##*/}" "$EXIM" -C "$d/exim.conf" -bdf -oP "$d/exim.pid"
	echo "$BG_PID" > "$d/daemon.pid"
	if ! wait_port 127.0.0.1 "$(cat "$d/port")" 15; then
		echo "exim_start: $d not listening" >&2
		cat "${TEST_TMP}/exim-${d##*/}.out" "$d"/log/paniclog 2>/dev/null >&2
		return 1
	fi
}

exim_check_start() {	# exim_check_start DIR
	local out
	out=$(exim_cmd "$1" -bV 2>&1) || tap_bail "exim -bV refuses the configuration: $out"
	exim_start "$1" || tap_bail "Exim did not start"
}

exim_stop() {	# exim_stop DIR
	[ -s "$1/daemon.pid" ] && stop_pid "$(cat "$1/daemon.pid")"
	rm -f "$1/daemon.pid"
}

exim_queue() { exim_cmd "$1" -bp 2>&1; }
exim_log() { echo "$1/log/mainlog"; }

exim_log_wait() {	# exim_log_wait DIR ERE [SECS]
	wait_until "${3:-30}" grep -Eq -- "$2" "$1/log/mainlog" || return 1
	grep -E -- "$2" "$1/log/mainlog"
}
