# shellcheck shell=bash
# tests/e2e/relay_conf.sh - the tlsrelay.conf of the tests that run tlsrelay
# under a real MTA (tests/e2e/test_postfix.sh, tests/exim/test_exim.sh,
# tests/exim/test_exim_dlfunc.sh, tests/sendmail/test_sendmail.sh), sourced
# after tests/lib.sh.
#
#   relay_conf FILE PORT LEVEL SPOOL [LINE...]
#       writes FILE (mode 0644, readable by the MTA's delivery user): relay
#       host [127.0.0.1]:PORT, tls_security_level LEVEL, the test CA, helo
#       name $RELAY_HELO (default host.tlsrelay.test), timeouts 10 s (connect), 30 s (command),
#       60 s (deadline), spool_directory SPOOL, no syslog; then each LINE.

relay_conf() {
	local file=$1 port=$2 level=$3 spool=$4 line; shift 4
	{
		printf '# tlsrelay.conf written by %s (tests/e2e/relay_conf.sh)\n' "${0##*/}"
		printf 'relayhost = [127.0.0.1]:%s\n' "$port"
		printf 'tls_security_level = %s\n' "$level"
		# shellcheck disable=SC2154 # CERTS: set by tests/lib.sh
		printf 'tls_ca_file = %s\n' "$CERTS/ca.pem"
		printf 'helo_name = %s\n' "${RELAY_HELO:-host.tlsrelay.test}"
		printf 'connect_timeout = 10s\ncommand_timeout = 30s\ndeadline = 60s\n'
		printf 'spool_directory = %s\nsyslog = no\n' "$spool"
		for line in "$@"; do printf '%s\n' "$line"; done
	} > "$file"
	chmod 0644 "$file"
}
