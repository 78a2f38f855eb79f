#!/bin/bash
# tests/ops/test_readme_enforce.sh - README.md's "Before you enforce", run as
# written: the blocks marked <!-- quickstart:enforce --> (tests/docs/
# readme_blocks.py) run in order with bash, each block's output must hold
# the lines marked <!-- quickstart:expect --> after it ("..." = anything),
# against the programs of this build and the shipped conf/tlsrelay.conf.
# Between the first block (the candidate policy) and the second (the
# summary): a week of real deliveries (faketime) to three test servers
# (tests/peer/peer.py): one Verified, one self-signed (the candidate would
# defer it), one without STARTTLS.
#
# Substitutions in the blocks and the expected output:
#   /etc/tlsrelay/                        -> $T/etc/
#   /var/lib/tlsrelay                     -> $T/lib (in the shipped tlsrelay.conf)
#   /var/www/html/, /var/lib/prometheus/node-exporter/  -> $T/www/, $T/prom/
#   example.com(:25)                      -> [127.0.0.1]:PORT (the Verified server)
# and tlsrelay.conf gets the test CA, no syslog, a spool directory. The
# commands get "-c $T/etc/tlsrelay.conf" (shell functions): the build's
# default configuration file is not the package's.

here=$(cd "$(dirname "$0")" && pwd)
. "${top_srcdir:-$(cd "$here/../.." && pwd)}/tests/lib.sh"
. "$top_srcdir/tests/peer/peer.sh"
. "$top_srcdir/tests/ops/ops.sh"

ops_need_faketime
ops_init
BLOCKS=$top_srcdir/tests/docs/readme_blocks.py
mkdir -p "$T/etc" "$T/lib" "$T/www" "$T/prom" "$T/blocks"
sed "s#/var/lib/tlsrelay#$T/lib#g" "$top_srcdir/conf/tlsrelay.conf" > "$T/etc/tlsrelay.conf"
printf 'tls_ca_file = %s\nsyslog = no\nspool_directory = %s\nhelo_name = client.test\n' \
	"$CERTS/ca.pem" "$T/spool" >> "$T/etc/tlsrelay.conf"
HIST=$T/lib/history.db

n=$("$PY" "$BLOCKS" "$top_srcdir/README.md" enforce "$T/blocks") || tap_bail "README.md has no enforce blocks"
# the block count; each of the 6 blocks 1 (2 with expected output); the
# week's deliveries; the policy map 2, the HTML page
tap_expect $((1 + 6 + $(find "$T/blocks" -name '*.expect' | wc -l) + 1 + 3))
tap_is "$n" 6 "README.md has the 6 blocks of \"Before you enforce\""

declare -A PORT
for d in good self plain; do PORT[$d]=$(free_port); done
DEST="[127.0.0.1]:${PORT[good]}"
subst() {	# subst FILE: the substitutions, in place
	sed -i -e "s#/etc/tlsrelay/#$T/etc/#g" -e "s#/var/www/html/#$T/www/#g" \
		-e "s#/var/lib/prometheus/node-exporter/#$T/prom/#g" -e "s#example\\.com:25#$DEST#g" \
		-e "s#example\\.com#$DEST#g" "$1"
}
export PATH=$top_builddir/plugin/transport:$top_builddir/plugin/report:$PATH

run_block() {	# run_block N: block N; one check for its exit, one for its expected lines
	local i=$1 out
	subst "$T/blocks/$i.sh"
	# the programs' default configuration file is the package's
	# /etc/tlsrelay/tlsrelay.conf; this build's is elsewhere: -c, as first option
	out=$(cd "$T" && bash -e -c "tlsrelay() { command tlsrelay -c '$T/etc/tlsrelay.conf' \"\$@\"; }
		tlsrelay-report() { command tlsrelay-report -c '$T/etc/tlsrelay.conf' \"\$@\"; }
		. '$T/blocks/$i.sh'" 2>&1)
	tap_status $? "block $i runs" "$(printf '%s\n----\n%s' "$(cat "$T/blocks/$i.sh")" "$out")"
	printf '%s\n' "$out" > "$T/blocks/$i.out"
	if [ -f "$T/blocks/$i.expect" ]; then
		subst "$T/blocks/$i.expect"
		miss=$("$PY" "$BLOCKS" --match "$T/blocks/$i.expect" "$T/blocks/$i.out")
		tap_status $? "block $i: the expected output" "$(printf 'missing:\n%s\ngot:\n%s' "$miss" "$out")"
	fi
}

run_block 1
# a week of mail
for ago in 6 5 4 3 2 1 0; do
	for d in good self plain; do
		case $d in good) scen=good ;; self) scen=selfsigned_cert ;; *) scen=no_starttls ;; esac
		ops_peer "$d-$ago" "$scen" "${PORT[$d]}"
		cp "$T/etc/tlsrelay.conf" "$DIR/tlsrelay.conf"
		ops_faketime "$ago"
		ops_send "$d-$ago" -r "[127.0.0.1]:${PORT[$d]}"
		OPS_WRAP=()
		[ "$RC" = 0 ] || tap_diag "$d $ago days ago: exit $RC $OUT"
	done
done
tap_is "$(sql "SELECT count(*) FROM attempt")" 21 "a week of mail: 21 deliveries recorded"
for i in 2 3 4 5 6; do run_block "$i"; done
tap_like "$(cat "$T/etc/tls_policy")" "^\\[127\\.0\\.0\\.1\\]:${PORT[good]} verify$" \
	"the policy map holds the suggested line"
tap_unlike "$(cat "$T/etc/tls_policy")" "${PORT[self]}|${PORT[plain]}" "... and only that one"
tap_like "$(cat "$T/www/tls-report.html")" '<svg id="posture-chart"' "the HTML page was written"

tap_done
