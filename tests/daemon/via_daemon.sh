#!/bin/bash
# tests/daemon/via_daemon.sh - tlsrelay's command line run through a
# tlsrelayd of its own (tests/daemon/test_faults_daemon.sh):
#
#   via_daemon.sh -c CONF ARGS...
#
# starts tlsrelayd -v -u nobody -c CONF -s $VIA_RUN/CASE.sock (CASE: the
# name of CONF's directory; its log CONF's directory/daemon.out), runs
# $VIA_CLIENT -S that socket -c CONF ARGS... and exits with its status,
# after stopping that daemon by its PID. A daemon serves only its own
# configuration file, hence one daemon per case.
#
# Environment: VIA_DAEMON (tlsrelayd), VIA_CLIENT (tlsrelayc), VIA_RUN (a
# directory nobody may write to), VIA_LIST (a file: "PID SOCKET" of each
# daemon is appended, for the caller's clean-up), VIA_BAD (a file: a line
# for each daemon that ended during its delivery or did not stop).
# Its own failures are lines "9.9.7 ..." (usage, exit 97) and "9.9.8 ..."
# (the daemon did not start, exit 98), which no expected result matches.

[ "$1" = -c ] && [ -n "$2" ] || { echo "9.9.7 via_daemon.sh: -c CONF must come first"; exit 97; }
dir=$(dirname "$2")
sock=$VIA_RUN/$(basename "$dir").sock
"$VIA_DAEMON" -v -u nobody -c "$2" -s "$sock" > "$dir/daemon.out" 2>&1 &
dpid=$!
echo "$dpid $sock" >> "$VIA_LIST"
for ((i = 0; i < 150; i++)); do
	grep -q "ready on" "$dir/daemon.out" && break
	kill -0 "$dpid" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "ready on" "$dir/daemon.out"; then
	kill "$dpid" 2>/dev/null
	echo "9.9.8 via_daemon.sh: tlsrelayd did not start: $(tr '\n' ' ' < "$dir/daemon.out")"
	exit 98
fi
"$VIA_CLIENT" -S "$sock" "$@"
rc=$?
kill -0 "$dpid" 2>/dev/null || echo "$dir: tlsrelayd ended during the delivery" >> "$VIA_BAD"
kill -TERM "$dpid" 2>/dev/null
for ((i = 0; i < 150; i++)); do
	kill -0 "$dpid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$dpid" 2>/dev/null; then
	echo "$dir: tlsrelayd did not stop within 15 s of SIGTERM" >> "$VIA_BAD"
	kill -KILL "$dpid" 2>/dev/null
fi
wait "$dpid" 2>/dev/null
exit "$rc"
