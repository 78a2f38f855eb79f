#!/bin/bash
# tests/daemon/test_daemon_access.sh - who may do what through tlsrelayd's
# socket, and how the socket is made (security issue 13, items 3 and 11).
#
# Two real users, made for the test (useradd -r; removed at exit):
#   DU  the daemon's user (tlsrelayd -u DU, started as root); owns the
#       password map, mode 0600
#   CU  a member of DU's group, the socket's group (the documented access
#       model): may connect, cannot read the map
# The configuration (readable by all) relays to peer.py with AUTH, and the
# map's key [127.0.0.1] has no port: its credentials would go to any port
# of 127.0.0.1, where CU can listen (the "attacker's relay", EVIL).
# Cases:
#   a. the socket is made by DU after the privilege drop: owner DU, group
#      DU's, mode 0660 (-m 0640: 0640); no chmod/chown of its path and
#      bind() after setuid (strace); a symbolic link put in its place while
#      bind() returns (strace delays the return by 3 s) is not followed;
#      a socket directory DU cannot write to: exit 75
#   b. CU's delivery through the socket: served, with the daemon's
#      credentials (AUTH at the configured relay): the access model
#   c. CU's tlsrelayc with what the daemon does not serve: -t -c MAP, -c
#      MAP, -o relayhost=EVIL, -r EVIL, -q, -n, -d: the daemon logs "not
#      served" and tlsrelayc runs tlsrelay as CU: the map cannot be read
#      (4.3.5 ... Permission denied), nothing of it printed, EVIL gets no
#      connection and no AUTH
#   d. root (an admin) through the socket: -t and -q work, with root's
#      rights (the map is read)
#   e. raw requests (hostile.py, as CU) with those options, however
#      spelled (-osyslog=no, -vo, -c twice, no -c): "not-served", the
#      message left unread in its pipe, nothing written on 1 or 2, the
#      descriptors let go; then the daemon still serves
# Every wait is bounded. The 3 s of case a only open the window in which
# the old code followed the link; with the fix nothing is done by path, so
# the result does not depend on timing.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

require_root
require_cmd useradd userdel groupdel runuser timeout ps stat strace
peer_init
peer_require_auth
make_tmpdir
T=$TEST_TMP

DAEMON=${TLSRELAYD_BIN:-$top_builddir/plugin/daemon/tlsrelayd}
CLIENT=${TLSRELAYC_BIN:-$top_builddir/plugin/transport/tlsrelayc}
HOSTILE=$top_srcdir/tests/daemon/hostile.py
[ -x "$DAEMON" ] && [ -x "$CLIENT" ] || tap_bail "tlsrelayd or tlsrelayc not built"

# ------------------------------------------------------------------ users
DU=trdd$$ CU=trdc$$
useradd -r -M -d /nonexistent -s /usr/sbin/nologin -U "$DU" || tap_bail "useradd $DU failed"
at_exit "userdel $DU; groupdel $DU"
useradd -r -M -d /nonexistent -s /usr/sbin/nologin -U -G "$DU" "$CU" || tap_bail "useradd $CU failed"
at_exit "userdel $CU; groupdel $CU"
DUID=$(id -u "$DU")
id -nG "$CU" | grep -qw "$DU" || tap_bail "$CU is not in the group $DU"

# ------------------------------------------------------------------ files
R=$T/run SOCK=$T/run/d.sock
mkdir -p "$R" "$T/spool" "$T/bin" "$T/scen" "$T/rootonly" || tap_bail "mkdir failed"
chown "$DU:$DU" "$R" && chmod 0755 "$R" && chmod 1777 "$T/spool" || tap_bail "chown/chmod failed"
# tlsrelayc and the tlsrelay it falls back to, where CU can run them
stage_tlsrelay "$T/bin" >/dev/null || tap_bail "cannot stage tlsrelay"
cp -f "$CLIENT" "$T/bin/tlsrelayc" && chmod 0755 "$T/bin/tlsrelayc" || tap_bail "cannot stage tlsrelayc"
SECRET=S3cr3tPassw0rd
MAP=$T/secret.map CONF=$T/d.conf
printf '[127.0.0.1] relayuser:%s\n' "$SECRET" > "$MAP" && chown "$DU:$DU" "$MAP" && chmod 0600 "$MAP" ||
	tap_bail "cannot write the map"
printf 'Subject: access test\n\nHello.\n' > "$T/msg.eml"

# start_scen NAME: a peer offering AUTH (after STARTTLS) that takes the
# map's credentials; sets PEER_PID, PEER_PORT, DIR
start_scen() {
	printf '{"ehlo_caps_tls": ["PIPELINING", "AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES", "8BITMIME"],
	 "auth": {"user": "relayuser", "password": "%s"}}\n' "$SECRET" > "$T/scen/$1.json"
	DIR=$T/peer-$1
	SCEN=$T/scen start_peer "$1" "$DIR" || tap_bail "peer $1 did not start"
}
# write_conf PORT: the configuration (relay 127.0.0.1:PORT), replaced whole
write_conf() {
	{
		printf 'relayhost = [127.0.0.1]:%s\ntls_security_level = encrypt\n' "$1"
		printf 'sasl_password_map = %s\nhelo_name = client.tlsrelay.test\nsyslog = no\n' "$MAP"
		printf 'connect_timeout = 10s\ncommand_timeout = 30s\ndeadline = 60s\nspool_directory = %s\n' "$T/spool"
	} > "$CONF.new" && chmod 0644 "$CONF.new" && mv -f "$CONF.new" "$CONF"
}
start_scen good
GOOD_PID=$PEER_PID GOOD_DIR=$DIR
write_conf "$PEER_PORT" || tap_bail "cannot write the configuration"

# start_daemon NAME SOCKET [OPTIONS...]: tlsrelayd -v -u DU -c CONF -s SOCKET
# as root; its log $T/NAME.out; sets DPID; 1 if not ready
start_daemon() {
	local name=$1 sock=$2; shift 2
	start_bg "$name" "$DAEMON" -v -u "$DU" -c "$CONF" -s "$sock" "$@"
	DPID=$BG_PID
	wait_until 15 grep -qs "ready on $sock" "$T/$name.out"
}
child_of() { ps -o pid= --ppid "$1" 2>/dev/null | head -n 1 | tr -d ' '; }
gone() { ! kill -0 "$1" 2>/dev/null; }
# no_sanitizer_leak_check: strace'd programs cannot be ptraced by LSan at exit
san_no_leaks() { printf '%s' "${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"; }

# the socket 11, CU's delivery 3, what is not served 26, root 4, raw
# requests 14 + 4
tap_plan $((11 + 3 + 26 + 4 + 14 + 4))

# ------------------------------------------------------ a. the socket
tap_diag "a. the socket (at $SECONDS s)"
start_daemon dmain "$SOCK" || tap_bail "tlsrelayd not ready: $(cat "$T/dmain.out")"
DMAIN=$DPID
tap_is "$(stat -c '%U %G %a' "$SOCK")" "$DU $DU 660" "a1: the socket: owner $DU, group $DU, mode 0660"
start_daemon dm "$R/m.sock" -m 0640 || tap_bail "tlsrelayd -m 0640 not ready: $(cat "$T/dm.out")"
tap_is "$(stat -c '%U %G %a' "$R/m.sock")" "$DU $DU 640" "a2: -m 0640: mode 0640"
stop_pid "$DPID"

# a3: the system calls that make the socket
ASAN_OPTIONS=$(san_no_leaks) start_bg dst strace -f -qq -e signal=none -o "$T/st.trace" \
	-e trace=chmod,fchmodat,chown,fchownat,lchown,fchown,bind,setuid,setresuid \
	"$DAEMON" -v -u "$DU" -c "$CONF" -s "$R/st.sock"
STPID=$BG_PID
wait_until 15 grep -qs "ready on" "$T/dst.out"
tap_status $? "a3: tlsrelayd under strace starts" "$(cat "$T/dst.out")"
D=$(child_of "$STPID")
[ -n "$D" ] && kill -TERM "$D"
wait_until 15 gone "$STPID"
stop_pid "$STPID"
tap_unlike "$(cat "$T/st.trace")" 'ch(mod|own)(at)?\(.*st\.sock' "a3: no chmod/chown of the socket's path (it would follow a link)"
nb=$(grep -n 'bind(.*st\.sock' "$T/st.trace" | head -n 1 | cut -d: -f1)
nu=$(grep -nE "set(res)?uid\\(($DUID|-1, $DUID)" "$T/st.trace" | head -n 1 | cut -d: -f1)
tap_status "$([ -n "$nb" ] && [ -n "$nu" ] && [ "$nu" -lt "$nb" ]; echo $?)" \
	"a3: bind() after the change to $DU (uid $DUID)" "$(grep -E 'bind|set(res)?uid' "$T/st.trace" | head -n 6)"

# a4: a link put in the socket's place while bind() returns
printf 'not to be touched\n' > "$T/victim" && chmod 0600 "$T/victim"
ASAN_OPTIONS=$(san_no_leaks) start_bg drace strace -f -qq -e signal=none -o /dev/null \
	-e trace=bind -e inject=bind:delay_exit=3000000 \
	"$DAEMON" -v -u "$DU" -c "$CONF" -s "$R/race.sock"
RAPID=$BG_PID
wait_until 10 test -S "$R/race.sock"
tap_status $? "a4: bind() made the socket (its return held 3 s)"
ln -s "$T/victim" "$R/race.new" && mv -Tf "$R/race.new" "$R/race.sock"
tap_status $? "a4: the socket file replaced by a link to a file of root's (as $DU could: the directory is $DU's)"
wait_until 20 grep -qsE "ready on|cannot listen" "$T/drace.out"
tap_status $? "a4: the daemon goes on" "$(cat "$T/drace.out")"
tap_is "$(stat -c '%U %G %a' "$T/victim")" "root root 600" "a4: the link is not followed: the file keeps its owner and mode"
D=$(child_of "$RAPID")
[ -n "$D" ] && kill -TERM "$D"
wait_until 15 gone "$RAPID"
stop_pid "$RAPID"

# a5: the socket is made as DU: a directory only root may write to fails
chmod 0755 "$T/rootonly"
timeout -k 5 20 "$DAEMON" -u "$DU" -c "$CONF" -s "$T/rootonly/x.sock" > "$T/a5.out" 2>&1
tap_is "$?" 75 "a5: a socket directory $DU cannot write to: exit 75"
tap_like "$(cat "$T/a5.out")" "cannot listen on $T/rootonly/x\.sock: Permission denied" "a5: says why"

# ------------------------------------------- b. CU's delivery: served
tap_diag "b. a delivery by $CU (at $SECONDS s)"
# cu NAME ARGS...: tlsrelayc -S SOCK ARGS as CU, the message on stdin;
# sets RC and OUT (its standard output and error)
cu() {
	local name=$1; shift
	timeout -k 5 60 runuser -u "$CU" -- "$T/bin/tlsrelayc" -S "$SOCK" "$@" \
		< "$T/msg.eml" > "$T/$name.out" 2>&1
	RC=$? OUT=$(cat "$T/$name.out")
}
FROM=(-f sender@sender.test)
cu b1 -c "$CONF" "${FROM[@]}" -- user@example.test
tap_status "$([ "$RC" = 0 ]; echo $?)" "b1: $CU's delivery through the socket: exit 0" "exit $RC: $OUT"
PEER_PID=$GOOD_PID DIR=$GOOD_DIR
peer_report
tap_is "$(rg auth_ok)" 1 "b1: with the daemon's credentials (AUTH accepted by the relay)"
tap_unlike "$(cat "$T/dmain.out")" "not served" "b1: served by the daemon (no \"not served\" in its log)"

# ---------------------- c. what the daemon does not serve, as CU
tap_diag "c. what the daemon does not serve, as $CU (at $SECONDS s)"
start_scen evil
EVIL_PID=$PEER_PID EVIL_DIR=$DIR EVIL_PORT=$PEER_PORT
# logged NAME REASON: the daemon logged "request not served (REASON)"
logged() {
	grep -qF "request not served ($2)" "$T/dmain.out"
	tap_status $? "$1: the daemon did not serve it ($2)" "$(tail -n 3 "$T/dmain.out")"
}
# denied NAME: run as CU: the map is unreadable, nothing of it printed
denied() {
	tap_like "$OUT" "secret\\.map: cannot open: Permission denied" "$1: run as $CU: the map cannot be read"
	tap_unlike "$OUT" "$SECRET|relayuser" "$1: nothing of the map printed"
}
cu c1 -t -c "$MAP"
tap_is "$RC" 78 "c1 -t -c MAP: exit 78"
denied "c1 -t -c MAP"
logged "c1 -t -c MAP" "-t given"
cu c2 -c "$MAP" "${FROM[@]}" -- user@example.test
tap_is "$RC" 78 "c2 -c MAP (a delivery): exit 78"
denied "c2 -c MAP"
logged "c2 -c MAP" "another configuration file than the daemon's"
cu c3 -c "$CONF" -o "relayhost=[127.0.0.1]:$EVIL_PORT" "${FROM[@]}" -- user@example.test
tap_is "$RC" 78 "c3 -o relayhost=EVIL: exit 78"
denied "c3 -o relayhost=EVIL"
logged "c3 -o relayhost=EVIL" "-o given"
cu c4 -c "$CONF" -r "[127.0.0.1]:$EVIL_PORT" "${FROM[@]}" -- user@example.test
tap_is "$RC" 78 "c4 -r EVIL: exit 78"
denied "c4 -r EVIL"
logged "c4 -r EVIL" "-r given"
PEER_PID=$EVIL_PID DIR=$EVIL_DIR
peer_report
tap_is "$(rg auth)" 0 "c3, c4: the attacker's relay got no AUTH"
tap_is "$(rg conns)" 0 "c3, c4: nor a connection"
cu c5 -c "$CONF" -q example.test
tap_is "$RC" 78 "c5 -q: exit 78"
denied "c5 -q"
logged "c5 -q" "-q given"
for opt in -n -d; do
	cu "c6$opt" -c "$CONF" "$opt"
	want=$(runuser -u "$CU" -- "$T/bin/tlsrelay" -c "$CONF" "$opt" 2>&1)
	tap_is "$OUT" "$want" "c6 $opt: what tlsrelay prints as $CU"
	logged "c6 $opt" "$opt given"
done

# --------------------------------------------- d. root through the socket
tap_diag "d. root through the socket (at $SECONDS s)"
OUT=$(timeout -k 5 60 "$T/bin/tlsrelayc" -S "$SOCK" -c "$CONF" -t 2>&1 < /dev/null)
RC=$?
tap_status "$([ "$RC" = 0 ]; echo $?)" "d1 root -t: exit 0" "exit $RC: $OUT"
tap_like "$OUT" "^tlsrelay: configuration OK" "d1 root -t: configuration OK (root reads the map)"
OUT=$(timeout -k 5 60 "$T/bin/tlsrelayc" -S "$SOCK" -c "$CONF" -q example.test 2>&1 < /dev/null)
RC=$?
tap_status "$([ "$RC" = 0 ]; echo $?)" "d2 root -q: exit 0" "exit $RC: $OUT"
tap_like "$OUT" "AUTH with the credentials of key \\[127\\.0\\.0\\.1\\]$" "d2 root -q: the map read, with root's rights"

# ---------------------------------------------- e. raw requests, as CU
tap_diag "e. raw requests, as $CU (at $SECONDS s)"
for c in opt-o opt-o-attached opt-vo-combined opt-o-after-f opt-t opt-t-other opt-c-other \
	opt-c-other-attached opt-c-twice opt-no-c opt-q opt-n opt-d opt-r; do
	out=$(timeout -k 5 60 runuser -u "$CU" -- "$PY" "$HOSTILE" "$SOCK" "$c" "$CONF" "$MAP" 2>&1)
	tap_is "$out" "reply not-served
stdin untouched
output none
fds closed" "e $c: not served, the message not read, nothing written, the descriptors let go"
done
tap_unlike "$(cat "$T/dmain.out")" "refused a request" "e: none of them is a malformed request"
start_scen good2
write_conf "$PEER_PORT"     # the daemon prepares the edited file for the next delivery
cu e2 -c "$CONF" "${FROM[@]}" -- user@example.test
tap_status "$([ "$RC" = 0 ]; echo $?)" "e2: then a delivery by $CU is served" "exit $RC: $OUT"
peer_report
tap_is "$(rg auth_ok)" 1 "e2: with the daemon's credentials"
tap_status "$(kill -0 "$DMAIN"; echo $?)" "e: the daemon is still running"
stop_pid "$DMAIN"

tap_done
