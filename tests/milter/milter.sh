# shellcheck shell=bash
# tests/milter/milter.sh - the set-up the milter tests share (sourced after
# tests/lib.sh, with T, RPORT set):
#   milter_tlsrelay KEY FILE   TR: tlsrelay staged for user nobody (the
#                              host Postfix's pipe runs it as nobody);
#                              $T/trspool its spool; CONF ($T/tlsrelay.conf):
#                              relay to [127.0.0.1]:$RPORT at level may,
#                              with KEY = FILE (milter_rules or
#                              message_rules: where the rules are read)
milter_tlsrelay() {
	local key=$1 file=$2
	TR=$(stage_tlsrelay "$T/bin") || tap_bail "cannot stage tlsrelay for user nobody"
	mkdir -p "$T/trspool" && chown nobody "$T/trspool" && chmod 0700 "$T/trspool"
	CONF=$T/tlsrelay.conf
	cat > "$CONF" <<EOC
# tlsrelay.conf written by tests/milter/milter.sh for ${0##*/}
relayhost = [127.0.0.1]:$RPORT
tls_security_level = may
helo_name = host.tlsrelay.test
connect_timeout = 10s
command_timeout = 30s
deadline = 60s
spool_directory = $T/trspool
syslog = no
$key = $file
EOC
}
