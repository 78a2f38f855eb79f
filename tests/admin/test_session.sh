#!/bin/bash
# tests/admin/test_session.sh - what a delivery says to the admin (issue 19),
# against tests/peer/peer.py and, for loops, a real private Postfix:
#
#   CASES (one fresh peer each): scenario x settings -> exit status, the
#   first output line (an ERE) and, when given, a line of the -v log:
#   - a 530 of the relay host defers (4.7.0, exit 75);
#   - a greeting that never comes suggests smtps:;
#   - a trust failure names the CAs, a name mismatch the certificate's DNS
#     names and the names wanted;
#   - a tls_ca_file that cannot be loaded is a configuration error (4.3.5,
#     exit 78), naming the user when it cannot be opened;
#   - a server greeting with our helo_name is a loop (4.4.6);
#   - the delivery log line names the user AUTH succeeded as.
#   tlsrelay-probe: it warns when the relay host offers AUTH and no
#   credentials match it; it says "loops back to myself" too; a dry run of
#   a policy change (-o tls_policy_map=NEW) with tlsrelay -q and the probe.
#   syslog_name: the delivery logs under that name (a syslog socket bound
#   over /dev/log in a private mount namespace).
#   Loops through a real Postfix: a private Postfix whose tlsrelay relays to
#   that same Postfix (by name: helo_name is its myhostname; by address:
#   local_mta_ports lists its port) keeps the message deferred with
#   "loops back to myself" instead of handing it to itself again.
#
# Needs python3 and the built tlsrelay and tlsrelay-probe; the Postfix part
# needs root and postfix + swaks (skipped otherwise, saying why). Only
# 127.0.0.1 on free ports; every process is stopped by its PID.

: "${top_builddir:=/tmp/bld-admin}"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

peer_init
require_cmd timeout
peer_require_tlsrelay
PROBE=${PROBE_BIN:-$top_builddir/plugin/probe/tlsrelay-probe}
[ -x "$PROBE" ] || tap_bail "no tlsrelay-probe at $PROBE"
peer_require_localhost

make_tmpdir
T=$TEST_TMP
mkdir -p "$T/spool" "$T/cases"
chmod 0755 "$T"
require_cmd openssl
printf 'Subject: admin session test\n\nhello\n' > "$T/msg"
printf 'not a certificate\n' > "$T/junk.pem"
printf '[127.0.0.1] relayuser7:p\303\244 ss:w0rd#1\n' > "$T/sasl" && chmod 600 "$T/sasl"

# ------------------------------------------------------------------ cases
# One row per case, fields separated by "|": name | scenario | relay (host
# part, :PORT added) | settings (";"-separated key=value, added to the
# peer's tlsrelay.conf; CERTS/ and T/ stand for those directories) | exit |
# the first output line (ERE; - none) | a line of the -v log (ERE; - none)
CASES=$(cat <<'EOF'
mail530|mail_530|[127.0.0.1]|-|75|^4\.7\.0 host \[127\.0\.0\.1\]:[0-9]+ said: 530 5\.7\.0 Authentication required \(in reply to MAIL FROM command\); a 530 of the relay host is deferred: no credentials of sasl_password_map match it \(tlsrelay -t\)$|-
greeting-never|greeting_silent|[127.0.0.1]|command_timeout=2s|75|^4\.4\.2 lost connection with \[127\.0\.0\.1\]:[0-9]+ while receiving the initial server greeting: timeout; a server that expects TLS from the first byte \(port 465\) is written smtps:\[127\.0\.0\.1\]:[0-9]+$|-
other-ca|pol_other_ca|[localhost]|tls_security_level=verify;tls_ca_file=CERTS/ca.pem|75|^4\.7\.5 Server certificate not trusted: localhost\[127\.0\.0\.1\]:[0-9]+: unable to get local issuer certificate \(CAs: tls_ca_file .*/certs/ca\.pem\)$|-
other-ca-path|pol_other_ca|[localhost]|tls_security_level=verify;tls_ca_path=T/capath|75|\(CAs: tls_ca_path .*/capath\)$|-
wrong-name|pol_wrong_name|[localhost]|tls_security_level=secure;tls_ca_file=CERTS/ca.pem|75|^4\.7\.5 Server certificate not verified: localhost\[127\.0\.0\.1\]:[0-9]+: certificate name does not match the policy \(wanted: localhost, \.localhost; certificate DNS names: wrong\.example\.net; subject /O=tlsrelay tests/CN=wrong\.example\.net\)$|-
ca-not-pem|good|[localhost]|tls_security_level=verify;tls_ca_file=T/junk.pem|78|^4\.3\.5 tls_ca_file: cannot load CA certificates from .*/junk\.pem$|-
ca-missing|good|[localhost]|tls_security_level=encrypt;tls_ca_file=T/nope.pem|78|^4\.3\.5 tls_ca_file: cannot load CA certificates from .*/nope\.pem: No such file or directory \(as user [a-z0-9_-]+\)$|-
greets-as-us|loop_greeting|[127.0.0.1]|-|75|^4\.4\.6 mail for 127\.0\.0\.1 loops back to myself: host \[127\.0\.0\.1\]:[0-9]+ greets as client\.test, the name this host says EHLO with \(helo_name\)$|-
auth-user|pol_auth|[127.0.0.1]|tls_security_level=encrypt;sasl_password_map=T/sasl|0|-|^tlsrelay: to=<rcpt@example\.test>, relay=\[127\.0\.0\.1\]:[0-9]+, delay=[0-9.]+, tls=TLSv1\.[23]:[^ ]+ \([a-z]+\), sasl_username=relayuser7, dsn=2\.0\.0, status=sent
no-auth-user|good|[127.0.0.1]|-|0|-|^tlsrelay: to=<rcpt@example\.test>, relay=[^ ]+, delay=[0-9.]+, tls=[^,]+, dsn=2\.0\.0, status=sent
EOF
)
mkdir -p "$T/capath" && cp "$CERTS/ca.pem" "$T/capath/" &&
	openssl rehash "$T/capath" >/dev/null 2>&1 || tap_bail "openssl rehash failed"

while IFS='|' read -r name scen relay settings exp_rc exp_first exp_log; do
	case $name in ''|'#'*) continue ;; esac
	tap_expect $((3 + $([ "$exp_log" = - ] && echo 0 || echo 1)))	# exit, output, [log], no password
	DIR=$T/cases/$name
	start_peer "$scen" "$DIR" || tap_bail "case $name: peer.py did not start"
	peer_conf "$DIR/tlsrelay.conf"
	sed -i "s|^relayhost = .*|relayhost = $relay:$PEER_PORT|" "$DIR/tlsrelay.conf"
	if [ "$settings" != - ]; then
		IFS=';' read -r -a kv <<< "$settings"
		for s in "${kv[@]}"; do
			s=${s//CERTS\//$CERTS/} s=${s//T\//$T/}
			printf '%s = %s\n' "${s%%=*}" "${s#*=}" >> "$DIR/tlsrelay.conf"
		done
	fi
	peer_run_tlsrelay "$T/msg" -v -f sender@example.test -- rcpt@example.test
	tap_is "$RC" "$exp_rc" "$name: exit $exp_rc" "$(cat "$DIR/stdout")"
	first=$(head -n 1 "$DIR/stdout")
	if [ "$exp_first" = - ]; then
		tap_is "$first" "" "$name: no output line"
	else
		tap_like "$first" "$exp_first" "$name: the output line says what to do"
	fi
	[ "$exp_log" = - ] || tap_like "$(cat "$DIR/stderr")" "$exp_log" "$name: the log line"
	tap_unlike "$(cat "$DIR/stdout" "$DIR/stderr")" 'w0rd|p. ss' "$name: no password in output or log"
done <<< "$CASES"

# ------------------------------------------------------------ the probe
probe() {	# probe ARGS...: sets OUT and RC
	OUT=$(timeout 60 "$PROBE" "$@" 2>&1 </dev/null)
	RC=$?
}
# the probe 9, the dry run 5
tap_expect 14
DIR=$T/probe-auth
start_peer pol_auth "$DIR" || tap_bail "peer.py did not start"
peer_conf "$T/probe.conf"
sed -i "s|^relayhost = .*|relayhost = [127.0.0.1]:$PEER_PORT|" "$T/probe.conf"
printf '[127.0.0.1]:%d u:p\n' $((PEER_PORT == 65535 ? 1 : PEER_PORT + 1)) > "$T/wrong.sasl"
chmod 600 "$T/wrong.sasl"
probe -c "$T/probe.conf" -o "sasl_password_map=$T/wrong.sasl" "[127.0.0.1]:$PEER_PORT"
tap_is "$RC" 0 "probe, AUTH offered, credentials for another port: the mail would go (exit 0)"
tap_like "$OUT" "^  warning: relay host \\[127\\.0\\.0\\.1\\]:$PEER_PORT offers AUTH, but no credentials of sasl_password_map match it \\(a wrong key or port\\?\\): mail would go without AUTH$" \
	"probe: warns that the relay host offers AUTH and no credentials match"
probe -c "$T/probe.conf" -o "sasl_password_map=$T/sasl" "[127.0.0.1]:$PEER_PORT"
tap_like "$OUT" '^  AUTH: the credentials of sasl_password_map key \[127\.0\.0\.1\] would be used' "probe, matching credentials: says which"
tap_unlike "$OUT" 'warning' "probe, matching credentials: no warning"
stop_pid "$PEER_PID"
DIR=$T/probe-noauth
start_peer good "$DIR" || tap_bail "peer.py did not start"
probe -c "$T/probe.conf" -o "sasl_password_map=$T/wrong.sasl" "[127.0.0.1]:$PEER_PORT"
tap_unlike "$OUT" 'offers AUTH' "probe, no AUTH offered: no warning"
stop_pid "$PEER_PID"

DIR=$T/probe-loop
start_peer loop_greeting "$DIR" || tap_bail "peer.py did not start"
probe -c "$T/probe.conf" "[127.0.0.1]:$PEER_PORT"
tap_is "$RC" 75 "probe, a server greeting as us: would be deferred (75)"
tap_like "$OUT" "^mail for \\[127\\.0\\.0\\.1\\]:$PEER_PORT would be deferred: mail for 127\\.0\\.0\\.1 loops back to myself: host \\[127\\.0\\.0\\.1\\]:$PEER_PORT greets as client\\.test" \
	"probe: the verdict says the mail loops back"
probe -c "$T/probe.conf" -o "local_mta_ports=$PEER_PORT" -o helo_name=other.test "[127.0.0.1]:$PEER_PORT"
tap_like "$OUT" "would be deferred: mail for 127\\.0\\.0\\.1 loops back to myself: \\[127\\.0\\.0\\.1\\]:$PEER_PORT is an address of this host, at a port of local_mta_ports" \
	"probe: this host's address at a port of local_mta_ports is a loop (before connecting)"
tap_unlike "$OUT" '^  greeting:' "probe: no connection made for an address loop"
stop_pid "$PEER_PID"

# ------------------------------------- a dry run of a policy change
# README "A policy map": tlsrelay -q -o tls_policy_map=NEW DEST shows the
# policy the new map gives, and the probe with -o shows what it does to a
# server; neither touches the configured map or sends mail.
DIR=$T/dry
start_peer pol_wrong_name "$DIR" || tap_bail "peer.py did not start"
printf '[localhost]:%s encrypt\n' "$PEER_PORT" > "$T/old.pol"
printf '[localhost]:%s secure match=localhost\n' "$PEER_PORT" > "$T/new.pol"
printf 'tls_policy_map = %s\ntls_ca_file = %s\nhelo_name = client.test\nsyslog = no\n' \
	"$T/old.pol" "$CERTS/ca.pem" > "$T/dry.conf"
OUT=$("$TLSRELAY" -c "$T/dry.conf" -q "[localhost]:$PEER_PORT" 2>&1)
tap_like "$OUT" ': encrypt \(from .*/old\.pol:1 ' "-q: the configured map"
OUT=$("$TLSRELAY" -c "$T/dry.conf" -o "tls_policy_map=$T/new.pol" -q "[localhost]:$PEER_PORT" 2>&1)
tap_like "$OUT" ": secure match=localhost \\(from .*/new\\.pol:1 key \\[localhost\\]:$PEER_PORT\\)" \
	"-q -o tls_policy_map=NEW: the new map's policy"
probe -c "$T/dry.conf" "[localhost]:$PEER_PORT"
tap_is "$RC" 0 "probe with the configured map (encrypt): would be delivered"
probe -c "$T/dry.conf" -o "tls_policy_map=$T/new.pol" "[localhost]:$PEER_PORT"
tap_is "$RC" 75 "probe -o tls_policy_map=NEW: the new policy's verdict (deferred: wrong name)"
tap_like "$OUT" 'policy: secure match=localhost \(from .*/new\.pol:1' "probe -o: the new map's entry is used"
stop_pid "$PEER_PID"

# ------------------------------------------------------------ syslog_name
tap_expect 2
if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null && { [ -S /dev/log ] || [ ! -e /dev/log ]; }; then
	DIR=$T/syslog
	start_peer good "$DIR" || tap_bail "peer.py did not start"
	peer_conf "$DIR/tlsrelay.conf"
	sed -i -e "s|^relayhost = .*|relayhost = [127.0.0.1]:$PEER_PORT|" -e 's|^syslog = no|syslog_name = tlsrelay-out|' \
		"$DIR/tlsrelay.conf"
	: > "$T/mail.log"
	start_bg syslogd "$PY" "$top_srcdir/tests/docs/syslogd.py" "$T/log.sock" "$T/mail.log"
	wait_until 10 test -S "$T/log.sock" || tap_bail "syslogd.py did not start"
	if [ -e /dev/log ]; then bind="mount --bind $T/log.sock /dev/log"; else bind="ln -s $T/log.sock /dev/log"; fi
	unshare -m --propagation private -- bash -c "$bind && exec timeout 60 '$TLSRELAY' -c '$DIR/tlsrelay.conf' -f s@example.test -- rcpt@example.test" \
		< "$T/msg" > "$DIR/stdout" 2>&1
	RC=$?
	[ -L /dev/log ] && rm -f /dev/log
	tap_is "$RC" 0 "syslog_name: delivered" "$(cat "$DIR/stdout")"
	wait_until 10 grep -q 'status=sent' "$T/mail.log"
	tap_like "$(cat "$T/mail.log")" ' tlsrelay-out\[[0-9]+\]: to=<rcpt@example\.test>, .*status=sent' "syslog_name: the delivery logs as tlsrelay-out[PID]"
	stop_pid "$PEER_PID"
else
	for t in delivered "logs as"; do tap_skip "syslog_name: $t" "needs root and a private mount namespace (unshare -m)"; done
fi

# ----------------------------------------- loops through a real Postfix
# A private Postfix whose transport is tlsrelay, relaying to that same
# Postfix: before, tlsrelay handed the message back to it (and again, until
# Postfix's hop count bounced it). Now the message stays deferred.
loop_case() {	# loop_case NAME HELO PORTS: host Postfix NAME relaying to itself;
		# in PORTS, SELF is its port
	local name=$1 helo=$2 ports=$3 hport line log
	hport=$(free_port) || tap_bail "no free port"
	mkdir -p "$T/$name-spool" && chown nobody "$T/$name-spool" && chmod 0700 "$T/$name-spool"
	cat > "$T/$name.conf" <<-EOF
	relayhost = [127.0.0.1]:$hport
	helo_name = $helo
	tls_security_level = may
	syslog = no
	deadline = 60s
	spool_directory = $T/$name-spool
	EOF
	[ "$ports" = 25 ] || printf 'local_mta_ports = %s\n' "${ports//SELF/$hport}" >> "$T/$name.conf"
	chmod 0644 "$T/$name.conf"
	host_new "$name" "$hport" "$TR_STAGED" "$T/$name.conf" || tap_bail "host_new failed"
	pf_start "$PF_DIR" && wait_port 127.0.0.1 "$hport" 15 || tap_bail "host Postfix did not start"
	log=$(pf_log "$PF_DIR")
	swaks_send "$hport" sender@sender.test user@example.test "$T/msg"
	tap_status $? "loop $name: swaks handed the message to the Postfix" "$SWAKS_OUT"
	line=$(pf_log_wait "$PF_DIR" "$SENT_QID: to=<user@example.test>, relay=tlsrelay.*status=(sent|deferred|bounced)" 60)
	tap_like "$line" 'dsn=4\.4\.6, status=deferred \(mail for 127\.0\.0\.1 loops back to myself' \
		"loop $name: deferred, loops back to myself" "$(tail -n 20 "$log")"
	# a message handed back is queued (cleanup logs its message-id) before
	# the server's 250, so before tlsrelay exits and pipe logs the result
	tap_is "$(grep -c ': message-id=' "$log")" 1 \
		"loop $name: nothing was handed back to the Postfix (one message in its log)" "$(tail -n 30 "$log")"
	if [ "$ports" != 25 ]; then
		tap_is "$(grep -c "postfix-$name/smtpd\[[0-9]*\]: connect from" "$log")" 1 \
			"loop $name: tlsrelay never connected (only swaks did)" "$(grep 'connect from' "$log")"
	fi
	pf_stop "$PF_DIR"
}
tap_expect 7	# by name 3, by address 4
if [ "$(id -u)" = 0 ] && command -v postfix >/dev/null && command -v swaks >/dev/null; then
	TR_STAGED=$(stage_tlsrelay "$T/staged") || tap_bail "stage_tlsrelay failed"
	# by name: helo_name is the Postfix's myhostname (pf_new: NAME.tlsrelay.test)
	loop_case byname byname.tlsrelay.test 25
	# by address: another name, but its port is in local_mta_ports
	loop_case byaddr other.tlsrelay.test '25, SELF'
else
	for t in "by name: swaks" "by name: deferred" "by name: nothing handed back" \
	         "by address: swaks" "by address: deferred" "by address: nothing handed back" \
	         "by address: never connected"; do
		tap_skip "loops through a real Postfix: $t" "needs root, postfix and swaks"
	done
fi
tap_done
