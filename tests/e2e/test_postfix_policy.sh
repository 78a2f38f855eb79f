#!/bin/bash
# tests/e2e/test_postfix_policy.sh - what Postfix does with tlsrelay's exit
# status and DSN under the TLS policy levels and SMTP AUTH:
#
#   swaks -> Postfix (host, tests/lib.sh host_new) -> pipe(8) as nobody ->
#   tlsrelay -> tests/peer/peer.py (the destination, one per case)
#
# all on 127.0.0.1. The CASES table: scenario x tlsrelay configuration ->
# the host's verdict (status=sent, deferred or bounced, and its dsn=). For a
# deferred message the test also checks that it stays in the host queue and
# is deferred again on the next attempt (never bounced); for a bounce, that
# it leaves the queue. After every case, on the peer's transcript: no AUTH
# in plaintext; no MAIL in plaintext when TLS is required or credentials are
# configured; MAIL only where the case allows it (checks); a message the peer
# accepted is the one swaks sent (its Message-ID and body).
#
# Needs root, postfix, swaks and python3; skips otherwise. Uses the built
# $top_builddir/plugin/transport/tlsrelay (or $TLSRELAY_BIN), staged so that
# pipe(8)'s user=nobody can run it. Every wait is a bounded poll; no timing
# is asserted. Processes are stopped by PID (peer) and by postfix stop.

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"

require_root
require_cmd postfix postconf postqueue postsuper swaks runuser timeout
peer_init
peer_require_auth
peer_require_localhost
make_tmpdir

T=$TEST_TMP
CONF=$T/tlsrelay.conf
HPORT=$(free_port) || tap_bail "no free port"

# ------------------------------------------------------------------- set-up
TR=$(stage_tlsrelay "$T/bin") || tap_bail "cannot stage tlsrelay for user nobody (built? see stage_tlsrelay)"
mkdir -p "$T/trspool" "$T/cases" && chown nobody "$T/trspool" && chmod 0700 "$T/trspool"
cp "$CERTS/ca.pem" "$T/ca.pem" && chmod 0644 "$T/ca.pem"

# The credentials pol_auth*.json know (pol_auth_535: another password).
SASL_USER=relayuser7
SASL_PASS='pä ss:w0rd#1'

# write_conf PORT LEVEL OPTS: the tlsrelay.conf pipe(8) runs with (read at
# every delivery). OPTS (";"-separated): relay=localhost ([localhost]:PORT
# instead of [127.0.0.1]:PORT), ca (tls_ca_file), pmap=encrypt|fp_wrong
# (tls_policy_map), sasl (credentials for the relay host, mode 0600, owned
# by nobody). Sets CREDS.
write_conf() {
	local port=$1 level=$2 opts=$3 opt host=127.0.0.1 ca='' pm='' sm=''
	CREDS=0
	IFS=';' read -r -a _opts <<< "${opts#-}"
	for opt in "${_opts[@]}"; do
		case $opt in
		relay=localhost) host=localhost ;;
		ca) ca=$T/ca.pem ;;
		pmap=encrypt) pm=$T/policy; echo "[127.0.0.1]:$port encrypt" > "$pm" ;;
		pmap=fp_wrong) pm=$T/policy; echo "[$host]:$port fingerprint match=$(printf '%02X:' $(seq 1 31))20" > "$pm" ;;
		sasl) sm=$T/sasl CREDS=1
			rm -f "$sm"; printf '[%s]:%s %s:%s\n' "$host" "$port" "$SASL_USER" "$SASL_PASS" > "$sm"
			chown nobody "$sm" && chmod 0600 "$sm" ;;
		'') ;;
		*) tap_bail "unknown option $opt" ;;
		esac
	done
	[ -n "$pm" ] && chmod 0644 "$pm"
	{
		echo "# tlsrelay.conf written by tests/e2e/test_postfix_policy.sh"
		echo "relayhost = [$host]:$port"
		echo "tls_security_level = $level"
		[ -n "$ca" ] && echo "tls_ca_file = $ca"
		[ -n "$pm" ] && echo "tls_policy_map = $pm"
		[ -n "$sm" ] && echo "sasl_password_map = $sm"
		echo "helo_name = host.tlsrelay.test"
		echo "connect_timeout = 10s"
		echo "command_timeout = 20s"
		echo "deadline = 40s"
		echo "spool_directory = $T/trspool"
		echo "syslog = no"
	} > "$CONF"
	chmod 0644 "$CONF"
}
write_conf 25 may ""

host_new host "$HPORT" "$TR" "$CONF" || tap_bail "host_new failed"
HOST=$PF_DIR
pf_start "$HOST" || tap_bail "host Postfix did not start"
wait_port 127.0.0.1 "$HPORT" 15 || tap_bail "host not listening on $HPORT"
tap_diag "host 127.0.0.1:$HPORT ($HOST), tlsrelay $TR"

host_log_for() { pf_log_lines "$HOST" "[: ]$1: "; }	# host_log_for QID

# ------------------------------------------------------------------ cases
# name | scenario | level | options (see write_conf) | recipient | host
# status (sent, deferred, bounced) | dsn ERE | peer checks (";"-separated:
# no_mail, auth_ok (AUTH over TLS accepted), auth_refused (AUTH over TLS
# answered 535), no_auth, tls (the message went over TLS)) | ERE for the
# host's reason text ("-": none)
R=user@example.test
CASES=$(cat <<EOF
verify-sent       pol_auth          verify  relay=localhost;ca;sasl  $R  sent      2\.0\.0  tls;auth_ok       -
verify-wrong-name pol_wrong_name    verify  relay=localhost;ca       $R  deferred  4\.7\.5  no_mail;no_auth   Server certificate not verified
encrypt-stripped  no_starttls       encrypt -                        $R  deferred  4\.7\.4  no_mail           TLS is required
map-encrypt       no_starttls       may     pmap=encrypt             $R  deferred  4\.7\.4  no_mail           TLS is required
fingerprint-wrong good              may     pmap=fp_wrong            $R  deferred  4\.7\.5  no_mail           fingerprint .* matches no match=
auth-535          pol_auth_535      may     sasl                     $R  deferred  4\.7\.8  no_mail;auth_refused  SASL authentication failed
auth-stripped     pol_auth_no_starttls may  sasl                     $R  deferred  4\.7\.4  no_mail;no_auth   SASL credentials are configured
rcpt-550          rcpt_by_address   verify  relay=localhost;ca       reject@example.test  bounced  5\.1\.1  -  User unknown
EOF
)

# make_msg NAME TO: $T/cases/NAME.eml; sets MSGID
make_msg() {
	MSGID="<e2e-policy-$1.$$.$RANDOM@sender.test>"
	{
		printf 'From: Sender <sender@sender.test>\n'
		printf 'To: <%s>\n' "$2"
		printf 'Subject: tlsrelay policy e2e %s\n' "$1"
		printf 'Message-ID: %s\n' "$MSGID"
		printf 'Date: %s\n' "$(LC_ALL=C date -R)"
		printf '\n'
		printf 'Body of case %s.\n' "$1"
		printf '.a line that starts with a dot\n'
		printf 'Last line.'
	} > "$T/cases/$1.eml"
}

peer_check() {	# peer_check CHECK: 0 if it holds; diagnostic on stdout
	case $1 in
	no_mail) [ "$(rg mail_plain)" = 0 ] && [ "$(rg mail_tls)" = 0 ] || { echo "MAIL was sent: $(rg mail_lines)"; return 1; } ;;
	no_auth) [ "$(rg auth)" = 0 ] || { echo "AUTH sent $(rg auth) times"; return 1; } ;;
	auth_ok) [ "$(rg auth_ok)" -ge 1 ] && [ "$(rg auth)" = "$(rg auth_tls)" ] ||
			{ echo "want AUTH over TLS accepted: auth=$(rg auth) tls=$(rg auth_tls) results='$(rg auth_results)'"; return 1; } ;;
	auth_refused) [ "$(rg auth_tls)" -ge 1 ] && [ -z "$(rg auth_results | tr ' ' '\n' | grep -vx fail)" ] ||
			{ echo "want AUTH over TLS refused: auth=$(rg auth) tls=$(rg auth_tls) results='$(rg auth_results)'"; return 1; } ;;
	tls) [ "$(rg delivered)" = tls ] || { echo "delivered over '$(rg delivered)', want tls"; return 1; } ;;
	*) tap_bail "unknown check $1" ;;
	esac
}

peer_invariants() {	# peer_invariants LEVEL: one line per violation
	local f
	[ "$(rg auth_plain)" = 0 ] || echo "AUTH sent in plaintext"
	if [ "$1" != may ] || [ "$CREDS" = 1 ] || [ "$POLICY_STRICT" = 1 ]; then
		[ "$(rg mail_plain)" = 0 ] || echo "MAIL sent in plaintext although TLS is required"
	fi
	[ "$CREDS" = 1 ] || [ "$(rg auth)" = 0 ] || echo "AUTH sent without credentials configured"
	for f in $(rg accepted_data); do
		grep -qF -- "Message-ID: $MSGID" "$DIR/$f" && grep -q '^\.a line that starts with a dot' "$DIR/$f" ||
			echo "accepted message $f is not the one sent (Message-ID $MSGID, the line with a leading dot)"
	done
	[ "$(rg peer_errors)" = 0 ] || echo "peer.py internal error (harness bug)"
	[ "$(rg peer_exit)" = 1 ] || echo "peer.py did not stop cleanly"
}

while read -r name scen level opts rcpt want dsn checks reason; do
	case $name in ''|'#'*) continue ;; esac
	# swaks, status, dsn, invariants; the reason; the queue (three checks
	# when deferred); one a peer check
	n=4
	[ "$reason" = - ] || n=$((n + 1))
	case $want in deferred) n=$((n + 3)) ;; bounced|sent) n=$((n + 1)) ;; esac
	peer_case_expect "$n" "$checks"
	[ -f "$SCEN/$scen.json" ] || tap_bail "case $name: no scenario $SCEN/$scen.json"
	DIR=$T/cases/$name
	start_peer "$scen" "$DIR" || tap_bail "case $name: peer.py did not start"
	write_conf "$PEER_PORT" "$level" "$opts"
	POLICY_STRICT=0
	[[ $opts == *pmap=* ]] && POLICY_STRICT=1
	make_msg "$name" "$rcpt"
	swaks_send "$HPORT" sender@sender.test "$rcpt" "$T/cases/$name.eml"
	rc=$?
	printf '%s\n' "$SWAKS_OUT" > "$DIR/swaks"
	QID=${SENT_QID:-no-queue-id}
	tap_status "$([ "$rc" = 0 ] && [ -n "$SENT_QID" ]; echo $?)" "$name: swaks hands the message to the host" \
		"$(tail -n 15 "$DIR/swaks")"

	line=$(pf_log_wait "$HOST" "$QID: to=<$rcpt>, relay=tlsrelay, .*status=(sent|deferred|bounced)" 60 | head -n 1)
	tap_like "$line" "status=$want " "$name: host log: status=$want"
	tap_like "$line" "dsn=$dsn," "$name: host log: dsn=${dsn//\\/}"
	[ "$reason" = - ] || tap_like "$line" "status=$want \(.*$reason" "$name: host log: the reason is tlsrelay's ($reason)"
	case $want in
	deferred)
		pf_queue_ids "$HOST" > "$DIR/queue"
		grep -qx "$QID" "$DIR/queue"
		tap_status $? "$name: the message stays in the host queue" "queue: $(tr '\n' ' ' < "$DIR/queue")"
		pf_push "$HOST" "$QID"	# one more attempt: deferred again, never bounced
		wait_until 30 eval '[ "$(host_log_for "$QID" | grep -c "relay=tlsrelay, .*status=deferred")" -ge 2 ]'
		tap_status $? "$name: deferred again on the next attempt" "$(host_log_for "$QID" | tail -n 5)"
		tap_unlike "$(host_log_for "$QID")" "status=(bounced|sent)" "$name: never bounced nor sent"
		pf_delete "$HOST" "$QID"
		;;
	bounced|sent)
		wait_until 15 eval '! pf_queue_ids "$HOST" | grep -qx "$QID"'
		tap_status $? "$name: the message leaves the host queue" "queue: $(pf_queue_ids "$HOST" | tr '\n' ' ')"
		;;
	esac
	# no retry of this message may reach the next case's peer
	wait_until 15 eval '! pf_queue_ids "$HOST" | grep -qx "$QID"' || tap_diag "$name: $QID still queued"
	peer_report
	IFS=';' read -r -a _checks <<< "${checks#-}"
	for c in "${_checks[@]}"; do
		[ -n "$c" ] || continue
		diag=$(peer_check "$c")
		tap_status $? "$name: peer: $c" "$diag$(printf '\n'; grep '^c[0-9]*\.trace=' "$DIR/report")"
	done
	viol=$(peer_invariants "$level")
	tap_status "$([ -z "$viol" ]; echo $?)" "$name: peer transcript invariants" \
		"$viol$(printf '\n'; grep '^c[0-9]*\.trace=' "$DIR/report")"
	tap_diag "$name: $line"
done <<< "$CASES"

tap_done
